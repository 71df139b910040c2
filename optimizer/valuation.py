"""What each investment option is worth to a plan (``solve --option-values``), by re-solving.

- A built yes/no option: how much more the plan would cost without it (``value``), or ``essential``
  when there is no plan without it.
- An option not built: its break-even capex, the highest capex (the same in every build period) at
  which some plan that builds it costs no more than the plan. With ``g(c)`` the cheapest plan that
  builds it at capex ``c``, ``g(c) = min over build periods t of (C_t + c * k_t)`` (``C_t``: the
  cheapest plan building it in t at zero capex, ``k_t``: what one unit of capex costs when built in t,
  discounted: ``d_t - d_last * s_t`` with ``d`` the discount factors and ``s_t`` the share of its capex
  credited as salvage value in the last period, 0 without a ``life``), which is increasing, concave and
  piecewise linear; the break-even capex solves ``g(c) = plan cost``, i.e. ``max over t of
  (capex - E_t / k_t)`` with ``E_t`` what building in t adds at today's capex. It is found by Newton
  steps on ``g`` (each step one re-solve; the build period of the last solve gives the slope), exactly,
  in a few solves. It is 0 when building at zero capex merely ties, and ``never`` when every plan that
  builds it costs more even at zero capex.
- Divisible options get none: a fraction of them is already priced by the plan itself.

Each option is one task of the runner, so ``--workers`` and ``--scheduler`` apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.network import Network, PolicySet
from optimizer.edits import Builds, Capex, apply_all
from optimizer.formulation import build_formulation
from optimizer.horizon import ANY_PERIOD, salvage_fractions
from optimizer.model import Formulation
from optimizer.options import SolverOptions
from optimizer.results import SolveResult
from optimizer.runner import ProgressCallback, run_tasks
from optimizer.session import Session

ESSENTIAL = "essential"
NEVER = "never"
DIVISIBLE_NOTE = "divisible: no option value (the plan prices any fraction of it)"
#: Newton steps on the capex before giving up (each one re-solve; a few suffice).
MAX_STEPS = 30


@dataclass
class OptionValue:
    """``value`` for a built option, ``break_even_capex`` for one not built; ``solves`` re-solves used."""

    option: str
    value: float | str | None = None
    break_even_capex: float | str | None = None
    note: str = ""
    solves: int = 0


def _tolerance(cost: float) -> float:
    return 1e-9 * max(1.0, abs(cost))


@dataclass(frozen=True)
class OptionValueTask:
    """Value one option of a solved plan (``plan_cost``; ``built`` says whether the plan builds it)."""

    label: str
    option: str
    policy: PolicySet
    built: bool
    plan_cost: float

    def run(self, network: Network, options: SolverOptions) -> OptionValue:
        """Its re-solves are one family on one session over the policy set's model: the option left out, or
        forced in at the capex of each Newton step, each from the previous plan."""
        base = build_formulation(network, self.policy)
        session = Session(base, options)
        if self.built:
            session.load(Builds.of({self.option: None}).applied(base))
            without = session.solve()
            if not without.has_plan:
                return OptionValue(self.option, value=ESSENTIAL, solves=1)
            return OptionValue(self.option, value=max(0.0, without.total_cost - self.plan_cost), solves=1)
        return self.break_even(session, base)

    def forced(self, session: Session, base: Formulation, capex: float) -> SolveResult:
        """The cheapest plan that builds the option, at ``capex`` in every build period."""
        session.load(apply_all(base, (Capex(((self.option, capex),)), Builds.of({self.option: ANY_PERIOD}))))
        return session.solve()

    def break_even(self, session: Session, base: Formulation) -> OptionValue:
        tolerance = _tolerance(self.plan_cost)
        capex, solves = 0.0, 0
        slope = self.capex_cost(base)
        for _ in range(MAX_STEPS):
            result = self.forced(session, base, capex)
            solves += 1
            if not result.has_plan:
                return OptionValue(self.option, break_even_capex=NEVER, solves=solves)
            gap = self.plan_cost - result.total_cost
            if capex == 0.0 and gap < -tolerance:
                return OptionValue(self.option, break_even_capex=NEVER, solves=solves)
            if abs(gap) <= tolerance:
                return OptionValue(self.option, break_even_capex=capex, solves=solves)
            period = result.investments.set_index("option").loc[self.option, "build_period"]
            if slope[period] <= 0:  # the capex no longer moves the cost (a salvage as large as its discount)
                break
            capex += gap / slope[period]
        return OptionValue(self.option, break_even_capex=capex, solves=solves,
                           note=f"not converged after {solves} re-solves")

    def capex_cost(self, base: Formulation) -> dict[str, float]:
        """What one unit of the option's capex costs (discounted) when it is built in each period of its window:
        the build period's discount factor less the salvage value's share credited in the last period."""
        network = base.network
        terms = base.option_periods
        builds = terms[(terms["option"] == self.option) & terms["buildable"]]
        discount = np.asarray(network.discount, dtype=float)
        salvage = salvage_fractions(builds, len(network.periods))
        cost = discount[builds["index"].to_numpy(dtype=np.int64)] - discount[-1] * salvage
        return dict(zip(builds["period"], cost, strict=True))


def option_values(network: Network, result: SolveResult, options: SolverOptions | None = None,
                  workers: int = 1, scheduler: str | None = None,
                  progress: ProgressCallback | None = None) -> list[OptionValue]:
    """The value of every option of a solved plan (one runner task per yes/no option)."""
    if not result.has_plan or not len(result.investments):
        return []
    policy = network.policy(result.policy)
    tasks, values = [], {}
    for row in result.investments.itertuples():
        if row.divisible:
            values[row.option] = OptionValue(row.option, note=DIVISIBLE_NOTE)
        else:
            tasks.append(OptionValueTask(row.option, row.option, policy, bool(row.built), float(result.total_cost)))
    for value in run_tasks(network, tasks, options or SolverOptions(), workers, scheduler, progress):
        values[value.option] = value
    return [values[option] for option in result.investments["option"]]


def attach_option_values(result: SolveResult, values: list[OptionValue]) -> None:
    """Write the values into the plan's Investments table (``value``, ``break_even_capex``, ``note``)."""
    if not values:
        return
    by_option = {v.option: v for v in values}
    table = result.investments
    table["value"] = [by_option[o].value for o in table["option"]]
    table["break_even_capex"] = [by_option[o].break_even_capex for o in table["option"]]
    table["note"] = [by_option[o].note for o in table["option"]]
