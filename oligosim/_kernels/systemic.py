"""Systemic therapy in the kernel: starting and stopping a line and scheduling its events.

A line has an induction phase (cycles x cycle length), optional maintenance, an acquired
resistance time unless the patient is a durable responder, and grade >= 3 toxicities at
uniform times during induction, or, for types given per cycle, in the cycle a geometric draw
picks (:mod:`oligosim._kernels.cycletox`; model 5).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import cycletox, lesres, oar, rng, toxicity
from oligosim.radiobiology import core as rb
from oligosim._kernels.state import (
    INF,
    N_SYSTEMIC_TOX,
    S_CONSOLIDATION,
    S_INDUCTION_END,
    S_MAINTENANCE_END,
    S_PROC_RESUME,
    S_RESISTANCE,
    S_TOX,
    log_event,
)


#: how a patient's disease answers a line (model 5.3)
DURABLE, ACQUIRED_RESISTANCE, PRIMARY_RESISTANCE = 0, 1, 2


@njit(cache=True, inline="always")
def response_class(u, durable, primary):
    """How the disease answers a line, from the line's first RESPONSE uniform ``u``: durable
    responders at the bottom of the unit interval, primary resistance at the top, acquired
    resistance after a lognormal time in between; so a primary-resistance share of 0 leaves
    every other patient's draws and fate unchanged (common random numbers)."""
    if u < durable:
        return DURABLE
    if u >= 1.0 - primary:
        return PRIMARY_RESISTANCE
    return ACQUIRED_RESISTANCE


@njit(cache=True, _nrt=False)
def arm_toxicity(slot, tox_time):
    """Point the toxicity slot at the earliest pending toxicity of the current line."""
    tmin = INF
    for k in range(N_SYSTEMIC_TOX):
        if tox_time[k] < tmin:
            tmin = tox_time[k]
    slot[S_TOX] = tmin


@njit(cache=True, _nrt=False)
def line_kill(R, reg, maintenance, pdl1_high):
    """Log-kill rate (1/month) of regimen ``reg`` in induction or maintenance."""
    k = R.maintenance_kill[reg] if maintenance else R.kill[reg]
    return k * (R.pdl1_multiplier[reg] if pdl1_high else 1.0)


@njit(cache=True, _nrt=False)
def paused_kill(R, reg, pdl1_high):
    """Log-kill rate (1/month) of regimen ``reg`` while its chemotherapy waits for an RT course:
    its anti-PD-1 component alone (model 5.4)."""
    return R.paused_kill[reg] * (R.pdl1_multiplier[reg] if pdl1_high else 1.0)


@njit(cache=True, _nrt=False)
def start_line(P, R, A, W, L, line, reg):
    """Start line ``line`` (1, 2 or 3) with regimen ``reg``: its kill rate and its events.

    Callers pass ``line`` as ``np.int64``: a literal constant makes numba compile one version of
    this function (and of everything inlined into it) per line number.

    The draws are made in a fixed number per line (2 for resistance, 2 per toxicity slot) so
    that the streams stay aligned whatever happens. A first line that starts while an RT
    course pauses chemotherapy kills only by its anti-PD-1 component until the course ends.
    """
    st = W.state[0]
    slot = W.slot
    t = st.t
    st.line = line
    st.reg = reg
    st.resisted = False
    st.line_on = True
    st.kill_line = line_kill(R, reg, False, st.pdl1_high)
    st.kill = paused_kill(R, reg, st.pdl1_high) if (st.paused and R.chemo[reg] and line == 1) else st.kill_line
    dur = R.cycles[reg] * R.cycle[reg]
    slot[S_INDUCTION_END] = t + dur
    slot[S_MAINTENANCE_END] = INF
    u1 = rng.uniform(W.streams, rng.RESPONSE)
    u2 = rng.uniform(W.streams, rng.RESPONSE)
    response = response_class(u1, R.durable[reg], R.primary_resistance[reg])
    primary = response == PRIMARY_RESISTANCE
    if response != ACQUIRED_RESISTANCE:
        slot[S_RESISTANCE] = INF
    else:
        slot[S_RESISTANCE] = t + R.resistance_median[reg] * math.exp(R.resistance_sdlog[reg] * rng.std_normal_ppf(u2))
    # per-lesion resistance (model 5.3): each lesion's own time, when the regimen spreads them
    slot[S_RESISTANCE] = lesres.on_line_start(P, R, W, L, reg, slot[S_RESISTANCE])
    z_line = 0.0
    odds = oar.patient_odds(P, st)  # older or less fit patients: higher odds (statement 10)
    for k in range(N_SYSTEMIC_TOX):
        u = rng.uniform(W.streams, rng.TOXICITY)
        v = rng.uniform(W.streams, rng.TOXICITY)
        if k == codes.LEUKOPENIA:
            z_line = rng.std_normal_ppf(u)  # the line's susceptibility: leukopenia's latent deviate
        elif k < codes.GRADE5_SLOT:
            # toxicities cluster in the same patients (a Gaussian copula, model 9)
            u = toxicity.correlated_uniform(z_line, u, toxicity.line_correlation(P, k))
        if R.cycle_tox_on[reg, k]:
            # given per cycle (model 5.5): the same two uniforms pick the cycle and the time in it
            pc = rb.odds_scaled(R.cycle_tox[reg, k], odds)
            W.tox_time[k] = cycletox.event_time(pc, u, v, t, R.cycle[reg], cycletox.n_cycles(R, reg))
            continue
        p = rb.odds_scaled(R.grade5[reg] if k == codes.GRADE5_SLOT else R.tox[reg, k], odds)
        W.tox_time[k] = t + v * dur if u < p else INF
    arm_toxicity(slot, W.tox_time)
    if line == 1 and A.rt_timing == codes.RT_CONSOLIDATIVE:
        slot[S_CONSOLIDATION] = t + A.consolidative_cycles * R.cycle[reg]
    if slot[S_PROC_RESUME] < INF and R.chemo[reg]:
        # started while a procedure holds chemotherapy (model 6.10): it waits for the hold's end
        rest = slot[S_PROC_RESUME] - t
        slot[S_INDUCTION_END] += rest
        if slot[S_CONSOLIDATION] < INF:
            slot[S_CONSOLIDATION] += rest
        st.paused = True
        st.kill = paused_kill(R, reg, st.pdl1_high)
    if R.chemo[reg]:
        for i in range(st.n):
            if L.status[i] == C.ACTIVE:
                L.chemo_exposed[i] = True
    st.lines_started += 1
    if line > 1:
        toxicity.close_window_now(W)  # a later line is a new therapy (model 9)
    log_event(W, t, codes.EV_LINE_START, reg)
    if primary:  # the line kills nothing from its first day; it goes on until it ends or fails
        log_event(W, t, codes.EV_RESISTANCE, reg)
        st.resisted = True
        st.kill = 0.0


@njit(cache=True, _nrt=False)
def end_line(W):
    """The line has run its course (induction without maintenance, or maintenance over): it no
    longer kills and can no longer become resistant."""
    st = W.state[0]
    st.line_on = False
    st.kill = 0.0
    W.slot[S_RESISTANCE] = INF
    lesres.off(W)


@njit(cache=True, _nrt=False)
def stop_line(W):
    """End the current line: its pending cycles, resistance and toxicities are cancelled."""
    st = W.state[0]
    slot = W.slot
    st.line_on = False
    st.kill = 0.0
    slot[S_INDUCTION_END] = INF
    slot[S_MAINTENANCE_END] = INF
    slot[S_RESISTANCE] = INF
    lesres.off(W)
    slot[S_CONSOLIDATION] = INF
    for k in range(N_SYSTEMIC_TOX):
        W.tox_time[k] = INF
    slot[S_TOX] = INF
    log_event(W, st.t, codes.EV_LINE_STOP, st.reg)
