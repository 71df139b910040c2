"""Outputs an analyst can hand to management (issue 16), read back from the written workbooks: the print setup
of every sheet, units in headers, the conditional formats, the Overview (its figures are those of the sheets
it points to) and the currency of the Settings sheet."""

from __future__ import annotations

import re

import openpyxl
import pytest
from examples import NORTH_AMERICA
from examples import plan as example_plan

from optimizer import load_workbook, solve, write_plan, write_workbook
from optimizer.compare import compare, sweep
from optimizer.writing.comparison import write_comparison
from optimizer.writing.sweep import write_sweep

# Two items of different units, a currency. Landed: Korea 10 + 2 = 12, Cells_US 18 + 1 = 19 (at most 40), CAM 3 + 2;
# Korea at most 30% of the cells by quantity (binding): 15 from Korea, 35 from Cells_US a period.
SHEETS = {
    "Sites": [{"site": "Cells_KR", "country": "Korea"}, {"site": "Cells_US", "country": "United States"},
              {"site": "Plant", "country": "United States"}],
    "Groups": [{"group": "north_america", "country": "United States"}],
    "Items": [{"item": "cells", "unit": "GWh"}, {"item": "cam", "unit": "kt"}],
    "Supply": [{"site": "Cells_KR", "item": "cells", "unit_cost": 10}, {"site": "Cells_US", "item": "cells",
                                                                         "capacity": 40, "unit_cost": 18},
               {"site": "Cells_KR", "item": "cam", "unit_cost": 3}],
    "Demand": [{"site": "Plant", "item": "cells", "quantity": 50}, {"site": "Plant", "item": "cam", "quantity": 5}],
    "Lanes": [{"origin": "Cells_KR", "destination": "Plant", "unit_cost": 2},
              {"origin": "Cells_US", "destination": "Plant", "unit_cost": 1}],
    "Policies": [{"policy": "mix", "rule": "max_share", "items": "cells", "from": "Korea", "value": 0.3,
                  "basis": "quantity"}],
    "Periods": [{"period": 2026}, {"period": 2027}],
    "Settings": [{"key": "currency", "value": "USD M"}],
}


def headers(ws) -> list:
    return [c.value for c in ws[1]]


def table_rows(ws) -> list[dict]:
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def resolve(wb, see: str) -> list:
    """The values of the cells an Overview ``see`` names: ``Summary!B6``, ``'Costs by period'!B2``,
    ``Compliance!Q2:Q6`` or ``Compliance!Q21, Q24``."""
    sheet, cells = see.replace(" ...", "").split("!")
    ws = wb[sheet.strip("'")]
    values = []
    for part in cells.split(", "):
        found = ws[part]
        values += [c.value for row in found for c in row] if isinstance(found, tuple) else [found.value]
    return values


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    network = load_workbook(write_workbook(folder / "in.xlsx", SHEETS))
    result = solve(network, policy="mix")
    assert result.status == "optimal"
    plan = openpyxl.load_workbook(write_plan(result, folder / "plan.xlsx"))
    comparison = openpyxl.load_workbook(write_comparison(compare(network), folder / "comparison.xlsx"))
    swept = openpyxl.load_workbook(write_sweep(sweep(network, "mix", 2, [0.2, 0.3]), folder / "sweep.xlsx"))
    return network, result, plan, comparison, swept


@pytest.fixture(scope="module")
def priced(tmp_path_factory):
    """``mix`` and ``priced`` (a 10% tariff on Korean cells and a carbon price of 0.5 per t on their lanes) over
    two periods, the second discounted at 0.5. Korea lands cells at 10 + 2 + 1 + 1 = 14 < 19: all 50 a period
    from Korea, 100 t of emissions: 50 duty and 50 carbon a period, 100 each nominal, 75 each discounted."""
    sheets = {**SHEETS, "Periods": [{"period": 2026, "discount_factor": 1}, {"period": 2027, "discount_factor": 0.5}],
              "Lanes": [{**SHEETS["Lanes"][0], "co2_per_unit": 2}, SHEETS["Lanes"][1]],
              "Policies": [{"policy": "priced", "rule": "tariff", "items": "cells", "from": "Korea", "value": 0.1},
                           {"policy": "priced", "rule": "co2_price", "items": "cells", "from": "Korea",
                            "value": 0.5}]}
    folder = tmp_path_factory.mktemp("priced")
    network = load_workbook(write_workbook(folder / "in.xlsx", sheets))
    comparison = compare(network)
    return comparison, openpyxl.load_workbook(write_comparison(comparison, folder / "comparison.xlsx"))


@pytest.fixture(scope="module")
def ira(tmp_path_factory):
    result = example_plan(NORTH_AMERICA, "ira_30d_whatif")
    return result, openpyxl.load_workbook(write_plan(result, tmp_path_factory.mktemp("ira") / "plan.xlsx"))


# --------------------------------------------------------------------------- print setup


def printed_scale(ws) -> float:
    """The scale sheet ``ws`` prints at, from what the workbook says: its explicit scale, or, fitted to a page,
    the printable area (optimizer.writing.table.PRINTABLE, in its orientation) over the printed columns' widths
    (POINTS_PER_CHARACTER: LibreOffice's, the wider rendering) and charts, and when one page tall over the rows'
    heights and charts."""
    from openpyxl.utils import column_index_from_string, get_column_letter

    from optimizer.writing.table import POINTS_PER_CHARACTER, PRINTABLE

    if not ws.sheet_properties.pageSetUpPr.fitToPage:
        return ws.page_setup.scale / 100
    page_width, page_height = PRINTABLE[ws.page_setup.orientation]
    last = ws.max_column
    if ws.print_area:
        last = column_index_from_string(re.sub(r"[\d$]", "", ws.print_area.split(":")[1]))
    widths = [ws.column_dimensions[get_column_letter(i)].width or 8.43 for i in range(1, ws.max_column + 40)]
    heights = [ws.row_dimensions[r].height or 15 for r in range(1, ws.max_row + 200)]
    width = sum(widths[:last]) * POINTS_PER_CHARACTER
    height = sum(heights[:ws.max_row])
    for chart in ws._charts:
        start = chart.anchor._from
        width = max(width, sum(widths[:start.col]) * POINTS_PER_CHARACTER + chart.width * 72 / 2.54)
        height = max(height, sum(heights[:start.row]) + chart.height * 72 / 2.54)
    scale = min(1.0, page_width / width)
    return min(scale, page_height / height) if ws.page_setup.fitToHeight == 1 else scale


def test_every_sheet_prints_at_sixty_percent_or_more_with_its_header_and_footer(small, ira, priced):
    """Fitted one page wide where that keeps 60% (one page tall where it also fits); wider, at 60% across pages
    with its key columns repeated on each. The Flows, 22 columns, printed one page wide at 29%."""
    _, _, plan, comparison, swept = small
    outputs = (("plan", plan, "policy set mix"), ("comparison", comparison, "comparison of 2 policy sets"),
               ("sweep", swept, "sweep of Policies row 2 (mix)"),
               ("comparison", priced[1], "comparison of 2 policy sets"), ("ira", ira[1], "policy set ira_30d_whatif"))
    for name, wb, subject in outputs:
        workbook = "ev_battery_north_america.xlsx" if name == "ira" else "in.xlsx"
        for ws in wb.worksheets:
            where = (name, ws.title)
            assert printed_scale(ws) >= 0.6, (where, printed_scale(ws))
            if ws.sheet_properties.pageSetUpPr.fitToPage:
                assert ws.page_setup.fitToWidth == 1, where
            else:  # across pages: its leading key columns on each
                assert ws.page_setup.scale == 60 and ws.print_title_cols.startswith("$A:$"), where
            assert ws.print_title_rows == "$1:$1", where
            footer = (ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text)
            assert footer == (workbook, "&A", f"{subject}, page &P of &N"), where
            assert not any(code in "".join(footer) for code in ("&D", "&T")), where  # no time of writing
    flows = ira[1]["Flows detail"]
    assert not flows.sheet_properties.pageSetUpPr.fitToPage and flows.print_title_cols == "$A:$E"
    assert [c.value for c in flows[1]][:5] == ["period", "item", "unit", "origin", "destination"]


def test_wide_tables_keep_their_most_read_columns_and_move_the_rest_to_a_detail_sheet(small, ira):
    """The Flows and the Comparison each print at a readable scale: the keys, quantities and costs a reader
    looks for on the sheet, the countries, valuation and cost parts (Flows), the cost parts and rule summaries
    (Comparison) on a detail sheet that repeats the keys."""
    result, wb = ira
    flows, detail = table_rows(wb["Flows"]), table_rows(wb["Flows detail"])
    assert headers(wb["Flows"]) == ["period", "item", "unit", "origin", "destination", "quantity",
                                    "supply_unit_cost (USD M per unit, nominal)",
                                    "landed_unit_cost (USD M per unit, nominal)", "total_cost (USD M, nominal)",
                                    "co2 (t CO2e)"]
    assert [h.split(" (")[0] for h in headers(wb["Flows detail"])] == [
        "period", "item", "unit", "origin", "destination", "origin_country", "destination_country",
        "valuation_unit_cost", "lane_unit_cost", "tariff_rate", "credit_per_unit", "supply_cost", "transport_cost",
        "tariff_cost", "credit_cost", "carbon_cost"]
    keys = ["period", "item", "origin", "destination"]
    assert [[r[k] for k in keys] for r in flows] == [[r[k] for k in keys] for r in detail] == \
        result.flows[keys].to_numpy().tolist()
    comparison = small[3]
    assert [h.split(" (")[0] for h in headers(comparison["Comparison"])] == [
        "policy", "status", "total cost", "vs baseline", "vs baseline %", "rule checks", "binding checks",
        "cost per +1 pp tighter on every share rule", "message"]
    assert [h.split(" (")[0] for h in headers(comparison["Comparison detail"])] == [
        "policy", "supply", "transport", "tariffs", "credits", "fixed", "cost per unit of demand"]
    assert table_rows(comparison["Comparison rules"]) == [  # one rule of one set: a row each
        {"policy": "mix", "summary": "Policies row 2 max_share cells from Korea <= 30%: 30.0%, binding 2/2"}]


def test_the_pages_management_reads_first_print_on_one_page(small, ira):
    _, _, plan, comparison, swept = small
    for ws in (plan["Overview"], plan["Summary"], comparison["Overview"], comparison["Comparison"],
               swept["Summary"], ira[1]["Overview"]):
        assert ws.page_setup.fitToHeight == 1, ws.title


def test_a_chart_on_a_long_sheet_starts_a_page(tmp_path):
    """A sheet longer than a page runs on, and each chart starts after a page break (a chart is shorter than a
    page, so no break cuts it); a short sheet prints whole on one page, its chart with it."""
    import pandas as pd

    from optimizer.writing.charts import bar_chart
    from optimizer.writing.save import save_atomically
    from optimizer.writing.table import ONE_PAGE_ROWS, add_chart, chart_rows, streaming_workbook, write_table

    with streaming_workbook() as wb:
        for title, n in (("Long", 200), ("Short", 5)):
            ws = write_table(wb, title, pd.DataFrame({"period": [str(i) for i in range(n)], "x": range(n)}))
            add_chart(ws, bar_chart("x", "x"))
            add_chart(ws, bar_chart("y", "y"))
        wb = openpyxl.load_workbook(save_atomically(wb, tmp_path / "charts.xlsx"))
    long, short = wb["Long"], wb["Short"]
    starts = [chart.anchor._from.row + 1 for chart in long._charts]  # 1-based rows where the charts begin
    rows = chart_rows(bar_chart("x", "x"))  # 18: 9 cm, and a blank row
    assert starts == [203, 203 + rows + 2] and [b.id for b in long.row_breaks.brk] == [s - 1 for s in starts]
    assert long.page_setup.fitToHeight == 0
    assert short.page_setup.fitToHeight == 1 and not short.row_breaks.brk
    assert 6 + 2 * (rows + 2) <= ONE_PAGE_ROWS


# --------------------------------------------------------------------------- units


def test_quantities_and_costs_carry_their_units(small):
    _, _, plan, comparison, swept = small
    flows = headers(plan["Flows"])
    assert flows[:4] == ["period", "item", "unit", "origin"]  # rows of two items: a unit per row
    assert {"quantity", "total_cost (USD M, nominal)", "landed_unit_cost (USD M per unit, nominal)"} <= set(flows)
    assert {(r["item"], r["unit"]) for r in table_rows(plan["Flows"])} == {("cells", "GWh"), ("cam", "kt")}
    mix = table_rows(plan["Supply mix"])
    assert {(r["item"], r["unit"]) for r in mix} == {("cells", "GWh"), ("cam", "kt")}
    summary = {r["field"]: r["value"] for r in table_rows(plan["Summary"])}
    assert summary["Total cost (USD M, discounted)"] == pytest.approx(2 * (15 * 12 + 35 * 19 + 5 * 5))
    compliance = table_rows(plan["Compliance"])
    assert [r["flow unit"] for r in compliance] == ["GWh", "GWh"]  # a quantity basis on cells
    assert "total cost (USD M, discounted)" in headers(comparison["Comparison"])
    assert headers(swept["Sweep"])[:3] == ["max_share value", "status", "total cost (USD M, discounted)"]  # a share
    sensitivity = headers(plan["Sensitivity"])
    assert "price (USD M per unit, discounted)" in sensitivity and "unit" in sensitivity


def test_one_item_shown_puts_its_unit_in_the_header(ira):
    result, wb = ira
    flows = headers(wb["Flows"])
    assert "quantity" in flows and "unit" in flows  # the example's flows mix GWh of cells and kt of CAM
    cells_only = [r for r in table_rows(wb["Utilization"]) if r["item"] == "cells_nmc"]
    assert {r["unit"] for r in cells_only} == {"GWh"}
    quantity = openpyxl.utils.get_column_letter(flows.index("quantity") + 1)
    assert [c.number_format for c in wb["Flows"][quantity][1:3]] == ["#,##0.###"] * 2  # thousands separators
    assert wb["Utilization"]["I2"].number_format == "0.0%"  # shares as percentages


def test_a_single_item_plan_names_its_unit_in_the_quantity_headers(tmp_path):
    sheets = {**SHEETS, "Items": [{"item": "cells", "unit": "GWh"}],
              "Supply": SHEETS["Supply"][:2], "Demand": SHEETS["Demand"][:1]}
    del sheets["Settings"]
    wb = openpyxl.load_workbook(write_plan(solve(load_workbook(write_workbook(tmp_path / "in.xlsx", sheets)), "mix"),
                                           tmp_path / "plan.xlsx"))
    assert {"quantity (GWh)", "total_cost (nominal)", "landed_unit_cost (nominal)"} <= set(headers(wb["Flows"]))
    assert "unit" not in headers(wb["Flows"])
    assert {"used (GWh)", "capacity (GWh)"} <= set(headers(wb["Utilization"]))


# --------------------------------------------------------------------------- highlights


def rules_of(ws) -> dict[str, list]:
    return {str(cf.sqref): [(r.type, r.formula) for r in cf.rules] for cf in ws.conditional_formatting}


def test_binding_rules_full_capacity_and_plans_without_one_are_highlighted(small, ira):
    _, _, plan, comparison, _ = small
    compliance = plan["Compliance"]
    binding = headers(compliance).index("binding") + 1
    letter = openpyxl.utils.get_column_letter(binding)
    last = openpyxl.utils.get_column_letter(compliance.max_column)
    met = openpyxl.utils.get_column_letter(headers(compliance).index("met") + 1)
    assert rules_of(compliance)[f"A2:{last}3"] == [("expression", [f'${letter}2="yes"']),
                                                   ("expression", [f'${met}2="no"'])]
    assert [r["binding"] for r in table_rows(compliance)] == ["yes", "yes"]
    ws = ira[1]["Utilization"]
    assert headers(ws)[8] == "utilization" and ws.max_row == len(ira[0].utilization) + 1 == 59
    assert rules_of(ws) == {"I2:I59": [("dataBar", [])], "A2:L59": [("expression", ["$I2>=0.99995"])]}
    bar = next(iter(ws.conditional_formatting)).rules[0].dataBar
    assert [(v.type, v.val) for v in bar.cfvo] == [("num", 0), ("num", 1)]
    assert rules_of(comparison["Comparison"])["A2:I3"] == [("expression", ['$B2<>"optimal"'])]


def test_infeasible_policy_sets_are_marked_and_stated(tmp_path):
    sheets = {**SHEETS, "Policies": [*SHEETS["Policies"], {"policy": "impossible", "rule": "min_share",
                                                           "items": "cells", "from": "United States", "value": 0.9,
                                                           "basis": "quantity"}]}
    network = load_workbook(write_workbook(tmp_path / "in.xlsx", sheets))
    wb = openpyxl.load_workbook(write_comparison(compare(network), tmp_path / "comparison.xlsx"))
    overview = table_rows(wb["Overview"])
    [fact] = [r for r in overview if r["item"].startswith("No plan")]
    assert fact["item"].startswith("No plan: impossible is infeasible")
    assert resolve(wb, fact["see"]) == ["infeasible"]


# --------------------------------------------------------------------------- the Overview


def test_the_overview_of_the_ira_plan_states_its_binding_rules_with_their_cost_per_pp(ira):
    result, wb = ira
    assert wb.sheetnames[0] == "Overview"
    overview = table_rows(wb["Overview"])
    answer = {r["item"]: r["value"] for r in overview if r["section"] == "answer"}
    assert answer["total cost (USD M, discounted)"] == pytest.approx(result.total_cost)  # Settings: USD M
    facts = [r for r in overview if r["section"].startswith("fact")]
    assert 3 <= len(facts) <= 5
    binding = result.compliance[result.compliance["binding"] & result.compliance["cost_per_point"].notna()]
    rule = facts[0]["item"]
    assert rule.startswith("Binding: min_share battery_component from north_america (Policies rows 2, 3, 4, 5, 6)")
    for value, period in zip(binding["cost_per_point"], binding["period"], strict=True):
        # 100% of cells in 2029-2030 is the most any plan reaches: no finite rate, said in words
        assert (f"{value:,.2f} ({period})" if value != float("inf") else f"at the limit ({period})") in rule
    assert "inf" not in rule
    assert any(f["item"].startswith("At capacity: Ultium_SpringHill_TN makes cells_nmc") for f in facts)


def test_every_overview_figure_stands_in_the_sheet_it_names(small, ira):
    """Each line's value equals the cell its ``see`` names; the figures of a fact are its cells, in order, as
    many as there are, each written to the digits it shows ('at the limit' is the cell's own text)."""
    _, _, plan, comparison, _ = small
    for wb in (plan, comparison, ira[1]):
        figures_checked = 0
        for row in table_rows(wb["Overview"]):
            if not row["see"]:
                continue
            cells = resolve(wb, row["see"])
            if row["section"].startswith("fact"):
                figures = re.findall(r"-?\d[\d,]*\.\d+|at the limit", row["item"])
                # an exclusion's facts point at its binding flags (yes/no): no figures there
                shown = [c for c in cells if not isinstance(c, bool) and c not in ("yes", "no")]
                assert len(figures) == len(shown), row
                for figure, cell in zip(figures, shown, strict=True):
                    digits = len(figure.partition(".")[2])
                    assert figure == (cell if isinstance(cell, str) else f"{cell:,.{digits}f}"), (figure, cell, row)
                figures_checked += len(figures)
            elif isinstance(row["value"], float):
                assert cells == [pytest.approx(row["value"])], row
            else:
                assert cells[0] == row["value"] or row["value"] == ", ".join(cells), row
        assert figures_checked >= 2, wb["Overview"]["B2"].value  # every Overview here states rates


def test_the_overview_chart_is_the_supply_mix_or_the_cost_by_policy_set(small):
    _, _, plan, comparison, _ = small
    [chart] = plan["Overview"]._charts
    assert chart.grouping == "stacked"
    refs = [s.val.numRef.f for s in chart.series]
    assert refs == ["'Supply mix'!$D$2:$D$3", "'Supply mix'!$E$2:$E$3"]  # cells by group, per period
    [cost] = comparison["Overview"]._charts
    assert [s.val.numRef.f for s in cost.series] == ["'Comparison'!$C$2:$C$3"]


# --------------------------------------------------------------------------- Settings (its validation:
# tests/test_validation.py)


def test_a_blank_currency_shows_no_unit(tmp_path):
    blank = {**SHEETS, "Settings": [{"key": "currency", "value": None}]}
    network = load_workbook(write_workbook(tmp_path / "blank.xlsx", blank))
    wb = openpyxl.load_workbook(write_plan(solve(network, "mix"), tmp_path / "plan.xlsx"))
    assert {"total_cost (nominal)", "landed_unit_cost (nominal)"} <= set(headers(wb["Flows"]))


def test_a_layout_names_its_own_per_unit_costs(tmp_path):
    """A credit swept is a cost per unit: the layout says so, the table writer labels it."""
    import pandas as pd

    from optimizer.writing.save import save_atomically
    from optimizer.writing.table import MONEY, Labels, streaming_workbook, write_table

    labels = Labels(currency="USD M", units={"cells": "GWh"})
    frame = pd.DataFrame({"value": [35.0], "total_cost": [1.0]})
    with streaming_workbook(labels) as wb:
        write_table(wb, "Plain", frame, {"value": MONEY, "total_cost": MONEY}, basis={"value": "nominal"})
        write_table(wb, "Credit", frame, {"value": MONEY, "total_cost": MONEY}, per_unit=("value",),
                    basis={"value": "nominal"})
        wb = openpyxl.load_workbook(save_atomically(wb, tmp_path / "t.xlsx"))
    assert headers(wb["Plain"]) == ["value (USD M, nominal)", "total_cost (USD M, discounted)"]
    assert headers(wb["Credit"]) == ["value (USD M per GWh, nominal)", "total_cost (USD M, discounted)"]


# --------------------------------------------------------------------------- money: discounted or nominal (issue 22)


MONEY_FORMATS = ("#,##0.00", "#,##0.00######")


def test_every_money_figure_says_whether_it_is_discounted_or_nominal(small, ira, priced):
    """Every column formatted as money carries its basis after its currency, every money row of a Summary too,
    and every money figure in an Overview sentence: the same words everywhere."""
    _, _, plan, comparison, swept = small
    for wb in (plan, comparison, swept, ira[1], priced[1]):
        for ws in wb.worksheets:
            if ws.title in ("Summary", "Overview"):
                continue
            for cell in ws[1]:
                money = ws.cell(row=2, column=cell.column).number_format in MONEY_FORMATS
                assert not money or re.search(r"(discounted|nominal)\)$", cell.value), (ws.title, cell.value)
        for row in table_rows(wb["Summary"]) if "Summary" in wb.sheetnames else []:
            if isinstance(row["value"], float) and any(w in row["field"].lower() for w in ("cost", "credit")):
                assert row["field"].endswith(("discounted)", "nominal)")), row["field"]
    overview = table_rows(ira[1]["Overview"])
    money_lines = [r["item"] for r in overview if "USD M" in r["item"]]
    labelled = re.compile(r"USD M(?: per [\w ]+?)?(?:, | \()(?:discounted|nominal)\)")
    assert len(money_lines) > 5 and all(len(labelled.findall(t)) == t.count("USD M") for t in money_lines)


def test_carbon_and_tariff_costs_agree_between_sheets_once_labelled(priced):
    """The rule summaries state each rule's cost as it arises (nominal: 100 over the two periods), the cost parts
    discounted (75): both say which. Tariff and carbon price rules have Compliance rows like every other rule,
    and are no rule checks."""
    comparison, wb = priced
    detail = {r["policy"]: r for r in table_rows(wb["Comparison detail"])}["priced"]
    assert (detail["tariffs (USD M, discounted)"], detail["carbon (USD M, discounted)"]) == (
        pytest.approx(75.0), pytest.approx(75.0))
    assert [r["summary"] for r in table_rows(wb["Comparison rules"]) if r["policy"] == "priced"] == [
        "Policies row 2 tariff cells from Korea: duty 100.00 (nominal) on 1,000 matched (value)",
        "Policies row 3 co2_price cells from Korea: emissions 200, cost 100.00 (nominal)"]
    main = {r["policy"]: r for r in table_rows(wb["Comparison"])}["priced"]
    assert (main["rule checks"], main["binding checks"]) == (0, 0)
    rows = [r for r in table_rows(wb["Compliance"]) if r["policy"] == "priced"]
    assert [(r["rule"], r["period"], r["cost (USD M, nominal)"], r["binding"], r["sense"]) for r in rows] == [
        ("tariff", "2026", pytest.approx(50.0), None, None), ("tariff", "2027", pytest.approx(50.0), None, None),
        ("co2_price", "2026", pytest.approx(50.0), "no", None), ("co2_price", "2027", pytest.approx(50.0), "no", None)]


# --------------------------------------------------------------------------- yes/no, at capacity (issue 22)


def test_an_option_not_built_is_not_at_capacity_and_booleans_read_yes_or_no(tmp_path):
    """Option O (capex 1000) is not built: Utilization shows it with capacity 0 and not at capacity (it said
    TRUE, printed as 1); every boolean of the workbook is a word."""
    from test_horizon import buy_or_build

    result = solve(load_workbook(write_workbook(tmp_path / "in.xlsx", buy_or_build(capex=1000))))
    assert not result.investments["built"].iloc[0]
    wb = openpyxl.load_workbook(write_plan(result, tmp_path / "plan.xlsx"))
    option = [r for r in table_rows(wb["Utilization"]) if r["resource"] == "option"]
    assert [(r["destination"], r["period"], r["capacity"], r["at_capacity"]) for r in option] == [
        ("O", "1", 0, "no"), ("O", "2", 0, "no")]
    supply = [r for r in table_rows(wb["Utilization"]) if r["resource"] == "supply"]
    assert {r["at_capacity"] for r in supply} == {"no"}  # B: unlimited
    for ws in wb.worksheets:
        assert not any(isinstance(c.value, bool) for row in ws.iter_rows(min_row=2) for c in row), ws.title


# --------------------------------------------------------------------------- the Overview (issue 22)


def test_the_overview_links_the_cells_it_repeats_and_does_not_print_them(small, ira):
    """Each ``see`` cell is a link to the cells it names, and the Overview's print area stops before it."""
    _, _, plan, comparison, _ = small
    for wb in (plan, comparison, ira[1]):
        ws = wb["Overview"]
        see = headers(ws).index("see") + 1
        assert ws.print_area == f"'Overview'!$A$1:${openpyxl.utils.get_column_letter(see - 1)}${ws.max_row}" or \
            ws.print_area.startswith(f"'Overview'!$A$1:${openpyxl.utils.get_column_letter(see - 1)}$")
        for row in ws.iter_rows(min_row=2):
            cell = row[see - 1]
            if cell.value:
                assert cell.hyperlink is not None and cell.hyperlink.location == cell.value.replace(" ...", "").split(
                    ", ")[0], cell.value
                assert resolve(wb, cell.hyperlink.location)


def test_the_plan_overview_states_emissions_and_whether_each_option_is_built(ira):
    result, wb = ira
    overview = table_rows(wb["Overview"])
    answer = {r["item"]: r for r in overview if r["section"] == "answer"}
    assert answer["emissions (t CO2e)"]["value"] == pytest.approx(result.emissions.sum())
    assert resolve(wb, answer["emissions (t CO2e)"]["see"]) == [pytest.approx(result.emissions.sum())]
    options = [(r["item"], r["value"]) for r in overview if r["section"] == "options"]
    assert options == [  # the restart pays in 2028 with the plant's life (the salvage value: 600 x 12 / 15)
        ("Built: AESC_Florence_restart (cells_nmc at AESC_Florence_SC) in 2028, available from 2028; capex 600.00 "
         "USD M (nominal), less a salvage value of 480.00 USD M (nominal) credited at the end of the horizon (life "
         "15 periods)", "yes"),
        ("Not built: EcoPro_Becancour_resume (cam_nmc at EcoPro_Becancour_QC)", "no"),
        ("Not built: Umicore_Loyalist_resume (cam_nmc at Umicore_Loyalist_ON)", "no"),
        ("Not built: PowerCo_StThomas_phase2 (cells_nmc at PowerCo_StThomas_ON)", "0%")]
