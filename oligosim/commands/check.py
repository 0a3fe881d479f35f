"""``oligosim check CONFIG [CONFIG ...]``: validate scenario files without running them.

Prints ``FILE: ok`` for each valid file. Every problem of every file goes to stderr, one line
each, and the exit code is 2 if any file is invalid (never a traceback: a clinician editing a
TOML file should only ever see what to fix).
"""

from __future__ import annotations

import argparse
import sys

from oligosim import config
from oligosim.commands import UserError


def register(subparsers) -> None:
    """Add the ``check`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "check",
        help="validate scenario files",
        description="Validate scenario TOML files against the scenario schema and report every "
        "problem (file, key, value and rule) without running a simulation.",
    )
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="scenario TOML file(s)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Check each file; return 0 if all are valid.

    Raises
    ------
    UserError
        After printing every problem, if any file is invalid (exit code 2).
    """
    invalid = 0
    for path in args.configs:
        try:
            scenario = config.load_scenario(path)
        except config.ConfigError as exc:
            invalid += 1
            for line in exc.errors:
                print(line, file=sys.stderr)
            continue
        if "arms" in scenario.data and not scenario.data["arms"]:
            print(f"{path}: ok (no arms: a base for other scenarios to extend; it cannot be run)")
        else:
            print(f"{path}: ok")
    if invalid:
        raise UserError(f"{invalid} of {len(args.configs)} configuration file(s) invalid")
    return 0
