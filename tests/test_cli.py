"""The ``sourcing`` command: exit codes, messages on stderr, --json on stdout, safe outputs.

Most calls run in-process (``optimizer.cli.main`` with a patched ``sys.argv``); two end-to-end
checks run ``python -m optimizer.cli`` in a subprocess.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from cli_run import flat, run, run_json

from optimizer import load_workbook, solve, write_workbook
from optimizer.writing.template import EXAMPLE, write_template

# Hand-computed from optimizer/writing/template.py. Cells_KR lands at 70 * 1.15 + 2 = 82.5 and is unlimited;
# Cells_US at 90 + 1 = 91, at most 20 per period. Demand 25 (2026) + 30 (2027) = 55.
BASELINE_TOTAL = 55 * 82.5                                        # 4537.5, all from Korea
BASELINE_COSTS = {"supply": 55 * 70, "transport": 55 * 2, "tariffs": 55 * 70 * 0.15}
# local_60: at least 60 % (quantity) from north_america: 15 of 25 and 18 of 30 from Cells_US.
LOCAL60_TOTAL = 33 * 91 + 22 * 82.5                               # 4818.0
LOCAL60_COSTS = {"supply": 33 * 90 + 22 * 70, "transport": 33 * 1 + 22 * 2, "tariffs": 22 * 70 * 0.15}


def example(**extra_sheets):
    sheets = copy.deepcopy(EXAMPLE)
    sheets.update(extra_sheets)
    return sheets


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in a fresh folder, so that paths (and messages) stay short."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def template_book(workdir):
    return write_template(workdir / "in.xlsx")


@pytest.fixture
def infeasible_book(workdir):
    """The template plus 'all_local': 100 % of cells from north_america, but Cells_US has only 20 of 25."""
    rule = dict(EXAMPLE["Policies"][0], policy="all_local", value=1.0)
    return write_workbook(workdir / "strict.xlsx", example(Policies=EXAMPLE["Policies"] + [rule]))


@pytest.fixture
def invalid_book(workdir):
    """The template with 'Woodruf' (not a site) on Lanes row 14 and Plant_SC demand duplicated on row 4."""
    lanes = EXAMPLE["Lanes"] + [{"origin": None, "destination": None}] * 10 + [
        {"origin": "Cells_KR", "destination": "Woodruf", "item": None, "unit_cost": 2, "capacity": None}]
    demand = EXAMPLE["Demand"] + [dict(EXAMPLE["Demand"][0], quantity=5)]
    return write_workbook(workdir / "bad.xlsx", example(Lanes=lanes, Demand=demand))


def assert_costs(payload: dict, total: float, parts: dict) -> None:
    """total_cost and the contract's cost parts; any further part (e.g. credits) must be zero here."""
    costs = payload["costs"]
    assert payload["total_cost"] == pytest.approx(total)
    assert {k: costs[k] for k in parts} == pytest.approx(parts)
    assert all(v == 0 for k, v in costs.items() if k not in parts)
    assert sum(costs.values()) == pytest.approx(total)


def snapshot(path: Path):
    return path.read_bytes(), path.stat().st_mtime_ns


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# --------------------------------------------------------------------------- template


def test_template_writes_a_workbook_that_validates_and_solves(workdir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "template", "T.xlsx")
    assert code == 0
    assert "T.xlsx" in out
    network = load_workbook(workdir / "T.xlsx")
    assert list(network.policies) == ["baseline", "local_60"]
    assert network.periods == ("2026", "2027")
    assert network.warnings == ()  # the Notes sheet is ignored silently
    base = solve(network, "baseline")
    assert base.status == "optimal"
    assert base.total_cost == pytest.approx(BASELINE_TOTAL)
    assert base.total_cost == pytest.approx(4537.5)
    local = solve(network, "local_60")
    assert local.total_cost == pytest.approx(LOCAL60_TOTAL)
    assert local.total_cost == pytest.approx(4818.0)


def test_template_refuses_to_overwrite(workdir, monkeypatch, capsys):
    existing = workdir / "T.xlsx"
    existing.write_bytes(b"precious")
    before = snapshot(existing)
    code, out, err = run(monkeypatch, capsys, "template", "T.xlsx")
    assert code == 2
    assert "already exists" in flat(err)
    assert snapshot(existing) == before
    assert files(workdir) == {"T.xlsx"}


def test_template_into_a_missing_folder(workdir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "template", "nowhere/T.xlsx")
    assert code == 2
    assert "does not exist" in flat(err)
    assert files(workdir) == set()


# --------------------------------------------------------------------------- validate


def test_validate_valid(template_book, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "validate", "in.xlsx")
    assert code == 0
    assert out.startswith("valid")
    assert "3 sites" in out and "local_60" in out
    assert err == ""


def test_validate_valid_json(template_book, monkeypatch, capsys):
    code, payload, err = run_json(monkeypatch, capsys, "validate", "in.xlsx")
    assert code == 0
    assert payload["status"] == "valid"
    assert payload["warnings"] == []
    assert payload["sites"] == 3 and payload["periods"] == 2 and payload["lanes"] == 2
    assert payload["policies"] == ["baseline", "local_60"]


def test_validate_prints_warnings_but_succeeds(workdir, monkeypatch, capsys):
    write_workbook(workdir / "w.xlsx", example(Scratch=[{"a": 1}]))
    code, out, err = run(monkeypatch, capsys, "validate", "w.xlsx")
    assert code == 0
    assert "warning: sheet 'Scratch' is not part of the workbook format, so its rows are not read\n" in err
    code, payload, _ = run_json(monkeypatch, capsys, "validate", "w.xlsx")
    assert code == 0 and payload["status"] == "valid"
    assert payload["warnings"] == ["sheet 'Scratch' is not part of the workbook format, so its rows are not read"]


def test_a_sheet_named_close_to_a_known_one_is_named_in_its_warning(workdir, monkeypatch, capsys):
    write_workbook(workdir / "w.xlsx", example(Inventories=[{"note": 1}]))
    code, out, err = run(monkeypatch, capsys, "validate", "w.xlsx")
    assert code == 0
    assert ("warning: sheet 'Inventories' is not part of the workbook format, so its rows are not read "
            "(did you mean 'Inventory'?)\n") in err


def test_validate_invalid_lists_every_problem_on_stderr(invalid_book, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "validate", "bad.xlsx")
    assert code == 2
    assert out == ""
    assert err.startswith("The workbook has 2 problem(s):\n")
    text = flat(err)
    # Demand (sheet order) before Lanes; line layout: see test_problem_lines_are_not_wrapped
    demand = text.index("row 4, column period: duplicate of Demand row 2 (same site, item and period 2026)")
    lanes = text.index("row 14, column destination: 'Woodruf' is not a site in Sites")
    assert text.index("Demand", len("The workbook has 2 problem(s):")) < demand < lanes
    assert text.count("row ") == 3  # row 4, row 2 (in the message), row 14: nothing else is reported


def test_validate_problem_line_format(invalid_book, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "validate", "bad.xlsx")
    assert code == 2
    lines = [line.strip() for line in err.splitlines()]
    assert "Lanes row 14, column destination: 'Woodruf' is not a site in Sites" in lines


def test_validate_invalid_json(invalid_book, monkeypatch, capsys):
    code, payload, err = run_json(monkeypatch, capsys, "validate", "bad.xlsx")
    assert code == 2
    assert payload["status"] == "error"
    assert [{k: p[k] for k in ("sheet", "row", "column", "message")} for p in payload["problems"]] == [
        {"sheet": "Demand", "row": 4, "column": "period",
         "message": "duplicate of Demand row 2 (same site, item and period 2026)"},
        {"sheet": "Lanes", "row": 14, "column": "destination",
         "message": "'Woodruf' is not a site in Sites"},
    ]
    assert payload["problems"][1]["value"] == "Woodruf"
    assert err == ""


@pytest.mark.parametrize("command", ["validate", "solve"])
@pytest.mark.parametrize(("kind", "phrase"), [
    ("missing", "file not found"),
    ("folder", "is a folder, not an .xlsx workbook"),
    ("text", "cannot be read as an Excel .xlsx workbook"),
])
def test_unreadable_input_is_a_one_problem_error(workdir, monkeypatch, capsys, command, kind, phrase):
    if kind == "folder":
        (workdir / "in.xlsx").mkdir()
    elif kind == "text":
        (workdir / "in.xlsx").write_text("site,country\nPlant_SC,United States\n")
    args = [command, "in.xlsx"] + (["-o", "out.xlsx"] if command == "solve" else [])
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 2
    assert "The workbook has 1 problem(s):" in err
    assert phrase in flat(err)  # (the line may be wrapped, see test_problem_lines_are_not_wrapped)
    assert "unexpected failure" not in err
    assert not (workdir / "out.xlsx").exists()
    code, payload, err = run_json(monkeypatch, capsys, *args)
    assert code == 2
    assert payload["status"] == "error"
    assert len(payload["problems"]) == 1
    assert phrase in payload["problems"][0]["message"]


# --------------------------------------------------------------------------- solve


def test_solve_writes_the_plan(template_book, workdir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 0
    assert "optimal" in out
    assert "4,537.50" in out
    assert "Plan written to plan.xlsx" in out
    assert openpyxl.load_workbook(workdir / "plan.xlsx").sheetnames == [
        "Overview", "Summary", "Costs by period", "Supply mix", "Investments", "Inventory", "Flows", "Flows detail",
        "Utilization", "Compliance", "Sensitivity"]


def test_solve_json_baseline(template_book, workdir, monkeypatch, capsys):
    code, payload, err = run_json(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 0
    assert payload["status"] == "optimal"
    assert payload["policy"] == "baseline"
    assert payload["solver"] == "highs"
    assert_costs(payload, BASELINE_TOTAL, BASELINE_COSTS)
    assert payload["output"] == "plan.xlsx"
    assert (workdir / "plan.xlsx").is_file()
    assert err == ""


def test_solve_json_policy_with_cbc_and_time_limit(template_book, workdir, monkeypatch, capsys):
    code, payload, err = run_json(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx",
                                  "--policy", "LOCAL_60", "--solver", "cbc", "--time-limit", "30")
    assert code == 0
    assert (payload["status"], payload["policy"], payload["solver"]) == ("optimal", "local_60", "cbc")
    assert_costs(payload, LOCAL60_TOTAL, LOCAL60_COSTS)


def test_solve_default_output_name(template_book, workdir, monkeypatch, capsys):
    # <input>-<policy>-plan.xlsx in the current folder, not the input's: the plan of that policy set.
    (workdir / "plans").mkdir()
    monkeypatch.chdir(workdir / "plans")
    code, out, err = run(monkeypatch, capsys, "solve", "../in.xlsx", "--policy", "local_60")
    assert code == 0
    assert "Plan written to in-local_60-plan.xlsx" in flat(out)
    assert (files(workdir), files(workdir / "plans")) == ({"in.xlsx", "plans"}, {"in-local_60-plan.xlsx"})
    _, summary, _ = output_workbook(workdir / "plans" / "in-local_60-plan.xlsx", sheet=None)
    assert (summary["Policy set"], summary["Status"]) == ("local_60", "optimal")
    assert summary["Total cost (discounted)"] == pytest.approx(LOCAL60_TOTAL)


def output_workbook(path: Path, sheet: str | None = "Diagnosis") -> tuple[list[str], dict, list[dict]]:
    """(sheet names, the Summary as a dict, the rows of ``sheet`` as dicts) of an output workbook."""
    wb = openpyxl.load_workbook(path)
    summary = {label: value for label, value in wb["Summary"].iter_rows(min_row=2, max_col=2, values_only=True)}
    values = list(wb[sheet].iter_rows(values_only=True)) if sheet else [()]
    return wb.sheetnames, summary, [dict(zip(values[0], row, strict=True)) for row in values[1:]]


# The brief said "no output file written" for an infeasible policy; since commit 69ff786 (README,
# "When there is no plan") the output holds only an Overview, a Summary stating the status and a Diagnosis sheet.
def test_solve_infeasible_policy(infeasible_book, workdir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "solve", "strict.xlsx", "-o", "plan.xlsx", "--policy", "all_local")
    assert code == 1
    assert "infeasible" in out
    assert "No feasible plan" in out
    # Cells_US, the only North American supplier, has 20: 20 of 25 in 2026, 20 of 30 in 2027.
    assert "100.0% required, at most 80.0% achievable in 2026" in flat(out)
    sheets, summary, diagnosis = output_workbook(workdir / "plan.xlsx")
    assert sheets == ["Overview", "Summary", "Diagnosis"]  # no plan tables without a plan
    assert summary["Status"] == "infeasible" and summary["Total cost"] is None
    assert {(d["sheet"], d["row"]) for d in diagnosis} == {("Policies", 3)}
    (workdir / "plan.xlsx").unlink()
    code, payload, err = run_json(monkeypatch, capsys, "solve", "strict.xlsx", "-o", "plan.xlsx",
                                  "--policy", "all_local")
    assert code == 1
    assert payload["status"] == "infeasible"
    assert payload["policy"] == "all_local"
    assert payload["total_cost"] is None
    assert payload["message"] == ("Policies row 3 (all_local, min_share cells from north_america into Plant_SC): "
                                  "100.0% required, at most 80.0% achievable in 2026")
    assert set(payload["costs"]) >= {"supply", "transport", "tariffs"}
    assert all(v is None for v in payload["costs"].values())
    assert payload["output"] == "plan.xlsx"
    assert sorted((d["sheet"], d["row"], d["numbers"]["period"], round(d["numbers"]["achievable"], 4))
                  for d in payload["diagnosis"]) == [("Policies", 3, "2026", 0.8)]  # 2027: the US expansion helps
    assert files(workdir) == {"strict.xlsx", "plan.xlsx"}
    assert output_workbook(workdir / "plan.xlsx")[0] == ["Overview", "Summary", "Diagnosis"]


def test_solve_unreachable_demand_names_the_demand_row(workdir, monkeypatch, capsys):
    sites = EXAMPLE["Sites"] + [{"site": "Plant_MX", "country": "Mexico"}]
    demand = EXAMPLE["Demand"] + [{"site": "Plant_MX", "item": "cells", "period": 2027, "quantity": 4}]
    write_workbook(workdir / "island.xlsx", example(Sites=sites, Demand=demand))
    code, payload, err = run_json(monkeypatch, capsys, "solve", "island.xlsx", "-o", "plan.xlsx")
    assert code == 1
    assert payload["status"] == "infeasible"
    assert "Demand row 4 (Plant_MX, cells, 2027)" in payload["message"]
    assert [(d["sheet"], d["row"]) for d in payload["diagnosis"]] == [("Demand", 4)]
    assert output_workbook(workdir / "plan.xlsx")[0] == ["Overview", "Summary", "Diagnosis"]


@pytest.mark.parametrize(("args", "phrase"), [
    (["--policy", "local_80"], "no policy set named 'local_80'; did you mean 'local_60'? The workbook has: baseline, "
                               "local_60"),
    (["--policy", "all_local"], "no policy set named 'all_local'; the workbook has: baseline, local_60"),
    (["--solver", "gurobi"], "unknown solver 'gurobi'; choose one of: highs, cbc"),
    (["--time-limit", "0"], "--time-limit must be a positive number of seconds"),
])
def test_solve_usage_errors(template_book, workdir, monkeypatch, capsys, args, phrase):
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", *args)
    assert code == 2
    assert phrase in flat(err)
    assert not (workdir / "plan.xlsx").exists()
    code, payload, err = run_json(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", *args)
    assert code == 2
    assert payload == {"status": "error", "message": phrase}
    assert files(workdir) == {"in.xlsx"}


def test_solve_invalid_workbook(invalid_book, workdir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "solve", "bad.xlsx", "-o", "plan.xlsx")
    assert code == 2
    assert "The workbook has 2 problem(s):" in err
    assert "'Woodruf' is not a site in Sites" in flat(err)
    code, payload, err = run_json(monkeypatch, capsys, "solve", "bad.xlsx", "-o", "plan.xlsx")
    assert code == 2
    assert payload["status"] == "error"
    assert [(p["sheet"], p["row"], p["column"]) for p in payload["problems"]] == [
        ("Demand", 4, "period"), ("Lanes", 14, "destination")]
    assert files(workdir) == {"bad.xlsx"}


@pytest.mark.parametrize("spelling", ["same", "dotdot", "symlink"])
def test_solve_refuses_to_overwrite_the_input(workdir, monkeypatch, capsys, spelling):
    folder = workdir / "data"
    folder.mkdir()
    source = write_template(folder / "in.xlsx")
    if spelling == "same":
        output = "data/in.xlsx"
    elif spelling == "dotdot":
        output = "data/../data/in.xlsx"
    else:
        (workdir / "link.xlsx").symlink_to(source)
        output = "link.xlsx"
    before = snapshot(source)
    code, out, err = run(monkeypatch, capsys, "solve", "data/in.xlsx", "-o", output)
    assert code == 2
    assert "is the input workbook" in flat(err)
    assert snapshot(source) == before
    assert files(folder) == {"in.xlsx"}
    code, payload, err = run_json(monkeypatch, capsys, "solve", "data/in.xlsx", "-o", output)
    assert code == 2
    assert payload["status"] == "error" and "is the input workbook" in payload["message"]
    assert snapshot(source) == before


def test_solve_output_must_be_xlsx(template_book, workdir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.csv")
    assert code == 2
    assert "must be an .xlsx file" in flat(err)
    assert files(workdir) == {"in.xlsx"}


def test_solve_write_lp(template_book, workdir, monkeypatch, capsys):
    code, payload, err = run_json(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx",
                                  "--policy", "local_60", "--write-lp", "model.lp")
    assert code == 0
    text = (workdir / "model.lp").read_text()
    assert "Minimize" in text or "MINIMIZE" in text
    body = re.split(r"(?im)^subject to\s*$", text)[1]
    body = re.split(r"(?im)^(bounds|binaries|generals|end)\s*$", body)[0]
    names = re.findall(r"(?m)^\s*([\w.]+):", body)
    # every constraint of the model is in the file: at least 2 demand rows (25, 30), the Cells_US
    # capacity (20) in each period and the min_share rule in each period
    assert len(names) == payload["stats"]["constraints"] >= 6
    assert re.search(r"(?m)= 25(\.0)?$", body) and re.search(r"(?m)= 30(\.0)?$", body)
    assert len(re.findall(r"(?m)<= 20(\.0)?$", body)) == 2
    assert len(re.findall(r"(?m)>= 0(\.0)?$", body)) == 2  # sum (1[from] - 0.6) x >= 0, per period
    assert (workdir / "plan.xlsx").is_file()


def test_solve_write_mps(template_book, workdir, monkeypatch, capsys):
    code, payload, err = run_json(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx",
                                  "--policy", "local_60", "--write-mps", "model.txt")
    assert code == 0
    text = (workdir / "model.txt").read_text()
    sections = re.findall(r"(?m)^(NAME|ROWS|COLUMNS|RHS|BOUNDS|ENDATA)\b", text)
    assert sections[:4] == ["NAME", "ROWS", "COLUMNS", "RHS"] and sections[-1] == "ENDATA"
    rows = re.split(r"(?m)^COLUMNS", re.split(r"(?m)^ROWS", text)[1])[0].split("\n")
    constraints = [r for r in rows if r.strip() and r.split()[0] in ("E", "L", "G")]
    assert len(constraints) == payload["stats"]["constraints"]


@pytest.mark.parametrize("option", ["--write-lp", "--write-mps"])
def test_a_model_file_in_a_missing_folder_is_refused_before_solving(template_book, workdir, monkeypatch, capsys,
                                                                    option):
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", option, "nowhere/model.lp")
    assert code == 2
    assert f"{option} nowhere/model.lp: folder" in flat(err) and "does not exist" in flat(err)
    assert files(workdir) == {"in.xlsx"}


@pytest.mark.parametrize("option", ["--write-lp", "--write-mps"])
def test_solve_write_lp_refuses_to_overwrite_the_input(template_book, workdir, monkeypatch, capsys, option):
    before = snapshot(template_book)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", option, "in.xlsx")
    assert snapshot(template_book) == before
    assert code == 2
    assert f"{option} in.xlsx is the input workbook" in flat(err)


# --------------------------------------------------------------------------- end to end


def _cli(*args, cwd, columns="80"):
    env = dict(os.environ, COLUMNS=columns)
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "optimizer.cli", *map(str, args)], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_end_to_end_solve_json(tmp_path):
    write_template(tmp_path / "T.xlsx")
    solved = _cli("solve", "T.xlsx", "-o", "plan.xlsx", "--policy", "local_60", "--json", cwd=tmp_path)
    assert solved.returncode == 0, solved.stderr
    payload = json.loads(solved.stdout)
    assert payload["status"] == "optimal"
    assert payload["total_cost"] == pytest.approx(4818.0)
    assert payload["output"] == "plan.xlsx"
    assert (tmp_path / "plan.xlsx").is_file()
    assert "Traceback" not in solved.stderr


def test_problem_lines_are_not_wrapped(tmp_path):
    site = "Woodruff_Distribution_Center_South_Carolina_Plant_2"
    lanes = EXAMPLE["Lanes"] + [{"origin": "Cells_KR", "destination": site}]
    write_workbook(tmp_path / "bad.xlsx", example(Lanes=lanes))
    done = _cli("validate", "bad.xlsx", cwd=tmp_path, columns="80")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[1].endswith(f"row 4, column destination: '{site}' is not a site in Sites")


# --------------------------------------------------------------------------- the terminal at 80 columns (issue 22)


def names_book(workdir) -> Path:
    """The template with two policy sets and two scenarios whose names share a stem (they were both shown as
    ``tariff_car…``), a long option name, and a tariff in force under each."""
    tariffs = [dict(EXAMPLE["Policies"][0], policy="tariff_carbon", rule="tariff", value=0.25, to=None,
                    basis=None, scope=None, **{"from": "Korea"}),
               dict(EXAMPLE["Policies"][0], policy="tariff_carbon_x2", rule="tariff", value=0.5, to=None,
                    basis=None, scope=None, **{"from": "Korea"})]
    option = dict(EXAMPLE["Investments"][0], option="Cells_US_expansion_phase_two_restart")
    return write_workbook(workdir / "names.xlsx", example(
        Policies=EXAMPLE["Policies"] + tariffs, Investments=[option],
        Scenarios=[{"scenario": "tariff_carbon", "probability": 0.5, "policy": "tariff_carbon"},
                   {"scenario": "tariff_carbon_x2", "probability": 0.5, "policy": "tariff_carbon_x2"}]))


def test_every_terminal_table_fits_80_columns_and_never_cuts_a_name(workdir, monkeypatch, capsys):
    """Every table of every command at 80 columns: no line wider, nothing cut short (no ellipsis), each name of a
    policy set, scenario, plan or option whole on its line, every number whole."""
    monkeypatch.setenv("COLUMNS", "80")
    book = names_book(workdir)
    runs = [("solve", book, "--policy", "tariff_carbon", "--option-values", "-o", "p.xlsx"),
            ("compare", book, "-o", "c.xlsx"),
            ("sweep", book, "--policy", "local_60", "--rule", "2", "--values", "0.5,0.6", "-o", "s.xlsx"),
            ("frontier", book, "--policy", "local_60", "--rule", "2", "--points", "3", "-o", "f.xlsx"),
            ("robust", book, "-o", "r.xlsx")]
    names = ["tariff_carbon", "tariff_carbon_x2", "Cells_US_expansion_phase_two_restart"[:24], "local_60"]
    for args in runs:
        code, out, _ = run(monkeypatch, capsys, *args)
        assert code == 0, args
        table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
        assert table and max(len(line) for line in table) <= 80, (args[0], max(map(len, table)))
        assert "…" not in out, args[0]
        # the names stand in the first column (policy set, scenario, plan, option): each whole on its line
        cells = {line.strip("┃│").split("│")[0].strip() for line in table if line[:1] == "│"}
        assert all(name in cells for name in names if any(name in cell for cell in cells)), (args[0], cells)
    assert {"tariff_carbon", "tariff_carbon_x2"} <= cells  # the robust table: both scenarios, told apart


def test_solve_counts_as_rule_checks_only_rows_that_check_a_bound(workdir, monkeypatch, capsys):
    """A tariff prices flows and checks nothing: its two rows (one a period) are in Compliance, not counted as
    rule checks; local_60's two rows are checks, both binding."""
    book = names_book(workdir)
    _, out, _ = run(monkeypatch, capsys, "solve", book, "--policy", "tariff_carbon", "-o", "t.xlsx")
    assert ("0 rule checks (rule x period x destination), 0 binding; 2 rows of rules that price (tariffs, "
            "credits, carbon) (see the Compliance sheet)") in flat(out)
    _, out, _ = run(monkeypatch, capsys, "solve", book, "--policy", "local_60", "-o", "l.xlsx")
    assert "2 rule checks (rule x period x destination), 2 binding (see the Compliance sheet)" in flat(out)
    rules = [r["rule"] for r in output_workbook(workdir / "t.xlsx", "Compliance")[2]]
    assert rules == ["tariff", "tariff"]


def test_solve_shows_each_cost_part_discounted_and_nominal(template_book, workdir, monkeypatch, capsys):
    """The template has no discounting: both columns agree, and say which they are."""
    _, out, _ = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    lines = [" ".join(line.strip("┃│ ").split()) for line in out.splitlines() if line[:1] in "┃│"]
    assert lines[0] == "cost ┃ discounted ┃ nominal"
    assert "supply │ 3,850.00 │ 3,850.00" in lines and "total │ 4,537.50 │ 4,537.50" in lines
