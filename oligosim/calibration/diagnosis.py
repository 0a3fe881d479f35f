"""Why targets are missed: a diagnosis of each target outside tolerance after a calibration."""

from __future__ import annotations

import math

import numpy as np

from oligosim.analysis.survival import json_number
from oligosim.calibration import CalibrationResult
from oligosim.calibration.evaluation import target_weight
from oligosim.io.report import fmt

__all__ = ["diagnose", "diagnosis_text"]


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


def diagnosis_text(d: dict, result: CalibrationResult) -> str:
    unit = " months" if d["unit"] == "months" else ""

    def v(x):
        return "undefined" if x is None else (f"{x:.3g}" if d["unit"] not in ("fraction", "ratio") else f"{x:.3f}")

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
