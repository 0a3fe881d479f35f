"""TOML values as the validators read them and as error messages write them.

Every configuration error is one line showing the offending value the way it was written in
TOML (``true``, ``"liver"``, ``{ dist = "beta", ... }``), bounds in a short form (``0`` not
``0.0``) and, for a misspelt name, the nearest known one. These helpers are shared by the node
types (:mod:`oligosim.config.nodes`), the uncertainty tables
(:mod:`oligosim.config.uncertainty`) and the other input formats built on them.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Any, Mapping

__all__ = ["as_number", "format_value", "interval", "short_number", "suggest"]


def format_value(value: Any, limit: int = 100) -> str:
    """Render a value the way it would be written in TOML (for error messages).

    Parameters
    ----------
    value : object
        A TOML-like value (str, number, bool, list, table).
    limit : int
        Longer renderings are cut and end in ``...`` so one error stays one readable line.

    Returns
    -------
    str
    """
    text = _toml_repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_repr(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml_repr(v)}" for k, v in value.items()) + " }"
    return str(value)


def short_number(x: float) -> str:
    """Short human form of a bound or parameter: ``0`` not ``0.0``, 6 significant digits."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def interval(lo, hi, lo_open: bool, hi_open: bool) -> str:
    """``[0, 1]``, ``(0, inf)`` ... for bounds where None means unbounded."""
    left = "(" if lo is None or lo_open else "["
    right = ")" if hi is None or hi_open else "]"
    lo_s = "-inf" if lo is None else short_number(lo)
    hi_s = "inf" if hi is None else short_number(hi)
    return f"{left}{lo_s}, {hi_s}{right}"


def suggest(key: Any, options, what: str = "keys") -> str:
    """`` (did you mean 'x'?)`` for a near miss, else the list of known names."""
    options = [str(o) for o in options]
    close = difflib.get_close_matches(str(key), options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if options:
        return f"; known {what}: {', '.join(options)}"
    return ""


def as_number(value: Any) -> float | None:
    """The value as a float if TOML wrote a number; None for bools (a classic TOML slip)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
