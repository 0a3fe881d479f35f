"""Swimmer plot: one virtual patient's event history per row, from an arm's event log."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.patches import Patch

from oligosim import codes
from oligosim.plots.canvas import new_axes
from oligosim.plots.style import check_scalar, finish

__all__ = ["SWIMMER_GIDS", "plot_swimmer"]


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
            f"arm[\"death_cause\"][{idx[bad[0]]}] = {cause[bad[0]]}: must be one of codes.ALIVE, DEATH_DISEASE, "
            "DEATH_OTHER, DEATH_TREATMENT"
        )
    ev_n = np.asarray(arm["ev_n"])[idx]
    if np.any(ev_n < 0):
        raise ValueError(f"arm[\"ev_n\"] = {ev_n.min()} for a patient: must be >= 0")
    if max_months is not None:
        max_months = check_scalar("max_months", max_months)
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
    return finish(ax, title)
