"""What links periods: investment options (built once, available after a lead time) and stock.

Variables (families):
- ``build``  b per (option, build period) in [earliest, latest]: 1 if the option is built then
  (binary; a fraction in [0, 1] for a divisible option), with ``sum_t b <= 1`` (``build_once``). Its
  cost is the capex of its build period plus the option's fixed cost in every period it makes the
  option available (``lead_time`` periods later on), each discounted by its period's factor; with a
  ``life``, less the salvage value credited in the last period (``salvage_fractions``).
- ``option_production``  q per (option, period) in which the option can be available: produced at the
  option's site, exactly like Supply production (balance, BOM, lanes, rules), at its unit cost, with
  ``q <= capacity * sum_{t + lead <= period} b`` (``option_capacity``).
- ``stock``  s per stocking (site, item, period): the stock at the end of the period, at most its
  capacity (``stock_capacity``), at least ``final`` at the end of the last period (``stock_final``),
  paying its holding cost. It enters the balance rows: ``+ s[t-1] - s[t]`` (``initial`` before the first
  period).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from models.network import Network
from optimizer.model import ConstraintBlock, Formulation

OPTION_KEYS = ["option", "site", "item", "period"]


def option_periods(network: Network) -> pd.DataFrame:
    """Every (option, period) with its period's index, whether it may be built then (``buildable``),
    the index of its first possible availability (``first``), whether it can be available then
    (``available``), and its unit cost (blank: the site's Supply unit_cost for the item then)."""
    options = network.investments
    if not len(options):
        return options.assign(index=pd.Series(dtype=int), buildable=pd.Series(dtype=bool),
                              first=pd.Series(dtype=int), available=pd.Series(dtype=bool))
    index = {p: i for i, p in enumerate(network.periods)}
    table = options.assign(index=options["period"].map(index))
    earliest, latest = table["earliest"].map(index), table["latest"].map(index)
    table["buildable"] = (table["index"] >= earliest) & (table["index"] <= latest)
    table["first"] = (earliest + table["lead_time"].astype(int)).astype(int)
    table["available"] = table["index"] >= table["first"]
    supply = network.supply.set_index(["site", "item", "period"])
    keys = pd.MultiIndex.from_frame(table[["site", "item", "period"]])
    table["unit_cost"] = table["unit_cost"].fillna(pd.Series(supply["unit_cost"].reindex(keys).to_numpy(),
                                                             index=table.index))
    # Blank co2: the site's Supply value for the item in that period, or 0 when it has none.
    table["co2_per_unit"] = table["co2_per_unit"].fillna(pd.Series(
        supply["co2_per_unit"].reindex(keys).fillna(0.0).to_numpy(), index=table.index))
    return table


def makers(network: Network) -> pd.DataFrame:
    """(site, item, period) where the item can be produced: Supply rows, and the periods in which an
    investment option for it could be available."""
    options = option_periods(network)
    made = [network.supply[["site", "item", "period"]]]
    if len(options):
        made.append(options.loc[options["available"], ["site", "item", "period"]])
    return pd.concat(made, ignore_index=True).drop_duplicates()


def stocking(network: Network) -> pd.DataFrame:
    """(site, item) pairs that may carry stock, with their initial stock."""
    inventory = network.inventory
    return inventory.drop_duplicates(["site", "item"])[["site", "item", "initial"]].reset_index(drop=True)


def salvage_fractions(builds: pd.DataFrame, n_periods: int) -> np.ndarray:
    """The share of its capex credited as salvage value for each (option, build period) row of ``builds``
    (columns ``index``, ``lead_time``, ``life``): straight-line, ``max(0, life - n) / life`` with ``n`` the
    periods in use within the horizon, from its availability (``lead_time`` after the build) to the last
    period (0 when it becomes available only after the horizon: it keeps its whole value). 0 without a life."""
    life = builds["life"].to_numpy(dtype=float) if "life" in builds else np.full(len(builds), np.nan)
    available = builds["index"].to_numpy(dtype=np.int64) + builds["lead_time"].to_numpy(dtype=float).astype(np.int64)
    in_use = np.maximum(0, n_periods - available)
    with np.errstate(invalid="ignore"):
        fraction = np.maximum(0.0, life - in_use) / life
    return np.where(np.isnan(life), 0.0, fraction)


# --------------------------------------------------------------------------- variables and blocks


def add_option_families(formulation: Formulation) -> None:
    """The ``option_production`` and ``build`` families (only when the workbook has options)."""
    network = formulation.network
    options = option_periods(network)
    if not len(options):
        return
    producing = options[options["available"]].reset_index(drop=True)
    formulation.option_periods = options
    family = formulation.add_family("option_production", producing[OPTION_KEYS], 0.0, cost_part="supply")
    formulation.add_costs(family.name, np.arange(len(producing)), producing["index"].to_numpy(), "supply",
                          producing["unit_cost"].to_numpy(dtype=float))
    builds = options[options["buildable"]].reset_index(drop=True)
    divisible = builds["divisible"].to_numpy(dtype=bool)
    build = formulation.add_family("build", builds[["option", "period"]], 0.0, 1.0, integer=~divisible)
    # Capex in the build period; the fixed cost in every period the build makes the option available.
    formulation.add_costs(build.name, np.arange(len(builds)), builds["index"].to_numpy(), "capex",
                          builds["capex"].to_numpy(dtype=float))
    # With a life, the capex less what is left of it after the horizon: credited in the last period.
    _add_salvage(formulation, builds)
    later = builds.reset_index(names="local")[["local", "option", "index", "lead_time"]].merge(
        options[["option", "index", "fixed_cost"]].rename(columns={"index": "paid"}), on="option")
    later = later[later["paid"] >= later["index"] + later["lead_time"].astype(int)]
    formulation.add_costs(build.name, later["local"].to_numpy(), later["paid"].to_numpy(), "investment_fixed",
                          later["fixed_cost"].to_numpy(dtype=float))


def _add_salvage(formulation: Formulation, builds: pd.DataFrame) -> None:
    """The salvage entries of the ledger: ``-capex * salvage fraction`` on each build column with a positive
    fraction, in the last period (``with_capex`` recomputes them from the same fractions)."""
    last = len(formulation.network.periods) - 1
    fraction = salvage_fractions(builds, last + 1)
    salvaged = np.flatnonzero(fraction > 0)
    formulation.add_costs("build", salvaged, np.full(len(salvaged), last), "salvage",
                          -builds["capex"].to_numpy(dtype=float)[salvaged] * fraction[salvaged])


def option_blocks(formulation: Formulation) -> list[ConstraintBlock]:
    """``q - capacity * sum_{t + lead <= period} b <= 0`` per producing (option, period), and
    ``sum_t b <= 1`` per option."""
    options = getattr(formulation, "option_periods", None)
    if options is None or "build" not in formulation.families:
        return []
    production = formulation.families["option_production"]
    build = formulation.families["build"]
    producing = production.keys.assign(var=production.index).merge(
        options[["option", "period", "index", "capacity", "row"]], on=["option", "period"])
    builds = build.keys.assign(var=build.index).merge(options[["option", "period", "index", "lead_time"]],
                                                      on=["option", "period"])
    links = producing[["option", "index", "capacity"]].reset_index(names="row_of").merge(
        builds[["option", "var", "index", "lead_time"]].rename(columns={"index": "built", "var": "build_var"}),
        on="option")
    links = links[links["built"] + links["lead_time"].astype(int) <= links["index"]]
    n = len(producing)
    rows = producing[["option", "site", "item", "period", "capacity", "row"]].rename(columns={"row": "sheet_row"})
    capacity = ConstraintBlock(
        "option_capacity", rows.assign(sense="<=", rhs=0.0, sheet="Investments"),
        np.r_[np.arange(n), links["row_of"].to_numpy()], np.r_[producing["var"].to_numpy(), links["build_var"]],
        np.r_[np.ones(n), -links["capacity"].to_numpy(dtype=float)])
    first = options.drop_duplicates("option")[["option", "row"]].reset_index(drop=True)
    once_rows = first.rename(columns={"row": "sheet_row"}).assign(sense="<=", rhs=1.0, sheet="Investments")
    option_of = pd.Series(np.arange(len(first)), index=first["option"]).reindex(builds["option"]).to_numpy()
    once = ConstraintBlock("build_once", once_rows, option_of, builds["var"].to_numpy(), np.ones(len(builds)))
    return [capacity, once]


def add_stock_family(formulation: Formulation) -> None:
    """The ``stock`` family: one variable per stocking (site, item, period)."""
    inventory = formulation.network.inventory
    if not len(inventory):
        return
    keys = inventory[["site", "item", "period"]]
    index = {p: i for i, p in enumerate(formulation.network.periods)}
    family = formulation.add_family("stock", keys, 0.0, cost_part="holding")
    formulation.add_costs(family.name, np.arange(len(keys)), keys["period"].map(index).to_numpy(), "holding",
                          inventory["holding_cost"].to_numpy(dtype=float))


def stock_terms(formulation: Formulation) -> pd.DataFrame:
    """The stock's entries in the balance rows: ``- s[t]`` in period t, ``+ s[t]`` in period t + 1."""
    family = formulation.families.get("stock")
    if family is None:
        return pd.DataFrame(columns=["site", "item", "period", "var", "coef"])
    keys = family.keys
    periods = list(formulation.network.periods)
    following = dict(zip(periods[:-1], periods[1:], strict=True))
    closing = keys.assign(var=family.index, coef=-1.0)
    carried = keys.assign(var=family.index, coef=1.0, period=keys["period"].map(following))
    return pd.concat([closing, carried[carried["period"].notna()]], ignore_index=True)


def initial_stock(network: Network) -> pd.DataFrame:
    """(site, item, period, initial): the stock available in the first period, before it."""
    pairs = stocking(network)
    return pairs[pairs["initial"] > 0].assign(period=network.periods[0])


def stock_blocks(formulation: Formulation) -> list[ConstraintBlock]:
    """``s <= capacity`` where Inventory gives one, and ``s[last] >= final`` where it gives one."""
    family = formulation.families.get("stock")
    if family is None:
        return []
    inventory = formulation.network.inventory.reset_index(drop=True)
    rows = inventory[["site", "item", "period", "capacity", "final", "row"]].rename(columns={"row": "sheet_row"})
    capped = np.flatnonzero(rows["capacity"].notna().to_numpy())
    blocks = [ConstraintBlock(
        "stock_capacity", rows.iloc[capped].reset_index(drop=True).assign(
            sense="<=", rhs=rows["capacity"].to_numpy(dtype=float)[capped], sheet="Inventory"),
        np.arange(len(capped)), family.index[capped], np.ones(len(capped)))]
    last = rows["period"].to_numpy() == formulation.network.periods[-1]
    ending = np.flatnonzero(last & (rows["final"].to_numpy(dtype=float) > 0))
    blocks.append(ConstraintBlock(
        "stock_final", rows.iloc[ending].reset_index(drop=True).assign(
            sense=">=", rhs=rows["final"].to_numpy(dtype=float)[ending], sheet="Inventory"),
        np.arange(len(ending)), family.index[ending], np.ones(len(ending))))
    return blocks


#: A first-stage decision about one option: not built (None), built in a period (its name), built in
#: parts ({period: fraction}, divisible options), or built in some period of its window ("any").
BuildChoice = str | dict[str, float] | None
ANY_PERIOD = "any"


def fix_builds(formulation: Formulation, builds: dict[str, BuildChoice]) -> None:
    """Fix the build decisions of the named options (the others stay free); options to be built in some
    period of their window get a row ``sum_t b >= 1`` in the ``forced_build`` block. Raises KeyError for
    an option the workbook does not have and ValueError for a period outside its build window."""
    family = formulation.families.get("build")
    known = set(family.keys["option"]) if family is not None else set()
    forced_rows, forced_vars = [], []
    if family is not None:  # new arrays: copies of the model share the old, read-only ones (Formulation.copy)
        family.lower, family.upper = family.lower.copy(), family.upper.copy()
    for option, choice in builds.items():
        if option not in known:
            raise KeyError(f"no investment option named {option!r}")
        mine = np.flatnonzero(family.keys["option"].to_numpy() == option)
        periods = family.keys["period"].to_numpy()[mine]
        if choice == ANY_PERIOD:
            forced_rows.append(option)
            forced_vars.append(family.offset + mine)
            continue
        fraction = {choice: 1.0} if isinstance(choice, str) else dict(choice or {})
        unknown = set(fraction) - set(periods)
        if unknown:
            raise ValueError(f"option {option!r} cannot be built in {sorted(unknown)[0]} (its build window is "
                             f"{periods[0]} to {periods[-1]})")
        fixed = np.array([fraction.get(p, 0.0) for p in periods], dtype=float)
        family.lower[mine] = fixed
        family.upper[mine] = fixed
    if forced_rows:
        source = formulation.option_periods.drop_duplicates("option").set_index("option")["row"]
        rows = pd.DataFrame({"option": forced_rows, "sense": ">=", "rhs": 1.0, "sheet": "Investments",
                             "sheet_row": source.reindex(forced_rows).to_numpy()})
        formulation.add(ConstraintBlock("forced_build", rows,
                                        np.concatenate([np.full(len(v), i) for i, v in enumerate(forced_vars)]),
                                        np.concatenate(forced_vars), np.ones(sum(len(v) for v in forced_vars))))


def with_capex(formulation: Formulation, capex: dict[str, float]) -> Formulation:
    """A copy of the formulation in which the named options cost ``capex`` (the same in every build period):
    their capex and salvage entries of the ledger replaced (the salvage value follows the capex), the build
    columns' objective recomputed from it. Raises KeyError for an option the workbook does not have."""
    family = formulation.families.get("build")
    known = set(family.keys["option"]) if family is not None else set()
    for option in capex:
        if option not in known:
            raise KeyError(f"no investment option named {option!r}")
    changed = formulation.copy()
    build = changed.families["build"]
    options = build.keys["option"].to_numpy()
    discount = np.asarray(changed.network.discount, dtype=float)
    terms = build.keys.merge(changed.option_periods, on=["option", "period"], how="left")
    salvage = salvage_fractions(terms, len(changed.network.periods))
    ledger, cost = [], np.zeros(len(build))
    for name, column, period, part, nominal in changed.ledger:
        if name == "build" and part in ("capex", "salvage"):
            mine = pd.Series(options[column]).map(capex).to_numpy(dtype=float)
            if part == "salvage":
                mine = -mine * salvage[column]
            nominal = np.where(np.isnan(mine), nominal, mine)
        if name == "build":
            np.add.at(cost, column, discount[period] * nominal)
        ledger.append((name, column, period, part, nominal))
    changed.ledger = ledger
    build.cost = cost  # a new array: the model copied from shares the old one (Formulation.copy)
    # The workbook the model now stands for: its Investments (and the options' terms) carry the new capex.
    investments = changed.network.investments.copy()
    terms = changed.option_periods.copy()
    for option, value in capex.items():
        investments.loc[investments["option"] == option, "capex"] = float(value)
        terms.loc[terms["option"] == option, "capex"] = float(value)
    changed.network = replace(changed.network, investments=investments)
    changed.option_periods = terms
    return changed
