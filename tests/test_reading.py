"""Unit tests of optimizer/reading/: the file guards, the two readers, cell validation and loading, each
on a small workbook whose every cell is known."""

from __future__ import annotations

import contextlib
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from models.problems import Problem, WorkbookError
from models.rows import DemandRow, SupplyRow
from optimizer import load_workbook, write_workbook
from optimizer.reading.calamine_reader import CalamineReader
from optimizer.reading.cells import read_sheet
from optimizer.reading.files import check_input_file
from optimizer.reading.load import network_from_rows, read_rows
from optimizer.reading.openpyxl_reader import open_workbook, rows_of

SHEETS = {
    "Sites": [{"site": "Plant_SC", "country": "United States"}, {"site": "Cells_KR", "country": "Korea"},
              {"site": "Cells_US", "country": "United States"}],
    "Items": [{"item": "cells", "unit": "GWh"}],
    "Supply": [{"site": "Cells_KR", "item": "cells", "capacity": None, "unit_cost": 70.5},
               {"site": "Cells_US", "item": "cells", "capacity": 20, "unit_cost": 90}],
    "Demand": [{"site": "Plant_SC", "item": "cells", "quantity": 25}],
    "Lanes": [{"origin": "Cells_KR", "destination": "Plant_SC", "unit_cost": 2},
              {"origin": "Cells_US", "destination": "Plant_SC", "unit_cost": 1}],
}
SUPPLY_ROWS = [("site", "item", "capacity", "unit_cost"), ("Cells_KR", "cells", None, 70.5),
               ("Cells_US", "cells", 20, 90)]


def sheet_rows(path: Path, title: str) -> tuple[list[tuple] | None, bool, list[tuple]]:
    """(the calamine reader's rows, whether it saw formulas, openpyxl's rows) of one sheet."""
    with contextlib.ExitStack() as stack:
        wb = open_workbook(path, stack)
        archive = stack.enter_context(zipfile.ZipFile(path))
        fast, formulas = CalamineReader(path, archive, wb, stack).read(wb[title])
        return fast, formulas, list(rows_of(wb[title]))


def rezip(path: Path, part: str, edit) -> None:
    """Rewrite one part of the workbook at ``path`` with ``edit(bytes) -> bytes``."""
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            target.writestr(info, edit(data) if info.filename == part else data)


def sheet_part(path: Path, title: str) -> str:
    with contextlib.ExitStack() as stack:
        return open_workbook(path, stack)[title]._worksheet_path.lstrip("/")


# --------------------------------------------------------------------------- the two readers


def test_calamine_reads_a_plain_sheet_as_openpyxl_does(tmp_path):
    path = write_workbook(tmp_path / "plain.xlsx", SHEETS)
    fast, formulas, reference = sheet_rows(path, "Supply")
    assert formulas is False
    assert fast == reference == SUPPLY_ROWS
    assert [type(v) for v in fast[2]] == [str, str, int, int]  # whole numbers as openpyxl's ints


def test_a_sheet_holding_a_formula_is_left_to_openpyxl(tmp_path):
    path = write_workbook(tmp_path / "plain.xlsx", SHEETS)
    wb = openpyxl.load_workbook(path)
    wb["Supply"]["D3"] = "=45*2"  # openpyxl stores no calculated value
    wb.save(path)
    fast, formulas, reference = sheet_rows(path, "Supply")
    assert (fast, formulas) == (None, True)
    assert reference[2] == ("Cells_US", "cells", 20, None)
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    [problem] = exc.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("Supply", 3, "unit_cost")
    assert problem.message.startswith("cell D3 holds the formula =45*2 but no calculated value")


@pytest.mark.parametrize("engine", ["auto", "openpyxl"])
def test_a_damaged_cell_is_located_by_sheet_row_and_column(tmp_path, engine):
    """A stored number openpyxl cannot parse: the problem names the cell and stops that sheet only."""
    path = write_workbook(tmp_path / "damaged.xlsx", SHEETS)
    part = sheet_part(path, "Supply")
    rezip(path, part, lambda xml: xml.replace(b"<v>90</v>", b"<v>9O</v>", 1))
    rows, warnings, problems = read_rows(path, engine=engine)
    assert warnings == []
    assert [(p.sheet, p.row, p.column) for p in problems] == [("Supply", 3, "unit_cost")]
    assert re.match(r"the cell's stored value '9O' cannot be read \(ValueError: .*\); the rest of the sheet was "
                    r"not read", problems[0].message), problems[0].message
    assert SupplyRow not in rows  # the sheet failed: none of its rows is used
    assert len(rows[next(m for m in rows if m.sheet_name == "Lanes")]) == 2  # the other sheets are read


def test_broken_sheet_xml_is_a_problem_of_the_file_naming_sheet_and_row(tmp_path):
    path = write_workbook(tmp_path / "broken.xlsx", SHEETS)
    part = sheet_part(path, "Lanes")
    rezip(path, part, lambda xml: xml.replace(b'<row r="3"', b'<row r="3"<', 1))
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    [problem] = exc.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("broken.xlsx", None, None)
    assert "it is damaged: sheet 'Lanes', row 3" in problem.message


# --------------------------------------------------------------------------- cells into row models


def test_an_unknown_column_close_to_a_known_one_is_named_in_its_warning():
    # Case, spaces and underscores aside, 'Shortage Cost' is the shortage_cost column: the warning says so, and
    # the column is still not read (the header must be spelled as the format spells it).
    problems, warnings = [], []
    lines = iter([("site", "item", "period", "quantity", "Shortage Cost"), ("S1", "cells", "2030", 5, 30)])
    rows = read_sheet(DemandRow, lines, problems, warnings)
    assert [(r.row, r.shortage_cost) for r in rows] == [(2, None)]
    assert problems == []
    assert warnings == ["Demand: column 'Shortage Cost' (E) is not part of the format, so its values are not read "
                        "(did you mean 'shortage_cost'?)"]


def test_read_sheet_matches_the_header_and_locates_every_problem():
    problems, warnings, header = [], [], {}
    lines = iter([("Site", " ITEM ", "unit_cost", "colour", "capacity"),
                  ("S1", "cells", 5, "red", None),
                  (None, None, None, None, None),  # blank: skipped
                  ("S2", "cells", "#N/A", None, 3),
                  ("S3", "cells", -1, None, "lots"),
                  ()])  # a row missing from the XML
    rows = read_sheet(SupplyRow, lines, problems, warnings, header=header)
    assert [(r.row, r.site, r.unit_cost, r.capacity) for r in rows] == [(2, "S1", 5.0, None)]
    assert warnings == ["Supply: column 'colour' (D) is not part of the format, so its values are not read"]
    assert header == {1: "site", 2: "item", 3: "unit_cost", 5: "capacity"}
    assert problems == [
        Problem("Supply", 4, "unit_cost", "the cell shows the Excel error #N/A; fix the formula or type the value",
                "#N/A"),
        Problem("Supply", 5, "capacity", "'lots': expected a number", "lots"),
        Problem("Supply", 5, "unit_cost", "-1: expected a number >= 0", -1)]


def test_read_sheet_names_missing_and_twice_given_columns():
    problems: list[Problem] = []
    rows = read_sheet(SupplyRow, iter([("site", "site", "unit_cost"), ("S1", "S1", 5)]), problems, [])
    assert rows == []
    assert [(p.row, p.column, p.message) for p in problems] == [
        (1, "site", "column appears twice (columns A and B)"), (1, "item", "required column 'item' is missing")]


# --------------------------------------------------------------------------- file guards and loading


def test_a_text_file_is_refused_before_anything_is_parsed(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_text("site,country\nPlant_SC,United States\n")
    with pytest.raises(WorkbookError) as exc:
        check_input_file(path)
    assert [str(p) for p in exc.value.problems] == [
        "export.xlsx: cannot be read as an Excel .xlsx workbook: it is a text file (CSV or similar), not an .xlsx "
        "workbook; open it in Excel (or LibreOffice) and save it as an Excel Workbook (.xlsx)"]


def test_a_part_declaring_a_dtd_is_refused_by_its_prolog(tmp_path):
    path = write_workbook(tmp_path / "dtd.xlsx", SHEETS)
    rezip(path, "xl/workbook.xml", lambda xml: b'<!DOCTYPE x [<!ENTITY a "b">]>' + xml)
    with pytest.raises(WorkbookError) as exc:
        check_input_file(path)
    assert "refused: its part 'xl/workbook.xml' declares entities or a DTD" in exc.value.problems[0].message


def test_loading_is_reading_then_validating_the_rows(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", {**SHEETS, "Demand": [{"site": "Plant_SC", "item": "cells",
                                                                       "quantity": 25e12}]})
    rows, warnings, problems = read_rows(path)
    network = network_from_rows(rows, warnings, problems, source=str(path))
    assert network.warnings == load_workbook(path).warnings
    assert network.warnings == ("numerically dangerous data: quantities span more than 1e+09-fold, from Supply "
                                "row 3 capacity 20 to Demand row 2 quantity 2.5e+13; the solver may lose precision "
                                "and return an inaccurate plan. Rescale the units, or check these rows for typing "
                                "errors",)
    with pytest.raises(WorkbookError) as exc:
        network_from_rows(rows, warnings, [Problem("Lanes", 9, "origin", "bad")], source=str(path))
    assert [str(p) for p in exc.value.problems] == ["Lanes row 9, column origin: bad"]
