"""One plan that holds across scenarios (``sourcing robust``, contract v3 part 2).

The build decisions of the investment options (the first stage) are taken once, before the scenario is
known; everything else is decided per scenario. The pipeline:

1. **Wait and see**: each scenario solved alone (runner tasks), for its optimal cost ``WS_s`` and its own
   build decisions.
2. **The robust plan**: one model over all scenarios, built from each scenario's own formulation (one copy
   per scenario, its build columns tied to shared first-stage columns by ``b_s = b``), minimising
   ``expected``: ``sum_s p_s cost_s``, ``worst``: ``max_s cost_s`` or ``regret``: ``max_s (cost_s - WS_s)``
   (an epigraph variable ``z`` with ``cost_s - z <= 0``, resp. ``<= WS_s``); passed to HiGHS as arrays.
3. **Plans x scenarios**: the robust plan's decisions, and each scenario plan's, evaluated in every scenario
   (runner tasks: the scenario solved with the builds fixed). A plan's cost in a scenario is always this
   evaluation.
4. **Figures**: each plan's expected cost, worst cost and maximum regret; EVPI = expected cost of the
   ``expected`` robust plan - sum_s p_s WS_s; value of hedging = the lowest expected cost of the scenario
   plans that have a plan in every scenario - the expected cost of the ``expected`` robust plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.network import BASELINE, Network
from optimizer.direct import arrays_from
from optimizer.edits import Builds
from optimizer.families import Chain, Member, chains, run_family
from optimizer.formulation import physical_of, with_rules
from optimizer.highs import INF, LinearArrays, solve_arrays
from optimizer.options import SolverOptions
from optimizer.results import SolveResult, unmet_total
from optimizer.runner import ProgressCallback

OBJECTIVES = ("expected", "worst", "regret")
#: The figure of a plan (``Plan.figures``) each objective minimises.
OBJECTIVE_FIGURE = {"expected": "expected_cost", "worst": "worst_cost", "regret": "max_regret"}
ROBUST = "robust"


class RobustError(ValueError):
    """The request does not fit the workbook (no Scenarios sheet, an unknown objective)."""


# --------------------------------------------------------------------------- decisions


def decisions_of(result: SolveResult) -> dict[str, Any]:
    """A plan's first-stage decisions (``SolveResult.decisions``)."""
    return result.decisions()


def _key(decisions: dict[str, Any]) -> tuple:
    """A hashable form of decisions (to evaluate each distinct set once)."""
    return tuple(sorted((o, tuple(sorted(d.items())) if isinstance(d, dict) else d) for o, d in decisions.items()))


# --------------------------------------------------------------------------- the robust model


@dataclass
class RobustModel:
    """What the one-model-over-all-scenarios solve says: its status, objective and first-stage decisions."""

    objective: str
    status: str
    value: float | None
    decisions: dict[str, Any]
    variables: int
    constraints: int
    seconds_build: float
    seconds_solve: float


def robust_model(network: Network, objective: str, wait_and_see: dict[str, float],
                 options: SolverOptions | None = None) -> RobustModel:
    """Build and solve the model over all scenarios (see the module docstring)."""
    started = time.perf_counter()
    scenarios = list(network.scenarios.values())
    parts, integer, builds = [], [], None
    for scenario in scenarios:
        physical = physical_of(network, scenario.name)
        formulation = with_rules(physical, physical.network.policy(physical.network.scenario_policy))
        lp = arrays_from(formulation)
        family = formulation.families.get("build")
        parts.append((scenario, lp, family.offset if family is not None else 0))
        integer.append(formulation.integer)
        if builds is None and family is not None:
            builds = family
    n_build = len(builds) if builds is not None else 0
    # Columns: every scenario's columns in turn, then the shared build columns, then z (worst, regret).
    offsets = np.cumsum([0] + [lp.n_cols for _, lp, _ in parts])
    shared = offsets[-1]
    epigraph = objective != "expected"
    n_cols = shared + n_build + (1 if epigraph else 0)
    cost = np.zeros(n_cols)
    lower = np.zeros(n_cols)
    upper = np.full(n_cols, INF)
    rows, cols, values, row_lower, row_upper = [], [], [], [], []
    n_rows = 0
    for (scenario, lp, build_offset), offset in zip(parts, offsets[:-1], strict=True):
        lower[offset:offset + lp.n_cols], upper[offset:offset + lp.n_cols] = lp.col_lower, lp.col_upper
        rows.append(lp.row + n_rows)
        cols.append(lp.col + offset)
        values.append(lp.value)
        row_lower.append(lp.row_lower)
        row_upper.append(lp.row_upper)
        n_rows += lp.n_rows
        if n_build:  # non-anticipativity: this scenario's builds are the shared ones
            k = np.arange(n_build)
            rows.append(np.r_[n_rows + k, n_rows + k])
            cols.append(np.r_[offset + build_offset + k, shared + k])
            values.append(np.r_[np.ones(n_build), -np.ones(n_build)])
            row_lower.append(np.zeros(n_build))
            row_upper.append(np.zeros(n_build))
            n_rows += n_build
        if epigraph:  # cost_s - z <= 0 (worst) or <= WS_s (regret)
            nonzero = np.flatnonzero(lp.cost)
            rows.append(np.full(len(nonzero) + 1, n_rows))
            cols.append(np.r_[offset + nonzero, n_cols - 1])
            values.append(np.r_[lp.cost[nonzero], -1.0])
            row_lower.append(np.array([-INF]))
            row_upper.append(np.array([wait_and_see[scenario.name] if objective == "regret" else 0.0]))
            n_rows += 1
        else:
            cost[offset:offset + lp.n_cols] = scenario.probability * lp.cost
    if epigraph:
        cost[n_cols - 1] = 1.0
        lower[n_cols - 1] = -INF
    if n_build:
        lower[shared:shared + n_build], upper[shared:shared + n_build] = builds.lower, builds.upper
    flags = np.r_[np.concatenate(integer), builds.integer_flags if n_build else np.zeros(0, dtype=bool),
                  np.zeros(1 if epigraph else 0, dtype=bool)]
    model = LinearArrays(cost, lower, upper, np.concatenate(row_lower), np.concatenate(row_upper),
                         np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64),
                         np.concatenate(values))
    built = time.perf_counter()
    solution = solve_arrays(model, integer=flags, options=options)
    solved = time.perf_counter()
    decisions: dict[str, Any] = {}
    if solution.x is not None and n_build:
        chosen = builds.keys.assign(fraction=solution.x[shared:shared + n_build],
                                    integer=builds.integer_flags)
        for option, rows_of in chosen.groupby("option", sort=False):
            if rows_of["integer"].iloc[0]:
                picked = rows_of[rows_of["fraction"] > 0.5]
                decisions[option] = picked["period"].iloc[0] if len(picked) else None
            else:
                positive = rows_of[rows_of["fraction"] > 1e-9]
                decisions[option] = {p: float(f) for p, f in zip(positive["period"], positive["fraction"],
                                                                  strict=True)}
    return RobustModel(objective, solution.status, solution.objective, decisions, model.n_cols, model.n_rows,
                       built - started, solved - built)


# --------------------------------------------------------------------------- the whole analysis


@dataclass
class Evaluation:
    """A plan's decisions evaluated in one scenario: its cost, or no plan with the reason."""

    cost: float | None
    message: str = ""
    result: SolveResult | None = None


@dataclass
class Plan:
    """One set of first-stage decisions and what it costs in every scenario."""

    name: str
    decisions: dict[str, Any]
    costs: dict[str, Evaluation] = field(default_factory=dict)

    def figures(self, probability: dict[str, float], wait_and_see: dict[str, float]) -> dict[str, float | None]:
        """Expected cost, worst cost and maximum regret (None where the plan fails in some scenario)."""
        costs = {s: e.cost for s, e in self.costs.items()}
        if any(c is None for c in costs.values()) or not costs:
            return {"expected_cost": None, "worst_cost": None, "max_regret": None}
        return {"expected_cost": float(sum(probability[s] * c for s, c in costs.items())),
                "worst_cost": float(max(costs.values())),
                "max_regret": float(max(c - wait_and_see[s] for s, c in costs.items()))}


@dataclass
class RobustResult:
    network: Network
    objective: str
    status: str
    wait_and_see: dict[str, SolveResult]
    plans: list[Plan]
    model: RobustModel | None
    expected_model: RobustModel | None
    evpi: float | None
    value_of_hedging: float | None
    hedging_note: str = ""
    message: str = ""
    diagnosis: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "time_limit") and bool(self.plans)

    @property
    def robust(self) -> Plan | None:
        return self.plans[0] if self.plans and self.plans[0].name == ROBUST else None

    def probability(self) -> dict[str, float]:
        return {s.name: s.probability for s in self.network.scenarios.values()}

    def ws_costs(self) -> dict[str, float | None]:
        return {name: r.total_cost for name, r in self.wait_and_see.items()}

    @property
    def objective_value(self) -> float | None:
        """The robust plan's value under the chosen objective: the robust model's optimum, or without
        Investments (each scenario keeps its own plan) the expected cost, the worst cost or the largest
        regret (0) of the scenario plans."""
        if self.model is not None:
            return self.model.value
        plan = self.robust
        if plan is None:
            return None
        figures = plan.figures(self.probability(), self.ws_costs())
        return figures[OBJECTIVE_FIGURE[self.objective]]


def robust(network: Network, objective: str = "expected", options: SolverOptions | None = None,
           workers: int = 1, scheduler: str | None = None,
           progress: ProgressCallback | None = None) -> RobustResult:
    """Wait-and-see plans, the robust plan, every plan evaluated in every scenario, and the figures."""
    if objective not in OBJECTIVES:
        raise RobustError(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}")
    if not network.scenarios:
        raise RobustError("the workbook has no Scenarios sheet: there is nothing to be robust against")
    options = options or SolverOptions()
    names = list(network.scenarios)
    probability = {s.name: s.probability for s in network.scenarios.values()}
    seconds: dict[str, float] = {}
    expected_solves = [len(names)]  # grows once the evaluations are known

    def ticks(before: int) -> ProgressCallback:
        """The runner's (done, of) for one batch, reported as solves done of all solves known."""
        return lambda done, _: progress(before + done, expected_solves[0]) if progress else None

    started = time.perf_counter()
    policy = network.policies[BASELINE]  # each scenario names its own
    ws = run_family(network, [Chain(n, policy, (Member(n, report="full"),), scenario=n) for n in names], options,
                    workers, scheduler, ticks(0))
    seconds["wait_and_see"] = time.perf_counter() - started
    wait_and_see = dict(zip(names, ws, strict=True))
    failed = [n for n in names if not wait_and_see[n].has_plan]
    if failed:
        worst = wait_and_see[failed[0]]
        return RobustResult(network, objective, "infeasible", wait_and_see, [], None, None, None, None,
                            message=f"scenario {failed[0]!r} has no plan whatever is built: {worst.message}",
                            diagnosis=worst.diagnosis, seconds=seconds)
    ws_cost = {n: float(wait_and_see[n].total_cost) for n in names}
    if not len(network.investments):  # nothing to decide up front: each scenario's own plan
        plan = Plan(ROBUST, {}, {n: Evaluation(ws_cost[n], result=wait_and_see[n]) for n in names})
        return RobustResult(network, objective, "optimal", wait_and_see, [plan], None, None, 0.0, 0.0,
                            message="no Investments sheet: nothing is decided up front, so the robust plan is "
                                    "each scenario's own plan (EVPI 0)", seconds=seconds)
    started = time.perf_counter()
    model = robust_model(network, objective, ws_cost, options)
    expected_model = model if objective == "expected" else robust_model(network, "expected", ws_cost, options)
    seconds["robust_model"] = time.perf_counter() - started
    if model.status not in ("optimal", "time_limit") or not model.decisions and len(network.investments):
        return RobustResult(network, objective, model.status, wait_and_see, [], model, expected_model, None, None,
                            message=f"the robust model ended with status {model.status}", seconds=seconds)
    plans = [Plan(ROBUST, model.decisions)]
    if objective != "expected":
        plans.append(Plan("robust_expected", expected_model.decisions))
    plans += [Plan(n, decisions_of(wait_and_see[n])) for n in names]
    # Evaluate each distinct set of decisions once per scenario; a scenario plan in its own scenario is WS. One
    # family: a chain per scenario, its model built once, the plans' builds fixed in turn on one session (the
    # robust plan's evaluation with its tables: they are the workbook's).
    distinct: dict[tuple, list[Plan]] = {}
    for plan in plans:
        distinct.setdefault(_key(plan.decisions), []).append(plan)
    family, slots = [], []
    for scenario in names:
        members = []
        for key, sharing in distinct.items():
            if any(p.name == scenario for p in sharing):
                for plan in sharing:
                    plan.costs[scenario] = Evaluation(ws_cost[scenario], result=wait_and_see[scenario])
                continue
            # the robust plan's tables are the workbook's; the other plans are compared by their cost alone
            report = "tables" if any(p.name == ROBUST for p in sharing) else "total"
            members.append(Member(f"{sharing[0].name} in {scenario}", (Builds.of(sharing[0].decisions),), report))
            slots.append((key, scenario))
        family += chains(f"plans in {scenario}", network.policies[BASELINE], members, scenario=scenario)
    expected_solves[0] = len(names) + len(slots)
    started = time.perf_counter()
    evaluated = run_family(network, family, options, workers, scheduler, ticks(len(names)))
    seconds["evaluation"] = time.perf_counter() - started
    for (key, scenario), result in zip(slots, evaluated, strict=True):
        evaluation = Evaluation(result.total_cost, "" if result.has_plan else result.message, result)
        for plan in distinct[key]:
            plan.costs.setdefault(scenario, evaluation)
    for plan in plans:
        plan.costs = {n: plan.costs[n] for n in names}
    expected_plan = plans[0] if objective == "expected" else plans[1]
    expected_cost = expected_plan.figures(probability, ws_cost)["expected_cost"]
    evpi = None if expected_cost is None else max(0.0, expected_cost - sum(probability[n] * ws_cost[n]
                                                                           for n in names))
    feasible = [p.figures(probability, ws_cost)["expected_cost"] for p in plans if p.name in network.scenarios]
    feasible = [c for c in feasible if c is not None]
    hedging, note = None, ""
    if not feasible:
        note = "every scenario plan fails somewhere"
    elif expected_cost is not None:
        hedging = max(0.0, min(feasible) - expected_cost)
    if objective != "expected":
        plans = [p for p in plans if p.name != "robust_expected"]
    return RobustResult(network, objective, model.status, wait_and_see, plans, model, expected_model, evpi, hedging,
                        hedging_note=note, seconds=seconds)


def robust_unmet(result: RobustResult, scenario: str) -> float | None:
    """The demand the robust plan leaves unmet in ``scenario`` (summed over Demand rows; None without a plan
    there)."""
    plan = result.robust
    evaluation = plan.costs.get(scenario) if plan else None
    if evaluation is None or evaluation.result is None or not evaluation.result.has_plan:
        return None
    return unmet_total(evaluation.result)


def scenario_table(result: RobustResult) -> pd.DataFrame:
    """The Scenarios sheet: probability, policy, number of changes, WS_s, the robust plan's cost, regret, and the
    demand the robust plan leaves unmet there."""
    robust_plan = result.robust
    rows = []
    for scenario in result.network.scenarios.values():
        ws = result.wait_and_see[scenario.name].total_cost
        cost = robust_plan.costs[scenario.name].cost if robust_plan else None
        rows.append({"scenario": scenario.name, "probability": scenario.probability, "policy": scenario.policy,
                     "changes": len(scenario.changes), "description": scenario.description,
                     "wait_and_see_cost": ws, "robust_cost": cost,
                     "regret": cost - ws if cost is not None and ws is not None else None,
                     "demand_unmet": robust_unmet(result, scenario.name)})
    return pd.DataFrame(rows)


def decisions_table(result: RobustResult) -> pd.DataFrame:
    """The Decisions sheet: options x plans, holding the build period (fractions for a divisible option)."""
    options = list(dict.fromkeys(result.network.investments["option"]))
    table = pd.DataFrame({"option": options})
    for plan in result.plans:
        table[plan.name] = [_shown(plan.decisions.get(o)) for o in options]
    return table


def _shown(decision: Any) -> str | None:
    if isinstance(decision, dict):
        return ", ".join(f"{p}: {f:.0%}" for p, f in decision.items()) or None
    return decision


def matrix(result: RobustResult) -> pd.DataFrame:
    """Plans x scenarios: each plan's cost in each scenario (blank where it has no plan), and its figures."""
    probability, ws = result.probability(), {n: r.total_cost for n, r in result.wait_and_see.items()}
    rows = []
    for plan in result.plans:
        row = {"plan": plan.name}
        row.update({s: e.cost for s, e in plan.costs.items()})
        row.update(plan.figures(probability, ws))
        rows.append(row)
    return pd.DataFrame(rows)


def stacked(result: RobustResult, table: str) -> pd.DataFrame:
    """The robust plan's Flows, Utilization or Compliance in every scenario, with a ``scenario`` column."""
    plan = result.robust
    frames = []
    for scenario, evaluation in (plan.costs.items() if plan else ()):
        frame = getattr(evaluation.result, table) if evaluation.result is not None else pd.DataFrame()
        if len(frame):
            frames.append(frame.assign(scenario=scenario)[["scenario", *frame.columns]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["scenario"])


def as_dict(result: RobustResult, output: str | None = None) -> dict[str, Any]:
    """The fields of ``robust --json``."""
    probability, ws = result.probability(), {n: r.total_cost for n, r in result.wait_and_see.items()}
    plan = result.robust
    scenarios = []
    for scenario in result.network.scenarios.values():
        cost = plan.costs[scenario.name].cost if plan else None
        scenarios.append({"scenario": scenario.name, "probability": scenario.probability, "policy": scenario.policy,
                          "wait_and_see_cost": ws[scenario.name], "robust_cost": cost,
                          "regret": cost - ws[scenario.name] if cost is not None and ws[scenario.name] is not None
                          else None, "demand_unmet": robust_unmet(result, scenario.name)})
    windows = {o: list(rows["period"]) for o, rows in result.network.investments.groupby("option", sort=False)}
    plans = []
    for p in result.plans:  # a divisible option's fractions in the order of its build periods
        decisions = {o: ([d.get(t, 0.0) for t in windows[o] if _in_window(result.network, o, t)]
                         if isinstance(d, dict) else d) for o, d in p.decisions.items()}
        plans.append({"plan": p.name, "decisions": decisions, "costs": {s: e.cost for s, e in p.costs.items()},
                      **p.figures(probability, ws)})
    return {"status": result.status, "objective": result.objective,
            "objective_value": result.objective_value,
            "evpi": result.evpi, "value_of_hedging": result.value_of_hedging, "message": result.message,
            "scenarios": scenarios, "plans": plans, "diagnosis": result.diagnosis, "output": output}


def _in_window(network: Network, option: str, period: str) -> bool:
    rows = network.investments[network.investments["option"] == option].iloc[0]
    order = list(network.periods)
    return order.index(rows["earliest"]) <= order.index(period) <= order.index(rows["latest"])
