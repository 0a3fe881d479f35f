"""Local therapy together with the next line at an oligometastatic progression (model 8.4 step 5,
``progression.local_with_next_line``): statement 12's "systemic therapy with or without local
therapy" after a rapid progression. The reference engine is held to the same rule by the
same-seed identity test and two mutations in tests/test_cross_engine.py (case
``local_with_next_line``)."""

from __future__ import annotations

import numpy as np
import pytest

from oligosim import codes, simulate

from conftest import PATIENT_FACTORS_OFF

N = 3000
SEED = 5


def _columns_equal(a, b):
    for key in a.columns:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), key


@pytest.fixture(scope="module")
def runs(default_scenario):
    """The default scenario's systemic arm (no local therapy at progression) and its arm that
    treats every oligometastatic progression with the line continued, each without and with the
    switch."""
    # the patient factors off (the shipped defaults, since the v2 fit, decline the ECOG at
    # progression and give later lines and local therapy only at ECOG <= 1): every patient is fit
    base = default_scenario.with_values({"arms.at_progression.progression.local_therapy": "oligo",
                                         "arms.at_progression.progression.max_courses": 20, **PATIENT_FACTORS_OFF})
    on = base.with_values({f"arms.{a}.progression.local_with_next_line": True for a in ("systemic_only", "at_progression")})
    arms = ["systemic_only", "at_progression"]
    return (simulate.run_scenario(base, patients=N, seed=SEED, arms=arms, events=True),
            simulate.run_scenario(on, patients=N, seed=SEED, arms=arms, events=True))


def _first(arm, i, code, after=-1.0):
    m = arm["ev_n"][i]
    c, t = arm.ev_code[i, :m], arm.ev_time[i, :m]
    hit = np.flatnonzero((c == code) & (t > after))
    return t[hit[0]] if hit.size else np.inf


def _rt_within_a_month(arm, i):
    t = arm["pfs"][i]
    return _first(arm, i, codes.EV_RT_START, after=t - 1e-9) < t + 1.0


def test_oligoprogression_gets_the_next_line_and_local_therapy(runs):
    """Systemic arm with the switch: at an oligometastatic first progression the second line starts
    at once and an RT course follows after the RT delay; up to then every patient is the same,
    and without the switch almost no one has RT then (urgent courses only)."""
    off, on = runs[0].arms["systemic_only"], runs[1].arms["systemic_only"]
    assert np.array_equal(off["pfs"], on["pfs"]) and np.array_equal(off["estro_first"], on["estro_first"])
    oligo = np.flatnonzero(on["pfs_event"] & (on["estro_first"] >= 0) & (on["estro_first"] != codes.NOT_OLIGO - 1))
    assert oligo.size > 500
    both = 0
    for i in oligo:
        t = on["pfs"][i]
        assert _first(off, i, codes.EV_LINE_START, after=t - 1e-9) == _first(on, i, codes.EV_LINE_START, after=t - 1e-9)
        if _first(on, i, codes.EV_LINE_START, after=t - 1e-9) == pytest.approx(t, abs=1e-9) and _rt_within_a_month(on, i):
            both += 1
    without = sum(_rt_within_a_month(off, i) for i in oligo)
    # fit for the line and for local therapy, alive at the course: nearly all
    assert both > 0.9 * oligo.size
    assert without < 0.05 * oligo.size
    assert on["local_courses"].sum() > off["local_courses"].sum() + 0.9 * oligo.size


def test_widespread_progressions_get_no_local_therapy(runs):
    """A widespread first progression is not treated locally: with or without the switch, the
    same RT (urgent courses only) in the month after it."""
    off, on = runs[0].arms["systemic_only"], runs[1].arms["systemic_only"]
    wide = np.flatnonzero(on["pfs_event"] & (on["estro_first"] == codes.NOT_OLIGO - 1))
    assert wide.size > 200
    for i in wide:
        t = on["pfs"][i]
        assert _first(off, i, codes.EV_RT_START, after=t - 1e-9) == _first(on, i, codes.EV_RT_START, after=t - 1e-9), i


def test_an_arm_that_treats_every_oligoprogression_is_unchanged(runs):
    """Every oligometastatic progression already gets local therapy with the line continued, so
    the switch changes nothing (common random numbers)."""
    _columns_equal(runs[0].arms["at_progression"], runs[1].arms["at_progression"])


def test_the_arm_counts_as_one_that_irradiates(default_scenario, runs):
    """Summaries report the lesion local control of an arm whose RT comes only with the next line
    (``analysis.summary.plans_rt``), not the missing value of an arm without RT."""
    from oligosim.analysis.summary import plans_rt, summarize

    arm = default_scenario.data["arms"]["systemic_only"]
    assert not plans_rt(arm)
    assert plans_rt({**arm, "progression": {**arm["progression"], "local_with_next_line": True}})
    off, on = (summarize(r)["arms"]["systemic_only"]["lesion_local_control"] for r in runs)
    assert all(v is None for v in off.values())
    assert all(v is not None and 0.0 < v <= 1.0 for v in on.values())
