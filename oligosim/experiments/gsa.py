"""Global sensitivity analysis: Sobol' indices (Saltelli sampling) and Morris screening, via SALib.

Parameters are sampled on the unit hypercube and mapped to each parameter's range (uniform
between ``low`` and ``high``) or, when it has only a distribution, through its inverse CDF.
Every sample is simulated with the same virtual patients (common random numbers), so the
model output is a deterministic function of the parameters and patient noise does not
masquerade as variance explained.
"""

from __future__ import annotations

import numpy as np

from oligosim.experiments.spec import ExperimentError
from oligosim.io.report import fmt


def _to_values(params, U: np.ndarray) -> np.ndarray:
    cols = []
    for k, p in enumerate(params):
        u = U[:, k]
        if p.low is not None:
            cols.append(p.low + u * (p.high - p.low))
        else:  # pragma: no cover - spec fills low/high from the distribution
            cols.append(p.distribution.ppf(np.clip(u, 1e-9, 1 - 1e-9)))
    return np.column_stack(cols)


def _outputs(ctx, X) -> np.ndarray:
    params = ctx.exp.parameters
    res = ctx.evaluations([{p.path: p.value(v) for p, v in zip(params, row)} for row in X], desc=ctx.exp.kind)
    y = [ctx.primary(r) for r in res]
    bad = sum(v is None for v in y)
    if bad:
        raise ExperimentError(
            f"{ctx.exp.outcome} is undefined (e.g. a median not reached) in {bad} of {len(y)} samples; "
            "use an RMST (os.rmst:60) or a landmark rate for a global sensitivity analysis"
        )
    return np.asarray(y, dtype=float), res


def run(ctx) -> dict:
    exp = ctx.exp
    params = exp.parameters
    problem = {"num_vars": len(params), "names": [p.label for p in params], "bounds": [[0.0, 1.0]] * len(params)}
    s = exp.settings
    from oligosim.plots.sensitivity import plot_sensitivity_indices

    ranges = [[p.label, p.path, p.low, p.high] for p in params]
    if exp.kind == "sobol":
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample

        U = sample.sample(problem, s["base_samples"], calc_second_order=s["second_order"], seed=exp.seed)
        X = _to_values(params, U)
        Y, res = _outputs(ctx, X)
        Si = analyze.analyze(problem, Y, calc_second_order=s["second_order"], num_resamples=s["bootstrap_resamples"], conf_level=0.95, seed=exp.seed)
        names = [p.label for p in params]
        idx = {k: [float(v) for v in Si[k]] for k in ("S1", "S1_conf", "ST", "ST_conf")}
        ctx.methods(
            f"Sobol' indices by Saltelli's scheme (SALib): {s['base_samples']} base samples x ({len(params)} + 2) = {len(Y)} evaluations; "
            f"confidence intervals by {s['bootstrap_resamples']} bootstrap resamples. Parameters vary uniformly over their ranges."
        )
        ctx.report.table(["parameter", "path", "low", "high"], ranges, caption="Parameter ranges")
        ctx.report.heading("Results")
        order = np.argsort(idx["ST"])[::-1]
        rows = [[names[i], idx["S1"][i], idx["S1_conf"][i], idx["ST"][i], idx["ST_conf"][i]] for i in order]
        ctx.report.table(["parameter", "S1", "S1 ±95%", "ST", "ST ±95%"], rows, caption=f"Sobol' indices of {ctx.primary_label}")
        ctx.report.paragraph(
            f"Output variance {fmt(float(np.var(Y)))} (mean {fmt(float(np.mean(Y)))}). First-order indices sum to {fmt(sum(idx['S1']))}: "
            + ("most variance is explained by single parameters." if sum(idx["S1"]) > 0.7 else "interactions between parameters matter.")
            + f" Most influential: {names[order[0]]} (ST = {fmt(idx['ST'][order[0]])})."
        )
        ctx.csv("sobol_indices.csv", ["parameter", "S1", "S1_conf", "ST", "ST_conf"], rows)
        ax = plot_sensitivity_indices({"names": names, **idx}, method="sobol", title=exp.title)
        ctx.save(ax, "sobol.png", f"Sobol' first-order (S1) and total (ST) indices of {ctx.primary_label}, with 95% CIs")
        indices = {"names": names, **idx}
    else:
        from SALib.analyze import morris as analyze
        from SALib.sample import morris as sample

        U = sample.sample(problem, s["trajectories"], num_levels=s["levels"], seed=exp.seed)
        X = _to_values(params, U)
        Y, res = _outputs(ctx, X)
        Si = analyze.analyze(problem, U, Y, num_levels=s["levels"], conf_level=0.95, seed=exp.seed)
        names = [p.label for p in params]
        idx = {k: [float(v) for v in Si[k]] for k in ("mu", "mu_star", "mu_star_conf", "sigma")}
        ctx.methods(
            f"Morris elementary effects (SALib): {s['trajectories']} trajectories on a {s['levels']}-level grid, {len(Y)} evaluations. "
            "Effects are per full range of each parameter (mu*: mean absolute effect; sigma: non-linearity and interactions)."
        )
        ctx.report.table(["parameter", "path", "low", "high"], ranges, caption="Parameter ranges")
        ctx.report.heading("Results")
        order = np.argsort(idx["mu_star"])[::-1]
        rows = [[names[i], idx["mu_star"][i], idx["mu_star_conf"][i], idx["mu"][i], idx["sigma"][i]] for i in order]
        ctx.report.table(["parameter", "mu*", "mu* ±95%", "mu", "sigma"], rows, caption=f"Morris screening of {ctx.primary_label}")
        ctx.report.paragraph(f"Most influential: {names[order[0]]} (mu* = {fmt(idx['mu_star'][order[0]])} per full range).")
        ctx.csv("morris_indices.csv", ["parameter", "mu_star", "mu_star_conf", "mu", "sigma"], rows)
        ax = plot_sensitivity_indices({"names": names, **idx}, method="morris", title=exp.title)
        ctx.save(ax, "morris.png", f"Morris mu* (bars, 95% CI) and sigma (markers) of {ctx.primary_label}")
        indices = {"names": names, **idx}
    headers = [p.path for p in params] + ["primary"]
    ctx.csv("samples.csv", headers, [list(X[i]) + [Y[i]] for i in range(len(Y))])
    return {"indices": indices, "samples": len(Y), "output_mean": float(np.mean(Y)), "output_variance": float(np.var(Y))}
