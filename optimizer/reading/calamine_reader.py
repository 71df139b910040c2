"""The fast reader: the cells of plain sheets read by python-calamine, as the rows openpyxl would give.

openpyxl is the reference reader (``optimizer.reading.openpyxl_reader``): it opens the workbook (sheet
names and states, styles, shared strings), reads every sheet holding a formula and locates every damaged
cell. A sheet whose XML is plain (no formula, no date format, no error cell, numbers and text written the
way Excel, LibreOffice and openpyxl write them, in order; the grammar below) has its cells read by
python-calamine instead, several times faster, as the same row tuples openpyxl would give
(:class:`CalamineReader`); anything unusual, or any failure of calamine, leaves the sheet to openpyxl.
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
import re
import xml.parsers.expat
import zipfile
from pathlib import Path

import numpy as np
from openpyxl.packaging.manifest import Manifest
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
from openpyxl.xml.functions import fromstring

from optimizer.reading.openpyxl_reader import EXCEL_MAX_ROWS, FORMULA_TAG

try:
    import python_calamine
except ImportError:  # a declared dependency; without it every sheet is read by openpyxl
    python_calamine = None

#: Whether python-calamine is installed (without it every sheet is read by openpyxl).
CALAMINE_AVAILABLE = python_calamine is not None

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
_ESCAPE_START = re.compile(rb"_[xX]")  # what every Excel escape holds: one pass, where two `in` took twice as long
_DECLARED_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"'](?!utf-?8[\"'])", re.I)
_SPREADSHEET_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: Below 2**53 every whole number is exact in a double: calamine's float is openpyxl's int.
_EXACT = float(2 ** 53)
#: A sheet whose area (last row x last column) exceeds this many times its cells, plus a margin, is sparse
#: (a stray cell on row 1,048,576): calamine would hold every empty cell, openpyxl skips the gap.
_SPARSE_RATIO, _SPARSE_MARGIN = 4, 1_000_000


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
    # A..ZZZ (the grammar allows 1 to 3 letters) to 1..18278, 0 for a row: base 26 over the letters, padded with 0s
    codes = np.array(letters, dtype="S3").view(np.uint8).reshape(-1, 3).astype(np.int64)
    columns = np.zeros(len(letters), dtype=np.int64)
    for j in range(3):
        letter = codes[:, j]
        columns = np.where(letter > 0, columns * 26 + letter - 64, columns)
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


#: The bytes XML 1.0 allows in text and attribute values (below 0x20 only tab, line feed and carriage return).
_XML_BYTES = bytes(range(0x20, 0x100)) + b"\t\n\r"
#: The attributes of each row element (the grammar put them between r="..." and the end of the start tag).
_ROW_ATTRIBUTES = re.compile(rb'<row r="[0-9]+"([^>]*)>')


def _sheet_well_formed(rest: bytes, content: bytes) -> bool:
    """Whether the sheet whose <sheetData> holds ``content`` (in the grammar of _SHEET_DATA) and whose other
    parts are ``rest`` (with an empty <sheetData/>) parses: :func:`_well_formed` of the whole, checked on
    ``rest`` and on what the grammar leaves open inside <sheetData>: the text (valid UTF-8 of characters XML
    allows, no "]]>") and each distinct set of row attributes (names, prefixes, no attribute twice). Content
    with an entity or character reference, or formatted runs (whose attributes the grammar leaves open too),
    is parsed whole."""
    if b"&" in content or b"<rPr>" in content:
        return _well_formed(rest.replace(b"<sheetData/>", b"<sheetData>" + content + b"</sheetData>", 1))
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if (content.translate(None, _XML_BYTES) or (b"]" in content and b"]]>" in content)
            or (b"\xef" in content and (b"\xef\xbf\xbe" in content or b"\xef\xbf\xbf" in content))):
        return False  # (a one-byte search first: memchr is ten times as fast as a search for a longer string)
    rows = b"".join(b'<row r="1"' + attributes + (b">" if attributes.endswith(b"/") else b"></row>")
                    for attributes in set(_ROW_ATTRIBUTES.findall(content)))
    return _well_formed(rest.replace(b"<sheetData/>", b"<sheetData>" + rows + b"</sheetData>", 1))


def _rest_reads(rest: bytes, wb) -> bool:
    """Whether openpyxl reads the sheet's XML outside <sheetData> (views, columns, merged cells, page setup,
    ...) without failing, as it would after the rows: calamine ignores all of it."""
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
    cell (calamine's ''; an empty text reads the same, ``optimizer.reading.cells`` treats both alike), int for
    a whole number (openpyxl reads "2026" as int; a decimal text like "2.5" stays float: the XML check sent whole
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


class CalamineReader:
    """Reads the cells of plain sheets with python-calamine, as the row tuples openpyxl would give.

    openpyxl has opened the workbook (``wb``): sheet names, states, styles and shared strings are its.
    ``read(ws)`` returns ``(rows, has_formulas)``: the rows when calamine read the sheet, or None when
    openpyxl must: the sheet holds a formula (then ``has_formulas``), or its <sheetData> is not in the
    grammar of _SHEET_DATA, or the rest of it fails :func:`_plain_part`, :func:`_layout`,
    :func:`_sheet_well_formed` or :func:`_rest_reads`, or a cell is styled with a date format, or calamine fails
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
        except Exception:  # noqa: BLE001 - as has_formulas: let openpyxl's read report the damage
            return None, True
        layout = self._plain_layout(data) if self.usable else None
        if layout is None:
            return None, FORMULA_TAG.search(data) is not None
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
        if (not _plain_part(rest) or FORMULA_TAG.search(rest) or not _SHEET_DATA.fullmatch(content)
                or (self.date_style is not None and self.date_style.search(content))
                or (_ESCAPE_START.search(content) and _EXCEL_ESCAPE.search(content))):
            return None
        layout = _layout(content)
        if layout is None or not _sheet_well_formed(rest, content) or not _rest_reads(rest, self.wb):
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
        named = [n for n in self.archive.namelist() if n.lower() == "xl/sharedstrings.xml"]
        found = Manifest.from_tree(fromstring(self.archive.read(ARC_CONTENT_TYPES))).find(SHARED_STRINGS)
        if found is None:
            return not named
        if found.PartName != "/xl/sharedStrings.xml" or named != ["xl/sharedStrings.xml"]:
            return False
        data = self.archive.read(named[0])
        return (_plain_part(data) and _SHARED_STRINGS.fullmatch(data) is not None
                and data.count(b"<si>") + data.count(b"<si/>") == len(ws._shared_strings))
