"""Writing results to Excel: each table a formatted Excel table (frozen header, filters,
number formats, widths). Files are written next to the target and renamed into place, so a
failed run never leaves a half-written workbook, and the input is never overwritten.

Workbooks are written in openpyxl's write-only mode: each row is streamed to a temporary file as
it is added, so a plan of hundreds of thousands of flows never holds a cell object per value.
Everything a sheet shows above its rows (frozen panes, column widths, its dimension) is therefore
set before the first row, every style is given as a cell is created, and text that looks like a
formula is made plain text as its cell is created (``optimizer.safety.text_cell``)."""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import stat
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from optimizer.compare import origin_groups
from optimizer.results import SolveResult
from optimizer.rules import COMPLIANCE_COLUMNS, RULE_TYPES
from optimizer.safety import (
    FORMULA_TRIGGERS,
    neutralise_formulas,
    safe_text,
    text_cell,
    write_stable_xlsx,
)

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
    if target.is_dir():
        raise OutputError(f"output {output} is a folder; give a file name ending in .xlsx")
    if target.exists() and not target.is_file():
        raise OutputError(f"output {output} is not a regular file; choose another file name")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {output}: folder {target.parent} is not writable; nothing was changed")
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


class _StreamedSheet(WriteOnlyWorksheet):
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


def _create_sheet(wb: Workbook, title: str) -> _StreamedSheet:
    ws = _StreamedSheet(parent=wb, title=title)
    wb._add_sheet(ws)
    return ws


def _declare_dimension(ws, ref: str) -> None:
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
    ws = _create_sheet(wb, title)
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
    _declare_dimension(ws, ref if len(frame) or formatted else f"A1:{last}1")

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
def _streaming_workbook():
    """A write-only workbook whose sheets' temporary files are removed if it is never saved
    (saving removes them; a failure before or while saving would leave them until exit)."""
    wb = Workbook(write_only=True)
    try:
        yield wb
    finally:
        _discard_streams(wb)


def _discard_streams(wb: Workbook) -> None:
    from openpyxl.worksheet import _writer

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


def save_atomically(wb: Workbook, path: str | Path, formulas=()) -> Path:
    """Save to a temporary file in the target folder, then rename it into place.

    Before saving, text that a spreadsheet could run as a formula is made plain text (see
    ``optimizer.safety.neutralise_formulas``; ``formulas`` lists (sheet, cell) pairs the tool
    writes as formulas on purpose). The bytes depend only on the content: no timestamps (see
    ``optimizer.safety.write_stable_xlsx``). The temporary file is flushed to disk before the
    rename, so the target is either the old file or the complete new one, never a mixture; on
    any failure the temporary file is removed and the target left as it was.
    """
    path = Path(path)
    neutralise_formulas(wb, formulas)
    tmp = None
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else _default_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp.xlsx", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            write_stable_xlsx(wb, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        hint = " (is it open in Excel, or is the folder read-only?)" if isinstance(exc, PermissionError) else ""
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}{hint}; nothing was changed") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def _default_mode() -> int:
    """Permissions of a new file under the current umask (mkstemp alone would give 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _summary_style(values: tuple) -> dict:
    """The Summary's value column: left-aligned, and a number formatted as money or a quantity."""
    label, value = values[0], values[1]
    style = {"alignment": LEFT}
    if isinstance(value, float):
        money = any(w in str(label).lower() for w in ("cost", "credit", "bound"))
        style["number_format"] = MONEY if money else QUANTITY
    return {1: style}


def write_plan(result: SolveResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the plan (Summary, Flows, Utilization, Compliance, Sensitivity) to a new workbook at
    ``path``; without a plan, Summary (status stated) and Diagnosis."""
    path = check_output_path(path, list(inputs))
    with _streaming_workbook() as wb:
        write_table(wb, "Summary", result.summary, row_style=_summary_style)
        if not result.has_plan:
            write_table(wb, "Diagnosis", result.diagnosis_table())
            return save_atomically(wb, path)
        write_table(wb, "Flows", result.flows)
        write_table(wb, "Utilization", result.utilization)
        write_table(wb, "Compliance", result.compliance.reindex(columns=COMPLIANCE_COLUMNS))
        write_table(wb, "Sensitivity", result.sensitivity, {**FORMATS, "value": QUANTITY, "used": QUANTITY,
                                                            "price": MONEY, "range_low": QUANTITY,
                                                            "range_high": QUANTITY})
        return save_atomically(wb, path)


# --------------------------------------------------------------------------- comparisons and sweeps

COMPARISON_HEADERS = {
    "total_cost": "total cost", "vs_baseline": "vs baseline", "vs_baseline_pct": "vs baseline %",
    "cost_per_unit_demand": "cost per unit of demand", "rule_checks": "rule checks",
    "binding_checks": "binding checks", "cost_per_point": "cost change per +1 pp of all share bounds",
}


def _column_letter(frame: pd.DataFrame, column: str) -> int:
    return list(frame.columns).index(column) + 1


def _bar_chart(title: str, y_title: str, stacked: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.height, chart.width = 9, 18
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 would hide both axes
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    return chart


def _plot_column(ws, table: pd.DataFrame, column: str, chart, anchor: str) -> None:
    """Chart one column of a table written from row 1 of ``ws``, against its first column."""
    n = len(table)
    chart.add_data(Reference(ws, min_col=_column_letter(table, column), min_row=1, max_row=n + 1),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
    chart.legend = None
    ws.add_chart(chart, anchor)


def write_comparison(comparison, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Comparison, SupplyMix (with charts), and every plan's tables with a ``policy`` column."""
    path = check_output_path(path, list(inputs))
    with _streaming_workbook() as wb:
        table = comparison.table()
        formats = {**FORMATS, "total_cost": MONEY, "supply": MONEY, "transport": MONEY, "tariffs": MONEY,
                   "credits": MONEY, "vs_baseline": MONEY, "vs_baseline_pct": PERCENT,
                   "cost_per_unit_demand": MONEY, "cost_per_point": MONEY}
        ws = write_table(wb, "Comparison", table, formats, headers={**HEADERS, **COMPARISON_HEADERS})
        anchor_row = len(table) + 4
        _plot_column(ws, table, "total_cost", _bar_chart("Total cost by policy set", "total cost"),
                     f"A{anchor_row}")
        _write_supply_mix(wb, comparison, ws, anchor_row)
        write_table(wb, "Flows", comparison.stacked("flows"))
        write_table(wb, "Utilization", comparison.stacked("utilization"))
        write_table(wb, "Compliance", comparison.stacked("compliance").drop(columns="rule_row", errors="ignore"))
        diagnosis = [r.diagnosis_table().assign(policy=r.policy) for r in comparison.results if r.diagnosis]
        if diagnosis:
            frame = pd.concat(diagnosis, ignore_index=True)
            write_table(wb, "Diagnosis", frame[["policy", *[c for c in frame.columns if c != "policy"]]])
        return save_atomically(wb, path)


def _write_supply_mix(wb: Workbook, comparison, ws_charts, anchor_row: int) -> None:
    """SupplyMix: per item, a bold title, then quantity by policy (rows) and origin group (columns);
    its stacked bar chart goes on ``ws_charts`` below the cost chart."""
    mix = comparison.supply_mix()
    groups = origin_groups(comparison.network)
    units = {i: (item.unit or "units") for i, item in comparison.network.items.items()}
    blocks = []
    for item in sorted(mix["item"].unique()) if len(mix) else []:
        wide = (mix[mix["item"] == item].pivot_table(index="policy", columns="group", values="quantity",
                                                     aggfunc="sum")
                .reindex(index=[r.policy for r in comparison.results], columns=groups).fillna(0.0))
        blocks.append((item, wide.loc[:, (wide != 0).any(axis=0)]))

    ws_mix = _create_sheet(wb, "SupplyMix")
    ws_mix.column_dimensions["A"].width = 24
    for letter in "BCDEFGH":
        ws_mix.column_dimensions[letter].width = 16
    if blocks:  # each block: title, header, one row per policy set, then a blank row
        last_row = sum(len(wide) + 3 for _, wide in blocks) - 1
        last_column = max(len(wide.columns) + 1 for _, wide in blocks)
        _declare_dimension(ws_mix, f"A1:{get_column_letter(last_column)}{last_row}")
    else:
        _declare_dimension(ws_mix, "A1:A1")
    row = 1
    for index, (item, wide) in enumerate(blocks):
        if index:
            ws_mix.append([])
        ws_mix.append([text_cell(ws_mix, f"{item} supplied by origin group ({units[item]})", font=BOLD)])
        header_row = row + 1
        ws_mix.append([text_cell(ws_mix, name, font=BOLD) for name in ["policy", *wide.columns]])
        for policy, values in wide.iterrows():
            cells = [text_cell(ws_mix, float(v), number_format=QUANTITY) for v in values]
            ws_mix.append([text_cell(ws_mix, policy), *cells])
        chart = _bar_chart(f"{item}: supply by origin group", units[item], stacked=True)
        chart.add_data(Reference(ws_mix, min_col=2, max_col=len(wide.columns) + 1, min_row=header_row,
                                 max_row=header_row + len(wide)), titles_from_data=True)
        chart.set_categories(Reference(ws_mix, min_col=1, min_row=header_row + 1, max_row=header_row + len(wide)))
        ws_charts.add_chart(chart, f"A{anchor_row + 20 * (index + 1)}")
        row = header_row + len(wide) + 2


def write_sweep(result, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Sweep table, a cost-versus-value line chart, and a note of where the rule becomes infeasible."""
    path = check_output_path(path, list(inputs))
    table = result.table()
    rule = next(r for r in result.policy.rules if r.row == result.rule_row)
    n = len(table)
    infeasible = result.first_infeasible()
    summary = pd.DataFrame([
        ("Workbook", result.network.source or ""), ("Policy set", result.policy.name),
        ("Rule", f"Policies row {rule.row}: {rule.label()}"), ("Points", n),
        ("Feasible points", int(sum(r.has_plan for r in result.results))),
        ("First infeasible value", infeasible if infeasible is not None else "none"),
    ], columns=["field", "value"])
    value_format = {"percent": PERCENT, "money": MONEY}.get(RULE_TYPES[rule.type].value_format, QUANTITY)
    formats = {**FORMATS, "value": value_format,
               "total_cost": MONEY, "vs_first": MONEY, "share_min": PERCENT}
    with _streaming_workbook() as wb:
        write_table(wb, "Summary", summary)
        ws = write_table(wb, "Sweep", table, formats, headers={
            **HEADERS, "total_cost": "total cost", "vs_first": "vs first point",
            "share_min": "lowest share achieved", "value": f"{rule.type} value"})
        chart = LineChart()
        chart.title = f"Total cost vs {rule.type} value ({result.policy.name}, Policies row {result.rule_row})"
        chart.y_axis.title = "total cost"
        chart.x_axis.title = f"{rule.type} value"
        chart.height, chart.width = 9, 18
        chart.x_axis.delete = chart.y_axis.delete = False
        _plot_column(ws, table, "total_cost", chart, f"A{n + 4}")
        return save_atomically(wb, path)
