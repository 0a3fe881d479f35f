"""Interruption by a signal (issue 22 item 6): SIGINT, SIGTERM and SIGHUP end ``run`` and
``experiment`` with exit code 128 + the signal, no temporary file or directory, no new output
directory and no worker process left alive.

Each command runs in a subprocess. ``run`` is signalled during its write phase: a wrapper
replaces the figure writer by one that writes half a file, creates a sentinel file and waits, so
the signal always arrives with the temporary directory half full. ``experiment`` is signalled
mid-run, once its temporary directory exists and its worker processes have started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

#: `oligosim run` whose figure writer stalls after writing half a file and touching argv[1]
RUN_WRAPPER = """
import sys, time, pathlib
from oligosim.plots import canvas
sentinel = pathlib.Path(sys.argv[1])
def stalled_save(fig, path):
    pathlib.Path(path).write_bytes(b"half a PNG")
    sentinel.touch()
    time.sleep(300)
canvas.save_figure = stalled_save
from oligosim.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _wait_for(condition, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the command did not stop after the signal:\n{err}")
    return proc.returncode, err


def _gone(pids) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


SIGNALS = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


def _default_sigint() -> None:
    """In the child, before exec: SIGINT at its default disposition, as for a command run in a
    terminal. A test runner started in the background by a non-interactive shell (as a CI job
    can be) has SIGINT ignored, children inherit that, and Python then never turns SIGINT into
    KeyboardInterrupt: the SIGINT cases failed that way on 2026-12-06 while SIGTERM passed."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_run_interrupted_while_writing_leaves_nothing(tmp_path, signum):
    sentinel = tmp_path / "writing"
    out = tmp_path / "results" / "out"  # the parent too is created by the run
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_WRAPPER, str(sentinel), "run", "configs/default.toml", "--patients", "200",
         "--out", str(out), "--per-patient", "--quiet"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
    )
    _wait_for(lambda: sentinel.exists() or proc.poll() is not None, 600, "the write phase")
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signum)
    rc, err = _finish(proc)
    assert rc == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err, err
    # no output, no temporary directory, no half-written figure, no empty parent
    assert sorted(p.name for p in tmp_path.iterdir()) == ["writing"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_experiment_interrupted_mid_run_stops_its_workers(tmp_path, signum):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oligosim.cli", "experiment", "experiments/psa.toml", "--quick", "--workers", "2",
         "--out", str(out), "--quiet"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
    )
    parent = psutil.Process(proc.pid)
    workers: set[int] = set()

    def running():
        if proc.poll() is not None:
            return True
        try:
            children = parent.children(recursive=True)
        except psutil.NoSuchProcess:
            return True
        # the two pool workers (and multiprocessing's resource tracker)
        workers.update(c.pid for c in children)
        return len(workers) >= 3 and any(tmp_path.glob(".out.tmp-*"))

    _wait_for(running, 600, "the experiment's workers")
    assert proc.poll() is None, proc.communicate()[1]
    time.sleep(1.0)  # the workers are simulating
    proc.send_signal(signum)
    rc, err = _finish(proc)
    assert rc == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err, err
    _wait_for(lambda: _gone(workers), 15, f"the worker processes {sorted(workers)} to end")
    assert list(tmp_path.iterdir()) == []
