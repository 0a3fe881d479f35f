"""Tests of oligosim.analysis.survival and hazards against lifelines, scipy.stats, statsmodels and analytic results."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from oligosim.analysis.hazards import cox_hazard_ratio, logrank
from oligosim.analysis.proportions import proportion_ci
from oligosim.analysis.survival import (
    KaplanMeier,
    kaplan_meier,
    median_survival,
    number_at_risk,
    rmst,
    summarize_survival,
    survival_at,
)

lifelines = pytest.importorskip("lifelines")
from lifelines import CoxPHFitter, KaplanMeierFitter  # noqa: E402
from lifelines.statistics import logrank_test  # noqa: E402
from lifelines.utils import median_survival_times, restricted_mean_survival_time  # noqa: E402

TOL = 1e-8


def censored_exponential(rng, n, scale, follow_up=60.0):
    """Exponential event times (mean ``scale`` months) with uniform censoring on [0, follow_up]."""
    t = rng.exponential(scale, n)
    c = rng.uniform(0.0, follow_up, n)
    return np.minimum(t, c), t <= c


@pytest.fixture(scope="module")
def arm_a():
    return censored_exponential(np.random.default_rng(12345), 400, 20.0)


@pytest.fixture(scope="module")
def arm_b():
    return censored_exponential(np.random.default_rng(54321), 350, 28.0)


def fit_lifelines(time, event):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KaplanMeierFitter().fit(time, event)


# ============================================================================ Kaplan-Meier
def test_km_matches_lifelines(arm_a):
    time, event = arm_a
    km = kaplan_meier(time, event)
    kmf = fit_lifelines(time, event)
    assert isinstance(km, KaplanMeier)
    assert km.n == time.size
    np.testing.assert_array_equal(km.times, np.unique(time))
    sf = kmf.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(km.survival, sf.loc[km.times].to_numpy(), rtol=0, atol=TOL)
    table = kmf.event_table.loc[km.times]
    np.testing.assert_array_equal(km.at_risk, table["at_risk"].to_numpy())
    np.testing.assert_array_equal(km.events, table["observed"].to_numpy())
    np.testing.assert_array_equal(km.censored, table["censored"].to_numpy())
    # Greenwood: lifelines keeps sum d/(n(n-d)) (the variance of log S) in _cumulative_sq_
    greenwood = kmf._cumulative_sq_.loc[km.times].to_numpy()
    np.testing.assert_allclose(km.se, km.survival * np.sqrt(greenwood), rtol=0, atol=TOL)


def test_km_matches_scipy_ecdf(arm_a):
    time, event = arm_a
    km = kaplan_meier(time, event)
    res = stats.ecdf(stats.CensoredData.right_censored(time, ~event))
    np.testing.assert_allclose(res.sf.quantiles, km.times, rtol=0, atol=0)
    np.testing.assert_allclose(res.sf.probabilities, km.survival, rtol=0, atol=TOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about nan limits where S == 0 or 1
        ci = res.sf.confidence_interval(method="log-log")
    _, lo, hi = survival_at(km, km.times)
    np.testing.assert_allclose(lo, ci.low.probabilities, rtol=0, atol=TOL)
    np.testing.assert_allclose(hi, ci.high.probabilities, rtol=0, atol=TOL)


def test_greenwood_without_censoring_is_binomial():
    """Without censoring the Greenwood variance is S(1-S)/n exactly."""
    rng = np.random.default_rng(7)
    time = rng.exponential(10.0, 500)
    km = kaplan_meier(time, np.ones(time.size, bool))
    s = km.survival
    np.testing.assert_allclose(km.se, np.sqrt(s * (1 - s) / time.size), rtol=1e-9, atol=1e-12)


def test_survival_at_matches_lifelines(arm_a):
    time, event = arm_a
    km = kaplan_meier(time, event)
    kmf = fit_lifelines(time, event)
    ci = kmf.confidence_interval_
    grid = ci.index.to_numpy()  # 0 and every distinct time
    est, lo, hi = survival_at(km, grid)
    assert est.shape == lo.shape == hi.shape == grid.shape
    np.testing.assert_allclose(est, kmf.survival_function_.iloc[:, 0].to_numpy(), atol=TOL)
    np.testing.assert_allclose(lo, ci.iloc[:, 0].to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(hi, ci.iloc[:, 1].to_numpy(), rtol=0, atol=TOL)
    # between the distinct times: step function (right-continuous), same as lifelines.predict
    mid = np.linspace(0.0, km.times[-1], 997)
    np.testing.assert_allclose(survival_at(km, mid)[0], kmf.predict(mid).to_numpy(), atol=TOL)
    # scalar in, floats out
    s, l, h = survival_at(km, 12.0)
    assert isinstance(s, float) and l <= s <= h


def test_survival_at_edges():
    km = kaplan_meier([2.0, 3.0, 5.0, 8.0], [1, 0, 1, 0])
    assert survival_at(km, -1.0) == (1.0, 1.0, 1.0)
    assert survival_at(km, 1.999) == (1.0, 1.0, 1.0)
    assert survival_at(km, 2.0)[0] == pytest.approx(0.75)
    assert survival_at(km, 8.0)[0] == pytest.approx(0.375)  # last follow-up time: defined
    assert all(math.isnan(v) for v in survival_at(km, 8.001))  # beyond follow-up: unknown
    with pytest.raises(ValueError, match="t_months"):
        survival_at(km, [1.0, np.nan])
    # a curve that drops to 0 stays 0 forever
    km0 = kaplan_meier([1.0, 2.0], [1, 1])
    assert survival_at(km0, 100.0) == (0.0, 0.0, 0.0)


def test_number_at_risk():
    km = kaplan_meier([0.0, 2.0, 2.0, 3.0, 5.0], [1, 1, 0, 1, 0])
    np.testing.assert_array_equal(number_at_risk(km, [0, 1, 2, 2.5, 5, 6]), [5, 4, 4, 2, 1, 0])


# ============================================================================ median
def test_median_and_ci_match_lifelines(arm_a, arm_b):
    for time, event in (arm_a, arm_b):
        km = kaplan_meier(time, event)
        kmf = fit_lifelines(time, event)
        med, (lo, hi) = median_survival(km)
        assert med == pytest.approx(kmf.median_survival_time_, abs=TOL)
        ci = median_survival_times(kmf.confidence_interval_)
        assert lo == pytest.approx(ci.iloc[0, 0], abs=TOL)
        assert hi == pytest.approx(ci.iloc[0, 1], abs=TOL)
        assert lo <= med <= hi


def test_median_ci_is_brookmeyer_crowley(arm_a):
    """The CI endpoints are where the pointwise log(-log) band crosses 0.5."""
    km = kaplan_meier(*arm_a)
    _, (lo, hi) = median_survival(km)
    _, band_lo, band_hi = survival_at(km, km.times)
    assert band_lo[km.times == lo][0] <= 0.5 < band_lo[km.times < lo].min()
    assert band_hi[km.times == hi][0] <= 0.5 < band_hi[km.times < hi].min()


def test_median_exactly_half():
    # S(3) = 0.5 exactly: the median is 3 (smallest t with S <= 0.5), whatever the rounding
    km = kaplan_meier([1, 2, 3, 4, 5, 6], np.ones(6))
    assert median_survival(km)[0] == 3.0
    km = kaplan_meier([1, 2, 3, 4], np.ones(4))
    assert median_survival(km)[0] == 2.0


def test_median_not_reached():
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    event = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    km = kaplan_meier(time, event)
    med, (lo, hi) = median_survival(km)
    assert med is None and hi is None
    summary = summarize_survival(time, event)
    assert summary["median_months"] is None
    assert summary["median_ci95"][1] is None
    json.dumps(summary)  # JSON-ready (None -> null)


@pytest.mark.slow
def test_median_exponential_analytic():
    """n = 200,000 uncensored exponential(rate lam): median within 3 se of ln2 / lam.

    The sample median has asymptotic variance 1 / (4 n f(m)^2) with f the density at the true
    median m = ln 2 / lam; f(m) = lam exp(-lam m) = lam / 2, so se = 1 / (lam sqrt(n)).
    """
    lam, n = 0.05, 200_000
    rng = np.random.default_rng(12345)
    time = rng.exponential(1.0 / lam, n)
    km = kaplan_meier(time, np.ones(n, dtype=np.int8))
    med, (lo, hi) = median_survival(km)
    true = math.log(2.0) / lam
    se = 1.0 / (lam * math.sqrt(n))
    assert abs(med - true) < 3 * se
    assert lo < med < hi
    # the Brookmeyer-Crowley interval has about the asymptotic width 2 * 1.96 se
    assert (hi - lo) == pytest.approx(2 * 1.959964 * se, rel=0.1)


# ============================================================================ RMST
@pytest.mark.parametrize("tau", [6.0, 24.0, 36.0])
def test_rmst_matches_lifelines(arm_a, tau):
    time, event = arm_a
    km = kaplan_meier(time, event)
    kmf = fit_lifelines(time, event)
    est, se = rmst(km, tau)
    assert est == pytest.approx(restricted_mean_survival_time(kmf, t=tau), abs=TOL)
    assert 0 < se < est


def test_rmst_se_without_censoring():
    """No censoring: RMST = mean of min(T, tau) and se^2 = its plug-in variance / n.

    lifelines' ``return_variance`` is the variance of min(T, tau) (by numerical quadrature), so
    it matches n * se^2 to quadrature accuracy.
    """
    rng = np.random.default_rng(12345)
    n, tau = 500, 15.0
    time = rng.exponential(10.0, n)
    event = np.ones(n, bool)
    km = kaplan_meier(time, event)
    est, se = rmst(km, tau)
    x = np.minimum(time, tau)
    assert est == pytest.approx(x.mean(), abs=TOL)
    assert se**2 == pytest.approx(x.var() / n, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quad's IntegrationWarning on the step function
        _, var_lifelines = restricted_mean_survival_time(
            fit_lifelines(time, event), t=tau, return_variance=True
        )
    assert n * se**2 == pytest.approx(var_lifelines, rel=1e-3)


def test_rmst_se_by_delta_method(arm_a):
    """The se equals a numerical delta-method se: d RMST / d log(1 - h_j) with Greenwood weights."""
    time, event = arm_a
    km = kaplan_meier(time, event)
    tau = 30.0
    est, se = rmst(km, tau)
    # RMST as a function of the log conditional survivals; analytic gradient is A_j
    m = np.searchsorted(km.times, tau, side="right")
    grid_end = np.append(km.times[1:m], tau)
    areas = np.array([np.sum(km.survival[j:m] * (grid_end[j:] - km.times[j:m])) for j in range(m)])
    n, d = km.at_risk[:m].astype(float), km.events[:m].astype(float)
    w = np.where(n > d, d / (n * np.maximum(n - d, 1)), 0.0)
    assert se == pytest.approx(math.sqrt(np.sum(areas**2 * w)), rel=1e-10)


def test_rmst_limits():
    km = kaplan_meier([1.0, 2.0, 4.0], [1, 1, 0])
    assert rmst(km, 0.0) == (0.0, 0.0)
    assert rmst(km, 1.0)[0] == pytest.approx(1.0)
    assert rmst(km, 3.0)[0] == pytest.approx(1.0 + 2 / 3 + 1 / 3)
    with pytest.raises(ValueError, match="tau_months"):
        rmst(km, 5.0)  # beyond follow-up while S > 0
    with pytest.raises(ValueError, match="tau_months"):
        rmst(km, -1.0)
    km0 = kaplan_meier([1.0, 2.0], [1, 1])  # S drops to 0 at 2: integral known beyond
    assert rmst(km0, 10.0)[0] == pytest.approx(1.5)


# ============================================================================ log-rank
def test_logrank_matches_scipy_and_lifelines(arm_a, arm_b):
    (ta, ea), (tb, eb) = arm_a, arm_b
    stat, p = logrank(ta, ea, tb, eb)
    ll = logrank_test(ta, tb, event_observed_A=ea, event_observed_B=eb)
    assert stat == pytest.approx(ll.test_statistic, rel=1e-10)
    assert p == pytest.approx(ll.p_value, rel=1e-8)
    sp = stats.logrank(
        stats.CensoredData.right_censored(ta, ~ea), stats.CensoredData.right_censored(tb, ~eb)
    )
    assert stat == pytest.approx(float(sp.statistic) ** 2, rel=1e-10)  # scipy: signed sqrt
    assert p == pytest.approx(float(sp.pvalue), rel=1e-8)
    assert logrank(tb, eb, ta, ea) == pytest.approx((stat, p))


def test_logrank_with_ties():
    rng = np.random.default_rng(12345)
    ta, tb = np.ceil(rng.exponential(10, 300)), np.ceil(rng.exponential(13, 300))
    ea, eb = rng.random(300) < 0.8, rng.random(300) < 0.8
    stat, p = logrank(ta, ea, tb, eb)
    ll = logrank_test(ta, tb, event_observed_A=ea, event_observed_B=eb)
    assert stat == pytest.approx(ll.test_statistic, rel=1e-10)
    sp = stats.logrank(
        stats.CensoredData.right_censored(ta, ~ea), stats.CensoredData.right_censored(tb, ~eb)
    )
    assert p == pytest.approx(float(sp.pvalue), rel=1e-8)


def test_logrank_no_events():
    assert all(math.isnan(v) for v in logrank([1, 2], [0, 0], [3, 4], [0, 0]))


# ============================================================================ Cox
def lifelines_cox(ta, ea, tb, eb):
    df = pd.DataFrame(
        {
            "T": np.concatenate((ta, tb)),
            "E": np.concatenate((ea, eb)).astype(int),
            "arm_b": np.r_[np.zeros(len(ta)), np.ones(len(tb))],
        }
    )
    row = CoxPHFitter().fit(df, "T", "E").summary.loc["arm_b"]
    return row["exp(coef)"], row["exp(coef) lower 95%"], row["exp(coef) upper 95%"], row["p"]


def test_cox_matches_lifelines_continuous(arm_a, arm_b):
    """Continuous times (no tied events): Breslow == Efron == lifelines."""
    (ta, ea), (tb, eb) = arm_a, arm_b
    expected = lifelines_cox(ta, ea, tb, eb)
    for ties in ("breslow", "efron"):
        got = cox_hazard_ratio(ta, ea, tb, eb, ties=ties)
        # lifelines stops Newton-Raphson a little earlier (its p-value differs by ~1e-6 rel.)
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    hr, lo, hi, p = cox_hazard_ratio(ta, ea, tb, eb)
    assert lo < hr < hi and hr < 1  # arm b has the longer survival


def test_cox_with_ties():
    """Tied (whole-month) times: Efron matches lifelines, Breslow matches statsmodels PHReg."""
    rng = np.random.default_rng(12345)
    ta, tb = np.ceil(rng.exponential(10, 400)), np.ceil(rng.exponential(14, 400))
    ea, eb = rng.random(400) < 0.8, rng.random(400) < 0.8
    np.testing.assert_allclose(
        cox_hazard_ratio(ta, ea, tb, eb, ties="efron"), lifelines_cox(ta, ea, tb, eb), rtol=1e-5
    )
    sm = pytest.importorskip("statsmodels.api")
    res = sm.PHReg(
        np.concatenate((ta, tb)),
        np.r_[np.zeros(400), np.ones(400)][:, None],
        status=np.concatenate((ea, eb)).astype(int),
        ties="breslow",
    ).fit()
    ci = np.exp(res.conf_int())[0]
    expected = (math.exp(res.params[0]), ci[0], ci[1], res.pvalues[0])
    got = cox_hazard_ratio(ta, ea, tb, eb, ties="breslow")
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_cox_degenerate():
    # no event in arm b: the likelihood is monotone, no finite estimate
    assert all(math.isnan(v) for v in cox_hazard_ratio([1, 2, 3], [1, 1, 0], [4, 5], [0, 0]))
    with pytest.raises(ValueError, match="ties"):
        cox_hazard_ratio([1, 2], [1, 1], [1, 2], [1, 1], ties="exact")


@pytest.mark.slow
def test_cox_and_logrank_large():
    """10^6 patients: runs fast and recovers the true hazard ratio."""
    rng = np.random.default_rng(12345)
    n = 500_000
    ta, ea = censored_exponential(rng, n, 20.0)
    tb, eb = censored_exponential(rng, n, 25.0)  # true HR = 20/25 = 0.8
    hr, lo, hi, p = cox_hazard_ratio(ta, ea, tb, eb)
    assert lo < 0.8 < hi and p < 1e-100
    stat, p_lr = logrank(ta, ea, tb, eb)
    assert stat > 100


# ============================================================================ summary / misc
def test_summarize_survival_shape(arm_a):
    time, event = arm_a
    summary = summarize_survival(time, event)
    assert set(summary) == {"median_months", "median_ci95", "rate"}
    assert isinstance(summary["median_months"], float)
    assert isinstance(summary["median_ci95"], list) and len(summary["median_ci95"]) == 2
    assert list(summary["rate"]) == ["12", "24", "36", "60"]
    km = kaplan_meier(time, event)
    for key in ("12", "24", "36"):
        assert type(summary["rate"][key]) is float
        assert summary["rate"][key] == pytest.approx(survival_at(km, float(key))[0])
    # follow-up ends before 60 months with S > 0: the KM curve does not reach the landmark
    assert km.times[-1] < 60
    assert summary["rate"]["60"] is None
    assert json.loads(json.dumps(summary)) == summary


def test_summarize_survival_landmark_after_curve_hits_zero():
    summary = summarize_survival([1.0, 2.0, 3.0], [1, 1, 1], landmarks=(2, 12))
    assert summary["rate"] == {"2": pytest.approx(1 / 3), "12": 0.0}
    assert summary["median_months"] == 2.0


def test_proportion_ci_wilson():
    smp = pytest.importorskip("statsmodels.stats.proportion")
    for x, n in [(0, 10), (3, 10), (10, 10), (512, 1000), (1, 1_000_000)]:
        expected = smp.proportion_confint(x, n, alpha=0.05, method="wilson")
        assert proportion_ci(x, n) == pytest.approx(expected, abs=1e-12)
    lo, hi = proportion_ci(np.array([1, 2]), np.array([4, 8]))
    assert lo.shape == (2,)
    assert all(math.isnan(v) for v in proportion_ci(0, 0))
    with pytest.raises(ValueError, match="successes"):
        proportion_ci(5, 4)
    with pytest.raises(ValueError, match="n must"):
        proportion_ci(0, -1)


# ============================================================================ validation
@pytest.mark.parametrize(
    "time, event, match",
    [
        ([1.0, 2.0], [1], "same length"),
        ([[1.0, 2.0]], [[1, 0]], "time must be 1-D"),
        ([1.0, 2.0], [[1, 0]], "event must be 1-D"),
        ([], [], "empty"),
        ([1.0, -0.5], [1, 0], "time must be >= 0"),
        ([1.0, np.nan], [1, 0], "time must be finite"),
        ([1.0, np.inf], [1, 0], "time must be finite"),
        (["a", "b"], [1, 0], "time must be numeric"),
        ([1.0, 2.0], [1, 2], "event must be boolean"),
        ([1.0, 2.0], [0.5, 1.0], "event must be boolean"),
        ([1.0, 2.0], ["x", "y"], "event must be boolean"),
    ],
)
def test_input_validation(time, event, match):
    with pytest.raises(ValueError, match=match):
        kaplan_meier(time, event)


def test_two_arm_validation_names_argument():
    with pytest.raises(ValueError, match="time_b"):
        logrank([1.0, 2.0], [1, 0], [1.0, -2.0], [1, 0])
    with pytest.raises(ValueError, match="event_a"):
        cox_hazard_ratio([1.0, 2.0], [1, 3], [1.0, 2.0], [1, 0])


def test_event_dtypes_equivalent():
    time = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    ev = np.array([True, False, True, True, False])
    a = kaplan_meier(time, ev)
    for other in (ev.astype(int), ev.astype(float), ev.astype(np.int8)):
        b = kaplan_meier(time, other)
        np.testing.assert_array_equal(a.survival, b.survival)
    np.testing.assert_array_equal(kaplan_meier(time.astype(int), ev).times, [1, 2, 3, 5])


def test_ties_events_and_censoring_at_same_time():
    # at t=2: two events and one censoring; censored patients count as at risk at their time
    km = kaplan_meier([1, 2, 2, 2, 3, 4], [1, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(km.times, [1, 2, 3, 4])
    np.testing.assert_array_equal(km.at_risk, [6, 5, 2, 1])
    np.testing.assert_array_equal(km.events, [1, 2, 0, 1])
    np.testing.assert_array_equal(km.censored, [0, 1, 1, 0])
    np.testing.assert_allclose(km.survival, [5 / 6, 5 / 6 * 3 / 5, 0.5, 0.0])
    kmf = fit_lifelines([1, 2, 2, 2, 3, 4], [1, 1, 1, 0, 0, 1])
    np.testing.assert_allclose(km.survival, kmf.survival_function_.iloc[1:, 0].to_numpy(), atol=TOL)


# ============================================================================ properties
survival_data = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.floats(min_value=0.0, max_value=120.0, allow_nan=False).map(lambda x: round(x, 1)),
            min_size=n,
            max_size=n,
        ),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(survival_data)
def test_km_properties(data):
    time, event = data
    km = kaplan_meier(time, event)
    assert np.all(np.diff(km.times) > 0)
    assert np.all((km.survival >= 0) & (km.survival <= 1))
    assert np.all(np.diff(km.survival) <= 1e-15)
    assert np.all(np.diff(km.at_risk) <= 0)
    assert km.at_risk[0] == km.n == len(time)
    assert km.events.sum() == sum(event)
    assert km.events.sum() + km.censored.sum() == km.n
    assert np.all(km.se >= 0)
    est, lo, hi = survival_at(km, km.times)
    assert np.all((lo <= est + 1e-12) & (est <= hi + 1e-12))
    med, (mlo, mhi) = median_survival(km)
    if med is not None:
        assert survival_at(km, med)[0] <= 0.5 + 1e-12
        assert mlo is not None and mlo <= med
        assert mhi is None or med <= mhi
