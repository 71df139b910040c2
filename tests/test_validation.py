"""Workbook validation (contract v2): every problem located by sheet, Excel row and column.

Row numbers are Excel's: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from pathlib import Path

import openpyxl
import pytest
from cli_run import run, run_json
from networks import network
from spies import calamine_reads

import optimizer.cli as cli
from models.checks import LISTED
from optimizer import Problem, WorkbookError, load_workbook

DROP = object()  # pass Sheet=DROP to leave a sheet out of the workbook


def sheets(**override):
    """A small valid workbook (one Korean and one US cell plant supplying the Woodruff plant),
    with sheets replaced (or dropped with DROP) by keyword."""
    base = {
        "Sites": [
            {"site": "Cells_KR", "country": "Korea", "tags": "cell_plant"},
            {"site": "Cells_US", "country": "United States", "tags": "cell_plant"},
            {"site": "Woodruff", "country": "United States", "tags": "pack_plant"},
        ],
        "Items": [{"item": "cells", "unit": "GWh", "category": "battery_component"}],
        "Supply": [
            {"site": "Cells_KR", "item": "cells", "period": None, "capacity": None, "unit_cost": 70},
            {"site": "Cells_US", "item": "cells", "period": None, "capacity": 20, "unit_cost": 90},
        ],
        "Demand": [{"site": "Woodruff", "item": "cells", "period": None, "quantity": 25}],
        "Lanes": [
            {"origin": "Cells_KR", "destination": "Woodruff", "item": None, "unit_cost": 2, "capacity": None},
            {"origin": "Cells_US", "destination": "Woodruff", "item": None, "unit_cost": 1, "capacity": None},
        ],
    }
    base.update(override)
    return {name: rows for name, rows in base.items() if rows is not DROP}


def policy(**cells):
    row = {"policy": "local", "rule": "min_share", "items": None, "from": "United States",
           "to": None, "value": 0.5, "basis": None, "scope": None, "period": None}
    row.update(cells)
    return row


def problems_of(path) -> list[Problem]:
    with pytest.raises(WorkbookError) as exc:
        load_workbook(path)
    problems = exc.value.problems
    assert isinstance(problems, list) and problems
    assert all(isinstance(p, Problem) for p in problems)
    return problems


def where(problems):
    return [(p.sheet, p.row, p.column) for p in problems]


def single(problems, sheet, row, column) -> Problem:
    """The one problem at (sheet, row, column); fails if there is none or more than one."""
    found = [p for p in problems if (p.sheet, p.row, p.column) == (sheet, row, column)]
    assert len(found) == 1, f"expected one problem at {sheet} row {row} column {column}, got {problems}"
    return found[0]


# --------------------------------------------------------------------------- the baseline case


def test_the_base_workbook_is_valid(make_workbook):
    network = load_workbook(make_workbook(**sheets()))
    assert set(network.sites) == {"Cells_KR", "Cells_US", "Woodruff"}
    assert set(network.items) == {"cells"}
    assert network.periods == ("all",)
    assert len(network.supply) == 2 and len(network.demand) == 1 and len(network.lanes) == 2
    assert list(network.policies) == ["baseline"]
    assert network.warnings == ()


def test_every_problem_is_reported_at_once(make_workbook):
    path = make_workbook(**sheets(
        Sites=sheets()["Sites"] + [{"site": "cells_kr", "country": "Korea"}],          # row 5: duplicate
        Supply=[{"site": "Cells_KR", "item": "cells", "capacity": -5, "unit_cost": 70},  # row 2: negative
                {"site": "Cells_US", "item": "cells", "capacity": 20, "unit_cost": "n/a"}],  # row 3: text
        Demand=DROP,                                                                       # missing sheet
        Lanes=[{"origin": "Cells_KR", "destination": "Woodruf"}],                         # row 2: unknown
        Policies=[policy(value=1.5), policy(rule="min_shares")],                           # rows 2, 3
    ))
    problems = problems_of(path)
    assert sorted(where(problems), key=str) == sorted([
        ("Sites", 5, "site"),
        ("Supply", 2, "capacity"),
        ("Supply", 3, "unit_cost"),
        ("Demand", None, None),
        ("Lanes", 2, "destination"),
        ("Policies", 2, "value"),
        ("Policies", 3, "rule"),
    ], key=str)
    assert "duplicate of Sites row 2" in single(problems, "Sites", 5, "site").message
    assert "expected a number >= 0" in single(problems, "Supply", 2, "capacity").message
    assert "expected a number" in single(problems, "Supply", 3, "unit_cost").message
    assert single(problems, "Demand", None, None).message == "required sheet is missing"
    assert single(problems, "Lanes", 2, "destination").message == ("'Woodruf' is not a site in Sites; did you mean "
                                                                   "'Woodruff'?")
    assert "outside [0, 1]" in single(problems, "Policies", 2, "value").message
    assert "is not a rule type" in single(problems, "Policies", 3, "rule").message
    # the exception text lists them too, one per line
    with pytest.raises(WorkbookError, match=r"7 problem\(s\)"):
        load_workbook(path)


# --------------------------------------------------------------------------- sheets and columns


@pytest.mark.parametrize("sheet", ["Supply", "Demand", "Lanes"])
def test_missing_required_sheet(make_workbook, sheet):
    problems = problems_of(make_workbook(**sheets(**{sheet: DROP})))
    assert problems == [Problem(sheet, None, None, "required sheet is missing")]


@pytest.mark.parametrize("sheet", ["Sites", "Items"])
def test_missing_master_sheet(make_workbook, sheet):
    # without Sites (Items) the references to them are unknown too; the sheet itself must be named
    problems = problems_of(make_workbook(**sheets(**{sheet: DROP})))
    assert single(problems, sheet, None, None).message == "required sheet is missing"


def test_two_missing_sheets_are_both_reported(make_workbook):
    problems = problems_of(make_workbook(**sheets(Demand=DROP, Lanes=DROP)))
    assert where(problems) == [("Demand", None, None), ("Lanes", None, None)]


#: The optional sheets of the base workbook, and what the network holds without each.
OPTIONAL = {"Groups": [{"group": "north_america", "country": "United States"}],
            "Tariffs": [{"origin": "Korea", "destination": "United States", "rate": 0.1}],
            "Policies": [policy()],
            "Periods": [{"period": 2026}, {"period": 2027}]}
ABSENT = {"Groups": {"groups": {}},
          "Tariffs": {"tariffs": []},
          "Policies": {"policies": {"baseline": 0}},
          "Periods": {"periods": ("all",), "supply": 2, "demand": 1}}  # blank-period rows: one implicit period


def contents(network) -> dict:
    return {"groups": network.groups, "periods": network.periods,
            "tariffs": [(set(t.origins), set(t.destinations), t.rate) for t in network.tariffs],
            "policies": {name: len(p.rules) for name, p in network.policies.items()},
            "supply": len(network.supply), "demand": len(network.demand), "lanes": len(network.lanes),
            "warnings": network.warnings}


@pytest.mark.parametrize("sheet", OPTIONAL)
def test_an_optional_sheet_may_be_absent_and_then_holds_nothing(make_workbook, sheet):
    full = contents(load_workbook(make_workbook(**sheets(**OPTIONAL))))
    assert full == {"groups": {"north_america": {"united states"}}, "periods": ("2026", "2027"),
                    "tariffs": [({"Cells_KR"}, {"Cells_US", "Woodruff"}, 0.1)], "policies": {"baseline": 0, "local": 1},
                    "supply": 4, "demand": 2, "lanes": 2, "warnings": ()}
    assert contents(load_workbook(make_workbook(**sheets(**{**OPTIONAL, sheet: DROP})))) == {**full, **ABSENT[sheet]}


@pytest.mark.parametrize(("sheet", "column"), [
    ("Supply", "unit_cost"),
    ("Demand", "quantity"),
    ("Lanes", "destination"),
    ("Supply", "item"),
])
def test_missing_required_column(make_workbook, sheet, column):
    rows = [{k: v for k, v in row.items() if k != column} for row in sheets()[sheet]]
    problems = problems_of(make_workbook(**sheets(**{sheet: rows})))
    assert problems == [Problem(sheet, 1, column, f"required column {column!r} is missing")]


@pytest.mark.parametrize(("sheet", "column"), [("Sites", "country"), ("Items", "item")])
def test_missing_required_column_in_a_master_sheet(make_workbook, sheet, column):
    rows = [{k: v for k, v in row.items() if k != column} for row in sheets()[sheet]]
    problems = problems_of(make_workbook(**sheets(**{sheet: rows})))
    problem = single(problems, sheet, 1, column)
    assert problem.message == f"required column {column!r} is missing"


def test_missing_required_column_in_policies(make_workbook):
    rows = [{k: v for k, v in policy().items() if k != "rule"}]
    problems = problems_of(make_workbook(**sheets(Policies=rows)))
    assert problems == [Problem("Policies", 1, "rule", "required column 'rule' is missing")]


def test_column_given_twice(make_workbook):
    rows = [{"site": "Cells_KR", "item": "cells", "unit_cost": 70, " UNIT_COST": 71}]
    problems = problems_of(make_workbook(**sheets(Supply=rows)))
    assert where(problems) == [("Supply", 1, "unit_cost")]
    assert "column appears twice (columns C and D)" in problems[0].message


def test_blank_required_cell(make_workbook):
    rows = [{"site": "Cells_KR", "item": "cells", "capacity": 5, "unit_cost": None}]
    problems = problems_of(make_workbook(**sheets(Supply=rows)))
    assert problems == [Problem("Supply", 2, "unit_cost", "a value is required", None)]


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(("sheet", "column"), [
    ("Supply", "site"), ("Demand", "site"), ("Lanes", "origin"), ("Lanes", "destination"),
])
def test_unknown_site(make_workbook, sheet, column):
    rows = [dict(row) for row in sheets()[sheet]]
    rows[-1][column] = "Woodruf"
    row = len(rows) + 1
    problems = problems_of(make_workbook(**sheets(**{sheet: rows})))
    assert where(problems) == [(sheet, row, column)]
    assert problems[0].message == "'Woodruf' is not a site in Sites; did you mean 'Woodruff'?"
    assert problems[0].value == "Woodruf"


def test_unknown_site_far_down_keeps_the_excel_row(make_workbook):
    lanes = sheets()["Lanes"] + [{"origin": None, "destination": None}] * 10 + [
        {"origin": "Cells_KR", "destination": "Woodruf", "item": None, "unit_cost": 3, "capacity": None}]
    problems = problems_of(make_workbook(**sheets(Lanes=lanes)))
    assert problems == [Problem("Lanes", 14, "destination", "'Woodruf' is not a site in Sites; did you mean "
                                                            "'Woodruff'?", "Woodruf")]


@pytest.mark.parametrize("sheet", ["Supply", "Demand", "Lanes"])
def test_unknown_item(make_workbook, sheet):
    rows = [dict(row) for row in sheets()[sheet]]
    rows[0]["item"] = "cell"
    problems = problems_of(make_workbook(**sheets(**{sheet: rows})))
    assert problems == [Problem(sheet, 2, "item", "'cell' is not an item in Items; did you mean 'cells'?", "cell")]


@pytest.mark.parametrize(("sheet", "column", "row"), [
    ("Policies", "from", policy(**{"from": "north_amerca"})),
    ("Policies", "to", policy(to="north_amerca")),
    ("Tariffs", "origin", {"origin": "north_amerca", "destination": None, "rate": 0.1}),
    ("Tariffs", "destination", {"origin": "Korea", "destination": "north_amerca", "rate": 0.1}),
])
def test_unknown_selector_term(make_workbook, sheet, column, row):
    groups = [{"group": "north_america", "country": "United States"}]
    problems = problems_of(make_workbook(**sheets(Groups=groups, **{sheet: [row]})))
    assert problems == [Problem(sheet, 2, column, "'north_amerca' is not a group, country, tag or site id; did you "
                                                  "mean 'north_america'?", "north_amerca")]


def test_unknown_term_among_several_in_a_selector(make_workbook):
    row = policy(**{"from": "United States; cell_plant ;Atlantis"})
    problems = problems_of(make_workbook(**sheets(Policies=[row])))
    assert problems == [Problem("Policies", 2, "from",
                                "'Atlantis' is not a group, country, tag or site id", "Atlantis")]


@pytest.mark.parametrize(("sheet", "row"), [
    ("Policies", policy(items="widgets")),
    ("Tariffs", {"origin": "Korea", "item": "widgets", "rate": 0.1}),
])
def test_unknown_item_list_term(make_workbook, sheet, row):
    problems = problems_of(make_workbook(**sheets(**{sheet: [row]})))
    column = "items" if sheet == "Policies" else "item"
    assert problems == [Problem(sheet, 2, column, "'widgets' is not an item or category in Items", "widgets")]


def test_selectors_resolve_groups_countries_tags_and_sites(make_workbook):
    groups = [{"group": "north_america", "country": "United States"},
              {"group": "north_america", "country": "Canada"}]
    rows = [policy(**{"from": "north_america"}), policy(**{"from": "Korea"}, policy="p2"),
            policy(**{"from": "CELL_PLANT"}, policy="p3"), policy(**{"from": "cells_us; Cells_KR"}, policy="p4")]
    network = load_workbook(make_workbook(**sheets(Groups=groups, Policies=rows)))
    assert network.policy("local").rules[0].from_sites == {"Cells_US", "Woodruff"}
    assert network.policy("p2").rules[0].from_sites == {"Cells_KR"}
    assert network.policy("p3").rules[0].from_sites == {"Cells_KR", "Cells_US"}
    assert network.policy("p4").rules[0].from_sites == {"Cells_KR", "Cells_US"}
    assert network.policy("local").rules[0].to_sites == {"Cells_KR", "Cells_US", "Woodruff"}  # blank = all


# --------------------------------------------------------------------------- periods


PERIODS = [{"period": 2026}, {"period": 2027}]


@pytest.mark.parametrize(("sheet", "row"), [
    ("Supply", {"site": "Cells_KR", "item": "cells", "period": 2030, "unit_cost": 70}),
    ("Demand", {"site": "Woodruff", "item": "cells", "period": 2030, "quantity": 25}),
    ("Tariffs", {"origin": "Korea", "period": 2030, "rate": 0.1}),
    ("Policies", policy(period=2030)),
])
def test_unknown_period(make_workbook, sheet, row):
    base = sheets()
    rows = ([row] if sheet in ("Tariffs", "Policies") else base[sheet] + [row])
    problems = problems_of(make_workbook(**sheets(Periods=PERIODS, **{sheet: rows})))
    excel_row = len(rows) + 1
    assert problems == [Problem(sheet, excel_row, "period", "'2030' is not a period in Periods", "2030")]


def test_periods_are_taken_from_the_data_without_a_periods_sheet(make_workbook):
    demand = [{"site": "Woodruff", "item": "cells", "period": 2027, "quantity": 25},
              {"site": "Woodruff", "item": "cells", "period": "2026", "quantity": 20}]
    network = load_workbook(make_workbook(**sheets(Demand=demand)))
    assert network.periods == ("2026", "2027")
    # blank-period Supply rows apply to every period
    assert sorted((s.site, s.period) for s in network.supply.itertuples()) == [
        ("Cells_KR", "2026"), ("Cells_KR", "2027"), ("Cells_US", "2026"), ("Cells_US", "2027")]


def test_a_period_row_overrides_the_blank_period_row(make_workbook):
    supply = sheets()["Supply"] + [{"site": "Cells_KR", "item": "cells", "period": 2027, "unit_cost": 60}]
    network = load_workbook(make_workbook(**sheets(Supply=supply, Periods=PERIODS)))
    kr = {s.period: s.unit_cost for s in network.supply.itertuples() if s.site == "Cells_KR"}
    assert kr == {"2026": 70.0, "2027": 60.0}


# --------------------------------------------------------------------------- duplicates


def test_duplicate_site_ignores_case(make_workbook):
    rows = sheets()["Sites"] + [{"site": " woodruff ", "country": "United States"}]
    problems = problems_of(make_workbook(**sheets(Sites=rows)))
    assert where(problems) == [("Sites", 5, "site")]
    assert problems[0].message.startswith("duplicate of Sites row 4")


def test_duplicate_item(make_workbook):
    rows = sheets()["Items"] + [{"item": "CELLS", "unit": "GWh"}]
    problems = problems_of(make_workbook(**sheets(Items=rows)))
    assert where(problems) == [("Items", 3, "item")]
    assert problems[0].message.startswith("duplicate of Items row 2")


def test_duplicate_supply_same_period(make_workbook):
    supply = sheets()["Supply"] + [
        {"site": "Cells_KR", "item": "cells", "period": 2026, "unit_cost": 70},
        {"site": "cells_kr", "item": "cells", "period": "2026", "unit_cost": 71},
    ]
    problems = problems_of(make_workbook(**sheets(Supply=supply, Periods=PERIODS)))
    assert where(problems) == [("Supply", 5, "period")]
    assert problems[0].message == "duplicate of Supply row 4 (same site, item and period 2026)"


def test_duplicate_supply_blank_period(make_workbook):
    supply = sheets()["Supply"] + [{"site": "Cells_US", "item": "cells", "period": None, "unit_cost": 95}]
    problems = problems_of(make_workbook(**sheets(Supply=supply)))
    assert where(problems) == [("Supply", 4, "period")]
    assert problems[0].message == "duplicate of Supply row 3 (same site, item and blank period)"


def test_duplicate_demand(make_workbook):
    demand = [{"site": "Woodruff", "item": "cells", "period": 2026, "quantity": 25},
              {"site": "Woodruff", "item": "cells", "period": 2027, "quantity": 25},
              {"site": "Woodruff", "item": "cells", "period": 2026, "quantity": 30}]
    problems = problems_of(make_workbook(**sheets(Demand=demand, Periods=PERIODS)))
    assert where(problems) == [("Demand", 4, "period")]
    assert "duplicate of Demand row 2" in problems[0].message


def test_duplicate_lane(make_workbook):
    lanes = sheets()["Lanes"] + [
        {"origin": "Cells_KR", "destination": "Woodruff", "item": "cells", "unit_cost": 2},
        {"origin": "CELLS_KR", "destination": "woodruff", "item": "Cells", "unit_cost": 3},
    ]
    problems = problems_of(make_workbook(**sheets(Lanes=lanes)))
    assert where(problems) == [("Lanes", 5, "destination")]
    assert problems[0].message.startswith("duplicate of Lanes row 4")


def test_item_lane_next_to_blank_item_lane_is_not_a_duplicate(make_workbook):
    lanes = sheets()["Lanes"] + [{"origin": "Cells_KR", "destination": "Woodruff", "item": "cells",
                                  "unit_cost": 5}]
    network = load_workbook(make_workbook(**sheets(Lanes=lanes)))
    assert len(network.lanes) == 3


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("sheet", "column", "value", "phrase"), [
    ("Supply", "capacity", -1, "expected a number >= 0"),
    ("Supply", "unit_cost", -0.5, "expected a number >= 0"),
    ("Demand", "quantity", -25, "expected a number >= 0"),
    ("Lanes", "unit_cost", -2, "expected a number >= 0"),
    ("Supply", "capacity", "lots", "expected a number"),
    ("Supply", "unit_cost", "seventy", "expected a number"),
    ("Demand", "quantity", "25 GWh", "expected a number"),
    ("Supply", "unit_cost", True, "expected a number, got a TRUE/FALSE value"),
    ("Demand", "quantity", False, "expected a number, got a TRUE/FALSE value"),
    ("Supply", "capacity", dt.datetime(2026, 1, 1), "expected a number, got a date/time"),
])
def test_bad_number(make_workbook, sheet, column, value, phrase):
    rows = [dict(row) for row in sheets()[sheet]]
    rows[0][column] = value
    problems = problems_of(make_workbook(**sheets(**{sheet: rows})))
    assert where(problems) == [(sheet, 2, column)]
    assert phrase in problems[0].message
    assert problems[0].value == value


def test_negative_tariff_rate(make_workbook):
    problems = problems_of(make_workbook(**sheets(Tariffs=[{"origin": "Korea", "rate": -0.1}])))
    assert where(problems) == [("Tariffs", 2, "rate")]
    assert "expected a number >= 0" in problems[0].message


def test_numbers_written_as_text(make_workbook):
    supply = [{"site": "Cells_KR", "item": "cells", "capacity": "1,200", "unit_cost": " 70.5 "}]
    tariffs = [{"origin": "Korea", "destination": "United States", "rate": "25%"}]
    network = load_workbook(make_workbook(**sheets(Supply=supply, Tariffs=tariffs,
                                                   Policies=[policy(value="60%")])))
    assert network.supply.iloc[0].capacity == 1200.0
    assert network.supply.iloc[0].unit_cost == 70.5
    assert network.tariffs[0].rate == pytest.approx(0.25)
    assert network.policy("local").rules[0].value == pytest.approx(0.6)


# --------------------------------------------------------------------------- policies


@pytest.mark.parametrize(("rule", "value"), [("min_share", 1.5), ("max_share", -0.1), ("min_share", "150%")])
def test_share_value_outside_unit_interval(make_workbook, rule, value):
    problems = problems_of(make_workbook(**sheets(Policies=[policy(rule=rule, value=value)])))
    assert where(problems) == [("Policies", 2, "value")]
    assert "outside [0, 1]" in problems[0].message


@pytest.mark.parametrize("rule", ["min_share", "max_share"])
def test_share_value_missing(make_workbook, rule):
    problems = problems_of(make_workbook(**sheets(Policies=[policy(rule=rule, value=None)])))
    assert problems == [Problem("Policies", 2, "value", f"a {rule} rule needs a value between 0 and 1")]


def test_exclude_needs_no_value(make_workbook):
    network = load_workbook(make_workbook(**sheets(
        Policies=[policy(rule="Exclude", value=None, **{"from": "Korea"})])))
    rule = network.policy("local").rules[0]
    assert (rule.type, rule.from_sites, rule.basis, rule.scope) == ("exclude", {"Cells_KR"}, "value", "total")


def test_unknown_rule_type(make_workbook):
    problems = problems_of(make_workbook(**sheets(Policies=[policy(rule="minimum_share")])))
    assert where(problems) == [("Policies", 2, "rule")]
    assert problems[0].message.startswith("'minimum_share' is not a rule type")
    assert "min_share, max_share, exclude" in problems[0].message


@pytest.mark.parametrize(("column", "value", "allowed"), [
    ("basis", "weight", "value, quantity"),
    ("scope", "per_site", "total, each_destination"),
])
def test_bad_basis_or_scope(make_workbook, column, value, allowed):
    problems = problems_of(make_workbook(**sheets(Policies=[policy(**{column: value})])))
    assert problems == [Problem("Policies", 2, column, f"{value!r} is not one of: {allowed}", value)]


def test_basis_and_scope_are_case_insensitive(make_workbook):
    network = load_workbook(make_workbook(**sheets(
        Policies=[policy(basis="Quantity", scope="EACH_DESTINATION")])))
    rule = network.policy("local").rules[0]
    assert (rule.basis, rule.scope) == ("quantity", "each_destination")


@pytest.mark.parametrize("name", ["baseline", "Baseline", " BASELINE "])
def test_reserved_policy_name(make_workbook, name):
    problems = problems_of(make_workbook(**sheets(Policies=[policy(policy=name)])))
    assert where(problems) == [("Policies", 2, "policy")]
    assert "is reserved" in problems[0].message


def test_rows_of_one_policy_set_form_one_set(make_workbook):
    rows = [policy(), policy(policy="LOCAL", rule="exclude", value=None, **{"from": "Korea"})]
    network = load_workbook(make_workbook(**sheets(Policies=rows)))
    assert list(network.policies) == ["baseline", "local"]
    assert [r.type for r in network.policy("Local").rules] == ["min_share", "exclude"]


# --------------------------------------------------------------------------- ambiguity


def test_tag_named_like_a_country_is_ambiguous(make_workbook):
    sites = sheets()["Sites"] + [{"site": "Cells_JP", "country": "Japan", "tags": "korea"}]
    problems = problems_of(make_workbook(**sheets(Sites=sites, Policies=[policy(**{"from": "Korea"})])))
    assert where(problems) == [("Policies", 2, "from")]
    assert "ambiguous" in problems[0].message
    assert "country and a tag" in problems[0].message


def test_group_named_like_a_site_is_ambiguous(make_workbook):
    groups = [{"group": "Woodruff", "country": "United States"}]
    problems = problems_of(make_workbook(**sheets(
        Groups=groups, Tariffs=[{"origin": "Korea", "destination": "woodruff", "rate": 0.1}])))
    assert where(problems) == [("Tariffs", 2, "destination")]
    assert "ambiguous" in problems[0].message
    assert "group and a site" in problems[0].message


def test_item_named_like_a_category_is_ambiguous(make_workbook):
    items = sheets()["Items"] + [{"item": "battery_component"}]
    problems = problems_of(make_workbook(**sheets(Items=items, Policies=[policy(items="Battery_Component")])))
    assert where(problems) == [("Policies", 2, "items")]
    assert "ambiguous" in problems[0].message


def test_an_unused_ambiguous_name_is_no_problem(make_workbook):
    groups = [{"group": "Woodruff", "country": "United States"}]
    network = load_workbook(make_workbook(**sheets(Groups=groups)))
    assert "Woodruff" in network.groups


def test_categories_select_their_items(make_workbook):
    items = sheets()["Items"] + [{"item": "cam", "category": "critical_mineral"}]
    network = load_workbook(make_workbook(**sheets(Items=items, Policies=[policy(items="battery_component")])))
    assert network.policy("local").rules[0].items == {"cells"}


# --------------------------------------------------------------------------- what is read leniently


def test_sheet_and_header_names_ignore_case_and_spaces(make_workbook):
    base = sheets()
    supply = [{" SITE": r["site"], "Item ": r["item"], " Unit_Cost ": r["unit_cost"], "CAPACITY": r["capacity"]}
              for r in base.pop("Supply")]
    base["sites"] = base.pop("Sites")
    network = load_workbook(make_workbook(**base, **{" SUPPLY ": supply}))
    assert sorted((s.site, s.unit_cost, s.capacity) for s in network.supply.fillna(-1).itertuples()) == [
        ("Cells_KR", 70.0, -1), ("Cells_US", 90.0, 20.0)]
    assert network.warnings == ()


def test_text_cells_are_trimmed(make_workbook):
    demand = [{"site": "  Woodruff ", "item": " cells", "quantity": 25}]
    network = load_workbook(make_workbook(**sheets(Demand=demand)))
    assert tuple(network.demand.iloc[0][["site", "item"]]) == ("Woodruff", "cells")


def test_references_ignore_case_and_use_the_sites_spelling(make_workbook):
    lanes = [{"origin": "CELLS_KR", "destination": "woodruff"}, {"origin": "cells_us", "destination": "WOODRUFF"}]
    network = load_workbook(make_workbook(**sheets(Lanes=lanes)))
    assert sorted((ln.origin, ln.destination, ln.unit_cost) for ln in network.lanes.itertuples()) == [
        ("Cells_KR", "Woodruff", 0.0), ("Cells_US", "Woodruff", 0.0)]


def test_unknown_sheets_and_columns_are_warnings(make_workbook):
    supply = [dict(row, supplier_rating="A") for row in sheets()["Supply"]]
    network = load_workbook(make_workbook(**sheets(Supply=supply), Scratch=[{"a": 1}]))
    assert len(network.supply) == 2
    assert len(network.warnings) == 2
    assert "sheet 'Scratch' is not part of the workbook format, so its rows are not read" in network.warnings
    assert any(w.startswith("Supply: column 'supplier_rating' (") and w.endswith(
        ") is not part of the format, so its values are not read") for w in network.warnings)


def test_notes_and_source_are_ignored_silently(make_workbook):
    sites = [dict(row, Notes="some note", source="http://example.com") for row in sheets()["Sites"]]
    lanes = [dict(row, notes="x", Source="y") for row in sheets()["Lanes"]]
    network = load_workbook(make_workbook(**sheets(Sites=sites, Lanes=lanes),
                                          Notes=[{"sheet": "Sites", "meaning": "..."}]))
    assert network.warnings == ()
    assert len(network.sites) == 3


def test_numeric_site_and_item_ids(make_workbook):
    book = sheets(
        Sites=[{"site": 101, "country": "Korea"}, {"site": 202, "country": "United States"}],
        Items=[{"item": 7}],
        Supply=[{"site": 101, "item": 7, "unit_cost": 70}],
        Demand=[{"site": "202", "item": 7.0, "quantity": 25}],
        Lanes=[{"origin": 101.0, "destination": 202}],
    )
    network = load_workbook(make_workbook(**book))
    assert set(network.sites) == {"101", "202"}
    assert set(network.items) == {"7"}
    assert (network.lanes.iloc[0].origin, network.lanes.iloc[0].destination) == ("101", "202")
    assert tuple(network.demand.iloc[0][["site", "item"]]) == ("202", "7")


def test_blank_rows_are_skipped_and_rows_keep_excel_numbers(make_workbook):
    blank = {"site": None, "item": None, "period": None, "capacity": None, "unit_cost": None}
    supply = [sheets()["Supply"][0], blank, blank, sheets()["Supply"][1],
              {"site": "Cells_CN", "item": "cells", "unit_cost": 50}]
    problems = problems_of(make_workbook(**sheets(Supply=supply)))
    assert problems == [Problem("Supply", 6, "site", "'Cells_CN' is not a site in Sites", "Cells_CN")]


def test_blank_rows_in_a_valid_sheet_are_no_problem(make_workbook):
    blank = {"site": None, "item": None, "period": None, "capacity": None, "unit_cost": None}
    supply = [sheets()["Supply"][0], blank, sheets()["Supply"][1]]
    network = load_workbook(make_workbook(**sheets(Supply=supply)))
    assert sorted(s.row for s in network.supply.itertuples()) == [2, 4]


def test_invalid_site_row_with_numeric_id_does_not_cascade(make_workbook):
    book = sheets(
        Sites=[{"site": 101, "country": None}, {"site": "Woodruff", "country": "United States"}],
        Supply=[{"site": 101, "item": "cells", "unit_cost": 70}],
        Lanes=[{"origin": 101, "destination": "Woodruff"}],
    )
    problems = problems_of(make_workbook(**book))
    assert problems == [Problem("Sites", 2, "country", "a value is required", None)]


def test_invalid_site_row_with_text_id_does_not_cascade(make_workbook):
    book = sheets(
        Sites=[{"site": "Cells_KR", "country": None}, {"site": "Woodruff", "country": "United States"}],
        Supply=[{"site": "Cells_KR", "item": "cells", "unit_cost": 70}],
        Lanes=[{"origin": "Cells_KR", "destination": "Woodruff"}],
    )
    problems = problems_of(make_workbook(**book))
    assert problems == [Problem("Sites", 2, "country", "a value is required", None)]


@pytest.mark.parametrize(("content", "phrase"), [
    (None, "file not found"),
    (b"site,country\nA,Korea\n", "cannot be read as an Excel .xlsx workbook"),
])
def test_unreadable_file(tmp_path, content, phrase):
    path = tmp_path / "input.xlsx"
    if content is not None:
        path.write_bytes(content)
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].sheet == "input.xlsx" and problems[0].row is None and problems[0].column is None
    assert phrase in problems[0].message


def test_folder_instead_of_a_file(tmp_path):
    folder = tmp_path / "plans.xlsx"
    folder.mkdir()
    problems = problems_of(folder)
    assert len(problems) == 1 and "is a folder" in problems[0].message


# --------------------------------------------------------------------------- both readers

#: Workbooks of this file, read with python-calamine (plain sheets, the default) and with openpyxl alone
#: (SOURCING_READER=openpyxl): the same problems, in the same order, with the same values (2026 stays an int).
BOTH_READERS = {
    "every problem at once": sheets(
        Sites=sheets()["Sites"] + [{"site": "cells_kr", "country": "Korea"}],
        Supply=[{"site": "Cells_KR", "item": "cells", "capacity": -5, "unit_cost": 70},
                {"site": "Cells_US", "item": "cells", "capacity": 20, "unit_cost": "n/a"}],
        Demand=DROP, Lanes=[{"origin": "Cells_KR", "destination": "Woodruf"}],
        Policies=[policy(value=1.5), policy(rule="min_shares")]),
    "bad numbers": sheets(
        Supply=[{"site": "Cells_KR", "item": "cells", "period": 2026, "capacity": "lots", "unit_cost": -0.5},
                {"site": "Cells_US", "item": "cells", "period": "2027", "capacity": 12.5, "unit_cost": True}],
        Demand=[{"site": "Woodruff", "item": "cells", "period": 2026.0, "quantity": "25 GWh"}],
        Lanes=[{"origin": "Cells_KR", "destination": "Woodruff", "unit_cost": False, "capacity": 12345678}]),
    "numbers written as text": sheets(
        Supply=[{"site": "Cells_KR", "item": "cells", "capacity": "1,200", "unit_cost": " 70.5 "}],
        Tariffs=[{"origin": "Korea", "destination": "United States", "rate": "25%"}],
        Policies=[policy(value="150%")]),
    "numeric ids": sheets(
        Sites=[{"site": 101, "country": None}, {"site": 202, "country": "United States"}],
        Items=[{"item": 7}],
        Supply=[{"site": 101, "item": 7, "unit_cost": 70}, {"site": 303, "item": 7.5, "unit_cost": 1}],
        Demand=[{"site": "202", "item": 7.0, "quantity": 25}],
        Lanes=[{"origin": 101.0, "destination": 202}]),
    "columns missing, twice, unknown and spaced": sheets(
        Supply=[{"site": "Cells_KR", "item": "cells", "unit_cost": 70, " UNIT_COST": 71, "rating ": "A"}],
        Demand=[{"site": "Woodruff", "item": "cells"}],
        Lanes=[{" Origin": "Cells_KR", "DESTINATION ": "Woodruff", "": "x", "notes": "y"}]),
    "blank rows, blank and empty cells": sheets(
        Supply=[sheets()["Supply"][0], {"site": None, "item": None, "unit_cost": None},
                {"site": "", "item": "   ", "unit_cost": None}, {"site": "Cells_CN", "item": "cells", "unit_cost": 50},
                {"site": "Cells_US", "item": "cells", "unit_cost": ""}]),
    "a date in a number column": sheets(  # a date format: openpyxl reads that sheet
        Supply=[{"site": "Cells_KR", "item": "cells", "capacity": dt.datetime(2026, 1, 1), "unit_cost": 70}]),
    "a huge number": sheets(  # stored as 1e+300: openpyxl reads that sheet
        Demand=[{"site": "Woodruff", "item": "cells", "quantity": 1e300}]),
}
#: The sheets openpyxl reads in these workbooks (calamine reads the others).
READ_BY_OPENPYXL = {"a date in a number column": {"Supply"}, "a huge number": {"Demand"}}


@pytest.mark.parametrize("name", sorted(BOTH_READERS))
def test_both_readers_give_the_same_problems(make_workbook, monkeypatch, name):
    path = make_workbook(**BOTH_READERS[name])

    def outcome():
        try:
            return ("valid", load_workbook(path).warnings)
        except WorkbookError as exc:
            return ("invalid", [(p.sheet, p.row, p.column, p.message, type(p.value).__name__, repr(p.value))
                                for p in exc.problems])

    fast = calamine_reads(monkeypatch)
    auto = outcome()
    monkeypatch.setenv("SOURCING_READER", "openpyxl")
    fast_before = dict(fast)
    reference = outcome()
    assert fast == fast_before  # the second read never asked calamine
    assert auto == reference
    assert {title for title, by_calamine in fast.items() if not by_calamine} == READ_BY_OPENPYXL.get(name, set())


# --------------------------------------------------------------------------- Settings

SETTINGS_BASE = {
    "Sites": [{"site": "S", "country": "Korea"}, {"site": "P", "country": "Korea"}],
    "Items": [{"item": "cells", "unit": "GWh"}],
    "Supply": [{"site": "S", "item": "cells", "unit_cost": 1}],
    "Demand": [{"site": "P", "item": "cells", "quantity": 1}],
    "Lanes": [{"origin": "S", "destination": "P"}],
}


def test_settings_are_read_by_key_and_an_unknown_key_is_a_warning_naming_the_cell(make_workbook):
    network = load_workbook(make_workbook(**SETTINGS_BASE, Settings=[{"key": " Currency ", "value": " USD M "},
                                                                      {"key": "curency", "value": "x"}]))
    assert network.settings == {"currency": "USD M"}
    assert network.warnings == ("Settings row 3, column key: 'curency' is not a setting (known: currency, "
                                "emissions_unit, period_weeks); it was ignored",)


def test_a_setting_given_twice_is_an_error_naming_the_second_row(make_workbook):
    with pytest.raises(WorkbookError) as caught:
        load_workbook(make_workbook(**SETTINGS_BASE, Settings=[{"key": "currency", "value": "USD"},
                                                               {"key": "CURRENCY", "value": "EUR"}]))
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("Settings", 3, "key")
    assert "duplicate of Settings row 2" in problem.message


def test_a_blank_setting_or_no_settings_sheet_sets_nothing(make_workbook):
    blank = load_workbook(make_workbook(**SETTINGS_BASE, Settings=[{"key": "currency", "value": None}]))
    assert blank.settings == {} and blank.warnings == ()
    assert load_workbook(make_workbook(**SETTINGS_BASE)).settings == {}


# --------------------------------------------------------------------------- probable mistakes (issue 21)
# Each of these passed silently: a warning naming the cell where the input may be meant, an error where it
# cannot be.

FOUR_YEARS = [{"period": p} for p in (2026, 2027, 2028, 2029)]


def warnings_of(**override) -> tuple[str, ...]:
    """The warnings of ``sheets(**override)``, validated without writing a file."""
    return network(**sheets(**override)).warnings


def problems_in(**override) -> list[Problem]:
    with pytest.raises(WorkbookError) as caught:
        network(**sheets(**override))
    return caught.value.problems


TARIFF_WARNING = ("Tariffs row 2, column rate: 2.5 is a rate of 250% (a 100% tariff is 1); a rate is a fraction "
                  "(0.25 or 25%): check the cell")


@pytest.mark.parametrize(("rate", "warned"), [(2.5, True), (1.0, False), ("25%", False), (0.25, False)])
def test_a_tariff_rate_above_1_is_a_warning_naming_the_cell(rate, warned):
    found = warnings_of(Tariffs=[{"origin": "Korea", "rate": rate}])
    assert found == ((TARIFF_WARNING,) if warned else ())


@pytest.mark.parametrize(("sheet", "column", "row"), [
    ("Tariffs", "rate", {"origin": "Korea", "rate": 25}),
    ("Policies", "value", policy(rule="tariff", value=25, **{"from": "Korea"})),
])
def test_a_tariff_rate_above_5_is_an_error_naming_the_cell(sheet, column, row):
    assert problems_in(**{sheet: [row]}) == [Problem(
        sheet, 2, column, "25 is a rate of 2,500%, above the 500% accepted; a rate is a fraction (0.25 or 25%)", 25.0)]


def test_a_tariff_rule_above_1_is_a_warning_and_25_percent_as_text_is_a_rate():
    rules = [policy(rule="tariff", value=1.5, **{"from": "Korea"}), policy(rule="tariff", value="25%", policy="p2")]
    built = network(**sheets(Policies=rules))
    assert built.warnings == ("Policies row 2, column value: 1.5 is a rate of 150% (a 100% tariff is 1); a rate is "
                              "a fraction (0.25 or 25%): check the cell",)
    assert built.policy("p2").rules[0].value == pytest.approx(0.25)


def gap_demand(*rows) -> list[dict]:
    return [{"site": "Woodruff", "item": "cells", "period": p, "quantity": q} for p, q in rows]


def no_demand_in(*periods: int) -> tuple[str, ...]:
    """The warnings of FOUR_YEARS' periods without any Demand row (Periods rows 2-5)."""
    return tuple(f"Periods row {period - 2024}, column period: {period} has no Demand row, so the plan delivers "
                 "nothing in it: add its demand (0 where none is meant) or check the period" for period in periods)


@pytest.mark.parametrize(("demand", "missing"), [
    (gap_demand((2026, 25), (2027, 25), (2029, 25)), "2028"),
    (gap_demand((2026, 25), (2029, 25)), "2027, 2028"),
])
def test_a_missing_demand_period_is_a_warning_naming_site_item_and_period(demand, missing):
    first, last = demand[0]["period"], demand[-1]["period"]
    # Woodruff is the only site with demand: those periods have none anywhere, which is a warning of its own
    assert warnings_of(Periods=FOUR_YEARS, Demand=demand) == no_demand_in(*map(int, missing.split(", "))) + (
        f"Demand: Woodruff has no cells demand in {missing}, between its first ({first}) and last ({last}) period "
        "with demand; a period without a Demand row has no demand (write 0 where none is meant)",)


@pytest.mark.parametrize("demand", [
    gap_demand((2026, 25), (2027, 25), (2028, 0), (2029, 25)),   # an explicit zero
    gap_demand((None, 25)),                                       # a blank period covers every period
    gap_demand((None, 25), (2028, 0)),
])
def test_an_explicit_zero_a_blank_period_or_a_late_start_is_no_gap(demand):
    assert warnings_of(Periods=FOUR_YEARS, Demand=demand) == ()


def test_a_late_start_is_no_gap_but_periods_without_any_demand_are_named():
    assert warnings_of(Periods=FOUR_YEARS, Demand=gap_demand((2028, 25), (2029, 30))) == no_demand_in(2026, 2027)


def test_many_gaps_are_listed_up_to_a_limit_and_counted():
    plants = [f"Plant_{i:02d}" for i in range(LISTED + 2)]
    sites = sheets()["Sites"] + [{"site": p, "country": "United States"} for p in plants]
    demand = sheets()["Demand"] + [{"site": p, "item": "cells", "period": y, "quantity": 1} for p in plants
                                   for y in (2026, 2028)]  # Woodruff's row covers every period: each has demand
    lanes = sheets()["Lanes"] + [{"origin": "Cells_KR", "destination": p} for p in plants]
    found = warnings_of(Sites=sites, Periods=FOUR_YEARS, Demand=demand, Lanes=lanes)
    assert len(found) == LISTED + 1
    assert found[0].startswith("Demand: Plant_00 has no cells demand in 2027")
    assert found[-1] == "2 more sites and items have a period without demand between periods with demand"


def periods_with(*factors) -> list[dict]:
    return [{"period": p, "discount_factor": f} for p, f in zip((2026, 2027, 2028, 2029), factors, strict=False)]


@pytest.mark.parametrize(("factors", "warning"), [
    ((1, 1.1), "Periods row 3, column discount_factor: 1.1 is above 1, so costs of 2027 weigh more than today's; a "
               "discount factor is 1 / (1 + rate)^years (0.93 a year at 7.5%): check the cell"),
    ((1, 0.9, 0.95), "Periods row 4, column discount_factor: 0.95 is above 0.9, the factor of 2027, the period "
                     "before; discount factors fall over time: check the cell"),
    ((1, 0.9, None), "Periods row 4, column discount_factor: blank (1) is above 0.9, the factor of 2027, the "
                     "period before; discount factors fall over time: check the cell"),
    ((None, 0.93, 0.86), None),
    ((1, 1, 1), None),
])
def test_a_discount_factor_above_1_or_rising_is_a_warning_naming_the_cell(factors, warning):
    assert warnings_of(Periods=periods_with(*factors)) == ((warning,) if warning else ())


@pytest.mark.parametrize("factor", [9, 2.5])
def test_a_discount_factor_above_2_is_an_error_naming_the_cell(factor):
    assert problems_in(Periods=periods_with(1, factor)) == [Problem(
        "Periods", 3, "discount_factor", f"{factor:g} is above 2; a discount factor is 1 / (1 + rate)^years (0.93 a "
                                         "year at 7.5%)", float(factor))]


MEXICO = {"site": "Cells_MX", "country": "Mexico"}
IDLE = ("Supply row 4: Cells_MX supplies cells, but no lane leaves Cells_MX for it (Lanes), no BOM at Cells_MX "
        "consumes it and Cells_MX neither demands nor stocks it, so it can supply nothing: add a lane or check the "
        "site")


@pytest.mark.parametrize(("extra", "warned"), [
    ({}, True),
    ({"Lanes": [{"origin": "Cells_MX", "destination": "Woodruff", "item": "cathode"}]}, True),  # another item
    ({"Lanes": [{"origin": "Cells_MX", "destination": "Woodruff", "item": "cells"}]}, False),
    ({"Lanes": [{"origin": "Cells_MX", "destination": "Woodruff"}]}, False),                    # a blank-item lane
    ({"Demand": [{"site": "Cells_MX", "item": "cells", "quantity": 1}]}, False),                # it uses them
    ({"Inventory": [{"site": "Cells_MX", "item": "cells"}]}, False),                            # it stocks them
])
def test_a_supplier_no_lane_leaves_is_a_warning_naming_the_row(extra, warned):
    book = sheets(Sites=sheets()["Sites"] + [MEXICO],
                  Items=sheets()["Items"] + [{"item": "cathode"}],
                  Supply=sheets()["Supply"] + [{"site": "Cells_MX", "item": "cells", "unit_cost": 60}])
    for sheet, rows in extra.items():
        book[sheet] = book.get(sheet, []) + rows
    assert network(**book).warnings == ((IDLE,) if warned else ())


@pytest.mark.parametrize("bom_site", [None, "Cells_MX"])
def test_a_supplier_whose_output_a_bom_at_its_site_consumes_is_no_warning(bom_site):
    # Cells_MX mines its own cathode and makes cells from it (general recipe, or its own): no lane needed.
    book = sheets(Sites=sheets()["Sites"] + [MEXICO], Items=sheets()["Items"] + [{"item": "cathode"}],
                  Supply=sheets()["Supply"] + [{"site": "Cells_MX", "item": "cells", "unit_cost": 60},
                                               {"site": "Cells_MX", "item": "cathode", "unit_cost": 10}],
                  BOM=[{"item": "cells", "input": "cathode", "quantity": 1, "site": bom_site}],
                  Lanes=sheets()["Lanes"] + [{"origin": "Cells_MX", "destination": "Woodruff", "item": "cells"}])
    # the BOM makes cathode an input of every cells supplier without a site: Cells_KR and Cells_US need it too
    if bom_site is None:
        book["Lanes"] += [{"origin": "Cells_MX", "destination": s, "item": "cathode"} for s in ("Cells_KR", "Cells_US")]
    assert network(**book).warnings == ()


def horizon(**option) -> dict:
    """The base workbook over 2026-2030 with option O at Cells_US (capacity 30, unit cost 51.6)."""
    return sheets(Periods=[{"period": p} for p in range(2026, 2031)],
                  Investments=[{"option": "O", "site": "Cells_US", "item": "cells", "capacity": 30,
                                "unit_cost": 51.6, "capex": 600, **option}])


LEAD_TIME = ("Investments row 2, column lead_time: option 'O' cannot produce within the horizon: built in its "
             "earliest period {earliest}, it becomes available {lead} periods later, after the last period 2030 "
             "(lead_time counts periods of the workbook, not months or years)")


@pytest.mark.parametrize(("option", "warned"), [
    ({"lead_time": 12}, True), ({"lead_time": 5}, True), ({"lead_time": 4, "earliest": 2027}, True),
    ({"lead_time": 4}, False), ({"lead_time": 2, "earliest": 2028}, False), ({}, False),
])
def test_a_lead_time_past_the_horizon_is_a_warning_naming_the_cell(option, warned):
    expected = LEAD_TIME.format(earliest=option.get("earliest", 2026), lead=option.get("lead_time"))
    assert network(**horizon(**option)).warnings == ((expected,) if warned else ())


def test_an_option_that_cannot_produce_is_valued_so_not_0(make_workbook, tmp_path, monkeypatch, capsys):
    path = make_workbook(**horizon(lead_time=12, capex=0))
    code, payload, err = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx", "--option-values")
    assert code == 0
    assert payload["warnings"] == [LEAD_TIME.format(earliest=2026, lead=12)]
    [option] = payload["investments"]
    assert (option["built"], option["value"], option["break_even_capex"]) == (
        False, None, "cannot produce within the horizon")
    monkeypatch.setattr(cli.out, "_width", 200)  # the Investments table on one line per option
    code, out, err = run(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx", "--option-values")
    assert code == 0
    assert f"warning: {LEAD_TIME.format(earliest=2026, lead=12)}" in " ".join(err.split())
    assert re.search(r"│ O +│ no +│ +│ +│ cannot produce within the horizon │", out), out
    sheet = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Investments"]
    header = [c.value for c in sheet[1]]
    column = header.index("break-even capex (nominal)") + 1  # a capex: as it would be paid, nominal
    assert sheet.cell(row=2, column=column).value == "cannot produce within the horizon"


CAPEX = ("Investments row 2, column capex: {capex} is more than 1,000 times the cost of all the production of "
         "option 'O' over the horizon (capacity 30 x unit cost {cost} x 5 periods = {scale}): is it in the "
         "workbook's currency{unit}? Check the cell")


@pytest.mark.parametrize(("option", "settings", "cost", "scale"), [
    ({}, [], "51.6", "7,740"),                                           # the option's own unit cost
    ({"unit_cost": None}, [{"key": "currency", "value": "USD M"}], "90", "1.35e+04"),  # the site's Supply
    ({"unit_cost": 0, "site": "Woodruff"}, [], "80", "1.2e+04"),          # the item's average (70 and 90)
])
def test_a_capex_out_of_scale_with_its_option_is_a_warning_naming_the_cell(option, settings, cost, scale):
    book = horizon(capex=600_000_000, **option)
    if settings:
        book["Settings"] = settings
    unit = " (USD M)" if settings else " (the unit of every other cost)"
    assert network(**book).warnings == (CAPEX.format(capex="600,000,000", cost=cost, scale=scale, unit=unit),)


@pytest.mark.parametrize("option", [{"capex": 600}, {"capex": 7_740_000}, {"capex": 1e12, "unit_cost": 0,
                                                                           "site": "Woodruff", "item": "cathode"}])
def test_a_capex_in_scale_or_without_a_unit_cost_to_compare_is_no_warning(option):
    book = horizon(**option)
    book["Items"] = book["Items"] + [{"item": "cathode"}]
    assert network(**book).warnings == ()


# --------------------------------------------------------------------------- the new analyst's findings (issue 21, 7)


@pytest.mark.parametrize(("factor", "warning"), [
    (0.08, "Periods row 2, column discount_factor: 0.08 is a discount factor below 0.5 in the first period (2026): a "
           "discount rate typed for a factor? A rate of 8% gives a factor of 0.926 after one year; check the cell"),
    (0.4, "Periods row 2, column discount_factor: 0.4 is a discount factor below 0.5 in the first period (2026): a "
          "discount rate typed for a factor? A rate of 40% gives a factor of 0.714 after one year; check the cell"),
    (0.5, None), (1, None)])
def test_a_first_discount_factor_below_half_is_a_rate_typed_for_a_factor(factor, warning):
    assert warnings_of(Periods=periods_with(factor, factor)) == ((warning,) if warning else ())


def test_a_later_factor_below_half_is_plain_discounting():
    # 0.45 after nine years at 9% is what discounting gives: only the first period's factor is suspect
    assert warnings_of(Periods=periods_with(1, 0.7, 0.55, 0.45)) == ()


def test_a_period_without_any_demand_is_a_warning_naming_its_periods_row():
    sites = sheets()["Sites"] + [{"site": "Plant_B", "country": "United States"}]
    lanes = sheets()["Lanes"] + [{"origin": "Cells_KR", "destination": "Plant_B"}]
    demand = [*gap_demand((2026, 25), (2027, 25)), {"site": "Plant_B", "item": "cells", "period": 2029, "quantity": 5}]
    assert warnings_of(Sites=sites, Lanes=lanes, Periods=FOUR_YEARS, Demand=demand) == (
        "Periods row 4, column period: 2028 has no Demand row, so the plan delivers nothing in it: add its demand (0 "
        "where none is meant) or check the period",)
    demand.append({"site": "Plant_B", "item": "cells", "period": 2028, "quantity": 0})  # an explicit zero: meant
    assert warnings_of(Sites=sites, Lanes=lanes, Periods=FOUR_YEARS, Demand=demand) == ()


SOFT = {"site": "Woodruff", "item": "cells", "quantity": 25, "shortage_cost": 200}
UNREACHED = ("Demand row 3, column site: no lane delivers cells to Cells_US: this demand will go unmet at the shortage "
             "cost (add a lane into the site, or check the row)")


@pytest.mark.parametrize(("demand", "extra", "warned"), [
    ({"site": "Cells_KR", "shortage_cost": 200}, {}, False),                  # Cells_KR makes cells
    ({"site": "Cells_US", "shortage_cost": 200}, {}, False),                  # so does Cells_US
    ({"site": "Cells_US", "shortage_cost": 200}, {"Supply": [
        {"site": "Cells_KR", "item": "cells", "unit_cost": 70}]}, True),      # no longer: nothing reaches it
    ({"site": "Cells_US", "shortage_cost": 200}, {"Supply": [{"site": "Cells_KR", "item": "cells", "unit_cost": 70}],
                                                  "Lanes": [*sheets()["Lanes"], {"origin": "Cells_KR",
                                                                                 "destination": "Cells_US"}]}, False),
    ({"site": "Cells_US", "shortage_cost": 200}, {"Supply": [{"site": "Cells_KR", "item": "cells", "unit_cost": 70}],
                                                  "Inventory": [{"site": "Cells_US", "item": "cells", "initial": 5}]},
     False),                                                                 # it holds stock of them
    ({"site": "Cells_US", "shortage_cost": None}, {"Supply": [
        {"site": "Cells_KR", "item": "cells", "unit_cost": 70}]}, False),     # hard: no plan, the diagnosis says why
])
def test_soft_demand_no_lane_reaches_is_a_warning_naming_the_demand_cell(demand, extra, warned):
    book = sheets(Demand=[SOFT, {**SOFT, **demand}])
    book.update(extra)
    assert network(**book).warnings == ((UNREACHED,) if warned else ())


def test_hard_demand_no_lane_reaches_still_has_no_plan(make_workbook, monkeypatch, capsys, tmp_path):
    book = sheets(Demand=[SOFT, {**SOFT, "site": "Cells_US", "shortage_cost": None}],
                  Supply=[{"site": "Cells_KR", "item": "cells", "unit_cost": 70}])
    code, payload, _ = run_json(monkeypatch, capsys, "solve", make_workbook(**book), "-o", tmp_path / "p.xlsx")
    assert (code, payload["status"], payload["warnings"]) == (1, "infeasible", [])
    assert any(d["row"] == 3 and d["sheet"] == "Demand" for d in payload["diagnosis"]), payload["diagnosis"]


CHEAP = ("Demand row 2, column shortage_cost: 60 is below the cheapest supply cost of cells anywhere{when} (70 at "
         "Cells_KR, Supply row 2): the plan would rather leave this demand unmet than deliver it; a shortage cost is "
         "what not delivering costs (the margin lost): check the cell")


@pytest.mark.parametrize(("shortage", "periods", "warning"), [
    (60, None, CHEAP.format(when="")),
    (60, FOUR_YEARS, CHEAP.format(when=" in 2026")),
    (70, None, None),                                    # equal: indifferent, not a mistake
    (500, None, None),
])
def test_a_shortage_cost_below_the_cheapest_supply_is_a_warning_naming_the_cell(shortage, periods, warning):
    book = {"Demand": [{**SOFT, "shortage_cost": shortage}]}
    if periods:
        book["Periods"] = periods
    assert warnings_of(**book) == ((warning,) if warning else ())


def test_the_cheapest_supply_is_of_the_demand_period_and_one_that_can_supply():
    supply = [{"site": "Cells_KR", "item": "cells", "period": 2026, "unit_cost": 50},
              {"site": "Cells_KR", "item": "cells", "period": 2027, "unit_cost": 70},
              {"site": "Cells_US", "item": "cells", "capacity": 0, "unit_cost": 10}]  # capacity 0: supplies nothing
    demand = [{**SOFT, "period": 2026, "shortage_cost": 60}, {**SOFT, "period": 2027, "shortage_cost": 60}]
    assert warnings_of(Periods=[{"period": 2026}, {"period": 2027}], Supply=supply, Demand=demand) == (
        "Demand row 3, column shortage_cost: 60 is below the cheapest supply cost of cells anywhere in 2027 (70 at "
        "Cells_KR, Supply row 3): the plan would rather leave this demand unmet than deliver it; a shortage cost is "
        "what not delivering costs (the margin lost): check the cell",)


@pytest.mark.parametrize("example", ["ev_battery_north_america.xlsx", "ev_battery_multitier.xlsx"])
def test_the_shipped_examples_raise_no_warning(example):
    assert load_workbook(Path(__file__).parent.parent / "inputs" / example).warnings == ()


# did you mean: a name one typo away from exactly one known name

def test_an_unknown_name_close_to_two_known_ones_gets_no_suggestion():
    plants = [{"site": "Plant_A", "country": "United States"}, {"site": "Plant_B", "country": "United States"}]
    lanes = sheets()["Lanes"] + [{"origin": "Cells_KR", "destination": "Plant_C"}]
    assert problems_in(Sites=sheets()["Sites"] + plants, Lanes=lanes) == [
        Problem("Lanes", 4, "destination", "'Plant_C' is not a site in Sites", "Plant_C")]


def test_an_unknown_category_gets_a_suggestion():
    assert problems_in(Policies=[policy(items="battery_componet")]) == [Problem(
        "Policies", 2, "items", "'battery_componet' is not an item or category in Items; did you mean "
                                "'battery_component'?", "battery_componet")]


def scenario_book(**override) -> dict:
    book = horizon()
    book["Investments"][0]["option"] = "AESC_Florence_restart"
    book["Policies"] = [policy(policy="local_for_local")]
    book["Scenarios"] = [{"scenario": "tariff_shock", "probability": 0.6, "policy": "local_for_local"},
                         {"scenario": "status_quo"}]
    book.update(override)
    return book


def test_unknown_scenarios_options_and_policy_sets_get_a_suggestion():
    problems = problems_in(**scenario_book(
        Scenarios=[{"scenario": "tariff_shock", "policy": "local_for_locl"}],
        ScenarioChanges=[{"scenario": "tarif_shock", "sheet": "Investments", "column": "capex",
                          "option": "AESC_Florance_restart", "multiply": 2},
                         {"scenario": "tariff_shock", "sheet": "Investments", "column": "capex",
                          "option": "Northvolt", "multiply": 2}]))
    assert [(p.sheet, p.row, p.column, p.message) for p in problems] == [
        ("Scenarios", 2, "policy", "'local_for_locl' is not a policy set; the workbook has: baseline, "
                                   "local_for_local; did you mean 'local_for_local'?"),
        ("ScenarioChanges", 2, "option", "'AESC_Florance_restart' is not an option of Investments; did you mean "
                                         "'AESC_Florence_restart'?"),
        ("ScenarioChanges", 2, "scenario", "'tarif_shock' is not a scenario of the Scenarios sheet; did you mean "
                                           "'tariff_shock'?"),
        ("ScenarioChanges", 3, "option", "'Northvolt' is not an option of Investments")]


@pytest.mark.parametrize(("args", "message"), [
    (["--policy", "local_for_locl"], "no policy set named 'local_for_locl'; did you mean 'local_for_local'? The "
                                     "workbook has: baseline, local_for_local"),
    (["--policy", "china_cap"], "no policy set named 'china_cap'; the workbook has: baseline, local_for_local"),
    (["--scenario", "tarif_shock"], "no scenario named 'tarif_shock'; did you mean 'tariff_shock'? The workbook "
                                    "has: tariff_shock, status_quo"),
])
def test_an_unknown_policy_set_or_scenario_on_the_command_line_gets_a_suggestion(make_workbook, tmp_path, monkeypatch,
                                                                                 capsys, args, message):
    path = make_workbook(**scenario_book())
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx", *args)
    assert (code, payload) == (2, {"status": "error", "message": message})
    assert not (tmp_path / "plan.xlsx").exists()


def test_suggestions_stay_within_a_budget_of_comparisons(monkeypatch):
    # 2,000 sites and 3,000 distinct misspelt destinations: each would take ~6 ms of difflib; past the budget the
    # names are reported without a suggestion, so validation stays quick.
    import models.vocabulary as vocabulary

    monkeypatch.setattr(vocabulary, "SUGGESTION_BUDGET", 200_000)
    names = [hashlib.sha1(str(i).encode()).hexdigest()[:10] for i in range(2000)]  # no two alike
    book = sheets(Sites=[{"site": n, "country": "Korea"} for n in names] + sheets()["Sites"],
                  Lanes=[{"origin": "Cells_KR", "destination": f"{names[i % 2000][:-1]}{'xyz'[i // 2000]}"}
                         for i in range(3000)])
    started = time.perf_counter()
    problems = problems_in(**book)
    assert time.perf_counter() - started < 10  # ~2 s here; without the budget ~40 s
    assert len(problems) == 3000
    suggested = [p for p in problems if "did you mean" in p.message]
    assert len(suggested) == 200_000 // 2003  # 2003 sites compared per suggestion
    assert suggested[0].message == f"'{names[0][:-1]}x' is not a site in Sites; did you mean '{names[0]}'?"


# validate says what it found

def test_validate_counts_options_inventory_rows_scenarios_and_given_probabilities(make_workbook, monkeypatch,
                                                                                   capsys):
    path = make_workbook(**scenario_book(Inventory=[{"site": "Woodruff", "item": "cells"}]))
    code, out, err = run(monkeypatch, capsys, "validate", path)
    assert (code, err) == (0, "")
    assert " ".join(out.split()) == (
        "valid: 3 sites, 1 item, 5 periods, 10 supply options, 5 demand entries, 2 lanes, 1 investment option, "
        "1 inventory row, 2 scenarios (given probabilities total 0.6); policy sets: baseline, local_for_local")
    code, payload, _ = run_json(monkeypatch, capsys, "validate", path)
    assert {k: payload[k] for k in ("investment_options", "inventory_rows", "scenarios", "given_probability_total")} \
        == {"investment_options": 1, "inventory_rows": 1, "scenarios": 2, "given_probability_total": 0.6}


def test_validate_of_a_workbook_without_the_strategic_sheets_counts_zeros(make_workbook, monkeypatch, capsys):
    code, payload, _ = run_json(monkeypatch, capsys, "validate", make_workbook(**sheets()))
    assert {k: payload[k] for k in ("investment_options", "inventory_rows", "scenarios", "given_probability_total")} \
        == {"investment_options": 0, "inventory_rows": 0, "scenarios": 0, "given_probability_total": 0}
    code, out, _ = run(monkeypatch, capsys, "validate", make_workbook(**sheets()))
    assert "2 lanes, 0 investment options, 0 inventory rows, 0 scenarios; policy sets: baseline" in out


# warnings in every command

@pytest.mark.parametrize("command", ["validate", "solve", "compare"])
def test_probable_mistakes_are_warnings_on_stderr_and_in_json(make_workbook, tmp_path, monkeypatch, capsys, command):
    path = make_workbook(**sheets(Tariffs=[{"origin": "Korea", "rate": 2.5}], Periods=FOUR_YEARS,
                                  Demand=gap_demand((2026, 25), (2027, 25), (2029, 25))))
    expected = [TARIFF_WARNING, *no_demand_in(2028),
                "Demand: Woodruff has no cells demand in 2028, between its first (2026) and last (2029) period with "
                "demand; a period without a Demand row has no demand (write 0 where none is meant)"]
    args = [command, path] + ([] if command == "validate" else ["-o", tmp_path / "out.xlsx"])
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 0
    assert [line for line in err.splitlines() if line.startswith("warning: ")] == [f"warning: {w}" for w in expected]
    if command == "compare":
        return  # compare --json has no warnings list
    code, payload, err = run_json(monkeypatch, capsys, *args)
    assert code == 0 and err == ""
    assert payload["warnings"] == expected


@pytest.mark.parametrize(("change", "column"), [
    ({"sheet": "Supply", "column": "capacity", "site": "Woodruff"}, "site"),   # Woodruff supplies nothing
    ({"sheet": "Inventory", "column": "capacity"}, "sheet"),                   # no Inventory rows at all
])
def test_a_change_that_matches_nothing_names_a_cell(change, column):
    problems = problems_in(**scenario_book(ScenarioChanges=[{"scenario": "tariff_shock", "multiply": 2, **change}]))
    assert problems == [Problem("ScenarioChanges", 2, column,
                                f"matches no {change['sheet']} row (scenario 'tariff_shock')")]


def pass_through_book(rule: dict) -> dict:
    """Korean cells reach Woodruff directly and through a US port (Savannah), which ships them on."""
    return sheets(
        Sites=[{"site": "Cells_KR", "country": "Korea"}, {"site": "Cells_US", "country": "United States"},
               {"site": "Savannah", "country": "United States"}, {"site": "Woodruff", "country": "United States"}],
        Lanes=[{"origin": "Cells_KR", "destination": "Savannah", "item": "cells", "unit_cost": 1},
               {"origin": "Savannah", "destination": "Woodruff", "item": "cells", "unit_cost": 1},
               {"origin": "Cells_US", "destination": "Woodruff", "item": "cells", "unit_cost": 1}],
        Policies=[{"policy": "p", "items": "cells", "value": 0.6, **rule}])


def test_goods_passed_through_a_site_across_a_rules_from_boundary_are_a_warning():
    # The new analyst's finding: Chinese cells through Rotterdam counted as EU content, silently. A rule counts a
    # lane's goods as from the site it leaves: Korean cells shipped on from Savannah count as from the United States.
    warned = network(**pass_through_book({"rule": "min_share", "from": "United States"})).warnings
    assert warned == ("Policies row 2 (p, min_share cells from United States): Savannah (from Cells_KR) receives goods "
                      "across the rule's from boundary and ships them on; a rule counts goods as coming from the site "
                      "they leave, so goods passed through there count as from United States (check that this is "
                      "meant)",)
    # Excluding Korea: Korean cells through Savannah are no longer excluded.
    warned = network(**pass_through_book({"rule": "exclude", "from": "Korea", "value": None})).warnings
    assert warned == ("Policies row 2 (p, exclude cells from Korea): Savannah (from Cells_KR) receives goods across "
                      "the rule's from boundary and ships them on; a rule counts goods as coming from the site they "
                      "leave, so goods passed through there no longer count as from Korea (check that this is meant)",)
    # A rule on goods from Korea straight to the plant, no site passing them on: no warning.
    assert network(**sheets(Policies=[{"policy": "p", "rule": "max_share", "items": "cells", "from": "Korea",
                                       "value": 0.6}])).warnings == ()
