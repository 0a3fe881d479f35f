"""The calibration objective and the evaluation of candidate parameter sets.

:func:`target_error` and :func:`objective` implement the formula documented in
:mod:`oligosim.calibration`; :class:`Evaluator` turns unit-cube points into parameter values,
simulates them (in this process, on a local process pool or on Dask, through
:func:`oligosim.experiments.executor.run_tasks`) and records every evaluation.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from oligosim.calibration.scoring import TargetResult


def target_error(r: TargetResult, *, median_scale: str = "log") -> float | None:
    """Error of one target in tolerance units (None if the model value is undefined).

    ``r.scaled_error`` (``(model - target) / half``, 0 on the allowed side of a one-sided
    bound), except for month-valued targets and hazard ratios (unit ``ratio``, compared on the
    log scale as they are estimated) with a relative tolerance ``tol`` < 1 when
    ``median_scale = "log"``: ``ln(model / target) / ln(1 + tol)`` above the target and
    ``ln(model / target) / -ln(1 - tol)`` below it. Both put the band's edges at exactly +-1 (so
    ``|e| <= 1`` still means within tolerance), but the log form treats a model twice the target
    like one half the target instead of letting long medians dominate.
    """
    if r.scaled_error is None or r.model is None:
        return None
    tol = r.tolerance
    if median_scale == "log" and r.unit in ("months", "ratio") and tol["kind"] == "relative" and tol["value"] < 1.0 and r.target > 0:
        if r.model <= 0:
            return -math.inf if tol["bound"] != "upper" else 0.0
        lr = math.log(r.model / r.target)
        e = lr / math.log1p(tol["value"]) if lr > 0 else lr / -math.log1p(-tol["value"])
        if tol["bound"] == "lower":
            e = min(e, 0.0)
        elif tol["bound"] == "upper":
            e = max(e, 0.0)
        return e
    return float(r.scaled_error)


def target_weight(r: TargetResult, settings: dict) -> float:
    """Weight of one target in the objective.

    With ``weighting = "n"``: ``n`` (or ``missing_n_weight`` for a target without n); with a
    ``discrepancy_n`` n0 this becomes ``n n0 / (n + n0)`` = ``1 / (1/n + 1/n0)``. With
    ``weighting = "equal"``: 1.

    Why the discrepancy term: weighting by n treats sampling error as the only difference
    between model and figure, so the largest studies dominate the fit even where the model
    structurally cannot meet them. Adding a model-discrepancy variance (Kennedy & O'Hagan 2001)
    of the size of the sampling variance of an n0-patient study caps every weight below n0.
    """
    if settings.get("weighting", "n") == "equal":
        return 1.0
    n = float(r.n) if r.n else float(settings["missing_n_weight_resolved"])
    n0 = settings.get("discrepancy_n")
    return n if n0 is None else n * float(n0) / (n + float(n0))


def target_cost(e2: float, settings: dict) -> float:
    """Cost ``c_i`` of one target from its squared error ``e2`` (tolerance units squared).

    ``loss = "squared"`` (default): ``c = e2``, a Gaussian error model. ``loss = "student_t"``
    with ``dof`` nu: ``c = nu ln(1 + e2 / nu)``, which is ``2 nu / (nu + 1)`` times the negative
    log-likelihood of a Student-t error with nu degrees of freedom (the same factor for every
    target, so the same minimiser). It equals ``e2`` to first order near 0 and grows only
    logarithmically beyond ``|e| ~ sqrt(nu)``: a target the model structurally cannot meet (a
    heavy-tailed model discrepancy) no longer outweighs many targets just outside their bands.
    It tends to ``e2`` as nu grows.
    """
    if not math.isfinite(e2):
        return math.inf
    if settings.get("loss", "squared") == "student_t":
        nu = float(settings.get("dof") or 1.0)
        return nu * math.log1p(e2 / nu)
    return e2


def objective(results: Sequence[TargetResult], settings: dict) -> tuple[float, list[float | None], list[float]]:
    """Precision-weighted mean cost in tolerance units (mean squared error by default).

    Returns
    -------
    (value, errors, weights)
        ``value = sum_i w_i c_i / sum_i w_i`` with ``c_i`` = :func:`target_cost` of ``e_i^2``
        (``e_i`` from :func:`target_error`), or of ``undefined_penalty`` when the model value
        is undefined; ``errors`` are the ``e_i`` (None where undefined).
    """
    errs, ws = [], []
    num = den = 0.0
    pen = float(settings.get("undefined_penalty", 100.0))
    for r in results:
        e = target_error(r, median_scale=settings.get("median_scale", "log"))
        w = target_weight(r, settings)
        c = target_cost(pen if e is None else e * e, settings)
        num += w * c
        den += w
        errs.append(e)
        ws.append(w)
    return (num / den if den > 0 else math.nan), errs, ws


# ============================================================================ evaluation

_MAPS: dict = {}


def _map(targets_path: str, map_path: str):
    key = (targets_path, map_path)
    if key not in _MAPS:
        from oligosim.calibration.target_map import load_map
        from oligosim.calibration.targets import load_targets

        _MAPS[key] = load_map(map_path, load_targets(targets_path), extra="error")
    return _MAPS[key]


def _score(tmap, task: dict) -> list[TargetResult] | str:
    """Every target of ``tmap`` at ``task["overrides"]``, or the message of an infeasible cohort (a
    parameter set whose eligibility cannot be met), which the objective treats as an infinite
    distance."""
    from oligosim.calibration.scoring import evaluate_targets
    from oligosim.simulate import InfeasibleCohort

    try:
        return evaluate_targets(tmap, patients=task["patients"], seed=task["seed"], overrides=task["overrides"], threads=task["threads"])
    except InfeasibleCohort as exc:
        return f"infeasible cohort: {exc}"


def evaluate_task(task: dict) -> list[TargetResult] | str:
    """Worker function (module level, picklable): :func:`_score` with the map loaded once per worker."""
    return _score(_map(task["targets"], task["map"]), task)


@dataclass
class Evaluation:
    """One evaluated candidate."""

    index: int
    phase: str
    z: np.ndarray | None  #: unit-cube point (None: the scenarios' own defaults)
    values: dict
    objective: float
    errors: list  #: e_i per mapped target (None: undefined)
    within: list  #: within tolerance per mapped target
    note: str = ""


@dataclass
class Evaluator:
    """Batch objective on the unit cube for :mod:`oligosim.calibration.search`.

    Calling it with a ``(k, dim)`` array simulates the ``k`` candidates (as one parallel batch
    when ``workers != 1`` or a scheduler is given, else in this process) and returns their
    objective values; every evaluation is recorded in :attr:`evaluations`.
    """

    spec: object
    workers: int | None = None
    scheduler: object = None
    progress: Callable[[int], None] | None = None
    phase: str = "screen"
    journal: object = None  #: a :class:`~oligosim.calibration.journal.Journal`: candidates already simulated are read from it
    evaluations: list = field(default_factory=list)
    seconds: float = 0.0  #: wall time spent simulating
    serial_seconds: list = field(default_factory=list)  #: wall time of each in-process evaluation

    def _task(self, overrides: dict, threads: int | None, seed: int | None = None) -> dict:
        return {
            "targets": os.fspath(self.spec.targets_path),
            "map": os.fspath(self.spec.map_path),
            "patients": self.spec.patients,
            "seed": self.spec.seed if seed is None else seed,
            "overrides": self.spec.overrides(overrides),  # [fixed] and [tied] too: workers load the map's scenarios from their files
            "threads": threads,
        }

    def results_at(self, overrides: dict, *, seed: int | None = None) -> list[TargetResult] | str:
        """Full target results at a parameter set, in this process (on ``workers`` numba threads)."""
        t0 = time.perf_counter()
        out = _score(self.spec.tmap, self._task(overrides, self.workers, seed))
        dt = time.perf_counter() - t0
        self.seconds += dt
        self.serial_seconds.append(dt)
        if self.progress:
            self.progress(1)
        return out

    def record(self, z, values, res, phase) -> float:
        """Record one evaluated candidate (``res``: target results or an infeasibility message, or
        a journal entry); its objective."""
        n = len(self.spec.tmap.entries)
        if isinstance(res, dict):  # from the journal
            ev = Evaluation(len(self.evaluations), phase, z, values, res["objective"], list(res["errors"]), list(res["within"]), note=res["note"])
        elif isinstance(res, str):
            ev = Evaluation(len(self.evaluations), phase, z, values, math.inf, [None] * n, [False] * n, note=res)
        else:
            val, errs, _ = objective(res, self.spec.objective)
            ev = Evaluation(len(self.evaluations), phase, z, values, val, errs, [r.within_tolerance for r in res])
        self.evaluations.append(ev)
        return ev.objective

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        from oligosim.experiments.executor import run_tasks

        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        values = [self.spec.values(z) for z in Z]
        res: list = [self.journal.get(z) if self.journal is not None else None for z in Z]
        todo = [i for i, r in enumerate(res) if r is None]
        if self.progress and len(todo) < len(Z):
            self.progress(len(Z) - len(todo))
        parallel = len(todo) > 1 and (self.scheduler is not None or self.workers != 1)
        if parallel:
            t0 = time.perf_counter()
            tasks = [self._task(values[i], 1) for i in todo]

            def done(k, r):  # each candidate reaches the journal as soon as it is simulated
                self._journal(Z[todo[k]], r)

            for i, r in zip(todo, run_tasks(evaluate_task, tasks, scheduler=self.scheduler, workers=self.workers, progress=self.progress, on_result=done)):
                res[i] = r
            self.seconds += time.perf_counter() - t0
        else:
            for i in todo:
                res[i] = self.results_at(values[i])
                self._journal(Z[i], res[i])
        return np.array([self.record(z.copy(), v, r, self.phase) for z, v, r in zip(Z, values, res)])

    def _journal(self, z, res) -> None:
        """Append one simulated candidate (target results or an infeasibility message) to the journal."""
        if self.journal is None:
            return
        n = len(self.spec.tmap.entries)
        if isinstance(res, str):
            self.journal.append([(z, math.inf, [None] * n, [False] * n, res)])
        else:
            val, errs, _ = objective(res, self.spec.objective)
            self.journal.append([(z, val, errs, [r.within_tolerance for r in res], "")])
