"""Simulation results: what the analysis, plotting and output modules read.

The driver (:mod:`oligosim.simulate`) fills these containers from the kernel's output arrays;
everything downstream reads them and the codes of :mod:`oligosim.codes`, never the kernel, so
the kernel can change its internals without touching the analysis layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from oligosim import codes

if TYPE_CHECKING:  # annotation only: results do not need the configuration layer at run time
    from oligosim.config import Scenario

#: lesion local-control records kept per patient (irradiated lesions beyond it are not tracked)
LC_RECORDS = 8
#: events kept per patient when the event log is requested
EVENT_RECORDS = 96

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
    "tumour_fistula": np.bool_,
    # recorded beside the course (oligosim._kernels.record, model 7.6)
    "ttnt": np.float64,  # months to the next treatment or death (ttnt_event), else censoring
    "ttnt_event": np.bool_,
    "organs_entry": np.int16,  # bit k set: a seen lesion in organ codes.ORGAN_NAMES[k] at entry
    "recist_base_cm": np.float32,  # sum of the RECIST target diameters at entry (0: none measurable)
    "recist_first_cm": np.float32,  # the same lesions at the first assessment (NaN: no scan)
    "recist_new": np.bool_,  # a new lesion at the first assessment
    "recist_clear": np.bool_,  # no visible lesion at the first assessment
    "lc_n": np.int8,
    "ev_n": np.int32,
}

#: baseline covariates that define the subgroups of a hazard-ratio metric (``os.hr:dfi>=12``,
#: oligosim.analysis.subgroups): kept in every mode, so that every metric works on every run
SUBGROUP_COLUMNS = ("dfi", "n_visible_entry", "organs_entry", "histology", "presentation", "kps", "pdl1_high", "age")
#: per-patient columns kept when only the summary is wanted (keep="summary"): the survival
#: endpoints and the subgroup covariates (about 55 bytes per patient)
ENDPOINT_COLUMNS = ("os", "os_event", "pfs", "pfs_event", "wpfs", "wpfs_event", "death_cause", "ttnt", "ttnt_event") + SUBGROUP_COLUMNS


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
        ``rt_courses`` (total); ``attempts`` (cohort draws until eligible, total);
        ``tumour_fistula`` (patients whose primary perforated, model 4.8); ``response``
        (len(codes.RESPONSE_NAMES),) patients by RECIST 1.1 response at the first assessment.
    """
    from oligosim.analysis.response import first_response

    estro = columns["estro_first"].astype(np.int64)
    return {
        "n": np.int64(columns["os"].shape[0]),
        "tox": tox.sum(axis=0, dtype=np.int64),
        "tox_any": np.int64(tox.any(axis=1).sum()),
        "first_failure": np.bincount(columns["first_failure"].astype(np.int64), minlength=len(codes.FAILURE_NAMES)),
        "estro": np.append(
            np.bincount(estro[estro >= 0], minlength=codes.N_ESTRO_CLASSES), np.count_nonzero(estro == codes.NOT_OLIGO)
        ).astype(np.int64),
        "treatment_deaths": np.int64(np.count_nonzero(columns["death_cause"] == codes.DEATH_TREATMENT)),
        "tumour_fistula": np.int64(np.count_nonzero(columns["tumour_fistula"])),
        "rt_courses": np.int64(columns["rt_courses"].sum(dtype=np.int64)),
        # cohort draws until eligible, summed: n / attempts is the share of screened patients
        # who qualify (stage migration, definitions)
        "attempts": np.int64(columns["attempts"].sum(dtype=np.int64)),
        "response": np.bincount(first_response(columns), minlength=len(codes.RESPONSE_NAMES)).astype(np.int64),
    }


def merge_aggregates(a: dict | None, b: dict) -> dict:
    """The aggregates of two disjoint sets of patients (``a=None``: just ``b``)."""
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
    #: per-patient costs and QALYs (oligosim.economics.collect.ArmEconomics) when the
    #: scenario's economics is enabled
    economics: Any = None

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
