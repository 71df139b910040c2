"""The comparison workbook: the Overview (first), the Comparison table with its cost chart (and emissions chart),
Comparison detail (the cost parts) and Comparison rules (each rule's summary), SupplyMix (quantity by item,
policy set and origin group, with a stacked chart per item), the Decisions when the workbook has investment
options, and every plan's tables stacked with a ``policy`` column. Print setup, units and highlights come with
every table (``optimizer.writing.table``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.compare import origin_groups
from optimizer.costs import COST_PARTS, PARTS
from optimizer.rules import RULE_TYPES
from optimizer.writing.charts import bar_chart, plot_rows
from optimizer.writing.overview import Fact, Line, rule_facts, write_overview
from optimizer.writing.plan import write_flows, write_split
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import (
    DISCOUNTED,
    FORMATS,
    HEADERS,
    MAX_WIDTH,
    MONEY,
    PERCENT,
    QUANTITY,
    RATE,
    Labels,
    add_chart,
    column_beside,
    reference,
    streaming_workbook,
    write_table,
)

COMPARISON_HEADERS = {
    "total_cost": "total cost", "vs_baseline": "vs baseline", "vs_baseline_pct": "vs baseline %",
    "cost_per_unit_demand": "cost per unit of demand", "rule_checks": "rule checks",
    "binding_checks": "binding checks", "cost_per_point": "cost per +1 pp tighter on every share rule",
    "cost_per_emission_avoided": "cost per unit of emissions avoided",
    **{part.name: part.header for part in PARTS.values()},
}

#: Comparison columns read less often (the cost parts, the cost per unit of demand): on the Comparison detail sheet,
#: which repeats the policy set, so that both print at a readable scale. Each rule's one-line summary has a row of
#: its own on Comparison rules (in one cell per policy set, a set of ten rules made its row a page tall).
COMPARISON_DETAIL = (*COST_PARTS, "cost_per_unit_demand")


def write_comparison(comparison, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Overview, Comparison (with its charts), Comparison detail, Comparison rules, SupplyMix (with charts),
    Decisions, and every plan's tables with a ``policy`` column."""
    path = check_output_path(path, list(inputs))
    network = comparison.network
    labels = Labels.of(network, f"comparison of {len(comparison.results)} policy sets")
    with streaming_workbook(labels) as wb:
        table = comparison.table()
        formats = {**FORMATS, **{part: MONEY for part in COST_PARTS}, "total_cost": MONEY, "vs_baseline": MONEY,
                   "vs_baseline_pct": PERCENT, "cost_per_unit_demand": MONEY, "cost_per_point": MONEY,
                   "cost_per_emission_avoided": RATE}
        ws = write_split(wb, "Comparison", table.drop(columns="rules"), COMPARISON_DETAIL, ("policy",),
                         formats=formats, headers={**HEADERS, **COMPARISON_HEADERS}, one_page=True,
                         basis=dict.fromkeys(COST_PARTS, DISCOUNTED))
        write_table(wb, "Comparison rules", rule_summaries(comparison), widths={"summary": MAX_WIDTH},
                    wrap=("summary",))
        row = ws.content_rows + 2
        cost = _cost_chart(ws, table, labels)
        add_chart(ws, cost, row)
        if "emissions" in table:  # the emissions bar beside the cost bar, or below it
            beside = column_beside(ws, cost)
            add_chart(ws, _emissions_chart(ws, table, labels), row if beside else None, column=beside or "A")
        _write_supply_mix(wb, comparison, labels)
        facts = []
        if len(network.investments):
            decisions = comparison.decisions()
            ws_decisions = write_table(wb, "Decisions", decisions)
            facts += _decision_facts(decisions, ws_decisions)
        write_flows(wb, comparison.stacked("flows"))
        utilization = comparison.stacked("utilization")
        ws_utilization = write_table(wb, "Utilization", utilization)
        compliance = comparison.stacked("compliance").drop(columns="rule_row", errors="ignore")
        ws_compliance = write_table(wb, "Compliance", compliance)
        diagnosis = [r.diagnosis_table().assign(policy=r.policy) for r in comparison.results if r.diagnosis]
        if diagnosis:
            frame = pd.concat(diagnosis, ignore_index=True)
            write_table(wb, "Diagnosis", frame[["policy", *[c for c in frame.columns if c != "policy"]]])
        facts += [Fact("no plan", -i, f"No plan: {row.policy} is {row.status}" + (f": {row.message}" if row.message
                                                                                 else ""),
                       reference(ws, "status", i))
                  for i, row in enumerate(table.itertuples()) if row.status != "optimal"]
        facts += rule_facts(compliance, ws_compliance, labels, network.periods, by_policy=True)
        facts += _capacity_facts(utilization, ws_utilization, len(comparison.results))
        write_overview(wb, _question_and_answer(comparison, table, ws, labels), facts, _cost_chart(ws, table, labels),
                       labels)
        return save_atomically(wb, path)


def rule_summaries(comparison) -> pd.DataFrame:
    """The Comparison rules sheet: per policy set with a plan, each rule's one-line summary, written by its rule
    type from its Compliance rows, in the order of the Policies sheet."""
    rows = [(result.policy, RULE_TYPES[group.iloc[0]["rule"]].summary(group))
            for result in comparison.results if result.has_plan and len(result.compliance)
            for _, group in result.compliance.groupby("rule_row", sort=False)]
    return pd.DataFrame(rows, columns=["policy", "summary"])


def _cost_chart(ws, table: pd.DataFrame, labels: Labels):
    """Total cost by policy set, from the Comparison sheet."""
    chart = bar_chart("Total cost by policy set", labels.money("total cost", DISCOUNTED))
    plot_rows(ws, chart, 0, len(table) - 1, "policy", ["total_cost"])
    chart.legend = None
    return chart


def _emissions_chart(ws, table: pd.DataFrame, labels: Labels):
    """Emissions by policy set, from the Comparison sheet."""
    chart = bar_chart("Emissions by policy set", labels.with_unit("emissions", labels.emissions_unit))
    plot_rows(ws, chart, 0, len(table) - 1, "policy", ["emissions"])
    chart.legend = None
    return chart


def _question_and_answer(comparison, table: pd.DataFrame, ws, labels: Labels) -> list[Line]:
    """The Overview's question (workbook, policy sets, periods) and answer (each set's total cost and its
    change against baseline, from the Comparison sheet; the parts stand there too)."""
    network = comparison.network
    lines = [Line("question", "workbook", network.source or ""),
             Line("question", "policy sets", ", ".join(table["policy"]), reference(ws, "policy", 0, len(table) - 1)),
             Line("question", "periods", ", ".join(network.periods))]
    for i, row in enumerate(table.itertuples()):
        if row.status != "optimal" or pd.isna(row.total_cost):
            lines.append(Line("answer", f"{row.policy}: status", row.status, reference(ws, "status", i)))
            continue
        lines.append(Line("answer", labels.money(f"{row.policy}: total cost", DISCOUNTED), row.total_cost,
                          reference(ws, "total_cost", i), MONEY,
                          None if pd.isna(row.vs_baseline) else float(row.vs_baseline)))
    return lines


def _capacity_facts(utilization: pd.DataFrame, ws, n_sets: int) -> list[Fact]:
    """Plants used to 100% in most policy sets (the comparison has no prices; each plan's Sensitivity does)."""
    if not len(utilization):
        return []
    full = utilization[(utilization["resource"] == "supply") & (utilization["utilization"] >= 0.99995)]
    facts = []
    for (site, item, source), rows in full.groupby(["site", "item", "source"], sort=False):
        sets = list(dict.fromkeys(rows["policy"]))
        positions = [int(i) for i in rows.index]
        facts.append(Fact("capacity", len(sets) + len(rows) / 1000,
                          f"At capacity: {site} makes {item} ({source}) at its capacity under {len(sets)} of "
                          f"{n_sets} policy sets ({', '.join(sets)}), in {len(rows)} set-periods",
                          reference(ws, "utilization", positions[0]) + (" ..." if len(positions) > 1 else "")))
    return facts


def _decision_facts(decisions: pd.DataFrame, ws) -> list[Fact]:
    facts = []
    for i, row in decisions.iterrows():
        built = {policy: period for policy, period in row.drop("option").items() if isinstance(period, str) and period}
        if built:
            first = next(iter(built))
            facts.append(Fact("option", len(built), f"Built: {row['option']} under {len(built)} policy sets ("
                              + ", ".join(f"{p}: {v}" for p, v in built.items()) + ")",
                              reference(ws, first, int(i))))
    return facts


def supply_mix_table(comparison) -> pd.DataFrame:
    """SupplyMix: per item (the Items sheet's order) and policy set, the quantity supplied by each origin group
    (groups that supply nothing are left out)."""
    mix = comparison.supply_mix()
    if not len(mix):
        return pd.DataFrame(columns=["item", "policy"])
    network = comparison.network
    wide = (mix.pivot_table(index=["item", "policy"], columns="group", values="quantity", aggfunc="sum")
            .reindex(columns=origin_groups(network)).fillna(0.0))
    wide = wide.loc[:, (wide != 0).any(axis=0)].reset_index()
    order = {**{item: i for i, item in enumerate(network.items)},
             **{r.policy: i for i, r in enumerate(comparison.results)}}
    wide = wide.sort_values(["item", "policy"], key=lambda column: column.map(order), kind="stable")
    wide.columns.name = None
    return wide.reset_index(drop=True)


def _write_supply_mix(wb, comparison, labels: Labels) -> None:
    """SupplyMix with, below it, a stacked bar chart per item of its quantity by policy set and origin group."""
    mix = supply_mix_table(comparison)
    groups = [str(c) for c in mix.columns[2:]]
    ws = write_table(wb, "SupplyMix", mix, {group: QUANTITY for group in groups})
    for item in pd.unique(mix["item"]):
        rows = [int(i) for i in mix.index[mix["item"] == item]]
        unit = labels.units.get(item, "")
        chart = bar_chart(labels.with_unit(f"{item}: supply by origin group", unit), unit or "quantity", stacked=True)
        plot_rows(ws, chart, rows[0], rows[-1], "policy", groups)
        add_chart(ws, chart)
