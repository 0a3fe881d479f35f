"""A cohort that enters later in the disease course (model 3.8): what its first line left behind.

Applied once per patient, after eligibility (:func:`oligosim._kernels.cohort.draw_patient`), so
the patient enters every arm with it (common random numbers). Two things:

* a pretreated cohort (``cohort.entry_line`` >= 2): every lesion present at entry has had the
  first line's chemotherapy, so an RT course given to it carries the chemotherapy-before-RT loss
  (model 5.6) as one given after chemotherapy in the simulation would;
* an earlier RT course drawn per patient (``cohort.prior_rt_courses`` and
  ``cohort.prior_rt_months_sdlog``): its EQD2 from a discrete mix of named courses and its
  interval to entry from a lognormal, both from the patient's own PRIOR_RT stream, two draws
  per patient whatever the presentation, so no other stream moves when this is switched on.

The reference engine's twin is :mod:`oligosim.reference.entry`.
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import rng


@njit(cache=True, _nrt=False)
def prior_course(E, state):
    """The patient's earlier RT course: (EQD2 in Gy at alpha/beta 3, months before entry).

    Parameters
    ----------
    E : ENTRY_DTYPE record
        ``P.entry[0]``.
    state : numpy.ndarray of uint64, shape (N_PURPOSES,)
        The patient's stream counters; two draws of PRIOR_RT are made, always.

    Returns
    -------
    tuple of (float, float)
        EQD2 (Gy; 0 for a course of the mix that gives none) and months from it to entry.
    """
    u = rng.uniform(state, rng.PRIOR_RT)
    z = rng.normal(state, rng.PRIOR_RT)
    eqd2 = 0.0
    for k in range(E.n_courses):
        if u < E.course_cum[k]:
            eqd2 = E.course_eqd2[k]
            break
    months = E.interval_median * math.exp(E.interval_sdlog * z)
    return eqd2, months


@njit(cache=True, _nrt=False)
def apply_history(P, state, st, L, n):
    """Give the ``n`` lesions of an eligible patient what happened before entry (see module)."""
    E = P.entry[0]
    if E.pretreated:
        # the lesions that exist at entry (visible or occult) survived the first line
        for i in range(n):
            L.chemo_exposed[i] = True
    if not E.prior_rt_drawn:
        return
    eqd2, months = prior_course(E, state)
    if st.presentation == codes.SYNCHRONOUS:
        return  # the earlier course treated the primary's region of a recurrence (cohort.prior_rt_*)
    if E.n_courses == 0:
        eqd2 = P.prior_rt_eqd2  # one dose for all, only the interval drawn
    for i in range(n):
        # the recurrent regional nodes inside the earlier field (marked by the cohort draw)
        if L.organ[i] == codes.REGIONAL_NODE and L.irradiated[i] == 1:
            if eqd2 > 0.0:
                L.site_eqd2[i] = eqd2
                L.site_time[i] = -months
            else:  # this patient's course of the mix is "none": never irradiated there
                L.irradiated[i] = 0
                L.site_eqd2[i] = 0.0
                L.site_time[i] = 0.0
