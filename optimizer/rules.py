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


def _block(rule: Rule, terms: RuleTerms, sense: str, coef: np.ndarray, keep: np.ndarray) -> ConstraintBlock:
    rows = terms.rows.assign(policy=rule.policy, rule=rule.type, sense=sense, rhs=0.0,
                             sheet="Policies", sheet_row=rule.row)
    return ConstraintBlock(f"rule_row_{rule.row}", rows, terms.row[keep], terms.var[keep], coef[keep])


def share_rule(sense: str) -> Callable[[Rule, RuleTerms], ConstraintBlock]:
    """``sum w x [from]  (sense)  value * sum w x``, written as ``sum (1[from] - value) w x (sense) 0``."""

    def build(rule: Rule, terms: RuleTerms) -> ConstraintBlock:
        coef = (terms.selected.astype(float) - float(rule.value)) * terms.weight
        return _block(rule, terms, sense, coef, coef != 0.0)

    build.__doc__ = f"{rule_name(sense)}: share from `from` sites {sense} value, per period (or destination)."
    return build


def rule_name(sense: str) -> str:
    return "min_share" if sense == ">=" else "max_share"


def exclude_rule(rule: Rule, terms: RuleTerms) -> ConstraintBlock:
    """exclude: ``sum x [from] <= 0``: no flow of its items from `from` sites into `to` sites."""
    coef = np.ones(len(terms.var))
    return _block(rule, terms, "<=", coef, terms.selected)


RULE_BUILDERS: dict[str, Callable[[Rule, RuleTerms], ConstraintBlock]] = {
    "min_share": share_rule(">="),
    "max_share": share_rule("<="),
    "exclude": exclude_rule,
}


def add_rule(formulation: Formulation, rule: Rule) -> None:
    """Add the constraint block of ``rule`` and remember its terms for the compliance report."""
    terms = rule_terms(rule, formulation)
    formulation.rule_terms[f"rule_row_{rule.row}"] = terms
    formulation.add(RULE_BUILDERS[rule.type](rule, terms))
