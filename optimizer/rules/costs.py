"""Rules that change costs rather than constrain: ``tariff``, ``credit`` and ``threshold_credit``.

``tariff`` and ``credit`` add to the per-unit cost of the flows they match (of their items, from
`from` sites into `to` sites, in the periods they cover); the formulation adds every rule's
contributions up once all rules are stated. ``threshold_credit`` earns ``value`` per unit of demand
where the share rule it requires holds: it prices that rule's ``met`` binaries.

Each reports its Compliance rows like every other rule, per period (and destination): the flow it matched
and the cost it added then (``cost``, nominal; a credit is negative), checking no bound (no ``sense``, never
binding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.network import RuleSpec
from optimizer.findings import fmt
from optimizer.rules.base import ALL_DESTINATIONS, COMPLIANCE_COLUMNS, RuleType, register
from optimizer.rules.shares import measured_compliance


def priced_compliance(model, values: np.ndarray, per_unit: np.ndarray) -> pd.DataFrame:
    """The Compliance rows of a rule that prices the flows it matches: per row of its terms, the flow from its
    `from` sites, the total flow (in its basis), the share, and the nominal cost it added (``per_unit`` of
    each matched flow times the flow), checking no bound."""
    terms = model.terms
    n = len(terms.rows)
    frame = measured_compliance(model, values, np.nan, "", np.full(n, None), np.full(n, np.nan), None)
    added = np.bincount(terms.row, weights=terms.selected * per_unit * values[terms.var], minlength=n)
    return frame.assign(met=None, cost=np.where(np.abs(added) > 1e-9, added, 0.0))


def priced_summary(rows: pd.DataFrame, what: str) -> str:
    """One line for the Comparison sheet: the rule, the flow it matched and what it added to the cost."""
    first = rows.iloc[0]
    return (f"{first['source']} {first['rule']} {first['items']} from {first['from']}: {what} "
            f"{rows['cost'].sum():,.2f} (nominal) on {fmt(rows['from_flow'].sum())} matched "
            f"({first['basis']})")


@register
class Tariff(RuleType):
    """``tariff``: ``policy_tariff_rate += value`` on matching flows (adds to the Tariffs sheet's rates)."""

    name = "tariff"
    spec = RuleSpec("amount", "extra ad valorem rate `value` on the Supply unit_cost of matching flows",
                    amount_hint="a rate (0.25 = 25%)", rate=True)
    value_format = "percent"

    def state(self, formulation, model):
        terms = model.terms
        model.flow_costs["policy_tariff_rate"] = (terms.var[terms.selected], float(model.rule.value))

    def compliance(self, formulation, model, values, duals):
        """The duty it charged: its rate on the goods' valuation."""
        valuation = formulation.flows["supply_unit_cost"].to_numpy(dtype=float)[model.terms.var]
        return priced_compliance(model, values, float(model.rule.value) * valuation)

    def summary(self, rows):
        return priced_summary(rows, "duty")


@register
class Credit(RuleType):
    """``credit``: ``credit += value`` per unit of matching flow (e.g. 45X, $35/kWh of US cells)."""

    name = "credit"
    spec = RuleSpec("amount", "credit of `value` per unit of matching flow")
    value_format = "money"

    def state(self, formulation, model):
        terms = model.terms
        model.flow_costs["credit"] = (terms.var[terms.selected], float(model.rule.value))

    def compliance(self, formulation, model, values, duals):
        """The credit it earned (negative: it lowers the cost)."""
        return priced_compliance(model, values, np.full(len(model.terms.var), -float(model.rule.value)))

    def summary(self, rows):
        return priced_summary(rows, "credit")


@register
class ThresholdCredit(RuleType):
    """``threshold_credit``: earn ``value`` per unit of demand of its items at its `to` sites in a period
    (and, for an ``each_destination`` rule, at a `to` site) where the share rule on Policies row
    ``requires`` covers it and holds (its ``met`` binary is 1)."""

    name = "threshold_credit"
    spec = RuleSpec("amount", "credit of `value` per unit of demand if the share rule on Policies row "
                              "`requires` is met", True, needs_requires=True)
    value_format = "money"

    def state(self, formulation, model):
        pass  # everything happens in link, once the required rule is stated

    def link(self, formulation, model):
        rule = model.rule
        required = formulation.rules[rule.requires]
        met_name = required.families["met"]
        met = formulation.families[met_name]
        demand = formulation.network.demand
        demand = demand[demand["item"].isin(rule.items) & demand["site"].isin(rule.to_sites)]
        if not len(demand):
            return
        periods = set(rule.periods(formulation.network.periods))
        demand = demand[demand["period"].isin(periods)]
        keys = met.keys
        if (keys["destination"] == ALL_DESTINATIONS).all():
            earned = demand.groupby("period")["quantity"].sum().reindex(keys["period"]).fillna(0.0).to_numpy()
        else:
            earned = demand.groupby(["site", "period"])["quantity"].sum().reindex(
                pd.MultiIndex.from_frame(keys[["destination", "period"]])).fillna(0.0).to_numpy()
        model.family_costs.append((met_name, np.arange(len(met)), -float(rule.value) * np.asarray(earned, dtype=float),
                                   "credits"))
        model.data["earned"] = (met_name, np.asarray(earned, dtype=float))

    def compliance(self, formulation, model, values, duals):
        """Per row of the share rule it requires (a period, or a period and destination): whether that rule was
        met (``met``), and the credit earned (``cost``, negative), on the demand it pays for (``total_flow``)."""
        if "earned" not in model.data:
            return None
        rule = model.rule
        name, earned = model.data["earned"]
        met = formulation.family_values(values, name) > 0.5
        keys = formulation.families[name].keys
        n = len(keys)
        credit = -float(rule.value) * earned * met
        return pd.DataFrame({
            "policy": rule.policy, "rule": rule.type, "source": f"Policies row {rule.row}",
            "items": rule.items_text or "(all)", "from": rule.from_text or "(all)", "to": rule.to_text or "(all)",
            "basis": "quantity", "scope": rule.scope, "period": keys["period"].to_numpy(),
            "destination": keys["destination"].to_numpy(), "from_flow": np.where(met, earned, 0.0),
            "total_flow": earned, "share": np.nan, "sense": "", "bound": np.nan, "binding": np.full(n, None),
            "cost_per_point": np.nan, "met": met, "cost": np.where(np.abs(credit) > 1e-9, credit, 0.0),
            "rule_row": rule.row}).reindex(columns=[*COMPLIANCE_COLUMNS, "rule_row"])

    def summary(self, rows):
        first = rows.iloc[0]
        return (f"{first['source']} threshold_credit {first['items']}: earned in {int(rows['met'].sum())}/"
                f"{len(rows)}, credit {rows['cost'].sum():,.2f} (nominal)")
