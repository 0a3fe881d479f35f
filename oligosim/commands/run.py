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
    p.add_argument("config", help="scenario TOML file, or a shipped scenario's name (`oligosim list`)")
    p.add_argument("--patients", type=int, help="virtual patients per arm (overrides simulation.patients)")
    p.add_argument("--seed", type=int, help="root seed (overrides simulation.seed)")
    p.add_argument("--threads", type=int, help="numba threads (default: all cores); results do not depend on it")
    p.add_argument(
        "--out",
        help="output directory (default: out/<scenario name>); replaced as a whole, and refused when it is "
        "a non-empty directory oligosim did not write",
    )
    p.add_argument("--per-patient", action="store_true", help="also write patients.csv (and patients.parquet when pyarrow is installed)")
    p.add_argument("--events", action="store_true", help="also write events.csv (the event log; and events.parquet when pyarrow is installed)")
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
    from oligosim import api, shipped
    from oligosim.config import ConfigError
    from oligosim.memory import run_bytes

    check_run_options(args)
    _positive("threads", args.threads)
    config = shipped.resolve(args.config, "configs")
    _refuse_other_kinds(args.config, config)
    try:
        scenario = api.load(config)
    except ConfigError as exc:
        if not Path(config).exists():
            raise UserError(f"{args.config}: file not found{shipped.unknown_name_hint(args.config, 'configs')}") from None
        raise UserError(f"{args.config} is not a valid scenario:\n{exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {args.config}: {exc.strerror or exc}") from None

    import matplotlib

    matplotlib.use("Agg")
    from tqdm import tqdm

    from oligosim.analysis.summary import format_table
    from oligosim.simulate import InfeasibleCohort

    if not scenario.data["arms"]:
        raise UserError(f"{args.config} has no [arms.<name>] table: it is a base file; write a scenario that extends it and adds arms")
    for line in scenario.warnings:  # regimens outside their labels (model 5.7), even with --quiet
        print(f"warning: {args.config}: {line}", file=sys.stderr)
    out = output_dir(args, Path("out") / scenario.name)
    n = args.patients or scenario.data["simulation"]["patients"]
    arms = len(scenario.data["arms"])
    # the reference engine and the per-patient tables keep every column
    keep = "all" if (args.per_patient or args.events or args.engine == "simpy") else "summary"
    from oligosim.economics.inputs import enabled as economics_enabled

    econ = economics_enabled(scenario)
    check_memory(args, run_bytes(n, arms, keep=keep, events=args.events, economics=econ), f"--patients {n} x {arms} arms")
    total = n * arms
    if args.engine == "numba" and not args.quiet:
        api.announce_compile()  # before the bar: a first compile is otherwise minutes of silence
    bar = tqdm(total=total, unit="pt", unit_scale=True, delay=2.0, disable=args.quiet, file=sys.stderr, desc="simulating")
    try:
        result = api.run(
            scenario,
            patients=args.patients,
            seed=args.seed,
            threads=args.threads,
            events=args.events,
            # per-patient tables need every column; otherwise summarise chunk by chunk
            keep=keep,
            engine=args.engine,
            progress=bar.update,
            announce=False,
        )
    except InfeasibleCohort as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    summary = result.summary_json()
    try:
        written = _write(scenario, result, summary, out, args)
    except OSError as exc:
        raise UserError(f"cannot write the results to {out}: {exc.strerror or exc}") from None
    print_warnings(summary["arms"])
    if args.events:
        _warn_truncated_logs(result.raw)
    if not args.quiet:
        print(f"{scenario.name}: {result.n_patients} patients per arm, seed {result.seed}, {result.raw.seconds:.1f} s")
        print(format_table(summary))
        print(f"wrote {out}/" + ", ".join(written))
    return 0


def _warn_truncated_logs(raw) -> None:
    """Say on stderr when events.csv holds only the first events of some patients' logs (the
    kernel keeps a fixed number per patient; docs/model.md 9), rather than cut them silently."""
    for name, arm in raw.arms.items():
        width = arm.ev_time.shape[1]
        cut = int((arm.columns["ev_n"] > width).sum())
        if cut:
            print(f"warning: arm {name}: {cut} of {arm.n} patients had more than {width} events; events.csv keeps their first {width}", file=sys.stderr)


def _refuse_other_kinds(arg: str, path: str) -> None:
    """A clear error for an experiment, calibration spec, targets file or map given to ``run``."""
    from oligosim.commands.check import COMMAND_FOR, sniff_kind

    kind = sniff_kind(path)
    if kind in COMMAND_FOR and kind not in ("scenario", "base"):
        raise UserError(f"{arg} is {COMMAND_FOR[kind][0]}, not a scenario: {COMMAND_FOR[kind][1]}")


def _write(scenario, result, summary, out, args) -> list[str]:
    """Write every output file into ``out`` at once (nothing half-written on failure); returns
    the names written."""
    from oligosim.analysis.summary import endpoint
    from oligosim.analysis.survival import kaplan_meier
    from oligosim.io import files
    from oligosim.io import patients as patient_tables
    from oligosim.plots import canvas, km

    names = ["summary.json", "km_os.png", "km_pfs.png"]
    parquet = patient_tables.parquet_available()
    with files.atomic_directory(out) as tmp:
        files.write_json(tmp / "summary.json", summary)
        for key, title in (("os", "Overall survival"), ("pfs", "Progression-free survival")):
            curves = {arm.label: kaplan_meier(*endpoint(arm, key)) for arm in result.raw.arms.values()}
            ax = km.plot_km(curves, title=f"{title}: {scenario.name}", max_months=min(60.0, scenario.data["simulation"]["horizon_months"]))
            canvas.save_figure(ax.figure, tmp / f"km_{key}.png")
        if args.per_patient:
            patient_tables.write_patients_csv(tmp / "patients.csv", result)
            names.append("patients.csv")
            if parquet:
                patient_tables.write_patients_parquet(tmp / "patients.parquet", result)
                names.append("patients.parquet")
        if args.events:
            patient_tables.write_events_csv(tmp / "events.csv", result)
            names.append("events.csv")
            if parquet:
                patient_tables.write_events_parquet(tmp / "events.parquet", result)
                names.append("events.parquet")
    return names
