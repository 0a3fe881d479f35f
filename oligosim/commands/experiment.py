"""``oligosim experiment FILE``: run an experiment file and write its results and report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oligosim.commands import UserError, add_memory_option, check_memory, output_dir, print_warnings, run_errors


def register(sub) -> None:
    p = sub.add_parser(
        "experiment",
        help="run an experiment file (comparison, sensitivity, PSA, Sobol/Morris, virtual trial)",
        description="Run an experiment file and write DIR/results.json, CSV tables, PNG figures, "
        "DIR/report.md and DIR/report.html. Kinds: compare, oneway, twoway, threshold, psa, sobol, morris, trial.",
    )
    p.add_argument("file", help="experiment TOML file, or a shipped experiment's name (`oligosim list`)")
    p.add_argument(
        "--out",
        help="output directory (default: out/<experiment name>); replaced as a whole, and refused when it is "
        "a non-empty directory oligosim did not write",
    )
    p.add_argument("--quick", action="store_true", help="use the file's [quick] sizes: a fast, rougher run")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler (e.g. tcp://10.0.0.1:8786) instead of local processes")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores); results do not depend on it")
    add_memory_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from oligosim.config import ConfigError
    from oligosim.experiments.spec import ExperimentError, load_experiment

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers = {args.workers}: must be a whole number >= 1")
    from oligosim import shipped
    from oligosim.commands.check import COMMAND_FOR, sniff_kind

    path = shipped.resolve(args.file, "experiments")
    kind = sniff_kind(path)
    if kind in COMMAND_FOR and kind != "experiment":
        raise UserError(f"{args.file} is {COMMAND_FOR[kind][0]}, not an experiment: {COMMAND_FOR[kind][1]}")
    try:
        exp = load_experiment(path, quick=args.quick)
    except ConfigError as exc:
        if not Path(path).exists():
            raise UserError(f"{args.file}: file not found{shipped.unknown_name_hint(args.file, 'experiments')}") from None
        raise UserError(f"{args.file} is not a valid experiment:\n{exc}") from None
    for line in exp.warnings:
        print(f"warning: {line}", file=sys.stderr)
    out = output_dir(args, Path("out") / exp.name)
    _check_memory(args, exp)
    from oligosim.experiments.runner import run_experiment
    from oligosim.simulate import InfeasibleCohort

    if not args.quiet:
        from oligosim.api import announce_compile

        announce_compile()
    reports: list = []
    try:
        doc = run_experiment(exp, out, scheduler=args.scheduler, workers=args.workers, quiet=args.quiet, reports=reports)
    except (InfeasibleCohort, ExperimentError) as exc:
        raise UserError(str(exc)) from None
    except (ConfigError, OSError) as exc:
        raise run_errors(args, exc) or UserError(f"cannot write the results to {out}: {exc.strerror or exc}") from None
    print_warnings(doc["results"].get("arms", {}) if isinstance(doc["results"], dict) else {})
    if not args.quiet:
        answer = reports[0].answer_text() if reports else ""
        print(f"{exp.title}\n" + (f"\n{answer}\n" if answer else ""))
        print(f"{exp.name} ({exp.kind}): {doc['seconds']:.1f} s; wrote {out}/" + ", ".join(doc["files"]))
    return 0


def _check_memory(args, exp) -> None:
    """Refuse an experiment whose evaluations would not fit in memory together.

    Every local worker holds one evaluation at a time, keeping every column in the worst case
    (a paired outcome or a comparison); a remote ``--scheduler`` uses its own machines' memory.
    """
    from oligosim.experiments.executor import default_workers
    from oligosim.memory import run_bytes

    if args.scheduler:
        return
    n = max(exp.patients, int(exp.settings.get("pool_patients") or 0))  # a trial's pool can be larger
    arms = len(exp.arms)
    workers = args.workers or default_workers()
    check_memory(args, workers * run_bytes(n, arms, keep="all"), f"patients = {n} x {arms} arms x {workers} workers ({args.file})")
