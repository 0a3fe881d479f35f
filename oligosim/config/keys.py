"""Dotted key paths such as ``arms.upfront_rt.metastasis_dose_gy``.

Error messages, provenance (which file wrote a key) and :meth:`Scenario.with_values
<oligosim.config.scenario.Scenario.with_values>` all name a value by its path from the top of
the file: table keys joined by ``.``, array items as ``[i]``.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

__all__ = ["format_path", "is_below", "join_key", "index_key", "parent_path", "split_path"]


def join_key(path: str, key: Any) -> str:
    """``path.key`` (just ``key`` at the top level)."""
    return f"{path}.{key}" if path else str(key)


def index_key(path: str, i: int) -> str:
    """``path[i]``."""
    return f"{path}[{i}]"


_PIECE = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def split_path(path: str) -> list[str | int]:
    """Split ``"arms.a.doses[1]"`` into ``["arms", "a", "doses", 1]``.

    Raises
    ------
    ValueError
        If the path is empty or malformed.
    """
    parts: list[str | int] = []
    for piece in str(path).split("."):
        m = _PIECE.fullmatch(piece)
        if not m:
            raise ValueError(f"not a valid key path: {path!r}")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return parts


def format_path(parts: Sequence[str | int]) -> str:
    """Inverse of :func:`split_path`: ``["arms", "a", "doses", 1]`` -> ``"arms.a.doses[1]"``."""
    out = ""
    for part in parts:
        out = index_key(out, part) if isinstance(part, int) else join_key(out, part)
    return out


def parent_path(path: str) -> str:
    """The enclosing table or array of ``path`` (``""`` at the top level)."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def is_below(path: str, prefix: str) -> bool:
    """Whether ``path`` lies strictly inside the table or array at ``prefix``."""
    return path.startswith(prefix + ".") or path.startswith(prefix + "[")
