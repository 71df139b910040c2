"""Infeasible plans explained by workbook row, and the prices of an optimal LP plan."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from cli_run import run_json

from optimizer import load_workbook, solve
from optimizer.compare import compare

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "ev_battery_north_america.xlsx"

SITES = [{"site": "A", "country": "United States"}, {"site": "B", "country": "China"},
         {"site": "D", "country": "United States"}, {"site": "E", "country": "United States"}]
ITEMS = [{"item": "cells", "unit": "GWh"}]


def network_sheets(**changes):
    """A (US, cost 10, cap 30) and B (China, cost 5, cap 50) serve D (60) and E (10)."""
    sheets = dict(
        Sites=SITES, Items=ITEMS,
        Supply=[{"site": "A", "item": "cells", "unit_cost": 10, "capacity": 30},
                {"site": "B", "item": "cells", "unit_cost": 5, "capacity": 50}],
        Demand=[{"site": "D", "item": "cells", "quantity": 60}, {"site": "E", "item": "cells", "quantity": 10}],
        Lanes=[{"origin": "A", "destination": "D"}, {"origin": "B", "destination": "D"},
               {"origin": "A", "destination": "E"}, {"origin": "B", "destination": "E"}],
    )
    sheets.update(changes)
    return sheets


def only(result):
    assert result.status == "infeasible" and result.total_cost is None
    assert len(result.diagnosis) == 1, result.diagnosis
    return result.diagnosis[0]


def test_unreachable_demand_names_the_demand_row(solve_sheets):
    # E (Demand row 3) has no lane at all; D (row 2) is reachable and is not named. The one finding is the
    # result's message, and the Summary's.
    result = solve_sheets(**network_sheets(Lanes=[{"origin": "A", "destination": "D"},
                                                  {"origin": "B", "destination": "D"}]))
    message = "Demand row 3 (E, cells, all): 10 GWh required, but no lane from a site supplying cells reaches it"
    assert only(result) == {"kind": "unreachable_demand", "sheet": "Demand", "row": 3, "rows": [3], "message": message,
                            "numbers": {"required": 10.0, "reachable": 0.0}}
    assert result.message == message
    assert dict(zip(result.summary["field"], result.summary["value"], strict=True))["Message"] == message


def test_capacity_shortfall_for_one_item_and_period(solve_sheets):
    # 60 + 25 = 85 required, capacities 30 + 50 = 80.
    finding = only(solve_sheets(**network_sheets(Demand=[{"site": "D", "item": "cells", "quantity": 60},
                                                         {"site": "E", "item": "cells", "quantity": 25}])))
    assert finding["kind"] == "item_capacity" and finding["rows"] == [2, 3]
    assert finding["numbers"] == {"required": 85.0, "reachable": 80.0}
    assert "Supply rows 2, 3" in finding["message"]


def test_lane_capacity_shortfall_names_the_lane(solve_sheets):
    # E is reached only through A -> E, capacity 4, while it needs 10.
    finding = only(solve_sheets(**network_sheets(Lanes=[
        {"origin": "A", "destination": "D"}, {"origin": "B", "destination": "D"},
        {"origin": "A", "destination": "E", "capacity": 4}])))
    assert (finding["sheet"], finding["row"]) == ("Demand", 3)
    assert finding["numbers"]["reachable"] == pytest.approx(4.0)
    assert finding["numbers"]["shortfall"] == pytest.approx(6.0)
    assert finding["message"].endswith("at most 4 GWh can reach it (Lanes row 4 at capacity)")


def test_competing_demands_are_found_by_the_shortfall_relaxation(solve_sheets):
    # D and E (20 each) can only be served by A (capacity 30): each alone fits, together they are
    # 10 short, although the item as a whole has capacity to spare (B serves only F).
    sheets = network_sheets(
        Sites=SITES + [{"site": "F", "country": "United States"}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 10, "capacity": 30},
                {"site": "B", "item": "cells", "unit_cost": 5, "capacity": 100}],
        Demand=[{"site": "D", "item": "cells", "quantity": 20}, {"site": "E", "item": "cells", "quantity": 20},
                {"site": "F", "item": "cells", "quantity": 10}],
        Lanes=[{"origin": "A", "destination": "D"}, {"origin": "A", "destination": "E"},
               {"origin": "B", "destination": "F"}])
    result = solve_sheets(**sheets)
    assert result.status == "infeasible"
    assert {f["kind"] for f in result.diagnosis} == {"capacity_shortfall"}
    assert {f["row"] for f in result.diagnosis} <= {2, 3}
    assert sum(f["numbers"]["shortfall"] for f in result.diagnosis) == pytest.approx(10.0)
    assert all("(Supply row 2 at capacity)" in f["message"] for f in result.diagnosis)


def test_unreachable_share_rule_gets_its_best_achievable_share(solve_sheets):
    # At most 30 of 70 units can come from the US: 42.9%.
    result = solve_sheets(policy="p", **network_sheets(Policies=[
        {"policy": "p", "rule": "min_share", "from": "United States", "value": 0.8, "basis": "quantity"}]))
    finding = only(result)
    assert (finding["sheet"], finding["row"], finding["kind"]) == ("Policies", 2, "rule_unreachable")
    assert finding["numbers"]["achievable"] == pytest.approx(30 / 70)
    assert finding["message"] == ("Policies row 2 (p, min_share all items from United States): 80.0% required, "
                                  "at most 42.9% achievable")


def test_best_share_by_value_is_exact(solve_sheets):
    # Value basis: 30 * 10 / (30 * 10 + 40 * 5) = 60%.
    finding = only(solve_sheets(policy="p", **network_sheets(Policies=[
        {"policy": "p", "rule": "min_share", "from": "United States", "value": 0.8}])))
    assert finding["numbers"]["achievable"] == pytest.approx(0.6)


def test_share_rule_per_period_names_the_period(solve_sheets):
    sheets = network_sheets(
        Periods=[{"period": 2026}, {"period": 2027}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 10, "capacity": 30},
                {"site": "A", "item": "cells", "unit_cost": 10, "capacity": 70, "period": 2027},
                {"site": "B", "item": "cells", "unit_cost": 5, "capacity": 50}],
        Policies=[{"policy": "p", "rule": "min_share", "from": "United States", "value": 0.8,
                   "basis": "quantity"}])
    finding = only(solve_sheets(policy="p", **sheets))
    assert finding["numbers"]["period"] == "2026"
    assert finding["message"].endswith("80.0% required, at most 42.9% achievable in 2026")


def test_two_rules_in_conflict(solve_sheets):
    # >= 40% from the US is possible alone (42.9%), <= 30% too (B caps at 50 of 70: 28.6%), not both.
    result = solve_sheets(policy="q", **network_sheets(Policies=[
        {"policy": "q", "rule": "min_share", "from": "United States", "value": 0.4, "basis": "quantity"},
        {"policy": "q", "rule": "max_share", "from": "United States", "value": 0.3, "basis": "quantity"}]))
    assert result.status == "infeasible"
    assert result.diagnosis and all(f["kind"] == "rule_conflict" for f in result.diagnosis)
    finding = result.diagnosis[0]
    if finding["row"] == 3:  # the max_share rule: at least 40% is unavoidable given row 2
        assert finding["numbers"]["achievable"] == pytest.approx(0.4)
        assert finding["numbers"]["achievable_without_other_rules"] == pytest.approx(20 / 70)
        assert "conflicts with the other rules (Policies row 2)" in finding["message"]
    else:  # the min_share rule: at most 30% is achievable given row 3
        assert finding["row"] == 2
        assert finding["numbers"]["achievable"] == pytest.approx(0.3)
        assert finding["numbers"]["achievable_without_other_rules"] == pytest.approx(30 / 70)
        assert "conflicts with the other rules (Policies row 3)" in finding["message"]


def test_exclusion_that_removes_needed_supply(solve_sheets):
    finding = only(solve_sheets(policy="x", **network_sheets(Policies=[
        {"policy": "x", "rule": "exclude", "from": "China"}])))
    assert (finding["sheet"], finding["row"]) == ("Policies", 2)
    assert finding["numbers"]["needed_from_excluded"] == pytest.approx(40.0)


def tightened_example():
    """The example with the AESC Florence restart taking a year, the 2026 cells rule (Policies row 2) at 100% and
    every demand a hard requirement (its shortage costs blank; with them the plan would leave cells undelivered):
    in 2026 only Ultium (10 GWh at 78) and StarPlus (8 at 84) make North American cells, against 24 GWh needed."""
    from dataclasses import replace

    network = load_workbook(EXAMPLE)
    investments = network.investments.copy()
    investments.loc[investments["option"] == "AESC_Florence_restart", "lead_time"] = 1.0
    network = replace(network, investments=investments, demand=network.demand.assign(shortage_cost=float("nan")))
    ira = network.policy("ira_30d_whatif")
    rules = tuple(r.model_copy(update={"value": 1.0}) if r.row == 2 else r for r in ira.rules)
    return network, ira.model_copy(update={"rules": rules})


def test_example_with_a_tightened_rule_is_explained():
    network, policy = tightened_example()
    finding = only(solve(network, policy))
    assert (finding["sheet"], finding["row"]) == ("Policies", 2)
    assert finding["numbers"]["period"] == "2026"
    # By value: 10 x 78 + 8 x 84 = 1,452 from North America, the other 6 GWh from LGES Wroclaw at 74 (FEOC
    # excluded): 1452 / 1896; without the other rules, from CATL Ningde at 60: 1452 / 1812.
    assert finding["numbers"]["achievable"] == pytest.approx(1452 / 1896, abs=1e-9)
    assert finding["numbers"]["achievable_without_other_rules"] == pytest.approx(1452 / 1812, abs=1e-9)
    assert finding["message"] == ("Policies row 2 (ira_30d_whatif, min_share battery_component from north_america "
                                  "in 2026): 100.0% required, at most 76.6% achievable in 2026 (80.1% without the "
                                  "other rules of this policy set)")


def test_infeasible_policy_in_comparison_carries_its_diagnosis(make_workbook):
    network = load_workbook(make_workbook(**network_sheets(Policies=[
        {"policy": "p", "rule": "min_share", "from": "United States", "value": 0.8, "basis": "quantity"}])))
    comparison = compare(network)
    table = comparison.table().set_index("policy")
    assert table.loc["p", "status"] == "infeasible"
    assert "at most 42.9% achievable" in table.loc["p", "message"]


def test_cli_writes_a_diagnosis_workbook_and_json(monkeypatch, capsys, make_workbook, tmp_path):
    path = make_workbook(**network_sheets(Policies=[
        {"policy": "p", "rule": "min_share", "from": "United States", "value": 0.8, "basis": "quantity"}]))
    out = tmp_path / "plan.xlsx"
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "-o", out, "--policy", "p")
    assert code == 1
    assert payload["status"] == "infeasible" and payload["total_cost"] is None
    assert payload["diagnosis"][0]["sheet"] == "Policies" and payload["diagnosis"][0]["row"] == 2
    assert payload["diagnosis"][0]["numbers"]["achievable"] == pytest.approx(30 / 70)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Overview", "Summary", "Diagnosis"]
    summary = dict(wb["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["Status"] == "infeasible"
    diagnosis = list(wb["Diagnosis"].iter_rows(min_row=2, values_only=True))
    assert diagnosis[0][1:3] == ("Policies", 2)


# ------------------------------------------------------------------ sensitivity


SENSITIVITY_CASE = dict(
    Sites=[{"site": s, "country": "United States"} for s in ("A", "B", "C", "D")], Items=ITEMS,
    Supply=[{"site": "A", "item": "cells", "unit_cost": 1, "capacity": 10},
            {"site": "B", "item": "cells", "unit_cost": 3},
            {"site": "C", "item": "cells", "unit_cost": 5}],
    Demand=[{"site": "D", "item": "cells", "quantity": 20}],
    Lanes=[{"origin": o, "destination": "D"} for o in ("A", "B", "C")])


def test_shadow_prices_ranges_and_reduced_costs_by_hand(solve_sheets):
    # A (cost 1, capacity 10) and B (cost 3) meet demand 20: A's capacity saves 3 - 1 = 2 per unit
    # while it lies in [0, 20]; one more unit of demand costs 3 (from B); C (5) must get 2 cheaper.
    result = solve_sheets(**SENSITIVITY_CASE)
    assert result.total_cost == pytest.approx(40.0)
    table = result.sensitivity.set_index("source")
    capacity = table.loc["Supply row 2"]
    assert capacity["kind"] == "supply capacity"
    assert (capacity["price"], capacity["range_low"], capacity["range_high"]) == pytest.approx((2.0, 0.0, 20.0))
    demand = table.loc["Demand row 2"]
    assert demand["price"] == pytest.approx(3.0)
    assert demand["range_low"] == pytest.approx(10.0)
    unused = table.loc["Supply row 4"]
    assert unused["kind"] == "unused supply" and unused["price"] == pytest.approx(2.0)


def test_lane_capacity_shadow_price(solve_sheets):
    sheets = dict(SENSITIVITY_CASE, Supply=[{"site": "A", "item": "cells", "unit_cost": 1},
                                            {"site": "B", "item": "cells", "unit_cost": 3}],
                  Lanes=[{"origin": "A", "destination": "D", "capacity": 15}, {"origin": "B", "destination": "D"}])
    row = solve_sheets(**sheets).sensitivity.set_index("source").loc["Lanes row 2"]
    assert row["kind"] == "lane capacity (all items)"
    assert (row["price"], row["range_low"], row["range_high"]) == pytest.approx((2.0, 0.0, 20.0))


def test_cbc_gives_prices_but_says_it_has_no_ranges(solve_sheets):
    table = solve_sheets(solver="cbc", **SENSITIVITY_CASE).sensitivity.set_index("source")
    assert table.loc["Supply row 2", "price"] == pytest.approx(2.0)
    assert pd_isna(table.loc["Supply row 2", "range_high"])
    assert "not available with CBC" in table.loc["Supply row 2", "note"]


def pd_isna(value) -> bool:
    return value != value


def test_sensitivity_sheet_in_the_plan(tmp_path, make_workbook):
    from optimizer import write_plan

    path = make_workbook(**SENSITIVITY_CASE)
    result = solve(load_workbook(path))
    written = write_plan(result, tmp_path / "plan.xlsx", inputs=[path])
    ws = openpyxl.load_workbook(written)["Sensitivity"]
    header = [c.value.removesuffix(" (discounted)") for c in ws[1]]  # a price is a change of the total cost
    rows = {r[header.index("source")]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["Supply row 2"][header.index("price")] == pytest.approx(2.0)


def test_an_infeasible_plan_with_stock_is_explained_by_its_shortfall(make_workbook, monkeypatch, capsys, tmp_path):
    # A (520 at 1) and B (260 at 2) serve P (900); P holds 20 units of initial stock: 800 can reach it, 100 short.
    # Diagnosis used to fail on the stock columns among the demand row's terms (KeyError), after a numpy
    # RuntimeWarning on the rows without an upper bound.
    import warnings

    path = make_workbook(
        Sites=[{"site": s, "country": "United States"} for s in ("A", "B", "P")], Items=[{"item": "c"}],
        Supply=[{"site": "A", "item": "c", "capacity": 520, "unit_cost": 1},
                {"site": "B", "item": "c", "capacity": 260, "unit_cost": 2}],
        Demand=[{"site": "P", "item": "c", "quantity": 900}],
        Lanes=[{"origin": "A", "destination": "P"}, {"origin": "B", "destination": "P"}],
        Inventory=[{"site": "P", "item": "c", "initial": 20}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing but the tool's own messages may reach the user
        finding = only(solve(load_workbook(path)))
    assert finding["kind"] == "capacity_shortfall" and finding["row"] == 2
    assert finding["numbers"] == {"required": 900.0, "reachable": pytest.approx(800.0),
                                  "shortfall": pytest.approx(100.0)}
    assert finding["message"] == ("Demand row 2 (P, c, all): 900 required, at most 800 can reach it while the other "
                                  "demand is served (Supply rows 2, 3 at capacity; 20 of it from initial stock)")
    from cli_run import run

    code, out, err = run(monkeypatch, capsys, "solve", path, "-o", tmp_path / "plan.xlsx")
    assert code == 1 and "unexpected failure" not in out + err and "warning" not in err.lower()
    assert "at most 800 can reach it" in " ".join(out.split())


def test_every_solve_of_the_diagnosis_gets_the_commands_options(make_workbook, monkeypatch):
    # Two rules in conflict: the rule relaxation and Dinkelbach's best shares each run HiGHS. Each gets the
    # command's options (MIP gap here; threads alike) and what is left of its time limit, never more.
    import optimizer.highs as highs
    from optimizer.options import SolverOptions

    seen = []
    new_highs = highs.new_highs

    def spy(options):
        seen.append(options)
        return new_highs(options)

    monkeypatch.setattr(highs, "new_highs", spy)
    sheets = network_sheets(Policies=[
        {"policy": "q", "rule": "min_share", "from": "United States", "value": 0.4, "basis": "quantity"},
        {"policy": "q", "rule": "max_share", "from": "United States", "value": 0.3, "basis": "quantity"}])
    options = SolverOptions(time_limit=60.0, mip_gap=0.05)
    result = solve(load_workbook(make_workbook(**sheets)), "q", options=options)
    assert result.status == "infeasible" and result.diagnosis
    auxiliary = seen[1:]  # the first instance is the solve itself
    assert len(auxiliary) >= 3
    assert all(o.mip_gap == 0.05 and not o.verbose for o in auxiliary)
    limits = [o.time_limit for o in auxiliary]
    assert all(0 < t <= 60.0 for t in limits) and limits == sorted(limits, reverse=True)


def test_a_diagnosis_out_of_time_says_so_after_the_reasons_it_found(make_workbook):
    import time

    from optimizer.diagnosis import diagnose
    from optimizer.formulation import build_formulation
    from optimizer.options import Deadline, SolverOptions

    network = load_workbook(make_workbook(**network_sheets(Policies=[
        {"policy": "q", "rule": "min_share", "from": "United States", "value": 0.4, "basis": "quantity"},
        {"policy": "q", "rule": "max_share", "from": "United States", "value": 0.3, "basis": "quantity"}])))
    spent = Deadline(SolverOptions(time_limit=5.0), ends=time.perf_counter() - 1.0)
    findings = diagnose(build_formulation(network, "q"), spent)
    assert [f.kind for f in findings] == ["time_limit"]
    assert findings[0].message == "the time limit (5 s) stopped the search for reasons before it was complete"


def test_one_more_unit_of_capacity_is_priced_one_sided(make_workbook, tmp_path):
    # A (10 at 1) and C (5 at 2) serve P's 15 together; B sells any amount at 3. Both capacities bind, degenerately:
    # a unit less of A costs 2 (B replaces it) but a unit more saves only 1 (it replaces C); a unit less of C
    # costs 1, a unit more saves nothing. The shadow price is the first; the Overview must say the second.
    import openpyxl

    from optimizer.writing.plan import write_plan

    path = make_workbook(
        Sites=[{"site": s, "country": "United States"} for s in "ABCP"], Items=[{"item": "cells", "unit": "GWh"}],
        Supply=[{"site": "A", "item": "cells", "capacity": 10, "unit_cost": 1},
                {"site": "B", "item": "cells", "unit_cost": 3},
                {"site": "C", "item": "cells", "capacity": 5, "unit_cost": 2}],
        Demand=[{"site": "P", "item": "cells", "quantity": 15}],
        Lanes=[{"origin": s, "destination": "P"} for s in "ABC"])
    result = solve(load_workbook(path))
    assert result.total_cost == pytest.approx(20.0)
    capacity = result.sensitivity[result.sensitivity["kind"] == "supply capacity"].set_index("site")
    assert capacity.loc["A", ["price", "one_more"]].tolist() == [pytest.approx(2.0), pytest.approx(1.0)]
    assert capacity.loc["C", ["price", "one_more"]].tolist() == [pytest.approx(1.0), pytest.approx(0.0)]
    wb = openpyxl.load_workbook(write_plan(result, tmp_path / "plan.xlsx"))
    facts = [row[1] for row in wb["Overview"].iter_rows(min_row=2, values_only=True) if str(row[0]).startswith("fact")]
    assert "At capacity: A makes cells (Supply row 2) at its capacity in every period; one more GWh of capacity a " \
           "period would save 1.00 (discounted) (one GWh less would cost 2.00 (discounted))" in facts, facts


def test_a_capacity_of_zero_is_not_at_capacity_in_the_overview(make_workbook, tmp_path):
    # A is shut in 2026 (capacity 0) and restarts in 2027 with 4; C is shut throughout. Both zero capacities bind
    # with a price (B at 3 replaces A at 1, C at 2), but a plant with no capacity is not "at its capacity": the
    # Overview names A in 2027 only, and C not at all.
    import openpyxl

    from optimizer.writing.plan import write_plan

    path = make_workbook(
        Sites=[{"site": s, "country": "United States"} for s in "ABCP"], Items=[{"item": "cells", "unit": "GWh"}],
        Supply=[{"site": "A", "item": "cells", "period": 2026, "capacity": 0, "unit_cost": 1},
                {"site": "A", "item": "cells", "period": 2027, "capacity": 4, "unit_cost": 1},
                {"site": "B", "item": "cells", "unit_cost": 3},
                {"site": "C", "item": "cells", "capacity": 0, "unit_cost": 2}],
        Demand=[{"site": "P", "item": "cells", "quantity": 5}],
        Lanes=[{"origin": s, "destination": "P"} for s in "ABC"],
        Periods=[{"period": 2026}, {"period": 2027}])
    result = solve(load_workbook(path))
    assert result.total_cost == pytest.approx(15.0 + 4.0 + 3.0)
    capacity = result.sensitivity[result.sensitivity["kind"] == "supply capacity"]
    assert sorted(zip(capacity["site"], capacity["period"].astype(str), capacity["price"] > 0.5, strict=True)) == [
        ("A", "2026", True), ("A", "2027", True), ("C", "2026", True), ("C", "2027", True)]
    wb = openpyxl.load_workbook(write_plan(result, tmp_path / "plan.xlsx"))
    facts = [row[1] for row in wb["Overview"].iter_rows(min_row=2, values_only=True) if str(row[0]).startswith("fact")]
    at_capacity = [f for f in facts if f.startswith("At capacity")]
    assert at_capacity == ["At capacity: A makes cells (Supply row 3) at its capacity in 2027; one more GWh of "
                           "capacity a period would save 2.00 (2027) (discounted)"], facts
