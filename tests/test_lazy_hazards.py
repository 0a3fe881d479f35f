"""Lazy integration of the seeding and death hazards in the kernel's event loop (issue 19 step 2).

Tested here, on hand-built lesions: an epoch's integrals are the event-by-event closed form
(bit for bit over the same interval, and its sum over two intervals to rounding); the bound
behind skipping them (hazards.safe_span) never lets the exact integral reach the target within
the span and is exact for one lesion; and a change a handler makes to the kill rate, a lesion's
size, activity or the slot count ends the epoch (hazards.epoch_changed). That whole courses are
unchanged is checked by the same-seed identity with the reference engine
(tests/test_cross_engine.py), which integrates event by event.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim._kernels import cohort as C
from oligosim._kernels import hazards
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.results import EVENT_RECORDS, LC_RECORDS

CAP = 8
WEIGHT = np.array([0.3, 1.0, 0.7, 2.0, 1.5, 0.9, 1.2, 0.5, 1.1, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def _lesions(logv, growth, resistant=None):
    """A LESION record with active lesions of the given log volumes (ln cm3) and growth rates."""
    L = new_lesions(CAP)[0]
    n = len(logv)
    for i in range(n):
        L["status"][i] = C.ACTIVE
        L["organ"][i] = i % len(WEIGHT)
        L["logv"][i] = logv[i]
        L["growth"][i] = growth[i]
        L["resistant"][i] = 0 if resistant is None else resistant[i]
    return L, n


def _exact(logv, rate, weight, tau):
    """Closed-form volume integrals over [0, tau] (seeding, death-weighted), in plain Python."""
    s = sum(math.exp(x) * (math.expm1(r * tau) / r if r != 0.0 else tau) for x, r in zip(logv, rate))
    d = sum(w * math.exp(x) * (math.expm1(r * tau) / r if r != 0.0 else tau) for x, r, w in zip(logv, rate, weight))
    return s, d


def test_epoch_integrals_are_the_event_by_event_closed_form():
    """Over one interval from the epoch's start: bit for bit what burden_integrals gives (rates
    1, propensity 1); the sum over two intervals agrees with one to rounding (1e-13)."""
    logv = [-3.0, 0.4, 1.2, -1.0]
    growth = [0.05, 0.2, 0.01, 0.4]
    L, n = _lesions(logv, growth, resistant=[0, 0, 1, 0])
    kill = 0.15
    v_seed, v_death, r_max = hazards.open_epoch(L, WEIGHT, n, kill)
    rate = [g - (0.0 if res else kill) for g, res in zip(growth, [0, 0, 1, 0])]
    assert r_max == max(rate)
    assert v_seed == pytest.approx(sum(math.exp(x) for x in logv), rel=1e-15)
    tau = 3.7
    a = hazards.epoch_integrals(L, n, tau)
    b = hazards.burden_integrals(L, WEIGHT, n, kill, tau, 1.0, 1.0, 1.0)
    assert a[0] == b[0] and a[1] == b[1]
    s, d = _exact(logv, rate, WEIGHT[[L["organ"][i] for i in range(n)]], tau)
    assert a[0] == pytest.approx(s, rel=1e-13) and a[1] == pytest.approx(d, rel=1e-13)
    # the volumes at tau: every lesion moved on by its own rate
    assert a[2] == pytest.approx(sum(math.exp(x + r * tau) for x, r in zip(logv, rate)), rel=1e-13)
    # two events' intervals integrated one after the other, as the eager loop did
    first = hazards.burden_integrals(L, WEIGHT, n, kill, 1.5, 1.0, 1.0, 1.0)
    W = new_workspace(CAP, LC_RECORDS, EVENT_RECORDS)
    hazards.advance(L, n, kill, 0.0, 1.5, -50.0, W)
    hazards.prepare(L, n, kill, False)
    second = hazards.burden_integrals(L, WEIGHT, n, kill, tau - 1.5, 1.0, 1.0, 1.0)
    assert first[0] + second[0] == pytest.approx(a[0], rel=1e-13)
    assert first[1] + second[1] == pytest.approx(a[1], rel=1e-13)


@pytest.mark.parametrize("growth", [[0.3], [0.02, 0.5, -0.1], [-0.2, -0.05], [0.0, 0.1], [1e-14, -1e-14]])
def test_safe_span_keeps_the_exact_integral_below_its_target(growth):
    """Within the span the exact integral is below the target; for one lesion (where the
    bound is the integral itself) it reaches the target less the 1e-9 margin; a shrinking
    disease whose whole future integral stays below the target gives an infinite span."""
    logv = [0.3 * i - 0.5 for i in range(len(growth))]
    rate = growth
    v0 = sum(math.exp(x) for x in logv)
    r_max = max(rate)
    w = [1.0] * len(logv)
    for need in (1e-3, 0.7, 5.0, 80.0):
        span = hazards.safe_span(need, v0, r_max)
        total = sum(math.exp(x) / -r for x, r in zip(logv, rate)) if r_max < 0.0 else math.inf
        if math.isinf(span):
            assert r_max < 0.0 and v0 / -r_max <= need * (1.0 - 1e-9) * (1.0 + 1e-12)
            assert total < need
            continue
        h, _ = _exact(logv, rate, w, span)
        assert h < need
        if len(logv) == 1:
            assert h == pytest.approx(need * (1.0 - 1e-9), rel=1e-12)
    assert hazards.safe_span(0.0, v0, r_max) == 0.0
    assert math.isinf(hazards.safe_span(1.0, 0.0, r_max))


def test_a_handlers_change_ends_the_epoch():
    """Unchanged lesions moved on by advance keep the epoch; a new kill rate, a lesion resized,
    removed or resisting, or a new slot ends it."""
    logv = [-1.0, 0.5, 0.2]
    growth = [0.1, 0.05, 0.3]
    kill = 0.12
    W = new_workspace(CAP, LC_RECORDS, EVENT_RECORDS)

    def fresh():
        L, n = _lesions(logv, growth)
        hazards.open_epoch(L, WEIGHT, n, kill)
        hazards.advance(L, n, kill, 0.0, 2.0, -50.0, W)
        return L, n

    L, n = fresh()
    assert not hazards.epoch_changed(L, n, kill, n)
    # the kill rate in force (a line started, paused or ended)
    assert hazards.epoch_changed(L, n, 0.0, n)
    # a lesion resized (an RT course)
    L, n = fresh()
    L["logv"][1] -= 0.5
    assert hazards.epoch_changed(L, n, kill, n)
    # a lesion removed (surgery, eradication)
    L, n = fresh()
    L["status"][2] = C.ERADICATED
    assert hazards.epoch_changed(L, n, kill, n)
    # a lesion resisting the line
    L, n = fresh()
    L["resistant"][0] = 1
    assert hazards.epoch_changed(L, n, kill, n)
    # a lesion in a new slot
    L, n = fresh()
    assert hazards.epoch_changed(L, n + 1, kill, n)
    # an inactive slot brought to life
    L, n = fresh()
    L["status"][1] = C.ERADICATED
    hazards.open_epoch(L, WEIGHT, n, kill)
    hazards.advance(L, n, kill, 0.0, 1.0, -50.0, W)
    assert not hazards.epoch_changed(L, n, kill, n)
    L["status"][1] = C.ACTIVE
    assert hazards.epoch_changed(L, n, kill, n)
