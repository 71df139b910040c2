"""How to solve: ``SolverOptions``, shared by both backends and the HiGHS layer, and the solver names.

It sits below them (it imports neither), so ``optimizer.highs`` can configure an instance from it
without importing the backend, and the CLI can check a solver name before importing any model code;
``optimizer.backend`` re-exports all of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

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


class OutOfTime(RuntimeError):
    """The command's time limit ran out before a solve it still wanted to make."""


@dataclass(frozen=True)
class Deadline:
    """A command's solver options and the moment its time limit runs out (``time.perf_counter``; None: no
    limit). Every auxiliary solve (diagnosis's relaxations, the supplier-count MILP) asks it for its options, so
    they share the command's threads and MIP gap and the time limit bounds the command as a whole."""

    options: SolverOptions
    ends: float | None = None

    @classmethod
    def start(cls, options: SolverOptions, started: float | None = None) -> Deadline:
        """The deadline of a command that started at ``started`` (now by default) under ``options``."""
        started = time.perf_counter() if started is None else started
        return cls(options, None if options.time_limit is None else started + float(options.time_limit))

    def remaining(self) -> float | None:
        """Seconds left (None without a time limit)."""
        return None if self.ends is None else self.ends - time.perf_counter()

    @property
    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def next_solve(self) -> SolverOptions:
        """The options of the next auxiliary solve: the command's, its log off, the time left as its limit.
        Raises OutOfTime when none is left."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise OutOfTime("the time limit ran out")
        return replace(self.options, time_limit=left, verbose=False)


#: Options for auxiliary solves when a caller gives none: HiGHS's defaults, no limit.
UNLIMITED = Deadline(SolverOptions())
