"""One evaluation of an experiment: a scenario with some parameter values, simulated once.

An :class:`Evaluation` is picklable and self-contained, so it can run in this process, in a
worker process or on a Dask worker. Every evaluation of an experiment uses the same seed: the
same virtual patients meet every parameter set and every arm (common random numbers), so
differences between evaluations are due to the parameters, not to patient sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from oligosim.analysis.metrics import evaluate_many
from oligosim.analysis.survival import json_number
from oligosim.config import Scenario


@dataclass(frozen=True)
class Evaluation:
    """Inputs of one evaluation.

    Attributes
    ----------
    scenario : Scenario
        The experiment's scenario (before ``values``).
    values : tuple of (str, float)
        Dotted scenario key -> value for this evaluation.
    arms : tuple of str
        Arms to simulate; the first is the reference of the differences.
    patients, seed : int
        Virtual patients per arm and the root seed (the same for every evaluation: CRN).
    metrics : tuple of str
        Metric names (:mod:`oligosim.analysis.metrics`).
    threads : int or None
        numba threads (None: as set in the process).
    paired_outcome : str or None
        When set, also compute the paired bootstrap CI of this metric's difference between each
        arm and the reference (needs every per-patient column, so it costs memory and time).
    paired_replicates : int
        Bootstrap replicates for ``paired_outcome``.
    """

    scenario: Scenario
    values: tuple
    arms: tuple
    patients: int
    seed: int
    metrics: tuple
    threads: int | None = None
    paired_outcome: str | None = None
    paired_replicates: int = 200


def evaluate(ev: Evaluation) -> dict:
    """Simulate ``ev`` and return its metrics.

    Returns
    -------
    dict
        ``{"arms": {arm: {metric: [value, lo, hi]}}, "diff": {arm: {metric: value - reference}}}``
        with None for undefined values (e.g. a median not reached); ``"paired"``:
        ``{arm: {"diff", "ci95", "se"}}`` when ``paired_outcome`` is set. ``diff`` has every arm
        but the reference.
    """
    from oligosim.simulate import run_scenario

    sc = ev.scenario.with_values(dict(ev.values)) if ev.values else ev.scenario
    keep = "all" if ev.paired_outcome else "summary"
    res = run_scenario(sc, patients=ev.patients, seed=ev.seed, threads=ev.threads, keep=keep, arms=list(ev.arms))
    per_arm = {name: evaluate_many(res.arms[name], ev.metrics) for name in ev.arms}
    ref = ev.arms[0]
    out = {
        "arms": {a: {m: [json_number(x) for x in v] for m, v in d.items()} for a, d in per_arm.items()},
        "diff": {
            a: {m: json_number(per_arm[a][m][0] - per_arm[ref][m][0]) for m in ev.metrics} for a in ev.arms[1:]
        },
    }
    if ev.paired_outcome:
        from oligosim.experiments.paired_metric import paired_metric_difference

        out["paired"] = {
            a: paired_metric_difference(res.arms[ref], res.arms[a], ev.paired_outcome, replicates=ev.paired_replicates, seed=ev.seed)
            for a in ev.arms[1:]
        }
    return out
