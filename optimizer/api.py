"""The Python API: validated network in, SolveResult out."""

from __future__ import annotations

import os
import sys
import time

from models.network import Network, PolicySet
from optimizer.backend import SolverOptions, solve_formulation
from optimizer.diagnosis import diagnose
from optimizer.formulation import build_formulation
from optimizer.horizon import BuildChoice, fix_builds
from optimizer.model import Formulation
from optimizer.options import Deadline
from optimizer.results import SolveResult, build_result
from optimizer.sensitivity import sensitivity_table


def peak_memory_mb() -> float | None:
    """The process's peak resident memory so far, in MiB (None where the OS does not say).

    On Linux it is the kernel's own high-water mark of this process image (``VmHWM``): getrusage's figure
    survives ``exec``, so a worker process started by ``spawn`` would report its parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # macOS counts bytes, Linux KiB


def seconds_since_start() -> float | None:
    """Seconds since this process started (Linux /proc, 10 ms resolution; None elsewhere)."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22: start time, clock ticks
            now = float(uptime.read().split()[0])
        return max(0.0, now - started / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def solve(network: Network, policy: str | PolicySet = "baseline", solver: str = "highs",
          time_limit: float | None = None, options: SolverOptions | None = None,
          diagnosis: bool = True, builds: dict[str, BuildChoice] | None = None) -> SolveResult:
    """Minimise total cost for ``policy`` on ``network``; the result holds status, costs and tables.
    When there is no plan, ``result.diagnosis`` lists the reasons found (unless ``diagnosis`` is off).
    ``builds`` fixes the build decisions of investment options (see ``optimizer.horizon.fix_builds``).

    Raises KeyError for an unknown policy set or option and SolverUnavailable for an unusable solver.
    """
    options = options or SolverOptions(solver=solver, time_limit=time_limit)
    started = time.perf_counter()
    formulation = build_formulation(network, policy)
    if builds:
        fix_builds(formulation, builds)
    return solve_formulated(formulation, options, diagnosis, started)


def solve_formulated(formulation: Formulation, options: SolverOptions, diagnosis: bool = True,
                     started: float | None = None) -> SolveResult:
    """Solve a built formulation cold and report every table (``solve`` after building; a family's member
    reported in full). ``started``: when the command's work began (the time limit counts from there)."""
    started = time.perf_counter() if started is None else started
    deadline = Deadline.start(options, started)  # the solve and its diagnosis share the time limit
    formulated = time.perf_counter()
    peak_formulate = peak_memory_mb()
    output = solve_formulation(formulation, options)
    peak_solve = peak_memory_mb()
    findings = []
    if output.status == "infeasible":
        findings = diagnose(formulation, deadline) if diagnosis else []
        output.message = "no plan meets every demand, capacity and rule of this policy set"
        if findings:
            more = f" (and {len(findings) - 1} more reason(s))" if len(findings) > 1 else ""
            output.message = findings[0].message + more
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
    result.diagnosis = [f.as_dict() for f in findings]
    result.sensitivity = sensitivity_table(result)
    result.stats["seconds_report"] = time.perf_counter() - started - sum(
        stats[k] for k in ("seconds_formulate", "seconds_build", "seconds_solve"))
    # The high-water mark after each stage: where it jumps is the stage that set the peak.
    result.stats.update(peak_mb_formulate=peak_formulate, peak_mb_solve=peak_solve, peak_mb_report=peak_memory_mb())
    return result
