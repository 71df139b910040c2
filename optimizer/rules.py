"""Policy rules: one small function per rule type, each adding one constraint block.

Every rule measures the same thing, its *terms*: the flows of its ``items`` into its ``to``
sites in the periods it covers, each with a weight ``w`` (the Supply unit_cost for basis
``value``, 1 for basis ``quantity``) and a flag saying whether the flow comes from a ``from``
site. Rows are one per period (scope ``total``) or one per (period, destination) (scope
``each_destination``). The compliance report recomputes shares from the same terms, so what is
constrained and what is reported cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.network import Rule
from optimizer.formulation import ConstraintBlock, Formulation

ALL_DESTINATIONS = "(all)"


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
    codes = keys.groupby(["period", "destination"], sort=False).ngroup().to_numpy()
    rows = keys.drop_duplicates().reset_index(drop=True)  # same first-seen order as ngroup
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


def min_share(formulation: Formulation, terms: RuleTerms) -> None:
    """min_share: ``sum w x [from] >= value * sum w x``, i.e. ``sum (1[from] - value) w x >= 0``."""
    coef = (terms.selected.astype(float) - float(terms.rule.value)) * terms.weight
    _add_block(formulation, terms, ">=", coef, coef != 0.0)


def max_share(formulation: Formulation, terms: RuleTerms) -> None:
    """max_share: ``sum w x [from] <= value * sum w x``, i.e. ``sum (1[from] - value) w x <= 0``."""
    coef = (terms.selected.astype(float) - float(terms.rule.value)) * terms.weight
    _add_block(formulation, terms, "<=", coef, coef != 0.0)


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


#: Rule type -> the function that states it. Share and exclude rules add a constraint block named
#: ``rule_row_<Policies row>``; tariff and credit rules change the cost of the flows they match.
RULE_BUILDERS: dict[str, Callable[[Formulation, RuleTerms], None]] = {
    "min_share": min_share,
    "max_share": max_share,
    "exclude": exclude,
    "tariff": tariff,
    "credit": credit,
}
#: Rule types that constrain shares (and so have a share, a bound and a cost per point).
SHARE_RULES = ("min_share", "max_share")


def add_rule(formulation: Formulation, rule: Rule) -> None:
    """State ``rule`` in the formulation (a constraint block, or a cost change)."""
    RULE_BUILDERS[rule.type](formulation, rule_terms(rule, formulation))
