"""Time off systemic therapy after surgery or thermal ablation (model 6.10).

Tested: the schema (defaults per modality, a negative hold refused naming the key) and its
lowering; the hold's length, exactly: a first line started at entry right after a procedure, and
a running line at the consolidation check's procedure, end their induction later by exactly the
hold (in months) than with no hold, on the same patients (a hold takes no random draw); patients
without a procedure run exactly as with no hold. The cross-engine identity of the mechanism is
in tests/test_cross_engine.py (case ``procedure_pause``).
"""

from __future__ import annotations

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim.config import ConfigError
from oligosim.lowering import lower_model

N = 800
SEED = 29
MONTHS_PER_DAY = 12.0 / 365.25


def _metachronous(sc):
    """Every patient metachronous (the primary treated before): a plan given by procedures
    alone has no RT course, so an upfront first line starts at entry, right after them."""
    values = {f"cohort.presentation.{k}": 0.0 for k in codes.PRESENTATION_NAMES}
    values["cohort.presentation.metachronous"] = 1.0
    return sc.with_values(values)


def _held(sc, arm, days, modality="surgery"):
    """``sc`` with every site of ``arm`` treated by ``modality``, no procedure deaths, and a hold
    of ``days``."""
    values = {f"arms.{arm}.local_modality.{s}": modality for s in codes.SITE_NAMES}
    values[f"local_therapy.{modality}.mortality"] = 0.0
    values[f"local_therapy.{modality}.systemic_pause_days"] = days
    return sc.with_values(values)


def _events(arm, j):
    k = min(int(arm["ev_n"][j]), arm.ev_time.shape[1])
    return arm.ev_time[j, :k], arm.ev_code[j, :k]


def _first_induction_end(arm, j):
    """(time of the first line's start, of its first procedure, of its induction end), or None
    when an RT course starts or a line stops or a second line starts before that induction end
    (those move it for other reasons)."""
    t, c = _events(arm, j)
    starts = np.flatnonzero(c == codes.EV_LINE_START)
    ends = np.flatnonzero(c == codes.EV_INDUCTION_END)
    procs = np.flatnonzero(np.isin(c, codes.PROCEDURE_EVENTS))
    if starts.size == 0 or ends.size == 0 or procs.size == 0:
        return None
    e = ends[0]
    before = c[:e]
    if np.any(before == codes.EV_RT_START) or np.any(before == codes.EV_LINE_STOP) or np.sum(before == codes.EV_LINE_START) != 1:
        return None
    if procs[0] > e:
        return None
    return float(t[starts[0]]), float(t[procs[0]]), float(t[e])


def test_defaults_lowering_and_a_negative_hold_is_refused(default_scenario):
    P = lower_model(default_scenario)
    assert P.procedure[codes.LOCAL_RT, codes.PROC_PAUSE_DAYS] == 0.0
    assert P.procedure[codes.LOCAL_NAMES.index("surgery"), codes.PROC_PAUSE_DAYS] == 24.5
    assert P.procedure[codes.LOCAL_NAMES.index("ablation"), codes.PROC_PAUSE_DAYS] == 7.0
    with pytest.raises(ConfigError, match="systemic_pause_days"):
        default_scenario.with_values({"local_therapy.ablation.systemic_pause_days": -1.0})


@pytest.mark.parametrize("arm, at_entry", [("upfront_rt", True), ("consolidative", False)])
def test_the_induction_ends_later_by_exactly_the_hold(default_scenario, arm, at_entry):
    """A first line that starts at entry right after a procedure (upfront), or is running when the
    consolidation check's procedure comes (consolidative), ends its induction ``days`` later."""
    days = 30.0
    sc = _metachronous(default_scenario)
    off = simulate.run_scenario(_held(sc, arm, 0.0), patients=N, seed=SEED, arms=[arm], events=True).arms[arm]
    on = simulate.run_scenario(_held(sc, arm, days), patients=N, seed=SEED, arms=[arm], events=True).arms[arm]
    compared = 0
    for j in range(N):
        a, b = _first_induction_end(off, j), _first_induction_end(on, j)
        if a is None or b is None:
            continue
        line_at, proc_at, _ = a
        if at_entry and not (line_at == 0.0 and proc_at == 0.0):
            continue
        if not at_entry and not proc_at > line_at:
            continue
        assert b[:2] == a[:2]  # same line start and procedure: the hold takes no draw
        assert b[2] - a[2] == pytest.approx(days * MONTHS_PER_DAY, abs=1e-9), j
        compared += 1
    assert compared >= 20, f"only {compared} patients had a procedure before an undisturbed induction end"


def test_patients_without_a_procedure_are_untouched(default_scenario):
    """At progression only oligoprogressions get a procedure: the others run as with no hold."""
    arm = "at_progression"
    off = simulate.run_scenario(_held(default_scenario, arm, 0.0), patients=N, seed=SEED, arms=[arm], events=True).arms[arm]
    on = simulate.run_scenario(_held(default_scenario, arm, 45.0), patients=N, seed=SEED, arms=[arm], events=True).arms[arm]
    untouched = 0
    for j in range(N):
        t, c = _events(off, j)
        if np.any(np.isin(c, codes.PROCEDURE_EVENTS)):
            continue
        t2, c2 = _events(on, j)
        assert np.array_equal(c, c2) and np.array_equal(t, t2), j
        untouched += 1
    assert 20 <= untouched < N
