"""Progression at a scan (model 8.4): record it, then decide local therapy or the next
systemic line (statement 12), and when no line is left, the palliative state (model 7.5).

Split from :mod:`oligosim._kernels.handlers` (which re-exports :func:`on_progression` for the
event loop); like the handlers, these functions are inlined into the loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from oligosim import codes
from oligosim._kernels import assess, fitness, hazards, rng, rt, systemic
from oligosim._kernels.state import (
    INF,
    S_PROGRESSION_DEATH,
    S_RT_END,
    S_RT_START,
    S_SCAN,
    S_SYMPTOM_SCAN,
    S_WIDESPREAD_DEATH,
    log_event,
)
from oligosim.definitions import estro_eortc_class


@njit(cache=True, inline="always")
def _first_progression(P, W, L, oligo, n_new):
    """PFS, the post-progression death clock, the first-failure pattern and its class."""
    st = W.state[0]
    t = st.t
    st.progressed = True
    st.pfs = t
    st.pfs_event = True
    # post-progression death: a constant hazard from now on, a competing exponential clock;
    # drawn whatever the rate, so that the death stream stays aligned
    W.slot[S_PROGRESSION_DEATH] = t + hazards.exp_time(rng.exponential(W.streams, rng.DEATH), P.death_after_progression)
    st.first_failure = assess.first_failure(L, st.n, oligo, n_new)
    context = codes.PROGRESSING_ON_SYSTEMIC if st.line_on else codes.OFF_SYSTEMIC
    st.estro_first = estro_eortc_class(oligo, st.presentation == codes.INDUCED or st.widespread, True, st.dfi + t, context, 6.0)


@njit(cache=True, inline="always")
def _wants_local(A, st, oligo):
    """Statement 12: local therapy for an oligoprogression, within the arm's policy."""
    if not oligo or st.fistula:
        return False
    if st.timing == codes.RT_AT_PROGRESSION and st.local_courses == 0:
        return True
    if st.extra_courses < A.max_courses:
        if A.progression_local == codes.PROG_OLIGO:
            return True
        if A.progression_local == codes.PROG_OLIGO_SLOW:
            if st.doubling_at_scan >= A.slow_doubling if A.slow_by_growth else st.t - st.last_local >= A.slow_months:
                return True
    return False


@njit(cache=True, inline="always")
def _local_at_progression(P, R, A, W, L):
    """Surgery or ablation where the arm chooses it (model 6.10), an RT course where the dose
    allows, else surgery or ablation (model 6.6-6.7)."""
    st = W.state[0]
    if st.local_courses > 0:
        st.extra_courses += 1
    n_rt, n_alt, dead = rt.plan_progression_course(P, R, A, W, L)
    if dead:
        # a procedure's death (model 6.10): the course ends here, nothing more is planned
        st.cause = codes.DEATH_TREATMENT
        st.over = True
        return
    if n_rt > 0 and W.slot[S_RT_START] == INF and W.slot[S_RT_END] == INF:
        st.course_mode = rt.PLAN_PROGRESSION
        W.slot[S_RT_START] = st.t + P.rt_delay
    elif n_alt > 0:
        # surgery or ablation only: a local course, but no RT
        st.local_courses += 1
        st.last_local = st.t


@njit(cache=True, inline="always")
def no_line_left(A, line):
    """After line ``line`` (0: none yet), can no further systemic line start (model 7.5)?"""
    if not A.next_line:
        return True
    if line >= 3:
        return True
    if line == 2:
        return A.third_line < 0
    return A.second_line < 0


@njit(cache=True, inline="always")
def _local_with_switch(A, st, oligo):
    """An oligoprogression the policy does not treat with the line continued: local therapy as
    well as the next line, if the arm says so and the course limit allows (model 8.4)."""
    return A.local_with_next_line and oligo and not st.fistula and (st.local_courses == 0 or st.extra_courses < A.max_courses)


@njit(cache=True, inline="always")
def _next_line(P, R, A, W, L):
    """Rapid or widespread progression: the line has failed; the next line if there is one."""
    st = W.state[0]
    if st.line_on:
        systemic.stop_line(W)
    if st.fistula:
        return  # no further therapy after a tumour fistula (model 4.8)
    # line 0: the arm started with no systemic line (first_line = "none"), so its "second
    # line" is the first systemic therapy, started at this progression
    # a line the patient is unfit for (model 3.9) is not given; the patient stays at the line
    # reached, so the next progression offers the same line again
    if A.next_line and (st.line == 1 or (st.line == 0 and A.first_line < 0)) and A.second_line >= 0:
        if fitness.fit_for_line(P, W, 2):
            systemic.start_line(P, R, A, W, L, np.int64(2), A.second_line)
    elif A.next_line and st.line == 2 and A.third_line >= 0:
        if fitness.fit_for_line(P, W, 3):
            systemic.start_line(P, R, A, W, L, np.int64(3), A.third_line)


@njit(cache=True, inline="always")
def on_progression(P, R, A, W, L, n_new):
    """A progression at a scan: record it, then decide local or systemic therapy (model 8.4)."""
    st = W.state[0]
    t = st.t
    oligo = assess.oligo_now(W, L)
    log_event(W, t, codes.EV_PROGRESSION, 1 if oligo else 0)
    if not st.progressed:
        _first_progression(P, W, L, oligo, n_new)
    fitness.decline_at_progression(P, W)  # before the decisions, which read the current ECOG (model 3.9)
    if not oligo and not st.widespread:
        st.widespread = True
        st.wpfs = t
        st.wpfs_event = True
        log_event(W, t, codes.EV_WIDESPREAD, 0)
        W.slot[S_WIDESPREAD_DEATH] = t + hazards.exp_time(rng.exponential(W.streams, rng.DEATH), P.death_after_widespread)
    want = _wants_local(A, st, oligo)
    if want and fitness.fit_for_local(P, W):
        _local_at_progression(P, R, A, W, L)
    else:
        _next_line(P, R, A, W, L)
        # not when local therapy was wanted but the patient was unfit for it (already recorded)
        if not want and _local_with_switch(A, st, oligo) and fitness.fit_for_local(P, W):
            _local_at_progression(P, R, A, W, L)
    st.has_baseline = False  # the next scan sets a new baseline
    if st.widespread and not st.line_on and no_line_left(A, st.line):
        # Outcomes are settled (PFS, WPFS, first failure and its class) and nothing is left to
        # decide, so later scans would change no result: stop scheduling them (model 7.5).
        st.palliative = True
        W.slot[S_SCAN] = INF
        W.slot[S_SYMPTOM_SCAN] = INF
