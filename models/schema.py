"""The workbook format: every sheet and every column, declared once.

Each :class:`Column` says what a cell may hold (``kind``), whether it is required, what it means
and in which unit, and what a blank cell means. Everything else is derived from these declarations:
the pydantic row models that validate each row (``models.rows``), the columns of the validated
network's tables (``models.network``), the ``template`` workbook and its Notes sheet, and the
documentation's workbook contract (``docs/reference/workbook.md``: its column tables are generated from
these declarations, and a test compares its sheet table with them).

Kinds of cell (the coercers are in ``models.rows``):
- ``text``: text; a number is read as written (``2026.0`` is ``"2026"``).
- ``period``: a period name: text, a number, or a date (written ``2026-01-01``).
- ``number``: any finite number; numbers typed as text (``"1,200"``, ``"25%"``) are read as numbers.
- ``non_negative`` / ``positive``: a number >= 0 / > 0.
- ``flag``: TRUE or FALSE (also typed as text: true/false, yes/no, 1/0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("text", "period", "number", "non_negative", "positive", "flag")


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, kind of cell, whether it is required, and its meaning."""

    name: str
    kind: str
    required: bool = False
    meaning: str = ""
    #: What a blank cell means, in words (for the Notes sheet), e.g. "unlimited".
    blank: str = ""
    #: The value the network's table holds for a blank cell (None: the cell stays blank).
    default: Any = None
    #: The attribute name of the row model when the header is a Python keyword (``from``).
    attribute: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: unknown kind {self.kind!r}")

    @property
    def field(self) -> str:
        """The row model's attribute for this column."""
        return self.attribute or self.name

    def note(self) -> str:
        """The column's meaning with what a blank cell means, as the Notes sheet shows it."""
        text = self.meaning
        if self.blank:
            text += f"; blank = {self.blank}"
        return text


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook format."""

    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


SELECTOR = "a selector: ';'-separated group names, countries, tags or site ids"

SHEETS: tuple[Sheet, ...] = (
    Sheet("Sites", True, "every supplier, plant or depot", (
        Column("site", "text", True, "unique id of a supplier, plant or depot"),
        Column("country", "text", True, "the country it is in"),
        Column("tags", "text", meaning="';'-separated labels usable in selectors, e.g. feoc_owned;cell_plant"),
        Column("throughput", "non_negative", meaning="most it can receive per period, all items together",
               blank="unlimited"),
        Column("recovery_weeks", "non_negative",
               meaning="weeks it needs to recover from a disruption (its time to recover, for sourcing stress)",
               blank="the stress command's --weeks"),
    )),
    Sheet("Groups", False, "named groups of countries (north_america, fta_partners, ...)", (
        Column("group", "text", True, "name of a group of countries"),
        Column("country", "text", True, "one member country per row"),
    )),
    Sheet("Items", True, "the goods: raw materials, intermediates and products", (
        Column("item", "text", True, "unique id"),
        Column("unit", "text", meaning="unit of its quantities, e.g. GWh"),
        Column("category", "text", meaning="label usable in item lists, e.g. battery_component"),
    )),
    Sheet("Supply", True, "what each site can produce or sell, per period", (
        Column("site", "text", True, "a site id"),
        Column("item", "text", True, "an item id"),
        Column("period", "period", meaning="the period this row is for", blank="every period"),
        Column("capacity", "non_negative", meaning="most it can produce (or sell) per period",
               blank="unlimited"),
        Column("unit_cost", "non_negative", True,
               "production or purchase cost per unit, >= 0 (excluding BOM inputs)"),
        Column("fixed_cost", "non_negative",
               meaning="paid in each period the site supplies the item (makes a MILP)", blank="none"),
        Column("min_quantity", "non_negative",
               meaning="if it supplies the item in a period, at least this much (makes a MILP)", blank="none"),
        Column("co2_per_unit", "non_negative",
               meaning="emissions per unit produced (in the workbook's own unit, e.g. t CO2e per GWh)", blank="0",
               default=0.0),
    )),
    Sheet("Demand", True, "what each site must receive (or make) and keep, per period", (
        Column("site", "text", True, "a site id"),
        Column("item", "text", True, "an item id"),
        Column("period", "period", meaning="the period this row is for", blank="every period"),
        Column("quantity", "non_negative", True, "exact quantity to deliver per period"),
        Column("shortage_cost", "non_negative",
               meaning="cost per unit of this row's quantity left unmet (e.g. the margin lost); the row may then go "
                       "unmet at that cost", blank="a hard requirement: every unit must be delivered"),
    )),
    Sheet("Lanes", True, "the routes goods may take", (
        Column("origin", "text", True, "a site id"),
        Column("destination", "text", True, "a site id"),
        Column("item", "text", meaning="an item id", blank="every item"),
        Column("unit_cost", "non_negative", meaning="transport cost per unit (an item row's blank is 0 too)",
               blank="0", default=0.0),
        Column("capacity", "non_negative",
               meaning="most it carries per period; a blank-item row bounds all items together",
               blank="unlimited"),
        Column("co2_per_unit", "non_negative",
               meaning="emissions per unit shipped (an item row's blank is 0 too)", blank="0", default=0.0),
    )),
    Sheet("Tariffs", False, "ad valorem duties on the goods' value", (
        Column("origin", "text", True, SELECTOR),
        Column("destination", "text", meaning=SELECTOR, blank="all sites"),
        Column("item", "text", meaning="item ids or categories", blank="all items"),
        Column("period", "period", meaning="the period this row is for", blank="every period"),
        Column("rate", "non_negative", True, "ad valorem fraction of the goods' value (0.25 = 25%); rows add up"),
    )),
    Sheet("BOM", False, "what making one unit of an item consumes", (
        Column("item", "text", True, "the item made"),
        Column("input", "text", True, "an item it consumes"),
        Column("quantity", "positive", True, "units of input per unit of item, > 0"),
        Column("site", "text", meaning="only at this site (its own recipe)",
               blank="every site that supplies the item"),
    )),
    Sheet("Policies", False, "rules, grouped into named policy sets", (
        Column("policy", "text", True, "name of the policy set"),
        Column("rule", "text", True, "the rule type (each described in docs/reference/workbook.md)"),
        Column("items", "text", meaning="item ids or categories", blank="all items"),
        Column("from", "text", meaning=SELECTOR, blank="all sites", attribute="from_"),
        Column("to", "text", meaning=SELECTOR, blank="all sites"),
        Column("value", "number",
               meaning="share bound (fraction in [0, 1]), tariff rate, credit per unit, supplier count, carbon "
                       "price per unit of emissions or emissions cap"),
        Column("basis", "text", meaning="value (weighted by the goods' value) or quantity; for co2_cap, total "
                                         "or per_unit", blank="value (co2_cap: total)"),
        Column("scope", "text", meaning="total or each_destination", blank="total"),
        Column("period", "period", meaning="the one period the rule covers", blank="every period"),
        Column("requires", "text",
               meaning="threshold_credit: the Policies row number of the share rule it depends on"),
    )),
    Sheet("Periods", False, "the planning periods, in order", (
        Column("period", "period", True, "a planning period"),
        Column("discount_factor", "positive",
               meaning="multiplies every cost arising in the period (e.g. 1 / 1.08^years), > 0",
               blank="1", default=1.0),
    )),
    Sheet("Investments", False, "capacity that may be built (or a paused plant resumed) once, in one period", (
        Column("option", "text", True, "unique name of the investment option"),
        Column("site", "text", True, "the site where it adds capacity"),
        Column("item", "text", True, "the item it makes"),
        Column("capacity", "positive", True, "units per period it adds once available, > 0"),
        Column("capex", "non_negative", meaning="paid once, in the build period", blank="0", default=0.0),
        Column("fixed_cost", "non_negative", meaning="paid in every period it is available, used or not",
               blank="0", default=0.0),
        Column("unit_cost", "non_negative", meaning="cost per unit produced on it",
               blank="the site's Supply unit_cost for the item in that period"),
        Column("earliest", "period", meaning="first period it may be built in", blank="the first period"),
        Column("latest", "period", meaning="last period it may be built in", blank="the last period"),
        Column("lead_time", "non_negative",
               meaning="whole number of periods from building to availability (0: available in the build period)",
               blank="0", default=0.0),
        Column("life", "positive",
               meaning="economic life, a whole number of periods >= 1: what it has left after the last period is "
                       "credited as a straight-line salvage value of its capex",
               blank="no salvage value (the whole capex is charged)"),
        Column("divisible", "flag", meaning="TRUE: any fraction of it may be built (an LP); FALSE: all or nothing",
               blank="FALSE", default=False),
        Column("co2_per_unit", "non_negative", meaning="emissions per unit produced on it",
               blank="the site's Supply value for the item in that period, or 0 when it has none"),
    )),
    Sheet("Inventory", False, "sites that may carry stock of an item from one period to the next", (
        Column("site", "text", True, "a site id"),
        Column("item", "text", True, "an item id"),
        Column("holding_cost", "non_negative", meaning="per unit of stock at the end of each period", blank="0",
               default=0.0),
        Column("capacity", "non_negative", meaning="most stock at the end of any period", blank="unlimited"),
        Column("initial", "non_negative", meaning="stock before the first period (free)", blank="0", default=0.0),
        Column("final", "non_negative", meaning="least stock at the end of the last period", blank="0",
               default=0.0),
    )),
    Sheet("Scenarios", False, "named futures (policy uncertainty), each with a probability and a policy set", (
        Column("scenario", "text", True, "unique name of the scenario"),
        Column("probability", "non_negative",
               meaning="its probability; all add up to 1", blank="an equal share of what the given ones leave"),
        Column("policy", "text", meaning="the policy set (Policies) in force in it", blank="baseline"),
        Column("description", "text", meaning="what the scenario stands for (shown in reports)"),
    )),
    Sheet("ScenarioChanges", False, "how each scenario changes numbers of the workbook, applied in sheet order", (
        Column("scenario", "text", True, "a scenario of the Scenarios sheet"),
        Column("sheet", "text", True, "Supply, Demand, Lanes, Tariffs, Investments, Inventory or Policies"),
        Column("column", "text", True,
               "a number column of that sheet (not earliest or latest; Tariffs: rate; Policies: value)"),
        Column("site", "text", meaning="rows of these sites (Supply, Demand, Investments, Inventory), rules whose "
                                       "`to` selects any of them (Policies); " + SELECTOR, blank="every site"),
        Column("origin", "text", meaning="Lanes rows from these sites, or Tariffs duties on flows from them; "
                                         + SELECTOR, blank="every site"),
        Column("destination", "text", meaning="Lanes rows into these sites, or Tariffs duties on flows into them; "
                                              + SELECTOR, blank="every site"),
        Column("item", "text", meaning="item ids or categories (on Lanes: item rows only; on Policies: rules whose "
                                       "items include any of them)",
               blank="every row, blank-item Lanes rows included"),
        Column("period", "period", meaning="one period, or a range in period order, both ends included: 2027: "
                                           "(from 2027 on), :2028 (up to 2028), 2027:2029; on Policies, rules given "
                                           "for one of those periods", blank="every period"),
        Column("option", "text", meaning="an Investments option name (Investments only)", blank="every option"),
        Column("policy", "text", meaning="rules of this policy set (Policies only)", blank="every policy set"),
        Column("rule", "text", meaning="rules of this rule type (Policies only)",
               blank="every rule type that has a value"),
        Column("multiply", "non_negative", meaning="multiply the values by this (>= 0)"),
        Column("add", "number", meaning="add this to the values"),
        Column("set", "number", meaning="set the values to this"),
    )),
    Sheet("Settings", False, "workbook-wide settings, one key per row", (
        Column("key", "text", True, "a setting: currency (the unit of every cost in the outputs), emissions_unit "
                                    "(the unit of emissions) or period_weeks (weeks in one period)"),
        Column("value", "text", meaning="its value, e.g. USD M or t CO2e", blank="not set (no unit shown)"),
    )),
)

SHEETS_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}

#: The keys the Settings sheet knows, with what each means; another key is a warning naming its cell.
SETTINGS: dict[str, str] = {
    "currency": "the unit of every cost in the outputs, e.g. USD M (column headers show it); blank = no unit",
    "emissions_unit": "the unit of emissions (co2_per_unit x quantity), e.g. t CO2e (column headers show it); "
                      "blank = no unit",
    "period_weeks": "the length of one period in weeks, a number > 0 (sourcing stress scales a period to a window "
                    "of weeks); blank = 52",
}

#: Settings keys whose value is a number > 0, with the value a blank or missing key stands for.
POSITIVE_SETTINGS: dict[str, float] = {"period_weeks": 52.0}
