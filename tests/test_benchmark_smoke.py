"""The benchmarks still run (smoke runs: 10^3 flow variables, two scenarios of a tiny instance; the real runs are
not part of CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.heavy  # subprocesses of several seconds


def test_ratio_benchmark_runs_at_a_thousand_flows(tmp_path):
    out = tmp_path / "ratio.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ratio.py"), "--sizes", "1e3",
                           "--keep", str(tmp_path), "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [row] = json.loads(out.read_text())
    assert row["status"] == "optimal" and row["size"] == 1000
    assert abs(row["total_cost"] - row["highs_objective"]) <= 1e-6 * abs(row["highs_objective"])
    assert row["time_ratio"] > 0 and row["memory_ratio"] > 0
    assert row["solver_columns"] == 1000  # every production column substituted out: one column per flow
    peaks = [row["stages"][f"peak_mb_{stage}"] for stage in ("read_validate", "formulate", "solve", "report", "write")]
    assert peaks == sorted(peaks) and peaks[-1] <= row["end_to_end_rss_mb"] + 1  # a high-water mark per stage


def test_writers_benchmark_runs_at_a_thousand_rows(tmp_path):
    """The tool's writer and openpyxl's (both installed with the tool) write the plan-like table."""
    out = tmp_path / "writers.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "writers.py"), "--rows", "1000",
                           "--writers", "tool,openpyxl", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row["writer"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"tool", "openpyxl"}
    assert all(row["cells"] == 10_000 and row["cells_per_s"] > 0 and not row["lacks"] for row in rows.values())


def test_scenario_benchmark_runs_two_scenarios_with_one_and_two_workers(tmp_path):
    out = tmp_path / "scenarios.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scenarios.py"), "--scenarios", "2",
                           "--size", "0.2", "--seed", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[1].split()[:3] == ["S", "model", "vars"]
    assert lines[2].split()[0] == "2" and lines[2].split()[-1] == "yes"  # the row, 1 and 2 workers agree
    assert "MISMATCH" not in done.stdout + done.stderr
    [entry] = json.loads(out.read_text())["results"]
    one, two = entry["workers_1"], entry["workers_2"]
    assert one["status"] == two["status"] == "optimal" and entry["mismatch"] == []
    assert one["model"]["value"] == pytest.approx(two["model"]["value"], rel=1e-9)
    assert one["decisions"] == two["decisions"] and one["evaluation_solves"] == two["evaluation_solves"] > 0
    assert one["robust_plan"]["expected_cost"] == pytest.approx(one["model"]["value"], rel=1e-6)
