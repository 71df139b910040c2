"""The sweep workbook: a Summary of the swept rule, the Sweep table, and a cost-versus-value line chart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl.chart import LineChart

from optimizer.rules import RULE_TYPES
from optimizer.writing.charts import plot_column
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import FORMATS, HEADERS, MONEY, PERCENT, QUANTITY, streaming_workbook, write_table


def write_sweep(result, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Sweep table, a cost-versus-value line chart, and a note of where the rule becomes infeasible."""
    path = check_output_path(path, list(inputs))
    table = result.table()
    rule = next(r for r in result.policy.rules if r.row == result.rule_row)
    n = len(table)
    infeasible = result.first_infeasible()
    summary = pd.DataFrame([
        ("Workbook", result.network.source or ""), ("Policy set", result.policy.name),
        ("Rule", f"Policies row {rule.row}: {rule.label()}"), ("Points", n),
        ("Feasible points", int(sum(r.has_plan for r in result.results))),
        ("First infeasible value", infeasible if infeasible is not None else "none"),
    ], columns=["field", "value"])
    value_format = {"percent": PERCENT, "money": MONEY}.get(RULE_TYPES[rule.type].value_format, QUANTITY)
    formats = {**FORMATS, "value": value_format,
               "total_cost": MONEY, "vs_first": MONEY, "share_min": PERCENT}
    with streaming_workbook() as wb:
        write_table(wb, "Summary", summary)
        ws = write_table(wb, "Sweep", table, formats, headers={
            **HEADERS, "total_cost": "total cost", "vs_first": "vs first point",
            "share_min": "lowest share achieved", "value": f"{rule.type} value"})
        chart = LineChart()
        chart.title = f"Total cost vs {rule.type} value ({result.policy.name}, Policies row {result.rule_row})"
        chart.y_axis.title = "total cost"
        chart.x_axis.title = f"{rule.type} value"
        chart.height, chart.width = 9, 18
        chart.x_axis.delete = chart.y_axis.delete = False
        plot_column(ws, table, "total_cost", chart, f"A{n + 4}")
        return save_atomically(wb, path)
