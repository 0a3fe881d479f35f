"""Writing output files: a directory whose files appear together or not at all; JSON and CSV.

Files are written into a temporary directory beside the target and moved in only when every
one of them is complete, so an error or Ctrl-C leaves the target as it was.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_directory", "write_json", "write_csv"]


@contextmanager
def atomic_directory(target: Path):
    """Yield a temporary directory; on success move its files into ``target``.

    On any exception (KeyboardInterrupt included) the temporary directory is removed and
    ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(tmp.iterdir()):
            os.replace(f, target / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, allow_nan=False)
        fh.write("\n")


def write_csv(path: Path, headers, rows) -> None:
    """A CSV table (numbers written in full precision, None as empty)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if c is None else (repr(float(c)) if isinstance(c, float) else c) for c in r])
