"""The frontier workbook (``sourcing frontier``): a Summary naming the rule and the two ends with their plans'
key figures (one page), the Frontier table (value, total cost, change from the start, one-sided marginal
cost), and a line chart of the cost's change from the start against the value (from zero). Print setup, units
and highlights come with every table (``optimizer.writing.table``)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from optimizer.figures import AT_THE_LIMIT
from optimizer.findings import fmt
from optimizer.frontier import End, Frontier
from optimizer.writing.charts import from_zero, line_chart, plot_rows
from optimizer.writing.plan import summary_style
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.sweep import NOTE_WIDTHS
from optimizer.writing.table import (
    DISCOUNTED,
    FORMATS,
    MONEY,
    PERCENT,
    QUANTITY,
    RATE,
    Labels,
    add_chart,
    streaming_workbook,
    write_table,
)


def value_text(frontier: Frontier, value: float) -> str:
    """A value of the rule as the analyst reads it: a share in percent, a cap as a quantity."""
    return f"{value:.2%}" if frontier.is_share else fmt(value)


def end_rows(frontier: Frontier, name: str, end: End, labels: Labels) -> list[tuple[str, object]]:
    """The Summary's rows of one end: its value, how it was found, and its plan's key figures."""
    rows: list[tuple[str, object]] = [(f"{name}: value", value_text(frontier, end.value)),
                                      (f"{name}: what it is", end.how)]
    result = end.result
    if result is None or not result.has_plan:
        return [*rows, (f"{name}: status", result.status if result is not None else "not solved")]
    rows.append((labels.money(f"{name}: total cost", DISCOUNTED), float(result.total_cost)))
    if result.emissions.sum() or frontier.rule.type == "co2_cap":
        rows.append((labels.with_unit(f"{name}: emissions", labels.emissions_unit), float(result.emissions.sum())))
    marginal = result.marginals.rule_rate(frontier.rule.row)
    field = f"{name}: {frontier.marginal_label()}"
    field = labels.money(field, DISCOUNTED, None if frontier.is_share else labels.emissions_unit or "unit of emissions")
    rows.append((field, AT_THE_LIMIT if marginal == math.inf else marginal))
    return rows


def summary_rows(frontier: Frontier, labels: Labels) -> pd.DataFrame:
    rule = frontier.rule
    table = frontier.table()
    rows: list[tuple[str, object]] = [
        ("Workbook", frontier.network.source or ""), ("Policy set", frontier.policy.name),
        ("Rule", f"Policies row {rule.row}: {rule.label()}"),
        ("Value", "a share of the flow (Policies value)" if frontier.is_share
         else "the cap on each covered period's matching emissions" + (f" ({labels.emissions_unit})"
                                                                       if labels.emissions_unit else "")),
        ("Points", len(table)), ("Points with a plan", int(table["status"].eq("optimal").sum())),
        *end_rows(frontier, "Start", frontier.start, labels), *end_rows(frontier, "End", frontier.end, labels)]
    if frontier.start.result is not None and frontier.end.result is not None and frontier.end.result.has_plan:
        rows.append((labels.money("Cost from start to end", DISCOUNTED),
                     float(frontier.end.result.total_cost - frontier.start.result.total_cost)))
    return pd.DataFrame(rows, columns=["field", "value"])


def write_frontier(frontier: Frontier, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Summary, the Frontier table and its line chart of the cost's change from the start against the value."""
    path = check_output_path(path, list(inputs))
    rule = frontier.rule
    labels = Labels.of(frontier.network, f"frontier of Policies row {rule.row} ({frontier.policy.name})")
    table = frontier.table()
    value_header = f"{rule.type} value"
    value_column = "value" if frontier.is_share else "emissions"  # a cap's value carries the emissions unit
    marginal_column = "marginal" if frontier.is_share else "marginal_abatement_cost"  # per unit of emissions
    table = table.rename(columns={"value": value_column, "marginal": marginal_column})
    formats = {**FORMATS, value_column: PERCENT if frontier.is_share else QUANTITY, "total_cost": MONEY,
               "vs_start": MONEY, marginal_column: MONEY if frontier.is_share else RATE, "shortage": MONEY}
    headers = {value_column: value_header, "total_cost": "total cost", "vs_start": "change from the start",
               marginal_column: frontier.marginal_label()}
    with streaming_workbook(labels) as wb:
        write_table(wb, "Summary", summary_rows(frontier, labels), row_style=summary_style, one_page=True,
                    widths={"field": 40, "value": 62}, wrap=("value",))
        ws = write_table(wb, "Frontier", table, formats, {**headers, "decision_change": "build decision changes",
                                                          "unmet": "demand left unmet", "shortage": "shortage cost"},
                         keys=(value_column,), widths=NOTE_WIDTHS, basis={"shortage": DISCOUNTED})
        # The cost's change from the start, from zero (see optimizer.writing.sweep).
        chart = line_chart(f"Cost change from the start vs {value_header} ({frontier.policy.name}, Policies row "
                           f"{rule.row})", value_header, labels.money("change from the start", DISCOUNTED))
        chart.x_axis.number_format = "0.0%" if frontier.is_share else "#,##0"
        plot_rows(ws, chart, 0, len(table) - 1, value_column, ["vs_start"])
        from_zero(chart, table["vs_start"])
        chart.legend = None
        add_chart(ws, chart)
        return save_atomically(wb, path)
