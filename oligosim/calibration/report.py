"""Files, figures and report of a calibration run (all written together or not at all)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from oligosim.calibration import CalibrationResult, posterior_summary
from oligosim.calibration.evaluation import target_error, target_weight
from oligosim.config import Distribution, split_path
from oligosim.io.files import write_csv
from oligosim.io.report import Report, fmt
from oligosim.analysis.survival import json_number

PHASE_COLORS = {"defaults": "black", "screen": "tab:blue", "local": "tab:orange"}


def _num(x) -> str:
    """A TOML number with 6 significant digits."""
    x = float(x)
    s = f"{x:.6g}"
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s


# ============================================================================ TOML files


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
    for section, keys in _sections(best.values).items():
        lines.append(f"[{section}]")
        for key, v in keys.items():
            p = labels[f"{section}.{key}"]
            lines.append(f"{key} = {_num(v)}    # {p.label}; prior {p.describe_prior()}; default {fmt(p.default, 4)}")
        lines.append("")
    return "\n".join(lines)


def _schema_range(path: str) -> tuple[float | None, float | None]:
    """Bounds (lo, hi) of the scenario schema's key at a dotted path (None: unbounded/unknown)."""
    from oligosim.config import Float, Section, Table, default_schema

    node = default_schema()
    for part in split_path(path):
        if isinstance(node, Section) and part in node.fields:
            node = node.fields[part]
        elif isinstance(node, Table):
            node = node.value
        else:
            return None, None
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
        f"# ABC-SMC posterior of: {spec.title}",
        f"# One marginal distribution per fitted parameter, by the moments of the weighted final",
        f"# population ({len(result.abc.weights)} particles, ESS {result.abc.ess:.0f}); correlations between",
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


# ============================================================================ diagnostics


def _scan_times(scenario, until: float) -> list[float]:
    f = scenario.data["followup"]
    t, out = float(f["first_scan_months"]), []
    while t <= until + 1e-9 and len(out) < 500:
        out.append(t)
        step = f["interval_years_0_2_months"] if t < 24 else f["interval_years_2_5_months"] if t < 60 else f["interval_after_5_months"]
        t += float(step)
    return out


def diagnose(result: CalibrationResult) -> list[dict]:
    """Why each target still outside tolerance after the fit is missed (data-driven).

    For each such target: the direction of the miss; the smallest error of any evaluated
    candidate and how many candidates met it; for a target met by some candidate, the targets
    that the best of those candidates fits worse than the point fit (the tension); the fitted
    parameters whose values correlate most with the target's error across all candidates
    (Spearman); for PFS medians, whether the tolerance band contains a restaging time.
    """
    from scipy.stats import spearmanr

    spec = result.spec
    entries = {e.id: e for e in spec.tmap.entries}
    cube = [e for e in result.evaluations if e.z is not None and math.isfinite(e.objective)]
    Z = np.array([e.z for e in cube]) if cube else np.empty((0, spec.dim))
    best = result.best
    weights = [target_weight(r, spec.objective) for r in result.after]
    pen = spec.objective["undefined_penalty"]

    def contrib(ev, j):
        e = ev.errors[j]
        return weights[j] * (pen if e is None else e * e)

    out = []
    for j, r in enumerate(result.after):
        if r.within_tolerance:
            continue
        errs = np.array([np.nan if e.errors[j] is None else e.errors[j] for e in cube], dtype=float)
        met = [e for e in cube if e.within[j]]
        d = {
            "id": r.id,
            "metric": r.metric,
            "unit": r.unit,
            "target": r.target,
            "model": r.model,
            "band": r.tolerance["band"],
            "error": json_number(best.errors[j]),
            "direction": "undefined" if r.model is None else ("above" if r.model > r.target else "below"),
            "candidates": len(cube),
            "met_by": len(met),
            "best_error": json_number(float(np.nanmin(np.abs(errs)))) if np.isfinite(errs).any() else None,
            "tension": [],
            "moves_with": [],
            "scan_note": None,
        }
        if met:
            alt = min(met, key=lambda e: e.objective)
            worse = sorted(((contrib(alt, k) - contrib(best, k), k) for k in range(len(result.after)) if k != j), reverse=True)
            d["tension"] = [
                {"id": result.after[k].id, "error_at_fit": json_number(best.errors[k]), "error_there": json_number(alt.errors[k])}
                for inc, k in worse[:3]
                if inc > 0
            ]
            d["tension_objective"] = alt.objective
        ok = np.isfinite(errs)
        if ok.sum() >= 8:
            rhos = []
            for i, p in enumerate(spec.parameters):
                col = Z[ok, i]
                if np.ptp(col) > 0 and np.ptp(errs[ok]) > 0:
                    rho = float(spearmanr(col, errs[ok]).statistic)
                    if math.isfinite(rho):
                        rhos.append((abs(rho), rho, p.label))
            d["moves_with"] = [{"parameter": lab, "rho": rho} for _, rho, lab in sorted(rhos, reverse=True)[:3]]
        m = r.metric
        if m.startswith(("pfs.median", "wpfs.median")) and r.tolerance["band"][0] is not None and r.tolerance["band"][1] is not None:
            lo, hi = r.tolerance["band"]
            sc = spec.tmap.scenarios[entries[r.id].scenario_path]
            times = _scan_times(sc, hi + 12)
            inside = [t for t in times if lo <= t <= hi]
            d["scan_times"] = times[: min(len(times), 8)]
            if not inside:
                d["scan_note"] = (
                    f"the tolerance band {lo:.3g}-{hi:.3g} months holds no restaging time ({', '.join(f'{t:.3g}' for t in d['scan_times'])} ... "
                    f"months in {sc.name}): progression is found at scans, so the Kaplan-Meier median falls on a scan time unless "
                    "progressions found between scans (symptoms) or deaths carry it into the band"
                    + (
                        " -- no candidate managed that: the study's restaging schedule (followup.*), not a model parameter, decides this target"
                        if d["met_by"] == 0
                        else " -- which only the candidates above did"
                    )
                )
        out.append(d)
    return out


def _diagnosis_text(d: dict, result: CalibrationResult) -> str:
    unit = " months" if d["unit"] == "months" else ""

    def v(x):
        return "undefined" if x is None else (f"{x:.3g}" if d["unit"] != "fraction" else f"{x:.3f}")

    parts = []
    if d["model"] is None:
        parts.append(f"undefined (e.g. median not reached) against a target of {v(d['target'])}{unit}")
    else:
        rel = (d["model"] - d["target"]) / d["target"] if d["target"] else float("nan")
        parts.append(f"model {d['direction']} the target: {v(d['model'])} vs {v(d['target'])}{unit} ({100 * rel:+.0f}%, error {fmt(d['error'], 2)} tolerances)")
    if d["met_by"] == 0:
        parts.append(
            f"none of the {d['candidates']} candidates evaluated met it (smallest |error| {fmt(d['best_error'], 2)} tolerances): out of reach of the fitted parameters within their prior ranges"
        )
    else:
        def ee(x):
            return "undefined" if x is None else fmt(x, 2)

        tension = ", ".join(f"{t['id']} ({ee(t['error_at_fit'])} -> {ee(t['error_there'])})" for t in d["tension"])
        parts.append(
            f"{d['met_by']} of {d['candidates']} candidates met it, but the best of them (objective {fmt(d.get('tension_objective'), 3)} vs {fmt(result.best.objective, 3)}) fits these worse (error at the fit -> there): {tension or 'nothing else'}"
        )
    if d["moves_with"]:
        parts.append("its error moves most with " + ", ".join(f"{m['parameter']} (Spearman {m['rho']:+.2f})" for m in d["moves_with"]))
    if d["scan_note"]:
        parts.append(d["scan_note"])
    return f"**{d['id']}** ({d['metric']}): " + "; ".join(parts) + "."


# ============================================================================ figures


def _log_ticks(axis) -> None:
    """Plain labels on a log axis: a few major ticks as numbers, no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0), numticks=4))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _fig(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def plot_trace(result: CalibrationResult):
    fig = _fig((8.0, 4.2))
    ax = fig.add_subplot()
    evs = [e for e in result.evaluations if math.isfinite(e.objective)]
    x = np.array([e.index for e in evs])
    y = np.array([e.objective for e in evs])
    phases = [e.phase for e in evs]
    names = list(dict.fromkeys(phases))
    cmap = ["tab:blue", "tab:orange", "tab:purple", "tab:green", "tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
    for k, name in enumerate(names):
        sel = np.array([p == name for p in phases])
        ax.scatter(x[sel], y[sel], s=8, alpha=0.7, color=PHASE_COLORS.get(name, cmap[k % len(cmap)]), label=name, linewidths=0)
    order = np.argsort(x)
    ax.step(x[order], np.minimum.accumulate(y[order]), where="post", color="k", linewidth=1.0, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("objective L (weighted mean squared error, tolerance units)")
    ax.set_title("Objective of every candidate evaluated", fontsize="medium")
    ax.legend(fontsize="x-small", ncol=4)
    ax.grid(True, alpha=0.3)
    return fig


def _prior_curve(p, xs):
    """Prior density of parameter ``p`` on its own scale, at ``xs``."""
    if p.prior is not None:
        fr = p.prior.frozen
        return fr.pdf(xs) / (fr.cdf(p.high) - fr.cdf(p.low))
    if p.scale == "log":
        return 1.0 / (xs * (math.log(p.high) - math.log(p.low)))
    return np.full_like(xs, 1.0 / (p.high - p.low))


def plot_marginals(result: CalibrationResult):
    spec, abc = result.spec, result.abc
    d = spec.dim
    cols = min(3, d)
    rows = int(math.ceil(d / cols))
    fig = _fig((3.3 * cols, 2.5 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for i, p in enumerate(spec.parameters):
        ax = axes[i]
        x = np.asarray(p.to_value(abc.particles[:, i]), float)
        if p.scale == "log":
            bins = np.geomspace(p.low, p.high, 21)
            ax.set_xscale("log")
            _log_ticks(ax.xaxis)
        else:
            bins = np.linspace(p.low, p.high, 21)
        ax.hist(x, bins=bins, weights=abc.weights, density=True, color="tab:blue", alpha=0.6, label="posterior")
        xs = np.geomspace(p.low, p.high, 200) if p.scale == "log" else np.linspace(p.low, p.high, 200)
        ax.plot(xs, _prior_curve(p, xs), color="0.4", linestyle=":", label="prior")
        if p.default is not None:
            ax.axvline(p.default, color="0.3", linestyle="--", linewidth=1, label="default")
        ax.axvline(result.best.values[p.path], color="tab:red", linewidth=1.2, label="point fit")
        ax.set_title(p.label, fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yticks([])
    for ax in axes[d:]:
        ax.set_visible(False)
    axes[0].legend(fontsize="xx-small")
    fig.suptitle("ABC-SMC posterior marginals (weighted final population)", fontsize="medium")
    fig.tight_layout()
    return fig


def plot_pairs(result: CalibrationResult):
    spec, abc = result.spec, result.abc
    d = spec.dim
    size = max(6.0, 1.45 * d)
    fig = _fig((size, size))
    axes = np.array(fig.subplots(d, d, squeeze=False))
    X = np.column_stack([np.asarray(p.to_value(abc.particles[:, i]), float) for i, p in enumerate(spec.parameters)])
    w = abc.weights
    alpha = 0.15 + 0.85 * w / w.max()
    best = result.best.values
    for i, pi in enumerate(spec.parameters):
        for j, pj in enumerate(spec.parameters):
            ax = axes[i, j]
            ax.tick_params(labelsize=5)
            if j > i:
                # weighted correlation in the cube
                zi, zj = abc.particles[:, i], abc.particles[:, j]
                mi, mj = w @ zi, w @ zj
                c = w @ ((zi - mi) * (zj - mj)) / math.sqrt(max(w @ (zi - mi) ** 2 * (w @ (zj - mj) ** 2), 1e-300))
                ax.text(0.5, 0.5, f"{c:+.2f}", ha="center", va="center", fontsize=8, color="tab:red" if abs(c) >= 0.5 else "0.3")
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            if pj.scale == "log":
                ax.set_xscale("log")
                _log_ticks(ax.xaxis)
            ax.set_xlim(pj.low, pj.high)
            if i == j:
                bins = np.geomspace(pj.low, pj.high, 16) if pj.scale == "log" else np.linspace(pj.low, pj.high, 16)
                ax.hist(X[:, j], bins=bins, weights=w, color="tab:blue", alpha=0.6)
                ax.axvline(best[pj.path], color="tab:red", linewidth=1)
                ax.set_yticks([])
            else:
                if pi.scale == "log":
                    ax.set_yscale("log")
                    _log_ticks(ax.yaxis)
                ax.set_ylim(pi.low, pi.high)
                ax.scatter(X[:, j], X[:, i], s=5, c=[(0.12, 0.47, 0.71, a) for a in alpha], linewidths=0)
                ax.plot([best[pj.path]], [best[pi.path]], marker="*", color="tab:red", markersize=6)
            if i == d - 1:
                ax.set_xlabel(pj.label, fontsize=6)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(pi.label, fontsize=6)
            elif i != j:
                ax.set_yticklabels([])
    fig.suptitle("ABC-SMC posterior: pairs (lower), weighted correlations in the search cube (upper), point fit (red)", fontsize="small")
    fig.tight_layout()
    return fig


# ============================================================================ JSON


def most_within(result: CalibrationResult):
    """The candidate with the most targets within tolerance (ties: the lower objective)."""
    cube = [e for e in result.evaluations if e.z is not None and math.isfinite(e.objective)]
    return max(cube, key=lambda e: (sum(e.within), -e.objective, -e.index)) if cube else None


def _ev_json(e) -> dict:
    # parameter values and per-target errors of every candidate are in evaluations.csv
    return {"index": e.index, "phase": e.phase, "objective": json_number(e.objective), "within_tolerance": int(sum(e.within)), **({"note": e.note} if e.note else {})}


def _gof(results) -> dict:
    from oligosim.targets import goodness_of_fit

    return goodness_of_fit(results) if results else None


def calibration_json(result: CalibrationResult, summary, dists, diagnostics) -> dict:
    from oligosim import __version__

    spec = result.spec
    s_obj = spec.objective

    def obj(res):
        from oligosim.calibration.evaluation import objective

        return json_number(objective(res, s_obj)[0]) if res else None

    targets = []
    for b, a, bf, af in zip(result.before, result.after, result.before_fresh or result.before, result.after_fresh or result.after):
        targets.append(
            {
                "id": a.id,
                "metric": a.metric,
                "unit": a.unit,
                "target": a.target,
                "n": a.n,
                "weight": target_weight(a, s_obj),
                "tolerance": a.tolerance,
                "before": {"model": b.model, "within_tolerance": b.within_tolerance, "scaled_error": b.scaled_error, "objective_error": target_error(b, median_scale=s_obj["median_scale"])},
                "after": {"model": a.model, "within_tolerance": a.within_tolerance, "scaled_error": a.scaled_error, "objective_error": target_error(a, median_scale=s_obj["median_scale"]), "model_ci95": list(a.model_ci95)},
                "after_fresh_seed": {"model": af.model, "within_tolerance": af.within_tolerance} if result.after_fresh else None,
                "before_fresh_seed": {"model": bf.model, "within_tolerance": bf.within_tolerance} if result.before_fresh else None,
            }
        )
    params = []
    post = {s["path"]: s for s in summary}
    for p in spec.parameters:
        item = p.to_json()
        item["best"] = result.best.values[p.path]
        if p.path in post:
            item["posterior"] = dict(post[p.path])
            item["posterior"]["distribution"] = dists[p.path].spec()
        params.append(item)
    doc = {
        "config": spec.to_json(),
        "method": result.method,
        "oligosim_version": __version__,
        "seconds": result.seconds,
        "evaluation_seconds": json_number(result.eval_seconds),
        "evaluations": len(result.evaluations),
        "objective_formula": "L = sum_i w_i c_i / sum_i w_i; c_i = e_i^2 (P if undefined); e_i = scaled error in tolerance units (log ratio for month targets with relative tolerance when median_scale = log); w_i = n_i or missing_n_weight",
        "objective": {
            "before": obj(result.before),
            "after": obj(result.after),
            "before_fresh_seed": obj(result.before_fresh),
            "after_fresh_seed": obj(result.after_fresh),
            "fresh_seed": result.fresh_seed,
        },
        "best": {"index": result.best_index, "phase": result.best.phase, "values": result.best.values},
        "most_within": (
            {"index": mw.index, "phase": mw.phase, "objective": json_number(mw.objective), "within_tolerance": int(sum(mw.within)), "values": mw.values}
            if (mw := most_within(result)) is not None
            else None
        ),
        "parameters": params,
        "goodness_of_fit": {
            "before": _gof(result.before),
            "after": _gof(result.after),
            "before_fresh_seed": _gof(result.before_fresh),
            "after_fresh_seed": _gof(result.after_fresh),
            "targets": targets,
        },
        "diagnostics": diagnostics,
        "optimize": None,
        "abc": None,
        "trace": [_ev_json(e) for e in result.evaluations],
    }
    if result.opt is not None:
        doc["optimize"] = {"objective": json_number(result.opt.fun), "evaluations": result.opt.nfev, "screen_best": json_number(result.opt.screen_best), "local_runs": result.opt.local_runs}
    if result.abc is not None:
        doc["abc"] = {"generations": result.abc.generations, "ess": result.abc.ess, "particles": int(len(result.abc.weights))}
    return doc


# ============================================================================ report


def _value_text(x, unit):
    if x is None:
        return "NR"
    return f"{x:.3f}" if unit == "fraction" else f"{x:.1f}"


def build_report(result: CalibrationResult, summary, diagnostics, files) -> Report:
    from oligosim.calibration.evaluation import objective

    spec = result.spec
    s_obj = spec.objective
    nb = sum(r.within_tolerance for r in result.before)
    na = sum(r.within_tolerance for r in result.after)
    n = len(result.after)
    L0 = objective(result.before, s_obj)[0]
    L1 = result.best.objective
    rep = Report(spec.title)
    if spec.description:
        rep.paragraph(spec.description)
    fresh = ""
    if result.after_fresh and result.before_fresh:
        nbf = sum(r.within_tolerance for r in result.before_fresh)
        naf = sum(r.within_tolerance for r in result.after_fresh)
        fresh = (
            f" With new virtual patients (seed {result.fresh_seed}) the fit keeps {naf} of {n} within tolerance (defaults {nbf}), "
            f"objective {fmt(objective(result.after_fresh, s_obj)[0])} (defaults {fmt(objective(result.before_fresh, s_obj)[0])})."
        )
    rep.paragraph(
        f"{len(spec.parameters)} parameters fitted to {n} published targets ({spec.targets_path.name}, map {spec.map_path.name}); "
        f"method: {result.method}. Targets within tolerance: {nb} of {n} with the current defaults, {na} of {n} at the point fit. "
        f"Objective L: {fmt(L0)} -> {fmt(L1)}.{fresh} {len(result.evaluations)} candidate evaluations, each simulating every study "
        f"arm the map needs with {spec.patients} virtual patients per arm (seed {spec.seed}); one evaluation took "
        f"{fmt(result.eval_seconds, 2)} s on one core; the run took {result.seconds / 60:.1f} min"
        + (f" (--workers {result.workers})." if result.workers else ".")
        + (" (--quick sizes.)" if spec.quick else "")
    )

    rep.heading("Method")
    mw = s_obj.get("missing_n_weight")
    rep.bullets(
        [
            "Common random numbers: every candidate is simulated with the same virtual patients, so the objective is a deterministic function of the parameters and differences between candidates are not Monte Carlo noise.",
            "Objective L = sum_i w_i c_i / sum_i w_i, with c_i = e_i^2 and e_i the error of target i in units of its tolerance half-width "
            "(the map's scoring rule: |e_i| <= 1 is within tolerance; 0 on the allowed side of a one-sided bound)"
            + ("; for month-valued targets with a relative tolerance t the error is on the log scale, e = ln(model/target)/ln(1+t) above and ln(model/target)/-ln(1-t) below the target (band edges stay at +-1; a model twice the target counts like one half of it)" if s_obj["median_scale"] == "log" else "")
            + f"; an undefined model value (median not reached) costs c_i = {fmt(s_obj['undefined_penalty'])}.",
            (
                f"Weights w_i = n_i, the patients behind the published figure (its precision); targets without n weigh "
                + (f"{fmt(mw)}." if mw is not None else f"the median n of the others ({fmt(s_obj['missing_n_weight_resolved'])}).")
                + (
                    f" With a model-discrepancy size n0 = {fmt(s_obj['discrepancy_n'])} each weight becomes n_i n0 / (n_i + n0) = 1 / (1/n_i + 1/n0): "
                    "the sampling variance of the figure plus a discrepancy variance of the size of an n0-patient study's (Kennedy & O'Hagan 2001), "
                    "so no target weighs more than n0."
                    if s_obj.get("discrepancy_n") is not None
                    else ""
                )
            )
            if s_obj["weighting"] == "n"
            else "All targets weigh the same (weighting = \"equal\").",
            "Search space: each parameter mapped to [0, 1] (linearly, or in its logarithm for scale = \"log\").",
        ]
        + (
            [
                f"Point fit: {spec.optimize['screen_points']} scrambled Sobol' candidates (and the current defaults) simulated in parallel, then bounded Nelder-Mead from the best (initial simplex edge {spec.optimize['initial_step']} of the cube, because PFS medians are read at restaging scans and the objective has plateaus; budget {spec.optimize['max_evaluations']} evaluations, {spec.optimize['restarts']} restart(s)). "
                f"Screen best {fmt(result.opt.screen_best)}; Nelder-Mead runs: " + "; ".join(f"{fmt(r['start'])} -> {fmt(r['end'])} in {r['evaluations']} evaluations" for r in result.opt.local_runs) + "."
            ]
            if result.opt is not None
            else []
        )
        + (
            [
                f"Posterior: ABC-SMC (Toni 2009; Beaumont 2009) with the same distance L, {spec.abc['particles']} particles, {len(result.abc.generations)} generations. Generation 0 keeps the best {spec.abc['particles']} of {spec.abc['prior_draws']} prior draws; each later tolerance is the {spec.abc['quantile']} quantile of the previous distances; proposals perturb a weighted draw of the previous population with a Gaussian of twice its weighted covariance; weights = prior / kernel mixture. Because of CRN the posterior is the prior restricted to L <= epsilon (importance-weighted): the parameter sets that fit about as well as the final tolerance.",
            ]
            if result.abc is not None
            else []
        )
    )
    if result.opt is not None and result.opt.local_runs and "Maximum number" in result.opt.local_runs[-1]["message"]:
        rep.paragraph(
            f"The Nelder-Mead stage used its whole budget ({spec.optimize['max_evaluations']} evaluations) without meeting its convergence "
            "tolerances: the point fit is the best candidate found, not a converged optimum; a larger optimize.max_evaluations "
            "(or a second run started from calibrated.toml's values) may lower the objective further."
        )
    if result.abc is not None:
        ess = result.abc.ess
        if ess < max(10.0, 0.2 * len(result.abc.weights)):
            rep.paragraph(
                f"Warning: the final ABC population has an effective sample size of only {ess:.1f} of {len(result.abc.weights)} particles "
                "(a few particles carry most of the weight), so the posterior summaries and the fitted distributions are rough. "
                "More particles and a larger abc.max_proposals give a better-resolved posterior."
            )
        rep.table(
            ["generation", "tolerance epsilon", "simulated", "acceptance", "ESS", "budget reached"],
            [[g["generation"], g["epsilon"], g["proposals"], g["acceptance_rate"], g["ess"], "yes (tolerance relaxed)" if g["relaxed"] else "no"] for g in result.abc.generations],
            caption="ABC-SMC generations",
        )

    rep.heading("Fitted parameters")
    post = {s["path"]: s for s in summary}
    rows = []
    for p in spec.parameters:
        s = post.get(p.path)
        rows.append(
            [
                p.label,
                f"`{p.path}`",
                p.describe_prior(),
                fmt(p.default, 4),
                fmt(result.best.values[p.path], 4),
                (f"{fmt(s['mean'], 3)} ({fmt(s['q025'], 3)} to {fmt(s['q975'], 3)})" if s else "–"),
            ]
        )
    rep.table(["parameter", "path", "prior", "default", "point fit", "posterior mean (95% interval)"], rows)
    alt = most_within(result)
    if alt is not None and sum(alt.within) > na:
        rep.paragraph(
            f"The point fit minimises L, not the number of targets within tolerance. Among all {len([e for e in result.evaluations if e.z is not None])} "
            f"candidates, the one with the most targets within tolerance (evaluation {alt.index}, stage {alt.phase}) has {sum(alt.within)} of {n} "
            f"within tolerance but a larger objective, {fmt(alt.objective)}: L is dominated by a few large misses, which the point fit "
            "reduces at the cost of more targets just outside tolerance. It misses "
            + ", ".join(f"{r.id} ({'undefined' if e is None else f'error {e:+.1f}'})" for r, e, w in zip(result.after, alt.errors, alt.within) if not w)
            + ". Its values:"
        )
        rep.table(["parameter", "point fit", "most within tolerance"], [[p.label, fmt(result.best.values[p.path], 4), fmt(alt.values[p.path], 4)] for p in spec.parameters])
    rep.paragraph(
        "calibrated.toml holds the point fit as a scenario overlay: a scenario uses it with "
        "extends = [\"../base.toml\", \"<path to>/calibrated.toml\"] (later files override earlier ones), "
        "or the values go into the schema defaults (oligosim/schema.py) and configs/base.toml."
    )

    rep.heading("Targets before and after")
    trows = []
    for b, a in zip(result.before, result.after):
        band = a.tolerance["band"]
        band_txt = f"{_value_text(band[0], a.unit) if band[0] is not None else '-inf'} to {_value_text(band[1], a.unit) if band[1] is not None else 'inf'}"
        ea = target_error(a, median_scale=s_obj["median_scale"])
        trows.append([a.id, a.metric, _value_text(a.target, a.unit), band_txt, a.n if a.n else "–", _value_text(b.model, b.unit), "yes" if b.within_tolerance else "no", _value_text(a.model, a.unit), "yes" if a.within_tolerance else "no", fmt(ea, 2)])
    rep.table(["target", "metric", "published", "tolerance band", "n", "model before", "within", "model after", "within", "error after (tolerances)"], trows)
    rep.figure("targets_before.png", f"Before: the current defaults ({nb} of {n} within tolerance).")
    rep.figure("targets_after.png", f"After: the point fit ({na} of {n} within tolerance).")
    rep.figure("objective_trace.png", "Objective of every candidate, by search stage; the line is the best so far.")
    if result.abc is not None:
        rep.figure("posterior_marginals.png", "Posterior marginals (weighted histograms), prior density (dotted), current default (dashed) and point fit (red).")
        rep.figure("posterior_pairs.png", "Posterior pairs: particles shaded by weight; upper triangle: weighted correlations in the search cube (|r| >= 0.5 in red).")

    rep.heading("Targets the model cannot meet")
    if diagnostics:
        rep.paragraph(
            f"{len(diagnostics)} target(s) stay outside tolerance at the point fit. For each: the direction of the miss; whether any of the "
            "candidates evaluated met it (none: out of reach of these parameters within their prior ranges, a structural limit; some: a "
            "conflict with other targets, named with their errors at the fit and at the best candidate that met this one); the fitted "
            "parameters its error moves with across all candidates (Spearman rank correlation); and for PFS medians whether any restaging "
            "time lies in the tolerance band."
        )
        rep.bullets([_diagnosis_text(d, result) for d in diagnostics])
    else:
        rep.paragraph("Every target is within tolerance at the point fit.")
    worse = [a.id for b, a in zip(result.before, result.after) if b.within_tolerance and not a.within_tolerance]
    if worse:
        rep.paragraph("Within tolerance with the defaults but not after the fit (traded for larger gains elsewhere): " + ", ".join(worse) + ".")
    if spec.discussion.strip():
        rep.heading("Discussion")
        for para in [p.strip() for p in spec.discussion.split("\n\n") if p.strip()]:
            rep.paragraph(" ".join(para.split()))

    if result.abc is not None:
        rep.heading("Using the posterior in the PSA")
        rep.bullets(
            [
                "posterior.csv: the final ABC-SMC population (one row per particle: weight, distance, parameter values), the joint posterior with its correlations.",
                "psa_parameters.toml: one [[parameter]] table per fitted parameter with a distribution fitted to the weighted posterior by its moments (lognormal for log-scale parameters; otherwise beta for keys bounded to [0, 1], gamma for other non-negative keys, normal for unbounded ones). Replace the [[parameter]] tables of experiments/psa.toml (those of the same paths) with them.",
                "posterior_distributions.toml: the same distributions as a scenario overlay (value = the point fit). Point experiments/psa.toml at it with a scenario that extends [\"../configs/default.toml\", \"<path to>/posterior_distributions.toml\"] and [[parameter]] tables that name only a path: the PSA then draws from the posterior (psa.use_scenario_distributions = true, the default).",
                "Both drop the correlations between parameters (see the pairs plot): a PSA from independent marginals is wider than the joint posterior where parameters trade off.",
            ]
        )
    rep.heading("Files")
    rep.bullets(files)
    rep.paragraph(
        f"Reproduce: oligosim calibrate {spec.path} --targets {spec.targets_path} --method {result.method}"
        + (" --quick" if spec.quick else "")
        + " (results do not depend on --workers)."
    )
    return rep


def write_outputs(result: CalibrationResult, out: Path) -> list[str]:
    """Write every output file of a calibration into ``out`` (atomically); the names written."""
    from oligosim.io.files import atomic_directory, write_json
    from oligosim.plots.canvas import save_figure
    from oligosim.targets import plot_targets

    spec = result.spec
    summary = posterior_summary(result)
    dists, overlay, psa = ({}, None, None)
    if result.abc is not None:
        dists, overlay, psa = posterior_distributions(result, summary)
    diagnostics = diagnose(result)
    files = []
    with atomic_directory(Path(out)) as tmp:
        def add(name, desc):
            files.append(f"{name}: {desc}")

        write_json(tmp / "calibration.json", calibration_json(result, summary, dists, diagnostics))
        add("calibration.json", "config, best parameters, objective trace, goodness of fit before and after, diagnostics")
        (tmp / "calibrated.toml").write_text(calibrated_toml(result), encoding="utf-8")
        add("calibrated.toml", "the point fit as a scenario overlay")
        ids = [e.id for e in spec.tmap.entries]
        write_csv(
            tmp / "evaluations.csv",
            ["index", "phase", "objective"] + [p.path for p in spec.parameters] + [f"e:{i}" for i in ids],
            [[e.index, e.phase, json_number(e.objective)] + [e.values.get(p.path) for p in spec.parameters] + [json_number(x) if x is not None else None for x in e.errors] for e in result.evaluations],
        )
        add("evaluations.csv", "every candidate: stage, objective, parameter values, error of each target (tolerance units)")
        write_csv(
            tmp / "targets_fit.csv",
            ["id", "metric", "target", "n", "weight", "model_before", "within_before", "model_after", "within_after", "scaled_error_after", "objective_error_after"],
            [
                [a.id, a.metric, a.target, a.n, target_weight(a, spec.objective), b.model, int(b.within_tolerance), a.model, int(a.within_tolerance), a.scaled_error, target_error(a, median_scale=spec.objective["median_scale"])]
                for b, a in zip(result.before, result.after)
            ],
        )
        add("targets_fit.csv", "each target before and after the fit")
        ax = plot_targets(result.before, title=f"Before calibration (current defaults): {sum(r.within_tolerance for r in result.before)} of {len(result.before)} within tolerance")
        save_figure(ax.figure, tmp / "targets_before.png")
        ax = plot_targets(result.after, title=f"After calibration (point fit): {sum(r.within_tolerance for r in result.after)} of {len(result.after)} within tolerance")
        save_figure(ax.figure, tmp / "targets_after.png")
        add("targets_before.png, targets_after.png", "the targets against the model before and after")
        save_figure(plot_trace(result), tmp / "objective_trace.png")
        add("objective_trace.png", "objective of every candidate")
        if result.abc is not None:
            X = np.column_stack([np.asarray(p.to_value(result.abc.particles[:, i]), float) for i, p in enumerate(spec.parameters)])
            write_csv(
                tmp / "posterior.csv",
                ["particle", "weight", "distance"] + [p.path for p in spec.parameters],
                [[k, float(result.abc.weights[k]), json_number(float(result.abc.distances[k]))] + [float(v) for v in X[k]] for k in range(len(X))],
            )
            add("posterior.csv", "final ABC-SMC population: weight, distance, parameter values")
            (tmp / "posterior_distributions.toml").write_text(overlay, encoding="utf-8")
            add("posterior_distributions.toml", "fitted marginal distributions as a scenario overlay")
            (tmp / "psa_parameters.toml").write_text(psa, encoding="utf-8")
            add("psa_parameters.toml", "the same as [[parameter]] tables for an experiment file")
            save_figure(plot_marginals(result), tmp / "posterior_marginals.png")
            save_figure(plot_pairs(result), tmp / "posterior_pairs.png")
            add("posterior_marginals.png, posterior_pairs.png", "posterior plots")
        add("report.md, report.html", "this report")
        build_report(result, summary, diagnostics, files).write(tmp)
        names = sorted(p.name for p in tmp.iterdir())
    return names


__all__ = ["write_outputs", "calibrated_toml", "posterior_distributions", "diagnose", "fitted_distribution"]
