"""The shared HiGHS layer (optimizer/highs.py) on models small enough to solve by hand."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.backend import SolverUnavailable, check_solver
from optimizer.highs import (
    INF,
    LinearArrays,
    Tightening,
    load_arrays,
    model_status,
    new_highs,
    one_sided_rates,
    read_back,
    solve_arrays,
)
from optimizer.options import DEFAULT_MIP_GAP, SolverOptions

NONE = np.array([], dtype=np.int64)  # no discrete column: an LP


def arrays(cost, matrix, row_lower, row_upper, col_upper=None) -> LinearArrays:
    """``row_lower <= matrix @ x <= row_upper``, ``0 <= x <= col_upper`` (default: unbounded)."""
    a = np.array(matrix, dtype=float)
    row, col = np.nonzero(a)
    upper = [INF] * a.shape[1] if col_upper is None else col_upper
    return LinearArrays(np.array(cost, dtype=float), np.zeros(a.shape[1]), np.array(upper, dtype=float),
                        np.array(row_lower, dtype=float), np.array(row_upper, dtype=float), row, col, a[row, col])


def solved(lp: LinearArrays, integer=None, **options):
    h = new_highs(SolverOptions(**options))
    load_arrays(h, lp, None if integer is None else np.array(integer))
    h.run()
    return h


def test_an_optimal_lp():
    # min x + 2y, x + y >= 3, x <= 2: x = 2, y = 1, cost 4
    solution = solve_arrays(arrays([1, 2], [[1, 1]], [3], [INF], col_upper=[2, INF]))
    assert (solution.status, solution.objective, solution.x.tolist()) == ("optimal", 4.0, [2.0, 1.0])


def test_an_infeasible_lp():
    # x + y >= 3 with x, y <= 1
    solution = solve_arrays(arrays([1, 1], [[1, 1]], [3], [INF], col_upper=[1, 1]))
    assert (solution.status, solution.objective, solution.x) == ("infeasible", None, None)


def test_an_unbounded_lp():
    # min -x, x - y <= 1: x and y grow together without limit
    solution = solve_arrays(arrays([-1, 0], [[1, -1]], [-INF], [1]))
    assert (solution.status, solution.objective, solution.x) == ("unbounded", None, None)


def test_a_time_limit_on_arrays_is_a_time_limit():
    # The diagnosis copy used to call this "error".
    solution = solve_arrays(arrays([-1, 0], [[1, -1]], [-INF], [1]), time_limit=0)
    assert solution.status == "time_limit"


# A market-split MILP (Cornuejols and Dawande): 0/1 x with A x = b. Branch and bound needs far more
# than a second for it; with a zero objective any plan found would be optimal, so a stop at the time
# limit means no plan.
MARKET_SPLIT = [
    [47, 51, 75, 95, 3, 14, 82, 94, 24, 31, 86, 42, 27, 82, 25,
     40, 64, 54, 8, 2, 86, 75, 83, 53, 81, 32, 45, 78, 12, 30],
    [12, 45, 97, 13, 38, 40, 90, 20, 50, 26, 1, 75, 6, 28, 49,
     48, 11, 98, 74, 96, 9, 72, 29, 54, 92, 27, 72, 16, 32, 96],
    [42, 51, 29, 11, 42, 62, 45, 77, 36, 61, 77, 91, 42, 3, 71,
     52, 87, 45, 36, 6, 45, 64, 77, 85, 21, 59, 80, 26, 34, 83],
    [58, 50, 67, 51, 98, 75, 5, 14, 54, 81, 6, 68, 75, 78, 87,
     19, 55, 80, 35, 19, 47, 8, 21, 85, 66, 86, 84, 87, 31, 47]]
MARKET_RHS = [760, 708, 770, 818]


def test_a_time_limit_stops_a_milp():
    lp = arrays(np.zeros(30), MARKET_SPLIT, MARKET_RHS, MARKET_RHS, col_upper=np.ones(30))
    h = solved(lp, integer=np.ones(30, dtype=bool), time_limit=0.2)
    assert model_status(h) == "time_limit"
    assert h.getRunTime() < 5
    back = read_back(h, np.arange(30))
    assert (back.status, back.values, back.duals_from, back.row_ranges) == ("time_limit", None, "lp", None)


# min x + 10 y  s.t.  x >= 3 (demand),  x - 5 y <= 0 (x only if y is open, up to 5),  y binary.
# The MILP opens y: x = 3, cost 13. With y fixed at 1 the demand row costs what one more x costs (1),
# the capacity is slack (0), and y's reduced cost is its fixed cost (10). The LP relaxation instead
# opens y = 0.6 and prices demand at 1 + 10/5 = 3, the capacity at -2.
FIXED_COST = arrays([1, 10], [[1, 0], [1, -5]], [3, -INF], [INF, 0], col_upper=[INF, 1])


def test_fix_and_resolve_prices_the_milp_plan_with_its_choices_fixed():
    back = read_back(solved(FIXED_COST, integer=[False, True]), np.array([1]))
    assert back.status == "optimal" and back.duals_from == "fixed_lp"
    assert back.values.tolist() == [3.0, 1.0]
    assert (back.mip_gap, back.best_bound) == (0.0, 13.0)
    assert back.row_duals.tolist() == [1.0, 0.0]
    assert back.col_duals.tolist() == [0.0, 10.0]


def test_the_lp_relaxation_prices_differ():
    back = read_back(solved(FIXED_COST), NONE)
    assert (back.duals_from, back.mip_gap, back.best_bound) == ("lp", None, None)
    assert back.values.tolist() == [3.0, 0.6]
    assert back.row_duals.tolist() == [3.0, -2.0]


def test_ranges_of_the_right_hand_sides():
    # min x + 3y  s.t.  x + y >= 20 (demand),  x <= 10 (capacity): x = 10, y = 10, cost 40.
    # Demand keeps its price 3 while y stays in the plan: from 10 up. The capacity keeps its price -2
    # while y = 20 - capacity >= 0 and x = capacity >= 0: from 0 to 20.
    h = solved(arrays([1, 3], [[1, 1], [1, 0]], [20, -INF], [INF, 10]))
    back = read_back(h, NONE)
    assert back.row_duals.tolist() == [3.0, -2.0]
    low, high = back.row_ranges
    assert (low.tolist(), high.tolist(), back.ranging_note) == ([10.0, 0.0], [INF, 20.0], "")
    assert one_sided_rates(h, [])[1][1].tolist() == [INF, 20.0]  # the same ranging without tightenings


def test_ranges_are_not_read_without_an_optimal_plan():
    h = solved(arrays([1, 1], [[1, 1]], [3], [INF], col_upper=[1, 1]))
    assert read_back(h, NONE).row_ranges is None
    assert one_sided_rates(h, []) == ([], None, "HiGHS could not compute ranges for this model")


# Demand 10 = x1 + x2 + x3; local share (x1 + x3) >= 50%, stated 0.5 x1 - 0.5 x2 + 0.5 x3 >= 0.
# x1 is local at 3 (capacity 5 or 8), x2 imported at 1, x3 local at 4 (or absent). The optimum is
# x1 = x2 = 5, cost 20, share exactly 50%. One point more moves the share row by 10 / 100.
def share_lp(x1_capacity: float, x3: bool) -> LinearArrays:
    return arrays([3, 1, 4], [[1, 1, 1], [0.5, -0.5, 0.5]], [10, 0], [10, INF],
                  col_upper=[x1_capacity, INF, INF if x3 else 0])


ONE_POINT = Tightening(np.array([1]), np.array([-0.1]), step=1e-4)


def test_a_price_that_holds_past_the_bound_is_the_one_sided_rate():
    # x1 can grow to 8: each point moves 0.1 from x2 (1) to x1 (3), 0.2 a point, up to 30 points more.
    (rate,), _, _ = one_sided_rates(solved(share_lp(8, x3=True)), [ONE_POINT])
    assert rate.rate == pytest.approx(0.2) and rate.high == pytest.approx(30)


def test_a_degenerate_optimum_gives_the_rate_of_tightening_not_the_dual():
    # x1 is at its capacity exactly at 50%: any share dual from 0.2 a point (as if x1 could grow; HiGHS
    # 1.16 returns that one) to 0.3 is optimal, but the next point has to come from x3 at 4: 0.1 x (4 - 1).
    (rate,), _, _ = one_sided_rates(solved(share_lp(5, x3=True)), [ONE_POINT])
    assert rate.rate == pytest.approx(0.3)


def test_a_bound_that_cannot_tighten_is_at_the_limit():
    (rate,), _, _ = one_sided_rates(solved(share_lp(5, x3=False)), [ONE_POINT])  # no local unit beyond x1's 5
    assert rate.rate == float("inf")


def option(h, name: str):
    value = h.getOptionValue(name)  # (status, value) in highspy 1.16
    return value[1] if isinstance(value, tuple) else value


def test_an_instance_carries_the_options():
    h = new_highs(SolverOptions(time_limit=7.5, threads=1))
    assert [option(h, name) for name in ("time_limit", "mip_rel_gap", "threads", "output_flag")] == [
        7.5, DEFAULT_MIP_GAP, 1, False]
    assert option(new_highs(SolverOptions(mip_gap=0.01)), "mip_rel_gap") == 0.01


def test_check_solver_names_the_choices():
    assert check_solver("HiGHS") == "highs"
    with pytest.raises(SolverUnavailable) as refused:
        check_solver("gurobi")
    assert str(refused.value) == "unknown solver 'gurobi'; choose one of: highs, cbc"
