"""Two versions of the kernel in one run: throughput side by side, and whether results are identical.

Run ``python benchmarks/ab.py --base REV`` (a git revision: checked out into a temporary
worktree) or ``--base-tree DIR`` (a source tree holding an ``oligosim`` package), against the
working tree (or ``--new-tree DIR``). Each round runs one fresh process per version, the order
alternating from round to round so that drifts of a shared machine's load fall on both; each
process imports its tree's ``oligosim`` (``PYTHONPATH``), warms the kernel (numba's cache or a
first compile, not timed), then times ``run_scenario`` on one thread and hashes every
per-patient array of every arm, the event log included. The table gives each round's rates;
the last line is one JSON object with the median rates, their ratio (new over base), the
per-round ratios, and ``identical``: whether both versions gave the same hash (bit-identical
results), which a change that only makes the kernel faster must keep.

Nothing is asserted: figures are measured in this run on this machine (machines are shared and
noisy), and the ratio compares numbers taken minutes apart at most. A tree without a numba
cache compiles first (minutes); that time is not in the rate, and the JSON line gives the
longest start-up of each version (``warm_s``: import, cache load or compile, a first small run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import hashlib, json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import numpy as np
import oligosim
if not Path(oligosim.__file__).resolve().is_relative_to(Path({tree!r}).resolve()):
    sys.exit(f"imported oligosim from {{oligosim.__file__}}, not from the tree")  # before any compile
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario
sc = load_scenario({config!r})
run_scenario(sc, patients=50, threads=1, events=True)
warm = time.perf_counter() - t0
t = time.perf_counter()
res = run_scenario(sc, patients={patients}, seed={seed}, threads=1, events=True)
dt = time.perf_counter() - t
h = hashlib.sha256()
for name in sorted(res.arms):
    arm = res.arms[name]
    arrays = dict(arm.columns, tox=arm.tox, lc_time=arm.lc_time, lc_event=arm.lc_event, lc_bed=arm.lc_bed,
                  lc_volume=arm.lc_volume, ev_time=arm.ev_time, ev_code=arm.ev_code, ev_detail=arm.ev_detail)
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
print(json.dumps({{"rate": {patients} * len(res.arms) / dt, "warm_s": warm, "hash": h.hexdigest()}}))
"""


def run_child(tree: Path, config: str, patients: int, seed: int) -> dict:
    """One fresh process on ``tree``: its rate (patient-arms per second, one thread) and hash."""
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_NUM_THREADS="1")
    code = _CHILD.format(config=str((ROOT / config).resolve()), patients=patients, seed=seed, tree=str(tree))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tree)
    if out.returncode != 0:
        raise SystemExit(f"ab.py: the run on {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--base", help="git revision to compare against (checked out into a temporary worktree)")
    src.add_argument("--base-tree", type=Path, help="a source tree holding the base version's oligosim package")
    ap.add_argument("--new-tree", type=Path, default=ROOT, help="the new version's tree (default: this checkout)")
    ap.add_argument("--config", default="configs/default.toml")
    ap.add_argument("--patients", type=int, default=10000, help="patients per arm per timed run")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20251121)
    args = ap.parse_args(argv)
    if args.patients < 1 or args.rounds < 1:
        ap.error("--patients and --rounds must be at least 1")

    with tempfile.TemporaryDirectory(prefix="oligosim-ab-") as tmp:
        if args.base is not None:
            base = Path(tmp) / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base], check=True, capture_output=True)
        else:
            base = args.base_tree
        try:
            trees = {"base": base, "new": args.new_tree}
            for name, tree in trees.items():
                if not (tree / "oligosim" / "__init__.py").is_file():
                    raise SystemExit(f"ab.py: --{name}-tree {tree}: holds no oligosim package (oligosim/__init__.py)")
            rates: dict[str, list[float]] = {"base": [], "new": []}
            hashes: dict[str, set[str]] = {"base": set(), "new": set()}
            warm_s: dict[str, list[float]] = {"base": [], "new": []}
            print(f"{'round':>5} {'base /s':>10} {'new /s':>10} {'new/base':>9}")
            for r in range(args.rounds):
                order = ["base", "new"] if r % 2 == 0 else ["new", "base"]
                got = {k: run_child(trees[k], args.config, args.patients, args.seed) for k in order}
                for k in order:
                    rates[k].append(got[k]["rate"])
                    hashes[k].add(got[k]["hash"])
                    warm_s[k].append(got[k]["warm_s"])
                print(f"{r + 1:>5} {got['base']['rate']:>10,.0f} {got['new']['rate']:>10,.0f} {got['new']['rate'] / got['base']['rate']:>9.3f}")
        finally:
            if args.base is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    warm = {k: round(max(v), 1) for k, v in warm_s.items()}
    summary = {
        "config": args.config,
        "patients_per_arm": args.patients,
        "rounds": args.rounds,
        "base": args.base if args.base is not None else str(args.base_tree),
        "base_patients_per_s_1thread": round(med["base"]),
        "new_patients_per_s_1thread": round(med["new"]),
        "ratio_new_over_base": round(med["new"] / med["base"], 3),
        "ratios_by_round": [round(n / b, 3) for n, b in zip(rates["new"], rates["base"])],
        "identical": len(hashes["base"]) == 1 and hashes["base"] == hashes["new"],
        "warm_s": warm,
        "load_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
