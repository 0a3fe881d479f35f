"""Property tests of the engine: invariants of every patient record, for drawn seeds and arms.

The scenario is ``tests/data/scenarios/busy.toml`` (mixed cohort, every mechanism on) with one
arm rewritten from the drawn strategy.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEATH_EVENTS, EV, TERMINAL_EVENTS, load_fixture
from oligosim import codes
from oligosim.analysis.survival import summarize_survival
from oligosim.results import LC_RECORDS
from oligosim.simulate import run_scenario

BUSY = load_fixture("busy.toml")
HORIZON = float(BUSY.data["simulation"]["horizon_months"])
REGIMENS = ("tp", "tp_pd1", "pf", "pd1")
CAUSE_EVENT = {
    codes.DEATH_DISEASE: EV["death_disease"],
    codes.DEATH_OTHER: EV["death_other"],
    codes.DEATH_TREATMENT: EV["death_treatment"],
    codes.ALIVE: EV["censored"],
}

BOOL_COLUMNS = ("os_event", "pfs_event", "wpfs_event", "pdl1_high")


@st.composite
def strategies(draw):
    timing = draw(st.sampled_from(("none", "upfront", "concurrent", "consolidative", "at_progression")))
    first = draw(st.sampled_from(REGIMENS + (("none",) if timing in ("none", "upfront", "at_progression") else ())))
    values = {
        "rt_timing": timing,
        "first_line": first,
        "second_line": draw(st.sampled_from(("none", "irinotecan_pd1", "pd1"))),
        "progression.local_therapy": draw(st.sampled_from(("none", "oligo", "oligo_slow"))),
        "progression.max_courses": draw(st.integers(0, 4)),
        "max_lesions_irradiated": draw(st.integers(1, 6)),
        "urgent_rt_symptomatic": draw(st.booleans()),
        "concurrent_chemotherapy": draw(st.booleans()),
    }
    return {f"arms.upfront.{k}": v for k, v in values.items()}


def _run(values, seed, patients):
    sc = BUSY.with_values(values)
    return run_scenario(sc, patients=patients, seed=seed, events=True, arms=["upfront"]).arms["upfront"]


def _rt_course_death(arm, j):
    """True if patient j died of the toxicity of an RT course (see the xfail in test_engine)."""
    k = min(int(arm["ev_n"][j]), arm.ev_code.shape[1])
    codes_ = arm.ev_code[j, :k]
    return arm["death_cause"][j] == codes.DEATH_TREATMENT and np.any((codes_ == EV["rt_end"]) & (arm.ev_time[j, :k] == arm["os"][j]))


def check_invariants(arm, horizon):
    n = arm.n
    os, pfs, wpfs = arm["os"], arm["pfs"], arm["wpfs"]
    # ---- column types and ranges
    for c in BOOL_COLUMNS:
        assert arm[c].dtype == np.bool_, c
    assert arm.tox.dtype == np.bool_ and arm.lc_event.dtype == np.bool_
    assert np.all(np.isfinite(os)) and np.all(os >= 0) and np.all(os <= horizon)
    assert np.all(pfs <= os) and np.all(wpfs >= pfs) and np.all(wpfs <= os)
    assert np.all(np.isin(arm["death_cause"], (codes.ALIVE, codes.DEATH_DISEASE, codes.DEATH_OTHER, codes.DEATH_TREATMENT)))
    assert np.array_equal(arm["os_event"], arm["death_cause"] != codes.ALIVE)
    assert np.all(os[~arm["os_event"]] == horizon), "only the horizon censors"
    assert np.all(np.isin(arm["first_failure"], range(len(codes.FAILURE_NAMES))))
    progressed = arm["first_failure"] != codes.FAIL_NONE
    # without a progression, PFS and WPFS are OS
    assert np.array_equal(pfs[~progressed], os[~progressed])
    assert np.array_equal(arm["pfs_event"][~progressed], arm["os_event"][~progressed])
    assert np.all(arm["pfs_event"][progressed])
    assert np.all(arm["rt_courses"] >= 0) and np.all(arm["local_courses"] >= arm["rt_courses"])
    assert np.all(np.isin(arm["lines"], (0, 1, 2)))
    assert np.all(arm["overflow"] >= 0) and np.all(arm["attempts"] >= 1)
    lc_n = arm["lc_n"].astype(int)
    assert np.all((lc_n >= 0) & (lc_n <= LC_RECORDS))
    used = np.arange(LC_RECORDS)[None, :] < lc_n[:, None]
    assert np.all(arm.lc_time[used] >= 0.0)
    assert np.all(arm.lc_time[used] <= os[np.nonzero(used)[0]])
    assert np.all(arm.lc_bed[used] >= 0.0) and np.all(arm.lc_volume[used] > 0.0)
    assert not arm.lc_event[~used].any()
    # ---- summaries are probabilities
    summary = summarize_survival(os, arm["os_event"])
    for v in summary["rate"].values():
        assert v is None or 0.0 <= v <= 1.0
    assert summary["median_months"] is None or 0.0 <= summary["median_months"] <= horizon
    for frac in (arm["os_event"].mean(), arm["pfs_event"].mean(), *arm.tox.mean(axis=0)):
        assert 0.0 <= frac <= 1.0

    # ---- the event log, patient by patient
    cap = arm.ev_code.shape[1]
    overflowed = arm["ev_n"] > cap
    assert overflowed.mean() < 0.05, "event logs overflow: the buffer is too small for this scenario"
    for j in np.flatnonzero(~overflowed):
        k = int(arm["ev_n"][j])
        t = arm.ev_time[j, :k]
        c = arm.ev_code[j, :k].astype(int)
        d = arm.ev_detail[j, :k].astype(int)
        assert k >= 2 and c[0] == EV["entry"] and t[0] == 0.0, j
        # time never runs backward; local failures found in one interval are exempt among
        # themselves (known bug, test_engine.test_local_failures_are_logged_in_time_order) but
        # must lie between the events around them
        lf = c == EV["local_failure"]
        assert np.all(np.diff(t[~lf]) >= 0.0), f"patient {j}: time runs backward"
        for i in np.flatnonzero(lf):
            before = t[:i][~lf[:i]]
            after = t[i + 1 :][~lf[i + 1 :]]
            assert (before.size == 0 or t[i] >= before[-1]) and (after.size == 0 or t[i] <= after[0]), f"patient {j}"
        assert t[-1] == os[j], f"patient {j}: os is not the time of the last event"
        if not _rt_course_death(arm, j):  # known bug, test_engine.test_rt_treatment_death_is_logged_once
            terminal = np.isin(c, TERMINAL_EVENTS)
            assert terminal.sum() == 1 and terminal[-1], f"patient {j}: terminal events at {np.flatnonzero(terminal)} of {k}"
            assert not np.isin(c[:-1], DEATH_EVENTS).any(), f"patient {j}: events after a death"
            assert c[-1] == CAUSE_EVENT[int(arm["death_cause"][j])], f"patient {j}"
            assert (c == EV["rt_end"]).sum() == arm["rt_courses"][j], f"patient {j}"
        else:
            assert c[-1] == EV["death_treatment"]
        prog = np.flatnonzero(c == EV["progression"])
        assert (prog.size == 0) == (arm["first_failure"][j] == codes.FAIL_NONE), f"patient {j}"
        if prog.size:
            assert pfs[j] == t[prog[0]]
        wide = np.flatnonzero(c == EV["widespread"])
        assert wide.size <= 1
        if wide.size:
            assert wpfs[j] == t[wide[0]] and arm["wpfs_event"][j]
            assert arm["first_failure"][j] != codes.FAIL_NONE
        else:
            assert wpfs[j] == os[j] and arm["wpfs_event"][j] == arm["os_event"][j]
        assert (c == EV["line_start"]).sum() == arm["lines"][j], f"patient {j}"
        assert (c == EV["rt_start"]).sum() >= (c == EV["rt_end"]).sum()
        # every event is logged; the counted ones are those inside the counting window (model 9)
        assert set(np.flatnonzero(arm.tox[j])) <= set(d[c == EV["toxicity"]]), f"patient {j}"
        assert (c == EV["local_failure"]).sum() == arm.lc_event[j].sum(), f"patient {j}"


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(values=strategies(), seed=st.integers(0, 2**40), patients=st.integers(50, 200))
def test_patient_records_are_consistent(values, seed, patients):
    check_invariants(_run(values, seed, patients), HORIZON)


def test_invariants_hold_for_every_arm_of_busy():
    # the fixed arms of busy.toml, with more patients, as a deterministic complement
    res = run_scenario(BUSY, patients=400, seed=3, events=True)
    for arm in res.arms.values():
        check_invariants(arm, HORIZON)
