"""Virtual trials: the operating characteristics of a randomised trial of two strategies.

The two arms are simulated once as large pools (common random numbers, so the pools share
their virtual patients); each virtual trial randomises distinct virtual patients from them,
with Poisson accrual, administrative censoring at the analysis and exponential dropout
(:mod:`oligosim.analysis.trial`). Repeated many times this gives the power, the distribution of the
estimated hazard ratio and medians, and the sample size for a target power, to set beside
Schoenfeld's formula.
"""

from __future__ import annotations

import math

import numpy as np

from oligosim.io.report import fmt


def run(ctx) -> dict:
    exp = ctx.exp
    s = exp.settings
    from tqdm import tqdm

    from oligosim.analysis.summary import endpoint
    from oligosim.analysis.survival import kaplan_meier
    from oligosim.analysis.trial import power_curve, simulate_trials
    from oligosim.plots.km import plot_km
    from oligosim.plots.trial import plot_distribution, plot_power
    from oligosim.simulate import run_scenario

    pool = s["pool_patients"] or exp.patients
    control, experimental = exp.arms
    bar = tqdm(total=pool * 2, unit="pt", unit_scale=True, delay=1.0, disable=ctx.quiet, desc="simulating pools")
    try:
        res = run_scenario(exp.scenario, patients=pool, seed=exp.seed, keep="summary", arms=[control, experimental], progress=bar.update)
    finally:
        bar.close()
    ep = s["endpoint"]
    pools = {a: endpoint(res.arms[a], ep) for a in exp.arms}
    horizon = exp.scenario.data["simulation"]["horizon_months"]
    common = dict(
        accrual_per_month=s["accrual_per_month"], followup_months=s["followup_months"], dropout_per_year=s["dropout_per_year"],
        replicates=s["replicates"], seed=exp.seed, alpha=s["alpha"], sided=s["sided"], pool_horizon_months=horizon,
    )
    grid = sorted(set(s["n_per_arm"]))
    too_big = [n for n in grid if 2 * n > pool]
    if too_big:
        from oligosim.experiments.spec import ExperimentError

        raise ExperimentError(f"trial.n_per_arm = {too_big}: each trial needs 2 x n distinct virtual patients from pools of {pool}; raise trial.pool_patients or patients")
    curve = power_curve(pools[control], pools[experimental], n_grid=grid, target_power=s["target_power"], **common)
    n_design = curve["n_for_target"]
    n_detail = int(math.ceil(n_design)) if n_design is not None and 2 * math.ceil(n_design) <= pool else grid[-1]
    detail = simulate_trials(pools[control], pools[experimental], n_per_arm=n_detail, **common)

    lab_c, lab_e = ctx.arm_label(control), ctx.arm_label(experimental)
    ctx.methods(
        f"Pools of {pool:,} virtual patients per arm; each virtual trial randomises 2 x n distinct patients with accrual "
        f"{fmt(s['accrual_per_month'])} patients/month (Poisson), {fmt(s['followup_months'])} months of follow-up after the last entry and "
        f"{fmt(100 * s['dropout_per_year'])}% dropout per year; {s['replicates']} trials per sample size. Endpoint {ep.upper()}, "
        f"log-rank test at alpha = {fmt(s['alpha'])} ({s['sided']}-sided), Cox HR ({lab_e} vs {lab_c})."
    )
    ctx.report.heading("Results")
    rows = [[n, p, lo, hi, ev, d, hr] for n, p, lo, hi, ev, d, hr in zip(
        curve["n_per_arm"], curve["power"], curve["power_ci95"][0], curve["power_ci95"][1], curve["events_mean"], curve["duration_mean"], curve["hr_geometric_mean"])]
    headers = ["patients per arm", "power", "95% CI lo", "95% CI hi", "events (mean)", "duration (months)", "HR (geometric mean)"]
    ctx.report.table(headers, rows, caption="Power by sample size")
    ctx.csv("power.csv", headers, rows)
    sch = curve.get("schoenfeld_n_per_arm")
    ctx.report.paragraph(
        f"The true HR of the pools is {fmt(curve['hr_true'])}. "
        + (f"{fmt(100 * s['target_power'])}% power needs about {math.ceil(n_design)} patients per arm (interpolated); " if n_design else f"{fmt(100 * s['target_power'])}% power is not reached between {grid[0]} and {grid[-1]} patients per arm; ")
        + (f"Schoenfeld's formula gives {math.ceil(sch)} per arm." if sch else "")
    )
    hr = detail["hr"]
    med = detail["median"]
    ctx.report.paragraph(
        f"At {n_detail} patients per arm: power {fmt(detail['power'])} ({fmt(detail['power_ci95'][0])} to {fmt(detail['power_ci95'][1])}); "
        f"estimated HR median {fmt(hr['median'])} (2.5-97.5%: {fmt(hr['percentiles']['2.5'])} to {fmt(hr['percentiles']['97.5'])}); "
        f"95% CIs cover the true HR in {fmt(100 * hr['ci_coverage'])}% of trials; median {ep.upper()} {lab_c} {fmt(med['control']['percentiles']['50'])}, "
        f"{lab_e} {fmt(med['experimental']['percentiles']['50'])} months (median over trials); mean trial duration {fmt(detail['duration']['mean'])} months."
    )
    import re

    # notes repeat per grid point ("n_per_arm = 20: ..."); report each distinct note once
    notes = [re.sub(r"^n_per_arm = \d+: ", "", n) for n in (curve.get("notes") or []) + (detail.get("notes") or [])]
    if notes:
        ctx.report.bullets(list(dict.fromkeys(notes)))
    ax = plot_power({f"{lab_e} vs {lab_c}": curve}, target=s["target_power"], title=f"Power, {ep.upper()}")
    ctx.save(ax, "power.png", "Power against patients per arm (95% CIs), with the target power")
    hrs = np.array([h for h in detail["replicates"]["hr"] if h is not None and np.isfinite(h)])
    ax = plot_distribution(hrs, xlabel=f"Estimated HR ({lab_e} vs {lab_c})", reference=curve["hr_true"], title=f"HR across {len(hrs)} virtual trials of {n_detail} per arm")
    ctx.save(ax, "hr_distribution.png", "Distribution of the estimated hazard ratio, with the pools' true HR")
    curves = {ctx.arm_label(a): kaplan_meier(*pools[a]) for a in exp.arms}
    ax = plot_km(curves, title=f"{ep.upper()} of the simulated pools", max_months=min(60.0, horizon))
    ctx.save(ax, "km_pools.png", "Kaplan-Meier curves of the pools the trials draw from")
    reps = detail["replicates"]
    # one row per virtual trial, each of n_detail patients per arm (the sample size is a column);
    # column names carry their unit where there is one
    units = {"duration": "duration_months", "median_control": "median_control_months", "median_experimental": "median_experimental_months"}
    reps = {"n_per_arm": [n_detail] * len(next(iter(reps.values()))), **{units.get(k, k): v for k, v in reps.items()}}
    ctx.csv("trials.csv", list(reps), [list(r) for r in zip(*reps.values())])
    return {"pool_patients": pool, "power_curve": curve, "design": detail}
