"""The package's layering, checked from the source with ``ast`` (nothing is imported).

* Only the driver (``simulate``), the SimPy reference engine and ``lowering`` reach into the
  private numba kernel ``oligosim._kernels``; analysis, plots, outputs and commands read
  ``oligosim.results`` and ``oligosim.codes``, so the kernel can change without touching them.
* Module-level imports among ``oligosim`` modules form no cycle, and neither do the top-level
  units (subpackages and top-level modules) they fold into.
* No module is longer than :data:`MAX_LINES` unless the allow-list says why, and no kernel
  function is longer than :data:`MAX_KERNEL_FUNCTION`.
* ``docs/architecture.md``, the picture of the house, is current.

The import graph is read by ``docs/make_architecture.py``, the script that draws the picture,
so the rules and the picture see the same graph.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNELS = "oligosim._kernels"
MAX_LINES = 600
MAX_KERNEL_FUNCTION = 80

#: modules allowed to import the kernel (besides the kernel itself); a name ending in "." is a
#: package prefix. ``_numba_cache`` only lists the kernel's files, it imports none of them.
KERNEL_IMPORTERS = ("oligosim.simulate", "oligosim.lowering", "oligosim.reference", "oligosim.reference.", "oligosim._kernels.")

#: modules allowed over MAX_LINES, with the reason
LONG_MODULES = {
    "oligosim.config.nodes": "the validator's node types, one concept; a few lines over the limit",
}

_spec = importlib.util.spec_from_file_location("make_architecture", ROOT / "docs" / "make_architecture.py")
arch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arch)

FILES = {arch.module_name(p): p for p in sorted(arch.PACKAGE.rglob("*.py"))}


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_only_the_driver_reference_and_lowering_import_the_kernel():
    modules = set(FILES)
    offenders = []
    for module, path in FILES.items():
        if module in KERNEL_IMPORTERS or module.startswith(tuple(p for p in KERNEL_IMPORTERS if p.endswith("."))):
            continue
        bad = sorted(m for m in arch.module_imports(path, modules, load_time=False) if _in_package(m, KERNELS))
        if bad:
            offenders.append(f"{module} imports {', '.join(bad)}")
    assert not offenders, "only simulate, reference and lowering may import the kernel; read oligosim.results and oligosim.codes instead:\n" + "\n".join(offenders)


def test_the_cycle_finder_finds_a_cycle():
    assert arch.find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert arch.find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_modules_or_units():
    graph, _ = arch.module_graph()
    assert arch.find_cycle(graph) is None, "module-level import cycle: " + " -> ".join(arch.find_cycle(graph))
    units = arch.unit_graph(graph)
    assert arch.find_cycle(units) is None, "import cycle between units: " + " -> ".join(arch.find_cycle(units))


def test_no_module_is_too_long():
    _, lines = arch.module_graph()
    long = {m: n for m, n in lines.items() if n > MAX_LINES and m not in LONG_MODULES}
    assert not long, f"modules over {MAX_LINES} lines (split them or add a reason to LONG_MODULES): {long}"
    stale = set(LONG_MODULES) - set(lines)
    assert not stale, f"LONG_MODULES names modules that no longer exist: {stale}"


def test_no_kernel_function_is_too_long():
    long = {}
    for module, path in FILES.items():
        if not _in_package(module, KERNELS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > MAX_KERNEL_FUNCTION:
                long[f"{module}.{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long, f"kernel functions over {MAX_KERNEL_FUNCTION} lines (split into handlers or helpers): {long}"


def test_architecture_picture_is_current():
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "make_architecture.py"), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
