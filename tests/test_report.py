"""The plan workbook: Summary, Flows, Utilization, Compliance as formatted Excel tables whose values
are the solved result's."""

from __future__ import annotations

import math

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from optimizer import OutputError, load_workbook, solve, write_plan, write_workbook

# The brief's four sheets, then Sensitivity (added with commit 69ff786, "a Sensitivity sheet").
PLAN_SHEETS = ["Summary", "Flows", "Utilization", "Compliance", "Sensitivity"]

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
    header = list(values[0])
    return [dict(zip(header, row, strict=True)) for row in values[1:] if any(v is not None for v in row)]


def column_cells(ws, name):
    header = [c.value for c in ws[1]]
    index = header.index(name) + 1
    return [ws.cell(row=r, column=index) for r in range(2, ws.max_row + 1)]


def summary(ws) -> dict:
    return {label: value for label, value in ws.iter_rows(min_row=2, max_col=2, values_only=True)}


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
    flows, util, comp = plan["Flows"], plan["Utilization"], plan["Compliance"]
    for name in ("total_cost", "supply_cost", "transport_cost", "tariff_cost", "landed_unit_cost", "quantity"):
        cells = column_cells(flows, name)
        assert cells and all("#,##0" in c.number_format for c in cells), name
    assert all("%" in c.number_format for c in column_cells(flows, "tariff_rate"))
    for name in ("used", "capacity"):
        assert all("#,##0" in c.number_format for c in column_cells(util, name)), name
    assert all("%" in c.number_format for c in column_cells(util, "utilization"))
    for name in ("share", "bound"):
        assert all("%" in c.number_format for c in column_cells(comp, name)), name
    for name in ("from_flow", "total_flow"):
        assert all("#,##0" in c.number_format for c in column_cells(comp, name)), name
    total = next(row[1] for row in plan["Summary"].iter_rows(min_row=2, max_col=2) if row[0].value == "Total cost")
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
    ws = plan["Flows"]
    assert [c.value for c in ws[1]] == list(mix.flows.columns)
    written = rows(ws)
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
    assert (kr["destination"], kr["origin_country"], kr["destination_country"]) == ("Plant", "Korea", "United States")
    assert kr["tariff_rate"] == pytest.approx(0.1)
    assert kr["landed_unit_cost"] == pytest.approx(13)
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
        assert saturated["at_capacity"] is True
        unlimited = supply[("Cells_KR", period)]
        assert unlimited["used"] == pytest.approx(15)
        assert unlimited["capacity"] is None
        assert unlimited["at_capacity"] is False
        assert supply[("Cells_US2", period)]["used"] == pytest.approx(5)
    lanes = [r for r in util if r["resource"] == "lane"]
    assert sorted((r["site"], r["destination"], r["period"]) for r in lanes) == [
        ("Cells_KR", "Plant", "2026"), ("Cells_KR", "Plant", "2027")]
    for lane in lanes:
        assert lane["used"] == pytest.approx(15)
        assert lane["capacity"] == pytest.approx(100)
        assert lane["utilization"] == pytest.approx(0.15)
        assert lane["at_capacity"] is False


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
            assert r["binding"] is True
        else:
            assert (r["from_flow"], r["total_flow"]) == (pytest.approx(35), pytest.approx(50))
            assert r["share"] == pytest.approx(0.7) and r["bound"] == pytest.approx(0.5)
            assert r["binding"] is False


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
