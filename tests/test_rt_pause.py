"""What a chemo-immunotherapy line does while its chemotherapy waits for a sequential RT course
(docs/model.md 5.4), through the kernel handlers, exactly: the anti-PD-1 component goes on at
the regimen's maintenance rate (times the PD-L1 multiplier) unless the line has resisted or the
switch is off; a chemotherapy-only line kills nothing."""

from __future__ import annotations

import math

import pytest

from oligosim._kernels import handlers, rng, systemic
from oligosim._kernels.state import LINE_NONE, new_lesions, new_workspace
from oligosim.lowering import lower_arm, lower_model, lower_regimens, regimen_names
from oligosim.results import EVENT_RECORDS, LC_RECORDS

from conftest import CONFIGS
from oligosim.config import load_scenario


def _start_course(sc, arm, regimen, *, pdl1_high=False, resisted=False):
    """A patient on ``regimen`` (line 1, induction) when a course of ``arm`` starts; returns the
    kill rate in force during the course, and P, R, the regimen's code."""
    P, R, A = lower_model(sc), lower_regimens(sc), lower_arm(sc, arm)
    reg = regimen_names(sc).index(regimen)
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    arr = new_lesions(P.max_lesions)
    L = arr[0]
    L["organ"][0] = 2  # liver, seen and planned
    L["status"][0] = 1
    L["seen"][0] = True
    L["in_course"][0] = True
    L["logv"][0] = math.log(3.0)
    rng.init_streams(1, 0, W.streams)
    st = W.state
    st["n"], st["t"], st["line"], st["reg"], st["line_on"] = 1, 3.0, 1, reg, True
    st["pdl1_high"], st["resisted"], st["first_line_at"], st["timing"] = pdl1_high, resisted, LINE_NONE, A.rt_timing
    st["kill_line"] = systemic.line_kill(R, reg, False, pdl1_high)
    st["kill"] = 0.0 if resisted else st["kill_line"][0]
    for s in range(W.slot.shape[0]):
        W.slot[s] = math.inf
    handlers.on_rt_start(P, R, A, W, L)
    assert W.state["paused"][0]
    return float(W.state["kill"][0]), R, reg


@pytest.fixture(scope="module")
def eso():
    return load_scenario(CONFIGS / "scenarios" / "eso_shanghai13.toml")


@pytest.mark.parametrize("pdl1_high", [False, True])
def test_anti_pd1_goes_on_at_its_maintenance_rate(eso, pdl1_high):
    arm = next(a for a, v in eso.data["arms"].items() if v["first_line"] == "tp_pd1" and v["rt_timing"] == "consolidative")
    kill, R, reg = _start_course(eso, arm, "tp_pd1", pdl1_high=pdl1_high)
    expected = R.maintenance_kill[reg] * (R.pdl1_multiplier[reg] if pdl1_high else 1.0)
    assert R.io[reg] and R.chemo[reg] and expected > 0
    assert kill == expected


def test_resisted_line_and_chemotherapy_only_kill_nothing(eso):
    arm = next(a for a, v in eso.data["arms"].items() if v["first_line"] == "tp_pd1" and v["rt_timing"] == "consolidative")
    assert _start_course(eso, arm, "tp_pd1", resisted=True)[0] == 0.0
    assert _start_course(eso, arm, "tp")[0] == 0.0


def test_switch_off_pauses_the_whole_line(eso):
    off = eso.with_values({"radiotherapy.immunotherapy_continues_during_rt": False})
    arm = next(a for a, v in off.data["arms"].items() if v["first_line"] == "tp_pd1" and v["rt_timing"] == "consolidative")
    assert _start_course(off, arm, "tp_pd1")[0] == 0.0
