"""Shared fixtures: build small workbooks from inline tables; the checks every solve of the suite goes through;
the Hypothesis profiles.

The shipped examples' plans are shared by every file through ``tests/examples.py`` (solved once per process).
Hypothesis runs each property test on ``default`` (a fixed, small number of examples) unless
``--hypothesis-profile=thorough`` asks for ten times as many (``.ci/run`` does, after the normal run)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from examples import DIFFERENTIAL
from hypothesis import settings

import optimizer.api as api
from optimizer import load_workbook, solve, write_workbook
from optimizer.backend import SolverOptions, solve_formulation

_counter = itertools.count()

# Examples per property test (a test may scale it: a cheap one runs more, a costly one fewer); CI derandomizes.
settings.register_profile("default", max_examples=30, derandomize=bool(os.environ.get("CI")))
settings.register_profile("thorough", max_examples=300, derandomize=bool(os.environ.get("CI")))


#: Test files whose tests go one by one to whichever pytest-xdist worker is free, instead of whole: the slowest
#: ones, none of them with a costly module fixture (their examples' plans come from tests/examples.py).
SPREAD = {"test_readme_examples.py", "test_example.py", "test_families.py", "test_every_command.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (pyproject.toml), except the files of :data:`SPREAD`: a file runs whole on one worker,
    so its module fixtures are built once, and the slowest files' tests spread over both cores. (``--dist
    loadgroup`` cannot say this: pytest-xdist 3.8 groups by renaming node ids, which pytest 9 ignores.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByFileExceptSpread(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if Path(path).name in SPREAD else path

    return ByFileExceptSpread(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked ``heavy`` first (and with them their file, run whole on one worker): pytest-xdist hands out
    files in this order (``--no-loadscope-reorder``), so no long test is left for the end while a core idles."""
    items.sort(key=lambda item: not item.get_closest_marker("heavy"))


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
def one_materialisation_where_marked(request):
    """Tests marked ``one_materialisation`` solve through one materialisation only: their cold reference solves
    check something else (a warm family against cold members, a page against the tool's output), and the
    differential check below runs on every other solve of the suite."""
    if request.node.get_closest_marker("one_materialisation") is None:
        yield
        return
    DIFFERENTIAL[0] = False
    try:
        yield
    finally:
        DIFFERENTIAL[0] = True


@pytest.fixture(autouse=True, scope="session")
def both_materialisations():
    """Differential check on every solve of the suite: a HiGHS solve is run through both
    materialisations (PuLP objects and arrays passed straight to highspy), which must agree on the
    status, on where the prices come from and on the cost to 1e-9 relative. Session-wide, so plans solved
    in module fixtures and the shared example plans (tests/examples.py) are checked too; runs in this
    process only (not in spawned workers)."""

    def differential(formulation, options=None):
        options = options or SolverOptions()
        main = solve_formulation(formulation, options)
        if (DIFFERENTIAL[0] and options.solver == "highs" and options.backend == "auto"
                and options.time_limit is None and main.status != "error"):
            other = solve_formulation(formulation, replace(
                options, backend="direct" if main.backend == "pulp" else "pulp"))
            assert other.status == main.status, (main.backend, main.status, other.backend, other.status)
            assert other.duals_from == main.duals_from  # one fix-and-resolve (optimizer.highs) for both
            if main.has_plan:
                assert other.objective == pytest.approx(main.objective, rel=1e-9, abs=1e-9)
        return main

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "solve_formulation", differential)
        yield


@pytest.fixture(autouse=True, scope="session")
def every_plan_is_checked():
    """The residual checker (tests/plan_check.py) on every plan the suite solves in this process: balances,
    capacities, rules and costs recomputed from the plan's own tables."""
    from plan_check import check_plan

    build = api.build_result

    def checked(formulation, output, stats, tables=True, costs_only=False):
        result = build(formulation, output, stats)  # a family member's plan too, with every table to check
        check_plan(result)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "build_result", checked)
        yield
