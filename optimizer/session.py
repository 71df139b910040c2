"""One model, edited and re-solved: a family of nearly identical solves at little more than the cost of one.

A ``Session`` holds one HiGHS instance loaded with a formulation's arrays (``optimizer.direct.image_of``). Each
member of a family is a formulation derived from the previous one by edits (``optimizer.edits``: a rule's
value, a policy set, fixed or forced builds, capex, a scenario); ``Session.load`` compares the new formulation
with the loaded one and hands HiGHS only the difference:

- objective coefficients, column bounds and integrality that changed, one call each;
- a constraint block whose rows have the same entries: the right-hand sides that changed;
- a block whose entries changed (a share rule's coefficients for a new value), appeared or went: its rows
  deleted and added again (HiGHS keeps the basis of every other row);
- the columns of the rules' own families (binaries) when they changed: deleted and added again.

HiGHS then re-solves from the basis it has (an LP), or from the previous plan given as a start (a MILP,
``setSolution``). Where the new formulation is another model (other flows or options, after scenario changes
that add or remove rows), the session loads it afresh and counts it (``fresh_loads``).

``Session.solve(report="cost")`` reads what a family member needs: status, cost and its parts, the build
decisions, the Compliance rows, and the one-sided marginal costs of the rules asked for, computed as a plan's
are (``optimizer.highs.one_sided_rates``); ``report="total"`` only the cost parts, the total and the demand left
unmet (a plan compared by its cost alone; a MILP whose discrete columns are all fixed is then solved as the LP it
is, from the previous basis); ``report="full"`` gives the plan exactly as ``optimizer.api.solve``
does, from a cold solve of the same model in a fresh instance, so every table (flows, prices, sensitivity) is
the one a single solve writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from optimizer import highs
from optimizer.direct import Image, image_of, read_solution
from optimizer.model import Formulation
from optimizer.options import SolverOptions


@dataclass
class _Rows:
    """The image's rows as HiGHS holds them: each row's entries (CSR, columns sorted) and bounds."""

    start: np.ndarray
    col: np.ndarray
    value: np.ndarray

    @classmethod
    def of(cls, image: Image) -> _Rows:
        lp = image.lp
        row, col, value = highs.summed_entries(lp, by_column=False)  # as load_arrays adds them up
        start = np.searchsorted(row, np.arange(lp.n_rows + 1))
        return cls(start, col, value)

    def block(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts relative to the first, columns, values) of ``rows`` (consecutive image rows)."""
        if not len(rows):
            return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        first, last = self.start[rows[0]], self.start[rows[-1] + 1]
        return self.start[rows[0]:rows[-1] + 2] - first, self.col[first:last], self.value[first:last]


@dataclass
class _Loaded:
    """The image loaded in the instance, and where HiGHS holds each of its rows."""

    image: Image
    rows: _Rows
    hrow: np.ndarray  # HiGHS row of every image row
    physical_columns: int  # the leading columns that belong to physical families (the rest: rules' families)


def _rule_columns(formulation: Formulation) -> int:
    """How many leading columns belong to physical families (those before the first family a rule added)."""
    rule_families = {name for model in formulation.rules.values() for name in model.families.values()}
    for family in formulation.families.values():
        if family.name in rule_families:
            return family.offset
    return formulation.n_variables


def _same_columns(old: Formulation, new: Formulation) -> bool:
    """Whether the physical families of two formulations are the same columns (same names and keys)."""
    if old.physical is not None and old.physical is new.physical:
        return True
    names = [n for n in old.families if n in old.physical.families] if old.physical is not None else None
    new_names = [n for n in new.families if new.physical is not None and n in new.physical.families]
    if names is None or names != new_names:
        return False
    return all(old.families[n].keys.equals(new.families[n].keys) for n in names)


@dataclass
class Session:
    """One HiGHS instance for a family of solves (see the module docstring)."""

    formulation: Formulation
    options: SolverOptions = field(default_factory=SolverOptions)
    #: How many times a model was loaded whole (the first, and members too different to edit).
    fresh_loads: int = 0
    #: Solves made from the previous member's basis or plan.
    warm_solves: int = 0

    def __post_init__(self) -> None:
        self._loaded: _Loaded | None = None  # what the instance holds (loaded when a warm solve needs it)
        self._last_plan: np.ndarray | None = None
        self._solved_since_load = False

    # ----------------------------------------------------------------- the model
    def _fresh(self, formulation: Formulation) -> None:
        image = image_of(formulation)
        self._h = highs.new_highs(self.options)
        highs.load_arrays(self._h, image.lp, image.integer)
        self._loaded = _Loaded(image, _Rows.of(image), np.arange(image.lp.n_rows), _rule_columns(formulation))
        self._last_plan = None
        self._solved_since_load = False
        self.fresh_loads += 1

    def load(self, formulation: Formulation) -> None:
        """Make ``formulation`` the session's model (HiGHS gets what differs from its model when it next solves
        warm)."""
        self.formulation = formulation

    def _sync(self) -> None:
        """Bring the instance to the session's formulation: only what differs, or afresh (see the module
        docstring)."""
        formulation = self.formulation
        old = self._loaded
        if old is None:
            self._fresh(formulation)
            return
        if old.image.formulation is formulation:
            return
        new_image = image_of(formulation)
        physical = _rule_columns(formulation)
        old_sub, new_sub = old.image.substitution, new_image.substitution
        same_substitution = (old_sub is None) == (new_sub is None) and (
            old_sub is None or (np.array_equal(old_sub.columns, new_sub.columns)
                                and np.array_equal(old_sub.rows, new_sub.rows)))
        if physical != old.physical_columns or not same_substitution \
                or not _same_columns(old.image.formulation, formulation):
            self._fresh(formulation)
            return
        h = self._h
        old_lp, lp = old.image.lp, new_image.lp
        kept = _reduced_count(physical, new_sub)
        tail_changed = not _same_tail(old.image, new_image, kept)
        # The basis, to hand back with each changed block's rows in the statuses they had (HiGHS would start the
        # re-added rows basic, and not always trust the rest).
        basis = h.getBasis() if self._solved_since_load else None
        row_status = list(basis.row_status) if basis is not None and basis.valid and not tail_changed else None
        carried = {}
        # Rows: blocks whose entries are unchanged keep their rows; the others are deleted and added again.
        rows = _Rows.of(new_image)
        replace_blocks, removed = [], []
        hrow_new = {}
        for name, at in old.image.positions.items():
            if name not in new_image.positions:
                removed.append(old.hrow[at[at >= 0]])
        for name, at in new_image.positions.items():
            new_at = at[at >= 0]
            old_at = old.image.positions.get(name)
            if old_at is None:
                replace_blocks.append(name)
                continue
            old_at = old_at[old_at >= 0]
            same = len(old_at) == len(new_at) and not (tail_changed and _touches_tail(old.rows, old_at, kept))
            unchanged = formulation.blocks.get(name) is old.image.formulation.blocks.get(name)
            if same and not unchanged:  # a block shared by both models has the same entries
                a, b = old.rows.block(old_at), rows.block(new_at)
                same = np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
            if same:
                hrow_new[name] = old.hrow[old_at]
                lower, upper = lp.row_lower[new_at], lp.row_upper[new_at]
                changed = (old_lp.row_lower[old_at] != lower) | (old_lp.row_upper[old_at] != upper)
                if changed.any():
                    where = hrow_new[name][changed].astype(np.int32)
                    h.changeRowsBounds(len(where), where, lower[changed], upper[changed])
            else:
                removed.append(old.hrow[old_at])
                replace_blocks.append(name)
                if row_status is not None and len(old_at) == len(new_at):
                    carried[name] = [row_status[r] for r in old.hrow[old_at]]
        kept_status = None
        if row_status is not None:
            alive = np.ones(len(row_status), dtype=bool)
            if removed:
                alive[np.concatenate(removed)] = False
            kept_status = [s for s, keep in zip(row_status, alive, strict=True) if keep]
        gone = np.sort(np.concatenate(removed)) if removed else np.zeros(0, dtype=np.int64)
        if len(gone):
            h.deleteRows(len(gone), gone.astype(np.int32))
            for name in hrow_new:
                hrow_new[name] = hrow_new[name] - np.searchsorted(gone, hrow_new[name])
        # Columns: the rules' own families, deleted and added again when they changed.
        n_old, n_new = old_lp.n_cols, lp.n_cols
        if tail_changed:
            if n_old > kept:
                h.deleteCols(n_old - kept, np.arange(kept, n_old, dtype=np.int32))
            if n_new > kept:
                count = n_new - kept
                h.addCols(count, lp.cost[kept:], lp.col_lower[kept:], lp.col_upper[kept:], 0,
                          np.zeros(count, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
                integer = new_image.integer[kept:]
                if integer.any():
                    highs.set_integrality(h, kept + np.flatnonzero(integer), True)
        common = min(kept if tail_changed else n_new, n_old)
        _change_columns(h, old_lp, lp, old.image.integer, new_image.integer, common)
        # The new and changed blocks' rows, at the end.
        first = h.getNumRow()
        for name in replace_blocks:
            at = new_image.positions[name]
            at = at[at >= 0]
            if not len(at):
                hrow_new[name] = np.zeros(0, dtype=np.int64)
                continue
            starts, cols, values = rows.block(at)
            h.addRows(len(at), lp.row_lower[at], lp.row_upper[at], len(cols), starts[:-1].astype(np.int32),
                      cols.astype(np.int32), values)
            hrow_new[name] = first + np.arange(len(at))
            first += len(at)
        hrow = np.full(lp.n_rows, -1, dtype=np.int64)
        for name, at in new_image.positions.items():
            present = at >= 0
            hrow[at[present]] = hrow_new[name]
        self._loaded = _Loaded(new_image, rows, hrow, physical)
        if kept_status is not None:
            basic = highs.highspy.HighsBasisStatus.kBasic
            for name in replace_blocks:
                kept_status += carried.get(name, [basic] * len(hrow_new[name]))
            rows_basic = sum(s == basic for s in kept_status)
            basic_columns = len(row_status) - sum(s == basic for s in row_status)  # the old basis was valid
            if len(kept_status) == h.getNumRow() and rows_basic + basic_columns == h.getNumRow():
                basis.row_status = kept_status
                h.setBasis(basis)

    # ----------------------------------------------------------------- solving
    def solve(self, report: str = "cost", rules: set[int] | None = None):
        """Solve the current model. ``report="total"``: a SolveResult with status, the cost parts, the total and
        the demand left unmet only (a plan compared by its cost alone). ``report="cost"``: a SolveResult with
        status, costs, build decisions and Compliance, and the one-sided marginal costs of the rules on the
        Policies rows ``rules``, from the previous basis or plan (a MILP's duals only when rules are priced).
        ``report="tables"``: the same with
        the plan's Flows, Utilization and Inventory and every rule's marginal costs (a plan shown in a
        workbook beside others, as the robust plan in each scenario). ``report="full"``: the plan as
        ``optimizer.api.solve`` gives it (a cold solve of this model in a fresh instance, every table, its
        Sensitivity and diagnosis)."""
        from optimizer.api import solve_formulated

        if report == "full":
            return solve_formulated(self.formulation, self.options)
        if report not in ("total", "cost", "tables"):
            raise ValueError(f"unknown report {report!r}")
        return self._solve_warm(rules, report == "tables", costs_only=report == "total")

    def _solve_warm(self, rules: set[int] | None, tables: bool = False, costs_only: bool = False):
        from optimizer import api  # its build_result: the one the test suite checks every plan through
        from optimizer.backend import SolverOutput

        started = time.perf_counter()
        self._sync()
        loaded, h = self._loaded, self._h
        formulation = self.formulation
        discrete = loaded.image.discrete
        lp = loaded.image.lp
        # A plan compared by its cost whose discrete choices are all fixed (the robust evaluation's builds) is
        # an LP: solved as one, from the previous basis, rather than as a MILP from the previous plan.
        relaxed = costs_only and not rules and len(discrete) \
            and np.array_equal(lp.col_lower[discrete], lp.col_upper[discrete])
        if relaxed:
            highs.set_integrality(h, discrete, False)
            discrete = discrete[:0]
        elif len(discrete) and self._last_plan is not None and len(self._last_plan) == lp.n_cols:
            h.setSolution(_start(self._last_plan))
        warm = self._solved_since_load
        h.run()
        seconds = time.perf_counter() - started
        output = SolverOutput(status="error", solver="highs", backend="session", is_mip=formulation.is_mip)
        hrows = {name: _positions(loaded, at) for name, at in loaded.image.positions.items()}
        image = replace(loaded.image, integer=np.zeros_like(loaded.image.integer)) if relaxed else loaded.image
        solved = read_solution(image, h, hrows, rates=bool(rules) or tables, rules=None if tables else rules,
                               ranging=False, prices=bool(rules) or tables)
        self._restore(discrete)
        if relaxed:  # the instance is again the image loaded: a MILP
            highs.set_integrality(h, loaded.image.discrete, True)
        output.status = solved.readback.status
        if solved.values is not None:
            output.values, output.objective = solved.values, float(formulation.objective @ solved.values)
            output.mip_gap, output.best_bound = solved.readback.mip_gap, solved.readback.best_bound
            if relaxed:  # every discrete choice fixed: the LP's optimum is the MILP's, proven
                output.mip_gap, output.best_bound = 0.0, output.objective
            output.duals_from = solved.readback.duals_from
            output.duals, output.reduced_costs = solved.duals, solved.reduced_costs
            output.row_positions = solved.row_positions
            output.marginals = solved.marginals
            self._last_plan = solved.readback.values
        output.seconds_solve = seconds
        self._solved_since_load = True
        if warm:
            self.warm_solves += 1
        return api.build_result(formulation, output, {"seconds_solve": seconds}, tables=tables,
                                costs_only=costs_only and not rules)

    def _restore(self, discrete: np.ndarray) -> None:
        """Undo what reading a plan did to the instance: pricing columns added, a MILP's discrete columns fixed
        (``optimizer.highs.read_back``)."""
        h, lp = self._h, self._loaded.image.lp
        extra = h.getNumCol() - lp.n_cols
        if extra > 0:
            h.deleteCols(extra, np.arange(lp.n_cols, lp.n_cols + extra, dtype=np.int32))
        if len(discrete):
            columns = discrete.astype(np.int32)
            h.changeColsBounds(len(columns), columns, lp.col_lower[discrete], lp.col_upper[discrete])
            highs.set_integrality(h, columns, True)


def _start(values: np.ndarray):
    solution = highs.highspy.HighsSolution()
    solution.col_value = values
    solution.value_valid = True
    return solution


def _positions(loaded: _Loaded, at: np.ndarray) -> np.ndarray:
    out = np.full(len(at), -1, dtype=np.int64)
    present = at >= 0
    out[present] = loaded.hrow[at[present]]
    return out


def _reduced_count(columns: int, substitution) -> int:
    """How many columns of the reduced model come from the first ``columns`` full columns."""
    if substitution is None:
        return columns
    return int(np.searchsorted(substitution.kept_cols, columns))


def _same_tail(old: Image, new: Image, kept: int) -> bool:
    """Whether the rules' own columns (after the physical ones) are the same columns in both images."""
    if old.lp.n_cols != new.lp.n_cols:
        return False
    if old.lp.n_cols == kept:
        return True
    old_f, new_f = old.formulation, new.formulation
    names = [f.name for f in old_f.families.values() if f.offset >= _rule_columns(old_f)]
    new_names = [f.name for f in new_f.families.values() if f.offset >= _rule_columns(new_f)]
    return names == new_names and all(old_f.families[n].keys.equals(new_f.families[n].keys) for n in names) \
        and np.array_equal(old.integer[kept:], new.integer[kept:])


def _touches_tail(rows: _Rows, at: np.ndarray, kept: int) -> bool:
    """Whether any of these rows has an entry in a rule's own column (at or after ``kept``)."""
    _, cols, _ = rows.block(at)
    return bool((cols >= kept).any())


def _change_columns(h, old, new, old_integer, new_integer, count: int) -> None:
    """Hand HiGHS the costs, bounds and integrality of the first ``count`` columns that changed."""
    cost = np.flatnonzero(old.cost[:count] != new.cost[:count]).astype(np.int32)
    if len(cost):
        h.changeColsCost(len(cost), cost, new.cost[cost])
    bounds = np.flatnonzero((old.col_lower[:count] != new.col_lower[:count])
                            | (old.col_upper[:count] != new.col_upper[:count])).astype(np.int32)
    if len(bounds):
        h.changeColsBounds(len(bounds), bounds, new.col_lower[bounds], new.col_upper[bounds])
    changed = old_integer[:count] != new_integer[:count]
    for integer in (True, False):
        columns = np.flatnonzero(changed & (new_integer[:count] == integer))
        if len(columns):
            highs.set_integrality(h, columns, integer)

