"""Materialise a Formulation and solve it (HiGHS by default, CBC on request).

Two materialisations give the same model: PuLP objects (the default below DIRECT_THRESHOLD
variables, and whenever CBC, ``--write-lp`` or inspection needs PuLP), or the blocks' arrays passed
straight to highspy (large HiGHS models). Values, duals and reduced costs are read back by
position into arrays aligned with the formulation's tables, never by parsing PuLP names. HiGHS's
right-hand-side ranges are read once after the solve (``SolverOutput.row_ranges``); the direct
backend then frees the solved model, whose memory large runs need for writing the plan.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pulp

from optimizer.formulation import ConstraintBlock, Formulation

SOLVERS = ("highs", "cbc")
_PULP_SENSE = {"==": pulp.LpConstraintEQ, "<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE}


class SolverUnavailable(RuntimeError):
    """The requested solver cannot be run on this machine."""


#: Models with at least this many variables go straight to highspy (``backend="auto"``, HiGHS only):
#: PuLP's object model costs several times the solve there. Below it, PuLP is the modelling layer.
DIRECT_THRESHOLD = 100_000
BACKENDS = ("auto", "pulp", "direct")
#: Relative MIP gap when none is given: prove the optimum (analysts compare costs to the cent).
DEFAULT_MIP_GAP = 1e-9


@dataclass
class SolverOptions:
    """How to solve: which solver, limits, which materialisation, and whether to show the log."""

    solver: str = "highs"
    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    verbose: bool = False
    backend: str = "auto"  # auto | pulp (PuLP objects) | direct (arrays to highspy; HiGHS only)


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
    if backend == "direct" and options.solver.lower() != "highs":
        raise SolverUnavailable("the direct backend passes arrays to HiGHS; use --solver highs or the PuLP backend")
    if backend == "auto":
        large = formulation.n_variables >= DIRECT_THRESHOLD
        return "direct" if large and options.solver.lower() == "highs" else "pulp"
    return backend


def _affine(variables: list[pulp.LpVariable], var: np.ndarray, coef: np.ndarray) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression([(variables[j], c) for j, c in zip(var.tolist(), coef.tolist(), strict=True)])


def _block_constraints(block: ConstraintBlock, variables, problem: pulp.LpProblem) -> list:
    order = np.argsort(block.row, kind="stable")
    row_sorted = block.row[order]
    starts = np.searchsorted(row_sorted, np.arange(len(block) + 1))
    var, coef = block.var[order], block.coef[order]
    senses = block.rows["sense"].tolist()
    rhs = block.rows["rhs"].to_numpy(dtype=float)
    out: list[pulp.LpConstraint | None] = []
    for r in range(len(block)):
        start, end = starts[r], starts[r + 1]
        if start == end:
            out.append(None)
            continue
        constraint = pulp.LpConstraint(_affine(variables, var[start:end], coef[start:end]),
                                       sense=_PULP_SENSE[senses[r]], rhs=float(rhs[r]),
                                       name=f"{block.name}_{r}")
        problem.addConstraint(constraint)
        out.append(constraint)
    return out


def materialize(formulation: Formulation) -> PulpModel:
    """Build the PuLP problem: one variable per column of every family, one constraint per block row."""
    problem = pulp.LpProblem("sourcing", pulp.LpMinimize)
    variables: list[pulp.LpVariable] = []
    for family in formulation.families.values():
        if family.integer:
            by_index = problem.add_variable_dicts(family.name, range(len(family)), lowBound=0, upBound=1,
                                                  cat=pulp.LpBinary)
        else:
            by_index = problem.add_variable_dicts(family.name, range(len(family)), lowBound=0)
        variables.extend(by_index[i] for i in range(len(family)))
    n = formulation.n_variables
    problem.setObjective(_affine(variables, np.arange(n), formulation.objective))
    model = PulpModel(problem, variables, {})
    for name, block in formulation.blocks.items():
        model.constraints[name] = _block_constraints(block, variables, problem)
    return model


def _gap(options: SolverOptions) -> float:
    return DEFAULT_MIP_GAP if options.mip_gap is None else float(options.mip_gap)


def _pulp_solver(options: SolverOptions):
    name = options.solver.lower()
    if name == "highs":
        solver = pulp.HiGHS(msg=options.verbose, timeLimit=options.time_limit,
                            gapRel=_gap(options), threads=options.threads)
    elif name == "cbc":
        solver = pulp.PULP_CBC_CMD(msg=options.verbose, timeLimit=options.time_limit,
                                   gapRel=_gap(options), threads=options.threads)
    else:
        raise SolverUnavailable(f"unknown solver {options.solver!r}; choose one of: {', '.join(SOLVERS)}")
    if not solver.available():
        other = "cbc" if name == "highs" else "highs"
        raise SolverUnavailable(f"solver {name!r} is not available on this machine; try --solver {other}")
    return solver


@contextlib.contextmanager
def _quiet(enabled: bool):
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


def _status(problem: pulp.LpProblem, solver_name: str) -> str:
    """Our status word; a time limit is 'time_limit' whether or not a plan was found."""
    if solver_name == "highs" and getattr(problem, "solverModel", None) is not None:
        return _highs_status(problem.solverModel)
    if problem.status == pulp.LpStatusOptimal:
        return "optimal" if problem.sol_status == pulp.LpSolutionOptimal else "time_limit"
    if problem.status == pulp.LpStatusInfeasible:
        return "infeasible"
    if problem.status == pulp.LpStatusUnbounded:
        return "unbounded"
    return "time_limit" if problem.status == pulp.LpStatusNotSolved else "error"


def solve_formulation(formulation: Formulation, options: SolverOptions | None = None) -> SolverOutput:
    """Materialise (PuLP objects, or arrays straight to highspy for large models) and solve; values,
    duals and reduced costs come back as arrays in the formulation's order."""
    options = options or SolverOptions()
    name = options.solver.lower()
    backend = choose_backend(formulation, options)
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
        _return_freed_memory()  # what reading and formulating freed, before the solver's peak
        output = _solve_direct(formulation, options, output)
        _return_freed_memory()
        return output
    return _solve_pulp(formulation, options, solver, output)


def _solve_pulp(formulation: Formulation, options: SolverOptions, solver, output: SolverOutput) -> SolverOutput:
    name = output.solver
    started = time.perf_counter()
    model = materialize(formulation)
    built = time.perf_counter()
    output.model, output.seconds_build = model, built - started
    try:
        with _quiet(not options.verbose):
            model.problem.solve(solver)
    except pulp.PulpSolverError as exc:
        other = "cbc" if name == "highs" else "highs"
        output.message = f"solver {name} failed: {exc}; try the other solver (--solver {other})"
        return output
    output.seconds_solve = time.perf_counter() - built
    output.status = _status(model.problem, name)
    if not _has_solution(model.problem, name, output.status):
        return output
    output.values = np.array([v.varValue or 0.0 for v in model.variables])
    output.objective = float(formulation.objective @ output.values)
    if output.is_mip:
        output.mip_gap, output.best_bound = _mip_quality(model.problem, name, output)
        try:  # prices of the LP with every discrete choice fixed at the plan's value
            with _quiet(not options.verbose):
                _fix_discrete_and_resolve(model, formulation, output.values, options)
            output.duals_from = "fixed_lp"
        except pulp.PulpSolverError:
            output.duals_from = "none"
    output.duals = _duals(model)
    output.reduced_costs = np.array([v.dj if v.dj is not None else np.nan for v in model.variables])
    output.row_positions = {
        block: np.array([c.index if c is not None and getattr(c, "index", None) is not None else -1
                         for c in constraints], dtype=np.int64)
        for block, constraints in model.constraints.items()}
    _read_ranges(getattr(model.problem, "solverModel", None) if name == "highs" else None, output)
    return output


def _solve_direct(formulation: Formulation, options: SolverOptions, output: SolverOutput) -> SolverOutput:
    """Pass the blocks to highspy as arrays: no PuLP objects, the same model and the same plan.

    Production columns that only feed outbound flows are substituted out first (see
    ``optimizer.highs_direct.Substitution``); values and prices are expanded back to the full model."""
    import highspy

    from optimizer.highs_direct import arrays_from, load_highs, substitute_production

    started = time.perf_counter()
    integer = formulation.integer
    full = arrays_from(formulation)
    row_offset = full.row_offset
    lp, substitution = substitute_production(full, formulation, integer)
    del full  # the reduced copy is what HiGHS needs: the memory peak of large runs is the solve
    if substitution is not None:
        integer = integer[substitution.kept_cols]
    with _quiet(True):
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", _gap(options))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    load_highs(h, lp, integer)
    del lp  # HiGHS holds its own copy
    built = time.perf_counter()
    h.run()
    output.seconds_build, output.seconds_solve = built - started, time.perf_counter() - built
    output.seconds_solver_run = h.getRunTime()
    output.status = _highs_status(h)
    info = h.getInfo()
    if not (output.status == "optimal" or (output.status == "time_limit" and info.primal_solution_status == 2)):
        return output
    values = np.asarray(h.getSolution().col_value, dtype=float)
    output.values = substitution.expand_values(values) if substitution is not None else values
    output.objective = float(formulation.objective @ output.values)
    if output.is_mip:
        output.best_bound = float(info.mip_dual_bound)
        output.mip_gap = max(0.0, float(info.mip_gap))
        discrete = np.flatnonzero(integer)
        fixed = np.round(values[discrete])
        h.changeColsIntegrality(len(discrete), discrete.astype(np.int32),
                                np.full(len(discrete), highspy.HighsVarType.kContinuous))
        h.changeColsBounds(len(discrete), discrete.astype(np.int32), fixed, fixed)
        h.run()
        output.duals_from = "fixed_lp" if _highs_status(h) == "optimal" else "none"
    solution = h.getSolution()
    row_dual = np.asarray(solution.row_dual, dtype=float)
    col_dual = np.asarray(solution.col_dual, dtype=float)
    full_rows = {name: row_offset[name] + np.arange(len(block)) for name, block in formulation.blocks.items()}
    if substitution is not None:
        row_dual = substitution.expand_row_duals(row_dual)
        col_dual = substitution.expand_col_duals(col_dual)
        row_map = substitution.row_map
        output.row_positions = {name: row_map[rows] for name, rows in full_rows.items()}
    else:
        output.row_positions = full_rows
    output.reduced_costs = col_dual
    output.duals = {name: row_dual[rows] for name, rows in full_rows.items()}
    _read_ranges(h, output)
    return output


def _return_freed_memory() -> None:
    """Hand memory freed by the solver back to the operating system (glibc only).

    Reading, formulating and HiGHS free memory in many small blocks that glibc keeps for reuse, so
    the process would carry each stage's peak into the next; ``malloc_trim`` releases them (at 3e5
    flows: 33 MiB before the solve, the solver's 420 MiB after it)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _read_ranges(h, output: SolverOutput) -> None:
    """Keep HiGHS's right-hand-side ranges of the solved LP (or the MILP's fixed LP) as arrays."""
    if h is None:
        output.ranging_note = f"ranges not available with {output.solver.upper()} (HiGHS only)"
        return
    if output.duals_from == "none" or output.status != "optimal":
        return
    status, ranging = h.getRanging()
    if str(status) != "HighsStatus.kOk":
        output.ranging_note = "HiGHS could not compute ranges for this model"
        return
    output.row_ranges = (np.asarray(ranging.row_bound_dn.value_, dtype=float),
                         np.asarray(ranging.row_bound_up.value_, dtype=float))


def _highs_status(h) -> str:
    import highspy

    status = h.getModelStatus()
    kinds = highspy.HighsModelStatus
    if status == kinds.kOptimal:
        return "optimal"
    if status in (kinds.kInfeasible, kinds.kUnboundedOrInfeasible):
        return "infeasible"
    if status == kinds.kUnbounded:
        return "unbounded"
    if status in (kinds.kTimeLimit, kinds.kIterationLimit, kinds.kInterrupt):
        return "time_limit"
    return "error"


def _duals(model: PulpModel) -> dict[str, np.ndarray]:
    return {block: np.array([(c.pi if c.pi is not None else np.nan) if c is not None else 0.0
                             for c in constraints])
            for block, constraints in model.constraints.items()}


def _has_solution(problem: pulp.LpProblem, solver_name: str, status: str) -> bool:
    if status == "optimal":
        return True
    if status != "time_limit":
        return False
    if solver_name == "highs" and getattr(problem, "solverModel", None) is not None:
        info = problem.solverModel.getInfo()
        return info.primal_solution_status == 2  # a feasible plan exists
    # CBC reports 'integer feasible' after a time limit even for an LP without a plan: only a MILP's
    # incumbent is a plan.
    return problem.sol_status == pulp.LpSolutionIntegerFeasible and problem.isMIP()


def _mip_quality(problem: pulp.LpProblem, solver_name: str, output: SolverOutput):
    """(relative gap, best bound) of a MILP plan, from HiGHS; CBC through PuLP reports neither."""
    if solver_name == "highs" and getattr(problem, "solverModel", None) is not None:
        info = problem.solverModel.getInfo()
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if output.status != "optimal" else max(0.0, float(info.mip_gap))
        return gap, bound
    return (0.0 if output.status == "optimal" else None), None


def _fix_discrete_and_resolve(model: PulpModel, formulation: Formulation, values: np.ndarray,
                              options: SolverOptions) -> None:
    """Fix the binaries at the plan's values and re-solve the remaining LP for its duals."""
    for variable, value, discrete in zip(model.variables, values, formulation.integer, strict=True):
        if not discrete:
            continue
        fixed = float(round(value))
        variable.lowBound = variable.upBound = fixed
        variable.cat = pulp.LpContinuous
    solver = pulp.HiGHS(msg=False) if options.solver.lower() == "highs" else pulp.PULP_CBC_CMD(msg=False)
    model.problem.solve(solver)


def write_model(formulation: Formulation, path: str, model: PulpModel | None = None,
                kind: str | None = None) -> None:
    """Write the PuLP model as an LP file or an MPS file (``kind``, else by the suffix: ``.mps``)."""
    model = model or materialize(formulation)
    if kind == "mps" or (kind is None and str(path).lower().endswith(".mps")):
        model.problem.writeMPS(path)
    else:
        model.problem.writeLP(path)
