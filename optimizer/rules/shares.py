"""Share rules (``min_share``, ``max_share``) and ``exclude``: linear rows over the flows a rule measures.

A share rule states, per row of its terms (a period, or a period and destination),
``sum (1[from] - value) w x  >= 0`` (min) or ``<= 0`` (max), i.e. the share of the weighted flow
from `from` sites is at least / at most ``value``. Required by a threshold credit, it becomes the
credit's condition: one binary ``met`` per row, and the row need only hold where ``met`` is 1.
``exclude`` states ``sum x [from] <= 0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.network import RuleSpec
from optimizer.findings import TOLERANCE, Finding, fmt, in_period, rows_text
from optimizer.highs import LinearArrays, solve_arrays
from optimizer.model import Formulation
from optimizer.options import UNLIMITED, Deadline
from optimizer.rules.base import (
    COMPLIANCE_COLUMNS,
    FLOW_TOLERANCE,
    RULE_TYPES,
    SHARE_TOLERANCE,
    BoundTightening,
    RuleModel,
    RuleTerms,
    RuleType,
    Violation,
    add_block,
    register,
)


def measured_compliance(model: RuleModel, values: np.ndarray, bound: float, sense: str,
                        binding: np.ndarray | None, cost_per_point: np.ndarray, met: np.ndarray | None
                        ) -> pd.DataFrame:
    """Compliance rows of a rule measured on its terms: flow from `from` sites, total flow, share.
    ``binding`` None: the share sits at its bound (within SHARE_TOLERANCE)."""
    terms, rule = model.terms, model.rule
    n = len(terms.rows)
    weighted = terms.weight * values[terms.var]
    total = np.bincount(terms.row, weights=weighted, minlength=n)
    selected = np.bincount(terms.row, weights=weighted * terms.selected, minlength=n)
    share = np.divide(selected, total, out=np.full(n, np.nan), where=total > FLOW_TOLERANCE)
    if binding is None:
        binding = (total > FLOW_TOLERANCE) & (np.abs(np.nan_to_num(share, nan=-1.0) - bound) <= SHARE_TOLERANCE)
    if met is not None:  # required by a threshold credit: the rule may be missed where it does not pay
        binding = binding & (met > 0.5)
    return pd.DataFrame({
        "policy": rule.policy, "rule": rule.type, "source": f"Policies row {rule.row}",
        "items": rule.items_text or "(all)", "from": rule.from_text or "(all)", "to": rule.to_text or "(all)",
        "basis": rule.basis, "scope": rule.scope,
        "period": terms.rows["period"].to_numpy(), "destination": terms.rows["destination"].to_numpy(),
        "from_flow": selected, "total_flow": total, "share": share, "sense": sense, "bound": bound,
        "binding": binding, "cost_per_point": cost_per_point,
        "met": (met > 0.5) if met is not None else True, "rule_row": rule.row,
    }).reindex(columns=[*COMPLIANCE_COLUMNS, "rule_row"])


def rule_label(model: RuleModel) -> str:
    """``Policies row 7 (ira_30d_whatif, min_share critical_mineral from north_america)``."""
    rule = model.rule
    return f"Policies row {rule.row} ({rule.policy}, {rule.label()})"


def best_share(lp: LinearArrays, terms: RuleTerms, r: int, maximize: bool,
               deadline: Deadline = UNLIMITED) -> float | None:
    """Largest (smallest) share of rule row ``r`` achievable within ``lp`` (Dinkelbach's method:
    optimise N - lambda D, set lambda = N / D, repeat until N - lambda D = 0); each solve's options
    from ``deadline``."""
    mask = terms.row == r
    var, weight, selected = terms.var[mask], terms.weight[mask], terms.selected[mask].astype(float)
    ratio = 0.0 if maximize else 1.0
    for _ in range(50):
        cost = np.zeros(lp.n_cols)
        np.add.at(cost, var, (selected - ratio) * weight)
        trial = LinearArrays(cost, lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper, lp.row, lp.col,
                             lp.value, lp.row_offset)
        solution = solve_arrays(trial, maximize=maximize, options=deadline.next_solve())
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


class ShareRule(RuleType):
    """``min_share`` / ``max_share``: share of the flow from `from` sites at least / at most ``value``."""

    sense: str
    value_format = "percent"
    priced = True
    marginal_column = "cost_per_point"

    def required_by_credit(self, formulation: Formulation, model: RuleModel) -> bool:
        """Whether a rule of the policy set (a threshold credit) makes this rule its condition."""
        return any(RULE_TYPES[r.type].spec.needs_requires and r.requires == model.rule.row
                   for r in formulation.policy.rules)

    def state(self, formulation: Formulation, model: RuleModel) -> None:
        terms, rule = model.terms, model.rule
        coef = (terms.selected.astype(float) - float(rule.value)) * terms.weight
        keep = coef != 0.0
        if not self.required_by_credit(formulation, model):
            add_block(formulation, model, "share", terms.rows, self.sense, 0.0, terms.row[keep], terms.var[keep],
                      coef[keep])
            return
        # The credit's condition: one binary 'met' per row: sum coef x >= -M (1 - met) (<= M (1 - met) for
        # max_share), with M the largest |sum coef x| the flows' need bounds allow.
        need = formulation.need.reindex(pd.MultiIndex.from_frame(
            formulation.flows.loc[terms.var, ["item", "period"]])).to_numpy()
        big_m = np.bincount(terms.row, weights=np.abs(coef) * need, minlength=len(terms.rows)) + 1.0
        met = formulation.add_family(f"met_row_{rule.row}", terms.rows.assign(rule_row=rule.row), 0.0, 1.0,
                                     integer=True, cost_part="credits")
        model.families["met"] = met.name
        sign = 1.0 if self.sense == ">=" else -1.0
        n = len(terms.rows)
        add_block(formulation, model, "share", terms.rows, self.sense, -sign * big_m,
                  np.r_[terms.row[keep], np.arange(n)], np.r_[terms.var[keep], met.index],
                  np.r_[coef[keep], -sign * big_m])

    def compliance(self, formulation, model, values, duals):
        # cost_per_point is the one-sided marginal cost, filled in from the solve (optimizer.marginals)
        met = model.family_values(formulation, values, "met")
        n = len(model.terms.rows)
        return measured_compliance(model, values, float(model.rule.value), self.sense, None, np.full(n, np.nan), met)

    def tightening(self, formulation, model, values):
        """One point of the share moves row ``sum (1[from] - value) w x`` by the row's total ``sum w x`` / 100
        (a conditional row, the condition of a threshold credit, has no marginal cost)."""
        if "share" not in model.blocks or "met" in model.families:
            return None
        terms = model.terms
        total = np.bincount(terms.row, weights=terms.weight * values[terms.var], minlength=len(terms.rows))
        per_point = np.where(total > FLOW_TOLERANCE, total, 0.0) / 100.0
        return BoundTightening(model.blocks["share"], per_point, per_point, step=1e-4)

    frontier = "share"

    def measured(self, formulation, model, values):
        terms = model.terms
        weighted = terms.weight * values[terms.var]
        total = np.bincount(terms.row, weights=weighted, minlength=len(terms.rows))
        selected = np.bincount(terms.row, weights=weighted * terms.selected, minlength=len(terms.rows))
        return (selected / np.where(total > FLOW_TOLERANCE, total, 1.0))[total > FLOW_TOLERANCE]

    def frontier_end(self, formulation, model, others, deadline):
        """One row of an LP: the best share achievable under the other rules (Dinkelbach's method, as diagnosis
        computes it)."""
        if len(model.terms.rows) != 1 or formulation.is_mip:
            return None
        maximize = self.sense == ">="
        best = best_share(others, model.terms, 0, maximize, deadline)
        if best is None:
            return None
        best = min(best, 1.0) if maximize else max(best, 0.0)
        return float(best), (f"the {'highest' if maximize else 'lowest'} share achievable under the other rules "
                             "(exact: Dinkelbach's method, as diagnosis computes it)")

    def sensitivity(self, rows, marginals=None):
        return pd.DataFrame({
            "kind": "policy rule", "source": rows["source"], "site": "", "destination": rows["destination"],
            "item": rows["items"], "period": rows["period"], "value": rows["bound"], "used": rows["share"],
            "price": rows["cost_per_point"],
            "meaning": "cost of tightening the bound by 1 percentage point (one-sided; inf: at the limit)",
            "range_low": np.nan, "range_high": np.nan, "note": ""})

    def relaxable(self, formulation, model):
        return [model.blocks["share"]] if "share" in model.blocks and "met" not in model.families else []

    def meets(self, rule, share: float) -> bool:
        raise NotImplementedError

    def finding(self, formulation: Formulation, model: RuleModel, r: int, best: float | None, alone: float | None,
                kind: str, suffix: str = "", others: list[int] | None = None) -> Finding:
        """The message for row ``r``: what is required, what is achievable, and whether other rules are why."""
        rule, terms = model.rule, model.terms
        row = terms.rows.iloc[r]
        where = in_period(formulation.network, row["period"]) + (
            f" into {row['destination']}" if rule.scope == "each_destination" else "")
        asked = self.asked(rule.value)
        if best is None:
            text = f"{rule_label(model)}: {asked}{where}, but it cannot be met{suffix}"
        else:
            text = f"{rule_label(model)}: {asked}, {self.achievable(best)}{where}{suffix}"
        if others and alone is not None and best is not None and abs(alone - best) > TOLERANCE:
            if kind == "rule_conflict":
                text += (f"; it conflicts with the other rules ({rows_text('Policies', others)}): without them "
                         f"{alone:.1%} is achievable")
            else:
                text += f" ({alone:.1%} without the other rules of this policy set)"
        numbers = {"bound": float(rule.value), "achievable": best, "achievable_without_other_rules": alone,
                   "period": row["period"]}
        if rule.scope == "each_destination":
            numbers["destination"] = row["destination"]
        return Finding(kind, "Policies", [int(rule.row)], text, numbers)

    def explain(self, formulation, model, violation: Violation):
        findings = []
        maximize = self.sense == ">="
        for r in violation.rows:
            alone = best_share(violation.physical, model.terms, r, maximize, violation.deadline)
            best = best_share(violation.with_others, model.terms, r, maximize, violation.deadline) \
                if violation.with_others is not None else alone
            if best is None:  # the other rules cannot hold even without this one: judge it alone
                if alone is not None and not self.meets(model.rule, alone):
                    findings.append(self.finding(formulation, model, r, alone, None, "rule_unreachable",
                                                 suffix=" (even ignoring the other rules)"
                                                 if violation.with_others is not None else ""))
            elif not self.meets(model.rule, best):
                alone_fails = alone is not None and not self.meets(model.rule, alone)
                findings.append(self.finding(formulation, model, r, best, alone,
                                             "rule_unreachable" if alone_fails else "rule_conflict",
                                             others=violation.other_rows if best != alone else None))
        return findings


@register
class MinShare(ShareRule):
    name = "min_share"
    spec = RuleSpec("fraction", "share of flow from `from` sites at least `value`", share=True)
    sense = ">="

    def meets(self, rule, share):
        return share >= float(rule.value) - TOLERANCE

    def frontier_start(self, measured):
        return float(measured.min()), "the lowest share the cost-minimal plan reaches without the rule: where it " \
                                      "starts to bind"

    def most_demanding(self):
        return 1.0

    def tightened(self, value, step):
        return min(1.0, value + step) if value < 1.0 else None

    def asked(self, value: float) -> str:
        return f"{value:.1%} required"

    def achievable(self, best: float) -> str:
        return f"at most {best:.1%} achievable"

    def structural(self, formulation, model):
        """Rows whose `from` sites cannot deliver the items into the `to` sites at all."""
        terms = model.terms
        if not model.rule.value or "met" in model.families:
            return []
        weighted = np.bincount(terms.row, weights=terms.weight, minlength=len(terms.rows)) > 0
        selected = np.bincount(terms.row, weights=terms.weight * terms.selected, minlength=len(terms.rows)) > 0
        return [self.finding(formulation, model, r, 0.0, None, "rule_unreachable",
                             suffix=", because no site selected by 'from' can deliver these items there")
                for r in np.flatnonzero(weighted & ~selected)]


@register
class MaxShare(ShareRule):
    name = "max_share"
    spec = RuleSpec("fraction", "share of flow from `from` sites at most `value`", share=True)
    sense = "<="

    def meets(self, rule, share):
        return share <= float(rule.value) + TOLERANCE

    def frontier_start(self, measured):
        return float(measured.max()), "the highest share the cost-minimal plan reaches without the rule: where it " \
                                      "starts to bind"

    def most_demanding(self):
        return 0.0

    def tightened(self, value, step):
        return max(0.0, value - step) if value > 0.0 else None

    def asked(self, value: float) -> str:
        return f"at most {value:.1%} allowed"

    def achievable(self, best: float) -> str:
        return f"at least {best:.1%} unavoidable"


@register
class Exclude(RuleType):
    """``exclude``: ``sum x [from] <= 0``: no flow of its items from `from` sites into `to` sites."""

    name = "exclude"
    spec = RuleSpec(None, "no flow from `from` sites")

    def state(self, formulation, model):
        terms = model.terms
        keep = terms.selected
        add_block(formulation, model, "exclude", terms.rows, "<=", 0.0, terms.row[keep], terms.var[keep],
                  np.ones(len(terms.var))[keep])

    def compliance(self, formulation, model, values, duals):
        block = model.blocks.get("exclude")
        dual = duals.get(block) if block is not None else None
        n = len(model.terms.rows)
        binding = (np.abs(dual) > 1e-9) if dual is not None else np.full(n, None)
        return measured_compliance(model, values, 0.0, "<=", binding, np.full(n, np.nan), None)

    def summary(self, rows):
        state = "binding" if rows["binding"].fillna(False).astype(bool).any() else "not binding"
        return f"{rows.iloc[0]['source']} exclude {rows.iloc[0]['from']}: {state}"

    def relaxable(self, formulation, model):
        return [model.blocks["exclude"]] if "exclude" in model.blocks else []

    def explain(self, formulation, model, violation):
        findings = []
        for r, needed in zip(violation.rows, violation.slack, strict=True):
            row = model.terms.rows.iloc[r]
            findings.append(Finding(
                "rule_unreachable", "Policies", [int(model.rule.row)],
                f"{rule_label(model)}: the excluded sites are needed{in_period(formulation.network, row['period'])}: "
                f"at least {fmt(float(needed))} units must come from them to meet demand",
                {"needed_from_excluded": float(needed), "period": row["period"]}))
        return findings
