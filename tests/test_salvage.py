"""No end-of-horizon bias (issue 22, point 12): ``Investments.life`` and the salvage value. An option with a life is
charged its capex less what is left of its life after the last period: capex x (life - periods in use) / life, at
least 0, credited in the last period at that period's discount factor. Every figure is worked out by hand in the
comments; every plan goes through the residual checker (tests/conftest.py), which recomputes the salvage part
from the contract."""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import flat, run, run_json
from networks import network, sites

from optimizer import solve


def hand_case(life=None, discount=(1.0, 1.0), **option) -> dict:
    """The issue's hand case: P needs 100 cells in each of two periods; B sells them at 10 (2,000 in all); option O
    at S makes up to 100 a period at 5 for capex 1,200."""
    terms = {"option": "O", "site": "S", "item": "cells", "capacity": 100, "unit_cost": 5, "capex": 1200, **option}
    if life is not None:
        terms["life"] = life
    return dict(
        Sites=sites("B", "S", "P"), Items=[{"item": "cells"}],
        Supply=[{"site": "B", "item": "cells", "unit_cost": 10}],
        Demand=[{"site": "P", "item": "cells", "quantity": 100}],
        Lanes=[{"origin": "B", "destination": "P"}, {"origin": "S", "destination": "P"}],
        Investments=[terms],
        Periods=[{"period": p, "discount_factor": d} for p, d in zip((1, 2), discount, strict=True)])


def option_row(result, option="O"):
    return result.investments.set_index("option").loc[option]


def test_the_issues_hand_case_without_and_with_a_life():
    # Without a life building costs 1,200 + 2 x 500 = 2,200 > 2,000: the plan buys, and no salvage part shows.
    without = solve(network(**hand_case()))
    assert without.total_cost == 2000.0 and not bool(option_row(without)["built"])
    assert "Salvage value" not in set(without.summary["field"])
    assert not [entry for entry in without.formulation.ledger if entry[3] == "salvage"]
    # Life 10, built in period 1, in use 2 periods: 1,200 x 8 / 10 = 960 comes back; 1,200 - 960 + 1,000 = 1,240.
    result = solve(network(**hand_case(life=10)))
    assert result.total_cost == 1240.0 and result.nominal_total == 1240.0
    row = option_row(result)
    assert (bool(row["built"]), row["build_period"], row["capex"], row["life"], row["salvage"]) == (
        True, "1", 1200.0, 10, 960.0)
    assert (result.costs["capex"], result.costs["salvage"], result.costs["supply"]) == (1200.0, -960.0, 1000.0)
    by_period = result.costs_by_period.set_index("period")
    assert by_period["capex"].tolist() == [1200.0, 0.0] and by_period["salvage"].tolist() == [0.0, -960.0]
    summary = dict(zip(result.summary["field"], result.summary["value"], strict=True))
    assert (summary["Capex"], summary["Salvage value"]) == (1200.0, -960.0)


def test_the_salvage_value_is_discounted_by_the_last_periods_factor():
    # Period 2 at 0.5, O built in period 1 only. Built: 1,200 - 0.5 x 960 = 720 of capex, supply 500 + 0.5 x 500 =
    # 750: 1,470, less than buying (1,000 + 500 = 1,500). At the build period's factor the salvage would give 990.
    result = solve(network(**hand_case(life=10, discount=(1.0, 0.5), latest=1)))
    assert result.total_cost == 1470.0 and result.nominal_total == 1240.0
    assert (result.costs["capex"], result.costs["salvage"]) == (1200.0, -480.0)
    assert result.costs_by_period.set_index("period").loc["2", "salvage"] == -960.0


def test_a_divisible_option_is_credited_the_salvage_of_the_fraction_built():
    # B sells at most 40 a period at 6, C any amount at 20. O (life 10, divisible) costs 240 net per whole option:
    # a fraction y replaces C's 60 units first (saving 2 x 15 x 100 = 3,000 per unit of y), then B's (2 x 1 x 100 =
    # 200 < 240). So y = 0.6: capex 720, salvage -576, 2 x 60 x 5 + 2 x 40 x 6 = 1,080: 1,224, an LP.
    sheets = hand_case(life=10, divisible=True)
    sheets["Sites"] = sites("B", "C", "S", "P")
    sheets["Supply"] = [{"site": "B", "item": "cells", "unit_cost": 6, "capacity": 40},
                        {"site": "C", "item": "cells", "unit_cost": 20}]
    sheets["Lanes"] = [{"origin": o, "destination": "P"} for o in "BCS"]
    result = solve(network(**sheets))
    assert not result.formulation.is_mip
    assert result.total_cost == pytest.approx(1224.0, abs=1e-9)
    assert option_row(result)["built"] == pytest.approx(0.6, abs=1e-12)
    assert result.costs["capex"] == pytest.approx(720.0, abs=1e-9)
    assert result.costs["salvage"] == pytest.approx(-576.0, abs=1e-9)
    # The Investments row shows the whole option's terms, as for capex: the fraction built scales both.
    assert (option_row(result)["capex"], option_row(result)["salvage"]) == (1200.0, 960.0)


def test_an_option_available_only_after_the_horizon_keeps_its_whole_value():
    # Built in the last period with a lead time of 1: in use in no period of the horizon, so all its life is left:
    # salvage = 1,200 x (10 - 0) / 10, the whole capex, credited in that same period. The plan pays nothing for it
    # and buys as before: 2,000. With an earlier build (period 1, lead time 1: one period in use) 1,080 comes back.
    sheets = hand_case(life=10, lead_time=1)
    result = solve(network(**sheets), builds={"O": "2"})
    row = option_row(result)
    assert (row["build_period"], row["available_from"], row["salvage"]) == ("2", None, 1200.0)
    assert (result.total_cost, result.costs["capex"], result.costs["salvage"]) == (2000.0, 1200.0, -1200.0)
    early = solve(network(**sheets), builds={"O": "1"})
    # 1,200 - 1,080 + 1,000 (period 1 bought) + 500 (period 2 made on O) = 1,620
    assert (early.total_cost, early.costs["salvage"]) == (1620.0, -1080.0)


def test_a_life_no_longer_than_the_periods_in_use_leaves_no_salvage():
    # Life 2 over two periods in use: nothing left, max(0, 2 - 2) = 0: the whole capex is charged, as without life,
    # so the plan buys (2,000); built anyway it costs 1,200 + 1,000.
    world = network(**hand_case(life=2))
    assert solve(world).total_cost == 2000.0
    built = solve(world, builds={"O": "1"})
    assert (built.total_cost, built.costs["salvage"], option_row(built)["salvage"]) == (2200.0, 0.0, 0.0)


def test_the_break_even_capex_counts_the_salvage_value():
    # Period 2 at 0.5, life 10, capex 6,000: the plan buys, 1,500. A unit of capex built in 1 costs
    # 1 - 0.5 x 0.8 = 0.6 and saves 500 + 250 = 750: up to 1,250; built in 2 it costs 0.5 - 0.5 x 0.9 = 0.05 and
    # saves 0.5 x 500 = 250: up to 5,000. The break-even capex is the larger, 5,000 (750 without the life).
    from optimizer.valuation import option_values

    for life, expected in ((10, 5000.0), (None, 750.0)):
        world = network(**hand_case(life=life, discount=(1.0, 0.5), capex=6000))
        result = solve(world)
        assert result.total_cost == 1500.0 and not bool(option_row(result)["built"])
        [value] = option_values(world, result)
        assert value.break_even_capex == pytest.approx(expected, rel=1e-12), life
        assert value.note == ""
    # At 5,000 the plan building it in period 2 costs exactly what the plan costs: 1,000 + 0.5 x (5,000 - 4,500
    # + 500) = 1,500.
    at_break_even = solve(network(**hand_case(life=10, discount=(1.0, 0.5), capex=5000)), builds={"O": "2"})
    assert at_break_even.total_cost == pytest.approx(1500.0, abs=1e-9)


def test_a_capex_edit_recomputes_the_salvage_like_a_fresh_build():
    # The session's Capex edit (option values, families) and a cold build of the changed workbook are one model.
    from optimizer.edits import Capex
    from optimizer.formulation import build_formulation

    world = network(**hand_case(life=10, discount=(1.0, 0.5), lead_time=1))
    base = build_formulation(world, world.policy("baseline"))
    edit = Capex((("O", 2500.0),))
    edited = edit.applied(base)
    cold = build_formulation(*edit.on_network(world, world.policy("baseline")))
    assert np.array_equal(edited.objective, cold.objective)
    salvage = {part: nominal.tolist() for name, column, period, part, nominal in edited.ledger if name == "build"}
    # built in 1 (available 2, one period in use): 2,500 x 0.9; built in 2 (never in use): the whole 2,500
    assert salvage["salvage"] == [-2250.0, -2500.0] and salvage["capex"] == [2500.0, 2500.0]


def test_a_scenario_may_change_the_life():
    # Scenario S sets the life to 10: the plan of the hand case builds (1,240); multiplying a blank life leaves it
    # blank (no salvage: 2,000). U gives a life of 10 to the plant built in period 2 only: built in 1 it would cost
    # 1,200 + 1,000; built in 2 (one period in use) 1,200 - 1,080 + 1,000 + 500 = 1,620.
    sheets = hand_case()
    sheets["Scenarios"] = [{"scenario": "S"}, {"scenario": "T"}, {"scenario": "U"}]
    sheets["ScenarioChanges"] = [{"scenario": "S", "sheet": "Investments", "column": "life", "set": 10},
                                 {"scenario": "T", "sheet": "Investments", "column": "life", "multiply": 3},
                                 {"scenario": "U", "sheet": "Investments", "column": "life", "period": 2, "set": 10}]
    world = network(**sheets)
    assert solve(world.in_scenario("S")).total_cost == 1240.0
    assert world.in_scenario("T").investments["life"].isna().all()
    assert solve(world.in_scenario("T")).total_cost == 2000.0
    late = solve(world.in_scenario("U"))
    assert (late.total_cost, option_row(late)["build_period"], late.costs["salvage"]) == (1620.0, "2", -1080.0)


def test_a_scenario_change_that_breaks_a_life_names_the_change_row():
    from models.problems import WorkbookError

    sheets = hand_case(life=10)
    sheets["Scenarios"] = [{"scenario": "S"}]
    sheets["ScenarioChanges"] = [{"scenario": "S", "sheet": "Investments", "column": "life", "multiply": 0.25},
                                 {"scenario": "S", "sheet": "Investments", "column": "life", "set": 0}]
    with pytest.raises(WorkbookError) as caught:
        network(**sheets)
    assert {(p.sheet, p.row, p.column): p.message for p in caught.value.problems} == {
        ("ScenarioChanges", 2, "multiply"): "it would make Investments row 2, column life 2.5: expected a whole "
                                            "number >= 1",
        ("ScenarioChanges", 3, "set"): "it would make Investments row 2, column life 0: expected a whole number "
                                       ">= 1"}


def test_invalid_lives_exit_2_naming_the_cell(make_workbook, monkeypatch, capsys):
    sheets = hand_case(life=10)
    sheets["Investments"] += [dict(sheets["Investments"][0], option=f"O{i}", life=v)
                              for i, v in enumerate(["ten", 0, -1, 2.5])]
    code, out, err = run(monkeypatch, capsys, "validate", make_workbook(**sheets))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "The workbook has 4 problem(s):",
        "  Investments row 3, column life: 'ten': expected a number",
        "  Investments row 4, column life: 0: expected a number > 0",
        "  Investments row 5, column life: -1: expected a number > 0",
        "  Investments row 6, column life: 2.5: expected a whole number of periods (>= 1)"]


def test_the_plan_and_json_show_capex_and_salvage(make_workbook, tmp_path, monkeypatch, capsys):
    import openpyxl

    from optimizer.writing.table import MONEY

    path = make_workbook(**hand_case(life=10), Settings=[{"key": "currency", "value": "USD M"}])
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 0 and payload["total_cost"] == 1240.0
    assert (payload["costs"]["capex"], payload["costs"]["salvage"]) == (1200.0, -960.0)
    assert payload["investments"] == [{"option": "O", "built": True, "period": "1", "fractions": None,
                                       "available_from": "1", "capex": 1200.0, "salvage": 960.0, "value": None,
                                       "break_even_capex": None}]
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    sheet = wb["Investments"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert (row["capex (USD M, nominal)"], row["life"], row["salvage (USD M, nominal)"]) == (1200, 10, 960)
    summary = {r[0].value: r[1] for r in wb["Summary"].iter_rows(min_row=2)}
    assert (summary["Capex (USD M, discounted)"].value, summary["Salvage value (USD M, discounted)"].value) == (
        1200, -960)
    assert summary["Salvage value (USD M, discounted)"].number_format == MONEY
    by_period = [c.value for c in wb["Costs by period"][1]]
    assert [c.value for c in wb["Costs by period"][3]][by_period.index("salvage (USD M, nominal)")] == -960
    overview = [(r[0].value, r[1].value, r[2].value, r[3].value) for r in wb["Overview"].iter_rows(min_row=2)]
    built = openpyxl.utils.get_column_letter(header.index("built") + 1)
    assert ("options", "Built: O (cells at S) in 1, available from 1; capex 1,200.00 USD M (nominal), less a salvage "
            "value of 960.00 USD M (nominal) credited at the end of the horizon (life 10 periods)", "yes",
            f"Investments!{built}2") in overview
    assert ("answer", "of which salvage value (USD M, discounted)", -960, "Summary!B14") in overview
    code, out, _ = run(monkeypatch, capsys, "solve", path, "-o", tmp_path / "again.xlsx")
    assert code == 0 and "│ salvage │ -960.00 │" in flat(out)


def test_without_a_life_the_plan_shows_no_salvage(make_workbook, tmp_path, monkeypatch, capsys):
    import openpyxl

    path = make_workbook(**hand_case())
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 0 and payload["total_cost"] == 2000.0 and payload["costs"]["salvage"] == 0.0
    assert payload["investments"][0]["salvage"] is None
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    assert {"life", "salvage"}.isdisjoint(c.value for c in wb["Investments"][1])
    assert "Salvage value" not in {r[0].value for r in wb["Summary"].iter_rows(min_row=2)}


def test_the_residual_checker_recomputes_the_salvage_part():
    # The checker recomputes the salvage from the Investments terms, not from the formulation: a plan that reported
    # the salvage discounted by the build period's factor (-960 instead of -480) fails it, and so does a Summary
    # that shows another figure.
    from dataclasses import replace

    from plan_check import check_plan

    result = solve(network(**hand_case(life=10, discount=(1.0, 0.5), latest=1)))
    check_plan(result)
    with pytest.raises(AssertionError, match="cost part salvage"):
        check_plan(replace(result, costs={**result.costs, "salvage": -960.0}))
    summary = result.summary.copy()
    summary.loc[summary["field"] == "Salvage value", "value"] = -960.0
    with pytest.raises(AssertionError, match="Salvage value"):
        check_plan(replace(result, summary=summary))


def test_a_divisible_option_built_over_two_periods_says_so_everywhere(monkeypatch, capsys, tmp_path):
    # P needs 100 cells in period 1 and 140 in period 2; B sells 40 a period at 6, C any amount at 20. O (life 10,
    # divisible, 100 a period at 5 for capex 1,200) built in period 1 costs 1,200 - 960 = 240 net per whole option,
    # in period 2 1,200 - 1,080 = 120. Period 1's 60 from C: y1 = 0.6 (saves 15 x 100 x 2 a unit of y). Period 2's
    # other 40 from C: y2 = 0.4 (saves 1,500 for 120, against 1,600 for 240 more of y1). Capex 1,200, salvage
    # 0.6 x 960 + 0.4 x 1,080 = 1,008, supply 40 x 6 + 60 x 5 + 40 x 6 + 100 x 5 = 1,280: 1,472. The build is
    # reported as the two fractions, not as 100% in period 1 (the new analyst's finding: "53%, 2026").
    import openpyxl

    from optimizer import write_workbook
    from optimizer.writing.plan import investment_sheet

    sheets = hand_case(life=10, divisible=True)
    sheets["Sites"] = sites("B", "C", "S", "P")
    sheets["Supply"] = [{"site": "B", "item": "cells", "unit_cost": 6, "capacity": 40},
                        {"site": "C", "item": "cells", "unit_cost": 20}]
    sheets["Demand"] = [{"site": "P", "item": "cells", "quantity": q, "period": p} for p, q in ((1, 100), (2, 140))]
    sheets["Lanes"] = [{"origin": o, "destination": "P"} for o in "BCS"]
    result = solve(network(**sheets))
    assert result.total_cost == pytest.approx(1472.0, abs=1e-9)
    assert (result.costs["capex"], result.costs["salvage"]) == (pytest.approx(1200.0), pytest.approx(-1008.0))
    row = option_row(result)
    assert {p: round(f, 9) for p, f in row["fractions"].items()} == {"1": 0.6, "2": 0.4}
    assert investment_sheet(result).set_index("option").loc["O", "build_period"] == "1 60%, 2 40%"
    path = write_workbook(tmp_path / "split.xlsx", sheets)
    code, out, _ = run(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 0 and "100%, 1 60%, 2 40%" in flat(out)
    overview = [r[1] for r in openpyxl.load_workbook(tmp_path / "plan.xlsx")["Overview"].iter_rows(values_only=True)]
    built = next(text for text in overview if isinstance(text, str) and text.startswith("Built: "))
    assert built.startswith("Built: 100% of O (cells at S) in 1 60%, 2 40%, available from 1; capex 1,200.00")
    assert "for the whole option" in built
