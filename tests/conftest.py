"""Shared fixtures: build small workbooks from inline tables."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import optimizer.api as api
from optimizer import load_workbook, solve, write_workbook
from optimizer.backend import SolverOptions, solve_formulation

_counter = itertools.count()


@pytest.fixture
def make_workbook(tmp_path: Path) -> Callable[..., Path]:
    """make_workbook(Sites=[{...}], Supply=[...], ...) -> path of a new .xlsx with those sheets."""

    def make(**sheets) -> Path:
        path = tmp_path / f"case{next(_counter)}.xlsx"
        return write_workbook(path, sheets)

    return make


@pytest.fixture
def solve_sheets(make_workbook) -> Callable[..., object]:
    """solve_sheets(policy="baseline", solver="highs", **sheets) -> SolveResult."""

    def run(policy: str = "baseline", solver: str = "highs", **sheets):
        return solve(load_workbook(make_workbook(**sheets)), policy=policy, solver=solver)

    return run


@pytest.fixture(autouse=True)
def both_materialisations(monkeypatch):
    """Differential check on every solve of the suite: a HiGHS solve is run through both
    materialisations (PuLP objects and arrays passed straight to highspy), which must agree on the
    status, on where the prices come from and on the cost to 1e-9 relative. Runs in this process
    only (not in spawned workers)."""

    def differential(formulation, options=None):
        options = options or SolverOptions()
        main = solve_formulation(formulation, options)
        if (options.solver == "highs" and options.backend == "auto" and options.time_limit is None
                and main.status != "error"):
            other = solve_formulation(formulation, replace(
                options, backend="direct" if main.backend == "pulp" else "pulp"))
            assert other.status == main.status, (main.backend, main.status, other.backend, other.status)
            assert other.duals_from == main.duals_from  # one fix-and-resolve (optimizer.highs) for both
            if main.has_plan:
                assert other.objective == pytest.approx(main.objective, rel=1e-9, abs=1e-9)
        return main

    monkeypatch.setattr(api, "solve_formulation", differential)


@pytest.fixture(autouse=True)
def every_plan_is_checked(monkeypatch):
    """The residual checker (tests/plan_check.py) on every plan the suite solves in this process: balances,
    capacities, rules and costs recomputed from the plan's own tables."""
    from plan_check import check_plan

    import optimizer.api as api

    build = api.build_result

    def checked(formulation, output, stats, tables=True):
        result = build(formulation, output, stats)  # a family member's plan too, with every table to check
        check_plan(result)
        return result

    monkeypatch.setattr(api, "build_result", checked)
