"""``sourcing frontier`` on hand-checkable networks: both ends of a share rule and of a carbon cap, the points
between them with their cost and one-sided marginal, a linked (two-period) row ended by the joint LP or by
bisection, the workbook and JSON it writes, and requests it refuses.

The network is the carbon tests' one: the plant P needs 100 GWh of cells a period; QC (Canada) lands them at
71 and 21 t CO2e per GWh, at most 60; KR (Korea) at 63 and 82 t, unlimited. Without a rule P buys all from
KR: 6,300 and 8,200 t. Each GWh moved to QC costs 8 more and avoids 61 t.
"""

from __future__ import annotations

import math

import pytest
from cli_run import run, run_json
from openpyxl import load_workbook as open_workbook
from test_carbon import SHEETS, policies

from optimizer import load_workbook
from optimizer.frontier import BISECTION_TOLERANCE, FrontierError, frontier

LOCAL = {"rule": "min_share", "items": "cells", "from": "Canada", "value": 0.5, "basis": "quantity"}
CAP = {"rule": "co2_cap", "value": 5000}
RULE_ROW = 2  # the first data row of Policies


@pytest.fixture
def workbook(make_workbook):
    def make(*rules, **changes):
        return make_workbook(**{**SHEETS, **changes, "Policies": policies(*rules)})
    return make


def two_periods(capacity_2027: float) -> dict:
    """QC at 60 in 2026 and ``capacity_2027`` in 2027."""
    qc, kr = SHEETS["Supply"]
    return dict(Periods=[{"period": 2026}, {"period": 2027}],
                Supply=[{**qc, "period": 2026}, {**qc, "period": 2027, "capacity": capacity_2027}, kr])


def test_a_share_frontier_runs_from_the_share_without_the_rule_to_the_best_achievable(workbook):
    drawn = frontier(load_workbook(workbook(LOCAL)), "p", RULE_ROW, points=4)
    # without the rule P buys nothing from Canada (0%); at most QC's 60 of 100 (60%), found by Dinkelbach.
    assert (drawn.start.value, drawn.end.value) == (0.0, pytest.approx(0.6, abs=1e-9))
    assert "Dinkelbach" in drawn.end.how
    table = drawn.table()
    assert table["value"].tolist() == pytest.approx([0, 0.2, 0.4, 0.6])
    assert table["total_cost"].tolist() == pytest.approx([6300, 6460, 6620, 6780])  # 8 per GWh moved
    assert table["vs_start"].tolist() == pytest.approx([0, 160, 320, 480])
    # each +1 pp moves 1 GWh: 8, from the start on; past 60% there is no plan
    assert table["marginal"].tolist()[:3] == pytest.approx([8, 8, 8])
    assert table["marginal"].iloc[3] == math.inf
    assert table["status"].eq("optimal").all()


def test_a_cap_frontier_runs_from_the_emissions_without_it_to_the_least_achievable(workbook):
    drawn = frontier(load_workbook(workbook(CAP)), "p", RULE_ROW, points=3)
    # 8,200 t without the cap; least: QC full, 60 x 21 + 40 x 82 = 4,540 t (one LP)
    assert (drawn.start.value, drawn.end.value) == (pytest.approx(8200), pytest.approx(4540))
    assert "LP" in drawn.end.how
    table = drawn.table()
    # halfway, 6,370 t: 1,830 t avoided at 8/61 each = 240
    assert table["total_cost"].tolist() == pytest.approx([6300, 6540, 6780])
    assert table["marginal"].tolist()[:2] == pytest.approx([8 / 61, 8 / 61])
    assert table["marginal"].iloc[2] == math.inf
    assert drawn.end.result.emissions.sum() == pytest.approx(4540)


def test_a_cap_over_two_periods_ends_at_the_least_achievable_peak(workbook):
    # 2027 can take only 30 from QC: its least emissions are 30 x 21 + 70 x 82 = 6,370, 2026's 4,540. One value
    # caps both periods, so the end is the larger, found jointly.
    drawn = frontier(load_workbook(workbook(CAP, **two_periods(30))), "p", RULE_ROW, points=2)
    assert (drawn.start.value, drawn.end.value) == (pytest.approx(8200), pytest.approx(6370))
    # at 6,370 both periods are capped: 2026 moves 1,830 / 61 = 30 GWh, 2027 moves its 30: 2 x 6,300 + 8 x 60
    assert drawn.table()["total_cost"].tolist() == pytest.approx([12600, 12600 + 8 * 60])


def test_a_share_row_over_two_periods_ends_by_bisection_at_the_least_achievable_period(workbook):
    drawn = frontier(load_workbook(workbook(LOCAL, **two_periods(30))), "p", RULE_ROW, points=2)
    assert drawn.start.value == 0.0
    assert drawn.end.value == pytest.approx(0.3, abs=BISECTION_TOLERANCE)
    assert drawn.end.value <= 0.3 and "bisection" in drawn.end.how  # the side that has a plan
    assert drawn.end.result.status == "optimal"


def test_a_max_share_frontier_tightens_downwards(workbook):
    # at most this share from Korea: without the rule 100%; at best 40% (QC full)
    rule = {"rule": "max_share", "items": "cells", "from": "Korea", "value": 0.9, "basis": "quantity"}
    drawn = frontier(load_workbook(workbook(rule)), "p", RULE_ROW, points=2)
    assert (drawn.start.value, drawn.end.value) == (pytest.approx(1.0), pytest.approx(0.4))
    assert drawn.table()["total_cost"].tolist() == pytest.approx([6300, 6780])


def test_frontier_json_and_workbook(workbook, monkeypatch, capsys, tmp_path):
    out = tmp_path / "frontier.xlsx"
    code, payload, _ = run_json(monkeypatch, capsys, "frontier", workbook(CAP), "--policy", "p",
                                "--rule", RULE_ROW, "--points", 3, "-o", out)
    assert code == 0
    assert set(payload) == {"rule", "policy", "start", "end", "points", "stats", "output"}
    # one model loaded for the three points; two warm re-solves, and a third past the end's cap (at the limit)
    assert payload["stats"] == {"members": 3, "fresh_loads": 1, "warm_solves": 3}
    assert (payload["rule"], payload["policy"]) == (RULE_ROW, "p")
    assert (payload["start"], payload["end"]) == (pytest.approx(8200), pytest.approx(4540))
    assert [set(p) for p in payload["points"]] == [{"value", "status", "total_cost", "marginal", "builds",
                                                    "decision_change", "shortage", "unmet", "message"}] * 3
    assert all(p["unmet"] == [] and p["shortage"] == 0 for p in payload["points"])  # hard demand here
    assert all(p["builds"] == [] and p["decision_change"] is False for p in payload["points"])
    assert [p["total_cost"] for p in payload["points"]] == pytest.approx([6300, 6540, 6780])
    assert payload["points"][0]["marginal"] == pytest.approx(8 / 61)
    assert payload["points"][-1]["marginal"] == "at the limit"
    book = open_workbook(out)
    assert book.sheetnames[:2] == ["Summary", "Frontier"]
    sheet = book["Frontier"]
    assert [c.value for c in sheet[1]][:4] == ["co2_cap value", "status", "total cost (discounted)",
                                               "change from the start (discounted)"]
    assert [sheet.cell(r, 3).value for r in range(2, 5)] == pytest.approx([6300, 6540, 6780])
    assert len(sheet._charts) == 1
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=2)}
    assert summary["End: value"] == "4,540" and summary["Cost from start to end (discounted)"] == pytest.approx(480)


def test_frontier_table_names_both_ends(workbook, monkeypatch, capsys, tmp_path):
    code, out, _ = run(monkeypatch, capsys, "frontier", workbook(LOCAL), "--policy", "p", "--rule", RULE_ROW,
                       "--points", 2, "-o", tmp_path / "f.xlsx")
    assert code == 0
    text = " ".join(out.split())
    assert "Start 0.00%:" in text and "End 60.00%:" in text and "total cost 6,780.00 (discounted)" in text
    assert "at the limit" in text


@pytest.mark.parametrize(("rule", "extra", "message"), [
    (LOCAL, ["--rule", 3], "has no rule on Policies row 3 (its rules are on rows: 2)"),
    ({"rule": "exclude", "from": "Korea"}, ["--rule", RULE_ROW], "is a exclude rule"),
    ({**CAP, "basis": "per_unit"}, ["--rule", RULE_ROW], "is a co2_cap (per_unit) rule"),
    (LOCAL, ["--rule", RULE_ROW, "--points", 1], "--points must be a whole number from 2 to 1000"),
    (LOCAL, ["--rule", RULE_ROW, "--policy", "nope"], "no policy set named 'nope'"),
])
def test_requests_that_cannot_have_a_frontier_exit_2(workbook, monkeypatch, capsys, tmp_path, rule, extra, message):
    args = ["frontier", workbook(rule), "--policy", "p", *extra, "-o", tmp_path / "f.xlsx"]
    if "--policy" in extra:
        args[2:4] = []
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 2
    assert message in " ".join(err.split())
    assert not (tmp_path / "f.xlsx").exists()


def test_a_policy_set_without_a_plan_even_without_the_row_exits_1(workbook, monkeypatch, capsys, tmp_path):
    # Korea excluded and QC can make only 60 of 100: no plan, with or without the cap
    code, _, err = run(monkeypatch, capsys, "frontier", workbook(CAP, {"rule": "exclude", "from": "Korea"}),
                       "--policy", "p", "--rule", RULE_ROW, "-o", tmp_path / "f.xlsx")
    assert code == 1 and "has no plan even without Policies row 2" in err


def test_the_condition_of_a_threshold_credit_has_no_frontier(make_workbook):
    rules = [LOCAL, {"rule": "threshold_credit", "items": "cells", "to": "P", "value": 1, "requires": RULE_ROW}]
    network = load_workbook(make_workbook(**{**SHEETS, "Policies": policies(*rules)}))
    with pytest.raises(FrontierError, match="condition of the threshold credit"):
        frontier(network, "p", RULE_ROW)
