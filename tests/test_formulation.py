"""Unit tests of optimizer.formulation: the flows table and the physical blocks, read off small networks
worked out by hand (no solve). Columns are named by their family and keys and rows by their business keys
(tests/formulation_view.py), so a test states the model as one would write it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from formulation_view import block_rows, labels
from networks import network, sites

from optimizer.formulation import build_formulation, need_bounds, recipes, standard_costs
from optimizer.model import FLOW_KEYS


def flows_of(formulation, *columns: str) -> list[tuple]:
    """The flows table's rows, in order, as (origin, destination, item, period, *columns)."""
    table = formulation.flows
    return [tuple(r) for r in table[[*FLOW_KEYS, *columns]].astype(object).where(table.notna(), None)
            .itertuples(index=False)]


# --------------------------------------------------------------------------- the flows table


def reach_network():
    """S makes X (10) for D (demand 5); T makes Y, which nobody wants. Lanes (Excel rows):
    2 S>H1 (1), 3 H1>H2 (1), 4 H2>H1 (1), 5 H2>D (2), 6 S>D (9, every item), 7 S>D for X (7), 8 S>E, 9 T>D,
    10 H3>H4, 11 H4>H3, 12 H4>D. Tariffs: 10% on S into D, 5% on every US origin into D (rows add up)."""
    return network(
        Sites=sites("S", "H1", "H2", "H3", "H4", "D", "E", "T"), Items=[{"item": "X"}, {"item": "Y"}],
        Supply=[{"site": "S", "item": "X", "unit_cost": 10}, {"site": "T", "item": "Y", "unit_cost": 3}],
        Demand=[{"site": "D", "item": "X", "quantity": 5}],
        Lanes=[{"origin": "S", "destination": "H1", "unit_cost": 1},
               {"origin": "H1", "destination": "H2", "unit_cost": 1},
               {"origin": "H2", "destination": "H1", "unit_cost": 1},
               {"origin": "H2", "destination": "D", "unit_cost": 2},
               {"origin": "S", "destination": "D", "unit_cost": 9},
               {"origin": "S", "destination": "D", "item": "X", "unit_cost": 7},
               {"origin": "S", "destination": "E"}, {"origin": "T", "destination": "D"},
               {"origin": "H3", "destination": "H4"}, {"origin": "H4", "destination": "H3"},
               {"origin": "H4", "destination": "D"}],
        Tariffs=[{"origin": "S", "destination": "D", "rate": 0.1},
                 {"origin": "United States", "destination": "D", "rate": 0.05}])


def test_a_flow_exists_where_its_item_is_available_at_the_origin_and_useful_at_the_destination():
    # X is available at S (made), H1, H2 (reached from S, through the H1-H2 cycle too), D and E; it is useful at D
    # (demand) and at every site a lane chain leads from to D: H2, H1, S, T, H4, H3. Flows: the lanes from the first
    # set into the second. Not flows: S>E (E wants nothing), T>D (T has no X; its Y is useful nowhere), and the
    # H3-H4 cycle feeding D (a cycle of lanes alone makes nothing available). Sorted by period, item, destination,
    # origin.
    formulation = build_formulation(reach_network())
    assert flows_of(formulation) == [
        ("H2", "D", "X", "all"), ("S", "D", "X", "all"), ("H2", "H1", "X", "all"), ("S", "H1", "X", "all"),
        ("H1", "H2", "X", "all")]
    assert list(formulation.families) == ["flow", "production"]
    assert labels(formulation)[5:] == ["production S X all", "production T Y all"]


def test_each_flow_carries_its_costs_and_the_rows_behind_it():
    # S>D for X takes the item row 7 (7, not the blank row's 9), and still names the blank row 6 whose capacity it
    # shares. Goods from S are valued at S's unit_cost (10); goods passed on by H1 and H2 at the item's mean (10).
    # Into D: 10% + 5% from S (7 + 0.15 * 10 = 8.5), 5% from H2 (2 + 0.05 * 10 = 2.5).
    formulation = build_formulation(reach_network())
    assert flows_of(formulation, "supply_unit_cost", "lane_unit_cost", "tariff_rate", "unit_cost", "supply_row",
                    "lane_row", "pair_lane_row", "demand_row") == [
        ("H2", "D", "X", "all", 10.0, 2.0, 0.05, pytest.approx(2.5), None, 5, 5, 2),
        ("S", "D", "X", "all", 10.0, 7.0, pytest.approx(0.15), pytest.approx(8.5), 2, 7, 6, 2),
        ("H2", "H1", "X", "all", 10.0, 1.0, 0.0, 1.0, None, 4, 4, None),
        ("S", "H1", "X", "all", 10.0, 1.0, 0.0, 1.0, 2, 2, 2, None),
        ("H1", "H2", "X", "all", 10.0, 1.0, 0.0, 1.0, None, 3, 3, None)]
    assert formulation.flows[["policy_tariff_rate", "credit"]].to_numpy().tolist() == [[0.0, 0.0]] * 5
    np.testing.assert_allclose(formulation.objective, [2.5, 8.5, 1, 1, 1, 10, 3])


def test_an_item_lane_replaces_the_blank_row_for_its_own_item_only():
    # S makes X and Y for D over a blank-item lane (row 2, cost 9) and an X lane (row 3, cost 7; blank cost = 0 on
    # row 4 for Y at S>E). X goes at 7, Y at the blank row's 9.
    formulation = build_formulation(network(
        Sites=sites("S", "D", "E"), Items=[{"item": "X"}, {"item": "Y"}],
        Supply=[{"site": "S", "item": "X", "unit_cost": 1}, {"site": "S", "item": "Y", "unit_cost": 2}],
        Demand=[{"site": "D", "item": "X", "quantity": 1}, {"site": "D", "item": "Y", "quantity": 1},
                {"site": "E", "item": "Y", "quantity": 1}],
        Lanes=[{"origin": "S", "destination": "D", "unit_cost": 9},
               {"origin": "S", "destination": "D", "item": "X", "unit_cost": 7},
               {"origin": "S", "destination": "E", "item": "Y"}]))
    assert flows_of(formulation, "lane_unit_cost", "lane_row", "pair_lane_row") == [
        ("S", "D", "X", "all", 7.0, 3, 2), ("S", "D", "Y", "all", 9.0, 2, 2), ("S", "E", "Y", "all", 0.0, 4, None)]


def bom_network(**extra):
    """CAM from M1 (10) or M2 (14, capacity 0); cells at C (20, 2 CAM each, the general BOM row 2) and C2 (30, its
    own recipe: 1 CAM, BOM row 3); both ship to the depot H, which passes cells on to D (6) under a 10% tariff."""
    return network(
        Sites=sites("M1", "M2", "C", "C2", "H", "D", "N"), Items=[{"item": "cells"}, {"item": "cam"}],
        BOM=[{"item": "cells", "input": "cam", "quantity": 2},
             {"item": "cells", "input": "cam", "quantity": 1, "site": "C2"}],
        Supply=[{"site": "M1", "item": "cam", "unit_cost": 10}, {"site": "M2", "item": "cam", "unit_cost": 14,
                                                                  "capacity": 0},
                {"site": "C", "item": "cells", "unit_cost": 20}, {"site": "C2", "item": "cells", "unit_cost": 30}],
        Demand=[{"site": "D", "item": "cells", "quantity": 6}],
        Lanes=[{"origin": "M1", "destination": "C"}, {"origin": "M2", "destination": "C"},
               {"origin": "M1", "destination": "C2"}, {"origin": "C", "destination": "H"},
               {"origin": "C2", "destination": "H"}, {"origin": "H", "destination": "D"},
               {"origin": "M1", "destination": "N"}, {"origin": "N", "destination": "H"}],
        Tariffs=[{"origin": "H", "rate": 0.1}], **extra)


def test_standard_costs_add_the_bom_inputs_at_the_plain_mean_of_their_options():
    # CAM: M1 10, M2 14 (capacity 0 counts: the mean is plain, not weighted), mean 12. Cells: C 20 + 2 * 12 = 44,
    # C2 30 + 1 * 12 = 42 (its own recipe replaces the general one).
    net = bom_network()
    recipe = recipes(net)
    assert sorted(map(tuple, recipe[["site", "item", "input", "quantity", "bom_row"]].to_numpy().tolist())) == [
        ("C", "cells", "cam", 2.0, 2), ("C2", "cells", "cam", 1.0, 3)]
    costs = standard_costs(net, recipe)
    assert costs[["site", "item", "period", "standard_cost"]].to_numpy().tolist() == [
        ["M1", "cam", "all", 10.0], ["M2", "cam", "all", 14.0], ["C", "cells", "all", 44.0],
        ["C2", "cells", "all", 42.0]]


def test_goods_are_valued_at_their_origins_standard_cost_or_the_items_mean_when_passed_on():
    # H passes cells on: valued at the mean of the cells options, (44 + 42) / 2 = 43, so the 10% duty is 4.3.
    formulation = build_formulation(bom_network())
    assert flows_of(formulation, "supply_unit_cost", "unit_cost") == [
        ("M1", "C", "cam", "all", 10.0, 0.0), ("M2", "C", "cam", "all", 14.0, 0.0),
        ("M1", "C2", "cam", "all", 10.0, 0.0), ("H", "D", "cells", "all", 43.0, pytest.approx(4.3)),
        ("C", "H", "cells", "all", 44.0, 0.0), ("C2", "H", "cells", "all", 42.0, 0.0)]


def test_goods_made_on_an_investment_option_are_valued_at_its_unit_cost_plus_inputs():
    # N has no Supply row for cells: its option's unit_cost 25 plus 2 CAM at 12 = 49. The mean that values goods
    # passed on stays that of the Supply options (43).
    formulation = build_formulation(bom_network(Investments=[
        {"option": "new", "site": "N", "item": "cells", "capacity": 10, "unit_cost": 25}]))
    values = {(o, d, i): v for o, d, i, _, v in flows_of(formulation, "supply_unit_cost")}
    assert (values[("N", "H", "cells")], values[("H", "D", "cells")], values[("M1", "N", "cam")]) == (49.0, 43.0, 10.0)


def test_balance_rows_sum_inbound_production_outbound_and_consumption():
    # inbound + produced - outbound - consumed == demand, per (site, item, period) with any term: the Demand row
    # in block 'demand', the rest (rhs 0) in block 'balance'. C consumes 2 CAM per cell made, C2 1.
    formulation = build_formulation(bom_network())
    keys = ["site", "item", "period"]
    assert block_rows(formulation, "demand", keys) == {
        ("D", "cells", "all"): ("==", 6.0, {"flow H>D cells all": 1.0})}
    assert formulation.blocks["demand"].rows[["sheet", "sheet_row"]].to_numpy().tolist() == [["Demand", 2]]
    assert block_rows(formulation, "balance", keys) == {
        ("C", "cam", "all"): ("==", 0.0, {"flow M1>C cam all": 1.0, "flow M2>C cam all": 1.0,
                                          "production C cells all": -2.0}),
        ("C2", "cam", "all"): ("==", 0.0, {"flow M1>C2 cam all": 1.0, "production C2 cells all": -1.0}),
        ("H", "cells", "all"): ("==", 0.0, {"flow C>H cells all": 1.0, "flow C2>H cells all": 1.0,
                                            "flow H>D cells all": -1.0}),
        ("M1", "cam", "all"): ("==", 0.0, {"flow M1>C cam all": -1.0, "flow M1>C2 cam all": -1.0,
                                           "production M1 cam all": 1.0}),
        ("M2", "cam", "all"): ("==", 0.0, {"flow M2>C cam all": -1.0, "production M2 cam all": 1.0}),
        ("C", "cells", "all"): ("==", 0.0, {"flow C>H cells all": -1.0, "production C cells all": 1.0}),
        ("C2", "cells", "all"): ("==", 0.0, {"flow C2>H cells all": -1.0, "production C2 cells all": 1.0})}
    # M2's capacity 0 is a row like any other
    assert block_rows(formulation, "supply_capacity", keys) == {
        ("M2", "cam", "all"): ("<=", 0.0, {"production M2 cam all": 1.0})}


# --------------------------------------------------------------------------- capacities and discrete options


def capacity_network():
    """Two periods. S1 makes X (1, capacity 5, fixed cost 50) and Y (2, at least 1 if at all); S2 makes X (3,
    capacity 4) in p2 only. D needs 6 X and 2 Y. Lanes: S1>D for every item (row 2, capacity 7), S1>D for X
    (row 3, capacity 3), S2>H (row 4), H>D (row 5); the hub H receives at most 8 per period."""
    return network(
        Sites=sites("S1", "S2", "D") + sites("H", throughput=8), Items=[{"item": "X"}, {"item": "Y"}],
        Periods=[{"period": "p1"}, {"period": "p2"}],
        Supply=[{"site": "S1", "item": "X", "unit_cost": 1, "capacity": 5, "fixed_cost": 50},
                {"site": "S1", "item": "Y", "unit_cost": 2, "min_quantity": 1},
                {"site": "S2", "item": "X", "unit_cost": 3, "capacity": 4, "period": "p2"}],
        Demand=[{"site": "D", "item": "X", "quantity": 6}, {"site": "D", "item": "Y", "quantity": 2}],
        Lanes=[{"origin": "S1", "destination": "D", "capacity": 7},
               {"origin": "S1", "destination": "D", "item": "X", "capacity": 3},
               {"origin": "S2", "destination": "H"}, {"origin": "H", "destination": "D"}])


def test_flows_exist_only_in_the_periods_their_item_is_available():
    formulation = build_formulation(capacity_network())
    assert flows_of(formulation) == [
        ("S1", "D", "X", "p1"), ("S1", "D", "Y", "p1"),
        ("H", "D", "X", "p2"), ("S1", "D", "X", "p2"), ("S2", "H", "X", "p2"), ("S1", "D", "Y", "p2")]


def test_capacity_rows_per_period():
    formulation = build_formulation(capacity_network())
    assert block_rows(formulation, "supply_capacity", ["site", "item", "period"]) == {
        ("S1", "X", "p1"): ("<=", 5.0, {"production S1 X p1": 1.0}),
        ("S1", "X", "p2"): ("<=", 5.0, {"production S1 X p2": 1.0}),
        ("S2", "X", "p2"): ("<=", 4.0, {"production S2 X p2": 1.0})}
    assert block_rows(formulation, "lane_capacity", ["origin", "destination", "item", "period"]) == {
        ("S1", "D", "X", "p1"): ("<=", 3.0, {"flow S1>D X p1": 1.0}),
        ("S1", "D", "X", "p2"): ("<=", 3.0, {"flow S1>D X p2": 1.0})}
    # the blank-item row's capacity bounds every item on the pair, X with its own row included
    assert block_rows(formulation, "lane_pair_capacity", ["origin", "destination", "period"]) == {
        ("S1", "D", "p1"): ("<=", 7.0, {"flow S1>D X p1": 1.0, "flow S1>D Y p1": 1.0}),
        ("S1", "D", "p2"): ("<=", 7.0, {"flow S1>D X p2": 1.0, "flow S1>D Y p2": 1.0})}
    # nothing can reach H in p1, so its throughput row there has no variable and is left out
    assert block_rows(formulation, "throughput", ["site", "period"]) == {
        ("H", "p2"): ("<=", 8.0, {"flow S2>H X p2": 1.0})}
    sources = {name: sorted(set(map(tuple, formulation.blocks[name].rows[["sheet", "sheet_row"]].to_numpy().tolist())))
               for name in ("supply_capacity", "lane_capacity", "lane_pair_capacity", "throughput")}
    assert sources == {"supply_capacity": [("Supply", 2), ("Supply", 4)], "lane_capacity": [("Lanes", 3)],
                       "lane_pair_capacity": [("Lanes", 2)], "throughput": [("Sites", 5)]}


def test_a_fixed_cost_or_minimum_quantity_adds_an_open_binary_per_option_and_period():
    # produced <= bound * open, bound = the capacity, or the most that can be needed (Y: 2); produced >= min * open.
    formulation = build_formulation(capacity_network())
    family = formulation.families["open"]
    assert labels(formulation)[family.offset:] == [
        "open S1 X p1 2", "open S1 X p2 2", "open S1 Y p1 3", "open S1 Y p2 3"]
    assert (family.integer, family.upper.tolist(), family.cost.tolist()) == (True, [1.0] * 4, [50.0, 50.0, 0.0, 0.0])
    assert block_rows(formulation, "open_upper", ["site", "item", "period"]) == {
        ("S1", "X", "p1"): ("<=", 0.0, {"production S1 X p1": 1.0, "open S1 X p1 2": -5.0}),
        ("S1", "X", "p2"): ("<=", 0.0, {"production S1 X p2": 1.0, "open S1 X p2 2": -5.0}),
        ("S1", "Y", "p1"): ("<=", 0.0, {"production S1 Y p1": 1.0, "open S1 Y p1 3": -2.0}),
        ("S1", "Y", "p2"): ("<=", 0.0, {"production S1 Y p2": 1.0, "open S1 Y p2 3": -2.0})}
    assert block_rows(formulation, "open_lower", ["site", "item", "period"]) == {
        ("S1", "Y", "p1"): (">=", 0.0, {"production S1 Y p1": 1.0, "open S1 Y p1 3": -1.0}),
        ("S1", "Y", "p2"): (">=", 0.0, {"production S1 Y p2": 1.0, "open S1 Y p2 3": -1.0})}
    assert formulation.is_mip


# --------------------------------------------------------------------------- need bounds


def test_need_bounds_add_what_every_downstream_bom_could_consume():
    # cells: the demand (10 in p1, 4 in p2). CAM: its own demand (1 in p1) plus the largest recipe (C2: 3 per cell)
    # times the cells' need: 31, 12. Lithium: 0.5 per CAM: 15.5, 6. Nickel: neither demanded nor consumed: 0.
    net = network(
        Sites=sites("C", "C2", "M", "L", "D"), Periods=[{"period": "p1"}, {"period": "p2"}],
        Items=[{"item": "cells"}, {"item": "cam"}, {"item": "li"}, {"item": "ni"}],
        BOM=[{"item": "cells", "input": "cam", "quantity": 2}, {"item": "cells", "input": "cam", "quantity": 3,
                                                                 "site": "C2"},
             {"item": "cam", "input": "li", "quantity": 0.5}],
        Supply=[{"site": "C", "item": "cells", "unit_cost": 1}, {"site": "C2", "item": "cells", "unit_cost": 1},
                {"site": "M", "item": "cam", "unit_cost": 1}, {"site": "L", "item": "li", "unit_cost": 1},
                {"site": "L", "item": "ni", "unit_cost": 1}],
        Demand=[{"site": "D", "item": "cells", "quantity": 10, "period": "p1"},
                {"site": "D", "item": "cells", "quantity": 4, "period": "p2"},
                {"site": "D", "item": "cam", "quantity": 1, "period": "p1"}],
        Lanes=[{"origin": "C", "destination": "D"}])
    need = need_bounds(net, recipes(net))
    assert need.to_dict() == {("cells", "p1"): 10.0, ("cells", "p2"): 4.0, ("cam", "p1"): 31.0, ("cam", "p2"): 12.0,
                              ("li", "p1"): 15.5, ("li", "p2"): 6.0, ("ni", "p1"): 0.0, ("ni", "p2"): 0.0}


def test_with_stock_a_period_may_need_every_later_periods_demand_and_the_final_stock():
    net = network(
        Sites=sites("S", "D"), Periods=[{"period": "p1"}, {"period": "p2"}, {"period": "p3"}], Items=[{"item": "X"}],
        Supply=[{"site": "S", "item": "X", "unit_cost": 1}],
        Demand=[{"site": "D", "item": "X", "quantity": q, "period": p} for p, q in (("p1", 3), ("p2", 5), ("p3", 2))],
        Lanes=[{"origin": "S", "destination": "D"}],
        Inventory=[{"site": "D", "item": "X", "final": 4}])
    # 3 + 5 + 2 + 4, 5 + 2 + 4, 2 + 4
    assert need_bounds(net, recipes(net)).to_dict() == {("X", "p1"): 14.0, ("X", "p2"): 11.0, ("X", "p3"): 6.0}


# --------------------------------------------------------------------------- the whole model as arrays


def dense(formulation) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The constraint matrix (rows in block order), each row's sense, and its right-hand side."""
    blocks = list(formulation.blocks.values())
    matrix = np.zeros((formulation.n_constraints, formulation.n_variables))
    senses, rhs, offset = [], [], 0
    for block in blocks:
        np.add.at(matrix, (block.row + offset, block.var), block.coef)
        senses += list(block.rows["sense"])
        rhs += list(block.rows["rhs"].astype(float))
        offset += len(block)
    return matrix, senses, np.array(rhs)


def test_the_model_of_two_suppliers_and_a_plant_as_arrays():
    # S1 (1 per unit, capacity 4, lane 1) and S2 (3, lane 0.5, 20% duty: 0.6 a unit) serve D, which needs 5.
    formulation = build_formulation(network(
        Sites=sites("S1", "D") + sites("S2", country="China"), Items=[{"item": "X"}],
        Supply=[{"site": "S1", "item": "X", "unit_cost": 1, "capacity": 4},
                {"site": "S2", "item": "X", "unit_cost": 3}],
        Demand=[{"site": "D", "item": "X", "quantity": 5}],
        Lanes=[{"origin": "S1", "destination": "D", "unit_cost": 1}, {"origin": "S2", "destination": "D",
                                                                       "unit_cost": 0.5}],
        Tariffs=[{"origin": "China", "rate": 0.2}]))
    assert labels(formulation) == ["flow S1>D X all", "flow S2>D X all", "production S1 X all", "production S2 X all"]
    assert list(formulation.blocks) == ["demand", "balance", "supply_capacity"]
    matrix, senses, rhs = dense(formulation)
    np.testing.assert_array_equal(matrix, [[1, 1, 0, 0],     # demand D
                                           [-1, 0, 1, 0],    # balance S1
                                           [0, -1, 0, 1],    # balance S2
                                           [0, 0, 1, 0]])    # capacity S1
    assert senses == ["==", "==", "==", "<="]
    np.testing.assert_array_equal(rhs, [5, 0, 0, 4])
    np.testing.assert_allclose(formulation.objective, [1, 0.5 + 0.2 * 3, 1, 3])
    np.testing.assert_array_equal(formulation.lower, [0, 0, 0, 0])
    np.testing.assert_array_equal(formulation.upper, [np.inf] * 4)
    assert not formulation.integer.any() and not formulation.is_mip
    assert formulation.flow_discount.tolist() == [1.0, 1.0]
    assert formulation.ledger[0][0] == "production"
    assert pd.Series(formulation.ledger[0][4]).tolist() == [1.0, 3.0]
