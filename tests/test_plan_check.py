"""The residual checker fails on a plan that breaks the contract (it must be able to fail)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plan_check import check_plan
from test_milp import two_tier


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
