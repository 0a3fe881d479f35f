"""Response assessment in the kernel: what a scan shows and how a progression is classified.

RECIST 1.1 as implemented (model 7.2): progression is a new lesion, or a sum of visible
diameters at least 20% and 5 mm above the nadir. A progression is oligometastatic by the
patient's own histology's definition (model 7.3, statements 1-2), and the first one is
classified as in-field, marginal/regional, out-of-field (new lesions or regrowth) or widespread
(model 7.4).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import rng
from oligosim._kernels.state import INF, S_SCAN, tally_scratch
from oligosim.definitions import is_oligometastatic


@njit(cache=True, _nrt=False)
def scan_interval(P, t):
    """Months to the next scheduled follow-up scan at ``t`` months after entry."""
    if t < 24.0:
        return P.fu_interval[0]
    if t < 60.0:
        return P.fu_interval[1]
    return P.fu_interval[2]


@njit(cache=True, _nrt=False)
def visit_offset(P, u):
    """Offset (months) of a scheduled visit from its nominal date: uniform on
    [-scan_window, +scan_window] given the uniform ``u`` in (0, 1) (model 7.1)."""
    return P.scan_window * (2.0 * u - 1.0)


@njit(cache=True, _nrt=False)
def book_visit(P, W, nominal):
    """Book the scheduled visit whose nominal date is ``nominal`` (months after entry).

    The nominal dates form the statement-13 grid and never drift: the next one is computed
    from this one (:func:`next_nominal`), not from when the visit actually happened. The
    visit itself falls at ``nominal`` plus an offset from the SCAN stream, one draw per
    scheduled visit in order, so the k-th visit moves by the same amount under every arm. The
    schema keeps the window under half the shortest interval; the guard (never before now,
    which is entry or the previous visit) holds whatever the parameters.
    """
    st = W.state[0]
    st.scan_nominal = nominal
    W.slot[S_SCAN] = max(nominal + visit_offset(P, rng.uniform(W.streams, rng.SCAN)), st.t)


@njit(cache=True, _nrt=False)
def next_nominal(P, W):
    """Nominal date (months) of the scheduled visit after the current one."""
    nominal = W.state[0].scan_nominal
    return nominal + scan_interval(P, nominal)


@njit(cache=True, _nrt=False)
def set_nadir_diameters(L, n):
    """Remember each lesion's visible diameter at the scan that sets the nadir."""
    for i in range(n):
        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
            L.nadir_d[i] = C.diameter_of_logv(L.logv[i])
        else:
            L.nadir_d[i] = 0.0


@njit(cache=True, _nrt=False)
def visible_sum(L, n):
    """Sum of the visible lesions' diameters (cm); lesions seen for the first time are marked
    seen and ``new_seen`` (which this scan clears for every other lesion). Returns (sum,
    number newly seen)."""
    total = 0.0
    n_new = 0
    for i in range(n):
        L.new_seen[i] = False
        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
            total += C.diameter_of_logv(L.logv[i])
            if not L.seen[i]:
                n_new += 1
                L.seen[i] = True
                L.new_seen[i] = True
    return total, n_new


@njit(cache=True, _nrt=False)
def visible_volume(L, n):
    """Total volume (cm3) of the visible, active lesions."""
    total = 0.0
    for i in range(n):
        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
            total += math.exp(L.logv[i])
    return total


@njit(cache=True, _nrt=False)
def record_growth(P, W, L):
    """At a scan: the doubling time (months) of the visible volume since the previous scan, for
    the slow/rapid rule of statement 12 (model 8.4). Disease not visible then counts from just
    below the median detection size, so new lesions after a complete response are growth too."""
    st = W.state[0]
    vol = visible_volume(L, st.n)
    floor = math.exp(C.logv_of_diameter(P.det_d50[P.modality]))
    before = max(st.scan_vol_prev, floor)
    dt = st.t - st.scan_t_prev
    st.doubling_at_scan = math.log(2.0) * dt / math.log(vol / before) if (vol > before and dt > 0.0) else INF
    st.scan_vol_prev = vol
    st.scan_t_prev = st.t


@njit(cache=True, _nrt=False)
def oligo_now(W, L):
    """Is the visible disease oligometastatic by the patient's own histology's definition?

    Uncounted disease beyond the lesion cap, once a scan has counted it (``overflow`` 2), is
    polymetastatic; so is any disease once diffuse serosal disease has been seen (model 4.9: the
    definitions' ``diffuse_serosal`` flag, passed as the patient's state).
    """
    st = W.state[0]
    if st.overflow == 2:
        return False
    metachronous = st.presentation != codes.SYNCHRONOUS
    m = C.visible_distant(L, st.n, W.buf_organ, W.buf_subsite, metachronous)
    if m == 0 and not st.dif_seen:
        return True
    return is_oligometastatic(st.histology, W.buf_organ, W.buf_subsite, m, metachronous, st.dif_seen, False, True, tally_scratch(st))


@njit(cache=True, inline="always")
def is_nodal(organ):
    """A lymph node, regional or distant (its sub-site is its station)."""
    return organ == codes.REGIONAL_NODE or organ == codes.DISTANT_NODE


@njit(cache=True, _nrt=False)
def next_to_irradiated_node(L, n, i):
    """Is lesion ``i`` a node in the station of, or next to, a node that received RT?"""
    if not is_nodal(L.organ[i]):
        return False
    for j in range(n):
        if j != i and L.irradiated[j] > 0 and is_nodal(L.organ[j]) and abs(L.subsite[j] - L.subsite[i]) <= 1:
            return True
    return False


@njit(cache=True, _nrt=False)
def _failure_site(L, n, i):
    """In field, marginal/regional or out of field (new) for one newly seen lesion ``i``."""
    if L.irradiated[i] > 0:
        return codes.FAIL_IN_FIELD
    if L.organ[i] == codes.PRIMARY or L.organ[i] == codes.REGIONAL_NODE or next_to_irradiated_node(L, n, i):
        return codes.FAIL_MARGINAL_REGIONAL
    return codes.FAIL_OUT_OF_FIELD_NEW


@njit(cache=True, _nrt=False)
def first_failure(L, n, oligo, n_new):
    """Pattern of first failure (codes.FAIL_*, model 7.4), hierarchical.

    Widespread if not oligometastatic. With new lesions, by the lesions seen for the first
    time at this scan, the worst-ranked first: in field (it had received RT: occult disease in
    an earlier field), marginal/regional (esophagus, bed or regional nodes, or a node in or next
    to an irradiated station), else out of field (new); uncounted disease beyond the cap is
    out of field. By growth alone, by the lesion that grew most since the nadir: in field if
    it had received RT, marginal/regional if locoregional, else out-of-field regrowth.
    """
    if not oligo:
        return codes.FAIL_WIDESPREAD
    if n_new > 0:
        best = codes.FAIL_OUT_OF_FIELD_NEW
        for i in range(n):
            if L.new_seen[i]:
                f = _failure_site(L, n, i)
                if f < best:
                    best = f
        return best
    most = -1
    most_growth = -INF
    for i in range(n):
        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
            g = C.diameter_of_logv(L.logv[i]) - L.nadir_d[i]
            if g > most_growth:
                most_growth = g
                most = i
    if most < 0:
        return codes.FAIL_OUT_OF_FIELD_REGROWTH
    if L.irradiated[most] > 0:
        return codes.FAIL_IN_FIELD
    if L.organ[most] == codes.PRIMARY or L.organ[most] == codes.REGIONAL_NODE:
        return codes.FAIL_MARGINAL_REGIONAL
    return codes.FAIL_OUT_OF_FIELD_REGROWTH
