"""Supplier-count rules: ``max_suppliers``, ``min_suppliers`` and ``single_source`` (at most one).

Binaries ``uses[o, d, t]`` mark the `from` sites delivering the rule's items to each `to` site per
period; every such flow is at most its need bound times ``uses``, and ``sum uses`` is bounded by
``value`` per (to site, period).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.network import RuleSpec
from optimizer.rules.base import COMPLIANCE_COLUMNS, RuleType, add_block, register


class CountRule(RuleType):
    """The common statement of the count rules; ``sense`` is "<=" (at most) or ">=" (at least)."""

    sense: str
    value_format = "number"

    def state(self, formulation, model):
        terms, rule, flows = model.terms, model.rule, formulation.flows
        var = terms.var[terms.selected]
        if not len(var):
            sites = flows.loc[terms.var, ["destination", "period"]].drop_duplicates().reset_index(drop=True)
            if self.sense == ">=" and rule.value > 0 and len(sites):  # no `from` site can deliver: an empty row
                add_block(formulation, model, "count", sites, self.sense, float(rule.value), [], [], [])
            return
        sub = flows.loc[var, ["origin", "destination", "item", "period"]]
        pairs = sub[["origin", "destination", "period"]].drop_duplicates().reset_index(drop=True)
        uses = formulation.add_family(f"uses_row_{rule.row}", pairs, 0.0, 1.0, integer=True)
        model.families["uses"] = uses.name
        pair_of = pd.Series(np.arange(len(pairs)), index=pd.MultiIndex.from_frame(pairs)).reindex(
            pd.MultiIndex.from_frame(sub[["origin", "destination", "period"]])).to_numpy()
        need = formulation.need.reindex(pd.MultiIndex.from_frame(sub[["item", "period"]])).to_numpy()
        n = len(var)
        add_block(formulation, model, "link", sub.reset_index(drop=True), "<=", 0.0,
                  np.r_[np.arange(n), np.arange(n)], np.r_[var, uses.index[pair_of]], np.r_[np.ones(n), -need],
                  suffix="_link")
        sites = pairs[["destination", "period"]].drop_duplicates().reset_index(drop=True)
        site_of = pd.Series(np.arange(len(sites)), index=pd.MultiIndex.from_frame(sites)).reindex(
            pd.MultiIndex.from_frame(pairs[["destination", "period"]])).to_numpy()
        add_block(formulation, model, "count", sites, self.sense, float(rule.value), site_of, uses.index,
                  np.ones(len(pairs)))
        model.data["pairs"] = pairs.assign(var=uses.index)
        if self.sense == ">=":
            self.state_minimum(formulation, model, pairs, pair_of, var, uses.index)

    def state_minimum(self, formulation, model, pairs, pair_of, var, uses_index) -> None:
        """What makes a supplier count toward a minimum (min_suppliers only)."""

    def compliance(self, formulation, model, values, duals):
        """Suppliers used per (to site, period) against the bound."""
        rule, pairs = model.rule, model.data.get("pairs")
        if pairs is None:
            return None
        used = pairs.assign(used=values[pairs["var"].to_numpy()] > 0.5)
        counts = used.groupby(["period", "destination"], sort=False)["used"].sum().reset_index()
        bound = float(rule.value)
        return pd.DataFrame({
            "policy": rule.policy, "rule": rule.type, "source": f"Policies row {rule.row}",
            "items": rule.items_text or "(all)", "from": rule.from_text or "(all)", "to": rule.to_text or "(all)",
            "basis": "suppliers", "scope": "each_destination", "period": counts["period"],
            "destination": counts["destination"], "from_flow": counts["used"].astype(float), "total_flow": np.nan,
            "share": np.nan, "sense": self.sense, "bound": bound, "binding": counts["used"] == bound,
            "cost_per_point": np.nan,
            "met": counts["used"] <= bound if self.sense == "<=" else counts["used"] >= bound,
            "rule_row": rule.row,
        })[[*COMPLIANCE_COLUMNS, "rule_row"]]


@register
class MaxSuppliers(CountRule):
    name = "max_suppliers"
    spec = RuleSpec("count", "at most `value` distinct `from` sites supply each `to` site", True)
    sense = "<="


@register
class MinSuppliers(CountRule):
    """At least ``value`` distinct `from` sites per `to` site and period; a counted supplier must deliver
    at least 1% of the site's requirement (its demand of those items in the period, or 1% of the items'
    need bound where it has none)."""

    name = "min_suppliers"
    spec = RuleSpec("count", "at least `value` distinct `from` sites supply each `to` site", True)
    sense = ">="

    def state_minimum(self, formulation, model, pairs, pair_of, var, uses_index):
        rule = model.rule
        demand = formulation.network.demand[formulation.network.demand["item"].isin(rule.items)]
        requirement = (demand.groupby(["site", "period"])["quantity"].sum() if len(demand)
                       else pd.Series(dtype=float))
        item_need = formulation.need[formulation.need.index.get_level_values("item").isin(rule.items)]
        fallback = item_need.groupby(level="period").sum()
        floor = 0.01 * requirement.reindex(pd.MultiIndex.from_frame(
            pairs[["destination", "period"]].rename(columns={"destination": "site"}))).to_numpy()
        floor = np.where(np.isnan(floor) | (floor <= 0), 0.01 * pairs["period"].map(fallback).to_numpy(), floor)
        n = len(var)
        add_block(formulation, model, "minimum", pairs, ">=", 0.0, np.r_[pair_of, np.arange(len(pairs))],
                  np.r_[var, uses_index], np.r_[np.ones(n), -floor], suffix="_min")


@register
class SingleSource(CountRule):
    """``single_source``: at most one `from` site supplies each `to` site per period (max_suppliers 1)."""

    name = "single_source"
    spec = RuleSpec(None, "at most one `from` site supplies each `to` site", True, fixed_value=1.0)
    sense = "<="

