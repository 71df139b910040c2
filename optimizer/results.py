"""Solver output turned into business tables (pandas DataFrames keyed by site, item, period)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from optimizer.backend import SolverOutput
from optimizer.model import Formulation
from optimizer.rules import COMPLIANCE_COLUMNS
from optimizer.rules.base import FLOW_TOLERANCE

#: Parts of the total cost; credits are negative (they lower the cost). ``fixed`` is the fixed cost of
#: the Supply options used (MILP).
COST_PARTS = ("supply", "transport", "tariffs", "credits", "fixed")


@dataclass
class SolveResult:
    """A solved (or unsolvable) sourcing plan for one policy set.

    Tables are empty DataFrames when there is no plan. ``costs`` has the keys of COST_PARTS.
    """

    status: str
    policy: str
    solver: str
    total_cost: float | None
    costs: dict[str, float | None]
    flows: pd.DataFrame
    utilization: pd.DataFrame
    compliance: pd.DataFrame
    summary: pd.DataFrame
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    formulation: Formulation | None = None
    output: SolverOutput | None = None

    @property
    def has_plan(self) -> bool:
        return self.total_cost is not None

    def detached(self) -> SolveResult:
        """A copy without the solver objects, small and picklable (for parallel runs)."""
        return replace(self, formulation=None, output=None)

    def as_dict(self, output_path: str | None = None) -> dict[str, Any]:
        """The fields of ``solve --json``."""
        return {
            "status": self.status, "policy": self.policy, "solver": self.solver,
            "total_cost": self.total_cost, "costs": self.costs, "message": self.message,
            "output": output_path, "stats": self.stats, "diagnosis": self.diagnosis,
            "warnings": list(self.formulation.network.warnings) if self.formulation else [],
        }

    def diagnosis_table(self) -> pd.DataFrame:
        """The Diagnosis sheet: one row per reason, with the sheet and row to change."""
        columns = ["kind", "sheet", "row", "rows", "message", "numbers"]
        if not self.diagnosis:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame(self.diagnosis)
        frame["rows"] = frame["rows"].map(lambda rows: ", ".join(map(str, rows)))
        frame["numbers"] = frame["numbers"].map(
            lambda n: "; ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in n.items() if v is not None))
        return frame[columns]


def flow_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """Non-zero flows with their landed cost split into supply, transport and tariff parts.

    ``supply_unit_cost`` is the value of the goods on the lane (the standard cost at their origin);
    in a single-tier network the flows add up to the total cost, in a multi-tier one the Summary does.
    """
    flows = formulation.flows.assign(quantity=formulation.family_values(values, "flow"))
    flows = flows[flows["quantity"] > FLOW_TOLERANCE]
    sites = formulation.network.sites
    country = {s: site.country for s, site in sites.items()}
    out = pd.DataFrame({
        "period": flows["period"], "item": flows["item"],
        "origin": flows["origin"], "origin_country": flows["origin"].map(country),
        "destination": flows["destination"], "destination_country": flows["destination"].map(country),
        "quantity": flows["quantity"],
        "supply_unit_cost": flows["supply_unit_cost"], "lane_unit_cost": flows["lane_unit_cost"],
        "tariff_rate": flows["tariff_rate"] + flows["policy_tariff_rate"],
        "credit_per_unit": flows["credit"], "landed_unit_cost": flows["supply_unit_cost"] + flows["unit_cost"],
    })
    out["supply_cost"] = out["quantity"] * out["supply_unit_cost"]
    out["transport_cost"] = out["quantity"] * out["lane_unit_cost"]
    out["tariff_cost"] = out["quantity"] * out["tariff_rate"] * out["supply_unit_cost"]
    out["credit_cost"] = -out["quantity"] * out["credit_per_unit"]
    out["total_cost"] = out["quantity"] * out["landed_unit_cost"]
    return out.reset_index(drop=True)


def cost_breakdown(formulation: Formulation, values: np.ndarray) -> dict[str, float]:
    """The objective split into its parts (they add up to the objective): each variable family's
    costs go to its ``cost_part``; a flow's cost splits into transport, tariffs and credits."""
    flows = formulation.flows
    x = formulation.family_values(values, "flow")
    rate = (flows["tariff_rate"] + flows["policy_tariff_rate"]).to_numpy()
    by_family = dict.fromkeys(COST_PARTS, 0.0)
    for name, family in formulation.families.items():
        if family.cost_part is not None:
            by_family[family.cost_part] += float(family.cost @ formulation.family_values(values, name))
    return {
        "supply": by_family["supply"],
        "transport": float(flows["lane_unit_cost"].to_numpy() @ x) + by_family["transport"],
        "tariffs": float((rate * flows["supply_unit_cost"].to_numpy()) @ x) + by_family["tariffs"],
        "credits": -float(flows["credit"].to_numpy() @ x) + by_family["credits"],
        "fixed": by_family["fixed"],
    }


def utilization_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """Every supply option (used or not) and every capacitated lane: used vs capacity."""
    network = formulation.network
    supply = formulation.production
    frames = []
    if len(supply):
        frames.append(pd.DataFrame({
            "resource": "supply", "site": supply["site"], "destination": "", "item": supply["item"],
            "period": supply["period"], "used": formulation.family_values(values, "production"),
            "capacity": supply["capacity"], "source": "Supply row " + supply["row"].astype(str),
        }))
    for name, item_label in (("lane_capacity", None), ("lane_pair_capacity", "(all items)")):
        block = formulation.blocks.get(name)
        if block is None:
            continue
        used = np.bincount(block.row, weights=values[block.var] * block.coef, minlength=len(block))
        rows = block.rows
        # Lanes carrying nothing are left out: large networks have tens of thousands of them.
        keep = used > FLOW_TOLERANCE
        used, rows = used[keep], rows[keep]
        frames.append(pd.DataFrame({
            "resource": "lane", "site": rows["origin"], "destination": rows["destination"],
            "item": rows["item"] if item_label is None else item_label, "period": rows["period"],
            "used": used, "capacity": rows["rhs"],
            "source": "Lanes row " + rows["sheet_row"].astype(str),
        }))
    if not frames:
        return pd.DataFrame(columns=["resource", "site", "destination", "item", "period", "used",
                                     "capacity", "utilization", "at_capacity", "source"])
    out = pd.concat(frames, ignore_index=True)
    out["used"] = out["used"].where(out["used"].abs() > FLOW_TOLERANCE, 0.0)
    cap = out["capacity"].astype(float)
    out["utilization"] = np.where(cap > 0, out["used"] / cap.where(cap > 0, 1.0), np.nan)
    out["at_capacity"] = cap.notna() & (out["used"] >= cap - 1e-7 * np.maximum(1.0, cap.fillna(0)))
    order = {p: i for i, p in enumerate(network.periods)}
    out = out.assign(_p=out["period"].map(order)).sort_values(
        ["resource", "_p", "item", "site", "destination"], kind="stable").drop(columns="_p")
    return out[["resource", "site", "destination", "item", "period", "used", "capacity",
                "utilization", "at_capacity", "source"]].reset_index(drop=True)


def compliance_report(formulation: Formulation, output: SolverOutput) -> pd.DataFrame:
    """For every rule and period (and destination, for scope each_destination): what the rule measures
    in the plan against its bound, each rule type reporting its own rows (``RuleType.compliance``).
    ``rule_row`` keys each row to its rule's Policies row."""
    frames = []
    for model in formulation.rules.values():  # in Policies-row order
        frame = model.type.compliance(formulation, model, output.values, output.duals)
        if frame is not None and len(frame):
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*COMPLIANCE_COLUMNS, "rule_row"])
    return pd.concat(frames, ignore_index=True)


def build_result(formulation: Formulation, output: SolverOutput, stats: dict[str, Any]) -> SolveResult:
    """Assemble the business tables from the solver output."""
    policy = formulation.policy.name
    network = formulation.network
    if output.has_plan:
        values = output.values
        costs = cost_breakdown(formulation, values)
        total = float(sum(costs.values()))
        flows = flow_report(formulation, values)
        utilization = utilization_report(formulation, values)
        compliance = compliance_report(formulation, output)
    else:
        costs = {k: None for k in COST_PARTS}
        total = None
        flows = utilization = compliance = pd.DataFrame()
    summary_rows = [
        ("Workbook", network.source or ""),
        ("Policy set", policy),
        ("Status", output.status),
        ("Solver", output.solver),
        ("Total cost", total),
        ("Supply cost", costs["supply"]),
        ("Transport cost", costs["transport"]),
        ("Tariff cost", costs["tariffs"]),
        ("Credits", costs["credits"]),
        ("Fixed cost", costs["fixed"]),
        ("Total demand", float(network.demand["quantity"].sum())),
        ("Periods", ", ".join(network.periods)),
        ("Model", "MILP" if formulation.is_mip else "LP"),
        ("Proven optimal", "yes" if output.status == "optimal" else "no"),
    ]
    if formulation.is_mip:
        summary_rows += [("MIP gap", output.mip_gap), ("Best bound", output.best_bound)]
    summary_rows += [
        ("Variables", formulation.n_variables),
        ("Flow variables", formulation.n_flows),
        ("Constraints", formulation.n_constraints),
    ]
    if output.message:
        summary_rows.append(("Message", output.message))
    summary = pd.DataFrame(summary_rows, columns=["field", "value"])
    return SolveResult(status=output.status, policy=policy, solver=output.solver, total_cost=total,
                       costs=costs, flows=flows, utilization=utilization, compliance=compliance,
                       summary=summary, message=output.message, stats=stats,
                       formulation=formulation, output=output)
