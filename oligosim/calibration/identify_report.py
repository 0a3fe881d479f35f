"""The outputs of ``oligosim calibrate --method sensitivity``: tables, a heat map and a report
saying which targets inform which parameter (:mod:`oligosim.calibration.identify`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oligosim.analysis.survival import json_number
from oligosim.calibration.identify import COLLINEAR_COS, SHOWN_STEP, WEAK_SHARE, Sensitivity
from oligosim.io.report import Report, fmt

__all__ = ["write_sensitivity", "plot_sensitivity", "sensitivity_report"]

#: the heat map's colour scale ends at this many tolerance widths
COLOUR_LIMIT = 1.0


def _short(label: str, n: int = 28) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def plot_sensitivity(s: Sensitivity):
    """Heat map of ``SHOWN_STEP * J`` (targets down, parameters across), undefined cells grey."""
    from matplotlib.figure import Figure

    spec = s.spec
    ids = [e.id for e in spec.tmap.entries]
    M = SHOWN_STEP * s.jac
    n, d = M.shape
    fig = Figure(figsize=(max(6.0, 0.42 * d + 3.5), max(5.0, 0.2 * n + 2.2)))
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="0.8")
    im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, vmin=-COLOUR_LIMIT, vmax=COLOUR_LIMIT, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(d), [_short(p.label or p.path, 22) for p in spec.parameters], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), ids, fontsize=6)
    ax.set_title(f"Change of each target's error (tolerance widths) for +{SHOWN_STEP:g} of a parameter's range", fontsize=9)
    cb = fig.colorbar(im, ax=ax, shrink=0.6, extend="both")
    cb.set_label(f"error change; colour capped at ±{COLOUR_LIMIT:g}", fontsize=8)
    fig.tight_layout()
    return fig


def _parameter_rows(s: Sensitivity) -> list[dict]:
    spec = s.spec
    ids = [e.id for e in spec.tmap.entries]
    rms, weak, bound = s.rms_effect(), s.weak(), s.at_bound()
    rows = []
    for j, p in enumerate(spec.parameters):
        rows.append(
            {
                "path": p.path,
                "label": p.label or p.path,
                "default": p.default,
                "low": p.low,
                "high": p.high,
                "unit_position": float(s.z0[j]),
                "at_prior_bound": bool(bound[j]),
                "rms_effect": float(rms[j]),
                "weakly_informed": bool(weak[j]),
                "informed_by": [{"target": ids[i], "change": v} for i, v in s.informing(j)],
            }
        )
    return rows


def sensitivity_report(s: Sensitivity, files: list[str]) -> Report:
    """The report: method, per-parameter table, trade-offs, free directions, limits."""
    spec = s.spec
    ids = [e.id for e in spec.tmap.entries]
    rows = _parameter_rows(s)
    rep = Report(f"{spec.title}: which targets inform which parameter")
    rep.heading("Method")
    rep.paragraph(
        f"At the parameters' current defaults, each of the {spec.dim} fitted parameters of {spec.path.name} was moved alone by "
        f"±{s.step:g} of its prior range on its search scale (one-sided at a bound), on common random numbers "
        f"({spec.patients} virtual patients per study arm, seed {spec.seed}), and the error of each of the {len(ids)} mapped targets "
        "was read in tolerance widths (the calibration objective's e_i). The tables give the change of an error for a step of "
        f"{SHOWN_STEP:g} of the range (a central difference scaled to that step). Weighted by the objective's weights, the "
        "sensitivities give the local curvature of the objective (J'WJ): what it says about which parameters the targets "
        "pin down is below. It is local (one point, one step) and not a profile: a parameter that looks free here may be "
        "pinned further away. PFS medians are read at restaging scans, so a smaller step can read 0."
    )
    rep.figure("sensitivity.png", f"Change of each target's error (tolerance widths, colour capped at ±{COLOUR_LIMIT:g}) for +{SHOWN_STEP:g} of each parameter's range; grey: undefined")
    rep.heading("Parameters")
    rep.paragraph(
        f"Effect: the weighted root-mean-square change of the targets' errors for a step of {SHOWN_STEP:g} of the range. "
        f"Weakly informed: an effect below {WEAK_SHARE:.0%} of the largest parameter's. At a bound: the default lies within 1% of "
        "an end of the prior range. Informed by: the three targets whose weighted errors move most, with the change."
    )
    rep.table(
        ["parameter", "default", "range", "position", "effect", "weakly informed", "at a bound", "informed by"],
        [
            [
                r["label"],
                fmt(r["default"], 4),
                f"[{r['low']:g}, {r['high']:g}]",
                f"{r['unit_position']:.2f}",
                fmt(r["rms_effect"], 3),
                "yes" if r["weakly_informed"] else "",
                "**yes**" if r["at_prior_bound"] else "",
                "; ".join(f"{t['target']} {t['change']:+.2f}" for t in r["informed_by"]) or "none",
            ]
            for r in rows
        ],
    )
    pairs = s.collinear()
    rep.heading("Parameters that trade off")
    if pairs:
        rep.paragraph(
            f"Pairs whose weighted sensitivity columns are nearly parallel (|cos| > {COLLINEAR_COS:g}): near the defaults the "
            "targets inform only a combination of the two (with cos > 0, raising one and lowering the other leaves the errors "
            "almost unchanged)."
        )
        rep.table(["parameter", "parameter", "cos"], [[spec.parameters[j].label or spec.parameters[j].path, spec.parameters[k].label or spec.parameters[k].path, f"{c:+.3f}"] for j, k, c in pairs])
    else:
        rep.paragraph(f"No pair of parameters has weighted sensitivity columns with |cos| > {COLLINEAR_COS:g}.")
    free = s.free_directions()
    F = s.information
    ev = np.linalg.eigvalsh(F)
    cond = float(ev.max() / ev.min()) if ev.size and ev.min() > 0 else float("inf")
    rep.heading("Combinations the targets leave free")
    rep.paragraph(
        f"Eigenvalues of the weighted curvature J'WJ/sum(w) span {float(ev.min()):.3g} to {float(ev.max()):.3g} "
        f"(condition number {cond:.2g}). Directions with an eigenvalue below 0.001 of the largest are combinations of "
        "parameters that change no weighted error by more than a few hundredths of a tolerance width over the whole prior "
        "range; their largest loadings are listed."
    )
    if free:
        rep.table(
            ["eigenvalue", "largest loadings"],
            [[fmt(val, 3), "; ".join(f"{spec.parameters[k].label or spec.parameters[k].path} {vec[k]:+.2f}" for k in np.argsort(-np.abs(vec))[:4])] for val, vec in free],
        )
    else:
        rep.paragraph("None: every direction is constrained at this point.")
    rep.heading("Files")
    rep.bullets(files)
    rep.paragraph(f"Reproduce: oligosim calibrate {spec.path} --targets {spec.targets_path} --method sensitivity --step {s.step:g}" + (" --quick" if spec.quick else ""))
    return rep


def write_sensitivity(s: Sensitivity, out: Path) -> list[str]:
    """Write the sensitivity outputs into ``out`` (atomically); the names written."""
    from oligosim.io.files import atomic_directory, write_csv, write_json
    from oligosim.plots.canvas import save_figure

    spec = s.spec
    ids = [e.id for e in spec.tmap.entries]
    rows = _parameter_rows(s)
    files: list[str] = []
    with atomic_directory(Path(out)) as tmp:
        write_csv(
            tmp / "sensitivity.csv",
            ["target", "metric", "weight", "error_at_defaults"] + [p.path for p in spec.parameters],
            [
                [ids[i], spec.tmap.entries[i].metric, float(s.weights[i]), json_number(s.e0[i])] + [json_number(SHOWN_STEP * s.jac[i, j]) for j in range(spec.dim)]
                for i in range(len(ids))
            ],
        )
        files.append(f"sensitivity.csv: change of each target's error (tolerance widths) for +{SHOWN_STEP:g} of each parameter's range")
        write_csv(
            tmp / "identifiability.csv",
            ["path", "default", "low", "high", "unit_position", "at_prior_bound", "rms_effect", "weakly_informed", "informed_by"],
            [[r["path"], r["default"], r["low"], r["high"], r["unit_position"], int(r["at_prior_bound"]), r["rms_effect"], int(r["weakly_informed"]), "; ".join(f"{t['target']} {t['change']:+.3f}" for t in r["informed_by"])] for r in rows],
        )
        files.append("identifiability.csv: per parameter, its effect, whether it is weakly informed or at a prior bound, the targets informing it")
        write_json(
            tmp / "sensitivity.json",
            {
                "config": spec.to_json(),
                "step": s.step,
                "shown_step": SHOWN_STEP,
                "targets": ids,
                "weights": s.weights.tolist(),
                "error_at_defaults": [json_number(x) for x in s.e0],
                "parameters": rows,
                "jacobian": [[json_number(x) for x in row] for row in s.jac],
                "collinear": [{"a": spec.parameters[j].path, "b": spec.parameters[k].path, "cos": c} for j, k, c in s.collinear()],
                "free_directions": [{"eigenvalue": v, "vector": vec.tolist()} for v, vec in s.free_directions()],
            },
        )
        files.append("sensitivity.json: all of the above and the raw sensitivities")
        save_figure(plot_sensitivity(s), tmp / "sensitivity.png")
        files.append("sensitivity.png: the sensitivities as a heat map")
        files.append("report.md, report.html: this report")
        sensitivity_report(s, files).write(tmp)
        names = sorted(p.name for p in tmp.iterdir())
    return names
