"""The README's example figures and command outputs, produced by running the tool.

Every figure and command output the README prints for the examples stands between markers
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``; :data:`SECTIONS` renders each one from real
runs. ``tests/test_readme.py`` asserts the README holds exactly what they render, so an example cannot
go stale. After a change that moves a figure, ``python tests/readme_examples.py`` rewrites the blocks.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer import load_workbook, solve  # noqa: E402

NORTH_AMERICA = "inputs/ev_battery_north_america.xlsx"
MULTITIER = "inputs/ev_battery_multitier.xlsx"
MARKER = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)


def money(value: float, signed: bool = False) -> str:
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


@cache
def network(path: str):
    return load_workbook(ROOT / path)


@cache
def plan(path: str, policy: str):
    return solve(network(path), policy=policy)


def run_cli(*args: str) -> str:
    """``$ sourcing ARGS`` and what it prints on stdout, as a user at an 80-column pipe sees it."""
    from optimizer.cli import main

    shown = " ".join(args)
    buffer = io.StringIO()
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(io.StringIO()):
        cwd = os.getcwd()
        os.chdir(folder)
        argv = sys.argv
        sys.argv = ["sourcing", *[str(ROOT / a) if a.startswith("inputs/") else a for a in args]]
        try:
            main()
        except SystemExit:
            pass
        finally:
            sys.argv = argv
            os.chdir(cwd)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    lines = [line for line in lines if not line.endswith((" written to", ".xlsx")) and " written to " not in line]
    return f"$ sourcing {shown}\n" + "\n".join(lines) + "\n"


def code(text: str) -> str:
    return f"```\n{text}```\n"


# ---------------------------------------------------------------------------- the sections

NA_ASKS = {
    "baseline": "nothing",
    "china_cap": "at most 20% of each item from China",
    "local_for_local": "each NA pack plant gets >= 70% of cells from NA",
    "feoc_ban": "no supply from FEOC nations or FEOC-owned plants",
    "ira_30d_whatif": "cells >= 70/80/90/100/100% NA by value, CAM >= 70-80% NA or FTA, no FEOC",
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


def policy_sets() -> str:
    base = plan(NORTH_AMERICA, "baseline").total_cost
    lines = ["| policy set | what it asks | total cost 2026-30 | vs baseline | NA share of cells (by quantity) "
             "| FEOC supply |", "|---|---|---:|---:|---:|---:|"]
    for name in ("baseline", "china_cap", "local_for_local", "feoc_ban", "ira_30d_whatif"):
        result = plan(NORTH_AMERICA, name)
        delta = "" if name == "baseline" else money(result.total_cost - base, signed=True)
        feoc = feoc_supply(result)
        lines.append(f"| `{name}` | {NA_ASKS[name]} | {money(result.total_cost)} | {delta} | "
                     f"{na_share_of_cells(result):.1%} | {feoc:,.1f} |".replace("| 0.0 |", "| 0 |"))
    ira, lfl = plan(NORTH_AMERICA, "ira_30d_whatif"), plan(NORTH_AMERICA, "local_for_local")
    return "\n".join(lines) + (
        f"\n\nThe IRA §30D-style rule set (a what-if, since §30D ended for vehicles acquired after 30 Sep 2025) "
        f"costs {money(ira.total_cost - base)} more over five years ({(ira.total_cost - base) / base:+.1%}); "
        f"a 70% local-for-local rule per plant costs {money(lfl.total_cost - base)} "
        f"({(lfl.total_cost - base) / base:+.1%}).\n")


MULTITIER_SHOWS = {
    "baseline": "",
    "feoc_ban": "no FEOC supply at any tier",
    "ira_cells_only": "+ cells from North America",
    "ira_cam_only": "+ CAM from North America or FTA partners into the NA cell plants",
    "ira_tiers": "both rules: the LiOH tier comes alive (Livent's minimum binds)",
    "dual_sourcing": "at least two CAM suppliers per NA cell plant",
    "credit_30d": "45X cell credit and a $3,750-per-vehicle-style threshold credit",
}


def multitier() -> str:
    lines = ["| policy set | total cost 2026-30 | what it shows |", "|---|---:|---|"]
    total = {name: plan(MULTITIER, name).total_cost for name in MULTITIER_SHOWS}
    for name, shows in MULTITIER_SHOWS.items():
        lines.append(f"| `{name}` | {money(total[name])} | {shows} |")
    cam_alone = total["ira_cam_only"] - total["feoc_ban"]
    cam_after_cells = total["ira_tiers"] - total["ira_cells_only"]
    return "\n".join(lines) + (
        f"\n\nThe two rules interact: with the FEOC ban in place, the CAM rule alone costs {money(cam_alone)}, "
        "because the model meets it by making fewer North American cells and buying Polish cells instead; "
        f"once the cells rule closes that escape, the CAM rule costs {money(cam_after_cells)}, so together "
        f"they cost {money(cam_after_cells - cam_alone)} more than the sum of their separate costs.\n")


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


def diagnosis_output() -> str:
    """The example with its 2026 CAM rule (Policies row 7) tightened to 80% North American content only."""
    import openpyxl

    with tempfile.TemporaryDirectory() as folder:
        tightened = Path(folder) / "tightened.xlsx"
        wb = openpyxl.load_workbook(ROOT / NORTH_AMERICA)
        ws = wb["Policies"]
        header = [c.value for c in ws[1]]
        ws.cell(row=7, column=header.index("value") + 1, value=0.8)
        ws.cell(row=7, column=header.index("from") + 1, value="north_america")
        wb.save(tightened)
        text = run_cli("solve", str(tightened), "--policy", "ira_30d_whatif", "-o", "plan.xlsx")
    return code(text.replace(str(tightened), "tightened.xlsx"))


SECTIONS: dict[str, Callable[[], str]] = {
    "policy-sets": policy_sets,
    "multitier": multitier,
    "compare-output": compare_output,
    "supply-mix": supply_mix,
    "sweep-output": sweep_output,
    "diagnosis-output": diagnosis_output,
}


def blocks(text: str) -> dict[str, str]:
    """The README's generated blocks by name."""
    return {m.group("name"): m.group("body") for m in MARKER.finditer(text)}


def rewrite(text: str) -> str:
    """The README with every generated block rendered anew."""
    return MARKER.sub(lambda m: m.group(1) + SECTIONS[m.group("name")]() + m.group(4), text)


if __name__ == "__main__":
    readme = ROOT / "README.md"
    readme.write_text(rewrite(readme.read_text()))
    print("README.md blocks rewritten:", ", ".join(blocks(readme.read_text())))
