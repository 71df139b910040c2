"""Families of nearly identical solves, run as warm chains on sessions (``optimizer.session``).

A family is its members, each a tuple of edits (``optimizer.edits``) applied to one base model: a policy set,
in a scenario or not. Its members are cut into contiguous chains of at most ``CHAIN_LENGTH`` members, the cut
depending on the family alone; each chain is one runner task (``optimizer.runner``: in this process, on local
workers or on Dask), which builds the base model once and solves its members in order on one session, each
from the previous member's basis (an LP) or plan (a MILP). Since the chains do not depend on ``--workers`` or
the scheduler, neither do the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.network import Network, PolicySet
from optimizer.edits import Edit, RuleValue, apply_all
from optimizer.formulation import physical_of, with_rules
from optimizer.highs import OneSided
from optimizer.options import SolverOptions
from optimizer.results import SolveResult
from optimizer.rules import RULE_TYPES
from optimizer.runner import ProgressCallback, run_tasks
from optimizer.session import Session

#: The most members one chain solves on one session. Longer chains warm-start more members; shorter ones
#: spread a family over more workers. Fixed, so that results never depend on the number of workers.
CHAIN_LENGTH = 12


@dataclass(frozen=True)
class Member:
    """One solve of a family: its edits to the base model; ``report`` "total" (warm, the cost parts and total
    only), "cost" (warm, what a family's table needs), "tables" (warm, with the plan's tables) or "full" (every
    table, as a single solve gives them: ``Session.solve``); ``rules``: the Policies rows whose one-sided
    marginal cost (as a whole) it reports."""

    label: str
    edits: tuple[Edit, ...] = ()
    report: str = "cost"
    rules: tuple[int, ...] = ()


@dataclass(frozen=True)
class Chain:
    """Members solved one after another on one session over the base model: ``policy`` on the workbook, in
    ``scenario`` when given (its changes applied, ``policy`` then ignored for the scenario's own)."""

    label: str
    policy: PolicySet
    members: tuple[Member, ...]
    scenario: str | None = None

    def run(self, network: Network, options: SolverOptions) -> list[SolveResult]:
        """Every member's result, in order (detached: small and picklable)."""
        physical = physical_of(network, self.scenario)
        world = physical.network
        policy = self.policy if self.scenario is None else world.policy(world.scenario_policy)
        base = with_rules(physical, policy)
        session: Session | None = None
        results = []
        for member in self.members:
            formulation = apply_all(base, member.edits)
            if session is None:
                session = Session(formulation, options)
            else:
                session.load(formulation)
            result = session.solve(member.report, set(member.rules) or None)
            for row in member.rules:
                if result.has_plan and result.marginals.rule_rate(row) == math.inf:
                    _check_the_limit(session, formulation, member, row, result)
            result.stats.update(chain=self.label, fresh_loads=session.fresh_loads, warm_solves=session.warm_solves)
            results.append(result.detached())
        return results


def cut(items: list, length: int = CHAIN_LENGTH) -> list[list]:
    """``items`` cut into contiguous runs of at most ``length``, as even as possible (none when empty)."""
    count = max(1, math.ceil(len(items) / length))
    size, extra = divmod(len(items), count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return [run for run in out if run]


def chains(label: str, policy: PolicySet, members: list[Member], scenario: str | None = None,
           length: int = CHAIN_LENGTH) -> list[Chain]:
    """``members`` cut into contiguous chains of at most ``length``, as even as possible."""
    runs = cut(members, length)
    return [Chain(f"{label} {i + 1}/{len(runs)}", policy, tuple(run), scenario) for i, run in enumerate(runs)]


def run_family(network: Network, family: list[Chain], options: SolverOptions, workers: int = 1,
               scheduler: str | None = None, progress: ProgressCallback | None = None) -> list[SolveResult]:
    """Run the chains (one runner task each) and return every member's result in the chains' order."""
    done = run_tasks(network, family, options, workers, scheduler, progress)
    return [result for chain in done for result in chain]


def family_stats(results: list[SolveResult]) -> dict[str, int]:
    """How a family was solved: its members, the models loaded whole (one per chain that solved warm, and
    members too different to edit) and the members re-solved warm, from each member's ``stats``."""
    chains: dict[str, tuple[int, int]] = {}
    for result in results:
        counts = (result.stats.get("fresh_loads", 0), result.stats.get("warm_solves", 0))
        chains[result.stats.get("chain", "")] = max(chains.get(result.stats.get("chain", ""), (0, 0)), counts)
    return {"members": len(results), "fresh_loads": sum(c[0] for c in chains.values()),
            "warm_solves": sum(c[1] for c in chains.values())}


#: How far past a bound "at the limit" is checked: 0.01 percentage point of a share, 0.01% of a cap.
LIMIT_STEP = 1e-4


def _check_the_limit(session: Session, formulation, member: Member, row: int, result: SolveResult) -> None:
    """A rate "at the limit" says no plan lies past the bound. It is computed with the plan's own decisions
    held (its builds; the flows its shares are measured against): where moving the rule's value itself a small
    step further still has a plan, the cost steps up there instead. The marginal is then blank, and a note on
    the result says by how much the cost steps (``SolveResult.marginal_notes``)."""
    rule = next(r for r in formulation.policy.rules if r.row == row)
    tighter = RULE_TYPES[rule.type].tightened(float(rule.value), LIMIT_STEP)
    if tighter is None:
        return
    session.load(RuleValue(row, tighter).applied(formulation))
    past = session.solve()
    if not past.has_plan:
        return
    result.marginals.rules[row] = OneSided(math.nan)
    step = f"{LIMIT_STEP:.2%} of the cap" if RULE_TYPES[rule.type].frontier == "emissions" else \
        f"{LIMIT_STEP * 100:g} pp"
    result.marginal_notes[row] = (f"no rate here: the cost steps up by {past.total_cost - result.total_cost:,.2f} "
                                  f"within {step} past this value (the plan must change at once)")
