"""Cell validation: one sheet's rows of cell values into a table of valid rows, every problem located.

:func:`read_sheet` takes a sheet's rows as value tuples (from either reader, Excel row 1 first), matches
the header to the sheet's columns (case-insensitive, ignoring surrounding spaces; unknown columns are a
warning), turns a cell showing an Excel error and a formula never calculated into a problem naming the
cell, and validates every other row against the sheet's pydantic model (``models.rows``). Every problem
is collected, none raised: the caller reports them all at once.

The rows come out as a :class:`~models.rows.SheetTable` (columns, no object per row). Rows whose every cell
the model would take as it is (text, numbers of the right sign, ...) are taken by whole columns with numpy;
every other row is validated one by one by the row model, so its problems are the model's own, word for word
(tests/test_columns.py compares the two on arbitrary cells).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from openpyxl.utils import get_column_letter
from pydantic import ValidationError

from models.problems import Problem, describe
from models.rows import (
    COLUMN_FOR_FIELD,
    FIELD_FOR_COLUMN,
    IGNORED_COLUMNS,
    ItemRow,
    SheetRow,
    SheetTable,
    SiteRow,
    as_text,
)
from models.vocabulary import close_name
from optimizer.reading.openpyxl_reader import Damaged, shorten

#: What Excel shows in a cell whose formula failed (read as text by openpyxl).
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                          "#BUSY!", "#UNKNOWN!", "#PYTHON!"})


def normalise(name: Any) -> str:
    """A sheet name or column header as it is matched: stripped, lower case ('' for a blank cell)."""
    return str(name).strip().lower() if name is not None else ""


def close_name_hint(title: str, known: Iterable[str]) -> str:
    """`` (did you mean 'shortage_cost'?)`` to end the warning about an unknown sheet or column ``title``, or ``""``
    when no single known name is close (case, spaces and underscores aside)."""
    found = close_name(title, known, separators=False)
    return "" if found is None else f" (did you mean {found!r}?)"


def _cell_value(value: Any) -> Any:
    """A cell's value as the row models take it: blank text is None, an int too large for a float is ±inf."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and not -1e308 < value < 1e308:
        return math.inf if value > 0 else -math.inf  # float() of it would raise OverflowError
    return value


def read_sheet(model: type[SheetRow], lines: Iterator[tuple], problems: list[Problem], warnings: list[str],
               formula_lines: Iterator[tuple] | None = None, header: dict[int, str] | None = None
               ) -> SheetTable:
    """Validate the rows of one sheet (``lines``, the header first) into a table of ``model`` rows.

    ``formula_lines`` are the same sheet's rows read without stored values (only when its XML holds
    formulas), read in step to find formulas never calculated. ``header``, when given, receives
    {column number: column name} of the columns used as the header is read, so that a caller whose reader
    fails later in the sheet can name the column of the damaged cell."""
    sheet = model.sheet_name
    header_by_index = header if header is not None else {}
    titles = next(lines, None) or ()
    formula_header = (next(formula_lines, None) or ()) if formula_lines is not None else ()
    wanted = set(model.columns())
    positions: dict[str, int] = {}
    for index, title in enumerate(titles):
        name = normalise(title)
        letter = get_column_letter(index + 1)
        if not name:
            formula = formula_header[index] if index < len(formula_header) else None
            if formula is not None:
                problems.append(Problem(sheet, 1, letter, _uncached(letter, 1, formula)))
            continue
        if isinstance(title, str) and title.strip() in EXCEL_ERRORS:
            problems.append(Problem(sheet, 1, letter, f"the header cell {letter}1 shows the Excel error "
                                                      f"{title.strip()}"))
            continue
        if name in positions:
            first = get_column_letter(positions[name] + 1)
            problems.append(Problem(sheet, 1, name, f"column appears twice (columns {first} and {letter})"))
        elif name in wanted:
            positions[name] = index
            header_by_index[index + 1] = name
        elif name not in IGNORED_COLUMNS:
            warnings.append(f"{sheet}: column {title!r} ({letter}) is not part of the format, so its values are "
                            f"not read{close_name_hint(str(title), wanted)}")
    missing = [c for c in model.required_columns() if c not in positions]
    for column in missing:
        problems.append(Problem(sheet, 1, column, f"required column {column!r} is missing"))
    if missing:
        return SheetTable.from_rows(model, [])

    if formula_lines is not None:  # a sheet holding formulas: cell by cell, in step with its formulas
        return SheetTable.from_rows(model, _rows_one_by_one(model, positions, lines, problems, formula_lines))
    read: list[tuple] = []
    try:
        read.extend(lines)
    except Damaged:  # the rows before the damaged one are validated (their problems count), then the sheet fails
        _rows_by_columns(model, positions, read, problems)
        raise
    return _rows_by_columns(model, positions, read, problems)


def _rows_one_by_one(model: type[SheetRow], positions: dict[str, int], lines: Iterator[tuple],
                     problems: list[Problem], formula_lines: Iterator[tuple] | None = None,
                     excel_rows: Iterator[int] | None = None) -> list[SheetRow]:
    """The reference reading of rows: each row's cells checked and validated by the row model, in order.
    ``excel_rows`` gives the Excel row of each line (default: 2, 3, ...)."""
    sheet = model.sheet_name
    out: list[SheetRow] = []
    for excel_row, line in zip(excel_rows if excel_rows is not None else itertools.count(2), lines, strict=False):
        formula_line = next(formula_lines, ()) if formula_lines is not None else ()
        if not line and not formula_line:  # a row missing from the XML: skip it at once
            continue
        values: dict[str, Any] = {}
        broken = False
        for column, i in positions.items():
            raw = line[i] if i < len(line) else None
            if raw is None:
                formula = formula_line[i] if i < len(formula_line) else None
                if formula is not None:
                    letter = get_column_letter(i + 1)
                    problems.append(Problem(sheet, excel_row, column, _uncached(letter, excel_row, formula)))
                    broken = True
            elif isinstance(raw, str) and raw.strip() in EXCEL_ERRORS:
                problems.append(Problem(sheet, excel_row, column, _error_message(raw.strip()), raw.strip()))
                broken = True
                raw = None
            values[FIELD_FOR_COLUMN.get(column, column)] = _cell_value(raw)
        if all(v is None for v in values.values()) and not broken:
            continue
        record = None if broken else _validate_row(model, values, excel_row, problems)
        if record is None and model in (SiteRow, ItemRow):
            record = _key_only(model, values, excel_row)
        if record is not None:
            out.append(record)
    return out


def _rows_by_columns(model: type[SheetRow], positions: dict[str, int], lines: list[tuple],
                     problems: list[Problem]) -> SheetTable:
    """The rows of ``lines`` (Excel row 2 first) read column by column.

    A cell is *plain* when the row model would take it as it is: text (not an Excel error) or a whole number
    in a text or period column, a finite number of the right sign in a number column, TRUE/FALSE in a flag
    column, or a blank where one is allowed. Rows of plain cells are taken by whole columns; every other row
    (a blank row aside) is read one by one by :func:`_rows_one_by_one`, so its problems and its record are the
    reference's. Either way the table holds the rows in sheet order."""
    n = len(lines)
    fields = {c.name: c for c in model.sheet.columns}
    columns = dict(zip(range(n and max(map(len, lines))), itertools.zip_longest(*lines), strict=False))
    plain = np.ones(n, dtype=bool)
    blank = np.ones(n, dtype=bool)
    taken: dict[str, np.ndarray] = {}
    for name, index in positions.items():
        column = fields[name]
        raw = columns.get(index)
        values, is_plain, is_blank = _plain_column(column.kind, column.required, raw, n)
        taken[column.field] = values
        plain &= is_plain
        blank &= is_blank
    plain &= ~blank
    others = np.flatnonzero(~plain & ~blank)
    records = _rows_one_by_one(model, positions, (lines[i] for i in others.tolist()), problems,
                               excel_rows=iter((others + 2).tolist())) if len(others) else []
    kept = np.flatnonzero(plain)
    table_columns = {}
    for column in model.sheet.columns:
        values = taken.get(column.field)
        if values is None:
            values = np.full(n, np.nan) if column.kind in _NUMERIC else np.full(n, None, dtype=object)
        table_columns[column.field] = values[kept]
    table = SheetTable(model, table_columns, kept + 2)
    if not records:
        return table
    extra = SheetTable.from_rows(model, records)
    order = np.argsort(np.concatenate([table.row, extra.row]), kind="stable")
    merged = {f: np.concatenate([table.columns[f], extra.columns[f]])[order] for f in table.columns}
    return SheetTable(model, merged, np.concatenate([table.row, extra.row])[order])


_NUMERIC = frozenset({"number", "non_negative", "positive"})
_INT_LIMIT = 1e308  # _cell_value: a larger int is infinite
#: A code for the type of each cell (anything else: _OTHER); bool is not int here.
_NONE, _STR, _FLOAT, _INT, _BOOL, _OTHER = range(6)
_TYPE_CODE = {type(None): _NONE, str: _STR, float: _FLOAT, int: _INT, bool: _BOOL}


def _plain_column(kind: str, required: bool, raw: tuple | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, plain, blank) of one column's cells (``raw``, None when no row reaches it): the values the row
    model would hold where the cell is plain (see :func:`_rows_by_columns`), whether each is, and whether each
    is blank (None, or text that is only white space)."""
    if raw is None:
        values = np.full(n, np.nan) if kind in _NUMERIC else np.full(n, None, dtype=object)
        blank = np.ones(n, dtype=bool)
        return values, np.full(n, not required), blank
    cells = np.fromiter(raw, dtype=object, count=n)
    types = np.fromiter(map(_TYPE_CODE.get, map(type, raw), itertools.repeat(_OTHER)), dtype=np.int8, count=n)
    blank = types == _NONE
    plain = np.zeros(n, dtype=bool)
    is_str = types == _STR
    if is_str.any():
        where = np.flatnonzero(is_str)
        stripped = np.fromiter(map(str.strip, cells[where]), dtype=object, count=len(where))
        empty = stripped == ""
        error = np.fromiter(map(EXCEL_ERRORS.__contains__, stripped), dtype=bool, count=len(where))
        stripped[empty] = None
        cells[where] = stripped
        blank[where[empty]] = True
        if kind not in _NUMERIC and kind != "flag":
            plain[where[~empty & ~error]] = True
    is_int = types == _INT
    small_int = is_int.copy()
    if is_int.any():  # an int beyond a float's range is infinite to _cell_value
        small_int[is_int] = np.fromiter(map(_INT_LIMIT.__gt__, map(abs, cells[is_int])), dtype=bool,
                                        count=int(is_int.sum()))
    if kind in _NUMERIC:
        values = np.full(n, np.nan)
        number = (types == _FLOAT) | is_int
        if number.any():
            found = cells[number]
            small = (types[number] == _FLOAT) | small_int[number]
            converted = np.full(len(found), np.nan)
            converted[small] = found[small].astype(float)
            ok = np.isfinite(converted)
            if kind == "non_negative":
                ok &= converted >= 0
            elif kind == "positive":
                ok &= converted > 0
            values[number] = converted
            plain[np.flatnonzero(number)[ok]] = True
    elif kind == "flag":
        values = cells
        plain |= types == _BOOL
    else:  # text, period: text as it is, a whole number as written
        values = cells
        if small_int.any():
            where = np.flatnonzero(small_int)
            values[where] = np.fromiter(map(str, cells[where]), dtype=object, count=len(where))
            plain |= small_int
    if not required:
        plain |= blank
    return values, plain, blank


def _validate_row(model: type[SheetRow], values: dict[str, Any], row: int,
                 problems: list[Problem]) -> SheetRow | None:
    """``values`` (by field) of Excel row ``row`` as a ``model`` row, or None with a problem per bad cell."""
    try:
        return model.model_validate({**values, "row": row})
    except ValidationError as exc:
        required = set(model.required_columns())
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            column = COLUMN_FOR_FIELD.get(field, field)
            value = values.get(field)
            if value is None and column in required:
                message = "a value is required"
            else:
                message = err["msg"].removeprefix("Value error, ")
                message = f"{describe(value)}: {message}" if value is not None else message
            problems.append(Problem(model.sheet_name, row, column, message, value))
        return None


def _key_only(model: type[SheetRow], values: dict[str, Any], row: int) -> SheetRow | None:
    """A placeholder for an invalid Sites/Items row whose id is usable, so that references to
    it elsewhere do not produce a cascade of 'unknown site' problems."""
    key = "site" if model is SiteRow else "item"
    try:
        ident = as_text(values.get(key))  # the same reading as a valid row: 101 -> '101'
    except ValueError:
        return None
    if not isinstance(ident, str):
        return None
    filler = {"country": ""} if model is SiteRow else {}
    return model.model_construct(**{key: ident, "row": row, **filler})


def _uncached(letter: str, row: int, formula: Any) -> str:
    """The message for cell ``letter``/``row`` holding ``formula`` without a calculated value."""
    text = getattr(formula, "text", formula)
    return (f"cell {letter}{row} holds the formula {shorten(str(text), 60)} but no calculated value (the "
            "workbook was written by a program and never opened in a spreadsheet application); open it in "
            "Excel or LibreOffice and save it, or type the value")


def _error_message(code: str) -> str:
    """The message for a cell showing the Excel error ``code``."""
    extra = " (or a number too large for its date format)" if code == "#VALUE!" else ""
    return f"the cell shows the Excel error {code}{extra}; fix the formula or type the value"
