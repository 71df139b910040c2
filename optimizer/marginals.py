"""One-sided marginal costs of rule bounds: what the next percentage point of a share, or the next unit
of emissions less, costs.

The marginal cost of a bound is the rate at which the plan's optimal total cost rises as that bound
tightens from its value, everything else held (a MILP: its discrete choices as in the plan): raising a
``min_share``, lowering a ``max_share`` or a ``co2_cap``. Per percentage point for shares, per unit of
emissions for caps, in the objective's (discounted) currency. It is one-sided on purpose: at a
degenerate optimum the solver may return any of several optimal duals, and a dual alone is then not
the price of tightening; the one-sided rate is one number whichever it returns. A bound at the most
demanding achievable value has none: tightening it leaves no plan ("at the limit", ``inf`` here).

Each rule type says how its bound tightens (``RuleType.tightening``); ``optimizer.highs.one_sided_rates``
prices the directions on the solved model (ranging, and re-solves where a degenerate optimum needs
them). Three kinds of direction per plan:
- each Compliance row of a priced rule alone (its ``cost_per_point`` or ``marginal_abatement_cost``);
- each Policies row as a whole, per unit of its ``value`` (every period and destination it covers
  moves together: the sweep's and the frontier's marginal);
- every share rule of the policy set together, by one point each (the Comparison's figure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from optimizer.highs import OneSided, Tightening
from optimizer.model import Formulation

if TYPE_CHECKING:  # the rules import the backends' modules (diagnosis solves arrays): no import at run time
    from optimizer.rules.base import BoundTightening

_NONE = OneSided(float("nan"))
#: How many priced Supply capacities get the one-sided value of one more unit (the largest prices: what the
#: Overview states).
MAX_CAPACITIES = 20


@dataclass
class Marginals:
    """The one-sided marginal costs of one plan (``nan`` where there is none, ``inf`` at the limit)."""

    #: Policies row -> one rate per Compliance row of the rule, in their order.
    rows: dict[int, list[OneSided]] = field(default_factory=dict)
    #: Policies row -> the rate per unit of its ``value`` (per percentage point for a share).
    rules: dict[int, OneSided] = field(default_factory=dict)
    #: Every share rule of the policy set tightened by one point together (None without share rules).
    all_shares: OneSided | None = None
    #: Row of the ``supply_capacity`` block -> the rate of one more unit of that capacity (negative: a saving),
    #: for the priced capacities with the largest prices (``Pricing.MAX_CAPACITIES``).
    capacity: dict[int, OneSided] = field(default_factory=dict)

    def rule_rate(self, row: int) -> float:
        """The rate of the rule on Policies ``row`` as a whole (nan when it has none)."""
        return self.rules.get(row, _NONE).rate


class Pricing:
    """The tightenings of a plan's rules, handed to HiGHS in its rows (``row_positions``: HiGHS row of
    every block row, -1 where it was not passed), and their rates mapped back to rules.

    Called with the plan's values (``expand`` maps the solver's columns to the formulation's), it returns
    the directions to price; :meth:`marginals` reads the rates of those directions."""

    def __init__(self, formulation: Formulation, row_positions: dict[str, np.ndarray],
                 expand: Callable[[np.ndarray], np.ndarray] | None = None, rules: set[int] | None = None):
        self.formulation = formulation
        self.row_positions = row_positions
        self.expand = expand
        #: Price only the rules on these Policies rows, as a whole (a sweep's or frontier's rule); None: every
        #: Compliance row, every rule and all shares together (a plan's report).
        self.only = rules
        self.keys: list[tuple] = []
        self.rows_of: dict[int, int] = {}  # Policies row -> its Compliance rows (rules with a tightening)

    def __call__(self, values: np.ndarray, row_duals: np.ndarray | None = None) -> list[Tightening]:
        values = self.expand(values) if self.expand is not None else values
        directions: list[Tightening] = []
        self.keys, self.rows_of = [], {}
        if self.only is None and row_duals is not None:
            self._capacities(directions, row_duals)
        shares: list[Tightening] = []
        for row, model in self.formulation.rules.items():
            if self.only is not None and row not in self.only:
                continue
            bound = model.type.tightening(self.formulation, model, values)
            if bound is None:
                continue
            whole = self._direction(bound, np.arange(len(bound.per_value)), bound.per_value)
            if self.only is not None:
                self._add(directions, ("rule", row), whole)
                continue
            self.rows_of[row] = len(bound.per_row)
            per_row = [self._direction(bound, np.array([i]), bound.per_row[[i]]) for i in range(len(bound.per_row))]
            for i, direction in enumerate(per_row):
                self._add(directions, ("row", row, i), direction)
            self._add(directions, ("rule", row), whole)
            if model.type.marginal_column == "cost_per_point" and whole is not None:
                shares.append(whole)
        if shares:
            joint = Tightening(np.concatenate([d.rows for d in shares]), np.concatenate([d.coef for d in shares]),
                               min(d.step for d in shares))
            self._add(directions, ("all shares",), joint)
        return directions

    def _capacities(self, directions: list[Tightening], row_duals: np.ndarray) -> None:
        """One more unit of each priced Supply capacity (the ``MAX_CAPACITIES`` with the largest prices): a shadow
        price is the rate for a unit less or more only where the basis holds both ways, and "one more unit
        would save" must be the rate for a unit more."""
        positions = self.row_positions.get("supply_capacity")
        if positions is None or not len(positions):
            return
        present = np.flatnonzero(positions >= 0)
        price = np.abs(row_duals[positions[present]])
        chosen = present[np.argsort(-price, kind="stable")[:MAX_CAPACITIES]]
        chosen = chosen[np.abs(row_duals[positions[chosen]]) > 1e-9]
        rhs = self.formulation.blocks["supply_capacity"].rows["rhs"].to_numpy(dtype=float)
        for i in np.sort(chosen):
            # a <= row loosened: ``a x - t <= capacity``, so t is the capacity added
            self._add(directions, ("capacity", int(i)),
                      Tightening(positions[[i]], np.array([-1.0]), 1e-6 * max(1.0, abs(rhs[i]))))

    def _direction(self, bound: BoundTightening, rows: np.ndarray, per_unit: np.ndarray) -> Tightening | None:
        """Tightening ``rows`` of the bound's block by ``per_unit`` each per unit: +f on a ``<=`` row, -f on a
        ``>=`` row (None when no row moves, or one of them was not passed to HiGHS)."""
        block = self.formulation.blocks[bound.block]
        positions = self.row_positions[bound.block][rows]
        moving = per_unit != 0
        if not moving.any() or (positions[moving] < 0).any():
            return None
        sense = block.rows["sense"].to_numpy()[rows[moving]]
        sign = np.where(sense == "<=", 1.0, -1.0)
        return Tightening(positions[moving], sign * per_unit[moving], bound.step)

    def _add(self, directions: list[Tightening], key: tuple, direction: Tightening | None) -> None:
        if direction is not None:
            self.keys.append(key)
            directions.append(direction)

    def marginals(self, rates: list[OneSided]) -> Marginals:
        """The rates of the directions last asked for, by rule (``nan`` for those that could not be priced)."""
        found = dict(zip(self.keys, rates, strict=True))
        out = Marginals()
        for row, n in self.rows_of.items():
            out.rows[row] = [found.get(("row", row, i), _NONE) for i in range(n)]
            out.rules[row] = found.get(("rule", row), _NONE)
        for key, rate in found.items():  # the rules priced as a whole only (``only``)
            if key[0] == "rule":
                out.rules.setdefault(key[1], rate)
        out.all_shares = found.get(("all shares",))
        out.capacity = {key[1]: rate for key, rate in found.items() if key[0] == "capacity"}
        return out
