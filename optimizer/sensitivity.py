"""What the optimal plan's prices say: shadow prices of capacities, marginal cost of demand, the
one-sided cost of tightening each share rule and carbon cap, and how much cheaper an unused supplier
must get to be used.

Capacity and demand prices come from the LP duals and reduced costs of the solved model, and their
ranges from HiGHS ranging, which the backend reads right after the solve (rows are found by their
position in the model, never by name): they hold for small changes around this plan; ``range_low``
and ``range_high`` bound the right-hand side within which a shadow price stays valid. Rule prices are
the one-sided rates of ``optimizer.marginals``, each rule type pricing its own Compliance rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.backend import SolverOutput
from optimizer.model import Formulation
from optimizer.results import SolveResult

COLUMNS = ["kind", "source", "site", "destination", "item", "period", "value", "used", "price", "one_more",
           "meaning", "range_low", "range_high", "note"]
CAPACITY_BLOCKS = {"supply_capacity": ("supply capacity", "Supply"),
                   "lane_capacity": ("lane capacity", "Lanes"),
                   "lane_pair_capacity": ("lane capacity (all items)", "Lanes")}


def _row_ranges(output: SolverOutput, block: str) -> tuple[np.ndarray, np.ndarray]:
    positions = output.row_positions[block]
    low, high = np.full(len(positions), np.nan), np.full(len(positions), np.nan)
    if output.row_ranges is None:
        return low, high
    down, up = output.row_ranges
    present = positions >= 0
    low[present], high[present] = down[positions[present]], up[positions[present]]
    return low, high


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values) & (np.abs(values) < 1e29), values + 0.0, np.nan)


def sensitivity_table(result: SolveResult) -> pd.DataFrame:
    """The Sensitivity sheet for an optimal pure-LP plan (empty, with a note, otherwise)."""
    formulation, output = result.formulation, result.output
    if formulation is None or output is None or not result.has_plan or result.status != "optimal":
        return pd.DataFrame(columns=COLUMNS)
    note = output.ranging_note
    if output.duals_from == "none":
        return pd.DataFrame(columns=COLUMNS)
    fixed = "MILP: prices of the LP with the discrete choices (open, suppliers used, rules met) fixed"
    values = output.values
    frames = []
    for name, (kind, sheet) in CAPACITY_BLOCKS.items():
        block = formulation.blocks.get(name)
        if block is None:
            continue
        rows = block.rows
        low, high = _row_ranges(output, name)
        used = np.bincount(block.row, weights=block.coef * values[block.var], minlength=len(rows))
        price = -output.duals[name]
        # What one more unit of capacity saves, one-sided (optimizer.marginals: the largest prices only); the
        # shadow price is that only where its range reaches past the capacity.
        one_more = np.full(len(rows), np.nan)
        if name == "supply_capacity":
            for i, rate in result.marginals.capacity.items():
                one_more[i] = -rate.rate + 0.0
        # Only capacities with a price are listed: a slack capacity is worth nothing at the margin, and
        # large networks have tens of thousands of them (Utilization lists every capacity).
        keep = np.abs(np.nan_to_num(price, nan=1.0)) > 1e-9
        rows, used, price, low, high = rows[keep], used[keep], price[keep], low[keep], high[keep]
        one_more = one_more[keep]
        frames.append(pd.DataFrame({
            "kind": kind, "source": sheet + " row " + rows["sheet_row"].astype(str),
            "site": rows["site"] if "site" in rows else rows["origin"],
            "destination": rows.get("destination", ""),
            "item": rows.get("item", "(all items)"), "period": rows["period"],
            "value": rows["rhs"], "used": used, "price": price, "one_more": one_more,
            "meaning": "price: the dual (cost of a unit less, and saving of a unit more where its range reaches past "
                       "the capacity); one_more: what one more unit saves, one-sided",
            "range_low": _finite(low), "range_high": _finite(high), "note": note}))
    demand = formulation.blocks.get("demand")
    if demand is not None:
        rows = demand.rows
        low, high = _row_ranges(output, "demand")
        frames.append(pd.DataFrame({
            "kind": "demand", "source": "Demand row " + rows["sheet_row"].astype(str), "site": rows["site"],
            "destination": "", "item": rows["item"], "period": rows["period"], "value": rows["rhs"],
            "used": rows["rhs"], "price": output.duals["demand"],
            "meaning": "cost of one more unit delivered", "range_low": _finite(low), "range_high": _finite(high),
            "note": note}))
    if len(result.compliance):  # each rule type prices its own Compliance rows, in their order
        for row, rows in result.compliance.groupby("rule_row", sort=False):
            priced = formulation.rules[row].type.sensitivity(rows, result.marginals.rows.get(row))
            if priced is not None:
                frames.append(priced)
    frames.append(_unused_supply(formulation, output))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)
    if output.duals_from == "fixed_lp":
        table["note"] = [fixed + (f"; {n}" if n else "") for n in table["note"].fillna("")]
    return table


def _unused_supply(formulation: Formulation, output: SolverOutput) -> pd.DataFrame:
    """Unused supply options and how much their unit cost must fall before the plan uses them.

    That is the reduced cost of producing and shipping one unit on the cheapest outbound lane:
    rc(production) + min rc(flow out), which telescopes to unit cost + lane cost + tariff - the
    destination's marginal value; the sum does not depend on how a degenerate LP splits its duals."""
    production = formulation.production
    family = formulation.families["production"]
    all_reduced = output.reduced_costs
    reduced = all_reduced[family.offset:family.offset + len(family)]
    flows = formulation.flows
    if len(flows):
        cheapest_out = pd.Series(all_reduced[:len(flows)]).groupby(
            [flows["origin"], flows["item"], flows["period"]]).min()
        onward = cheapest_out.reindex(pd.MultiIndex.from_frame(production[["site", "item", "period"]])).to_numpy()
        reduced = reduced + np.nan_to_num(onward, nan=0.0)
    used = formulation.family_values(output.values, "production")
    unused = np.flatnonzero(used <= 1e-9)
    rows = production.iloc[unused]
    note = ""
    if any(m.rule.basis == "value" and m.type.priced for m in formulation.rules.values()) \
            or formulation.network.tariffs:
        note = ("holds the goods' valuation fixed: tariffs and value-basis shares that depend on this unit "
                "cost are not re-weighted")
    return pd.DataFrame({
        "kind": "unused supply", "source": "Supply row " + rows["row"].astype(str), "site": rows["site"],
        "destination": "", "item": rows["item"], "period": rows["period"],
        "value": np.nan, "used": 0.0, "price": np.maximum(reduced[unused], 0.0),
        "meaning": "unit cost reduction needed before it is used (reduced cost)",
        "range_low": np.nan, "range_high": np.nan, "note": note})
