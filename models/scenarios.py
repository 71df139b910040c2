"""Scenarios: named futures with a probability and a policy set, each the workbook with some of its numbers
changed (the Scenarios and ScenarioChanges sheets, contract v3 part 2).

A change row names one number column of one sheet (Supply, Demand, Lanes, Tariffs, Investments, Inventory,
Policies) and applies to every value of that column whose row matches all the match columns it gives: ``site``
(Supply, Demand, Investments, Inventory; on Policies the rules whose ``to`` selects any of those sites) or
``origin`` / ``destination`` (Lanes, Tariffs) as selectors, ``item`` (ids or categories; on Lanes item rows
only, a blank-item Lanes row being matched only by a change whose ``item`` is blank; on Policies the rules
whose items include any of them), ``period`` (one period or a range ``2027:``, ``:2028``, ``2027:2029``: the
per-period values of those periods only), ``option`` (Investments), ``policy`` and ``rule`` (Policies: the
rule's policy set and type). Exactly one of ``multiply`` (>= 0), ``add`` and ``set``. A blank (unlimited)
capacity (or a blank Demand ``shortage_cost``, a hard requirement) stays blank under ``multiply`` and ``add``;
``set`` makes it finite. Blanks that mean 0 change like 0; a blank meaning "the site's Supply value" (an
option's ``unit_cost``) is resolved after the changes, so changing it is an error.

A Tariffs change acts on the duty the Tariffs rows add up to on each (origin, destination, item, period) it
selects where some Tariffs row applies (never creating one elsewhere): the rows are cut so that the rest keeps
its rates. A Policies change sets the ``value`` of each rule it matches, whole: a blank-period rule (every
period) cannot change in some periods only, since a rule is one Policies row in every report.
A scenario's changes apply in sheet order; a result that breaks its column's own rule, or a change that
matches nothing, is an error naming the change row.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.problems import Problem, WorkbookError, describe
from models.schema import SHEETS_BY_NAME
from models.vocabulary import Collector, Vocabulary, did_you_mean, period_of

if TYPE_CHECKING:
    from models.network import Network, PolicySet, RuleSpec, Tariff

#: The sheets a change may name, with the network attribute holding each.
CHANGED_SHEETS = {"Supply": "supply", "Demand": "demand", "Lanes": "lanes", "Tariffs": "tariffs",
                  "Investments": "investments", "Inventory": "inventory", "Policies": "policies"}
#: The match columns, and the sheets each applies to.
MATCH_COLUMNS = {"site": ("Supply", "Demand", "Investments", "Inventory", "Policies"),
                 "origin": ("Lanes", "Tariffs"), "destination": ("Lanes", "Tariffs"), "option": ("Investments",),
                 "policy": ("Policies",), "rule": ("Policies",),
                 "item": tuple(CHANGED_SHEETS), "period": tuple(CHANGED_SHEETS)}
OPERATIONS = ("multiply", "add", "set")
_NUMBERS = ("number", "non_negative", "positive")
#: Columns whose blank means "unlimited" (stays blank under multiply and add): capacities, and a shortage cost (a
#: blank one is a hard requirement, as if unmet demand cost without limit).
UNLIMITED_WHEN_BLANK = {("Supply", "capacity"), ("Lanes", "capacity"), ("Inventory", "capacity"),
                        ("Demand", "shortage_cost")}
#: Columns whose blank means "none" rather than 0 (an option without a life has no salvage value): they stay
#: blank under multiply and add too.
NONE_WHEN_BLANK = {("Investments", "life")}
#: Columns whose blank means "the site's Supply value", resolved after the changes.
RESOLVED_LATER = {("Investments", "unit_cost"), ("Investments", "co2_per_unit")}
#: Columns the scenarios may not change (the build window is the same in every scenario).
FIXED = {("Investments", "earliest"), ("Investments", "latest")}
#: Columns that hold a whole number of periods, with the least each may be.
WHOLE = {("Investments", "lead_time"): 0, ("Investments", "life"): 1}
#: What a rule's value must be after a change, by ``RuleSpec.value``.
RULE_VALUES = {"fraction": "a fraction in [0, 1]", "count": "a whole number >= 0", "amount": "a number >= 0"}


def changeable(sheet: str) -> list[str]:
    """The number columns of ``sheet`` a change may name."""
    return [c.name for c in SHEETS_BY_NAME[sheet].columns if c.kind in _NUMBERS and (sheet, c.name) not in FIXED]


def has_value(spec: RuleSpec | None) -> bool:
    """Whether rules of this spec have a ``value`` a scenario may change (not exclude, not single_source)."""
    return spec is not None and spec.value is not None and spec.fixed_value is None


@dataclass(frozen=True)
class Change:
    """One ScenarioChanges row, its selectors resolved (None: the match column is blank, or names every
    period)."""

    row: int
    sheet: str
    column: str
    operation: str
    value: float
    sites: frozenset[str] | None = None
    origins: frozenset[str] | None = None
    destinations: frozenset[str] | None = None
    items: frozenset[str] | None = None
    item_blank: bool = True
    periods: frozenset[str] | None = None
    option: str | None = None
    policy: str | None = None
    rule: str | None = None

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``values`` after this change (NaN stays NaN under multiply and add)."""
        if self.operation == "multiply":
            return values * self.value
        if self.operation == "add":
            return values + self.value
        return np.full(len(values), self.value)


@dataclass(frozen=True)
class Scenario:
    """A Scenarios row: its probability (blanks shared out), policy set and changes in sheet order."""

    name: str
    probability: float
    policy: str
    description: str
    changes: tuple[Change, ...]
    row: int


def build_scenarios(scenario_rows: list, change_rows: list, vocab: Vocabulary, period_lookup: dict[str, str],
                    policy_names: Mapping[str, str], options: set[str], rule_specs: Mapping[str, RuleSpec],
                    out: Collector) -> dict[str, Scenario]:
    """Resolve the Scenarios and ScenarioChanges rows; problems go to ``out``, naming their cells.
    ``period_lookup`` maps each period's lower-case name to it, in period order."""
    names: dict[str, Any] = {}
    for r in scenario_rows:
        key = r.scenario.strip().lower()
        if key in names:
            out.add("Scenarios", r.row, "scenario",
                    f"duplicate of Scenarios row {names[key].row} ({describe(r.scenario)})", r.scenario)
            continue
        if r.policy is not None and r.policy.strip().lower() not in policy_names:
            out.add("Scenarios", r.row, "policy",
                    f"{describe(r.policy)} is not a policy set; the workbook has: {', '.join(policy_names.values())}"
                    + did_you_mean(r.policy, policy_names.values()), r.policy)
        names[key] = r
    probabilities = _probabilities(list(names.values()), out)
    changes: dict[str, list[Change]] = {key: [] for key in names}
    for r in change_rows:
        change = _build_change(r, names, vocab, period_lookup, policy_names, options, rule_specs, out)
        if change is not None:
            changes[r.scenario.strip().lower()].append(change)
    return {r.scenario: Scenario(r.scenario, probabilities[key],
                                 policy_names.get((r.policy or "baseline").strip().lower(), "baseline"),
                                 r.description or "", tuple(changes[key]), r.row)
            for key, r in names.items()}


def _probabilities(rows: list, out: Collector) -> dict[str, float]:
    """Given probabilities as they are; blanks share equally what the given ones leave."""
    given = sum(r.probability for r in rows if r.probability is not None)
    blanks = [r for r in rows if r.probability is None]
    share = max(0.0, 1.0 - given) / len(blanks) if blanks else 0.0
    out_of = {r.scenario.strip().lower(): (r.probability if r.probability is not None else share) for r in rows}
    total = sum(out_of.values())
    if rows and abs(total - 1.0) > 1e-6:
        out.add("Scenarios", None, "probability",
                f"the probabilities add up to {total:.6g}, not 1; give them so that they do (blanks share what "
                "the given ones leave)", total)
    return out_of


def _unknown(value: str, what: str, known: Iterable[str]) -> str:
    """``'min_shares' is not a rule type; did you mean 'min_share'?`` (or the known names when none is close)."""
    known = list(known)
    close = difflib.get_close_matches(value.strip().lower(), [k.lower() for k in known], n=1)
    if close:
        return f"{describe(value)} is not {what}; did you mean {next(k for k in known if k.lower() == close[0])!r}?"
    return f"{describe(value)} is not {what}; the workbook has: {', '.join(known)}"


def period_range(value: str | None, period_lookup: dict[str, str], sheet: str, row: int, out: Collector,
                 column: str = "period") -> frozenset[str] | None:
    """The periods a cell names: one period, or a range ``2027:`` (from 2027 on), ``:2028`` (up to 2028) or
    ``2027:2029`` (both ends included) in period order. None: blank, or every period; a problem naming the cell
    where a period or range is unknown."""
    if value is None:
        return None
    periods = list(period_lookup.values())
    text = value.strip()
    if text.lower() in period_lookup or text.count(":") != 1:
        found = period_of(text, period_lookup, sheet, row, out, column)
        return frozenset({found}) if found is not None and len(periods) > 1 else None
    start, end = (part.strip() for part in text.split(":"))
    if not start and not end:
        out.add(sheet, row, column, f"{describe(value)} names no period: give a start (2027:), an end (:2028) or "
                                    "both (2027:2029)", value)
        return None
    ends = []
    for part, default in ((start, periods[0]), (end, periods[-1])):
        found = period_lookup.get(part.lower()) if part else default
        if found is None:
            out.add(sheet, row, column, f"{describe(part)} (in {describe(value)}) is not a period in Periods", value)
            return None
        ends.append(periods.index(found))
    if ends[0] > ends[1]:
        out.add(sheet, row, column, f"{describe(value)}: {periods[ends[0]]} comes after {periods[ends[1]]} in the "
                                    "period order", value)
        return None
    chosen = periods[ends[0]:ends[1] + 1]
    return None if len(chosen) == len(periods) else frozenset(chosen)


def _build_change(r, scenarios: dict, vocab: Vocabulary, period_lookup: dict[str, str],
                  policy_names: Mapping[str, str], options: set[str], rule_specs: Mapping[str, RuleSpec],
                  out: Collector) -> Change | None:
    before = len(out.problems)
    if r.scenario.strip().lower() not in scenarios:
        known = [s.scenario for s in scenarios.values()]
        out.add("ScenarioChanges", r.row, "scenario", f"{describe(r.scenario)} is not a scenario of the Scenarios "
                                                       "sheet" + out.did_you_mean(r.scenario, "scenario", known),
                r.scenario)
    sheet = next((s for s in CHANGED_SHEETS if s.lower() == r.sheet.strip().lower()), None)
    if sheet is None:
        out.add("ScenarioChanges", r.row, "sheet",
                f"{describe(r.sheet)} is not a sheet a scenario may change; expected one of: "
                f"{', '.join(CHANGED_SHEETS)}", r.sheet)
        return None
    column = r.column.strip().lower()
    if (sheet, column) in FIXED:
        out.add("ScenarioChanges", r.row, "column", f"{describe(r.column)} cannot change between scenarios (the "
                                                     "build window is decided once)", r.column)
    elif column not in changeable(sheet):
        out.add("ScenarioChanges", r.row, "column", f"{describe(r.column)} is not a number column of {sheet}; "
                                                     f"expected one of: {', '.join(changeable(sheet))}", r.column)
    for match, sheets in MATCH_COLUMNS.items():
        if getattr(r, match) is not None and sheet not in sheets:
            out.add("ScenarioChanges", r.row, match,
                    f"{match} does not apply to {sheet} (it matches rows of {', '.join(sheets)})", getattr(r, match))
    given = [op for op in OPERATIONS if getattr(r, op) is not None]
    if len(given) != 1:
        out.add("ScenarioChanges", r.row, given[1] if len(given) > 1 else "multiply",
                "give exactly one of multiply, add and set" + (f" (this row gives {', '.join(given)})"
                                                                if given else ""))
    option = r.option
    if option is not None and sheet == "Investments":
        option = next((o for o in options if o.lower() == option.strip().lower()), None)
        if option is None:
            out.add("ScenarioChanges", r.row, "option", f"{describe(r.option)} is not an option of Investments"
                    + out.did_you_mean(r.option, "option", options), r.option)
    policy = rule = None
    if r.policy is not None and sheet == "Policies":
        policy = policy_names.get(r.policy.strip().lower())
        if policy is None:
            out.add("ScenarioChanges", r.row, "policy", _unknown(r.policy, "a policy set", policy_names.values()),
                    r.policy)
    if r.rule is not None and sheet == "Policies":
        rule = r.rule.strip().lower()
        if rule not in rule_specs:
            out.add("ScenarioChanges", r.row, "rule", _unknown(r.rule, "a rule type", rule_specs), r.rule)
        elif not has_value(rule_specs[rule]):
            out.add("ScenarioChanges", r.row, "rule", f"{rule} rules have no value to change (their value is "
                                                      "ignored or fixed)", r.rule)

    def selector(text, column_name):
        return vocab.sites_for(text, "ScenarioChanges", r.row, column_name, out) if text is not None else None

    change = Change(
        row=r.row, sheet=sheet, column=column, operation=given[0] if given else "set",
        value=float(getattr(r, given[0])) if given else 0.0,
        sites=selector(r.site, "site"), origins=selector(r.origin, "origin"),
        destinations=selector(r.destination, "destination"),
        items=vocab.items_for(r.item, "ScenarioChanges", r.row, "item", out) if r.item is not None else None,
        item_blank=r.item is None,
        periods=period_range(r.period, period_lookup, "ScenarioChanges", r.row, out),
        option=option, policy=policy, rule=rule)
    return change if len(out.problems) == before else None


# --------------------------------------------------------------------------- applying a scenario


def lanes_by_period(lanes: pd.DataFrame, periods: tuple[str, ...]) -> pd.DataFrame:
    """The Lanes table with one row per lane row and period (``period`` after ``item``)."""
    if "period" in lanes.columns:
        return lanes
    table = lanes.loc[lanes.index.repeat(len(periods))].reset_index(drop=True)
    table.insert(3, "period", list(periods) * len(lanes))
    return table


def _matches(table: pd.DataFrame, change: Change) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    if change.sites is not None:
        mask &= table["site"].isin(change.sites).to_numpy()
    if change.origins is not None:
        mask &= table["origin"].isin(change.origins).to_numpy()
    if change.destinations is not None:
        mask &= table["destination"].isin(change.destinations).to_numpy()
    if change.sheet == "Lanes":
        if change.item_blank:
            pass  # every lane row, blank-item ones included
        else:
            mask &= table["item"].isin(change.items).to_numpy()
    elif change.items is not None:
        mask &= table["item"].isin(change.items).to_numpy()
    if change.periods is not None:
        mask &= table["period"].isin(change.periods).to_numpy()
    if change.option is not None:
        mask &= (table["option"] == change.option).to_numpy()
    return mask


def _check_result(change: Change, values: np.ndarray, table: pd.DataFrame, hit: np.ndarray,
                  problems: list[Problem]) -> None:
    """A problem naming the change row where a changed value breaks its column's own rule."""
    kind = SHEETS_BY_NAME[change.sheet].column(change.column).kind
    finite = ~np.isnan(values)
    bad = np.zeros(len(values), dtype=bool)
    if kind == "non_negative":
        bad |= finite & (values < 0)
    elif kind == "positive":
        bad |= finite & (values <= 0)
    least = WHOLE.get((change.sheet, change.column))
    if least is not None:
        bad |= finite & ((values < least) | (values != np.round(values)))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        expected = {"non_negative": "a number >= 0", "positive": "a number > 0"}.get(kind, "a number")
        if least is not None:
            expected = f"a whole number >= {least}"
        problems.append(Problem(
            "ScenarioChanges", change.row, change.operation,
            f"it would make {change.sheet} row {int(table['row'].to_numpy()[hit][first])}, column "
            f"{change.column} {values[first]:g}: expected {expected}", change.value))


def _change_table(table: pd.DataFrame, change: Change, scenario: str, problems: list[Problem]) -> None:
    """Apply ``change`` to the rows of ``table`` (Supply, Demand, Lanes, Investments, Inventory) it matches."""
    hit = _matches(table, change)
    if not hit.any():
        problems.append(Problem("ScenarioChanges", change.row, _narrowest(change),
                                f"matches no {change.sheet} row (scenario {scenario!r})"))
        return
    current = table[change.column].to_numpy(dtype=float)[hit]
    if (change.sheet, change.column) in RESOLVED_LATER and np.isnan(current).any():
        problems.append(Problem(
            "ScenarioChanges", change.row, "column",
            f"{change.sheet} row {int(table['row'].to_numpy()[hit][np.flatnonzero(np.isnan(current))[0]])} "
            f"has a blank {change.column} (the site's Supply value): change the Supply row instead"))
        return
    keep_blank = (change.sheet, change.column) in UNLIMITED_WHEN_BLANK | NONE_WHEN_BLANK \
        and change.operation != "set"
    new = change.apply(current if keep_blank else np.nan_to_num(current, nan=0.0))
    _check_result(change, new, table, hit, problems)
    table.iloc[np.flatnonzero(hit), table.columns.get_loc(change.column)] = new


def _change_rules(policies: dict[str, PolicySet], change: Change, rule_specs: Mapping[str, RuleSpec],
                  periods: tuple[str, ...], scenario: str, problems: list[Problem]) -> dict[str, PolicySet]:
    """The policy sets with the ``value`` of every rule ``change`` matches changed (Policies sheets are small:
    rule by rule)."""
    changed = dict(policies)
    matched = 0
    broken = False
    for name, policy_set in policies.items():
        if change.policy is not None and name != change.policy:
            continue
        rules = list(policy_set.rules)
        for i, rule in enumerate(rules):
            spec = rule_specs.get(rule.type)
            if (not has_value(spec) or (change.rule is not None and rule.type != change.rule)
                    or (change.items is not None and not rule.items & change.items)
                    or (change.sites is not None and not rule.to_sites & change.sites)
                    or (change.periods is not None and rule.period is not None
                        and rule.period not in change.periods)):
                continue
            matched += 1
            if change.periods is not None and rule.period is None:
                problems.append(Problem(
                    "ScenarioChanges", change.row, "period",
                    f"Policies row {rule.row} ({rule.policy}, {rule.label()}) covers every period, so it cannot "
                    f"change in {', '.join(p for p in periods if p in change.periods)} only: give that rule one "
                    "Policies row per period, or narrow this change with policy or rule", None))
                continue
            value = float(change.apply(np.array([rule.value], dtype=float))[0])
            allowed = {"fraction": 0.0 <= value <= 1.0, "count": value >= 0 and value.is_integer(),
                       "amount": value >= 0}[spec.value]
            if not allowed and not broken:
                broken = True  # the first rule it breaks is enough to point at the change row
                problems.append(Problem(
                    "ScenarioChanges", change.row, change.operation,
                    f"it would make Policies row {rule.row}, column value {value:g}: expected "
                    f"{RULE_VALUES[spec.value]} for a {rule.type} rule", change.value))
            rules[i] = rule.model_copy(update={"value": value})
        changed[name] = policy_set.model_copy(update={"rules": tuple(rules)})
    if not matched:
        problems.append(Problem("ScenarioChanges", change.row, _narrowest(change),
                                f"matches no Policies rule with a value (scenario {scenario!r})"))
    return changed


#: A set of (origin, destination, item, period) as the product of four sets: a Tariffs row, or what a change
#: selects.
Box = tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]


def _meet(a: Box, b: Box) -> Box | None:
    """The common part of two boxes (None: they share nothing)."""
    common = tuple(x & y for x, y in zip(a, b, strict=True))
    return common if all(common) else None  # type: ignore[return-value]


def _cut(box: Box, part: Box) -> list[Box]:
    """``box`` without ``part`` (a box inside it), as disjoint boxes: first what lies outside ``part``'s
    origins, then outside its destinations, items and periods."""
    pieces = []
    for axis in range(4):
        outside = box[axis] - part[axis]
        if outside:
            pieces.append((*part[:axis], outside, *box[axis + 1:]))
    return pieces  # type: ignore[return-value]


def _minus(box: Box, other: Box) -> list[Box]:
    """``box`` without what it shares with ``other``, as disjoint boxes."""
    common = _meet(box, other)
    return [box] if common is None else _cut(box, common)


def _change_tariffs(tariffs: tuple[Tariff, ...], change: Change, network: Network, scenario: str,
                    problems: list[Problem]) -> tuple[Tariff, ...]:
    """The Tariffs records with the duty ``change`` selects changed: every record keeps its rate outside the
    selection, and inside it the part where some record applies is cut into cells of one total rate (the
    records covering a cell added up), each changed once. Tariffs sheets are small: record by record."""
    periods = network.periods
    selected: Box = tuple(every if chosen is None else chosen for chosen, every in (  # type: ignore[assignment]
        (change.origins, frozenset(network.sites)), (change.destinations, frozenset(network.sites)),
        (change.items, frozenset(network.items)), (change.periods, frozenset(periods))))
    kept: list[tuple[Box, float, int]] = []
    cells: list[tuple[Box, float, int]] = []  # disjoint; rate = the total of the records covering the cell
    for tariff in tariffs:
        box: Box = (tariff.origins, tariff.destinations, tariff.items,
                    frozenset(periods) if tariff.period is None else frozenset({tariff.period}))
        piece = _meet(box, selected)
        if piece is None:
            kept.append((box, tariff.rate, tariff.row))
            continue
        kept.extend((rest, tariff.rate, tariff.row) for rest in _cut(box, piece))
        refined, uncovered = [], [piece]
        for cell, rate, row in cells:
            common = _meet(cell, piece)
            if common is None:
                refined.append((cell, rate, row))
                continue
            refined.append((common, rate + tariff.rate, row))
            refined.extend((rest, rate, row) for rest in _cut(cell, common))
            uncovered = [rest for part in uncovered for rest in _minus(part, common)]
        cells = refined + [(part, tariff.rate, tariff.row) for part in uncovered]
    if not cells:
        problems.append(Problem("ScenarioChanges", change.row, _narrowest(change),
                                f"matches no Tariffs row (scenario {scenario!r})"))
        return tariffs
    totals = change.apply(np.array([rate for _, rate, _ in cells], dtype=float))
    if (totals < 0).any():
        first = int(np.flatnonzero(totals < 0)[0])
        problems.append(Problem(
            "ScenarioChanges", change.row, change.operation,
            f"it would make the duty on flows of Tariffs row {cells[first][2]} {totals[first]:g} (the rates of "
            "the Tariffs rows that apply added up): expected a number >= 0", change.value))
    changed = [(cell, float(total), row) for (cell, _, row), total in zip(cells, totals, strict=True)]
    return tuple(_tariff_records(kept + changed, periods))


def _tariff_records(boxes: list[tuple[Box, float, int]], periods: tuple[str, ...]) -> list[Tariff]:
    """Tariffs records of boxes: one for every period where a box has them all, else one per period."""
    from models.network import Tariff

    records = []
    for (origins, destinations, items, box_periods), rate, row in boxes:
        for period in [None] if len(box_periods) == len(periods) else [p for p in periods if p in box_periods]:
            records.append(Tariff(origins=origins, destinations=destinations, items=items, period=period,
                                  rate=rate, row=row))
    return records


def _narrowest(change: Change) -> str:
    """The cell a change that matches nothing is reported at: its first match column given (in the sheet's
    order: policy, rule, site, origin, destination, item, period, option), or ``sheet`` when it gives none (the
    sheet has no rows)."""
    given = {"policy": change.policy, "rule": change.rule, "site": change.sites, "origin": change.origins,
             "destination": change.destinations, "item": change.items, "period": change.periods,
             "option": change.option}
    return next((column for column, value in given.items() if value is not None), "sheet")


def apply_scenario(network: Network, scenario: Scenario) -> Network:
    """The network in ``scenario``: its changes applied in sheet order, its policy set the scenario's
    (``network.scenario_policy``). Raises WorkbookError naming every change row that cannot apply."""
    changed: dict[str, Any] = {}
    problems: list[Problem] = []
    for change in scenario.changes:
        name = CHANGED_SHEETS[change.sheet]
        if name not in changed:
            current = getattr(network, name)
            changed[name] = current.copy() if isinstance(current, pd.DataFrame) else current
        if name == "tariffs":
            changed[name] = _change_tariffs(changed[name], change, network, scenario.name, problems)
        elif name == "policies":
            changed[name] = _change_rules(changed[name], change, network.rule_specs, network.periods, scenario.name,
                                          problems)
        else:
            if name == "lanes" and change.periods is not None:
                changed[name] = lanes_by_period(changed[name], network.periods)
            _change_table(changed[name], change, scenario.name, problems)
    if problems:
        raise WorkbookError(problems)
    return replace(network, **changed, scenario_name=scenario.name, scenario_policy=scenario.policy)
