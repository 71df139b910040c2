"""Supplier-count rules: ``max_suppliers``, ``min_suppliers`` and ``single_source`` (at most one).

The rule counts, per `to` site and period, the distinct `from` sites delivering its items there.
- ``max_suppliers`` / ``single_source`` count every site that delivers a positive amount: binaries
  ``uses[o, d, t]`` with every such flow ``x <= M uses`` and ``sum_o uses <= value``.
- ``min_suppliers``: a site counts when it delivers at least 1% of the `to` site's total inbound
  flow of the rule's items in the period (from any site); smaller deliveries are allowed and simply
  do not count. The rule applies where the `to` site receives any of those items. With ``I`` that
  inbound flow and ``D_o`` the delivery of `from` site ``o``: ``D_o - 0.01 I >= -M (1 - uses_o)``,
  an activity binary ``active`` with ``I <= M active``, and ``sum_o uses_o >= value * active``.
``M`` is the most the `to` site can receive of those items in the period (their need bounds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.network import RuleSpec
from optimizer.direct import arrays_from
from optimizer.findings import PHYSICAL_BLOCKS, Finding, in_period
from optimizer.highs import solve_arrays
from optimizer.options import UNLIMITED
from optimizer.rules.base import COMPLIANCE_COLUMNS, FLOW_TOLERANCE, RuleModel, RuleType, add_block, register
from optimizer.rules.shares import rule_label

#: A supplier counts toward a minimum when it delivers at least this share of the inbound flow.
COUNTED_SHARE = 0.01
SITE_PERIOD = ["destination", "period"]


def _positions(keys: pd.DataFrame, of: pd.DataFrame) -> np.ndarray:
    """Row position in ``keys`` (unique rows) of every row of ``of`` (same columns)."""
    return pd.Series(np.arange(len(keys)), index=pd.MultiIndex.from_frame(keys)).reindex(
        pd.MultiIndex.from_frame(of)).to_numpy()


class CountRule(RuleType):
    """What the count rules share: the flows they count and their Compliance rows."""

    sense: str
    value_format = "number"

    def inbound(self, formulation, model: RuleModel) -> pd.DataFrame:
        """The flows the rule measures (its items into its `to` sites in its periods), with ``var`` and
        whether they come from a `from` site."""
        terms = model.terms
        sub = formulation.flows.loc[terms.var, ["origin", "destination", "item", "period"]]
        return sub.assign(var=terms.var, selected=terms.selected).reset_index(drop=True)

    def big_m(self, formulation, flows: pd.DataFrame) -> np.ndarray:
        """The need bound of each flow's item and period: the most it can carry."""
        return formulation.need.reindex(pd.MultiIndex.from_frame(flows[["item", "period"]])).to_numpy()

    def compliance(self, formulation, model, values, duals):
        """Per (to site, period): the suppliers that count (``from_flow``) against the bound, and the
        inbound flow of the rule's items (``total_flow``)."""
        rule, flows = model.rule, model.data.get("flows")
        if flows is None or not len(flows):
            return None
        flows = flows.assign(quantity=values[flows["var"].to_numpy()])
        inbound = flows.groupby(SITE_PERIOD, sort=False)["quantity"].sum()
        delivered = flows[flows["selected"]].groupby(["origin", *SITE_PERIOD], sort=False)["quantity"].sum()
        delivered = delivered.reset_index()
        received = inbound.reindex(pd.MultiIndex.from_frame(delivered[SITE_PERIOD])).to_numpy()
        delivered["counts"] = self.counts(delivered["quantity"].to_numpy(), received)
        counted = delivered.groupby(SITE_PERIOD, sort=False)["counts"].sum().reindex(inbound.index, fill_value=0)
        sites = inbound.reset_index()
        used = counted.to_numpy().astype(float)
        bound = float(rule.value)
        applies = self.applies(inbound.to_numpy())
        met = np.where(applies, used <= bound if self.sense == "<=" else used >= bound, True)
        return pd.DataFrame({
            "policy": rule.policy, "rule": rule.type, "source": f"Policies row {rule.row}",
            "items": rule.items_text or "(all)", "from": rule.from_text or "(all)", "to": rule.to_text or "(all)",
            "basis": "suppliers", "scope": "each_destination", "period": sites["period"],
            "destination": sites["destination"], "from_flow": used, "total_flow": inbound.to_numpy(),
            "share": np.nan, "sense": self.sense, "bound": bound, "binding": applies & (used == bound),
            "cost_per_point": np.nan, "met": met, "rule_row": rule.row,
        }).reindex(columns=[*COMPLIANCE_COLUMNS, "rule_row"])

    def counts(self, delivered: np.ndarray, inbound: np.ndarray) -> np.ndarray:
        """Whether each delivery makes its site count."""
        raise NotImplementedError

    def discrete_findings(self, formulation, model, deadline=UNLIMITED):
        """The MILP of the physical model and this rule alone, its count rows relaxed at a cost: the rows
        that must be violated are impossible with this rule, whatever the other rules."""
        count = model.block(formulation, "count")
        if count is None:
            return []
        lp = arrays_from(formulation, [*PHYSICAL_BLOCKS, *model.blocks.values()])
        lp.cost = np.zeros(lp.n_cols)
        sign = -1.0 if self.sense == "<=" else 1.0
        slack = lp.add_columns(np.ones(len(count)), lp.row_offset[model.blocks["count"]] + np.arange(len(count)),
                               np.full(len(count), sign))
        integer = np.r_[formulation.integer, np.zeros(len(count), dtype=bool)]
        solution = solve_arrays(lp, integer=integer, options=deadline.next_solve())
        if solution.status != "optimal":
            return []
        rule, flows = model.rule, model.data["flows"]
        reach = flows[flows["selected"]].groupby(SITE_PERIOD)["origin"].agg(lambda o: ", ".join(sorted(set(o))))
        findings = []
        for r in np.flatnonzero(solution.x[slack] > 1e-6):
            site, period = count.rows.iloc[r][["destination", "period"]]
            needed = float(rule.value) - sign * float(solution.x[slack[r]])
            findings.append(Finding(
                "rule_unreachable", "Policies", [int(rule.row)],
                f"{rule_label(model)}: {self.asked(rule.value)} into {site}{in_period(formulation.network, period)}, "
                f"but {self.possible(needed)} (suppliers that can deliver there: {reach.get((site, period), 'none')})",
                {"bound": float(rule.value), "possible": needed, "period": period, "destination": site}))
        return findings

    def applies(self, inbound: np.ndarray) -> np.ndarray:
        """Where (per to site and period, by its inbound flow) the bound must hold."""
        return np.ones(len(inbound), dtype=bool)

    def summary(self, rows):
        first = rows.iloc[0]
        used = rows["from_flow"]
        span = f"{used.min():g}" if used.min() == used.max() else f"{used.min():g}-{used.max():g}"
        return (f"{first['source']} {first['rule']} {first['items']} from {first['from']} {first['sense']} "
                f"{first['bound']:g}: {span} suppliers, met {int(rows['met'].astype(bool).sum())}/{len(rows)}")


class AtMost(CountRule):
    """``sum_o uses[o, d, t] <= value``, every positive delivery from `from` site o forcing ``uses``."""

    sense = "<="

    def state(self, formulation, model):
        rule, flows = model.rule, self.inbound(formulation, model)
        model.data["flows"] = flows
        counted = flows[flows["selected"]].reset_index(drop=True)
        if not len(counted):
            return
        pairs = counted[["origin", *SITE_PERIOD]].drop_duplicates().reset_index(drop=True)
        uses = formulation.add_family(f"uses_row_{rule.row}", pairs, 0.0, 1.0, integer=True)
        model.families["uses"] = uses.name
        pair_of = _positions(pairs, counted[["origin", *SITE_PERIOD]])
        n = len(counted)
        add_block(formulation, model, "link", counted[["origin", "destination", "item", "period"]], "<=", 0.0,
                  np.r_[np.arange(n), np.arange(n)], np.r_[counted["var"], uses.index[pair_of]],
                  np.r_[np.ones(n), -self.big_m(formulation, counted)], suffix="_link")
        sites = pairs[SITE_PERIOD].drop_duplicates().reset_index(drop=True)
        add_block(formulation, model, "count", sites, "<=", float(rule.value), _positions(sites, pairs[SITE_PERIOD]),
                  uses.index, np.ones(len(pairs)))

    def counts(self, delivered, inbound):
        return delivered > FLOW_TOLERANCE

    def asked(self, value: float) -> str:
        return f"at most {value:g} supplier{'s' if value != 1 else ''} allowed"

    def possible(self, needed: float) -> str:
        return f"at least {needed:g} are needed to meet its demand"


@register
class MaxSuppliers(AtMost):
    name = "max_suppliers"
    spec = RuleSpec("count", "at most `value` distinct `from` sites supply each `to` site", True)


@register
class SingleSource(AtMost):
    """``single_source``: at most one `from` site supplies each `to` site per period (max_suppliers 1)."""

    name = "single_source"
    spec = RuleSpec(None, "at most one `from` site supplies each `to` site", True, fixed_value=1.0)


@register
class MinSuppliers(CountRule):
    """At least ``value`` `from` sites per `to` site and period where it receives the rule's items, each
    delivering at least 1% of that inbound flow (see the module docstring)."""

    name = "min_suppliers"
    spec = RuleSpec("count", "at least `value` distinct `from` sites supply each `to` site", True)
    sense = ">="

    def state(self, formulation, model):
        rule, flows = model.rule, self.inbound(formulation, model)
        model.data["flows"] = flows
        if not len(flows) or not rule.value:
            return
        sites = flows[SITE_PERIOD].drop_duplicates().reset_index(drop=True)
        site_of = _positions(sites, flows[SITE_PERIOD])
        # The most a site can receive: the need bounds of the items it may receive, each counted once.
        items = flows.assign(site=site_of).drop_duplicates(["site", "item"])
        capacity = np.bincount(items["site"], weights=self.big_m(formulation, items), minlength=len(sites))
        active = formulation.add_family(f"active_row_{rule.row}", sites, 0.0, 1.0, integer=True)
        model.families["active"] = active.name
        n = len(flows)
        # inbound - M active <= 0: a site that receives any of the items must have its suppliers.
        add_block(formulation, model, "active", sites, "<=", 0.0, np.r_[site_of, np.arange(len(sites))],
                  np.r_[flows["var"], active.index], np.r_[np.ones(n), -capacity], suffix="_active")
        counted = flows[flows["selected"]].reset_index(drop=True)
        pairs = counted[["origin", *SITE_PERIOD]].drop_duplicates().reset_index(drop=True)
        uses = formulation.add_family(f"uses_row_{rule.row}", pairs, 0.0, 1.0, integer=True)
        model.families["uses"] = uses.name
        # delivery - 1% inbound - M' uses >= -M': where uses is 1 the delivery is at least 1% of the inbound.
        pair_site = _positions(sites, pairs[SITE_PERIOD])
        relaxation = COUNTED_SHARE * capacity[pair_site]
        in_pair = _positions(pairs, counted[["origin", *SITE_PERIOD]])
        flow_pairs = np.flatnonzero(np.isin(site_of, pair_site))
        to_pairs = pd.DataFrame({"site": site_of[flow_pairs], "var": flows["var"].to_numpy()[flow_pairs]}).merge(
            pd.DataFrame({"site": pair_site, "pair": np.arange(len(pairs))}), on="site")
        entries = pd.DataFrame({
            "row": np.r_[in_pair, to_pairs["pair"], np.arange(len(pairs))],
            "var": np.r_[counted["var"], to_pairs["var"], uses.index],
            "coef": np.r_[np.ones(len(counted)), np.full(len(to_pairs), -COUNTED_SHARE), -relaxation]})
        entries = entries.groupby(["row", "var"], sort=False)["coef"].sum().reset_index()  # a delivery is inbound too
        add_block(formulation, model, "counted", pairs, ">=", -relaxation, entries["row"], entries["var"],
                  entries["coef"], suffix="_counted")
        # sum uses - value * active >= 0 (per to site and period)
        add_block(formulation, model, "count", sites, ">=", 0.0,
                  np.r_[pair_site, np.arange(len(sites))], np.r_[uses.index, active.index],
                  np.r_[np.ones(len(pairs)), np.full(len(sites), -float(rule.value))])

    def counts(self, delivered, inbound):
        return (delivered > FLOW_TOLERANCE) & (
            delivered >= COUNTED_SHARE * inbound - FLOW_TOLERANCE * np.maximum(1.0, inbound))

    def applies(self, inbound):
        return inbound > FLOW_TOLERANCE

    def asked(self, value: float) -> str:
        return f"at least {value:g} suppliers required"

    def possible(self, needed: float) -> str:
        return f"at most {needed:g} can each deliver 1% of its inbound flow"

    def structural(self, formulation, model):
        """A `to` site that must receive the items (it demands them and makes none) with fewer `from`
        sites able to deliver there than the rule asks for."""
        rule, flows = model.rule, model.data.get("flows")
        if flows is None or not rule.value:
            return []
        network = formulation.network
        demand = network.demand[network.demand["item"].isin(rule.items) & network.demand["site"].isin(rule.to_sites)
                                & network.demand["period"].isin(rule.periods(network.periods))
                                & (network.demand["quantity"] > 0)]
        made = network.supply[["site", "item", "period"]].merge(demand[["site", "item", "period"]])
        must = demand.merge(made, how="left", indicator=True)
        must = must[must["_merge"] == "left_only"][["site", "period"]].drop_duplicates()
        findings = []
        reach = flows[flows["selected"]].groupby(SITE_PERIOD)["origin"].agg(lambda o: sorted(set(o)))
        for site, period in must.itertuples(index=False):
            suppliers = reach.get((site, period), [])
            if len(suppliers) >= rule.value:
                continue
            can = ", ".join(suppliers) if suppliers else "none"
            findings.append(Finding(
                "rule_unreachable", "Policies", [int(rule.row)],
                f"{rule_label(model)}: at least {rule.value:g} suppliers required into {site}"
                f"{in_period(network, period)}, but only {len(suppliers)} can deliver there ({can})",
                {"bound": float(rule.value), "reachable": len(suppliers), "suppliers": can,
                 "period": period, "destination": site}))
        return findings
