"""The sheet schema (models/schema.py) is the one declaration of the workbook format: the sheet table of the
documentation's workbook contract (docs/reference/workbook.md) and the starter workbook (``sourcing template``) must
say exactly what it says. (The contract page's column tables are generated from it: tests/readme_examples.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from models.schema import SHEETS, Sheet
from optimizer.rules import RULE_SPECS
from optimizer.writing.template import EXAMPLE, NOTES_FOOTER, write_template

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "reference" / "workbook.md"


def starred(name: str, required: bool) -> str:
    return f"{name}*" if required else name


def schema_table(sheets: tuple[Sheet, ...] = SHEETS) -> list[tuple[str, list[str]]]:
    """(sheet, columns) as the contract page writes them: ``*`` after a required sheet or column."""
    return [(starred(s.name, s.required), [starred(c.name, c.required) for c in s.columns]) for s in sheets]


def contract_table(text: str) -> list[tuple[str, list[str]]]:
    """Every row of the contract page's one ``| sheet | columns |`` table."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.fullmatch(r"\|\s*sheet\s*\|\s*columns\s*\|", line.strip())]
    assert len(starts) == 1, "the page must hold exactly one '| sheet | columns |' table"
    assert re.fullmatch(r"\|\s*-+\s*\|\s*-+\s*\|", lines[starts[0] + 1].strip())
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 2, line
        rows.append((cells[0], [c.strip() for c in cells[1].split(",")]))
    return rows


def test_the_contract_sheet_table_is_the_schema():
    assert contract_table(CONTRACT.read_text(encoding="utf-8")) == schema_table()


def test_the_table_comparison_sees_a_change_on_either_side():
    """Any edit on either side (a column renamed, moved or made optional, a sheet made required) differs."""
    text = CONTRACT.read_text(encoding="utf-8")
    edited = text.replace("| Lanes* | origin*, destination*, item, unit_cost, capacity, co2_per_unit |",
                          "| Lanes* | origin*, destination*, item, capacity, unit_cost, co2_per_unit |")
    assert edited != text and contract_table(edited) != schema_table()
    sheets = list(SHEETS)
    groups = sheets[1]
    sheets[1] = Sheet(groups.name, not groups.required, groups.meaning, groups.columns)
    assert schema_table(tuple(sheets)) != schema_table()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return openpyxl.load_workbook(write_template(tmp_path_factory.mktemp("template") / "starter.xlsx"))


def test_the_template_has_every_sheet_and_column_of_the_schema(template):
    assert template.sheetnames == [s.name for s in SHEETS] + ["Notes"]
    for sheet in SHEETS:
        ws = template[sheet.name]
        assert [c.value for c in ws[1]] == sheet.names, sheet.name
        assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "A2"
        body = [list(row) for row in ws.iter_rows(min_row=2, values_only=True)]
        assert body == [[example.get(name) for name in sheet.names] for example in EXAMPLE.get(sheet.name, [])]


def test_the_example_rows_use_only_declared_columns():
    for name, rows in EXAMPLE.items():
        declared = {s.name: s for s in SHEETS}[name].names
        for row in rows:
            assert set(row) <= set(declared), (name, set(row) - set(declared))


def test_the_notes_describe_every_column_from_the_schema(template):
    rows = [list(row) for row in template["Notes"].iter_rows(values_only=True)]
    assert rows[0] == ["sheet", "column", "meaning"]
    expected = [[s.name, starred(c.name, c.required), c.note()] for s in SHEETS for c in s.columns]
    rule = next(i for i, row in enumerate(expected) if row[:2] == ["Policies", "rule*"])
    expected[rule][2] += "; one of " + ", ".join(RULE_SPECS)
    assert rows[1:len(expected) + 1] == expected
    assert rows[len(expected) + 1:] == [[None, None, None], [None, None, NOTES_FOOTER]]
    blank = {(s.name, c.name): c.blank for s in SHEETS for c in s.columns}
    assert blank[("Supply", "capacity")] == "unlimited"
    assert ["Supply", "capacity", "most it can produce (or sell) per period; blank = unlimited"] in rows
