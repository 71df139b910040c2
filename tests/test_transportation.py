"""Textbook transportation problems, encoded as sourcing workbooks, against their published optima.

Encoding: every supplier is a Supply row (capacity = its supply, unit_cost 0), every customer a
Demand row, every per-unit shipping cost an item-specific Lanes row. The workbook optimum must then
equal the textbook optimum; each optimum is also recomputed here with a direct HiGHS LP (highspy),
built without the package, so a wrong number in this file would show up too.
"""

from __future__ import annotations

import math

import highspy
import numpy as np
import pytest

SOLVERS = pytest.mark.parametrize("solver", ["highs", "cbc"])


def approx(x):
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def direct_lp_optimum(supply, demand, cost) -> float:
    """Minimum-cost transportation LP solved directly with highspy (None in ``cost`` = no route)."""
    m, n = len(supply), len(demand)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = h.getInfinity()
    index = {}
    for i in range(m):
        for j in range(n):
            if cost[i][j] is not None:
                index[i, j] = len(index)
    k = len(index)
    h.addVars(k, np.zeros(k), np.full(k, inf))
    h.changeColsCost(k, np.arange(k, dtype=np.int32), np.array([cost[i][j] for (i, j) in index], dtype=float))
    for i in range(m):
        cols = np.array([c for (a, _b), c in index.items() if a == i], dtype=np.int32)
        h.addRow(-inf, float(supply[i]), len(cols), cols, np.ones(len(cols)))
    for j in range(n):
        cols = np.array([c for (_a, b), c in index.items() if b == j], dtype=np.int32)
        h.addRow(float(demand[j]), float(demand[j]), len(cols), cols, np.ones(len(cols)))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def transportation_sheets(supply, demand, cost, item="unit"):
    """The workbook of a transportation problem: suppliers S1.., customers C1.."""
    suppliers = [f"S{i + 1}" for i in range(len(supply))]
    customers = [f"C{j + 1}" for j in range(len(demand))]
    return dict(
        Sites=[{"site": s, "country": "A", "tags": None} for s in suppliers + customers],
        Items=[{"item": item}],
        Supply=[{"site": s, "item": item, "period": None, "capacity": q, "unit_cost": 0}
                for s, q in zip(suppliers, supply, strict=True)],
        Demand=[{"site": c, "item": item, "period": None, "quantity": q}
                for c, q in zip(customers, demand, strict=True)],
        Lanes=[{"origin": suppliers[i], "destination": customers[j], "item": item,
                "unit_cost": cost[i][j], "capacity": None}
               for i in range(len(supply)) for j in range(len(demand)) if cost[i][j] is not None],
    )


def check_plan(result, supply, demand, cost, optimum):
    assert result.status == "optimal"
    assert result.total_cost == approx(optimum)
    assert result.costs["transport"] == approx(optimum)
    assert result.costs["supply"] == approx(0.0)
    assert result.costs["tariffs"] == approx(0.0)
    flows = result.flows
    # The reported plan is itself feasible and its cost adds up to the optimum.
    for j, q in enumerate(demand):
        assert flows.loc[flows["destination"] == f"C{j + 1}", "quantity"].sum() == approx(q)
    for i, q in enumerate(supply):
        assert flows.loc[flows["origin"] == f"S{i + 1}", "quantity"].sum() <= q + 1e-9
    recomputed = sum(row.quantity * cost[int(row.origin[1:]) - 1][int(row.destination[1:]) - 1]
                     for row in flows.itertuples())
    assert recomputed == approx(optimum)
    assert set(flows["period"]) == {"all"}


# Hillier & Lieberman, "Introduction to Operations Research", Sec. 9.1 (P&T Company):
# 3 canneries (75, 125, 100 truckloads), 4 warehouses (80, 65, 70, 85), shipping cost per
# truckload below; optimal Z = $152,535 (x12=20, x14=55, x21=80, x22=45, x33=70, x34=30:
# 20*513 + 55*867 + 80*352 + 45*416 + 70*388 + 30*685 = 10260+47685+28160+18720+27160+20550).
PT_SUPPLY = [75, 125, 100]
PT_DEMAND = [80, 65, 70, 85]
PT_COST = [[464, 513, 654, 867],
           [352, 416, 690, 791],
           [995, 682, 388, 685]]
PT_OPTIMUM = 152_535

# The classic 3x4 example of many OR texts (e.g. the MODI/VAM worked example): supplies 7, 9, 18;
# demands 5, 8, 7, 14; optimal cost 743 (x11=5, x14=2, x22=2, x23=7, x32=6, x34=12:
# 95 + 20 + 60 + 280 + 48 + 240).
CLASSIC_SUPPLY = [7, 9, 18]
CLASSIC_DEMAND = [5, 8, 7, 14]
CLASSIC_COST = [[19, 30, 50, 10],
                [70, 30, 40, 60],
                [40, 8, 70, 20]]
CLASSIC_OPTIMUM = 743

# Taha, "Operations Research: An Introduction", Ch. 5 (SunRay Transport): silos 15, 25, 10;
# mills 5, 15, 15, 15; optimal cost $435 (x12=5, x14=10, x22=10, x23=15, x31=5, x34=5:
# 10 + 110 + 70 + 135 + 20 + 90).
SUNRAY_SUPPLY = [15, 25, 10]
SUNRAY_DEMAND = [5, 15, 15, 15]
SUNRAY_COST = [[10, 2, 20, 11],
               [12, 7, 9, 20],
               [4, 14, 16, 18]]
SUNRAY_OPTIMUM = 435

PUBLISHED = [
    pytest.param(PT_SUPPLY, PT_DEMAND, PT_COST, PT_OPTIMUM, id="hillier-lieberman-PT"),
    pytest.param(CLASSIC_SUPPLY, CLASSIC_DEMAND, CLASSIC_COST, CLASSIC_OPTIMUM, id="classic-3x4"),
    pytest.param(SUNRAY_SUPPLY, SUNRAY_DEMAND, SUNRAY_COST, SUNRAY_OPTIMUM, id="taha-sunray"),
]


@pytest.mark.parametrize(("supply", "demand", "cost", "optimum"), PUBLISHED)
def test_published_optimum_is_the_lp_optimum(supply, demand, cost, optimum):
    # Guards the constants above: the published number is what an independent LP finds.
    assert direct_lp_optimum(supply, demand, cost) == approx(optimum)


@SOLVERS
@pytest.mark.parametrize(("supply", "demand", "cost", "optimum"), PUBLISHED)
def test_textbook_transportation_optimum(solve_sheets, solver, supply, demand, cost, optimum):
    result = solve_sheets(solver=solver, **transportation_sheets(supply, demand, cost))
    check_plan(result, supply, demand, cost, optimum)


@SOLVERS
def test_pt_company_unique_optimal_plan(solve_sheets, solver):
    # The P&T optimum is non-degenerate and unique (Hillier & Lieberman list these six flows).
    result = solve_sheets(solver=solver, **transportation_sheets(PT_SUPPLY, PT_DEMAND, PT_COST))
    got = {(r.origin, r.destination): r.quantity for r in result.flows.itertuples()}
    expected = {("S1", "C2"): 20, ("S1", "C4"): 55, ("S2", "C1"): 80, ("S2", "C2"): 45,
                ("S3", "C3"): 70, ("S3", "C4"): 30}
    assert set(got) == set(expected)
    for key, q in expected.items():
        assert got[key] == approx(q)


@SOLVERS
def test_surplus_supply_is_an_upper_bound(solve_sheets, solver):
    # Classic 3x4 with every supply doubled (14, 18, 36 for 34 demanded): capacity is only an upper
    # bound, so each customer is served from its cheapest supplier with enough stock:
    # C1 <- S1 @19 (5), C2 <- S3 @8 (8), C3 <- S2 @40 (7), C4 <- S1 @10 (9, S1 is full at 14) and
    # S3 @20 (5): 95 + 64 + 280 + 90 + 100 = 629.
    supply = [2 * s for s in CLASSIC_SUPPLY]
    optimum = 5 * 19 + 8 * 8 + 7 * 40 + 9 * 10 + 5 * 20
    assert optimum == 629
    assert direct_lp_optimum(supply, CLASSIC_DEMAND, CLASSIC_COST) == approx(optimum)
    result = solve_sheets(solver=solver, **transportation_sheets(supply, CLASSIC_DEMAND, CLASSIC_COST))
    check_plan(result, supply, CLASSIC_DEMAND, CLASSIC_COST, optimum)
    used = result.utilization.set_index(["resource", "site"])["used"]
    assert used[("supply", "S1")] == approx(14)
    assert used[("supply", "S2")] == approx(7)
    assert used[("supply", "S3")] == approx(13)


@SOLVERS
def test_missing_lane_is_a_forbidden_route(solve_sheets, solver):
    # SunRay with three cheap routes removed (no Lanes row = no route): the
    # optimum can only get worse, and must match the direct LP on the same network: 635, e.g.
    # S1->C3 5 @20, S1->C4 10 @11, S2->C1 5 @12, S2->C2 15 @7, S2->C4 5 @20, S3->C3 10 @16
    # = 100 + 110 + 60 + 105 + 100 + 160.
    cost = [row[:] for row in SUNRAY_COST]
    cost[0][1] = None  # S1 -> C2 (2)
    cost[1][2] = None  # S2 -> C3 (9)
    cost[2][0] = None  # S3 -> C1 (4)
    optimum = direct_lp_optimum(SUNRAY_SUPPLY, SUNRAY_DEMAND, cost)
    assert optimum == approx(635)
    result = solve_sheets(solver=solver, **transportation_sheets(SUNRAY_SUPPLY, SUNRAY_DEMAND, cost))
    assert result.status == "optimal"
    assert result.total_cost == approx(optimum)
    pairs = {(r.origin, r.destination) for r in result.flows.itertuples()}
    assert not pairs & {("S1", "C2"), ("S2", "C3"), ("S3", "C1")}
    assert math.isclose(result.flows["quantity"].sum(), sum(SUNRAY_DEMAND))
