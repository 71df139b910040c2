"""The README and the documentation site hold together without mkdocs installed: every page of docs/ is in the
navigation of mkdocs.yml, every relative link of the README and of the pages leads to a file (and the README's
anchors to a heading), every command has its row in the README and its section on the commands page, every option
the CLI declares is named in its command's section, every rule type and setting is described on the contract page,
every test the guarantees name exists, and the outputs page names every sheet each command writes and every key of
its --json. (``mkdocs build --strict``, in .ci/run, checks the anchors of every page too; the generated blocks are
tests/test_readme_examples.py's.)"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from cli_run import run_json

from models.schema import SETTINGS
from optimizer import cli, write_workbook
from optimizer.rules import RULE_SPECS
from optimizer.writing.template import EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
#: A Markdown link's target: ``[text](target)``, not an image's.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
#: A page that includes a file whole (pymdownx.snippets), as the examples' data pages include inputs/*.md.
SNIPPET = re.compile(r'^--8<-- "([^"]+)"\s*$', re.M)
COMMANDS = [command.name or command.callback.__name__ for command in cli.app.registered_commands]


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def text_of(page: Path) -> str:
    """A page's Markdown as MkDocs renders it: with the files it includes (snippets) in place."""
    text = page.read_text(encoding="utf-8")
    return SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), text)


def nav_pages(config: str) -> list[str]:
    """The pages the ``nav:`` of mkdocs.yml lists (paths relative to docs/), in order: each entry ends its line."""
    nav = config[config.index("\nnav:"):]
    return re.findall(r"([\w./-]+\.md)\s*$", nav, re.M)


def slug(heading: str) -> str:
    """The anchor Python-Markdown's toc gives a heading (its default slugify), markup removed first."""
    text = re.sub(r"[`*]", "", heading).strip()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", text_of(page), flags=re.S)
    return {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def relative_links(text: str) -> list[str]:
    """The targets of the text's links that are neither URLs nor anchors on the same page (code spans left out)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def broken_links(page: Path, text: str, check_anchors: bool) -> list[str]:
    """The links of ``text`` (on ``page``) whose file is missing, or (``check_anchors``) whose anchor is not a
    heading of a Markdown page."""
    broken = []
    for target in relative_links(text):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve()
        if not file.exists() or (check_anchors and anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    return broken


# ------------------------------------------------------------------ the site's structure


def test_every_page_of_the_docs_is_in_the_navigation_and_every_entry_is_a_page():
    listed = nav_pages((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert len(listed) == len(set(listed)), "a page listed twice"
    assert set(listed) == {p.relative_to(DOCS).as_posix() for p in pages()}


def test_the_navigation_reader_sees_a_page_left_out():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    shortened = config.replace("      - Carbon: guides/carbon.md\n", "")
    assert shortened != config and "guides/carbon.md" not in nav_pages(shortened)


def test_every_relative_link_of_the_readme_leads_to_a_file_and_heading():
    assert broken_links(README, README.read_text(encoding="utf-8"), check_anchors=True) == []


def test_every_relative_link_of_the_docs_leads_to_a_file():
    assert {p.name: broken for p in pages() if (broken := broken_links(p, text_of(p), check_anchors=False))} == {}


def test_the_link_check_sees_a_missing_file_and_a_missing_anchor():
    text = "[a](docs/guides/solve.md) [b](docs/nope.md) [c](docs/guides/solve.md#nope) [d](https://x.org/y.md)"
    assert broken_links(README, text, check_anchors=True) == ["docs/nope.md", "docs/guides/solve.md#nope"]
    assert slug("`solve --json`") == "solve-json" and slug("Life, salvage value and the end effect") == \
        "life-salvage-value-and-the-end-effect"


# ------------------------------------------------------------------ the README


def test_the_readme_fits_on_a_screen_and_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 12_000
    first_block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).splitlines()
    assert first_block == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && sourcing solve "
        "inputs/ev_battery_north_america.xlsx --policy ira_30d_whatif -o ira-plan.xlsx",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"]
    assert first_block[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert text.index("```bash") < text.index("\n## ")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_readme_row_linking_to_its_options_and_a_section_on_the_commands_page(command):
    rows = [line for line in README.read_text(encoding="utf-8").splitlines()
            if line.startswith(f"| `sourcing {command}`")]
    assert rows, f"the README's command table has no row for {command}"
    assert all(f"](docs/reference/commands.md#sourcing-{command})" in row for row in rows)
    assert all(len(relative_links(row)) == 2 for row in rows), "each row links to its guide and its options"
    assert f"sourcing-{command}" in anchors(DOCS / "reference" / "commands.md")


# ------------------------------------------------------------------ the reference


def command_section(text: str, command: str) -> str:
    """The commands page's section on one command: from its ``## `sourcing COMMAND` `` heading to the next."""
    parts = re.split(r"^(?=## )", text, flags=re.M)
    mine = [p for p in parts if p.startswith(f"## `sourcing {command}`")]
    assert len(mine) == 1, command
    return mine[0]


def options_missing(text: str, command: str) -> list[str]:
    """The option names (``--policy``, ``-o``) the CLI declares for ``command`` that its section does not name."""
    import typer

    declared = typer.main.get_command(cli.app).commands[command].params
    section = command_section(text, command)
    return [opt for param in declared if param.param_type_name == "option" for opt in param.opts
            if f"`{opt}`" not in section]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_the_cli_declares_is_named_in_its_command_section(command):
    assert options_missing((DOCS / "reference" / "commands.md").read_text(encoding="utf-8"), command) == []


def test_the_option_check_sees_an_option_left_out():
    text = (DOCS / "reference" / "commands.md").read_text(encoding="utf-8")
    section = command_section(text, "sweep")
    assert options_missing(text.replace(section, section.replace("`--values`", "`--value`")), "sweep") == ["--values"]



def test_every_rule_type_has_its_heading_on_the_contract_page():
    text = (DOCS / "reference" / "workbook.md").read_text(encoding="utf-8")
    headed = {name for heading in re.findall(r"^#### (.+)$", text, re.M) for name in re.findall(r"`(\w+)`", heading)}
    assert set(RULE_SPECS) <= headed, set(RULE_SPECS) - headed


def test_every_setting_is_described_on_the_contract_page():
    text = (DOCS / "reference" / "workbook.md").read_text(encoding="utf-8")
    assert [key for key in SETTINGS if f"- `{key}`" not in text] == []


def test_every_test_the_guarantees_name_exists():
    named = set(re.findall(r"`(test_\w+)`", (DOCS / "background" / "guarantees.md").read_text(encoding="utf-8")))
    defined = {name for path in (ROOT / "tests").glob("test_*.py")
               for name in re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.M)}
    assert len(named) > 40 and named - defined == set()


# ------------------------------------------------------------------ the outputs page: every sheet and JSON key

#: Keys whose values are keyed by the data (periods, options, scenarios, figure names), not by the tool.
DATA_KEYED = {"by_period", "fractions", "decisions", "stats", "numbers", "plans.costs"}
OUTPUTS = DOCS / "reference" / "outputs.md"


def section(command: str) -> str:
    """The outputs page's section on a command's workbook and --json (compare's includes solve's, whose keys it
    repeats per policy set)."""
    text = OUTPUTS.read_text(encoding="utf-8")
    parts = re.split(r"^(?=## )", text, flags=re.M)
    mine = [p for p in parts if re.match(rf"## .*`{command}( --json)?`", p)]
    assert len(mine) == 1, command
    return mine[0] + (section("solve") if command == "compare" else "")


def keys(value, path: str = "") -> set[str]:
    """Every key the tool chose in a JSON document (dotted with its parent where DATA_KEYED needs it)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            if key not in DATA_KEYED and f"{path}.{key}".strip(".") not in DATA_KEYED:
                found |= keys(item, key)
    elif isinstance(value, list):
        for item in value:
            found |= keys(item, path)
    return found


@pytest.fixture(scope="module")
def small_workbook(tmp_path_factory):
    """The starter workbook with two scenarios, shortage costs and recovery times: every command has a case."""
    sheets = {name: [dict(row) for row in rows] for name, rows in EXAMPLE.items()}
    for row in sheets["Demand"]:
        row["shortage_cost"] = 500
    for row in sheets["Sites"]:
        row["recovery_weeks"] = 8
    sheets["Scenarios"] = [{"scenario": "open", "probability": 0.6}, {"scenario": "local", "policy": "local_60"}]
    return write_workbook(tmp_path_factory.mktemp("docs") / "small.xlsx", sheets)


CASES = {
    "validate": [],
    "solve": ["--policy", "local_60", "--option-values"],
    "compare": [],
    "sweep": ["--policy", "local_60", "--rule", "2", "--values", "0.6,1.0"],
    "frontier": ["--policy", "local_60", "--rule", "2", "--points", "3"],
    "robust": [],
    "stress": ["--policy", "local_60"],
}


def test_every_command_with_json_has_a_case():
    assert set(CASES) == set(COMMANDS) - {"template"}


@pytest.mark.parametrize("command", sorted(CASES))
def test_the_outputs_page_names_every_sheet_and_json_key_of_each_command(command, small_workbook, tmp_path,
                                                                          monkeypatch, capsys):
    output = tmp_path / "out.xlsx"
    args = [] if command == "validate" else ["-o", output]
    code, payload, err = run_json(monkeypatch, capsys, command, small_workbook, *CASES[command], *args)
    assert code == 0, err
    text = section(command)
    missing = sorted(k for k in keys(payload) if f"`{k}`" not in text and f'"{k}"' not in text)
    assert missing == [], f"keys of {command} --json not on {OUTPUTS.name}: {missing}"
    if command != "validate":
        sheets = openpyxl.load_workbook(output, read_only=True).sheetnames
        assert [s for s in sheets if f"**{s}**" not in text and s not in text] == []


def test_the_key_walk_sees_a_key_inside_records_and_skips_data_keys():
    payload = {"status": "ok", "points": [{"value": 1, "builds": [{"option": "a", "period": "2026"}]}],
               "stats": {"members": 1}, "emissions": {"total": 1, "by_period": {"2026": 1}}}
    assert keys(payload) == {"status", "points", "value", "builds", "option", "period", "stats", "emissions", "total",
                             "by_period"}
