"""A calibration's journal: every simulated candidate on disk, so that a run can resume.

A refit on all targets runs for hours (issue 20). The searches of
:mod:`oligosim.calibration.search` are deterministic given the config's seed, and on common
random numbers a candidate's objective is a deterministic function of its unit-cube point. So a
run needs no saved search state to resume: it is run again from the start, and every candidate
already in the journal is taken from it instead of simulated. The searches then make the same
decisions in the same order (the values are the same floats), reach the point where the
interrupted run stopped in seconds, and simulate only what is new. The same holds when a
finished run is extended (more ABC generations or a larger Nelder-Mead budget): the common part
is replayed.

What a journal may be reused for is fixed by its fingerprint: the parameters' mapping from the
unit cube to values (paths, ranges, scales), the patients and seed, the objective settings, the
settings the config fixes (``[fixed]``), the
targets and the map with every study scenario as loaded (so an edit of an extended base file
counts), and the source of the ``oligosim`` package (a model change changes every value; only
modules that present results are left out, :data:`PRESENTATION_ONLY`). A journal with another
fingerprint is refused, never mixed in.

Format: JSON lines. The first line is the header ``{"oligosim_calibration_journal": 1,
"fingerprint": ...}``; each further line is one candidate: its unit-cube point ``z`` as exact
hexadecimal floats, its objective, the error of each mapped target in tolerance units, whether
each is within tolerance, and the infeasibility message if any. Lines are appended and flushed to
disk after each batch; an unfinished last line (the run was killed while writing it) is dropped
on reading, anything else unreadable is an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np

FORMAT = 1
HEADER_KEY = "oligosim_calibration_journal"


class JournalError(ValueError):
    """A journal that cannot be used (another calibration's, or damaged); the message says which."""


def _jsonable(x):
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float):
        return x.hex()  # exact, and nan/inf survive
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return str(x)


#: modules that only present results (reports, figures, the command line, lessons, docs): an
#: edit to them cannot change a candidate's value, so it does not void hours of simulation.
#: Everything else of the package counts, the simulation path and the scoring of targets.
PRESENTATION_ONLY = (
    "commands/",
    "plots/",
    "teach/",
    "docs.py",
    "cli.py",
    "io/report.py",
    "calibration/report.py",
    "calibration/plots.py",
    "calibration/diagnosis.py",
    "calibration/posterior.py",
    "calibration/identify_report.py",
    "calibration/target_report.py",
    "calibration/predictive.py",  # replicated studies after the fit: no candidate's value uses it
    # history matching chooses which candidates to simulate, never what a candidate's value is:
    # a better emulator may reuse every candidate already simulated
    "calibration/history.py",
    "calibration/emulator.py",
    "calibration/start.py",  # earlier runs' candidates as training data: the same argument
)


def source_digest(root: Path | None = None) -> str:
    """SHA-256 of the ``oligosim`` package's Python source (relative paths and contents), but for
    the :data:`PRESENTATION_ONLY` modules."""
    root = Path(__file__).resolve().parents[1] if root is None else Path(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if "__pycache__" in p.parts or any(rel == x or (x.endswith("/") and rel.startswith(x)) for x in PRESENTATION_ONLY):
            continue
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def fingerprint(spec) -> str:
    """What the values of a calibration's candidates depend on, hashed (see the module docstring).

    Parameters
    ----------
    spec : CalibrationSpec

    Returns
    -------
    str
        Hex SHA-256.
    """
    tmap = spec.tmap
    doc = {
        "parameters": [(p.path, p.low, p.high, p.scale) for p in spec.parameters],
        "patients": spec.patients,
        "seed": spec.seed,
        "objective": dict(spec.objective),
        "fixed": dict(spec.fixed),
        "tied": {k: [of, r] for k, (of, r) in spec.tied.items()},
        "targets": [_jsonable(t) for t in tmap.targets.values()],
        # where the files lie does not change a value: scenarios by their path from the map's directory
        "entries": [[e.id, os.path.relpath(e.scenario_path, spec.map_path.parent), _jsonable(e.arms), e.metric, e.tolerance, _jsonable(e.tolerance_value), e.bound] for e in tmap.entries],
        "scenarios": {os.path.relpath(k, spec.map_path.parent): _jsonable(sc.data) for k, sc in tmap.scenarios.items()},
        "source": source_digest(),
    }
    return hashlib.sha256(json.dumps(_jsonable(doc), sort_keys=True).encode()).hexdigest()


def _num(x: float | None):
    return None if x is None else float(x).hex()


def _unnum(s):
    return None if s is None else float.fromhex(s)


class Journal:
    """The candidates of one calibration, read from and appended to a file.

    Parameters
    ----------
    path : path-like
        The journal file; created (with its header) if it does not exist.
    fingerprint : str
        :func:`fingerprint` of the calibration.
    n_targets : int
        Mapped targets per candidate (a line with another count is damage).

    Raises
    ------
    JournalError
        If the file is another calibration's journal, not a journal, or damaged before its
        last line.
    """

    def __init__(self, path: str | os.PathLike, fingerprint: str, n_targets: int):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.n_targets = int(n_targets)
        self.entries: dict[bytes, dict] = {}
        self.reused = 0  #: candidates taken from the journal in this run
        self.dropped_tail = False  #: an unfinished last line was dropped
        if self.path.exists() and self.path.stat().st_size > 0:
            self._read()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "w", encoding="utf-8") as f:
                f.write(json.dumps({HEADER_KEY: FORMAT, "fingerprint": fingerprint}) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def _read(self) -> None:
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")
        complete = text.endswith("\n")
        if lines and lines[-1] == "":
            lines.pop()
        name = os.fspath(self.path)
        try:
            head = json.loads(lines[0])
        except (json.JSONDecodeError, IndexError):
            raise JournalError(f"{name}: not a calibration journal (its first line is not the journal header)") from None
        if not isinstance(head, dict) or head.get(HEADER_KEY) != FORMAT:
            raise JournalError(f"{name}: not a calibration journal of format {FORMAT} (first line: {lines[0][:80]!r})")
        if head.get("fingerprint") != self.fingerprint:
            raise JournalError(
                f"{name}: written for a different calibration (its fingerprint {str(head.get('fingerprint'))[:12]}... is not this run's "
                f"{self.fingerprint[:12]}...: the parameters, patients, seed, objective, targets, map, a study scenario or the model's "
                "source differ); a journal is reused only for the same calibration, so give a new file or delete this one"
            )
        body = lines[1:]
        for k, line in enumerate(body):
            last = k == len(body) - 1
            try:
                e = json.loads(line)
                z = np.array([float.fromhex(s) for s in e["z"]], dtype=float)
                entry = {
                    "objective": float.fromhex(e["objective"]),
                    "errors": [_unnum(x) for x in e["errors"]],
                    "within": [bool(x) for x in e["within"]],
                    "note": str(e.get("note", "")),
                }
                if len(entry["errors"]) != self.n_targets or len(entry["within"]) != self.n_targets:
                    raise ValueError("wrong number of targets")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                if last and not complete:
                    self.dropped_tail = True  # killed while writing this line: it never counted
                    self._rewrite_without_tail(lines[:-1])
                    return
                raise JournalError(f"{name}: line {k + 2} is damaged ({exc}); the journal cannot be trusted beyond it") from None
            self.entries[z.tobytes()] = entry

    def _rewrite_without_tail(self, lines: list[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(tmp, self.path)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, z: np.ndarray) -> dict | None:
        """The recorded candidate at unit-cube point ``z`` (exact match), or None."""
        e = self.entries.get(np.asarray(z, dtype=float).tobytes())
        if e is not None:
            self.reused += 1
        return e

    def append(self, items: list[tuple[np.ndarray, float, list, list, str]]) -> None:
        """Record simulated candidates ``(z, objective, errors, within, note)`` and flush them to disk."""
        if not items:
            return
        out = []
        for z, obj, errs, within, note in items:
            z = np.asarray(z, dtype=float)
            if len(errs) != self.n_targets:
                raise ValueError(f"{len(errs)} target errors, the journal holds {self.n_targets} per candidate")
            self.entries[z.tobytes()] = {"objective": float(obj), "errors": list(errs), "within": [bool(w) for w in within], "note": note}
            out.append(
                json.dumps(
                    {
                        "z": [float(v).hex() for v in z],
                        "objective": float(obj).hex(),
                        "errors": [_num(x) for x in errs],
                        "within": [bool(w) for w in within],
                        "note": note,
                    }
                )
            )
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in out))
            f.flush()
            os.fsync(f.fileno())
