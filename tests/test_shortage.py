"""Contract v4, part 1: demand that may go unmet (Demand shortage_cost), Sites recovery_weeks and Settings
period_weeks, each case worked out by hand."""

from __future__ import annotations

import openpyxl
import pytest
from cli_run import flat, run, run_json
from plan_check import PlanCheck

from optimizer import load_workbook, solve

US = "United States"


def two_suppliers(shortage_cost=None, periods=None, **demand):
    """P demands 5 GWh of cells a period; S1 sells 3 at 5, S2 any amount at 10 (no freight)."""
    row = {"site": "P", "item": "cells", "quantity": 5, "shortage_cost": shortage_cost, **demand}
    sheets = dict(
        Sites=[{"site": s, "country": US} for s in ("S1", "S2", "P")], Items=[{"item": "cells", "unit": "GWh"}],
        Supply=[{"site": "S1", "item": "cells", "capacity": 3, "unit_cost": 5},
                {"site": "S2", "item": "cells", "unit_cost": 10}],
        Demand=[row], Lanes=[{"origin": "S1", "destination": "P"}, {"origin": "S2", "destination": "P"}],
        Settings=[{"key": "currency", "value": "USD M"}])
    if periods:
        sheets["Periods"] = periods
    return sheets


def test_soft_demand_is_served_when_its_shortage_cost_is_above_every_suppliers(make_workbook, monkeypatch, capsys,
                                                                               tmp_path):
    # 3 from S1 at 5 and 2 from S2 at 10 (35) cost less than leaving 2 unmet at 12 (15 + 24 = 39).
    path = make_workbook(**two_suppliers(shortage_cost=12))
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 0
    assert payload["total_cost"] == pytest.approx(35.0)
    assert payload["costs"]["shortage"] == 0.0
    assert payload["unmet"] == []


def test_soft_demand_goes_unmet_where_its_shortage_cost_is_below_a_suppliers(make_workbook, monkeypatch, capsys,
                                                                            tmp_path):
    # A shortage cost of 8 lies between S1's 5 and S2's 10: 3 from S1 (15), 2 left unmet (16) = 31.
    path = make_workbook(**two_suppliers(shortage_cost=8))
    output = tmp_path / "plan.xlsx"
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", output)
    assert code == 0
    assert payload["total_cost"] == pytest.approx(31.0)
    assert payload["costs"]["supply"] == pytest.approx(15.0) and payload["costs"]["shortage"] == pytest.approx(16.0)
    assert payload["unmet"] == [{"site": "P", "item": "cells", "period": "all", "quantity": pytest.approx(2.0),
                                 "cost": pytest.approx(16.0)}]
    code, out, _ = run(monkeypatch, capsys, "solve", path, "-o", output)
    assert "Left unmet: 2 of the 5 GWh of cells demanded at P (Demand row 2), shortage cost 16.00" in flat(out)
    wb = openpyxl.load_workbook(output)
    shortage = [list(r) for r in wb["Shortage"].iter_rows(values_only=True)]
    assert shortage == [["site", "item", "period", "demand (GWh)", "delivered (GWh)", "unmet (GWh)",
                         "shortage cost per unit (USD M per GWh, nominal)", "shortage cost (USD M, nominal)", "source"],
                        ["P", "cells", "all", 5, 3, 2, 8, 16, "Demand row 2"]]
    overview = {r[1]: r[3] for r in wb["Overview"].iter_rows(values_only=True)}
    fact = ("Unmet: 2 of the 5 GWh of cells demanded at P (Demand row 2) left unmet, at a shortage cost of 16.00 "
            "USD M (nominal)")
    assert overview[fact] == "Shortage!F2"
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True)}
    assert summary["Shortage cost (USD M, discounted)"] == 16 and summary["Demand left unmet (GWh)"] == 2


def test_the_shortage_cost_is_discounted_like_every_cost_of_its_period(solve_sheets):
    # Two periods, the second at 0.9: 2 unmet in each, 16 nominal a period; discounted 16 + 14.4.
    result = solve_sheets(**two_suppliers(shortage_cost=8, periods=[{"period": "2026"},
                                                                    {"period": "2027", "discount_factor": 0.9}]))
    assert result.costs["shortage"] == pytest.approx(16 + 14.4)
    assert result.nominal_total == pytest.approx(2 * 31.0)
    assert list(result.costs_by_period["shortage"]) == pytest.approx([16.0, 16.0])


def test_a_row_without_a_shortage_cost_stays_a_hard_requirement(make_workbook, monkeypatch, capsys, tmp_path):
    # S2 capped at 1: 4 of the 5 can be delivered; a hard row has no plan, a soft one leaves 1 unmet.
    sheets = two_suppliers()
    sheets["Supply"][1]["capacity"] = 1
    code, payload, _ = run_json(monkeypatch, capsys, "solve", make_workbook(**sheets), "-o", tmp_path / "a.xlsx")
    assert code == 1 and payload["status"] == "infeasible"
    sheets["Demand"][0]["shortage_cost"] = 100
    code, payload, _ = run_json(monkeypatch, capsys, "solve", make_workbook(**sheets), "-o", tmp_path / "b.xlsx")
    assert code == 0
    assert payload["total_cost"] == pytest.approx(15 + 10 + 100)
    assert payload["unmet"][0]["quantity"] == pytest.approx(1.0)


def test_the_plan_checker_recomputes_unmet_quantities_and_the_shortage_cost(solve_sheets):
    result = solve_sheets(**two_suppliers(shortage_cost=8))
    PlanCheck(result).check()
    wrong_cost = result.costs.copy()
    wrong_cost["shortage"] += 1.0
    result.costs, right = wrong_cost, result.costs
    with pytest.raises(AssertionError, match="cost part shortage"):
        PlanCheck(result).check()
    result.costs = right
    result.unmet = result.unmet.assign(unmet=1.0, delivered=4.0, cost=8.0)  # one less unmet than the flows leave
    with pytest.raises(AssertionError, match="balance"):
        PlanCheck(result).check()


def test_a_hard_row_left_unmet_fails_the_plan_checker(solve_sheets):
    result = solve_sheets(**two_suppliers(shortage_cost=8))
    # The same plan read against the workbook without the shortage cost: the row may not go unmet.
    result.formulation.network.demand["shortage_cost"] = float("nan")
    with pytest.raises(AssertionError, match="without a shortage cost"):
        PlanCheck(result).check()


@pytest.mark.parametrize(("change", "unmet"), [({"multiply": 2}, None), ({"set": 8}, 2.0)])
def test_scenario_changes_on_a_blank_shortage_cost(make_workbook, change, unmet):
    # Blank means a hard requirement: multiply keeps it blank (hard, every unit from S2 at 10); set makes it 8.
    sheets = two_suppliers()
    sheets["Scenarios"] = [{"scenario": "x", "probability": 1}]
    sheets["ScenarioChanges"] = [{"scenario": "x", "sheet": "Demand", "column": "shortage_cost", **change}]
    world = load_workbook(make_workbook(**sheets)).in_scenario("x")
    result = solve(world, world.scenario_policy)
    if unmet is None:
        assert world.demand["shortage_cost"].isna().all() and result.total_cost == pytest.approx(35.0)
        assert result.unmet.empty
    else:
        assert result.unmet["unmet"].tolist() == pytest.approx([unmet])


def test_the_new_columns_and_setting_are_checked_naming_the_cell(make_workbook, monkeypatch, capsys):
    sheets = two_suppliers(shortage_cost=-3)
    sheets["Sites"][0]["recovery_weeks"] = -1
    sheets["Sites"][1]["recovery_weeks"] = "two"
    sheets["Demand"].append({"site": "P", "item": "cells", "period": "x", "quantity": 1, "shortage_cost": "lots"})
    sheets["Settings"].append({"key": "period_weeks", "value": 0})
    code, out, err = run(monkeypatch, capsys, "validate", make_workbook(**sheets))
    assert code == 2
    assert err.splitlines()[1:] == [
        "  Sites row 2, column recovery_weeks: -1: expected a number >= 0",
        "  Sites row 3, column recovery_weeks: 'two': expected a number",
        "  Demand row 2, column shortage_cost: -3: expected a number >= 0",
        "  Demand row 3, column shortage_cost: 'lots': expected a number",
        "  Settings row 3, column value: period_weeks '0': expected a number > 0"]
    sheets = two_suppliers(shortage_cost=8)
    sheets["Settings"].append({"key": "period_weeks", "value": "a year"})
    code, payload, _ = run_json(monkeypatch, capsys, "validate", make_workbook(**sheets))
    assert code == 2
    assert payload["problems"] == [{"sheet": "Settings", "row": 3, "column": "value",
                                    "message": "period_weeks 'a year': expected a number", "value": "a year"}]


def test_period_weeks_and_recovery_weeks_are_read(make_workbook):
    sheets = two_suppliers(shortage_cost=8)
    sheets["Sites"][0]["recovery_weeks"] = 13
    network = load_workbook(make_workbook(**sheets))
    assert network.period_weeks == 52.0 and network.sites["S1"].recovery_weeks == 13.0
    assert network.sites["S2"].recovery_weeks is None
    sheets["Settings"].append({"key": "Period_Weeks", "value": "4.33"})
    assert load_workbook(make_workbook(**sheets)).period_weeks == pytest.approx(4.33)


def test_a_sweep_says_where_a_rule_is_met_by_leaving_demand_unmet(make_workbook, monkeypatch, capsys, tmp_path):
    # S1 (3 at 5) and S2 (any amount at 10) serve P (5, shortage cost 12). A quantity share of S1's cells: at 50%
    # the plan stays 3 + 2 (35); at 100% only S1 may deliver, so 2 go unmet: 15 + 24 = 39. The table, the JSON
    # and the terminal say so: the rule is met partly by not delivering.
    sheets = two_suppliers(shortage_cost=12)
    sheets["Policies"] = [{"policy": "own", "rule": "min_share", "from": "S1", "value": 0.5, "basis": "quantity"}]
    path = make_workbook(**sheets)
    code, payload, _ = run_json(monkeypatch, capsys, "sweep", path, "--policy", "own", "--rule", 2,
                                "--values", "0.5,1", "-o", tmp_path / "sweep.xlsx")
    assert code == 0
    half, whole = payload["points"]
    assert (half["total_cost"], half["shortage"], half["unmet"]) == (pytest.approx(35.0), 0.0, [])
    assert whole["total_cost"] == pytest.approx(39.0) and whole["shortage"] == pytest.approx(24.0)
    assert whole["unmet"] == [{"site": "P", "item": "cells", "period": "all", "quantity": pytest.approx(2.0),
                               "cost": pytest.approx(24.0)}]
    code, out, _ = run(monkeypatch, capsys, "sweep", path, "--policy", "own", "--rule", 2, "--values", "0.5,1",
                       "-o", tmp_path / "sweep2.xlsx")
    assert "At 1: 2 GWh cells left unmet (shortage cost 24.00, discounted): the rule is met partly by not " \
           "delivering." in flat(out)


def test_a_rule_met_only_by_delivering_nothing_is_named(make_workbook, monkeypatch, capsys, tmp_path):
    # Half of P's cells must come from Mexico, where nobody sells: every delivery breaks the rule, so the plan leaves
    # all 5 GWh unmet at 30 (150). The Compliance row reads met (a share of nothing) and not binding; the rule is
    # why: the terminal, --json and the Summary name it (the new analyst's finding: "optimal, 0 binding").
    sheets = two_suppliers(shortage_cost=30)
    sheets["Sites"].append({"site": "M", "country": "Mexico"})  # a Mexican site that sells nothing
    sheets["Policies"] = [{"policy": "mx", "rule": "min_share", "items": "cells", "from": "Mexico", "value": 0.5}]
    path = make_workbook(**sheets)
    output = tmp_path / "plan.xlsx"
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "--policy", "mx", "-o", output)
    assert code == 0 and payload["total_cost"] == pytest.approx(150.0)
    warning = ("Policies row 2 (mx, min_share cells from Mexico) is met only because nothing is delivered "
               "where it applies, while demand goes unmet: the rule may be why (it reads 'met, not binding'; "
               "sourcing compare prices the policy set against baseline)")
    assert payload["warnings"][0] == warning and "100% of all demand unmet" in payload["warnings"][1]
    code, out, err = run(monkeypatch, capsys, "solve", path, "--policy", "mx", "-o", output)
    assert "0 binding" in flat(out) and f"warning: {warning}" in flat(err)
    summary = [r[1] for r in openpyxl.load_workbook(output)["Summary"].iter_rows(values_only=True) if r[0] == "Warning"]
    assert summary == payload["warnings"]
    # From the United States (S1 and S2) the rule is met by what is delivered: no warning, nothing unmet.
    sheets["Policies"][0]["from"] = "United States"
    code, payload, _ = run_json(monkeypatch, capsys, "solve", make_workbook(**sheets), "--policy", "mx", "-o", output)
    assert payload["total_cost"] == pytest.approx(35.0) and payload["warnings"] == []


def test_a_plan_that_leaves_most_demand_unmet_says_so(make_workbook, monkeypatch, capsys, tmp_path):
    # A shortage cost of 4 lies below both suppliers' 5 and 10: the plan delivers nothing (5 x 4 = 20). The new
    # analyst's BOM typed 1,000 times too large did this without a word; the plan now says it. At 8, 2 of 5 (40%)
    # go unmet: below half, no warning.
    warning = ("the plan leaves 100% of all demand unmet (5 of 5, summed over the Demand rows): not delivering is its "
               "cheapest choice; if that is not meant, check the units (a BOM quantity, a capacity or a cost off by "
               "1,000), the shortage costs and the rules")
    code, payload, _ = run_json(monkeypatch, capsys, "solve", make_workbook(**two_suppliers(shortage_cost=4)),
                                "-o", tmp_path / "plan.xlsx")
    assert payload["total_cost"] == pytest.approx(20.0) and payload["warnings"][-1] == warning
    code, payload, _ = run_json(monkeypatch, capsys, "solve", make_workbook(**two_suppliers(shortage_cost=8)),
                                "-o", tmp_path / "plan.xlsx")
    assert payload["total_cost"] == pytest.approx(31.0) and not any("of all demand unmet" in w
                                                                    for w in payload["warnings"])
