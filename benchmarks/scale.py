"""Scale benchmark: time and memory of every stage of the sourcing optimizer on synthetic workbooks.

    python benchmarks/scale.py                          # sizes 1e3,1e4,1e5 flow variables
    python benchmarks/scale.py --sizes 1e3,5e4 --keep out/bench --json out/bench.json
    python benchmarks/scale.py --solver cbc --tracemalloc same

For every size a realistic, feasible workbook is generated (several periods, three items,
suppliers in nine countries of three country groups, demand plants, blank-item and item lanes,
Tariffs rows by country / group / tag / category, and a policy set with min_share, max_share
and exclude rules). It is then pushed through the same stages as ``sourcing solve``:

    read         optimizer.reading.load.read_rows          cells -> tables of valid rows
    validate     optimizer.reading.load.network_from_rows  rows -> validated Network (models.build_network
                                                           + numeric warnings, as load_workbook does)
    formulate    optimizer.formulation.build_formulation
    build        optimizer.backend.solve_formulation   .seconds_build (PuLP objects or highspy arrays)
    solve        optimizer.backend.solve_formulation   .seconds_solve (HiGHS, values, duals)
    read back    optimizer.results.build_result
    sensitivity  optimizer.sensitivity.sensitivity_table  (when the package has it, as optimizer.solve)
    write        optimizer.writing.plan.write_plan

Each size runs in a fresh child process so memory figures of one size do not leak into the
next. By default every size is run twice: once without tracemalloc (wall times and RSS) and
once with tracemalloc (Python heap peaks), because tracemalloc slows Python code down.
See benchmarks/README.md for what every column means.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------------
# Synthetic workbook
# --------------------------------------------------------------------------------------------

REGIONS = {  # group -> countries (ISO-like suffix used in site ids)
    "north_america": [("United States", "US"), ("Canada", "CA"), ("Mexico", "MX")],
    "asia": [("Korea", "KR"), ("Japan", "JP"), ("China", "CN")],
    "europe": [("Germany", "DE"), ("Poland", "PL"), ("Hungary", "HU")],
}
#: (item, unit, category, base unit cost, demand scale)
ITEMS = [
    ("cells", "GWh", "battery_component", 100.0, 1.0),
    ("modules", "unit", "battery_component", 140.0, 0.5),
    ("cathode", "kt", "material", 35.0, 2.0),
]
PERIODS = ["2026", "2027", "2028", "2029"]
#: Supply cost multiplier and blank-item lane cost range by region of the supplier.
REGION_COST = {"north_america": 1.15, "europe": 1.05, "asia": 0.85}
REGION_LANE_COST = {"north_america": (1.0, 4.0), "europe": (4.0, 8.0), "asia": (5.0, 10.0)}
POLICY = "ira_like"

#: Columns of every sheet, in order (contract v1).
COLUMNS = {
    "Sites": ["site", "country", "tags"],
    "Groups": ["group", "country"],
    "Items": ["item", "unit", "category"],
    "Supply": ["site", "item", "period", "capacity", "unit_cost"],
    "Demand": ["site", "item", "period", "quantity"],
    "Lanes": ["origin", "destination", "item", "unit_cost", "capacity"],
    "Tariffs": ["origin", "destination", "item", "period", "rate"],
    "Policies": ["policy", "rule", "items", "from", "to", "value", "basis", "scope", "period"],
    "Periods": ["period"],
}

TARIFFS = [
    {"origin": "China", "destination": None, "item": None, "period": None, "rate": 0.25},
    {"origin": "asia", "destination": "north_america", "item": "battery_component", "period": None,
     "rate": 0.034},
    {"origin": "europe", "destination": "United States", "item": None, "period": None, "rate": 0.02},
    {"origin": "Korea", "destination": "Mexico", "item": "cathode", "period": "2028", "rate": 0.05},
    {"origin": "feoc_owned", "destination": "United States", "item": "cells", "period": None, "rate": 0.10},
    {"origin": "Japan;Korea", "destination": "Canada", "item": None, "period": None, "rate": 0.01},
    {"origin": "europe;asia", "destination": "Mexico", "item": "material", "period": "2029", "rate": 0.03},
]

POLICIES = [
    # At least 45% of the purchase value of everything comes from North America, per period.
    {"policy": POLICY, "rule": "min_share", "items": None, "from": "north_america", "to": None,
     "value": 0.45, "basis": "value", "scope": "total", "period": None},
    # At most 35% of the cells and modules reaching each plant come from Asia, per period.
    {"policy": POLICY, "rule": "max_share", "items": "cells;modules", "from": "asia", "to": None,
     "value": 0.35, "basis": "quantity", "scope": "each_destination", "period": None},
    # No cells from FEOC-owned plants into US plants.
    {"policy": POLICY, "rule": "exclude", "items": "cells", "from": "feoc_owned", "to": "United States",
     "value": None, "basis": None, "scope": None, "period": None},
    # In the last period, 60% of cathode value from North America or Europe.
    {"policy": POLICY, "rule": "min_share", "items": "material", "from": "north_america;europe",
     "to": None, "value": 0.6, "basis": "value", "scope": "total", "period": PERIODS[-1]},
]


def network_shape(target: int) -> dict[str, int]:
    """Numbers of suppliers, plants and lanes giving about ``target`` flow variables.

    Every supplier supplies every item in every period and every plant demands every item in
    every period, so a blank-item lane carries items x periods flows and an item-only lane
    carries periods flows. About 4% of the flows come from item-only lanes.
    """
    per_pair = len(ITEMS) * len(PERIODS)
    pairs = max(9, round(target * 0.96 / per_pair))
    item_only = max(1, round((target - pairs * per_pair) / len(PERIODS)))
    suppliers = max(9, math.ceil(math.sqrt(2 * pairs)))
    degree = max(3, math.ceil(0.5 * suppliers))
    plants = max(3, math.ceil(pairs / degree))
    return {"suppliers": suppliers, "plants": plants, "pairs": pairs, "item_only_lanes": item_only,
            "expected_flows": pairs * per_pair + item_only * len(PERIODS)}


def _band(pool: list[int], start: int, count: int) -> list[int]:
    """``count`` consecutive members of ``pool`` from ``start`` (wrapping): balanced degrees."""
    count = min(count, len(pool))
    return [pool[(start + t) % len(pool)] for t in range(count)]


def generate(target: int, seed: int = 0) -> tuple[dict[str, list[dict]], dict]:
    """Sheets of a feasible workbook with about ``target`` flow variables, and its shape.

    Feasibility by construction: every plant has blank-item lanes from at least two North
    American suppliers; splitting each demand evenly over them is a plan that meets every rule
    (100% North American, no Asian or FEOC flow), and every supply and lane capacity on it is
    set to at least 1.3x (supply) or 1.5x (lanes) the load of that plan.
    """
    rng = np.random.default_rng(seed)
    shape = network_shape(target)
    n_sup, n_plant, pairs = shape["suppliers"], shape["plants"], shape["pairs"]
    n_items, n_periods = len(ITEMS), len(PERIODS)
    all_countries = [(g, c, code) for g, cs in REGIONS.items() for c, code in cs]

    # Sites: suppliers round-robin over the nine countries; plants in US / CA / MX.
    suppliers = []
    for i in range(n_sup):
        region, country, code = all_countries[i % len(all_countries)]
        tags = ["supplier"]
        if code == "CN" or (code == "HU" and (i // len(all_countries)) % 2 == 0):
            tags.append("feoc_owned")
        suppliers.append({"site": f"S{i:05d}_{code}", "country": country, "tags": ";".join(tags),
                          "region": region})
    plants = []
    for j in range(n_plant):
        country, code = REGIONS["north_america"][j % 3]
        plants.append({"site": f"P{j:05d}_{code}", "country": country, "tags": "pack_plant"})

    na = [i for i, s in enumerate(suppliers) if s["region"] == "north_america"]
    other = [i for i, s in enumerate(suppliers) if s["region"] != "north_america"]

    # Lanes of each plant: balanced bands of North American and other suppliers.
    degrees = [pairs // n_plant + (1 if j < pairs % n_plant else 0) for j in range(n_plant)]
    connected: list[list[int]] = []
    na_of: list[list[int]] = []
    start_na = start_other = 0
    for j in range(n_plant):
        k = degrees[j]
        k_na = min(len(na), max(2, round(k * len(na) / n_sup)))
        k_other = min(len(other), k - k_na)
        chosen_na = _band(na, start_na, k_na)
        chosen_other = _band(other, start_other, k_other)
        start_na, start_other = start_na + k_na, start_other + k_other
        connected.append(chosen_na + chosen_other)
        na_of.append(chosen_na)

    # Demand per (plant, item, period), growing over the periods.
    growth = 1.0 + 0.08 * np.arange(n_periods)
    demand = np.empty((n_plant, n_items, n_periods))
    for t, (_, _, _, _, scale) in enumerate(ITEMS):
        demand[:, t, :] = np.round(rng.uniform(50, 150, size=(n_plant, 1)) * scale * growth, 1)

    # Load of the all-North-American even-split plan, per supplier and per lane.
    load = np.zeros((n_sup, n_items, n_periods))
    pair_flow: dict[tuple[int, int], np.ndarray] = {}  # (supplier, plant) -> flow[item, period]
    for j in range(n_plant):
        share = demand[j] / len(na_of[j])
        for i in na_of[j]:
            load[i] += share
            pair_flow[(i, j)] = share

    # Supply: one blank-period row per (supplier, item); some suppliers get a cheaper, larger
    # row for the last period (it overrides the blank-period row there).
    supply_rows = []
    na_caps = [1.3 * load[i].max(axis=1) for i in na]
    mean_cap = np.mean(na_caps, axis=0)  # per item
    for i, s in enumerate(suppliers):
        for t, (item, _, _, base, _) in enumerate(ITEMS):
            cost = round(base * REGION_COST[s["region"]] * rng.uniform(0.9, 1.1), 2)
            if s["region"] == "north_america":
                capacity = math.ceil(1.3 * load[i, t].max()) + 1.0
            elif rng.random() < 0.1:
                capacity = None
            else:
                capacity = float(math.ceil(mean_cap[t] * rng.uniform(0.6, 1.4)))
            supply_rows.append({"site": s["site"], "item": item, "period": None,
                                "capacity": capacity, "unit_cost": cost})
            if i % 5 == 0:
                supply_rows.append({"site": s["site"], "item": item, "period": PERIODS[-1],
                                    "capacity": None if capacity is None else math.ceil(capacity * 1.2),
                                    "unit_cost": round(cost * 0.97, 2)})

    demand_rows = [{"site": plants[j]["site"], "item": ITEMS[t][0], "period": PERIODS[p],
                    "quantity": float(demand[j, t, p])}
                   for j in range(n_plant) for t in range(n_items) for p in range(n_periods)]

    # Lanes: a blank-item row per connected pair, item rows overriding some of them (cheaper
    # dedicated lanes), and item-only lanes from suppliers a plant is otherwise not linked to.
    lane_rows = []
    typical = np.mean([f.max(axis=1).sum() for f in pair_flow.values()]) * 1.5
    for j in range(n_plant):
        for i in connected[j]:
            region = suppliers[i]["region"]
            low, high = REGION_LANE_COST[region]
            flow = pair_flow.get((i, j))
            if flow is not None:  # on the feasible plan: capacity >= 1.5x its flow, or none
                capacity = None if rng.random() < 0.3 else float(math.ceil(1.5 * flow.max(axis=1).sum()) + 1)
            else:
                capacity = None if rng.random() < 0.5 else float(math.ceil(typical * rng.uniform(0.5, 1.5)))
            cost = round(rng.uniform(low, high), 2)
            lane_rows.append({"origin": suppliers[i]["site"], "destination": plants[j]["site"],
                              "item": None, "unit_cost": cost, "capacity": capacity})
            if rng.random() < 0.08:
                t = int(rng.integers(n_items))
                if flow is not None:
                    item_cap = None if rng.random() < 0.5 else float(math.ceil(1.5 * flow[t].max()) + 1)
                else:
                    item_cap = None if rng.random() < 0.5 else float(math.ceil(typical / n_items))
                lane_rows.append({"origin": suppliers[i]["site"], "destination": plants[j]["site"],
                                  "item": ITEMS[t][0], "unit_cost": round(cost * 0.8, 2),
                                  "capacity": item_cap})
    used: set[tuple[int, int, int]] = set()
    item_only = 0
    j = 0
    while item_only < shape["item_only_lanes"]:
        linked = set(connected[j % n_plant])
        free = [i for i in range(n_sup) if i not in linked]
        if free:
            i = free[int(rng.integers(len(free)))]
            t = int(rng.integers(n_items))
            if (i, j % n_plant, t) not in used:
                used.add((i, j % n_plant, t))
                low, high = REGION_LANE_COST[suppliers[i]["region"]]
                lane_rows.append({"origin": suppliers[i]["site"], "destination": plants[j % n_plant]["site"],
                                  "item": ITEMS[t][0], "unit_cost": round(rng.uniform(low, high) * 1.3, 2),
                                  "capacity": None if rng.random() < 0.5 else float(math.ceil(typical / 2))})
                item_only += 1
        j += 1
        if j > 1000 * n_plant + shape["item_only_lanes"]:
            raise RuntimeError("cannot place the item-only lanes")

    sheets = {
        "Sites": [{k: s[k] for k in COLUMNS["Sites"]} for s in suppliers] + plants,
        "Groups": [{"group": g, "country": c} for g, cs in REGIONS.items() for c, _ in cs],
        "Items": [{"item": item, "unit": unit, "category": cat} for item, unit, cat, _, _ in ITEMS],
        "Supply": supply_rows,
        "Demand": demand_rows,
        "Lanes": lane_rows,
        "Tariffs": TARIFFS,
        "Policies": POLICIES,
        "Periods": [{"period": p} for p in PERIODS],
    }
    shape.update(sites=len(sheets["Sites"]), lane_rows=len(lane_rows), supply_rows=len(supply_rows),
                 demand_rows=len(demand_rows), periods=n_periods, items=n_items)
    return sheets, shape


def write_sheets(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """Write the sheets with openpyxl in write-only (streaming) mode."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        columns = COLUMNS[name]
        ws.append(columns)
        for row in rows:
            ws.append([row.get(c) for c in columns])
    wb.save(path)
    return path


# --------------------------------------------------------------------------------------------
# Measuring (runs in a child process, one per size and pass)
# --------------------------------------------------------------------------------------------

STAGES = ["read", "validate", "formulate", "build_solve", "read_back", "sensitivity", "write"]
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MIB = 1024 * 1024


def _rss_now() -> int:
    """Current resident set size in bytes (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return 0


def _maxrss() -> int:
    """ru_maxrss in bytes (kilobytes on Linux, bytes on macOS)."""
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def _reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0), so that ru_maxrss read at the end of
    a stage is the peak during that stage. False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_stages(workbook: str, plan: str, solver: str, trace: bool, backend: str | None = None) -> dict:
    """Run every stage once on ``workbook`` and return the figures."""
    import tracemalloc

    from optimizer.backend import SolverOptions, solve_formulation
    from optimizer.formulation import build_formulation
    from optimizer.reading.load import network_from_rows, read_rows
    from optimizer.results import build_result
    from optimizer.writing.plan import write_plan

    # Later versions of the package add steps to solve; follow them when present.
    try:
        from optimizer.sensitivity import sensitivity_table
    except ImportError:
        sensitivity_table = None

    figures: dict = {"stages": {}, "rss_baseline_mib": _rss_now() / MIB}
    state: dict = {}
    if trace:
        tracemalloc.start()
    rss_resettable = True

    def stage(name: str, func):
        nonlocal rss_resettable
        gc.collect()
        if trace:
            tracemalloc.reset_peak()
        rss_start = _rss_now()
        rss_resettable = _reset_rss_peak() and rss_resettable
        started = time.perf_counter()
        value = func()
        seconds = time.perf_counter() - started
        entry = {"seconds": seconds, "rss_start_mib": rss_start / MIB,
                 "rss_end_mib": _rss_now() / MIB, "ru_maxrss_mib": _maxrss() / MIB}
        if trace:
            current, peak = tracemalloc.get_traced_memory()
            entry.update(py_peak_mib=peak / MIB, py_current_mib=current / MIB)
        figures["stages"][name] = entry
        return value

    rows, warnings, problems = stage("read", lambda: read_rows(workbook))
    if problems:
        raise SystemExit("generated workbook has problems:\n" + "\n".join(map(str, problems[:20])))

    network = stage("validate", partial(network_from_rows, rows, warnings, source=workbook))
    del rows  # load_workbook drops the rows once the network is built
    formulation = stage("formulate", lambda: build_formulation(network, POLICY))
    options = SolverOptions(solver=solver)
    if backend is not None:
        if not hasattr(options, "backend"):
            raise SystemExit("this version of the package has no SolverOptions.backend; drop --backend")
        options.backend = backend
    output = stage("build_solve", lambda: solve_formulation(formulation, options))
    highs = getattr(output, "highs", None)  # earlier versions kept the solved model
    state["highs_run"] = getattr(output, "seconds_solver_run", None) or (
        highs.getRunTime() if highs is not None else None)
    stats = {"variables": formulation.n_variables, "constraints": formulation.n_constraints,
             "seconds_build": output.seconds_build, "seconds_solve": output.seconds_solve}
    result = stage("read_back", lambda: build_result(formulation, output, stats))
    if hasattr(result, "diagnosis"):
        result.diagnosis = []  # optimizer.solve diagnoses infeasible plans only
    if sensitivity_table is not None:  # optimizer.solve adds the Sensitivity sheet's table

        def sensitivity():
            result.sensitivity = sensitivity_table(result)

        stage("sensitivity", sensitivity)
    if output.has_plan:  # like `sourcing solve`, which writes no plan when there is none
        stage("write", lambda: write_plan(result, plan, inputs=[workbook]))
    gc.collect()
    if trace:
        figures["py_held_at_end_mib"] = tracemalloc.get_traced_memory()[0] / MIB
        tracemalloc.stop()
    figures["rss_at_end_mib"] = _rss_now() / MIB

    compliance = result.compliance
    figures.update(
        status=output.status, solver=output.solver, backend=getattr(output, "backend", "pulp"),
        total_cost=result.total_cost,
        objective=output.objective, costs=result.costs,
        variables=formulation.n_variables, flows=len(formulation.flows),
        constraints=formulation.n_constraints,
        nonzeros=int(sum(b.nnz for b in formulation.blocks.values())),
        blocks={name: len(b) for name, b in formulation.blocks.items()},
        nonzero_flows=len(result.flows),
        binding_rule_rows=int(compliance["binding"].fillna(False).astype(bool).sum()) if len(compliance)
        else 0,
        rule_rows=len(compliance),
        seconds_build=output.seconds_build, seconds_solve=output.seconds_solve,
        seconds_highs_run=state["highs_run"], tracemalloc=trace,
        rss_peak_is_per_stage=rss_resettable, peak_rss_mib=_maxrss() / MIB,
        plan_bytes=os.path.getsize(plan) if output.has_plan else None, message=output.message,
    )
    return figures


def worker_main(args: argparse.Namespace) -> int:
    figures = run_stages(args.workbook, args.plan, args.solver, args.worker == "memory", args.backend)
    Path(args.result).write_text(json.dumps(figures))
    return 0


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if part:
            value = int(float(part))
            if value < 10:
                raise argparse.ArgumentTypeError(f"size {part!r} is too small (at least 10 flows)")
            sizes.append(value)
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return sizes


def label(size: int) -> str:
    exponent = math.log10(size)
    return f"1e{int(exponent)}" if exponent.is_integer() else str(size)


def run_child(kind: str, workbook: Path, plan: Path, args: argparse.Namespace, folder: Path) -> dict:
    result = folder / f"{plan.stem}.{kind}.json"
    command = [sys.executable, __file__, "--worker", kind, "--workbook", str(workbook),
               "--plan", str(plan), "--result", str(result), "--solver", args.solver]
    if args.backend:
        command += ["--backend", args.backend]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not result.exists():
        raise RuntimeError(f"{kind} pass on {workbook.name} failed (exit {done.returncode}):\n"
                           f"{done.stdout[-2000:]}{done.stderr[-4000:]}")
    figures = json.loads(result.read_text())
    result.unlink()
    return figures


def benchmark_size(size: int, args: argparse.Namespace, folder: Path, log) -> dict:
    name = label(size)
    started = time.perf_counter()
    sheets, shape = generate(size, seed=args.seed)
    workbook = write_sheets(folder / f"scale_{name}.xlsx", sheets)
    generated = time.perf_counter() - started
    log(f"[{name}] workbook {workbook.name}: {shape['suppliers']} suppliers, {shape['plants']} plants, "
        f"{shape['lane_rows']} lane rows, ~{shape['expected_flows']} flows (generated in {generated:.1f}s)")
    plan = folder / f"plan_{name}.xlsx"
    entry = {"size": size, "label": name, "shape": shape, "seconds_generate": generated,
             "workbook": str(workbook), "workbook_bytes": workbook.stat().st_size}
    if args.tracemalloc == "same":
        timing = run_child("memory", workbook, plan, args, folder)
        memory = timing
    else:
        timing = run_child("time", workbook, plan, args, folder)
        memory = None
        if args.tracemalloc == "separate":
            memory = run_child("memory", workbook, plan, args, folder)
    entry["timing_pass"] = timing
    entry["memory_pass"] = memory
    both_optimal = memory is not None and memory["status"] == timing["status"] == "optimal"
    if both_optimal and not math.isclose(memory["total_cost"], timing["total_cost"], rel_tol=1e-7):
        log(f"[{name}] warning: the two passes found different costs "
            f"({timing['total_cost']} and {memory['total_cost']})")
    log(f"[{name}] {timing['status']}: {timing['flows']} flows, {timing['variables']} variables, "
        f"{timing['constraints']} constraints, "
        f"cost {timing['total_cost']}, stages {sum(s['seconds'] for s in timing['stages'].values()):.1f}s")
    if not args.keep:
        workbook.unlink(missing_ok=True)
        plan.unlink(missing_ok=True)
    return entry


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def print_tables(entries: list[dict], args: argparse.Namespace) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    width = max(200, Console().width) if not sys.stdout.isatty() else None
    console = Console(width=width, highlight=False)
    style = box.MARKDOWN if args.markdown else box.SIMPLE_HEAD
    trace_note = {"separate": "timings from a pass without tracemalloc",
                  "same": "timings measured WITH tracemalloc on (slower than normal)",
                  "off": "tracemalloc off"}[args.tracemalloc]

    times = Table(title=f"Wall time per stage, seconds ({trace_note}; solver {args.solver})",
                  box=style, title_justify="left")
    for column in ["size", "flows", "variables", "constraints", "nonzeros", "read", "validate", "formulate",
                   "build", "solve", "(HiGHS run)", "read back", "sensitivity", "write", "total",
                   "optimal cost", "status", "backend"]:
        times.add_column(column, justify="left" if column in ("size", "status", "backend") else "right")
    for e in entries:
        t = e["timing_pass"]
        s = {k: t["stages"].get(k, {}).get("seconds") for k in STAGES}
        times.add_row(
            e["label"], _fmt(t["flows"]), _fmt(t["variables"]), _fmt(t["constraints"]), _fmt(t["nonzeros"]),
            _fmt(s["read"]), _fmt(s["validate"]), _fmt(s["formulate"]),
            _fmt(t["seconds_build"]), _fmt(t["seconds_solve"]),
            _fmt(t["seconds_highs_run"]), _fmt(s["read_back"]), _fmt(s["sensitivity"]), _fmt(s["write"]),
            _fmt(sum(v for v in s.values() if v is not None)), _fmt(t["total_cost"]), t["status"],
            t["backend"])
    console.print(times)
    console.print("build and solve are the seconds_build / seconds_solve fields of solve_formulation "
                  "(one stage, build_solve); (HiGHS run) is the part of solve spent inside Highs.run().")
    console.print()

    stage_titles = ["read", "validate", "formulate", "build+solve", "read back", "sensitivity", "write"]
    if any(e["memory_pass"] for e in entries):
        py = Table(title="Python heap peak during each stage, MiB (tracemalloc: Python/numpy "
                         "allocations only, not HiGHS or other C++ memory)", box=style, title_justify="left")
        for column in ["size"] + stage_titles + ["held at end"]:
            py.add_column(column, justify="left" if column == "size" else "right")
        for e in entries:
            m = e["memory_pass"]
            if m is None:
                continue
            st = m["stages"]
            py.add_row(e["label"], *(_fmt(st.get(k, {}).get("py_peak_mib"), 1) for k in STAGES),
                       _fmt(m["py_held_at_end_mib"], 1))
        console.print(py)
        console.print()

    per_stage = all(e["timing_pass"]["rss_peak_is_per_stage"] for e in entries)
    kind = ("high-water mark reset before each stage, so this is the peak during the stage, "
            "including what earlier stages still hold" if per_stage
            else "cumulative: the process peak so far")
    rss = Table(title=f"Process peak RSS at the end of each stage, MiB "
                      f"(resource.getrusage ru_maxrss; {kind})",
                box=style, title_justify="left")
    for column in ["size", "after imports"] + stage_titles + ["process peak"]:
        rss.add_column(column, justify="left" if column == "size" else "right")
    for e in entries:
        t = e["timing_pass"]
        st = t["stages"]
        rss.add_row(e["label"], _fmt(t["rss_baseline_mib"], 0),
                    *(_fmt(st.get(k, {}).get("ru_maxrss_mib"), 0) for k in STAGES),
                    _fmt(max(v["ru_maxrss_mib"] for v in st.values()), 0))
    console.print(rss)


def machine_info() -> dict:
    from importlib.metadata import version

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            **{name: version(name) for name in ("pulp", "highspy", "pandas", "numpy", "openpyxl")},
            "git": _git_state()}


def _git_state() -> str | None:
    """Commit of the checkout being measured, '+dirty' when it has uncommitted changes (read-only)."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        status = ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain", "-uno"]
        dirty = subprocess.run(status, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e3,1e4,1e5"),
                        help="comma-separated target numbers of flow variables (default 1e3,1e4,1e5)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the generated workbooks and plans in DIR (default: a temporary folder)")
    parser.add_argument("--solver", default="highs", choices=["highs", "cbc"], help="default highs")
    parser.add_argument("--backend", choices=["auto", "pulp", "direct"],
                        help="SolverOptions.backend (default: the package's default, auto)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--tracemalloc", choices=["separate", "same", "off"], default="separate",
                        help="separate (default): a second pass per size measures Python heap peaks, "
                             "so timings are not slowed by tracemalloc; same: one pass with tracemalloc on; "
                             "off: no Python heap figures")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generator (default 0)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--worker", choices=["time", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--workbook", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    entries: list[dict] = []
    failed: list[str] = []
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load_before > 0.5:
        log(f"note: the 1-minute load average is {load_before:.2f} before starting; other processes "
            f"compete for the {os.cpu_count()} CPUs and will inflate the timings")
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            try:
                entry = benchmark_size(size, args, folder, log)
            except RuntimeError as exc:
                log(str(exc))
                failed.append(f"{label(size)}: run failed")
                continue
            entries.append(entry)
            for kind in ("timing_pass", "memory_pass"):
                figures = entry[kind]
                if figures is not None and figures["status"] != "optimal":
                    failed.append(f"{entry['label']} ({kind}): {figures['status']} {figures['message']}")
    if entries:
        print_tables(entries, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), "machine": machine_info(),
                                         "load_average_at_start": load_before,
                                         "tracemalloc": args.tracemalloc, "solver": args.solver,
                                         "backend": args.backend,
                                         "results": entries}, indent=2))
        log(f"figures written to {args.json}")
    if failed:
        log("NOT OPTIMAL: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
