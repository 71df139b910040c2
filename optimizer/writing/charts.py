"""Chart helpers of the layouts: a bar chart, a line chart, and a block of a table's rows plotted one series per
column.

Charts must not mislead a reader who compares lengths and slopes:

- a bar's length is its value: the value axis of a bar or column chart starts at zero, set explicitly in the
  chart's XML (Excel and LibreOffice otherwise pick a minimum near the smallest bar, and a 7% difference looks
  like 4x); where the values go below zero the axis spans them (and zero);
- a line chart marks each point it was drawn through and joins them with straight lines, never a smoothed
  curve, so that a kink between two solved points is seen as one; a sweep's or frontier's line shows the cost's
  change from its first point, on an axis from zero (``from_zero``), not a total on an axis cut near its values.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.marker import Marker

HEIGHT_CM, WIDTH_CM = 9, 18


def bar_chart(title: str, y_title: str, stacked: bool = False) -> BarChart:
    """A column chart with both axes shown (openpyxl 3.1 would hide them) and its value axis from zero,
    stacked when asked."""
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.height, chart.width = HEIGHT_CM, WIDTH_CM
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 would hide both axes
    chart.y_axis.scaling.min = 0
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    return chart


def line_chart(title: str, x_title: str, y_title: str) -> LineChart:
    """A line chart with both axes shown; :func:`plot_rows` marks its points."""
    chart = LineChart()
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.height, chart.width = HEIGHT_CM, WIDTH_CM
    chart.x_axis.delete = chart.y_axis.delete = False
    return chart


def from_zero(chart, values) -> None:
    """The chart's value axis reaches zero: it starts there when every value is zero or more, and stops there when
    every value is zero or less (otherwise it spans both)."""
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    if not len(values) or values.min() >= 0:
        chart.y_axis.scaling.min = 0
    elif values.max() <= 0:
        chart.y_axis.scaling.max = 0


def plot_rows(ws, chart, first: int, last: int, categories: str, series: list[str]) -> None:
    """Chart frame rows ``first`` to ``last`` (positions from 0) of the table written on ``ws`` (one of
    ``optimizer.writing.table.write_table``'s sheets): one series per column of ``series``, named by it, against
    the ``categories`` column. A line series is marked at each point and straight; a bar chart's value axis
    reaches below zero only where a value does (the sheet's ``column_range`` says), and stops at zero when every
    value is negative."""
    number = {name: index + 1 for index, name in enumerate(ws.columns_written)}
    for name in series:
        values = Reference(ws, min_col=number[name], min_row=first + 2, max_row=last + 2)
        line = Series(values, title=name)
        if isinstance(chart, LineChart):
            line.marker = Marker(symbol="circle", size=6)
            line.smooth = False
        chart.series.append(line)
    chart.set_categories(Reference(ws, min_col=number[categories], min_row=first + 2, max_row=last + 2))
    if isinstance(chart, BarChart):
        ranges = [getattr(ws, "column_range", {}).get(name, (0.0, 0.0)) for name in series]
        if any(low < 0 for low, _ in ranges):  # negative bars (credits): the axis spans them and zero
            chart.y_axis.scaling.min = None
            chart.x_axis.tickLblPos = "low"  # the categories below the bars, not on the zero line among them
            if all(high <= 0 for _, high in ranges):
                chart.y_axis.scaling.max = 0
