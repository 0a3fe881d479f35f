"""The calibration config file: schema, validation and the resolved :class:`CalibrationSpec`.

Validated as strictly as a scenario (the :mod:`oligosim.config` node types): unknown, missing or
mistyped keys, out-of-range values, parameter paths the map's scenarios do not have and prior
ranges that give an invalid scenario are all reported at once, one line per problem naming the
file, the key, the value and the rule (:class:`~oligosim.config.ConfigError`). The format is
documented in :mod:`oligosim.calibration`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oligosim.config import (
    Choice,
    ConfigError,
    Distribution,
    Bool,
    Float,
    Int,
    ListOf,
    Maybe,
    Section,
    Str,
    format_value,
    validate,
)
from oligosim.config.files import load_merged, source_dir
from oligosim.calibration.tied import check_tied, parse_tied, tied_values
from oligosim.experiments.spec import DistributionSpec

SCALES = ("linear", "log")
#: why history matching takes the squared loss only (checked at load time and before a run)
GAUSSIAN_ONLY = "history matching emulates a Gaussian likelihood of the errors"
METHODS = ("optimize", "abc", "both", "history")
QUICK_KEYS = (
    "patients", "screen_points", "max_evaluations", "restarts", "particles", "prior_draws", "generations", "max_proposals",
    "predictive_draws", "waves", "design_points", "pool", "steps",
)


def _check_parameter(d: dict, path: str):
    problems = []
    lo, hi = d["low"], d["high"]
    if not lo < hi:
        problems.append(("high", f"must be greater than low = {lo:g}"))
    if d["scale"] == "log" and not lo > 0:
        problems.append(("low", 'must be > 0 with scale = "log"'))
    dist = d["prior"]
    if dist is not None and lo < hi:
        mass = float(dist.frozen.cdf(hi) - dist.frozen.cdf(lo))
        if not mass > 1e-9:
            problems.append(("prior", f"puts no probability between low = {lo:g} and high = {hi:g}"))
    return problems


PARAMETER = Section(
    {
        "path": Str(doc="dotted scenario key, e.g. disease.seeding_rate_per_cm3_month or regimens.tp.kill_rate_per_month"),
        "label": Str("", doc="name in reports (default: the path)"),
        "low": Float(uncertain=False, doc="lower end of the prior range"),
        "high": Float(uncertain=False, doc="upper end of the prior range"),
        "scale": Choice(SCALES, "linear", doc="search (and default prior) scale: uniform in the value or in its log"),
        "prior": DistributionSpec(doc="prior distribution, truncated to [low, high] (default: uniform on the scale)"),
    },
    check=_check_parameter,
)


def _check_abc(d: dict, path: str):
    problems = []
    if d["prior_draws"] is not None and d["prior_draws"] < d["particles"]:
        problems.append(("prior_draws", f"must be >= particles = {d['particles']}"))
    return problems


SCHEMA = Section(
    {
        "calibration": Section(
            {
                "title": Str("oligosim calibration"),
                "description": Str(""),
                "map": Str(doc="target map file, relative to the file that names it (this file or one it extends)"),
                "patients": Int(lo=1, hi=10**7, unit="patients", doc="virtual patients per arm and evaluation"),
                "seed": Int(0, lo=0, hi=2**63 - 1, doc="root seed: the same virtual patients for every candidate (common random numbers)"),
                "method": Choice(METHODS, "both", doc="what --method defaults to"),
                "free": ListOf(
                    Str(), default=[],
                    doc="fit only these [[parameter]] paths; the others stay at the scenarios' values (a staged fit "
                    "of a file it extends; default: every parameter)",
                ),
            }
        ),
        "objective": Section(
            {
                "weighting": Choice(("n", "equal"), "n", doc="weight each target by its n, or all equally"),
                "missing_n_weight": Maybe(Float(lo=0.0, lo_open=True, uncertain=False), doc="weight of targets without n (default: the median n of the others)"),
                "discrepancy_n": Maybe(
                    Float(lo=0.0, lo_open=True, uncertain=False),
                    doc="model-discrepancy sample size n0 (weighting = \"n\" only): weight n n0 / (n + n0), the precision of a figure whose sampling variance ~1/n is added to a discrepancy variance ~1/n0 (default: none, weight n)",
                ),
                "median_scale": Choice(("log", "linear"), "log", doc="error of month-valued targets and hazard ratios with a relative tolerance: on the log scale or linear"),
                "undefined_penalty": Float(100.0, lo=0.0, uncertain=False, doc="squared error charged for an undefined model value (median not reached)"),
                "loss": Choice(
                    ("squared", "student_t"), "squared",
                    doc="cost of a target's error e (tolerance units): \"squared\", e^2 (Gaussian errors); \"student_t\", dof ln(1 + e^2/dof) "
                    "(heavy-tailed model discrepancy: a structural miss grows the objective logarithmically; not with history matching)",
                ),
                "dof": Maybe(Float(lo=0.0, lo_open=True, hi=1e6, uncertain=False), doc="degrees of freedom of loss = \"student_t\" (default 1, Cauchy)"),
            }
        ),
        "optimize": Section(
            {
                "screen_points": Int(32, lo=0, hi=100_000, doc="scrambled Sobol' points screened in parallel"),
                "local": Choice(("nelder-mead", "none"), "nelder-mead"),
                "max_evaluations": Int(200, lo=0, hi=1_000_000, doc="Nelder-Mead evaluations (all runs together)"),
                "restarts": Int(1, lo=0, hi=100),
                "initial_step": Float(0.15, lo=0.0, hi=1.0, lo_open=True, uncertain=False, doc="edge of the initial simplex in the unit cube"),
                "xatol": Float(0.01, lo=0.0, lo_open=True, uncertain=False),
                "fatol": Float(1e-3, lo=0.0, lo_open=True, uncertain=False),
            }
        ),
        "abc": Section(
            {
                "particles": Int(100, lo=2, hi=1_000_000),
                "generations": Int(4, lo=1, hi=100, doc="populations in all, the prior generation included"),
                "prior_draws": Maybe(Int(lo=2), doc="prior draws of generation 0 (default 2 x particles)"),
                "quantile": Float(0.5, lo=0.0, hi=1.0, lo_open=True, hi_open=True, uncertain=False),
                "max_proposals": Maybe(Int(lo=1), doc="simulations allowed per later generation (default 10 x particles)"),
                "batch": Maybe(Int(lo=1), doc="proposals simulated per parallel batch (default: adaptive)"),
            },
            check=_check_abc,
        ),
        "history": Section(
            {
                "waves": Int(3, lo=0, hi=50, doc="simulated designs of history matching before the Bayesian step (0 only with a start)"),
                "design_points": Maybe(Int(lo=4, hi=1_000_000), doc="points simulated per wave (default 10 x the fitted parameters; at least their number + 3)"),
                "pool": Int(4000, lo=100, hi=10_000_000, doc="candidates screened with the emulator per wave (half Sobol', half perturbations of points not ruled out)"),
                "cutoff": Float(0.995, lo=0.0, hi=1.0, lo_open=True, hi_open=True, uncertain=False, doc="implausibility cut: this quantile of a chi-square with one degree of freedom per target"),
                "particles": Int(300, lo=2, hi=1_000_000, doc="draws of the emulator posterior simulated and importance-weighted per round (the last round's are the posterior's particles)"),
                "rounds": Int(1, lo=1, hi=100, doc="rounds of the Bayesian step: each round's simulated draws join the emulator's training set before the next"),
                "chains": Int(16, lo=1, hi=10_000, doc="Metropolis chains on the emulator"),
                "steps": Int(2000, lo=2, hi=10_000_000, doc="Metropolis steps per chain (the first half adapts and is discarded)"),
                "error_scale": Maybe(Float(lo=0.0, lo_open=True, uncertain=False), doc="tau^2, the error variance of an average-weight target in squared tolerance units (default: the smallest simulated objective)"),
                "clip": Float(10.0, lo=0.0, lo_open=True, uncertain=False, doc="errors beyond +-clip tolerance units (and undefined ones) are learned by the emulator as +-clip"),
                "start": ListOf(
                    Str(), default=[],
                    doc="evaluations.csv files of earlier calibrations of the same model and targets, relative to the file that names them: "
                    "their candidates train the emulator from the start (never particles); a fitted parameter they lack takes the scenarios' value",
                ),
                "combine": Bool(False, doc="the posterior's particles are every round's draws, each round weighted by its effective sample size (false: the last round's)"),
            }
        ),
        "quick": Section({k: Maybe(Int(lo=0 if k in ("restarts", "predictive_draws", "waves") else 1)) for k in QUICK_KEYS}),
        "report": Section(
            {
                "discussion": Str("", doc="free text for the report (paragraphs separated by blank lines)"),
                "predictive_draws": Int(
                    200, lo=0, hi=100_000,
                    doc="replicated studies of the posterior (or point-fit) predictive check, each study at its published size "
                    "(oligosim.calibration.predictive); 0: no check",
                ),
            }
        ),
        "parameter": ListOf(PARAMETER, min_len=1),
    }
)


@dataclass(frozen=True)
class CalParameter:
    """One fitted parameter: prior range, scale and the maps to and from the unit cube."""

    path: str
    label: str
    low: float
    high: float
    scale: str
    prior: Distribution | None
    default: float | None  #: the map's scenarios' value (None if they differ)

    # ---- unit cube
    def _g(self, x):
        return np.log(x) if self.scale == "log" else np.asarray(x, float)

    def _ginv(self, y):
        return np.exp(y) if self.scale == "log" else y

    def to_value(self, z):
        """Value(s) at unit-cube coordinate(s) ``z``."""
        glo, ghi = self._g(self.low), self._g(self.high)
        v = self._ginv(glo + np.asarray(z, float) * (ghi - glo))
        return np.clip(v, self.low, self.high)

    def to_unit(self, x):
        glo, ghi = self._g(self.low), self._g(self.high)
        return (self._g(np.asarray(x, float)) - glo) / (ghi - glo)

    def unit_marginal(self):
        """``None`` (uniform on the scale) or ``(ppf, pdf)`` of the prior in unit coordinates."""
        if self.prior is None:
            return None
        fr = self.prior.frozen
        c_lo, c_hi = float(fr.cdf(self.low)), float(fr.cdf(self.high))
        glo, ghi = self._g(self.low), self._g(self.high)

        def ppf(u):
            return np.clip(self.to_unit(np.clip(fr.ppf(c_lo + np.asarray(u) * (c_hi - c_lo)), self.low, self.high)), 0.0, 1.0)

        def pdf(z):
            x = self.to_value(z)
            # dx/dz: (ghi - glo) for linear, x (ghi - glo) for log
            jac = (ghi - glo) * (x if self.scale == "log" else 1.0)
            return fr.pdf(x) * jac / (c_hi - c_lo)

        return (ppf, pdf)

    def describe_prior(self) -> str:
        rng = f"[{self.low:g}, {self.high:g}]"
        if self.prior is not None:
            return f"{self.prior.describe().split(':')[0]} truncated to {rng}"
        return f"{'log-uniform' if self.scale == 'log' else 'uniform'} on {rng}"

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "label": self.label,
            "low": self.low,
            "high": self.high,
            "scale": self.scale,
            "prior": self.prior.spec() if self.prior else None,
            "prior_text": self.describe_prior(),
            "default": self.default,
        }


@dataclass(frozen=True)
class CalibrationSpec:
    """A validated calibration config (with the quick sizes applied when asked)."""

    path: Path
    title: str
    description: str
    map_path: Path
    targets_path: Path
    patients: int
    seed: int
    method: str
    objective: dict
    optimize: dict
    abc: dict
    discussion: str
    parameters: tuple
    quick: bool = False
    tmap: Any = field(default=None, repr=False, compare=False)
    #: scenario keys set for every study scenario and candidate (``[fixed]``; the map's scenarios in ``tmap`` already carry them)
    fixed: dict = field(default_factory=dict)
    #: where the local search starts (``[start]``: ``{path: value}`` of fitted parameters; a
    #: fitted parameter it lacks starts at the scenarios' value); empty: the scenarios' values
    start: dict = field(default_factory=dict)
    #: replicated studies of the predictive check (``[report] predictive_draws``; 0: none)
    predictive_draws: int = 0
    #: history matching (``[history]``, :mod:`oligosim.calibration.history`), sizes resolved
    history: dict = field(default_factory=dict)
    #: ``[tied]``: ``{path: (of, ratio)}``, keys set to ratio x a fitted parameter (:mod:`oligosim.calibration.tied`)
    tied: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.parameters)

    def values(self, z) -> dict:
        """``{path: value}`` of a unit-cube point."""
        return {p.path: float(p.to_value(zi)) for p, zi in zip(self.parameters, z)}

    def overrides(self, values: dict) -> dict:
        """Every scenario setting of a candidate: ``[fixed]``, its fitted ``values`` and the
        ``[tied]`` keys that follow them."""
        return {**self.fixed, **values, **tied_values(self.tied, values, self.parameters)}

    def method_conflict(self, method: str, said: str) -> str | None:
        """Why ``method`` cannot run this calibration (``said``: how the caller names it, e.g.
        ``--method abc``), or None. Checked before anything is simulated, by the API and the CLI
        (a file's own ``calibration.method`` is checked at load time)."""
        if method == "history" and self.objective.get("loss", "squared") != "squared":
            return f'objective.loss = "{self.objective["loss"]}" with {said}: {GAUSSIAN_ONLY}; use loss = "squared"'
        return None

    def to_json(self) -> dict:
        return {
            "file": os.fspath(self.path),
            "title": self.title,
            "map": os.fspath(self.map_path),
            "targets": os.fspath(self.targets_path),
            "patients": self.patients,
            "seed": self.seed,
            "method": self.method,
            "quick": self.quick,
            "objective": dict(self.objective),
            "optimize": dict(self.optimize),
            "abc": dict(self.abc),
            "history": dict(self.history),
            "parameters": [p.to_json() for p in self.parameters],
            "fixed": dict(self.fixed),
            "start": dict(self.start),
            "tied": {k: {"of": of, "ratio": r} for k, (of, r) in self.tied.items()},
        }


def load_calibration(path: str | os.PathLike, targets: str | os.PathLike, *, quick: bool = False) -> CalibrationSpec:
    """Load and validate a calibration config against a targets file.

    Parameters
    ----------
    path : path-like
        The calibration TOML file; its ``calibration.map`` is relative to it.
    targets : path-like
        The targets file (``[[target]]`` tables) the map is checked against.
    quick : bool
        Apply the file's ``[quick]`` sizes.

    Raises
    ------
    ConfigError
        Listing every problem (file, key, value, rule), including those of the map and targets
        files and parameter paths or ranges that the map's scenarios do not accept.
    """
    from oligosim.calibration.scoring import median_n
    from oligosim.calibration.target_map import load_map
    from oligosim.calibration.targets import load_targets

    display = os.fspath(path)
    raw, sources = load_merged(Path(path), display)
    errors: list[str] = []
    # validated piece by piece, so that one bad parameter does not hide the others' problems
    top = Section({k: v for k, v in SCHEMA.fields.items() if k != "parameter"})
    data = None
    fixed = _flatten_fixed(raw.get("fixed", {}), display, errors)
    start = _flatten_fixed(raw.get("start", {}), display, errors, table="start")
    tied = parse_tied(raw.get("tied", {}), display, errors)
    try:
        data = dict(validate({k: v for k, v in raw.items() if k not in ("parameter", "fixed", "start", "tied")}, top, origin=display).data)
    except ConfigError as exc:
        errors.extend(exc.errors)
    param_schema = Section({"parameter": SCHEMA.fields["parameter"]})
    try:
        validate({"parameter": raw["parameter"]} if "parameter" in raw else {}, param_schema, origin=display)
    except ConfigError as exc:
        errors.extend(exc.errors)
    raw_params = raw.get("parameter") if isinstance(raw.get("parameter"), list) else []
    checked = []
    for i, item in enumerate(raw_params):
        try:
            checked.append((i, validate(item, PARAMETER, origin=display).data))
        except ConfigError:
            pass  # reported above, with its index
    if data is None:
        raise ConfigError(errors)

    def bad(key: str, value: Any, rule: str) -> None:
        errors.append(f"{display}: {key} = {format_value(value)}: {rule}")

    cal = data["calibration"]
    if data["objective"]["discrepancy_n"] is not None and data["objective"]["weighting"] != "n":
        bad("objective.discrepancy_n", data["objective"]["discrepancy_n"], 'applies to weighting = "n" only (weighting is "equal")')
    if data["objective"]["dof"] is not None and data["objective"]["loss"] != "student_t":
        bad("objective.dof", data["objective"]["dof"], 'applies to loss = "student_t" only (loss is "squared")')
    if data["objective"]["loss"] == "student_t" and data["calibration"]["method"] == "history":
        bad("objective.loss", "student_t", f'{GAUSSIAN_ONLY}: use loss = "squared" with method = "history"')
    # the map is relative to the file that names it (this one, or a file it extends)
    writer = sources.get("calibration.map")
    map_path = (source_dir(writer) if writer else Path(path).parent) / cal["map"]
    try:
        tlist = load_targets(targets)
    except ConfigError as exc:
        raise ConfigError(errors + [f"{os.fspath(targets)}: the targets file is not valid:"] + list(exc.errors)) from None
    try:
        tmap = load_map(map_path, tlist, extra="error")
    except ConfigError as exc:
        raise ConfigError(errors + [f"{display}: calibration.map = {cal['map']!r}: the map is not valid:"] + list(exc.errors)) from None
    if fixed:
        changed = {}
        for key, sc in tmap.scenarios.items():
            try:
                changed[key] = sc.with_values(fixed)
            except ConfigError:
                # one setting at a time, so that each bad one is named with its own problem
                for path, value in fixed.items():
                    try:
                        sc.with_values({path: value})
                    except ConfigError as exc:
                        errors.append(f"{display}: fixed.{path} = {format_value(value)}: not valid for scenario {sc.name} ({sc.path}): {'; '.join(exc.errors)}")
        if len(changed) == len(tmap.scenarios):
            tmap = dataclasses.replace(tmap, scenarios=changed)
    scenarios = list(tmap.scenarios.values())
    params = []
    seen: set[str] = set()
    for i, p in checked:
        key = f"parameter[{i}]"
        if p["path"] in seen:
            bad(f"{key}.path", p["path"], "is fitted twice")
            continue
        fitted = not cal["free"] or p["path"] in cal["free"]
        if p["path"] in fixed and fitted:
            bad(f"{key}.path", p["path"], "is also set in [fixed]: a parameter is either fitted or fixed")
            continue
        seen.add(p["path"])
        if not fitted:
            continue  # held at the scenarios' values: its range is the extended file's to check
        defaults = set()
        problem = None
        for sc in scenarios:
            try:
                v = sc.get(p["path"])
            except KeyError:
                problem = f"is not a key of scenario {sc.name} ({sc.path})"
                break
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                problem = f"is not a numeric key of scenario {sc.name}"
                break
            defaults.add(float(v))
            for end, val in (("low", p["low"]), ("high", p["high"])):
                try:
                    sc.with_values({p["path"]: val})
                except ConfigError as exc:
                    problem = f"{end} = {val:g} gives an invalid scenario {sc.name}: {'; '.join(exc.errors)}"
                    break
            if problem:
                break
        if problem:
            bad(f"{key}.path", p["path"], problem)
            continue
        params.append(
            CalParameter(
                path=p["path"],
                label=p["label"] or p["path"],
                low=float(p["low"]),
                high=float(p["high"]),
                scale=p["scale"],
                prior=p["prior"],
                default=defaults.pop() if len(defaults) == 1 else None,
            )
        )
    known = [p["path"] for _, p in checked]
    for i, name in enumerate(cal["free"]):
        if name not in known:
            bad(f"calibration.free[{i}]", name, f"is not the path of a [[parameter]] (they are: {', '.join(known)})")
        elif name in cal["free"][:i]:
            bad(f"calibration.free[{i}]", name, "is named twice")
    if cal["free"]:
        # a staged fit: the other parameters keep the scenarios' values (their defaults or [fixed])
        params = [p for p in params if p.path in cal["free"]]
    _check_start(start, params, bad)
    check_tied(tied, params, fixed, scenarios, bad)
    if errors:
        raise ConfigError(errors)
    sizes = {k: v for k, v in data["quick"].items() if v is not None}
    opt = dict(data["optimize"])
    abc = dict(data["abc"])
    hist = dict(data["history"])
    patients = cal["patients"]
    predictive_draws = data["report"]["predictive_draws"]
    if quick:
        patients = sizes.get("patients", patients)
        predictive_draws = sizes.get("predictive_draws", predictive_draws)
        for k in ("screen_points", "max_evaluations", "restarts"):
            if k in sizes:
                opt[k] = sizes[k]
        for k in ("particles", "prior_draws", "generations", "max_proposals"):
            if k in sizes:
                abc[k] = sizes[k]
        for k in ("waves", "design_points", "pool", "steps", "particles"):
            if k in sizes:
                hist[k] = sizes[k]
    if abc["prior_draws"] is None:
        abc["prior_draws"] = 2 * abc["particles"]
    abc["prior_draws"] = max(abc["prior_draws"], abc["particles"])
    if abc["max_proposals"] is None:
        abc["max_proposals"] = 10 * abc["particles"]
    if hist["design_points"] is None:
        hist["design_points"] = 10 * len(params)
    # start files are relative to the file that names them, like the map
    writer = sources.get("history.start")
    hist["start"] = [os.path.normpath((source_dir(writer) if writer else Path(path).parent) / f) for f in hist["start"]]
    for i, f in enumerate(hist["start"]):
        if not Path(f).is_file():
            bad(f"history.start[{i}]", data["history"]["start"][i], "is not a file (an evaluations.csv of an earlier calibration)")
    if hist["waves"] == 0 and not hist["start"]:
        bad("history.waves", 0, "0 waves need history.start (candidates simulated before) to train the first emulator")
    if errors:
        raise ConfigError(errors)
    if hist["design_points"] < len(params) + 3:
        raise ConfigError([f"{display}: history.design_points = {hist['design_points']}: must be at least the fitted parameters + 3 = {len(params) + 3} (the emulator's regression)"])
    objective = dict(data["objective"])
    if objective["missing_n_weight"] is None:
        objective["missing_n_weight_resolved"] = median_n(t.n for t in tlist)
    else:
        objective["missing_n_weight_resolved"] = float(objective["missing_n_weight"])
    return CalibrationSpec(
        path=Path(path),
        title=cal["title"],
        description=cal["description"],
        map_path=map_path,
        targets_path=Path(targets),
        patients=int(patients),
        seed=int(cal["seed"]),
        method=cal["method"],
        objective=objective,
        optimize=opt,
        abc=abc,
        discussion=data["report"]["discussion"],
        parameters=tuple(params),
        quick=quick,
        tmap=tmap,
        fixed=fixed,
        start=start,
        predictive_draws=int(predictive_draws),
        history=hist,
        tied=tied,
    )


def _check_start(start: dict, params: list, bad) -> None:
    """``[start]`` names fitted parameters only, with numbers inside their ranges; every fitted
    parameter it lacks needs a single scenario value to start from."""
    fitted = {p.path: p for p in params}
    for path, value in start.items():
        p = fitted.get(path)
        if p is None:
            bad(f"start.{path}", value, f"is not a fitted parameter (fitted: {', '.join(fitted) or 'none'})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            bad(f"start.{path}", value, "must be a number")
        elif not p.low <= value <= p.high:
            bad(f"start.{path}", value, f"must lie in the parameter's range [{p.low:g}, {p.high:g}]")
    if start:
        for p in params:
            if p.path in start:
                continue
            if p.default is None:
                bad("start", p.path, "a fitted parameter without one scenario value needs a start value")
            elif not p.low <= p.default <= p.high:
                bad("start", p.path, f"needs a start value: its scenario value {p.default:g} lies outside its range [{p.low:g}, {p.high:g}]")


def _flatten_fixed(raw, display: str, errors: list[str], table: str = "fixed") -> dict:
    """The ``[fixed]`` (or ``[start]``) table as ``{dotted path: value}`` (TOML dotted keys arrive
    as nested tables); problems are appended to ``errors``."""
    if not isinstance(raw, dict):
        errors.append(f"{display}: {table} = {format_value(raw)}: must be a table of scenario keys and values")
        return {}
    out: dict = {}

    def walk(node, prefix):
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                walk(v, path)
            elif isinstance(v, (str, int, float, bool)) or (isinstance(v, list) and all(isinstance(x, (str, int, float, bool)) for x in v)):
                out[path] = v
            else:
                errors.append(f"{display}: {table}.{path} = {format_value(v)}: must be a number, string, boolean or a list of them")

    walk(raw, "")
    return out


__all__ = ["load_calibration", "CalibrationSpec", "CalParameter", "SCHEMA", "SCALES", "METHODS"]
