"""Resilience: what a plan loses when one of its sites goes down (``sourcing stress``).

The time-to-survive / time-to-recover method of Simchi-Levi et al., "Identifying Risks and Mitigating Disruptions
in the Automotive Supply Chain", Interfaces 45(5), 2015, on this tool's network (BOM, lanes, tariffs, the policy
set's linear rules, the plan's built options and the stock it holds):

1. The plan of the policy set (or scenario) is solved; its builds and the stock it holds entering period T are the
   state a disruption hits.
2. The **window model** (``window_network``): period T alone, with the stock held entering T at the start (free),
   T's per-unit costs undiscounted, no holding cost, capex or fixed cost (sunk in a contingency), the options the
   plan has available in T at the capacity it has of them, demand that may go unmet at its shortage cost, and the
   policy set's linear rules (``RuleType.windowed``: the discrete ones are left out). A window of ``w`` weeks is
   the edit ``Window(w / period_weeks)``: every capacity, throughput, demand quantity and total cap times that
   fraction. A site's outage is the edit ``Outage(site)``: bounds of 0 on its production and on everything it
   receives (``optimizer.edits``).
3. **Time to survive** (TTS) of a node: the longest window with the node down that leaves no demand unmet. Every
   right-hand side and bound of the window model is linear in the window's fraction φ of the period (read off the
   model at φ = 1 and φ = 1/2), and the stock is fixed, so it is one LP: φ becomes a column and the LP maximises
   it in [0, 1] with every demand met (``TimeToSurvive``).
4. **Impact** at the node's time to recover: the window of its ``recovery_weeks`` (blank: ``--weeks``) with the
   node down, against the same window with nothing down; the **risk exposure index** (REI) is each node's
   performance impact over the largest.

The windows are independent: a family of members (the baseline windows, then one member per node), cut into
fixed chains (``optimizer.families.cut``) run by the runner; each chain works on one session (one HiGHS model,
each window a warm re-solve of it) and one TTS instance edited per node. The chains do not depend on the number
of workers, so neither do the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from models.network import BASELINE, Network, PolicySet
from models.problems import Problem
from models.vocabulary import close_name
from optimizer import highs
from optimizer.direct import arrays_from
from optimizer.edits import Outage, Window, apply_all
from optimizer.families import cut
from optimizer.formulation import build_formulation
from optimizer.highs import INF, LinearArrays
from optimizer.horizon import fix_builds
from optimizer.model import Formulation
from optimizer.options import SolverOptions
from optimizer.results import SolveResult
from optimizer.rules import RULE_TYPES
from optimizer.runner import ProgressCallback, run_tasks
from optimizer.session import Session

#: The window of a site whose recovery_weeks is blank, unless ``--weeks`` says otherwise.
DEFAULT_WEEKS = 4.0
#: A window fraction this close to 1 is the whole period (the node survives it).
WHOLE = 1e-9
#: Costs and quantities this small (relative to the window's cost) are zero.
TOLERANCE = 1e-9
#: The Stress sheet's columns, in order.
STRESS_COLUMNS = ["rank", "site", "country", "items", "recovery_weeks", "recovery_from", "tts_weeks",
                  "survives_period", "loses_sales", "finding", "lost_units", "lost_value", "window_cost",
                  "baseline_window_cost", "performance_impact", "rei"]
#: The fields of each site in ``stress --json``.
SITE_FIELDS = ["site", "recovery_weeks", "tts_weeks", "survives_period", "lost_units", "lost_value", "window_cost",
               "baseline_window_cost", "performance_impact", "rei", "rank"]


class StressError(ValueError):
    """A stress test that cannot be run as asked (exit 2): a bad option, or workbook cells (``problems``)."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


# --------------------------------------------------------------------------- the window model


def available_fractions(world: Network, plan: SolveResult, period: str) -> dict[str, float]:
    """The fraction of each investment option the plan has available in ``period`` (built at least its lead time
    before); options with none are left out."""
    periods = list(world.periods)
    at = periods.index(period)
    lead = world.investments.set_index(["option", "period"])["lead_time"]
    out = {}
    for option, decision in plan.decisions().items():
        built = decision if isinstance(decision, dict) else {decision: 1.0} if decision is not None else {}
        total = sum(fraction for built_in, fraction in built.items()
                    if periods.index(built_in) + int(lead[(option, built_in)]) <= at)
        if total > TOLERANCE:
            out[option] = min(float(total), 1.0)
    return out


def window_rules(policy: PolicySet, period: str, ignore_rules: bool) -> PolicySet:
    """The policy set in a window of ``period``: the rules covering it as ``RuleType.windowed`` gives them (the
    discrete ones left out), without a share rule that only conditioned a threshold credit (left out with it);
    none with ``ignore_rules``."""
    if ignore_rules:
        return policy.model_copy(update={"rules": ()})
    conditions = {r.requires for r in policy.rules if r.requires is not None}
    kept = [RULE_TYPES[r.type].windowed(r, 1.0) for r in policy.rules
            if r.period in (None, period) and r.row not in conditions]
    return policy.model_copy(update={"rules": tuple(r for r in kept if r is not None)})


def window_network(world: Network, policy: PolicySet, plan: SolveResult, period: str,
                   shortage_cost: float | None = None, ignore_rules: bool = False) -> Network:
    """The window model of ``period`` over the whole period (a window of ``period_weeks``), as a workbook: that
    period alone, undiscounted, its Supply rows without fixed costs or minimum quantities, the options the plan has
    available then (capacity x the fraction available; no capex or fixed cost; divisible: a window fixes its
    build), the stock the plan holds entering the period as the initial stock (no holding cost; it can be drawn
    down, not built up), blank shortage costs taking ``shortage_cost``, and the policy set's windowed rules."""
    supply = world.supply[world.supply["period"] == period].assign(fixed_cost=np.nan, min_quantity=np.nan)
    demand = world.demand[world.demand["period"] == period]
    if shortage_cost is not None:
        demand = demand.assign(shortage_cost=demand["shortage_cost"].fillna(shortage_cost))
    lanes = world.lanes
    if "period" in lanes.columns:  # a scenario changed a lane in some periods
        lanes = lanes[lanes["period"] == period]
    available = available_fractions(world, plan, period)
    options = world.investments
    options = options[(options["period"] == period) & options["option"].isin(list(available))]
    options = options.assign(capacity=options["capacity"] * options["option"].map(available), capex=0.0,
                             fixed_cost=0.0, earliest=period, latest=period, lead_time=0.0, divisible=True)
    stock = world.inventory[world.inventory["period"] == period]
    if len(stock):
        held = plan.inventory[plan.inventory["period"] == period].set_index(["site", "item"])["opening"]
        opening = held.reindex(pd.MultiIndex.from_frame(stock[["site", "item"]])).fillna(0.0).to_numpy(dtype=float)
        stock = stock.assign(initial=opening, capacity=opening, holding_cost=0.0, final=0.0)
    windowed = window_rules(policy, period, ignore_rules)
    policies = {BASELINE: world.policies[BASELINE], windowed.name: windowed}
    return replace(world, periods=(period,), discount=(1.0,), supply=supply.reset_index(drop=True),
                   demand=demand.reset_index(drop=True), lanes=lanes.reset_index(drop=True),
                   tariffs=tuple(t for t in world.tariffs if t.period in (None, period)),
                   investments=options.reset_index(drop=True), inventory=stock.reset_index(drop=True),
                   policies=policies, scenarios={}, scenario_name=None, scenario_policy=None, warnings=())


def scaled(window: Network, fraction: float) -> Network:
    """The window model over ``fraction`` of its period: Supply and Lanes capacities, throughputs, demand and
    total caps (``RuleType.windowed``) times ``fraction``. Options keep their capacity: a window fixes their build
    at ``fraction`` (``window_formulation``); the stock stays as it is."""
    sites = {name: site.model_copy(update={"throughput": site.throughput * fraction})
             if site.throughput is not None else site for name, site in window.sites.items()}
    policies = {name: policy.model_copy(update={"rules": tuple(RULE_TYPES[r.type].windowed(r, fraction)
                                                               for r in policy.rules)})
                for name, policy in window.policies.items()}
    return replace(window, sites=sites, policies=policies,
                   supply=window.supply.assign(capacity=window.supply["capacity"] * fraction),
                   demand=window.demand.assign(quantity=window.demand["quantity"] * fraction),
                   lanes=window.lanes.assign(capacity=window.lanes["capacity"] * fraction))


def window_formulation(window: Network, policy: PolicySet, fraction: float) -> Formulation:
    """The window model over ``fraction`` of the period of ``window`` (``window_network``), ``policy``'s rules
    stated on it, every option built at ``fraction``. An LP; its production stays in the model HiGHS gets (no
    substitution), so an outage is a bounds edit."""
    network = scaled(window, fraction)
    formulation = build_formulation(network, network.policy(policy.name))
    formulation.substitute = False
    options = list(dict.fromkeys(network.investments["option"]))
    if options:
        fix_builds(formulation, {option: {network.periods[0]: fraction} for option in options})
    return formulation


def nodes(window: Network) -> list[str]:
    """The sites that can go down in a window, in the Sites sheet's order: a Supply row with capacity in the period
    (blank: unlimited), a throughput, or an option the plan has available."""
    supply = window.supply
    making = set(supply.loc[supply["capacity"].isna() | (supply["capacity"] > 0), "site"])
    making |= set(window.investments["site"])
    making |= {site.id for site in window.sites.values() if site.throughput is not None}
    return [site for site in window.sites if site in making]


def items_made(window: Network, site: str) -> str:
    """``cells_nmc; cam_nmc``: what the site makes in the window (Supply with capacity, options), in Items order."""
    supply = window.supply
    made = set(supply.loc[(supply["site"] == site) & (supply["capacity"].isna() | (supply["capacity"] > 0)), "item"])
    made |= set(window.investments.loc[window.investments["site"] == site, "item"])
    return "; ".join(item for item in window.items if item in made)


# --------------------------------------------------------------------------- time to survive


class TimeToSurvive:
    """The TTS LP of a window model: max φ in [0, 1] such that the window of φ of the period with a node down meets
    every demand. Each row of the model is ``A x (sense) r0 + φ r1`` and each column's bounds ``l0 + φ l1``,
    ``u0 + φ u1``; both are read off the model at φ = 1 and at φ = 1/2, which must have the same matrix. One
    HiGHS instance; a node's outage bounds its columns to 0 for one solve, warm from the previous one."""

    def __init__(self, base: Formulation, options: SolverOptions):
        half = Window(0.5).applied(base)
        one, mid = arrays_from(base), arrays_from(half)
        if not (np.array_equal(one.row, mid.row) and np.array_equal(one.col, mid.col)
                and np.array_equal(one.value, mid.value)):
            raise RuntimeError("the window model's matrix changes with the window's length")
        rows_slope, lower0, upper0 = _linear(one.row_lower, mid.row_lower, one.row_upper, mid.row_upper)
        n = one.n_cols
        col_lower, col_upper = one.col_lower.copy(), one.col_upper.copy()
        unmet = base.families.get("unmet")
        if unmet is not None:  # the window must meet every demand
            col_lower[unmet.index] = col_upper[unmet.index] = 0.0
        # A column whose bounds move with φ (an option's build, fixed at φ) gets them as rows, x - φ u1 <= u0 and
        # x - φ l1 >= l0, and bounds wide enough for every φ.
        low1 = _slope(one.col_lower, mid.col_lower)
        up1 = _slope(one.col_upper, mid.col_upper)
        if unmet is not None:
            low1[unmet.index] = up1[unmet.index] = 0.0
        upper_cols, lower_cols = np.flatnonzero(up1), np.flatnonzero(low1)
        moved = np.r_[upper_cols, lower_cols]
        moved_slope = np.r_[up1[upper_cols], low1[lower_cols]]
        at_zero = np.r_[col_upper[upper_cols] - up1[upper_cols], col_lower[lower_cols] - low1[lower_cols]]
        is_upper = np.arange(len(moved)) < len(upper_cols)
        col_lower[moved] = np.minimum(col_lower[moved], col_lower[moved] - low1[moved])
        col_upper[moved] = np.maximum(col_upper[moved], col_upper[moved] - up1[moved])
        m, phi = one.n_rows, n
        sloped = np.flatnonzero(rows_slope != 0)
        extra = m + np.arange(len(moved))
        self.lp = LinearArrays(
            cost=np.r_[np.zeros(n), -1.0], col_lower=np.r_[col_lower, 0.0], col_upper=np.r_[col_upper, 1.0],
            row_lower=np.r_[lower0, np.where(is_upper, -INF, at_zero)],
            row_upper=np.r_[upper0, np.where(is_upper, at_zero, INF)],
            row=np.r_[one.row, sloped, extra, extra].astype(np.int64),
            col=np.r_[one.col, np.full(len(sloped), phi), moved, np.full(len(extra), phi)].astype(np.int64),
            value=np.r_[one.value, -rows_slope[sloped], np.ones(len(extra)), -moved_slope])
        self.base = base
        self.h = highs.new_highs(options)
        highs.load_arrays(self.h, self.lp)

    def fraction_without(self, site: str) -> tuple[float, str]:
        """(the largest fraction of the period the window with ``site`` down meets every demand, HiGHS status)."""
        columns = Outage(site).columns(self.base).astype(np.int32)
        lower, upper = self.lp.col_lower[columns], self.lp.col_upper[columns]
        if len(columns):
            self.h.changeColsBounds(len(columns), columns, lower, np.minimum(upper, 0.0))
        self.h.run()
        status = highs.model_status(self.h)
        fraction = float(self.h.getSolution().col_value[-1]) if status == "optimal" else 0.0
        if len(columns):
            self.h.changeColsBounds(len(columns), columns, lower, upper)
        return min(max(fraction, 0.0), 1.0), status


def _slope(at_one: np.ndarray, at_half: np.ndarray) -> np.ndarray:
    """Per entry, how far a bound moves from φ = 0 to φ = 1 (0 where it is infinite)."""
    finite = np.abs(at_one) < INF
    return np.where(finite, 2.0 * (at_one - np.where(finite, at_half, 0.0)), 0.0)


def _linear(lower_one, lower_half, upper_one, upper_half) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's right-hand side as r0 + φ r1: (r1, lower r0, upper r0). A row's finite bounds move together (its
    sense is ==, <= or >=)."""
    lower1, upper1 = _slope(lower_one, lower_half), _slope(upper_one, upper_half)
    both = (np.abs(lower_one) < INF) & (np.abs(upper_one) < INF)
    if not np.allclose(lower1[both], upper1[both]):
        raise RuntimeError("a ranged row of the window model moves two ways")
    slope = np.where(np.abs(lower_one) < INF, lower1, upper1)
    return slope, np.where(np.abs(lower_one) < INF, lower_one - lower1, lower_one), \
        np.where(np.abs(upper_one) < INF, upper_one - upper1, upper_one)


# --------------------------------------------------------------------------- the family


@dataclass(frozen=True)
class StressMember:
    """One window of a stress family: ``weeks`` long, with ``site`` down (None: the baseline, nothing down)."""

    weeks: float
    site: str | None = None


@dataclass
class WindowOutcome:
    """What one window gave (small and picklable): its cost, what it left unmet by item and its value, and for a
    node the fraction of the period it survives with every demand met."""

    weeks: float
    site: str | None
    status: str
    window_cost: float | None
    lost_by_item: dict[str, float] = field(default_factory=dict)
    value_by_item: dict[str, float] = field(default_factory=dict)
    lost_value: float = 0.0
    survives: float | None = None
    survives_status: str = ""
    warm: bool = False


@dataclass(frozen=True)
class StressChain:
    """Members solved one after another over the window model of ``policy`` (the runner's task: it gets the window
    network at the whole period): one session for the windows, one TTS instance for the nodes."""

    label: str
    policy: str
    members: tuple[StressMember, ...]

    def run(self, network: Network, options: SolverOptions) -> list[WindowOutcome]:
        base = window_formulation(network, network.policy(self.policy), 1.0)
        session: Session | None = None
        survive: TimeToSurvive | None = None
        out = []
        for member in self.members:
            edits = (Window(member.weeks / network.period_weeks),) + ((Outage(member.site),) if member.site else ())
            formulation = apply_all(base, edits)
            if session is None:
                session = Session(formulation, options)
            else:
                session.load(formulation)
            warm_before = session.warm_solves
            result = session.solve()
            outcome = WindowOutcome(member.weeks, member.site, result.status, result.total_cost,
                                    warm=session.warm_solves > warm_before)
            if result.has_plan and len(result.unmet):
                by_item = result.unmet[result.unmet["unmet"] > 0].groupby("item", sort=False)
                outcome.lost_by_item = {str(k): float(v) for k, v in by_item["unmet"].sum().items()}
                outcome.value_by_item = {str(k): float(v) for k, v in by_item["cost"].sum().items()}
                outcome.lost_value = float(result.costs.get("shortage") or 0.0)
            if member.site is not None:
                survive = survive or TimeToSurvive(base, options)
                outcome.survives, outcome.survives_status = survive.fraction_without(member.site)
            out.append(outcome)
        return out


# --------------------------------------------------------------------------- the stress test


@dataclass
class StressResult:
    """A stress test: the plan it starts from, and per node its TTS, impact, REI and rank (``table``, the Stress
    sheet, by rank) and what it loses by item (``lost``)."""

    network: Network
    policy: str
    scenario: str | None
    period: str
    period_weeks: float
    weeks: float
    plan: SolveResult
    window: Network | None = None
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STRESS_COLUMNS))
    lost: pd.DataFrame = field(default_factory=pd.DataFrame)
    ignore_rules: bool = False
    shortage_cost: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def has_plan(self) -> bool:
        return self.plan.has_plan

    @property
    def status(self) -> str:
        return self.plan.status

    def findings(self) -> list[str]:
        """``X loses sales after 9.75 weeks; it needs 13 to recover`` per node whose TTS is below its recovery."""
        return [row.finding for row in self.table.itertuples() if row.loses_sales]

    def as_dict(self, output: str | None = None) -> dict[str, Any]:
        """The fields of ``stress --json``."""
        sites = [{key: _plain(getattr(row, key)) for key in SITE_FIELDS} for row in self.table.itertuples()]
        payload = {"status": self.status, "output": output, "policy": self.policy, "scenario": self.scenario,
                   "period": self.period, "period_weeks": self.period_weeks, "sites": sites}
        if not self.has_plan:
            payload.update(message=self.plan.message, diagnosis=self.plan.diagnosis)
        return payload


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def weeks_text(weeks: float) -> str:
    """``9.75``, ``13``, ``1,200.5``: weeks (or units) as a reader writes them, at most two decimals."""
    text = f"{weeks:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def stress(network: Network, policy: str | None = None, scenario: str | None = None, period: str | None = None,
           weeks: float = DEFAULT_WEEKS, shortage_cost: float | None = None, ignore_rules: bool = False,
           sites: list[str] | None = None, options: SolverOptions | None = None, workers: int = 1,
           scheduler: str | None = None, progress: ProgressCallback | None = None) -> StressResult:
    """Stress-test the plan of ``policy`` (or ``scenario``) in ``period`` (default: the first): every node's time to
    survive, impact at its time to recover, REI and rank. Raises StressError for a request that cannot be run (exit
    2) and KeyError for an unknown policy set or scenario; a plan without a solution is a result without nodes."""
    from optimizer.api import solve

    options = options or SolverOptions()
    if weeks < 0 or not math.isfinite(weeks):
        raise StressError("--weeks must be a number of weeks >= 0")
    if shortage_cost is not None and (shortage_cost < 0 or not math.isfinite(shortage_cost)):
        raise StressError("--shortage-cost must be a number >= 0")
    world = network.in_scenario(scenario) if scenario is not None else network
    policy_set = world.policy(world.scenario_policy if scenario is not None else policy or BASELINE)
    period = _period(world, period)
    _check_shortage_costs(world, period, shortage_cost)
    if sites is not None:
        _known_sites(world, sites)
    plan = solve(world, policy_set, options=options)
    result = StressResult(world, policy_set.name, world.scenario_name, period, world.period_weeks, weeks, plan,
                          ignore_rules=ignore_rules, shortage_cost=shortage_cost)
    if not plan.has_plan:
        return result
    window = window_network(world, policy_set, plan, period, shortage_cost, ignore_rules)
    tested = nodes(window)
    if sites is not None:
        tested = _chosen(window, tested, sites, period)
    recovery = {site: _recovery(window, site, weeks) for site in tested}
    members = [StressMember(w) for w in sorted({w for w, _ in recovery.values()})]
    members += [StressMember(recovery[site][0], site) for site in tested]
    runs = cut(members)
    family = [StressChain(f"stress {i + 1}/{len(runs)}", policy_set.name, tuple(run)) for i, run in enumerate(runs)]
    outcomes = [o for chain in run_tasks(window, family, options, workers, scheduler, progress) for o in chain]
    result.window = window
    result.table, result.lost = _tables(window, outcomes, recovery)
    result.stats.update(windows=len(outcomes), chains=len(family), warm=sum(o.warm for o in outcomes))
    return result


def _period(world: Network, period: str | None) -> str:
    """The period asked for (the first when None), as the workbook spells it; StressError naming the periods."""
    if period is None:
        return world.periods[0]
    found = {p.lower(): p for p in world.periods}.get(str(period).strip().lower())
    if found is None:
        raise StressError(_unknown("period", str(period).strip(), list(world.periods)))
    return found


def _unknown(kind: str, name: str, known: list[str]) -> str:
    """``no site named 'x'; did you mean 'y'? The workbook has: ...`` (the words of every unknown name)."""
    close = close_name(name, known)
    hint = f"; did you mean {close!r}? The workbook has: " if close else "; the workbook has: "
    return f"no {kind} named {name!r}{hint}{', '.join(known) or 'none'}"


def _check_shortage_costs(world: Network, period: str, default: float | None) -> None:
    """Every Demand row of the period with a quantity needs a shortage cost (or ``--shortage-cost``): a window may
    leave it unmet."""
    if default is not None:
        return
    demand = world.demand
    blank = demand[(demand["period"] == period) & demand["shortage_cost"].isna() & (demand["quantity"] > 0)]
    if len(blank):
        problems = [Problem("Demand", int(row), "shortage_cost",
                            f"blank: stress lets demand in {period} go unmet at its shortage cost; give one here, "
                            "or --shortage-cost for every blank") for row in dict.fromkeys(blank["row"])]
        raise StressError("Demand rows without a shortage cost", problems)


def _known_sites(world: Network, sites: list[str]) -> None:
    """StressError naming the first of ``sites`` that is not a site of the workbook."""
    names = {name.lower() for name in world.sites}
    for asked in sites:
        if asked.strip().lower() not in names:
            raise StressError(_unknown("site", asked.strip(), list(world.sites)))
    if not sites:
        raise StressError("--sites names no site")


def _chosen(window: Network, tested: list[str], sites: list[str], period: str) -> list[str]:
    """The nodes ``--sites`` names, in the Sites sheet's order; StressError for an unknown site or one with nothing
    to lose."""
    names = {name.lower(): name for name in window.sites}
    chosen = []
    for asked in sites:
        name = names[asked.strip().lower()]  # known: checked before the plan was solved (``_known_sites``)
        if name not in tested:
            raise StressError(f"site {name!r} has no Supply capacity, throughput or option available in {period}: "
                              "it has nothing that can go down")
        chosen.append(name)
    return [site for site in tested if site in chosen]


def _recovery(window: Network, site: str, weeks: float) -> tuple[float, str]:
    """(the site's time to recover in weeks, where it comes from): its recovery_weeks, else ``--weeks``."""
    record = window.sites[site]
    if record.recovery_weeks is not None:
        return float(record.recovery_weeks), f"Sites row {record.row}"
    return float(weeks), f"--weeks {weeks_text(weeks)}"


def _tables(window: Network, outcomes: list[WindowOutcome], recovery: dict[str, tuple[float, str]]
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Stress table (by rank) and Lost by item (site x demanded item, by rank) from the windows' outcomes."""
    baseline = {o.weeks: o.window_cost for o in outcomes if o.site is None}
    period_weeks = window.period_weeks
    rows = []
    for o in (o for o in outcomes if o.site is not None):
        base_cost = baseline.get(o.weeks)
        impact = None if o.window_cost is None or base_cost is None else o.window_cost - base_cost
        if impact is not None and abs(impact) <= TOLERANCE * max(1.0, abs(base_cost)):
            impact = 0.0  # an outage never lowers the cost: a difference of round-off is none
        survives = o.survives is not None and o.survives >= 1.0 - WHOLE
        tts = period_weeks if survives else (o.survives or 0.0) * period_weeks
        needs, source = recovery[o.site]
        loses = not survives and tts < needs - TOLERANCE
        rows.append({
            "site": o.site, "country": window.sites[o.site].country, "items": items_made(window, o.site),
            "recovery_weeks": needs, "recovery_from": source, "tts_weeks": tts, "survives_period": survives,
            "loses_sales": loses,
            "finding": f"{o.site} loses sales after {weeks_text(tts)} weeks; it needs {weeks_text(needs)} to recover"
            if loses else "",
            "lost_units": float(sum(o.lost_by_item.values())), "lost_value": o.lost_value,
            "window_cost": o.window_cost, "baseline_window_cost": base_cost, "performance_impact": impact,
            "status": o.status})
    table = pd.DataFrame(rows, columns=[*STRESS_COLUMNS, "status"])
    impacts = table["performance_impact"].astype(float).fillna(0.0)
    largest = float(impacts.max()) if len(impacts) else 0.0
    table["rei"] = impacts / largest if largest > 0 else 0.0
    table = table.assign(_key=-table["rei"].round(9)).sort_values(["_key", "site"], kind="stable").drop(
        columns="_key").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    demanded = [item for item in window.items if item in set(window.demand["item"])]
    by_site = {o.site: o for o in outcomes if o.site is not None}
    lost = pd.DataFrame([{"rank": r.rank, "site": r.site, "item": item,
                          "lost_units": by_site[r.site].lost_by_item.get(item, 0.0),
                          "lost_value": by_site[r.site].value_by_item.get(item, 0.0)}
                         for r in table.itertuples() for item in demanded],
                        columns=["rank", "site", "item", "lost_units", "lost_value"])
    return table[[*STRESS_COLUMNS]], lost
