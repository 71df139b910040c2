"""The formula guard: no text the tool writes is ever run by a spreadsheet as a formula.

Text starting with one of FORMULA_TRIGGERS is stored as a string cell with Excel's *quote prefix*
style, what Excel itself stores when someone types ``'=1+1``: shown as typed, kept as text on editing.
In a normal workbook :func:`neutralise_formulas` does this to every cell before saving (the atomic save
in ``optimizer.writing.save`` always calls it); the sheets of a write-only workbook cannot be walked, so
their writers create each cell through :func:`text_cell`, which decides the same as it creates it, and the
table writer's rows, rendered as sheet XML, get their text cells from :func:`text_cells_xml`, which decides
the same for a whole column at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

#: Text starting with one of these is shown as text, never run: OWASP's list for CSV/spreadsheet
#: injection, plus the full-width forms some Excel locales also accept.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_text(text: str) -> str:
    """Text a worksheet cell can hold: control characters XML forbids become U+FFFD, and the
    length is cut to Excel's 32,767 characters (openpyxl would raise, or cut silently)."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)[:32767]


def is_formula_like(value) -> bool:
    """True for text a spreadsheet could run as a formula (it starts with one of FORMULA_TRIGGERS)."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def keep_as_text(cell) -> None:
    """Make ``cell`` a string cell with Excel's quote prefix: shown as typed, never evaluated."""
    cell.data_type = "s"
    cell.quotePrefix = True


def neutralise_formulas(wb, allowed=()) -> int:
    """Make every cell whose text starts with a formula trigger a plain text cell that Excel and
    LibreOffice show as typed and never evaluate; return how many cells were changed.

    openpyxl turns any str starting with '=' into a formula; here such a cell gets the string
    type back, and every risky text cell gets Excel's "quote prefix" style (what Excel itself
    stores when someone types '=1+1): shown without the apostrophe, kept as text on editing.
    ``allowed`` lists (sheet title, coordinate) pairs of formulas the tool writes on purpose.

    The sheets of a write-only workbook stream their rows to disk and cannot be walked here: their
    writers make each cell safe as they create it, with :func:`text_cell`; they are skipped.
    """
    allowed = set(allowed)
    changed = 0
    for ws in wb.worksheets:
        if hasattr(ws, "_cells"):
            cells = ws._cells.values()
        elif hasattr(ws, "iter_rows"):
            cells = (c for row in ws.iter_rows() for c in row)
        else:
            continue  # a write-only sheet
        for cell in cells:
            if not is_formula_like(cell.value):
                continue
            if cell.data_type == "f" and (ws.title, cell.coordinate) in allowed:
                continue
            keep_as_text(cell)
            changed += 1
    return changed


def text_cell(ws, value, **style):
    """A cell of the write-only sheet ``ws`` holding ``value``, styled with ``style`` (attributes
    of a cell: ``number_format=``, ``font=``, ``alignment=``). Text that starts with a formula
    trigger is a plain text cell with Excel's quote prefix, exactly what
    :func:`neutralise_formulas` makes of it in a normal workbook: a write-only sheet cannot be
    walked once written, so its writer decides this as it creates each cell. Anything else is
    bound as openpyxl binds it (a number, a date, text, or an error code such as '#N/A')."""
    cell = WriteOnlyCell(ws, value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    if is_formula_like(value):
        keep_as_text(cell)
    return cell


#: What text needs in an XML element's content: the three markup characters, and CR (a parser would read
#: a raw CR as LF).
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def text_cells_xml(texts: Sequence[str], style: str, quoted: str) -> list[str]:
    """The ``<c>`` elements (inline strings, without a cell reference) of the distinct ``texts`` of a
    column: text starting with a formula trigger gets the ``quoted`` style attribute (the column's style
    with Excel's quote prefix, as :func:`keep_as_text` gives a cell), any other the column's ``style``
    (``' s="3"'``, or ``""``). Control characters XML forbids become U+FFFD and the length is cut as
    :func:`safe_text` does; the text is escaped, and leading or trailing blanks are kept; empty text is a
    blank cell."""
    joined = "".join(texts)
    if ILLEGAL_CHARACTERS_RE.search(joined) or max(map(len, texts), default=0) > 32767:
        texts = [safe_text(t) for t in texts]
    escaped = [t.translate(_XML_ESCAPES) for t in texts] if any(c in joined for c in "&<>\r") else texts
    cells = []
    for text, content in zip(texts, escaped, strict=True):
        if not text:  # empty text is a blank cell, as openpyxl writes it
            cells.append(f"<c{style}/>")
            continue
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
        attribute = quoted if text.startswith(FORMULA_TRIGGERS) else style
        cells.append(f'<c{attribute} t="inlineStr"><is><t{space}>{content}</t></is></c>')
    return cells
