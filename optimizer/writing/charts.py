"""Chart helpers of the comparison and sweep layouts: a bar chart, and one table column plotted."""

from __future__ import annotations

import pandas as pd
from openpyxl.chart import BarChart, Reference


def column_number(frame: pd.DataFrame, column: str) -> int:
    """The Excel column number (1 for A) of ``column`` in a table written from column A."""
    return list(frame.columns).index(column) + 1


def bar_chart(title: str, y_title: str, stacked: bool = False) -> BarChart:
    """A column chart with both axes shown (openpyxl 3.1 would hide them), stacked when asked."""
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.height, chart.width = 9, 18
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 would hide both axes
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    return chart


def plot_column(ws, table: pd.DataFrame, column: str, chart, anchor: str) -> None:
    """Chart one column of a table written from row 1 of ``ws``, against its first column."""
    n = len(table)
    chart.add_data(Reference(ws, min_col=column_number(table, column), min_row=1, max_row=n + 1),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
    chart.legend = None
    ws.add_chart(chart, anchor)
