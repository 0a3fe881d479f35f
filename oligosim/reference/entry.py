"""A cohort that enters later in the disease course (model 3.8), written plainly: the twin of
:mod:`oligosim._kernels.entry`.

After eligibility, once per patient: a pretreated cohort's lesions at entry have all had the
first line's chemotherapy; an earlier RT course drawn per patient takes its EQD2 from a mix of
named courses and its interval from a lognormal, two draws of the patient's PRIOR_RT stream.
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.reference.streams import PRIOR_RT, Stream


def prior_course(E, s: Stream) -> tuple[float, float]:
    """The earlier course: (EQD2 in Gy at alpha/beta 3, months before entry).

    Parameters
    ----------
    E : numpy.void
        ``P.entry[0]`` (:data:`oligosim._kernels.inputs.ENTRY_DTYPE`).
    s : Stream
        The patient's PRIOR_RT stream; two draws, always.
    """
    u, z = s.uniform(), s.normal()
    n = int(E["n_courses"])
    eqd2 = next((float(E["course_eqd2"][k]) for k in range(n) if u < E["course_cum"][k]), 0.0)
    return eqd2, float(E["interval_median"]) * math.exp(float(E["interval_sdlog"]) * z)


def apply_history(P, seed: int, pid: int, pat, lesions: list) -> None:
    """Give an eligible patient's lesions what happened before entry."""
    E = P.entry[0]
    if E["pretreated"]:
        for les in lesions:  # visible or occult, every lesion at entry survived the first line
            les.chemo_exposed = True
    if not E["prior_rt_drawn"]:
        return
    eqd2, months = prior_course(E, Stream(seed, pid, PRIOR_RT))
    if pat.presentation == codes.SYNCHRONOUS:
        return
    if int(E["n_courses"]) == 0:
        eqd2 = P.prior_rt_eqd2
    for les in lesions:
        if les.organ == codes.REGIONAL_NODE and les.irradiated == 1:  # a recurrence in the earlier field
            if eqd2 > 0.0:
                les.site_eqd2, les.site_time = eqd2, -months
            else:  # this patient's course of the mix gave none
                les.irradiated, les.site_eqd2, les.site_time = 0, 0.0, 0.0
