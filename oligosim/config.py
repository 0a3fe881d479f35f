"""Strict, schema-driven TOML configuration for oligosim scenarios.

A scenario is written by a clinician in TOML and checked against a *schema*: a tree of the node
types defined here (:class:`Section`, :class:`Table`, :class:`Float` ...). The schema itself is
data and lives in :mod:`oligosim.schema`; this module only knows how to load, merge, validate
and freeze.

Design rules
------------
* Strict: an unknown key is an error (with a "did you mean" hint), never silently ignored,
  because a misspelt parameter would otherwise fall back to its default unnoticed.
* All errors at once: validation collects every problem before raising :class:`ConfigError`,
  so a user fixes a file in one round trip.
* Every error is one line naming the file that wrote the offending value, the dotted key path,
  the value and the rule, e.g.
  ``configs/x.toml: arms.upfront.rt.metastasis_dose_gy = -5: must be > 0 (Gy)``.
* Any :class:`Float` marked ``uncertain`` may be an uncertainty table instead of a number,
  e.g. ``{ value = 0.3, dist = "beta", mean = 0.3, sd = 0.05 }``; the scenario then holds the
  point value in :attr:`Scenario.data` and the :class:`Distribution` in
  :attr:`Scenario.uncertain` (for probabilistic sensitivity analysis).
* ``extends = "base.toml"`` (or a list) deep-merges base files under the file's own keys.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
import difflib
import hashlib
import json
import math
import os
import re
import tomllib
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
from scipy import stats

__all__ = [
    "REQUIRED",
    "Bool",
    "Choice",
    "ConfigError",
    "Distribution",
    "Float",
    "Int",
    "ListOf",
    "Node",
    "Ref",
    "Scenario",
    "Section",
    "Str",
    "Table",
    "Validated",
    "default_schema",
    "format_value",
    "Maybe",
    "load_scenario",
    "loads_scenario",
    "split_path",
    "validate",
]

#: label used as the "file" of values changed by :meth:`Scenario.with_values`
WITH_VALUES = "<with_values>"


class _Required:
    """Type of the :data:`REQUIRED` sentinel (a singleton, so ``is`` comparisons work)."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self):
        return (_Required, ())


#: default meaning "the user must give this key"
REQUIRED = _Required()


class ConfigError(ValueError):
    """One or more problems in a configuration; ``str()`` gives one message per line.

    Parameters
    ----------
    errors : list of str
        Clinician-readable messages, each naming file, key path, value and rule.
    """

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


# ============================================================================ formatting helpers


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


def _num(x: float) -> str:
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


def _interval(lo, hi, lo_open: bool, hi_open: bool) -> str:
    """``[0, 1]``, ``(0, inf)`` ... for bounds where None means unbounded."""
    left = "(" if lo is None or lo_open else "["
    right = ")" if hi is None or hi_open else "]"
    lo_s = "-inf" if lo is None else _num(lo)
    hi_s = "inf" if hi is None else _num(hi)
    return f"{left}{lo_s}, {hi_s}{right}"


def _range_rule(lo, hi, lo_open: bool, hi_open: bool, unit: str) -> str:
    """The rule text of a range, e.g. ``must be within [0, 1]`` or ``must be > 0 (Gy)``."""
    if lo is not None and hi is not None:
        rule = f"must be within {_interval(lo, hi, lo_open, hi_open)}"
    elif lo is not None:
        rule = f"must be {'>' if lo_open else '>='} {_num(lo)}"
    else:
        rule = f"must be {'<' if hi_open else '<='} {_num(hi)}"
    return rule + (f" ({unit})" if unit else "")


def _in_range(x: float, lo, hi, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (x < lo or (lo_open and x == lo)):
        return False
    if hi is not None and (x > hi or (hi_open and x == hi)):
        return False
    return True


def _suggest(key: Any, options, what: str = "keys") -> str:
    """`` (did you mean 'x'?)`` for a near miss, else the list of known names."""
    options = [str(o) for o in options]
    close = difflib.get_close_matches(str(key), options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if options:
        return f"; known {what}: {', '.join(options)}"
    return ""


def _as_number(value: Any) -> float | None:
    """The value as a float if TOML wrote a number; None for bools (a classic TOML slip)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


# ============================================================================ key paths


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _index(path: str, i: int) -> str:
    return f"{path}[{i}]"


_PIECE = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def split_path(path: str) -> list[str | int]:
    """Split ``"arms.a.doses[1]"`` into ``["arms", "a", "doses", 1]``.

    Raises
    ------
    ValueError
        If the path is empty or malformed.
    """
    parts: list[str | int] = []
    for piece in str(path).split("."):
        m = _PIECE.fullmatch(piece)
        if not m:
            raise ValueError(f"not a valid key path: {path!r}")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return parts


def _format_path(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        out = _index(out, part) if isinstance(part, int) else _join(out, part)
    return out


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _is_below(path: str, prefix: str) -> bool:
    return path.startswith(prefix + ".") or path.startswith(prefix + "[")


# ============================================================================ distributions

#: canonical parameters of each distribution kind, in order
_CANONICAL: dict[str, tuple[str, ...]] = {
    "beta": ("a", "b"),
    "gamma": ("shape", "scale"),
    "lognormal": ("meanlog", "sdlog"),
    "normal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
}
#: the parameter sets a user may write for each kind (first is canonical)
_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "beta": (("a", "b"), ("mean", "sd")),
    "gamma": (("shape", "scale"), ("mean", "sd")),
    "lognormal": (("meanlog", "sdlog"), ("mean", "sd")),
    "normal": (("mean", "sd"),),
    "uniform": (("low", "high"),),
    "triangular": (("low", "mode", "high"),),
}
_POSITIVE = {"beta": ("a", "b"), "gamma": ("shape", "scale"), "lognormal": ("sdlog",), "normal": ("sd",)}


def _param_problems(kind: str, p: Mapping[str, float]) -> list[str]:
    """Rules on canonical parameters (positivity, ordering)."""
    problems = [f"{name} must be > 0" for name in _POSITIVE.get(kind, ()) if not p[name] > 0]
    if kind == "uniform" and not p["low"] < p["high"]:
        problems.append("a uniform distribution needs low < high")
    if kind == "triangular" and not (p["low"] <= p["mode"] <= p["high"] and p["low"] < p["high"]):
        problems.append("a triangular distribution needs low <= mode <= high and low < high")
    return problems


def _moment_problems(kind: str, mean: float, sd: float) -> list[str]:
    """Feasibility of a mean/sd specification before converting it."""
    if not sd > 0:
        return ["sd must be > 0"]
    if kind == "beta":
        if not 0 < mean < 1:
            return ["a beta distribution needs 0 < mean < 1"]
        if sd**2 >= mean * (1 - mean):
            limit = math.sqrt(mean * (1 - mean))
            return [
                f"a beta distribution with mean {_num(mean)} needs sd < "
                f"sqrt(mean*(1-mean)) = {_num(limit)}"
            ]
    if kind in ("gamma", "lognormal") and not mean > 0:
        return [f"a {kind} distribution needs mean > 0"]
    return []


def _from_moments(kind: str, mean: float, sd: float) -> dict[str, float]:
    """Method-of-moments conversion of a (natural-scale) mean and sd to canonical parameters."""
    var = sd * sd
    if kind == "beta":
        k = mean * (1 - mean) / var - 1
        return {"a": mean * k, "b": (1 - mean) * k}
    if kind == "gamma":
        return {"shape": mean * mean / var, "scale": var / mean}
    if kind == "lognormal":
        sdlog2 = math.log1p(var / (mean * mean))
        return {"meanlog": math.log(mean) - sdlog2 / 2, "sdlog": math.sqrt(sdlog2)}
    return {"mean": mean, "sd": sd}


@dataclass(frozen=True, eq=False)
class Distribution:
    """A parameter's uncertainty distribution (for probabilistic sensitivity analysis).

    Parameters
    ----------
    kind : {"beta", "gamma", "lognormal", "normal", "uniform", "triangular"}
    params : mapping of str to float
        Canonical parameters: beta ``a, b``; gamma ``shape, scale``; lognormal ``meanlog,
        sdlog`` (of the log); normal ``mean, sd``; uniform ``low, high``; triangular ``low,
        mode, high``. Use :meth:`from_spec` for the mean/sd forms.

    Raises
    ------
    ValueError
        For an unknown kind, wrong parameter names or infeasible values.
    """

    kind: str
    params: Mapping[str, float]

    def __post_init__(self) -> None:
        if self.kind not in _CANONICAL:
            raise ValueError(f"unknown distribution {self.kind!r}; use one of: {', '.join(_CANONICAL)}")
        names = _CANONICAL[self.kind]
        if set(self.params) != set(names):
            raise ValueError(f"a {self.kind} distribution takes parameters {', '.join(names)}")
        p = {n: float(self.params[n]) for n in names}
        problems = _param_problems(self.kind, p)
        if problems:
            raise ValueError("; ".join(problems))
        object.__setattr__(self, "params", MappingProxyType(p))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Distribution):
            return NotImplemented
        return self.kind == other.kind and dict(self.params) == dict(other.params)

    def __hash__(self) -> int:
        return hash((self.kind, tuple(self.params.items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_num(v)}" for k, v in self.params.items())
        return f"Distribution({self.kind!r}, {args})"

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Distribution:
        """Build from an uncertainty table such as ``{"dist": "beta", "mean": 0.3, "sd": 0.05}``.

        A ``value`` key (the point value) is accepted and ignored here.

        Raises
        ------
        ValueError
            Listing every problem of the table.
        """
        dist, _, problems = _parse_uncertainty(spec)
        if problems:
            raise ValueError("; ".join(problems))
        return dist

    @cached_property
    def frozen(self):
        """The equivalent frozen :mod:`scipy.stats` distribution."""
        p = self.params
        if self.kind == "beta":
            return stats.beta(p["a"], p["b"])
        if self.kind == "gamma":
            return stats.gamma(p["shape"], scale=p["scale"])
        if self.kind == "lognormal":
            return stats.lognorm(p["sdlog"], scale=math.exp(p["meanlog"]))
        if self.kind == "normal":
            return stats.norm(p["mean"], p["sd"])
        if self.kind == "uniform":
            return stats.uniform(p["low"], p["high"] - p["low"])
        width = p["high"] - p["low"]
        return stats.triang((p["mode"] - p["low"]) / width, loc=p["low"], scale=width)

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return float(self.frozen.mean())

    @property
    def sd(self) -> float:
        """Standard deviation of the distribution."""
        return float(self.frozen.std())

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest possible values (may be infinite)."""
        lo, hi = self.frozen.support()
        return float(lo), float(hi)

    def ppf(self, u):
        """Quantile function, vectorised: values at cumulative probabilities ``u`` in [0, 1]."""
        return self.frozen.ppf(np.asarray(u, dtype=float))

    def sample(self, rng, n: int) -> np.ndarray:
        """Draw ``n`` values by inverse transform (so common random numbers carry over).

        Parameters
        ----------
        rng : numpy.random.Generator or int or None
            Generator, or a seed for a new one.
        n : int
        """
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        return self.ppf(rng.random(n))

    def spec(self) -> dict[str, Any]:
        """The canonical uncertainty table, e.g. ``{"dist": "beta", "a": 2.0, "b": 5.0}``."""
        return {"dist": self.kind, **self.params}

    def describe(self) -> str:
        """One line for reports, e.g. ``beta(a=2, b=5): mean 0.286, 95% interval 0.0433-0.641``."""
        args = ", ".join(f"{k}={_num(v)}" for k, v in self.params.items())
        lo, hi = self.ppf([0.025, 0.975])
        return f"{self.kind}({args}): mean {self.mean:.3g}, 95% interval {lo:.3g}-{hi:.3g}"


def _support_bounds(dist: Distribution) -> tuple[float, float, bool, bool]:
    """(low, high, low attained, high attained); beta/gamma/lognormal never reach 0 or 1."""
    lo, hi = dist.support
    closed = dist.kind in ("uniform", "triangular")
    return lo, hi, closed, closed


def _parse_uncertainty(spec: Mapping[str, Any]) -> tuple[Distribution | None, float | None, list[str]]:
    """Parse an uncertainty table into (distribution, point value or None, problems)."""
    kinds = ", ".join(_FORMS)
    kind = spec.get("dist")
    if kind is None:
        return None, None, [f"an uncertainty table needs dist = one of: {kinds}"]
    if not isinstance(kind, str) or kind not in _FORMS:
        return None, None, [f"unknown dist {format_value(kind)}; use one of: {kinds}"]
    forms = _FORMS[kind]
    param_names = {name for form in forms for name in form}
    problems, numbers = [], {}
    for key, raw in spec.items():
        if key == "dist":
            continue
        if key != "value" and key not in param_names:
            problems.append(f"unknown key '{key}' for a {kind} distribution{_suggest(key, sorted(param_names))}")
            continue
        x = _as_number(raw)
        if x is None or not math.isfinite(x):
            problems.append(f"{key} must be a finite number, got {format_value(raw)}")
        else:
            numbers[key] = x
    given = {key for key in spec if key in param_names}
    form = next((f for f in forms if set(f) == given), None)
    if form is None:
        choices = " | ".join(", ".join(f) for f in forms)
        problems.append(f"a {kind} distribution needs exactly one of these parameter sets: {choices}")
    if problems:
        return None, None, problems
    params = {name: numbers[name] for name in form}
    if form == ("mean", "sd") and kind != "normal":
        problems = _moment_problems(kind, params["mean"], params["sd"])
        if problems:
            return None, None, problems
        params = _from_moments(kind, params["mean"], params["sd"])
    problems = _param_problems(kind, params)
    if problems:
        return None, None, problems
    return Distribution(kind, params), numbers.get("value"), []


# ============================================================================ validation context


@dataclass
class _Ctx:
    """State of one validation pass: the raw root (for Ref look-ups), provenance, findings."""

    root: Mapping[str, Any]
    sources: Mapping[str, str]
    origin: str
    errors: list[str] = field(default_factory=list)
    uncertain: dict[str, Distribution] = field(default_factory=dict)

    def file_for(self, path: str) -> str:
        """The file that wrote ``path``: itself, else a key inside it, else its nearest parent."""
        if not path:
            return self.origin
        if path in self.sources:
            return self.sources[path]
        below = [f for p, f in self.sources.items() if _is_below(p, path)]
        if below:
            return below[-1]
        while path:
            path = _parent(path)
            if path in self.sources:
                return self.sources[path]
        return self.origin

    def bad(self, path: str, value: Any, rule: str) -> None:
        """Record ``file: path = value: rule``."""
        self.errors.append(f"{self.file_for(path)}: {path} = {format_value(value)}: {rule}")

    def note(self, path: str, message: str) -> None:
        """Record ``file: path: message`` (when there is no value to show)."""
        self.errors.append(f"{self.file_for(path)}: {path or '(top level)'}: {message}")


# ============================================================================ schema nodes


@dataclass(frozen=True)
class Node(ABC):
    """Base class of schema nodes; subclasses implement ``_resolve``."""

    @abstractmethod
    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        """Validate ``value`` at ``path``, recording problems in ``ctx``; return the resolved value."""

    def _missing(self, path: str, ctx: _Ctx) -> Any:
        """Value for an absent key: the default (validated, to catch schema slips) or an error."""
        default = getattr(self, "default", REQUIRED)
        if default is REQUIRED:
            doc = getattr(self, "doc", "")
            ctx.note(path, "missing required key" + (f" ({doc})" if doc else ""))
            return None
        return self._resolve(copy.deepcopy(default), path, ctx)


@dataclass(frozen=True)
class Float(Node):
    """A real number, optionally bounded and optionally given as an uncertainty table.

    Parameters
    ----------
    default : float or dict, optional
        :data:`REQUIRED` (the default) makes the key mandatory. A dict is an uncertainty table.
    lo, hi : float, optional
        Bounds; None means unbounded.
    lo_open, hi_open : bool
        Whether the bound itself is excluded.
    unit : str
        Shown in messages, e.g. ``Gy``.
    doc, source : str
        Meaning and literature source (for generated documentation).
    uncertain : bool
        Whether the value may be an uncertainty table ``{ dist = ..., ... }``.
    """

    default: Any = REQUIRED
    _: KW_ONLY
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""
    doc: str = ""
    source: str = ""
    uncertain: bool = True

    def _range_problem(self, x: float) -> str | None:
        if math.isnan(x):
            return "must be a number, not nan"
        if _in_range(x, self.lo, self.hi, self.lo_open, self.hi_open):
            return None
        return _range_rule(self.lo, self.hi, self.lo_open, self.hi_open, self.unit)

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if isinstance(value, Mapping):
            if not self.uncertain:
                ctx.bad(path, value, "must be a number (this parameter takes no uncertainty distribution)")
                return None
            return self._resolve_uncertain(value, path, ctx)
        x = _as_number(value)
        if x is None:
            rule = "must be a number, not true/false" if isinstance(value, bool) else "must be a number"
            ctx.bad(path, value, rule)
            return None
        rule = self._range_problem(x)
        if rule:
            ctx.bad(path, value, rule)
            return None
        return x

    def _support_problem(self, dist: Distribution) -> str | None:
        s_lo, s_hi, lo_hit, hi_hit = _support_bounds(dist)
        ok_lo = self.lo is None or s_lo > self.lo or (s_lo == self.lo and not (self.lo_open and lo_hit))
        ok_hi = self.hi is None or s_hi < self.hi or (s_hi == self.hi and not (self.hi_open and hi_hit))
        if ok_lo and ok_hi:
            return None
        span = _interval(s_lo, s_hi, not lo_hit, not hi_hit)
        allowed = _interval(self.lo, self.hi, self.lo_open, self.hi_open)
        return (
            f"a {dist.kind} distribution takes values in {span}, outside the allowed range {allowed}; "
            "choose one that stays inside (beta for [0, 1], gamma or lognormal for positive values, "
            "uniform or triangular for a bounded range)"
        )

    def _resolve_uncertain(self, spec: Mapping[str, Any], path: str, ctx: _Ctx) -> float | None:
        dist, point, problems = _parse_uncertainty(spec)
        for problem in problems:
            ctx.bad(path, spec, problem)
        if dist is None:
            return None
        problem = self._support_problem(dist)
        if problem:
            ctx.bad(path, spec, problem)
            return None
        if point is None:
            point = dist.mean  # no explicit point value: the distribution's mean is the base case
        else:
            lo, hi = dist.support
            if not lo <= point <= hi:
                ctx.bad(path, spec, f"value {_num(point)} lies outside the distribution's range {_interval(lo, hi, False, False)}")
                return None
        rule = self._range_problem(point)
        if rule:
            ctx.bad(path, spec, f"value {_num(point)} {rule}")
            return None
        ctx.uncertain[path] = dist
        return point


@dataclass(frozen=True)
class Int(Node):
    """An integer (TOML integer only: ``3.0`` and ``true`` are errors).

    Parameters
    ----------
    default : int, optional
    lo, hi : int, optional
        Inclusive bounds.
    unit, doc, source : str
    """

    default: Any = REQUIRED
    _: KW_ONLY
    lo: int | None = None
    hi: int | None = None
    unit: str = ""
    doc: str = ""
    source: str = ""

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if isinstance(value, bool):
            ctx.bad(path, value, "must be an integer, not true/false")
            return None
        if isinstance(value, float):
            hint = f" (write {int(value)}, not {value!r})" if value.is_integer() else ""
            ctx.bad(path, value, "must be an integer" + hint)
            return None
        if not isinstance(value, int):
            ctx.bad(path, value, "must be an integer")
            return None
        if not _in_range(value, self.lo, self.hi, False, False):
            ctx.bad(path, value, _range_rule(self.lo, self.hi, False, False, self.unit))
            return None
        return value


@dataclass(frozen=True)
class Bool(Node):
    """``true`` or ``false``."""

    default: Any = REQUIRED
    _: KW_ONLY
    doc: str = ""

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, bool):
            quoted = isinstance(value, str) and value.lower() in ("true", "false")
            ctx.bad(path, value, "must be true or false" + (" (without quotes)" if quoted else ""))
            return None
        return value


@dataclass(frozen=True)
class Choice(Node):
    """A string from a fixed set of ``options``."""

    options: tuple[str, ...]
    default: Any = REQUIRED
    _: KW_ONLY
    doc: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, str) or value not in self.options:
            rule = "must be one of: " + ", ".join(format_value(o) for o in self.options)
            if isinstance(value, str):
                close = difflib.get_close_matches(value, self.options, n=1, cutoff=0.6)
                rule += f" (did you mean {format_value(close[0])}?)" if close else ""
            ctx.bad(path, value, rule)
            return None
        return value


@dataclass(frozen=True)
class Str(Node):
    """Free text."""

    default: Any = REQUIRED
    _: KW_ONLY
    doc: str = ""

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, str):
            ctx.bad(path, value, "must be a string (in quotes)")
            return None
        return value


def _singular(table: str) -> str:
    """``regimens`` -> ``regimen``, for "unknown regimen" messages."""
    last = table.rsplit(".", 1)[-1]
    return last[:-1] if last.endswith("s") and len(last) > 1 else last


@dataclass(frozen=True)
class Ref(Node):
    """The name of an entry of another table, e.g. ``Ref("regimens")``.

    Parameters
    ----------
    table : str
        Dotted path of the referenced table from the top of the file.
    default : str, optional
        ``"none"`` makes ``"none"`` an allowed value meaning "no reference".
    doc : str
    """

    table: str
    default: Any = REQUIRED
    _: KW_ONLY
    doc: str = ""

    def _known(self, root: Mapping[str, Any]) -> list[str]:
        node: Any = root
        for part in self.table.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return sorted(node) if isinstance(node, Mapping) else []

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, str):
            ctx.bad(path, value, f"must be the name of a {_singular(self.table)} (a string)")
            return None
        none_ok = self.default == "none"
        if value == "none" and none_ok:
            return value
        known = self._known(ctx.root)
        if value not in known:
            listed = ", ".join(known) or "(none defined)"
            tail = ' (or "none")' if none_ok else ""
            ctx.bad(path, value, f"unknown {_singular(self.table)}; known: {listed}{tail}")
            return None
        return value


@dataclass(frozen=True)
class Maybe(Node):
    """An optional key with no default: absent -> None, present -> validated by ``node``."""

    node: Node
    doc: str = ""

    def _missing(self, path: str, ctx: _Ctx) -> Any:
        return None

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        return self.node._resolve(value, path, ctx)


@dataclass(frozen=True)
class ListOf(Node):
    """A TOML array whose items all validate against ``item``."""

    item: Node
    _: KW_ONLY
    min_len: int = 0
    max_len: int | None = None
    default: Any = REQUIRED
    doc: str = ""

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, (list, tuple)):
            ctx.bad(path, value, "must be a list, e.g. [1, 2]")
            return None
        if len(value) < self.min_len:
            ctx.bad(path, value, f"must have at least {self.min_len} item{'s' * (self.min_len != 1)}")
        if self.max_len is not None and len(value) > self.max_len:
            ctx.bad(path, value, f"must have at most {self.max_len} item{'s' * (self.max_len != 1)}")
        return [self.item._resolve(v, _index(path, i), ctx) for i, v in enumerate(value)]


#: a cross-field check returns messages, or (relative key, message) pairs to point at a key
CheckFn = Callable[[dict, str], "list[str | tuple[str, str]]"]


def _is_uncertainty_table(value: Any) -> bool:
    return isinstance(value, Mapping) and "dist" in value


@dataclass(frozen=True)
class Section(Node):
    """A table with fixed keys; unknown keys are errors and missing keys take their defaults.

    Parameters
    ----------
    fields : dict of str to Node
    doc : str
    check : callable, optional
        ``check(data, path) -> list`` run after every field validated without error; ``data``
        is the resolved section (point values, defaults filled). Each item is a message about
        the whole section, or a ``(key, message)`` pair naming a key relative to the section
        (so the error names the file that wrote that key and shows its value).
    """

    fields: Mapping[str, Node]
    _: KW_ONLY
    doc: str = ""
    check: CheckFn | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def _missing(self, path: str, ctx: _Ctx) -> Any:
        return self._resolve({}, path, ctx)

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, Mapping):
            ctx.bad(path, value, "must be a table")
            return None
        before = len(ctx.errors)
        for key, item in value.items():
            if key not in self.fields:
                what = "section" if isinstance(item, Mapping) and not _is_uncertainty_table(item) else "key"
                ctx.note(_join(path, key), f"unknown {what}{_suggest(key, self.fields)}")
        out = {}
        for name, node in self.fields.items():
            sub = _join(path, name)
            out[name] = node._resolve(value[name], sub, ctx) if name in value else node._missing(sub, ctx)
        # cross-field rules only make sense once every field holds a valid value
        if self.check is not None and len(ctx.errors) == before:
            for problem in self.check(out, path) or ():
                _report_check(problem, out, path, ctx)
        return out


def _report_check(problem: str | tuple[str, str], data: Mapping[str, Any], path: str, ctx: _Ctx) -> None:
    if isinstance(problem, str):
        ctx.note(path, problem)
        return
    key, message = problem
    node: Any = data
    try:
        for part in split_path(key):
            node = node[part]
    except (KeyError, IndexError, TypeError, ValueError):
        ctx.note(_join(path, key), message)
        return
    ctx.bad(_join(path, key), node, message)


_DEFAULT_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"


@dataclass(frozen=True)
class Table(Node):
    """A table with user-chosen keys (``[arms.upfront_rt]``), each value checked by ``value``.

    Parameters
    ----------
    value : Node
        Schema of each entry (usually a :class:`Section`).
    doc : str
    min_items : int
        Minimum number of entries.
    key_pattern : str
        Regular expression every entry name must match.
    """

    value: Node
    _: KW_ONLY
    doc: str = ""
    min_items: int = 0
    key_pattern: str = _DEFAULT_KEY_PATTERN

    def _missing(self, path: str, ctx: _Ctx) -> Any:
        if self.min_items:
            ctx.note(path, f"missing: at least {self.min_items} [{path}.<name>] table(s) required")
            return {}
        return {}

    def _name_rule(self) -> str:
        if self.key_pattern == _DEFAULT_KEY_PATTERN:
            return "names must start with a letter and use only letters, digits, '_' and '-'"
        return f"names must match {self.key_pattern}"

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if not isinstance(value, Mapping):
            ctx.bad(path, value, "must be a table")
            return None
        out = {}
        for key, item in value.items():
            sub = _join(path, key)
            if not re.search(self.key_pattern, key):
                ctx.note(sub, f"invalid name {format_value(key)}: {self._name_rule()}")
                continue
            out[key] = self.value._resolve(item, sub, ctx)
        if len(value) < self.min_items:
            entries = "entry" if self.min_items == 1 else "entries"
            ctx.bad(path, value, f"needs at least {self.min_items} {entries}")
        return out


# ============================================================================ validation


class Validated(NamedTuple):
    """Result of :func:`validate`."""

    data: dict
    """resolved data: defaults filled, uncertainty tables replaced by point values"""
    uncertain: dict
    """dotted key path -> :class:`Distribution`"""


def validate(
    data: Mapping[str, Any],
    schema: Node,
    *,
    origin: str = "<dict>",
    sources: Mapping[str, str] | None = None,
) -> Validated:
    """Check ``data`` against ``schema``, collecting every problem.

    Parameters
    ----------
    data : mapping
        Plain data as parsed from TOML (after ``extends`` merging).
    schema : Node
        Usually a :class:`Section`.
    origin : str
        File name used in messages for keys without recorded provenance.
    sources : mapping, optional
        Dotted leaf path -> file that wrote it.

    Returns
    -------
    Validated
        ``(data, uncertain)``.

    Raises
    ------
    ConfigError
        With all problems found.
    """
    ctx = _Ctx(root=data, sources=sources or {}, origin=origin)
    resolved = schema._resolve(data, "", ctx)
    if ctx.errors:
        raise ConfigError(ctx.errors)
    return Validated(resolved, ctx.uncertain)


def default_schema() -> Section:
    """The scenario schema, imported lazily (``oligosim.schema.SCENARIO_SCHEMA``)."""
    from oligosim.schema import SCENARIO_SCHEMA

    return SCENARIO_SCHEMA


# ============================================================================ loading and merging


def _syntax_message(exc: tomllib.TOMLDecodeError) -> str:
    """Reorder tomllib's "msg (at line L, column C)" to lead with the location."""
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
    if m:
        return f"line {m[1]}, column {m[2]}: TOML syntax error: {msg[: m.start()]}"
    m = re.search(r"\s*\(at end of document\)$", msg)
    if m:
        return f"end of file: TOML syntax error: {msg[: m.start()]}"
    return f"TOML syntax error: {msg}"


def read_toml_file(path: str | os.PathLike, display: str | None = None) -> dict:
    """Read and parse a TOML input file (experiment, targets, map, calibration config).

    Raises
    ------
    ConfigError
        Naming the file (as ``display``) for a missing or unreadable file and for TOML syntax
        errors (with line and column).
    """
    display = os.fspath(path) if display is None else display
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{display}: file not found"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{display}: is a directory, not a TOML file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{display}: cannot read file: {getattr(exc, 'strerror', None) or exc}"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{display}: {_syntax_message(exc)}"]) from None


def _parse_toml(text: str, display: str, errors: list[str]) -> dict | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"{display}: {_syntax_message(exc)}")
        return None


def _leaf_sources(value: Any, file: str, prefix: str, out: dict[str, str]) -> dict[str, str]:
    """Record ``file`` for every leaf under ``prefix`` (arrays count as leaves: they replace)."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _leaf_sources(item, file, _join(prefix, key), out)
    elif prefix:
        out[prefix] = file
    return out


def _drop_sources(sources: dict[str, str], path: str) -> None:
    for p in [p for p in sources if p == path or _is_below(p, path)]:
        del sources[p]


def _merge(dst: dict, dst_sources: dict[str, str], src: Mapping, src_sources: Mapping[str, str], prefix: str = "") -> None:
    """Deep-merge ``src`` into ``dst``: tables merge key by key, anything else replaces.

    An uncertainty table (one with ``dist``) replaces as a whole: merging the parameters of two
    different distributions key by key would produce nonsense.
    """
    for key, value in src.items():
        path = _join(prefix, key)
        old = dst.get(key)
        if isinstance(value, Mapping) and isinstance(old, dict) and not _is_uncertainty_table(value):
            _merge(old, dst_sources, value, src_sources, path)
            continue
        _drop_sources(dst_sources, path)
        dst[key] = copy.deepcopy(value)
        dst_sources.update({p: f for p, f in src_sources.items() if p == path or _is_below(p, path)})


def _resolve_extends(
    doc: dict, display: str, base_dir: Path, display_dir: str, chain: tuple, errors: list[str]
) -> tuple[dict, dict[str, str]]:
    """Merge the bases named by ``doc["extends"]`` in order, then ``doc`` on top."""
    bases = doc.pop("extends", [])
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        errors.append(f"{display}: extends = {format_value(bases)}: must be a file name or a list of file names")
        bases = []
    merged: dict = {}
    sources: dict[str, str] = {}
    for name in bases:
        base_display = os.path.normpath(os.path.join(display_dir, name))
        tree = _load_file(base_dir / name, base_display, chain, errors, referrer=(display, name))
        if tree is not None:
            _merge(merged, sources, tree[0], tree[1])
    _merge(merged, sources, doc, _leaf_sources(doc, display, "", {}))
    return merged, sources


def _load_file(
    path: Path, display: str, chain: tuple, errors: list[str], referrer: tuple[str, str] | None = None
) -> tuple[dict, dict[str, str]] | None:
    """Read, parse and resolve ``extends`` of one file; None if it could not be read.

    ``chain`` holds ``(identity, display)`` of the files currently being loaded, so that a
    file reached again through its own bases is reported as a cycle instead of recursing.
    """
    identity = path.resolve()
    seen = [ident for ident, _ in chain]
    if identity in seen:
        names = [d for _, d in chain[seen.index(identity):]] + [display]
        errors.append(f"{chain[-1][1]}: extends cycle: {' -> '.join(names)}")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if referrer:
            errors.append(f"{referrer[0]}: extends = {format_value(referrer[1])}: file not found: {display}")
        else:
            errors.append(f"{display}: file not found")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{display}: cannot read file: {getattr(exc, 'strerror', None) or exc}")
        return None
    doc = _parse_toml(text, display, errors)
    if doc is None:
        return None
    return _resolve_extends(doc, display, path.parent, os.path.dirname(display), chain + ((identity, display),), errors)


def load_scenario(path: str | os.PathLike, schema: Node | None = None) -> Scenario:
    """Load, merge (``extends``), validate and freeze a scenario file.

    Parameters
    ----------
    path : path-like
        The TOML file; messages name it as given.
    schema : Node, optional
        Defaults to :func:`default_schema`.

    Returns
    -------
    Scenario

    Raises
    ------
    ConfigError
        Listing every problem: unreadable/missing files, TOML syntax, extends cycles, schema
        violations. File-level problems are reported before (and instead of) schema checks,
        since a broken base would otherwise cause many spurious "missing key" errors.
    """
    display = os.fspath(path)
    errors: list[str] = []
    tree = _load_file(Path(path), display, (), errors)
    if errors or tree is None:
        raise ConfigError(errors)
    schema = default_schema() if schema is None else schema
    return _build(tree[0], tree[1], schema, fallback_name=Path(path).stem, path=Path(path), origin=display)


def loads_scenario(
    text: str, *, name: str = "<string>", base_dir: str | os.PathLike = ".", schema: Node | None = None
) -> Scenario:
    """Like :func:`load_scenario` for TOML text (tests, in-memory configs).

    Parameters
    ----------
    text : str
        TOML source.
    name : str
        Used as the file name in messages, and as the scenario name (its stem if it ends in
        ``.toml``) unless ``scenario.name`` is set.
    base_dir : path-like
        Directory that ``extends`` paths are relative to.
    schema : Node, optional
        Defaults to :func:`default_schema`.
    """
    errors: list[str] = []
    doc = _parse_toml(text, name, errors)
    tree = None
    if doc is not None:
        # a string has no file identity, so an object() stands in for it in the cycle chain
        chain = ((object(), name),)
        tree = _resolve_extends(doc, name, Path(base_dir), os.fspath(base_dir), chain, errors)
    if errors or tree is None:
        raise ConfigError(errors)
    schema = default_schema() if schema is None else schema
    return _build(tree[0], tree[1], schema, fallback_name=_name_of(name), path=None, origin=name)


def _name_of(label: str) -> str:
    return Path(label).stem if label.endswith(".toml") else label


# ============================================================================ the frozen scenario


def _freeze(value: Any) -> Any:
    """Deeply immutable copy: tables become read-only mappings, arrays tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Plain mutable deep copy (dicts and lists) of frozen data."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _digest(data: Mapping[str, Any], uncertain: Mapping[str, Distribution]) -> str:
    payload = {"data": data, "uncertain": {p: d.spec() for p, d in uncertain.items()}}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build(raw: dict, sources: dict[str, str], schema: Node, *, fallback_name: str, path: Path | None, origin: str) -> Scenario:
    data, uncertain = validate(raw, schema, origin=origin, sources=sources)
    declared = data.get("scenario", {}).get("name") if isinstance(data.get("scenario"), Mapping) else None
    return Scenario(
        name=declared if isinstance(declared, str) and declared else fallback_name,
        path=path,
        data=_freeze(data),
        uncertain=MappingProxyType(dict(uncertain)),
        sources=MappingProxyType(dict(sources)),
        sha256=_digest(data, uncertain),
        _raw=_freeze(raw),
        _schema=schema,
        _origin=origin,
        _fallback_name=fallback_name,
    )


_NO_DEFAULT = object()


def _plain(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and Distributions into TOML-like plain values."""
    if isinstance(value, Distribution):
        return value.spec()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _schema_problem(schema: Node, parts: Sequence[str | int]) -> str | None:
    """Why ``parts`` is not a path of ``schema`` (None if it is)."""
    node = schema
    for i, part in enumerate(parts):
        if isinstance(node, Section) and isinstance(part, str):
            if part not in node.fields:
                return f"unknown key{_suggest(part, node.fields)}"
            node = node.fields[part]
        elif isinstance(node, Table) and isinstance(part, str):
            node = node.value
        elif isinstance(node, ListOf) and isinstance(part, int):
            node = node.item
        else:
            return f"{_format_path(parts[:i]) or '(top level)'} has no {format_value(part)}"
    return None


def _assign(raw: dict, parts: Sequence[str | int], value: Any) -> str | None:
    """Set ``raw[parts...] = value``, creating absent tables; returns a problem or None."""
    target: Any = raw
    for part in parts[:-1]:
        if isinstance(part, int):
            if not isinstance(target, list) or not 0 <= part < len(target):
                return f"there is no item [{part}]"
            target = target[part]
        else:
            if not isinstance(target.get(part), (dict, list)):
                target[part] = {}  # sections and table entries absent from the file
            target = target[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(target, list) or not 0 <= last < len(target):
            return f"there is no item [{last}]"
    elif not isinstance(target, dict):
        return "its parent is not a table"
    target[last] = value
    return None


@dataclass(frozen=True)
class Scenario:
    """A validated, deeply immutable scenario.

    Attributes
    ----------
    name : str
        ``scenario.name`` if set, else the file stem.
    path : pathlib.Path or None
        The file loaded (None for :func:`loads_scenario`).
    data : mapping
        Resolved data: defaults filled, uncertainty tables replaced by point values; read-only
        mappings and tuples all the way down.
    uncertain : mapping
        Dotted key path -> :class:`Distribution` for every parameter given as a distribution.
    sources : mapping
        Dotted leaf path -> the file that wrote it (after ``extends`` merging).
    sha256 : str
        Hash of the canonical JSON of the resolved data and the uncertainty specifications.
    """

    name: str
    path: Path | None
    data: Mapping[str, Any]
    uncertain: Mapping[str, Distribution]
    sources: Mapping[str, str]
    sha256: str
    _raw: Mapping[str, Any] = field(repr=False, compare=False)
    _schema: Node = field(repr=False, compare=False)
    _origin: str = field(repr=False, compare=False)
    _fallback_name: str = field(repr=False, compare=False)

    def __hash__(self) -> int:
        return hash((self.name, self.sha256))

    def __reduce__(self):
        # Pickled as its raw (pre-validation) data and rebuilt on load, so that scenarios can
        # be sent to worker processes and Dask workers; the frozen mappings cannot be pickled.
        if self._schema is not default_schema():
            raise TypeError("only scenarios validated against the default schema can be pickled")
        return (_unpickle_scenario, (_thaw(self._raw), dict(self.sources), self._fallback_name, self.path, self._origin))

    def get(self, path: str, default: Any = _NO_DEFAULT) -> Any:
        """Value at a dotted path such as ``"arms.upfront.rt.metastasis_dose_gy"``.

        Raises
        ------
        KeyError
            If absent and no ``default`` is given.
        """
        node: Any = self.data
        try:
            for part in split_path(path):
                node = node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            if default is not _NO_DEFAULT:
                return default
            raise KeyError(path) from None
        return node

    def to_dict(self) -> dict:
        """Plain mutable deep copy of :attr:`data`."""
        return _thaw(self.data)

    def with_values(self, values: Mapping[str, Any]) -> Scenario:
        """A copy with some dotted paths changed, validated again against the schema.

        Parameters
        ----------
        values : mapping of str to object
            Dotted path -> new value: a number, string, list, an uncertainty table, or a
            :class:`Distribution`. A plain number replaces (and drops) a distribution.

        Raises
        ------
        ConfigError
            For an unknown path or an invalid resulting scenario.
        """
        raw = _thaw(self._raw)
        sources = dict(self.sources)
        errors = []
        for dotted, value in values.items():
            try:
                parts = split_path(dotted)
            except ValueError as exc:
                errors.append(f"{WITH_VALUES}: {exc}")
                continue
            problem = _schema_problem(self._schema, parts) or _assign(raw, parts, _plain(value))
            if problem:
                errors.append(f"{WITH_VALUES}: {dotted}: {problem}")
                continue
            canonical = _format_path(parts)
            _drop_sources(sources, canonical)
            sources[canonical] = WITH_VALUES
        if errors:
            raise ConfigError(errors)
        return _build(raw, sources, self._schema, fallback_name=self._fallback_name, path=self.path, origin=self._origin)


def _unpickle_scenario(raw: dict, sources: dict[str, str], fallback_name: str, path: Path | None, origin: str) -> Scenario:
    """Rebuild a pickled :class:`Scenario` (see ``Scenario.__reduce__``)."""
    return _build(raw, sources, default_schema(), fallback_name=fallback_name, path=path, origin=origin)
