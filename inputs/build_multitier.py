"""Build the multi-tier example workbook ``inputs/ev_battery_multitier.xlsx`` (workbook contract v2).

Run from the repository root:

    python inputs/build_multitier.py            # writes inputs/ev_battery_multitier.xlsx

Three tiers of the North American NMC supply chain, 2026-2030:

    lithium hydroxide (lioh, kt) -> cathode active material (cam_nmc, kt) -> cells (cells_nmc, GWh) -> pack plants

North American cell plants make cells from CAM and North American CAM plants make CAM from lithium
hydroxide (site-specific BOM rows); imported cells and Asian/European CAM are bought finished (no BOM
at those sites). Supply ``unit_cost`` is the conversion cost at the site, *excluding* the BOM inputs
it buys. Only pack plants have Demand.

Only openpyxl and the standard library are used; the zip writer of ``build_example.py`` is reused, so
the output is byte-for-byte reproducible. Every number is explained in ``inputs/MULTITIER.md`` (facts
with their section in ``ev-battery-supply-chain.md`` and source URL; everything else is labelled
"Assumption"). The ``source`` columns and the ``Notes`` sheet are ignored by the tool.
Units: cells in GWh, costs in USD million per GWh (= $/kWh); CAM and LiOH in kt, costs in USD million
per kt (= $/kg). All totals are in USD million; emissions in t CO2e (per GWh, per kt), with the emission
factors of ``build_example.py`` (the Settings sheet names both units).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "ev_battery_multitier.xlsx"


def _load_build_example():
    """Import the sibling ``build_example.py`` by path (``inputs/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("_build_example", HERE / "build_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_EXAMPLE = _load_build_example()
FIXED_TIME = _EXAMPLE.FIXED_TIME
save_reproducibly = _EXAMPLE.save_reproducibly

PERIODS = [2026, 2027, 2028, 2029, 2030]
A = "assumption"
L, M, C = "lioh", "cam_nmc", "cells_nmc"

# Derived material intensities (ref §5.4, see MULTITIER.md "BOM").
CAM_PER_GWH = 1.4    # kt NMC811 CAM per GWh of cells = kg/kWh, midpoint of the derived 1.3-1.5
LIOH_PER_CAM = 0.43  # kt LiOH.H2O per kt NMC811 CAM = 7.1% Li x 6.05 kg LiOH.H2O per kg Li = 0.4296

# --------------------------------------------------------------------------------------------
# Sheet data. Each sheet: (headers, rows). None = blank cell.
# --------------------------------------------------------------------------------------------

SITES = (
    ["site", "country", "tags", "throughput", "source"],
    [
        # Pack / vehicle plants: demand for cells
        ["BMW_Woodruff_SC", "United States", "pack_plant", None, "ref §4 note (BMW battery assembly plant)"],
        ["VW_Chattanooga_TN", "United States", "pack_plant", None, "assumption (site not in reference)"],
        ["GM_FactoryZero_MI", "United States", "pack_plant", None, "assumption (site not in reference)"],
        ["BMW_SanLuisPotosi_MX", "Mexico", "pack_plant", None, "ref §4.1 (AESC 2nd building for BMW Mexico)"],
        # North American cell plants: make cells from CAM (site-specific BOM)
        ["AESC_Florence_SC", "United States", "cell_plant;na_cell_plant", None, "ref §4.1"],
        ["Ultium_SpringHill_TN", "United States", "cell_plant;na_cell_plant", None, "ref §4.1"],
        ["PowerCo_StThomas_ON", "Canada", "cell_plant;na_cell_plant", None, "ref §4.1"],
        # Imported cells, bought finished (no BOM at these sites)
        ["CATL_Debrecen_HU", "Hungary", "cell_plant;feoc_owned", None, "ref §4.3 (Chinese-owned: FEOC/PFE)"],
        ["LGES_Wroclaw_PL", "Poland", "cell_plant", None, "ref §4.3 (not FEOC; EU not FTA)"],
        ["CATL_Ningde_CN", "China", "cell_plant;feoc_owned", None, "assumption (site); China cost ref §5.2"],
        # CAM plants: the two in Quebec make CAM from LiOH (site-specific BOM); the others sell finished CAM
        ["EcoPro_Becancour_QC", "Canada", "cam_plant", None, "ref §4.2"],
        ["PoscoFutureM_Becancour_QC", "Canada", "cam_plant", None, "ref §4.2 (capacity unverified)"],
        ["Umicore_Cheonan_KR", "South Korea", "cam_plant", None, "ref §4.2, §4.3"],
        ["CAM_Generic_PL", "Poland", "cam_plant", None, "assumption (generic EU CAM maker; EU not FTA, ref §1.4)"],
        ["CAM_Generic_CN", "China", "cam_plant", None, "assumption (generic Chinese CAM maker)"],
        # Lithium hydroxide suppliers (raw material: purchased, no BOM)
        ["Livent_BessemerCity_NC", "United States", "lioh_plant", None, "ref §4.2 (15 kt/yr, operating)"],
        ["Albemarle_Richburg_SC", "United States", "lioh_plant", None, "ref §4.2 (50 kt/yr, planned 2027)"],
        ["Piedmont_Etowah_TN", "United States", "lioh_plant", None, "ref §4.2 (30 kt/yr, deferred: unverified)"],
        ["LiOH_Generic_CL", "Chile", "lioh_plant", None, "assumption (generic Chilean LiOH supplier)"],
        ["LiOH_Generic_CN", "China", "lioh_plant", None, "assumption (generic Chinese LiOH refiner)"],
    ],
)
SITES = _EXAMPLE.with_recovery(SITES)  # recovery_weeks by what a site makes, as in the NA example (assumptions)

GROUPS = (
    ["group", "country", "source"],
    [
        ["north_america", "United States", "ref §1.1 (final assembly in North America), §3.3 USMCA"],
        ["north_america", "Canada", "ref §1.1, §3.3"],
        ["north_america", "Mexico", "ref §1.1, §3.3"],
        ["fta_partners", "Canada", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
        ["fta_partners", "Mexico", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
        ["fta_partners", "South Korea", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
        ["fta_partners", "Chile", "ref §1.4 (20-country FTA list is UNVERIFIED)"],
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
        [C, "GWh", "battery_component",
         "NMC811 EV cells; cost in USD million per GWh (= $/kWh); IRA battery component (ref §1.1)"],
        [M, "kt", "critical_mineral",
         "NMC811 cathode active material; cost in USD million per kt (= $/kg); "
         "proxy for the IRA critical-mineral test (ref §1.1)"],
        [L, "kt", "critical_mineral",
         "lithium hydroxide monohydrate (LiOH.H2O), battery grade; cost in USD million per kt (= $/kg)"],
    ],
)

BOM = (
    ["item", "input", "quantity", "site", "source"],
    [
        [C, M, CAM_PER_GWH, "AESC_Florence_SC", "1.4 kg CAM/kWh: DERIVED midpoint of 1.3-1.5 (ref §5.4)"],
        [C, M, CAM_PER_GWH, "Ultium_SpringHill_TN", "1.4 kg CAM/kWh: DERIVED midpoint of 1.3-1.5 (ref §5.4)"],
        [C, M, CAM_PER_GWH, "PowerCo_StThomas_ON", "1.4 kg CAM/kWh: DERIVED midpoint of 1.3-1.5 (ref §5.4)"],
        [M, L, LIOH_PER_CAM, "EcoPro_Becancour_QC",
         "DERIVED: Li 7.1% of NMC811 x 6.05 kg LiOH.H2O/kg Li = 0.43 (ref §5.4)"],
        [M, L, LIOH_PER_CAM, "PoscoFutureM_Becancour_QC",
         "DERIVED: Li 7.1% of NMC811 x 6.05 kg LiOH.H2O/kg Li = 0.43 (ref §5.4)"],
    ],
)

# Supply: a row with a period overrides the blank-period row of the same site and item (the whole
# row, so fixed_cost and min_quantity are repeated on override rows).
# Conversion costs of BOM sites exclude the BOM input: cells = all-in NA price - 1.4 x $21/kg CAM;
# CAM = all-in NA price - 0.43 x $12/kg LiOH (see MULTITIER.md).
SUPPLY = (
    ["site", "item", "period", "capacity", "unit_cost", "fixed_cost", "min_quantity", "source"],
    [
        ["Ultium_SpringHill_TN", C, None, 10, 49.0, None, None,
         "50 GWh plant ref §4.1; 10 available; 78 - 29.4 = 48.6 -> 49: assumption"],
        ["PowerCo_StThomas_ON", C, None, 30, 55.0, 25.0, None,
         "up to 90 GWh ref §4.1; 30 available; 84 - 29.4 -> 55; $25M/yr to keep the line open: assumption"],
        ["PowerCo_StThomas_ON", C, 2026, 0, 55.0, 25.0, None, "first cells 2027 (ref §4.1): no supply in 2026"],
        ["PowerCo_StThomas_ON", C, 2027, 6, 59.0, 25.0, None, "ramp-up volume and cost: assumption"],
        ["PowerCo_StThomas_ON", C, 2028, 15, 57.0, 25.0, None, "ramp-up volume and cost: assumption"],
        ["PowerCo_StThomas_ON", C, 2029, 20, 55.0, 25.0, None, "ramp-up volume: assumption"],
        ["CATL_Debrecen_HU", C, None, 12, 66.0, None, None, "100 GWh ref §4.3; 12 available, $60 x 1.10: assumption"],
        ["LGES_Wroclaw_PL", C, None, 20, 74.0, None, None,
         "capacity UNVERIFIED ref §4.3; 20, $67.1 x 1.10: assumption"],
        ["CATL_Ningde_CN", C, None, None, 60.0, None, None, "$60/kWh ref §5.2; unlimited (overcapacity ref §4.3)"],
        ["PoscoFutureM_Becancour_QC", M, None, 10, 16.3, None, None,
         "capacity UNVERIFIED ref §4.2; 10; 21.5 - 0.43 x 12 -> 16.3: assumption"],
        ["PoscoFutureM_Becancour_QC", M, 2026, 0, 16.3, None, None, "start year 2028: assumption"],
        ["PoscoFutureM_Becancour_QC", M, 2027, 0, 16.3, None, None, "start year 2028: assumption"],
        ["Umicore_Cheonan_KR", M, None, 30, 18.5, None, None, "serves AESC NA ref §4.2; 30, $17.6 x 1.05: assumption"],
        ["CAM_Generic_PL", M, None, 30, 19.4, None, None, "assumption: 30 kt, $17.6 x 1.10 (EU premium as for cells)"],
        ["CAM_Generic_CN", M, None, None, 17.6, None, None, "NCM811 CAM $17.64/kg ref §5.3; unlimited: assumption"],
        ["Livent_BessemerCity_NC", L, None, 6, 10.8, None, 4.0,
         "15 kt ref §4.2; 6 available, $10.8/kg, 4 kt contract minimum: assumption"],
        ["Albemarle_Richburg_SC", L, None, 8, 10.5, 3.0, None,
         "50 kt planned 2027 ref §4.2; 8 available, $10.5/kg, $3M/yr qualification: assumption"],
        ["Albemarle_Richburg_SC", L, 2026, 0, 10.5, 3.0, None, "planned 2027 (ref §4.2): no supply in 2026"],
        ["Piedmont_Etowah_TN", L, None, 6, 11.8, 1.5, None,
         "30 kt ref §4.2; start 2028, 6 available, $11.8/kg, $1.5M/yr qualification: assumption"],
        ["Piedmont_Etowah_TN", L, 2026, 0, 11.8, 1.5, None, "target 2025 deferred (ref §4.2, unverified): 2028 start"],
        ["Piedmont_Etowah_TN", L, 2027, 0, 11.8, 1.5, None, "target 2025 deferred (ref §4.2, unverified): 2028 start"],
        ["LiOH_Generic_CL", L, None, 5, 11.0, None, None, "assumption: 5 kt, $11/kg"],
        ["LiOH_Generic_CN", L, None, None, 10.0, None, None, "assumption: $10/kg, unlimited"],
    ],
)

DEMAND = (
    ["site", "item", "period", "quantity", "source"],
    [
        ["BMW_Woodruff_SC", C, 2026, 8, A],
        ["BMW_Woodruff_SC", C, 2027, 12, A],
        ["BMW_Woodruff_SC", C, 2028, 16, A],
        ["BMW_Woodruff_SC", C, 2029, 20, A],
        ["BMW_Woodruff_SC", C, 2030, 24, A],
        ["VW_Chattanooga_TN", C, None, 7, A],
        ["GM_FactoryZero_MI", C, None, 9, A],
        ["BMW_SanLuisPotosi_MX", C, 2027, 4, "assumption (no demand in 2026)"],
        ["BMW_SanLuisPotosi_MX", C, 2028, 6, A],
        ["BMW_SanLuisPotosi_MX", C, 2029, 8, A],
        ["BMW_SanLuisPotosi_MX", C, 2030, 10, A],
    ],
)
DEMAND = _EXAMPLE.with_shortage_cost(DEMAND)  # USD 200 M per GWh not delivered, as in the NA example (assumption)

# Freight per unit ($/kWh for cells, $/kg for CAM and LiOH). All values are assumptions; the ocean
# leg is anchored on ref §5.5 (~$0.8-1.1/kWh for cells, ~$0.20/kg for powders, Asia -> US).
_PACK_PLANTS = ("BMW_Woodruff_SC", "VW_Chattanooga_TN", "GM_FactoryZero_MI", "BMW_SanLuisPotosi_MX")
_CELL_FREIGHT = {
    "AESC_Florence_SC": (0.15, 0.30, 0.50, 0.90),
    "Ultium_SpringHill_TN": (0.35, 0.20, 0.45, 0.85),
    "PowerCo_StThomas_ON": (0.60, 0.50, 0.20, 1.10),
    "CATL_Debrecen_HU": (1.40, 1.50, 1.60, 1.70),
    "LGES_Wroclaw_PL": (1.40, 1.50, 1.60, 1.70),
    "CATL_Ningde_CN": (1.60, 1.60, 1.60, 1.30),
}
_NA_CELL_PLANTS = ("AESC_Florence_SC", "Ultium_SpringHill_TN", "PowerCo_StThomas_ON")
_CAM_FREIGHT = {
    "EcoPro_Becancour_QC": (0.17, 0.18, 0.09),
    "PoscoFutureM_Becancour_QC": (0.17, 0.18, 0.09),
    "Umicore_Cheonan_KR": (0.30, 0.33, 0.32),
    "CAM_Generic_PL": (0.28, 0.31, 0.27),
    "CAM_Generic_CN": (0.30, 0.33, 0.32),
}
_NA_CAM_PLANTS = ("EcoPro_Becancour_QC", "PoscoFutureM_Becancour_QC")
_LIOH_FREIGHT = {
    "Livent_BessemerCity_NC": (0.15, 0.15),
    "Albemarle_Richburg_SC": (0.16, 0.16),
    "Piedmont_Etowah_TN": (0.17, 0.17),
    "LiOH_Generic_CL": (0.30, 0.30),
    "LiOH_Generic_CN": (0.35, 0.35),
}


def _lane_source(origin: str) -> str:
    if origin.endswith(("_CN", "_KR", "_CL")):
        return "assumption; ocean leg ~ref §5.5"
    if origin.endswith(("_HU", "_PL")):
        return "assumption (transatlantic, by analogy with ref §5.5)"
    return "assumption (truck/rail within North America)"


def _lane(origin: str, destination: str, item: str, cost: float) -> list:
    co2, text = _EXAMPLE.lane_co2(origin, "GWh" if item == C else "kt", cost)
    return [origin, destination, item, cost, None, co2, f"{_lane_source(origin)}; {text}"]


def _lanes(item: str, freight: dict[str, tuple[float, ...]], destinations: tuple[str, ...]) -> list[list]:
    return [_lane(o, d, item, cost)
            for o, costs in freight.items() for d, cost in zip(destinations, costs, strict=True)]


LANES = (
    ["origin", "destination", "item", "unit_cost", "capacity", "co2_per_unit", "source"],
    _lanes(C, _CELL_FREIGHT, _PACK_PLANTS) + _lanes(M, _CAM_FREIGHT, _NA_CELL_PLANTS)
    + _lanes(L, _LIOH_FREIGHT, _NA_CAM_PLANTS),
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
         "Section 301 critical minerals 25% (ref §3.1); applies to CAM and LiOH: assumption"],
    ],
)

# --------------------------------------------------------------------------------------------
# Emissions (t CO2e per GWh / kt), with the grid intensities and factors of build_example.py. At a BOM
# site the input's emissions come with the input (its own Supply row and lane), so cells made here
# exclude their CAM and CAM made here excludes its LiOH; an item bought finished carries its inputs.
# --------------------------------------------------------------------------------------------

COUNTRY = {row[0]: row[1] for row in SITES[1]}
_BOM_SITES = {(row[0], row[3]) for row in BOM[1]}  # (item made, site)


def production_co2(site: str, item: str) -> tuple[float, str]:
    """t CO2e per unit the site makes of the item, with its derivation."""
    country, bom = COUNTRY[site], (item, site) in _BOM_SITES
    if item == C:
        return _EXAMPLE.cell_co2(site, country, with_cam=not bom)
    if item == M:
        return _EXAMPLE.cam_co2(site, country, with_lithium=not bom)
    return _EXAMPLE.lioh_co2(site, country)


SUPPLY = _EXAMPLE.with_co2(SUPPLY, production_co2)

# --------------------------------------------------------------------------------------------
# Policies. `requires` holds the Excel row number of a share rule, so rows are laid out first and
# the threshold credits point at them by position.
# --------------------------------------------------------------------------------------------

_CELLS_SHARE = {2026: 0.70, 2027: 0.80, 2028: 0.90, 2029: 1.00, 2030: 1.00}  # ref §1.2 components
_CAM_SHARE = {2026: 0.70, 2027: 0.80, 2028: 0.80, 2029: 0.80, 2030: 0.80}    # ref §1.2 minerals
_45X_CELLS = {2026: 35.0, 2027: 35.0, 2028: 35.0, 2029: 35.0, 2030: 26.25}   # ref §2 (75% in 2030)
CREDIT_PER_GWH = 3750 * 1e6 / 75 / 1e6  # $3,750/vehicle (ref §1.1) x 13,333 packs/GWh (75 kWh: assumption) = 50
_DUAL_SOURCING_SITES = "AESC_Florence_SC;Ultium_SpringHill_TN"
_CAM_SUPPLIERS = ("EcoPro_Becancour_QC", "PoscoFutureM_Becancour_QC", "Umicore_Cheonan_KR",
                  "CAM_Generic_PL", "CAM_Generic_CN")

POLICY_HEADERS = ["policy", "rule", "items", "from", "to", "value", "basis", "scope", "period", "requires",
                  "source"]


def _exclude(policy: str) -> list:
    return [policy, "exclude", None, "feoc_nations;feoc_owned", None, None, None, None, None, None,
            "FEOC exclusion, every tier (components 2024+, minerals 2025+), ref §1.3"]


def _cells_share(policy: str, period: int, note: str = "") -> list:
    return [policy, "min_share", C, "north_america", "pack_plant", _CELLS_SHARE[period], "quantity", "total",
            period, None, f"§30D battery-component %, ref §1.2; by quantity: assumption{note}"]


def _cam_share(policy: str, period: int) -> list:
    return [policy, "min_share", M, "north_america;fta_partners", "na_cell_plant", _CAM_SHARE[period], "quantity",
            "total", period, None, "§30D critical-mineral %, ref §1.2; CAM as proxy, by quantity: assumption"]


def _policy_rows() -> list[list]:
    rows: list[list] = [_exclude("feoc_ban")]
    rows += [_cells_share("ira_cells_only", p) for p in PERIODS] + [_exclude("ira_cells_only")]
    rows += [_cam_share("ira_cam_only", p) for p in PERIODS] + [_exclude("ira_cam_only")]
    rows += ([_cells_share("ira_tiers", p) for p in PERIODS] + [_cam_share("ira_tiers", p) for p in PERIODS]
             + [_exclude("ira_tiers")])
    rows.append(["dual_sourcing", "min_suppliers", M, None, _DUAL_SOURCING_SITES, 2, None, None, None, None,
                 "company policy: >= 2 CAM suppliers per cell plant and period: assumption"])
    rows += [["dual_sourcing", "max_share", M, site, _DUAL_SOURCING_SITES, 0.70, "quantity", "each_destination",
              None, None, "company policy: no CAM supplier above 70% of a plant's intake: assumption"]
             for site in _CAM_SUPPLIERS]
    # credit_30d: the share rows are the conditions of the threshold credits (not hard constraints).
    share_row = {}
    for p in PERIODS:
        share_row[p] = len(rows) + 2  # Excel row: header is row 1
        rows.append(_cells_share("credit_30d", p, "; condition of the threshold credit below"))
    rows += [["credit_30d", "threshold_credit", C, None, "pack_plant", CREDIT_PER_GWH, None, None, p, share_row[p],
              "$3,750/vehicle per requirement ref §1.1 x 13,333 packs/GWh (75 kWh pack: assumption); "
              "§30D ended 30 Sep 2025 (ref §1.5): what-if"] for p in PERIODS]
    rows += [["credit_30d", "credit", C, "United States", None, _45X_CELLS[p], None, None, p, None,
              "45X $35/kWh US-made cells, 75% in 2030 (ref §2)"] for p in PERIODS]
    rows += [["carbon_price", "co2_price", None, None, None, _EXAMPLE.CARBON_PRICE, None, None, None, None,
              "US EPA social cost of CO2 $190/t (2023 report) as an internal shadow price, as EXAMPLE.md: "
              "assumption; 0.00019 USD M per t CO2e, on production at every tier and every lane"],
             ["carbon_cap", "co2_cap", None, None, None, _EXAMPLE.CARBON_CAP, "total", "total", None, None,
              "a flat budget of 2.2 Mt CO2e a year over the three tiers, production and freight, as EXAMPLE.md "
              "(the baseline plan emits 1.2-2.8 Mt a year; 1.84 Mt in 2030 is unavoidable): assumption"]]
    return rows


POLICIES = (POLICY_HEADERS, _policy_rows())

# Paused plants are options to resume (ref §7.1); costs in USD million, conversion costs as in Supply. Lives as in
# EXAMPLE.md (assumptions: 15 years for a cell plant, 20 for a CAM plant).
LIFE_SOURCE = _EXAMPLE.LIFE_SOURCE
INVESTMENTS = (
    ["option", "site", "item", "capacity", "capex", "fixed_cost", "unit_cost", "earliest", "latest", "lead_time",
     "life", "divisible", "source"],
    [
        ["AESC_Florence_restart", "AESC_Florence_SC", C, 30, 600, 20, 50.0, 2026, 2029, 0, _EXAMPLE.CELL_PLANT_LIFE,
         False,
         "paused 5 Jun 2025, $1.6B plant with over $1B spent (ref §7.1): remaining capex <= $0.6B, 600 taken; "
         "30 GWh ref §4.1; conversion 79.4 all-in - 1.4 x 21 CAM = 50; fixed 20/yr; restart within the year "
         "(over $1B of $1.6B spent): assumptions; " + LIFE_SOURCE.format(_EXAMPLE.CELL_PLANT_LIFE)],
        ["EcoPro_Becancour_resume", "EcoPro_Becancour_QC", M, 20, 150, 8, 15.8, 2026, 2029, 1, _EXAMPLE.CAM_PLANT_LIFE,
         False,
         "45 kt planned (ref §4.2); further pause reported Jun 2025 (ref §7.1, one source): treated as paused; "
         "20 kt share, conversion 21.0 - 0.43 x 12 = 15.8; capex 150, fixed 8/yr, one year: assumptions; "
         + LIFE_SOURCE.format(_EXAMPLE.CAM_PLANT_LIFE)],
    ],
)
# Both paused plants have no Supply row: their options carry the site's production value explicitly.
INVESTMENTS = _EXAMPLE.with_co2(INVESTMENTS, production_co2, inherit=frozenset((r[0], r[1]) for r in SUPPLY[1]))

INVENTORY = (
    ["site", "item", "holding_cost", "capacity", "initial", "final", "source"],
    [["BMW_Woodruff_SC", C, 1.6, 4, 0, 0,
      "cell buffer at the pack plant: 2% of ~$80/kWh per year, 4 GWh: assumptions"]],
)

# An 8% cost of capital (assumption): factor 1 / 1.08^(year - 2026).
PERIODS_SHEET = (["period", "discount_factor", "source"],
                 [[p, round(1 / 1.08 ** (p - PERIODS[0]), 4), "8% a year: assumption"] for p in PERIODS])

SETTINGS = (
    ["key", "value", "source"],
    [["currency", "USD M", "every cost is in USD million (cells at $/kWh x GWh, CAM and LiOH at $/kg x kt)"],
     ["emissions_unit", "t CO2e", "co2_per_unit in t CO2e per GWh of cells and per kt of CAM and LiOH"],
     ["period_weeks", 52, "a period is a year (sourcing stress scales it to windows of weeks)"]],
)

NOTES = (
    ["topic", "note"],
    [
        ["About", "Illustrative three-tier North American EV-battery sourcing example (contract v3): LiOH -> "
                  "CAM -> NMC cells -> pack plants. Built by inputs/build_multitier.py; every number is "
                  "explained in inputs/MULTITIER.md."],
        ["Units", "cells_nmc in GWh, cost in USD million per GWh (= $/kWh); cam_nmc and lioh in kt, cost in "
                  "USD million per kt (= $/kg). Totals are in USD million."],
        ["Tiers", "North American cell plants (AESC, Ultium, PowerCo) make cells from 1.4 kt CAM per GWh; the "
                  "Quebec CAM plants (EcoPro, POSCO Future M) make CAM from 0.43 kt LiOH per kt. Both are "
                  "site-specific BOM rows, so imported cells and Asian/European CAM are bought finished."],
        ["Supply", "unit_cost of a BOM site is its conversion cost, excluding the input it buys; fixed_cost "
                   "(PowerCo line, Albemarle and Piedmont qualification) is paid in each period the site "
                   "produces; Livent has a 4 kt contract minimum. These make the model a MILP."],
        ["Demand", "Cells at the four pack plants only (assumption); CAM and LiOH needs follow the BOM. "
                   "shortage_cost USD 200 M per GWh not delivered (as in the NA example: assumption)."],
        ["Resilience", "recovery_weeks (Sites): cell plants 20, CAM plants 16, LiOH plants 12 weeks, generic "
                       "suppliers 4 (a market of plants); pack plants blank (they cannot go down here). All "
                       "assumptions (MULTITIER.md Resilience)."],
        ["Strategy", "AESC Florence and EcoPro Becancour are paused (ref §7.1): options to resume "
                     "(Investments). A cell buffer at BMW Woodruff (Inventory). Costs discounted at 8% a year "
                     "(assumption)."],
        ["Reference", "Facts come from ev-battery-supply-chain.md (sections quoted as 'ref §x' in the "
                      "source columns). Anything marked UNVERIFIED there is treated as an assumption."],
        ["Emissions", "co2_per_unit in t CO2e per GWh of cells and per kt of CAM and LiOH, the factors of "
                      "build_example.py (EXAMPLE.md 'Emissions'): at a BOM site the input brings its own emissions, "
                      "so cells made here exclude their CAM and CAM made here its LiOH. LiOH: "
                      f"{_EXAMPLE.LIOH_KWH} kWh/kg x the grid + {_EXAMPLE.LIOH_FIXED:g} kg CO2e/kg mining, "
                      "process fuel and reagents (assumptions)."],
        ["Grid", _EXAMPLE.GRID_NOTE],
        ["Carbon", "carbon_price: $190 per t CO2e (US EPA social cost of carbon, 2023; a shadow price: assumption) "
                   "= 0.00019 USD M per t on every tier. carbon_cap: at most 2.2 Mt CO2e a year (assumption)."],
        ["Policies", "Share rules are by quantity (the Supply unit_cost of a BOM site excludes its inputs, so "
                     "value weights would compare conversion cost with finished-goods prices). In credit_30d "
                     "the min_share rows are the conditions named by the threshold_credit rows' `requires`."],
    ],
)

SHEETS = [
    ("Sites", SITES),
    ("Groups", GROUPS),
    ("Items", ITEMS),
    ("Supply", SUPPLY),
    ("Demand", DEMAND),
    ("BOM", BOM),
    ("Lanes", LANES),
    ("Tariffs", TARIFFS),
    ("Policies", POLICIES),
    ("Periods", PERIODS_SHEET),
    ("Investments", INVESTMENTS),
    ("Inventory", INVENTORY),
    ("Settings", SETTINGS),
    ("Notes", NOTES),
]


def build_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, (headers, rows) in SHEETS:
        ws = wb.create_sheet(name)
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            if len(row) != len(headers):
                raise ValueError(f"{name}: row {row!r} has {len(row)} cells, expected {len(headers)}")
            ws.append(row)
        for idx, header in enumerate(headers, start=1):
            longest = max([len(str(header))] + [len(str(r[idx - 1])) for r in rows if r[idx - 1] is not None])
            ws.column_dimensions[get_column_letter(idx)].width = min(max(longest + 2, 8), 90)
        ws.freeze_panes = "A2"
    wb.properties.creator = "inputs/build_multitier.py"
    wb.properties.title = "EV-battery sourcing example, North America, three tiers"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="output path")
    args = parser.parse_args()
    save_reproducibly(build_workbook(), args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
