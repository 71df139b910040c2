"""The residual checker: recompute a plan from its own tables and the contract, trusting no solver number.

From the plan's Flows and Utilization tables and the validated network (the workbook as read), it
recomputes every balance row, capacity, minimum quantity, throughput, rule and cost part, written
from the README's contract and not from the formulation's code, and asserts that they hold and that
the Summary, the cost parts and the Compliance sheet report them. ``tests/conftest.py`` runs it on
every plan the suite solves in-process.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

TOL = 1e-6
#: The cost parts this checker recomputes; a part the tool reports that is not here fails every plan.
RECOMPUTED_PARTS = {"supply", "transport", "tariffs", "credits", "carbon", "fixed", "capex", "salvage",
                    "investment_fixed", "holding"}


def close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b), scale)


class PlanCheck:
    """The plan of ``result`` against the contract; ``check()`` raises AssertionError naming what fails."""

    def __init__(self, result):
        self.result = result
        self.network = result.formulation.network
        self.policy = result.formulation.policy
        self.periods = list(self.network.periods)
        flows = result.flows
        self.flows = [(r.period, r.item, r.origin, r.destination, float(r.quantity)) for r in flows.itertuples()]
        supply = result.utilization[result.utilization["resource"] == "supply"]
        self.produced = {(r.site, r.item, r.period): float(r.used) for r in supply.itertuples()}
        self.options = {(r.site, r.item, r.period): r for r in self.network.supply.itertuples()}
        # Investment options: their production per (option, period), and the terms of every (option, period).
        on_options = result.utilization[result.utilization["resource"] == "option"]
        self.option_output = {(r.destination, r.period): float(r.used) for r in on_options.itertuples()}
        self.terms = {(r.option, r.period): r for r in self.network.investments.itertuples()}
        self.stock = {(r.site, r.item, r.period): r for r in result.inventory.itertuples()} \
            if len(result.inventory) else {}
        self.discount = dict(zip(self.periods, self.network.discount, strict=True))
        self.scale = max([1.0] + [abs(q) for *_, q in self.flows] + list(map(abs, self.produced.values()))
                         + list(map(abs, self.option_output.values())))

    # ------------------------------------------------------------------ the contract, recomputed
    def recipe(self, site: str, item: str) -> list[tuple[str, float]]:
        bom = self.network.bom
        own = bom[(bom["item"] == item) & (bom["site"] == site)]
        rows = own if len(own) else bom[(bom["item"] == item) & bom["site"].isna()]
        return [(r.input, float(r.quantity)) for r in rows.itertuples()]

    def standard_costs(self) -> tuple[dict, dict]:
        """Standard cost of every Supply option, and the plain mean per (item, period); then the value of
        goods made on an investment option where its site has no Supply row: the first Investments row's
        unit cost (sheet order) plus the inputs."""
        standard = {key: float(o.unit_cost) for key, o in self.options.items()}
        for _ in range(len(self.network.items) + 1):
            average = defaultdict(list)
            for (_site, item, period), cost in standard.items():
                average[(item, period)].append(cost)
            mean = {key: float(np.mean(costs)) for key, costs in average.items()}
            standard = {(site, item, period): float(self.options[(site, item, period)].unit_cost)
                        + sum(q * mean.get((inp, period), 0.0) for inp, q in self.recipe(site, item))
                        for (site, item, period) in self.options}
        for r in sorted(self.terms.values(), key=lambda r: r.row):
            key = (r.site, r.item, r.period)
            if key not in standard and not pd.isna(r.unit_cost):
                standard[key] = float(r.unit_cost) + sum(q * mean.get((inp, r.period), 0.0)
                                                         for inp, q in self.recipe(r.site, r.item))
        return standard, mean

    def option_cost(self, option: str, period: str) -> float:
        """An option's unit cost in a period (blank: the site's Supply unit_cost for the item then)."""
        terms = self.terms[(option, period)]
        if not pd.isna(terms.unit_cost):
            return float(terms.unit_cost)
        return float(self.options[(terms.site, terms.item, period)].unit_cost)

    def built(self) -> dict[str, dict[str, float]]:
        """option -> {build period: fraction built then}, from the Investments table of the plan."""
        out = {}
        for r in self.result.investments.itertuples():
            if r.divisible:
                out[r.option] = dict(r.fractions or {})
            else:
                out[r.option] = {r.build_period: 1.0} if r.built else {}
        return out

    def available(self, option: str, period: str) -> float:
        """The fraction of an option available in a period: built at least lead_time periods before."""
        lead = int(self.terms[(option, period)].lead_time)
        at = self.periods.index(period)
        return sum(f for p, f in self.built_fractions[option].items() if self.periods.index(p) + lead <= at)

    def salvage(self, option: str, period: str) -> float:
        """The salvage value of an option built whole in ``period``: capex x (life - periods in use) / life, at
        least 0, the periods in use running from its availability (lead_time later) to the last period; 0
        without a life."""
        terms = self.terms[(option, period)]
        if pd.isna(getattr(terms, "life", None)):
            return 0.0
        available = self.periods.index(period) + int(terms.lead_time)
        in_use = max(0, len(self.periods) - available)
        return float(terms.capex) * max(0.0, float(terms.life) - in_use) / float(terms.life)

    def value(self, origin: str, item: str, period: str) -> float:
        key = (origin, item, period)
        return self.standard[key] if key in self.standard else self.mean.get((item, period), 0.0)

    def lane(self, origin: str, destination: str, item: str, period: str):
        """The Lanes row of a flow: the item's own row, else the blank-item row of the pair."""
        lanes = self.network.lanes
        on_pair = lanes[(lanes["origin"] == origin) & (lanes["destination"] == destination)]
        if "period" in lanes.columns:  # a scenario changed a lane in one period
            on_pair = on_pair[on_pair["period"] == period]
        own = on_pair[on_pair["item"] == item]
        assert len(own) or len(on_pair[on_pair["item"].isna()]), f"no lane {origin} -> {destination} for {item}"
        return own.iloc[0] if len(own) else on_pair[on_pair["item"].isna()].iloc[0]

    def lane_cost(self, origin: str, destination: str, item: str, period: str) -> float:
        return float(self.lane(origin, destination, item, period)["unit_cost"])

    def lane_co2(self, origin: str, destination: str, item: str, period: str) -> float:
        """Emissions per unit shipped: the lane row's co2_per_unit (blank: 0, an item row's blank too)."""
        value = self.lane(origin, destination, item, period)["co2_per_unit"]
        return 0.0 if pd.isna(value) else float(value)

    def option_co2(self, option: str, period: str) -> float:
        """Emissions per unit made on an option (blank: the site's Supply value for the item then, or 0)."""
        terms = self.terms[(option, period)]
        if not pd.isna(terms.co2_per_unit):
            return float(terms.co2_per_unit)
        supply = self.options.get((terms.site, terms.item, period))
        return 0.0 if supply is None or pd.isna(supply.co2_per_unit) else float(supply.co2_per_unit)

    def emitting(self):
        """Every activity of the plan with its emissions: (period, item, site made or shipped from, shipped to
        (None for production), emissions)."""
        for (site, item, period), p in self.produced.items():
            co2 = self.options[(site, item, period)].co2_per_unit
            yield period, item, site, None, p * (0.0 if pd.isna(co2) else float(co2))
        for (option, period), q in self.option_output.items():
            terms = self.terms[(option, period)]
            yield period, terms.item, terms.site, None, q * self.option_co2(option, period)
        for period, item, origin, destination, q in self.flows:
            yield period, item, origin, destination, q * self.lane_co2(origin, destination, item, period)

    def carbon_matching(self, rule) -> dict[str, float]:
        """A carbon rule's matching emissions per covered period: production of its items at `from` sites, and
        flows of its items from `from` sites into `to` sites."""
        out = dict.fromkeys(rule.periods(self.periods), 0.0)
        for period, item, site, destination, emissions in self.emitting():
            if period in out and item in rule.items and site in rule.from_sites and \
                    (destination is None or destination in rule.to_sites):
                out[period] += emissions
        return out

    def co2_cap(self, rule, period: str) -> float:
        if rule.basis != "per_unit":
            return float(rule.value)
        return float(rule.value) * sum(q for (site, item, p), q in self.demand().items()
                                       if p == period and item in rule.items and site in rule.to_sites)

    def matches(self, rule, origin, destination, item, period) -> bool:
        return (item in rule.items and origin in rule.from_sites and destination in rule.to_sites
                and (rule.period is None or rule.period == period))

    def tariff_rate(self, origin, destination, item, period) -> float:
        rate = sum(t.rate for t in self.network.tariffs if origin in t.origins and destination in t.destinations
                   and item in t.items and (t.period is None or t.period == period))
        rate += sum(float(r.value) for r in self.policy.rules
                    if r.type == "tariff" and self.matches(r, origin, destination, item, period))
        return rate

    def credit(self, origin, destination, item, period) -> float:
        return sum(float(r.value) for r in self.policy.rules
                   if r.type == "credit" and self.matches(r, origin, destination, item, period))

    def demand(self) -> dict:
        return {(r.site, r.item, r.period): float(r.quantity) for r in self.network.demand.itertuples()}

    def carbon_per_unit(self, origin, destination, item, period) -> float:
        """The carbon price a unit shipped pays: each co2_price rule matching the flow, times the lane's co2."""
        co2 = self.lane_co2(origin, destination, item, period)
        return sum(float(r.value) * co2 for r in self.policy.rules if r.type == "co2_price"
                   and item in r.items and origin in r.from_sites and destination in r.to_sites
                   and period in r.periods(self.periods))

    def flow_cost_per_unit(self, origin, destination, item, period) -> float:
        """A flow's cost per unit beyond the goods: lane, tariffs on the goods' valuation, carbon, less credits."""
        return (self.lane_cost(origin, destination, item, period)
                + self.tariff_rate(origin, destination, item, period) * self.value(origin, item, period)
                + self.carbon_per_unit(origin, destination, item, period)
                - self.credit(origin, destination, item, period))

    def paid_costs(self) -> dict:
        """(site, item, period) -> what a unit of the item there cost in the plan: the average over what entered
        it of production at its unit cost plus the inputs consumed at their own cost there, flows in at their
        origin's cost plus their cost per unit, stock carried in at the previous period's cost, and the initial
        stock at the item's mean standard cost (the README's Flows, supply_unit_cost)."""
        entering = defaultdict(list)  # pool -> [(quantity, own cost per unit, [(pool drawn from, units per unit)])]
        for (site, item, period), p in self.produced.items():
            entering[(site, item, period)].append((p, float(self.options[(site, item, period)].unit_cost),
                                                   [((site, i, period), q) for i, q in self.recipe(site, item)]))
        for (option, period), q in self.option_output.items():
            terms = self.terms[(option, period)]
            entering[(terms.site, terms.item, period)].append(
                (q, self.option_cost(option, period), [((terms.site, i, period), k)
                                                      for i, k in self.recipe(terms.site, terms.item)]))
        for period, item, origin, destination, q in self.flows:
            entering[(destination, item, period)].append(
                (q, self.flow_cost_per_unit(origin, destination, item, period), [((origin, item, period), 1.0)]))
        for (site, item, period), r in self.stock.items():
            at = self.periods.index(period)
            if at + 1 < len(self.periods):
                entering[(site, item, self.periods[at + 1])].append((float(r.closing), 0.0,
                                                                     [((site, item, period), 1.0)]))
            if at == 0 and float(r.opening) > 0:
                entering[(site, item, period)].append((float(r.opening), self.mean.get((item, period), 0.0), []))
        cost = dict.fromkeys(entering, 0.0)
        for _ in range(len(entering) + 1):
            cost = {pool: sum(q * (own + sum(k * cost.get(src, 0.0) for src, k in drawn)) for q, own, drawn in terms)
                    / total if (total := sum(max(q, 0.0) for q, *_ in terms)) > 0 else 0.0
                    for pool, terms in entering.items()}
        return cost

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        self.standard, self.mean = self.standard_costs()
        self.built_fractions = self.built()
        self.check_investments()
        self.check_balances()
        self.check_capacities()
        self.check_rules()
        self.check_costs()
        self.check_flow_costs()

    def check_flow_costs(self) -> None:
        """Each flow's goods at what they cost in the plan, at the rules' valuation, and its landed cost."""
        paid = self.paid_costs()
        scale = max([1.0] + [abs(v) for v in paid.values()])
        for r in self.result.flows.itertuples():
            where = f"flow {r.origin} -> {r.destination}, {r.item}, {r.period}"
            assert close(r.supply_unit_cost, paid[(r.origin, r.item, r.period)], scale), f"{where}: goods' cost"
            assert close(r.valuation_unit_cost, self.value(r.origin, r.item, r.period), scale), f"{where}: valuation"
            landed = r.supply_unit_cost + self.flow_cost_per_unit(r.origin, r.destination, r.item, r.period)
            assert close(r.landed_unit_cost, landed, scale), f"{where}: landed cost"

    def check_balances(self) -> None:
        balance = defaultdict(float)
        for period, item, origin, destination, q in self.flows:
            assert q >= -TOL, f"negative flow {origin} -> {destination}"
            balance[(destination, item, period)] += q
            balance[(origin, item, period)] -= q
        made = list(self.produced.items()) + [((self.terms[(o, t)].site, self.terms[(o, t)].item, t), q)
                                              for (o, t), q in self.option_output.items()]
        for (site, item, period), p in made:
            balance[(site, item, period)] += p
            for inp, q in self.recipe(site, item):
                balance[(site, inp, period)] -= q * p
        for key, d in self.demand().items():
            balance[key] -= d
        for (site, item, period), r in self.stock.items():
            opening = float(r.opening)
            if period == self.periods[0]:
                initial = self.network.inventory
                initial = initial[(initial["site"] == site) & (initial["item"] == item)]["initial"].iloc[0]
                assert close(opening, float(initial)), f"opening stock of {site}, {item}"
            balance[(site, item, period)] += opening - float(r.closing)
        for key, residual in balance.items():
            assert abs(residual) <= TOL * self.scale, f"balance of {key} is off by {residual}"

    def check_investments(self) -> None:
        for option, fractions in self.built_fractions.items():
            assert sum(fractions.values()) <= 1 + TOL, f"option {option} built more than once"
            for period, fraction in fractions.items():
                terms = self.terms[(option, period)]
                index = self.periods.index(period)
                assert self.periods.index(terms.earliest) <= index <= self.periods.index(terms.latest), option
                assert -TOL <= fraction <= 1 + TOL, option
        for (option, period), q in self.option_output.items():
            capacity = float(self.terms[(option, period)].capacity) * self.available(option, period)
            assert q <= capacity + TOL * self.scale, f"option {option} makes {q} > {capacity} in {period}"

    def check_capacities(self) -> None:
        for (site, item, _period), r in self.stock.items():
            assert r.closing >= -TOL, f"negative stock {site}, {item}"
            if not pd.isna(r.capacity):
                assert r.closing <= r.capacity + TOL * self.scale, f"stock of {site}, {item} over capacity"
        for r in self.network.inventory.itertuples():
            if r.period == self.periods[-1] and r.final > 0:
                assert self.stock[(r.site, r.item, r.period)].closing >= r.final - TOL * self.scale, "final stock"
        for key, p in self.produced.items():
            option = self.options[key]
            assert p >= -TOL, f"negative production {key}"
            if not pd.isna(option.capacity):
                assert p <= option.capacity + TOL * self.scale, f"{key} produces {p} > capacity {option.capacity}"
            if not pd.isna(option.min_quantity) and option.min_quantity > 0:
                assert p <= TOL * self.scale or p >= option.min_quantity - TOL * self.scale, f"{key} below minimum"
        on_lane, on_pair, inbound = defaultdict(float), defaultdict(float), defaultdict(float)
        for period, item, origin, destination, q in self.flows:
            on_lane[(origin, destination, item, period)] += q
            on_pair[(origin, destination, period)] += q
            inbound[(destination, period)] += q
        for lane in self.network.lanes.itertuples():
            if pd.isna(lane.capacity):
                continue
            for period in ([lane.period] if "period" in self.network.lanes.columns else self.periods):
                used = on_pair[(lane.origin, lane.destination, period)] if pd.isna(lane.item) \
                    else on_lane[(lane.origin, lane.destination, lane.item, period)]
                assert used <= lane.capacity + TOL * self.scale, f"Lanes row {lane.row} over capacity in {period}"
        for site in self.network.sites.values():
            if site.throughput is not None:
                for period in self.periods:
                    assert inbound[(site.id, period)] <= site.throughput + TOL * self.scale, f"{site.id} throughput"

    def share_rows(self, rule) -> dict:
        """(period, destination) -> (from flow, total flow) of a share rule, weighted by its basis."""
        rows = defaultdict(lambda: [0.0, 0.0])
        for period in rule.periods(self.periods):
            if rule.scope == "total":
                rows[(period, "(all)")]
        for period, item, origin, destination, q in self.flows:
            if item not in rule.items or destination not in rule.to_sites or \
                    (rule.period is not None and rule.period != period):
                continue
            w = self.value(origin, item, period) if rule.basis == "value" else 1.0
            key = (period, destination if rule.scope == "each_destination" else "(all)")
            rows[key][1] += w * q
            if origin in rule.from_sites:
                rows[key][0] += w * q
        return rows

    def holds(self, rule, selected: float, total: float) -> bool:
        if total <= TOL * self.scale:
            return True
        share = selected / total
        return share >= rule.value - 1e-6 if rule.type == "min_share" else share <= rule.value + 1e-6

    def check_rules(self) -> None:
        compliance = self.result.compliance
        conditional = {r.requires for r in self.policy.rules if r.type == "threshold_credit"}
        for rule in self.policy.rules:
            reported = compliance[compliance["rule_row"] == rule.row] if len(compliance) else compliance
            if rule.type in ("min_share", "max_share"):
                rows = self.share_rows(rule)
                for (period, destination), (selected, total) in rows.items():
                    if rule.row not in conditional:
                        assert self.holds(rule, selected, total), f"Policies row {rule.row} fails in {period}"
                    line = reported[(reported["period"] == period) & (reported["destination"] == destination)]
                    if len(line):
                        assert close(float(line.iloc[0]["from_flow"]), selected, self.scale), rule.row
                        assert close(float(line.iloc[0]["total_flow"]), total, self.scale), rule.row
            elif rule.type == "exclude":
                banned = sum(q for period, item, o, d, q in self.flows if self.matches(rule, o, d, item, period))
                assert banned <= TOL * self.scale, f"Policies row {rule.row}: {banned} from excluded sites"
            elif rule.type in ("max_suppliers", "single_source", "min_suppliers"):
                self.check_count(rule, reported)
            elif rule.type in ("co2_price", "co2_cap"):
                for period, emissions in self.carbon_matching(rule).items():
                    line = reported[reported["period"] == period]
                    assert len(line) and close(float(line.iloc[0]["emissions"]), emissions, self.scale), rule.row
                    if rule.type == "co2_cap":
                        cap = self.co2_cap(rule, period)
                        assert emissions <= cap + TOL * max(self.scale, abs(cap)), \
                            f"Policies row {rule.row}: emissions {emissions} over the cap {cap} in {period}"
        emissions = defaultdict(float)
        for period, *_, amount in self.emitting():
            emissions[period] += amount
        reported = self.result.emissions
        for period in self.periods:
            assert close(float(reported.get(period, 0.0)), emissions[period], self.scale), f"emissions in {period}"

    def check_count(self, rule, reported) -> None:
        delivered, inbound = defaultdict(float), defaultdict(float)
        for period, item, origin, destination, q in self.flows:
            if item in rule.items and destination in rule.to_sites and (rule.period in (None, period)):
                inbound[(destination, period)] += q
                if origin in rule.from_sites:
                    delivered[(origin, destination, period)] += q
        counted = defaultdict(int)
        for (_origin, destination, period), q in delivered.items():
            share_needed = 0.01 * inbound[(destination, period)] if rule.type == "min_suppliers" else 0.0
            if q > 1e-9 and q >= share_needed - 1e-9 * max(1.0, inbound[(destination, period)]):
                counted[(destination, period)] += 1
        for (destination, period), total in inbound.items():
            n = counted[(destination, period)]
            if rule.type == "min_suppliers":
                assert total <= TOL or n >= rule.value, f"Policies row {rule.row}: {n} suppliers into {destination}"
            else:
                assert n <= rule.value, f"Policies row {rule.row}: {n} suppliers into {destination}"
            line = reported[(reported["period"] == period) & (reported["destination"] == destination)]
            assert len(line) and line.iloc[0]["from_flow"] == n, f"Policies row {rule.row} reports another count"

    def earned_threshold_credits(self) -> dict[str, float]:
        demand = self.demand()
        earned = defaultdict(float)
        rules = {r.row: r for r in self.policy.rules}
        for credit in (r for r in self.policy.rules if r.type == "threshold_credit"):
            required = rules[credit.requires]
            rows = self.share_rows(required)
            for site, item, period in demand:
                if item not in credit.items or site not in credit.to_sites or credit.period not in (None, period):
                    continue
                if required.period not in (None, period):
                    continue
                if required.scope == "each_destination":
                    if site not in required.to_sites:
                        continue
                    selected, total = rows.get((period, site), (0.0, 0.0))
                else:
                    selected, total = rows.get((period, "(all)"), (0.0, 0.0))
                if self.holds(required, selected, total):
                    earned[period] += float(credit.value) * demand[(site, item, period)]
        return earned

    def check_costs(self) -> None:
        parts, nominal = defaultdict(float), 0.0

        def add(part: str, period: str, cost: float) -> None:
            nonlocal nominal
            parts[part] += self.discount[period] * cost
            nominal += cost

        for (site, item, period), p in self.produced.items():
            option = self.options[(site, item, period)]
            add("supply", period, p * option.unit_cost)
            if p > TOL * self.scale and not pd.isna(option.fixed_cost):
                add("fixed", period, option.fixed_cost)
        for (option, period), q in self.option_output.items():
            add("supply", period, q * self.option_cost(option, period))
        for option, fractions in self.built_fractions.items():
            for period, fraction in fractions.items():
                add("capex", period, fraction * self.terms[(option, period)].capex)
                add("salvage", self.periods[-1], -fraction * self.salvage(option, period))
            for period in self.periods:
                available = self.available(option, period)
                if available:
                    add("investment_fixed", period, available * self.terms[(option, period)].fixed_cost)
        for (_site, _item, period), r in self.stock.items():
            add("holding", period, r.closing * r.holding_cost)
        for period, item, origin, destination, q in self.flows:
            add("transport", period, q * self.lane_cost(origin, destination, item, period))
            add("tariffs", period, q * self.tariff_rate(origin, destination, item, period)
                * self.value(origin, item, period))
            add("credits", period, -q * self.credit(origin, destination, item, period))
        for period, earned in self.earned_threshold_credits().items():
            add("credits", period, -earned)
        for rule in (r for r in self.policy.rules if r.type == "co2_price"):
            for period, emissions in self.carbon_matching(rule).items():
                add("carbon", period, float(rule.value) * emissions)
        costs = self.result.costs
        unknown = set(costs) - RECOMPUTED_PARTS
        assert not unknown, f"cost parts the checker cannot recompute: {sorted(unknown)}"
        scale = max(1.0, *map(abs, parts.values()))
        for part in RECOMPUTED_PARTS & set(costs):  # a part reported but never recomputed must be 0
            value = parts.get(part, 0.0)
            assert close(costs[part], value, scale), f"cost part {part}: reported {costs[part]}, recomputed {value}"
        assert close(self.result.total_cost, sum(parts.values()), scale), "total cost"
        assert close(self.result.nominal_total, nominal, scale), "nominal total"


def check_plan(result) -> None:
    """Assert that a solved plan holds every balance, capacity, rule and cost of the contract."""
    if result.has_plan and result.formulation is not None:
        PlanCheck(result).check()
