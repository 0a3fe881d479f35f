"""Calibration figures: the targets against the model, the objective trace and the posterior."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from oligosim.calibration import CalibrationResult
from oligosim.calibration.posterior import posterior_kind
from oligosim.calibration.scoring import TargetResult

__all__ = ["plot_targets", "plot_predictive", "plot_trace", "plot_marginals", "plot_pairs", "PHASE_COLORS"]

PHASE_COLORS = {"defaults": "black", "screen": "tab:blue", "local": "tab:orange"}


def _log_ticks(axis) -> None:
    """Plain labels on a log axis: a few major ticks as numbers, no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0), numticks=4))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _fig(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def plot_trace(result: CalibrationResult):
    fig = _fig((8.0, 4.2))
    ax = fig.add_subplot()
    evs = [e for e in result.evaluations if math.isfinite(e.objective)]
    x = np.array([e.index for e in evs])
    y = np.array([e.objective for e in evs])
    phases = [e.phase for e in evs]
    names = list(dict.fromkeys(phases))
    cmap = ["tab:blue", "tab:orange", "tab:purple", "tab:green", "tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
    for k, name in enumerate(names):
        sel = np.array([p == name for p in phases])
        ax.scatter(x[sel], y[sel], s=8, alpha=0.7, color=PHASE_COLORS.get(name, cmap[k % len(cmap)]), label=name, linewidths=0)
    order = np.argsort(x)
    ax.step(x[order], np.minimum.accumulate(y[order]), where="post", color="k", linewidth=1.0, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("objective L (weighted mean squared error, tolerance units)")
    ax.set_title("Objective of every candidate evaluated", fontsize="medium")
    ax.legend(fontsize="x-small", ncol=4)
    ax.grid(True, alpha=0.3)
    return fig


def _prior_curve(p, xs):
    """Prior density of parameter ``p`` on its own scale, at ``xs``."""
    if p.prior is not None:
        fr = p.prior.frozen
        return fr.pdf(xs) / (fr.cdf(p.high) - fr.cdf(p.low))
    if p.scale == "log":
        return 1.0 / (xs * (math.log(p.high) - math.log(p.low)))
    return np.full_like(xs, 1.0 / (p.high - p.low))


def plot_marginals(result: CalibrationResult):
    spec, abc = result.spec, result.abc
    d = spec.dim
    cols = min(3, d)
    rows = int(math.ceil(d / cols))
    fig = _fig((3.3 * cols, 2.5 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for i, p in enumerate(spec.parameters):
        ax = axes[i]
        x = np.asarray(p.to_value(abc.particles[:, i]), float)
        if p.scale == "log":
            bins = np.geomspace(p.low, p.high, 21)
            ax.set_xscale("log")
            _log_ticks(ax.xaxis)
        else:
            bins = np.linspace(p.low, p.high, 21)
        ax.hist(x, bins=bins, weights=abc.weights, density=True, color="tab:blue", alpha=0.6, label="posterior")
        xs = np.geomspace(p.low, p.high, 200) if p.scale == "log" else np.linspace(p.low, p.high, 200)
        ax.plot(xs, _prior_curve(p, xs), color="0.4", linestyle=":", label="prior")
        if p.default is not None:
            ax.axvline(p.default, color="0.3", linestyle="--", linewidth=1, label="default")
        ax.axvline(result.best.values[p.path], color="tab:red", linewidth=1.2, label="point fit")
        ax.set_title(p.label, fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yticks([])
    for ax in axes[d:]:
        ax.set_visible(False)
    axes[0].legend(fontsize="xx-small")
    name, sample = posterior_kind(result)
    fig.suptitle(f"{name[0].upper() + name[1:]}: marginals ({sample})", fontsize="medium")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))  # room for the title above the first row
    return fig


def plot_pairs(result: CalibrationResult):
    spec, abc = result.spec, result.abc
    d = spec.dim
    size = max(6.0, 1.45 * d)
    fig = _fig((size, size))
    axes = np.array(fig.subplots(d, d, squeeze=False))
    X = np.column_stack([np.asarray(p.to_value(abc.particles[:, i]), float) for i, p in enumerate(spec.parameters)])
    w = abc.weights
    alpha = 0.15 + 0.85 * w / w.max()
    best = result.best.values
    for i, pi in enumerate(spec.parameters):
        for j, pj in enumerate(spec.parameters):
            ax = axes[i, j]
            ax.tick_params(labelsize=5)
            if j > i:
                # weighted correlation in the cube
                zi, zj = abc.particles[:, i], abc.particles[:, j]
                mi, mj = w @ zi, w @ zj
                c = w @ ((zi - mi) * (zj - mj)) / math.sqrt(max(w @ (zi - mi) ** 2 * (w @ (zj - mj) ** 2), 1e-300))
                ax.text(0.5, 0.5, f"{c:+.2f}", ha="center", va="center", fontsize=8, color="tab:red" if abs(c) >= 0.5 else "0.3")
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            if pj.scale == "log":
                ax.set_xscale("log")
                _log_ticks(ax.xaxis)
            ax.set_xlim(pj.low, pj.high)
            if i == j:
                bins = np.geomspace(pj.low, pj.high, 16) if pj.scale == "log" else np.linspace(pj.low, pj.high, 16)
                ax.hist(X[:, j], bins=bins, weights=w, color="tab:blue", alpha=0.6)
                ax.axvline(best[pj.path], color="tab:red", linewidth=1)
                ax.set_yticks([])
            else:
                if pi.scale == "log":
                    ax.set_yscale("log")
                    _log_ticks(ax.yaxis)
                ax.set_ylim(pi.low, pi.high)
                ax.scatter(X[:, j], X[:, i], s=5, c=[(0.12, 0.47, 0.71, a) for a in alpha], linewidths=0)
                ax.plot([best[pj.path]], [best[pi.path]], marker="*", color="tab:red", markersize=6)
            if i == d - 1:
                ax.set_xlabel(pj.label, fontsize=6)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(pi.label, fontsize=6)
            elif i != j:
                ax.set_yticklabels([])
    name = posterior_kind(result)[0]
    fig.suptitle(f"{name[0].upper() + name[1:]}: pairs (lower), weighted correlations in the search cube (upper), point fit (red)", fontsize="small")
    fig.tight_layout()
    return fig


_XMIN, _XMAX = -1.05, 2.0


def plot_targets(results: Sequence[TargetResult], *, ax=None, title: str | None = None):
    """Dot plot of the relative deviation of the model from each target, grouped by study.

    One row per target: the tolerance band (grey, relative to the target), the model's relative
    deviation ``(model - target) / target`` (dot: green within tolerance, red outside) and its
    Monte Carlo 95 % CI (bar). Rows are grouped by scenario file (one study each). Deviations
    beyond the axis are drawn as triangles at the edge; an undefined model value (e.g. a median
    not reached) as a grey ``NR`` at the right edge.

    Returns
    -------
    matplotlib.axes.Axes
    """
    groups: dict[str, list[TargetResult]] = {}
    for r in results:
        groups.setdefault(Path(r.scenario).stem, []).append(r)

    def row(ax, y, r):
        t = r.target if r.target else 1.0
        band_lo, band_hi = r.tolerance["band"]
        lo = _XMIN if band_lo is None else max((band_lo - r.target) / t, _XMIN)
        hi = _XMAX if band_hi is None else min((band_hi - r.target) / t, _XMAX)
        ax.fill_betweenx([y - 0.35, y + 0.35], lo, hi, color="0.85", linewidth=0)
        if r.model is None:
            ax.text(_XMAX, y, "NR ", color="0.4", fontsize="x-small", va="center", ha="right")
            return r.id
        dev = (r.model - r.target) / t
        color = "tab:green" if r.within_tolerance else "tab:red"
        clo, chi = r.model_ci95
        if clo is not None and chi is not None:
            a, b = (clo - r.target) / t, (chi - r.target) / t
            if b >= _XMIN and a <= _XMAX:
                ax.plot([max(a, _XMIN), min(b, _XMAX)], [y, y], color=color, linewidth=1.2)
        if dev > _XMAX:
            ax.plot([_XMAX], [y], marker=">", color=color, markersize=6, clip_on=False)
            ax.text(_XMAX, y + 0.45, f"{100 * dev:+.0f}%", fontsize="xx-small", ha="right", color=color)
        else:
            ax.plot([max(dev, _XMIN)], [y], marker="o", color=color, markersize=5)
        return r.id

    within = sum(r.within_tolerance for r in results)
    return _study_rows(
        groups, row, ax=ax, xlabel="relative deviation of the model from the target, (model - target) / target",
        title=title or f"Calibration targets: {within} of {len(results)} within tolerance (grey: tolerance band)",
    )


def plot_predictive(check, tmap, *, ax=None):
    """The predictive check: per target, the central 95 % of its replicated studies (bar) and
    their median (dot), as relative deviations from the published value (0), grouped by study.

    Green: the published value lies inside the interval (covered); red: outside. An interval
    that reaches beyond the axis (or a median not reached, +inf) ends in a triangle at the edge.

    Parameters
    ----------
    check : oligosim.calibration.predictive.PredictiveCheck
    tmap : TargetMap
        The map the check ran on (for the study of each target).

    Returns
    -------
    matplotlib.axes.Axes
    """
    study = {e.id: Path(e.scenario).stem for e in tmap.entries}
    groups: dict[str, list[dict]] = {}
    for r in check.rows():
        groups.setdefault(study[r["id"]], []).append(r)

    def row(ax, y, r):
        label = r["id"] + (" (n assumed)" if r["n_assumed"] else "")
        if math.isnan(r["q025"]):
            ax.text(_XMAX, y, "undefined ", color="0.4", fontsize="x-small", va="center", ha="right")
            return label
        t = r["target"] if r["target"] else 1.0
        color = "tab:green" if r["covered"] else "tab:red"
        a, m, b = ((r[k] - r["target"]) / t for k in ("q025", "median", "q975"))
        ax.plot([min(max(a, _XMIN), _XMAX), min(max(b, _XMIN), _XMAX)], [y, y], color=color, linewidth=1.6)
        for v, mark in ((a, "<"), (b, ">")):
            if v < _XMIN or v > _XMAX:
                ax.plot([_XMIN if v < _XMIN else _XMAX], [y], marker=mark, color=color, markersize=5, clip_on=False)
        if _XMIN <= m <= _XMAX:
            ax.plot([m], [y], marker="o", color=color, markersize=4)
        return label

    covered, k = check.coverage()
    return _study_rows(
        groups, row, ax=ax, xlabel="replicated study relative to the published value, (replicate - target) / target",
        title=f"Predictive check ({check.source}, {check.draws} replicated studies at their published sizes): "
        f"{covered} of {k} targets inside the central 95%",
    )


def _study_rows(groups: dict, row, *, ax, xlabel: str, title: str):
    """One row per item of ``groups`` ({study: items}) under a bold study heading, drawn by
    ``row(ax, y, item)`` (which returns the row's label), on the shared relative-deviation axis."""
    from oligosim.plots.canvas import new_axes

    if ax is None:
        n_rows = sum(map(len, groups.values())) + len(groups)
        ax = new_axes(figsize=(9.0, max(3.0, 0.3 * n_rows + 1.2)))
    y = 0
    yticks, ylabels = [], []
    for name, items in groups.items():
        ax.text(_XMIN + 0.02, y, name, fontsize="small", fontweight="bold", va="center", ha="left")
        y += 1
        for item in items:
            ylabels.append(row(ax, y, item))
            yticks.append(y)
            y += 1
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlim(_XMIN, _XMAX)
    ax.set_ylim(y - 0.5, -0.5)
    ax.set_yticks(yticks)
    ax.set_yticklabels(ylabels, fontsize="x-small")
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(_percent_formatter())
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title, fontsize="medium")
    return ax


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{100 * v:+.0f}%")
