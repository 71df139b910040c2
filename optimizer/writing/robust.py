"""The robust workbook (``sourcing robust``): Summary (objective, EVPI, value of hedging), Scenarios,
Decisions, Plans x scenarios with a clustered bar chart of each plan's cost in each scenario, and the
robust plan's Flows, Utilization and Compliance in every scenario, stacked with a ``scenario`` column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.robust import RobustResult, decisions_table, matrix, scenario_table, stacked
from optimizer.rules import COMPLIANCE_COLUMNS
from optimizer.writing.charts import bar_chart, plot_rows
from optimizer.writing.plan import summary_style
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import FORMATS, MONEY, PERCENT, Labels, add_chart, streaming_workbook, write_table

OBJECTIVE_TEXT = {"expected": "expected cost (sum over scenarios of probability x cost)",
                  "worst": "worst-case cost (the largest cost over the scenarios)",
                  "regret": "maximum regret (the largest cost - wait-and-see cost over the scenarios)"}


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


def write_robust(result: RobustResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the robust analysis to a new workbook at ``path``."""
    path = check_output_path(path, list(inputs))
    labels = Labels.of(result.network, f"robust plan ({result.objective} cost)")
    with streaming_workbook(labels) as wb:
        rows = summary(result)
        money = [isinstance(v, float) and not f.startswith("Scenarios") for f, v in
                 zip(rows["field"], rows["value"], strict=True)]
        rows["field"] = [labels.money(f) if m else f for f, m in zip(rows["field"], money, strict=True)]
        write_table(wb, "Summary", rows, row_style=summary_style, one_page=True)
        write_table(wb, "Scenarios", scenario_table(result),
                    {**FORMATS, "probability": PERCENT, "wait_and_see_cost": MONEY, "robust_cost": MONEY,
                     "regret": MONEY},
                    {"wait_and_see_cost": "wait-and-see cost", "robust_cost": "robust plan's cost"})
        if len(result.network.investments):
            write_table(wb, "Decisions", decisions_table(result))
        table = matrix(result)
        if len(table):
            names = list(result.network.scenarios)
            ws = write_table(wb, "Plans x scenarios", table,
                             {**FORMATS, **dict.fromkeys([*names, "expected_cost", "worst_cost", "max_regret"],
                                                         MONEY)},
                             {"expected_cost": "expected cost", "worst_cost": "worst-case cost",
                              "max_regret": "maximum regret"})
            chart = bar_chart("Each plan's cost in each scenario", labels.money("total cost"))
            chart.grouping = "clustered"
            plot_rows(ws, chart, 0, len(table) - 1, table.columns[0], names)
            add_chart(ws, chart)
        write_table(wb, "Flows", stacked(result, "flows"))
        write_table(wb, "Utilization", stacked(result, "utilization"))
        compliance = stacked(result, "compliance")
        write_table(wb, "Compliance", compliance.reindex(columns=["scenario", *COMPLIANCE_COLUMNS])
                    if len(compliance) else compliance)
        return save_atomically(wb, path)
