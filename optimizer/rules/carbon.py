"""Carbon rules: ``co2_price`` and ``co2_cap`` on the emissions of matching activities.

A rule's matching activities, in each period it covers: production of its items at its `from` sites
(whatever its destination; `to` filters flows only), and flows of its items from `from` sites into `to`
sites. Their emissions are production x the Supply (or option) ``co2_per_unit`` plus flow x the lane's
``co2_per_unit``.
- ``co2_price``: ``value`` per unit of emissions, its own cost part ``carbon`` (discounted like every cost
  of its period; rows matching the same emissions add up).
- ``co2_cap``: per covered period, matching emissions <= ``value`` (basis ``total``) or <= ``value`` x the
  demand of its items at its `to` sites in that period (basis ``per_unit``, an intensity cap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.network import RuleSpec
from optimizer.direct import arrays_from
from optimizer.findings import TOLERANCE, Finding, fmt, in_period
from optimizer.highs import INF, solve_arrays
from optimizer.options import UNLIMITED, Deadline
from optimizer.rules.base import (
    COMPLIANCE_COLUMNS,
    FLOW_TOLERANCE,
    BoundTightening,
    RuleModel,
    RuleType,
    add_block,
    register,
)
from optimizer.rules.shares import rule_label


@dataclass
class Emitters:
    """The columns (global index) whose emissions a carbon rule counts, their emissions per unit, and the
    index of the covered period each belongs to (in ``periods``)."""

    periods: list[str]
    var: np.ndarray
    co2: np.ndarray
    row: np.ndarray
    families: list[tuple[str, np.ndarray, np.ndarray]]  # (family, local columns, co2) of production


def emitters(formulation, model: RuleModel) -> Emitters:
    """Production of the rule's items at its `from` sites and its measured flows from `from` sites, in the
    periods it covers (see the module docstring)."""
    rule = model.rule
    periods = rule.periods(formulation.network.periods)
    position = {p: i for i, p in enumerate(periods)}
    var, co2, row, families = [], [], [], []
    for name, table, column in (("production", formulation.production, "co2_per_unit"),
                                ("option_production", None, "co2_per_unit")):
        family = formulation.families.get(name)
        if family is None or not len(family):
            continue
        keys = family.keys
        if table is None:  # an option's co2, resolved per period
            terms = formulation.option_periods.set_index(["option", "period"])[column]
            per_unit = terms.reindex(pd.MultiIndex.from_frame(keys[["option", "period"]])).to_numpy(dtype=float)
        else:
            per_unit = table[column].to_numpy(dtype=float)
        hit = (keys["item"].isin(rule.items) & keys["site"].isin(rule.from_sites)
               & keys["period"].isin(periods)).to_numpy() & (per_unit != 0)
        local = np.flatnonzero(hit)
        families.append((name, local, per_unit[local]))
        var.append(family.offset + local)
        co2.append(per_unit[local])
        row.append(keys["period"].to_numpy()[local])
    terms = model.terms
    flows = terms.var[terms.selected]
    per_unit = formulation.flows["co2"].to_numpy(dtype=float)[flows]
    keep = per_unit != 0
    var.append(flows[keep])
    co2.append(per_unit[keep])
    row.append(formulation.flows["period"].to_numpy()[flows[keep]])
    rows = pd.Series(np.concatenate(row) if row else np.zeros(0, dtype=object)).map(position)
    return Emitters(periods, np.concatenate(var).astype(np.int64), np.concatenate(co2),
                    rows.to_numpy(dtype=np.int64), families)


def emissions_per_period(emit: Emitters, values: np.ndarray) -> np.ndarray:
    """The matching emissions of a plan in each covered period."""
    return np.bincount(emit.row, weights=emit.co2 * values[emit.var], minlength=len(emit.periods))


def _frame(model: RuleModel, periods, emissions, bound, sense, binding, met, cost) -> pd.DataFrame:
    rule = model.rule
    return pd.DataFrame({
        "policy": rule.policy, "rule": rule.type, "source": f"Policies row {rule.row}",
        "items": rule.items_text or "(all)", "from": rule.from_text or "(all)", "to": rule.to_text or "(all)",
        "basis": rule.basis, "scope": rule.scope, "period": periods, "destination": "(all)",
        "from_flow": np.nan, "total_flow": np.nan, "share": np.nan, "sense": sense, "bound": bound,
        "binding": binding, "cost_per_point": np.nan, "met": met, "emissions": emissions,
        "cost": cost, "marginal_abatement_cost": np.nan, "rule_row": rule.row,
    }).reindex(columns=[*COMPLIANCE_COLUMNS, "rule_row"])


@register
class Co2Price(RuleType):
    """``co2_price``: ``value`` per unit of the matching emissions, the cost part ``carbon``."""

    name = "co2_price"
    spec = RuleSpec("amount", "carbon price `value` per unit of the matching emissions",
                    amount_hint="a price per unit of emissions", bases=("total",), scopes=("total",))
    value_format = "money"
    carbon = True

    def state(self, formulation, model):
        price = float(model.rule.value)
        emit = emitters(formulation, model)
        model.data["emitters"] = emit
        terms = model.terms
        flows = terms.var[terms.selected]
        model.flow_costs["carbon"] = (flows, price * formulation.flows["co2"].to_numpy(dtype=float)[flows])
        for family, columns, co2 in emit.families:
            model.family_costs.append((family, columns, price * co2, "carbon"))

    def compliance(self, formulation, model, values, duals):
        emit = model.data["emitters"]
        emissions = emissions_per_period(emit, values)
        emissions = np.where(np.abs(emissions) > FLOW_TOLERANCE, emissions, 0.0)
        n = len(emit.periods)
        return _frame(model, emit.periods, emissions, np.nan, "", np.full(n, False), np.full(n, True),
                      emissions * float(model.rule.value))

    def summary(self, rows):
        first = rows.iloc[0]
        return (f"{first['source']} co2_price {first['items']} from {first['from']}: emissions "
                f"{fmt(rows['emissions'].sum())}, cost {rows['cost'].sum():,.2f} (nominal)")


@register
class Co2Cap(RuleType):
    """``co2_cap``: matching emissions per covered period at most ``value`` (``total``) or ``value`` x the
    demand of its items at its `to` sites (``per_unit``)."""

    name = "co2_cap"
    spec = RuleSpec("amount", "matching emissions per period at most `value` (basis total) or `value` per unit "
                              "of demand (basis per_unit)", amount_hint="a cap on emissions",
                    bases=("total", "per_unit"), scopes=("total",))
    value_format = "number"
    carbon = True
    marginal_column = "marginal_abatement_cost"

    def bound(self, formulation, model: RuleModel, periods: list[str], value: float | None = None) -> np.ndarray:
        """The cap in each covered period (of the rule's value, or of ``value``)."""
        rule = model.rule
        value = float(rule.value if value is None else value)
        if rule.basis != "per_unit":
            return np.full(len(periods), value)
        demand = formulation.network.demand
        demand = demand[demand["item"].isin(rule.items) & demand["site"].isin(rule.to_sites)]
        per_period = demand.groupby("period")["quantity"].sum()
        return value * per_period.reindex(periods).fillna(0.0).to_numpy(dtype=float)

    def state(self, formulation, model):
        emit = emitters(formulation, model)
        model.data["emitters"] = emit
        rows = pd.DataFrame({"period": emit.periods, "destination": "(all)"})
        add_block(formulation, model, "cap", rows, "<=", self.bound(formulation, model, emit.periods),
                  emit.row, emit.var, emit.co2)

    def tightening(self, formulation, model, values):
        """A unit of emissions less moves a period's cap by 1; a unit of ``value`` by 1 (basis total) or by the
        period's demand of the rule's items (per_unit)."""
        if "cap" not in model.blocks:
            return None
        emit = model.data["emitters"]
        bound = self.bound(formulation, model, emit.periods)
        return BoundTightening(model.blocks["cap"], np.ones(len(bound)),
                               self.bound(formulation, model, emit.periods, value=1.0),
                               step=1e-6 * max(1.0, float(np.abs(bound).max(initial=0.0))))

    def compliance(self, formulation, model, values, duals):
        emit = model.data["emitters"]
        emissions = emissions_per_period(emit, values)
        emissions = np.where(np.abs(emissions) > FLOW_TOLERANCE, emissions, 0.0)
        bound = self.bound(formulation, model, emit.periods)
        scale = np.maximum(1.0, np.abs(bound))
        binding = emissions >= bound - 1e-6 * scale
        return _frame(model, emit.periods, emissions, bound, "<=", binding, emissions <= bound + 1e-6 * scale,
                      np.nan)

    frontier = "emissions"

    def windowed(self, rule, fraction):
        """A total cap is a budget per period: a window gets ``fraction`` of it (a per_unit cap follows the
        window's demand by itself)."""
        return rule.model_copy(update={"value": float(rule.value) * fraction}) if rule.basis == "total" else rule

    def frontier_refusal(self, rule):
        return f"a co2_cap ({rule.basis}) rule" if rule.basis != "total" else None

    def measured(self, formulation, model, values):
        return emissions_per_period(model.data["emitters"], values)

    def frontier_start(self, measured):
        return float(measured.max()), "the highest period's matching emissions the cost-minimal plan reaches " \
                                      "without the rule: where it starts to bind"

    def frontier_end(self, formulation, model, others, deadline):
        """min z s.t. each covered period's matching emissions <= z, under every other block (the cap's rows
        turned into ``emissions - z <= 0``): one LP, or a MILP when the policy set has discrete choices."""
        lp = arrays_from(formulation)
        rows = lp.row_offset[model.blocks["cap"]] + np.arange(len(formulation.blocks[model.blocks["cap"]]))
        lp.cost = np.zeros(lp.n_cols)
        lp.row_lower[rows], lp.row_upper[rows] = -INF, 0.0
        lp.add_column(1.0, rows, np.full(len(rows), -1.0))  # z, the largest period's emissions
        integer = np.concatenate([formulation.integer, [False]])
        solution = solve_arrays(lp, integer=integer, options=deadline.next_solve())
        if solution.status != "optimal":
            return None
        return float(solution.objective), ("the least achievable largest period's emissions under the other rules "
                                           "(exact: one " + ("MILP" if formulation.is_mip else "LP") + ")")

    def tightened(self, value, step):
        return value - step * max(1.0, abs(value)) if value > 0 else None

    def summary(self, rows):
        first = rows.iloc[0]
        return (f"{first['source']} co2_cap {first['items']} from {first['from']} ({first['basis']}): emissions "
                f"{fmt(rows['emissions'].min())}-{fmt(rows['emissions'].max())} against "
                f"{fmt(rows['bound'].min())}-{fmt(rows['bound'].max())}, binding "
                f"{int(rows['binding'].astype(bool).sum())}/{len(rows)}")

    def sensitivity(self, rows, marginals=None):
        """Each period's cap with its marginal abatement cost, and the caps between which that cost holds (a
        tightening t of the cap holds on [low, high]: the cap from bound - high to bound - low)."""
        bound = rows["bound"].to_numpy(dtype=float)
        if marginals is not None and len(marginals) == len(rows):
            low = np.array([m.low for m in marginals], dtype=float)
            high = np.array([m.high for m in marginals], dtype=float)
            limited = np.isinf([m.rate for m in marginals])
            range_low = np.where(np.isfinite(high) & ~limited, bound - high, np.nan)
            range_high = np.where(np.isfinite(low) & ~limited, bound - low, np.nan)
        else:
            range_low = range_high = np.full(len(rows), np.nan)
        return pd.DataFrame({
            "kind": "co2 cap", "source": rows["source"], "site": "", "destination": "", "item": rows["items"],
            "period": rows["period"], "value": bound, "used": rows["emissions"],
            "price": rows["marginal_abatement_cost"],
            "meaning": "cost of one unit of emissions less (one-sided, tightening the cap; inf: at the limit)",
            "range_low": range_low, "range_high": range_high, "note": ""})

    def relaxable(self, formulation, model):
        return [model.blocks["cap"]] if "cap" in model.blocks else []

    def explain(self, formulation, model, violation):
        """Each violated period with the least matching emissions achievable (an LP over the physical model,
        and over it with the other rules)."""
        emit = model.data["emitters"]
        findings = []
        bound = self.bound(formulation, model, emit.periods)
        for r in violation.rows:
            best = least_emissions(violation.with_others or violation.physical, emit, r, violation.deadline)
            alone = least_emissions(violation.physical, emit, r, violation.deadline) \
                if violation.with_others is not None else best
            period = emit.periods[r]
            text = (f"{rule_label(model)}: at most {fmt(bound[r])} allowed{in_period(formulation.network, period)}, "
                    f"at least {fmt(best) if best is not None else '?'} unavoidable")
            if alone is not None and best is not None and abs(alone - best) > TOLERANCE * max(1.0, abs(best)):
                text += f" ({fmt(alone)} without the other rules of this policy set)"
            findings.append(Finding("rule_unreachable", "Policies", [int(model.rule.row)], text,
                                    {"bound": float(bound[r]), "achievable": best,
                                     "achievable_without_other_rules": alone, "period": period}))
        return findings


def least_emissions(lp, emit: Emitters, r: int, deadline: Deadline = UNLIMITED) -> float | None:
    """The least matching emissions of covered period ``r`` within the model ``lp`` (an LP; its options from
    ``deadline``)."""
    cost = np.zeros(lp.n_cols)
    mine = emit.row == r
    np.add.at(cost, emit.var[mine], emit.co2[mine])
    trial = type(lp)(cost, lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper, lp.row, lp.col, lp.value,
                     lp.row_offset)
    solution = solve_arrays(trial, options=deadline.next_solve())
    return solution.objective if solution.status == "optimal" else None

