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

N points evenly spaced from start to end (both included) are solved through the runner; each carries the
one-sided marginal cost of tightening the row further (``optimizer.marginals``; "at the limit" at the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.network import Network, PolicySet, Rule
from optimizer.api import solve
from optimizer.backend import SolverOptions
from optimizer.direct import arrays_from
from optimizer.formulation import build_formulation
from optimizer.highs import INF, solve_arrays
from optimizer.model import Formulation
from optimizer.results import SolveResult
from optimizer.rules.base import FLOW_TOLERANCE
from optimizer.rules.carbon import emissions_per_period
from optimizer.rules.shares import best_share
from optimizer.runner import ProgressCallback, SolveTask, run_tasks

FRONTIER_RULES = ("min_share", "max_share", "co2_cap")
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
        return self.rule.type in ("min_share", "max_share")

    def marginal_label(self) -> str:
        """What the ``marginal`` column is, in the tightening direction."""
        return "cost per +1 pp tighter" if self.is_share else "cost per unit of emissions less"

    def table(self) -> pd.DataFrame:
        """value, status, total cost, change from the start, and the one-sided marginal cost at each point."""
        first = self.start.result.total_cost if self.start.result is not None else np.nan
        return pd.DataFrame([{
            "value": value, "status": result.status, "total_cost": result.total_cost,
            "vs_start": result.total_cost - first if result.has_plan else np.nan,
            "marginal": result.marginals.rule_rate(self.rule.row) if result.has_plan else np.nan,
        } for value, result in zip(self.values, self.results, strict=True)])

    def as_dict(self, output: str | None = None) -> dict[str, Any]:
        """The fields of ``frontier --json``: values in the rule's own units (a share as a fraction), the
        marginal per +1 pp (shares) or per unit of emissions (caps), in the tightening direction."""
        return {
            "rule": self.rule.row, "policy": self.policy.name, "start": self.start.value, "end": self.end.value,
            "points": self.table()[["value", "status", "total_cost", "marginal"]].replace(
                {np.nan: None}).to_dict("records"),
            "output": output,
        }


def check_rule(network: Network, policy: str, rule_row: int) -> tuple[PolicySet, Rule]:
    """The policy set and its rule on Policies ``rule_row``; FrontierError unless the rule can have a frontier."""
    policy_set = network.policy(policy)
    rule = next((r for r in policy_set.rules if r.row == rule_row), None)
    if rule is None:
        rows = ", ".join(str(r.row) for r in policy_set.rules) or "none"
        raise FrontierError(f"policy set {policy_set.name!r} has no rule on Policies row {rule_row} "
                            f"(its rules are on rows: {rows})")
    if rule.type not in FRONTIER_RULES or (rule.type == "co2_cap" and rule.basis != "total"):
        kind = f"{rule.type} ({rule.basis})" if rule.type == "co2_cap" else rule.type
        raise FrontierError(f"Policies row {rule_row} is a {kind} rule; a frontier moves a min_share, max_share "
                            "or co2_cap (basis total) rule")
    condition_of = [r.row for r in policy_set.rules if r.requires == rule_row]
    if condition_of:
        raise FrontierError(f"Policies row {rule_row} is the condition of the threshold credit on Policies row "
                            f"{condition_of[0]}: it need not hold, so it has no frontier")
    return policy_set, rule


def with_value(policy_set: PolicySet, rule_row: int, value: float | None) -> PolicySet:
    """The policy set with the rule on ``rule_row`` set to ``value`` (None: left out)."""
    rules = tuple(r.model_copy(update={"value": value}) if r.row == rule_row else r
                  for r in policy_set.rules if value is not None or r.row != rule_row)
    return policy_set.model_copy(update={"rules": rules})


def frontier(network: Network, policy: str, rule_row: int, points: int = DEFAULT_POINTS,
             options: SolverOptions | None = None, workers: int = 1, scheduler: str | None = None,
             progress: ProgressCallback | None = None) -> Frontier:
    """The frontier of the rule on Policies ``rule_row`` of ``policy``: its range, then ``points`` solves."""
    if not 2 <= points <= MAX_POINTS:
        raise FrontierError(f"--points must be a whole number from 2 to {MAX_POINTS}")
    options = options or SolverOptions()
    policy_set, rule = check_rule(network, policy, rule_row)
    without = solve(network, with_value(policy_set, rule_row, None), options=options, diagnosis=False)
    if not without.has_plan:
        raise FrontierError(f"policy set {policy_set.name!r} has no plan even without Policies row {rule_row} "
                            f"({without.status}): solve it for the reasons", no_plan=True)
    formulation = build_formulation(network, policy_set)
    model = formulation.rules[rule_row]
    if formulation.n_variables != len(without.output.values):  # the rule adds rows only
        raise FrontierError(f"Policies row {rule_row} changes the model's variables; it has no frontier")
    measured = _measured(formulation, model, without.output.values)
    if not len(measured):
        raise FrontierError(f"Policies row {rule_row} measures no flow in the plan without it: nothing to move")
    start = End(float(measured.min() if rule.type == "min_share" else measured.max()),
                _start_text(rule), without)
    end = _end(network, policy_set, formulation, model, start.value, options)
    values = [float(v) for v in np.linspace(start.value, end.value, points)]
    values[0], values[-1] = start.value, end.value
    tasks = [SolveTask(f"{value:.9g}", with_value(policy_set, rule_row, value)) for value in values]
    results = run_tasks(network, tasks, options, workers, scheduler, progress)
    start.result, end.result = results[0], results[-1]
    return Frontier(network, policy_set, rule, start, end, values, results)


def _measured(formulation: Formulation, model, values: np.ndarray) -> np.ndarray:
    """What the rule measures in a plan, row by row: its shares (rows with flow) or its per-period emissions."""
    if model.rule.type == "co2_cap":
        return emissions_per_period(model.data["emitters"], values)
    terms = model.terms
    weighted = terms.weight * values[terms.var]
    total = np.bincount(terms.row, weights=weighted, minlength=len(terms.rows))
    selected = np.bincount(terms.row, weights=weighted * terms.selected, minlength=len(terms.rows))
    return (selected / np.where(total > FLOW_TOLERANCE, total, 1.0))[total > FLOW_TOLERANCE]


def _start_text(rule: Rule) -> str:
    what = {"min_share": "the lowest share", "max_share": "the highest share",
            "co2_cap": "the highest period's matching emissions"}[rule.type]
    return f"{what} the cost-minimal plan reaches without the rule: where it starts to bind"


def _end(network: Network, policy_set: PolicySet, formulation: Formulation, model, start: float,
         options: SolverOptions) -> End:
    """The most demanding value with a plan (see the module docstring)."""
    rule = model.rule
    if rule.type == "co2_cap":
        return End(_least_peak_emissions(formulation, model, options),
                   "the least achievable largest period's emissions under the other rules (exact: one "
                   + ("MILP" if formulation.is_mip else "LP") + ")")
    others = arrays_from(formulation, [b for b in formulation.blocks if b != model.blocks["share"]])
    if len(model.terms.rows) == 1 and not formulation.is_mip:
        best = best_share(others, model.terms, 0, maximize=rule.type == "min_share")
        if best is not None:
            best = min(best, 1.0) if rule.type == "min_share" else max(best, 0.0)
            return End(float(best), f"the {'highest' if rule.type == 'min_share' else 'lowest'} share achievable "
                                    "under the other rules (exact: Dinkelbach's method, as diagnosis computes it)")
    limit = 1.0 if rule.type == "min_share" else 0.0
    if _has_plan(network, policy_set, rule.row, limit, options):
        return End(limit, "every share can reach it under the other rules")
    feasible, infeasible = start, limit
    while abs(infeasible - feasible) > BISECTION_TOLERANCE:
        middle = (feasible + infeasible) / 2
        if _has_plan(network, policy_set, rule.row, middle, options):
            feasible = middle
        else:
            infeasible = middle
    return End(float(feasible), f"the most demanding value with a plan, to within {BISECTION_TOLERANCE:g} "
                                "(bisection: its rows are linked by one value)")


def _has_plan(network: Network, policy_set: PolicySet, rule_row: int, value: float, options: SolverOptions) -> bool:
    """Whether the policy set with the rule at ``value`` has a plan (a solve without costs: feasibility only)."""
    formulation = build_formulation(network, with_value(policy_set, rule_row, value))
    lp = arrays_from(formulation)
    lp.cost = np.zeros(lp.n_cols)
    solution = solve_arrays(lp, integer=formulation.integer, options=SolverOptions(time_limit=options.time_limit))
    return solution.status == "optimal"


def _least_peak_emissions(formulation: Formulation, model, options: SolverOptions) -> float:
    """min z s.t. each covered period's matching emissions <= z, under every other block (the cap's rows turned
    into ``emissions - z <= 0``)."""
    lp = arrays_from(formulation)
    start = lp.row_offset[model.blocks["cap"]]
    rows = start + np.arange(len(formulation.blocks[model.blocks["cap"]]))
    lp.cost = np.zeros(lp.n_cols)
    lp.row_lower[rows], lp.row_upper[rows] = -INF, 0.0
    lp.add_column(1.0, rows, np.full(len(rows), -1.0))  # z, the largest period's emissions
    integer = np.concatenate([formulation.integer, [False]])
    solution = solve_arrays(lp, integer=integer, options=SolverOptions(time_limit=options.time_limit))
    if solution.status != "optimal":
        raise FrontierError(f"the least emissions under Policies row {model.rule.row}'s policy set could not be "
                            f"computed ({solution.status})")
    return float(solution.objective)
