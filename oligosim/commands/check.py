"""``oligosim check FILE [FILE ...]``: validate input files of every kind without running them.

The kind of each file is told from its top-level tables (:func:`oligosim.shipped.file_kind`):
scenarios and their bases, experiments (``[experiment]``), calibration specs
(``[calibration]``), targets files (``[[target]]``) and target maps (``[target.<id>]``). A map
and a calibration spec are checked against a targets file: ``--targets FILE``, or a targets file
named among the files checked, else the project's ``../shared/calibration/targets.toml`` beside
a checkout. A name that is not a file is looked up among the shipped files
(``oligosim check default psa``).

Prints ``FILE: ok (KIND)`` for each valid file. Every problem of every file goes to stderr, one
line each, and the exit code is 2 if any file is invalid (never a traceback: a clinician editing
a TOML file should only ever see what to fix).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from oligosim import config, shipped
from oligosim.commands import UserError

#: kind -> (what it is, in a sentence; how to use it)
COMMAND_FOR = {
    "scenario": ("a scenario", "run it with `oligosim run FILE`"),
    "base": ("a base scenario without arms", "write a scenario that extends it and adds [arms.<name>] tables"),
    "experiment": ("an experiment file", "run it with `oligosim experiment FILE`"),
    "calibration": ("a calibration spec", "run it with `oligosim calibrate FILE --targets TARGETS.toml`"),
    "targets": ("a targets file", "score the model against it with `oligosim targets FILE --map MAP.toml`"),
    "map": ("a target map", "use it with `oligosim targets TARGETS.toml --map FILE`"),
    "posterior": (
        "the settings a calibration posterior belongs to (beside its posterior CSV)",
        "name the posterior in an experiment's [psa] posterior; the experiment's scenario must have these settings",
    ),
}


def sniff_kind(path: str) -> str | None:
    """The kind of the TOML file at ``path``, or None if it cannot be read or parsed (the
    loaders then report why)."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return shipped.file_kind(doc)


def default_targets() -> str | None:
    """The project's published targets beside a checkout (``../shared/calibration/targets.toml``
    from its root, where the README's commands find them), if there."""
    path = Path(shipped.__file__).resolve().parents[2] / "shared" / "calibration" / "targets.toml"
    return str(path) if path.is_file() else None


def register(subparsers) -> None:
    """Add the ``check`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "check",
        help="validate scenario, experiment, calibration, targets and map files",
        description="Validate input TOML files (scenarios, experiments, calibration specs, targets files, target maps; "
        "the kind is told from the file's tables) and report every problem (file, key, value and rule) without "
        "running a simulation.",
    )
    parser.add_argument("configs", nargs="+", metavar="FILE", help="TOML file(s), or shipped names (`oligosim list`)")
    parser.add_argument(
        "--targets",
        metavar="FILE",
        help="targets file that maps and calibration specs are checked against (default: a targets file among "
        "FILEs, else ../shared/calibration/targets.toml beside a checkout)",
    )
    parser.set_defaults(func=main)


def _check_one(path: str, kind: str | None, targets: str | None) -> str:
    """Validate one file; returns the note printed after ``ok``. Raises ConfigError."""
    if kind == "experiment":
        from oligosim.experiments.spec import load_experiment

        exp = load_experiment(path)
        for line in exp.warnings:
            print(f"warning: {line}", file=sys.stderr)
        return f"experiment, kind {exp.kind}"
    if kind == "targets":
        from oligosim.calibration.targets import load_targets

        return f"targets file, {len(load_targets(path))} targets"
    if kind in ("map", "calibration"):
        if targets is None:
            raise config.ConfigError(
                [f"{path}: {COMMAND_FOR[kind][0]} is checked against a targets file: give --targets TARGETS.toml (or name one among the files)"]
            )
        if kind == "map":
            from oligosim.calibration.target_map import load_map
            from oligosim.calibration.targets import load_targets

            tmap = load_map(path, load_targets(targets), extra="error")
            return f"target map, {len(tmap.entries)} targets mapped"
        from oligosim.calibration.spec import load_calibration

        spec = load_calibration(path, targets)
        return f"calibration spec, {len(spec.parameters)} parameters"
    if kind == "posterior":
        return _check_posterior_settings(path)
    scenario = config.load_scenario(path)
    for line in scenario.warnings:
        print(f"warning: {path}: {line}", file=sys.stderr)
    if "arms" in scenario.data and not scenario.data["arms"]:
        return "no arms: a base for other scenarios to extend; it cannot be run"
    return None


def _check_posterior_settings(path: str) -> str:
    """A posterior's ``[fixed]`` settings must be valid scenario keys and values, and each of its
    ``[tied]`` keys a valid key with a well-formed tie (checked on the shipped base scenario)."""
    from oligosim.calibration.tied import parse_tied

    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    fixed = raw["fixed"]
    base = config.load_scenario(shipped.resolve("base", "configs"))
    try:
        base.with_values(fixed)
    except config.ConfigError as exc:
        raise config.ConfigError([f"{path}: fixed: {line}" for line in exc.errors]) from None
    errors: list[str] = []
    tied = parse_tied(raw.get("tied", {}), path, errors)
    for key in tied:
        try:
            base.get(key)
        except KeyError:
            errors.append(f"{path}: tied.{key}: is not a scenario key")
    if errors:
        raise config.ConfigError(errors)
    return f"posterior settings, {len(fixed)} fixed" + (f", {len(tied)} tied" if tied else "")


def main(args: argparse.Namespace) -> int:
    """Check each file; return 0 if all are valid.

    Raises
    ------
    UserError
        After printing every problem, if any file is invalid (exit code 2).
    """
    paths = [shipped.resolve(p) for p in args.configs]
    kinds = [sniff_kind(p) for p in paths]
    targets = args.targets or next((p for p, k in zip(paths, kinds) if k == "targets"), None)
    if targets is None and any(k in ("map", "calibration") for k in kinds):
        targets = default_targets()
        if targets is not None:
            print(f"(maps and calibration specs checked against {targets}; --targets FILE to choose another)")
    invalid = 0
    for arg, path, kind in zip(args.configs, paths, kinds):
        try:
            note = _check_one(path, kind, targets)
        except config.ConfigError as exc:
            invalid += 1
            lines = list(exc.errors)
            if not Path(path).exists() and lines:
                lines[0] += shipped.unknown_name_hint(arg)
            for line in lines:
                print(line, file=sys.stderr)
            continue
        shown = arg if path == arg else f"{arg} ({path})"
        print(f"{shown}: ok" + (f" ({note})" if note else ""))
    if invalid:
        raise UserError(f"{invalid} of {len(args.configs)} configuration file(s) invalid")
    return 0
