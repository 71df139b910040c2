"""What every rule type is, and the registry that holds them.

A rule type is one object (a :class:`RuleType` subclass registered with :func:`register`): its
spec for the Policies sheet (what ``value`` means, whether the model becomes a MILP), how it is
stated in the model (:meth:`RuleType.state`, and :meth:`RuleType.link` once every rule of the
policy set is stated), its Compliance rows, how diagnosis explains it, and what its price means in
Sensitivity. Nothing outside ``optimizer.rules`` switches on a rule's name.

Stating a rule gives a :class:`RuleModel`: the rule, the flows it measures (:class:`RuleTerms`), the
names of the blocks and variable families it added by role, and the costs it adds. The formulation
keeps them by Policies row (``Formulation.rules``); results, diagnosis and sensitivity reach a
rule's blocks and families through it, never by formatting names. Rules never change tables other
rules read: cost changes are contributions the formulation adds up once every rule is stated, so
the order of the Policies rows does not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from models.network import Rule, RuleSpec
from optimizer.findings import Finding
from optimizer.model import ConstraintBlock, Formulation
from optimizer.options import UNLIMITED, Deadline

#: The ``destination`` of a rule row stated over all its `to` sites together (scope total).
ALL_DESTINATIONS = "(all)"
#: A share within this distance of its bound is reported as binding.
SHARE_TOLERANCE = 1e-6
#: Flows below this quantity count as zero (solver round-off).
FLOW_TOLERANCE = 1e-9

#: The Compliance sheet's columns, in order (``rule_row`` keys a row to its rule and is not written).
COMPLIANCE_COLUMNS = ["policy", "rule", "source", "items", "from", "to", "basis", "scope", "period",
                      "destination", "from_flow", "total_flow", "share", "sense", "bound", "binding",
                      "cost_per_point", "met", "emissions", "cost", "marginal_abatement_cost"]


def is_check(compliance: pd.DataFrame) -> pd.Series:
    """The Compliance rows that check a bound (a share, an exclusion, a supplier count, an emissions cap): the
    rows of rules that price instead (tariffs, credits, a carbon price) state a cost and check nothing."""
    return compliance["sense"].fillna("").astype(str) != ""


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
    """Select the flows ``rule`` measures (its items, from any site into its `to` sites, in the
    periods it covers) and group them into rows: one per period (scope ``total``) or one per
    (period, destination) (scope ``each_destination``). The weight is the goods' value (basis
    ``value``) or 1 (basis ``quantity``)."""
    flows = formulation.flows
    periods = rule.periods(formulation.network.periods)
    mask = (flows["item"].isin(rule.items) & flows["destination"].isin(rule.to_sites)
            & flows["period"].isin(periods))
    sub = flows[mask]
    keys = sub[["period"]].copy()
    keys["destination"] = sub["destination"] if rule.scope == "each_destination" else ALL_DESTINATIONS
    # Every period the rule covers gets a row (scope total), and every `to` site with demand of its
    # items (each_destination), even without flows, so the report lists it and a threshold credit can be
    # earned there; an empty row constrains nothing (nothing flowing in, the rule holds).
    rows = keys.drop_duplicates()
    if rule.scope != "each_destination":
        rows = pd.DataFrame({"period": periods, "destination": ALL_DESTINATIONS})
    else:
        demand = formulation.network.demand
        demand = demand[demand["item"].isin(rule.items) & demand["site"].isin(rule.to_sites)
                        & demand["period"].isin(periods)]
        demanded = demand[["period", "site"]].rename(columns={"site": "destination"}).drop_duplicates()
        rows = pd.concat([rows, demanded], ignore_index=True).drop_duplicates()
    rows = rows.reset_index(drop=True)
    codes = pd.Series(np.arange(len(rows)), index=pd.MultiIndex.from_frame(rows)).reindex(
        pd.MultiIndex.from_frame(keys)).to_numpy() if len(keys) else np.empty(0)
    weight = sub["supply_unit_cost"].to_numpy() if rule.basis == "value" else np.ones(len(sub))
    return RuleTerms(rule, rows, np.asarray(codes, dtype=np.int64), sub.index.to_numpy(),
                     weight, sub["origin"].isin(rule.from_sites).to_numpy())


@dataclass
class RuleModel:
    """A rule as stated in one formulation: what it measures, and what it added to the model."""

    rule: Rule
    type: RuleType
    terms: RuleTerms
    #: Constraint blocks it added, by role ("share", "count", "link", ...): block names.
    blocks: dict[str, str] = field(default_factory=dict)
    #: Variable families it added, by role ("met", "uses", ...): family names.
    families: dict[str, str] = field(default_factory=dict)
    #: Per-unit additions to flow cost columns (``policy_tariff_rate``, ``credit``, ``carbon``): column ->
    #: (flow rows, amounts). The formulation adds every rule's contributions once all are stated.
    flow_costs: dict[str, tuple[np.ndarray, np.ndarray | float]] = field(default_factory=dict)
    #: Nominal costs on columns of variable families with a ``period`` key: (family, columns, coefficients,
    #: cost part).
    family_costs: list[tuple[str, np.ndarray, np.ndarray, str]] = field(default_factory=list)
    #: Anything else a rule type keeps for its report (count rules: the supplier pairs).
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def row(self) -> int:
        return self.rule.row

    def block(self, formulation: Formulation, role: str):
        """The constraint block this rule added for ``role`` (None if it added none)."""
        name = self.blocks.get(role)
        return formulation.blocks.get(name) if name is not None else None

    def family_values(self, formulation: Formulation, values: np.ndarray, role: str) -> np.ndarray | None:
        """The solution values of the family this rule added for ``role`` (None if it added none)."""
        name = self.families.get(role)
        return formulation.family_values(values, name) if name is not None else None


@dataclass
class BoundTightening:
    """How a rule's bound tightens, for its one-sided marginal costs (``optimizer.marginals``): its block
    (``block``, one row per Compliance row of the rule, in the same order), how far one unit of the
    Compliance marginal moves each row's right-hand side (``per_row``: a percentage point of a share, a
    unit of emissions) and how far one unit of the Policies row's ``value`` moves it (``per_value``), and
    the first step of a re-solve, in units of the Compliance marginal."""

    block: str
    per_row: np.ndarray
    per_value: np.ndarray
    step: float


@dataclass
class Violation:
    """Rows of a rule that the rule-relaxation LP of diagnosis had to violate, with what a rule type
    needs to explain them: the physical model's arrays alone, and with the other rules added."""

    rows: np.ndarray
    slack: np.ndarray
    physical: Any  # LinearArrays: demand, balance and capacity blocks only
    with_others: Any  # LinearArrays: those plus the other rules' relaxable blocks (None without others)
    other_rows: list[int]
    #: Where each explaining solve gets its options (the command's threads, MIP gap and remaining time).
    deadline: Deadline = UNLIMITED


class RuleType:
    """One rule type of the Policies sheet. Subclasses set the class attributes and override the
    hooks they need; :func:`register` adds an instance to the registry."""

    name: ClassVar[str]
    spec: ClassVar[RuleSpec]
    #: How a value of this type is shown (sweeps): "percent", "money" or "number".
    value_format: ClassVar[str] = "number"
    #: Its bound has a cost per percentage point (Compliance, Comparison, Sensitivity).
    priced: ClassVar[bool] = False
    #: It prices or caps emissions (the plan then reports them).
    carbon: ClassVar[bool] = False
    #: The Compliance column its one-sided marginal cost fills (None: it has none).
    marginal_column: ClassVar[str | None] = None

    # ----------------------------------------------------------------- the model
    def state(self, formulation: Formulation, model: RuleModel) -> None:
        """Add this rule's blocks, families and cost contributions to ``model`` (first pass)."""
        raise NotImplementedError

    def link(self, formulation: Formulation, model: RuleModel) -> None:
        """Second pass, once every rule of the policy set is stated: refer to other rules' models."""

    # ----------------------------------------------------------------- reports
    def compliance(self, formulation: Formulation, model: RuleModel, values: np.ndarray,
                   duals: dict[str, np.ndarray]) -> pd.DataFrame | None:
        """The Compliance rows of this rule in a plan (None: it has none)."""
        return None

    def tightening(self, formulation: Formulation, model: RuleModel, values: np.ndarray) -> BoundTightening | None:
        """How this rule's bound tightens in the plan ``values`` (None: it has no marginal cost)."""
        return None

    def summary(self, rows: pd.DataFrame) -> str:
        """One line for the Comparison sheet from the rule's Compliance rows."""
        first = rows.iloc[0]
        share = rows["share"].dropna()
        span = (f"{share.min():.1%}" if math.isclose(share.min(), share.max()) else
                f"{share.min():.1%}-{share.max():.1%}") if len(share) else "n/a"
        return (f"{first['source']} {first['rule']} {first['items']} from {first['from']} "
                f"{first['sense']} {first['bound']:.0%}: {span}, binding "
                f"{int(rows['binding'].astype(bool).sum())}/{len(rows)}")

    def sensitivity(self, rows: pd.DataFrame, marginals: list | None = None) -> pd.DataFrame | None:
        """Sensitivity rows priced from the rule's Compliance rows (None: nothing to price); ``marginals``: the
        one-sided rates of those rows (``optimizer.highs.OneSided``, with the interval each holds on), if any."""
        return None

    # ----------------------------------------------------------------- frontiers and sweeps
    #: What a frontier of this type moves ("share", "emissions"); None: it has none (``sourcing frontier``).
    frontier: ClassVar[str | None] = None

    def frontier_refusal(self, rule: Rule) -> str | None:
        """Why this rule has no frontier (None: it has one)."""
        return None if self.frontier is not None else f"a {rule.type} rule"

    def measured(self, formulation: Formulation, model: RuleModel, values: np.ndarray) -> np.ndarray:
        """What the rule measures in a plan, row by row (shares of rows with flow, emissions per period)."""
        raise NotImplementedError

    def frontier_start(self, measured: np.ndarray) -> tuple[float, str]:
        """Where the rule starts to bind, from what the plan without it measures, and how that was found."""
        raise NotImplementedError

    def frontier_end(self, formulation: Formulation, model: RuleModel, others: Any,
                     deadline: Deadline) -> tuple[float, str] | None:
        """The most demanding value with a plan, computed exactly (``others``: the model's arrays without this
        rule's rows), and how; None when only a search on the value can find it."""
        return None

    def most_demanding(self) -> float | None:
        """The most demanding value imaginable (a share of 100%), where a search for the end starts."""
        return None

    def tightened(self, value: float, step: float) -> float | None:
        """The value one ``step`` more demanding (None: none is)."""
        return None

    # ----------------------------------------------------------------- stress windows
    def windowed(self, rule: Rule, fraction: float) -> Rule | None:
        """The rule in a window of ``fraction`` of a period (``sourcing stress``, ``optimizer.stress``): a linear
        rule on flows holds over any stretch of time as it is; a discrete one (binaries) is left out (None)."""
        return None if self.spec.discrete else rule

    # ----------------------------------------------------------------- diagnosis
    def relaxable(self, formulation: Formulation, model: RuleModel) -> list[str]:
        """Blocks the rule-relaxation LP of diagnosis may violate, at a cost, to find what to explain."""
        return []

    def structural(self, formulation: Formulation, model: RuleModel) -> list[Finding]:
        """Reasons found without a solver why this rule cannot hold."""
        return []

    def explain(self, formulation: Formulation, model: RuleModel, violation: Violation) -> list[Finding]:
        """Explain the rows of this rule the relaxation LP had to violate."""
        return []

    def discrete_findings(self, formulation: Formulation, model: RuleModel,
                          deadline: Deadline = UNLIMITED) -> list[Finding]:
        """For rules stated with binaries: reasons found by a MILP of the physical model and this rule (its
        options from ``deadline``)."""
        return []


#: Rule type name -> its object, in the order rule types are documented.
RULE_TYPES: dict[str, RuleType] = {}


def register(cls: type[RuleType]) -> type[RuleType]:
    """Class decorator: add one instance of the rule type to the registry."""
    if cls.name in RULE_TYPES:
        raise ValueError(f"rule type {cls.name!r} registered twice")
    RULE_TYPES[cls.name] = cls()
    return cls


def add_block(formulation: Formulation, model: RuleModel, role: str, rows: pd.DataFrame, sense: str,
              rhs, row: np.ndarray, var: np.ndarray, coef: np.ndarray, suffix: str = "") -> None:
    """Add a constraint block for ``role``: ``rows`` keyed by business keys, each tagged with the rule
    (policy, rule type, Policies row); ``row``/``var``/``coef`` are its non-zeros. The block's name
    (``rule_row_<row><suffix>``) only labels it; code reaches it through ``model.blocks[role]``."""
    rule = model.rule
    name = f"rule_row_{rule.row}{suffix}"
    table = rows.assign(policy=rule.policy, rule=rule.type, sense=sense, rhs=rhs, sheet="Policies",
                        sheet_row=rule.row)
    formulation.add(ConstraintBlock(name, table, row, var, coef))
    if name in formulation.blocks:
        model.blocks[role] = name

