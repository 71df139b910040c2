"""The starter workbook (``sourcing template``): every sheet of the workbook format (contract v2) with a
tiny solvable example, and a Notes sheet describing each column. Saved through the formula guard and the
atomic save, never over an existing file."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from optimizer.writing.save import OutputError, check_output_path, save_atomically

EXAMPLE: dict[str, list[dict]] = {
    "Sites": [
        {"site": "Plant_SC", "country": "United States", "tags": "pack_plant"},
        {"site": "Cells_US", "country": "United States", "tags": "cell_plant"},
        {"site": "Cells_KR", "country": "Korea", "tags": "cell_plant"},
    ],
    "Groups": [
        {"group": "north_america", "country": "United States"},
        {"group": "north_america", "country": "Canada"},
        {"group": "north_america", "country": "Mexico"},
    ],
    "Items": [{"item": "cells", "unit": "GWh", "category": "battery_component"}],
    "Supply": [
        {"site": "Cells_US", "item": "cells", "period": None, "capacity": 20, "unit_cost": 90},
        {"site": "Cells_KR", "item": "cells", "period": None, "capacity": None, "unit_cost": 70},
    ],
    "Demand": [
        {"site": "Plant_SC", "item": "cells", "period": 2026, "quantity": 25},
        {"site": "Plant_SC", "item": "cells", "period": 2027, "quantity": 30},
    ],
    "Lanes": [
        {"origin": "Cells_US", "destination": "Plant_SC", "item": None, "unit_cost": 1, "capacity": None},
        {"origin": "Cells_KR", "destination": "Plant_SC", "item": None, "unit_cost": 2, "capacity": None},
    ],
    "Tariffs": [{"origin": "Korea", "destination": "United States", "item": "cells", "period": None,
                 "rate": 0.15}],
    "Policies": [{"policy": "local_60", "rule": "min_share", "items": "cells", "from": "north_america",
                  "to": "Plant_SC", "value": 0.6, "basis": "quantity", "scope": "total", "period": None}],
    "Periods": [{"period": 2026}, {"period": 2027}],
}

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "Sites": [("site*", "unique id of a supplier, plant or depot"), ("country*", "country it is in"),
              ("tags", "';'-separated labels usable in selectors, e.g. feoc_owned;cell_plant"),
              ("throughput", "most it can receive per period, all items together; blank = unlimited")],
    "Groups": [("group*", "name of a group of countries"), ("country*", "one member country per row")],
    "Items": [("item*", "unique id"), ("unit", "unit of quantities, e.g. GWh"),
              ("category", "label usable in item lists, e.g. battery_component")],
    "Supply": [("site*", "a site id"), ("item*", "an item id"), ("period", "blank = every period"),
               ("capacity", "most it can produce (or sell) per period; blank = unlimited"),
               ("unit_cost*", "production or purchase cost per unit, >= 0 (excluding BOM inputs)"),
               ("fixed_cost", "paid in each period the site supplies the item (makes a MILP)"),
               ("min_quantity", "if it supplies the item in a period, at least this much (makes a MILP)")],
    "Demand": [("site*", "a site id"), ("item*", "an item id"), ("period", "blank = every period"),
               ("quantity*", "exact quantity to deliver per period")],
    "Lanes": [("origin*", "a site id"), ("destination*", "a site id"),
              ("item", "an item id; blank = every item"), ("unit_cost", "per unit; blank = 0"),
              ("capacity", "per period; a blank-item row bounds all items together; blank = unlimited")],
    "Tariffs": [("origin*", "selector"), ("destination", "selector; blank = all"),
                ("item", "item ids or categories; blank = all"), ("period", "blank = every period"),
                ("rate*", "ad valorem fraction of the Supply unit_cost (0.25 = 25%); rows add up")],
    "BOM": [("item*", "the item made"), ("input*", "an item it consumes"),
            ("quantity*", "units of input per unit of item, > 0"),
            ("site", "only at this site (its own recipe); blank = every site that supplies the item")],
    "Policies": [("policy*", "name of the policy set"),
                 ("rule*", "min_share, max_share, exclude, tariff, credit, max_suppliers, min_suppliers, "
                           "single_source or threshold_credit"),
                 ("items", "item ids or categories; blank = all"), ("from", "selector"),
                 ("to", "selector; blank = all"),
                 ("value", "share bound (fraction in [0, 1]), tariff rate, credit per unit, or supplier count"),
                 ("basis", "value (default: weighted by the goods' value) or quantity"),
                 ("scope", "total (default) or each_destination"), ("period", "blank = every period"),
                 ("requires", "threshold_credit: Policies row number of the share rule it depends on")],
    "Periods": [("period*", "planning periods, in order")],
}


def write_template(path: str | Path) -> Path:
    """Write the starter workbook to ``path`` (never over an existing file)."""
    path = Path(path)
    if path.exists():
        raise OutputError(f"{path} already exists; choose a new file name")
    check_output_path(path, [])
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in COLUMNS:
        rows = EXAMPLE.get(sheet, [])
        ws = wb.create_sheet(sheet)
        headers = [name.rstrip("*") for name, _ in COLUMNS[sheet]]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([row.get(h) for h in headers])
        for index, _ in enumerate(headers):
            ws.column_dimensions[chr(ord("A") + index)].width = 18
        ws.freeze_panes = "A2"
    notes = wb.create_sheet("Notes")
    notes.append(["sheet", "column", "meaning"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for sheet, columns in COLUMNS.items():
        for name, meaning in columns:
            notes.append([sheet, name, meaning])
    notes.append([])
    notes.append(["", "", "* = required column. Selectors: ';'-separated group names, countries, tags or "
                          "site ids. The Notes sheet is ignored by the tool."])
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 14
    notes.column_dimensions["C"].width = 90
    return save_atomically(wb, path)
