"""Named per-arm metrics: grammar, agreement with the summary, and CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes
from oligosim.analysis.metrics import evaluate, evaluate_many, parse_metric
from oligosim.analysis.proportions import proportion_ci
from oligosim.analysis.summary import summarize_arm
from oligosim.analysis.survival import kaplan_meier, rmst
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario


@pytest.fixture(scope="module")
def arms():
    sc = load_scenario("configs/default.toml")
    full = run_scenario(sc, patients=1500, seed=11, keep="all", arms=["systemic_only", "consolidative"])
    lean = run_scenario(sc, patients=1500, seed=11, keep="summary", chunk=400, arms=["systemic_only", "consolidative"])
    return full.arms, lean.arms


@pytest.mark.parametrize(
    "name, kind",
    [
        ("os.median", "median"), ("pfs.rate:24", "rate"), ("dss.rmst:60", "rmst"), ("tox.any", "tox"),
        ("tox.pneumonitis", "tox"), ("treatment_deaths", "treatment_deaths"), ("first_failure.widespread", "first_failure"),
        ("oligo_fraction_first_progression", "oligo_fraction"), ("local_control:12[bed>=90,volume<27.7]", "local_control"),
        ("local_control", "local_control"), ("rt_courses_mean", "rt_courses"), ("estro.repeat_oligoprogression", "estro"),
        ("estro.polymetastatic", "estro"), ("eligible_fraction", "eligible_fraction"),
    ],
)
def test_grammar(name, kind):
    assert parse_metric(name).kind == kind


@pytest.mark.parametrize(
    "name, message",
    [
        ("os.mean", "not understood"), ("os.rate", "not understood"), ("os.rate:-3", "months must be"),
        ("tox.headache", "toxicity type 'headache'"), ("first_failure.local", "failure pattern"),
        ("local_control[dose>3]", "lesion filter"), ("estro.oligo", "ESTRO-EORTC class"), ("", "non-empty"),
    ],
)
def test_grammar_errors_name_the_metric_and_rule(name, message):
    with pytest.raises(ValueError, match=message):
        parse_metric(name)


def test_values_agree_with_the_summary_and_between_keep_modes(arms):
    full, lean = arms
    for name in full:
        s = summarize_arm(full[name])
        a, b = full[name], lean[name]
        med = evaluate(a, "os.median")
        assert med[0] == s["os"]["median_months"] and [med[1], med[2]] == s["os"]["median_ci95"]
        assert evaluate(a, "pfs.rate:24")[0] == s["pfs"]["rate"]["24"]
        assert evaluate(a, "tox.any")[0] == s["toxicity_grade3plus"]["any"]
        assert evaluate(a, "first_failure.widespread")[0] == s["first_failure"]["widespread"]
        for cls, share in s["estro_eortc_first_progression"].items():
            assert evaluate(a, f"estro.{cls}")[0] == pytest.approx(share)
        lc = evaluate(a, "local_control:12")[0]
        assert (math.isnan(lc) and s["lesion_local_control"]["12"] is None) or lc == pytest.approx(s["lesion_local_control"]["12"])
        names = ["os.median", "os.rmst:60", "tox.neutropenia", "treatment_deaths", "local_control[bed>=50]", "eligible_fraction", "oligo_fraction_first_progression"]
        va, vb = evaluate_many(a, names), evaluate_many(b, names)
        for m in names:
            assert np.allclose(va[m], vb[m], equal_nan=True), m


def test_rmst_and_proportion_cis_are_the_library_ones(arms):
    a = arms[0]["consolidative"]
    est, se = rmst(kaplan_meier(a["os"], a["os_event"]), 60.0)
    v, lo, hi = evaluate(a, "os.rmst:60")
    assert v == est and lo == pytest.approx(est - 1.959963984540054 * se) and hi == pytest.approx(est + 1.959963984540054 * se)
    k = int(a.tox[:, codes.TOX_NAMES.index("pneumonitis")].sum())
    assert evaluate(a, "tox.pneumonitis")[1:] == pytest.approx(proportion_ci(k, a.n))


def test_lesion_filters_select_lesions(arms):
    a = arms[0]["consolidative"]
    t, e, bed, vol = a.lc_records
    sel = (bed >= 50) & (vol < 27.7)
    crude = 1 - e[sel].sum() / sel.sum()
    assert evaluate(a, "local_control[bed>=50,volume<27.7]")[0] == pytest.approx(crude)
    assert math.isnan(evaluate(a, "local_control[bed>=1000]")[0])


def test_eligible_fraction_is_patients_over_draws(arms):
    a = arms[0]["systemic_only"]
    assert evaluate(a, "eligible_fraction")[0] == pytest.approx(a.n / a["attempts"].sum())
    assert 0 < evaluate(a, "eligible_fraction")[0] <= 1


def test_mixtures_of_arms_handle_every_metric_kind(arms):
    from oligosim.analysis.metrics import evaluate_mixture

    full = arms[0]
    a, b = full["systemic_only"], full["consolidative"]
    for name in ("eligible_fraction", "estro.repeat_oligoprogression", "oligo_fraction_first_progression", "tox.any", "os.median", "rt_courses_mean"):
        v = evaluate_mixture([a, b], [1.0, 1.0], name)[0]
        va, vb = evaluate(a, name)[0], evaluate(b, name)[0]
        assert min(va, vb) - 1e-9 <= v <= max(va, vb) + 1e-9, name
