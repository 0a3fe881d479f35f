"""Economics in a simulated run: off changes nothing, on is bit-identical for any thread count,
chunk size, event-buffer width and ``keep`` (issue 23, items 2 and 3)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CONFIGS, make_scenario
from oligosim import simulate
from oligosim.analysis.summary import format_table, summarize
from oligosim.economics.collect import ArmEconomics
from oligosim.economics.inputs import lower_economics
from oligosim.simulate import run_scenario

ARMS = ["systemic_only", "consolidative"]


@pytest.fixture(scope="module")
def scenario():
    return make_scenario("[economics]\nenabled = true\n", base=CONFIGS / "default.toml")


def _econ(res):
    return {a: (r.economics.columns, r.economics.categories) for a, r in res.arms.items()}


def _same(x, y):
    for a in x:
        for c in x[a][0]:
            assert np.array_equal(x[a][0][c], y[a][0][c]), (a, c)
        assert np.array_equal(x[a][1], y[a][1]), a


def test_off_by_default_and_off_changes_nothing(default_scenario, scenario):
    off = run_scenario(default_scenario, patients=60, seed=3, arms=ARMS, keep="all")
    on = run_scenario(scenario, patients=60, seed=3, arms=ARMS, keep="all")
    assert all(a.economics is None for a in off.arms.values())
    assert "economics" not in summarize(off)
    for a in ARMS:
        for c, v in off.arms[a].columns.items():
            assert np.array_equal(v, on.arms[a].columns[c], equal_nan=True), c


def test_bit_identical_for_threads_chunks_keep_and_log_width(scenario, monkeypatch):
    ref = _econ(run_scenario(scenario, patients=150, seed=5, arms=ARMS, threads=1, keep="summary"))
    _same(ref, _econ(run_scenario(scenario, patients=150, seed=5, arms=ARMS, threads=2, chunk=37, block=5, keep="summary")))
    _same(ref, _econ(run_scenario(scenario, patients=150, seed=5, arms=ARMS, keep="all", events=True, chunk=64)))
    # a log buffer far too narrow: every chunk is simulated again into a wider one
    monkeypatch.setattr(simulate, "_economics", lambda sc, name, n: ArmEconomics(lower_economics(sc, name), n, width=4))
    narrow = run_scenario(scenario, patients=150, seed=5, arms=ARMS, chunk=50, keep="summary")
    assert all(a.economics.width > 4 for a in narrow.arms.values())
    _same(ref, _econ(narrow))


def test_summary_block_is_consistent(scenario):
    res = run_scenario(scenario, patients=400, seed=11, arms=ARMS)
    s = summarize(res)
    eco = s["economics"]
    assert eco["reference_arm"] == ARMS[0] and eco["currency"] == "CNY"
    for a in ARMS:
        d = eco["arms"][a]
        cols = res.arms[a].economics.columns
        assert d["cost"] == pytest.approx(cols["cost"].mean(), rel=1e-12)
        assert d["cost_ci95"][0] < d["cost"] < d["cost_ci95"][1]
        assert sum(d["cost_by_category"].values()) == pytest.approx(d["cost"], rel=1e-5)  # float32 categories
        # discounting lowers, never raises; QALYs below life-years (utilities < 1)
        assert d["qalys"] < d["life_years"] <= d["life_years_undiscounted"]
        assert d["cost"] <= d["cost_undiscounted"]
        assert d["nmb"] == pytest.approx(eco["wtp_per_qaly"] * d["qalys"] - d["cost"], rel=1e-12)
    inc = eco["arms"][ARMS[1]]["vs_reference"]
    assert inc["cost"] == pytest.approx(eco["arms"][ARMS[1]]["cost"] - eco["arms"][ARMS[0]]["cost"], rel=1e-9)
    assert "cost-utility" in format_table(s)


def test_reference_engine_gives_the_same_economics(scenario):
    """One post-processing of the event log for both engines: the SimPy reference's costs and
    QALYs equal the kernel's (its event times agree to root-finding accuracy, 1e-6 months)."""
    from oligosim.economics.collect import attach_from_log
    from oligosim.reference import run_scenario_reference

    ref = run_scenario_reference(scenario, patients=40, seed=31, arms=ARMS, events=True)
    attach_from_log(ref)
    ker = run_scenario(scenario, patients=40, seed=31, arms=ARMS)
    for a in ARMS:
        for c, v in ker.arms[a].economics.columns.items():
            assert np.allclose(ref.arms[a].economics.columns[c], v, rtol=1e-6, atol=1e-6), (a, c)
