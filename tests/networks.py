"""Small networks shared by the tests, and a workbook's sheets validated without writing a file.

``network(**sheets)`` takes the sheets as ``make_workbook`` does (sheet name -> list of row dicts)
and validates them through ``optimizer.reading.load.network_from_rows``, the same pass a workbook's
rows go through after reading: unit tests of the formulation and the rules need no .xlsx round trip.
"""

from __future__ import annotations

from models.network import Network
from models.rows import FIELD_FOR_COLUMN, ROW_MODELS
from optimizer.reading.load import network_from_rows

US = "United States"


def sites(*names, country=US, **extra) -> list[dict]:
    """Sites rows: one per name, all in ``country``, with any further columns in ``extra``."""
    return [{"site": n, "country": country, **extra} for n in names]


def network(**sheets) -> Network:
    """The validated network of ``sheets``; the i-th row of a sheet is Excel row i + 2 (row 1 is the header)."""
    rows = {}
    for name, records in sheets.items():
        model = ROW_MODELS[name]
        rows[model] = [model(row=i, **{FIELD_FOR_COLUMN.get(k, k): v for k, v in record.items()})
                       for i, record in enumerate(records, start=2)]
    return network_from_rows(rows)


def two_tier(**changes) -> dict:
    """Cells made at C (conversion 20 per GWh, capacity 100) from 2 kt CAM per GWh; CAM bought at
    M1 (10 per kt, capacity 40, lane 0.5) or M2 (12 per kt, capacity 50); the pack plant P needs 30 GWh."""
    sheets = dict(
        Sites=sites("C", "M1", "M2", "P"),
        Items=[{"item": "cells", "unit": "GWh"}, {"item": "cam", "unit": "kt"}],
        BOM=[{"item": "cells", "input": "cam", "quantity": 2}],
        Supply=[{"site": "C", "item": "cells", "unit_cost": 20, "capacity": 100},
                {"site": "M1", "item": "cam", "unit_cost": 10, "capacity": 40},
                {"site": "M2", "item": "cam", "unit_cost": 12, "capacity": 50}],
        Demand=[{"site": "P", "item": "cells", "quantity": 30}],
        Lanes=[{"origin": "C", "destination": "P", "unit_cost": 1},
               {"origin": "M1", "destination": "C", "unit_cost": 0.5},
               {"origin": "M2", "destination": "C"}],
    )
    sheets.update(changes)
    return sheets


def hub(throughput=None) -> dict:
    """S (100 per unit) ships to the plant P directly (lane 10) or through the hub H (4 + 3), which
    receives at most ``throughput`` per period (blank: unlimited); P needs 50."""
    return dict(
        Sites=sites("S", "P") + sites("H", throughput=throughput), Items=[{"item": "cells"}],
        Supply=[{"site": "S", "item": "cells", "unit_cost": 100}],
        Demand=[{"site": "P", "item": "cells", "quantity": 50}],
        Lanes=[{"origin": "S", "destination": "P", "unit_cost": 10},
               {"origin": "S", "destination": "H", "unit_cost": 4},
               {"origin": "H", "destination": "P", "unit_cost": 3}])
