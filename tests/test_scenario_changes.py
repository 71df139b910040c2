"""Scenario changes that say what analysts mean (issue 22, points 10 and 11): a scenario changes a Tariffs rate or
a Policies value, and a `period` selector takes a range (`2027:`, `:2028`, `2027:2029`). Every cost is worked out
by hand in the docstrings."""

from __future__ import annotations

import random

import pytest
from cli_run import run, run_json
from networks import US, network, sites

from models.problems import WorkbookError
from optimizer import solve

PERIODS = [{"period": 2026}, {"period": 2027}, {"period": 2028}]


def imports(*changes, scenarios=None, **extra) -> dict:
    """Three periods; P (US) needs 10 cells a period. CN (China) sells them at 100, lane 5, with a 10% duty into
    the United States: 115 landed; U (US) at 120, lane 2: 122. Baseline: CN, 1,150 a period, 3,450 in all.
    Policy set `ira`: at least half of P's cells from U, one Policies row per period (rows 2-4): 5 from U and 5
    from CN, 610 + 575 = 1,185 a period."""
    sheets = dict(
        Sites=sites("CN", country="China") + sites("U", "P"), Items=[{"item": "cells", "category": "battery"}],
        Periods=PERIODS,
        Supply=[{"site": "CN", "item": "cells", "unit_cost": 100}, {"site": "U", "item": "cells", "unit_cost": 120}],
        Demand=[{"site": "P", "item": "cells", "quantity": 10}],
        Lanes=[{"origin": "CN", "destination": "P", "unit_cost": 5}, {"origin": "U", "destination": "P",
                                                                       "unit_cost": 2}],
        Tariffs=[{"origin": "China", "destination": "United States", "rate": 0.1}],
        Policies=[{"policy": "ira", "rule": "min_share", "items": "cells", "from": "U", "to": "P", "value": 0.5,
                   "basis": "quantity", "period": p["period"]} for p in PERIODS],
        Scenarios=scenarios or [{"scenario": "S", "policy": "ira"}],
        ScenarioChanges=[{"scenario": "S", **c} for c in changes])
    sheets.update(extra)
    return sheets


def cost(world) -> float:
    result = solve(world, world.scenario_policy or "baseline")
    assert result.status == "optimal"
    return result.total_cost


def duty(world, origin: str, period: str, item: str = "cells", destination: str = "P") -> float:
    """The duty on a flow: the rates of every Tariffs record that applies, added up (as the contract says)."""
    return sum(t.rate for t in world.tariffs if origin in t.origins and destination in t.destinations
               and item in t.items and t.period in (None, period))


def problems_of(sheets) -> dict[tuple, str]:
    with pytest.raises(WorkbookError) as caught:
        network(**sheets)
    return {(p.sheet, p.row, p.column): p.message for p in caught.value.problems}


# ------------------------------------------------------------------ Tariffs


def test_a_tariff_doubled_from_2027_changes_the_optimal_cost_by_the_hand_computed_amount():
    # From 2027 CN's duty is 20%: 100 + 5 + 20 = 125 > 122, so U delivers: 1,150 + 2 x 1,220 = 3,590, 140 more
    # than the baseline's 3,450 (7 a unit on 10 units in 2 periods).
    sheets = imports({"sheet": "Tariffs", "column": "rate", "origin": "China", "period": "2027:", "multiply": 2},
                     scenarios=[{"scenario": "S"}])
    base = network(**sheets)
    world = base.in_scenario("S")
    assert cost(base) == pytest.approx(3450.0)
    assert cost(world) == pytest.approx(3590.0)
    assert [duty(world, "CN", p) for p in ("2026", "2027", "2028")] == [0.1, 0.2, 0.2]
    assert [duty(base, "CN", p) for p in ("2026", "2027", "2028")] == [0.1, 0.1, 0.1]  # the workbook is unchanged


def test_a_tariffs_change_acts_on_the_duty_the_rows_add_up_to_and_only_where_it_selects():
    # Row 2: 5% on everything from China and Korea; row 3: 5% more on Chinese cells (they add up: 10%).
    tariffs = [{"origin": "China;South Korea", "rate": 0.05}, {"origin": "China", "item": "cells", "rate": 0.05}]
    extra = dict(Sites=sites("CN", country="China") + sites("KR", country="South Korea") + sites("U", "P"),
                 Items=[{"item": "cells", "category": "battery"}, {"item": "cam"}], Tariffs=tariffs)

    def world(change):
        return network(**imports(change, scenarios=[{"scenario": "S"}], **extra)).in_scenario("S")

    # add: once on the duty of Chinese cells (10% -> 20%), not once per row; Korea keeps its 5%
    added = world({"sheet": "Tariffs", "column": "rate", "origin": "CN", "item": "cells", "add": 0.1})
    assert duty(added, "CN", "2027") == pytest.approx(0.2) and duty(added, "KR", "2027") == pytest.approx(0.05)
    assert duty(added, "CN", "2027", item="cam") == pytest.approx(0.05)
    # set: the duty from China in 2027 only becomes 30% on every item, whatever the rows were
    put = world({"sheet": "Tariffs", "column": "rate", "origin": "China", "period": 2027, "set": 0.3})
    assert [duty(put, "CN", p) for p in ("2026", "2027", "2028")] == pytest.approx([0.1, 0.3, 0.1])
    assert duty(put, "CN", "2027", item="cam") == pytest.approx(0.3)
    assert [duty(put, "KR", p) for p in ("2026", "2027", "2028")] == pytest.approx([0.05, 0.05, 0.05])
    # multiply: every duty it selects, here Korea's (row 2's Korean part) from 2028
    tripled = world({"sheet": "Tariffs", "column": "rate", "origin": "KR", "period": "2028:", "multiply": 3})
    assert [duty(tripled, "KR", p) for p in ("2027", "2028")] == pytest.approx([0.05, 0.15])
    assert duty(tripled, "CN", "2028") == pytest.approx(0.1)


@pytest.mark.parametrize("seed", range(12))
def test_tariffs_changes_match_the_duty_worked_out_flow_by_flow(seed):
    """Random overlapping Tariffs rows and a random change: every (origin, destination, item, period) the change
    selects where some row applies gets op(the rows' rates added up); every other keeps its duty."""
    rng = random.Random(seed)
    countries = {"CN": "China", "CN2": "China", "K": "South Korea", "U": US, "U2": US}
    extra = dict(Sites=[{"site": s, "country": c} for s, c in countries.items()] + sites("P"),
                 Items=[{"item": "cells", "category": "battery"}, {"item": "cam", "category": "battery"}])

    def some(names):
        return ";".join(rng.sample(names, rng.randint(1, 2))) if rng.random() < 0.7 else None

    places = ["China", "South Korea", "CN", "K", "U"]
    tariffs = [{"origin": some(places) or "China", "destination": some(["United States", "U2", "P"]),
                "item": some(["cells", "cam"]), "period": rng.choice([None, 2026, 2027, 2028]),
                "rate": rng.choice([0.05, 0.1, 0.25])} for _ in range(rng.randint(1, 4))]
    operation = rng.choice([("multiply", 2.0), ("add", 0.1), ("set", 0.3)])
    change = {"sheet": "Tariffs", "column": "rate", "origin": some(places), "destination": some(["P", "U2"]),
              "item": some(["cells", "cam"]), "period": rng.choice([None, "2027", "2027:", ":2027", "2026:2027"]),
              operation[0]: operation[1]}
    base = network(**imports(scenarios=[{"scenario": "S"}], Tariffs=tariffs, **extra))
    try:
        world = network(**imports(change, scenarios=[{"scenario": "S"}], Tariffs=tariffs, **extra)).in_scenario("S")
    except WorkbookError as error:
        assert [p.message for p in error.problems] == ["matches no Tariffs row (scenario 'S')"]
        world = None
    vocab = base.sites
    chosen = {key: None if change[key] is None else
              {s for s in vocab if s in change[key].split(";") or
               any(base.sites[s].country == t for t in change[key].split(";"))}
              for key in ("origin", "destination")}
    periods = {None: {"2026", "2027", "2028"}, "2027": {"2027"}, "2027:": {"2027", "2028"}, ":2027": {"2026", "2027"},
               "2026:2027": {"2026", "2027"}}[change["period"]]
    touched = 0
    for origin in countries:
        for destination in ("P", "U2"):
            for item in ("cells", "cam"):
                for period in ("2026", "2027", "2028"):
                    old = duty(base, origin, period, item, destination)
                    covered = any(origin in t.origins and destination in t.destinations and item in t.items
                                  and t.period in (None, period) for t in base.tariffs)
                    selected = ((chosen["origin"] is None or origin in chosen["origin"])
                                and (chosen["destination"] is None or destination in chosen["destination"])
                                and (change["item"] is None or item in change["item"].split(";"))
                                and period in periods)
                    if not (covered and selected):
                        if world is not None:
                            assert duty(world, origin, period, item, destination) == pytest.approx(old)
                        continue
                    touched += 1
                    name, value = operation
                    new = old * value if name == "multiply" else old + value if name == "add" else value
                    assert duty(world, origin, period, item, destination) == pytest.approx(new)
    assert (world is None) == (touched == 0)


# ------------------------------------------------------------------ Policies


def test_a_min_share_moved_from_half_to_70_percent_from_2027_gives_the_hand_computed_cost():
    # ira: 5 from U and 5 from CN, 1,185 a period: 3,555. From 2027 at least 7 from U: 854 + 3 x 115 = 1,199:
    # 1,185 + 2 x 1,199 = 3,583.
    base = network(**imports({"sheet": "Policies", "column": "value", "policy": "ira", "rule": "min_share",
                              "period": "2027:", "set": 0.7}))
    assert solve(base, "ira").total_cost == pytest.approx(3555.0)
    world = base.in_scenario("S")
    assert [r.value for r in world.policy("ira").rules] == [0.5, 0.7, 0.7]
    assert [r.value for r in base.policy("ira").rules] == [0.5, 0.5, 0.5]
    assert cost(world) == pytest.approx(3583.0)


def test_solve_scenario_sees_the_changed_rules_and_tariffs(make_workbook, tmp_path, monkeypatch, capsys):
    # Both changes: from 2027 at least 7 from U, and CN at 120 landed: 1,185 + 2 x (854 + 360) = 3,613 (3,583
    # with the rule change alone, 3,605 with the duty change alone).
    path = make_workbook(**imports(
        {"sheet": "Policies", "column": "value", "period": "2027:2028", "multiply": 1.4},
        {"sheet": "Tariffs", "column": "rate", "period": "2027:", "add": 0.05}))
    code, payload, _ = run_json(monkeypatch, capsys, "solve", path, "--scenario", "S", "-o", tmp_path / "s.xlsx")
    assert code == 0 and payload["policy"] == "ira" and payload["total_cost"] == pytest.approx(3613.0)


def test_how_item_site_policy_and_rule_select_policies_rules():
    """Rows 2-4: ira min_share cells into P; 5: ira exclude (no value); 6: caps max_share of every item into Q;
    7: caps credit of 3 on cells from U, `to` blank (every site)."""
    policies = imports()["Policies"] + [
        {"policy": "ira", "rule": "exclude", "from": "CN", "to": "Q"},
        {"policy": "caps", "rule": "max_share", "from": "CN", "to": "Q", "value": 0.9},
        {"policy": "caps", "rule": "credit", "items": "cells", "from": "U", "value": 3}]

    def values(change):
        world = network(**imports(change, Policies=policies, Sites=sites("CN", country="China")
                                  + sites("U", "P", "Q"))).in_scenario("S")
        return {r.row: r.value for name in ("ira", "caps") for r in world.policy(name).rules}

    # item: every rule whose items include cells (a blank item list includes every item); exclude has no value
    assert values({"sheet": "Policies", "column": "value", "item": "battery", "add": 0.1}) == pytest.approx(
        {2: 0.6, 3: 0.6, 4: 0.6, 5: None, 6: 1.0, 7: 3.1})
    # site: the rules whose `to` selects P (a blank `to` selects every site), not the max_share into Q
    assert values({"sheet": "Policies", "column": "value", "site": "P", "multiply": 2}) == pytest.approx(
        {2: 1.0, 3: 1.0, 4: 1.0, 5: None, 6: 0.9, 7: 6.0})
    # policy and rule: a set other than the scenario's (ira) may change too
    assert values({"sheet": "Policies", "column": "value", "policy": "CAPS", "rule": "credit", "set": 5}) == \
        pytest.approx({2: 0.5, 3: 0.5, 4: 0.5, 5: None, 6: 0.9, 7: 5.0})


# ------------------------------------------------------------------ period ranges on every sheet


def test_period_ranges_on_supply_and_demand():
    # Demand 15 up to 2027; CN's cost x 1.2 in 2027 and 2028 (120 + 5 + 12 = 137 > 122: U delivers then):
    # 15 x 115 + 15 x 122 + 10 x 122 = 4,775.
    world = network(**imports({"sheet": "Demand", "column": "quantity", "period": ":2027", "add": 5},
                              {"sheet": "Supply", "column": "unit_cost", "site": "CN", "period": "2027:2028",
                               "multiply": 1.2},
                              scenarios=[{"scenario": "S"}])).in_scenario("S")
    assert world.demand["quantity"].tolist() == [15.0, 15.0, 10.0]
    assert world.supply.loc[world.supply["site"] == "CN", "unit_cost"].tolist() == pytest.approx([100, 120, 120])
    assert cost(world) == pytest.approx(4775.0)


def test_a_range_over_every_period_is_every_period_and_a_lone_period_is_that_period():
    world = network(**imports({"sheet": "Lanes", "column": "unit_cost", "origin": "U", "period": "2026:2028",
                               "add": 1}, {"sheet": "Lanes", "column": "unit_cost", "origin": "CN",
                                           "period": "2027", "add": 1})).in_scenario("S")
    lanes = world.lanes.set_index(["origin", "period"])["unit_cost"]
    assert lanes.to_dict() == {("CN", "2026"): 5.0, ("CN", "2027"): 6.0, ("CN", "2028"): 5.0,
                               ("U", "2026"): 3.0, ("U", "2027"): 3.0, ("U", "2028"): 3.0}


# ------------------------------------------------------------------ errors name the ScenarioChanges cell


def test_bad_ranges_policies_and_rules_name_their_cells():
    bad = [
        {"sheet": "Demand", "column": "quantity", "period": "2027:2031", "add": 1},                         # row 2
        {"sheet": "Demand", "column": "quantity", "period": "2028:2026", "add": 1},                         # row 3
        {"sheet": "Demand", "column": "quantity", "period": ":", "add": 1},                                 # row 4
        {"sheet": "Policies", "column": "value", "policy": "iraa", "add": 0.1},                             # row 5
        {"sheet": "Policies", "column": "value", "rule": "min_shares", "add": 0.1},                         # row 6
        {"sheet": "Policies", "column": "value", "rule": "exclude", "add": 0.1},                            # row 7
        {"sheet": "Policies", "column": "basis", "set": 1},                                                 # row 8
        {"sheet": "Supply", "column": "unit_cost", "policy": "ira", "set": 1},                              # row 9
        {"sheet": "Tariffs", "column": "rate", "site": "CN", "set": 1},                                     # row 10
        {"sheet": "Demand", "column": "quantity", "period": "2029", "add": 1},                              # row 11
        {"sheet": "Policies", "column": "value", "policy": "carbon", "add": 0.1},                           # row 12
    ]
    sheets = imports(*bad, Policies=imports()["Policies"] + [{"policy": "tariff_hike", "rule": "tariff",
                                                              "from": "China", "value": 0.1}])
    assert problems_of(sheets) == {
        ("ScenarioChanges", 2, "period"): "'2031' (in '2027:2031') is not a period in Periods",
        ("ScenarioChanges", 3, "period"): "'2028:2026': 2028 comes after 2026 in the period order",
        ("ScenarioChanges", 4, "period"): "':' names no period: give a start (2027:), an end (:2028) or both "
                                          "(2027:2029)",
        ("ScenarioChanges", 5, "policy"): "'iraa' is not a policy set; did you mean 'ira'?",
        ("ScenarioChanges", 6, "rule"): "'min_shares' is not a rule type; did you mean 'min_share'?",
        ("ScenarioChanges", 7, "rule"): "exclude rules have no value to change (their value is ignored or fixed)",
        ("ScenarioChanges", 8, "column"): "'basis' is not a number column of Policies; expected one of: value",
        ("ScenarioChanges", 9, "policy"): "policy does not apply to Supply (it matches rows of Policies)",
        ("ScenarioChanges", 10, "site"): "site does not apply to Tariffs (it matches rows of Supply, Demand, "
                                         "Investments, Inventory, Policies)",
        ("ScenarioChanges", 11, "period"): "'2029' is not a period in Periods",
        ("ScenarioChanges", 12, "policy"): "'carbon' is not a policy set; the workbook has: baseline, ira, "
                                          "tariff_hike",
    }


def test_changed_values_are_validated_like_input_naming_the_change_row():
    policies = imports()["Policies"] + [
        {"policy": "ira", "rule": "min_suppliers", "items": "cells", "to": "P", "value": 1},          # row 5
        {"policy": "flat", "rule": "min_share", "items": "cells", "from": "U", "to": "P", "value": 0.5}]  # row 6
    changes = [
        {"sheet": "Policies", "column": "value", "rule": "min_share", "policy": "ira", "multiply": 2.5},  # row 2
        {"sheet": "Policies", "column": "value", "rule": "min_suppliers", "multiply": 1.5},               # row 3
        {"sheet": "Tariffs", "column": "rate", "add": -0.2},                                             # row 4
        {"sheet": "Tariffs", "column": "rate", "origin": "U", "set": 0.1},                               # row 5
        {"sheet": "Policies", "column": "value", "site": "CN", "set": 0.1},                              # row 6
        {"sheet": "Policies", "column": "value", "policy": "flat", "period": "2027:", "set": 0.6},       # row 7
    ]
    assert problems_of(imports(*changes, Policies=policies)) == {
        ("ScenarioChanges", 2, "multiply"): "it would make Policies row 2, column value 1.25: expected a fraction "
                                            "in [0, 1] for a min_share rule",
        ("ScenarioChanges", 3, "multiply"): "it would make Policies row 5, column value 1.5: expected a whole "
                                            "number >= 0 for a min_suppliers rule",
        ("ScenarioChanges", 4, "add"): "it would make the duty on flows of Tariffs row 2 -0.1 (the rates of the "
                                       "Tariffs rows that apply added up): expected a number >= 0",
        ("ScenarioChanges", 5, "origin"): "matches no Tariffs row (scenario 'S')",
        ("ScenarioChanges", 6, "site"): "matches no Policies rule with a value (scenario 'S')",
        ("ScenarioChanges", 7, "period"): "Policies row 6 (flat, min_share cells from U into P) covers every "
                                          "period, so it cannot change in 2027, 2028 only: give that rule one "
                                          "Policies row per period, or narrow this change with policy or rule",
    }


def test_validate_names_the_change_cell_in_the_terminal(make_workbook, monkeypatch, capsys):
    path = make_workbook(**imports({"sheet": "Policies", "column": "value", "rule": "min_share", "set": 1.5}))
    code, out, err = run(monkeypatch, capsys, "validate", path)
    assert code == 2
    assert "ScenarioChanges row 2, column set: it would make Policies row 2, column value 1.5: expected a fraction " \
           "in [0, 1] for a min_share rule" in " ".join(err.split())


# ------------------------------------------------------------------ robust over such scenarios


def test_robust_over_tariff_and_policy_scenarios(make_workbook, tmp_path, monkeypatch, capsys):
    """Add an option to build R (US): 10 cells a period at 110 (lane 2: 112 landed), capex 100.
    status_quo (0.4, baseline): CN at 115 saves 3 a unit on R: 90 < 100, no build: 3,450; built: 3,460.
    tariff_shock (0.4): Chinese duty doubled from 2027 (CN 125, U 122): built in 2026, 3 x 1,120 + 100 = 3,460;
    not built 3,590.
    ira_tight (0.2, ira at 0.7 from 2027): not built 1,185 + 2 x 1,199 = 3,583; built 1,170 + 2 x 1,190 + 100 =
    3,650.
    Expected: built in 2026 0.4 x 3,460 x 2 + 0.2 x 3,650 = 3,498 (in 2027: 3,525); never 3,532.6.
    Wait and see: 0.4 x 3,450 + 0.4 x 3,460 + 0.2 x 3,583 = 3,480.6: EVPI 17.4."""
    sheets = imports(
        scenarios=[{"scenario": "status_quo", "probability": 0.4},
                   {"scenario": "tariff_shock", "probability": 0.4},
                   {"scenario": "ira_tight", "probability": 0.2, "policy": "ira"}],
        Sites=sites("CN", country="China") + sites("U", "P", "R"),
        Lanes=imports()["Lanes"] + [{"origin": "R", "destination": "P", "unit_cost": 2}],
        Investments=[{"option": "Reshore", "site": "R", "item": "cells", "capacity": 10, "unit_cost": 110,
                      "capex": 100}])
    sheets["ScenarioChanges"] = [
        {"scenario": "tariff_shock", "sheet": "Tariffs", "column": "rate", "origin": "China", "period": "2027:",
         "multiply": 2},
        {"scenario": "ira_tight", "sheet": "Policies", "column": "value", "rule": "min_share", "period": "2027:",
         "set": 0.7}]
    code, payload, _ = run_json(monkeypatch, capsys, "robust", make_workbook(**sheets), "-o", tmp_path / "r.xlsx")
    assert code == 0
    assert payload["objective_value"] == pytest.approx(3498.0) and payload["evpi"] == pytest.approx(17.4)
    assert {s["scenario"]: s["wait_and_see_cost"] for s in payload["scenarios"]} == pytest.approx(
        {"status_quo": 3450.0, "tariff_shock": 3460.0, "ira_tight": 3583.0})
    assert payload["plans"][0]["decisions"] == {"Reshore": "2026"}
    assert payload["plans"][0]["costs"] == pytest.approx(
        {"status_quo": 3460.0, "tariff_shock": 3460.0, "ira_tight": 3650.0})
