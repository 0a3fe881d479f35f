"""Scoring the model against the targets: one verdict per target and the goodness of fit.

Scoring rule (:func:`score`). With ``half`` = ``tolerance_value x |target|`` (relative) or
``tolerance_value`` (absolute), the tolerance band is ``[target - half, target + half]`` for
``bound = "two_sided"``, ``[target - half, inf)`` for ``"lower"`` (a published lower bound such as
">= 95 %": only a shortfall of more than the tolerance misses) and ``(-inf, target + half]`` for
``"upper"``. A target is *within tolerance* when the model's point estimate lies in the band;
the Monte Carlo CI is reported but not used. A model value that is undefined (a median not
reached, no lesion irradiated) is not within tolerance. ``scaled_error`` is the distance to the
target in units of ``half`` (0 on the allowed side of a one-sided bound), so within tolerance
means ``|scaled_error| <= 1``; :func:`goodness_of_fit` summarises it for calibration.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from oligosim.analysis.metrics import evaluate_mixture, parse_metric
from oligosim.analysis.survival import json_number
from oligosim.calibration.target_map import MapEntry, TargetMap
from oligosim.calibration.targets import BOUNDS, TOLERANCE_KINDS
from oligosim.config import ConfigError, Scenario

__all__ = ["score", "TargetResult", "evaluate_targets", "goodness_of_fit", "median_n"]


def median_n(ns) -> float:
    """The median of the study sizes ``ns`` that are given (None and 0 left out), 1 if none: the
    size assumed for a target whose ``n`` the targets file does not give."""
    known = [n for n in ns if n]
    return float(statistics.median(known)) if known else 1.0


def score(target: float, model: float, *, tolerance: str, tolerance_value: float, bound: str = "two_sided") -> dict:
    """Errors, tolerance band and verdict of one model value against one target.

    Parameters
    ----------
    target, model : float
        Published and model values (``model`` may be nan: undefined).
    tolerance : {"relative", "absolute"}
    tolerance_value : float
        Fraction of the target (relative) or absolute amount, > 0.
    bound : {"two_sided", "lower", "upper"}

    Returns
    -------
    dict
        ``rel_error`` ((model - target) / target, None if undefined or target 0), ``abs_error``,
        ``half_width``, ``band`` [lo, hi] (None for an open side), ``within_tolerance`` (bool),
        ``scaled_error`` (None if the model is undefined).
    """
    if tolerance not in TOLERANCE_KINDS:
        raise ValueError(f"tolerance = {tolerance!r}: must be one of {TOLERANCE_KINDS}")
    if bound not in BOUNDS:
        raise ValueError(f"bound = {bound!r}: must be one of {BOUNDS}")
    if not (tolerance_value > 0):
        raise ValueError(f"tolerance_value = {tolerance_value!r}: must be > 0")
    half = tolerance_value * abs(target) if tolerance == "relative" else tolerance_value
    if half <= 0:
        raise ValueError("a relative tolerance needs a target other than 0")
    lo = None if bound == "upper" else target - half
    hi = None if bound == "lower" else target + half
    defined = model is not None and math.isfinite(model)
    out = {
        "abs_error": (model - target) if defined else None,
        "rel_error": ((model - target) / target) if defined and target != 0 else None,
        "half_width": half,
        "band": [lo, hi],
        "within_tolerance": False,
        "scaled_error": None,
    }
    if not defined:
        return out
    diff = model - target
    if bound == "lower":
        scaled = min(diff, 0.0) / half
    elif bound == "upper":
        scaled = max(diff, 0.0) / half
    else:
        scaled = diff / half
    out["scaled_error"] = scaled
    # a tiny slack so that a value exactly on the band's edge counts as within
    out["within_tolerance"] = abs(scaled) <= 1.0 + 1e-9
    return out


@dataclass(frozen=True)
class TargetResult:
    """One target scored against the model (JSON-able through :meth:`to_json`)."""

    id: str
    study: str
    scenario: str
    arm: Any  #: arm name or {name: weight}
    metric: str
    unit: str
    target: float
    n: int | None
    model: float | None
    model_ci95: tuple  #: (lo, hi), None where undefined
    rel_error: float | None
    abs_error: float | None
    tolerance: dict  #: {"kind", "value", "bound", "band"}
    within_tolerance: bool
    scaled_error: float | None
    patients: int  #: virtual patients simulated per arm
    seed: int

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "metric": self.metric,
            "target": self.target,
            "model": self.model,
            "model_ci95": list(self.model_ci95),
            "rel_error": self.rel_error,
            "abs_error": self.abs_error,
            "tolerance": dict(self.tolerance),
            "within_tolerance": self.within_tolerance,
            "scenario": self.scenario,
            "arm": self.arm,
            "n": self.n,
            "unit": self.unit,
            "scaled_error": self.scaled_error,
            "study": self.study,
            "simulated_patients": self.patients,
            "seed": self.seed,
        }


def evaluate_targets(
    tmap: TargetMap,
    *,
    patients: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, object] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[TargetResult]:
    """Run every scenario the map needs once and score every mapped target.

    Parameters
    ----------
    tmap : TargetMap
        From :func:`load_map`.
    patients, seed : int, optional
        Override each scenario's ``simulation.patients`` / ``simulation.seed``.
    overrides : mapping of dotted path -> value, optional
        Parameter values applied to every scenario with :meth:`Scenario.with_values` (e.g. a
        calibration's candidate ``{"disease.death_hazard_per_cm3_month": 0.002}``).
    threads : int, optional
        numba threads (results do not depend on it).
    progress : callable, optional
        ``progress(n)`` after each chunk of ``n`` simulated patients.

    Returns
    -------
    list of TargetResult
        In targets-file order. Deterministic for given inputs.

    Raises
    ------
    ConfigError
        If ``overrides`` are not valid for some scenario.
    oligosim.simulate.InfeasibleCohort
        If a scenario's eligibility cannot be met.
    """
    from oligosim.simulate import run_scenario

    by_scenario: dict[Path, list[MapEntry]] = {}
    for entry in tmap.entries:
        by_scenario.setdefault(entry.scenario_path, []).append(entry)
    values: dict[str, tuple] = {}
    for sc_path, entries in by_scenario.items():
        sc = tmap.scenarios[sc_path]
        if overrides:
            sc = sc.with_values(dict(overrides))
        wanted = {name for e in entries for name, _ in e.arms}
        arms = [name for name in sc.data["arms"] if name in wanted]
        res = run_scenario(sc, patients=patients, seed=seed, keep="summary", arms=arms, threads=threads, progress=progress)
        for e in entries:
            v = evaluate_mixture([res.arms[name] for name, _ in e.arms], [w for _, w in e.arms], e.metric)
            values[e.id] = (v, res.patients, res.seed)
    out = []
    for e in tmap.entries:
        (model, lo, hi), n_sim, seed_used = values[e.id]
        t = tmap.targets[e.id]
        s = score(t.value, model, tolerance=e.tolerance, tolerance_value=e.tolerance_value, bound=e.bound)
        out.append(
            TargetResult(
                id=e.id,
                study=t.study,
                scenario=e.scenario,
                arm=e.arm_json(),
                metric=e.metric,
                unit=parse_metric(e.metric).unit,
                target=float(t.value),
                n=t.n,
                model=json_number(model),
                model_ci95=(json_number(lo), json_number(hi)),
                rel_error=s["rel_error"],
                abs_error=s["abs_error"],
                tolerance={"kind": e.tolerance, "value": e.tolerance_value, "bound": e.bound, "band": s["band"]},
                within_tolerance=bool(s["within_tolerance"]),
                scaled_error=s["scaled_error"],
                patients=int(n_sim),
                seed=int(seed_used),
            )
        )
    return out


def goodness_of_fit(results: Sequence[TargetResult]) -> dict:
    """Summary of a set of scored targets (JSON-able).

    Returns
    -------
    dict
        ``mapped`` (targets scored), ``within_tolerance`` (count), ``fraction_within``
        (None if nothing mapped), ``undefined`` (ids whose model value is undefined),
        ``loss`` = mean of ``scaled_error**2`` over defined targets and ``weighted_loss`` =
        the same weighted by each target's ``n`` (targets without ``n`` get the median ``n``),
        both None when no target is defined. A calibration minimises ``weighted_loss`` (plus a
        penalty for undefined targets if it wants one).
    """
    mapped = len(results)
    within = sum(1 for r in results if r.within_tolerance)
    defined = [r for r in results if r.scaled_error is not None]
    fill = median_n(r.n for r in results)
    loss = weighted = None
    if defined:
        loss = sum(r.scaled_error**2 for r in defined) / len(defined)
        weights = [float(r.n or fill) for r in defined]
        weighted = sum(w * r.scaled_error**2 for w, r in zip(weights, defined)) / sum(weights)
    return {
        "mapped": mapped,
        "within_tolerance": within,
        "fraction_within": (within / mapped) if mapped else None,
        "undefined": [r.id for r in results if r.scaled_error is None],
        "loss": loss,
        "weighted_loss": weighted,
    }
