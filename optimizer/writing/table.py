"""The streamed table writer: a DataFrame as a formatted Excel table (frozen header, filters, number
formats, widths) in a write-only workbook, every cell through the formula guard.

Workbooks are written in openpyxl's write-only mode (:func:`streaming_workbook`): each row is streamed to
a temporary file as it is added, so a plan of hundreds of thousands of flows never holds a cell object per
value. Everything a sheet shows above its rows (frozen panes, column widths, its dimension) is therefore
set before the first row, every style is given as a cell is created, and text that looks like a formula
is made plain text as its cell is created (``optimizer.writing.guard.text_cell``). The layouts (plan,
comparison, sweep) add their sheets with :func:`write_table`, or with :func:`create_sheet` and
:func:`declare_dimension` for a sheet of their own shape, and save with
``optimizer.writing.save.save_atomically``.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import warnings
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet import _writer
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from optimizer.writing.guard import FORMULA_TRIGGERS, safe_text, text_cell

MONEY = "#,##0.00"
QUANTITY = "#,##0.###"
PERCENT = "0.0%"

#: Number format by column name; columns not listed are written as they are.
FORMATS = {
    "quantity": QUANTITY, "used": QUANTITY, "capacity": QUANTITY, "from_flow": QUANTITY,
    "total_flow": QUANTITY,
    "supply_unit_cost": MONEY, "lane_unit_cost": MONEY, "landed_unit_cost": MONEY,
    "supply_cost": MONEY, "transport_cost": MONEY, "tariff_cost": MONEY, "total_cost": MONEY,
    "credit_per_unit": MONEY, "credit_cost": MONEY,
    "tariff_rate": PERCENT, "utilization": PERCENT, "share": PERCENT, "bound": PERCENT,
    "cost_per_point": MONEY,
}


#: Column headers shown in Excel where the DataFrame name needs its sign and unit spelled out.
HEADERS = {
    "cost_per_point": "cost change per +1 pp of bound",
}

BOLD = Font(bold=True)
HEADER_ALIGNMENT = Alignment(vertical="center")
LEFT = Alignment(horizontal="left")
#: Rows converted from a DataFrame at a time (bounds the Python objects alive while writing).
CHUNK_ROWS = 10_000


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
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")  # Excel has no infinity
    if isinstance(value, str):
        return safe_text(value)  # formula-like text is made plain text as its cell is created
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones
    return value


def _column_values(column: pd.Series) -> list:
    """``[_cell_value(v) for v in column]``, vectorised for the common dtypes."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if kind == "f":
        values = column.to_numpy()
        out = values.astype(object)  # Python floats
        out[np.isnan(values)] = None
        out[values == np.inf] = "inf"  # Excel has no infinity
        out[values == -np.inf] = "-inf"
        return out.tolist()
    if kind in ("i", "u", "b"):
        return column.tolist()  # Python ints and bools
    values = column.tolist()
    return [safe_text(v) if type(v) is str else _cell_value(v) for v in values]


class StreamedSheet(WriteOnlyWorksheet):
    """openpyxl's write-only sheet, except that a cell given in a row is taken as it is.

    openpyxl first tries to bind each item of a row as a value, and learns that an item is a
    cell from the exception that raises, whose message formats the cell: that took more time
    than writing the cell (a plan's number columns are all such cells). Everything else is as
    openpyxl 3.1 does it; tests/test_report.py checks the method it replaces is still there."""

    def _values_to_row(self, values, row_idx):
        cell = WriteOnlyCell(self)
        for column, value in enumerate(values, start=1):
            if value is None:
                continue
            if isinstance(value, Cell):
                value.row, value.column = row_idx, column
                yield value
                continue
            cell.value = value
            cell.row, cell.column = row_idx, column
            yield cell
            if cell.has_style:  # a date gave it a number format
                cell = WriteOnlyCell(self)


def create_sheet(wb: Workbook, title: str) -> StreamedSheet:
    """Add an empty streamed sheet ``title`` to the write-only workbook ``wb``."""
    ws = StreamedSheet(parent=wb, title=title)
    wb._add_sheet(ws)
    return ws


def declare_dimension(ws, ref: str) -> None:
    """Give a write-only sheet the <dimension> a normal sheet computes from its cells (readers such
    as openpyxl's read-only mode size the sheet from it); it is written with the first row."""
    ws.calculate_dimension = lambda: ref


def write_table(wb: Workbook, title: str, frame: pd.DataFrame, formats: Mapping[str, str] = FORMATS,
                headers: Mapping[str, str] = HEADERS, row_style=None):
    """Add sheet ``title`` holding ``frame`` as a formatted Excel table (``headers`` renames columns)
    to the write-only workbook ``wb`` and return the sheet. ``row_style``, when given, maps a row's
    cell values to {column position: extra cell style} for that row."""
    if not len(frame.columns):  # nothing was computed for this sheet: say so rather than fail
        frame = pd.DataFrame({"note": ["no rows"]})
    ws = create_sheet(wb, title)
    columns = [str(c) for c in frame.columns]
    names = [headers.get(c, c) for c in columns]
    styles = [{"number_format": formats[c]} if formats.get(c) else {} for c in columns]
    n_rows = max(len(frame), 1)
    last = get_column_letter(len(columns))
    ref = f"A1:{last}{n_rows + 1}"

    # What a sheet shows above its rows is written with the first row: set it all before.
    ws.freeze_panes = "A2"
    for index, name in enumerate(names):
        head = frame.iloc[:200, index].tolist() if len(frame) else []
        sample = [len(str(v)) for v in head if v is not None]
        width = max([len(name) + 2] + [min(s, 60) + 2 for s in sample])
        ws.column_dimensions[get_column_letter(index + 1)].width = max(10, min(width, 62))
    formatted = any(styles)
    declare_dimension(ws, ref if len(frame) or formatted else f"A1:{last}1")

    ws.append([text_cell(ws, name, font=BOLD, alignment=HEADER_ALIGNMENT) for name in names])
    if not len(frame):
        if formatted:  # the table's one (empty) data row keeps its columns' formats
            ws.append([text_cell(ws, None, **style) if style else None for style in styles])
    else:
        _write_rows(ws, frame, styles, row_style)

    table = Table(displayName=title.replace(" ", "_"), ref=ref, autoFilter=AutoFilter(ref=ref),
                  tableColumns=[TableColumn(id=i, name=name) for i, name in enumerate(names, start=1)])
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    with warnings.catch_warnings():  # openpyxl warns on every write-only table; its columns are set above
        warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
        ws.add_table(table)
    return ws


def _write_rows(ws, frame: pd.DataFrame, styles: list[dict], row_style) -> None:
    """Append the rows of ``frame`` to the write-only sheet ``ws``, column ``i`` styled ``styles[i]``.

    A styled column reuses one cell: appending a row writes its cells at once, so the cell is free
    again for the next row. Dates in a styled column keep the column's format (as they would once
    a normal sheet's column was formatted after the values were written)."""
    reused = [text_cell(ws, None, **style) if style else None for style in styles]
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start:start + CHUNK_ROWS]
        for values in zip(*(_column_values(chunk.iloc[:, i]) for i in range(len(styles))), strict=True):
            row = list(values)
            extra = row_style(values) if row_style is not None else None
            for i, value in enumerate(values):
                if extra and i in extra:
                    row[i] = text_cell(ws, value, **{**styles[i], **extra[i]})
                elif isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):  # is_formula_like, inlined
                    row[i] = text_cell(ws, value, **styles[i])
                elif reused[i] is not None:
                    cell = reused[i]
                    cell.value = value
                    if cell.data_type == "d":
                        cell.number_format = styles[i]["number_format"]
                    row[i] = cell
            ws.append(row)


@contextlib.contextmanager
def streaming_workbook() -> Iterator[Workbook]:
    """A write-only workbook whose sheets' temporary files are removed if it is never saved
    (saving removes them; a failure before or while saving would leave them until exit)."""
    wb = Workbook(write_only=True)
    try:
        yield wb
    finally:
        _discard_streams(wb)


def _discard_streams(wb: Workbook) -> None:
    """Remove the temporary files of the write-only sheets of ``wb`` that were not saved."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None or not isinstance(writer.out, str) or not os.path.exists(writer.out):
            continue  # never written to, or saved (saving removes the file)
        with contextlib.suppress(Exception):
            if not ws.closed:
                ws.close()
        with contextlib.suppress(Exception):
            writer.close()  # after a failure inside a row, the file may still be open
        with contextlib.suppress(OSError):
            os.remove(writer.out)
        with contextlib.suppress(ValueError):
            _writer.ALL_TEMP_FILES.remove(writer.out)
