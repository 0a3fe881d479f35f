"""The results of scoring the targets: the ``targets.json`` document and the text table."""

from __future__ import annotations

import os
from typing import Sequence

from oligosim.calibration.scoring import TargetResult, goodness_of_fit
from oligosim.calibration.target_map import TargetMap

__all__ = ["results_json", "format_results_table"]


def results_json(tmap: TargetMap, results: Sequence[TargetResult], *, patients: int | None, seed: int | None) -> dict:
    """The ``targets.json`` document (strict JSON: no nan)."""
    from oligosim import __version__

    def common(values):
        vals = {v for v in values}
        return vals.pop() if len(vals) == 1 else None

    return {
        "targets": [r.to_json() for r in results],
        "unmapped": list(tmap.unmapped),
        "pending": dict(tmap.pending),
        "summary": goodness_of_fit(results),
        "seed": seed if seed is not None else common(r.seed for r in results),
        "patients": patients if patients is not None else common(r.patients for r in results),
        "oligosim_version": __version__,
        "map": os.fspath(tmap.path),
    }


def _fmt(x, unit: str) -> str:
    if x is None:
        return "-"
    if unit in ("fraction", "ratio"):  # shares and hazard ratios: 3 decimals
        return f"{x:.3f}"
    return f"{x:.1f}"


def _fmt_model(r: TargetResult) -> str:
    if r.model is None:
        return "NR" if r.metric.endswith(".median") else "undef"
    return _fmt(r.model, r.unit)


def format_results_table(results: Sequence[TargetResult]) -> str:
    """The results as a fixed-width text table."""
    header = ("id", "metric", "target", "model", "model 95% CI", "rel err", "within")
    rows = []
    for r in results:
        lo, hi = r.model_ci95
        ci = f"{_fmt(lo, r.unit)}-{_fmt(hi, r.unit)}" if (lo is not None or hi is not None) else "-"
        rel = f"{100 * r.rel_error:+.0f}%" if r.rel_error is not None else "-"
        tgt = _fmt(r.target, r.unit) + (" (>=)" if r.tolerance["bound"] == "lower" else " (<=)" if r.tolerance["bound"] == "upper" else "")
        rows.append((r.id, r.metric, tgt, _fmt_model(r), ci, rel, "yes" if r.within_tolerance else "no"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("-" * len(lines[0]))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)
