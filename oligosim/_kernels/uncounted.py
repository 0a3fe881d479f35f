"""Disease beyond the lesion cap as one growing aggregate, in the kernel (model 4.2).

With ``disease.uncounted_disease = "grows"`` (``P.dz[0].uncounted_grows``), a deposit seeded
when every lesion slot is taken is not dropped: it joins the **aggregate**, a pseudo-lesion in
slot ``P.max_lesions`` (one beyond the cap, which the lesion record has room for). From then on
seeding stops, as with the cap frozen: the aggregate stands for all further disease (the
deposits it would seed add about V_seed beta pi per month to its volume, against its growth
rate g: 2% of the median g at the 99th percentile of the calibrated propensity). The aggregate is a
sum of deposits, all growing at the patient's median rate ``st.growth`` and killed by the
systemic therapy in force like any lesion, so its volume stays one exact exponential between
events (a deposit adds its volume: ``logv <- log(e^logv + k V)``). It kills with the histology's
mean lethality over the distant organs (organ code ``codes.UNCOUNTED`` +
histology). It is never seen as a lesion (detection and symptom sizes infinite), so no course or
procedure treats it and no RECIST sum includes it; a scan counts it once as new disease when its
leading deposit (the first seed, or at entry the largest occult deposit in expectation) reaches the
median detection size
(:func:`countable`). It is eradicated like a lesion when it shrinks below the eradication size,
and the next deposit starts it again.

Occult deposits the cohort draws at entry beyond the cap (``st.entry_dropped``: their count is
drawn, their attributes are not) start the aggregate at entry (:func:`enter`).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import lesres
from oligosim._kernels.hazards import log_add
from oligosim._kernels.state import INF


@njit(cache=True, _nrt=False)
def _add(P, st, L, logv, lead_logv):
    """Add volume ``exp(logv)`` (cm3) to the aggregate, starting it in slot ``P.max_lesions``
    (``st.n`` then one beyond the cap) when it is absent or eradicated, with a leading deposit of
    ln volume ``lead_logv``. ``st.agg_offset`` keeps ln(aggregate / leading deposit): both
    grow at the same rate, so it changes only when deposits join."""
    a = P.max_lesions
    if st.n > a and L.status[a] == C.ACTIVE:
        x = L.logv[a]
        L.logv[a] = log_add(x, logv)
        st.agg_offset += L.logv[a] - x
        return
    st.agg_offset = logv - lead_logv
    L.organ[a] = codes.UNCOUNTED + st.histology
    L.subsite[a] = codes.NO_SUBSITE
    L.logv[a] = logv
    L.growth[a] = st.growth
    L.status[a] = C.ACTIVE
    L.det_logv[a] = INF
    L.sym_logv[a] = INF
    L.u_tcp[a] = 1.0
    C.clear_slot(L, a)
    L.recist_target[a] = 0  # never a RECIST target (record.select_targets clears slots below the cap only)
    lesres.aggregate_start(st, L, a)  # per-lesion resistance: at the patient's time (model 5.3)
    st.n = a + 1


@njit(cache=True, _nrt=False)
def join(P, st, L, count):
    """Add ``count`` seed-sized deposits to the aggregate of patient state ``st``'s lesions ``L``."""
    _add(P, st, L, P.seed_logv + math.log(count), P.seed_logv)


@njit(cache=True, _nrt=False)
def lead_logv_at_entry(P, m):
    """ln volume (cm3) of the largest of ``m`` occult deposits in expectation: their log
    diameters are uniform on [occult_logd_min, occult_logd_max], whose largest has mean
    min + (max - min) m / (m + 1). All grow alike, so it is the first a scan would see."""
    logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * m / (m + 1.0)
    return C.logv_of_diameter(math.exp(logd))


@njit(cache=True, _nrt=False)
def enter(P, st, L):
    """At entry: the ``st.entry_dropped`` occult deposits drawn beyond the cap start the
    aggregate, each with the mean volume of an occult deposit (their sizes are not drawn, so the
    cohort's stream is as with the cap frozen), led by the largest in expectation
    (:func:`lead_logv_at_entry`); the patient has uncounted disease."""
    m = st.entry_dropped
    if m <= 0:
        return
    _add(P, st, L, P.dz[0].occult_mean_logv + math.log(m), lead_logv_at_entry(P, m))
    st.overflow = 1


@njit(cache=True, _nrt=False)
def countable(P, st, L):
    """Does a scan now count the uncounted disease beyond the cap as new disease (once: the
    caller sets ``st.overflow`` to 2)? Frozen: from ``st.overflow_at`` on (model 4.2). Growing:
    while the aggregate is active and its leading deposit has reached the median detection size,
    so that systemic therapy delays it and eradication removes it."""
    if st.overflow != 1:
        return False
    if not P.dz[0].uncounted_grows:
        return st.t >= st.overflow_at
    a = P.max_lesions
    return st.n > a and L.status[a] == C.ACTIVE and L.logv[a] - st.agg_offset >= P.dz[0].v50_logv
