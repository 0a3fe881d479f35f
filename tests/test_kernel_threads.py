"""The driver's threads (``oligosim.simulate._run``): the kernel releases the GIL and the range of
patients is cut into pieces run by a pool of Python threads.

That every thread count and piece size gives the same rows, bit for bit, is tested in
``tests/test_multi_arm.py`` and ``tests/test_engine.py``. Here: the pieces cover the range once,
the kernel really runs on several threads and without the GIL (without ``nogil`` the threads would
take turns, silently), and an error in one piece stops the run and reaches the caller.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest

from conftest import CONFIGS
from oligosim import simulate
from oligosim._kernels import engine
from oligosim.config import load_scenario
from oligosim.simulate import _pieces, run_scenario


@pytest.mark.parametrize(
    ("lo", "hi", "block", "threads"), [(0, 100, 7, 2), (5, 6, 64, 2), (3, 3 + 128, 64, 4), (0, 100, 7, 1), (10, 10, 4, 2), (0, 40_000, 16, 2), (0, 1000, 1, 3)]
)
def test_pieces_cover_the_range_once_largest_first(lo, hi, block, threads):
    pieces = _pieces(lo, hi, block, threads)
    covered = [j for a, b in pieces for j in range(a, b)]
    assert covered == list(range(lo, hi))
    if threads == 1 or hi - lo <= block:
        assert pieces == [(lo, hi)]  # one call: no pieces for a single thread
        return
    sizes = [b - a for a, b in pieces]
    assert sizes == sorted(sizes, reverse=True)
    assert all(s >= block for s in sizes[:-1]) and sizes[-1] >= 1
    # each piece a 2*threads-th of what was left (rounded up), or block when that is smaller
    left = hi - lo
    for s in sizes:
        assert s == min(left, max(block, -(-left // (2 * threads))))
        left -= s
    # the threads end together: the last 2*threads pieces are at most max(block, 1) patients
    assert max(sizes[-2 * threads :]) <= max(block, 1) or len(sizes) <= 2 * threads


def test_kernel_releases_the_gil():
    assert engine.simulate_arms.targetoptions.get("nogil") is True


def test_pieces_run_on_several_threads_and_cover_every_row(monkeypatch):
    sc = load_scenario(CONFIGS / "default.toml")
    calls = []
    lock = threading.Lock()
    both = threading.Barrier(2, timeout=30)
    real = engine.simulate_arms

    def spy(*args):
        with lock:
            calls.append((threading.get_ident(), int(args[6]), int(args[7])))
            first_two = len(calls) <= 2
        if first_two:
            both.wait()  # the first two pieces meet: both threads are in the kernel at once
        return real(*args)

    monkeypatch.setattr(engine, "simulate_arms", spy)
    before = numba.get_num_threads()
    run_scenario(sc, patients=40, seed=2, threads=2, block=5)
    assert numba.get_num_threads() == before
    assert len({t for t, _, _ in calls}) == 2
    assert sorted(j for _, a, b in calls for j in range(a, b)) == list(range(40))
    assert threading.get_ident() not in {t for t, _, _ in calls}


def test_an_error_in_one_piece_stops_the_run_and_is_raised(monkeypatch):
    sc = load_scenario(CONFIGS / "default.toml")
    started = []
    lock = threading.Lock()
    hold = threading.Event()  # never set: pieces after the first wait, so the cancel comes first

    def failing(*args):
        with lock:
            started.append(int(args[6]))
        if int(args[6]) == 0:
            raise RuntimeError("oligosim engine: an event was scheduled in the past")
        hold.wait(1.0)

    monkeypatch.setattr(engine, "simulate_arms", failing)
    with pytest.raises(RuntimeError, match="scheduled in the past"):
        run_scenario(sc, patients=1000, seed=2, threads=2, block=1)
    # 22 pieces: the first fails at once, the other thread is held in its piece, and the
    # pieces not started are cancelled (the failing thread may take one more before the cancel)
    assert 0 in started and len(started) <= 3


def test_one_thread_calls_the_kernel_once_per_chunk(monkeypatch):
    sc = load_scenario(CONFIGS / "default.toml")
    calls = []
    real = engine.simulate_arms

    def spy(*args):
        calls.append((int(args[6]), int(args[7])))
        return real(*args)

    monkeypatch.setattr(engine, "simulate_arms", spy)
    res = run_scenario(sc, patients=30, seed=2, threads=1, block=4)
    assert calls == [(0, 30)]
    assert np.isfinite(res.arms[next(iter(res.arms))].columns["os"]).all()
    assert simulate._pieces(0, 30, 4, 1) == [(0, 30)]
