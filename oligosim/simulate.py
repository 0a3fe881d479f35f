"""The driver: runs the kernel over every arm of a scenario, in chunks, and returns Results.

Patient ``i`` of every arm is the same virtual patient (same random streams), so arms can be
compared patient by patient. Chunks bound memory: only the per-patient summary columns are
kept, so memory grows with the number of patients times a few dozen bytes, and the optional
event log is limited to the patients asked for.
"""

from __future__ import annotations

import time

import numba
import numpy as np

from oligosim import codes
from oligosim._kernels import engine
from oligosim.config import Scenario
from oligosim.economics.inputs import enabled as economics_enabled
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.results import (
    COLUMNS,
    ENDPOINT_COLUMNS,
    EVENT_RECORDS,
    LC_RECORDS,
    ArmResult,
    Results,
    aggregate,
    lc_records,
    merge_aggregates,
)

DEFAULT_CHUNK = 200_000
#: patients per chunk when the economics is on: each chunk then carries its event log (about
#: 1 kB a patient), so the chunk is capped to keep that buffer near 50 MB (results do not
#: depend on the chunk)
ECONOMICS_CHUNK = 50_000
DEFAULT_BLOCK = 64


class InfeasibleCohort(ValueError):
    """Eligibility could not be met for some patients within ``max_attempts`` draws."""


def _allocate(n: int, events: bool) -> engine.Outputs:
    e = EVENT_RECORDS if events else 0
    cols = {name: np.zeros(n, dtype) for name, dtype in COLUMNS.items()}
    return engine.Outputs(
        tox=np.zeros((n, codes.N_TOX), np.bool_),
        lc_time=np.zeros((n, LC_RECORDS)),
        lc_event=np.zeros((n, LC_RECORDS), np.bool_),
        lc_bed=np.zeros((n, LC_RECORDS)),
        lc_volume=np.zeros((n, LC_RECORDS)),
        ev_time=np.zeros((n, e)),
        ev_code=np.zeros((n, e), np.int8),
        ev_detail=np.zeros((n, e), np.int16),
        **cols,
    )


def kernel_cached() -> bool | None:
    """Whether the kernel is ready to run without compiling: True if compiled in this process or
    cached on disk for this CPU, False if the next run compiles it (one to five minutes: a fresh
    install, or kernel sources changed, :mod:`oligosim._numba_cache`), None if that cannot be told.

    The command line and :func:`oligosim.run` use it to announce a compile instead of sitting
    silent. The cache index is read through numba's caching classes, which are internal: if they
    change, the answer is None and nothing is announced.
    """
    try:
        dispatcher = engine.simulate_block
        if dispatcher.overloads:
            return True
        index = dispatcher._cache._cache_file._load_index()  # {} when absent or stale (source stamp differs)
        if not index:
            return False
        magic = dispatcher.targetctx.codegen().magic_tuple()
        return any(key[1] == magic for key in index)
    except Exception:  # noqa: BLE001  numba internals moved: do not guess
        return None


def selected_arms(scenario: Scenario, arms: list[str] | None) -> list[str]:
    """The arm names to simulate: all of the scenario's (``arms=None``) or the named ones, checked.

    Raises
    ------
    ValueError
        If ``arms`` is empty, repeats a name or names an arm the scenario does not have.
    """
    names = list(scenario.data["arms"]) if arms is None else list(arms)
    unknown = [a for a in names if a not in scenario.data["arms"]]
    if unknown or not names or len(set(names)) != len(names):
        have = ", ".join(scenario.data["arms"])
        why = f"; unknown: {', '.join(map(str, unknown))}" if unknown else ""
        raise ValueError(f"arms = {names!r}: must name distinct arms of the scenario, at least one (its arms: {have}{why})")
    return names


def run_scenario(
    scenario: Scenario,
    *,
    patients: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    events: bool = False,
    keep: str = "all",
    chunk: int = DEFAULT_CHUNK,
    block: int = DEFAULT_BLOCK,
    arms: list[str] | None = None,
    progress=None,
) -> Results:
    """Simulate every arm of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    patients, seed : int, optional
        Override ``simulation.patients`` / ``simulation.seed`` (``seed=0`` is a seed like any other).
    threads : int, optional
        numba threads (default: all). Results do not depend on it.
    events : bool
        Keep the event log (up to EVENT_RECORDS events per patient); implies ``keep="all"``.
    keep : {"all", "summary"}
        ``"all"`` keeps every per-patient column (about 270 bytes per patient and arm);
        ``"summary"`` keeps only the survival columns and the subgroup covariates
        (:data:`~oligosim.results.ENDPOINT_COLUMNS`) and summarises the rest chunk by chunk
        (about 55 bytes per patient and arm), with an identical summary and metrics.
    chunk, block : int
        Patients per kernel call and per parallel work item. Results do not depend on them.
    arms : list of str, optional
        Only these arms.
    progress : callable, optional
        Called as ``progress(n_done)`` after each chunk.
    """
    n = int(scenario.data["simulation"]["patients"] if patients is None else patients)
    seed = int(scenario.data["simulation"]["seed"] if seed is None else seed)
    if n < 1:
        raise ValueError(f"patients = {n}: must be >= 1")
    if seed < 0:
        raise ValueError(f"seed = {seed}: must be >= 0")
    if chunk < 1 or block < 1:
        raise ValueError("chunk and block must be >= 1")
    if keep not in ("all", "summary"):
        raise ValueError(f"keep = {keep!r}: must be 'all' or 'summary'")
    if events:
        keep = "all"
    P = lower_model(scenario)
    R = lower_regimens(scenario)
    names = selected_arms(scenario, arms)
    econ = economics_enabled(scenario)
    if econ:
        chunk = min(chunk, ECONOMICS_CHUNK)
    old_threads = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    res = Results(scenario=scenario, seed=seed, patients=n)
    try:
        for name in names:
            label = scenario.data["arms"][name]["label"] or name
            A = lower_arm(scenario, name)
            ec = _economics(scenario, name, n) if econ else None
            if keep == "all":
                full = _allocate(n, events)
                for lo in range(0, n, chunk):
                    hi = min(lo + chunk, n)
                    # views along the patient axis: C-contiguous, written in place, no copy
                    part = engine.Outputs(*[arr[lo:hi] for arr in full])
                    part = ec.prepare(part) if ec else part
                    _run_chunk(P, R, A, seed, lo, part, block, progress)
                    if ec:
                        ec.add(lo, part, lambda p, lo=lo: _run_chunk(P, R, A, seed, lo, p, block, None))
                _check_feasible(full.os, 0, P)
                res.arms[name] = ArmResult(
                    name=name,
                    label=label,
                    columns={c: getattr(full, c) for c in COLUMNS},
                    tox=full.tox,
                    lc_time=full.lc_time,
                    lc_event=full.lc_event,
                    lc_bed=full.lc_bed,
                    lc_volume=full.lc_volume,
                    ev_time=full.ev_time,
                    ev_code=full.ev_code,
                    ev_detail=full.ev_detail,
                    economics=ec,
                )
            else:
                cols = {c: np.empty(n, COLUMNS[c]) for c in ENDPOINT_COLUMNS}
                buf = _allocate(min(chunk, n), False)
                agg = None
                lc_parts = []
                for lo in range(0, n, chunk):
                    hi = min(lo + chunk, n)
                    part = engine.Outputs(*[arr[: hi - lo] for arr in buf])
                    part = ec.prepare(part) if ec else part
                    _run_chunk(P, R, A, seed, lo, part, block, progress)
                    if ec:
                        ec.add(lo, part, lambda p, lo=lo: _run_chunk(P, R, A, seed, lo, p, block, None))
                    _check_feasible(part.os, lo, P)
                    for c in ENDPOINT_COLUMNS:
                        cols[c][lo:hi] = getattr(part, c)
                    pcols = {c: getattr(part, c) for c in COLUMNS}
                    agg = merge_aggregates(agg, aggregate(pcols, part.tox))
                    recs = lc_records(part.lc_time, part.lc_event, part.lc_bed, part.lc_volume, part.lc_n)
                    lc_parts.append([r.copy() for r in recs])
                res.arms[name] = ArmResult(
                    name=name,
                    label=label,
                    columns=cols,
                    aggregates=agg,
                    lc_records=tuple(np.concatenate(parts) for parts in zip(*lc_parts)),
                    economics=ec,
                )
    finally:
        numba.set_num_threads(old_threads)
    res.seconds = time.perf_counter() - t0
    return res


def _economics(scenario, name, n):
    """The per-patient economics collector of arm ``name`` (imported only when asked for)."""
    from oligosim.economics.collect import ArmEconomics
    from oligosim.economics.inputs import lower_economics

    return ArmEconomics(lower_economics(scenario, name), n)


def _run_chunk(P, R, A, seed, lo, part, block, progress) -> None:
    engine.simulate_block(P, R, A, np.int64(seed), np.int64(lo), part, np.int64(block))
    if progress is not None:
        progress(part.os.shape[0])


def _check_feasible(os_col: np.ndarray, first: int, P) -> None:
    bad = np.flatnonzero(np.isnan(os_col))
    if bad.size:
        raise InfeasibleCohort(
            f"{bad.size} of {os_col.size} patients (numbers {first} to {first + os_col.size - 1}) could not be drawn eligible within "
            f"cohort.eligibility.max_attempts = {int(P.elig[0]['max_attempts'])} draws (first: patient {first + bad[0]}); "
            "the eligibility criteria are too strict for the cohort parameters"
        )
