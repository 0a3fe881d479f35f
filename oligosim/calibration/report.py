"""Files and report of a calibration run, all written together or not at all: calibration.json,
the CSV tables, the figures and report.md / report.html."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from oligosim.analysis.survival import json_number
from oligosim.calibration import CalibrationResult, posterior_summary
from oligosim.calibration.diagnosis import diagnose, diagnosis_text
from oligosim.calibration.evaluation import target_error, target_weight
from oligosim.calibration.plots import plot_marginals, plot_pairs, plot_trace
from oligosim.calibration.posterior import calibrated_toml, posterior_distributions, posterior_kind, posterior_model_toml
from oligosim.io.files import write_csv
from oligosim.io.report import Report, fmt


def _history_method(spec, result) -> str:
    """The method paragraph of a history-matching run (:mod:`oligosim.calibration.history`)."""
    h = spec.history
    return (
        f"Posterior: history matching with a Bayesian step (Vernon et al. 2010; Andrianakis et al. 2015). {h['waves']} wave(s) of "
        f"{h['design_points']} simulated candidates (the first a scrambled Sobol' design, the later ones maximin subsets of the "
        f"candidates not ruled out); after each wave a Gaussian-process emulator of every target's error (one correlation shared "
        f"by the targets, Conti & O'Hagan 2010) screened {h['pool']} candidates with the implausibility sum_i mu_i^2 / (s_i^2 + v_i) "
        f"against the {h['cutoff']} quantile of a chi-square with one degree of freedom per target. Likelihood: independent Gaussian "
        f"errors in tolerance units with variances s_i^2 = tau^2 wbar / w_i (the objective's weights), so that the posterior is "
        f"prior x exp(-K L / (2 tau^2)); tau^2 = {result.abc.error_scale:.4g}"
        + (" (set in the config)" if h["error_scale"] is not None else " (the smallest simulated objective)")
        + f". Bayesian step: {h['chains']} Metropolis chains of {h['steps']} steps on the emulator posterior, {h['particles']} of their "
        f"draws simulated and weighted by simulated over emulated likelihood, so the weighted particles target the simulator's posterior"
        + (f"; {h['rounds']} rounds, each round's simulated draws added to the emulator's training set before the next" if h["rounds"] > 1 else "")
        + (
            "; the particles are every round's draws, each round's weights scaled by its share of the rounds' summed effective sample sizes."
            if h.get("combine") else "."
        )
        + (
            f" The emulator was trained from the start on the candidates of earlier calibrations ({', '.join(h['start'])}; never particles)."
            if h.get("start") else ""
        )
    )


def _history_tables(rep, result) -> None:
    """The waves' table and the effective-sample-size verdict of a history-matching run."""
    res = result.abc
    waves = [w for w in res.waves if "nroy_share" in w]
    rounds = [w for w in res.waves if "round" in w]
    final = res.waves[-1]
    if waves:
        rep.table(
            ["wave", "simulated", "best objective", "tau^2", "not ruled out (share of cube)", "emulator LOO within 3 sd"],
            [[w["wave"], w["simulated"], w["best_objective"], w["error_scale"], w["nroy_share"], w["loo_within_3"]] for w in waves],
            caption="History-matching waves",
        )
    last = rounds[-1] if rounds and "lengths" in rounds[-1] else waves[-1]
    rep.table(
        ["parameter", "correlation length (unit cube)"],
        [[p.label, last["lengths"][i]] for i, p in sorted(enumerate(result.spec.parameters), key=lambda t: last["lengths"][t[0]])],
        caption=(
            f"The emulator of the last {'round' if 'round' in last else 'wave'} (nugget {last['nugget']:.3g}): a short length means the targets' errors change quickly "
            "with the parameter; a length of several units means they change little or only linearly (the emulator's "
            "regression carries linear trends), so the targets inform it weakly or only through a trend."
        ),
    )
    combined = "ess_combined" in final
    rep.table(
        ["round", "emulator trained on", "emulator LOO within 3 sd", "draws", "distinct, simulated", "best objective", "Metropolis acceptance",
         "ESS of the emulator posterior (chains)", "ESS after correction"] + (["ESS, rounds so far combined"] if combined else []),
        [[w["round"], w.get("trained_on"), w.get("loo_within_3"), w["draws"], w["simulated"], w["best_objective"], w["acceptance"], w["emulator_posterior_ess"], w["ess"]]
         + ([w["ess_combined"]] if combined else []) for w in rounds],
        caption="Bayesian step: draws of the emulator posterior, simulated and weighted by simulated / emulated likelihood",
    )
    ess = res.ess
    rep.paragraph(
        (
            f"The posterior's particles are every round's distinct simulated draws ({len(res.weights)}), each round's weights scaled by its share "
            f"of the rounds' summed effective sample sizes; together they give an effective sample size of {ess:.1f}."
            if combined
            else f"The posterior's particles are the last round's {final['simulated']} distinct simulated draws; their importance weights give an "
            f"effective sample size of {ess:.1f}."
        )
        + (
            " Warning: that is below 200 (issue 20's bar for a posterior worth using) or a fifth of the draws: the emulator did not "
            "stand in well for the simulator where the posterior is; more rounds (history.rounds), waves or design points sharpen it."
            if ess < max(200.0, 0.2 * len(res.weights))
            else ""
        )
    )


def most_within(result: CalibrationResult):
    """The candidate with the most targets within tolerance (ties: the lower objective)."""
    cube = [e for e in result.evaluations if e.z is not None and math.isfinite(e.objective)]
    return max(cube, key=lambda e: (sum(e.within), -e.objective, -e.index)) if cube else None


def _ev_json(e) -> dict:
    # parameter values and per-target errors of every candidate are in evaluations.csv
    return {"index": e.index, "phase": e.phase, "objective": json_number(e.objective), "within_tolerance": int(sum(e.within)), **({"note": e.note} if e.note else {})}


def _gof(results) -> dict:
    from oligosim.calibration.scoring import goodness_of_fit

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
        if hasattr(result.abc, "waves"):  # history matching: its waves, and the Bayesian step's ESS
            clean = [{k: (json_number(v) if isinstance(v, float) else v) for k, v in w.items()} for w in result.abc.waves]
            doc["history"] = {
                "waves": clean, "error_scale": result.abc.error_scale, "ess": result.abc.ess, "particles": int(len(result.abc.weights)),
                "start": list(result.spec.history.get("start", [])), "combine": bool(result.spec.history.get("combine", False)),
            }
        else:
            doc["abc"] = {"generations": result.abc.generations, "ess": result.abc.ess, "particles": int(len(result.abc.weights))}
    doc["predictive"] = result.predictive.to_json() if result.predictive is not None else None
    return doc


def _value_text(x, unit):
    if x is None:
        return "NR"
    return f"{x:.3f}" if unit in ("fraction", "ratio") else f"{x:.1f}"


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
            "Objective L = sum_i w_i c_i / sum_i w_i, with "
            + (f"c_i = nu ln(1 + e_i^2 / nu), nu = {fmt(s_obj.get('dof') or 1.0)} (loss = \"student_t\": a heavy-tailed model discrepancy, so that a target the model cannot meet weighs logarithmically, not quadratically)" if s_obj.get("loss", "squared") == "student_t" else "c_i = e_i^2")
            + " and e_i the error of target i in units of its tolerance half-width "
            "(the map's scoring rule: |e_i| <= 1 is within tolerance; 0 on the allowed side of a one-sided bound)"
            + ("; for month-valued targets with a relative tolerance t the error is on the log scale, e = ln(model/target)/ln(1+t) above and ln(model/target)/-ln(1-t) below the target (band edges stay at +-1; a model twice the target counts like one half of it)" if s_obj["median_scale"] == "log" else "")
            + (f"; an undefined model value (median not reached) counts as e_i^2 = {fmt(s_obj['undefined_penalty'])}." if s_obj.get("loss", "squared") == "student_t" else f"; an undefined model value (median not reached) costs c_i = {fmt(s_obj['undefined_penalty'])}."),
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
            ["Fixed for every study scenario and candidate (the config's [fixed] table, part of the calibrated model): " + ", ".join(f"{k} = {v!r}" for k, v in spec.fixed.items()) + "."]
            if spec.fixed
            else []
        )
        + (
            ["Tied to a fitted parameter for every candidate (the config's [tied] table, part of the calibrated model): " + ", ".join(f"{k} = {r:g} x {of}" for k, (of, r) in spec.tied.items()) + "."]
            if spec.tied
            else []
        )
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
            if result.abc is not None and not hasattr(result.abc, "waves")
            else []
        )
        + ([_history_method(spec, result)] if hasattr(result.abc, "waves") else [])
    )
    if result.opt is not None and result.opt.local_runs and "Maximum number" in result.opt.local_runs[-1]["message"]:
        rep.paragraph(
            f"The Nelder-Mead stage used its whole budget ({spec.optimize['max_evaluations']} evaluations) without meeting its convergence "
            "tolerances: the point fit is the best candidate found, not a converged optimum; a larger optimize.max_evaluations "
            "(or a second run started from calibrated.toml's values) may lower the objective further."
        )
    if hasattr(result.abc, "waves"):
        _history_tables(rep, result)
    elif result.abc is not None:
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
        "or the values go into the schema defaults (oligosim/config/schema.py) and configs/base.toml."
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
        rep.bullets([diagnosis_text(d, result) for d in diagnostics])
    else:
        rep.paragraph("Every target is within tolerance at the point fit.")
    worse = [a.id for b, a in zip(result.before, result.after) if b.within_tolerance and not a.within_tolerance]
    if worse:
        rep.paragraph("Within tolerance with the defaults but not after the fit (traded for larger gains elsewhere): " + ", ".join(worse) + ".")
    if result.predictive is not None:
        _predictive_section(rep, result.predictive)
    if spec.discussion.strip():
        rep.heading("Discussion")
        for para in [p.strip() for p in spec.discussion.split("\n\n") if p.strip()]:
            rep.paragraph(" ".join(para.split()))

    if result.abc is not None:
        rep.heading("Using the posterior in the PSA")
        rep.bullets(
            [
                f"posterior.csv: the {posterior_kind(result)[0]}'s {posterior_kind(result)[1]} (one row per particle: weight, distance, parameter values), the joint posterior with its correlations.",
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


def _nr(v) -> str:
    """A replicate quantile: +inf is a median not reached."""
    return "not reached" if v == math.inf else fmt(v)


def _predictive_section(rep: Report, check) -> None:
    covered, k = check.coverage()
    rows = check.rows()
    rep.heading("Predictive check")
    rep.paragraph(
        f"{check.draws} replicated studies drawn from the {check.source}"
        + (" by weight" if check.source == "posterior" else "")
        + ", each study simulated again at its published size with new virtual patients "
        f"(oligosim.calibration.predictive): {covered} of {k} published values lie inside the central 95% of their "
        "replicates; about 95% would for a model that describes the studies. Targets without n in the targets file are "
        "replicated at the objective's missing_n_weight (marked). Figure: predictive.png; every target: predictive.csv."
    )
    missed = [r for r in rows if not r["covered"]]
    if missed:
        rep.table(
            ["target", "published", "n", "replicates 2.5%", "median", "97.5%", "two-sided p"],
            [
                [r["id"], fmt(r["target"]), f"{r['study_n']}{' (assumed)' if r['n_assumed'] else ''}", *(_nr(r[q]) for q in ("q025", "median", "q975")), fmt(r["p_two_sided"])]
                for r in missed
            ],
        )


def write_outputs(result: CalibrationResult, out: Path) -> list[str]:
    """Write every output file of a calibration into ``out`` (atomically); the names written."""
    from oligosim.calibration.plots import plot_targets
    from oligosim.io.files import atomic_directory, write_json
    from oligosim.plots.canvas import save_figure

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
        if result.predictive is not None:
            from oligosim.calibration.plots import plot_predictive

            result.predictive.write_csv(tmp / "predictive.csv")
            save_figure(plot_predictive(result.predictive, spec.tmap).figure, tmp / "predictive.png")
            add("predictive.csv, predictive.png", "the predictive check: each target's replicated studies (2.5/50/97.5 %), covered or not, tail probability")
        save_figure(plot_trace(result), tmp / "objective_trace.png")
        add("objective_trace.png", "objective of every candidate")
        if result.abc is not None:
            X = np.column_stack([np.asarray(p.to_value(result.abc.particles[:, i]), float) for i, p in enumerate(spec.parameters)])
            write_csv(
                tmp / "posterior.csv",
                ["particle", "weight", "distance"] + [p.path for p in spec.parameters],
                [[k, float(result.abc.weights[k]), json_number(float(result.abc.distances[k]))] + [float(v) for v in X[k]] for k in range(len(X))],
            )
            add("posterior.csv", f"{posterior_kind(result)[0]} ({posterior_kind(result)[1]}): weight, distance, parameter values")
            if spec.fixed or spec.tied:
                (tmp / "posterior.toml").write_text(posterior_model_toml(spec), encoding="utf-8")
                add("posterior.toml", "the settings the calibration fixed (a PSA naming posterior.csv must run a scenario with them) and its ties (a PSA sets them from each particle; experiments/joint.py)")
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


__all__ = ["write_outputs", "calibration_json", "build_report", "most_within"]
