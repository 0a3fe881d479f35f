"""Lesion growth between events and the two continuous processes it drives.

Between events every lesion's log-volume changes linearly, ``x(t) = x0 + (g - k) t``, where
``g`` is its growth rate and ``k`` the kill rate of the systemic therapy in force, so volumes
are exact exponentials. Two processes have hazards linear in the volume-weighted burden,
``h(t) = sum_i c_i exp(x_i(t))``:

* seeding of new metastases (``c_i`` = seeding rate x the patient's metastatic propensity),
* disease death (``c_i`` = death rate x the organ's lethality weight),

so their cumulative hazards over an interval are closed-form sums of exponentials, and the time
at which a unit-exponential threshold is crossed is found by a safeguarded Halley iteration
(model 4.2-4.3). Symptom times are closed form too (model 4.6).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import rng
from oligosim._kernels.lesres import kill_of
from oligosim._kernels.state import INF, log_event


@njit(cache=True, inline="always")
def em1(x):
    """exp(x) - 1. By ``expm1`` for |x| <= 1/2, where exp(x) - 1 would cancel; beyond, by ``exp``
    and a subtraction, whose relative error stays below 6e-16 (about 3 ulp) there and which
    costs less than half of ``expm1`` (glibc: 4.7 against 12.2 ns a call, 2026-12-07). The
    hazard sums call it once per lesion and evaluation."""
    if abs(x) > 0.5:
        return math.exp(x) - 1.0
    return math.expm1(x)


@njit(cache=True, inline="always")
def _integral(vol, r, tau):
    """Integral over [0, tau] of vol * exp(r s) ds, and the end value's factor exp(r tau) - 1."""
    e1 = em1(r * tau)
    if abs(r * tau) < 1e-10:
        return vol * tau * (1.0 + 0.5 * r * tau), e1
    return vol * e1 / r, e1


@njit(cache=True, inline="always")
def log_add(x, y):
    """ln(e^x + e^y) without overflow: the log volume of two volumes ``exp(x)``, ``exp(y)`` added
    (the aggregate beyond the cap, the diffuse compartment). -inf plus y is y."""
    return max(x, y) + math.log1p(math.exp(-abs(x - y)))


@njit(cache=True, inline="always")
def exp_time(e, rate):
    """Waiting time (months) of a unit-exponential draw ``e`` at a constant ``rate`` (inf at 0)."""
    return e / rate if rate > 0.0 else INF


@njit(cache=True, _nrt=False)
def crossing_time(L, n, lo, hi, seed_scale, death_rate, which, target):
    """Smallest tau in (lo, hi] from the hazards' anchor at which a cumulative hazard reaches
    ``target`` (:func:`crossing`'s first value)."""
    return crossing(L, n, lo, hi, seed_scale, death_rate, which, target)[0]


@njit(cache=True, _nrt=False)
def crossing(L, n, lo, hi, seed_scale, death_rate, which, target):
    """Smallest tau in (lo, hi] at which a cumulative hazard from the anchor reaches ``target``,
    and the disease-death hazard accumulated over it.

    Works on the anchor's lesions (:mod:`oligosim._kernels.anchor`: ``L.a_on``, volumes ``L.vol``,
    net rates ``L.a_r``, weights ``L.a_w``; ``n`` slots); ``which`` 0 is seeding (rate
    ``seed_scale`` per cm3 and month: seeding rate x propensity), 1 is death. H(tau) is a sum of
    exponentials, increasing in tau. Halley's method on F = log H - log target (close to linear
    even far from the root): cubic convergence for one multiplication per lesion (2.4
    evaluations of the sum on average where Newton needed 3.9, 2026-12-07), from the root of
    H's second-order expansion, in a shrinking bracket with Newton's step and bisection as
    fallbacks. Ends where H is at the target to 1e-12 relative, or at the bracket's upper end
    once it is narrower than 1e-10 months.

    Returns ``(tau, death, known)``: ``death`` is the death hazard over ``tau`` months as
    ``anchor.since`` gives it (same sums, same order) when ``known`` (``tau`` was the last point
    evaluated), else NaN and the caller integrates.
    """
    scale = seed_scale if which == 0 else death_rate
    log_target = math.log(target)
    # first guess: the root of H's second-order expansion, H(tau) ~ h0 tau + h1 tau^2 / 2 with
    # h0 the hazard at the anchor and h1 its slope (the constant-hazard guess when h1 = 0)
    h0 = 0.0
    h1 = 0.0
    for i in range(n):
        if L.a_on[i]:
            c = (1.0 if which == 0 else L.a_w[i]) * L.vol[i]
            h0 += c
            h1 += c * L.a_r[i]
    h0 *= scale
    h1 *= scale
    tau = 0.5 * (lo + hi)
    if h0 > 0.0:
        disc = h0 * h0 + 2.0 * h1 * target
        tau = 2.0 * target / (h0 + math.sqrt(disc)) if disc > 0.0 else target / h0
    if not lo < tau < hi:
        tau = 0.5 * (lo + hi)
    for _ in range(200):
        f = 0.0
        fp = 0.0
        fpp = 0.0
        death = 0.0  # the death sum beside a seeding search, as anchor.since adds it
        for i in range(n):
            if L.a_on[i]:
                w = 1.0 if which == 0 else L.a_w[i]
                r = L.a_r[i]
                v, e1 = _integral(L.vol[i], r, tau)
                f += w * v
                d = w * L.vol[i] * (1.0 + e1)
                fp += d
                fpp += d * r
                if which == 0:
                    death += v * L.a_w[i]
        f *= scale
        fp *= scale
        fpp *= scale
        if f <= 0.0:
            lo = tau
            tau = 0.5 * (lo + hi)
            continue
        g = math.log(f) - log_target
        if abs(g) <= 1e-12:
            return tau, (death * death_rate if which == 0 else f), True
        if g > 0.0:
            hi = tau
        else:
            lo = tau
        if hi - lo <= 1e-10:
            break
        # Halley on F = log H - log target: F' = H'/H, F'' = H''/H - F'^2; Newton's step if
        # Halley's denominator is not positive, bisection if a step leaves the bracket
        step = 0.5 * (lo + hi)
        if fp > 0.0:
            d1 = fp / f
            den = 2.0 * d1 * d1 - g * (fpp / f - d1 * d1)
            step = tau - 2.0 * g * d1 / den if den > 0.0 else tau - g / d1
        if step <= lo or step >= hi:
            step = 0.5 * (lo + hi)
        tau = step
    return hi, math.nan, False


@njit(cache=True, _nrt=False)
def advance(L, n, kill, t0, dt, eradication_logv, W):
    """Move every lesion ``dt`` months on from ``t0``; record in-field failures (in workspace
    ``W``'s local-control records and event log) and eradications below ``eradication_logv``
    (ln cm3).

    A lesion whose local-control record is open fails in field when it regrows to its size at
    RT (model 6.4); one shrunk below the eradication size is gone (model 4.7).
    """
    found = 0
    for i in range(n):
        if L.status[i] != C.ACTIVE:
            continue
        r = L.growth[i] - kill_of(L, i, kill)
        x0 = L.logv[i]
        x1 = x0 + r * dt
        k = L.lc_slot[i]
        if k >= 0 and not W.lc_event[k]:
            thr = L.rt_pre_logv[i]
            if x0 < thr <= x1:
                # lc_time holds the RT time until the record is closed
                L.fail_time[i] = t0 + (thr - x0) / r
                W.lc_time[k] = L.fail_time[i] - W.lc_time[k]
                W.lc_event[k] = True
                L.lc_slot[i] = -2
                found += 1
        L.logv[i] = x1
        L.a_x[i] = x1  # the loop's own growth: not a change of the lesion (anchor.check)
        if x1 < eradication_logv:
            L.status[i] = C.ERADICATED
    # log the failures of this interval in time order
    for _ in range(found):
        first = -1
        for i in range(n):
            if L.fail_time[i] < INF and (first < 0 or L.fail_time[i] < L.fail_time[first]):
                first = i
        log_event(W, L.fail_time[first], codes.EV_LOCAL_FAILURE, first)
        L.fail_time[first] = INF


@njit(cache=True, inline="always")
def _locoregional_active(L, n):
    """Is the primary or a regional node active? (a cheap test before the volumes' exp)"""
    for i in range(n):
        if L.status[i] == C.ACTIVE and (L.organ[i] == codes.PRIMARY or L.organ[i] == codes.REGIONAL_NODE):
            return True
    return False


@njit(cache=True, _nrt=False)
def seeded_organ(P, state, L, n, histology):
    """Organ of a metastasis seeded now (model 4.2).

    The seeding hazard is the sum of the lesions' volumes, so the deposit comes from a lesion
    with probability proportional to its volume now. One seeded by the primary or a regional
    node lands in the regional nodes with probability ``P.lr[0].regional_seeding`` (lymphatic
    spread); every other one lands in a distant organ by the histology's organ shares. The
    extra uniform is drawn only when locoregional disease is seeding, so patients without it
    use the LESION stream as before.
    """
    if P.lr[0].regional_seeding > 0.0 and _locoregional_active(L, n):
        lr = 0.0
        total = 0.0
        for i in range(n):
            if L.status[i] == C.ACTIVE:
                v = math.exp(L.logv[i])
                total += v
                if L.organ[i] == codes.PRIMARY or L.organ[i] == codes.REGIONAL_NODE:
                    lr += v
        if lr > 0.0 and rng.uniform(state, rng.LESION) * total < P.lr[0].regional_seeding * lr:
            return codes.REGIONAL_NODE
    return codes.METASTATIC_ORGANS[rng.categorical(state, rng.LESION, P.organ_cum[histology])]


@njit(cache=True, _nrt=False)
def free_slot(L, n, cap):
    """A lesion slot for a new metastasis and the new slot count; (-1, n) when all are taken."""
    for i in range(n):
        if L.status[i] == C.EMPTY or L.status[i] == C.ERADICATED:
            return i, n
    if n < cap:
        return n, n + 1
    return -1, n
