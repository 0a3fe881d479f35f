"""Candidates simulated by earlier calibrations, read back to train a history-matching emulator.

A refit's simulations are its cost (seconds each, hours in all), and every calibration writes
them to ``evaluations.csv``: parameter values, objective and each target's error. History
matching (:mod:`oligosim.calibration.history`) may start from them (``[history] start``): they
join the emulator's training set, so its first rounds need no space-filling waves. They only
choose where the run simulates; they are never particles of its posterior, so a start file from a
slightly different model costs efficiency (a worse emulator, a lower effective sample size), not
correctness. What *is* checked, because it would make the errors mean something else: the file's
targets are exactly this calibration's, its objective is the one this calibration's objective
settings give its errors (so the weights, penalty and scale agree), and its parameters are among
this calibration's fitted ones. A fitted parameter the file lacks (an earlier stage held it
fixed) takes the scenarios' value, as that stage did.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from oligosim.config import ConfigError

__all__ = ["read_start"]

_FIXED_COLUMNS = ("index", "phase", "objective")


def _number(cell: str) -> float:
    return math.nan if cell.strip() == "" else float(cell)


def read_start(paths, spec, weights, undefined_penalty: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Read ``evaluations.csv`` files of earlier calibrations as history-matching candidates.

    Parameters
    ----------
    paths : sequence of path-like
        The files (``[history] start``, resolved).
    spec : CalibrationSpec
        This calibration: its fitted parameters (unit-cube maps, scenario values) and target map.
    weights : array_like, shape (K,)
        This calibration's objective weight of each mapped target, in map order.
    undefined_penalty : float
        Squared error of an undefined target in the objective.

    Returns
    -------
    (Z, L, E, outside)
        Unit-cube points (n, dim), objectives (n,; inf for an infeasible candidate), target
        errors in tolerance units (n, K; nan where undefined), and the number of rows dropped
        because they lie outside this calibration's prior ranges (the cube).

    Raises
    ------
    ConfigError
        Naming the file, the column or row, the value and the rule: a missing or extra target
        column, a parameter this calibration does not fit, a fitted parameter the file lacks that
        has no single scenario value, an unreadable number, or an objective that this
        calibration's objective settings do not give the row's errors.
    """
    ids = [e.id for e in spec.tmap.entries]
    w = np.asarray(weights, dtype=float)
    fitted = {p.path: p for p in spec.parameters}
    Zs, Ls, Es = [], [], []
    outside = 0
    for path in paths:
        name = os.fspath(path)
        with open(Path(path), newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            raise ConfigError([f"history.start: {name}: empty file (an evaluations.csv of a calibration is expected)"])
        head = rows[0]
        errors: list[str] = []
        for c in _FIXED_COLUMNS:
            if c not in head:
                errors.append(f"history.start: {name}: no column {c!r} (an evaluations.csv of a calibration is expected)")
        targets = [c[2:] for c in head if c.startswith("e:")]
        missing = [i for i in ids if i not in targets]
        extra = [i for i in targets if i not in ids]
        if missing:
            errors.append(f"history.start: {name}: no error column for target(s) {', '.join(missing)}: a start file must score this calibration's targets")
        if extra:
            errors.append(f"history.start: {name}: error column(s) for target(s) {', '.join(extra)} that this calibration's map does not have")
        params = [c for c in head if c not in _FIXED_COLUMNS and not c.startswith("e:")]
        for c in params:
            if c not in fitted:
                errors.append(f"history.start: {name}: column {c!r}: a parameter this calibration does not fit (it fits {', '.join(fitted)})")
        for p in spec.parameters:
            if p.path not in params and p.default is None:
                errors.append(f"history.start: {name}: no column for {p.path!r}, and the scenarios disagree on its value, so the file's candidates cannot be placed")
        if errors:
            raise ConfigError(errors)
        col = {c: k for k, c in enumerate(head)}
        for r, row in enumerate(rows[1:], start=2):
            try:
                x = np.array([_number(row[col[p.path]]) if p.path in col else float(p.default) for p in spec.parameters])
                e = np.array([_number(row[col["e:" + i]]) for i in ids])
                obj = _number(row[col["objective"]])
            except (ValueError, IndexError) as exc:
                raise ConfigError([f"history.start: {name}: row {r}: not a row of numbers ({exc})"]) from None
            if np.isnan(x).any():
                raise ConfigError([f"history.start: {name}: row {r}: a parameter value is empty"])
            if math.isnan(obj):  # written empty: an infeasible candidate (objective inf)
                obj = math.inf
            else:
                c = np.where(np.isnan(e), undefined_penalty, e * e)
                mine = float((w * c).sum() / w.sum())
                if not math.isclose(mine, obj, rel_tol=1e-9, abs_tol=1e-12):
                    raise ConfigError([
                        f"history.start: {name}: row {r}: objective = {obj!r}: this calibration's objective settings give its errors {mine!r} "
                        "(another weighting, penalty or median scale); a start file must share the objective"
                    ])
            z = np.array([float(p.to_unit(v)) for p, v in zip(spec.parameters, x)])
            if np.any(z < -1e-9) or np.any(z > 1.0 + 1e-9):
                outside += 1
                continue
            Zs.append(np.clip(z, 0.0, 1.0))
            Ls.append(obj)
            Es.append(e)
    dim, K = len(spec.parameters), len(ids)
    if not Zs:
        return np.empty((0, dim)), np.empty(0), np.empty((0, K)), outside
    return np.array(Zs), np.array(Ls), np.array(Es), outside
