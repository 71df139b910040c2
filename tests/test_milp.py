"""Multi-tier networks (BOM, transshipment, throughput) and discrete sourcing options (MILP),
with exact optimal costs worked out by hand, and the OR-Library capacitated warehouse instances."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from networks import US, hub, sites, two_tier

from optimizer import WorkbookError, load_workbook, solve, write_workbook

# ------------------------------------------------------------------ bill of materials


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_two_tier_bom(solve_sheets, solver):
    # 30 GWh of cells need 60 kt CAM: 40 from M1 (10 + 0.5) and 20 from M2 (12).
    # cost = 30 * 20 + 30 * 1 + 40 * 10.5 + 20 * 12 = 600 + 30 + 420 + 240 = 1290
    result = solve_sheets(solver=solver, **two_tier())
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(1290.0)
    assert result.costs["supply"] == pytest.approx(600 + 400 + 240)
    flows = result.flows.set_index(["item", "origin", "destination"])["quantity"]
    assert flows[("cam", "M1", "C")] == pytest.approx(40.0)
    assert flows[("cam", "M2", "C")] == pytest.approx(20.0)
    used = result.utilization.set_index(["site", "item"])["used"]
    assert used[("C", "cells")] == pytest.approx(30.0)


def test_flows_show_what_the_goods_cost_where_the_rules_value_them_otherwise(solve_sheets):
    # M1 has room for all 60 kt of CAM: landed at C at 10 + 0.5. The cells C ships cost 20 + 2 x 10.5 = 41 a GWh,
    # what the plan paid (the Flows' supply_unit_cost), landed at P at 41 + 1 = 42: the plan's 1260 over the
    # 30 GWh. The rules' valuation of C's cells is 20 + 2 x the plain mean of the CAM prices, (10 + 12) / 2: 42.
    result = solve_sheets(**two_tier(Supply=[
        {"site": "C", "item": "cells", "unit_cost": 20, "capacity": 100},
        {"site": "M1", "item": "cam", "unit_cost": 10, "capacity": 60},
        {"site": "M2", "item": "cam", "unit_cost": 12, "capacity": 50}]))
    assert result.total_cost == pytest.approx(30 * 20 + 30 * 1 + 60 * 10.5)
    flows = result.flows.set_index(["item", "origin"])
    cells, cam = flows.loc[("cells", "C")], flows.loc[("cam", "M1")]
    assert (cells["supply_unit_cost"], cells["valuation_unit_cost"], cells["landed_unit_cost"]) == (
        pytest.approx(41.0), pytest.approx(42.0), pytest.approx(42.0))
    assert cells["total_cost"] == pytest.approx(result.total_cost)
    # a supplier's goods cost what it charges: single tier, the paid cost is the Supply unit_cost
    assert (cam["supply_unit_cost"], cam["valuation_unit_cost"], cam["landed_unit_cost"]) == (
        pytest.approx(10.0), pytest.approx(10.0), pytest.approx(10.5))


def test_site_specific_bom_replaces_the_general_recipe(solve_sheets):
    # C has its own recipe (1.5 kt per GWh): 45 kt, all from M1 (capacity 40) + 5 from M2.
    # cost = 600 + 30 + 40 * 10.5 + 5 * 12 = 1110
    sheets = two_tier(BOM=[{"item": "cells", "input": "cam", "quantity": 2},
                           {"item": "cells", "input": "cam", "quantity": 1.5, "site": "C"}])
    assert solve_sheets(**sheets).total_cost == pytest.approx(1110.0)


def test_bom_inputs_must_arrive_in_the_same_period(solve_sheets):
    # M1 only supplies CAM in period 2: period 1 must use M2 (capacity 50 < 60 needed): infeasible.
    sheets = two_tier(Periods=[{"period": 1}, {"period": 2}],
                      Supply=[{"site": "C", "item": "cells", "unit_cost": 20, "capacity": 100},
                              {"site": "M1", "item": "cam", "unit_cost": 10, "capacity": 40, "period": 2},
                              {"site": "M2", "item": "cam", "unit_cost": 12, "capacity": 50}])
    result = solve_sheets(**sheets)
    assert result.status == "infeasible"
    assert result.diagnosis


def test_validation_of_the_bom(make_workbook):
    path = make_workbook(**two_tier(BOM=[
        {"item": "cells", "input": "cam", "quantity": 2},
        {"item": "cam", "input": "cells", "quantity": 1},      # cycle cells -> cam -> cells
        {"item": "cells", "input": "lithium", "quantity": 1},  # unknown item
        {"item": "cells", "input": "cam", "quantity": 0, "site": "C"},  # quantity must be > 0
    ], Items=[{"item": "cells"}, {"item": "cam"}, {"item": "graphite"}],
        Policies=[{"policy": "p", "rule": "max_suppliers", "items": "cam", "value": 1.5}]))
    with pytest.raises(WorkbookError) as caught:
        load_workbook(path)
    found = {(p.sheet, p.row, p.column): p.message for p in caught.value.problems}
    assert "the BOM has a cycle" in found[("BOM", 3, "input")]
    assert found[("BOM", 4, "input")] == "'lithium' is not an item in Items"
    assert "expected a number > 0" in found[("BOM", 5, "quantity")]
    assert "whole number" in found[("Policies", 2, "value")]


def test_an_input_no_one_supplies_is_an_error(make_workbook):
    path = make_workbook(**two_tier(Items=[{"item": "cells"}, {"item": "cam"}, {"item": "graphite"}],
                                    BOM=[{"item": "cells", "input": "cam", "quantity": 2},
                                         {"item": "cells", "input": "graphite", "quantity": 1}]))
    with pytest.raises(WorkbookError) as caught:
        load_workbook(path)
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("BOM", 3, "input")
    assert "no site supplies" in problem.message


# ------------------------------------------------------------------ transshipment and throughput


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_transshipment_through_a_hub(solve_sheets, solver):
    # Through the hub: 50 * (100 + 7) = 5350.
    result = solve_sheets(solver=solver, **hub())
    assert result.total_cost == pytest.approx(5350.0)
    assert result.costs["transport"] == pytest.approx(350.0)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_throughput_limits_what_a_hub_passes_on(solve_sheets, solver):
    # The hub takes at most 20: 20 * 107 + 30 * 110 = 5440.
    result = solve_sheets(solver=solver, **hub(throughput=20))
    assert result.total_cost == pytest.approx(5440.0)
    flows = result.flows.set_index(["origin", "destination"])["quantity"]
    assert flows[("S", "H")] == pytest.approx(20.0)


# ------------------------------------------------------------------ discrete options


def fixed_cost_case(**supply_extra):
    """A (cost 5, fixed 300) and B (cost 8) serve D, which needs 100 per period in 2 periods."""
    return dict(
        Sites=sites("A", "B", "D"), Items=[{"item": "cells"}],
        Periods=[{"period": 1}, {"period": 2}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 5, **supply_extra},
                {"site": "B", "item": "cells", "unit_cost": 8}],
        Demand=[{"site": "D", "item": "cells", "quantity": 100},
                {"site": "D", "item": "cells", "quantity": 50, "period": 2}],
        Lanes=[{"origin": "A", "destination": "D"}, {"origin": "B", "destination": "D"}])


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_fixed_cost_paid_in_each_period_a_site_supplies(solve_sheets, solver):
    # Fixed 300 per period: period 1 (100 units): A 500 + 300 = 800 < B 800? equal -> 800;
    # period 2 (50 units): A 250 + 300 = 550 > B 400 -> B. Total 1200.
    result = solve_sheets(solver=solver, **fixed_cost_case(fixed_cost=300))
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(1200.0)
    assert result.formulation.is_mip


def test_fixed_cost_reported_and_summary_marks_the_milp(solve_sheets):
    result = solve_sheets(**fixed_cost_case(fixed_cost=200))
    # period 1: A 500 + 200 = 700 < 800; period 2: A 250 + 200 = 450 > 400 -> B. Total 1100.
    assert result.total_cost == pytest.approx(1100.0)
    assert result.costs["fixed"] == pytest.approx(200.0)
    summary = dict(zip(result.summary["field"], result.summary["value"], strict=True))
    assert summary["Model"] == "MILP" and summary["Proven optimal"] == "yes"
    assert summary["MIP gap"] == pytest.approx(0.0, abs=1e-6)
    assert summary["Best bound"] == pytest.approx(1100.0, rel=1e-6)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_minimum_quantity(solve_sheets, solver):
    # B is cheaper (4) but takes at least 80 if used: period 1: B 100 -> 400; period 2: 50 < 80,
    # so either B delivers 80 (50 needed: not allowed, demand is exact) -> A 250. Total 650.
    sheets = fixed_cost_case()
    sheets["Supply"] = [{"site": "A", "item": "cells", "unit_cost": 5},
                        {"site": "B", "item": "cells", "unit_cost": 4, "min_quantity": 80}]
    assert solve_sheets(solver=solver, **sheets).total_cost == pytest.approx(650.0)


def suppliers_case(policies):
    """Three suppliers for one plant needing 90 per period: A 1, B 2, C 3, each capacity 40."""
    return dict(
        Sites=sites("A", "B", "C", "D"), Items=[{"item": "cells"}],
        Supply=[{"site": s, "item": "cells", "unit_cost": c, "capacity": 40} for s, c in (("A", 1), ("B", 2),
                                                                                        ("C", 3))]
        + [{"site": "E", "item": "cells", "unit_cost": 10}],
        Demand=[{"site": "D", "item": "cells", "quantity": 90}],
        Lanes=[{"origin": s, "destination": "D"} for s in ("A", "B", "C", "E")],
        Policies=policies)


def with_e(sheets):
    sheets["Sites"] = sheets["Sites"] + [{"site": "E", "country": "China"}]
    return sheets


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_max_suppliers(solve_sheets, solver):
    # Unconstrained: A 40 + B 40 + C 10 = 40 + 80 + 30 = 150. At most 2 US suppliers: A 40 + B 40
    # and the rest (10) from E (10 each, E is not a `from` site): 40 + 80 + 100 = 220 > C's way? The
    # count covers `from` = United States only, so A, B + E: 220; A, C + E would be 40 + 120 + ... worse.
    sheets = with_e(suppliers_case([{"policy": "two", "rule": "max_suppliers", "from": US, "value": 2}]))
    assert solve_sheets(solver=solver, **sheets).total_cost == pytest.approx(150.0)
    result = solve_sheets(policy="two", solver=solver, **sheets)
    assert result.total_cost == pytest.approx(220.0)
    row = result.compliance.iloc[0]
    assert (row["rule"], row["from_flow"], row["bound"], row["binding"]) == ("max_suppliers", 2.0, 2.0, True)


def test_single_source(solve_sheets):
    # One supplier for everything: only E (no capacity limit) can deliver 90 alone: 900.
    sheets = with_e(suppliers_case([{"policy": "one", "rule": "single_source"}]))
    assert solve_sheets(policy="one", **sheets).total_cost == pytest.approx(900.0)


def test_min_suppliers(solve_sheets):
    # At least 4 suppliers: A 40 + B 40 + C >= 0.9 and E >= 0.9 (1% of 90 each): the cheapest
    # split is A 40, B 40, C 9.1, E 0.9: 40 + 80 + 27.3 + 9 = 156.3.
    sheets = with_e(suppliers_case([{"policy": "four", "rule": "min_suppliers", "value": 4}]))
    result = solve_sheets(policy="four", **sheets)
    assert result.total_cost == pytest.approx(156.3)
    assert result.compliance.iloc[0]["from_flow"] == 4.0


def test_threshold_credit_decides_whether_compliance_pays(solve_sheets):
    # D needs 100: US supplier A costs 10, Chinese B costs 6. A 50% US rule earns 3 per unit of
    # demand (300) where it is met: meeting it costs 50 * 4 = 200 < 300, so the plan complies:
    # 50 * 10 + 50 * 6 - 300 = 500. With a credit of 1 (100 < 200) it does not: 600.
    def case(credit):
        return dict(
            Sites=sites("A", "D") + sites("B", country="China"), Items=[{"item": "cells"}],
            Supply=[{"site": "A", "item": "cells", "unit_cost": 10}, {"site": "B", "item": "cells", "unit_cost": 6}],
            Demand=[{"site": "D", "item": "cells", "quantity": 100}],
            Lanes=[{"origin": "A", "destination": "D"}, {"origin": "B", "destination": "D"}],
            Policies=[{"policy": "c", "rule": "min_share", "from": US, "value": 0.5, "basis": "quantity"},
                      {"policy": "c", "rule": "threshold_credit", "to": "D", "value": credit, "requires": 2}])
    pays = solve_sheets(policy="c", **case(3))
    assert pays.total_cost == pytest.approx(500.0)
    assert pays.costs["credits"] == pytest.approx(-300.0)
    assert bool(pays.compliance.iloc[0]["met"]) is True
    skips = solve_sheets(policy="c", **case(1))
    assert skips.total_cost == pytest.approx(600.0)
    assert bool(skips.compliance.iloc[0]["met"]) is False


def test_threshold_credit_must_require_a_share_rule(make_workbook):
    path = make_workbook(**two_tier(Policies=[
        {"policy": "c", "rule": "threshold_credit", "value": 1, "requires": 9},
        {"policy": "c", "rule": "threshold_credit", "value": 1}]))
    with pytest.raises(WorkbookError) as caught:
        load_workbook(path)
    found = {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert found == {("Policies", 2, "requires"), ("Policies", 3, "requires")}


def test_milp_sensitivity_gives_the_prices_of_the_lp_with_its_choices_fixed(solve_sheets):
    # A (5 per unit, 200 if used) reaches D1 (100) over a lane of capacity 80; B (8) reaches D1 and, at 1 per unit,
    # D2 (50). Opening A: 80 * 5 + 200 + 20 * 8 + 50 * 9 = 1210 < 150 * 8 + 50 = 1250 without it. With A open
    # (fixed), the LP's prices: D1's next unit comes from B (8), D2's too (8 + 1), and a unit more of the lane
    # saves 8 - 5 = 3, as long as the lane carries at most D1's 100; below 80 units of demand D1 needs no B.
    result = solve_sheets(
        Sites=sites("A", "B", "D1", "D2"), Items=[{"item": "cells"}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 5, "fixed_cost": 200},
                {"site": "B", "item": "cells", "unit_cost": 8}],
        Demand=[{"site": "D1", "item": "cells", "quantity": 100}, {"site": "D2", "item": "cells", "quantity": 50}],
        Lanes=[{"origin": "A", "destination": "D1", "capacity": 80}, {"origin": "B", "destination": "D1"},
               {"origin": "B", "destination": "D2", "unit_cost": 1}])
    assert result.total_cost == pytest.approx(1210.0)
    table = result.sensitivity
    assert table[["kind", "source", "value", "used", "price", "range_low"]].to_numpy().tolist() == [
        ["lane capacity (all items)", "Lanes row 2", 80.0, 80.0, pytest.approx(3.0), pytest.approx(0.0)],
        ["demand", "Demand row 2", 100.0, 100.0, pytest.approx(8.0), pytest.approx(80.0)],
        ["demand", "Demand row 3", 50.0, 50.0, pytest.approx(9.0), pytest.approx(0.0)]]
    assert table["range_high"].tolist()[0] == pytest.approx(100.0) and table["range_high"].iloc[1:].isna().all()
    assert all(note.startswith("MILP: prices of the LP with the discrete choices (open, suppliers used, rules met) "
                               "fixed") for note in table["note"])


def test_lp_workbooks_stay_lps(solve_sheets):
    result = solve_sheets(**hub())
    assert not result.formulation.is_mip
    summary = dict(zip(result.summary["field"], result.summary["value"], strict=True))
    assert summary["Model"] == "LP" and "MIP gap" not in summary


# ------------------------------------------------------------------ contract v2 points pinned (issue 17)


def test_goods_passed_on_are_valued_at_the_plain_mean_of_the_items_options(solve_sheets):
    # Depot H buys cells from B (20) and passes them to D (needs 10) through a lane taxed at 10%. The goods'
    # value on H -> D (the rules' valuation) is the plain mean of the item's Supply options in the period, the
    # capacity-0 option A (10) included: (10 + 20) / 2 = 15, so the duty is 1.5 per unit: 10 * 20 + 10 * 1.5 =
    # 215. (A capacity-weighted mean would be 20: 220; leaving A out, 20 as well.) What H paid for them is B's 20:
    # the Flows' goods' cost, and landed at D 20 + 1.5.
    result = solve_sheets(
        Sites=sites("A", "B", "H") + sites("D", country="Mexico"), Items=[{"item": "cells"}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 10, "capacity": 0},
                {"site": "B", "item": "cells", "unit_cost": 20}],
        Demand=[{"site": "D", "item": "cells", "quantity": 10}],
        Lanes=[{"origin": "B", "destination": "H"}, {"origin": "A", "destination": "H"},
               {"origin": "H", "destination": "D"}],
        Tariffs=[{"origin": "H", "destination": "Mexico", "rate": 0.1}])
    assert result.total_cost == pytest.approx(215.0)
    hop = result.flows.set_index(["origin", "destination"]).loc[("H", "D")]
    assert (hop["valuation_unit_cost"], hop["tariff_cost"]) == (pytest.approx(15.0), pytest.approx(15.0))
    assert (hop["supply_unit_cost"], hop["landed_unit_cost"]) == (pytest.approx(20.0), pytest.approx(21.5))


def test_a_cycle_of_lanes_alone_never_makes_an_item_available(solve_sheets):
    # H1 and H2 pass cells to each other and H2 serves D, but no lane brings cells in from the supplier S:
    # nothing is available at H1 or H2 (the least fixed point), so D's demand is unreachable.
    result = solve_sheets(
        Sites=sites("S", "H1", "H2", "D"), Items=[{"item": "cells"}],
        Supply=[{"site": "S", "item": "cells", "unit_cost": 1}],
        Demand=[{"site": "D", "item": "cells", "quantity": 5}],
        Lanes=[{"origin": "H1", "destination": "H2"}, {"origin": "H2", "destination": "H1"},
               {"origin": "H2", "destination": "D"}])
    assert result.status == "infeasible"
    assert result.formulation.n_flows == 0
    assert result.diagnosis[0]["kind"] == "unreachable_demand" and result.diagnosis[0]["row"] == 2


@pytest.mark.parametrize("site", ["United States", "C;M1"])
def test_a_bom_site_is_one_site_id_not_a_selector(make_workbook, site):
    path = make_workbook(**two_tier(BOM=[{"item": "cells", "input": "cam", "quantity": 2, "site": site}]))
    with pytest.raises(WorkbookError) as caught:
        load_workbook(path)
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("BOM", 2, "site")
    assert problem.message == f"{site!r} is not a site in Sites"


# ------------------------------------------------------------------ OR-Library


def _orlib_dir() -> Path | None:
    candidates = [os.environ.get("SOURCING_SHARED", ""), Path(__file__).resolve().parents[2] / "shared"]
    for base in candidates:
        if base and (Path(base) / "benchmarks" / "orlib").is_dir():
            return Path(base) / "benchmarks" / "orlib"
    return None


ORLIB = _orlib_dir()


def orlib_workbook(path: Path, out: Path) -> Path:
    """Warehouses -> supply sites (capacity, fixed cost), customers -> demand sites, every pair a lane
    at cost / demand per unit (see shared/benchmarks/orlib/README.md)."""
    tokens = path.read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    position = 2
    warehouses = []
    for i in range(m):
        warehouses.append((f"W{i + 1}", float(tokens[position]), float(tokens[position + 1])))
        position += 2
    customers, lanes = [], []
    for j in range(n):
        demand = float(tokens[position])
        costs = [float(t) for t in tokens[position + 1:position + 1 + m]]
        position += 1 + m
        customers.append((f"C{j + 1}", demand))
        for (name, _, _), cost in zip(warehouses, costs, strict=True):
            lanes.append({"origin": name, "destination": f"C{j + 1}", "unit_cost": cost / demand})
    return write_workbook(out, {
        "Sites": [{"site": s, "country": "X"} for s, _, _ in warehouses] + [{"site": c, "country": "X"}
                                                                          for c, _ in customers],
        "Items": [{"item": "goods"}],
        "Supply": [{"site": s, "item": "goods", "unit_cost": 0, "capacity": cap, "fixed_cost": fixed}
                   for s, cap, fixed in warehouses],
        "Demand": [{"site": c, "item": "goods", "quantity": d} for c, d in customers],
        "Lanes": lanes,
    })


def published_optimum(name: str) -> float:
    for line in (ORLIB / "capopt_values.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            instance, value = line.split("\t")
            if instance == name:
                return float(value)
    raise KeyError(name)


@pytest.mark.skipif(ORLIB is None, reason="shared/benchmarks/orlib not found beside the repository")
@pytest.mark.parametrize("instance", ["cap41", "cap71", "cap101", "cap131"])
def test_orlib_capacitated_warehouse_location(instance, tmp_path):
    workbook = orlib_workbook(ORLIB / f"{instance}.txt", tmp_path / f"{instance}.xlsx")
    result = solve(load_workbook(workbook))
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(published_optimum(instance), abs=1e-3)


def test_an_item_demanded_where_it_is_made_from_delivered_inputs(solve_sheets):
    # P makes packs (5 each) from 2 cells each, bought from S at 10 and shipped to P, and P itself demands 3 packs:
    # no flow of packs at all. 3 x 5 + 6 x 10 = 75. (No flow ended where the demand is: this crashed the flow
    # table's look-up of demand rows.)
    result = solve_sheets(
        Sites=[{"site": "P", "country": "United States"}, {"site": "S", "country": "United States"}],
        Items=[{"item": "cells"}, {"item": "packs"}],
        Supply=[{"site": "S", "item": "cells", "unit_cost": 10}, {"site": "P", "item": "packs", "unit_cost": 5}],
        BOM=[{"item": "packs", "input": "cells", "quantity": 2}],
        Demand=[{"site": "P", "item": "packs", "quantity": 3}],
        Lanes=[{"origin": "S", "destination": "P"}])
    assert result.status == "optimal" and result.total_cost == pytest.approx(75.0)
