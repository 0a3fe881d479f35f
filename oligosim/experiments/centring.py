"""Is an uncertainty analysis about the model it runs? The base value of every varied parameter
against the range or distribution the experiment gives it.

A one-way, Sobol' or Morris analysis varies a parameter over ``[low, high]`` around the model it
runs; a probabilistic analysis draws it from a distribution meant to describe the uncertainty
about that model's value. When the scenario's own value (the calibrated default, usually) lies
outside that range, the analysis is about another model: tornado bars fall on one side of the
base, and a PSA's "base case" is not among its plausible draws. That is an error here, naming the
parameter, its base value and the rule. Sweeps (two-way, threshold) explore strategies or
parameters on purpose, so a base value outside their grid is only a warning.
"""

from __future__ import annotations

import math

#: kinds whose ranges must contain the base value (an error otherwise)
STRICT_KINDS = ("oneway", "sobol", "morris", "psa")
#: kinds that only warn (sweeps)
WARN_KINDS = ("twoway", "threshold")
#: a PSA distribution must put the base value inside its central interval of this probability
PSA_CENTRAL = 0.99


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def base_problem(kind: str, base: float, low, high, grid: tuple, dist) -> str | None:
    """Why the base value is not inside what the experiment varies, or None.

    Parameters
    ----------
    kind : str
        Experiment kind.
    base : float
        The scenario's value of the parameter.
    low, high : float or None
        The range of range-based kinds (already filled from a distribution's 2.5 and 97.5
        percentiles where the file gave none).
    grid : tuple of float
        Grid values of sweep kinds.
    dist : Distribution or None
        The PSA distribution.
    """
    if kind == "psa" and dist is not None:
        tail = (1.0 - PSA_CENTRAL) / 2.0
        lo, hi = (float(v) for v in dist.ppf([tail, 1.0 - tail]))
        if not lo <= base <= hi:
            return (
                f"the scenario's value {_fmt(base)} lies outside the distribution's central {PSA_CENTRAL:.0%} "
                f"[{_fmt(lo)}, {_fmt(hi)}]: a PSA distribution describes the uncertainty about the model's "
                "value, so it must be centred near it (take it from the calibration posterior or a sourced range)"
            )
        return None
    if kind in ("oneway", "sobol", "morris") and low is not None and high is not None:
        if not low <= base <= high:
            return (
                f"the scenario's value {_fmt(base)} lies outside [low, high] = [{_fmt(low)}, {_fmt(high)}]: "
                f"a {kind} analysis varies each parameter around the model it runs, so the range must contain "
                "the base value (centre it on the scenario's value)"
            )
        return None
    if kind in WARN_KINDS and grid:
        lo, hi = min(grid), max(grid)
        if not lo <= base <= hi and math.isfinite(base):
            return f"the scenario's value {_fmt(base)} lies outside the swept values [{_fmt(lo)}, {_fmt(hi)}]"
    return None
