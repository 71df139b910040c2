"""The comparison workbook: the Comparison table with its cost chart, SupplyMix (quantity by policy set
and origin group, with stacked charts), and every plan's tables stacked with a ``policy`` column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter

from optimizer.compare import origin_groups
from optimizer.results import COST_PARTS
from optimizer.writing.charts import bar_chart, plot_column
from optimizer.writing.guard import text_cell
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import (
    BOLD,
    FORMATS,
    HEADERS,
    MONEY,
    PERCENT,
    QUANTITY,
    create_sheet,
    declare_dimension,
    streaming_workbook,
    write_table,
)

COMPARISON_HEADERS = {
    "total_cost": "total cost", "vs_baseline": "vs baseline", "vs_baseline_pct": "vs baseline %",
    "cost_per_unit_demand": "cost per unit of demand", "rule_checks": "rule checks",
    "binding_checks": "binding checks", "cost_per_point": "cost change per +1 pp of all share bounds",
    "investment_fixed": "investment fixed",
}



def write_comparison(comparison, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Comparison, SupplyMix (with charts), and every plan's tables with a ``policy`` column."""
    path = check_output_path(path, list(inputs))
    with streaming_workbook() as wb:
        table = comparison.table()
        formats = {**FORMATS, **{part: MONEY for part in COST_PARTS}, "total_cost": MONEY, "vs_baseline": MONEY,
                   "vs_baseline_pct": PERCENT, "cost_per_unit_demand": MONEY, "cost_per_point": MONEY}
        ws = write_table(wb, "Comparison", table, formats, headers={**HEADERS, **COMPARISON_HEADERS})
        anchor_row = len(table) + 4
        plot_column(ws, table, "total_cost", bar_chart("Total cost by policy set", "total cost"),
                     f"A{anchor_row}")
        _write_supply_mix(wb, comparison, ws, anchor_row)
        if len(comparison.network.investments):
            write_table(wb, "Decisions", comparison.decisions())
        write_table(wb, "Flows", comparison.stacked("flows"))
        write_table(wb, "Utilization", comparison.stacked("utilization"))
        write_table(wb, "Compliance", comparison.stacked("compliance").drop(columns="rule_row", errors="ignore"))
        diagnosis = [r.diagnosis_table().assign(policy=r.policy) for r in comparison.results if r.diagnosis]
        if diagnosis:
            frame = pd.concat(diagnosis, ignore_index=True)
            write_table(wb, "Diagnosis", frame[["policy", *[c for c in frame.columns if c != "policy"]]])
        return save_atomically(wb, path)


def _write_supply_mix(wb: Workbook, comparison, ws_charts, anchor_row: int) -> None:
    """SupplyMix: per item, a bold title, then quantity by policy (rows) and origin group (columns);
    its stacked bar chart goes on ``ws_charts`` below the cost chart."""
    mix = comparison.supply_mix()
    groups = origin_groups(comparison.network)
    units = {i: (item.unit or "units") for i, item in comparison.network.items.items()}
    blocks = []
    for item in sorted(mix["item"].unique()) if len(mix) else []:
        wide = (mix[mix["item"] == item].pivot_table(index="policy", columns="group", values="quantity",
                                                     aggfunc="sum")
                .reindex(index=[r.policy for r in comparison.results], columns=groups).fillna(0.0))
        blocks.append((item, wide.loc[:, (wide != 0).any(axis=0)]))

    ws_mix = create_sheet(wb, "SupplyMix")
    ws_mix.column_dimensions["A"].width = 24
    for letter in "BCDEFGH":
        ws_mix.column_dimensions[letter].width = 16
    if blocks:  # each block: title, header, one row per policy set, then a blank row
        last_row = sum(len(wide) + 3 for _, wide in blocks) - 1
        last_column = max(len(wide.columns) + 1 for _, wide in blocks)
        declare_dimension(ws_mix, f"A1:{get_column_letter(last_column)}{last_row}")
    else:
        declare_dimension(ws_mix, "A1:A1")
    row = 1
    for index, (item, wide) in enumerate(blocks):
        if index:
            ws_mix.append([])
        ws_mix.append([text_cell(ws_mix, f"{item} supplied by origin group ({units[item]})", font=BOLD)])
        header_row = row + 1
        ws_mix.append([text_cell(ws_mix, name, font=BOLD) for name in ["policy", *wide.columns]])
        for policy, values in wide.iterrows():
            cells = [text_cell(ws_mix, float(v), number_format=QUANTITY) for v in values]
            ws_mix.append([text_cell(ws_mix, policy), *cells])
        chart = bar_chart(f"{item}: supply by origin group", units[item], stacked=True)
        chart.add_data(Reference(ws_mix, min_col=2, max_col=len(wide.columns) + 1, min_row=header_row,
                                 max_row=header_row + len(wide)), titles_from_data=True)
        chart.set_categories(Reference(ws_mix, min_col=1, min_row=header_row + 1, max_row=header_row + len(wide)))
        ws_charts.add_chart(chart, f"A{anchor_row + 20 * (index + 1)}")
        row = header_row + len(wide) + 2

