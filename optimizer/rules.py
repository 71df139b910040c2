"""Policy rules: one small function per rule type, each adding a constraint block or changing costs.

Every rule measures the same thing, its *terms*: the flows of its ``items`` into its ``to``
sites in the periods it covers, each with a weight ``w`` (the goods' value, i.e. their standard
cost at the origin, for basis ``value``; 1 for basis ``quantity``) and a flag saying whether the
flow comes from a ``from`` site. Rows are one per period (scope ``total``) or one per (period, destination) (scope
``each_destination``). The compliance report recomputes shares from the same terms, so what is
constrained and what is reported cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.network import Rule, RuleSpec
from optimizer.formulation import ConstraintBlock, Formulation

ALL_DESTINATIONS = "(all)"

RULE_SPECS: dict[str, RuleSpec] = {
    "min_share": RuleSpec("fraction", "share of flow from `from` sites at least `value`", share=True),
    "max_share": RuleSpec("fraction", "share of flow from `from` sites at most `value`", share=True),
    "exclude": RuleSpec(None, "no flow from `from` sites"),
    "tariff": RuleSpec("amount", "extra ad valorem rate `value` on the Supply unit_cost of matching flows",
                       amount_hint="a rate (0.25 = 25%)"),
    "credit": RuleSpec("amount", "credit of `value` per unit of matching flow"),
    "max_suppliers": RuleSpec("count", "at most `value` distinct `from` sites supply each `to` site", True),
    "min_suppliers": RuleSpec("count", "at least `value` distinct `from` sites supply each `to` site", True),
    "single_source": RuleSpec(None, "at most one `from` site supplies each `to` site", True, fixed_value=1.0),
    "threshold_credit": RuleSpec("amount", "credit of `value` per unit of demand if the share rule on "
                                           "Policies row `requires` is met", True, needs_requires=True),
}


@dataclass
class RuleTerms:
    """The flows a rule measures: non-zero ``k`` puts ``weight[k] * x[var[k]]`` in row ``row[k]``
    of ``rows``, in the numerator too when ``selected[k]`` (the flow is from a ``from`` site)."""

    rule: Rule
    rows: pd.DataFrame  # period, destination
    row: np.ndarray
    var: np.ndarray
    weight: np.ndarray
    selected: np.ndarray


def rule_terms(rule: Rule, formulation: Formulation) -> RuleTerms:
    """Select the flows ``rule`` measures and group them into its constraint rows."""
    flows = formulation.flows
    periods = rule.periods(formulation.network.periods)
    mask = (flows["item"].isin(rule.items) & flows["destination"].isin(rule.to_sites)
            & flows["period"].isin(periods))
    sub = flows[mask]
    keys = sub[["period"]].copy()
    keys["destination"] = sub["destination"] if rule.scope == "each_destination" else ALL_DESTINATIONS
    # Every period the rule covers gets a row (scope total), even one without flows, so the report
    # lists it; an empty row constrains nothing.
    rows = keys.drop_duplicates()
    if rule.scope != "each_destination":
        rows = pd.DataFrame({"period": periods, "destination": ALL_DESTINATIONS})
    rows = rows.reset_index(drop=True)
    codes = pd.Series(np.arange(len(rows)), index=pd.MultiIndex.from_frame(rows)).reindex(
        pd.MultiIndex.from_frame(keys)).to_numpy() if len(keys) else np.empty(0)
    weight = sub["supply_unit_cost"].to_numpy() if rule.basis == "value" else np.ones(len(sub))
    return RuleTerms(rule, rows, np.asarray(codes, dtype=np.int64), sub.index.to_numpy(),
                     weight, sub["origin"].isin(rule.from_sites).to_numpy())


def block_name(rule: Rule) -> str:
    return f"rule_row_{rule.row}"


def _add_block(formulation: Formulation, terms: RuleTerms, sense: str, coef: np.ndarray,
               keep: np.ndarray) -> None:
    rule = terms.rule
    rows = terms.rows.assign(policy=rule.policy, rule=rule.type, sense=sense, rhs=0.0,
                             sheet="Policies", sheet_row=rule.row)
    formulation.rule_terms[block_name(rule)] = terms
    formulation.add(ConstraintBlock(block_name(rule), rows, terms.row[keep], terms.var[keep], coef[keep]))


def _share(formulation: Formulation, terms: RuleTerms, sense: str) -> None:
    coef = (terms.selected.astype(float) - float(terms.rule.value)) * terms.weight
    rule = terms.rule
    if not any(r.type == "threshold_credit" and r.requires == rule.row for r in formulation.policy.rules):
        _add_block(formulation, terms, sense, coef, coef != 0.0)
        return
    # Required by a threshold credit: the rule need not hold, but its credit is earned only where it
    # does. One binary 'met' per row: sum coef x >= -M (1 - met)  (<= M (1 - met) for max_share),
    # with M the largest |sum coef x| the flows' need bounds allow.
    keep = coef != 0.0
    need = formulation.need.reindex(pd.MultiIndex.from_frame(
        formulation.flows.loc[terms.var, ["item", "period"]])).to_numpy()
    big_m = np.bincount(terms.row, weights=np.abs(coef) * need, minlength=len(terms.rows)) + 1.0
    met = formulation.add_family(f"met_row_{rule.row}", terms.rows.assign(rule_row=rule.row), 0.0, 1.0,
                                 integer=True)
    sign = 1.0 if sense == ">=" else -1.0
    n = len(terms.rows)
    rows = terms.rows.assign(policy=rule.policy, rule=rule.type, sense=sense, rhs=-sign * big_m,
                             sheet="Policies", sheet_row=rule.row)
    formulation.rule_terms[block_name(rule)] = terms
    formulation.add(ConstraintBlock(block_name(rule), rows, np.r_[terms.row[keep], np.arange(n)],
                                    np.r_[terms.var[keep], met.index], np.r_[coef[keep], -sign * big_m]))


def min_share(formulation: Formulation, terms: RuleTerms) -> None:
    """min_share: ``sum w x [from] >= value * sum w x``, i.e. ``sum (1[from] - value) w x >= 0``."""
    _share(formulation, terms, ">=")


def max_share(formulation: Formulation, terms: RuleTerms) -> None:
    """max_share: ``sum w x [from] <= value * sum w x``, i.e. ``sum (1[from] - value) w x <= 0``."""
    _share(formulation, terms, "<=")


def exclude(formulation: Formulation, terms: RuleTerms) -> None:
    """exclude: ``sum x [from] <= 0``: no flow of its items from `from` sites into `to` sites."""
    _add_block(formulation, terms, "<=", np.ones(len(terms.var)), terms.selected)


def tariff(formulation: Formulation, terms: RuleTerms) -> None:
    """tariff: ``policy_tariff_rate += value`` on flows from `from` sites (adds to the Tariffs sheet)."""
    hit = terms.var[terms.selected]
    column = formulation.flows.columns.get_loc("policy_tariff_rate")
    formulation.flows.iloc[hit, column] += float(terms.rule.value)


def credit(formulation: Formulation, terms: RuleTerms) -> None:
    """credit: ``credit += value`` per unit of flow from `from` sites (e.g. 45X, $35/kWh of US cells)."""
    hit = terms.var[terms.selected]
    column = formulation.flows.columns.get_loc("credit")
    formulation.flows.iloc[hit, column] += float(terms.rule.value)


def _supplier_count(formulation: Formulation, terms: RuleTerms, sense: str) -> None:
    """Count the distinct `from` sites delivering the rule's items to each `to` site per period with
    binaries ``uses[o, d, t]``: every such flow <= need bound * uses; then sum uses (sense) value.
    For a minimum, a counted supplier must deliver at least 1% of the site's requirement (its demand
    of those items in the period, or 1% of the items' need bound where it has none)."""
    rule, flows = terms.rule, formulation.flows
    var = terms.var[terms.selected]
    if not len(var):
        sites = flows.loc[terms.var, ["destination", "period"]].drop_duplicates().reset_index(drop=True)
        if sense == ">=" and rule.value > 0 and len(sites):  # no `from` site can deliver: an empty row
            rows = sites.assign(policy=rule.policy, rule=rule.type, sense=sense, rhs=float(rule.value),
                                sheet="Policies", sheet_row=rule.row)
            formulation.add(ConstraintBlock(block_name(rule), rows, [], [], []))
        return
    sub = flows.loc[var, ["origin", "destination", "item", "period"]]
    pairs = sub[["origin", "destination", "period"]].drop_duplicates().reset_index(drop=True)
    uses = formulation.add_family(f"uses_row_{rule.row}", pairs, 0.0, 1.0, integer=True)
    pair_of = pd.Series(np.arange(len(pairs)), index=pd.MultiIndex.from_frame(pairs)).reindex(
        pd.MultiIndex.from_frame(sub[["origin", "destination", "period"]])).to_numpy()
    need = formulation.need.reindex(pd.MultiIndex.from_frame(sub[["item", "period"]])).to_numpy()
    n = len(var)
    link_rows = sub.reset_index(drop=True).assign(policy=rule.policy, rule=rule.type, sense="<=", rhs=0.0,
                                                  sheet="Policies", sheet_row=rule.row)
    formulation.add(ConstraintBlock(f"{block_name(rule)}_link", link_rows, np.r_[np.arange(n), np.arange(n)],
                                    np.r_[var, uses.index[pair_of]], np.r_[np.ones(n), -need]))
    sites = pairs[["destination", "period"]].drop_duplicates().reset_index(drop=True)
    site_of = pd.Series(np.arange(len(sites)), index=pd.MultiIndex.from_frame(sites)).reindex(
        pd.MultiIndex.from_frame(pairs[["destination", "period"]])).to_numpy()
    count_rows = sites.assign(policy=rule.policy, rule=rule.type, sense=sense, rhs=float(rule.value),
                              sheet="Policies", sheet_row=rule.row)
    formulation.add(ConstraintBlock(block_name(rule), count_rows, site_of, uses.index, np.ones(len(pairs))))
    formulation.count_rules[block_name(rule)] = (rule, pairs.assign(var=uses.index))
    if sense == ">=":
        demand = formulation.network.demand[formulation.network.demand["item"].isin(rule.items)]
        requirement = (demand.groupby(["site", "period"])["quantity"].sum() if len(demand)
                       else pd.Series(dtype=float))
        item_need = formulation.need[formulation.need.index.get_level_values("item").isin(rule.items)]
        fallback = item_need.groupby(level="period").sum()
        floor = 0.01 * requirement.reindex(pd.MultiIndex.from_frame(
            pairs[["destination", "period"]].rename(columns={"destination": "site"}))).to_numpy()
        floor = np.where(np.isnan(floor) | (floor <= 0), 0.01 * pairs["period"].map(fallback).to_numpy(), floor)
        min_rows = pairs.assign(policy=rule.policy, rule=rule.type, sense=">=", rhs=0.0, sheet="Policies",
                                sheet_row=rule.row)
        formulation.add(ConstraintBlock(f"{block_name(rule)}_min", min_rows,
                                        np.r_[pair_of, np.arange(len(pairs))],
                                        np.r_[var, uses.index], np.r_[np.ones(n), -floor]))


def max_suppliers(formulation: Formulation, terms: RuleTerms) -> None:
    """max_suppliers: at most `value` distinct `from` sites supply each `to` site per period."""
    _supplier_count(formulation, terms, "<=")


def min_suppliers(formulation: Formulation, terms: RuleTerms) -> None:
    """min_suppliers: at least `value` distinct `from` sites supply each `to` site per period."""
    _supplier_count(formulation, terms, ">=")


def threshold_credit(formulation: Formulation, terms: RuleTerms) -> None:
    """threshold_credit: earn `value` per unit of demand of its items at its `to` sites in a period
    where the share rule on Policies row `requires` is met there (its 'met' binary is 1)."""
    rule = terms.rule
    met = formulation.families[f"met_row_{rule.requires}"]
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
    met.cost -= float(rule.value) * earned


#: Rule type -> the function that states it. Share, exclude and count rules add constraint blocks
#: named ``rule_row_<Policies row>``; tariff and credit rules change the cost of the flows they match;
#: a threshold credit prices the 'met' binaries of the share rule it requires.
RULE_BUILDERS: dict[str, Callable[[Formulation, RuleTerms], None]] = {
    "min_share": min_share,
    "max_share": max_share,
    "exclude": exclude,
    "tariff": tariff,
    "credit": credit,
    "max_suppliers": max_suppliers,
    "min_suppliers": min_suppliers,
    "single_source": max_suppliers,
    "threshold_credit": threshold_credit,
}
#: Rule types that constrain shares (and so have a share, a bound and a cost per point).
SHARE_RULES = ("min_share", "max_share")


def add_rule(formulation: Formulation, rule: Rule) -> None:
    """State ``rule`` in the formulation (a constraint block, or a cost change)."""
    RULE_BUILDERS[rule.type](formulation, rule_terms(rule, formulation))
