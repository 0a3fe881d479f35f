"""Where the evaluations of an experiment run: in this process, a local process pool, or Dask.

Every evaluation is a pure function of its inputs (scenario, parameter values, patients, seed),
so the results do not depend on where or in which order they run: :func:`run_tasks` always
returns them in the order of the inputs, and the same seed gives the same numbers bit for bit
in-process, on a process pool or on a Dask cluster (tested).

Inside a worker the numba kernel runs on one thread: with many evaluations, processes give
parallelism without threads competing for the cores. A single evaluation (or ``workers=1``)
runs in this process on every numba thread instead.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from oligosim.interrupts import stop_pool


def default_workers() -> int:
    """Worker processes for the local pool: the usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers (stop_pool), so a
    # worker does not print its own KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # one numba thread per worker process: the pool provides the parallelism
    import numba

    numba.set_num_threads(1)


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list:
    """Evaluate ``fn(task)`` for every task and return the results in task order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one argument.
    tasks : sequence
        Picklable inputs.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``) or a
        ``distributed.Client``/``LocalCluster`` object; default: a local process pool.
    workers : int, optional
        Local worker processes (default: the usable cores). ``1`` runs in this process.
    progress : callable, optional
        Called with ``1`` after each finished task.
    on_result : callable, optional
        Called with ``(task index, result)`` as each task finishes, in order of finishing (so a
        caller can save results before the whole batch is done).

    Returns
    -------
    list
        ``[fn(t) for t in tasks]``, computed wherever asked.
    """
    tasks = list(tasks)
    if scheduler is not None:
        return _run_dask(fn, tasks, scheduler, progress, on_result)
    n_workers = default_workers() if workers is None else int(workers)
    if n_workers < 1:
        raise ValueError(f"workers = {workers}: must be >= 1")
    if n_workers == 1 or len(tasks) <= 1:
        out = []
        for i, t in enumerate(tasks):
            out.append(fn(t))
            if on_result:
                on_result(i, out[-1])
            if progress:
                progress(1)
        return out
    results: list = [None] * len(tasks)
    # spawn, not fork: numba's threading layer and matplotlib are not fork-safe once started
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(n_workers, len(tasks)), mp_context=ctx, initializer=_init_worker)
    try:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            if on_result:
                on_result(futures[fut], results[futures[fut]])
            if progress:
                progress(1)
    except BaseException:
        # an error or an interruption (Ctrl-C, SIGTERM): the running tasks are not waited for
        stop_pool(pool)
        raise
    pool.shutdown()
    return results


def _run_dask(fn, tasks, scheduler, progress, on_result=None) -> list:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise RuntimeError("--scheduler needs the 'distributed' package") from exc
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else (scheduler if isinstance(scheduler, Client) else Client(scheduler))
    try:
        futures = client.map(_in_dask_worker, [fn] * len(tasks), tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(tasks)
        for fut in dask_completed(futures):
            results[index[fut.key]] = fut.result()
            if on_result:
                on_result(index[fut.key], results[index[fut.key]])
            if progress:
                progress(1)
        return results
    finally:
        if own or not isinstance(scheduler, Client):
            client.close()


def _in_dask_worker(fn, task):
    # Dask workers may run several tasks on threads of one process: keep numba to one thread each
    import numba

    numba.set_num_threads(1)
    return fn(task)
