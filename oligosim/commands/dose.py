"""``oligosim dose``: BED and EQD2 of fractionation schedules.

Examples::

    oligosim dose 60/20 --alpha-beta 10
    oligosim dose 60/20 50/5 1.5x30bid --alpha-beta 10,3
"""

from __future__ import annotations

import argparse
import math
import re
import warnings

from oligosim.commands import UserError
from oligosim.radiobiology.schedules import SCHEDULE_FORMS, parse_schedule
from oligosim.radiobiology.timing import DEFAULT_INTERFRACTION_INTERVAL_H

#: alpha/beta values shown when none is given: tumour and late-responding tissue.
DEFAULT_ALPHA_BETA_GY = (10.0, 3.0)

#: library argument names as the user typed them on the command line
_OPTION_NAMES = {
    "interfraction_interval_h": "--interval-h",
    "repair_half_time_h": "--repair-half-time-h",
    "repopulation_gy_per_day": "--repopulation-gy-per-day",
    "kickoff_days": "--kickoff-days",
}


def register(subparsers) -> None:
    """Add the ``dose`` parser to the ``oligosim`` sub-command parsers."""
    p = subparsers.add_parser(
        "dose",
        help="BED and EQD2 of fractionation schedules",
        description="Print BED and EQD2 (linear-quadratic model) of one or more schedules. "
        + SCHEDULE_FORMS[0].upper()
        + SCHEDULE_FORMS[1:]
        + ".",
        epilog="Overall time is counted in days from the first to the last fraction, "
        "5 treatment days a week. Repair between fractions is complete unless "
        "--repair-half-time-h is given; repopulation is off unless "
        "--repopulation-gy-per-day is given.",
    )
    p.add_argument("schedules", nargs="*", metavar="SCHEDULE", help="e.g. 60/20, 8x5, 1.5x30bid")
    p.add_argument(
        "--scenario",
        metavar="FILE",
        default=None,
        help="also print every arm's schedule by target site (primary field, each metastatic organ, distant nodes by station) with BED10 and late EQD2",
    )
    p.add_argument(
        "--organs",
        action="store_true",
        help="with --scenario: also print what each arm's course gives the organs at risk (esophagus or conduit, lung, heart, "
        "spinal cord, bowel: EQD2 and grade >= 3 risk of one reference-size target alone in its course)",
    )
    p.add_argument(
        "--alpha-beta",
        action="append",
        metavar="GY",
        help="alpha/beta in Gy; repeat or separate with commas (default: 10,3)",
    )
    p.add_argument(
        "--repair-half-time-h",
        type=str,
        default=None,
        metavar="H",
        help="sublethal-damage repair half-time in hours, for incomplete repair between "
        "same-day fractions (default: complete repair)",
    )
    p.add_argument(
        "--interval-h",
        type=str,
        default=str(DEFAULT_INTERFRACTION_INTERVAL_H),
        metavar="H",
        help="hours between same-day fractions (default: %(default)s)",
    )
    p.add_argument(
        "--repopulation-gy-per-day",
        type=str,
        default="0",
        metavar="GY",
        help="BED lost per day after the kick-off time (default: 0, off)",
    )
    p.add_argument(
        "--kickoff-days",
        type=str,
        default="28",
        metavar="DAYS",
        help="onset of accelerated repopulation in days (default: %(default)s)",
    )
    # argparse takes "-60/20" for an unknown option and then asks for a SCHEDULE; a token that
    # starts with a minus and a digit is a (negative) schedule, which parse_schedule refuses clearly
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.set_defaults(func=main)


def _number(option: str, text: str) -> float:
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise UserError(f"{option} must be a number; got {text!r}") from None
    if not math.isfinite(x):
        raise UserError(f"{option} must be a finite number; got {text!r}")
    return x


def _schedule(text: str):
    """The parsed schedule; an error names the schedule as typed, not the library's field."""
    try:
        s = parse_schedule(text)
        if not s.dose_per_fraction_gy > 0:
            # the schedule keeps the dose per fraction to 1e-9 Gy: 60/1e12 parses to 0 Gy
            raise ValueError(f"invalid schedule {text!r}: the dose per fraction ({s.n_fractions} fractions) rounds to 0 Gy: must be > 0 Gy")
        return s
    except ValueError as exc:
        message = str(exc)
        if text not in message:
            message = f"invalid schedule {text!r}: " + message.replace("dose_per_fraction_gy", "the dose per fraction")
        raise UserError(message) from None


def _alpha_betas(values: list[str] | None) -> list[float]:
    if not values:
        return list(DEFAULT_ALPHA_BETA_GY)
    out: list[float] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            ab = _number("--alpha-beta", part)
            if not ab > 0 or ab == float("inf"):
                raise UserError(f"--alpha-beta must be a number > 0 Gy; got {part!r}")
            if ab not in out:
                out.append(ab)
    if not out:
        raise UserError("--alpha-beta needs at least one value, e.g. --alpha-beta 10")
    return out


def _check_result(text: str, ab: float, b: float, e: float, options: dict) -> None:
    """Refuse a BED that is not a finite number >= 0: it has no physical meaning."""
    if math.isfinite(b) and math.isfinite(e) and b >= 0:
        return
    why = (
        f"--repopulation-gy-per-day {options['repopulation_gy_per_day']:g} (after --kickoff-days {options['kickoff_days']:g}) "
        "takes away more BED than the schedule gives"
        if options["repopulation_gy_per_day"] > 0 and not (math.isfinite(b) and b > 0 and not math.isfinite(e))
        else "the numbers overflow"
    )
    raise UserError(f"schedule {text!r} at alpha/beta {ab:g} Gy: BED = {b:.4g} Gy: must be a finite number >= 0; {why}")


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _scenario_table(path: str, organs: bool = False) -> str:
    from oligosim.commands.dose_organs import format_organ_table
    from oligosim.commands.dose_sites import format_site_table
    from oligosim.config import ConfigError, load_scenario

    try:
        sc = load_scenario(path)
        return format_site_table(sc) + ("\n\n" + format_organ_table(sc) if organs else "")
    except ConfigError as exc:
        raise UserError(f"{path} is not a valid scenario:\n{exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def main(args: argparse.Namespace) -> int:
    """Print the table; bad input raises :class:`oligosim.commands.UserError`."""
    if not args.schedules and args.scenario is None:
        raise UserError("give at least one SCHEDULE (e.g. 60/20) or --scenario FILE")
    if args.organs and args.scenario is None:
        raise UserError("--organs needs --scenario FILE")
    if args.scenario is not None:
        print(_scenario_table(args.scenario, args.organs))
        if not args.schedules:
            return 0
        print()
    alpha_betas = _alpha_betas(args.alpha_beta)
    half_time = (
        None
        if args.repair_half_time_h is None
        else _number("--repair-half-time-h", args.repair_half_time_h)
    )
    options = {
        "interfraction_interval_h": _number("--interval-h", args.interval_h),
        "repair_half_time_h": half_time,
        "repopulation_gy_per_day": _number("--repopulation-gy-per-day", args.repopulation_gy_per_day),
        "kickoff_days": _number("--kickoff-days", args.kickoff_days),
    }
    schedules = []
    for text in args.schedules:
        schedules.append((text, _schedule(text)))

    header = ("schedule", "total Gy", "fx", "Gy/fx", "fx/day", "a/b Gy", "BED Gy", "EQD2 Gy", "days")
    rows = []
    for text, s in schedules:
        for ab in alpha_betas:
            try:
                # overflow is checked below, on the result, with the options named
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    b = s.bed(ab, **options)
                    e = s.eqd2(ab, **options)
            except ValueError as exc:
                message = str(exc)
                for name, option in _OPTION_NAMES.items():
                    message = message.replace(name, option)
                raise UserError(message) from None
            _check_result(text, ab, b, e, options)
            rows.append(
                (
                    text,
                    f"{s.total_dose_gy:g}",
                    str(s.n_fractions),
                    f"{s.dose_per_fraction_gy:g}",
                    str(s.fractions_per_day),
                    f"{ab:g}",
                    _fmt(b),
                    _fmt(e),
                    f"{s.overall_time_days:g}",
                )
            )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:]))
        return "  ".join((first, *rest))

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    return 0
