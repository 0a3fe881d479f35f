"""The performance tools of benchmarks/: they run and report what they say (nothing is timed here).

* ``ab.py`` on the same tree twice finds the results identical, and the rates it reports are the
  ones its children measured;
* ``where_time_goes.py`` names numba's symbols by module and function (its sampling needs perf
  and gdb, which CI machines may lack; the naming is what can go wrong silently).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ab_finds_a_tree_identical_to_itself():
    proc = subprocess.run(
        [sys.executable, "benchmarks/ab.py", "--base-tree", str(ROOT), "--new-tree", str(ROOT), "--patients", "60", "--rounds", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["identical"] is True
    assert len(out["ratios_by_round"]) == 2 and all(r > 0 for r in out["ratios_by_round"])
    assert out["base_patients_per_s_1thread"] > 0 and out["new_patients_per_s_1thread"] > 0


def test_ab_refuses_a_tree_without_the_package(tmp_path):
    proc = subprocess.run(
        [sys.executable, "benchmarks/ab.py", "--base-tree", str(tmp_path), "--patients", "10", "--rounds", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert proc.returncode != 0
    assert str(tmp_path) in proc.stdout + proc.stderr


def test_where_time_goes_names_numba_symbols():
    w = _load("where_time_goes")
    mangled = "_ZN8oligosim8_kernels6engine9run_drawnB4v151B40c8tJTIeFIjxB2IKSgI4CrvSCKg1MMfAwK4LIaQIAE6449ModelParams"
    assert w._demangle_numba(mangled) == "engine.run_drawn"
    assert w._demangle_numba("oligosim::_kernels::hazards::crossing_time[abi:v417][abi:c8t](Record<2395>, long long)") == "hazards.crossing_time"
    assert w._demangle_numba("_ZN13_3cdynamic_3e36__numba_parfor_gufunc_0x7ff481def490B4v611B114c8t") == "<numba parallel loop>"
    assert w._demangle_numba("__expm1_fma") == "__expm1_fma"
    # a long symbol is read in linear time (a backtracking pattern once hung on these)
    long = "_ZN" + "".join(f"{len(p)}{p}" for p in ["oligosim", "_kernels", "rt", "plan_course"]) + "B4v345B40" + "x" * 5000
    assert w._demangle_numba(long) == "rt.plan_course"
