"""Radiotherapy in the kernel: which lesions a course treats, how long it lasts, what it does.

A course is planned by marking lesions ``in_course`` (:func:`plan_course`,
:func:`plan_progression_course`), lasts as long as its longest schedule
(:func:`course_months`), and acts at its last fraction (:func:`deliver_course`): each target is
controlled with its TCP or shrinks, and the course's esophagus and lung doses decide its
toxicity (model 6).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import oar, procedure, rng, toxicity
from oligosim._kernels.state import MONTHS_PER_DAY, log_event
from oligosim.radiobiology import core as rb

#: plan_course modes
PLAN_INITIAL = codes.PLAN_INITIAL
PLAN_URGENT = codes.PLAN_URGENT
PLAN_PROGRESSION = codes.PLAN_PROGRESSION


@njit(cache=True, inline="always")
def _locoregional(L, i):
    """The primary, the regional nodes and distant nodes put in the primary's field (statement
    5) are one field, with the primary's schedule, outside the cap on irradiated metastases."""
    organ = L.organ[i]
    return organ == codes.PRIMARY or organ == codes.REGIONAL_NODE or L.with_primary[i] != 0


@njit(cache=True, _nrt=False)
def plan_course(P, A, L, n, mode):
    """Mark the lesions an RT course will treat (``mode``: PLAN_*); returns how many are known.

    Distant metastases beyond ``max_irradiated`` are left out, smallest first. Then, except in
    an urgent plan, the metastases of sites the arm treats by surgery or ablation leave the RT
    course for ``to_procedure`` (:func:`procedure.mark`; the caller gives them with
    :func:`procedure.give`; model 6.10). The field of a nodal target also treats the occult
    nodes of its organ in its station (:func:`cover_stations`); they are marked but not counted.
    """
    count = 0
    for i in range(n):
        L.in_course[i] = False
        if L.status[i] != C.ACTIVE or not L.seen[i]:
            continue
        organ = L.organ[i]
        if mode == PLAN_URGENT:
            if L.symptomatic[i] and (organ == codes.BRAIN or organ == codes.BONE):
                L.in_course[i] = True
        elif organ == codes.PRIMARY or (organ == codes.REGIONAL_NODE and mode == PLAN_INITIAL and A.rt_primary):
            L.in_course[i] = A.rt_primary or mode == PLAN_PROGRESSION
        else:
            L.in_course[i] = A.rt_metastases or mode == PLAN_PROGRESSION
    if mode == PLAN_PROGRESSION and A.progressing_only:
        keep_progressing(P, L, n)
    mark_nodes_with_primary(A, L, n, mode)
    # keep the largest distant metastases up to the cap
    n_met = 0
    for i in range(n):
        if L.in_course[i] and not _locoregional(L, i):
            n_met += 1
    while n_met > A.max_irradiated:
        smallest = -1
        for i in range(n):
            if L.in_course[i] and not _locoregional(L, i):
                if smallest < 0 or L.logv[i] < L.logv[smallest]:
                    smallest = i
        L.in_course[smallest] = False
        n_met -= 1
    if mode != PLAN_URGENT:
        # the cap above counts every local target, whatever its modality (treat all vs some)
        procedure.mark(P, A, L, n)
    for i in range(n):
        if L.in_course[i]:
            count += 1
    if P.lr[0].field_covers_station:
        cover_stations(L, n)
    return count


@njit(cache=True, inline="always")
def _progressing(P, L, i):
    """Is seen lesion ``i`` progressing at this scan: seen for the first time, or its diameter
    grown since the nadir by at least the RECIST fraction and minimum (applied to the lesion)?"""
    d = C.diameter_of_logv(L.logv[i])
    return L.new_seen[i] or (d - L.nadir_d[i] >= P.recist_min_cm and d >= L.nadir_d[i] * (1.0 + P.recist_growth))


@njit(cache=True, _nrt=False)
def keep_progressing(P, L, n):
    """Of the lesions planned for a course at a progression, keep only the progressing ones
    (arm's ``progression.targets = "progressing"``, model 8.1). If none is (the sum of diameters
    progressed through several smaller growths), keep every planned lesion that grew since the
    nadir."""
    found = False
    for i in range(n):
        if L.in_course[i] and _progressing(P, L, i):
            found = True
    for i in range(n):
        if L.in_course[i]:
            L.in_course[i] = _progressing(P, L, i) if found else C.diameter_of_logv(L.logv[i]) > L.nadir_d[i]


@njit(cache=True, _nrt=False)
def mark_nodes_with_primary(A, L, n, mode):
    """Statement 5: with ``A.nodes_with_primary``, a planned distant node at the level of the
    planned primary, or next to it, goes in the primary's field (``with_primary``); every other
    lesion loses the mark."""
    level = -1
    if A.nodes_with_primary and mode == PLAN_INITIAL:
        for i in range(n):
            if L.in_course[i] and L.organ[i] == codes.PRIMARY:
                level = L.subsite[i]
    for i in range(n):
        L.with_primary[i] = level >= 0 and L.in_course[i] and L.organ[i] == codes.DISTANT_NODE and abs(L.subsite[i] - level) <= 1


@njit(cache=True, inline="always")
def covers(L, j, i):
    """Does known target ``j`` treat occult node ``i`` (model 6.9)? A node covers the occult
    nodes of its organ in its station; the primary covers the occult regional nodes at its
    level."""
    if L.subsite[j] != L.subsite[i]:
        return False
    if L.organ[j] == L.organ[i]:
        return True
    return L.organ[j] == codes.PRIMARY and L.organ[i] == codes.REGIONAL_NODE


@njit(cache=True, _nrt=False)
def cover_stations(L, n):
    """Mark the occult nodes a planned course treats (:func:`covers`): an involved-station
    clinical target volume treats the microscopic disease there (model 6.9), so what recurs
    next to it is a marginal failure."""
    for i in range(n):
        if L.in_course[i] or L.seen[i] or L.status[i] != C.ACTIVE:
            continue
        o = L.organ[i]
        if o != codes.REGIONAL_NODE and o != codes.DISTANT_NODE:
            continue
        for j in range(n):
            if L.in_course[j] and L.seen[j] and covers(L, j, i):
                L.in_course[i] = True
                L.with_primary[i] = L.with_primary[j]
                break


@njit(cache=True, _nrt=False)
def schedule(A, L, i):
    """(dose per fraction in Gy, fractions, fractions a day, theta tumour, theta late) for
    target ``i``: a lesion irradiated before gets its site's re-irradiation schedule where the
    arm gives one (model 6.6); otherwise the primary's schedule in its field, elsewhere its
    site's schedule (organ, or station for distant nodes; model 6.1) or the arm's one metastasis
    schedule. The thetas are the damage unrepaired between same-day fractions (model 6.2)."""
    if L.irradiated[i] > 0:
        o = codes.PRIMARY if _locoregional(L, i) else L.organ[i]
        s = 0 if _locoregional(L, i) else L.subsite[i]
        k = A.reirr_fractions[o, s]
        if k > 0:
            return A.reirr_dose[o, s] / k, k, A.reirr_per_day[o, s], A.reirr_theta[o, s, 0], A.reirr_theta[o, s, 1]
    if _locoregional(L, i):
        return A.primary_dose / A.primary_fractions, A.primary_fractions, A.fractions_per_day, A.theta_early, A.theta_late
    if A.by_site:
        k = A.site_fractions[L.organ[i], L.subsite[i]]
        return A.site_dose[L.organ[i], L.subsite[i]] / k, k, A.fractions_per_day, A.theta_early, A.theta_late
    return A.metastasis_dose / A.metastasis_fractions, A.metastasis_fractions, A.fractions_per_day, A.theta_early, A.theta_late


@njit(cache=True, _nrt=False)
def bed(d, k, ab, per_day, theta):
    """BED (Gy) of ``k`` fractions of ``d`` Gy, ``per_day`` a day: with one a day repair between
    fractions is complete (the plain LQ form); with more, Thames 1985's incomplete repair
    (model 6.2)."""
    if per_day == 1:
        return rb.bed(d, k, ab)
    return rb.bed_extended(d, k, ab, per_day, theta, 0.0, 0.0, 0.0)


@njit(cache=True, _nrt=False)
def eqd2(d, k, ab, per_day, theta):
    """EQD2 (Gy) of the schedule, as :func:`bed`."""
    if per_day == 1:
        return rb.eqd2(d, k, ab)
    return rb.eqd2_extended(d, k, ab, per_day, theta, 0.0, 0.0, 0.0)


@njit(cache=True, _nrt=False)
def eqd2_late(P, A, L, i):
    """Late-effect EQD2 (Gy, alpha/beta ``P.ab_late``) of target ``i``'s schedule."""
    d, k, per_day, _, theta_late = schedule(A, L, i)
    return eqd2(d, k, P.ab_late, per_day, theta_late)


@njit(cache=True, _nrt=False)
def course_months(A, L, n):
    """Overall time of the planned course: the longest schedule, 5 treatment days a week."""
    days = 0
    for i in range(n):
        if L.in_course[i]:
            sc = schedule(A, L, i)
            k, per_day = sc[1], sc[2]
            d = (k + per_day - 1) // per_day
            if d > days:
                days = d
    calendar = (days - 1) // 5 * 7 + (days - 1) % 5 + 1
    return calendar * MONTHS_PER_DAY


@njit(cache=True, _nrt=False)
def reirradiation_allowed(P, A, L, i, t):
    """May lesion ``i``, irradiated before, be irradiated again at month ``t`` (model 6.6)?"""
    months = t - L.site_time[i]
    new = eqd2_late(P, A, L, i)
    return months >= P.reirr_min_interval and rb.cumulative_eqd2(L.site_eqd2[i], months, new, P.recovery_max, P.recovery_half_time) <= P.reirr_limit


@njit(cache=True, _nrt=False)
def plan_progression_course(P, R, A, W, L):
    """Local therapy at a progression: surgery or ablation where the arm chooses it for the site
    (model 6.10), RT where the re-irradiation dose allows (model 6.6), else surgery or ablation
    if the arm allows it (6.7).

    Returns the number of lesions put in an RT course, the number given another local therapy,
    and whether a procedure killed the patient.
    """
    st = W.state[0]
    t = st.t
    plan_course(P, A, L, st.n, np.int64(PLAN_PROGRESSION))  # int64: one compiled plan_course, not one per literal mode
    n_rt = 0
    n_alt = 0
    for i in range(st.n):
        if L.to_procedure[i]:
            n_alt += 1
    dead = procedure.give(P, R, A, W, L, st.n)
    for i in range(st.n):
        if not L.in_course[i]:
            continue
        if not L.seen[i]:
            continue  # occult disease in a target's station: decided below
        if L.irradiated[i] > 0:
            if not reirradiation_allowed(P, A, L, i, t):
                L.in_course[i] = False
                if A.alternative_local:
                    n_alt += 1
                    log_event(W, t, codes.EV_ALT_LOCAL, i)
                    if rng.uniform(W.streams, rng.RT) < P.alt_local_control:
                        L.status[i] = C.CONTROLLED
                    else:
                        L.logv[i] -= 2.0 * math.log(10.0)
                continue
        n_rt += 1
    # occult nodes go with a target of their station that is still in the course, where the
    # dose allows
    for i in range(st.n):
        if L.in_course[i] and not L.seen[i]:
            L.in_course[i] = False
            if L.irradiated[i] == 0 or reirradiation_allowed(P, A, L, i, t):
                for j in range(st.n):
                    if L.in_course[j] and L.seen[j] and covers(L, j, i):
                        L.in_course[i] = True
                        break
    return n_rt, n_alt, dead


@njit(cache=True, _nrt=False)
def _irradiate(P, A, W, L, i):
    """Apply the course to lesion ``i`` (model 6.2-6.4); returns its late EQD2 in Gy."""
    st = W.state[0]
    t = st.t
    d, k, per_day, theta_early, _ = schedule(A, L, i)
    bed10 = bed(d, k, P.ab_tumour, per_day, theta_early)
    if P.chemo_before_rt and L.exposed_at_start[i]:
        # chemotherapy before RT leaves resistant survivors (model 5.6)
        bed10 = max(bed10 - P.chemo_before_rt_loss, 0.0)
    late = eqd2_late(P, A, L, i)
    volume = math.exp(L.logv[i])
    p = rb.tcp(bed10, volume, P.tcp_bed50, P.tcp_gamma50, P.tcp_volume_ref, P.tcp_volume_exponent)
    again = L.irradiated[i] > 0  # re-irradiation (also of a course given before entry)
    # lc_slot: -1 no course yet in the simulation, -2 treated but no open record, >= 0 open
    first_here = L.lc_slot[i] == -1
    # the lesion's own radiosensitivity quantile decides its first course here (common random
    # numbers across arms); later courses draw afresh
    u = L.u_tcp[i] if first_here else rng.uniform(W.streams, rng.RT)
    if first_here and not L.seen[i]:
        L.lc_slot[i] = -2  # occult disease treated in a target's station: no record of its own
    elif first_here:
        L.lc_slot[i] = -2
        q = st.lc_n
        if q < W.lc_time.shape[0]:
            W.lc_time[q] = t
            W.lc_event[q] = False
            W.lc_bed[q] = bed10
            W.lc_volume[q] = volume
            st.lc_n = q + 1
            L.lc_slot[i] = q
    L.rt_pre_logv[i] = L.logv[i]
    if u < p:
        L.status[i] = C.CONTROLLED
    else:  # not sterilised: shrinks, and may regrow in field
        L.logv[i] -= P.uncontrolled_kill * bed10
        if L.logv[i] < P.eradication_logv:
            L.status[i] = C.ERADICATED
    if again:
        L.site_eqd2[i] = rb.cumulative_eqd2(L.site_eqd2[i], t - L.site_time[i], late, P.recovery_max, P.recovery_half_time)
    else:
        L.site_eqd2[i] = late
    L.site_time[i] = t
    L.irradiated[i] += 1
    return late


@njit(cache=True, _nrt=False)
def _course_toxicity(P, R, W, eso, lung, marrow, reirr, heart, cord, bowel):
    """Esophagitis, fistula and pneumonitis (model 6.5) and leukopenia (model 9) of a course
    from its esophagus, lung and marrow doses, then the heart, cord, bowel and (after
    esophagectomy, from the esophagus's dose) conduit toxicity (:func:`oar.course_toxicity`);
    True if one was fatal.

    Always six draws from the toxicity stream and six from the organs stream, whatever happens,
    so that the streams stay aligned.
    """
    st = W.state[0]
    io = st.line_on and st.reg >= 0 and R.io[st.reg]
    # the patient's own risk (age, performance status) multiplies every odds (statement 10)
    or_c = (P.concurrent_or if st.course_concurrent else 1.0) * oar.patient_odds(P, st)
    # after definitive chemoradiotherapy the esophagus already had its full dose: any dose to it
    # now is a re-irradiation (model 6.5)
    again = reirr or (st.primary_treatment == codes.PRIOR_DEFINITIVE_CRT and eso > 0.0)
    or_r = P.reirr_or if again else 1.0
    p_esoph = rb.odds_scaled(rb.ntcp_lkb(eso, P.esophagitis_td50, P.esophagitis_m), or_c * or_r)
    p_fist = rb.odds_scaled(rb.ntcp_lkb(eso, P.fistula_td50, P.fistula_m), or_c * or_r)
    conduit = 0.0
    if st.primary_treatment == codes.PRIOR_SURGERY:
        # no esophagus after esophagectomy: no esophagitis, no esophageal fistula; the gastric
        # conduit in its bed takes its dose (model 6.5)
        p_esoph = 0.0
        p_fist = 0.0
        conduit = eso
    p_pneu = rb.odds_scaled(rb.ntcp_lkb(lung, P.pneumonitis_td50, P.pneumonitis_m), or_c * (P.io_pneumonitis_or if io else 1.0))
    u_e = rng.uniform(W.streams, rng.TOXICITY)
    u_f = rng.uniform(W.streams, rng.TOXICITY)
    u_p = rng.uniform(W.streams, rng.TOXICITY)
    g_f = rng.uniform(W.streams, rng.TOXICITY)
    g_p = rng.uniform(W.streams, rng.TOXICITY)
    u_m = rng.uniform(W.streams, rng.TOXICITY)
    dead = False
    if u_e < p_esoph:
        toxicity.record(P, W, codes.ESOPHAGITIS)
    if u_f < p_fist:
        toxicity.record(P, W, codes.FISTULA)
        dead = g_f < P.g5_fistula
    if u_p < p_pneu:
        toxicity.record(P, W, codes.PNEUMONITIS)
        dead = dead or g_p < P.g5_pneumonitis
    if u_m < toxicity.marrow_ntcp(P, marrow, or_c):
        toxicity.record(P, W, codes.LEUKOPENIA)
    if oar.course_toxicity(P, W, heart, cord, bowel, conduit, or_c):
        dead = True
    return dead


@njit(cache=True, _nrt=False)
def deliver_course(P, R, A, W, L):
    """Apply an RT course to its targets; returns True if it caused a treatment death."""
    st = W.state[0]
    eso = 0.0
    lung = 0.0
    marrow = 0.0
    heart = 0.0
    cord = 0.0
    bowel = 0.0
    reirr = False
    tx = P.tx[0]
    for i in range(st.n):
        if not L.in_course[i]:
            continue
        L.in_course[i] = False
        if L.status[i] != C.ACTIVE:
            continue
        again = L.irradiated[i] > 0
        # the schedule before the course counts it (a lesion irradiated now is re-irradiated next)
        d, k, per_day, theta_early, theta_late = schedule(A, L, i)
        _irradiate(P, A, W, L, i)
        if not L.seen[i]:
            continue  # inside a known target's field: no dose of its own to organs at risk
        f_eso = P.eso_fraction[L.organ[i], L.subsite[i]]
        if again:
            reirr = reirr or f_eso > 0.0
        # each organ at risk gets its share of every fraction's dose, so its own dose per fraction
        # decides its EQD2 (model 6.5; an SBRT field's low-dose spill counts little)
        e = eqd2(f_eso * d, k, P.ab_late, per_day, theta_late)
        if e > eso:
            eso = e
        o, s = L.organ[i], L.subsite[i]
        # mean-dose organs take more from a larger metastatic target's field (model 6.5)
        g = oar.field_scale(P, o, L.rt_pre_logv[i])
        lung += eqd2(oar.scaled_share(g, P.lung_fraction[o], P.lung_fraction[codes.PRIMARY]) * d, k, P.ab_late, per_day, theta_late)
        marrow += eqd2(oar.scaled_share(g, tx.marrow_fraction[o], tx.marrow_fraction[codes.PRIMARY]) * d, k, P.ab_tumour, per_day, theta_early)
        # the heart's mean dose is its largest target's: mediastinal targets share one field
        f_heart = oar.scaled_share(g, oar.share(tx.heart_fraction, o, s), oar.share(tx.heart_fraction, codes.PRIMARY, 0))
        heart = max(heart, eqd2(f_heart * d, k, P.ab_late, per_day, theta_late))
        cord = max(cord, eqd2(oar.share(tx.cord_fraction, o, s) * d, k, tx.ab_cord, per_day, theta_late))
        bowel = max(bowel, eqd2(oar.share(tx.bowel_fraction, o, s) * d, k, P.ab_late, per_day, theta_late))
    dead = _course_toxicity(P, R, W, eso, lung, marrow, reirr, heart, cord, bowel)
    # abscopal response of unirradiated lesions under anti-PD-1 (off by default)
    io = st.line_on and st.reg >= 0 and R.io[st.reg]
    if io and P.abscopal_p > 0.0:
        if rng.uniform(W.streams, rng.RT) < P.abscopal_p:
            for i in range(st.n):
                if L.status[i] == C.ACTIVE and L.irradiated[i] == 0:
                    L.logv[i] -= P.abscopal_kill
    return dead
