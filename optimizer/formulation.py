"""The sourcing LP as tables: one flow variable per row of ``flows``, constraint blocks as sparse
coefficient lists keyed by business keys. Nothing here knows about PuLP or HiGHS.

Variables: ``x[f] >= 0``, the quantity of ``item`` shipped from ``origin`` to ``destination`` in
``period``. A flow exists when a lane (origin, destination, item) or a blank-item lane
(origin, destination) exists, the origin has Supply for the item in the period, and the
destination has Demand for it in the period (v1 is single-tier: nothing is passed on).

Objective: minimise sum_f x[f] * unit_cost[f], where
    unit_cost = supply_unit_cost * (1 + tariff_rate + policy_tariff_rate) + lane_unit_cost - credit
(``tariff_rate`` from the Tariffs sheet; ``policy_tariff_rate`` and ``credit`` from the policy set's
``tariff`` and ``credit`` rules).

Blocks (one row per key, built from whole columns):
- ``demand``          (site, item, period):  inbound flow == quantity
- ``supply_capacity`` (site, item, period):  outbound flow <= capacity   (rows with a capacity)
- ``lane_capacity``   (origin, destination, item, period): flow <= capacity (item lane rows)
- ``lane_pair_capacity`` (origin, destination, period): flow of all items <= capacity (blank-item rows)
- one block per policy rule, added by ``optimizer.rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.network import Network, PolicySet

FLOW_KEYS = ["origin", "destination", "item", "period"]
SENSES = ("==", "<=", ">=")


@dataclass
class ConstraintBlock:
    """Rows ``sum_k coef[k] * x[var[k]]  (sense)  rhs`` for every ``row[k]`` of ``rows``.

    ``rows`` holds the business keys, ``sense``, ``rhs`` and where the row comes from
    (``sheet``, ``sheet_row``); ``row``/``var``/``coef`` are the non-zeros (COO format).
    """

    name: str
    rows: pd.DataFrame
    row: np.ndarray
    var: np.ndarray
    coef: np.ndarray

    def __post_init__(self) -> None:
        assert set(self.rows["sense"].unique()) <= set(SENSES)
        self.row = np.asarray(self.row, dtype=np.int64)
        self.var = np.asarray(self.var, dtype=np.int64)
        self.coef = np.asarray(self.coef, dtype=float)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nnz(self) -> int:
        return len(self.coef)


@dataclass
class Formulation:
    """Everything the backend needs, and everything the results layer needs to map values back."""

    network: Network
    policy: PolicySet
    flows: pd.DataFrame
    blocks: dict[str, ConstraintBlock] = field(default_factory=dict)
    rule_terms: dict[str, object] = field(default_factory=dict)

    @property
    def objective(self) -> np.ndarray:
        return self.flows["unit_cost"].to_numpy()

    @property
    def n_variables(self) -> int:
        return len(self.flows)

    @property
    def n_constraints(self) -> int:
        return sum(len(b) for b in self.blocks.values())

    def add(self, block: ConstraintBlock | None) -> None:
        if block is not None and len(block):
            if block.name in self.blocks:
                raise ValueError(f"constraint block {block.name!r} defined twice")
            self.blocks[block.name] = block


def records(items) -> pd.DataFrame:
    """DataFrame of pydantic records (one column per field)."""
    return pd.DataFrame([dict(r) for r in items])


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def flow_table(network: Network) -> pd.DataFrame:
    """One row per flow variable, with its unit cost split into supply, lane and tariff parts."""
    columns = FLOW_KEYS + ["supply_unit_cost", "lane_unit_cost", "tariff_rate", "policy_tariff_rate", "credit",
                           "unit_cost", "supply_row", "lane_row", "pair_lane_row", "demand_row"]
    if not network.supply or not network.demand or not network.lanes:
        return _empty(columns)
    supply = records(network.supply).rename(
        columns={"site": "origin", "unit_cost": "supply_unit_cost", "row": "supply_row"}
    )[["origin", "item", "period", "supply_unit_cost", "supply_row"]]
    lanes = records(network.lanes)
    item_lanes = lanes[lanes["item"].notna()]
    pair_lanes = lanes[lanes["item"].isna()].drop(columns="item")

    by_item = item_lanes.merge(supply, on=["origin", "item"])
    by_pair = pair_lanes.merge(supply, on="origin")
    # An item row replaces the blank-item row's cost for that item.
    overridden = by_pair.merge(item_lanes[["origin", "destination", "item"]], how="left", indicator=True)
    by_pair = by_pair[(overridden["_merge"] == "left_only").to_numpy()]
    flows = pd.concat([by_item, by_pair], ignore_index=True).rename(
        columns={"unit_cost": "lane_unit_cost", "row": "lane_row"}
    ).drop(columns="capacity")

    pair_rows = pair_lanes[["origin", "destination", "row"]].rename(columns={"row": "pair_lane_row"})
    flows = flows.merge(pair_rows, on=["origin", "destination"], how="left")
    demand = records(network.demand).rename(columns={"site": "destination", "row": "demand_row"})
    flows = flows.merge(demand[["destination", "item", "period", "demand_row"]],
                        on=["destination", "item", "period"])

    flows["tariff_rate"] = tariff_rates(network, flows)
    flows["policy_tariff_rate"] = 0.0
    flows["credit"] = 0.0
    flows["unit_cost"] = landed_unit_cost(flows)
    order = {p: i for i, p in enumerate(network.periods)}
    flows = flows.assign(_p=flows["period"].map(order)).sort_values(
        ["_p", "item", "destination", "origin"], kind="stable").drop(columns="_p")
    return flows[columns].reset_index(drop=True)


def landed_unit_cost(flows: pd.DataFrame) -> pd.Series:
    """Cost of one unit of each flow: supply with all tariffs, plus lane, minus credits."""
    rate = flows["tariff_rate"] + flows["policy_tariff_rate"]
    return flows["supply_unit_cost"] * (1.0 + rate) + flows["lane_unit_cost"] - flows["credit"]


def tariff_rates(network: Network, flows: pd.DataFrame) -> np.ndarray:
    """Sum of the rates of every Tariffs row matching each flow (rows add up, never override)."""
    rate = np.zeros(len(flows))
    for tariff in network.tariffs:
        mask = (flows["origin"].isin(tariff.origins) & flows["destination"].isin(tariff.destinations)
                & flows["item"].isin(tariff.items))
        if tariff.period is not None:
            mask &= flows["period"] == tariff.period
        rate += tariff.rate * mask.to_numpy()
    return rate


def grouped_block(name: str, flows: pd.DataFrame, keys: list[str], rows: pd.DataFrame,
                  sense: str, rhs_column: str, sheet: str, coef: np.ndarray | float = 1.0,
                  keep_empty: bool = False) -> ConstraintBlock:
    """A block with one row per row of ``rows`` (unique on ``keys``), summing the flows that share
    its keys. Rows without any flow are dropped unless ``keep_empty`` (e.g. unmet demand)."""
    rows = rows.reset_index(drop=True)
    position = pd.Series(np.arange(len(rows)), index=pd.MultiIndex.from_frame(rows[keys]))
    flow_keys = pd.MultiIndex.from_frame(flows[keys])
    row_of_flow = position.reindex(flow_keys).to_numpy()
    hit = ~np.isnan(row_of_flow)
    var = flows.index.to_numpy()[hit]
    row = row_of_flow[hit].astype(np.int64)
    coefs = np.broadcast_to(np.asarray(coef, dtype=float), (len(flows),))[hit]
    if not keep_empty:
        used = np.unique(row)
        rows = rows.iloc[used].reset_index(drop=True)
        row = np.searchsorted(used, row)
    table = rows.assign(sense=sense, rhs=rows[rhs_column].astype(float), sheet=sheet)
    return ConstraintBlock(name, table.rename(columns={"row": "sheet_row"}), row, var, coefs)


def physical_blocks(network: Network, flows: pd.DataFrame) -> list[ConstraintBlock]:
    """Demand, supply capacity and lane capacity blocks."""
    blocks = []
    demand = records(network.demand)
    if len(demand):
        blocks.append(grouped_block(
            "demand", flows.rename(columns={"destination": "site"}), ["site", "item", "period"],
            demand[["site", "item", "period", "quantity", "row"]], "==", "quantity", "Demand",
            keep_empty=True))
    supply = records(network.supply)
    if len(supply):
        capped = supply[supply["capacity"].notna()]
        blocks.append(grouped_block(
            "supply_capacity", flows.rename(columns={"origin": "site"}), ["site", "item", "period"],
            capped[["site", "item", "period", "capacity", "row"]], "<=", "capacity", "Supply"))
    lanes = records(network.lanes)
    if len(lanes) and len(flows):
        capped = lanes[lanes["capacity"].notna()]
        periods = pd.DataFrame({"period": list(network.periods)})
        by_item = capped[capped["item"].notna()].merge(periods, how="cross")
        blocks.append(grouped_block(
            "lane_capacity", flows, ["origin", "destination", "item", "period"],
            by_item[["origin", "destination", "item", "period", "capacity", "row"]],
            "<=", "capacity", "Lanes"))
        by_pair = capped[capped["item"].isna()].merge(periods, how="cross")
        blocks.append(grouped_block(
            "lane_pair_capacity", flows[flows["pair_lane_row"].notna()], ["origin", "destination", "period"],
            by_pair[["origin", "destination", "period", "capacity", "row"]],
            "<=", "capacity", "Lanes"))
    return blocks


def build_formulation(network: Network, policy: str | PolicySet = "baseline") -> Formulation:
    """Describe the LP for ``policy``: flows, physical blocks, then one block per policy rule."""
    from optimizer.rules import add_rule  # rules build on this module's helpers

    policy_set = policy if isinstance(policy, PolicySet) else network.policy(policy)
    flows = flow_table(network)
    formulation = Formulation(network=network, policy=policy_set, flows=flows)
    for block in physical_blocks(network, flows):
        formulation.add(block)
    for rule in policy_set.rules:
        add_rule(formulation, rule)
    flows["unit_cost"] = landed_unit_cost(flows)  # cost rules (tariff, credit) may have changed parts
    return formulation
