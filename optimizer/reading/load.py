"""Loading: a workbook file into the validated network, every problem collected before failing.

:func:`read_rows` reads every known sheet into a table of rows (``optimizer.reading.cells``), each sheet's
cells by the calamine reader where its XML is plain and by openpyxl otherwise, after the file guards
(``optimizer.reading.files``); a damaged cell becomes a problem naming it. :func:`network_from_rows`
cross-checks the rows as a whole (references, selectors, duplicates: ``models.build_network``) and adds
the warnings computed on the network (``models.checks``: dangerous numbers, probable mistakes).
:func:`load_workbook` is the two together, raising WorkbookError with every problem of both passes, sorted by
sheet, row and column.

Cells are read by the value a spreadsheet application stored (formulas included); a formula with no stored
value, an Excel error value and a stored value openpyxl cannot parse are problems naming the cell. Nothing
here raises anything but WorkbookError for a bad file, whatever its content.
"""

from __future__ import annotations

import contextlib
import gc
import os
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from models.checks import network_warnings
from models.network import Network, build_network
from models.problems import Problem, WorkbookError
from models.rows import IGNORED_SHEETS, SHEET_MODELS, SheetRow, SheetTable
from optimizer.reading.calamine_reader import CALAMINE_AVAILABLE, CalamineReader
from optimizer.reading.cells import close_name_hint, normalise, read_sheet
from optimizer.reading.files import UNREADABLE
from optimizer.reading.openpyxl_reader import (
    Damaged,
    has_formulas,
    is_attack,
    locate_damage,
    open_workbook,
    rows_of,
    unreadable,
)
from optimizer.rules import RULE_SPECS

SHEET_ORDER = {model.sheet_name: i for i, model in enumerate(SHEET_MODELS)}
KNOWN_SHEETS = {model.sheet_name.lower(): model.sheet_name for model in SHEET_MODELS}
#: The environment variable that makes openpyxl read every sheet (``SOURCING_READER=openpyxl``).
READER_ENV = "SOURCING_READER"


def read_rows(path: str | Path, *, engine: str | None = None
              ) -> tuple[dict[type, SheetTable], list[str], list[Problem]]:
    """Read every known sheet into a table of valid rows; return (tables by row model, warnings, problems).

    The file is first checked by :func:`optimizer.reading.files.check_input_file` (what it really is,
    zip-bomb limits) and only ever opened for reading. Formula cells are read by the value Excel
    stored with them; a formula without one (a workbook written by a program and never opened in
    a spreadsheet application) is a problem naming the cell. openpyxl's own warnings are muted:
    what matters about a cell is reported as a problem or warning of ours.

    ``engine="auto"`` (the default, unless ``SOURCING_READER=openpyxl``) reads plain sheets with
    python-calamine (see :class:`~optimizer.reading.calamine_reader.CalamineReader`); ``"openpyxl"`` reads
    every sheet with openpyxl. Both give the same rows, warnings and problems.
    """
    if engine is None:
        engine = "openpyxl" if os.environ.get(READER_ENV, "").strip().lower() == "openpyxl" else "auto"
    elif engine not in ("auto", "openpyxl"):
        raise ValueError(f"engine must be 'auto' or 'openpyxl', not {engine!r}")
    path = Path(path)
    problems: list[Problem] = []
    warnings_out: list[str] = []
    rows: dict[type, SheetTable] = {}
    with contextlib.ExitStack() as stack, warnings.catch_warnings(), _no_cycle_collection():
        warnings.simplefilter("ignore")
        wb = open_workbook(path, stack)
        try:
            archive = stack.enter_context(zipfile.ZipFile(stack.enter_context(path.open("rb"))))
        except Exception:  # noqa: BLE001 - openpyxl could open it; the formula scan is optional
            archive = None
        fast = None
        if engine == "auto" and CALAMINE_AVAILABLE and archive is not None:
            fast = CalamineReader(path, archive, wb, stack)
        formula_book = None
        sheets: dict[str, Any] = {}
        for ws in wb.worksheets:
            name = normalise(ws.title)
            if name in sheets and name in KNOWN_SHEETS:
                problems.append(Problem(KNOWN_SHEETS[name], None, None,
                                        f"two sheets are called {sheets[name].title!r} and {ws.title!r}; "
                                        "sheet names match ignoring case and spaces, so keep only one"))
                continue
            sheets.setdefault(name, ws)
        for name, ws in sheets.items():
            if name not in KNOWN_SHEETS and name not in IGNORED_SHEETS:
                warnings_out.append(f"sheet {ws.title!r} is not part of the workbook format, so its rows are not "
                                    f"read{close_name_hint(str(ws.title), KNOWN_SHEETS.values())}")
        for model in SHEET_MODELS:
            ws = sheets.get(model.sheet_name.lower())
            if ws is None:
                if model.required_sheet:
                    problems.append(Problem(model.sheet_name, None, None, "required sheet is missing"))
                continue
            if getattr(ws, "sheet_state", "visible") != "visible":
                warnings_out.append(f"sheet {ws.title!r} is hidden; it was read like a visible sheet")
            lines, formulas = fast.read(ws) if fast is not None else (None, has_formulas(archive, ws))
            formula_lines = None
            if formulas:
                if formula_book is None:
                    formula_book = open_workbook(path, stack, data_only=False)
                formula_lines = rows_of(formula_book[ws.title])
            header: dict[int, str] = {}
            try:
                rows[model] = read_sheet(model, iter(lines) if lines is not None else rows_of(ws), problems,
                                         warnings_out, formula_lines, header)
            except Damaged as damage:
                problems.append(_damage_problem(path, archive, wb, ws, model, damage, header))
    return rows, warnings_out, problems


@contextlib.contextmanager
def _no_cycle_collection():
    """Python's cycle collector paused while a workbook is read: reading makes a container per row (calamine's
    lists, the row tuples), none in a cycle, and each few hundred of them would start a collection that walks
    every object alive (a quarter of the read time of a large sheet). Resumed after, if it was running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def _damage_problem(path: Path, archive: zipfile.ZipFile | None, wb, ws, model: type[SheetRow], damage: Damaged,
                    header: dict[int, str]) -> Problem:
    """The problem for a sheet openpyxl failed to read: the cell when it can be located (its column named by
    ``header`` where the header names it), else the file."""
    row, column, reason = (None, None, "") if is_attack(damage.cause) else \
        locate_damage(archive, ws, wb, damage.last_row)
    if row is None:
        return unreadable(path, damage.cause, f"sheet {ws.title!r}")
    if column is None:  # the XML itself is broken: a problem of the file, located in the text
        return Problem(path.name, None, None, f"{UNREADABLE}: it is damaged: sheet {ws.title!r}, row {row}: {reason}")
    label = header.get(column) or (get_column_letter(column) if column else None)
    return Problem(model.sheet_name, row, label, f"{reason}; the rest of the sheet was not read (re-save the "
                                                 "workbook in Excel, or retype the cell)")


def network_from_rows(rows: dict[type, SheetTable], warnings: Iterable[str] = (),
                      problems: Iterable[Problem] = (), source: str | None = None) -> Network:
    """The validated network of ``rows`` (from :func:`read_rows`) with the warnings of
    ``models.checks.network_warnings``; WorkbookError listing ``problems`` and every problem found in the rows."""
    problems = list(problems)
    try:
        network = build_network(rows, RULE_SPECS, source=source, warnings=warnings)
    except WorkbookError as exc:
        problems = problems + exc.problems
        network = None
    if problems:
        unique = list(dict.fromkeys(problems))
        raise WorkbookError(sorted(unique, key=_sort_key))
    found = network_warnings(network)
    if found:
        network = network.with_warnings(found)
    return network


def _sort_key(p: Problem):
    return (SHEET_ORDER.get(p.sheet, -1), p.row or 0, p.column or "")


def load_workbook(path: str | Path) -> Network:
    """Read and validate a sourcing workbook; raise WorkbookError listing every problem."""
    rows, warnings_out, problems = read_rows(path)
    return network_from_rows(rows, warnings_out, problems, source=str(path))
