"""Reading and building by whole columns gives exactly what the row-by-row reference gives.

:func:`optimizer.reading.cells.read_sheet` takes the rows of plain cells by whole columns and reads every other
row one by one with the row model; a sheet holding formulas is read row by row throughout. The property tests
here compare the two on arbitrary cells: the same rows, the same problems in the same order. The network's
Supply, Demand and Lanes tables are built from columns too (``models.network``); they are compared with the
row-by-row algorithm they replace, written out below.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.network import build_network
from models.problems import WorkbookError, describe
from models.rows import SHEET_MODELS, DemandRow, ItemRow, LaneRow, PeriodRow, SheetTable, SiteRow, SupplyRow
from optimizer.reading.cells import read_sheet
from optimizer.rules import RULE_SPECS

# Twice the examples of the Hypothesis profile (tests/conftest.py: default, or thorough in CI): they are cheap.
PROPERTY = settings(max_examples=2 * settings().max_examples, deadline=None, derandomize=bool(os.environ.get("CI")),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CELLS = st.one_of(
    st.none(), st.sampled_from(["", "  ", " x ", "S1", "s1", "cells", "2026", "#N/A", " #REF! ", "25%", "1,200",
                                "-3", "yes", "FALSE", "nan", "1e400"]),
    st.text(max_size=6), st.integers(min_value=-3, max_value=3), st.sampled_from([2026, 2 ** 70, 10 ** 400,
                                                                                  -10 ** 400]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 12), dt.date(2026, 1, 2), dt.time(3, 4)]))


@st.composite
def sheets_of_cells(draw):
    model = draw(st.sampled_from(SHEET_MODELS))
    names = draw(st.permutations(model.columns()))
    header = list(names[:draw(st.integers(1, len(names)))])
    header += draw(st.sampled_from([[], ["notes"], ["colour"], [None]]))
    header = [draw(st.sampled_from([h, h.upper(), f" {h} "])) if isinstance(h, str) else h for h in header]
    lines = draw(st.lists(st.lists(CELLS, max_size=len(header) + 1).map(tuple), max_size=25))
    return model, [tuple(header), *lines]


def read_by_columns(model, lines):
    problems, warnings = [], []
    table = read_sheet(model, iter(lines), problems, warnings)
    return [repr(r) for r in table], problems, warnings


def read_row_by_row(model, lines):
    """The reference: the formula path reads each row with the row model (no formula anywhere here)."""
    problems, warnings = [], []
    table = read_sheet(model, iter(lines), problems, warnings, formula_lines=iter([()] * len(lines)))
    return [repr(r) for r in table], problems, warnings


@PROPERTY
@given(sheet=sheets_of_cells())
def test_any_sheet_reads_the_same_by_columns_and_row_by_row(sheet):
    model, lines = sheet
    assert read_by_columns(model, lines) == read_row_by_row(model, lines)


def test_a_sheet_of_plain_rows_is_read_by_columns_with_its_types():
    lines = [("site", "item", "period", "capacity", "unit_cost"), (" S1 ", "cells", 2026, 5, 1.5),
             ("S2", "cells", None, None, 0), (None, None, None, None, None), ("S3", "cells", "2027", "7", 2)]
    problems, warnings = [], []
    table = read_sheet(SupplyRow, iter(lines), problems, warnings)
    assert problems == warnings == []
    assert table.row.tolist() == [2, 3, 5]  # the blank row 4 skipped; row 5 ("7") read by the row model
    assert table.columns["site"].tolist() == ["S1", "S2", "S3"]
    assert table.columns["period"].tolist() == ["2026", None, "2027"]
    assert table.columns["capacity"].tolist()[::2] == [5.0, 7.0] and np.isnan(table.columns["capacity"][1])
    assert [r.unit_cost for r in table] == [1.5, 0.0, 2.0]


# --------------------------------------------------------------------------- the network from columns


def reference_site_item_table(rows, sheet, sites, items, periods):
    """Supply or Demand as models.network built them row by row: references checked, duplicates refused,
    a blank-period row expanded to every period no row of the same site and item names."""
    problems, kept = [], []
    for r in rows:
        site, item = sites.get(r.site.lower()), items.get(r.item.lower())
        period = None if r.period is None else {p.lower(): p for p in periods}.get(r.period.lower())
        if site is None:
            problems.append((sheet, r.row, "site", f"{describe(r.site)} is not a site in Sites"))
        if item is None:
            problems.append((sheet, r.row, "item", f"{describe(r.item)} is not an item in Items"))
        if r.period is not None and period is None:
            problems.append((sheet, r.row, "period", f"{describe(r.period)} is not a period in Periods"))
        if site and item and (r.period is None or period):
            kept.append(r.model_copy(update={"site": site, "item": item, "period": period}))
    by_key = defaultdict(dict)
    for r in kept:
        slot = by_key[(r.site, r.item)]
        if r.period in slot:
            what = "blank period" if r.period is None else f"period {r.period}"
            problems.append((sheet, r.row, "period",
                             f"duplicate of {sheet} row {slot[r.period].row} (same site, item and {what})"))
            continue
        slot[r.period] = r
    expanded = [(slot.get(p, slot.get(None)), p) for slot in by_key.values() for p in periods
                if slot.get(p, slot.get(None)) is not None]
    return [(r.row, r.site, r.item, p) for r, p in expanded], problems


NAMES = st.sampled_from(["S1", "s1", "S2", "S3", "X"])
ITEMS = st.sampled_from(["cells", "CELLS", "cathode", "nope"])
PERIODS = st.sampled_from([None, None, "2026", "2027", "p2027", "2028", "1999"])


@PROPERTY
@given(keys=st.lists(st.tuples(NAMES, ITEMS, PERIODS), max_size=30), model=st.sampled_from([SupplyRow, DemandRow]),
       lanes=st.lists(st.tuples(NAMES, NAMES, st.one_of(st.none(), ITEMS)), max_size=20))
def test_site_item_tables_and_lanes_are_built_as_row_by_row(keys, model, lanes):
    sheet = model.sheet_name
    periods = ["2026", "P2027", "2028"]
    numbers = {"capacity": 5.0, "unit_cost": 1.0} if model is SupplyRow else {"quantity": 3.0}
    table = SheetTable.from_rows(model, [model(site=s, item=i, period=p, row=k + 2, **numbers)
                                         for k, (s, i, p) in enumerate(keys)])
    rows = {SiteRow: [SiteRow(site=s, country="Korea", row=k + 2) for k, s in enumerate(["S1", "S2", "S3"])],
            ItemRow: [ItemRow(item=i, row=k + 2) for k, i in enumerate(["cells", "cathode"])],
            PeriodRow: [PeriodRow(period=p, row=k + 2) for k, p in enumerate(periods)],
            model: table,
            LaneRow: [LaneRow(origin=o, destination=d, item=i, row=k + 2) for k, (o, d, i) in enumerate(lanes)]}
    expected, problems = reference_site_item_table(
        list(table), sheet, {"s1": "S1", "s2": "S2", "s3": "S3"}, {"cells": "cells", "cathode": "cathode"}, periods)
    lane_problems, seen, resolved, lane_rows = [], {}, [], []
    for r in rows[LaneRow]:  # every reference first, then the duplicates among the lanes that resolve
        origin, destination = ({"s1": "S1", "s2": "S2", "s3": "S3"}.get(v.lower()) for v in (r.origin, r.destination))
        item = None if r.item is None else {"cells": "cells", "cathode": "cathode"}.get(r.item.lower())
        for column, value, found in (("origin", r.origin, origin), ("destination", r.destination, destination)):
            if found is None:
                lane_problems.append(("Lanes", r.row, column, f"{describe(value)} is not a site in Sites"))
        if r.item is not None and item is None:
            lane_problems.append(("Lanes", r.row, "item", f"{describe(r.item)} is not an item in Items"))
        if origin and destination and (r.item is None or item):
            resolved.append((r.row, origin, destination, item))
    for row, origin, destination, item in resolved:
        if (origin, destination, item) in seen:
            lane_problems.append(("Lanes", row, "destination", f"duplicate of Lanes row "
                                  f"{seen[(origin, destination, item)]} ({describe(destination)})"))
        else:
            seen[(origin, destination, item)] = row
            lane_rows.append((row, origin, destination, item))
    try:
        network = build_network(rows, RULE_SPECS)
    except WorkbookError as exc:
        found = [(p.sheet, p.row, p.column, p.message) for p in exc.problems]
        assert found == problems + lane_problems
        return
    assert problems == lane_problems == []
    built = getattr(network, sheet.lower())
    assert list(zip(built["row"], built["site"], built["item"], built["period"], strict=True)) == expected
    assert list(zip(network.lanes["row"], network.lanes["origin"], network.lanes["destination"],
                    network.lanes["item"], strict=True)) == lane_rows
    assert built["row"].dtype == np.int64 and built["site"].dtype == object
    assert all(pd.api.types.is_float_dtype(built[c]) for c in numbers)


# --------------------------------------------------------------------------- the calamine reader's XML check

HEAD = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">')
TEXTS = [b"abc", b"a&amp;b", b"a&b", b"&#0;", b"&#65;", b"]]>", b"x\x01y", b"\xef\xbf\xbe", b"\xef\xbf\xbd", b"\xff",
         b"caf\xc3\xa9", b"\xed\xa0\x80", b"\x7f", b"\xc2\x85", b"a>b", b"\xf0\x9f\x98\x80", b"\xef\xbf\xbf", b"a\tb",
         b"a\nb", b"&lt;", b"&foo;", b"x\x0by"]
ROW_ATTRIBUTES = [b"", b' spans="1:3"', b' x14ac:dyDescent="0.25"', b' y:z="1"', b' r="2"', b' spans="1" spans="2"',
                  b' ht="a&amp;b"', b' ht="a&b"', b' 1a="x"', b' ht="\x01"', b' xml:lang="en"', b' xmlns="q"',
                  b' a.b="1"', b' -a="1"', b' :a="1"', b' a:="1"', b' ht="\xff"']
CELL_XML = st.one_of(
    st.sampled_from(TEXTS).map(lambda t: b'<is><t>' + t + b"</t></is>"),
    st.sampled_from([b"", b' val="2"', b' q="&amp;"', b' q="\x02"']).map(
        lambda a: b'<is><r><rPr><b val="1"' + a + b"/></rPr><t>x</t></r></is>"),
    st.integers(0, 9).map(lambda v: b"<v>%d</v>" % v))


@PROPERTY
@given(rows=st.lists(st.tuples(st.sampled_from(ROW_ATTRIBUTES), st.lists(CELL_XML, max_size=2)), max_size=4))
def test_the_quick_well_formedness_check_of_a_plain_sheet_is_expats(rows):
    """What the grammar of plain sheets leaves open (text, row attributes) is checked without parsing the whole
    sheet; the verdict is expat's on the whole sheet."""
    from optimizer.reading.calamine_reader import _SHEET_DATA, _sheet_well_formed, _well_formed

    content = b"".join(
        b'<row r="%d"%s>' % (r, attributes)
        + b"".join(b'<c r="%s%d"%s>%s</c>' % (b"AB"[c:c + 1], r, b"" if xml.startswith(b"<v>") else b' t="inlineStr"',
                                              xml) for c, xml in enumerate(cells)) + b"</row>"
        for r, (attributes, cells) in enumerate(rows, start=1))
    if _SHEET_DATA.fullmatch(content) is None:
        return
    rest = HEAD + b"<sheetData/></worksheet>"
    whole = HEAD + b"<sheetData>" + content + b"</sheetData></worksheet>"
    assert _sheet_well_formed(rest, content) == _well_formed(whole)
