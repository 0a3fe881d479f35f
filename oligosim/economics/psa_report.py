"""The cost-effectiveness part of the psa experiment: CE plane, CEAC and CEAF, EVPI (per
patient and population), EVPPI by parameter group and the convergence of the PSA means."""

from __future__ import annotations

import numpy as np

from oligosim.economics.incremental import frontier, net_monetary_benefit
from oligosim.economics.voi import ceac, ceaf, evpi, evppi, population_factor
from oligosim.io.report import fmt

#: the metrics the psa experiment adds when the scenario's economics is enabled
METRICS = ("econ.cost", "econ.qalys")


def report(ctx, params, X: np.ndarray, res: list[dict]) -> dict:
    """Write the cost-effectiveness section of a PSA report and return its results.json part.

    Parameters
    ----------
    ctx : oligosim.experiments.runner.Context
    params : sequence of Parameter
        The experiment's parameters (columns of ``X``).
    X : ndarray, shape (draws, p)
        Parameter values per draw.
    res : list of dict
        The evaluations (``res[s]["arms"][arm]["econ.cost"][0]`` ...).
    """
    exp = ctx.exp
    s = exp.settings
    eco = exp.scenario.data["economics"]
    cur = eco["currency"]
    arms = list(exp.arms)
    labels = [ctx.arm_label(a) for a in arms]
    C = np.array([[r["arms"][a]["econ.cost"][0] for a in arms] for r in res], float)  # (draws, k)
    Q = np.array([[r["arms"][a]["econ.qalys"][0] for a in arms] for r in res], float)
    wtp = float(eco["wtp_per_qaly"])
    grid = np.linspace(0.0, float(eco["wtp_max_per_qaly"]), s["wtp_points"])
    nb = net_monetary_benefit(C, Q, wtp)  # (draws, k)
    evpi_pp = evpi(nb)
    pop = population_factor(eco["population_incidence_per_year"], eco["population_horizon_years"], eco["discount_effects_per_year"])
    curves = ceac(C, Q, grid)
    at_wtp = ceac(C, Q, np.array([wtp]))[0]
    opt, p_opt = ceaf(C, Q, grid)
    evpi_curve = np.array([evpi(net_monetary_benefit(C, Q, w)) for w in grid])
    status, icer, against = frontier(C.mean(axis=0), Q.mean(axis=0))
    paths = [p.path for p in params]
    groups = {}
    for name, members in s["evppi_groups"].items():
        cols = [paths.index(m) for m in members]
        groups[name] = {"parameters": list(members), "evppi_per_patient": evppi(nb, X[:, cols])}
    groups_all = evppi(nb, X) if len(paths) > 0 else 0.0
    # an EVPPI cannot exceed the EVPI; a regression estimate can, when the draws are too few
    # for the group's regression: flag it, never clip it
    over = [g for g, v in groups.items() if v["evppi_per_patient"] > evpi_pp * (1 + 1e-9) + 1e-9] + (["all parameters"] if groups_all > evpi_pp * (1 + 1e-9) + 1e-9 else [])

    ctx.report.heading("Cost-effectiveness under parameter uncertainty")
    ctx.report.paragraph(
        f"Costs in {cur} ({eco['price_year']} prices, {eco['perspective']} perspective), discounted at "
        f"{100 * eco['discount_costs_per_year']:g}% a year (effects {100 * eco['discount_effects_per_year']:g}%). Net monetary benefit "
        f"at a willingness to pay of {wtp:,.0f} {cur} per QALY ({wtp / eco['gdp_per_capita']:.2g} x GDP per capita)."
    )
    rows = []
    for k, a in enumerate(arms):
        rows.append([
            labels[k], C[:, k].mean(), np.percentile(C[:, k], 2.5), np.percentile(C[:, k], 97.5), Q[:, k].mean(),
            np.percentile(Q[:, k], 2.5), np.percentile(Q[:, k], 97.5), status[k], "-" if icer[k] is None else f"{icer[k]:,.0f}",
            float(at_wtp[k]),
        ])
    ctx.report.table(
        ["arm", f"cost ({cur})", "2.5%", "97.5%", "QALYs", "2.5%", "97.5%", "frontier", f"ICER ({cur}/QALY)", "P(most cost-effective)"],
        rows,
        caption="Mean over the PSA draws (percentiles are parameter uncertainty); ICERs against the previous frontier arm",
    )
    ctx.report.paragraph(
        f"EVPI at the willingness to pay: {fmt(evpi_pp)} {cur} per patient; for {eco['population_incidence_per_year']:,.0f} patients a "
        f"year over {eco['population_horizon_years']:g} years (discounted: {pop:,.0f} patients), {evpi_pp * pop:,.0f} {cur}."
    )
    if groups:
        ctx.report.table(
            ["parameter group", "parameters", f"EVPPI per patient ({cur})", "share of EVPI"],
            [[g, ", ".join(v["parameters"]), v["evppi_per_patient"], v["evppi_per_patient"] / evpi_pp if evpi_pp > 0 else float("nan")] for g, v in groups.items()]
            + [["all parameters", "(every [[parameter]])", groups_all, groups_all / evpi_pp if evpi_pp > 0 else float("nan")]],
            caption="EVPPI by Gaussian-process regression (Strong, Oakley & Brennan 2014); with all parameters it should match the EVPI",
        )
        if over:
            ctx.report.paragraph(
                f"Warning: the EVPPI estimate of {', '.join(over)} exceeds the EVPI, which a true EVPPI cannot: "
                f"{C.shape[0]} draws are too few for the regression; run more draws before reading the EVPPI."
            )
    from oligosim.plots import economics as plots
    from oligosim.plots.style import arm_colors

    ref = 0
    ax = plots.plot_ce_plane(
        {labels[k]: Q[:, k] - Q[:, ref] for k in range(1, len(arms))},
        {labels[k]: C[:, k] - C[:, ref] for k in range(1, len(arms))},
        wtp=wtp, currency=cur, colors=arm_colors(labels), title=f"Cost-effectiveness plane against {labels[ref]}",
    )
    ctx.save(ax, "ce_plane.png", f"Each point is one parameter draw: incremental cost and QALYs per patient against {labels[ref]}; below the dashed line is cost-effective at the WTP")
    ax = plots.plot_ceac(grid, {labels[k]: curves[:, k] for k in range(len(arms))}, [labels[o] for o in opt], currency=cur, title="Acceptability curves and frontier")
    ctx.save(ax, "ceac.png", "Probability that each arm is the most cost-effective, against the willingness to pay; grey: the acceptability frontier (the arm of largest expected net benefit)")
    marks = [(x * eco["gdp_per_capita"], f"{x} x GDP") for x in (1, 3) if x * eco["gdp_per_capita"] <= grid[-1]]
    ax = plots.plot_evpi(grid, evpi_curve, currency=cur, marks=marks, title="Expected value of perfect information per patient")
    ctx.save(ax, "evpi.png", "EVPI per patient against the willingness to pay")
    ax = plots.plot_convergence({labels[k]: C[:, k] for k in range(len(arms))}, {labels[k]: Q[:, k] for k in range(len(arms))}, currency=cur, title="Convergence of the PSA means")
    ctx.save(ax, "psa_convergence.png", "Running means of each arm's cost and QALYs over the draws: flat ends mean enough draws")
    ctx.csv("ceac.csv", ["wtp", "optimal"] + arms + ["frontier_probability", "evpi_per_patient"],
            [[w, arms[opt[i]]] + list(curves[i]) + [p_opt[i], evpi_curve[i]] for i, w in enumerate(grid)])
    ctx.csv("psa_economics.csv", paths + [f"{a}:cost" for a in arms] + [f"{a}:qalys" for a in arms],
            [list(X[i]) + list(C[i]) + list(Q[i]) for i in range(C.shape[0])])
    return {
        "currency": cur,
        "wtp_per_qaly": wtp,
        "arms": {a: {"cost_mean": float(C[:, k].mean()), "qalys_mean": float(Q[:, k].mean()), "frontier_status": status[k], "icer": icer[k],
                     "icer_against": None if against[k] is None else arms[against[k]], "probability_cost_effective": float(at_wtp[k])}
                 for k, a in enumerate(arms)},
        "optimal_at_wtp": arms[int(np.argmax(nb.mean(axis=0)))],
        "evpi_per_patient": evpi_pp,
        "population_patients_discounted": pop,
        "evpi_population": evpi_pp * pop,
        "evppi": groups,
        "evppi_all_parameters": groups_all,
        "evppi_exceeds_evpi": over,
        "wtp_grid": grid.tolist(),
        "ceac": {a: curves[:, k].tolist() for k, a in enumerate(arms)},
        "ceaf_optimal": [arms[o] for o in opt],
        "ceaf_probability": p_opt.tolist(),
        "evpi_curve": evpi_curve.tolist(),
    }
