"""Which .xlsx writer: cells per second of each candidate on a plan-like table, each in its own process.

    python benchmarks/writers.py                            # 500,000 rows x 10 columns, every writer installed
    python benchmarks/writers.py --rows 100000 --writers openpyxl,xlsxwriter --json out.json

The table is the plan's Utilization sheet at scale (the widest-used long sheet of a large plan): five text
columns (resource, site, destination, item, period), ``used`` and ``capacity`` (quantities), ``utilization``
(a share), ``at_capacity`` (TRUE/FALSE) and ``source`` (text), with one site name in 1,000 starting with
``-`` or ``=`` so that the formula guard has work to do. Every writer writes what the plan needs of a long
sheet: a header row, an Excel table over the range, a frozen header, a number format per number column,
column widths, and text that looks like a formula stored as text with Excel's quote prefix. A writer that
cannot do one of these is still timed, and the ``lacks`` column says what it could not do.

Writers (the ones not installed are skipped; only openpyxl is a dependency of the tool):

- ``tool``: the tool's own path, ``optimizer.writing.table.write_table`` and ``save_atomically``: openpyxl's
  write-only sheet for the header, table and print setup, the rows rendered a column at a time as sheet XML
  (``optimizer.writing.sheet_xml``) and spliced in by the deterministic zip. It also writes what the others
  are not asked to: the print setup, the conditional formats and the units.
- ``openpyxl``: openpyxl's write-only mode with lxml, a cell object per value, as the tool wrote its rows
  before ``sheet_xml`` (the reference).
- ``xlsxwriter``: XlsxWriter in ``constant_memory`` mode, cells written by type.
- ``rvgsrust``: rvgsrust-xlsxwriter (Python bindings of the Rust crate rust_xlsxwriter); constant memory
  refuses an Excel table, so the cells are held in Rust until saved; a column per call.
- ``rustpy``: rustpy-xlsxwriter (also on rust_xlsxwriter), the DataFrame in one call.
- ``pyexcelerate``: PyExcelerate (pure Python, optimised for bulk writes).

Every figure is the wall time of writing and saving the file, the DataFrame being built before the clock
starts; cells/s counts the data cells (rows x columns, header excluded). Peak RSS is the child process's.
Nothing here is a test; tests/test_benchmark_smoke.py runs it at 1,000 rows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITERS = ("tool", "openpyxl", "xlsxwriter", "rvgsrust", "rustpy", "pyexcelerate")
MONEY, QUANTITY, PERCENT = "#,##0.00", "#,##0.###", "0.0%"
FORMATS = {"used": QUANTITY, "capacity": QUANTITY, "utilization": PERCENT}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def plan_like_table(rows: int):
    """The Utilization sheet of a large plan: ``rows`` rows, 10 columns, reproducible."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    sites = np.array([f"Supplier_{i:04d}" for i in range(800)], dtype=object)
    sites[::97] = "-2 (renamed)"  # a name the formula guard must keep as text
    sites[::331] = "=HYPERLINK(\"x\")"
    plants = np.array([f"Plant_{i:02d}" for i in range(40)], dtype=object)
    items = np.array(["cells", "cathode", "anode", "lithium", "nickel", "graphite", "modules", "packs",
                      "separator", "electrolyte"], dtype=object)
    periods = np.array([str(p) for p in range(2026, 2032)], dtype=object)
    capacity = rng.uniform(1.0, 5000.0, rows).round(3)
    used = np.minimum(capacity, rng.uniform(0.0, 6000.0, rows)).round(6)
    return pd.DataFrame({
        "resource": np.where(rng.random(rows) < 0.5, "supply", "lane").astype(object),
        "site": sites[rng.integers(0, len(sites), rows)],
        "destination": plants[rng.integers(0, len(plants), rows)],
        "item": items[rng.integers(0, len(items), rows)],
        "period": periods[rng.integers(0, len(periods), rows)],
        "used": used, "capacity": capacity, "utilization": used / capacity,
        "at_capacity": used >= capacity - 1e-7,
        "source": pd.Series(rng.integers(2, 200_000, rows)).map("Lanes row {}".format).astype(object),
    })


def _widths(frame) -> list[float]:
    return [max(10.0, min(62.0, max(len(str(c)), *(len(str(v)) for v in frame[c].iloc[:200])) + 2.0))
            for c in frame.columns]


# --------------------------------------------------------------------------- the writers


def write_openpyxl(frame, path: Path) -> list[str]:
    """openpyxl write-only + lxml: one reused styled cell per number column, a quote-prefixed cell per
    formula-like text, the table added before closing (how the tool wrote its rows before sheet_xml)."""
    import warnings

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Utilization")
    ws.freeze_panes = "A2"
    for index, width in enumerate(_widths(frame), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for name in frame.columns:
        cell = WriteOnlyCell(ws, name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    styled = {}
    for index, name in enumerate(frame.columns):
        if name in FORMATS:
            cell = WriteOnlyCell(ws)
            cell.number_format = FORMATS[name]
            styled[index] = cell
    columns = [frame[c].tolist() for c in frame.columns]
    for values in zip(*columns, strict=True):
        row = list(values)
        for index, value in enumerate(values):
            if index in styled:
                cell = styled[index]
                cell.value = value
                row[index] = cell
            elif value.__class__ is str and value.startswith(TRIGGERS):
                cell = WriteOnlyCell(ws, value)
                cell.data_type, cell.quotePrefix = "s", True
                row[index] = cell
        ws.append(row)
    ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    table = Table(displayName="Utilization", ref=ref,
                  tableColumns=[TableColumn(id=i, name=n) for i, n in enumerate(frame.columns, start=1)])
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws.add_table(table)
    wb.save(path)
    return []


def write_xlsxwriter(frame, path: Path) -> list[str]:
    """XlsxWriter, constant_memory: cells written by type, column by column within each row."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("Utilization")
    bold, quoted = wb.add_format({"bold": True}), wb.add_format({"quote_prefix": True})
    formats = [wb.add_format({"num_format": FORMATS[c]}) if c in FORMATS else None for c in frame.columns]
    for index, width in enumerate(_widths(frame)):
        ws.set_column(index, index, width)
    ws.freeze_panes(1, 0)
    ws.write_row(0, 0, list(frame.columns), bold)
    string, number, boolean = ws._write_string, ws._write_number, ws._write_boolean
    columns = [frame[c].tolist() for c in frame.columns]
    for r, values in enumerate(zip(*columns, strict=True), start=1):
        for c, value in enumerate(values):
            kind = value.__class__
            if kind is str:
                string(r, c, value, quoted if value.startswith(TRIGGERS) else formats[c])
            elif kind is float:
                if value == value:
                    number(r, c, value, formats[c])
            elif kind is bool:
                boolean(r, c, value, formats[c])
    ws.add_table(0, 0, len(frame), len(frame.columns) - 1,
                 {"name": "Utilization", "columns": [{"header": c} for c in frame.columns],
                  "style": "Table Style Medium 2"})
    wb.set_properties({"created": datetime.datetime(1980, 1, 1)})
    wb.close()
    return ["zip dates 1980-01-01 (a constant-memory workbook's parts are dated 1980-01-31)"]


def write_tool(frame, path: Path) -> list[str]:
    """The tool's own path: ``write_table`` and ``save_atomically``."""
    sys.path.insert(0, str(ROOT))
    from optimizer.writing.save import save_atomically
    from optimizer.writing.table import streaming_workbook, write_table

    with streaming_workbook() as wb:
        write_table(wb, "Utilization", frame)
        save_atomically(wb, path)
    return []


def write_rvgsrust(frame, path: Path) -> list[str]:
    """rvgsrust-xlsxwriter: the cells held in Rust until saved, each column handed over in one call, then the
    formula-like text cells written again with the quote prefix."""
    import rvgsrust_xlsxwriter as rx

    wb = rx.Workbook(str(path))
    ws = wb.add_worksheet("Utilization")  # constant memory refuses the table (it writes the range's last row)
    bold = wb.add_format().set_bold()
    quoted = wb.add_format().set_quote_prefix()
    for index, width in enumerate(_widths(frame)):
        ws.set_column_width(index, width)
    ws.freeze_panes(1, 0)
    table = rx.Table().set_columns([rx.TableColumn().set_header(c).set_header_format(bold) for c in frame.columns])
    ws.add_table(0, 0, len(frame), len(frame.columns) - 1, table.set_name("Utilization"))
    for c, name in enumerate(frame.columns):
        values = frame[name].tolist()
        if name in FORMATS:
            ws.write_column(1, c, values, wb.add_format().set_num_format(FORMATS[name]))
        else:
            ws.write_column(1, c, values)
            if frame[name].dtype == object:
                for r in frame.index[frame[name].str.startswith(TRIGGERS)]:
                    ws.write(int(r) + 1, c, values[r], quoted)
    wb.close()
    return ["fixed document times (the created time is the time of writing)",
            "constant memory (a sheet with an Excel table is held whole)"]


def write_rustpy(frame, path: Path) -> list[str]:
    """rustpy-xlsxwriter: the whole DataFrame in one call (no Excel table, no per-cell format)."""
    import rustpy_xlsxwriter as rp

    formats = {c: rp.Format().set_num_format(f) for c, f in FORMATS.items()}
    rp.write_worksheet(frame, str(path), sheet_name="Utilization", freeze_row=1, bold_headers=True,
                       column_widths=_widths(frame), column_formats=formats, autofilter=True)
    return ["Excel table", "quote prefix per cell", "fixed document times"]


def write_pyexcelerate(frame, path: Path) -> list[str]:
    """PyExcelerate: the values as a list of rows, a style per number column."""
    from pyexcelerate import Format, Style, Workbook

    wb = Workbook()
    data = [list(frame.columns), *map(list, zip(*(frame[c].tolist() for c in frame.columns), strict=True))]
    ws = wb.new_sheet("Utilization", data=data)
    for index, name in enumerate(frame.columns, start=1):
        if name in FORMATS:
            ws.set_col_style(index, Style(format=Format(FORMATS[name])))
    wb.save(str(path))
    return ["Excel table", "frozen header", "quote prefix", "fixed document times", "formula guard (= becomes "
            "a formula)"]


FUNCTIONS = {"openpyxl": write_openpyxl, "xlsxwriter": write_xlsxwriter, "tool": write_tool,
             "rvgsrust": write_rvgsrust, "rustpy": write_rustpy, "pyexcelerate": write_pyexcelerate}
MODULES = {"openpyxl": "openpyxl", "xlsxwriter": "xlsxwriter", "tool": "optimizer",
           "rvgsrust": "rvgsrust_xlsxwriter", "rustpy": "rustpy_xlsxwriter", "pyexcelerate": "pyexcelerate"}
#: The distribution each writer is installed from (for its version).
DISTRIBUTIONS = {"openpyxl": "openpyxl", "xlsxwriter": "XlsxWriter", "tool": "openpyxl",
                 "rvgsrust": "rvgsrust-xlsxwriter", "rustpy": "rustpy-xlsxwriter", "pyexcelerate": "pyexcelerate"}


def child(name: str, rows: int, folder: str) -> dict:
    """One writer in this process: build the table, then time the write."""
    import importlib
    from importlib.metadata import version

    frame = plan_like_table(rows)
    importlib.import_module(MODULES[name])
    path = Path(folder) / f"{name}.xlsx"
    start = time.perf_counter()
    lacks = FUNCTIONS[name](frame, path)
    seconds = time.perf_counter() - start
    cells = rows * len(frame.columns)
    return {"writer": name, "version": version(DISTRIBUTIONS[name]), "rows": rows, "cells": cells,
            "seconds": round(seconds, 3), "cells_per_s": round(cells / seconds),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "bytes": path.stat().st_size, "lacks": lacks}


def installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(MODULES[name]) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=float, default=500_000)
    parser.add_argument("--writers", default=",".join(WRITERS))
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = int(args.rows)
    if args.child:
        print(json.dumps(child(args.child[0], rows, args.child[1])))
        return
    results = []
    print(f"{rows:,} rows x 10 columns ({rows * 10:,} cells), each writer in its own process")
    print(f"{'writer':<16} {'version':<9} {'seconds':>8} {'cells/s':>11} {'peak MB':>8} {'file MB':>8}  lacks")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.writers.split(","):
            if not installed(name):
                print(f"{name:<16} not installed, skipped")
                continue
            done = subprocess.run([sys.executable, __file__, "--rows", str(rows), "--child", name, folder],
                                  capture_output=True, text=True)
            if done.returncode:
                print(f"{name:<16} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(done.stdout)
            results.append(row)
            print(f"{name:<16} {row['version']:<9} {row['seconds']:>8.2f} {row['cells_per_s']:>11,} "
                  f"{row['peak_rss_mb']:>8,} {row['bytes'] / 1e6:>8.1f}  {', '.join(row['lacks']) or '-'}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
