"""Lazy integration of the continuous hazards: integrate only when a threshold may be crossed.

The seeding and disease-death hazards are sums of exponentials in time (:mod:`hazards`), fixed by
the lesions' volumes at one time and their net growth rates. Most events of a patient's course
(scans that find nothing new, toxicity checks, the end of an induction when no rate changes)
change neither the rates nor the lesion set, so the hazards need not be integrated at each of
them. The event loop keeps an **anchor**: the time ``st.a_t`` at which the volumes ``L.vol``, the
rates ``L.a_r``, the lethality weights ``L.a_w`` and the active set ``L.a_on`` were taken, with the
hazards accumulated up to it in ``st.h_seed``, ``st.h_death``. From the anchor,

    H(tau) = sum_i c_i v_i (exp(r_i tau) - 1) / r_i  <=  (sum_i c_i v_i) phi(r_max, tau),

``phi(r, tau) = (exp(r tau) - 1) / r`` being increasing in ``r``: one exponential bounds both
hazards up to the next event. Only when the bound reaches a threshold is the exact sum taken
(one pass, :func:`to_next`); only when that reaches it is the crossing searched, from the anchor
too (``hazards.crossing`` on the anchor's volumes, rates and weights, inside the bracket from the
current time to the next event). A step that changes
a lesion (status, ln volume other than by the loop's own growth, net rate, organ weight) or the
slot count moves the anchor to the current time (:func:`reanchor`): the change is found by
comparing every slot with what the anchor and the loop itself wrote (:func:`check`), so a handler
that changes a lesion needs no flag of its own.

The volumes and hazards are the same functions of time as when they are integrated at every
event; only the rounding of the accumulated hazards differs (sums over longer intervals), so a
threshold crossing can move by about 1e-13 months. ``simulation.hazard_integration =
"every_event"`` (``P.dz[0].eager``) integrates at every event, as the kernel did before
2026-12-07: the bound is not used, every step re-anchors and adds the step's exact sums (with the
crossing search of that day's kernel, bit-identical to the code before the anchor; with Halley's
search since, to rounding).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim._kernels import cohort as C
from oligosim._kernels.hazards import _integral, em1
from oligosim._kernels.lesres import kill_of
from oligosim._kernels.state import INF

#: relative margin on the bound: the exact sum in floating point may exceed the bound's value
#: by rounding when every rate equals the largest, and a step the bound lets pass must not end
#: with an accumulated hazard past its threshold
_MARGIN = 1.0 + 1e-9


@njit(cache=True, inline="always")
def _symptom(best, which, i, x, sym, r):
    """The earlier of the next symptom so far (``best`` months, lesion ``which``) and lesion
    ``i``'s (ln volume ``x``, symptom size ``sym``, net rate ``r``); one already past its
    symptom size is due now."""
    if best > 0.0:
        if x >= sym:
            return 0.0, i
        if r > 0.0:
            tau = (sym - x) / r
            if tau < best:
                return tau, i
    return best, which


@njit(cache=True, _nrt=False)
def check(L, n, kill, symptoms, st, death_weight):
    """One pass over the lesion slots at the start of a step.

    Returns ``(tau_sym, i_sym, changed)``: the months until the next lesion reaches its symptom
    size and its index (inf, -1 if none or if ``symptoms`` is False), and whether any slot differs from the anchor: a lesion that became active or
    inactive, whose ln volume is not the one the loop last wrote (``L.a_x``), whose net growth
    rate or organ weight changed, or a slot count other than the anchor's.
    """
    changed = n != st.a_n
    best = INF
    which = -1
    for i in range(n):
        if L.status[i] != C.ACTIVE:
            if L.a_on[i]:
                changed = True
            continue
        r = L.growth[i] - kill_of(L, i, kill)
        if not L.a_on[i] or L.logv[i] != L.a_x[i] or r != L.a_r[i] or death_weight[L.organ[i]] != L.a_w[i]:
            changed = True
        if symptoms and not L.symptomatic[i]:
            best, which = _symptom(best, which, i, L.logv[i], L.sym_logv[i], r)
    return best, which, changed


@njit(cache=True, _nrt=False)
def since(L, n, tau, seeding_rate, propensity, death_rate):
    """Seeding and death hazards accumulated over ``tau`` months from the anchor: sums over the
    anchor's active set of ``vol (exp(r tau) - 1) / r`` (``hazards._integral``), with the anchor's
    volumes, net rates and organ weights, times the seeding rate and propensity, and the death
    rate (1/month each); ``n`` slots."""
    seed = 0.0
    death = 0.0
    for i in range(n):
        if L.a_on[i]:
            v, _ = _integral(L.vol[i], L.a_r[i], tau)
            seed += v
            death += v * L.a_w[i]
    return seed * seeding_rate * propensity, death * death_rate


@njit(cache=True, _nrt=False)
def reanchor(P, W, L, symptoms):
    """Move the anchor to the current time: add the hazards accumulated since the old anchor (if
    it is valid) and take every active lesion's volume, net rate and organ weight now.

    With ``symptoms`` True it also finds the next symptom as :func:`check` does (the loop's one
    pass over the slots when no anchor is set) and returns it; else it returns ``(inf, -1)``.
    """
    st = W.state[0]
    if st.a_valid and st.t > st.a_t:
        s, d = since(L, st.a_n, st.t - st.a_t, P.seeding_rate, st.propensity, P.death_rate)
        st.h_seed += s
        st.h_death += d
    sum_v = 0.0
    sum_wv = 0.0
    rmax = -INF
    best = INF
    which = -1
    for i in range(st.n):
        on = L.status[i] == C.ACTIVE
        L.a_on[i] = on
        if on:
            x = L.logv[i]
            v = math.exp(x)
            r = L.growth[i] - kill_of(L, i, st.kill)
            w = P.death_weight[L.organ[i]]
            L.vol[i] = v
            L.a_x[i] = x
            L.a_r[i] = r
            L.a_w[i] = w
            sum_v += v
            sum_wv += w * v
            if r > rmax:
                rmax = r
            if symptoms and not L.symptomatic[i]:
                best, which = _symptom(best, which, i, x, L.sym_logv[i], r)
    st.a_n = st.n
    st.a_t = st.t
    st.a_valid = True
    st.a_seed = sum_v * P.seeding_rate * st.propensity
    st.a_death = sum_wv * P.death_rate
    st.a_rmax = rmax
    return best, which


@njit(cache=True, inline="always")
def _phi(r, tau):
    """(exp(r tau) - 1) / r, months: the integral of exp(r s) over [0, tau] (tau at r = 0)."""
    if abs(r * tau) < 1e-10:
        return tau * (1.0 + 0.5 * r * tau)
    return em1(r * tau) / r


@njit(cache=True, _nrt=False)
def to_next(P, W, L, t_next):
    """The seeding and death hazards from the anchor to ``t_next``, when either may reach its
    threshold: ``(known, seed, death)``.

    ``known`` is False when the bound from the anchor shows that neither can (``seed``, ``death``
    are then NaN and need not be computed); otherwise they are the exact sums of :func:`since`
    over ``t_next - st.a_t`` months. Always known when hazards are integrated at every event
    (``P.dz[0].eager``; the anchor is then at the current time).
    """
    st = W.state[0]
    tau = t_next - st.a_t
    if not P.dz[0].eager:
        if st.a_rmax == -INF:  # nothing active: no hazard at all
            return False, math.nan, math.nan
        b = _phi(st.a_rmax, tau) * _MARGIN
        # written so that a NaN bound (0 x inf) falls through to the exact sum
        if st.h_seed + st.a_seed * b < st.e_seed and st.h_death + st.a_death * b < st.e_death:
            return False, math.nan, math.nan
    s, d = since(L, st.a_n, tau, P.seeding_rate, st.propensity, P.death_rate)
    return True, s, d
