"""Run independent tasks (the chains of a family of solves, option values) one after another, on local
processes, or on an existing Dask cluster. Every path calls the same ``run_task`` function (each task's own
``run``), so results do not depend on the executor; they come back in task order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from models.network import Network
from optimizer.backend import SolverOptions

#: Called after each finished task with (tasks done, tasks in all).
ProgressCallback = Callable[[int, int], None]


class Task(Protocol):
    """Independent work on the shared network; ``run`` must return something picklable."""

    label: str

    def run(self, network: Network, options: SolverOptions) -> Any: ...


def run_task(network: Network, task: Task, options: SolverOptions) -> Any:
    """Run one task (every executor calls this)."""
    return task.run(network, options)


_WORKER_NETWORK: Network | None = None


def _init_worker(network: Network) -> None:
    global _WORKER_NETWORK
    _WORKER_NETWORK = network


def _run_in_worker(task: Task, options: SolverOptions) -> Any:
    assert _WORKER_NETWORK is not None
    return run_task(_WORKER_NETWORK, task, options)


def run_tasks(network: Network, tasks: Sequence[Task], options: SolverOptions, workers: int = 1,
              scheduler: str | None = None, progress: ProgressCallback | None = None) -> list[Any]:
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
            results.append(run_task(network, task, options))
            tick()
        return results
    # spawn, not fork: HiGHS may hold threads, and forked children of a threaded parent can hang.
    context = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_init_worker, initargs=(network,)) as pool:
        futures = {pool.submit(_run_in_worker, task, options): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            tick()
    return results  # type: ignore[return-value]


class DistributedUnavailable(RuntimeError):
    """--scheduler was given but dask.distributed is not installed or the cluster cannot be reached."""


def _run_on_dask(network: Network, tasks: list[Task], options: SolverOptions, scheduler: str,
                 tick: Callable[[], None]) -> list[Any]:
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
        futures = [client.submit(run_task, shared, task, options, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        for future in dask_as_completed(futures):
            results[index[future.key]] = future.result()
            tick()
        return results  # type: ignore[return-value]
    finally:
        client.close()
