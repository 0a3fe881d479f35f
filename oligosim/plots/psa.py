"""Probabilistic sensitivity analysis: the scatter of parameter draws and the probability that
each arm is best."""

from __future__ import annotations

import numpy as np

from oligosim.plots.style import (
    PALETTE,
    arm_colors,
    axes_or_new,
    check_in_unit,
    check_increasing,
    check_nonempty_mapping,
    check_same_length,
    check_vector,
    finish,
    legend_above,
)

__all__ = ["QUADRANT_GID", "plot_psa_scatter", "plot_probability_best"]


#: gid of the quadrant-share texts of :func:`plot_psa_scatter`
QUADRANT_GID = "psa-quadrant"


def plot_psa_scatter(x, y, *, ax=None, xlabel, ylabel, title=None):
    """Probabilistic sensitivity analysis: one point per parameter draw.

    Parameters
    ----------
    x, y : array_like of float, shape (d,)
        Paired results per draw, e.g. x = difference in grade >= 3 toxicity rate, y =
        difference in OS RMST (months). Finite, at least one draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    xlabel, ylabel : str
        Axis labels with units.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The scatter (``ax.collections[0]``), dotted zero lines (both always in view), the mean
        as a large marker (a ``Line2D`` labelled ``"Mean"``) and in each corner the share of
        draws in that quadrant (texts with gid ``"psa-quadrant"``, x>0/y>0 top right, ...).
        Draws exactly on a zero line belong to no quadrant; their share is added as a fifth
        text when there are any, so the five shares add up to 100 %.
    """
    xs = check_vector("x", x)
    ys = check_vector("y", y)
    check_same_length("x", xs, y=ys)
    ax = axes_or_new(ax, (6.5, 5.5))
    d = xs.size
    ax.scatter(xs, ys, s=12 if d > 500 else 20, alpha=0.35 if d > 500 else 0.6, color=PALETTE[0], edgecolors="none", label=f"Parameter draws (n = {d:,})", zorder=2)
    ax.axhline(0.0, color="k", linewidth=0.8, linestyle=":", zorder=1)
    ax.axvline(0.0, color="k", linewidth=0.8, linestyle=":", zorder=1)
    ax.plot([xs.mean()], [ys.mean()], linestyle="none", marker="P", ms=14, mfc=PALETTE[3], mec="k", mew=1.0, label="Mean", zorder=3)
    # both zero lines in view, so that each corner text sits in its own quadrant
    ax.update_datalim([[0.0, 0.0]])
    ax.autoscale_view()
    ax.margins(0.12)  # room in the corners for the share texts
    quad = {
        (True, True): (0.98, 0.98, "right", "top"),
        (False, True): (0.02, 0.98, "left", "top"),
        (False, False): (0.02, 0.02, "left", "bottom"),
        (True, False): (0.98, 0.02, "right", "bottom"),
    }
    box = dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="0.7", alpha=0.85)
    for (xpos, ypos), (fx, fy, ha, va) in quad.items():
        inside = ((xs > 0) if xpos else (xs < 0)) & ((ys > 0) if ypos else (ys < 0))
        share = np.count_nonzero(inside) / d
        ax.text(fx, fy, f"{100 * share:.1f}%", transform=ax.transAxes, ha=ha, va=va, fontsize="small", bbox=box, gid=QUADRANT_GID, zorder=5)
    on_axis = np.count_nonzero((xs == 0) | (ys == 0))
    if on_axis:
        ax.text(0.5, 0.02, f"on a zero line: {100 * on_axis / d:.1f}%", transform=ax.transAxes, ha="center", va="bottom", fontsize="x-small", bbox=box, gid=QUADRANT_GID, zorder=5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.2)
    # above the axes, clear of the data and of the corner texts
    return legend_above(ax, title, ncol=2)

def plot_probability_best(
    weights,
    probabilities,
    *,
    ax=None,
    xlabel="Toxicity weight (months of RMST per grade ≥3 event)",
    title=None,
):
    """Probability that each arm is best, as a function of a weight (an acceptability curve).

    Parameters
    ----------
    weights : array_like of float, shape (k,)
        x values, strictly increasing (e.g. months of RMST traded per grade >= 3 event).
    probabilities : dict of str -> array_like of float, shape (k,)
        Per arm label, the probability (in [0, 1]) that the arm is best at each weight. At
        every weight the arms' probabilities must add up to 1 within 1e-9 (the caller splits
        ties).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    xlabel : str, optional
        x-axis label with units.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One line per arm in the order of ``probabilities`` (tab10 colours), y axis 0 to 1.
    """
    w = check_vector("weights", weights)
    check_increasing("weights", w)
    check_nonempty_mapping("probabilities", probabilities)
    colors = arm_colors(probabilities)
    curves = {}
    for label, p in probabilities.items():
        arr = check_vector(f"probabilities[{label!r}]", p)
        check_same_length("weights", w, **{f"probabilities[{label!r}]": arr})
        check_in_unit(f"probabilities[{label!r}]", arr)
        curves[label] = arr
    total = np.sum(list(curves.values()), axis=0)
    bad = np.flatnonzero(np.abs(total - 1.0) > 1e-9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"probabilities at weights[{i}] = {w[i]} add up to {float(total[i])!r}: the arms' probabilities must sum to 1 "
            "(within 1e-9) at every weight"
        )
    ax = axes_or_new(ax)
    for label, arr in curves.items():
        ax.plot(w, arr, color=colors[label], linewidth=1.8, marker="o" if w.size <= 30 else None, ms=4, label=str(label), clip_on=False)
    ax.set_ylim(0.0, 1.0)
    if w.size > 1:
        ax.set_xlim(w[0], w[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Probability of being the best arm")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return finish(ax, title)
