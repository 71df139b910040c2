"""Shared fixtures: build small workbooks from inline tables."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from optimizer import load_workbook, solve, write_workbook

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
