"""Drop numba's on-disk caches of oligosim's kernels when any kernel source file changes.

Numba keys the cache of a ``@njit(cache=True)`` function on the modification time and size of
the one file that defines it. Functions it calls from other files are compiled *into* it, yet a
change to those files does not invalidate it (a documented numba limitation: "Cache invalidation
fails to recognize changes in symbols defined in a different file"; numba issue #1833). After an
edit to ``_kernels/cohort.py``, ``engine.simulate_arms`` would silently run the old cohort code
against the new parameter layout. This module keeps one fingerprint of every source file the
kernels compile from and, when it differs from the one stored beside the caches, deletes those
caches before any kernel is loaded. A fresh install has no caches, so the guard only matters for
a checkout that is edited or updated in place.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: stored beside the caches of the package's top-level modules
STAMP_NAME = "numba-sources.sha256"


def kernel_sources(package: Path = _PACKAGE) -> list[Path]:
    """Source files compiled into numba kernels, in a fixed order.

    Every module with cached jitted functions (only those leave cache files), every module of ``_kernels/`` (the parameter
    layouts the kernels are compiled for) and ``codes.py``, whose module-level constants numba
    freezes into the compiled code. Modules that only call the kernels (``simulate.py``) are left
    out, so editing them costs no recompilation.
    """
    kernels = package / "_kernels"
    own = Path(__file__).resolve()  # this guard compiles nothing (its docstring names cache=True)
    files = [
        p for p in sorted(package.rglob("*.py")) if p != own and (p.parent == kernels or b"cache=True" in p.read_bytes())
    ]
    codes = package / "codes.py"
    if codes.exists() and codes not in files:
        files.append(codes)
    return files


def fingerprint(files: list[Path], package: Path = _PACKAGE) -> str:
    """SHA-256 over the relative paths and bytes of ``files`` (hex)."""
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(package)).encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _cache_dirs(files: list[Path]) -> list[Path]:
    """Every directory where numba may keep caches of ``files``.

    The in-tree ``__pycache__`` beside each file (numba's default), and the directory numba's own
    locators choose (a user-wide one when the tree is read-only, or ``NUMBA_CACHE_DIR``).
    """
    dirs = {p.parent / "__pycache__" for p in files}
    try:  # numba's locator list is internal: use it when present, fall back to the in-tree dirs
        from numba.core.caching import CacheImpl

        def probe():  # a stand-in function: locators need one only for its line number
            return None

        for p in files:
            for cls in CacheImpl._locator_classes:
                loc = cls.from_function(probe, str(p))
                if loc is not None:
                    dirs.add(Path(loc.get_cache_path()))
                    break
    except (ImportError, AttributeError, OSError, RuntimeError):
        pass
    return sorted(dirs)


def clear_stale_caches(package: Path = _PACKAGE) -> bool:
    """Delete the package's numba caches if the kernel sources changed since they were written.

    Returns
    -------
    bool
        True if caches were deleted (the sources changed, or no fingerprint was stored yet).
    """
    files = kernel_sources(package)
    digest = fingerprint(files, package)
    stamp = package / "__pycache__" / STAMP_NAME
    try:
        if stamp.read_text(encoding="ascii").strip() == digest:
            return False
    except OSError:
        pass
    tmp = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}.tmp")  # one per process: imports may race
    try:
        stamp.parent.mkdir(exist_ok=True)
        tmp.write_text(digest + "\n", encoding="ascii")
    except OSError:
        # a read-only install is not edited in place (an upgrade replaces every file, and numba's
        # per-file stamps catch that); without a stamp we would clear its caches at every import
        return False
    stems = {p.stem for p in files}
    for d in _cache_dirs(files):
        if not d.is_dir():
            continue
        for f in d.iterdir():
            # numba names its files <module>.<function>-<line>.py<ver>[.<n>].nbi/.nbc
            if f.suffix in (".nbi", ".nbc") and f.name.split(".", 1)[0] in stems:
                try:
                    f.unlink()
                except OSError:
                    pass  # another process removed it first
    try:
        tmp.replace(stamp)  # atomic: a concurrent reader sees the old stamp or the new one
    except OSError:
        tmp.unlink(missing_ok=True)
    return True
