"""Endpoints recorded beside the course (model 7.6): time to next treatment, RECIST 1.1 response at
the first assessment, the organs involved at entry.

Both engines record them (oligosim._kernels.record, oligosim.reference.record); with the same
seed every patient has the same course, so the recorded values must coincide patient by patient.
Recording reads the state and changes nothing: the other outputs are the same with or without it
(checked against the outputs before the recording was added when it was written; here, by the
engines agreeing and the values following from the event log).
"""

from __future__ import annotations

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim.analysis.response import classify
from oligosim.config import load_scenario
from oligosim.reference import record as reference_record
from oligosim.reference import run_scenario_reference
from oligosim.reference.cohort import ACTIVE, ERADICATED, logv_of_diameter

from conftest import CONFIGS

NEW_COLUMNS = ("ttnt", "ttnt_event", "organs_entry", "recist_base_cm", "recist_first_cm", "recist_new", "recist_clear")


def _default():
    return load_scenario(CONFIGS / "default.toml")


@pytest.mark.parametrize(
    "values, arms, seed",
    [
        ({}, ["systemic_only", "upfront_rt", "at_progression"], 11),
        # a small lesion cap: uncounted disease beyond it is new disease at a scan
        ({"simulation.max_lesions": 6}, ["consolidative"], 5),
    ],
)
def test_engines_record_the_same_values(values, arms, seed):
    sc = _default().with_values(values)
    n = 200
    ref = run_scenario_reference(sc, patients=n, seed=seed, arms=arms)
    ker = simulate.run_scenario(sc, patients=n, seed=seed, arms=arms)
    for name in arms:
        a, b = ref.arms[name], ker.arms[name]
        for c in NEW_COLUMNS:
            assert a[c].dtype == b[c].dtype, c
        np.testing.assert_allclose(a["ttnt"], b["ttnt"], rtol=0, atol=1e-6, err_msg=name)
        for c in ("ttnt_event", "organs_entry", "recist_new", "recist_clear"):
            np.testing.assert_array_equal(a[c], b[c], err_msg=f"{name} {c}")
        for c in ("recist_base_cm", "recist_first_cm"):
            np.testing.assert_allclose(a[c], b[c], rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=f"{name} {c}")
        # teeth: the columns vary
        assert np.any(b["ttnt"] < b["os"]) and np.any(b["ttnt"] == b["os"])
        assert len(set(classify(b["recist_base_cm"], b["recist_first_cm"], b["recist_new"], b["recist_clear"]).tolist())) >= 3


@pytest.mark.parametrize("mutation", ["three_per_organ", "rt_at_progression_ignored"])
def test_the_engine_comparison_sees_a_change_in_one_engine(monkeypatch, mutation):
    """Teeth: a change to the reference's recording alone makes the engines disagree."""
    if mutation == "three_per_organ":
        monkeypatch.setattr(reference_record, "MAX_TARGETS_PER_ORGAN", 3)
        column = "recist_base_cm"
    else:
        original = reference_record.starts_next_treatment
        monkeypatch.setattr(
            reference_record, "starts_next_treatment",
            lambda code, detail, line, progressed: code != codes.EV_RT_START and original(code, detail, line, progressed),
        )
        column = "ttnt"
    sc = _default()
    arms = ["at_progression"]
    ref = run_scenario_reference(sc, patients=200, seed=11, arms=arms)
    ker = simulate.run_scenario(sc, patients=200, seed=11, arms=arms)
    a, b = ref.arms["at_progression"][column], ker.arms["at_progression"][column]
    assert not np.allclose(a, b, rtol=1e-5, atol=1e-6), mutation


@pytest.fixture(scope="module")
def logged():
    sc = _default()
    return sc, simulate.run_scenario(sc, patients=1500, seed=3, events=True)


def _ttnt_from_log(time, code, detail, no_first_line: bool):
    """Time to next treatment read back from one patient's event log (an independent reading)."""
    starts = 0
    for t, c, d in zip(time, code, detail):
        if c == codes.EV_LINE_START:
            starts += 1
            if no_first_line or starts >= 2:
                return t, True
        elif (c == codes.EV_RT_START and d == codes.PLAN_PROGRESSION) or c == codes.EV_ALT_LOCAL:
            return t, True
        elif c in (codes.EV_DEATH_DISEASE, codes.EV_DEATH_OTHER, codes.EV_DEATH_TREATMENT):
            return t, True
        elif c == codes.EV_CENSORED:
            return t, False
    raise AssertionError("the log has no terminal event")


def test_ttnt_follows_from_the_event_log(logged):
    sc, res = logged
    for name, arm in res.arms.items():
        no_first = sc.data["arms"][name]["first_line"] == "none"
        assert np.all(arm["ttnt"] <= arm["os"]) and np.all(arm["ttnt"] >= 0)
        # censored only when alive at the end of follow-up
        assert np.all(arm["ttnt"][~arm["ttnt_event"]] == arm["os"][~arm["ttnt_event"]])
        assert not np.any(~arm["ttnt_event"] & arm["os_event"])
        for j in range(arm.n):
            k = min(int(arm["ev_n"][j]), arm.ev_time.shape[1])
            assert k == int(arm["ev_n"][j]), "the log was cut: enlarge EVENT_RECORDS in the test"
            t, e = _ttnt_from_log(arm.ev_time[j, :k], arm.ev_code[j, :k], arm.ev_detail[j, :k], no_first)
            assert (arm["ttnt"][j], bool(arm["ttnt_event"][j])) == (t, e), (name, j)


def test_ttnt_is_os_without_a_next_treatment():
    """An arm that gives nothing after the first line (no second line, no local therapy at
    progression; an urgent course for symptomatic disease at entry is part of the first plan):
    time to next treatment is OS."""
    sc = _default().with_values({"arms.systemic_only.second_line": "none"})
    arm = simulate.run_scenario(sc, patients=500, seed=3, arms=["systemic_only"]).arms["systemic_only"]
    assert np.all(arm["lines"] <= 1) and np.any(arm["local_courses"] > 0)
    np.testing.assert_array_equal(arm["ttnt"], arm["os"])
    np.testing.assert_array_equal(arm["ttnt_event"], arm["os_event"])


def test_first_assessment_is_the_first_scan(logged):
    _, res = logged
    for name, arm in res.arms.items():
        for j in range(arm.n):
            k = int(arm["ev_n"][j])
            code, time, detail = arm.ev_code[j, :k], arm.ev_time[j, :k], arm.ev_detail[j, :k]
            scans = np.flatnonzero(code == codes.EV_SCAN)
            assert np.isnan(arm["recist_first_cm"][j]) == (scans.size == 0), (name, j)
            if arm["recist_new"][j]:
                # a new lesion is a progression at that scan in the kernel's own assessment
                t0 = time[scans[0]]
                assert np.any((code == codes.EV_PROGRESSION) & (time == t0)), (name, j)
            if arm["recist_clear"][j]:
                assert arm["recist_first_cm"][j] == 0.0
        # the organ mask: the primary is in place in synchronous disease and seen
        syn = arm["presentation"] == codes.SYNCHRONOUS
        assert np.all(arm["organs_entry"][syn] & (1 << codes.PRIMARY))
        assert np.all(arm["organs_entry"] > 0)


# ----------------------------------------------------------------------------- target lesions


class _Lesion:
    def __init__(self, organ, d_cm, seen=True, status=ACTIVE):
        self.organ, self.logv, self.seen, self.status = organ, logv_of_diameter(d_cm), seen, status
        self.det_logv = logv_of_diameter(0.5)

    @property
    def visible(self):
        return self.status == ACTIVE and self.logv >= self.det_logv


def test_target_lesions_follow_recist():
    """Five at most, two per organ (every node one organ), largest first, measurable sizes only,
    the primary never a target."""
    L = [
        _Lesion(codes.PRIMARY, 5.0),
        _Lesion(codes.LIVER, 3.0), _Lesion(codes.LIVER, 2.0), _Lesion(codes.LIVER, 4.0),
        _Lesion(codes.REGIONAL_NODE, 2.5), _Lesion(codes.DISTANT_NODE, 2.2), _Lesion(codes.DISTANT_NODE, 3.5),
        _Lesion(codes.LUNG, 0.9),  # below 10 mm: not measurable
        _Lesion(codes.DISTANT_NODE, 1.4),  # a node below 15 mm
        _Lesion(codes.BONE, 1.2), _Lesion(codes.ADRENAL, 0.3, seen=False),  # occult
    ]
    targets, total = reference_record.select_targets(L)
    assert [L.index(t) for t in targets] == [3, 6, 1, 4, 9]
    assert total == pytest.approx(4.0 + 3.5 + 3.0 + 2.5 + 1.2)
    # at the first scan: the liver target eradicated, another shrunk; nothing new
    L[3].status = ERADICATED
    L[1].logv = logv_of_diameter(1.5)
    first, new, clear = reference_record.first_assessment(L, targets, False)
    assert first == pytest.approx(1.5 + 3.5 + 2.5 + 1.2) and not new and not clear
    # an unseen lesion now visible is new
    L[10].logv = logv_of_diameter(1.0)
    assert reference_record.first_assessment(L, targets, False)[1]
    assert reference_record.organs_mask(L) == sum(1 << o for o in (codes.PRIMARY, codes.LIVER, codes.REGIONAL_NODE, codes.DISTANT_NODE, codes.LUNG, codes.BONE))
