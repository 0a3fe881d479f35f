"""Scheduled follow-up visits within a window around the statement-13 grid (model 7.1).

The nominal dates never drift (first_scan_months, then the statement-13 intervals from each
nominal date); the k-th scheduled visit falls at its nominal date plus ``w (2 u_k - 1)``, with
``u_k`` the k-th draw of the patient's SCAN stream, so the offsets are uniform on [-w, w] and the
same under every arm. Symptom-triggered scans are extra and neither jittered nor counted.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oligosim import codes, simulate
from oligosim._kernels import rng
from oligosim.analysis.summary import summarize
from oligosim.config import ConfigError, load_scenario
from oligosim.lowering import DAYS_PER_MONTH

from conftest import CONFIGS

SEED = 77
ARMS = ["systemic_only", "upfront_rt"]


def default_scenario():
    return load_scenario(CONFIGS / "default.toml")


def nominal_grid(fu, n: int) -> np.ndarray:
    """The first ``n`` nominal visit dates (months), written independently of the engines:
    first_scan_months, then every 3 months to 24, every 4.5 to 60, yearly after (defaults)."""
    out = [float(fu["first_scan_months"])]
    while len(out) < n:
        t = out[-1]
        if t < 24.0:
            step = fu["interval_years_0_2_months"]
        elif t < 60.0:
            step = fu["interval_years_2_5_months"]
        else:
            step = fu["interval_after_5_months"]
        out.append(t + float(step))
    return np.array(out[:n])


def scheduled_visits(arm, j: int) -> np.ndarray:
    """Times (months) of patient ``j``'s scheduled scans, in order, from the event log."""
    k = min(int(arm["ev_n"][j]), arm.ev_time.shape[1])
    code, detail = arm.ev_code[j, :k], arm.ev_detail[j, :k]
    return arm.ev_time[j, :k][(code == codes.EV_SCAN) & (detail == codes.SCAN_SCHEDULED)]


def symptom_visits(arm, j: int) -> np.ndarray:
    k = min(int(arm["ev_n"][j]), arm.ev_time.shape[1])
    code, detail = arm.ev_code[j, :k], arm.ev_detail[j, :k]
    return arm.ev_time[j, :k][(code == codes.EV_SCAN) & (detail == codes.SCAN_SYMPTOM)]


@pytest.fixture(scope="module")
def jittered():
    sc = default_scenario()
    return sc, simulate.run_scenario(sc, patients=400, seed=SEED, arms=ARMS, events=True)


def test_visits_within_window_of_a_fixed_grid(jittered):
    """Every scheduled scan lies within +/- w of its nominal date on the grid, and its offset is
    exactly the k-th draw of the patient's SCAN stream: the grid does not drift with the
    offsets (an actual-time chain would move the k-th nominal date by the sum of earlier offsets)."""
    sc, res = jittered
    fu = sc.data["followup"]
    w = fu["visit_window_days"] / DAYS_PER_MONTH
    assert w > 0
    n_visits = 0
    for name in ARMS:
        arm = res.arms[name]
        for j in range(arm.n):
            t = scheduled_visits(arm, j)
            nominal = nominal_grid(fu, t.size)
            off = t - nominal
            assert np.all(np.abs(off) <= w * (1 + 1e-12)), f"{name} patient {j}: offsets {off}"
            u = rng.uniforms(SEED, j, rng.SCAN, t.size)
            np.testing.assert_allclose(off, w * (2.0 * u - 1.0), rtol=0, atol=1e-9, err_msg=f"{name} patient {j}")
            assert np.all(np.diff(t) > 0)
            n_visits += t.size
    assert n_visits > 2000


def test_symptom_scans_are_extra(jittered):
    """Symptom-triggered scans happen (the test has teeth) and do not move the schedule: the
    scheduled ones stay on the jittered grid in patients who had them (checked above for all)."""
    _, res = jittered
    n_symptom = sum(symptom_visits(res.arms[name], j).size for name in ARMS for j in range(res.arms[name].n))
    assert n_symptom > 0


def test_same_offsets_in_every_arm(jittered):
    """Common random numbers: patient j's k-th visit moves by the same amount under every arm."""
    sc, res = jittered
    fu = sc.data["followup"]
    a, b = res.arms[ARMS[0]], res.arms[ARMS[1]]
    compared = 0
    for j in range(a.n):
        ta, tb = scheduled_visits(a, j), scheduled_visits(b, j)
        k = min(ta.size, tb.size)
        nominal = nominal_grid(fu, k)
        np.testing.assert_array_equal(ta[:k] - nominal, tb[:k] - nominal, err_msg=f"patient {j}")
        compared += k
    assert compared > 1000


@pytest.mark.slow
def test_offsets_uniform():
    """First-visit offsets of 5,000 patients (one per patient: independent) against the uniform
    distribution on [-w, w]: Kolmogorov-Smirnov, p > 1e-3 at a fixed seed. Only patients alive
    at the end of the first window count: whether a patient dead within the window had the visit
    depends on its offset."""
    sc = default_scenario()
    res = simulate.run_scenario(sc, patients=5000, seed=SEED, arms=["systemic_only"], events=True)
    arm = res.arms["systemic_only"]
    fu = sc.data["followup"]
    w = fu["visit_window_days"] / DAYS_PER_MONTH
    alive = np.flatnonzero(arm["os"] > fu["first_scan_months"] + w)
    assert alive.size > 0.9 * arm.n
    first = np.array([scheduled_visits(arm, j)[0] for j in alive]) - fu["first_scan_months"]
    p = stats.kstest(first, stats.uniform(loc=-w, scale=2 * w).cdf).pvalue
    assert p > 1e-3, f"KS p = {p:.2e}"
    # and a chi-square on 10 equal bins, for the shape in the middle of the window too
    counts, _ = np.histogram(first, bins=10, range=(-w, w))
    assert stats.chisquare(counts).pvalue > 1e-3


def test_window_zero_is_the_exact_grid():
    """With a window of 0 every scheduled scan is exactly on the old grid (bit for bit), so the
    other outputs are those of the fixed schedule: the SCAN draws feed nothing else."""
    sc = default_scenario().with_values({"followup.visit_window_days": 0.0})
    res = simulate.run_scenario(sc, patients=200, seed=SEED, arms=ARMS, events=True)
    fu = sc.data["followup"]
    for name in ARMS:
        arm = res.arms[name]
        for j in range(arm.n):
            t = scheduled_visits(arm, j)
            # the old rule: next = (this visit's time) + interval(this visit's time), exactly
            np.testing.assert_array_equal(t, nominal_grid(fu, t.size), err_msg=f"{name} patient {j}")


def test_window_moves_pfs_off_the_grid():
    """PFS is read at scans: with the window the PFS median and its CI are no longer grid values,
    and the CI has width (with w = 0 the median CI of this arm collapses onto one grid date)."""
    sc = default_scenario()
    res = simulate.run_scenario(sc, patients=3000, seed=SEED, arms=["systemic_only"], keep="summary")
    pfs = summarize(res)["arms"]["systemic_only"]["pfs"]
    lo, hi = pfs["median_ci95"]
    assert hi > lo
    res0 = simulate.run_scenario(sc.with_values({"followup.visit_window_days": 0.0}), patients=3000, seed=SEED, arms=["systemic_only"], keep="summary")
    pfs0 = summarize(res0)["arms"]["systemic_only"]["pfs"]
    grid = nominal_grid(sc.data["followup"], 40)
    assert pfs0["median_months"] in grid and pfs["median_months"] not in grid


@pytest.mark.parametrize(
    "values,interval",
    [
        ({"followup.visit_window_days": 31.0}, "followup.first_scan_months = 2 months (30.44 days)"),
        ({"followup.visit_window_days": 20.0, "followup.first_scan_months": 1.0}, "followup.first_scan_months = 1 months (15.22 days)"),
        ({"followup.visit_window_days": 20.0, "followup.interval_after_5_months": 1.2}, "followup.interval_after_5_months = 1.2 months (18.26 days)"),
    ],
)
def test_window_wider_than_half_an_interval_is_refused(values, interval):
    """A window of half the shortest interval or more could put a visit before entry or before
    the previous visit: the scenario is refused with the key, the value and the rule."""
    with pytest.raises(ConfigError) as info:
        default_scenario().with_values(values)
    msg = str(info.value)
    assert "followup.visit_window_days" in msg and "must be < half the shortest scan interval" in msg
    assert interval in msg, msg


def test_window_validated_bounds():
    default_scenario().with_values({"followup.visit_window_days": 0.0})  # the exact grid: allowed
    with pytest.raises(ConfigError, match=r"followup.visit_window_days = -1.0: must be within \[0, 36525\] \(days\)"):
        default_scenario().with_values({"followup.visit_window_days": -1.0})


def test_engines_guard_a_window_the_schema_would_refuse(monkeypatch):
    """Past the schema: a window of 2.5 months (wider than the 2-month first scan and most of a
    3-month interval), forced into the lowered model of both engines. No visit falls before
    entry or before the previous visit, some visits are clamped onto the current time, and the
    engines still agree patient by patient."""
    from oligosim.reference import driver as reference_driver
    from oligosim.reference import run_scenario_reference

    lower = simulate.lower_model
    wide = lambda sc: lower(sc)._replace(scan_window=2.5)  # noqa: E731
    monkeypatch.setattr(simulate, "lower_model", wide)
    monkeypatch.setattr(reference_driver, "lower_model", wide)
    sc = default_scenario()
    ker = simulate.run_scenario(sc, patients=60, seed=SEED, arms=["systemic_only"], events=True).arms["systemic_only"]
    ref = run_scenario_reference(sc, patients=60, seed=SEED, arms=["systemic_only"], events=True).arms["systemic_only"]
    clamped = 0
    for j in range(ker.n):
        t = scheduled_visits(ker, j)
        assert np.all(t >= 0.0) and np.all(np.diff(t) >= 0.0), f"patient {j}: {t}"
        clamped += int(t.size > 0 and t[0] == 0.0) + int(np.count_nonzero(np.diff(t) == 0.0))
        np.testing.assert_allclose(scheduled_visits(ref, j), t, rtol=0, atol=1e-9, err_msg=f"patient {j}")
        assert abs(ker["os"][j] - ref["os"][j]) <= 1e-6 and ker["pfs_event"][j] == ref["pfs_event"][j]
    assert clamped > 0
