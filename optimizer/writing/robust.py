"""The robust workbook (``sourcing robust``): the Overview (first: what to build, and when, as commitments made
now and held in every scenario; how the plan fares in each scenario, its worst case and its largest regret; EVPI
and the value of hedging; the regret chart), Summary (objective, EVPI, value of hedging), Scenarios, Decisions,
Plans x scenarios with a clustered bar chart of each plan's cost in each scenario, Regret (each plan's cost in
each scenario beyond the best plan for that scenario alone, with its chart: the differences that matter are
small against the costs), and the robust plan's Flows, Utilization and Compliance in every scenario, stacked with
a ``scenario`` column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.network import IMPLICIT_PERIOD
from optimizer.robust import RobustResult, decisions_table, matrix, scenario_table, stacked
from optimizer.rules import COMPLIANCE_COLUMNS
from optimizer.writing.charts import bar_chart, plot_rows
from optimizer.writing.overview import MAX_OPTIONS, Line, write_overview
from optimizer.writing.plan import summary_style, write_flows
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import (
    DISCOUNTED,
    FORMATS,
    MONEY,
    PERCENT,
    Labels,
    add_chart,
    reference,
    streaming_workbook,
    write_table,
)

OBJECTIVE_TEXT = {"expected": "expected cost (sum over scenarios of probability x cost)",
                  "worst": "worst-case cost (the largest cost over the scenarios)",
                  "regret": "maximum regret (the largest cost - wait-and-see cost over the scenarios)"}
#: At most this many scenarios get a line of their own on the Overview (the worst case and the largest regret
#: always do).
MAX_SCENARIOS = 8
#: Costs closer than this (relative) are equal: a regret below it is none.
TOLERANCE = 1e-6


def summary(result: RobustResult) -> pd.DataFrame:
    """The Summary sheet's rows."""
    robust_plan = result.robust
    figures = robust_plan.figures(result.probability(), result.ws_costs()) if robust_plan else {}
    rows = [("Workbook", result.network.source or ""), ("Status", result.status),
            ("Objective", OBJECTIVE_TEXT[result.objective]),
            ("Objective value", result.objective_value),
            ("Scenarios", len(result.network.scenarios)),
            ("Robust plan: expected cost", figures.get("expected_cost")),
            ("Robust plan: worst-case cost", figures.get("worst_cost")),
            ("Robust plan: maximum regret", figures.get("max_regret")),
            ("EVPI (expected value of perfect information)", result.evpi),
            ("Value of hedging", result.value_of_hedging if result.value_of_hedging is not None
             else result.hedging_note or None)]
    if result.model is not None:
        # no run times here: the same workbook gives the same bytes (they are in --json stats)
        rows += [("Robust model size", f"{result.model.variables:,} variables x {result.model.constraints:,} rows")]
    if result.message:
        rows.append(("Message", result.message))
    return pd.DataFrame(rows, columns=["field", "value"])


def regret_table(result: RobustResult) -> pd.DataFrame:
    """The Regret sheet: each plan's cost in each scenario less the wait-and-see cost there (blank where the plan
    has no plan), and its maximum regret."""
    costs = matrix(result)
    names = list(result.network.scenarios)
    ws = result.ws_costs()
    table = pd.DataFrame({"plan": costs["plan"]})
    for name in names:
        table[name] = pd.to_numeric(costs[name], errors="coerce") - ws[name]
    table["max_regret"] = costs["max_regret"]
    return table


def write_robust(result: RobustResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the robust analysis to a new workbook at ``path``: the Overview first."""
    path = check_output_path(path, list(inputs))
    labels = Labels.of(result.network, f"robust plan ({result.objective} cost)")
    names = list(result.network.scenarios)
    with streaming_workbook(labels) as wb:
        rows = summary(result)
        money = [isinstance(v, float) and not f.startswith("Scenarios") for f, v in
                 zip(rows["field"], rows["value"], strict=True)]
        rows["field"] = [labels.money(f, DISCOUNTED) if m else f for f, m in zip(rows["field"], money, strict=True)]
        ws_summary = write_table(wb, "Summary", rows, row_style=summary_style, one_page=True)
        scenarios = scenario_table(result)
        ws_scenarios = write_table(wb, "Scenarios", scenarios,
                                   {**FORMATS, "probability": PERCENT, "wait_and_see_cost": MONEY,
                                    "robust_cost": MONEY, "regret": MONEY},
                                   {"wait_and_see_cost": "wait-and-see cost", "robust_cost": "robust plan's cost"})
        ws_decisions = write_table(wb, "Decisions", decisions_table(result)) if len(result.network.investments) \
            else None
        table = matrix(result)
        chart = None
        if len(table):
            money_formats = {**FORMATS, **dict.fromkeys([*names, "expected_cost", "worst_cost", "max_regret"], MONEY)}
            ws = write_table(wb, "Plans x scenarios", table, money_formats,
                             {"expected_cost": "expected cost", "worst_cost": "worst-case cost",
                              "max_regret": "maximum regret"}, basis=dict.fromkeys(names, DISCOUNTED))
            costs = bar_chart("Each plan's cost in each scenario", labels.money("total cost", DISCOUNTED))
            costs.grouping = "clustered"
            plot_rows(ws, costs, 0, len(table) - 1, "plan", names)
            add_chart(ws, costs)
            regret = regret_table(result)
            ws_regret = write_table(wb, "Regret", regret, money_formats, {"max_regret": "maximum regret"},
                                    basis=dict.fromkeys(names, DISCOUNTED))
            chart = _regret_chart(ws_regret, regret, names, labels)
            add_chart(ws_regret, _regret_chart(ws_regret, regret, names, labels))
        write_flows(wb, stacked(result, "flows"))
        write_table(wb, "Utilization", stacked(result, "utilization"))
        compliance = stacked(result, "compliance")
        write_table(wb, "Compliance", compliance.reindex(columns=["scenario", *COMPLIANCE_COLUMNS])
                    if len(compliance) else compliance)
        lines = overview_lines(result, labels, rows, ws_summary, scenarios, ws_scenarios, ws_decisions)
        write_overview(wb, lines, [], chart, labels)
        return save_atomically(wb, path)


def _regret_chart(ws, regret: pd.DataFrame, names: list[str], labels: Labels):
    """Each plan's regret in each scenario, clustered by plan, from the Regret sheet: the differences between
    the plans, from zero (a regret is never negative)."""
    chart = bar_chart("Each plan's regret in each scenario", labels.money("regret", DISCOUNTED))
    chart.grouping = "clustered"
    plot_rows(ws, chart, 0, len(regret) - 1, "plan", names)
    return chart


def overview_lines(result: RobustResult, labels: Labels, summary_rows: pd.DataFrame, ws_summary,
                   scenarios: pd.DataFrame, ws_scenarios, ws_decisions) -> list[Line]:
    """The Overview's lines: the question (workbook, scenarios, objective), the decisions as commitments made now
    and held in every scenario, how the plan fares in each scenario (its worst case and its largest regret), and
    EVPI and the value of hedging, a sentence each; every figure repeats a cell of another sheet."""
    at = {field: i for i, field in enumerate(summary_rows["field"])}
    field = {name.split(" (")[0]: name for name in summary_rows["field"]}

    def summary_line(section: str, name: str, item: str, style: str = "") -> Line:
        return Line(section, item, summary_rows["value"].iloc[at[field[name]]],
                    reference(ws_summary, "value", at[field[name]]), style)

    names = list(scenarios["scenario"])
    lines = [summary_line("question", "Workbook", "workbook"),
             Line("question", f"{len(names)} scenarios, each with its probability",
                  ", ".join(f"{n} ({p:.0%})" for n, p in zip(names, scenarios["probability"], strict=True)),
                  reference(ws_scenarios, "scenario", 0, len(names) - 1)),
             summary_line("question", "Objective", "the plan minimises"),
             summary_line("answer", "Status", "status")]
    if not result.has_plan:
        return lines + ([summary_line("answer", "Message", "why there is no robust plan")]
                        if "Message" in field else [])
    lines += _commitments(result, ws_decisions)
    lines += _how_it_fares(result, labels, scenarios, ws_scenarios)
    lines += _worth(result, labels, summary_line)
    return lines


def _commitments(result: RobustResult, ws_decisions) -> list[Line]:
    """What to build, and when, in every scenario: the first-stage decisions of the robust plan."""
    network, plan = result.network, result.robust
    if ws_decisions is None or plan is None:
        return [Line("decision", result.message or "Nothing is decided up front: each scenario gets its own plan")]
    options = list(dict.fromkeys(network.investments["option"]))
    first = network.investments.drop_duplicates("option").set_index("option")
    lines, idle = [], []
    for position, option in enumerate(options):
        what = f"{option} ({first.loc[option, 'item']} at {first.loc[option, 'site']})"
        decision = plan.decisions.get(option)
        see = reference(ws_decisions, plan.name, position)
        if isinstance(decision, dict) and decision:
            built = " and ".join(f"{fraction:.0%} in {period}" for period, fraction in decision.items())
            lines.append(Line("decision", f"Build {built} of {what}, in every scenario: a commitment made now, "
                                          "before the scenario is known", ", ".join(decision), see))
        elif decision and not isinstance(decision, dict):
            when = "" if decision == IMPLICIT_PERIOD else f" in {decision}"
            lines.append(Line("decision", f"Build {what}{when}, in every scenario: a commitment made now, before the "
                                          "scenario is known", decision, see))
        else:
            idle.append((position, what))
    if idle:
        if len(lines) + len(idle) <= MAX_OPTIONS:
            lines += [Line("decision", f"Do not build {what} in any scenario", see=reference(ws_decisions, plan.name,
                                                                                                position))
                      for position, what in idle]
        else:
            lines.append(Line("decision", "Do not build, in any scenario: " + ", ".join(w for _, w in idle),
                              see=reference(ws_decisions, plan.name, idle[0][0])))
    return lines


def _how_it_fares(result: RobustResult, labels: Labels, scenarios: pd.DataFrame, ws) -> list[Line]:
    """The plan's cost and regret in each scenario (up to MAX_SCENARIOS), its worst case and its largest regret."""
    cost = pd.to_numeric(scenarios["robust_cost"], errors="coerce")
    regret = pd.to_numeric(scenarios["regret"], errors="coerce")
    lines = []
    for i, row in enumerate(scenarios.itertuples()):
        if i == MAX_SCENARIOS:
            lines.append(Line("scenarios", f"and {len(scenarios) - i} more scenarios (the Scenarios sheet)"))
            break
        if pd.isna(cost.iloc[i]):
            lines.append(Line("scenarios", f"{row.scenario} ({row.probability:.0%}): the plan has no plan here",
                              see=reference(ws, "robust_cost", i)))
            continue
        lines.append(Line("scenarios", f"{row.scenario} ({row.probability:.0%}): the plan costs "
                                       f"{cost.iloc[i]:,.2f}, regret {regret.iloc[i]:,.2f} "
                                       f"{labels.in_words(DISCOUNTED)}",
                          float(cost.iloc[i]), reference(ws, "robust_cost", i), MONEY))
    if cost.notna().any():
        worst = int(cost.idxmax())
        lines.append(Line("scenarios", f"Worst case: {scenarios['scenario'].iloc[worst]}, where the plan costs "
                                       f"{labels.amount(cost.iloc[worst], DISCOUNTED)}",
                          float(cost.iloc[worst]), reference(ws, "robust_cost", worst), MONEY))
        largest = int(regret.idxmax())
        name = scenarios["scenario"].iloc[largest]
        if regret.iloc[largest] > TOLERANCE * max(1.0, abs(cost.iloc[largest])):
            text = (f"Largest regret: {labels.amount(regret.iloc[largest], DISCOUNTED)} in {name}: what the plan "
                    f"costs there beyond the best plan for {name} alone")
        else:
            text = "No regret: in every scenario the plan costs what the best plan for that scenario alone costs"
        lines.append(Line("scenarios", text, float(regret.iloc[largest]), reference(ws, "regret", largest), MONEY))
        setter = _sole_setter(result, scenarios, cost)
        if setter is not None:
            lines.append(Line("scenarios", f"One scenario alone sets this plan: {setter}. Under the worst-case "
                                           f"objective only the most expensive scenario counts, and no plan costs "
                                           f"less than {labels.amount(cost.max(), DISCOUNTED)} in {setter}; this "
                                           f"plan costs that there, so the other scenarios only had to stay below "
                                           f"it.", float(cost.max()), reference(ws, "wait_and_see_cost",
                                                                               names_index(scenarios, setter)),
                              MONEY))
    return lines


def names_index(scenarios: pd.DataFrame, name: str) -> int:
    return int(scenarios.index[scenarios["scenario"] == name][0])


def _sole_setter(result: RobustResult, scenarios: pd.DataFrame, cost: pd.Series) -> str | None:
    """Under ``--objective worst``, the scenario that alone sets the plan: the one where the plan costs its
    worst case and that cost is the least any plan costs there (its wait-and-see cost), so no other scenario
    could have changed the worst case; None otherwise."""
    if result.objective != "worst" or cost.isna().any():
        return None
    worst = int(cost.idxmax())
    wait_and_see = float(scenarios["wait_and_see_cost"].iloc[worst])
    if abs(cost.iloc[worst] - wait_and_see) <= TOLERANCE * max(1.0, abs(wait_and_see)):
        return str(scenarios["scenario"].iloc[worst])
    return None


def _worth(result: RobustResult, labels: Labels, summary_line) -> list[Line]:
    """EVPI and the value of hedging, a sentence each (both of the expected-cost plan)."""
    of = "" if result.objective == "expected" else " for the expected-cost plan, whatever the objective"
    lines = []
    if result.evpi is not None:
        line = summary_line("worth", "EVPI", "")
        lines.append(Line("worth", f"EVPI {labels.amount(result.evpi, DISCOUNTED)}{of}: what knowing the scenario "
                                   "before deciding would save, in expectation", line.value, line.see, MONEY))
    line = summary_line("worth", "Value of hedging", "")
    if result.value_of_hedging is None:
        lines.append(Line("worth", f"Value of hedging: none to state ({result.hedging_note})", line.value, line.see))
        return lines
    best = _best_single_plan(result)
    amount = labels.amount(result.value_of_hedging, DISCOUNTED)
    if result.value_of_hedging > TOLERANCE * max(1.0, abs(result.evpi or 0.0)):
        text = (f"Value of hedging {amount}{of}: in expectation the robust plan saves that much over the best plan "
                f"made for one scenario alone ({best}'s)")
    else:
        text = (f"Value of hedging {amount}{of}: the plan made for {best} alone does as well in expectation; "
                "hedging adds nothing here")
    lines.append(Line("worth", text, line.value, line.see, MONEY))
    return lines


def _best_single_plan(result: RobustResult) -> str:
    """The scenario whose own plan has the lowest expected cost among those with a plan in every scenario."""
    plans = matrix(result)
    own = plans[plans["plan"].isin(list(result.network.scenarios)) & plans["expected_cost"].notna()]
    return str(own.loc[own["expected_cost"].astype(float).idxmin(), "plan"]) if len(own) else ""
