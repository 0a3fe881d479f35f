"""Per-arm summaries of simulation Results: the ``summary.json`` contract.

Everything here reads result columns only; nothing calls the engine.
"""

from __future__ import annotations

import numpy as np

from oligosim import __version__, codes
from oligosim.analysis import plausibility
from oligosim.analysis.survival import kaplan_meier, summarize_survival, survival_at
from oligosim.results import ArmResult, Results

LANDMARKS = (12, 24, 36, 60)
#: restricted-mean horizon (months) when the scenario gives none: the default of the scenario
#: key ``simulation.rmst_tau_months`` (a test keeps the two equal)
DEFAULT_RMST_TAU_MONTHS = 36.0
LC_LANDMARKS = (12, 24)
#: key used for a first progression that is not oligometastatic
POLYMETASTATIC = "polymetastatic"


def endpoint(arm: ArmResult, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(time in months, event flag) of endpoint ``name``: os, pfs, wpfs or dss.

    DSS counts deaths from the disease as events; other deaths and treatment deaths censor.
    """
    if name == "dss":
        return arm["os"], arm["death_cause"] == codes.DEATH_DISEASE
    return arm[name], arm[f"{name}_event"]


def lesion_local_control(arm: ArmResult, landmarks=LC_LANDMARKS) -> dict[str, float | None]:
    """Kaplan-Meier local control of irradiated lesions at the landmarks (None if no lesion)."""
    t, e = arm.lc_records[:2]
    if t.size == 0:
        return {str(m): None for m in landmarks}
    km = kaplan_meier(t, e)
    est, _, _ = survival_at(km, np.asarray(landmarks, dtype=float))
    return {str(m): (None if not np.isfinite(v) else float(v)) for m, v in zip(landmarks, np.atleast_1d(est))}


def shares(counts: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Each count as a share of their total (0 when the total is 0), keyed by ``names``."""
    total = max(int(np.sum(counts)), 1)
    return {name: float(c) / total for name, c in zip(names, counts)}


def estro_first_progression(arm: ArmResult) -> dict[str, float]:
    """ESTRO-EORTC class of the first progression, as shares of patients who progressed."""
    return shares(arm.aggregates["estro"], codes.ESTRO_CLASS_NAMES + (POLYMETASTATIC,))


def summarize_arm(arm: ArmResult, rmst_tau_months: float = DEFAULT_RMST_TAU_MONTHS, plans_rt: bool = True) -> dict:
    """The summary.json entry of one arm.

    Each survival endpoint has its median and, next to it, the restricted mean survival time up
    to ``rmst_tau_months`` (months), both with 95 % CIs. ``plans_rt=False`` (a strategy without
    RT) reports lesion local control as null: the few lesions irradiated outside the strategy
    are not the arm's local control.
    """
    agg = arm.aggregates
    n = int(agg["n"])
    tox = {name: float(agg["tox"][k]) / n for k, name in enumerate(codes.TOX_NAMES)}
    tox["any"] = float(agg["tox_any"]) / n
    out = {"label": arm.label, "patients": arm.n}
    for name in ("os", "pfs", "wpfs", "dss"):
        out[name] = summarize_survival(*endpoint(arm, name), landmarks=LANDMARKS, rmst_tau_months=rmst_tau_months)
    out["lesion_local_control"] = lesion_local_control(arm) if plans_rt else {str(m): None for m in LC_LANDMARKS}
    out["toxicity_grade3plus"] = tox
    out["treatment_deaths"] = float(agg["treatment_deaths"]) / n
    out["tumour_fistula"] = float(agg["tumour_fistula"]) / n
    out["first_failure"] = shares(agg["first_failure"], codes.FAILURE_NAMES)
    out["rt_courses_mean"] = float(agg["rt_courses"]) / n
    out["estro_eortc_first_progression"] = estro_first_progression(arm)
    # toxicity outside every published series (the consensus' Table 4): advice, no effect
    out["warnings"] = plausibility.check_arm(out)
    return out


def plans_rt(arm: dict) -> bool:
    """Whether an arm's strategy irradiates: RT in its first course or at a later progression
    (with the line continued, or with the next line: model 8.4)."""
    progression = arm.get("progression", {}) or {}
    return (
        arm.get("rt_timing", "none") != "none"
        or progression.get("local_therapy", "none") != "none"
        or bool(progression.get("local_with_next_line", False))
    )


def rmst_tau(scenario) -> float:
    """The scenario's RMST horizon (months): ``simulation.rmst_tau_months``, or the follow-up
    horizon if that is shorter (no curve extends beyond it)."""
    sim = scenario.data["simulation"]
    return min(float(sim.get("rmst_tau_months", DEFAULT_RMST_TAU_MONTHS)), float(sim["horizon_months"]))


def summarize(results: Results) -> dict:
    """The whole summary.json document."""
    sc = results.scenario
    tau = rmst_tau(sc)
    out = {
        "scenario": sc.name,
        "seed": results.seed,
        "patients_per_arm": results.patients,
        "oligosim_version": __version__,
        "config_sha256": sc.sha256,
        "rmst_tau_months": tau,
        "arms": {name: summarize_arm(arm, tau, plans_rt(sc.data["arms"][name])) for name, arm in results.arms.items()},
    }
    if any(arm.economics is not None for arm in results.arms.values()):
        from oligosim.economics.outcomes import economics_summary

        out["economics"] = economics_summary(results)
    return out


def format_table(summary: dict) -> str:
    """Plain-text tables of the key numbers per arm, for the terminal: survival (median and
    RMST with 95 % CIs), then rates, treatment and toxicity, then the first failure."""
    # two decimals: with thousands of patients a CI is a few days wide (0.1 month = 3 days)
    f = lambda x: "NR" if x is None else f"{x:.2f}"  # noqa: E731

    def med(d):
        m = d["median_months"]
        if m is None:
            return "not reached"
        return f"{f(m)} ({f(d['median_ci95'][0])}-{f(d['median_ci95'][1])})"

    def rmst(d):
        m = d.get("rmst_months")
        if m is None:
            return "-"
        return f"{f(m)} ({f(d['rmst_ci95'][0])}-{f(d['rmst_ci95'][1])})"

    def pct(x):
        return "   -" if x is None else f"{100 * x:4.0f}%"

    tau = summary.get("rmst_tau_months")
    rm = f"RMST{tau:g}m" if tau is not None else "RMST"
    head = f"{'arm':<18} " + " ".join(f"{f'{x} {ep} (95% CI)':>22}" for ep in ("OS", "PFS") for x in ("median", rm))
    lines = [head, "-" * len(head)]
    for name, a in summary["arms"].items():
        lines.append(f"{name:<18} " + " ".join(f"{g(a[ep]):>22}" for ep in ("os", "pfs") for g in (med, rmst)))
    head2 = f"{'arm':<18} {'OS 24m':>7} {'PFS 24m':>7} {'RT/pt':>6} {'G3+ any':>7} {'tx death':>8}"
    lines += ["", head2, "-" * len(head2)]
    for name, a in summary["arms"].items():
        lines.append(
            f"{name:<18} {pct(a['os']['rate']['24']):>7} {pct(a['pfs']['rate']['24']):>7} {a['rt_courses_mean']:6.2f} "
            f"{pct(a['toxicity_grade3plus']['any']):>7} {100 * a['treatment_deaths']:7.1f}%"
        )
    w = max(len(k) for k in codes.FAILURE_NAMES) + 1
    ff = ["", "first failure      " + " ".join(f"{k:>{w}}" for k in codes.FAILURE_NAMES)]
    for name, a in summary["arms"].items():
        ff.append(f"{name:<18} " + " ".join(f"{100 * a['first_failure'][k]:{w - 1}.1f}%" for k in codes.FAILURE_NAMES))
    if tau is not None:
        ff += ["", f"RMST{tau:g}m: restricted mean survival time up to {tau:g} months (area under the Kaplan-Meier curve)"]
    if summary.get("economics"):
        from oligosim.economics.outcomes import format_economics

        ff += ["", format_economics(summary["economics"])]
    return "\n".join(lines + ff)
