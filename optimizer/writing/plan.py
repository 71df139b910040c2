"""The plan workbook of one solve: Summary, Costs by period (with a stacked column chart of the cost parts),
Investments and Inventory (when the workbook has them), Flows, Utilization, Compliance and Sensitivity;
without a plan, the Summary (its status stated) and the Diagnosis."""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import Reference

from optimizer.results import COST_PARTS, INVENTORY_COLUMNS, SolveResult
from optimizer.rules import COMPLIANCE_COLUMNS
from optimizer.writing.charts import bar_chart
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import FORMATS, LEFT, MONEY, QUANTITY, streaming_workbook, write_table

COST_HEADERS = {"investment_fixed": "investment fixed", "nominal_total": "nominal total",
                "discount_factor": "discount factor", "discounted_total": "discounted total"}
INVESTMENT_FORMATS = {**FORMATS, "capex": MONEY, "fixed_cost": MONEY, "unit_cost": MONEY, "value": MONEY,
                      "break_even_capex": MONEY}
INVESTMENT_HEADERS = {"build_period": "build period", "available_from": "available from",
                      "fixed_cost": "fixed cost", "unit_cost": "unit cost", "lead_time": "lead time",
                      "value": "value (cost without it - plan cost)", "break_even_capex": "break-even capex"}


def summary_style(values: tuple) -> dict:
    """The Summary's value column: left-aligned, and a number formatted as money or a quantity."""
    label, value = values[0], values[1]
    style = {"alignment": LEFT}
    if isinstance(value, float):
        money = any(w in str(label).lower() for w in ("cost", "credit", "bound"))
        style["number_format"] = MONEY if money else QUANTITY
    return {1: style}


def write_plan(result: SolveResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the plan (Summary, Flows, Utilization, Compliance, Sensitivity) to a new workbook at
    ``path``; without a plan, Summary (status stated) and Diagnosis."""
    path = check_output_path(path, list(inputs))
    with streaming_workbook() as wb:
        write_table(wb, "Summary", result.summary, row_style=summary_style)
        if not result.has_plan:
            write_table(wb, "Diagnosis", result.diagnosis_table())
            return save_atomically(wb, path)
        write_costs_by_period(wb, result)
        if len(result.investments):
            write_table(wb, "Investments", investment_sheet(result), INVESTMENT_FORMATS, INVESTMENT_HEADERS)
        if len(result.inventory):
            write_table(wb, "Inventory", result.inventory[INVENTORY_COLUMNS],
                        {**FORMATS, "opening": QUANTITY, "closing": QUANTITY, "holding_cost": MONEY,
                         "holding": MONEY}, {"holding_cost": "holding cost per unit", "holding": "holding cost"})
        write_table(wb, "Flows", result.flows)
        write_table(wb, "Utilization", result.utilization)
        write_table(wb, "Compliance", result.compliance.reindex(columns=COMPLIANCE_COLUMNS))
        write_table(wb, "Sensitivity", result.sensitivity, {**FORMATS, "value": QUANTITY, "used": QUANTITY,
                                                            "price": MONEY, "range_low": QUANTITY,
                                                            "range_high": QUANTITY})
        return save_atomically(wb, path)



def write_costs_by_period(wb, result: SolveResult) -> None:
    """Each cost part per period (nominal), the discount factor and the discounted total, and below the
    table a stacked column chart of the cost parts by period."""
    table = result.costs_by_period
    formats = {**{part: MONEY for part in (*COST_PARTS, "nominal_total", "discounted_total")},
               "discount_factor": "0.0000"}
    ws = write_table(wb, "Costs by period", table, formats, COST_HEADERS)
    parts = [i + 2 for i, part in enumerate(COST_PARTS) if table[part].abs().sum() > 0]
    chart = bar_chart("Cost by period (nominal)", "cost", stacked=True)
    for column in parts:  # one series per cost part that occurs
        chart.add_data(Reference(ws, min_col=column, min_row=1, max_row=len(table) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(table) + 1))
    ws.add_chart(chart, f"A{len(table) + 4}")


def investment_sheet(result: SolveResult):
    """The Investments sheet: one row per option; the option values when ``--option-values`` computed them
    (a note says why a divisible option has none)."""
    table = result.investments.drop(columns=["fractions"], errors="ignore")
    if "note" not in table:
        table = table.assign(note=["divisible: fractions in Utilization" if d else "" for d in table["divisible"]])
    built = table["built"]
    table = table.assign(built=[f"{b:.0%}" if d else ("yes" if b else "no")
                                for b, d in zip(built, table["divisible"], strict=True)])
    return table

