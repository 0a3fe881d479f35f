"""Sub-commands of the ``oligosim`` command line (one module each) and the error they raise
for bad user input; ``oligosim.cli`` dispatches to them."""

from __future__ import annotations

import sys
from pathlib import Path

from oligosim.config import ConfigError
from oligosim.config.schema import SCENARIO_SCHEMA


class UserError(Exception):
    """An error in the user's input: printed without a traceback, exit code 2."""


def run_errors(args, exc: Exception):
    """The :class:`UserError` for an error raised while the runs of ``experiment`` or
    ``calibrate`` execute, or None when the command handles ``exc`` itself.

    A parameter value that makes a scenario invalid, and an unreachable ``--scheduler``, read the
    same in both commands.
    """
    if isinstance(exc, ConfigError):
        return UserError(f"a parameter value gave an invalid scenario:\n{exc}")
    if isinstance(exc, OSError) and args.scheduler and "connect" in str(exc).lower():
        return UserError(f"--scheduler {args.scheduler}: cannot connect: {exc}")
    return None


def check_run_options(args) -> None:
    """``--patients`` and ``--seed`` within the ranges the scenario schema gives
    ``simulation.patients`` and ``simulation.seed``, checked before anything runs."""
    simulation = SCENARIO_SCHEMA.fields["simulation"].fields
    for option in ("patients", "seed"):
        value = getattr(args, option, None)
        node = simulation[option]
        if value is not None and not node.lo <= value <= node.hi:
            raise UserError(f"--{option} = {value}: must be >= {node.lo} and <= {node.hi} (the range of simulation.{option})")


def print_warnings(arms: dict) -> None:
    """One line on stderr per plausibility warning of each arm (summary.json's ``warnings``,
    :mod:`oligosim.analysis.plausibility`), even with --quiet: they are about the results."""
    for name, entry in arms.items():
        for w in entry.get("warnings", ()):
            print(f"warning: arm {name}: {w['message']}", file=sys.stderr)


def output_dir(args, default: Path) -> Path:
    """The ``--out`` directory, refused before anything runs when it cannot be used.

    An empty ``--out`` (which would silently mean the current directory), a file, and a non-empty
    directory oligosim did not write (:func:`oligosim.io.files.check_replaceable`) are errors.
    """
    from oligosim.io.files import OutputDirError, check_replaceable

    if args.out is None:
        out = Path(default)
    elif not args.out.strip():
        raise UserError(f"--out {args.out!r}: must name a directory (leave --out out for the default, {default})")
    else:
        out = Path(args.out)
    try:
        check_replaceable(out)
    except OutputDirError as exc:
        raise UserError(f"--out {exc}") from None
    return out


def add_memory_option(parser) -> None:
    """The ``--ignore-memory-check`` option of the commands that simulate patients."""
    parser.add_argument(
        "--ignore-memory-check",
        action="store_true",
        help="run even when the estimated memory need exceeds the memory available",
    )


def check_memory(args, needed: int, what: str) -> None:
    """Refuse a run whose estimated peak memory ``needed`` (bytes) exceeds what is available.

    ``what`` names the size that drives the estimate, e.g. ``--patients 1000000 x 3 arms``.
    Skipped with ``--ignore-memory-check`` and when the available memory cannot be told.
    """
    from oligosim.memory import available_bytes, format_bytes

    if getattr(args, "ignore_memory_check", False):
        return
    available = available_bytes()
    if available is not None and needed > available:
        raise UserError(
            f"{what}: needs about {format_bytes(needed)} of memory, and {format_bytes(available)} is available; "
            "use fewer patients, or --ignore-memory-check to run anyway"
        )
