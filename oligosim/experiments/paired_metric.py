"""Paired confidence interval of the difference in one named metric between two arms.

A thin bridge from the metric names of :mod:`oligosim.analysis.metrics` to the paired methods of
:mod:`oligosim.analysis.paired`: Poisson bootstrap with the same weight for a patient in both arms for
survival metrics, the closed-form paired variance (Newcombe interval) for proportions.
"""

from __future__ import annotations

import numpy as np

from oligosim import codes
from oligosim.analysis.metrics import parse_metric
from oligosim.analysis.paired import compare_arms
from oligosim.analysis.paired_binary import paired_binary_difference


def _entry(e: dict) -> dict:
    return {"diff": e["diff"], "ci95": [e["ci_lo"], e["ci_hi"]], "se": e["se_paired"], "method": e.get("ci_method")}


def paired_metric_difference(a, b, metric: str, *, replicates: int = 200, seed: int = 0) -> dict:
    """Difference ``metric(b) - metric(a)`` with its paired 95 % CI.

    Parameters
    ----------
    a, b : ArmResult
        Two arms of one run (``keep="all"``): patient ``i`` is the same virtual patient in both.
    metric : str
        A metric name; survival metrics (median, rate, RMST), ``tox.*``, ``treatment_deaths``
        and ``first_failure.*`` are supported.
    replicates, seed : int
        Poisson-bootstrap replicates and seed (survival metrics).

    Returns
    -------
    dict
        ``{"diff", "ci95": [lo, hi], "se", "method"}``; None where undefined (e.g. a median not
        reached in a bootstrap replicate).

    Raises
    ------
    ValueError
        For a metric without a paired method (e.g. lesion-level local control).
    """
    from oligosim.experiments.spec import ExperimentError

    m = parse_metric(metric)
    if m.kind in ("median", "rate", "rmst"):
        tau = m.months if m.kind == "rmst" else 12.0
        landmarks = (m.months,) if m.kind == "rate" else ()
        cmp = compare_arms(a, b, endpoints=(m.endpoint,), tau_months=tau, landmarks=landmarks, replicates=replicates, seed=seed, independent=False)
        ep = cmp["endpoints"][m.endpoint]
        if m.kind == "median":
            return _entry(ep["median"])
        if m.kind == "rmst":
            return _entry(ep["rmst"])
        return _entry(next(iter(ep["survival"].values())))
    if m.kind == "tox":
        if a.tox is None or b.tox is None:
            raise ExperimentError(f"metric {metric}: paired toxicity needs per-patient toxicity (keep='all')")
        if m.endpoint == "any":
            xa, xb = a.tox.any(axis=1), b.tox.any(axis=1)
        else:
            k = codes.TOX_NAMES.index(m.endpoint)
            xa, xb = a.tox[:, k], b.tox[:, k]
    elif m.kind == "treatment_deaths":
        xa, xb = a["death_cause"] == codes.DEATH_TREATMENT, b["death_cause"] == codes.DEATH_TREATMENT
    elif m.kind == "first_failure":
        k = [codes.FAILURE_NAMES.index(p) for p in m.endpoint.split("+")]
        xa, xb = np.isin(a["first_failure"], k), np.isin(b["first_failure"], k)
    else:
        raise ExperimentError(f"metric {metric}: no paired comparison is defined for it; use a survival metric or a patient-level rate")
    return _entry(paired_binary_difference(np.asarray(xa), np.asarray(xb), independent=False))
