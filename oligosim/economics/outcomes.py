"""Per-arm economic results with Monte Carlo CIs, the incremental table and net benefit:
the ``economics`` block of summary.json and its terminal table."""

from __future__ import annotations

import numpy as np

from oligosim.economics.incremental import frontier, net_monetary_benefit
from oligosim.economics.inputs import CATEGORIES

_Z95 = 1.959963984540054


def mean_ci(x: np.ndarray) -> tuple[float, list[float]]:
    """Mean of ``x`` and its normal-approximation 95 % Monte Carlo CI (patients are i.i.d.)."""
    m = float(np.mean(x))
    se = float(np.std(x, ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return m, [m - _Z95 * se, m + _Z95 * se]


def arm_economics(ae) -> dict:
    """Mean cost, life-years and QALYs of one arm (discounted, with 95 % CIs; undiscounted
    means) and the discounted cost by category."""
    c = ae.columns
    out = {}
    for key, col in (("cost", "cost"), ("life_years", "ly"), ("qalys", "qaly")):
        m, ci = mean_ci(c[col])
        out[key] = m
        out[f"{key}_ci95"] = ci
        out[f"{key}_undiscounted"] = float(np.mean(c[f"{col}_undiscounted"]))
    sums = ae.categories.sum(axis=0, dtype=np.float64) / max(ae.n, 1)
    out["cost_by_category"] = {name: float(v) for name, v in zip(CATEGORIES, sums)}
    return out


def economics_summary(results) -> dict | None:
    """The ``economics`` block of summary.json, or None when the run has no economics.

    The first arm is the reference of the incremental results; differences have paired CIs
    (arm ``i``'s patient ``j`` is the reference's patient ``j``).
    """
    arms = {n: a for n, a in results.arms.items() if a.economics is not None}
    if not arms or len(arms) != len(results.arms):
        return None
    eco = results.scenario.data["economics"]
    wtp = float(eco["wtp_per_qaly"])
    gdp = float(eco["gdp_per_capita"])
    per_arm = {n: arm_economics(a.economics) for n, a in arms.items()}
    names = list(arms)
    costs = np.array([per_arm[n]["cost"] for n in names])
    qalys = np.array([per_arm[n]["qalys"] for n in names])
    status, icer, against = frontier(costs, qalys)
    nmb = net_monetary_benefit(costs, qalys, wtp)
    ref = names[0]
    rc, rq = arms[ref].economics.columns["cost"], arms[ref].economics.columns["qaly"]
    for k, n in enumerate(names):
        d = per_arm[n]
        d["nmb"] = float(nmb[k])
        d["frontier_status"] = status[k]
        d["icer_vs_frontier"] = icer[k]
        d["icer_against"] = None if against[k] is None else names[against[k]]
        if n != ref:
            ce, qe = arms[n].economics.columns["cost"], arms[n].economics.columns["qaly"]
            dc, dcci = mean_ci(ce - rc)
            dq, dqci = mean_ci(qe - rq)
            dn, dnci = mean_ci(wtp * (qe - rq) - (ce - rc))
            d["vs_reference"] = {
                "cost": dc, "cost_ci95": dcci, "qalys": dq, "qalys_ci95": dqci,
                "icer": None if dq == 0 else dc / dq, "nmb": dn, "nmb_ci95": dnci,
            }
    return {
        "currency": eco["currency"],
        "price_year": eco["price_year"],
        "perspective": eco["perspective"],
        "discount_costs_per_year": eco["discount_costs_per_year"],
        "discount_effects_per_year": eco["discount_effects_per_year"],
        "wtp_per_qaly": wtp,
        "wtp_gdp_multiple": wtp / gdp,
        "reference_arm": ref,
        "optimal_arm_at_wtp": names[int(np.argmax(nmb))],
        # the range China's guidelines name (1-3 x GDP per capita), whatever the WTP chosen
        "optimal_arm_by_gdp_multiple": {str(x): names[int(np.argmax(net_monetary_benefit(costs, qalys, x * gdp)))] for x in (1, 2, 3)},
        "arms": per_arm,
    }


def format_economics(eco: dict) -> str:
    """Terminal table of the ``economics`` block."""
    cur = eco["currency"]
    head = f"{'arm':<18} {'cost ' + cur:>12} {'LY':>6} {'QALY':>6} {'status':>21} {'ICER ' + cur + '/QALY':>16} {'NMB':>12}"
    lines = [
        f"cost-utility ({eco['perspective']}, {cur} {eco['price_year']}; discounted {100 * eco['discount_costs_per_year']:g}% costs, "
        f"{100 * eco['discount_effects_per_year']:g}% effects; WTP {eco['wtp_per_qaly']:,.0f} = {eco['wtp_gdp_multiple']:.2g} x GDP per capita)",
        head,
        "-" * len(head),
    ]
    for name, a in eco["arms"].items():
        icer = a["icer_vs_frontier"]
        txt = "-" if icer is None else f"{icer:,.0f}"
        lines.append(f"{name:<18} {a['cost']:12,.0f} {a['life_years']:6.2f} {a['qalys']:6.3f} {a['frontier_status']:>21} {txt:>16} {a['nmb']:12,.0f}")
    by = eco.get("optimal_arm_by_gdp_multiple", {})
    lines.append(
        f"optimal at the WTP: {eco['optimal_arm_at_wtp']}"
        + "".join(f"; at {x} x GDP per capita: {a}" for x, a in by.items())
        + "; ICERs against the previous strategy on the efficient frontier"
    )
    return "\n".join(lines)
