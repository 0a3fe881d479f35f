"""The driver: runs the kernel over every arm of a scenario, in chunks, and returns Results.

Patient ``i`` of every arm is the same virtual patient (same random streams), so arms can be
compared patient by patient. Chunks bound memory: only the per-patient summary columns are
kept, so memory grows with the number of patients times a few dozen bytes, and the optional
event log is limited to the patients asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numba
import numpy as np

from oligosim import codes
from oligosim._kernels import engine
from oligosim.config import Scenario
from oligosim.lowering import lower_arm, lower_model, lower_regimens

#: lesion local-control records kept per patient (irradiated lesions beyond it are not tracked)
LC_RECORDS = 8
#: events kept per patient when the event log is requested
EVENT_RECORDS = 96
DEFAULT_CHUNK = 200_000
DEFAULT_BLOCK = 64

#: per-patient columns kept in Results (name -> dtype)
COLUMNS = {
    "os": np.float64,
    "os_event": np.bool_,
    "pfs": np.float64,
    "pfs_event": np.bool_,
    "wpfs": np.float64,
    "wpfs_event": np.bool_,
    "death_cause": np.int8,
    "rt_courses": np.int16,
    "local_courses": np.int16,
    "lines": np.int8,
    "first_failure": np.int8,
    "estro_first": np.int8,
    "histology": np.int8,
    "presentation": np.int8,
    "age": np.float32,
    "dfi": np.float32,
    "kps": np.int16,
    "pdl1_high": np.bool_,
    "n_visible_entry": np.int16,
    "n_lesions_entry": np.int16,
    "attempts": np.int32,
    "overflow": np.int32,
    "lc_n": np.int8,
    "ev_n": np.int32,
}


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


@dataclass
class ArmResult:
    """Per-patient results of one arm: ``columns[name]`` has shape (n,), ``tox`` (n, N_TOX),
    the local-control arrays (n, LC_RECORDS), the event arrays (n, EVENT_RECORDS) or (n, 0)."""

    name: str
    label: str
    columns: dict[str, np.ndarray]
    tox: np.ndarray
    lc_time: np.ndarray
    lc_event: np.ndarray
    lc_bed: np.ndarray
    lc_volume: np.ndarray
    ev_time: np.ndarray
    ev_code: np.ndarray
    ev_detail: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def n(self) -> int:
        return self.columns["os"].shape[0]


@dataclass
class Results:
    """Results of a scenario run: one :class:`ArmResult` per arm, in the scenario's order."""

    scenario: Scenario
    seed: int
    patients: int
    arms: dict[str, ArmResult] = field(default_factory=dict)
    seconds: float = 0.0


def run_scenario(
    scenario: Scenario,
    *,
    patients: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    events: bool = False,
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
        Keep the event log (up to EVENT_RECORDS events per patient).
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
    P = lower_model(scenario)
    R = lower_regimens(scenario)
    names = list(scenario.data["arms"]) if arms is None else list(arms)
    old_threads = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    res = Results(scenario=scenario, seed=seed, patients=n)
    try:
        for name in names:
            A = lower_arm(scenario, name)
            full = _allocate(n, events)
            for lo in range(0, n, chunk):
                hi = min(lo + chunk, n)
                # views along the patient axis: C-contiguous, written in place, no copy
                part = engine.Outputs(*[arr[lo:hi] for arr in full])
                engine.simulate_block(P, R, A, np.int64(seed), np.int64(lo), part, np.int64(block))
                if progress is not None:
                    progress(hi - lo)
            bad = np.flatnonzero(np.isnan(full.os))
            if bad.size:
                raise InfeasibleCohort(
                    f"{bad.size} of {n} patients could not be drawn eligible within "
                    f"cohort.eligibility.max_attempts = {P.elig_max_attempts} draws (first: patient {bad[0]}); "
                    "the eligibility criteria are too strict for the cohort parameters"
                )
            label = scenario.data["arms"][name]["label"] or name
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
            )
    finally:
        numba.set_num_threads(old_threads)
    res.seconds = time.perf_counter() - t0
    return res
