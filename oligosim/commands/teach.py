"""``oligosim teach``: the teaching lessons as interactive pages in the browser (optional extra
``oligosim[teach]``; :mod:`oligosim.teach`)."""

from __future__ import annotations

import argparse

from oligosim.commands import UserError


def register(subparsers) -> None:
    """Add the ``teach`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "teach",
        help="the teaching lessons as interactive pages in the browser (needs oligosim[teach])",
        description="Start a local web app on 127.0.0.1: one page per teaching lesson (clinical question, the consensus "
        "statements, controls that rerun the model, figures with Monte Carlo error, take-home message) and a free page "
        'that runs any scenario. Needs the optional extra: pip install "oligosim[teach]".',
    )
    parser.add_argument("--port", type=int, default=None, help="TCP port on 127.0.0.1 (default 8765)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        import shiny  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UserError(f'needs the teach extra ({exc.name} is not installed): pip install "oligosim[teach]"') from None
    from oligosim.teach import serve

    port = serve.DEFAULT_PORT if args.port is None else args.port
    if not 1 <= port <= 65535:
        raise UserError(f"--port {port}: must be within [1, 65535]")
    if not serve.port_free(port):
        raise UserError(f"--port {port}: already in use on {serve.HOST}; choose another with --port")
    serve.serve(port, open_browser=not args.no_browser)
    return 0
