"""Sourcing optimizer: Excel workbook -> validated network -> PuLP/HiGHS LP -> Excel plan.

    from optimizer import load_workbook, solve, write_plan
    network = load_workbook("inputs/ev_battery_north_america.xlsx")
    result = solve(network, policy="local_for_local")
    result.flows          # DataFrame keyed by period, item, origin, destination
    write_plan(result, "plan.xlsx")
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: The package's names, each imported from its module when first used (``import optimizer.cli`` then imports
#: only what the command needs).
_EXPORTS = {
    "OutputError": "optimizer.writing.save", "Problem": "models.problems", "SolveResult": "optimizer.results",
    "SolverOptions": "optimizer.backend", "SolverUnavailable": "optimizer.backend",
    "WorkbookError": "models.problems", "build_formulation": "optimizer.formulation",
    "load_workbook": "optimizer.reading.load", "solve": "optimizer.api", "write_plan": "optimizer.writing.plan",
    "write_workbook": "optimizer.writing.plain",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
