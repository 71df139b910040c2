"""The Overview sheet, first in every plan and comparison: a page that tells the story on its own.

It holds the question (workbook, policy set or policy sets, periods), the answer (total cost and its parts,
or each policy set's total cost with its change against baseline), at most five facts that matter most
(binding rules with their cost per percentage point, plants at capacity with their shadow price, options
built, policy sets without a plan) and one chart. It computes nothing new: every figure repeats a value of
another sheet of the same workbook, and its ``see`` column gives that sheet's cell (``Compliance!Q2:Q6``).
The layouts write every other sheet first, collect the facts from the sheets written, then write this one
and move it to the front.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl.styles import Font
from openpyxl.worksheet.hyperlink import Hyperlink

from models.network import IMPLICIT_PERIOD
from optimizer.figures import rate_text
from optimizer.results import build_periods_text
from optimizer.writing.table import DISCOUNTED, MONEY, NOMINAL, Labels, add_chart, reference, write_table

#: How a link looks.
LINK = Font(color="0563C1", underline="single")

#: At most this many facts; each kind present gets at least one.
MAX_FACTS = 5
#: At most this many figures in one fact (the largest, in their table's order).
MAX_FIGURES = 6
#: At most this many lines state which investment options are built (the rest of those not built share one).
MAX_OPTIONS = 6
KINDS = ("no plan", "unmet", "rule", "capacity", "option")
#: Compliance columns that name one rule apart from its period and destination.
RULE_KEY = ["rule", "items", "from", "to", "basis", "scope"]


@dataclass(frozen=True)
class Fact:
    kind: str
    rank: float
    text: str
    see: str


@dataclass(frozen=True)
class Line:
    """One row of the Overview: its section, what it states, the figure (text or a number in ``style``'s
    format), the change against baseline, and where the figure stands."""

    section: str
    item: str
    value: object = None
    see: str = ""
    style: str = ""
    vs_baseline: float | None = None


def choose(facts: list[Fact]) -> list[Fact]:
    """The facts that matter most: the first of each kind (by rank), then the rest by kind and rank, at most
    MAX_FACTS, shown in kind order."""
    ranked = {kind: sorted((f for f in facts if f.kind == kind), key=lambda f: -f.rank) for kind in KINDS}
    chosen = [group[0] for group in ranked.values() if group][:MAX_FACTS]
    for group in ranked.values():
        for fact in group[1:]:
            if len(chosen) < MAX_FACTS:
                chosen.append(fact)
    return sorted(chosen, key=lambda f: (KINDS.index(f.kind), -f.rank))


def _figures(values: list[float], tags: list[str], unit: str) -> tuple[str, list[int]]:
    """``0.79 (2026), 1.13 (2027) USD M``: at most MAX_FIGURES, the largest, in order; and which were shown."""
    shown = sorted(sorted(range(len(values)), key=lambda i: -abs(values[i]))[:MAX_FIGURES])
    # the single implicit period of a workbook without periods names none
    text = ", ".join(rate_text(values[i]) + ("" if tags[i] == IMPLICIT_PERIOD else f" ({tags[i]})") for i in shown)
    if len(values) > len(shown):
        text += f" and {len(values) - len(shown)} more"
    return text + (f" {unit}" if unit else ""), shown


def _cells(ws, column: str, positions: list[int]) -> str:
    """Where the values at ``positions`` of ``column`` stand: one range when they are consecutive."""
    if positions == list(range(positions[0], positions[-1] + 1)):
        return reference(ws, column, positions[0], positions[-1])
    first = reference(ws, column, positions[0])
    return ", ".join([first, *(reference(ws, column, p).split("!")[1] for p in positions[1:])])


def _periods(periods: list[str], all_periods: tuple[str, ...]) -> str:
    """``2026, 2027``, ``every period (2026-2030)``, or ``every period`` for the one implicit period."""
    if periods == [IMPLICIT_PERIOD]:
        return "every period"
    if len(periods) > 1 and periods == list(all_periods):
        return f"every period ({all_periods[0]}-{all_periods[-1]})"
    return ", ".join(periods)


def _rows_of(sources: pd.Series) -> str:
    """``Policies rows 2, 3, 4`` from the ``source`` cells of a group of rows."""
    names = list(dict.fromkeys(sources))
    sheet = names[0].rsplit(" row ", 1)[0] if " row " in names[0] else ""
    if len(names) > 1 and all(n.startswith(f"{sheet} row ") for n in names):
        return f"{sheet} rows " + ", ".join(n.rsplit(" ", 1)[1] for n in names)
    return ", ".join(names)


def rule_facts(compliance: pd.DataFrame, ws, labels: Labels, periods: tuple[str, ...],
               by_policy: bool = False) -> list[Fact]:
    """One fact per binding rule (its rows of every period and destination together): its cost per +1 pp of
    its bound in each, from the Compliance sheet ``ws``."""
    if not len(compliance) or "binding" not in compliance:
        return []
    frame = compliance.reset_index(drop=True)
    binding = frame[frame["binding"].fillna(False).astype(bool)]
    key = (["policy"] if by_policy else []) + RULE_KEY
    facts = []
    for _, rows in binding.groupby(key, sort=False, dropna=False):
        first = rows.iloc[0]
        items = "all items" if first["items"] == "(all)" else first["items"]
        label = f"{first['rule']} {items} from {first['from']}"
        label += f" into {first['to']}" if first["to"] != "(all)" else ""
        label = f"{first['policy']}: {label}" if by_policy else label
        tags = [str(p) if d in ("(all)", "") else f"{p}, {d}" for p, d in zip(rows["period"], rows["destination"],
                                                                                  strict=True)]
        when = _periods(list(dict.fromkeys(tags)), periods) if len(tags) <= MAX_FIGURES else \
            f"{len(tags)} of its {int((frame[key] == first[key]).all(axis=1).sum())} checks (period, destination)"
        where = f"{label} ({_rows_of(rows['source'])}) binds in {when}"
        priced = rows["cost_per_point"].notna()
        if priced.any():
            values = rows.loc[priced, "cost_per_point"].astype(float).tolist()
            text, shown = _figures(values, [t for t, p in zip(tags, priced, strict=True) if p],
                                   labels.in_words(DISCOUNTED))
            positions = [int(i) for i in rows.index[priced]]
            facts.append(Fact("rule", max(abs(v) for v in values),
                              f"Binding: {where}; each +1 pp of its bound costs {text}",
                              _cells(ws, "cost_per_point", [positions[i] for i in shown])))
        elif "marginal_abatement_cost" in rows and rows["marginal_abatement_cost"].notna().any():
            abated = rows["marginal_abatement_cost"].notna()
            values = rows.loc[abated, "marginal_abatement_cost"].astype(float).tolist()
            per = labels.emissions_unit or "unit of emissions"
            text, shown = _figures(values, [t for t, a in zip(tags, abated, strict=True) if a],
                                   labels.in_words(DISCOUNTED, per))
            positions = [int(i) for i in rows.index[abated]]
            facts.append(Fact("rule", max(abs(v) for v in values),
                              f"Binding: {where}; each {per} less costs {text}",
                              _cells(ws, "marginal_abatement_cost", [positions[i] for i in shown])))
        else:
            facts.append(Fact("rule", -1.0, f"Binding: {where}; it has no cost per pp (not a share rule)",
                              _cells(ws, "binding", [int(i) for i in rows.index])))
    return facts


def capacity_facts(sensitivity: pd.DataFrame, ws, labels: Labels, periods: tuple[str, ...]) -> list[Fact]:
    """One fact per supply option at capacity with a shadow price, from the Sensitivity sheet ``ws``: the
    periods where its capacity is 0 left out (a plant shut until it restarts has a price but is not "at its
    capacity"), and the option left out when no other period remains."""
    if not len(sensitivity):
        return []
    frame = sensitivity.reset_index(drop=True)
    priced = frame[(frame["kind"] == "supply capacity") & (frame["price"].fillna(0) > 1e-9)
                   & (pd.to_numeric(frame["value"], errors="coerce").fillna(0) > 1e-9)]
    facts = []
    for (site, item, source), rows in priced.groupby(["site", "item", "source"], sort=False):
        unit = labels.units.get(item) or "unit"
        positions = [int(i) for i in rows.index]
        tags = [str(p) for p in rows["period"]]
        where = f"At capacity: {site} makes {item} ({source}) at its capacity in {_periods(tags, periods)}"
        one_more = rows["one_more"].astype(float) if "one_more" in rows else pd.Series(np.nan, index=rows.index)
        if one_more.notna().all():  # the one-sided value of one more unit, which the shadow price need not be
            text, shown = _figures(one_more.tolist(), tags, labels.in_words(DISCOUNTED, unit))
            sentence = f"{where}; one more {unit} of capacity a period would save {text}"
            see = _cells(ws, "one_more", [positions[i] for i in shown])
            if not np.allclose(one_more, rows["price"].astype(float), rtol=1e-6, atol=1e-9):
                less, priced = _figures(rows["price"].astype(float).tolist(), tags, labels.in_words(DISCOUNTED, unit))
                sentence += f" (one {unit} less would cost {less})"
                see += ", " + ", ".join(reference(ws, "price", positions[i]).split("!")[1] for i in priced)
        else:
            text, shown = _figures(rows["price"].astype(float).tolist(), tags, labels.in_words(DISCOUNTED, unit))
            sentence = f"{where}; its shadow price is {text} (for a change within its range: see Sensitivity)"
            see = _cells(ws, "price", [positions[i] for i in shown])
        facts.append(Fact("capacity", float(rows["price"].max()), sentence, see))
    return facts


def option_lines(investments: pd.DataFrame, shown: pd.Series, ws, labels: Labels) -> list[Line]:
    """Whether each investment option is built, from the Investments sheet ``ws`` (``shown``: its ``built``
    column as written): one line per option built (when, available from when, its capex and, with a life, its
    salvage value, nominal), then one per
    option not built, those beyond MAX_OPTIONS lines together on one."""
    rows = list(investments.itertuples()) if len(investments) else []
    built = [i for i, row in enumerate(rows) if row.built]
    idle = [i for i, row in enumerate(rows) if not row.built]
    lines = []
    for position in built:
        row = rows[position]
        share = f"{row.built:.0%} of " if row.divisible else ""
        whole = " for the whole option" if row.divisible else ""  # the terms; the fraction built scales them
        text = (f"Built: {share}{row.option} ({row.item} at {row.site}) in {build_periods_text(row)}, available from "
                f"{row.available_from or 'after the horizon'}; capex {labels.amount(float(row.capex or 0.0), NOMINAL)}"
                f"{whole}")
        salvage = getattr(row, "salvage", None)
        if salvage is not None and salvage == salvage:  # a life: part of the capex comes back as salvage value
            text += (f", less a salvage value of {labels.amount(float(salvage), NOMINAL)}{whole} credited at the end "
                     f"of the horizon (life {row.life} period{'' if row.life == 1 else 's'})")
        lines.append(Line("options", text, shown.iloc[position], reference(ws, "built", position)))
    alone = idle if len(lines) + len(idle) <= MAX_OPTIONS else idle[:max(0, MAX_OPTIONS - len(lines) - 1)]
    for position in alone:
        row = rows[position]
        lines.append(Line("options", f"Not built: {row.option} ({row.item} at {row.site})", shown.iloc[position],
                          reference(ws, "built", position)))
    rest = [rows[i].option for i in idle if i not in alone]
    if rest:
        lines.append(Line("options", f"Not built: {', '.join(rest)}", see=reference(ws, "built", idle[len(alone)])))
    return lines


def link(see: str) -> Hyperlink | None:
    """A link to the first cell or range a ``see`` text names (``Compliance!R21, R22`` -> ``Compliance!R21``)."""
    target = see.replace(" ...", "").split(", ")[0].strip()
    return Hyperlink(ref="", location=target) if "!" in target else None


def write_overview(wb, lines: list[Line], facts: list[Fact], chart=None, labels: Labels | None = None):
    """Write the Overview (``lines``, then the facts chosen from ``facts``, then ``chart`` below) as the first
    sheet of ``wb``, printed on one page. Each ``see`` cell links to the cells it names; that column is not
    printed (a reader of the page has no use for cell references)."""
    chosen = choose(facts)
    lines = [*lines, *(Line(f"fact {i}", fact.text, see=fact.see) for i, fact in enumerate(chosen, start=1))]
    columns = {"section": [line.section for line in lines], "item": [line.item for line in lines],
               "value": [line.value for line in lines]}
    if any(line.vs_baseline is not None for line in lines):
        columns["vs_baseline"] = [line.vs_baseline for line in lines]
    columns["see"] = [line.see for line in lines]
    frame = pd.DataFrame(columns)
    styles = iter([line.style for line in lines])
    links = iter([link(line.see) if line.see else None for line in lines])
    money = 3 if "vs_baseline" in columns else None
    see = len(columns) - 1

    def row_style(values: tuple) -> dict:
        style, target = next(styles), next(links)
        extra = {2: {"number_format": style}} if style else {}
        if money is not None:
            extra[money] = {"number_format": MONEY}
        if target is not None:
            extra[see] = {"hyperlink": target, "font": LINK}
        return extra

    vs_baseline = labels.money("vs baseline", DISCOUNTED) if labels is not None else "vs baseline"
    ws = write_table(wb, "Overview", frame, formats={}, headers={"vs_baseline": vs_baseline}, row_style=row_style,
                     one_page=True, widths={"section": 11, "item": 80, "value": 26, "vs_baseline": 14, "see": 24},
                     wrap=("item", "value", "see"), unprinted=("see",))
    if chart is not None:
        add_chart(ws, chart, len(frame) + 3)
    wb._sheets.remove(ws)  # written last, shown first (openpyxl's move_sheet does not know write-only sheets)
    wb._sheets.insert(0, ws)
    return ws

