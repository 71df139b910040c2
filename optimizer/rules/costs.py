"""Rules that change costs rather than constrain: ``tariff``, ``credit`` and ``threshold_credit``.

``tariff`` and ``credit`` add to the per-unit cost of the flows they match (of their items, from
`from` sites into `to` sites, in the periods they cover); the formulation adds every rule's
contributions up once all rules are stated. ``threshold_credit`` earns ``value`` per unit of demand
where the share rule it requires holds: it prices that rule's ``met`` binaries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.network import RuleSpec
from optimizer.rules.base import ALL_DESTINATIONS, RuleType, register


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


@register
class Credit(RuleType):
    """``credit``: ``credit += value`` per unit of matching flow (e.g. 45X, $35/kWh of US cells)."""

    name = "credit"
    spec = RuleSpec("amount", "credit of `value` per unit of matching flow")
    value_format = "money"

    def state(self, formulation, model):
        terms = model.terms
        model.flow_costs["credit"] = (terms.var[terms.selected], float(model.rule.value))


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
