"""Tests of oligosim.analysis.trial: virtual randomised trials against analytic answers.

Pools are exponential (medians 12 and 17 months, HR 12/17), for which the expected number of
events of a design has a closed form: with Poisson accrual of rate A, a patient followed by
j later entrants has administrative follow-up F + Gamma(j, A), so with event rate lambda and
dropout hazard h (s = lambda + h)

    P(event) = lambda / s * (1 - exp(-s F) * (A / (A + s)) ** j),   j = 0 .. 2n - 1,

each with probability 1 / 2n. Tolerances are 3 Monte Carlo standard errors (fixed seeds).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import special, stats

from oligosim.analysis import hazards, proportions
from oligosim.analysis.trial import power as trial_power
from oligosim.analysis.trial import sampling
from oligosim.analysis.trial import (
    power_curve,
    schoenfeld_events,
    schoenfeld_power,
    simulate_trial_data,
    simulate_trials,
)

MED_C, MED_X = 12.0, 17.0
HR = MED_C / MED_X
POOL = 200_000


def expected_events(n, accrual, followup, dropout, medians=(MED_C, MED_X)):
    """Analytic expected events (both arms) of a design with exponential pools."""
    h = -math.log1p(-dropout) / 12.0
    j = np.arange(2 * n)
    total = 0.0
    for med in medians:
        lam = math.log(2.0) / med
        s = lam + h
        p = lam / s * (1.0 - math.exp(-s * followup) * (accrual / (accrual + s)) ** j)
        total += n * p.mean()
    return total


@pytest.fixture(scope="module")
def pools():
    rng = np.random.default_rng(20240601)
    control = (rng.exponential(MED_C / math.log(2.0), POOL), np.ones(POOL, bool))
    experimental = (rng.exponential(MED_X / math.log(2.0), POOL), np.ones(POOL, bool))
    return control, experimental


DESIGNS = {
    "n100": dict(n_per_arm=100, accrual_per_month=8.0, followup_months=12.0, dropout_per_year=0.05),
    "n200": dict(n_per_arm=200, accrual_per_month=10.0, followup_months=12.0, dropout_per_year=0.05),
}


@pytest.fixture(scope="module")
def runs(pools):
    """One 1000-replicate run per design (shared by the power, HR and median tests)."""
    control, experimental = pools
    return {
        key: simulate_trials(control, experimental, replicates=1000, seed=11, **design)
        for key, design in DESIGNS.items()
    }


# ============================================================================ power, events
@pytest.mark.parametrize("key", sorted(DESIGNS))
def test_power_matches_schoenfeld(runs, key):
    design, res = DESIGNS[key], runs[key]
    R = res["inputs"]["replicates"]
    d = expected_events(design["n_per_arm"], design["accrual_per_month"], design["followup_months"],
                        design["dropout_per_year"])
    # events: the accrual / follow-up / dropout mechanics against the closed form
    ev = np.add(res["replicates"]["events_control"], res["replicates"]["events_experimental"])
    assert ev.mean() == pytest.approx(res["events"]["mean"])
    assert abs(ev.mean() - d) <= 3 * ev.std(ddof=1) / math.sqrt(R)
    # power: Schoenfeld's normal approximation for the expected number of events
    analytic = schoenfeld_power(d, HR, alpha=0.05)
    se = math.sqrt(analytic * (1 - analytic) / R)
    assert abs(res["power"] - analytic) <= 3 * se, (res["power"], analytic)
    lo, hi = res["power_ci95"]
    assert lo <= res["power"] <= hi
    assert (lo, hi) == pytest.approx(proportions.proportion_ci(res["significant"], R))
    p = np.array(res["replicates"]["p"], dtype=float)
    assert res["significant"] == int(np.sum(p < 0.05)) == sum(res["replicates"]["significant"])


def test_schoenfeld_formulas():
    # textbook: HR 0.75, two-sided 5 %, 80 % power -> 379 events
    assert schoenfeld_events(0.75) == pytest.approx(4 * (1.959964 + 0.841621) ** 2 / math.log(0.75) ** 2, rel=1e-6)
    assert math.ceil(schoenfeld_events(0.75)) == 380
    d = schoenfeld_events(HR, alpha=0.05, power=0.9)
    assert schoenfeld_power(d, HR, alpha=0.05) == pytest.approx(0.9, abs=1e-12)
    assert schoenfeld_power(d, 1 / HR, alpha=0.05) == pytest.approx(0.9, abs=1e-12)
    assert schoenfeld_events(HR, sided=1, alpha=0.025) == pytest.approx(schoenfeld_events(HR))


def test_accrual_duration(runs):
    res = runs["n200"]
    design = DESIGNS["n200"]
    m, a, R = 2 * design["n_per_arm"], design["accrual_per_month"], res["inputs"]["replicates"]
    dur = np.array(res["replicates"]["duration"])
    # last entry ~ Gamma(2n, A): mean 2n / A, sd sqrt(2n) / A
    assert abs(dur.mean() - (m / a + design["followup_months"])) <= 3 * math.sqrt(m) / a / math.sqrt(R)
    assert abs(res["duration"]["accrual_mean"] - (m - 1) / a) <= 3 * math.sqrt(m - 1) / a / math.sqrt(R)
    assert dur.min() > design["followup_months"]


# ============================================================================ null
@pytest.mark.parametrize("paired", [True, False])
def test_type_one_error(paired):
    rng = np.random.default_rng(7)
    t = rng.exponential(15.0, 120_000)
    # pools censored at a 60-month horizon, as the simulator's are
    pool = (np.minimum(t, 60.0), t <= 60.0)
    if paired:
        control = experimental = pool  # identical pools, common random numbers
    else:
        t2 = rng.exponential(15.0, 90_000)
        control, experimental = pool, (np.minimum(t2, 60.0), t2 <= 60.0)
    R, alpha = 2000, 0.05
    res = simulate_trials(control, experimental, n_per_arm=100, accrual_per_month=10.0,
                          followup_months=6.0, replicates=R, seed=5, alpha=alpha)
    assert res["inputs"]["common_random_numbers"] is paired
    assert abs(res["power"] - alpha) <= 3 * math.sqrt(alpha * (1 - alpha) / R)
    if paired:
        assert res["hr"]["true"] == pytest.approx(1.0, abs=1e-12)
    # p-values uniform under the null
    p = np.array(res["replicates"]["p"], dtype=float)
    assert stats.kstest(p, "uniform").pvalue > 0.001


def test_one_sided(pools):
    control, experimental = pools
    kw = dict(n_per_arm=60, accrual_per_month=10.0, followup_months=6.0, replicates=300, seed=9)
    two = simulate_trials(control, experimental, **kw)
    one = simulate_trials(control, experimental, sided=1, alpha=0.025, **kw)
    p2 = np.array(two["replicates"]["p"], dtype=float)
    p1 = np.array(one["replicates"]["p"], dtype=float)
    hr = np.array(two["replicates"]["hr"], dtype=float)
    assert np.array_equal(hr, np.array(one["replicates"]["hr"], dtype=float))  # same draws
    np.testing.assert_allclose(p1, np.where(hr < 1, p2 / 2, 1 - p2 / 2), rtol=1e-15)
    assert one["replicates"]["significant"] == list((hr < 1) & (p2 / 2 < 0.025))
    # experimental worse: a one-sided test for benefit (almost) never rejects
    worse = simulate_trials(experimental, control, sided=1, alpha=0.025, **kw)
    assert worse["power"] <= 0.01
    assert two["power"] > 0.1


# ============================================================================ HR and medians
def test_hr_distribution(runs):
    res = runs["n200"]
    R = res["inputs"]["replicates"]
    hr = res["hr"]
    assert hr["estimable"] == R
    assert hr["true"] == pytest.approx(HR, rel=0.02)  # Cox on 2 x 200,000 exponential patients
    log_hr = np.log(np.array(res["replicates"]["hr"]))
    assert hr["geometric_mean"] == pytest.approx(math.exp(log_hr.mean()), rel=1e-12)
    assert hr["median"] == pytest.approx(np.median(np.exp(log_hr)), rel=1e-12)
    assert abs(log_hr.mean() - math.log(hr["true"])) <= 3 * log_hr.std(ddof=1) / math.sqrt(R)
    # the spread of log HR is about sqrt(4 / events)
    assert log_hr.std(ddof=1) == pytest.approx(2 / math.sqrt(res["events"]["mean"]), rel=0.1)
    assert hr["percentiles"]["2.5"] < hr["median"] < hr["percentiles"]["97.5"]
    assert abs(hr["ci_coverage"] - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / R)
    lo = np.array(res["replicates"]["hr_lo"])
    hi = np.array(res["replicates"]["hr_hi"])
    assert hr["ci_coverage"] == pytest.approx(np.mean((lo <= hr["true"]) & (hr["true"] <= hi)))


def test_medians(runs):
    res = runs["n200"]
    R = res["inputs"]["replicates"]
    for arm, truth in (("control", MED_C), ("experimental", MED_X)):
        med = res["median"][arm]
        assert med["not_reached"] == 0.0
        assert med["pool"] == pytest.approx(truth, rel=0.02)
        values = np.array(res["replicates"]["median_" + arm])
        assert med["mean"] == pytest.approx(values.mean())
        assert abs(med["mean"] - med["pool"]) <= 3 * values.std(ddof=1) / math.sqrt(R)
        assert med["percentiles"]["2.5"] < med["pool"] < med["percentiles"]["97.5"]


def test_median_not_reached():
    # 70 % cured: the median is never reached
    n = 20_000
    rng = np.random.default_rng(3)
    t = np.where(rng.random(n) < 0.3, rng.exponential(10.0, n), 120.0)
    pool = (t, t < 120.0)
    res = simulate_trials(pool, pool, n_per_arm=50, accrual_per_month=10.0, followup_months=12.0,
                          replicates=50, seed=1, pool_horizon_months=120.0)
    assert res["median"]["control"]["not_reached"] == 1.0
    assert res["median"]["control"]["mean"] is None
    assert res["median"]["control"]["pool"] is None
    assert all(v is None for v in res["replicates"]["median_control"])
    json.dumps(res, allow_nan=False)


# ============================================================================ censoring
def test_censoring_bounds(pools):
    control, experimental = pools
    kw = dict(n_per_arm=50, accrual_per_month=5.0, followup_months=6.0, dropout_per_year=0.2,
              replicates=200, seed=4)
    data = simulate_trial_data(control, experimental, **kw)
    analysis = data["analysis_time"]
    assert analysis.shape == (200,)
    pool_by_arm = {"control": control, "experimental": experimental}
    for arm, a in ((k, data[k]) for k in ("control", "experimental")):
        assert a["time"].shape == (200, 50)
        admin = analysis[:, None] - a["entry"]
        assert np.all(a["time"] <= admin)
        assert np.all(a["time"] <= a["pool_time"])
        assert np.all(a["entry"] > 0) and np.all(a["entry"] <= analysis[:, None] - 6.0)
        assert np.array_equal(a["pool_time"], pool_by_arm[arm][0][a["patient"]])
        assert np.array_equal(a["event"], a["pool_event"] & (a["pool_time"] <= a["censor"]))
        assert np.array_equal(a["time"][a["event"]], a["pool_time"][a["event"]])
        assert np.all(a["censor"] <= admin)
    # no virtual patient in both arms, nobody twice in an arm
    both = np.concatenate((data["control"]["patient"], data["experimental"]["patient"]), axis=1)
    srt = np.sort(both, axis=1)
    assert not np.any(srt[:, 1:] == srt[:, :-1])
    # arms enrolled in random order: the first half of the entries is half control
    entry = np.concatenate((data["control"]["entry"], data["experimental"]["entry"]), axis=1)
    first_half = np.argsort(entry, axis=1)[:, :50] < 50
    assert abs(first_half.mean() - 0.5) <= 3 * 0.5 / math.sqrt(first_half.size / 2)
    # replicate j here is replicate j of simulate_trials
    res = simulate_trials(control, experimental, **kw)
    for j in (0, 117):
        c, x = data["control"], data["experimental"]
        p = hazards.logrank(c["time"][j], c["event"][j], x["time"][j], x["event"][j])[1]
        assert res["replicates"]["p"][j] == p
        assert res["replicates"]["events_control"][j] == int(c["event"][j].sum())


def test_no_trial_censoring_with_huge_followup(pools):
    control, experimental = pools
    data = simulate_trial_data(control, experimental, n_per_arm=40, accrual_per_month=5.0,
                               followup_months=1e7, replicates=50, seed=2)
    for arm in ("control", "experimental"):
        a = data[arm]
        assert np.array_equal(a["time"], a["pool_time"])
        assert np.all(a["event"])
    res = simulate_trials(control, experimental, n_per_arm=40, accrual_per_month=5.0,
                          followup_months=1e7, replicates=50, seed=2)
    assert res["events"]["mean"] == 80
    assert res["censoring"] == {"administrative_mean": 0.0, "dropout_mean": 0.0, "pool_mean": 0.0}


def test_dropout_rate():
    # nobody dies or is censored administratively: the observed times are the dropout times
    n = 10_000
    pool = (np.full(n, 1e9), np.ones(n, bool))
    data = simulate_trial_data(pool, pool, n_per_arm=100, accrual_per_month=20.0,
                               followup_months=1e8, dropout_per_year=0.2, replicates=100, seed=8)
    t = np.concatenate((data["control"]["time"].ravel(), data["experimental"]["time"].ravel()))
    assert not data["control"]["event"].any()
    lost = np.mean(t <= 12.0)
    assert abs(lost - 0.2) <= 3 * math.sqrt(0.2 * 0.8 / t.size)
    assert t.mean() == pytest.approx(12.0 / -math.log(0.8), rel=3 / math.sqrt(t.size))


def test_pool_horizon_and_small_pool_notes():
    n = 3000
    rng = np.random.default_rng(6)
    t = rng.exponential(40.0, n)
    pool = (np.minimum(t, 60.0), t <= 60.0)
    # slow accrual: 400 patients at 4 a month plus 24 months > 60-month horizon
    res = simulate_trials(pool, pool, n_per_arm=200, accrual_per_month=4.0, followup_months=24.0,
                          replicates=20, seed=1, pool_horizon_months=60.0)
    assert res["pool_horizon_exceeded"] == 20
    assert res["censoring"]["pool_mean"] > 0
    assert any("pool horizon" in note for note in res["notes"])
    assert any("less than 10x" in note for note in res["notes"])  # 3000 < 10 x 400
    # fast accrual, short follow-up: never past the horizon
    res = simulate_trials(pool, pool, n_per_arm=10, accrual_per_month=20.0, followup_months=12.0,
                          replicates=20, seed=1, pool_horizon_months=60.0)
    assert res["pool_horizon_exceeded"] == 0
    assert not any("pool horizon" in note for note in res["notes"])
    assert not any("less than 10x" in note for note in res["notes"])
    assert res["censoring"]["pool_mean"] == 0.0


# ============================================================================ determinism
def test_determinism(pools):
    control, experimental = pools
    kw = dict(n_per_arm=30, accrual_per_month=4.0, followup_months=12.0, dropout_per_year=0.1,
              replicates=100)
    a = simulate_trials(control, experimental, seed=123, **kw)
    b = simulate_trials(control, experimental, seed=123, **kw)
    assert json.dumps(a, allow_nan=False) == json.dumps(b, allow_nan=False)
    c = simulate_trials(control, experimental, seed=124, **kw)
    assert c["replicates"]["p"] != a["replicates"]["p"]
    da = simulate_trial_data(control, experimental, seed=123, **kw)
    db = simulate_trial_data(control, experimental, seed=123, **kw)
    for arm in ("control", "experimental"):
        for k, v in da[arm].items():
            assert v.tobytes() == db[arm][k].tobytes()


# ============================================================================ sampler
@pytest.mark.parametrize("pop,m", [(12, 3), (6, 4)])  # rejection path, random-keys path
def test_sample_distinct_uniform(pop, m):
    rows = 60_000
    idx = sampling._sample_distinct(np.random.default_rng(1), pop, rows, m)
    srt = np.sort(idx, axis=1)
    assert idx.shape == (rows, m) and np.all(srt[:, 1:] != srt[:, :-1])
    assert idx.min() >= 0 and idx.max() < pop
    codes = (idx * pop ** np.arange(m)).sum(axis=1)
    _, counts = np.unique(codes, return_counts=True)
    k = math.perm(pop, m)
    assert counts.size == k  # every ordered tuple occurs
    assert stats.chisquare(counts).pvalue > 0.001


# ============================================================================ validation
GOOD = dict(n_per_arm=10, accrual_per_month=5.0, followup_months=12.0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_per_arm=1), r"n_per_arm = 1: must be an integer >= 2"),
        (dict(n_per_arm=10.0), r"n_per_arm = 10.0"),
        (dict(n_per_arm=True), r"n_per_arm = True"),
        (dict(accrual_per_month=0), r"accrual_per_month = 0: must be > 0"),
        (dict(accrual_per_month=float("inf")), r"accrual_per_month = inf"),
        (dict(followup_months=-1), r"followup_months = -1: must be >= 0"),
        (dict(followup_months="12"), r"followup_months = '12'"),
        (dict(dropout_per_year=1.0), r"dropout_per_year = 1.0: must be in \[0, 1\)"),
        (dict(dropout_per_year=-0.1), r"dropout_per_year = -0.1"),
        (dict(replicates=0), r"replicates = 0: must be an integer >= 1"),
        (dict(seed=-1), r"seed = -1: must be an integer >= 0"),
        (dict(alpha=0.0), r"alpha = 0.0: must be in \(0, 1\)"),
        (dict(alpha=1.5), r"alpha = 1.5"),
        (dict(sided=3), r"sided = 3: must be 1 or 2"),
        (dict(pool_horizon_months=0), r"pool_horizon_months = 0: must be > 0"),
        (dict(n_per_arm=600), r"n_per_arm = 600: .* 1000 virtual patients, need at least 2 \* n_per_arm = 1200"),
    ],
)
def test_validation_arguments(kwargs, match):
    t = np.linspace(1.0, 50.0, 1000)
    pool = (t, np.ones(1000, bool))
    with pytest.raises(ValueError, match=match):
        simulate_trials(pool, pool, **{**GOOD, **kwargs})


def test_validation_pools():
    t = np.linspace(1.0, 50.0, 100)
    e = np.ones(100, bool)
    ok = (t, e)
    cases = [
        ((t,), r"control = tuple: must be a \(time, event\) pair"),
        ((t[:, None], e), r"control time: shape \(100, 1\): must be 1-D"),
        ((t, e[:50]), r"control: time has 100 patients and event 50: must have the same length"),
        ((np.where(np.arange(100) == 7, np.nan, t), e), r"control time\[7\] = nan: must be finite and >= 0"),
        ((np.where(np.arange(100) == 3, -1.0, t), e), r"control time\[3\] = -1.0"),
        ((t, np.where(np.arange(100) == 5, 2, 1)), r"control event\[5\] = 2: must be boolean or 0/1"),
        ((t.astype(str), e), r"control time: dtype <U\d+: must be numeric"),
        ((np.array([]), np.array([], bool)), r"control: 0 patients"),
    ]
    for bad, match in cases:
        with pytest.raises(ValueError, match=match):
            simulate_trials(bad, ok, **GOOD)
    with pytest.raises(ValueError, match=r"experimental time\[7\] = nan"):
        simulate_trials(ok, (np.where(np.arange(100) == 7, np.nan, t), e), **GOOD)
    # independent pools: each needs n_per_arm patients
    with pytest.raises(ValueError, match=r"the experimental pool has 100 patients, need at least n_per_arm = 150"):
        simulate_trials((np.ones(500), np.ones(500)), ok, **{**GOOD, "n_per_arm": 150})
    # 0/1 integer and float event flags are accepted
    simulate_trials((t, e.astype(int)), (t, e.astype(float)), replicates=2, **GOOD)


def test_validation_power_curve(pools):
    control, experimental = pools
    kw = dict(accrual_per_month=5.0, followup_months=12.0, replicates=5)
    with pytest.raises(ValueError, match=r"n_grid = \[100, 50\]: must be strictly increasing"):
        power_curve(control, experimental, n_grid=[100, 50], **kw)
    with pytest.raises(ValueError, match=r"n_grid = 1: must be an integer >= 2"):
        power_curve(control, experimental, n_grid=[1, 50], **kw)
    with pytest.raises(ValueError, match=r"target_power = 1.0: must be in \(0, 1\)"):
        power_curve(control, experimental, n_grid=[50], target_power=1.0, **kw)
    with pytest.raises(ValueError, match=r"n_per_arm = 5: not allowed"):
        power_curve(control, experimental, n_grid=[50], n_per_arm=5, **kw)
    with pytest.raises(ValueError, match=r"unknown argument"):
        power_curve(control, experimental, n_grid=[50], bogus=1, **kw)
    with pytest.raises(ValueError, match=r"accrual_per_month = -5"):
        power_curve(control, experimental, n_grid=[50], **{**kw, "accrual_per_month": -5})


# ============================================================================ power curve
def test_power_curve(pools):
    control, experimental = pools
    kw = dict(accrual_per_month=10.0, followup_months=12.0, dropout_per_year=0.05, replicates=400, seed=3)
    grid = [25, 50, 100, 200]
    curve = power_curve(control, experimental, n_grid=grid, **kw)
    json.dumps(curve, allow_nan=False)
    power = np.array(curve["power"])
    R = kw["replicates"]
    assert curve["n_per_arm"] == grid
    # monotone within Monte Carlo error
    se_diff = np.sqrt((power[1:] * (1 - power[1:]) + power[:-1] * (1 - power[:-1])) / R)
    assert np.all(np.diff(power) >= -3 * se_diff)
    assert power[-1] > power[0]
    lo, hi = curve["power_ci95"]
    assert np.all(np.array(lo) <= power) and np.all(power <= np.array(hi))
    # each point is simulate_trials with the derived seed
    seed50 = trial_power._derived_seed(3, 50)
    assert curve["seeds"][1] == seed50
    single = simulate_trials(control, experimental, n_per_arm=50, **{**kw, "seed": seed50})
    assert single["power"] == curve["power"][1]
    # the 80 % point lies between the bracketing grid points, near Schoenfeld's answer
    n80 = curve["n_for_target"]
    i = int(np.argmax(power >= 0.8))
    assert power[i] >= 0.8 > power[i - 1]
    assert grid[i - 1] <= n80 <= grid[i]
    assert curve["hr_true"] == pytest.approx(HR, rel=0.02)
    assert curve["schoenfeld_events"] == pytest.approx(schoenfeld_events(curve["hr_true"]))
    assert curve["n_mid"] == 100
    assert curve["schoenfeld_n_per_arm"] == math.ceil(
        curve["schoenfeld_events"] / (2 * curve["event_probability"][2]))
    # the event probability grows with n (longer accrual), so Schoenfeld's n from the middle
    # design is only comparable: the same order of magnitude
    assert 0.7 * n80 <= curve["schoenfeld_n_per_arm"] <= 1.3 * n80


def test_n_for_target_interpolation():
    logit = special.logit
    n, note = trial_power._n_for_target([100, 200, 300], [0.5, 0.7, 0.9], 0.8)
    assert note is None
    assert n == pytest.approx(200 + (logit(0.8) - logit(0.7)) / (logit(0.9) - logit(0.7)) * 100, rel=1e-12)
    assert n == pytest.approx(239.9278, abs=1e-3)
    # first crossing is used even if the power dips afterwards (Monte Carlo noise)
    n, _ = trial_power._n_for_target([10, 20, 30, 40], [0.6, 0.85, 0.79, 0.9], 0.8)
    assert 10 < n < 20
    # exactly on a grid point
    n, _ = trial_power._n_for_target([10, 20], [0.6, 0.8], 0.8)
    assert n == pytest.approx(20.0)
    # power 1.0 is clipped to 1 - 0.5 / replicates
    n, _ = trial_power._n_for_target([10, 20], [0.5, 1.0], 0.8, replicates=100)
    assert n == pytest.approx(10 + (logit(0.8) - logit(0.5)) / (logit(0.995) - logit(0.5)) * 10)
    # never reached / reached at once
    n, note = trial_power._n_for_target([10, 20], [0.3, 0.5], 0.8)
    assert n is None and "not reached" in note
    n, note = trial_power._n_for_target([10, 20], [0.85, 0.9], 0.8)
    assert n is None and "<= 10" in note


def test_power_curve_hand_made(pools, monkeypatch):
    """power_curve's bookkeeping with hand-made powers in place of the simulations."""
    control, experimental = pools
    table = {50: 0.3, 100: 0.6, 150: 0.75, 200: 0.9}

    def fake(p, d):
        k = round(table[d.n] * d.replicates)
        lo, hi = proportions.proportion_ci(k, d.replicates)
        return {"power": k / d.replicates, "power_ci95": [lo, hi], "events": {"mean": d.n, "probability": 0.5},
                "duration": {"mean": 1.0}, "hr": {"geometric_mean": 0.7}, "notes": [],
                "inputs": {"n_per_arm": d.n}}

    monkeypatch.setattr(trial_power, "simulate_design", fake)
    kw = dict(accrual_per_month=10.0, followup_months=12.0, replicates=1000)
    curve = power_curve(control, experimental, n_grid=sorted(table), **kw)
    logit = special.logit
    assert curve["power"] == [0.3, 0.6, 0.75, 0.9]
    assert curve["n_for_target"] == pytest.approx(150 + (logit(0.8) - logit(0.75)) / (logit(0.9) - logit(0.75)) * 50)
    assert curve["schoenfeld_n_per_arm"] == math.ceil(schoenfeld_events(curve["hr_true"]) / (2 * 0.5))
    curve = power_curve(control, experimental, n_grid=[50, 100], **kw)
    assert curve["n_for_target"] is None
    assert any("not reached" in note for note in curve["notes"])
