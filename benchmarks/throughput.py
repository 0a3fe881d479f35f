"""Throughput of the numba engine on a scenario: patients per second, cold and warm apart.

Run ``python benchmarks/throughput.py [--quick] [--config configs/default.toml]``. It prints a
table, then as its last line one JSON object. Figures are measured in this run on this machine;
nothing here is asserted (machines are shared and noisy), and every ratio compares numbers
taken in the same run.

* cold start: a fresh Python process that loads the scenario and simulates 100 patients, so
  it includes imports and numba's JIT or on-disk cache load;
* warm: the same process runs again; ``patients`` counts patient-arms (every arm simulates
  the same patients, so a 5-arm scenario with N patients is 5N patient-arms).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_COLD = """
import time
t0 = time.perf_counter()
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario
sc = load_scenario({config!r})
run_scenario(sc, patients=100)
print(time.perf_counter() - t0)
"""


def cold_start_seconds(config: str) -> float:
    """Seconds for a fresh process to import, load the cache (or compile) and run 100 patients."""
    out = subprocess.run([sys.executable, "-c", _COLD.format(config=config)], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def warm_rate(scenario, patients: int, threads: int, repeats: int) -> float:
    """Best of ``repeats`` warm runs, in patient-arms per second."""
    from oligosim.simulate import run_scenario

    run_scenario(scenario, patients=min(patients, 500), threads=threads)
    arms = len(scenario.data["arms"])
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        run_scenario(scenario, patients=patients, threads=threads)
        best = max(best, patients * arms / (time.perf_counter() - t))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.toml")
    ap.add_argument("--quick", action="store_true", help="fewer patients and repeats (under a minute once compiled)")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    import numba

    from oligosim.config import load_scenario

    sc = load_scenario(args.config)
    n = 10_000 if args.quick else 100_000
    reps = 2 if args.quick else 3
    cold = cold_start_seconds(args.config)
    one = warm_rate(sc, n, 1, reps)
    cores = numba.config.NUMBA_NUM_THREADS
    every = warm_rate(sc, n, cores, reps)
    # how the cost grows with the lesion cap (per-lesion loops dominate the event loop)
    caps = {}
    for cap in (8, 16, 32, 64):
        caps[cap] = warm_rate(sc.with_values({"simulation.max_lesions": cap}), n // 4, 1, 1)
    result = {
        "config": args.config,
        "patients_per_arm": n,
        "arms": len(sc.data["arms"]),
        "threads_all": cores,
        "numba_patients_per_s_1thread": round(one),
        "numba_patients_per_s_all": round(every),
        "parallel_efficiency": round(every / (one * cores), 3),
        "cold_start_s": round(cold, 2),
        "patients_per_s_1thread_by_lesion_cap": {str(k): round(v) for k, v in caps.items()},
    }
    print(f"scenario {args.config}: {len(sc.data['arms'])} arms x {n} patients (patient-arms counted)")
    print(f"  cold start (fresh process, 100 patients) {cold:8.2f} s")
    print(f"  warm, 1 thread                           {one:10,.0f} patients/s")
    print(f"  warm, {cores} threads                          {every:10,.0f} patients/s  (efficiency {result['parallel_efficiency']:.2f})")
    for k, v in caps.items():
        print(f"  lesion cap {k:3d}, 1 thread                 {v:10,.0f} patients/s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
