"""Families of solves run warm on one session (optimizer.session, optimizer.families) give what cold solves give.

Every family of both examples (a sweep, a frontier, option values, the robust evaluation) is run as the tool runs
it, warm, and each member again cold (a fresh ``solve`` of the same policy set, value, builds and scenario): the
statuses are the same, the costs equal within 1e-9 relative, the one-sided marginal costs equal (they are
computed the same way, from the same model), and so are the build decisions."""

from __future__ import annotations

import math
from pathlib import Path

import examples
import pytest

from optimizer import load_workbook, solve
from optimizer.compare import sweep
from optimizer.edits import Capex, with_value
from optimizer.formulation import build_formulation
from optimizer.frontier import frontier
from optimizer.horizon import ANY_PERIOD
from optimizer.robust import robust
from optimizer.session import Session
from optimizer.valuation import ESSENTIAL, NEVER, option_values

INPUTS = Path(__file__).resolve().parents[1] / "inputs"
NORTH_AMERICA = load_workbook(INPUTS / "ev_battery_north_america.xlsx")
MULTITIER = load_workbook(INPUTS / "ev_battery_multitier.xlsx")
SWEPT = [(NORTH_AMERICA, "local_for_local", 14), (MULTITIER, "ira_cells_only", 3)]
# The cold solves here are references for the warm families; both materialisations are compared on every other
# solve of the suite.
pytestmark = pytest.mark.one_materialisation


def same_cost(warm, cold) -> None:
    assert warm.status == cold.status
    if cold.has_plan:
        assert warm.total_cost == pytest.approx(cold.total_cost, rel=1e-9, abs=1e-9)


def same_rate(warm: float, cold: float) -> None:
    if math.isnan(cold) or math.isinf(cold):
        assert (math.isnan(warm) and math.isnan(cold)) or warm == cold, (warm, cold)
    else:
        assert warm == pytest.approx(cold, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize(("network", "policy", "row"), SWEPT, ids=["north_america", "multitier"])
def test_a_sweep_warm_equals_its_points_solved_cold(network, policy, row):
    values = [0.0, 0.35, 0.7, 1.0]
    warm = sweep(network, policy, row, values)
    for value, result in zip(values, warm.results, strict=True):
        cold = solve(network, with_value(network.policy(policy), row, value), diagnosis=False)
        same_cost(result, cold)
        if cold.has_plan:
            assert result.builds() == cold.builds()
            if not result.marginal_notes:  # a step past the bound: checked by moving the value (below)
                same_rate(result.marginals.rule_rate(row), cold.marginals.rule_rate(row))


@pytest.mark.parametrize(("network", "policy", "row"), SWEPT, ids=["north_america", "multitier"])
def test_a_frontier_warm_equals_its_points_solved_cold(network, policy, row):
    warm = frontier(network, policy, row, points=4)
    for value, result in zip(warm.values, warm.results, strict=True):
        cold = solve(network, with_value(network.policy(policy), row, value), diagnosis=False)
        same_cost(result, cold)
        assert result.builds() == cold.builds()


def test_at_the_limit_only_where_no_plan_lies_past_the_value():
    # Local CAM from 0% (where the rule starts to bind) in the North-American example: with the plan's own flows
    # held, no more local CAM can come in 2027, but a plan past 0% exists (its cost steps up): not "at the
    # limit". At 100% nothing lies past the value: at the limit.
    result = sweep(NORTH_AMERICA, "local_for_local", 14, [0.0, 1.0])
    start, end = result.results
    assert math.isnan(start.marginals.rule_rate(14))
    step = solve(NORTH_AMERICA, with_value(NORTH_AMERICA.policy("local_for_local"), 14, 1e-4), diagnosis=False)
    jump = step.total_cost - start.total_cost
    assert jump > 1.0
    assert start.marginal_notes[14] == (f"no rate here: the cost steps up by {jump:,.2f} within 0.01 pp past this "
                                        "value (the plan must change at once)")
    assert end.marginals.rule_rate(14) == math.inf and not end.marginal_notes


def test_option_values_warm_equal_cold_solves():
    for policy in ("current_law", "ira_30d_whatif"):
        plan = examples.plan(examples.NORTH_AMERICA, policy)
        for value in option_values(NORTH_AMERICA, plan):
            built = plan.investments.set_index("option").loc[value.option]
            if built["divisible"]:
                continue
            if built["built"]:
                cold = solve(NORTH_AMERICA, policy, builds={value.option: None}, diagnosis=False)
                assert value.value == (ESSENTIAL if not cold.has_plan
                                       else pytest.approx(cold.total_cost - plan.total_cost, rel=1e-9))
                continue
            capex = 0.0 if value.break_even_capex == NEVER else float(value.break_even_capex)
            world, _ = Capex(((value.option, capex),)).on_network(NORTH_AMERICA, NORTH_AMERICA.policy(policy))
            cold = solve(world, policy,
                         builds={value.option: ANY_PERIOD}, diagnosis=False)
            if value.break_even_capex == NEVER:
                assert not cold.has_plan or cold.total_cost > plan.total_cost + 1e-6
            else:  # at its break-even capex, the cheapest plan that builds it costs exactly the plan's cost
                assert cold.total_cost == pytest.approx(plan.total_cost, rel=1e-9)


@pytest.mark.heavy
def test_the_robust_evaluation_warm_equals_cold_solves():
    result = robust(NORTH_AMERICA)
    for plan in result.plans:
        for scenario, evaluation in plan.costs.items():
            world = NORTH_AMERICA.in_scenario(scenario)
            cold = solve(world, world.scenario_policy, builds=dict(plan.decisions), diagnosis=False)
            assert evaluation.cost == (pytest.approx(cold.total_cost, rel=1e-9) if cold.has_plan else None)


def test_a_session_hands_highs_only_what_changed():
    # A sweep member changes one rule's rows: the session keeps its instance (one load) and re-solves warm.
    network, policy, row = SWEPT[0]
    base = build_formulation(network, policy)
    session = Session(base)
    first = session.solve()
    from optimizer.edits import RuleValue

    session.load(RuleValue(row, 0.6).applied(base))
    second = session.solve()
    session.load(base)
    third = session.solve()
    assert (session.fresh_loads, session.warm_solves) == (1, 2)
    assert third.total_cost == pytest.approx(first.total_cost, rel=1e-12)
    assert second.total_cost == pytest.approx(solve(network, with_value(network.policy(policy), row, 0.6),
                                                    diagnosis=False).total_cost, rel=1e-9)


def test_a_family_gives_the_same_results_on_one_and_two_workers():
    values = [0.2, 0.4, 0.6, 0.8, 1.0, 0.5, 0.3, 0.1, 0.9, 0.7]  # two chains of sorted values
    one = sweep(NORTH_AMERICA, "local_for_local", 14, values).table()
    two = sweep(NORTH_AMERICA, "local_for_local", 14, values, workers=2).table()
    assert one.equals(two)


def test_a_change_in_the_scenario_language_is_an_edit_of_a_built_model():
    # Demand of every pack plant in 2028 x 1.5, as a ScenarioChanges row would say it: the edited model's cost
    # equals a fresh solve of the workbook with that change applied.
    from models.scenarios import Change
    from optimizer.edits import Changes

    change = Change(row=0, sheet="Demand", column="quantity", operation="multiply", value=1.5,
                    periods=frozenset({"2028"}))
    edit = Changes((change,))
    base = build_formulation(NORTH_AMERICA, "local_for_local")
    session = Session(base)
    session.solve()
    session.load(edit.applied(base))
    warm = session.solve()
    world, policy = edit.on_network(NORTH_AMERICA, NORTH_AMERICA.policy("local_for_local"))
    assert world.demand.loc[world.demand["period"] == "2028", "quantity"].sum() == pytest.approx(
        1.5 * NORTH_AMERICA.demand.loc[NORTH_AMERICA.demand["period"] == "2028", "quantity"].sum())
    same_cost(warm, solve(world, policy, diagnosis=False))
    assert session.fresh_loads == 1  # the same columns: edited in place, not loaded afresh


def test_a_family_counts_its_fresh_loads_and_warm_solves(monkeypatch, capsys, tmp_path):
    # Ten values: one chain of ten members on one session, its model loaded once and nine members re-solved warm.
    from cli_run import run_json

    code, payload, _ = run_json(monkeypatch, capsys, "sweep", INPUTS / "ev_battery_north_america.xlsx", "--policy",
                                "local_for_local", "--rule", "14", "--values", "0.1:1:0.1", "-o", tmp_path / "s.xlsx")
    assert code == 0 and payload["stats"] == {"members": 10, "fresh_loads": 1, "warm_solves": 9}
