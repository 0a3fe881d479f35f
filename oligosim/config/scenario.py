"""The scenario: a validated, frozen TOML configuration, and how to load and vary one.

:func:`load_scenario` reads a file and its ``extends`` bases (:mod:`oligosim.config.files`),
validates the merged data against the scenario schema (:mod:`oligosim.config.schema`, or any
schema built from :mod:`oligosim.config.nodes`) and freezes the result in a :class:`Scenario`:
point values in :attr:`Scenario.data`, uncertainty distributions in
:attr:`Scenario.uncertain`, the file that wrote each key in :attr:`Scenario.sources`.
:meth:`Scenario.with_values` derives a changed copy, validated again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np

from oligosim.config.files import drop_sources, load_merged, loads_merged
from oligosim.config.keys import format_path, split_path
from oligosim.config.nodes import ConfigError, ListOf, Node, Section, Table, validate
from oligosim.config.schema import SCENARIO_SCHEMA
from oligosim.config.uncertainty import Distribution
from oligosim.config.values import format_value, suggest

__all__ = ["WITH_VALUES", "Scenario", "default_schema", "load_scenario", "loads_scenario"]

#: label used as the "file" of values changed by :meth:`Scenario.with_values`
WITH_VALUES = "<with_values>"


def default_schema() -> Section:
    """The scenario schema (:data:`oligosim.config.schema.SCENARIO_SCHEMA`).

    Loading calls this rather than naming the schema, so tests can patch in a small one.
    """
    return SCENARIO_SCHEMA


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
    raw, sources = load_merged(path, display)
    schema = default_schema() if schema is None else schema
    return _build(raw, sources, schema, fallback_name=Path(path).stem, path=Path(path), origin=display)


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
    raw, sources = loads_merged(text, name, base_dir)
    schema = default_schema() if schema is None else schema
    return _build(raw, sources, schema, fallback_name=_name_of(name), path=None, origin=name)


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
                return f"unknown key{suggest(part, node.fields)}"
            node = node.fields[part]
        elif isinstance(node, Table) and isinstance(part, str):
            node = node.value
        elif isinstance(node, ListOf) and isinstance(part, int):
            node = node.item
        else:
            return f"{format_path(parts[:i]) or '(top level)'} has no {format_value(part)}"
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

    def __repr__(self) -> str:
        # the data is thousands of characters: a notebook or traceback shows what identifies it
        arms = ", ".join(self.data.get("arms", {})) or "none"
        where = f" from {self.path}" if self.path is not None else ""
        uncertain = f", {len(self.uncertain)} uncertain parameters" if self.uncertain else ""
        return f"<Scenario {self.name!r}{where}: arms {arms}{uncertain}; sha256 {self.sha256[:12]}>"

    def __reduce__(self):
        # Pickled as its raw (pre-validation) data and rebuilt on load, so that scenarios can
        # be sent to worker processes and Dask workers; the frozen mappings cannot be pickled.
        if self._schema is not default_schema():
            raise TypeError("only scenarios validated against the default schema can be pickled")
        return (_unpickle_scenario, (_thaw(self._raw), dict(self.sources), self._fallback_name, self.path, self._origin))

    @property
    def warnings(self) -> list[str]:
        """Problems that do not stop a run: regimens given outside their line or histology
        labels (:mod:`oligosim.config.regimen_labels`, model 5.7). ``oligosim check`` and
        ``oligosim run`` print them on stderr."""
        from oligosim.config.regimen_labels import label_warnings

        return label_warnings(self.data)

    def get(self, path: str, default: Any = _NO_DEFAULT) -> Any:
        """Value at a dotted path such as ``"arms.upfront_rt.metastasis_dose_gy"``.

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
            canonical = format_path(parts)
            drop_sources(sources, canonical)
            sources[canonical] = WITH_VALUES
        if errors:
            raise ConfigError(errors)
        return _build(raw, sources, self._schema, fallback_name=self._fallback_name, path=self.path, origin=self._origin)


def _unpickle_scenario(raw: dict, sources: dict[str, str], fallback_name: str, path: Path | None, origin: str) -> Scenario:
    """Rebuild a pickled :class:`Scenario` (see ``Scenario.__reduce__``)."""
    return _build(raw, sources, default_schema(), fallback_name=fallback_name, path=path, origin=origin)
