"""The HiGHS layer both backends share; the only module that talks to highspy.

It owns, once each: creating an instance configured from ``SolverOptions`` (log, time limit,
relative MIP gap, threads); what HiGHS's model status means here (optimal, infeasible, unbounded,
time_limit or error); whether a stopped run left a plan; a MILP plan's gap and best bound; fixing
the discrete columns at the plan's values and re-solving that LP for prices; reading values, row
duals, column duals and right-hand-side ranges; the one-sided rates at which the optimal cost rises
as bounds tighten (``one_sided_rates``); ``read_back`` runs those steps in order.

The PuLP backend hands it the instance PuLP built and ran (``problem.solverModel``); the direct
backend (``optimizer.direct``) one it loaded from arrays (``LinearArrays``, ``load_arrays``).
Everything here is by HiGHS column and row; the backends map that back to the formulation.
``solve_arrays`` solves arrays on a fresh instance: their LP, or their MILP where ``integer`` marks whole-valued
columns (diagnosis's LP variants, rule marginals, the frontier's ends and robust's MILP).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np

from optimizer.options import SolverOptions, mip_rel_gap

INF = highspy.kHighsInf
#: ``info.primal_solution_status`` of a feasible point: after a limit, the run left a plan.
FEASIBLE = 2
RANGING_FAILED = "HiGHS could not compute ranges for this model"

_KINDS = highspy.HighsModelStatus
_STATUS = {_KINDS.kOptimal: "optimal", _KINDS.kInfeasible: "infeasible", _KINDS.kUnboundedOrInfeasible: "infeasible",
           _KINDS.kUnbounded: "unbounded", _KINDS.kTimeLimit: "time_limit", _KINDS.kIterationLimit: "time_limit",
           _KINDS.kInterrupt: "time_limit"}


def ranging_unavailable(solver: str) -> str:
    """The note for a plan solved without HiGHS, which alone gives right-hand-side ranges."""
    return f"ranges not available with {solver.upper()} (HiGHS only)"


@contextlib.contextmanager
def quiet(enabled: bool = True):
    """Silence output written straight to the stdout file descriptor (HiGHS prints a banner)."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(options: SolverOptions) -> highspy.Highs:
    """A fresh instance configured from ``options``: the log (``verbose``), the time limit of each
    run, the relative MIP gap (``DEFAULT_MIP_GAP`` when None) and the number of threads."""
    with quiet(not options.verbose):
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", mip_rel_gap(options))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    return h


def model_status(h: highspy.Highs) -> str:
    """optimal | infeasible | unbounded | time_limit | error. Any stop before the end (time or
    iteration limit, interrupt) is ``time_limit``, whether or not a plan was found (``has_plan``)."""
    return _STATUS.get(h.getModelStatus(), "error")


def has_plan(h: highspy.Highs, status: str) -> bool:
    """True when the last run left a feasible plan: always when optimal, after a limit only if found."""
    return status == "optimal" or (status == "time_limit" and h.getInfo().primal_solution_status == FEASIBLE)


def mip_quality(h: highspy.Highs) -> tuple[float, float]:
    """(relative gap, best bound) of the MILP just run: 0 gap when proven optimal."""
    info = h.getInfo()
    return max(0.0, float(info.mip_gap)), float(info.mip_dual_bound)


def set_integrality(h: highspy.Highs, columns: np.ndarray, integer: bool) -> None:
    """Make ``columns`` of ``h`` integer, or continuous."""
    kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
    h.changeColsIntegrality(len(columns), np.asarray(columns, dtype=np.int32), np.full(len(columns), kind))


def fix_and_resolve(h: highspy.Highs, columns: np.ndarray, values: np.ndarray) -> str:
    """Fix ``columns`` (the discrete decisions) at ``values`` rounded, as continuous columns, and
    re-run: the LP of the plan's discrete choices, whose duals price the plan. The instance keeps its
    options (time limit, gap, threads). The LP is solved from scratch, as a freshly built model would
    be: the search's last state does not pick among a degenerate LP's equally valid prices. Returns
    that LP's status."""
    columns = np.asarray(columns, dtype=np.int32)
    fixed = np.round(np.asarray(values, dtype=float))
    set_integrality(h, columns, False)
    h.changeColsBounds(len(columns), columns, fixed, fixed)
    h.clearSolver()
    h.run()
    return model_status(h)


def solution(h: highspy.Highs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(column values, row duals, column duals = reduced costs) of the last run."""
    s = h.getSolution()
    return (np.asarray(s.col_value, dtype=float), np.asarray(s.row_dual, dtype=float),
            np.asarray(s.col_dual, dtype=float))


@dataclass
class Readback:
    """What a run says, by HiGHS column and row; ``values`` is None when there is no plan."""

    status: str
    values: np.ndarray | None = None  # the plan (of the MILP, before its discrete choices were fixed)
    row_duals: np.ndarray | None = None
    col_duals: np.ndarray | None = None
    mip_gap: float | None = None
    best_bound: float | None = None
    duals_from: str = "lp"  # "lp", "fixed_lp" (MILP with its discrete choices fixed) or "none"
    row_ranges: tuple[np.ndarray, np.ndarray] | None = None
    ranging_note: str = ""
    #: The one-sided rate of each tightening asked for (``one_sided_rates``), in order.
    one_sided: list[OneSided] = field(default_factory=list)


def read_back(h: highspy.Highs, discrete: np.ndarray,
              tightenings: Callable[..., list[Tightening]] | None = None, ranging: bool = True,
              prices: bool = True) -> Readback:
    """Status, plan, MIP quality, prices and ranges of the run ``h`` has just made.

    ``discrete``: the HiGHS columns of the discrete decisions (empty for an LP). A MILP's plan has
    them fixed at its values and the LP re-solved on the same instance (``fix_and_resolve``): the
    duals, reduced costs and ranges are then that LP's (``duals_from`` "fixed_lp", or "none" when
    it did not solve). Ranges are read for an optimal plan with prices only, and with them the one-sided
    rates of the ``tightenings`` that the plan's values give (``one_sided_rates``): read last, as
    they may leave ``h`` at another optimum. Without ``ranging`` (a family member's cost), ranging is read
    only when some tightening needs it; without ``prices`` (a member whose cost alone is wanted) a MILP's
    discrete choices are not fixed and re-solved for duals (``duals_from`` "none")."""
    out = Readback(model_status(h))
    if not has_plan(h, out.status):
        return out
    out.values, out.row_duals, out.col_duals = solution(h)
    if len(discrete):
        out.mip_gap, out.best_bound = mip_quality(h)
        if not prices:
            out.duals_from = "none"
            return out
        resolved = fix_and_resolve(h, discrete, out.values[discrete])
        out.duals_from = "fixed_lp" if resolved == "optimal" else "none"
        _, out.row_duals, out.col_duals = solution(h)
    if out.status == "optimal" and out.duals_from != "none":
        directions = tightenings(out.values, out.row_duals) if tightenings is not None else []
        if directions or ranging:
            out.one_sided, out.row_ranges, out.ranging_note = one_sided_rates(h, directions, ranges=ranging)
    return out


@dataclass(frozen=True)
class Tightening:
    """A direction in which bounds tighten, as a column HiGHS can price: one unit of ``t`` moves each of
    HiGHS ``rows`` by ``coef`` (signed: +f on a ``<=`` row, -f on a ``>=`` row, so that ``a x + coef t``
    against the old bound is the tightened row). ``step`` is the first re-solve's ``t`` when the plan's
    price does not hold past the bound."""

    rows: np.ndarray
    coef: np.ndarray
    step: float


@dataclass(frozen=True)
class OneSided:
    """The rate at which the optimal cost rises per unit of a tightening ``t``, just past ``t = 0``
    (``inf``: no plan past it, the bound is at the limit; ``nan``: HiGHS could not say), and the interval
    ``[low, high]`` of ``t`` on which that rate holds (it reaches from 0 or below to past 0; below 0
    is loosening)."""

    rate: float
    low: float = float("nan")
    high: float = float("nan")


#: Re-solves per tightening before giving up on a rate (each halves the step at least).
MAX_RESOLVES = 30


def one_sided_rates(h: highspy.Highs, directions: list[Tightening],
                    ranges: bool = True) -> tuple[list[OneSided], tuple | None, str]:
    """The one-sided rate of each tightening at the LP optimum ``h`` holds (every discrete column fixed),
    and the right-hand-side ranges of its rows as ``row_ranges`` gives them (one ranging run for both).
    Without ``ranges`` (a family member, which needs no Sensitivity), ranging runs only where a direction
    needs it (see ``_held_rates``).

    Each direction becomes a column fixed at 0, so the optimum does not move (no simplex iteration):
    its reduced cost is the cost per unit of ``t``, and HiGHS's bound ranging says on which interval of
    ``t`` the basis, and so that rate, holds. Where the interval reaches past 0 the rate is exact
    whichever optimal dual HiGHS returned. Where it stops at 0 (a degenerate optimum), the column is
    fixed at a small ``t`` and re-solved: that basis's rate holds back to 0 when its interval reaches
    it, which makes it the rate just past the bound; else the step shrinks to inside that interval.
    No plan at the step means the bound is at the limit. ``h`` is left at another optimum after that."""
    first, n = h.getNumCol(), len(directions)
    if n:
        starts = np.cumsum([0] + [len(d.rows) for d in directions[:-1]]).astype(np.int32)
        index = np.concatenate([d.rows for d in directions]).astype(np.int32)
        value = np.concatenate([d.coef for d in directions]).astype(float)
        h.addCols(n, np.zeros(n), np.zeros(n), np.zeros(n), len(index), starts, index, value)
        h.run()  # a fixed column at 0 leaves the basis optimal: this only prices the new columns
    held = [None] * n if ranges else _held_rates(h, first, directions)
    if not ranges and all(rate is not None for rate in held):
        return held, None, ""  # type: ignore[return-value]
    status, ranging = h.getRanging()
    if status != highspy.HighsStatus.kOk:
        return [OneSided(float("nan"))] * n, None, RANGING_FAILED
    ranges = (np.asarray(ranging.row_bound_dn.value_, dtype=float),
              np.asarray(ranging.row_bound_up.value_, dtype=float))
    if not n:
        return [], ranges, ""
    rates = np.asarray(h.getSolution().col_dual, dtype=float)[first:]
    low = np.asarray(ranging.col_bound_dn.value_, dtype=float)[first:]
    high = np.asarray(ranging.col_bound_up.value_, dtype=float)[first:]
    out = [held[j] if held[j] is not None else
           OneSided(float(rates[j]), float(low[j]), float(high[j])) if high[j] > _RANGE_TOLERANCE * d.step
           else None for j, d in enumerate(directions)]
    for j in (j for j in range(n) if out[j] is None):
        out[j] = _past_the_bound(h, first + j, directions[j].step)
        h.changeColBounds(first + j, 0.0, 0.0)
    return out, ranges, ""  # type: ignore[return-value]


#: A ranging bound within this fraction of the step from 0 counts as 0.
_RANGE_TOLERANCE = 1e-6


def _held_rates(h: highspy.Highs, first: int, directions: list[Tightening]) -> list[OneSided | None]:
    """The rates whose basis provably holds a step past 0, without ranging: each direction's column is fixed
    at its ``step`` and re-solved; when HiGHS needs no simplex iteration, the basis that priced it at 0 is
    still optimal at the step, so its reduced cost is the rate on the whole of [0, step], exactly the rate
    ranging would confirm (its interval then reaches past the step). Where an iteration is needed (a
    degenerate optimum), None: ranging decides, as for a plan's report. ``h`` is back at ``t = 0`` after."""
    out: list[OneSided | None] = []
    for j, direction in enumerate(directions):
        column = first + j
        rate = float(h.getSolution().col_dual[column])
        h.changeColBounds(column, direction.step, direction.step)
        h.run()
        moved = model_status(h) != "optimal" or h.getInfo().simplex_iteration_count > 0
        out.append(None if moved else OneSided(rate))
        h.changeColBounds(column, 0.0, 0.0)
        if moved:
            h.run()  # back to an optimum at t = 0 for the next direction
    return out


def _column_price(h: highspy.Highs, column: int) -> tuple[float, float, float]:
    """(reduced cost, low end, high end of the value range on which it holds) of ``column``."""
    dual = float(h.getSolution().col_dual[column])
    status, ranging = h.getRanging()
    if status != highspy.HighsStatus.kOk:
        return dual, float("nan"), float("nan")
    return dual, float(ranging.col_bound_dn.value_[column]), float(ranging.col_bound_up.value_[column])


def _past_the_bound(h: highspy.Highs, column: int, step: float) -> OneSided:
    """The rate of ``column`` (a tightening) just past 0, from re-solves at small positive values."""
    t = step
    for _ in range(MAX_RESOLVES):
        h.changeColBounds(column, t, t)
        h.run()
        status = model_status(h)
        if status == "infeasible":
            return OneSided(float("inf"), 0.0, 0.0)
        if status != "optimal":
            return OneSided(float("nan"))
        rate, low, high = _column_price(h, column)
        if not np.isfinite(low):
            return OneSided(float("nan"))
        if low <= _RANGE_TOLERANCE * step:
            return OneSided(rate, low, high)
        t = min(t, low) / 2  # a breakpoint lies at low: the piece next to 0 is below it
    return OneSided(float("nan"))


@dataclass
class LinearArrays:
    """min/max ``cost @ x`` s.t. ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``;
    A in coordinate form (``row``, ``col``, ``value``). ``row_offset[name]`` is where each
    formulation block starts (``optimizer.direct.arrays_from``)."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    row_offset: dict[str, int] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    def add_columns(self, cost: np.ndarray, rows: np.ndarray, coefs: np.ndarray) -> np.ndarray:
        """Append one non-negative column per entry, with a single coefficient in ``rows``; return
        the new columns' indices (used for slack and shortfall variables)."""
        start = self.n_cols
        new = np.arange(start, start + len(rows))
        self.cost = np.concatenate([self.cost, cost])
        self.col_lower = np.concatenate([self.col_lower, np.zeros(len(rows))])
        self.col_upper = np.concatenate([self.col_upper, np.full(len(rows), INF)])
        self.row = np.concatenate([self.row, rows])
        self.col = np.concatenate([self.col, new])
        self.value = np.concatenate([self.value, coefs])
        return new

    def add_column(self, cost: float, rows: np.ndarray, coefs: np.ndarray) -> int:
        """Append one non-negative column with coefficients ``coefs`` in ``rows``; return its index."""
        column = self.add_columns(np.array([cost]), rows[:1], coefs[:1])[0]
        self.row = np.concatenate([self.row, rows[1:]])
        self.col = np.concatenate([self.col, np.full(len(rows) - 1, column)])
        self.value = np.concatenate([self.value, coefs[1:]])
        return int(column)


def summed_entries(lp: LinearArrays, by_column: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of ``lp`` as (row, col, value), sorted by column then row (``by_column``, as a CSC matrix) or by
    row then column (CSR); repeated (row, column) entries added up in the order given, as in the PuLP model."""
    major, minor, n_minor = (lp.col, lp.row, lp.n_rows) if by_column else (lp.row, lp.col, lp.n_cols)
    # One stable sort on a (major, minor) code: the order lexsort gives, at less time and memory.
    code = major.astype(np.int64)
    code *= max(n_minor, 1)
    code += minor
    order = np.argsort(code, kind="stable")
    code = code[order]
    value = lp.value[order]
    del order
    repeated = code[1:] == code[:-1]
    if repeated.any():
        first = np.flatnonzero(np.r_[True, ~repeated])
        code, value = code[first], np.add.reduceat(value, first)
    del repeated
    major, minor = np.divmod(code, max(n_minor, 1))
    return (minor, major, value) if by_column else (major, minor, value)


def load_arrays(h: highspy.Highs, lp: LinearArrays, integer: np.ndarray | None = None) -> None:
    """Pass the arrays to ``h`` in one call (column-wise CSC matrix, each column's rows in increasing order),
    marking ``integer`` columns. Repeated (row, column) entries are added up, in the order given, as in the PuLP
    model."""
    row, col, value = summed_entries(lp, by_column=True)
    starts = np.searchsorted(col, np.arange(lp.n_cols + 1)).astype(np.int32)
    del col
    kinds = np.zeros(lp.n_cols, dtype=np.int32)  # HighsVarType: 0 continuous, 1 integer
    if integer is not None:
        kinds[np.asarray(integer, dtype=bool)] = int(highspy.HighsVarType.kInteger)
    # The arrays overload of passModel reads them in place (a HighsLp would hold one more copy of each).
    status = h.passModel(lp.n_cols, lp.n_rows, len(row), int(highspy.MatrixFormat.kColwise),
                         int(highspy.ObjSense.kMinimize), 0.0, lp.cost, lp.col_lower, lp.col_upper, lp.row_lower,
                         lp.row_upper, starts, row.astype(np.int32), value, kinds)
    if status == highspy.HighsStatus.kError:
        raise ValueError("HiGHS refused the model's arrays")


@dataclass
class ArraySolution:
    status: str  # optimal | infeasible | unbounded | time_limit | error
    objective: float | None
    x: np.ndarray | None
    highs: highspy.Highs


def solve_arrays(lp: LinearArrays, maximize: bool = False, time_limit: float | None = None,
                 integer: np.ndarray | None = None, options: SolverOptions | None = None) -> ArraySolution:
    """Pass the arrays to a fresh HiGHS instance and solve: the LP relaxation, unless ``integer`` marks
    columns that must take whole values; ``options`` (time limit, MIP gap, threads, log) when given, else
    only ``time_limit``. A time-limited MILP returns its best plan with status ``time_limit``."""
    h = new_highs(options or SolverOptions(time_limit=time_limit))
    load_arrays(h, lp, integer)
    if maximize:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.run()
    status = model_status(h)
    if status != "optimal" and not (status == "time_limit" and has_plan(h, status)):
        return ArraySolution(status, None, None, h)
    x = np.asarray(h.getSolution().col_value)
    return ArraySolution(status, float(lp.cost @ x), x, h)
