"""Checks on the validated network that warn rather than refuse: numbers dangerous for the LP solver.

:func:`numeric_warnings` is called by ``optimizer.reading.load`` right after the network is built;
its warnings are printed with the other warnings and listed under ``warnings`` in ``--json``.
"""

from __future__ import annotations

import pandas as pd

from models.network import Network

#: Numbers of one kind (costs, or quantities) spanning more than this factor get a warning.
MAX_SPAN = 1e9
#: HiGHS treats numbers from 1e20 on as infinite; warn well before that.
MAX_MAGNITUDE = 1e15


def numeric_warnings(network: Network) -> list[str]:
    """Warnings naming the rows whose numbers are dangerous for the LP solver.

    Unit costs (Supply and Lanes; they are the objective and, for value-basis share rules, the
    constraint coefficients) and quantities (Supply and Lanes capacities, Demand quantities;
    they are the right-hand sides) are checked separately: within each kind the non-zero
    magnitudes may span at most ``MAX_SPAN``, and no number may reach ``MAX_MAGNITUDE``.
    """
    columns = {"unit costs": [("Supply", network.supply, "unit_cost"), ("Lanes", network.lanes, "unit_cost")],
               "quantities": [("Supply", network.supply, "capacity"), ("Lanes", network.lanes, "capacity"),
                              ("Demand", network.demand, "quantity")]}
    kinds: dict[str, list[tuple[float, str]]] = {}
    for kind, sources in columns.items():
        frames = [pd.DataFrame({"sheet": sheet, "row": table["row"], "column": column,
                                "value": table[column].astype(float)}) for sheet, table, column in sources]
        values = pd.concat(frames, ignore_index=True)
        # A blank-period row expanded to every period is one workbook cell: count it once.
        values = values[values["value"].notna() & (values["value"] != 0)].drop_duplicates(["sheet", "row", "column"])
        if not len(values):
            continue
        magnitude = values["value"].abs().to_numpy()

        def labelled(at, values=values, magnitude=magnitude) -> tuple[float, list[str]]:
            """(|value|, label) of the extreme rows; ties broken by the label, as min/max of the pairs would."""
            tied = values[magnitude == magnitude[at]]
            labels = [f"{r.sheet} row {r.row} {r.column} {r.value:g}" for r in tied.itertuples()]
            return float(magnitude[at]), labels

        low_value, low_labels = labelled(int(magnitude.argmin()))
        high_value, high_labels = labelled(int(magnitude.argmax()))
        kinds[kind] = [(low_value, min(low_labels)), (high_value, max(high_labels))]

    out = []
    for kind, values in kinds.items():
        if not values:
            continue
        low, high = min(values), max(values)
        if high[0] >= MAX_MAGNITUDE:
            out.append(f"numerically dangerous data: {high[1]} is {MAX_MAGNITUDE:g} or more; the solver may "
                       "treat it as infinite or lose precision. Express it in larger units")
        if high[0] > MAX_SPAN * low[0]:
            out.append(f"numerically dangerous data: {kind} span more than {MAX_SPAN:g}-fold, from {low[1]} to "
                       f"{high[1]}; the solver may lose precision and return an inaccurate plan. Rescale the "
                       "units, or check these rows for typing errors")
    return out
