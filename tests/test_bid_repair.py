"""Twice-daily schedules and re-irradiation schedules by site (model 6.2, 6.6), in both engines.

With ``k`` fractions of ``d`` Gy a day, ``interval`` hours apart, the damage left unrepaired
after one interval, ``theta = 2^(-interval / T_half)`` (Thames 1985), adds ``S(k) = 2 sum_{l<k}
(k - l) theta^l`` quadratic terms a day: for BID ``S = 2 theta``, so ``n`` fractions on ``n / 2``
days give

    BED = n d (1 + d / (alpha/beta)) + (n / 2) 2 theta d^2 / (alpha/beta),

written out here (not taken from the package), with the tumour's half-time for BED10 and the
marrow and the late tissue's for the esophagus, the lung and the cumulative re-irradiation dose.
The kernel is driven through ``rt.deliver_course`` as in ``test_kernel_mechanisms``, the
reference through its own schedule and dose functions; the cross-engine suite
(``tests/test_cross_engine.py``) compares whole courses.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import rng, rt
from oligosim.config import ConfigError
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.radiobiology import core
from oligosim import radiobiology as rb
from oligosim.reference import rt as reference_rt

from conftest import make_scenario
from test_kernel_mechanisms import _ntcp, _workspace

INTERVAL_H = 6.0


def _theta(half_time_h, interval_h=INTERVAL_H):
    return 0.5 ** (interval_h / half_time_h)


def _bid_bed(dose, fractions, ab, theta):
    """Closed form of a BID course (an even number of fractions): full days of two fractions."""
    d = dose / fractions
    return fractions * d * (1.0 + d / ab) + (fractions / 2) * 2.0 * theta * d * d / ab


def _bid_eqd2(dose, fractions, ab, theta):
    return _bid_bed(dose, fractions, ab, theta) / (1.0 + 2.0 / ab)


@pytest.fixture(scope="module")
def bid(default_scenario):
    """(P, R, A, scenario): the default upfront arm, one metastasis schedule of 45 Gy / 30 BID
    (6 h apart),
    with re-irradiation schedules for the liver (30 Gy / 10 daily), the lung (36 Gy / 24 BID, 8 h
    apart) and the primary's field (45 Gy / 30 BID)."""
    sc = default_scenario.with_values(
        {
            # a tumour half-time at the upper end of its range, so that its repair term shows
            "radiotherapy.repair_half_time_early_h": 2.0,
            "arms.upfront_rt.fractions_per_day": 2,
            "arms.upfront_rt.interfraction_interval_h": INTERVAL_H,
            "arms.upfront_rt.reirradiation_schedules.liver": {"dose_gy": 30.0, "fractions": 10},
            "arms.upfront_rt.reirradiation_schedules.lung": {"dose_gy": 36.0, "fractions": 24, "fractions_per_day": 2, "interfraction_interval_h": 8.0},
            "arms.upfront_rt.reirradiation_schedules.primary": {"dose_gy": 45.0, "fractions": 30, "fractions_per_day": 2},
        }
    )
    A = lower_arm(sc, "upfront_rt")._replace(by_site=False, metastasis_dose=45.0, metastasis_fractions=30)
    return lower_model(sc), lower_regimens(sc), A, sc


def test_lowered_thetas_are_the_unrepaired_shares(bid, default_scenario):
    P, R, A, sc = bid
    rt_sec = sc.data["radiotherapy"]
    early, late = rt_sec["repair_half_time_early_h"], rt_sec["repair_half_time_late_h"]
    assert A.theta_early == pytest.approx(_theta(early), rel=1e-14)
    assert A.theta_late == pytest.approx(_theta(late), rel=1e-14)
    o, s = codes.LUNG, 0
    assert A.reirr_fractions[o, s] == 24 and A.reirr_per_day[o, s] == 2
    assert A.reirr_theta[o, s, 1] == pytest.approx(_theta(late, 8.0), rel=1e-14)
    # a daily re-irradiation schedule and every daily arm: complete repair, theta exactly 0
    assert A.reirr_fractions[codes.LIVER, 3] == 10 and A.reirr_theta[codes.LIVER, 3, 0] == 0.0
    for name in default_scenario.data["arms"]:
        a = lower_arm(default_scenario, name)
        assert a.theta_early == 0.0 and a.theta_late == 0.0 and not a.reirr_fractions.any()


def test_kernel_bid_course_bed10_and_control(bid):
    """A BID course's BED10 (its local-control record and the TCP that decides control) is the
    closed form with the tumour's theta, and the public radiobiology.bed with the same options."""
    P, R, A, sc = bid
    P = P._replace(chemo_before_rt=False)
    half = sc.data["radiotherapy"]["repair_half_time_early_h"]
    expected = _bid_bed(45.0, 30, P.ab_tumour, _theta(half))
    assert expected > core.bed(1.5, 30, P.ab_tumour) + 1e-3  # the repair term is not negligible
    public = rb.bed(1.5, 30, P.ab_tumour, fractions_per_day=2, interfraction_interval_h=INTERVAL_H, repair_half_time_h=half)
    assert public == pytest.approx(expected, rel=1e-12)
    volume = 2.0
    p = core.tcp(expected, volume, P.tcp_bed50, P.tcp_gamma50, P.tcp_volume_ref, P.tcp_volume_exponent)
    us = [p - 1e-9, p + 1e-9]
    W, L = _workspace(P, [codes.LIVER, codes.LIVER], [math.log(volume)] * 2, us)
    rt.deliver_course(P, R, A, W, L)
    np.testing.assert_allclose(W.lc_bed[:2], expected, rtol=1e-12)
    assert L["status"][0] == C.CONTROLLED and L["status"][1] != C.CONTROLLED


def test_kernel_bid_organ_doses_decide_toxicity(bid):
    """The esophagus and lung EQD2 (late theta) and the marrow EQD2 (tumour theta) of a BID course
    to the primary decide esophagitis, pneumonitis and leukopenia draw by draw; the daily
    formula's probabilities would decide some draws differently."""
    P, R, A, sc = bid
    rt_sec = sc.data["radiotherapy"]
    th_early, th_late = _theta(rt_sec["repair_half_time_early_h"]), _theta(rt_sec["repair_half_time_late_h"])
    dose, fractions, organ = 45.0, 30, codes.PRIMARY
    A = A._replace(primary_dose=dose, primary_fractions=fractions)
    f_eso, f_lung, f_marrow = P.eso_fraction[organ, 0], P.lung_fraction[organ], P.tx[0]["marrow_fraction"][organ]
    eso = _bid_eqd2(f_eso * dose, fractions, P.ab_late, th_late)
    lung = _bid_eqd2(f_lung * dose, fractions, P.ab_late, th_late)
    marrow = _bid_eqd2(f_marrow * dose, fractions, P.ab_tumour, th_early)
    # the NTCP curves centred near these doses, so that the repair term moves the probabilities
    tx = P.tx.copy()
    tx[0]["marrow_td50"] = marrow
    tx[0]["elderly_or"] = 1.0  # the patient's own odds ratio is tested in test_organs_at_risk
    P = P._replace(esophagitis_td50=eso, fistula_td50=1e6, pneumonitis_td50=lung, tx=tx)
    p_e = _ntcp(eso, P.esophagitis_td50, P.esophagitis_m)
    p_p = _ntcp(lung, P.pneumonitis_td50, P.pneumonitis_m)
    p_m = _ntcp(marrow, tx[0]["marrow_td50"], tx[0]["marrow_m"])
    daily = [core.eqd2(f * dose / fractions, fractions, ab) for f, ab in ((f_eso, P.ab_late), (f_lung, P.ab_late), (f_marrow, P.ab_tumour))]
    q_e = _ntcp(daily[0], P.esophagitis_td50, P.esophagitis_m)
    q_p = _ntcp(daily[1], P.pneumonitis_td50, P.pneumonitis_m)
    q_m = _ntcp(daily[2], tx[0]["marrow_td50"], tx[0]["marrow_m"])
    n = 1500
    seen = np.zeros((n, 3), bool)
    u = np.zeros((n, 6))
    for pid in range(n):
        W, L = _workspace(P, [organ], [math.log(10.0)], [0.5], seed=91, pid=pid)
        rt.deliver_course(P, R, A, W, L)
        seen[pid] = W.tox_seen[codes.ESOPHAGITIS], W.tox_seen[codes.PNEUMONITIS], W.tox_seen[codes.LEUKOPENIA]
        u[pid] = rng.uniforms(91, pid, rng.TOXICITY, 6)
    np.testing.assert_array_equal(seen[:, 0], u[:, 0] < p_e)
    np.testing.assert_array_equal(seen[:, 1], u[:, 2] < p_p)
    np.testing.assert_array_equal(seen[:, 2], u[:, 5] < p_m)
    # teeth: with complete repair some patients would have been decided otherwise
    for col, ucol, q in ((0, 0, q_e), (1, 2, q_p), (2, 5, q_m)):
        assert (seen[:, col] != (u[:, ucol] < q)).any()


def test_kernel_reirradiation_by_site_and_cumulative_dose(bid):
    """A lesion irradiated before gets its site's re-irradiation schedule (lung: 36 Gy / 24 BID,
    8 h apart; liver: 30 Gy / 10 daily); its cumulative late EQD2 adds that schedule's EQD2 (late
    theta) to the recovered prior dose (model 6.6). A site without one keeps the arm's schedule."""
    P, R, A, sc = bid
    P = P._replace(chemo_before_rt=False)
    rt_sec = sc.data["radiotherapy"]
    th_lung_t = _theta(rt_sec["repair_half_time_early_h"], 8.0)
    th_lung_l = _theta(rt_sec["repair_half_time_late_h"], 8.0)
    organs = [codes.LUNG, codes.LIVER, codes.BONE]
    W, L = _workspace(P, organs, [math.log(2.0)] * 3, [0.5] * 3)
    prior, months = 70.0, 14.0
    for i in range(3):
        L["irradiated"][i] = 1
        L["site_eqd2"][i] = prior
        L["site_time"][i] = W.state[0]["t"] - months
    # the course lasts its longest schedule's treatment days on weekdays: the bone's 30 BID
    # fractions, 15 days, 19 calendar days (the lung's 24 BID would take 12 days, 16 calendar)
    assert rt.course_months(A, L, 3) == pytest.approx(19 * 12.0 / 365.25, rel=1e-12)
    assert rt.course_months(A, L, 1) == pytest.approx(16 * 12.0 / 365.25, rel=1e-12)
    rt.deliver_course(P, R, A, W, L)
    bed10 = [_bid_bed(36.0, 24, P.ab_tumour, th_lung_t), core.bed(3.0, 10, P.ab_tumour), _bid_bed(45.0, 30, P.ab_tumour, A.theta_early)]
    np.testing.assert_allclose(W.lc_bed[:3], bed10, rtol=1e-12)
    new = [_bid_eqd2(36.0, 24, P.ab_late, th_lung_l), core.eqd2(3.0, 10, P.ab_late), _bid_eqd2(45.0, 30, P.ab_late, A.theta_late)]
    recovered = P.recovery_max * (1.0 - 2.0 ** (-months / P.recovery_half_time))
    np.testing.assert_allclose(L["site_eqd2"][:3], [prior * (1.0 - recovered) + e for e in new], rtol=1e-12)


def test_reference_schedule_and_doses_are_the_closed_form(bid):
    """The reference engine's schedule and dose functions give the same closed forms."""
    P, R, A, sc = bid
    rt_sec = sc.data["radiotherapy"]
    th_early, th_late = _theta(rt_sec["repair_half_time_early_h"]), _theta(rt_sec["repair_half_time_late_h"])

    def lesion(organ, irradiated):
        return types.SimpleNamespace(organ=organ, subsite=0, with_primary=False, irradiated=irradiated)

    d, k, per_day, te, tl = reference_rt.schedule_of(A, lesion(codes.LIVER, 0))
    assert (d, k, per_day) == (1.5, 30, 2)
    assert reference_rt.bed(d, k, P.ab_tumour, per_day, te) == pytest.approx(_bid_bed(45.0, 30, P.ab_tumour, th_early), rel=1e-12)
    assert reference_rt.eqd2_late(P, A, lesion(codes.LIVER, 0)) == pytest.approx(_bid_eqd2(45.0, 30, P.ab_late, th_late), rel=1e-12)
    # re-irradiation of the primary's field: its own BID schedule; of the liver: daily
    assert reference_rt.schedule_of(A, lesion(codes.REGIONAL_NODE, 1))[:3] == (1.5, 30, 2)
    assert reference_rt.schedule_of(A, lesion(codes.LIVER, 1)) == (3.0, 10, 1, 0.0, 0.0)
    assert reference_rt.eqd2_late(P, A, lesion(codes.LIVER, 1)) == core.eqd2(3.0, 10, P.ab_late)
    # one fraction a day: the extended formula is the plain one, bit for bit
    for dd, kk, ab in ((2.0, 30, 3.0), (8.0, 5, 10.0), (1.8, 28, 10.0)):
        assert reference_rt.bed(dd, kk, ab, 1, 0.0) == core.bed(dd, kk, ab)
        assert reference_rt.eqd2(dd, kk, ab, 1, 0.0) == core.eqd2(dd, kk, ab)


# ----------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    "arm_text,key,rule",
    [
        ("interfraction_interval_h = 8.0", "arms.a.interfraction_interval_h", "is used only with fractions_per_day >= 2"),
        ("fractions_per_day = 3\ninterfraction_interval_h = 10.0", "arms.a.interfraction_interval_h", "must be <= 24 h / fractions_per_day = 8 h"),
        ("fractions_per_day = 2\ninterfraction_interval_h = 0.0", "arms.a.interfraction_interval_h", "must be within (0, 24] (h)"),
        ("reirradiation_schedules.lungs = { dose_gy = 30.0, fractions = 10 }", "arms.a.reirradiation_schedules.lungs", "invalid name"),
        ("reirradiation_schedules.lung = { dose_gy = 30.0 }", "arms.a.reirradiation_schedules.lung.fractions", "missing required key"),
        ("reirradiation_schedules.primary = { dose_gy = 45.0, fractions = 30, interfraction_interval_h = 6.0 }",
         "arms.a.reirradiation_schedules.primary.interfraction_interval_h", "is used only with fractions_per_day >= 2"),
        ("reirradiation_schedules.primary = { dose_gy = 45.0, fractions = 30, fractions_per_day = 4 }",
         "arms.a.reirradiation_schedules.primary.fractions_per_day", "must be within [1, 3]"),
        ("reirradiation_schedules.liver = { dose_gy = 30.0, fractions = 10, per_day = 2 }",
         "arms.a.reirradiation_schedules.liver.per_day", "unknown key"),
    ],
)
def test_bad_daily_and_reirradiation_keys_are_refused(arm_text, key, rule):
    text = f'[arms.a]\nfirst_line = "tp"\nrt_timing = "upfront"\n{arm_text}\n'
    with pytest.raises(ConfigError) as e:
        make_scenario(text)
    msg = str(e.value)
    assert key in msg and rule in msg, msg


def test_bad_repair_half_time_is_refused():
    with pytest.raises(ConfigError) as e:
        make_scenario('[radiotherapy]\nrepair_half_time_late_h = -1.0\n[arms.a]\nfirst_line = "tp"\nrt_timing = "upfront"\n')
    msg = str(e.value)
    assert "radiotherapy.repair_half_time_late_h" in msg and "-1" in msg, msg
