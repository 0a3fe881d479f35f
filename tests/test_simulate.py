"""The driver: chunk-by-chunk summarising gives the same summary as keeping every patient."""

from pathlib import Path

import numpy as np
import pytest

from oligosim.analysis.summary import summarize
from oligosim.config import load_scenario
from oligosim.results import COLUMNS, ENDPOINT_COLUMNS
from oligosim.simulate import run_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default():
    return load_scenario(ROOT / "configs" / "default.toml")


@pytest.mark.parametrize("chunk", [1000, 137, 1])
def test_summary_mode_gives_the_same_summary(default, chunk):
    full = run_scenario(default, patients=1000, keep="all")
    lean = run_scenario(default, patients=1000, keep="summary", chunk=chunk)
    assert summarize(full) == summarize(lean)
    for name, arm in lean.arms.items():
        assert set(arm.columns) == set(ENDPOINT_COLUMNS)
        assert arm.tox is None and arm.lc_time is None
        for c in ENDPOINT_COLUMNS:
            assert np.array_equal(arm[c], full.arms[name][c])
        for a, b in zip(arm.lc_records, full.arms[name].lc_records):
            assert np.array_equal(a, b)


def test_summary_mode_keeps_far_less_per_patient(default):
    lean = run_scenario(default, patients=2000, keep="summary", chunk=500)
    full = run_scenario(default, patients=2000, keep="all")

    def nbytes(arm):
        arrays = list(arm.columns.values()) + list(arm.lc_records)
        arrays += [a for a in (arm.tox, arm.lc_time, arm.lc_event, arm.lc_bed, arm.lc_volume) if a is not None]
        return sum(a.nbytes for a in arrays)

    per_lean = sum(nbytes(a) for a in lean.arms.values()) / (2000 * len(lean.arms))
    per_full = sum(nbytes(a) for a in full.arms.values()) / (2000 * len(full.arms))
    # endpoint columns are 3 float64 times, 3 flags and a cause: 28 bytes, plus local-control
    # records (17 bytes each: time, flag, BED and volume; an irradiated patient of the default
    # scenario has about four: primary, regional nodes, metastases); everything else is
    # summarised chunk by chunk
    assert per_lean < 120 < 200 < per_full


def test_events_imply_keeping_everything(default):
    res = run_scenario(default, patients=50, keep="summary", events=True)
    arm = next(iter(res.arms.values()))
    assert set(arm.columns) == set(COLUMNS) and arm.ev_time.shape == (50, 96)


def test_bad_keep_is_refused(default):
    with pytest.raises(ValueError, match="keep"):
        run_scenario(default, patients=10, keep="some")


@pytest.mark.parametrize(
    "arms, why",
    [(["no_such_arm"], "unknown: no_such_arm"), ([], "at least one"), (["upfront_rt", "upfront_rt"], "distinct")],
)
def test_bad_arm_selection_is_refused_by_name(default, arms, why):
    # both engines share the check: a named error, not a KeyError from deep in the lowering
    from oligosim.reference import run_scenario_reference

    for run in (run_scenario, run_scenario_reference):
        with pytest.raises(ValueError, match="arms = ") as err:
            run(default, patients=10, arms=arms)
        assert why in str(err.value) and "systemic_only" in str(err.value)
