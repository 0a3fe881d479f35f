"""Probabilistic sensitivity analysis: parameter uncertainty propagated to the strategy choice.

Parameter sets are drawn from the parameters' distributions (Latin hypercube by default, from
the experiment's seed), and every draw is simulated with the same virtual patients (common
random numbers), so the spread across draws is parameter uncertainty, not patient noise.

The decision question is summarised as the probability that each strategy is best when a
grade >= 3 toxicity is weighed against survival: net benefit
``NB = outcome - w * toxicity`` (for a survival outcome in months, ``w`` is the months of
survival a patient would give up to avoid one grade >= 3 event), for ``w`` from 0 to
``psa.weight_max_months``: the analogue, without costs, of a cost-effectiveness acceptability
curve.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from oligosim.analysis.metrics import metric_title, parse_metric
from oligosim.experiments.runner import better_sign
from oligosim.experiments.spec import ExperimentError
from oligosim.io.report import fmt


def draw_parameters(params, draws: int, seed: int, sampling: str = "lhs") -> np.ndarray:
    """Parameter values for each draw.

    Parameters
    ----------
    params : sequence of Parameter
        With distributions.
    draws : int
    seed : int
    sampling : {"lhs", "random"}

    Returns
    -------
    ndarray, shape (draws, len(params))
        Values on each parameter's own scale (inverse CDF of the uniforms).
    """
    d = len(params)
    if sampling == "lhs":
        u = qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed)).random(draws)
    else:
        u = np.random.default_rng(seed).random((draws, d))
    return np.column_stack([p.distribution.ppf(u[:, k]) for k, p in enumerate(params)])


def probability_best(values: dict, tox: dict, weights: np.ndarray, sign: int) -> dict:
    """Share of draws in which each arm has the largest net benefit, at each weight.

    Parameters
    ----------
    values, tox : dict arm -> ndarray, shape (draws,)
        Outcome and toxicity rate per draw.
    weights : ndarray, shape (k,)
    sign : int
        +1 if a larger outcome is better.

    Returns
    -------
    dict arm -> ndarray, shape (k,)
        Probabilities; ties are split equally, so they sum to 1 at each weight.
    """
    arms = list(values)
    V = np.stack([sign * values[a] for a in arms])  # (arms, draws)
    T = np.stack([tox[a] for a in arms])
    out = np.zeros((len(arms), weights.size))
    for k, w in enumerate(weights):
        nb = V - w * T
        best = nb == nb.max(axis=0, keepdims=True)
        out[:, k] = (best / best.sum(axis=0, keepdims=True)).mean(axis=1)
    return {a: out[i] for i, a in enumerate(arms)}


def run(ctx) -> dict:
    exp = ctx.exp
    s = exp.settings
    params = exp.parameters
    X = draw_parameters(params, s["draws"], exp.seed, s["sampling"]) if params else np.empty((s["draws"], 0))
    post = exp.posterior
    if post is not None:  # whole particles of the calibration's joint posterior (experiments/joint.py)
        params = tuple(params) + tuple(_posterior_parameter(exp.scenario, path) for path in post.paths)
        X = np.hstack([X, post.draw(s["draws"], exp.seed)])
    tox_metric = s["toxicity_metric"]
    if tox_metric not in exp.all_metrics:
        exp = _with_metric(ctx, tox_metric)
    from oligosim.economics.inputs import enabled as economics_enabled

    econ = economics_enabled(exp.scenario)
    if econ:  # the cost-effectiveness section needs each arm's mean cost and QALYs per draw
        from oligosim.economics import psa_report

        for m in psa_report.METRICS:
            if m not in exp.all_metrics:
                exp = _with_metric(ctx, m)
    res = ctx.evaluations([{p.path: p.value(v) for p, v in zip(params, row)} for row in X], desc="PSA draws")
    arms = exp.arms
    undefined = [i for i, r in enumerate(res) if any(r["arms"][a][exp.outcome][0] is None for a in arms)]
    if undefined:
        raise ExperimentError(
            f"{exp.outcome} is undefined (e.g. a median not reached) in {len(undefined)} of {len(res)} draws; "
            "use an RMST (os.rmst:60) or a landmark rate as the PSA outcome"
        )
    values = {a: np.array([r["arms"][a][exp.outcome][0] for r in res]) for a in arms}
    tox = {a: np.array([r["arms"][a][tox_metric][0] for r in res]) for a in arms}
    sign = better_sign(exp.outcome)
    weights = np.linspace(0.0, s["weight_max_months"], 49)
    pbest = probability_best(values, tox, weights, sign)

    own = len(exp.parameters)
    ctx.methods(
        f"{s['draws']} parameter sets were drawn"
        + (f" ({'Latin hypercube' if s['sampling'] == 'lhs' else 'independent random'} sampling from seed {exp.seed}) from the distributions of {own} parameters" if own else "")
        + (
            f"{' and' if own else ''} as whole particles of the joint posterior {post.source} ({len(post.weights)} particles, effective sample size "
            f"{post.ess:.0f}; stratified resampling by weight from seed {exp.seed}), {len(post.paths)} parameters set together"
            if post is not None
            else ""
        )
        + f"; each was simulated with the same virtual patients. Net benefit = {exp.outcome} - w x {tox_metric}, w from 0 to {fmt(s['weight_max_months'])}."
    )
    ctx.report.table(
        ["parameter", "path", "distribution"],
        [[p.label, p.path, p.distribution.describe() if p.distribution is not None else f"joint posterior {post.source}"] for p in params],
        caption="Parameters drawn",
    )
    ctx.report.heading("Results")
    rows = []
    summary = {}
    for a in arms:
        v, t = values[a], tox[a]
        summary[a] = {
            "outcome_mean": float(v.mean()),
            "outcome_ci95": [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))],
            "toxicity_mean": float(t.mean()),
            "toxicity_ci95": [float(np.percentile(t, 2.5)), float(np.percentile(t, 97.5))],
            "probability_best_at_w0": float(pbest[a][0]),
        }
        rows.append([ctx.arm_label(a), v.mean(), np.percentile(v, 2.5), np.percentile(v, 97.5), t.mean(), pbest[a][0]])
    ctx.report.table(
        ["arm", f"{exp.outcome} mean", "2.5%", "97.5%", f"{tox_metric} mean", "P(best), w = 0"],
        rows,
        caption="Outcome across parameter draws (percentiles are parameter uncertainty)",
    )
    diff = None
    if ctx.comparison:
        ref, arm = ctx.comparison
        dv = values[arm] - values[ref]
        dt = tox[arm] - tox[ref]
        diff = {
            "outcome_mean": float(dv.mean()),
            "outcome_ci95": [float(np.percentile(dv, 2.5)), float(np.percentile(dv, 97.5))],
            "probability_better": float(np.mean(sign * dv > 0)),
            "toxicity_mean": float(dt.mean()),
        }
        ctx.report.paragraph(
            f"{ctx.primary_label}: mean {fmt(dv.mean())} (95% uncertainty interval {fmt(diff['outcome_ci95'][0])} to "
            f"{fmt(diff['outcome_ci95'][1])}); {ctx.arm_label(arm)} is better in {100 * diff['probability_better']:.0f}% of draws."
        )
        from oligosim.plots.psa import plot_psa_scatter

        ax = plot_psa_scatter(dt, dv, xlabel=f"Difference in {metric_title(tox_metric)}", ylabel=f"Difference in {metric_title(exp.outcome)}", title=f"{ctx.arm_label(arm)} vs {ctx.arm_label(ref)}")
        ctx.save(ax, "psa_scatter.png", f"Each point is one parameter draw: {ctx.arm_label(arm)} minus {ctx.arm_label(ref)}")
    from oligosim.plots.psa import plot_probability_best

    ax = plot_probability_best(
        weights, {ctx.arm_label(a): pbest[a] for a in arms},
        xlabel=f"Toxicity weight w ({'months' if parse_metric(exp.outcome).unit == 'months' else 'outcome units'} per grade ≥3 event)",
        title="Probability each strategy is best",
    )
    ctx.save(ax, "probability_best.png", "Probability that each strategy has the highest net benefit, against the weight given to grade ≥3 toxicity")
    headers = [p.path for p in params] + [f"{a}:{exp.outcome}" for a in arms] + [f"{a}:{tox_metric}" for a in arms]
    ctx.csv("psa_draws.csv", headers, [list(X[i]) + [values[a][i] for a in arms] + [tox[a][i] for a in arms] for i in range(len(res))])
    ctx.csv("probability_best.csv", ["weight"] + list(arms), [[w] + [pbest[a][k] for a in arms] for k, w in enumerate(weights)])
    # correlation of each parameter with the primary result: which uncertainty matters
    prim = np.array([ctx.primary(r) for r in res], dtype=float)
    corr = []
    for k, p in enumerate(params):
        c = float(np.corrcoef(X[:, k], prim)[0, 1]) if np.std(X[:, k]) > 0 and np.std(prim) > 0 else 0.0
        corr.append({"path": p.path, "label": p.label, "spearman": _spearman(X[:, k], prim), "pearson": c})
    ctx.report.table(["parameter", "Spearman rank correlation with the primary result"], [[c["label"], c["spearman"]] for c in corr])
    economics = psa_report.report(ctx, params, X, res) if econ else None
    return {
        "economics": economics,
        "draws": s["draws"],
        "arms": summary,
        "difference": diff,
        "weights": weights.tolist(),
        "probability_best": {a: pbest[a].tolist() for a in arms},
        "parameter_draws": X.tolist(),
        "outcome": {a: values[a].tolist() for a in arms},
        "toxicity": {a: tox[a].tolist() for a in arms},
        "correlations": corr,
    }


def _posterior_parameter(scenario, path: str):
    """A :class:`~oligosim.experiments.spec.Parameter` for a column of the joint posterior (no distribution of its own)."""
    from oligosim.experiments.spec import Parameter

    base = scenario.get(path)
    return Parameter(path=path, label=path, low=None, high=None, grid=(), distribution=None, base=float(base), integer=isinstance(base, int))


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    if np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return float(spearmanr(x, y).statistic)


def _with_metric(ctx, metric):
    from dataclasses import replace

    ctx.exp = replace(ctx.exp, metrics=tuple(ctx.exp.metrics) + (metric,))
    return ctx.exp
