"""The workbook contract's core (periods, lanes, supply, demand, tariffs, share and exclude rules: what v1
defined and v2 and v3 keep unchanged), pinned by small solved cases whose optimum is worked out by hand. The
later parts are pinned in test_milp.py and test_counts.py (v2), test_horizon.py, test_robust.py and
test_carbon.py (v3).

Every case asserts the optimal total cost (arithmetic in the comment), the flows by
(period, item, origin, destination) and, for policy rules, the shares in the compliance table.
Each case is built so that a plausible misreading of the contract gives a different optimum.
"""

from __future__ import annotations

import pytest

SOLVERS = pytest.mark.parametrize("solver", ["highs", "cbc"])
#: For cases about reading the workbook (periods, selectors) rather than about the LP itself.
HIGHS = pytest.mark.parametrize("solver", ["highs"])


def approx(x):
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def site(name, country, tags=None):
    return {"site": name, "country": country, "tags": tags}


def supply(site_, item, unit_cost, capacity=None, period=None):
    return {"site": site_, "item": item, "period": period, "capacity": capacity, "unit_cost": unit_cost}


def demand(site_, item, quantity, period=None):
    return {"site": site_, "item": item, "period": period, "quantity": quantity}


def lane(origin, destination, item=None, unit_cost=None, capacity=None):
    return {"origin": origin, "destination": destination, "item": item, "unit_cost": unit_cost,
            "capacity": capacity}


def tariff(origin, rate, destination=None, item=None, period=None):
    return {"origin": origin, "destination": destination, "item": item, "period": period, "rate": rate}


def rule(policy, rule_, value=None, items=None, from_=None, to=None, basis=None, scope=None, period=None):
    return {"policy": policy, "rule": rule_, "items": items, "from": from_, "to": to, "value": value,
            "basis": basis, "scope": scope, "period": period}


def items(*names, category=None):
    return [{"item": n, "unit": "pcs", "category": category} for n in names]


def flow_map(result) -> dict[tuple[str, str, str, str], float]:
    return {(r.period, r.item, r.origin, r.destination): r.quantity for r in result.flows.itertuples()}


def assert_plan(result, total, flows):
    assert result.status == "optimal", result.message
    assert result.total_cost == approx(total)
    assert sum(result.costs.values()) == approx(total)
    got = flow_map(result)
    assert set(got) == set(flows), got
    for key, quantity in flows.items():
        assert got[key] == approx(quantity), key


def compliance_rows(result, source=None):
    c = result.compliance
    if source is not None:
        c = c[c["source"] == source]
    return {(r.period, r.destination): r for r in c.itertuples()}


# --------------------------------------------------------------------------- periods


@SOLVERS
def test_specific_period_rows_override_blank_period_rows(solve_sheets, solver):
    # S1 has a blank-period row (cost 10, unlimited) and a 2027 row (cost 15, capacity 3);
    # S2 has a blank-period row (cost 20, capacity 1) and a 2027 row (cost 20, capacity blank =
    # unlimited); D has a blank-period demand 5 and a 2027 demand 7.
    # 2026: 5 from S1 @10 = 50.  2027: 3 from S1 @15 + 4 from S2 @20 = 45 + 80 = 125.  Total 175.
    # (No cost override: 160; no S1 capacity override: 155; no demand override: 135; S2's blank
    # row capacity leaking into 2027: infeasible.)
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("D", "A")],
        Items=items("X"),
        Supply=[supply("S1", "X", 10), supply("S1", "X", 15, capacity=3, period="2027"),
                supply("S2", "X", 20, capacity=1), supply("S2", "X", 20, period="2027")],
        Demand=[demand("D", "X", 5), demand("D", "X", 7, period="2027")],
        Lanes=[lane("S1", "D"), lane("S2", "D")],
        Periods=[{"period": "2026"}, {"period": "2027"}],
    )
    assert_plan(result, 175, {
        ("2026", "X", "S1", "D"): 5,
        ("2027", "X", "S1", "D"): 3,
        ("2027", "X", "S2", "D"): 4,
    })
    by_key = {(r.period, r.origin): r.supply_unit_cost for r in result.flows.itertuples()}
    assert by_key == {("2026", "S1"): 10, ("2027", "S1"): 15, ("2027", "S2"): 20}


@HIGHS
def test_periods_sheet_order_and_unused_declared_period(solve_sheets, solver):
    # The Periods sheet lists 2027, 2026, 2028 in that (unsorted) order; all rows are blank-period,
    # so each declared period (2028 too, though nothing names it) needs 4 units @ 3 = 12: total 36.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S", "A"), site("D", "A")],
        Items=items("X"),
        Supply=[supply("S", "X", 3)],
        Demand=[demand("D", "X", 4)],
        Lanes=[lane("S", "D")],
        Periods=[{"period": "2027"}, {"period": "2026"}, {"period": "2028"}],
    )
    assert_plan(result, 36, {(p, "X", "S", "D"): 4 for p in ("2026", "2027", "2028")})
    assert list(result.flows["period"]) == ["2027", "2026", "2028"]
    assert result.formulation.network.periods == ("2027", "2026", "2028")
    summary = dict(zip(result.summary["field"], result.summary["value"], strict=True))
    assert summary["Periods"] == "2027, 2026, 2028"


@HIGHS
def test_periods_default_to_sorted_distinct_values_of_every_period_column(solve_sheets, solver):
    # No Periods sheet: periods are the sorted distinct values of Supply (2027, 2025) and
    # Tariffs (2026) period columns: 2025, 2026, 2027; the blank-period demand (4) exists in all.
    # S1 only has 2025 (@12) and 2027 (@10) rows; S2 (@50) has a blank row, taxed 10% in 2026.
    # 2025: 4 @12 = 48.  2026: 4 @50*1.1 = 220.  2027: 4 @10 = 40.  Total 308, tariffs 4*5 = 20.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "B"), site("D", "A")],
        Items=items("X"),
        Supply=[supply("S1", "X", 10, period="2027"), supply("S1", "X", 12, period="2025"),
                supply("S2", "X", 50)],
        Demand=[demand("D", "X", 4)],
        Lanes=[lane("S1", "D"), lane("S2", "D")],
        Tariffs=[tariff("S2", 0.1, period="2026")],
    )
    assert_plan(result, 308, {
        ("2025", "X", "S1", "D"): 4,
        ("2026", "X", "S2", "D"): 4,
        ("2027", "X", "S1", "D"): 4,
    })
    assert list(result.flows["period"]) == ["2025", "2026", "2027"]
    assert result.costs["tariffs"] == approx(20)
    assert result.costs["supply"] == approx(48 + 200 + 40)


@HIGHS
def test_no_period_anywhere_gives_one_implicit_period(solve_sheets, solver):
    # One period labelled "all": 6 units @ (2 supply + 1 lane) = 18.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S", "A"), site("D", "A")],
        Items=items("X"),
        Supply=[supply("S", "X", 2)],
        Demand=[demand("D", "X", 6)],
        Lanes=[lane("S", "D", unit_cost=1)],
    )
    assert_plan(result, 18, {("all", "X", "S", "D"): 6})
    assert result.formulation.network.periods == ("all",)


PERIOD_CASE_SHEETS = dict(
    Sites=[site("S", "A"), site("D", "A")],
    Items=items("X"),
    Supply=[supply("S", "X", 1, period="Q1")],
    Demand=[demand("D", "X", 2, period="q1"), demand("D", "X", 5)],
    Lanes=[lane("S", "D")],
)


def test_period_names_match_case_insensitively_with_periods_sheet(solve_sheets):
    # Periods sheet "Q1": the Supply row "Q1" and the Demand row "q1" both fall in it, and the
    # q1 row overrides the blank-period demand: 2 units @1 = 2.
    result = solve_sheets(Periods=[{"period": "Q1"}], **PERIOD_CASE_SHEETS)
    assert_plan(result, 2, {("Q1", "X", "S", "D"): 2})


def test_derived_periods_equal_declaring_them(solve_sheets):
    # Same rows without a Periods sheet must give the same plan as declaring the period: 2.
    result = solve_sheets(**PERIOD_CASE_SHEETS)
    assert result.status == "optimal", result.message
    assert len(result.formulation.network.periods) == 1
    assert result.total_cost == approx(2)
    assert result.flows["quantity"].tolist() == [approx(2)]


# --------------------------------------------------------------------------- lanes


@SOLVERS
def test_blank_item_lane_capacity_is_shared_by_all_items_per_period(solve_sheets, solver):
    # S1 -> D blank-item row capacity 8 bounds X and Y together, Y included although it has its
    # own (uncapped) item row. Per period: X 6, Y 4. S1 costs 1 for both; S2 costs X 7, Y 5.
    # Cheapest: S1 ships 8 = X 6 + Y 2, S2 ships Y 2: 6 + 2 + 10 = 18 per period, 36 for two.
    # (Capacity ignoring Y's own row: 10; capacity over both periods together: far higher.)
    sheets = dict(
        Sites=[site("S1", "A"), site("S2", "A"), site("D", "A")],
        Items=items("X", "Y"),
        Supply=[supply("S1", "X", 1), supply("S1", "Y", 1), supply("S2", "X", 7), supply("S2", "Y", 5)],
        Demand=[demand("D", "X", 6), demand("D", "Y", 4)],
        Lanes=[lane("S1", "D", capacity=8), lane("S1", "D", item="Y"), lane("S2", "D")],
        Periods=[{"period": "2026"}, {"period": "2027"}],
    )
    result = solve_sheets(solver=solver, **sheets)
    expected = {}
    for p in ("2026", "2027"):
        expected |= {(p, "X", "S1", "D"): 6, (p, "Y", "S1", "D"): 2, (p, "Y", "S2", "D"): 2}
    assert_plan(result, 36, expected)
    util = result.utilization
    pair = util[(util["resource"] == "lane") & (util["item"] == "(all items)")]
    assert sorted(pair["period"]) == ["2026", "2027"]
    assert list(pair["used"]) == [approx(8), approx(8)]
    assert pair["at_capacity"].all()


@SOLVERS
def test_item_lane_has_its_own_capacity(solve_sheets, solver):
    # S1 -> D: item row X capacity 3; blank-item row uncapped (serves Y). S1 costs 1, S2 costs 4
    # (S2 only supplies X). Per period: X 3 @1 + 2 @4 = 11, Y 5 @1 = 5 -> 16; two periods 32.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("D", "A")],
        Items=items("X", "Y"),
        Supply=[supply("S1", "X", 1), supply("S1", "Y", 1), supply("S2", "X", 4)],
        Demand=[demand("D", "X", 5), demand("D", "Y", 5)],
        Lanes=[lane("S1", "D", item="X", capacity=3), lane("S1", "D"), lane("S2", "D")],
        Periods=[{"period": "2026"}, {"period": "2027"}],
    )
    expected = {}
    for p in ("2026", "2027"):
        expected |= {(p, "X", "S1", "D"): 3, (p, "X", "S2", "D"): 2, (p, "Y", "S1", "D"): 5}
    assert_plan(result, 32, expected)


@SOLVERS
def test_item_lane_cost_replaces_blank_row_cost(solve_sheets, solver):
    # S1 -> D costs 5 for all items but 1 for X (item row); S2 -> D costs 3; both supply @10.
    # X: S1 10+1 = 11 < S2 13.  Y: S1 10+5 = 15 > S2 13.  2*11 + 3*13 = 22 + 39 = 61.
    # (Costs added 1+5, or item row ignored: X via S2, 65.)
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("D", "A")],
        Items=items("X", "Y"),
        Supply=[supply(s, i, 10) for s in ("S1", "S2") for i in ("X", "Y")],
        Demand=[demand("D", "X", 2), demand("D", "Y", 3)],
        Lanes=[lane("S1", "D", unit_cost=5), lane("S1", "D", item="X", unit_cost=1),
               lane("S2", "D", unit_cost=3)],
    )
    assert_plan(result, 61, {("all", "X", "S1", "D"): 2, ("all", "Y", "S2", "D"): 3})
    lane_cost = {r.item: r.lane_unit_cost for r in result.flows.itertuples()}
    assert lane_cost == {"X": 1, "Y": 3}
    assert result.costs["transport"] == approx(2 * 1 + 3 * 3)


@SOLVERS
def test_blank_lane_unit_cost_is_zero(solve_sheets, solver):
    # S1 -> D has no unit_cost (0): 10 + 0 = 10 beats S2's 9.5 + 1 = 10.5, for 4 units: 40.
    # S3 -> D costs 5 for all items, but its item row for Y has a blank unit_cost: Y costs
    # 6 + 0 = 6 from S3, beating S1 at 10 (S3 has capacity 2 for Y): Y 2 @6 + 1 @10 = 22.
    # Total 40 + 22 = 62, transport 0.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("S3", "A"), site("D", "A")],
        Items=items("X", "Y"),
        Supply=[supply("S1", "X", 10), supply("S1", "Y", 10), supply("S2", "X", 9.5),
                supply("S3", "Y", 6, capacity=2)],
        Demand=[demand("D", "X", 4), demand("D", "Y", 3)],
        Lanes=[lane("S1", "D"), lane("S2", "D", unit_cost=1), lane("S3", "D", unit_cost=5),
               lane("S3", "D", item="Y")],
    )
    assert_plan(result, 62, {
        ("all", "X", "S1", "D"): 4,
        ("all", "Y", "S3", "D"): 2,
        ("all", "Y", "S1", "D"): 1,
    })
    assert result.costs["transport"] == approx(0)


@HIGHS
def test_flows_need_a_lane_supply_and_demand(solve_sheets, solver):
    # S2 is cheapest (1) but has no lane to D; S3 has a lane but does not supply X; H has a lane
    # from S1 but no demand. Only S1 -> D (@4) can serve: 5 * 4 = 20.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("S3", "A"), site("D", "A"), site("H", "A")],
        Items=items("X", "Y"),
        Supply=[supply("S1", "X", 4), supply("S2", "X", 1), supply("S3", "Y", 0)],
        Demand=[demand("D", "X", 5)],
        Lanes=[lane("S1", "D"), lane("S3", "D"), lane("S1", "H"), lane("S2", "H")],
    )
    assert_plan(result, 20, {("all", "X", "S1", "D"): 5})
    assert result.formulation.n_flows == 1


# --------------------------------------------------------------------------- supply


@SOLVERS
def test_supply_capacity_bounds_total_outflow_per_period(solve_sheets, solver):
    # S1 (@1, capacity 4 per period) serves D1 (lane 0) and D2 (lane 1); S2 (@3) serves both (lane 0).
    # D1 3, D2 3: S1 -> D1 3 @1 + S1 -> D2 1 @2 + S2 -> D2 2 @3 = 3 + 2 + 6 = 11 per period
    # (the other split, S1 -> D2 3, costs 13); two periods: 22.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("D1", "A"), site("D2", "A")],
        Items=items("X"),
        Supply=[supply("S1", "X", 1, capacity=4), supply("S2", "X", 3)],
        Demand=[demand("D1", "X", 3), demand("D2", "X", 3)],
        Lanes=[lane("S1", "D1"), lane("S1", "D2", unit_cost=1), lane("S2", "D1"), lane("S2", "D2")],
        Periods=[{"period": "P1"}, {"period": "P2"}],
    )
    expected = {}
    for p in ("P1", "P2"):
        expected |= {(p, "X", "S1", "D1"): 3, (p, "X", "S1", "D2"): 1, (p, "X", "S2", "D2"): 2}
    assert_plan(result, 22, expected)
    util = result.utilization
    s1 = util[(util["resource"] == "supply") & (util["site"] == "S1")]
    assert list(s1["used"]) == [approx(4), approx(4)]
    assert s1["at_capacity"].all()


@SOLVERS
def test_demand_beyond_supply_capacity_is_infeasible(solve_sheets, solver):
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("D", "A")],
        Items=items("X"),
        Supply=[supply("S1", "X", 1, capacity=4)],
        Demand=[demand("D", "X", 5)],
        Lanes=[lane("S1", "D")],
    )
    assert result.status == "infeasible"
    assert result.total_cost is None
    assert {"supply", "transport", "tariffs"} <= set(result.costs)
    assert all(v is None for v in result.costs.values())


# --------------------------------------------------------------------------- tariffs


@SOLVERS
def test_tariff_rows_matching_the_same_flow_add_up(solve_sheets, solver):
    # S1 (in CN, @100) matches two rows: origin S1 10% and origin country cn 5% -> 115 landed.
    # S2 (@112, capacity 6) is untaxed. Demand 10: 6 @112 + 4 @115 = 672 + 460 = 1132;
    # tariffs 4 * 0.15 * 100 = 60. (Only one row applying: S1 at 110 or 105 would take all 10.)
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "CN"), site("S2", "MX"), site("D", "US")],
        Items=items("X"),
        Supply=[supply("S1", "X", 100), supply("S2", "X", 112, capacity=6)],
        Demand=[demand("D", "X", 10)],
        Lanes=[lane("S1", "D"), lane("S2", "D")],
        Tariffs=[tariff("S1", 0.10), tariff("cn", 0.05)],
    )
    assert_plan(result, 1132, {("all", "X", "S1", "D"): 4, ("all", "X", "S2", "D"): 6})
    rate = {r.origin: r.tariff_rate for r in result.flows.itertuples()}
    assert rate == {"S1": approx(0.15), "S2": approx(0.0)}
    assert result.costs["tariffs"] == approx(60)
    assert result.costs["supply"] == approx(400 + 672)


@SOLVERS
def test_tariff_restricted_by_period_item_and_destination(solve_sheets, solver):
    # One row: origin S1, destination D1, item X, period 2027, rate 0.5. S1 @10, S2 @12 for all.
    # Only (2027, X, S1 -> D1) is taxed (15 > 12, so S2 serves it); every other of the
    # 2 periods x 3 demands (D1 X, D1 Y, D2 X, 1 unit each) comes from S1: 5 * 10 + 12 = 62.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S1", "A"), site("S2", "A"), site("D1", "B"), site("D2", "B")],
        Items=items("X", "Y"),
        Supply=[supply(s, i, c) for s, c in (("S1", 10), ("S2", 12)) for i in ("X", "Y")],
        Demand=[demand("D1", "X", 1), demand("D1", "Y", 1), demand("D2", "X", 1)],
        Lanes=[lane(s, d) for s in ("S1", "S2") for d in ("D1", "D2")],
        Tariffs=[tariff("S1", 0.5, destination="D1", item="X", period="2027")],
        Periods=[{"period": "2026"}, {"period": "2027"}],
    )
    expected = {}
    for p in ("2026", "2027"):
        expected |= {(p, "X", "S1", "D1"): 1, (p, "Y", "S1", "D1"): 1, (p, "X", "S1", "D2"): 1}
    del expected[("2027", "X", "S1", "D1")]
    expected[("2027", "X", "S2", "D1")] = 1
    assert_plan(result, 62, expected)
    assert result.costs["tariffs"] == approx(0)


@HIGHS
def test_tariff_selectors_by_group_tag_country_case_insensitive(solve_sheets, solver):
    # Group EU = {DE, FR}; group NA = {US, MX}. Five suppliers @10..50, capacity 1 each, demand 5 at
    # D (US), so every supplier ships 1 unit. Tariffs:
    #   origin "eu" (group, lower case)             10%  -> S_DE, S_FR
    #   origin "LowCost" (tag), destination "na"    20%  -> S_CN, S_VN (D is in NA)
    #   origin "ASIA" (tag), destination "Eu"      100%  -> no flow (D is not in EU)
    # Supply 10+20+30+40+50 = 150; tariffs 1 + 2 + 6 + 8 = 17; total 167.
    result = solve_sheets(
        solver=solver,
        Sites=[site("S_DE", "DE"), site("S_FR", "FR"), site("S_CN", "CN", "lowcost"),
               site("S_VN", "VN", "lowcost; asia"), site("S_US", "US"), site("D", "US")],
        Groups=[{"group": "EU", "country": "DE"}, {"group": "EU", "country": "FR"},
                {"group": "NA", "country": "US"}, {"group": "NA", "country": "MX"}],
        Items=items("X"),
        Supply=[supply(s, "X", c, capacity=1) for s, c in
                (("S_DE", 10), ("S_FR", 20), ("S_CN", 30), ("S_VN", 40), ("S_US", 50))],
        Demand=[demand("D", "X", 5)],
        Lanes=[lane(s, "D") for s in ("S_DE", "S_FR", "S_CN", "S_VN", "S_US")],
        Tariffs=[tariff("eu", 0.1), tariff("LowCost", 0.2, destination="na"),
                 tariff("ASIA", 1.0, destination="Eu")],
    )
    assert_plan(result, 167, {("all", "X", s, "D"): 1 for s in ("S_DE", "S_FR", "S_CN", "S_VN", "S_US")})
    rate = {r.origin: r.tariff_rate for r in result.flows.itertuples()}
    assert rate == {"S_DE": approx(0.1), "S_FR": approx(0.1), "S_CN": approx(0.2),
                    "S_VN": approx(0.2), "S_US": approx(0.0)}
    assert result.costs["tariffs"] == approx(17)


@HIGHS
def test_tariff_item_category_changes_the_choice(solve_sheets, solver):
    # Items cell_a, cell_b (category "cells") and pack (category "packs"). Tariff on origin F
    # for items "CELLS" (category, upper case) at 50%: F @10 -> 15 for cells, 10 for the pack;
    # L @12 everywhere. 1 unit each: cells from L 2 * 12 = 24, pack from F 10; total 34.
    result = solve_sheets(
        solver=solver,
        Sites=[site("L", "US"), site("F", "CN"), site("D", "US")],
        Items=items("cell_a", "cell_b", category="cells") + items("pack", category="packs"),
        Supply=[supply(s, i, c) for s, c in (("L", 12), ("F", 10)) for i in ("cell_a", "cell_b", "pack")],
        Demand=[demand("D", i, 1) for i in ("cell_a", "cell_b", "pack")],
        Lanes=[lane("L", "D"), lane("F", "D")],
        Tariffs=[tariff("F", 0.5, item="CELLS")],
    )
    assert_plan(result, 34, {("all", "cell_a", "L", "D"): 1, ("all", "cell_b", "L", "D"): 1,
                             ("all", "pack", "F", "D"): 1})


# --------------------------------------------------------------------------- policy rules
#
# Shared network: L (country US) supplies at l_cost, F (country CN) at f_cost; D1 and D2 (US)
# demand 10 each. Lanes: L -> D1 0, L -> D2 30, F -> D1 0, F -> D2 0. Baseline: all from F.


def rule_sheets(policies, l_cost=20, f_cost=5, l_capacity=None, periods=None):
    sheets = dict(
        Sites=[site("L", "US", "local"), site("F", "CN", "import"), site("D1", "US"), site("D2", "US")],
        Items=items("X"),
        Supply=[supply("L", "X", l_cost, capacity=l_capacity), supply("F", "X", f_cost)],
        Demand=[demand("D1", "X", 10), demand("D2", "X", 10)],
        Lanes=[lane("L", "D1"), lane("L", "D2", unit_cost=30), lane("F", "D1"), lane("F", "D2")],
        Policies=policies,
    )
    if periods:
        sheets["Periods"] = [{"period": p} for p in periods]
    return sheets


def assert_shares_at_their_bound(result, basis, scope, sense, bound, measured):
    """The Compliance rows of the share rule on Policies row 2 (one for both destinations, or one each): each
    measures ``measured`` (from flow, total flow in the rule's basis), and sits at its bound, binding."""
    rows = compliance_rows(result)
    assert set(rows) == ({("all", "(all)")} if scope == "total" else {("all", "D1"), ("all", "D2")})
    for r in rows.values():
        assert (r.from_flow, r.total_flow, r.share) == (approx(measured[0]), approx(measured[1]), approx(bound))
        assert (bool(r.binding), r.sense, r.bound, r.basis, r.scope, r.source) == (
            True, sense, approx(bound), basis, scope, "Policies row 2")


def plan(l1=0.0, f1=0.0, l2=0.0, f2=0.0, period="all"):
    out = {(period, "X", "L", "D1"): l1, (period, "X", "F", "D1"): f1,
           (period, "X", "L", "D2"): l2, (period, "X", "F", "D2"): f2}
    return {k: v for k, v in out.items() if v}


@HIGHS
def test_baseline_ignores_policies(solve_sheets, solver):
    # All 20 units from F @5 = 100; a policy set in the sheet changes nothing for "baseline".
    result = solve_sheets(solver=solver, **rule_sheets([rule("local", "min_share", 0.5, from_="US")]))
    assert_plan(result, 100, plan(f1=10, f2=10))
    assert result.compliance.empty


# min_share 0.5 from US into US (L 20, F 5), x_L + x_F = 10 per destination:
#   quantity/total:  x_L >= 10 overall, all into D1 (lane 0): 10*20 + 10*5 = 250
#   quantity/each:   x_L >= 5 per destination: D1 5*20 + 5*5 = 125; D2 5*50 + 5*5 = 275 -> 400
#   value/total:     20 x_L >= 0.5 (20 x_L + 5 x_F)  <=>  x_F <= 4 x_L  -> x_L = 4 (into D1):
#                    4*20 + 16*5 = 160
#   value/each:      x_L >= 2 per destination: D1 2*20 + 8*5 = 80; D2 2*50 + 8*5 = 140 -> 220
MIN_SHARE_CASES = [  # ..., per compliance row: (from_flow, total_flow) in the rule's basis
    pytest.param("quantity", "total", 250, plan(l1=10, f2=10), (10, 20), id="quantity-total"),
    pytest.param("quantity", "each_destination", 400, plan(l1=5, f1=5, l2=5, f2=5), (5, 10),
                 id="quantity-each"),
    pytest.param("value", "total", 160, plan(l1=4, f1=6, f2=10), (4 * 20, 4 * 20 + 16 * 5), id="value-total"),
    pytest.param("value", "each_destination", 220, plan(l1=2, f1=8, l2=2, f2=8), (2 * 20, 2 * 20 + 8 * 5),
                 id="value-each"),
]


@SOLVERS
@pytest.mark.parametrize(("basis", "scope", "total", "flows", "measured"), MIN_SHARE_CASES)
def test_min_share_basis_and_scope(solve_sheets, solver, basis, scope, total, flows, measured):
    result = solve_sheets(policy="local", solver=solver, **rule_sheets(
        [rule("local", "min_share", 0.5, from_="US", to="US", basis=basis, scope=scope)]))
    assert_plan(result, total, flows)
    assert_shares_at_their_bound(result, basis, scope, ">=", 0.5, measured)


# max_share 0.75 from CN into D1;D2 with L @30, F @10 (L -> D2 lane 30, so L lands at 60 there):
#   quantity/total:  x_F <= 15 -> x_L = 5 into D1: 5*30 + 15*10 = 300
#   quantity/each:   x_F <= 7.5 per destination: D1 2.5*30 + 75 = 150; D2 2.5*60 + 75 = 225 -> 375
#   value/total:     10 x_F <= 0.75 (30 x_L + 10 x_F)  <=>  x_F <= 9 x_L -> x_L = 2 into D1:
#                    2*30 + 18*10 = 240
#   value/each:      x_L = 1 per destination: D1 30 + 90 = 120; D2 60 + 90 = 150 -> 270
MAX_SHARE_CASES = [  # ..., per compliance row: (from_flow, total_flow) in the rule's basis
    pytest.param("quantity", "total", 300, plan(l1=5, f1=5, f2=10), (15, 20), id="quantity-total"),
    pytest.param("quantity", "each_destination", 375, plan(l1=2.5, f1=7.5, l2=2.5, f2=7.5), (7.5, 10),
                 id="quantity-each"),
    pytest.param("value", "total", 240, plan(l1=2, f1=8, f2=10), (18 * 10, 2 * 30 + 18 * 10), id="value-total"),
    pytest.param("value", "each_destination", 270, plan(l1=1, f1=9, l2=1, f2=9), (9 * 10, 30 + 9 * 10),
                 id="value-each"),
]


@SOLVERS
@pytest.mark.parametrize(("basis", "scope", "total", "flows", "measured"), MAX_SHARE_CASES)
def test_max_share_basis_and_scope(solve_sheets, solver, basis, scope, total, flows, measured):
    result = solve_sheets(policy="cap_imports", solver=solver, **rule_sheets(
        [rule("cap_imports", "max_share", 0.75, from_="CN", to="D1;D2", basis=basis, scope=scope)],
        l_cost=30, f_cost=10))
    assert_plan(result, total, flows)
    assert_shares_at_their_bound(result, basis, scope, "<=", 0.75, measured)


@pytest.mark.parametrize(("basis", "scope", "solver"), [
    ("quantity", "total", "highs"), ("quantity", "each_destination", "highs"),
    ("value", "total", "highs"), ("value", "each_destination", "highs"),
    ("value", "total", "cbc"), ("quantity", "each_destination", "cbc"),
])
def test_exclude_forbids_flow_whatever_the_basis_and_scope(solve_sheets, solver, basis, scope):
    # No flow from CN into D1: D1 10 from L @20 = 200; D2 still all from F: 50. Total 250.
    # Basis and scope do not change an exclusion; the compliance row reports share 0 with the
    # measured flow in its basis (10 units, or 10 * 20 = 200 in value).
    result = solve_sheets(policy="no_cn", solver=solver, **rule_sheets(
        [rule("no_cn", "exclude", from_="cn", to="d1", basis=basis, scope=scope)]))
    assert_plan(result, 250, plan(l1=10, f2=10))
    rows = compliance_rows(result)
    key = ("all", "(all)") if scope == "total" else ("all", "D1")
    assert set(rows) == {key}
    r = rows[key]
    assert r.share == approx(0.0)
    assert r.from_flow == approx(0.0)
    assert r.total_flow == approx(10 if basis == "quantity" else 200)
    # F is cheaper than L into D1, so the exclusion costs money: it binds.
    assert bool(r.binding) is True


@SOLVERS
def test_value_basis_weights_by_supply_unit_cost_only(solve_sheets, solver):
    # min_share 0.5 from US (value, total) with a 100% tariff on F (landed 10) and the 30 lane to D2:
    # the weights stay the Supply unit_costs 20 and 5, so x_F <= 4 x_L as before -> x_L = 4 into
    # D1: 4*20 + 16*(5 + 5 tariff) = 80 + 160 = 240. (Weighting by landed cost, 10 for F:
    # x_F <= 2 x_L -> x_L = 20/3 -> 800/3.)
    sheets = rule_sheets([rule("local", "min_share", 0.5, from_="US", basis="value")])
    sheets["Tariffs"] = [tariff("F", 1.0)]
    result = solve_sheets(policy="local", solver=solver, **sheets)
    assert_plan(result, 240, plan(l1=4, f1=6, f2=10))
    r = compliance_rows(result)[("all", "(all)")]
    assert (r.from_flow, r.total_flow, r.share) == (approx(80), approx(160), approx(0.5))
    assert result.costs["tariffs"] == approx(80)


@SOLVERS
def test_rules_that_do_not_constrain_are_not_binding(solve_sheets, solver):
    # exclude US into D1 and max_share 0.5 from US into D1: L is dearer anyway, so the baseline
    # plan (all 20 from F @5 = 100) stands; both rows report share 0 and binding False.
    result = solve_sheets(policy="loose", solver=solver, **rule_sheets([
        rule("loose", "exclude", from_="US", to="D1"),
        rule("loose", "max_share", 0.5, from_="US", to="D1"),
    ]))
    assert_plan(result, 100, plan(f1=10, f2=10))
    c = result.compliance
    assert c["share"].tolist() == [approx(0.0), approx(0.0)]
    assert c["total_flow"].tolist() == [approx(50), approx(50)]  # 10 units @5 (value basis)
    assert [bool(b) for b in c["binding"]] == [False, False]


@SOLVERS
def test_exclude_each_destination_over_all_to_sites(solve_sheets, solver):
    # Exclude F (tag "Import") into every US site: D1 10 @20 + D2 10 @(20+30) = 200 + 500 = 700.
    result = solve_sheets(policy="no_imports", solver=solver, **rule_sheets(
        [rule("no_imports", "exclude", from_="Import", to="US", scope="each_destination")]))
    assert_plan(result, 700, plan(l1=10, l2=10))
    assert set(compliance_rows(result)) == {("all", "D1"), ("all", "D2")}


@SOLVERS
def test_rule_restricted_to_one_period(solve_sheets, solver):
    # min_share 0.5 (quantity, total) only in 2027. 2026: baseline, 20 from F @5 = 100.
    # 2027: as quantity/total above, 250. Total 350. Compliance has a 2027 row only.
    result = solve_sheets(policy="local", solver=solver, **rule_sheets(
        [rule("local", "min_share", 0.5, from_="US", basis="quantity", period="2027")],
        periods=["2026", "2027"]))
    assert_plan(result, 350, plan(f1=10, f2=10, period="2026") | plan(l1=10, f2=10, period="2027"))
    rows = compliance_rows(result)
    assert set(rows) == {("2027", "(all)")}
    assert rows[("2027", "(all)")].share == approx(0.5)


@pytest.mark.parametrize(("from_", "to"), [("US", "D1;D2"), ("us", "d1; D2"), ("Local", "uS"),
                                           ("l", "d1;d2")])
def test_rule_selectors_are_case_insensitive(solve_sheets, from_, to):
    # Country, tag and site-id spellings of the same selection all give the quantity/total
    # min_share optimum of 250 (L -> D1 10, F -> D2 10).
    result = solve_sheets(policy="LOCAL", **rule_sheets(
        [rule("local", "min_share", 0.5, from_=from_, to=to, basis="quantity")]))
    assert_plan(result, 250, plan(l1=10, f2=10))
    assert result.compliance["share"].tolist() == [approx(0.5)]


@SOLVERS
def test_policy_rows_sharing_a_name_form_one_set_with_binding_flags(solve_sheets, solver):
    # Two rows of set "mix": min_share 0.5 (quantity) from US, and max_share 0.9 from CN.
    # The min_share plan (250, L -> D1 10, F -> D2 10) has a CN share of 10/20 = 0.5 <= 0.9:
    # the first row binds, the second does not. A second set "other" is not applied.
    result = solve_sheets(policy="mix", solver=solver, **rule_sheets([
        rule("mix", "min_share", 0.5, from_="US", basis="quantity"),
        rule("other", "exclude", from_="US"),
        rule("Mix", "max_share", 0.9, from_="CN", basis="quantity"),
    ]))
    assert_plan(result, 250, plan(l1=10, f2=10))
    c = result.compliance.set_index("source")
    assert list(c.index) == ["Policies row 2", "Policies row 4"]
    assert c.loc["Policies row 2", "share"] == approx(0.5)
    assert bool(c.loc["Policies row 2", "binding"]) is True
    assert c.loc["Policies row 4", "share"] == approx(0.5)
    assert bool(c.loc["Policies row 4", "binding"]) is False


@HIGHS
def test_min_share_on_item_category(solve_sheets, solver):
    # Items cell_a, cell_b (category "cells"), pack ("packs"); L @20, F @5, 1 unit each into D.
    # min_share 1.0 from US for items "CELLS" (category): cells from L (2 * 20), the pack stays
    # with F (5): 45. The same rule naming "cell_a;Packs" (an id and a category) forces cell_a
    # and the pack to L instead: 20 + 5 + 20 = 45 as well, but with different flows.
    base = dict(
        Sites=[site("L", "US"), site("F", "CN"), site("D", "US")],
        Items=items("cell_a", "cell_b", category="cells") + items("pack", category="packs"),
        Supply=[supply(s, i, c) for s, c in (("L", 20), ("F", 5)) for i in ("cell_a", "cell_b", "pack")],
        Demand=[demand("D", i, 1) for i in ("cell_a", "cell_b", "pack")],
        Lanes=[lane("L", "D"), lane("F", "D")],
    )
    result = solve_sheets(policy="p", solver=solver, Policies=[
        rule("p", "min_share", 1.0, items="CELLS", from_="US", basis="quantity")], **base)
    assert_plan(result, 45, {("all", "cell_a", "L", "D"): 1, ("all", "cell_b", "L", "D"): 1,
                             ("all", "pack", "F", "D"): 1})
    assert result.compliance["share"].tolist() == [approx(1.0)]
    result = solve_sheets(policy="p", solver=solver, Policies=[
        rule("p", "min_share", 1.0, items="cell_a;Packs", from_="US", basis="quantity")], **base)
    assert_plan(result, 45, {("all", "cell_a", "L", "D"): 1, ("all", "cell_b", "F", "D"): 1,
                             ("all", "pack", "L", "D"): 1})


@SOLVERS
def test_infeasible_min_share(solve_sheets, solver):
    # L can supply only 3 of the 20 units, so a 50% quantity share from US cannot be reached.
    result = solve_sheets(policy="local", solver=solver, **rule_sheets(
        [rule("local", "min_share", 0.5, from_="US", basis="quantity")], l_capacity=3))
    assert result.status == "infeasible"
    assert result.total_cost is None
    assert result.flows.empty
    # Reachable when the share asked for is within L's capacity: 3 / 20 = 0.15 ->
    # L -> D1 3 @20 + F 17 @5 = 60 + 85 = 145.
    result = solve_sheets(policy="local", solver=solver, **rule_sheets(
        [rule("local", "min_share", 0.15, from_="US", basis="quantity")], l_capacity=3))
    assert_plan(result, 145, plan(l1=3, f1=7, f2=10))
