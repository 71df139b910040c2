"""Policy sets side by side, and sweeps of one rule's value: many independent solves, one table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from models.network import BASELINE, Network, PolicySet
from optimizer.backend import SolverOptions
from optimizer.costs import parts_of
from optimizer.edits import EditError, Policy, RuleValue
from optimizer.families import Member, chains, run_family
from optimizer.results import SolveResult, builds_text, decision_change, gives_emissions, unmet_text, unmet_total
from optimizer.rules import RULE_TYPES, is_check
from optimizer.runner import ProgressCallback

OTHER_GROUP = "other"
#: Emissions avoided below this are none (solver round-off): no cost per unit avoided.
EMISSIONS_TOLERANCE = 1e-6


@dataclass
class Comparison:
    """Results of several policy sets on one network; ``results[0]`` is the baseline."""

    network: Network
    results: list[SolveResult]

    def table(self) -> pd.DataFrame:
        """One row per policy set: status, cost and its parts, difference to baseline, rules (and the demand left
        unmet with its shortage cost when some set leaves any)."""
        return comparison_table(self.network, self.results)

    def records(self, output: str | None = None) -> list[dict]:
        """The ``policies`` of ``compare --json``: each plan as ``solve --json`` gives it, with ``demand_unmet``
        (summed over Demand rows; null without a plan) and ``shortage`` (its shortage cost part, discounted)."""
        return [{**result.as_dict(output), "demand_unmet": None if not result.has_plan else unmet_total(result),
                 "shortage": result.costs.get("shortage")} for result in self.results]

    def supply_mix(self) -> pd.DataFrame:
        """Quantity supplied per policy set, item and origin group (long format)."""
        return supply_mix(self.network, self.results)

    def decisions(self) -> pd.DataFrame:
        """The Decisions sheet: one row per investment option, one column per policy set holding the build
        period (blank when not built; a divisible option's fractions by period)."""
        table = pd.DataFrame({"option": list(dict.fromkeys(self.network.investments["option"]))})
        for result in self.results:
            chosen = {}
            for row in result.investments.itertuples() if len(result.investments) else ():
                if row.divisible and row.fractions:
                    chosen[row.option] = ", ".join(f"{p}: {f:.0%}" for p, f in row.fractions.items())
                elif not row.divisible and row.built:
                    chosen[row.option] = row.build_period
            table[result.policy] = table["option"].map(chosen)
        return table

    def stacked(self, frame_name: str) -> pd.DataFrame:
        """Concatenate one per-plan table of every result, with a leading ``policy`` column."""
        frames = []
        for result in self.results:
            frame = getattr(result, frame_name)
            if len(frame):
                frame = frame.drop(columns=["policy"], errors="ignore")
                frames.append(frame.assign(policy=result.policy)[["policy", *frame.columns]])
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["policy"])


def select_policies(network: Network, names: str | None) -> list[PolicySet]:
    """Baseline first, then the named policy sets (``None`` or ``all``: every set, in workbook order)."""
    if names is None or names.strip().lower() in ("", "all"):
        chosen = [p for p in network.policies.values() if p.name != BASELINE]
    else:
        chosen = []
        for name in (n.strip() for n in names.split(",")):
            if name and name.lower() != BASELINE:
                policy = network.policy(name)  # KeyError names the known sets
                if policy not in chosen:
                    chosen.append(policy)
    return [network.policies[BASELINE], *chosen]


def compare(network: Network, policies: str | None = None, options: SolverOptions | None = None,
            workers: int = 1, scheduler: str | None = None,
            progress: ProgressCallback | None = None) -> Comparison:
    """Solve the baseline and every selected policy set: one family over the workbook's physical model, built
    once per chain; each plan reported in full (every table, as ``solve --policy`` writes it)."""
    chosen = select_policies(network, policies)
    members = [Member(p.name, (Policy(p),), report="full") for p in chosen]
    results = run_family(network, chains("policy sets", chosen[0], members), options or SolverOptions(),
                         workers, scheduler, progress)
    return Comparison(network, results)


def _rule_summary(result: SolveResult) -> str:
    """One clause per rule of the plan, each written by its rule type from its Compliance rows."""
    if not result.has_plan or not len(result.compliance):
        return ""
    return "; ".join(RULE_TYPES[rows.iloc[0]["rule"]].summary(rows)
                     for _, rows in result.compliance.groupby("rule_row", sort=False))


def comparison_table(network: Network, results: list[SolveResult]) -> pd.DataFrame:
    """The Comparison sheet: one row per policy set."""
    demand = float(network.demand["quantity"].sum())
    # Investment, holding and carbon costs, and emissions, only where the workbook can have them.
    carbon = gives_emissions(network) or any(RULE_TYPES[r.type].carbon for p in network.policies.values()
                                             for r in p.rules)
    parts = [part.name for part in parts_of(network, carbon)]
    baseline = next((r for r in results if r.policy == BASELINE and r.has_plan), None)
    # A set may meet its rules partly by not delivering (soft demand): then every set shows what it leaves unmet
    # and what that costs, beside its total, not only among the parts on Comparison detail.
    unmet = any(unmet_total(r) > 0 for r in results)
    rows = []
    for result in results:
        row = {"policy": result.policy, "status": result.status, "total_cost": result.total_cost}
        row.update({part: result.costs.get(part) for part in parts})
        if result.has_plan and baseline is not None:
            row["vs_baseline"] = result.total_cost - baseline.total_cost
            row["vs_baseline_pct"] = (row["vs_baseline"] / baseline.total_cost
                                      if baseline.total_cost else np.nan)
        else:
            row["vs_baseline"] = row["vs_baseline_pct"] = np.nan
        if unmet:
            row["demand_unmet"] = unmet_total(result)
            row["shortage_cost"] = result.costs.get("shortage") if result.has_plan else np.nan
        row["cost_per_unit_demand"] = result.total_cost / demand if result.has_plan and demand else np.nan
        if carbon:
            row["emissions"] = float(result.emissions.sum()) if result.has_plan else np.nan
            avoided = float(baseline.emissions.sum()) - row["emissions"] if result.has_plan and baseline else np.nan
            # what each unit of emissions avoided against baseline cost (only where some were avoided)
            row["cost_per_emission_avoided"] = row["vs_baseline"] / avoided if avoided > EMISSIONS_TOLERANCE \
                else np.nan
        checks = result.compliance[is_check(result.compliance)] if len(result.compliance) else result.compliance
        row["rule_checks"] = len(checks)  # rows that check a bound (not those of tariffs, credits, a carbon price)
        row["binding_checks"] = int(checks["binding"].fillna(False).astype(bool).sum()) if len(checks) else 0
        shares = result.marginals.all_shares
        row["cost_per_point"] = shares.rate if shares is not None else np.nan
        row["rules"] = _rule_summary(result)
        row["message"] = result.message
        rows.append(row)
    return pd.DataFrame(rows)


def origin_groups(network: Network) -> list[str]:
    """The chart's origin groups: the workbook's Groups in order, then ``other``."""
    return [*network.groups, OTHER_GROUP]


def supply_mix(network: Network, results: list[SolveResult]) -> pd.DataFrame:
    """Quantity by policy, item and origin group (a site counts in the first group holding its country)."""
    group_of = network.country_groups()
    frames = []
    for result in results:
        if not result.has_plan or not len(result.flows):
            continue
        flows = result.flows.assign(group=result.flows["origin"].map(group_of))
        mix = flows.groupby(["item", "group"], sort=False)["quantity"].sum().reset_index()
        frames.append(mix.assign(policy=result.policy))
    if not frames:
        return pd.DataFrame(columns=["policy", "item", "group", "quantity"])
    return pd.concat(frames, ignore_index=True)[["policy", "item", "group", "quantity"]]


# --------------------------------------------------------------------------- sweeps


class SweepError(EditError):
    """The sweep request does not fit the workbook (unknown rule, bad range)."""


def parse_values(text: str) -> list[float]:
    """``0.40:0.90:0.05`` (start:stop:step, stop included), ``40%:90%:5%`` or ``0.5,0.6,0.7``."""

    def number(token: str) -> Decimal:
        token = token.strip()
        scale = Decimal(1)
        if token.endswith("%"):
            token, scale = token[:-1], Decimal("0.01")
        try:
            value = Decimal(token) * scale
        except InvalidOperation:
            raise SweepError(f"{token!r} is not a number") from None
        if not value.is_finite():
            raise SweepError(f"{token!r} is not a finite number")
        return value

    text = text.strip()
    if re.fullmatch(r"[^:]+:[^:]+:[^:]+", text):
        start, stop, step = (number(t) for t in text.split(":"))
        if step <= 0:
            raise SweepError("the step of --values must be positive")
        if stop < start:
            raise SweepError("--values start:stop:step needs start <= stop")
        count = int((stop - start) / step) + 1
        if count > 1000:
            raise SweepError(f"--values gives {count} points; at most 1000")
        values = [start + i * step for i in range(count)]
    else:
        values = [number(t) for t in text.split(",") if t.strip()]
    if not values:
        raise SweepError("--values gives no value")
    return [float(v) for v in values]


@dataclass
class Sweep:
    network: Network
    policy: PolicySet
    rule_row: int
    values: list[float]
    results: list[SolveResult]

    def table(self) -> pd.DataFrame:
        """value, status, total cost, change from the first feasible point, the one-sided marginal cost of
        tightening the rule at that point (``optimizer.marginals``: per +1 pp of a share, per unit of a cap's
        value; inf at the limit), the lowest share achieved, the investments the plan builds, and whether
        they differ from the point before's (``decision_change``: its cost step is then not what the
        marginal cost predicts; the message says what changes)."""
        rows = []
        first = next((r.total_cost for r in self.results if r.has_plan), None)
        before = None
        for value, result in zip(self.values, self.results, strict=True):
            compliance = result.compliance
            mine = compliance[compliance["rule_row"] == self.rule_row] if len(compliance) else None
            builds = result.builds()
            change = decision_change(before, builds) if result.has_plan else ""
            rows.append({
                "value": value, "status": result.status, "total_cost": result.total_cost,
                "vs_first": result.total_cost - first if result.has_plan and first is not None else np.nan,
                "marginal": result.marginals.rule_rate(self.rule_row),
                "share_min": float(mine["share"].min()) if mine is not None and len(mine) else np.nan,
                "builds": builds_text(builds) if result.has_plan else "", "decision_change": bool(change),
                "unmet": unmet_text(result, self.network) or ("none" if result.has_plan else ""),
                "shortage": result.costs.get("shortage") if result.has_plan else np.nan,
                "message": change or result.marginal_notes.get(self.rule_row, "") or result.message,
            })
            if result.has_plan:
                before = builds
        return pd.DataFrame(rows)

    def points(self) -> list[dict]:
        """The points of ``sweep --json``: the table's figures with ``builds`` as ``[{"option", "period"}]``."""
        table = self.table().drop(columns=["builds", "unmet"])
        records = table.replace({np.nan: None}).to_dict("records")
        for record, result in zip(records, self.results, strict=True):
            record["builds"] = result.builds()
            record["unmet"] = result.unmet_records()
        return records

    def marginal_label(self) -> str:
        """What the ``marginal`` column is: per +1 pp for a share, per unit of the value otherwise."""
        rule = next(r for r in self.policy.rules if r.row == self.rule_row)
        return "cost per +1 pp tighter" if RULE_TYPES[rule.type].value_format == "percent" else \
            "cost per unit tighter"

    def first_infeasible(self) -> float | None:
        return next((v for v, r in zip(self.values, self.results, strict=True) if not r.has_plan), None)


def sweep(network: Network, policy: str, rule_row: int, values: list[float],
          options: SolverOptions | None = None, workers: int = 1, scheduler: str | None = None,
          progress: ProgressCallback | None = None) -> Sweep:
    """Re-solve ``policy`` with the value of its rule on Policies row ``rule_row`` set to each value: one family
    (``optimizer.families``), its members in increasing order of the value so that each starts from a near
    plan, reported in the order asked."""
    policy_set = network.policy(policy)
    try:
        for value in values:
            RuleValue(rule_row, value).check(policy_set)
    except EditError as exc:
        raise SweepError(str(exc)) from None
    order = sorted(range(len(values)), key=lambda i: values[i])
    members = [Member(f"{values[i]:g}", (RuleValue(rule_row, values[i]),), rules=(rule_row,)) for i in order]
    solved = run_family(network, chains(f"sweep of Policies row {rule_row}", policy_set, members),
                        options or SolverOptions(), workers, scheduler, progress)
    results: list[SolveResult] = [None] * len(values)  # type: ignore[list-item]
    for i, result in zip(order, solved, strict=True):
        results[i] = result
    return Sweep(network, policy_set, rule_row, values, results)
