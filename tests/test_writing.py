"""Unit tests of optimizer/writing/: the streamed table writer, the formula guard, the deterministic zip and
the atomic save, each checked on the file written, read back."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from optimizer import write_workbook
from optimizer.writing import save
from optimizer.writing.save import save_atomically
from optimizer.writing.table import streaming_workbook, write_table

FRAME = pd.DataFrame({"site": ["Cells_KR", "=HYPERLINK(\"http://x\",\"y\")", "-2"],
                      "quantity": [25.0, 1234.5, float("nan")],
                      "total_cost": [2062.5, 91.0, 0.0],
                      "rank": [1, 2, 3]})


def write_frame(path: Path, frame: pd.DataFrame = FRAME, title: str = "Flows") -> Path:
    with streaming_workbook() as wb:
        write_table(wb, title, frame)
        return save_atomically(wb, path)


def formula_parts(path: Path) -> list[str]:
    """Sheet parts holding a formula element (<f>)."""
    with zipfile.ZipFile(path) as archive:
        return [n for n in archive.namelist()
                if n.startswith("xl/worksheets/") and re.search(rb"<(\w+:)?f[\s>/]", archive.read(n))]


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp.xlsx"))


# --------------------------------------------------------------------------- the streamed table writer


def test_a_frame_is_written_as_a_formatted_table(tmp_path):
    ws = openpyxl.load_workbook(write_frame(tmp_path / "t.xlsx"))["Flows"]
    assert ws.freeze_panes == "A2"
    # a total cost is discounted (optimizer.writing.table.BASIS): its header says so, with no currency set
    assert [(c.value, c.font.b) for c in ws[1]] == [("site", True), ("quantity", True),
                                                      ("total_cost (discounted)", True), ("rank", True)]
    [table] = ws.tables.values()
    assert (table.displayName, table.ref, table.autoFilter.ref) == ("Flows", "A1:D4", "A1:D4")
    assert [c.name for c in table.tableColumns] == ["site", "quantity", "total_cost (discounted)", "rank"]
    body = [[(c.value, c.number_format) for c in row] for row in ws.iter_rows(min_row=2)]
    assert body == [
        [("Cells_KR", "General"), (25, "#,##0.###"), (2062.5, "#,##0.00"), (1, "General")],
        [('=HYPERLINK("http://x","y")', "General"), (1234.5, "#,##0.###"), (91, "#,##0.00"), (2, "General")],
        [("-2", "General"), (None, "#,##0.###"), (0, "#,##0.00"), (3, "General")]]
    assert [ws.column_dimensions[letter].width for letter in "ABCD"] == [28, 10, 14, 10]


def test_every_row_goes_through_the_streamed_sheets_row_conversion(tmp_path, monkeypatch):
    """StreamedSheet overrides ``_values_to_row``, a private method of openpyxl's write-only sheet, to take the cells
    it is given as they are (openpyxl learns that an item is a cell from an exception, one per cell). The override
    is only worth anything while openpyxl calls it: for the header row, appended through openpyxl; a table's body
    rows are rendered as XML by ``optimizer.writing.sheet_xml`` and never reach it."""
    from optimizer.writing.table import StreamedSheet

    calls, real = [], StreamedSheet._values_to_row
    monkeypatch.setattr(StreamedSheet, "_values_to_row",
                        lambda self, values, row_idx: calls.append(row_idx) or real(self, values, row_idx))
    ws = openpyxl.load_workbook(write_frame(tmp_path / "t.xlsx"))["Flows"]
    assert calls == [1]  # the header; the three body rows went through sheet_xml
    assert [c.value for c in ws[2]] == ["Cells_KR", 25, 2062.5, 1]


def test_formula_like_text_is_stored_as_quoted_text(tmp_path):
    path = write_frame(tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["Flows"]
    assert [(c.value, c.data_type, c.quotePrefix) for c in ws["A"][1:]] == [
        ("Cells_KR", "s", False), ('=HYPERLINK("http://x","y")', "s", True), ("-2", "s", True)]
    assert formula_parts(path) == []


def test_the_sheet_declares_its_size(tmp_path):
    path = write_frame(tmp_path / "t.xlsx")
    streamed = openpyxl.load_workbook(path, read_only=True)["Flows"]
    assert streamed.calculate_dimension() == "A1:D4"


def test_a_frame_without_columns_says_so(tmp_path):
    ws = openpyxl.load_workbook(write_frame(tmp_path / "t.xlsx", pd.DataFrame()))["Flows"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [["note"], ["no rows"]]


def test_two_saves_give_identical_bytes_with_no_time_of_writing(tmp_path):
    first, second = write_frame(tmp_path / "a.xlsx"), write_frame(tmp_path / "b.xlsx")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    properties = openpyxl.load_workbook(first).properties
    assert (properties.created.year, properties.modified.year) == (1980, 1980)


# --------------------------------------------------------------------------- write_workbook


def test_write_workbook_guards_formulas(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", {"Sites": [{"site": "=1+1", "country": "+Korea"},
                                                            {"site": "@x", "country": 3}]})
    assert formula_parts(path) == []
    ws = openpyxl.load_workbook(path)["Sites"]
    assert [[(c.value, c.data_type, c.quotePrefix) for c in row] for row in ws.iter_rows()] == [
        [("site", "s", False), ("country", "s", False)],
        [("=1+1", "s", True), ("+Korea", "s", True)],
        [("@x", "s", True), (3, "n", False)]]


def test_write_workbook_writes_frames_and_blanks(tmp_path):
    frame = pd.DataFrame({"item": ["cells", "cam"], "unit": ["GWh", None]})
    path = write_workbook(tmp_path / "in.xlsx", {"Items": frame, "Periods": [{"period": 2026}, {}]})
    wb = openpyxl.load_workbook(path)
    assert [list(r) for r in wb["Items"].iter_rows(values_only=True)] == [["item", "unit"], ["cells", "GWh"],
                                                                         ["cam", None]]
    assert [list(r) for r in wb["Periods"].iter_rows(values_only=True)] == [["period"], [2026]]


def test_write_workbook_replaces_a_file_atomically(tmp_path, monkeypatch):
    """A failure while writing leaves the earlier file as it was and no temporary file; a success replaces
    it whole, with the same bytes as a first write."""
    target = tmp_path / "in.xlsx"
    target.write_bytes(b"earlier")
    real = save.write_stable_xlsx

    def half_then_fail(wb, handle):
        handle.write(b"PK half")
        raise RuntimeError("disk gone")

    monkeypatch.setattr(save, "write_stable_xlsx", half_then_fail)
    with pytest.raises(RuntimeError, match="disk gone"):
        write_workbook(target, {"Items": [{"item": "cells"}]})
    assert target.read_bytes() == b"earlier" and temporary_files(tmp_path) == []
    monkeypatch.setattr(save, "write_stable_xlsx", real)
    write_workbook(target, {"Items": [{"item": "cells"}]})
    assert temporary_files(tmp_path) == []
    assert target.read_bytes() == write_workbook(tmp_path / "again.xlsx", {"Items": [{"item": "cells"}]}).read_bytes()


# --------------------------------------------------------------------------- rows rendered as sheet XML


def test_rendered_rows_read_back_as_written_by_openpyxl_and_calamine(tmp_path):
    """Rows rendered as XML (no cell references, inline text) read back exactly, whatever the text holds."""
    python_calamine = pytest.importorskip("python_calamine")
    texts = ["a & b <c>", " lead", "trail ", "line\r\nbreak", "\t=tab", "=1+1", "\uff1dfull", "plain", None]
    frame = pd.DataFrame({"text": texts, "number": [1.5, float("nan"), float("inf"), -float("inf"), 1e-5, 1e16,
                                                     0.1, -2.0, 3.0],
                          "count": range(9), "flag": [True, False] * 4 + [True],
                          "mixed": ["x", 2.5, 3, None, True, "-y", 0.25, "", "z"]})
    path = write_frame(tmp_path / "t.xlsx", frame)
    ws = openpyxl.load_workbook(path)["Flows"]
    got = [list(row) for row in ws.iter_rows(min_row=2, values_only=True)]
    assert [row[0] for row in got] == [t or None for t in texts]
    assert [row[1] for row in got] == [1.5, None, "inf", "-inf", 1e-5, 1e16, 0.1, -2, 3]
    assert [row[2] for row in got] == list(range(9))
    assert [row[3] for row in got] == ["yes" if flag else "no" for flag in frame["flag"]]  # a word, never 1/0
    assert [row[4] for row in got] == ["x", 2.5, 3, None, True, "-y", 0.25, None, "z"]
    assert [(c.value, c.quotePrefix) for c in ws["A"][1:8]] == [
        ("a & b <c>", False), (" lead", False), ("trail ", False), ("line\r\nbreak", False), ("\t=tab", True),
        ("=1+1", True), ("\uff1dfull", True)]
    assert ws["E7"].quotePrefix and not ws["E2"].quotePrefix
    assert formula_parts(path) == []
    calamine = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_name("Flows").to_python()
    assert [row[0] for row in calamine[1:]] == [t or "" for t in texts]


def test_a_table_of_dates_goes_through_openpyxl_cells(tmp_path):
    """A value the XML renderer does not write (a date) sends the whole table through openpyxl's cells."""
    import datetime as dt

    frame = pd.DataFrame({"when": [dt.datetime(2026, 1, 1), None], "quantity": [1.0, 2.0]})
    ws = openpyxl.load_workbook(write_frame(tmp_path / "t.xlsx", frame))["Flows"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [[dt.datetime(2026, 1, 1), 1], [None, 2]]
    assert temporary_files(tmp_path) == []
