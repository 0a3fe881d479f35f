"""Uncertainty distributions of parameters (for probabilistic sensitivity analysis).

Any :class:`~oligosim.config.nodes.Float` marked ``uncertain`` may be written as an uncertainty
table instead of a number, e.g. ``{ value = 0.3, dist = "beta", mean = 0.3, sd = 0.05 }``. This
module parses such tables (every problem listed, in the words error messages use) into a
:class:`Distribution`, converting the mean/sd forms to canonical parameters by the method of
moments. It knows nothing of schemas or files: the node types build on it, not the reverse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from oligosim.config.values import as_number, format_value, short_number, suggest

__all__ = ["Distribution", "is_uncertainty_table", "parse_uncertainty", "support_bounds"]


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
                f"a beta distribution with mean {short_number(mean)} needs sd < "
                f"sqrt(mean*(1-mean)) = {short_number(limit)}"
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
        args = ", ".join(f"{k}={short_number(v)}" for k, v in self.params.items())
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
        dist, _, problems = parse_uncertainty(spec)
        if problems:
            raise ValueError("; ".join(problems))
        return dist

    @cached_property
    def frozen(self):
        """The equivalent frozen :mod:`scipy.stats` distribution."""
        # imported here: scipy.stats takes about 2 s to import, and every command (even
        # `oligosim --help`) loads the config package, while few need a frozen distribution
        from scipy import stats

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
        args = ", ".join(f"{k}={short_number(v)}" for k, v in self.params.items())
        lo, hi = self.ppf([0.025, 0.975])
        return f"{self.kind}({args}): mean {self.mean:.3g}, 95% interval {lo:.3g}-{hi:.3g}"


def support_bounds(dist: Distribution) -> tuple[float, float, bool, bool]:
    """(low, high, low attained, high attained); beta/gamma/lognormal never reach 0 or 1."""
    lo, hi = dist.support
    closed = dist.kind in ("uniform", "triangular")
    return lo, hi, closed, closed


def parse_uncertainty(spec: Mapping[str, Any]) -> tuple[Distribution | None, float | None, list[str]]:
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
            problems.append(f"unknown key '{key}' for a {kind} distribution{suggest(key, sorted(param_names))}")
            continue
        x = as_number(raw)
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



def is_uncertainty_table(value: Any) -> bool:
    """Whether a TOML table is an uncertainty table (it names a ``dist``) rather than a section."""
    return isinstance(value, Mapping) and "dist" in value
