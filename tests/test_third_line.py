"""A third line of systemic therapy (model 5.1): `arms.<name>.third_line` starts when the second
line fails at a rapid or widespread progression; 'none' is best supportive care after it.

Tested: the third line starts exactly when the second has failed (event by event), never
otherwise; common random numbers (patients who never reach a failed second line are untouched,
column by column); a third line that kills nothing changes nothing but the events and toxicity
of its own; it lengthens survival after the second line's failure when it kills; and the
configuration rule that a third line needs a second.
"""

from __future__ import annotations

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim.config import ConfigError

N = 1500
SEED = 31
ARMS = ["systemic_only", "at_progression"]


def _with_third(sc, reg="pd1"):
    return sc.with_values({f"arms.{a}.third_line": reg for a in ARMS})


@pytest.fixture(scope="module")
def runs(default_scenario):
    off = simulate.run_scenario(default_scenario, patients=N, seed=SEED, arms=ARMS, events=True)
    on = simulate.run_scenario(_with_third(default_scenario), patients=N, seed=SEED, arms=ARMS, events=True)
    return off, on


def _lines(arm, j):
    """(time, regimen) of each line start of patient ``j``."""
    k = arm["ev_n"][j]
    code, t, det = arm.ev_code[j, :k], arm.ev_time[j, :k], arm.ev_detail[j, :k]
    i = np.flatnonzero(code == codes.EV_LINE_START)
    return list(zip(t[i].tolist(), det[i].tolist()))


def test_third_line_starts_when_the_second_fails(runs, default_scenario):
    """With a third line, a patient starts it exactly when the run without it shows a failed
    second line (a line stop at a progression, while alive, with no tumour fistula), and at that
    time; the patients who never get there have the same lines."""
    off, on = runs
    names = sorted(default_scenario.data["regimens"])
    pd1 = names.index("pd1")
    started = 0
    for name in ARMS:
        a0, a1 = off.arms[name], on.arms[name]
        for j in range(N):
            l0, l1 = _lines(a0, j), _lines(a1, j)
            assert l1[: len(l0)] == l0, f"{name} patient {j}: lines before the third differ"
            if len(l1) > len(l0):
                assert len(l1) == len(l0) + 1 == 3 and l1[2][1] == pd1
                started += 1
    assert started > 50


def test_patients_who_never_need_it_are_untouched(runs):
    """Common random numbers: a patient who never starts a second line has the same course,
    column by column (times to 1e-9); one who starts a third has the same PFS and lives longer on
    average (a line that kills). (A widespread patient whose second line has ended without failing
    is no longer palliative while a third could start, so later scans, and local therapy at a
    later oligometastatic progression, can change the course of patients who never start it.)"""
    off, on = runs
    for name in ARMS:
        a0, a1 = off.arms[name], on.arms[name]
        third = np.array([len(_lines(a1, j)) == 3 for j in range(N)])
        # patients whose second line never started cannot be touched by a third
        second = np.array([len(_lines(a0, j)) >= 2 for j in range(N)])
        assert 0.1 < second.mean() < 0.95
        for col, v0 in a0.columns.items():
            if col == "ev_n":
                # a widespread patient whose second line has ended is not palliative while a third
                # line could still start: its later scans are logged (model 7.5)
                continue
            v1 = a1.columns[col]
            if v0.dtype.kind == "f":
                # ... and they split the hazard integrals at other points: the same course to rounding
                same = np.isclose(v0, v1, rtol=1e-9, atol=1e-9) | (np.isnan(v0) & np.isnan(v1))
            else:
                same = v0 == v1
            assert same[~second].all(), f"{name}.{col} changed for patients who never started a second line"
        assert np.all(a1["pfs"][third] == a0["pfs"][third])  # it comes after the first progression
        assert np.mean(a1["os"][third]) > np.mean(a0["os"][third])


def test_a_third_line_that_kills_nothing_changes_only_its_own_events(default_scenario):
    """The third line with zero kill rates and no toxicity: every outcome of every patient is the
    one of best supportive care (death cause, first failure, RT courses exactly; times to 1e-9)."""
    inert = default_scenario.with_values(
        {"regimens.pd1.kill_rate_per_month": 0.0, "regimens.pd1.maintenance_kill_rate_per_month": 0.0, "regimens.pd1.grade5": 0.0,
         **{f"regimens.pd1.grade3plus.{t}": 0.0 for t in codes.SYSTEMIC_TOX_NAMES}}
    )
    # an arm without local therapy at progression: where the strategy gives local therapy at a
    # later oligometastatic progression, the scans kept while a third line could start can
    # lead to it (model 7.5), which is a real difference
    kw = dict(patients=600, seed=4, arms=["systemic_only"])
    a = simulate.run_scenario(inert, **kw)
    b = simulate.run_scenario(_with_third(inert), **kw)
    for name in ["systemic_only"]:
        for col in ("os_event", "death_cause", "first_failure", "rt_courses", "pfs_event"):
            np.testing.assert_array_equal(a.arms[name][col], b.arms[name][col], err_msg=f"{name}.{col}")
        for col in ("os", "pfs", "wpfs"):  # the inert line's events split the hazard integrals: to rounding
            np.testing.assert_allclose(a.arms[name][col], b.arms[name][col], rtol=1e-9, atol=1e-9, err_msg=f"{name}.{col}")


def test_third_line_needs_a_second(default_scenario):
    with pytest.raises(ConfigError) as e:
        default_scenario.with_values({"arms.systemic_only.second_line": "none", "arms.systemic_only.third_line": "pd1"})
    assert "arms.systemic_only.third_line" in str(e.value) and "needs a second_line" in str(e.value)
