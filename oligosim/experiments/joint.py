"""A calibration's joint posterior as the parameter draws of a PSA (``[psa] posterior = ...``).

A calibration's ABC-SMC posterior (``posterior.csv`` of ``oligosim calibrate``: one row per
particle with its weight and one column per fitted parameter) describes what the targets say
about the parameters *together*: fitted parameters trade off (a faster growth rate with a lower
seeding rate, for instance), so drawing each from its own marginal would pair values the targets
rule out. With ``posterior`` a PSA draws whole particles instead: for each draw one particle is
chosen with probability equal to its weight (stratified resampling from the experiment's seed,
then shuffled), and every column of that particle is set together. The experiment's own
``[[parameter]]`` tables are drawn from their distributions as before (by Latin hypercube over
those parameters only, so naming a posterior leaves their draws unchanged).

``posterior`` is a file (a path relative to the experiment file) or the name of a posterior
shipped in ``configs/calibration/posteriors/`` (``<name>.csv``). As for every PSA parameter, the
scenario's value of each column must lie inside the column's weighted central 99% interval
(the analysis must be about the model it runs, :mod:`oligosim.experiments.centring`). A
calibration that fixed settings for every candidate (``[fixed]``: a mechanism switched on, the
lesion cap) writes them beside its posterior (``posterior.toml``; a shipped ``<name>.csv`` has
``<name>.toml``): they belong to the model the posterior is of, so the scenario must have the same
values, or the posterior's parameter values would be run in another model. The same file's
``[tied]`` table (a calibration's ties, :mod:`oligosim.calibration.tied`) adds one column per tie,
its ratio times the column it follows, so that each drawn particle sets the tied keys too.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oligosim.experiments.centring import PSA_CENTRAL

__all__ = ["JointPosterior", "load_posterior", "shipped_posteriors", "POSTERIOR_COLUMNS"]

#: the leading columns of a calibration's posterior.csv, before the parameter paths
POSTERIOR_COLUMNS = ("particle", "weight", "distance")


def _posterior_dir() -> Path:
    from oligosim.shipped import folders

    return folders()["configs"] / "calibration" / "posteriors"


def shipped_posteriors() -> list[str]:
    """Names of the posteriors shipped in ``configs/calibration/posteriors/``."""
    d = _posterior_dir()
    return sorted(p.stem for p in d.glob("*.csv")) if d.is_dir() else []


@dataclass(frozen=True)
class JointPosterior:
    """Weighted particles of a calibration posterior.

    Attributes
    ----------
    source : str
        The file or shipped name as the experiment gave it.
    file : Path
    paths : tuple of str
        Scenario keys, one per column of ``values``.
    values : ndarray, shape (N, k)
    weights : ndarray, shape (N,)
        Normalised importance weights.
    """

    source: str
    file: Path
    paths: tuple
    values: np.ndarray
    weights: np.ndarray

    @property
    def ess(self) -> float:
        """Effective sample size ``1 / sum w^2``."""
        return float(1.0 / np.sum(self.weights**2))

    def central(self, j: int, prob: float = PSA_CENTRAL) -> tuple[float, float]:
        """Weighted central interval of column ``j`` holding ``prob`` (inverse weighted ECDF)."""
        order = np.argsort(self.values[:, j], kind="stable")
        x, w = self.values[order, j], self.weights[order]
        cw = np.cumsum(w)
        tail = (1.0 - prob) / 2.0
        lo = x[min(np.searchsorted(cw, tail, side="left"), len(x) - 1)]
        hi = x[min(np.searchsorted(cw, 1.0 - tail, side="left"), len(x) - 1)]
        return float(lo), float(hi)

    def draw(self, draws: int, seed: int) -> np.ndarray:
        """``draws`` particles' values, shape (draws, k): stratified resampling by weight (one
        uniform in each of ``draws`` equal strata), in a random order; both from ``seed``."""
        rng = np.random.default_rng([int(seed), 0x504F5354])  # its own stream: 'POST'
        u = (np.arange(draws) + rng.random(draws)) / draws
        cw = np.cumsum(self.weights)
        cw[-1] = 1.0
        idx = np.searchsorted(cw, u, side="right")
        idx = np.minimum(idx, len(cw) - 1)
        return self.values[rng.permutation(idx)]


def _resolve(value: str, base_dir: Path) -> Path | None:
    p = Path(value)
    p = p if p.is_absolute() else base_dir / p
    if p.is_file():
        return p
    named = _posterior_dir() / f"{value}.csv"
    return named if named.is_file() else None


def load_posterior(value: str, base_dir: Path, scenario, listed: set, display: str) -> tuple[JointPosterior | None, list[str]]:
    """Read and check the posterior an experiment names.

    Parameters
    ----------
    value : str
        ``psa.posterior`` as written.
    base_dir : Path
        The experiment file's directory.
    scenario : Scenario
        The experiment's scenario: every column must be one of its numeric keys, every value
        valid for it, and its value inside the column's central interval.
    listed : set of str
        Paths of the experiment's ``[[parameter]]`` tables (a path cannot be both).
    display : str
        The experiment file as shown in messages.

    Returns
    -------
    (JointPosterior or None, list of str)
        The posterior (None if it cannot be used) and the problems, one line each naming the
        key, the value and the rule.
    """
    from oligosim.config import ConfigError, format_value

    key = f"{display}: psa.posterior = {format_value(value)}"
    f = _resolve(value, base_dir)
    if f is None:
        names = shipped_posteriors()
        return None, [f"{key}: neither a file (relative to the experiment file) nor a shipped posterior (" + (", ".join(names) if names else "none shipped") + ")"]
    try:
        with open(f, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{key}: cannot read {f}: {exc}"]
    if not rows or tuple(rows[0][:3]) != POSTERIOR_COLUMNS or len(rows[0]) < 4:
        return None, [f"{key}: {f} is not a calibration posterior (its header must be {', '.join(POSTERIOR_COLUMNS)}, then one column per parameter path)"]
    paths = tuple(rows[0][3:])
    body = [r for r in rows[1:] if r]
    try:
        # an empty distance is an infeasible draw (weight 0), as calibrate writes it; every other cell is a number
        table = np.array([[math.inf if (k == 2 and x == "") else float(x) for k, x in enumerate(r)] for r in body], dtype=float)
    except ValueError as exc:
        return None, [f"{key}: {f} has a value that is not a number ({exc})"]
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] != len(rows[0]):
        return None, [f"{key}: {f} needs at least 2 particles, each with {len(rows[0])} values"]
    w = table[:, 1]
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        return None, [f"{key}: {f}: the weights must be finite, >= 0 and not all 0"]
    values = table[:, 3:]
    fixed, tied, side, problems = _sidecar(f, key)
    if problems:
        return None, problems
    paths, values, problems = _with_ties(paths, values, tied, side, listed, key)
    for j, path in enumerate(paths):
        if path in listed:
            problems.append(f"{key}: {path} is drawn from the posterior and also has a [[parameter]] table: remove one")
            continue
        try:
            base = scenario.get(path)
        except KeyError:
            problems.append(f"{key}: column {path} is not a key of scenario {scenario.name}")
            continue
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            problems.append(f"{key}: column {path} is not a numeric key of scenario {scenario.name}")
            continue
        col = values[:, j]
        if not np.all(np.isfinite(col)):
            problems.append(f"{key}: column {path} has a value that is not finite")
            continue
        bad = None
        for v in (float(col.min()), float(col.max())):
            try:
                scenario.with_values({path: int(round(v)) if isinstance(base, int) else v})
            except ConfigError as exc:
                bad = f"{key}: column {path}: value {v:g} gives an invalid scenario: {'; '.join(exc.errors)}"
                break
        if bad:
            problems.append(bad)
    if problems:
        return None, problems
    post = JointPosterior(source=value, file=f, paths=paths, values=values, weights=w / w.sum())
    for j, path in enumerate(paths):
        base = float(scenario.get(path))
        lo, hi = post.central(j)
        if not (lo <= base <= hi) and math.isfinite(base):
            problems.append(
                f"{key}: column {path}: the scenario's value {base:.6g} lies outside the posterior's central {PSA_CENTRAL:.0%} "
                f"[{lo:.6g}, {hi:.6g}]: the PSA would be about another model (use the scenario the calibration fitted, or its calibrated values)"
            )
    problems += _fixed_problems(fixed, side, scenario, key)
    return (None if problems else post), problems


def _sidecar(f: Path, key: str) -> tuple[dict, dict, Path, list[str]]:
    """The posterior's model settings (``<stem>.toml`` beside ``f``): its ``[fixed]`` table of
    dotted scenario keys and its ``[tied]`` table as ``{path: (of, ratio)}``; both empty without
    the file. The last item lists the problems, one line each."""
    import tomllib

    from oligosim.calibration.tied import parse_tied

    side = f.with_suffix(".toml")
    if not side.is_file():
        return {}, {}, side, []
    try:
        raw = tomllib.loads(side.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, {}, side, [f"{key}: cannot read the posterior's model settings {side}: {exc}"]
    errors: list[str] = []
    tied = parse_tied(raw.get("tied", {}), f"{key}: {side.name}", errors)
    return raw.get("fixed", {}), tied, side, errors


def _with_ties(paths: tuple, values: np.ndarray, tied: dict, side: Path, listed: set, key: str) -> tuple[tuple, np.ndarray, list[str]]:
    """``paths`` and ``values`` with one more column per tie: its ratio times the column it
    follows (the calibration set the tied key so for every candidate). A tie must follow a
    column and set a key that is neither a column nor a ``[[parameter]]`` of the experiment."""
    problems, cols = [], []
    for path, (of, ratio) in sorted(tied.items()):
        if of not in paths:
            problems.append(f"{key}: {side.name}: tied.{path}.of = {of!r}: is not a column of the posterior (columns: {', '.join(paths)})")
        elif path in paths or path in listed:
            problems.append(f"{key}: {side.name}: tied.{path}: is also " + ("a column of the posterior" if path in paths else "a [[parameter]] of the experiment") + ": a key is drawn or tied, not both")
        else:
            cols.append((path, ratio * values[:, paths.index(of)]))
    if problems or not cols:
        return paths, values, problems
    return paths + tuple(p for p, _ in cols), np.column_stack([values] + [c for _, c in cols]), []


def _fixed_problems(fixed: dict, side: Path, scenario, key: str) -> list[str]:
    """The settings the posterior's calibration fixed that the scenario does not share, one line each."""
    out = []
    for path, want in sorted(fixed.items()):
        try:
            have = scenario.get(path)
        except KeyError:
            out.append(f"{key}: {side} fixes {path} = {want!r}, which is not a key of scenario {scenario.name}")
            continue
        if have != want:
            out.append(
                f"{key}: the posterior's calibration fixed {path} = {want!r} ({side.name}), the scenario has {have!r}: "
                "the PSA would run the posterior's values in another model (extend the scenario with these settings)"
            )
    return out
