"""Endpoints recorded beside the course, without changing it: time to next treatment, RECIST 1.1
response at the first assessment and the organs involved at entry (model 7.6).

Everything here only reads the lesions and the state and writes fields of its own (``ttnt*``,
``recist_*``, the lesions' ``recist_target``), so the course of every patient, every random
draw and every other output are the same with or without it. The reference engine records the
same in :mod:`oligosim.reference.record`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import diffuse
from oligosim._kernels.state import INF

#: RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247): at most five target lesions,
#: two per organ; measurable: longest diameter >= 10 mm, a lymph node >= 15 mm (short axis)
MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2
MEASURABLE_CM = 1.0
MEASURABLE_NODE_CM = 1.5


@njit(cache=True, inline="always")
def recist_organ(organ):
    """The organ as RECIST counts it: all lymph nodes, regional or distant, are one organ."""
    return codes.DISTANT_NODE if organ == codes.REGIONAL_NODE else organ


@njit(cache=True, inline="always")
def _measurable(L, i):
    """A target candidate at entry: seen, active, not the primary (the esophageal wall is not
    reliably measurable: a non-target lesion) and at least the measurable size."""
    if not L.seen[i] or L.status[i] != C.ACTIVE or L.organ[i] == codes.PRIMARY:
        return False
    d = C.diameter_of_logv(L.logv[i])
    if L.organ[i] == codes.REGIONAL_NODE or L.organ[i] == codes.DISTANT_NODE:
        return d >= MEASURABLE_NODE_CM
    return d >= MEASURABLE_CM


@njit(cache=True, _nrt=False)
def select_targets(L, n, cap):
    """Mark the RECIST target lesions at entry, the largest first (at most two per organ, five in
    all; the lower slot wins a tie), and return the sum of their diameters (cm; 0: no measurable
    disease). Slots ``n`` .. ``cap``-1 are cleared too: the record is reused by the next patient."""
    for i in range(cap):
        L.recist_target[i] = 0
    total = 0.0
    for _k in range(MAX_TARGETS):
        best = -1
        best_d = 0.0
        for i in range(n):
            if L.recist_target[i] or not _measurable(L, i):
                continue
            same = 0
            for j in range(n):
                if L.recist_target[j] and recist_organ(L.organ[j]) == recist_organ(L.organ[i]):
                    same += 1
            if same >= MAX_TARGETS_PER_ORGAN:
                continue
            d = C.diameter_of_logv(L.logv[i])
            if d > best_d:
                best = i
                best_d = d
        if best < 0:
            break
        L.recist_target[best] = 1
        total += best_d
    return total


@njit(cache=True, _nrt=False)
def on_entry(W, L, out, j):
    """At entry, before the initial plan: the organs with a seen lesion, the RECIST baseline,
    and the time-to-next-treatment clock opened
    (:func:`oligosim._kernels.state.log_event` closes it)."""
    st = W.state[0]
    mask = 0
    for i in range(st.n):
        if L.seen[i]:
            mask |= 1 << L.organ[i]
    out.organs_entry[j] = mask
    st.recist_base = select_targets(L, st.n, L.organ.shape[0])
    st.recist_done = False
    st.recist_first = INF
    st.recist_new = False
    st.recist_clear = False
    st.ttnt = INF


@njit(cache=True, _nrt=False)
def first_assessment(W, L, overflow_new):
    """Before the first scan is read (scheduled or prompted by a symptom): the targets' diameters
    now, whether any lesion is new (visible, never seen; or the uncounted disease beyond the cap
    now of visible size, as the scan will count it) and whether nothing is visible at all.

    A target that is controlled or eradicated measures 0, as in the kernel's own assessment
    (model 7.2); a target slot no longer seen holds a new lesion (an eradicated lesion's slot is
    reused), so its original lesion measures 0 too. ``overflow_new``: the scan will count the
    uncounted disease (:func:`oligosim._kernels.uncounted.countable`).
    """
    st = W.state[0]
    total = 0.0
    new = overflow_new or diffuse.visible_unseen(st)
    visible = False
    for i in range(st.n):
        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
            visible = True
            if not L.seen[i]:
                new = True
            elif L.recist_target[i]:
                total += C.diameter_of_logv(L.logv[i])
    st.recist_done = True
    st.recist_first = total
    st.recist_new = new
    st.recist_clear = not visible and not new


@njit(cache=True, _nrt=False)
def on_close(W, out, j):
    """After the row is written: time to next treatment (censored at the end of follow-up) and
    the first assessment (NaN diameters: no scan before death or the horizon)."""
    st = W.state[0]
    if st.ttnt < INF:
        out.ttnt[j] = st.ttnt
        out.ttnt_event[j] = True
    else:
        out.ttnt[j] = st.t
        out.ttnt_event[j] = False
    out.recist_base_cm[j] = st.recist_base
    out.recist_first_cm[j] = st.recist_first if st.recist_done else np.nan
    out.recist_new[j] = st.recist_new
    out.recist_clear[j] = st.recist_clear
