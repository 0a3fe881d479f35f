"""The figures and the table of a page, drawn from an :class:`oligosim.Result` with the
project's own plotting functions (:mod:`oligosim.plots`), as ``oligosim run`` draws them.

Every figure carries its Monte Carlo error: Kaplan-Meier curves with their pointwise 95 %
bands and numbers at risk, toxicity bars with 95 % Wilson intervals; the pattern of first
failure is a stacked bar, whose shares appear with their CIs in the page's table.
"""

from __future__ import annotations

import base64
import io
import math

from oligosim.plots.arms import plot_failure_patterns, plot_toxicity
from oligosim.plots.km import plot_km

#: resolution of the page figures: legible at their size, and each costs a fraction of a second
#: to draw on a loaded 2-core machine (four of them take as long as the model run)
DPI = 80
#: x axis of the Kaplan-Meier curves (months): the lessons' RMST horizon
KM_MONTHS = 60.0
ENDPOINT_TITLES = {"os": "Overall survival", "pfs": "Progression-free survival"}
#: toxicity types a page shows: those the lessons discuss, and "any"
TOX_TYPES = ("pneumonitis", "esophagitis", "esophageal_fistula", "neutropenia", "any")


def _png(ax) -> str:
    """The axes' figure as a base64 PNG (tight box: keeps the at-risk table and legends)."""
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _labels(result) -> dict:
    """Arm name -> its label in the scenario (the name when it has none)."""
    arms = result.scenario.data["arms"]
    return {a: (arms[a].get("label") or a) for a in result.arms}


def km_png(result, endpoint: str) -> str:
    """Kaplan-Meier curves of ``endpoint`` (``os`` or ``pfs``) per arm with 95 % bands and
    numbers at risk, as base64 PNG."""
    from oligosim.analysis.summary import endpoint as endpoint_of
    from oligosim.analysis.survival import kaplan_meier

    labels = _labels(result)
    curves = {labels[name]: kaplan_meier(*endpoint_of(arm, endpoint)) for name, arm in result.raw.arms.items()}
    horizon = min(KM_MONTHS, float(result.scenario.data["simulation"]["horizon_months"]))
    ax = plot_km(curves, title=ENDPOINT_TITLES[endpoint], max_months=horizon)
    ax.figure.set_size_inches(7.0, 4.6)
    return _png(ax)


def _summary_arms(result) -> dict:
    labels = _labels(result)
    doc = result.summary_json()["arms"]
    return {labels[a]: doc[a] for a in result.arms}


def failure_png(result) -> str:
    """Pattern of first failure per arm (100 % stacked bars), as base64 PNG."""
    return _png(plot_failure_patterns(_summary_arms(result), title="Pattern of first failure"))


def toxicity_png(result) -> str:
    """Grade >= 3 toxicity per arm with 95 % Wilson intervals, as base64 PNG."""
    return _png(plot_toxicity(_summary_arms(result), types=list(TOX_TYPES), title="Grade >= 3 toxicity (95% CI)"))


def figure_png(result, kind: str) -> str:
    """One of the page figures (``km_os``, ``km_pfs``, ``failure``, ``toxicity``)."""
    if kind.startswith("km_"):
        return km_png(result, kind[3:])
    if kind == "failure":
        return failure_png(result)
    if kind == "toxicity":
        return toxicity_png(result)
    raise ValueError(f"figure {kind!r}: must be km_os, km_pfs, failure or toxicity")


def _fmt(x: float, unit: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if unit == "fraction":
        return f"{100 * x:.1f}%"
    if unit == "currency":
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"


def metrics_table(result, metrics) -> list[list[str]]:
    """Rows ``[metric (unit), arm 1, arm 2, ...]``, each cell "value (95% CI low-high)".

    Missing values (a median not reached, local control in an arm without RT) read "n/a".
    """
    df = result.summary(list(metrics))
    labels = _labels(result)
    rows = [["Metric", *(labels[a] for a in result.arms)]]
    for metric in metrics:
        sub = df[df.metric == metric].set_index("arm")
        unit = str(sub["unit"].iloc[0])
        shown_unit = "%" if unit == "fraction" else unit
        row = [f"{metric} ({shown_unit})"]
        for a in result.arms:
            v, lo, hi = (float(sub.loc[a, c]) for c in ("value", "ci95_low", "ci95_high"))
            row.append(_fmt(v, unit) if math.isnan(v) or math.isnan(lo) else f"{_fmt(v, unit)} ({_fmt(lo, unit)} to {_fmt(hi, unit)})")
        rows.append(row)
    return rows
