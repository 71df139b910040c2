"""The generated blocks of the README and the documentation: example figures, command outputs and reference tables,
produced by running the tool (and, for the reference tables, read from the schema and the CLI's declarations).

Every figure and command output the README and the pages of ``docs/`` print for the examples stands between
markers ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``, and so do the workbook contract's column tables
(from ``models/schema.py``) and the commands' option tables (from the options typer declares); :data:`SECTIONS`
renders each one. A block may stand on any page (:func:`pages`), and each one stands on exactly one.
``tests/test_readme_examples.py`` asserts every page holds exactly what its blocks render, so neither an example
nor a reference table can go stale. The examples' plans come from ``tests/examples.py``, solved once per test
process. After a change that moves a figure, ``python tests/readme_examples.py`` rewrites the blocks of every page.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import sys
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples import MULTITIER, NORTH_AMERICA, ROOT, network, plan, valued  # noqa: E402

MARKER = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)


def money(value: float, signed: bool = False) -> str:
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def run_cli(*args: str, folder: str | None = None, keep_written: bool = False, stderr: bool = False) -> str:
    """``$ sourcing ARGS`` and what it prints on stdout, as a user at an 80-column pipe sees it (with ``stderr``,
    what it prints there too, after it). It runs in ``folder`` (default: a new temporary one); the lines naming
    the file written are left out unless ``keep_written`` (their paths depend on where it ran)."""
    from optimizer.cli import main

    typed = " ".join(args)
    buffer, errors = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        where = folder or stack.enter_context(tempfile.TemporaryDirectory())
        stack.enter_context(contextlib.redirect_stdout(buffer))
        stack.enter_context(contextlib.redirect_stderr(errors))
        cwd = os.getcwd()
        os.chdir(where)
        argv = sys.argv
        sys.argv = ["sourcing", *[str(ROOT / a) if a.startswith("inputs/") else a for a in args]]
        try:
            main()
        except SystemExit:
            pass
        finally:
            sys.argv = argv
            os.chdir(cwd)
    lines = [line.rstrip() for line in (buffer.getvalue() + (errors.getvalue() if stderr else "")).splitlines()]
    if not keep_written:
        lines = [line for line in lines if not line.endswith((" written to", ".xlsx")) and " written to " not in line]
    return f"$ sourcing {typed}\n" + "\n".join(lines) + "\n"


def code(text: str) -> str:
    return f"```\n{text}```\n"


def cell(text: str) -> str:
    """Text for a Markdown table cell: ``<`` and ``>`` as entities (``<input>`` is no HTML tag), no ``|``."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


# ---------------------------------------------------------------------------- the sections

NA_ASKS = {
    "baseline": "nothing",
    "current_law": "the 45X credit on US-made cells ($35/kWh, 75% of it in 2030)",
    "china_cap": "at most 20% of each item from China",
    "local_for_local": "each NA pack plant gets >= 70% of cells from NA; >= 50% NA CAM",
    "feoc_ban": "no supply from FEOC nations or FEOC-owned plants",
    "ira_30d_whatif": "cells >= 70/80/90/100/100% NA by value, CAM >= 70-80% NA or FTA, no FEOC",
    "carbon_price": "$190 per t CO2e on every t emitted (production and freight)",
    "carbon_cap": "at most 2.2 Mt CO2e a year",
}


def na_share_of_cells(result) -> float:
    groups = network(NORTH_AMERICA).country_groups()
    cells = result.flows[result.flows["item"] == "cells_nmc"]
    na = cells[cells["origin"].map(groups) == "north_america"]["quantity"].sum()
    return na / cells["quantity"].sum()


def feoc_supply(result) -> float:
    net = network(NORTH_AMERICA)
    feoc = {s.id for s in net.sites.values() if "feoc_owned" in s.tags}
    groups = net.country_groups()
    flows = result.flows
    from_feoc = flows["origin"].isin(feoc) | (flows["origin"].map(groups) == "feoc_nations")
    return float(flows[from_feoc]["quantity"].sum())


def resumed(result) -> str:
    """The options a plan builds, with their build period (a fraction for a divisible one)."""
    built = []
    for row in result.investments.itertuples():
        if row.divisible and row.built > 1e-9:
            built.append(f"{row.option} {row.built:.0%} ({row.build_period})")
        elif not row.divisible and row.built:
            built.append(f"{row.option} ({row.build_period})")
    return ", ".join(built) or "none"


def policy_sets() -> str:
    base = plan(NORTH_AMERICA, "baseline").total_cost
    lines = ["| policy set | what it asks | total cost 2026-30 (discounted) | nominal | vs baseline "
             "| NA share of cells | FEOC supply | emissions (Mt CO2e) | plants resumed (build year) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in NA_ASKS:
        result = plan(NORTH_AMERICA, name)
        delta = "" if name == "baseline" else money(result.total_cost - base, signed=True)
        feoc = feoc_supply(result)
        lines.append(f"| `{name}` | {NA_ASKS[name]} | {money(result.total_cost)} | {money(result.nominal_total)} "
                     f"| {delta} | {na_share_of_cells(result):.1%} | {feoc:,.1f} | {megatonnes(result)} "
                     f"| {resumed(result)} |".replace("| 0.0 |", "| 0 |"))
    return "\n".join(lines) + "\n"


def megatonnes(result) -> str:
    """The plan's emissions over all periods, in Mt CO2e (the examples' co2_per_unit is in t CO2e)."""
    return f"{result.emissions.sum() / 1e6:,.2f}"


def worth(row) -> str:
    """'built 2026: saves 912.50' or 'paused: break-even capex 301.36' (or 'never', 'essential')."""
    if row.divisible:
        return f"{row.built:.0%} built ({row.build_period})" if row.built > 1e-9 else "not built (divisible)"
    if row.built:
        value = row.value if isinstance(row.value, str) else f"saves {money(row.value)}"
        return f"built {row.build_period}: {value}"
    even = row.break_even_capex
    return "paused: never pays" if even == "never" else f"paused: break-even capex {money(even)}"


def strategic_plan(path: str, policies) -> str:
    options = list(dict.fromkeys(network(path).investments["option"]))
    lines = ["| policy set | " + " | ".join(f"`{o}`" for o in options) + " |",
             "|---|" + "---|" * len(options)]
    for name in policies:
        table = valued(path, name).investments.set_index("option")
        lines.append(f"| `{name}` | " + " | ".join(worth(_row(table, o)) for o in options) + " |")
    return "\n".join(lines) + "\n"


def _row(table, option) -> SimpleNamespace:
    return SimpleNamespace(**table.loc[option].to_dict())


def na_strategy() -> str:
    options = network(NORTH_AMERICA).investments.drop_duplicates("option")
    capex = {r.option: money(r.capex) for r in options.itertuples()}
    return (strategic_plan(NORTH_AMERICA, NA_ASKS)
            + "\nToday's capex: " + ", ".join(f"`{o}` {c}" for o, c in capex.items()) + ".\n")


MULTITIER_SHOWS = {
    "baseline": "",
    "feoc_ban": "no FEOC supply at any tier",
    "ira_cells_only": "+ cells from North America",
    "ira_cam_only": "+ CAM from North America or FTA partners into the NA cell plants",
    "ira_tiers": "both rules: the LiOH tier comes alive (Livent's minimum binds)",
    "dual_sourcing": "at least two CAM suppliers per NA cell plant",
    "credit_30d": "45X cell credit and a $3,750-per-vehicle-style threshold credit",
    "carbon_price": "$190 per t CO2e: abatement does not pay at that price, the plan stays",
    "carbon_cap": "at most 2.2 Mt CO2e a year: binds from 2028",
}


def multitier() -> str:
    lines = ["| policy set | total cost 2026-30 (discounted) | nominal | emissions (Mt CO2e) "
             "| plants resumed (build year) | what it shows |",
             "|---|---:|---:|---:|---|---|"]
    total = {}
    for name, shows in MULTITIER_SHOWS.items():
        result = plan(MULTITIER, name)
        total[name] = result.total_cost
        lines.append(f"| `{name}` | {money(result.total_cost)} | {money(result.nominal_total)} | {megatonnes(result)} "
                     f"| {resumed(result)} | {shows} |")
    cam_alone = total["ira_cam_only"] - total["feoc_ban"]
    cam_after_cells = total["ira_tiers"] - total["ira_cells_only"]
    return "\n".join(lines) + (
        f"\n\nThe two rules interact: with the FEOC ban in place, the CAM rule alone costs {money(cam_alone)}; "
        f"once the cells rule is in force too, the CAM rule costs {money(cam_after_cells)}, so together they cost "
        f"{money(cam_after_cells - cam_alone)} more than the sum of their separate costs.\n")


def multitier_strategy() -> str:
    return strategic_plan(MULTITIER, MULTITIER_SHOWS)


def without_life(path: str):
    """The example with every option's ``life`` left blank: its whole capex charged however late it is built."""
    from dataclasses import replace

    net = network(path)
    return replace(net, investments=net.investments.assign(life=float("nan")))


def end_effect(path: str, policies) -> str:
    """What the plans would build without ``life``, where it differs from what they build with it."""
    from optimizer import solve

    changes, plain_network = [], without_life(path)
    for name in policies:
        built, plain = resumed(plan(path, name)), resumed(solve(plain_network, policy=name))
        if built != plain:
            changes.append(f"`{name}` {plain} instead of {built}")
    start = "Without `life` (each option charged its whole capex, however late it is built), "
    if not changes:
        return start + "every policy set would resume the same plants.\n"
    return start + "the plans would resume: " + "; ".join(changes) + "; every other policy set the same.\n"


def na_end_effect() -> str:
    return end_effect(NORTH_AMERICA, NA_ASKS)


def multitier_end_effect() -> str:
    return end_effect(MULTITIER, MULTITIER_SHOWS)


def compare_output() -> str:
    return code(run_cli("compare", NORTH_AMERICA, "-o", "comparison.xlsx"))


def supply_mix() -> str:
    from optimizer.compare import supply_mix as mix_of

    net = network(NORTH_AMERICA)
    results = [plan(NORTH_AMERICA, name) for name in ("baseline", "ira_30d_whatif", "local_for_local")]
    mix = mix_of(net, results)
    cells = mix[mix["item"] == "cells_nmc"].pivot_table(index="policy", columns="group", values="quantity",
                                                        aggfunc="sum").fillna(0.0)

    def row(name):
        r = cells.loc[name]
        return " / ".join(f"{r.get(g, 0.0):,.1f}".removesuffix(".0") for g in ("north_america", "feoc_nations",
                                                                                 "other"))

    return (f"  `baseline` {row('baseline')} (North American / FEOC nations / other);\n"
            f"  `ira_30d_whatif` {row('ira_30d_whatif')}; `local_for_local` {row('local_for_local')}.\n")


def sweep_output() -> str:
    return code(run_cli("sweep", NORTH_AMERICA, "--policy", "local_for_local", "--rule", "13", "--values",
                        "0.5:1.0:0.1"))


def frontier_local() -> str:
    return code(run_cli("frontier", NORTH_AMERICA, "--policy", "local_for_local", "--rule", "13", "--points", "6"))


def frontier_carbon() -> str:
    return code(run_cli("frontier", NORTH_AMERICA, "--policy", "carbon_cap", "--rule", "30", "--points", "6"))


def diagnosis_output() -> str:
    """The example with the AESC Florence restart taking a year, its 2026 cells rule (Policies row 2) at 100% and
    every demand a hard requirement (its shortage costs blanked: with them, the plan would leave cells unmet)."""
    import openpyxl

    with tempfile.TemporaryDirectory() as folder:
        tightened = Path(folder) / "tightened.xlsx"
        wb = openpyxl.load_workbook(ROOT / NORTH_AMERICA)
        for sheet, row, column, value in (("Policies", 2, "value", 1.0), ("Investments", 2, "lead_time", 1)):
            ws = wb[sheet]
            header = [c.value for c in ws[1]]
            ws.cell(row=row, column=header.index(column) + 1, value=value)
        demand = wb["Demand"]
        column = [c.value for c in demand[1]].index("shortage_cost") + 1
        for row in range(2, demand.max_row + 1):
            demand.cell(row=row, column=column).value = None
        wb.save(tightened)
        text = run_cli("solve", str(tightened), "--policy", "ira_30d_whatif", "-o", "plan.xlsx")
    return code(text.replace(str(tightened), "tightened.xlsx"))


def robust_output() -> str:
    return code(run_cli("robust", NORTH_AMERICA, "-o", "robust.xlsx"))


def robust_regret() -> str:
    text = run_cli("robust", NORTH_AMERICA, "--objective", "regret", "-o", "robust.xlsx")
    return code("\n".join(line for line in text.splitlines()
                          if line.startswith(("$", "┃ plan", "│ robust", "The robust", "EVPI")))
                + "\n")


def stress_output() -> str:
    return code(run_cli("stress", MULTITIER, "--policy", "ira_tiers", "-o", "stress.xlsx"))


def stress_resumed() -> str:
    """The North American plan under current law with the AESC Florence restart running in 2026, and with it a
    year late (scenario aesc_restart_delayed): the three most exposed sites of each."""
    def top(scenario: str) -> str:
        lines = run_cli("stress", NORTH_AMERICA, "--scenario", scenario, "-o", "stress.xlsx").splitlines()
        rows = [i for i, line in enumerate(lines) if line.startswith("│")]
        return "\n".join(lines[:rows[0]] + lines[rows[0]:rows[0] + 3] + [lines[-1] if lines[-1].startswith("└")
                                                                          else ""]).rstrip() + "\n"
    return code(top("status_quo") + top("aesc_restart_delayed"))


def solve_output() -> str:
    """The README's worked example: its first command, as a user runs it."""
    return code(run_cli("solve", NORTH_AMERICA, "--policy", "ira_30d_whatif", "-o", "ira-plan.xlsx"))


def solve_multitier() -> str:
    """The solve guide's example: a MILP (fixed costs, a take-or-pay minimum, yes/no restarts) over three tiers."""
    return code(run_cli("solve", MULTITIER, "--policy", "ira_tiers", "-o", "plan.xlsx"))


def getting_started() -> str:
    """The starter workbook written, checked and solved, in one folder, as a new user first runs the tool."""
    with tempfile.TemporaryDirectory() as folder:
        return code("".join(run_cli(*args, folder=folder, keep_written=True) for args in (
            ("template", "starter.xlsx"), ("validate", "starter.xlsx"),
            ("solve", "starter.xlsx", "--policy", "local_60"))))


def validate_broken() -> str:
    """The starter workbook with four mistakes typed into it, and what ``validate`` says of them (on stderr)."""
    import openpyxl

    from optimizer.writing.template import write_template

    with tempfile.TemporaryDirectory() as folder:
        broken = Path(folder) / "broken.xlsx"
        wb = openpyxl.load_workbook(write_template(Path(folder) / "starter.xlsx"))
        for sheet, column, value in (("Supply", "capacity", -5), ("Lanes", "destination", "Plant_S"),
                                     ("Tariffs", "rate", 25), ("Policies", "value", 1.2)):
            ws = wb[sheet]
            ws.cell(row=2, column=[c.value for c in ws[1]].index(column) + 1, value=value)
        wb.save(broken)
        return code(run_cli("validate", "broken.xlsx", folder=folder, stderr=True))


PYTHON_API = """\
from optimizer import load_workbook, solve, write_plan

network = load_workbook("inputs/ev_battery_north_america.xlsx")  # raises WorkbookError(.problems)
result = solve(network, policy="local_for_local", solver="highs", time_limit=None)
print(result.status, f"{result.total_cost:,.2f}", f"{result.nominal_total:,.2f}")
print({part: round(cost, 2) for part, cost in result.costs.items() if cost})
print(result.flows[["period", "item", "origin", "destination", "quantity"]].head(3).to_string(index=False))
rules = result.compliance[["rule_row", "rule", "period", "destination", "share", "binding", "cost_per_point"]]
print(rules.head(3).round(2).to_string(index=False))
write_plan(result, "plan.xlsx", inputs=["inputs/ev_battery_north_america.xlsx"])
"""


def python_api() -> str:
    """The Python API example, run: the code and what it prints."""
    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(printed):
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            exec(PYTHON_API.replace('"inputs/', f'"{ROOT}/inputs/'), {})  # noqa: S102 - the example itself
        finally:
            os.chdir(cwd)
    return f"```python\n{PYTHON_API}```\n\nprints\n\n```\n{printed.getvalue()}```\n"


# ---------------------------------------------------------------------------- the reference tables

#: How the contract page names each kind of cell (``models.schema.KINDS``).
KIND_WORDS = {"text": "text", "period": "period", "number": "number", "non_negative": "number >= 0",
              "positive": "number > 0", "flag": "TRUE/FALSE"}


def sheet_columns(name: str) -> str:
    """The contract page's table of one sheet's columns, from ``models.schema`` (and the Notes sheet's choices)."""
    from models.schema import SHEETS_BY_NAME
    from optimizer.writing.template import CHOICES

    sheet = SHEETS_BY_NAME[name]
    lines = [f"{'Required' if sheet.required else 'Optional'} sheet: {cell(sheet.meaning)}.", "",
             "| column | required | cell | meaning | blank means |", "|---|---|---|---|---|"]
    for column in sheet.columns:
        meaning = column.meaning
        choices = CHOICES.get((name, column.name))
        if choices:
            meaning += "; one of " + ", ".join(f"`{c}`" for c in choices)
        lines.append(f"| `{column.name}` | {'yes' if column.required else ''} | {KIND_WORDS[column.kind]} "
                     f"| {cell(meaning)} | {cell(column.blank)} |")
    return "\n".join(lines) + "\n"


#: How the commands page names the value each option takes, by the type the CLI declares.
VALUE_WORDS = {Path: "path", str: "text", float: "number", int: "whole number", bool: ""}


def value_type(hint) -> type:
    """The type of an option's value: ``Path`` of ``Path | None``."""
    return next((a for a in typing.get_args(hint) if a is not type(None)), hint)


def command_options(name: str) -> str:
    """The commands page's table of one command's arguments and options, from what typer declares."""
    import typer

    from optimizer import cli

    command = typer.main.get_command(cli.app).commands[name]
    hints = typing.get_type_hints(getattr(cli, name))
    lines = ["| argument or option | value | default | meaning |", "|---|---|---|---|"]
    for param in command.params:
        kind = value_type(hints[param.name])
        if param.param_type_name == "argument":
            names = f"`{param.name.upper()}`"
        else:
            names = ", ".join(f"`{opt}`" for opt in param.opts)
        default = "required" if param.required else "" if param.default in (None, False) else f"`{param.default}`"
        lines.append(f"| {names} | {VALUE_WORDS[kind]} | {default} | {cell(param.help or '')} |")
    return "\n".join(lines) + "\n"


def reference_sections() -> dict[str, Callable[[], str]]:
    """A block per sheet of the schema and per command of the CLI: a new sheet or command needs its place."""
    from models.schema import SHEETS
    from optimizer import cli

    sheets = {f"columns-{sheet.name}": (lambda name=sheet.name: sheet_columns(name)) for sheet in SHEETS}
    commands = {f"options-{command.name or command.callback.__name__}":
                (lambda name=command.name or command.callback.__name__: command_options(name))
                for command in cli.app.registered_commands}
    return {**sheets, **commands}


SECTIONS: dict[str, Callable[[], str]] = {
    "solve-output": solve_output,
    "solve-multitier": solve_multitier,
    "getting-started": getting_started,
    "validate-broken": validate_broken,
    "python-api": python_api,
    "policy-sets": policy_sets,
    "strategy": na_strategy,
    "end-effect": na_end_effect,
    "multitier": multitier,
    "multitier-strategy": multitier_strategy,
    "multitier-end-effect": multitier_end_effect,
    "robust-output": robust_output,
    "robust-regret": robust_regret,
    "compare-output": compare_output,
    "supply-mix": supply_mix,
    "sweep-output": sweep_output,
    "frontier-local": frontier_local,
    "frontier-carbon": frontier_carbon,
    "diagnosis-output": diagnosis_output,
    "stress-output": stress_output,
    "stress-resumed": stress_resumed,
    **reference_sections(),
}


def pages() -> list[Path]:
    """Where generated blocks may stand: the README and every page of the documentation."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(text: str) -> dict[str, str]:
    """A page's generated blocks by name."""
    return {m.group("name"): m.group("body") for m in MARKER.finditer(text)}


def places() -> dict[str, list[str]]:
    """Every block name found on the pages, with the pages it stands on (relative to the repository; a page
    twice if the block stands there twice)."""
    found: dict[str, list[str]] = {}
    for page in pages():
        for match in MARKER.finditer(page.read_text(encoding="utf-8")):
            found.setdefault(match.group("name"), []).append(page.relative_to(ROOT).as_posix())
    return found


def shown(name: str) -> str:
    """What the page holding block ``name`` shows in it."""
    return blocks((ROOT / places()[name][0]).read_text(encoding="utf-8"))[name]


def rewrite(text: str) -> str:
    """The page with every generated block rendered anew."""
    return MARKER.sub(lambda m: m.group(1) + SECTIONS[m.group("name")]() + m.group(4), text)


if __name__ == "__main__":
    for page in pages():
        text = page.read_text(encoding="utf-8")
        if MARKER.search(text):
            page.write_text(rewrite(text), encoding="utf-8")
            print(f"{page.relative_to(ROOT)}: rewrote", ", ".join(blocks(text)))
