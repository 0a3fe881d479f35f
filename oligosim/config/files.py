"""TOML input files: reading, ``extends`` merging and provenance.

``extends = "base.toml"`` (or a list) deep-merges base files, in order, under the file's own
keys. A base that is not a file relative to the extending one may name a shipped scenario
(``extends = "base"`` or ``"default"``, :mod:`oligosim.shipped`), so that a user's file in any
directory can build on the shipped defaults. While merging, every leaf key path records the file that wrote it last (its
*provenance*), so that a validation error names the file a clinician has to open, not the one
that happened to extend it. File-level problems (missing or unreadable files, TOML syntax,
``extends`` cycles) are collected in a list of messages, all reported at once.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

from oligosim.config.keys import is_below, join_key
from oligosim.config.nodes import ConfigError
from oligosim.config.uncertainty import is_uncertainty_table
from oligosim.config.values import format_value

__all__ = ["drop_sources", "load_merged", "loads_merged", "read_toml_file"]


def _syntax_message(exc: tomllib.TOMLDecodeError) -> str:
    """Reorder tomllib's "msg (at line L, column C)" to lead with the location."""
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
    if m:
        return f"line {m[1]}, column {m[2]}: TOML syntax error: {msg[: m.start()]}"
    m = re.search(r"\s*\(at end of document\)$", msg)
    if m:
        return f"end of file: TOML syntax error: {msg[: m.start()]}"
    return f"TOML syntax error: {msg}"


def read_toml_file(path: str | os.PathLike, display: str | None = None) -> dict:
    """Read and parse a TOML input file (experiment, targets, map, calibration config).

    Raises
    ------
    ConfigError
        Naming the file (as ``display``) for a missing or unreadable file and for TOML syntax
        errors (with line and column).
    """
    display = os.fspath(path) if display is None else display
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{display}: file not found"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{display}: is a directory, not a TOML file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{display}: cannot read file: {getattr(exc, 'strerror', None) or exc}"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{display}: {_syntax_message(exc)}"]) from None


def _parse_toml(text: str, display: str, errors: list[str]) -> dict | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"{display}: {_syntax_message(exc)}")
        return None


def _leaf_sources(value: Any, file: str, prefix: str, out: dict[str, str]) -> dict[str, str]:
    """Record ``file`` for every leaf under ``prefix`` (arrays count as leaves: they replace)."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _leaf_sources(item, file, join_key(prefix, key), out)
    elif prefix:
        out[prefix] = file
    return out


def drop_sources(sources: dict[str, str], path: str) -> None:
    """Forget the provenance of ``path`` and of every key below it (it is being replaced)."""
    for p in [p for p in sources if p == path or is_below(p, path)]:
        del sources[p]


def _merge(dst: dict, dst_sources: dict[str, str], src: Mapping, src_sources: Mapping[str, str], prefix: str = "") -> None:
    """Deep-merge ``src`` into ``dst``: tables merge key by key, anything else replaces.

    An uncertainty table (one with ``dist``) replaces as a whole: merging the parameters of two
    different distributions key by key would produce nonsense.
    """
    for key, value in src.items():
        path = join_key(prefix, key)
        old = dst.get(key)
        if isinstance(value, Mapping) and isinstance(old, dict) and not is_uncertainty_table(value):
            _merge(old, dst_sources, value, src_sources, path)
            continue
        drop_sources(dst_sources, path)
        dst[key] = copy.deepcopy(value)
        dst_sources.update({p: f for p, f in src_sources.items() if p == path or is_below(p, path)})


def _shipped_display(name: str, path: Path) -> str:
    return f"{name} (shipped: {path})"


def source_dir(display: str) -> Path:
    """The directory of the file a provenance entry names (``load_merged``'s ``sources`` values:
    a path as the user gave it, or a shipped base as :func:`_shipped_display` writes it)."""
    m = re.fullmatch(r".* \(shipped: (.*)\)", display)
    return Path(m.group(1) if m else display).parent


def _resolve_extends(
    doc: dict, display: str, base_dir: Path, display_dir: str, chain: tuple, errors: list[str]
) -> tuple[dict, dict[str, str]]:
    """Merge the bases named by ``doc["extends"]`` in order, then ``doc`` on top."""
    bases = doc.pop("extends", [])
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        errors.append(f"{display}: extends = {format_value(bases)}: must be a file name or a list of file names")
        bases = []
    merged: dict = {}
    sources: dict[str, str] = {}
    for name in bases:
        base_path, base_display = base_dir / name, os.path.normpath(os.path.join(display_dir, name))
        if not base_path.exists():
            # a shipped base by name ("base", "default", "teaching/synchronous_escc"), from anywhere
            from oligosim.shipped import find

            shipped = find(name, "configs")
            if shipped is not None:
                base_path, base_display = shipped, _shipped_display(name, shipped)
        tree = _load_file(base_path, base_display, chain, errors, referrer=(display, name))
        if tree is not None:
            _merge(merged, sources, tree[0], tree[1])
    _merge(merged, sources, doc, _leaf_sources(doc, display, "", {}))
    return merged, sources


def _load_file(
    path: Path, display: str, chain: tuple, errors: list[str], referrer: tuple[str, str] | None = None
) -> tuple[dict, dict[str, str]] | None:
    """Read, parse and resolve ``extends`` of one file; None if it could not be read.

    ``chain`` holds ``(identity, display)`` of the files currently being loaded, so that a
    file reached again through its own bases is reported as a cycle instead of recursing.
    """
    identity = path.resolve()
    seen = [ident for ident, _ in chain]
    if identity in seen:
        names = [d for _, d in chain[seen.index(identity):]] + [display]
        errors.append(f"{chain[-1][1]}: extends cycle: {' -> '.join(names)}")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if referrer:
            errors.append(f"{referrer[0]}: extends = {format_value(referrer[1])}: file not found: {display}")
        else:
            errors.append(f"{display}: file not found")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{display}: cannot read file: {getattr(exc, 'strerror', None) or exc}")
        return None
    doc = _parse_toml(text, display, errors)
    if doc is None:
        return None
    return _resolve_extends(doc, display, path.parent, os.path.dirname(display), chain + ((identity, display),), errors)



def load_merged(path: str | os.PathLike, display: str) -> tuple[dict, dict[str, str]]:
    """Read a file and the bases it extends, merged.

    Parameters
    ----------
    path : path-like
        The TOML file.
    display : str
        Its name in messages; the bases are named relative to it.

    Returns
    -------
    data : dict
        The merged plain data (``extends`` removed).
    sources : dict of str to str
        Dotted leaf path -> display name of the file that wrote it.

    Raises
    ------
    ConfigError
        Listing every file-level problem: missing or unreadable files, TOML syntax, extends
        cycles.
    """
    errors: list[str] = []
    tree = _load_file(Path(path), display, (), errors)
    if errors or tree is None:
        raise ConfigError(errors)
    return tree


def loads_merged(text: str, name: str, base_dir: str | os.PathLike) -> tuple[dict, dict[str, str]]:
    """Like :func:`load_merged` for TOML text named ``name``, extending files in ``base_dir``."""
    errors: list[str] = []
    doc = _parse_toml(text, name, errors)
    tree = None
    if doc is not None:
        # a string has no file identity, so an object() stands in for it in the cycle chain
        chain = ((object(), name),)
        tree = _resolve_extends(doc, name, Path(base_dir), os.fspath(base_dir), chain, errors)
    if errors or tree is None:
        raise ConfigError(errors)
    return tree
