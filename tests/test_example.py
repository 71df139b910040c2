"""The shipped example workbook solves under every policy set, to the costs README reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer import load_workbook, solve

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "ev_battery_north_america.xlsx"

# Optimal discounted totals (USD million, 2026-2030) of the strategic example (contract v3: paused plants as
# options, a cell buffer, 8% discounting); every plan also passes the residual checker (tests/plan_check.py).
EXPECTED = {
    "baseline": 11525.06,
    "current_law": 7974.58,
    "s232": 8508.02,
    "china_cap": 11552.70,
    "local_for_local": 12283.42,
    "feoc_ban": 12681.45,
    "ira_30d_whatif": 12846.48,
}


@pytest.fixture(scope="module")
def network():
    return load_workbook(EXAMPLE)


def test_example_is_valid_without_warnings(network):
    assert network.warnings == ()
    assert list(network.periods) == ["2026", "2027", "2028", "2029", "2030"]
    assert set(network.policies) == set(EXPECTED)


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_every_policy_set_solves_to_its_known_cost(network, policy):
    result = solve(network, policy)
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(EXPECTED[policy], abs=0.005)
    assert sum(result.costs.values()) == pytest.approx(result.total_cost, rel=1e-12)


def test_ira_whatif_meets_its_cell_content_schedule_and_bans_feoc(network):
    result = solve(network, "ira_30d_whatif")
    cells = result.compliance[result.compliance["items"] == "battery_component"].set_index("period")
    assert cells["bound"].to_dict() == {"2026": 0.7, "2027": 0.8, "2028": 0.9, "2029": 1.0, "2030": 1.0}
    assert (cells["share"] >= cells["bound"] - 1e-9).all()
    assert cells["binding"].all()  # North American cells cost more: the rule binds every year
    feoc = {s for s, site in network.sites.items() if site.country == "China" or "feoc_owned" in site.tags}
    assert not result.flows["origin"].isin(feoc).any()


def test_only_the_45x_credit_makes_the_aesc_restart_pay(network):
    built = {p: solve(network, p).investments.set_index("option")["built"] for p in ("baseline", "current_law")}
    assert not built["baseline"]["AESC_Florence_restart"] and built["current_law"]["AESC_Florence_restart"]


def test_local_for_local_holds_at_every_north_american_pack_plant(network):
    result = solve(network, "local_for_local")
    rows = result.compliance[result.compliance["items"] == "battery_component"]
    assert (rows["scope"] == "each_destination").all()
    assert rows["destination"].nunique() == 4
    assert (rows["share"] >= 0.7 - 1e-9).all()


MULTITIER = EXAMPLE.parent / "ev_battery_multitier.xlsx"

# Optimal discounted totals of the three-tier example (LiOH -> CAM -> cells -> packs) with AESC Florence and
# EcoPro Becancour paused (options to resume), a cell buffer and 8% discounting.
MULTITIER_EXPECTED = {
    "baseline": 11405.87, "feoc_ban": 12376.61, "ira_cells_only": 12899.11, "ira_cam_only": 12380.79,
    "ira_tiers": 13087.99, "dual_sourcing": 11421.80, "credit_30d": -14.95,
}


@pytest.fixture(scope="module")
def multitier():
    return load_workbook(MULTITIER)


@pytest.mark.parametrize("policy", sorted(MULTITIER_EXPECTED))
def test_multitier_example_solves_to_its_known_cost(multitier, policy):
    result = solve(multitier, policy)
    assert result.status == "optimal"
    assert result.formulation.is_mip and not result.formulation.single_tier
    assert result.total_cost == pytest.approx(MULTITIER_EXPECTED[policy], abs=0.005)


def test_multitier_rules_on_cells_and_cam_interact(multitier):
    # Each rule alone costs less than their sum: together they cost 184.70 more (see the README).
    cost = {p: solve(multitier, p).total_cost for p in ("feoc_ban", "ira_cells_only", "ira_cam_only", "ira_tiers")}
    separate = (cost["ira_cells_only"] - cost["feoc_ban"]) + (cost["ira_cam_only"] - cost["feoc_ban"])
    assert cost["ira_tiers"] - cost["feoc_ban"] - separate == pytest.approx(184.70, abs=0.01)
