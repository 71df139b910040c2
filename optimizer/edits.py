"""The one vocabulary for changing a model: a rule's value, a policy set, fixed or forced builds, capex, a
scenario, numbers changed by selector (the ScenarioChanges language), a stress window, a site's outage. Each edit
applies to a built formulation (``applied``), giving the formulation of the changed model, which a
``optimizer.session.Session`` loads by handing HiGHS only the difference; ``on_network`` gives the changed workbook
instead, for a fresh build (what the edit means, in the workbook's terms).

Sweeps, frontiers, option values, the robust evaluation and the stress test are families of members, each member
a tuple of edits applied to the family's base model (``optimizer.families``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.network import Network, PolicySet, Rule
from optimizer.formulation import build_formulation, with_rules
from optimizer.horizon import BuildChoice, fix_builds, with_capex
from optimizer.model import Formulation
from optimizer.rules import RULE_TYPES


class EditError(ValueError):
    """An edit that does not fit the workbook (a rule that is not there, a value out of its range)."""


def rule_of(policy: PolicySet, row: int) -> Rule:
    """The rule of ``policy`` on Policies ``row``; EditError naming the rows it has otherwise."""
    rule = next((r for r in policy.rules if r.row == row), None)
    if rule is None:
        rows = ", ".join(str(r.row) for r in policy.rules) or "none"
        raise EditError(f"policy set {policy.name!r} has no rule on Policies row {row} (its rules are on rows: {rows})")
    return rule


def check_value(rule: Rule, value: float) -> None:
    """EditError unless ``value`` is one the rule's type accepts (its spec: a fraction, a whole count, >= 0)."""
    spec = RULE_TYPES[rule.type].spec
    if spec.value is None or spec.fixed_value is not None:
        article = "an" if rule.type[0] in "aeiou" else "a"
        raise EditError(f"Policies row {rule.row} is {article} {rule.type} rule; it has no value to change")
    if spec.value == "fraction" and not 0.0 <= value <= 1.0:
        hint = (f" ({value:g} is a percentage? a share is a fraction: write {value / 100:g} or {value:g}%)"
                if 1.0 < value <= 100.0 else "")
        raise EditError(f"Policies row {rule.row} is a {rule.type} rule: every value must lie in [0, 1]{hint}")
    if value < 0:
        raise EditError("values must be >= 0")
    if spec.value == "count" and not float(value).is_integer():
        raise EditError(f"Policies row {rule.row} is a {rule.type} rule: every value must be a whole number")


def with_value(policy: PolicySet, row: int, value: float | None) -> PolicySet:
    """The policy set with the rule on ``row`` set to ``value`` (None: the rule left out)."""
    rules = tuple(r.model_copy(update={"value": value}) if r.row == row else r
                  for r in policy.rules if value is not None or r.row != row)
    return policy.model_copy(update={"rules": rules})


@dataclass(frozen=True)
class RuleValue:
    """The rule on Policies ``row`` takes ``value`` (None: the rule is left out)."""

    row: int
    value: float | None

    def check(self, policy: PolicySet) -> None:
        """EditError unless the policy set has the rule and the value fits it (the one place this is checked)."""
        rule = rule_of(policy, self.row)
        if self.value is not None:
            check_value(rule, self.value)

    def applied(self, formulation: Formulation) -> Formulation:
        policy = with_value(formulation.policy, self.row, self.value)
        return _restated(formulation, policy)

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        return network, with_value(policy, self.row, self.value)


@dataclass(frozen=True)
class Policy:
    """Another policy set on the same workbook."""

    policy: PolicySet

    def applied(self, formulation: Formulation) -> Formulation:
        return _restated(formulation, self.policy)

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        return network, self.policy


@dataclass(frozen=True)
class Builds:
    """Fixed build decisions of investment options: (option, choice) pairs (``optimizer.horizon.BuildChoice``:
    None not built, a period, {period: fraction}, or ``ANY_PERIOD`` to force a build in some period)."""

    choices: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, choices: dict[str, BuildChoice]) -> Builds:
        return cls(tuple(sorted((o, tuple(sorted(c.items())) if isinstance(c, dict) else c)
                                for o, c in choices.items())))

    def as_dict(self) -> dict[str, BuildChoice]:
        return {o: dict(c) if isinstance(c, tuple) else c for o, c in self.choices}

    def applied(self, formulation: Formulation) -> Formulation:
        changed = formulation.copy()
        fix_builds(changed, self.as_dict())
        return changed

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        raise EditError("fixed builds are decisions of a model, not numbers of the workbook")


@dataclass(frozen=True)
class Capex:
    """The capex of investment options, the same in every build period: (option, value) pairs."""

    values: tuple[tuple[str, float], ...]

    def applied(self, formulation: Formulation) -> Formulation:
        return with_capex(formulation, dict(self.values))

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        from dataclasses import replace

        investments = network.investments.copy()
        for option, value in self.values:
            investments.loc[investments["option"] == option, "capex"] = float(value)
        return replace(network, investments=investments), policy


@dataclass(frozen=True)
class Scenario:
    """A scenario of the Scenarios sheet: its changes applied to the workbook, its policy set in force."""

    name: str

    def applied(self, formulation: Formulation) -> Formulation:
        network, policy = self.on_network(formulation.network, formulation.policy)
        return build_formulation(network, policy)

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        world = network.in_scenario(self.name)
        return world, world.policy(world.scenario_policy)


@dataclass(frozen=True)
class Changes:
    """Numbers of the workbook changed by selector, in the ScenarioChanges language (``models.scenarios.Change``
    rows: a column of a sheet, the rows its match columns select, multiply / add / set), the policy set kept."""

    changes: tuple[Any, ...]

    def applied(self, formulation: Formulation) -> Formulation:
        network, policy = self.on_network(formulation.network, formulation.policy)
        return build_formulation(network, policy)

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        from dataclasses import replace

        from models.scenarios import Scenario as Future
        from models.scenarios import apply_scenario

        changed = apply_scenario(network, Future("(changes)", 1.0, policy.name, "", tuple(self.changes), 0))
        changed = replace(changed, scenario_name=network.scenario_name, scenario_policy=network.scenario_policy)
        return changed, changed.policy(policy.name) if policy.name in changed.policies else policy


@dataclass(frozen=True)
class Window:
    """A stress window of ``fraction`` of the period (``optimizer.stress``): the window model's capacities,
    throughputs, demand and total caps scaled by it, and every option's build fixed at it (its capacity in the
    window). It applies to the window model over the whole period (fraction 1), the base of a stress family."""

    fraction: float

    def applied(self, formulation: Formulation) -> Formulation:
        from optimizer.stress import window_formulation

        return window_formulation(formulation.network, formulation.policy, self.fraction)

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        from optimizer.stress import scaled

        window = scaled(network, self.fraction)
        return window, window.policy(policy.name)


@dataclass(frozen=True)
class Outage:
    """Site ``site`` down: it produces nothing (its Supply options and investment options) and receives nothing
    (a throughput of 0); stock already held at it can still be shipped. On a model: bounds of 0 on those
    columns, nothing else, so a session re-solves it warm."""

    site: str

    #: The variable families an outage bounds to 0, each with the key naming the site: what it makes, what it gets.
    DOWN = (("production", "site"), ("option_production", "site"), ("flow", "destination"))

    def _down(self, formulation: Formulation):
        for name, key in self.DOWN:
            family = formulation.families.get(name)
            if family is not None:
                yield family, family.keys[key].to_numpy() == self.site

    def columns(self, formulation: Formulation) -> np.ndarray:
        """The columns (global indices) the outage bounds to 0."""
        return np.concatenate([family.index[down] for family, down in self._down(formulation)] or
                              [np.zeros(0, dtype=np.int64)])

    def applied(self, formulation: Formulation) -> Formulation:
        changed = formulation.copy()
        for family, down in self._down(changed):
            family.upper = np.where(down, 0.0, family.upper)  # a new array: the model copied from shares the old
        changed.network, _ = self.on_network(changed.network, changed.policy)
        return changed

    def on_network(self, network: Network, policy: PolicySet) -> tuple[Network, PolicySet]:
        from dataclasses import replace

        if self.site not in network.sites:
            raise EditError(f"no site named {self.site!r}")
        supply, investments = network.supply.copy(), network.investments.copy()
        supply.loc[supply["site"] == self.site, "capacity"] = 0.0
        investments.loc[investments["site"] == self.site, "capacity"] = 0.0
        sites = {**network.sites, self.site: network.sites[self.site].model_copy(update={"throughput": 0.0})}
        return replace(network, supply=supply, investments=investments, sites=sites), policy


Edit = RuleValue | Policy | Builds | Capex | Scenario | Changes | Window | Outage


def _restated(formulation: Formulation, policy: PolicySet) -> Formulation:
    """The formulation's physical model with ``policy`` stated on it (``apply_all`` applies capex and builds
    after the rules)."""
    if formulation.physical is None:
        return with_rules(formulation, policy)
    return with_rules(formulation.physical, policy, like=formulation)


#: The order in which edits of each kind apply: a scenario, changes or a stress window build another model, the
#: rules are stated on its physical model, capex, builds and outages change that.
_ORDER = {Scenario: 0, Changes: 0, Window: 0, Policy: 1, RuleValue: 1, Capex: 2, Builds: 3, Outage: 4}


def apply_all(formulation: Formulation, edits: tuple[Edit, ...]) -> Formulation:
    """The formulation after ``edits``: a scenario first, then policy sets and rule values, capex, builds."""
    for edit in sorted(edits, key=lambda e: _ORDER[type(e)]):
        formulation = edit.applied(formulation)
    return formulation
