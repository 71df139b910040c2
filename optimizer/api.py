"""The Python API: validated network in, SolveResult out."""

from __future__ import annotations

import time

from models.network import Network, PolicySet
from optimizer.backend import SolverOptions, SolverOutput, solve_formulation
from optimizer.formulation import Formulation, build_formulation
from optimizer.results import SolveResult, build_result


def describe_unmet(formulation: Formulation, output: SolverOutput) -> str:
    """Name the rows that no flow can satisfy, e.g. an unreachable demand."""
    lines = []
    for block_name, position in output.unmet_rows:
        row = formulation.blocks[block_name].rows.iloc[position]
        if block_name == "demand":
            lines.append(f"Demand row {row['sheet_row']} ({row['site']}, {row['item']}, {row['period']}): "
                         f"{row['rhs']:g} required, but no lane from a site supplying it reaches it")
        else:
            lines.append(f"{row['sheet']} row {row['sheet_row']}: cannot be satisfied by any flow")
    return "; ".join(lines)


def solve(network: Network, policy: str | PolicySet = "baseline", solver: str = "highs",
          time_limit: float | None = None, options: SolverOptions | None = None) -> SolveResult:
    """Minimise total cost for ``policy`` on ``network``; the result holds status, costs and tables.

    Raises KeyError for an unknown policy set and SolverUnavailable for an unusable solver.
    """
    options = options or SolverOptions(solver=solver, time_limit=time_limit)
    started = time.perf_counter()
    formulation = build_formulation(network, policy)
    formulated = time.perf_counter()
    output = solve_formulation(formulation, options)
    if output.unmet_rows:
        output.message = describe_unmet(formulation, output)
    elif output.status == "infeasible":
        output.message = "no plan meets every demand, capacity and rule of this policy set"
    elif output.status == "unbounded":
        output.message = "the cost can be lowered without limit (check for negative costs)"
    elif output.status == "time_limit" and not output.has_plan:
        output.message = "the time limit stopped the solver before it found a plan"
    stats = {
        "variables": formulation.n_variables, "constraints": formulation.n_constraints,
        "seconds_formulate": formulated - started, "seconds_build": output.seconds_build,
        "seconds_solve": output.seconds_solve,
    }
    result = build_result(formulation, output, stats)
    result.stats["seconds_report"] = time.perf_counter() - started - sum(
        stats[k] for k in ("seconds_formulate", "seconds_build", "seconds_solve"))
    return result
