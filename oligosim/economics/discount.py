"""Continuous discounting in closed form.

A cost ``c`` at month ``t`` is worth ``c exp(-k t)`` today, with ``k = ln(1 + r) / 12`` per
month for an annual rate ``r`` (so that whole years discount exactly as ``(1 + r)^-years``).
A flow at rate ``u`` per month over ``[a, b]`` is worth ``u (exp(-k a) - exp(-k b)) / k``,
written with ``expm1`` so that it stays exact as ``k -> 0`` (where it is ``u (b - a)``).
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def point(t, k):
    """Discount factor ``exp(-k t)`` of an amount at month ``t`` (``k`` per month)."""
    return math.exp(-k * t)


@njit(cache=True)
def flow(a, b, k):
    """Present value of one unit per month from month ``a`` to ``b`` (0 if ``b <= a``).

    Parameters
    ----------
    a, b : float
        Months.
    k : float
        Continuous discount rate per month (>= 0).
    """
    if b <= a:
        return 0.0
    if k == 0.0:
        return b - a
    # exp(-k a) (1 - exp(-k (b - a))) / k, accurate for small k (b - a)
    return math.exp(-k * a) * (-math.expm1(-k * (b - a))) / k
