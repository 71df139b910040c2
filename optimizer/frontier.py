"""The cost-of-ambition frontier of one rule (``sourcing frontier``): the policy set's total cost as one
``min_share``, ``max_share`` or ``co2_cap`` (basis total) row moves over its whole achievable range.

The range runs from where the row starts to bind to the most demanding value that still has a plan:
- **start**: what the policy set's cost-minimal plan reaches with the row left out. A row covering several
  periods or destinations has one ``value`` for all of them, so this is the least demanding of its rows: the
  lowest share reached (``min_share``), the highest (``max_share``), the highest period's emissions (cap).
- **end**, computed exactly, never by stepping until a solve fails: for a cap, the least achievable largest
  per-period emissions under the other rules (one LP, or MILP when the policy set has discrete choices); for
  a share row covering one period and destination of an LP, the best achievable share by Dinkelbach's method
  (``optimizer.rules.shares.best_share``, as diagnosis computes it); otherwise (several linked rows, or a
  MILP) by bisection on the value to within BISECTION_TOLERANCE, keeping the side that has a plan.

N points evenly spaced from start to end (both included) are one family (``optimizer.families``): warm
re-solves of one model, each carrying the one-sided marginal cost of tightening the row further
(``optimizer.marginals``; "at the limit" at the end) and the investments its plan builds. What each rule type
measures, where it starts and how its end is found are its own hooks (``RuleType.frontier``, ``measured``,
``frontier_start``, ``frontier_end``): nothing here switches on a rule's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.network import Network, PolicySet, Rule
from optimizer.backend import SolverOptions
from optimizer.direct import arrays_from
from optimizer.edits import EditError, RuleValue, rule_of
from optimizer.families import Member, chains, family_stats, run_family
from optimizer.formulation import build_formulation
from optimizer.options import Deadline
from optimizer.results import SolveResult, builds_text, decision_change, unmet_text
from optimizer.rules import RULE_TYPES
from optimizer.runner import ProgressCallback
from optimizer.session import Session

#: Linked rows: the end is found by bisection on the value to within this.
BISECTION_TOLERANCE = 1e-6
DEFAULT_POINTS = 11
MAX_POINTS = 1000


class FrontierError(ValueError):
    """The frontier cannot be drawn: the request does not fit the workbook, or there is no plan to start from
    (``no_plan``)."""

    def __init__(self, message: str, no_plan: bool = False):
        super().__init__(message)
        self.no_plan = no_plan


@dataclass
class End:
    """One end of the frontier: its value, how it was found (a sentence), and its plan."""

    value: float
    how: str
    result: SolveResult | None = None


@dataclass
class Frontier:
    network: Network
    policy: PolicySet
    rule: Rule
    start: End
    end: End
    values: list[float]
    results: list[SolveResult]

    @property
    def is_share(self) -> bool:
        return RULE_TYPES[self.rule.type].frontier == "share"

    def marginal_label(self) -> str:
        """What the ``marginal`` column is, in the tightening direction."""
        return "cost per +1 pp tighter" if self.is_share else "cost per unit of emissions less"

    def table(self) -> pd.DataFrame:
        """value, status, total cost, change from the start, the one-sided marginal cost at each point, the
        investments its plan builds, and whether they differ from the point before's (the message says how)."""
        first = self.start.result.total_cost if self.start.result is not None else np.nan
        rows, before = [], None
        for value, result in zip(self.values, self.results, strict=True):
            builds = result.builds()
            change = decision_change(before, builds) if result.has_plan else ""
            rows.append({
                "value": value, "status": result.status, "total_cost": result.total_cost,
                "vs_start": result.total_cost - first if result.has_plan else np.nan,
                "marginal": result.marginals.rule_rate(self.rule.row) if result.has_plan else np.nan,
                "builds": builds_text(builds) if result.has_plan else "", "decision_change": bool(change),
                "unmet": unmet_text(result, self.network) or ("none" if result.has_plan else ""),
                "shortage": result.costs.get("shortage") if result.has_plan else np.nan,
                "message": change or result.marginal_notes.get(self.rule.row, "") or result.message})
            if result.has_plan:
                before = builds
        return pd.DataFrame(rows)

    def as_dict(self, output: str | None = None) -> dict[str, Any]:
        """The fields of ``frontier --json``: values in the rule's own units (a share as a fraction), the
        marginal per +1 pp (shares) or per unit of emissions (caps), in the tightening direction, and each
        point's builds as ``[{"option", "period"}]``."""
        points = self.table()[["value", "status", "total_cost", "marginal", "decision_change", "shortage",
                               "message"]].replace({np.nan: None}).to_dict("records")
        for point, result in zip(points, self.results, strict=True):
            point["builds"] = result.builds()
            point["unmet"] = result.unmet_records()
        return {"rule": self.rule.row, "policy": self.policy.name, "start": self.start.value,
                "end": self.end.value, "points": points, "stats": family_stats(self.results), "output": output}


def check_rule(network: Network, policy: str, rule_row: int) -> tuple[PolicySet, Rule]:
    """The policy set and its rule on Policies ``rule_row``; FrontierError unless the rule can have a frontier."""
    policy_set = network.policy(policy)
    try:
        rule = rule_of(policy_set, rule_row)
    except EditError as exc:
        raise FrontierError(str(exc)) from None
    refusal = RULE_TYPES[rule.type].frontier_refusal(rule)
    if refusal is not None:
        movable = ", ".join(name + (" (basis total)" if name == "co2_cap" else "")
                            for name, kind in RULE_TYPES.items() if kind.frontier is not None)
        raise FrontierError(f"Policies row {rule_row} is {refusal}; a frontier moves a rule of these types: {movable}")
    condition_of = [r.row for r in policy_set.rules if r.requires == rule_row]
    if condition_of:
        raise FrontierError(f"Policies row {rule_row} is the condition of the threshold credit on Policies row "
                            f"{condition_of[0]}: it need not hold, so it has no frontier")
    return policy_set, rule


def frontier(network: Network, policy: str, rule_row: int, points: int = DEFAULT_POINTS,
             options: SolverOptions | None = None, workers: int = 1, scheduler: str | None = None,
             progress: ProgressCallback | None = None) -> Frontier:
    """The frontier of the rule on Policies ``rule_row`` of ``policy``: its range, then ``points`` solves."""
    if not 2 <= points <= MAX_POINTS:
        raise FrontierError(f"--points must be a whole number from 2 to {MAX_POINTS}")
    options = options or SolverOptions()
    policy_set, rule = check_rule(network, policy, rule_row)
    kind = RULE_TYPES[rule.type]
    formulation = build_formulation(network, policy_set)
    session = Session(RuleValue(rule_row, None).applied(formulation), options)
    without = session.solve()
    if not without.has_plan:
        raise FrontierError(f"policy set {policy_set.name!r} has no plan even without Policies row {rule_row} "
                            f"({without.status}): solve it for the reasons", no_plan=True)
    model = formulation.rules[rule_row]
    if formulation.n_variables != len(without.output.values):  # the rule adds rows only
        raise FrontierError(f"Policies row {rule_row} changes the model's variables; it has no frontier")
    measured = kind.measured(formulation, model, without.output.values)
    if not len(measured):
        raise FrontierError(f"Policies row {rule_row} measures no flow in the plan without it: nothing to move")
    start = End(*kind.frontier_start(measured), without)
    end = _end(session, formulation, model, start.value, options)
    values = [float(v) for v in np.linspace(start.value, end.value, points)]
    values[0], values[-1] = start.value, end.value
    members = [Member(f"{value:.9g}", (RuleValue(rule_row, value),), rules=(rule_row,)) for value in values]
    results = run_family(network, chains(f"frontier of Policies row {rule_row}", policy_set, members), options,
                         workers, scheduler, progress)
    start.result, end.result = results[0], results[-1]
    return Frontier(network, policy_set, rule, start, end, values, results)


def _end(session: Session, formulation, model, start: float, options: SolverOptions) -> End:
    """The most demanding value with a plan (see the module docstring)."""
    kind, rule = model.type, model.rule
    others = arrays_from(formulation, [b for b in formulation.blocks if b not in model.blocks.values()])
    exact = kind.frontier_end(formulation, model, others, Deadline.start(options))
    if exact is not None:
        return End(*exact)
    limit = kind.most_demanding()
    if limit is None:
        raise FrontierError(f"the most demanding value of Policies row {rule.row} with a plan could not be computed")

    def has_plan(value: float) -> bool:
        session.load(RuleValue(rule.row, value).applied(formulation))
        return session.solve().has_plan

    if has_plan(limit):
        return End(limit, "every share can reach it under the other rules")
    feasible, infeasible = start, limit
    while abs(infeasible - feasible) > BISECTION_TOLERANCE:
        middle = (feasible + infeasible) / 2
        if has_plan(middle):
            feasible = middle
        else:
            infeasible = middle
    return End(float(feasible), f"the most demanding value with a plan, to within {BISECTION_TOLERANCE:g} "
                                "(bisection: its rows are linked by one value)")
