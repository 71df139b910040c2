"""Chart helpers of the layouts: a bar chart, and a block of a table's rows plotted one series per column."""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference, Series


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


def plot_rows(ws, chart, first: int, last: int, categories: str, series: list[str]) -> None:
    """Chart frame rows ``first`` to ``last`` (positions from 0) of the table written on ``ws`` (one of
    ``optimizer.writing.table.write_table``'s sheets): one series per column of ``series``, named by it, against
    the ``categories`` column."""
    number = {name: index + 1 for index, name in enumerate(ws.columns_written)}
    for name in series:
        values = Reference(ws, min_col=number[name], min_row=first + 2, max_row=last + 2)
        chart.series.append(Series(values, title=name))
    chart.set_categories(Reference(ws, min_col=number[categories], min_row=first + 2, max_row=last + 2))
