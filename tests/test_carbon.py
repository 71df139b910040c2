"""Carbon (contract v3, part 3), solved end to end on hand-checkable networks: emissions of a plan,
``co2_price`` and ``co2_cap`` in both bases, lanes' item rows over their blank-item rows, investment
emissions, the marginal abatement cost against its hand value, and invalid values named by cell.

The network: the plant P (United States) needs 100 GWh of cells a period. QC (Canada, hydropower) makes
them at 70 and 20 t CO2e per GWh, at most 60; KR (Korea) at 60 and 80. Lanes: QC>P 1 and 1 t; KR>P 3 and,
for cells, 2 t (its blank-item row says 5 t and is overridden). Landed: QC 71 / 21 t, KR 63 / 82 t.
"""

from __future__ import annotations

import math

import pytest
from cli_run import run, run_json

from optimizer import load_workbook, solve

SHEETS = dict(
    Sites=[{"site": "QC", "country": "Canada"}, {"site": "KR", "country": "Korea"},
           {"site": "P", "country": "United States"}],
    Items=[{"item": "cells", "unit": "GWh"}],
    Supply=[{"site": "QC", "item": "cells", "unit_cost": 70, "capacity": 60, "co2_per_unit": 20},
            {"site": "KR", "item": "cells", "unit_cost": 60, "co2_per_unit": 80}],
    Demand=[{"site": "P", "item": "cells", "quantity": 100}],
    Lanes=[{"origin": "QC", "destination": "P", "unit_cost": 1, "co2_per_unit": 1},
           {"origin": "KR", "destination": "P", "unit_cost": 3, "co2_per_unit": 5},
           {"origin": "KR", "destination": "P", "item": "cells", "unit_cost": 3, "co2_per_unit": 2}],
)
QC, KR = 21.0, 82.0  # t CO2e per GWh delivered, production and lane
MOVE_COST = 71.0 - 63.0  # per GWh moved from KR to QC


def policies(*rules) -> list[dict]:
    return [{"policy": "p", **rule} for rule in rules]


@pytest.fixture
def carbon(solve_sheets):
    def run_policy(*rules, **changes):
        sheets = {**SHEETS, **changes, **({"Policies": policies(*rules)} if rules else {})}
        return solve_sheets(policy="p" if rules else "baseline", **sheets)
    return run_policy


def test_emissions_are_production_plus_lane_with_an_item_row_over_the_blank_one(carbon):
    result = carbon()
    assert result.total_cost == pytest.approx(100 * 63)  # all from KR
    assert result.emissions.to_dict() == {"all": pytest.approx(100 * KR)}  # 80 + 2, not 80 + 5
    assert result.flows["co2"].tolist() == [pytest.approx(100 * 2)]
    payload = result.as_dict()
    assert payload["costs"]["carbon"] == 0.0 and payload["emissions"] == {"total": 8200.0, "by_period": {"all": 8200.0}}
    # a blank co2_per_unit on the item row means 0, like its unit_cost: not the blank-item row's 5
    lanes = [*SHEETS["Lanes"][:2], {**SHEETS["Lanes"][2], "co2_per_unit": None}]
    assert carbon(Lanes=lanes).emissions.sum() == pytest.approx(100 * 80)


def test_co2_price_is_its_own_cost_part(carbon):
    # 0.2 per t: KR costs 63 + 0.2 x 82 = 79.4, QC 71 + 0.2 x 21 = 75.2: QC to its 60, KR the other 40.
    result = carbon({"rule": "co2_price", "value": 0.2})
    emissions = 60 * QC + 40 * KR
    assert result.costs["carbon"] == pytest.approx(0.2 * emissions)
    assert result.total_cost == pytest.approx(60 * 71 + 40 * 63 + 0.2 * emissions)
    [row] = result.compliance.to_dict("records")
    assert (row["emissions"], row["cost"]) == (pytest.approx(emissions), pytest.approx(0.2 * emissions))
    summary = dict(zip(result.summary["field"], result.summary["value"], strict=True))
    assert (summary["Carbon cost"], summary["Emissions"]) == (pytest.approx(0.2 * emissions), pytest.approx(emissions))


def test_two_co2_prices_on_the_same_emissions_add_up_and_from_selects_the_producers(carbon):
    # 0.1 on everything plus 0.1 on Korean emissions only: KR 63 + 0.2 x 82 = 79.4, QC 71 + 0.1 x 21 = 73.1.
    result = carbon({"rule": "co2_price", "value": 0.1}, {"rule": "co2_price", "from": "Korea", "value": 0.1})
    assert result.costs["carbon"] == pytest.approx(0.1 * (60 * QC + 40 * KR) + 0.1 * 40 * KR)
    assert result.compliance["emissions"].tolist() == [pytest.approx(60 * QC + 40 * KR), pytest.approx(40 * KR)]


def test_to_filters_the_flows_only_not_the_production(carbon):
    # to QC: no flow goes there, but production at every site counts: 0.2 x 80 on KR makes QC cheaper.
    result = carbon({"rule": "co2_price", "to": "QC", "value": 0.2})
    assert result.compliance.iloc[0]["emissions"] == pytest.approx(60 * 20 + 40 * 80)


@pytest.mark.parametrize(("basis", "value"), [("total", 5000), ("per_unit", 50)])
def test_co2_cap_and_its_marginal_abatement_cost(carbon, basis, value):
    # 5,000 t (or 50 t per GWh of the 100 demanded): 8,200 - 5,000 = 3,200 t to avoid; each GWh moved from KR
    # to QC avoids 61 t for 8 more: 3,200 / 61 = 52.46 GWh, and each t less costs 8 / 61.
    result = carbon({"rule": "co2_cap", "value": value, "basis": basis})
    moved = (100 * KR - 5000) / (KR - QC)
    assert result.total_cost == pytest.approx(100 * 63 + MOVE_COST * moved)
    [row] = result.compliance.to_dict("records")
    assert (row["emissions"], row["bound"], row["binding"]) == (pytest.approx(5000), 5000, True)
    assert row["marginal_abatement_cost"] == pytest.approx(MOVE_COST / (KR - QC))
    rate = result.marginals.rule_rate(2)  # per unit of the rule's value: a t, or a t per GWh (x 100 GWh)
    assert rate == pytest.approx(MOVE_COST / (KR - QC) * (1 if basis == "total" else 100))
    [priced] = result.sensitivity[result.sensitivity["kind"] == "co2 cap"].to_dict("records")
    # the price holds from the least achievable emissions (QC full: 60 x 21 + 40 x 82 = 4,540) to 8,200
    assert (priced["price"], priced["range_low"], priced["range_high"]) == (
        pytest.approx(MOVE_COST / (KR - QC)), pytest.approx(4540), pytest.approx(8200))


def test_a_cap_at_the_least_achievable_emissions_is_at_the_limit(carbon):
    result = carbon({"rule": "co2_cap", "value": 60 * QC + 40 * KR})
    assert result.status == "optimal"
    assert result.compliance.iloc[0]["marginal_abatement_cost"] == math.inf
    assert carbon({"rule": "co2_cap", "value": 60 * QC + 40 * KR - 1}).status == "infeasible"


def test_the_marginal_abatement_cost_is_discounted(carbon):
    # Two periods, 2027 at half the weight; the cap binds in 2027 only: each t less there costs 0.5 x 8 / 61.
    result = carbon({"rule": "co2_cap", "value": 5000, "period": 2027},
                    Periods=[{"period": 2026, "discount_factor": 1}, {"period": 2027, "discount_factor": 0.5}])
    [row] = result.compliance.to_dict("records")
    assert row["marginal_abatement_cost"] == pytest.approx(0.5 * MOVE_COST / (KR - QC))


def test_an_option_emits_its_own_value_or_else_its_sites(carbon):
    # QC may add 50 GWh (no capex; blank unit cost and co2: QC's 70 and 20 t); P may build 30 GWh at 75 and 5 t
    # where they are needed (no lane). Per t avoided against KR: QC 8 / 61, P_new 12 / 77, so QC goes first.
    options = [{"option": "QC_more", "site": "QC", "item": "cells", "capacity": 50},
               {"option": "P_new", "site": "P", "item": "cells", "capacity": 30, "unit_cost": 75, "co2_per_unit": 5}]
    free = carbon(Investments=options)
    assert free.total_cost == pytest.approx(6300) and free.emissions.sum() == pytest.approx(8200)

    def made(result, option):
        rows = result.utilization[(result.utilization["resource"] == "option")
                                  & (result.utilization["destination"] == option)]
        return float(rows["used"].sum())

    # 3,000 t: 5,200 t to avoid at 61 a GWh from QC: 85.25 GWh, 60 of them from its Supply row.
    capped = carbon({"rule": "co2_cap", "value": 3000}, Investments=options)
    assert made(capped, "QC_more") == pytest.approx(5200 / 61 - 60) and made(capped, "P_new") == pytest.approx(0)
    assert capped.emissions.sum() == pytest.approx(3000)
    # 1,700 t: even all from QC emits 2,100; each GWh of P_new instead saves 16 t: 25 GWh, at 5 t each.
    low = carbon({"rule": "co2_cap", "value": 1700}, Investments=options)
    assert made(low, "P_new") == pytest.approx(25) and made(low, "QC_more") == pytest.approx(15)
    assert low.emissions.sum() == pytest.approx(75 * QC + 25 * 5)
    assert low.total_cost == pytest.approx(75 * 71 + 25 * 75)


def test_without_co2_columns_the_plan_and_cost_are_as_before(solve_sheets):
    plain = {name: [{k: v for k, v in row.items() if k != "co2_per_unit"} for row in rows]
             for name, rows in SHEETS.items()}
    with_co2, without = solve_sheets(**SHEETS), solve_sheets(**plain)
    assert with_co2.total_cost == without.total_cost == pytest.approx(6300)
    carbon_columns = ["co2", "carbon_cost"]
    assert with_co2.flows.drop(columns=carbon_columns).equals(without.flows.drop(columns=carbon_columns))
    assert without.emissions.sum() == 0 and "Carbon cost" not in set(without.summary["field"])


# --------------------------------------------------------------------------- invalid values


@pytest.mark.parametrize(("sheet", "change", "cell"), [
    ("Supply", {"co2_per_unit": -1}, "Supply row 2, column co2_per_unit"),
    ("Lanes", {"co2_per_unit": "lots"}, "Lanes row 2, column co2_per_unit"),
    ("Policies", {"rule": "co2_cap", "value": 100, "scope": "each_destination"}, "Policies row 2, column scope"),
    ("Policies", {"rule": "co2_cap", "value": 100, "basis": "value"}, "Policies row 2, column basis"),
    ("Policies", {"rule": "co2_price", "value": -0.5}, "Policies row 2, column value"),
])
def test_an_invalid_carbon_value_exits_2_naming_its_cell(make_workbook, monkeypatch, capsys, tmp_path, sheet,
                                                         change, cell):
    sheets = {**SHEETS, "Policies": policies({"rule": "co2_price", "value": 0.1})}
    sheets[sheet] = [{**sheets[sheet][0], **change}, *sheets[sheet][1:]]
    path = make_workbook(**sheets)
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 2 and payload["status"] == "error"
    assert any(str(p["message"]).startswith(cell) or f"{p['sheet']} row {p['row']}, column {p['column']}" == cell
               for p in payload["problems"]), payload["problems"]
    assert not (tmp_path / "plan.xlsx").exists()
    code, _, err = run(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 2 and cell in " ".join(err.split())


def test_a_carbon_workbook_loads(make_workbook):
    network = load_workbook(make_workbook(**SHEETS, Policies=policies({"rule": "co2_cap", "value": 1})))
    assert solve(network, "p").status == "infeasible"  # 1 t cannot make 100 GWh
