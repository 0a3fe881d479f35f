"""A cohort entering later in the disease course (model 3.8): `cohort.entry_line`, the prior
line's class, and the earlier RT course drawn per patient from a mix of courses and a lognormal
interval.

Tested: the configuration rules (key, value and rule in each error); the lowering (the arm's
lines shifted, anti-PD-1 efficacy after progression on it, the entry record); that a cohort
entering at line 2 never receives an arm's first line, runs its second and third lines as the
simulation's lines 1 and 2 and counts lines and time to next treatment from entry; that without
RT it is the same course as the same regimens given as lines 1 and 2 (the pretreatment only
changes what RT does); the drawn courses and intervals against their distributions
(chi-square, Kolmogorov-Smirnov at a fixed seed); that the recurrent nodes carry the drawn course
and re-irradiation is refused exactly when the drawn interval is too short.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oligosim import codes, simulate
from oligosim._kernels import cohort as C
from oligosim._kernels import entry, rng
from oligosim._kernels import rt as krt
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.config import ConfigError
from oligosim.lowering import lower_arm, lower_model, lower_regimens, regimen_names

from conftest import load_fixture

N = 800
SEED = 17
FIXTURE = "second_line_entry.toml"
LC_RECORDS, EVENT_RECORDS = 64, 256


@pytest.fixture(scope="module")
def second_line():
    return load_fixture(FIXTURE)


def _lines(arm, j):
    """(time, regimen) of each line start of patient ``j``."""
    k = arm["ev_n"][j]
    code, t, det = arm.ev_code[j, :k], arm.ev_time[j, :k], arm.ev_detail[j, :k]
    i = np.flatnonzero(code == codes.EV_LINE_START)
    return list(zip(t[i].tolist(), det[i].tolist()))


# ----------------------------------------------------------------------------- configuration


def _error(sc, values) -> str:
    with pytest.raises(ConfigError) as e:
        sc.with_values(values)
    return str(e.value)


def test_an_arms_first_line_is_refused_after_entry_at_line_2(second_line):
    msg = _error(second_line, {"arms.systemic.first_line": "tp_pd1"})
    assert "arms.systemic.first_line" in msg and "'tp_pd1'" in msg and "cohort.entry_line = 2" in msg and "second_line" in msg


def test_prior_systemic_needs_a_later_entry(second_line):
    msg = _error(second_line, {"cohort.entry_line": 1, **{f"arms.{a}.first_line": "tp" for a in second_line.data["arms"]}})
    assert "cohort.prior_systemic" in msg and "'chemo_immunotherapy'" in msg and "entry_line >= 2" in msg


def test_entry_line_range(second_line):
    msg = _error(second_line, {"cohort.entry_line": 3})
    assert "cohort.entry_line" in msg and "3" in msg


def test_concurrent_rt_needs_the_regimen_given_at_entry(second_line):
    msg = _error(second_line, {"arms.concurrent.second_line": "none"})
    assert "arms.concurrent.rt_timing" in msg and "needs a second_line regimen" in msg


def test_prior_rt_course_mix_rules(second_line):
    msg = _error(second_line, {"cohort.prior_rt_courses.crt_60.share": 0.3})
    assert "cohort.prior_rt_courses" in msg and "sum to 1.1" in msg
    msg = _error(second_line, {"cohort.prior_rt_eqd2_gy": 50.0})
    assert "cohort.prior_rt_eqd2_gy" in msg and "not both" in msg
    many = {f"cohort.prior_rt_courses.c{k}": {"eqd2_gy": 40.0, "share": 0.0} for k in range(codes.MAX_PRIOR_COURSES)}
    msg = _error(second_line, many)
    assert "cohort.prior_rt_courses" in msg and f"at most {codes.MAX_PRIOR_COURSES}" in msg


def test_keys_that_would_go_unused_are_refused(second_line):
    msg = _error(second_line, {"cohort.prior_systemic": "chemotherapy", "cohort.prior_pd1_kill_multiplier": 0.3})
    assert "cohort.prior_pd1_kill_multiplier" in msg and "0.3" in msg and "chemo_immunotherapy" in msg
    msg = _error(second_line, {"cohort.prior_rt_courses": {}, "cohort.prior_rt_eqd2_gy": 0.0})
    assert "cohort.prior_rt_months_sdlog" in msg and "none is given" in msg


# ----------------------------------------------------------------------------- lowering


def test_lowering_shifts_the_lines(second_line):
    names = regimen_names(second_line)
    A = lower_arm(second_line, "systemic")
    assert (A.first_line, A.second_line, A.third_line) == (names.index("irinotecan_pd1"), names.index("pd1"), -1)
    A = lower_arm(second_line, "concurrent")
    assert (A.first_line, A.second_line, A.third_line) == (names.index("irinotecan_pd1"), -1, -1)


def test_prior_anti_pd1_lowers_its_component_only(second_line):
    """After chemo-immunotherapy: the anti-PD-1 part of each immunotherapy regimen (its
    maintenance rate, or all of an anti-PD-1 alone) times prior_pd1_kill_multiplier, the
    chemotherapy part kept, durable responders times prior_pd1_durable_multiplier."""
    names = regimen_names(second_line)
    sc = second_line.with_values({"cohort.prior_pd1_kill_multiplier": 0.25, "cohort.prior_pd1_durable_multiplier": 0.5})
    after, before = lower_regimens(sc), lower_regimens(second_line.with_values({"cohort.prior_systemic": "chemotherapy"}))
    regs = sc.data["regimens"]
    for k, name in enumerate(names):
        r = regs[name]
        if not r["immunotherapy"]:
            assert after.kill[k] == before.kill[k] and after.durable[k] == before.durable[k]
            continue
        pd1 = min(r["kill_rate_per_month"], r["maintenance_kill_rate_per_month"]) if r["chemotherapy"] else r["kill_rate_per_month"]
        assert after.kill[k] == pytest.approx(r["kill_rate_per_month"] - 0.75 * pd1, rel=1e-12)
        assert after.maintenance_kill[k] == pytest.approx(0.25 * r["maintenance_kill_rate_per_month"], rel=1e-12)
        assert after.durable[k] == pytest.approx(0.5 * r["durable_fraction"], rel=1e-12)
        assert before.kill[k] == r["kill_rate_per_month"] and before.durable[k] == r["durable_fraction"]


def test_entry_record(second_line):
    E = lower_model(second_line).entry[0]
    assert E["pretreated"] and E["prior_rt_drawn"] and E["n_courses"] == 3
    np.testing.assert_allclose(E["course_cum"][:3], [0.3, 0.8, 1.0])
    np.testing.assert_array_equal(E["course_eqd2"][:3], [0.0, 50.0, 60.0])
    assert (E["interval_median"], E["interval_sdlog"]) == (12.0, 0.6)


# ----------------------------------------------------------------------------- the course


@pytest.fixture(scope="module")
def run(second_line):
    return simulate.run_scenario(second_line, patients=N, seed=SEED, events=True)


def test_no_patient_receives_a_first_line(run, second_line):
    """Only the arm's second line at entry and its third after it: never a first-line regimen,
    never more than two lines, and the line count and time to next treatment from entry."""
    names = regimen_names(second_line)
    second, third = names.index("irinotecan_pd1"), names.index("pd1")
    thirds = 0
    for arm_name, arm in run.arms.items():
        has_third = second_line.data["arms"][arm_name]["third_line"] != "none"
        for j in range(N):
            lines = _lines(arm, j)
            assert [r for _, r in lines[:1]] in ([], [second]), f"{arm_name} {j}: {lines}"
            assert all(r == third for _, r in lines[1:]) and len(lines) <= (2 if has_third else 1)
            assert arm["lines"][j] == len(lines)
            if len(lines) == 2:
                thirds += 1
                # the third line is a next treatment; the line given at entry is not
                assert 0.0 < arm["ttnt"][j] <= lines[1][0]
    assert thirds > 50


def test_without_rt_it_is_the_same_as_those_lines_given_first(second_line):
    """A second-line entry after chemotherapy, without RT, runs exactly as the same regimens
    given as lines 1 and 2: the pretreatment only changes what RT does (model 3.8). The ECOG limits
    of the patient factors are off: they name line numbers, so they differ between the two by design."""
    no_limits = {"patient_factors.max_ecog_second_line": 3, "patient_factors.max_ecog_third_line": 3}
    sc2 = second_line.with_values({"cohort.prior_systemic": "chemotherapy", "arms.systemic.progression.local_therapy": "none", **no_limits})
    sc1 = sc2.with_values({"cohort.entry_line": 1,
                           "arms.systemic.first_line": "irinotecan_pd1", "arms.systemic.second_line": "pd1", "arms.systemic.third_line": "none",
                           "arms.concurrent.first_line": "irinotecan_pd1", "arms.concurrent.second_line": "none"})
    a = simulate.run_scenario(sc2, patients=400, seed=3, arms=["systemic"], events=True).arms["systemic"]
    b = simulate.run_scenario(sc1, patients=400, seed=3, arms=["systemic"], events=True).arms["systemic"]
    for col in a.columns:
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    np.testing.assert_array_equal(a.ev_code, b.ev_code)
    np.testing.assert_array_equal(a.ev_time, b.ev_time)


def test_pretreated_lesions_lose_rt_control(second_line):
    """Upfront RT to chemotherapy-exposed lesions loses chemo_before_rt_bed10_loss_gy (model
    5.6): with the same patients, entry at line 2 gives no higher BED and lower BED on some
    records than the same regimens as lines 1 and 2 (RT before any chemotherapy there)."""
    base = {"cohort.prior_systemic": "chemotherapy"}
    sc2 = second_line.with_values(base)
    sc1 = sc2.with_values({"cohort.entry_line": 1, "arms.upfront_rt.first_line": "irinotecan_pd1",
                           "arms.upfront_rt.second_line": "pd1", "arms.upfront_rt.third_line": "none",
                           **{f"arms.{a}.first_line": "irinotecan_pd1" for a in ("systemic", "concurrent")},
                           "arms.systemic.second_line": "pd1", "arms.systemic.third_line": "none", "arms.concurrent.second_line": "none"})
    a = simulate.run_scenario(sc2, patients=300, seed=4, arms=["upfront_rt"]).arms["upfront_rt"]
    b = simulate.run_scenario(sc1, patients=300, seed=4, arms=["upfront_rt"]).arms["upfront_rt"]
    loss = sc2.data["radiotherapy"]["chemo_before_rt_bed10_loss_gy"]
    first = a.lc_bed[:, 0] > 0  # the first course's first record, given at entry in both
    assert first.sum() > 100
    np.testing.assert_allclose(a.lc_bed[first, 0], np.maximum(b.lc_bed[first, 0] - loss, 0.0), rtol=1e-12)


# ----------------------------------------------------------------------------- prior RT drawn


def _kernel_prior_courses(P, n, seed):
    E = P.entry[0]
    state = np.zeros(rng.N_PURPOSES, np.uint64)
    out = np.zeros((n, 2))
    for pid in range(n):
        rng.init_streams(seed, pid, state)
        out[pid] = entry.prior_course(E, state)
    return out


def test_drawn_courses_follow_the_mix_and_the_lognormal(second_line):
    """Chi-square of the course counts against their shares, KS of the standardised log
    interval against N(0, 1), 20,000 patients at a fixed seed."""
    n = 20000
    drawn = _kernel_prior_courses(lower_model(second_line), n, seed=99)
    counts = [np.sum(drawn[:, 0] == d) for d in (0.0, 50.0, 60.0)]
    assert sum(counts) == n
    assert stats.chisquare(counts, [0.3 * n, 0.5 * n, 0.2 * n]).pvalue > 1e-3
    z = np.log(drawn[:, 1] / 12.0) / 0.6
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_without_spread_or_mix_nothing_is_drawn(second_line):
    sc = second_line.with_values({"cohort.prior_rt_months_sdlog": 0.0, "cohort.prior_rt_courses": {}, "cohort.prior_rt_eqd2_gy": 50.0})
    assert not lower_model(sc).entry[0]["prior_rt_drawn"]


def _kernel_patients(P, n, seed):
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    for pid in range(n):
        rng.init_streams(seed, pid, W.streams)
        m = C.draw_patient(P, W, L)
        assert m >= 0
        yield pid, W.state[0], L, m


def test_recurrent_nodes_carry_the_drawn_course_and_refusal_follows_the_interval(second_line):
    """The regional nodes of a metachronous recurrence carry the patient's drawn course (none:
    not irradiated), every lesion at entry is chemotherapy-exposed, and at entry re-irradiation is
    refused exactly when the drawn interval is below reirradiation_min_interval_months (the dose
    made small enough to pass the cumulative limit)."""
    sc = second_line.with_values({"cohort.prior_rt_courses.crt_50.eqd2_gy": 10.0, "cohort.prior_rt_courses.crt_60.eqd2_gy": 12.0,
                                  "cohort.prior_rt_months": 6.0, "radiotherapy.reirradiation_min_interval_months": 6.0})
    P = lower_model(sc)
    A = lower_arm(sc, "upfront_rt")
    expect = _kernel_prior_courses(P, 1500, seed=8)
    refused = allowed = 0
    for pid, st, L, m in _kernel_patients(P, 1500, seed=8):
        assert all(L["chemo_exposed"][i] for i in range(m))
        eqd2, months = expect[pid]
        for i in range(m):
            if L["organ"][i] != codes.REGIONAL_NODE or L["irradiated"][i] == 0:
                continue  # not in an earlier field: never a re-irradiation
            assert st["presentation"] != codes.SYNCHRONOUS
            assert (L["site_eqd2"][i], L["site_time"][i]) == (eqd2, -months) and eqd2 > 0.0
            ok = krt.reirradiation_allowed(P, A, L, i, 0.0)
            assert ok == (months >= 6.0), (pid, months)
            refused += not ok
            allowed += ok
    assert refused > 50 and allowed > 50


def test_metachronous_nodes_without_a_course_when_none_is_drawn(second_line):
    P = lower_model(second_line)
    expect = _kernel_prior_courses(P, 600, seed=2)
    seen = {0.0: 0, 50.0: 0, 60.0: 0}
    for pid, st, L, m in _kernel_patients(P, 600, seed=2):
        if st["presentation"] == codes.SYNCHRONOUS:
            continue
        eqd2 = expect[pid, 0]
        for i in range(m):
            # the recurrent nodes are the first regional nodes drawn: none of them occult after surgery
            if L["organ"][i] == codes.REGIONAL_NODE and L["irradiated"][i] == 1:
                assert L["site_eqd2"][i] == eqd2 > 0.0
                seen[eqd2] += 1
            elif L["organ"][i] == codes.REGIONAL_NODE and eqd2 == 0.0 and L["seen"][i]:
                assert L["site_eqd2"][i] == 0.0 and L["site_time"][i] == 0.0
                seen[0.0] += 1
    assert min(seen.values()) > 5, seen
