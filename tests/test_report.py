"""The plan workbook: Summary, Flows, Utilization, Compliance as formatted Excel tables whose values
are the solved result's."""

from __future__ import annotations

import math
import re

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from optimizer import OutputError, load_workbook, solve, write_plan, write_workbook

# The brief's four sheets, then Sensitivity (added with commit 69ff786, "a Sensitivity sheet"); the Overview
# first and the Supply mix after the costs (issue 16); the Flows' least-read columns on Flows detail (issue 22).
PLAN_SHEETS = ["Overview", "Summary", "Costs by period", "Supply mix", "Flows", "Flows detail", "Utilization",
               "Compliance", "Sensitivity"]
#: The one item's unit, shown after every quantity header of a plan of this workbook; a money header says
#: whether it is discounted or nominal (the workbook has no currency).
UNIT = re.compile(r" \((GWh|discounted|nominal|per GWh, nominal|per GWh, discounted)\)$")


def plain(header):
    """A header without the item's unit or its money's basis: ``quantity (GWh)`` is ``quantity``,
    ``total_cost (nominal)`` is ``total_cost``."""
    return UNIT.sub("", header) if isinstance(header, str) else header

# Landed unit costs into Plant (US): Cells_KR 10 * 1.10 + 2 = 13 (unlimited), Cells_US 8 + 1 = 9
# (at most 30 per period), Cells_US2 20 + 1 = 21 (unlimited). Demand 50 in each of 2026 and 2027.
# baseline: 30 from Cells_US + 20 from Cells_KR = 530 per period.
# mix (Korea at most 30 %, United States at least 50 %, by quantity): 30 Cells_US + 15 Cells_KR
# + 5 Cells_US2 = 270 + 195 + 105 = 570 per period.
SHEETS = {
    "Sites": [
        {"site": "Cells_KR", "country": "Korea"},
        {"site": "Cells_US", "country": "United States"},
        {"site": "Cells_US2", "country": "United States"},
        {"site": "Plant", "country": "United States"},
    ],
    "Items": [{"item": "cells", "unit": "GWh"}],
    "Supply": [
        {"site": "Cells_KR", "item": "cells", "capacity": None, "unit_cost": 10},
        {"site": "Cells_US", "item": "cells", "capacity": 30, "unit_cost": 8},
        {"site": "Cells_US2", "item": "cells", "capacity": None, "unit_cost": 20},
    ],
    "Demand": [{"site": "Plant", "item": "cells", "period": None, "quantity": 50}],
    "Lanes": [
        {"origin": "Cells_KR", "destination": "Plant", "item": None, "unit_cost": 2, "capacity": 100},
        {"origin": "Cells_US", "destination": "Plant", "item": None, "unit_cost": 1, "capacity": None},
        {"origin": "Cells_US2", "destination": "Plant", "item": None, "unit_cost": 1, "capacity": None},
    ],
    "Tariffs": [{"origin": "Korea", "destination": None, "rate": 0.1}],
    "Policies": [
        {"policy": "mix", "rule": "max_share", "from": "Korea", "value": 0.3, "basis": "quantity"},
        {"policy": "mix", "rule": "min_share", "from": "United States", "value": 0.5, "basis": "quantity"},
    ],
    "Periods": [{"period": 2026}, {"period": 2027}],
}


# Solved and written once for the module: the tests below only read them.
@pytest.fixture(scope="module")
def network(tmp_path_factory):
    return load_workbook(write_workbook(tmp_path_factory.mktemp("report") / "in.xlsx", SHEETS))


@pytest.fixture(scope="module")
def mix(network):
    result = solve(network, policy="mix")
    assert result.status == "optimal"
    return result


@pytest.fixture(scope="module")
def plan(mix, tmp_path_factory):
    path = write_plan(mix, tmp_path_factory.mktemp("plan") / "plan.xlsx")
    return openpyxl.load_workbook(path)


def rows(ws):
    """The sheet as a list of {header: value} dicts (one per data row)."""
    values = list(ws.iter_rows(values_only=True))
    header = [plain(h) for h in values[0]]
    return [dict(zip(header, row, strict=True)) for row in values[1:] if any(v is not None for v in row)]


def column_cells(ws, name):
    header = [plain(c.value) for c in ws[1]]
    index = header.index(name) + 1
    return [ws.cell(row=r, column=index) for r in range(2, ws.max_row + 1)]


def summary(ws) -> dict:
    return {plain(label): value for label, value in ws.iter_rows(min_row=2, max_col=2, values_only=True)}


# --------------------------------------------------------------------------- layout


def test_plan_has_exactly_the_plan_sheets(plan):
    assert plan.sheetnames == PLAN_SHEETS


@pytest.mark.parametrize("sheet", PLAN_SHEETS)
def test_each_sheet_is_one_table_with_a_frozen_header(plan, sheet):
    ws = plan[sheet]
    assert len(ws.tables) == 1
    table = ws.tables[next(iter(ws.tables))]
    assert table.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert all(isinstance(h, str) and h for h in header)
    assert len(set(header)) == len(header)


def test_money_quantity_and_percent_formats(plan):
    flows, detail, util, comp = plan["Flows"], plan["Flows detail"], plan["Utilization"], plan["Compliance"]
    for ws, name in ((flows, "total_cost"), (detail, "supply_cost"), (detail, "transport_cost"),
                     (detail, "tariff_cost"), (flows, "landed_unit_cost"), (flows, "quantity")):
        cells = column_cells(ws, name)
        assert cells and all("#,##0" in c.number_format for c in cells), name
    assert all("%" in c.number_format for c in column_cells(detail, "tariff_rate"))
    for name in ("used", "capacity"):
        assert all("#,##0" in c.number_format for c in column_cells(util, name)), name
    assert all("%" in c.number_format for c in column_cells(util, "utilization"))
    for name in ("share", "bound"):
        assert all("%" in c.number_format for c in column_cells(comp, name)), name
    for name in ("from_flow", "total_flow"):
        assert all("#,##0" in c.number_format for c in column_cells(comp, name)), name
    total = next(row[1] for row in plan["Summary"].iter_rows(min_row=2, max_col=2)
                 if row[0].value == "Total cost (discounted)")
    assert "#,##0" in total.number_format


# --------------------------------------------------------------------------- values


def test_summary_matches_the_result(mix, plan):
    values = summary(plan["Summary"])
    assert values["Total cost"] == pytest.approx(mix.total_cost)
    assert values["Total cost"] == pytest.approx(2 * 570)
    assert values["Supply cost"] == pytest.approx(mix.costs["supply"])
    assert values["Supply cost"] == pytest.approx(2 * (30 * 8 + 15 * 10 + 5 * 20))
    assert values["Transport cost"] == pytest.approx(2 * (30 * 1 + 15 * 2 + 5 * 1))
    assert values["Tariff cost"] == pytest.approx(2 * 15 * 1.0)
    assert values["Policy set"] == "mix"
    assert values["Status"] == "optimal"
    assert values["Periods"] == "2026, 2027"


def test_flows_match_the_result(mix, plan):
    ws, detail = plan["Flows"], plan["Flows detail"]
    keys = ["period", "item", "origin", "destination"]
    main = [plain(c.value) for c in ws[1]]
    assert main == [*keys, "quantity", "supply_unit_cost", "landed_unit_cost", "total_cost", "co2"]
    assert [plain(c.value) for c in detail[1]] == keys + [c for c in mix.flows.columns if c not in main]
    assert ws["E1"].value == "quantity (GWh)"
    written = [{**a, **b} for a, b in zip(rows(ws), rows(detail), strict=True)]  # the keys repeat: one row each
    expected = mix.flows.to_dict("records")
    assert len(written) == len(expected) == 6
    for got, want in zip(written, expected, strict=True):
        for column, value in want.items():
            if isinstance(value, str):
                assert got[column] == value, column
            else:
                assert got[column] == pytest.approx(float(value)), column


def test_flows_values(plan):
    got = {(r["period"], r["origin"]): (r["quantity"], r["total_cost"]) for r in rows(plan["Flows"])}
    expected = {}
    for period in ("2026", "2027"):
        expected[(period, "Cells_US")] = (30, 270)
        expected[(period, "Cells_KR")] = (15, 195)
        expected[(period, "Cells_US2")] = (5, 105)
    assert got.keys() == expected.keys()
    for key, (quantity, cost) in expected.items():
        assert got[key] == (pytest.approx(quantity), pytest.approx(cost)), key
    kr = next(r for r in rows(plan["Flows"]) if r["origin"] == "Cells_KR")
    assert kr["landed_unit_cost"] == pytest.approx(13)
    kr = next(r for r in rows(plan["Flows detail"]) if r["origin"] == "Cells_KR")
    assert (kr["destination"], kr["origin_country"], kr["destination_country"]) == ("Plant", "Korea", "United States")
    assert kr["tariff_rate"] == pytest.approx(0.1)
    assert kr["tariff_cost"] == pytest.approx(15)


def test_utilization_shows_used_versus_capacity(plan):
    util = rows(plan["Utilization"])
    supply = {(r["site"], r["period"]): r for r in util if r["resource"] == "supply"}
    assert set(supply) == {(s, p) for s in ("Cells_KR", "Cells_US", "Cells_US2") for p in ("2026", "2027")}
    for period in ("2026", "2027"):
        saturated = supply[("Cells_US", period)]
        assert saturated["used"] == pytest.approx(30)
        assert saturated["capacity"] == pytest.approx(30)
        assert saturated["utilization"] == pytest.approx(1.0)
        assert saturated["at_capacity"] == "yes"
        unlimited = supply[("Cells_KR", period)]
        assert unlimited["used"] == pytest.approx(15)
        assert unlimited["capacity"] is None
        assert unlimited["at_capacity"] == "no"
        assert supply[("Cells_US2", period)]["used"] == pytest.approx(5)
    lanes = [r for r in util if r["resource"] == "lane"]
    assert sorted((r["site"], r["destination"], r["period"]) for r in lanes) == [
        ("Cells_KR", "Plant", "2026"), ("Cells_KR", "Plant", "2027")]
    for lane in lanes:
        assert lane["used"] == pytest.approx(15)
        assert lane["capacity"] == pytest.approx(100)
        assert lane["utilization"] == pytest.approx(0.15)
        assert lane["at_capacity"] == "no"


def test_compliance_has_one_row_per_rule_and_period(mix, plan):
    comp = rows(plan["Compliance"])
    assert len(comp) == len(mix.compliance) == 4
    assert sorted((r["source"], r["rule"], r["period"]) for r in comp) == [
        ("Policies row 2", "max_share", "2026"), ("Policies row 2", "max_share", "2027"),
        ("Policies row 3", "min_share", "2026"), ("Policies row 3", "min_share", "2027"),
    ]
    for r in comp:
        assert r["policy"] == "mix"
        if r["rule"] == "max_share":
            assert (r["from_flow"], r["total_flow"]) == (pytest.approx(15), pytest.approx(50))
            assert r["share"] == pytest.approx(0.3) and r["bound"] == pytest.approx(0.3)
            assert r["binding"] == "yes"
        else:
            assert (r["from_flow"], r["total_flow"]) == (pytest.approx(35), pytest.approx(50))
            assert r["share"] == pytest.approx(0.7) and r["bound"] == pytest.approx(0.5)
            assert r["binding"] == "no"


def test_baseline_plan_has_an_empty_compliance_table(network, tmp_path):
    result = solve(network, policy="baseline")
    assert result.total_cost == pytest.approx(2 * 530)
    wb = openpyxl.load_workbook(write_plan(result, tmp_path / "base.xlsx"))
    assert wb.sheetnames == PLAN_SHEETS
    ws = wb["Compliance"]
    assert rows(ws) == []
    assert {"policy", "rule", "period", "share", "bound", "binding"} <= {c.value for c in ws[1]}
    assert len(ws.tables) == 1
    assert summary(wb["Summary"])["Total cost"] == pytest.approx(2 * 530)


def test_compliance_lists_every_period_of_a_rule(make_workbook, tmp_path):
    sheets = dict(SHEETS, Demand=[{"site": "Plant", "item": "cells", "period": 2026, "quantity": 50}],
                  Policies=[SHEETS["Policies"][0]])
    result = solve(load_workbook(make_workbook(**sheets)), policy="mix")
    assert result.status == "optimal"
    wb = openpyxl.load_workbook(write_plan(result, tmp_path / "plan.xlsx"))
    comp = rows(wb["Compliance"])
    assert sorted(r["period"] for r in comp) == ["2026", "2027"]
    empty = next(r for r in comp if r["period"] == "2027")
    assert empty["total_flow"] == 0 and (empty["share"] is None or math.isnan(empty["share"]))


# --------------------------------------------------------------------------- writing safely


def test_write_plan_refuses_the_input_and_leaves_it_unchanged(mix, make_workbook):
    source = make_workbook(**SHEETS)
    before = (source.read_bytes(), source.stat().st_mtime_ns)
    folder_before = set(source.parent.iterdir())
    with pytest.raises(OutputError, match="is the input workbook"):
        write_plan(mix, source.parent / ".." / source.parent.name / source.name, inputs=[source])
    assert (source.read_bytes(), source.stat().st_mtime_ns) == before
    assert set(source.parent.iterdir()) == folder_before  # no temporary file left behind


def test_write_plan_replaces_an_old_plan_and_leaves_no_temporary_file(mix, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "plan.xlsx"
    target.write_bytes(b"old")
    write_plan(mix, target)
    assert [p.name for p in folder.iterdir()] == ["plan.xlsx"]
    assert openpyxl.load_workbook(target).sheetnames == PLAN_SHEETS


# --------------------------------------------------------------------------- streamed writing


@pytest.fixture(scope="module")
def comparison(network):
    from optimizer.compare import compare

    return compare(network)


@pytest.fixture(scope="module")
def swept(network):
    from optimizer.compare import sweep

    return sweep(network, "mix", 2, [0.3, 0.4])


def _saved_workbooks(monkeypatch):
    """Record every workbook the plan, comparison and sweep layouts save."""
    from optimizer.writing import comparison, plan, save, sweep

    saved, real = [], save.save_atomically
    for layout in (plan, comparison, sweep):
        monkeypatch.setattr(layout, "save_atomically", lambda wb, path, formulas=(): saved.append(wb) or real(wb, path))
    return saved


def test_every_writer_streams_its_sheets(mix, comparison, swept, tmp_path, monkeypatch):
    """Plans, comparisons and sweeps are written in openpyxl's write-only mode: rows go to disk as
    they are added, so no sheet holds a cell object per value."""
    from optimizer.writing.comparison import write_comparison
    from optimizer.writing.sweep import write_sweep

    saved = _saved_workbooks(monkeypatch)
    write_plan(mix, tmp_path / "plan.xlsx")
    write_comparison(comparison, tmp_path / "comparison.xlsx")
    write_sweep(swept, tmp_path / "sweep.xlsx")
    assert len(saved) == 3
    assert [(wb.write_only, len(wb.worksheets) > 0) for wb in saved] == [(True, True)] * 3


def test_the_plan_keeps_its_formatting(plan):
    for ws in plan.worksheets:
        assert all(c.font.b and c.alignment.vertical == "center" for c in ws[1]), ws.title
        table = ws.tables[next(iter(ws.tables))]
        assert table.displayName == ws.title.replace(" ", "_")
        assert (table.tableStyleInfo.name, table.tableStyleInfo.showRowStripes) == ("TableStyleMedium2", True)
        assert table.autoFilter.ref == table.ref
        assert [c.name for c in table.tableColumns] == [c.value for c in ws[1]]
        for cell in ws[1]:  # every header can be read whole, and no column is wider than a screen allows
            width = ws.column_dimensions[cell.column_letter].width
            widest = 80 if ws.title == "Overview" else 62  # the Overview's statements are given 80
            longest_word = max(len(w) for w in cell.value.split())
            assert min(longest_word + 2, widest) <= width <= widest, (ws.title, cell.value)
            if len(cell.value) + 2 > width:  # a long header wraps, in a header row tall enough for two lines
                assert cell.alignment.wrap_text and ws.row_dimensions[1].height >= 30, (ws.title, cell.value)
    for label, value in plan["Summary"].iter_rows(min_row=2, max_col=2):
        assert value.alignment.horizontal == "left", label.value
        if isinstance(value.value, float):
            money = label.value.endswith(("(discounted)", "(nominal)"))  # a money figure says which it is
            assert money == any(w in label.value.lower() for w in ("cost", "credit", "bound")), label.value
            assert value.number_format == ("#,##0.00" if money else "#,##0.###"), label.value
    assert column_cells(plan["Flows detail"], "supply_cost")[0].number_format == "#,##0.00"
    assert column_cells(plan["Flows"], "quantity")[0].number_format == "#,##0.###"
    assert column_cells(plan["Flows detail"], "tariff_rate")[0].number_format == "0.0%"


def test_every_sheet_declares_its_size(mix, tmp_path):
    """Each sheet carries the <dimension> that readers such as openpyxl's read-only mode size it by."""
    path = write_plan(mix, tmp_path / "plan.xlsx")
    full = openpyxl.load_workbook(path)
    streamed = openpyxl.load_workbook(path, read_only=True)
    for ws in full.worksheets:
        table = ws.tables[next(iter(ws.tables))]
        assert streamed[ws.title].calculate_dimension() == table.ref, ws.title
        assert (streamed[ws.title].max_row, streamed[ws.title].max_column) == (ws.max_row, ws.max_column)


def test_odd_values_keep_their_column_format(mix, tmp_path):
    """Infinity is written as text (Excel has none), '-inf' kept as text, a blank keeps its column's
    format, and a date in a number column is a number in the column's format."""
    import datetime as dt
    from dataclasses import replace

    flows = mix.flows.copy()
    flows["quantity"] = flows["quantity"].astype(object)
    flows.loc[0:4, "quantity"] = [float("inf"), float("-inf"), float("nan"), dt.datetime(2026, 1, 1), 7]
    wb = openpyxl.load_workbook(write_plan(replace(mix, flows=flows), tmp_path / "odd.xlsx"))
    cells = column_cells(wb["Flows"], "quantity")
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells[:5]] == [
        ("inf", "s", False), ("-inf", "s", True), (None, "n", False), (46023, "n", False), (7, "n", False)]
    assert all(c.number_format == "#,##0.###" for c in cells)


def test_memory_does_not_grow_with_the_rows_written(mix, tmp_path, monkeypatch):
    """Writing many more flows takes hardly more memory: rows are converted in chunks and streamed
    to disk (the most that grows is the 1 MiB buffer that copies a sheet into the zip). Held as
    cells, as before streaming, the extra 1,300 rows of 17 values took about 7 MiB more."""
    import tracemalloc
    from dataclasses import replace

    from optimizer.writing import table

    monkeypatch.setattr(table, "CHUNK_ROWS", 100)
    peaks = []
    for n in (200, 1500):
        flows = mix.flows.iloc[[i % len(mix.flows) for i in range(n)]].reset_index(drop=True)
        result = replace(mix, flows=flows)
        tracemalloc.start()
        try:
            write_plan(result, tmp_path / f"plan{n}.xlsx")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert openpyxl.load_workbook(tmp_path / f"plan{n}.xlsx", read_only=True)["Flows"].max_row == n + 1
    assert peaks[1] - peaks[0] < 5 << 19, [p >> 10 for p in peaks]  # 2.5 MiB


def _openpyxl_temporary_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("openpyxl."))


def test_no_temporary_file_is_left_behind(mix, comparison, swept, tmp_path, monkeypatch):
    """Write-only sheets stream to temporary files: every writer removes them, also when it fails."""
    import tempfile

    from openpyxl.worksheet import _writer

    from optimizer.writing.comparison import write_comparison
    from optimizer.writing.sweep import write_sweep

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = list(_writer.ALL_TEMP_FILES)
    write_plan(mix, tmp_path / "plan.xlsx")
    write_comparison(comparison, tmp_path / "comparison.xlsx")
    write_sweep(swept, tmp_path / "sweep.xlsx")
    assert _openpyxl_temporary_files(scratch) == []

    from dataclasses import replace

    broken = replace(mix, utilization=mix.utilization.assign(used=object()))  # openpyxl cannot write it
    with pytest.raises(ValueError, match="Cannot convert"):
        write_plan(broken, tmp_path / "broken.xlsx")
    assert _openpyxl_temporary_files(scratch) == []
    assert not (tmp_path / "broken.xlsx").exists()

    from openpyxl.writer import excel

    real, calls = excel.ExcelWriter.write_worksheet, []

    def fail_on_the_third(self, ws):
        calls.append(ws.title)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, ws)

    monkeypatch.setattr(excel.ExcelWriter, "write_worksheet", fail_on_the_third)
    with pytest.raises(OutputError, match="No space left on device"):
        write_plan(mix, tmp_path / "full.xlsx")
    assert _openpyxl_temporary_files(scratch) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparison.xlsx", "plan.xlsx", "scratch", "sweep.xlsx"]
    assert list(_writer.ALL_TEMP_FILES) == before
