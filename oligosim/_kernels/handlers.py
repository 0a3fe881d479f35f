"""One handler per event kind, named like the reference engine's ``Patient.on_*`` methods.

Every handler takes the parameter tuples (``P`` model, ``R`` regimens, ``A`` arm), the
patient's :class:`~oligosim._kernels.state.Workspace` ``W`` and lesion slots ``L`` (where the
handler needs them), records what happens in the workspace (results, event log)
acts at the current time ``W.state[0].t`` and sets ``st.over`` when the patient's course ends.
The event loop (:mod:`oligosim._kernels.engine`) decides which handler runs next. The handlers
are inlined into the loop (``inline="always"``): a call that passes the parameter, lesion and
output tuples costs a reference-count update per array, about a third of the run time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from oligosim import codes
from oligosim._kernels import anchor, assess, diffuse, fitness, hazards, lesres, procedure, record, rng, rt, systemic, toxicity, uncounted
from oligosim._kernels import cohort as C
from oligosim._kernels.state import (
    INF,
    LINE_AFTER_RT,
    LINE_NONE,
    LINE_WITH_RT,
    N_SLOTS,
    N_SYSTEMIC_TOX,
    S_BACKGROUND_DEATH,
    S_CONSOLIDATION,
    S_HORIZON,
    S_INDUCTION_END,
    S_MAINTENANCE_END,
    S_RESISTANCE,
    S_RT_END,
    S_RT_START,
    S_SCAN,
    S_SYMPTOM_SCAN,
    S_TOX,
    S_PRIMARY_EVENT,
    S_PROC_RESUME,
    log_event,
    tally_scratch,
)
from oligosim.definitions import count_metastases
from oligosim._kernels.progression import on_progression  # noqa: F401  (the event loop calls it from here)


@njit(cache=True, inline="always")
def finish(W, cause):
    """The patient's course ends now (``cause``: codes.ALIVE at the horizon, or DEATH_*)."""
    st = W.state[0]
    st.cause = cause
    st.over = True


@njit(cache=True, inline="always")
def finish_disease(W, detail):
    """Death from the cancer now, by mechanism ``detail`` (codes.DISEASE_DEATH_*, model 4.3),
    which the closing event records."""
    W.state[0].death_detail = detail
    finish(W, codes.DEATH_DISEASE)


# ----------------------------------------------------------------------------- entry


@njit(cache=True, _nrt=False)
def _reset(P, W):
    """Clear the simulation's scalars and schedule the events every patient has."""
    st = W.state[0]
    st.t = 0.0
    st.over = False
    st.cause = codes.ALIVE
    st.death_detail = codes.DISEASE_DEATH_BURDEN
    st.line = 0
    st.lines_started = 0
    st.ecog_now = st.ecog  # the current ECOG starts at entry (model 3.9)
    st.reg = -1
    st.line_on = False
    st.resisted = False
    st.kill = 0.0
    st.kill_line = 0.0
    st.paused = False
    st.first_line_at = LINE_NONE
    st.course_mode = rt.PLAN_INITIAL
    st.course_concurrent = False
    st.rt_courses = 0
    st.local_courses = 0
    st.extra_courses = 0
    st.last_local = 0.0
    st.win_end = INF
    st.progressed = False
    st.widespread = False
    st.palliative = False
    st.fistula = False
    st.has_baseline = True
    st.overflow = 0
    st.overflow_at = INF
    st.h_seed = 0.0
    st.h_death = 0.0
    st.a_valid = False  # the anchor is set at the first step (oligosim._kernels.anchor)
    st.a_n = 0
    st.a_t = 0.0
    diffuse.reset(W)
    for s in range(N_SLOTS):
        W.slot[s] = INF
    for k in range(N_SYSTEMIC_TOX):
        W.tox_time[k] = INF
    W.slot[S_BACKGROUND_DEATH] = st.bg_death
    W.slot[S_HORIZON] = P.horizon
    assess.book_visit(P, W, P.first_scan)


@njit(cache=True, _nrt=False)
def _record_entry(W, L, out, j):
    """The patient's baseline columns; the visible metastases counted as statement 1 counts
    them (the eligibility count)."""
    st = W.state[0]
    out.histology[j] = st.histology
    out.presentation[j] = st.presentation
    out.age[j] = st.age
    out.dfi[j] = st.dfi
    out.kps[j] = st.kps
    out.pdl1_high[j] = st.pdl1_high
    out.n_lesions_entry[j] = st.n
    metachronous = st.presentation != codes.SYNCHRONOUS
    m = C.visible_distant(L, st.n, W.buf_organ, W.buf_subsite, metachronous)
    out.n_visible_entry[j] = count_metastases(W.buf_organ, W.buf_subsite, m, metachronous, tally_scratch(st))[0]


@njit(cache=True, inline="always")
def draw(P, seed, pid, W, L):
    """Draw patient ``pid`` (its streams started, then the cohort until eligible) into ``W`` and
    ``L``; returns the lesion count, or -1 if eligibility could not be met.

    What it writes (the state record's attributes, the stream counters, the lesion slots) does
    not depend on the arm, so a patient drawn once can be copied into every arm
    (``engine.simulate_arms``).
    """
    rng.init_streams(seed, pid, W.streams)
    return C.draw_patient(P, W, L)


@njit(cache=True, inline="always")
def on_entry(P, R, A, W, L, out, j, n):
    """Record the baseline of the patient just drawn (``n`` lesions, -1 if not eligible:
    :func:`draw`) and make the arm's initial plan (BRIEF 7, model 8.2).

    Returns False if eligibility could not be met (the row's OS is then NaN).
    """
    st = W.state[0]
    out.attempts[j] = st.attempts
    st.ev_n = 0
    st.lc_n = 0
    for k in range(codes.N_TOX):
        W.tox_seen[k] = False
    if n < 0:
        out.ev_n[j] = 0
        out.lc_n[j] = 0
        for k in range(codes.N_TOX):
            out.tox[j, k] = False
        out.os[j] = np.nan
        return False
    st.n = n
    _record_entry(W, L, out, j)
    log_event(W, 0.0, codes.EV_ENTRY, n)
    _reset(P, W)
    lesres.reset(W)
    if P.dz[0].uncounted_grows:
        uncounted.enter(P, st, L)  # occult deposits drawn beyond the cap (model 4.2)
    diffuse.at_entry(P, W)  # occult diffuse disease at entry (model 4.9; off by default)
    nadir = 0.0
    for i in range(n):
        if L.seen[i]:
            nadir += C.diameter_of_logv(L.logv[i])
    st.nadir = nadir
    assess.set_nadir_diameters(L, n)
    st.scan_t_prev = 0.0
    st.scan_vol_prev = assess.visible_volume(L, n) if A.slow_by_growth else 0.0
    st.doubling_at_scan = INF
    st.e_seed = rng.exponential(W.streams, rng.SEEDING)
    if st.overflow > 0:
        st.e_seed = INF  # occult deposits beyond the cap at entry: the aggregate stands for all further disease
    st.e_death = rng.exponential(W.streams, rng.DEATH)
    if st.primary_in_place:
        # a tumour fistula while the primary stays active (model 4.8): a constant hazard that
        # ends for good when the primary is controlled or eradicated, so one threshold decides
        W.slot[S_PRIMARY_EVENT] = hazards.exp_time(rng.exponential(W.streams, rng.PRIMARY), P.lr[0].fistula_rate)
    # the baseline before any treatment: a surgery or ablation of the initial plan (model 6.10)
    # acts at once
    record.on_entry(W, L, out, j)
    # the European consensus: metachronous disease after a long disease-free interval -> local first
    st.timing = A.rt_timing
    if A.local_first and st.presentation == codes.METACHRONOUS and st.dfi > A.dfi_threshold:
        st.timing = codes.RT_UPFRONT
    first = A.first_line
    concurrent_plan = st.timing == codes.RT_CONCURRENT or A.concurrent
    start_now = first >= 0
    n_rt = 0
    if (st.timing == codes.RT_UPFRONT or st.timing == codes.RT_CONCURRENT) and fitness.fit_for_local(P, W):
        n_rt = rt.plan_course(P, A, L, n, rt.PLAN_INITIAL)
        # surgery or ablation of the sites the arm treats so (model 6.10): given now
        procedure.given_alone(W, L, n, n_rt)
        if procedure.give(P, R, A, W, L, n):
            finish(W, codes.DEATH_TREATMENT)
            return True
    if n_rt > 0:
        # local therapy first; the course includes any symptomatic lesion the arm irradiates
        st.course_mode = rt.PLAN_INITIAL
        W.slot[S_RT_START] = P.rt_delay
        if first >= 0:
            start_now = False
            st.first_line_at = LINE_WITH_RT if concurrent_plan else LINE_AFTER_RT
    elif A.urgent and rt.plan_course(P, A, L, n, rt.PLAN_URGENT) > 0:
        # symptomatic brain or lytic bone disease: RT before systemic therapy (statement 6)
        st.course_mode = rt.PLAN_URGENT
        W.slot[S_RT_START] = P.rt_delay
        if first >= 0:
            start_now = False
            st.first_line_at = LINE_AFTER_RT
    if start_now and fitness.fit_for_line(P, W, 1):
        systemic.start_line(P, R, A, W, L, np.int64(1), first)
    toxicity.update_window(P, W)
    return True


# ----------------------------------------------------------------------------- continuous processes


@njit(cache=True, inline="always")
def _colony_extra(P, W):
    """Lesions a seeding event makes besides the first (model 4.2): a negative-binomial count
    drawn from the SEEDING stream when colonies are on, else 0 with no draw."""
    if P.cluster_extra_mean > 0.0:
        return rng.negative_binomial_ppf(rng.uniform(W.streams, rng.SEEDING), P.cluster_extra_mean, P.cluster_size, P.max_lesions)
    return 0


@njit(cache=True, inline="always")
def on_seeding(P, R, W, L):
    """A new metastasis (model 4.2): Iwata-type seeding, hazard proportional to volume; lymphatic
    spread from locoregional disease lands in the regional nodes."""
    st = W.state[0]
    st.e_seed = rng.exponential(W.streams, rng.SEEDING)
    grows = P.dz[0].uncounted_grows
    if diffuse.seeding(P, W):  # diffuse serosal disease instead of a lesion (model 4.9)
        return
    n_before = st.n
    i, n = hazards.free_slot(L, n_before, P.max_lesions)
    st.n = n
    if i < 0:
        # More lesions than the cap: the patient is marked as having uncounted disease. The
        # uncounted disease is new disease at the first scan after a lesion seeded now would
        # reach the median detection size growing at the patient's median rate (therapy
        # ignored); counting it at the next scan, as before 2026-11-22, made a full cap an
        # immediate progression (model 4.2). Further seeding is no longer drawn: frozen, it
        # could change nothing that is simulated; growing, the deposit (a colony counted whole)
        # joins the aggregate, which then stands for all further disease (the deposits it would
        # seed add a negligible volume to its growth, model 4.2).
        st.overflow = 1
        st.overflow_at = st.t + P.overflow_dlogv / st.growth
        st.e_seed = INF
        if grows:
            uncounted.join(P, st, L, 1 + _colony_extra(P, W))
        return
    s = rng.LESION
    organ = hazards.seeded_organ(P, W.streams, L, n_before, st.histology)
    # a colony (model 4.2): 1 + a negative-binomial count of lesions in the same organ; the
    # count is drawn only when the mechanism is on, so that off the streams are as before
    extra = _colony_extra(P, W)
    for k in range(extra + 1):
        if k > 0:
            i, n = hazards.free_slot(L, st.n, P.max_lesions)
            st.n = n
            if i < 0:  # the colony fills the cap: uncounted disease, as above
                st.overflow = 1
                st.overflow_at = st.t + P.overflow_dlogv / st.growth
                st.e_seed = INF
                if grows:  # the rest of the colony joins the aggregate
                    uncounted.join(P, st, L, extra + 1 - k)
                return
        C.init_lesion(P, W.streams, s, i, organ, P.seed_logv, C.lesion_growth(P, W.streams, s, st), L)
        L.chemo_exposed[i] = st.line_on and st.reg >= 0 and R.chemo[st.reg]
        lesres.on_new(R, W, L, i)
        log_event(W, st.t, codes.EV_NEW_LESION, i)


@njit(cache=True, inline="always")
def on_crossing(P, R, W, L, span, i_seed, i_death):
    """A continuous hazard crosses its threshold before the next event, ``span`` months after
    the hazards' anchor (over which the seeding and death hazards integrate to ``i_seed``,
    ``i_death``; ``oligosim._kernels.anchor``): find the crossing from the anchor, move the
    lesions to it and let disease death (which wins a tie) or seeding happen."""
    st = W.state[0]
    lo = st.t - st.a_t  # no threshold was reached up to now
    cross_seed = st.h_seed + i_seed >= st.e_seed
    cross_death = st.h_death + i_death >= st.e_death
    ss, dr = P.seeding_rate * st.propensity, P.death_rate
    tau_s = INF
    a_death = math.nan
    known = False
    if cross_seed:
        tau_s, a_death, known = hazards.crossing(L, st.a_n, lo, span, ss, dr, 0, st.e_seed - st.h_seed)
    tau_d = hazards.crossing_time(L, st.a_n, lo, span, ss, dr, 1, st.e_death - st.h_death) if cross_death else INF
    tau = min(tau_s, tau_d)
    if tau_s < tau_d and not known:
        # the death hazard up to the seeding (the search found it beside the root, unless it
        # ended on its bracket); a death needs none
        a_death = anchor.since(L, st.a_n, tau, P.seeding_rate, st.propensity, dr)[1]
    step = tau - lo
    hazards.advance(L, st.n, st.kill, st.t, step, P.eradication_logv, W)
    diffuse.advance(P, W, step)
    st.t += step
    st.a_valid = False  # the accumulated hazards are taken to the crossing below; a seeding adds a lesion
    if tau_d <= tau_s:
        finish_disease(W, codes.DISEASE_DEATH_BURDEN)
        return
    st.h_seed = 0.0
    st.h_death += a_death
    on_seeding(P, R, W, L)


@njit(cache=True, inline="always")
def on_symptom(P, W, L, i):
    """Lesion ``i`` reached its symptom size: an unscheduled scan is booked (model 4.6)."""
    st = W.state[0]
    L.symptomatic[i] = True
    log_event(W, st.t, codes.EV_SYMPTOM, i)
    if W.slot[S_SYMPTOM_SCAN] == INF and L.status[i] == C.ACTIVE:
        W.slot[S_SYMPTOM_SCAN] = st.t + P.symptom_delay


@njit(cache=True, inline="always")
def on_primary_event(P, W, L):
    """The tumour-fistula clock of the primary in place fires (model 4.8): a fistula if the
    primary is still active (its hazard ended when it was controlled or eradicated), which stops
    every treatment and starts the clock of death after it; or, the second time, that death."""
    st = W.state[0]
    if st.fistula:
        finish_disease(W, codes.DISEASE_DEATH_FISTULA)
        return
    active = False
    for i in range(st.n):
        if L.organ[i] == codes.PRIMARY and L.status[i] == C.ACTIVE and L.seen[i]:
            active = True
    if not active:
        return
    st.fistula = True
    log_event(W, st.t, codes.EV_TUMOUR_FISTULA, 0)
    if st.line_on:
        systemic.stop_line(W)
    W.slot[S_RT_START] = INF  # a planned course is not given (an ongoing one ends as planned)
    st.first_line_at = LINE_NONE
    W.slot[S_PRIMARY_EVENT] = st.t + hazards.exp_time(rng.exponential(W.streams, rng.PRIMARY), P.lr[0].after_fistula_rate)


# ----------------------------------------------------------------------------- systemic therapy


@njit(cache=True, inline="always")
def on_toxicity(P, W):
    """The earliest pending grade >= 3 toxicity of the line (model 5.5), or its grade-5 event."""
    st = W.state[0]
    k = 0
    for q in range(1, N_SYSTEMIC_TOX):
        if W.tox_time[q] < W.tox_time[k]:
            k = q
    W.tox_time[k] = INF
    systemic.arm_toxicity(W.slot, W.tox_time)
    if k == codes.GRADE5_SLOT:
        finish(W, codes.DEATH_TREATMENT)
        return
    toxicity.record(P, W, k)
    if st.line_on:
        if k <= codes.THROMBOCYTOPENIA:
            # a cytopenia delays the next cycles
            if W.slot[S_INDUCTION_END] < INF:
                W.slot[S_INDUCTION_END] += P.tox_delay
            if W.slot[S_CONSOLIDATION] < INF:
                W.slot[S_CONSOLIDATION] += P.tox_delay
        if rng.uniform(W.streams, rng.TOXICITY) < P.discontinue_p:
            systemic.stop_line(W)


@njit(cache=True, inline="always")
def on_induction_end(R, W):
    """Induction over: maintenance at its own kill rate, or the line ends."""
    st = W.state[0]
    reg = st.reg
    log_event(W, st.t, codes.EV_INDUCTION_END, reg)
    if R.maintenance[reg] > 0.0:
        st.kill_line = systemic.line_kill(R, reg, True, st.pdl1_high)
        if not st.resisted:
            st.kill = st.kill_line
        W.slot[S_MAINTENANCE_END] = st.t + R.maintenance[reg]
    else:
        systemic.end_line(W)


@njit(cache=True, inline="always")
def on_maintenance_end(W):
    """Maintenance over: the line ends."""
    st = W.state[0]
    log_event(W, st.t, codes.EV_MAINTENANCE_END, st.reg)
    systemic.end_line(W)


@njit(cache=True, inline="always")
def on_resistance(W, L):
    """Acquired resistance: the line no longer kills (it goes on until it ends); lesion by
    lesion when the regimen spreads the times (:mod:`oligosim._kernels.lesres`)."""
    st = W.state[0]
    if st.lres_on:
        lesres.on_resistance(W, L)
        return
    log_event(W, st.t, codes.EV_RESISTANCE, st.reg)
    st.resisted = True
    st.kill = 0.0


# ----------------------------------------------------------------------------- radiotherapy


@njit(cache=True, inline="always")
def on_rt_start(P, R, A, W, L):
    """First fraction of a course; sequential strategies pause chemotherapy (model 5.4)."""
    st = W.state[0]
    t = st.t
    log_event(W, t, codes.EV_RT_START, st.course_mode)
    if st.course_mode == rt.PLAN_PROGRESSION and not (st.line == 1 and st.line_on):
        toxicity.close_window_now(W)  # a new therapy, not the protocol's (model 9)
    for i in range(st.n):
        L.exposed_at_start[i] = L.chemo_exposed[i]
    st.course_concurrent = st.line_on and st.reg >= 0 and R.chemo[st.reg]
    start_line_now = st.first_line_at == LINE_WITH_RT
    if start_line_now:
        # concurrent chemoradiotherapy: the line starts with the first fraction (if the patient
        # is fit for it, model 3.9; else the course is RT alone)
        st.first_line_at = LINE_NONE
        start_line_now = fitness.fit_for_line(P, W, 1)
        st.course_concurrent = start_line_now and R.chemo[A.first_line]
    dur = rt.course_months(A, L, st.n)
    if st.course_concurrent and not (A.concurrent or st.timing == codes.RT_CONCURRENT):
        # sequential strategy: chemotherapy waits for the RT course; anti-PD-1 goes on
        st.course_concurrent = False
        st.paused = True
        st.kill = 0.0 if st.resisted else systemic.paused_kill(R, st.reg, st.pdl1_high)
        if W.slot[S_INDUCTION_END] < INF:
            W.slot[S_INDUCTION_END] += dur
        if W.slot[S_CONSOLIDATION] < INF:
            W.slot[S_CONSOLIDATION] += dur
    W.slot[S_RT_END] = t + dur
    if start_line_now:
        systemic.start_line(P, R, A, W, L, np.int64(1), A.first_line)


@njit(cache=True, inline="always")
def on_rt_end(P, R, A, W, L):
    """Last fraction: the course's effect on each target and its toxicity (model 6)."""
    st = W.state[0]
    log_event(W, st.t, codes.EV_RT_END, st.course_mode)
    dead = rt.deliver_course(P, R, A, W, L)
    st.rt_courses += 1
    st.local_courses += 1
    st.last_local = st.t
    if st.paused and W.slot[S_PROC_RESUME] == INF:  # else a procedure still holds chemotherapy (6.10)
        st.paused = False
        st.kill = 0.0 if (st.resisted or not st.line_on) else st.kill_line
    if dead:
        finish(W, codes.DEATH_TREATMENT)
        return
    if st.first_line_at == LINE_AFTER_RT:
        st.first_line_at = LINE_NONE
        if not st.fistula and fitness.fit_for_line(P, W, 1):
            systemic.start_line(P, R, A, W, L, np.int64(1), A.first_line)


@njit(cache=True, inline="always")
def on_consolidation(P, R, A, W, L):
    """Restaging after N cycles: consolidative RT to all known lesions if no progression."""
    st = W.state[0]
    if not st.progressed and not st.fistula and W.slot[S_RT_END] == INF and W.slot[S_RT_START] == INF and fitness.fit_for_local(P, W):
        n_rt = rt.plan_course(P, A, L, st.n, rt.PLAN_INITIAL)
        procedure.given_alone(W, L, st.n, n_rt)
        if procedure.give(P, R, A, W, L, st.n):  # model 6.10
            finish(W, codes.DEATH_TREATMENT)
            return
        if n_rt > 0:
            st.course_mode = rt.PLAN_INITIAL
            W.slot[S_RT_START] = st.t + P.rt_delay


# ----------------------------------------------------------------------------- scans


@njit(cache=True, inline="always")
def on_scan(P, A, W, L, symptom):
    """Response assessment, RECIST 1.1 as implemented (model 7.2).

    Returns the number of new lesions if the scan shows progression (then
    :func:`on_progression` decides what to do, model 8.4), else -1.
    """
    st = W.state[0]
    t = st.t
    if not symptom:
        assess.book_visit(P, W, assess.next_nominal(P, W))
    log_event(W, t, codes.EV_SCAN, codes.SCAN_SYMPTOM if symptom else codes.SCAN_SCHEDULED)
    total, n_new = assess.visible_sum(L, st.n)
    if A.slow_by_growth:  # only the growth rule of statement 12 reads it (model 8.4)
        assess.record_growth(P, W, L)
    if uncounted.countable(P, st, L):
        n_new += 1  # uncounted lesions beyond the cap, now of visible size: new disease, seen once
        st.overflow = 2
    n_new += diffuse.at_scan(W)  # diffuse disease shown for the first time: new disease (model 4.9)
    nadir = st.nadir
    grew = st.has_baseline and total >= nadir * (1.0 + P.recist_growth) and total - nadir >= P.recist_min_cm
    progression = n_new > 0 or grew
    if not st.has_baseline or (not progression and total < nadir):
        st.nadir = total
        st.has_baseline = True
        assess.set_nadir_diameters(L, st.n)
    return n_new if progression else -1


# ----------------------------------------------------------------------------- close


@njit(cache=True, _nrt=False)
def close(W, out, j):
    """Write the patient's row ``j`` of ``out`` at death or the horizon: the summary columns,
    toxicities, local-control records and event log gathered in the workspace."""
    st = W.state[0]
    t = st.t
    cause = st.cause
    ended = cause != codes.ALIVE
    if cause == codes.DEATH_DISEASE:
        log_event(W, t, codes.EV_DEATH_DISEASE, st.death_detail)
    elif cause == codes.DEATH_OTHER:
        log_event(W, t, codes.EV_DEATH_OTHER, 0)
    elif cause == codes.DEATH_TREATMENT:
        log_event(W, t, codes.EV_DEATH_TREATMENT, st.death_detail)
    else:
        log_event(W, t, codes.EV_CENSORED, 0)
    out.os[j] = t
    out.os_event[j] = ended
    out.death_cause[j] = cause
    if st.progressed:
        out.pfs[j] = st.pfs
        out.pfs_event[j] = st.pfs_event
        out.first_failure[j] = st.first_failure
        out.estro_first[j] = st.estro_first
    else:
        out.pfs[j] = t
        out.pfs_event[j] = ended
        out.first_failure[j] = codes.FAIL_NONE
        out.estro_first[j] = codes.NOT_OLIGO - 1  # no progression
    if st.widespread:
        out.wpfs[j] = st.wpfs
        out.wpfs_event[j] = st.wpfs_event
    else:
        out.wpfs[j] = t
        out.wpfs_event[j] = ended
    out.rt_courses[j] = st.rt_courses
    out.local_courses[j] = st.local_courses
    out.lines[j] = st.lines_started
    out.overflow[j] = st.overflow > 0
    out.tumour_fistula[j] = st.fistula
    for k in range(codes.N_TOX):
        out.tox[j, k] = W.tox_seen[k]
    out.lc_n[j] = st.lc_n
    for k in range(st.lc_n):
        # an open record is censored now: lc_time held the RT time until the record closed
        out.lc_time[j, k] = W.lc_time[k] if W.lc_event[k] else t - W.lc_time[k]
        out.lc_event[j, k] = W.lc_event[k]
        out.lc_bed[j, k] = W.lc_bed[k]
        out.lc_volume[j, k] = W.lc_volume[k]
    out.ev_n[j] = st.ev_n
    for k in range(min(st.ev_n, W.ev_time.shape[0])):
        out.ev_time[j, k] = W.ev_time[k]
        out.ev_code[j, k] = W.ev_code[k]
        out.ev_detail[j, k] = W.ev_detail[k]
