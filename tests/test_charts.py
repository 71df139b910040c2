"""Charts that cannot mislead (issue 22, point 3), read from the chart XML of the written workbooks: a bar or
column chart's value axis starts at zero (set explicitly: Excel and LibreOffice otherwise start it near the
smallest bar, and the comparison's 7% difference in cost looked like 4x), unless a value is negative; a line
chart marks its points and draws straight segments; the robust workbook charts each plan's regret, the
differences that matter, rather than cutting the cost chart's axis."""

from __future__ import annotations

import openpyxl
import pytest
from test_outputs import SHEETS
from test_robust import build_or_wait

from optimizer import load_workbook, solve, write_plan, write_workbook
from optimizer.compare import compare, sweep
from optimizer.frontier import frontier
from optimizer.robust import robust
from optimizer.writing.charts import line_chart
from optimizer.writing.comparison import write_comparison
from optimizer.writing.frontier import write_frontier
from optimizer.writing.robust import write_robust
from optimizer.writing.sweep import write_sweep


def charts(path) -> dict[str, object]:
    """The charts of a workbook as openpyxl reads them from its chart XML, by the sheet that holds each (a
    second one on a sheet: 'Sheet#2')."""
    out = {}
    for ws in openpyxl.load_workbook(path).worksheets:
        for i, chart in enumerate(ws._charts):
            out[ws.title if i == 0 else f"{ws.title}#{i + 1}"] = chart
    return out


def title(chart) -> str:
    return "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))


def references(chart) -> list[str]:
    return [ref for series in chart.series
            for ref in ((series.cat.numRef or series.cat.strRef).f, series.val.numRef.f)]


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    """A plan, one with a credit (8 a unit of US cells: they land at 11, Korean ones at 12, so US cells earn it: a
    negative cost part), a comparison, a sweep, a frontier and a robust workbook."""
    folder = tmp_path_factory.mktemp("charts")
    sheets = {**SHEETS, "Policies": [*SHEETS["Policies"], {"policy": "credited", "rule": "credit", "items": "cells",
                                                            "from": "United States", "value": 8}]}
    network = load_workbook(write_workbook(folder / "in.xlsx", sheets))
    scenarios = load_workbook(write_workbook(folder / "scenarios.xlsx", build_or_wait()))
    return {
        "plan": write_plan(solve(network, "mix"), folder / "plan.xlsx"),
        "credited": write_plan(solve(network, "credited"), folder / "credited.xlsx"),
        "comparison": write_comparison(compare(network), folder / "comparison.xlsx"),
        "sweep": write_sweep(sweep(network, "mix", 2, [0.2, 0.3, 0.4]), folder / "sweep.xlsx"),
        "frontier": write_frontier(frontier(network, "mix", 2, 3), folder / "frontier.xlsx"),
        "robust": write_robust(robust(scenarios, "expected"), folder / "robust.xlsx"),
    }


def test_bar_charts_start_their_value_axis_at_zero(workbooks):
    found = {name: charts(path) for name, path in workbooks.items()}
    bars = {(name, sheet): chart for name, sheets in found.items() for sheet, chart in sheets.items()
            if chart.tagname == "barChart"}
    assert set(bars) == {
        ("plan", "Overview"), ("plan", "Costs by period"), ("credited", "Overview"), ("credited", "Costs by period"),
        ("comparison", "Overview"), ("comparison", "Comparison"), ("comparison", "SupplyMix"),
        ("comparison", "SupplyMix#2"), ("robust", "Overview"), ("robust", "Plans x scenarios"), ("robust", "Regret")}
    for where, chart in bars.items():
        if where == ("credited", "Costs by period"):  # the credits go below zero: the axis spans them
            assert chart.y_axis.scaling.min is None and "credits" in [s.tx.v for s in chart.series]
        else:
            assert chart.y_axis.scaling.min == 0, where


def test_line_charts_mark_their_points_and_draw_straight_lines(workbooks):
    for name in ("sweep", "frontier"):
        [chart] = charts(workbooks[name]).values()
        assert chart.tagname == "lineChart"
        [series] = chart.series
        assert (series.marker.symbol, series.smooth) == ("circle", False), name


def test_sweep_and_frontier_charts_show_the_cost_change_from_zero(workbooks):
    """A total cost on an axis cut near its values draws a small step as a cliff: the line is the cost's change
    from the first point (the table's vs-first and change-from-the-start column), on an axis from zero."""
    # the sweep loosens its rule (the cost falls: the axis stops at zero), the frontier tightens it (the cost rises:
    # the axis starts at zero)
    for name, sheet, falls in (("sweep", "Sweep", True), ("frontier", "Frontier", False)):
        [chart] = charts(workbooks[name]).values()
        assert title(chart).startswith("Cost change from the"), name
        assert references(chart)[1] == f"'{sheet}'!$D$2:$D$4", name
        changes = [row[0] for row in openpyxl.load_workbook(workbooks[name])[sheet].iter_rows(
            min_row=2, max_row=4, min_col=4, max_col=4, values_only=True)]
        assert changes[0] == 0 and (max(changes) <= 0 < -min(changes) if falls else min(changes) >= 0 < max(changes))
        expected = (None, 0) if falls else (0, None)
        assert (chart.y_axis.scaling.min, chart.y_axis.scaling.max) == expected, name


def test_the_robust_workbook_charts_each_plans_regret(workbooks):
    """Plans x scenarios holds costs (here 45 to 200), each plan's regret (0 to 60) tells the plans apart: its
    chart is on the Regret sheet and on the Overview, one series per scenario, from zero."""
    found = charts(workbooks["robust"])
    for sheet in ("Regret", "Overview"):
        chart = found[sheet]
        assert title(chart) == "Each plan's regret in each scenario" and chart.y_axis.scaling.min == 0
        assert references(chart) == ["'Regret'!$A$2:$A$4", "'Regret'!$B$2:$B$4", "'Regret'!$A$2:$A$4",
                                     "'Regret'!$C$2:$C$4"]


def test_a_chart_on_a_sheet_printed_across_pages_starts_after_the_repeated_key_columns(tmp_path):
    """Every page of a sheet printed across pages repeats its key columns (here period and item); a chart placed at
    column A would have its edge repeated on each page too (LibreOffice prints it so): it starts after them."""
    import pandas as pd
    from test_outputs import printed_scale

    from optimizer.writing.save import save_atomically
    from optimizer.writing.table import add_chart, streaming_workbook, write_table

    frame = pd.DataFrame({"period": ["2026", "2027"], "item": ["cells", "cells"],
                          **{f"column number {i}": [1.0, 2.0] for i in range(30)}})
    with streaming_workbook() as wb:
        ws = write_table(wb, "Wide", frame)
        add_chart(ws, line_chart("x", "period", "y"))
        wb = openpyxl.load_workbook(save_atomically(wb, tmp_path / "wide.xlsx"))
    ws = wb["Wide"]
    assert (ws.print_title_cols, printed_scale(ws)) == ("$A:$B", 0.6)
    [chart] = ws._charts
    assert chart.anchor._from.col == 2  # column C
