"""``oligosim experiment FILE``: run an experiment file and write its results and report."""

from __future__ import annotations

import argparse
from pathlib import Path

from oligosim.commands import UserError, print_warnings
from oligosim.commands import run_errors


def register(sub) -> None:
    p = sub.add_parser(
        "experiment",
        help="run an experiment file (comparison, sensitivity, PSA, Sobol/Morris, virtual trial)",
        description="Run an experiment file and write DIR/results.json, CSV tables, PNG figures, "
        "DIR/report.md and DIR/report.html. Kinds: compare, oneway, twoway, threshold, psa, sobol, morris, trial.",
    )
    p.add_argument("file", help="experiment TOML file")
    p.add_argument("--out", help="output directory (default: out/<experiment name>)")
    p.add_argument("--quick", action="store_true", help="use the file's [quick] sizes: a fast, rougher run")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler (e.g. tcp://10.0.0.1:8786) instead of local processes")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores); results do not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from oligosim.config import ConfigError
    from oligosim.experiments.spec import ExperimentError, load_experiment

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers = {args.workers}: must be a whole number >= 1")
    try:
        exp = load_experiment(args.file, quick=args.quick)
    except ConfigError as exc:
        raise UserError(f"{args.file} is not a valid experiment:\n{exc}") from None
    out = Path(args.out) if args.out else Path("out") / exp.name
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    from oligosim.experiments.runner import run_experiment
    from oligosim.simulate import InfeasibleCohort

    try:
        doc = run_experiment(exp, out, scheduler=args.scheduler, workers=args.workers, quiet=args.quiet)
    except (InfeasibleCohort, ExperimentError) as exc:
        raise UserError(str(exc)) from None
    except (ConfigError, OSError) as exc:
        raise run_errors(args, exc) or UserError(f"cannot write the results to {out}: {exc.strerror or exc}") from None
    print_warnings(doc["results"].get("arms", {}) if isinstance(doc["results"], dict) else {})
    if not args.quiet:
        print(f"{exp.name} ({exp.kind}): {doc['seconds']:.1f} s; wrote {out}/" + ", ".join(doc["files"]))
    return 0
