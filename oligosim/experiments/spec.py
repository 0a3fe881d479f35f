"""Experiment files: their schema, validation and the resolved :class:`Experiment`.

An experiment file is TOML, validated as strictly as a scenario (unknown keys, wrong types and
out-of-range values are errors naming the file, the key, the value and the rule)::

    [experiment]
    kind = "oneway"                      # compare, oneway, twoway, threshold, psa, sobol, morris, trial
    title = "..."
    question = "..."                     # optional: what the experiment asks (for the report)
    scenario = "../configs/default.toml" # relative to this file
    arms = ["systemic_only", "consolidative"]   # the first is the reference arm
    outcome = "os.rmst:60"               # primary metric (oligosim.analysis.metrics grammar)
    metrics = ["os.median", "tox.any"]   # further metrics reported
    patients = 5000                      # virtual patients per arm and evaluation
    seed = 1

    [quick]                              # what --quick changes (any of the size keys below)
    patients = 500

    [[parameter]]                        # what the experiment varies (kinds other than compare, trial)
    path = "disease.seeding_rate_per_cm3_month"
    label = "Seeding rate"
    low = 0.03                           # one-way, Sobol, Morris ranges
    high = 0.12
    # values = [...] or points = 7       # grids (two-way, threshold)
    # distribution = { dist = "lognormal", mean = 0.06, sd = 0.02 }   # PSA (or the scenario's own)
    # report_as = "bed10"                # show a *_dose_gy parameter as BED10 (Gy)

plus one table for the kind's own settings (``[psa]``, ``[sobol]``, ``[morris]``,
``[threshold]``, ``[trial]``, ``[compare]``, ``[twoway]``). Everything a run depends on is in
the file, so the same file and seed reproduce the same results bit for bit.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oligosim.experiments.centring import STRICT_KINDS, base_problem
from oligosim.experiments.nodes import DistributionSpec, MetricName  # noqa: F401 (DistributionSpec is imported from here too)
from oligosim.config.values import suggest
from oligosim.config import (
    Bool,
    Choice,
    ConfigError,
    Distribution,
    Float,
    Int,
    ListOf,
    Maybe,
    Node,
    Scenario,
    Section,
    Str,
    Table,
    format_value,
    load_scenario,
    read_toml_file,
    validate,
)

class ExperimentError(ValueError):
    """A problem with an experiment found while running it (e.g. an outcome that is undefined
    at some parameter values); reported to the user without a traceback."""


KINDS = ("compare", "oneway", "twoway", "threshold", "psa", "sobol", "morris", "trial")

#: keys of ``[quick]``: the sizes --quick may lower
QUICK_KEYS = ("patients", "draws", "base_samples", "trajectories", "points", "replicates", "pool_patients")


def _check_parameter(d: dict, path: str):
    problems = []
    lo, hi = d["low"], d["high"]
    if (lo is None) != (hi is None):
        problems.append(("low" if lo is None else "high", "low and high must be given together"))
    if lo is not None and hi is not None and not lo < hi:
        problems.append(("high", f"must be greater than low = {lo:g}"))
    if d["values"] is not None and d["points"] is not None:
        problems.append(("points", "give either values or points, not both"))
    if d["points"] is not None and lo is None:
        problems.append(("points", "needs low and high (points are spread evenly between them)"))
    if d["values"] is not None and len(set(d["values"])) != len(d["values"]):
        problems.append(("values", "must not repeat a value"))
    if d["report_as"] == "bed10" and not d["path"].endswith("_dose_gy"):
        problems.append(("report_as", "bed10 applies to a dose key ending in _dose_gy (with a matching _fractions key)"))
    return problems


PARAMETER = Section(
    {
        "path": Str(doc="dotted scenario key, e.g. disease.seeding_rate_per_cm3_month or arms.upfront_rt.metastasis_dose_gy"),
        "label": Str(""),
        "low": Maybe(Float()),
        "high": Maybe(Float()),
        "values": Maybe(ListOf(Float(), min_len=2)),
        "points": Maybe(Int(lo=2, hi=200)),
        "distribution": DistributionSpec(),
        "report_as": Choice(("value", "bed10"), "value"),
    },
    check=_check_parameter,
)

QUICK = Section({k: Maybe(Int(lo=1)) for k in QUICK_KEYS})

KIND_SECTIONS = {
    "compare": Section(
        {
            "tau_months": Float(60.0, lo=0.0, lo_open=True, unit="months"),
            "bootstrap_replicates": Int(400, lo=50, hi=100_000),
            "swimmer_patients": Int(25, lo=1, hi=200),
            "event_patients": Int(2000, lo=1, doc="patients of each arm simulated again with the event log, for the swimmer plot"),
        }
    ),
    "oneway": Section({}),
    "twoway": Section({"threshold": Float(0.0, doc="contour drawn where the outcome difference equals it")}),
    "threshold": Section(
        {
            "value": Float(0.0, doc="threshold of the outcome difference (arm minus reference)"),
            "bootstrap_replicates": Int(200, lo=50, hi=100_000),
        }
    ),
    "psa": Section(
        {
            "draws": Int(1000, lo=2),
            "use_scenario_distributions": Bool(True),
            "sampling": Choice(("lhs", "random"), "lhs"),
            "toxicity_metric": MetricName("tox.any"),
            "weight_max_months": Float(24.0, lo=0.0, lo_open=True, unit="months"),
            # cost-effectiveness (when the scenario's [economics] is enabled)
            "wtp_points": Int(51, lo=2, hi=1001, doc="willingness-to-pay values of the CEAC, from 0 to economics.wtp_max_per_qaly"),
            "evppi_groups": Table(ListOf(Str(), min_len=1), doc="EVPPI for each named group of [[parameter]] paths"),
            "posterior": Maybe(Str(doc="a calibration's joint posterior (posterior.csv, or a name in configs/calibration/posteriors/): its particles are drawn whole (experiments/joint.py)")),
        }
    ),
    "sobol": Section({"base_samples": Int(64, lo=4, hi=65536), "second_order": Bool(False), "bootstrap_resamples": Int(200, lo=10)}),
    "morris": Section({"trajectories": Int(10, lo=2, hi=1000), "levels": Int(4, lo=2, hi=20)}),
    "trial": Section(
        {
            "endpoint": Choice(("os", "pfs", "wpfs", "dss"), "os"),
            "n_per_arm": ListOf(Int(lo=2), min_len=1),
            "accrual_per_month": Float(lo=0.0, lo_open=True, unit="patients/month"),
            "followup_months": Float(lo=0.0, unit="months"),
            "dropout_per_year": Float(0.0, lo=0.0, hi=1.0, hi_open=True),
            "replicates": Int(1000, lo=10),
            "alpha": Float(0.05, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
            "sided": Int(2, lo=1, hi=2),
            "target_power": Float(0.8, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
            "pool_patients": Maybe(Int(lo=4, doc="virtual patients simulated per arm as the pool trials draw from (default: patients)")),
        }
    ),
}


def _check_experiment(d: dict, path: str):
    problems = []
    arms = d["arms"]
    if arms is not None and len(set(arms)) != len(arms):
        problems.append(("arms", "must not repeat an arm"))
    return problems


EXPERIMENT = Section(
    {
        "kind": Choice(KINDS),
        "title": Str(""),
        "question": Str(""),
        "description": Str(""),
        "scenario": Str(doc="scenario file, relative to the experiment file"),
        "arms": ListOf(Str(), min_len=1),
        "outcome": MetricName(),
        "metrics": ListOf(MetricName(), default=[]),
        "patients": Int(lo=1),
        "seed": Int(0, lo=0),
        "statements": ListOf(Int(lo=1, hi=13), default=[], doc="consensus statements the experiment illustrates"),
        "explanation": Str("", doc="what the model shows and where its evidence is thin (teaching)"),
    },
    check=_check_experiment,
)


@dataclass(frozen=True)
class Parameter:
    """One varied parameter, resolved.

    Attributes
    ----------
    path, label : str
    low, high : float or None
    grid : tuple of float
        Values for grid kinds (from ``values`` or ``points``), else empty.
    distribution : Distribution or None
        Explicit, or the scenario's own uncertainty for the path.
    base : float
        The scenario's value at ``path``.
    report_as : {"value", "bed10"}
    fractions : int or None
        Fractions of the course for ``report_as = "bed10"``.
    """

    path: str
    label: str
    low: float | None
    high: float | None
    grid: tuple
    distribution: Distribution | None
    base: float
    report_as: str = "value"
    fractions: int | None = None
    integer: bool = False

    def value(self, x) -> float | int:
        """``x`` as the scenario takes it: rounded to the nearest whole number for an integer
        key (e.g. ``cohort.eligibility.max_lesions`` in a grid or a Sobol' design)."""
        return int(round(float(x))) if self.integer else float(x)

    def display(self, x):
        """The value as reported: itself, or BED10 (Gy) of ``x`` Gy in ``fractions``."""
        x = np.asarray(x, dtype=float)
        if self.report_as == "bed10":
            return x * (1.0 + x / self.fractions / 10.0)
        return x

    @property
    def display_label(self) -> str:
        return f"BED10 (Gy) of {self.label}" if self.report_as == "bed10" else self.label


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: what to run, on which scenario, and how big."""

    path: Path | None
    name: str
    kind: str
    title: str
    question: str
    description: str
    explanation: str
    statements: tuple
    scenario: Scenario
    arms: tuple
    outcome: str
    metrics: tuple
    patients: int
    seed: int
    parameters: tuple
    settings: dict
    quick: bool = False
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    #: what the file does that is allowed but probably not meant (a base value outside a sweep)
    warnings: tuple = ()
    #: the joint posterior a PSA draws whole (:class:`oligosim.experiments.joint.JointPosterior`)
    posterior: Any = None

    @property
    def all_metrics(self) -> tuple:
        """The outcome first, then the other metrics, without repeats."""
        return tuple(dict.fromkeys((self.outcome,) + tuple(self.metrics)))

    def to_json(self) -> dict:
        """The resolved inputs, JSON-ready (for results.json)."""
        return {
            "file": str(self.path) if self.path else None,
            "kind": self.kind,
            "title": self.title,
            "question": self.question,
            "scenario": {"name": self.scenario.name, "path": str(self.scenario.path), "sha256": self.scenario.sha256},
            "arms": list(self.arms),
            "outcome": self.outcome,
            "metrics": list(self.metrics),
            "patients": self.patients,
            "seed": self.seed,
            "quick": self.quick,
            "settings": {k: v for k, v in self.settings.items()},
            "posterior": None if self.posterior is None else {"source": self.posterior.source, "file": str(self.posterior.file), "particles": len(self.posterior.weights), "ess": self.posterior.ess, "paths": list(self.posterior.paths)},
            "parameters": [
                {
                    "path": p.path,
                    "label": p.label,
                    "base": p.base,
                    "low": p.low,
                    "high": p.high,
                    "grid": list(p.grid),
                    "distribution": p.distribution.spec() if p.distribution else None,
                    "report_as": p.report_as,
                }
                for p in self.parameters
            ],
        }


_NEEDS_PARAMETERS = {"oneway": 1, "twoway": 2, "threshold": 1, "psa": 1, "sobol": 2, "morris": 2}


def load_experiment(path: str | os.PathLike, *, quick: bool = False) -> Experiment:
    """Load and validate an experiment file.

    Parameters
    ----------
    path : path-like
        The TOML file.
    quick : bool
        Apply the file's ``[quick]`` sizes (a fast run for teaching and smoke tests).

    Raises
    ------
    ConfigError
        Listing every problem (file, key, value, rule), including problems found in the
        scenario it names, unknown arms and parameter paths the scenario does not have.
    """
    display = os.fspath(path)
    raw = read_toml_file(path, display)
    return _from_dict(raw, display=display, path=Path(path), base_dir=Path(path).parent, quick=quick)


def loads_experiment(text: str, *, base_dir=".", name: str = "<string>", quick: bool = False) -> Experiment:
    """Like :func:`load_experiment` for TOML text; ``scenario`` is relative to ``base_dir``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{name}: TOML syntax error: {exc}"]) from None
    return _from_dict(raw, display=name, path=None, base_dir=Path(base_dir), quick=quick)


def _scenario_path(base_dir: Path, name: str) -> Path:
    """``experiment.scenario``: a file relative to the experiment, else a shipped scenario by name."""
    from oligosim.shipped import find

    path = base_dir / name
    if not path.exists():
        hit = find(name, "configs")
        if hit is not None:
            return hit
    return path


def _path_problem(scenario: Scenario, path: str) -> str:
    """Why ``path`` cannot be varied: not a key of the schema (with a did-you-mean), or not numeric."""
    from oligosim.config.keys import split_path
    from oligosim.config.scenario import _schema_problem, default_schema

    try:
        problem = _schema_problem(default_schema(), split_path(path))
    except ValueError as exc:
        problem = str(exc)
    if problem is None:
        try:
            scenario.get(path)
        except KeyError:
            # arms.<name>.key of an arm the scenario lacks, and the like
            parts = path.split(".")
            if parts[0] == "arms" and len(parts) > 1 and parts[1] not in scenario.data["arms"]:
                return f"no arm {parts[1]!r} in scenario {scenario.name}{suggest(parts[1], list(scenario.data['arms']), 'arms')}"
            return f"not set in scenario {scenario.name}"
        return f"is not a numeric key of scenario {scenario.name}"
    return f"not a key of the scenario schema: {problem}"


def _scenario_errors(raw: dict, display: str, base_dir: Path) -> list[str]:
    """Problems of the scenario, arms and parameter paths of an experiment whose own schema
    failed, read from the raw file as far as it goes (so that every error shows at once)."""
    exp = raw.get("experiment") if isinstance(raw.get("experiment"), dict) else {}
    name = exp.get("scenario")
    if not isinstance(name, str):
        return []
    try:
        scenario = load_scenario(_scenario_path(base_dir, name))
    except ConfigError as exc:
        return [f"{display}: experiment.scenario = {name!r}: the scenario is not valid:"] + list(exc.errors)
    errors = []
    known = list(scenario.data["arms"])
    arms = exp.get("arms") if isinstance(exp.get("arms"), list) else []
    for i, arm in enumerate(arms):
        if isinstance(arm, str) and arm not in known:
            errors.append(f"{display}: experiment.arms[{i}] = {format_value(arm)}: unknown arm of {scenario.name}{suggest(arm, known, 'arms')}")
    params = raw.get("parameter") if isinstance(raw.get("parameter"), list) else []
    for i, p in enumerate(params):
        path = p.get("path") if isinstance(p, dict) else None
        if not isinstance(path, str):
            continue
        base = scenario.get(path, None)
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            errors.append(f"{display}: parameter[{i}].path = {format_value(path)}: {_path_problem(scenario, path)}")
    return errors


def _from_dict(raw: dict, *, display: str, path: Path | None, base_dir: Path, quick: bool) -> Experiment:
    kind = raw.get("experiment", {}).get("kind") if isinstance(raw.get("experiment"), dict) else None
    fields: dict[str, Node] = {"experiment": EXPERIMENT, "quick": QUICK, "parameter": ListOf(PARAMETER, default=[])}
    if kind in KIND_SECTIONS:
        fields[kind] = KIND_SECTIONS[kind]
    schema = Section(fields)
    try:
        data, _ = validate(raw, schema, origin=display)
    except ConfigError as exc:
        # report the scenario's, the arms' and the parameter paths' problems with the schema's
        raise ConfigError(list(exc.errors) + _scenario_errors(raw, display, base_dir)) from None
    exp = data["experiment"]
    errors: list[str] = []

    def bad(key: str, value: Any, rule: str) -> None:
        errors.append(f"{display}: {key} = {format_value(value)}: {rule}")

    scenario_path = _scenario_path(base_dir, exp["scenario"])
    try:
        scenario = load_scenario(scenario_path)
    except ConfigError as exc:
        raise ConfigError([f"{display}: experiment.scenario = {exp['scenario']!r}: the scenario is not valid:"] + list(exc.errors)) from None
    known = list(scenario.data["arms"])
    for i, arm in enumerate(exp["arms"]):
        if arm not in known:
            bad(f"experiment.arms[{i}]", arm, f"unknown arm of {scenario.name}{suggest(arm, known, 'arms')}")
    settings = dict(data.get(kind, {}) or {})
    quick_sizes = {k: v for k, v in (data["quick"] or {}).items() if v is not None}
    patients = exp["patients"]
    if quick:
        patients = quick_sizes.get("patients", patients)
        for key in ("draws", "base_samples", "trajectories", "replicates", "pool_patients"):
            if key in quick_sizes and key in settings:
                settings[key] = quick_sizes[key]
    if kind in ("compare", "trial") and len(exp["arms"]) < 2:
        bad("experiment.arms", exp["arms"], f"a {kind} experiment needs at least two arms (the first is the reference)")
    if kind == "trial" and len(exp["arms"]) != 2:
        bad("experiment.arms", exp["arms"], "a trial experiment compares exactly two arms: control first, then experimental")
    if kind == "sobol" and settings["base_samples"] & (settings["base_samples"] - 1):
        bad("sobol.base_samples", settings["base_samples"], "must be a power of 2 (Saltelli/Sobol' sequence balance)")

    params = []
    raw_params = data["parameter"] or []
    need = _NEEDS_PARAMETERS.get(kind, 0)
    if kind == "twoway" and len(raw_params) != 2:
        bad("parameter", f"{len(raw_params)} tables", "a twoway experiment varies exactly two [[parameter]] tables")
    elif kind == "threshold" and len(raw_params) != 1:
        bad("parameter", f"{len(raw_params)} tables", "a threshold experiment varies exactly one [[parameter]]")
    elif len(raw_params) < need and not (kind == "psa" and settings.get("posterior")):
        bad("parameter", f"{len(raw_params)} tables", f"a {kind} experiment needs at least {need} [[parameter]] table(s)")
    elif kind in ("compare", "trial") and raw_params:
        bad("parameter", f"{len(raw_params)} tables", f"a {kind} experiment varies no parameter; remove the [[parameter]] tables")
    seen = set()
    # regimens given outside their labels in the scenario itself (model 5.7)
    warnings: list[str] = [f"{display}: experiment.scenario: {w}" for w in scenario.warnings]
    for i, p in enumerate(raw_params):
        key = f"parameter[{i}]"
        if p["path"] in seen:
            bad(f"{key}.path", p["path"], "is varied twice")
        seen.add(p["path"])
        try:
            base = scenario.get(p["path"])
        except KeyError:
            base = None
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            bad(f"{key}.path", p["path"], _path_problem(scenario, p["path"]))
            continue
        dist = p["distribution"] or (scenario.uncertain.get(p["path"]) if settings.get("use_scenario_distributions", True) else None)
        lo, hi = p["low"], p["high"]
        grid: tuple = ()
        if p["values"] is not None:
            grid = tuple(float(v) for v in p["values"])
        elif p["points"] is not None:
            n_points = quick_sizes.get("points", p["points"]) if quick else p["points"]
            grid = tuple(float(v) for v in np.linspace(lo, hi, max(2, n_points)))
        if isinstance(base, int) and grid:
            # an integer key: whole-number grid points, without repeats
            grid = tuple(float(v) for v in sorted({int(round(g)) for g in grid}))
        if kind in ("oneway", "sobol", "morris") and lo is None:
            if dist is None:
                bad(key, p["path"], f"a {kind} parameter needs low and high, or a distribution (its 2.5 and 97.5 percentiles are used)")
                continue
            lo, hi = (float(v) for v in dist.ppf([0.025, 0.975]))
        if kind in ("twoway", "threshold") and not grid:
            bad(key, p["path"], f"a {kind} parameter needs values = [...] or low, high and points")
            continue
        if kind == "psa" and dist is None:
            bad(f"{key}.distribution", None, "a psa parameter needs a distribution (here or in the scenario)")
            continue
        problem = base_problem(kind, float(base), lo, hi, grid, dist)
        if problem and kind in STRICT_KINDS:
            bad(f"{key}.path", p["path"], problem)
            continue
        if problem:
            warnings.append(f"{display}: {key}.path = {format_value(p['path'])}: {problem}")
        fractions = None
        if p["report_as"] == "bed10":
            fpath = p["path"][: -len("_dose_gy")] + "_fractions"
            try:
                fractions = int(scenario.get(fpath))
            except (KeyError, TypeError, ValueError):
                bad(f"{key}.report_as", "bed10", f"needs the matching key {fpath} in the scenario")
                continue
        # every value the experiment may use must make a valid scenario (checked now, not mid-run)
        probe = [v for v in (lo, hi) + grid if v is not None]
        if dist is not None:
            probe += [float(v) for v in dist.ppf([1e-6, 1 - 1e-6]) if math.isfinite(v)]
        for v in dict.fromkeys(probe):
            if isinstance(base, int):
                v = int(round(v))
            try:
                scenario.with_values({p["path"]: v})
            except ConfigError as exc:
                bad(f"{key}.path", p["path"], f"value {v:g} gives an invalid scenario: {'; '.join(exc.errors)}")
                break
        params.append(
            Parameter(
                path=p["path"],
                label=p["label"] or p["path"],
                low=lo,
                high=hi,
                grid=grid,
                distribution=dist,
                base=float(base),
                report_as=p["report_as"],
                fractions=fractions,
                integer=isinstance(base, int),
            )
        )
    posterior = None
    if kind == "psa" and settings.get("posterior") is not None:
        from oligosim.experiments.joint import load_posterior

        posterior, problems = load_posterior(settings["posterior"], base_dir, scenario, {p["path"] for p in raw_params}, display)
        errors.extend(problems)
    if kind == "psa":
        known = {p.path for p in params} | set(posterior.paths if posterior else ())
        for group, paths in settings["evppi_groups"].items():
            for q in paths:
                if q not in known:
                    bad(f"psa.evppi_groups.{group}", q, "is not the path of one of the experiment's [[parameter]] tables")
    if errors:
        raise ConfigError(errors)
    name = path.stem if path else display
    return Experiment(
        path=path,
        name=name,
        kind=kind,
        title=exp["title"] or name,
        question=exp["question"],
        description=exp["description"],
        explanation=exp["explanation"],
        statements=tuple(exp["statements"]),
        scenario=scenario,
        arms=tuple(exp["arms"]),
        outcome=exp["outcome"],
        metrics=tuple(exp["metrics"]),
        patients=int(patients),
        seed=int(exp["seed"]),
        parameters=tuple(params),
        settings=settings,
        quick=quick,
        raw=raw,
        warnings=tuple(warnings),
        posterior=posterior,
    )
