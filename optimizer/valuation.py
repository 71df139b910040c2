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
- An option that cannot become available within the horizon (its earliest build period plus its lead time
  is past the last period) is worth nothing whatever its capex: its value, or break-even capex, is
  ``cannot produce within the horizon``, without a re-solve.

The options are cut into chains (``optimizer.families``), each one task of the runner (so ``--workers`` and
``--scheduler`` apply) solving its options' re-solves on one session, warm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.network import Network, PolicySet
from optimizer.edits import Builds, Capex, apply_all
from optimizer.families import cut
from optimizer.formulation import build_formulation
from optimizer.horizon import ANY_PERIOD, option_periods, salvage_fractions
from optimizer.model import Formulation
from optimizer.options import SolverOptions
from optimizer.results import SolveResult
from optimizer.runner import ProgressCallback, run_tasks
from optimizer.session import Session

ESSENTIAL = "essential"
NEVER = "never"
CANNOT_PRODUCE = "cannot produce within the horizon"
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
class OptionValuesTask:
    """Value some options of a solved plan (``plan_cost``): (option, whether the plan builds it) pairs."""

    label: str
    policy: PolicySet
    options: tuple[tuple[str, bool], ...]
    plan_cost: float

    def run(self, network: Network, options: SolverOptions) -> list[OptionValue]:
        """Their re-solves are one family on one session over the policy set's model, built once: each option
        left out, or forced in at the capex of each Newton step, each solve from the previous plan."""
        base = build_formulation(network, self.policy)
        session = Session(base, options)
        return [self.value(session, base, option, built) for option, built in self.options]

    def value(self, session: Session, base: Formulation, option: str, built: bool) -> OptionValue:
        if built:
            session.load(Builds.of({option: None}).applied(base))
            without = session.solve()
            if not without.has_plan:
                return OptionValue(option, value=ESSENTIAL, solves=1)
            return OptionValue(option, value=max(0.0, without.total_cost - self.plan_cost), solves=1)
        return self.break_even(session, base, option)

    def forced(self, session: Session, base: Formulation, option: str, capex: float) -> SolveResult:
        """The cheapest plan that builds the option, at ``capex`` in every build period."""
        session.load(apply_all(base, (Capex(((option, capex),)), Builds.of({option: ANY_PERIOD}))))
        return session.solve()

    def break_even(self, session: Session, base: Formulation, option: str) -> OptionValue:
        tolerance = _tolerance(self.plan_cost)
        capex, solves = 0.0, 0
        slope = capex_cost(base, option)
        for _ in range(MAX_STEPS):
            result = self.forced(session, base, option, capex)
            solves += 1
            if not result.has_plan:
                return OptionValue(option, break_even_capex=NEVER, solves=solves)
            gap = self.plan_cost - result.total_cost
            if capex == 0.0 and gap < -tolerance:
                return OptionValue(option, break_even_capex=NEVER, solves=solves)
            if abs(gap) <= tolerance:
                return OptionValue(option, break_even_capex=capex, solves=solves)
            period = result.investments.set_index("option").loc[option, "build_period"]
            if slope[period] <= 0:  # the capex no longer moves the cost (a salvage as large as its discount)
                break
            capex += gap / slope[period]
        return OptionValue(option, break_even_capex=capex, solves=solves,
                           note=f"not converged after {solves} re-solves")


def capex_cost(base: Formulation, option: str) -> dict[str, float]:
    """What one unit of an option's capex costs (discounted) when it is built in each period of its window: the
    build period's discount factor less the salvage value's share credited in the last period."""
    network = base.network
    terms = base.option_periods
    builds = terms[(terms["option"] == option) & terms["buildable"]]
    discount = np.asarray(network.discount, dtype=float)
    salvage = salvage_fractions(builds, len(network.periods))
    cost = discount[builds["index"].to_numpy(dtype=np.int64)] - discount[-1] * salvage
    return dict(zip(builds["period"], cost, strict=True))


def option_values(network: Network, result: SolveResult, options: SolverOptions | None = None,
                  workers: int = 1, scheduler: str | None = None,
                  progress: ProgressCallback | None = None) -> list[OptionValue]:
    """The value of every option of a solved plan: the yes/no options cut into chains (``optimizer.families.cut``),
    one runner task each."""
    if not result.has_plan or not len(result.investments):
        return []
    policy = network.policy(result.policy)
    periods = option_periods(network)
    producing = set(periods.loc[periods["available"], "option"])
    valued, values = [], {}
    for row in result.investments.itertuples():
        if row.option not in producing:
            values[row.option] = OptionValue(row.option, **{"value" if row.built else "break_even_capex":
                                                            CANNOT_PRODUCE})
        elif row.divisible:
            values[row.option] = OptionValue(row.option, note=DIVISIBLE_NOTE)
        else:
            valued.append((row.option, bool(row.built)))
    tasks = [OptionValuesTask(f"options {i + 1}", policy, tuple(run), float(result.total_cost))
             for i, run in enumerate(cut(valued))]
    for chain in run_tasks(network, tasks, options or SolverOptions(), workers, scheduler, progress):
        for value in chain:
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
