"""The streamed table writer: a DataFrame as a formatted, print-ready Excel table in a write-only workbook,
every cell through the formula guard.

Every sheet written by :func:`write_table` gets, without its layout asking:

- an Excel table with a frozen, bold header row, a number format per column (thousands separators,
  percentages for shares) and column widths from its content;
- units: a quantity column carries the unit of the item it shows (``quantity (GWh)``) or, where its rows
  mix items, a ``unit`` column follows ``item``; a cost column carries the workbook's currency (``total_cost
  (USD M)``; ``landed_unit_cost (USD M per GWh)``), from the :class:`Labels` of the workbook being written
  (blank: no unit); a rule's flows, in its basis, get a ``flow unit`` column;
- a print setup: landscape when the table is wide, fit to one page wide (and to one page tall when it is
  short, or when the layout asks), the header row repeated on every page, and a footer naming the input
  workbook, the sheet and what was solved (a policy set, a comparison, a sweep), with no time of writing;
- highlights, native conditional formats keyed by column name (:data:`HIGHLIGHTS`): the rows of binding
  rules, of rules not met, of resources used to 100% and of plans that are not optimal; data bars on
  utilization.

Charts are placed with :func:`add_chart`, which keeps every chart whole on one printed page.

Workbooks are written in openpyxl's write-only mode (:func:`streaming_workbook`): the header row and what a
sheet shows above its rows (frozen panes, widths, dimension) are openpyxl's, set before the first row; the
rows themselves are rendered a column at a time as sheet XML (``optimizer.writing.sheet_xml``), text that
looks like a formula made plain text as it is rendered (``optimizer.writing.guard.text_cells_xml``), and
spliced into the sheet when it is zipped. The layouts (plan, comparison, sweep) add their sheets with
:func:`write_table` and save with ``optimizer.writing.save.save_atomically``.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.formatting.rule import DataBarRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet import _writer
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break, RowBreak
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from optimizer.figures import AT_THE_LIMIT
from optimizer.writing.guard import FORMULA_TRIGGERS, safe_text, text_cell
from optimizer.writing.sheet_xml import Unrenderable, column_cells, rows_xml, style_attribute

MONEY = "#,##0.00"
#: A cost per unit that may be far below a cent of the currency (USD M per t CO2e): up to 8 decimals.
RATE = "#,##0.00######"
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
    "cost_per_point": MONEY, "marginal_abatement_cost": RATE, "carbon_cost": MONEY, "cost": MONEY,
    "valuation_unit_cost": MONEY,
    "emissions": QUANTITY, "co2": QUANTITY,
}

#: Money columns that are a cost per unit of an item: their unit is the currency per the item's unit.
PER_UNIT = frozenset({"supply_unit_cost", "lane_unit_cost", "landed_unit_cost", "credit_per_unit", "unit_cost",
                      "price", "holding_cost", "cost_per_unit_demand"})

#: Columns of emissions (their unit: the Settings ``emissions_unit``) and money columns that are a cost per unit of
#: emissions (the currency per that unit).
EMISSIONS = frozenset({"emissions", "co2"})
PER_EMISSION = frozenset({"marginal_abatement_cost", "cost_per_emission_avoided"})
#: Columns of one-sided marginal costs (``optimizer.marginals``): infinite at the limit, written as AT_THE_LIMIT.
MARGINAL_COLUMNS = frozenset({"cost_per_point", "marginal_abatement_cost", "marginal", "price"})

#: A rule's measured flows (Compliance): in currency for a value basis, in the items' unit for a quantity basis;
#: a ``flow unit`` column says which, row by row.
FLOWS = ("from_flow", "total_flow")

#: Column headers shown in Excel where the DataFrame name needs its sign and unit spelled out.
HEADERS = {
    "cost_per_point": "cost per +1 pp tighter",
    "marginal_abatement_cost": "marginal abatement cost",
}

DISCOUNTED, NOMINAL = "discounted", "nominal"
#: Whether a money column is discounted (a total cost, or a change of it: every marginal cost, price and value
#: of a plan is one) or nominal (a price or an amount as it arises in its period), by column name. A money
#: column's header says which after its currency (``total_cost (USD M, discounted)``); a layout names the basis of
#: the columns it adds, or of a name that means otherwise on its sheet (a flow's ``total_cost`` is nominal).
BASIS = {
    **dict.fromkeys(("supply_unit_cost", "valuation_unit_cost", "lane_unit_cost", "landed_unit_cost",
                     "credit_per_unit", "supply_cost", "transport_cost", "tariff_cost", "credit_cost", "carbon_cost",
                     "cost", "unit_cost", "capex", "fixed_cost", "holding_cost", "holding", "break_even_capex"),
                    NOMINAL),
    **dict.fromkeys(("total_cost", "vs_baseline", "vs_first", "vs_start", "cost_per_point", "marginal_abatement_cost",
                     "marginal", "price", "one_more", "cost_per_unit_demand", "cost_per_emission_avoided",
                     "expected_cost", "worst_cost", "max_regret", "wait_and_see_cost", "robust_cost", "regret"),
                    DISCOUNTED),
}

#: Columns that say which row it is: the leading run of them is repeated on every page of a table printed
#: across pages (print titles), and a detail sheet repeats them.
KEY_COLUMNS = frozenset({"policy", "scenario", "plan", "period", "item", "unit", "resource", "site", "origin",
                         "destination", "option", "rule", "source", "kind", "field", "section"})

#: What a TRUE/FALSE cell shows: a word, never 1/0 (Excel and LibreOffice show booleans by locale and format).
YES, NO = "yes", "no"

BOLD = Font(bold=True)
HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)
#: A header longer than this (in characters) wraps onto more lines rather than widening its column, so that
#: wide tables (a comparison's columns) stay legible when printed one page wide.
HEADER_WIDTH = 12
LEFT = Alignment(horizontal="left", vertical="top")  # a value beside a label of two lines stays on its first
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
#: Rows rendered from a DataFrame at a time (bounds the text alive while writing).
CHUNK_ROWS = 20_000

# --------------------------------------------------------------------------- what every sheet prints

#: The widest column (characters); longer text wraps.
MAX_WIDTH = 62
#: A table wider than this (the sum of its column widths, in characters) prints landscape.
PORTRAIT_WIDTH = 100
#: A sheet of at most this many rows (table and charts) prints on one page; a longer one runs on, one page
#: wide, with its header row on every page and a page break before each chart.
ONE_PAGE_ROWS = 60
#: Rows a chart takes (a row is 15 pt, 0.53 cm), with one blank row below it.
ROW_CM = 0.53
#: No sheet prints smaller than this: a table too wide for one page at it prints at it, across pages, its key
#: columns repeated on each; a one-page sheet too tall for it runs onto a second page.
MIN_SCALE = 0.60
#: Points a character of column width takes in print, the wider of the two renderings: LibreOffice without
#: Calibri's metrics (DejaVu Sans) prints 7.0 pt, Excel with Calibri 11 about 5.3 pt. A scale computed with it
#: holds in both.
POINTS_PER_CHARACTER = 7.0
#: Excel's "Narrow" margins (inches): wide tables keep more of their scale.
MARGINS = PageMargins(left=0.25, right=0.25, top=0.75, bottom=0.75, header=0.3, footer=0.3)
#: The printable area (width, height) in points within MARGINS, of Letter or A4, whichever is smaller in that
#: direction.
PRINTABLE = {"portrait": (559.0, 684.0), "landscape": (756.0, 487.0)}
POINTS_PER_CM = 72 / 2.54
ROW_POINTS = 15.0
#: The width (characters) of a column the table does not set.
DEFAULT_WIDTH = 8.43

AMBER = PatternFill("solid", start_color="FFE699", end_color="FFE699")
RED = PatternFill("solid", start_color="F4B6B6", end_color="F4B6B6")
BAR = "5B9BD5"


@dataclass(frozen=True)
class Highlight:
    """A conditional format keyed by one column: ``condition`` (an expression on that column's cell of a
    row, ``{cell}`` standing for it) marks the whole table row with ``fill`` and bold; ``data_bar`` instead
    draws a bar from 0 to 1 (a share) in the column's cells. Row rules rather than cell rules on the column:
    LibreOffice 7.4 fails to export to PDF a sheet whose TRUE/FALSE cells carry a cell rule."""

    condition: str = ""
    fill: PatternFill | None = None
    data_bar: bool = False

    def rule(self, cell: str):
        if self.data_bar:
            return DataBarRule(start_type="num", start_value=0, end_type="num", end_value=1, color=BAR)
        return FormulaRule(formula=[self.condition.format(cell=cell)], fill=self.fill, font=BOLD)


#: Highlights by column name, applied by :func:`write_table` to every sheet with such a column.
HIGHLIGHTS: dict[str, tuple[Highlight, ...]] = {
    "status": (Highlight('{cell}<>"optimal"', RED),),  # an infeasible (or unproven) plan
    "met": (Highlight(f'{{cell}}="{NO}"', RED),),  # a rule not met
    "binding": (Highlight(f'{{cell}}="{YES}"', AMBER),),  # a binding rule (Compliance)
    "utilization": (Highlight(data_bar=True), Highlight("{cell}>=0.99995", AMBER)),  # shown as 100.0%
    "loses_sales": (Highlight(f'{{cell}}="{YES}"', RED),),  # a site whose TTS is below its recovery (stress)
}


@dataclass(frozen=True)
class Labels:
    """What every sheet of one output workbook says besides its table: the input workbook's file name and
    what was solved (for the footer), the currency of costs and each item's unit (for the headers)."""

    workbook: str = ""
    subject: str = ""
    currency: str = ""
    emissions_unit: str = ""
    units: Mapping[str, str] = field(default_factory=dict)
    #: The items of each category (to find the unit of a rule's item list).
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, network, subject: str) -> Labels:
        """The labels of an output of ``network`` (a validated Network) about ``subject``."""
        settings = getattr(network, "settings", None) or {}
        categories: dict[str, tuple[str, ...]] = {}
        for i, item in network.items.items():
            if item.category:
                categories[item.category.lower()] = (*categories.get(item.category.lower(), ()), i)
        return cls(workbook=Path(network.source).name if network.source else "", subject=subject,
                   currency=settings.get("currency") or "", emissions_unit=settings.get("emissions_unit") or "",
                   units={i: item.unit for i, item in network.items.items() if item.unit}, categories=categories)

    def footer(self) -> tuple[str, str, str]:
        """Left, centre and right footer: workbook, sheet, subject and page (Excel's codes, ``&`` doubled)."""
        left = self.workbook.replace("&", "&&")
        right = (self.subject.replace("&", "&&") + ", " if self.subject else "") + "page &P of &N"
        return left, "&A", right

    def unit_of(self, items) -> str | None:
        """The one unit of ``items`` (an item column), or None where they have none or several."""
        units = {self.units.get(i) for i in pd.unique(pd.Series(items, dtype=object).dropna())}
        return units.pop() if len(units) == 1 else None

    def unit_of_list(self, text: str) -> str:
        """The one unit of the items of an item list as a rule shows it (``cells;cam``, a category, ``(all)``),
        or ""."""
        lower = {i.lower(): i for i in self.units}
        if text in ("(all)", ""):
            items = list(self.units)
        else:
            items = []
            for term in (t.strip().lower() for t in text.split(";")):
                items += [lower[term]] if term in lower else list(self.categories.get(term, ("?",)))
        units = {self.units.get(i) for i in items}
        return units.pop() or "" if len(units) == 1 else ""

    def with_unit(self, label: str, unit: str | None) -> str:
        return f"{label} ({unit})" if unit else label

    def money_unit(self, basis: str, per: str | None = None) -> str:
        """What a money figure is in: ``USD M, discounted``, ``USD M per GWh, nominal``, or ``discounted``
        without a currency."""
        unit = f"{self.currency} per {per}" if self.currency and per else self.currency
        return f"{unit}, {basis}" if unit else basis

    def money(self, label: str, basis: str, per: str | None = None) -> str:
        """``label`` with its currency and whether it is discounted or nominal: ``total cost (USD M,
        discounted)``; ``per``: a cost per unit of that."""
        return self.with_unit(label, self.money_unit(basis, per))

    def in_words(self, basis: str, per: str | None = None) -> str:
        """What money figures in a sentence are in, after them: ``USD M (nominal)``, ``USD M per GWh
        (discounted)``, ``(discounted)`` without a currency."""
        unit = f"{self.currency} per {per}" if self.currency and per else self.currency
        return f"{unit} ({basis})" if unit else f"({basis})"

    def amount(self, value: float, basis: str, per: str | None = None) -> str:
        """A money figure in a sentence: ``1,066.20 USD M (nominal)``, ``0.00005565 USD M per t CO2e
        (discounted)``; a marginal cost at the limit as AT_THE_LIMIT."""
        from optimizer.figures import rate_text

        return f"{rate_text(value)} {self.in_words(basis, per)}"


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
    """openpyxl's write-only sheet, plus what the table writer keeps of it: the file of its rendered rows
    (``rows_path``, spliced in when zipped), the rows its content takes and where its charts start (for
    the print setup), and whether it must print on one page.

    A cell given in a row is taken as it is: openpyxl first tries to bind each item of a row as a value,
    and learns that an item is a cell from the exception that raises, whose message formats the cell; that
    took more time than writing the cell. Everything else is as openpyxl 3.1 does it; tests/test_report.py
    checks the method it replaces is still there."""

    rows_path: str | None = None

    def __init__(self, parent, title):
        super().__init__(parent, title)
        self.columns_written: list[str] = []
        self.content_rows = 0
        self.chart_rows: list[int] = []
        self.placed_charts: list[tuple] = []
        self.one_page: bool | None = None
        # What the print setup reads (set by write_table): the columns' widths (characters), how many are
        # printed, how many are repeated on each page across, the orientation, the table's rows and height.
        self.column_widths: list[float] = []
        self.printed_width = 0.0
        self.printed_columns = 0
        self.print_keys = 0
        self.landscape = False
        self.table_rows = 0
        self.table_points = 0.0
        self.column_range: dict[str, tuple[float, float]] = {}

    def _values_to_row(self, values, row_idx):
        cell = WriteOnlyCell(self)
        for column, value in enumerate(values, start=1):
            if value is None:
                continue
            if isinstance(value, Cell):
                value.row, value.column = row_idx, column
                if value.hyperlink is not None:  # set before the cell had its place
                    value.hyperlink.ref = value.coordinate
                yield value
                continue
            cell.value = value
            cell.row, cell.column = row_idx, column
            yield cell
            if cell.has_style:  # a date gave it a number format
                cell = WriteOnlyCell(self)

    def append_xml(self, text: str) -> None:
        """Add rendered ``<row>`` elements below every row appended so far (see ``sheet_xml``)."""
        if self.rows_path is None:
            handle, self.rows_path = tempfile.mkstemp(prefix="sourcing-rows.", suffix=".xml")
            os.close(handle)
        with open(self.rows_path, "a", encoding="utf-8") as out:
            out.write(text)


def create_sheet(wb: Workbook, title: str) -> StreamedSheet:
    """Add an empty streamed sheet ``title`` to the write-only workbook ``wb``."""
    ws = StreamedSheet(parent=wb, title=title)
    wb._add_sheet(ws)
    return ws


def declare_dimension(ws, ref: str) -> None:
    """Give a write-only sheet the <dimension> a normal sheet computes from its cells (readers such
    as openpyxl's read-only mode size the sheet from it); it is written with the first row."""
    ws.calculate_dimension = lambda: ref


def labels_of(wb: Workbook) -> Labels:
    """The labels of the workbook being written (see :func:`streaming_workbook`)."""
    return getattr(wb, "labels", None) or Labels()


def _with_units(frame: pd.DataFrame, formats: Mapping[str, str], labels: Labels, per_unit: frozenset[str] = PER_UNIT,
                basis: Mapping[str, str] = BASIS) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame to write (with a ``unit`` column after ``item`` where its rows mix items of different
    units) and the unit to show after each column's header: a money column's carries its ``basis``
    (discounted or nominal)."""
    columns = [str(c) for c in frame.columns]
    if {"basis", "items", *FLOWS} <= set(columns):  # a rule's flows, in its basis: a unit per row
        if labels.currency or labels.units:
            frame = frame.copy()
            frame.insert(columns.index(FLOWS[-1]) + 1, "flow unit", [
                labels.money_unit(NOMINAL) if basis == "value" else labels.unit_of_list(str(items))
                for basis, items in zip(frame["basis"], frame["items"], strict=True)])
            columns = [str(c) for c in frame.columns]
        columns_with_units = [c for c in columns if c not in FLOWS]
    else:
        columns_with_units = columns
    quantities = [c for c in columns_with_units if formats.get(c) == QUANTITY and c not in EMISSIONS]
    money = [c for c in columns_with_units if formats.get(c) in (MONEY, RATE)]
    if "item" in columns:
        unit = labels.unit_of(frame["item"])
        mixed = unit is None and len(frame) and any(labels.units.get(i) for i in pd.unique(frame["item"]))
    else:
        distinct = set(labels.units.values())
        unit, mixed = (distinct.pop() if len(distinct) == 1 else None), False
    if mixed and "unit" not in columns and (quantities or per_unit.intersection(money)):
        at = columns.index("item") + 1
        frame = frame.copy()
        frame.insert(at, "unit", frame["item"].map(dict(labels.units)).fillna(""))
    suffix = dict.fromkeys(quantities, unit) if unit else {}
    for column in money:
        per = (unit or "unit") if column in per_unit else (labels.emissions_unit or "unit of emissions") \
            if column in PER_EMISSION else None
        if column in basis:
            suffix[column] = labels.money_unit(basis[column], per)
        elif labels.currency:
            suffix[column] = f"{labels.currency} per {per}" if per else labels.currency
    for column in EMISSIONS.intersection(columns):
        suffix[column] = labels.emissions_unit or None
    return frame, {c: u for c, u in suffix.items() if u}


def limits_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each infinite marginal cost (MARGINAL_COLUMNS: a bound at the limit) as the text
    AT_THE_LIMIT, which is what it means; Excel has no infinity."""
    columns = [c for c in MARGINAL_COLUMNS.intersection(map(str, frame.columns))
               if frame[c].dtype.kind == "f" and np.isposinf(frame[c].to_numpy()).any()]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        values = frame[column].astype(object)
        values[np.isposinf(frame[column].to_numpy())] = AT_THE_LIMIT
        frame[column] = values
    return frame


def booleans_as_words(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each column of TRUE/FALSE values (blanks aside) as the words YES and NO: how a boolean
    shows depends on the application and the cell's format (it printed as 1), a word does not."""
    columns = [c for c in frame.columns if frame[c].dtype == bool or (
        frame[c].dtype == object and pd.api.types.infer_dtype(frame[c], skipna=True) == "boolean")]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].map({True: YES, False: NO}).astype(object)
    return frame


def write_table(wb: Workbook, title: str, frame: pd.DataFrame, formats: Mapping[str, str] = FORMATS,
                headers: Mapping[str, str] = HEADERS, row_style=None, *, one_page: bool | None = None,
                widths: Mapping[str, float] | None = None, wrap: tuple[str, ...] = (), per_unit: tuple[str, ...] = (),
                basis: Mapping[str, str] | None = None, keys: tuple[str, ...] | None = None,
                unprinted: tuple[str, ...] = ()):
    """Add sheet ``title`` holding ``frame`` as a formatted, print-ready Excel table to the write-only
    workbook ``wb`` and return the sheet. ``headers`` renames columns (their units are added after);
    ``row_style``, when given, maps a row's cell values to {column position: extra cell style} for that
    row. ``one_page`` makes the sheet print on one page (None: when it is short) where that keeps it at
    MIN_SCALE or more; ``widths`` sets columns' widths; the text of the ``wrap`` columns wraps; the ``per_unit``
    money columns, like those of PER_UNIT, are a cost per unit of an item; ``basis`` says which money columns
    are discounted and which nominal, where BASIS does not or means otherwise; ``keys`` are the columns
    repeated on every page of a table printed across pages (default: its leading KEY_COLUMNS); the trailing
    ``unprinted`` columns are left out of the print area."""
    if not len(frame.columns):  # nothing was computed for this sheet: say so rather than fail
        frame = pd.DataFrame({"note": ["no rows"]})
    labels = labels_of(wb)
    frame = booleans_as_words(limits_as_text(frame))
    frame, units = _with_units(frame, formats, labels, PER_UNIT | set(per_unit), {**BASIS, **(basis or {})})
    ws = create_sheet(wb, title)
    columns = [str(c) for c in frame.columns]
    names = [labels.with_unit(headers.get(c, c), units.get(c)) for c in columns]
    styles = [{"number_format": formats[c]} if formats.get(c) else {} for c in columns]
    n_rows = max(len(frame), 1)
    last = get_column_letter(len(columns))
    ref = f"A1:{last}{n_rows + 1}"

    # What a sheet shows above its rows is written with the first row: set it all before.
    ws.freeze_panes = "A2"
    header_lines = 1
    wrap = set(wrap)
    column_widths = []
    for index, name in enumerate(names):
        head = frame.iloc[:200, index].tolist() if len(frame) else []
        sample = [len(_shown(v)) for v in head if v is not None]
        if any(isinstance(v, str) and len(v) > MAX_WIDTH - 2 for v in head):
            wrap.add(columns[index])  # long text wraps in its column rather than running across the page
        longest_word = max((len(word) for word in name.split()), default=0)
        width = max([min(len(name), max(HEADER_WIDTH, longest_word)) + 2] + [min(s, MAX_WIDTH - 2) + 2 for s in sample])
        width = (widths or {}).get(columns[index], max(10, min(width, MAX_WIDTH)))
        ws.column_dimensions[get_column_letter(index + 1)].width = width
        header_lines = max(header_lines, _lines_of(name, width))
        column_widths.append(width)
    printed = len(columns) - sum(1 for c in columns if c in unprinted)
    ws.column_widths = column_widths
    ws.printed_width = sum(column_widths[:printed])
    ws.landscape = ws.printed_width > PORTRAIT_WIDTH
    ws.print_keys = _keys(columns, column_widths, keys)
    # A sheet prints one page wide where that keeps it at MIN_SCALE or more, else at MIN_SCALE across pages.
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=fit_scale(ws, width_only=True) >= MIN_SCALE)
    if wrap:  # rows of several lines: every cell at the top, the wrapped ones wrapping
        for index, column in enumerate(columns):
            styles[index]["alignment"] = WRAP if column in wrap else TOP
    formatted = any(styles)
    declare_dimension(ws, ref if len(frame) or formatted else f"A1:{last}1")
    # A wrapped cell's row is as tall as its text (LibreOffice does not fit the row to it on opening).
    heights = [ROW_POINTS * lines if lines > 1 else None for lines in _wrapped_lines(frame, columns, wrap, ws)]
    for row, height in enumerate(heights, start=2):
        if height:
            ws.row_dimensions[row].height = height
    if header_lines > 1:  # as tall as its longest wrapped header
        ws.row_dimensions[1].height = ROW_POINTS * header_lines
    ws.table_points = ROW_POINTS * header_lines + sum(h or ROW_POINTS for h in heights) + \
        ROW_POINTS * (n_rows - len(heights))

    ws.append([text_cell(ws, name, font=BOLD, alignment=HEADER_ALIGNMENT) for name in names])
    if not len(frame):
        if formatted:  # the table's one (empty) data row keeps its columns' formats
            ws.append([text_cell(ws, None, **style) if style else None for style in styles])
    elif row_style is not None or not _render_rows(ws, frame, styles, heights):
        _write_rows(ws, frame, styles, row_style)

    table = Table(displayName=title.replace(" ", "_"), ref=ref, autoFilter=AutoFilter(ref=ref),
                  tableColumns=[TableColumn(id=i, name=name) for i, name in enumerate(names, start=1)])
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    with warnings.catch_warnings():  # openpyxl warns on every write-only table; its columns are set above
        warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
        ws.add_table(table)
    if len(frame):
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            for highlight in HIGHLIGHTS.get(column, ()):
                target = f"{letter}2:{letter}{n_rows + 1}" if highlight.data_bar else ref.replace("A1", "A2")
                ws.conditional_formatting.add(target, highlight.rule(f"${letter}2"))
    ws.table_rows = ws.content_rows = n_rows + 1
    # the lowest and highest value of each numeric column (a chart's axis reaches below zero only for them)
    ws.column_range = {column: (float(frame[column].min()), float(frame[column].max())) for column in columns
                       if frame[column].dtype.kind in "fiu" and frame[column].notna().any()}
    ws.one_page = one_page
    ws.columns_written = columns
    ws.printed_columns = printed
    _print_setup(ws, labels=labels)
    return ws


def _keys(columns: list[str], widths: list[float], keys: tuple[str, ...] | None) -> int:
    """How many leading columns are repeated on every page of a table printed across pages: those of
    ``keys``, else the leading KEY_COLUMNS, at most half a page at MIN_SCALE."""
    room = PRINTABLE["landscape"][0] / MIN_SCALE / POINTS_PER_CHARACTER / 2
    count, used = 0, 0.0
    for column, width in zip(columns, widths, strict=True):
        if column not in (KEY_COLUMNS if keys is None else keys) or used + width > room:
            break
        count, used = count + 1, used + width
    return count


def fit_scale(ws, width_only: bool = False, landscape: bool | None = None) -> float:
    """The scale at which the printed part of sheet ``ws`` fits one page wide (and, unless ``width_only``,
    one page tall), at most 1, in its orientation or the one given: the printable area over the columns'
    widths (POINTS_PER_CHARACTER) and the rows' heights, charts included."""
    page_width, page_height = PRINTABLE["landscape" if (ws.landscape if landscape is None else landscape)
                                        else "portrait"]
    width = ws.printed_width * POINTS_PER_CHARACTER
    for chart, column in ws.placed_charts:  # a chart reaches from its column's left edge to its own width
        before = column_index_from_string(column) - 1
        left = sum(ws.column_widths[:before]) + DEFAULT_WIDTH * max(0, before - len(ws.column_widths))
        width = max(width, left * POINTS_PER_CHARACTER + chart.width * POINTS_PER_CM)
    scale = min(1.0, page_width / width) if width else 1.0
    if width_only:
        return scale
    height = ws.table_points + ROW_POINTS * max(0, ws.content_rows - ws.table_rows)
    return min(scale, page_height / height)
def _shown(value) -> str:
    """About what a cell shows: a number as its format writes it (thousands separators, two decimals), not
    its full repr."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.8f}"
    return str(value)


def _lines_of(text: str, width: float) -> int:
    """The lines a (bold) header takes, wrapped at word boundaries in a column ``width`` characters wide."""
    room, lines, used = max(width - 2, 1) / 1.1, 1, 0.0
    for word in text.split():
        if used and used + 1 + len(word) > room:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def _wrapped_lines(frame: pd.DataFrame, columns: list[str], wrap: set[str], ws) -> list[int]:
    """The lines each row's wrapped text takes in its column's width (1 without wrapped columns)."""
    lines = [1] * len(frame)
    for column in wrap:
        width = ws.column_dimensions[get_column_letter(columns.index(column) + 1)].width
        for i, text in enumerate(frame[column].tolist()):
            if isinstance(text, str):
                lines[i] = max(lines[i], math.ceil(len(text) * 1.1 / max(width - 1, 1)))
    return lines


def _render_rows(ws: StreamedSheet, frame: pd.DataFrame, styles: list[dict], heights: list) -> bool:
    """Render the rows of ``frame`` as sheet XML below the header row, a chunk of rows at a time (row heights
    ``heights``, None for the default); False (nothing written) when a value is not text, a number or
    TRUE/FALSE."""
    attributes = [style_attribute(ws, **style) for style in styles]
    quoted = [style_attribute(ws, **style, quotePrefix=True) for style in styles]
    try:
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = frame.iloc[start:start + CHUNK_ROWS]
            cells = [column_cells(chunk.iloc[:, i], attributes[i], quoted[i]) for i in range(len(styles))]
            ws.append_xml(rows_xml(cells, start + 2, heights[start:start + CHUNK_ROWS]))
    except Unrenderable:
        if ws.rows_path is not None:
            os.remove(ws.rows_path)
            ws.rows_path = None
        return False
    return True


def _write_rows(ws, frame: pd.DataFrame, styles: list[dict], row_style) -> None:
    """Append the rows of ``frame`` to the write-only sheet ``ws`` as openpyxl cells, column ``i`` styled
    ``styles[i]`` (a table with per-row styles, or with values the XML renderer does not write).

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


def _print_setup(ws: StreamedSheet, labels: Labels) -> None:
    """Landscape when wide; one page wide where that keeps MIN_SCALE, else at MIN_SCALE across pages with the
    key columns on each; the header row on every page, the footer; one page tall and the page breaks as
    :func:`_paginate` decides."""
    ws.page_margins = MARGINS
    ws.print_title_rows = "1:1"
    if ws.sheet_properties.pageSetUpPr.fitToPage:
        ws.page_setup.fitToWidth = 1
    else:
        ws.page_setup.scale = round(MIN_SCALE * 100)
        if ws.print_keys:
            ws.print_title_cols = f"A:{get_column_letter(ws.print_keys)}"
    ws.print_options.horizontalCentered = True
    left, centre, right = labels.footer()
    ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text = left, centre, right
    ws.oddFooter.left.size = ws.oddFooter.center.size = ws.oddFooter.right.size = 8
    _paginate(ws)


def _paginate(ws: StreamedSheet) -> None:
    """One page tall when the layout asks or the sheet is short, and that keeps it at MIN_SCALE or more;
    otherwise as many pages as it takes, with a page break before each chart, so that no chart is cut (a
    chart is shorter than a page). The print area leaves out the unprinted columns."""
    one_page = ws.one_page if ws.one_page is not None else ws.content_rows <= ONE_PAGE_ROWS
    landscape = ws.landscape
    if one_page and ws.sheet_properties.pageSetUpPr.fitToPage:  # the orientation that prints it larger
        landscape = max((ws.landscape, not ws.landscape), key=lambda wide: fit_scale(ws, landscape=wide))
        one_page = fit_scale(ws, landscape=landscape) >= MIN_SCALE
        landscape = landscape if one_page else ws.landscape
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    if ws.sheet_properties.pageSetUpPr.fitToPage:
        ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.row_breaks = RowBreak()
    if not one_page:
        for row in ws.chart_rows:
            ws.row_breaks.append(Break(id=row - 1))
    if ws.printed_columns < len(ws.columns_written):
        ws.print_area = f"A1:{get_column_letter(ws.printed_columns)}{ws.content_rows}"


def reference(ws: StreamedSheet, column: str, first: int, last: int | None = None) -> str:
    """Where the values of ``column`` in frame rows ``first`` to ``last`` (positions, from 0) of the table
    written on ``ws`` stand: ``Compliance!S2:S6`` (one cell when ``last`` is None or ``first``)."""
    letter = get_column_letter(ws.columns_written.index(column) + 1)
    title = f"'{ws.title}'" if not ws.title.replace("_", "").isalnum() else ws.title
    cells = f"{letter}{first + 2}" + (f":{letter}{last + 2}" if last is not None and last != first else "")
    return f"{title}!{cells}"


def chart_rows(chart) -> int:
    """The rows a chart covers, and one blank row below it."""
    return math.ceil(chart.height / ROW_CM) + 1


def add_chart(ws: StreamedSheet, chart, row: int | None = None, column: str = "A") -> int:
    """Place ``chart`` at ``column`` of ``row`` (default: two rows below what the sheet holds) so that no
    page break cuts it; return the first row below it. On a sheet printed across pages a chart at column A
    starts after the key columns, which every page repeats (LibreOffice would repeat the chart's edge too)."""
    row = row or ws.content_rows + 2
    if column == "A" and not ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_keys:
        column = get_column_letter(ws.print_keys + 1)
    ws.add_chart(chart, f"{column}{row}")
    ws.placed_charts.append((chart, column))
    if row not in ws.chart_rows:
        ws.chart_rows.append(row)
    ws.content_rows = max(ws.content_rows, row + chart_rows(chart))
    _paginate(ws)
    return row + chart_rows(chart)


def column_beside(ws: StreamedSheet, chart) -> str | None:
    """Where a second chart as wide as ``chart`` goes beside one at column A: the first column clear of it, when
    the sheet is then still narrow enough to print one page wide at MIN_SCALE; None when there is no room (it
    goes below)."""
    room = PRINTABLE["landscape"][0] / MIN_SCALE
    left = 0.0
    for index, width in enumerate([*ws.column_widths, *[DEFAULT_WIDTH] * 20]):
        if left * POINTS_PER_CHARACTER >= chart.width * POINTS_PER_CM:
            fits = left * POINTS_PER_CHARACTER + chart.width * POINTS_PER_CM <= room
            return get_column_letter(index + 1) if fits else None
        left += width
    return None


@contextlib.contextmanager
def streaming_workbook(labels: Labels | None = None) -> Iterator[Workbook]:
    """A write-only workbook whose sheets carry ``labels`` (footer, units), and whose sheets' temporary
    files are removed whether it is saved or not (saving removes openpyxl's own; a failure before or
    while saving would leave them until exit)."""
    wb = Workbook(write_only=True)
    wb.labels = labels or Labels()
    try:
        yield wb
    finally:
        _discard_streams(wb)


def _discard_streams(wb: Workbook) -> None:
    """Remove the temporary files of the write-only sheets of ``wb``: rendered rows always (they are zipped
    by then, or never will be), openpyxl's streams when they were not saved."""
    for ws in wb.worksheets:
        rows = getattr(ws, "rows_path", None)
        if rows:
            with contextlib.suppress(OSError):
                os.remove(rows)
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
