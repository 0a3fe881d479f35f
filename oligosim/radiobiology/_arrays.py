"""The array boundary of the public functions: check inputs, apply a core formula, shape the output.

Every public function of the package accepts scalars or array-likes (broadcast together),
validates them once and raises ``ValueError`` naming the argument, the offending value and the
rule; it returns a ``float`` for scalar input and an ``ndarray`` of the broadcast shape
otherwise. The checks and the element-wise application of the scalar formulas of
:mod:`oligosim.radiobiology.core` live here, so that no public function re-types a formula.
"""

from __future__ import annotations

import numpy as np


def as_array(name: str, value) -> np.ndarray:
    """``value`` as a float array; raise if it is not numeric or not finite."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers; got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].flat[0]
        raise ValueError(f"{name} must be finite; got {bad!r}")
    return arr


def first_bad(arr: np.ndarray, ok: np.ndarray) -> float:
    """The first element of ``arr`` where ``ok`` is False (for error messages)."""
    return float(np.asarray(arr)[~ok].flat[0])


def positive(name: str, value, unit: str = "") -> np.ndarray:
    """``value`` as a float array of values > 0 (``unit`` is appended to the rule)."""
    arr = as_array(name, value)
    ok = arr > 0
    if not np.all(ok):
        raise ValueError(f"{name} must be > 0{unit}; got {first_bad(arr, ok):g}")
    return arr


def non_negative(name: str, value, unit: str = "") -> np.ndarray:
    """``value`` as a float array of values >= 0."""
    arr = as_array(name, value)
    ok = arr >= 0
    if not np.all(ok):
        raise ValueError(f"{name} must be >= 0{unit}; got {first_bad(arr, ok):g}")
    return arr


def count(name: str, value) -> np.ndarray:
    """An integer count >= 1 (fractions, fractions per day), returned as a float array."""
    arr = as_array(name, value)
    ok = (arr >= 1) & (arr == np.floor(arr))
    if not np.all(ok):
        raise ValueError(f"{name} must be an integer >= 1; got {first_bad(arr, ok):g}")
    return arr


def fraction(name: str, value) -> np.ndarray:
    """``value`` as a float array of shares in [0, 1]."""
    arr = as_array(name, value)
    ok = (arr >= 0) & (arr <= 1)
    if not np.all(ok):
        raise ValueError(f"{name} must be between 0 and 1; got {first_bad(arr, ok):g}")
    return arr


def elementwise(formula, *args):
    """Apply a scalar core formula to broadcast float arrays.

    Parameters
    ----------
    formula : callable
        A function of :mod:`oligosim.radiobiology.core` (scalars in, float out).
    *args : float or ndarray
        Its arguments, already validated; broadcast together.

    Returns
    -------
    float or ndarray
        ``formula`` of each element: a ``float`` for 0-d input, else the broadcast shape.
    """
    return out(np.vectorize(formula, otypes=[float])(*args))


def out(x):
    """A float for 0-d results, the array otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x
