"""Per-arm summaries of simulation Results: the ``summary.json`` contract.

Everything here reads result columns only; nothing calls the engine.
"""

from __future__ import annotations

import numpy as np

from oligosim import __version__, codes
from oligosim.analysis.survival import kaplan_meier, summarize_survival, survival_at
from oligosim.results import ArmResult, Results

LANDMARKS = (12, 24, 36, 60)
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


def summarize_arm(arm: ArmResult) -> dict:
    """The summary.json entry of one arm."""
    agg = arm.aggregates
    n = int(agg["n"])
    tox = {name: float(agg["tox"][k]) / n for k, name in enumerate(codes.TOX_NAMES)}
    tox["any"] = float(agg["tox_any"]) / n
    out = {"label": arm.label, "patients": arm.n}
    for name in ("os", "pfs", "wpfs", "dss"):
        out[name] = summarize_survival(*endpoint(arm, name), landmarks=LANDMARKS)
    out["lesion_local_control"] = lesion_local_control(arm)
    out["toxicity_grade3plus"] = tox
    out["treatment_deaths"] = float(agg["treatment_deaths"]) / n
    out["first_failure"] = shares(agg["first_failure"], codes.FAILURE_NAMES)
    out["rt_courses_mean"] = float(agg["rt_courses"]) / n
    out["estro_eortc_first_progression"] = estro_first_progression(arm)
    return out


def summarize(results: Results) -> dict:
    """The whole summary.json document."""
    sc = results.scenario
    return {
        "scenario": sc.name,
        "seed": results.seed,
        "patients_per_arm": results.patients,
        "oligosim_version": __version__,
        "config_sha256": sc.sha256,
        "arms": {name: summarize_arm(arm) for name, arm in results.arms.items()},
    }


def format_table(summary: dict) -> str:
    """A plain-text table of the key numbers per arm, for the terminal."""

    def med(d):
        m = d["median_months"]
        lo, hi = d["median_ci95"]
        if m is None:
            return "not reached"
        f = lambda x: "NR" if x is None else f"{x:.1f}"  # noqa: E731
        return f"{m:.1f} ({f(lo)}-{f(hi)})"

    def pct(x):
        return "   -" if x is None else f"{100 * x:4.0f}%"

    head = f"{'arm':<18} {'median OS (95% CI)':>20} {'median PFS (95% CI)':>20} {'OS 24m':>7} {'PFS 24m':>7} {'RT/pt':>6} {'G3+ any':>7} {'tx death':>8}"
    lines = [head, "-" * len(head)]
    for name, a in summary["arms"].items():
        lines.append(
            f"{name:<18} {med(a['os']):>20} {med(a['pfs']):>20} {pct(a['os']['rate']['24']):>7} "
            f"{pct(a['pfs']['rate']['24']):>7} {a['rt_courses_mean']:6.2f} {pct(a['toxicity_grade3plus']['any']):>7} "
            f"{100 * a['treatment_deaths']:7.1f}%"
        )
    w = max(len(k) for k in codes.FAILURE_NAMES) + 1
    ff = ["", "first failure      " + " ".join(f"{k:>{w}}" for k in codes.FAILURE_NAMES)]
    for name, a in summary["arms"].items():
        ff.append(f"{name:<18} " + " ".join(f"{100 * a['first_failure'][k]:{w - 1}.1f}%" for k in codes.FAILURE_NAMES))
    return "\n".join(lines + ff)
