"""The validated sourcing network: workbook rows with every cross-reference resolved.

Vocabulary used throughout the project: a *site* is a row of Sites (a supplier, a plant, a
depot), an *item* a row of Items, a *period* one of the planning periods. Selectors (``from``,
``to``, Tariffs ``origin``/``destination``) are resolved here to explicit sets of site ids and
item lists to explicit item ids, so later layers never interpret workbook text again.
Every record keeps ``row``, the Excel row it came from, so results and diagnoses can point back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from models.problems import WorkbookError, describe
from models.rows import (
    ROW_MODELS,
    BomRow,
    DemandRow,
    GroupRow,
    InventoryRow,
    InvestmentRow,
    ItemRow,
    LaneRow,
    PeriodRow,
    PolicyRow,
    ScenarioChangeRow,
    ScenarioRow,
    SheetRow,
    SheetTable,
    SiteRow,
    SupplyRow,
    TariffRow,
    positive_number,
)
from models.scenarios import Scenario, apply_scenario, build_scenarios
from models.schema import POSITIVE_SETTINGS, SETTINGS, SHEETS_BY_NAME
from models.vocabulary import Collector, Vocabulary, close_name, period_of, split

#: Label of the single period used when no sheet names any period.
IMPLICIT_PERIOD = "all"
#: The policy set with no rules; it always exists and cannot be redefined.
BASELINE = "baseline"


@dataclass(frozen=True)
class RuleSpec:
    """What the Policies sheet requires of one rule type (declared by the rule type itself, in
    ``optimizer.rules``, and handed to :func:`build_network`)."""

    value: str | None  # "fraction" (in [0, 1]), "amount" (>= 0), "count" (whole number >= 0) or None (ignored)
    description: str
    discrete: bool = False  # needs binary variables (the model becomes a MILP)
    #: How a missing amount is described ("an amount per unit", "a rate (0.25 = 25%)").
    amount_hint: str = "an amount per unit"
    #: The value every row of this type has, whatever the cell says (single_source: 1).
    fixed_value: float | None = None
    #: A share rule: other rules may require it (a threshold credit's `requires`).
    share: bool = False
    #: The rule needs `requires`: the Policies row of a share rule of its own policy set.
    needs_requires: bool = False
    #: The values `basis` and `scope` may take (the first is the default); None: the share rules' ones.
    bases: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    #: The value is an ad valorem rate, checked like the Tariffs sheet's (:func:`rate_check`).
    rate: bool = False


BASES = ("value", "quantity")
SCOPES = ("total", "each_destination")

#: An ad valorem rate above this (100%) is probably a percentage typed as a whole number: a warning.
RATE_WARNING = 1.0
#: A rate above this (500%) is taken for such a mistake: an error.
RATE_LIMIT = 5.0
#: A discount factor above this is a warning (costs of a later period weighing more than today's) ...
DISCOUNT_WARNING = 1.0
#: ... and above this an error (9 typed for 0.9).
DISCOUNT_LIMIT = 2.0


def rate_check(rate: float) -> tuple[str, str] | None:
    """("error" or "warning", message) for an ad valorem rate that is probably a percentage typed as a whole
    number (25 for 25%), None for a plausible one."""
    if rate > RATE_LIMIT:
        return "error", (f"{describe(rate)} is a rate of {rate:,.0%}, above the {RATE_LIMIT:.0%} accepted; a rate "
                         "is a fraction (0.25 or 25%)")
    if rate > RATE_WARNING:
        return "warning", (f"{describe(rate)} is a rate of {rate:,.0%} (a 100% tariff is 1); a rate is a fraction "
                           "(0.25 or 25%): check the cell")
    return None


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Site(_Record):
    id: str
    country: str
    tags: tuple[str, ...] = ()
    throughput: float | None = None
    #: Weeks it needs to recover from a disruption (None: the stress command's default).
    recovery_weeks: float | None = None
    row: int


class Item(_Record):
    id: str
    unit: str | None = None
    category: str | None = None
    row: int


class Tariff(_Record):
    origins: frozenset[str]
    destinations: frozenset[str]
    items: frozenset[str]
    period: str | None
    rate: float
    row: int


class Rule(_Record):
    """One Policies row, with its selectors resolved; ``*_text`` keep the cells for reports."""

    policy: str
    type: str
    items: frozenset[str]
    from_sites: frozenset[str]
    to_sites: frozenset[str]
    value: float | None
    basis: str
    scope: str
    period: str | None
    row: int
    requires: int | None = None
    items_text: str = ""
    from_text: str = ""
    to_text: str = ""

    def periods(self, all_periods: Iterable[str]) -> list[str]:
        return [p for p in all_periods if self.period is None or p == self.period]

    def label(self) -> str:
        items = self.items_text or "all items"
        frm = f" from {self.from_text}" if self.from_text else ""
        to = f" into {self.to_text}" if self.to_text else ""
        when = f" in {self.period}" if self.period is not None else ""  # rows for each year read alike otherwise
        return f"{self.type} {items}{frm}{to}{when}"


class PolicySet(_Record):
    name: str
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, eq=False)
class Network:
    """A workbook that passed validation. Build it with :func:`build_network`.

    ``supply`` and ``demand`` hold one row per (site, item, period) (a blank-period row expanded to
    every period it is not overridden in), ``lanes`` and ``bom`` one row per workbook row; each table
    has the columns its sheet declares in ``models.schema`` (ids resolved to their Sites/Items
    spelling, blanks replaced by the column's default) plus ``row``, the Excel row it came from.
    Treat the tables as read-only: every policy set of a comparison shares them."""

    periods: tuple[str, ...]
    sites: dict[str, Site]
    items: dict[str, Item]
    groups: dict[str, frozenset[str]]
    supply: pd.DataFrame
    demand: pd.DataFrame
    lanes: pd.DataFrame
    tariffs: tuple[Tariff, ...]
    bom: pd.DataFrame
    policies: dict[str, PolicySet]
    source: str | None = None
    warnings: tuple[str, ...] = ()
    #: Each period's discount factor (Periods.discount_factor; 1 where none is given).
    discount: tuple[float, ...] = ()
    #: Investment options, one row per (option, period), and stocking (site, item) pairs, one row per period.
    investments: pd.DataFrame = field(default_factory=pd.DataFrame)
    inventory: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The Scenarios sheet by name; ``scenario_name`` / ``scenario_policy`` are set on a network that is
    #: one scenario of its workbook (``in_scenario``).
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    scenario_name: str | None = None
    scenario_policy: str | None = None
    #: The Settings sheet's values by key (``models.schema.SETTINGS``); a key not given is absent.
    settings: dict[str, str] = field(default_factory=dict)
    #: The rule types the Policies sheet was checked against (a scenario's changed rule values are too).
    rule_specs: Mapping[str, RuleSpec] = field(default_factory=dict)
    #: The sum of the probabilities the Scenarios sheet gives (its blanks share what these leave).
    given_probability: float = 0.0

    def __post_init__(self) -> None:
        if not self.discount:
            object.__setattr__(self, "discount", (1.0,) * len(self.periods))
        for name in ("investments", "inventory"):
            if not len(getattr(self, name).columns):
                object.__setattr__(self, name, _per_period(name.capitalize(), [], [], 3 - (name == "inventory")))

    def scenario(self, name: str) -> Scenario:
        """The scenario called ``name`` (case-insensitive); KeyError naming the known ones."""
        key = name.strip().lower()
        for scenario in self.scenarios.values():
            if scenario.name.lower() == key:
                return scenario
        raise KeyError(_unknown_name("scenario", name, list(self.scenarios)))

    def in_scenario(self, name: str) -> Network:
        """The workbook as it is in scenario ``name``: its changes applied (its policy set in
        ``scenario_policy``)."""
        return apply_scenario(self, self.scenario(name))

    def discount_of(self, periods) -> np.ndarray:
        """The discount factor of each period in ``periods`` (a column of period names)."""
        factor = dict(zip(self.periods, self.discount, strict=True))
        return pd.Series(periods, dtype=object).map(factor).to_numpy(dtype=float)

    def with_warnings(self, warnings: Iterable[str]) -> Network:
        """The same network with ``warnings`` added."""
        return replace(self, warnings=(*self.warnings, *warnings))

    def policy(self, name: str) -> PolicySet:
        """The policy set called ``name`` (case-insensitive); KeyError naming the known sets."""
        key = name.strip().lower()
        for policy in self.policies.values():
            if policy.name.lower() == key:
                return policy
        raise KeyError(_unknown_name("policy set", name, list(self.policies)))

    @property
    def period_weeks(self) -> float:
        """The length of one period in weeks (Settings ``period_weeks``; 52 when it is not given)."""
        return float(self.settings.get("period_weeks", POSITIVE_SETTINGS["period_weeks"]))

    def country_groups(self) -> dict[str, str]:
        """Site id -> the first group (in workbook order) containing its country, else 'other'."""
        out = {}
        for site in self.sites.values():
            country = site.country.lower()
            out[site.id] = next((g for g, cs in self.groups.items() if country in cs), "other")
        return out


def _unknown_name(kind: str, name: str, known: list[str]) -> str:
    """``no policy set named 'x'; the workbook has: ...``, with "did you mean" when one known name is close."""
    close = close_name(name, known)
    listed = ", ".join(known) or "none"
    if close is None:
        return f"no {kind} named {name!r}; the workbook has: {listed}"
    return f"no {kind} named {name!r}; did you mean {close!r}? The workbook has: {listed}"


# --------------------------------------------------------------------------- building


def _unique(rows: Iterable[SheetRow], key, sheet: str, column: str, out: Collector) -> list:
    seen: dict = {}
    kept = []
    for row in rows:
        k = key(row)
        if k in seen:
            out.add(sheet, row.row, column,
                    f"duplicate of {sheet} row {seen[k]} ({describe(getattr(row, column))})",
                    getattr(row, column))
            continue
        seen[k] = row.row
        kept.append(row)
    return kept


def _natural_order(periods: set[str]) -> list[str]:
    try:
        return sorted(periods, key=float)
    except ValueError:
        return sorted(periods)


def _resolve_periods(rows: dict[type, SheetTable], out: Collector) -> tuple[list[str], dict[str, str]]:
    declared = _unique(rows[PeriodRow], lambda r: r.period.lower(), "Periods", "period", out)
    if declared:
        periods = [r.period for r in declared]
    else:
        used: dict[str, str] = {}  # period names match case-insensitively: keep the first spelling
        for model in (SupplyRow, DemandRow, TariffRow, PolicyRow):
            named = rows[model].columns["period"]
            for period in pd.unique(named[np.not_equal(named, None)]):  # in the order they first appear
                used.setdefault(period.lower(), period)
        periods = _natural_order(set(used.values())) if used else [IMPLICIT_PERIOD]
    return periods, {p.lower(): p for p in periods}


def _tables(rows: Mapping[type, SheetTable | Iterable[SheetRow]]) -> dict[type, SheetTable]:
    """Every sheet's rows as a :class:`SheetTable` (a sheet not given has none)."""
    tables = {}
    for model in ROW_MODELS.values():
        found = rows.get(model, [])
        tables[model] = found if isinstance(found, SheetTable) else SheetTable.from_rows(model, list(found))
    return tables


def _lookup(values: np.ndarray, names: Mapping[str, str]) -> np.ndarray:
    """``names[value.lower()]`` for each value of an object column (None for a blank or an unknown name),
    looked up once per distinct value."""
    codes, distinct = pd.factorize(values)
    found = np.empty(len(distinct) + 1, dtype=object)  # the last one for a blank (code -1)
    found[:-1] = [names.get(v.lower()) for v in distinct]
    return found[codes]


def _first_of(*keys: np.ndarray) -> np.ndarray:
    """For each row, the position of the first row with the same values in ``keys`` (None equal to None)."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        codes, distinct = pd.factorize(key, use_na_sentinel=False)
        combined = pd.factorize(combined * (len(distinct) + 1) + codes)[0]
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    return first[inverse]


def _expand_by_period(table: SheetTable, sheet: str, periods: list[str], out: Collector
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Give every (site, item) one (row, period) per period: specific rows override a blank-period row.
    Returns the positions in ``table`` and the period index of each expanded row: (site, item) in the order
    they first appear, then periods in order."""
    site, item, period = (table.columns[c] for c in ("site", "item", "period"))
    first = _first_of(site, item, period)
    for i in np.flatnonzero(first != np.arange(len(table))).tolist():
        value = period[i]
        what = "blank period" if value is None else f"period {value}"
        out.add(sheet, int(table.row[i]), "period",
                f"duplicate of {sheet} row {table.row[first[i]]} (same site, item and {what})", value)
    kept = np.flatnonzero(first == np.arange(len(table)))
    pair = pd.factorize(_first_of(site, item)[kept])[0]  # (site, item) in the order they first appear
    index = {p: i for i, p in enumerate(periods)}
    codes, named = pd.factorize(period[kept])  # a blank period is code -1: the last slot, -1
    period_of = np.array([index[p] for p in named] + [-1], dtype=np.int64)[codes]
    n = len(periods)
    specific = period_of >= 0
    codes = pair[specific] * n + period_of[specific]
    blank = np.flatnonzero(~specific)
    blank_codes = (pair[blank][:, None] * n + np.arange(n)[None, :]).ravel()
    blank_rows = np.repeat(kept[blank], n)
    open_ = ~np.isin(blank_codes, codes)
    all_codes = np.concatenate([codes, blank_codes[open_]])
    all_rows = np.concatenate([kept[specific], blank_rows[open_]])
    order = np.argsort(all_codes, kind="stable")
    return all_rows[order], all_codes[order] % n


_NUMERIC_KINDS = ("number", "non_negative", "positive")


def sheet_table(sheet: str, records: list[dict]) -> pd.DataFrame:
    """The network's table of ``sheet``: one column per declared column (in the declared order) plus
    ``row``; number columns as floats (blank = NaN), blanks replaced by the column's default."""
    declared = SHEETS_BY_NAME[sheet].columns
    columns = {}
    for column in declared:
        values = [r[column.field] for r in records]
        if column.kind in _NUMERIC_KINDS:
            columns[column.field] = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            columns[column.field] = np.empty(len(values), dtype=object)
            columns[column.field][:] = values
    return _frame(sheet, columns, np.array([r["row"] for r in records], dtype=np.int64))


def _frame(sheet: str, columns: Mapping[str, np.ndarray], row: np.ndarray) -> pd.DataFrame:
    """:func:`sheet_table` of whole columns (by field: floats with NaN for a blank number, objects otherwise)."""
    data: dict[str, pd.Series] = {}
    for column in SHEETS_BY_NAME[sheet].columns:
        values = columns[column.field]
        if column.kind in _NUMERIC_KINDS:
            series = pd.Series(np.asarray(values, dtype=float))
        elif column.kind == "flag":
            flags = np.full(len(values), bool(column.default))
            given = np.not_equal(values, None)
            flags[given] = values[given].astype(bool)
            series = pd.Series(flags, dtype=bool)
        else:
            series = pd.Series(values, dtype=object)
        if column.default is not None:
            series = series.fillna(column.default) if column.kind in _NUMERIC_KINDS else \
                series.where(series.notna(), column.default)
        data[column.name] = series
    data["row"] = pd.Series(np.asarray(row, dtype=np.int64), dtype=np.int64)
    return pd.DataFrame(data)


def build_network(rows: Mapping[type, SheetTable | Iterable[SheetRow]], rule_specs: Mapping[str, RuleSpec],
                  source: str | None = None, warnings: Iterable[str] = ()) -> Network:
    """Resolve and cross-check the rows of every sheet (a table or a list of rows per row model); raise
    WorkbookError with every problem. ``rule_specs`` are the rule types the Policies sheet may use
    (``optimizer.rules.RULE_SPECS``).

    Supply, Demand and Lanes are built from whole columns: names looked up once per distinct value, duplicates
    and the expansion of blank-period rows by factorised keys; the problems of the rows that fail are worded
    and ordered as a row-by-row check would (tests/test_columns.py holds that check). The small sheets are
    read row by row."""
    out = Collector(warnings=list(warnings))
    rows = _tables(rows)

    site_rows = _unique(rows[SiteRow], lambda r: r.site.lower(), "Sites", "site", out)
    sites = {r.site: Site(id=r.site, country=r.country, tags=tuple(split(r.tags)),
                          throughput=getattr(r, "throughput", None),
                          recovery_weeks=getattr(r, "recovery_weeks", None), row=r.row)
             for r in site_rows}
    item_rows = _unique(rows[ItemRow], lambda r: r.item.lower(), "Items", "item", out)
    items = {r.item: Item(id=r.item, unit=r.unit, category=r.category, row=r.row) for r in item_rows}
    group_members: dict[str, set[str]] = defaultdict(set)
    group_names: dict[str, str] = {}
    for r in _unique(rows[GroupRow], lambda r: (r.group.lower(), r.country.lower()),
                     "Groups", "country", out):
        group_names.setdefault(r.group.lower(), r.group)
        group_members[group_names[r.group.lower()]].add(r.country.lower())
    groups = {g: frozenset(cs) for g, cs in group_members.items()}
    vocab = Vocabulary(sites, groups, group_names, items)
    periods, period_lookup = _resolve_periods(rows, out)

    def site_ref(value: str, sheet: str, row: int, column: str) -> str | None:
        found = vocab.site_ids.get(value.lower())
        if found is None:
            out.add(sheet, row, column, f"{describe(value)} is not a site in Sites"
                    + out.did_you_mean(value, "site", sites), value)
        return found

    def item_ref(value: str, sheet: str, row: int, column: str = "item") -> str | None:
        found = vocab.item_ids.get(value.lower())
        if found is None:
            out.add(sheet, row, column, f"{describe(value)} is not an item in Items"
                    + out.did_you_mean(value, "item", items), value)
        return found

    def canonical(table: SheetTable, sheet: str, references: dict[str, tuple]) -> SheetTable:
        """The rows whose references (column: (names, check)) all resolve, with the names as spelled where they
        are declared; a problem for each one that does not, row by row as ``check`` words it."""
        resolved = {column: _lookup(table.columns[column], names) for column, (names, _) in references.items()}
        bad = np.zeros(len(table), dtype=bool)
        for column, found in resolved.items():
            bad |= np.not_equal(table.columns[column], None) & np.equal(found, None)
        for i in np.flatnonzero(bad).tolist():
            for column, (_, check) in references.items():
                value = table.columns[column][i]
                if value is not None:
                    check(value, sheet, int(table.row[i]), column)
        kept = table.take(np.flatnonzero(~bad))
        for column, found in resolved.items():
            kept.columns[column] = found[~bad]
        return kept

    def period_ref(value: str, sheet: str, row: int, column: str) -> str | None:
        return period_of(value, period_lookup, sheet, row, out, column)

    def by_period(model, sheet):
        table = canonical(rows[model], sheet, {"site": (vocab.site_ids, site_ref), "item": (vocab.item_ids, item_ref),
                                               "period": (period_lookup, period_ref)})
        index, period = _expand_by_period(table, sheet, periods, out)
        columns = {f: v[index] for f, v in table.columns.items()}
        columns["period"] = np.array(periods, dtype=object)[period]
        return _frame(sheet, columns, table.row[index])

    supply = by_period(SupplyRow, "Supply")
    demand = by_period(DemandRow, "Demand")

    lanes = canonical(rows[LaneRow], "Lanes", {"origin": (vocab.site_ids, site_ref),
                                               "destination": (vocab.site_ids, site_ref),
                                               "item": (vocab.item_ids, item_ref)})
    first = _first_of(*(lanes.columns[c] for c in ("origin", "destination", "item")))
    for i in np.flatnonzero(first != np.arange(len(lanes))).tolist():
        destination = lanes.columns["destination"][i]
        out.add("Lanes", int(lanes.row[i]), "destination",
                f"duplicate of Lanes row {lanes.row[first[i]]} ({describe(destination)})", destination)
    lanes = lanes.take(np.flatnonzero(first == np.arange(len(lanes))))
    lanes = _frame("Lanes", lanes.columns, lanes.row)

    tariffs = []
    for r in rows[TariffRow]:
        _check_rate(r.rate, "Tariffs", r.row, "rate", out)
        tariffs.append(Tariff(
            origins=vocab.sites_for(r.origin, "Tariffs", r.row, "origin", out),
            destinations=vocab.sites_for(r.destination, "Tariffs", r.row, "destination", out),
            items=vocab.items_for(r.item, "Tariffs", r.row, "item", out),
            period=period_of(r.period, period_lookup, "Tariffs", r.row, out),
            rate=r.rate, row=r.row))

    investments = _build_investments(rows[InvestmentRow], site_ref, item_ref, periods, period_lookup,
                                     supply, out)
    inventory = _build_inventory(rows[InventoryRow], site_ref, item_ref, periods, out)
    stocked = set(inventory.loc[inventory["initial"] > 0, "item"]) if len(inventory) else set()
    bom = _build_bom(rows[BomRow], site_ref, item_ref,
                     set(supply["item"]) | set(investments["item"]) | stocked, out)
    declared = {r.period.lower(): r.discount_factor for r in rows[PeriodRow]}
    discount = tuple(float(declared.get(p.lower()) or 1.0) for p in periods)
    _check_discount(rows[PeriodRow], out)

    policies = {BASELINE: PolicySet(name=BASELINE)}
    rules_by_policy: dict[str, list[Rule]] = defaultdict(list)
    names: dict[str, str] = {}
    for r in rows[PolicyRow]:
        rule = _build_rule(r, vocab, period_lookup, rule_specs, out)
        if r.policy.strip().lower() == BASELINE:
            out.add("Policies", r.row, "policy",
                    f"{describe(r.policy)} is reserved for the plan without rules; choose another name",
                    r.policy)
            continue
        name = names.setdefault(r.policy.lower(), r.policy)
        if rule is not None:
            rules_by_policy[name].append(rule.model_copy(update={"policy": name}))
        else:
            rules_by_policy.setdefault(name, [])
    for name, rules in rules_by_policy.items():
        _check_requires(rules, rule_specs, out)
        policies[name] = PolicySet(name=name, rules=tuple(rules))

    scenarios = build_scenarios(rows.get(ScenarioRow, []), rows.get(ScenarioChangeRow, []), vocab, period_lookup,
                                {name.lower(): name for name in policies}, set(investments["option"]), rule_specs,
                                out)
    settings = _build_settings(rows.get(ROW_MODELS["Settings"], []), out)
    if out.problems:
        raise WorkbookError(out.problems)
    network = Network(periods=tuple(periods), sites=sites, items=items, groups=groups,
                      supply=supply, demand=demand, lanes=lanes, tariffs=tuple(tariffs), bom=bom,
                      policies=policies, source=source, warnings=tuple(out.warnings), discount=discount,
                      investments=investments, inventory=inventory, scenarios=scenarios, settings=settings,
                      rule_specs=rule_specs,
                      given_probability=sum(r.probability for r in rows[ScenarioRow] if r.probability is not None))
    problems = []
    for scenario in scenarios.values():  # every change must apply: a bad one is invalid input
        try:
            apply_scenario(network, scenario)
        except WorkbookError as exc:
            problems.extend(exc.problems)
    if problems:
        raise WorkbookError(problems)
    return network


def _check_rate(rate: float | None, sheet: str, row: int, column: str, out: Collector) -> None:
    """A problem (above ``RATE_LIMIT``) or a warning (above ``RATE_WARNING``) naming the cell of a rate."""
    found = None if rate is None else rate_check(rate)
    if found is None:
        return
    level, message = found
    if level == "error":
        out.add(sheet, row, column, message, rate)
    else:
        out.warnings.append(f"{sheet} row {row}, column {column}: {message}")


def _check_discount(rows: list, out: Collector) -> None:
    """Discount factors (Periods rows in period order, blank = 1): above ``DISCOUNT_LIMIT`` an error, above
    ``DISCOUNT_WARNING`` a warning, and a warning where one rises from the period before (a blank after a given
    factor below 1 too), each naming the cell."""
    hint = "a discount factor is 1 / (1 + rate)^years (0.93 a year at 7.5%)"
    previous, seen = None, set()
    for r in rows:
        if r.period.lower() in seen:  # a duplicate period: a problem of its own
            continue
        seen.add(r.period.lower())
        factor = 1.0 if r.discount_factor is None else r.discount_factor
        shown = "blank (1)" if r.discount_factor is None else describe(factor)
        where = f"Periods row {r.row}, column discount_factor"
        if factor > DISCOUNT_LIMIT:
            out.add("Periods", r.row, "discount_factor", f"{shown} is above {DISCOUNT_LIMIT:g}; {hint}", factor)
        elif factor > DISCOUNT_WARNING:
            out.warnings.append(f"{where}: {shown} is above 1, so costs of {r.period} weigh more than today's; "
                                f"{hint}: check the cell")
        elif previous is not None and factor > previous[1]:
            out.warnings.append(f"{where}: {shown} is above {describe(previous[1])}, the factor of {previous[0]}, "
                                "the period before; discount factors fall over time: check the cell")
        previous = (r.period, factor)


def _build_settings(rows: list, out: Collector) -> dict[str, str]:
    """The Settings sheet: each known key (``models.schema.SETTINGS``, case-insensitive) at most once (a second
    row is an error); an unknown key is a warning naming its cell, and is ignored."""
    settings: dict[str, str] = {}
    seen: dict[str, int] = {}
    for r in rows:
        key = r.key.strip().lower()
        if key not in SETTINGS:
            out.warnings.append(f"Settings row {r.row}, column key: {describe(r.key)} is not a setting "
                                f"(known: {', '.join(SETTINGS)}); it was ignored")
        elif key in seen:
            out.add("Settings", r.row, "key", f"duplicate of Settings row {seen[key]} ({describe(r.key)})", r.key)
        else:
            seen[key] = r.row
            if r.value and r.value.strip():
                settings[key] = r.value.strip()
                if key in POSITIVE_SETTINGS:
                    _positive_setting(settings, key, r, out)
    return settings


def _positive_setting(settings: dict[str, str], key: str, r, out: Collector) -> None:
    """A setting whose value must be a number > 0 (``models.schema.POSITIVE_SETTINGS``): kept as the number's
    text, or a problem naming its value cell."""
    try:
        number = positive_number(settings[key])
    except ValueError as exc:
        out.add("Settings", r.row, "value", f"{key} {describe(r.value)}: {exc}", r.value)
        del settings[key]
        return
    settings[key] = repr(number)


def _per_period(sheet: str, kept: list, periods: list[str], keys: int) -> pd.DataFrame:
    """The table of ``sheet`` with one row per kept row and period: ``period`` after the first ``keys``
    columns."""
    table = sheet_table(sheet, [dict(r) for r in kept for _ in periods])
    table.insert(keys, "period", pd.Series(list(periods) * len(kept), dtype=object))
    return table


def _build_investments(rows: list, site_ref, item_ref, periods: list[str], period_lookup: dict[str, str],
                       supply: pd.DataFrame, out: Collector) -> pd.DataFrame:
    """One row per (option, period); ``earliest``/``latest`` resolved (blank: first/last period)."""
    kept = []
    names: dict[str, int] = {}
    supplied = set(zip(supply["site"], supply["item"], supply["period"], strict=True)) if len(rows) else set()
    for r in rows:
        site, item = site_ref(r.site, "Investments", r.row, "site"), item_ref(r.item, "Investments", r.row)
        earliest = period_of(r.earliest, period_lookup, "Investments", r.row, out, "earliest") or periods[0]
        latest = period_of(r.latest, period_lookup, "Investments", r.row, out, "latest") or periods[-1]
        problems = len(out.problems)
        if r.option.lower() in names:
            out.add("Investments", r.row, "option",
                    f"duplicate of Investments row {names[r.option.lower()]} ({describe(r.option)})", r.option)
        names.setdefault(r.option.lower(), r.row)
        if periods.index(earliest) > periods.index(latest):
            out.add("Investments", r.row, "latest", f"{describe(latest)} is before earliest {describe(earliest)}",
                    latest)
        if r.lead_time is not None and not float(r.lead_time).is_integer():
            out.add("Investments", r.row, "lead_time", f"{describe(r.lead_time)}: expected a whole number of periods",
                    r.lead_time)
        if r.life is not None and not float(r.life).is_integer():
            out.add("Investments", r.row, "life", f"{describe(r.life)}: expected a whole number of periods (>= 1)",
                    r.life)
        if len(out.problems) > problems or not site or not item:
            continue
        lead = int(r.lead_time or 0)
        first = periods.index(earliest) + lead
        if first >= len(periods):
            out.warnings.append(
                f"Investments row {r.row}, column lead_time: option {r.option!r} cannot produce within the horizon: "
                f"built in its earliest period {earliest}, it becomes available {lead} periods later, after the last "
                f"period {periods[-1]} (lead_time counts periods of the workbook, not months or years)")
        if r.unit_cost is None:
            missing = [p for p in periods[first:] if (site, item, p) not in supplied]
            if missing:
                out.add("Investments", r.row, "unit_cost",
                        f"a unit_cost is required: {site} has no Supply row for {item} in {missing[0]}, when the "
                        "option can be available", None)
                continue
        kept.append(r.model_copy(update={"site": site, "item": item, "earliest": earliest, "latest": latest}))
    return _per_period("Investments", kept, periods, 3)


def _build_inventory(rows: list, site_ref, item_ref, periods: list[str], out: Collector) -> pd.DataFrame:
    """One row per (site, item, period) that carries stock."""
    kept = []
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        site, item = site_ref(r.site, "Inventory", r.row, "site"), item_ref(r.item, "Inventory", r.row)
        if not site or not item:
            continue
        if (site, item) in seen:
            out.add("Inventory", r.row, "item",
                    f"duplicate of Inventory row {seen[(site, item)]} (same site and item)", r.item)
            continue
        seen[(site, item)] = r.row
        if r.capacity is not None and (r.final or 0.0) > r.capacity:
            out.add("Inventory", r.row, "final", f"{describe(r.final)} is above the capacity {describe(r.capacity)}",
                    r.final)
            continue
        kept.append(r.model_copy(update={"site": site, "item": item}))
    return _per_period("Inventory", kept, periods, 2)


def _choice(value: str | None, allowed: tuple[str, ...], row: int, column: str, out: Collector) -> str:
    if value is None:
        return allowed[0]
    key = value.strip().lower()
    if key not in allowed:
        out.add("Policies", row, column,
                f"{describe(value)} is not one of: {', '.join(allowed)}", value)
        return allowed[0]
    return key


def _check_requires(rules: list[Rule], rule_specs: Mapping[str, RuleSpec], out: Collector) -> None:
    """A rule with `requires` (a threshold credit) must point at a share rule of its own policy set."""
    shares = {rule.row for rule in rules if rule_specs[rule.type].share}
    for rule in rules:
        if rule_specs[rule.type].needs_requires and rule.requires is not None and rule.requires not in shares:
            out.add("Policies", rule.row, "requires",
                    f"{rule.requires} is not the row of a min_share or max_share rule of policy set "
                    f"{rule.policy!r}", rule.requires)


def _build_bom(rows: list[BomRow], site_ref, item_ref, supplied: set[str], out: Collector) -> pd.DataFrame:
    """Resolve BOM rows; refuse duplicates, cycles and inputs that no site supplies."""
    entries: list[BomRow] = []
    seen: dict[tuple, int] = {}
    for r in rows:
        item, input_ = item_ref(r.item, "BOM", r.row), item_ref(r.input, "BOM", r.row, "input")
        site = site_ref(r.site, "BOM", r.row, "site") if r.site is not None else None
        if not item or not input_ or (r.site is not None and not site):
            continue
        key = (item, input_, site)
        if key in seen:
            out.add("BOM", r.row, "input", f"duplicate of BOM row {seen[key]} (same item, input and site)", r.input)
            continue
        seen[key] = r.row
        if item == input_:
            out.add("BOM", r.row, "input", f"{describe(r.input)} cannot be an input of itself", r.input)
            continue
        entries.append(r.model_copy(update={"item": item, "input": input_, "site": site}))
    made = {e.item for e in entries}
    for entry in entries:
        if entry.input not in supplied and entry.input not in made:
            out.add("BOM", entry.row, "input",
                    f"{describe(entry.input)} is an input that no site supplies (no Supply row) or makes", entry.input)
    # A cycle (cells need CAM, CAM needs cells) has no production order: name the row that closes it.
    graph: dict[str, list[BomRow]] = defaultdict(list)
    for entry in entries:
        graph[entry.item].append(entry)
    state: dict[str, int] = {}

    def visit(item: str, path: list[str]) -> None:
        state[item] = 1
        for entry in graph.get(item, []):
            if state.get(entry.input) == 1:
                cycle = " -> ".join([*path[path.index(entry.input):], item, entry.input]) \
                    if entry.input in path else f"{item} -> {entry.input}"
                out.add("BOM", entry.row, "input", f"the BOM has a cycle: {cycle}", entry.input)
            elif state.get(entry.input) is None:
                visit(entry.input, [*path, item])
        state[item] = 2

    for item in list(graph):  # workbook order: the reported row is the one that closes the cycle
        if state.get(item) is None:
            visit(item, [])
    return sheet_table("BOM", [dict(e) for e in entries])


def _build_rule(r: PolicyRow, vocab: Vocabulary, period_lookup: dict[str, str],
                rule_specs: Mapping[str, RuleSpec], out: Collector) -> Rule | None:
    problems_before = len(out.problems)
    rule_type = r.rule.strip().lower()
    spec = rule_specs.get(rule_type)
    if spec is None:
        out.add("Policies", r.row, "rule",
                f"{describe(r.rule)} is not a rule type; expected one of: {', '.join(rule_specs)}", r.rule)
    if spec is not None and spec.value == "fraction":
        if r.value is None:
            out.add("Policies", r.row, "value", f"a {rule_type} rule needs a value between 0 and 1")
        elif not 0.0 <= r.value <= 1.0:
            out.add("Policies", r.row, "value",
                    f"{describe(r.value)} is outside [0, 1]; a share is a fraction (0.7 or 70%)", r.value)
    elif spec is not None and spec.value == "count":
        if r.value is None or r.value < 0 or not float(r.value).is_integer():
            given = "" if r.value is None else f"{describe(r.value)}: "
            out.add("Policies", r.row, "value", f"{given}a {rule_type} rule needs a whole number of sites >= 0",
                    r.value)
    elif spec is not None and spec.value == "amount":
        if r.value is None:
            out.add("Policies", r.row, "value", f"a {rule_type} rule needs a value: {spec.amount_hint} >= 0")
        elif r.value < 0:
            out.add("Policies", r.row, "value", f"{describe(r.value)}: expected a number >= 0", r.value)
        elif spec.rate:
            _check_rate(r.value, "Policies", r.row, "value", out)
    requires = None
    if spec is not None and spec.needs_requires:
        if r.requires is None:
            out.add("Policies", r.row, "requires",
                    f"a {rule_type} needs `requires`: the Policies row number of the share rule it depends on")
        else:
            try:
                requires = int(float(r.requires))
            except ValueError:
                out.add("Policies", r.row, "requires",
                        f"{describe(r.requires)} is not a Policies row number", r.requires)
    if spec is not None and spec.fixed_value is not None:
        r = r.model_copy(update={"value": spec.fixed_value})
    rule = dict(
        policy=r.policy, type=rule_type, requires=requires,
        items=vocab.items_for(r.items, "Policies", r.row, "items", out),
        from_sites=vocab.sites_for(r.from_, "Policies", r.row, "from", out),
        to_sites=vocab.sites_for(r.to, "Policies", r.row, "to", out),
        value=r.value,
        basis=_choice(r.basis, (spec.bases if spec else None) or BASES, r.row, "basis", out),
        scope=_choice(r.scope, (spec.scopes if spec else None) or SCOPES, r.row, "scope", out),
        period=period_of(r.period, period_lookup, "Policies", r.row, out),
        row=r.row, items_text=r.items or "", from_text=r.from_ or "", to_text=r.to or "",
    )
    if len(out.problems) > problems_before:
        return None
    return Rule(**rule)
