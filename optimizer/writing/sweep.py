"""The sweep workbook: a Summary of the swept rule (one page), the Sweep table, and a cost-versus-value line
chart. Print setup, units and highlights come with every table (``optimizer.writing.table``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.rules import RULE_TYPES
from optimizer.writing.charts import line_chart, plot_rows
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import (
    DISCOUNTED,
    FORMATS,
    HEADERS,
    MONEY,
    NOMINAL,
    PERCENT,
    Labels,
    add_chart,
    streaming_workbook,
    write_table,
)

#: The widths (characters) of the text a sweep's or frontier's point carries: the options it builds and the solver's
#: note wrap within them, so that the table prints one page wide.
NOTE_WIDTHS = {"builds": 36, "message": 40}


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
    # A count rule's value is a number of sites, not a quantity of an item: a format that carries no unit.
    value_format = {"percent": PERCENT, "money": MONEY}.get(RULE_TYPES[rule.type].value_format, "#,##0")
    formats = {**FORMATS, "value": value_format,
               "total_cost": MONEY, "vs_first": MONEY, "marginal": MONEY, "share_min": PERCENT, "shortage": MONEY}
    labels = Labels.of(result.network, f"sweep of Policies row {result.rule_row} ({result.policy.name})")
    with streaming_workbook(labels) as wb:
        write_table(wb, "Summary", summary, one_page=True, widths={"field": 24, "value": 62}, wrap=("value",))
        ws = write_table(wb, "Sweep", table, formats, headers={
            **HEADERS, "total_cost": "total cost", "vs_first": "vs first point",
            "share_min": "lowest share achieved", "value": f"{rule.type} value", "marginal": result.marginal_label(),
            "decision_change": "build decision changes", "unmet": "demand left unmet", "shortage": "shortage cost"},
            per_unit=("value",), basis={"value": NOMINAL, "shortage": DISCOUNTED}, keys=("value",),
            widths=NOTE_WIDTHS)
        chart = line_chart(f"Total cost vs {rule.type} value ({result.policy.name}, Policies row {result.rule_row})",
                           f"{rule.type} value", labels.money("total cost", DISCOUNTED))
        plot_rows(ws, chart, 0, n - 1, "value", ["total_cost"])
        chart.legend = None
        add_chart(ws, chart)
        return save_atomically(wb, path)
