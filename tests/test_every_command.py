"""Every command in text mode (as a user runs it, without --json) on both shipped examples, for every policy set
and scenario: exit 0 when a plan was found and written, 1 when there is none, and never an unexpected failure.

`--json` output goes through one serialiser; the terminal goes through rich tables, which refuse anything but
text: a NaN build period once crashed `solve` after the plan was written. The full matrix is marked ``slow``
(``.ci/run`` runs it); the default run keeps one case of each command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import run

from optimizer import load_workbook

INPUTS = Path(__file__).resolve().parents[1] / "inputs"
EXAMPLES = {"north_america": INPUTS / "ev_battery_north_america.xlsx",
            "multitier": INPUTS / "ev_battery_multitier.xlsx"}
NETWORKS = {name: load_workbook(path) for name, path in EXAMPLES.items()}
#: The rule each example's sweep and frontier move: local content of NA cells; the multi-tier cells rule.
SWEPT = {"north_america": ("local_for_local", 14), "multitier": ("ira_cells_only", 3)}
#: The cases run by default: one of each command (the rest are ``slow``).
QUICK = {("north_america", "solve", "current_law"), ("north_america", "solve --option-values", "current_law"),
         ("north_america", "solve --scenario", "status_quo"), ("multitier", "solve", "ira_tiers"),
         ("multitier", "stress", "ira_tiers")}


def _cases():
    for example, network in NETWORKS.items():
        for policy in network.policies:
            for command in ("solve", "solve --option-values", "stress"):
                yield example, command, policy
        for scenario in network.scenarios:
            yield example, "solve --scenario", scenario
        for command in ("validate", "compare", "sweep", "frontier", *(["robust"] if network.scenarios else [])):
            yield example, command, ""


CASES = [pytest.param(*case, marks=() if case in QUICK or case[1] == "validate" else pytest.mark.slow,
                      id="-".join(c for c in case if c).replace(" ", "")) for case in _cases()]


def _arguments(example: str, command: str, name: str, output: Path) -> list:
    path = EXAMPLES[example]
    policy, rule = SWEPT[example]
    return {
        "solve": ["solve", path, "--policy", name, "-o", output],
        "solve --option-values": ["solve", path, "--policy", name, "--option-values", "-o", output],
        "solve --scenario": ["solve", path, "--scenario", name, "-o", output],
        "validate": ["validate", path],
        "compare": ["compare", path, "-o", output],
        "sweep": ["sweep", path, "--policy", policy, "--rule", rule, "--values", "0:1:0.25", "-o", output],
        "frontier": ["frontier", path, "--policy", policy, "--rule", rule, "--points", "4", "-o", output],
        "robust": ["robust", path, "-o", output],
        "stress": ["stress", path, "--policy", name, "-o", output],
    }[command]


@pytest.mark.one_materialisation  # what the terminal shows: the differential check runs on every other solve
@pytest.mark.parametrize(("example", "command", "name"), CASES)
def test_every_command_runs_in_text_mode(example, command, name, monkeypatch, capsys, tmp_path):
    output = tmp_path / "out.xlsx"
    arguments = _arguments(example, command, name, output)
    if command == "stress" and (example, command, name) in QUICK:  # two sites: tests/test_stress.py stresses all
        arguments += ["--sites", "Livent_BessemerCity_NC,LiOH_Generic_CN"]
    code, out, err = run(monkeypatch, capsys, *arguments)
    assert "unexpected failure" not in out + err, err
    assert code in (0, 1), (code, err)
    if command != "validate":
        assert output.exists(), "every command writes its workbook, with or without a plan"
    if command.startswith("solve"):
        plan_written = "Plan written to" in " ".join(out.split())
        assert (code == 0) == plan_written, out
    if command == "stress":
        assert code == 0 and "Stress test written to" in " ".join(out.split()), out
