"""The starter workbook (``sourcing template``): every sheet of the workbook format (contract v3) with a
tiny solvable example, and a Notes sheet describing each column.

The sheets, their headers and the Notes are derived from ``models.schema.SHEETS``; only the example rows
are data of this module. The rule types the Policies ``rule`` column takes are those of
``optimizer.rules.RULE_SPECS``. Saved through the formula guard and the atomic save, never over an
existing file.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from models.schema import SHEETS, Column, Sheet
from optimizer.rules import RULE_SPECS
from optimizer.writing.save import OutputError, check_output_path, save_atomically

#: The tiny solvable example, by sheet: rows as {column: value} (a column not given is blank).
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
    "Investments": [{"option": "Cells_US_expansion", "site": "Cells_US", "item": "cells", "capacity": 10,
                     "capex": 60, "unit_cost": 85, "earliest": 2026, "latest": 2026, "lead_time": 1}],
    "Inventory": [{"site": "Plant_SC", "item": "cells", "holding_cost": 2, "capacity": 5}],
}

#: Columns whose values are the names of a registry outside the schema: the Notes list them.
CHOICES: dict[tuple[str, str], list[str]] = {("Policies", "rule"): list(RULE_SPECS)}
NOTES_FOOTER = ("* = required column. Selectors: ';'-separated group names, countries, tags or site ids. "
                "The Notes sheet is ignored by the tool.")


def note(sheet: Sheet, column: Column) -> str:
    """What the Notes sheet says of ``column``: its meaning, what a blank means, and its choices."""
    text = column.note()
    choices = CHOICES.get((sheet.name, column.name))
    return f"{text}; one of {', '.join(choices)}" if choices else text


def notes_rows() -> list[list[str]]:
    """The Notes sheet's rows below its header: sheet, column (``*`` when required), note."""
    return [[sheet.name, column.name + ("*" if column.required else ""), note(sheet, column)]
            for sheet in SHEETS for column in sheet.columns]


def write_template(path: str | Path) -> Path:
    """Write the starter workbook to ``path`` (never over an existing file)."""
    path = Path(path)
    if path.exists():
        raise OutputError(f"{path} already exists; choose a new file name")
    check_output_path(path, [])
    bold = Font(bold=True)
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.name)
        headers = sheet.names
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
        for row in EXAMPLE.get(sheet.name, []):
            ws.append([row.get(h) for h in headers])
        for index, _ in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(index)].width = 18
        ws.freeze_panes = "A2"
    notes = wb.create_sheet("Notes")
    notes.append(["sheet", "column", "meaning"])
    for cell in notes[1]:
        cell.font = bold
    for row in notes_rows():
        notes.append(row)
    notes.append([])
    notes.append(["", "", NOTES_FOOTER])
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 14
    notes.column_dimensions["C"].width = 90
    return save_atomically(wb, path)
