"""The validator framework: schema node types, one validation pass, :class:`ConfigError`.

A scenario (and every other input file: experiments, calibration, targets) is checked against a
*schema*: a tree of the node types defined here (:class:`Section`, :class:`Table`,
:class:`Float` ...). A schema is data; the scenario's lives in :mod:`oligosim.config.schema`.

Design rules
------------
* Strict: an unknown key is an error (with a "did you mean" hint), never silently ignored,
  because a misspelt parameter would otherwise fall back to its default unnoticed.
* All errors at once: validation collects every problem before raising :class:`ConfigError`,
  so a user fixes a file in one round trip.
* Every error is one line naming the file that wrote the offending value, the dotted key path,
  the value and the rule, e.g.
  ``configs/x.toml: arms.upfront_rt.metastasis_dose_gy = -5: must be > 0 (Gy)``.
* Any :class:`Float` marked ``uncertain`` may be an uncertainty table instead of a number
  (:mod:`oligosim.config.uncertainty`); validation returns the point value in the data and the
  :class:`~oligosim.config.uncertainty.Distribution` beside it.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from abc import ABC, abstractmethod
from dataclasses import KW_ONLY, dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from oligosim.config.keys import index_key, is_below, join_key, parent_path, split_path
from oligosim.config.uncertainty import Distribution, is_uncertainty_table, parse_uncertainty, support_bounds
from oligosim.config.values import as_number, format_value, interval, short_number, suggest

__all__ = [
    "REQUIRED",
    "Bool",
    "CheckFn",
    "Choice",
    "ConfigError",
    "Float",
    "Int",
    "ListOf",
    "Maybe",
    "Node",
    "Ref",
    "Section",
    "Str",
    "Table",
    "Validated",
    "validate",
]


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


# ============================================================================ ranges


def _range_rule(lo, hi, lo_open: bool, hi_open: bool, unit: str) -> str:
    """The rule text of a range, e.g. ``must be within [0, 1]`` or ``must be > 0 (Gy)``."""
    if lo is not None and hi is not None:
        rule = f"must be within {interval(lo, hi, lo_open, hi_open)}"
    elif lo is not None:
        rule = f"must be {'>' if lo_open else '>='} {short_number(lo)}"
    else:
        rule = f"must be {'<' if hi_open else '<='} {short_number(hi)}"
    return rule + (f" ({unit})" if unit else "")


def _in_range(x: float, lo, hi, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (x < lo or (lo_open and x == lo)):
        return False
    if hi is not None and (x > hi or (hi_open and x == hi)):
        return False
    return True


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
        below = [f for p, f in self.sources.items() if is_below(p, path)]
        if below:
            return below[-1]
        while path:
            path = parent_path(path)
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
    finite : bool
        Whether ``inf`` is refused (the default: no model parameter is infinite).
    ceiling : bool
        ``hi`` only keeps the arithmetic sound (far beyond any plausible value): a distribution
        of unbounded support is accepted when all but 1e-9 of it lies below ``hi``.
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
    finite: bool = True
    ceiling: bool = False

    def _range_problem(self, x: float) -> str | None:
        if math.isnan(x):
            return "must be a number, not nan"
        if self.finite and math.isinf(x):
            return "must be finite, not inf"
        if _in_range(x, self.lo, self.hi, self.lo_open, self.hi_open):
            return None
        return _range_rule(self.lo, self.hi, self.lo_open, self.hi_open, self.unit)

    def _resolve(self, value: Any, path: str, ctx: _Ctx) -> Any:
        if isinstance(value, Mapping):
            if not self.uncertain:
                ctx.bad(path, value, "must be a number (this parameter takes no uncertainty distribution)")
                return None
            return self._resolve_uncertain(value, path, ctx)
        x = as_number(value)
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
        s_lo, s_hi, lo_hit, hi_hit = support_bounds(dist)
        if self.ceiling and math.isinf(s_hi) and float(dist.ppf(1.0 - 1e-9)) < self.hi:
            s_hi, hi_hit = float(dist.ppf(1.0 - 1e-9)), False
        ok_lo = self.lo is None or s_lo > self.lo or (s_lo == self.lo and not (self.lo_open and lo_hit))
        ok_hi = self.hi is None or s_hi < self.hi or (s_hi == self.hi and not (self.hi_open and hi_hit))
        if ok_lo and ok_hi:
            return None
        span = interval(s_lo, s_hi, not lo_hit, not hi_hit)
        allowed = interval(self.lo, self.hi, self.lo_open, self.hi_open)
        return (
            f"a {dist.kind} distribution takes values in {span}, outside the allowed range {allowed}; "
            "choose one that stays inside (beta for [0, 1], gamma or lognormal for positive values, "
            "uniform or triangular for a bounded range)"
        )

    def _resolve_uncertain(self, spec: Mapping[str, Any], path: str, ctx: _Ctx) -> float | None:
        dist, point, problems = parse_uncertainty(spec)
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
                ctx.bad(path, spec, f"value {short_number(point)} lies outside the distribution's range {interval(lo, hi, False, False)}")
                return None
        rule = self._range_problem(point)
        if rule:
            ctx.bad(path, spec, f"value {short_number(point)} {rule}")
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
        return [self.item._resolve(v, index_key(path, i), ctx) for i, v in enumerate(value)]


#: a cross-field check returns messages, or (relative key, message) pairs to point at a key
CheckFn = Callable[[dict, str], "list[str | tuple[str, str]]"]


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
    #: ``check_given(data, given, path) -> list`` like ``check``, also told which keys the
    #: files gave (``given``, a set of key names), for rules about keys that would go unused
    check_given: Callable[[Mapping[str, Any], set[str], str], list] | None = None

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
                what = "section" if isinstance(item, Mapping) and not is_uncertainty_table(item) else "key"
                ctx.note(join_key(path, key), f"unknown {what}{suggest(key, self.fields)}")
        out = {}
        for name, node in self.fields.items():
            sub = join_key(path, name)
            out[name] = node._resolve(value[name], sub, ctx) if name in value else node._missing(sub, ctx)
        # cross-field rules only make sense once every field holds a valid value
        if self.check is not None and len(ctx.errors) == before:
            for problem in self.check(out, path) or ():
                _report_check(problem, out, path, ctx)
        if self.check_given is not None and len(ctx.errors) == before:
            for problem in self.check_given(out, set(value), path) or ():
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
        ctx.note(join_key(path, key), message)
        return
    ctx.bad(join_key(path, key), node, message)


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
            sub = join_key(path, key)
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

