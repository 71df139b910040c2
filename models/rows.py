"""One pydantic model per workbook sheet (contract v1), one instance per spreadsheet row.

Cell values arrive as openpyxl gives them (str, int, float, bool, datetime or None, with
blank text already turned into None). The annotated types below coerce them the way an
analyst would expect (``"25%"`` is 0.25, ``2026.0`` is the period ``"2026"``) and reject the
rest with a message that says what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict


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


Text = Annotated[str, BeforeValidator(as_text)]
Period = Annotated[str, BeforeValidator(_as_period)]
NonNegative = Annotated[float, BeforeValidator(_non_negative)]
Positive = Annotated[float, BeforeValidator(_positive)]
Number = Annotated[float, BeforeValidator(_as_number)]


class SheetRow(BaseModel):
    """Base of every row model: ``row`` is the Excel row number the values came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet_name: ClassVar[str]
    required_sheet: ClassVar[bool] = True
    row: int

    @classmethod
    def columns(cls) -> list[str]:
        return [name for name in cls.model_fields if name != "row"]

    @classmethod
    def required_columns(cls) -> list[str]:
        return [name for name, f in cls.model_fields.items() if name != "row" and f.is_required()]


class SiteRow(SheetRow):
    sheet_name: ClassVar[str] = "Sites"
    site: Text
    country: Text
    tags: Text | None = None
    throughput: NonNegative | None = None


class GroupRow(SheetRow):
    sheet_name: ClassVar[str] = "Groups"
    required_sheet: ClassVar[bool] = False
    group: Text
    country: Text


class ItemRow(SheetRow):
    sheet_name: ClassVar[str] = "Items"
    item: Text
    unit: Text | None = None
    category: Text | None = None


class SupplyRow(SheetRow):
    sheet_name: ClassVar[str] = "Supply"
    site: Text
    item: Text
    period: Period | None = None
    capacity: NonNegative | None = None
    unit_cost: NonNegative
    fixed_cost: NonNegative | None = None
    min_quantity: NonNegative | None = None


class DemandRow(SheetRow):
    sheet_name: ClassVar[str] = "Demand"
    site: Text
    item: Text
    period: Period | None = None
    quantity: NonNegative


class LaneRow(SheetRow):
    sheet_name: ClassVar[str] = "Lanes"
    origin: Text
    destination: Text
    item: Text | None = None
    unit_cost: NonNegative | None = None
    capacity: NonNegative | None = None


class TariffRow(SheetRow):
    sheet_name: ClassVar[str] = "Tariffs"
    required_sheet: ClassVar[bool] = False
    origin: Text
    destination: Text | None = None
    item: Text | None = None
    period: Period | None = None
    rate: NonNegative


class PolicyRow(SheetRow):
    sheet_name: ClassVar[str] = "Policies"
    required_sheet: ClassVar[bool] = False
    policy: Text
    rule: Text
    items: Text | None = None
    from_: Text | None = None
    to: Text | None = None
    value: Number | None = None
    basis: Text | None = None
    scope: Text | None = None
    period: Period | None = None
    requires: Text | None = None

    @classmethod
    def columns(cls) -> list[str]:
        return [("from" if name == "from_" else name) for name in super().columns()]

    @classmethod
    def required_columns(cls) -> list[str]:
        return ["policy", "rule"]


class BomRow(SheetRow):
    sheet_name: ClassVar[str] = "BOM"
    required_sheet: ClassVar[bool] = False
    item: Text
    input: Text
    quantity: Positive
    site: Text | None = None


class PeriodRow(SheetRow):
    sheet_name: ClassVar[str] = "Periods"
    required_sheet: ClassVar[bool] = False
    period: Period


#: Every sheet of contract v1, in the order problems are reported.
SHEET_MODELS: tuple[type[SheetRow], ...] = (
    SiteRow, GroupRow, ItemRow, SupplyRow, DemandRow, LaneRow, TariffRow, BomRow, PolicyRow, PeriodRow,
)

#: Field name in the model for a column header, where the two differ (``from`` is a keyword).
FIELD_FOR_COLUMN = {"from": "from_"}
COLUMN_FOR_FIELD = {v: k for k, v in FIELD_FOR_COLUMN.items()}

#: Sheets and columns that carry documentation only: ignored without a warning.
IGNORED_SHEETS = frozenset({"notes", "readme", "sources"})
IGNORED_COLUMNS = frozenset({"notes", "note", "source", "comment", "comments"})
