"""One pydantic model per workbook sheet, one instance per spreadsheet row, generated from the
sheet declarations of ``models.schema``.

Cell values arrive as openpyxl gives them (str, int, float, bool, datetime or None, with
blank text already turned into None). The annotated types below coerce them the way an
analyst would expect (``"25%"`` is 0.25, ``2026.0`` is the period ``"2026"``) and reject the
rest with a message that says what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, create_model

from models.schema import SHEETS, Sheet


def as_text(value: Any) -> Any:
    """A cell as text: numbers as written (2026.0 -> "2026"), TRUE/FALSE and dates refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError("expected text, got a TRUE/FALSE value")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("expected text, got a non-finite number")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        raise ValueError("expected text, got a date/time")
    raise ValueError(f"expected text, got {type(value).__name__}")


def _as_period(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return as_text(value)


def _as_number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a TRUE/FALSE value")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1].strip(), 0.01
        try:
            number = float(text) * scale
        except ValueError:
            raise ValueError("expected a number") from None
    elif isinstance(value, (dt.datetime, dt.date, dt.time)):
        raise ValueError("expected a number, got a date/time")
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _non_negative(value: Any) -> Any:
    number = _as_number(value)
    if number is not None and number < 0:
        raise ValueError("expected a number >= 0")
    return number


def _positive(value: Any) -> Any:
    number = _as_number(value)
    if number is not None and number <= 0:
        raise ValueError("expected a number > 0")
    return number


def positive_number(value: Any) -> float | None:
    """A value as a number > 0 (None for a blank), as a ``positive`` cell reads; ValueError saying what was
    expected otherwise."""
    return _positive(value)


_TRUE, _FALSE = frozenset({"true", "yes", "1", "y"}), frozenset({"false", "no", "0", "n"})


def _as_flag(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected TRUE or FALSE")


Text = Annotated[str, BeforeValidator(as_text)]
Flag = Annotated[bool, BeforeValidator(_as_flag)]
Period = Annotated[str, BeforeValidator(_as_period)]
NonNegative = Annotated[float, BeforeValidator(_non_negative)]
Positive = Annotated[float, BeforeValidator(_positive)]
Number = Annotated[float, BeforeValidator(_as_number)]


class SheetRow(BaseModel):
    """Base of every row model: ``row`` is the Excel row number the values came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet_name: ClassVar[str]
    required_sheet: ClassVar[bool] = True
    sheet: ClassVar[Sheet]
    row: int

    @classmethod
    def columns(cls) -> list[str]:
        return cls.sheet.names

    @classmethod
    def required_columns(cls) -> list[str]:
        return [c.name for c in cls.sheet.columns if c.required]


class SheetTable:
    """The valid rows of one sheet as columns: ``columns[field]`` holds one value per row (a float array with
    NaN for a blank in a number column, an object array of str, bool or None otherwise) and ``row`` the Excel
    row of each. Iterating gives the rows as ``model`` instances (built on demand, for small sheets and tests);
    the network is built from the columns."""

    def __init__(self, model: type[SheetRow], columns: dict[str, np.ndarray], row: np.ndarray):
        self.model, self.columns, self.row = model, columns, np.asarray(row, dtype=np.int64)

    @classmethod
    def from_rows(cls, model: type[SheetRow], rows: list[SheetRow]) -> SheetTable:
        """The table of validated ``rows``."""
        columns = {}
        for column in model.sheet.columns:
            values = [getattr(r, column.field, None) for r in rows]
            columns[column.field] = _as_column(column.kind, values)
        return cls(model, columns, np.array([r.row for r in rows], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.row)

    def __iter__(self):
        fields = list(self.columns)
        values = [self.column_values(f) for f in fields]
        for row, *cells in zip(self.row.tolist(), *values, strict=True):
            yield self.model.model_construct(**dict(zip(fields, cells, strict=True)), row=row)

    def column_values(self, field: str) -> list:
        """The column as Python values (None for a blank), as the row models hold them."""
        values = self.columns[field]
        if values.dtype == object:
            return values.tolist()
        return [None if v != v else v for v in values.tolist()]

    def take(self, index: np.ndarray) -> SheetTable:
        """The rows at positions ``index``, in that order."""
        return SheetTable(self.model, {f: v[index] for f, v in self.columns.items()}, self.row[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):  # a list of rows, as the table iterates
            return list(self) == other
        if not isinstance(other, SheetTable):
            return NotImplemented
        return (self.model is other.model and np.array_equal(self.row, other.row)
                and all(self.column_values(f) == other.column_values(f) for f in self.columns))

    __hash__ = None  # mutable, like a list

    def __repr__(self) -> str:
        return f"SheetTable({self.model.__name__}, {len(self)} rows)"


_NUMERIC_KINDS = frozenset({"number", "non_negative", "positive"})


def _as_column(kind: str, values: list) -> np.ndarray:
    """A list of row-model values as the column :class:`SheetTable` keeps."""
    if kind in _NUMERIC_KINDS:
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


#: The annotated type of each kind of cell (``models.schema.KINDS``).
CELL_TYPES = {"text": Text, "period": Period, "number": Number, "non_negative": NonNegative, "positive": Positive,
              "flag": Flag}


def row_model(sheet: Sheet) -> type[SheetRow]:
    """The pydantic model of one row of ``sheet``: one field per column, required ones without default."""
    fields: dict[str, Any] = {
        column.field: (CELL_TYPES[column.kind], ...) if column.required
        else (CELL_TYPES[column.kind] | None, None)
        for column in sheet.columns
    }
    model = create_model(f"{sheet.name}Row", __base__=SheetRow, **fields)
    model.sheet_name, model.required_sheet, model.sheet = sheet.name, sheet.required, sheet
    return model


#: One row model per sheet, in the order of ``models.schema.SHEETS`` (the order problems are reported in).
ROW_MODELS: dict[str, type[SheetRow]] = {sheet.name: row_model(sheet) for sheet in SHEETS}
SHEET_MODELS: tuple[type[SheetRow], ...] = tuple(ROW_MODELS.values())
SiteRow, GroupRow, ItemRow = ROW_MODELS["Sites"], ROW_MODELS["Groups"], ROW_MODELS["Items"]
SupplyRow, DemandRow, LaneRow = ROW_MODELS["Supply"], ROW_MODELS["Demand"], ROW_MODELS["Lanes"]
TariffRow, BomRow, PolicyRow = ROW_MODELS["Tariffs"], ROW_MODELS["BOM"], ROW_MODELS["Policies"]
PeriodRow, InvestmentRow, InventoryRow = ROW_MODELS["Periods"], ROW_MODELS["Investments"], ROW_MODELS["Inventory"]
ScenarioRow, ScenarioChangeRow = ROW_MODELS["Scenarios"], ROW_MODELS["ScenarioChanges"]

#: Field name in the model for a column header, where the two differ (``from`` is a keyword).
FIELD_FOR_COLUMN = {c.name: c.attribute for s in SHEETS for c in s.columns if c.attribute}
COLUMN_FOR_FIELD = {v: k for k, v in FIELD_FOR_COLUMN.items()}

#: Sheets and columns that carry documentation only: ignored without a warning.
IGNORED_SHEETS = frozenset({"notes", "readme", "sources"})
IGNORED_COLUMNS = frozenset({"notes", "note", "source", "comment", "comments"})
