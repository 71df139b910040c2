"""The rule registry: one object per rule type of the Policies sheet (see ``optimizer.rules.base``).

Every module of this package is imported here, so a rule type written in a new module (a class
decorated with ``@register``) is in the registry without touching any other file.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from models.network import Rule, RuleSpec
from optimizer.model import Formulation
from optimizer.rules.base import (
    ALL_DESTINATIONS,
    COMPLIANCE_COLUMNS,
    RULE_TYPES,
    RuleModel,
    RuleTerms,
    RuleType,
    Violation,
    is_check,
    rule_terms,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

#: What the Policies sheet requires of each rule type (handed to ``models.network.build_network``).
RULE_SPECS: dict[str, RuleSpec] = {name: rule_type.spec for name, rule_type in RULE_TYPES.items()}


def rule_type(rule: Rule) -> RuleType:
    """The registry's object for a rule."""
    return RULE_TYPES[rule.type]


def state_rules(formulation: Formulation, reuse: dict[int, RuleModel] | None = None) -> None:
    """State every rule of the formulation's policy set (first every rule, then the links between
    them), then add their cost contributions to the flows and variable families. ``reuse``: rules stated
    before on the same flows, whose measured flows serve again for a rule that differs only by its value."""
    for rule in formulation.policy.rules:
        known = (reuse or {}).get(rule.row)
        same = known is not None and known.rule.model_copy(update={"value": rule.value}) == rule
        model = RuleModel(rule, rule_type(rule), known.terms if same else rule_terms(rule, formulation))
        model.type.state(formulation, model)
        formulation.rules[rule.row] = model
    for model in formulation.rules.values():
        model.type.link(formulation, model)
    flows = formulation.flows
    for column in ("policy_tariff_rate", "credit", "carbon"):
        total = np.zeros(len(flows))
        for model in formulation.rules.values():
            if column in model.flow_costs:
                var, amount = model.flow_costs[column]
                total[var] += amount
        flows[column] = total
    for model in formulation.rules.values():
        for name, columns, coefs, part in model.family_costs:
            formulation.add_costs(name, columns, formulation.period_index(name)[columns], part, coefs)


__all__ = ["ALL_DESTINATIONS", "COMPLIANCE_COLUMNS", "RULE_SPECS", "RULE_TYPES", "RuleModel", "RuleTerms",
           "RuleType", "Violation", "is_check", "rule_terms", "rule_type", "state_rules"]
