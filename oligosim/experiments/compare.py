"""A paired comparison of strategies: Kaplan-Meier curves, medians, RMST, toxicity and
patterns of failure, with differences and confidence intervals that use the pairing.

All arms are simulated with the same virtual patients (common random numbers). Each
difference is reported with its paired 95 % CI (Poisson bootstrap with the same weight for a
patient in every arm; closed form for proportions), with the standard error independent arms
of the same size would have, and their variance ratio: how many times more patients an
unpaired comparison would need for the same precision.
"""

from __future__ import annotations

from oligosim.io.report import fmt, fmt_ci


def run(ctx) -> dict:
    exp = ctx.exp
    s = exp.settings
    from tqdm import tqdm

    from oligosim.analysis.metrics import evaluate_many
    from oligosim.analysis.paired import compare_arms, paired_difference_table
    from oligosim.analysis.summary import endpoint, plans_rt, summarize_arm
    from oligosim.analysis.survival import kaplan_meier
    from oligosim.simulate import run_scenario

    total = exp.patients * len(exp.arms)
    bar = tqdm(total=total, unit="pt", unit_scale=True, delay=1.0, disable=ctx.quiet, desc="simulating")
    try:
        res = run_scenario(exp.scenario, patients=exp.patients, seed=exp.seed, keep="all", arms=list(exp.arms), progress=bar.update)
    finally:
        bar.close()
    k = min(s["event_patients"], exp.patients)
    with_events = run_scenario(exp.scenario, patients=k, seed=exp.seed, events=True, arms=list(exp.arms))

    # the per-arm RMST uses the comparison's tau, so that it matches the paired differences
    rt = {a: plans_rt(exp.scenario.data["arms"][a]) for a in exp.arms}
    summaries = {a: summarize_arm(res.arms[a], s["tau_months"], rt[a]) for a in exp.arms}
    from oligosim.analysis.survival import json_number

    # undefined values (a median or CI limit not reached, no CI for a mean) are None in JSON, and
    # so is local control in an arm whose strategy gives no RT (not the arm's local control)
    per_arm = {
        a: {m: [None if (m.startswith("local_control") and not rt[a]) else json_number(x) for x in v] for m, v in evaluate_many(res.arms[a], exp.all_metrics).items()}
        for a in exp.arms
    }
    ref = exp.arms[0]
    comparisons = {}
    for a in exp.arms[1:]:
        comparisons[a] = compare_arms(
            res.arms[ref], res.arms[a], endpoints=("os", "pfs"), tau_months=s["tau_months"], landmarks=(12, 24),
            replicates=s["bootstrap_replicates"], seed=exp.seed,
        )

    ctx.methods(
        f"Differences are each arm minus {ctx.arm_label(ref)}, with paired 95% CIs ({s['bootstrap_replicates']} Poisson-bootstrap replicates "
        f"sharing each patient's weight across arms; Newcombe intervals for proportions). RMST is restricted to {fmt(s['tau_months'])} months."
    )
    ctx.report.heading("Results")
    rm = f"RMST {fmt(s['tau_months'])} m"
    headers = ["arm", "median OS (95% CI)", f"{rm} OS (95% CI)", "median PFS (95% CI)", f"{rm} PFS (95% CI)", "OS 24 m", "PFS 24 m",
               "grade ≥3 any", "treatment deaths"]
    rows = []
    for a in exp.arms:
        sm = summaries[a]
        med = lambda d: fmt_ci(d["median_months"], *d["median_ci95"])  # noqa: E731
        rmst = lambda d: fmt_ci(d["rmst_months"], *d["rmst_ci95"])  # noqa: E731
        pct = lambda x: "–" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        rows.append([ctx.arm_label(a), med(sm["os"]), rmst(sm["os"]), med(sm["pfs"]), rmst(sm["pfs"]), pct(sm["os"]["rate"]["24"]),
                     pct(sm["pfs"]["rate"]["24"]), pct(sm["toxicity_grade3plus"]["any"]), pct(sm["treatment_deaths"])])
    ctx.report.table(headers, rows, caption=f"Per arm, {exp.patients:,} virtual patients each (95% Monte Carlo CIs)")
    warnings = [f"{ctx.arm_label(a)}: {w['message']}" for a in exp.arms for w in summaries[a]["warnings"]]
    if warnings:
        ctx.report.paragraph("Plausibility warnings (rates outside every series of the consensus' Table 4; docs/model.md 9): " + "; ".join(warnings) + ".")
    metric_rows = [[ctx.arm_label(a), m, *v] for a in exp.arms for m, v in per_arm[a].items()]
    ctx.csv("metrics.csv", ["arm", "metric", "value", "ci_lo", "ci_hi"], metric_rows)

    diff_headers = ["quantity", "reference", "arm", "difference", "95% CI", "variance ratio (independent/paired)"]
    csv_rows = []
    for a, cmp in comparisons.items():
        diff_rows = []
        for r in paired_difference_table(cmp):
            if r["diff"] is None and r["a"] is None:
                continue
            ci = f"{fmt(r['ci_lo'])} to {fmt(r['ci_hi'])}" if r["ci_lo"] is not None else "–"
            diff_rows.append([r["quantity"], r["a"], r["b"], r["diff"], ci, r["variance_ratio"]])
            csv_rows.append([ctx.arm_label(a)] + [r[c] for c in ("quantity", "a", "b", "diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio")])
        ctx.report.table(diff_headers, diff_rows, caption=f"{ctx.arm_label(a)} minus {ctx.arm_label(ref)}: paired differences")
        os_r = cmp["endpoints"]["os"]["rmst"]
        if os_r["diff"] is not None:
            ctx.report.paragraph(
                f"{ctx.arm_label(a)} changes the {fmt(s['tau_months'])}-month restricted mean OS by {fmt_ci(os_r['diff'], os_r['ci_lo'], os_r['ci_hi'])} months; "
                + (f"independent arms would need {fmt(os_r['variance_ratio'])} times as many patients for this precision." if os_r.get("variance_ratio") else "")
            )
    ctx.csv("paired_differences.csv", ["arm", "quantity", "reference", "value", "difference", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio"], csv_rows)

    from oligosim import codes

    classes = list(codes.ESTRO_CLASS_NAMES) + ["polymetastatic"]
    estro_rows = [[c] + [summaries[a]["estro_eortc_first_progression"][c] for a in exp.arms] for c in classes]
    ctx.report.table(
        ["ESTRO-EORTC class at first progression"] + [ctx.arm_label(a) for a in exp.arms],
        estro_rows,
        caption="Share of first progressions in each ESTRO-EORTC class (consensus statement 2), or polymetastatic",
    )
    ctx.csv("estro_first_progression.csv", ["class"] + list(exp.arms), estro_rows)

    from oligosim.plots.arms import plot_failure_patterns, plot_toxicity
    from oligosim.plots.km import plot_km
    from oligosim.plots.swimmer import plot_swimmer

    horizon = min(60.0, exp.scenario.data["simulation"]["horizon_months"])
    for key, title in (("os", "Overall survival"), ("pfs", "Progression-free survival")):
        curves = {ctx.arm_label(a): kaplan_meier(*endpoint(res.arms[a], key)) for a in exp.arms}
        ax = plot_km(curves, title=f"{title}: {exp.scenario.name}", max_months=horizon)
        ctx.save(ax, f"km_{key}.png", f"{title}: Kaplan-Meier curves with 95% CIs and numbers at risk")
    labelled = {ctx.arm_label(a): summaries[a] for a in exp.arms}
    ax = plot_failure_patterns(labelled, title="Pattern of first failure")
    ctx.save(ax, "failure_patterns.png", "First failure: none, in field, marginal/regional, out of field (new lesions or regrowth), widespread (share of patients)")
    ax = plot_toxicity(labelled, title="Grade ≥3 toxicity")
    ctx.save(ax, "toxicity.png", "Grade ≥3 toxicity by type, with 95% Wilson CIs")
    for a in exp.arms:
        ax = plot_swimmer(with_events.arms[a], patients=s["swimmer_patients"], max_months=horizon, title=f"{ctx.arm_label(a)}: the first {s['swimmer_patients']} virtual patients")
        ctx.save(ax, f"swimmer_{a}.png", f"Swimmer plot, {ctx.arm_label(a)}: the same virtual patients as in the other arms' plots")
    return {"arms": {a: summaries[a] for a in exp.arms}, "metrics": per_arm, "comparisons": comparisons}
