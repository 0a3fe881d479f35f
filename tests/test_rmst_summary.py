"""The restricted mean survival time reported next to every median (summary.json, the table).

Analytic check: exponential times with rate lambda, administratively censored at C >= tau, have
RMST(tau) = (1 - exp(-lambda tau)) / lambda. The estimate must lie within 4 of its own
(Greenwood-type) standard errors of that value, and across independent replicates the 95% CI
must cover it about 95% of the time.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from oligosim.analysis import summary as summary_mod
from oligosim.analysis.survival import Z95, kaplan_meier, rmst_summary, summarize_survival
from oligosim.config import load_scenario
from oligosim.config.schema import SCENARIO_SCHEMA

from conftest import CONFIGS


def exp_rmst(lam: float, tau: float) -> float:
    return (1.0 - math.exp(-lam * tau)) / lam


def exponential_sample(rng, n, lam, admin, random_censor_rate=0.0):
    """Exponential event times, censored at ``admin`` months and optionally by an independent
    exponential censoring time."""
    t = rng.exponential(1.0 / lam, n)
    c = np.full(n, admin)
    if random_censor_rate > 0:
        c = np.minimum(c, rng.exponential(1.0 / random_censor_rate, n))
    return np.minimum(t, c), t <= c


@pytest.mark.parametrize("random_censor_rate", [0.0, 0.02])
def test_rmst_matches_exponential(random_censor_rate):
    lam, tau, admin = 0.06, 36.0, 48.0
    time, event = exponential_sample(np.random.default_rng(12), 20_000, lam, admin, random_censor_rate)
    s = summarize_survival(time, event, rmst_tau_months=tau)
    est, (lo, hi) = s["rmst_months"], s["rmst_ci95"]
    se = (hi - lo) / (2 * Z95)
    truth = exp_rmst(lam, tau)
    assert abs(est - truth) < 4 * se, f"RMST {est:.3f} vs {truth:.3f} (se {se:.3f})"
    assert lo <= truth <= hi
    # the se has the size it should: sqrt(Var(min(T, tau)) / n) without random censoring
    if random_censor_rate == 0.0:
        e2 = 2 * (1 - math.exp(-lam * tau) * (1 + lam * tau)) / lam**2  # E[min(T, tau)^2]
        se_theory = math.sqrt((e2 - truth**2) / time.size)
        assert se == pytest.approx(se_theory, rel=0.05)
    assert s["rmst_tau_months"] == tau
    # the key order puts the RMST next to the median
    assert list(s) == ["median_months", "median_ci95", "rmst_months", "rmst_ci95", "rmst_tau_months", "rate"]
    assert json.loads(json.dumps(s)) == s


@pytest.mark.slow
def test_rmst_ci_coverage():
    """400 independent samples of 500 patients: the 95% CI covers the true RMST in 95% of them,
    within 4 binomial standard errors (sqrt(0.95 x 0.05 / 400) = 1.1 points)."""
    lam, tau, admin = 0.06, 24.0, 30.0
    truth = exp_rmst(lam, tau)
    rng = np.random.default_rng(2026)
    hits = 0
    reps = 400
    for _ in range(reps):
        time, event = exponential_sample(rng, 500, lam, admin, 0.01)
        s = rmst_summary(kaplan_meier(time, event), tau)
        hits += s["rmst_ci95"][0] <= truth <= s["rmst_ci95"][1]
    cover = hits / reps
    assert abs(cover - 0.95) < 4 * math.sqrt(0.95 * 0.05 / reps), f"coverage {cover:.3f}"


def test_rmst_not_estimable_beyond_follow_up():
    """tau after the last follow-up time with S > 0: the area is unknown (None, JSON null)."""
    s = summarize_survival([1.0, 2.0, 3.0], [1, 0, 0], rmst_tau_months=12.0)
    assert s["rmst_months"] is None and s["rmst_ci95"] == [None, None]
    # a curve that has reached 0 is 0 after: the area is known
    s = summarize_survival([1.0, 2.0, 3.0], [1, 1, 1], rmst_tau_months=12.0)
    assert s["rmst_months"] == pytest.approx(2.0)


def test_default_tau_matches_the_schema():
    """summarize_arm's default and the scenario key's default are one value."""
    assert SCENARIO_SCHEMA.fields["simulation"].fields["rmst_tau_months"].default == summary_mod.DEFAULT_RMST_TAU_MONTHS


def test_tau_is_the_horizon_when_shorter():
    sc = load_scenario(CONFIGS / "default.toml")
    assert summary_mod.rmst_tau(sc) == 36.0
    assert summary_mod.rmst_tau(sc.with_values({"simulation.horizon_months": 24.0})) == 24.0
    assert summary_mod.rmst_tau(sc.with_values({"simulation.rmst_tau_months": 60.0})) == 60.0


def test_table_shows_rmst_next_to_median():
    arm = {
        "os": {"median_months": 20.0, "median_ci95": [18.0, 22.0], "rmst_months": 21.5, "rmst_ci95": [21.0, 22.0], "rate": {"24": 0.4}},
        "pfs": {"median_months": 8.0, "median_ci95": [7.5, 8.5], "rmst_months": None, "rmst_ci95": [None, None], "rate": {"24": 0.1}},
        "rt_courses_mean": 1.0, "toxicity_grade3plus": {"any": 0.2}, "treatment_deaths": 0.01,
        "first_failure": {k: 0.25 for k in summary_mod.codes.FAILURE_NAMES},
    }
    text = summary_mod.format_table({"rmst_tau_months": 36.0, "arms": {"a": arm}})
    head, _, row = text.splitlines()[:3]
    assert head.split()[1:] == ["median", "OS", "(95%", "CI)", "RMST36m", "OS", "(95%", "CI)",
                                "median", "PFS", "(95%", "CI)", "RMST36m", "PFS", "(95%", "CI)"]
    assert row.split() == ["a", "20.00", "(18.00-22.00)", "21.50", "(21.00-22.00)", "8.00", "(7.50-8.50)", "-"]
    assert "up to 36 months" in text
