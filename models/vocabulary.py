"""Reading workbook words: selectors and item lists resolved to ids, period names to periods, and the
collector of every problem found while doing so (shared by the network and its scenarios).

A name that is not known gets a suggestion when exactly one known name is close to it
(:func:`did_you_mean`: "'Woodruf' is not a site in Sites; did you mean 'Woodruff'?")."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.problems import Problem, describe

if TYPE_CHECKING:
    from models.network import Item, Site


#: How close (difflib's ratio, ignoring case) a known name must be to an unknown one to be suggested.
CLOSE = 0.8
#: Name comparisons one workbook's suggestions may cost (difflib takes ~3 us per known name): past this budget
#: unknown names are reported without a suggestion, so a workbook with thousands of distinct misspellings
#: among thousands of sites is still validated in about a second.
SUGGESTION_BUDGET = 500_000


def _folded(name: str, separators: bool) -> str:
    """``name`` as compared: stripped, lower case and, when ``separators`` is false, with runs of spaces and
    underscores read alike ('shortage cost' is 'shortage_cost')."""
    name = name.strip().lower()
    return name if separators else re.sub(r"[\s_]+", "_", name)


def close_name(word: str, known: Iterable[str], *, separators: bool = True) -> str | None:
    """The one known name close to ``word`` (difflib ratio >= ``CLOSE``, ignoring case and, when ``separators``
    is false, whether words are joined by spaces or underscores), in its own spelling; None when no known name
    is close, or more than one is."""
    spelling: dict[str, str] = {}
    for name in known:
        spelling.setdefault(_folded(name, separators), name)
    matches = difflib.get_close_matches(_folded(word, separators), list(spelling), n=2, cutoff=CLOSE)
    return spelling[matches[0]] if len(matches) == 1 else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'Woodruff'?"`` to end a message about the unknown name ``word``, or ``""`` when no
    single known name is close (:func:`close_name`)."""
    found = close_name(word, known)
    return "" if found is None else f"; did you mean {found!r}?"


@dataclass
class Collector:
    """Every problem (and warning) found so far; nothing is raised until all are known."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Suggestions already worked out, by (kind of name, unknown name in lower case); the comparisons left.
    _suggested: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _budget: int = field(default_factory=lambda: SUGGESTION_BUDGET, repr=False)

    def add(self, sheet: str, row: int | None, column: str | None, message: str, value=None) -> None:
        self.problems.append(Problem(sheet, row, column, message, value))

    def did_you_mean(self, word: str, kind: str, known: Iterable[str]) -> str:
        """:func:`did_you_mean` among ``known`` (the names of one ``kind``: "site", "item", ...), worked out once
        per distinct unknown name, within the workbook's ``SUGGESTION_BUDGET``."""
        key = (kind, word.strip().lower())
        if key not in self._suggested:
            known = list(known)
            if len(known) > self._budget:
                return ""
            self._budget -= len(known)
            self._suggested[key] = did_you_mean(word, known)
        return self._suggested[key]


def split(text: str | None) -> list[str]:
    """The ';'-separated terms of a cell."""
    if not text:
        return []
    return [term.strip() for term in text.split(";") if term.strip()]


class Vocabulary:
    """Case-insensitive lookup of the names selectors and item lists may use."""

    def __init__(self, sites: dict[str, Site], groups: dict[str, frozenset[str]],
                 group_names: dict[str, str], items: dict[str, Item]):
        self.site_ids = {s.lower(): s for s in sites}
        self.all_sites = frozenset(sites)
        self.countries: dict[str, set[str]] = defaultdict(set)
        for site in sites.values():
            self.countries[site.country.lower()].add(site.id)
        for members in groups.values():
            for country in members:
                self.countries.setdefault(country, set())
        self.groups = {
            g.lower(): set().union(*(self.countries.get(c, set()) for c in members)) if members else set()
            for g, members in groups.items()
        }
        self.group_names = group_names
        self.tags: dict[str, set[str]] = defaultdict(set)
        for site in sites.values():
            for tag in site.tags:
                self.tags[tag.lower()].add(site.id)
        self.item_ids = {i.lower(): i for i in items}
        self.all_items = frozenset(items)
        self.categories: dict[str, set[str]] = defaultdict(set)
        for item in items.values():
            if item.category:
                self.categories[item.category.lower()].add(item.id)
        # The names a selector or an item list may use, as the workbook spells them (for suggestions).
        self.selector_names = [*group_names.values(), *(s.country for s in sites.values()),
                               *self.countries, *(t for s in sites.values() for t in s.tags), *sites]
        self.item_list_names = [*items, *(i.category for i in items.values() if i.category)]

    def sites_for(self, text: str | None, sheet: str, row: int, column: str, out: Collector) -> frozenset[str]:
        terms = split(text)
        if not terms:
            return self.all_sites
        selected: set[str] = set()
        for term in terms:
            key = term.lower()
            kinds = [
                (kind, found) for kind, found in (
                    ("group", self.groups.get(key)),
                    ("country", self.countries.get(key)),
                    ("tag", self.tags.get(key)),
                    ("site", {self.site_ids[key]} if key in self.site_ids else None),
                ) if found is not None
            ]
            if not kinds:
                out.add(sheet, row, column, f"{describe(term)} is not a group, country, tag or site id"
                        + out.did_you_mean(term, "selector", self.selector_names), term)
            elif len(kinds) > 1:
                names = " and a ".join(k for k, _ in kinds)
                out.add(sheet, row, column,
                        f"{describe(term)} is ambiguous: it names a {names}; rename one of them", term)
            else:
                selected |= kinds[0][1]
        return frozenset(selected)

    def items_for(self, text: str | None, sheet: str, row: int, column: str, out: Collector) -> frozenset[str]:
        terms = split(text)
        if not terms:
            return self.all_items
        selected: set[str] = set()
        for term in terms:
            key = term.lower()
            is_item, is_category = key in self.item_ids, key in self.categories
            if is_item and is_category:
                out.add(sheet, row, column,
                        f"{describe(term)} is ambiguous: it is both an item and a category", term)
            elif is_item:
                selected.add(self.item_ids[key])
            elif is_category:
                selected |= self.categories[key]
            else:
                out.add(sheet, row, column, f"{describe(term)} is not an item or category in Items"
                        + out.did_you_mean(term, "item list", self.item_list_names), term)
        return frozenset(selected)


def period_of(value: str | None, lookup: dict[str, str], sheet: str, row: int, out: Collector,
              column: str = "period") -> str | None:
    """The period a cell names (case-insensitively), or None with a problem naming the cell."""
    if value is None:
        return None
    found = lookup.get(value.lower())
    if found is None:
        out.add(sheet, row, column, f"{describe(value)} is not a period in Periods", value)
    return found


