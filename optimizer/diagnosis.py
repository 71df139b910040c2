"""Why there is no plan, in business terms: which demand, which rule, by how much.

Order of the search (cheapest first; see README "When there is no plan"):
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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.network import IMPLICIT_PERIOD
from optimizer.direct import arrays_from
from optimizer.formulation import Formulation, table
from optimizer.highs import LinearArrays, solve_arrays
from optimizer.rules import RuleTerms

TOLERANCE = 1e-6
PHYSICAL_BLOCKS = ("demand", "balance", "supply_capacity", "lane_capacity", "lane_pair_capacity", "throughput",
                   "open_upper", "open_lower")


@dataclass
class Finding:
    """One reason there is no plan, pointing at the workbook rows to change."""

    kind: str
    sheet: str
    rows: list[int]
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sheet": self.sheet, "row": self.rows[0] if self.rows else None,
                "rows": self.rows, "message": self.message, "numbers": self.numbers}


def _rows_text(sheet: str, rows) -> str:
    rows = sorted({int(r) for r in rows})
    if not rows:
        return ""
    return f"{sheet} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"


def _fmt(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _in_period(formulation: Formulation, period: str) -> str:
    """' in 2027', or nothing for the single implicit period."""
    return "" if formulation.network.periods == (IMPLICIT_PERIOD,) else f" in {period}"


def _demand_label(row) -> str:
    """``Demand row 12 (BMW_Woodruff_SC, cells, 2027)`` for a row of the demand block."""
    return f"Demand row {row['sheet_row']} ({row['site']}, {row['item']}, {row['period']})"


def _unit(formulation: Formulation, item: str) -> str:
    unit = formulation.network.items[item].unit
    return f" {unit}" if unit else ""


# --------------------------------------------------------------------------- structural checks


def _flow_bounds(formulation: Formulation) -> pd.DataFrame:
    """Each flow with the tightest single capacity that bounds it, and the rows those come from."""
    flows = formulation.flows
    supply = table(formulation.network, "supply").rename(columns={"site": "origin"})
    out = flows[["origin", "destination", "item", "period", "demand_row", "supply_row",
                 "lane_row", "pair_lane_row"]].merge(
        supply[["origin", "item", "period", "capacity"]].rename(columns={"capacity": "supply_cap"}),
        on=["origin", "item", "period"], how="left")
    lanes = table(formulation.network, "lanes").set_index("row")["capacity"]
    out["lane_cap"] = out["lane_row"].map(lanes)
    out["pair_cap"] = out["pair_lane_row"].map(lanes)
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
        unit = _unit(formulation, row["item"])
        findings.append(Finding(
            "unreachable_demand", "Demand", [int(row["sheet_row"])],
            f"{_demand_label(row)}: {_fmt(row['rhs'])}{unit} required, but no lane from a site supplying {row['item']}"
            f"{_in_period(formulation, row['period'])} reaches it",
            {"required": float(row["rhs"]), "reachable": 0.0}))
    if not formulation.single_tier:  # capacity sums along direct lanes only bound single-tier networks
        return findings + _rule_structure(formulation)

    bounds = _flow_bounds(formulation)
    # Per Demand row: the sum over its inbound flows of their tightest capacity.
    per_row = bounds["bound"].fillna(np.inf).groupby(bounds["demand_row"]).sum()
    reach_of = per_row.reindex(rows["sheet_row"]).fillna(np.inf).to_numpy()
    required = rows["rhs"].to_numpy(dtype=float)
    short = has_flow & (reach_of < required - TOLERANCE * np.maximum(1.0, required))
    for r in np.flatnonzero(short):
        row, reach = rows.iloc[r], float(reach_of[r])
        inbound = bounds[bounds["demand_row"] == row["sheet_row"]]
        limits = [_rows_text("Supply", inbound.loc[inbound["supply_cap_binds"], "supply_row"]),
                  _rows_text("Lanes", pd.concat([inbound.loc[inbound["lane_cap_binds"], "lane_row"],
                                                 inbound.loc[inbound["pair_cap_binds"], "pair_lane_row"]]))]
        unit = _unit(formulation, row["item"])
        findings.append(Finding(
            "capacity_shortfall", "Demand", [int(row["sheet_row"])],
            f"{_demand_label(row)}: {_fmt(row['rhs'])}{unit} required, at most {_fmt(reach)}{unit} can "
            f"reach it ({' and '.join(t for t in limits if t)} at capacity)",
            {"required": float(row["rhs"]), "reachable": reach, "shortfall": float(row["rhs"] - reach)}))

    # Per item and period: all demand against all capacity that reaches any of it.
    reaching = bounds.drop_duplicates(["origin", "item", "period"])
    capacity = reaching.groupby(["item", "period"]).agg(
        capacity=("supply_cap", lambda c: c.sum() if c.notna().all() else np.inf),
        supply_rows=("supply_row", lambda s: sorted(set(s))))
    required = rows.groupby(["item", "period"], sort=False).agg(required=("rhs", "sum"),
                                                                 demand_rows=("sheet_row", list))
    reported = {row for f in findings for row in f.rows}
    for (item, period), need in required.iterrows():
        cap = capacity["capacity"].get((item, period), 0.0)
        if need["required"] > cap + TOLERANCE * max(1.0, need["required"]) and \
                not set(need["demand_rows"]) <= reported:
            unit = _unit(formulation, item)
            supply_rows = capacity["supply_rows"].get((item, period), [])
            findings.append(Finding(
                "item_capacity", "Demand", sorted(int(r) for r in need["demand_rows"]),
                f"{item}{_in_period(formulation, period)}: {_fmt(need['required'])}{unit} required in all "
                f"({_rows_text('Demand', need['demand_rows'])}), at most {_fmt(cap)}{unit} can be supplied"
                + (f" ({_rows_text('Supply', supply_rows)})" if supply_rows else ""),
                {"required": float(need["required"]), "reachable": float(cap)}))

    return findings + _rule_structure(formulation)


def _rule_structure(formulation: Formulation) -> list[Finding]:
    """min_share rows whose `from` sites cannot deliver the items into the `to` sites at all."""
    findings = []
    for _name, terms in formulation.rule_terms.items():
        rule = terms.rule
        if rule.type != "min_share" or not rule.value or f"met_row_{rule.row}" in formulation.families:
            continue
        weighted = np.bincount(terms.row, weights=terms.weight, minlength=len(terms.rows)) > 0
        selected = np.bincount(terms.row, weights=terms.weight * terms.selected, minlength=len(terms.rows)) > 0
        for r in np.flatnonzero(weighted & ~selected):
            findings.append(_rule_finding(formulation, terms, r, 0.0, None, "rule_unreachable",
                                          suffix=", because no site selected by 'from' can deliver "
                                                 "these items there"))
    return findings


# --------------------------------------------------------------------------- relaxations


def _physical_arrays(formulation: Formulation) -> LinearArrays:
    return arrays_from(formulation, PHYSICAL_BLOCKS)


def shortfall_findings(formulation: Formulation) -> list[Finding] | None:
    """Minimise total unmet demand under hard capacities; None when every demand can be met."""
    demand = formulation.blocks.get("demand")
    if demand is None:
        return None
    lp = _physical_arrays(formulation)
    lp.cost = np.zeros(lp.n_cols)
    offset = lp.row_offset["demand"]
    slack = lp.add_columns(np.ones(len(demand)), offset + np.arange(len(demand)), np.ones(len(demand)))
    solution = solve_arrays(lp)
    if solution.status != "optimal":
        return None
    short = solution.x[slack]
    if short.sum() <= TOLERANCE * max(1.0, demand.rows["rhs"].sum()):
        return None
    findings = []
    activity = np.bincount(lp.row, weights=lp.value * solution.x[lp.col], minlength=lp.n_rows)
    full = activity >= lp.row_upper - TOLERANCE * np.maximum(1.0, np.abs(lp.row_upper))
    capped = {name: np.flatnonzero(full[lp.row_offset[name]:lp.row_offset[name] + len(formulation.blocks[name])])
              for name in ("supply_capacity", "lane_capacity", "lane_pair_capacity") if name in lp.row_offset}
    for r in np.flatnonzero(short > TOLERANCE):
        row = demand.rows.iloc[r]
        unit = _unit(formulation, row["item"])
        delivered = float(row["rhs"] - short[r])
        inbound = formulation.flows.loc[demand.var[demand.row == r]]
        sources = []
        if "supply_capacity" in capped:
            block = formulation.blocks["supply_capacity"]
            at_cap = block.rows.iloc[capped["supply_capacity"]]
            hit = at_cap[at_cap["site"].isin(inbound["origin"]) & (at_cap["item"] == row["item"])
                         & (at_cap["period"] == row["period"])]
            sources.append(_rows_text("Supply", hit["sheet_row"]))
        for name in ("lane_capacity", "lane_pair_capacity"):
            if name in capped:
                at_cap = formulation.blocks[name].rows.iloc[capped[name]]
                hit = at_cap[at_cap["destination"].eq(row["site"]) & at_cap["period"].eq(row["period"])]
                sources.append(_rows_text("Lanes", hit["sheet_row"]))
        sources = [s for s in sources if s]
        findings.append(Finding(
            "capacity_shortfall", "Demand", [int(row["sheet_row"])],
            f"{_demand_label(row)}: {_fmt(row['rhs'])}{unit} required, at most {_fmt(delivered)}{unit} can reach it "
            f"while the other demand is served" + (f" ({' and '.join(sources)} at capacity)" if sources else ""),
            {"required": float(row["rhs"]), "reachable": delivered, "shortfall": float(short[r])}))
    return findings


def _rule_label(terms: RuleTerms) -> str:
    rule = terms.rule
    return f"Policies row {rule.row} ({rule.policy}, {rule.label()})"


def _rule_finding(formulation: Formulation, terms: RuleTerms, r: int, best: float | None,
                  alone: float | None, kind: str, suffix: str = "", others: list[int] | None = None) -> Finding:
    rule = terms.rule
    row = terms.rows.iloc[r]
    where = _in_period(formulation, row["period"]) + (
        f" into {row['destination']}" if rule.scope == "each_destination" else "")
    asked = f"{rule.value:.1%} required" if rule.type == "min_share" else f"at most {rule.value:.1%} allowed"
    if best is None:
        text = f"{_rule_label(terms)}: {asked}{where}, but it cannot be met{suffix}"
    elif rule.type == "min_share":
        text = f"{_rule_label(terms)}: {asked}, at most {best:.1%} achievable{where}{suffix}"
    else:
        text = f"{_rule_label(terms)}: {asked}, at least {best:.1%} unavoidable{where}{suffix}"
    if others and alone is not None and best is not None and abs(alone - best) > TOLERANCE:
        if kind == "rule_conflict":
            text += (f"; it conflicts with the other rules ({_rows_text('Policies', others)}): without them "
                     f"{alone:.1%} is achievable")
        else:
            text += f" ({alone:.1%} without the other rules of this policy set)"
    numbers = {"bound": float(rule.value), "achievable": best, "achievable_without_other_rules": alone,
               "period": row["period"]}
    if rule.scope == "each_destination":
        numbers["destination"] = row["destination"]
    return Finding(kind, "Policies", [int(rule.row)], text, numbers)


def best_share(lp: LinearArrays, terms: RuleTerms, r: int, maximize: bool) -> float | None:
    """Largest (smallest) share of rule row ``r`` achievable within ``lp`` (Dinkelbach's method:
    optimise N - lambda D, set lambda = N / D, repeat until N - lambda D = 0)."""
    mask = terms.row == r
    var, weight, selected = terms.var[mask], terms.weight[mask], terms.selected[mask].astype(float)
    ratio = 0.0 if maximize else 1.0
    for _ in range(50):
        cost = np.zeros(lp.n_cols)
        np.add.at(cost, var, (selected - ratio) * weight)
        trial = LinearArrays(cost, lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper, lp.row, lp.col,
                             lp.value, lp.row_offset)
        solution = solve_arrays(trial, maximize=maximize)
        if solution.status != "optimal":
            return None
        x = solution.x[var]
        total = float(weight @ x)
        if total <= TOLERANCE:
            return None
        new = float((selected * weight) @ x) / total
        if abs(new - ratio) <= 1e-10:
            return new
        ratio = new
    return ratio


def _exclude_finding(formulation: Formulation, terms: RuleTerms, r: int, needed: float) -> Finding:
    rule = terms.rule
    row = terms.rows.iloc[r]
    where = _in_period(formulation, row["period"])
    return Finding("rule_unreachable", "Policies", [int(rule.row)],
                   f"{_rule_label(terms)}: the excluded sites are needed{where}: at least {_fmt(needed)} units "
                   f"must come from them to meet demand",
                   {"needed_from_excluded": needed, "period": row["period"]})


def rule_findings(formulation: Formulation) -> list[Finding]:
    """Minimise normalised violations of the rule rows; explain each violated row by its best share."""
    rule_blocks = [n for n in formulation.blocks if n in formulation.rule_terms]
    lp = arrays_from(formulation, [*PHYSICAL_BLOCKS, *rule_blocks])
    lp.cost = np.zeros(lp.n_cols)
    slacks = {}
    for name in rule_blocks:
        block = formulation.blocks[name]
        scale = np.maximum(np.bincount(block.row, weights=np.abs(block.coef), minlength=len(block)), 1e-12)
        sign = np.where(block.rows["sense"].to_numpy() == ">=", 1.0, -1.0)
        slacks[name] = lp.add_columns(1.0 / scale, lp.row_offset[name] + np.arange(len(block)), sign)
    solution = solve_arrays(lp)
    if solution.status != "optimal":
        return []
    findings = []
    for name, columns in slacks.items():
        terms = formulation.rule_terms[name]
        violated = np.flatnonzero(solution.x[columns] > TOLERANCE * 1e-3)
        if not len(violated):
            continue
        others = [n for n in rule_blocks if n != name]
        with_others = arrays_from(formulation, [*PHYSICAL_BLOCKS, *others])
        physical = _physical_arrays(formulation)
        other_rows = [formulation.rule_terms[n].rule.row for n in others]
        for r in violated:
            maximize = terms.rule.type == "min_share"
            if terms.rule.type == "exclude":
                findings.append(_exclude_finding(formulation, terms, r, float(solution.x[columns[r]])))
                continue
            alone = best_share(physical, terms, r, maximize)
            best = best_share(with_others, terms, r, maximize) if others else alone
            if best is None:  # the other rules cannot hold even without this one: judge it alone
                if alone is not None and not _meets(terms, alone):
                    findings.append(_rule_finding(formulation, terms, r, alone, None, "rule_unreachable",
                                                  suffix=" (even ignoring the other rules)" if others else ""))
            elif not _meets(terms, best):
                alone_fails = alone is not None and not _meets(terms, alone)
                findings.append(_rule_finding(formulation, terms, r, best, alone,
                                              "rule_unreachable" if alone_fails else "rule_conflict",
                                              others=other_rows if best != alone else None))
    return findings


def _meets(terms: RuleTerms, share: float) -> bool:
    bound = float(terms.rule.value)
    return share >= bound - TOLERANCE if terms.rule.type == "min_share" else share <= bound + TOLERANCE


def diagnose(formulation: Formulation) -> list[Finding]:
    """Every reason found for infeasibility, most basic first (see the module docstring)."""
    findings = structural_findings(formulation)
    if any(f.kind != "rule_unreachable" for f in findings):
        return findings
    shortfall = shortfall_findings(formulation)
    if shortfall:
        return findings + shortfall
    structural_rules = {(f.rows[0], f.numbers.get("period"), f.numbers.get("destination")) for f in findings}
    for finding in rule_findings(formulation):
        key = (finding.rows[0], finding.numbers.get("period"), finding.numbers.get("destination"))
        if key not in structural_rules:
            findings.append(finding)
    if not findings:
        findings.append(Finding("unexplained", "Policies", [],
                                "the rules of this policy set cannot all hold together with demand and "
                                "capacities; no single rule or demand row could be singled out", {}))
    return findings
