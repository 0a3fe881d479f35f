"""The scenarios and experiments shipped with oligosim, reachable by name from any directory.

An installed package carries a copy of the checkout's ``configs/`` and ``experiments/`` as
package data (``oligosim/_shipped/``, copied there by ``setup.py`` when the wheel is built);
a checkout (or an editable install) reads them in place. Either way the two folders keep their
relative layout, so the relative ``scenario = "../configs/default.toml"`` of an experiment and
``extends = "base.toml"`` of a scenario resolve inside the shipped tree.

A shipped file is named by its path below its folder without ``.toml``: ``default``,
``scenarios/eso_shanghai13``, ``teaching/staging`` (scenarios, in ``configs/``) and ``psa``,
``teaching/04_rt_timing`` (experiments). A bare file stem (``li2020``) names a file too when
only one file of the wanted kinds has it.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ShippedFile", "UnknownName", "find", "folders", "list_files", "resolve"]

_PACKAGE = Path(__file__).resolve().parent

#: the two shipped folders: scenario-like files (scenarios, bases, calibration specs and maps) and experiments
FOLDERS = ("configs", "experiments")


class UnknownName(LookupError):
    """A name that is neither an existing file nor a shipped file (message with suggestions)."""


def folders() -> dict[str, Path]:
    """The shipped folders: ``{"configs": Path, "experiments": Path}``.

    The package data of an installed wheel (``oligosim/_shipped/``) when present, else the
    checkout this package was imported from.
    """
    packaged = _PACKAGE / "_shipped"
    root = packaged if (packaged / "configs").is_dir() else _PACKAGE.parent
    return {name: root / name for name in FOLDERS}


@dataclass(frozen=True)
class ShippedFile:
    """One shipped TOML file.

    Attributes
    ----------
    name : str
        Path below its folder without ``.toml`` (``"teaching/staging"``).
    folder : str
        ``"configs"`` or ``"experiments"``.
    kind : str
        What the file is (:func:`file_kind`): ``scenario``, ``base``, ``experiment``,
        ``calibration``, ``map`` or ``targets``.
    path : pathlib.Path
        Where it is.
    title : str
        The experiment's title or the scenario's ``scenario.name`` (may be empty).
    """

    name: str
    folder: str
    kind: str
    path: Path
    title: str


def file_kind(doc: dict) -> str:
    """What a parsed TOML document is, from its top-level keys.

    ``[experiment]`` -> ``experiment``; ``[calibration]`` -> ``calibration``; ``[[target]]`` (an
    array of tables) -> ``targets``; ``[target.<id>]`` (a table) -> ``map``; a ``[fixed]`` table
    alone, or with a ``[tied]`` table -> ``posterior`` (the settings a calibration posterior
    belongs to, written beside its ``posterior.csv``, :mod:`oligosim.experiments.joint`); a
    document with ``[arms.*]`` ->
    ``scenario``; anything else -> ``base`` (a scenario without arms, for others to extend).
    """
    if isinstance(doc.get("experiment"), dict):
        return "experiment"
    if isinstance(doc.get("calibration"), dict):
        return "calibration"
    if isinstance(doc.get("target"), list):
        return "targets"
    if isinstance(doc.get("target"), dict):
        return "map"
    if isinstance(doc.get("fixed"), dict) and set(doc) <= {"fixed", "tied"}:
        return "posterior"
    return "scenario" if doc.get("arms") else "base"


def _describe(path: Path, folder: str, root: Path) -> ShippedFile:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        doc = {}
    kind = file_kind(doc)
    if kind == "base" and "extends" in doc:
        kind = "scenario" if _extends_arms(path, doc) else "base"
    title = ""
    if kind == "experiment":
        title = str(doc["experiment"].get("title", ""))
    elif isinstance(doc.get("scenario"), dict):
        title = str(doc["scenario"].get("name", ""))
    return ShippedFile(path.relative_to(root).with_suffix("").as_posix(), folder, kind, path, title)


def _extends_arms(path: Path, doc: dict, depth: int = 0) -> bool:
    """Whether a file without arms of its own inherits some from a base (a runnable scenario)."""
    bases = doc.get("extends", [])
    for base in [bases] if isinstance(bases, str) else bases if isinstance(bases, list) else []:
        p = path.parent / base
        try:
            d = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError):
            continue
        if d.get("arms") or (depth < 8 and _extends_arms(p, d, depth + 1)):
            return True
    return False


def list_files(folder: str | None = None) -> list[ShippedFile]:
    """Every shipped TOML file (of one folder, or both), sorted by folder and name."""
    out = []
    for name, root in folders().items():
        if folder is not None and name != folder:
            continue
        out += [_describe(p, name, root) for p in sorted(root.rglob("*.toml"))]
    return out


def find(name: str, folder: str | None = None) -> Path | None:
    """The path of the shipped file called ``name`` (with or without ``.toml``), or None.

    Looked up in ``folder`` first (``configs`` or ``experiments``), then in the other; a full
    name (``teaching/staging``) first, then a bare stem when exactly one file of the folder has it.
    """
    stem = name[:-5] if name.endswith(".toml") else name
    stem = stem.replace(os.sep, "/")
    every = folders()
    # the preferred folder first, then the other: `oligosim run psa` finds the experiment and says so
    order = [folder] + [k for k in every if k != folder] if folder in every else list(every)
    for group in order:
        root = every[group]
        if (root / f"{stem}.toml").is_file():
            return root / f"{stem}.toml"
        if "/" not in stem:
            hits = list(root.rglob(f"{stem}.toml"))
            if len(hits) == 1:
                return hits[0]
    return None


def resolve(arg: str | os.PathLike, folder: str | None = None) -> str:
    """A user's file argument: the file itself if it exists, else the shipped file of that name.

    Returns the argument unchanged when neither exists, so that the loader reports the missing
    file in its usual words; see :func:`unknown_name_hint` for the suggestion to add.
    """
    text = os.fspath(arg)
    if Path(text).exists():
        return text
    hit = find(text, folder)
    return str(hit) if hit is not None else text


def unknown_name_hint(arg: str, folder: str | None = None) -> str:
    """``" (did you mean 'x'?)"`` or a pointer to ``oligosim list`` for a name that is neither a
    file nor a shipped name."""
    names = [f.name for f in list_files(folder)]
    key = Path(arg).with_suffix("").as_posix() if arg.endswith(".toml") else arg
    same = [n for n in names if n.rsplit("/", 1)[-1] == key]
    if len(same) > 1:
        return f" (several shipped files have this name: {', '.join(same)}; give the one you mean)"
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if not close:  # a stem near a stem: "li202" -> "studies/li2020"
        stems = {n.rsplit("/", 1)[-1]: n for n in names}
        close = [stems[c] for c in difflib.get_close_matches(key.rsplit("/", 1)[-1], list(stems), n=1, cutoff=0.75)]
    if close:
        return f" (did you mean the shipped '{close[0]}'?)"
    return " (`oligosim list` shows the shipped scenarios and experiments by name)"
