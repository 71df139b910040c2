"""The formulation's blocks handed straight to highspy as arrays (no PuLP objects); the LP
relaxation (binaries become [0, 1] columns).

Used where the model is solved many times with small changes (diagnosis: relaxations and best
achievable shares), so each variant costs one vectorised build. Rows keep the order of the
blocks; ``LinearArrays.row_offset[name]`` says where each block starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np

from optimizer.formulation import Formulation

INF = highspy.kHighsInf


@dataclass
class LinearArrays:
    """min/max ``cost @ x`` s.t. ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``;
    A in coordinate form (``row``, ``col``, ``value``)."""

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


def arrays_from(formulation: Formulation, blocks: Iterable[str] | None = None) -> LinearArrays:
    """Arrays of the formulation restricted to ``blocks`` (default: all), objective = unit costs."""
    names = list(formulation.blocks) if blocks is None else [b for b in blocks if b in formulation.blocks]
    lower, upper, rows, cols, values, offsets = [], [], [], [], [], {}
    offset = 0
    for name in names:
        block = formulation.blocks[name]
        rhs = block.rows["rhs"].to_numpy(dtype=float)
        sense = block.rows["sense"].to_numpy()
        lower.append(np.where(sense == "<=", -INF, rhs))
        upper.append(np.where(sense == ">=", INF, rhs))
        rows.append(block.row + offset)
        cols.append(block.var)
        values.append(block.coef)
        offsets[name] = offset
        offset += len(block)
    n = formulation.n_variables

    def cat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

    col_upper = formulation.upper.astype(float)
    return LinearArrays(
        cost=formulation.objective.astype(float).copy(), col_lower=np.zeros(n),
        col_upper=np.where(np.isfinite(col_upper), col_upper, INF),
        row_lower=cat(lower, float), row_upper=cat(upper, float), row=cat(rows, np.int64),
        col=cat(cols, np.int64), value=cat(values, float), row_offset=offsets)


@dataclass
class Substitution:
    """Production columns the solver does not see: each is the sum of the flows it ships.

    A Supply option whose site neither receives nor consumes nor demands its item has the balance
    row ``p - sum(outbound flows) == 0``; its column ``p`` is replaced by those flows in every
    other row and in the objective, and the balance row is dropped. The solver then sees a plain
    transportation structure (measured: HiGHS 3x faster on the scale benchmark's LP, same optimum).
    ``expand_*`` turn the reduced model's solution back into one of the full model, with duals
    that price every dropped balance row so that each dropped column's reduced cost is 0.
    """

    n_cols: int
    n_rows: int
    kept_cols: np.ndarray
    kept_rows: np.ndarray
    columns: np.ndarray  # the dropped columns (full index)
    rows: np.ndarray  # the balance row that defined each of them (full index)
    pivot: np.ndarray  # the column's coefficient in that row
    cost: np.ndarray  # the column's objective coefficient
    term_of: np.ndarray  # substitution p[term_of] = sum coef * x[term_col]
    term_col: np.ndarray
    term_coef: np.ndarray
    other_of: np.ndarray  # the column's entries in kept rows: (other_of, other_row, other_coef)
    other_row: np.ndarray
    other_coef: np.ndarray

    @property
    def row_map(self) -> np.ndarray:
        """Reduced row index of every full row (-1 for dropped rows)."""
        out = np.full(self.n_rows, -1, dtype=np.int64)
        out[self.kept_rows] = np.arange(len(self.kept_rows))
        return out

    def expand_values(self, reduced: np.ndarray) -> np.ndarray:
        full = np.zeros(self.n_cols)
        full[self.kept_cols] = reduced
        full[self.columns] = np.bincount(self.term_of, weights=self.term_coef * full[self.term_col],
                                         minlength=len(self.columns))
        return full

    def expand_row_duals(self, reduced: np.ndarray) -> np.ndarray:
        full = np.zeros(self.n_rows)
        full[self.kept_rows] = reduced
        priced = np.bincount(self.other_of, weights=self.other_coef * full[self.other_row],
                             minlength=len(self.columns))
        full[self.rows] = (self.cost - priced) / self.pivot  # reduced cost c - A'y of the column = 0
        return full

    def expand_col_duals(self, reduced: np.ndarray) -> np.ndarray:
        full = np.zeros(self.n_cols)
        full[self.kept_cols] = reduced
        return full


def substitute_production(lp: LinearArrays, formulation: Formulation,
                          integer: np.ndarray) -> tuple[LinearArrays, Substitution | None]:
    """``lp`` without the production columns that only feed outbound flows (see Substitution)."""
    family, block = formulation.families.get("production"), formulation.blocks.get("balance")
    if family is None or block is None or not len(family) or "balance" not in lp.row_offset:
        return lp, None
    first = lp.row_offset["balance"]
    in_block = (lp.row >= first) & (lp.row < first + len(block))
    rows_b, cols_b, coef_b = lp.row[in_block] - first, lp.col[in_block], lp.value[in_block]
    prod_b = (cols_b >= family.offset) & (cols_b < family.offset + len(family))
    count = np.bincount(rows_b[prod_b], minlength=len(block))
    pivot_of = np.zeros(len(block))
    pivot_col = np.full(len(block), -1, dtype=np.int64)
    pivot_of[rows_b[prod_b]], pivot_col[rows_b[prod_b]] = coef_b[prod_b], cols_b[prod_b]
    # p = -sum(a_k / a_p) x_k must be non-negative by itself: every other term has the opposite sign.
    same_sign = np.bincount(rows_b[~prod_b], weights=(coef_b[~prod_b] * pivot_of[rows_b[~prod_b]] >= 0),
                            minlength=len(block))
    rhs_zero = (lp.row_lower[first:first + len(block)] == 0) & (lp.row_upper[first:first + len(block)] == 0)
    # The pivot must be the row's own production (+1), not an input consumed there (-quantity).
    ok = (count == 1) & (same_sign == 0) & rhs_zero & (pivot_of > 0)
    candidates = np.flatnonzero(ok)
    columns = pivot_col[candidates]
    plain = (lp.col_lower[columns] == 0) & ~np.isfinite(lp.col_upper[columns]) & ~integer[columns]
    candidates, columns = candidates[plain], columns[plain]
    _, once = np.unique(columns, return_index=True)  # a column is defined by one row at most
    candidates, columns = candidates[np.sort(once)], columns[np.sort(once)]
    if not len(columns):
        return lp, None
    rows = candidates + first
    # Substitution terms: the other entries of each chosen balance row.
    index_of_col = np.full(lp.n_cols, -1, dtype=np.int64)
    index_of_col[columns] = np.arange(len(columns))
    index_of_row = np.full(lp.n_rows, -1, dtype=np.int64)
    index_of_row[rows] = np.arange(len(columns))
    entry_owner, dropped_col = index_of_row[lp.row], index_of_col[lp.col]
    terms = (entry_owner >= 0) & (dropped_col < 0)
    term_of = entry_owner[terms]
    pivot = pivot_of[candidates]
    term_col, term_coef = lp.col[terms], -lp.value[terms] / pivot[term_of]
    others = (dropped_col >= 0) & (entry_owner < 0)
    other_of, other_row, other_coef = dropped_col[others], lp.row[others], lp.value[others]
    # Spread each remaining entry of a dropped column over the flows it stands for.
    order = np.argsort(term_of, kind="stable")
    term_of, term_col, term_coef = term_of[order], term_col[order], term_coef[order]
    counts = np.bincount(term_of, minlength=len(columns))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    repeat = counts[other_of]
    source = np.repeat(np.arange(len(other_of)), repeat)
    within = np.arange(len(source)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    picked = starts[other_of[source]] + within
    keep_entry = (entry_owner < 0) & (dropped_col < 0)
    row = np.concatenate([lp.row[keep_entry], other_row[source]])
    col = np.concatenate([lp.col[keep_entry], term_col[picked]])
    value = np.concatenate([lp.value[keep_entry], other_coef[source] * term_coef[picked]])
    cost = lp.cost.copy()
    np.add.at(cost, term_col, lp.cost[columns][term_of] * term_coef)
    kept_cols = np.flatnonzero(index_of_col < 0)
    kept_rows = np.flatnonzero(index_of_row < 0)
    col_map = np.cumsum(index_of_col < 0) - 1
    row_map = np.cumsum(index_of_row < 0) - 1
    reduced = LinearArrays(cost[kept_cols], lp.col_lower[kept_cols], lp.col_upper[kept_cols],
                           lp.row_lower[kept_rows], lp.row_upper[kept_rows], row_map[row], col_map[col], value)
    return reduced, Substitution(lp.n_cols, lp.n_rows, kept_cols, kept_rows, columns, rows, pivot,
                                 lp.cost[columns], term_of, term_col, term_coef, other_of, other_row, other_coef)


@dataclass
class ArraySolution:
    status: str  # optimal | infeasible | unbounded | error
    objective: float | None
    x: np.ndarray | None
    highs: highspy.Highs


def load_highs(h: highspy.Highs, lp: LinearArrays, integer: np.ndarray | None = None) -> None:
    """Pass the arrays to ``h`` in one call (column-wise CSC matrix), marking ``integer`` columns.
    Repeated (row, column) entries are added up, as in the PuLP model."""
    order = np.lexsort((lp.row, lp.col))
    row, col, value = lp.row[order], lp.col[order], lp.value[order]
    repeated = (row[1:] == row[:-1]) & (col[1:] == col[:-1])
    if repeated.any():
        first = np.flatnonzero(np.r_[True, ~repeated])
        row, col, value = row[first], col[first], np.add.reduceat(value, first)
    starts = np.searchsorted(col, np.arange(lp.n_cols)).astype(np.int32)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = lp.n_cols, lp.n_rows
    model.col_cost_, model.col_lower_, model.col_upper_ = lp.cost, lp.col_lower, lp.col_upper
    model.row_lower_, model.row_upper_ = lp.row_lower, lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.append(starts, len(row)).astype(np.int32)
    model.a_matrix_.index_ = row.astype(np.int32)
    model.a_matrix_.value_ = value
    if integer is not None and integer.any():
        model.integrality_ = [highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                              for flag in integer]
    h.passModel(model)


def solve_arrays(lp: LinearArrays, maximize: bool = False, time_limit: float | None = None) -> ArraySolution:
    """Pass the arrays to a fresh HiGHS instance and solve (the LP relaxation)."""
    with _silenced():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    load_highs(h, lp)
    if maximize:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.run()
    status = h.getModelStatus()
    kinds = highspy.HighsModelStatus
    if status == kinds.kOptimal:
        x = np.asarray(h.getSolution().col_value)
        return ArraySolution("optimal", float(lp.cost @ x), x, h)
    if status in (kinds.kInfeasible, kinds.kUnboundedOrInfeasible):
        return ArraySolution("infeasible", None, None, h)
    if status == kinds.kUnbounded:
        return ArraySolution("unbounded", None, None, h)
    return ArraySolution("error", None, None, h)


@contextlib.contextmanager
def _silenced():
    """highspy prints a banner on stdout when an instance is created."""
    from optimizer.backend import _quiet

    with _quiet(True):
        yield
