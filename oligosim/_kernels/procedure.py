"""Surgery and thermal ablation chosen as a site's local therapy, in the kernel (model 6.10).

:func:`oligosim._kernels.rt.plan_course` hands the planned metastases of sites the arm treats
by surgery or ablation (``A.local_modality``, by lesion size where the arm has a size rule:
:func:`site_modality`) to :func:`mark`, which takes them out of the RT
course; :func:`give` treats them at once, when the local therapy is decided. Each treated lesion
takes exactly three draws from its own stream (``rng.PROCEDURE``: control, complication, death),
so the RT and toxicity streams of the lesions left to RT do not move. A treated lesion gets a
local-control record like an RT target (BED NaN: no dose); an uncontrolled one keeps a residual
that regrows to its size at the procedure, an in-field failure like RT's. A session of
procedures holds the running line's chemotherapy for the longest ``systemic_pause_days`` of the
modalities given (:func:`hold_systemic`, slot ``S_PROC_RESUME``), through the pause of a
sequential RT course (model 5.4): ``st.paused`` and :func:`systemic.paused_kill`.
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import rng, systemic
from oligosim._kernels.state import INF, MONTHS_PER_DAY, S_CONSOLIDATION, S_INDUCTION_END, S_PROC_RESUME, S_RT_END, log_event

_LN10 = math.log(10.0)


@njit(cache=True, inline="always")
def site_modality(A, L, i):
    """The local therapy (codes.LOCAL_*) the arm chooses for lesion ``i``'s site, by its diameter
    now where the site has a size rule (``A.local_modality_max_cm`` finite: larger lesions get
    ``A.local_modality_above``; model 6.10). No draw: the rule only reads the lesion's size."""
    o = L.organ[i]
    s = L.subsite[i]
    limit = A.local_modality_max_cm[o, s]
    if limit < INF and C.diameter_of_logv(L.logv[i]) > limit:
        return A.local_modality_above[o, s]
    return A.local_modality[o, s]


@njit(cache=True, inline="always")
def modality_of(P, A, L, i):
    """The local therapy (codes.LOCAL_*) lesion ``i`` gets if planned now: its site's (by size,
    :func:`site_modality`), unless it is RT, or the lesion had this procedure before and the
    modality is not repeated (then RT)."""
    m = site_modality(A, L, i)
    if m != codes.LOCAL_RT and L.procedures[i] > 0 and P.procedure[m, codes.PROC_REPEAT] == 0.0:
        return codes.LOCAL_RT
    return m


@njit(cache=True, _nrt=False)
def mark(P, A, L, n):
    """Move the planned known metastases whose site the arm treats by surgery or ablation out of
    the RT course (``in_course``) into ``to_procedure``; returns how many."""
    count = 0
    for i in range(n):
        L.to_procedure[i] = False
        if not L.in_course[i] or not L.seen[i]:
            continue
        if modality_of(P, A, L, i) != codes.LOCAL_RT:
            L.in_course[i] = False
            L.to_procedure[i] = True
            count += 1
    return count


@njit(cache=True, _nrt=False)
def control_probability(P, m, logv):
    """Probability that modality ``m`` controls a lesion of ln volume ``logv`` (ln cm3): one value
    up to the size threshold (diameter, cm), another above it."""
    if C.diameter_of_logv(logv) <= P.procedure[m, codes.PROC_SIZE_CM]:
        return P.procedure[m, codes.PROC_CONTROL_SMALL]
    return P.procedure[m, codes.PROC_CONTROL_LARGE]


@njit(cache=True, _nrt=False)
def _treat(P, A, W, L, i):
    """Surgery or ablation of lesion ``i`` now; returns True if the procedure killed the patient."""
    st = W.state[0]
    t = st.t
    m = site_modality(A, L, i)  # the lesion's size is the one :func:`mark` read
    u_control = rng.uniform(W.streams, rng.PROCEDURE)
    u_complication = rng.uniform(W.streams, rng.PROCEDURE)
    u_death = rng.uniform(W.streams, rng.PROCEDURE)
    log_event(W, t, codes.EV_SURGERY if m == codes.LOCAL_SURGERY else codes.EV_ABLATION, i)
    volume = math.exp(L.logv[i])
    # the lesion's first local therapy in the simulation opens its local-control record, as RT
    # does (rt._irradiate): a later treatment of the same lesion continues the open record
    if L.lc_slot[i] == -1:
        L.lc_slot[i] = -2
        q = st.lc_n
        if q < W.lc_time.shape[0]:
            W.lc_time[q] = t
            W.lc_event[q] = False
            W.lc_bed[q] = math.nan  # no dose: the record is a procedure's
            W.lc_volume[q] = volume
            st.lc_n = q + 1
            L.lc_slot[i] = q
    L.rt_pre_logv[i] = L.logv[i]  # an uncontrolled residual fails in field at this size
    if u_control < control_probability(P, m, L.logv[i]):
        L.status[i] = C.CONTROLLED
    else:
        L.logv[i] -= P.procedure[m, codes.PROC_RESIDUAL_LOG10] * _LN10
        if L.logv[i] < P.eradication_logv:
            L.status[i] = C.ERADICATED
    L.procedures[i] += 1
    if u_complication < P.procedure[m, codes.PROC_COMPLICATION]:
        log_event(W, t, codes.EV_PROCEDURE_COMPLICATION, m)
    return u_death < P.procedure[m, codes.PROC_MORTALITY]


@njit(cache=True, _nrt=False)
def given_alone(W, L, n, n_rt):
    """Count a plan given by surgery or ablation alone (``n_rt`` RT targets, none) as a local
    course now, as an RT course counts at its end; call before :func:`give`."""
    if n_rt > 0:
        return
    for i in range(n):
        if L.to_procedure[i]:
            st = W.state[0]
            st.local_courses += 1
            st.last_local = st.t
            return


@njit(cache=True, _nrt=False)
def give(P, R, A, W, L, n):
    """Treat every lesion marked by :func:`mark`, in lesion order; returns True if one procedure
    killed the patient (every marked lesion is treated all the same: one operative session, and
    the draws stay aligned). The caller ends the course with ``codes.DEATH_TREATMENT``. A
    survived session holds chemotherapy for the longest hold of its modalities (model 6.10)."""
    dead = False
    days = 0.0
    for i in range(n):
        if not L.to_procedure[i]:
            continue
        L.to_procedure[i] = False
        if L.status[i] != C.ACTIVE:
            continue
        days = max(days, P.procedure[site_modality(A, L, i), codes.PROC_PAUSE_DAYS])
        if _treat(P, A, W, L, i):
            dead = True
    if dead:
        W.state[0].death_detail = codes.TREATMENT_DEATH_PROCEDURE
    elif days > 0.0:
        hold_systemic(R, W, W.state[0].t + days * MONTHS_PER_DAY)
    return dead


@njit(cache=True, _nrt=False)
def hold_systemic(R, W, end):
    """Chemotherapy waits until ``end`` (months) for recovery from a procedure (model 6.10).

    The hold extends one already running; a running chemotherapy-containing line is paused as by a
    sequential RT course (model 5.4: its anti-PD-1 component goes on; its induction end and
    consolidation check move by the extension); a line started during the hold waits for its end
    (:func:`systemic.start_line`).
    """
    st = W.state[0]
    old = W.slot[S_PROC_RESUME]
    if old < INF and old >= end:
        return
    start = old if old < INF else st.t
    W.slot[S_PROC_RESUME] = end
    if st.line_on and st.reg >= 0 and R.chemo[st.reg]:
        if W.slot[S_INDUCTION_END] < INF:
            W.slot[S_INDUCTION_END] += end - start
        if W.slot[S_CONSOLIDATION] < INF:
            W.slot[S_CONSOLIDATION] += end - start
        if not st.paused:
            st.paused = True
            st.kill = 0.0 if st.resisted else systemic.paused_kill(R, st.reg, st.pdl1_high)


@njit(cache=True, _nrt=False)
def on_resume(W):
    """The hold is over: chemotherapy resumes unless a sequential RT course still pauses it (its
    end resumes it then)."""
    st = W.state[0]
    if st.paused and not (W.slot[S_RT_END] < INF and not st.course_concurrent):
        st.paused = False
        st.kill = 0.0 if (st.resisted or not st.line_on) else st.kill_line
