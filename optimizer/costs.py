"""The parts of the total cost: one registry entry per part.

A part is where a cost of the objective is booked: the Summary's line for it, the column of the Costs by period
and Comparison sheets and the key of ``--json`` ``costs``, whether a workbook can have it at all (capex only
with an Investments sheet), and, for the parts paid per unit of flow, that cost per unit. Every other cost comes
from a variable family through the formulation's ledger (``Formulation.add_costs(family, ..., part, nominal)``):
production (``supply``), Supply fixed costs, capex and salvage, stock. ``optimizer.results`` adds the parts up
(discounted, and nominal by period) from this registry alone, and the residual checker (``tests/plan_check.py``)
recomputes every registered part from the plan's own tables: a part it cannot recompute fails the suite.

Adding a part is one ``CostPart`` here, plus the ledger entries of the family that pays it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from models.network import Network


def _always(network: Network, carbon: bool) -> bool:
    return True


@dataclass(frozen=True)
class CostPart:
    """One part of the total cost. ``per_flow`` gives its cost per unit of each flow from the flows table (None:
    the part comes from the ledger only); ``applies`` says whether a workbook can have it (``carbon``: the
    workbook gives emissions or the policy set has a carbon rule); ``shown`` whether the terminal prints it when
    it is 0."""

    name: str
    summary: str
    meaning: str
    per_flow: Callable[[pd.DataFrame], np.ndarray] | None = None
    applies: Callable[[Network, bool], bool] = _always
    shown: bool = False

    @property
    def header(self) -> str:
        """Its column header (``investment fixed``)."""
        return self.name.replace("_", " ")


#: The parts in their order (Costs by period and Comparison columns, ``--json`` ``costs``).
PARTS: dict[str, CostPart] = {}


def register(part: CostPart) -> CostPart:
    """Add a part to the registry (at the end of the order)."""
    if part.name in PARTS:
        raise ValueError(f"cost part {part.name!r} registered twice")
    PARTS[part.name] = part
    return part


def _has_life(network: Network) -> bool:
    """Whether some investment option has a ``life`` (and so a salvage value)."""
    options = network.investments
    return bool(len(options)) and "life" in options and bool(options["life"].notna().any())


def _column(name: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda flows: flows[name].to_numpy(dtype=float)


register(CostPart("supply", "Supply cost", "production and purchases: Supply and investment options' unit costs",
                  shown=True))
register(CostPart("transport", "Transport cost", "lanes' unit costs", per_flow=_column("lane_unit_cost"),
                  shown=True))
register(CostPart("tariffs", "Tariff cost", "Tariffs rates and tariff rules on the goods' value",
                  per_flow=lambda f: (f["tariff_rate"] + f["policy_tariff_rate"]).to_numpy(dtype=float)
                  * f["supply_unit_cost"].to_numpy(dtype=float), shown=True))
register(CostPart("credits", "Credits", "credit and threshold_credit rules (negative)",
                  per_flow=lambda f: -f["credit"].to_numpy(dtype=float)))
register(CostPart("carbon", "Carbon cost", "co2_price rules on the emissions they match",
                  per_flow=_column("carbon"), applies=lambda network, carbon: carbon))
register(CostPart("fixed", "Fixed cost", "Supply fixed costs of the options used"))
register(CostPart("capex", "Capex", "investment options built, in their build period",
                  applies=lambda network, carbon: bool(len(network.investments))))
register(CostPart("salvage", "Salvage value", "what investment options built have left of their life after the last "
                  "period, credited in it (negative)", applies=lambda network, carbon: _has_life(network)))
register(CostPart("investment_fixed", "Investment fixed cost", "investment options' fixed cost while available",
                  applies=lambda network, carbon: bool(len(network.investments))))
register(CostPart("holding", "Holding cost", "stock at the end of each period",
                  applies=lambda network, carbon: bool(len(network.inventory))))
register(CostPart("shortage", "Shortage cost", "demand left unmet, at its Demand shortage_cost",
                  applies=lambda network, carbon: bool(network.demand["shortage_cost"].notna().any())))

#: The part names, in order.
COST_PARTS = tuple(PARTS)


def parts_of(network: Network, carbon: bool) -> list[CostPart]:
    """The parts a workbook can have (Summary lines, Comparison columns)."""
    return [part for part in PARTS.values() if part.applies(network, carbon)]
