"""Run independent solves (policy sets, sweep points) one after another, on local processes, or on
an existing Dask cluster. Every path calls the same ``solve_task`` function, so results do not
depend on the executor; they come back in task order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from models.network import Network, PolicySet
from optimizer.api import solve
from optimizer.backend import SolverOptions
from optimizer.results import SolveResult

#: Called after each finished task with (tasks done, tasks in all).
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SolveTask:
    """One independent solve: ``policy`` applied to the shared network."""

    label: str
    policy: PolicySet


def solve_task(network: Network, task: SolveTask, options: SolverOptions) -> SolveResult:
    """Solve one task and drop the solver objects so the result can cross process boundaries."""
    return solve(network, policy=task.policy, options=options).detached()


_WORKER_NETWORK: Network | None = None


def _init_worker(network: Network) -> None:
    global _WORKER_NETWORK
    _WORKER_NETWORK = network


def _solve_in_worker(task: SolveTask, options: SolverOptions) -> SolveResult:
    assert _WORKER_NETWORK is not None
    return solve_task(_WORKER_NETWORK, task, options)


def run_tasks(network: Network, tasks: Sequence[SolveTask], options: SolverOptions, workers: int = 1,
              scheduler: str | None = None, progress: ProgressCallback | None = None) -> list[SolveResult]:
    """Solve every task; ``workers`` local processes (1 = in this process), or the Dask cluster at
    ``scheduler`` (``tcp://host:port``; needs the ``distributed`` extra). Results are in task order."""
    tasks = list(tasks)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(tasks))

    if scheduler:
        return _run_on_dask(network, tasks, options, scheduler, tick)
    if workers <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            results.append(solve_task(network, task, options))
            tick()
        return results
    # spawn, not fork: HiGHS may hold threads, and forked children of a threaded parent can hang.
    context = multiprocessing.get_context("spawn")
    results: list[SolveResult | None] = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_init_worker, initargs=(network,)) as pool:
        futures = {pool.submit(_solve_in_worker, task, options): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            tick()
    return results  # type: ignore[return-value]


class DistributedUnavailable(RuntimeError):
    """--scheduler was given but dask.distributed is not installed or the cluster cannot be reached."""


def _run_on_dask(network: Network, tasks: list[SolveTask], options: SolverOptions, scheduler: str,
                 tick: Callable[[], None]) -> list[SolveResult]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_as_completed
    except ImportError:
        raise DistributedUnavailable(
            "--scheduler needs dask.distributed: pip install 'sourcing-optimizer[distributed]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise DistributedUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        shared = client.scatter(network, broadcast=True)
        futures = [client.submit(solve_task, shared, task, options, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[SolveResult | None] = [None] * len(tasks)
        for future in dask_as_completed(futures):
            results[index[future.key]] = future.result()
            tick()
        return results  # type: ignore[return-value]
    finally:
        client.close()
