"""Generated parts of ``docs/model.md``: the parameter table (and the regimen table).

The scenario schema (:mod:`oligosim.config.schema`) is the single record of every parameter's
default, unit, range, meaning and source. This module turns it into Markdown so the model
document cannot drift from the code:

* ``python -m oligosim.docs`` prints the parameter table;
* ``python -m oligosim.docs --write docs/model.md`` replaces the text between
  ``<!-- BEGIN PARAMETERS -->`` and ``<!-- END PARAMETERS -->`` (and, if present, between
  ``<!-- BEGIN REGIMENS -->`` and ``<!-- END REGIMENS -->``, and ``<!-- BEGIN LIBRARY -->``
  and ``<!-- END LIBRARY -->``: the regimen library) with fresh tables, atomically,
  leaving the rest of the file alone;
* ``python -m oligosim.docs --check docs/model.md`` exits 1 and prints a diff when a generated
  block is out of date (for CI).
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Mapping

from oligosim.config.nodes import REQUIRED, Bool, Choice, Float, Int, ListOf, Maybe, Ref, Section, Str, Table
from oligosim.config.schema import SCENARIO_SCHEMA

__all__ = [
    "BEGIN",
    "END",
    "REGIMENS_BEGIN",
    "REGIMENS_END",
    "parameter_rows",
    "parameter_table_markdown",
    "regimen_table_markdown",
    "render_blocks",
    "check_file",
    "write_file",
    "main",
]

BEGIN = "<!-- BEGIN PARAMETERS -->"
END = "<!-- END PARAMETERS -->"
REGIMENS_BEGIN = "<!-- BEGIN REGIMENS -->"
REGIMENS_END = "<!-- END REGIMENS -->"
LIBRARY_BEGIN = "<!-- BEGIN LIBRARY -->"
LIBRARY_END = "<!-- END LIBRARY -->"

#: the file whose regimens the regimen table shows
BASE_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "base.toml"

_COLUMNS = ("parameter", "kind", "default", "unit", "range", "doc", "source")


# ============================================================================ formatting


def _num(x: Any) -> str:
    """``0`` not ``0.0``, 6 significant digits, ``inf`` for infinities."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _format_default(value: Any) -> str:
    if value is REQUIRED:
        return "required"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _num(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Mapping):  # an uncertainty table as default
        return "{ " + ", ".join(f"{k} = {_format_default(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format_default(v) for v in value) + "]"
    return str(value)


def _interval(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    left = "(" if lo is None or lo_open else "["
    right = ")" if hi is None or hi_open else "]"
    return f"{left}{'-inf' if lo is None else _num(lo)}, {'inf' if hi is None else _num(hi)}{right}"


def _range(node) -> str:
    if isinstance(node, Float):
        return _interval(node.lo, node.hi, node.lo_open, node.hi_open)
    if isinstance(node, Int):
        return _interval(node.lo, node.hi)
    if isinstance(node, Choice):
        return "one of: " + ", ".join(node.options)
    if isinstance(node, Bool):
        return "true, false"
    if isinstance(node, Ref):
        tail = ' or "none"' if node.default == "none" else ""
        return f"a name in [{node.table}]{tail}"
    if isinstance(node, Str):
        return "text"
    if isinstance(node, ListOf):
        return f"list of {_range(node.item)}"
    return ""


# ============================================================================ rows


def _walk(node, path: str, rows: list[dict]) -> None:
    if isinstance(node, Section):
        for name, child in node.fields.items():
            _walk(child, f"{path}.{name}" if path else name, rows)
        return
    if isinstance(node, Table):
        # entries have user-chosen names; the table documents one entry as <name>
        _walk(node.value, f"{path}.<name>", rows)
        return
    if isinstance(node, Maybe):
        # an optional key: documented as its value's node, with no default (absent)
        rows.append({**_leaf_row(node.node, path), "default": "(absent)"})
        return
    rows.append(_leaf_row(node, path))


def _leaf_row(node, path: str) -> dict:
    """The documentation row of one leaf node (see :func:`parameter_rows`)."""
    source = getattr(node, "source", "") or ""
    return {
        "path": path,
        "kind": type(node).__name__,
        "default": _format_default(getattr(node, "default", None)),
        "unit": getattr(node, "unit", "") or "",
        "range": _range(node),
        "doc": getattr(node, "doc", "") or "",
        "source": source,
        "assumption": source.strip().lower().startswith("assumption"),
    }


def parameter_rows(schema=None) -> list[dict]:
    """One row per leaf parameter of the scenario schema, in schema order.

    Parameters
    ----------
    schema : oligosim.config.Section, optional
        Default :data:`oligosim.config.schema.SCENARIO_SCHEMA`.

    Returns
    -------
    list of dict
        Keys ``path`` (dotted key path; entries of ``regimens`` and ``arms`` appear as
        ``regimens.<name>.key`` and ``arms.<name>.key``), ``kind`` (Float, Int, Bool, Choice,
        Str, Ref ...), ``default`` (formatted as in TOML; ``required`` when the key must be
        given), ``unit``, ``range`` (interval such as ``(0, inf)``, or the allowed choices),
        ``doc``, ``source`` and ``assumption`` (True when the source starts with
        "assumption").
    """
    if schema is None:
        schema = SCENARIO_SCHEMA
    rows: list[dict] = []
    _walk(schema, "", rows)
    return rows


def _cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _section_of(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else "(top level)"


def parameter_table_markdown(schema=None) -> str:
    """The parameter table as Markdown, one sub-table per section, with headings.

    Returns
    -------
    str
        Ends with a newline. Deterministic for a given schema.
    """
    rows = parameter_rows(schema)
    n_assume = sum(r["assumption"] for r in rows)
    n_float = sum(r["kind"] == "Float" for r in rows)
    lines = [
        "_Generated from `oligosim/config/schema.py` by `python -m oligosim.docs --write docs/model.md`;"
        " do not edit by hand._",
        "",
        f"{len(rows)} parameters ({n_float} real-valued); {n_assume} have a source marked"
        " \"assumption\" (no publication fixes them: candidates for calibration or sensitivity"
        " analysis). Ranges: `[` `]` include the bound, `(` `)` exclude it.",
    ]
    # rows grouped by their section, sections in order of first appearance, so a section's
    # own keys share one table even where the schema interleaves them with sub-sections
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(_section_of(r["path"]), []).append(r)
    current_top = None
    for section, members in groups.items():
        top = section.split(".", 1)[0]
        if top != current_top:
            current_top = top
            lines += ["", f"#### `{top}`"]
        if section != top:
            lines += ["", f"##### `{section}`"]
        lines += [
            "",
            "| Parameter | Default | Unit | Range | Meaning | Source |",
            "|---|---|---|---|---|---|",
        ]
        for r in members:
            source = r["source"] or ("—" if r["kind"] != "Float" else "**missing**")
            lines.append(
                "| `{}` | {} | {} | {} | {} | {} |".format(
                    _cell(r["path"]),
                    _cell(r["default"]),
                    _cell(r["unit"]),
                    _cell(r["range"]),
                    _cell(r["doc"]),
                    _cell(source),
                )
            )
    return "\n".join(lines) + "\n"


# ============================================================================ regimens


def _regimen_rows(path: Path) -> list[tuple[str, dict]]:
    """Regimens of a base config with schema defaults filled in (no validation)."""
    entry = SCENARIO_SCHEMA.fields["regimens"].value
    with open(path, "rb") as f:
        raw = tomllib.load(f).get("regimens", {})
    out = []
    for name, given in raw.items():
        values = {}
        for key, node in entry.fields.items():
            if key == "grade3plus":
                sub = given.get(key, {})
                values[key] = {t: sub.get(t, child.default) for t, child in node.fields.items()}
            else:
                values[key] = given.get(key, getattr(node, "default", None))
        out.append((name, values))
    return out


def regimen_table_markdown(path: str | os.PathLike | None = None) -> str:
    """The regimens of ``configs/base.toml`` (schema defaults filled in) as a Markdown table."""
    path = Path(path) if path is not None else BASE_CONFIG
    if not path.exists():
        return f"_(regimen file {path.name} not found)_\n"
    rows = _regimen_rows(path)
    head = (
        "| Regimen | Histology | Lines | Chemo | Anti-PD-1 | Cycle (days) | Induction cycles | Maintenance (months) "
        "| Kill (1/month) | Maintenance kill (1/month) | Resistance median (months) | Resistance sdlog "
        "| Durable fraction | PD-L1 multiplier | Grade 5 | Grade >= 3 probabilities (non-zero) |"
    )
    lines = [
        f"_Generated from `configs/{path.name}` (schema defaults filled in) by "
        "`python -m oligosim.docs --write docs/model.md`; do not edit by hand._",
        "",
        head,
        "|" + "---|" * 16,
    ]
    for name, v in rows:
        tox = ", ".join(f"{t} {_num(p)}" for t, p in v["grade3plus"].items() if p) or "none"
        label = f"`{name}` ({v['label']})" if v["label"] else f"`{name}`"
        cells = [
            label,
            ", ".join(v["histology"]),
            ", ".join(str(x) for x in v["lines"]),
            "yes" if v["chemotherapy"] else "no",
            "yes" if v["immunotherapy"] else "no",
            _num(v["cycle_days"]),
            _num(v["induction_cycles"]),
            _num(v["maintenance_months"]),
            _num(v["kill_rate_per_month"]),
            _num(v["maintenance_kill_rate_per_month"]) if v["maintenance_months"] else "—",
            _num(v["resistance_median_months"]),
            _num(v["resistance_sdlog"]),
            _num(v["durable_fraction"]),
            _num(v["pdl1_high_multiplier"]),
            _num(v["grade5"]),
            tox,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ============================================================================ file blocks

def library_table_markdown() -> str:
    """The regimen library's sources and values (:mod:`oligosim.regimen_library`)."""
    from oligosim.regimen_library import library_table_markdown as table

    return table()


_BLOCKS = (
    (BEGIN, END, parameter_table_markdown),
    (REGIMENS_BEGIN, REGIMENS_END, regimen_table_markdown),
    (LIBRARY_BEGIN, LIBRARY_END, library_table_markdown),
)


def _split(text: str, begin: str, end: str) -> tuple[str, str, str] | None:
    """(before incl. begin marker, inside, after incl. end marker), or None if absent."""
    i = text.find(begin)
    if i < 0:
        return None
    j = text.find(end, i + len(begin))
    if j < 0:
        raise ValueError(f"found {begin} but no {end} after it")
    cut = i + len(begin)
    return text[:cut], text[cut:j], text[j:]


def render_blocks(text: str) -> str:
    """``text`` with every generated block replaced by fresh content.

    The parameter block is required; the regimen and library blocks are optional.

    Raises
    ------
    ValueError
        If the parameter markers are missing or unpaired.
    """
    if BEGIN not in text:
        raise ValueError(f"no {BEGIN} marker: nowhere to put the parameter table")
    for begin, end, make in _BLOCKS:
        parts = _split(text, begin, end)
        if parts is None:
            continue
        before, _, after = parts
        text = before + "\n" + make() + after
    return text


def check_file(path: str | os.PathLike) -> list[str]:
    """Unified-diff lines between ``path`` and its regenerated form; empty when up to date."""
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    try:
        new = render_blocks(old)
    except ValueError as exc:
        return [f"{path}: {exc}"]
    if new == old:
        return []
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), f"{path} (in file)", f"{path} (generated)", lineterm=""
        )
    )


def write_file(path: str | os.PathLike) -> bool:
    """Regenerate the blocks of ``path`` in place (atomic replace); True if it changed."""
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    new = render_blocks(old)
    if new == old:
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(new)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


# ============================================================================ command line


def main(argv: list[str] | None = None) -> int:
    """``python -m oligosim.docs [--write FILE | --check FILE]``; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m oligosim.docs", description=__doc__.split("\n\n")[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", help="regenerate the marked blocks of FILE in place")
    group.add_argument("--check", metavar="FILE", help="exit 1 if the marked blocks of FILE are out of date")
    args = ap.parse_args(argv)
    if args.write:
        try:
            changed = write_file(args.write)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.write}: {'updated' if changed else 'already up to date'}")
        return 0
    if args.check:
        try:
            diff = check_file(args.check)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if diff:
            print(f"{args.check}: generated tables are out of date; run "
                  f"`python -m oligosim.docs --write {args.check}`", file=sys.stderr)
            print("\n".join(diff))
            return 1
        print(f"{args.check}: up to date")
        return 0
    sys.stdout.write(parameter_table_markdown())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
