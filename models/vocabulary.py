"""Reading workbook words: selectors and item lists resolved to ids, period names to periods, and the
collector of every problem found while doing so (shared by the network and its scenarios)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.problems import Problem, describe

if TYPE_CHECKING:
    from models.network import Item, Site


@dataclass
class Collector:
    """Every problem (and warning) found so far; nothing is raised until all are known."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, sheet: str, row: int | None, column: str | None, message: str, value=None) -> None:
        self.problems.append(Problem(sheet, row, column, message, value))


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
                out.add(sheet, row, column,
                        f"{describe(term)} is not a group, country, tag or site id", term)
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
                out.add(sheet, row, column, f"{describe(term)} is not an item or category in Items", term)
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


