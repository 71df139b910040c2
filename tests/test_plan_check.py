"""The residual checker fails on a plan that breaks the contract (it must be able to fail)."""

from __future__ import annotations

from dataclasses import replace

import examples
import numpy as np
import pytest
from examples import NORTH_AMERICA
from examples import plan as example_plan
from networks import two_tier
from plan_check import RULE_CHECKS, PlanCheck, check_plan

from optimizer.rules import RULE_TYPES


@pytest.fixture
def plan(solve_sheets):
    """The two-tier case under a 50% rule on CAM from M2 (by quantity): 30 GWh of cells, 60 kt of CAM."""
    sheets = two_tier(Policies=[{"policy": "half", "rule": "min_share", "items": "cam", "from": "M2",
                                 "value": 0.25, "basis": "quantity"}])
    return solve_sheets(policy="half", **sheets)


def tampered(result, **tables):
    return replace(result, **tables)


def test_a_consistent_plan_passes(plan):
    check_plan(plan)


def test_a_flow_changed_breaks_a_balance(plan):
    flows = plan.flows.copy()
    flows.loc[flows["item"] == "cam", "quantity"] += 1.0
    with pytest.raises(AssertionError, match="balance"):
        check_plan(tampered(plan, flows=flows))


def test_production_above_capacity_is_caught(plan):
    utilization = plan.utilization.copy()
    flows = plan.flows.copy()
    at_m1 = (utilization["site"] == "M1") & (utilization["item"] == "cam")
    utilization.loc[at_m1, "used"] += 10.0  # M1 has capacity 40
    flows.loc[flows["origin"] == "M1", "quantity"] += 10.0
    flows.loc[flows["origin"] == "M2", "quantity"] -= 10.0
    utilization.loc[(utilization["site"] == "M2") & (utilization["item"] == "cam"), "used"] -= 10.0
    with pytest.raises(AssertionError, match="capacity"):
        check_plan(tampered(plan, flows=flows, utilization=utilization))


def test_a_misreported_cost_part_is_caught(plan):
    with pytest.raises(AssertionError, match="cost part supply"):
        check_plan(tampered(plan, costs={**plan.costs, "supply": plan.costs["supply"] + 1}))


def test_a_broken_rule_is_caught(plan):
    # The plan buys 20 of its 60 kt of CAM from M2 (33%): checked against a 50% rule, it fails.
    policy = plan.formulation.policy
    stricter = policy.model_copy(update={"rules": tuple(r.model_copy(update={"value": 0.5}) for r in policy.rules)})
    with pytest.raises(AssertionError, match="Policies row 2 fails"):
        check_plan(tampered(plan, formulation=replace(plan.formulation, policy=stricter)))


@pytest.mark.parametrize(("column", "what"), [
    ("supply_unit_cost", "goods' cost"), ("valuation_unit_cost", "valuation"), ("landed_unit_cost", "landed cost")])
def test_a_flows_unit_cost_misreported_is_caught(plan, column, what):
    # C's cells cost 20 + 2 x (40 x 10.5 + 20 x 12) / 60 = 42 a GWh: reported 43, the checker says which.
    flows = plan.flows.copy()
    flows.loc[flows["item"] == "cells", column] += 1.0
    with pytest.raises(AssertionError, match=f"flow C -> P, cells, all: {what}"):
        check_plan(tampered(plan, flows=flows))


def test_a_plan_without_its_formulation_fails_the_check(plan):
    with pytest.raises(AssertionError, match="a plan without its formulation cannot be checked"):
        check_plan(tampered(plan, formulation=None))


def test_every_registered_rule_type_has_a_check():
    assert set(RULE_CHECKS) == set(RULE_TYPES)
    assert all(hasattr(PlanCheck, f"check_{family}") for family in RULE_CHECKS.values())


def test_a_rule_type_without_a_check_fails_the_check(plan, monkeypatch):
    monkeypatch.delitem(RULE_CHECKS, "min_share")
    with pytest.raises(AssertionError, match="Policies row 2: the residual checker has no check for rule type "
                                             "'min_share'"):
        check_plan(plan)


def test_a_misreported_compliance_row_is_caught(plan):
    compliance = plan.compliance.copy()
    compliance["from_flow"] += 1.0
    with pytest.raises(AssertionError, match=r"Policies row 2 reports 21\.0 of 60\.0 in all \(\(all\)\), "
                                             r"recomputed 20\.0 of 60\.0"):
        check_plan(tampered(plan, compliance=compliance))


def test_a_missing_compliance_row_is_caught(plan):
    with pytest.raises(AssertionError, match=r"Policies row 2: no Compliance row for all \(\(all\)\)"):
        check_plan(tampered(plan, compliance=plan.compliance.iloc[0:0]))


def test_misreported_emissions_are_caught(plan):
    # one period, "all", without emissions
    with pytest.raises(AssertionError, match=r"emissions in all: reported 1\.0, recomputed 0\.0"):
        check_plan(tampered(plan, emissions=plan.emissions.reindex(["all"], fill_value=0.0) + 1.0))


def test_a_misreported_summary_line_is_caught(plan):
    summary = plan.summary.copy()
    summary.loc[summary["field"] == "Transport cost", "value"] = 0.5
    with pytest.raises(AssertionError, match=r"Summary Transport cost: 0\.5, recomputed 50\.0"):
        check_plan(tampered(plan, summary=summary))


def test_a_lane_over_its_capacity_is_caught(plan):
    # 20 kt of CAM come from M2 over Lanes row 4 (M2 -> C; one period, "all"): a capacity of 15 there is broken.
    network = plan.formulation.network
    lanes = network.lanes.assign(capacity=np.where(network.lanes["row"] == 4, 15.0, np.nan))
    with pytest.raises(AssertionError, match="Lanes row 4 over capacity in all"):
        check_plan(tampered(plan, formulation=replace(plan.formulation, network=replace(network, lanes=lanes))))


# ------------------------------------------------------------------ investments and stock, on the example


def test_an_option_producing_without_being_built_is_caught():
    # current_law restarts AESC Florence in 2026 and makes 17 GWh there that year: unbuilt, it may make nothing.
    result = example_plan(NORTH_AMERICA, "current_law")
    investments = result.investments.copy()
    investments.loc[investments["option"] == "AESC_Florence_restart", ["built", "build_period"]] = [False, None]
    made = r"(17|16\.99+\d*)(\.0)?"  # 17 GWh, to the solver's precision
    with pytest.raises(AssertionError, match=rf"option AESC_Florence_restart makes {made} > 0(\.0)? in 2026"):
        check_plan(tampered(result, investments=investments))


def test_stock_short_of_its_final_level_is_caught():
    # The BMW cell buffer closes 2030 empty: a final level of 2 GWh is missed.
    result = example_plan(NORTH_AMERICA, "current_law")
    network = result.formulation.network
    inventory = network.inventory.assign(final=2.0)
    with pytest.raises(AssertionError, match="final stock of BMW_Woodruff_SC, cells_nmc"):
        check_plan(tampered(result, formulation=replace(result.formulation,
                                                        network=replace(network, inventory=inventory))))


def test_emissions_over_a_tightened_cap_are_caught():
    result = example_plan(NORTH_AMERICA, "carbon_cap")
    policy = result.formulation.policy
    tighter = policy.model_copy(update={"rules": tuple(r.model_copy(update={"value": 2_100_000})
                                                       for r in policy.rules)})
    with pytest.raises(AssertionError, match="Policies row 30: emissions 2200000.* over the cap 2100000.* in 2028"):
        check_plan(tampered(result, formulation=replace(result.formulation, policy=tighter)))


# ------------------------------------------------------------------ the suite's own guarantees (tests/conftest.py)


@pytest.fixture(scope="module")
def patched_in_a_module_fixture():
    import optimizer.api as api

    return api.build_result.__name__, api.solve_formulation.__name__


def test_plans_solved_in_module_fixtures_are_checked_too(patched_in_a_module_fixture):
    assert patched_in_a_module_fixture == ("checked", "differential")


def test_the_shared_example_plans_are_copies_so_no_test_changes_another():
    first = example_plan(NORTH_AMERICA, "current_law")
    first.investments.loc[:, "built"] = False
    first.costs["supply"] = 0.0
    again = example_plan(NORTH_AMERICA, "current_law")
    assert again.investments.set_index("option").loc["AESC_Florence_restart", "built"]
    assert again.costs["supply"] == pytest.approx(12410.301092)
    # the valued plan carries the options' values; the plan itself stays as solved
    valued = examples.valued(NORTH_AMERICA, "current_law").investments.set_index("option")
    assert valued.loc["AESC_Florence_restart", "value"] > 0
    assert example_plan(NORTH_AMERICA, "current_law").investments["value"].isna().all()
