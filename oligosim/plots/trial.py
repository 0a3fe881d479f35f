"""Virtual randomised trials: power against sample size and distributions over replicates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from oligosim.plots.style import (
    PALETTE,
    arm_colors,
    axes_or_new,
    check_in_unit,
    check_increasing,
    check_nonempty_mapping,
    check_same_length,
    check_scalar,
    check_vector,
    finish,
    format_value,
)

__all__ = ["plot_power", "plot_distribution"]


def plot_power(curves, *, target=0.8, ax=None, title=None):
    """Power of a virtual trial against the number of patients per arm.

    Parameters
    ----------
    curves : dict of str -> dict
        Label -> ``{"n_per_arm": (k,) strictly increasing patients per arm, "power": (k,) in
        [0, 1], "power_ci95": [(k,) lower, (k,) upper]}``, the 95 % CI of the simulated power
        (it must contain ``power``).
    target : float, optional
        Target power in (0, 1), drawn as a horizontal line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One line with markers and one CI band (``fill_between``) per curve, in order and tab10
        colours, then the dashed target line (label ``"Target (80%)"``).
    """
    target = check_scalar("target", target)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target = {target}: must be a power strictly between 0 and 1")
    check_nonempty_mapping("curves", curves)
    colors = arm_colors(curves)
    parsed = {}
    for label, c in curves.items():
        name = f"curves[{label!r}]"
        if not isinstance(c, Mapping):
            raise ValueError(f"{name} = {c!r}: must be a dict with n_per_arm, power and power_ci95")
        missing = [k for k in ("n_per_arm", "power", "power_ci95") if k not in c]
        if missing:
            raise ValueError(f"{name} lacks {', '.join(missing)}: needs n_per_arm, power and power_ci95")
        n = check_vector(f"{name}['n_per_arm']", c["n_per_arm"])
        check_increasing(f"{name}['n_per_arm']", n)
        if n[0] < 1:
            raise ValueError(f"{name}['n_per_arm'][0] = {n[0]}: patients per arm must be >= 1")
        p = check_vector(f"{name}['power']", c["power"])
        ci = c["power_ci95"]
        if isinstance(ci, str) or not isinstance(ci, (Sequence, np.ndarray)) or len(ci) != 2:
            raise ValueError(f"{name}['power_ci95'] = {ci!r}: must be [lower limits, upper limits]")
        lo = check_vector(f"{name}['power_ci95'][0]", ci[0])
        hi = check_vector(f"{name}['power_ci95'][1]", ci[1])
        check_same_length(f"{name}['n_per_arm']", n, **{f"{name}['power']": p, f"{name}['power_ci95'][0]": lo, f"{name}['power_ci95'][1]": hi})
        for nm, arr in ((f"{name}['power']", p), (f"{name}['power_ci95'][0]", lo), (f"{name}['power_ci95'][1]", hi)):
            check_in_unit(nm, arr)
        bad = np.flatnonzero((lo > p) | (p > hi))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}: power[{i}] = {p[i]} is outside power_ci95 [{lo[i]}, {hi[i]}]: the CI must contain the estimate")
        parsed[label] = (n, p, lo, hi)
    ax = axes_or_new(ax)
    for label, (n, p, lo, hi) in parsed.items():
        ax.fill_between(n, lo, hi, color=colors[label], alpha=0.2, linewidth=0)
        ax.plot(n, p, color=colors[label], marker="o", ms=4, linewidth=1.6, label=str(label))
    ax.axhline(target, color="k", linestyle="--", linewidth=1.0, label=f"Target ({100 * target:.0f}%)")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("Patients per arm")
    ax.set_ylabel("Power (shaded: 95% CI)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", frameon=True, framealpha=0.9, fontsize="small")
    return finish(ax, title)

def plot_distribution(values, *, ax=None, xlabel, reference=None, title=None):
    """Histogram of a simulated quantity, e.g. estimated hazard ratios across virtual trials.

    Parameters
    ----------
    values : array_like of float, shape (m,)
        The values, all finite, at least one.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    xlabel : str
        What the values are, with units.
    reference : float, optional
        A reference value (e.g. the true hazard ratio), drawn as a solid line.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The histogram bars (``ax.patches``), then vertical lines: median (solid), 2.5th and
        97.5th percentiles (dashed), and the reference (when given); each line's legend label
        gives its value.
    """
    v = check_vector("values", values)
    ref = check_scalar("reference", reference, allow_none=True)
    ax = axes_or_new(ax)
    ax.hist(v, bins="auto" if v.size > 1 else 1, color=PALETTE[0], alpha=0.6, edgecolor="white", linewidth=0.5, label=f"Values (n = {v.size:,})")
    med = float(np.median(v))
    p_lo, p_hi = (float(q) for q in np.percentile(v, [2.5, 97.5]))
    ax.axvline(med, color="k", linewidth=1.6, label=f"Median: {format_value(med)}")
    ax.axvline(p_lo, color="k", linewidth=1.0, linestyle="--", label=f"2.5–97.5th percentile: {format_value(p_lo)}–{format_value(p_hi)}")
    ax.axvline(p_hi, color="k", linewidth=1.0, linestyle="--")
    if ref is not None:
        ax.axvline(ref, color=PALETTE[3], linewidth=1.8, label=f"Reference: {format_value(ref)}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Count")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return finish(ax, title)
