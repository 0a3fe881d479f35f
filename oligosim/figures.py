"""Report figures (matplotlib): swimmer, tornado, sensitivity, PSA, power and sweep plots.

Every function follows the convention of :mod:`oligosim.plotting`: ``plot_x(data, *, ax=None,
...) -> ax``. It draws on ``ax`` when given and otherwise on a new pyplot-free figure from
:func:`oligosim.plotting.new_axes`; nothing here touches pyplot state or the backend. Save with
:func:`oligosim.plotting.save_figure` (``ax.figure``).

Inputs are the plain, JSON-able numbers the experiments write to ``results.json`` (lists, dicts,
summary.json arm entries), so a report can be redrawn from its results without re-running
anything; only :func:`plot_swimmer` takes a live :class:`~oligosim.results.ArmResult` (the event
log is not part of the summary). Time is in months everywhere.

Bad input raises :class:`ValueError` naming the argument, the offending value and the rule;
nothing is silently dropped, clipped or reordered beyond what a docstring states (e.g. sorting
a tornado by swing). Arms are coloured with matplotlib's ``tab10`` palette in the order they
are given (see :func:`arm_colors`), so the same arm order gives the same colours in every figure.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.container import BarContainer
from matplotlib.patches import Patch

from oligosim import codes
from oligosim.analysis.proportions import proportion_ci
from oligosim.plotting import new_axes

__all__ = [
    "arm_colors",
    "plot_swimmer",
    "plot_tornado",
    "plot_sensitivity_indices",
    "plot_psa_scatter",
    "plot_probability_best",
    "plot_failure_patterns",
    "plot_toxicity",
    "plot_power",
    "plot_twoway",
    "plot_threshold",
    "plot_distribution",
    "SWIMMER_GIDS",
    "QUADRANT_GID",
    "FAILURE_LABELS",
    "TOX_LABELS",
]

#: the arm palette: tab10 colours, used in the order the arms are given
_PALETTE = tuple(colormaps["tab10"].colors)

#: readable legend labels of the first-failure categories (keys of ``codes.FAILURE_NAMES``)
FAILURE_LABELS = {
    "none": "No progression",
    "in_field": "In-field",
    "out_of_field_oligo": "Out-of-field, oligometastatic",
    "widespread": "Widespread",
}
# category colours: "no progression" neutral, failures from light to dark as they get worse
_FAILURE_COLORS = {
    "none": "#bdbdbd",
    "in_field": "#fdae61",
    "out_of_field_oligo": "#f46d43",
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
    "any": "Any",
}

# ----------------------------------------------------------------------------- swimmer styling
#: gid of each kind of swimmer-plot artist -> legend label (tests and callers find artists by gid)
SWIMMER_GIDS = {
    "swimmer-bar": "Follow-up (months to death or censoring)",
    "swimmer-rt": "RT course",
    "swimmer-line-start": "Systemic line start",
    "swimmer-toxicity": "Grade ≥3 toxicity",
    "swimmer-progression-oligo": "Progression, oligometastatic",
    "swimmer-progression-poly": "Progression, not oligometastatic",
    "swimmer-widespread": "Widespread progression",
    "swimmer-local-failure": "In-field local failure",
    "swimmer-death-disease": "Death from disease",
    "swimmer-death-other": "Death from other causes",
    "swimmer-death-treatment": "Treatment-related death",
    "swimmer-alive": "Alive at censoring",
    "swimmer-truncated": "Event log full (later events not shown)",
}
# marker style per gid; larger markers first so that coincident events stay visible
# (a progression and a widespread finding at the same scan: the X sits inside the diamond)
_SWIMMER_MARKERS = {
    "swimmer-progression-oligo": dict(marker="D", ms=7, mfc="#fdae61", mec="k", mew=0.6),
    "swimmer-progression-poly": dict(marker="D", ms=7, mfc="white", mec="#d7301f", mew=1.2),
    "swimmer-widespread": dict(marker="X", ms=7, mfc="#a50026", mec="white", mew=0.5),
    "swimmer-local-failure": dict(marker="s", ms=5, mfc="#8c510a", mec="white", mew=0.5),
    "swimmer-line-start": dict(marker="|", ms=11, mfc="#1a9850", mec="#1a9850", mew=2.0),
    "swimmer-toxicity": dict(marker="^", ms=6, mfc="#762a83", mec="white", mew=0.5),
    "swimmer-death-disease": dict(marker="o", ms=8, mfc="k", mec="k", mew=0.8),
    "swimmer-death-other": dict(marker="o", ms=8, mfc="#969696", mec="k", mew=0.8),
    "swimmer-death-treatment": dict(marker="*", ms=12, mfc="#e31a1c", mec="k", mew=0.6),
    "swimmer-alive": dict(marker=">", ms=8, mfc="white", mec="k", mew=1.2),
    "swimmer-truncated": dict(marker="$\u2026$", ms=10, mfc="k", mec="k", mew=0.3),
}
_DEATH_GID = {
    codes.DEATH_DISEASE: "swimmer-death-disease",
    codes.DEATH_OTHER: "swimmer-death-other",
    codes.DEATH_TREATMENT: "swimmer-death-treatment",
    codes.ALIVE: "swimmer-alive",
}
_RT_COLOR = "#2c7bb6"
_BAR_COLOR = "#d9d9d9"


# ============================================================================ input helpers
def arm_colors(labels) -> dict:
    """The colour of each arm: tab10 in the order given.

    Parameters
    ----------
    labels : iterable of str
        Arm labels, at most 10 (the palette has 10 distinguishable colours; reusing one would
        make two arms look the same).

    Returns
    -------
    dict of str -> tuple of float
        RGB colour per label.
    """
    labels = list(labels)
    if len(labels) > len(_PALETTE):
        raise ValueError(
            f"arms has {len(labels)} entries: at most {len(_PALETTE)} can be told apart with the tab10 palette"
        )
    return {label: _PALETTE[i] for i, label in enumerate(labels)}


def _axes(ax, figsize=(7.0, 5.0)):
    return new_axes(figsize) if ax is None else ax


def _finish(ax, title):
    if title:
        ax.set_title(title)
    return ax


def _vector(name: str, values, *, finite: bool = True, min_size: int = 1) -> np.ndarray:
    """``values`` as a 1-D float array, or a ValueError naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {values!r}: must be a sequence of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} has shape {arr.shape}: must be one-dimensional")
    if arr.size < min_size:
        raise ValueError(f"{name} has {arr.size} values: need at least {min_size}")
    if finite and not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(f"{name}[{bad[0]}] = {arr[bad[0]]}: must be finite (no NaN or inf); {bad.size} such value(s)")
    return arr


def _same_length(ref_name: str, ref: np.ndarray, **others: np.ndarray) -> None:
    for name, arr in others.items():
        if arr.shape[0] != ref.shape[0]:
            raise ValueError(f"{name} has {arr.shape[0]} values but {ref_name} has {ref.shape[0]}: they must have the same length")


def _increasing(name: str, arr: np.ndarray) -> None:
    # lines and grids are drawn in the given order; an unsorted axis would draw a scribble
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        k = int(np.flatnonzero(np.diff(arr) <= 0)[0])
        raise ValueError(f"{name} = {arr.tolist()}: must be strictly increasing ({name}[{k + 1}] = {arr[k + 1]} <= {arr[k]})")


def _in_unit(name: str, arr: np.ndarray) -> None:
    bad = np.flatnonzero((arr < 0.0) | (arr > 1.0))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] = {arr[bad[0]]}: must be a probability in [0, 1]")


def _scalar(name: str, value, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r}: must be a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} = {value!r}: must be finite")
    return x


def _legend_above(ax, title, ncol):
    """Legend in a row above the axes (clear of the data), with the title above the legend."""
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, frameon=False, fontsize="small")
    if title:
        ax.set_title(title, pad=24)
    return ax


def _probability(name: str, value) -> float:
    x = _scalar(name, value)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} = {value!r}: must be a share in [0, 1]")
    return x


def _nonempty_mapping(name: str, value) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} is a {type(value).__name__}: must be a dict")
    if not value:
        raise ValueError(f"{name} is empty: need at least one entry")


def _fmt(x: float) -> str:
    """A parameter value or result for an annotation: 3 significant digits."""
    return f"{x:.3g}"


# ============================================================================ 1. swimmer
def _swimmer_patients(patients, n: int) -> np.ndarray:
    if isinstance(patients, (bool, np.bool_)):
        raise ValueError(f"patients = {patients!r}: must be an int or a sequence of patient indices")
    if isinstance(patients, (int, np.integer)):
        k = int(patients)
        if not 1 <= k <= n:
            raise ValueError(f"patients = {k}: must be between 1 and the arm's {n} patients")
        return np.arange(k)
    if not isinstance(patients, (Sequence, np.ndarray)) or isinstance(patients, str):
        raise ValueError(f"patients = {patients!r}: must be an int or a sequence of patient indices")
    idx = np.asarray(patients)
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError(f"patients = {patients!r}: must be a non-empty one-dimensional sequence of indices")
    if idx.dtype.kind not in "iu":
        raise ValueError(f"patients = {patients!r}: indices must be integers")
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        raise ValueError(f"patients[{bad[0]}] = {idx[bad[0]]}: must be a patient index in [0, {n - 1}]")
    return idx.astype(np.int64)


def _rt_courses(times: np.ndarray, codes_: np.ndarray, end_if_open: float) -> list[tuple[float, float]]:
    """(start, end) of each RT course: every RT_START paired with the next RT_END.

    A start without an end is a course interrupted by death (the log ends there) or cut off by
    a full log; it is drawn up to ``end_if_open``.
    """
    out = []
    start = None
    for t, c in zip(times, codes_):
        if c == codes.EV_RT_START:
            if start is not None:  # never produced by the engine: close the open course here
                out.append((start, t))
            start = t
        elif c == codes.EV_RT_END and start is not None:
            out.append((start, t))
            start = None
    if start is not None:
        out.append((start, max(start, end_if_open)))
    return out


def plot_swimmer(arm, *, patients=20, ax=None, max_months=None, title=None):
    """Swimmer plot: one patient's event history per row.

    Each patient is a grey bar from 0 to overall survival (months), with the RT courses shaded
    from each RT start to the matching RT end, markers at progressions (oligometastatic or not),
    widespread progression, grade >= 3 toxicity, systemic line starts and in-field local
    failures, and at the end of the bar a marker for the cause of death or an open arrow for a
    patient alive at censoring.

    Parameters
    ----------
    arm : oligosim.results.ArmResult
        One arm simulated with ``events=True``: ``arm.ev_time`` (n, E) months, ``arm.ev_code``
        (n, E) ``codes.EV_*`` codes, ``arm.ev_detail`` (n, E), ``arm["ev_n"]`` (n,) events
        logged (only the first E are stored when it exceeds E), ``arm["os"]`` (n,) months and
        ``arm["death_cause"]`` (n,) ``codes.ALIVE`` / ``DEATH_*``.
    patients : int or sequence of int, optional
        ``k`` draws the first k patients; a sequence draws those patient indices (0-based,
        in ``[0, n)``), top to bottom in the order given (pass them sorted by OS for a
        classic sorted swimmer plot).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new pyplot-free figure sized to the number of patients.
    max_months : float, optional
        Right end of the x axis (months); default the longest OS shown. Markers and RT courses
        after it are not drawn (bars are cut at the axis edge), and the legend lists only the
        kinds that remain visible.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Artists carry the gids of :data:`SWIMMER_GIDS`: ``ax.containers[0]`` holds the
        follow-up bars (one per patient, top to bottom), ``ax.containers[1]`` the RT courses
        (when there are any), and there is one ``Line2D`` of markers per event kind present.
        The legend (right of the axes) lists only the kinds that appear. A patient whose log
        overflowed gets a "…" marker at the last stored event: nothing after it is shown.

    Raises
    ------
    ValueError
        If the arm has no event log, ``patients`` is out of range or the log arrays disagree.
    """
    ev_time, ev_code, ev_detail = arm.ev_time, arm.ev_code, arm.ev_detail
    if ev_time is None or ev_code is None or ev_detail is None or ev_time.ndim != 2 or ev_time.shape[1] == 0:
        shape = None if ev_time is None else ev_time.shape
        raise ValueError(
            f"arm {arm.name!r} has no event log (ev_time shape {shape}): run the simulation with events=True"
        )
    n = arm.n
    if ev_time.shape[0] != n or ev_code.shape != ev_time.shape or ev_detail.shape != ev_time.shape:
        raise ValueError(
            f"arm {arm.name!r}: ev_time {ev_time.shape}, ev_code {ev_code.shape} and ev_detail {ev_detail.shape} "
            f"must all have shape ({n}, E)"
        )
    idx = _swimmer_patients(patients, n)
    os_m = np.asarray(arm["os"], dtype=np.float64)[idx]
    if not np.all(np.isfinite(os_m)) or np.any(os_m < 0):
        j = int(idx[np.flatnonzero(~(np.isfinite(os_m) & (os_m >= 0)))[0]])
        raise ValueError(f"arm[\"os\"][{j}] = {arm['os'][j]}: must be a finite time >= 0 months")
    cause = np.asarray(arm["death_cause"])[idx]
    bad = np.flatnonzero(~np.isin(cause, list(_DEATH_GID)))
    if bad.size:
        raise ValueError(
            f"arm[\"death_cause\"][{idx[bad[0]]}] = {cause[bad[0]]}: must be one of engine.ALIVE, DEATH_DISEASE, "
            "DEATH_OTHER, DEATH_TREATMENT"
        )
    ev_n = np.asarray(arm["ev_n"])[idx]
    if np.any(ev_n < 0):
        raise ValueError(f"arm[\"ev_n\"] = {ev_n.min()} for a patient: must be >= 0")
    if max_months is not None:
        max_months = _scalar("max_months", max_months)
        if max_months <= 0:
            raise ValueError(f"max_months = {max_months}: must be > 0")

    if ax is None:
        # ~0.28 inch per row keeps markers apart; bounded so a long list still fits a page
        ax = new_axes((8.0, min(max(2.5, 0.28 * idx.size + 1.2), 14.0)))
    E = ev_time.shape[1]
    rows = np.arange(idx.size, dtype=np.float64)  # row 0 at the top (y axis inverted below)
    height = 0.55

    ax.barh(rows, os_m, height=height, color=_BAR_COLOR, edgecolor="none", zorder=1, gid="swimmer-bar")
    points: dict[str, list[tuple[float, float]]] = {g: [] for g in _SWIMMER_MARKERS}
    rt_bars: list[tuple[float, float, float]] = []  # (row, start, width)
    # which events get which marker (the engine logs a progression's type in its detail)
    kinds = {
        codes.EV_LINE_START: "swimmer-line-start",
        codes.EV_TOXICITY: "swimmer-toxicity",
        codes.EV_WIDESPREAD: "swimmer-widespread",
        codes.EV_LOCAL_FAILURE: "swimmer-local-failure",
    }
    for r, j in enumerate(idx):
        row = rows[r]
        stored = int(min(ev_n[r], E))
        t, c, d = ev_time[j, :stored], ev_code[j, :stored], ev_detail[j, :stored]
        truncated = int(ev_n[r]) > E
        # an open course in a full log has an unknown end: stop it at the last stored event
        end_open = float(t[-1]) if truncated else float(os_m[r])
        for start, end in _rt_courses(t, c, end_open):
            rt_bars.append((row, start, end - start))
        for ti, ci, di in zip(t, c, d):
            if ci == codes.EV_PROGRESSION:
                points["swimmer-progression-oligo" if di == 1 else "swimmer-progression-poly"].append((ti, row))
            elif ci in kinds:
                points[kinds[ci]].append((ti, row))
        if truncated:
            # just above the bar, so it does not hide the event markers at that time
            points["swimmer-truncated"].append((float(t[-1]), row - 0.42))
        points[_DEATH_GID[int(cause[r])]].append((float(os_m[r]), row))

    if max_months is not None:
        # only what is inside the requested window is drawn, so the legend lists only that
        points = {g: [p for p in pts if p[0] <= max_months] for g, pts in points.items()}
        rt_bars = [b for b in rt_bars if b[1] <= max_months]
    handles = [Patch(facecolor=_BAR_COLOR, label=SWIMMER_GIDS["swimmer-bar"])]
    if rt_bars:
        r = np.array(rt_bars)
        # taller than the follow-up bar: a course of a few weeks stays visible next to a
        # progression marker on a multi-year axis
        ax.barh(r[:, 0], r[:, 2], left=r[:, 1], height=0.8, color=_RT_COLOR, edgecolor="none", zorder=2, gid="swimmer-rt")
        handles.append(Patch(facecolor=_RT_COLOR, label=SWIMMER_GIDS["swimmer-rt"]))
    stacking = list(_SWIMMER_MARKERS)
    for gid in SWIMMER_GIDS:  # legend in the logical order of SWIMMER_GIDS
        if not points.get(gid):
            continue  # the legend lists only what is drawn
        xy = np.array(points[gid])
        # zorder in _SWIMMER_MARKERS order: large markers below small ones at the same time
        z = 3 + 0.01 * stacking.index(gid)
        (line,) = ax.plot(xy[:, 0], xy[:, 1], linestyle="none", label=SWIMMER_GIDS[gid], gid=gid, zorder=z, **_SWIMMER_MARKERS[gid])
        handles.append(line)

    ax.set_yticks(rows, [f"Patient {int(j)}" for j in idx], fontsize="small")
    ax.set_ylim(rows[-1] + 0.7, -0.7)  # first patient on top
    if max_months is None:
        # a little room for the end markers; 1 month when every patient died at entry
        ax.set_xlim(0.0, float(os_m.max()) * 1.02 or 1.0)
    else:
        ax.set_xlim(0.0, max_months)
    ax.set_xlabel("Months since entry")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    # outside the axes: no patient row is ever hidden behind the legend
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small", title=arm.label or arm.name)
    return _finish(ax, title)


# ============================================================================ 2. tornado
_TORNADO_KEYS = ("label", "low_value", "high_value", "low_result", "high_result")
_LOW_COLOR = _PALETTE[0]
_HIGH_COLOR = _PALETTE[1]


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
    base = _scalar("base", base)
    parsed = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"rows[{i}] = {row!r}: must be a dict with keys {', '.join(_TORNADO_KEYS)}")
        missing = [k for k in _TORNADO_KEYS if k not in row]
        if missing:
            raise ValueError(f"rows[{i}] lacks {', '.join(missing)}: each row needs {', '.join(_TORNADO_KEYS)}")
        vals = {k: _scalar(f"rows[{i}][{k!r}]", row[k]) for k in _TORNADO_KEYS[1:]}
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
    ax.axvline(base, color="k", linestyle="--", linewidth=1.0, zorder=4, label=f"Base case ({_fmt(base)})")
    for i, (_, v) in enumerate(parsed):
        for res, val in ((v["low_result"], v["low_value"]), (v["high_result"], v["high_value"])):
            right = res >= base
            ax.annotate(
                _fmt(val),
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
    return _legend_above(ax, title, ncol=3)


# ============================================================================ 3. sensitivity
_SOBOL_KEYS = ("names", "S1", "S1_conf", "ST", "ST_conf")
_MORRIS_KEYS = ("names", "mu_star", "mu_star_conf", "sigma")


def _indices(indices, keys, method):
    _nonempty_mapping("indices", indices)
    missing = [k for k in keys if k not in indices]
    if missing:
        raise ValueError(f"indices lacks {', '.join(missing)}: method={method!r} needs keys {', '.join(keys)}")
    names = indices["names"]
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)) or len(names) == 0:
        raise ValueError(f"indices['names'] = {names!r}: must be a non-empty list of parameter names")
    out = {"names": [str(x) for x in names]}
    for k in keys[1:]:
        out[k] = _vector(f"indices[{k!r}]", indices[k])
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
        ax.barh(y - h / 2, d["S1"][order], height=h, xerr=d["S1_conf"][order], color=_PALETTE[0], label="First order (S1)", error_kw=err_kw)
        ax.barh(y + h / 2, d["ST"][order], height=h, xerr=d["ST_conf"][order], color=_PALETTE[1], label="Total order (ST)", error_kw=err_kw)
        ax.set_xlabel("Sobol index (share of output variance)")
    else:
        order = np.argsort(-d["mu_star"], kind="stable")
        ax.barh(y, d["mu_star"][order], height=0.6, xerr=d["mu_star_conf"][order], color=_PALETTE[0], label="μ* (mean |elementary effect|)", error_kw=err_kw)
        (sigma,) = ax.plot(d["sigma"][order], y, linestyle="none", marker="D", ms=6, mfc="white", mec=_PALETTE[3], mew=1.5, label="σ (SD of elementary effects)", zorder=3)
        ax.set_xlabel("Morris μ* and σ (output units)")
    ax.axvline(0.0, color="k", linewidth=0.8)
    ax.set_yticks(y, [d["names"][i] for i in order])
    ax.set_ylim(p - 0.5, -0.5)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    # bars first, then the sigma markers (matplotlib would list lines before bars)
    handles = [h for h in ax.containers if isinstance(h, BarContainer)] + ([] if method == "sobol" else [sigma])
    ax.legend(handles=handles, loc="lower right", frameon=True, framealpha=0.9, fontsize="small")
    return _finish(ax, title)


# ============================================================================ 4. PSA scatter
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
    xs = _vector("x", x)
    ys = _vector("y", y)
    _same_length("x", xs, y=ys)
    ax = _axes(ax, (6.5, 5.5))
    d = xs.size
    ax.scatter(xs, ys, s=12 if d > 500 else 20, alpha=0.35 if d > 500 else 0.6, color=_PALETTE[0], edgecolors="none", label=f"Parameter draws (n = {d:,})", zorder=2)
    ax.axhline(0.0, color="k", linewidth=0.8, linestyle=":", zorder=1)
    ax.axvline(0.0, color="k", linewidth=0.8, linestyle=":", zorder=1)
    ax.plot([xs.mean()], [ys.mean()], linestyle="none", marker="P", ms=14, mfc=_PALETTE[3], mec="k", mew=1.0, label="Mean", zorder=3)
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
    return _legend_above(ax, title, ncol=2)


# ============================================================================ 5. probability best
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
    w = _vector("weights", weights)
    _increasing("weights", w)
    _nonempty_mapping("probabilities", probabilities)
    colors = arm_colors(probabilities)
    curves = {}
    for label, p in probabilities.items():
        arr = _vector(f"probabilities[{label!r}]", p)
        _same_length("weights", w, **{f"probabilities[{label!r}]": arr})
        _in_unit(f"probabilities[{label!r}]", arr)
        curves[label] = arr
    total = np.sum(list(curves.values()), axis=0)
    bad = np.flatnonzero(np.abs(total - 1.0) > 1e-9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"probabilities at weights[{i}] = {w[i]} add up to {float(total[i])!r}: the arms' probabilities must sum to 1 "
            "(within 1e-9) at every weight"
        )
    ax = _axes(ax)
    for label, arr in curves.items():
        ax.plot(w, arr, color=colors[label], linewidth=1.8, marker="o" if w.size <= 30 else None, ms=4, label=str(label), clip_on=False)
    ax.set_ylim(0.0, 1.0)
    if w.size > 1:
        ax.set_xlim(w[0], w[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Probability of being the best arm")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return _finish(ax, title)


# ============================================================================ 6. failure patterns
def _arm_entries(arms, key):
    _nonempty_mapping("arms", arms)
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
            shares[a, f] = _probability(f"arms[{label!r}]['first_failure'][{k!r}]", ff[k])
        if abs(shares[a].sum() - 1.0) > 1e-6:
            raise ValueError(
                f"arms[{label!r}]['first_failure'] shares add up to {float(shares[a].sum())!r}: must sum to 1 (within 1e-6)"
            )
    pct = 100.0 * shares
    ax = _axes(ax, (min(max(4.5, 1.4 * len(arms) + 3.0), 12.0), 5.0))
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
    return _finish(ax, title)


# ============================================================================ 7. toxicity
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
        r = np.array([_probability(f"arms[{label!r}]['toxicity_grade3plus'][{k!r}]", tox[k]) for k in _TOX_KEYS])
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
    ax = _axes(ax, (min(max(5.0, 0.2 * m * k + 3.5), 12.0), 5.0))
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
    return _finish(ax, title)


# ============================================================================ 8. power
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
    target = _scalar("target", target)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target = {target}: must be a power strictly between 0 and 1")
    _nonempty_mapping("curves", curves)
    colors = arm_colors(curves)
    parsed = {}
    for label, c in curves.items():
        name = f"curves[{label!r}]"
        if not isinstance(c, Mapping):
            raise ValueError(f"{name} = {c!r}: must be a dict with n_per_arm, power and power_ci95")
        missing = [k for k in ("n_per_arm", "power", "power_ci95") if k not in c]
        if missing:
            raise ValueError(f"{name} lacks {', '.join(missing)}: needs n_per_arm, power and power_ci95")
        n = _vector(f"{name}['n_per_arm']", c["n_per_arm"])
        _increasing(f"{name}['n_per_arm']", n)
        if n[0] < 1:
            raise ValueError(f"{name}['n_per_arm'][0] = {n[0]}: patients per arm must be >= 1")
        p = _vector(f"{name}['power']", c["power"])
        ci = c["power_ci95"]
        if isinstance(ci, str) or not isinstance(ci, (Sequence, np.ndarray)) or len(ci) != 2:
            raise ValueError(f"{name}['power_ci95'] = {ci!r}: must be [lower limits, upper limits]")
        lo = _vector(f"{name}['power_ci95'][0]", ci[0])
        hi = _vector(f"{name}['power_ci95'][1]", ci[1])
        _same_length(f"{name}['n_per_arm']", n, **{f"{name}['power']": p, f"{name}['power_ci95'][0]": lo, f"{name}['power_ci95'][1]": hi})
        for nm, arr in ((f"{name}['power']", p), (f"{name}['power_ci95'][0]", lo), (f"{name}['power_ci95'][1]", hi)):
            _in_unit(nm, arr)
        bad = np.flatnonzero((lo > p) | (p > hi))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}: power[{i}] = {p[i]} is outside power_ci95 [{lo[i]}, {hi[i]}]: the CI must contain the estimate")
        parsed[label] = (n, p, lo, hi)
    ax = _axes(ax)
    for label, (n, p, lo, hi) in parsed.items():
        ax.fill_between(n, lo, hi, color=colors[label], alpha=0.2, linewidth=0)
        ax.plot(n, p, color=colors[label], marker="o", ms=4, linewidth=1.6, label=str(label))
    ax.axhline(target, color="k", linestyle="--", linewidth=1.0, label=f"Target ({100 * target:.0f}%)")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("Patients per arm")
    ax.set_ylabel("Power (shaded: 95% CI)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", frameon=True, framealpha=0.9, fontsize="small")
    return _finish(ax, title)


# ============================================================================ 9. two-way
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
        strictly below and above it, and at least 2 x 2 cells) a black ``ContourSet`` at that
        level follows, otherwise no contour is drawn (not an error).
    """
    xs = _vector("x", x)
    ys = _vector("y", y)
    _increasing("x", xs)
    _increasing("y", ys)
    try:
        zs = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"z = {z!r}: must be a 2-D array of numbers") from None
    if zs.shape != (ys.size, xs.size):
        raise ValueError(f"z has shape {zs.shape}: must be (len(y), len(x)) = ({ys.size}, {xs.size})")
    if not np.all(np.isfinite(zs)):
        j, i = np.argwhere(~np.isfinite(zs))[0]
        raise ValueError(f"z[{j}, {i}] = {zs[j, i]}: must be finite (no NaN or inf)")
    threshold = _scalar("threshold", threshold)
    ax = _axes(ax, (7.0, 5.5))
    zmin, zmax = float(zs.min()), float(zs.max())
    crosses = zmin < threshold < zmax
    if crosses:
        # centred on the threshold so that its colour (white) means "indifferent"
        cmap, norm = colormaps["RdBu_r"], TwoSlopeNorm(vcenter=threshold, vmin=zmin, vmax=zmax)
    else:
        cmap, norm = colormaps["viridis"], Normalize(vmin=zmin, vmax=zmax)
    mesh = ax.pcolormesh(xs, ys, zs, cmap=cmap, norm=norm, shading="nearest")
    cbar = ax.figure.colorbar(mesh, ax=ax, label=zlabel)
    if crosses and xs.size >= 2 and ys.size >= 2:
        cs = ax.contour(xs, ys, zs, levels=[threshold], colors="k", linewidths=1.5)
        ax.clabel(cs, fmt={threshold: _fmt(threshold)}, fontsize="small")
        # the same level marked on the colour bar says what the black line is
        cbar.ax.axhline(threshold, color="k", linewidth=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _finish(ax, title)


# ============================================================================ 10. threshold
def plot_threshold(x, y, y_low, y_high, *, threshold_x=None, ax=None, xlabel, ylabel, title=None):
    """One-way sweep of a parameter: the outcome with its confidence band and its zero crossing.

    Parameters
    ----------
    x : array_like of float, shape (k,)
        Parameter values, strictly increasing.
    y, y_low, y_high : array_like of float, shape (k,)
        Outcome and its CI limits (``y_low <= y_high``) at each x.
    threshold_x : float, optional
        Where the outcome crosses zero, within ``[x[0], x[-1]]``; ``None`` = no crossing
        found (no line drawn).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    xlabel, ylabel : str
        Axis labels with units.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[0]`` is y(x), the band is a ``fill_between``, then the zero line and (when
        given) a dashed vertical line at ``threshold_x`` labelled with its value.
    """
    xs = _vector("x", x)
    _increasing("x", xs)
    ys = _vector("y", y)
    lo = _vector("y_low", y_low)
    hi = _vector("y_high", y_high)
    _same_length("x", xs, y=ys, y_low=lo, y_high=hi)
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"y_low[{i}] = {lo[i]} > y_high[{i}] = {hi[i]}: the lower limit must not exceed the upper")
    tx = _scalar("threshold_x", threshold_x, allow_none=True)
    if tx is not None and not xs[0] <= tx <= xs[-1]:
        raise ValueError(f"threshold_x = {tx}: must lie within the swept range [{xs[0]}, {xs[-1]}]")
    ax = _axes(ax)
    ax.plot(xs, ys, color=_PALETTE[0], linewidth=1.8, marker="o" if xs.size <= 30 else None, ms=4, label="Estimate", zorder=3)
    ax.fill_between(xs, lo, hi, color=_PALETTE[0], alpha=0.2, linewidth=0, label="95% CI")
    ax.axhline(0.0, color="k", linewidth=0.8, zorder=2)
    if tx is not None:
        ax.axvline(tx, color=_PALETTE[3], linestyle="--", linewidth=1.3, label=f"Threshold: {_fmt(tx)}", zorder=2)
        # at the foot of the line: the legend usually sits in an upper corner
        ax.annotate(f"{_fmt(tx)}", xy=(tx, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 3), textcoords="offset points", ha="left", va="bottom", color=_PALETTE[3], fontsize="small")
    if xs.size > 1:
        ax.set_xlim(xs[0], xs[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", frameon=True, framealpha=0.9, fontsize="small")
    return _finish(ax, title)


# ============================================================================ 11. distribution
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
    v = _vector("values", values)
    ref = _scalar("reference", reference, allow_none=True)
    ax = _axes(ax)
    ax.hist(v, bins="auto" if v.size > 1 else 1, color=_PALETTE[0], alpha=0.6, edgecolor="white", linewidth=0.5, label=f"Values (n = {v.size:,})")
    med = float(np.median(v))
    p_lo, p_hi = (float(q) for q in np.percentile(v, [2.5, 97.5]))
    ax.axvline(med, color="k", linewidth=1.6, label=f"Median: {_fmt(med)}")
    ax.axvline(p_lo, color="k", linewidth=1.0, linestyle="--", label=f"2.5–97.5th percentile: {_fmt(p_lo)}–{_fmt(p_hi)}")
    ax.axvline(p_hi, color="k", linewidth=1.0, linestyle="--")
    if ref is not None:
        ax.axvline(ref, color=_PALETTE[3], linewidth=1.8, label=f"Reference: {_fmt(ref)}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Count")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return _finish(ax, title)
