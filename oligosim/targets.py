"""Published calibration targets: read them, map them onto study scenarios, score the model.

Two user files meet here:

* the **targets file** (``../shared/calibration/targets.toml``): one ``[[target]]`` per published
  figure, with ``id``, ``study``, ``population``, ``arm``, ``metric`` (a description such as
  ``median_pfs_months``), ``value``, optional ``n``, ``quoted_in`` and optional ``note``;
* the **map file** (``configs/calibration/map.toml``): how oligosim reproduces each target --
  a study scenario, one of its arms (or a weighted mixture of arms), an oligosim metric
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

Scoring rule (:func:`score`). With ``half`` = ``tolerance_value x |target|`` (relative) or
``tolerance_value`` (absolute), the tolerance band is ``[target - half, target + half]`` for
``bound = "two_sided"``, ``[target - half, inf)`` for ``"lower"`` (a published lower bound such as
">= 95 %": only a shortfall of more than the tolerance misses) and ``(-inf, target + half]`` for
``"upper"``. A target is *within tolerance* when the model's point estimate lies in the band;
the Monte Carlo CI is reported but not used. A model value that is undefined (a median not
reached, no lesion irradiated) is not within tolerance. ``scaled_error`` is the distance to the
target in units of ``half`` (0 on the allowed side of a one-sided bound), so within tolerance
means ``|scaled_error| <= 1``; :func:`goodness_of_fit` summarises it for calibration.

Map entries whose id is not in the targets file are an **error** (:func:`load_map` with
``extra="error"``, what the CLI uses): such an entry is nearly always a misspelt id, which would
otherwise leave the real target silently unmapped. Python callers that deliberately score a
subset of targets with a full map pass ``extra="ignore"``. Targets without a map entry are not an
error: they are listed as *unmapped*.

Both files are validated as strictly as scenarios (the :mod:`oligosim.config` node types):
unknown, missing or mistyped keys, unparseable metrics, missing or invalid scenario files and
unknown arms all raise :class:`~oligosim.config.ConfigError` with one line per problem naming the
file, the key, the value and the rule.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from oligosim import config
from oligosim.config import (
    Maybe,
    Choice,
    ConfigError,
    Float,
    Int,
    ListOf,
    Node,
    Scenario,
    Section,
    Str,
    Table,
    format_value,
    load_scenario,
    validate,
)
from oligosim.analysis.metrics import Metric, evaluate_mixture, parse_metric
from oligosim.analysis.survival import json_number

__all__ = [
    "Target",
    "MapEntry",
    "TargetMap",
    "TargetResult",
    "load_targets",
    "load_map",
    "evaluate_targets",
    "score",
    "goodness_of_fit",
    "results_json",
    "format_results_table",
    "plot_targets",
    "TOLERANCE_KINDS",
    "BOUNDS",
]

TOLERANCE_KINDS = ("relative", "absolute")
BOUNDS = ("two_sided", "lower", "upper")
DEFAULT_TOLERANCE_RELATIVE = 0.20
DEFAULT_TOLERANCE_ABSOLUTE = 0.07


# ============================================================================ schema helpers


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


_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
_ID_RULE = "an id must start with a letter or digit and use only letters, digits, '_', '-' and '.'"


def _unique_ids(data, path):
    problems = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data["target"] or ()):
        if not isinstance(item, Mapping) or item.get("id") is None:
            continue
        tid = item["id"]
        if not re.match(_ID_PATTERN, tid):
            problems.append((f"target[{i}].id", _ID_RULE))
        elif tid in seen:
            problems.append((f"target[{i}].id", f"duplicate id: also the id of target[{seen[tid]}]"))
        else:
            seen[tid] = i
    return problems


TARGET_SCHEMA = Section(
    {
        "id": Str(doc="unique name of the target"),
        "study": Str(doc="the publication"),
        "population": Str(doc="who the figure is about"),
        "arm": Str(doc="the treatment arm, in words"),
        "metric": Str(doc="what the figure is, in words (e.g. median_pfs_months)"),
        "value": Float(lo=0.0, uncertain=False, doc="the published figure (months or a fraction)"),
        "n": Maybe(Int(lo=1, unit="patients")),
        "quoted_in": Str(doc="where the figure was read"),
        "note": Str("", doc="free text"),
    }
)
TARGETS_FILE_SCHEMA = Section({"target": ListOf(TARGET_SCHEMA, min_len=1)}, check=_unique_ids)


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
        "target": Table(MAP_ENTRY_SCHEMA, min_items=1, key_pattern=_ID_PATTERN),
    }
)


# ============================================================================ targets file


@dataclass(frozen=True)
class Target:
    """One published figure of the targets file."""

    id: str
    study: str
    population: str
    arm: str
    metric: str
    value: float
    n: int | None
    quoted_in: str
    note: str = ""


def load_targets(path: str | os.PathLike) -> list[Target]:
    """Read and validate a targets file; the targets in file order.

    Raises
    ------
    ConfigError
        One line per problem (``file: target[i].key = value: rule``, with the target's id).
    """
    display = os.fspath(path)
    raw = config.read_toml_file(Path(path), display)
    try:
        data, _ = validate(raw, TARGETS_FILE_SCHEMA, origin=display)
    except ConfigError as exc:
        items = raw.get("target") if isinstance(raw.get("target"), list) else []
        raise ConfigError([_with_target_id(line, items) for line in exc.errors]) from None
    return [Target(**item) for item in data["target"]]


def _with_target_id(line: str, items: list) -> str:
    m = re.search(r"\btarget\[(\d+)\]", line)
    if m and int(m.group(1)) < len(items):
        item = items[int(m.group(1))]
        tid = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(tid, str) and tid:
            return f"{line} (in the [[target]] with id = {format_value(tid)})"
    return line


# ============================================================================ map file


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
        Target ids without a map entry.
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
            errors.append(f"{display}: {key}: unknown {what}{config._suggest(key, MAP_FILE_SCHEMA.fields)}")
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
    entry_schema = Section({"target": Table(MAP_ENTRY_SCHEMA, key_pattern=_ID_PATTERN)})
    extras: list[str] = []
    for tid, entry in raw_entries.items():
        if tid not in by_id:
            if extra == "ignore":
                extras.append(tid)
            else:
                hint = config._suggest(tid, list(by_id), "target ids")
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
    if errors:
        raise ConfigError(errors)
    ordered = tuple(entries[t.id] for t in targets if t.id in entries)
    unmapped = tuple(t.id for t in targets if t.id not in entries)
    return TargetMap(
        path=path,
        targets=MappingProxyType({t.id: t for t in targets}),
        entries=ordered,
        unmapped=unmapped,
        extra=tuple(extras),
        scenarios=MappingProxyType(scenarios),
    )


def _arm_value(arms):
    if isinstance(arms, tuple):
        return {name: w for name, w in arms}
    return arms


# ============================================================================ scoring


def score(target: float, model: float, *, tolerance: str, tolerance_value: float, bound: str = "two_sided") -> dict:
    """Errors, tolerance band and verdict of one model value against one target.

    Parameters
    ----------
    target, model : float
        Published and model values (``model`` may be nan: undefined).
    tolerance : {"relative", "absolute"}
    tolerance_value : float
        Fraction of the target (relative) or absolute amount, > 0.
    bound : {"two_sided", "lower", "upper"}

    Returns
    -------
    dict
        ``rel_error`` ((model - target) / target, None if undefined or target 0), ``abs_error``,
        ``half_width``, ``band`` [lo, hi] (None for an open side), ``within_tolerance`` (bool),
        ``scaled_error`` (None if the model is undefined).
    """
    if tolerance not in TOLERANCE_KINDS:
        raise ValueError(f"tolerance = {tolerance!r}: must be one of {TOLERANCE_KINDS}")
    if bound not in BOUNDS:
        raise ValueError(f"bound = {bound!r}: must be one of {BOUNDS}")
    if not (tolerance_value > 0):
        raise ValueError(f"tolerance_value = {tolerance_value!r}: must be > 0")
    half = tolerance_value * abs(target) if tolerance == "relative" else tolerance_value
    if half <= 0:
        raise ValueError("a relative tolerance needs a target other than 0")
    lo = None if bound == "upper" else target - half
    hi = None if bound == "lower" else target + half
    defined = model is not None and math.isfinite(model)
    out = {
        "abs_error": (model - target) if defined else None,
        "rel_error": ((model - target) / target) if defined and target != 0 else None,
        "half_width": half,
        "band": [lo, hi],
        "within_tolerance": False,
        "scaled_error": None,
    }
    if not defined:
        return out
    diff = model - target
    if bound == "lower":
        scaled = min(diff, 0.0) / half
    elif bound == "upper":
        scaled = max(diff, 0.0) / half
    else:
        scaled = diff / half
    out["scaled_error"] = scaled
    # a tiny slack so that a value exactly on the band's edge counts as within
    out["within_tolerance"] = abs(scaled) <= 1.0 + 1e-9
    return out


@dataclass(frozen=True)
class TargetResult:
    """One target scored against the model (JSON-able through :meth:`to_json`)."""

    id: str
    study: str
    scenario: str
    arm: Any  #: arm name or {name: weight}
    metric: str
    unit: str
    target: float
    n: int | None
    model: float | None
    model_ci95: tuple  #: (lo, hi), None where undefined
    rel_error: float | None
    abs_error: float | None
    tolerance: dict  #: {"kind", "value", "bound", "band"}
    within_tolerance: bool
    scaled_error: float | None
    patients: int  #: virtual patients simulated per arm
    seed: int

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "metric": self.metric,
            "target": self.target,
            "model": self.model,
            "model_ci95": list(self.model_ci95),
            "rel_error": self.rel_error,
            "abs_error": self.abs_error,
            "tolerance": dict(self.tolerance),
            "within_tolerance": self.within_tolerance,
            "scenario": self.scenario,
            "arm": self.arm,
            "n": self.n,
            "unit": self.unit,
            "scaled_error": self.scaled_error,
            "study": self.study,
            "simulated_patients": self.patients,
            "seed": self.seed,
        }


def evaluate_targets(
    tmap: TargetMap,
    *,
    patients: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, object] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[TargetResult]:
    """Run every scenario the map needs once and score every mapped target.

    Parameters
    ----------
    tmap : TargetMap
        From :func:`load_map`.
    patients, seed : int, optional
        Override each scenario's ``simulation.patients`` / ``simulation.seed``.
    overrides : mapping of dotted path -> value, optional
        Parameter values applied to every scenario with :meth:`Scenario.with_values` (e.g. a
        calibration's candidate ``{"disease.death_hazard_per_cm3_month": 0.002}``).
    threads : int, optional
        numba threads (results do not depend on it).
    progress : callable, optional
        ``progress(n)`` after each chunk of ``n`` simulated patients.

    Returns
    -------
    list of TargetResult
        In targets-file order. Deterministic for given inputs.

    Raises
    ------
    ConfigError
        If ``overrides`` are not valid for some scenario.
    oligosim.simulate.InfeasibleCohort
        If a scenario's eligibility cannot be met.
    """
    from oligosim.simulate import run_scenario

    by_scenario: dict[Path, list[MapEntry]] = {}
    for entry in tmap.entries:
        by_scenario.setdefault(entry.scenario_path, []).append(entry)
    values: dict[str, tuple] = {}
    for sc_path, entries in by_scenario.items():
        sc = tmap.scenarios[sc_path]
        if overrides:
            sc = sc.with_values(dict(overrides))
        wanted = {name for e in entries for name, _ in e.arms}
        arms = [name for name in sc.data["arms"] if name in wanted]
        res = run_scenario(sc, patients=patients, seed=seed, keep="summary", arms=arms, threads=threads, progress=progress)
        for e in entries:
            v = evaluate_mixture([res.arms[name] for name, _ in e.arms], [w for _, w in e.arms], e.metric)
            values[e.id] = (v, res.patients, res.seed)
    out = []
    for e in tmap.entries:
        (model, lo, hi), n_sim, seed_used = values[e.id]
        t = tmap.targets[e.id]
        s = score(t.value, model, tolerance=e.tolerance, tolerance_value=e.tolerance_value, bound=e.bound)
        out.append(
            TargetResult(
                id=e.id,
                study=t.study,
                scenario=e.scenario,
                arm=e.arm_json(),
                metric=e.metric,
                unit=parse_metric(e.metric).unit,
                target=float(t.value),
                n=t.n,
                model=json_number(model),
                model_ci95=(json_number(lo), json_number(hi)),
                rel_error=s["rel_error"],
                abs_error=s["abs_error"],
                tolerance={"kind": e.tolerance, "value": e.tolerance_value, "bound": e.bound, "band": s["band"]},
                within_tolerance=bool(s["within_tolerance"]),
                scaled_error=s["scaled_error"],
                patients=int(n_sim),
                seed=int(seed_used),
            )
        )
    return out


def goodness_of_fit(results: Sequence[TargetResult]) -> dict:
    """Summary of a set of scored targets (JSON-able).

    Returns
    -------
    dict
        ``mapped`` (targets scored), ``within_tolerance`` (count), ``fraction_within``
        (None if nothing mapped), ``undefined`` (ids whose model value is undefined),
        ``loss`` = mean of ``scaled_error**2`` over defined targets and ``weighted_loss`` =
        the same weighted by each target's ``n`` (targets without ``n`` get the median ``n``),
        both None when no target is defined. A calibration minimises ``weighted_loss`` (plus a
        penalty for undefined targets if it wants one).
    """
    mapped = len(results)
    within = sum(1 for r in results if r.within_tolerance)
    defined = [r for r in results if r.scaled_error is not None]
    known_n = [r.n for r in results if r.n]
    fill = statistics.median(known_n) if known_n else 1.0
    loss = weighted = None
    if defined:
        loss = sum(r.scaled_error**2 for r in defined) / len(defined)
        weights = [float(r.n or fill) for r in defined]
        weighted = sum(w * r.scaled_error**2 for w, r in zip(weights, defined)) / sum(weights)
    return {
        "mapped": mapped,
        "within_tolerance": within,
        "fraction_within": (within / mapped) if mapped else None,
        "undefined": [r.id for r in results if r.scaled_error is None],
        "loss": loss,
        "weighted_loss": weighted,
    }


def results_json(tmap: TargetMap, results: Sequence[TargetResult], *, patients: int | None, seed: int | None) -> dict:
    """The ``targets.json`` document (strict JSON: no nan)."""
    from oligosim import __version__

    def common(values):
        vals = {v for v in values}
        return vals.pop() if len(vals) == 1 else None

    return {
        "targets": [r.to_json() for r in results],
        "unmapped": list(tmap.unmapped),
        "summary": goodness_of_fit(results),
        "seed": seed if seed is not None else common(r.seed for r in results),
        "patients": patients if patients is not None else common(r.patients for r in results),
        "oligosim_version": __version__,
        "map": os.fspath(tmap.path),
    }


# ============================================================================ reporting


def _fmt(x, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "fraction":
        return f"{x:.3f}"
    return f"{x:.1f}"


def _fmt_model(r: TargetResult) -> str:
    if r.model is None:
        return "NR" if r.metric.endswith(".median") else "undef"
    return _fmt(r.model, r.unit)


def format_results_table(results: Sequence[TargetResult]) -> str:
    """The results as a fixed-width text table."""
    header = ("id", "metric", "target", "model", "model 95% CI", "rel err", "within")
    rows = []
    for r in results:
        lo, hi = r.model_ci95
        ci = f"{_fmt(lo, r.unit)}-{_fmt(hi, r.unit)}" if (lo is not None or hi is not None) else "-"
        rel = f"{100 * r.rel_error:+.0f}%" if r.rel_error is not None else "-"
        tgt = _fmt(r.target, r.unit) + (" (>=)" if r.tolerance["bound"] == "lower" else " (<=)" if r.tolerance["bound"] == "upper" else "")
        rows.append((r.id, r.metric, tgt, _fmt_model(r), ci, rel, "yes" if r.within_tolerance else "no"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("-" * len(lines[0]))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


_XMIN, _XMAX = -1.05, 2.0


def plot_targets(results: Sequence[TargetResult], *, ax=None, title: str | None = None):
    """Dot plot of the relative deviation of the model from each target, grouped by study.

    One row per target: the tolerance band (grey, relative to the target), the model's relative
    deviation ``(model - target) / target`` (dot: green within tolerance, red outside) and its
    Monte Carlo 95 % CI (bar). Rows are grouped by scenario file (one study each). Deviations
    beyond the axis are drawn as triangles at the edge; an undefined model value (e.g. a median
    not reached) as a grey ``NR`` at the right edge.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from oligosim.plots.canvas import new_axes

    groups: dict[str, list[TargetResult]] = {}
    for r in results:
        groups.setdefault(Path(r.scenario).stem, []).append(r)
    n_rows = len(results) + len(groups)
    if ax is None:
        ax = new_axes(figsize=(9.0, max(3.0, 0.3 * n_rows + 1.2)))
    y = 0
    yticks, ylabels = [], []
    for study, rows in groups.items():
        ax.text(_XMIN + 0.02, y, study, fontsize="small", fontweight="bold", va="center", ha="left")
        y += 1
        for r in rows:
            t = r.target if r.target else 1.0
            band_lo, band_hi = r.tolerance["band"]
            lo = _XMIN if band_lo is None else max((band_lo - r.target) / t, _XMIN)
            hi = _XMAX if band_hi is None else min((band_hi - r.target) / t, _XMAX)
            ax.fill_betweenx([y - 0.35, y + 0.35], lo, hi, color="0.85", linewidth=0)
            if r.model is None:
                ax.text(_XMAX, y, "NR ", color="0.4", fontsize="x-small", va="center", ha="right")
            else:
                dev = (r.model - r.target) / t
                color = "tab:green" if r.within_tolerance else "tab:red"
                clo, chi = r.model_ci95
                if clo is not None and chi is not None:
                    a, b = (clo - r.target) / t, (chi - r.target) / t
                    if b >= _XMIN and a <= _XMAX:
                        ax.plot([max(a, _XMIN), min(b, _XMAX)], [y, y], color=color, linewidth=1.2)
                if dev > _XMAX:
                    ax.plot([_XMAX], [y], marker=">", color=color, markersize=6, clip_on=False)
                    ax.text(_XMAX, y + 0.45, f"{100 * dev:+.0f}%", fontsize="xx-small", ha="right", color=color)
                else:
                    ax.plot([max(dev, _XMIN)], [y], marker="o", color=color, markersize=5)
            yticks.append(y)
            ylabels.append(r.id)
            y += 1
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlim(_XMIN, _XMAX)
    ax.set_ylim(y - 0.5, -0.5)
    ax.set_yticks(yticks)
    ax.set_yticklabels(ylabels, fontsize="x-small")
    ax.set_xlabel("relative deviation of the model from the target, (model - target) / target")
    ax.xaxis.set_major_formatter(_percent_formatter())
    ax.grid(True, axis="x", alpha=0.3)
    within = sum(r.within_tolerance for r in results)
    ax.set_title(title or f"Calibration targets: {within} of {len(results)} within tolerance (grey: tolerance band)", fontsize="medium")
    return ax


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{100 * v:+.0f}%")
