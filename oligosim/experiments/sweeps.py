"""Deterministic sensitivity analyses: one-way (tornado), two-way (grid) and threshold.

All points share the experiment's seed, so the curve or grid is smooth in the parameters
(common random numbers): what moves between points is the parameter's effect, not a new draw
of patients. The Monte Carlo uncertainty that remains is reported for the base case (one-way)
or at every point by a paired bootstrap (threshold).
"""

from __future__ import annotations

import numpy as np

from oligosim.experiments.spec import ExperimentError
from oligosim.io.report import fmt, fmt_ci


def run(ctx) -> dict:
    return {"oneway": _oneway, "twoway": _twoway, "threshold": _threshold}[ctx.exp.kind](ctx)


def _arm_rows(ctx, result, label_prefix=""):
    rows = []
    for arm in ctx.exp.arms:
        for m, (v, lo, hi) in result["arms"][arm].items():
            rows.append([label_prefix + ctx.arm_label(arm), m, v, lo, hi])
    return rows


def _all_metrics(ctx, labels, points, res, filename: str) -> None:
    """Every metric of every arm at every point: a long CSV (the report shows the primary)."""
    rows = []
    for point, r in zip(points, res):
        for arm in ctx.exp.arms:
            for m, (v, lo, hi) in r["arms"][arm].items():
                rows.append(list(point) + [arm, m, v, lo, hi])
    ctx.csv(filename, list(labels) + ["arm", "metric", "value", "ci_lo", "ci_hi"], rows)


def _metric_table(ctx, x_label, xs, res, caption) -> None:
    """A report table of the other metrics (point values) at each point of a sweep."""
    others = [m for m in ctx.exp.all_metrics if m != ctx.exp.outcome]
    if not others:
        return
    headers = [x_label] + [f"{ctx.arm_label(a)}: {m}" for a in ctx.exp.arms for m in others]
    rows = [[x] + [r["arms"][a][m][0] for a in ctx.exp.arms for m in others] for x, r in zip(xs, res)]
    ctx.report.table(headers, rows, caption=caption)


# ============================================================================ one-way
def _oneway(ctx) -> dict:
    exp = ctx.exp
    params = exp.parameters
    value_sets = [{}]
    for p in params:
        value_sets += [{p.path: p.value(p.low)}, {p.path: p.value(p.high)}]
    res = ctx.evaluations(value_sets, desc="one-way")
    base = ctx.primary(res[0])
    if base is None:
        raise ExperimentError(f"the base-case outcome {exp.outcome} is undefined (e.g. a median not reached); use an RMST or a landmark rate")
    rows = []
    for i, p in enumerate(params):
        lo_r, hi_r = ctx.primary(res[1 + 2 * i]), ctx.primary(res[2 + 2 * i])
        swing = None if lo_r is None or hi_r is None else abs(hi_r - lo_r)
        rows.append(
            {
                "path": p.path,
                "label": p.label,
                "base_value": p.base,
                "low_value": p.low,
                "high_value": p.high,
                "low_result": lo_r,
                "high_result": hi_r,
                "swing": swing,
            }
        )
    rows.sort(key=lambda r: -1.0 if r["swing"] is None else r["swing"], reverse=True)
    ctx.methods(
        f"Each of {len(params)} parameters was set to its low and then its high value with all others at their base values "
        f"({1 + 2 * len(params)} evaluations). Ranges are the file's low/high or the 2.5th and 97.5th percentiles of the parameter's distribution."
    )
    ctx.report.heading("Results")
    base_arms = res[0]["arms"]
    ref_txt = "; ".join(f"{ctx.arm_label(a)} {fmt_ci(*base_arms[a][exp.outcome])}" for a in exp.arms)
    ctx.report.paragraph(f"Base case: {ctx.primary_label} = {fmt(base)}. Per arm (95% Monte Carlo CI): {ref_txt}.")
    top = [r for r in rows if r["swing"] is not None][:3]
    if top:
        ctx.report.paragraph(
            "The outcome is most sensitive to "
            + "; ".join(f"{r['label']} ({fmt(r['low_result'])} to {fmt(r['high_result'])})" for r in top)
            + "."
        )
    headers = ["parameter", "path", "base value", "low value", "high value", "result at low", "result at high", "swing"]
    table = [[r["label"], r["path"], r["base_value"], r["low_value"], r["high_value"], r["low_result"], r["high_result"], r["swing"]] for r in rows]
    ctx.report.table(headers, table, caption=f"One-way sensitivity of {ctx.primary_label}")
    ctx.csv("oneway.csv", headers, table)
    ctx.csv("base_case.csv", ["arm", "metric", "value", "ci_lo", "ci_hi"], _arm_rows(ctx, res[0]))
    points = [("base", "")] + [(p.path, v) for p in params for v in (p.low, p.high)]
    _all_metrics(ctx, ["parameter", "parameter_value"], points, res, "metrics.csv")
    from oligosim.plots.sensitivity import plot_tornado

    plot_rows = [r for r in rows if r["swing"] is not None]
    ax = plot_tornado(plot_rows, base=base, xlabel=ctx.primary_axis_label, title=exp.title)
    ctx.save(ax, "tornado.png", f"Tornado diagram: {ctx.primary_label}, each parameter at its low and high value")
    return {"base": base, "base_case": res[0], "parameters": rows}


# ============================================================================ two-way
def _twoway(ctx) -> dict:
    exp = ctx.exp
    px, py = exp.parameters
    xs, ys = px.grid, py.grid
    value_sets = [{px.path: px.value(x), py.path: py.value(y)} for y in ys for x in xs]
    res = ctx.evaluations(value_sets, desc="two-way")
    z = np.array([[np.nan if (v := ctx.primary(res[j * len(xs) + i])) is None else v for i, x in enumerate(xs)] for j, y in enumerate(ys)])
    thr = ctx.exp.settings["threshold"]
    ctx.methods(f"A {len(xs)} x {len(ys)} grid over {px.label} and {py.label} ({len(value_sets)} evaluations).")
    ctx.report.heading("Results")
    headers = [px.label, py.label] + [f"{ctx.arm_label(a)}: {exp.outcome}" for a in exp.arms] + (["difference"] if ctx.comparison else [])
    rows = []
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            r = res[j * len(xs) + i]
            rows.append([x, y] + [r["arms"][a][exp.outcome][0] for a in exp.arms] + ([z[j, i]] if ctx.comparison else []))
    ctx.report.table(headers, rows, caption=f"{ctx.primary_label} over the grid")
    ctx.csv("twoway.csv", headers, rows)
    _all_metrics(ctx, [px.path, py.path], [(x, y) for y in ys for x in xs], res, "metrics.csv")
    above = np.count_nonzero(z > thr)
    ctx.report.paragraph(
        f"{ctx.primary_label} exceeds {fmt(thr)} at {above} of {z.size} grid points; "
        f"range {fmt(np.nanmin(z))} to {fmt(np.nanmax(z))}. The contour marks where it equals {fmt(thr)}."
    )
    from oligosim.plots.sensitivity import plot_twoway

    ax = plot_twoway(
        px.display(xs), py.display(ys), z, xlabel=px.display_label, ylabel=py.display_label, zlabel=ctx.primary_axis_label, threshold=thr, title=exp.title
    )
    ctx.save(ax, "twoway.png", f"Two-way sensitivity: {ctx.primary_label}")
    return {"x": {"path": px.path, "values": list(xs)}, "y": {"path": py.path, "values": list(ys)}, "z": [[None if np.isnan(v) else float(v) for v in row] for row in z], "threshold": thr}


# ============================================================================ threshold
def crossing(x, y, threshold: float):
    """First x at which y crosses ``threshold`` (linear interpolation), or None.

    Parameters
    ----------
    x, y : array_like, shape (k,)
        The sweep, x increasing; None/nan values of y are skipped.
    """
    pts = [(float(a), float(b)) for a, b in zip(x, y) if b is not None and np.isfinite(b)]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        d0, d1 = y0 - threshold, y1 - threshold
        if d0 == 0:
            return x0
        if d0 * d1 < 0:
            return x0 + (x1 - x0) * d0 / (d0 - d1)
    if pts and pts[-1][1] == threshold:
        return pts[-1][0]
    return None


def _threshold(ctx) -> dict:
    exp = ctx.exp
    (p,) = exp.parameters
    thr = exp.settings["value"]
    reps = exp.settings["bootstrap_replicates"]
    if ctx.comparison:
        res = ctx.evaluations([{p.path: p.value(x)} for x in p.grid], desc="threshold", paired=True, paired_replicates=reps)
        arm = ctx.comparison[1]
        y = [r["diff"][arm][exp.outcome] for r in res]
        lo = [r["paired"][arm]["ci95"][0] for r in res]
        hi = [r["paired"][arm]["ci95"][1] for r in res]
        how = (
            f"the difference {ctx.primary_label} and its paired 95% CI (Poisson bootstrap with the same weight for a patient in both arms, "
            f"{reps} replicates)"
        )
    else:
        # one arm: the outcome itself, with its Monte Carlo CI
        res = ctx.evaluations([{p.path: p.value(x)} for x in p.grid], desc="threshold")
        arm = exp.arms[0]
        y, lo, hi = ([r["arms"][arm][exp.outcome][k] for r in res] for k in range(3))
        how = f"{ctx.primary_label} and its 95% Monte Carlo CI"
    x = list(p.grid)
    xd = [float(v) for v in p.display(x)]
    cross = crossing(xd, y, thr)
    cross_lo = crossing(xd, lo, thr)
    cross_hi = crossing(xd, hi, thr)
    ctx.methods(
        f"{p.label} was swept over {len(x)} values. At each value {how} were computed; the threshold is where it "
        f"crosses {fmt(thr)}, by linear interpolation between grid points."
    )
    ctx.report.heading("Results")
    if len(x) < 3:
        ctx.report.paragraph(
            f"Only {len(x)} values were simulated (a quick run?): the figure shows them as separate points, not a curve, and "
            "a crossing between them is a straight-line guess; run with more points before reading a threshold."
        )
    if cross is None:
        ctx.report.paragraph(f"{ctx.primary_label} does not cross {fmt(thr)} within the range studied ({fmt(xd[0])} to {fmt(xd[-1])}).")
    else:
        ctx.report.paragraph(
            f"{ctx.primary_label} crosses {fmt(thr)} at {p.display_label} = {fmt(cross)}"
            + (f" (the CI limits cross at {fmt(cross_lo)} and {fmt(cross_hi)})" if cross_lo is not None or cross_hi is not None else "")
            + "."
        )
    headers = [p.label] + ([p.display_label] if p.report_as != "value" else []) + [f"{ctx.arm_label(a)}: {exp.outcome}" for a in exp.arms] + ["difference" if ctx.comparison else "value", "ci_lo", "ci_hi"]
    rows = []
    for i, r in enumerate(res):
        rows.append([x[i]] + ([xd[i]] if p.report_as != "value" else []) + [r["arms"][a][exp.outcome][0] for a in exp.arms] + [y[i], lo[i], hi[i]])
    ctx.report.table(headers, rows, caption=f"{ctx.primary_label} across {p.label}")
    ctx.csv("threshold.csv", headers, rows)
    _metric_table(ctx, p.display_label, xd, res, f"Other metrics across {p.display_label}")
    _all_metrics(ctx, [p.path], [(v,) for v in x], res, "metrics.csv")
    from oligosim.plots.sensitivity import plot_threshold

    nan = lambda v: np.nan if v is None else v  # noqa: E731
    ax = plot_threshold(
        np.array(xd), np.array([nan(v) for v in y]), np.array([nan(v) for v in lo]), np.array([nan(v) for v in hi]),
        threshold_x=cross, target=thr, xlabel=p.display_label, ylabel=ctx.primary_axis_label, title=exp.title,
    )
    ctx.save(ax, "threshold.png", f"Threshold analysis: {ctx.primary_label} against {p.display_label}, with {'paired ' if ctx.comparison else ''}95% CIs")
    return {"parameter": p.path, "values": x, "display_values": xd, "difference" if ctx.comparison else "value": y, "ci95": [lo, hi], "threshold": thr, "crossing": cross, "crossing_ci": [cross_lo, cross_hi], "points": res}
