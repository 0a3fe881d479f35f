"""Kaplan-Meier curves with a numbers-at-risk table (matplotlib).

Follows the package's plotting convention (:mod:`oligosim.plots`).
"""

from __future__ import annotations

import numpy as np

from oligosim.analysis.survival import KaplanMeier, number_at_risk, survival_at
from oligosim.plots.canvas import new_axes

__all__ = ["plot_km", "AT_RISK_GID", "COINCIDE_GID"]

#: group id given to the numbers-at-risk texts (lets tests and callers find them)
AT_RISK_GID = "km-at-risk"
#: group id of the note naming arms whose curves coincide exactly
COINCIDE_GID = "km-coincide"
#: curves at most this far apart (survival probability) anywhere are drawn as twins: a few
#: patients' difference (an urgent course's schedule) would otherwise hide one behind the other
NEAR_GAP = 0.005
#: one line style per arm, in turn, so that coinciding curves stay visible
_LINESTYLES = ("-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 1)))


#: above this many steps a curve is thinned to about the display resolution
_MAX_STEPS = 20_000
_GRID = 4000  # cells per axis used when thinning


def _thin_steps(x: np.ndarray, y: np.ndarray, x_max: float):
    """Drop steps finer than ~1/4000 of the axes (curves with millions of events).

    Keeps the first point of every (time cell, survival cell) visited, plus the last point; both
    coordinates are monotone, so at most ~2 * 4000 points remain and the drawn curve differs from
    the exact one by less than one cell -- far below a pixel.
    """
    if x.size <= _MAX_STEPS:
        return x, y
    span = max(float(x_max), float(x[-1]), 1e-12)
    cx = np.floor(x / span * _GRID)
    cy = np.floor(y * _GRID)
    keep = np.ones(x.size, dtype=bool)
    keep[1:] = (cx[1:] != cx[:-1]) | (cy[1:] != cy[:-1])
    keep[-1] = True
    return x[keep], y[keep]


def _default_at_risk_times(max_months: float, step: float = 12.0) -> np.ndarray:
    return np.arange(0.0, max_months + 1e-9, step)


def _format_count(n: int) -> str:
    return f"{int(n):,}"


def _max_gap(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> float:
    """Largest vertical distance between two right-continuous step curves (x ascending, y at
    and after each x), over the union of their steps."""
    grid = np.union1d(x0, x1)
    a = y0[np.searchsorted(x0, grid, side="right") - 1]
    b = y1[np.searchsorted(x1, grid, side="right") - 1]
    return float(np.max(np.abs(a - b)))


def plot_km(
    curves: dict,
    *,
    ax=None,
    title: str | None = None,
    xlabel: str = "Months",
    ylabel: str = "Survival probability",
    at_risk_times=None,
    show_ci: bool = True,
    max_months: float | None = None,
):
    """Kaplan-Meier curves with shaded 95 % CIs and a numbers-at-risk table.

    Parameters
    ----------
    curves : dict of str -> KaplanMeier
        One curve per arm, from :func:`oligosim.analysis.survival.kaplan_meier`; the key is the legend
        label and the row label of the at-risk table.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; by default a new pyplot-free figure is made.
    title, xlabel, ylabel : str, optional
        Axis title and labels (the x axis is in months).
    at_risk_times : array_like of float, optional
        Times (months) of the at-risk columns; default 0, 12, 24, ... up to the x limit. Pass an
        empty sequence to omit the table.
    show_ci : bool, optional
        Shade the pointwise log(-log) 95 % confidence band.
    max_months : float, optional
        Right end of the x axis; default the last follow-up time over all curves.

    Returns
    -------
    matplotlib.axes.Axes
        The main axes: one step line per arm (in the order of ``curves``), solid, dashed,
        dash-dotted, dotted, dash-dot-dotted, densely dotted in turn; a curve identical to an
        earlier one, or nowhere more than ``NEAR_GAP`` from it, is drawn with wide dashes and no
        second CI band, and an italic note (gid ``"km-coincide"``) names the arms that coincide
        (or nearly, with the largest gap). The at-risk numbers
        are ``ax.texts`` below the x axis (gid ``"km-at-risk"``), one row per arm, coloured as the
        arm's line; save with ``bbox_inches="tight"`` (as :func:`save_figure` does) to keep them.
    """
    if ax is None:
        ax = new_axes()
    if not curves:
        raise ValueError("curves is empty: need at least one KaplanMeier curve")
    for label, km in curves.items():
        if not isinstance(km, KaplanMeier):
            raise TypeError(f"curves[{label!r}] must be a KaplanMeier, got {type(km).__name__}")
    if max_months is None:
        max_months = max(float(km.times[-1]) for km in curves.values())
    max_months = float(max_months)

    colors = []
    drawn: list[tuple[str, np.ndarray, np.ndarray]] = []
    same: list[tuple[str, str]] = []
    for k, (label, km) in enumerate(curves.items()):
        # only times where the curve changes (events) plus the ends are needed for the steps
        keep = km.events > 0
        keep[-1] = True
        x = np.concatenate(([0.0], km.times[keep]))
        y = np.concatenate(([1.0], km.survival[keep]))
        x, y = _thin_steps(x, y, max_months)
        # arms can share a curve exactly (systemic alone and RT at progression have the same PFS):
        # a line style per arm keeps the one drawn last from hiding the other
        # ... and so does a curve within NEAR_GAP of one drawn before (a handful of patients apart)
        twin = next((lab for lab, x0, y0 in drawn if _max_gap(x0, y0, x, y) <= NEAR_GAP), None)
        # a twin is dashed with wide gaps, so the curve it lies on shows through them
        style = (0, (4, 4)) if twin is not None else _LINESTYLES[k % len(_LINESTYLES)]
        (line,) = ax.step(x, y, where="post", label=str(label), linewidth=2.0 if twin is not None else 1.6, linestyle=style)
        color = line.get_color()
        colors.append(color)
        drawn.append((str(label), x, y))
        if twin is not None:
            same.append((str(label), twin, _max_gap(*next((x0, y0) for lab, x0, y0 in drawn if lab == twin), x, y)))
        elif show_ci:
            _, lo, hi = survival_at(km, x)
            ax.fill_between(x, lo, hi, step="post", color=color, alpha=0.2, linewidth=0)
    if same:
        note = "; ".join(
            f"{a} (dashed) coincides with {b}" if gap == 0.0 else f"{a} (dashed) nearly coincides with {b} (at most {100 * gap:.2g} points apart)"
            for a, b, gap in same
        )
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize="small", ha="left", va="bottom", style="italic", gid=COINCIDE_GID)

    ax.set_xlim(0.0, max_months)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", frameon=False)

    if at_risk_times is None:
        at_risk_times = _default_at_risk_times(max_months)
    at_risk_times = np.asarray(at_risk_times, dtype=np.float64)
    if at_risk_times.size:
        ax.set_xticks(at_risk_times)
        _draw_at_risk_table(ax, curves, colors, at_risk_times)
    return ax


def _draw_at_risk_table(ax, curves, colors, times):
    """Numbers at risk as annotations under the x axis (x in data, y in points below the axis)."""
    row_height = 12.0  # points
    top = 36.0  # points below the axis line, leaves room for tick labels and the x label
    counts_by_arm = [number_at_risk(km, times) for km in curves.values()]
    widest = max(len(_format_count(c)) for counts in counts_by_arm for c in counts)
    # row labels sit left of the y axis, clear of the (centred) numbers in the t = 0 column
    label_x = -(8.0 + 0.5 * widest * 5.5) if times.min() <= ax.get_xlim()[0] else -6.0
    ax.annotate(
        "Number at risk",
        xy=(0.0, 0.0),
        xycoords="axes fraction",
        xytext=(label_x, -top),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize="small",
        fontweight="bold",
        annotation_clip=False,
        gid=AT_RISK_GID,
    )
    for row, (label, color, counts) in enumerate(zip(curves, colors, counts_by_arm), start=1):
        offset = -(top + row * row_height)
        ax.annotate(
            str(label),
            xy=(0.0, 0.0),
            xycoords="axes fraction",
            xytext=(label_x, offset),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize="small",
            color=color,
            annotation_clip=False,
            gid=AT_RISK_GID,
        )
        for t, count in zip(times, counts):
            ax.annotate(
                _format_count(count),
                xy=(t, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(0.0, offset),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize="small",
                color=color,
                annotation_clip=False,
                gid=AT_RISK_GID,
            )

