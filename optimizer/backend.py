"""Materialise a Formulation as a PuLP problem and solve it (HiGHS by default, CBC on request).

Variables and constraints are kept in arrays aligned with the formulation's tables, so values
and duals are read back by position, never by parsing PuLP names. The HiGHS model PuLP builds
stays reachable as ``SolverOutput.highs`` for later analysis (ranging, IIS).
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
_EMPTY_ROW_OK = {"==": lambda rhs: abs(rhs) <= 1e-9, "<=": lambda rhs: rhs >= -1e-9,
                 ">=": lambda rhs: rhs <= 1e-9}


class SolverUnavailable(RuntimeError):
    """The requested solver cannot be run on this machine."""


@dataclass
class SolverOptions:
    """How to solve: which solver, limits, and whether to show its log."""

    solver: str = "highs"
    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    verbose: bool = False


@dataclass
class PulpModel:
    """A PuLP problem plus, for every block, its constraints in row order (None where a row is
    empty and trivially satisfied, so it was not added)."""

    problem: pulp.LpProblem
    variables: list[pulp.LpVariable]
    constraints: dict[str, list[pulp.LpConstraint | None]]
    empty_violated: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class SolverOutput:
    """What the solver said, with values and duals aligned to the formulation's tables."""

    status: str  # optimal | infeasible | unbounded | time_limit | error
    solver: str
    objective: float | None = None
    is_mip: bool = False
    mip_gap: float | None = None  # relative gap of the MILP plan (0 when proven optimal)
    best_bound: float | None = None  # the solver's lower bound on the optimal cost (MILP)
    duals_from: str = "lp"  # "lp", "fixed_lp" (MILP with discrete choices fixed) or "none"
    values: np.ndarray | None = None
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    seconds_build: float = 0.0
    seconds_solve: float = 0.0
    message: str = ""
    unmet_rows: list[tuple[str, int]] = field(default_factory=list)
    model: PulpModel | None = None

    @property
    def has_plan(self) -> bool:
        return self.values is not None

    @property
    def highs(self):
        """The highspy model PuLP built (HiGHS only), for ranging or IIS."""
        return getattr(self.model.problem, "solverModel", None) if self.model else None


def _affine(variables: list[pulp.LpVariable], var: np.ndarray, coef: np.ndarray) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression([(variables[j], c) for j, c in zip(var.tolist(), coef.tolist(), strict=True)])


def _block_constraints(block: ConstraintBlock, variables, model: PulpModel) -> list:
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
            if not _EMPTY_ROW_OK[senses[r]](rhs[r]):
                model.empty_violated.append((block.name, r))
            out.append(None)
            continue
        constraint = pulp.LpConstraint(_affine(variables, var[start:end], coef[start:end]),
                                       sense=_PULP_SENSE[senses[r]], rhs=float(rhs[r]),
                                       name=f"{block.name}_{r}")
        model.problem.addConstraint(constraint)
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
        model.constraints[name] = _block_constraints(block, variables, model)
    return model


def _pulp_solver(options: SolverOptions):
    name = options.solver.lower()
    if name == "highs":
        solver = pulp.HiGHS(msg=options.verbose, timeLimit=options.time_limit,
                            gapRel=options.mip_gap, threads=options.threads)
    elif name == "cbc":
        solver = pulp.PULP_CBC_CMD(msg=options.verbose, timeLimit=options.time_limit,
                                   gapRel=options.mip_gap, threads=options.threads)
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
        import highspy

        status = problem.solverModel.getModelStatus()
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
    if problem.status == pulp.LpStatusOptimal:
        return "optimal" if problem.sol_status == pulp.LpSolutionOptimal else "time_limit"
    if problem.status == pulp.LpStatusInfeasible:
        return "infeasible"
    if problem.status == pulp.LpStatusUnbounded:
        return "unbounded"
    return "time_limit" if problem.status == pulp.LpStatusNotSolved else "error"


def solve_formulation(formulation: Formulation, options: SolverOptions | None = None) -> SolverOutput:
    """Materialise and solve; values and duals come back as arrays in the formulation's order."""
    options = options or SolverOptions()
    solver = _pulp_solver(options)
    name = options.solver.lower()
    started = time.perf_counter()
    model = materialize(formulation)
    built = time.perf_counter()
    output = SolverOutput(status="error", solver=name, model=model, seconds_build=built - started)
    if model.empty_violated:
        output.status = "infeasible"
        output.unmet_rows = list(model.empty_violated)
        output.message = "some rows have no flow that could satisfy them"
        return output
    if formulation.n_variables == 0:
        output.status, output.objective, output.values = "optimal", 0.0, np.zeros(0)
        output.duals = {name_: np.zeros(len(b)) for name_, b in formulation.blocks.items()}
        return output
    try:
        with _quiet(not options.verbose):
            model.problem.solve(solver)
    except pulp.PulpSolverError as exc:
        other = "cbc" if name == "highs" else "highs"
        output.message = f"solver {name} failed: {exc}; try the other solver (--solver {other})"
        return output
    output.seconds_solve = time.perf_counter() - built
    output.status = _status(model.problem, name)
    output.is_mip = formulation.is_mip
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
    return output


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
    return problem.sol_status == pulp.LpSolutionIntegerFeasible


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


def write_model(formulation: Formulation, path: str, model: PulpModel | None = None) -> None:
    """Write the PuLP model as an LP file (``.lp``) or MPS file (``.mps``) for inspection."""
    model = model or materialize(formulation)
    if str(path).lower().endswith(".mps"):
        model.problem.writeMPS(path)
    else:
        model.problem.writeLP(path)
