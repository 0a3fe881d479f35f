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


#: per-patient columns kept when only the summary is wanted (keep="summary")
ENDPOINT_COLUMNS = ("os", "os_event", "pfs", "pfs_event", "wpfs", "wpfs_event", "death_cause")


def aggregate(columns: dict[str, np.ndarray], tox: np.ndarray) -> dict[str, np.ndarray]:
    """Integer counts that the summary needs, from per-patient columns.

    Counts add exactly across chunks, so a run summarised chunk by chunk gives the same
    summary as one that keeps every patient.

    Returns
    -------
    dict
        ``n``; ``tox`` (N_TOX,) patients with each grade >= 3 type; ``tox_any``;
        ``first_failure`` (4,); ``estro`` (N_ESTRO_CLASSES + 1,) first-progression classes with
        the last entry counting polymetastatic first progressions; ``treatment_deaths``;
        ``rt_courses`` (total); ``attempts`` (cohort draws until eligible, total).
    """
    estro = columns["estro_first"].astype(np.int64)
    return {
        "n": np.int64(columns["os"].shape[0]),
        "tox": tox.sum(axis=0, dtype=np.int64),
        "tox_any": np.int64(tox.any(axis=1).sum()),
        "first_failure": np.bincount(columns["first_failure"].astype(np.int64), minlength=len(codes.FAILURE_NAMES)),
        "estro": np.append(
            np.bincount(estro[estro >= 0], minlength=codes.N_ESTRO_CLASSES), np.count_nonzero(estro == codes.NOT_OLIGO)
        ).astype(np.int64),
        "treatment_deaths": np.int64(np.count_nonzero(columns["death_cause"] == engine.DEATH_TREATMENT)),
        "rt_courses": np.int64(columns["rt_courses"].sum(dtype=np.int64)),
        # cohort draws until eligible, summed: n / attempts is the share of screened patients
        # who qualify (stage migration, definitions)
        "attempts": np.int64(columns["attempts"].sum(dtype=np.int64)),
    }


def _merge(a: dict | None, b: dict) -> dict:
    return dict(b) if a is None else {k: a[k] + b[k] for k in a}


def lc_records(
    lc_time: np.ndarray, lc_event: np.ndarray, lc_bed: np.ndarray, lc_volume: np.ndarray, lc_n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The used local-control records, patient by patient.

    Returns
    -------
    time, event, bed, volume : ndarray, shape (m,)
        Months from the first irradiation of the lesion to in-field failure or censoring, the
        failure flag, the BED10 (Gy) of that course and the lesion volume (cm3) at RT, for the
        ``m`` irradiated lesions recorded (at most LC_RECORDS per patient).
    """
    mask = np.arange(lc_time.shape[1])[None, :] < lc_n[:, None]
    # BED and volume only select lesions (metrics' local_control[bed>=...] filters): float32 is
    # ample and keeps a record at 17 bytes
    return lc_time[mask], lc_event[mask], lc_bed[mask].astype(np.float32), lc_volume[mask].astype(np.float32)


@dataclass
class ArmResult:
    """Results of one arm.

    ``columns[name]`` has shape (n,). With ``keep="all"`` it holds every column of
    :data:`COLUMNS` and ``tox`` (n, N_TOX), the local-control arrays (n, LC_RECORDS) and the
    event arrays (n, EVENT_RECORDS) or (n, 0) are set; with ``keep="summary"`` only
    :data:`ENDPOINT_COLUMNS` are kept and the rest is ``None``. ``aggregates`` and
    ``lc_records`` are what the summary reads in either case (computed from the full arrays
    when not given).
    """

    name: str
    label: str
    columns: dict[str, np.ndarray]
    tox: np.ndarray | None = None
    lc_time: np.ndarray | None = None
    lc_event: np.ndarray | None = None
    lc_bed: np.ndarray | None = None
    lc_volume: np.ndarray | None = None
    ev_time: np.ndarray | None = None
    ev_code: np.ndarray | None = None
    ev_detail: np.ndarray | None = None
    aggregates: dict | None = None
    lc_records: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def __post_init__(self):
        if self.aggregates is None:
            self.aggregates = aggregate(self.columns, self.tox)
        if self.lc_records is None:
            self.lc_records = lc_records(self.lc_time, self.lc_event, self.lc_bed, self.lc_volume, self.columns["lc_n"])

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
        ``"summary"`` keeps only the survival columns and summarises the rest chunk by chunk
        (about 30 bytes per patient and arm), with an identical summary.
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
    old_threads = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    res = Results(scenario=scenario, seed=seed, patients=n)
    try:
        for name in names:
            label = scenario.data["arms"][name]["label"] or name
            A = lower_arm(scenario, name)
            if keep == "all":
                full = _allocate(n, events)
                for lo in range(0, n, chunk):
                    hi = min(lo + chunk, n)
                    # views along the patient axis: C-contiguous, written in place, no copy
                    part = engine.Outputs(*[arr[lo:hi] for arr in full])
                    _run_chunk(P, R, A, seed, lo, part, block, progress)
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
                )
            else:
                cols = {c: np.empty(n, COLUMNS[c]) for c in ENDPOINT_COLUMNS}
                buf = _allocate(min(chunk, n), False)
                agg = None
                lc_parts = []
                for lo in range(0, n, chunk):
                    hi = min(lo + chunk, n)
                    part = engine.Outputs(*[arr[: hi - lo] for arr in buf])
                    _run_chunk(P, R, A, seed, lo, part, block, progress)
                    _check_feasible(part.os, lo, P)
                    for c in ENDPOINT_COLUMNS:
                        cols[c][lo:hi] = getattr(part, c)
                    pcols = {c: getattr(part, c) for c in COLUMNS}
                    agg = _merge(agg, aggregate(pcols, part.tox))
                    recs = lc_records(part.lc_time, part.lc_event, part.lc_bed, part.lc_volume, part.lc_n)
                    lc_parts.append([r.copy() for r in recs])
                res.arms[name] = ArmResult(
                    name=name,
                    label=label,
                    columns=cols,
                    aggregates=agg,
                    lc_records=tuple(np.concatenate(parts) for parts in zip(*lc_parts)),
                )
    finally:
        numba.set_num_threads(old_threads)
    res.seconds = time.perf_counter() - t0
    return res


def _run_chunk(P, R, A, seed, lo, part, block, progress) -> None:
    engine.simulate_block(P, R, A, np.int64(seed), np.int64(lo), part, np.int64(block))
    if progress is not None:
        progress(part.os.shape[0])


def _check_feasible(os_col: np.ndarray, first: int, P) -> None:
    bad = np.flatnonzero(np.isnan(os_col))
    if bad.size:
        raise InfeasibleCohort(
            f"{bad.size} of {os_col.size} patients (numbers {first} to {first + os_col.size - 1}) could not be drawn eligible within "
            f"cohort.eligibility.max_attempts = {P.elig_max_attempts} draws (first: patient {first + bad[0]}); "
            "the eligibility criteria are too strict for the cohort parameters"
        )
