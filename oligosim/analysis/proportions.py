"""Confidence intervals for binomial proportions (toxicity rates, shares of patients)."""

from __future__ import annotations

import numpy as np

from oligosim.analysis.survival import Z95

__all__ = ["proportion_ci"]


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
