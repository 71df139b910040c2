"""Build the example workbook ``inputs/ev_battery_north_america.xlsx`` (workbook contract v1).

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
(CAM) in kt with costs in USD million per kt (= $/kg).
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
FIXED_TIME = dt.datetime(2026, 11, 28, 0, 0)
PERIODS = [2026, 2027, 2028, 2029, 2030]
A = "assumption"

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
        ["Umicore_Cheonan_KR", "South Korea", "cam_plant", "ref §4.2, §4.3"],
        ["CAM_Generic_CN", "China", "cam_plant", "assumption (generic Chinese CAM maker)"],
    ],
)

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
        ["AESC_Florence_SC", C, None, 30, 81.0, "30 GWh ref §4.1; cost = $60 x 1.35: assumption"],
        ["AESC_Florence_SC", C, 2026, 15, 81.0, "first-year ramp: assumption (ops from 2026, ref §4.1)"],
        ["Ultium_SpringHill_TN", C, None, 10, 78.0, "50 GWh plant ref §4.1; 10 available, +30%: assumption"],
        ["StarPlus_Kokomo_IN", C, None, 12, 84.0, "33+34 GWh ref §4.1; 12 available, +40%: assumption"],
        ["StarPlus_Kokomo_IN", C, 2026, 8, 84.0, "plant #2 only from 2027 (ref §4.1); 8: assumption"],
        ["PowerCo_StThomas_ON", C, None, 30, 84.0, "up to 90 GWh ref §4.1; 30 available: assumption"],
        ["PowerCo_StThomas_ON", C, 2026, 0, 84.0, "first cells 2027 (ref §4.1): no supply in 2026"],
        ["PowerCo_StThomas_ON", C, 2027, 6, 88.0, "ramp-up volume and cost: assumption"],
        ["PowerCo_StThomas_ON", C, 2028, 15, 86.0, "ramp-up volume and cost: assumption"],
        ["PowerCo_StThomas_ON", C, 2029, 20, 84.0, "ramp-up volume: assumption"],
        ["CATL_Debrecen_HU", C, None, 12, 66.0, "100 GWh ref §4.3; 12 available, $60 x 1.10: assumption"],
        ["LGES_Wroclaw_PL", C, None, 8, 74.0, "capacity UNVERIFIED ref §4.3; 8, $67.1 x 1.10: assumption"],
        ["CATL_Ningde_CN", C, None, None, 60.0, "$60/kWh ref §5.2; unlimited (overcapacity ref §4.3)"],
        ["EcoPro_Becancour_QC", M, None, 20, 21.0, "45 kt ref §4.2; 20 available, $17.6 x 1.2: assumption"],
        ["EcoPro_Becancour_QC", M, 2026, 10, 21.0, "production from H1 2026 (ref §4.2); 10 kt: assumption"],
        ["PoscoFutureM_Becancour_QC", M, None, 10, 21.5, "capacity UNVERIFIED ref §4.2; 10, cost: assumed"],
        ["PoscoFutureM_Becancour_QC", M, 2026, 0, 21.5, "start year 2028: assumption"],
        ["PoscoFutureM_Becancour_QC", M, 2027, 0, 21.5, "start year 2028: assumption"],
        ["Umicore_Cheonan_KR", M, None, 30, 18.5, "serves AESC NA ref §4.2; 30, $17.6 x 1.05: assumption"],
        ["CAM_Generic_CN", M, None, None, 17.6, "NCM811 CAM $17.64/kg ref §5.3; unlimited: assumption"],
    ],
)

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
        ["AESC_Florence_SC", "cam_nmc", None, 28, "20 GWh x 1.4 kg/kWh (ref §5.4); 20 GWh: assumption"],
        ["AESC_Florence_SC", "cam_nmc", 2026, 14, "10 GWh x 1.4 kg/kWh (ref §5.4); 10 GWh: assumption"],
        ["PowerCo_StThomas_ON", "cam_nmc", 2027, 5.6, "4 GWh x 1.4 kg/kWh (ref §5.4); 4 GWh: assumption"],
        ["PowerCo_StThomas_ON", "cam_nmc", 2028, 14, "10 GWh x 1.4 kg/kWh (ref §5.4); 10 GWh: assumption"],
        ["PowerCo_StThomas_ON", "cam_nmc", 2029, 21, "15 GWh x 1.4 kg/kWh (ref §5.4); 15 GWh: assumption"],
        ["PowerCo_StThomas_ON", "cam_nmc", 2030, 28, "20 GWh x 1.4 kg/kWh (ref §5.4); 20 GWh: assumption"],
    ],
)

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
    "PoscoFutureM_Becancour_QC": (0.17, 0.09),
    "Umicore_Cheonan_KR": (0.30, 0.32),
    "CAM_Generic_CN": (0.30, 0.32),
}
_CELL_PLANTS_NEEDING_CAM = ("AESC_Florence_SC", "PowerCo_StThomas_ON")


def _lane_source(origin: str) -> str:
    if origin.endswith(("_CN", "_KR")):
        return "assumption; ocean leg ~ref §5.5"
    if origin.endswith(("_HU", "_PL")):
        return "assumption (transatlantic, by analogy with ref §5.5)"
    return "assumption (truck/rail within North America)"


LANES = (
    ["origin", "destination", "item", "unit_cost", "capacity", "source"],
    [[o, d, "cells_nmc", cost, None, _lane_source(o)]
     for o, costs in _CELL_FREIGHT.items() for d, cost in zip(_PACK_PLANTS, costs, strict=True)]
    + [[o, d, "cam_nmc", cost, None, _lane_source(o)]
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
        ["china_cap", "max_share", "battery_component", "China", None, 0.20, "quantity", "total", None,
         "assumption (scenario); one row per item so GWh and kt are not added"],
        ["china_cap", "max_share", "critical_mineral", "China", None, 0.20, "quantity", "total", None,
         "assumption (scenario); one row per item so GWh and kt are not added"],
        ["feoc_ban", "exclude", None, "feoc_nations;feoc_owned", None, None, None, None, None,
         "FEOC / prohibited-foreign-entity exclusion, ref §1.3, §1.5"],
    ],
)

PERIODS_SHEET = (["period"], [[p] for p in PERIODS])

NOTES = (
    ["topic", "note"],
    [
        ["About", "Illustrative North American EV-battery sourcing example (contract v1). Built by "
                  "inputs/build_example.py; full explanation of every number in inputs/EXAMPLE.md."],
        ["Units", "cells_nmc in GWh, cost in USD million per GWh (= $/kWh); cam_nmc in kt, cost in USD "
                  "million per kt (= $/kg). Totals are in USD million."],
        ["Reference", "Facts come from ev-battery-supply-chain.md (sections quoted as 'ref §x' in the "
                      "source columns). Anything marked UNVERIFIED there is treated as an assumption."],
        ["Sites", "Real plants, except CAM_Generic_CN (a generic Chinese CAM maker). Capacities are the "
                  "share available to this illustrative buyer (assumption), not nameplate; nameplate is "
                  "in the reference."],
        ["Demand", "Assumption: illustrative cell volumes per pack plant; CAM demand = assumed cell "
                   "volume x 1.4 kg CAM/kWh (ref §5.4). Single tier: CAM demand does not follow cell "
                   "flows."],
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
                     "per pack plant (assumption). china_cap: max 20% from China per item (assumption). "
                     "feoc_ban: FEOC exclusion only."],
        ["Not modelled", "§45X credits, USMCA rules of origin, Umicore Loyalist ON (paused, ref §4.2), "
                         "Northvolt Six QC (delayed, ref §4.1), LFP cells."],
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
    ("Policies", POLICIES),
    ("Periods", PERIODS_SHEET),
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
