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
COMMANDS = ("run", "check", "list", "dose", "experiment", "targets", "calibrate", "teach")


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


def _option_hint(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> str:
    """`` (did you mean --quick?)`` for a mistyped option of the chosen sub-command."""
    import difflib

    options = list(parser._option_string_actions)
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        sub = action.choices.get(getattr(args, "command", None) or "")
        if sub is not None:
            options += list(sub._option_string_actions)
    for word in extra:
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.6)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``oligosim`` console script; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.exit(2, f"{parser.prog}: error: unrecognized arguments: {' '.join(extra)}{_option_hint(parser, args, extra)}\n")
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
