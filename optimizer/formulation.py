"""The sourcing model as tables: variable families keyed by business keys, constraint blocks as
sparse coefficient lists. Nothing here knows about PuLP or HiGHS.

Variables (families, in this order in the global column index):
- ``flow``        x >= 0 per (origin, destination, item, period): the rows of ``flows``. A flow exists
  on a lane (origin, destination, item) or blank-item lane (origin, destination) when the item is
  *available* at the origin (produced there, or received there) and *useful* at the destination
  (demanded, consumed by its BOM, or passed on towards such a site), in that period.
- ``production``  p >= 0 per Supply option (site, item, period): the rows of ``production``.
- ``unmet``       u in [0, quantity] per Demand row with a ``shortage_cost``: the part of its quantity left unmet,
  at that cost per unit (cost part ``shortage``). Rows without one are hard requirements.
- binaries added by discrete options and rules (``open`` per Supply option with a fixed cost or
  minimum quantity; supplier-count and threshold-credit indicators, see ``optimizer.rules``).

Objective: minimise the discounted cost, each period's costs times its discount factor
(``Network.discount``: Periods.discount_factor, 1 where none is given):
  sum unit_cost * p  +  sum x * (lane_unit_cost + (tariff_rate + policy_tariff_rate) * value - credit)
  +  sum fixed_cost * open  -  threshold credits
  +  carbon prices on the emissions they match (production and flows: ``co2_price`` rules)
  +  investment options (``optimizer.horizon``): unit cost of what they make, capex in the build period,
     their fixed cost in every period they are available
  +  holding cost of the stock closing each period (``optimizer.horizon``),
where ``value`` is the flow's valuation: the standard cost of the item at its origin (its Supply unit_cost
plus its BOM inputs at their average standard cost in the period), or the item's average standard cost for
goods passed on. Each cost belongs to one cost part (supply, transport, tariffs, credits, carbon, fixed,
capex, investment_fixed, holding).

Blocks (one row per key, built from whole columns):
- ``demand`` / ``balance`` (site, item, period): inbound + produced - outbound - consumed (+ unmet) == demand
  (``demand`` rows carry a Demand row, ``balance`` rows a demand of 0)
- ``supply_capacity`` (site, item, period): produced <= capacity
- ``lane_capacity`` (origin, destination, item, period) and ``lane_pair_capacity`` (origin,
  destination, period): flow <= capacity
- ``throughput`` (site, period): inbound flow of all items <= Sites.throughput
- ``open_upper`` / ``open_lower``: produced <= bound * open, produced >= min_quantity * open
- one block per policy rule, added by ``optimizer.rules``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.network import BASELINE, Network, PolicySet
from optimizer.horizon import (
    add_option_families,
    add_stock_family,
    initial_stock,
    makers,
    option_blocks,
    stock_blocks,
    stock_terms,
    stocking,
)
from optimizer.model import FLOW_KEYS, ConstraintBlock, Formulation
from optimizer.rules import state_rules


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


# --------------------------------------------------------------------------- network structure


def recipes(network: Network) -> pd.DataFrame:
    """(site, item, input, quantity, bom_row) for every site that makes an item (a Supply row or an
    investment option): site-specific BOM rows for an item replace the general ones at that site."""
    columns = ["site", "item", "input", "quantity", "bom_row"]
    if not len(network.bom) or not (len(network.supply) or len(network.investments)):
        return _empty(columns)
    bom = network.bom.rename(columns={"row": "bom_row"})
    options = pd.concat([network.supply[["site", "item"]], network.investments[["site", "item"]]],
                        ignore_index=True).drop_duplicates()
    specific = bom[bom["site"].notna()]
    general = bom[bom["site"].isna()].drop(columns="site")
    own = options.merge(specific, on=["site", "item"])
    has_own = own[["site", "item"]].drop_duplicates()
    fallback = options.merge(has_own, how="left", indicator=True)
    fallback = fallback[fallback["_merge"] == "left_only"].drop(columns="_merge").merge(general, on="item")
    return pd.concat([own, fallback], ignore_index=True)[columns]


def standard_costs(network: Network, recipe: pd.DataFrame) -> pd.DataFrame:
    """Standard cost of each Supply option (its unit cost plus its inputs at their period average),
    and the average per (item, period): the valuation of goods for tariffs and value shares."""
    supply = network.supply[["site", "item", "period", "unit_cost"]].copy()
    supply["standard_cost"] = supply["unit_cost"].astype(float)
    if len(recipe):
        # Items are valued bottom-up; a BOM is acyclic, so |items| passes settle every cost.
        for _ in range(len(network.items)):
            average = supply.groupby(["item", "period"])["standard_cost"].mean().rename("input_cost")
            inputs = recipe.merge(supply[["site", "item", "period"]], on=["site", "item"]).merge(
                average, left_on=["input", "period"], right_index=True, how="left")
            inputs["input_cost"] = inputs["input_cost"].fillna(0.0) * inputs["quantity"]
            add = inputs.groupby(["site", "item", "period"])["input_cost"].sum()
            new = supply["unit_cost"] + add.reindex(
                pd.MultiIndex.from_frame(supply[["site", "item", "period"]])).fillna(0.0).to_numpy()
            if np.allclose(new, supply["standard_cost"]):
                break
            supply["standard_cost"] = new
    return supply


def option_standard_costs(network: Network, recipe: pd.DataFrame, supply_costs: pd.DataFrame) -> pd.DataFrame:
    """(site, item, period, standard_cost) of goods made on investment options, for the periods in which
    the site has no Supply row for the item: the unit_cost of the first Investments row (sheet order)
    for that site and item that gives one, plus the BOM inputs at their period average."""
    options = network.investments
    given = options[options["unit_cost"].notna()].sort_values("row", kind="stable")
    first = given.drop_duplicates(["site", "item", "period"])[["site", "item", "period", "unit_cost"]]
    own = first.merge(supply_costs[["site", "item", "period"]], how="left", indicator=True)
    own = first[(own["_merge"] == "left_only").to_numpy()].reset_index(drop=True)
    if not len(own):
        return own.assign(standard_cost=pd.Series(dtype=float))
    average = supply_costs.groupby(["item", "period"])["standard_cost"].mean().rename("input_cost")
    inputs = recipe.merge(own[["site", "item", "period"]], on=["site", "item"]).merge(
        average, left_on=["input", "period"], right_index=True, how="left")
    inputs["input_cost"] = inputs["input_cost"].fillna(0.0) * inputs["quantity"]
    add = inputs.groupby(["site", "item", "period"])["input_cost"].sum()
    return own.assign(standard_cost=own["unit_cost"].to_numpy(dtype=float) + add.reindex(
        pd.MultiIndex.from_frame(own[["site", "item", "period"]])).fillna(0.0).to_numpy(dtype=float))


def key_codes(*columns: pd.Series) -> np.ndarray:
    """One int64 code per row for the tuple of ``columns`` (equal tuples, equal codes): code = ((c0 * n1) + c1)
    * n2 + c2 ... Joins on the codes are integer joins, where the same joins on text columns spend most of their
    time hashing strings."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, values = pd.factorize(column)
        key = key * max(len(values), 1) + codes
    return key


@dataclass(frozen=True)
class FlowKeys:
    """Integer codes of the flows' origin, destination, item and period, and keys of (site, item, period) built
    from them, for the flows and for any table's rows in the same code space. Each text column of the flows is
    factorized once."""

    origin: np.ndarray
    destination: np.ndarray
    item: np.ndarray
    period: np.ndarray
    sites: pd.Index
    items: pd.Index
    periods: pd.Index

    @classmethod
    def of_flows(cls, flows: pd.DataFrame, periods: list) -> FlowKeys:
        codes, sites = pd.factorize(pd.concat([flows["origin"], flows["destination"]], ignore_index=True))
        item, items = pd.factorize(flows["item"])
        return cls(codes[:len(flows)], codes[len(flows):], item, pd.Index(periods).get_indexer(flows["period"]),
                   pd.Index(sites), pd.Index(items), pd.Index(periods))

    def subset(self, keep: np.ndarray) -> FlowKeys:
        """The codes of the flows ``keep`` selects (the same code space)."""
        return replace(self, origin=self.origin[keep], destination=self.destination[keep], item=self.item[keep],
                       period=self.period[keep])

    def key(self, site: np.ndarray | None, item: np.ndarray, period: np.ndarray) -> np.ndarray:
        """The key of each (site, item, period) of codes (of (item, period) without sites); -1 where a code is
        -1 (a value the flows do not have)."""
        key = item.astype(np.int64) * len(self.periods) + period
        missing = (item < 0) | (period < 0)
        if site is not None:
            key += site.astype(np.int64) * (len(self.items) * len(self.periods))
            missing |= site < 0
        return np.where(missing, -1, key)

    def at(self, end: str) -> np.ndarray:
        """The flows' keys at ``end`` (origin or destination)."""
        return self.key(self.origin if end == "origin" else self.destination, self.item, self.period)

    def of(self, table: pd.DataFrame, site: str | None = "site") -> np.ndarray:
        """The keys of ``table``'s rows (by site, item and period; without a site with ``site=None``)."""
        return self.key(self.sites.get_indexer(table[site]) if site else None,
                        self.items.get_indexer(table["item"]), self.periods.get_indexer(table["period"]))


def sorted_ranks(codes: np.ndarray, uniques: pd.Index) -> np.ndarray:
    """``codes`` replaced by the rank of their value in sorted order (to sort by the text on integers)."""
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(np.asarray(uniques, dtype=object), kind="stable")] = np.arange(len(uniques))
    return rank[codes]


def _within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., count - 1 for each count, concatenated (the positions within groups of those sizes)."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def looked_up(keys: np.ndarray, table: pd.DataFrame, table_keys: np.ndarray, value: str) -> pd.Series:
    """``table[value]`` of the row whose key equals each of ``keys`` (table keys are unique), NaN where there is
    none: a left join of one column, as ``merge`` gives it (integer when none is missing)."""
    known = table_keys >= 0
    if not known.any():  # no row of the table is among the keys (e.g. no flow ends where demand is)
        return pd.Series(np.full(len(keys), np.nan), index=pd.RangeIndex(len(keys)))
    position = pd.Index(table_keys[known]).get_indexer(keys)  # raises if table repeats a key, as it must not
    position = np.where(position >= 0, np.flatnonzero(known)[np.maximum(position, 0)], -1)
    return table[value].reset_index(drop=True).reindex(position).set_axis(pd.RangeIndex(len(keys)))


def _join(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with left[i] == right[j], as two index arrays (an inner join on integer keys)."""
    order = np.argsort(right, kind="stable")
    ordered = right[order]
    low, high = np.searchsorted(ordered, left, "left"), np.searchsorted(ordered, left, "right")
    counts = high - low
    return np.repeat(np.arange(len(left)), counts), order[np.repeat(low, counts) + _within(counts)]


def _closure(seed: pd.DataFrame, lanes: pd.DataFrame, forward: bool, network: Network,
             stock: pd.DataFrame | None = None) -> pd.DataFrame:
    """(site, item, period) reachable from ``seed`` along ``lanes`` (forward) or against them: the least
    fixed point, so a cycle of lanes alone adds nothing. Forward, an item available at a site that
    stocks it (``stock``: site, item) stays available in every later period. Computed on integer codes
    (sites, items, and periods in the network's order)."""
    src, dst = ("origin", "destination") if forward else ("destination", "origin")
    periods = pd.Index(list(network.periods))
    n_seed, n_lanes = len(seed), len(lanes)
    stock = stock if forward and stock is not None and len(stock) else None
    n_stock = len(stock) if stock is not None else 0
    site_key, sites = pd.factorize(pd.concat([seed["site"], lanes[src], lanes[dst],
                                              *([stock["site"]] if n_stock else [])], ignore_index=True))
    item_key, items = pd.factorize(pd.concat([seed["item"], lanes["item"], *([stock["item"]] if n_stock else [])],
                                             ignore_index=True))
    n_items, n_periods = max(len(items), 1), max(len(periods), 1)
    lane_src, lane_dst = site_key[n_seed:n_seed + n_lanes], site_key[n_seed + n_lanes:n_seed + 2 * n_lanes]
    lane_item = item_key[n_seed:n_seed + n_lanes]
    lane_period = periods.get_indexer(lanes["period"]) if "period" in lanes.columns else None
    lane_pair = lane_src * n_items + lane_item

    def encode(site, item, period):
        return (site * n_items + item) * n_periods + period

    known = np.unique(encode(site_key[:n_seed], item_key[:n_seed], periods.get_indexer(seed["period"])))
    if stock is not None:
        stocked = np.unique(site_key[-n_stock:] * n_items + item_key[-n_stock:])
    while True:
        pair, period = np.divmod(known, n_periods)
        at, lane = _join(pair, lane_pair)
        if lane_period is not None:
            same = lane_period[lane] == period[at]
            at, lane = at[same], lane[same]
        steps = [known, encode(lane_dst[lane], lane_item[lane], period[at])]
        if stock is not None:
            held = np.isin(pair, stocked)
            first = pd.Series(period[held]).groupby(pair[held]).min()
            counts = n_periods - first.to_numpy()
            steps.append(np.repeat(first.index.to_numpy() * n_periods + first.to_numpy(), counts) + _within(counts))
        grown = np.unique(np.concatenate(steps))
        if len(grown) == len(known):
            break
        known = grown
    pair, period = np.divmod(known, n_periods)
    site, item = np.divmod(pair, n_items)
    return pd.DataFrame({"site": sites.take(site), "item": items.take(item), "period": periods.take(period)})


def lane_items(network: Network, items: list[str]) -> pd.DataFrame:
    """Every (origin, destination, item) a lane serves, with its cost and the rows it comes from; per
    period too when the lanes have per-period values (a scenario changed a lane in one period)."""
    lanes = network.lanes
    by = ["period"] if "period" in lanes.columns else []
    item_lanes = lanes[lanes["item"].notna()]
    pair_lanes = lanes[lanes["item"].isna()].drop(columns="item")
    by_pair = pair_lanes.merge(pd.DataFrame({"item": items}), how="cross")
    # An item row replaces the blank-item row's cost for that item.
    overridden = by_pair.merge(item_lanes[["origin", "destination", "item", *by]], how="left", indicator=True)
    by_pair = by_pair[(overridden["_merge"] == "left_only").to_numpy()]
    out = pd.concat([item_lanes, by_pair], ignore_index=True).rename(
        columns={"unit_cost": "lane_unit_cost", "row": "lane_row", "co2_per_unit": "co2"}).drop(columns="capacity")
    pair_rows = pair_lanes[["origin", "destination", *by, "row"]].rename(columns={"row": "pair_lane_row"})
    out = out.merge(pair_rows, on=["origin", "destination", *by], how="left")
    return out[out["origin"] != out["destination"]]


def flow_table(network: Network, recipe: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per flow variable, with its cost parts and the workbook rows behind it."""
    columns = FLOW_KEYS + ["supply_unit_cost", "lane_unit_cost", "tariff_rate", "policy_tariff_rate", "credit",
                           "carbon", "unit_cost", "co2", "supply_row", "lane_row", "pair_lane_row", "demand_row"]
    made = makers(network)
    if not len(made) or not len(network.lanes):
        return _empty(columns)
    recipe = recipes(network) if recipe is None else recipe
    lanes = lane_items(network, list(network.items))
    supply = network.supply
    demand = network.demand
    stock = stocking(network)
    every_period = pd.DataFrame({"period": list(network.periods)})
    held = stock[stock["initial"] > 0][["site", "item"]].merge(every_period, how="cross")
    available = _closure(pd.concat([made, held], ignore_index=True), lanes, forward=True, network=network,
                         stock=stock)
    needed = [demand[["site", "item", "period"]], stock[["site", "item"]].merge(every_period, how="cross")]
    if len(recipe):
        needed.append(recipe.merge(made, on=["site", "item"])[
            ["site", "input", "period"]].rename(columns={"input": "item"}))
    useful = _closure(pd.concat(needed, ignore_index=True), lanes, forward=False, network=network)

    flows = lanes.merge(available.rename(columns={"site": "origin"}),
                        on=["origin", "item", *(["period"] if "period" in lanes.columns else [])])
    coder = FlowKeys.of_flows(flows, list(network.periods))
    keep = np.isin(coder.at("destination"), coder.of(useful))
    flows, coder = flows[keep].reset_index(drop=True), coder.subset(keep)
    costs = standard_costs(network, recipe)
    own = costs[["site", "item", "period", "standard_cost"]]
    optional = option_standard_costs(network, recipe, costs)
    if len(optional):
        own = pd.concat([own, optional[["site", "item", "period", "standard_cost"]]], ignore_index=True)
    average = costs.groupby(["item", "period"])["standard_cost"].mean().rename("average_cost").reset_index()
    at_origin, at_destination = coder.at("origin"), coder.at("destination")
    flows["supply_unit_cost"] = looked_up(at_origin, own, coder.of(own), "standard_cost").fillna(
        looked_up(coder.key(None, coder.item, coder.period), average, coder.of(average, None), "average_cost")
    ).fillna(0.0)
    flows["supply_row"] = looked_up(at_origin, supply, coder.of(supply), "row")
    flows["demand_row"] = looked_up(at_destination, demand, coder.of(demand), "row")
    flows["tariff_rate"] = tariff_rates(network, flows, coder)
    flows["policy_tariff_rate"] = 0.0
    flows["credit"] = 0.0
    flows["carbon"] = 0.0
    flows["unit_cost"] = flow_unit_cost(flows)
    # by period (in the network's order), item, destination, origin; stable, on integer codes
    order = np.lexsort([sorted_ranks(coder.origin, coder.sites), sorted_ranks(coder.destination, coder.sites),
                        sorted_ranks(coder.item, coder.items), coder.period])
    return flows[columns].take(order).reset_index(drop=True)


def flow_unit_cost(flows: pd.DataFrame) -> pd.Series:
    """Per-unit cost of a flow beyond the goods' value: lane cost, tariffs on the goods' value, minus
    credits, plus the carbon price on its transport emissions."""
    rate = flows["tariff_rate"] + flows["policy_tariff_rate"]
    return flows["lane_unit_cost"] + rate * flows["supply_unit_cost"] - flows["credit"] + flows["carbon"]


def tariff_rates(network: Network, flows: pd.DataFrame, keys: FlowKeys | None = None) -> np.ndarray:
    """Sum of the rates of every Tariffs row matching each flow (rows add up, never override). Each row is matched
    on the flows' distinct sites, items and periods, then spread by their codes (``keys``, the flows' FlowKeys,
    computed here when not given), not on the text of every flow."""
    keys = keys if keys is not None else FlowKeys.of_flows(flows, list(network.periods))
    rate = np.zeros(len(flows))
    for tariff in network.tariffs:
        mask = (keys.sites.isin(tariff.origins)[keys.origin] & keys.sites.isin(tariff.destinations)[keys.destination]
                & keys.items.isin(tariff.items)[keys.item])
        if tariff.period is not None:
            mask &= np.asarray(keys.periods == tariff.period)[keys.period]
        rate += tariff.rate * mask
    return rate


def need_bounds(network: Network, recipe: pd.DataFrame) -> pd.Series:
    """An upper bound on how much of each item can be needed per period (demand plus what every
    downstream BOM could consume), used as the 'big M' of discrete options; indexed by (item, period)."""
    items, periods = list(network.items), list(network.periods)
    rows = network.demand
    demand = (rows.pivot_table(index="item", columns="period", values="quantity", aggfunc="sum")
              if len(rows) else pd.DataFrame()).reindex(index=items, columns=periods).fillna(0.0)
    need = demand.copy()
    if len(recipe):
        factor = recipe.groupby(["item", "input"])["quantity"].max()
        for _ in range(len(items)):  # a BOM is acyclic: |items| passes reach every tier
            new = demand.copy()
            for (item, input_), quantity in factor.items():
                new.loc[input_] += quantity * need.loc[item]
            if np.allclose(new.to_numpy(), need.to_numpy()):
                break
            need = new
    if len(network.inventory):  # with stock, what a period makes or receives may serve any later one
        finals = stocking(network).merge(network.inventory[["site", "item", "final"]].drop_duplicates(
            ["site", "item"])).groupby("item")["final"].sum().reindex(items).fillna(0.0)
        later = need.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]
        stocked = later.add(finals, axis=0)
        if len(recipe):
            for _ in range(len(items)):
                grown = stocked.copy()
                for (item, input_), quantity in factor.items():
                    grown.loc[input_] = np.maximum(grown.loc[input_], later.loc[input_] + quantity * stocked.loc[item])
                if np.allclose(grown.to_numpy(), stocked.to_numpy()):
                    break
                stocked = grown
        need = stocked
    return need.stack().rename_axis(["item", "period"])


# --------------------------------------------------------------------------- blocks


def grouped_block(name: str, flows: pd.DataFrame, keys: list[str], rows: pd.DataFrame,
                  sense: str, rhs_column: str, sheet: str, coef: np.ndarray | float = 1.0,
                  keep_empty: bool = False, offset: int = 0) -> ConstraintBlock:
    """A block with one row per row of ``rows`` (unique on ``keys``), summing the variables (rows of
    ``flows``, global column = ``offset`` + index) that share its keys. Rows without any variable are
    dropped unless ``keep_empty``."""
    rows = rows.reset_index(drop=True)
    if not len(rows):
        return ConstraintBlock(name, rows.assign(sense=sense, rhs=0.0, sheet=sheet), [], [], [])
    position = pd.Series(np.arange(len(rows)), index=pd.MultiIndex.from_frame(rows[keys]))
    row_of_flow = position.reindex(pd.MultiIndex.from_frame(flows[keys])).to_numpy() if len(flows) \
        else np.empty(0)
    hit = ~np.isnan(row_of_flow)
    var = flows.index.to_numpy()[hit] + offset
    row = row_of_flow[hit].astype(np.int32)
    coefs = np.broadcast_to(np.asarray(coef, dtype=float), (len(flows),))[hit]
    if not keep_empty:
        used = np.unique(row)
        rows = rows.iloc[used].reset_index(drop=True)
        row = np.searchsorted(used, row)
    table = rows.assign(sense=sense, rhs=rows[rhs_column].astype(float), sheet=sheet)
    return ConstraintBlock(name, table.rename(columns={"row": "sheet_row"}), row, var, coefs)


def balance_blocks(formulation: Formulation, recipe: pd.DataFrame) -> list[ConstraintBlock]:
    """inbound + produced + stock carried in - outbound - consumed - stock carried out == demand
    (minus the initial stock in the first period), per (site, item, period) that has any term."""
    network, flows = formulation.network, formulation.flows
    terms = [
        pd.DataFrame({"site": flows["destination"], "item": flows["item"], "period": flows["period"],
                      "var": np.arange(len(flows)), "coef": 1.0}),
        pd.DataFrame({"site": flows["origin"], "item": flows["item"], "period": flows["period"],
                      "var": np.arange(len(flows)), "coef": -1.0}),
    ]
    for name in ("production", "option_production"):  # both are the site's production
        family = formulation.families.get(name)
        if family is None:
            continue
        made = family.keys[["site", "item", "period"]].assign(var=family.index)
        terms.append(made.assign(coef=1.0))
        if len(recipe):
            use = made.merge(recipe, on=["site", "item"])
            terms.append(pd.DataFrame({"site": use["site"], "item": use["input"], "period": use["period"],
                                       "var": use["var"], "coef": -use["quantity"]}))
    stock = stock_terms(formulation)
    if len(stock):
        terms.append(stock)
    unmet = formulation.families.get("unmet")
    if unmet is not None:  # what is not delivered of a Demand row with a shortage cost
        terms.append(unmet.keys[["site", "item", "period"]].assign(var=unmet.index, coef=1.0))
    terms = pd.concat(terms, ignore_index=True)
    demand = network.demand[["site", "item", "period", "quantity", "row"]]
    key = key_codes(*(pd.concat([terms[c], demand[c]], ignore_index=True) for c in ("site", "item", "period")))
    term_key, demand_key = key[:len(terms)], key[len(terms):]
    first = ~pd.Index(term_key).duplicated()  # each (site, item, period) once, in order of first appearance
    keys = terms.loc[first, ["site", "item", "period"]]
    other = ~np.isin(term_key[first], demand_key)
    extra = keys[other].assign(quantity=0.0, row=None)
    opening = initial_stock(network).set_index(["site", "item", "period"])["initial"]
    blocks = []
    for name, rows, row_key, sheet in (("demand", demand, demand_key, "Demand"),
                                       ("balance", extra, term_key[first][other], "")):
        rows = rows.reset_index(drop=True)
        row_of = pd.Index(row_key).get_indexer(term_key).astype(float)
        row_of[row_of < 0] = np.nan
        hit = ~np.isnan(row_of)
        rhs = rows["quantity"].astype(float)
        if len(opening) and len(rows):
            rhs = rhs - opening.reindex(pd.MultiIndex.from_frame(rows[["site", "item", "period"]])).fillna(
                0.0).to_numpy()
        block_rows = rows.assign(sense="==", rhs=rhs, sheet=sheet).rename(columns={"row": "sheet_row"})
        blocks.append(ConstraintBlock(name, block_rows, row_of[hit].astype(np.int32), terms["var"].to_numpy()[hit],
                                      terms["coef"].to_numpy()[hit]))
    return blocks


def capacity_blocks(formulation: Formulation) -> list[ConstraintBlock]:
    """Production, lane and throughput capacities."""
    network, flows, production = formulation.network, formulation.flows, formulation.production
    blocks = []
    capped = production[production["capacity"].notna()]
    blocks.append(grouped_block(
        "supply_capacity", production, ["site", "item", "period"],
        capped[["site", "item", "period", "capacity", "row"]], "<=", "capacity", "Supply",
        offset=formulation.families["production"].offset))
    lanes = network.lanes
    if len(lanes) and len(flows):
        capped = lanes[lanes["capacity"].notna()]
        periods = pd.DataFrame({"period": list(network.periods)})
        per_period = "period" in lanes.columns  # else one capacity for every period

        def each_period(rows: pd.DataFrame) -> pd.DataFrame:
            return rows if per_period else rows.merge(periods, how="cross")

        by_item = each_period(capped[capped["item"].notna()])
        blocks.append(grouped_block(
            "lane_capacity", flows, ["origin", "destination", "item", "period"],
            by_item[["origin", "destination", "item", "period", "capacity", "row"]], "<=", "capacity", "Lanes"))
        by_pair = each_period(capped[capped["item"].isna()])
        blocks.append(grouped_block(
            "lane_pair_capacity", flows[flows["pair_lane_row"].notna()], ["origin", "destination", "period"],
            by_pair[["origin", "destination", "period", "capacity", "row"]], "<=", "capacity", "Lanes"))
    limited = [s for s in network.sites.values() if s.throughput is not None]
    if limited and len(flows):
        rows = pd.DataFrame([{"site": s.id, "throughput": s.throughput, "row": s.row} for s in limited]).merge(
            pd.DataFrame({"period": list(network.periods)}), how="cross")
        blocks.append(grouped_block(
            "throughput", flows.rename(columns={"destination": "site"}), ["site", "period"],
            rows[["site", "period", "throughput", "row"]], "<=", "throughput", "Sites"))
    return blocks


def discrete_supply(formulation: Formulation, need: pd.Series) -> list[ConstraintBlock]:
    """``open`` binaries for Supply options with a fixed cost or a minimum quantity:
    produced <= bound * open (bound: capacity, else the most that can be needed), and
    produced >= min_quantity * open."""
    production = formulation.production
    discrete = production[(production["fixed_cost"].fillna(0) > 0) | (production["min_quantity"].fillna(0) > 0)]
    if not len(discrete):
        return []
    keys = discrete[["site", "item", "period", "row"]].reset_index(drop=True)
    family = formulation.add_family("open", keys, 0.0, 1.0, integer=True, cost_part="fixed")
    formulation.add_costs(family.name, np.arange(len(keys)), _period_index(formulation.network, keys["period"]),
                          "fixed", discrete["fixed_cost"].fillna(0.0).to_numpy())
    prod_var = formulation.families["production"].offset + discrete.index.to_numpy()
    need_of = need.reindex(pd.MultiIndex.from_frame(discrete[["item", "period"]])).to_numpy()
    bound = np.fmin(discrete["capacity"].to_numpy(dtype=float), need_of)
    bound = np.where(np.isnan(bound), need_of, bound)
    n = len(keys)
    rows = keys.rename(columns={"row": "sheet_row"}).assign(sheet="Supply")
    blocks = [ConstraintBlock("open_upper", rows.assign(sense="<=", rhs=0.0), np.r_[np.arange(n), np.arange(n)],
                              np.r_[prod_var, family.index], np.r_[np.ones(n), -bound])]
    minimum = discrete["min_quantity"].fillna(0.0).to_numpy()
    has_min = np.flatnonzero(minimum > 0)
    if len(has_min):
        lower_rows = rows.iloc[has_min].reset_index(drop=True).assign(sense=">=", rhs=0.0)
        m = len(has_min)
        blocks.append(ConstraintBlock("open_lower", lower_rows, np.r_[np.arange(m), np.arange(m)],
                                      np.r_[prod_var[has_min], family.index[has_min]],
                                      np.r_[np.ones(m), -minimum[has_min]]))
    return blocks


def add_unmet_family(formulation: Formulation) -> None:
    """The ``unmet`` family: one column in [0, quantity] per Demand row with a shortage cost, paying it per unit
    (cost part ``shortage``, discounted like every cost of its period)."""
    demand = formulation.network.demand
    soft = demand[demand["shortage_cost"].notna()]
    if not len(soft):
        return
    family = formulation.add_family("unmet", soft[["site", "item", "period", "row"]], 0.0,
                                    soft["quantity"].to_numpy(dtype=float), cost_part="shortage")
    formulation.add_costs(family.name, np.arange(len(soft)), _period_index(formulation.network, soft["period"]),
                          "shortage", soft["shortage_cost"].to_numpy(dtype=float))


def _period_index(network: Network, periods: pd.Series) -> np.ndarray:
    return periods.map({p: i for i, p in enumerate(network.periods)}).to_numpy(dtype=np.int64)


def build_formulation(network: Network, policy: str | PolicySet = "baseline") -> Formulation:
    """Describe the model for ``policy``: variables, physical blocks, then the policy set's rules."""
    policy_set = policy if isinstance(policy, PolicySet) else network.policy(policy)
    return with_rules(build_physical(network), policy_set)


def with_rules(physical: Formulation, policy: PolicySet, like: Formulation | None = None) -> Formulation:
    """The model of ``policy`` on the physical model ``physical`` (``build_physical``), which stays as it is: its
    families are copied, the rules' blocks and families appended after the physical ones, in the order a fresh
    ``build_formulation`` gives. ``like``: a formulation of the same physical model whose rules' measured flows
    (``RuleTerms``) are reused where a rule differs only by its value (the flows a rule measures do not depend
    on it), so a sweep member costs little more than stating its rows."""
    formulation = physical.copy(policy)
    state_rules(formulation, reuse=like.rules if like is not None and like.physical is physical else None)
    flows = formulation.flows
    flows["unit_cost"] = flow_unit_cost(flows)  # with the rules' tariffs and credits
    # A cost column the rules left as it is on the physical model shares its array (up to 4 arrays of every
    # flow, held while HiGHS runs).
    for column in ("policy_tariff_rate", "credit", "carbon", "unit_cost"):
        if np.array_equal(flows[column].to_numpy(), physical.flows[column].to_numpy()):
            flows[column] = physical.flows[column]
    formulation.flow_discount = formulation.network.discount_of(flows["period"]) if len(flows) else np.zeros(0)
    return formulation


def build_physical(network: Network) -> Formulation:
    """The model without any rule: flows, production, options, stock, and the physical blocks (demand and
    balances, capacities, discrete supply). ``with_rules`` states a policy set on it."""
    recipe = recipes(network)
    flows = flow_table(network, recipe)
    production = network.supply.copy()
    formulation = Formulation(network=network, policy=network.policies[BASELINE], flows=flows,
                              production=production)
    formulation.add_family("flow", flows[FLOW_KEYS], 0.0)  # costs live in flows["unit_cost"]
    supply = formulation.add_family("production", production[["site", "item", "period"]], 0.0, cost_part="supply")
    formulation.add_costs(supply.name, np.arange(len(production)), _period_index(network, production["period"]),
                          "supply", production["unit_cost"].to_numpy(dtype=float))
    add_option_families(formulation)
    add_stock_family(formulation)
    add_unmet_family(formulation)
    formulation.need = need_bounds(network, recipe)
    for block in balance_blocks(formulation, recipe):
        formulation.add(block)
    for block in capacity_blocks(formulation):
        formulation.add(block)
    for block in [*option_blocks(formulation), *stock_blocks(formulation)]:
        formulation.add(block)
    for block in discrete_supply(formulation, formulation.need):
        formulation.add(block)
    return formulation


#: The physical models built in this process, by workbook and scenario (``physical_of``).
_PHYSICAL: weakref.WeakKeyDictionary[Network, dict[str | None, Formulation]] = weakref.WeakKeyDictionary()


def physical_of(network: Network, scenario: str | None = None) -> Formulation:
    """The physical model of ``network`` (in ``scenario``, its changes applied), built once per process: the
    robust analysis states a scenario's rules on it for its wait-and-see solve, the robust model and the
    evaluation of every plan in it; a family's chains on one worker share it. Kept while the network lives."""
    built = _PHYSICAL.setdefault(network, {})
    if scenario not in built:
        built[scenario] = build_physical(network if scenario is None else network.in_scenario(scenario))
    return built[scenario]
