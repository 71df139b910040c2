"""The direct backend: the formulation's blocks handed to HiGHS as arrays, no PuLP objects.

It owns the arrays of a formulation (``arrays_from``: rows in the order of the blocks,
``LinearArrays.row_offset[name]`` says where each block starts; no column is marked integer, so
on their own they are the LP relaxation, which diagnosis solves in many variants), the
substitution of production columns that only feed outbound flows (``Substitution``), and the
direct solve (``solve_direct``): arrays in, plan and prices expanded back to the full model out,
with the instance, status, MIP quality, fixed-LP prices and ranges from the shared HiGHS layer
``optimizer.highs``. ``optimizer.backend`` picks it for HiGHS models from ``DIRECT_THRESHOLD``
variables, where PuLP's objects would cost several times the solve.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from optimizer import highs
from optimizer.highs import INF, LinearArrays
from optimizer.marginals import Marginals, Pricing
from optimizer.model import Formulation
from optimizer.options import SolverOptions


def arrays_from(formulation: Formulation, blocks: Iterable[str] | None = None) -> LinearArrays:
    """Arrays of the formulation restricted to ``blocks`` (default: all), objective = unit costs. The blocks'
    entries are laid out in block order, each block's rows after the previous ones; indices are 32-bit."""
    names = list(formulation.blocks) if blocks is None else [b for b in blocks if b in formulation.blocks]
    chosen = [formulation.blocks[name] for name in names]
    n_rows, nnz = sum(len(b) for b in chosen), sum(b.nnz for b in chosen)
    # Filled in place, block by block: concatenating lists of parts and casting them would hold three copies.
    row_lower, row_upper = np.empty(n_rows), np.empty(n_rows)
    row, col, value = np.empty(nnz, dtype=np.int32), np.empty(nnz, dtype=np.int32), np.empty(nnz)
    offsets = {}
    offset = entry = 0
    for name, block in zip(names, chosen, strict=True):
        rhs = block.rows["rhs"].to_numpy(dtype=float)
        sense = block.rows["sense"].to_numpy()
        row_lower[offset:offset + len(block)] = np.where(sense == "<=", -INF, rhs)
        row_upper[offset:offset + len(block)] = np.where(sense == ">=", INF, rhs)
        end = entry + block.nnz
        np.add(block.row, offset, out=row[entry:end])
        col[entry:end], value[entry:end] = block.var, block.coef
        offsets[name] = offset
        offset, entry = offset + len(block), end
    col_upper = np.asarray(formulation.upper, dtype=float)
    return LinearArrays(
        cost=np.asarray(formulation.objective, dtype=float), col_lower=np.asarray(formulation.lower, dtype=float),
        col_upper=np.where(np.isfinite(col_upper), col_upper, INF),
        row_lower=row_lower, row_upper=row_upper, row=row, col=col, value=value, row_offset=offsets)


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
    if family is None or block is None or not len(family) or "balance" not in lp.row_offset \
            or not formulation.substitute:
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
    # Entries by where they are: in a dropped row (the substitution's terms), in a dropped column (the entries
    # to spread over those terms), or in neither (kept as they are). Masks and 32-bit maps over the entries:
    # the entries are the largest arrays here, and the memory peak of large runs is the solve that follows.
    dropped_row = np.zeros(lp.n_rows, dtype=bool)
    dropped_row[rows] = True
    dropped_col = np.zeros(lp.n_cols, dtype=bool)
    dropped_col[columns] = True
    in_row, in_col = dropped_row[lp.row], dropped_col[lp.col]
    index_of_row = np.full(lp.n_rows, -1, dtype=np.int32)
    index_of_row[rows] = np.arange(len(columns))
    index_of_col = np.full(lp.n_cols, -1, dtype=np.int32)
    index_of_col[columns] = np.arange(len(columns))
    terms = in_row & ~in_col
    term_of = index_of_row[lp.row[terms]]
    pivot = pivot_of[candidates]
    term_col, term_coef = lp.col[terms], -lp.value[terms] / pivot[term_of]
    others = in_col & ~in_row
    other_of, other_row, other_coef = index_of_col[lp.col[others]], lp.row[others], lp.value[others]
    del terms, others
    # Spread each remaining entry of a dropped column over the flows it stands for.
    order = np.argsort(term_of, kind="stable")
    term_of, term_col, term_coef = term_of[order], term_col[order], term_coef[order]
    counts = np.bincount(term_of, minlength=len(columns))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    repeat = counts[other_of]
    source = np.repeat(np.arange(len(other_of)), repeat)
    within = np.arange(len(source)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    picked = starts[other_of[source]] + within
    keep_entry = ~(in_row | in_col)
    del in_row, in_col
    cost = lp.cost.copy()
    np.add.at(cost, term_col, lp.cost[columns][term_of] * term_coef)
    kept_cols, kept_rows = np.flatnonzero(~dropped_col), np.flatnonzero(~dropped_row)
    col_map = (np.cumsum(~dropped_col) - 1).astype(np.int32)
    row_map = (np.cumsum(~dropped_row) - 1).astype(np.int32)
    reduced = LinearArrays(cost[kept_cols], lp.col_lower[kept_cols], lp.col_upper[kept_cols],
                           lp.row_lower[kept_rows], lp.row_upper[kept_rows],
                           np.concatenate([row_map[lp.row[keep_entry]], row_map[other_row[source]]]),
                           np.concatenate([col_map[lp.col[keep_entry]], col_map[term_col[picked]]]),
                           np.concatenate([lp.value[keep_entry], other_coef[source] * term_coef[picked]]))
    return reduced, Substitution(lp.n_cols, lp.n_rows, kept_cols, kept_rows, columns, rows, pivot,
                                 lp.cost[columns], term_of, term_col, term_coef, other_of, other_row, other_coef)


@dataclass
class DirectSolve:
    """The direct solve's answer: HiGHS's read-back, with the plan and prices expanded back to the
    full formulation (production columns and balance rows included)."""

    readback: highs.Readback
    values: np.ndarray | None = None
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    reduced_costs: np.ndarray | None = None
    #: HiGHS row of every block row (-1 where the row was substituted out).
    row_positions: dict[str, np.ndarray] = field(default_factory=dict)
    seconds_build: float = 0.0
    seconds_solve: float = 0.0
    seconds_solver_run: float | None = None
    marginals: Marginals | None = None


def solve_direct(formulation: Formulation, options: SolverOptions) -> DirectSolve:
    """Pass the blocks to HiGHS as arrays and solve: the PuLP backend's model and plan, without PuLP.

    Production columns that only feed outbound flows are substituted out first (``Substitution``);
    values and prices are expanded back to the full model. The memory freed before the solve (by
    reading and formulating) and after it (by HiGHS) goes back to the operating system, and so does every
    large block freed while HiGHS runs (``_large_blocks_unmapped``)."""
    _return_freed_memory()
    with _large_blocks_unmapped():
        solved = _solve(formulation, options)
    _return_freed_memory()  # the solved instance is gone: its memory is what writing the plan needs
    return solved


@dataclass
class Image:
    """What HiGHS is given for a formulation: its arrays with the pure suppliers' production substituted out
    (``lp``, ``integer``: the columns that must be whole), the substitution to expand a plan back, and the row
    of ``lp`` of every block row (``positions``, -1 where the row was substituted out)."""

    formulation: Formulation
    lp: LinearArrays
    integer: np.ndarray
    substitution: Substitution | None
    positions: dict[str, np.ndarray]

    @property
    def discrete(self) -> np.ndarray:
        return np.flatnonzero(self.integer)

    def expand(self, values: np.ndarray) -> np.ndarray:
        """A plan of ``lp`` as a plan of the formulation (the substituted production columns added back)."""
        return values if self.substitution is None else self.substitution.expand_values(values)


def image_of(formulation: Formulation) -> Image:
    """The formulation as HiGHS gets it (see ``Image``)."""
    integer = formulation.integer
    full = arrays_from(formulation)
    full_rows = {name: full.row_offset[name] + np.arange(len(block)) for name, block in formulation.blocks.items()}
    lp, substitution = substitute_production(full, formulation, integer)
    del full  # the reduced copy is what HiGHS needs: the memory peak of large runs is the solve
    if substitution is None:
        return Image(formulation, lp, integer, None, full_rows)
    row_map = substitution.row_map
    return Image(formulation, lp, integer[substitution.kept_cols], substitution,
                 {name: row_map[rows] for name, rows in full_rows.items()})


def read_solution(image: Image, h, rows: dict[str, np.ndarray] | None = None, rates: bool = True,
                  rules: set[int] | None = None, ranging: bool = True, prices: bool = True) -> DirectSolve:
    """Status, plan and prices of the run ``h`` has just made on ``image`` (``rows``: the HiGHS row of every
    block row, when the instance's rows are no longer in the image's order), mapped back to the formulation.
    ``rates``: also the one-sided marginal costs, of the rules on the Policies rows ``rules`` only when
    given; ``ranging``: the ranges of the right-hand sides too (Sensitivity); ``prices``: a MILP's duals
    (of its plan's discrete choices fixed; without them, its duals are blank). Leaves ``h`` as
    ``highs.read_back`` does (a MILP's discrete columns fixed, pricing columns added)."""
    formulation, substitution = image.formulation, image.substitution
    positions = rows if rows is not None else image.positions
    pricing = Pricing(formulation, positions, image.expand if substitution is not None else None, rules=rules)
    back = highs.read_back(h, image.discrete, pricing if rates else None, ranging=ranging, prices=prices)
    solved = DirectSolve(back)
    if back.values is None:
        return solved
    solved.row_positions = positions
    solved.marginals = pricing.marginals(back.one_sided) if back.row_ranges is not None or back.one_sided else None
    row_dual, col_dual = back.row_duals, back.col_duals
    if rows is not None:  # the rows of h in the image's order (the duals' positions)
        order = np.full(h.getNumRow(), -1, dtype=np.int64)
        for name, at in image.positions.items():
            present = at >= 0
            order[rows[name][present]] = at[present]
        in_image = np.zeros(image.lp.n_rows)
        in_image[order[order >= 0]] = row_dual[order >= 0]
        row_dual = in_image
    if substitution is None:
        solved.values = back.values
    else:
        solved.values = substitution.expand_values(back.values)
        row_dual = substitution.expand_row_duals(row_dual)
        col_dual = substitution.expand_col_duals(col_dual)
    solved.reduced_costs = col_dual
    full_rows = {name: np.arange(len(block)) for name, block in formulation.blocks.items()}
    offsets = np.cumsum([0] + [len(b) for b in formulation.blocks.values()])
    solved.duals = {name: row_dual[offsets[i] + rows_] for i, (name, rows_) in enumerate(full_rows.items())}
    return solved


def _solve(formulation: Formulation, options: SolverOptions) -> DirectSolve:
    started = time.perf_counter()
    image = image_of(formulation)
    h = highs.new_highs(options)
    highs.load_arrays(h, image.lp, image.integer)
    image.lp = None  # HiGHS holds its own copy: the memory peak of large runs is the solve
    built = time.perf_counter()
    h.run()
    seconds_solve, seconds_solver_run = time.perf_counter() - built, h.getRunTime()
    solved = read_solution(image, h)
    solved.seconds_build, solved.seconds_solve, solved.seconds_solver_run = (built - started, seconds_solve,
                                                                             seconds_solver_run)
    return solved


def _libc() -> ctypes.CDLL | None:
    """glibc, where the process runs on it (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _return_freed_memory() -> None:
    """Hand memory freed by the solver back to the operating system (glibc only).

    Reading, formulating and HiGHS free memory in many small blocks that glibc keeps for reuse, so
    the process would carry each stage's peak into the next; ``malloc_trim`` releases them (at 3e5
    flows: 33 MiB before the solve, the solver's 420 MiB after it)."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.malloc_trim(0)


#: glibc's mallopt parameter for the size from which a block is mapped on its own (malloc.h).
_M_MMAP_THRESHOLD = -3
#: While HiGHS runs: from 128 KiB (glibc's initial threshold).
SOLVE_MMAP_THRESHOLD = 128 * 1024
#: After: 32 MiB, the ceiling glibc's own adjustment reaches on arrays as large as the formulation's.
AFTER_MMAP_THRESHOLD = 32 * 1024 * 1024


@contextlib.contextmanager
def _large_blocks_unmapped():
    """While HiGHS loads, solves and ranges a model, every block of 128 KiB or more is mapped on its own, so
    that it goes back to the operating system when freed (glibc only).

    glibc raises that threshold by itself to the largest block freed so far (up to 32 MiB): HiGHS's vectors of
    a large model then come from the heap, reuse the pages of the vectors it freed earlier in the run and keep
    them, so the process holds the whole of its transient peak (presolve, ranging) to the end of the solve, on
    top of the network and the formulation. Measured at 5x10^5 flows of the easy profile (the solve and its
    ranging): a peak of 643 MiB instead of 841 in one process, for 0.4 s more in the kernel (mapping pages) in a
    6-second HiGHS run. After the solve the threshold is 32 MiB, where glibc's own adjustment would be (setting
    it turns that adjustment off for good), so the report and the writer reuse the heap as before."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, SOLVE_MMAP_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, AFTER_MMAP_THRESHOLD)
