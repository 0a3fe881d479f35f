"""``oligosim run CONFIG``: simulate every arm and write the summary, curves and tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oligosim.commands import UserError, add_memory_option, check_memory, check_run_options, output_dir, print_warnings


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="simulate a scenario's arms and write summary.json and Kaplan-Meier plots",
        description="Simulate every arm of a scenario file and write DIR/summary.json, "
        "DIR/km_os.png and DIR/km_pfs.png (and optionally per-patient and event tables).",
    )
    p.add_argument("config", help="scenario TOML file")
    p.add_argument("--patients", type=int, help="virtual patients per arm (overrides simulation.patients)")
    p.add_argument("--seed", type=int, help="root seed (overrides simulation.seed)")
    p.add_argument("--threads", type=int, help="numba threads (default: all cores); results do not depend on it")
    p.add_argument(
        "--out",
        help="output directory (default: out/<scenario name>); replaced as a whole, and refused when it is "
        "a non-empty directory oligosim did not write",
    )
    p.add_argument("--per-patient", action="store_true", help="also write patients.csv")
    p.add_argument("--events", action="store_true", help="also write events.csv (the event log)")
    p.add_argument(
        "--engine",
        choices=("numba", "simpy"),
        default="numba",
        help="simulation engine: the numba kernel, or the plain SimPy reference (same model, same outputs, about 50x slower)",
    )
    add_memory_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.set_defaults(func=main)


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise UserError(f"--{name} = {value}: must be a whole number >= 1")


def main(args: argparse.Namespace) -> int:
    from oligosim.config import ConfigError, load_scenario
    from oligosim.memory import run_bytes

    check_run_options(args)
    _positive("threads", args.threads)
    try:
        scenario = load_scenario(args.config)
    except ConfigError as exc:
        raise UserError(f"{args.config} is not a valid scenario:\n{exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {args.config}: {exc.strerror or exc}") from None

    import matplotlib

    matplotlib.use("Agg")
    from tqdm import tqdm

    from oligosim.analysis.summary import endpoint, format_table, summarize
    from oligosim.analysis.survival import kaplan_meier
    from oligosim.io import files
    from oligosim.io import patients as patient_tables
    from oligosim.plots import canvas, km
    from oligosim.simulate import InfeasibleCohort, run_scenario

    if not scenario.data["arms"]:
        raise UserError(f"{args.config} has no [arms.<name>] table: it is a base file; write a scenario that extends it and adds arms")
    out = output_dir(args, Path("out") / scenario.name)
    n = args.patients or scenario.data["simulation"]["patients"]
    arms = len(scenario.data["arms"])
    # the reference engine and the per-patient tables keep every column
    keep = "all" if (args.per_patient or args.events or args.engine == "simpy") else "summary"
    from oligosim.economics.inputs import enabled as economics_enabled

    econ = economics_enabled(scenario)
    check_memory(args, run_bytes(n, arms, keep=keep, events=args.events, economics=econ), f"--patients {n} x {arms} arms")
    total = n * arms
    bar = tqdm(total=total, unit="pt", unit_scale=True, delay=2.0, disable=args.quiet, file=sys.stderr, desc="simulating")
    try:
        if args.engine == "simpy":
            from oligosim.reference import run_scenario_reference

            results = run_scenario_reference(
                scenario, patients=args.patients, seed=args.seed, events=args.events or econ, workers=args.threads or 1
            )
            if econ:  # the same post-processing of the event log as the kernel's chunks
                from oligosim.economics.collect import attach_from_log

                attach_from_log(results)
            bar.update(total)
        else:
            results = run_scenario(
                scenario,
                patients=args.patients,
                seed=args.seed,
                threads=args.threads,
                events=args.events,
                # per-patient tables need every column; otherwise summarise chunk by chunk
                keep=keep,
                progress=bar.update,
            )
    except InfeasibleCohort as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    summary = summarize(results)
    try:
        _write(files, patient_tables, canvas, km, kaplan_meier, endpoint, scenario, results, summary, out, args)
    except OSError as exc:
        raise UserError(f"cannot write the results to {out}: {exc.strerror or exc}") from None
    print_warnings(summary["arms"])
    if not args.quiet:
        print(f"{scenario.name}: {results.patients} patients per arm, seed {results.seed}, {results.seconds:.1f} s")
        print(format_table(summary))
        print(f"wrote {out}/summary.json, km_os.png, km_pfs.png" + (", patients.csv" if args.per_patient else "") + (", events.csv" if args.events else ""))
    return 0


def _write(files, patient_tables, canvas, km, kaplan_meier, endpoint, scenario, results, summary, out, args) -> None:
    """Write every output file into ``out`` at once (nothing half-written on failure)."""
    with files.atomic_directory(out) as tmp:
        files.write_json(tmp / "summary.json", summary)
        for key, title in (("os", "Overall survival"), ("pfs", "Progression-free survival")):
            curves = {arm.label: kaplan_meier(*endpoint(arm, key)) for arm in results.arms.values()}
            ax = km.plot_km(curves, title=f"{title}: {scenario.name}", max_months=min(60.0, scenario.data["simulation"]["horizon_months"]))
            canvas.save_figure(ax.figure, tmp / f"km_{key}.png")
        if args.per_patient:
            patient_tables.write_patients_csv(tmp / "patients.csv", results)
        if args.events:
            patient_tables.write_events_csv(tmp / "events.csv", results)
