"""Materialise a Formulation and solve it (HiGHS by default, CBC on request).

Two materialisations give the same model: PuLP objects (the default below DIRECT_THRESHOLD
variables, and whenever CBC, ``--write-lp`` or inspection needs PuLP), or the blocks' arrays passed
straight to highspy (``optimizer.direct``: large HiGHS models). Either way a HiGHS solve is read
through the shared layer ``optimizer.highs`` (status, MIP gap, fixed-LP prices, ranges); a CBC solve
through PuLP. Values, duals and reduced costs come back by position into arrays aligned with the
formulation's tables, never by parsing PuLP names. ``check_solver`` is the one place a solver name
is validated.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from optimizer import highs
from optimizer.direct import arrays_from, solve_direct
from optimizer.marginals import Marginals, Pricing
from optimizer.model import ConstraintBlock, Formulation
from optimizer.options import DEFAULT_MIP_GAP, SOLVERS, SolverOptions, SolverUnavailable, check_solver, mip_rel_gap

if TYPE_CHECKING:  # PuLP is imported where a model is built with it: the direct backend never needs it
    import pulp

__all__ = ["BACKENDS", "DEFAULT_MIP_GAP", "DIRECT_THRESHOLD", "SOLVERS", "PulpModel", "SolverOptions",
           "SolverOutput", "SolverUnavailable", "check_solver", "choose_backend", "empty_violated_rows",
           "materialize", "solve_formulation", "write_model"]

#: Models with at least this many variables go straight to highspy (``backend="auto"``, HiGHS only):
#: PuLP's objects cost more than the solve there (at 7.8e4 variables, 5.1 s of objects and PuLP's
#: buildSolverModel around a 1.1-2 s HiGHS run). Below it, PuLP is the modelling layer (the examples: a few
#: hundred variables), and always for CBC and --write-lp / --write-mps.
DIRECT_THRESHOLD = 10_000
BACKENDS = ("auto", "pulp", "direct")


@dataclass
class PulpModel:
    """A PuLP problem plus, for every block, its constraints in row order (None where a row has no
    variable, so it was not added; ``empty_violated_rows`` judges those before any solve)."""

    problem: pulp.LpProblem
    variables: list[pulp.LpVariable]
    constraints: dict[str, list[pulp.LpConstraint | None]]


@dataclass
class SolverOutput:
    """What the solver said, with values, duals and reduced costs aligned to the formulation."""

    status: str  # optimal | infeasible | unbounded | time_limit | error
    solver: str
    backend: str = "pulp"
    objective: float | None = None
    is_mip: bool = False
    mip_gap: float | None = None  # relative gap of the MILP plan (0 when proven optimal)
    best_bound: float | None = None  # the solver's lower bound on the optimal cost (MILP)
    duals_from: str = "lp"  # "lp", "fixed_lp" (MILP with discrete choices fixed) or "none"
    values: np.ndarray | None = None
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    reduced_costs: np.ndarray | None = None
    #: HiGHS row index of every block row (-1 where the row was not passed: empty and satisfied).
    row_positions: dict[str, np.ndarray] = field(default_factory=dict)
    seconds_build: float = 0.0
    seconds_solve: float = 0.0
    message: str = ""
    unmet_rows: list[tuple[str, int]] = field(default_factory=list)
    model: PulpModel | None = None
    #: HiGHS ranging of the right-hand sides, by HiGHS row (low, high); None with ``ranging_note``.
    row_ranges: tuple[np.ndarray, np.ndarray] | None = None
    ranging_note: str = ""
    seconds_solver_run: float | None = None  # time inside the solver's own run (HiGHS)
    #: The one-sided marginal costs of the plan's rule bounds (``optimizer.marginals``; None without prices).
    marginals: Marginals | None = None

    @property
    def has_plan(self) -> bool:
        return self.values is not None


def empty_violated_rows(formulation: Formulation) -> list[tuple[str, int]]:
    """Rows without any variable whose bound excludes 0: no plan can meet them (e.g. demand that no
    lane reaches). Found from the block arrays, before any solver runs."""
    out = []
    for name, block in formulation.blocks.items():
        empty = np.bincount(block.row, minlength=len(block)) == 0
        rhs = block.rows["rhs"].to_numpy(dtype=float)
        sense = block.rows["sense"].to_numpy()
        violated = empty & (((sense == "==") & (np.abs(rhs) > 1e-9)) | ((sense == "<=") & (rhs < -1e-9))
                            | ((sense == ">=") & (rhs > 1e-9)))
        out.extend((name, int(r)) for r in np.flatnonzero(violated))
    return out


def choose_backend(formulation: Formulation, options: SolverOptions) -> str:
    """``direct`` for large HiGHS models (or when asked), else ``pulp``."""
    backend = options.backend.lower()
    if backend not in BACKENDS:
        raise SolverUnavailable(f"unknown backend {options.backend!r}; choose one of: {', '.join(BACKENDS)}")
    solver = check_solver(options.solver)
    if backend == "direct" and solver != "highs":
        raise SolverUnavailable("the direct backend passes arrays to HiGHS; use --solver highs or the PuLP backend")
    if backend == "auto":
        large = formulation.n_variables >= DIRECT_THRESHOLD
        return "direct" if large and solver == "highs" else "pulp"
    return backend


def _affine(variables: list[pulp.LpVariable], var: np.ndarray, coef: np.ndarray) -> pulp.LpAffineExpression:
    import pulp

    return pulp.LpAffineExpression([(variables[j], c) for j, c in zip(var.tolist(), coef.tolist(), strict=True)])


def _entries(block: ConstraintBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block's non-zeros sorted by row, a variable repeated within a row added up (as HiGHS does when
    the arrays are passed directly; a PuLP expression would keep only the last)."""
    order = np.argsort(block.row, kind="stable")
    row, var, coef = block.row[order], block.var[order], block.coef[order]
    pairs = row.astype(np.int64) * (int(var.max(initial=0)) + 1) + var
    unique, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    if len(unique) < len(pairs):
        keep = np.sort(first)
        summed = np.bincount(inverse, weights=coef, minlength=len(unique))
        row, var, coef = row[keep], var[keep], summed[inverse[keep]]
    return row, var, coef


def _block_constraints(block: ConstraintBlock, variables, problem: pulp.LpProblem) -> list:
    import pulp

    row_sorted, var, coef = _entries(block)
    sense = {"==": pulp.LpConstraintEQ, "<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE}
    starts = np.searchsorted(row_sorted, np.arange(len(block) + 1))
    senses = block.rows["sense"].tolist()
    rhs = block.rows["rhs"].to_numpy(dtype=float)
    out: list[pulp.LpConstraint | None] = []
    for r in range(len(block)):
        start, end = starts[r], starts[r + 1]
        if start == end:
            out.append(None)
            continue
        constraint = pulp.LpConstraint(_affine(variables, var[start:end], coef[start:end]),
                                       sense=sense[senses[r]], rhs=float(rhs[r]),
                                       name=f"{block.name}_{r}")
        problem.addConstraint(constraint)
        out.append(constraint)
    return out


def materialize(formulation: Formulation) -> PulpModel:
    """Build the PuLP problem: one variable per column of every family, one constraint per block row."""
    import pulp

    problem = pulp.LpProblem("sourcing", pulp.LpMinimize)
    variables: list[pulp.LpVariable] = []
    for family in formulation.families.values():
        flags = family.integer_flags
        if len(family) and flags.all():
            by_index = problem.add_variable_dicts(family.name, range(len(family)), lowBound=0, upBound=1,
                                                  cat=pulp.LpBinary)
            for i in np.flatnonzero(family.upper < 1):  # decisions fixed from outside
                by_index[int(i)].upBound = float(family.upper[i])
        else:
            by_index = problem.add_variable_dicts(family.name, range(len(family)), lowBound=0)
            for i in np.flatnonzero(np.isfinite(family.upper) | flags):  # bounded or binary columns
                variable = by_index[int(i)]
                variable.upBound = float(family.upper[i])
                if flags[i]:
                    variable.cat = pulp.LpInteger
        for i in np.flatnonzero(family.lower > 0):  # decisions fixed from outside (optimizer.horizon.fix_builds)
            by_index[int(i)].lowBound = float(family.lower[i])
        variables.extend(by_index[i] for i in range(len(family)))
    n = formulation.n_variables
    problem.setObjective(_affine(variables, np.arange(n), formulation.objective))
    model = PulpModel(problem, variables, {})
    for name, block in formulation.blocks.items():
        model.constraints[name] = _block_constraints(block, variables, problem)
    return model


@functools.cache
def _highs_from_options() -> type:
    """PuLP's HiGHS interface, with the instance created and configured by ``optimizer.highs``."""
    import pulp

    class HighsFromOptions(pulp.HiGHS):
        def __init__(self, options: SolverOptions):
            super().__init__(msg=options.verbose)
            self.options = options

        def createAndConfigureSolver(self, lp):  # PuLP's hook, called before it builds the model
            lp.solverModel = highs.new_highs(self.options)

    return HighsFromOptions


def _pulp_solver(options: SolverOptions):
    """The PuLP solver for ``options``: HiGHS configured by ``optimizer.highs``, or CBC with the same
    time limit, relative MIP gap and threads."""
    import pulp

    name = check_solver(options.solver)
    if name == "highs":
        solver = _highs_from_options()(options)
    else:
        solver = pulp.PULP_CBC_CMD(msg=options.verbose, timeLimit=options.time_limit,
                                   gapRel=mip_rel_gap(options), threads=options.threads)
    if not solver.available():
        other = "cbc" if name == "highs" else "highs"
        raise SolverUnavailable(f"solver {name!r} is not available on this machine; try --solver {other}")
    return solver


def solve_formulation(formulation: Formulation, options: SolverOptions | None = None) -> SolverOutput:
    """Materialise (PuLP objects, or arrays straight to highspy for large models) and solve; values,
    duals and reduced costs come back as arrays in the formulation's order."""
    options = options or SolverOptions()
    backend = choose_backend(formulation, options)
    name = check_solver(options.solver)
    solver = _pulp_solver(options) if backend == "pulp" else None
    output = SolverOutput(status="error", solver=name, backend=backend, is_mip=formulation.is_mip)
    unmet = empty_violated_rows(formulation)
    if unmet:
        output.status, output.unmet_rows = "infeasible", unmet
        output.message = "some rows have no flow that could satisfy them"
        return output
    if formulation.n_variables == 0:
        output.status, output.objective, output.values = "optimal", 0.0, np.zeros(0)
        output.duals = {name_: np.zeros(len(b)) for name_, b in formulation.blocks.items()}
        output.reduced_costs = np.zeros(0)
        return output
    if backend == "direct":
        solved = solve_direct(formulation, options)
        output.seconds_build, output.seconds_solve = solved.seconds_build, solved.seconds_solve
        output.seconds_solver_run = solved.seconds_solver_run
        _take(output, formulation, solved.readback, solved.values, solved.duals, solved.reduced_costs,
              solved.row_positions)
        output.marginals = solved.marginals
        return output
    return _solve_pulp(formulation, options, solver, output)


def _take(output: SolverOutput, formulation: Formulation, back: highs.Readback, values=None, duals=None,
          reduced_costs=None, row_positions=None) -> SolverOutput:
    """Fill ``output`` from HiGHS's read-back and the plan and prices mapped to the formulation (None
    without a plan)."""
    output.status = back.status
    if values is None:
        return output
    output.values, output.objective = values, float(formulation.objective @ values)
    output.mip_gap, output.best_bound, output.duals_from = back.mip_gap, back.best_bound, back.duals_from
    output.duals, output.reduced_costs, output.row_positions = duals, reduced_costs, row_positions
    output.row_ranges, output.ranging_note = back.row_ranges, back.ranging_note
    return output


def _solve_pulp(formulation: Formulation, options: SolverOptions, solver, output: SolverOutput) -> SolverOutput:
    import pulp

    name = output.solver
    started = time.perf_counter()
    model = materialize(formulation)
    built = time.perf_counter()
    output.model, output.seconds_build = model, built - started
    try:
        with highs.quiet(not options.verbose):
            model.problem.solve(solver)
    except pulp.PulpSolverError as exc:
        other = "cbc" if name == "highs" else "highs"
        output.message = f"solver {name} failed: {exc}; try the other solver (--solver {other})"
        return output
    output.seconds_solve = time.perf_counter() - built
    if name == "highs":
        return _read_highs(model, formulation, output)
    return _read_cbc(model, formulation, solver, options, output)


def _read_highs(model: PulpModel, formulation: Formulation, output: SolverOutput) -> SolverOutput:
    """Read the instance PuLP solved through the shared layer: PuLP put every variable in HiGHS
    column ``var.index`` and every added constraint in row ``constraint.index``."""
    columns = np.array([v.index for v in model.variables], dtype=np.int64)
    rows = {block: np.array([-1 if c is None else c.index for c in constraints], dtype=np.int64)
            for block, constraints in model.constraints.items()}
    pricing = Pricing(formulation, rows, expand=lambda values: values[columns])
    back = highs.read_back(model.problem.solverModel, columns[formulation.integer], pricing)
    if back.values is None:
        return _take(output, formulation, back)
    duals = {block: _by_row(back.row_duals, positions) for block, positions in rows.items()}
    _take(output, formulation, back, back.values[columns], duals, back.col_duals[columns], rows)
    output.marginals = pricing.marginals(back.one_sided) if back.row_ranges is not None else None
    return output


def _by_row(row_values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``row_values`` at ``positions``; 0 where a row was not added (-1: no variable, satisfied)."""
    out = np.zeros(len(positions))
    present = positions >= 0
    out[present] = row_values[positions[present]]
    return out


def _read_cbc(model: PulpModel, formulation: Formulation, solver, options: SolverOptions,
              output: SolverOutput) -> SolverOutput:
    """CBC's answer as PuLP reads it back (varValue, pi, dj); a MILP's prices from a second CBC run
    with the discrete choices fixed, under the same options."""
    import pulp

    output.status = _cbc_status(model.problem)
    if not _cbc_has_plan(model.problem, output.status):
        return output
    output.values = np.array([v.varValue or 0.0 for v in model.variables])
    output.objective = float(formulation.objective @ output.values)
    if output.is_mip:
        output.mip_gap = 0.0 if output.status == "optimal" else None  # CBC through PuLP reports no gap
        try:  # prices of the LP with every discrete choice fixed at the plan's value
            with highs.quiet(not options.verbose):
                _fix_discrete_and_resolve(model, formulation, output.values, solver)
            output.duals_from = "fixed_lp"
        except pulp.PulpSolverError:
            output.duals_from = "none"
    output.duals = {block: np.array([(c.pi if c.pi is not None else np.nan) if c is not None else 0.0
                                     for c in constraints])
                    for block, constraints in model.constraints.items()}
    output.reduced_costs = np.array([v.dj if v.dj is not None else np.nan for v in model.variables])
    output.row_positions = {block: np.full(len(constraints), -1, dtype=np.int64)
                            for block, constraints in model.constraints.items()}
    output.ranging_note = highs.ranging_unavailable(output.solver)
    if output.status == "optimal" and output.duals_from != "none":
        output.marginals = _marginals_with_highs(formulation, output.values, options)
    return output


def _marginals_with_highs(formulation: Formulation, values: np.ndarray, options: SolverOptions) -> Marginals | None:
    """The one-sided marginal costs of a plan found by another solver: HiGHS solves the plan's LP (its
    discrete choices fixed) to price them, since CBC gives neither ranges nor a model to re-solve."""
    if not any(model.type.marginal_column for model in formulation.rules.values()):
        return Marginals()
    lp = arrays_from(formulation)
    discrete = np.flatnonzero(formulation.integer)
    lp.col_lower[discrete] = lp.col_upper[discrete] = np.round(values[discrete])
    h = highs.new_highs(SolverOptions(time_limit=options.time_limit, threads=options.threads))
    highs.load_arrays(h, lp)
    h.run()
    if highs.model_status(h) != "optimal":
        return None
    pricing = Pricing(formulation, {name: lp.row_offset[name] + np.arange(len(block))
                                    for name, block in formulation.blocks.items()})
    rates, _, _ = highs.one_sided_rates(h, pricing(values))
    return pricing.marginals(rates)


def _cbc_status(problem: pulp.LpProblem) -> str:
    """Our status word from PuLP's; a time limit is 'time_limit' whether or not a plan was found."""
    import pulp

    if problem.status == pulp.LpStatusOptimal:
        return "optimal" if problem.sol_status == pulp.LpSolutionOptimal else "time_limit"
    if problem.status == pulp.LpStatusInfeasible:
        return "infeasible"
    if problem.status == pulp.LpStatusUnbounded:
        return "unbounded"
    return "time_limit" if problem.status == pulp.LpStatusNotSolved else "error"


def _cbc_has_plan(problem: pulp.LpProblem, status: str) -> bool:
    import pulp

    if status == "optimal":
        return True
    # CBC reports 'integer feasible' after a time limit even for an LP without a plan: only a MILP's
    # incumbent is a plan.
    return status == "time_limit" and problem.sol_status == pulp.LpSolutionIntegerFeasible and problem.isMIP()


def _fix_discrete_and_resolve(model: PulpModel, formulation: Formulation, values: np.ndarray, solver) -> None:
    """Fix the binaries at the plan's values and re-solve the remaining LP (CBC) for its duals."""
    import pulp

    for variable, value, discrete in zip(model.variables, values, formulation.integer, strict=True):
        if not discrete:
            continue
        fixed = float(round(value))
        variable.lowBound = variable.upBound = fixed
        variable.cat = pulp.LpContinuous
    model.problem.solve(solver)


def write_model(formulation: Formulation, path: str, model: PulpModel | None = None,
                kind: str | None = None) -> None:
    """Write the PuLP model as an LP file or an MPS file (``kind``, else by the suffix: ``.mps``)."""
    model = model or materialize(formulation)
    if kind == "mps" or (kind is None and str(path).lower().endswith(".mps")):
        model.problem.writeMPS(path)
    else:
        model.problem.writeLP(path)
