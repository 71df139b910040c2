"""Sourcing optimizer: Excel workbook -> validated network -> PuLP/HiGHS LP -> Excel plan.

    from optimizer import load_workbook, solve, write_plan
    network = load_workbook("inputs/ev_battery_north_america.xlsx")
    result = solve(network, policy="local_for_local")
    result.flows          # DataFrame keyed by period, item, origin, destination
    write_plan(result, "plan.xlsx")
"""

from models.problems import Problem, WorkbookError
from optimizer.api import solve
from optimizer.backend import SolverOptions, SolverUnavailable
from optimizer.formulation import build_formulation
from optimizer.reading.load import load_workbook
from optimizer.results import SolveResult
from optimizer.writing.plain import write_workbook
from optimizer.writing.plan import write_plan
from optimizer.writing.save import OutputError

__version__ = "0.1.0"

__all__ = [
    "OutputError", "Problem", "SolveResult", "SolverOptions", "SolverUnavailable", "WorkbookError",
    "build_formulation", "load_workbook", "solve", "write_plan", "write_workbook",
]
