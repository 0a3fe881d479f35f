"""The fitted values and the posterior as files: the calibrated scenario overlay and the fitted
distributions (``calibrated.toml``, ``posterior_distributions.toml``)."""

from __future__ import annotations

import math

from oligosim.calibration import CalibrationResult
from oligosim.config import Distribution, Float, Maybe, Section, Table, default_schema, split_path
from oligosim.io.report import fmt

__all__ = ["calibrated_toml", "fitted_distribution", "posterior_distributions", "posterior_model_toml"]



def posterior_kind(result: CalibrationResult) -> tuple[str, str]:
    """What produced a run's posterior, as reports and figures name it: ``(name, sample)``, e.g.
    ``("ABC-SMC posterior", "weighted final population")``."""
    if hasattr(result.abc, "waves"):
        return "history-matching posterior", "importance-weighted simulated draws"
    return "ABC-SMC posterior", "weighted final population"

def _num(x) -> str:
    """A TOML number with 6 significant digits."""
    x = float(x)
    s = f"{x:.6g}"
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s


def _toml_value(v) -> str:
    """A fixed setting as TOML: booleans, numbers, strings and lists of them."""
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _num(v) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def _sections(values: dict) -> dict:
    """``{"a.b.c": v}`` -> ``{"a.b": {"c": v}}`` in first-seen order."""
    out: dict[str, dict] = {}
    for path, v in values.items():
        parts = split_path(path)
        out.setdefault(".".join(str(p) for p in parts[:-1]), {})[str(parts[-1])] = v
    return out


def calibrated_toml(result: CalibrationResult) -> str:
    """The fitted values as a scenario overlay (``extends`` it after the base)."""
    spec = result.spec
    best = result.best
    lines = [
        f"# Calibrated parameter values: {spec.title}",
        f"# Written by `oligosim calibrate {spec.path.name}` (method {result.method}); objective "
        f"{best.objective:.4g} (defaults: {result.evaluations[0].objective:.4g}),",
        f"# {sum(r.within_tolerance for r in result.after)} of {len(result.after)} targets within tolerance "
        f"(defaults: {sum(r.within_tolerance for r in result.before)}); {spec.patients} patients per arm, seed {spec.seed}.",
        "# A scenario uses these values with e.g. extends = [\"../base.toml\", \"<this file>\"]",
        "# (or put them into the schema defaults). Prior ranges are given after each value.",
        "",
    ]
    labels = {p.path: p for p in spec.parameters}
    if spec.fixed:
        lines[-1:-1] = ["# Values marked 'fixed' are the config's [fixed] settings: the fit assumed them, so they belong to the calibrated model."]
    # one table per section (TOML allows a table header once), fixed settings and fitted values together
    if spec.tied:
        lines[-1:-1] = ["# Values marked 'tied' follow a fitted value by the config's [tied] ratio: part of the calibrated model too."]
    for section, keys in _sections(spec.overrides(best.values)).items():
        lines.append(f"[{section}]")
        for key, v in keys.items():
            path = f"{section}.{key}"
            if path in labels:
                p = labels[path]
                lines.append(f"{key} = {_num(v)}    # {p.label}; prior {p.describe_prior()}; default {fmt(p.default, 4)}")
            elif path in spec.tied:
                of, ratio = spec.tied[path]
                lines.append(f"{key} = {_num(v)}    # tied: {ratio:g} x {of}")
            else:
                lines.append(f"{key} = {_toml_value(v)}    # fixed")
        lines.append("")
    return "\n".join(lines)


def _schema_range(path: str) -> tuple[float | None, float | None]:
    """Bounds (lo, hi) of the scenario schema's key at a dotted path (None: unbounded/unknown)."""
    node = default_schema()
    for part in split_path(path):
        node = node.node if isinstance(node, Maybe) else node  # an optional table (e.g. grade3plus_per_cycle)
        if isinstance(node, Section) and part in node.fields:
            node = node.fields[part]
        elif isinstance(node, Table):
            node = node.value
        else:
            return None, None
    node = node.node if isinstance(node, Maybe) else node  # an optional key
    if isinstance(node, Float):
        return node.lo, node.hi
    return None, None


def fitted_distribution(p, mean: float, sd: float) -> Distribution:
    """A marginal distribution by moments: lognormal for a log-scale parameter; else by the
    schema's range of the key: beta for [0, 1], gamma for [0, inf), normal when unbounded;
    uniform on the prior range if the moments are degenerate or do not fit."""
    if not (sd > 0 and math.isfinite(sd) and math.isfinite(mean)):
        return Distribution("uniform", {"low": p.low, "high": p.high})
    lo, hi = _schema_range(p.path)
    try:
        if p.scale == "log" and mean > 0:
            return Distribution.from_spec({"dist": "lognormal", "mean": mean, "sd": sd})
        if lo == 0 and hi == 1 and 0 < mean < 1 and sd * sd < mean * (1 - mean):
            return Distribution.from_spec({"dist": "beta", "mean": mean, "sd": sd})
        if lo is not None and lo >= 0 and mean > 0:
            return Distribution.from_spec({"dist": "gamma", "mean": mean, "sd": sd})
        return Distribution.from_spec({"dist": "normal", "mean": mean, "sd": sd})
    except ValueError:
        return Distribution("uniform", {"low": p.low, "high": p.high})


def _dist_inline(d: Distribution, mean: float | None = None, sd: float | None = None, value: float | None = None) -> str:
    if d.kind in ("lognormal", "gamma", "beta", "normal") and mean is not None:
        body = f'dist = "{d.kind}", mean = {_num(mean)}, sd = {_num(sd)}'
    else:
        body = ", ".join([f'dist = "{d.kind}"'] + [f"{k} = {_num(v)}" for k, v in d.params.items()])
    if value is not None:
        body += f", value = {_num(value)}"
    return "{ " + body + " }"


def posterior_distributions(result: CalibrationResult, summary: list[dict]) -> tuple[dict, str, str]:
    """Fitted marginals, the scenario overlay (posterior_distributions.toml) and the
    ``[[parameter]]`` tables (psa_parameters.toml)."""
    spec = result.spec
    dists = {}
    for p, s in zip(spec.parameters, summary):
        d = fitted_distribution(p, s["mean"], s["sd"])
        # the distribution must fit the schema range of every scenario (e.g. > 0)
        try:
            for sc in spec.tmap.scenarios.values():
                sc.with_values({p.path: d})
        except Exception:  # noqa: BLE001 - fall back to the posterior's central 95 %
            lo, hi = max(s["q025"], p.low), min(s["q975"], p.high)
            d = Distribution("uniform", {"low": lo, "high": hi if hi > lo else p.high})
        dists[p.path] = (d, s)
    head = [
        f"# {posterior_kind(result)[0]} of: {spec.title}",
        "# One marginal distribution per fitted parameter, by the moments of the posterior's",
        f"# {posterior_kind(result)[1]} ({len(result.abc.weights)} particles, ESS {result.abc.ess:.0f}); correlations between",
        "# parameters are NOT kept (posterior.csv has the joint sample).",
    ]
    overlay = head + [
        "# A scenario overlay: a scenario that extends it (after its base) carries these distributions,",
        "# with the point fit as its value, and a PSA experiment on that scenario draws from them",
        "# ([[parameter]] tables with only a path; psa.use_scenario_distributions = true).",
        "",
    ]
    best = result.best.values
    for section, keys in _sections({p.path: p.path for p in spec.parameters}).items():
        overlay.append(f"[{section}]")
        for key, path in keys.items():
            d, s = dists[path]
            value = min(max(best[path], d.support[0]), d.support[1])
            overlay.append(f"{key} = {_dist_inline(d, s['mean'], s['sd'], value)}")
        overlay.append("")
    psa = head + [
        "# [[parameter]] tables for an experiment file (e.g. experiments/psa.toml): replace its own",
        "# [[parameter]] tables with these.",
        "",
    ]
    for p in spec.parameters:
        d, s = dists[p.path]
        psa += ["[[parameter]]", f'path = "{p.path}"', f'label = "{p.label}"', f"distribution = {_dist_inline(d, s['mean'], s['sd'])}", ""]
    return {k: v[0] for k, v in dists.items()}, "\n".join(overlay), "\n".join(psa)


def posterior_model_toml(spec) -> str:
    """The ``posterior.toml`` beside ``posterior.csv``: the ``[fixed]`` settings of the
    calibration, which belong to the model the posterior is of (:mod:`oligosim.experiments.joint`
    refuses a PSA whose scenario has other values for them), and its ``[tied]`` keys, which a PSA
    sets from each drawn particle."""
    lines = [
        f"# The model of posterior.csv ({spec.title}): the calibration fixed these settings for every",
        "# candidate. A PSA that names the posterior (psa.posterior) must run a scenario with these values.",
        "[fixed]",
    ]
    lines += [f'"{k}" = {_toml_value(v)}' for k, v in sorted(spec.fixed.items())]
    if spec.tied:
        lines += ["", "# Keys set to ratio x a fitted value for every candidate: a PSA sets them from each drawn particle.", "[tied]"]
        lines += [f'"{k}" = {{ of = "{of}", ratio = {ratio!r} }}' for k, (of, ratio) in sorted(spec.tied.items())]
    return "\n".join(lines) + "\n"
