"""Survival statistics from per-patient result columns.

Every function here takes plain per-patient columns -- a follow-up time in **months** and an
event flag (``True``/1 = the event was observed at that time, ``False``/0 = right-censored
then) -- and is written for up to millions of patients per arm: each input is sorted once
(``np.unique``) and everything else is counts, cumulative sums and ``searchsorted``; there is
no Python loop over patients.

Conventions (checked against lifelines 0.30 and scipy 1.17 in ``tests/test_outcomes.py``):

* Kaplan-Meier survival with Greenwood standard errors; pointwise 95 % confidence intervals
  by the log(-log) transform, which is lifelines' "exponential Greenwood" interval
  (``KaplanMeierFitter.confidence_interval_``).
* Median = the smallest time ``t`` with ``S(t) <= 0.5`` (lifelines' ``median_survival_time_``);
  its 95 % CI is Brookmeyer-Crowley with the log(-log) pointwise band, i.e. the smallest ``t``
  where the lower (resp. upper) pointwise limit is ``<= 0.5``
  (lifelines' ``median_survival_times(kmf.confidence_interval_)``).
* A KM curve is defined up to the last follow-up time (event or censoring); beyond it the
  survival is unknown (``nan`` / ``None``) unless the curve has already dropped to 0.
* Log-rank: the chi-square (1 df) statistic with the hypergeometric variance, like lifelines'
  ``logrank_test``; ``scipy.stats.logrank`` returns its signed square root.
* Cox: a single binary covariate (arm b vs arm a), Breslow (default) or Efron ties, Wald CI
  and p-value, like lifelines' ``CoxPHFitter`` (which uses Efron) / statsmodels ``PHReg``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = [
    "KaplanMeier",
    "kaplan_meier",
    "survival_at",
    "number_at_risk",
    "median_survival",
    "rmst",
    "logrank",
    "cox_hazard_ratio",
    "summarize_survival",
    "proportion_ci",
    "json_number",
    "DEFAULT_LANDMARKS",
]

#: two-sided 95 % standard-normal quantile, ``norm.ppf(0.975)``
Z95 = float(special.ndtri(0.975))

#: landmark times (months) reported by :func:`summarize_survival`
DEFAULT_LANDMARKS = (12, 24, 36, 60)

#: relative slack when comparing a survival value with 0.5 (or another quantile): a KM value that
#: is mathematically exactly 0.5 (e.g. 2 deaths out of 4) may come out of the product a few ulps
#: above it, and would otherwise move the median to the next event time.
_QUANTILE_RTOL = 1e-12


def json_number(x) -> float | None:
    """``x`` as a float, or None when it is None, nan or infinite: JSON has no nan, and an
    undefined statistic (a median not reached, a CI limit off the curve) is reported as null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# ============================================================================ input handling
def _validate(time, event, time_name: str = "time", event_name: str = "event"):
    """Return ``(time, event)`` as a float64 and a bool 1-D array, or raise ValueError."""
    t = np.asarray(time)
    e = np.asarray(event)
    if t.ndim != 1:
        raise ValueError(f"{time_name} must be 1-D, got shape {t.shape}")
    if e.ndim != 1:
        raise ValueError(f"{event_name} must be 1-D, got shape {e.shape}")
    if t.shape != e.shape:
        raise ValueError(
            f"{time_name} and {event_name} must have the same length, got {t.size} and {e.size}"
        )
    if t.size == 0:
        raise ValueError(f"{time_name} is empty: need at least one patient")
    numeric = np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.floating)
    if t.dtype == bool or not numeric:
        raise ValueError(f"{time_name} must be numeric (months), got dtype {t.dtype}")
    t = t.astype(np.float64, copy=False)
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{time_name} must be finite (no nan or inf)")
    if np.any(t < 0):
        raise ValueError(f"{time_name} must be >= 0 (months)")
    if e.dtype == bool:
        pass
    elif np.issubdtype(e.dtype, np.integer) or np.issubdtype(e.dtype, np.floating):
        if not np.all((e == 0) | (e == 1)):
            raise ValueError(f"{event_name} must be boolean or 0/1")
        e = e.astype(bool)
    else:
        raise ValueError(f"{event_name} must be boolean or 0/1, got dtype {e.dtype}")
    return t, e


def _as_times(t, name: str) -> np.ndarray:
    """A float array of query times (any shape); nan is rejected."""
    arr = np.asarray(t, dtype=np.float64)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not contain nan")
    return arr


# ============================================================================ Kaplan-Meier
@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """A Kaplan-Meier estimate, one entry per distinct observed time.

    All arrays have shape ``(k,)`` where ``k`` is the number of distinct follow-up times
    (event or censoring). Value ``i`` describes the curve on ``[times[i], times[i+1])``; before
    ``times[0]`` the survival is 1.

    Attributes
    ----------
    times : ndarray of float, shape (k,)
        Distinct event/censoring times in months, increasing.
    survival : ndarray of float, shape (k,)
        KM survival ``S(times[i])`` (right-continuous, includes the events at ``times[i]``).
    se : ndarray of float, shape (k,)
        Greenwood standard error of ``survival``:
        ``S(t) * sqrt(sum_{t_j <= t} d_j / (n_j (n_j - d_j)))`` (terms with ``n_j == d_j``,
        after which ``S == 0``, are dropped, as lifelines does).
    at_risk : ndarray of int, shape (k,)
        Patients at risk just before ``times[i]`` (follow-up time ``>= times[i]``).
    events : ndarray of int, shape (k,)
        Events observed at ``times[i]``.
    censored : ndarray of int, shape (k,)
        Patients censored at ``times[i]``.
    n : int
        Number of patients.
    """

    times: np.ndarray
    survival: np.ndarray
    se: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    n: int

    @property
    def last_time(self) -> float:
        """Last follow-up time (months); the curve is defined up to here."""
        return float(self.times[-1])

    @property
    def n_events(self) -> int:
        """Total number of observed events."""
        return int(self.events.sum())

    def _greenwood_sum(self) -> np.ndarray:
        """``sum d/(n(n-d))`` up to each time, shape (k,) -- the variance of ``log S``."""
        return _greenwood_cumsum(self.at_risk, self.events)


def _greenwood_cumsum(at_risk: np.ndarray, events: np.ndarray) -> np.ndarray:
    n = at_risk.astype(np.float64)
    d = events.astype(np.float64)
    surv = n - d
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(surv > 0, d / (n * np.where(surv > 0, surv, 1.0)), 0.0)
    return np.cumsum(term)


def _risk_table(time: np.ndarray, event: np.ndarray):
    """Distinct times, number at risk, events and censorings at each (sort once)."""
    uniq, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
    events = np.bincount(inverse, weights=event, minlength=uniq.size).astype(np.int64)
    counts = counts.astype(np.int64)
    # at risk at times[i] = patients with time >= times[i] = n - (patients with time < times[i])
    at_risk = time.size - np.concatenate(([0], np.cumsum(counts)[:-1]))
    return uniq, at_risk, events, counts - events


def kaplan_meier(time, event) -> KaplanMeier:
    """Kaplan-Meier estimate of the survival function.

    Parameters
    ----------
    time : array_like of float, shape (n,)
        Follow-up time of each patient in months; finite and ``>= 0``.
    event : array_like of bool or {0, 1}, shape (n,)
        ``True``/1 if the event was observed at ``time``, ``False``/0 if censored then.

    Returns
    -------
    KaplanMeier
        Curve at the ``k`` distinct times, with Greenwood standard errors.

    Raises
    ------
    ValueError
        If the inputs are not 1-D of the same non-zero length, a time is negative or not
        finite, or an event flag is not boolean/0-1 (the message names the argument).
    """
    t, e = _validate(time, event)
    times, at_risk, events, censored = _risk_table(t, e)
    n = at_risk.astype(np.float64)
    survival = np.cumprod(1.0 - events / n)
    se = survival * np.sqrt(_greenwood_cumsum(at_risk, events))
    return KaplanMeier(
        times=times,
        survival=survival,
        se=se,
        at_risk=at_risk,
        events=events,
        censored=censored,
        n=int(t.size),
    )


def _log_log_band(survival: np.ndarray, var_log: np.ndarray, z: float = Z95):
    """Pointwise log(-log) ("exponential Greenwood") limits.

    ``var_log`` is the Greenwood variance of ``log S``. Where ``S == 1`` the band is (1, 1);
    where ``S == 0`` it is (0, 0) -- as in lifelines.
    """
    s = np.asarray(survival, dtype=np.float64)
    lo = np.ones_like(s)
    hi = np.ones_like(s)
    inside = (s > 0) & (s < 1)
    v = np.log(s[inside])  # < 0
    half = z * np.sqrt(var_log[inside]) / v  # <= 0
    log_neg_v = np.log(-v)
    lo[inside] = np.exp(-np.exp(log_neg_v - half))
    hi[inside] = np.exp(-np.exp(log_neg_v + half))
    zero = s <= 0
    lo[zero] = 0.0
    hi[zero] = 0.0
    return lo, hi


def _index_at(km: KaplanMeier, t: np.ndarray) -> np.ndarray:
    """Index of the step containing ``t`` (``-1`` before the first time)."""
    return np.searchsorted(km.times, t, side="right") - 1


def survival_at(km: KaplanMeier, t_months):
    """Evaluate the KM step function and its 95 % CI at given times.

    Parameters
    ----------
    km : KaplanMeier
        Curve from :func:`kaplan_meier`.
    t_months : float or array_like of float, any shape
        Query times in months.

    Returns
    -------
    estimate, lo, hi : float or ndarray, shape of ``t_months``
        ``S(t)`` and its pointwise 95 % confidence limits by the log(-log) transform
        (lifelines' default "exponential Greenwood"). ``S(t) = 1`` with limits (1, 1) for
        ``t`` before the first observed time (including ``t < 0``). For ``t`` after the last
        follow-up time the curve is unknown and all three are ``nan`` -- unless the curve has
        dropped to 0, in which case they are 0.

    Raises
    ------
    ValueError
        If ``t_months`` contains nan.
    """
    t = _as_times(t_months, "t_months")
    idx = _index_at(km, t)
    var_log = km._greenwood_sum()
    lo_all, hi_all = _log_log_band(km.survival, var_log)
    safe = np.clip(idx, 0, None)
    before = idx < 0
    est = np.where(before, 1.0, km.survival[safe])
    lo = np.where(before, 1.0, lo_all[safe])
    hi = np.where(before, 1.0, hi_all[safe])
    if km.survival[-1] > 0:
        beyond = t > km.times[-1]
        est = np.where(beyond, np.nan, est)
        lo = np.where(beyond, np.nan, lo)
        hi = np.where(beyond, np.nan, hi)
    if est.ndim == 0:
        return float(est), float(lo), float(hi)
    return est, lo, hi


def number_at_risk(km: KaplanMeier, t_months) -> np.ndarray:
    """Number of patients at risk (follow-up time ``>= t``) at given times.

    Parameters
    ----------
    km : KaplanMeier
        Curve from :func:`kaplan_meier`.
    t_months : float or array_like of float, any shape
        Query times in months.

    Returns
    -------
    ndarray of int, shape of ``t_months``
        Patients still under follow-up at ``t`` (``km.n`` for ``t <= times[0]``, 0 after the last
        follow-up time).
    """
    t = _as_times(t_months, "t_months")
    idx = np.searchsorted(km.times, t, side="left")
    padded = np.concatenate((km.at_risk, [0]))
    return padded[idx]


def _first_time_at_or_below(times: np.ndarray, curve: np.ndarray, q: float):
    """Smallest ``times[i]`` with ``curve[i] <= q`` (with a few-ulp slack), or None."""
    hit = curve <= q * (1.0 + _QUANTILE_RTOL)
    if not hit.any():
        return None
    return float(times[int(np.argmax(hit))])


def median_survival(km: KaplanMeier):
    """Median survival time and its Brookmeyer-Crowley 95 % CI.

    Parameters
    ----------
    km : KaplanMeier
        Curve from :func:`kaplan_meier`.

    Returns
    -------
    median : float or None
        Smallest time (months) with ``S(t) <= 0.5``; None if the curve never gets there
        ("not reached"). Matches lifelines' ``KaplanMeierFitter.median_survival_time_``
        (which gives ``inf`` instead of None).
    ci : tuple (lo, hi) of float or None
        Brookmeyer-Crowley interval from the log(-log) pointwise band: ``lo`` is the smallest
        time whose lower pointwise limit is ``<= 0.5`` and ``hi`` the smallest time whose upper
        limit is ``<= 0.5``; either is None if not reached. Matches lifelines'
        ``median_survival_times(kmf.confidence_interval_)``.

    Notes
    -----
    A survival value that is exactly 0.5 in exact arithmetic (e.g. 2 of 4 patients dead) counts
    as ``<= 0.5`` even if floating-point rounding leaves it a few ulps above; the median is then
    the time at which S reaches 0.5 (lifelines' convention, not R's mid-point of the flat).
    """
    lo_band, hi_band = _log_log_band(km.survival, km._greenwood_sum())
    med = _first_time_at_or_below(km.times, km.survival, 0.5)
    lo = _first_time_at_or_below(km.times, lo_band, 0.5)
    hi = _first_time_at_or_below(km.times, hi_band, 0.5)
    return med, (lo, hi)


def rmst(km: KaplanMeier, tau_months: float):
    """Restricted mean survival time up to ``tau`` and its standard error.

    Parameters
    ----------
    km : KaplanMeier
        Curve from :func:`kaplan_meier`.
    tau_months : float
        Truncation time in months, ``>= 0``.

    Returns
    -------
    estimate : float
        ``RMST(tau) = int_0^tau S(u) du`` in months (exact integral of the step function; equals
        ``lifelines.utils.restricted_mean_survival_time(kmf, t=tau)``).
    se : float
        Standard error of the estimate (months) by the Greenwood-type formula
        ``Var = sum_{t_j <= tau} A_j^2 d_j / (n_j (n_j - d_j))`` with
        ``A_j = int_{t_j}^tau S(u) du`` (Klein & Moeschberger 4.5; R ``survRM2``). Note that the
        "variance" lifelines returns with ``return_variance=True`` is a different quantity: the
        variance of ``min(T, tau)`` itself, not of its estimate; without censoring
        ``se**2 == that variance / n``.

    Raises
    ------
    ValueError
        If ``tau`` is negative or nan, or lies beyond the last follow-up time while the curve is
        still above 0 (the integral would need survival values that were never observed).
    """
    tau = float(tau_months)
    if not (tau >= 0):
        raise ValueError(f"tau_months must be >= 0, got {tau_months!r}")
    if tau > km.times[-1] and km.survival[-1] > 0:
        raise ValueError(
            f"tau_months={tau:g} is beyond the last follow-up time {km.times[-1]:g} months"
        )
    # Step function on [0, tau]: value 1 on [0, times[0]), survival[i] on [times[i], times[i+1]).
    m = int(np.searchsorted(km.times, tau, side="right"))  # steps starting at or before tau
    starts = np.concatenate(([0.0], km.times[:m]))
    ends = np.concatenate((km.times[:m], [tau]))
    values = np.concatenate(([1.0], km.survival[:m]))
    pieces = values * (ends - starts)
    total = float(pieces.sum())
    # A_j = area from times[j] to tau = sum of pieces j+1 .. m  (piece i+1 starts at times[i])
    tail = np.cumsum(pieces[::-1])[::-1]  # tail[i] = sum pieces[i:]
    area_after = tail[1:]  # shape (m,), for times[:m]
    n = km.at_risk[:m].astype(np.float64)
    d = km.events[:m].astype(np.float64)
    surv = n - d
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((surv > 0) & (d > 0), d / (n * np.where(surv > 0, surv, 1.0)), 0.0)
    var = float(np.sum(area_after**2 * w))
    return total, math.sqrt(var)


# ============================================================================ two-arm tests
def _two_arm_table(time_a, event_a, time_b, event_b):
    """Per distinct time of the pooled data: at risk and events in each arm (sort once)."""
    ta, ea = _validate(time_a, event_a, "time_a", "event_a")
    tb, eb = _validate(time_b, event_b, "time_b", "event_b")
    t = np.concatenate((ta, tb))
    e = np.concatenate((ea, eb))
    in_b = np.concatenate((np.zeros(ta.size, bool), np.ones(tb.size, bool)))
    uniq, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    k = uniq.size
    count_b = np.bincount(inverse, weights=in_b, minlength=k)
    d = np.bincount(inverse, weights=e, minlength=k)
    d_b = np.bincount(inverse, weights=e & in_b, minlength=k)
    counts = counts.astype(np.float64)
    # at risk = reverse cumulative sums of the counts
    n = np.cumsum(counts[::-1])[::-1]
    n_b = np.cumsum(count_b[::-1])[::-1]
    keep = d > 0  # only event times contribute
    return n[keep], n_b[keep], d[keep], d_b[keep]


def logrank(time_a, event_a, time_b, event_b):
    """Two-sample log-rank test.

    Parameters
    ----------
    time_a, time_b : array_like of float, shapes (n_a,), (n_b,)
        Follow-up times of arm a and arm b in months.
    event_a, event_b : array_like of bool or {0, 1}, shapes (n_a,), (n_b,)
        Event flags of each arm.

    Returns
    -------
    statistic : float
        Chi-square statistic with 1 degree of freedom, ``(O_a - E_a)^2 / V`` with the
        hypergeometric variance ``V = sum d n_a n_b (n - d) / (n^2 (n - 1))``. Same as lifelines'
        ``logrank_test(...).test_statistic``; ``scipy.stats.logrank`` returns the signed square
        root.
    p_value : float
        Two-sided p-value, ``chi2(1).sf(statistic)``. ``nan`` if there is no event at all (or
        the variance is 0).
    """
    n, n_b, d, d_b = _two_arm_table(time_a, event_a, time_b, event_b)
    n_a = n - n_b
    d_a = d - d_b
    expected_a = d * n_a / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, d * n_a * n_b * (n - d) / (n * n * np.where(n > 1, n - 1, 1.0)), 0.0)
    var = float(v.sum())
    if var <= 0:
        return math.nan, math.nan
    diff = float(d_a.sum() - expected_a.sum())
    stat = diff * diff / var
    return stat, float(stats.chi2.sf(stat, 1))


def _cox_terms(beta, n, n_b, d, d_b, ties):
    """Partial log-likelihood, score and information of one binary covariate at ``beta``."""
    r = math.exp(beta)
    s0 = (n - n_b) + r * n_b  # sum of exp(beta x) over the risk set
    s1 = r * n_b  # sum of x exp(beta x); x binary so S2 == S1
    if ties == "breslow":
        loglik = beta * d_b.sum() - np.sum(d * np.log(s0))
        ratio = s1 / s0
        score = d_b.sum() - np.sum(d * ratio)
        info = np.sum(d * (ratio - ratio * ratio))
        return float(loglik), float(score), float(info)
    # Efron: the l-th (l = 0..d-1) of the d tied deaths sees the risk set minus l/d of the dead.
    dj = d.astype(np.int64)
    group = np.repeat(np.arange(dj.size), dj)
    first = np.concatenate(([0], np.cumsum(dj)[:-1]))
    frac = (np.arange(group.size) - first[group]) / d[group]
    dead0 = (d - d_b) + r * d_b  # sum of exp(beta x) over the deaths
    dead1 = r * d_b
    den = s0[group] - frac * dead0[group]
    num = s1[group] - frac * dead1[group]
    ratio = num / den
    loglik = beta * d_b.sum() - np.sum(np.log(den))
    score = d_b.sum() - np.sum(ratio)
    info = np.sum(ratio - ratio * ratio)
    return float(loglik), float(score), float(info)


def cox_hazard_ratio(time_a, event_a, time_b, event_b, *, ties: str = "breslow",
                     tol: float = 1e-10, max_iter: int = 50):
    """Cox proportional-hazards ratio of arm b versus arm a.

    Fits ``h(t | x) = h0(t) exp(beta x)`` with ``x = 1`` for arm b and ``x = 0`` for arm a by
    Newton-Raphson (with step halving) on the partial likelihood. The risk-set sums come from
    reverse cumulative sums over the pooled data sorted once, so the cost is one sort plus
    O(distinct times) per iteration -- fine for 10^6 patients.

    Parameters
    ----------
    time_a, time_b : array_like of float, shapes (n_a,), (n_b,)
        Follow-up times of arm a (reference) and arm b in months.
    event_a, event_b : array_like of bool or {0, 1}, shapes (n_a,), (n_b,)
        Event flags of each arm.
    ties : {"breslow", "efron"}, optional
        Handling of tied event times. ``"efron"`` reproduces lifelines' ``CoxPHFitter``;
        ``"breslow"`` statsmodels ``PHReg(ties="breslow")`` / R ``coxph(ties="breslow")``. Both
        agree when no event times are tied.
    tol : float, optional
        Convergence tolerance on the Newton step in ``beta``.
    max_iter : int, optional
        Maximum number of Newton iterations.

    Returns
    -------
    hr : float
        Hazard ratio ``exp(beta)`` of arm b relative to arm a.
    lo, hi : float
        95 % Wald confidence limits ``exp(beta -/+ 1.96 se)``, ``se = 1/sqrt(information)``.
    p : float
        Two-sided Wald p-value for ``beta = 0``.

    All four are ``nan`` when the estimate does not exist (no event in one of the arms'
    risk sets, so the likelihood is monotone in ``beta``) or Newton-Raphson fails to converge.
    """
    if ties not in ("breslow", "efron"):
        raise ValueError(f"ties must be 'breslow' or 'efron', got {ties!r}")
    n, n_b, d, d_b = _two_arm_table(time_a, event_a, time_b, event_b)
    nan4 = (math.nan, math.nan, math.nan, math.nan)
    # The score tends to obs - sum(d[n_b > 0]) as beta -> +inf and to obs - sum(d[n_a == 0]) as
    # beta -> -inf; the MLE is finite iff obs lies strictly between (else the likelihood is
    # monotone: e.g. no arm-a event while arm b is still at risk).
    n_a = n - n_b
    obs = d_b.sum()
    lo_b = d[n_a == 0].sum()
    hi_b = d[n_b > 0].sum()
    if d.size == 0 or not (lo_b < obs < hi_b):
        return nan4
    beta = 0.0
    loglik, score, info = _cox_terms(beta, n, n_b, d, d_b, ties)
    converged = False
    for _ in range(max_iter):
        if not info > 0:
            return nan4
        step = score / info
        for _halving in range(60):
            new = beta + step
            new_ll, new_score, new_info = _cox_terms(new, n, n_b, d, d_b, ties)
            if np.isfinite(new_ll) and new_ll >= loglik - 1e-12 * abs(loglik):
                break
            step /= 2.0
        else:
            return nan4
        beta, loglik, score, info = new, new_ll, new_score, new_info
        if abs(step) < tol:
            converged = True
            break
    if not converged or not info > 0:
        return nan4
    se = 1.0 / math.sqrt(info)
    p = float(2.0 * stats.norm.sf(abs(beta / se)))
    return math.exp(beta), math.exp(beta - Z95 * se), math.exp(beta + Z95 * se), p


# ============================================================================ summaries
def summarize_survival(time, event, landmarks=DEFAULT_LANDMARKS) -> dict:
    """Median, its CI and landmark survival rates in the ``summary.json`` shape.

    Parameters
    ----------
    time : array_like of float, shape (n,)
        Follow-up times in months.
    event : array_like of bool or {0, 1}, shape (n,)
        Event flags.
    landmarks : sequence of float, optional
        Landmark times in months (default 12, 24, 36, 60).

    Returns
    -------
    dict
        Exactly ``{"median_months": float | None, "median_ci95": [lo | None, hi | None],
        "rate": {"12": float | None, ...}}`` with plain Python floats (JSON-ready). The median
        and its CI follow :func:`median_survival` (None = not reached). ``rate[str(t)]`` is
        ``S(t)``; keys are ``str(t)`` with integral landmarks written without a decimal point
        (``"12"``). A landmark after the last follow-up time is None, because the KM curve does
        not extend to it -- unless the curve has already dropped to 0, when the rate is 0.0.
    """
    km = kaplan_meier(time, event)
    med, (lo, hi) = median_survival(km)
    rates = {}
    for lm in landmarks:
        value = survival_at(km, float(lm))[0]
        key = str(int(lm)) if float(lm).is_integer() else str(lm)
        rates[key] = None if math.isnan(value) else float(value)
    return {
        "median_months": med,
        "median_ci95": [lo, hi],
        "rate": rates,
    }


def proportion_ci(successes, n, z: float = Z95):
    """Wilson score confidence interval for a binomial proportion.

    Parameters
    ----------
    successes : int or array_like of int
        Number of successes, ``0 <= successes <= n``.
    n : int or array_like of int
        Number of trials, ``>= 0`` (broadcast against ``successes``).
    z : float, optional
        Normal quantile; the default gives a 95 % interval.

    Returns
    -------
    lo, hi : float or ndarray
        Wilson limits in [0, 1] (same as statsmodels ``proportion_confint(method="wilson")``);
        ``nan`` where ``n == 0``.

    Raises
    ------
    ValueError
        If ``n < 0`` or ``successes`` is outside ``[0, n]``.
    """
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    if np.any(m < 0) or np.any(np.isnan(m)):
        raise ValueError("n must be >= 0")
    if np.any(x < 0) or np.any(x > m) or np.any(np.isnan(x)):
        raise ValueError("successes must be between 0 and n")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        z2 = z * z
        denom = 1.0 + z2 / m
        centre = (p + z2 / (2.0 * m)) / denom
        half = z * np.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m)) / denom
        lo = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi
