"""``oligosim calibrate CONFIG --targets TARGETS``: fit parameters to published targets.

Validates the calibration config, the targets file and the map before anything runs (a problem
is one line naming the file, key, value and rule; exit code 2, nothing written), then runs the
point fit (Sobol' screen + Nelder-Mead) and/or ABC-SMC on common random numbers and writes the
fit, the posterior and a report into DIR together (see :mod:`oligosim.calibration`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oligosim.commands import UserError, add_memory_option, check_memory, output_dir, run_errors

DEFAULT_OUT = Path("out") / "calibration"


def register(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit model parameters to published targets (point fit and ABC-SMC posterior)",
        description="Fit the parameters named by a calibration config to the targets of a targets "
        "file (as mapped onto study scenarios by the config's map): a Sobol' screen and Nelder-Mead "
        "for the point fit, ABC-SMC for the posterior, all on common random numbers. Writes "
        "DIR/calibration.json, calibrated.toml, posterior files, figures, report.md and report.html.",
    )
    p.add_argument("config", help="calibration TOML file (e.g. configs/calibration/calibrate.toml)")
    p.add_argument("--targets", required=True, metavar="TARGETS", help="targets TOML file ([[target]] tables)")
    p.add_argument("--out", help=f"output directory (default: {DEFAULT_OUT}); replaced as a whole, and refused when it is a non-empty directory oligosim did not write")
    p.add_argument("--quick", action="store_true", help="use the config's [quick] sizes: a fast, rough run")
    p.add_argument(
        "--method",
        choices=("optimize", "abc", "both", "history", "sensitivity"),
        help="point fit, ABC posterior or both, or history matching with a Bayesian step (default: the config's calibration.method); sensitivity: no fit, but which targets "
        "inform which parameter at the current defaults (local sensitivities, trade-offs, free directions)",
    )
    p.add_argument("--step", type=float, default=0.05, help="with --method sensitivity: each parameter's step, a fraction of its prior range on its search scale (default 0.05)")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores; 1: in this process); results do not depend on it")
    p.add_argument(
        "--journal",
        metavar="FILE",
        help="append every simulated candidate to FILE and read those it already holds instead of simulating them: "
        "an interrupted run given the same FILE resumes where it stopped, with the same result; refused if FILE is another calibration's",
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="evaluate batches on a Dask distributed scheduler (e.g. tcp://10.0.0.1:8786)")
    add_memory_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from oligosim.calibration import load_calibration, run_calibration
    from oligosim.config import ConfigError

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers = {args.workers}: must be a whole number >= 1")
    if not 0.0 < args.step < 0.5:
        raise UserError(f"--step = {args.step}: must be in (0, 0.5) (a fraction of each parameter's prior range)")
    out = output_dir(args, DEFAULT_OUT)
    if args.journal is not None:
        j = Path(args.journal).resolve()
        if not args.journal.strip() or j.is_dir():
            raise UserError(f"--journal = {args.journal!r}: must name a file")
        if j.is_relative_to(out.resolve()):
            raise UserError(f"--journal = {args.journal}: must lie outside --out {out} (the output directory is replaced as a whole when the run ends)")
    try:
        from oligosim.shipped import resolve

        spec = load_calibration(resolve(args.config, "configs"), args.targets, quick=args.quick)  # a file, or a shipped spec by name
    except ConfigError as exc:
        raise UserError(f"{args.config} is not a valid calibration (or its targets or map are not valid):\n{exc}") from None

    import matplotlib

    matplotlib.use("Agg")
    from oligosim.calibration.report import write_outputs

    _check_memory(args, spec)
    method = args.method or spec.method
    conflict = spec.method_conflict(method, f"--method {method}")
    if conflict:
        raise UserError(f"{args.config}: {conflict}")
    if method == "sensitivity":
        return _sensitivity(args, spec, out)
    o, a = spec.optimize, spec.abc
    budget = 4
    if method in ("optimize", "both"):
        budget += o["screen_points"] + 1 + (o["max_evaluations"] if o["local"] != "none" else 0)
    if method in ("abc", "both"):
        budget += a["prior_draws"] + (a["generations"] - 1) * a["max_proposals"]
    if method == "history":
        h = spec.history
        budget += h["waves"] * h["design_points"] + h["rounds"] * h["particles"]
    result = _guarded(args, budget, "calibrating", lambda progress, log: run_calibration(spec, method=method, workers=args.workers, scheduler=args.scheduler, progress=progress, log=log, journal=args.journal))
    names = _write(write_outputs, result, out)
    if not args.quiet:
        from oligosim.calibration.target_report import format_results_table

        print(format_results_table(result.after))
        print()
        nb = sum(r.within_tolerance for r in result.before)
        na = sum(r.within_tolerance for r in result.after)
        n = len(result.after)
        print(f"objective {result.evaluations[0].objective:.4g} -> {result.best.objective:.4g}; within tolerance {nb} -> {na} of {n}")
        for p in spec.parameters:
            print(f"  {p.path} = {result.best.values[p.path]:.6g}   (prior [{p.low:g}, {p.high:g}], default {p.default})")
        print(f"{len(result.evaluations)} evaluations in {result.seconds / 60:.1f} min; wrote {out}/: {', '.join(names)}")
    return 0


def _sensitivity(args, spec, out) -> int:
    """``--method sensitivity``: which targets inform which parameter (:mod:`oligosim.calibration.identify`)."""
    from oligosim.calibration.identify import local_sensitivity
    from oligosim.calibration.identify_report import write_sensitivity

    def run(progress, log):
        try:
            return local_sensitivity(spec, step=args.step, workers=args.workers, scheduler=args.scheduler, progress=progress, journal=args.journal, log=log)
        except ValueError as exc:
            if type(exc) is not ValueError:  # a JournalError: reported by _guarded
                raise
            raise UserError(f"{args.config}: {exc}") from None

    s = _guarded(args, 2 * spec.dim + 2, "sensitivity", run)
    names = _write(write_sensitivity, s, out)
    if not args.quiet:
        rms, weak, bound = s.rms_effect(), s.weak(), s.at_bound()
        for j, p in enumerate(spec.parameters):
            flags = ", ".join(f for f, on in (("weakly informed", weak[j]), ("at a prior bound", bound[j])) if on)
            print(f"  {p.path}: effect {rms[j]:.3g}" + (f" ({flags})" if flags else ""))
        print(f"{len(s.evaluations)} points; wrote {out}/: {', '.join(names)}")
    return 0


def _guarded(args, total: int, desc: str, call):
    """Run ``call(progress, log)`` under a progress bar, turning the run's errors into one-line
    user errors (exit 2): a bad journal, an infeasible cohort, a file that cannot be read."""
    from tqdm import tqdm

    from oligosim.calibration.journal import JournalError
    from oligosim.config import ConfigError
    from oligosim.simulate import InfeasibleCohort

    bar = tqdm(total=total, unit="eval", delay=2.0, disable=args.quiet, file=sys.stderr, desc=desc)
    log = None if args.quiet else (lambda s: tqdm.write(s, file=sys.stderr))
    try:
        return call(bar.update, log)
    except JournalError as exc:
        raise UserError(f"--journal = {args.journal}: {exc}") from None
    except (InfeasibleCohort, RuntimeError) as exc:
        raise UserError(str(exc)) from None
    except (ConfigError, OSError) as exc:
        err = run_errors(args, exc)
        if err is None:
            raise
        raise err from None
    finally:
        bar.close()


def _write(writer, result, out) -> list[str]:
    """``writer(result, out)``; an output directory that cannot be written is a user error."""
    try:
        return writer(result, out)
    except OSError as exc:
        raise UserError(f"cannot write the results to {out}: {exc.strerror or exc}") from None


def _check_memory(args, spec) -> None:
    """Refuse a calibration whose concurrent evaluations would not fit in memory (each local
    worker simulates one scenario of the map at a time, summary columns only)."""
    from oligosim.experiments.executor import default_workers
    from oligosim.memory import run_bytes

    if args.scheduler:
        return
    arms = max((len(sc.data["arms"]) for sc in spec.tmap.scenarios.values()), default=1)
    workers = args.workers or default_workers()
    needed = workers * run_bytes(spec.patients, arms)
    check_memory(args, needed, f"patients = {spec.patients} x up to {arms} arms x {workers} workers ({args.config})")
