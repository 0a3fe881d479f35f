"""The map file: how oligosim reproduces each published target.

The **map file** (``configs/calibration/map.toml``) gives for each target a study scenario, one
of its arms (or a weighted mixture of arms), an oligosim metric
(:mod:`oligosim.analysis.metrics` grammar) and a tolerance rule::


      [defaults]
      tolerance_relative = 0.20   # used when tolerance = "relative"
      tolerance_absolute = 0.07   # used when tolerance = "absolute"

      [target.eso-sh13-chemo-systemic-pfs]
      scenario = "../studies/eso_shanghai13.toml"   # relative to the map file
      arm = "chemo_systemic"                        # or { chemo_local = 61, io_local = 43 }
      metric = "pfs.median"
      # optional:
      # tolerance = "relative" | "absolute"   default by the metric's unit: months (and
      #                                        courses) -> relative, fractions -> absolute
      # tolerance_value = 0.05                 overrides the [defaults] value for this target
      # bound = "two_sided" | "lower" | "upper"   default "two_sided"
      # note = "..."                           free text, ignored

Map entries whose id is not in the targets file are an **error** (:func:`load_map` with
``extra="error"``, what the CLI uses): such an entry is nearly always a misspelt id, which would
otherwise leave the real target silently unmapped. Python callers that deliberately score a
subset of targets with a full map pass ``extra="ignore"``. Targets without a map entry are not an
error: they are listed as *unmapped*.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from oligosim import config
from oligosim.config.values import suggest
from oligosim.analysis.metrics import Metric, parse_metric
from oligosim.calibration.targets import (
    BOUNDS,
    DEFAULT_TOLERANCE_ABSOLUTE,
    DEFAULT_TOLERANCE_RELATIVE,
    ID_PATTERN,
    TOLERANCE_KINDS,
    Target,
)
from oligosim.config import (
    Maybe,
    Choice,
    ConfigError,
    Float,
    Node,
    Scenario,
    Section,
    Str,
    Table,
    format_value,
    load_scenario,
    validate,
)

__all__ = ["MapEntry", "TargetMap", "load_map"]


_ARM_RULE = 'must be an arm name (a string) or a table of arm weights > 0, e.g. { chemo_local = 61, io_local = 43 }'


@dataclass(frozen=True)
class _ArmSpec(Node):
    """``"arm"`` or ``{ arm_a = weight, arm_b = weight }`` -> tuple of (name, weight)."""

    doc: str = ""

    def _resolve(self, value: Any, path: str, ctx) -> Any:
        if isinstance(value, str):
            if not value.strip():
                ctx.bad(path, value, _ARM_RULE)
                return None
            return ((value, 1.0),)
        if isinstance(value, Mapping) and value:
            weight = Float(lo=0.0, lo_open=True, uncertain=False)
            out = []
            ok = True
            for name, w in value.items():
                x = weight._resolve(w, f"{path}.{name}", ctx)
                ok = ok and x is not None
                out.append((str(name), x))
            return tuple(out) if ok else None
        ctx.bad(path, value, _ARM_RULE)
        return None


MAP_ENTRY_SCHEMA = Section(
    {
        "scenario": Str(doc="study scenario file, relative to the map file"),
        "arm": _ArmSpec(doc="arm name, or a table of arm weights for a mixture"),
        "metric": Str(doc="oligosim metric (oligosim.analysis.metrics grammar)"),
        "tolerance": Maybe(Choice(TOLERANCE_KINDS)),
        "tolerance_value": Maybe(Float(lo=0.0, lo_open=True, uncertain=False)),
        "bound": Choice(BOUNDS, "two_sided"),
        "note": Str(""),
    }
)
MAP_DEFAULTS_SCHEMA = Section(
    {
        "tolerance_relative": Float(DEFAULT_TOLERANCE_RELATIVE, lo=0.0, lo_open=True, uncertain=False),
        "tolerance_absolute": Float(DEFAULT_TOLERANCE_ABSOLUTE, lo=0.0, lo_open=True, uncertain=False),
    }
)
#: the whole map file (load_map validates it piece by piece, to report every problem at once)
MAP_FILE_SCHEMA = Section(
    {
        "defaults": MAP_DEFAULTS_SCHEMA,
        "target": Table(MAP_ENTRY_SCHEMA, min_items=1, key_pattern=ID_PATTERN),
        "pending": Table(Str(), key_pattern=ID_PATTERN),
    }
)


@dataclass(frozen=True)
class MapEntry:
    """How one target is reproduced: scenario, arm(s), metric and tolerance rule."""

    id: str
    scenario: str  #: the scenario path as displayed (map directory joined with the value written)
    scenario_path: Path  #: resolved absolute path
    arms: tuple  #: ((arm name, weight), ...), weights normalised to sum to 1
    metric: str
    tolerance: str  #: "relative" or "absolute"
    tolerance_value: float
    bound: str  #: "two_sided", "lower" or "upper"
    note: str = ""

    @property
    def arm_label(self) -> str:
        """``"arm"`` or ``"a 59% + b 41%"``."""
        if len(self.arms) == 1:
            return self.arms[0][0]
        return " + ".join(f"{name} {100 * w:.0f}%" for name, w in self.arms)

    def arm_json(self):
        """The arm name, or ``{name: weight}`` for a mixture."""
        if len(self.arms) == 1:
            return self.arms[0][0]
        return {name: w for name, w in self.arms}


@dataclass(frozen=True)
class TargetMap:
    """A validated map joined with its targets file.

    Attributes
    ----------
    path : Path
        The map file.
    targets : mapping of id -> Target
        Every target of the targets file, in file order.
    entries : tuple of MapEntry
        The mapped targets, in targets-file order.
    unmapped : tuple of str
        Target ids without a map entry and not declared pending.
    pending : mapping of id -> str
        Targets the map declares not reproducible yet (``[pending]``), with the reason, in
        targets-file order. Like unmapped targets they are not scored; unlike them they are
        accounted for.
    extra : tuple of str
        Map entries whose id is not a target (only with ``extra="ignore"``; they are dropped).
    scenarios : mapping of Path -> Scenario
        The loaded scenario of every entry, by resolved path.
    """

    path: Path
    targets: Mapping[str, Target]
    entries: tuple
    unmapped: tuple
    extra: tuple
    scenarios: Mapping[Path, Scenario] = field(repr=False)
    pending: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _entry_path(tid: str, key: str | None = None) -> str:
    return f"target.{tid}" + (f".{key}" if key else "")


def load_map(path: str | os.PathLike, targets: Sequence[Target], *, extra: str = "error") -> TargetMap:
    """Read and validate a map file against ``targets`` and the scenarios it names.

    Parameters
    ----------
    path : path-like
        The map file; scenario paths in it are relative to its directory.
    targets : sequence of Target
        From :func:`load_targets`.
    extra : {"error", "ignore"}
        What to do with map entries whose id is not in ``targets`` (see the module docstring).

    Raises
    ------
    ConfigError
        Listing every problem: schema violations, unknown target ids, unparseable metrics,
        metrics that do not fit the target's value, missing or invalid scenario files, unknown arms.
    """
    if extra not in ("error", "ignore"):
        raise ValueError(f"extra = {extra!r}: must be 'error' or 'ignore'")
    display = os.fspath(path)
    path = Path(path)
    raw = config.read_toml_file(path, display)
    by_id = {t.id: t for t in targets}
    errors: list[str] = []
    # ---- structure, piece by piece so that one bad entry does not hide the others' problems
    for key, value in raw.items():
        if key not in MAP_FILE_SCHEMA.fields:
            what = "section" if isinstance(value, Mapping) else "key"
            errors.append(f"{display}: {key}: unknown {what}{suggest(key, MAP_FILE_SCHEMA.fields)}")
    defaults = {"tolerance_relative": DEFAULT_TOLERANCE_RELATIVE, "tolerance_absolute": DEFAULT_TOLERANCE_ABSOLUTE}
    try:
        defaults = validate({"defaults": raw.get("defaults", {})}, Section({"defaults": MAP_DEFAULTS_SCHEMA}), origin=display).data["defaults"]
    except ConfigError as exc:
        errors.extend(exc.errors)
    raw_entries = raw.get("target")
    valid_entries: dict[str, dict] = {}
    if not isinstance(raw_entries, Mapping) or not raw_entries:
        if raw_entries is None:
            errors.append(f"{display}: target: missing: at least 1 [target.<id>] table required")
        else:
            errors.append(f"{display}: target = {format_value(raw_entries)}: must be a table of [target.<id>] tables, at least one")
        raw_entries = {}
    entry_schema = Section({"target": Table(MAP_ENTRY_SCHEMA, key_pattern=ID_PATTERN)})
    extras: list[str] = []
    for tid, entry in raw_entries.items():
        if tid not in by_id:
            if extra == "ignore":
                extras.append(tid)
            else:
                hint = suggest(tid, list(by_id), "target ids")
                errors.append(f"{display}: {_entry_path(tid)}: no target with this id in the targets file{hint}")
            continue
        try:
            checked = validate({"target": {tid: entry}}, entry_schema, origin=display).data["target"]
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        if tid in checked:
            valid_entries[tid] = checked[tid]
    scenarios: dict[Path, Scenario] = {}
    bad_scenarios: set[Path] = set()
    entries: dict[str, MapEntry] = {}

    def bad(tid, key, value, rule):
        errors.append(f"{display}: {_entry_path(tid, key)} = {format_value(value)}: {rule}")

    for tid, e in valid_entries.items():
        target = by_id[tid]
        # ---- metric
        metric: Metric | None
        try:
            metric = parse_metric(e["metric"])
        except ValueError as exc:
            bad(tid, "metric", e["metric"], str(exc))
            metric = None
        if metric is not None and metric.unit == "fraction" and target.value > 1.0:
            bad(
                tid, "metric", e["metric"],
                f"is a fraction (0-1) but the target's value is {target.value:g} "
                f"({target.metric}); choose a metric in the target's unit",
            )
        # ---- tolerance
        kind = e["tolerance"] or ("absolute" if (metric is not None and metric.unit == "fraction") else "relative")
        tol = e["tolerance_value"]
        if tol is None:
            tol = defaults["tolerance_relative"] if kind == "relative" else defaults["tolerance_absolute"]
        if kind == "relative" and target.value == 0:
            bad(tid, "tolerance", kind, "a relative tolerance needs a target value other than 0; use \"absolute\"")
        # ---- scenario and arms
        written = e["scenario"]
        sc_display = os.path.normpath(os.path.join(os.path.dirname(display), written))
        sc_path = (path.parent / written).resolve()
        if sc_path not in scenarios and sc_path not in bad_scenarios:
            if not sc_path.is_file():
                bad(tid, "scenario", written, f"file not found: {sc_display}")
                bad_scenarios.add(sc_path)
            else:
                try:
                    scenarios[sc_path] = load_scenario(sc_display)
                except ConfigError as exc:
                    bad(tid, "scenario", written, f"{sc_display} is not a valid scenario:")
                    errors.extend(f"  {line}" for line in exc.errors)
                    bad_scenarios.add(sc_path)
        elif sc_path in bad_scenarios and not sc_path.is_file():
            bad(tid, "scenario", written, f"file not found: {sc_display}")
        arms = e["arm"]
        sc = scenarios.get(sc_path)
        if sc is not None:
            known = list(sc.data["arms"])
            for name, _ in arms:
                if name not in known:
                    listed = ", ".join(known) or "(none: a base file)"
                    value = e["arm"] if len(arms) > 1 else name
                    bad(tid, "arm", _arm_value(value), f"unknown arm {name!r} of {sc_display}; known arms: {listed}")
        total = sum(w for _, w in arms)
        entries[tid] = MapEntry(
            id=tid,
            scenario=sc_display,
            scenario_path=sc_path,
            arms=tuple((name, w / total) for name, w in arms),
            metric=metric.name if metric is not None else e["metric"],
            tolerance=kind,
            tolerance_value=float(tol),
            bound=e["bound"],
            note=e["note"],
        )
    pending = _pending(raw.get("pending", {}), by_id, raw_entries, display, errors)
    if errors:
        raise ConfigError(errors)
    ordered = tuple(entries[t.id] for t in targets if t.id in entries)
    unmapped = tuple(t.id for t in targets if t.id not in entries and t.id not in pending)
    return TargetMap(
        path=path,
        targets=MappingProxyType({t.id: t for t in targets}),
        entries=ordered,
        unmapped=unmapped,
        extra=tuple(extras),
        scenarios=MappingProxyType(scenarios),
        pending=MappingProxyType({t.id: pending[t.id] for t in targets if t.id in pending}),
    )


def _pending(raw, by_id: Mapping[str, Target], mapped: Mapping, display: str, errors: list[str]) -> dict[str, str]:
    """The ``[pending]`` table: target id -> why no study scenario reproduces it yet.

    Every id must be a target of the targets file, not also mapped, with a non-empty reason;
    problems are appended to ``errors``.
    """
    if not isinstance(raw, Mapping):
        errors.append(f"{display}: pending = {format_value(raw)}: must be a table of target id = \"reason\"")
        return {}
    out = {}
    for tid, reason in raw.items():
        where = f"{display}: pending.{tid}"
        if tid not in by_id:
            errors.append(f"{where}: no target with this id in the targets file{suggest(tid, list(by_id), 'target ids')}")
        elif tid in mapped:
            errors.append(f"{where}: the target is also mapped in [target.{tid}]: a target is mapped or pending, not both")
        elif not isinstance(reason, str) or not reason.strip():
            errors.append(f"{where} = {format_value(reason)}: must be a non-empty string saying why the target is not mapped yet")
        else:
            out[tid] = reason.strip()
    return out


def _arm_value(arms):
    if isinstance(arms, tuple):
        return {name: w for name, w in arms}
    return arms
