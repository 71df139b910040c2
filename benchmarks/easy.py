"""The easy profile of ``benchmarks/ratio.py``: many lanes, few supply rows, an LP HiGHS solves in seconds.

An analyst's model is usually easy for HiGHS: the time around the solver (reading, validating, formulating,
writing) is then what the user waits for. This workbook is shaped like the one in issue 15 (about 800
suppliers, 40 plants, 10 items and 6 periods at 5x10^5 flows):

* **Items**: 10, in three categories; **Periods** 2026-2031 (6).
* **Sites**: suppliers round-robin over the nine countries of ``benchmarks/scale.py``'s three groups (Chinese
  suppliers tagged ``feoc_owned``); plants in the United States, Canada and Mexico.
* **Supply**: few rows. Each supplier makes 2 or 3 items, one blank-period row per item (one row serves
  every period); every supplier has a capacity.
* **Demand**: every plant, every item, every period.
* **Lanes**: many rows. One lane from every supplier to every plant for each item the supplier makes (it
  carries that item every period), without capacity, so the LP is a transportation problem with a few side
  rows; a lane's cost grows with the distance between the regions.
* **Tariffs**: China 25%; Asia into North America 3.4% on battery components.
* **Policies**, policy set ``easy``: ``min_share`` 40% of the value from ``north_america`` (total, every
  period) and ``exclude`` cells from ``feoc_owned`` into the ``United States``.

Feasible by construction: every item has North American suppliers whose capacity, all together, is twice
the item's demand in the last (largest) period, and all suppliers together can meet it more than 3 times.
"""

from __future__ import annotations

import math

import numpy as np
from scale import REGIONS

POLICY = "easy"
PERIODS = [str(2026 + p) for p in range(6)]
#: (item, unit, category, base unit cost, demand scale)
ITEMS = [
    ("cells", "GWh", "battery_component", 100.0, 1.0),
    ("modules", "unit", "battery_component", 140.0, 0.5),
    ("packs", "unit", "battery_component", 180.0, 0.4),
    ("cathode", "kt", "material", 35.0, 2.0),
    ("anode", "kt", "material", 20.0, 1.5),
    ("separator", "km2", "material", 8.0, 3.0),
    ("electrolyte", "kt", "material", 12.0, 1.2),
    ("lithium", "kt", "mineral", 15.0, 0.8),
    ("nickel", "kt", "mineral", 18.0, 0.9),
    ("graphite", "kt", "mineral", 6.0, 1.1),
]
#: How many items each supplier makes, in turn: 2.5 on average.
ITEMS_PER_SUPPLIER = (2, 3, 3, 2)
REGION_COST = {"north_america": 1.15, "europe": 1.05, "asia": 0.85}
#: Lane cost per unit, by the supplier's region (every plant is North American).
REGION_LANE_COST = {"north_america": (1.0, 4.0), "europe": (4.0, 8.0), "asia": (5.0, 10.0)}

COLUMNS = {
    "Sites": ["site", "country", "tags"],
    "Groups": ["group", "country"],
    "Items": ["item", "unit", "category"],
    "Supply": ["site", "item", "period", "capacity", "unit_cost"],
    "Demand": ["site", "item", "period", "quantity"],
    "Lanes": ["origin", "destination", "item", "unit_cost", "capacity"],
    "Tariffs": ["origin", "destination", "item", "period", "rate"],
    "Policies": ["policy", "rule", "items", "from", "to", "value", "basis", "scope", "period"],
    "Periods": ["period"],
}
TARIFFS = [
    {"origin": "China", "destination": None, "item": None, "period": None, "rate": 0.25},
    {"origin": "asia", "destination": "north_america", "item": "battery_component", "period": None,
     "rate": 0.034},
]
POLICIES = [
    {"policy": POLICY, "rule": "min_share", "items": None, "from": "north_america", "to": None,
     "value": 0.4, "basis": "value", "scope": "total", "period": None},
    {"policy": POLICY, "rule": "exclude", "items": "cells", "from": "feoc_owned", "to": "United States",
     "value": None, "basis": None, "scope": None, "period": None},
]


def network_shape(target: int) -> dict[str, int]:
    """Numbers of suppliers and plants giving about ``target`` flow variables: every supplier has a lane to
    every plant for each item it makes (2.5 on average), and a lane carries one flow per period."""
    per_pair = np.mean(ITEMS_PER_SUPPLIER) * len(PERIODS)
    pairs = max(12, target / per_pair)
    plants = max(3, round(math.sqrt(pairs / 20)))
    suppliers = max(9, round(pairs / plants))
    return {"suppliers": suppliers, "plants": plants, "pairs": suppliers * plants}


def generate(target: int, seed: int = 0) -> tuple[dict[str, list[dict]], dict]:
    """Sheets of a feasible easy workbook with about ``target`` flow variables, and its shape."""
    rng = np.random.default_rng(seed)
    shape = network_shape(target)
    n_sup, n_plant = shape["suppliers"], shape["plants"]
    n_items, n_periods = len(ITEMS), len(PERIODS)
    countries = [(g, c, code) for g, cs in REGIONS.items() for c, code in cs]

    suppliers = []
    for i in range(n_sup):
        region, country, code = countries[i % len(countries)]
        tags = "supplier;feoc_owned" if code == "CN" else "supplier"
        suppliers.append({"site": f"S{i:05d}_{code}", "country": country, "tags": tags, "region": region})
    plants = []
    for j in range(n_plant):
        country, code = REGIONS["north_america"][j % 3]
        plants.append({"site": f"P{j:04d}_{code}", "country": country, "tags": "pack_plant"})

    # Which items each supplier makes: consecutive items from a rotating start, so every item has suppliers
    # of every country.
    makes = [[(i * 7 + k) % n_items for k in range(ITEMS_PER_SUPPLIER[i % len(ITEMS_PER_SUPPLIER)])]
             for i in range(n_sup)]
    growth = 1.0 + 0.06 * np.arange(n_periods)
    base = rng.uniform(50, 150, size=(n_plant, n_items)) * np.array([it[4] for it in ITEMS])
    demand = np.round(base[:, :, None] * growth[None, None, :], 1)  # plant x item x period
    peak = demand[:, :, -1].sum(axis=0)  # per item, the largest period

    na = [s["region"] == "north_america" for s in suppliers]
    makers = np.zeros(n_items)
    na_makers = np.zeros(n_items)
    for i, items in enumerate(makes):
        for t in items:
            makers[t] += 1
            na_makers[t] += na[i]
    supply_rows = []
    for i, s in enumerate(suppliers):
        for t in makes[i]:
            share = 2.0 * peak[t] / na_makers[t] if na[i] else 3.0 * peak[t] / makers[t]
            supply_rows.append({"site": s["site"], "item": ITEMS[t][0], "period": None,
                                "capacity": float(math.ceil(share * rng.uniform(1.0, 1.3))),
                                "unit_cost": round(ITEMS[t][3] * REGION_COST[s["region"]] * rng.uniform(0.9, 1.1),
                                                   2)})

    demand_rows = [{"site": plants[j]["site"], "item": ITEMS[t][0], "period": PERIODS[p],
                    "quantity": float(demand[j, t, p])}
                   for j in range(n_plant) for t in range(n_items) for p in range(n_periods)]

    low = np.array([REGION_LANE_COST[s["region"]][0] for s in suppliers])
    high = np.array([REGION_LANE_COST[s["region"]][1] for s in suppliers])
    costs = np.round(rng.uniform(low[None, :], high[None, :], size=(n_plant, n_sup)), 2)
    premium = np.round(rng.uniform(0.0, 1.0, size=(n_plant, n_sup, max(ITEMS_PER_SUPPLIER))), 2)
    lane_rows = [{"origin": suppliers[i]["site"], "destination": plants[j]["site"], "item": ITEMS[t][0],
                  "unit_cost": round(float(costs[j, i] + premium[j, i, k]), 2), "capacity": None}
                 for j in range(n_plant) for i in range(n_sup) for k, t in enumerate(makes[i])]

    sheets = {
        "Sites": [{k: s[k] for k in COLUMNS["Sites"]} for s in suppliers] + plants,
        "Groups": [{"group": g, "country": c} for g, cs in REGIONS.items() for c, _ in cs],
        "Items": [{"item": item, "unit": unit, "category": cat} for item, unit, cat, _, _ in ITEMS],
        "Supply": supply_rows,
        "Demand": demand_rows,
        "Lanes": lane_rows,
        "Tariffs": TARIFFS,
        "Policies": POLICIES,
        "Periods": [{"period": p} for p in PERIODS],
    }
    flows = n_plant * n_periods * sum(len(m) for m in makes)
    shape.update(sites=len(sheets["Sites"]), lane_rows=len(lane_rows), supply_rows=len(supply_rows),
                 demand_rows=len(demand_rows), periods=n_periods, items=n_items, expected_flows=flows)
    return sheets, shape
