"""The guard that clears numba's kernel caches when a source file they compile from changes."""

from pathlib import Path

from oligosim import _numba_cache

PACKAGE = Path(_numba_cache.__file__).resolve().parent


def _package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "kernel.py").write_text("from numba import njit\n\n\n@njit(cache=True)\ndef f():\n    return 1\n")
    (pkg / "codes.py").write_text("ESCC = 0\n")
    (pkg / "plain.py").write_text("import numba\n")
    return pkg


def _caches(pkg, *names):
    for name in names:
        (pkg / "__pycache__" / name).write_bytes(b"x")


def _left(pkg):
    return sorted(f.name for f in (pkg / "__pycache__").iterdir() if f.suffix in (".nbi", ".nbc"))


def test_sources_are_the_numba_modules_and_the_constants(tmp_path):
    pkg = _package(tmp_path)
    assert [p.name for p in _numba_cache.kernel_sources(pkg)] == ["kernel.py", "codes.py"]
    real = {p.relative_to(PACKAGE).as_posix() for p in _numba_cache.kernel_sources(PACKAGE)}
    assert {"_kernels/cohort.py", "_kernels/engine.py", "_kernels/rng.py", "_kernels/inputs.py", "codes.py"} <= real
    assert {"definitions.py", "radiobiology/core.py", "analysis/paired_bootstrap.py"} <= real
    assert "simulate.py" not in real and "_numba_cache.py" not in real


def test_caches_go_when_a_kernel_source_changes_and_stay_otherwise(tmp_path):
    pkg = _package(tmp_path)
    # the first import after install has no stamp: clear whatever is there
    _caches(pkg, "kernel.f-1.py311.nbi", "kernel.f-1.py311.1.nbc", "unrelated.g-3.py311.nbi")
    assert _numba_cache.clear_stale_caches(pkg)
    assert _left(pkg) == ["unrelated.g-3.py311.nbi"]  # only the package's own modules' caches
    # unchanged sources: the caches numba writes next are kept
    _caches(pkg, "kernel.f-1.py311.nbi", "codes.h-2.py311.nbc")
    assert not _numba_cache.clear_stale_caches(pkg)
    assert _left(pkg) == ["codes.h-2.py311.nbc", "kernel.f-1.py311.nbi", "unrelated.g-3.py311.nbi"]
    # a file that defines no kernel does not count
    (pkg / "plain.py").write_text("import numba  # calls kernels, compiles none\n")
    assert not _numba_cache.clear_stale_caches(pkg)
    # a change to the constants numba froze into the kernels does
    (pkg / "codes.py").write_text("ESCC = 1\n")
    assert _numba_cache.clear_stale_caches(pkg)
    assert _left(pkg) == ["unrelated.g-3.py311.nbi"]
    assert not _numba_cache.clear_stale_caches(pkg)


def test_a_read_only_package_is_left_alone(tmp_path, monkeypatch):
    pkg = _package(tmp_path)
    _caches(pkg, "kernel.f-1.py311.nbi")

    def read_only(self, *args, **kwargs):
        raise PermissionError(13, "Read-only file system", str(self))

    # (chmod would not stop root, so the write itself is made to fail)
    monkeypatch.setattr(Path, "write_text", read_only)
    # no stamp can be stored, so clearing would repeat at every import: keep the caches
    assert not _numba_cache.clear_stale_caches(pkg)
    assert _left(pkg) == ["kernel.f-1.py311.nbi"]
