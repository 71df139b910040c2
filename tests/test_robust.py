"""Contract v3, part 2: scenarios, their changes, and one plan that holds across them, each case worked out
by hand."""

from __future__ import annotations

import pytest
from cli_run import run, run_json

from optimizer import WorkbookError, load_workbook, solve
from optimizer.robust import robust

US = "United States"


def sites(*names, country=US):
    return [{"site": n, "country": country} for n in names]


def build_or_wait(probabilities=(0.3, 0.7), scenarios=None):
    """P needs 5 cells (one period); B sells them at 10. X (capacity 20, capex 90) and Y (capacity 10, capex 45)
    make them at 4. Scenario A: demand 20; scenario B: demand 5 (as the workbook).

    Plan costs (A, B): nothing 200, 50; X 170, 110; Y 45 + 40 + 100 = 185, 45 + 20 = 65; both 135 + 80, 135 + 20.
    Wait and see: A 170 (X), B 50 (nothing)."""
    sheets = dict(
        Sites=sites("B", "S", "P"), Items=[{"item": "cells"}],
        Supply=[{"site": "B", "item": "cells", "unit_cost": 10}],
        Demand=[{"site": "P", "item": "cells", "quantity": 5}],
        Lanes=[{"origin": "B", "destination": "P"}, {"origin": "S", "destination": "P"}],
        Investments=[{"option": "X", "site": "S", "item": "cells", "capacity": 20, "unit_cost": 4, "capex": 90},
                     {"option": "Y", "site": "S", "item": "cells", "capacity": 10, "unit_cost": 4, "capex": 45}],
        Scenarios=scenarios or [{"scenario": "A", "probability": probabilities[0]},
                                {"scenario": "B", "probability": probabilities[1]}],
        ScenarioChanges=[{"scenario": "A", "sheet": "Demand", "column": "quantity", "set": 20}])
    return sheets


@pytest.fixture
def load(make_workbook):
    return lambda **sheets: load_workbook(make_workbook(**sheets))


def costs_of(plan) -> dict[str, float | None]:
    return {s: e.cost for s, e in plan.costs.items()}


@pytest.mark.heavy
def test_expected_worst_and_regret_plans_differ(load):
    # p(A) = 0.3: expected: nothing 95, Y 101, X 128 -> nothing (95); worst: X 170 < Y 185 < nothing 200 -> X;
    # regret: nothing 30, X 60 (110 - 50), Y 15 (185 - 170, 65 - 50) -> Y.
    network = load(**build_or_wait())
    expected = robust(network, "expected")
    assert expected.robust.decisions == {"X": None, "Y": None}
    assert costs_of(expected.robust) == {"A": pytest.approx(200.0), "B": pytest.approx(50.0)}
    assert expected.model.value == pytest.approx(95.0)
    # EVPI = 95 - (0.3 x 170 + 0.7 x 50) = 9; the expected plan is B's own plan: no value of hedging.
    assert expected.evpi == pytest.approx(9.0) and expected.value_of_hedging == pytest.approx(0.0)
    worst = robust(network, "worst")
    assert worst.robust.decisions == {"X": "all", "Y": None} and worst.model.value == pytest.approx(170.0)
    regret = robust(network, "regret")
    assert regret.robust.decisions == {"X": None, "Y": "all"} and regret.model.value == pytest.approx(15.0)
    assert regret.robust.figures(regret.probability(), regret.ws_costs()) == {
        "expected_cost": pytest.approx(101.0), "worst_cost": pytest.approx(185.0), "max_regret": pytest.approx(15.0)}
    # Under any objective EVPI and the value of hedging refer to the expected plan.
    assert (regret.evpi, regret.value_of_hedging) == (pytest.approx(9.0), pytest.approx(0.0))


def test_the_value_of_hedging_when_no_scenario_plan_is_best_in_expectation(load):
    # p(A) = 0.6: nothing 140, Y 111 + 26 = 137, X 102 + 44 = 146: the robust plan builds Y, which is neither
    # scenario's own plan. Value of hedging = min(146, 140) - 137 = 3; EVPI = 137 - (102 + 20) = 15.
    result = robust(load(**build_or_wait(probabilities=(0.6, 0.4))), "expected")
    assert result.robust.decisions == {"X": None, "Y": "all"}
    assert result.value_of_hedging == pytest.approx(3.0) and result.evpi == pytest.approx(15.0)
    plans = {p.name: p.figures(result.probability(), result.ws_costs())["expected_cost"] for p in result.plans}
    assert plans == {"robust": pytest.approx(137.0), "A": pytest.approx(146.0), "B": pytest.approx(140.0)}


def test_one_scenario_with_probability_one_gives_the_solve_plan(load):
    network = load(**build_or_wait(scenarios=[{"scenario": "A", "probability": 1}]))
    result = robust(network)
    alone = solve(network.in_scenario("A"), "baseline")
    assert result.robust.decisions == {"X": "all", "Y": None}
    assert costs_of(result.robust) == {"A": pytest.approx(alone.total_cost)} == {"A": pytest.approx(170.0)}
    assert result.evpi == pytest.approx(0.0)


def test_two_identical_scenarios_give_the_same_plan_as_one(load):
    sheets = build_or_wait(scenarios=[{"scenario": "A"}, {"scenario": "A2"}])
    sheets["ScenarioChanges"].append({"scenario": "A2", "sheet": "Demand", "column": "quantity", "set": 20})
    result = robust(load(**sheets))
    assert result.robust.decisions == {"X": "all", "Y": None}
    assert result.model.value == pytest.approx(170.0) and result.evpi == pytest.approx(0.0)


def test_blank_probabilities_share_what_the_given_ones_leave(load):
    three = [{"scenario": "A", "probability": 0.5}, {"scenario": "B"}, {"scenario": "C"}]
    network = load(**build_or_wait(scenarios=three))
    assert {s.name: s.probability for s in network.scenarios.values()} == {"A": 0.5, "B": 0.25, "C": 0.25}
    network = load(**build_or_wait(scenarios=[{"scenario": "A"}, {"scenario": "B"}]))
    assert [s.probability for s in network.scenarios.values()] == [0.5, 0.5]
    full = [{"scenario": "A", "probability": 0.4}, {"scenario": "B", "probability": 0.6}, {"scenario": "C"}]
    assert [s.probability for s in load(**build_or_wait(scenarios=full)).scenarios.values()] == [0.4, 0.6, 0.0]


def test_without_investments_each_scenario_keeps_its_own_plan(load):
    sheets = build_or_wait()
    del sheets["Investments"]
    result = robust(load(**sheets))
    assert result.evpi == 0.0 and "nothing is decided up front" in result.message
    assert costs_of(result.robust) == {"A": pytest.approx(200.0), "B": pytest.approx(50.0)}


def test_a_scenario_without_any_plan_is_exit_1_with_its_diagnosis(make_workbook, tmp_path, monkeypatch, capsys):
    sheets = build_or_wait()
    sheets["Supply"][0]["capacity"] = 10
    sheets["ScenarioChanges"].append({"scenario": "A", "sheet": "Demand", "column": "quantity", "add": 30})
    code, payload, _ = run_json(monkeypatch, capsys, "robust", make_workbook(**sheets), "-o", tmp_path / "r.xlsx")
    assert code == 1 and payload["status"] == "infeasible"
    assert "scenario 'A'" in payload["message"] and payload["diagnosis"][0]["sheet"] == "Demand"


def test_robust_cli_json_and_workbook(make_workbook, tmp_path, monkeypatch, capsys):
    import openpyxl

    path = make_workbook(**build_or_wait())
    code, payload, _ = run_json(monkeypatch, capsys, "robust", path, "-o", tmp_path / "r.xlsx", "--objective",
                                "regret")
    assert code == 0
    assert (payload["objective"], payload["objective_value"]) == ("regret", pytest.approx(15.0))
    assert (payload["evpi"], payload["value_of_hedging"]) == (pytest.approx(9.0), pytest.approx(0.0))
    assert payload["scenarios"] == [
        {"scenario": "A", "probability": 0.3, "policy": "baseline", "wait_and_see_cost": pytest.approx(170.0),
         "robust_cost": pytest.approx(185.0), "regret": pytest.approx(15.0)},
        {"scenario": "B", "probability": 0.7, "policy": "baseline", "wait_and_see_cost": pytest.approx(50.0),
         "robust_cost": pytest.approx(65.0), "regret": pytest.approx(15.0)}]
    assert [p["plan"] for p in payload["plans"]] == ["robust", "A", "B"]
    assert payload["plans"][0]["decisions"] == {"X": None, "Y": "all"}
    assert payload["plans"][1]["costs"] == {"A": pytest.approx(170.0), "B": pytest.approx(110.0)}
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["Overview", "Summary", "Scenarios", "Decisions", "Plans x scenarios", "Regret", "Flows",
                             "Flows detail", "Utilization", "Compliance"]
    flows = list(wb["Flows"].iter_rows(values_only=True))
    assert flows[0][0] == "scenario" and {r[0] for r in flows[1:]} == {"A", "B"}


def overview(tmp_path, network, objective) -> list[tuple]:
    """The robust workbook's Overview: (section, item, value) per line, the workbook line left out."""
    import openpyxl

    from optimizer.writing.robust import write_robust

    wb = openpyxl.load_workbook(write_robust(robust(network, objective), tmp_path / f"{objective}.xlsx"))
    assert wb.sheetnames[0] == "Overview" and wb["Overview"]._charts  # the regret chart (tests/test_charts.py)
    return [row[:3] for row in wb["Overview"].iter_rows(min_row=3, values_only=True)]


def test_the_robust_overview_says_what_to_build_how_it_fares_and_what_hedging_is_worth(load, tmp_path):
    """Built from the hand-worked figures above (p(A) = 0.3): the expected plan builds nothing, costs 200 in A
    (regret 30: X would cost 170) and 50 in B; EVPI 9, and B's own plan does as well. Under worst the plan builds
    X: 170 in A, the least any plan costs there, so A alone sets it."""
    network = load(**build_or_wait())
    question = [("question", "2 scenarios, each with its probability", "A (30%), B (70%)")]
    assert overview(tmp_path, network, "expected") == [*question, (
        "question", "the plan minimises", "expected cost (sum over scenarios of probability x cost)"),
        ("answer", "status", "optimal"),
        ("decision", "Do not build X (cells at S) in any scenario", None),
        ("decision", "Do not build Y (cells at S) in any scenario", None),
        ("scenarios", "A (30%): the plan costs 200.00, regret 30.00 (discounted)", 200),
        ("scenarios", "B (70%): the plan costs 50.00, regret 0.00 (discounted)", 50),
        ("scenarios", "Worst case: A, where the plan costs 200.00 (discounted)", 200),
        ("scenarios", "Largest regret: 30.00 (discounted) in A: what the plan costs there beyond the best plan for A "
                      "alone", 30),
        ("worth", "EVPI 9.00 (discounted): what knowing the scenario before deciding would save, in expectation", 9),
        ("worth", "Value of hedging 0.00 (discounted): the plan made for B alone does as well in expectation; "
                  "hedging adds nothing here", 0)]
    worst = overview(tmp_path, network, "worst")
    assert worst[3:5] == [
        ("decision", "Build X (cells at S), in every scenario: a commitment made now, before the scenario is known",
         "all"),
        ("decision", "Do not build Y (cells at S) in any scenario", None)]
    assert worst[7:10] == [
        ("scenarios", "Worst case: A, where the plan costs 170.00 (discounted)", 170),
        ("scenarios", "Largest regret: 60.00 (discounted) in B: what the plan costs there beyond the best plan for B "
                      "alone", 60),
        ("scenarios", "One scenario alone sets this plan: A. Under the worst-case objective only the most expensive "
                      "scenario counts, and no plan costs less than 170.00 (discounted) in A; this plan costs that "
                      "there, so the other scenarios only had to stay below it.", 170)]
    assert worst[10][1].startswith("EVPI 9.00 (discounted) for the expected-cost plan, whatever the objective:")
    # Under regret the plan (Y) costs 185 in A, more than A's 170: no scenario alone sets it.
    assert not any(line[1].startswith("One scenario alone") for line in overview(tmp_path, network, "regret"))


def test_the_robust_summary_shows_every_cost_in_one_format(load, tmp_path):
    """The objective value printed as 95.000 beside the expected cost's 95.00, the value of hedging as 0: every
    cost of the Summary (they are all discounted, and say so) is money, two decimals."""
    import openpyxl

    from optimizer.writing.robust import write_robust

    path = write_robust(robust(load(**build_or_wait()), "expected"), tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Summary"]
    rows = {label.value: value for label, value in ws.iter_rows(min_row=2, max_col=2)}
    money = {label: (cell.value, cell.number_format) for label, cell in rows.items() if label.endswith("(discounted)")}
    assert money == {"Objective value (discounted)": (95, "#,##0.00"),
                     "Robust plan: expected cost (discounted)": (95, "#,##0.00"),
                     "Robust plan: worst-case cost (discounted)": (200, "#,##0.00"),
                     "Robust plan: maximum regret (discounted)": (30, "#,##0.00"),
                     "EVPI (expected value of perfect information) (discounted)": (9, "#,##0.00"),
                     "Value of hedging (discounted)": (0, "#,##0.00")}


def test_the_robust_overview_states_a_value_of_hedging_above_zero(load, tmp_path):
    # p(A) = 0.6: the robust plan builds Y (137 expected) where B's own plan, the best single one, costs 140.
    lines = overview(tmp_path, load(**build_or_wait(probabilities=(0.6, 0.4))), "expected")
    assert lines[3] == ("decision", "Build Y (cells at S), in every scenario: a commitment made now, before the "
                                    "scenario is known", "all")
    assert lines[-1] == ("worth", "Value of hedging 3.00 (discounted): in expectation the robust plan saves that much "
                                  "over the best plan made for one scenario alone (B's)", 3)


def test_solve_one_scenario_and_refuse_it_with_a_policy(make_workbook, tmp_path, monkeypatch, capsys):
    path = make_workbook(**build_or_wait())
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "--scenario", "a", "-o", tmp_path / "a.xlsx")
    assert code == 0 and payload["total_cost"] == pytest.approx(170.0)
    code, out, err = run(monkeypatch, capsys, "solve", path, "--scenario", "A", "--policy", "baseline")
    assert code == 2 and "cannot be combined" in err


# ------------------------------------------------------------------ changes


def changes_case(*changes):
    """Two periods; A (Supply blank-period row 2, capacity blank) and C (row 3, capacity 8) in the US; lanes
    A -> P (item row, cost 1) and C -> P (blank item, cost 2, capacity 30); an option O at C; stock at P."""
    return dict(
        Sites=sites("A", "C", "P"), Items=[{"item": "cells", "category": "battery"}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 10}, {"site": "C", "item": "cells", "unit_cost": 12,
                                                                   "capacity": 8}],
        Demand=[{"site": "P", "item": "cells", "quantity": 5}],
        Lanes=[{"origin": "A", "destination": "P", "item": "cells", "unit_cost": 1},
               {"origin": "C", "destination": "P", "unit_cost": 2, "capacity": 30}],
        Investments=[{"option": "O", "site": "C", "item": "cells", "capacity": 5, "capex": 50, "lead_time": 0}],
        Inventory=[{"site": "P", "item": "cells", "holding_cost": 1, "capacity": 4}],
        Periods=[{"period": 2027}, {"period": 2028}],
        Scenarios=[{"scenario": "S"}],
        ScenarioChanges=[{"scenario": "S", **c} for c in changes])


def values(network, sheet, column, **match):
    table = getattr(network, sheet)
    for key, value in match.items():
        table = table[table[key] == value]
    return table[column].tolist()


@pytest.mark.parametrize(("change", "sheet", "column", "match", "expected"), [
    # multiply / add / set on a blank-period row, in every period or only the one named
    ({"sheet": "Supply", "column": "unit_cost", "site": "A", "multiply": 1.5}, "supply", "unit_cost",
     {"site": "A"}, [15.0, 15.0]),
    ({"sheet": "Supply", "column": "unit_cost", "item": "battery", "period": 2028, "add": 2}, "supply", "unit_cost",
     {"site": "C"}, [12.0, 14.0]),
    ({"sheet": "Supply", "column": "capacity", "site": "C", "set": 3}, "supply", "capacity", {"site": "C"}, [3.0, 3.0]),
    # a blank (unlimited) capacity stays unlimited under multiply and add, set makes it finite
    ({"sheet": "Supply", "column": "capacity", "site": "A", "multiply": 2}, "supply", "capacity", {"site": "A"},
     [None, None]),
    ({"sheet": "Supply", "column": "capacity", "site": "A", "set": 7}, "supply", "capacity", {"site": "A"},
     [7.0, 7.0]),
    ({"sheet": "Demand", "column": "quantity", "site": "P", "period": 2027, "set": 9}, "demand", "quantity", {},
     [9.0, 5.0]),
    # Lanes: origin / destination; an item change matches item rows only; a blank item matches every row
    ({"sheet": "Lanes", "column": "unit_cost", "item": "cells", "add": 1}, "lanes", "unit_cost", {},
     [2.0, 2.0]),
    ({"sheet": "Lanes", "column": "unit_cost", "origin": "C", "add": 1}, "lanes", "unit_cost", {"origin": "C"},
     [3.0]),
    ({"sheet": "Lanes", "column": "capacity", "destination": "P", "period": 2028, "set": 10}, "lanes", "capacity",
     {"origin": "C"}, [30.0, 10.0]),
    # Investments: option, capex per build period, lead time
    ({"sheet": "Investments", "column": "capex", "option": "O", "period": 2028, "multiply": 0.5}, "investments",
     "capex", {}, [50.0, 25.0]),
    ({"sheet": "Investments", "column": "lead_time", "site": "C", "add": 1}, "investments", "lead_time", {},
     [1.0, 1.0]),
    ({"sheet": "Inventory", "column": "holding_cost", "site": "P", "set": 3}, "inventory", "holding_cost", {},
     [3.0, 3.0]),
])
def test_every_change_operation_and_match_column(load, change, sheet, column, match, expected):
    network = load(**changes_case(change)).in_scenario("S")
    got = values(network, sheet, column, **match)
    assert [None if v != v else v for v in got] == expected


def test_changes_apply_in_sheet_order_and_a_scenario_solves_with_them(load):
    network = load(**changes_case({"sheet": "Supply", "column": "unit_cost", "site": "A", "add": 1},
                                  {"sheet": "Supply", "column": "unit_cost", "site": "A", "multiply": 2}))
    assert values(network.in_scenario("S"), "supply", "unit_cost", site="A") == [22.0, 22.0]  # (10 + 1) x 2
    # A at 22 + 1 transport vs C at 12 + 2: C delivers its 5 each period: 2 x 5 x 14 = 140.
    assert solve(network.in_scenario("S")).total_cost == pytest.approx(140.0)


def problems(make_workbook, *changes, scenarios=None):
    sheets = changes_case(*changes)
    if scenarios is not None:
        sheets["Scenarios"] = scenarios
    with pytest.raises(WorkbookError) as caught:
        load_workbook(make_workbook(**sheets))
    return {(p.sheet, p.row, p.column) for p in caught.value.problems}


def test_invalid_scenarios_and_changes_name_their_cells(make_workbook):
    valid = {"sheet": "Supply", "column": "unit_cost", "site": "A", "add": 1}
    assert problems(make_workbook, valid, scenarios=[{"scenario": "S", "probability": 0.5},
                                                     {"scenario": "s", "probability": 0.5},
                                                     {"scenario": "T", "probability": 0.2, "policy": "nope"}]) == {
        ("Scenarios", 3, "scenario"), ("Scenarios", 4, "policy"), ("Scenarios", None, "probability")}
    assert problems(make_workbook,
                    {"sheet": "BOM", "column": "quantity", "set": 1},                                  # row 2
                    {"sheet": "Supply", "column": "quantity", "set": 1},                               # row 3
                    {"sheet": "Supply", "column": "unit_cost", "origin": "A", "set": 1},               # row 4
                    {"sheet": "Supply", "column": "unit_cost", "multiply": 2, "add": 1},               # row 5
                    {"sheet": "Investments", "column": "earliest", "set": 2028},                       # row 6
                    {"sheet": "Investments", "column": "capex", "option": "Z", "set": 1},              # row 7
                    {"sheet": "Supply", "column": "unit_cost", "site": "Nowhere", "set": 1},           # row 8
                    {"sheet": "Supply", "column": "unit_cost", "multiply": -1},                        # row 9
                    ) == {("ScenarioChanges", 2, "sheet"), ("ScenarioChanges", 3, "column"),
                          ("ScenarioChanges", 4, "origin"), ("ScenarioChanges", 5, "add"),
                          ("ScenarioChanges", 6, "column"), ("ScenarioChanges", 7, "option"),
                          ("ScenarioChanges", 8, "site"), ("ScenarioChanges", 9, "multiply")}


def test_a_change_breaking_its_column_or_matching_nothing_names_the_change_row(make_workbook):
    assert problems(make_workbook,
                    {"sheet": "Supply", "column": "unit_cost", "site": "A", "add": -20},                # row 2
                    {"sheet": "Supply", "column": "unit_cost", "site": "P", "set": 1},                  # row 3
                    {"sheet": "Investments", "column": "unit_cost", "set": 3},                          # row 4
                    {"sheet": "Investments", "column": "lead_time", "add": 0.5},                        # row 5
                    ) == {("ScenarioChanges", 2, "add"), ("ScenarioChanges", 3, "site"),
                          ("ScenarioChanges", 4, "column"), ("ScenarioChanges", 5, "add")}


def test_invalid_scenario_rows_exit_2_naming_the_cell(make_workbook, monkeypatch, capsys):
    sheets = changes_case({"sheet": "Lanes", "column": "unit_cost", "site": "A", "set": 1})
    code, out, err = run(monkeypatch, capsys, "validate", make_workbook(**sheets))
    assert code == 2 and "ScenarioChanges row 2, column site: site does not apply to Lanes" in err


def test_without_investments_the_objective_value_is_the_objective_asked_for(load, make_workbook, monkeypatch,
                                                                             capsys, tmp_path):
    # One supplier at 1 per cell; demand 2000 / 2400 / 2120 in the three scenarios (p 0.5 / 0.25 / 0.25), no
    # Investments: each scenario keeps its own plan. Expected 1000 + 600 + 530 = 2130; worst 2400; regret 0.
    sheets = dict(
        Sites=sites("B", "P"), Items=[{"item": "cells"}],
        Supply=[{"site": "B", "item": "cells", "unit_cost": 1}],
        Demand=[{"site": "P", "item": "cells", "quantity": 2000}], Lanes=[{"origin": "B", "destination": "P"}],
        Scenarios=[{"scenario": "base", "probability": 0.5}, {"scenario": "high", "probability": 0.25},
                   {"scenario": "mid", "probability": 0.25}],
        ScenarioChanges=[{"scenario": "high", "sheet": "Demand", "column": "quantity", "set": 2400},
                         {"scenario": "mid", "sheet": "Demand", "column": "quantity", "set": 2120}])
    network = load(**sheets)
    expected = {"expected": 2130.0, "worst": 2400.0, "regret": 0.0}
    for objective, value in expected.items():
        assert robust(network, objective).objective_value == pytest.approx(value, abs=1e-9), objective
    path = make_workbook(**sheets)
    code, payload, _ = run_json(monkeypatch, capsys, "robust", path, "--objective", "worst",
                                "-o", tmp_path / "worst.xlsx")
    assert code == 0 and payload["objective_value"] == pytest.approx(2400.0)


def test_a_scenario_plan_names_its_scenario_everywhere(make_workbook, tmp_path, monkeypatch, capsys):
    # Scenario A raises demand to 20: its plan must say so on the terminal, in --json, on the Summary and the
    # Overview (a printout of it must not pass for the plain policy set's plan). A probable mistake in the
    # workbook (a tariff of 250%) travels with the plan too.
    import openpyxl

    sheets = build_or_wait()
    sheets["Tariffs"] = [{"origin": "United States", "rate": 2.5}]
    path = make_workbook(**sheets)
    code, out, _ = run(monkeypatch, capsys, "solve", path, "--scenario", "A", "-o", tmp_path / "a.xlsx")
    assert code == 0 and "Policy set baseline in scenario A: optimal" in out
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "--scenario", "A", "-o", tmp_path / "a.xlsx")
    assert payload["scenario"] == "A" and payload["policy"] == "baseline"
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Scenario"] == "A"
    assert summary["Warning"].startswith("Tariffs row 2, column rate: 2.5 is a rate of 250%")
    overview = [row for row in wb["Overview"].iter_rows(min_row=2, values_only=True)]
    assert ("question", "scenario (its changes applied)", "A") in [row[:3] for row in overview]
    assert [row[:3] for row in overview if row[1] == "warning about the workbook"] == [
        ("question", "warning about the workbook", summary["Warning"])]
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "base.xlsx")
    assert payload["scenario"] is None
