"""Disease beyond the lesion cap as one growing aggregate, in the reference engine (model 4.2).

The reference's version of :mod:`oligosim._kernels.uncounted`: with ``disease.uncounted_disease
= "grows"`` a deposit seeded when every lesion slot is taken joins the aggregate, a pseudo-lesion
kept at index ``max_lesions`` of the patient's lesion list. It grows at the patient's median
rate, is killed by the systemic therapy in force, seeds and kills with the histology's mean
lethality over the distant organs (organ ``codes.UNCOUNTED`` + histology), and is never seen,
symptomatic or treated locally.
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.reference import lesres
from oligosim.reference.cohort import ACTIVE, Lesion, logv_of_diameter

__all__ = ["join", "enter", "countable"]


def _aggregate(histology: int, logv: float, growth: float) -> Lesion:
    """A new aggregate: a Lesion that draws nothing and can never be seen."""
    les = Lesion.__new__(Lesion)
    les.organ = codes.UNCOUNTED + histology
    les.subsite = codes.NO_SUBSITE
    les.status = ACTIVE
    les.logv = logv
    les.growth = growth
    les.det_logv = math.inf
    les.sym_logv = math.inf
    les.u_tcp = 1.0
    les.clear()
    return les


def _add(patient, logv: float, lead_logv: float) -> None:
    """Add volume ``exp(logv)`` to ``patient``'s aggregate, starting it (at index ``max_lesions``
    of its lesion list) when it is absent or eradicated, with a leading deposit of ln volume
    ``lead_logv``; ``patient.agg_offset`` keeps ln(aggregate / leading deposit)."""
    a = patient.P.max_lesions
    lesions = patient.lesions
    if len(lesions) > a and lesions[a] is not None and lesions[a].status == ACTIVE:
        x = lesions[a].logv
        from oligosim.reference.hazards import log_add  # here: hazards imports this module

        lesions[a].logv = log_add(x, logv)
        patient.agg_offset += lesions[a].logv - x
        return
    patient.agg_offset = logv - lead_logv
    agg = _aggregate(patient.pat.histology, logv, patient.pat.growth)
    lesres.aggregate_start(patient, agg)  # per-lesion resistance: at the patient's time (model 5.3)
    if len(lesions) > a:
        lesions[a] = agg
    else:
        lesions.append(agg)


def join(patient, count: int) -> None:
    """Add ``count`` seed-sized deposits to ``patient``'s aggregate."""
    P = patient.P
    _add(patient, P.seed_logv + math.log(count), P.seed_logv)


def enter(patient) -> None:
    """At entry: the occult deposits the cohort drew beyond the cap (``pat.entry_dropped``)
    start the aggregate with the mean occult volume each, led by the largest in expectation;
    the patient has uncounted disease."""
    m = patient.pat.entry_dropped
    if m <= 0:
        return
    P = patient.P
    # the largest of m log-uniform diameters, in expectation: the first a scan would see
    logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * m / (m + 1.0)
    _add(patient, float(P.dz[0]["occult_mean_logv"]) + math.log(m), logv_of_diameter(math.exp(logd)))
    patient.overflow = 1


def countable(patient, now: float) -> bool:
    """Does a scan at ``now`` count the uncounted disease as new disease? Frozen: from
    ``overflow_at`` on; growing: while the aggregate is active and its leading deposit has
    reached the median detection size (model 4.2)."""
    if patient.overflow != 1:
        return False
    P = patient.P
    if not P.dz[0]["uncounted_grows"]:
        return now >= patient.overflow_at
    a = P.max_lesions
    les = patient.lesions[a] if len(patient.lesions) > a else None
    return les is not None and les.status == ACTIVE and les.logv - patient.agg_offset >= float(P.dz[0]["v50_logv"])
