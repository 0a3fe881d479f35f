"""``oligosim targets TARGETS --map MAP``: score the model against published calibration targets.

Reads the targets file and the map (both validated strictly before anything runs), simulates
each study scenario the map names once (only the arms it needs), evaluates every mapped target
with its Monte Carlo 95 % CI, prints a table and writes ``DIR/targets.json`` and
``DIR/targets.png`` together (nothing is written when anything fails). The file formats and the
scoring rule are documented in :mod:`oligosim.calibration.target_map` and
:mod:`oligosim.calibration.scoring`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oligosim.commands import UserError, add_memory_option, check_memory, check_run_options, output_dir

DEFAULT_OUT = Path("out") / "targets"


def register(sub) -> None:
    p = sub.add_parser(
        "targets",
        help="score the model against published calibration targets (targets.json, targets.png)",
        description="Simulate the study scenarios named by a target map, evaluate every mapped "
        "target with its Monte Carlo 95% CI, print a table and write DIR/targets.json and "
        "DIR/targets.png. Map entries whose id is not in the targets file are an error; targets "
        "without a map entry are listed as unmapped.",
    )
    p.add_argument("targets", help="targets TOML file ([[target]] tables, as ../shared/calibration/targets.toml)")
    p.add_argument("--map", required=True, dest="map", metavar="MAP", help="map TOML file (e.g. configs/calibration/map.toml)")
    p.add_argument("--patients", type=int, help="virtual patients per arm (default: each scenario's simulation.patients)")
    p.add_argument("--seed", type=int, help="root seed (default: each scenario's simulation.seed)")
    p.add_argument("--out", help=f"output directory (default: {DEFAULT_OUT}); replaced as a whole, and refused when it is a non-empty directory oligosim did not write")
    p.add_argument(
        "--replicates", type=int, default=0, metavar="N",
        help="also simulate every study N times at its published size (the target's n; the median n where the targets file "
        "gives none) with new virtual patients, and report which published values lie inside the central 95%% of their "
        "replicates (predictive.csv, predictive.png; default 0: none)",
    )
    p.add_argument("--workers", type=int, help="with --replicates: local worker processes (default: all cores; 1: in this process); results do not depend on it")
    add_memory_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from oligosim.calibration.target_map import load_map
    from oligosim.calibration.targets import load_targets
    from oligosim.config import ConfigError

    check_run_options(args)
    if args.replicates < 0:
        raise UserError(f"--replicates = {args.replicates}: must be >= 0 (0: no replicated studies)")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers = {args.workers}: must be >= 1")
    out = output_dir(args, DEFAULT_OUT)
    try:
        targets = load_targets(args.targets)
    except ConfigError as exc:
        raise UserError(f"{args.targets} is not a valid targets file:\n{exc}") from None
    try:
        from oligosim.shipped import resolve

        map_path = resolve(args.map, "configs")  # a file, or a shipped map by name
        tmap = load_map(map_path, targets, extra="error")
    except ConfigError as exc:
        raise UserError(f"{args.map} is not a valid target map:\n{exc}") from None

    import matplotlib

    matplotlib.use("Agg")
    from tqdm import tqdm

    from oligosim.calibration.plots import plot_targets
    from oligosim.calibration.scoring import evaluate_targets
    from oligosim.calibration.target_report import format_results_table, results_json
    from oligosim.io.files import atomic_directory, write_json
    from oligosim.memory import run_bytes
    from oligosim.plots.canvas import save_figure
    from oligosim.simulate import InfeasibleCohort

    total = 0
    seen = {}
    for e in tmap.entries:
        seen.setdefault(e.scenario_path, set()).update(name for name, _ in e.arms)
    needed = 0
    for path, arms in seen.items():
        n = args.patients or tmap.scenarios[path].data["simulation"]["patients"]
        total += n * len(arms)
        # one scenario at a time; its results are reduced to the targets' numbers before the next
        needed = max(needed, run_bytes(n, len(arms)))
    arms = max(map(len, seen.values()), default=0)
    size = f"--patients {args.patients}" if args.patients else "simulation.patients of the study scenarios"
    check_memory(args, needed, f"{size} x up to {arms} arms per scenario")
    bar = tqdm(total=total, unit="pt", unit_scale=True, delay=2.0, disable=args.quiet, file=sys.stderr, desc="simulating")
    try:
        results = evaluate_targets(tmap, patients=args.patients, seed=args.seed, progress=bar.update)
    except InfeasibleCohort as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    doc = results_json(tmap, results, patients=args.patients, seed=args.seed)
    check = None
    if args.replicates:
        from oligosim.calibration.predictive import replicate_studies
        from oligosim.calibration.scoring import median_n

        bar = tqdm(total=args.replicates, unit="replicate", delay=2.0, disable=args.quiet, file=sys.stderr, desc="replicating")
        try:
            check = replicate_studies(
                tmap, [{}], draws=args.replicates, source="the scenarios as given", targets_path=args.targets, map_path=map_path,
                seed=args.seed or 0, missing_n=median_n(tmap.targets[e.id].n for e in tmap.entries), workers=args.workers, progress=bar.update,
            )
        finally:
            bar.close()
        doc["predictive"] = check.to_json()
    try:
        with atomic_directory(out) as tmp:
            write_json(tmp / "targets.json", doc)
            ax = plot_targets(results)
            save_figure(ax.figure, tmp / "targets.png")
            if check is not None:
                from oligosim.calibration.plots import plot_predictive

                check.write_csv(tmp / "predictive.csv")
                save_figure(plot_predictive(check, tmap).figure, tmp / "predictive.png")
    except OSError as exc:
        raise UserError(f"cannot write the results to {out}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(format_results_table(results))
        print()
        if tmap.pending:
            print(f"pending targets ({len(tmap.pending)}, declared not reproducible yet in {args.map}): {', '.join(tmap.pending)}")
        if tmap.unmapped:
            print(f"unmapped targets ({len(tmap.unmapped)}, no entry in {args.map}): {', '.join(tmap.unmapped)}")
        elif not tmap.pending:
            print(f"all {len(tmap.targets)} targets of {args.targets} are mapped")
        s = doc["summary"]
        if s["mapped"]:
            print(f"within tolerance: {s['within_tolerance']} of {s['mapped']} ({100 * s['fraction_within']:.0f}%)")
        if check is not None:
            covered, k = check.coverage()
            print(f"replicated studies ({args.replicates} each, at their published sizes): {covered} of {k} published values inside the central 95% of their replicates")
        print(f"wrote {out}/targets.json, targets.png" + (", predictive.csv, predictive.png" if check is not None else ""))
    return 0
