"""Reading a sourcing workbook (contract v2) into the validated network.

Reading happens in two passes that both collect every problem before failing: each row is
validated against its sheet's pydantic model (types, ranges, required cells), then the rows
are cross-checked as a whole (references, selectors, duplicates) by ``models.build_network``.

Before that, ``optimizer.safety.check_input_file`` decides whether the file is an .xlsx at all
and safe to open (zip-bomb limits, no XML entity declarations). Cells are read by the value a
spreadsheet application stored (formulas included); a formula with no stored value, an Excel
error value and a stored value openpyxl cannot parse are problems naming the cell. Nothing here
raises anything but WorkbookError for a bad file, whatever its content.

openpyxl is the reference reader: it opens the workbook (sheet names and states), reads every sheet
holding a formula and locates every damaged cell. A sheet whose XML is plain (no formula, no date
format, no error cell, numbers and text written the way Excel, LibreOffice and openpyxl write them, in
order; see :class:`_Calamine`) has its cells read by python-calamine instead, several times faster, as the
same row tuples openpyxl would give; anything unusual, or any failure of calamine, leaves the sheet to
openpyxl. ``SOURCING_READER=openpyxl`` (or ``read_rows(path, engine="openpyxl")``) reads every sheet
with openpyxl.
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
import os
import re
import warnings
import xml.parsers.expat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from pydantic import ValidationError

from models.network import Network, build_network
from models.problems import Problem, WorkbookError, describe
from models.rows import (
    COLUMN_FOR_FIELD,
    FIELD_FOR_COLUMN,
    IGNORED_COLUMNS,
    IGNORED_SHEETS,
    SHEET_MODELS,
    ItemRow,
    SheetRow,
    SiteRow,
    as_text,
)
from optimizer.rules import RULE_SPECS
from optimizer.safety import UNREADABLE, check_input_file, numeric_warnings, require_defused_xml

try:
    import python_calamine
except ImportError:  # a declared dependency; without it every sheet is read by openpyxl
    python_calamine = None

SHEET_ORDER = {model.sheet_name: i for i, model in enumerate(SHEET_MODELS)}
KNOWN_SHEETS = {model.sheet_name.lower(): model.sheet_name for model in SHEET_MODELS}


def _normalise(name: Any) -> str:
    return str(name).strip().lower() if name is not None else ""


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and not -1e308 < value < 1e308:
        return math.inf if value > 0 else -math.inf  # float() of it would raise OverflowError
    return value


#: What Excel shows in a cell whose formula failed (read as text by openpyxl).
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                          "#BUSY!", "#UNKNOWN!", "#PYTHON!"})
EXCEL_MAX_ROWS = 1_048_576
#: A formula element in sheet XML (``<f>``, ``<f t="shared" .../>``, with or without a prefix).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


class _Damaged(Exception):
    """openpyxl failed while parsing a sheet; ``last_row`` is the last Excel row read whole."""

    def __init__(self, cause: BaseException, last_row: int):
        super().__init__(str(cause))
        self.cause, self.last_row = cause, last_row


def _unreadable(path: Path, exc: BaseException, part: str | None = None) -> Problem:
    """The one problem for a file openpyxl cannot parse, naming the file (and the part)."""
    where = f" (part {part})" if part else ""
    if _is_attack(exc):  # openpyxl wraps parser errors in ValueError; look at the cause
        return Problem(path.name, None, None,
                       f"refused: its XML{where} declares entities or a DTD, which Excel never writes; this "
                       "may be an entity-expansion (billion laughs) attack")
    return Problem(path.name, None, None,
                   f"{UNREADABLE}: it is damaged{where} ({type(exc).__name__}: {_short(exc)})")


def _is_attack(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML, directly or as the cause of openpyxl's error."""
    for _ in range(20):
        if exc is None or isinstance(exc, DefusedXmlException):
            break
        exc = exc.__cause__ or exc.__context__
    return isinstance(exc, DefusedXmlException)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."


class _UnsizedSheet(ReadOnlyWorksheet):
    """openpyxl's read-only sheet, not sized as the workbook is opened.

    openpyxl sizes every sheet when it opens a workbook, from the sheet's <dimension>; a sheet without
    one (openpyxl's write-only mode writes none) is parsed to its end for that, before a row is read.
    :func:`_rows_of` resets that size anyway, so the sheet would be parsed twice (at 1e6 flows of the
    benchmark's workbook, 4 of the 9 s read_rows took)."""

    def _get_size(self):
        pass


@contextlib.contextmanager
def _unsized_sheets():
    """openpyxl.load_workbook(read_only=True) makes _UnsizedSheet sheets while this lasts (a CLI reads one
    workbook at a time; tests/test_hostile.py checks the name openpyxl uses is still there)."""
    from openpyxl.reader import excel

    excel.ReadOnlyWorksheet = _UnsizedSheet
    try:
        yield
    finally:
        excel.ReadOnlyWorksheet = ReadOnlyWorksheet


def _open(path: Path, stack: contextlib.ExitStack, data_only: bool = True) -> openpyxl.Workbook:
    """Open ``path`` read-only (the file itself only ever in mode 'rb') after the safety checks."""
    if data_only:
        check_input_file(path)
        require_defused_xml(path)
    handle = stack.enter_context(path.open("rb"))
    try:
        with _unsized_sheets():
            wb = openpyxl.load_workbook(handle, read_only=True, data_only=data_only)
    except Exception as exc:  # noqa: BLE001 - any parser failure means the file is damaged
        raise WorkbookError([_unreadable(path, exc)]) from None
    stack.callback(wb.close)
    return wb


def _rows_of(ws) -> Iterator[tuple]:
    """The sheet's rows as value tuples (Excel row 1 first), whatever its stated dimension says.

    A wrong ``<dimension>`` (some exporters write A1) would make openpyxl's read-only mode drop
    every cell outside it; resetting it reads what is there. Parser failures become _Damaged.
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
            raise _Damaged(exc, row) from None
        row += 1
        if row > EXCEL_MAX_ROWS:  # only a forged file gets here; stop before counting to 10^9
            raise _Damaged(ValueError(f"row numbers beyond Excel's last row ({EXCEL_MAX_ROWS:,})"), row - 1)
        yield line


def _has_formulas(archive: zipfile.ZipFile | None, ws) -> bool:
    """Whether the sheet's XML holds any formula (a cheap scan; True when it cannot tell)."""
    part = getattr(ws, "_worksheet_path", None)
    if archive is None or not part:
        return True
    try:
        with archive.open(part.lstrip("/")) as stream:
            tail = b""
            while chunk := stream.read(1 << 20):
                if _FORMULA_TAG.search(tail + chunk):
                    return True
                tail = chunk[-64:]
    except Exception:  # noqa: BLE001 - let the real read report the damage
        return True
    return False


#: What calamine reads exactly as openpyxl does, written as a grammar of the XML inside <sheetData> (and of the
#: shared strings): rows numbered, cells referenced on their row, types s, n, b and inlineStr with one value
#: each, as Excel, LibreOffice, openpyxl and xlsxwriter write them. A sheet whose XML is anything else (an
#: error cell, a formula, a date written as text, a number like "1e5", " 3", "3.0" or "nan", white space
#: between elements, another namespace, ...) is read by openpyxl.
#:
#: Text: no carriage return (XML reads it as a line feed, calamine keeps it); without xml:space="preserve",
#: nothing calamine trims (white space, or a character reference, at either end).
_TEXT = rb'(?:<t>(?![\s&])[^<\r]*+(?<![\s;])|<t xml:space="preserve">[^<\r]*+)</t>'
#: A string: its text then formatted runs, read the same by both (runs after the text, no phonetic runs).
_STRING = (rb"(?:" + _TEXT + rb")?(?:<r>(?:<rPr>(?:<[A-Za-z]++(?: [A-Za-z]++=\"[^\"<>]*+\")*+/>)*+</rPr>)?"
           + _TEXT + rb"</r>)*+")
#: A stored number: a plain decimal (openpyxl reads "2026" as int and "2.5" as float, calamine both as floats),
#: not a whole number written as a decimal ("3.0", or "2.0000000000000001", which a double rounds to 2).
_NUMBER = (rb"(?!-?(?:0\.0{300}|[1-9](?:" + b"|".join(rb"[0-9]{%d}\.0{%d}" % (j, 14 - j) for j in range(14))
           + rb"|[0-9]{14,}\.)))-?(?:0|[1-9][0-9]*+)(?:\.[0-9]*+(?<=[1-9]))?")
_CELL = (rb'<c r="[A-Z]{1,3}(?P=row)"(?: s="[0-9]++")?(?:'
         rb"(?: t=\"n\")?(?:/>|>(?:<v>" + _NUMBER + rb"</v>)?</c>)"
         rb'| t="s"(?:/>|>(?:<v>(?:0|[1-9][0-9]*+)</v>)?</c>)'
         rb'| t="b"(?:/>|>(?:<v>[01]</v>)?</c>)'
         rb'| t="inlineStr"(?:/>|>(?:<is>' + _STRING + rb"</is>)?</c>))")
_ATTRIBUTES = rb'(?: [^\s=<>/"]++="[^"<>]*+")*+'
_SHEET_DATA = re.compile(rb'(?:<row r="(?P<row>[1-9][0-9]{0,6})"' + _ATTRIBUTES + rb"(?:/>|>(?:" + _CELL
                         + rb")*+</row>))*+")
_SHARED_STRINGS = re.compile(rb"(?:<\?xml[^>]*\?>\s*)?<sst" + _ATTRIBUTES + rb"(?:/>|>(?:<si>" + _STRING
                             + rb"</si>|<si/>)*+</sst>)\s*")
_ROW_NUMBER = re.compile(rb'<row r="([0-9]+)"')
_COLUMN_OR_ROW = re.compile(rb'<(?:c r="([A-Z]+)|row )')
#: Excel's escapes (_x000D_): calamine decodes them, openpyxl keeps them (and drops x005F_ in shared strings).
_EXCEL_ESCAPE = re.compile(rb"_[xX][0-9A-Fa-f]{4}_|[xX]005[fF]_")
_DECLARED_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"'](?!utf-?8[\"'])", re.I)
_SPREADSHEET_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: Below 2**53 every whole number is exact in a double: calamine's float is openpyxl's int.
_EXACT = float(2 ** 53)
#: A sheet whose area (last row x last column) exceeds this many times its cells, plus a margin, is sparse
#: (a stray cell on row 1,048,576): calamine would hold every empty cell, openpyxl skips the gap.
_SPARSE_RATIO, _SPARSE_MARGIN = 4, 1_000_000
_COLUMNS: dict[bytes, int] = {b"": 0}


class _NotPlain(Exception):
    """Raised inside the fast reader: openpyxl reads this sheet."""


def _plain_part(data: bytes) -> bool:
    """What a sheet (outside <sheetData>) and the shared strings must be: UTF-8, the spreadsheet namespace as
    the only default one and bound to no prefix, no DTD, comment or CDATA, no Excel escape."""
    return not (b"<!" in data or data.count(b'xmlns="') != 1 or data.count(_SPREADSHEET_NS) != 1
                or b'xmlns="' + _SPREADSHEET_NS + b'"' not in data
                or _DECLARED_ENCODING.search(data[:200]) is not None
                or (any(m in data for m in (b"_x", b"_X", b"005F_", b"005f_")) and _EXCEL_ESCAPE.search(data)))


def _layout(content: bytes) -> tuple[int, int, int] | None:
    """(cells, last row, last column) of <sheetData> content whose rows come in increasing order and the cells
    of each row in increasing columns, as every spreadsheet application writes them; None otherwise (openpyxl
    keeps only the cells in that order, calamine places every cell by its reference). The grammar has already
    checked that every cell is on its row."""
    rows = list(map(int, _ROW_NUMBER.findall(content)))
    if any(map(operator.ge, rows, rows[1:])):
        return None
    letters = _COLUMN_OR_ROW.findall(content)  # b"" for a row
    for new in set(letters).difference(_COLUMNS):
        _COLUMNS[new] = column_index_from_string(new.decode())  # A..ZZZ, as the grammar allows
    columns = np.fromiter(map(_COLUMNS.__getitem__, letters), dtype=np.int64, count=len(letters))
    following = columns[1:]
    if ((following != 0) & (following <= columns[:-1])).any():
        return None
    last_row, last_column = (rows[-1] if rows else 0), int(columns.max(initial=0))
    if last_row > EXCEL_MAX_ROWS or last_column > 16_384:
        return None
    return len(letters) - len(rows), last_row, last_column


def _well_formed(data: bytes) -> bool:
    """Whether the XML parses (with namespaces, as openpyxl's parser does), checked at the speed of expat."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError:
        return False
    return True


def _rest_reads(rest: bytes, wb) -> bool:
    """Whether openpyxl reads the sheet's XML outside <sheetData> (views, columns, merged cells, page setup,
    ...) without failing, as it would after the rows: calamine ignores all of it."""
    from openpyxl.worksheet._reader import WorkSheetParser

    parser = WorkSheetParser(io.BytesIO(rest), [], data_only=True, epoch=wb.epoch,
                             date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
    try:
        for _ in parser.parse():  # a row outside <sheetData>: openpyxl reads it, calamine does not
            return False
    except Exception:  # noqa: BLE001 - openpyxl's read reports it
        return False
    return True


def _openpyxl_row(row: list) -> tuple:
    """A row of calamine values as openpyxl gives it (``iter_rows(values_only=True)``): None for an empty
    cell (calamine's ''; an empty text reads the same, _read_sheet treats both alike), int for a whole
    number (openpyxl reads "2026" as int; a decimal text like "2.5" stays float: the XML check sent whole
    decimals like "3.0" to openpyxl), booleans as they are. Raises _NotPlain for what openpyxl would read
    otherwise: a date or time (a format calamine takes for a date), a non-finite number (nan, 1e999 or 400
    digits, which openpyxl refuses or reads as an int) and a whole number beyond 2**53 (inexact in a double,
    exact as openpyxl's int)."""
    out = []
    for value in row:
        kind = type(value)
        if kind is str:
            out.append(value or None)
        elif kind is float:
            if value.is_integer():
                if not -_EXACT < value < _EXACT:
                    raise _NotPlain
                out.append(int(value))
            elif math.isfinite(value):
                out.append(value)
            else:
                raise _NotPlain
        elif kind is bool or kind is int:
            out.append(value)
        else:
            raise _NotPlain
    return tuple(out)


class _Calamine:
    """Reads the cells of plain sheets with python-calamine, as the row tuples openpyxl would give.

    openpyxl has opened the workbook (``wb``): sheet names, states, styles and shared strings are its.
    ``read(ws)`` returns ``(rows, has_formulas)``: the rows when calamine read the sheet, or None when
    openpyxl must: the sheet holds a formula (then ``has_formulas``), or its <sheetData> is not in the
    grammar of _SHEET_DATA, or the rest of it fails :func:`_plain_part`, :func:`_layout`,
    :func:`_well_formed` or :func:`_rest_reads`, or a cell is styled with a date format, or calamine fails
    or gives a value :func:`_openpyxl_row` does not take. Nothing here raises: the worst case is openpyxl
    reading the sheet, as it reads every sheet without this class.
    """

    def __init__(self, path: Path, archive: zipfile.ZipFile, wb, stack: contextlib.ExitStack):
        self.path, self.archive, self.wb, self.stack = path, archive, wb, stack
        self.book = None  # the calamine workbook, opened for the first plain sheet
        dates, durations = getattr(wb, "_date_formats", None), getattr(wb, "_timedelta_formats", None)
        styles = set(dates or ()) | set(durations or ())
        # False once the shared strings or calamine itself rule it out; from the start when the date styles are
        # unknown, or a number without a style is a date to openpyxl
        self.usable = dates is not None and durations is not None and 0 not in styles
        self.date_style = re.compile(rb' s="(?:' + b"|".join(b"%d" % i for i in sorted(styles)) + rb')"') \
            if styles else None

    def read(self, ws) -> tuple[list[tuple] | None, bool]:
        part = getattr(ws, "_worksheet_path", None)
        try:
            with self.archive.open(part.lstrip("/")) as stream:  # in chunks: a part whose zip entry states
                data = b"".join(iter(lambda: stream.read(1 << 20), b""))  # too small a size inflates no further
        except Exception:  # noqa: BLE001 - as _has_formulas: let openpyxl's read report the damage
            return None, True
        layout = self._plain_layout(data) if self.usable else None
        if layout is None:
            return None, _FORMULA_TAG.search(data) is not None
        del data
        try:
            return self._rows(ws, *layout), False
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - _NotPlain, calamine failed, or Rust panicked (PyO3 raises a
            return None, False  # BaseException): openpyxl reads the sheet and says what is wrong with it

    def _plain_layout(self, data: bytes) -> tuple[int, int, int] | None:
        """The layout of a sheet calamine may read (see _SHEET_DATA), or None."""
        start = data.find(b"<sheetData")
        if start < 0 or data.count(b"<sheetData") != 1:
            return None
        if data.startswith(b"<sheetData/>", start):
            content, end = b"", start + len(b"<sheetData/>")
        elif data.startswith(b"<sheetData>", start) and (close := data.find(b"</sheetData>", start)) >= 0:
            content, end = data[start + len(b"<sheetData>"):close], close + len(b"</sheetData>")
        else:
            return None
        rest = data[:start] + b"<sheetData/>" + data[end:]
        if (not _plain_part(rest) or _FORMULA_TAG.search(rest) or not _SHEET_DATA.fullmatch(content)
                or (self.date_style is not None and self.date_style.search(content))
                or (any(m in content for m in (b"_x", b"_X")) and _EXCEL_ESCAPE.search(content))):
            return None
        layout = _layout(content)
        if layout is None or not _well_formed(data) or not _rest_reads(rest, self.wb):
            return None
        return layout

    def _rows(self, ws, cells: int, last_row: int, last_column: int) -> list[tuple] | None:
        if last_row * last_column > _SPARSE_RATIO * cells + _SPARSE_MARGIN:
            return None
        book = self._book(ws)
        sheet = book.get_sheet_by_name(ws.title)
        rows = sheet.to_python(skip_empty_area=False)  # from A1, as openpyxl numbers rows
        if len(rows) > last_row or (rows and len(rows[0]) > last_column):
            return None  # calamine read more than the XML holds: not the same part, or not the same reading
        for i, row in enumerate(rows):  # in place: one copy of the sheet in memory
            rows[i] = _openpyxl_row(row)
        return rows

    def _book(self, ws):
        if self.book is None:
            self.usable = False  # until the workbook is open and its shared strings are plain
            if not self._shared_strings_plain(ws):
                raise _NotPlain
            handle = self.stack.enter_context(self.path.open("rb"))
            book = python_calamine.CalamineWorkbook.from_filelike(handle)
            self.stack.callback(book.close)
            self.names = book.sheet_names
            self.book, self.usable = book, True
        if self.names.count(ws.title) != 1:
            raise _NotPlain
        return self.book

    def _shared_strings_plain(self, ws) -> bool:
        """Whether calamine reads the same shared strings as openpyxl did: the same part (openpyxl finds it
        by content type, calamine by its usual name), in the grammar of _SHARED_STRINGS."""
        from openpyxl.packaging.manifest import Manifest
        from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
        from openpyxl.xml.functions import fromstring

        named = [n for n in self.archive.namelist() if n.lower() == "xl/sharedstrings.xml"]
        found = Manifest.from_tree(fromstring(self.archive.read(ARC_CONTENT_TYPES))).find(SHARED_STRINGS)
        if found is None:
            return not named
        if found.PartName != "/xl/sharedStrings.xml" or named != ["xl/sharedStrings.xml"]:
            return False
        data = self.archive.read(named[0])
        return (_plain_part(data) and _SHARED_STRINGS.fullmatch(data) is not None
                and data.count(b"<si>") + data.count(b"<si/>") == len(ws._shared_strings))


def _locate_damage(archive: zipfile.ZipFile | None, ws, wb, after_row: int) -> tuple[int | None, int | None, str]:
    """(row, column index, reason) of the first cell after ``after_row`` openpyxl cannot parse.

    Re-reads the sheet XML with defusedxml and feeds each cell to openpyxl's own cell parser,
    so the reason is exactly what failed. Falls back to (None, None, '') when it cannot tell.
    """
    try:
        from defusedxml.ElementTree import iterparse
        from openpyxl.utils.cell import coordinate_to_tuple
        from openpyxl.worksheet._reader import WorkSheetParser
        from openpyxl.xml.constants import SHEET_MAIN_NS

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
                                                 f"({type(exc).__name__}: {_short(exc, 80)})")
                    element.clear()
                elif event == "end" and element.tag == row_tag:
                    element.clear()
    except Exception as exc:  # noqa: BLE001 - XML broken at this point: say where
        return after_row + 1, None, f"the sheet's XML is damaged from here on ({_short(exc, 120)})"
    return None, None, ""


def _validate_row(model: type[SheetRow], values: dict[str, Any], row: int,
                  problems: list[Problem]) -> SheetRow | None:
    try:
        return model.model_validate({**values, "row": row})
    except ValidationError as exc:
        required = set(model.required_columns())
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            column = COLUMN_FOR_FIELD.get(field, field)
            value = values.get(field)
            if value is None and column in required:
                message = "a value is required"
            else:
                message = err["msg"].removeprefix("Value error, ")
                message = f"{describe(value)}: {message}" if value is not None else message
            problems.append(Problem(model.sheet_name, row, column, message, value))
        return None


def _key_only(model: type[SheetRow], values: dict[str, Any], row: int) -> SheetRow | None:
    """A placeholder for an invalid Sites/Items row whose id is usable, so that references to
    it elsewhere do not produce a cascade of 'unknown site' problems."""
    key = "site" if model is SiteRow else "item"
    try:
        ident = as_text(values.get(key))  # the same reading as a valid row: 101 -> '101'
    except ValueError:
        return None
    if not isinstance(ident, str):
        return None
    filler = {"country": ""} if model is SiteRow else {}
    return model.model_construct(**{key: ident, "row": row, **filler})


def read_rows(path: str | Path, *, engine: str | None = None
              ) -> tuple[dict[type, list[SheetRow]], list[str], list[Problem]]:
    """Read every known sheet into row models; return (rows by model, warnings, problems).

    The file is first checked by :func:`optimizer.safety.check_input_file` (what it really is,
    zip-bomb limits) and only ever opened for reading. Formula cells are read by the value Excel
    stored with them; a formula without one (a workbook written by a program and never opened in
    a spreadsheet application) is a problem naming the cell. openpyxl's own warnings are muted:
    what matters about a cell is reported as a problem or warning of ours.

    ``engine="auto"`` (the default, unless ``SOURCING_READER=openpyxl``) reads plain sheets with
    python-calamine (see :class:`_Calamine`); ``"openpyxl"`` reads every sheet with openpyxl. Both
    give the same rows, warnings and problems.
    """
    if engine is None:
        engine = "openpyxl" if os.environ.get("SOURCING_READER", "").strip().lower() == "openpyxl" else "auto"
    elif engine not in ("auto", "openpyxl"):
        raise ValueError(f"engine must be 'auto' or 'openpyxl', not {engine!r}")
    path = Path(path)
    problems: list[Problem] = []
    warnings_out: list[str] = []
    rows: dict[type, list[SheetRow]] = {}
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = _open(path, stack)
        try:
            archive = stack.enter_context(zipfile.ZipFile(stack.enter_context(path.open("rb"))))
        except Exception:  # noqa: BLE001 - openpyxl could open it; the formula scan is optional
            archive = None
        fast = None
        if engine == "auto" and python_calamine is not None and archive is not None:
            fast = _Calamine(path, archive, wb, stack)
        formula_book = None
        sheets: dict[str, Any] = {}
        for ws in wb.worksheets:
            name = _normalise(ws.title)
            if name in sheets and name in KNOWN_SHEETS:
                problems.append(Problem(KNOWN_SHEETS[name], None, None,
                                        f"two sheets are called {sheets[name].title!r} and {ws.title!r}; "
                                        "sheet names match ignoring case and spaces, so keep only one"))
                continue
            sheets.setdefault(name, ws)
        for name, ws in sheets.items():
            if name not in KNOWN_SHEETS and name not in IGNORED_SHEETS:
                warnings_out.append(f"sheet {ws.title!r} is not part of the workbook format and was ignored")
        for model in SHEET_MODELS:
            ws = sheets.get(model.sheet_name.lower())
            if ws is None:
                if model.required_sheet:
                    problems.append(Problem(model.sheet_name, None, None, "required sheet is missing"))
                continue
            if getattr(ws, "sheet_state", "visible") != "visible":
                warnings_out.append(f"sheet {ws.title!r} is hidden; it was read like a visible sheet")
            lines, has_formulas = fast.read(ws) if fast is not None else (None, _has_formulas(archive, ws))
            formulas = None
            if has_formulas:
                if formula_book is None:
                    formula_book = _open(path, stack, data_only=False)
                formulas = formula_book[ws.title]
            try:
                rows[model] = _read_sheet(model, ws, problems, warnings_out, formulas,
                                          iter(lines) if lines is not None else None)
            except _Damaged as damage:
                row, column, reason = (None, None, "") if _is_attack(damage.cause) else \
                    _locate_damage(archive, ws, wb, damage.last_row)
                if row is None:
                    problems.append(_unreadable(path, damage.cause, f"sheet {ws.title!r}"))
                    continue
                if column is None:  # the XML itself is broken: a problem of the file, located in the text
                    problems.append(Problem(path.name, None, None,
                                            f"{UNREADABLE}: it is damaged: sheet {ws.title!r}, row {row}: {reason}"))
                    continue
                header = getattr(damage, "header", {})
                label = header.get(column) or (get_column_letter(column) if column else None)
                problems.append(Problem(model.sheet_name, row, label,
                                        f"{reason}; the rest of the sheet was not read (re-save the workbook "
                                        "in Excel, or retype the cell)"))
    return rows, warnings_out, problems


def _read_sheet(model: type[SheetRow], ws, problems: list[Problem], warnings: list[str],
                formulas=None, lines: Iterator[tuple] | None = None) -> list[SheetRow]:
    """Validate the rows of one sheet; ``formulas`` is the same sheet opened without cached
    values (only when its XML holds formulas), read in step to find formulas never calculated.
    ``lines`` are the sheet's rows when calamine read them; without them openpyxl reads ``ws``."""
    sheet = model.sheet_name
    lines = _rows_of(ws) if lines is None else lines
    formula_lines = _rows_of(formulas) if formulas is not None else None
    header_by_index: dict[int, str] = {}
    try:
        header = next(lines, None) or ()
        formula_header = (next(formula_lines, None) or ()) if formula_lines is not None else ()
        wanted = set(model.columns())
        positions: dict[str, int] = {}
        for index, title in enumerate(header):
            name = _normalise(title)
            letter = get_column_letter(index + 1)
            if not name:
                formula = formula_header[index] if index < len(formula_header) else None
                if formula is not None:
                    problems.append(Problem(sheet, 1, letter, _uncached(letter, 1, formula)))
                continue
            if isinstance(title, str) and title.strip() in EXCEL_ERRORS:
                problems.append(Problem(sheet, 1, letter, f"the header cell {letter}1 shows the Excel error "
                                                          f"{title.strip()}"))
                continue
            if name in positions:
                first = get_column_letter(positions[name] + 1)
                problems.append(Problem(sheet, 1, name, f"column appears twice (columns {first} and {letter})"))
            elif name in wanted:
                positions[name] = index
                header_by_index[index + 1] = name
            elif name not in IGNORED_COLUMNS:
                warnings.append(f"{sheet}: column {title!r} ({letter}) is not part of the format and was ignored")
        missing = [c for c in model.required_columns() if c not in positions]
        for column in missing:
            problems.append(Problem(sheet, 1, column, f"required column {column!r} is missing"))
        if missing:
            return []

        out: list[SheetRow] = []
        for excel_row, line in enumerate(lines, start=2):
            formula_line = next(formula_lines, ()) if formula_lines is not None else ()
            if not line and not formula_line:  # a row missing from the XML: skip it at once
                continue
            values: dict[str, Any] = {}
            broken = False
            for column, i in positions.items():
                raw = line[i] if i < len(line) else None
                if raw is None:
                    formula = formula_line[i] if i < len(formula_line) else None
                    if formula is not None:
                        letter = get_column_letter(i + 1)
                        problems.append(Problem(sheet, excel_row, column, _uncached(letter, excel_row, formula)))
                        broken = True
                elif isinstance(raw, str) and raw.strip() in EXCEL_ERRORS:
                    problems.append(Problem(sheet, excel_row, column, _error_message(raw.strip()), raw.strip()))
                    broken = True
                    raw = None
                values[FIELD_FOR_COLUMN.get(column, column)] = _cell(raw)
            if all(v is None for v in values.values()) and not broken:
                continue
            record = None if broken else _validate_row(model, values, excel_row, problems)
            if record is None and model in (SiteRow, ItemRow):
                record = _key_only(model, values, excel_row)
            if record is not None:
                out.append(record)
        return out
    except _Damaged as damage:
        damage.header = header_by_index
        raise


def _uncached(letter: str, row: int, formula: Any) -> str:
    text = getattr(formula, "text", formula)
    return (f"cell {letter}{row} holds the formula {_short(str(text), 60)} but no calculated value (the "
            "workbook was written by a program and never opened in a spreadsheet application); open it in "
            "Excel or LibreOffice and save it, or type the value")


def _error_message(code: str) -> str:
    extra = " (or a number too large for its date format)" if code == "#VALUE!" else ""
    return f"the cell shows the Excel error {code}{extra}; fix the formula or type the value"


def _sort_key(p: Problem):
    return (SHEET_ORDER.get(p.sheet, -1), p.row or 0, p.column or "")


def load_workbook(path: str | Path) -> Network:
    """Read and validate a sourcing workbook; raise WorkbookError listing every problem."""
    rows, warnings, problems = read_rows(path)
    try:
        network = build_network(rows, RULE_SPECS, source=str(path), warnings=warnings)
    except WorkbookError as exc:
        problems = problems + exc.problems
        network = None
    if problems:
        unique = list(dict.fromkeys(problems))
        raise WorkbookError(sorted(unique, key=_sort_key))
    dangerous = numeric_warnings(network)
    if dangerous:
        network = network.with_warnings(dangerous)
    return network

