"""The residual checker: recompute a plan from its own tables and the contract, trusting no solver number.

From the plan's Flows, Utilization, Investments and Inventory tables and the validated network (the workbook
as read), it recomputes every balance row, capacity, minimum quantity, throughput, investment, rule, emission
and cost part, written from the documentation's contract (docs/reference/workbook.md) and not from the
formulation's code, and asserts that they hold and that the cost parts, the Summary, the emissions and the
Compliance sheet report them.
``tests/conftest.py`` runs it on every plan the suite solves in-process.

It works on whole columns: every name becomes an integer code once (sites, items, periods, options), a key of
several columns one int64, and lookups, joins and sums are numpy searches and bincounts; only the Policies rules
and the Tariffs rows, a handful each, are looped over. Its cost hardly depends on the plan's size (a few
milliseconds on the suite's small cases). A rule type without a check here fails the check
(:data:`RULE_CHECKS`), so a new rule type cannot pass unchecked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOL = 1e-6
ALL = "(all)"  # the destination of a scope-total rule's rows (and of a carbon rule's)
#: The cost parts this checker recomputes; a part the tool reports that is not here fails every plan.
RECOMPUTED_PARTS = {"supply", "transport", "tariffs", "credits", "carbon", "fixed", "capex", "salvage",
                    "investment_fixed", "holding", "shortage"}


def close(a, b, scale=1.0) -> np.ndarray:
    """|a - b| within TOL of the largest of 1, |a|, |b| and scale (element-wise; NaN is never close)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) <= TOL * np.maximum(np.maximum(1.0, scale), np.maximum(np.abs(a), np.abs(b)))


def key(*columns) -> np.ndarray:
    """One int64 per row from integer-coded columns, given as (codes, number of codes) pairs; a code of -1 (a
    blank) is a value of its own."""
    out = np.zeros(len(columns[0][0]), dtype=np.int64)
    for codes, size in columns:
        out = out * (size + 1) + (np.asarray(codes, dtype=np.int64) + 1)
    return out


def positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position in ``keys`` of the first row holding each wanted key; -1 where none does."""
    unique, first = np.unique(keys, return_index=True)
    at = np.searchsorted(unique, wanted)
    at = np.minimum(at, max(len(unique) - 1, 0))
    found = (unique[at] == wanted) if len(unique) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, first[at] if len(unique) else -1, -1)


def pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with left[i] == right[j] (a one-to-many join on keys), in the order of ``left``."""
    order = np.argsort(right, kind="stable")
    ordered = right[order]
    low, high = np.searchsorted(ordered, left, "left"), np.searchsorted(ordered, left, "right")
    counts = high - low
    i = np.repeat(np.arange(len(left)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return i, order[np.repeat(low, counts) + offsets]


def sums(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys (sorted) and the sum of ``values`` over each."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse.ravel(), weights=values, minlength=len(unique))


def at(unique: np.ndarray, totals: np.ndarray, wanted: np.ndarray, missing: float = 0.0) -> np.ndarray:
    """``totals`` (aligned with the sorted ``unique`` keys) at each wanted key; ``missing`` where absent."""
    where = positions(unique, wanted)
    return np.where(where >= 0, totals[np.maximum(where, 0)] if len(totals) else missing, missing)


def floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float) if column in frame.columns else np.full(len(frame), np.nan)


def require(ok, message: str, **columns) -> None:
    """Raise AssertionError with ``message`` formatted from the first row where ``ok`` is False (``columns``: the
    row's fields, as arrays or callables of the row's position)."""
    ok = np.asarray(ok, dtype=bool)
    if not ok.all():
        first = int(np.argmin(ok))
        raise AssertionError(message.format(**{name: value(first) if callable(value) else np.asarray(value)[first]
                                               for name, value in columns.items()}))


class PlanCheck:
    """The plan of ``result`` against the contract; ``check()`` raises AssertionError naming what fails."""

    def __init__(self, result):
        self.result = result
        network = self.network = result.formulation.network
        self.policy = result.formulation.policy
        self.periods = list(network.periods)
        self.site_names = pd.Index([*network.sites, ALL])
        self.item_names = pd.Index(list(network.items))
        self.period_names = pd.Index(self.periods)
        terms = network.investments
        self.option_names = pd.Index(pd.unique(terms["option"]) if len(terms) else [])
        self.n_sites, self.n_items, self.n_periods = len(self.site_names), len(self.item_names), len(self.periods)
        self.discount = np.asarray(network.discount, dtype=float)

        flows = result.flows
        self.flows = {"origin": self.site(flows["origin"]), "destination": self.site(flows["destination"]),
                      "item": self.item(flows["item"]), "period": self.period(flows["period"]),
                      "quantity": floats(flows, "quantity")}
        supply = network.supply
        self.supply = {"site": self.site(supply["site"]), "item": self.item(supply["item"]),
                       "period": self.period(supply["period"]), **{c: floats(supply, c) for c in (
                           "unit_cost", "capacity", "fixed_cost", "min_quantity", "co2_per_unit")}}
        self.supply["key"] = self.sip(self.supply)
        use = result.utilization
        on_supply, on_options = use[use["resource"] == "supply"], use[use["resource"] == "option"]
        produced = {"site": self.site(on_supply["site"]), "item": self.item(on_supply["item"]),
                    "period": self.period(on_supply["period"]), "used": floats(on_supply, "used")}
        where = positions(self.supply["key"], self.sip(produced))
        require(where >= 0, "production of {item} at {site} in {period} has no Supply row",
                item=on_supply["item"].to_numpy(), site=on_supply["site"].to_numpy(),
                period=on_supply["period"].to_numpy())
        self.produced = {**{c: v[where] for c, v in self.supply.items()}, "used": produced["used"]}
        # Investment options: the terms of every (option, period), and what each option makes per period.
        self.terms = {"option": self.option(terms["option"]), "site": self.site(terms["site"]),
                      "item": self.item(terms["item"]), "period": self.period(terms["period"]),
                      "earliest": self.period(terms["earliest"]), "latest": self.period(terms["latest"]),
                      "row": terms["row"].to_numpy(dtype=np.int64) if len(terms) else np.zeros(0, dtype=np.int64),
                      **{c: floats(terms, c) for c in ("capacity", "capex", "fixed_cost", "unit_cost", "lead_time",
                                                        "life", "co2_per_unit")}}
        self.terms["key"] = key((self.terms["option"], len(self.option_names)), (self.terms["period"], self.n_periods))
        option, period = self.option(on_options["destination"]), self.period(on_options["period"])
        where = positions(self.terms["key"], key((option, len(self.option_names)), (period, self.n_periods)))
        require(where >= 0, "option {option} produces in {period}, which its Investments rows do not cover",
                option=on_options["destination"].to_numpy(), period=on_options["period"].to_numpy())
        self.option_output = {**{c: v[where] for c, v in self.terms.items()}, "used": floats(on_options, "used"),
                              "terms": where}
        stock = result.inventory
        stock = stock if len(stock) else pd.DataFrame(columns=["site", "item", "period"])
        self.stock = {"site": self.site(stock["site"]), "item": self.item(stock["item"]),
                      "period": self.period(stock["period"]),
                      **{c: floats(stock, c) for c in ("opening", "closing", "capacity", "holding_cost")}}
        self.scale = float(max(1.0, *(np.abs(q).max(initial=0.0) for q in (
            self.flows["quantity"], self.produced["used"], self.option_output["used"]))))

    # ------------------------------------------------------------------ codes
    def codes(self, names: pd.Index, values, what: str) -> np.ndarray:
        values = np.asarray(values, dtype=object)
        codes = names.get_indexer(values) if len(values) else np.zeros(0, dtype=np.int64)
        blank = pd.isna(values)
        require(blank | (codes >= 0), f"unknown {what} {{name!r}}", name=values)
        return np.where(blank, -1, codes).astype(np.int64)

    def site(self, values) -> np.ndarray:
        return self.codes(self.site_names, values, "site")

    def item(self, values) -> np.ndarray:
        return self.codes(self.item_names, values, "item")

    def period(self, values) -> np.ndarray:
        return self.codes(self.period_names, values, "period")

    def option(self, values) -> np.ndarray:
        return self.codes(self.option_names, values, "option")

    def sip(self, table: dict, site="site", item="item") -> np.ndarray:
        """The (site, item, period) key of a coded table's rows."""
        return key((table[site], self.n_sites), (table[item], self.n_items), (table["period"], self.n_periods))

    def named(self, site: int, item: int, period: int) -> str:
        return f"({self.site_names[site]}, {self.item_names[item]}, {self.periods[period]})"

    def unsip(self, k: int) -> str:
        """The names of a (site, item, period) key."""
        k, period = divmod(int(k), self.n_periods + 1)
        site, item = divmod(k, self.n_items + 1)
        return self.named(site - 1, item - 1, period - 1)

    def isin(self, codes: np.ndarray, names, vocabulary: pd.Index) -> np.ndarray:
        wanted = vocabulary.get_indexer(list(names)) if len(names) else np.zeros(0, dtype=np.int64)
        return np.isin(codes, wanted[wanted >= 0])

    def covered(self, rule) -> np.ndarray:
        """The period codes a rule covers."""
        return self.period_names.get_indexer(rule.periods(self.periods))

    def in_periods(self, rule, periods: np.ndarray) -> np.ndarray:
        return np.isin(periods, self.covered(rule))

    def matches(self, rule, table: dict, origin: str = "origin") -> np.ndarray:
        """Rows of a coded table of the rule's items from its `from` sites into its `to` sites, in its periods."""
        return (self.isin(table["item"], rule.items, self.item_names)
                & self.isin(table[origin], rule.from_sites, self.site_names)
                & self.isin(table["destination"], rule.to_sites, self.site_names)
                & self.in_periods(rule, table["period"]))

    # ------------------------------------------------------------------ the contract, recomputed
    def recipes(self, made: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The BOM rows of each row of ``made`` (site, item): the site's own rows, else the item's blank-site
        rows. Returns (row of ``made``, input item, quantity per unit made)."""
        bom = self.network.bom
        if not len(bom) or not len(made["item"]):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        bom_site, bom_item = self.site(bom["site"]), self.item(bom["item"])
        bom_input, bom_quantity = self.item(bom["input"]), floats(bom, "quantity")
        own = bom_site >= 0
        site_item = key((made["site"], self.n_sites), (made["item"], self.n_items))
        bom_site_item = key((bom_site, self.n_sites), (bom_item, self.n_items))
        has_own = np.isin(site_item, bom_site_item[own])
        rows, matched = pairs(site_item, np.where(own, bom_site_item, -1))
        generic_rows, generic = pairs(np.where(has_own, -2, made["item"]), np.where(own, -3, bom_item))
        rows, matched = np.concatenate([rows, generic_rows]), np.concatenate([matched, generic])
        return rows, bom_input[matched], bom_quantity[matched]

    def standard_costs(self) -> None:
        """Standard cost of every Supply option and the plain mean per (item, period) (``self.standard``,
        ``self.mean``); then the value of goods made on an investment option where its site has no Supply row:
        the first Investments row's unit cost (sheet order) plus the inputs."""
        supply, groups = self.supply, self.n_items * self.n_periods
        group = supply["item"] * self.n_periods + supply["period"]
        count = np.bincount(group, minlength=groups)
        rows, inputs, quantity = self.recipes(supply)

        def with_inputs(unit, rows, inputs, quantity, period, mean) -> np.ndarray:
            worth = quantity * mean[inputs * self.n_periods + period[rows]]
            return unit + np.bincount(rows, weights=worth, minlength=len(unit))

        standard, mean = supply["unit_cost"], np.zeros(groups)
        for _ in range(self.n_items + 1):  # as many rounds as a BOM can have tiers, and one more
            mean = np.bincount(group, weights=standard, minlength=groups) / np.maximum(count, 1)
            standard = with_inputs(supply["unit_cost"], rows, inputs, quantity, supply["period"], mean)
        terms = self.terms
        in_order = np.argsort(terms["row"], kind="stable")
        candidate = in_order[~np.isnan(terms["unit_cost"][in_order])]
        term_keys = self.sip(terms)[candidate]
        first = candidate[np.unique(term_keys, return_index=True)[1]]
        first = first[~np.isin(self.sip(terms)[first], supply["key"])]
        chosen = {c: v[first] for c, v in terms.items()}
        on_options = with_inputs(chosen["unit_cost"], *self.recipes(chosen), chosen["period"], mean)
        self.standard_keys = np.concatenate([supply["key"], self.sip(chosen)])
        self.standard = np.concatenate([standard, on_options])
        self.mean, self.has_mean = mean, count > 0

    def value(self, sites, items, periods) -> np.ndarray:
        """The value of goods (a tariff's base, a value-basis share's weight): the standard cost of the site's
        option, else the item's mean in the period, else 0."""
        where = positions(self.standard_keys, key((sites, self.n_sites), (items, self.n_items),
                                                  (periods, self.n_periods)))
        group = items * self.n_periods + periods
        mean = np.where(self.has_mean[group], self.mean[group], 0.0)
        return np.where(where >= 0, self.standard[np.maximum(where, 0)] if len(self.standard) else 0.0, mean)

    def built(self) -> dict:
        """Every (option, build period, fraction built then), from the Investments table of the plan."""
        plan = self.result.investments
        if not len(plan):
            return {"option": np.zeros(0, dtype=np.int64), "period": np.zeros(0, dtype=np.int64),
                    "fraction": np.zeros(0)}
        divisible = plan["divisible"].to_numpy(dtype=bool)
        whole = plan[~divisible & plan["built"].to_numpy(dtype=bool)]
        parts = [(o, p, f) for o, fractions in zip(plan["option"][divisible], plan["fractions"][divisible],
                                                   strict=True) for p, f in (fractions or {}).items()]
        options = [*whole["option"], *(o for o, _, _ in parts)]
        periods = [*whole["build_period"], *(p for _, p, _ in parts)]
        return {"option": self.option(options), "period": self.period(periods),
                "fraction": np.array([1.0] * len(whole) + [f for *_, f in parts], dtype=float)}

    def salvage(self) -> np.ndarray:
        """Per Investments terms row (option, build period): the salvage value of the option built whole then,
        capex x (life - periods in use) / life, at least 0, the periods in use running from its availability
        (lead_time later) to the last period; 0 without a life."""
        terms = self.terms
        in_use = np.maximum(0, self.n_periods - (terms["period"] + terms["lead_time"]))
        life = terms["life"]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.maximum(0.0, life - in_use) / life
        return np.where(np.isnan(life), 0.0, terms["capex"] * share)

    def availability(self) -> np.ndarray:
        """Per Investments terms row (option, period): the fraction of the option available then, built at least
        lead_time periods before (the lead time of that period's terms)."""
        terms, built = self.terms, self.built_fractions
        row, build = pairs(terms["option"], built["option"])
        ready = built["period"][build] + terms["lead_time"][row] <= terms["period"][row]
        return np.bincount(row[ready], weights=built["fraction"][build][ready], minlength=len(terms["option"]))

    def lanes(self) -> None:
        """Per flow: its Lanes row's unit_cost and co2_per_unit (blank: 0, an item row's blank too): the item's own
        row, else the blank-item row of the pair (in the flow's period where a scenario changed a lane in one
        period)."""
        lanes, flows = self.network.lanes, self.flows
        has_period = "period" in lanes.columns
        origin, destination = self.site(lanes["origin"]), self.site(lanes["destination"])
        item = self.item(lanes["item"])
        period = self.period(lanes["period"]) if has_period else np.full(len(lanes), -1)
        flow_period = flows["period"] if has_period else np.full(len(flows["period"]), -1)

        def lane_key(o, d, i, p):
            return key((o, self.n_sites), (d, self.n_sites), (i, self.n_items), (p, self.n_periods))

        own = positions(np.where(item >= 0, lane_key(origin, destination, item, period), -1),
                        lane_key(flows["origin"], flows["destination"], flows["item"], flow_period))
        blank = positions(np.where(item < 0, lane_key(origin, destination, item, period), -1),
                          lane_key(flows["origin"], flows["destination"], np.full(len(own), -1), flow_period))
        require((own >= 0) | (blank >= 0), "no lane {origin} -> {destination} for {item}",
                origin=lambda i: self.site_names[flows["origin"][i]],
                destination=lambda i: self.site_names[flows["destination"][i]],
                item=lambda i: self.item_names[flows["item"][i]])
        row = np.where(own >= 0, own, blank)
        self.flow_cost = floats(lanes, "unit_cost")[row] if len(row) else np.zeros(0)
        self.flow_co2 = np.nan_to_num(floats(lanes, "co2_per_unit")[row]) if len(row) else np.zeros(0)

    def option_terms(self) -> None:
        """Per row of option output: its unit cost and emissions per unit (blank: the site's Supply value for the
        item then; emissions 0 without one)."""
        out = self.option_output
        where = positions(self.supply["key"], self.sip(out))
        supplied = where >= 0
        supply_cost = np.where(supplied, self.supply["unit_cost"][np.maximum(where, 0)], np.nan) \
            if len(self.supply["key"]) else np.full(len(where), np.nan)
        supply_co2 = np.where(supplied, self.supply["co2_per_unit"][np.maximum(where, 0)], np.nan) \
            if len(self.supply["key"]) else np.full(len(where), np.nan)
        blank_cost = np.isnan(out["unit_cost"])
        require(~blank_cost | supplied, "option {option} has no unit_cost in {period} and its site no Supply row",
                option=lambda i: self.option_names[out["option"][i]], period=lambda i: self.periods[out["period"][i]])
        self.option_cost = np.where(blank_cost, supply_cost, out["unit_cost"])
        self.option_co2 = np.where(np.isnan(out["co2_per_unit"]), np.nan_to_num(supply_co2), out["co2_per_unit"])

    def emitting(self) -> dict:
        """Every activity of the plan with its emissions: period, item, site (made at or shipped from),
        destination (-1 for production), emissions."""
        produced, options, flows = self.produced, self.option_output, self.flows
        return {
            "period": np.concatenate([produced["period"], options["period"], flows["period"]]),
            "item": np.concatenate([produced["item"], options["item"], flows["item"]]),
            "origin": np.concatenate([produced["site"], options["site"], flows["origin"]]),
            "destination": np.concatenate([np.full(len(produced["used"]) + len(options["used"]), -1),
                                           flows["destination"]]),
            "emissions": np.concatenate([produced["used"] * np.nan_to_num(produced["co2_per_unit"]),
                                         options["used"] * self.option_co2, flows["quantity"] * self.flow_co2]),
        }

    def carbon_matching(self, rule) -> np.ndarray:
        """A carbon rule's matching emissions per covered period (aligned with ``covered(rule)``): production of
        its items at `from` sites, and flows of its items from `from` sites into `to` sites."""
        e = self.emissions
        mask = (self.in_periods(rule, e["period"]) & self.isin(e["item"], rule.items, self.item_names)
                & self.isin(e["origin"], rule.from_sites, self.site_names)
                & ((e["destination"] < 0) | self.isin(e["destination"], rule.to_sites, self.site_names)))
        by_period = np.bincount(e["period"][mask], weights=e["emissions"][mask], minlength=self.n_periods)
        return by_period[self.covered(rule)]

    def co2_cap(self, rule) -> np.ndarray:
        """The cap per covered period: the value, or (basis per_unit) the value per unit of matching demand."""
        covered = self.covered(rule)
        if rule.basis != "per_unit":
            return np.full(len(covered), float(rule.value))
        demand = self.demand
        mask = (self.isin(demand["item"], rule.items, self.item_names)
                & self.isin(demand["site"], rule.to_sites, self.site_names))
        return float(rule.value) * np.bincount(demand["period"][mask], weights=demand["quantity"][mask],
                                               minlength=self.n_periods)[covered]

    def tariff_rate(self) -> np.ndarray:
        """Per flow: the Tariffs rows' rates and the policy set's tariff rules, summed."""
        flows, rate = self.flows, np.zeros(len(self.flows["quantity"]))
        for t in self.network.tariffs:
            rate += t.rate * (self.isin(flows["origin"], t.origins, self.site_names)
                              & self.isin(flows["destination"], t.destinations, self.site_names)
                              & self.isin(flows["item"], t.items, self.item_names)
                              & (t.period is None or flows["period"] == self.period_names.get_loc(t.period)))
        for rule in self.policy.rules:
            if rule.type == "tariff":
                rate += float(rule.value) * self.matches(rule, flows)
        return rate

    def credit(self) -> np.ndarray:
        """Per flow: the policy set's credit rules per unit, summed."""
        credit = np.zeros(len(self.flows["quantity"]))
        for rule in self.policy.rules:
            if rule.type == "credit":
                credit += float(rule.value) * self.matches(rule, self.flows)
        return credit

    def share_key(self, rule_rows, periods, destinations) -> np.ndarray:
        return key((np.asarray(rule_rows), 1 << 20), (periods, self.n_periods), (destinations, self.n_sites))

    def share_rows(self) -> dict:
        """Every share rule's rows, keyed by (Policies row, period, destination): selected (its `from` flow) and
        total flow, weighted by the rule's basis; every covered period has a row under scope total."""
        flows, everywhere = self.flows, self.site_names.get_loc(ALL)
        parts = {"rule_row": [], "period": [], "destination": [], "selected": [], "total": []}
        for rule in (r for r in self.policy.rules if RULE_CHECKS.get(r.type) == "shares"):
            mask = (self.isin(flows["item"], rule.items, self.item_names)
                    & self.isin(flows["destination"], rule.to_sites, self.site_names)
                    & self.in_periods(rule, flows["period"]))
            weighted = flows["quantity"][mask] * (self.flow_value[mask] if rule.basis == "value" else 1.0)
            each = rule.scope == "each_destination"
            covered = np.zeros(0, dtype=np.int64) if each else self.covered(rule)
            parts["rule_row"].append(np.full(mask.sum() + len(covered), rule.row))
            parts["period"].append(np.concatenate([flows["period"][mask], covered]))
            parts["destination"].append(np.concatenate([flows["destination"][mask] if each
                                                        else np.full(mask.sum(), everywhere),
                                                        np.full(len(covered), everywhere)]))
            from_sites = self.isin(flows["origin"][mask], rule.from_sites, self.site_names)
            parts["selected"].append(np.concatenate([weighted * from_sites, np.zeros(len(covered))]))
            parts["total"].append(np.concatenate([weighted, np.zeros(len(covered))]))
        columns = {name: np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
                   for name, values in parts.items()}
        unique, inverse = np.unique(self.share_key(columns["rule_row"], columns["period"], columns["destination"]),
                                    return_inverse=True)
        first = np.unique(inverse.ravel(), return_index=True)[1] if len(inverse) else np.zeros(0, dtype=np.int64)
        return {"key": unique, **{name: columns[name][first] for name in ("rule_row", "period", "destination")},
                **{name: np.bincount(inverse.ravel(), weights=columns[name], minlength=len(unique))
                   for name in ("selected", "total")}}

    def holds(self, rule_rows, selected, total) -> np.ndarray:
        """Whether each row's share meets its rule (Policies row ``rule_rows``); a row without flow holds."""
        rules = {r.row: r for r in self.policy.rules}
        value = np.array([float(rules[r].value) for r in rule_rows])
        at_least = np.array([rules[r].type == "min_share" for r in rule_rows], dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = selected / total
        met = np.where(at_least, share >= value - 1e-6, share <= value + 1e-6)
        return (total <= TOL * self.scale) | met

    def flow_cost_per_unit(self) -> np.ndarray:
        """Per flow: its cost per unit beyond the goods: lane, tariffs on the goods' valuation, the carbon price of
        every co2_price rule matching it on its lane's emissions, less credits."""
        carbon = np.zeros(len(self.flows["quantity"]))
        for rule in self.policy.rules:
            if rule.type == "co2_price":
                carbon += float(rule.value) * self.flow_co2 * self.matches(rule, self.flows)
        return self.flow_cost + self.tariff_rate() * self.flow_value + carbon - self.credit()

    def paid_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """What a unit of each item cost in the plan where it is, by (site, item, period) key (sorted keys, costs):
        the average over what entered it of production at its unit cost plus the inputs consumed at their own cost
        there, flows in at their origin's cost plus their cost per unit, stock carried in at the previous period's
        cost, and the initial stock at the item's mean standard cost (docs/reference/outputs.md: Flows,
        supply_unit_cost)."""
        produced, options, flows, stock = self.produced, self.option_output, self.flows, self.stock
        made = {name: np.concatenate([produced[name], options[name]]) for name in ("site", "item", "period", "used")}
        carried = stock["period"] + 1 < self.n_periods
        initial = (stock["period"] == 0) & (stock["opening"] > 0)
        group = stock["item"][initial] * self.n_periods + stock["period"][initial]
        # what enters each pool: its key, the quantity, its own cost per unit
        pool = np.concatenate([self.sip(made), self.sip(flows, "destination"),
                               key((stock["site"][carried], self.n_sites), (stock["item"][carried], self.n_items),
                                   (stock["period"][carried] + 1, self.n_periods)), self.sip(stock)[initial]])
        quantity = np.concatenate([made["used"], flows["quantity"], stock["closing"][carried],
                                   stock["opening"][initial]])
        own = np.concatenate([produced["unit_cost"], self.option_cost, self.flow_cost_per_unit(),
                              np.zeros(carried.sum()), np.where(self.has_mean[group], self.mean[group], 0.0)])
        # and the pools each draws from, units per unit: the inputs made, the origin of a flow, last period's stock
        rows, inputs, per_unit = self.recipes(made)
        n_made, n_flows = len(made["used"]), len(flows["quantity"])
        drawer = np.concatenate([rows, n_made + np.arange(n_flows), n_made + n_flows + np.arange(carried.sum())])
        source = np.concatenate([
            key((made["site"][rows], self.n_sites), (inputs, self.n_items), (made["period"][rows], self.n_periods)),
            self.sip(flows, "origin"), self.sip(stock)[carried]])
        units = np.concatenate([per_unit, np.ones(n_flows + carried.sum())])
        pools, at = np.unique(pool, return_inverse=True)
        at = at.ravel()
        drawn_from = positions(pools, source)
        total = np.bincount(at, weights=np.maximum(quantity, 0.0), minlength=len(pools))
        cost = np.zeros(len(pools))
        for _ in range(len(pools) + 1):  # through every chain of pools; stops once nothing changes
            inputs_cost = np.bincount(drawer, weights=units * np.where(drawn_from >= 0, cost[drawn_from], 0.0),
                                      minlength=len(pool)) if len(pools) else np.zeros(len(pool))
            paid = np.bincount(at, weights=quantity * (own + inputs_cost), minlength=len(pools))
            with np.errstate(divide="ignore", invalid="ignore"):
                new = np.where(total > 0, paid / total, 0.0)
            if np.array_equal(new, cost):
                break
            cost = new
        return pools, cost

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        demand = self.network.demand
        self.demand = {"site": self.site(demand["site"]), "item": self.item(demand["item"]),
                       "period": self.period(demand["period"]), "quantity": floats(demand, "quantity"),
                       "shortage_cost": floats(demand, "shortage_cost")}
        self.demand["key"] = self.sip(self.demand)
        self.unmet = self.unmet_quantities()
        self.standard_costs()
        self.flow_value = self.value(self.flows["origin"], self.flows["item"], self.flows["period"])
        self.lanes()
        self.option_terms()
        self.emissions = self.emitting()
        self.shares = self.share_rows()
        self.built_fractions = self.built()
        self.available = self.availability()
        self.check_investments()
        self.check_unmet()
        self.check_balances()
        self.check_capacities()
        self.check_rules()
        self.check_costs()
        self.check_flow_costs()

    def check_flow_costs(self) -> None:
        """Each flow's goods at what they cost in the plan, at the rules' valuation, and its landed cost."""
        pools, paid = self.paid_costs()
        scale = max(1.0, np.abs(paid).max(initial=0.0))
        flows, table = self.flows, self.result.flows
        reported = {c: floats(table, c) for c in ("supply_unit_cost", "valuation_unit_cost", "landed_unit_cost")}
        where = {"origin": table["origin"].to_numpy(), "destination": table["destination"].to_numpy(),
                 "item": table["item"].to_numpy(), "period": table["period"].to_numpy()}
        flow = "flow {origin} -> {destination}, {item}, {period}: "
        require(close(reported["supply_unit_cost"], at(pools, paid, self.sip(flows, "origin"), missing=np.nan),
                      scale), flow + "goods' cost", **where)
        require(close(reported["valuation_unit_cost"], self.flow_value, scale), flow + "valuation", **where)
        landed = reported["supply_unit_cost"] + self.flow_cost_per_unit()
        require(close(reported["landed_unit_cost"], landed, scale), flow + "landed cost", **where)

    def unmet_quantities(self) -> np.ndarray:
        """What the plan's Shortage table reports left unmet of each Demand row (0 where it has no row)."""
        table = self.result.unmet
        if not len(table):
            return np.zeros(len(self.demand["quantity"]))
        reported = {"site": self.site(table["site"]), "item": self.item(table["item"]),
                    "period": self.period(table["period"])}
        where = positions(self.demand["key"], self.sip(reported))
        require(where >= 0, "unmet demand of {site}, {item} in {period}, which has no Demand row",
                site=table["site"].to_numpy(), item=table["item"].to_numpy(), period=table["period"].to_numpy())
        out = np.zeros(len(self.demand["quantity"]))
        out[where] = floats(table, "unmet")
        self.unmet_rows = where
        return out

    def check_unmet(self) -> None:
        """Only a Demand row with a shortage cost goes unmet, by at most its quantity; the Shortage table lists every
        such row with its quantity, what was delivered and the cost of the rest."""
        demand, unmet = self.demand, self.unmet
        soft = ~np.isnan(demand["shortage_cost"])
        row = {"key": lambda i: self.unsip(demand["key"][i])}
        require(soft | (np.abs(unmet) <= TOL), "demand {key} left unmet without a shortage cost", **row)
        require((unmet >= -TOL) & (unmet <= demand["quantity"] + TOL * self.scale),
                "unmet {unmet} of demand {key} out of range", unmet=unmet, **row)
        table = self.result.unmet
        listed = np.zeros(len(unmet), dtype=bool)
        if len(table):
            listed[self.unmet_rows] = True
            where = self.unmet_rows
            quantity, price = demand["quantity"][where], demand["shortage_cost"][where]
            shown = {"key": lambda i: self.unsip(demand["key"][where][i])}
            require(close(floats(table, "demand"), quantity), "demand of {key}", **shown)
            require(close(floats(table, "delivered"), quantity - unmet[where], self.scale), "delivered to {key}",
                    **shown)
            require(close(floats(table, "cost"), unmet[where] * price, self.scale), "shortage cost of {key}", **shown)
        require(listed | ~soft, "Demand row {key} with a shortage cost missing from the plan's table", **row)

    def check_balances(self) -> None:
        flows, produced, options, stock, demand = self.flows, self.produced, self.option_output, self.stock, \
            self.demand
        require(flows["quantity"] >= -TOL, "negative flow {origin} -> {destination}",
                origin=lambda i: self.site_names[flows["origin"][i]],
                destination=lambda i: self.site_names[flows["destination"][i]])
        made = {name: np.concatenate([produced[name], options[name]]) for name in ("site", "item", "period", "used")}
        rows, inputs, quantity = self.recipes(made)
        inventory = self.network.inventory
        first = stock["period"] == 0
        if len(inventory):
            initial_key = key((self.site(inventory["site"]), self.n_sites), (self.item(inventory["item"]),
                                                                             self.n_items))
            where = positions(initial_key, key((stock["site"][first], self.n_sites),
                                               (stock["item"][first], self.n_items)))
            initial = np.where(where >= 0, floats(inventory, "initial")[np.maximum(where, 0)], np.nan)
        else:
            initial = np.full(first.sum(), np.nan)
        require(close(stock["opening"][first], initial), "opening stock of {site}, {item}",
                site=lambda i: self.site_names[stock["site"][first][i]],
                item=lambda i: self.item_names[stock["item"][first][i]])
        keys = np.concatenate([
            self.sip(flows, "destination"), self.sip(flows, "origin"), self.sip(made),
            key((made["site"][rows], self.n_sites), (inputs, self.n_items), (made["period"][rows], self.n_periods)),
            self.sip(demand), self.sip(stock)])
        amounts = np.concatenate([flows["quantity"], -flows["quantity"], made["used"], -quantity * made["used"][rows],
                                  -(demand["quantity"] - self.unmet), stock["opening"] - stock["closing"]])
        unique, residual = sums(keys, amounts)
        require(np.abs(residual) <= TOL * self.scale, "balance of {key} is off by {residual}",
                key=lambda i: self.unsip(unique[i]), residual=residual)

    def check_investments(self) -> None:
        built, terms, out = self.built_fractions, self.terms, self.option_output
        n_options = len(self.option_names)
        total = np.bincount(built["option"], weights=built["fraction"], minlength=n_options)
        require(total <= 1 + TOL, "option {option} built more than once", option=self.option_names)
        where = positions(terms["key"], key((built["option"], n_options), (built["period"], self.n_periods)))
        option, period = (lambda i: self.option_names[built["option"][i]]), \
            (lambda i: self.periods[built["period"][i]])
        require(where >= 0, "option {option} built in {period}, which its Investments rows do not cover",
                option=option, period=period)
        require((terms["earliest"][where] <= built["period"]) & (built["period"] <= terms["latest"][where]),
                "option {option} built in {period}, outside its earliest-latest window", option=option, period=period)
        require((built["fraction"] >= -TOL) & (built["fraction"] <= 1 + TOL),
                "option {option} built a fraction {fraction} in {period}", option=option, period=period,
                fraction=built["fraction"])
        limit = out["capacity"] * self.available[out["terms"]]
        require(out["used"] <= limit + TOL * self.scale, "option {option} makes {used} > {limit} in {period}",
                option=lambda i: self.option_names[out["option"][i]], period=lambda i: self.periods[out["period"][i]],
                used=out["used"], limit=limit)

    def check_capacities(self) -> None:
        stock, produced, flows, tol = self.stock, self.produced, self.flows, TOL * self.scale
        where = {"site": lambda i: self.site_names[stock["site"][i]],
                 "item": lambda i: self.item_names[stock["item"][i]]}
        require(stock["closing"] >= -TOL, "negative stock {site}, {item}", **where)
        require(np.isnan(stock["capacity"]) | (stock["closing"] <= stock["capacity"] + tol),
                "stock of {site}, {item} over capacity", **where)
        inventory = self.network.inventory
        if len(inventory):
            last = (inventory["period"] == self.periods[-1]).to_numpy() & (floats(inventory, "final") > 0)
            final = inventory[last]
            wanted = key((self.site(final["site"]), self.n_sites), (self.item(final["item"]), self.n_items),
                         (self.period(final["period"]), self.n_periods))
            closing = at(self.sip(stock), stock["closing"], wanted, missing=np.nan)
            require(closing >= floats(final, "final") - tol, "final stock of {site}, {item}",
                    site=final["site"].to_numpy(), item=final["item"].to_numpy())
        named = {"key": lambda i: self.named(produced["site"][i], produced["item"][i], produced["period"][i]),
                 "used": produced["used"], "capacity": produced["capacity"]}
        require(produced["used"] >= -TOL, "negative production {key}", **named)
        require(np.isnan(produced["capacity"]) | (produced["used"] <= produced["capacity"] + tol),
                "{key} produces {used} > capacity {capacity}", **named)
        minimum = np.nan_to_num(produced["min_quantity"])
        require((minimum <= 0) | (produced["used"] <= tol) | (produced["used"] >= minimum - tol),
                "{key} below minimum", **named)
        lanes = self.network.lanes
        lanes = lanes[lanes["capacity"].notna()]
        if "period" in lanes.columns:
            lane_period = self.period(lanes["period"])
        else:  # a lane row holds in every period
            lanes = lanes.iloc[np.repeat(np.arange(len(lanes)), self.n_periods)]
            lane_period = np.tile(np.arange(self.n_periods), len(lanes) // max(self.n_periods, 1))
        origin, destination = self.site(lanes["origin"]), self.site(lanes["destination"])
        item = self.item(lanes["item"])
        flow_pair = key((flows["origin"], self.n_sites), (flows["destination"], self.n_sites),
                        (flows["period"], self.n_periods))
        flow_lane = key((flows["origin"], self.n_sites), (flows["destination"], self.n_sites),
                        (flows["item"], self.n_items), (flows["period"], self.n_periods))
        used = np.where(item < 0,
                        at(*sums(flow_pair, flows["quantity"]), key((origin, self.n_sites), (destination, self.n_sites),
                                                                    (lane_period, self.n_periods))),
                        at(*sums(flow_lane, flows["quantity"]), key((origin, self.n_sites), (destination, self.n_sites),
                                                                    (item, self.n_items),
                                                                    (lane_period, self.n_periods))))
        require(used <= floats(lanes, "capacity") + tol, "Lanes row {row} over capacity in {period}",
                row=lanes["row"].to_numpy(), period=lambda i: self.periods[lane_period[i]])
        limited = [(site.id, site.throughput) for site in self.network.sites.values() if site.throughput is not None]
        if limited:
            sites = np.repeat(self.site([s for s, _ in limited]), self.n_periods)
            limit = np.repeat([t for _, t in limited], self.n_periods)
            periods = np.tile(np.arange(self.n_periods), len(limited))
            inbound = at(*sums(key((flows["destination"], self.n_sites), (flows["period"], self.n_periods)),
                               flows["quantity"]), key((sites, self.n_sites), (periods, self.n_periods)))
            require(inbound <= limit + tol, "{site} throughput exceeded in {period}",
                    site=lambda i: self.site_names[sites[i]], period=lambda i: self.periods[periods[i]])

    def reported(self, column: str, rule_rows, periods, destinations) -> np.ndarray:
        """A Compliance column at (Policies row, period, destination) keys; NaN where no such row is reported."""
        compliance = self.result.compliance
        if not len(compliance):
            return np.full(len(periods), np.nan)
        # names the plan does not know match nothing (what the checker expects is then missing)
        keys = self.share_key(compliance["rule_row"].to_numpy(dtype=np.int64),
                              self.period_names.get_indexer(compliance["period"].to_numpy(dtype=object)),
                              self.site_names.get_indexer(compliance["destination"].to_numpy(dtype=object)))
        return at(keys, floats(compliance, column), self.share_key(rule_rows, periods, destinations), missing=np.nan)

    def check_rules(self) -> None:
        for rule in self.policy.rules:
            assert rule.type in RULE_CHECKS, (f"Policies row {rule.row}: the residual checker has no check for rule "
                                              f"type {rule.type!r} (add one to tests/plan_check.py RULE_CHECKS)")
        for family in dict.fromkeys(RULE_CHECKS.values()):
            rules = [r for r in self.policy.rules if RULE_CHECKS[r.type] == family]
            if rules:
                getattr(self, f"check_{family}")(rules)
        e = self.emissions
        emissions = np.bincount(e["period"], weights=e["emissions"], minlength=self.n_periods)
        reported = self.result.emissions.reindex(self.periods, fill_value=0.0).to_numpy(dtype=float)
        require(close(reported, emissions, self.scale), "emissions in {period}: reported {reported}, recomputed "
                "{recomputed}", period=self.periods, reported=reported, recomputed=emissions)

    def check_shares(self, rules) -> None:
        rows = self.shares
        named = {"row": rows["rule_row"], "period": lambda i: self.periods[rows["period"][i]],
                 "destination": lambda i: self.site_names[rows["destination"][i]],
                 "selected": rows["selected"], "total": rows["total"]}
        # a threshold credit's condition may fail: it only earns no credit then
        conditional = [r.requires for r in self.policy.rules if r.type == "threshold_credit"]
        binding = ~np.isin(rows["rule_row"], conditional)
        require(~binding | self.holds(rows["rule_row"], rows["selected"], rows["total"]),
                "Policies row {row} fails in {period} ({destination}): {selected} of {total}", **named)
        keys = rows["rule_row"], rows["period"], rows["destination"]
        from_flow, total_flow = self.reported("from_flow", *keys), self.reported("total_flow", *keys)
        require(~np.isnan(total_flow), "Policies row {row}: no Compliance row for {period} ({destination})", **named)
        require(close(from_flow, rows["selected"], self.scale) & close(total_flow, rows["total"], self.scale),
                "Policies row {row} reports {from_flow} of {total_flow} in {period} ({destination}), recomputed "
                "{selected} of {total}", from_flow=from_flow, total_flow=total_flow, **named)

    def check_exclusions(self, rules) -> None:
        for rule in rules:
            banned = self.flows["quantity"][self.matches(rule, self.flows)].sum()
            assert banned <= TOL * self.scale, f"Policies row {rule.row}: {banned} from excluded sites"

    def check_counts(self, rules) -> None:
        flows = self.flows
        for rule in rules:
            mask = (self.isin(flows["item"], rule.items, self.item_names)
                    & self.isin(flows["destination"], rule.to_sites, self.site_names)
                    & self.in_periods(rule, flows["period"]))
            into = key((flows["destination"][mask], self.n_sites), (flows["period"][mask], self.n_periods))
            sites, inbound = sums(into, flows["quantity"][mask])
            supplying = self.isin(flows["origin"][mask], rule.from_sites, self.site_names)
            link = key((flows["origin"][mask][supplying], self.n_sites), (into[supplying], 1 << 40))
            links, delivered = sums(link, flows["quantity"][mask][supplying])
            to_site = links % ((1 << 40) + 1) - 1  # the (destination, period) key of each link
            total_in = at(sites, inbound, to_site)
            # min_suppliers: a supplier counts from 1% of its `to` site's inbound flow
            needed = 0.01 * total_in if rule.type == "min_suppliers" else 0.0
            counts = (delivered > 1e-9) & (delivered >= needed - 1e-9 * np.maximum(1.0, total_in))
            n = at(*sums(to_site[counts], np.ones(counts.sum())), sites).astype(int)
            ok = (inbound <= TOL) | (n >= rule.value) if rule.type == "min_suppliers" else n <= rule.value
            period, destination = sites % (self.n_periods + 1) - 1, sites // (self.n_periods + 1) - 1
            named = {"n": n, "destination": lambda i, d=destination: self.site_names[d[i]],
                     "period": lambda i, p=period: self.periods[p[i]]}
            require(ok, f"Policies row {rule.row}: {{n}} suppliers into {{destination}} in {{period}}", **named)
            from_flow = self.reported("from_flow", np.full(len(sites), rule.row), period, destination)
            require(from_flow == n, f"Policies row {rule.row} reports {{from_flow}} suppliers into {{destination}} in "
                    f"{{period}}, not {{n}}", from_flow=from_flow, **named)

    def check_carbon(self, rules) -> None:
        everywhere = self.site_names.get_loc(ALL)
        for rule in rules:
            covered, emissions = self.covered(rule), self.carbon_matching(rule)
            reported = self.reported("emissions", np.full(len(covered), rule.row), covered,
                                     np.full(len(covered), everywhere))
            named = {"period": lambda i, c=covered: self.periods[c[i]], "recomputed": emissions}
            require(close(reported, emissions, self.scale), f"Policies row {rule.row} reports emissions {{reported}} "
                    f"in {{period}}, recomputed {{recomputed}}", reported=reported, **named)
            if rule.type == "co2_cap":
                cap = self.co2_cap(rule)
                require(emissions <= cap + TOL * np.maximum(self.scale, np.abs(cap)), f"Policies row {rule.row}: "
                        f"emissions {{recomputed}} over the cap {{cap}} in {{period}}", cap=cap, **named)

    def check_costs_only(self, rules) -> None:
        """Tariffs, credits and threshold credits bind nothing: check_costs recomputes what they cost or earn."""

    def earned_threshold_credits(self) -> np.ndarray:
        """Per period: the threshold credits earned, the value per unit of matching demand at the destinations
        where the required share rule holds."""
        rules = {r.row: r for r in self.policy.rules}
        demand, earned = self.demand, np.zeros(self.n_periods)
        for credit in (r for r in self.policy.rules if r.type == "threshold_credit"):
            required = rules[credit.requires]
            eligible = (self.isin(demand["item"], credit.items, self.item_names)
                        & self.isin(demand["site"], credit.to_sites, self.site_names)
                        & self.in_periods(credit, demand["period"]) & self.in_periods(required, demand["period"]))
            if required.scope == "each_destination":
                eligible &= self.isin(demand["site"], required.to_sites, self.site_names)
                where = demand["site"][eligible]
            else:
                where = np.full(eligible.sum(), self.site_names.get_loc(ALL))
            periods = demand["period"][eligible]
            wanted = self.share_key(np.full(len(periods), required.row), periods, where)
            selected = at(self.shares["key"], self.shares["selected"], wanted)
            total = at(self.shares["key"], self.shares["total"], wanted)
            met = self.holds(np.full(len(periods), required.row), selected, total)
            earned += np.bincount(periods, weights=float(credit.value) * demand["quantity"][eligible] * met,
                                  minlength=self.n_periods)
        return earned

    def check_costs(self) -> None:
        produced, options, flows, stock = self.produced, self.option_output, self.flows, self.stock
        built, terms, every_period = self.built_fractions, self.terms, np.arange(self.n_periods)
        fixed = (produced["used"] > TOL * self.scale) & ~np.isnan(produced["fixed_cost"])
        where = positions(terms["key"], key((built["option"], len(self.option_names)),
                                            (built["period"], self.n_periods)))
        running = self.available != 0
        carbon = [(self.covered(r), float(r.value) * self.carbon_matching(r)) for r in self.policy.rules
                  if r.type == "co2_price"]
        # every cost as it arises: (part, periods, amounts); a part may have none
        lines = [
            ("supply", produced["period"], produced["used"] * produced["unit_cost"]),
            ("fixed", produced["period"][fixed], produced["fixed_cost"][fixed]),
            ("supply", options["period"], options["used"] * self.option_cost),
            ("capex", built["period"], built["fraction"] * terms["capex"][where]),
            ("salvage", np.full(len(where), self.n_periods - 1), -built["fraction"] * self.salvage()[where]),
            ("investment_fixed", terms["period"][running], self.available[running] * terms["fixed_cost"][running]),
            ("holding", stock["period"], stock["closing"] * stock["holding_cost"]),
            ("transport", flows["period"], flows["quantity"] * self.flow_cost),
            ("tariffs", flows["period"], flows["quantity"] * self.tariff_rate() * self.flow_value),
            ("credits", flows["period"], -flows["quantity"] * self.credit()),
            ("credits", every_period, -self.earned_threshold_credits()),
            ("carbon", every_period, np.zeros(self.n_periods)),
            ("shortage", self.demand["period"], self.unmet * np.nan_to_num(self.demand["shortage_cost"])),
            *(("carbon", periods, amounts) for periods, amounts in carbon),
        ]
        parts, nominal = {}, 0.0
        for part, periods, amounts in lines:
            parts[part] = parts.get(part, 0.0) + float(np.sum(self.discount[periods] * amounts))
            nominal += float(np.sum(amounts))
        reported = self.result.costs
        assert set(parts) == RECOMPUTED_PARTS, f"recomputed {sorted(parts)}, declared {sorted(RECOMPUTED_PARTS)}"
        unknown = set(reported) - RECOMPUTED_PARTS
        assert not unknown, f"cost parts the checker cannot recompute: {sorted(unknown)}"
        scale = max(1.0, *map(abs, parts.values()))
        names = [part for part in parts if part in reported]
        require(close([reported[p] for p in names], [parts[p] for p in names], scale),
                "cost part {part}: reported {reported}, recomputed {recomputed}", part=names,
                reported=[reported[p] for p in names], recomputed=[parts[p] for p in names])
        total = sum(parts.values())
        assert close(self.result.total_cost, total, scale), "total cost"
        assert close(self.result.nominal_total, nominal, scale), "nominal total"
        self.check_summary(parts, total, nominal, scale)

    def check_summary(self, parts: dict, total: float, nominal: float, scale: float) -> None:
        """The Summary sheet states the recomputed totals, cost parts and emissions (the lines it has)."""
        summary = dict(zip(self.result.summary["field"], self.result.summary["value"], strict=True))
        e = self.emissions
        by_period = np.bincount(e["period"], weights=e["emissions"], minlength=self.n_periods)
        expected = {"Total cost": total, "Nominal total cost": nominal,
                    **{label: parts[part] for label, part in SUMMARY_PARTS.items()},
                    "Total demand": self.demand["quantity"].sum(), "Demand left unmet": self.unmet.sum(),
                    "Emissions": by_period.sum(),
                    **{f"Emissions in {p}": v for p, v in zip(self.periods, by_period, strict=True)}}
        for field in ("Total cost", "Nominal total cost", "Supply cost", "Total demand"):
            assert field in summary, f"Summary: no {field!r} line"
        shown = [field for field in expected if field in summary]
        values = [summary[f] for f in shown]
        recomputed = [expected[f] for f in shown]
        require(close(values, recomputed, scale), "Summary {field}: {shown}, recomputed {recomputed}",
                field=shown, shown=values, recomputed=recomputed)


#: The Summary's line of each cost part (a line is there when the workbook can have the part).
SUMMARY_PARTS = {"Supply cost": "supply", "Transport cost": "transport", "Tariff cost": "tariffs",
                 "Credits": "credits", "Fixed cost": "fixed", "Capex": "capex", "Salvage value": "salvage",
                 "Investment fixed cost": "investment_fixed", "Holding cost": "holding", "Carbon cost": "carbon",
                 "Shortage cost": "shortage"}

#: The check of every Policies rule type (a method check_<family> over all the rules of its family); a rule type
#: missing here fails every plan that states it.
RULE_CHECKS = {
    "min_share": "shares",
    "max_share": "shares",
    "exclude": "exclusions",
    "max_suppliers": "counts",
    "single_source": "counts",
    "min_suppliers": "counts",
    "co2_price": "carbon",
    "co2_cap": "carbon",
    "tariff": "costs_only",
    "credit": "costs_only",
    "threshold_credit": "costs_only",
}


def check_plan(result) -> None:
    """Assert that a solved plan holds every balance, capacity, rule and cost of the contract. A plan must carry
    its formulation (the network and policy set it was solved for): without one it cannot be checked, which
    fails."""
    if result.has_plan:
        assert result.formulation is not None, "a plan without its formulation cannot be checked"
        PlanCheck(result).check()
