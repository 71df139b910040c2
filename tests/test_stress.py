"""``sourcing stress``: time to survive, impact at the time to recover and the risk exposure index, each case worked
out by hand. A period is 52 weeks unless a case says otherwise, so a window of w weeks is w / 52 of a period."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from cli_run import flat, run, run_json

from optimizer import load_workbook
from optimizer.options import SolverOptions
from optimizer.stress import StressError, stress

US, CN = "United States", "China"


def site(name, country=US, **extra):
    return {"site": name, "country": country, **extra}


def one_tier_with_stock():
    """P needs 52 a period (1 a week) at a shortage cost of 100 and holds 6 in stock; A makes 40 at 1, B 20 at 2.
    The plan: the 6 in stock, 40 from A, 6 from B (52).

    TTS of A: w (1 - 20/52) <= 6 -> w = 6 x 52 / 32 = 9.75 weeks. TTS of B: w (1 - 40/52) <= 6 -> w = 26 weeks.
    A recovers in 13 weeks (a quarter): demand 13, B 5, stock 6: 2 lost (200), window cost 10 + 200 = 210; the same
    window with A up takes the stock and 7 from A: 7; impact 203. B (blank: 4 weeks): demand 4 from stock, 0 and 0."""
    return dict(
        Sites=[site("A", recovery_weeks=13), site("B"), site("P")], Items=[{"item": "cells", "unit": "GWh"}],
        Supply=[{"site": "A", "item": "cells", "capacity": 40, "unit_cost": 1},
                {"site": "B", "item": "cells", "capacity": 20, "unit_cost": 2}],
        Demand=[{"site": "P", "item": "cells", "quantity": 52, "shortage_cost": 100}],
        Lanes=[{"origin": "A", "destination": "P"}, {"origin": "B", "destination": "P"}],
        Inventory=[{"site": "P", "item": "cells", "initial": 6}],
        Settings=[{"key": "currency", "value": "USD M"}])


def cell_plant_feeds_everything():
    """C is the only cell plant (capacity 60 at 3, 2 raw per cell); R1 sells raw at 1, R2 at 2 (120 each). P needs 52
    cells a period at a shortage cost of 50. The plan: 52 cells from C on 104 raw from R1 (156 + 104 = 260).

    C (8 weeks): nothing can replace it: TTS 0, 8 cells lost (400), against 8 x 3 + 16 x 1 = 40 with C up: 360.
    R1 (4 weeks): R2 replaces it (120 >= 104 a period): TTS the period; 12 + 8 x 2 = 28 against 12 + 8 = 20: 8.
    R2 (4 weeks): unused, impact 0. REI: C 1, R1 8/360, R2 0."""
    return dict(
        Sites=[site("C", recovery_weeks=8), site("R1"), site("R2"), site("P")],
        Items=[{"item": "cells"}, {"item": "raw"}],
        Supply=[{"site": "C", "item": "cells", "capacity": 60, "unit_cost": 3},
                {"site": "R1", "item": "raw", "capacity": 120, "unit_cost": 1},
                {"site": "R2", "item": "raw", "capacity": 120, "unit_cost": 2}],
        BOM=[{"item": "cells", "input": "raw", "quantity": 2}],
        Demand=[{"site": "P", "item": "cells", "quantity": 52, "shortage_cost": 50}],
        Lanes=[{"origin": "C", "destination": "P"}, {"origin": "R1", "destination": "C"},
               {"origin": "R2", "destination": "C"}])


def local_content():
    """P (US) needs 52 a period, shortage cost 40; L (US) makes 60 at 2, F (China) 100 at 1; policy set ``local``:
    at least 50% of P's cells from the US. The plan: 26 from L, 26 from F (78).

    With the rule, L down stops every delivery (no US flow: no flow at all): TTS 0; in its 2 weeks all 2 are lost
    (80) against 1 from L and 1 from F (3): impact 77. F down (4 weeks): L makes all 4 (8) against 2 + 2 (6): 2.
    Without the rules: L down costs nothing (F makes 2 at 1 either way: 2 and 2); F down: L makes 4 (8) against F's
    4 (4): 4. Nothing is lost, every site survives the period."""
    return dict(
        Sites=[site("L", recovery_weeks=2), site("F", CN), site("P")], Items=[{"item": "cells"}],
        Supply=[{"site": "L", "item": "cells", "capacity": 60, "unit_cost": 2},
                {"site": "F", "item": "cells", "capacity": 100, "unit_cost": 1}],
        Demand=[{"site": "P", "item": "cells", "quantity": 52, "shortage_cost": 40}],
        Lanes=[{"origin": "L", "destination": "P"}, {"origin": "F", "destination": "P"}],
        Policies=[{"policy": "local", "rule": "min_share", "from": US, "to": "P", "value": 0.5, "basis": "quantity"}])


def by_site(payload) -> dict[str, dict]:
    return {s["site"]: s for s in payload["sites"]}


def test_one_tier_with_stock(make_workbook, monkeypatch, capsys, tmp_path):
    code, payload, _ = run_json(monkeypatch, capsys, "stress", make_workbook(**one_tier_with_stock()),
                                "-o", tmp_path / "s.xlsx")
    assert code == 0
    assert (payload["policy"], payload["scenario"], payload["period"], payload["period_weeks"]) == \
        ("baseline", None, "all", 52.0)
    assert payload["sites"] == [
        {"site": "A", "recovery_weeks": 13.0, "tts_weeks": pytest.approx(9.75), "survives_period": False,
         "lost_units": pytest.approx(2.0), "lost_value": pytest.approx(200.0), "window_cost": pytest.approx(210.0),
         "baseline_window_cost": pytest.approx(7.0), "performance_impact": pytest.approx(203.0), "rei": 1.0,
         "rank": 1},
        {"site": "B", "recovery_weeks": 4.0, "tts_weeks": pytest.approx(26.0), "survives_period": False,
         "lost_units": 0.0, "lost_value": 0.0, "window_cost": pytest.approx(0.0), "baseline_window_cost":
         pytest.approx(0.0), "performance_impact": 0.0, "rei": 0.0, "rank": 2}]


def test_the_cell_plant_is_the_single_point_of_failure(make_workbook, monkeypatch, capsys, tmp_path):
    output = tmp_path / "s.xlsx"
    code, payload, _ = run_json(monkeypatch, capsys, "stress", make_workbook(**cell_plant_feeds_everything()),
                                "-o", output)
    assert code == 0
    sites = by_site(payload)
    assert [s["site"] for s in payload["sites"]] == ["C", "R1", "R2"]
    assert sites["C"] == {"site": "C", "recovery_weeks": 8.0, "tts_weeks": 0.0, "survives_period": False,
                          "lost_units": pytest.approx(8.0), "lost_value": pytest.approx(400.0),
                          "window_cost": pytest.approx(400.0), "baseline_window_cost": pytest.approx(40.0),
                          "performance_impact": pytest.approx(360.0), "rei": 1.0, "rank": 1}
    assert (sites["R1"]["tts_weeks"], sites["R1"]["survives_period"]) == (52.0, True)
    assert sites["R1"]["window_cost"] == pytest.approx(28.0) and sites["R1"]["baseline_window_cost"] == \
        pytest.approx(20.0)
    assert sites["R1"]["rei"] == pytest.approx(8 / 360) and sites["R2"]["rei"] == 0.0
    wb = openpyxl.load_workbook(output)
    assert wb.sheetnames == ["Overview", "Summary", "Stress", "Lost by item"]
    lost = [list(r) for r in wb["Lost by item"].iter_rows(values_only=True)]
    assert lost == [["rank", "site", "item", "lost units", "lost value (nominal)"], [1, "C", "cells", 8, 400],
                    [2, "R1", "cells", 0, 0], [3, "R2", "cells", 0, 0]]


def test_a_local_content_rule_turns_a_short_outage_into_a_full_stop(make_workbook, monkeypatch, capsys, tmp_path):
    path = make_workbook(**local_content())
    code, payload, _ = run_json(monkeypatch, capsys, "stress", path, "--policy", "local", "-o", tmp_path / "s.xlsx")
    assert code == 0
    sites = by_site(payload)
    assert (sites["L"]["tts_weeks"], sites["L"]["lost_units"]) == (0.0, pytest.approx(2.0))
    assert sites["L"]["window_cost"] == pytest.approx(80.0) and sites["L"]["performance_impact"] == \
        pytest.approx(77.0)
    assert sites["F"]["survives_period"] and sites["F"]["performance_impact"] == pytest.approx(2.0)
    code, payload, _ = run_json(monkeypatch, capsys, "stress", path, "--policy", "local", "--ignore-rules",
                                "-o", tmp_path / "s.xlsx")
    assert code == 0
    sites = by_site(payload)
    assert all(s["survives_period"] and s["lost_units"] == 0 for s in sites.values())
    assert sites["L"]["performance_impact"] == 0.0 and sites["F"]["performance_impact"] == pytest.approx(4.0)
    assert [s["site"] for s in payload["sites"]] == ["F", "L"]


def test_the_terminal_and_the_workbook_say_which_site_loses_sales_before_it_recovers(make_workbook, monkeypatch,
                                                                                     capsys, tmp_path):
    output = tmp_path / "s.xlsx"
    code, out, _ = run(monkeypatch, capsys, "stress", make_workbook(**one_tier_with_stock()), "-o", output)
    assert code == 0
    assert "A loses sales after 9.75 weeks; it needs 13 to recover." in flat(out)
    assert "│ 1 │ A │ 13 wk │ 9.75 wk │ 2 │ 203.00 │ 1.000 │" in flat(out)
    assert max(len(line) for line in out.splitlines() if line[:1] in "┏┃┡│└") <= 80
    wb = openpyxl.load_workbook(output)
    stress_rows = [list(r) for r in wb["Stress"].iter_rows(values_only=True)]
    assert stress_rows[0] == ["rank", "site", "country", "items", "recovery weeks", "recovery from", "TTS weeks",
                              "survives the period", "loses sales before it recovers", "finding",
                              "lost units (GWh)", "lost value (USD M, nominal)", "window cost (USD M, nominal)",
                              "baseline window cost (USD M, nominal)", "performance impact (USD M, nominal)", "REI"]
    assert stress_rows[1][:10] == [1, "A", US, "cells", 13, "Sites row 2", 9.75, "no", "yes",
                                   "A loses sales after 9.75 weeks; it needs 13 to recover"]
    assert stress_rows[2][5] == "--weeks 4"
    overview = {r[1]: (r[2], r[3]) for r in wb["Overview"].iter_rows(values_only=True)}
    assert overview["sites that lose sales within their recovery time (TTS below it)"] == (1, "Stress!I2:I3")
    assert overview["A loses sales after 9.75 weeks; it needs 13 to recover"] == (None, "Stress!J2")
    exposed = next(k for k in overview if k.startswith("most exposed #1"))
    assert exposed == ("most exposed #1: A (REI 1.000) survives 9.75 weeks without it and needs 13 weeks to "
                       "recover; down that long it costs 203.00 USD M (nominal) more than the same window with "
                       "nothing down, 2 units of demand lost")
    assert overview[exposed] == (203, "Stress!O2")
    chart = wb["Overview"]._charts[0]
    assert (chart.y_axis.scaling.min, chart.y_axis.scaling.max) == (0, 1)


def test_a_total_carbon_cap_is_shared_out_over_the_window(make_workbook, monkeypatch, capsys, tmp_path):
    # D emits 1 t per unit at 1, C none at 3; a cap of 26 t a period: the plan takes 26 from each. C down for 13
    # weeks: the window's cap is 6.5 t, so D makes 6.5 and 6.5 of the 13 are lost (65): 71.5 against 6.5 + 19.5 = 26.
    # TTS of C: D may make only half of any window's demand: 0.
    sheets = dict(
        Sites=[site("D"), site("C", recovery_weeks=13), site("P")], Items=[{"item": "cells"}],
        Supply=[{"site": "D", "item": "cells", "unit_cost": 1, "co2_per_unit": 1},
                {"site": "C", "item": "cells", "unit_cost": 3}],
        Demand=[{"site": "P", "item": "cells", "quantity": 52, "shortage_cost": 10}],
        Lanes=[{"origin": "D", "destination": "P"}, {"origin": "C", "destination": "P"}],
        Policies=[{"policy": "cap", "rule": "co2_cap", "value": 26}])
    code, payload, _ = run_json(monkeypatch, capsys, "stress", make_workbook(**sheets), "--policy", "cap",
                                "--sites", "C", "-o", tmp_path / "s.xlsx")
    assert code == 0
    assert payload["sites"] == [{"site": "C", "recovery_weeks": 13.0, "tts_weeks": 0.0, "survives_period": False,
                                 "lost_units": pytest.approx(6.5), "lost_value": pytest.approx(65.0),
                                 "window_cost": pytest.approx(71.5), "baseline_window_cost": pytest.approx(26.0),
                                 "performance_impact": pytest.approx(45.5), "rei": 1.0, "rank": 1}]


def test_discrete_rules_are_left_out_of_the_windows(make_workbook):
    # min_suppliers 2 makes the plan buy from both A and B; in a window it is left out, so B alone replaces A.
    sheets = one_tier_with_stock()
    sheets["Supply"][1]["capacity"] = 60
    sheets["Policies"] = [{"policy": "two", "rule": "min_suppliers", "to": "P", "value": 2}]
    result = stress(load_workbook(make_workbook(**sheets)), policy="two", sites=["A"])
    assert result.plan.formulation.is_mip
    row = result.table.iloc[0]
    assert (row["site"], row["survives_period"], row["lost_units"]) == ("A", True, 0.0)


def test_windows_are_warm_re_solves_and_workers_change_nothing(make_workbook):
    # 14 suppliers, each with its own recovery time: 14 baseline windows and 14 nodes, three chains of 10, 9 and 9
    # members, each solved warm after its first; 2 workers give the same tables as 1.
    names = [f"S{i:02d}" for i in range(14)]
    sheets = dict(
        Sites=[site(n, recovery_weeks=4 + i) for i, n in enumerate(names)] + [site("P")], Items=[{"item": "cells"}],
        Supply=[{"site": n, "item": "cells", "capacity": 10, "unit_cost": 1 + i / 10} for i, n in enumerate(names)],
        Demand=[{"site": "P", "item": "cells", "quantity": 100, "shortage_cost": 20}],
        Lanes=[{"origin": n, "destination": "P"} for n in names])
    network = load_workbook(make_workbook(**sheets))
    one = stress(network, options=SolverOptions())
    two = stress(network, options=SolverOptions(), workers=2)
    assert one.stats == {"windows": 14 + 14, "chains": 3, "warm": 28 - 3}
    assert one.table.equals(two.table) and one.lost.equals(two.lost)
    # 100 of the 140 a period are needed: without any one of them the other 130 suffice
    assert one.table["survives_period"].all()


def test_a_demand_row_without_a_shortage_cost_is_invalid_for_stress(make_workbook, monkeypatch, capsys, tmp_path):
    sheets = one_tier_with_stock()
    sheets["Demand"][0]["shortage_cost"] = None
    path = make_workbook(**sheets)
    code, out, err = run(monkeypatch, capsys, "stress", path, "-o", tmp_path / "s.xlsx")
    assert code == 2
    assert err.splitlines()[1] == ("  Demand row 2, column shortage_cost: blank: stress lets demand in all go unmet at "
                                   "its shortage cost; give one here, or --shortage-cost for every blank")
    assert not (tmp_path / "s.xlsx").exists()
    code, payload, _ = run_json(monkeypatch, capsys, "stress", path, "--shortage-cost", "100",
                                "-o", tmp_path / "s.xlsx")
    assert code == 0 and payload["sites"][0]["lost_value"] == pytest.approx(200.0)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--sites", "Z"], "no site named 'Z'; the workbook has: A, B, P"),
    (["--sites", "a,b2"], "no site named 'b2'; the workbook has: A, B, P"),
    (["--sites", "P"], "site 'P' has no Supply capacity, throughput or option available in all: it has nothing "
                       "that can go down"),
    (["--period", "2027"], "no period named '2027'; the workbook has: all"),
    (["--weeks", "-1"], "--weeks must be a number of weeks >= 0"),
    (["--shortage-cost", "-1"], "--shortage-cost must be a number >= 0"),
    (["--policy", "x", "--scenario", "y"], "--scenario and --policy cannot be combined: a scenario names its own "
                                           "policy set"),
])
def test_bad_requests_exit_2(make_workbook, monkeypatch, capsys, tmp_path, arguments, message):
    code, payload, _ = run_json(monkeypatch, capsys, "stress", make_workbook(**one_tier_with_stock()), *arguments,
                                "-o", tmp_path / "s.xlsx")
    assert code == 2
    assert payload == {"status": "error", "message": message}


def test_a_plan_without_a_solution_exits_1_with_its_diagnosis(make_workbook, monkeypatch, capsys, tmp_path):
    sheets = one_tier_with_stock()
    sheets["Demand"][0]["period"] = "2026"
    sheets["Demand"].append({"site": "P", "item": "cells", "period": "2027", "quantity": 500})  # hard, too much
    output = tmp_path / "s.xlsx"
    code, payload, _ = run_json(monkeypatch, capsys, "stress", make_workbook(**sheets), "-o", output)
    assert code == 1
    assert payload["status"] == "infeasible" and payload["sites"] == []
    # 2 x 60 from A and B's capacity (A 40 + B 20 a period) and the 6 in stock
    assert payload["diagnosis"][0]["message"] == ("Demand row 3 (P, cells, 2027): 500 GWh required, at most 126 GWh "
                                                  "can reach it while the other demand is served (Supply rows 2, 3 at "
                                                  "capacity)")
    assert openpyxl.load_workbook(output).sheetnames == ["Overview", "Summary", "Diagnosis"]


def test_the_examples_stress_in_seconds_and_name_their_exposed_sites(monkeypatch, capsys, tmp_path):
    inputs = Path(__file__).resolve().parents[1] / "inputs"
    code, payload, _ = run_json(monkeypatch, capsys, "stress", inputs / "ev_battery_multitier.xlsx", "--policy",
                                "ira_tiers", "-o", tmp_path / "s.xlsx")
    assert code == 0
    first = payload["sites"][0]
    # the CAM rule accepts only North American or FTA CAM; in 2026 Umicore Cheonan is the one such source
    assert (first["site"], first["tts_weeks"], first["rank"]) == ("Umicore_Cheonan_KR", 0.0, 1)
    with pytest.raises(StressError):
        stress(load_workbook(inputs / "ev_battery_multitier.xlsx"), policy="ira_tiers", weeks=-2)
