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
    """Build the PuLP problem: one variable per flow, one constraint per block row."""
    problem = pulp.LpProblem("sourcing", pulp.LpMinimize)
    n = formulation.n_variables
    by_index = problem.add_variable_dicts("flow", range(n), lowBound=0)
    variables = [by_index[i] for i in range(n)]
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
    has_solution = output.status == "optimal" or (
        output.status == "time_limit" and model.problem.sol_status == pulp.LpSolutionIntegerFeasible
        and name == "cbc")
    if has_solution:
        output.values = np.array([v.varValue or 0.0 for v in model.variables])
        output.objective = float(formulation.objective @ output.values)
        output.duals = {
            block: np.array([(c.pi if c is not None and c.pi is not None else np.nan) if c is not None else 0.0
                             for c in constraints])
            for block, constraints in model.constraints.items()
        }
    return output


def write_model(formulation: Formulation, path: str, model: PulpModel | None = None) -> None:
    """Write the PuLP model as an LP file (``.lp``) or MPS file (``.mps``) for inspection."""
    model = model or materialize(formulation)
    if str(path).lower().endswith(".mps"):
        model.problem.writeMPS(path)
    else:
        model.problem.writeLP(path)
