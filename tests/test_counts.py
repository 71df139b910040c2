"""Supplier-count rules and threshold credits: what counts, where a rule applies, and why a plan is
impossible, with optima worked out by hand."""

from __future__ import annotations

import pytest

US = "United States"


def sites(*names, country=US):
    return [{"site": n, "country": country} for n in names]


def flows_of(result) -> dict[tuple[str, str, str, str], float]:
    return {(r.period, r.item, r.origin, r.destination): r.quantity for r in result.flows.itertuples()}


def three_suppliers(policies, b_capacity=39.6):
    """A (10, cap 60), B (12, cap b_capacity) and C (30, unlimited) deliver cells to P, which needs 100."""
    return dict(
        Sites=sites("A", "P") + sites("B", country="Canada") + sites("C", country="China"),
        Items=[{"item": "cells"}],
        Supply=[{"site": "A", "item": "cells", "capacity": 60, "unit_cost": 10},
                {"site": "B", "item": "cells", "capacity": b_capacity, "unit_cost": 12},
                {"site": "C", "item": "cells", "unit_cost": 30}],
        Demand=[{"site": "P", "item": "cells", "quantity": 100}],
        Lanes=[{"origin": o, "destination": "P", "unit_cost": 0} for o in "ABC"],
        Policies=policies)


def test_a_small_delivery_that_does_not_count_is_allowed(solve_sheets):
    # Baseline: A 60 + B 39.6 + C 0.4 = 600 + 475.2 + 12 = 1087.2. Under min_suppliers 2, A and B each
    # deliver at least 1% of P's 100, so they count and the rule holds: the same plan. C's 0.4 is below
    # 1% and does not count, and it is not forced to zero (forcing it to 0 or >= 1 would give 1098).
    sheets = three_suppliers([{"policy": "two", "rule": "min_suppliers", "items": "cells", "to": "P", "value": 2}])
    assert solve_sheets(**sheets).total_cost == pytest.approx(1087.2)
    result = solve_sheets(policy="two", **sheets)
    assert result.total_cost == pytest.approx(1087.2)
    assert flows_of(result)[("all", "cells", "C", "P")] == pytest.approx(0.4)
    row = result.compliance.iloc[0]
    assert (row["from_flow"], row["total_flow"], row["bound"], bool(row["met"])) == (2.0, pytest.approx(100.0), 2.0,
                                                                                     True)


def test_a_third_supplier_must_deliver_one_percent_of_the_inbound(solve_sheets):
    # min_suppliers 3: C must count, i.e. deliver at least 1 (1% of 100): A 60, B 39, C 1:
    # 600 + 468 + 30 = 1098.
    sheets = three_suppliers([{"policy": "three", "rule": "min_suppliers", "to": "P", "value": 3}])
    result = solve_sheets(policy="three", **sheets)
    assert result.total_cost == pytest.approx(1098.0)
    assert flows_of(result)[("all", "cells", "C", "P")] == pytest.approx(1.0)
    assert result.compliance.iloc[0]["from_flow"] == 3.0


def cell_plant(policies):
    """K makes cells (5 per GWh) from 1 kt CAM per GWh, bought at X (10, US) or Y (20, Korea); the pack
    plant P needs 10 GWh in 2026 and nothing in 2027. K itself has no Demand row."""
    return dict(
        Sites=sites("X", "K", "P") + sites("Y", country="Korea"),
        Items=[{"item": "cells"}, {"item": "cam"}],
        BOM=[{"item": "cells", "input": "cam", "quantity": 1, "site": "K"}],
        Supply=[{"site": "X", "item": "cam", "unit_cost": 10}, {"site": "Y", "item": "cam", "unit_cost": 20},
                {"site": "K", "item": "cells", "unit_cost": 5}],
        Demand=[{"site": "P", "item": "cells", "period": 2026, "quantity": 10}],
        Lanes=[{"origin": "X", "destination": "K"}, {"origin": "Y", "destination": "K"},
               {"origin": "K", "destination": "P"}],
        Periods=[{"period": 2026}, {"period": 2027}],
        Policies=policies)


def test_min_suppliers_into_a_consuming_plant_applies_only_where_it_receives(solve_sheets):
    # 2026: K receives 10 kt of CAM, so X and Y must each deliver >= 0.1: X 9.9 * 10 + Y 0.1 * 20 + cells
    # 10 * 5 = 99 + 2 + 50 = 151. 2027: K receives nothing and needs no suppliers: 0. Baseline: 150.
    sheets = cell_plant([{"policy": "dual", "rule": "min_suppliers", "items": "cam", "to": "K", "value": 2}])
    assert solve_sheets(**sheets).total_cost == pytest.approx(150.0)
    result = solve_sheets(policy="dual", **sheets)
    assert result.total_cost == pytest.approx(151.0)
    flows = flows_of(result)
    assert flows[("2026", "cam", "Y", "K")] == pytest.approx(0.1)
    assert not any(period == "2027" for period, *_ in flows)
    rows = result.compliance.set_index("period")
    assert (rows.loc["2026", "from_flow"], bool(rows.loc["2026", "met"])) == (2.0, True)
    assert (rows.loc["2027", "from_flow"], rows.loc["2027", "total_flow"], bool(rows.loc["2027", "met"])) == (
        0.0, 0.0, True)


def test_max_suppliers_count_every_positive_delivery(solve_sheets):
    # single_source into P: no single site can deliver 100 but C (unlimited): 3000.
    sheets = three_suppliers([{"policy": "one", "rule": "single_source", "to": "P"}])
    result = solve_sheets(policy="one", **sheets)
    assert result.total_cost == pytest.approx(3000.0)
    row = result.compliance.iloc[0]
    assert (row["from_flow"], row["sense"], row["bound"], bool(row["met"])) == (1.0, "<=", 1.0, True)


def test_an_unreachable_supplier_count_is_named_by_its_policies_row(solve_sheets):
    # Only A can reach P, and P must receive its 100: two suppliers cannot be found.
    sheets = three_suppliers([{"policy": "two", "rule": "min_suppliers", "items": "cells", "to": "P", "value": 2}])
    sheets["Lanes"] = [{"origin": "A", "destination": "P"}]
    sheets["Supply"] = [{"site": "A", "item": "cells", "unit_cost": 10}]
    result = solve_sheets(policy="two", **sheets)
    assert result.status == "infeasible"
    finding = result.diagnosis[0]
    assert (finding["kind"], finding["sheet"], finding["row"]) == ("rule_unreachable", "Policies", 2)
    assert finding["message"] == ("Policies row 2 (two, min_suppliers cells into P): at least 2 suppliers "
                                  "required into P, but only 1 can deliver there (A)")
    assert finding["numbers"]["reachable"] == 1 and finding["numbers"]["suppliers"] == "A"


# ------------------------------------------------------------------ threshold credits


def credit_case(rule_period=None, rule_scope=None, rule_to="D1;D2", credit_to="D1;D2", own_cells_at_d2=False):
    """D1 and D2 each need 100 cells in 2026 and 2027 from US supplier A (10) or Chinese B (6). A 50%
    US-content rule (by quantity) earns a threshold credit of 3 per unit of demand where it holds.
    Meeting it costs 50 * 4 = 200 per site and period against a credit of 300, so it pays wherever
    the credit can be earned. With ``own_cells_at_d2``, D2 makes its own cells (2 each) and receives none."""
    supply = [{"site": "A", "item": "cells", "unit_cost": 10}, {"site": "B", "item": "cells", "unit_cost": 6}]
    lanes = [{"origin": s, "destination": d} for s in "AB" for d in ("D1", "D2")]
    if own_cells_at_d2:
        supply.append({"site": "D2", "item": "cells", "unit_cost": 2})
        lanes = [lane for lane in lanes if lane["destination"] == "D1"]
    return dict(
        Sites=sites("A", "D1", "D2") + sites("B", country="China"), Items=[{"item": "cells"}],
        Supply=supply, Demand=[{"site": d, "item": "cells", "quantity": 100} for d in ("D1", "D2")],
        Lanes=lanes, Periods=[{"period": 2026}, {"period": 2027}],
        Policies=[{"policy": "c", "rule": "min_share", "from": US, "to": rule_to, "value": 0.5, "basis": "quantity",
                   "period": rule_period, "scope": rule_scope},
                  {"policy": "c", "rule": "threshold_credit", "to": credit_to, "value": 3, "requires": 2}])


def test_a_threshold_credit_is_earned_only_in_periods_its_rule_covers(solve_sheets):
    # The rule covers 2026 only: 2026 complies (2 sites: 2 * (500 + 300) - 600 = 1000); 2027 buys all from
    # B (2 * 600 = 1200) and earns nothing. Total 2200 (an uncovered period counted as met would give 1600).
    result = solve_sheets(policy="c", **credit_case(rule_period=2026))
    assert result.total_cost == pytest.approx(2200.0)
    assert result.costs["credits"] == pytest.approx(-600.0)


def test_a_threshold_credit_is_earned_only_at_sites_its_rule_covers(solve_sheets):
    # each_destination rule on D1 only; credit at D1 and D2: D1 complies (800 - 300 = 500), D2 buys from B
    # (600) and earns nothing: per period 1100, total 2200.
    result = solve_sheets(policy="c", **credit_case(rule_scope="each_destination", rule_to="D1"))
    assert result.total_cost == pytest.approx(2200.0)
    assert result.costs["credits"] == pytest.approx(-600.0)


def test_a_share_rule_with_nothing_flowing_in_holds(solve_sheets):
    # D2 makes its own cells and receives none: its each_destination row holds, so its credit is earned:
    # per period D1 800 - 300 + D2 200 - 300 = 400; total 800.
    result = solve_sheets(policy="c", **credit_case(rule_scope="each_destination", own_cells_at_d2=True))
    assert result.total_cost == pytest.approx(800.0)
    assert result.costs["credits"] == pytest.approx(-1200.0)


def test_a_supplier_limit_no_plan_can_meet_is_explained_by_its_policies_row(solve_sheets):
    # single_source into P, but A (60), B (39.6) and C (now 10) are all needed to deliver its 100.
    sheets = three_suppliers([{"policy": "one", "rule": "single_source", "to": "P"}])
    sheets["Supply"][2]["capacity"] = 10
    result = solve_sheets(policy="one", **sheets)
    assert result.status == "infeasible"
    [finding] = result.diagnosis
    assert (finding["sheet"], finding["row"], finding["numbers"]["possible"]) == ("Policies", 2, 3.0)
    assert finding["message"] == ("Policies row 2 (one, single_source all items into P): at most 1 supplier "
                                  "allowed into P, but at least 3 are needed to meet its demand (suppliers that "
                                  "can deliver there: A, B, C)")
