"""How to solve: ``SolverOptions``, shared by both backends and the HiGHS layer, and the solver names.

It sits below them (it imports neither), so ``optimizer.highs`` can configure an instance from it
without importing the backend, and the CLI can check a solver name before importing any model code;
``optimizer.backend`` re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

SOLVERS = ("highs", "cbc")


class SolverUnavailable(RuntimeError):
    """The requested solver cannot be run on this machine."""


def check_solver(name: str) -> str:
    """The solver's name in lower case if it is one of ``SOLVERS``; else SolverUnavailable naming the
    choices. The one place a solver name is validated (the CLI, ``choose_backend``, the PuLP solver factory)."""
    if name.lower() not in SOLVERS:
        raise SolverUnavailable(f"unknown solver {name!r}; choose one of: {', '.join(SOLVERS)}")
    return name.lower()


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


def mip_rel_gap(options: SolverOptions) -> float:
    """The relative MIP gap to pass to either solver: ``options.mip_gap``, else ``DEFAULT_MIP_GAP``."""
    return DEFAULT_MIP_GAP if options.mip_gap is None else float(options.mip_gap)
