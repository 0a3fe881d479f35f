"""Predictive check of the shipped defaults: every study of the map replicated at its published
size (docs/calibration/README.md, "The shipped defaults at the studies' own sizes").

Run from the project root: ``python docs/calibration/predictive_defaults.py [--draws 200]
[--workers N]``. It uses configs/calibration/calibrate.toml for the map, the seed and the study
size of targets without n (its ``missing_n_weight``), with no parameter changed (the shipped
defaults), and writes docs/calibration/predictive_defaults/predictive.{csv,json,png}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--targets", default=str(ROOT.parent / "shared" / "calibration" / "targets.toml"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "calibration" / "predictive_defaults"))
    args = ap.parse_args()

    from oligosim.calibration import load_calibration
    from oligosim.calibration.plots import plot_predictive
    from oligosim.calibration.predictive import predictive_check
    from oligosim.plots.canvas import save_figure

    spec = load_calibration(ROOT / "configs" / "calibration" / "calibrate.toml", args.targets)
    t0 = time.perf_counter()
    check = predictive_check(spec, [{}], draws=args.draws, source="shipped defaults", workers=args.workers)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check.write_csv(out / "predictive.csv")
    (out / "predictive.json").write_text(json.dumps(check.to_json(), indent=1) + "\n", encoding="utf-8")
    save_figure(plot_predictive(check, spec.tmap).figure, out / "predictive.png")
    covered, k = check.coverage()
    print(f"{covered} of {k} published values inside the central 95% of their replicates ({time.perf_counter() - t0:.0f} s); wrote {out}")


if __name__ == "__main__":
    main()
