"""Patient factors that change over time and act (model 3.9): ECOG decline at progression, the
ECOG limit of each systemic line and of local therapy, other-cause mortality by current ECOG.

Tested: the decline share against its probability (4 standard errors); a patient above a limit
starts no such line or course and the refusal is recorded; the background-mortality hazard ratio
and its exact rescaling at a decline against the closed form of the Gompertz cumulative hazard
(both engines); a factor that is on but cannot act changes nothing but its own events; common
random numbers: switching a factor on leaves untouched the patients it cannot concern; the
toxicity odds read the current ECOG; bad values are refused with the key named.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import cohort as kernel_cohort
from oligosim._kernels import fitness, oar
from oligosim._kernels.state import STATE_DTYPE
from oligosim.config import ConfigError
from oligosim.lowering import lower_model
from oligosim.reference import cohort as reference_cohort
from oligosim.reference import fitness as reference_fitness

from conftest import PATIENT_FACTORS_OFF, assert_arms_identical

N = 1500
SEED = 23
ARMS = ["systemic_only", "upfront_rt", "consolidative", "at_progression"]
#: the KPS column at entry -> ECOG (cohort.ecog: ECOG 0/1/2 are KPS 90/80/60)
ECOG_OF_KPS = {90.0: 0, 80.0: 1, 60.0: 2}


def _run(sc, arms=ARMS, n=N):
    return simulate.run_scenario(sc, patients=n, seed=SEED, arms=arms, events=True)


def _entry_ecog(arm):
    return np.array([ECOG_OF_KPS[float(k)] for k in arm["kps"]])


def _events(arm, j):
    k = int(arm["ev_n"][j])
    assert k <= arm.ev_time.shape[1], "event log overflowed"
    return arm.ev_time[j, :k], arm.ev_code[j, :k], arm.ev_detail[j, :k]


@pytest.fixture(scope="module")
def factors_off(default_scenario):
    """The default scenario with every patient factor off."""
    return default_scenario.with_values(PATIENT_FACTORS_OFF)  # each test switches on what it tests


@pytest.fixture(scope="module")
def off(factors_off):
    return _run(factors_off)


# ----------------------------------------------------------------------------- decline


def test_decline_share_matches_its_probability(factors_off):
    """Each progression of a patient below ECOG 3 is followed, at the same time, by a decline with
    probability p; ECOG 3 never declines further; the recorded ECOG goes up one level at a time."""
    p = 0.3
    res = _run(factors_off.with_values({"patient_factors.ecog_decline_at_progression": p}), arms=["systemic_only", "at_progression"])
    trials = declines = 0
    for arm in res.arms.values():
        ecog0 = _entry_ecog(arm)
        for j in range(N):
            t, code, det = _events(arm, j)
            ecog = int(ecog0[j])
            for i in np.flatnonzero(code == codes.EV_PROGRESSION):
                # the decline, if any, is the next event but one (a widespread event may come first)
                nxt = [k for k in range(i + 1, min(i + 3, len(code))) if code[k] == codes.EV_ECOG_DECLINE and t[k] == t[i]]
                if ecog < codes.ECOG_MAX:
                    trials += 1
                    if nxt:
                        declines += 1
                        assert det[nxt[0]] == ecog + 1
                        ecog += 1
                else:
                    assert not nxt, f"patient {j}: a decline beyond ECOG {codes.ECOG_MAX}"
            assert np.sum(code == codes.EV_ECOG_DECLINE) == ecog - ecog0[j]
    se = math.sqrt(p * (1 - p) / trials)
    assert trials > 1000
    assert abs(declines / trials - p) < 4 * se, f"{declines}/{trials} declines, expected {p}"


def test_decline_alone_changes_nothing_but_its_events(factors_off, off):
    """A decline that acts on nothing (every limit at ECOG 3, hazard ratios 1, ECOG odds ratio 1)
    changes no column of any patient: its PATIENT draws move no other stream; only the event logs
    gain the decline events."""
    on = _run(factors_off.with_values({"patient_factors.ecog_decline_at_progression": 1.0, "toxicity.ecog2_odds_ratio": 1.0}))
    base = off if factors_off.data["toxicity"]["ecog2_odds_ratio"] == 1.0 else _run(factors_off.with_values({"toxicity.ecog2_odds_ratio": 1.0}))
    n_decl = 0
    for name in ARMS:
        a, b = base.arms[name], on.arms[name]
        for c in a.columns:
            if c != "ev_n":
                assert np.array_equal(a[c], b[c], equal_nan=True), f"{name}: column {c} changed"
        for j in range(N):
            ta, ca, da = _events(a, j)
            tb, cb, db = _events(b, j)
            keep = cb != codes.EV_ECOG_DECLINE
            n_decl += int((~keep).sum())
            assert np.array_equal(ca, cb[keep]) and np.array_equal(da, db[keep]) and np.array_equal(ta, tb[keep]), f"{name} patient {j}"
    assert n_decl > 500


# ----------------------------------------------------------------------------- eligibility


def test_unfit_patient_starts_no_first_line(factors_off, off):
    """First line limited to ECOG 0: an ECOG 1 patient starts no line at all (the patient stays
    before line 1, so no later line either) and an 'unfit' event says which line was refused; ECOG
    0 patients are bit-identical to the run without the limit (common random numbers)."""
    on = _run(factors_off.with_values({"patient_factors.max_ecog_first_line": 0}))
    for name in ARMS:
        a, b = off.arms[name], on.arms[name]
        ecog = _entry_ecog(b)
        assert (ecog == 1).sum() > 300 and (ecog == 0).sum() > 300
        assert np.all(b["lines"][ecog == 1] == 0), name
        for j in np.flatnonzero(ecog == 1)[:200]:
            _, code, det = _events(b, j)
            assert codes.EV_LINE_START not in code
            unfit = det[code == codes.EV_UNFIT]
            assert set(unfit.tolist()) <= {1}, f"{name} patient {j}: {unfit}"
            if len(unfit) == 0:
                # the line's moment never came: the initial course had not ended (or killed, or a
                # tumour fistula stopped every treatment)
                assert name == "upfront_rt" and (codes.EV_RT_END not in code or b["death_cause"][j] == codes.DEATH_TREATMENT or b["tumour_fistula"][j])
        assert_arms_identical(a, b, rows=np.flatnonzero(ecog == 0), label=name)


def test_unfit_patient_gets_no_local_course(factors_off, off):
    """Local therapy limited to ECOG 0: an ECOG 1 patient gets no course of the initial plan, no
    consolidation and no course at an oligoprogression (only the urgent palliative course may
    come), each refusal recorded; ECOG 0 patients are untouched."""
    on = _run(factors_off.with_values({"patient_factors.max_ecog_local": 0}))
    refused = 0
    for name in ARMS:
        a, b = off.arms[name], on.arms[name]
        ecog = _entry_ecog(b)
        for j in np.flatnonzero(ecog == 1):
            _, code, det = _events(b, j)
            rt = det[code == codes.EV_RT_START]
            assert np.all(rt == codes.PLAN_URGENT), f"{name} patient {j}: course plans {rt}"
            assert not np.isin(code, codes.PROCEDURE_EVENTS).any()
            refused += int(np.sum((code == codes.EV_UNFIT) & (det == codes.UNFIT_LOCAL)))
        assert_arms_identical(a, b, rows=np.flatnonzero(ecog == 0), label=name)
        if name != "systemic_only":
            assert b["local_courses"][ecog == 1].sum() < a["local_courses"][ecog == 1].sum()
    assert refused > 300


def test_second_line_needs_the_current_ecog(factors_off):
    """Every patient declines at each progression (p = 1) and the second line needs ECOG <= 1: an
    ECOG 1 patient (ECOG 2 at the first progression) never starts a second line, an ECOG 0 patient
    (ECOG 1 then) does whenever the run without the limit gives one at the first progression."""
    sc = factors_off.with_values({"patient_factors.ecog_decline_at_progression": 1.0})
    free = _run(sc, arms=["systemic_only"]).arms["systemic_only"]
    lim = _run(sc.with_values({"patient_factors.max_ecog_second_line": 1}), arms=["systemic_only"]).arms["systemic_only"]
    ecog = _entry_ecog(lim)
    assert np.all(lim["lines"][ecog == 1] <= 1)
    assert (free["lines"][ecog == 1] == 2).sum() > 100
    assert np.array_equal(lim["lines"][ecog == 0], free["lines"][ecog == 0])


# ----------------------------------------------------------------------------- other-cause mortality


def _gompertz_H(r60, b, age, months):
    """Closed-form cumulative other-cause hazard from age ``age`` over ``months``."""
    h0 = r60 * math.exp(b * (age - 60.0))
    return h0 * math.expm1(b * months / 12.0) / b


@pytest.mark.parametrize("hr", [0.5, 1.0, 2.5])
def test_entry_hazard_ratio_is_the_gompertz_inversion(factors_off, hr):
    """hr H(T) = e: the background time drawn with hazard ratio hr (e / hr into the inversion)
    solves the closed form, in both engines alike."""
    P = lower_model(factors_off)
    for age, e in [(50.0, 0.3), (74.0, 1.7), (63.0, 0.01)]:
        t_k = kernel_cohort.gompertz_time(P, age, e / hr)
        t_r = reference_cohort.gompertz_months(P, age, e / hr)
        assert t_k == pytest.approx(t_r, rel=1e-14)
        assert hr * _gompertz_H(P.bg_rate60, P.bg_slope, age, t_k) == pytest.approx(e, rel=1e-12)


@pytest.mark.parametrize("hr_old,hr_new", [(1.0, 2.0), (1.5, 3.0), (2.0, 1.0)])
def test_rescaled_background_is_exact(factors_off, hr_old, hr_new):
    """A decline at t1 changes the hazard ratio: the new time T' uses up the same unit
    exponential, hr_old H(0, t1) + hr_new H(t1, T') = e (closed form), with no new draw; both
    engines give the same T'; the constant-hazard limit (slope 0) scales the remainder."""
    P = lower_model(factors_off)
    r60, b = P.bg_rate60, P.bg_slope
    for age, e, t1 in [(60.0, 0.5, 10.0), (75.0, 2.0, 30.0), (68.0, 0.05, 1.0)]:
        T = kernel_cohort.gompertz_time(P, age, e / hr_old)
        if T <= t1:
            continue
        T2 = fitness.rescaled_background(t1, T, b, hr_old, hr_new)
        assert T2 == pytest.approx(reference_fitness.background_after_change(t1, T, b, hr_old, hr_new), rel=1e-14)
        used = hr_old * _gompertz_H(r60, b, age, t1) + hr_new * _gompertz_H(r60, b, age + t1 / 12.0, T2 - t1)
        assert used == pytest.approx(e, rel=1e-10)
    assert fitness.rescaled_background(2.0, 12.0, 0.0, 1.0, 2.0) == pytest.approx(7.0)


def test_hazard_ratio_acts_on_the_ecog_it_names_only(factors_off, off):
    """Other-cause hazard ratio 3 at ECOG 1: ECOG 0 patients are bit-identical to the run without
    it; ECOG 1 patients die of other causes more often (never later: each one's time is the same
    draw scaled down)."""
    on = _run(factors_off.with_values({"patient_factors.other_cause_hr_ecog1": 3.0}), arms=["systemic_only"])
    a, b = off.arms["systemic_only"], on.arms["systemic_only"]
    ecog = _entry_ecog(b)
    assert_arms_identical(a, b, rows=np.flatnonzero(ecog == 0))
    one = ecog == 1
    other_a = a["death_cause"][one] == codes.DEATH_OTHER
    other_b = b["death_cause"][one] == codes.DEATH_OTHER
    assert other_b.sum() > other_a.sum()
    assert np.all(other_b[other_a])  # an other-cause death only comes earlier
    assert np.all(b["os"][one][other_a] < a["os"][one][other_a])


# ----------------------------------------------------------------------------- toxicity, inputs


def test_toxicity_odds_read_the_current_ecog(factors_off):
    """The ECOG >= 2 odds ratio applies at the current ECOG: a patient who entered at ECOG 1 and
    declined to 2 gets it (kernel and reference)."""
    from oligosim.reference import oar as reference_oar

    P = lower_model(factors_off.with_values({"toxicity.ecog2_odds_ratio": 2.0, "toxicity.elderly_odds_ratio": 1.0}))
    st = np.zeros(1, STATE_DTYPE)
    st[0]["age"], st[0]["ecog"], st[0]["ecog_now"] = 60.0, 1, 1
    assert oar.patient_odds(P, st[0]) == 1.0
    st[0]["ecog_now"] = 2
    assert oar.patient_odds(P, st[0]) == 2.0

    class _Pat:
        age, ecog = 60.0, 1

    assert reference_oar.patient_odds(P, _Pat(), 1) == 1.0
    assert reference_oar.patient_odds(P, _Pat(), 2) == 2.0


@pytest.mark.parametrize(
    "key,value",
    [("max_ecog_second_line", 4), ("max_ecog_local", -1), ("ecog_decline_at_progression", 1.2), ("other_cause_hr_ecog2", 0.0), ("max_ecog_first_line", 1.0)],
)
def test_bad_values_are_refused(factors_off, key, value):
    """No ECOG 4 (the model stops at 3), probabilities in [0, 1], hazard ratios > 0, integer
    limits: each refused with the key named."""
    with pytest.raises(ConfigError, match=f"patient_factors.{key}"):
        factors_off.with_values({f"patient_factors.{key}": value})
