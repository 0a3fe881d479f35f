"""The memory estimate of a run (issue 22 item 1): close to a real run's peak, and the check
that refuses a run before allocating, with its override."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from oligosim import cli, memory
from oligosim.analysis.summary import summarize
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "configs" / "default.toml"


@pytest.fixture(scope="module")
def scenario():
    sc = load_scenario(DEFAULT)
    run_scenario(sc, patients=20)  # compiled (or loaded) before anything is measured
    return sc


@pytest.mark.parametrize(("patients", "keep", "events"), [(30_000, "summary", False), (10_000, "all", False), (5_000, "all", True)])
def test_estimate_is_close_to_the_measured_peak(scenario, patients, keep, events):
    # numpy reports its allocations to tracemalloc: the peak of the arrays a run and its summary
    # hold, without the interpreter's fixed cost (memory._BASE)
    arms = len(scenario.data["arms"])
    tracemalloc.start()
    try:
        summarize(run_scenario(scenario, patients=patients, keep=keep, events=events))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = memory.run_bytes(patients, arms, keep=keep, events=events) - memory._BASE
    # never far below the peak (that would let a run through that does not fit); at most twice
    # it (the local-control records are counted for the worst case, every record used)
    assert 0.8 * peak <= estimate <= 2.0 * peak, (estimate, peak)


def test_estimate_grows_with_patients_arms_and_outputs():
    small = memory.run_bytes(1000, 2)
    assert memory.run_bytes(2000, 2) > small and memory.run_bytes(1000, 3) > small
    assert memory.run_bytes(10**6, 2, keep="all") > memory.run_bytes(10**6, 2)
    assert memory.run_bytes(10**6, 2, keep="all", events=True) > memory.run_bytes(10**6, 2, keep="all")
    # the case: 1e9 patients need far more than any workstation has
    assert memory.run_bytes(10**9, 5) > 2**40


def test_available_memory_is_a_positive_number():
    available = memory.available_bytes()
    assert available is None or available > 0


def test_refused_before_allocating_and_the_override(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    out = tmp_path / "out"
    assert cli.main(["run", str(DEFAULT), "--patients", "50", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--patients 50" in err and "1000 B is available" in err and "--ignore-memory-check" in err
    assert not out.exists()
    assert cli.main(["run", str(DEFAULT), "--patients", "50", "--out", str(out), "--quiet", "--ignore-memory-check"]) == 0
    assert (out / "summary.json").is_file()


def test_format_bytes():
    assert memory.format_bytes(512) == "512 B"
    assert memory.format_bytes(3 * 2**30) == "3.0 GiB"
