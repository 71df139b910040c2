"""Writing results to Excel: each table a formatted Excel table (frozen header, filters,
number formats, widths). Files are written next to the target and renamed into place, so a
failed run never leaves a half-written workbook, and the input is never overwritten."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from optimizer.results import SolveResult

MONEY = "#,##0.00"
QUANTITY = "#,##0.###"
PERCENT = "0.0%"

#: Number format by column name; columns not listed are written as they are.
FORMATS = {
    "quantity": QUANTITY, "used": QUANTITY, "capacity": QUANTITY, "from_flow": QUANTITY,
    "total_flow": QUANTITY,
    "supply_unit_cost": MONEY, "lane_unit_cost": MONEY, "landed_unit_cost": MONEY,
    "supply_cost": MONEY, "transport_cost": MONEY, "tariff_cost": MONEY, "total_cost": MONEY,
    "tariff_rate": PERCENT, "utilization": PERCENT, "share": PERCENT, "bound": PERCENT,
    "cost_per_point": MONEY,
}


#: Column headers shown in Excel where the DataFrame name needs its sign and unit spelled out.
HEADERS = {
    "cost_per_point": "cost change per +1 pp of bound",
}


class OutputError(Exception):
    """The output cannot be written where asked; nothing was changed."""


def check_output_path(output: str | Path, inputs: list[str | Path]) -> Path:
    """Refuse an output that is one of the inputs (also through links or another spelling)."""
    output = Path(output)
    if output.suffix.lower() != ".xlsx":
        raise OutputError(f"output {output} must be an .xlsx file")
    target = output.resolve()
    for given in inputs:
        source = Path(given)
        same = target == source.resolve()
        if not same and output.exists() and source.exists():
            same = os.path.samefile(output, source)
        if same:
            raise OutputError(f"output {output} is the input workbook; choose another file name")
    if not target.parent.is_dir():
        raise OutputError(f"folder {target.parent} does not exist")
    return output


def _cell_value(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def write_table(wb: Workbook, title: str, frame: pd.DataFrame, formats: Mapping[str, str] = FORMATS) -> None:
    """Add sheet ``title`` holding ``frame`` as a formatted Excel table."""
    ws = wb.create_sheet(title)
    columns = [str(c) for c in frame.columns]
    ws.append([HEADERS.get(c, c) for c in columns])
    for record in frame.itertuples(index=False, name=None):
        ws.append([_cell_value(v) for v in record])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center")
    ws.freeze_panes = "A2"
    n_rows = max(len(frame), 1)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        fmt = formats.get(column)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, max_row=n_rows + 1, min_col=index, max_col=index):
                cell.number_format = fmt
        sample = [len(str(v)) for v in frame[column].head(200).tolist() if v is not None] if len(frame) else []
        width = max([len(HEADERS.get(column, column)) + 2] + [min(s, 60) + 2 for s in sample])
        ws.column_dimensions[letter].width = max(10, min(width, 62))
    ref = f"A1:{get_column_letter(len(columns))}{n_rows + 1}"
    table = Table(displayName=title.replace(" ", "_"), ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)


def save_atomically(wb: Workbook, path: str | Path) -> Path:
    """Save to a temporary file in the target folder, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp.xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_plan(result: SolveResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the plan (Summary, Flows, Utilization, Compliance) to a new workbook at ``path``."""
    path = check_output_path(path, list(inputs))
    wb = Workbook()
    wb.remove(wb.active)
    write_table(wb, "Summary", result.summary)
    ws = wb["Summary"]
    for (_label, value) in ws.iter_rows(min_row=2, max_col=2):
        if isinstance(value.value, float):
            value.number_format = MONEY
        value.alignment = Alignment(horizontal="left")
    write_table(wb, "Flows", result.flows)
    write_table(wb, "Utilization", result.utilization)
    write_table(wb, "Compliance", result.compliance)
    return save_atomically(wb, path)
