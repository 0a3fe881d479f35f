"""The package's layering, checked from the source with ``ast`` (nothing is imported).

* Only the driver (``simulate``), the SimPy reference engine and ``lowering`` reach into the
  private numba kernel ``oligosim._kernels``; analysis, plots, outputs and commands read
  ``oligosim.results`` and ``oligosim.codes``, so the kernel can change without touching them.
* Module-level imports among ``oligosim`` modules form no cycle.
* No module is longer than :data:`MAX_LINES` unless the allow-list says why.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "oligosim"
KERNELS = "oligosim._kernels"
MAX_LINES = 600

#: modules allowed to import the kernel (besides the kernel itself); a name ending in "." is a
#: package prefix. ``_numba_cache`` only lists the kernel's files, it imports none of them.
KERNEL_IMPORTERS = ("oligosim.simulate", "oligosim.lowering", "oligosim.reference", "oligosim.reference.", "oligosim._kernels.")

#: modules allowed over MAX_LINES, with the reason
LONG_MODULES = {
    # being split by the parallel restructurings of the same issue; delete after merging them
    "oligosim.config": "split into the oligosim/config/ package in another branch",
    "oligosim.reference": "split into the oligosim/reference/ package in another branch",
    "oligosim.radiobiology": "split into the oligosim/radiobiology/ package in another branch",
    "oligosim._kernels.engine": "split into kernel modules in another branch",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name of a ``from ... import`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imported(module: str, path: Path, nodes) -> set[str]:
    """Names of the modules that the import statements among ``nodes`` import.

    ``from a.b import c`` imports ``a.b.c`` when that is a module of the package, else ``a.b``.
    """
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, path, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in MODULES else base)
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _module_level(body):
    """The import statements run when the module is imported (``if TYPE_CHECKING:`` blocks excluded)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level(block)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_only_the_driver_reference_and_lowering_import_the_kernel():
    offenders = []
    for module, path in MODULES.items():
        if module in KERNEL_IMPORTERS or module.startswith(tuple(p for p in KERNEL_IMPORTERS if p.endswith("."))):
            continue
        imported = _imported(module, path, (n for n in ast.walk(_tree(path)) if isinstance(n, (ast.Import, ast.ImportFrom))))
        bad = sorted(name for name in imported if _in_package(name, KERNELS))
        if bad:
            offenders.append(f"{module} imports {', '.join(bad)}")
    assert not offenders, "only simulate, reference and lowering may import the kernel; read oligosim.results and oligosim.codes instead:\n" + "\n".join(offenders)


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        imported = _imported(module, path, _module_level(_tree(path).body))
        graph[module] = {name for name in imported if name in MODULES and name != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_among_module_level_imports():
    cycles = _cycles(_graph())
    assert not cycles, "module-level import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_module_is_too_long():
    long = {}
    for module, path in MODULES.items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and module not in LONG_MODULES:
            long[module] = n
    assert not long, f"modules over {MAX_LINES} lines (split them or add a reason to LONG_MODULES): {long}"
