"""Families of solves against HiGHS alone, side by side in one run (issue 23's figures).

    python benchmarks/families.py                                # sweep at 1e5 flows, option values, robust 20, 50
    python benchmarks/families.py --before 1c58561 --json out.json   # and the code of an earlier commit beside it
    python benchmarks/families.py --sweep-size 1e4 --scenarios 5 --skip-examples   # a quick look

Three families, each measured in fresh child processes:

1. **Sweep**: a workbook of ``--sweep-size`` flow variables of the ``scale`` profile (benchmarks/scale.py),
   policy set ``ira_like``, its value-share rule (Policies row 2) swept over ten values 0.30:0.75:0.05.
   *Family*: ``sourcing sweep ... --json`` end to end (interpreter start, reading, every solve, writing the
   workbook), wall time. *HiGHS alone*: each point's LP exactly as the direct backend hands it to HiGHS
   (``optimizer.direct.image_of``), saved to disk, then loaded by a process importing only numpy and highspy
   and solved cold (passModel + run timed); the ten times added up. Every point's cost must equal HiGHS
   alone's objective to 1e-9 relative.
2. **Option values**: ``solve --option-values`` end to end on the examples and on the strategic instance of
   benchmarks/scenarios.py (8 yes/no options), against N x one member's cold HiGHS-alone time (N: the number
   of re-solves the option values made; the member: the plan's model with its first option forced in).
3. **Robust evaluation** at ``--scenarios`` (default 20 and 50) of the strategic instance: ``robust`` in a
   child process, the evaluation stage's seconds, against the number of evaluation solves x one member's cold
   HiGHS-alone time (the member: the first scenario with the robust plan's builds fixed).

With ``--before REF`` each family runs a second time on the code of commit REF (a temporary git worktree), so
the speed-up is measured on the same machine in the same run. Nothing here is a test.
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
sys.path.insert(0, str(ROOT))

SWEEP_POLICY, SWEEP_RULE, SWEEP_VALUES = "ira_like", 2, "0.30:0.75:0.05"
EXAMPLES = {"north_america": ("inputs/ev_battery_north_america.xlsx", "ira_30d_whatif"),
            "multitier": ("inputs/ev_battery_multitier.xlsx", "ira_cells_only")}


def timed(command: list[str], code: Path = ROOT) -> tuple[float, str]:
    """Run ``command`` with the package of ``code`` first on the path; (wall seconds, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command[:5])} failed: {done.stderr[-2000:]}")
    return wall, done.stdout


def cli(code: Path, *args: str) -> tuple[float, dict]:
    wall, out = timed([sys.executable, "-m", "optimizer.cli", *args, "--json"], code)
    return wall, json.loads(out)


# --------------------------------------------------------------------------- HiGHS alone


def export(formulation, target: Path) -> None:
    """Save the arrays the direct backend passes to HiGHS for ``formulation``."""
    import numpy as np

    from optimizer.direct import image_of

    image = image_of(formulation)
    lp = image.lp
    np.savez(target, cost=lp.cost, col_lower=lp.col_lower, col_upper=lp.col_upper, row_lower=lp.row_lower,
             row_upper=lp.row_upper, row=lp.row, col=lp.col, value=lp.value, integer=image.integer)


def highs_alone(arrays: Path) -> dict:
    """HiGHS alone on saved arrays, in a process that imports numpy and highspy only (benchmarks/ratio.py)."""
    _, out = timed([sys.executable, str(ROOT / "benchmarks" / "ratio.py"), "--highs-alone", str(arrays)])
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the families


def sweep_family(folder: Path, size: int, before: Path | None) -> dict:
    import scale

    from optimizer import load_workbook
    from optimizer.compare import parse_values
    from optimizer.edits import with_value
    from optimizer.formulation import build_formulation

    sheets, _ = scale.generate(size)
    workbook = scale.write_sheets(folder / f"sweep_{size}.xlsx", sheets)
    network = load_workbook(workbook)
    policy = network.policy(SWEEP_POLICY)
    values = parse_values(SWEEP_VALUES)
    alone = []
    for i, value in enumerate(values):
        formulation = build_formulation(network, with_value(policy, SWEEP_RULE, value))
        export(formulation, folder / f"point{i}.npz")
        alone.append(highs_alone(folder / f"point{i}.npz"))
    args = ("sweep", str(workbook), "--policy", SWEEP_POLICY, "--rule", str(SWEEP_RULE), "--values", SWEEP_VALUES)
    wall, payload = cli(ROOT, *args, "-o", str(folder / "sweep.xlsx"))
    costs = [p["total_cost"] for p in payload["points"]]
    for cost, cold in zip(costs, alone, strict=True):
        if abs(cost - cold["objective"]) > 1e-9 * max(1.0, abs(cost)):
            raise RuntimeError(f"a sweep point's cost {cost} differs from HiGHS alone's {cold['objective']}")
    out = {"size": size, "variables": len(build_formulation(network, policy).objective), "points": len(values),
           "family_seconds": wall, "highs_alone_seconds": sum(a["total"] for a in alone),
           "highs_alone_each": [a["total"] for a in alone]}
    out["ratio"] = out["family_seconds"] / out["highs_alone_seconds"]
    if before is not None:
        out["before_seconds"], _ = cli(before, *args, "-o", str(folder / "sweep_before.xlsx"))
    return out


def member_alone(folder: Path, formulation, name: str) -> float:
    export(formulation, folder / f"{name}.npz")
    return highs_alone(folder / f"{name}.npz")["total"]


OPTION_VALUES_CHILD = """
import json, sys, time
from optimizer import load_workbook, solve
from optimizer.valuation import option_values
network = load_workbook(sys.argv[1])
plan = solve(network, sys.argv[2])
started = time.perf_counter()
values = option_values(network, plan)
print(json.dumps({"seconds": time.perf_counter() - started, "solves": sum(v.solves for v in values),
                  "options": len(values)}))
"""


def option_values_family(folder: Path, workbook: Path, policy: str, before: Path | None) -> dict:
    """The option values of one plan (``solve --option-values``'s extra work), timed in a child process, against
    their number of re-solves x one member's cold HiGHS-alone time."""
    from optimizer import load_workbook, solve
    from optimizer.edits import Builds
    from optimizer.formulation import build_formulation
    from optimizer.horizon import ANY_PERIOD

    network = load_workbook(workbook)
    plan = solve(network, policy)
    first = next(row.option for row in plan.investments.itertuples() if not row.divisible)
    member = Builds.of({first: ANY_PERIOD}).applied(build_formulation(network, policy))
    one = member_alone(folder, member, f"option_{workbook.stem}")
    _, out = timed([sys.executable, "-c", OPTION_VALUES_CHILD, str(workbook), policy])
    now = json.loads(out.strip().splitlines()[-1])
    result = {"workbook": workbook.name, "policy": policy, "options": now["options"], "solves": now["solves"],
              "option_values_seconds": now["seconds"], "one_member_highs_alone": one,
              "highs_alone_seconds": now["solves"] * one}
    result["ratio"] = result["option_values_seconds"] / result["highs_alone_seconds"]
    if before is not None:
        _, out = timed([sys.executable, "-c", OPTION_VALUES_CHILD, str(workbook), policy], before)
        result["before_option_values_seconds"] = json.loads(out.strip().splitlines()[-1])["seconds"]
    return result


ROBUST_CHILD = """
import json, sys, time
from optimizer import load_workbook
from optimizer.robust import robust
network = load_workbook(sys.argv[1])
started = time.perf_counter()
result = robust(network)
seconds = dict(result.seconds, total=time.perf_counter() - started)
plan = result.robust
def key(decisions):
    return json.dumps(decisions, sort_keys=True, default=str)
sharing = {}
for p in result.plans:
    sharing.setdefault(key(p.decisions), set()).add(p.name)
# each distinct plan is solved in every scenario but those whose own plan it is (that cost is the wait-and-see one)
evaluations = sum(sum(1 for s in network.scenarios if s not in names) for names in sharing.values())
print(json.dumps({"seconds": seconds, "status": result.status, "decisions": plan.decisions if plan else None,
                  "value": result.objective_value, "evaluations": evaluations}, default=str))
"""


def robust_family(folder: Path, count: int, before: Path | None, strategic) -> dict:
    from optimizer import load_workbook
    from optimizer.edits import Builds, Scenario
    from optimizer.formulation import build_formulation

    sheets, scenarios, changes = strategic
    import scenarios as generator

    workbook = generator.workbook_for(folder, sheets, scenarios, changes, count)
    _, out = timed([sys.executable, "-c", ROBUST_CHILD, str(workbook)])
    now = json.loads(out.strip().splitlines()[-1])
    network = load_workbook(workbook)
    first = next(iter(network.scenarios))
    member = Builds.of({o: d for o, d in now["decisions"].items()}).applied(
        Scenario(first).applied(build_formulation(network, "baseline")))
    one = member_alone(folder, member, f"robust_{count}")
    solves = now["evaluations"]
    result = {"scenarios": count, "evaluation_seconds": now["seconds"]["evaluation"],
              "robust_seconds": now["seconds"]["total"], "evaluation_solves": solves,
              "one_member_highs_alone": one, "highs_alone_seconds": solves * one, "value": now["value"]}
    result["ratio"] = result["evaluation_seconds"] / result["highs_alone_seconds"] if solves else None
    if before is not None:
        _, out = timed([sys.executable, "-c", ROBUST_CHILD.replace("result.objective_value", "None"),
                        str(workbook)], before)
        old = json.loads(out.strip().splitlines()[-1])
        result["before_evaluation_seconds"] = old["seconds"]["evaluation"]
        result["before_robust_seconds"] = old["seconds"]["total"]
        if old["decisions"] != now["decisions"]:
            raise RuntimeError(f"the robust decisions differ from REF's at {count} scenarios")
    return result


def checkout(ref: str, folder: Path) -> Path:
    """A worktree of ``ref`` (removed by the caller's temporary folder)."""
    target = folder / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(target), ref], check=True,
                   capture_output=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep-size", type=float, default=1e5, help="flow variables of the sweep's workbook")
    parser.add_argument("--scenarios", default="20,50", help="scenario counts of the robust evaluation")
    parser.add_argument("--before", metavar="REF", help="also run the code of this commit, side by side")
    parser.add_argument("--skip-examples", action="store_true", help="no option values on the examples")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    figures: dict = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = checkout(args.before, folder) if args.before else None
        try:
            figures["sweep"] = sweep_family(folder, int(args.sweep_size), before)
            print(json.dumps({"sweep": figures["sweep"]}, indent=1), flush=True)
            import scenarios as generator

            sheets, _ = generator.generate(1.0)
            options = [row["option"] for row in sheets["Investments"]]
            drawn = generator.draw_scenarios(max(int(c) for c in args.scenarios.split(",")), options)
            figures["option_values"] = [option_values_family(folder, generator.write(
                folder / "strategic.xlsx", sheets, *generator.draw_subset(*drawn, 1)), "credit_45x", before)]
            if not args.skip_examples:
                figures["option_values"] += [option_values_family(folder, ROOT / path, policy, before)
                                             for path, policy in EXAMPLES.values()]
            print(json.dumps({"option_values": figures["option_values"]}, indent=1), flush=True)
            figures["robust"] = [robust_family(folder, int(c), before, (sheets, *drawn))
                                 for c in args.scenarios.split(",")]
            print(json.dumps({"robust": figures["robust"]}, indent=1), flush=True)
        finally:
            if before is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                               capture_output=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
