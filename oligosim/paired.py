"""Paired comparison of two strategies simulated on the same virtual patients.

Patient ``i`` of every arm of a run is the same virtual patient (common random numbers, see
:mod:`oligosim.simulate`), so two arms are *paired* data: the difference between strategies is
estimated patient by patient, and most of the patient-to-patient variation cancels. This module
estimates differences between two arms (b minus a) with confidence intervals and standard errors
that use the pairing, and reports how much precision the pairing buys: the standard error that
two *independent* arms of the same size would have and the variance ratio
``se_independent**2 / se_paired**2`` -- the factor by which independent arms would need more
patients per arm for the same precision.

Methods
-------
Survival quantities (median, restricted mean survival time, landmark survival) -- Poisson
bootstrap. In each replicate every patient gets a weight ``w_i ~ Poisson(1)``, the **same**
weight in both arms (that is the pairing), and both arms' weighted Kaplan-Meier curves are
recomputed. Each endpoint of each arm is sorted once (``np.unique(return_inverse=True)`` and a
stable argsort of the inverse index); a replicate is then one pass over the patients in that
fixed order -- O(n) time, no re-sort, memory O(n) (one byte of weight per patient) -- so 400
replicates of 10^6 paired patients take well under a minute. That pass is a small numba kernel
(the per-time weighted counts ``np.bincount`` would give, fused with the survival product, the
RMST integral, the landmarks and the median): with numpy the ~8 temporaries of 10^6 elements
made a replicate 5-10x slower. :func:`weighted_kaplan_meier` is the plain numpy (bincount)
version of the same estimator and the tests check the kernel against it.

* ``se_paired``: standard deviation (ddof=1) of the replicate differences ``b* - a*``.
* ``ci_lo``, ``ci_hi``: 2.5 and 97.5 percentiles of the replicate differences (percentile
  bootstrap; numpy's default linear interpolation).
* ``se_independent``: ``sqrt(Var(a*) + Var(b*))`` from the same replicates. Under the Poisson
  bootstrap each arm's marginal replicate distribution is the same whether its weights are
  shared with the other arm or drawn separately, so this *is* the bootstrap SE of the
  difference of two independently resampled arms; it equals in expectation the SD of
  ``b*(w') - a*(w)`` with separate weights ``w'``, ``w`` (checked in ``tests/test_paired.py``)
  but has less Monte-Carlo noise and costs nothing extra.

Binary outcomes (grade >= 3 toxicity per type, "any" of the types, treatment death) -- closed
form, no bootstrap. With ``p10`` / ``p01`` the shares of patients with the outcome in arm a but
not b / in b but not a, the difference ``p_b - p_a = p01 - p10`` has paired variance
``(p10 + p01 - (p01 - p10)**2) / n`` (and independent-arms variance
``(p_a (1 - p_a) + p_b (1 - p_b)) / n``). The 95 % CI is Newcombe's square-and-add interval
for paired proportions (Newcombe 1998, Stat Med 17:2635, method 10; Fagerland, Lydersen & Laake
2017, section 8.5): the two marginal Wilson intervals combined with the phi correlation of the
2x2 table, phi's numerator ``ad - bc`` reduced by ``n/2`` towards 0 when positive (0 when it is
between 0 and n/2) -- not the Wald interval ``diff -/+ 1.96 se_paired``, which is too narrow for
rare events.

Determinism: the output is a function of the data and of the arguments only. The bootstrap
weights come from ``numpy.random.Generator(numpy.random.PCG64(seed))``, drawn replicate by
replicate as ``n`` uniforms (``rng.random(n)``) turned into Poisson(1) counts by inversion of
the Poisson(1) distribution function (exact in double precision); the same data, seed and
``replicates`` give bit-identical results, whatever ``independent`` (which only decides whether
the independent-arms figures are reported). A different ``replicates`` gives the same first
replicates, so results change only by Monte-Carlo noise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from oligosim import codes
from oligosim.outcomes import (
    _QUANTILE_RTOL,
    KaplanMeier,
    _validate,
    json_number,
    kaplan_meier,
    median_survival,
    proportion_ci,
    rmst,
    survival_at,
)

__all__ = [
    "weighted_kaplan_meier",
    "compare_arms",
    "paired_difference_table",
    "paired_binary_difference",
    "TREATMENT_DEATH",
    "TABLE_COLUMNS",
]

#: ``death_cause`` code of a treatment-related death
TREATMENT_DEATH = int(codes.DEATH_TREATMENT)

#: columns of :func:`paired_difference_table` rows
TABLE_COLUMNS = ("quantity", "a", "b", "diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio")

_PERCENTILES = (2.5, 97.5)


# ============================================================================ weighted KM
def weighted_kaplan_meier(time, event, weights) -> KaplanMeier:
    """Kaplan-Meier estimate with case weights (frequency weights).

    Patient ``i`` counts ``weights[i]`` times: with integer weights the result is exactly
    :func:`oligosim.outcomes.kaplan_meier` of the data with row ``i`` repeated ``weights[i]``
    times. Non-integer weights are allowed and are used as (fractional) frequencies.

    Parameters
    ----------
    time : array_like of float, shape (n,)
        Follow-up times in months, finite and ``>= 0``.
    event : array_like of bool or {0, 1}, shape (n,)
        Event flags.
    weights : array_like of float, shape (n,)
        Finite, ``>= 0``, with a positive total.

    Returns
    -------
    KaplanMeier
        At the distinct times that carry positive weight (times whose patients all have weight
        0 are dropped, as if those rows were absent). ``at_risk``, ``events`` and ``censored``
        are weighted sums (float64) and ``n`` is the total weight (a float); ``se`` is the
        Greenwood formula with those weighted counts. The result works with
        :func:`~oligosim.outcomes.survival_at`, :func:`~oligosim.outcomes.median_survival` and
        :func:`~oligosim.outcomes.rmst`.

    Raises
    ------
    ValueError
        On invalid time/event (as :func:`~oligosim.outcomes.kaplan_meier`) or weights that are
        not 1-D of the same length, not finite, negative, or all zero.
    """
    t, e = _validate(time, event)
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape != t.shape:
        raise ValueError(f"weights must be 1-D with the same length as time ({t.size}), got shape {w.shape}")
    if w.dtype == bool or not (np.issubdtype(w.dtype, np.integer) or np.issubdtype(w.dtype, np.floating)):
        raise ValueError(f"weights must be numeric, got dtype {w.dtype}")
    w = w.astype(np.float64, copy=False)
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite (no nan or inf)")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0")
    total = float(w.sum())
    if not total > 0:
        raise ValueError("weights must have a positive total")
    uniq, inverse = np.unique(t, return_inverse=True)
    counts = np.bincount(inverse, weights=w, minlength=uniq.size)
    events = np.bincount(inverse, weights=w * e, minlength=uniq.size)
    keep = counts > 0
    times, counts, events = uniq[keep], counts[keep], events[keep]
    at_risk = np.cumsum(counts[::-1])[::-1]  # weight with follow-up time >= times[i]
    survival = np.cumprod(1.0 - events / at_risk)
    alive = at_risk - events
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(alive > 0, events / (at_risk * np.where(alive > 0, alive, 1.0)), 0.0)
    se = survival * np.sqrt(np.cumsum(term))
    return KaplanMeier(
        times=times,
        survival=survival,
        se=se,
        at_risk=at_risk,
        events=events,
        censored=counts - events,
        n=total,
    )


# ============================================================================ bootstrap engine
#: ``_POISSON1_CDF[k] = P(X <= k)`` for ``X ~ Poisson(1)``, k = 0..18; ``P(X > 18) < 2**-53``, so
#: inversion of a double-precision uniform with this table is exact Poisson(1) sampling.
_POISSON1_CDF = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(19)])


@njit(cache=True, nogil=True)
def _poisson1_weights(u, cdf, out):  # pragma: no cover - compiled
    """``out[i] = #{k: cdf[k] <= u[i]}`` (Poisson(1) by inversion); returns the total."""
    total = 0
    for i in range(u.size):
        x = u[i]
        k = 0
        for j in range(cdf.size):  # branch-free count: 2-3x faster than stopping early
            k += x >= cdf[j]
        out[i] = k
        total += k
    return total


@njit(cache=True, nogil=True)
def _km_replicate(w, total, order, event_sorted, group_end, times, tau, landmarks, out_lm):  # pragma: no cover
    """Weighted KM statistics of one replicate in one pass over the patients in time order.

    ``order`` sorts the patients by time, ``group_end[g]`` ends the patients (in that order) of
    distinct time ``times[g]``; ``w`` are integer weights with sum ``total``. Returns
    ``(median, rmst)`` and fills ``out_lm`` with S at the (sorted) ``landmarks``. Survival is
    updated as ``s *= 1 - d / n`` with exact integer ``d``, ``n`` -- the arithmetic of
    ``outcomes.kaplan_meier`` -- and the median uses the same 0.5 slack.
    """
    thr = 0.5 * (1.0 + _QUANTILE_RTOL)
    at = total
    s = 1.0
    area = 0.0
    prev = 0.0
    med = np.inf
    tau_done = False
    li = 0
    nl = landmarks.size
    start = 0
    for g in range(times.size):
        tg = times[g]
        if not tau_done:
            if tg <= tau:
                area += s * (tg - prev)
                prev = tg
            else:
                area += s * (tau - prev)
                tau_done = True
        while li < nl and landmarks[li] < tg:
            out_lm[li] = s
            li += 1
        end = group_end[g]
        d = 0
        r = 0
        for i in range(start, end):
            wi = np.int64(w[order[i]])
            r += wi
            d += wi * event_sorted[i]
        start = end
        if d > 0:
            s *= 1.0 - d / at
        at -= r
        if s <= thr and med == np.inf:
            med = tg
    if not tau_done:
        area += s * (tau - prev)
    while li < nl:
        out_lm[li] = s
        li += 1
    return med, area


class _EndpointBootstrap:
    """One endpoint of one arm, sorted once; evaluates weighted-KM statistics per replicate.

    ``stats(w, total)`` returns ``(median, rmst, landmark survivals)`` of the KM curve with
    integer patient weights ``w`` (sum ``total``); the median is ``inf`` when the curve stays
    above 0.5 ("not reached"). Distinct times with zero weight in a replicate leave the curve
    unchanged; beyond the last time with positive weight the curve is continued flat (this only
    matters when tau or a landmark lies beyond a replicate's last follow-up while its curve is
    above 0 -- a replicate-level artefact of resampling the tail). With all weights 1 the
    results equal ``outcomes.median_survival`` / ``rmst`` / ``survival_at`` of the data.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, tau: float, landmarks: np.ndarray):
        self.times, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
        self.order = np.argsort(inverse.ravel(), kind="stable")
        self.event_sorted = event[self.order].astype(np.uint8)
        self.group_end = np.cumsum(counts)
        self.tau = float(tau)
        lms = np.asarray(landmarks, dtype=np.float64)
        self.lm_sort = np.argsort(lms, kind="stable")
        self.landmarks = np.ascontiguousarray(lms[self.lm_sort])
        self._buf = np.empty(lms.size)

    def stats(self, w: np.ndarray, total: int):
        med, area = _km_replicate(
            w, np.int64(total), self.order, self.event_sorted, self.group_end, self.times, self.tau,
            self.landmarks, self._buf,
        )
        lm = np.empty_like(self._buf)
        lm[self.lm_sort] = self._buf
        return float(med), float(area), lm


def _draw_weights(rng: np.random.Generator, n: int, out: np.ndarray) -> int:
    """Fill ``out`` (uint8) with Poisson(1) weights from ``rng``; return their sum."""
    return int(_poisson1_weights(rng.random(n), _POISSON1_CDF, out))


# ============================================================================ helpers
def _percentile_ci(d: np.ndarray):
    """2.5/97.5 % percentiles of replicate differences (numpy's linear rule); a limit whose
    interpolation touches an infinite replicate is None. nan replicates are dropped."""
    d = np.sort(d[~np.isnan(d)])
    if d.size == 0:
        return None, None
    out = []
    for q in _PERCENTILES:
        pos = q / 100.0 * (d.size - 1)
        lo, hi = int(math.floor(pos)), int(math.ceil(pos))
        if not (np.isfinite(d[lo]) and np.isfinite(d[hi])):
            out.append(None)
            continue
        g = pos - lo
        out.append(float(d[lo] + (d[hi] - d[lo]) * g))
    return out[0], out[1]


def _ratio(se_ind, se_pair):
    if se_ind is None or se_pair is None or not se_pair > 0:
        return None
    return float(se_ind * se_ind / (se_pair * se_pair))


def _bootstrap_entry(est_a, est_b, rep_a, rep_b, independent: bool) -> dict:
    """Difference entry of a survival quantity from its point estimates and replicates."""
    entry = {
        "a": json_number(est_a),
        "b": json_number(est_b),
        "diff": json_number(est_b - est_a),
        "ci_lo": None,
        "ci_hi": None,
        "se_paired": None,
        "se_independent": None,
        "variance_ratio": None,
        "ci_method": "percentile bootstrap of paired differences",
    }
    with np.errstate(invalid="ignore"):
        d = rep_b - rep_a
    entry["ci_lo"], entry["ci_hi"] = _percentile_ci(d)
    if np.all(np.isfinite(d)):
        entry["se_paired"] = float(np.std(d, ddof=1))
        if independent:
            var_ind = float(np.var(rep_a, ddof=1) + np.var(rep_b, ddof=1))
            entry["se_independent"] = math.sqrt(var_ind)
            entry["variance_ratio"] = _ratio(entry["se_independent"], entry["se_paired"])
        if entry["se_paired"] == 0.0:
            entry["note"] = (
                "the difference is the same in every bootstrap replicate (e.g. both medians on the same "
                "visit time): paired SE 0, variance ratio undefined"
            )
    return entry


def paired_binary_difference(x_a, x_b, *, independent: bool = True) -> dict:
    """Rate difference ``mean(x_b) - mean(x_a)`` of paired binary outcomes, closed form.

    Parameters
    ----------
    x_a, x_b : array_like of bool, shape (n,)
        Outcome of patient ``i`` under strategy a and under strategy b.
    independent : bool, optional
        Also report the SE of two independent arms of ``n`` patients and the variance ratio.

    Returns
    -------
    dict
        ``a``, ``b`` (rates), ``diff`` (b - a), ``ci_lo``, ``ci_hi`` (Newcombe square-and-add
        95 % interval for paired proportions), ``se_paired``
        (``sqrt((p10 + p01 - (p01 - p10)**2) / n)``), ``se_independent``
        (``sqrt((p_a (1 - p_a) + p_b (1 - p_b)) / n)``), ``variance_ratio``
        (``se_independent**2 / se_paired**2``; None when ``se_paired == 0``), ``ci_method`` and
        the 2x2 counts ``n11`` (both), ``n10`` (a only), ``n01`` (b only), ``n00`` (neither).
    """
    xa = np.asarray(x_a, dtype=bool)
    xb = np.asarray(x_b, dtype=bool)
    if xa.shape != xb.shape or xa.ndim != 1 or xa.size == 0:
        raise ValueError(f"x_a and x_b must be 1-D of the same non-zero length, got {xa.shape} and {xb.shape}")
    n = xa.size
    n11 = int(np.count_nonzero(xa & xb))
    n10 = int(np.count_nonzero(xa & ~xb))
    n01 = int(np.count_nonzero(~xa & xb))
    n00 = n - n11 - n10 - n01
    pa = (n11 + n10) / n
    pb = (n11 + n01) / n
    p10, p01 = n10 / n, n01 / n
    diff = p01 - p10
    var_p = max(p10 + p01 - diff * diff, 0.0) / n
    lo, hi = _newcombe_paired(n11, n01, n10, n00)  # "first" proportion = b
    entry = {
        "a": pa,
        "b": pb,
        "diff": diff,
        "ci_lo": lo,
        "ci_hi": hi,
        "se_paired": math.sqrt(var_p),
        "se_independent": None,
        "variance_ratio": None,
        "ci_method": "Newcombe square-and-add (paired, Wilson-based, phi-corrected)",
        "n11": n11,
        "n10": n10,
        "n01": n01,
        "n00": n00,
    }
    if independent:
        entry["se_independent"] = math.sqrt((pa * (1.0 - pa) + pb * (1.0 - pb)) / n)
        entry["variance_ratio"] = _ratio(entry["se_independent"], entry["se_paired"])
    return entry


def _newcombe_paired(both: int, first_only: int, second_only: int, neither: int):
    """Newcombe's (1998, method 10) square-and-add 95 % CI for ``p_first - p_second``."""
    n = both + first_only + second_only + neither
    x1 = both + first_only  # "yes" under the first condition
    x2 = both + second_only
    p1, p2 = x1 / n, x2 / n
    l1, u1 = proportion_ci(x1, n)
    l2, u2 = proportion_ci(x2, n)
    margins = float(x1) * (n - x1) * float(x2) * (n - x2)
    if margins == 0:
        phi = 0.0
    else:
        # phi of the 2x2 table (rows: first yes/no, columns: second yes/no)
        num = float(both) * neither - float(first_only) * second_only
        if num > n / 2:
            num -= n / 2
        elif num >= 0:
            num = 0.0
        phi = num / math.sqrt(margins)
    d = p1 - p2
    dl = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    du = math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    return max(-1.0, d - dl), min(1.0, d + du)


def _column(x, name: str, label: str):
    try:
        return x[name]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"{label} has no column {name!r}") from None


def _optional_column(x, name: str):
    try:
        return x[name]
    except (KeyError, IndexError, TypeError):
        return None


def _lm_key(lm: float) -> str:
    return str(int(lm)) if float(lm).is_integer() else str(lm)


# ============================================================================ main entry
def compare_arms(
    a,
    b,
    *,
    endpoints=("os", "pfs"),
    tau_months: float = 60.0,
    landmarks=(12, 24),
    replicates: int = 400,
    seed: int = 0,
    independent: bool = True,
) -> dict:
    """Paired comparison of arm ``b`` against arm ``a`` (differences are b - a).

    Parameters
    ----------
    a, b : ArmResult or mapping-like
        The two arms, patient ``i`` the same virtual patient in both (e.g. two arms of one
        :func:`oligosim.simulate.run_scenario` run). Must support ``x[endpoint]`` and
        ``x[endpoint + "_event"]``; ``x.tox`` (n, k) bool grade >= 3 flags is used when present
        and not None, ``x["death_cause"]`` when available.
    endpoints : sequence of str, optional
        Time-to-event endpoints (default OS and PFS).
    tau_months : float, optional
        Truncation time of the restricted mean survival time, ``> 0`` and not beyond the last
        follow-up time of any endpoint in either arm (unless that curve has dropped to 0).
    landmarks : sequence of float, optional
        Times (months) at which survival differences are reported. A landmark beyond an arm's
        follow-up is reported as None with a note.
    replicates : int, optional
        Poisson-bootstrap replicates (``>= 2``; a few hundred for SEs and 95 % CIs).
    seed : int, optional
        Seed of ``numpy.random.Generator(numpy.random.PCG64(seed))`` for the bootstrap weights.
    independent : bool, optional
        Also report the SE that two independent arms of the same size would have and the
        variance ratio ``se_independent**2 / se_paired**2``.

    Returns
    -------
    dict
        JSON-able (plain floats/ints/str/None)::

            {"n", "replicates", "seed", "tau_months", "landmarks", "independent", "method",
             "endpoints": {ep: {"median": entry, "rmst": entry,
                                 "survival": {"12": entry, ...}}},
             "toxicity": {type: entry, ..., "any": entry} or None,
             "treatment_death": entry or None,
             "notes": [str, ...]}

        Every ``entry`` has ``a``, ``b``, ``diff``, ``ci_lo``, ``ci_hi`` (95 %),
        ``se_paired``, ``se_independent``, ``variance_ratio`` and ``ci_method``; values that
        cannot be estimated are None and the entry then has a ``note`` saying why (e.g. a
        median not reached). See the module docstring for the methods.

    Raises
    ------
    ValueError
        If the arms have different numbers of patients, an endpoint column is missing or
        invalid, ``tau_months`` is not positive or beyond follow-up, ``replicates < 2`` or
        ``seed < 0``; the message names the argument and its value.
    """
    endpoints = tuple(endpoints)
    if not endpoints:
        raise ValueError("endpoints is empty: need at least one endpoint such as 'os'")
    n_a = np.asarray(_column(a, endpoints[0], "arm a")).shape[0]
    n_b = np.asarray(_column(b, endpoints[0], "arm b")).shape[0]
    if n_a != n_b:
        raise ValueError(
            f"arms a and b have different numbers of patients (n = {n_a} and {n_b}): a paired "
            "comparison needs patient i in both arms (run them in one run_scenario call)"
        )
    n = int(n_a)
    tau = float(tau_months)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau_months = {tau_months!r}: must be a positive number of months")
    lms = np.asarray(landmarks, dtype=np.float64).ravel()
    if np.any(~np.isfinite(lms)) or np.any(lms < 0):
        raise ValueError(f"landmarks = {landmarks!r}: must be finite times >= 0 (months)")
    if isinstance(replicates, bool) or int(replicates) != replicates or replicates < 2:
        raise ValueError(f"replicates = {replicates!r}: must be an integer >= 2")
    replicates = int(replicates)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed = {seed!r}: must be an integer >= 0")
    seed = int(seed)

    # ------------------------------------------------------------------ binary columns (checked first)
    tox_a, tox_b = getattr(a, "tox", None), getattr(b, "tox", None)
    if tox_a is not None and tox_b is not None:
        tox_a, tox_b = np.asarray(tox_a, dtype=bool), np.asarray(tox_b, dtype=bool)
        if tox_a.ndim != 2 or tox_a.shape != tox_b.shape or tox_a.shape[0] != n:
            raise ValueError(f"tox arrays must both have shape (n, k) = ({n}, k), got {tox_a.shape} and {tox_b.shape}")
    else:
        tox_a = tox_b = None
    dc_a, dc_b = _optional_column(a, "death_cause"), _optional_column(b, "death_cause")
    if dc_a is not None and dc_b is not None:
        dc_a, dc_b = np.asarray(dc_a), np.asarray(dc_b)
        if dc_a.shape != (n,) or dc_b.shape != (n,):
            raise ValueError(f"death_cause columns must have shape ({n},), got {dc_a.shape} and {dc_b.shape}")
    else:
        dc_a = dc_b = None

    # ------------------------------------------------------------------ point estimates, sort once
    notes: list[str] = []
    point = {}  # point[ep][arm] = (median or None, rmst, landmark survivals, last time, last S)
    engines = {}
    for ep in endpoints:
        point[ep], engines[ep] = {}, {}
        for label, x in (("a", a), ("b", b)):
            t, e = _validate(
                _column(x, ep, f"arm {label}"),
                _column(x, f"{ep}_event", f"arm {label}"),
                f"arm {label} {ep!r}",
                f"arm {label} {ep + '_event'!r}",
            )
            if t.size != n:
                raise ValueError(f"arm {label} column {ep!r} has {t.size} patients, expected {n}")
            km = kaplan_meier(t, e)
            if tau > km.times[-1] and km.survival[-1] > 0:
                raise ValueError(
                    f"tau_months = {tau:g} is beyond the last follow-up time of arm {label}'s {ep!r} "
                    f"({km.times[-1]:g} months, survival still {km.survival[-1]:.3g}); choose tau_months <= "
                    f"{km.times[-1]:g}"
                )
            point[ep][label] = (
                median_survival(km)[0],
                rmst(km, tau)[0],
                np.atleast_1d(survival_at(km, lms)[0]) if lms.size else np.empty(0),
                float(km.times[-1]),
                float(km.survival[-1]),
            )
            del km
            engines[ep][label] = _EndpointBootstrap(t, e, tau, lms)

    # ------------------------------------------------------------------ bootstrap
    nl = lms.size
    reps = {
        ep: {arm: {"median": np.empty(replicates), "rmst": np.empty(replicates), "lm": np.empty((replicates, nl))}
             for arm in ("a", "b")}
        for ep in endpoints
    }
    rng = np.random.Generator(np.random.PCG64(seed))
    w = np.empty(n, np.uint8)
    for r in range(replicates):
        total = _draw_weights(rng, n, w)
        for ep in endpoints:
            for arm in ("a", "b"):
                med, area, lm = engines[ep][arm].stats(w, total)
                slot = reps[ep][arm]
                slot["median"][r] = med
                slot["rmst"][r] = area
                slot["lm"][r] = lm
    del engines, w

    # ------------------------------------------------------------------ survival differences
    out_endpoints = {}
    for ep in endpoints:
        (med_a, rmst_a, lm_a, last_a, s_last_a) = point[ep]["a"]
        (med_b, rmst_b, lm_b, last_b, s_last_b) = point[ep]["b"]
        ra, rb = reps[ep]["a"], reps[ep]["b"]
        res = {}
        # median
        entry = _bootstrap_entry(
            math.inf if med_a is None else med_a, math.inf if med_b is None else med_b,
            ra["median"], rb["median"], independent,
        )
        msgs = []
        for label, med, last, s_last in (("a", med_a, last_a, s_last_a), ("b", med_b, last_b, s_last_b)):
            if med is None:
                msgs.append(
                    f"median {ep} not reached in arm {label} (survival {s_last:.3g} at the last "
                    f"follow-up, {last:g} months): median and difference reported as None"
                )
        if med_a is None or med_b is None:
            for k in ("diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio"):
                entry[k] = None
            entry.pop("note", None)
        nr_a = int(np.count_nonzero(np.isinf(ra["median"])))
        nr_b = int(np.count_nonzero(np.isinf(rb["median"])))
        if (nr_a or nr_b) and med_a is not None and med_b is not None:
            msgs.append(
                f"median {ep} not reached in {nr_a} (arm a) and {nr_b} (arm b) of {replicates} bootstrap "
                "replicates: SEs and variance ratio not reported; a CI limit that falls on such a "
                "replicate is None"
            )
        if msgs:
            entry["note"] = "; ".join(msgs)
            notes.extend(msgs)
        res["median"] = entry
        # RMST
        entry = _bootstrap_entry(rmst_a, rmst_b, ra["rmst"], rb["rmst"], independent)
        entry["tau_months"] = tau
        res["rmst"] = entry
        # landmarks
        surv = {}
        for j, lm in enumerate(lms):
            sa, sb = float(lm_a[j]), float(lm_b[j])
            entry = _bootstrap_entry(sa, sb, ra["lm"][:, j], rb["lm"][:, j], independent)
            if not (math.isfinite(sa) and math.isfinite(sb)):
                for k in ("diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio"):
                    entry[k] = None
                msg = (
                    f"{ep} survival at {lm:g} months is beyond the follow-up of arm "
                    f"{'a' if not math.isfinite(sa) else 'b'}: reported as None"
                )
                entry["note"] = msg
                notes.append(msg)
            surv[_lm_key(lm)] = entry
        res["survival"] = surv
        out_endpoints[ep] = res

    # ------------------------------------------------------------------ binary outcomes
    tox_out = None
    if tox_a is not None:
        names = codes.TOX_NAMES if tox_a.shape[1] == codes.N_TOX else tuple(f"tox{k}" for k in range(tox_a.shape[1]))
        tox_out = {
            name: paired_binary_difference(tox_a[:, k], tox_b[:, k], independent=independent)
            for k, name in enumerate(names)
        }
        tox_out["any"] = paired_binary_difference(tox_a.any(axis=1), tox_b.any(axis=1), independent=independent)
    else:
        notes.append("toxicity not compared: tox flags are missing (keep='summary'?) in at least one arm")
    death_out = None
    if dc_a is not None:
        death_out = paired_binary_difference(dc_a == TREATMENT_DEATH, dc_b == TREATMENT_DEATH, independent=independent)
    else:
        notes.append("treatment deaths not compared: death_cause is missing in at least one arm")

    return {
        "n": n,
        "replicates": replicates,
        "seed": seed,
        "tau_months": tau,
        "landmarks": [float(x) for x in lms],
        "independent": bool(independent),
        "method": (
            "survival quantities: Poisson bootstrap with the same weight for a patient in both arms, "
            "percentile 95% CI, se_independent = sqrt(Var(a*) + Var(b*)); binary outcomes: closed-form "
            "paired variance (p10 + p01 - (p01 - p10)^2)/n, Newcombe square-and-add paired 95% CI"
        ),
        "endpoints": out_endpoints,
        "toxicity": tox_out,
        "treatment_death": death_out,
        "notes": notes,
    }


# ============================================================================ table
def paired_difference_table(comparison: dict) -> list[dict]:
    """Flat rows of a :func:`compare_arms` result, for CSV files and report tables.

    Returns
    -------
    list of dict
        One row per difference, keys :data:`TABLE_COLUMNS`: ``quantity`` (e.g.
        ``"os.median"``, ``"os.rmst_60"``, ``"os.survival_12"``, ``"tox.neutropenia"``,
        ``"tox.any"``, ``"treatment_death"``), then ``a``, ``b``, ``diff``, ``ci_lo``,
        ``ci_hi``, ``se_paired``, ``se_independent``, ``variance_ratio`` (float or None).
    """
    rows = []

    def add(name, entry):
        row = {"quantity": name}
        for k in TABLE_COLUMNS[1:]:
            row[k] = entry.get(k)
        rows.append(row)

    tau = comparison["tau_months"]
    for ep, res in comparison["endpoints"].items():
        add(f"{ep}.median", res["median"])
        add(f"{ep}.rmst_{_lm_key(tau)}", res["rmst"])
        for key, entry in res["survival"].items():
            add(f"{ep}.survival_{key}", entry)
    if comparison.get("toxicity"):
        for name, entry in comparison["toxicity"].items():
            add(f"tox.{name}", entry)
    if comparison.get("treatment_death"):
        add("treatment_death", comparison["treatment_death"])
    return rows
