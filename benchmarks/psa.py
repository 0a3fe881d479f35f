"""Benchmark: a probabilistic sensitivity analysis of 1,000 parameter draws x 10,000 patients.

Runs ``experiments/psa.toml`` with two arms (systemic therapy alone vs consolidative RT) on the
local process pool, times it, and prints the throughput and the time per draw; the last line
is one JSON object. ``--quick`` runs 40 draws x 2,000 patients. ``--scheduler ADDRESS`` runs on
a Dask cluster instead, and ``--compare-dask`` also runs the same PSA on a Dask LocalCluster and
checks that the results are identical.

    python benchmarks/psa.py [--quick] [--draws N] [--patients N] [--workers N] [--arms a,b,...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 draws x 2,000 patients")
    ap.add_argument("--draws", type=int)
    ap.add_argument("--patients", type=int)
    ap.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    ap.add_argument("--arms", default="systemic_only,consolidative", help="comma-separated arms of default.toml")
    ap.add_argument("--scheduler", help="Dask scheduler address")
    ap.add_argument("--compare-dask", action="store_true", help="also run on a Dask LocalCluster and compare")
    args = ap.parse_args(argv)

    from oligosim.experiments import load_experiment
    from oligosim.experiments.executor import default_workers
    from oligosim.experiments.runner import run_experiment

    draws = args.draws or (40 if args.quick else 1000)
    patients = args.patients or (2000 if args.quick else 10000)
    exp = load_experiment(ROOT / "experiments" / "psa.toml")
    settings = dict(exp.settings, draws=draws)
    exp = replace(exp, patients=patients, settings=settings, arms=tuple(args.arms.split(",")))
    workers = args.workers or default_workers()
    # warm the numba cache in this process first so that compile time is not counted
    from oligosim.simulate import run_scenario

    run_scenario(exp.scenario, patients=10, seed=1, arms=list(exp.arms))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        doc = run_experiment(exp, Path(tmp) / "psa", scheduler=args.scheduler, workers=workers, quiet=False)
        seconds = time.perf_counter() - t0
        dask_same = None
        dask_seconds = None
        if args.compare_dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                t1 = time.perf_counter()
                other = run_experiment(exp, Path(tmp) / "psa_dask", scheduler=cluster.scheduler_address, quiet=True)
                dask_seconds = time.perf_counter() - t1
            dask_same = other["results"] == doc["results"]
    patient_arms = draws * patients * len(exp.arms)
    out = {
        "draws": draws,
        "patients_per_arm": patients,
        "arms": list(exp.arms),
        "workers": workers,
        "scheduler": args.scheduler or "local process pool",
        "cores": os.cpu_count(),
        "seconds": round(seconds, 1),
        "minutes": round(seconds / 60, 2),
        "seconds_per_draw": round(seconds / draws, 3),
        "patient_arms_per_second": round(patient_arms / seconds),
        "dask_localcluster_seconds": None if dask_seconds is None else round(dask_seconds, 1),
        "dask_identical": dask_same,
    }
    print(
        f"PSA: {draws} draws x {patients:,} patients x {len(exp.arms)} arms on {workers} workers: "
        f"{seconds:.0f} s ({seconds / 60:.1f} min), {out['patient_arms_per_second']:,} patient-arms/s",
        file=sys.stderr,
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
