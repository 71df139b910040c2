"""Scenarios: named futures with a probability and a policy set, each the workbook with some of its numbers
changed (the Scenarios and ScenarioChanges sheets, contract v3 part 2).

A change row names one number column of one sheet (Supply, Demand, Lanes, Investments, Inventory) and
applies to every value of that column whose row matches all the match columns it gives: ``site``
(Supply, Demand, Investments, Inventory) or ``origin`` / ``destination`` (Lanes) as selectors, ``item``
(ids or categories; on Lanes item rows only, a blank-item Lanes row being matched only by a change whose
``item`` is blank), ``period`` (the per-period values of that period only) and ``option`` (Investments).
Exactly one of ``multiply`` (>= 0), ``add`` and ``set``. A blank (unlimited) capacity stays unlimited under
``multiply`` and ``add``; ``set`` makes it finite. Blanks that mean 0 change like 0; a blank meaning "the
site's Supply value" (an option's ``unit_cost``) is resolved after the changes, so changing it is an error.
A scenario's changes apply in sheet order; a result that breaks its column's own rule, or a change that
matches nothing, is an error naming the change row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.problems import Problem, WorkbookError, describe
from models.schema import SHEETS_BY_NAME
from models.vocabulary import Collector, Vocabulary, did_you_mean, period_of

if TYPE_CHECKING:
    from models.network import Network

#: The sheets a change may name, with the network table holding each.
CHANGED_SHEETS = {"Supply": "supply", "Demand": "demand", "Lanes": "lanes", "Investments": "investments",
                  "Inventory": "inventory"}
#: The match columns, and the sheets each applies to.
MATCH_COLUMNS = {"site": ("Supply", "Demand", "Investments", "Inventory"), "origin": ("Lanes",),
                 "destination": ("Lanes",), "option": ("Investments",),
                 "item": tuple(CHANGED_SHEETS), "period": tuple(CHANGED_SHEETS)}
OPERATIONS = ("multiply", "add", "set")
_NUMBERS = ("number", "non_negative", "positive")
#: Columns whose blank means "unlimited" (stays blank under multiply and add).
UNLIMITED_WHEN_BLANK = {("Supply", "capacity"), ("Lanes", "capacity"), ("Inventory", "capacity")}
#: Columns whose blank means "the site's Supply value", resolved after the changes.
RESOLVED_LATER = {("Investments", "unit_cost"), ("Investments", "co2_per_unit")}
#: Columns the scenarios may not change (the build window is the same in every scenario).
FIXED = {("Investments", "earliest"), ("Investments", "latest")}
WHOLE = {("Investments", "lead_time")}


def changeable(sheet: str) -> list[str]:
    """The number columns of ``sheet`` a change may name."""
    return [c.name for c in SHEETS_BY_NAME[sheet].columns if c.kind in _NUMBERS and (sheet, c.name) not in FIXED]


@dataclass(frozen=True)
class Change:
    """One ScenarioChanges row, its selectors resolved (None: the match column is blank)."""

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
    period: str | None = None
    option: str | None = None


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
                    policy_names: Mapping[str, str], options: set[str], out: Collector) -> dict[str, Scenario]:
    """Resolve the Scenarios and ScenarioChanges rows; problems go to ``out``, naming their cells."""
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
        change = _build_change(r, names, vocab, period_lookup, options, out)
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


def _build_change(r, scenarios: dict, vocab: Vocabulary, period_lookup: dict[str, str], options: set[str],
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

    def selector(text, column_name):
        return vocab.sites_for(text, "ScenarioChanges", r.row, column_name, out) if text is not None else None

    change = Change(
        row=r.row, sheet=sheet, column=column, operation=given[0] if given else "set",
        value=float(getattr(r, given[0])) if given else 0.0,
        sites=selector(r.site, "site"), origins=selector(r.origin, "origin"),
        destinations=selector(r.destination, "destination"),
        items=vocab.items_for(r.item, "ScenarioChanges", r.row, "item", out) if r.item is not None else None,
        item_blank=r.item is None,
        period=period_of(r.period, period_lookup, "ScenarioChanges", r.row, out), option=option)
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
    if change.period is not None:
        mask &= (table["period"] == change.period).to_numpy()
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
    if (change.sheet, change.column) in WHOLE:
        bad |= finite & ((values < 0) | (values != np.round(values)))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        expected = {"non_negative": "a number >= 0", "positive": "a number > 0"}.get(kind, "a number")
        if (change.sheet, change.column) in WHOLE:
            expected = "a whole number >= 0"
        problems.append(Problem(
            "ScenarioChanges", change.row, change.operation,
            f"it would make {change.sheet} row {int(table['row'].to_numpy()[hit][first])}, column "
            f"{change.column} {values[first]:g}: expected {expected}", change.value))


def _narrowest(change: Change) -> str:
    """The cell a change that matches nothing is reported at: its first match column given (in the sheet's
    order: site, origin, destination, item, period, option), or ``sheet`` when it gives none (the sheet has no
    rows)."""
    given = {"site": change.sites, "origin": change.origins, "destination": change.destinations,
             "item": change.items, "period": change.period, "option": change.option}
    return next((column for column, value in given.items() if value is not None), "sheet")


def apply_scenario(network: Network, scenario: Scenario) -> Network:
    """The network in ``scenario``: its changes applied in sheet order, its policy set the scenario's
    (``network.scenario_policy``). Raises WorkbookError naming every change row that cannot apply."""
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for change in scenario.changes:
        name = CHANGED_SHEETS[change.sheet]
        if name not in tables:
            tables[name] = getattr(network, name).copy()
        if name == "lanes" and change.period is not None:
            tables[name] = lanes_by_period(tables[name], network.periods)
        table = tables[name]
        hit = _matches(table, change)
        if not hit.any():
            problems.append(Problem("ScenarioChanges", change.row, _narrowest(change),
                                    f"matches no {change.sheet} row (scenario {scenario.name!r})"))
            continue
        current = table[change.column].to_numpy(dtype=float)[hit]
        if (change.sheet, change.column) in RESOLVED_LATER and np.isnan(current).any():
            problems.append(Problem(
                "ScenarioChanges", change.row, "column",
                f"{change.sheet} row {int(table['row'].to_numpy()[hit][np.flatnonzero(np.isnan(current))[0]])} "
                f"has a blank {change.column} (the site's Supply value): change the Supply row instead"))
            continue
        keep_blank = (change.sheet, change.column) in UNLIMITED_WHEN_BLANK and change.operation != "set"
        base = current if keep_blank else np.nan_to_num(current, nan=0.0)
        if change.operation == "multiply":
            new = base * change.value
        elif change.operation == "add":
            new = base + change.value
        else:
            new = np.full(len(base), change.value)
        _check_result(change, new, table, hit, problems)
        column = table.columns.get_loc(change.column)
        table.iloc[np.flatnonzero(hit), column] = new
    if problems:
        raise WorkbookError(problems)
    return replace(network, **tables, scenario_name=scenario.name, scenario_policy=scenario.policy)
