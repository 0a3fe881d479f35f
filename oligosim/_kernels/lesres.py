"""Acquired resistance lesion by lesion, in the kernel (model 5.3).

With a regimen's ``resistance_sdlog_between_lesions`` (``R.resistance_sdlog_lesions``) above 0,
a patient whose disease acquires resistance to the line (neither a durable responder nor
primarily resistant) does not lose the line's kill in every lesion at once: lesion ``i`` resists
at its own time

    t_i = t_0 + (t_pat - t_0) exp(sigma z_i),

``t_0`` the line's start, ``t_pat`` the patient's lognormal resistance time (drawn as with
patient-level resistance, from the RESPONSE stream, so it is unchanged) and ``z_i`` a standard
normal from the LESION_RESISTANCE stream. The patient's time is thus the median lesion's. A
resistant lesion grows at its own rate ``g``; the others keep the kill in force (induction,
maintenance, the anti-PD-1 component while chemotherapy is paused), so a line can fail in a few
lesions and still control the rest: oligoprogression under systemic therapy.

* Draws: at the line's start, one normal per active lesion in slot order (the aggregate beyond
  the cap excluded); a lesion created during the line (seeding, a colony) draws its own when it
  is made. The stream is used by nothing else, so no other draw moves.
* The aggregate beyond the cap and the diffuse compartment stand for many deposits: they resist
  at ``t_pat``, the median lesion's time.
* The resistance event slot ``S_RESISTANCE`` holds the next lesion's time (or ``t_pat`` while
  the aggregates are sensitive). When no sensitive lesion is left and ``t_pat`` has passed, the
  patient has resisted: ``st.resisted`` becomes True (the line kills nothing, as other code
  expects), one ``EV_RESISTANCE`` is logged then, and lesions made later resist from the start.
  Single lesions' resistance is not logged.
* With sigma 0 nothing here runs but clearing the flags (``st.lres_on`` stays False): every result is bit-identical to
  patient-level resistance (a flag of 0 gives the kill unchanged).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import rng
from oligosim._kernels.state import INF, S_RESISTANCE, log_event


@njit(cache=True, inline="always")
def kill_of(L, i, kill):
    """Kill rate (1/month) acting on lesion ``i`` when ``kill`` is in force: 0 once it resists."""
    return 0.0 if L.resistant[i] else kill


@njit(cache=True, inline="always")
def diffuse_kill(st):
    """Kill rate (1/month) acting on the diffuse compartment: 0 from the patient's time on.
    (A flag, not only an infinite time, marks the mechanism off, so that a state record filled
    with zeros, as tests build by hand, is off too.)"""
    return 0.0 if (st.lres_on and st.t >= st.lres_tpat) else st.kill


@njit(cache=True, inline="always")
def reset(W):
    """A new patient: resistance is patient-level (every lesion slot it uses was made by
    :func:`oligosim._kernels.cohort.clear_slot`, which clears the lesion's flag)."""
    st = W.state[0]
    st.lres_on = False
    st.lres_t0 = 0.0
    st.lres_tpat = INF


@njit(cache=True, inline="always")
def _lesion_time(R, W):
    """A new lesion's resistance time (months) on the line in force."""
    st = W.state[0]
    z = rng.std_normal_ppf(rng.uniform(W.streams, rng.LESION_RESISTANCE))
    return st.lres_t0 + (st.lres_tpat - st.lres_t0) * math.exp(R.resistance_sdlog_lesions[st.reg] * z)


@njit(cache=True, _nrt=False)
def next_time(W, L):
    """The next resistance time (months): the earliest sensitive active lesion's, or the
    patient's while it is still ahead; inf when nothing is left to resist."""
    st = W.state[0]
    t = st.lres_tpat if st.t < st.lres_tpat else INF
    for i in range(st.n):
        if L.status[i] == C.ACTIVE and not L.resistant[i] and L.resist_at[i] < t:
            t = L.resist_at[i]
    return t


@njit(cache=True, _nrt=False)
def on_line_start(P, R, W, L, reg, t_res):
    """A line with regimen ``reg`` starts now; ``t_res`` is the patient's resistance time
    (inf for durable responders and primary resistance). Clears every flag; with the regimen's
    spread above 0 and a finite ``t_res``, draws each active lesion's time. Returns the time
    to put in the resistance slot."""
    st = W.state[0]
    st.lres_on = False
    st.lres_tpat = INF
    for i in range(st.n):
        L.resistant[i] = 0
        L.resist_at[i] = INF
    if t_res == INF or R.resistance_sdlog_lesions[reg] <= 0.0:
        return t_res
    st.lres_on = True
    st.lres_t0 = st.t
    st.lres_tpat = t_res
    for i in range(st.n):
        if L.status[i] != C.ACTIVE:
            continue
        if i == P.max_lesions:  # the aggregate beyond the cap: the median lesion's time
            L.resist_at[i] = t_res
        else:
            L.resist_at[i] = _lesion_time(R, W)
        L.resistant[i] = L.resist_at[i] <= st.t
    return next_time(W, L)


@njit(cache=True, _nrt=False)
def on_new(R, W, L, i):
    """Lesion ``i`` was just made (seeding, a colony; :func:`oligosim._kernels.cohort.clear_slot`
    left it sensitive): with per-lesion resistance in force, its drawn time (resistant at once if
    the patient has resisted or the time has passed; else the resistance slot moves to it if it
    is the next)."""
    st = W.state[0]
    if not st.lres_on:
        return
    if st.resisted:
        L.resistant[i] = 1
        return
    L.resist_at[i] = _lesion_time(R, W)
    if L.resist_at[i] <= st.t:
        L.resistant[i] = 1
    elif L.resist_at[i] < W.slot[S_RESISTANCE]:
        W.slot[S_RESISTANCE] = L.resist_at[i]


@njit(cache=True, inline="always")
def aggregate_start(st, L, a):
    """The aggregate beyond the cap (slot ``a``) starts now: it resists at the patient's time
    (inf when resistance is patient-level; the resistance slot is never later than that time
    while it is ahead, so it needs no booking)."""
    L.resist_at[a] = st.lres_tpat if st.lres_on else INF
    L.resistant[a] = st.lres_on and st.t >= st.lres_tpat


@njit(cache=True, _nrt=False)
def on_resistance(W, L):
    """The resistance slot fired with per-lesion resistance in force: the lesions whose time has
    come resist; the next time is booked, or, nothing being left, the patient has resisted."""
    st = W.state[0]
    for i in range(st.n):
        if L.status[i] == C.ACTIVE and not L.resistant[i] and L.resist_at[i] <= st.t:
            L.resistant[i] = 1
    t = next_time(W, L)
    if t < INF:
        W.slot[S_RESISTANCE] = t
        return
    log_event(W, st.t, codes.EV_RESISTANCE, st.reg)
    st.resisted = True
    st.kill = 0.0


@njit(cache=True, inline="always")
def off(W):
    """The line has ended or stopped: per-lesion resistance no longer applies."""
    st = W.state[0]
    st.lres_on = False
    st.lres_tpat = INF
