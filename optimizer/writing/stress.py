"""The stress workbook (``sourcing stress``): an Overview (the question, the three most exposed sites with their time
to survive against their time to recover and their impact, how many sites lose sales within their recovery time,
and a bar chart of the risk exposure index of the top 15), the Summary, the Stress table (one row per site, by
rank), Lost by item (site x item); without a plan, the Overview, the Summary and the plan's Diagnosis."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.stress import StressResult, weeks_text
from optimizer.writing.charts import bar_chart, plot_rows
from optimizer.writing.overview import Line, write_overview
from optimizer.writing.plan import summary_style
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import (
    DISCOUNTED,
    FORMATS,
    MONEY,
    NOMINAL,
    QUANTITY,
    Labels,
    reference,
    streaming_workbook,
    write_table,
)

#: The sites the Overview's chart shows (by rank) and those it names (the most exposed).
CHART_SITES, NAMED_SITES = 15, 3
WEEKS = "#,##0.0#"
INDEX = "0.000"
#: A window's money columns: costs as they arise in the window (undiscounted).
WINDOW_MONEY = ("lost_value", "window_cost", "baseline_window_cost", "performance_impact")
HEADERS = {"recovery_weeks": "recovery weeks", "recovery_from": "recovery from", "tts_weeks": "TTS weeks",
           "survives_period": "survives the period", "loses_sales": "loses sales before it recovers",
           "lost_units": "lost units", "lost_value": "lost value", "window_cost": "window cost",
           "baseline_window_cost": "baseline window cost", "performance_impact": "performance impact",
           "rei": "REI"}


def summary(result: StressResult) -> pd.DataFrame:
    """The Summary sheet's rows: what was tested, on which plan, and how."""
    plan = result.plan
    rows = [("Workbook", result.network.source or ""), ("Policy set", result.policy)]
    if result.scenario:
        rows.append(("Scenario", result.scenario))
    rows += [("Status of the plan", plan.status), ("Plan total cost", plan.total_cost),
             ("Period stress-tested", result.period), ("Weeks in a period", result.period_weeks),
             ("Window of a site without recovery_weeks (weeks)", result.weeks),
             ("Shortage cost of a Demand row without one", "not given (--shortage-cost)"
              if result.shortage_cost is None else result.shortage_cost),
             ("Policy rules", "left out (--ignore-rules)" if result.ignore_rules
              else "the linear ones (discrete rules are left out of windows)"),
             ("Sites stress-tested", len(result.table)),
             ("Sites losing sales within their recovery time", int(result.table["loses_sales"].sum())
              if len(result.table) else 0)]
    if plan.message:
        rows.append(("Message", plan.message))
    return pd.DataFrame(rows, columns=["field", "value"])


def write_stress(result: StressResult, path: str | Path, inputs: list[str | Path] = ()) -> Path:
    """Write the stress test to a new workbook at ``path``."""
    path = check_output_path(path, list(inputs))
    subject = f"stress test of policy set {result.policy}, {result.period}"
    labels = Labels.of(result.network, subject)
    with streaming_workbook(labels) as wb:
        rows = summary(result)
        # the plan's total is discounted, as solve reports it; a window's costs arise in it (nominal)
        basis = {"Plan total cost": DISCOUNTED, "Shortage cost of a Demand row without one": NOMINAL}
        rows["field"] = [labels.money(f, basis[f]) if f in basis and isinstance(v, float) else f
                         for f, v in zip(rows["field"], rows["value"], strict=True)]
        ws_summary = write_table(wb, "Summary", rows, row_style=summary_style, one_page=True)
        lines = _question(result, rows, ws_summary)
        if not result.has_plan:
            diagnosis = result.plan.diagnosis_table()
            ws_diagnosis = write_table(wb, "Diagnosis", diagnosis)
            lines += [Line("no plan", f"{row.kind}: {row.message}", see=reference(ws_diagnosis, "message", i))
                      for i, row in enumerate(diagnosis.itertuples())]
            write_overview(wb, lines, [])
            return save_atomically(wb, path)
        table = result.table
        demanded = labels.unit_of(result.window.demand["item"]) if result.window is not None else None
        headers = dict(HEADERS)
        if demanded and len(set(labels.units.values())) != 1:  # else write_table adds the one unit itself
            headers["lost_units"] = labels.with_unit("lost units", demanded)
        ws = write_table(wb, "Stress", table, {**FORMATS, "recovery_weeks": WEEKS, "tts_weeks": WEEKS,
                                               "lost_units": QUANTITY, "lost_value": MONEY, "window_cost": MONEY,
                                               "baseline_window_cost": MONEY, "performance_impact": MONEY,
                                               "rei": INDEX}, headers, basis=dict.fromkeys(WINDOW_MONEY, NOMINAL))
        write_table(wb, "Lost by item", result.lost, {**FORMATS, "lost_units": QUANTITY, "lost_value": MONEY},
                    {"lost_units": "lost units", "lost_value": "lost value"}, basis={"lost_value": NOMINAL})
        lines += _answer(result, ws, labels)
        write_overview(wb, lines, [], _chart(table, ws))
        return save_atomically(wb, path)


def _question(result: StressResult, rows: pd.DataFrame, ws) -> list[Line]:
    """What was asked: the workbook, the policy set (and scenario), the period and the windows."""
    position = {field: i for i, field in enumerate(rows["field"])}
    values = dict(zip(rows["field"], rows["value"], strict=True))

    def line(section: str, field: str, item: str) -> Line:
        return Line(section, item, values[field], reference(ws, "value", position[field]))

    lines = [Line("question", "if one site goes down for its time to recover, how much does the plan lose, and "
                              "how long can it run without the site?"),
             line("question", "Workbook", "workbook"), line("question", "Policy set", "policy set")]
    if result.scenario:
        lines.append(line("question", "Scenario", "scenario"))
    lines += [line("question", "Period stress-tested", "period"),
              line("question", "Weeks in a period", "weeks in a period"),
              line("answer", "Status of the plan", "status of the plan")]
    return lines


def _answer(result: StressResult, ws, labels: Labels) -> list[Line]:
    """The three most exposed sites (TTS against recovery, impact), and how many lose sales within their recovery
    time, each repeating cells of the Stress sheet."""
    table = result.table
    lines = [Line("answer", "sites stress-tested", len(table), reference(ws, "site", 0, len(table) - 1)
                  if len(table) else "")]
    losing = [int(i) for i in table.index[table["loses_sales"].astype(bool)]]
    lines.append(Line("answer", "sites that lose sales within their recovery time (TTS below it)", len(losing),
                      reference(ws, "loses_sales", 0, len(table) - 1) if len(table) else ""))
    for i, row in enumerate(table.head(NAMED_SITES).itertuples()):
        survives = f"survives the whole period ({weeks_text(row.tts_weeks)} weeks)" if row.survives_period else \
            f"survives {weeks_text(row.tts_weeks)} weeks"
        text = (f"most exposed #{row.rank}: {row.site} (REI {row.rei:.3f}) {survives} without it and needs "
                f"{weeks_text(row.recovery_weeks)} weeks to recover; down that long it costs "
                f"{labels.amount(float(row.performance_impact), NOMINAL)} more than the same window with nothing down"
                + (f", {row.lost_units:,.6g} units of demand lost" if row.lost_units > 0 else ""))
        lines.append(Line(f"exposed {i + 1}", text, row.performance_impact, reference(ws, "performance_impact", i),
                          MONEY))
    for i in losing:
        lines.append(Line("finding", table.at[i, "finding"], see=reference(ws, "finding", i)))
    return lines


def _chart(table: pd.DataFrame, ws):
    """The REI of the top sites (by rank), bars from 0 to 1."""
    if not len(table):
        return None
    chart = bar_chart(f"Risk exposure index, top {min(CHART_SITES, len(table))} sites", "REI")
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    plot_rows(ws, chart, 0, min(CHART_SITES, len(table)) - 1, "site", ["rei"])
    return chart
