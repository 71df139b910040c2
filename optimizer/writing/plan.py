"""The plan workbook of one solve: Overview (first), Summary, Costs by period (with a stacked column chart of
the cost parts), Supply mix, Investments, Shortage and Inventory (when the workbook has options, shortage costs,
stock), Flows, Utilization, Compliance and Sensitivity; without a plan, the Overview, the Summary (its status
stated) and the Diagnosis.
Print setup, units and highlights come with every table (``optimizer.writing.table``)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from models.network import IMPLICIT_PERIOD
from optimizer.costs import COST_PARTS, PARTS
from optimizer.results import INVENTORY_COLUMNS, UNMET_COLUMNS, SolveResult, build_periods_text
from optimizer.rules import COMPLIANCE_COLUMNS
from optimizer.writing.charts import bar_chart, plot_rows
from optimizer.writing.overview import Fact, Line, capacity_facts, option_lines, rule_facts, write_overview
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import (
    DISCOUNTED,
    FORMATS,
    HEADERS,
    LEFT,
    MONEY,
    NOMINAL,
    QUANTITY,
    RATE,
    Labels,
    add_chart,
    reference,
    streaming_workbook,
    write_table,
)

COST_HEADERS = {**{part.name: part.header for part in PARTS.values()}, "nominal_total": "nominal total",
                "discount_factor": "discount factor", "discounted_total": "discounted total"}
INVESTMENT_FORMATS = {**FORMATS, "capex": MONEY, "salvage": MONEY, "fixed_cost": MONEY, "unit_cost": MONEY,
                      "value": MONEY, "break_even_capex": MONEY}
INVESTMENT_HEADERS = {"build_period": "build period", "available_from": "available from",
                      "fixed_cost": "fixed cost", "unit_cost": "unit cost", "lead_time": "lead time",
                      "value": "value (cost without it - plan cost)", "break_even_capex": "break-even capex"}
#: Warnings about the workbook the Overview repeats (the Summary lists every one).
MAX_WARNINGS = 3
#: The Summary rows that are the total cost's parts, in its order.
COST_ROWS = tuple(part.summary for part in PARTS.values())


def _is_money(label) -> bool:
    """Whether a Summary row holds an amount of money: a cost part (``Salvage value``), or a cost, credit or bound."""
    return str(label).startswith(COST_ROWS) or any(w in str(label).lower() for w in ("cost", "credit", "bound"))


#: The MIP gap, a fraction of the best bound (0.0001 showed as 0).
GAP = "0.00%"
#: A label that says its figure is money: it ends with the figure's basis (``(USD M, discounted)``).
MONEY_LABEL = re.compile(rf"\b({DISCOUNTED}|{NOMINAL})\)$")


def summary_style(values: tuple) -> dict:
    """The Summary's value column: left-aligned, and a number formatted as money (its label says discounted or
    nominal), a gap (a percentage), or a quantity."""
    label, value = str(values[0]), values[1]
    style = {"alignment": LEFT}
    if isinstance(value, float):
        # a cost per unit of emissions may be far below a cent of the currency (USD M per t CO2e)
        style["number_format"] = RATE if "emissions less" in label else MONEY if MONEY_LABEL.search(label) \
            else GAP if label == "MIP gap" else QUANTITY
    return {1: style}


def summary_sheet(result: SolveResult, labels: Labels, network) -> pd.DataFrame:
    """The Summary with units: money rows carry the currency and their basis (the nominal total is nominal,
    every other cost discounted), total demand the unit of the items demanded."""
    demand_unit = labels.unit_of(network.demand["item"]) if network is not None else None

    def label(field: str, value) -> str:
        if isinstance(value, float) and _is_money(field):
            return labels.money(field, NOMINAL if field == "Nominal total cost" else DISCOUNTED)
        if field.startswith("Emissions"):
            return labels.with_unit(field, labels.emissions_unit)
        return labels.with_unit(field, demand_unit) if field in ("Total demand", "Demand left unmet") else field

    summary = result.summary
    return summary.assign(field=[label(f, v) for f, v in zip(summary["field"], summary["value"], strict=True)])


def write_plan(result: SolveResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the plan to a new workbook at ``path``: the Overview first, then the plan's tables; without a
    plan, the Overview, the Summary (status stated) and the Diagnosis."""
    path = check_output_path(path, list(inputs))
    network = result.formulation.network if result.formulation is not None else None
    subject = f"policy set {result.policy}" + (f", scenario {result.scenario}" if result.scenario else "")
    labels = Labels.of(network, subject) if network is not None else Labels(subject=subject)
    with streaming_workbook(labels) as wb:
        summary = summary_sheet(result, labels, network)
        ws_summary = write_table(wb, "Summary", summary, row_style=summary_style, one_page=True)
        lines = _question_and_answer(result, summary, ws_summary, labels)
        if not result.has_plan:
            diagnosis = result.diagnosis_table()
            ws_diagnosis = write_table(wb, "Diagnosis", diagnosis)
            facts = [Fact("no plan", -i, f"{row.kind}: {row.message}", reference(ws_diagnosis, "message", i))
                     for i, row in enumerate(diagnosis.itertuples())]
            write_overview(wb, lines, facts)
            return save_atomically(wb, path)
        write_costs_by_period(wb, result)
        mix = supply_mix_by_period(result, network)
        ws_mix = write_table(wb, "Supply mix", mix, {column: QUANTITY for column in mix.columns[2:]})
        facts = []
        if len(result.investments):
            investments = investment_sheet(result)
            ws_investments = write_table(wb, "Investments", investments, INVESTMENT_FORMATS,
                                         INVESTMENT_HEADERS, basis={"value": DISCOUNTED, "salvage": NOMINAL})
            lines += option_lines(result.investments, investments["built"], ws_investments, labels)
        if len(result.unmet):
            ws_shortage = write_table(wb, "Shortage", result.unmet[UNMET_COLUMNS],
                                      {**FORMATS, "demand": QUANTITY, "delivered": QUANTITY, "unmet": QUANTITY,
                                       "shortage_cost": MONEY, "cost": MONEY},
                                      {"shortage_cost": "shortage cost per unit", "cost": "shortage cost"},
                                      per_unit=("shortage_cost",), basis={"shortage_cost": NOMINAL})
            facts += unmet_facts(result.unmet, ws_shortage, labels)
        if len(result.inventory):
            write_table(wb, "Inventory", result.inventory[INVENTORY_COLUMNS],
                        {**FORMATS, "opening": QUANTITY, "closing": QUANTITY, "holding_cost": MONEY,
                         "holding": MONEY}, {"holding_cost": "holding cost per unit", "holding": "holding cost"})
        write_flows(wb, result.flows)
        write_table(wb, "Utilization", result.utilization)
        compliance = result.compliance.reindex(columns=COMPLIANCE_COLUMNS)
        ws_compliance = write_table(wb, "Compliance", compliance)
        ws_sensitivity = write_table(wb, "Sensitivity", result.sensitivity, {
            **FORMATS, "value": QUANTITY, "used": QUANTITY, "price": RATE, "one_more": RATE, "range_low": QUANTITY,
            "range_high": QUANTITY}, {**HEADERS, "one_more": "saving of one more unit (one-sided)"})
        periods = network.periods if network is not None else ()
        facts += rule_facts(compliance, ws_compliance, labels, periods)
        facts += capacity_facts(result.sensitivity, ws_sensitivity, labels, periods)
        write_overview(wb, lines, facts, _supply_mix_chart(mix, ws_mix, network, labels))
        return save_atomically(wb, path)


def _question_and_answer(result: SolveResult, summary: pd.DataFrame, ws, labels: Labels) -> list[Line]:
    """The Overview's question (workbook, policy set, periods) and answer (status, total cost and its parts),
    each repeating a Summary cell."""
    position = {field: i for i, field in enumerate(result.summary["field"])}
    values = dict(zip(result.summary["field"], result.summary["value"], strict=True))

    def line(section: str, field: str, item: str, style: str = "") -> Line:
        return Line(section, item, values[field], reference(ws, "value", position[field]), style)

    lines = [line("question", "Workbook", "workbook"), line("question", "Policy set", "policy set"),
             *([line("question", "Scenario", "scenario (its changes applied)")] if "Scenario" in values else []),
             line("question", "Periods", "periods"), line("answer", "Status", "status")]
    # The workbook's probable mistakes, on the first page (the first three; the Summary lists them all).
    warnings = [i for i, field in enumerate(result.summary["field"]) if field == "Warning"]
    for n, i in enumerate(warnings[:MAX_WARNINGS]):
        more = len(warnings) - MAX_WARNINGS if n == MAX_WARNINGS - 1 and len(warnings) > MAX_WARNINGS else 0
        lines.insert(1 + n, Line("question", "warning about the workbook" + (
            f" (and {more} more on the Summary)" if more else ""), result.summary["value"].iloc[i],
            reference(ws, "value", i), ""))
    if not result.has_plan:
        return lines + ([line("answer", "Message", "why there is no plan")] if "Message" in values else [])
    lines.append(line("answer", "Total cost", labels.money("total cost", DISCOUNTED), MONEY))
    if abs(result.nominal_total - result.total_cost) > 1e-9:
        lines.append(line("answer", "Nominal total cost", labels.money("total cost", NOMINAL), MONEY))
    for field in COST_ROWS:
        if field in values and abs(values[field] or 0.0) > 1e-9:
            lines.append(line("answer", field, labels.money(f"of which {field.lower()}", DISCOUNTED), MONEY))
    if "Emissions" in values:  # the workbook gives emissions, or the policy set prices or caps them
        lines.append(line("answer", "Emissions", labels.with_unit("emissions", labels.emissions_unit), QUANTITY))
    return lines


def supply_mix_by_period(result: SolveResult, network) -> pd.DataFrame:
    """The Supply mix sheet: per item and period, the quantity shipped from each origin group (a site counts
    in the first group of the Groups sheet holding its country, else ``other``); groups that ship nothing are
    left out. Items in the Items sheet's order, periods in the plan's."""
    flows = result.flows
    if network is None or not len(flows):
        return pd.DataFrame(columns=["item", "period"])
    group_of = network.country_groups()
    groups = [*network.groups, "other"]
    mix = (flows.assign(group=flows["origin"].map(group_of), quantity=pd.to_numeric(flows["quantity"], errors="coerce"))
           .pivot_table(index=["item", "period"], columns="group", values="quantity", aggfunc="sum")
           .reindex(columns=groups).fillna(0.0))
    mix = mix.loc[:, (mix != 0).any(axis=0)]
    order = {**{item: i for i, item in enumerate(network.items)}, **{p: i for i, p in enumerate(network.periods)}}
    mix = mix.reset_index()
    mix = mix.sort_values(["item", "period"], key=lambda column: column.map(order), kind="stable")
    mix.columns.name = None
    return mix.reset_index(drop=True)


def _supply_mix_chart(mix: pd.DataFrame, ws, network, labels: Labels):
    """The Overview's chart: the supply mix by origin group per period of the first item demanded (in the
    Items sheet's order), stacked, from the Supply mix sheet."""
    if network is None or not len(mix):
        return None
    demanded = set(network.demand["item"])
    item = next((i for i in network.items if i in demanded and (mix["item"] == i).any()), mix["item"].iloc[0])
    rows = [int(i) for i in mix.index[mix["item"] == item]]
    unit = labels.units.get(item, "")
    chart = bar_chart(labels.with_unit(f"{item} supplied by origin group", unit), unit or "quantity", stacked=True)
    plot_rows(ws, chart, rows[0], rows[-1], "period", [str(c) for c in mix.columns[2:]])
    return chart


def write_costs_by_period(wb, result: SolveResult) -> None:
    """Each cost part per period (nominal), the discount factor and the discounted total, and below the
    table a stacked column chart of the cost parts by period."""
    table = result.costs_by_period
    formats = {**{part: MONEY for part in (*COST_PARTS, "nominal_total", "discounted_total")},
               "discount_factor": "0.0000"}
    basis = {**dict.fromkeys((*COST_PARTS, "nominal_total"), NOMINAL), "discounted_total": DISCOUNTED}
    ws = write_table(wb, "Costs by period", table, formats, COST_HEADERS, basis=basis)
    parts = [part for part in COST_PARTS if table[part].abs().sum() > 0]
    chart = bar_chart("Cost by period (nominal)", wb.labels.money("cost", NOMINAL), stacked=True)
    plot_rows(ws, chart, 0, len(table) - 1, "period", parts)
    add_chart(ws, chart)


#: The Flows columns most read: where each flow goes, how much, and what it cost. The others (the countries, the
#: rules' valuation and the split of the landed cost into its parts) go to a detail sheet, which repeats the
#: flow's keys, so that each prints at a readable scale.
FLOW_DETAIL = ("origin_country", "destination_country", "valuation_unit_cost", "lane_unit_cost", "tariff_rate",
               "credit_per_unit", "supply_cost", "transport_cost", "tariff_cost", "credit_cost", "carbon_cost")
FLOW_KEYS = ("policy", "scenario", "period", "item", "origin", "destination")


def write_flows(wb, flows: pd.DataFrame) -> None:
    """The Flows sheet (the flows' keys, quantity, the goods' cost, landed cost and total cost, emissions) and
    the Flows detail sheet (the keys again, and the rest of the flows' columns); a flow's costs are nominal."""
    write_split(wb, "Flows", flows, FLOW_DETAIL, FLOW_KEYS, basis={"total_cost": NOMINAL})


def write_split(wb, title: str, frame: pd.DataFrame, detail: tuple[str, ...], keys: tuple[str, ...], **options):
    """Sheet ``title`` holding ``frame`` without its ``detail`` columns, and ``title detail`` holding its ``keys``
    and those (``options``: as for ``write_table``); return the first sheet."""
    moved = [c for c in frame.columns if c in detail]
    main = write_table(wb, title, frame.drop(columns=moved), **options)
    kept = [c for c in frame.columns if c in keys]
    write_table(wb, f"{title} detail", frame[kept + moved], **options)
    return main


def unmet_facts(unmet: pd.DataFrame, ws, labels: Labels) -> list[Fact]:
    """One fact per Demand row left (partly) unmet, from the Shortage sheet ``ws``: how much, of how much, and
    what it costs (nominal, as it arises in its period)."""
    facts = []
    for position, row in enumerate(unmet.itertuples()):
        if row.unmet <= 0:
            continue
        unit = f" {labels.units[row.item]}" if labels.units.get(row.item) else ""
        when = "" if row.period == IMPLICIT_PERIOD else f" in {row.period}"
        facts.append(Fact("unmet", float(row.cost),
                          f"Unmet: {row.unmet:,.6g} of the {row.demand:,.6g}{unit} of {row.item} demanded at "
                          f"{row.site}{when} ({row.source}) left unmet, at a shortage cost of "
                          f"{labels.amount(float(row.cost), NOMINAL)}", reference(ws, "unmet", position)))
    return facts


def investment_sheet(result: SolveResult):
    """The Investments sheet: one row per option; the option values when ``--option-values`` computed them
    (a note says why a divisible option has none). ``life`` and ``salvage`` only when some option has a life."""
    table = result.investments.drop(columns=["fractions"], errors="ignore")
    if "life" in table and table["life"].isna().all():
        table = table.drop(columns=["life", "salvage"])
    if "note" not in table:
        table = table.assign(note=["divisible: fractions in Utilization" if d else "" for d in table["divisible"]])
    built = table["built"]
    table = table.assign(built=[f"{b:.0%}" if d else ("yes" if b else "no")
                                for b, d in zip(built, table["divisible"], strict=True)],
                         build_period=[build_periods_text(row) or None for row in result.investments.itertuples()])
    return table
