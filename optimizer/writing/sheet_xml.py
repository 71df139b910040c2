"""A table's rows as sheet XML, a column at a time: how the table writer reaches 10^6 cells per second.

openpyxl builds a cell object and an XML element per value (about 10^5 cells/s); a plan of 10^5 flows has
millions of cells. Here each column becomes its list of ``<c>`` elements in one pass (a number column by one
list comprehension, a text column by rendering each distinct text once, the formula guard deciding for it in
``optimizer.writing.guard.text_cells_xml``), and the rows are the columns interleaved. Cells carry no
reference (each row holds every column, so a cell's position is its column; Excel, LibreOffice, openpyxl and
calamine read it so) and text is stored inline, as openpyxl's write-only mode stores it.

The XML is written to a file beside the sheet's own stream and spliced into the sheet's part when the
workbook is zipped (``optimizer.writing.stable_zip``): the sheet itself (header row, dimension, table,
print setup, conditional formats) is still openpyxl's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl.cell import WriteOnlyCell

from optimizer.writing.guard import text_cells_xml


class Unrenderable(Exception):
    """A value this renderer does not write (a date, a time, an object): the table's rows go through
    openpyxl's cells instead."""


def style_attribute(ws, **style) -> str:
    """The ``s`` attribute of a cell of ``ws`` with ``style`` (attributes of a cell: ``number_format=``,
    ``font=``, ``quotePrefix=``...): ``' s="3"'``, or ``""`` for the default style."""
    cell = WriteOnlyCell(ws)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return f' s="{cell.style_id}"' if cell.has_style else ""


def _number(value: float, style: str) -> str:
    if value != value:  # NaN: a blank cell, keeping the column's format
        return f"<c{style}/>"
    if value in (np.inf, -np.inf):  # Excel has no infinity: the text, as the openpyxl path writes it
        return f'<c{style} t="inlineStr"><is><t>{"inf" if value > 0 else "-inf"}</t></is></c>'
    return f"<c{style}><v>{value!r}</v></c>"


def column_cells(column: pd.Series, style: str, quoted: str) -> list[str]:
    """The ``<c>`` element of every value of ``column``, styled ``style`` (``quoted``: the style with the
    quote prefix, for formula-like text). Blank (None, NaN) is an empty cell; raises Unrenderable for a
    value that is not text, a number or TRUE/FALSE."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if kind == "f":
        values = column.to_numpy(dtype=float)
        if np.isfinite(values).all():
            return [f"<c{style}><v>{v!r}</v></c>" for v in values.tolist()]
        return [_number(v, style) for v in values.tolist()]
    if kind in ("i", "u"):
        return [f"<c{style}><v>{v}</v></c>" for v in column.tolist()]
    if kind == "b":
        return [f'<c{style} t="b"><v>{int(v)}</v></c>' for v in column.tolist()]
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        codes, texts = pd.factorize(column, use_na_sentinel=True)
        rendered = np.array([*text_cells_xml(list(texts), style, quoted), f"<c{style}/>"], dtype=object)
        return rendered[codes].tolist()  # code -1 (blank) takes the last: the empty cell
    return [_any_cell(v, style, quoted) for v in column.tolist()]


def _any_cell(value, style: str, quoted: str) -> str:
    """One value of a column of mixed types (a Summary's values)."""
    if value is None:
        return f"<c{style}/>"
    if isinstance(value, str):
        return text_cells_xml([value], style, quoted)[0]
    if isinstance(value, (bool, np.bool_)):
        return f'<c{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, np.integer)):
        return f"<c{style}><v>{int(value)}</v></c>"
    if isinstance(value, (float, np.floating)):
        return _number(float(value), style)
    if value is pd.NA or value is pd.NaT:
        return f"<c{style}/>"
    raise Unrenderable(type(value).__name__)


def rows_xml(columns: list[list[str]], first_row: int, heights: list[float | None] | None = None) -> str:
    """``<row>`` elements numbered from ``first_row``, the i-th holding the i-th cell of every column (and
    the i-th of ``heights``, in points, unless None)."""
    n, k = len(columns[0]), len(columns)
    width = k + 2
    out: list[str | None] = [None] * (n * width)
    if heights is not None and any(heights):
        out[0::width] = [f'<row r="{r}" ht="{h}" customHeight="1">' if h else f'<row r="{r}">'
                         for r, h in zip(range(first_row, first_row + n), heights, strict=True)]
    else:
        out[0::width] = [f'<row r="{r}">' for r in range(first_row, first_row + n)]
    for index, cells in enumerate(columns, start=1):
        out[index::width] = cells
    out[k + 1::width] = ["</row>"] * n
    return "".join(out)
