"""What the plots share: the arm palette, the ``ax=None`` handling and input checks.

Bad input raises :class:`ValueError` naming the argument, the offending value and the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib import colormaps

from oligosim.plots.canvas import new_axes

__all__ = [
    "PALETTE",
    "arm_colors",
    "axes_or_new",
    "finish",
    "legend_above",
    "format_value",
    "check_vector",
    "check_same_length",
    "check_increasing",
    "check_in_unit",
    "check_scalar",
    "check_probability",
    "check_nonempty_mapping",
]

#: the arm palette: tab10 colours, used in the order the arms are given
PALETTE = tuple(colormaps["tab10"].colors)


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
    if len(labels) > len(PALETTE):
        raise ValueError(
            f"arms has {len(labels)} entries: at most {len(PALETTE)} can be told apart with the tab10 palette"
        )
    return {label: PALETTE[i] for i, label in enumerate(labels)}


def axes_or_new(ax, figsize=(7.0, 5.0)):
    """``ax``, or a new pyplot-free Axes of ``figsize`` when it is None."""
    return new_axes(figsize) if ax is None else ax


def finish(ax, title):
    """Set the title (if any) and return ``ax``."""
    if title:
        ax.set_title(title)
    return ax


def check_vector(name: str, values, *, finite: bool = True, min_size: int = 1) -> np.ndarray:
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


def check_same_length(ref_name: str, ref: np.ndarray, **others: np.ndarray) -> None:
    """ValueError unless every array of ``others`` has as many values as ``ref``."""
    for name, arr in others.items():
        if arr.shape[0] != ref.shape[0]:
            raise ValueError(f"{name} has {arr.shape[0]} values but {ref_name} has {ref.shape[0]}: they must have the same length")


def check_increasing(name: str, arr: np.ndarray) -> None:
    """ValueError unless ``arr`` is strictly increasing."""
    # lines and grids are drawn in the given order; an unsorted axis would draw a scribble
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        k = int(np.flatnonzero(np.diff(arr) <= 0)[0])
        raise ValueError(f"{name} = {arr.tolist()}: must be strictly increasing ({name}[{k + 1}] = {arr[k + 1]} <= {arr[k]})")


def check_in_unit(name: str, arr: np.ndarray) -> None:
    """ValueError unless every value of ``arr`` is in [0, 1]."""
    bad = np.flatnonzero((arr < 0.0) | (arr > 1.0))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] = {arr[bad[0]]}: must be a probability in [0, 1]")


def check_scalar(name: str, value, *, allow_none: bool = False) -> float | None:
    """``float(value)`` if finite (None passes when ``allow_none``), else ValueError."""
    if value is None and allow_none:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r}: must be a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} = {value!r}: must be finite")
    return x


def legend_above(ax, title, ncol):
    """Legend in a row above the axes (clear of the data), with the title above the legend."""
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, frameon=False, fontsize="small")
    if title:
        ax.set_title(title, pad=24)
    return ax


def check_probability(name: str, value) -> float:
    """``float(value)`` if it is a share in [0, 1], else ValueError."""
    x = check_scalar(name, value)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} = {value!r}: must be a share in [0, 1]")
    return x


def check_nonempty_mapping(name: str, value) -> None:
    """ValueError unless ``value`` is a non-empty dict."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} is a {type(value).__name__}: must be a dict")
    if not value:
        raise ValueError(f"{name} is empty: need at least one entry")


def format_value(x: float) -> str:
    """A parameter value or result for an annotation: 3 significant digits."""
    return f"{x:.3g}"

