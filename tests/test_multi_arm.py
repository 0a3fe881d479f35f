"""Each patient drawn once and run through every arm (``engine.simulate_arms``) gives, bit for
bit, the rows each arm gives when it is run on its own (the per-arm path: the kernel with one
arm, which draws the patient for that arm alone).

The identity is what the multi-arm kernel promises: the draw (cohort, streams started) does not
depend on the arm, and a patient restored from its snapshot is the patient just drawn. It is
checked on every column, toxicity, local-control record and event, on scenarios with different
numbers of arms and mechanisms (the busy test fixture, the shipped default, scenarios with a
primary in place and re-irradiation, a study, the economics), for several thread counts, chunk and
block sizes, and with the arms in another order (a patient restored after a different arm).
The values of the scenarios are not used: any values must give the identity.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CONFIGS, assert_arms_identical, load_fixture
from oligosim._kernels import engine
from oligosim._kernels.inputs import ArmParams, stack_arms
from oligosim.config import load_scenario
from oligosim.lowering import lower_arm
from oligosim.simulate import run_scenario

N = 120  # patients per arm: every arm of the six scenarios, several ways, in a few seconds

SCENARIOS = {
    "busy": lambda: load_fixture("busy.toml"),
    "default": lambda: load_scenario(CONFIGS / "default.toml"),
    "eso_shanghai13": lambda: load_scenario(CONFIGS / "scenarios" / "eso_shanghai13.toml"),
    "reirradiation": lambda: load_scenario(CONFIGS / "scenarios" / "locoregional_reirradiation.toml"),
    "study_wang": lambda: load_scenario(CONFIGS / "studies" / "wang_rt_combos.toml"),
    # the economics: chunks go through a buffer, costed arm by arm, then copied
    "cea": lambda: load_scenario(CONFIGS / "cea.toml"),
}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def case(request):
    sc = SCENARIOS[request.param]()
    names = list(sc.data["arms"])
    # the per-arm path: each arm alone, in its own kernel calls
    alone = {name: run_scenario(sc, patients=N, seed=7, events=True, arms=[name], threads=1).arms[name] for name in names}
    return request.param, sc, names, alone


@pytest.mark.parametrize(("threads", "chunk", "block"), [(1, 200_000, 64), (2, 37, 5), (2, 1, 1000)])
def test_every_arm_at_once_equals_each_arm_alone(case, threads, chunk, block):
    label, sc, names, alone = case
    together = run_scenario(sc, patients=N, seed=7, events=True, threads=threads, chunk=chunk, block=block)
    assert list(together.arms) == names
    for name in names:
        assert_arms_identical(alone[name], together.arms[name], label=f"{label}/{name}")
        if alone[name].economics is not None:
            a, b = alone[name].economics, together.arms[name].economics
            for c in a.columns:
                assert np.array_equal(a.columns[c], b.columns[c]), f"{label}/{name} economics {c}"
            assert np.array_equal(a.categories, b.categories), f"{label}/{name} economics categories"


def test_arm_order_and_subsets_do_not_matter(case):
    # a patient is restored from its snapshot after a different arm than in the full run
    label, sc, names, alone = case
    reordered = names[::-1] if len(names) > 1 else names
    run = run_scenario(sc, patients=N, seed=7, events=True, arms=reordered, threads=2, block=7)
    assert list(run.arms) == reordered
    for name in reordered:
        assert_arms_identical(alone[name], run.arms[name], label=f"{label}/{name} (reversed)")
    if len(names) > 2:
        pair = [names[2], names[0]]
        run = run_scenario(sc, patients=N, seed=7, events=True, arms=pair, threads=1)
        for name in pair:
            assert_arms_identical(alone[name], run.arms[name], label=f"{label}/{name} (pair)")


def test_summary_path_runs_every_arm_at_once_with_the_same_rows(case):
    label, sc, names, alone = case
    lean = run_scenario(sc, patients=N, seed=7, keep="summary", chunk=5 * len(names) + 3, block=4)
    for name in names:
        for c, col in lean.arms[name].columns.items():
            assert np.array_equal(col, alone[name][c], equal_nan=True), f"{label}/{name}.{c}"
        full = alone[name]
        ref = (full.lc_time, full.lc_event, full.lc_bed, full.lc_volume)
        mask = np.arange(full.lc_time.shape[1])[None, :] < full["lc_n"][:, None]
        kept = lean.arms[name].lc_records
        assert np.array_equal(kept[0], ref[0][mask]) and np.array_equal(kept[1], ref[1][mask]), f"{label}/{name} lc records"


def test_stacked_arms_give_back_each_arm():
    sc = load_scenario(CONFIGS / "default.toml")
    arms = [lower_arm(sc, name) for name in sc.data["arms"]]
    S = stack_arms(arms)
    assert all(v.shape[0] == len(arms) and v.flags.c_contiguous for v in S)
    for k, a in enumerate(arms):
        b = engine.arm_at(S, k)
        assert isinstance(b, ArmParams)
        for f in ArmParams._fields:
            x, y = getattr(a, f), getattr(b, f)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), f
            else:
                assert type(x)(y) == x and isinstance(y, (type(x), np.generic)), f
    with pytest.raises(ValueError, match="no arms"):
        stack_arms([])
