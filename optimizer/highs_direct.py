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
class ArraySolution:
    status: str  # optimal | infeasible | unbounded | error
    objective: float | None
    x: np.ndarray | None
    highs: highspy.Highs


def load_highs(h: highspy.Highs, lp: LinearArrays, integer: np.ndarray | None = None) -> None:
    """Pass the arrays to ``h`` in one call (column-wise CSC matrix), marking ``integer`` columns."""
    order = np.lexsort((lp.row, lp.col))
    starts = np.searchsorted(lp.col[order], np.arange(lp.n_cols)).astype(np.int32)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = lp.n_cols, lp.n_rows
    model.col_cost_, model.col_lower_, model.col_upper_ = lp.cost, lp.col_lower, lp.col_upper
    model.row_lower_, model.row_upper_ = lp.row_lower, lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.append(starts, len(order)).astype(np.int32)
    model.a_matrix_.index_ = lp.row[order].astype(np.int32)
    model.a_matrix_.value_ = lp.value[order]
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
