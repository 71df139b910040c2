"""Writing results to Excel: each table a formatted Excel table (frozen header, filters,
number formats, widths). Files are written next to the target and renamed into place, so a
failed run never leaves a half-written workbook, and the input is never overwritten."""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from optimizer.compare import origin_groups
from optimizer.results import SolveResult
from optimizer.safety import neutralise_formulas, safe_text, write_stable_xlsx

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
        return safe_text(value)  # formula-like text is neutralised in save_atomically
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones
    return value


def write_table(wb: Workbook, title: str, frame: pd.DataFrame, formats: Mapping[str, str] = FORMATS,
                headers: Mapping[str, str] = HEADERS) -> None:
    """Add sheet ``title`` holding ``frame`` as a formatted Excel table (``headers`` renames columns)."""
    if not len(frame.columns):  # nothing was computed for this sheet: say so rather than fail
        frame = pd.DataFrame({"note": ["no rows"]})
    ws = wb.create_sheet(title)
    columns = [str(c) for c in frame.columns]
    ws.append([headers.get(c, c) for c in columns])
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
        width = max([len(headers.get(column, column)) + 2] + [min(s, 60) + 2 for s in sample])
        ws.column_dimensions[letter].width = max(10, min(width, 62))
    ref = f"A1:{get_column_letter(len(columns))}{n_rows + 1}"
    table = Table(displayName=title.replace(" ", "_"), ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)


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


def write_plan(result: SolveResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the plan (Summary, Flows, Utilization, Compliance, Sensitivity) to a new workbook at
    ``path``; without a plan, Summary (status stated) and Diagnosis."""
    path = check_output_path(path, list(inputs))
    wb = Workbook()
    wb.remove(wb.active)
    write_table(wb, "Summary", result.summary)
    ws = wb["Summary"]
    for (label, value) in ws.iter_rows(min_row=2, max_col=2):
        if isinstance(value.value, float):
            money = any(w in str(label.value).lower() for w in ("cost", "credit", "bound"))
            value.number_format = MONEY if money else QUANTITY
        value.alignment = Alignment(horizontal="left")
    if not result.has_plan:
        write_table(wb, "Diagnosis", result.diagnosis_table())
        return save_atomically(wb, path)
    write_table(wb, "Flows", result.flows)
    write_table(wb, "Utilization", result.utilization)
    write_table(wb, "Compliance", result.compliance)
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
    wb = Workbook()
    wb.remove(wb.active)
    table = comparison.table()
    formats = {**FORMATS, "total_cost": MONEY, "supply": MONEY, "transport": MONEY, "tariffs": MONEY,
               "credits": MONEY, "vs_baseline": MONEY, "vs_baseline_pct": PERCENT,
               "cost_per_unit_demand": MONEY, "cost_per_point": MONEY}
    write_table(wb, "Comparison", table, formats, headers={**HEADERS, **COMPARISON_HEADERS})
    ws = wb["Comparison"]
    anchor_row = len(table) + 4
    _plot_column(ws, table, "total_cost", _bar_chart("Total cost by policy set", "total cost"), f"A{anchor_row}")

    mix = comparison.supply_mix()
    groups = origin_groups(comparison.network)
    ws_mix = wb.create_sheet("SupplyMix")
    units = {i: (item.unit or "units") for i, item in comparison.network.items.items()}
    row = 1
    for index, item in enumerate(sorted(mix["item"].unique()) if len(mix) else []):
        wide = (mix[mix["item"] == item].pivot_table(index="policy", columns="group", values="quantity",
                                                     aggfunc="sum")
                .reindex(index=[r.policy for r in comparison.results], columns=groups).fillna(0.0))
        wide = wide.loc[:, (wide != 0).any(axis=0)]
        ws_mix.cell(row=row, column=1, value=f"{item} supplied by origin group ({units[item]})").font = Font(bold=True)
        header_row = row + 1
        ws_mix.append(["policy", *wide.columns])
        for policy, values in wide.iterrows():
            ws_mix.append([policy, *[float(v) for v in values]])
        for cells in ws_mix.iter_rows(min_row=header_row + 1, max_row=header_row + len(wide), min_col=2):
            for cell in cells:
                cell.number_format = QUANTITY
        for cell in ws_mix[header_row]:
            cell.font = Font(bold=True)
        chart = _bar_chart(f"{item}: supply by origin group", units[item], stacked=True)
        chart.add_data(Reference(ws_mix, min_col=2, max_col=len(wide.columns) + 1, min_row=header_row,
                                 max_row=header_row + len(wide)), titles_from_data=True)
        chart.set_categories(Reference(ws_mix, min_col=1, min_row=header_row + 1, max_row=header_row + len(wide)))
        ws.add_chart(chart, f"A{anchor_row + 20 * (index + 1)}")
        row = header_row + len(wide) + 2
    ws_mix.column_dimensions["A"].width = 24
    for letter in "BCDEFGH":
        ws_mix.column_dimensions[letter].width = 16

    write_table(wb, "Flows", comparison.stacked("flows"))
    write_table(wb, "Utilization", comparison.stacked("utilization"))
    write_table(wb, "Compliance", comparison.stacked("compliance"))
    diagnosis = [r.diagnosis_table().assign(policy=r.policy) for r in comparison.results if r.diagnosis]
    if diagnosis:
        frame = pd.concat(diagnosis, ignore_index=True)
        write_table(wb, "Diagnosis", frame[["policy", *[c for c in frame.columns if c != "policy"]]])
    return save_atomically(wb, path)


def write_sweep(result, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Sweep table, a cost-versus-value line chart, and a note of where the rule becomes infeasible."""
    path = check_output_path(path, list(inputs))
    wb = Workbook()
    wb.remove(wb.active)
    table = result.table()
    rule = next(r for r in result.policy.rules if r.row == result.rule_row)
    is_share = rule.type in ("min_share", "max_share")
    formats = {**FORMATS, "value": PERCENT if is_share or rule.type == "tariff" else MONEY,
               "total_cost": MONEY, "vs_first": MONEY, "share_min": PERCENT}
    write_table(wb, "Sweep", table, formats, headers={
        **HEADERS, "total_cost": "total cost", "vs_first": "vs first point",
        "share_min": "lowest share achieved", "value": f"{rule.type} value"})
    ws = wb["Sweep"]
    chart = LineChart()
    chart.title = f"Total cost vs {rule.type} value ({result.policy.name}, Policies row {result.rule_row})"
    chart.y_axis.title = "total cost"
    chart.x_axis.title = f"{rule.type} value"
    chart.height, chart.width = 9, 18
    chart.x_axis.delete = chart.y_axis.delete = False
    n = len(table)
    _plot_column(ws, table, "total_cost", chart, f"A{n + 4}")
    infeasible = result.first_infeasible()
    summary = pd.DataFrame([
        ("Workbook", result.network.source or ""), ("Policy set", result.policy.name),
        ("Rule", f"Policies row {rule.row}: {rule.label()}"), ("Points", n),
        ("Feasible points", int(sum(r.has_plan for r in result.results))),
        ("First infeasible value", infeasible if infeasible is not None else "none"),
    ], columns=["field", "value"])
    write_table(wb, "Summary", summary)
    wb.move_sheet("Summary", offset=-1)
    return save_atomically(wb, path)
