"""Contract v3, part 1: investment options, stock between periods and discount factors, each point
with a case whose optimum is worked out by hand."""

from __future__ import annotations

import pytest

from optimizer import WorkbookError, load_workbook

US = "United States"


def sites(*names, country=US):
    return [{"site": n, "country": country} for n in names]


def buy_or_build(capex=100.0, periods=(1, 2), demand=10.0, **option):
    """P needs ``demand`` cells per period; B sells them at 10 (unlimited); option O at S makes up to 10
    per period at 4 for ``capex``."""
    return dict(
        Sites=sites("B", "S", "P"), Items=[{"item": "cells"}],
        Supply=[{"site": "B", "item": "cells", "unit_cost": 10}],
        Demand=[{"site": "P", "item": "cells", "quantity": demand}],
        Lanes=[{"origin": "B", "destination": "P"}, {"origin": "S", "destination": "P"}],
        Investments=[{"option": "O", "site": "S", "item": "cells", "capacity": 10, "unit_cost": 4, "capex": capex,
                      **option}],
        Periods=[{"period": p} for p in periods])


def decision(result, option="O"):
    return result.investments.set_index("option").loc[option]


def test_build_when_the_savings_exceed_the_capex(solve_sheets):
    # Building saves 6 per unit: 2 periods x 10 x 6 = 120 > 100, so build in period 1: 100 + 2 x 40 = 180.
    result = solve_sheets(**buy_or_build(capex=100))
    assert result.total_cost == pytest.approx(180.0)
    row = decision(result)
    assert (bool(row["built"]), row["build_period"], row["available_from"]) == (True, "1", "1")
    assert result.costs["capex"] == pytest.approx(100.0)
    assert result.formulation.is_mip


def test_buy_when_the_capex_exceeds_the_savings(solve_sheets):
    # 130 > 120: buy everything, 200; the option is not built.
    result = solve_sheets(**buy_or_build(capex=130))
    assert result.total_cost == pytest.approx(200.0)
    assert bool(decision(result)["built"]) is False and result.costs["capex"] == 0.0


def test_a_lead_time_delays_availability(solve_sheets):
    # Lead time 1 over three periods: built in 1, available from 2; saves 2 x 60 = 120 > 100:
    # 100 + 100 (period 1 bought) + 2 x 40 = 280. Without the lead time it would be 100 + 3 x 40 = 220.
    result = solve_sheets(**buy_or_build(capex=100, periods=(1, 2, 3), lead_time=1))
    assert result.total_cost == pytest.approx(280.0)
    row = decision(result)
    assert (row["build_period"], row["available_from"]) == ("1", "2")
    production = result.utilization[result.utilization["resource"] == "option"].set_index("period")["used"]
    assert production.to_dict() == {"2": pytest.approx(10.0), "3": pytest.approx(10.0)}


def test_built_in_the_last_period_an_option_may_never_become_available(solve_sheets):
    # Lead time 2 and the build window only at the end: never available, never built: 300.
    result = solve_sheets(**buy_or_build(capex=1, periods=(1, 2, 3), lead_time=2, earliest=2))
    assert result.total_cost == pytest.approx(300.0)
    assert "option_production" not in result.formulation.families or \
        not len(result.formulation.families["option_production"])


def test_the_fixed_cost_is_paid_in_every_period_the_option_is_available(solve_sheets):
    # Capex 0 and fixed 50 per available period: each period saves 60 - 50 = 10: build in 1: 2 x (40 + 50) = 180.
    result = solve_sheets(**buy_or_build(capex=0, fixed_cost=50))
    assert result.total_cost == pytest.approx(180.0)
    assert result.costs["investment_fixed"] == pytest.approx(100.0)


def divisible_case(divisible: bool):
    """Demand 10 per period (2 periods); B sells 4 at 10, C any amount at 20; option O (capacity 10, unit
    cost 4, capex 150) replaces C's units first (16 saved each), then B's (6 saved each)."""
    return dict(
        Sites=sites("B", "C", "S", "P"), Items=[{"item": "cells"}],
        Supply=[{"site": "B", "item": "cells", "unit_cost": 10, "capacity": 4},
                {"site": "C", "item": "cells", "unit_cost": 20}],
        Demand=[{"site": "P", "item": "cells", "quantity": 10}],
        Lanes=[{"origin": o, "destination": "P"} for o in "BCS"],
        Investments=[{"option": "O", "site": "S", "item": "cells", "capacity": 10, "unit_cost": 4, "capex": 150,
                      "divisible": divisible}],
        Periods=[{"period": 1}, {"period": 2}])


def test_a_divisible_option_is_built_in_part(solve_sheets):
    # Without O: 2 x (40 + 120) = 320. A fraction y saves 2 x 16 x 10y = 320y for 150y up to y = 0.6 (C's 6
    # units); beyond, 2 x 6 x 10 = 120 per unit of y < 150. So y = 0.6: 2 x (24 + 40) + 90 = 218, an LP.
    result = solve_sheets(**divisible_case(True))
    assert result.total_cost == pytest.approx(218.0)
    assert not result.formulation.is_mip
    row = decision(result)
    assert row["built"] == pytest.approx(0.6) and row["fractions"] == {"1": pytest.approx(0.6)}
    # All or nothing: 2 x 40 + 150 = 230 < 320.
    assert solve_sheets(**divisible_case(False)).total_cost == pytest.approx(230.0)


def stock_case(capacity=None, discount=(1.0, 1.0), **inventory):
    """A makes up to 10 per period at 5, C any amount at 20; P needs 5 then 15, and may keep stock (1 per
    unit per period)."""
    return dict(
        Sites=sites("A", "C", "P"), Items=[{"item": "cells"}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 5, "capacity": 10},
                {"site": "C", "item": "cells", "unit_cost": 20}],
        Demand=[{"site": "P", "item": "cells", "period": 1, "quantity": 5},
                {"site": "P", "item": "cells", "period": 2, "quantity": 15}],
        Lanes=[{"origin": "A", "destination": "P"}, {"origin": "C", "destination": "P"}],
        Inventory=[{"site": "P", "item": "cells", "holding_cost": 1, "capacity": capacity, **inventory}],
        Periods=[{"period": 1, "discount_factor": discount[0]}, {"period": 2, "discount_factor": discount[1]}])


def test_stock_is_built_ahead_of_a_capacity_shortfall(solve_sheets):
    # Period 1: A makes 10, 5 go to stock (holding 5); period 2: A's 10 plus the 5 in stock: 100 + 5 = 105.
    # Without stock: 25 + 50 + 5 x 20 = 175.
    result = solve_sheets(**stock_case())
    assert result.total_cost == pytest.approx(105.0)
    assert result.costs["holding"] == pytest.approx(5.0)
    stock = result.inventory.set_index("period")
    assert (stock.loc["1", "opening"], stock.loc["1", "closing"], stock.loc["2", "opening"]) == (0.0, 5.0, 5.0)


def test_inventory_capacity_bounds_the_stock_at_the_end_of_each_period(solve_sheets):
    # At most 3 in stock: period 1 A makes 8; period 2 A 10 + 3 + C 2: 5 x 18 + 3 + 40 = 133.
    assert solve_sheets(**stock_case(capacity=3)).total_cost == pytest.approx(133.0)


def test_initial_and_final_stock(solve_sheets):
    # 3 in stock before period 1 (free), at least 2 left after period 2. Balances: x1 + 3 = 5 + s1 and
    # x2 + s1 = 15 + s2 with s2 >= 2, so x1 + x2 = 17 + s2 >= 19: all from A (10 per period at 5) with
    # s2 = 2 and x2 <= 10, so x1 >= 9 and s1 = x1 - 2 >= 7: x1 = 9, s1 = 7, x2 = 10: 95 + 7 + 2 = 104.
    result = solve_sheets(**stock_case(initial=3, final=2))
    assert result.total_cost == pytest.approx(104.0)
    stock = result.inventory.set_index("period")
    assert (stock.loc["1", "opening"], stock.loc["1", "closing"], stock.loc["2", "closing"]) == (3.0, 7.0, 2.0)


def test_discount_factors_weigh_each_periods_costs(solve_sheets):
    # Period 2 at factor 0.5: stocking ahead still pays (6 now vs 10 later): 10 x 5 + 5 x 1 + 0.5 x 50 = 80.
    # The nominal total is 105; the cost parts are discounted and add up to 80.
    result = solve_sheets(**stock_case(discount=(1.0, 0.5)))
    assert result.total_cost == pytest.approx(80.0)
    assert result.nominal_total == pytest.approx(105.0)
    assert sum(result.costs.values()) == pytest.approx(80.0)
    assert result.costs["supply"] == pytest.approx(75.0) and result.costs["holding"] == pytest.approx(5.0)
    by_period = result.costs_by_period.set_index("period")
    assert by_period.loc["2", "supply"] == pytest.approx(50.0)
    assert by_period.loc["2", "discounted_total"] == pytest.approx(25.0)


def test_an_option_at_a_site_without_supply_is_valued_at_its_own_unit_cost(solve_sheets):
    # O is in Korea and has no Supply row; the 10% duty on its cells is on its unit cost 4: 0.4 per unit.
    sheets = buy_or_build(capex=0)
    sheets["Sites"] = sites("B", "P") + sites("S", country="Korea")
    sheets["Tariffs"] = [{"origin": "Korea", "rate": 0.1}]
    result = solve_sheets(**sheets)
    assert result.total_cost == pytest.approx(2 * (40 + 4))
    from_option = result.flows[result.flows["origin"] == "S"]
    assert set(from_option["supply_unit_cost"]) == {4.0}


def test_an_option_can_make_a_bom_item(solve_sheets):
    # K needs 10 kt of CAM; X sells CAM at 10; option M makes CAM at 2 plus 0.5 kt of LiOH (4 from L) per kt,
    # i.e. 4 per kt, for capex 50: 50 + 10 x 2 + 5 x 4 = 90 < 100. M's LiOH reaches it like any site's inputs.
    result = solve_sheets(
        Sites=sites("X", "M", "L", "K"), Items=[{"item": "cam"}, {"item": "lioh"}],
        BOM=[{"item": "cam", "input": "lioh", "quantity": 0.5}],
        Supply=[{"site": "X", "item": "cam", "unit_cost": 10}, {"site": "L", "item": "lioh", "unit_cost": 4}],
        Demand=[{"site": "K", "item": "cam", "quantity": 10}],
        Lanes=[{"origin": "X", "destination": "K"}, {"origin": "M", "destination": "K"},
               {"origin": "L", "destination": "M"}],
        Investments=[{"option": "M_cam", "site": "M", "item": "cam", "capacity": 20, "unit_cost": 2, "capex": 50}])
    assert result.total_cost == pytest.approx(90.0)
    flows = result.flows.set_index(["origin", "destination"])["quantity"]
    assert flows[("L", "M")] == pytest.approx(5.0) and flows[("M", "K")] == pytest.approx(10.0)


def test_a_workbook_without_the_new_sheets_solves_as_before(solve_sheets):
    sheets = buy_or_build()
    del sheets["Investments"]
    result = solve_sheets(**sheets)
    assert result.total_cost == pytest.approx(200.0) and result.nominal_total == pytest.approx(200.0)
    assert not len(result.investments) and not len(result.inventory)


# ------------------------------------------------------------------ invalid rows


def problems_of(make_workbook, **sheets) -> set[tuple[str, int | None, str | None]]:
    with pytest.raises(WorkbookError) as caught:
        load_workbook(make_workbook(**sheets))
    return {(p.sheet, p.row, p.column) for p in caught.value.problems}


def test_invalid_investment_rows_name_their_cells(make_workbook):
    sheets = buy_or_build()
    sheets["Investments"] = [
        {"option": "O", "site": "S", "item": "cells", "capacity": 10, "unit_cost": 4},
        {"option": "o", "site": "S", "item": "cells", "capacity": 10, "unit_cost": 4},          # 3: duplicate name
        {"option": "A", "site": "Nowhere", "item": "cells", "capacity": 10, "unit_cost": 4},    # 4: unknown site
        {"option": "B2", "site": "S", "item": "gold", "capacity": 10, "unit_cost": 4},          # 5: unknown item
        {"option": "C", "site": "S", "item": "cells", "capacity": 0, "unit_cost": 4},           # 6: capacity 0
        {"option": "D", "site": "S", "item": "cells", "capacity": 5, "earliest": 2, "latest": 1,
         "unit_cost": 4},                                                                       # 7: window
        {"option": "E", "site": "S", "item": "cells", "capacity": 5, "earliest": 9, "unit_cost": 4},  # 8: period
        {"option": "F", "site": "S", "item": "cells", "capacity": 5, "lead_time": 1.5, "unit_cost": 4},  # 9
        {"option": "G", "site": "S", "item": "cells", "capacity": 5, "capex": -1, "unit_cost": 4},      # 10
        {"option": "H", "site": "S", "item": "cells", "capacity": 5, "divisible": "maybe", "unit_cost": 4},  # 11
        {"option": "I", "site": "S", "item": "cells", "capacity": 5},                             # 12: no cost
    ]
    assert problems_of(make_workbook, **sheets) == {
        ("Investments", 3, "option"), ("Investments", 4, "site"), ("Investments", 5, "item"),
        ("Investments", 6, "capacity"), ("Investments", 7, "latest"), ("Investments", 8, "earliest"),
        ("Investments", 9, "lead_time"), ("Investments", 10, "capex"), ("Investments", 11, "divisible"),
        ("Investments", 12, "unit_cost")}


def test_invalid_inventory_and_periods_rows_name_their_cells(make_workbook):
    sheets = stock_case()
    sheets["Inventory"] = [
        {"site": "P", "item": "cells", "capacity": 5},
        {"site": "P", "item": "cells"},                                  # 3: duplicate
        {"site": "Nowhere", "item": "cells"},                            # 4: unknown site
        {"site": "A", "item": "gold"},                                   # 5: unknown item
        {"site": "A", "item": "cells", "capacity": 2, "final": 3},       # 6: final above capacity
        {"site": "C", "item": "cells", "holding_cost": -1},              # 7: negative
    ]
    sheets["Periods"] = [{"period": 1, "discount_factor": 0}, {"period": 2, "discount_factor": "soon"}]
    assert problems_of(make_workbook, **sheets) == {
        ("Inventory", 3, "item"), ("Inventory", 4, "site"), ("Inventory", 5, "item"), ("Inventory", 6, "final"),
        ("Inventory", 7, "holding_cost"), ("Periods", 2, "discount_factor"), ("Periods", 3, "discount_factor")}


# ------------------------------------------------------------------ option values


def values_of(network, result, **kwargs):
    from optimizer.valuation import attach_option_values, option_values

    values = option_values(network, result, **kwargs)
    attach_option_values(result, values)
    return {v.option: v for v in values}


def solved(make_workbook, sheets, policy="baseline"):
    from optimizer import solve

    network = load_workbook(make_workbook(**sheets))
    return network, solve(network, policy)


def test_a_built_option_is_worth_what_the_plan_would_cost_without_it(make_workbook):
    network, result = solved(make_workbook, buy_or_build(capex=100))
    value = values_of(network, result)["O"]
    assert value.value == pytest.approx(20.0) and value.break_even_capex is None  # 200 - 180
    assert result.investment_records()[0]["value"] == pytest.approx(20.0)


def test_an_option_not_built_has_a_break_even_capex(make_workbook):
    # At capex 130 the plan buys (200). Built in period 1 it saves 120, in period 2 only 60: break-even 120.
    network, result = solved(make_workbook, buy_or_build(capex=130))
    value = values_of(network, result)["O"]
    assert value.break_even_capex == pytest.approx(120.0) and value.value is None
    assert value.solves <= 3


def test_the_break_even_capex_accounts_for_the_build_period_and_discounting(make_workbook):
    # Period 2 at factor 0.5: built in 1 it saves 60 + 0.5 x 60 = 90 against capex x 1; built in 2 it saves
    # 30 against capex x 0.5, i.e. up to 60. The break-even capex is the larger: 90.
    sheets = buy_or_build(capex=130)
    sheets["Periods"] = [{"period": 1, "discount_factor": 1}, {"period": 2, "discount_factor": 0.5}]
    network, result = solved(make_workbook, sheets)
    assert values_of(network, result)["O"].break_even_capex == pytest.approx(90.0)


def test_an_option_without_which_there_is_no_plan_is_essential(make_workbook):
    sheets = buy_or_build(capex=100)
    sheets["Supply"][0]["capacity"] = 0  # O is the only source
    network, result = solved(make_workbook, sheets)
    assert values_of(network, result)["O"].value == "essential"


def test_an_option_dearer_even_at_zero_capex_is_never_worth_it(make_workbook):
    # A fixed cost of 5 per available period makes every plan that builds it dearer, whatever the capex.
    sheets = buy_or_build(capex=1, fixed_cost=5)
    sheets["Investments"][0]["unit_cost"] = 11  # dearer than buying at 10
    network, result = solved(make_workbook, sheets)
    assert values_of(network, result)["O"].break_even_capex == "never"


def test_an_option_that_merely_ties_at_zero_capex_breaks_even_at_zero(make_workbook):
    # At unit cost 10, like buying, building at zero capex neither saves nor costs: break-even 0.
    sheets = buy_or_build(capex=1)
    sheets["Investments"][0]["unit_cost"] = 10
    network, result = solved(make_workbook, sheets)
    assert values_of(network, result)["O"].break_even_capex == pytest.approx(0.0)


def test_divisible_options_get_no_option_value(make_workbook):
    network, result = solved(make_workbook, divisible_case(True))
    value = values_of(network, result)["O"]
    assert (value.value, value.break_even_capex) == (None, None) and value.note.startswith("divisible")


# ------------------------------------------------------------------ outputs


def strategic_case():
    """buy_or_build at capex 80, with stock at P and period 2 discounted at 0.5: building in period 1 saves
    60 + 0.5 x 60 = 90 > 80, so it is built: 80 + 40 + 0.5 x 40 = 140 (nominal 160); buying costs 150."""
    sheets = buy_or_build(capex=80)
    sheets["Inventory"] = [{"site": "P", "item": "cells", "holding_cost": 1}]
    sheets["Periods"] = [{"period": 1, "discount_factor": 1}, {"period": 2, "discount_factor": 0.5}]
    return sheets


def test_the_plan_workbook_shows_costs_by_period_investments_and_inventory(make_workbook, tmp_path):
    import zipfile

    import openpyxl

    from optimizer import solve, write_plan

    result = solve(load_workbook(make_workbook(**strategic_case())))
    assert (result.total_cost, result.nominal_total) == (pytest.approx(140.0), pytest.approx(160.0))
    path = write_plan(result, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:6] == ["Overview", "Summary", "Costs by period", "Supply mix", "Investments", "Inventory"]
    costs = [[c.value for c in row] for row in wb["Costs by period"].iter_rows(min_row=1, max_row=3)]
    header = costs[0]
    # each part per period as it arises (nominal), the discounted total after its factor
    assert [costs[1][header.index(c)] for c in ("period", "capex (nominal)", "supply (nominal)",
                                               "discounted total (discounted)")] == ["1", 80, 40, 120]
    assert [costs[2][header.index(c)] for c in ("supply (nominal)", "discount factor",
                                               "discounted total (discounted)")] == [40, 0.5, 20]
    investments = {c.value: wb["Investments"].cell(row=2, column=c.column).value for c in wb["Investments"][1]}
    assert (investments["option"], investments["built"], investments["build period"]) == ("O", "yes", "1")
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows(min_row=2)}
    gap = next(r[1] for r in wb["Summary"].iter_rows(min_row=2) if r[0].value == "MIP gap")
    assert gap.number_format == "0.00%"  # a fraction of the bound: 0.0001 showed as 0
    assert (summary["Total cost (discounted)"], summary["Nominal total cost (nominal)"],
            summary["Capex (discounted)"]) == (140, 160, 80)
    with zipfile.ZipFile(path) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")]
    # the Overview's supply mix and the cost parts by period, both stacked columns
    assert len(charts) == 2 and all('<grouping val="stacked"/>' in c and "<barChart>" in c for c in charts)
    assert any("'Costs by period'!$B$2:$B$3" in c for c in charts)


def test_solve_json_carries_the_strategic_figures(make_workbook, tmp_path, monkeypatch, capsys):
    from cli_run import run_json

    path = make_workbook(**strategic_case())
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx", "--option-values")
    assert code == 0
    assert (payload["total_cost"], payload["nominal_total"]) == (pytest.approx(140.0), pytest.approx(160.0))
    assert payload["costs"]["capex"] == pytest.approx(80.0) and payload["costs"]["holding"] == 0.0
    assert payload["investments"] == [{"option": "O", "built": True, "period": "1", "fractions": None,
                                       "available_from": "1", "capex": 80.0, "salvage": None,
                                       "value": pytest.approx(10.0),  # 150 - 140
                                       "break_even_capex": None}]
    assert payload["inventory"] == [{"site": "P", "item": "cells", "period": p, "closing": 0.0} for p in "12"]


def test_diagnosis_counts_options_at_their_earliest_availability(solve_sheets):
    # B sells at most 5; O (10 per period) is available from period 2 at the earliest: period 1's demand of
    # 10 is 5 short whatever is built, period 2 can be served.
    sheets = buy_or_build(capex=1, lead_time=1)
    sheets["Supply"][0]["capacity"] = 5
    result = solve_sheets(**sheets)
    assert result.status == "infeasible"
    [finding] = result.diagnosis
    assert (finding["kind"], finding["sheet"], finding["row"]) == ("capacity_shortfall", "Demand", 2)
    assert finding["numbers"]["reachable"] == pytest.approx(5.0) and "(P, cells, 1)" in finding["message"]
