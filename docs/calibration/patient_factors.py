"""Measure what the patient factors of docs/model.md 3.9 change: Shi 2021's elderly cohort
(configs/studies/shi2021.toml, age >= 70) against a younger cohort of the same scenario (age
mean 60, sd 8, 18-69 years), each with the factors off (the defaults) and on at their sourced
values: ECOG decline 0.68 at each progression, second and third lines at ECOG <= 1, local therapy
at ECOG <= 1 (other-cause hazard ratios stay 1: no source). Prints a markdown table: share given a
second line, share refused a line or course as unfit, median OS (months, with its 95% CI), 2-year
OS, and treatment deaths, per arm.

    python docs/calibration/patient_factors.py [--patients N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from oligosim import codes, simulate  # noqa: E402
from oligosim.analysis.survival import kaplan_meier, median_survival, survival_at  # noqa: E402
from oligosim.config import load_scenario  # noqa: E402

STUDY = ROOT / "configs" / "studies" / "shi2021.toml"
#: the sourced values of docs/model.md 3.9 (each key's source in oligosim/config/patient.py)
FACTORS_ON = {
    "patient_factors.ecog_decline_at_progression": 0.68,
    "patient_factors.max_ecog_second_line": 1,
    "patient_factors.max_ecog_third_line": 1,
    "patient_factors.max_ecog_local": 1,
}
YOUNGER = {"cohort.age_mean_years": 60.0, "cohort.age_sd_years": 8.0, "cohort.eligibility.min_age_years": 18.0, "cohort.eligibility.max_age_years": 69.0}


def _row(cohort: str, factors: str, name: str, arm) -> str:
    n = arm["os"].size
    second = float(np.mean(arm["lines"] >= 2))
    unfit = float(np.mean(np.any(arm.ev_code == codes.EV_UNFIT, axis=1)))
    km = kaplan_meier(arm["os"], arm["os_event"])
    med, (lo, hi) = median_survival(km)
    os24 = float(survival_at(km, 24.0)[0])
    tdeath = float(np.mean(arm["death_cause"] == codes.DEATH_TREATMENT))
    other = float(np.mean(arm["death_cause"] == codes.DEATH_OTHER))
    return (
        f"| {cohort} | {factors} | {name} | {n} | {second:.3f} | {unfit:.3f} | {med:.1f} ({lo:.1f}-{hi:.1f}) | {os24:.3f} "
        f"| {tdeath:.4f} | {other:.3f} |"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=20251121)
    args = ap.parse_args(argv)
    base = load_scenario(STUDY)
    print("| Cohort | Factors | Arm | n | Second line | Unfit (any) | Median OS, months (95% CI) | OS 24 mo | Treatment deaths | Other-cause deaths |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cohort, values in (("elderly (Shi 2021, >= 70)", {}), ("younger (18-69)", YOUNGER)):
        for factors, fv in (("off", {}), ("on", FACTORS_ON)):
            sc = base.with_values({**values, **fv})
            res = simulate.run_scenario(sc, patients=args.patients, seed=args.seed, events=True)
            for name, arm in res.arms.items():
                print(_row(cohort, factors, name, arm), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
