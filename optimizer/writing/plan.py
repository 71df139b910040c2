"""The plan workbook of one solve: Summary, Flows, Utilization, Compliance and Sensitivity; without a plan,
the Summary (its status stated) and the Diagnosis."""

from __future__ import annotations

from pathlib import Path

from optimizer.results import SolveResult
from optimizer.rules import COMPLIANCE_COLUMNS
from optimizer.writing.save import check_output_path, save_atomically
from optimizer.writing.table import FORMATS, LEFT, MONEY, QUANTITY, streaming_workbook, write_table


def _summary_style(values: tuple) -> dict:
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
        write_table(wb, "Summary", result.summary, row_style=_summary_style)
        if not result.has_plan:
            write_table(wb, "Diagnosis", result.diagnosis_table())
            return save_atomically(wb, path)
        write_table(wb, "Flows", result.flows)
        write_table(wb, "Utilization", result.utilization)
        write_table(wb, "Compliance", result.compliance.reindex(columns=COMPLIANCE_COLUMNS))
        write_table(wb, "Sensitivity", result.sensitivity, {**FORMATS, "value": QUANTITY, "used": QUANTITY,
                                                            "price": MONEY, "range_low": QUANTITY,
                                                            "range_high": QUANTITY})
        return save_atomically(wb, path)

