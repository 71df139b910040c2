"""The shipped example workbooks, read and solved once per test process and shared by every test file.

``network(path)`` and ``plan(path, policy)`` cache the workbook and its plans for the whole session (one
process, or one pytest-xdist worker), so the nine policy sets of each example are solved once however many
files look at them. A plan is solved the first time a test asks for it, inside that test, so it runs through
tests/conftest.py's checks (both materialisations, the residual checker) like any other solve.

Every call returns a copy of the plan's tables: a test may change what it gets without changing what the
next test sees. ``valued(path, policy)`` is the plan with its investment options valued (``solve
--option-values``), a copy as well.

New tests on the examples take their plans from here::

    from examples import NORTH_AMERICA, plan
    result = plan(NORTH_AMERICA, "ira_30d_whatif")
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from optimizer import load_workbook, solve

ROOT = Path(__file__).resolve().parents[1]
NORTH_AMERICA = "inputs/ev_battery_north_america.xlsx"
MULTITIER = "inputs/ev_battery_multitier.xlsx"


@cache
def network(path: str):
    """The validated network of an example (``path`` relative to the repository); networks are immutable."""
    return load_workbook(ROOT / path)


def copied(result):
    """The result with copies of its tables and cost parts (its formulation and solver output shared)."""
    tables = {name: getattr(result, name).copy() for name in ("flows", "utilization", "compliance", "summary",
                                                                "sensitivity", "investments", "inventory",
                                                                "costs_by_period", "emissions")}
    return replace(result, costs=dict(result.costs), stats=dict(result.stats),
                   diagnosis=[dict(d) for d in result.diagnosis], **tables)


#: Whether tests/conftest.py's differential check (both materialisations) runs: off inside tests marked
#: ``one_materialisation``, always on for the shared example plans below (solved once, used everywhere).
DIFFERENTIAL = [True]


@cache
def _plan(path: str, policy: str):
    was, DIFFERENTIAL[0] = DIFFERENTIAL[0], True
    try:
        return solve(network(path), policy=policy)
    finally:
        DIFFERENTIAL[0] = was


def plan(path: str, policy: str):
    """The example solved under one of its policy sets (solved once per process; a copy each call)."""
    return copied(_plan(path, policy))


@cache
def _valued(path: str, policy: str):
    from optimizer.valuation import attach_option_values, option_values

    result = plan(path, policy)
    attach_option_values(result, option_values(network(path), result))
    return result


def valued(path: str, policy: str):
    """The plan with its investment options' values attached (value or break-even capex; a copy each call)."""
    return copied(_valued(path, policy))


def all_plans(path: str) -> dict[str, object]:
    """Every policy set of an example, in the workbook's order."""
    return {name: plan(path, name) for name in network(path).policies}
