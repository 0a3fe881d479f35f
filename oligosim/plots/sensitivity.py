"""Deterministic and global sensitivity analyses: tornado, Sobol'/Morris indices, two-way
grids and threshold sweeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.container import BarContainer

from oligosim.plots.canvas import new_axes
from oligosim.plots.style import (
    PALETTE,
    axes_or_new,
    check_increasing,
    check_nonempty_mapping,
    check_same_length,
    check_scalar,
    check_vector,
    finish,
    format_value,
    legend_above,
)

__all__ = ["plot_tornado", "plot_sensitivity_indices", "plot_twoway", "plot_threshold"]


_TORNADO_KEYS = ("label", "low_value", "high_value", "low_result", "high_result")
_LOW_COLOR = PALETTE[0]
_HIGH_COLOR = PALETTE[1]


def plot_tornado(rows, *, base, ax=None, xlabel="Outcome", title=None):
    """Tornado diagram of a one-way sensitivity analysis.

    Parameters
    ----------
    rows : list of dict
        One per parameter: ``label`` (str), ``low_value`` / ``high_value`` (the parameter's
        values, in its own units) and ``low_result`` / ``high_result`` (the outcome with the
        parameter at that value, in the units of ``xlabel``).
    base : float
        Outcome of the base case (same units).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the number of rows.
    xlabel : str, optional
        Outcome name and units, e.g. ``"Difference in OS RMST (months)"``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Two bar containers (``ax.containers[0]`` = parameter at its low value, ``[1]`` = at
        its high value), rows sorted by swing ``|high_result - low_result|`` with the largest
        at the top (ties keep the given order); each bar end is annotated with the parameter
        value used; a dashed vertical line at ``base``.
    """
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        raise ValueError(f"rows is a {type(rows).__name__}: must be a list of dicts")
    if len(rows) == 0:
        raise ValueError("rows is empty: need at least one parameter")
    base = check_scalar("base", base)
    parsed = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"rows[{i}] = {row!r}: must be a dict with keys {', '.join(_TORNADO_KEYS)}")
        missing = [k for k in _TORNADO_KEYS if k not in row]
        if missing:
            raise ValueError(f"rows[{i}] lacks {', '.join(missing)}: each row needs {', '.join(_TORNADO_KEYS)}")
        vals = {k: check_scalar(f"rows[{i}][{k!r}]", row[k]) for k in _TORNADO_KEYS[1:]}
        parsed.append((str(row["label"]), vals))
    swing = np.array([abs(v["high_result"] - v["low_result"]) for _, v in parsed])
    order = np.argsort(-swing, kind="stable")
    parsed = [parsed[i] for i in order]
    m = len(parsed)

    if ax is None:
        ax = new_axes((7.5, max(2.5, 0.45 * m + 1.3)))
    y = np.arange(m, dtype=np.float64)  # row 0 = largest swing, at the top (axis inverted)
    low = np.array([v["low_result"] for _, v in parsed])
    high = np.array([v["high_result"] for _, v in parsed])
    height = 0.6
    # draw the longer bar of each row first (zorder) so that when both results fall on the
    # same side of the base case the shorter one stays visible in front of it
    low_front = np.abs(low - base) <= np.abs(high - base)
    bl = ax.barh(y, low - base, left=base, height=height, color=_LOW_COLOR, label="Parameter at low value", zorder=2)
    bh = ax.barh(y, high - base, left=base, height=height, color=_HIGH_COLOR, label="Parameter at high value", zorder=2)
    for i in range(m):
        (bl if low_front[i] else bh).patches[i].set_zorder(3)
    ax.axvline(base, color="k", linestyle="--", linewidth=1.0, zorder=4, label=f"Base case ({format_value(base)})")
    for i, (_, v) in enumerate(parsed):
        for res, val in ((v["low_result"], v["low_value"]), (v["high_result"], v["high_value"])):
            right = res >= base
            ax.annotate(
                format_value(val),
                xy=(res, y[i]),
                xytext=(3 if right else -3, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="center",
                fontsize="x-small",
                zorder=5,
            )
    ax.set_yticks(y, [label for label, _ in parsed])
    ax.set_ylim(m - 0.5, -0.5)
    ax.margins(x=0.15)  # room for the value annotations beyond the bar ends
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return legend_above(ax, title, ncol=3)

_SOBOL_KEYS = ("names", "S1", "S1_conf", "ST", "ST_conf")
_MORRIS_KEYS = ("names", "mu_star", "mu_star_conf", "sigma")


def _indices(indices, keys, method):
    check_nonempty_mapping("indices", indices)
    missing = [k for k in keys if k not in indices]
    if missing:
        raise ValueError(f"indices lacks {', '.join(missing)}: method={method!r} needs keys {', '.join(keys)}")
    names = indices["names"]
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)) or len(names) == 0:
        raise ValueError(f"indices['names'] = {names!r}: must be a non-empty list of parameter names")
    out = {"names": [str(x) for x in names]}
    for k in keys[1:]:
        out[k] = check_vector(f"indices[{k!r}]", indices[k])
        if out[k].size != len(out["names"]):
            raise ValueError(
                f"indices[{k!r}] has {out[k].size} values but indices['names'] has {len(out['names'])}: they must have the same length"
            )
    for k in keys[1:]:
        if k.endswith("_conf") or k == "sigma":
            neg = np.flatnonzero(out[k] < 0)
            if neg.size:
                raise ValueError(f"indices[{k!r}][{neg[0]}] = {out[k][neg[0]]}: must be >= 0")
    return out


def plot_sensitivity_indices(indices, *, method="sobol", ax=None, title=None):
    """Global sensitivity indices (SALib output), one row per parameter.

    Parameters
    ----------
    indices : dict
        ``method="sobol"``: ``names`` (p,), first-order ``S1`` (p,), total ``ST`` (p,) and
        ``S1_conf`` / ``ST_conf`` (p,), half-widths of their 95 % CIs (SALib ``sobol.analyze``
        keys; other keys such as ``S2`` are ignored). Indices are shares of output variance
        (dimensionless); a slightly negative S1 (estimation noise) is drawn as it is.
        ``method="morris"``: ``names``, ``mu_star`` (p,) mean absolute elementary effect,
        ``mu_star_conf`` (p,) half-width of its 95 % CI and ``sigma`` (p,) standard deviation
        of the elementary effects, in the output's units.
    method : {"sobol", "morris"}
        Which analysis ``indices`` comes from.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the number of parameters.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Horizontal bars, largest at the top. Sobol: two bar containers (``S1``, ``ST``) per
        parameter, sorted by ST descending, with 95 % error bars. Morris: one bar container of
        mu_star with error bars, sorted by mu_star descending, and sigma as a ``Line2D`` of
        markers (label ``"σ (SD of elementary effects)"``, second in the legend).
    """
    if method not in ("sobol", "morris"):
        raise ValueError(f"method = {method!r}: must be 'sobol' or 'morris'")
    keys = _SOBOL_KEYS if method == "sobol" else _MORRIS_KEYS
    d = _indices(indices, keys, method)
    p = len(d["names"])
    if ax is None:
        ax = new_axes((7.0, max(2.5, (0.5 if method == "sobol" else 0.38) * p + 1.3)))
    y = np.arange(p, dtype=np.float64)
    err_kw = dict(ecolor="k", capsize=2.5, elinewidth=0.9)
    if method == "sobol":
        order = np.argsort(-d["ST"], kind="stable")
        h = 0.38
        # S1 above ST within each parameter's slot (y axis inverted: smaller y is higher)
        ax.barh(y - h / 2, d["S1"][order], height=h, xerr=d["S1_conf"][order], color=PALETTE[0], label="First order (S1)", error_kw=err_kw)
        ax.barh(y + h / 2, d["ST"][order], height=h, xerr=d["ST_conf"][order], color=PALETTE[1], label="Total order (ST)", error_kw=err_kw)
        ax.set_xlabel("Sobol index (share of output variance)")
    else:
        order = np.argsort(-d["mu_star"], kind="stable")
        ax.barh(y, d["mu_star"][order], height=0.6, xerr=d["mu_star_conf"][order], color=PALETTE[0], label="μ* (mean |elementary effect|)", error_kw=err_kw)
        (sigma,) = ax.plot(d["sigma"][order], y, linestyle="none", marker="D", ms=6, mfc="white", mec=PALETTE[3], mew=1.5, label="σ (SD of elementary effects)", zorder=3)
        ax.set_xlabel("Morris μ* and σ (output units)")
    ax.axvline(0.0, color="k", linewidth=0.8)
    ax.set_yticks(y, [d["names"][i] for i in order])
    ax.set_ylim(p - 0.5, -0.5)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    # bars first, then the sigma markers (matplotlib would list lines before bars)
    handles = [h for h in ax.containers if isinstance(h, BarContainer)] + ([] if method == "sobol" else [sigma])
    ax.legend(handles=handles, loc="lower right", frameon=True, framealpha=0.9, fontsize="small")
    return finish(ax, title)

def plot_twoway(x, y, z, *, xlabel, ylabel, zlabel, threshold=0.0, ax=None, title=None):
    """Two-way sensitivity analysis: heatmap of an outcome over a grid of two parameters.

    Parameters
    ----------
    x : array_like of float, shape (nx,)
        Values of the first parameter (grid-cell centres), strictly increasing.
    y : array_like of float, shape (ny,)
        Values of the second parameter, strictly increasing.
    z : array_like of float, shape (ny, nx)
        Outcome at ``(x[i], y[j])`` in ``z[j, i]``, finite.
    xlabel, ylabel, zlabel : str
        Labels with units; ``zlabel`` labels the colour bar.
    threshold : float, optional
        Decision threshold of the outcome (e.g. 0 = no difference): the colour map diverges
        around it when ``z`` has values on both sides, and a contour marks it.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (the colour bar takes room from it).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The ``QuadMesh`` is ``ax.collections[0]``; when ``z`` crosses ``threshold`` (values
        strictly below and above it) on a grid of at least 3 x 3 cells a black ``ContourSet`` at
        that level follows; on a smaller grid a note says why there is none (a contour between
        two grid values would be a straight-line guess); otherwise no contour (not an error).
    """
    xs = check_vector("x", x)
    ys = check_vector("y", y)
    check_increasing("x", xs)
    check_increasing("y", ys)
    try:
        zs = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"z = {z!r}: must be a 2-D array of numbers") from None
    if zs.shape != (ys.size, xs.size):
        raise ValueError(f"z has shape {zs.shape}: must be (len(y), len(x)) = ({ys.size}, {xs.size})")
    if not np.all(np.isfinite(zs)):
        j, i = np.argwhere(~np.isfinite(zs))[0]
        raise ValueError(f"z[{j}, {i}] = {zs[j, i]}: must be finite (no NaN or inf)")
    threshold = check_scalar("threshold", threshold)
    ax = axes_or_new(ax, (7.0, 5.5))
    zmin, zmax = float(zs.min()), float(zs.max())
    crosses = zmin < threshold < zmax
    if crosses:
        # centred on the threshold so that its colour (white) means "indifferent"
        cmap, norm = colormaps["RdBu_r"], TwoSlopeNorm(vcenter=threshold, vmin=zmin, vmax=zmax)
    else:
        cmap, norm = colormaps["viridis"], Normalize(vmin=zmin, vmax=zmax)
    mesh = ax.pcolormesh(xs, ys, zs, cmap=cmap, norm=norm, shading="nearest")
    cbar = ax.figure.colorbar(mesh, ax=ax, label=zlabel)
    if crosses and xs.size >= 3 and ys.size >= 3:
        cs = ax.contour(xs, ys, zs, levels=[threshold], colors="k", linewidths=1.5)
        ax.clabel(cs, fmt={threshold: format_value(threshold)}, fontsize="small")
        # the same level marked on the colour bar says what the black line is
        cbar.ax.axhline(threshold, color="k", linewidth=1.5)
    elif crosses:
        # between two grid values a contour is a straight-line guess, not a result (a --quick grid)
        ax.text(0.01, 0.01, f"no threshold line: fewer than 3 values of a parameter\n(colours still show the side of {format_value(threshold)})",
                transform=ax.transAxes, fontsize="small", va="bottom", ha="left", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return finish(ax, title)

def plot_threshold(x, y, y_low, y_high, *, threshold_x=None, target=0.0, ax=None, xlabel, ylabel, title=None):
    """One-way sweep of a parameter: the outcome with its confidence band and where it crosses
    the target.

    Parameters
    ----------
    x : array_like of float, shape (k,)
        Parameter values, strictly increasing.
    y, y_low, y_high : array_like of float, shape (k,)
        Outcome and its CI limits (``y_low <= y_high``) at each x.
    threshold_x : float, optional
        Where the outcome crosses ``target``, within ``[x[0], x[-1]]``; ``None`` = no crossing
        found (no line drawn).
    target : float
        The outcome's threshold, drawn as a horizontal line (default 0).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    xlabel, ylabel : str
        Axis labels with units.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[0]`` is y(x), the band is a ``fill_between``, then the target line and (when
        given) a dashed vertical line at ``threshold_x`` labelled with its value. With fewer than
        three points the estimates are drawn as separate points with error bars, not as a
        curve, and no crossing is drawn: two points do not make a threshold.
    """
    xs = check_vector("x", x)
    check_increasing("x", xs)
    ys = check_vector("y", y)
    lo = check_vector("y_low", y_low)
    hi = check_vector("y_high", y_high)
    check_same_length("x", xs, y=ys, y_low=lo, y_high=hi)
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"y_low[{i}] = {lo[i]} > y_high[{i}] = {hi[i]}: the lower limit must not exceed the upper")
    tx = check_scalar("threshold_x", threshold_x, allow_none=True)
    if tx is not None and not xs[0] <= tx <= xs[-1]:
        raise ValueError(f"threshold_x = {tx}: must lie within the swept range [{xs[0]}, {xs[-1]}]")
    target = float(check_scalar("target", target))
    ax = axes_or_new(ax)
    few = xs.size < 3
    if few:
        ax.plot(xs, ys, color=PALETTE[0], linestyle="none", marker="o", ms=5, label="Estimate", zorder=3)
        ax.errorbar(xs, ys, yerr=[ys - lo, hi - ys], color=PALETTE[0], linestyle="none", capsize=4, label="95% CI", zorder=3)
        margin = 0.1 * (xs[-1] - xs[0]) if xs.size > 1 else 1.0
        ax.set_xlim(xs[0] - margin, xs[-1] + margin)
        ax.text(0.5, 0.02, f"only {xs.size} values: not a curve, no threshold read", transform=ax.transAxes, ha="center", va="bottom", fontsize="small", style="italic")
        tx = None
    else:
        ax.plot(xs, ys, color=PALETTE[0], linewidth=1.8, marker="o" if xs.size <= 30 else None, ms=4, label="Estimate", zorder=3)
        ax.fill_between(xs, lo, hi, color=PALETTE[0], alpha=0.2, linewidth=0, label="95% CI")
    ax.axhline(target, color="k", linewidth=0.8, zorder=2, label=f"Target: {format_value(target)}" if target != 0 else None)
    if tx is not None:
        ax.axvline(tx, color=PALETTE[3], linestyle="--", linewidth=1.3, label=f"Threshold: {format_value(tx)}", zorder=2)
        # at the foot of the line: the legend usually sits in an upper corner
        ax.annotate(f"{format_value(tx)}", xy=(tx, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 3), textcoords="offset points", ha="left", va="bottom", color=PALETTE[3], fontsize="small")
    if xs.size > 1 and not few:
        ax.set_xlim(xs[0], xs[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", frameon=True, framealpha=0.9, fontsize="small")
    return finish(ax, title)
