"""Solver output turned into business tables (pandas DataFrames keyed by site, item, period)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from optimizer.backend import SolverOutput
from optimizer.costs import COST_PARTS, PARTS, parts_of
from optimizer.formulation import recipes, standard_costs
from optimizer.horizon import initial_stock, salvage_fractions
from optimizer.marginals import Marginals
from optimizer.model import Formulation
from optimizer.rules import COMPLIANCE_COLUMNS, is_check
from optimizer.rules.base import FLOW_TOLERANCE


@dataclass
class SolveResult:
    """A solved (or unsolvable) sourcing plan for one policy set.

    Tables are empty DataFrames when there is no plan. ``costs`` has the keys of COST_PARTS.
    """

    status: str
    policy: str
    solver: str
    total_cost: float | None
    costs: dict[str, float | None]
    flows: pd.DataFrame
    utilization: pd.DataFrame
    compliance: pd.DataFrame
    summary: pd.DataFrame
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Without discount factors equal to ``total_cost``; otherwise the costs as they arise.
    nominal_total: float | None = None
    #: One row per investment option (built or not), one per stocking (site, item, period), and the cost
    #: parts per period (empty without options, stock, or a plan).
    investments: pd.DataFrame = field(default_factory=pd.DataFrame)
    inventory: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs_by_period: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The plan's emissions per period (empty without a plan).
    emissions: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    #: One row per Demand row with a shortage cost: what was delivered and what was left unmet (empty without
    #: such rows or a plan; see ``unmet_report``).
    unmet: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The scenario of the Scenarios sheet it was solved in (``solve --scenario``; None: the workbook as it is).
    scenario: str | None = None
    #: The one-sided marginal costs of its rule bounds (empty without a priced plan).
    marginals: Marginals = field(default_factory=Marginals)
    #: Policies row -> why a rule's marginal cost is blank though plans lie past it (a step in cost).
    marginal_notes: dict[int, str] = field(default_factory=dict)
    #: What the plan itself suggests may be a mistake (``met_by_delivering_nothing``), beside the workbook's.
    plan_warnings: list[str] = field(default_factory=list)
    formulation: Formulation | None = None
    output: SolverOutput | None = None

    @property
    def has_plan(self) -> bool:
        return self.total_cost is not None

    def detached(self) -> SolveResult:
        """A copy without the solver objects, small and picklable (for parallel runs)."""
        return replace(self, formulation=None, output=None)

    def as_dict(self, output_path: str | None = None) -> dict[str, Any]:
        """The fields of ``solve --json``."""
        return {
            "status": self.status, "policy": self.policy, "scenario": self.scenario, "solver": self.solver,
            "total_cost": self.total_cost, "nominal_total": self.nominal_total, "costs": self.costs,
            "message": self.message, "output": output_path, "stats": self.stats, "diagnosis": self.diagnosis,
            "warnings": [*(self.formulation.network.warnings if self.formulation else []), *self.plan_warnings],
            "investments": self.investment_records(), "inventory": self.inventory_records(),
            "emissions": self.emissions_record(), "unmet": self.unmet_records(),
        }

    def unmet_records(self) -> list[dict[str, Any]]:
        """The ``unmet`` list of ``solve --json``: ``{"site", "item", "period", "quantity", "cost"}`` per Demand row
        left (partly) unmet, its cost as it arises in its period; empty when all demand is served."""
        if not len(self.unmet):
            return []
        short = self.unmet[self.unmet["unmet"] > 0]
        return [{"site": r.site, "item": r.item, "period": r.period, "quantity": float(r.unmet), "cost": float(r.cost)}
                for r in short.itertuples()]

    def decisions(self) -> dict[str, Any]:
        """The plan's first-stage decisions: option -> build period (None: not built), or {period: fraction}
        for a divisible option."""
        out: dict[str, Any] = {}
        for row in self.investments.itertuples() if len(self.investments) else ():
            out[row.option] = dict(row.fractions or {}) if row.divisible else (
                row.build_period if row.built else None)
        return out

    def builds(self) -> list[dict[str, Any]]:
        """What the plan builds: ``{"option", "period"}`` per yes/no option built, and per period with a positive
        fraction of a divisible one (with its ``fraction``); empty when nothing is built or there is no plan."""
        out: list[dict[str, Any]] = []
        for option, decision in self.decisions().items():
            if isinstance(decision, dict):
                out += [{"option": option, "period": p, "fraction": float(f)} for p, f in decision.items()]
            elif decision is not None:
                out.append({"option": option, "period": decision})
        return out

    def emissions_record(self) -> dict[str, Any] | None:
        """``{"total", "by_period": {period: value}}`` (None without a plan)."""
        if not self.has_plan:
            return None
        return {"total": float(self.emissions.sum()), "by_period": {p: float(v) for p, v in self.emissions.items()}}

    def investment_records(self) -> list[dict[str, Any]]:
        """The ``investments`` list of ``solve --json``."""
        records = []
        for row in self.investments.itertuples() if len(self.investments) else ():
            records.append({
                "option": row.option, "built": row.built if row.divisible else bool(row.built),
                "period": _none(row.build_period), "fractions": row.fractions if row.divisible else None,
                "available_from": _none(row.available_from), "capex": _none(row.capex),
                "salvage": _none(row.salvage), "value": _none(row.value),
                "break_even_capex": _none(row.break_even_capex)})
        return records

    def inventory_records(self) -> list[dict[str, Any]]:
        """The ``inventory`` list of ``solve --json``."""
        if not len(self.inventory):
            return []
        return [{"site": r.site, "item": r.item, "period": r.period, "closing": float(r.closing)}
                for r in self.inventory.itertuples()]

    def diagnosis_table(self) -> pd.DataFrame:
        """The Diagnosis sheet: one row per reason, with the sheet and row to change."""
        columns = ["kind", "sheet", "row", "rows", "message", "numbers"]
        if not self.diagnosis:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame(self.diagnosis)
        frame["rows"] = frame["rows"].map(lambda rows: ", ".join(map(str, rows)))
        frame["numbers"] = frame["numbers"].map(
            lambda n: "; ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in n.items() if v is not None))
        return frame[columns]


def _none(value):
    """None for a blank (None or NaN), else the value as a plain Python number or text."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def flow_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """Non-zero flows with their landed cost split into supply, transport and tariff parts.

    ``supply_unit_cost`` is what a unit of the goods cost at their origin in this plan (see
    :func:`paid_unit_costs`): the Supply unit_cost in a single tier; made from inputs, the conversion cost plus
    the inputs consumed at their landed cost; passed on, their inbound landed cost. ``valuation_unit_cost`` is
    the rules' valuation of the goods (the standard cost at the origin), on which tariffs are charged and value
    shares measured. ``landed_unit_cost`` is the goods' cost plus lane cost, tariffs and carbon, less credits.
    In a single-tier network the flows add up to the total cost; in a multi-tier one the Summary does (the
    goods' cost is counted again at every tier).
    """
    paid = paid_unit_costs(formulation, values)
    flows = formulation.flows.assign(quantity=formulation.family_values(values, "flow"), paid=paid)
    flows = flows[flows["quantity"] > FLOW_TOLERANCE]
    sites = formulation.network.sites
    country = {s: site.country for s, site in sites.items()}
    out = pd.DataFrame({
        "period": flows["period"], "item": flows["item"],
        "origin": flows["origin"], "origin_country": flows["origin"].map(country),
        "destination": flows["destination"], "destination_country": flows["destination"].map(country),
        "quantity": flows["quantity"],
        "supply_unit_cost": flows["paid"], "valuation_unit_cost": flows["supply_unit_cost"],
        "lane_unit_cost": flows["lane_unit_cost"],
        "tariff_rate": flows["tariff_rate"] + flows["policy_tariff_rate"],
        "credit_per_unit": flows["credit"], "landed_unit_cost": flows["paid"] + flows["unit_cost"],
    })
    out["supply_cost"] = out["quantity"] * out["supply_unit_cost"]
    out["transport_cost"] = out["quantity"] * out["lane_unit_cost"]
    out["tariff_cost"] = out["quantity"] * out["tariff_rate"] * out["valuation_unit_cost"]
    out["credit_cost"] = -out["quantity"] * out["credit_per_unit"]
    out["carbon_cost"] = out["quantity"] * flows["carbon"].to_numpy()
    out["total_cost"] = out["quantity"] * out["landed_unit_cost"]
    out["co2"] = out["quantity"] * flows["co2"].to_numpy()
    return out.reset_index(drop=True)


def paid_unit_costs(formulation: Formulation, values: np.ndarray) -> np.ndarray:
    """What a unit of each flow's goods cost at its origin in the plan ``values`` (nominal, in its period).

    Every (site, item, period) holds a pool of the item, valued at the average cost of what went into it:
    production at its unit cost plus the inputs it consumed, each at its own pool's average cost there; flows
    in at their origin pool's cost plus the flow's cost per unit (lane, tariffs on the rules' valuation,
    carbon, less credits); stock carried in from the previous period at that period's pool cost; the initial
    stock at the item's average standard cost. Fixed costs, capex and holding costs are not unit costs and are
    left out. The pools' costs solve ``a = b + M a`` (M: the share of each pool's inflow drawn from another),
    found by repeating ``a <- b + M a``: exact after as many rounds as the longest chain of pools, as the
    network's tiers and hops are few."""
    network, flows = formulation.network, formulation.flows
    if not len(flows):
        return np.zeros(0)
    periods = list(network.periods)
    following = dict(zip(periods[:-1], periods[1:], strict=True))
    x = np.maximum(formulation.family_values(values, "flow"), 0.0)
    # inflows: the pool they enter, their quantity, their own cost; links: the pool drawn from, per unit of the
    # pool's inflow it supplies (before dividing by the pool's total). The flows' key columns are taken once:
    # _triple_codes reads each column object once however often it appears.
    origin, destination, item, period = (flows[c] for c in ("origin", "destination", "item", "period"))
    inflow = [(destination, item, period, x, x * flows["unit_cost"].to_numpy(dtype=float))]
    links = [((destination, item, period), (origin, item, period), x)]
    recipe = recipes(network)
    for name, unit_cost in (("production", formulation.production.get("unit_cost")),
                            ("option_production", _option_unit_costs(formulation))):
        family = formulation.families.get(name)
        if family is None or not len(family):
            continue
        made = np.maximum(formulation.family_values(values, name), 0.0)
        keys = family.keys.reset_index(drop=True)
        inflow.append((keys["site"], keys["item"], keys["period"], made, made * np.asarray(unit_cost, dtype=float)))
        if len(recipe):
            use = keys[["site", "item", "period"]].assign(made=made).merge(recipe, on=["site", "item"])
            links.append(((use["site"], use["item"], use["period"]), (use["site"], use["input"], use["period"]),
                          use["made"].to_numpy() * use["quantity"].to_numpy(dtype=float)))
    stock = formulation.families.get("stock")
    if stock is not None and len(stock):
        held = np.maximum(formulation.family_values(values, "stock"), 0.0)
        keys = stock.keys.reset_index(drop=True).assign(held=held, next=stock.keys["period"].map(following).to_numpy())
        carried = keys[keys["next"].notna()]
        inflow.append((carried["site"], carried["item"], carried["next"], carried["held"].to_numpy(),
                       np.zeros(len(carried))))
        links.append(((carried["site"], carried["item"], carried["next"]),
                      (carried["site"], carried["item"], carried["period"]), carried["held"].to_numpy()))
        opening = initial_stock(network)
        if len(opening):
            average = standard_costs(network, recipe).groupby(["item", "period"])["standard_cost"].mean()
            value = average.reindex(pd.MultiIndex.from_frame(opening[["item", "period"]])).fillna(0.0).to_numpy()
            amount = opening["initial"].to_numpy(dtype=float)
            inflow.append((opening["site"], opening["item"], opening["period"], amount, amount * value))
    # Number every pool: the keys of all inflows, of both ends of every link and of the flows' origins.
    keyed = [(s, i, t) for s, i, t, *_ in inflow] + [end for pool, source, _ in links for end in (pool, source)]
    sizes = [len(k[0]) for k in keyed]
    node, uniques = pd.factorize(_triple_codes(keyed))
    starts = np.cumsum([0, *sizes])
    n = len(uniques)
    weight, direct = np.zeros(n), np.zeros(n)
    for index, (*_, quantity, cost) in enumerate(inflow):
        at = node[starts[index]:starts[index + 1]]
        weight += np.bincount(at, weights=quantity, minlength=n)
        direct += np.bincount(at, weights=cost, minlength=n)
    first_link = len(inflow)
    pool = np.concatenate([node[starts[first_link + 2 * k]:starts[first_link + 2 * k + 1]] for k in range(len(links))])
    source = np.concatenate([node[starts[first_link + 2 * k + 1]:starts[first_link + 2 * k + 2]]
                             for k in range(len(links))])
    share = np.concatenate([np.asarray(c, dtype=float) for *_, c in links])
    filled = weight > 0
    share = np.where(filled[pool], share / np.where(filled, weight, 1.0)[pool], 0.0)
    base = np.where(filled, direct / np.where(filled, weight, 1.0), 0.0)
    cost = base.copy()
    for _ in range(n + 1):
        updated = base + np.bincount(pool, weights=share * cost[source], minlength=n)
        done = np.abs(updated - cost).max(initial=0.0) <= 1e-12 * max(1.0, np.abs(updated).max(initial=0.0))
        cost = updated
        if done:
            break
    origin = node[starts[first_link + 1]:starts[first_link + 1] + len(flows)]  # the first link: the flows
    paid = np.where(filled[origin], cost[origin], np.nan)
    # a flow out of a pool nothing entered (the solver's round-off): the rules' valuation
    return np.where(np.isnan(paid), flows["supply_unit_cost"].to_numpy(dtype=float), paid)


def _triple_codes(triples: list[tuple]) -> np.ndarray:
    """One int64 code per row of every (site, item, period) triple of columns in ``triples``, concatenated in
    order: equal triples, equal codes. Each position (sites, items, periods) is one code space, factorized over
    its distinct column objects once each: the flows' columns, which appear in several triples, are hashed once
    (a quarter of the time of factorizing every triple's text)."""
    codes = []
    for position in range(3):
        distinct: dict[int, Any] = {}
        for triple in triples:
            distinct.setdefault(id(triple[position]), triple[position])
        values = pd.concat([pd.Series(np.asarray(c, dtype=object)) for c in distinct.values()], ignore_index=True)
        code, uniques = pd.factorize(values)
        starts = np.cumsum([0, *(len(c) for c in distinct.values())])
        of = {key: code[starts[k]:starts[k + 1]] for k, key in enumerate(distinct)}
        codes.append((np.concatenate([of[id(triple[position])] for triple in triples]), max(len(uniques), 1)))
    (site, _), (item, n_items), (period, n_periods) = codes
    return (site.astype(np.int64) * n_items + item) * n_periods + period


def _option_unit_costs(formulation: Formulation) -> np.ndarray | None:
    """The unit cost of each option_production column (its option's in that period)."""
    family = formulation.families.get("option_production")
    if family is None:
        return None
    terms = formulation.option_periods.set_index(["option", "period"])["unit_cost"]
    return terms.reindex(pd.MultiIndex.from_frame(family.keys[["option", "period"]])).to_numpy(dtype=float)


def emissions_by_period(formulation: Formulation, values: np.ndarray) -> pd.Series:
    """The plan's emissions in each period: production x its co2_per_unit (Supply and investment options)
    plus flow x the lane's co2_per_unit."""
    periods = list(formulation.network.periods)
    total = np.zeros(len(periods))
    flows = formulation.flows
    if len(flows):
        where = formulation.period_index("flow")
        total += np.bincount(where, weights=flows["co2"].to_numpy(dtype=float)
                             * formulation.family_values(values, "flow"), minlength=len(periods))
    for name, co2 in _production_co2(formulation).items():
        total += np.bincount(formulation.period_index(name),
                             weights=co2 * formulation.family_values(values, name), minlength=len(periods))
    total = np.where(np.abs(total) > 1e-9, total, 0.0)
    return pd.Series(total, index=periods, name="emissions")


def _production_co2(formulation: Formulation) -> dict[str, np.ndarray]:
    """co2_per_unit of each production column, by family (Supply production, investment options)."""
    out = {"production": formulation.production["co2_per_unit"].to_numpy(dtype=float)}
    family = formulation.families.get("option_production")
    if family is not None:
        terms = formulation.option_periods.set_index(["option", "period"])["co2_per_unit"]
        out["option_production"] = terms.reindex(pd.MultiIndex.from_frame(
            family.keys[["option", "period"]])).to_numpy(dtype=float)
    return out


def _flow_parts(formulation: Formulation, values: np.ndarray) -> dict[str, np.ndarray]:
    """Each flow's nominal cost per cost part paid per unit of flow (``optimizer.costs``) in the plan."""
    flows = formulation.flows
    x = formulation.family_values(values, "flow")
    return {part.name: part.per_flow(flows) * x for part in PARTS.values() if part.per_flow is not None}


def cost_breakdown(formulation: Formulation, values: np.ndarray) -> dict[str, float]:
    """The objective split into its parts (they add up to the objective), each discounted: every nominal
    cost of the formulation's ledger goes to its part; a flow's cost splits into the parts paid per unit of
    flow (transport, tariffs, credits, carbon)."""
    discount = formulation.flow_discount if formulation.flow_discount is not None \
        else np.ones(len(formulation.flows))
    parts = dict.fromkeys(COST_PARTS, 0.0)
    for part, cost in _flow_parts(formulation, values).items():
        parts[part] += float(discount @ cost)
    factor = np.asarray(formulation.network.discount, dtype=float)
    for name, column, period, part, nominal in formulation.ledger:
        parts[part] += float((factor[period] * nominal) @ formulation.family_values(values, name)[column])
    # A decision the solver leaves at -1e-17 is no cost: show 0, never -0.00.
    return {part: value if abs(value) > 1e-9 else 0.0 for part, value in parts.items()}


def costs_by_period(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """The Costs by period sheet: each cost part per period (nominal), the nominal total, the period's
    discount factor and the discounted total."""
    network = formulation.network
    periods = list(network.periods)
    table = pd.DataFrame(0.0, index=range(len(periods)), columns=list(COST_PARTS))
    if len(formulation.flows):
        index = formulation.period_index("flow")
        for part, cost in _flow_parts(formulation, values).items():
            table[part] += np.bincount(index, weights=cost, minlength=len(periods))
    for name, column, period, part, nominal in formulation.ledger:
        cost = nominal * formulation.family_values(values, name)[column]
        table[part] += np.bincount(period, weights=cost, minlength=len(periods))
    table = table.where(table.abs() > 1e-12, 0.0)
    table.insert(0, "period", periods)
    table["nominal_total"] = table[list(COST_PARTS)].sum(axis=1)
    table["discount_factor"] = list(network.discount)
    table["discounted_total"] = table["nominal_total"] * table["discount_factor"]
    return table


def utilization_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """Every supply option (used or not) and every capacitated lane: used vs capacity."""
    network = formulation.network
    supply = formulation.production
    frames = []
    if len(supply):
        frames.append(pd.DataFrame({
            "resource": "supply", "site": supply["site"], "destination": "", "item": supply["item"],
            "period": supply["period"], "used": formulation.family_values(values, "production"),
            "capacity": supply["capacity"], "source": "Supply row " + supply["row"].astype(str),
            "co2": formulation.family_values(values, "production") * supply["co2_per_unit"].to_numpy(dtype=float),
        }))
    options = formulation.blocks.get("option_capacity")
    if options is not None:  # production on an option against the capacity it has available then
        rows = options.rows
        produced = np.bincount(options.row, weights=values[options.var] * (options.coef > 0), minlength=len(rows))
        available = -np.bincount(options.row, weights=values[options.var] * np.minimum(options.coef, 0.0),
                                 minlength=len(rows))
        frames.append(pd.DataFrame({
            "resource": "option", "site": rows["site"], "destination": rows["option"], "item": rows["item"],
            "period": rows["period"], "used": produced, "capacity": np.where(available > 1e-9, available, 0.0),
            "source": "Investments row " + rows["sheet_row"].astype(str),
            "co2": produced * formulation.option_periods.set_index(["option", "period"])["co2_per_unit"].reindex(
                pd.MultiIndex.from_frame(rows[["option", "period"]])).to_numpy(dtype=float),
        }))
    for name, item_label in (("lane_capacity", None), ("lane_pair_capacity", "(all items)")):
        block = formulation.blocks.get(name)
        if block is None:
            continue
        used = np.bincount(block.row, weights=values[block.var] * block.coef, minlength=len(block))
        rows = block.rows
        # Lanes carrying nothing are left out: large networks have tens of thousands of them.
        keep = used > FLOW_TOLERANCE
        used, rows = used[keep], rows[keep]
        frames.append(pd.DataFrame({
            "resource": "lane", "site": rows["origin"], "destination": rows["destination"],
            "item": rows["item"] if item_label is None else item_label, "period": rows["period"],
            "used": used, "capacity": rows["rhs"],
            "source": "Lanes row " + rows["sheet_row"].astype(str),
        }))
    if not frames:
        return pd.DataFrame(columns=["resource", "site", "destination", "item", "period", "used",
                                     "capacity", "utilization", "at_capacity", "co2", "source"])
    out = pd.concat(frames, ignore_index=True)
    out["used"] = out["used"].where(out["used"].abs() > FLOW_TOLERANCE, 0.0)
    cap = out["capacity"].astype(float)
    out["utilization"] = np.where(cap > 0, out["used"] / cap.where(cap > 0, 1.0), np.nan)
    # a resource with no capacity (an option not built, a Supply row of capacity 0) is not at capacity
    out["at_capacity"] = (cap > 0) & (out["used"] >= cap - 1e-7 * np.maximum(1.0, cap.fillna(0)))
    order = {p: i for i, p in enumerate(network.periods)}
    out = out.assign(_p=out["period"].map(order)).sort_values(
        ["resource", "_p", "item", "site", "destination"], kind="stable").drop(columns="_p")
    out["co2"] = out["co2"].where(out["co2"].abs() > 1e-9, 0.0) if "co2" in out else np.nan
    return out[["resource", "site", "destination", "item", "period", "used", "capacity",
                "utilization", "at_capacity", "co2", "source"]].reset_index(drop=True)


def compliance_report(formulation: Formulation, output: SolverOutput) -> pd.DataFrame:
    """For every rule and period (and destination, for scope each_destination): what the rule measures
    in the plan against its bound, each rule type reporting its own rows (``RuleType.compliance``), with
    the one-sided marginal cost of its bound (``optimizer.marginals``: ``inf`` at the limit, blank where
    the plan has no prices). ``rule_row`` keys each row to its rule's Policies row."""
    frames = []
    marginals = output.marginals or Marginals()
    for model in formulation.rules.values():  # in Policies-row order
        frame = model.type.compliance(formulation, model, output.values, output.duals)
        if frame is not None and len(frame):
            column = model.type.marginal_column
            if column is not None and model.row in marginals.rows:
                frame[column] = [m.rate for m in marginals.rows[model.row]]
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*COMPLIANCE_COLUMNS, "rule_row"])
    return pd.concat(frames, ignore_index=True)


INVESTMENT_COLUMNS = ["option", "site", "item", "built", "build_period", "available_from", "capacity", "capex",
                      "life", "salvage", "fixed_cost", "unit_cost", "divisible", "lead_time", "value",
                      "break_even_capex", "source"]


def investment_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """One row per investment option: whether it is built (a fraction for a divisible option), in which
    period (a divisible option's first; ``fractions``: the fraction built in each period), from when it is
    available, and its terms (in its build period, or its earliest one) for the whole option: ``capex``, and for
    an option built with a ``life`` the ``salvage`` value credited in the last period for the whole option built
    then (capex x the share of its life left after the horizon; the fractions built scale both in the cost parts;
    blank when not built)."""
    options = formulation.option_periods
    if options is None or not len(options):
        return pd.DataFrame(columns=INVESTMENT_COLUMNS)
    periods = list(formulation.network.periods)
    options = options.assign(salvage=options["capex"].to_numpy(dtype=float)
                             * salvage_fractions(options, len(periods)))
    if "life" not in options:
        options = options.assign(life=np.nan)
    options["salvage"] = options["salvage"].where(options["life"].notna())
    build = formulation.families["build"]
    fraction = formulation.family_values(values, "build")
    fraction = np.where(fraction > 1e-9, fraction, 0.0)
    names = list(dict.fromkeys(options["option"]))  # in sheet order
    first_row = options.drop_duplicates("option").set_index("option")
    divisible = first_row["divisible"].reindex(names).to_numpy(dtype=bool)
    lead = first_row["lead_time"].reindex(names).to_numpy(dtype=int)
    of = pd.Index(names).get_indexer(build.keys["option"])
    at = formulation.period_index("build")
    total = np.bincount(of, weights=fraction, minlength=len(names))
    # The build period: a yes/no option's column above one half, a divisible option's first positive one.
    chosen = np.where(divisible[of], fraction > 1e-9, fraction > 0.5)
    first = np.full(len(names), len(periods))
    np.minimum.at(first, of[chosen], at[chosen])
    built_in = [periods[p] if p < len(periods) else None for p in first]
    terms_in = [p if p is not None else e for p, e in zip(built_in, first_row["earliest"].reindex(names), strict=True)]
    terms = options.set_index(["option", "period"]).loc[list(zip(names, terms_in, strict=True))].reset_index()
    available = [periods[p + lag] if p + lag < len(periods) else None for p, lag in zip(first, lead, strict=True)]
    fractions = {}
    for o, p, f in zip(of[chosen], at[chosen], fraction[chosen], strict=True):
        if divisible[o]:
            fractions.setdefault(o, {})[periods[p]] = float(f)
    return pd.DataFrame({
        "option": names, "site": terms["site"], "item": terms["item"],
        "built": [float(t) if d else bool(p is not None) for t, d, p in zip(total, divisible, built_in, strict=True)],
        "build_period": built_in, "available_from": available, "capacity": terms["capacity"],
        "capex": terms["capex"], "life": [None if pd.isna(v) else int(v) for v in terms["life"]],
        "salvage": terms["salvage"].where(pd.Series(built_in).notna().to_numpy()),
        "fixed_cost": terms["fixed_cost"], "unit_cost": terms["unit_cost"],
        "divisible": divisible, "lead_time": lead, "value": None, "break_even_capex": None,
        "source": "Investments row " + terms["row"].astype(str),
        "fractions": [fractions.get(i, {}) if d else None for i, d in enumerate(divisible)]})


def build_periods_text(row) -> str:
    """When an option of the Investments table is built: its build period, or for a divisible option built over
    several periods each one with its fraction (``2026 41%, 2027 12%``); empty when not built."""
    fractions = getattr(row, "fractions", None)
    if getattr(row, "divisible", False) and fractions and len(fractions) > 1:
        return ", ".join(f"{period} {fraction:.0%}" for period, fraction in fractions.items())
    period = getattr(row, "build_period", None)
    return "" if period is None or period != period else str(period)


UNMET_COLUMNS = ["site", "item", "period", "demand", "delivered", "unmet", "shortage_cost", "cost", "source"]


def unmet_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """Every Demand row with a shortage cost: its quantity, what was delivered, what was left unmet, the shortage
    cost per unit and in all (nominal, as it arises in its period)."""
    family = formulation.families.get("unmet")
    if family is None:
        return pd.DataFrame(columns=UNMET_COLUMNS)
    keys = family.keys
    unmet = formulation.family_values(values, "unmet")
    unmet = np.where(np.abs(unmet) > FLOW_TOLERANCE, unmet, 0.0)
    # one Demand row per (site, item, period): a blank-period row stands for one in every period
    rows = keys[["site", "item", "period"]].merge(formulation.network.demand, how="left")
    quantity = rows["quantity"].to_numpy(dtype=float)
    price = rows["shortage_cost"].to_numpy(dtype=float)
    return pd.DataFrame({"site": keys["site"], "item": keys["item"], "period": keys["period"], "demand": quantity,
                         "delivered": quantity - unmet, "unmet": unmet, "shortage_cost": price,
                         "cost": unmet * price, "source": "Demand row " + keys["row"].astype(str)})


INVENTORY_COLUMNS = ["site", "item", "period", "opening", "closing", "capacity", "holding_cost", "holding", "source"]


def inventory_report(formulation: Formulation, values: np.ndarray) -> pd.DataFrame:
    """Every stocking (site, item, period): stock at its start and end, capacity, holding cost."""
    family = formulation.families.get("stock")
    if family is None:
        return pd.DataFrame(columns=INVENTORY_COLUMNS)
    inventory = formulation.network.inventory.reset_index(drop=True)
    closing = formulation.family_values(values, "stock")
    closing = np.where(np.abs(closing) > FLOW_TOLERANCE, closing, 0.0)
    table = inventory[["site", "item", "period", "capacity", "holding_cost", "initial", "row"]].assign(closing=closing)
    first = table["period"] == formulation.network.periods[0]
    before = table.groupby(["site", "item"], sort=False)["closing"].shift(1)
    table["opening"] = np.where(first, table["initial"], before)
    table["holding"] = table["closing"] * table["holding_cost"]
    table["source"] = "Inventory row " + table["row"].astype(str)
    return table[INVENTORY_COLUMNS]


def build_result(formulation: Formulation, output: SolverOutput, stats: dict[str, Any],
                 tables: bool = True, costs_only: bool = False) -> SolveResult:
    """Assemble the business tables from the solver output. Without ``tables`` (a family member's cost), the
    Flows, Utilization and Inventory tables are left empty; costs, Compliance, investments and emissions are
    there. With ``costs_only`` (a plan evaluated only for its cost, as the robust evaluation's other plans) only
    the cost parts, the total and the demand left unmet are: the other tables are empty and the nominal total
    None (they cost more than the solve on a small model)."""
    policy = formulation.policy.name
    network = formulation.network
    if output.has_plan:
        values = output.values
        costs = cost_breakdown(formulation, values)
        total = float(sum(costs.values()))
        tables = tables and not costs_only
        flows = flow_report(formulation, values) if tables else pd.DataFrame()
        utilization = utilization_report(formulation, values) if tables else pd.DataFrame()
        inventory = inventory_report(formulation, values) if tables else pd.DataFrame()
        unmet = unmet_report(formulation, values)
        if costs_only:
            compliance = by_period = investments = pd.DataFrame()
            nominal, emissions = None, pd.Series(dtype=float)
        else:
            compliance = compliance_report(formulation, output)
            by_period = costs_by_period(formulation, values)
            nominal = float(by_period["nominal_total"].sum())
            investments = investment_report(formulation, values)
            emissions = emissions_by_period(formulation, values)
    else:
        emissions = pd.Series(dtype=float)
        costs = {k: None for k in COST_PARTS}
        total = nominal = None
        flows = utilization = compliance = by_period = investments = inventory = unmet = pd.DataFrame()
    summary_rows = [
        ("Workbook", network.source or ""),
        ("Policy set", policy),
        *([("Scenario", network.scenario_name)] if network.scenario_name else []),
        ("Status", output.status),
        ("Solver", output.solver),
        ("Total cost", total),
        ("Nominal total cost", nominal),
    ]
    carbon = _has_carbon(formulation)
    summary_rows += [(part.summary, costs[part.name]) for part in parts_of(network, carbon)]
    if "unmet" in formulation.families and output.has_plan:
        summary_rows.append(("Demand left unmet", float(unmet["unmet"].sum())))
    if carbon and output.has_plan:
        summary_rows.append(("Emissions", float(emissions.sum())))
        summary_rows += [(f"Emissions in {period}", float(value)) for period, value in emissions.items()]
    summary_rows += [
        ("Total demand", float(network.demand["quantity"].sum())),
        ("Periods", ", ".join(network.periods)),
        ("Model", "MILP" if formulation.is_mip else "LP"),
        ("Proven optimal", "yes" if output.status == "optimal" else "no"),
    ]
    if formulation.is_mip:
        summary_rows += [("MIP gap", output.mip_gap), ("Best bound", output.best_bound)]
    summary_rows += [
        ("Variables", formulation.n_variables),
        ("Flow variables", formulation.n_flows),
        ("Constraints", formulation.n_constraints),
    ]
    if output.message:
        summary_rows.append(("Message", output.message))
    # What the workbook's reading warned about travels with the plan (a printout must show it too), and so does
    # what the plan itself suggests may be a mistake.
    plan_warnings = [*met_by_delivering_nothing(compliance, unmet), *mostly_unmet(network, unmet)] \
        if output.has_plan else []
    summary_rows += [("Warning", warning) for warning in (*network.warnings, *plan_warnings)]
    summary = pd.DataFrame(summary_rows, columns=["field", "value"])
    return SolveResult(status=output.status, policy=policy, scenario=network.scenario_name, solver=output.solver,
                       total_cost=total,
                       costs=costs, flows=flows, utilization=utilization, compliance=compliance,
                       summary=summary, message=output.message, stats=stats, nominal_total=nominal,
                       investments=investments, inventory=inventory, costs_by_period=by_period,
                       emissions=emissions, unmet=unmet, marginals=(output.marginals or Marginals()) if output.has_plan
                       else Marginals(), plan_warnings=plan_warnings, formulation=formulation, output=output)


#: From this share of all demand left unmet, the plan says so as a warning: more likely a mistake than a choice.
MOSTLY_UNMET = 0.5


def mostly_unmet(network, unmet: pd.DataFrame) -> list[str]:
    """A warning when the plan leaves at least half of all demand unmet (summed over Demand rows): the shortage
    costs made not delivering the cheapest plan, which a unit off by 1,000 (a BOM quantity, a capacity, a cost),
    a shortage cost too low or a rule no supplier can meet does as silently as a real shortage."""
    if not len(unmet):
        return []
    total, left = float(network.demand["quantity"].sum()), float(unmet["unmet"].sum())
    if total <= 0 or left < MOSTLY_UNMET * total:
        return []
    return [f"the plan leaves {left / total:.0%} of all demand unmet ({left:,.6g} of {total:,.6g}, summed over the "
            "Demand rows): not delivering is its cheapest choice; if that is not meant, check the units (a BOM "
            "quantity, a capacity or a cost off by 1,000), the shortage costs and the rules"]


def met_by_delivering_nothing(compliance: pd.DataFrame, unmet: pd.DataFrame) -> list[str]:
    """In a plan that leaves demand unmet: each share rule met in some period only because nothing flows where it
    applies (a share of nothing meets any bound). Such a rule reads "met, not binding" on the Compliance sheet,
    yet may be why the demand goes unmet (a rule that no supplier can meet, from and to swapped, a minimum above a
    maximum), which only a comparison with baseline would show otherwise. One warning per Policies row."""
    if not len(compliance) or not len(unmet) or not (unmet["unmet"] > FLOW_TOLERANCE).any():
        return []
    short = set(unmet.loc[unmet["unmet"] > FLOW_TOLERANCE, "period"].astype(str))
    checks = compliance[is_check(compliance) & compliance["from_flow"].notna()]
    empty = checks[(checks["total_flow"].fillna(0.0).abs() <= FLOW_TOLERANCE)
                   & (checks["period"].astype(str).isin(short) | (checks["period"].astype(str) == "all")
                      | ("all" in short))]
    warnings = []
    for source, rows in empty.groupby("source", sort=False):
        first = rows.iloc[0]
        text = " ".join(str(v) for v in (first["rule"], first["items"]) if isinstance(v, str) and v)
        text += "".join(f" {word} {first[column]}" for word, column in (("from", "from"), ("into", "to"))
                        if isinstance(first[column], str) and first[column] and not first[column].startswith("("))
        periods = [p for p in dict.fromkeys(rows["period"].astype(str)) if p != "all"]  # "all": the one period
        when = f" in {', '.join(periods)}" if periods else ""
        warnings.append(f"{source} ({first['policy']}, {text}) is met{when} only because nothing is delivered "
                        "where it applies, while demand goes unmet: the rule may be why (it reads 'met, not binding'; "
                        "sourcing compare prices the policy set against baseline)")
    return warnings


def gives_emissions(network) -> bool:
    """Whether the workbook gives any emissions: a non-zero co2_per_unit on Supply, Lanes or Investments."""
    return bool(any(len(t) and (t["co2_per_unit"].fillna(0) != 0).any()
                    for t in (network.supply, network.lanes, network.investments)))


def _has_carbon(formulation: Formulation) -> bool:
    """Whether the workbook gives any emissions or the policy set has a carbon rule."""
    return gives_emissions(formulation.network) or any(m.type.carbon for m in formulation.rules.values())


def builds_text(builds: list[dict[str, Any]]) -> str:
    """``AESC_Florence_restart 2026; PowerCo_StThomas_phase2 2028 (40%)``, or ``none``."""
    return "; ".join(f"{b['option']} {b['period']}" + (f" ({b['fraction']:.0%})" if "fraction" in b else "")
                     for b in builds) or "none"


def decision_change(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> str:
    """What changes in the build decisions from one point of a sweep or frontier to the next, as the table says
    it (empty when nothing changes or there is no point before): its cost step is not what the marginal cost
    of the point before predicts. A divisible option's fractions count as changed from a whole percent."""

    def by_option(builds: list[dict[str, Any]]) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        for b in builds:
            out.setdefault(b["option"], []).append(
                f"{b['period']}" + (f" ({b['fraction']:.0%})" if "fraction" in b else ""))
        return {option: ", ".join(periods) for option, periods in out.items()}

    if before is None:
        return ""
    old, new = by_option(before), by_option(after)
    changes = []
    for option in dict.fromkeys([*old, *new]):
        was, now = old.get(option), new.get(option)
        if was == now:
            continue
        if now is None:
            changes.append(f"{option} no longer built")
        elif was is None:
            changes.append(f"{option} built in {now}")
        else:
            changes.append(f"{option} built in {now} instead of {was}")
    return "a build decision changes here: " + "; ".join(changes) if changes else ""


def unmet_total(result: SolveResult) -> float:
    """The demand a plan leaves unmet, summed over its Demand rows (whatever their units, as the Summary's "Demand
    left unmet"): 0 when it serves all, NaN without a plan."""
    if not result.has_plan:
        return math.nan
    return float(result.unmet["unmet"].sum()) if len(result.unmet) else 0.0


def unmet_text(result: SolveResult, network) -> str:
    """The demand a plan leaves unmet, per item with its unit (``1.5 GWh cells; 3 kt cam``), or empty when it
    serves all (soft demand, ``Demand.shortage_cost``)."""
    if not result.has_plan or not len(result.unmet):
        return ""
    short = result.unmet[result.unmet["unmet"] > 0]
    if not len(short):
        return ""
    items = network.items
    by_item = short.groupby("item", sort=False)["unmet"].sum()
    return "; ".join(f"{q:,.6g}{' ' + items[i].unit if i in items and items[i].unit else ''} {i}"
                     for i, q in by_item.items())
