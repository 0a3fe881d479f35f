"""Draw the house: oligosim's packages and the directions of their imports, read from the code.

Run ``python docs/make_architecture.py`` from the project root after moving a module or adding
an import between packages. It parses every module of ``oligosim/`` with :mod:`ast` (nothing is
imported or run), keeps the imports made when a module loads (module level, including those
inside ``if``/``try`` blocks; imports inside functions are optional heavy dependencies and are
left out), folds modules into their top-level unit (a subpackage such as ``oligosim.config``, or
a top-level module such as ``oligosim.codes``), and writes

* ``docs/architecture.md``: the units by layer with their modules, and a Mermaid
  diagram of the import directions (GitHub renders it);
* ``docs/architecture.png``: the same diagram drawn with matplotlib, layer by layer.

Layers are longest-path depths in the unit graph: a unit sits one layer above the highest unit
it imports, so every arrow points down. ``tests/test_architecture.py`` checks that the Markdown
is current and that the graph has no cycle.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "oligosim"
MARKDOWN = ROOT / "docs" / "architecture.md"
PICTURE = ROOT / "docs" / "architecture.png"

#: what each unit is for, shown in the table (a unit missing here is shown without a role)
ROLES = {
    "codes": "every integer code shared by configs, kernels and results",
    "config": "TOML -> validated, frozen Scenario (nodes, uncertainty, files, schema, scenario)",
    "definitions": "statements 1-2: counting lesions, oligometastasis definitions, ESTRO-EORTC classes (njit)",
    "radiobiology": "BED, EQD2, TCP, NTCP, re-irradiation: one njit core, a validated API, schedules",
    "lowering": "Scenario -> ModelParams, Regimens, ArmParams: the one bridge to the kernels",
    "_kernels": "private numba event loop: state, handlers, progression, hazards, rt, assess, systemic, toxicity, cohort, rng",
    "simulate": "driver: chunks, threads, seeds; returns results",
    "reference": "the same model written plainly with SimPy: the kernel's test oracle",
    "results": "ArmResult, Results, columns: what every analysis reads",
    "analysis": "survival statistics, metrics, summaries, paired comparisons, virtual trials",
    "plots": "figures: (data, *, ax=None) -> ax",
    "io": "atomic output directories, CSV and JSON",
    "experiments": "experiment files: compare, sweeps, PSA, Sobol, Morris, trials",
    "calibration": "targets, the user's map, scoring, search, posterior, reports",
    "commands": "one module per `oligosim` sub-command",
    "cli": "the `oligosim` command line",
    "teach": "`oligosim teach`: lesson pages and a free page in the browser (Shiny), over the API",
    "api": "the public Python API: load, run -> Result (pandas tables), run_experiment",
    "shipped": "the shipped scenarios and experiments, by name (package data)",
    "docs": "the parameter table of docs/model.md, generated from the schema",
    "_numba_cache": "clears numba caches when a kernel source changes",
}


def module_name(path: Path) -> str:
    """Dotted module name of a file under ``oligosim/``."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    """The top-level unit of ``oligosim.x.y`` (``x``); the package itself is ``oligosim``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "oligosim"


def _is_type_checking(node: ast.If) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): annotations only, never run."""
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def load_time_imports(body):
    """Import statements run when a module loads: at module level, inside ``if`` (except
    ``if TYPE_CHECKING:``), ``try`` and ``with`` blocks; not inside functions or classes."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from load_time_imports(node.body)
            yield from load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from load_time_imports(block)
        elif isinstance(node, ast.With):
            yield from load_time_imports(node.body)


def module_imports(path: Path, modules: set[str], *, load_time: bool = True) -> set[str]:
    """oligosim modules that ``path`` imports when it loads (``load_time``) or anywhere, function
    bodies included (``from pkg import mod`` counts as importing ``pkg.mod`` when that is a
    module, else ``pkg``)."""
    me = module_name(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = load_time_imports(tree.body) if load_time else (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = me.split(".") if is_pkg else me.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for name in names:
            if name == "oligosim" or name.startswith("oligosim."):
                # the deepest known module that the name is, or is inside
                parts = name.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()
                if parts and ".".join(parts) != me:
                    found.add(".".join(parts))
    return found


def module_graph() -> tuple[dict[str, set[str]], dict[str, int]]:
    """(imports of each module, line count of each module)."""
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    graph = {module_name(p): module_imports(p, modules) for p in files}
    lines = {module_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in files}
    return graph, lines


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of names (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    parent: dict[str, str] = {}
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        colour[start] = GREY
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in colour:
                    continue
                if colour[child] == GREY:
                    cycle = [child, node]
                    while cycle[-1] != child:
                        cycle.append(parent[cycle[-1]])
                    return cycle[::-1]
                if colour[child] == WHITE:
                    colour[child] = GREY
                    parent[child] = node
                    stack.append((child, iter(sorted(graph[child]))))
                    break
            else:
                colour[node] = BLACK
                stack.pop()
    return None


def unit_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Imports folded to top-level units, without self-loops and without the bare package
    (``oligosim/__init__`` only runs the cache guard)."""
    units: dict[str, set[str]] = defaultdict(set)
    for mod, deps in graph.items():
        u = unit_of(mod)
        if u == "oligosim":
            continue
        units[u]
        for d in deps:
            v = unit_of(d)
            if v not in (u, "oligosim"):
                units[u].add(v)
    return dict(units)


def layers(units: dict[str, set[str]]) -> dict[str, int]:
    """Longest-path depth of each unit: 0 for units that import no other unit."""
    depth: dict[str, int] = {}

    def visit(u: str, trail: tuple[str, ...] = ()) -> int:
        if u in depth:
            return depth[u]
        if u in trail:
            raise ValueError("import cycle between units: " + " -> ".join(trail + (u,)))
        d = 1 + max((visit(v, trail + (u,)) for v in units[u]), default=-1)
        depth[u] = d
        return d

    for u in sorted(units):
        visit(u)
    return depth


def render_markdown(graph) -> str:
    units = unit_graph(graph)
    depth = layers(units)
    by_layer: dict[int, list[str]] = defaultdict(list)
    for u, d in depth.items():
        by_layer[d].append(u)
    members: dict[str, list[str]] = defaultdict(list)
    for mod in graph:
        members[unit_of(mod)].append(mod)
    out = [
        "# The house: oligosim's packages and their import directions",
        "",
        "_Generated by `python docs/make_architecture.py` from the code (module-level imports, read",
        "with `ast`); `tests/test_architecture.py` fails when this file is out of date._",
        "",
        "Every arrow points from a unit to a unit it imports, and always down the layers: layer 0",
        "imports nothing else of oligosim, and a unit sits one layer above the highest unit it",
        "imports. Rules the tests keep: no import cycle between modules or units; only `simulate`,",
        "`reference` and `lowering` import `_kernels`; analysis, plots and io read `results` and",
        "`codes`, never the kernel. The picture is `docs/architecture.png`.",
        "",
        "```mermaid",
        "flowchart TB",
    ]
    for d in sorted(by_layer, reverse=True):
        out.append(f'  subgraph L{d}["layer {d}"]')
        for u in sorted(by_layer[d]):
            out.append(f'    {u.strip("_") or u}["{u}"]')
        out.append("  end")
    for u in sorted(units):
        for v in sorted(units[u]):
            out.append(f"  {u.strip('_')} --> {v.strip('_')}")
    out += ["```", "", "| layer | unit | role | modules |", "|---|---|---|---|"]
    for d in sorted(by_layer, reverse=True):
        for u in sorted(by_layer[d]):
            mods = ", ".join(f"`{m.split('.', 1)[1]}`" for m in sorted(members[u]))
            out.append(f"| {d} | `{u}` | {ROLES.get(u, '')} | {mods} |")
    out.append("")
    return "\n".join(out)


def reduced(units: dict[str, set[str]]) -> dict[str, set[str]]:
    """The transitive reduction: an import ``u -> v`` is dropped when ``u`` reaches ``v``
    through other units anyway (the picture shows the layering, the table every import)."""

    def reach(u: str, skip: str) -> set[str]:
        seen, todo = set(), [w for w in units[u] if w != skip]
        while todo:
            w = todo.pop()
            if w not in seen:
                seen.add(w)
                todo.extend(units[w])
        return seen

    return {u: {v for v in vs if v not in reach(u, v)} for u, vs in units.items()}


def _order(by_layer: dict[int, list[str]], edges: dict[str, set[str]]) -> dict[str, float]:
    """x positions: each layer sorted by the mean position of its neighbours (a few barycentre
    sweeps down and up), so that few arrows cross."""
    width = max(len(v) for v in by_layer.values())
    x = {}
    for us in by_layer.values():
        for k, u in enumerate(us):
            x[u] = (k + 0.5) * width / len(us)
    nbrs: dict[str, set[str]] = defaultdict(set)
    for u, vs in edges.items():
        for v in vs:
            nbrs[u].add(v)
            nbrs[v].add(u)
    for sweep in range(6):
        layers_ = sorted(by_layer, reverse=sweep % 2 == 0)
        for d in layers_:
            us = sorted(by_layer[d], key=lambda u: (sum(x[w] for w in nbrs[u]) / len(nbrs[u]) if nbrs[u] else x[u], u))
            for k, u in enumerate(us):
                x[u] = (k + 0.5) * width / len(us)
            by_layer[d] = us
    return x


def draw(graph, path: Path) -> None:
    """The unit graph as a PNG: layers from the top (imports most) to the bottom (imports
    nothing), arrows of the transitive reduction only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    units = unit_graph(graph)
    edges = reduced(units)
    depth = layers(units)
    top = max(depth.values())
    by_layer: dict[int, list[str]] = defaultdict(list)
    for u, d in sorted(depth.items()):
        by_layer[d].append(u)
    width = max(len(v) for v in by_layer.values())
    x = _order(by_layer, edges)
    pos = {u: (x[u], depth[u]) for u in units}
    fig, ax = plt.subplots(figsize=(2.0 * width + 1.5, 1.15 * (top + 1) + 1.2))
    for u, deps in sorted(edges.items()):
        for v in sorted(deps):
            (x0, y0), (x1, y1) = pos[u], pos[v]
            ax.add_patch(FancyArrowPatch((x0, y0 - 0.17), (x1, y1 + 0.17), arrowstyle="-|>", mutation_scale=10, lw=0.8, color="0.45"))
    for u, (xu, yu) in pos.items():
        kernel_side = u in ("_kernels", "lowering", "simulate", "reference")
        ax.text(xu, yu, u, ha="center", va="center", fontsize=10, bbox=dict(boxstyle="round,pad=0.35", fc="#fde9c9" if kernel_side else "#dbe8f6", ec="0.3", lw=0.8))
    for d in range(top + 1):
        ax.text(-0.2, d, f"layer {d}", ha="right", va="center", fontsize=8, color="0.4")
    ax.set_xlim(-1.0, width + 0.2)
    ax.set_ylim(-0.6, top + 0.6)
    ax.axis("off")
    ax.set_title(
        "oligosim: units and import directions (an arrow points to what a unit imports;\n"
        "imports implied by a longer path are left out, docs/architecture.md lists them all).\n"
        "Orange: the kernel side; only lowering, simulate and reference import _kernels.",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/architecture.md is out of date; write nothing")
    args = ap.parse_args(argv)
    graph, _ = module_graph()
    cycle = find_cycle(graph)
    if cycle:
        print("import cycle: " + " -> ".join(cycle), file=sys.stderr)
        return 1
    text = render_markdown(graph)
    if args.check:
        current = MARKDOWN.read_text(encoding="utf-8") if MARKDOWN.exists() else ""
        if current != text:
            print(f"{MARKDOWN.relative_to(ROOT)} is out of date: run python docs/make_architecture.py", file=sys.stderr)
            return 1
        return 0
    MARKDOWN.write_text(text, encoding="utf-8")
    draw(graph, PICTURE)
    print(f"wrote {MARKDOWN.relative_to(ROOT)} and {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
