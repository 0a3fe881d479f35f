"""How many fewer virtual patients a paired (common-random-numbers) comparison needs.

Run ``python benchmarks/paired.py [--quick] [--config configs/default.toml]``. It prints a
table, then as its last line one JSON object.

Two strategies (default: ``systemic_only`` = a, ``consolidative`` = b) are compared in ``R``
independent replications of ``N`` patients per arm, in two designs:

* **paired**: both arms simulated with the same seed ``s`` -- patient ``i`` is the same virtual
  patient in both arms (common random numbers);
* **independent**: arm a with seed ``s``, arm b with seed ``s + 1_000_003`` -- two unrelated
  cohorts, as in a parallel-group trial.

For each quantity (difference b - a of median OS, OS RMST at 36 months, median PFS and the rate
of any grade >= 3 toxicity) the empirical standard deviation of the estimated difference over
the replications is computed in each design; the variance ratio ``SD_independent**2 /
SD_paired**2`` is the factor by which the paired design reduces the number of patients needed
for the same precision. Its 95 % interval treats the two variance estimates as independent
chi-square variables (F distribution with R - 1, R - 1 degrees of freedom; approximate for
non-normal estimates such as medians on a discrete assessment grid). For comparison, the
bootstrap estimate of the same ratio from :func:`oligosim.analysis.paired.compare_arms` on the first
paired replication is printed too (what a single run reports).

Figures are Monte-Carlo estimates from this run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
INDEPENDENT_SEED_OFFSET = 1_000_003
TAU = 36.0
QUANTITIES = ("median_os", "rmst36_os", "median_pfs", "tox_any")
LABELS = {
    "median_os": "median OS (months)",
    "rmst36_os": "OS RMST, 36 months (months)",
    "median_pfs": "median PFS (months)",
    "tox_any": "any grade>=3 toxicity (rate)",
}


def differences(a, b) -> dict[str, float]:
    """Estimated b - a of each quantity (nan if a median is not reached)."""
    from oligosim.analysis.survival import kaplan_meier, median_survival, rmst

    def med(arm, ep):
        m = median_survival(kaplan_meier(arm[ep], arm[f"{ep}_event"]))[0]
        return math.nan if m is None else m

    km_a = kaplan_meier(a["os"], a["os_event"])
    km_b = kaplan_meier(b["os"], b["os_event"])
    return {
        "median_os": med(b, "os") - med(a, "os"),
        "rmst36_os": rmst(km_b, TAU)[0] - rmst(km_a, TAU)[0],
        "median_pfs": med(b, "pfs") - med(a, "pfs"),
        "tox_any": float(b.tox.any(axis=1).mean() - a.tox.any(axis=1).mean()),
    }


def bootstrap_ratios(comparison: dict) -> dict[str, float | None]:
    """The variance ratios compare_arms reports for the same quantities."""
    return {
        "median_os": comparison["endpoints"]["os"]["median"]["variance_ratio"],
        "rmst36_os": comparison["endpoints"]["os"]["rmst"]["variance_ratio"],
        "median_pfs": comparison["endpoints"]["pfs"]["median"]["variance_ratio"],
        "tox_any": comparison["toxicity"]["any"]["variance_ratio"],
    }


def variance_ratio_ci(ratio: float, reps: int) -> tuple[float, float]:
    """95 % interval of a ratio of two independent sample variances with reps - 1 df each."""
    from scipy import stats

    df = reps - 1
    return ratio / stats.f.ppf(0.975, df, df), ratio / stats.f.ppf(0.025, df, df)


def _r(x, digits=4):
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.toml")
    ap.add_argument("--arms", nargs=2, default=["systemic_only", "consolidative"], metavar=("A", "B"))
    ap.add_argument("--quick", action="store_true", help="10 replications x 1,000 patients (default 40 x 4,000)")
    ap.add_argument("--replications", type=int, help="override the number of replications")
    ap.add_argument("--patients", type=int, help="override the patients per arm")
    ap.add_argument("--seed", type=int, default=1, help="seed of the first replication (default 1)")
    ap.add_argument("--bootstrap", type=int, default=400, help="bootstrap replicates for compare_arms (default 400)")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    from oligosim.analysis.paired import compare_arms
    from oligosim.config import load_scenario
    from oligosim.simulate import run_scenario

    reps = args.replications or (10 if args.quick else 40)
    n = args.patients or (1_000 if args.quick else 4_000)
    if reps < 3:
        ap.error("--replications must be >= 3")
    name_a, name_b = args.arms
    sc = load_scenario(args.config)
    run_scenario(sc, patients=50, seed=0, arms=[name_a])  # load / compile the engine outside the timing

    t0 = time.perf_counter()
    paired = {q: [] for q in QUANTITIES}
    indep = {q: [] for q in QUANTITIES}
    boot = None
    boot_seconds = 0.0
    for i in range(reps):
        s = args.seed + i
        res = run_scenario(sc, patients=n, seed=s, keep="all", arms=[name_a, name_b])
        a, b = res.arms[name_a], res.arms[name_b]
        b_other = run_scenario(sc, patients=n, seed=s + INDEPENDENT_SEED_OFFSET, keep="all", arms=[name_b]).arms[name_b]
        for q, v in differences(a, b).items():
            paired[q].append(v)
        for q, v in differences(a, b_other).items():
            indep[q].append(v)
        if i == 0:
            tb = time.perf_counter()
            boot = compare_arms(a, b, tau_months=TAU, landmarks=(12, 24), replicates=args.bootstrap, seed=s)
            boot_seconds = time.perf_counter() - tb
    seconds = time.perf_counter() - t0

    boot_ratio = bootstrap_ratios(boot)
    figures = {}
    for q in QUANTITIES:
        p = np.asarray(paired[q], dtype=float)
        d = np.asarray(indep[q], dtype=float)
        ok = np.isfinite(p) & np.isfinite(d)
        sd_p = float(np.std(p[ok], ddof=1)) if ok.sum() > 2 else math.nan
        sd_i = float(np.std(d[ok], ddof=1)) if ok.sum() > 2 else math.nan
        ratio = sd_i**2 / sd_p**2 if sd_p > 0 else math.nan
        lo, hi = variance_ratio_ci(ratio, int(ok.sum())) if math.isfinite(ratio) else (math.nan, math.nan)
        figures[q] = {
            "mean_diff_paired": _r(np.mean(p[ok])),
            "mean_diff_independent": _r(np.mean(d[ok])),
            "sd_paired": _r(sd_p, 5),
            "sd_independent": _r(sd_i, 5),
            "variance_ratio": _r(ratio, 3),
            "variance_ratio_ci95": [_r(lo, 3), _r(hi, 3)],
            "bootstrap_variance_ratio": _r(boot_ratio[q], 3),
            "replications_used": int(ok.sum()),
        }
        if ok.sum() > 2:
            values, counts = np.unique(np.round(np.concatenate((p[ok], d[ok])), 9), return_counts=True)
            mode, share = values[np.argmax(counts)], counts.max() / (2 * ok.sum())
            if sd_p == 0 and sd_i == 0:
                figures[q]["note"] = (
                    f"the difference is {mode:g} in every replication of both designs (a median on the "
                    "assessment-visit grid): no variance, ratio undefined"
                )
            elif share >= 0.5:
                figures[q]["note"] = (
                    f"the difference is {mode:g} in {share:.0%} of the replications (a median on the "
                    "assessment-visit grid): the SDs come from a few jumps, so the ratio and its interval "
                    "are not reliable"
                )
        if ok.sum() < reps:
            extra = f"{reps - int(ok.sum())} replications dropped: a median not reached"
            figures[q]["note"] = f"{figures[q]['note']}; {extra}" if "note" in figures[q] else extra

    print(
        f"paired vs independent arms: {args.config}, b = {name_b} vs a = {name_a}, "
        f"{reps} replications x {n:,} patients per arm ({seconds:.0f} s; compare_arms with "
        f"{args.bootstrap} bootstrap replicates on replication 1: {boot_seconds:.1f} s)"
    )
    head = (f"{'quantity (b - a)':30s} {'mean diff':>10s} {'SD paired':>10s} {'SD indep':>10s} "
            f"{'var ratio':>10s} {'95% CI':>16s} {'bootstrap':>10s}")
    print(head)
    print("-" * len(head))
    for q in QUANTITIES:
        f = figures[q]
        fmt = lambda x, spec: "n/a" if x is None else format(x, spec)  # noqa: E731
        ci = f"[{fmt(f['variance_ratio_ci95'][0], '.2f')}, {fmt(f['variance_ratio_ci95'][1], '.2f')}]"
        print(
            f"{LABELS[q]:30s} {fmt(f['mean_diff_paired'], '10.3f')} {fmt(f['sd_paired'], '10.4f')} "
            f"{fmt(f['sd_independent'], '10.4f')} {fmt(f['variance_ratio'], '10.2f')} {ci:>16s} "
            f"{fmt(f['bootstrap_variance_ratio'], '10.2f')}"
        )
    for q in QUANTITIES:
        if "note" in figures[q]:
            print(f"note, {LABELS[q]}: {figures[q]['note']}")
    print(
        "var ratio = SD_indep^2 / SD_paired^2 over the replications = how many times more patients "
        "independent arms need for the same precision; bootstrap = compare_arms' estimate from one run"
    )
    result = {
        "config": args.config,
        "arm_a": name_a,
        "arm_b": name_b,
        "replications": reps,
        "patients_per_arm": n,
        "first_seed": args.seed,
        "independent_seed_offset": INDEPENDENT_SEED_OFFSET,
        "bootstrap_replicates": args.bootstrap,
        "tau_months": TAU,
        "seconds": round(seconds, 1),
        "quantities": figures,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
