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

The two-arm tests (log-rank, Cox) are in :mod:`oligosim.analysis.hazards`, binomial intervals
in :mod:`oligosim.analysis.proportions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "KaplanMeier",
    "kaplan_meier",
    "survival_at",
    "number_at_risk",
    "median_survival",
    "rmst",
    "rmst_summary",
    "summarize_survival",
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


# ============================================================================ summaries
def rmst_summary(km: KaplanMeier, tau_months: float) -> dict:
    """RMST up to ``tau`` with its 95 % CI, in the ``summary.json`` shape.

    Parameters
    ----------
    km : KaplanMeier
        Curve from :func:`kaplan_meier`.
    tau_months : float
        Truncation time in months, ``>= 0``.

    Returns
    -------
    dict
        ``{"rmst_months": float | None, "rmst_ci95": [lo | None, hi | None],
        "rmst_tau_months": float}``: the estimate of :func:`rmst` and the normal-approximation
        interval ``estimate -/+ 1.96 se`` (Greenwood-type se). None when ``tau`` lies beyond the
        last follow-up time while the curve is still above 0 (the area is not estimable).
    """
    tau = float(tau_months)
    if tau > km.times[-1] and km.survival[-1] > 0:
        est = lo = hi = None
    else:
        est, se = rmst(km, tau)
        lo, hi = est - Z95 * se, est + Z95 * se
    return {"rmst_months": est, "rmst_ci95": [lo, hi], "rmst_tau_months": tau}


def summarize_survival(time, event, landmarks=DEFAULT_LANDMARKS, rmst_tau_months: float | None = None) -> dict:
    """Median, its CI, the RMST (optional) and landmark survival rates in the ``summary.json`` shape.

    Parameters
    ----------
    time : array_like of float, shape (n,)
        Follow-up times in months.
    event : array_like of bool or {0, 1}, shape (n,)
        Event flags.
    landmarks : sequence of float, optional
        Landmark times in months (default 12, 24, 36, 60).
    rmst_tau_months : float, optional
        When given, the restricted mean survival time up to this many months is reported next
        to the median (:func:`rmst_summary`).

    Returns
    -------
    dict
        Exactly ``{"median_months": float | None, "median_ci95": [lo | None, hi | None],
        "rate": {"12": float | None, ...}}`` with plain Python floats (JSON-ready), and with
        ``rmst_tau_months`` the keys of :func:`rmst_summary` after the median's. The median
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
    out = {"median_months": med, "median_ci95": [lo, hi]}
    if rmst_tau_months is not None:
        out.update(rmst_summary(km, rmst_tau_months))
    out["rate"] = rates
    return out
