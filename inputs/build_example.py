"""Build the example workbook ``inputs/ev_battery_north_america.xlsx`` (workbook contract v3).

Run from the repository root:

    python inputs/build_example.py              # writes inputs/ev_battery_north_america.xlsx
    python inputs/build_example.py --ieepa      # variant with the 2025 IEEPA "reciprocal" tariffs
                                                # (writes inputs/ev_battery_north_america_ieepa.xlsx)

Only openpyxl and the standard library are used. The output is byte-for-byte reproducible:
the document properties and the zip entry timestamps are fixed.

Every number is explained in ``inputs/EXAMPLE.md`` (facts with their section in
``ev-battery-supply-chain.md`` and source URL; everything else is labelled "Assumption").
The ``source`` / ``notes`` columns and the ``Notes`` sheet are ignored by the tool.
Units: cells in GWh with costs in USD million per GWh (= $/kWh); cathode active material
(CAM) in kt with costs in USD million per kt (= $/kg); emissions in t CO2e (per GWh, per kt). The Settings
sheet names both units (currency USD M, emissions_unit t CO2e).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "ev_battery_north_america.xlsx"
IEEPA_OUTPUT = HERE / "ev_battery_north_america_ieepa.xlsx"
FIXED_TIME = dt.datetime(2026, 12, 2, 0, 0)
PERIODS = [2026, 2027, 2028, 2029, 2030]
A = "assumption"

# --------------------------------------------------------------------------------------------
# Emissions (contract v3 part 3), in t CO2e: per GWh of cells, per kt of CAM (and LiOH in the
# multi-tier example). Production emissions are driven by the grid of the site's country (Canadian
# sites: their province); see EXAMPLE.md "Emissions" for every figure with its URL.
# --------------------------------------------------------------------------------------------

EMBER = "Ember 2023 via ourworldindata.org"
LCP = "lowcarbonpower.org 2023"
#: Grid intensity of electricity, g CO2e per kWh (lifecycle), with its short source.
GRID = {
    "China": (582, EMBER),
    "Hungary": (204, EMBER),
    "Chile": (291, EMBER),
    "United States": (354, LCP),
    "South Korea": (413, LCP),
    "Poland": (575, LCP),
    "Quebec": (10, "Hydro-Quebec, reservoir hydropower"),
    "Ontario": (40, "derived: 6% gas x 490 g + 94% clean x 12 g"),
}
CELL_KWH = 30           # kWh of electricity per kWh of cells made (Degen et al. 2023: 20.3-37.5 kWh/kWh)
CELL_MATERIALS = 15.0   # kg CO2e per kWh: anode, foils, electrolyte, separator, casing (assumption)
CAM_PER_KWH = 1.4       # kg CAM per kWh of NMC811 cells (ref §5.4, derived; as the BOM)
CAM_KWH = 15            # kWh of electricity per kg CAM: pCAM precipitation and calcination (assumption)
CAM_METALS = 8.0        # kg CO2e per kg CAM: nickel, cobalt and manganese sulphates (assumption)
LIOH_KWH = 10           # kWh of electricity per kg LiOH.H2O refined (assumption)
LIOH_FIXED = 6.0        # kg CO2e per kg LiOH.H2O: mining, process fuel, reagents (assumption)
LIOH_PER_CAM = 0.43     # kg LiOH.H2O per kg NMC811 CAM (ref §5.4, derived; MULTITIER.md BOM)
#: kg CO2e per kg of finished CAM besides its own electricity: the metals plus its lithium, refined in China.
CAM_MATERIALS = round(CAM_METALS + LIOH_PER_CAM * (LIOH_FIXED + LIOH_KWH * GRID["China"][0] / 1000), 1)  # 13.1

#: Freight emissions. Truck: 90 g CO2e per t-km (assumption) over the truck rate behind the freight costs
#: ($3/mile for a 20 t load, EXAMPLE.md "Lanes") = 965 g CO2e per $ of truck freight, i.e. 965.4 t CO2e per
#: USD M. Ocean: GLEC v3.2 default 8.15 g CO2e/t-km (container ship, average fleet) plus rail inland.
TRUCK_T_PER_USD_M = round(90 / (3 / 1.609 / 20), 1)  # 965.4 t CO2e per USD M of truck freight
CELLS_T_PER_GWH = 4000  # t of NMC cells per GWh at 250 Wh/kg (ref §5.5)
OCEAN = {  # kg CO2e per t shipped: ocean km x 8.15 g/t-km (GLEC v3.2) + rail km x 25 g/t-km (assumption)
    "Asia": (10500, 3000),     # China/Korea -> a North American port, then rail
    "Europe": (7500, 2000),    # Hungary/Poland -> US East Coast, rail at both ends
    "Chile": (9000, 0),        # Chile -> Becancour QC by sea (St. Lawrence port)
}


def grid_region(site: str, country: str) -> str:
    """The grid a site draws on: its province for the Canadian sites, else its country."""
    return {"_QC": "Quebec", "_ON": "Ontario"}.get(site[-3:], country)


def _grid(site: str, country: str) -> tuple[str, int, str]:
    region = grid_region(site, country)
    return region, *GRID[region]


def cell_co2(site: str, country: str, with_cam: bool) -> tuple[float, str]:
    """t CO2e per GWh of cells made at the site; ``with_cam``: bought finished, so with the CAM in them (made
    on the same grid, assumption); otherwise the site's CAM is a BOM input with its own emissions."""
    region, g, source = _grid(site, country)
    kwh = CELL_KWH + (CAM_PER_KWH * CAM_KWH if with_cam else 0)
    materials = 1000 * (CELL_MATERIALS + (CAM_PER_KWH * CAM_MATERIALS if with_cam else 0))
    value = round(kwh * g + materials)
    what = (f"{CELL_KWH} kWh/kWh cell making (Degen 2023) + 1.4 kg CAM x {CAM_KWH} kWh/kg" if with_cam
            else f"{CELL_KWH} kWh/kWh cell making (Degen 2023), CAM a BOM input")
    return value, (f"co2: {what} = {kwh:g} kWh x {g} g/kWh {region} ({source}) + {materials:,.0f} t materials "
                   f"(assumption) = {value:,} t CO2e/GWh")


def cam_co2(site: str, country: str, with_lithium: bool = True) -> tuple[float, str]:
    """t CO2e per kt of CAM made at the site; ``with_lithium``: its lithium bought in (Chinese-refined LiOH,
    assumption), otherwise the site's LiOH is a BOM input with its own emissions."""
    region, g, source = _grid(site, country)
    materials = 1000 * (CAM_MATERIALS if with_lithium else CAM_METALS)
    value = round(CAM_KWH * g + materials)
    what = "metals and LiOH" if with_lithium else "metals; LiOH a BOM input"
    return value, (f"co2: {CAM_KWH} kWh/kg x {g} g/kWh {region} ({source}) + {materials:,.0f} t {what} "
                   f"(assumption) = {value:,} t CO2e/kt")


def lioh_co2(site: str, country: str) -> tuple[float, str]:
    """t CO2e per kt of LiOH.H2O refined at the site."""
    region, g, source = _grid(site, country)
    value = round(LIOH_KWH * g + 1000 * LIOH_FIXED)
    return value, (f"co2: {LIOH_KWH} kWh/kg x {g} g/kWh {region} ({source}) + {1000 * LIOH_FIXED:,.0f} t mining "
                   f"and process fuel (assumption) = {value:,} t CO2e/kt")


def lane_co2(origin: str, unit: str, freight: float) -> tuple[float, str]:
    """t CO2e per unit shipped (a GWh of cells weighs 4,000 t, a kt 1,000 t), with its derivation: truck within
    North America follows its freight cost, an ocean lane its route."""
    route = ("Asia" if origin.endswith(("_CN", "_KR")) else "Europe" if origin.endswith(("_HU", "_PL"))
             else "Chile" if origin.endswith("_CL") else None)
    if route is None:
        value = round(freight * TRUCK_T_PER_USD_M, 1)
        return value, (f"co2: truck, {freight:g} USD M freight x {TRUCK_T_PER_USD_M:g} t per USD M (90 g/t-km at "
                       f"$3/mile for 20 t: assumption) = {value:g} t CO2e/{unit}")
    ocean, rail = OCEAN[route]
    tonnes = CELLS_T_PER_GWH if unit == "GWh" else 1000
    value = round(tonnes * (ocean * 8.15 + rail * 25) / 1e6, 1)
    inland = f" + {rail:,} km rail x 25 g" if rail else ""
    return value, (f"co2: {tonnes:,} t x ({ocean:,} km ocean x 8.15 g/t-km GLEC v3.2{inland}; km: assumption) "
                   f"= {value:g} t CO2e/{unit}")


# --------------------------------------------------------------------------------------------
# Sheet data. Each sheet: (headers, rows). None = blank cell.
# --------------------------------------------------------------------------------------------

SITES = (
    ["site", "country", "tags", "source"],
    [
        # Pack / vehicle plants (receive cells)
        ["BMW_Woodruff_SC", "United States", "pack_plant", "ref §4 note (BMW battery assembly plant)"],
        ["VW_Chattanooga_TN", "United States", "pack_plant", "assumption (site not in reference)"],
        ["GM_FactoryZero_MI", "United States", "pack_plant", "assumption (site not in reference)"],
        ["BMW_SanLuisPotosi_MX", "Mexico", "pack_plant", "ref §4.1 (AESC 2nd building for BMW Mexico)"],
        # Cell plants (supply cells; AESC and PowerCo also receive CAM)
        ["AESC_Florence_SC", "United States", "cell_plant", "ref §4.1"],
        ["Ultium_SpringHill_TN", "United States", "cell_plant", "ref §4.1"],
        ["StarPlus_Kokomo_IN", "United States", "cell_plant", "ref §4.1"],
        ["PowerCo_StThomas_ON", "Canada", "cell_plant", "ref §4.1"],
        ["CATL_Debrecen_HU", "Hungary", "cell_plant;feoc_owned", "ref §4.3 (Chinese-owned: FEOC/PFE)"],
        ["LGES_Wroclaw_PL", "Poland", "cell_plant", "ref §4.3 (not FEOC; EU not FTA)"],
        ["CATL_Ningde_CN", "China", "cell_plant;feoc_owned", "assumption (site); China cost ref §5.2"],
        # CAM plants (supply CAM)
        ["EcoPro_Becancour_QC", "Canada", "cam_plant", "ref §4.2"],
        ["PoscoFutureM_Becancour_QC", "Canada", "cam_plant", "ref §4.2 (capacity unverified)"],
        ["Umicore_Loyalist_ON", "Canada", "cam_plant", "ref §4.2, §7.1 (paused Jul 2024)"],
        ["Umicore_Cheonan_KR", "South Korea", "cam_plant", "ref §4.2, §4.3"],
        ["CAM_Generic_CN", "China", "cam_plant", "assumption (generic Chinese CAM maker)"],
    ],
)

# Resilience (contract v4: Sites recovery_weeks, Demand shortage_cost, for `sourcing stress`). The reference gives
# no recovery times or margins: every figure is an assumption (EXAMPLE.md "Resilience").
#: Weeks a plant needs to recover from a disruption (a fire, a failed line), by the tag saying what it makes.
RECOVERY_WEEKS = {"cell_plant": 20, "cam_plant": 16, "lioh_plant": 12}
#: A generic supplier stands for a market of many plants: an outage of one is bridged by ordering from others.
GENERIC_RECOVERY_WEEKS = 4
#: The value to the buyer of a GWh of cells it cannot build into vehicles: the contribution margin of the vehicles
#: before their cells, $15,000 per vehicle (about $9,000 after the pack plus $6,000 of cells at $80/kWh x 75 kWh),
#: x 13,333 vehicles per GWh (75 kWh packs, as in MULTITIER.md) = USD 200 M per GWh. Above any plan's marginal
#: cost of a GWh delivered (at most 112 in the examples), so no plan leaves demand unmet.
MARGIN_BEFORE_CELLS = 15_000
VEHICLE_KWH = 75
SHORTAGE_COST = round(MARGIN_BEFORE_CELLS / VEHICLE_KWH, 1)  # USD per kWh = USD M per GWh: 200.0


def recovery_weeks(site: str, tags: str) -> tuple[float | None, str]:
    """A site's recovery_weeks and how it was chosen: by what it makes; blank for a pack plant (it makes and
    passes on nothing in the model, so it cannot go down)."""
    if "_Generic_" in site:
        return GENERIC_RECOVERY_WEEKS, f"recovery {GENERIC_RECOVERY_WEEKS} weeks: a market of plants (assumption)"
    kind = next((tag for tag in tags.split(";") if tag in RECOVERY_WEEKS), None)
    if kind is None:
        return None, "recovery blank: a pack plant makes nothing here"
    return RECOVERY_WEEKS[kind], f"recovery {RECOVERY_WEEKS[kind]} weeks for a {kind.replace('_', ' ')} (assumption)"


def with_recovery(table: tuple[list, list]) -> tuple[list, list]:
    """Insert recovery_weeks before the last (source) column of a Sites table, its reason appended to the source."""
    headers, rows = table
    out = []
    for row in rows:
        weeks, text = recovery_weeks(row[0], row[headers.index("tags")])
        out.append([*row[:-1], weeks, f"{row[-1]}; {text}"])
    return [*headers[:-1], "recovery_weeks", headers[-1]], out


def with_shortage_cost(table: tuple[list, list]) -> tuple[list, list]:
    """Insert shortage_cost (USD M per GWh of cells not delivered) before the last (source) column of Demand."""
    headers, rows = table
    text = (f"shortage {SHORTAGE_COST:g}: ${MARGIN_BEFORE_CELLS:,} margin per vehicle before its cells x 13,333 "
            f"vehicles per GWh ({VEHICLE_KWH} kWh): assumption")
    return [*headers[:-1], "shortage_cost", headers[-1]], [[*row[:-1], SHORTAGE_COST, f"{row[-1]}; {text}"]
                                                           for row in rows]


SITES = with_recovery(SITES)

GROUPS = (
    ["group", "country", "source"],
    [
        ["north_america", "United States", "ref §1.1 (final assembly in North America), §3.3 USMCA"],
        ["north_america", "Canada", "ref §1.1, §3.3"],
        ["north_america", "Mexico", "ref §1.1, §3.3"],
        ["fta_partners", "Canada", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
        ["fta_partners", "Mexico", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
        ["fta_partners", "South Korea", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
        ["fta_partners", "Japan", "ref §1.4 (US-Japan Critical Minerals Agreement)"],
        ["feoc_nations", "China", "ref §1.3"],
        ["feoc_nations", "Russia", "ref §1.3"],
        ["feoc_nations", "North Korea", "ref §1.3"],
        ["feoc_nations", "Iran", "ref §1.3"],
    ],
)

ITEMS = (
    ["item", "unit", "category", "notes"],
    [
        ["cells_nmc", "GWh", "battery_component",
         "NMC811 EV cells; cost in USD million per GWh (= $/kWh); IRA battery component (ref §1.1)"],
        ["cam_nmc", "kt", "critical_mineral",
         "NMC811 cathode active material; cost in USD million per kt (= $/kg); "
         "proxy for the IRA critical-mineral test (ref §1.1)"],
    ],
)

# Supply: a row with a period overrides the blank-period row of the same site and item.
C, M = "cells_nmc", "cam_nmc"
SUPPLY = (
    ["site", "item", "period", "capacity", "unit_cost", "source"],
    [
        ["Ultium_SpringHill_TN", C, None, 10, 78.0, "50 GWh plant ref §4.1; 10 available, +30%: assumption"],
        ["StarPlus_Kokomo_IN", C, None, 12, 84.0, "33+34 GWh ref §4.1; 12 available, +40%: assumption"],
        ["StarPlus_Kokomo_IN", C, 2026, 8, 84.0, "plant #2 only from 2027 (ref §4.1); 8: assumption"],
        ["PowerCo_StThomas_ON", C, None, 30, 54.6, "up to 90 GWh ref §4.1; 30 available: assumption; cost "
         "$84/kWh all-in less its CAM (1.4 kg x $21, BOM): assumption"],
        ["PowerCo_StThomas_ON", C, 2026, 0, 54.6, "first cells 2027 (ref §4.1): no supply in 2026"],
        ["PowerCo_StThomas_ON", C, 2027, 6, 58.6, "ramp-up volume and cost ($88 all-in): assumption"],
        ["PowerCo_StThomas_ON", C, 2028, 15, 56.6, "ramp-up volume and cost ($86 all-in): assumption"],
        ["PowerCo_StThomas_ON", C, 2029, 20, 54.6, "ramp-up volume: assumption"],
        ["CATL_Debrecen_HU", C, None, 12, 66.0, "100 GWh ref §4.3; 12 available, $60 x 1.10: assumption"],
        ["LGES_Wroclaw_PL", C, None, 8, 74.0, "capacity UNVERIFIED ref §4.3; 8, $67.1 x 1.10: assumption"],
        ["CATL_Ningde_CN", C, None, None, 60.0, "$60/kWh ref §5.2; unlimited (overcapacity ref §4.3)"],
        ["PoscoFutureM_Becancour_QC", M, None, 10, 21.5, "capacity UNVERIFIED ref §4.2; 10, cost: assumed"],
        ["PoscoFutureM_Becancour_QC", M, 2026, 0, 21.5, "start year 2028: assumption"],
        ["PoscoFutureM_Becancour_QC", M, 2027, 0, 21.5, "start year 2028: assumption"],
        ["Umicore_Cheonan_KR", M, None, 30, 18.5, "serves AESC NA ref §4.2; 30, $17.6 x 1.05: assumption"],
        ["CAM_Generic_CN", M, None, None, 17.6, "NCM811 CAM $17.64/kg ref §5.3; unlimited: assumption"],
    ],
)
# The CAM in a GWh of cells: site recipes of the two North American cell plants that make cells here.
_CELL_PLANTS_NEEDING_CAM = ("AESC_Florence_SC", "PowerCo_StThomas_ON")
COUNTRY = {row[0]: row[1] for row in SITES[1]}


def production_co2(site: str, item: str) -> tuple[float, str]:
    """t CO2e per unit the site makes of the item: cells with their CAM unless the site's BOM brings it in."""
    if item == C:
        return cell_co2(site, COUNTRY[site], with_cam=site not in _CELL_PLANTS_NEEDING_CAM)
    return cam_co2(site, COUNTRY[site])


def with_co2(table: tuple[list, list], production, inherit: frozenset = frozenset()) -> tuple[list, list]:
    """Insert a co2_per_unit column before the last (source) column: ``production(site, item)`` gives the value
    and its derivation, appended to the source. Blank for the (site, item) pairs of ``inherit`` (an option on a
    site with Supply rows takes their value)."""
    headers, rows = table
    out = []
    for row in rows:
        site, item = row[headers.index("site")], row[headers.index("item")]
        value, text = (None, "co2: blank, the site's Supply value") if (site, item) in inherit \
            else production(site, item)
        out.append([*row[:-1], value, f"{row[-1]}; {text}"])
    return [*headers[:-1], "co2_per_unit", headers[-1]], out


SUPPLY = with_co2(SUPPLY, production_co2)

DEMAND = (
    ["site", "item", "period", "quantity", "source"],
    [
        ["BMW_Woodruff_SC", "cells_nmc", 2026, 8, A],
        ["BMW_Woodruff_SC", "cells_nmc", 2027, 12, A],
        ["BMW_Woodruff_SC", "cells_nmc", 2028, 16, A],
        ["BMW_Woodruff_SC", "cells_nmc", 2029, 20, A],
        ["BMW_Woodruff_SC", "cells_nmc", 2030, 24, A],
        ["VW_Chattanooga_TN", "cells_nmc", None, 7, A],
        ["GM_FactoryZero_MI", "cells_nmc", None, 9, A],
        ["BMW_SanLuisPotosi_MX", "cells_nmc", 2027, 4, "assumption (no demand in 2026)"],
        ["BMW_SanLuisPotosi_MX", "cells_nmc", 2028, 6, A],
        ["BMW_SanLuisPotosi_MX", "cells_nmc", 2029, 8, A],
        ["BMW_SanLuisPotosi_MX", "cells_nmc", 2030, 10, A],
    ],
)
DEMAND = with_shortage_cost(DEMAND)

# Freight per unit: $/kWh for cells, $/kg for CAM. All values are assumptions; the ocean leg is
# anchored on ref §5.5 (~$0.8-1.1/kWh for cells, ~$0.20/kg for CAM, Asia -> US).
_CELL_FREIGHT = {
    #                      Woodruff SC, Chattanooga TN, Factory Zero MI, San Luis Potosi MX
    "AESC_Florence_SC": (0.15, 0.30, 0.50, 0.90),
    "Ultium_SpringHill_TN": (0.35, 0.20, 0.45, 0.85),
    "StarPlus_Kokomo_IN": (0.45, 0.35, 0.25, 0.95),
    "PowerCo_StThomas_ON": (0.60, 0.50, 0.20, 1.10),
    "CATL_Debrecen_HU": (1.40, 1.50, 1.60, 1.70),
    "LGES_Wroclaw_PL": (1.40, 1.50, 1.60, 1.70),
    "CATL_Ningde_CN": (1.60, 1.60, 1.60, 1.30),
}
_PACK_PLANTS = ("BMW_Woodruff_SC", "VW_Chattanooga_TN", "GM_FactoryZero_MI", "BMW_SanLuisPotosi_MX")
_CAM_FREIGHT = {
    #                          AESC Florence SC, PowerCo St. Thomas ON
    "EcoPro_Becancour_QC": (0.17, 0.09),
    "Umicore_Loyalist_ON": (0.15, 0.05),
    "PoscoFutureM_Becancour_QC": (0.17, 0.09),
    "Umicore_Cheonan_KR": (0.30, 0.32),
    "CAM_Generic_CN": (0.30, 0.32),
}


def _lane_source(origin: str) -> str:
    if origin.endswith(("_CN", "_KR")):
        return "assumption; ocean leg ~ref §5.5"
    if origin.endswith(("_HU", "_PL")):
        return "assumption (transatlantic, by analogy with ref §5.5)"
    return "assumption (truck/rail within North America)"


def _lane(origin: str, destination: str, item: str, cost: float) -> list:
    co2, text = lane_co2(origin, "GWh" if item == C else "kt", cost)
    return [origin, destination, item, cost, None, co2, f"{_lane_source(origin)}; {text}"]


LANES = (
    ["origin", "destination", "item", "unit_cost", "capacity", "co2_per_unit", "source"],
    [_lane(o, d, C, cost) for o, costs in _CELL_FREIGHT.items() for d, cost in zip(_PACK_PLANTS, costs, strict=True)]
    + [_lane(o, d, M, cost)
       for o, costs in _CAM_FREIGHT.items() for d, cost in zip(_CELL_PLANTS_NEEDING_CAM, costs, strict=True)],
)

# Tariffs into US destinations only (duties into Canada and Mexico are not modelled: assumption).
TARIFFS = (
    ["origin", "destination", "item", "period", "rate", "source"],
    [
        ["China;Hungary;Poland", "United States", "battery_component", None, 0.034,
         "base MFN on Li-ion cells 2.7-3.4% (ref §3.1), upper end"],
        ["China", "United States", "battery_component", None, 0.25,
         "Section 301 EV Li-ion batteries 25% from 27 Sep 2024 (ref §3.1)"],
        ["China", "United States", "critical_mineral", None, 0.25,
         "Section 301 critical minerals 25% (ref §3.1); applies to CAM: assumption"],
    ],
)

# Optional variant (--ieepa). Not in the default workbook: ref §3.2 reports that the Supreme
# Court struck down all IEEPA tariffs on 20 Feb 2026, i.e. before/at the start of the model horizon.
IEEPA_TARIFFS = [
    ["South Korea", "United States", None, None, 0.15,
     "IEEPA reciprocal Korea 15% (ref §3.2, 7 Aug 2025; struck down 20 Feb 2026 per ref §3.2)"],
    ["Hungary;Poland", "United States", "battery_component", None, 0.116,
     "IEEPA EU 15% all-in minus 3.4% MFN (ref §3.2; struck down 20 Feb 2026 per ref §3.2)"],
]

CARBON_PRICE = 190 / 1e6  # USD M per t CO2e: $190/t (US EPA social cost of carbon, 2023 report)
CARBON_CAP = 2_200_000    # t CO2e per period (assumption, see EXAMPLE.md "Carbon policy sets")
_45X_CELLS = [2026, 35.0], [2027, 35.0], [2028, 35.0], [2029, 35.0], [2030, 26.25]
_IRA_CELLS = [2026, 0.70], [2027, 0.80], [2028, 0.90], [2029, 1.00], [2030, 1.00]
_IRA_MINERALS = [2026, 0.70], [2027, 0.80], [2028, 0.80], [2029, 0.80], [2030, 0.80]

POLICIES = (
    ["policy", "rule", "items", "from", "to", "value", "basis", "scope", "period", "source"],
    [["ira_30d_whatif", "min_share", "battery_component", "north_america", None, v, "value", "total", p,
      "§30D battery-component %, ref §1.2 (credit ended 30 Sep 2025, ref §1.5: what-if)"]
     for p, v in _IRA_CELLS]
    + [["ira_30d_whatif", "min_share", "critical_mineral", "north_america;fta_partners", None, v, "value",
        "total", p, "§30D critical-mineral %, ref §1.2; CAM as proxy: assumption"]
       for p, v in _IRA_MINERALS]
    + [
        ["ira_30d_whatif", "exclude", None, "feoc_nations;feoc_owned", None, None, None, None, None,
         "FEOC exclusion (components 2024+, minerals 2025+), ref §1.3"],
        ["local_for_local", "min_share", "battery_component", "north_america", "pack_plant", 0.70, "quantity",
         "each_destination", None, "company policy, ref §6 LOCAL_FOR_LOCAL; 70%: assumption"],
        ["local_for_local", "min_share", "critical_mineral", "north_america", "cell_plant", 0.50, "quantity",
         "total", None, "company policy for CAM into NA cell plants (ref §6 LOCAL_FOR_LOCAL); 50%: assumption"],
        ["china_cap", "max_share", "battery_component", "China", None, 0.20, "quantity", "total", None,
         "assumption (scenario); one row per item so GWh and kt are not added"],
        ["china_cap", "max_share", "critical_mineral", "China", None, 0.20, "quantity", "total", None,
         "assumption (scenario); one row per item so GWh and kt are not added"],
        ["feoc_ban", "exclude", None, "feoc_nations;feoc_owned", None, None, None, None, None,
         "FEOC / prohibited-foreign-entity exclusion, ref §1.3, §1.5"],
    ]
    + [["current_law", "credit", "battery_component", "United States", None, v, None, None, p,
        "45X $35/kWh for US-made cells (ref §2), 75% in 2030 (ref §2 phase-out after OBBBA, §7.2)"]
       for p, v in _45X_CELLS]
    + [["s232", "credit", "battery_component", "United States", None, v, None, None, p,
        "45X as in current_law (ref §2, §7.2)"] for p, v in _45X_CELLS]
    + [["s232", "tariff", "battery_component;critical_mineral", "China;Hungary;Poland;South Korea",
        "United States", 0.25, None, None, None,
        "Section 232 on processed critical minerals and derivatives pending (ref §7.2: no tariff yet, "
        "tariffs could follow); 25% on imported cells and CAM: assumption"]]
    + [["carbon_price", "co2_price", None, None, None, CARBON_PRICE, None, None, None,
        "US EPA social cost of CO2 $190/t (2020 emissions, 2023 report) as the buyer's internal shadow price: "
        "assumption; 0.00019 USD M per t CO2e, on every site's production and every lane"],
       ["carbon_cap", "co2_cap", None, None, None, CARBON_CAP, "total", "total", None,
        "a flat budget of 2.2 Mt CO2e a year for the cells and CAM bought, production and freight (the baseline "
        "plan emits 1.2-2.8 Mt a year; 1.72 Mt in 2030 is unavoidable): assumption"]],
)

BOM = (
    ["item", "input", "quantity", "site", "source"],
    [["cells_nmc", "cam_nmc", 1.4, site, "1.3-1.5 kg CAM per kWh for NMC811 (ref §5.4, derived); 1.4: midpoint"]
     for site in _CELL_PLANTS_NEEDING_CAM],
)

# Paused plants are options to resume (ref §7.1), plus a divisible expansion. Costs in USD million. The reference
# says nothing of plant lives: 15 years for a cell plant, 20 for a CAM plant (chemical process plant) are
# assumptions (periods are years).
CELL_PLANT_LIFE, CAM_PLANT_LIFE = 15, 20
LIFE_SOURCE = "economic life {} years (the reference gives none): assumption"
INVESTMENTS = (
    ["option", "site", "item", "capacity", "capex", "fixed_cost", "unit_cost", "earliest", "latest", "lead_time",
     "life", "divisible", "source"],
    [
        ["AESC_Florence_restart", "AESC_Florence_SC", C, 30, 600, 20, 51.6, 2026, 2029, 0, CELL_PLANT_LIFE, False,
         "paused 5 Jun 2025, $1.6B plant with over $1B spent (ref §7.1): remaining capex <= $0.6B, 600 taken; "
         "30 GWh ref §4.1; fixed 20/yr, cost $60 x 1.35 all-in less its CAM (1.4 kg x $21), restart within "
         "the year (over $1B of $1.6B spent): assumptions; " + LIFE_SOURCE.format(CELL_PLANT_LIFE)],
        ["EcoPro_Becancour_resume", "EcoPro_Becancour_QC", M, 20, 150, 8, 21.0, 2026, 2029, 1, CAM_PLANT_LIFE, False,
         "45 kt planned (ref §4.2); further pause reported Jun 2025 (ref §7.1, one source): treated as paused; "
         "20 kt share, capex 150, fixed 8/yr, $17.6 x 1.2/kg, one year: assumptions; "
         + LIFE_SOURCE.format(CAM_PLANT_LIFE)],
        ["Umicore_Loyalist_resume", "Umicore_Loyalist_ON", M, 20, 250, 10, 20.5, 2027, 2028, 2, CAM_PLANT_LIFE, False,
         "paused Jul 2024, still paused (ref §4.2, §7.1); C$2.1-2.8B plan; 20 kt share, capex 250, fixed 10/yr, "
         "cost, two years to restart: assumptions; " + LIFE_SOURCE.format(CAM_PLANT_LIFE)],
        ["PowerCo_StThomas_phase2", "PowerCo_StThomas_ON", C, 30, 1700, 0, 50.6, 2027, 2028, 2, CELL_PLANT_LIFE, True,
         "up to 90 GWh, C$7B (ref §4.1): ~US$57M per GWh, 30 GWh ~1,700 (derived); divisible share, cost ($80 "
         "all-in less CAM) and two-year build: assumptions; " + LIFE_SOURCE.format(CELL_PLANT_LIFE)],
    ],
)
# co2_per_unit of an option: the site's production value, explicit where the site has no Supply row (a
# paused plant), blank where its Supply value applies (PowerCo St. Thomas).
INVESTMENTS = with_co2(INVESTMENTS, production_co2, inherit=frozenset((r[0], r[1]) for r in SUPPLY[1]))

INVENTORY = (
    ["site", "item", "holding_cost", "capacity", "initial", "final", "source"],
    [["BMW_Woodruff_SC", C, 1.6, 4, 0, 0,
      "cell buffer at the pack plant: 2% of ~$80/kWh per year, 4 GWh: assumptions"]],
)

# Policy uncertainty as scenarios (contract v3 part 2). Probabilities are assumptions.
SCENARIOS = (
    ["scenario", "probability", "policy", "description", "source"],
    [
        ["status_quo", 0.35, "current_law", "45X as enacted (OBBBA phase-down), Section 301 as today",
         "ref §2, §3.1, §7.2; probability: assumption"],
        ["section_232", 0.20, "s232", "current law plus a 25% Section 232 tariff on imported cells and CAM",
         "ref §7.2 (outcome pending); rate and probability: assumptions"],
        ["45x_repealed", 0.15, "baseline", "no 45X credit from 2026", "probability: assumption"],
        ["demand_30pct_lower", 0.20, "current_law", "current law, EV demand 30% lower every year",
         "EV demand forecasts keep moving (issue); 30% and probability: assumptions"],
        ["aesc_restart_delayed", 0.10, "current_law", "current law, the AESC Florence restart takes a year",
         "AESC 'intends to resume once circumstances stabilize', no date (ref §7.1); probability: assumption"],
    ],
)
SCENARIO_CHANGES = (
    ["scenario", "sheet", "column", "site", "item", "option", "multiply", "add", "source"],
    [
        ["demand_30pct_lower", "Demand", "quantity", None, None, None, 0.7, None, "assumption"],
        ["aesc_restart_delayed", "Investments", "lead_time", None, None, "AESC_Florence_restart", None, 1,
         "assumption"],
    ],
)

# An 8% cost of capital (assumption): factor 1 / 1.08^(year - 2026).
PERIODS_SHEET = (["period", "discount_factor", "source"],
                 [[p, round(1 / 1.08 ** (p - PERIODS[0]), 4), "8% a year: assumption"] for p in PERIODS])

SETTINGS = (
    ["key", "value", "source"],
    [["currency", "USD M", "every cost is in USD million (cells at $/kWh x GWh, CAM at $/kg x kt)"],
     ["emissions_unit", "t CO2e", "co2_per_unit in t CO2e per GWh of cells and per kt of CAM (EXAMPLE.md)"],
     ["period_weeks", 52, "a period is a year (sourcing stress scales it to windows of weeks)"]],
)

EMISSIONS_NOTE = (
    "co2_per_unit in t CO2e per GWh of cells and per kt of CAM (Settings emissions_unit), production and freight. "
    "Production = electricity x the grid of the site's country (Canadian sites: their province) + materials. Cells: "
    f"{CELL_KWH} kWh per kWh (Degen et al. 2023, Nature Energy, https://doi.org/10.1038/s41560-023-01355-z: "
    f"20.3-37.5) + {CELL_MATERIALS:g} kg CO2e/kWh other materials (assumption); cells bought finished also carry "
    f"1.4 kg CAM made on the same grid (assumption); at a BOM site the CAM comes with its own emissions. CAM: "
    f"{CAM_KWH} kWh/kg + {CAM_MATERIALS:g} kg CO2e/kg metals and lithium (assumptions). Freight: truck 90 g/t-km "
    "(assumption) scaled by the freight cost; ocean 8.15 g/t-km (GLEC v3.2 default, "
    "https://ecofreight.co/blog/how-we-calculate-emissions) + rail 25 g/t-km (assumption). Check: a Chinese cell "
    "63 kg CO2e/kWh vs 17.63 kg/kg battery (ref §7.3) and 61-106 kg/kWh (IVL 2019).")
GRID_NOTE = (
    "Grid intensity, g CO2e/kWh (lifecycle, 2023): China 582, Hungary 204, Chile 291 (Ember via "
    "https://ourworldindata.org/grapher/carbon-intensity-electricity?tab=table); United States 354, South Korea "
    "413, Poland 575 (https://lowcarbonpower.org/region/United_States, /South_Korea, /Poland); Quebec 10 "
    "(reservoir hydropower, http://www.hydroforthefuture.com/energie/2/one-of-the-cleanest-generating-options); "
    "Ontario 40 (derived: 94% emissions-free, https://www.ontarioscleanenergyadvantage.ca/faqs, the rest gas at "
    "490 g, https://www.lowcarbonpower.org/type/fossil).")

NOTES = (
    ["topic", "note"],
    [
        ["About", "Illustrative North American EV-battery sourcing example (contract v3). Built by "
                  "inputs/build_example.py; full explanation of every number in inputs/EXAMPLE.md."],
        ["Units", "cells_nmc in GWh, cost in USD million per GWh (= $/kWh); cam_nmc in kt, cost in USD "
                  "million per kt (= $/kg). Totals are in USD million."],
        ["Reference", "Facts come from ev-battery-supply-chain.md (sections quoted as 'ref §x' in the "
                      "source columns). Anything marked UNVERIFIED there is treated as an assumption."],
        ["Sites", "Real plants, except CAM_Generic_CN (a generic Chinese CAM maker). Capacities are the "
                  "share available to this illustrative buyer (assumption), not nameplate; nameplate is "
                  "in the reference."],
        ["Demand", "Assumption: illustrative cell volumes per pack plant. The two North American cell "
                   "plants that use CAM here (AESC Florence, PowerCo St. Thomas) consume 1.4 kg CAM per kWh "
                   "they make (ref §5.4, BOM sheet)."],
        ["Strategy", "AESC Florence, EcoPro Becancour and Umicore Loyalist are paused (ref §7.1): options to "
                     "resume (Investments). PowerCo phase 2 is a divisible expansion. A cell buffer at BMW "
                     "Woodruff (Inventory). Costs discounted at 8% a year (assumption)."],
        ["Costs", "China NCM811 cell $60/kWh, Korea $67.1/kWh (ref §5.2); NCM CAM $17.64/kg (ref §5.3). "
                  "North American premiums (+30-47% cells, +20-22% CAM) are assumptions (ref §5.1: NA packs "
                  "+44% vs China)."],
        ["Freight", "Assumption, anchored on ref §5.5 (ocean ~$0.8-1.1/kWh cells, ~$0.20/kg CAM)."],
        ["Tariffs", "Into US sites only: MFN 3.4% on cells (ref §3.1); Section 301 25% on Chinese cells "
                    "and CAM (ref §3.1; CAM coverage assumed). IEEPA rates left out: struck down 20 Feb "
                    "2026 (ref §3.2); run build_example.py --ieepa for that variant. Duties into Canada "
                    "and Mexico are not modelled (assumption)."],
        ["Groups", "fta_partners lists only FTA countries relevant here; the 20-country list is "
                   "UNVERIFIED (ref §1.4). feoc_nations per ref §1.3."],
        ["Policies", "ira_30d_whatif: §30D shares by year (ref §1.2) + FEOC exclusion (ref §1.3), "
                     "a what-if since §30D ended 30 Sep 2025 (ref §1.5). local_for_local: 70% NA cells "
                     "per pack plant and 50% NA CAM into the cell plants (assumptions). china_cap: max 20% "
                     "from China per item (assumption). feoc_ban: FEOC exclusion only. current_law: the 45X "
                     "credit on US-made cells, $35/kWh, 75% of it in 2030 (ref §2, §7.2). s232: current_law "
                     "plus a 25% Section 232 tariff on imported cells and CAM (pending, ref §7.2: assumption). "
                     "carbon_price and carbon_cap: see Carbon."],
        ["Scenarios", "Five futures for sourcing robust: status quo, a Section 232 tariff, 45X repealed, demand "
                      "30% lower, the AESC restart delayed a year; probabilities are assumptions."],
        ["Emissions", EMISSIONS_NOTE],
        ["Grid", GRID_NOTE],
        ["Carbon", "carbon_price: a co2_price of $190 per t CO2e (US EPA social cost of carbon, 2023 report; an "
                   "internal shadow price: assumption) = 0.00019 USD M per t, on all production and freight. "
                   "carbon_cap: a co2_cap of 2.2 Mt CO2e per year (basis total, every period; assumption)."],
        ["Settings", "currency USD M, emissions_unit t CO2e: the units the outputs' headers show; period_weeks 52 "
                     "(a period is a year)."],
        ["Resilience", f"recovery_weeks (Sites): cell plants {RECOVERY_WEEKS['cell_plant']}, CAM plants "
                       f"{RECOVERY_WEEKS['cam_plant']} weeks, generic suppliers {GENERIC_RECOVERY_WEEKS} (a market "
                       "of plants); shortage_cost (Demand): USD 200 M per GWh of cells not delivered, the margin of "
                       "13,333 vehicles before their cells. All assumptions (EXAMPLE.md Resilience)."],
        ["Not modelled", "§45X on CAM (10% of cost, only US-made; none here), MACR/PFE ratios, USMCA rules "
                         "of origin, Northvolt Six QC (delayed, ref §4.1), LFP cells."],
    ],
)

SHEETS = [
    ("Sites", SITES),
    ("Groups", GROUPS),
    ("Items", ITEMS),
    ("Supply", SUPPLY),
    ("Demand", DEMAND),
    ("Lanes", LANES),
    ("Tariffs", TARIFFS),
    ("BOM", BOM),
    ("Policies", POLICIES),
    ("Periods", PERIODS_SHEET),
    ("Investments", INVESTMENTS),
    ("Inventory", INVENTORY),
    ("Scenarios", SCENARIOS),
    ("ScenarioChanges", SCENARIO_CHANGES),
    ("Settings", SETTINGS),
    ("Notes", NOTES),
]


def build_workbook(include_ieepa: bool = False) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, (headers, rows) in SHEETS:
        if name == "Tariffs" and include_ieepa:
            rows = rows + IEEPA_TARIFFS
        ws = wb.create_sheet(name)
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append(row)
        for idx, header in enumerate(headers, start=1):
            longest = max([len(str(header))] + [len(str(r[idx - 1])) for r in rows if r[idx - 1] is not None])
            ws.column_dimensions[get_column_letter(idx)].width = min(max(longest + 2, 8), 90)
        ws.freeze_panes = "A2"
    wb.properties.creator = "inputs/build_example.py"
    wb.properties.title = "EV-battery sourcing example, North America"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


def save_reproducibly(wb: Workbook, path: Path) -> None:
    """Save without openpyxl's save_workbook (which stamps 'modified' with the current time),
    then rewrite the zip with fixed entry timestamps so reruns are byte-identical."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ieepa", action="store_true",
                        help="add the 2025 IEEPA reciprocal tariffs (Korea 15%%, EU 15%% all-in)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="output path")
    args = parser.parse_args()
    output = args.output or (IEEPA_OUTPUT if args.ieepa else DEFAULT_OUTPUT)
    save_reproducibly(build_workbook(include_ieepa=args.ieepa), output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
