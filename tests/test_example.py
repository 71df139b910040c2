"""The shipped example workbook solves under every policy set, to the costs the documentation reports."""

from __future__ import annotations

from dataclasses import replace

import examples
import pandas as pd
import pytest
from examples import MULTITIER, NORTH_AMERICA, plan

from optimizer import solve

# Optimal discounted totals (USD million, 2026-2030) of the strategic example (contract v3: paused plants as
# options with a life, a cell buffer, 8% discounting); every plan also passes the residual checker
# (tests/plan_check.py).
EXPECTED = {
    "baseline": 11525.06,
    "current_law": 7680.58,
    "s232": 8156.44,
    "china_cap": 11552.70,
    "local_for_local": 12283.42,
    "feoc_ban": 12667.76,
    "ira_30d_whatif": 12798.57,
    "carbon_price": 13113.36,
    "carbon_cap": 11669.61,
}


@pytest.fixture(scope="module")
def network():
    return examples.network(NORTH_AMERICA)


def test_example_is_valid_without_warnings(network):
    assert network.warnings == ()
    assert list(network.periods) == ["2026", "2027", "2028", "2029", "2030"]
    assert set(network.policies) == set(EXPECTED)
    assert network.settings == {"currency": "USD M", "emissions_unit": "t CO2e", "period_weeks": "52.0"}


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_every_policy_set_solves_to_its_known_cost(network, policy):
    result = plan(NORTH_AMERICA, policy)
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(EXPECTED[policy], abs=0.005)
    assert sum(result.costs.values()) == pytest.approx(result.total_cost, rel=1e-12)


def test_ira_whatif_meets_its_cell_content_schedule_and_bans_feoc(network):
    result = plan(NORTH_AMERICA, "ira_30d_whatif")
    cells = result.compliance[result.compliance["items"] == "battery_component"].set_index("period")
    assert cells["bound"].to_dict() == {"2026": 0.7, "2027": 0.8, "2028": 0.9, "2029": 1.0, "2030": 1.0}
    assert (cells["share"] >= cells["bound"] - 1e-9).all()
    assert cells["binding"].all()  # North American cells cost more: the rule binds every year
    feoc = {s for s, site in network.sites.items() if site.country == "China" or "feoc_owned" in site.tags}
    assert not result.flows["origin"].isin(feoc).any()


def restarts(result) -> dict:
    """The yes/no options a plan builds, with their build period."""
    return {r.option: r.build_period for r in result.investments.itertuples() if not r.divisible and r.built}


def test_with_the_plants_lives_the_aesc_restart_pays_under_three_policy_sets(network):
    # Every option has a life (15 years for a cell plant, 20 for a CAM plant): a plant resumed late is charged only
    # the part of its life it runs by 2030. The 45X credit resumes AESC Florence in 2026, the FEOC ban and the
    # IRA-style rule in 2028 (600 x 3 / 15 = 120 charged, 480 credited as salvage value in 2030).
    assert set(network.investments["life"]) == {15.0, 20.0}
    decided = {p: restarts(plan(NORTH_AMERICA, p)) for p in ("baseline", "current_law", "feoc_ban", "ira_30d_whatif")}
    assert decided == {"baseline": {}, "current_law": {"AESC_Florence_restart": "2026"},
                       "feoc_ban": {"AESC_Florence_restart": "2028"},
                       "ira_30d_whatif": {"AESC_Florence_restart": "2028"}}
    ira = plan(NORTH_AMERICA, "ira_30d_whatif")
    discount = dict(zip(network.periods, network.discount, strict=True))
    assert ira.costs["capex"] == pytest.approx(600 * discount["2028"], rel=1e-12)
    assert ira.costs["salvage"] == pytest.approx(-480 * discount["2030"], rel=1e-12)


def test_without_lives_only_the_45x_credit_makes_the_aesc_restart_pay(network):
    # The end effect: each option charged its whole capex however late it is built. The totals are the example's
    # before it had lives (without `life` nothing changes).
    from dataclasses import replace

    plain = replace(network, investments=network.investments.assign(life=float("nan")))
    plans = {p: solve(plain, p) for p in ("baseline", "current_law", "feoc_ban", "ira_30d_whatif")}
    assert {p: restarts(r) for p, r in plans.items()} == {
        "baseline": {}, "current_law": {"AESC_Florence_restart": "2026"}, "feoc_ban": {}, "ira_30d_whatif": {}}
    totals = {p: plans[p].total_cost for p in ("current_law", "feoc_ban", "ira_30d_whatif")}
    assert totals == pytest.approx({"current_law": 7974.58, "feoc_ban": 12681.45, "ira_30d_whatif": 12846.48},
                                   abs=0.005)


def test_local_for_local_holds_at_every_north_american_pack_plant(network):
    result = plan(NORTH_AMERICA, "local_for_local")
    rows = result.compliance[result.compliance["items"] == "battery_component"]
    assert (rows["scope"] == "each_destination").all()
    assert rows["destination"].nunique() == 4
    assert (rows["share"] >= 0.7 - 1e-9).all()


# ---------------------------------------------------------------- emissions (t CO2e per GWh of cells, per kt of CAM)

# Grid intensities (g CO2e/kWh, inputs/EXAMPLE.md "Emissions") and the factors built on them: a cell takes 30 kWh
# per kWh to make plus 15 kg CO2e/kWh of other materials; a kg of CAM 15 kWh plus 13.1 kg of metals and lithium.
GRID = {"China": 582, "Hungary": 204, "Poland": 575, "United States": 354, "South Korea": 413, "Quebec": 10,
        "Ontario": 40}


def finished_cells(grid: float) -> float:
    """t CO2e per GWh of cells bought finished: their own 30 kWh/kWh plus 1.4 kg of CAM made on the same grid."""
    return (30 + 1.4 * 15) * grid + 1000 * (15 + 1.4 * 13.1)


def test_every_supply_lane_and_option_carries_emissions_derived_from_its_grid(network):
    supply = network.supply.drop_duplicates(["site", "item"]).set_index("site")["co2_per_unit"]
    assert (network.supply["co2_per_unit"] > 0).all() and (network.lanes["co2_per_unit"] > 0).all()
    assert supply["CATL_Ningde_CN"] == pytest.approx(finished_cells(GRID["China"])) == 63022
    assert supply["CATL_Debrecen_HU"] == pytest.approx(finished_cells(GRID["Hungary"]))
    assert supply["LGES_Wroclaw_PL"] == pytest.approx(finished_cells(GRID["Poland"]))
    assert supply["Ultium_SpringHill_TN"] == pytest.approx(finished_cells(GRID["United States"]))
    # PowerCo makes cells from CAM it buys (BOM): its own emissions only, the CAM's come with the CAM
    assert supply["PowerCo_StThomas_ON"] == pytest.approx(30 * GRID["Ontario"] + 15_000)
    assert supply["PoscoFutureM_Becancour_QC"] == pytest.approx(15 * GRID["Quebec"] + 13_100)
    assert supply["Umicore_Cheonan_KR"] == pytest.approx(15 * GRID["South Korea"] + 13_100)
    # a paused plant has no Supply row, so its option names its value; PowerCo's phase 2 takes its Supply value
    options = network.investments.drop_duplicates("option").set_index("option")["co2_per_unit"]
    assert options["AESC_Florence_restart"] == pytest.approx(30 * GRID["United States"] + 15_000)
    assert options["Umicore_Loyalist_resume"] == pytest.approx(15 * GRID["Ontario"] + 13_100)
    assert pd.isna(options["PowerCo_StThomas_phase2"])
    # freight: ocean 10,500 km x 8.15 g/t-km + 3,000 km rail x 25 g for 4,000 t of cells a GWh; a truck lane
    # follows its freight cost (90 g/t-km at $3/mile for 20 t)
    lanes = network.lanes.set_index(["origin", "destination"])["co2_per_unit"]
    assert lanes["CATL_Ningde_CN", "BMW_Woodruff_SC"] == pytest.approx(4000 * (10_500 * 8.15 + 3000 * 25) / 1e6,
                                                                       abs=0.05)
    assert lanes["AESC_Florence_SC", "BMW_Woodruff_SC"] == pytest.approx(0.15 * 90 / (3 / 1.609 / 20), abs=0.05)


def test_the_carbon_price_is_its_own_cost_part_and_moves_cells_to_cleaner_grids(network):
    base, priced = plan(NORTH_AMERICA, "baseline"), plan(NORTH_AMERICA, "carbon_price")
    assert base.emissions.sum() == pytest.approx(10_273_029.5, abs=0.5)  # ~54.6 kg CO2e per kWh of cells
    assert base.costs["carbon"] == 0
    # $190 per t (0.00019 USD M) on every t of the plan, discounted like the year's other costs
    discount = dict(zip(network.periods, network.discount, strict=True))
    assert priced.costs["carbon"] == pytest.approx(
        sum(0.00019 * e * discount[p] for p, e in priced.emissions.items()), rel=1e-9)
    assert priced.emissions.sum() == pytest.approx(9_668_549.98, abs=0.5)  # 5.9% less
    # the plan changes: Ultium to its capacity and PowerCo (Ontario grid) replace Chinese and Polish cells, for
    # 45.40 more before the carbon cost itself
    assert priced.total_cost - priced.costs["carbon"] - base.total_cost == pytest.approx(45.40, abs=0.005)
    cells = {p: r.flows[r.flows["item"] == "cells_nmc"].groupby("origin")["quantity"].sum()
             for p, r in (("baseline", base), ("carbon_price", priced))}
    assert cells["carbon_price"]["PowerCo_StThomas_ON"] == pytest.approx(32) and "PowerCo_StThomas_ON" not in \
        cells["baseline"]
    assert cells["carbon_price"]["CATL_Ningde_CN"] < cells["baseline"]["CATL_Ningde_CN"]


def test_the_carbon_cap_binds_from_2028_and_stays_feasible(network):
    capped = plan(NORTH_AMERICA, "carbon_cap")
    rows = capped.compliance.set_index("period")
    assert (rows["bound"] == 2_200_000).all() and rows["met"].all()
    assert rows["binding"].to_dict() == {"2026": False, "2027": False, "2028": True, "2029": True, "2030": True}
    assert capped.emissions["2030"] == pytest.approx(2_200_000)
    assert plan(NORTH_AMERICA, "baseline").emissions["2030"] == pytest.approx(2_824_729.4, abs=0.5)
    # each binding year's marginal abatement cost (USD M per t): what one t less would cost
    assert rows["marginal_abatement_cost"].round(6).tolist() == [0, 0, 0.000105, 0.000243, 0.000378]
    # Quebec CAM (POSCO, 13,250 t per kt) now feeds PowerCo, which it did not in the baseline plan
    cam = capped.flows[capped.flows["item"] == "cam_nmc"].groupby("origin")["quantity"].sum()
    assert cam["PoscoFutureM_Becancour_QC"] == pytest.approx(10)
    # 2.2 Mt lies between the baseline's 2.82 Mt in 2030 and what cannot be avoided with every demand met: a flat
    # 1.7 Mt has no plan once demand is a hard requirement (the example's shortage costs blank), and leaves cells
    # undelivered with them
    policy = network.policy("carbon_cap")
    tight = policy.model_copy(update={"rules": tuple(r.model_copy(update={"value": 1_700_000}) for r in policy.rules)})
    assert solve(network, tight).unmet["unmet"].sum() > 0
    hard = replace(network, demand=network.demand.assign(shortage_cost=float("nan")))
    [finding] = solve(hard, tight).diagnosis
    assert (finding["row"], finding["numbers"]["period"]) == (30, "2030")
    assert finding["numbers"]["achievable"] == pytest.approx(1_724_641.04, abs=0.5)


# Optimal discounted totals of the three-tier example (LiOH -> CAM -> cells -> packs) with AESC Florence and
# EcoPro Becancour paused (options to resume), a cell buffer and 8% discounting.
MULTITIER_EXPECTED = {
    "baseline": 11405.87, "feoc_ban": 12327.56, "ira_cells_only": 12605.11, "ira_cam_only": 12333.63,
    "ira_tiers": 12694.76, "dual_sourcing": 11421.80, "credit_30d": -308.95, "carbon_price": 13033.56,
    "carbon_cap": 11606.08,
}


@pytest.fixture(scope="module")
def multitier():
    return examples.network(MULTITIER)


@pytest.mark.parametrize("policy", sorted(MULTITIER_EXPECTED))
def test_multitier_example_solves_to_its_known_cost(multitier, policy):
    result = plan(MULTITIER, policy)
    assert result.status == "optimal"
    assert result.formulation.is_mip and not result.formulation.single_tier
    assert result.total_cost == pytest.approx(MULTITIER_EXPECTED[policy], abs=0.005)


def test_multitier_rules_on_cells_and_cam_interact(multitier):
    # Each rule alone costs less than their sum: together they cost 83.58 more (docs/examples/multitier.md).
    cost = {p: plan(MULTITIER, p).total_cost for p in ("feoc_ban", "ira_cells_only", "ira_cam_only", "ira_tiers")}
    separate = (cost["ira_cells_only"] - cost["feoc_ban"]) + (cost["ira_cam_only"] - cost["feoc_ban"])
    assert cost["ira_tiers"] - cost["feoc_ban"] - separate == pytest.approx(83.58, abs=0.01)


def test_multitier_emissions_follow_the_bom_and_only_the_cap_changes_the_plan(multitier):
    assert multitier.warnings == () and multitier.settings["emissions_unit"] == "t CO2e"
    supply = multitier.supply.drop_duplicates(["site", "item"]).set_index(["site", "item"])["co2_per_unit"]
    # at a BOM site the input brings its own emissions: Ultium's cells exclude their CAM, POSCO's CAM its LiOH
    assert supply["Ultium_SpringHill_TN", "cells_nmc"] == pytest.approx(30 * 354 + 15_000)
    assert supply["PoscoFutureM_Becancour_QC", "cam_nmc"] == pytest.approx(15 * 10 + 8_000)
    assert supply["LiOH_Generic_CN", "lioh"] == pytest.approx(10 * 582 + 6_000)
    # the 13.1 kg of metals and lithium in finished CAM: 8 of metals + 0.43 kg of Chinese-refined LiOH
    assert supply["CAM_Generic_CN", "cam_nmc"] == pytest.approx(15 * 582 + 1000 * round(8 + 0.43 * 11.82, 1))
    base, priced, capped = (plan(MULTITIER, p) for p in ("baseline", "carbon_price", "carbon_cap"))
    assert base.emissions.sum() == pytest.approx(10_245_551.9, abs=0.5)
    # $190 per t does not pay for any abatement here: the same plan, plus its carbon cost
    assert priced.emissions.sum() == pytest.approx(base.emissions.sum())
    assert priced.total_cost - priced.costs["carbon"] == pytest.approx(base.total_cost, abs=1e-6)
    rows = capped.compliance.set_index("period")
    assert rows["binding"].tolist() == [False, False, True, True, True] and rows["met"].all()
    assert capped.emissions.sum() == pytest.approx(9_504_519, abs=1)
    # the cap's marginal abatement cost exceeds the price where it binds hardest
    assert rows["marginal_abatement_cost"]["2030"] > 0.00019
