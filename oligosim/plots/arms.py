"""Per-arm summaries as bars: the pattern of first failure and grade >= 3 toxicity."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

from oligosim import codes
from oligosim.analysis.proportions import proportion_ci
from oligosim.plots.style import arm_colors, axes_or_new, check_nonempty_mapping, check_probability, finish

__all__ = ["FAILURE_LABELS", "TOX_LABELS", "plot_failure_patterns", "plot_toxicity"]


#: readable legend labels of the first-failure categories (keys of ``codes.FAILURE_NAMES``)
FAILURE_LABELS = {
    "none": "No progression",
    "in_field": "In-field",
    "marginal_regional": "Marginal / regional",
    "out_of_field_new": "Out-of-field, new lesions",
    "out_of_field_regrowth": "Out-of-field, regrowth",
    "widespread": "Widespread",
}
# category colours: "no progression" neutral, failures from light to dark as they get worse
_FAILURE_COLORS = {
    "none": "#bdbdbd",
    "in_field": "#fee08b",
    "marginal_regional": "#fdae61",
    "out_of_field_new": "#f46d43",
    "out_of_field_regrowth": "#d73027",
    "widespread": "#a50026",
}

#: readable axis labels of the toxicity types (``codes.TOX_NAMES`` plus "any")
TOX_LABELS = {
    "leukopenia": "Leukopenia",
    "neutropenia": "Neutropenia",
    "thrombocytopenia": "Thrombocytopenia",
    "pneumonitis": "Pneumonitis",
    "esophagitis": "Esophagitis",
    "esophageal_fistula": "Esophageal fistula",
    "fatigue": "Fatigue",
    "nausea": "Nausea",
    "vomiting": "Vomiting",
    "cardiac": "Cardiac",
    "myelopathy": "Myelopathy",
    "bowel": "Bowel",
    "conduit": "Conduit",
    "any": "Any",
}

def _arm_entries(arms, key):
    check_nonempty_mapping("arms", arms)
    colors = arm_colors(arms)  # also enforces the 10-arm limit
    for label, entry in arms.items():
        if not isinstance(entry, Mapping) or key not in entry:
            raise ValueError(f"arms[{label!r}] has no {key!r}: must be a summary.json arm entry (summarize_arm)")
    return colors


def plot_failure_patterns(arms, *, ax=None, title=None):
    """Pattern of first failure per arm, as 100 % stacked bars.

    Parameters
    ----------
    arms : dict of str -> dict
        Arm label -> summary.json arm entry (:func:`oligosim.analysis.summary.summarize_arm`); uses
        ``entry["first_failure"]``, the shares (in [0, 1], adding up to 1 within 1e-6) of
        patients by first failure, keyed by ``codes.FAILURE_NAMES``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per failure category (in ``codes.FAILURE_NAMES`` order, bottom to
        top), one bar per arm; heights in percent, summing to 100 per arm. Segments of at
        least 4 % are labelled with their percentage.
    """
    _arm_entries(arms, "first_failure")
    shares = np.zeros((len(arms), len(codes.FAILURE_NAMES)))
    for a, (label, entry) in enumerate(arms.items()):
        ff = entry["first_failure"]
        if not isinstance(ff, Mapping):
            raise ValueError(f"arms[{label!r}]['first_failure'] = {ff!r}: must be a dict of shares")
        missing = [k for k in codes.FAILURE_NAMES if k not in ff]
        extra = [k for k in ff if k not in codes.FAILURE_NAMES]
        if missing or extra:
            raise ValueError(
                f"arms[{label!r}]['first_failure'] has keys {sorted(ff)}: must be exactly {', '.join(codes.FAILURE_NAMES)}"
            )
        for f, k in enumerate(codes.FAILURE_NAMES):
            shares[a, f] = check_probability(f"arms[{label!r}]['first_failure'][{k!r}]", ff[k])
        if abs(shares[a].sum() - 1.0) > 1e-6:
            raise ValueError(
                f"arms[{label!r}]['first_failure'] shares add up to {float(shares[a].sum())!r}: must sum to 1 (within 1e-6)"
            )
    pct = 100.0 * shares
    ax = axes_or_new(ax, (min(max(4.5, 1.4 * len(arms) + 3.0), 12.0), 5.0))
    x = np.arange(len(arms))
    bottom = np.zeros(len(arms))
    for f, k in enumerate(codes.FAILURE_NAMES):
        bars = ax.bar(x, pct[:, f], bottom=bottom, width=0.6, color=_FAILURE_COLORS[k], edgecolor="white", linewidth=0.8, label=FAILURE_LABELS[k])
        labels = [f"{v:.0f}%" if v >= 4.0 else "" for v in pct[:, f]]
        ax.bar_label(bars, labels=labels, label_type="center", fontsize="x-small", color="white" if k == "widespread" else "k")
        bottom += pct[:, f]
    # arm labels are long phrases: wrapped rather than rotated, so they stay under their bar
    ax.set_xticks(x, [textwrap.fill(str(label), 18) for label in arms], fontsize="small")
    ax.set_ylim(0.0, 100.0)
    ax.set_ylabel("Patients (%) by first failure")
    # reversed so the legend reads top to bottom like the stack
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small", title="First failure")
    return finish(ax, title)

_TOX_KEYS = codes.TOX_NAMES + ("any",)


def plot_toxicity(arms, *, ax=None, types=None, title=None):
    """Grade >= 3 toxicity rates per type, grouped bars per arm with 95 % Wilson intervals.

    Parameters
    ----------
    arms : dict of str -> dict
        Arm label -> summary.json arm entry; uses ``entry["toxicity_grade3plus"]`` (share of
        patients in [0, 1] per type of ``codes.TOX_NAMES`` and ``"any"``) and
        ``entry["patients"]`` (n, the denominator of the intervals).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    types : sequence of str, optional
        Which types to show, in this order (names from ``codes.TOX_NAMES`` or ``"any"``);
        default every type with a nonzero rate in some arm, then ``"any"``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per arm (in the order of ``arms``, tab10 colours), one bar per type,
        heights in percent; error bars are the Wilson 95 % interval of
        ``round(rate * n)`` events among ``n`` patients (:func:`oligosim.analysis.proportions.proportion_ci`).
    """
    colors = _arm_entries(arms, "toxicity_grade3plus")
    rates, ns = {}, {}
    for label, entry in arms.items():
        tox = entry["toxicity_grade3plus"]
        if not isinstance(tox, Mapping):
            raise ValueError(f"arms[{label!r}]['toxicity_grade3plus'] = {tox!r}: must be a dict of rates")
        missing = [k for k in _TOX_KEYS if k not in tox]
        if missing:
            raise ValueError(f"arms[{label!r}]['toxicity_grade3plus'] lacks {', '.join(missing)}: needs every type of codes.TOX_NAMES and 'any'")
        r = np.array([check_probability(f"arms[{label!r}]['toxicity_grade3plus'][{k!r}]", tox[k]) for k in _TOX_KEYS])
        n = entry.get("patients")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"arms[{label!r}]['patients'] = {n!r}: must be an integer >= 1")
        rates[label], ns[label] = dict(zip(_TOX_KEYS, r)), int(n)
    if types is None:
        types = [k for k in codes.TOX_NAMES if any(rates[a][k] > 0 for a in rates)] + ["any"]
    else:
        if isinstance(types, str) or not isinstance(types, Sequence) or len(types) == 0:
            raise ValueError(f"types = {types!r}: must be a non-empty list of toxicity names")
        unknown = [t for t in types if t not in _TOX_KEYS]
        if unknown:
            raise ValueError(f"types has unknown {unknown}: must be names from {', '.join(_TOX_KEYS)}")
        if len(set(types)) != len(types):
            raise ValueError(f"types = {list(types)}: each type may appear only once")
        types = list(types)
    m, k = len(arms), len(types)
    # wide enough for the bars, but a report page at most
    ax = axes_or_new(ax, (min(max(5.0, 0.2 * m * k + 3.5), 12.0), 5.0))
    x = np.arange(k, dtype=np.float64)
    width = 0.8 / m
    for a, label in enumerate(arms):
        r = np.array([rates[label][t] for t in types])
        n = ns[label]
        lo, hi = proportion_ci(np.round(r * n).astype(np.int64), n)
        # the interval is that of the rounded count; with r exactly count/n it contains r, and
        # the max(0, .) only absorbs the float rounding of r * n / n (never a visible amount)
        yerr = 100.0 * np.vstack([np.maximum(r - lo, 0.0), np.maximum(hi - r, 0.0)])
        ax.bar(x + (a - (m - 1) / 2) * width, 100.0 * r, width=width * 0.95, yerr=yerr, color=colors[label], label=f"{label} (n = {n:,})", error_kw=dict(ecolor="k", capsize=2.0, elinewidth=0.8))
    if "any" in types:
        # separates the overall rate from the per-type rates
        i = types.index("any")
        if 0 < i:
            ax.axvline(i - 0.5, color="0.6", linewidth=0.8, linestyle="--")
    ax.set_xticks(x, [TOX_LABELS[t] for t in types])
    if k > 4:
        for t in ax.get_xticklabels():
            t.set_rotation(30)
            t.set_ha("right")
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel("Patients with grade ≥3 toxicity (%)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return finish(ax, title)
