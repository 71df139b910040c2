"""The benchmarks still run (a smoke run at 10^3 flow variables; the real runs are not part of CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
