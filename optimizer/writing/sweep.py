"""The sweep workbook: a Summary of the swept rule (one page), the Sweep table, and a line chart of the cost's
change from the first point against the value (from zero). Print setup, units and highlights come with every
table (``optimizer.writing.table``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.rules import RULE_TYPES
from optimizer.writing.charts import from_zero, line_chart, plot_rows
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
    """Sweep table, a line chart of the cost's change from the first point against the value, and a note of where
    the rule becomes infeasible."""
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
        # The cost's change from the first point, from zero: a total cost on an axis cut near its values would
        # draw a 0.6% step as a cliff (the table holds the totals).
        chart = line_chart(f"Cost change from the first point vs {rule.type} value ({result.policy.name}, "
                           f"Policies row {result.rule_row})", f"{rule.type} value",
                           labels.money("change from the first point", DISCOUNTED))
        plot_rows(ws, chart, 0, n - 1, "value", ["vs_first"])
        from_zero(chart, table["vs_first"])
        chart.legend = None
        add_chart(ws, chart)
        return save_atomically(wb, path)
