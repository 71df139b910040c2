"""Reading a sourcing workbook (contract v1) into the validated network, and writing plain ones.

Reading happens in two passes that both collect every problem before failing: each row is
validated against its sheet's pydantic model (types, ranges, required cells), then the rows
are cross-checked as a whole (references, selectors, duplicates) by ``models.build_network``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError

from models.network import Network, build_network
from models.problems import Problem, WorkbookError, describe
from models.rows import (
    COLUMN_FOR_FIELD,
    FIELD_FOR_COLUMN,
    IGNORED_COLUMNS,
    IGNORED_SHEETS,
    SHEET_MODELS,
    ItemRow,
    SheetRow,
    SiteRow,
)

SHEET_ORDER = {model.sheet_name: i for i, model in enumerate(SHEET_MODELS)}


def _normalise(name: Any) -> str:
    return str(name).strip().lower() if name is not None else ""


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _open(path: Path) -> openpyxl.Workbook:
    if not path.exists():
        raise WorkbookError([Problem(path.name, None, None, f"file not found: {path}")])
    if path.is_dir():
        raise WorkbookError([Problem(path.name, None, None, f"{path} is a folder, not an .xlsx workbook")])
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise WorkbookError([Problem(
            path.name, None, None,
            f"cannot be read as an Excel .xlsx workbook ({type(exc).__name__}: {exc})")]) from None


def _validate_row(model: type[SheetRow], values: dict[str, Any], row: int,
                  problems: list[Problem]) -> SheetRow | None:
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
    if not isinstance(values.get(key), str):
        return None
    filler = {"country": ""} if model is SiteRow else {}
    return model.model_construct(**{key: values[key], "row": row, **filler})


def read_rows(path: str | Path) -> tuple[dict[type, list[SheetRow]], list[str], list[Problem]]:
    """Read every known sheet into row models; return (rows by model, warnings, problems)."""
    path = Path(path)
    wb = _open(path)
    problems: list[Problem] = []
    warnings: list[str] = []
    rows: dict[type, list[SheetRow]] = {}
    try:
        sheets = {_normalise(ws.title): ws for ws in wb.worksheets}
        known = {model.sheet_name.lower() for model in SHEET_MODELS}
        for name, ws in sheets.items():
            if name not in known and name not in IGNORED_SHEETS:
                warnings.append(f"sheet {ws.title!r} is not part of the workbook format and was ignored")
        for model in SHEET_MODELS:
            ws = sheets.get(model.sheet_name.lower())
            if ws is None:
                if model.required_sheet:
                    problems.append(Problem(model.sheet_name, None, None, "required sheet is missing"))
                continue
            rows[model] = _read_sheet(model, ws, problems, warnings)
    finally:
        wb.close()
    return rows, warnings, problems


def _read_sheet(model: type[SheetRow], ws, problems: list[Problem], warnings: list[str]) -> list[SheetRow]:
    sheet = model.sheet_name
    lines = ws.iter_rows(values_only=True)
    header = next(lines, None) or ()
    wanted = set(model.columns())
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        name = _normalise(title)
        letter = get_column_letter(index + 1)
        if not name:
            continue
        if name in positions:
            first = get_column_letter(positions[name] + 1)
            problems.append(Problem(sheet, 1, name, f"column appears twice (columns {first} and {letter})"))
        elif name in wanted:
            positions[name] = index
        elif name not in IGNORED_COLUMNS:
            warnings.append(f"{sheet}: column {title!r} ({letter}) is not part of the format and was ignored")
    missing = [c for c in model.required_columns() if c not in positions]
    for column in missing:
        problems.append(Problem(sheet, 1, column, f"required column {column!r} is missing"))
    if missing:
        return []

    out: list[SheetRow] = []
    for excel_row, line in enumerate(lines, start=2):
        values = {FIELD_FOR_COLUMN.get(c, c): _cell(line[i]) if i < len(line) else None
                  for c, i in positions.items()}
        if all(v is None for v in values.values()):
            continue
        record = _validate_row(model, values, excel_row, problems)
        if record is None and model in (SiteRow, ItemRow):
            record = _key_only(model, values, excel_row)
        if record is not None:
            out.append(record)
    return out


def _sort_key(p: Problem):
    return (SHEET_ORDER.get(p.sheet, -1), p.row or 0, p.column or "")


def load_workbook(path: str | Path) -> Network:
    """Read and validate a sourcing workbook; raise WorkbookError listing every problem."""
    rows, warnings, problems = read_rows(path)
    try:
        network = build_network(rows, source=str(path), warnings=warnings)
    except WorkbookError as exc:
        problems = problems + exc.problems
        network = None
    if problems:
        unique = list(dict.fromkeys(problems))
        raise WorkbookError(sorted(unique, key=_sort_key))
    return network


def write_workbook(path: str | Path, sheets: Mapping[str, Sequence[Mapping[str, Any]] | pd.DataFrame]) -> Path:
    """Write plain sheets (rows as dicts, or DataFrames) to a new .xlsx; used by tests and templates."""
    path = Path(path)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, content in sheets.items():
        ws = wb.create_sheet(name)
        records = content.to_dict("records") if isinstance(content, pd.DataFrame) else list(content)
        columns: list[str] = []
        for record in records:
            columns.extend(c for c in record if c not in columns)
        if isinstance(content, pd.DataFrame):
            columns = [str(c) for c in content.columns]
        ws.append(columns)
        for record in records:
            ws.append([_plain(record.get(c)) for c in columns])
    wb.save(path)
    return path


def _plain(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
