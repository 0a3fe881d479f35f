"""Figures that do not mislead a reader (issue 21, item 7): coinciding Kaplan-Meier curves stay
visible and are named, the threshold plot draws its target where it is, a sweep of two points is
not drawn as a curve with a threshold, and axes name outcomes in words."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from oligosim.analysis.metrics import metric_title
from oligosim.analysis.survival import kaplan_meier
from oligosim.plots.km import COINCIDE_GID, plot_km
from oligosim.plots.sensitivity import plot_threshold


def _curve(seed):
    rng = np.random.default_rng(seed)
    return kaplan_meier(rng.exponential(12.0, 200), rng.random(200) < 0.8)


def test_coinciding_km_curves_are_dashed_and_named():
    a, b = _curve(1), _curve(2)
    ax = plot_km({"Systemic alone": a, "RT at progression": a, "Consolidative": b})
    styles = [line.get_linestyle() for line in ax.lines]
    assert styles[0] != styles[1] and styles[0] != styles[2]
    notes = [t.get_text() for t in ax.texts if t.get_gid() == COINCIDE_GID]
    assert notes == ["RT at progression (dashed) coincides with Systemic alone"]
    # one CI band per distinct curve
    assert len(ax.collections) == 2


def test_nearly_coinciding_km_curves_are_dashed_and_named_with_their_gap():
    """One patient's difference in 1,000 (an urgent course's schedule, say) must not hide a curve
    behind another; the note gives the largest gap. The fifth arm does not cycle back to solid."""
    rng = np.random.default_rng(3)
    t, e = rng.exponential(12.0, 1000), rng.random(1000) < 0.8
    t2 = t.copy()
    t2[0] *= 0.9
    a, b = kaplan_meier(t, e), kaplan_meier(t2, e)
    others = {f"arm {k}": _curve(10 + k) for k in range(3)}
    ax = plot_km({"Systemic alone": a, **others, "RT at progression": b})
    notes = [t.get_text() for t in ax.texts if t.get_gid() == COINCIDE_GID]
    assert len(notes) == 1 and notes[0].startswith("RT at progression (dashed) nearly coincides with Systemic alone (at most 0.1 points apart)"), notes
    # five distinct arms: the fifth is not solid again (it would hide the first where they meet)
    ax = plot_km({f"arm {k}": _curve(20 + k) for k in range(5)})
    assert ax.lines[4].get_linestyle() != "-"
    # curves further apart than NEAR_GAP are distinct
    t3 = t.copy()
    t3[:20] *= 0.5
    ax = plot_km({"a": a, "b": kaplan_meier(t3, e)})
    assert not [t for t in ax.texts if t.get_gid() == COINCIDE_GID]


def test_distinct_km_curves_have_no_note():
    ax = plot_km({"a": _curve(1), "b": _curve(2)})
    assert not [t for t in ax.texts if t.get_gid() == COINCIDE_GID]


def test_threshold_target_line_is_at_the_target():
    x = np.array([10.0, 20.0, 30.0, 40.0])
    y = np.array([1.0, 2.5, 3.5, 5.0])
    ax = plot_threshold(x, y, y - 0.5, y + 0.5, threshold_x=25.0, target=3.0, xlabel="BED10 (Gy)", ylabel="gain")
    horizontal = [line for line in ax.lines if np.allclose(line.get_ydata(), 3.0) and len(set(line.get_xdata())) == 1 or line.get_label() == "Target: 3"]
    assert horizontal and all(np.allclose(h.get_ydata(), 3.0) for h in horizontal)
    assert any(line.get_label() == "Threshold: 25" for line in ax.lines)


def test_two_point_sweep_is_not_a_curve_with_a_threshold():
    x = np.array([10.0, 40.0])
    y = np.array([1.0, 5.0])
    ax = plot_threshold(x, y, y - 0.5, y + 0.5, threshold_x=20.0, target=3.0, xlabel="x", ylabel="y")
    est = ax.lines[0]
    assert est.get_linestyle() == "None"  # points, no connecting line
    assert not any(str(line.get_label()).startswith("Threshold") for line in ax.lines)
    assert any("not a curve" in t.get_text() for t in ax.texts)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("os.rmst:60", "restricted mean OS to 60 months (months)"),
        ("pfs.median", "median PFS (months)"),
        ("oligo_fraction_first_progression", "oligometastatic share of first progressions"),
        ("local_control:12[bed>=90]", "lesion local control at 12 months, bed >= 90"),
        ("tox.esophagitis", "grade ≥3 esophagitis"),
    ],
)
def test_metric_titles_are_words(name, title):
    assert metric_title(name) == title
