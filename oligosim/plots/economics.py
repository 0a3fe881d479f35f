"""Cost-effectiveness figures: the CE plane, acceptability curves with their frontier, EVPI
against willingness to pay and the convergence of the PSA means."""

from __future__ import annotations

import numpy as np

from matplotlib.figure import Figure

from oligosim.plots.style import arm_colors, axes_or_new, check_increasing, check_nonempty_mapping, check_vector, finish

__all__ = ["plot_ce_plane", "plot_ceac", "plot_evpi", "plot_convergence"]


def _money(x, _pos=None):
    # one decimal below 10k, so that ticks 1,500 and 2,000 do not both read "2k"
    if abs(x) >= 10000:
        return f"{x / 1000:,.0f}k"
    return f"{x / 1000:,.1f}k" if abs(x) >= 1000 else f"{x:,.0f}"


def plot_ce_plane(d_qalys, d_costs, *, wtp: float, currency: str, colors=None, ax=None, title=None):
    """Cost-effectiveness plane: incremental QALYs and costs against the reference, per draw.

    Parameters
    ----------
    d_qalys, d_costs : dict of str -> array_like, shape (draws,)
        Per arm label (the reference excluded), its QALYs and costs minus the reference's.
    wtp : float
        Willingness to pay per QALY: the dashed line ``cost = wtp x QALY`` (below it is cost-effective).
    currency : str
    colors : dict of str -> colour, optional
        Per arm label (default: tab10 in the order given); pass the colours of the other
        figures so that an arm looks the same everywhere.
    """
    check_nonempty_mapping("d_qalys", d_qalys)
    ax = axes_or_new(ax, (7.0, 5.5))
    colors = arm_colors(d_qalys) if colors is None else colors
    for label in d_qalys:
        x = check_vector(f"d_qalys[{label!r}]", d_qalys[label])
        y = check_vector(f"d_costs[{label!r}]", d_costs[label])
        ax.scatter(x, y, s=10, alpha=0.35, color=colors[label], edgecolors="none")
        ax.plot([x.mean()], [y.mean()], marker="P", ms=12, mfc=colors[label], mec="k", linestyle="none", label=f"{label} (mean)")
    ax.axhline(0.0, color="k", lw=0.8, ls=":")
    ax.axvline(0.0, color="k", lw=0.8, ls=":")
    ax.update_datalim([[0.0, 0.0]])
    ax.autoscale_view()
    ax.margins(0.08)
    lo, hi = ax.get_xlim()
    xs = np.array([lo, hi])
    ylim = ax.get_ylim()
    ax.plot(xs, wtp * xs, color="0.3", ls="--", lw=1.2, label=f"WTP {wtp:,.0f} {currency}/QALY")
    ax.set_xlim(lo, hi)
    ax.set_ylim(ylim)
    ax.yaxis.set_major_formatter(_money)
    ax.set_xlabel("Incremental QALYs per patient (discounted)")
    ax.set_ylabel(f"Incremental cost per patient ({currency}, discounted)")
    ax.grid(True, alpha=0.2)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return finish(ax, title)


def plot_ceac(wtp, curves, optimal, *, currency: str, ax=None, title=None):
    """Acceptability curves (one line per arm) and the acceptability frontier (the optimal
    arm's curve, drawn thick and grey underneath).

    Parameters
    ----------
    wtp : array_like, shape (w,)
        Increasing willingness-to-pay values.
    curves : dict of str -> array_like, shape (w,)
        Probability that each arm (by label) is the most cost-effective.
    optimal : sequence of str, shape (w,)
        Label of the arm of largest expected net benefit at each value.
    """
    w = check_vector("wtp", wtp)
    check_increasing("wtp", w)
    check_nonempty_mapping("curves", curves)
    ax = axes_or_new(ax, (7.5, 5.0))
    colors = arm_colors(curves)
    frontier = np.array([curves[o][i] for i, o in enumerate(optimal)], float)
    ax.plot(w, frontier, color="0.75", lw=7, solid_capstyle="butt", label="Acceptability frontier", zorder=1)
    for label, p in curves.items():
        ax.plot(w, check_vector(f"curves[{label!r}]", p), color=colors[label], lw=1.8, label=label, zorder=2)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlim(w[0], w[-1])
    ax.xaxis.set_major_formatter(_money)
    ax.set_xlabel(f"Willingness to pay ({currency} per QALY)")
    ax.set_ylabel("Probability most cost-effective")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return finish(ax, title)


def plot_evpi(wtp, evpi, *, currency: str, marks=(), ax=None, title=None):
    """Per-patient EVPI against willingness to pay; ``marks`` are (value, label) vertical lines."""
    w = check_vector("wtp", wtp)
    check_increasing("wtp", w)
    v = check_vector("evpi", evpi)
    ax = axes_or_new(ax, (7.0, 4.5))
    ax.plot(w, v, color="C0", lw=2)
    for x, label in marks:
        ax.axvline(x, color="0.4", ls=":", lw=1)
        ax.text(x, 0.98, f" {label}", transform=ax.get_xaxis_transform(), va="top", fontsize="small", color="0.3")
    ax.set_xlim(w[0], w[-1])
    ax.set_ylim(bottom=0.0)
    ax.xaxis.set_major_formatter(_money)
    ax.yaxis.set_major_formatter(_money)
    ax.set_xlabel(f"Willingness to pay ({currency} per QALY)")
    ax.set_ylabel(f"EVPI per patient ({currency})")
    ax.grid(True, alpha=0.3)
    return finish(ax, title)


def plot_convergence(costs, qalys, *, currency: str, title=None):
    """Running means of each arm's mean cost and QALYs over the PSA draws (two panels).

    Parameters
    ----------
    costs, qalys : dict of str -> array_like, shape (draws,)
        Per arm label, in draw order.

    Returns
    -------
    matplotlib.axes.Axes
        The first panel (its figure holds both).
    """
    check_nonempty_mapping("costs", costs)
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = arm_colors(costs)
    for ax, data, ylab in ((axes[0], costs, f"Mean cost ({currency})"), (axes[1], qalys, "Mean QALYs")):
        for label, v in data.items():
            x = check_vector(f"{label!r}", v)
            run = np.cumsum(x) / np.arange(1, x.size + 1)
            ax.plot(np.arange(1, x.size + 1), run, color=colors[label], lw=1.5, label=label)
        ax.set_xlabel("PSA draws")
        ax.set_ylabel(f"Running {ylab[0].lower()}{ylab[1:]}")
        ax.grid(True, alpha=0.3)
    axes[0].yaxis.set_major_formatter(_money)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    if title:
        axes[0].figure.suptitle(title)
    return axes[0]
