"""Scenario benchmark: how the robust analysis (``sourcing robust``) scales with the number of scenarios.

    python benchmarks/scenarios.py                                  # 1, 5, 20, 50 scenarios, --size 1
    python benchmarks/scenarios.py --scenarios 1,5 --size 0.3 --json out/scenarios.json

A strategic instance is generated once (seeded; the same seed gives the same workbook): two items linked
by a BOM (``cam`` -> ``cells`` at the North American cell plants), cell makers and CAM suppliers in eight
countries of three groups, pack plants in the US, Canada and Mexico demanding cells over 5 periods
(2026-2030, discounted at 8%), tariffs, 8 yes/no investment options (expansions of four cell plants, a new
US cell plant in two sizes, restarts of two paused CAM plants; build windows of 2-3 periods, lead times
0-2) and three policy sets beside ``baseline`` (``credit_45x``: a 45X-like credit on US-made cells;
``tariff_232``: the credit plus a 25% tariff on imported cells; ``local_content``: 50% of each pack plant's
cells from North America and no CAM from FEOC-owned suppliers into the US). At ``--size 1`` a scenario has
2,916 flow variables (3,128 variables with production and builds, 21 of them binary, 457 rows). Then 50
scenarios are drawn (seeded) that differ by demand multipliers (some again in the last two periods), capex
and lead-time changes of some options, Asian cell, CAM and ocean-freight cost changes, and the policy set;
scenario ``base`` is the workbook as it is under ``credit_45x``. The workbook for S scenarios holds the first
S of them (each scenario's draws do not depend on S), their weights normalised to probabilities.

For every S (``--scenarios``) two fresh child processes each load the workbook (timed) and run
``optimizer.robust.robust`` (objective ``expected`` unless ``--objective``), one with ``workers=1`` and one
with ``workers=2``. The wait-and-see solves and the plans x scenarios evaluations are runner tasks (spawned
processes with 2 workers); the robust model is one HiGHS MILP over all scenarios, built and solved in the
parent either way. One row per S: the robust model's columns x rows, its build and solve seconds, the
wait-and-see and evaluation seconds with 1 and with 2 workers, the number of evaluation solves, the end-to-end
seconds (load + robust) with 1 and 2 workers, the CPU seconds of the robust run (the process and its worker
processes) with 1 and 2 workers, the peak RSS of the 1-worker process (which holds everything), and the robust
objective value. Both worker counts must give the same robust decisions and objective value; a mismatch is
printed loudly and the exit status is 1 (as for any robust run that is not optimal).

Run time: the default (``--size 1``, S = 1, 5, 20, 50) took 5 1/2 minutes on this 2-core machine with other
jobs keeping the load average near 3, and 8 minutes near 4 (docs/background/benchmarks.md, "Scenarios", has
the measured table); three quarters of it is S = 50, mostly its 450 evaluation solves, which run twice (1 and 2
workers). The number of evaluation solves grows like S x the number of distinct plans, so S = 100 would take
several times as long. ``--size`` scales the numbers of sites; the flows grow about with its square (0.3: ~300 flows a
scenario, 2: ~11,000).

Progress goes to stderr, the table to stdout. Nothing here is a test (tests/test_benchmark_smoke.py runs a
tiny case).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PERIODS = [2026, 2027, 2028, 2029, 2030]
GROUPS = {
    "north_america": [("United States", "US"), ("Canada", "CA"), ("Mexico", "MX")],
    "asia": [("Korea", "KR"), ("Japan", "JP"), ("China", "CN")],
    "europe": [("Germany", "DE"), ("Poland", "PL"), ("Hungary", "HU")],
}
POLICY_SETS = ("baseline", "credit_45x", "tariff_232", "local_content")
#: Scenario policy sets and how likely the generator picks each.
POLICY_WEIGHTS = (0.2, 0.35, 0.2, 0.25)


# --------------------------------------------------------------------------- the instance


def counts(size: float) -> dict[str, int]:
    """Numbers of sites at ``size`` (1: about 3,000 flow variables per scenario)."""
    def scaled(n: int, least: int) -> int:
        return max(least, round(n * size))

    return {"na_cell_plants": scaled(6, 2), "import_cell_makers": scaled(14, 3), "cam_suppliers": scaled(12, 3),
            "pack_plants": scaled(24, 2)}


def generate(size: float = 1.0, seed: int = 0) -> tuple[dict[str, list[dict]], dict]:
    """The base sheets (without Scenarios) and a description of the instance."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = counts(size)
    country_of = {code: name for group in GROUPS.values() for name, code in group}

    def pick(codes: list[str], k: int) -> list[str]:
        return [codes[i % len(codes)] for i in range(k)]

    sites, supply, lanes, bom = [], [], [], []
    # Pack plants (demand) in North America; demand grows 10% a year.
    packs = [f"PACK_{c}_{i:02d}" for i, c in enumerate(pick(["US", "US", "CA", "MX"], n["pack_plants"]))]
    base = {p: float(rng.uniform(4, 12)) for p in packs}
    demand = [{"site": p, "item": "cells", "period": t, "quantity": round(base[p] * 1.1 ** k, 2)}
              for p in packs for k, t in enumerate(PERIODS)]
    peak = {t: sum(r["quantity"] for r in demand if r["period"] == t) for t in PERIODS}
    for p in packs:
        sites.append({"site": p, "country": country_of[p.split("_")[1]], "tags": "pack_plant"})
    # North American cell plants: they make cells from CAM (site BOM rows). Together they can make 65% of
    # the highest demand any scenario draws (x 1.35), so the local-content rule (50%) holds with nothing built.
    na_cells = [f"CELL_{c}_{i:02d}" for i, c in enumerate(pick(["US", "US", "CA", "MX", "US", "CA"],
                                                               n["na_cell_plants"]))]
    share = rng.uniform(0.7, 1.3, len(na_cells))
    share /= share.sum()
    for site, s in zip(na_cells, share, strict=True):
        sites.append({"site": site, "country": country_of[site.split("_")[1]], "tags": "cell_plant"})
        bom.append({"item": "cells", "input": "cam", "quantity": 1.4, "site": site})
        for t in PERIODS:
            supply.append({"site": site, "item": "cells", "period": t,
                           "capacity": math.ceil(0.65 * 1.35 * peak[t] * s * 1.05),
                           "unit_cost": round(float(rng.uniform(52, 62)), 2)})
    # Imported cells (Asia, Europe): no capacity limit on about half of them, so every scenario has a plan.
    importers = [f"CELLX_{c}_{i:02d}" for i, c in enumerate(pick(["KR", "CN", "JP", "PL", "HU", "CN", "KR"],
                                                                  n["import_cell_makers"]))]
    cost = {"KR": 67.0, "JP": 70.0, "CN": 60.0, "PL": 72.0, "HU": 71.0}
    for i, site in enumerate(importers):
        code = site.split("_")[1]
        sites.append({"site": site, "country": country_of[code],
                      "tags": "feoc_owned" if code == "CN" or (code == "HU" and i % 2) else None})
        capacity = None if i % 2 == 0 else math.ceil(peak[PERIODS[-1]] * float(rng.uniform(0.1, 0.3)))
        supply.append({"site": site, "item": "cells", "period": None, "capacity": capacity,
                       "unit_cost": round(cost[code] * float(rng.uniform(0.95, 1.05)), 2)})
    # CAM suppliers (kt; USD million per kt).
    cams = [f"CAM_{c}_{i:02d}" for i, c in enumerate(pick(["KR", "CN", "JP", "US", "CA", "PL", "CN", "KR"],
                                                          n["cam_suppliers"]))]
    cam_cost = {"KR": 19.0, "CN": 17.0, "JP": 19.5, "US": 22.0, "CA": 21.5, "PL": 20.5}
    for site in cams:
        code = site.split("_")[1]
        sites.append({"site": site, "country": country_of[code], "tags": "feoc_owned" if code == "CN" else None})
        capacity = None if code in ("KR", "JP", "PL") else math.ceil(peak[PERIODS[-1]] * float(rng.uniform(0.2, 0.5)))
        supply.append({"site": site, "item": "cam", "period": None, "capacity": capacity,
                       "unit_cost": round(cam_cost[code] * float(rng.uniform(0.95, 1.05)), 2)})
    # Options: expansions of some NA cell plants, a new US cell plant, restarts of paused NA CAM plants.
    new_plant = "CELL_US_NEW"
    sites.append({"site": new_plant, "country": "United States", "tags": "cell_plant"})
    bom.append({"item": "cells", "input": "cam", "quantity": 1.4, "site": new_plant})
    cam_restarts = ["CAM_US_PAUSED", "CAM_CA_PAUSED"]
    for site in cam_restarts:
        sites.append({"site": site, "country": country_of[site.split("_")[1]], "tags": None})
    options = []
    for k, site in enumerate(na_cells[:4]):
        options.append({"option": f"expand_{site}", "site": site, "item": "cells",
                        "capacity": round(float(rng.uniform(0.08, 0.15)) * peak[PERIODS[-1]], 1),
                        "capex": round(float(rng.uniform(150, 300)), 0),
                        "fixed_cost": round(float(rng.uniform(3, 8)), 1),
                        "unit_cost": round(float(rng.uniform(48, 53)), 2), "earliest": 2026, "latest": 2028,
                        "lead_time": k % 2, "divisible": False})
    options.append({"option": "new_us_cell_plant", "site": new_plant, "item": "cells",
                    "capacity": round(0.3 * peak[PERIODS[-1]], 1), "capex": 900.0, "fixed_cost": 15.0,
                    "unit_cost": 47.0, "earliest": 2026, "latest": 2028, "lead_time": 2, "divisible": False})
    options.append({"option": "new_us_cell_plant_small", "site": new_plant, "item": "cells",
                    "capacity": round(0.12 * peak[PERIODS[-1]], 1), "capex": 420.0, "fixed_cost": 8.0,
                    "unit_cost": 49.0, "earliest": 2027, "latest": 2028, "lead_time": 1, "divisible": False})
    for k, site in enumerate(cam_restarts):
        options.append({"option": f"restart_{site}", "site": site, "item": "cam",
                        "capacity": round(0.15 * 1.4 * peak[PERIODS[-1]], 1), "capex": 160.0 + 40 * k,
                        "fixed_cost": 6.0, "unit_cost": 18.5 + k, "earliest": 2026, "latest": 2027,
                        "lead_time": 1 + k, "divisible": False})
    # Lanes: every cell maker to every pack plant (NA makers cheaper), every CAM supplier to every cell plant.
    freight = {"US": 1.0, "CA": 1.5, "MX": 1.5, "KR": 4.0, "JP": 4.0, "CN": 4.5, "PL": 5.0, "HU": 5.0, "DE": 5.0}
    for maker in na_cells + [new_plant] + importers:
        for p in packs:
            lanes.append({"origin": maker, "destination": p,
                          "unit_cost": round(freight[maker.split("_")[1]] * float(rng.uniform(0.8, 1.2)), 2)})
    for cam in cams + cam_restarts:
        for plant in na_cells + [new_plant]:
            lanes.append({"origin": cam, "destination": plant,
                          "unit_cost": round(0.2 * freight[cam.split("_")[1]] * float(rng.uniform(0.8, 1.2)), 3)})
    years = [f"{t}" for t in PERIODS]
    policies = (
        [{"policy": "credit_45x", "rule": "credit", "items": "cells", "from": "United States", "to": None,
          "value": 35.0 if t < 2030 else 26.25, "period": t} for t in PERIODS]
        + [{"policy": "tariff_232", "rule": "credit", "items": "cells", "from": "United States", "to": None,
            "value": 35.0 if t < 2030 else 26.25, "period": t} for t in PERIODS]
        + [{"policy": "tariff_232", "rule": "tariff", "items": "cells", "from": "asia;europe", "to": "United States",
            "value": 0.25}]
        + [{"policy": "local_content", "rule": "min_share", "items": "cells", "from": "north_america",
            "to": "pack_plant", "value": 0.5, "basis": "quantity", "scope": "each_destination"},
           {"policy": "local_content", "rule": "exclude", "items": "cam", "from": "feoc_owned",
            "to": "United States"}])
    sheets = {
        "Sites": sites,
        "Groups": [{"group": g, "country": c} for g, cs in GROUPS.items() for c, _ in cs],
        "Items": [{"item": "cells", "unit": "GWh", "category": "battery_component"},
                  {"item": "cam", "unit": "kt", "category": "material"}],
        "Supply": supply,
        "Demand": demand,
        "Lanes": lanes,
        "Tariffs": [{"origin": "China", "destination": "United States", "rate": 0.25},
                    {"origin": "asia", "destination": "north_america", "item": "cells", "rate": 0.034}],
        "BOM": bom,
        "Policies": policies,
        "Periods": [{"period": t, "discount_factor": round(1 / 1.08 ** k, 4)} for k, t in enumerate(PERIODS)],
        "Investments": options,
    }
    shape = {**n, "sites": len(sites), "lanes": len(lanes), "options": len(options), "periods": len(years)}
    return sheets, shape


def draw_scenarios(count: int, options: list[str], seed: int = 0) -> tuple[list[dict], list[dict]]:
    """``count`` scenarios (Scenarios rows, ScenarioChanges rows); the first is the base case. The draws of
    scenario k do not depend on ``count``, so a workbook with S scenarios holds the first S of 50."""
    import numpy as np

    scenarios, changes = [], []
    for k in range(count):
        rng = np.random.default_rng([seed, k])
        name = "base" if k == 0 else f"s{k:02d}"
        weight = 1.0 if k == 0 else float(rng.uniform(0.2, 1.0))
        policy = "credit_45x" if k == 0 else POLICY_SETS[int(rng.choice(len(POLICY_SETS), p=POLICY_WEIGHTS))]
        rows: list[dict] = []
        parts = []
        if k:
            level = round(float(rng.uniform(0.7, 1.3)), 3)
            rows.append({"sheet": "Demand", "column": "quantity", "multiply": level})
            parts.append(f"demand x{level}")
            if rng.random() < 0.3:  # the later years differ again
                later = round(float(rng.uniform(0.85, 1.15)), 3)
                for t in PERIODS[-2:]:
                    rows.append({"sheet": "Demand", "column": "quantity", "period": t, "multiply": later})
                parts.append(f"x{later} from {PERIODS[-2]}")
            if rng.random() < 0.35:
                for option in rng.choice(options, size=int(rng.integers(1, 4)), replace=False):
                    factor = round(float(rng.uniform(1.1, 1.8)), 2)
                    rows.append({"sheet": "Investments", "column": "capex", "option": str(option), "multiply": factor})
                    parts.append(f"{option} capex x{factor}")
            if rng.random() < 0.25:
                option = str(rng.choice(options))
                rows.append({"sheet": "Investments", "column": "lead_time", "option": option, "add": 1})
                parts.append(f"{option} a year later")
            if rng.random() < 0.3:
                factor = round(float(rng.uniform(0.85, 1.2)), 3)
                rows.append({"sheet": "Supply", "column": "unit_cost", "site": "asia", "item": "cells",
                             "multiply": factor})
                parts.append(f"Asian cells x{factor}")
            if rng.random() < 0.25:
                factor = round(float(rng.uniform(1.1, 1.6)), 3)
                rows.append({"sheet": "Supply", "column": "unit_cost", "item": "cam", "multiply": factor})
                parts.append(f"CAM x{factor}")
            if rng.random() < 0.2:
                factor = round(float(rng.uniform(1.3, 2.0)), 3)
                rows.append({"sheet": "Lanes", "column": "unit_cost", "origin": "asia;europe", "multiply": factor})
                parts.append(f"ocean freight x{factor}")
        scenarios.append({"scenario": name, "weight": weight, "policy": policy,
                          "description": "; ".join(parts) or "as the workbook"})
        changes += [{"scenario": name, **row} for row in rows]
    return scenarios, changes


def write(path: Path, sheets: dict[str, list[dict]], scenarios: list[dict], changes: list[dict]) -> Path:
    from optimizer import write_workbook

    scenario_columns = ["scenario", "probability", "policy", "description"]
    change_columns = ["scenario", "sheet", "column", "site", "origin", "destination", "item", "period", "option",
                      "multiply", "add", "set"]
    # write_workbook takes the columns of the first dicts: give every row every column, in order.
    extra = {"Scenarios": [{c: r.get(c) for c in scenario_columns} for r in scenarios]}
    if changes:
        extra["ScenarioChanges"] = [{c: r.get(c) for c in change_columns} for r in changes]
    return write_workbook(path, {**sheets, **extra})


def workbook_for(folder: Path, sheets: dict, scenarios: list[dict], changes: list[dict], count: int) -> Path:
    """The workbook with the first ``count`` scenarios (probabilities normalised over them)."""
    chosen, chosen_changes = draw_subset(scenarios, changes, count)
    return write(folder / f"scenarios_{count}.xlsx", sheets, chosen, chosen_changes)


def draw_subset(scenarios: list[dict], changes: list[dict], count: int) -> tuple[list[dict], list[dict]]:
    """The first ``count`` scenarios, their weights normalised to probabilities (the last one blank: it gets
    what the others leave, so they add up to 1 exactly), and their changes."""
    chosen = [dict(s) for s in scenarios[:count]]
    total = sum(s["weight"] for s in chosen)
    for row in chosen[:-1]:
        row["probability"] = round(row["weight"] / total, 6)
    names = {s["scenario"] for s in chosen}
    return chosen, [c for c in changes if c["scenario"] in names]


# --------------------------------------------------------------------------- measuring (child process)


def _peak_rss_mb() -> float:
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 1024 / (1024 if sys.platform == "darwin" else 1)


class WorkerPeaks:
    """The peak RSS of each worker process, read from /proc (Linux) by a thread every 0.2 s.

    Not ``RUSAGE_CHILDREN``: a spawned worker is forked from this process before it runs a fresh
    interpreter, and Linux carries the parent's high-water mark at the fork over into the child's
    ``ru_maxrss``, so that figure would be this process's size, not the worker's. ``VmHWM`` belongs to the
    worker's own address space."""

    def __init__(self) -> None:
        import threading

        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> WorkerPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for pid in self._children():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0.0), int(line.split()[1]) / 1024)

    @staticmethod
    def _children() -> list[int]:
        pids: list[int] = []
        for task in Path("/proc/self/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in (task / "children").read_text().split()]
        return pids


def measure(workbook: Path, workers: int, objective: str, label: str) -> dict:
    """Load ``workbook`` and run the robust analysis once; every figure of one row (this process only)."""
    from optimizer import load_workbook
    from optimizer.robust import robust

    started = time.perf_counter()
    network = load_workbook(workbook)
    loaded = time.perf_counter()
    state = {"done": 0, "of": 0, "shown": loaded}

    def progress(done: int, of: int) -> None:
        state.update(done=done, of=of)
        now = time.perf_counter()
        if now - state["shown"] >= 15:
            state["shown"] = now
            print(f"  [{label}] {done}/{of} solves, {now - started:.0f}s", file=sys.stderr, flush=True)

    before = os.times()
    with WorkerPeaks() as workers_seen:
        result = robust(network, objective, workers=workers, progress=progress)
    finished = time.perf_counter()
    after = os.times()
    count = len(network.scenarios)
    first = next(iter(result.wait_and_see.values()))
    model = result.model
    plan = result.robust
    figures = plan.figures(result.probability(), result.ws_costs()) if plan else {}
    return {
        "workers": workers, "scenarios": count, "status": result.status, "message": result.message,
        "seconds_load": loaded - started, "seconds_robust": finished - loaded, "seconds_end_to_end": finished - started,
        "seconds": result.seconds,
        # CPU seconds of the robust run: this process, and the worker processes it waited for (2 workers)
        "cpu_seconds_self": (after.user - before.user) + (after.system - before.system),
        "cpu_seconds_workers": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
        "model": None if model is None else {
            "variables": model.variables, "constraints": model.constraints, "seconds_build": model.seconds_build,
            "seconds_solve": model.seconds_solve, "status": model.status, "value": model.value},
        "decisions": plan.decisions if plan else None,
        "robust_plan": figures, "evpi": result.evpi, "value_of_hedging": result.value_of_hedging,
        "solves": state["of"], "evaluation_solves": max(0, state["of"] - count),
        "distinct_plans": len({_decision_key(p.decisions) for p in result.plans}),
        "scenario_variables": first.stats.get("variables"), "scenario_constraints": first.stats.get("constraints"),
        "peak_rss_mb": _peak_rss_mb(), "child_processes": len(workers_seen.peaks),  # pool workers, resource tracker
        "peak_rss_worker_mb": max(workers_seen.peaks.values(), default=None),
    }


def _decision_key(decisions: dict) -> str:
    return json.dumps(decisions, sort_keys=True, default=str)


# --------------------------------------------------------------------------- driver


def run_child(workbook: Path, workers: int, args: argparse.Namespace, folder: Path) -> dict:
    out = folder / f"{workbook.stem}.w{workers}.json"
    command = [sys.executable, __file__, "--child", str(workbook), "--workers", str(workers),
               "--objective", args.objective, "--result", str(out)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # progress: stderr passes through
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"{workbook.name} with {workers} worker(s) failed (exit {done.returncode})")
    figures = json.loads(out.read_text())
    out.unlink()
    return figures


def same_plan(one: dict, two: dict) -> list[str]:
    """Where the two runs disagree: robust decisions, the model's objective value, the plan's figures."""
    problems = []
    a, b = one["decisions"] or {}, two["decisions"] or {}
    if set(a) != set(b):
        problems.append(f"options differ: {sorted(set(a) ^ set(b))}")
    for option in sorted(set(a) & set(b)):
        x, y = a[option], b[option]
        if isinstance(x, dict) and isinstance(y, dict):
            if set(x) != set(y) or any(abs(x[t] - y[t]) > 1e-6 for t in x):
                problems.append(f"{option}: {x} vs {y}")
        elif x != y:
            problems.append(f"{option}: {x} vs {y}")

    def close(x, y) -> bool:
        return (x is None and y is None) or (x is not None and y is not None
                                              and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6))

    for name, x, y in [("objective value", (one["model"] or {}).get("value"), (two["model"] or {}).get("value")),
                       ("expected cost", one["robust_plan"].get("expected_cost"),
                        two["robust_plan"].get("expected_cost")),
                       ("EVPI", one["evpi"], two["evpi"])]:
        if not close(x, y):
            problems.append(f"{name}: {x} vs {y}")
    if one["status"] != two["status"]:
        problems.append(f"status: {one['status']} vs {two['status']}")
    return problems


COLUMNS = [("S", 3), ("model vars x rows", 19), ("build s", 8), ("solve s", 8), ("w&s 1w", 7), ("w&s 2w", 7),
           ("eval 1w", 8), ("eval 2w", 8), ("evals", 6), ("load s", 7), ("e2e 1w", 7), ("e2e 2w", 7),
           ("CPU 1w", 7), ("CPU 2w", 7), ("RSS MB", 7), ("objective", 14), ("1w = 2w", 8)]


def row_cells(entry: dict) -> list[str]:
    one, two = entry["workers_1"], entry["workers_2"]
    model = one["model"] or {}
    shape = f"{model['variables']:,} x {model['constraints']:,}" if model else "-"

    def s(x) -> str:
        return "-" if x is None else f"{x:.2f}" if x < 100 else f"{x:.1f}"

    value = model.get("value")
    if value is not None and abs(value) < 0.005:
        value = 0.0  # not -0.00
    return [str(entry["scenarios"]), shape, s(model.get("seconds_build")), s(model.get("seconds_solve")),
            s(one["seconds"].get("wait_and_see")), s(two["seconds"].get("wait_and_see")),
            s(one["seconds"].get("evaluation")), s(two["seconds"].get("evaluation")), str(one["evaluation_solves"]),
            s(one["seconds_load"]), s(one["seconds_end_to_end"]), s(two["seconds_end_to_end"]),
            s(one["cpu_seconds_self"] + one["cpu_seconds_workers"]),
            s(two["cpu_seconds_self"] + two["cpu_seconds_workers"]),
            f"{one['peak_rss_mb']:.0f}", "-" if value is None else f"{value:,.2f}",
            "yes" if not entry["mismatch"] else "NO"]


def print_row(cells: list[str]) -> None:
    print("  ".join(c.rjust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)), flush=True)


def machine() -> dict:
    import platform
    from importlib.metadata import version

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            **{name: version(name) for name in ("highspy", "pandas", "numpy", "pulp")},
            "git": (commit + ("+dirty" if dirty else "")) or None}


def parse_counts(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give scenario counts >= 1, e.g. 1,5,20,50")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=parse_counts, default=parse_counts("1,5,20,50"),
                        help="comma-separated numbers of scenarios (default 1,5,20,50)")
    parser.add_argument("--size", type=float, default=1.0,
                        help="scale of the instance (default 1: about 3,000 flow variables per scenario)")
    parser.add_argument("--objective", default="expected", choices=["expected", "worst", "regret"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the generated workbooks in DIR")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        label = f"S={args.child.stem.split('_')[-1]}, {args.workers} worker(s)"
        args.result.write_text(json.dumps(measure(args.child, args.workers, args.objective, label), default=str))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load_start = os.getloadavg()
    if load_start[0] > 0.5:
        log(f"note: the 1-minute load average is {load_start[0]:.2f}: other processes compete for the "
            f"{os.cpu_count()} CPUs and inflate the times")
    sheets, shape = generate(args.size, args.seed)
    options = [o["option"] for o in sheets["Investments"]]
    scenarios, changes = draw_scenarios(max(args.scenarios), options, args.seed)
    log(f"instance (size {args.size}): {shape['sites']} sites, {shape['lanes']} lanes, {shape['options']} options, "
        f"{shape['periods']} periods; {len(changes)} changes over {len(scenarios)} scenarios")
    entries, failed = [], []
    started = time.perf_counter()
    print(f"Robust analysis (objective {args.objective}) by number of scenarios S; seconds unless stated")
    print_row([name for name, _ in COLUMNS])
    with tempfile.TemporaryDirectory(prefix="scenario-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for count in args.scenarios:
            workbook = workbook_for(folder, sheets, scenarios, changes, count)
            entry = {"scenarios": count, "workbook_bytes": workbook.stat().st_size,
                     "changes": len(draw_subset(scenarios, changes, count)[1])}
            for workers in (1, 2):
                log(f"S={count}: robust with {workers} worker(s)")
                entry[f"workers_{workers}"] = run_child(workbook, workers, args, folder)
            entry["mismatch"] = same_plan(entry["workers_1"], entry["workers_2"])
            entries.append(entry)
            print_row(row_cells(entry))
            if entry["mismatch"]:
                failed.append(count)
                message = "; ".join(entry["mismatch"])
                print(f"  MISMATCH at S={count} between 1 and 2 workers: {message}", flush=True)
                log(f"MISMATCH at S={count} between 1 and 2 workers: {message}")
            for workers in (1, 2):
                if entry[f"workers_{workers}"]["status"] != "optimal":
                    failed.append(count)
                    log(f"S={count}, {workers} worker(s): {entry[f'workers_{workers}']['status']} "
                        f"{entry[f'workers_{workers}']['message']}")
    total = time.perf_counter() - started
    load_end = os.getloadavg()
    first = entries[0]["workers_1"] if entries else {}
    print(f"Per scenario: {first.get('scenario_variables', 0):,} variables x {first.get('scenario_constraints', 0):,} "
          f"rows ({shape['options']} yes/no options, {shape['periods']} periods). model: the one MILP over all "
          "scenarios (build, solve: its two steps); w&s: wait-and-see solves; eval: plans x scenarios "
          "evaluation; evals: its number of solves; 1w / 2w: workers=1 / 2; load: reading the workbook; e2e: load "
          "+ robust; CPU: CPU seconds of robust (the process and its workers); RSS: peak of the 1-worker process.")
    print(f"Benchmark run {total:.0f}s; load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end "
          f"({os.cpu_count()} CPUs).")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": " ".join(sys.argv), "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_average_start": load_start, "load_average_end": load_end, "seconds_total": total,
            "size": args.size, "seed": args.seed, "objective": args.objective, "instance": shape,
            "results": entries}, indent=2, default=str))
        log(f"figures written to {args.json}")
    if failed:
        log(f"FAILED (not optimal, or 1 and 2 workers disagree) at S = {sorted(set(failed))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
