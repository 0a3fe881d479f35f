"""``oligosim list``: the shipped scenarios and experiments, by the names other commands accept."""

from __future__ import annotations

import argparse

from oligosim import shipped

#: the order and headings of the listing
SECTIONS = (
    ("scenario", "scenarios (oligosim run NAME)"),
    ("experiment", "experiments (oligosim experiment NAME)"),
    ("base", "bases (extends = \"NAME\")"),
    ("calibration", "calibration specs (oligosim calibrate NAME --targets FILE)"),
    ("map", "target maps (oligosim targets FILE --map NAME)"),
    ("posterior", "calibration posteriors' model settings (beside posteriors named in [psa] posterior)"),
)


def register(sub) -> None:
    p = sub.add_parser(
        "list",
        help="list the shipped scenarios and experiments by name",
        description="List the scenarios, experiments, bases, calibration specs and target maps shipped with "
        "oligosim. Every command that takes a file also takes these names, from any directory.",
    )
    p.add_argument("--paths", action="store_true", help="also show where each file is")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    files = shipped.list_files()
    for kind, heading in SECTIONS:
        group = [f for f in files if f.kind == kind]
        if not group:
            continue
        print(f"{heading}:")
        width = max(len(f.name) for f in group)
        for f in group:
            line = f"  {f.name:<{width}}  {f.title}".rstrip()
            print(line + (f"\n  {'':<{width}}  {f.path}" if args.paths else ""))
        print()
    return 0
