"""Running the reference engine over a cohort: the public entry point and its helpers.

:func:`run_scenario_reference` returns the same :class:`oligosim.simulate.Results` as
:func:`oligosim.simulate.run_scenario` (same columns, dtypes, shapes and event codes), so
:func:`oligosim.analysis.summary.summarize` works unchanged. Patients can be split over worker
processes; the results do not depend on how.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from oligosim import codes
from oligosim.definitions import count_metastases
from oligosim.interrupts import stop_pool
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.reference.cohort import draw_cohort_patient, visible_distant
from oligosim.reference.patient import Patient
from oligosim.results import COLUMNS, EVENT_RECORDS, LC_RECORDS, ArmResult, Results
from oligosim.simulate import InfeasibleCohort, selected_arms

__all__ = ["run_scenario_reference", "simulate_patient", "default_workers"]


def _allocate(n: int, events: bool) -> dict:
    """Zeroed output arrays for ``n`` patients, keyed like the kernel's outputs.

    Per-patient columns have shape (n,); ``tox`` (n, N_TOX); ``lc_*`` (n, LC_RECORDS);
    ``ev_*`` (n, EVENT_RECORDS), or (n, 0) without the event log.
    """
    e = EVENT_RECORDS if events else 0
    out = {name: np.zeros(n, dtype) for name, dtype in COLUMNS.items()}
    out.update(
        tox=np.zeros((n, codes.N_TOX), np.bool_),
        lc_time=np.zeros((n, LC_RECORDS)),
        lc_event=np.zeros((n, LC_RECORDS), np.bool_),
        lc_bed=np.zeros((n, LC_RECORDS)),
        lc_volume=np.zeros((n, LC_RECORDS)),
        ev_time=np.zeros((n, e)),
        ev_code=np.zeros((n, e), np.int8),
        ev_detail=np.zeros((n, e), np.int16),
    )
    return out


def simulate_patient(P, R, A, seed: int, pid: int) -> Patient | None:
    """Draw patient ``pid`` and simulate them under arm ``A``; None if never eligible."""
    pat, lesions = draw_cohort_patient(P, seed, pid)
    if lesions is None:
        return None
    patient = Patient(P, R, A, seed, pid, pat, lesions)
    patient.run()
    patient.close()
    return patient


def _write_row(out: dict, j: int, p: Patient, n_entry: int, n_visible: int, events: bool) -> None:
    """Write simulated patient ``p`` into row ``j`` of ``out`` (times in months)."""
    t = p.env.now
    dead = p.cause != codes.ALIVE
    pat = p.pat
    c = out
    c["os"][j] = t
    c["os_event"][j] = dead
    c["death_cause"][j] = p.cause
    c["pfs"][j] = p.pfs if p.progressed else t
    c["pfs_event"][j] = True if p.progressed else dead
    c["wpfs"][j] = p.wpfs if p.widespread else t
    c["wpfs_event"][j] = True if p.widespread else dead
    c["rt_courses"][j] = p.rt_courses
    c["local_courses"][j] = p.local_courses
    c["lines"][j] = p.lines_started
    c["first_failure"][j] = p.first_failure
    c["estro_first"][j] = p.estro_first
    c["histology"][j] = pat.histology
    c["presentation"][j] = pat.presentation
    c["age"][j] = pat.age
    c["dfi"][j] = pat.dfi
    c["kps"][j] = pat.kps
    c["pdl1_high"][j] = pat.pdl1_high
    c["n_visible_entry"][j] = n_visible
    c["n_lesions_entry"][j] = n_entry
    c["attempts"][j] = pat.attempts
    c["overflow"][j] = p.overflow > 0
    c["tumour_fistula"][j] = p.fistula
    c["ttnt"][j] = t if p.ttnt is None else p.ttnt
    c["ttnt_event"][j] = p.ttnt is not None
    c["organs_entry"][j] = p.organs_entry
    c["recist_base_cm"][j] = p.recist_base
    first_cm, new, clear = (np.nan, False, False) if p.recist_first is None else p.recist_first
    c["recist_first_cm"][j] = first_cm
    c["recist_new"][j] = new
    c["recist_clear"][j] = clear
    c["tox"][j] = p.tox_seen
    c["lc_n"][j] = len(p.lc)
    for q, (t_rt, failed, t_fail, bed, vol) in enumerate(p.lc):
        c["lc_time"][j, q] = (t_fail if failed else t) - t_rt
        c["lc_event"][j, q] = failed
        c["lc_bed"][j, q] = bed
        c["lc_volume"][j, q] = vol
    c["ev_n"][j] = len(p.log)
    if events:
        for k, (te, code, detail) in enumerate(p.log[:EVENT_RECORDS]):
            c["ev_time"][j, k] = te
            c["ev_code"][j, k] = code
            c["ev_detail"][j, k] = detail


def _simulate_range(P, R, A, seed: int, lo: int, hi: int, events: bool) -> dict:
    """Patients lo .. hi-1 of one arm, as arrays (rows 0 .. hi-lo-1)."""
    out = _allocate(hi - lo, events)
    for j, pid in enumerate(range(lo, hi)):
        pat, lesions = draw_cohort_patient(P, seed, pid)
        out["attempts"][j] = pat.attempts
        if lesions is None:
            out["os"][j] = np.nan
            continue
        metachronous = pat.presentation != codes.SYNCHRONOUS
        organ, subsite, m = visible_distant(lesions)
        n_visible = int(count_metastases(organ, subsite, m, metachronous)[0])
        n_entry = len(lesions)
        p = Patient(P, R, A, seed, pid, pat, lesions)
        p.run()
        p.close()
        _write_row(out, j, p, n_entry, n_visible, events)
    return out


def _run_range_job(args):
    """:func:`_simulate_range` on one tuple of arguments (a picklable job for a process pool)."""
    return _simulate_range(*args)


def _simulate_arm(pool, workers: int, P, R, A, seed: int, n: int, events: bool) -> dict:
    """Patients 0 .. n-1 of one arm, in this process (``pool`` None) or in 4 chunks per worker."""
    if pool is None:
        return _simulate_range(P, R, A, seed, 0, n, events)
    bounds = np.linspace(0, n, 4 * workers + 1).astype(int)
    jobs = [(P, R, A, seed, int(lo), int(hi), events) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
    parts = list(pool.map(_run_range_job, jobs))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def run_scenario_reference(
    scenario,
    *,
    patients: int | None = None,
    seed: int | None = None,
    arms: list[str] | None = None,
    events: bool = False,
    workers: int = 1,
) -> Results:
    """Simulate every arm of ``scenario`` with the SimPy reference engine.

    Parameters
    ----------
    scenario : oligosim.config.Scenario
        A validated scenario.
    patients, seed : int, optional
        Override ``simulation.patients`` / ``simulation.seed``. Patient ``i`` is drawn from the
        same (seed, i) streams as in :func:`oligosim.simulate.run_scenario`: same cohort.
    arms : list of str, optional
        Only these arms.
    events : bool
        Keep the event log (first ``EVENT_RECORDS`` events per patient).
    workers : int
        Processes to split the patients over (1: in this process). Results do not depend on it.

    Returns
    -------
    oligosim.simulate.Results
        Same columns, dtypes and shapes as the numba engine's.
    """
    n = int(scenario.data["simulation"]["patients"] if patients is None else patients)
    seed = int(scenario.data["simulation"]["seed"] if seed is None else seed)
    if n < 1:
        raise ValueError(f"patients = {n}: must be >= 1")
    if seed < 0:
        raise ValueError(f"seed = {seed}: must be >= 0")
    P = lower_model(scenario)
    R = lower_regimens(scenario)
    names = selected_arms(scenario, arms)
    t0 = time.perf_counter()
    res = Results(scenario=scenario, seed=seed, patients=n)
    workers = max(1, min(int(workers), n))
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for name in names:
            A = lower_arm(scenario, name)
            full = _simulate_arm(pool, workers, P, R, A, seed, n, events)
            bad = np.flatnonzero(np.isnan(full["os"]))
            if bad.size:
                raise InfeasibleCohort(
                    f"{bad.size} of {n} patients could not be drawn eligible within "
                    f"cohort.eligibility.max_attempts = {int(P.elig[0]['max_attempts'])} draws (first: patient {bad[0]})"
                )
            res.arms[name] = ArmResult(
                name=name,
                label=scenario.data["arms"][name]["label"] or name,
                columns={c: full[c] for c in COLUMNS},
                tox=full["tox"],
                lc_time=full["lc_time"],
                lc_event=full["lc_event"],
                lc_bed=full["lc_bed"],
                lc_volume=full["lc_volume"],
                ev_time=full["ev_time"],
                ev_code=full["ev_code"],
                ev_detail=full["ev_detail"],
            )
    except BaseException:
        if pool is not None:
            stop_pool(pool)  # an error or interruption: do not wait for the running workers
        raise
    if pool is not None:
        pool.shutdown()
    res.seconds = time.perf_counter() - t0
    return res


def default_workers() -> int:
    """A sensible number of worker processes on this machine."""
    return max(1, (os.cpu_count() or 1))
