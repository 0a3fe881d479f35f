"""Primary resistance (model 5.3): a share of patients whose disease does not answer a line at all.

The share is `regimens.<name>.primary_resistance_fraction`, decided per line by the line's first
RESPONSE uniform (top of the unit interval; durable responders take the bottom). Tested here:
the share of lines resisted from their first day against the binomial standard error; common
random numbers (switching the mechanism on changes exactly the patients it draws, and no other);
an exact equivalence (every line primarily resisted is the same as lines that kill nothing);
and the configuration rule that a patient cannot be both durable and primarily resistant.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim.config import ConfigError

N = 1500
SEED = 23
REGIMENS = ("tp_pd1", "irinotecan_pd1")  # the default arms' first and second lines


def _with(sc, **per_regimen):
    return sc.with_values({f"regimens.{r}.{k}": v for r in REGIMENS for k, v in per_regimen.items()})


def _line_starts(arm):
    """(number of line starts, number of them resisted from their first day) over all patients:
    a line start followed at the same time by a resistance of the same regimen."""
    starts = resisted = 0
    for j in range(arm.n):
        code, t, det = arm.ev_code[j], arm.ev_time[j], arm.ev_detail[j]
        for i in np.flatnonzero(code == codes.EV_LINE_START):
            starts += 1
            if i + 1 < code.size and code[i + 1] == codes.EV_RESISTANCE and t[i + 1] == t[i] and det[i + 1] == det[i]:
                resisted += 1
    return starts, resisted


def _primarily_resisted(arm) -> np.ndarray:
    """Patients with at least one line resisted from its first day, shape (n,) bool."""
    out = np.zeros(arm.n, dtype=bool)
    for j in range(arm.n):
        code, t = arm.ev_code[j], arm.ev_time[j]
        i = np.flatnonzero(code[:-1] == codes.EV_LINE_START)
        out[j] = bool(np.any((code[i + 1] == codes.EV_RESISTANCE) & (t[i + 1] == t[i])))
    return out


@pytest.fixture(scope="module")
def runs(default_scenario):
    """The systemic-only and upfront-RT arms with primary resistance 0 and 0.3."""
    arms = ["systemic_only", "upfront_rt"]
    # primary resistance off on every regimen (the v2 fit gives TP and TP + anti-PD-1 a small share)
    off = simulate.run_scenario(_with(default_scenario, primary_resistance_fraction=0.0), patients=N, seed=SEED, arms=arms, events=True)
    on = simulate.run_scenario(_with(default_scenario, primary_resistance_fraction=0.3), patients=N, seed=SEED, arms=arms, events=True)
    return off, on


def test_share_of_lines_resisted_from_the_start(runs):
    """With share p, a line is resisted from its first day with probability p (binomial, 4 se);
    with p = 0 never."""
    off, on = runs
    for name in ("systemic_only", "upfront_rt"):
        n0, r0 = _line_starts(off.arms[name])
        assert n0 > N and r0 == 0
        n, r = _line_starts(on.arms[name])
        se = math.sqrt(0.3 * 0.7 / n)
        assert abs(r / n - 0.3) < 4 * se, f"{name}: {r}/{n} lines resisted from the start"


def test_switch_changes_only_the_patients_it_draws(runs):
    """Common random numbers: every patient with no line resisted from its start has the same
    course, column by column, whether the mechanism is on or off; the ones it draws progress
    earlier on average."""
    off, on = runs
    for name in ("systemic_only", "upfront_rt"):
        a0, a1 = off.arms[name], on.arms[name]
        hit = _primarily_resisted(a1)
        assert 0.2 < hit.mean() < 0.6
        for col, v1 in a1.columns.items():
            v0 = a0.columns[col]
            same = (v0 == v1) | (np.isnan(v0) & np.isnan(v1)) if v0.dtype.kind == "f" else v0 == v1
            assert same[~hit].all(), f"{name}.{col} changed for {int((~same[~hit]).sum())} patients not drawn"
        assert np.array_equal(a0.tox[~hit], a1.tox[~hit])
        # the drawn patients: their first line stops killing at once, so they progress earlier
        assert np.mean(a1["pfs"][hit]) < np.mean(a0["pfs"][hit])


def test_every_line_resisted_is_a_line_that_kills_nothing(default_scenario):
    """Share 1 gives every patient the course of regimens whose kill rates are 0 (the lines
    still run, are paused, cause toxicity and end as before; only the events differ): every
    discrete outcome exactly, every time to 1e-9."""
    arms = ["systemic_only", "upfront_rt", "at_progression"]
    all_resisted = _with(default_scenario, primary_resistance_fraction=1.0, durable_fraction=0.0)
    no_kill = _with(default_scenario, kill_rate_per_month=0.0, maintenance_kill_rate_per_month=0.0, durable_fraction=0.0)
    a = simulate.run_scenario(all_resisted, patients=400, seed=5, arms=arms)
    b = simulate.run_scenario(no_kill, patients=400, seed=5, arms=arms)
    for name in arms:
        for col, va in a.arms[name].columns.items():
            if col == "ev_n":  # the event count: resistance is logged at other times
                continue
            vb = b.arms[name].columns[col]
            if va.dtype.kind == "f":
                # the kill-0 lines' acquired resistance is an extra event that splits the
                # hazard integrals at another point: the same course to rounding
                np.testing.assert_allclose(va, vb, rtol=1e-9, atol=1e-9, err_msg=f"{name}.{col}")
            else:
                np.testing.assert_array_equal(va, vb, err_msg=f"{name}.{col}")
        np.testing.assert_array_equal(a.arms[name].tox, b.arms[name].tox)


def test_durable_and_primary_cannot_exceed_one(default_scenario):
    with pytest.raises(ConfigError) as e:
        _with(default_scenario, durable_fraction=0.6, primary_resistance_fraction=0.5)
    msg = str(e.value)
    assert "primary_resistance_fraction" in msg and "at most 1" in msg
    # the edge is allowed: everyone is one or the other
    _with(default_scenario, durable_fraction=0.5, primary_resistance_fraction=0.5)
