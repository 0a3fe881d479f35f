"""The ``oligosim`` command line.

Each sub-command lives in ``oligosim/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a ``main(args) -> int``. This module only dispatches
and turns user errors into a message and exit code 2 without a traceback,
and an interruption (Ctrl-C, SIGTERM, SIGHUP) into exit code 128 + the signal number.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from oligosim.commands import UserError
from oligosim.interrupts import exit_code, signals_as_interrupt

#: sub-command modules, in the order ``oligosim --help`` lists them
COMMANDS = ("run", "check", "dose", "experiment", "targets", "calibrate")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every sub-command registered."""
    from oligosim import __version__

    parser = argparse.ArgumentParser(
        prog="oligosim",
        description="Simulate virtual patients with oligometastatic esophageal cancer "
        "under radiotherapy and systemic-therapy strategies.",
    )
    parser.add_argument("--version", action="version", version=f"oligosim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"oligosim.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``oligosim`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # SIGTERM and SIGHUP unwind like Ctrl-C: temporary files removed, workers stopped
    with signals_as_interrupt():
        try:
            return int(args.func(args) or 0)
        except UserError as exc:
            print(f"oligosim {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:
            print(f"oligosim {args.command}: interrupted", file=sys.stderr)
            return exit_code(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
