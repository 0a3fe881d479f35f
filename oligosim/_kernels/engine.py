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

from numba import njit

from oligosim import codes
from oligosim._kernels import anchor, diffuse, handlers, hazards, procedure, record, toxicity, uncounted
from oligosim._kernels.inputs import ArmParams
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
    S_PROC_RESUME,
    S_WIDESPREAD_DEATH,
    Outputs,
    Workspace,
    new_lesions,
    new_snapshot,
    new_workspace,
    restore_snapshot,
    save_snapshot,
)

__all__ = ["Outputs", "Workspace", "arm_at", "arm_outputs", "new_lesions", "new_scratch", "new_workspace", "run_drawn", "simulate_arms", "simulate_patient"]


@njit(cache=True, _nrt=False)
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
            record.first_assessment(W, L, uncounted.countable(P, W.state[0], L))
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
        handlers.on_resistance(W, L)
    elif s == S_CONSOLIDATION:
        handlers.on_consolidation(P, R, A, W, L)
    elif s == S_PRIMARY_EVENT:
        handlers.on_primary_event(P, W, L)
    elif s == S_PROC_RESUME:
        procedure.on_resume(W)


@njit(cache=True, _nrt=False)
def simulate_patient(P, R, A, seed, pid, W, lesions, out, j):
    """Simulate patient ``pid`` under arm ``A`` in workspace ``W`` with the lesion slots of
    ``lesions`` (a one-element LESION_DTYPE array) and write row ``j`` of ``out``: the draw
    (:func:`handlers.draw`), then :func:`run_drawn`. For tests and one-off use; the driver runs
    :func:`simulate_arms`, which gives the same rows."""
    n = handlers.draw(P, seed, pid, W, lesions[0])
    run_drawn(P, R, A, W, lesions, out, j, n)


@njit(cache=True, _nrt=False)
def run_drawn(P, R, A, W, lesions, out, j, n):
    """Run the patient just drawn into ``W`` and ``lesions`` (``n`` lesions, -1 if not eligible)
    under arm ``A``, from its entry to death or the horizon, and write row ``j`` of ``out``."""
    L = lesions[0]
    if not handlers.on_entry(P, R, A, W, L, out, j, n):
        return
    st = W.state[0]
    slot = W.slot
    while not st.over:
        s_next, t_next = _next_slot(slot)
        # the hazards' anchor (oligosim._kernels.anchor), set now if there is none, moved to now
        # when a lesion changed; either pass also finds the next symptom
        if st.a_valid:
            tau_sym, sym_i, changed = anchor.check(L, st.n, st.kill, not st.palliative, st, P.death_weight)
            if changed:
                anchor.reanchor(P, W, L, False)
        else:
            tau_sym, sym_i = anchor.reanchor(P, W, L, not st.palliative)
        is_symptom = st.t + tau_sym < t_next
        if is_symptom:
            t_next = st.t + tau_sym
        dt = t_next - st.t
        if dt < 0.0:
            raise RuntimeError("oligosim engine: an event was scheduled in the past")
        # the diffuse disease's death clock (model 4.9): inf unless it fires before t_next. The
        # compartment is ABSENT for every patient when the mechanism is off (P.dz[0].on), and for
        # most when on: testing that here spares a call per event (death_time and advance do
        # nothing else when it is absent)
        dif_on = st.dif_state != diffuse.ABSENT
        tau_dif = INF
        if dif_on:
            tau_dif = diffuse.death_time(P, W, dt)
        dif_death = tau_dif < dt
        if dif_death:
            dt = tau_dif
            t_next = st.t + dt
            is_symptom = False
        # continuous hazards up to t_next, from the anchor: summed only when one may cross its
        # threshold, and searched from the anchor when one does; otherwise they keep
        # accumulating from it
        known, s_seed, s_death = anchor.to_next(P, W, L, t_next)
        if known:
            if st.h_seed + s_seed >= st.e_seed or st.h_death + s_death >= st.e_death:
                handlers.on_crossing(P, R, W, L, t_next - st.a_t, s_seed, s_death)
                continue
            if P.dz[0].eager:  # "every_event": accumulated to the step's end, re-anchored next step
                st.h_seed += s_seed
                st.h_death += s_death
                st.a_valid = False
        hazards.advance(L, st.n, st.kill, st.t, dt, P.eradication_logv, W)
        if dif_on:
            diffuse.advance(P, W, dt)
        st.t = t_next
        if dif_death:
            handlers.finish_disease(W, codes.DISEASE_DEATH_DIFFUSE)
            continue
        if is_symptom:
            handlers.on_symptom(P, W, L, sym_i)
            continue
        slot[s_next] = INF
        _dispatch(P, R, A, W, L, s_next)
        toxicity.update_window(P, W)
    handlers.close(W, out, j)
    record.on_close(W, out, j)


# ----------------------------------------------------------------------------- many patients, every arm


@njit(cache=True, inline="always")
def arm_at(S, k):
    """Arm ``k`` of the ArmSet ``S`` (``inputs.stack_arms``) as the ArmParams it was stacked from."""
    # one argument per ArmParams field, in order (numba cannot unpack a generated tuple here);
    # tests/test_multi_arm.py round-trips every field, so a field added without a line fails
    return ArmParams(
        S[0][k], S[1][k], S[2][k], S[3][k], S[4][k], S[5][k], S[6][k], S[7][k], S[8][k], S[9][k],
        S[10][k], S[11][k], S[12][k], S[13][k], S[14][k], S[15][k], S[16][k], S[17][k], S[18][k],
        S[19][k], S[20][k], S[21][k], S[22][k], S[23][k], S[24][k], S[25][k], S[26][k], S[27][k],
        S[28][k], S[29][k], S[30][k], S[31][k], S[32][k], S[33][k], S[34][k], S[35][k], S[36][k],
        S[37][k], S[38][k]
    )


@njit(cache=True, inline="always")
def arm_outputs(out, k):
    """Arm ``k``'s Outputs: views of row ``k`` of each array of ``out``, whose arrays carry the
    arm as their first axis."""
    return Outputs(
        out[0][k], out[1][k], out[2][k], out[3][k], out[4][k], out[5][k], out[6][k], out[7][k],
        out[8][k], out[9][k], out[10][k], out[11][k], out[12][k], out[13][k], out[14][k],
        out[15][k], out[16][k], out[17][k], out[18][k], out[19][k], out[20][k], out[21][k],
        out[22][k], out[23][k], out[24][k], out[25][k], out[26][k], out[27][k], out[28][k],
        out[29][k], out[30][k], out[31][k], out[32][k], out[33][k], out[34][k], out[35][k],
        out[36][k], out[37][k], out[38][k], out[39][k]
    )


# nogil, not parallel=True: the driver (oligosim.simulate) runs pieces of the patients on Python
# threads, each call holding no GIL. numba's parallel loop compiled the whole engine again into its
# gufunc: 370 of the first compile's 450 s (numba 0.68, 2026-12-07), for no speed. No NRT either:
# the driver allocates the scratch memory, so no call below counts references to the arrays.
@njit(cache=True, nogil=True, _nrt=False)
def simulate_arms(P, R, S, seed, first_patient, out, lo, hi, W, lesions, snap):
    """Simulate patients ``first_patient + j``, for j in ``range(lo, hi)``, under every arm of
    ``S`` (an ArmSet of K arms); arm ``k``'s results go to row j of ``arm_outputs(out, k)``
    (every array of ``out`` has shape ``(K, rows, ...)``), in the scratch memory ``W``,
    ``lesions`` and ``snap`` (:func:`new_scratch`; one set per thread).

    Each patient is drawn once (:func:`handlers.draw`: the cohort is about half of a patient's
    time), kept in the :class:`~oligosim._kernels.state.Snapshot` ``snap`` and started from it
    in every arm: the draw depends only on (seed, patient index, model inputs), never on the arm,
    so every arm gets exactly the patient it would have drawn itself. The call releases the GIL,
    so the driver runs disjoint ranges on several threads at once; each patient's results depend
    only on (seed, patient index, inputs), so the output is bit-identical for any thread count,
    range split or set of arms run together.
    """
    n_arms = S[0].shape[0]
    for j in range(lo, hi):
        n_lesions = handlers.draw(P, seed, first_patient + j, W, lesions[0])
        if n_arms > 1:
            save_snapshot(W, lesions, snap)
        for k in range(n_arms):
            if k > 0:
                restore_snapshot(snap, W, lesions)
            run_drawn(P, R, arm_at(S, k), W, lesions, arm_outputs(out, k), j, n_lesions)


def new_scratch(P, out):
    """The scratch memory of one thread's :func:`simulate_arms` calls for ``P`` and ``out``:
    (workspace, lesions, snapshot)."""
    return new_workspace(P.max_lesions, out.lc_time.shape[2], out.ev_time.shape[2]), new_lesions(P.max_lesions), new_snapshot()
