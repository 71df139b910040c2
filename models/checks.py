"""Checks on the validated network that warn rather than refuse: numbers dangerous for the LP solver, and
probable mistakes that are still valid input (a gap in a site's demand, a supplier nothing can leave, a capex
out of scale with its option).

:func:`network_warnings` (both kinds) is called by ``optimizer.reading.load`` right after the network is
built; its warnings are printed with the other warnings and listed under ``warnings`` in ``--json``.
Probable mistakes found while a single cell is read (a tariff of 25, a discount factor of 1.1, a lead time
past the horizon) are warned about where that cell is validated, in ``models.network``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.network import Network
from models.problems import describe

#: Numbers of one kind (costs, or quantities) spanning more than this factor get a warning.
MAX_SPAN = 1e9
#: HiGHS treats numbers from 1e20 on as infinite; warn well before that.
MAX_MAGNITUDE = 1e15


def numeric_warnings(network: Network) -> list[str]:
    """Warnings naming the rows whose numbers are dangerous for the LP solver.

    Unit costs (Supply and Lanes; they are the objective and, for value-basis share rules, the
    constraint coefficients) and quantities (Supply and Lanes capacities, Demand quantities;
    they are the right-hand sides) are checked separately: within each kind the non-zero
    magnitudes may span at most ``MAX_SPAN``, and no number may reach ``MAX_MAGNITUDE``.
    """
    columns = {"unit costs": [("Supply", network.supply, "unit_cost"), ("Lanes", network.lanes, "unit_cost")],
               "quantities": [("Supply", network.supply, "capacity"), ("Lanes", network.lanes, "capacity"),
                              ("Demand", network.demand, "quantity")]}
    kinds: dict[str, list[tuple[float, str]]] = {}
    for kind, sources in columns.items():
        frames = [pd.DataFrame({"sheet": sheet, "row": table["row"], "column": column,
                                "value": table[column].astype(float)}) for sheet, table, column in sources]
        values = pd.concat(frames, ignore_index=True)
        # A blank-period row expanded to every period is one workbook cell: count it once.
        values = values[values["value"].notna() & (values["value"] != 0)].drop_duplicates(["sheet", "row", "column"])
        if not len(values):
            continue
        magnitude = values["value"].abs().to_numpy()

        def labelled(at, values=values, magnitude=magnitude) -> tuple[float, list[str]]:
            """(|value|, label) of the extreme rows; ties broken by the label, as min/max of the pairs would."""
            tied = values[magnitude == magnitude[at]]
            labels = [f"{r.sheet} row {r.row} {r.column} {r.value:g}" for r in tied.itertuples()]
            return float(magnitude[at]), labels

        low_value, low_labels = labelled(int(magnitude.argmin()))
        high_value, high_labels = labelled(int(magnitude.argmax()))
        kinds[kind] = [(low_value, min(low_labels)), (high_value, max(high_labels))]

    out = []
    for kind, values in kinds.items():
        if not values:
            continue
        low, high = min(values), max(values)
        if high[0] >= MAX_MAGNITUDE:
            out.append(f"numerically dangerous data: {high[1]} is {MAX_MAGNITUDE:g} or more; the solver may "
                       "treat it as infinite or lose precision. Express it in larger units")
        if high[0] > MAX_SPAN * low[0]:
            out.append(f"numerically dangerous data: {kind} span more than {MAX_SPAN:g}-fold, from {low[1]} to "
                       f"{high[1]}; the solver may lose precision and return an inaccurate plan. Rescale the "
                       "units, or check these rows for typing errors")
    return out


#: Probable mistakes of one kind listed one by one at most; the rest are counted in one more warning.
LISTED = 10
#: A capex above this many times the cost of all its option's production over the horizon is a warning.
CAPEX_SCALE = 1_000


def network_warnings(network: Network) -> list[str]:
    """Every warning computed on the validated network: :func:`numeric_warnings`, then the probable mistakes
    (:func:`demand_gap_warnings`, :func:`idle_supply_warnings`, :func:`capex_scale_warnings`,
    :func:`unreachable_soft_demand_warnings`, :func:`cheap_shortage_warnings`, :func:`pass_through_warnings`)."""
    return [*numeric_warnings(network), *demand_gap_warnings(network), *idle_supply_warnings(network),
            *capex_scale_warnings(network), *unreachable_soft_demand_warnings(network),
            *cheap_shortage_warnings(network), *pass_through_warnings(network)]


def _listed(warnings: list[str], total: int, what: str) -> list[str]:
    """The first ``LISTED`` of ``total`` warnings, and one line counting the others (``what``: "more Supply
    rows ...")."""
    listed = warnings[:LISTED]
    return listed if total <= LISTED else [*listed, f"{total - LISTED:,} {what}"]


def demand_gap_warnings(network: Network) -> list[str]:
    """A warning per site and item whose Demand rows skip a period between its first and last period with a
    row: a period without a row has no demand, so a deleted row makes the plan cheaper without a word. A row
    with quantity 0 is an explicit zero (no gap); a blank-period row covers every period."""
    demand = network.demand
    if len(network.periods) < 3 or not len(demand):
        return []
    position = pd.Series(np.arange(len(network.periods)), index=list(network.periods))
    at = position.reindex(demand["period"]).to_numpy()
    pair = pd.factorize(pd.MultiIndex.from_frame(demand[["site", "item"]]))[0]
    spans = pd.DataFrame({"pair": pair, "at": at}).groupby("pair", sort=True)["at"].agg(["min", "max", "count"])
    gapped = spans.index[(spans["count"] < spans["max"] - spans["min"] + 1).to_numpy()]
    if not len(gapped):
        return []
    first_row = pd.Series(np.arange(len(demand))).groupby(pair).first()
    warnings = []
    for code in gapped[:LISTED].tolist():  # only the ones listed are worded
        at_row = int(first_row[code])
        site, item = demand["site"].iat[at_row], demand["item"].iat[at_row]
        present = set(at[pair == code].tolist())
        low, high = int(spans.at[code, "min"]), int(spans.at[code, "max"])
        missing = [network.periods[i] for i in range(low, high + 1) if i not in present]
        warnings.append(f"Demand: {site} has no {item} demand in {', '.join(map(str, missing))}, between its "
                        f"first ({network.periods[low]}) and last ({network.periods[high]}) period with demand; a "
                        "period without a Demand row has no demand (write 0 where none is meant)")
    return _listed(warnings, len(gapped), "more sites and items have a period without demand between periods "
                                          "with demand")


def _by_lane(keys: pd.DataFrame, lanes: pd.DataFrame, end: str) -> np.ndarray:
    """Whether some lane has each (site, item) row of ``keys`` at its ``end`` ("origin" or "destination"): a lane
    for the item, or a blank-item lane (it carries every item)."""
    item_lane = lanes["item"].notna().to_numpy()
    found = pd.MultiIndex.from_frame(keys[["site", "item"]]).isin(
        pd.MultiIndex.from_frame(lanes.loc[item_lane, [end, "item"]]))
    return found | keys["site"].isin(lanes.loc[~item_lane, end]).to_numpy()


def idle_supply_warnings(network: Network) -> list[str]:
    """A warning per Supply row at a site that nothing can take the item from: no lane leaves the site for
    it (a lane for the item, or a blank-item lane), no BOM at the site consumes it, and the site neither
    demands nor stocks it (those use the item where it is made)."""
    supply = network.supply.drop_duplicates("row")  # a blank-period row expanded to every period: one row
    if not len(supply):
        return []
    keys = pd.MultiIndex.from_frame(supply[["site", "item"]])
    used = _by_lane(supply, network.lanes, "origin")
    for table in (network.demand, network.inventory):
        if len(table):
            used |= keys.isin(pd.MultiIndex.from_frame(table[["site", "item"]]))
    consumed = _consumed(network)
    if len(consumed):
        used |= keys.isin(pd.MultiIndex.from_frame(consumed))
    idle = supply[~used].sort_values("row")
    warnings = [f"Supply row {row}: {site} supplies {item}, but no lane leaves {site} for it (Lanes), no BOM at "
                f"{site} consumes it and {site} neither demands nor stocks it, so it can supply nothing: add a lane "
                "or check the site"
                for row, site, item in zip(idle["row"], idle["site"], idle["item"], strict=True)]
    return _listed(warnings, len(warnings), "more Supply rows can supply nothing (no lane leaves their site for "
                                            "the item)")


def _consumed(network: Network) -> pd.DataFrame:
    """(site, item) pairs a BOM consumes at the site: its own recipes' inputs, and the general recipes' inputs
    at each site that makes the recipe's item (Supply or Investments) without a recipe of its own for it."""
    bom = network.bom
    if not len(bom):
        return pd.DataFrame(columns=["site", "item"])
    own = bom[bom["site"].notna()]
    general = bom[bom["site"].isna()]
    made = [network.supply[["site", "item"]]]
    if len(network.investments):
        made.append(network.investments[["site", "item"]])
    makers = pd.concat(made, ignore_index=True).drop_duplicates()
    with_own = pd.MultiIndex.from_frame(own[["site", "item"]].drop_duplicates())
    makers = makers[~pd.MultiIndex.from_frame(makers).isin(with_own)]
    at_makers = general[["item", "input"]].merge(makers, on="item")[["site", "input"]]
    pairs = pd.concat([own[["site", "input"]], at_makers], ignore_index=True)
    return pairs.rename(columns={"input": "item"}).drop_duplicates().astype(object)


def capex_scale_warnings(network: Network) -> list[str]:
    """A warning per option whose capex is more than ``CAPEX_SCALE`` times the cost of all its production over
    the horizon (capacity x unit cost x number of periods), as a capex typed in USD where costs are in USD M
    would be. The unit cost is the option's, else the largest Supply unit_cost of the site for the item, else
    (when that is 0 or missing) the item's average Supply unit_cost over all sites; an option none of these
    prices (0 or missing) has no scale to compare with and is not checked."""
    options = network.investments.drop_duplicates("option")
    if not len(options):
        return []
    supply = network.supply
    site_cost = supply.groupby(["site", "item"])["unit_cost"].max()
    item_cost = supply.groupby("item")["unit_cost"].mean()
    keys = pd.MultiIndex.from_frame(options[["site", "item"]])
    unit_cost = options["unit_cost"].to_numpy(dtype=float)
    for fallback in (site_cost.reindex(keys).to_numpy(dtype=float),
                     item_cost.reindex(options["item"]).to_numpy(dtype=float)):
        unit_cost = np.where(np.isnan(unit_cost) | (unit_cost <= 0), fallback, unit_cost)
    periods = len(network.periods)
    scale = options["capacity"].to_numpy(dtype=float) * unit_cost * periods
    capex = options["capex"].to_numpy(dtype=float)
    flagged = np.flatnonzero((scale > 0) & (capex > CAPEX_SCALE * scale))  # NaN scale: not priced, not checked
    currency = network.settings.get("currency")
    unit = f" ({currency})" if currency else " (the unit of every other cost)"
    warnings = []
    for i in flagged.tolist():
        row = options.iloc[i]
        warnings.append(
            f"Investments row {row['row']}, column capex: {capex[i]:,.0f} is more than {CAPEX_SCALE:,} times the cost "
            f"of all the production of option {row['option']!r} over the horizon (capacity "
            f"{describe(row['capacity'])} x unit cost {unit_cost[i]:,.4g} x {periods} periods = {scale[i]:,.4g}): is "
            f"it in the workbook's currency{unit}? Check the cell")
    return _listed(warnings, len(warnings), "more options have a capex out of scale with their production")


def unreachable_soft_demand_warnings(network: Network) -> list[str]:
    """A warning per Demand row with a shortage cost at a site that no lane reaches with the item (an item lane or a
    blank-item lane into it) and that neither makes the item (Supply, Investments) nor holds initial stock of it:
    nothing can ever be delivered there, and the row goes unmet at its shortage cost without a word. A row without
    a shortage cost is no warning: it has no plan, and the diagnosis names it."""
    demand = network.demand
    soft = demand[demand["shortage_cost"].notna()].drop_duplicates("row")
    if not len(soft):
        return []
    keys = pd.MultiIndex.from_frame(soft[["site", "item"]])
    reached = _by_lane(soft, network.lanes, "destination")
    inventory = network.inventory
    makers = [network.supply[["site", "item"]], network.investments[["site", "item"]],
              inventory.loc[inventory["initial"] > 0, ["site", "item"]] if len(inventory) else None]
    for table in makers:
        if table is not None and len(table):
            reached |= keys.isin(pd.MultiIndex.from_frame(table))
    cut_off = soft[~reached].sort_values("row")
    warnings = [f"Demand row {row}, column site: no lane delivers {item} to {site}: this demand will go unmet at "
                "the shortage cost (add a lane into the site, or check the row)"
                for row, site, item in zip(cut_off["row"], cut_off["site"], cut_off["item"], strict=True)]
    return _listed(warnings, len(warnings), "more Demand rows with a shortage cost no lane reaches")


def cheap_shortage_warnings(network: Network) -> list[str]:
    """A warning per Demand row whose shortage cost is below the cheapest Supply unit_cost of its item anywhere in
    its period (Supply rows with capacity blank or > 0): delivering costs at least that, so the plan leaves the
    demand unmet rather than serve it (a shortage cost is the price of not delivering, such as the margin lost)."""
    demand = network.demand
    soft = demand[demand["shortage_cost"].notna()]
    supply = network.supply
    supply = supply[supply["capacity"].isna() | (supply["capacity"] > 0)]
    if not len(soft) or not len(supply):
        return []
    cheapest = supply.sort_values(["unit_cost", "row"], kind="stable").drop_duplicates(["item", "period"])
    cheapest = cheapest[["item", "period", "site", "unit_cost", "row"]].rename(
        columns={"site": "cheapest_site", "row": "supply_row"})
    paired = soft[["row", "site", "item", "period", "shortage_cost"]].merge(cheapest, on=["item", "period"])
    below = paired[paired["shortage_cost"] < paired["unit_cost"]]
    below = below.sort_values(["row", "unit_cost"], kind="stable").drop_duplicates("row")
    single = len(network.periods) == 1
    warnings = [f"Demand row {r.row}, column shortage_cost: {describe(float(r.shortage_cost))} is below the cheapest "
                f"supply cost of {r.item} anywhere{'' if single else f' in {r.period}'} ({describe(float(r.unit_cost))}"
                f" at {r.cheapest_site}, Supply row {r.supply_row}): the plan would rather leave this demand unmet "
                "than deliver it; a shortage cost is what not delivering costs (the margin lost): check the cell"
                for r in below.itertuples()]
    return _listed(warnings, len(warnings), "more Demand rows have a shortage cost below the cheapest supply cost of "
                                            "their item")


#: The rules that count goods by where they come from: their ``from`` sites are the goods' origins.
ORIGIN_RULES = frozenset({"min_share", "max_share", "exclude"})


def pass_through_warnings(network: Network) -> list[str]:
    """A warning per rule that counts goods by origin (a share or an exclusion) and a site that receives the rule's
    item from across the rule's ``from`` boundary and ships it on (a port, a depot, a distribution centre): a rule
    counts what a lane carries as coming from the site the lane leaves, so goods passed through such a site take
    its side of the boundary (Chinese cells through Rotterdam count as EU content; excluded cathode through a
    depot outside the excluded group is no longer excluded)."""
    lanes = network.lanes
    if not len(lanes):
        return []
    item_lane = lanes["item"].notna().to_numpy()
    # Each lane whose destination ships its item on (a lane for the item, or a blank-item lane, leaves it).
    ships_on = _by_lane(lanes[["destination", "item"]].set_axis(["site", "item"], axis=1), lanes, "origin")
    warnings = []
    for policy in network.policies.values():
        for rule in policy.rules:
            if rule.type not in ORIGIN_RULES or not rule.from_sites:
                continue
            inside = lanes["origin"].isin(rule.from_sites).to_numpy()
            crossing = inside != lanes["destination"].isin(rule.from_sites).to_numpy()  # into the other side
            wanted = lanes["item"].isin(rule.items).to_numpy() if rule.items else item_lane
            passed = lanes[crossing & (wanted | ~item_lane) & ships_on].drop_duplicates("destination")
            if not len(passed):
                continue
            side = rule.from_text or "the rule's from sites"
            from_inside = passed["origin"].isin(rule.from_sites).to_numpy()
            for leaving, counted in ((False, f"count as from {side}"), (True, f"no longer count as from {side}")):
                these = passed[from_inside == leaving]
                if not len(these):
                    continue
                named = ", ".join(f"{site} (from {origin})" for site, origin in
                                  zip(these["destination"][:3], these["origin"][:3], strict=True))
                more = f" and {len(these) - 3} more" if len(these) > 3 else ""
                warnings.append(
                    f"Policies row {rule.row} ({policy.name}, {rule.label()}): {named}{more} "
                    f"{'receives' if len(these) == 1 else 'receive'} goods across the rule's from boundary and "
                    f"{'ships' if len(these) == 1 else 'ship'} them on; a rule counts goods as coming from the site "
                    f"they leave, so goods passed through there {counted} (check that this is meant)")
    return _listed(warnings, len(warnings), "more rules count goods passed through a site as that site's")
