"""Score a calibration v2 point fit on all 70 targets at 20,000 virtual patients per arm.

A fit at 3,000 or 10,000 patients per arm can sit on its common patients' noise at a band's edge;
this re-scores its best point with the study files' own seeds and many more patients, with the
calibration file's ``[fixed]`` settings and ``[tied]`` values applied (``spec.overrides``)::

    python docs/calibration/v2/evaluate_point.py configs/calibration/calibrate_v2_factors.toml \\
        docs/calibration/v2/factors/best_values.json --out docs/calibration/v2/factors/targets_20000.json

``--set path=value`` (repeatable) changes one more setting, e.g. ``--set simulation.max_lesions=32``
to see whether the point holds at the shipped lesion cap. Prints the count within tolerance, the
objective of the file's own loss and every miss; ``--out`` writes every target's result (JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

from oligosim.calibration.evaluation import objective
from oligosim.calibration.scoring import evaluate_targets
from oligosim.calibration.spec import load_calibration
from oligosim.config.nodes import ConfigError

TARGETS = Path(__file__).resolve().parents[4] / "shared" / "calibration" / "targets.toml"


def _setting(text: str) -> tuple[str, object]:
    path, sep, value = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"--set {text!r}: expected path=value")
    try:
        return path, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--set {text!r}: the value {value!r} is not a TOML value ({exc})") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("calibration", help="the calibration file of the fit")
    ap.add_argument("best_values", help="its best_values.json")
    ap.add_argument("--targets", default=str(TARGETS))
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument("--out", help="write every target's result here (JSON)")
    args = ap.parse_args(argv)
    spec = load_calibration(args.calibration, args.targets)
    overrides = spec.overrides(json.loads(Path(args.best_values).read_text()))
    overrides.update(dict(args.settings))
    t0 = time.perf_counter()
    results = evaluate_targets(spec.tmap, patients=args.patients, overrides=overrides)
    within = sum(r.within_tolerance for r in results)
    obj = objective(results, spec.objective)[0]
    print(f"{within} of {len(results)} within tolerance; objective {obj:.4f} ({args.patients} per arm, {time.perf_counter() - t0:.0f} s)")
    for r in results:
        if not r.within_tolerance:
            model = "undefined" if r.model is None else f"{r.model:.4g}"
            print(f"  miss {r.id}: published {r.target:.4g}, model {model}")
    if args.out:
        Path(args.out).write_text(json.dumps([r.to_json() for r in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConfigError as exc:  # a bad file, key or value: its message names them
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
