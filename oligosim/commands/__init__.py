"""Sub-commands of the ``oligosim`` command line (one module each) and the error they raise
for bad user input; ``oligosim.cli`` dispatches to them."""

from __future__ import annotations

import sys

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
