"""Posterior predictive checks: would a study of the published size, simulated from the fitted
model, give the published figure? (issue 20 item 3)

For each of ``draws`` parameter sets, drawn by weight from the ABC posterior (or all equal to the
point fit when there is no posterior), every study the map uses is simulated again with as many
virtual patients per arm as the study had (the target's ``n``; the objective's weight for
targets without ``n``, ``objective.missing_n_weight``, flagged ``n_assumed``) and a seed of its
own. The spread of a target's replicates then holds both the parameter uncertainty and the
sampling noise of a study of that size, which is what the published figure carries. A target is
**covered** when its published value lies inside the central 95 % of its replicates; for a
model that describes the studies well about 95 % of targets are covered, and a target far in
a tail (``p_two_sided`` small) is a miss no re-weighting of the fit can explain.

Replicates that are undefined are handled by what they mean: a median survival a replicate
does not reach is longer than any reached one (+inf, so it still counts against a short
published median); any other undefined value (no lesion irradiated in the replicate) is left
out, and the count left out is reported.

Targets whose map entry mixes arms (weights) simulate every arm at the study's ``n``: the mixed
survival figures are those of a randomised mixture of ``n`` patients
(:func:`~oligosim.analysis.metrics.evaluate_mixture`), while mixed proportions average arms of
``n`` patients each and so vary a little less than a study of ``n`` would.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from oligosim.analysis.metrics import evaluate_mixture, parse_metric

__all__ = ["PredictiveCheck", "predictive_check", "replicate_studies", "replicate_task", "study_sizes"]

#: replicate seeds start here above the calibration seed (the fit uses seed, the fresh-patient
#: check seed + 1_000_003), so no replicate shares the fit's virtual patients
SEED_OFFSET = 2_000_003


@dataclass(frozen=True)
class PredictiveCheck:
    """Replicates of every mapped target and their verdicts.

    Attributes
    ----------
    ids : tuple of str
        Target ids, in map order (K targets).
    targets : ndarray, shape (K,)
        Published values.
    study_n : ndarray of int, shape (K,)
        Virtual patients per arm of each target's replicates.
    n_assumed : ndarray of bool, shape (K,)
        True where the targets file gives no ``n`` (``study_n`` is then the objective's weight).
    samples : ndarray, shape (draws, K)
        Replicate values (+inf: a median not reached; nan: undefined otherwise, or an infeasible
        cohort).
    source : str
        ``"posterior"`` (draws by weight from the ABC particles) or ``"point fit"``.
    seed : int
        Seed of the first replicate (replicate m uses ``seed + m``).
    """

    ids: tuple
    targets: np.ndarray
    study_n: np.ndarray
    n_assumed: np.ndarray
    samples: np.ndarray
    source: str
    seed: int

    @property
    def draws(self) -> int:
        return int(self.samples.shape[0])

    def rows(self) -> list[dict]:
        """Per target: the 2.5/50/97.5 % quantiles of its defined replicates, whether the published
        value lies between the outer two (``covered``), the two-sided tail probability of the
        published value among the replicates and the number of undefined replicates."""
        out = []
        for k, tid in enumerate(self.ids):
            x = self.samples[:, k]
            x = x[~np.isnan(x)]
            t = float(self.targets[k])
            row = {"id": tid, "target": t, "study_n": int(self.study_n[k]), "n_assumed": bool(self.n_assumed[k]), "undefined": int(self.draws - x.size)}
            if x.size:
                lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975], method="inverted_cdf")
                below, above = float(np.mean(x < t)), float(np.mean(x > t))
                row.update(q025=float(lo), median=float(med), q975=float(hi), covered=bool(lo <= t <= hi), p_two_sided=min(1.0, 2.0 * min(1.0 - above, 1.0 - below)))
            else:
                row.update(q025=math.nan, median=math.nan, q975=math.nan, covered=False, p_two_sided=math.nan)
            out.append(row)
        return out

    def coverage(self) -> tuple[int, int]:
        """(targets covered, targets)."""
        rows = self.rows()
        return sum(r["covered"] for r in rows), len(rows)

    def to_json(self) -> dict:
        """JSON-able summary: a quantile at +inf (medians not reached) is ``"not reached"``, an
        undefined one null."""
        covered, k = self.coverage()
        return {"source": self.source, "draws": self.draws, "seed": self.seed, "covered": covered, "targets": k, "rows": [_cells(r) for r in self.rows()]}

    def write_csv(self, path: str | os.PathLike) -> None:
        rows = [_cells(r) for r in self.rows()]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\n")
            w.writeheader()
            w.writerows(rows)


def _cells(row: dict) -> dict:
    out = dict(row)
    for key in ("q025", "median", "q975", "p_two_sided"):
        v = out[key]
        out[key] = "not reached" if v == math.inf else (None if not math.isfinite(v) else v)
    return out


def study_sizes(tmap, missing_n: float) -> tuple[np.ndarray, np.ndarray]:
    """Patients per arm of each mapped target's replicates (its ``n``, else ``missing_n``), and
    whether the size was assumed."""
    fallback = max(1, int(round(missing_n)))
    ns, assumed = [], []
    for e in tmap.entries:
        n = tmap.targets[e.id].n
        ns.append(int(n) if n else fallback)
        assumed.append(not n)
    return np.array(ns, dtype=np.int64), np.array(assumed, dtype=bool)


def _replicate(tmap, overrides: dict, sizes: Sequence[int], seed: int) -> list[float]:
    """Every mapped target once, each study simulated at its own size with ``seed``."""
    from oligosim.simulate import InfeasibleCohort, run_scenario

    groups: dict = {}
    for k, e in enumerate(tmap.entries):
        groups.setdefault((e.scenario_path, int(sizes[k])), []).append((k, e))
    out = [math.nan] * len(tmap.entries)
    for (path, n), items in groups.items():
        sc = tmap.scenarios[path].with_values(dict(overrides)) if overrides else tmap.scenarios[path]
        wanted = {name for _, e in items for name, _ in e.arms}
        arms = [name for name in sc.data["arms"] if name in wanted]
        try:
            res = run_scenario(sc, patients=n, seed=seed, keep="summary", arms=arms, threads=1)
        except InfeasibleCohort:
            continue  # left undefined (nan): counted, not guessed
        for k, e in items:
            v = evaluate_mixture([res.arms[name] for name, _ in e.arms], [w for _, w in e.arms], e.metric)[0]
            if not math.isfinite(v) and parse_metric(e.metric).kind == "median":
                v = math.inf  # not reached in the replicate: longer than any reached median
            out[k] = float(v)
    return out


def replicate_task(task: dict) -> list[float]:
    """Worker function (module level, picklable): one replicate of every target."""
    from oligosim.calibration.evaluation import _map

    return _replicate(_map(task["targets"], task["map"]), task["overrides"], task["sizes"], task["seed"])


def predictive_check(spec, points: Sequence[dict], weights: Sequence[float] | None = None, *, draws: int, source: str, **kw) -> PredictiveCheck:
    """:func:`replicate_studies` of a calibration: its map, ``[fixed]`` and ``[tied]`` settings, seed and the
    objective's ``missing_n_weight`` as the size of studies without ``n``."""
    from oligosim.calibration.tied import tied_values

    points = [{**p, **tied_values(spec.tied, p, spec.parameters)} for p in points]  # [tied] keys follow each point
    return replicate_studies(
        spec.tmap, points, weights, draws=draws, source=source, targets_path=spec.targets_path, map_path=spec.map_path,
        seed=spec.seed, missing_n=spec.objective["missing_n_weight_resolved"], fixed=spec.fixed, **kw,
    )


def replicate_studies(
    tmap,
    points: Sequence[dict],
    weights: Sequence[float] | None = None,
    *,
    draws: int,
    source: str,
    targets_path,
    map_path,
    seed: int,
    missing_n: float,
    fixed: dict | None = None,
    workers: int | None = None,
    scheduler=None,
    progress: Callable[[int], None] | None = None,
) -> PredictiveCheck:
    """Simulate ``draws`` replicates of every study of the map ``tmap``.

    Parameters
    ----------
    tmap : TargetMap
    points : sequence of dict
        Parameter sets ({path: value}; ``{}``: the scenarios as they are); ``fixed`` is added to
        each.
    weights : sequence of float, optional
        Their weights (normalised); replicate m uses a point drawn by weight. Default: equal.
    draws : int
        Replicates (>= 1).
    source : str
        What the points are, for the report (``"posterior"``, ``"point fit"``).
    targets_path, map_path : path-like
        The files ``tmap`` was loaded from (worker processes load it again).
    seed : int
        Replicate m simulates with seed ``seed + SEED_OFFSET + m``.
    missing_n : float
        Study size of targets without ``n``.
    workers, scheduler, progress
        As for the calibration's batches; the result does not depend on them.

    Returns
    -------
    PredictiveCheck
        Deterministic for given inputs.
    """
    from oligosim.experiments.executor import run_tasks

    if draws < 1:
        raise ValueError(f"draws = {draws}: must be >= 1")
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=float)
    if w.size != len(points) or w.size == 0 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be one finite non-negative number per point, not all 0")
    rng = np.random.default_rng([seed, SEED_OFFSET])
    pick = rng.choice(w.size, size=draws, p=w / w.sum())
    sizes, assumed = study_sizes(tmap, missing_n)
    seed0 = seed + SEED_OFFSET
    fixed = dict(fixed or {})
    tasks = [
        {"targets": os.fspath(targets_path), "map": os.fspath(map_path), "overrides": {**fixed, **points[i]}, "sizes": [int(s) for s in sizes], "seed": seed0 + m}
        for m, i in enumerate(pick)
    ]
    if workers == 1 and scheduler is None:
        results = []
        for t in tasks:
            results.append(_replicate(tmap, t["overrides"], t["sizes"], t["seed"]))
            if progress:
                progress(1)
    else:
        results = run_tasks(replicate_task, tasks, scheduler=scheduler, workers=workers, progress=progress)
    return PredictiveCheck(
        ids=tuple(e.id for e in tmap.entries),
        targets=np.array([float(tmap.targets[e.id].value) for e in tmap.entries]),
        study_n=sizes,
        n_assumed=assumed,
        samples=np.array(results, dtype=float).reshape(draws, len(tmap.entries)),
        source=source,
        seed=seed0,
    )
