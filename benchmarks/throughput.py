"""Throughput of the numba engine on a scenario: patients per second, cold and warm apart.

Run ``python benchmarks/throughput.py [--quick] [--config configs/default.toml]``. It prints a
table, then as its last line one JSON object. Figures are measured in this run on this machine;
nothing here is asserted (machines are shared and noisy), and every ratio compares numbers
taken in the same run.

* cold start: a fresh Python process that loads the scenario and simulates 100 patients, so
  it includes imports and numba's JIT or on-disk cache load;
* first compile (``--first-compile``, a few minutes more): the same fresh process with numba's
  cache pointed at an empty temporary directory (``NUMBA_CACHE_DIR``), so it compiles every
  kernel the run needs, as a new install's first run does;
* warm: the same process runs again; ``patients`` counts patient-arms (every arm simulates
  the same patients, so a 5-arm scenario with N patients is 5N patient-arms);
* arms alone: the same warm run, one thread, with each arm run on its own (``arms=[name]``), so
  each patient is drawn once per arm; its ratio to the warm 1-thread rate is the gain of drawing
  each patient once for all arms (the results are identical, tests/test_multi_arm.py);
* SimPy: the reference engine (``oligosim/reference/``) on the same scenario, one process;
* peak memory: a fresh process runs ``oligosim run``'s path (``keep="summary"``) for 1 and
  10 million patients per arm on ONE arm of the scenario and reports its peak resident set
  size (ru_maxrss); with ``--quick`` the 10-million figure is extrapolated linearly from 1 and
  2 million and marked so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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


def cold_start_seconds(config: str, env: dict | None = None) -> float:
    """Seconds for a fresh process to import, load the cache (or compile) and run 100 patients."""
    out = subprocess.run([sys.executable, "-c", _COLD.format(config=config)], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def first_compile_seconds(config: str) -> float:
    """:func:`cold_start_seconds` with an empty numba cache: the first run of a new install."""
    with tempfile.TemporaryDirectory(prefix="oligosim-numba-cache-") as cache:
        return cold_start_seconds(config, env={**os.environ, "NUMBA_CACHE_DIR": cache})


_PEAK = """
import resource, sys, time
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario
from oligosim.analysis.summary import summarize
sc = load_scenario({config!r})
arm = next(iter(sc.data["arms"]))
t = time.perf_counter()
summarize(run_scenario(sc, patients={n}, arms=[arm], keep="summary"))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""


def peak_rss_mb(config: str, patients: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a fresh process simulating and summarising one arm."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK.format(config=config, n=patients)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    secs, mb = out.stdout.strip().splitlines()[-1].split()
    return float(secs), float(mb)


def simpy_rate(scenario, patients: int) -> float:
    """Reference-engine patient-arms per second, one process."""
    from oligosim.reference import run_scenario_reference

    arms = len(scenario.data["arms"])
    t = time.perf_counter()
    run_scenario_reference(scenario, patients=patients)
    return patients * arms / (time.perf_counter() - t)


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


def arms_alone_rate(scenario, patients: int, repeats: int) -> float:
    """Best of ``repeats`` warm runs with each arm run on its own, one thread, in patient-arms per
    second."""
    from oligosim.simulate import run_scenario

    names = list(scenario.data["arms"])
    run_scenario(scenario, patients=min(patients, 500), threads=1, arms=names[:1])
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for name in names:
            run_scenario(scenario, patients=patients, threads=1, arms=[name])
        best = max(best, patients * len(names) / (time.perf_counter() - t))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.toml")
    ap.add_argument("--quick", action="store_true", help="fewer patients and repeats (a few minutes once compiled)")
    ap.add_argument("--first-compile", action="store_true", help="also time a first compile into an empty cache (minutes)")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    import numba

    from oligosim.config import load_scenario

    sc = load_scenario(args.config)
    n = 10_000 if args.quick else 100_000
    reps = 2 if args.quick else 3
    cold = cold_start_seconds(args.config)
    first = first_compile_seconds(args.config) if args.first_compile else None
    one = warm_rate(sc, n, 1, reps)
    alone = arms_alone_rate(sc, n, reps)
    cores = numba.config.NUMBA_NUM_THREADS
    every = warm_rate(sc, n, cores, reps)
    # how the cost grows with the lesion cap (per-lesion loops dominate the event loop)
    caps = {}
    for cap in (8, 16, 32, 64):
        caps[cap] = warm_rate(sc.with_values({"simulation.max_lesions": cap}), n // 4, 1, 1)
    # time against the number of patients (all threads): constant rate means linear time
    growth = {m: warm_rate(sc, m, cores, 1) for m in (n // 10, n, 4 * n)}
    simpy = simpy_rate(sc, 200 if args.quick else 1000)
    mem = {}
    for m in ((1_000_000, 2_000_000) if args.quick else (1_000_000, 10_000_000)):
        mem[m] = peak_rss_mb(args.config, m)
    if args.quick:
        (a, (_, ra)), (b, (_, rb)) = mem.items()
        rss10, how = ra + (rb - ra) * (10_000_000 - a) / (b - a), "extrapolated from 1 and 2 million"
    else:
        rss10, how = mem[10_000_000][1], "measured"
    result = {
        "config": args.config,
        "patients_per_arm": n,
        "arms": len(sc.data["arms"]),
        "threads_all": cores,
        "numba_patients_per_s_1thread": round(one),
        "numba_patients_per_s_all": round(every),
        "parallel_efficiency": round(every / (one * cores), 3),
        "numba_patients_per_s_1thread_arms_alone": round(alone),
        "all_arms_at_once_gain": round(one / alone, 3),
        "simpy_patients_per_s": round(simpy, 1),
        "speedup_vs_simpy": round(one / simpy, 1),
        "cold_start_s": round(cold, 2),
        "first_compile_s": None if first is None else round(first, 1),
        "peak_rss_mb_1m_patients": round(mem[1_000_000][1]),
        "peak_rss_mb_10m_patients": round(rss10),
        "peak_rss_10m_method": how,
        "patients_per_s_all_by_patients": {str(k): round(v) for k, v in growth.items()},
        "patients_per_s_1thread_by_lesion_cap": {str(k): round(v) for k, v in caps.items()},
    }
    print(f"scenario {args.config}: {len(sc.data['arms'])} arms x {n} patients (patient-arms counted)")
    print(f"  cold start (fresh process, 100 patients) {cold:8.2f} s")
    if first is not None:
        print(f"  first compile (empty numba cache)        {first:8.1f} s")
    print(f"  warm, 1 thread                           {one:10,.0f} patients/s")
    print(f"  warm, 1 thread, each arm on its own      {alone:10,.0f} patients/s  (all arms at once: {one / alone:.2f}x)")
    print(f"  warm, {cores} threads                          {every:10,.0f} patients/s  (efficiency {result['parallel_efficiency']:.2f})")
    for k, v in caps.items():
        print(f"  lesion cap {k:3d}, 1 thread                 {v:10,.0f} patients/s")
    for k, v in growth.items():
        print(f"  {k:>9,} patients, {cores} threads             {v:10,.0f} patients/s")
    print(f"  SimPy reference, 1 process               {simpy:10,.1f} patients/s  (numba 1 thread is {one / simpy:.0f}x faster)")
    for k, (secs, mb) in mem.items():
        print(f"  peak RSS, {k:>10,} patients, one arm   {mb:10,.0f} MB  ({secs:.0f} s)")
    print(f"  peak RSS for 10 million patients ({how}): {rss10:,.0f} MB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
