"""Tests of oligosim.analysis.paired: weighted Kaplan-Meier, the bootstrap kernel, paired comparisons.

Tolerances come from standard errors (Monte-Carlo error of a bootstrap SD with R replicates is
about ``1/sqrt(2R)`` relative) or are exact where the arithmetic is the same. Analytic answers
used:

* ``T_b = k T_a`` with ``T_a ~ Exp(lam)`` (a common uniform drives both arms): the pairs are
  perfectly rank-correlated; without censoring the KM median of b is exactly ``k`` times that
  of a in every bootstrap replicate, so the paired SD is ``(k - 1) sd(med_a*)``, the
  independent-arms SD ``sqrt(1 + k^2) sd(med_a*)`` and the variance ratio exactly
  ``(1 + k^2) / (k - 1)^2``. True median difference ``ln2 (k - 1) / lam``; true RMST(tau) of
  ``Exp(lam)`` is ``(1 - exp(-lam tau)) / lam``.
* Independent arms: variance ratio 1 up to Monte-Carlo error.
* Binary outcomes: the closed-form paired variance equals the plug-in variance of the
  per-patient difference and agrees with a Poisson bootstrap.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from oligosim import codes
from oligosim.analysis.metrics import parse_metric
from oligosim.analysis.paired import TABLE_COLUMNS, compare_arms, paired_difference_table
from oligosim.analysis.paired_binary import paired_binary_difference
from oligosim.analysis.paired_bootstrap import _POISSON1_CDF, EndpointBootstrap, draw_weights, weighted_kaplan_meier
from oligosim.analysis.survival import kaplan_meier, median_survival, rmst, survival_at

ROOT = Path(__file__).resolve().parents[1]
LN2 = math.log(2.0)


class Arm:
    """Minimal ArmResult-like object: columns by name, optional ``tox``."""

    def __init__(self, tox=None, **columns):
        self.columns = columns
        self.tox = tox

    def __getitem__(self, name):
        return self.columns[name]


def censored_data(rng, n, scale=20.0, follow_up=60.0, round_to=None):
    t = rng.exponential(scale, n)
    c = rng.uniform(0.0, follow_up, n)
    time = np.minimum(t, c)
    if round_to:
        time = np.round(time / round_to) * round_to  # ties
    return time, t <= c


def scaled_pairs(rng, n, lam, k, censor=None):
    """Perfectly rank-correlated pairs: T_a ~ Exp(lam), T_b = k T_a (shared uniform)."""
    u = rng.random(n)
    ta = -np.log(u) / lam
    tb = k * ta
    if censor is None:
        return Arm(os=ta, os_event=np.ones(n, bool)), Arm(os=tb, os_event=np.ones(n, bool))
    c = rng.uniform(*censor, n)  # the same censoring time for the patient in both arms
    return (
        Arm(os=np.minimum(ta, c), os_event=ta <= c),
        Arm(os=np.minimum(tb, c), os_event=tb <= c),
    )


# ============================================================================ weighted KM
@pytest.fixture(scope="module")
def tied():
    rng = np.random.default_rng(2024)
    t, e = censored_data(rng, 300, round_to=1.0)
    w = rng.integers(0, 4, t.size)
    return t, e, w


def test_weighted_km_integer_weights_equal_replicated_rows(tied):
    t, e, w = tied
    wkm = weighted_kaplan_meier(t, e, w)
    km = kaplan_meier(np.repeat(t, w), np.repeat(e, w))
    np.testing.assert_array_equal(wkm.times, km.times)
    np.testing.assert_array_equal(wkm.at_risk, km.at_risk)
    np.testing.assert_array_equal(wkm.events, km.events)
    np.testing.assert_array_equal(wkm.censored, km.censored)
    np.testing.assert_allclose(wkm.survival, km.survival, rtol=1e-14, atol=0)
    np.testing.assert_allclose(wkm.se, km.se, rtol=1e-12, atol=0)
    assert wkm.n == km.n == w.sum()
    # the outcomes functions work on it and agree
    assert median_survival(wkm) == median_survival(km)
    np.testing.assert_allclose(rmst(wkm, 40.0), rmst(km, 40.0), rtol=1e-12)


def test_weighted_km_unit_weights_is_kaplan_meier(tied):
    t, e, _ = tied
    wkm = weighted_kaplan_meier(t, e, np.ones(t.size))
    km = kaplan_meier(t, e)
    np.testing.assert_array_equal(wkm.survival, km.survival)
    np.testing.assert_allclose(wkm.se, km.se, rtol=1e-13)


def _lifelines_km(t, e, w):
    from lifelines import KaplanMeierFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns about non-integer weights
        return KaplanMeierFitter().fit(t, e, weights=w)


@pytest.mark.parametrize("kind", ["integer", "fractional"])
def test_weighted_km_against_lifelines(tied, kind):
    pytest.importorskip("lifelines")
    t, e, w = tied
    if kind == "fractional":
        w = np.random.default_rng(7).uniform(0.2, 3.0, t.size)
    wkm = weighted_kaplan_meier(t, e, w)
    kmf = _lifelines_km(t, e, w)
    sf = kmf.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(sf.loc[wkm.times].to_numpy(), wkm.survival, rtol=1e-10, atol=1e-14)
    table = kmf.event_table.loc[wkm.times]
    np.testing.assert_allclose(table["at_risk"].to_numpy(), wkm.at_risk, rtol=1e-12)
    np.testing.assert_allclose(table["observed"].to_numpy(), wkm.events, rtol=1e-12, atol=1e-12)
    if kind == "integer":
        # Greenwood sum = lifelines' cumulative variance of log S. lifelines casts the weighted
        # number at risk to an integer (uint64) in that sum, so with fractional weights its
        # variance is not the frequency-weight Greenwood one: compared for integers only.
        var_log = kmf._cumulative_sq_.loc[wkm.times].to_numpy()
        pos = wkm.survival > 0
        np.testing.assert_allclose((wkm.se[pos] / wkm.survival[pos]) ** 2, var_log[pos], rtol=1e-10)


def test_weighted_km_drops_zero_weight_times():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([1, 1, 0, 1])
    wkm = weighted_kaplan_meier(t, e, [1.0, 0.0, 2.0, 1.0])
    np.testing.assert_array_equal(wkm.times, [1.0, 3.0, 4.0])
    np.testing.assert_allclose(wkm.survival, [0.75, 0.75, 0.0])


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, 1.0], "same length"),
        ([1.0, -1.0, 1.0], ">= 0"),
        ([1.0, np.nan, 1.0], "finite"),
        ([0.0, 0.0, 0.0], "positive total"),
        (["a", "b", "c"], "numeric"),
    ],
)
def test_weighted_km_validates_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        weighted_kaplan_meier([1.0, 2.0, 3.0], [1, 0, 1], weights)


# ============================================================================ bootstrap kernel
def test_poisson_weights_are_poisson1():
    assert _POISSON1_CDF[-1] == pytest.approx(1.0, abs=1e-15)
    assert 1.0 - _POISSON1_CDF[-2] < 1e-15  # P(X >= 18): below double resolution
    n = 200_000
    w = np.empty(n, np.uint8)
    total = draw_weights(np.random.Generator(np.random.PCG64(3)), n, w)
    assert total == int(w.sum(dtype=np.int64))
    counts = np.bincount(w, minlength=7)[:7].astype(float)
    counts[6] = n - counts[:6].sum()  # pool 6+
    expected = stats.poisson.pmf(np.arange(7), 1.0) * n
    expected[6] = stats.poisson.sf(5, 1.0) * n
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    assert abs(w.mean() - 1.0) < 4 * math.sqrt(1.0 / n)


def _reference_stats(t, e, w, tau, landmarks):
    km = weighted_kaplan_meier(t, e, w)
    med = median_survival(km)[0]
    # the bootstrap continues a replicate's curve flat beyond its last weighted time
    if tau > km.times[-1]:
        area = rmst(km, km.times[-1])[0] + km.survival[-1] * (tau - km.times[-1])
    else:
        area = rmst(km, tau)[0]
    idx = np.searchsorted(km.times, landmarks, side="right") - 1
    lm = np.where(idx < 0, 1.0, km.survival[np.clip(idx, 0, None)])
    return (math.inf if med is None else med), area, lm


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_matches_weighted_km(tied, seed):
    t, e, _ = tied
    tau = 30.0  # an observed (tied) time: rounding to whole months
    assert tau in t
    landmarks = np.array([24.0, -1.0, 12.0, 0.5, 59.0, 1000.0])  # unsorted, before/at/after times
    eng = EndpointBootstrap(t, e, tau, landmarks)
    rng = np.random.Generator(np.random.PCG64(seed))
    w = np.empty(t.size, np.uint8)
    for _ in range(5):
        total = draw_weights(rng, t.size, w)
        med, area, lm = eng.stats(w, total)
        ref_med, ref_area, ref_lm = _reference_stats(t, e, w, tau, landmarks)
        assert med == ref_med
        assert area == pytest.approx(ref_area, rel=1e-12)
        np.testing.assert_array_equal(lm, ref_lm)


def test_kernel_unit_weights_equal_point_estimates(tied):
    t, e, _ = tied
    eng = EndpointBootstrap(t, e, 45.0, np.array([12.0, 24.0]))
    med, area, lm = eng.stats(np.ones(t.size, np.uint8), t.size)
    km = kaplan_meier(t, e)
    assert med == median_survival(km)[0]
    assert area == pytest.approx(rmst(km, 45.0)[0], rel=1e-13)
    np.testing.assert_array_equal(lm, survival_at(km, [12.0, 24.0])[0])


def test_kernel_median_exactly_half_and_not_reached():
    # 2 of 4 dead at t=2: S is exactly 0.5 there (outcomes' convention: median = 2)
    t = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([0, 1, 1, 0])
    eng = EndpointBootstrap(t, e, 4.0, np.array([]))
    w = np.array([0, 2, 1, 1], np.uint8)  # 4 at risk at t=2, 2 deaths
    assert eng.stats(w, 4)[0] == 2.0 == median_survival(weighted_kaplan_meier(t, e, w))[0]
    w = np.array([1, 1, 0, 3], np.uint8)  # S = 3/4 at the end: not reached
    assert eng.stats(w, 5)[0] == math.inf


# ============================================================================ analytic checks
@pytest.fixture(scope="module")
def scaled():
    lam, k = 1.0 / 12.0, 1.5
    a, b = scaled_pairs(np.random.default_rng(11), 4000, lam, k)
    res = compare_arms(a, b, endpoints=("os",), tau_months=24.0, landmarks=(12,), replicates=600, seed=5)
    return lam, k, a, b, res


def test_scaled_pairs_median(scaled):
    lam, k, a, b, res = scaled
    med = res["endpoints"]["os"]["median"]
    truth = LN2 * (k - 1.0) / lam
    assert med["ci_lo"] <= truth <= med["ci_hi"]
    # every replicate has med_b* = k med_a*: the variance ratio is exact
    assert med["variance_ratio"] == pytest.approx((1 + k * k) / (k - 1) ** 2, rel=1e-9)
    # asymptotic SE of the sample median of Exp(lam): 1 / (lam sqrt(n)); bootstrap SEs of a
    # median converge slowly (relative error ~ n^-1/4), hence 25 %
    n = a["os"].size
    assert med["se_paired"] == pytest.approx((k - 1.0) / (lam * math.sqrt(n)), rel=0.25)
    assert med["se_paired"] < 0.3 * med["se_independent"]


def test_scaled_pairs_rmst(scaled):
    lam, k, a, b, res = scaled
    tau = 24.0
    entry = res["endpoints"]["os"]["rmst"]
    n = a["os"].size
    r = res["replicates"]
    truth = (1 - math.exp(-lam * tau / k)) * k / lam - (1 - math.exp(-lam * tau)) / lam
    assert entry["ci_lo"] <= truth <= entry["ci_hi"]
    # no censoring: RMST = mean of min(T, tau); the paired difference is a mean of
    # g = min(kT, tau) - min(T, tau), whose SD is known analytically
    g = lambda x: (min(k * x, tau) - min(x, tau)) * lam * math.exp(-lam * x)  # noqa: E731
    g2 = lambda x: (min(k * x, tau) - min(x, tau)) ** 2 * lam * math.exp(-lam * x)  # noqa: E731
    # g = 0 once T >= tau (k > 1); kinks at tau / k and tau
    m1 = integrate.quad(g, 0, tau / k)[0] + integrate.quad(g, tau / k, tau)[0]
    m2 = integrate.quad(g2, 0, tau / k)[0] + integrate.quad(g2, tau / k, tau)[0]
    assert m1 == pytest.approx(truth, rel=1e-8)
    sd_true = math.sqrt(m2 - m1 * m1) / math.sqrt(n)
    # bootstrap SD of a mean targets the plug-in SD of the sample; MC error ~ 1/sqrt(2R)
    diffs = np.minimum(b["os"], tau) - np.minimum(a["os"], tau)
    sd_sample = diffs.std() / math.sqrt(n)
    mc = 1.0 / math.sqrt(2 * r)
    assert entry["se_paired"] == pytest.approx(sd_sample, rel=4 * mc)
    assert sd_sample == pytest.approx(sd_true, rel=5 / math.sqrt(2 * n) + 0.02)
    # independent arms: sum of the two arms' variances; Greenwood SEs of survival.rmst
    se_a = rmst(kaplan_meier(a["os"], a["os_event"]), tau)[1]
    se_b = rmst(kaplan_meier(b["os"], b["os_event"]), tau)[1]
    assert entry["se_independent"] == pytest.approx(math.hypot(se_a, se_b), rel=4 * mc)
    assert entry["variance_ratio"] > 10


def test_scaled_pairs_with_common_censoring():
    lam, k = 1.0 / 12.0, 1.5
    a, b = scaled_pairs(np.random.default_rng(12), 3000, lam, k, censor=(20.0, 80.0))
    res = compare_arms(a, b, endpoints=("os",), tau_months=18.0, landmarks=(6, 12), replicates=400, seed=9)
    os_ = res["endpoints"]["os"]
    truth = {
        "median": LN2 * (k - 1) / lam,
        "rmst": (1 - math.exp(-lam * 18 / k)) * k / lam - (1 - math.exp(-lam * 18)) / lam,
        "6": math.exp(-lam * 6 / k) - math.exp(-lam * 6),
        "12": math.exp(-lam * 12 / k) - math.exp(-lam * 12),
    }
    for key, entry in (("median", os_["median"]), ("rmst", os_["rmst"]), ("6", os_["survival"]["6"]),
                       ("12", os_["survival"]["12"])):
        assert abs(entry["diff"] - truth[key]) < 4 * entry["se_paired"], key
        assert entry["ci_lo"] <= entry["diff"] <= entry["ci_hi"], key
        assert entry["variance_ratio"] > 2.0, key


def test_independent_pairs_have_variance_ratio_one():
    rng = np.random.default_rng(21)
    n, r = 3000, 800
    ta, ea = censored_data(rng, n, 15.0, 60.0)
    tb, eb = censored_data(rng, n, 22.0, 60.0)
    res = compare_arms(Arm(os=ta, os_event=ea), Arm(os=tb, os_event=eb), endpoints=("os",), tau_months=36.0,
                       landmarks=(12, 24), replicates=r, seed=4)
    os_ = res["endpoints"]["os"]
    # ratio = 1 / (1 - rho*) with rho* the replicate correlation of a* and b* (0 here): MC error
    # of a correlation from R replicates is 1/sqrt(R)
    tol = 4.0 / math.sqrt(r)
    for entry in (os_["median"], os_["rmst"], os_["survival"]["12"], os_["survival"]["24"]):
        assert entry["variance_ratio"] == pytest.approx(1.0, abs=tol)


def test_independent_se_equals_separate_weights_bootstrap():
    """se_independent = sqrt(Var a* + Var b*) matches the SD of b*(w') - a*(w), separate weights."""
    lam, k = 1.0 / 10.0, 1.4
    a, b = scaled_pairs(np.random.default_rng(31), 2000, lam, k, censor=(10.0, 60.0))
    r = 800
    res = compare_arms(a, b, endpoints=("os",), tau_months=24.0, landmarks=(12,), replicates=r, seed=1)
    ea = EndpointBootstrap(a["os"], a["os_event"], 24.0, np.array([12.0]))
    eb = EndpointBootstrap(b["os"], b["os_event"], 24.0, np.array([12.0]))
    rng = np.random.Generator(np.random.PCG64(777))
    n = a["os"].size
    wa, wb = np.empty(n, np.uint8), np.empty(n, np.uint8)
    d = np.empty((r, 2))
    for i in range(r):
        sa = ea.stats(wa, draw_weights(rng, n, wa))
        sb = eb.stats(wb, draw_weights(rng, n, wb))
        d[i] = sb[1] - sa[1], sb[2][0] - sa[2][0]
    sep = d.std(axis=0, ddof=1)
    tol = 4.0 * math.sqrt(2.0) / math.sqrt(2 * r)  # two independent SD estimates
    assert res["endpoints"]["os"]["rmst"]["se_independent"] == pytest.approx(sep[0], rel=tol)
    assert res["endpoints"]["os"]["survival"]["12"]["se_independent"] == pytest.approx(sep[1], rel=tol)


def test_rmst_difference_ci_coverage():
    """Percentile CIs of the paired RMST difference cover the truth ~95 % of the time."""
    lam, k, tau = 1.0 / 12.0, 1.3, 24.0
    truth = (1 - math.exp(-lam * tau / k)) * k / lam - (1 - math.exp(-lam * tau)) / lam
    rng = np.random.default_rng(99)
    sims, hits = 600, 0
    for s in range(sims):
        # partially correlated pairs: b's time is k T_a for half the patients, fresh otherwise
        u = rng.random(400)
        ta = -np.log(u) / lam
        fresh = rng.random(400) < 0.5
        tb = np.where(fresh, rng.exponential(k / lam, 400), k * ta)
        c = rng.uniform(30.0, 60.0, 400)
        res = compare_arms(Arm(os=np.minimum(ta, c), os_event=ta <= c), Arm(os=np.minimum(tb, c), os_event=tb <= c),
                           endpoints=("os",), tau_months=tau, landmarks=(), replicates=200, seed=s)
        e = res["endpoints"]["os"]["rmst"]
        hits += e["ci_lo"] <= truth <= e["ci_hi"]
    cover = hits / sims
    # binomial SD of the coverage at 0.95; percentile intervals with 200 replicates and n = 400
    # are slightly narrow (0.943 in 1000 simulations), so allow 4 SD below
    sd = math.sqrt(0.95 * 0.05 / sims)
    assert 0.95 - 4 * sd <= cover <= 0.95 + 3 * sd


# ============================================================================ binary outcomes
def correlated_binaries(rng, n, pa, pb, rho_latent):
    z = rng.standard_normal(n)
    za = rho_latent * z + math.sqrt(1 - rho_latent**2) * rng.standard_normal(n)
    zb = rho_latent * z + math.sqrt(1 - rho_latent**2) * rng.standard_normal(n)
    return za < stats.norm.ppf(pa), zb < stats.norm.ppf(pb)


def test_binary_closed_form_is_plugin_variance():
    xa, xb = correlated_binaries(np.random.default_rng(1), 3000, 0.2, 0.3, 0.8)
    entry = paired_binary_difference(xa, xb)
    d = xb.astype(float) - xa.astype(float)
    assert entry["diff"] == pytest.approx(d.mean(), abs=1e-15)
    assert entry["se_paired"] == pytest.approx(d.std() / math.sqrt(d.size), rel=1e-12)
    assert entry["n11"] + entry["n10"] + entry["n01"] + entry["n00"] == 3000
    pa, pb = xa.mean(), xb.mean()
    assert entry["se_independent"] == pytest.approx(math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 3000), rel=1e-12)


def test_binary_closed_form_agrees_with_poisson_bootstrap():
    n, r = 3000, 2000
    xa, xb = correlated_binaries(np.random.default_rng(2), n, 0.15, 0.25, 0.7)
    entry = paired_binary_difference(xa, xb)
    rng = np.random.Generator(np.random.PCG64(8))
    paired, indep = np.empty(r), np.empty(r)
    for i in range(r):
        w, w2 = rng.poisson(1.0, n), rng.poisson(1.0, n)
        paired[i] = (w @ xb) / w.sum() - (w @ xa) / w.sum()
        indep[i] = (w2 @ xb) / w2.sum() - (w @ xa) / w.sum()
    mc = 4.0 / math.sqrt(2 * r)
    assert entry["se_paired"] == pytest.approx(paired.std(ddof=1), rel=mc)
    assert entry["se_independent"] == pytest.approx(indep.std(ddof=1), rel=mc)
    assert entry["variance_ratio"] > 1.0


def test_newcombe_interval_coverage():
    """The paired Newcombe interval keeps ~95 % coverage at small n (where Wald does not)."""
    rng = np.random.default_rng(5)
    n, sims = 60, 3000
    pa, pb, rho = 0.1, 0.2, 0.5
    # true difference of the latent-normal model
    truth = pb - pa
    hits_nc = hits_wald = 0
    for _ in range(sims):
        xa, xb = correlated_binaries(rng, n, pa, pb, rho)
        e = paired_binary_difference(xa, xb)
        hits_nc += e["ci_lo"] <= truth <= e["ci_hi"]
        hits_wald += abs(e["diff"] - truth) <= 1.959964 * e["se_paired"]
    sd = math.sqrt(0.95 * 0.05 / sims)
    assert abs(hits_nc / sims - 0.95) < 4 * sd + 0.01
    assert hits_wald / sims < hits_nc / sims


def test_newcombe_large_n_matches_wald_and_edge_cases():
    xa, xb = correlated_binaries(np.random.default_rng(6), 200_000, 0.3, 0.32, 0.6)
    e = paired_binary_difference(xa, xb)
    half = 1.959964 * e["se_paired"]
    assert e["ci_lo"] == pytest.approx(e["diff"] - half, abs=0.02 * half)
    assert e["ci_hi"] == pytest.approx(e["diff"] + half, abs=0.02 * half)
    # identical arms: no discordant pair, zero paired SE, no variance ratio, CI straddles 0
    x = np.arange(100) < 10
    same = paired_binary_difference(x, x)
    assert same["diff"] == 0.0 and same["se_paired"] == 0.0 and same["variance_ratio"] is None
    assert same["ci_lo"] < 0.0 < same["ci_hi"]
    # a rate of 0 in one arm (phi undefined -> 0) stays inside [-1, 1]
    z = paired_binary_difference(np.zeros(50, bool), np.ones(50, bool))
    assert z["diff"] == 1.0 and -1.0 <= z["ci_lo"] <= 1.0 and z["ci_hi"] == 1.0


# ============================================================================ compare_arms
@pytest.fixture(scope="module")
def synthetic_arms():
    rng = np.random.default_rng(40)
    n = 1500
    u = rng.random(n)
    c = rng.uniform(40.0, 90.0, n)
    ta, tb = -np.log(u) * 14.0, -np.log(u) * 14.0 * rng.uniform(1.0, 1.8, n)
    pa, pb = ta * 0.5, tb * 0.5
    tox_a = rng.random((n, codes.N_TOX)) < 0.1
    tox_b = tox_a | (rng.random((n, codes.N_TOX)) < 0.05)
    dc_a = np.where(ta <= c, codes.DEATH_DISEASE, codes.ALIVE)
    dc_b = np.where(rng.random(n) < 0.02, codes.DEATH_TREATMENT, dc_a)
    a = Arm(os=np.minimum(ta, c), os_event=ta <= c, pfs=np.minimum(pa, c), pfs_event=pa <= c, death_cause=dc_a,
            tox=tox_a)
    b = Arm(os=np.minimum(tb, c), os_event=tb <= c, pfs=np.minimum(pb, c), pfs_event=pb <= c, death_cause=dc_b,
            tox=tox_b)
    return a, b


def test_compare_arms_shape_json_and_determinism(synthetic_arms):
    a, b = synthetic_arms
    r1 = compare_arms(a, b, replicates=100, seed=3)
    r2 = compare_arms(a, b, replicates=100, seed=3)
    assert r1 == r2
    text = json.dumps(r1, allow_nan=False)  # plain JSON: no nan, no numpy scalars
    assert json.loads(text) == r1
    r3 = compare_arms(a, b, replicates=100, seed=4)
    assert r3["endpoints"]["os"]["rmst"]["se_paired"] != r1["endpoints"]["os"]["rmst"]["se_paired"]
    # point estimates do not depend on the seed and equal outcomes' estimates
    assert r3["endpoints"]["os"]["rmst"]["diff"] == r1["endpoints"]["os"]["rmst"]["diff"]
    km_b = kaplan_meier(b["os"], b["os_event"])
    assert r1["endpoints"]["os"]["rmst"]["b"] == rmst(km_b, 60.0)[0]
    assert r1["endpoints"]["os"]["median"]["b"] == median_survival(km_b)[0]
    # the paired figures do not depend on whether independent-arms figures are asked for
    r4 = compare_arms(a, b, replicates=100, seed=3, independent=False)
    assert r4["endpoints"]["os"]["rmst"]["se_paired"] == r1["endpoints"]["os"]["rmst"]["se_paired"]
    assert r4["endpoints"]["os"]["rmst"]["se_independent"] is None
    assert r4["toxicity"]["any"]["variance_ratio"] is None
    # binary outcomes
    assert set(r1["toxicity"]) == {
        "leukopenia", "neutropenia", "thrombocytopenia", "pneumonitis", "esophagitis", "esophageal_fistula",
        "fatigue", "nausea", "vomiting", "cardiac", "myelopathy", "bowel", "conduit", "any",
    }
    assert r1["toxicity"]["any"]["a"] == pytest.approx(a.tox.any(axis=1).mean())
    assert r1["treatment_death"]["b"] == pytest.approx(np.mean(b["death_cause"] == codes.DEATH_TREATMENT))
    for ep in ("os", "pfs"):
        res = r1["endpoints"][ep]
        for entry in (res["median"], res["rmst"], *res["survival"].values()):
            assert entry["ci_lo"] <= entry["diff"] <= entry["ci_hi"]
            assert entry["variance_ratio"] > 1.0
    assert r1["notes"] == []


def test_more_replicates_extend_the_same_stream(synthetic_arms):
    a, b = synthetic_arms
    r_small = compare_arms(a, b, endpoints=("os",), replicates=50, seed=3)
    r_large = compare_arms(a, b, endpoints=("os",), replicates=400, seed=3)
    e1, e2 = r_small["endpoints"]["os"]["rmst"], r_large["endpoints"]["os"]["rmst"]
    assert e2["se_paired"] == pytest.approx(e1["se_paired"], rel=4 / math.sqrt(2 * 50))


def test_paired_difference_table(synthetic_arms):
    a, b = synthetic_arms
    res = compare_arms(a, b, replicates=50, seed=0, landmarks=(12, 24, 36))
    rows = paired_difference_table(res)
    names = [r["quantity"] for r in rows]
    assert names[:5] == ["os.median", "os.rmst:60", "os.rate:12", "os.rate:24", "os.rate:36"]
    assert "pfs.median" in names and "tox.any" in names and names[-1] == "treatment_deaths"
    for name in names:  # every quantity is a metric name of the one grammar
        parse_metric(name)
    assert len(rows) == 2 * 5 + (codes.N_TOX + 1) + 1
    for row in rows:
        assert tuple(row) == TABLE_COLUMNS
    row = rows[names.index("tox.pneumonitis")]
    assert row["diff"] == res["toxicity"]["pneumonitis"]["diff"]


def test_summary_only_arms_skip_toxicity(synthetic_arms):
    a, b = synthetic_arms
    a2 = Arm(os=a["os"], os_event=a["os_event"])  # no tox, no death_cause
    b2 = Arm(os=b["os"], os_event=b["os_event"])
    res = compare_arms(a2, b2, endpoints=("os",), replicates=20)
    assert res["toxicity"] is None and res["treatment_death"] is None
    assert any("toxicity" in note for note in res["notes"])
    assert paired_difference_table(res)[-1]["quantity"] == "os.rate:24"


def test_median_not_reached_is_reported_as_none():
    rng = np.random.default_rng(8)
    n = 600
    ta = rng.exponential(10.0, n)
    tb = ta * 20.0  # arm b: median 139 months, follow-up 60
    c = np.full(n, 60.0)
    a = Arm(os=np.minimum(ta, c), os_event=ta <= c)
    b = Arm(os=np.minimum(tb, c), os_event=tb <= c)
    res = compare_arms(a, b, endpoints=("os",), tau_months=60.0, replicates=50)
    med = res["endpoints"]["os"]["median"]
    assert med["a"] is not None and med["b"] is None
    assert med["diff"] is None and med["ci_lo"] is None and med["se_paired"] is None
    assert "not reached in arm b" in med["note"]
    assert any("not reached in arm b" in note for note in res["notes"])
    assert res["endpoints"]["os"]["rmst"]["diff"] is not None  # RMST is still estimable
    json.dumps(res, allow_nan=False)


def test_median_not_reached_in_some_replicates():
    # arm b ends with S just below 0.5: many replicates stay above 0.5
    rng = np.random.default_rng(9)
    n = 400
    ta = rng.exponential(10.0, n)
    med_a = median_survival(kaplan_meier(ta, np.ones(n, bool)))[0]
    tb = ta * 58.5 / med_a  # KM median of b is 58.5, just before the end of follow-up (60)
    c = np.full(n, 60.0)
    a = Arm(os=np.minimum(ta, c), os_event=ta <= c)
    b = Arm(os=np.minimum(tb, c), os_event=tb <= c)
    res = compare_arms(a, b, endpoints=("os",), tau_months=60.0, replicates=200, seed=2)
    med = res["endpoints"]["os"]["median"]
    assert med["b"] is not None and med["diff"] is not None
    assert med["se_paired"] is None and med["variance_ratio"] is None
    assert med["ci_lo"] is not None and med["ci_hi"] is None
    assert "bootstrap replicates" in med["note"]


def test_landmark_beyond_follow_up_is_none():
    rng = np.random.default_rng(10)
    t, e = censored_data(rng, 300, 20.0, 30.0)
    a = Arm(os=t, os_event=e)
    res = compare_arms(a, a, endpoints=("os",), tau_months=20.0, landmarks=(12, 48), replicates=20)
    assert res["endpoints"]["os"]["survival"]["48"]["diff"] is None
    assert "beyond the follow-up" in res["endpoints"]["os"]["survival"]["48"]["note"]
    same = res["endpoints"]["os"]["survival"]["12"]
    assert same["diff"] == 0.0 and same["se_paired"] == 0.0 and same["variance_ratio"] is None


# ============================================================================ validation
def test_different_numbers_of_patients_are_refused(synthetic_arms):
    a, b = synthetic_arms
    short = Arm(os=b["os"][:-1], os_event=b["os_event"][:-1])
    with pytest.raises(ValueError, match=r"different numbers of patients \(n = 1500 and 1499\)"):
        compare_arms(a, short)


def test_tau_beyond_follow_up_is_refused(synthetic_arms):
    a, b = synthetic_arms
    with pytest.raises(ValueError, match=r"tau_months = 200 is beyond the last follow-up time of arm a's 'os'"):
        compare_arms(a, b, tau_months=200.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tau_months": 0.0}, "tau_months = 0.0"),
        ({"tau_months": float("nan")}, "tau_months = nan"),
        ({"replicates": 1}, "replicates = 1"),
        ({"replicates": 10.5}, "replicates = 10.5"),
        ({"seed": -1}, "seed = -1"),
        ({"endpoints": ()}, "endpoints is empty"),
        ({"endpoints": ("dfs",)}, "no column 'dfs'"),
        ({"landmarks": (12, float("nan"))}, "landmarks"),
    ],
)
def test_bad_arguments_are_refused(synthetic_arms, kwargs, match):
    a, b = synthetic_arms
    with pytest.raises(ValueError, match=match):
        compare_arms(a, b, **kwargs)


def test_bad_columns_are_refused(synthetic_arms):
    a, b = synthetic_arms
    bad = Arm(os=-b["os"], os_event=b["os_event"])
    with pytest.raises(ValueError, match="arm b 'os' must be >= 0"):
        compare_arms(a, bad, endpoints=("os",))
    bad_tox = Arm(os=b["os"], os_event=b["os_event"], tox=b.tox[:, :3])
    with pytest.raises(ValueError, match="tox arrays"):
        compare_arms(a, bad_tox, endpoints=("os",))


# ============================================================================ real engine output
def test_engine_arms_gain_from_pairing():
    from oligosim.config import load_scenario
    from oligosim.simulate import run_scenario

    sc = load_scenario(ROOT / "configs" / "default.toml")
    res = run_scenario(sc, patients=2000, seed=7, arms=["systemic_only", "consolidative"])
    a, b = res.arms["systemic_only"], res.arms["consolidative"]
    out = compare_arms(a, b, replicates=200, seed=1)
    rmst_os = out["endpoints"]["os"]["rmst"]
    assert rmst_os["variance_ratio"] > 1.0
    assert rmst_os["se_paired"] < rmst_os["se_independent"]
    assert out["toxicity"] is not None and out["treatment_death"] is not None
    json.dumps(out, allow_nan=False)
