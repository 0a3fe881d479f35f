"""Writing output files: a directory that appears whole or not at all; JSON and CSV.

Every file of a command's output is written into a temporary sibling directory
(``.<name>.tmp-*``), which is renamed to the target only when every file is complete: an error,
Ctrl-C or a termination signal leaves the target as it was and no temporary file behind.

A reused target is replaced as a whole, so no file of an earlier run survives next to the new
ones; to make sure oligosim never deletes a directory it did not write, each output directory
holds a marker file (:data:`MARKER`), and a non-empty directory without it is refused.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

__all__ = ["MARKER", "OutputDirError", "atomic_directory", "check_replaceable", "write_json", "write_csv"]

#: name of the marker file in every directory oligosim writes (what makes it replaceable)
MARKER = ".oligosim-output"

#: signals held back while the old output is swapped for the new one
_HELD = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s))


class OutputDirError(OSError):
    """The output directory cannot be used (a file, or a directory oligosim did not write)."""


def check_replaceable(target: Path) -> None:
    """Raise :class:`OutputDirError` unless ``target`` is absent, empty or an earlier oligosim output.

    Called before a run (so a refused directory costs no simulation time) and again just before
    the old directory is replaced.
    """
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputDirError(f"{target}: exists and is not a directory")
    if (target / MARKER).is_file() or not any(target.iterdir()):
        return
    raise OutputDirError(
        f"{target}: is a non-empty directory that oligosim did not write (it has no {MARKER} marker); "
        "oligosim replaces its output directory as a whole, so choose a new or empty directory"
    )


def _missing_parents(path: Path) -> list[Path]:
    """The ancestors of ``path`` (itself included) that do not exist yet, deepest first."""
    missing = []
    for p in (path, *path.parents):
        if p.exists():
            break
        missing.append(p)
    return missing


def _new_temp(target: Path, kind: str) -> Path:
    """A fresh sibling name ``.<name>.<kind>-<random>`` (not created)."""
    while True:
        p = target.parent / f".{target.name}.{kind}-{secrets.token_hex(4)}"
        if not p.exists():
            return p


@contextmanager
def _signals_held():
    # between moving the old directory aside and renaming the new one in, an interruption would
    # leave neither at the target: hold the signals for those two renames
    if not _HELD or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _commit(tmp: Path, target: Path) -> None:
    check_replaceable(target)
    old = None
    try:
        with _signals_held():
            if target.exists():
                old = _new_temp(target, "old")
                os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                if old is not None:
                    os.rename(old, target)
                    old = None
                raise
    finally:
        # also when a signal held during the renames is raised as they end
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_directory(target: Path):
    """Yield a temporary directory; on success it becomes ``target`` by one rename.

    ``target`` must be absent, empty or an earlier oligosim output (:func:`check_replaceable`);
    an earlier output is replaced as a whole. On any exception (KeyboardInterrupt included) the
    temporary directory and any parent directory created for it are removed and ``target`` is
    untouched.
    """
    from oligosim import __version__

    target = Path(target)
    created = _missing_parents(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(target, "tmp")
    try:
        # os.mkdir (not mkdtemp, which makes it private): the renamed directory gets the usual mode
        os.mkdir(tmp)
        yield tmp
        (tmp / MARKER).write_text(
            f"written by oligosim {__version__}: the next run into this directory replaces it as a whole\n", encoding="utf-8"
        )
        _commit(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in created:
            try:
                p.rmdir()
            except OSError:
                break
        raise


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, allow_nan=False)
        fh.write("\n")


#: column names written as they are: identifiers, dotted parameter paths, metric names and
#: ``arm:metric`` pairs (``os.rate:24``, ``local_control:12[bed>=90]``)
MACHINE_NAME = re.compile(r"^[A-Za-z0-9_.:\[\]<>=,]+$")
_RENAMES = {"95% CI lo": "ci95_low", "95% CI hi": "ci95_high", "ci_lo": "ci95_low", "ci_hi": "ci95_high", "95% CI": "ci95"}


def machine_name(header: str) -> str:
    """A CSV column name that code can use: ``"95% CI lo"`` -> ``ci95_low``, ``"events (mean)"``
    -> ``events_mean``, ``"Systemic therapy alone: os.rmst:60"`` -> ``systemic_therapy_alone:os.rmst:60``.

    Identifiers, parameter paths and metric names are kept as they are; other text is lower-cased
    with words joined by ``_`` (units in parentheses become a suffix, ``%`` becomes ``pct``).
    """
    h = str(header).strip()
    if h in _RENAMES:
        return _RENAMES[h]
    if MACHINE_NAME.match(h):
        return h
    if ": " in h:
        left, right = h.rsplit(": ", 1)
        return f"{machine_name(left)}:{machine_name(right)}"
    text = h.lower().replace("%", " pct ").replace("≥", " ge ").replace("≤", " le ").replace("+", " plus ")
    return re.sub(r"[^a-z0-9_.]+", "_", text).strip("_") or "column"


def write_csv(path: Path, headers, rows) -> None:
    """A CSV table (numbers written in full precision, None as empty)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if c is None else (repr(float(c)) if isinstance(c, float) else c) for c in r])
