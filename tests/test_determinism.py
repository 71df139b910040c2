"""Determinism: the same workbook and options give byte-identical output workbooks.

Plans are written by separate processes with different hash seeds (so any dependence on set or
dict iteration order would show), and compared byte for byte. The one timestamp an .xlsx must
carry (docProps/core.xml created/modified, and each zip part's date) is a fixed 1980-01-01.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from test_robust import build_or_wait

from optimizer import load_workbook, solve, write_plan, write_workbook
from optimizer.writing.template import write_template

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inputs" / "ev_battery_north_america.xlsx"
pytestmark = pytest.mark.heavy  # two processes writing every kind of output

SCRIPT = """
import sys
from optimizer.cli import main

for args in sys.argv[1:]:
    sys.argv = ["sourcing", *args.split("|")]
    try:
        main()
    except SystemExit as exc:
        if exc.code != 0:
            raise SystemExit(f"{args}: exit {exc.code}")
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """Two processes, PYTHONHASHSEED 1 and 2, each writing the same plans, comparison, sweep, frontier and
    robust plan (of two scenarios whose robust plan hedges: test_robust.build_or_wait; the example's robust
    plan takes three times as long and writes the same sheets)."""
    folders = [tmp_path_factory.mktemp(f"seed{seed}") for seed in (1, 2)]
    inputs = tmp_path_factory.mktemp("input")
    template = write_template(inputs / "template.xlsx")
    scenarios = write_workbook(inputs / "scenarios.xlsx", build_or_wait(probabilities=(0.6, 0.4)))
    jobs = [f"solve|{EXAMPLE}|--policy|ira_30d_whatif|-o|ira.xlsx",
            f"solve|{template}|--policy|local_60|-o|local.xlsx",
            f"compare|{template}|-o|comparison.xlsx",
            f"sweep|{template}|--policy|local_60|--rule|2|--values|0.5,0.7|-o|sweep.xlsx",
            f"frontier|{template}|--policy|local_60|--rule|2|--points|3|-o|frontier.xlsx",
            f"robust|{scenarios}|-o|robust.xlsx"]
    processes = [subprocess.Popen([sys.executable, "-c", SCRIPT, *jobs], cwd=folder, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, PYTHONHASHSEED=str(seed)))
                 for seed, folder in zip((1, 2), folders, strict=True)]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    return folders


OUTPUTS = ["ira.xlsx", "local.xlsx", "comparison.xlsx", "sweep.xlsx", "frontier.xlsx", "robust.xlsx"]


@pytest.mark.parametrize("name", OUTPUTS)
def test_the_same_workbook_and_options_give_byte_identical_outputs(runs, name):
    first, second = (folder / name for folder in runs)
    assert first.read_bytes() == second.read_bytes()


def test_outputs_carry_no_time_but_the_fixed_one(runs):
    """Every zip part is dated 1980-01-01 00:00 and so are the document's created/modified
    properties; no cell holds a date or time."""
    for name in OUTPUTS:
        path = runs[0] / name
        with zipfile.ZipFile(path) as archive:
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        wb = openpyxl.load_workbook(path)
        assert wb.properties.created == wb.properties.modified == dt.datetime(1980, 1, 1)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                assert not any(isinstance(c.value, (dt.datetime, dt.date, dt.time)) for c in row), (name, ws.title)


def test_saving_twice_in_one_process_gives_the_same_bytes(tmp_path):
    network = load_workbook(write_template(tmp_path / "in.xlsx"))
    result = solve(network, policy="local_60")
    first = write_plan(result, tmp_path / "a.xlsx").read_bytes()
    second = write_plan(result, tmp_path / "b.xlsx").read_bytes()
    assert first == second


def test_streamed_sheets_leave_no_temporary_file_and_give_the_same_bytes(tmp_path, monkeypatch):
    """Write-only sheets stream through temporary files before they are zipped: the zip part gets
    the fixed date like every other part, and the temporary files are gone after each save."""
    import tempfile

    from optimizer.compare import compare
    from optimizer.writing.comparison import write_comparison

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    comparison = compare(load_workbook(write_template(tmp_path / "in.xlsx")))
    first = write_comparison(comparison, tmp_path / "a.xlsx").read_bytes()
    assert list(scratch.iterdir()) == []
    second = write_comparison(comparison, tmp_path / "b.xlsx").read_bytes()
    assert first == second
    assert list(scratch.iterdir()) == []
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
