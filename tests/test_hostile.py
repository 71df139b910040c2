"""Hostile and broken workbooks, crashes and big files: the tool keeps working and loses nothing.

Every test here runs the real code paths; the CLI is called in-process (``optimizer.cli.main``
with a patched ``sys.argv``), like tests/test_cli.py. Sections:

* the property test: arbitrary cells and layouts never produce a traceback (issue 7, item 1);
* cells: formulas read by their cached value, formulas without one, damaged cells;
* files that are not what they claim, the bad-file corpus, XML and zip bombs (item 2);
* nothing lost: atomic writes, the input never opened for writing, outputs that cannot be
  written (item 3);
* no formula injection (item 4);
* solver faults and numerically dangerous data (item 5).

Determinism (item 6) is in tests/test_determinism.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import importlib.util
import io
import json
import os
import re
import stat
import sys
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pulp
import pytest
from cli_run import flat, run
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from spies import calamine_reads

import optimizer.api
import optimizer.backend
import optimizer.reading.files as file_guards
import optimizer.reading.load as loading
import optimizer.writing.guard as formula_guard
from models.problems import WorkbookError
from optimizer import load_workbook, solve, write_workbook
from optimizer.writing.save import OutputError, check_output_path, save_atomically

DATA = Path(__file__).parent / "data" / "bad"

_spec = importlib.util.spec_from_file_location("make_corpus", DATA / "make_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)  # its workbook and zip helpers; it imports nothing but openpyxl


def temporary_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp.xlsx")]


@pytest.fixture
def openings(monkeypatch) -> list[bool]:
    """Each time openpyxl opens a workbook from now on: whether for stored values (True) or formulas (False)."""
    opened, real = [], openpyxl.load_workbook

    def spy(*args, **kwargs):
        opened.append(kwargs.get("data_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return opened


def formula_cells(path: Path) -> list[str]:
    """Every cell holding a formula, from openpyxl and from the raw XML (<f> elements)."""
    found = []
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        found += [f"{ws.title}!{c.coordinate}" for row in ws.iter_rows() for c in row if c.data_type == "f"]
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and re.search(rb"<(\w+:)?f[\s>/]", archive.read(name)):
                found.append(name)
    return found


# Plant_SC needs 25 (2026) and 30 (2027) cells: Cells_KR 70 * 1.15 + 2 = 82.5 (unlimited),
# Cells_US 90 + 1 = 91 (at most 20). local_60: at least 60 % (quantity) from north_america.
BASE = {
    "Sites": [["site", "country", "tags"], ["Plant_SC", "United States", "pack_plant"],
              ["Cells_US", "United States", "cell_plant"], ["Cells_KR", "Korea", "cell_plant"]],
    "Groups": [["group", "country"], ["north_america", "United States"], ["north_america", "Mexico"]],
    "Items": [["item", "unit", "category"], ["cells", "GWh", "battery_component"]],
    "Supply": [["site", "item", "period", "capacity", "unit_cost"], ["Cells_US", "cells", None, 20, 90],
               ["Cells_KR", "cells", None, None, 70]],
    "Demand": [["site", "item", "period", "quantity"], ["Plant_SC", "cells", 2026, 25],
               ["Plant_SC", "cells", 2027, 30]],
    "Lanes": [["origin", "destination", "item", "unit_cost", "capacity"], ["Cells_US", "Plant_SC", None, 1, None],
              ["Cells_KR", "Plant_SC", None, 2, None]],
    "Tariffs": [["origin", "destination", "item", "period", "rate"], ["Korea", "United States", "cells", None, 0.15]],
    "Policies": [["policy", "rule", "items", "from", "to", "value", "basis", "scope", "period"],
                 ["local_60", "min_share", "cells", "north_america", "Plant_SC", 0.6, "quantity", None, None]],
    "Periods": [["period"], [2026], [2027]],
}
SHEET_NAMES = list(BASE)
# The property test's workbooks add the strategic sheets of contract v3: 2027 discounted, a second line at
# Cells_US (10 more from 2027 if built in 2026), stock at Plant_SC (at most 10), and two scenarios.
STRATEGIC_BASE = {
    **BASE,
    "Periods": [["period", "discount_factor"], [2026, 1], [2027, 0.93]],
    "Investments": [["option", "site", "item", "capacity", "capex", "unit_cost", "earliest", "latest", "lead_time",
                     "divisible"], ["US_line_2", "Cells_US", "cells", 10, 50, 60, 2026, None, 1, None]],
    "Inventory": [["site", "item", "holding_cost", "capacity", "initial", "final"],
                  ["Plant_SC", "cells", 1, 10, None, None]],
    "Scenarios": [["scenario", "probability", "policy"], ["status_quo", 0.5, None], ["local", 0.5, "local_60"]],
    "ScenarioChanges": [["scenario", "sheet", "column", "site", "option", "period", "multiply"],
                        ["local", "Supply", "capacity", "Cells_US", None, None, 1.5]],
}
HOSTILE_SHEETS = list(STRATEGIC_BASE)
#: Cells that make the strategic workbook infeasible although stock is used: Cells_KR sells nothing, Plant_SC
#: needs 10 in 2026 and 45 in 2027, and at most 20 + 10 (the new line) + 10 (stock) = 40 can reach it in 2027.
SCARCE = {("Supply", "D3"): 0, ("Demand", "D2"): 10, ("Demand", "D3"): 45}


def base_sheets(**changes) -> dict:
    sheets = {name: [list(row) for row in rows] for name, rows in BASE.items()}
    sheets.update(changes)
    return sheets


def write_rows(path: Path, sheets: dict, formulas: bool = True) -> Path:
    """Write ``sheets`` (lists of rows, the header first); text starting with '=' is a formula
    (never calculated), or with ``formulas=False`` text, as Excel stores a typed '=text."""
    wb = corpus.workbook(sheets=sheets)
    for ws in wb.worksheets:
        if not formulas:
            for line in ws.iter_rows():
                for cell in line:
                    if cell.data_type == "f":
                        cell.data_type, cell.quotePrefix = "s", True
    wb.save(path)
    return path


# =========================================================================== 1. the property test

ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
KNOWN_TEXT = ["Plant_SC", "Cells_US", "Cells_KR", "cells", "north_america", "Korea", "United States", "Mexico",
              "2026", "2027", "local_60", "min_share", "max_share", "exclude", "quantity", "value", "total",
              "each_destination", "pack_plant", "battery_component", "baseline", "US_line_2", "status_quo", "local",
              "Supply", "Demand", "Lanes", "Investments", "Inventory", "capacity", "capex", "unit_cost", "lead_time",
              "2028", "Cells_USA", "tariff"]
TRICKY_TEXT = ["12", "1,200", "25%", " 70 ", "-5", "1e400", "nan", "inf", "-inf", "TRUE", "#N/A", "#DIV/0!",
               "=1+1", "+1", "-", "@x", "'quoted", "\t tab", "Plant_SC;Cells_US", ";", "Ωmega", "植物", "🙂",
               "a" * 300]
FORMULAS = ["=1+1", "=A1", "=SUM(A1:A3)", '=HYPERLINK("http://x","y")', "=1/0", "=NOW()", "=Sites!A2"]

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(lambda s: ILLEGAL.sub("", s))
values = st.one_of(
    st.none(), st.just(""), st.just("   "), texts, st.sampled_from(KNOWN_TEXT), st.sampled_from(TRICKY_TEXT),
    st.integers(-10, 100), st.integers(-(10 ** 300), 10 ** 300), st.floats(-1e3, 1e3),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1)), st.times(), st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)),
    st.sampled_from([5_000, 40_000]).map(lambda n: "L" * n),
)
#: What a spreadsheet application or an exporter may store in a cell besides a plain value.
cells = st.one_of(
    values.map(lambda v: ("value", v)),
    st.sampled_from(FORMULAS).map(lambda f: ("formula", f)),                   # never calculated
    st.tuples(st.sampled_from(FORMULAS), st.sampled_from([                     # calculated: cached value
        ("n", "70"), ("n", "2026"), ("n", "-1"), ("n", "1E+300"), ("str", "Plant_SC"), ("str", "cells"),
        ("str", ""), ("b", "1"), ("e", "#DIV/0!"), ("e", "#REF!")])).map(lambda c: ("cached", c)),
    st.sampled_from([                                                          # damaged stored values
        ("n", "nan"), ("n", "inf"), ("n", "abc"), ("n", "1e999"), ("b", "7"), ("s", "99999"),
        ("d", "not-a-date"), ("d", "2026-01-01T00:00:00"), ("e", "#N/A"), ("str", "Plant_SC"),
        ("n", "1" + "0" * 400), ("n", "-" + "9" * 5000), ("n", "&lt;"), ("n", "<")]).map(
        lambda c: ("raw", c)),
    st.tuples(st.one_of(st.floats(allow_nan=False), st.integers(-10 ** 30, 10 ** 30)),
              st.sampled_from(["yyyy-mm-dd", "[h]:mm:ss", "0%", "@"])).map(lambda c: ("format", c)),
)
edits = st.lists(st.tuples(st.sampled_from(HOSTILE_SHEETS), st.integers(1, 5), st.integers(1, 10), cells),
                 max_size=6)


def rarely(strategy):
    """``strategy`` one time in four, else None: most workbooks keep their layout, so that enough
    of them stay valid and reach the solver and the plan writer."""
    return st.integers(0, 3).flatmap(lambda i: strategy if i == 0 else st.none())


layouts = st.fixed_dictionaries({
    "drop": rarely(st.sampled_from(HOSTILE_SHEETS)),
    "hide": rarely(st.tuples(st.sampled_from(HOSTILE_SHEETS), st.sampled_from(["hidden", "veryHidden"]))),
    "merge": rarely(st.tuples(st.sampled_from(HOSTILE_SHEETS), st.integers(1, 4), st.integers(1, 2))),
    "duplicate_header": rarely(st.tuples(st.sampled_from(HOSTILE_SHEETS), st.integers(1, 5), st.integers(1, 5))),
    "rename": rarely(st.tuples(st.sampled_from(HOSTILE_SHEETS), st.sampled_from(["{} ", "{}_old", "x{}"]))),
    "twin": rarely(st.sampled_from(HOSTILE_SHEETS)),
    "scarce": rarely(st.just(True)),
    "extra": st.booleans(),
    "wrong_dimension": st.booleans(),
})


def build_hostile(edits_, layout) -> bytes:
    """A small workbook: STRATEGIC_BASE (made infeasible first with ``layout["scarce"]``) with ``edits_`` applied
    cell by cell and ``layout`` changed."""
    wb = corpus.workbook(sheets=STRATEGIC_BASE)
    if layout.get("scarce"):
        for (title, coordinate), value in SCARCE.items():
            wb[title][coordinate] = value
    raw: dict[str, str] = {}
    for title, row, column, (kind, payload) in edits_:
        cell = wb[title].cell(row=row, column=column)
        if kind == "value" or kind == "formula":
            cell.value = payload
        elif kind == "format":
            cell.value, cell.number_format = payload
        else:  # written as a placeholder, replaced in the XML below
            key = f"@@P{len(raw)}@@"
            cell.value = key
            if kind == "cached":
                formula, (kind_, cached) = payload
                t = "" if kind_ == "n" else f' t="{kind_}"'
                text = formula[1:].replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
                raw[key] = f"<f>{text}</f><v>{cached}</v>", t
            else:
                kind_, stored = payload
                raw[key] = f"<v>{stored}</v>", f' t="{kind_}"'
    if layout["duplicate_header"]:
        title, a, b = layout["duplicate_header"]
        wb[title].cell(1, b).value = wb[title].cell(1, a).value
    if layout["merge"]:
        title, column, width = layout["merge"]
        wb[title].merge_cells(start_row=1, start_column=column, end_row=1, end_column=column + width)
    if layout["hide"]:
        title, state = layout["hide"]
        if len(wb.worksheets) > 1:
            wb[title].sheet_state = state
    if layout["twin"]:
        wb.create_sheet(f" {layout['twin'].upper()}").append(["site"])
    if layout["extra"]:
        wb.create_sheet("Scratch").append(["anything", 1, dt.date(2026, 1, 1)])
    if layout["rename"]:
        title, pattern = layout["rename"]
        wb[title].title = pattern.format(title)
    if layout["drop"] and layout["drop"] in wb.sheetnames:
        wb.remove(wb[layout["drop"]])
    buffer = io.BytesIO()
    wb.save(buffer)

    def patch(content: bytes) -> bytes:
        text = content.decode()
        for key, (inner, t) in raw.items():
            text = re.sub(rf'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")?[^>]*><is><t>{key}</t></is></c>',
                          lambda m, inner=inner, t=t: f'<c r="{m.group(1)}"{m.group(2) or ""}{t}>{inner}</c>', text)
        if layout["wrong_dimension"]:
            text = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1"', text)
        return text.encode()

    if not raw and not layout["wrong_dimension"]:
        return buffer.getvalue()
    with zipfile.ZipFile(buffer) as archive:
        names = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    return corpus.rezip(buffer.getvalue(), {name: patch for name in names})


@pytest.mark.heavy
@settings(max_examples=settings().max_examples, deadline=None,  # the profile's (tests/conftest.py)
          derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(edits=edits, layout=layouts, plan=st.sampled_from(["solve", "robust", None, None, None, None]))
def test_any_workbook_ends_in_exit_0_1_or_2_with_located_problems(tmp_path, monkeypatch, capsys, edits, layout,
                                                                   plan):
    """Whatever the cells and layout, `validate`, `solve` and `robust` end with 0, 1 or 2, never a
    traceback; each problem names its sheet, and its column whenever it names a row; a file-level
    problem names the file. A plan (exit 0) holds no formula; after exit 2 nothing was written.

    The workbooks have every sheet of contract v3 (investments, stock, discounting, scenarios), and some
    have no plan although stock is used (``SCARCE``). `validate` runs on every example, `solve` on one in
    six and `robust` on another (``plan``), to keep a few hundred examples within a minute: reading, where
    hostile cells are handled, is the same code in every command, while building and solving even a tiny
    model and writing its plan costs ~0.35 s (robust: several solves). conftest's cross-check of the two
    solver backends is skipped for the same reason."""
    monkeypatch.setattr(optimizer.api, "solve_formulation", optimizer.backend.solve_formulation)
    source, output = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    source.write_bytes(build_hostile(edits, layout))
    output.unlink(missing_ok=True)

    code, out, err = run(monkeypatch, capsys, "validate", source, "--json")
    event(f"validate exit {code}")  # shown by --hypothesis-show-statistics
    assert code in (0, 2), err
    assert "unexpected failure" not in err
    payload = json.loads(out)
    if code == 2:
        assert payload["status"] == "error" and payload["problems"]
        for problem in payload["problems"]:
            assert problem["sheet"] and problem["message"], problem
            if problem["row"] is not None:
                assert problem["column"], problem
            if problem["sheet"] == source.name:  # file-level
                assert problem["row"] is None
    else:
        assert payload["status"] == "valid"
    if not plan:
        return

    solved, out, err = run(monkeypatch, capsys, plan, source, "-o", output)
    event(f"{plan} exit {solved}")
    assert solved in (0, 1, 2)
    assert "unexpected failure" not in err, err
    nothing_to_be_robust_against = plan == "robust" and code == 0 and payload["scenarios"] == 0
    assert (solved == 2) == (code == 2 or nothing_to_be_robust_against), (code, solved, err)
    if solved == 2:
        assert "nothing to be robust against" in err if nothing_to_be_robust_against else "problem(s)" in err
        assert not output.exists()
    if output.exists():  # a plan (exit 0), or without a plan (exit 1) its Summary and Diagnosis
        assert formula_cells(output) == []
    assert output.exists() or solved != 0
    assert temporary_files(tmp_path) == []


# =========================================================================== cells


def test_formulas_are_read_by_their_cached_value(tmp_path):
    network = load_workbook(DATA / "cached-formulas.xlsx")
    supply = dict(zip(network.supply["site"], network.supply["unit_cost"], strict=True))
    assert supply == {"Cells_KR": 70.0, "Cells_US": 90.0}  # Cells_US came from ="Cells_"&"US", 70 from =35*2


def test_a_formula_without_cached_value_is_an_error_naming_the_cell(tmp_path):
    sheets = base_sheets()
    sheets["Supply"][2][4] = "=60+10"  # Supply!E3, unit_cost of Cells_KR
    sheets["Sites"][3][0] = "=B2"      # Sites!A4, a site id
    with pytest.raises(WorkbookError) as exc:
        load_workbook(write_rows(tmp_path / "in.xlsx", sheets))
    found = {(p.sheet, p.row, p.column): p.message for p in exc.value.problems}
    assert "cell E3 holds the formula =60+10 but no calculated value" in found[("Supply", 3, "unit_cost")]
    assert "cell A4 holds the formula =B2 but no calculated value" in found[("Sites", 4, "site")]


def test_a_workbook_without_formulas_is_read_in_one_pass(tmp_path, openings):
    """The formula check opens the workbook a second time only when a sheet's XML holds a formula."""
    load_workbook(write_rows(tmp_path / "plain.xlsx", base_sheets()))
    assert openings == [True]
    sheets = base_sheets()
    sheets["Demand"][1][3] = "=20+5"
    with pytest.raises(WorkbookError):
        load_workbook(write_rows(tmp_path / "formula.xlsx", sheets))
    assert openings == [True, True, False]


@pytest.mark.parametrize(("stored", "fragment"), [
    ('<c r="D2" t="n"><v>abc</v></c>', "stored value 'abc' cannot be read"),
    ('<c r="D2" t="b"><v>yes</v></c>', "stored value 'yes' cannot be read"),
    ('<c r="D2" t="d"><v>soon</v></c>', "stored value 'soon' cannot be read"),
    ('<c r="D2" t="e"><v>#N/A</v></c>', "the cell shows the Excel error #N/A"),
])
def test_a_damaged_cell_is_named_by_sheet_row_and_column(tmp_path, stored, fragment):
    valid = corpus.xlsx_bytes(corpus.workbook())
    path = tmp_path / "in.xlsx"
    path.write_bytes(corpus.rezip(valid, {corpus.sheet_part("Supply"): corpus.replace_cell("D2", stored)}))
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    [problem] = exc.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("Supply", 2, "unit_cost")
    assert fragment in problem.message


def test_numbers_beyond_floating_point_are_problems_not_crashes(tmp_path):
    """A stored integer of 400 digits (Python would raise OverflowError converting it) is an invalid
    number; a blank left by NaN or infinity (openpyxl stores them as empty cells) a missing value."""
    valid = corpus.xlsx_bytes(corpus.workbook())
    path = tmp_path / "in.xlsx"
    path.write_bytes(corpus.rezip(valid, {
        corpus.sheet_part("Supply"): corpus.replace_cell("D2", f'<c r="D2" t="n"><v>1{"0" * 400}</v></c>'),
        corpus.sheet_part("Demand"): corpus.replace_cell("C2", '<c r="C2" t="n"><v></v></c>')}))
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    found = {(p.sheet, p.row, p.column): p.message for p in exc.value.problems}
    assert found[("Supply", 2, "unit_cost")] == "inf: expected a finite number"
    assert found[("Demand", 2, "quantity")] == "a value is required"


def test_a_wrong_sheet_dimension_loses_no_rows(tmp_path):
    """Some exporters state <dimension ref="A1"/>; openpyxl's read-only mode would then drop every
    other cell. The reader ignores the stated dimension."""
    network = load_workbook(DATA / "wrong-dimension.xlsx")
    assert len(network.lanes) == 2


def test_a_sheet_without_a_dimension_is_parsed_once(tmp_path, monkeypatch):
    """openpyxl's write-only mode writes no <dimension>; openpyxl's read-only mode would parse such a
    sheet to its end to size it as it opens the workbook, and the reader resets that size anyway. This guards the
    one place the reader overrides openpyxl (openpyxl_reader._unsized_sheets replaces the name
    openpyxl.reader.excel.ReadOnlyWorksheet while it opens a workbook): no sheet is sized, and the name is put
    back."""
    from openpyxl.reader import excel
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet._reader import WorkSheetParser

    assert excel.ReadOnlyWorksheet is ReadOnlyWorksheet  # the name openpyxl_reader._unsized_sheets replaces
    plain = write_rows(tmp_path / "plain.xlsx", base_sheets())
    streamed = openpyxl.Workbook(write_only=True)
    source = openpyxl.load_workbook(plain)
    for ws in source.worksheets:
        copy = streamed.create_sheet(ws.title)
        for row in ws.iter_rows(values_only=True):
            copy.append(row)
    streamed.save(tmp_path / "streamed.xlsx")
    with zipfile.ZipFile(tmp_path / "streamed.xlsx") as archive:
        assert not any(b"<dimension" in archive.read(n) for n in archive.namelist() if "worksheets/" in n)
    sized, real = [], WorkSheetParser.parse_dimensions
    monkeypatch.setattr(WorkSheetParser, "parse_dimensions", lambda self: sized.append(1) or real(self))
    for engine in ("auto", "openpyxl"):
        assert loading.read_rows(tmp_path / "streamed.xlsx", engine=engine) == \
            loading.read_rows(plain, engine=engine)
    assert sized == []
    assert excel.ReadOnlyWorksheet is ReadOnlyWorksheet


def test_a_row_on_excels_last_row_is_read_and_the_gap_skipped_quickly(tmp_path):
    """A lane on row 1,048,576 (the rows between are absent from the XML) is read, in little time."""
    path = write_rows(tmp_path / "far.xlsx", base_sheets())
    wb = openpyxl.load_workbook(path)
    for column, value in enumerate(["Cells_KR", "Plant_SC", None, 3], start=1):
        wb["Lanes"].cell(1_048_576, column, value)
    wb.save(path)
    started = time.perf_counter()
    with pytest.raises(WorkbookError) as exc:  # it repeats the origin and destination of Lanes row 3
        load_workbook(path)
    assert time.perf_counter() - started < 3
    assert [(p.sheet, p.row) for p in exc.value.problems] == [("Lanes", 1_048_576)]


def test_hidden_sheets_are_read_with_a_warning():
    network = load_workbook(DATA / "hidden-sheet.xlsx")
    assert len(network.lanes) == 2
    assert any("'Lanes' is hidden" in w for w in network.warnings)


# =========================================================================== the fast reader (python-calamine)
#
# Plain sheets are read by python-calamine, the rest by openpyxl (optimizer/reading/calamine_reader.py). Both must
# give the same rows, warnings and problems, down to the type of each problem's value (2026 or 2026.0 in --json).


def read_both(path: Path, monkeypatch) -> tuple[dict[str, bool], tuple, tuple]:
    """({sheet: read by calamine}, outcome through calamine where it may, outcome through openpyxl alone)."""
    fast = calamine_reads(monkeypatch)
    auto = outcome(path, "auto")
    read = dict(fast)
    reference = outcome(path, "openpyxl")
    assert fast == read  # openpyxl alone never asks calamine
    return fast, auto, reference


def outcome(path: Path, engine: str) -> tuple:
    rows, warnings_, problems = loading.read_rows(path, engine=engine)
    return ({model.__name__: [repr(r) for r in found] for model, found in rows.items()}, warnings_,
            json.dumps([p.as_dict() for p in problems], default=repr))


def with_shared_strings(data: bytes) -> bytes:
    """The workbook as Excel saves it: its text in a shared-string table (xl/sharedStrings.xml), not inline."""
    strings: list[bytes] = []

    def share(match) -> bytes:
        strings.append(match.group(2))
        return match.group(1) + b' t="s"><v>%d</v></c>' % (len(strings) - 1)

    inline = re.compile(rb'(<c r="[A-Z]+[0-9]+"(?: s="[0-9]+")?) t="inlineStr"><is><t(?: xml:space="preserve")?>'
                        rb"([^<]*)</t></is></c>")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                content = inline.sub(share, content)
            elif info.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                          b'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings'
                                          b'+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", b'<Relationship Id="rIdStrings" Type="http://schemas.'
                                          b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                          b'Target="sharedStrings.xml"/></Relationships>')
            target.writestr(info.filename, content)
        target.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                        b'main">' + b"".join(b'<si><t xml:space="preserve">%s</t></si>' % s for s in strings)
                        + b"</sst>")
    return out.getvalue()


def test_plain_sheets_are_read_by_calamine_and_give_what_openpyxl_gives(tmp_path, monkeypatch):
    sheets = base_sheets()
    sheets["Sites"].append([101, "Korea", "  spaced  "])       # a number as an id, text with spaces
    sheets["Supply"].append(["Cells_KR", "cells", 2026.0, 1e10, 70.25])  # a whole float, written as "2026"
    sheets["Lanes"][0].append("colour")                         # a column the format does not know
    sheets["Lanes"][1].append("")
    fast, auto, reference = read_both(write_rows(tmp_path / "in.xlsx", sheets), monkeypatch)
    assert fast == dict.fromkeys(SHEET_NAMES, True)
    assert auto == reference
    assert auto[1] == ["Lanes: column 'colour' (F) is not part of the format, so its values are not read"]


def test_a_sheet_with_formulas_is_read_by_openpyxl_and_the_others_by_calamine(tmp_path, monkeypatch, openings):
    sheets = base_sheets()
    sheets["Demand"][1][3] = "=20+5"  # never calculated: a problem only openpyxl can name
    fast, auto, reference = read_both(write_rows(tmp_path / "in.xlsx", sheets), monkeypatch)
    assert fast == {**dict.fromkeys(SHEET_NAMES, True), "Demand": False}
    assert openings == [True, False, True, False]  # each read: the workbook, then its formulas
    assert auto == reference
    assert "cell D2 holds the formula =20+5 but no calculated value" in auto[2]


#: Stored cells (Supply!D2, the unit cost of Cells_KR) and whether calamine may read their sheet: everything
#: openpyxl reads otherwise (types, damaged values, Excel errors, white space, escapes) goes to openpyxl.
STORED_CELLS = [
    ('<c r="D2"><v>70</v></c>', True),
    ('<c r="D2"><v>-0</v></c>', True),
    ('<c r="D2"><v>70.5</v></c>', True),
    ('<c r="D2" t="b"><v>1</v></c>', True),
    ('<c r="D2" t="inlineStr"><is><t xml:space="preserve"> 70 </t></is></c>', True),
    ('<c r="D2" t="inlineStr"><is><r><t>7</t></r><r><t>0</t></r></is></c>', True),
    ('<c r="D2"/>', True),
    ('<c r="D2"><v>70.0</v></c>', False),                   # a float to openpyxl, whole to calamine
    ('<c r="D2"><v>7E+1</v></c>', False),
    ('<c r="D2"><v>2.0000000000000001</v></c>', False),     # a double rounds it to 2
    ('<c r="D2"><v>123456789012345678</v></c>', False),     # exact as openpyxl's int only
    ('<c r="D2"><v>1' + "0" * 400 + "</v></c>", False),
    ('<c r="D2"><v>nan</v></c>', False),                    # openpyxl: damaged; calamine: NaN
    ('<c r="D2"><v> 70 </v></c>', False),                   # openpyxl: 70; calamine: text
    ('<c r="D2"><v>&lt;</v></c>', False),
    ('<c r="D2"><v></v></c>', False),
    ('<c r="D2" s="x"><v>70</v></c>', False),
    ('<c r="D2" t="b"><v>true</v></c>', False),             # openpyxl: damaged; calamine: TRUE
    ('<c r="D2" t="e"><v>#N/A</v></c>', False),             # calamine: an empty cell
    ('<c r="D2" t="d"><v>soon</v></c>', False),
    ('<c r="D2" t="str"><v>70</v></c>', False),
    ('<c r="D2" t="s"><v>0</v></c>', False),                # no shared strings: damaged
    ('<c r="D2" t="inlineStr"><is><t> 70</t></is></c>', False),  # calamine trims it
    ('<c r="D2" t="inlineStr"><is><t>7</t><t>0</t></is></c>', False),
    ('<c r="D2" t="inlineStr"><is><t>70_x000D_</t></is></c>', False),
    ('<c r="D2" t="inlineStr"><is><t>7<![CDATA[0]]></t></is></c>', False),
    ('<c r="D2"><v>70</v><v>80</v></c>', False),            # openpyxl takes the first, calamine the last
    ('<c r="d2"><v>70</v></c>', False),
    ("<c r='D2'><v>70</v></c>", False),
    ('<c><v>70</v></c>', False),
    ('<c r="D3"><v>70</v></c>', False),                     # a cell outside its row
    ('<c r="E2"><v>1</v></c><c r="D2"><v>70</v></c>', False),  # out of order: openpyxl drops D2
    ('<c r="D2"><v>70</v></c><c r="D2"><v>80</v></c>', False),
]


@pytest.mark.parametrize(("stored", "fast"), STORED_CELLS)
def test_a_stored_cell_reads_the_same_through_calamine_and_openpyxl(tmp_path, monkeypatch, stored, fast):
    valid = corpus.xlsx_bytes(corpus.workbook())
    path = tmp_path / "in.xlsx"
    path.write_bytes(corpus.rezip(valid, {corpus.sheet_part("Supply"): corpus.replace_cell("D2", stored)}))
    read_fast, auto, reference = read_both(path, monkeypatch)
    assert read_fast["Supply"] is fast
    assert auto == reference


@pytest.mark.parametrize(("old", "new"), [
    (b'<row r="3">', b'<row r="2">'),                     # rows out of order: openpyxl drops the second
    (b'<row r="2">', b"<row>"),
    (b'<row r="3">', b'<row r="1048577">'),               # beyond Excel's last row
    (b'<row r="2">', b'<row r="2">\n'),                   # white space between cells
    (b"</sheetData>", b"</sheetData><!-- a comment -->"),
    (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',  # Strict Open XML
     b'<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"'),
    (b"<sheetData>", b'<sheetViews><sheetView workbookViewId="x"/></sheetViews><sheetData>'),  # openpyxl fails
])
def test_an_unusual_sheet_is_read_by_openpyxl(tmp_path, monkeypatch, old, new):
    valid = corpus.xlsx_bytes(corpus.workbook())
    path = tmp_path / "in.xlsx"
    path.write_bytes(corpus.rezip(valid, {corpus.sheet_part("Supply"): lambda c: c.replace(old, new, 1)}))
    fast, auto, reference = read_both(path, monkeypatch)
    assert fast["Supply"] is False and fast["Lanes"] is True
    assert auto == reference


@pytest.mark.parametrize("text", ["Cells_KR", "Cells_KR_x000D_"])
def test_shared_strings_are_read_by_calamine_unless_unusual(tmp_path, monkeypatch, text):
    sheets = base_sheets()
    sheets["Sites"][3][0] = text
    path = tmp_path / "in.xlsx"
    path.write_bytes(with_shared_strings(write_rows(tmp_path / "inline.xlsx", sheets).read_bytes()))
    with zipfile.ZipFile(path) as archive:
        assert b't="s"' in archive.read("xl/worksheets/sheet1.xml")
    fast, auto, reference = read_both(path, monkeypatch)
    assert set(fast.values()) == {text == "Cells_KR"}  # an Excel escape in the table: openpyxl reads it all
    assert auto == reference


def test_a_date_formatted_cell_is_read_by_openpyxl(tmp_path, monkeypatch):
    """calamine would give a date (not openpyxl's datetime), and the number itself for a date too large."""
    path = write_rows(tmp_path / "in.xlsx", base_sheets())
    wb = openpyxl.load_workbook(path)
    wb["Demand"]["D2"].number_format = "yyyy-mm-dd"
    wb["Demand"]["D3"].value, wb["Demand"]["D3"].number_format = 1e12, "yyyy-mm-dd"
    wb.save(path)
    fast, auto, reference = read_both(path, monkeypatch)
    assert fast["Demand"] is False and fast["Supply"] is True
    assert auto == reference
    assert "number too large for its date format" in auto[2]


def test_a_sparse_sheet_is_read_by_openpyxl(tmp_path, monkeypatch):
    """A cell on row 1,048,576: calamine would hold every empty cell above it."""
    path = write_rows(tmp_path / "far.xlsx", base_sheets())
    wb = openpyxl.load_workbook(path)
    wb["Lanes"].cell(1_048_576, 1, "Cells_KR")
    wb.save(path)
    fast, auto, reference = read_both(path, monkeypatch)
    assert fast["Lanes"] is False and fast["Supply"] is True
    assert auto == reference


def test_the_reader_can_be_forced_to_openpyxl(tmp_path, monkeypatch):
    path = write_rows(tmp_path / "in.xlsx", base_sheets())
    monkeypatch.setattr(loading, "CalamineReader", None)  # any use of it would fail
    with pytest.raises(ValueError, match="engine must be"):
        loading.read_rows(path, engine="fast")
    assert loading.read_rows(path, engine="openpyxl")[2] == []
    monkeypatch.setenv("SOURCING_READER", "openpyxl")
    assert len(load_workbook(path).lanes) == 2


@settings(max_examples=settings().max_examples // 3, deadline=None,  # a third of the profile's
          derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(edits=edits, layout=layouts)
def test_any_workbook_reads_the_same_through_calamine_and_openpyxl(tmp_path, monkeypatch, edits, layout):
    """The property test's workbooks, read both ways: the same rows, warnings and problems."""
    path = tmp_path / "in.xlsx"
    path.write_bytes(build_hostile(edits, layout))
    fast, auto, reference = read_both(path, monkeypatch)
    event(f"sheets read by calamine: {sum(fast.values())} of {len(fast)}")
    assert auto == reference


# =========================================================================== 2. files that are not .xlsx

EXPECTED = json.loads((DATA / "expected.json").read_text())


def test_every_corpus_file_is_described_and_small():
    on_disk = {p.name for p in DATA.iterdir() if p.name not in ("make_corpus.py", "expected.json")}
    assert on_disk == set(EXPECTED)
    assert all((DATA / name).stat().st_size < 20_000 for name in on_disk if (DATA / name).is_file())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_corpus(name, tmp_path, monkeypatch, capsys):
    """Each hand-made bad file: its exit code and message, one problem per line, nothing written (for a workbook
    without a plan, only its Summary and Diagnosis)."""
    case = EXPECTED[name]
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    code, out, err = run(monkeypatch, capsys, case["command"], DATA / name)
    assert time.perf_counter() - started < 5
    assert code == case["exit"], err
    assert case["message"] in flat(out + err)
    assert "unexpected failure" not in err
    code, out, err = run(monkeypatch, capsys, case["command"], DATA / name, "--json")
    payload = json.loads(out)
    if case["exit"] == 2:
        if "sheet" in case:
            assert {"sheet": case["sheet"], "row": case.get("row"), "column": case.get("column")} in [
                {k: p[k] for k in ("sheet", "row", "column")} for p in payload["problems"]]
        else:  # file-level: exactly one problem, naming the file, on one line
            [problem] = payload["problems"]
            assert problem["sheet"] == name and problem["row"] is None and "\n" not in problem["message"]
    code, out, err = run(monkeypatch, capsys, "solve", DATA / name, "-o", tmp_path / "plan.xlsx")
    assert code == (case["exit"] if case["command"] == "solve" else 2 if case["exit"] == 2 else 0), err
    assert "unexpected failure" not in err
    assert (tmp_path / "plan.xlsx").exists() == (code != 2)  # without a plan: its Summary and Diagnosis
    assert temporary_files(tmp_path) == []


@pytest.mark.parametrize("name", ["plan.xls", "export.csv", "no-extension"])
def test_a_real_workbook_is_read_whatever_its_name(tmp_path, name):
    """What a file is comes from its content: an .xlsx saved under another name is read."""
    path = write_rows(tmp_path / "in.xlsx", base_sheets()).rename(tmp_path / name)
    assert len(load_workbook(path).sites) == 3


def test_a_pipe_is_refused_without_blocking(tmp_path, monkeypatch, capsys):
    fifo = tmp_path / "in.xlsx"
    os.mkfifo(fifo)
    code, out, err = run(monkeypatch, capsys, "validate", fifo)
    assert code == 2
    assert "is not a regular file" in flat(err)


def test_without_defusedxml_nothing_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(file_guards, "xml_is_defused", lambda: False)
    with pytest.raises(WorkbookError) as exc:
        load_workbook(DATA / "cached-formulas.xlsx")
    assert "not protected against entity-expansion attacks" in exc.value.problems[0].message


@pytest.mark.parametrize("name", ["billion-laughs-sheet.xlsx", "billion-laughs-workbook.xlsx",
                                  "external-entity.xlsx"])
def test_entity_expansion_is_refused_quickly_in_little_memory(name):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(WorkbookError) as exc:
            load_workbook(DATA / name)
        elapsed, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "entity-expansion" in exc.value.problems[0].message
    assert elapsed < 1.0 and peak < 20 << 20, (elapsed, peak)


def test_the_xml_parser_refuses_entities_too(monkeypatch):
    """Second layer: with the prolog check switched off, the sheet parser (defusedxml) still refuses."""
    monkeypatch.setattr(file_guards, "check_xml_prologs", lambda path, infos: None)
    with pytest.raises(WorkbookError) as exc:
        load_workbook(DATA / "billion-laughs-sheet.xlsx")
    assert "entity-expansion" in exc.value.problems[0].message


def deflated_zeros(total: int, chunk: int = 1 << 20) -> tuple[bytes, int]:
    """A raw deflate stream of ``total`` zero bytes and its CRC-32, in little memory and time: one
    chunk is compressed and ends with a full flush (which makes the next chunk's bytes identical),
    so the stream is that block repeated, then the final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc, zeros = 0, bytes(chunk)
    for _ in range(total // chunk):
        crc = zlib.crc32(zeros, crc)
    return block * (total // chunk) + compressor.flush(zlib.Z_FINISH), crc


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """A 1 MB .xlsx whose Supply sheet inflates to 1 GiB of zeros (sizes declared honestly)."""
    stream, crc = deflated_zeros(1 << 30)
    sheet = corpus.sheet_part("Supply")
    entries = [(name, corpus.deflate(content), 8, zlib.crc32(content), len(content))
               if name != sheet else (name, stream, 8, crc, 1 << 30) for name, content in corpus.valid_parts()]
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    path.write_bytes(corpus.raw_zip(entries))
    return path


def test_the_zip_bomb_is_real(zip_bomb):
    assert zip_bomb.stat().st_size < 2 << 20
    with zipfile.ZipFile(zip_bomb) as archive, archive.open(corpus.sheet_part("Supply")) as part:
        assert part.read(1 << 20) == bytes(1 << 20)  # it really inflates: the first MiB of zeros
        assert archive.getinfo(corpus.sheet_part("Supply")).file_size == 1 << 30


def test_a_zip_bomb_is_refused_before_expansion(zip_bomb, monkeypatch, capsys):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(WorkbookError) as exc:
            load_workbook(zip_bomb)
        elapsed, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    [problem] = exc.value.problems
    assert problem.sheet == "bomb.xlsx"
    assert "would expand to 1,024 MB when unzipped, more than the limit of 512 MB" in problem.message
    assert elapsed < 1.0 and peak < 2 << 20, (elapsed, peak)
    code, out, err = run(monkeypatch, capsys, "solve", zip_bomb, "-o", zip_bomb.with_name("plan.xlsx"))
    assert code == 2 and "zip bomb" in flat(err)


def test_a_zip_bomb_within_the_size_limit_is_refused_for_its_ratio(zip_bomb, monkeypatch):
    monkeypatch.setenv("SOURCING_MAX_UNZIPPED_MB", "4096")
    with pytest.raises(WorkbookError) as exc:
        load_workbook(zip_bomb)
    assert "would expand 1,0" in exc.value.problems[0].message
    assert "more than the limit of 100-fold (SOURCING_MAX_ZIP_RATIO)" in exc.value.problems[0].message


def test_the_zip_limits_are_configurable(tmp_path, monkeypatch):
    path = write_rows(tmp_path / "in.xlsx", base_sheets())
    load_workbook(path)
    monkeypatch.setenv("SOURCING_MAX_UNZIPPED_MB", "0.01")
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    assert "more than the limit of 10.2 KB (set SOURCING_MAX_UNZIPPED_MB to raise it)" in exc.value.problems[0].message
    monkeypatch.setenv("SOURCING_MAX_UNZIPPED_MB", "lots")
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    assert "SOURCING_MAX_UNZIPPED_MB='lots' must be a positive number" in exc.value.problems[0].message


def test_an_understated_part_size_cannot_expand_either():
    """A zip directory may lie the other way (4 KB declared, 12 MB inside): zipfile stops inflating
    at the declared size, so reading stays small and the file is reported damaged."""
    tracemalloc.start()
    try:
        with pytest.raises(WorkbookError) as exc:
            load_workbook(DATA / "zip-bomb-understated.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "damaged" in exc.value.problems[0].message
    assert peak < 8 << 20


# =========================================================================== 3. nothing lost

AUDITED: list[tuple[str, object, object]] = []
_AUDITING = {"on": False}


def _audit(event, args):
    if _AUDITING["on"] and event == "open":
        AUDITED.append(args)


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only inside `opened_files`


@contextlib.contextmanager
def opened_files():
    AUDITED.clear()
    _AUDITING["on"] = True
    try:
        yield AUDITED
    finally:
        _AUDITING["on"] = False


def _writes(mode, flags) -> bool:
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC))


def test_the_input_is_never_opened_for_writing(tmp_path, monkeypatch, capsys):
    source = write_rows(tmp_path / "in.xlsx", base_sheets())
    before = source.read_bytes(), source.stat().st_mtime_ns
    with opened_files() as opened:
        code, out, err = run(monkeypatch, capsys, "solve", source, "-o", tmp_path / "plan.xlsx",
                             "--policy", "local_60")
    assert code == 0, err
    on_input = [(mode, flags) for path, mode, flags in opened
                if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path) == str(source)]
    assert on_input and not any(_writes(mode, flags) for mode, flags in on_input), on_input
    assert (source.read_bytes(), source.stat().st_mtime_ns) == before


@pytest.mark.parametrize("spelling", ["link", "hardlink", "dot", "parent", "absolute", "linked-folder"])
def test_the_output_cannot_be_the_input_under_any_spelling(tmp_path, monkeypatch, capsys, spelling):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    source = write_rows(tmp_path / "in.xlsx", base_sheets())
    before = source.read_bytes(), source.stat().st_mtime_ns
    output = {"dot": Path("./in.xlsx"), "parent": Path("sub/../in.xlsx"), "absolute": source.resolve(),
              "link": tmp_path / "link.xlsx", "hardlink": tmp_path / "hard.xlsx",
              "linked-folder": tmp_path / "alias" / "in.xlsx"}[spelling]
    if spelling == "link":
        output.symlink_to(source)
    elif spelling == "hardlink":
        os.link(source, output)
    elif spelling == "linked-folder":
        (tmp_path / "alias").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(OutputError, match="is the input workbook"):
        check_output_path(output, [Path("in.xlsx")])
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", output)
    assert code == 2 and "is the input workbook" in flat(err)
    assert (source.read_bytes(), source.stat().st_mtime_ns) == before


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), Boom("crash"),
                                     KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_the_earlier_output_untouched(tmp_path, monkeypatch, failure):
    from openpyxl.writer import excel

    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"the earlier plan")
    real_save = excel.ExcelWriter.save

    def half_then_fail(self):
        self._archive.writestr("xl/half.xml", b"<half/>" * 1000)  # something was written already
        raise failure

    monkeypatch.setattr(excel.ExcelWriter, "save", half_then_fail)
    wb = openpyxl.Workbook()
    expected = OutputError if isinstance(failure, OSError) else type(failure)
    with pytest.raises(expected) as exc:
        save_atomically(wb, target)
    if expected is OutputError:
        assert "No space left on device" in str(exc.value) and "nothing was changed" in str(exc.value)
    assert target.read_bytes() == b"the earlier plan"
    assert temporary_files(tmp_path) == []
    monkeypatch.setattr(excel.ExcelWriter, "save", real_save)
    save_atomically(wb, target)
    assert openpyxl.load_workbook(target).sheetnames == ["Sheet"]


def test_a_locked_output_is_a_clear_error_and_nothing_changes(tmp_path, monkeypatch, capsys):
    """Windows refuses to replace a workbook open in Excel (PermissionError); simulated here."""
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    (tmp_path / "plan.xlsx").write_bytes(b"open in Excel")

    def locked(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", locked)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 2
    assert "cannot write plan.xlsx: Permission denied (is it open in Excel" in flat(err)
    assert (tmp_path / "plan.xlsx").read_bytes() == b"open in Excel"
    assert temporary_files(tmp_path) == []


def test_a_read_only_folder_is_a_clear_error_before_solving(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root may write anywhere: ask the same question the check asks
            real_access = os.access
            monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder.resolve()
                                else real_access(p, mode, **kw))
        code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "locked/plan.xlsx")
        assert code == 2
        assert "is not writable; nothing was changed" in flat(err)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_an_output_that_is_a_folder_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    (tmp_path / "plan.xlsx").mkdir()
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 2 and "is a folder" in flat(err)
    assert list((tmp_path / "plan.xlsx").iterdir()) == []


def test_a_new_output_gets_normal_permissions(tmp_path):
    """mkstemp creates 0600 files; the plan is as readable as any file the user creates."""
    umask = os.umask(0o022)
    try:
        save_atomically(openpyxl.Workbook(), tmp_path / "plan.xlsx")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "plan.xlsx").stat().st_mode) == 0o644


def test_an_unexpected_failure_is_one_line_and_one_json_object(tmp_path, monkeypatch, capsys):
    import optimizer.cli as cli

    def bug(*args, **kwargs):
        raise RuntimeError("something\nnobody foresaw")

    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    monkeypatch.setattr(cli, "solve_network", bug)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", "--json")
    assert code == 2
    assert json.loads(out)["status"] == "error"
    assert err.strip().startswith("error: unexpected failure (RuntimeError: something nobody foresaw)")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "plan.xlsx").exists()


def test_an_interrupted_run_writes_nothing(tmp_path, monkeypatch, capsys):
    import optimizer.cli as cli

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    monkeypatch.setattr(cli, "solve_network", interrupt)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 130 and "interrupted; no half-written file was left" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]


# =========================================================================== 4. no formula injection

INJECTIONS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(1)", "=1+1", "=cmd|' /C calc'!A0"]


def test_site_names_that_look_like_formulas_stay_text(tmp_path, monkeypatch, capsys):
    """A plan for sites named like formulas: every such name is a text cell shown as typed (Excel's
    quote prefix), and the workbook holds no formula at all."""
    monkeypatch.chdir(tmp_path)
    sheets = base_sheets()
    sheets["Sites"] += [[name, "Korea", None] for name in INJECTIONS]
    sheets["Supply"] += [[name, "cells", None, 60 + i, 5] for i, name in enumerate(INJECTIONS)]
    sheets["Lanes"] += [[name, "Plant_SC", None, 2, 5] for name in INJECTIONS]
    write_rows(tmp_path / "in.xlsx", sheets, formulas=False)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 0, err
    assert formula_cells(tmp_path / "plan.xlsx") == []
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    shown = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(formula_guard.FORMULA_TRIGGERS):
                    assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.coordinate, cell.value)
                    shown[cell.value] = ws.title
    assert set(INJECTIONS) <= set(shown)  # the names are there, exactly as in the input


def test_every_writer_goes_through_the_formula_guard(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["=1+1", "+1", "-2", "@x", "\tx", "\rx", "\uff1dSUM(1)", "ok", -3, "=A1"])
    ws["A2"] = "=SUM(A1:A1)"
    save_atomically(wb, tmp_path / "out.xlsx", formulas=[("Sheet", "A2")])
    back = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert [(c.value, c.data_type, c.quotePrefix) for c in back[1]] == [
        ("=1+1", "s", True), ("+1", "s", True), ("-2", "s", True), ("@x", "s", True), ("\tx", "s", True),
        (back["F1"].value, "s", True), ("\uff1dSUM(1)", "s", True), ("ok", "s", False), (-3, "n", False),
        ("=A1", "s", True)]
    assert (back["A2"].value, back["A2"].data_type) == ("=SUM(A1:A1)", "f")  # allowed on purpose
    assert back["F1"].value in ("\rx", "\nx")  # a bare CR survives only if the XML writer escapes it (lxml)


def test_write_only_sheets_are_guarded_as_each_cell_is_created(tmp_path):
    """Plans, comparisons and sweeps stream their rows (openpyxl write-only mode), so no sheet can be
    walked before saving: ``text_cell`` gives the result ``neutralise_formulas`` gives afterwards,
    keeping the cell's style too."""
    from openpyxl.styles import Font

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Sheet")
    values = ["=1+1", "+1", "-2", "@x", "\tx", "\rx", "\uff1dSUM(1)", "ok", -3, "=A1", "#N/A", None]
    ws.append([formula_guard.text_cell(ws, v) for v in values])
    ws.append([formula_guard.text_cell(ws, "-inf", number_format="#,##0.00", font=Font(bold=True)),
               formula_guard.text_cell(ws, 2.5, number_format="#,##0.00")])
    assert formula_guard.neutralise_formulas(wb) == 0  # write-only sheets are skipped, not walked
    save_atomically(wb, tmp_path / "out.xlsx")
    assert formula_cells(tmp_path / "out.xlsx") == []
    back = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert [(c.value, c.data_type, c.quotePrefix) for c in back[1]] == [
        ("=1+1", "s", True), ("+1", "s", True), ("-2", "s", True), ("@x", "s", True), ("\tx", "s", True),
        (back["F1"].value, "s", True), ("\uff1dSUM(1)", "s", True), ("ok", "s", False), (-3, "n", False),
        ("=A1", "s", True), ("#N/A", "e", False)]
    assert [(c.value, c.data_type, c.quotePrefix, c.number_format, c.font.b) for c in back[2][:2]] == [
        ("-inf", "s", True, "#,##0.00", True), (2.5, "n", False, "#,##0.00", False)]


def test_formula_like_names_stay_text_in_comparisons_and_sweeps(tmp_path):
    """Policy, group and site names that look like formulas, in every sheet of a comparison (with
    SupplyMix headers made of group names) and of a sweep (its Summary names the policy set)."""
    from optimizer.compare import compare, sweep
    from optimizer.writing.comparison import write_comparison
    from optimizer.writing.sweep import write_sweep

    sheets = base_sheets()
    sheets["Sites"] += [[name, "Korea", None] for name in INJECTIONS]
    sheets["Supply"] += [[name, "cells", None, 60 + i, 5] for i, name in enumerate(INJECTIONS)]
    sheets["Lanes"] += [[name, "Plant_SC", None, 2, 5] for name in INJECTIONS]
    sheets["Groups"] += [["=evil", "Korea"], ["-far", "Mexico"]]
    sheets["Policies"] += [["+pol", "max_share", "cells", "=evil", "Plant_SC", 0.9, "quantity", None, None]]
    network = load_workbook(write_rows(tmp_path / "in.xlsx", sheets, formulas=False))
    written = [write_comparison(compare(network), tmp_path / "comparison.xlsx"),
               write_sweep(sweep(network, "+pol", 3, [0.8, 0.9]), tmp_path / "sweep.xlsx")]
    shown = set()
    for path in written:
        assert formula_cells(path) == []
        for ws in openpyxl.load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith(formula_guard.FORMULA_TRIGGERS):
                        assert cell.data_type == "s" and cell.quotePrefix, (path.name, ws.title, cell.coordinate)
                        shown.add((path.name, ws.title, cell.value))
    assert {("comparison.xlsx", "SupplyMix", "=evil (GWh)"), ("comparison.xlsx", "Comparison", "+pol"),
            ("comparison.xlsx", "Flows", "=1+1"), ("sweep.xlsx", "Summary", "+pol")} <= shown


# =========================================================================== 5. solver faults


def transport_sheets(suppliers: int = 30, plants: int = 25, periods: int = 4) -> dict:
    """A feasible all-to-all transportation problem of suppliers x plants x periods flows."""
    supply = [{"site": f"S{i}", "item": "cells", "capacity": 40 + i % 7, "unit_cost": 50 + (i * 37) % 29}
              for i in range(suppliers)]
    return {
        "Sites": [{"site": f"S{i}", "country": "Korea"} for i in range(suppliers)]
        + [{"site": f"P{j}", "country": "United States"} for j in range(plants)],
        "Items": [{"item": "cells"}],
        "Supply": supply,
        "Demand": [{"site": f"P{j}", "item": "cells", "period": None, "quantity": 30 + j % 5} for j in range(plants)],
        "Lanes": [{"origin": f"S{i}", "destination": f"P{j}", "unit_cost": (i * 7 + j * 3) % 11}
                  for i in range(suppliers) for j in range(plants)],
        "Periods": [{"period": 2026 + k} for k in range(periods)],
    }


@pytest.fixture(scope="module")
def moderate_book(tmp_path_factory) -> Path:
    # Large enough (12,000 flows) that neither solver finishes the LP within its first time check, even when
    # the machine is busy (CBC counts CPU time, which a loaded machine hands out slowly).
    return write_workbook(tmp_path_factory.mktemp("moderate") / "moderate.xlsx",
                          transport_sheets(suppliers=60, plants=50))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_a_time_limit_before_any_plan_is_exit_1_and_writes_nothing(moderate_book, tmp_path, monkeypatch, capsys,
                                                                    solver):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.xlsx").write_bytes(b"the earlier plan")
    code, out, err = run(monkeypatch, capsys, "solve", moderate_book, "-o", "plan.xlsx", "--solver", solver,
                         "--time-limit", "0.000001", "--json")
    payload = json.loads(out)
    assert (code, payload["status"]) == (1, "time_limit"), payload
    assert payload["total_cost"] is None
    assert "time limit" in payload["message"]
    plan = tmp_path / "plan.xlsx"
    if plan.read_bytes() != b"the earlier plan":  # replaced, then only by a complete workbook without a plan
        wb = openpyxl.load_workbook(plan)
        assert "Flows" not in wb.sheetnames
        assert ["Status", "time_limit"] in [[c.value for c in row[:2]] for row in wb["Summary"].iter_rows()]
    assert temporary_files(tmp_path) == []


@pytest.mark.parametrize(("solver", "missing", "other"), [("highs", "HiGHS", "cbc"), ("cbc", "PULP_CBC_CMD", "highs")])
def test_a_missing_solver_is_named_with_the_other_suggested(tmp_path, monkeypatch, capsys, solver, missing, other):
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    monkeypatch.setattr(getattr(pulp, missing), "available", lambda self: False)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", "--solver", solver)
    assert code == 2
    assert f"solver '{solver}' is not available on this machine; try --solver {other}" in flat(err)
    assert not (tmp_path / "plan.xlsx").exists()


def test_a_crashing_solver_is_named_with_the_other_suggested(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())

    def crash(self, solver=None, **kwargs):
        raise pulp.PulpSolverError("Pulp: Error while executing the solver")

    monkeypatch.setattr(pulp.LpProblem, "solve", crash)
    # only the PuLP path crashes: skip conftest's differential check against the direct backend
    monkeypatch.setattr(optimizer.api, "solve_formulation", optimizer.backend.solve_formulation)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx", "--json")
    payload = json.loads(out)
    assert code in (1, 2) and payload["status"] == "error"
    assert "solver highs failed" in payload["message"] and "--solver cbc" in payload["message"]
    assert not (tmp_path / "plan.xlsx").exists() or "Flows" not in openpyxl.load_workbook(
        tmp_path / "plan.xlsx").sheetnames


def test_solver_errors_escaping_a_command_are_still_one_clear_line(tmp_path, monkeypatch, capsys):
    import optimizer.cli as cli

    def escape(*args, **kwargs):
        raise pulp.PulpSolverError("cbc: segmentation fault")

    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "in.xlsx", base_sheets())
    monkeypatch.setattr(cli, "solve_network", escape)
    code, out, err = run(monkeypatch, capsys, "solve", "in.xlsx", "-o", "plan.xlsx")
    assert code == 2
    assert "the LP solver failed (cbc: segmentation fault); try the other solver" in flat(err)


@pytest.mark.parametrize(("column", "low", "high", "rows"), [
    ("unit_cost", 1e-6, 1e6, "from Supply row 2 unit_cost 1e-06 to Supply row 3 unit_cost 1e+06"),
    ("capacity", 1e-4, 1e7, "from Supply row 2 capacity 0.0001 to Supply row 3 capacity 1e+07"),
])
def test_numerically_dangerous_data_is_a_warning_naming_the_rows(tmp_path, monkeypatch, capsys, column, low, high,
                                                                   rows):
    sheets = base_sheets()
    index = BASE["Supply"][0].index(column)
    sheets["Supply"][1][index], sheets["Supply"][2][index] = low, high
    path = write_rows(tmp_path / "in.xlsx", sheets)
    code, out, err = run(monkeypatch, capsys, "validate", path)
    assert code == 0
    assert "warning: numerically dangerous data" in flat(err) and rows in flat(err)
    code, out, err = run(monkeypatch, capsys, "validate", path, "--json")
    assert any(rows in w for w in json.loads(out)["warnings"])


def test_numbers_near_the_solvers_infinity_are_a_warning(tmp_path):
    sheets = base_sheets()
    sheets["Demand"][1][3] = 1e16
    network = load_workbook(write_rows(tmp_path / "in.xlsx", sheets))
    assert any("Demand row 2 quantity 1e+16 is 1e+15 or more" in w for w in network.warnings)
    assert not any("dangerous" in w for w in load_workbook(write_rows(tmp_path / "ok.xlsx", base_sheets())).warnings)


def test_the_api_reports_the_time_limit_status(moderate_book):
    result = solve(load_workbook(moderate_book), solver="highs", time_limit=1e-6)
    assert (result.status, result.has_plan, result.total_cost) == ("time_limit", False, None)
