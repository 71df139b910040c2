"""The openpyxl reader, the reference for every cell: opening a workbook, reading a sheet's rows,
and locating the cell that makes openpyxl fail.

openpyxl opens every workbook (sheet names and states, styles, shared strings, read-only and with the
values a spreadsheet application stored), reads every sheet the calamine reader leaves to it
(``optimizer.reading.calamine_reader``), and reads a sheet holding formulas a second time without
stored values, to find formulas never calculated. :func:`open_workbook` runs the file guards of
``optimizer.reading.files`` first and only ever opens the file for reading.

openpyxl sizes every sheet as it opens a workbook, from its ``<dimension>``; :func:`rows_of` ignores that
size anyway, so while a workbook is opened its sheets are made unsized (:func:`_unsized_sheets`, a
patch of one name in ``openpyxl.reader.excel`` that tests/test_hostile.py checks is still there).

When openpyxl fails inside a sheet, :func:`rows_of` raises :class:`Damaged` with the last row read
whole, and :func:`locate_damage` finds the cell and the reason by feeding the sheet's cells one by one
to openpyxl's own cell parser.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from openpyxl.reader import excel
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from models.problems import Problem, WorkbookError
from optimizer.reading.files import UNREADABLE, check_input_file, require_defused_xml

EXCEL_MAX_ROWS = 1_048_576
#: A formula element in sheet XML (``<f>``, ``<f t="shared" .../>``, with or without a prefix).
FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


class Damaged(Exception):
    """openpyxl failed while parsing a sheet; ``last_row`` is the last Excel row read whole."""

    def __init__(self, cause: BaseException, last_row: int):
        super().__init__(str(cause))
        self.cause, self.last_row = cause, last_row


def unreadable(path: Path, exc: BaseException, part: str | None = None) -> Problem:
    """The one problem for a file openpyxl cannot parse, naming the file (and the part)."""
    where = f" (part {part})" if part else ""
    if is_attack(exc):  # openpyxl wraps parser errors in ValueError; look at the cause
        return Problem(path.name, None, None,
                       f"refused: its XML{where} declares entities or a DTD, which Excel never writes; this "
                       "may be an entity-expansion (billion laughs) attack")
    return Problem(path.name, None, None,
                   f"{UNREADABLE}: it is damaged{where} ({type(exc).__name__}: {shorten(exc)})")


def is_attack(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML, directly or as the cause of openpyxl's error."""
    for _ in range(20):
        if exc is None or isinstance(exc, DefusedXmlException):
            break
        exc = exc.__cause__ or exc.__context__
    return isinstance(exc, DefusedXmlException)


def shorten(text: object, limit: int = 200) -> str:
    """``text`` (an exception, a formula) on one line of at most ``limit`` characters, for a message."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


class _UnsizedSheet(ReadOnlyWorksheet):
    """openpyxl's read-only sheet, not sized as the workbook is opened.

    openpyxl sizes every sheet when it opens a workbook, from the sheet's <dimension>; a sheet without
    one (openpyxl's write-only mode writes none) is parsed to its end for that, before a row is read.
    :func:`rows_of` resets that size anyway, so the sheet would be parsed twice (at 1e6 flows of the
    benchmark's workbook, 4 of the 9 s read_rows took)."""

    def _get_size(self):
        pass


@contextlib.contextmanager
def _unsized_sheets():
    """openpyxl.load_workbook(read_only=True) makes _UnsizedSheet sheets while this lasts (a CLI reads one
    workbook at a time; tests/test_hostile.py checks the name openpyxl uses is still there)."""
    excel.ReadOnlyWorksheet = _UnsizedSheet
    try:
        yield
    finally:
        excel.ReadOnlyWorksheet = ReadOnlyWorksheet


def open_workbook(path: Path, stack: contextlib.ExitStack, data_only: bool = True) -> openpyxl.Workbook:
    """Open ``path`` read-only (the file itself only ever in mode 'rb'), closed with ``stack``. With stored
    values (``data_only``, the first opening) the file guards run first; without them the workbook shows the
    formulas. A file openpyxl cannot open raises WorkbookError naming the file."""
    if data_only:
        check_input_file(path)
        require_defused_xml(path)
    handle = stack.enter_context(path.open("rb"))
    try:
        with _unsized_sheets():
            wb = openpyxl.load_workbook(handle, read_only=True, data_only=data_only)
    except Exception as exc:  # noqa: BLE001 - any parser failure means the file is damaged
        raise WorkbookError([unreadable(path, exc)]) from None
    stack.callback(wb.close)
    return wb


def rows_of(ws) -> Iterator[tuple]:
    """The sheet's rows as value tuples (Excel row 1 first), whatever its stated dimension says.

    A wrong ``<dimension>`` (some exporters write A1) would make openpyxl's read-only mode drop
    every cell outside it; resetting it reads what is there. Parser failures become Damaged.
    """
    ws.reset_dimensions()
    row = 0
    iterator = ws.iter_rows(values_only=True)
    while True:
        try:
            line = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - a damaged cell or damaged XML
            raise Damaged(exc, row) from None
        row += 1
        if row > EXCEL_MAX_ROWS:  # only a forged file gets here; stop before counting to 10^9
            raise Damaged(ValueError(f"row numbers beyond Excel's last row ({EXCEL_MAX_ROWS:,})"), row - 1)
        yield line


def has_formulas(archive: zipfile.ZipFile | None, ws) -> bool:
    """Whether the sheet's XML holds any formula (a cheap scan; True when it cannot tell)."""
    part = getattr(ws, "_worksheet_path", None)
    if archive is None or not part:
        return True
    try:
        with archive.open(part.lstrip("/")) as stream:
            tail = b""
            while chunk := stream.read(1 << 20):
                if FORMULA_TAG.search(tail + chunk):
                    return True
                tail = chunk[-64:]
    except Exception:  # noqa: BLE001 - let the real read report the damage
        return True
    return False


def locate_damage(archive: zipfile.ZipFile | None, ws, wb, after_row: int) -> tuple[int | None, int | None, str]:
    """(row, column index, reason) of the first cell after ``after_row`` openpyxl cannot parse.

    Re-reads the sheet XML with defusedxml and feeds each cell to openpyxl's own cell parser,
    so the reason is exactly what failed. Falls back to (None, None, '') when it cannot tell.
    """
    try:
        part = ws._worksheet_path.lstrip("/")
        parser = WorkSheetParser(None, ws._shared_strings, data_only=True, epoch=wb.epoch,
                                 date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        row_tag, cell_tag = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}c"
        row = 0
        with archive.open(part) as stream:
            for event, element in iterparse(stream, events=("start", "end")):
                if event == "start" and element.tag == row_tag:
                    try:
                        row = int(element.get("r") or row + 1)
                    except ValueError:
                        return after_row + 1, None, f"row number {element.get('r')!r} is not a number"
                    parser.row_counter, parser.col_counter = row, 0
                elif event == "end" and element.tag == cell_tag:
                    if row > after_row:
                        coordinate = element.get("r")
                        try:
                            parser.parse_cell(element)
                        except Exception as exc:  # noqa: BLE001
                            column = None
                            with contextlib.suppress(Exception):
                                row, column = coordinate_to_tuple(coordinate) if coordinate else (row, None)
                            value = element.findtext(f"{{{SHEET_MAIN_NS}}}v")
                            return row, column, (f"the cell's stored value {value!r} cannot be read "
                                                 f"({type(exc).__name__}: {shorten(exc, 80)})")
                    element.clear()
                elif event == "end" and element.tag == row_tag:
                    element.clear()
    except Exception as exc:  # noqa: BLE001 - XML broken at this point: say where
        return after_row + 1, None, f"the sheet's XML is damaged from here on ({shorten(exc, 120)})"
    return None, None, ""
