"""The driver: runs the kernel over every arm of a scenario, in chunks, and returns Results.

Patient ``i`` of every arm is the same virtual patient (same random streams), so arms can be
compared patient by patient. The kernel draws each patient once and runs it through every arm
(``engine.simulate_arms``): the cohort draw is about half of a patient's time, and running an
arm on its own gives the same rows bit for bit. Chunks bound memory: only the per-patient
summary columns are kept, so memory grows with the number of patients times a few dozen bytes,
and the optional event log is limited to the patients asked for.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from oligosim import codes
from oligosim._kernels import engine
from oligosim._kernels.inputs import stack_arms
from oligosim.config import Scenario
from oligosim.economics.inputs import enabled as economics_enabled
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.memory import call_patients
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

#: patient-arms per kernel call (the call's patients times the arms)
DEFAULT_CHUNK = 200_000
#: patient-arms per kernel call when the economics is on: each chunk then carries its event log
#: (about 1 kB a patient and arm), so the chunk is capped to keep that buffer near 50 MB
#: (results do not depend on the chunk)
ECONOMICS_CHUNK = 50_000
#: the smallest piece of a chunk a thread takes (patients; ``_pieces``)
DEFAULT_BLOCK = 16


class InfeasibleCohort(ValueError):
    """Eligibility could not be met for some patients within ``max_attempts`` draws."""


def _allocate(arms: int, n: int, events: bool, width: int | None = None) -> engine.Outputs:
    """Outputs for ``arms`` arms of ``n`` patients: every array has the arm as its first axis and
    is C-contiguous (the kernel is compiled for that layout only); the event log holds ``width``
    events a patient (default EVENT_RECORDS if ``events``, else none)."""
    e = (EVENT_RECORDS if events else 0) if width is None else width
    cols = {name: np.zeros((arms, n), dtype) for name, dtype in COLUMNS.items()}
    return engine.Outputs(
        tox=np.zeros((arms, n, codes.N_TOX), np.bool_),
        lc_time=np.zeros((arms, n, LC_RECORDS)),
        lc_event=np.zeros((arms, n, LC_RECORDS), np.bool_),
        lc_bed=np.zeros((arms, n, LC_RECORDS)),
        lc_volume=np.zeros((arms, n, LC_RECORDS)),
        ev_time=np.zeros((arms, n, e)),
        ev_code=np.zeros((arms, n, e), np.int8),
        ev_detail=np.zeros((arms, n, e), np.int16),
        **cols,
    )


def _arm_rows(out: engine.Outputs, k: int, lo: int, hi: int) -> engine.Outputs:
    """Arm ``k``'s rows ``lo:hi`` of ``out`` (:func:`_allocate`): C-contiguous views."""
    return engine.Outputs(*[arr[k, lo:hi] for arr in out])


def kernel_cached() -> bool | None:
    """Whether the kernel is ready to run without compiling: True if compiled in this process or
    cached on disk for this CPU, False if the next run compiles it (a few minutes: a fresh
    install, or kernel sources changed, :mod:`oligosim._numba_cache`), None if that cannot be told.

    The command line and :func:`oligosim.run` use it to announce a compile instead of sitting
    silent. The cache index is read through numba's caching classes, which are internal: if they
    change, the answer is None and nothing is announced.
    """
    try:
        dispatcher = engine.simulate_arms
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
        Threads running the kernel (default: ``numba.get_num_threads()``, all cores unless
        ``NUMBA_NUM_THREADS`` says otherwise). Results do not depend on it.
    events : bool
        Keep the event log (up to EVENT_RECORDS events per patient); implies ``keep="all"``.
    keep : {"all", "summary"}
        ``"all"`` keeps every per-patient column (about 270 bytes per patient and arm);
        ``"summary"`` keeps only the survival columns and the subgroup covariates
        (:data:`~oligosim.results.ENDPOINT_COLUMNS`) and summarises the rest chunk by chunk
        (about 55 bytes per patient and arm), with an identical summary and metrics.
    chunk, block : int
        Patient-arms per kernel call (every arm runs the call's ``max(1, chunk // arms)``
        patients; a summary-only run's buffer holds them) and the smallest piece of a call that
        a thread takes (patients).
        Results do not depend on them.
    arms : list of str, optional
        Only these arms.
    progress : callable, optional
        Called as ``progress(n_done)`` after each chunk, ``n_done`` counting patient-arms.
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
    A = [lower_arm(scenario, name) for name in names]
    S = stack_arms(A)
    K = len(names)
    econ = economics_enabled(scenario)
    # patients per kernel call: every arm runs the call's patients (each drawn once)
    rows = call_patients(n, K, min(chunk, ECONOMICS_CHUNK) if econ else chunk)
    old_threads = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    res = Results(scenario=scenario, seed=seed, patients=n)
    try:
        ecs = [_economics(scenario, name, n) for name in names] if econ else None
        full = _allocate(K, n, events) if keep == "all" else None
        if full is not None and not econ:
            # every arm's rows written in place, chunk by chunk: no buffer, no copy
            for lo in range(0, n, rows):
                hi = min(lo + rows, n)
                _run(P, R, S, seed, 0, full, lo, hi, block, progress)
        else:
            _run_buffered(P, R, A, S, seed, n, rows, block, progress, full, ecs, res, names)
        if full is not None:
            _check_feasible(full.os[0], 0, P)
            for k, name in enumerate(names):
                arm = _arm_rows(full, k, 0, n)
                res.arms[name] = ArmResult(
                    name=name,
                    label=_label(scenario, name),
                    columns={c: getattr(arm, c) for c in COLUMNS},
                    tox=arm.tox,
                    lc_time=arm.lc_time,
                    lc_event=arm.lc_event,
                    lc_bed=arm.lc_bed,
                    lc_volume=arm.lc_volume,
                    ev_time=arm.ev_time,
                    ev_code=arm.ev_code,
                    ev_detail=arm.ev_detail,
                    economics=ecs[k] if econ else None,
                )
    finally:
        numba.set_num_threads(old_threads)
    res.seconds = time.perf_counter() - t0
    return res


def _label(scenario, name):
    return scenario.data["arms"][name]["label"] or name


def _run_buffered(P, R, A, S, seed, n, rows, block, progress, full, ecs, res, names) -> None:
    """Simulate chunk by chunk into a buffer of ``rows`` patients per arm, then per arm: cost the
    chunk (``ecs``, the economics of each arm, or None), copy it into ``full`` (``keep="all"``)
    or summarise it (``full`` None: ``keep="summary"``, whose ArmResults go into ``res``)."""
    K = len(names)
    buf = None
    if full is None:
        cols = [{c: np.empty(n, COLUMNS[c]) for c in ENDPOINT_COLUMNS} for _ in names]
        aggs = [None] * K
        lc_parts = [[] for _ in names]
    for lo in range(0, n, rows):
        hi = min(lo + rows, n)
        m = hi - lo
        # the economics costs from the event log: wide enough for the widest log seen so far
        width = max(ec.width for ec in ecs) if ecs else 0
        if buf is None or buf.ev_time.shape[2] < width:
            buf = _allocate(K, rows, False, width)
        elif full is not None:
            # a patient writes only the records it used: the rest must be as in a fresh array
            for arr in buf:
                arr.fill(0)
        _run(P, R, S, seed, lo, buf, 0, m, block, progress)
        for k in range(K):
            part = _arm_rows(buf, k, 0, m)
            if ecs:
                # a cut log is simulated again for this arm alone, into a wider log
                ecs[k].add(lo, part, lambda p, k=k, lo=lo: _run(P, R, stack_arms([A[k]]), seed, lo, _one_arm(p), 0, p.os.shape[0], block, None))
            if full is not None:
                dest = _arm_rows(full, k, lo, hi)
                for f in ("ev_time", "ev_code", "ev_detail"):
                    # the log keeps the first events that fit: those of a narrower log are the
                    # first of a wider one
                    getattr(dest, f)[...] = getattr(part, f)[:, : getattr(dest, f).shape[1]]
                for f in engine.Outputs._fields:
                    if not f.startswith("ev_") or f == "ev_n":
                        getattr(dest, f)[...] = getattr(part, f)
                continue
            _check_feasible(part.os, lo, P)
            for c in ENDPOINT_COLUMNS:
                cols[k][c][lo:hi] = getattr(part, c)
            pcols = {c: getattr(part, c) for c in COLUMNS}
            aggs[k] = merge_aggregates(aggs[k], aggregate(pcols, part.tox))
            recs = lc_records(part.lc_time, part.lc_event, part.lc_bed, part.lc_volume, part.lc_n)
            lc_parts[k].append([r.copy() for r in recs])
    if full is None:
        for k, name in enumerate(names):
            res.arms[name] = ArmResult(
                name=name,
                label=_label(res.scenario, name),
                columns=cols[k],
                aggregates=aggs[k],
                lc_records=tuple(np.concatenate(parts) for parts in zip(*lc_parts[k])),
                economics=ecs[k] if ecs else None,
            )


def _economics(scenario, name, n):
    """The per-patient economics collector of arm ``name`` (imported only when asked for)."""
    from oligosim.economics.collect import ArmEconomics
    from oligosim.economics.inputs import lower_economics

    return ArmEconomics(lower_economics(scenario, name), n)


def _one_arm(part: engine.Outputs) -> engine.Outputs:
    """One arm's Outputs as the kernel takes them: a leading arm axis of length 1 (C-contiguous
    views, so the kernel's type, and its compilation, is the same)."""
    if not all(arr.flags.c_contiguous for arr in part):
        raise ValueError("oligosim: the kernel writes into C-contiguous arrays only")
    return engine.Outputs(*[arr[np.newaxis] for arr in part])


def _run(P, R, S, seed, first, out, lo, hi, block, progress) -> None:
    """Patients ``first + j``, j in ``range(lo, hi)``, of every arm of ``S`` into rows j of ``out``.

    With more than one thread (``numba.get_num_threads()``, which ``threads=`` and
    ``NUMBA_NUM_THREADS`` set) the range is cut into pieces (:func:`_pieces`), run by a pool of
    that many Python threads; the kernel releases the GIL, and each piece writes only its own
    rows, so the rows are the same whatever the threads or the pieces.
    """
    threads = numba.get_num_threads()
    pieces = _pieces(lo, hi, block, threads)
    args = (P, R, S, np.int64(seed), np.int64(first), out)
    local = threading.local()

    def piece(a, b):
        if not hasattr(local, "scratch"):  # one set of scratch memory per thread, reused
            local.scratch = engine.new_scratch(P, out)
        engine.simulate_arms(*args, np.int64(a), np.int64(b), *local.scratch)

    if len(pieces) == 1:
        piece(lo, hi)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(pieces)), thread_name_prefix="oligosim-kernel") as pool:
            futures = [pool.submit(piece, a, b) for a, b in pieces]
            try:
                for f in futures:
                    f.result()  # the first error (or Ctrl-C while waiting) is raised here
            except BaseException:
                for f in futures:
                    f.cancel()  # pieces not started are dropped; running ones end with their piece
                raise
    if progress is not None:
        progress((hi - lo) * S.first_line.shape[0])


def _pieces(lo: int, hi: int, block: int, threads: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut into the pieces the threads take in turn, largest first.

    One piece for one thread. Otherwise each piece is a ``2 * threads``-th of what is left, and at
    least ``block`` patients: few calls while much is left (each call costs about 30 us of
    argument unboxing under the GIL), and pieces of ``block`` at the end, so that the threads
    finish within about one small piece of each other.
    """
    if threads <= 1 or hi - lo <= block:
        return [(lo, hi)]
    pieces = []
    a = lo
    while a < hi:
        b = min(hi, a + max(block, -(-(hi - a) // (2 * threads))))
        pieces.append((a, b))
        a = b
    return pieces


def _check_feasible(os_col: np.ndarray, first: int, P) -> None:
    bad = np.flatnonzero(np.isnan(os_col))
    if bad.size:
        raise InfeasibleCohort(
            f"{bad.size} of {os_col.size} patients (numbers {first} to {first + os_col.size - 1}) could not be drawn eligible within "
            f"cohort.eligibility.max_attempts = {int(P.elig[0]['max_attempts'])} draws (first: patient {first + bad[0]}); "
            "the eligibility criteria are too strict for the cohort parameters"
        )
