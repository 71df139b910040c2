"""Why there is no plan, in business terms: which demand, which rule, by how much.

Order of the search (cheapest first; see docs/guides/no-plan.md):
1. Structural checks, no solver: demand that no lane from a supplier reaches; demand above the sum
   of the capacities that can reach it (per Demand row, and per item and period); share rules
   whose ``from`` sites cannot deliver their items into their ``to`` sites at all.
2. Physical feasibility, rules dropped: minimise total unmet demand with every capacity kept as
   a hard limit. Any shortfall is reported per Demand row with the capacities it ran into.
3. Rules, physical limits kept hard: minimise the (normalised) violation of the rule rows. Each
   violated rule row gets its best achievable share, computed exactly (Dinkelbach's method on the
   share ratio) under the other rules, and, when those conflict with it, without them.
Policy rules are thus relaxed before physical limits are broken: a plan that ignores a rule is a
business decision, a plan that exceeds a plant's capacity is not a plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.scenarios import lanes_by_period
from optimizer.direct import arrays_from
from optimizer.findings import PHYSICAL_BLOCKS, TOLERANCE, Finding, fmt, in_period, rows_text, unit_of
from optimizer.highs import INF, LinearArrays, solve_arrays
from optimizer.model import Formulation
from optimizer.options import UNLIMITED, Deadline, OutOfTime
from optimizer.rules import Violation


def _demand_label(row) -> str:
    """``Demand row 12 (BMW_Woodruff_SC, cells, 2027)`` for a row of the demand block."""
    return f"Demand row {row['sheet_row']} ({row['site']}, {row['item']}, {row['period']})"


# --------------------------------------------------------------------------- structural checks


def _flow_bounds(formulation: Formulation) -> pd.DataFrame:
    """Each flow with the tightest single capacity that bounds it, and the rows those come from."""
    flows = formulation.flows
    supply = formulation.network.supply.rename(columns={"site": "origin"})
    out = flows[["origin", "destination", "item", "period", "demand_row", "supply_row",
                 "lane_row", "pair_lane_row"]].merge(
        supply[["origin", "item", "period", "capacity"]].rename(columns={"capacity": "supply_cap"}),
        on=["origin", "item", "period"], how="left")
    lanes = lanes_by_period(formulation.network.lanes, formulation.network.periods)
    capacity = lanes.set_index(["row", "period"])["capacity"]
    for column, row in (("lane_cap", "lane_row"), ("pair_cap", "pair_lane_row")):
        out[column] = capacity.reindex(pd.MultiIndex.from_arrays(
            [out[row].fillna(-1).astype(np.int64), out["period"]])).to_numpy()
    caps = out[["supply_cap", "lane_cap", "pair_cap"]].astype(float)
    out["bound"] = caps.min(axis=1, skipna=True)
    # Which capacity is the tightest for each flow: the rows a shortfall message should name.
    for column in ("supply_cap", "lane_cap", "pair_cap"):
        out[f"{column}_binds"] = caps[column].notna() & (caps[column] <= out["bound"])
    return out


def structural_findings(formulation: Formulation) -> list[Finding]:
    """Checks that need no solver: unreachable demand, capacity shortfalls, unreachable rules."""
    findings: list[Finding] = []
    demand = formulation.blocks.get("demand")
    if demand is None:
        return findings
    rows = demand.rows
    has_flow = np.bincount(demand.row, weights=(demand.coef > 0).astype(float), minlength=len(rows)) > 0
    for r in np.flatnonzero(~has_flow & (rows["rhs"].to_numpy() > TOLERANCE)):
        row = rows.iloc[r]
        unit = unit_of(formulation.network, row["item"])
        findings.append(Finding(
            "unreachable_demand", "Demand", [int(row["sheet_row"])],
            f"{_demand_label(row)}: {fmt(row['rhs'])}{unit} required, but no lane from a site supplying {row['item']}"
            f"{in_period(formulation.network, row['period'])} reaches it",
            {"required": float(row["rhs"]), "reachable": 0.0}))
    if not formulation.single_tier:  # capacity sums along direct lanes only bound single-tier networks
        return findings + _rule_structure(formulation)
    # A Demand row with a shortage cost may go unmet: no capacity falls short of it.
    hard = rows[["site", "item", "period"]].merge(formulation.network.demand, how="left")["shortage_cost"].isna()
    has_flow &= hard.to_numpy()

    bounds = _flow_bounds(formulation)
    # Per Demand row: the sum over its inbound flows of their tightest capacity.
    per_row = bounds["bound"].fillna(np.inf).groupby(bounds["demand_row"]).sum()
    reach_of = per_row.reindex(rows["sheet_row"]).fillna(np.inf).to_numpy()
    required = rows["rhs"].to_numpy(dtype=float)
    short = has_flow & (reach_of < required - TOLERANCE * np.maximum(1.0, required))
    for r in np.flatnonzero(short):
        row, reach = rows.iloc[r], float(reach_of[r])
        inbound = bounds[bounds["demand_row"] == row["sheet_row"]]
        limits = [rows_text("Supply", inbound.loc[inbound["supply_cap_binds"], "supply_row"]),
                  rows_text("Lanes", pd.concat([inbound.loc[inbound["lane_cap_binds"], "lane_row"],
                                                 inbound.loc[inbound["pair_cap_binds"], "pair_lane_row"]]))]
        unit = unit_of(formulation.network, row["item"])
        findings.append(Finding(
            "capacity_shortfall", "Demand", [int(row["sheet_row"])],
            f"{_demand_label(row)}: {fmt(row['rhs'])}{unit} required, at most {fmt(reach)}{unit} can "
            f"reach it ({' and '.join(t for t in limits if t)} at capacity)",
            {"required": float(row["rhs"]), "reachable": reach, "shortfall": float(row["rhs"] - reach)}))

    # Per item and period: all demand against all capacity that reaches any of it.
    reaching = bounds.drop_duplicates(["origin", "item", "period"])
    capacity = reaching.groupby(["item", "period"]).agg(
        capacity=("supply_cap", lambda c: c.sum() if c.notna().all() else np.inf),
        supply_rows=("supply_row", lambda s: sorted(set(s))))
    required = rows[hard.to_numpy()].groupby(["item", "period"], sort=False).agg(
        required=("rhs", "sum"), demand_rows=("sheet_row", list))
    reported = {row for f in findings for row in f.rows}
    for (item, period), need in required.iterrows():
        cap = capacity["capacity"].get((item, period), 0.0)
        if need["required"] > cap + TOLERANCE * max(1.0, need["required"]) and \
                not set(need["demand_rows"]) <= reported:
            unit = unit_of(formulation.network, item)
            supply_rows = capacity["supply_rows"].get((item, period), [])
            findings.append(Finding(
                "item_capacity", "Demand", sorted(int(r) for r in need["demand_rows"]),
                f"{item}{in_period(formulation.network, period)}: {fmt(need['required'])}{unit} required in all "
                f"({rows_text('Demand', need['demand_rows'])}), at most {fmt(cap)}{unit} can be supplied"
                + (f" ({rows_text('Supply', supply_rows)})" if supply_rows else ""),
                {"required": float(need["required"]), "reachable": float(cap)}))

    return findings + _rule_structure(formulation)


def _rule_structure(formulation: Formulation) -> list[Finding]:
    """What each rule type finds without a solver (e.g. min_share rows whose `from` sites cannot deliver)."""
    return [finding for model in formulation.rules.values()
            for finding in model.type.structural(formulation, model)]


# --------------------------------------------------------------------------- relaxations


def _physical_arrays(formulation: Formulation) -> LinearArrays:
    return arrays_from(formulation, PHYSICAL_BLOCKS)


def shortfall_findings(formulation: Formulation, deadline: Deadline = UNLIMITED) -> list[Finding] | None:
    """Minimise total unmet demand under hard capacities; None when every demand can be met."""
    demand = formulation.blocks.get("demand")
    if demand is None:
        return None
    lp = _physical_arrays(formulation)
    lp.cost = np.zeros(lp.n_cols)
    offset = lp.row_offset["demand"]
    slack = lp.add_columns(np.ones(len(demand)), offset + np.arange(len(demand)), np.ones(len(demand)))
    solution = solve_arrays(lp, options=deadline.next_solve())
    if solution.status != "optimal":
        return None
    short = solution.x[slack]
    if short.sum() <= TOLERANCE * max(1.0, demand.rows["rhs"].sum()):
        return None
    findings = []
    activity = np.bincount(lp.row, weights=lp.value * solution.x[lp.col], minlength=lp.n_rows)
    bounded = np.isfinite(lp.row_upper) & (lp.row_upper < INF)  # only capacities can be "at capacity"
    upper = np.where(bounded, lp.row_upper, 0.0)
    full = bounded & (activity >= upper - TOLERANCE * np.maximum(1.0, np.abs(upper)))
    capped = {name: np.flatnonzero(full[lp.row_offset[name]:lp.row_offset[name] + len(formulation.blocks[name])])
              for name in ("supply_capacity", "lane_capacity", "lane_pair_capacity") if name in lp.row_offset}
    for r in np.flatnonzero(short > TOLERANCE):
        row = demand.rows.iloc[r]
        unit = unit_of(formulation.network, row["item"])
        # The row's right-hand side is the Demand quantity less any initial stock: report the quantity.
        required = float(row["quantity"]) if "quantity" in row.index else float(row["rhs"])
        delivered = required - float(short[r])
        terms = demand.var[demand.row == r]
        inbound = formulation.flows.iloc[terms[terms < len(formulation.flows)]]  # flows, not stock or production
        sources = []
        if "supply_capacity" in capped:
            block = formulation.blocks["supply_capacity"]
            at_cap = block.rows.iloc[capped["supply_capacity"]]
            hit = at_cap[at_cap["site"].isin(inbound["origin"]) & (at_cap["item"] == row["item"])
                         & (at_cap["period"] == row["period"])]
            sources.append(rows_text("Supply", hit["sheet_row"]))
        for name in ("lane_capacity", "lane_pair_capacity"):
            if name in capped:
                at_cap = formulation.blocks[name].rows.iloc[capped[name]]
                hit = at_cap[at_cap["destination"].eq(row["site"]) & at_cap["period"].eq(row["period"])]
                sources.append(rows_text("Lanes", hit["sheet_row"]))
        sources = [s for s in sources if s]
        notes = [f"{' and '.join(sources)} at capacity"] if sources else []
        opening = required - float(row["rhs"])  # initial stock at the site, counted as delivered
        if opening > TOLERANCE:
            notes.append(f"{fmt(opening)}{unit} of it from initial stock")
        findings.append(Finding(
            "capacity_shortfall", "Demand", [int(row["sheet_row"])],
            f"{_demand_label(row)}: {fmt(required)}{unit} required, at most {fmt(delivered)}{unit} can reach it "
            f"while the other demand is served" + (f" ({'; '.join(notes)})" if notes else ""),
            {"required": required, "reachable": delivered, "shortfall": float(short[r])}))
    return findings


def rule_findings(formulation: Formulation, deadline: Deadline = UNLIMITED) -> list[Finding]:
    """Minimise the normalised violations of the rules' relaxable rows (each rule type says which of its
    blocks may be violated); each rule type explains its violated rows (``RuleType.explain``)."""
    owner = {name: model for model in formulation.rules.values()
             for name in model.type.relaxable(formulation, model)}
    rule_blocks = [n for n in formulation.blocks if n in owner]
    lp = arrays_from(formulation, [*PHYSICAL_BLOCKS, *rule_blocks])
    lp.cost = np.zeros(lp.n_cols)
    slacks = {}
    for name in rule_blocks:
        block = formulation.blocks[name]
        scale = np.maximum(np.bincount(block.row, weights=np.abs(block.coef), minlength=len(block)), 1e-12)
        sign = np.where(block.rows["sense"].to_numpy() == ">=", 1.0, -1.0)
        slacks[name] = lp.add_columns(1.0 / scale, lp.row_offset[name] + np.arange(len(block)), sign)
    solution = solve_arrays(lp, options=deadline.next_solve())
    if solution.status != "optimal":
        return []
    findings = []
    for name, columns in slacks.items():
        slack = solution.x[columns]
        violated = np.flatnonzero(slack > TOLERANCE * 1e-3)
        if not len(violated):
            continue
        others = [n for n in rule_blocks if n != name]
        violation = Violation(
            rows=violated, slack=slack[violated], physical=_physical_arrays(formulation),
            with_others=arrays_from(formulation, [*PHYSICAL_BLOCKS, *others]) if others else None,
            other_rows=[owner[n].rule.row for n in others], deadline=deadline)
        model = owner[name]
        findings.extend(model.type.explain(formulation, model, violation))
    return findings


def discrete_findings(formulation: Formulation, deadline: Deadline = UNLIMITED) -> list[Finding]:
    """What each rule stated with binaries finds with a MILP of the physical model and that rule."""
    return [finding for model in formulation.rules.values()
            for finding in model.type.discrete_findings(formulation, model, deadline)]


def diagnose(formulation: Formulation, deadline: Deadline = UNLIMITED) -> list[Finding]:
    """Every reason found for infeasibility, most basic first (see the module docstring). Every solve it makes
    takes its options from ``deadline`` (the command's threads, MIP gap and the time left): when the time runs
    out, the reasons found so far are returned with a last one saying the search was cut short."""
    findings = structural_findings(formulation)
    if any(f.kind != "rule_unreachable" for f in findings):
        return findings
    try:
        shortfall = shortfall_findings(formulation, deadline)
        if shortfall:
            return findings + shortfall
        structural_rules = {(f.rows[0], f.numbers.get("period"), f.numbers.get("destination")) for f in findings}
        relaxed = rule_findings(formulation, deadline)
        for finding in relaxed or discrete_findings(formulation, deadline):  # a discrete rule's MILP only if needed
            key = (finding.rows[0], finding.numbers.get("period"), finding.numbers.get("destination"))
            if key not in structural_rules:
                findings.append(finding)
    except OutOfTime:
        pass
    if deadline.expired:
        return [*findings, Finding(
            "time_limit", "", [], f"the time limit ({deadline.options.time_limit:g} s) stopped the search for "
            "reasons before it was complete" + ("; the reasons above are those found in time" if findings else ""),
            {"time_limit": deadline.options.time_limit})]
    if not findings:
        findings.append(Finding("unexplained", "Policies", [],
                                "the rules of this policy set cannot all hold together with demand and "
                                "capacities; no single rule or demand row could be singled out", {}))
    return findings
