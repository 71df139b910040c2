"""Reasons there is no plan (``Finding``), and the wording they share: which rows, which period.

Diagnosis (``optimizer.diagnosis``) orders the search; each rule type (``optimizer.rules``) explains
its own rows with these pieces, so every message names rows and periods the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.network import IMPLICIT_PERIOD, Network

#: Numbers closer than this count as equal when judging shortfalls and shares.
TOLERANCE = 1e-6
#: The blocks of the physical model: demand, balances, capacities, discrete supply, options and stock
#: (diagnosis keeps them hard while it relaxes rules).
PHYSICAL_BLOCKS = ("demand", "balance", "supply_capacity", "lane_capacity", "lane_pair_capacity", "throughput",
                   "option_capacity", "build_once", "forced_build", "stock_capacity", "stock_final", "open_upper",
                   "open_lower")


@dataclass
class Finding:
    """One reason there is no plan, pointing at the workbook rows to change."""

    kind: str
    sheet: str
    rows: list[int]
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sheet": self.sheet, "row": self.rows[0] if self.rows else None,
                "rows": self.rows, "message": self.message, "numbers": self.numbers}


def rows_text(sheet: str, rows) -> str:
    """``Supply rows 3, 5`` (sorted, each once), or nothing without rows."""
    rows = sorted({int(r) for r in rows})
    if not rows:
        return ""
    return f"{sheet} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"


def fmt(value: float) -> str:
    """A quantity for a message: six significant digits, thousands separated."""
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def in_period(network: Network, period: str) -> str:
    """' in 2027', or nothing for the single implicit period."""
    return "" if network.periods == (IMPLICIT_PERIOD,) else f" in {period}"


def unit_of(network: Network, item: str) -> str:
    """' GWh' for an item with a unit, else nothing."""
    unit = network.items[item].unit
    return f" {unit}" if unit else ""
