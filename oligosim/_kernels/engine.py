"""The event loop: one virtual patient from entry to death or the horizon, and many in parallel.

The loop is short on purpose: find the next scheduled event (the earliest slot; ties go to the
lower slot index, so an RT course ends before the toxicity check before a scan on the same
day) or the next symptom; integrate the continuous hazards up to it; if seeding or disease
death crosses its threshold first, handle that instead; otherwise move the lesions on and run
the event's handler. What each event does is in :mod:`oligosim._kernels.handlers` (named like
the reference engine's ``Patient.on_*``), the state it works on in
:mod:`oligosim._kernels.state`, lesion growth and hazards in :mod:`oligosim._kernels.hazards`,
radiotherapy in :mod:`oligosim._kernels.rt`, response assessment in
:mod:`oligosim._kernels.assess`, systemic therapy in :mod:`oligosim._kernels.systemic` and the
endpoints recorded beside the course (time to next treatment, RECIST response at the first
assessment) in :mod:`oligosim._kernels.record`.
Written for numba: arrays, records and scalars only, no allocation per patient.
"""

from __future__ import annotations

from numba import njit, prange

from oligosim import codes
from oligosim._kernels import handlers, hazards, record, toxicity
from oligosim._kernels.state import (  # noqa: F401  (Outputs, Workspace: re-exported for the driver)
    INF,
    N_SLOTS,
    S_BACKGROUND_DEATH,
    S_CONSOLIDATION,
    S_HORIZON,
    S_INDUCTION_END,
    S_MAINTENANCE_END,
    S_PROGRESSION_DEATH,
    S_RESISTANCE,
    S_RT_END,
    S_RT_START,
    S_SCAN,
    S_SYMPTOM_SCAN,
    S_TOX,
    S_PRIMARY_EVENT,
    S_WIDESPREAD_DEATH,
    Outputs,
    Workspace,
    new_lesions,
    new_workspace,
)

__all__ = ["Outputs", "Workspace", "new_lesions", "new_workspace", "simulate_block", "simulate_patient"]


@njit(cache=True)
def _next_slot(slot):
    """The earliest scheduled event: (slot index, time); the lower index wins a tie."""
    s_next = 0
    t_next = slot[0]
    for s in range(1, N_SLOTS):
        if slot[s] < t_next:
            t_next = slot[s]
            s_next = s
    return s_next, t_next


@njit(cache=True, inline="always")
def _dispatch(P, R, A, W, L, s):
    """Run the handler of scheduled event kind ``s`` (an S_* slot index)."""
    if s == S_SCAN or s == S_SYMPTOM_SCAN:
        if not W.state[0].recist_done:
            record.first_assessment(W, L)
        n_new = handlers.on_scan(P, A, W, L, s == S_SYMPTOM_SCAN)
        if n_new >= 0:
            handlers.on_progression(P, R, A, W, L, n_new)
    elif s == S_TOX:
        handlers.on_toxicity(P, W)
    elif s == S_HORIZON:
        handlers.finish(W, codes.ALIVE)
    elif s == S_BACKGROUND_DEATH:
        handlers.finish(W, codes.DEATH_OTHER)
    elif s == S_PROGRESSION_DEATH:
        handlers.finish_disease(W, codes.DISEASE_DEATH_AFTER_PROGRESSION)
    elif s == S_WIDESPREAD_DEATH:
        handlers.finish_disease(W, codes.DISEASE_DEATH_AFTER_WIDESPREAD)
    elif s == S_RT_START:
        handlers.on_rt_start(P, R, A, W, L)
    elif s == S_RT_END:
        handlers.on_rt_end(P, R, A, W, L)
    elif s == S_INDUCTION_END:
        handlers.on_induction_end(R, W)
    elif s == S_MAINTENANCE_END:
        handlers.on_maintenance_end(W)
    elif s == S_RESISTANCE:
        handlers.on_resistance(W)
    elif s == S_CONSOLIDATION:
        handlers.on_consolidation(P, A, W, L)
    elif s == S_PRIMARY_EVENT:
        handlers.on_primary_event(P, W, L)


@njit(cache=True)
def simulate_patient(P, R, A, seed, pid, W, lesions, out, j):
    """Simulate patient ``pid`` under arm ``A`` in workspace ``W`` with the lesion slots of
    ``lesions`` (a one-element LESION_DTYPE array) and write row ``j`` of ``out``."""
    L = lesions[0]
    if not handlers.on_entry(P, R, A, seed, pid, W, L, out, j):
        return
    record.on_entry(W, L, out, j)
    st = W.state[0]
    slot = W.slot
    while not st.over:
        s_next, t_next = _next_slot(slot)
        tau_sym, sym_i = hazards.prepare(L, st.n, st.kill, not st.palliative)
        is_symptom = st.t + tau_sym < t_next
        if is_symptom:
            t_next = st.t + tau_sym
        dt = t_next - st.t
        if dt < 0.0:
            raise RuntimeError("oligosim engine: an event was scheduled in the past")
        # continuous hazards inside (t, t_next]
        i_seed, i_death = hazards.burden_integrals(L, P.death_weight, st.n, st.kill, dt, P.seeding_rate, P.death_rate, st.propensity)
        if st.h_seed + i_seed >= st.e_seed or st.h_death + i_death >= st.e_death:
            handlers.on_crossing(P, R, W, L, dt, i_seed, i_death)
            continue
        hazards.advance(L, st.n, st.kill, st.t, dt, P.eradication_logv, W)
        st.h_seed += i_seed
        st.h_death += i_death
        st.t = t_next
        if is_symptom:
            handlers.on_symptom(P, W, L, sym_i)
            continue
        slot[s_next] = INF
        _dispatch(P, R, A, W, L, s_next)
        toxicity.update_window(P, W)
    handlers.close(W, out, j)
    record.on_close(W, out, j)


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
        W = new_workspace(P.max_lesions, out.lc_time.shape[1], out.ev_time.shape[1])
        lesions = new_lesions(P.max_lesions)
        lo = b * block
        hi = min(lo + block, n)
        for j in range(lo, hi):
            simulate_patient(P, R, A, seed, first_patient + j, W, lesions, out, j)
