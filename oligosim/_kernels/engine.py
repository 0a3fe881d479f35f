"""The event loop: one virtual patient from entry to death or the horizon.

State is lesion-level. Between events every lesion's log-volume changes linearly,
``x(t) = x0 + (g - k) t``, where ``g`` is its growth rate and ``k`` the kill rate of the
systemic therapy in force, so volumes are exact exponentials. Two processes have hazards
linear in the volume-weighted burden, ``h(t) = sum_i c_i exp(x_i(t))``:

* seeding of new metastases (``c_i`` = seeding rate x the patient's metastatic propensity),
* disease death (``c_i`` = death rate x the organ's lethality weight),

so their cumulative hazards over an interval are closed-form sums of exponentials, and the time
at which a unit-exponential threshold is crossed is found by a safeguarded Newton iteration.
Scheduled events sit in fixed slots; the next event is the earliest slot, ties broken by the
slot's priority (its index), so an RT course ends before the toxicity check before a scan on
the same day. The loop is written for numba: arrays and scalars only, no allocation.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from oligosim import codes
from oligosim._kernels import rng
from oligosim._kernels import cohort as C
from oligosim._kernels.inputs import (
    PROG_OLIGO,
    PROG_OLIGO_SLOW,
    RT_AT_PROGRESSION,
    RT_CONCURRENT,
    RT_CONSOLIDATIVE,
    RT_UPFRONT,
)
from oligosim.definitions import count_metastases, estro_eortc_class, is_oligometastatic
from oligosim.radiobiology import cumulative_eqd2_nb, ntcp_lkb_nb, tcp_nb

INF = np.inf

# ----------------------------------------------------------------------------- event slots
# The index is the priority among events at the same time.
S_RT_END = 0
S_RT_START = 1
S_TOX = 2
S_SCAN = 3
S_SYMPTOM_SCAN = 4
S_CONSOLIDATION = 5
S_INDUCTION_END = 6
S_MAINTENANCE_END = 7
S_RESISTANCE = 8
S_BACKGROUND_DEATH = 9
S_HORIZON = 10
S_PROGRESSION_DEATH = 11  # disease death by the post-progression hazard
S_WIDESPREAD_DEATH = 12  # disease death by the further hazard after widespread progression
N_SLOTS = 13

# event log codes and death causes: oligosim.codes is their one definition
from oligosim.codes import (  # noqa: E402  (re-exported for the engines)
    ALIVE,
    DEATH_DISEASE,
    DEATH_OTHER,
    DEATH_TREATMENT,
    EV_ALT_LOCAL,
    EV_CENSORED,
    EV_DEATH_DISEASE,
    EV_DEATH_OTHER,
    EV_DEATH_TREATMENT,
    EV_ENTRY,
    EV_INDUCTION_END,
    EV_LINE_START,
    EV_LINE_STOP,
    EV_LOCAL_FAILURE,
    EV_MAINTENANCE_END,
    EV_NEW_LESION,
    EV_PROGRESSION,
    EV_RESISTANCE,
    EV_RT_END,
    EV_RT_START,
    EV_SCAN,
    EV_SYMPTOM,
    EV_TOXICITY,
    EV_WIDESPREAD,
    EVENT_NAMES,
)

# when the first line starts relative to the first RT course
LINE_NONE = -1  #: no line pending
LINE_NOW = -2  #: start at the top of the loop, at the current time
LINE_WITH_RT = -3  #: start with the first fraction (concurrent)
LINE_AFTER_RT = -4  #: start when the course ends (sequential)

N_SYSTEMIC_TOX = codes.N_TOX + 1  #: toxicity slots of a line: the nine types and grade 5
MONTHS_PER_DAY = 12.0 / 365.25


class Lesions(NamedTuple):
    """Struct of arrays, one entry per lesion slot (shape (cap,))."""

    organ: np.ndarray
    subsite: np.ndarray
    status: np.ndarray
    logv: np.ndarray
    growth: np.ndarray
    det_logv: np.ndarray
    sym_logv: np.ndarray
    u_tcp: np.ndarray
    seen: np.ndarray
    symptomatic: np.ndarray
    irradiated: np.ndarray
    chemo_exposed: np.ndarray
    in_course: np.ndarray
    site_eqd2: np.ndarray
    site_time: np.ndarray
    rt_pre_logv: np.ndarray
    lc_slot: np.ndarray
    nadir_d: np.ndarray  #: diameter (cm) at the scan that set the current nadir (0 if unseen)
    exposed_at_start: np.ndarray  #: had chemotherapy before its current RT course began
    fail_time: np.ndarray  #: scratch: in-field failure time found while advancing
    vol: np.ndarray  #: scratch: volume (cm3) at the current time, refreshed every iteration


class Outputs(NamedTuple):
    """Per-patient result columns (first axis: patient within the call)."""

    os: np.ndarray
    os_event: np.ndarray
    pfs: np.ndarray
    pfs_event: np.ndarray
    wpfs: np.ndarray
    wpfs_event: np.ndarray
    death_cause: np.ndarray
    rt_courses: np.ndarray
    local_courses: np.ndarray
    lines: np.ndarray
    tox: np.ndarray  # (n, N_TOX) bool
    first_failure: np.ndarray
    estro_first: np.ndarray
    histology: np.ndarray
    presentation: np.ndarray
    age: np.ndarray
    dfi: np.ndarray
    kps: np.ndarray
    pdl1_high: np.ndarray
    n_visible_entry: np.ndarray
    n_lesions_entry: np.ndarray
    attempts: np.ndarray
    overflow: np.ndarray  # 1 if more lesions seeded than the cap
    lc_time: np.ndarray  # (n, K) months from RT to local failure or censoring
    lc_event: np.ndarray  # (n, K)
    lc_bed: np.ndarray  # (n, K) BED10 of the course
    lc_volume: np.ndarray  # (n, K) cm3 at RT
    lc_n: np.ndarray
    ev_time: np.ndarray  # (n, E)
    ev_code: np.ndarray
    ev_detail: np.ndarray
    ev_n: np.ndarray


@njit(cache=True)
def new_lesions(cap):
    """Allocate a Lesions scratch record for ``cap`` slots."""
    return Lesions(
        np.zeros(cap, np.int64),
        np.zeros(cap, np.int64),
        np.zeros(cap, np.int64),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap, np.bool_),
        np.zeros(cap, np.bool_),
        np.zeros(cap, np.int64),
        np.zeros(cap, np.bool_),
        np.zeros(cap, np.bool_),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap, np.int64),
        np.zeros(cap),
        np.zeros(cap, np.bool_),
        np.full(cap, np.inf),
        np.zeros(cap),
    )


# ----------------------------------------------------------------------------- small pieces


@njit(cache=True, inline="always")
def _log(out, j, t, code, detail):
    k = out.ev_n[j]
    if k < out.ev_time.shape[1]:
        out.ev_time[j, k] = t
        out.ev_code[j, k] = code
        out.ev_detail[j, k] = detail
    out.ev_n[j] = k + 1


@njit(cache=True, inline="always")
def _integral(vol, r, tau):
    """Integral over [0, tau] of vol * exp(r s) ds, and the end value's factor exp(r tau) - 1."""
    em1 = math.expm1(r * tau)
    if abs(r * tau) < 1e-10:
        return vol * tau * (1.0 + 0.5 * r * tau), em1
    return vol * em1 / r, em1


@njit(cache=True, inline="always")
def _exp_time(e, rate):
    """Waiting time (months) of a unit-exponential draw ``e`` at a constant ``rate`` (inf at 0)."""
    return e / rate if rate > 0.0 else INF


@njit(cache=True)
def _burden_integrals(P, L, n, kill, tau, propensity):
    """Cumulative seeding and disease-death hazards over the next ``tau`` months.

    Uses the volumes cached by :func:`_prepare` for the current time.
    """
    seed = 0.0
    death = 0.0
    for i in range(n):
        if L.status[i] == C.ACTIVE:
            v, _ = _integral(L.vol[i], L.growth[i] - kill, tau)
            seed += v
            death += v * P.death_weight[L.organ[i]]
    return seed * P.seeding_rate * propensity, death * P.death_rate


@njit(cache=True)
def _crossing_time(P, L, n, kill, dt, propensity, which, target):
    """Smallest tau in (0, dt] at which a cumulative hazard reaches ``target``.

    ``which`` 0 is seeding, 1 is death. The cumulative hazard H(tau) is a sum of exponentials,
    increasing in tau. Newton's method is applied to log H(tau) - log(target), which is close
    to linear even far from the root (H itself is so curved that Newton on it creeps by about
    1/r months a step), and kept inside a shrinking bracket with bisection as the fallback. The
    result is a point where H has reached the target (to 1e-12 relative) or the bracket's upper
    end once the bracket is narrower than 1e-10 months.
    """
    scale = P.seeding_rate * propensity if which == 0 else P.death_rate
    log_target = math.log(target)
    lo = 0.0
    hi = dt
    # first guess: the current hazard held constant (exact when nothing grows)
    rate0 = 0.0
    for i in range(n):
        if L.status[i] == C.ACTIVE:
            rate0 += (1.0 if which == 0 else P.death_weight[L.organ[i]]) * L.vol[i]
    rate0 *= scale
    tau = target / rate0 if rate0 > 0.0 else 0.5 * dt
    if tau >= dt:
        tau = 0.5 * dt
    for _ in range(200):
        f = 0.0
        fp = 0.0
        for i in range(n):
            if L.status[i] == C.ACTIVE:
                w = 1.0 if which == 0 else P.death_weight[L.organ[i]]
                v, em1 = _integral(L.vol[i], L.growth[i] - kill, tau)
                f += w * v
                fp += w * L.vol[i] * (1.0 + em1)
        f *= scale
        fp *= scale
        if f <= 0.0:
            lo = tau
            tau = 0.5 * (lo + hi)
            continue
        g = math.log(f) - log_target
        if abs(g) <= 1e-12:
            return tau
        if g > 0.0:
            hi = tau
        else:
            lo = tau
        if hi - lo <= 1e-10:
            break
        # Newton on log H: d(log H)/d tau = H' / H
        step = tau - g * f / fp if fp > 0.0 else 0.5 * (lo + hi)
        if step <= lo or step >= hi:
            step = 0.5 * (lo + hi)
        tau = step
    return hi


@njit(cache=True)
def _advance(P, L, n, kill, t0, dt, out, j):
    """Move every lesion ``dt`` months on; record local failures and eradications."""
    found = 0
    for i in range(n):
        if L.status[i] != C.ACTIVE:
            continue
        r = L.growth[i] - kill
        x0 = L.logv[i]
        x1 = x0 + r * dt
        k = L.lc_slot[i]
        if k >= 0 and not out.lc_event[j, k]:
            thr = L.rt_pre_logv[i]
            if x0 < thr <= x1:
                # regrown to its size at RT: in-field failure (lc_time holds the RT time until closed)
                L.fail_time[i] = t0 + (thr - x0) / r
                out.lc_time[j, k] = L.fail_time[i] - out.lc_time[j, k]
                out.lc_event[j, k] = True
                L.lc_slot[i] = -2
                found += 1
        L.logv[i] = x1
        if x1 < P.eradication_logv:
            L.status[i] = C.ERADICATED
    # log the failures of this interval in time order
    for _ in range(found):
        first = -1
        for i in range(n):
            if L.fail_time[i] < INF and (first < 0 or L.fail_time[i] < L.fail_time[first]):
                first = i
        _log(out, j, L.fail_time[first], EV_LOCAL_FAILURE, first)
        L.fail_time[first] = INF


@njit(cache=True)
def _prepare(L, n, kill, symptoms):
    """Cache every active lesion's volume (cm3) at the current time, and find the next symptom.

    Returns the months until the next lesion reaches its symptom size and its index
    (inf, -1 if none or if ``symptoms`` is False).
    """
    best = INF
    which = -1
    for i in range(n):
        if L.status[i] != C.ACTIVE:
            continue
        L.vol[i] = math.exp(L.logv[i])
        if symptoms and not L.symptomatic[i]:
            r = L.growth[i] - kill
            if L.logv[i] >= L.sym_logv[i]:
                if best > 0.0:
                    best = 0.0
                    which = i
            elif r > 0.0 and best > 0.0:
                tau = (L.sym_logv[i] - L.logv[i]) / r
                if tau < best:
                    best = tau
                    which = i
    return best, which


@njit(cache=True)
def _free_slot(L, n, cap):
    for i in range(n):
        if L.status[i] == C.EMPTY or L.status[i] == C.ERADICATED:
            return i, n
    if n < cap:
        return n, n + 1
    return -1, n


@njit(cache=True)
def _set_nadir_diameters(L, n):
    """Remember each lesion's visible diameter at the scan that sets the nadir."""
    for i in range(n):
        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
            L.nadir_d[i] = C.diameter_of_logv(L.logv[i])
        else:
            L.nadir_d[i] = 0.0


@njit(cache=True)
def _scan_interval(P, t):
    if t < 24.0:
        return P.fu_interval[0]
    if t < 60.0:
        return P.fu_interval[1]
    return P.fu_interval[2]


@njit(cache=True)
def _odds_scale(p, odds_ratio):
    if p <= 0.0 or odds_ratio == 1.0:
        return p
    if p >= 1.0:
        return 1.0
    o = p / (1.0 - p) * odds_ratio
    return o / (1.0 + o)


@njit(cache=True)
def _oligo_now(pat, L, n, overflow, buf_organ, buf_subsite):
    """Is the visible disease oligometastatic by the patient's own histology's definition?

    ``overflow`` 2 (uncounted disease beyond the lesion cap, counted at a scan) is polymetastatic.
    """
    if overflow == 2:
        return False
    metachronous = pat[C.PRESENTATION] != codes.SYNCHRONOUS
    m = C.visible_distant(L, n, buf_organ, buf_subsite, metachronous)
    if m == 0:
        return True
    return is_oligometastatic(int(pat[C.HISTOLOGY]), buf_organ, buf_subsite, m, metachronous, False, False, True)


@njit(cache=True)
def _plan_course(A, L, n, mode):
    """Mark the lesions an RT course will treat; returns how many.

    ``mode`` 0: every known lesion the arm irradiates (primary, nodes, metastases);
    1: symptomatic brain and bone lesions only (statement 6); 2: known active lesions at a
    progression. Metastases beyond ``max_irradiated`` are left out, smallest first.
    """
    count = 0
    for i in range(n):
        L.in_course[i] = False
        if L.status[i] != C.ACTIVE or not L.seen[i]:
            continue
        organ = L.organ[i]
        if mode == 1:
            if L.symptomatic[i] and (organ == codes.BRAIN or organ == codes.BONE):
                L.in_course[i] = True
        elif organ == codes.PRIMARY or (organ == codes.REGIONAL_NODE and mode == 0 and A.rt_primary):
            L.in_course[i] = A.rt_primary or mode == 2
        else:
            L.in_course[i] = A.rt_metastases or mode == 2
    # keep the largest distant metastases up to the cap (primary and regional nodes are one field)
    n_met = 0
    for i in range(n):
        if L.in_course[i] and L.organ[i] != codes.PRIMARY and L.organ[i] != codes.REGIONAL_NODE:
            n_met += 1
    while n_met > A.max_irradiated:
        smallest = -1
        for i in range(n):
            if L.in_course[i] and L.organ[i] != codes.PRIMARY and L.organ[i] != codes.REGIONAL_NODE:
                if smallest < 0 or L.logv[i] < L.logv[smallest]:
                    smallest = i
        L.in_course[smallest] = False
        n_met -= 1
    for i in range(n):
        if L.in_course[i]:
            count += 1
    return count


@njit(cache=True)
def _course_months(A, L, n):
    """Overall time of the planned course: the longest schedule, 5 treatment days a week."""
    fx = 0
    for i in range(n):
        if L.in_course[i]:
            k = A.primary_fractions if (L.organ[i] == codes.PRIMARY or L.organ[i] == codes.REGIONAL_NODE) else A.metastasis_fractions
            if k > fx:
                fx = k
    days = (fx + A.fractions_per_day - 1) // A.fractions_per_day
    calendar = (days - 1) // 5 * 7 + (days - 1) % 5 + 1
    return calendar * MONTHS_PER_DAY


# ----------------------------------------------------------------------------- one patient


@njit(cache=True)
def simulate_patient(P, R, A, seed, pid, j, L, pat, buf_organ, buf_subsite, tox_time, state, slot, out):
    """Simulate patient ``pid`` under arm ``A`` and write row ``j`` of ``out``."""
    cap = P.max_lesions
    rng.init_streams(seed, pid, state)
    n = C.draw_patient(P, state, pat, L, buf_organ, buf_subsite)
    out.attempts[j] = pat[C.ATTEMPTS]
    out.ev_n[j] = 0
    out.lc_n[j] = 0
    for k in range(codes.N_TOX):
        out.tox[j, k] = False
    if n < 0:
        out.os[j] = np.nan
        return
    out.histology[j] = pat[C.HISTOLOGY]
    out.presentation[j] = pat[C.PRESENTATION]
    out.age[j] = pat[C.AGE]
    out.dfi[j] = pat[C.DFI]
    out.kps[j] = pat[C.KPS]
    out.pdl1_high[j] = pat[C.PDL1_HIGH] > 0.0
    out.n_lesions_entry[j] = n
    # visible metastases counted as statement 1 counts them (the eligibility count)
    metachronous = pat[C.PRESENTATION] != codes.SYNCHRONOUS
    m = C.visible_distant(L, n, buf_organ, buf_subsite, metachronous)
    out.n_visible_entry[j] = count_metastases(buf_organ, buf_subsite, m, metachronous)[0]
    propensity = pat[C.PROPENSITY]
    pdl1_high = pat[C.PDL1_HIGH] > 0.0
    hist = int(pat[C.HISTOLOGY])
    _log(out, j, 0.0, EV_ENTRY, n)

    for s in range(N_SLOTS):
        slot[s] = INF
    for k in range(N_SYSTEMIC_TOX):
        tox_time[k] = INF
    slot[S_BACKGROUND_DEATH] = pat[C.BG_DEATH]
    slot[S_HORIZON] = P.horizon
    slot[S_SCAN] = P.first_scan

    # treatment state
    line = 0
    lines_started = 0  # differs from line when the arm has no first line (line jumps 0 -> 2)
    reg = -1
    line_on = False
    resisted = False
    kill = 0.0  # current log-kill rate, 1/month
    kill_line = 0.0  # the line's kill rate when active (induction or maintenance)
    paused = False  # chemotherapy paused for an RT course
    course_concurrent = False
    course_mode = 0
    line_after_rt = LINE_NONE  # when the first line starts relative to the RT course
    rt_courses = 0
    local_courses = 0
    extra_courses = 0
    last_local = 0.0
    overflow = 0  # 1: lesions beyond the cap exist, 2: and a scan has counted them
    overflow_at = INF  # when the uncounted disease reaches a visible size (model 4.2)
    progressed = False
    widespread = False
    palliative = False  # widespread with no treatment left: no scan can change any result
    has_baseline = True
    nadir = 0.0
    for i in range(n):
        if L.seen[i]:
            nadir += C.diameter_of_logv(L.logv[i])
    _set_nadir_diameters(L, n)
    e_seed = rng.exponential(state, rng.SEEDING)
    e_death = rng.exponential(state, rng.DEATH)
    h_seed = 0.0
    h_death = 0.0
    t = 0.0

    # ---- initial plan (BRIEF 7)
    timing = A.rt_timing
    if A.local_first and pat[C.PRESENTATION] == codes.METACHRONOUS and pat[C.DFI] > A.dfi_threshold:
        timing = RT_UPFRONT
    first = A.first_line
    line_after_rt = LINE_NOW if first >= 0 else LINE_NONE
    concurrent_plan = timing == RT_CONCURRENT or A.concurrent
    if (timing == RT_UPFRONT or timing == RT_CONCURRENT) and _plan_course(A, L, n, 0) > 0:
        # local therapy first; the course includes any symptomatic lesion the arm irradiates
        course_mode = 0
        slot[S_RT_START] = P.rt_delay
        if first >= 0:
            line_after_rt = LINE_WITH_RT if concurrent_plan else LINE_AFTER_RT
    elif A.urgent and _plan_course(A, L, n, 1) > 0:
        # symptomatic brain or lytic bone disease: RT before systemic therapy (statement 6)
        course_mode = 1
        slot[S_RT_START] = P.rt_delay
        if first >= 0:
            line_after_rt = LINE_AFTER_RT
    result_cause = ALIVE

    while True:
        # ---- start a line if one is due now (at entry, or after an RT course below)
        if line_after_rt == LINE_NOW:
            line_after_rt = LINE_NONE
            if first >= 0:
                line = 1
                reg = first
                resisted = False
                line_on = True
                kill_line = R.kill[reg] * (R.pdl1_multiplier[reg] if pdl1_high else 1.0)
                kill = 0.0 if (paused and R.chemo[reg]) else kill_line
                _start_line_events(R, A, reg, t, line, state, slot, tox_time, L, n)
                lines_started += 1
                _log(out, j, t, EV_LINE_START, reg)
        # ---- next scheduled event
        s_next = 0
        t_next = slot[0]
        for s in range(1, N_SLOTS):
            if slot[s] < t_next:
                t_next = slot[s]
                s_next = s
        tau_sym, sym_i = _prepare(L, n, kill, not palliative)
        is_symptom = False
        if t + tau_sym < t_next:
            t_next = t + tau_sym
            is_symptom = True
        dt = t_next - t
        if dt < 0.0:
            raise RuntimeError("oligosim engine: an event was scheduled in the past")
        # ---- continuous hazards inside (t, t_next]
        i_seed, i_death = _burden_integrals(P, L, n, kill, dt, propensity)
        cross_seed = h_seed + i_seed >= e_seed
        cross_death = h_death + i_death >= e_death
        if cross_seed or cross_death:
            tau_s = _crossing_time(P, L, n, kill, dt, propensity, 0, e_seed - h_seed) if cross_seed else INF
            tau_d = _crossing_time(P, L, n, kill, dt, propensity, 1, e_death - h_death) if cross_death else INF
            tau = min(tau_s, tau_d)
            a_seed, a_death = _burden_integrals(P, L, n, kill, tau, propensity)
            _advance(P, L, n, kill, t, tau, out, j)
            t += tau
            if tau_d <= tau_s:
                result_cause = DEATH_DISEASE
                break
            h_seed = 0.0
            h_death += a_death
            e_seed = rng.exponential(state, rng.SEEDING)
            i, n = _free_slot(L, n, cap)
            if i < 0:
                # More lesions than the cap: the patient is marked as having uncounted disease
                # and further seeding, which could change nothing that is simulated, is no longer
                # drawn. The uncounted disease is new disease at the first scan after a lesion
                # seeded now would reach the median detection size growing at the patient's
                # median rate (therapy ignored); counting it at the next scan, as before
                # 2026-11-22, made a full cap an immediate progression (model 4.2).
                overflow = 1
                overflow_at = t + P.overflow_dlogv / pat[C.GROWTH]
                e_seed = INF
            else:
                s = rng.LESION
                organ = codes.METASTATIC_ORGANS[rng.categorical(state, s, P.organ_cum[hist])]
                C.init_lesion(P, state, s, pat, i, organ, P.seed_logv, C.lesion_growth(P, state, s, pat), L)
                L.chemo_exposed[i] = line_on and reg >= 0 and R.chemo[reg]
                _log(out, j, t, EV_NEW_LESION, i)
            continue
        _advance(P, L, n, kill, t, dt, out, j)
        h_seed += i_seed
        h_death += i_death
        t = t_next

        if is_symptom:
            L.symptomatic[sym_i] = True
            _log(out, j, t, EV_SYMPTOM, sym_i)
            if slot[S_SYMPTOM_SCAN] == INF and L.status[sym_i] == C.ACTIVE:
                slot[S_SYMPTOM_SCAN] = t + P.symptom_delay
            continue

        slot[s_next] = INF
        if s_next == S_HORIZON:
            break
        if s_next == S_BACKGROUND_DEATH:
            result_cause = DEATH_OTHER
            break
        if s_next == S_PROGRESSION_DEATH or s_next == S_WIDESPREAD_DEATH:
            result_cause = DEATH_DISEASE
            break

        if s_next == S_RT_START:
            _log(out, j, t, EV_RT_START, course_mode)
            for i in range(n):
                L.exposed_at_start[i] = L.chemo_exposed[i]
            course_concurrent = line_on and reg >= 0 and R.chemo[reg]
            if line_after_rt == LINE_WITH_RT:
                # concurrent chemoradiotherapy: the line starts with the first fraction
                line_after_rt = LINE_NOW
                course_concurrent = R.chemo[first]
            dur = _course_months(A, L, n)
            if course_concurrent and not (A.concurrent or timing == RT_CONCURRENT):
                # sequential strategy: chemotherapy waits for the RT course; anti-PD-1 goes on
                course_concurrent = False
                paused = True
                kill = 0.0
                if slot[S_INDUCTION_END] < INF:
                    slot[S_INDUCTION_END] += dur
                if slot[S_CONSOLIDATION] < INF:
                    slot[S_CONSOLIDATION] += dur
            slot[S_RT_END] = t + dur

        elif s_next == S_RT_END:
            _log(out, j, t, EV_RT_END, course_mode)
            dead = _deliver_course(P, R, A, L, n, t, reg, line_on, course_concurrent, state, out, j)
            rt_courses += 1
            local_courses += 1
            last_local = t
            if paused:
                paused = False
                kill = 0.0 if (resisted or not line_on) else kill_line
            if dead:
                result_cause = DEATH_TREATMENT
                break
            if line_after_rt == LINE_AFTER_RT:
                line_after_rt = LINE_NOW

        elif s_next == S_TOX:
            k = 0
            for q in range(1, N_SYSTEMIC_TOX):
                if tox_time[q] < tox_time[k]:
                    k = q
            tox_time[k] = INF
            _arm_toxicity(slot, tox_time)
            if k == codes.N_TOX:
                result_cause = DEATH_TREATMENT
                break
            out.tox[j, k] = True
            _log(out, j, t, EV_TOXICITY, k)
            if line_on:
                if k <= codes.THROMBOCYTOPENIA:
                    # a cytopenia delays the next cycles
                    if slot[S_INDUCTION_END] < INF:
                        slot[S_INDUCTION_END] += P.tox_delay
                    if slot[S_CONSOLIDATION] < INF:
                        slot[S_CONSOLIDATION] += P.tox_delay
                if rng.uniform(state, rng.TOXICITY) < P.discontinue_p:
                    line_on = False
                    kill = 0.0
                    _stop_line(slot, tox_time)
                    _log(out, j, t, EV_LINE_STOP, reg)

        elif s_next == S_INDUCTION_END:
            _log(out, j, t, EV_INDUCTION_END, reg)
            if R.maintenance[reg] > 0.0:
                kill_line = R.maintenance_kill[reg] * (R.pdl1_multiplier[reg] if pdl1_high else 1.0)
                if not resisted:
                    kill = kill_line
                slot[S_MAINTENANCE_END] = t + R.maintenance[reg]
            else:
                line_on = False
                kill = 0.0
                slot[S_RESISTANCE] = INF

        elif s_next == S_MAINTENANCE_END:
            _log(out, j, t, EV_MAINTENANCE_END, reg)
            line_on = False
            kill = 0.0
            slot[S_RESISTANCE] = INF

        elif s_next == S_RESISTANCE:
            _log(out, j, t, EV_RESISTANCE, reg)
            resisted = True
            kill = 0.0

        elif s_next == S_CONSOLIDATION:
            # restaging after N cycles: consolidative RT if no progression so far
            if not progressed and slot[S_RT_END] == INF and slot[S_RT_START] == INF:
                if _plan_course(A, L, n, 0) > 0:
                    course_mode = 0
                    slot[S_RT_START] = t + P.rt_delay

        elif s_next == S_SCAN or s_next == S_SYMPTOM_SCAN:
            if s_next == S_SCAN:
                slot[S_SCAN] = t + _scan_interval(P, t)
            _log(out, j, t, EV_SCAN, s_next)
            # ---- what the scan shows (RECIST 1.1: a new lesion, or >= 20% and >= 5 mm growth)
            total = 0.0
            n_new = 0
            for i in range(n):
                if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
                    total += C.diameter_of_logv(L.logv[i])
                    if not L.seen[i]:
                        n_new += 1
                        L.seen[i] = True
            if overflow == 1 and t >= overflow_at:
                n_new += 1  # uncounted lesions beyond the cap, now of visible size: new disease, seen once
                overflow = 2
            grew = has_baseline and total >= nadir * (1.0 + P.recist_growth) and total - nadir >= P.recist_min_cm
            if not has_baseline or (not (n_new > 0 or grew) and total < nadir):
                nadir = total
                has_baseline = True
                _set_nadir_diameters(L, n)
            if not (n_new > 0 or grew):
                continue
            # ---- progression
            oligo = _oligo_now(pat, L, n, overflow, buf_organ, buf_subsite)
            _log(out, j, t, EV_PROGRESSION, 1 if oligo else 0)
            if not progressed:
                progressed = True
                out.pfs[j] = t
                out.pfs_event[j] = True
                # post-progression death: a constant hazard from now on, a competing exponential
                # clock; drawn whatever the rate, so that the death stream stays aligned
                slot[S_PROGRESSION_DEATH] = t + _exp_time(rng.exponential(state, rng.DEATH), P.death_after_progression)
                # growth without new lesions is in field when the lesion that grew most since
                # the nadir had been irradiated
                in_field = False
                if n_new == 0:
                    most = -1
                    most_growth = -INF
                    for i in range(n):
                        if L.status[i] == C.ACTIVE and L.logv[i] >= L.det_logv[i]:
                            g = C.diameter_of_logv(L.logv[i]) - L.nadir_d[i]
                            if g > most_growth:
                                most_growth = g
                                most = i
                    in_field = most >= 0 and L.irradiated[most] > 0
                if not oligo:
                    out.first_failure[j] = codes.FAIL_WIDESPREAD
                elif in_field:
                    out.first_failure[j] = codes.FAIL_IN_FIELD
                else:
                    out.first_failure[j] = codes.FAIL_OUT_OF_FIELD_OLIGO
                context = codes.PROGRESSING_ON_SYSTEMIC if line_on else codes.OFF_SYSTEMIC
                out.estro_first[j] = estro_eortc_class(
                    oligo, pat[C.PRESENTATION] == codes.INDUCED or widespread, True, pat[C.DFI] + t, context, 6.0
                )
            if not oligo and not widespread:
                widespread = True
                out.wpfs[j] = t
                out.wpfs_event[j] = True
                _log(out, j, t, EV_WIDESPREAD, 0)
                slot[S_WIDESPREAD_DEATH] = t + _exp_time(rng.exponential(state, rng.DEATH), P.death_after_widespread)
            # ---- what the team does (statement 12)
            do_local = False
            if oligo:
                if timing == RT_AT_PROGRESSION and local_courses == 0:
                    do_local = True
                elif extra_courses < A.max_courses:
                    if A.progression_local == PROG_OLIGO:
                        do_local = True
                    elif A.progression_local == PROG_OLIGO_SLOW and t - last_local >= A.slow_months:
                        do_local = True
            if do_local:
                if local_courses > 0:
                    extra_courses += 1
                n_rt, n_alt = _plan_progression_course(P, A, L, n, t, state, out, j)
                if n_rt > 0 and slot[S_RT_START] == INF and slot[S_RT_END] == INF:
                    course_mode = 2
                    slot[S_RT_START] = t + P.rt_delay
                elif n_alt > 0:
                    # surgery or ablation only: a local course, but no RT
                    local_courses += 1
                    last_local = t
            else:
                # rapid or widespread progression: the line has failed; next line if any
                if line_on:
                    line_on = False
                    kill = 0.0
                    _stop_line(slot, tox_time)
                    _log(out, j, t, EV_LINE_STOP, reg)
                # line 0: the arm started with no systemic line (first_line = "none"), so its
                # "second line" is the first systemic therapy, started at this progression
                if A.next_line and (line == 1 or (line == 0 and first < 0)) and A.second_line >= 0:
                    line = 2
                    reg = A.second_line
                    resisted = False
                    line_on = True
                    kill_line = R.kill[reg] * (R.pdl1_multiplier[reg] if pdl1_high else 1.0)
                    kill = kill_line
                    _start_line_events(R, A, reg, t, line, state, slot, tox_time, L, n)
                    lines_started += 1
                    _log(out, j, t, EV_LINE_START, reg)
            has_baseline = False
            if widespread and not line_on and (line >= 2 or A.second_line < 0 or not A.next_line):
                # Outcomes are settled (PFS, WPFS, first failure and its class) and nothing is
                # left to decide, so later scans would change no result: stop scheduling them.
                palliative = True
                slot[S_SCAN] = INF
                slot[S_SYMPTOM_SCAN] = INF

    # ---- close the record
    out.os[j] = t
    out.os_event[j] = result_cause != ALIVE
    out.death_cause[j] = result_cause
    if not progressed:
        out.pfs[j] = t
        out.pfs_event[j] = result_cause != ALIVE
        out.first_failure[j] = codes.FAIL_NONE
        out.estro_first[j] = codes.NOT_OLIGO - 1  # no progression
    if not widespread:
        out.wpfs[j] = t
        out.wpfs_event[j] = result_cause != ALIVE
    out.rt_courses[j] = rt_courses
    out.local_courses[j] = local_courses
    out.lines[j] = lines_started
    out.overflow[j] = overflow > 0
    for k in range(out.lc_n[j]):
        if not out.lc_event[j, k]:
            out.lc_time[j, k] = t - out.lc_time[j, k]
    if result_cause == DEATH_DISEASE:
        _log(out, j, t, EV_DEATH_DISEASE, 0)
    elif result_cause == DEATH_OTHER:
        _log(out, j, t, EV_DEATH_OTHER, 0)
    elif result_cause == DEATH_TREATMENT:
        _log(out, j, t, EV_DEATH_TREATMENT, 0)
    else:
        _log(out, j, t, EV_CENSORED, 0)


@njit(cache=True)
def _arm_toxicity(slot, tox_time):
    """Point the toxicity slot at the earliest pending toxicity of the current line."""
    tmin = INF
    for k in range(N_SYSTEMIC_TOX):
        if tox_time[k] < tmin:
            tmin = tox_time[k]
    slot[S_TOX] = tmin


@njit(cache=True)
def _stop_line(slot, tox_time):
    """End the current line: its pending cycles, resistance and toxicities are cancelled."""
    slot[S_INDUCTION_END] = INF
    slot[S_MAINTENANCE_END] = INF
    slot[S_RESISTANCE] = INF
    slot[S_CONSOLIDATION] = INF
    for k in range(N_SYSTEMIC_TOX):
        tox_time[k] = INF
    slot[S_TOX] = INF


@njit(cache=True)
def _start_line_events(R, A, reg, t, line, state, slot, tox_time, L, n):
    """Schedule a line's induction end, resistance, toxicities and consolidation check.

    The draws are made in a fixed number per line (2 for resistance, 2 per toxicity slot) so
    that the stream stays aligned whatever happens.
    """
    dur = R.cycles[reg] * R.cycle[reg]
    slot[S_INDUCTION_END] = t + dur
    slot[S_MAINTENANCE_END] = INF
    u1 = rng.uniform(state, rng.RESPONSE)
    u2 = rng.uniform(state, rng.RESPONSE)
    if u1 < R.durable[reg]:
        slot[S_RESISTANCE] = INF
    else:
        slot[S_RESISTANCE] = t + R.resistance_median[reg] * math.exp(R.resistance_sdlog[reg] * rng.std_normal_ppf(u2))
    for k in range(N_SYSTEMIC_TOX):
        u = rng.uniform(state, rng.TOXICITY)
        v = rng.uniform(state, rng.TOXICITY)
        p = R.grade5[reg] if k == codes.N_TOX else R.tox[reg, k]
        tox_time[k] = t + v * dur if u < p else INF
    _arm_toxicity(slot, tox_time)
    if line == 1 and A.rt_timing == RT_CONSOLIDATIVE:
        slot[S_CONSOLIDATION] = t + A.consolidative_cycles * R.cycle[reg]
    if R.chemo[reg]:
        for i in range(n):
            if L.status[i] == C.ACTIVE:
                L.chemo_exposed[i] = True


@njit(cache=True)
def _plan_progression_course(P, A, L, n, t, state, out, j):
    """Local therapy at a progression: RT where dose allows, else surgery or ablation.

    Returns the number of lesions put in an RT course and the number given another local
    therapy.
    """
    _plan_course(A, L, n, 2)
    n_rt = 0
    n_alt = 0
    for i in range(n):
        if not L.in_course[i]:
            continue
        if L.irradiated[i] > 0:
            months = t - L.site_time[i]
            new = _eqd2_late(P, A, L.organ[i])
            ok = months >= P.reirr_min_interval and cumulative_eqd2_nb(L.site_eqd2[i], months, new, P.recovery_max, P.recovery_half_time) <= P.reirr_limit
            if not ok:
                L.in_course[i] = False
                if A.alternative_local:
                    n_alt += 1
                    _log(out, j, t, EV_ALT_LOCAL, i)
                    if rng.uniform(state, rng.RT) < P.alt_local_control:
                        L.status[i] = C.CONTROLLED
                    else:
                        L.logv[i] -= 2.0 * math.log(10.0)
                continue
        n_rt += 1
    return n_rt, n_alt


@njit(cache=True)
def _schedule(A, organ):
    """(dose per fraction, fractions) for a target in ``organ``."""
    if organ == codes.PRIMARY or organ == codes.REGIONAL_NODE:
        return A.primary_dose / A.primary_fractions, A.primary_fractions
    return A.metastasis_dose / A.metastasis_fractions, A.metastasis_fractions


@njit(cache=True)
def _eqd2_late(P, A, organ):
    d, k = _schedule(A, organ)
    return k * d * (d + P.ab_late) / (2.0 + P.ab_late)


@njit(cache=True)
def _deliver_course(P, R, A, L, n, t, reg, line_on, concurrent, state, out, j):
    """Apply an RT course to its targets; returns True if it caused a treatment death."""
    eso = 0.0
    lung = 0.0
    reirr = False
    for i in range(n):
        if not L.in_course[i]:
            continue
        L.in_course[i] = False
        if L.status[i] != C.ACTIVE:
            continue
        d, k = _schedule(A, L.organ[i])
        bed10 = k * d * (1.0 + d / P.ab_tumour)
        if P.chemo_before_rt and L.exposed_at_start[i]:
            bed10 = max(bed10 - P.chemo_before_rt_loss, 0.0)
        eqd2_late = _eqd2_late(P, A, L.organ[i])
        volume = math.exp(L.logv[i])
        p = tcp_nb(bed10, volume, P.tcp_bed50, P.tcp_gamma50, P.tcp_volume_ref, P.tcp_volume_exponent)
        again = L.irradiated[i] > 0  # re-irradiation (also of a course given before entry)
        # lc_slot: -1 no course yet in the simulation, -2 treated but no open record, >= 0 open
        first_here = L.lc_slot[i] == -1
        # the lesion's own radiosensitivity quantile decides its first course here (common
        # random numbers across arms); later courses draw afresh
        u = L.u_tcp[i] if first_here else rng.uniform(state, rng.RT)
        if first_here:
            L.lc_slot[i] = -2
            q = out.lc_n[j]
            if q < out.lc_time.shape[1]:
                out.lc_time[j, q] = t
                out.lc_event[j, q] = False
                out.lc_bed[j, q] = bed10
                out.lc_volume[j, q] = volume
                out.lc_n[j] = q + 1
                L.lc_slot[i] = q
        L.rt_pre_logv[i] = L.logv[i]
        if u < p:
            L.status[i] = C.CONTROLLED
        else:
            L.logv[i] -= P.uncontrolled_kill * bed10
            if L.logv[i] < P.eradication_logv:
                L.status[i] = C.ERADICATED
        if again:
            reirr = reirr or P.eso_fraction[L.organ[i], L.subsite[i]] > 0.0
            L.site_eqd2[i] = cumulative_eqd2_nb(L.site_eqd2[i], t - L.site_time[i], eqd2_late, P.recovery_max, P.recovery_half_time)
        else:
            L.site_eqd2[i] = eqd2_late
        L.site_time[i] = t
        L.irradiated[i] += 1
        e = eqd2_late * P.eso_fraction[L.organ[i], L.subsite[i]]
        if e > eso:
            eso = e
        lung += eqd2_late * P.lung_fraction[L.organ[i]]
    # ---- RT toxicity of the course (always five draws: keeps the stream aligned)
    io = line_on and reg >= 0 and R.io[reg]
    or_c = P.concurrent_or if concurrent else 1.0
    or_r = P.reirr_or if reirr else 1.0
    p_esoph = _odds_scale(ntcp_lkb_nb(eso, P.esophagitis_td50, P.esophagitis_m), or_c * or_r)
    p_fist = _odds_scale(ntcp_lkb_nb(eso, P.fistula_td50, P.fistula_m), or_c * or_r)
    p_pneu = _odds_scale(ntcp_lkb_nb(lung, P.pneumonitis_td50, P.pneumonitis_m), or_c * (P.io_pneumonitis_or if io else 1.0))
    u_e = rng.uniform(state, rng.TOXICITY)
    u_f = rng.uniform(state, rng.TOXICITY)
    u_p = rng.uniform(state, rng.TOXICITY)
    g_f = rng.uniform(state, rng.TOXICITY)
    g_p = rng.uniform(state, rng.TOXICITY)
    dead = False
    if u_e < p_esoph:
        out.tox[j, codes.ESOPHAGITIS] = True
        _log(out, j, t, EV_TOXICITY, codes.ESOPHAGITIS)
    if u_f < p_fist:
        out.tox[j, codes.FISTULA] = True
        _log(out, j, t, EV_TOXICITY, codes.FISTULA)
        dead = g_f < P.g5_fistula
    if u_p < p_pneu:
        out.tox[j, codes.PNEUMONITIS] = True
        _log(out, j, t, EV_TOXICITY, codes.PNEUMONITIS)
        dead = dead or g_p < P.g5_pneumonitis
    # ---- abscopal response of unirradiated lesions under anti-PD-1 (off by default)
    if io and P.abscopal_p > 0.0:
        if rng.uniform(state, rng.RT) < P.abscopal_p:
            for i in range(n):
                if L.status[i] == C.ACTIVE and L.irradiated[i] == 0:
                    L.logv[i] -= P.abscopal_kill
    return dead


# ----------------------------------------------------------------------------- many patients


@njit(cache=True, parallel=True)
def simulate_block(P, R, A, seed, first_patient, out, block):
    """Simulate patients ``first_patient + j`` for j in range(len(out.os)).

    Patients are split into blocks of ``block`` run in parallel; each block owns its scratch
    memory, and each patient's results depend only on (seed, patient index, inputs), so the
    output is bit-identical for any thread count or block size.
    """
    n = out.os.shape[0]
    nblocks = (n + block - 1) // block
    for b in prange(nblocks):
        L = new_lesions(P.max_lesions)
        pat = np.zeros(C.N_PAT)
        buf_organ = np.zeros(P.max_lesions, np.int64)
        buf_subsite = np.zeros(P.max_lesions, np.int64)
        tox_time = np.zeros(N_SYSTEMIC_TOX)
        state = np.zeros(rng.N_PURPOSES, np.uint64)
        slot = np.zeros(N_SLOTS)
        lo = b * block
        hi = min(lo + block, n)
        for j in range(lo, hi):
            simulate_patient(P, R, A, seed, first_patient + j, j, L, pat, buf_organ, buf_subsite, tox_time, state, slot, out)
