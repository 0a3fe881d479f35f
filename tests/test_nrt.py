"""The kernel runs without numba's reference counting, and that is safe (oligosim/_kernels/__init__.py).

* every kernel function that is compiled on its own (not inlined) is compiled with ``_nrt=False``,
  except the few that allocate the patient's memory, which keep it and are listed here with why;
* the functions of ``oligosim.definitions``, which Python calls too, keep it explicitly (a
  function that sets nothing would inherit the setting of whichever caller compiled it first);
* whole runs, every arm in parallel blocks, on scenarios that take the kernel through its
  mechanisms, free exactly what they allocate (numba's allocation counters, ``NUMBA_NRT_STATS``):
  a function without counting that handed an array to one with counting would show as a
  missing or an extra free, or crash.

Bit-identical results with and without the counting were checked when it was switched off
(``benchmarks/ab.py``, the closing note of 2026-12-07); the cross-engine suite and the golden
tests keep checking the results themselves.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import numba
import pytest

import oligosim._kernels as kernels

ROOT = Path(__file__).resolve().parent.parent

#: kernel functions that keep numba's reference counting, and why
ALLOCATORS = {
    "oligosim._kernels.state.new_lesions": "allocates a thread's lesion record",
    "oligosim._kernels.state.new_workspace": "allocates a thread's workspace",
    "oligosim._kernels.state.new_snapshot": "allocates a thread's copy of the drawn patient",
    "oligosim._kernels.rng._uniforms": "called from Python only (tests, the streams' checks): returns a new array",
}


def _dispatchers(module):
    """(qualified name, dispatcher) of every numba function defined in ``module``."""
    for name, obj in vars(module).items():
        if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.py_func.__module__ == module.__name__:
            yield f"{module.__name__}.{name}", obj


def _kernel_modules():
    for info in pkgutil.iter_modules(kernels.__path__):
        yield importlib.import_module(f"{kernels.__name__}.{info.name}")


def test_kernel_functions_compile_without_reference_counting():
    offenders = []
    seen = set()
    for module in _kernel_modules():
        for qual, disp in _dispatchers(module):
            seen.add(qual)
            opts = disp.targetoptions
            if opts.get("inline") == "always":
                continue  # inlined into its caller, compiled with the caller's setting
            if qual in ALLOCATORS:
                if opts.get("_nrt", True) is not True:
                    offenders.append(f"{qual} allocates ({ALLOCATORS[qual]}) and must keep reference counting")
            elif opts.get("_nrt", True) is not False:
                offenders.append(f"{qual}: @njit(cache=True, _nrt=False) (or list it in ALLOCATORS with why)")
    assert not offenders, "\n".join(offenders)
    assert set(ALLOCATORS) <= seen, f"ALLOCATORS names functions that do not exist: {sorted(set(ALLOCATORS) - seen)}"
    assert len(seen) > 100  # the walk found the kernel


def test_functions_shared_with_python_keep_reference_counting_explicitly():
    import oligosim.definitions as definitions

    found = dict(_dispatchers(definitions))
    assert "oligosim.definitions.count_metastases" in found
    missing = [q for q, d in found.items() if d.targetoptions.get("_nrt") is not True]
    assert not missing, f"set _nrt=True explicitly on: {missing}"


_RUN = """
import json, sys
from numba.core.runtime import rtsys
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario
out = {}
for path in sys.argv[1:]:
    sc = load_scenario(path)
    run_scenario(sc, patients=40, threads=2, block=8, events=True)  # compiles or loads; one-off allocations
    a = rtsys.get_allocation_stats()
    run_scenario(sc, patients=300, threads=2, block=8, events=True)
    run_scenario(sc, patients=300, threads=2, block=8, keep="summary", chunk=700)
    b = rtsys.get_allocation_stats()
    out[path] = {k: getattr(b, k) - getattr(a, k) for k in ("alloc", "free", "mi_alloc", "mi_free")}
print(json.dumps(out))
"""

SCENARIOS = [
    "configs/default.toml",
    "configs/scenarios/eso_shanghai13.toml",
    "configs/scenarios/locoregional_reirradiation.toml",
    "configs/scenarios/node_recurrence_after_esophagectomy.toml",
]


@pytest.mark.slow
def test_runs_free_exactly_what_they_allocate():
    env = dict(os.environ, NUMBA_NRT_STATS="1")
    proc = subprocess.run([sys.executable, "-c", _RUN, *SCENARIOS], capture_output=True, text=True, cwd=ROOT, env=env, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    for path, d in stats.items():
        # each thread of each chunk allocates its workspace, lesion record and snapshot (18
        # arrays): the counters moved
        assert d["mi_alloc"] >= 2 * 18, (path, d)
        assert d["alloc"] == d["free"] and d["mi_alloc"] == d["mi_free"], (path, d)
