"""Policy comparison, sweeps, the tariff and credit rules, cost of compliance, and executors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import examples
import openpyxl
import pandas as pd
import pytest
from cli_run import flat, run, run_json
from examples import NORTH_AMERICA, plan

from optimizer import WorkbookError, load_workbook
from optimizer.compare import Comparison, SweepError, compare, parse_values, select_policies, sweep
from optimizer.writing.comparison import write_comparison
from optimizer.writing.sweep import write_sweep

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "ev_battery_north_america.xlsx"

SITES = [{"site": "A", "country": "United States"}, {"site": "B", "country": "China"},
         {"site": "D", "country": "United States"}]
ITEMS = [{"item": "cells", "unit": "GWh"}]
LANES = [{"origin": "A", "destination": "D"}, {"origin": "B", "destination": "D"}]


def two_suppliers(policies, a_capacity=None, tariffs=None, a_cost=10, b_cost=5):
    """A (US) and B (China) both serve D, which needs 100 units."""
    sheets = dict(Sites=SITES, Items=ITEMS, Lanes=LANES,
                  Supply=[{"site": "A", "item": "cells", "unit_cost": a_cost, "capacity": a_capacity},
                          {"site": "B", "item": "cells", "unit_cost": b_cost}],
                  Demand=[{"site": "D", "item": "cells", "quantity": 100}],
                  Policies=policies)
    if tariffs:
        sheets["Tariffs"] = tariffs
    return sheets


# ------------------------------------------------------------------ tariff and credit rules


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_policy_tariff_adds_to_the_tariffs_sheet(solve_sheets, solver):
    # B lands at 8 * (1 + 0.1 sheet + 0.2 policy) = 10.4 > A's 10, so the policy moves all 100 units to A.
    sheets = two_suppliers([{"policy": "t", "rule": "tariff", "from": "China", "value": 0.2}],
                           tariffs=[{"origin": "China", "rate": 0.1}], b_cost=8)
    base = solve_sheets(solver=solver, **sheets)
    assert base.total_cost == pytest.approx(880.0)  # 100 * 8 * 1.1
    assert base.costs["tariffs"] == pytest.approx(80.0)
    taxed = solve_sheets(policy="t", solver=solver, **sheets)
    assert taxed.total_cost == pytest.approx(1000.0)
    assert taxed.flows.set_index("origin")["quantity"].to_dict() == {"A": pytest.approx(100.0)}


def test_policy_tariff_rate_and_cost_reported_when_paid(solve_sheets):
    # With A capped at 40, 60 units still come from B at 8 * 1.3 = 10.4: tariffs 60 * 8 * 0.3 = 144.
    sheets = two_suppliers([{"policy": "t", "rule": "tariff", "from": "China", "value": 0.2}],
                           tariffs=[{"origin": "China", "rate": 0.1}], b_cost=8, a_capacity=40)
    result = solve_sheets(policy="t", **sheets)
    assert result.total_cost == pytest.approx(400 + 624)
    assert result.costs == pytest.approx({"supply": 880.0, "transport": 0.0, "tariffs": 144.0, "credits": 0.0,
                                          "carbon": 0.0, "fixed": 0.0,
                                          "capex": 0.0, "salvage": 0.0, "investment_fixed": 0.0, "holding": 0.0,
                                          "shortage": 0.0})
    b_row = result.flows.set_index("origin").loc["B"]
    assert b_row["tariff_rate"] == pytest.approx(0.3)
    assert b_row["tariff_cost"] == pytest.approx(144.0)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_credit_lowers_cost_and_is_its_own_cost_line(solve_sheets, solver):
    # A credit of 6 per unit makes A cost 10 - 6 = 4 < B's 5: all 100 from A, supply 1000, credits -600.
    sheets = two_suppliers([{"policy": "x45", "rule": "credit", "from": "United States", "items": "cells",
                             "value": 6}])
    result = solve_sheets(policy="x45", solver=solver, **sheets)
    assert result.total_cost == pytest.approx(400.0)
    assert result.costs == pytest.approx({"supply": 1000.0, "transport": 0.0, "tariffs": 0.0, "credits": -600.0,
                                          "carbon": 0.0, "fixed": 0.0,
                                          "capex": 0.0, "salvage": 0.0, "investment_fixed": 0.0, "holding": 0.0,
                                          "shortage": 0.0})
    assert result.flows["credit_cost"].sum() == pytest.approx(-600.0)


def test_credit_limited_to_its_to_sites_and_periods(solve_sheets):
    # Credit only into D2 in period 2: D1 always buys B (5), D2 buys A at 10 - 6 = 4 in period 2 only.
    sheets = dict(Sites=SITES + [{"site": "D2", "country": "United States"}], Items=ITEMS,
                  Lanes=LANES + [{"origin": "A", "destination": "D2"}, {"origin": "B", "destination": "D2"}],
                  Supply=[{"site": "A", "item": "cells", "unit_cost": 10},
                          {"site": "B", "item": "cells", "unit_cost": 5}],
                  Demand=[{"site": "D", "item": "cells", "quantity": 10},
                          {"site": "D2", "item": "cells", "quantity": 10}],
                  Periods=[{"period": 1}, {"period": 2}],
                  Policies=[{"policy": "c", "rule": "credit", "from": "A", "to": "D2", "value": 6, "period": 2}])
    result = solve_sheets(policy="c", **sheets)
    # period 1: 20 * 5 = 100; period 2: 10 * 5 + 10 * 4 = 90
    assert result.total_cost == pytest.approx(190.0)


def test_tariff_and_credit_values_are_validated(make_workbook):
    path = make_workbook(**two_suppliers([
        {"policy": "p", "rule": "tariff", "from": "China"},
        {"policy": "p", "rule": "credit", "from": "A", "value": -1},
    ]))
    with pytest.raises(WorkbookError) as caught:
        load_workbook(path)
    found = {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert found == {("Policies", 2, "value"), ("Policies", 3, "value")}


# ------------------------------------------------------------------ cost of compliance


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_cost_per_point_of_a_binding_quantity_share(solve_sheets, solver):
    # 60% of 100 units from A (10) instead of B (5): each extra point moves 1 unit, costing 5 more.
    result = solve_sheets(policy="p", solver=solver, **two_suppliers(
        [{"policy": "p", "rule": "min_share", "from": "United States", "value": 0.6, "basis": "quantity"}]))
    assert result.total_cost == pytest.approx(800.0)
    row = result.compliance.iloc[0]
    assert row["binding"]
    assert row["cost_per_point"] == pytest.approx(5.0)


def test_cost_per_point_of_a_value_share_matches_the_derivative(solve_sheets):
    # Value basis: 10 xA >= v (10 xA + 5 xB), xA + xB = 100  =>  xA = 100 v / (2 - v);
    # cost = 500 + 5 xA; d cost / d v = 1000 / (2 - v)^2; per point at v = 0.6: 10 / 1.96.
    result = solve_sheets(policy="p", **two_suppliers(
        [{"policy": "p", "rule": "min_share", "from": "United States", "value": 0.6}]))
    assert result.total_cost == pytest.approx(500 + 5 * 60 / 1.4)
    assert result.compliance.iloc[0]["cost_per_point"] == pytest.approx(10 / 1.96)


def test_cost_per_point_of_a_max_share_is_the_cost_of_lowering_it(solve_sheets):
    # At most 40% from China: lowering the cap by 1 point moves 1 unit from B (5) to A (10): +5.
    result = solve_sheets(policy="q", **two_suppliers(
        [{"policy": "q", "rule": "max_share", "from": "China", "value": 0.4, "basis": "quantity"}]))
    assert result.total_cost == pytest.approx(800.0)
    assert result.compliance.iloc[0]["cost_per_point"] == pytest.approx(5.0)
    assert result.marginals.rule_rate(2) == pytest.approx(5.0)


# ------------------------------------------------------------------ sweeps


def test_parse_values():
    assert parse_values("0.40:0.90:0.10") == pytest.approx([0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert parse_values("40%:60%:10%") == pytest.approx([0.4, 0.5, 0.6])
    assert parse_values("0.5, 0.75") == [0.5, 0.75]
    for bad in ("0.9:0.4:0.1", "0:1:0", "a,b", ""):
        with pytest.raises(SweepError):
            parse_values(bad)


def test_sweep_traces_the_known_cost_curve_and_marks_infeasibility(make_workbook, tmp_path):
    # cost(v) = 500 + 5 * 100 v while A (capacity 80) can cover the share; infeasible above 0.8.
    path = make_workbook(**two_suppliers(
        [{"policy": "p", "rule": "min_share", "from": "United States", "value": 0.6, "basis": "quantity"}],
        a_capacity=80))
    network = load_workbook(path)
    result = sweep(network, "p", 2, parse_values("0.5:1.0:0.1"))
    table = result.table()
    assert table["status"].tolist() == ["optimal"] * 4 + ["infeasible"] * 2
    assert table["total_cost"].iloc[:4].tolist() == pytest.approx([750.0, 800.0, 850.0, 900.0])
    # one-sided, tightening: at 80% A is full and there is no plan beyond, the bound is at the limit
    assert table["marginal"].iloc[:4].tolist() == pytest.approx([5.0] * 3 + [float("inf")])
    # every point with a plan says it leaves no demand unmet (a blank beside a 0.00 shortage cost read as unknown)
    assert table["unmet"].tolist() == ["none"] * 4 + [""] * 2
    assert result.first_infeasible() == pytest.approx(0.9)
    written = write_sweep(result, tmp_path / "sweep.xlsx", inputs=[path])
    wb = openpyxl.load_workbook(written)
    assert wb.sheetnames == ["Summary", "Sweep"]
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["First infeasible value"] == pytest.approx(0.9)
    with zipfile.ZipFile(written) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1 and b"<lineChart>" in archive.read(charts[0])


def test_sweep_rejects_a_rule_of_another_policy(make_workbook):
    network = load_workbook(make_workbook(**two_suppliers(
        [{"policy": "p", "rule": "min_share", "from": "United States", "value": 0.6}])))
    with pytest.raises(SweepError, match="no rule on Policies row 7"):
        sweep(network, "p", 7, [0.5])
    with pytest.raises(SweepError, match=r"\[0, 1\]") as raised:
        sweep(network, "p", 2, [1.5])
    # a value typed as a percentage is named as one (the new analyst typed --values 40:80:10)
    assert str(raised.value).endswith("(1.5 is a percentage? a share is a fraction: write 0.015 or 1.5%)")
    with pytest.raises(SweepError) as raised:
        sweep(network, "p", 2, [40.0])
    assert str(raised.value) == ("Policies row 2 is a min_share rule: every value must lie in [0, 1] (40 is a "
                                 "percentage? a share is a fraction: write 0.4 or 40%)")


# ------------------------------------------------------------------ comparison workbook


@pytest.fixture(scope="module")
def example_comparison(tmp_path_factory):
    """The example's nine policy sets side by side, from the shared plans (tests/examples.py); that compare()
    solves them as solve() does is pinned by the compare-output block (docs/guides/compare.md) and
    test_compare_json_*."""
    network = examples.network(NORTH_AMERICA)
    comparison = Comparison(network, [plan(NORTH_AMERICA, p.name).detached()
                                      for p in select_policies(network, None)])
    path = write_comparison(comparison, tmp_path_factory.mktemp("cmp") / "comparison.xlsx", inputs=[EXAMPLE])
    return network, comparison, path


def test_comparison_numbers_equal_individual_solves(example_comparison):
    network, comparison, path = example_comparison
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Overview", "Comparison", "Comparison detail", "Comparison rules", "SupplyMix",
                             "Decisions", "Flows", "Flows detail", "Utilization", "Compliance"]
    tables = []
    for sheet in ("Comparison", "Comparison detail"):  # the cost parts on the detail sheet, keyed by policy set
        rows = list(wb[sheet].iter_rows(values_only=True))
        header, body = rows[0], [r for r in rows[1:] if r[0] is not None]
        tables.append(pd.DataFrame(body, columns=header).set_index("policy"))
    table = tables[0].join(tables[1])
    assert table.index.tolist()[0] == "baseline"
    assert set(table.index) == set(network.policies)
    baseline = plan(NORTH_AMERICA, "baseline").total_cost
    for policy in network.policies:  # the example's Settings give the units: USD M and t CO2e
        single = plan(NORTH_AMERICA, policy)
        assert table.loc[policy, "status"] == "optimal"
        assert table.loc[policy, "total cost (USD M, discounted)"] == pytest.approx(single.total_cost, rel=1e-9)
        assert table.loc[policy, "tariffs (USD M, discounted)"] == pytest.approx(single.costs["tariffs"], rel=1e-9,
                                                                                  abs=1e-9)
        assert table.loc[policy, "carbon (USD M, discounted)"] == pytest.approx(single.costs["carbon"], rel=1e-9,
                                                                                 abs=1e-9)
        assert table.loc[policy, "vs baseline (USD M, discounted)"] == pytest.approx(single.total_cost - baseline,
                                                                                      abs=1e-6)
        assert table.loc[policy, "emissions (t CO2e)"] == pytest.approx(single.emissions.sum(), rel=1e-9)
    flows = pd.DataFrame(list(wb["Flows"].iter_rows(min_row=2, values_only=True)),
                         columns=[c.value for c in wb["Flows"][1]])
    ira = plan(NORTH_AMERICA, "ira_30d_whatif").flows
    stacked = flows[flows["policy"] == "ira_30d_whatif"]
    assert stacked["quantity"].sum() == pytest.approx(ira["quantity"].sum(), rel=1e-9) and len(stacked) == len(ira)
    decisions = {r[0]: r[1:] for r in wb["Decisions"].iter_rows(min_row=2, values_only=True)}
    assert decisions["AESC_Florence_restart"][list(table.index).index("current_law")] == "2026"


def test_comparison_workbook_carries_native_charts(example_comparison):
    _, _, path = example_comparison
    with zipfile.ZipFile(path) as archive:
        charts = sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
        xml = [archive.read(n) for n in charts]
        media = [n for n in archive.namelist() if n.startswith("xl/media/")]
    # the Overview's and the Comparison's cost bars, the emissions bar, one stacked bar per item, no pictures
    assert len(charts) == 5 and not media
    assert all(b"<barChart>" in x for x in xml)
    assert sum(b'<grouping val="stacked"' in x for x in xml) == 2
    assert sum(b"'Comparison'!$C$2:$C$10" in x for x in xml) == 2  # total cost of the nine policy sets
    assert sum(b"'Comparison'!$F$2:$F$10" in x and b"Emissions by policy set" in x for x in xml) == 1


def test_supply_mix_groups_follow_the_workbook(example_comparison):
    network, comparison, _ = example_comparison
    mix = comparison.supply_mix()
    assert set(mix["group"]) <= {"north_america", "fta_partners", "feoc_nations", "other"}
    ira = mix[(mix["policy"] == "ira_30d_whatif") & (mix["item"] == "cells_nmc")]
    assert set(ira["group"]) == {"north_america", "other"}  # no FEOC nation; LGES Poland is 'other'
    na_share = ira.set_index("group")["quantity"] / ira["quantity"].sum()
    assert na_share["north_america"] == pytest.approx(0.901, abs=5e-4)
    cells = mix[(mix["policy"] == "baseline") & (mix["item"] == "cells_nmc")]["quantity"].sum()
    assert cells == pytest.approx(network.demand["quantity"].sum())  # cells reach the pack plants directly


def test_infeasible_policy_set_is_a_row_not_a_crash(make_workbook):
    network = load_workbook(make_workbook(**two_suppliers([
        {"policy": "impossible", "rule": "min_share", "from": "United States", "value": 0.9, "basis": "quantity"},
        {"policy": "fine", "rule": "min_share", "from": "United States", "value": 0.5, "basis": "quantity"},
    ], a_capacity=80)))
    table = compare(network).table().set_index("policy")
    assert table.loc["impossible", "status"] == "infeasible"
    assert pd.isna(table.loc["impossible", "total_cost"])
    assert table.loc["fine", "total_cost"] == pytest.approx(750.0)
    assert table.loc["fine", "vs_baseline"] == pytest.approx(250.0)


# ------------------------------------------------------------------ executors


def _signature(comparison):
    table = comparison.table().drop(columns=["message"])
    flows = comparison.stacked("flows")
    return table, flows


@pytest.mark.heavy
def test_workers_and_a_local_dask_cluster_give_identical_results():
    """Three of the example's policy sets (MILPs: a credit builds a plant, a share rule binds) on one worker, two
    worker processes and a real loopback Dask cluster: the same table and flows, in the same order."""
    distributed = pytest.importorskip("distributed")
    network = examples.network(NORTH_AMERICA)
    chosen = "current_law,ira_30d_whatif"  # and the baseline
    serial = _signature(compare(network, chosen, workers=1))
    assert serial[0]["policy"].tolist() == ["baseline", "current_law", "ira_30d_whatif"]
    parallel = _signature(compare(network, chosen, workers=2))
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        on_dask = _signature(compare(network, chosen, scheduler=cluster.scheduler_address))
    finally:
        cluster.close()
    for other in (parallel, on_dask):
        pd.testing.assert_frame_equal(serial[0], other[0])
        pd.testing.assert_frame_equal(serial[1], other[1])


# ------------------------------------------------------------------ command line


def test_compare_json_lists_every_policy(monkeypatch, capsys, tmp_path):
    code, payload, _ = run_json(monkeypatch, capsys, "compare", EXAMPLE, "-o", tmp_path / "c.xlsx",
                                "--policies", "feoc_ban,china_cap")
    assert code == 0
    assert [p["policy"] for p in payload["policies"]] == ["baseline", "feoc_ban", "china_cap"]
    assert payload["policies"][1]["total_cost"] == pytest.approx(12667.76, abs=0.005)
    assert set(payload["policies"][0]["costs"]) == {"supply", "transport", "tariffs", "credits", "carbon", "fixed",
                                                    "capex", "salvage", "investment_fixed", "holding", "shortage"}
    assert payload["output"] == str(tmp_path / "c.xlsx")
    table = openpyxl.load_workbook(tmp_path / "c.xlsx")["Comparison"]
    assert [row[0] for row in table.iter_rows(min_row=2, max_col=1, values_only=True)] == [
        "baseline", "feoc_ban", "china_cap"]


def test_compare_unknown_policy_is_a_usage_error(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "compare", EXAMPLE, "-o", tmp_path / "c.xlsx", "--policies", "nope")
    assert code == 2 and "no policy set named 'nope'" in flat(err)
    assert not (tmp_path / "c.xlsx").exists()


def test_sweep_cli_json(monkeypatch, capsys, tmp_path, make_workbook):
    path = make_workbook(**two_suppliers(
        [{"policy": "p", "rule": "min_share", "from": "United States", "value": 0.6, "basis": "quantity"}],
        a_capacity=80))
    code, payload, _ = run_json(monkeypatch, capsys, "sweep", path, "--policy", "p", "--rule", "2",
                                "--values", "70%:90%:10%", "-o", tmp_path / "s.xlsx")
    assert code == 0
    assert [p["status"] for p in payload["points"]] == ["optimal", "optimal", "infeasible"]
    assert payload["points"][1]["total_cost"] == pytest.approx(900.0)
    assert payload["first_infeasible"] == pytest.approx(0.9)


# ------------------------------------------------------------------ demand left unmet (the new analyst's finding 2a)


def soft_demand_sets():
    """A (US) makes at most 40 at 10, B (China) any amount at 5; D needs 100 at a shortage cost of 20. Baseline: 100
    from B (500). ``local`` (every unit from the US): 40 from A (400) and 60 unmet (1,200): 1,600. ``half`` (at most
    half from China): 40 from A and 40 from B (600), 20 unmet (400): 1,000."""
    sheets = two_suppliers([{"policy": "local", "rule": "min_share", "from": "United States", "to": "D", "value": 1,
                             "basis": "quantity"},
                            {"policy": "half", "rule": "max_share", "from": "China", "to": "D", "value": 0.5,
                             "basis": "quantity"}], a_capacity=40)
    sheets["Demand"] = [{"site": "D", "item": "cells", "quantity": 100, "shortage_cost": 20}]
    return sheets


def test_compare_shows_the_demand_each_set_leaves_unmet(make_workbook, monkeypatch, capsys, tmp_path):
    path = make_workbook(**soft_demand_sets())
    code, payload, _ = run_json(monkeypatch, capsys, "compare", path, "-o", tmp_path / "c.xlsx")
    assert code == 0
    assert [(p["policy"], p["total_cost"], p["demand_unmet"], p["shortage"]) for p in payload["policies"]] == [
        ("baseline", pytest.approx(500), 0.0, 0.0), ("local", pytest.approx(1600), pytest.approx(60),
                                                     pytest.approx(1200)),
        ("half", pytest.approx(1000), pytest.approx(20), pytest.approx(400))]
    code, out, _ = run(monkeypatch, capsys, "compare", path, "-o", tmp_path / "c.xlsx")
    assert code == 0
    text = flat(out)
    assert "┃ policy ┃ demand left unmet ┃ shortage cost ┃" in text  # a table of its own: 80 columns
    assert "│ baseline │ 0 │ 0.00 │ │ local │ 60 │ 1,200.00 │ │ half │ 20 │ 400.00 │" in text
    assert ("Policy set local meets its rules partly by not delivering: 60 GWh cells left unmet (shortage cost "
            "1,200.00, discounted).") in text
    assert ("Policy set half meets its rules partly by not delivering: 20 GWh cells left unmet (shortage cost "
            "400.00, discounted).") in text
    assert "Policy set baseline" not in text
    sheet = openpyxl.load_workbook(tmp_path / "c.xlsx")["Comparison"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    unmet, shortage = header.index("demand left unmet (GWh)"), header.index("shortage cost (discounted)")
    assert [(r[0], r[unmet], r[shortage]) for r in rows[1:4]] == [("baseline", 0, 0), ("local", 60, 1200),
                                                                  ("half", 20, 400)]


def test_compare_without_demand_left_unmet_has_no_unmet_columns(make_workbook, monkeypatch, capsys, tmp_path):
    sheets = soft_demand_sets()
    sheets["Supply"][0]["capacity"] = None  # A can make all 100: every set delivers it all
    code, out, _ = run(monkeypatch, capsys, "compare", make_workbook(**sheets), "-o", tmp_path / "c.xlsx")
    assert code == 0
    assert "unmet" not in out and "shortage" not in out
    header = next(openpyxl.load_workbook(tmp_path / "c.xlsx")["Comparison"].iter_rows(values_only=True))
    assert not any("unmet" in str(h) or "shortage" in str(h) for h in header)
