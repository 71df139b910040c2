"""End-to-end time and memory of `sourcing solve` against HiGHS alone on the identical LP.

    python benchmarks/ratio.py                       # 1e4, 1e5, 3e5, 1e6 flow variables
    python benchmarks/ratio.py --sizes 1e3 --json out.json
    python benchmarks/ratio.py --profile easy --sizes 1e5,5e5,1e6

For each size a synthetic workbook is generated, then three child processes run, each measured on its own.
Two profiles of workbook:

- ``scale`` (the default): benchmarks/scale.py's generator: 4 periods, 3 items, tariffs, share rules per
  destination, policy set ``ira_like``; a hard LP at 10^6 flows (HiGHS takes minutes).
- ``easy``: benchmarks/easy.py's generator: many lanes, few supply rows, 10 items, 6 periods, one value
  share rule and an exclusion (policy set ``easy``); an LP HiGHS solves in seconds, so the time around the
  solver shows.

The three processes:

1. ``sourcing solve WORKBOOK --policy ira_like --json``: the whole job (read, validate, formulate,
   hand-over, solve, read back, sensitivity, write); wall time, peak RSS, and the stage times the
   command reports in ``stats``.
2. ``export``: the identical LP that the direct backend passes to HiGHS (the formulation's arrays with
   the production columns of pure suppliers substituted out, see ``optimizer.direct``), saved
   as numpy arrays; not timed.
3. ``highs``: a process that loads those arrays, passes them to highspy in one ``passModel`` call and
   solves; the time of passModel + run and the process's peak RSS are HiGHS alone.

It prints the ratio end-to-end / HiGHS-alone for time and for peak memory, and the stages ``sourcing solve``
reports; ``startup`` is the time from the start of its process to the start of the command's work (the
interpreter and every module imported before reading). Beside the wall times it prints each run's CPU seconds
(user + system, of the process and its children): on a machine other jobs keep busy the wall times grow with
the load, the CPU seconds much less, so their ratio is the steadier figure; the 1-minute load average is printed
before and after each size. Nothing here is a test.

Both runs get Python's bytecode cache as an installed package has it: the child processes run without
``PYTHONDONTWRITEBYTECODE`` (which some environments set, making every start-up compile the package's modules
again, about 0.1-0.3 s), after one untimed start-up that writes the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


#: The stages `sourcing solve --json` reports, in the order they run (build and solve share one peak).
STAGES = ("startup", "read_validate", "formulate", "build", "solve", "report", "write")
#: The workbook generators (a module of benchmarks/ with generate(target, seed) and POLICY).
PROFILES = {"scale": "scale", "easy": "easy"}


#: The environment of the measured processes: Python writes and reads its bytecode cache, as for an installed package.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child_peak_rss_mb(command: list[str]) -> tuple[float, float, float, str]:
    """Run ``command`` in a fresh wrapper process; return (wall seconds, its peak RSS in MB, its CPU seconds
    (user + system), stdout)."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "wall = time.perf_counter() - t; r = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(wall, r.ru_maxrss / 1024, r.ru_utime + r.ru_stime); "
               "print(p.stdout, end=''); sys.stderr.write(p.stderr); sys.exit(p.returncode)")
    done = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, env=CHILD_ENV)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:3]} failed: {done.stderr[-2000:]}")
    first, _, rest = done.stdout.partition("\n")
    wall, rss, cpu = (float(v) for v in first.split())
    return wall, rss, cpu, rest


def warm_bytecode_cache() -> None:
    """One untimed start-up of the command and of HiGHS alone, so that both find their bytecode cached."""
    for command in ([sys.executable, "-m", "optimizer.cli", "--help"],
                    [sys.executable, "-c", "import highspy, numpy"]):
        subprocess.run(command, capture_output=True, env=CHILD_ENV, cwd=ROOT)


def load_average() -> float | None:
    """The 1-minute load average (None where the system does not say)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def export_lp(workbook: Path, policy: str, target: Path) -> dict:
    """Save what the direct backend passes to HiGHS to ``target``; return the full and passed sizes."""
    import numpy as np

    from optimizer import load_workbook
    from optimizer.direct import arrays_from, substitute_production
    from optimizer.formulation import build_formulation

    formulation = build_formulation(load_workbook(workbook), policy)
    full = arrays_from(formulation)
    lp, substitution = substitute_production(full, formulation, formulation.integer)
    integer = formulation.integer if substitution is None else formulation.integer[substitution.kept_cols]
    # 32-bit indices, as HiGHS takes them, whatever the version of the package that built them: HiGHS alone
    # holds the same arrays for every version measured.
    np.savez(target, cost=lp.cost, col_lower=lp.col_lower, col_upper=lp.col_upper, row_lower=lp.row_lower,
             row_upper=lp.row_upper, row=lp.row.astype(np.int32), col=lp.col.astype(np.int32), value=lp.value,
             integer=integer)
    return {"variables": full.n_cols, "constraints": full.n_rows, "nonzeros": len(full.value),
            "solver_columns": lp.n_cols, "solver_rows": lp.n_rows, "solver_nonzeros": len(lp.value)}


def highs_alone(arrays: Path) -> None:
    """Child process: load the arrays (not timed), pass them to HiGHS and solve (timed).

    Imports numpy and highspy only, so the process's memory is HiGHS's and the LP's, nothing of
    this package (pandas, pydantic, openpyxl)."""
    import highspy
    import numpy as np

    data = np.load(arrays)
    row, col, value = data["row"], data["col"], data["value"]
    n_cols = len(data["cost"])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-9)
    started, cpu_started = time.perf_counter(), time.process_time()
    order = np.lexsort((row, col))  # CSC, as the direct backend builds it
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_cols, len(data["row_lower"])
    model.col_cost_, model.col_lower_, model.col_upper_ = data["cost"], data["col_lower"], data["col_upper"]
    model.row_lower_, model.row_upper_ = data["row_lower"], data["row_upper"]
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.append(np.searchsorted(col[order], np.arange(n_cols)), len(order)).astype(np.int32)
    model.a_matrix_.index_ = row[order].astype(np.int32)
    model.a_matrix_.value_ = value[order]
    if data["integer"].any():
        model.integrality_ = [highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                              for flag in data["integer"]]
    h.passModel(model)
    del model, order
    passed = time.perf_counter()
    h.run()
    done = time.perf_counter()
    print(json.dumps({"pass": passed - started, "run": done - passed, "total": done - started,
                      "cpu": time.process_time() - cpu_started,
                      "objective": h.getInfo().objective_function_value, "status": str(h.getModelStatus())}))


def run_size(size: int, folder: Path, policy: str | None, profile: str = "scale") -> dict:
    import importlib

    import scale

    generator = importlib.import_module(PROFILES[profile])
    policy = policy or generator.POLICY
    sheets, shape = generator.generate(size)
    prefix = "bench" if profile == "scale" else f"bench_{profile}"
    workbook = folder / f"{prefix}_{size}.xlsx"
    scale.write_sheets(workbook, sheets)
    arrays = folder / f"{prefix}_{size}.npz"
    counts = export_lp(workbook, policy, arrays)
    load_before = load_average()
    wall, rss, cpu, out = child_peak_rss_mb([sys.executable, "-m", "optimizer.cli", "solve", str(workbook), "-o",
                                             str(folder / f"plan_{prefix}_{size}.xlsx"), "--policy", policy, "--json"])
    solved = json.loads(out)
    h_wall, h_rss, h_cpu, h_out = child_peak_rss_mb([sys.executable, __file__, "--highs-alone", str(arrays)])
    alone = json.loads(h_out.strip().splitlines()[-1])  # after the banner HiGHS prints
    return {"size": size, "profile": profile, "policy": policy, "shape": shape, **counts,
            "status": solved["status"], "total_cost": solved["total_cost"],
            "highs_objective": alone["objective"], "end_to_end_s": wall, "end_to_end_rss_mb": rss,
            "end_to_end_cpu_s": cpu, "stages": solved["stats"], "highs_pass_s": alone["pass"],
            "highs_run_s": alone["run"], "highs_alone_s": alone["total"], "highs_alone_rss_mb": h_rss,
            "highs_alone_cpu_s": h_cpu, "highs_alone_process_cpu_s": alone["cpu"],
            "time_ratio": wall / alone["total"], "cpu_ratio": cpu / alone["cpu"], "memory_ratio": rss / h_rss,
            "load_average_before": load_before, "load_average_after": load_average()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5,3e5,1e6")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="scale",
                        help="workbook generator: scale (default; benchmarks/scale.py) or easy (benchmarks/easy.py)")
    parser.add_argument("--policy", help="policy set to solve (default: the profile's, ira_like or easy)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    parser.add_argument("--highs-alone", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.highs_alone:
        highs_alone(args.highs_alone)
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sourcing-ratio-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    header = (f"{'flows':>9} {'vars':>9} {'rows':>8} {'passed':>15} {'e2e s':>7} {'HiGHS s':>8} {'ratio':>6} "
              f"{'e2e cpu':>7} {'HiGHS cpu':>9} {'ratio':>6} {'e2e MB':>7} {'HiGHS MB':>8} {'mem x':>6}  stages (s)")
    warm_bytecode_cache()
    print(f"profile {args.profile}")
    print(header)
    for size in sizes:
        r = run_size(size, folder, args.policy, args.profile)
        results.append(r)
        st = r["stages"]
        stages = " ".join(f"{k}={st[f'seconds_{k}']:.2f}" for k in STAGES if st.get(f"seconds_{k}") is not None)
        outside = r["end_to_end_s"] - sum(st.get(f"seconds_{k}") or 0.0 for k in STAGES if k != "startup")
        stages += f" (outside the stages {outside:.2f})"
        passed = f"{r['solver_columns']:,}x{r['solver_rows']:,}"
        print(f"{size:>9,} {r['variables']:>9,} {r['constraints']:>8,} {passed:>15} {r['end_to_end_s']:>7.2f} "
              f"{r['highs_alone_s']:>8.2f} {r['time_ratio']:>6.2f} {r['end_to_end_cpu_s']:>7.2f} "
              f"{r['highs_alone_process_cpu_s']:>9.2f} {r['cpu_ratio']:>6.2f} {r['end_to_end_rss_mb']:>7.0f} "
              f"{r['highs_alone_rss_mb']:>8.0f} {r['memory_ratio']:>6.2f}  {stages}", flush=True)
        loads = [f"{v:.2f}" if v is not None else "?" for v in (r["load_average_before"], r["load_average_after"])]
        print(f"{'':>9} 1-minute load average before / after: {' / '.join(loads)}", flush=True)
        peaks = " ".join(f"{k}={st[f'peak_mb_{k}']:.0f}" for k in STAGES if st.get(f"peak_mb_{k}") is not None)
        if peaks:
            print(f"{'':>9} peak MB after each stage: {peaks}", flush=True)
        if r["total_cost"] is not None and abs(r["total_cost"] - r["highs_objective"]) > 1e-6 * max(
                1.0, abs(r["highs_objective"])):
            print(f"  cost mismatch: {r['total_cost']} vs HiGHS alone {r['highs_objective']}")
    print("vars/rows: the formulation; passed: columns x rows handed to HiGHS (both runs solve that LP)")
    print("outside the stages: end-to-end less the stages after start-up (start-up, imports, JSON, exit)")
    print("cpu: user + system seconds of the whole command, and of HiGHS alone's passModel + run")
    print(f"peak RSS of the whole process (ru_maxrss); files in {folder}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
