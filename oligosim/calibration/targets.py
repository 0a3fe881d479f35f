"""Published calibration targets: the targets file, and the vocabulary of the tolerance rule.

The **targets file** (``../shared/calibration/targets.toml``) has one ``[[target]]`` per published
figure, with ``id``, ``study``, ``population``, ``arm``, ``metric`` (a description such as
``median_pfs_months``), ``value``, optional ``n``, ``quoted_in`` and optional ``note``. How
oligosim reproduces each target is the map file's business (:mod:`oligosim.calibration.target_map`),
how a model value is scored against it :mod:`oligosim.calibration.scoring`'s.

The targets file and the map file are validated as strictly as scenarios (the :mod:`oligosim.config` node types):
unknown, missing or mistyped keys, unparseable metrics, missing or invalid scenario files and
unknown arms all raise :class:`~oligosim.config.ConfigError` with one line per problem naming the
file, the key, the value and the rule.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from oligosim import config
from oligosim.config import Maybe, ConfigError, Float, Int, ListOf, Section, Str, format_value, validate

__all__ = ["Target", "load_targets", "TOLERANCE_KINDS", "BOUNDS", "ID_PATTERN"]

TOLERANCE_KINDS = ("relative", "absolute")
BOUNDS = ("two_sided", "lower", "upper")
DEFAULT_TOLERANCE_RELATIVE = 0.20
DEFAULT_TOLERANCE_ABSOLUTE = 0.07


ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
_ID_RULE = "an id must start with a letter or digit and use only letters, digits, '_', '-' and '.'"


def _unique_ids(data, path):
    problems = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data["target"] or ()):
        if not isinstance(item, Mapping) or item.get("id") is None:
            continue
        tid = item["id"]
        if not re.match(ID_PATTERN, tid):
            problems.append((f"target[{i}].id", _ID_RULE))
        elif tid in seen:
            problems.append((f"target[{i}].id", f"duplicate id: also the id of target[{seen[tid]}]"))
        else:
            seen[tid] = i
    return problems


TARGET_SCHEMA = Section(
    {
        "id": Str(doc="unique name of the target"),
        "study": Str(doc="the publication"),
        "population": Str(doc="who the figure is about"),
        "arm": Str(doc="the treatment arm, in words"),
        "metric": Str(doc="what the figure is, in words (e.g. median_pfs_months)"),
        "value": Float(lo=0.0, uncertain=False, doc="the published figure (months or a fraction)"),
        "n": Maybe(Int(lo=1, unit="patients")),
        "quoted_in": Str(doc="where the figure was read"),
        "note": Str("", doc="free text"),
    }
)
TARGETS_FILE_SCHEMA = Section({"target": ListOf(TARGET_SCHEMA, min_len=1)}, check=_unique_ids)


@dataclass(frozen=True)
class Target:
    """One published figure of the targets file."""

    id: str
    study: str
    population: str
    arm: str
    metric: str
    value: float
    n: int | None
    quoted_in: str
    note: str = ""


def load_targets(path: str | os.PathLike) -> list[Target]:
    """Read and validate a targets file; the targets in file order.

    Raises
    ------
    ConfigError
        One line per problem (``file: target[i].key = value: rule``, with the target's id).
    """
    display = os.fspath(path)
    raw = config.read_toml_file(Path(path), display)
    try:
        data, _ = validate(raw, TARGETS_FILE_SCHEMA, origin=display)
    except ConfigError as exc:
        items = raw.get("target") if isinstance(raw.get("target"), list) else []
        raise ConfigError([_with_target_id(line, items) for line in exc.errors]) from None
    return [Target(**item) for item in data["target"]]


def _with_target_id(line: str, items: list) -> str:
    m = re.search(r"\btarget\[(\d+)\]", line)
    if m and int(m.group(1)) < len(items):
        item = items[int(m.group(1))]
        tid = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(tid, str) and tid:
            return f"{line} (in the [[target]] with id = {format_value(tid)})"
    return line
