"""Cell validation: one sheet's rows of cell values into row models, every problem located.

:func:`read_sheet` takes a sheet's rows as value tuples (from either reader, Excel row 1 first), matches
the header to the sheet's columns (case-insensitive, ignoring surrounding spaces; unknown columns are a
warning), turns a cell showing an Excel error and a formula never calculated into a problem naming the
cell, and validates every other row against the sheet's pydantic model (``models.rows``). Every problem
is collected, none raised: the caller reports them all at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from openpyxl.utils import get_column_letter
from pydantic import ValidationError

from models.problems import Problem, describe
from models.rows import COLUMN_FOR_FIELD, FIELD_FOR_COLUMN, IGNORED_COLUMNS, ItemRow, SheetRow, SiteRow, as_text
from optimizer.reading.openpyxl_reader import shorten

#: What Excel shows in a cell whose formula failed (read as text by openpyxl).
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                          "#BUSY!", "#UNKNOWN!", "#PYTHON!"})


def normalise(name: Any) -> str:
    """A sheet name or column header as it is matched: stripped, lower case ('' for a blank cell)."""
    return str(name).strip().lower() if name is not None else ""


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
               ) -> list[SheetRow]:
    """Validate the rows of one sheet (``lines``, the header first) into ``model`` rows.

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
            warnings.append(f"{sheet}: column {title!r} ({letter}) is not part of the format and was ignored")
    missing = [c for c in model.required_columns() if c not in positions]
    for column in missing:
        problems.append(Problem(sheet, 1, column, f"required column {column!r} is missing"))
    if missing:
        return []

    out: list[SheetRow] = []
    for excel_row, line in enumerate(lines, start=2):
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
