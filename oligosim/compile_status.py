"""Whether the simulation kernel is already compiled for this machine (so a run starts at once).

numba compiles ``engine.simulate_block`` on its first call and caches the machine code on disk
(``cache=True``); a fresh install, or a checkout whose kernel sources changed
(:mod:`oligosim._numba_cache`), compiles for one to five minutes before the first patient is
simulated. The command line and :func:`oligosim.run` say so beforehand instead of sitting silent.
The cache index is read through numba's caching classes, which are internal: if they change,
:func:`kernel_cached` answers None (unknown) and no message is printed.
"""

from __future__ import annotations


def kernel_cached() -> bool | None:
    """True if the kernel is compiled in this process or cached on disk for this CPU, False if a
    run will compile it, None if that cannot be told."""
    try:
        from numba.core.codegen import JITCPUCodegen  # noqa: F401  (the CPU target's codegen)

        from oligosim._kernels import engine

        dispatcher = engine.simulate_block
        if dispatcher.overloads:
            return True
        cache = dispatcher._cache
        index = cache._cache_file._load_index()  # {} when absent or stale (source stamp differs)
        if not index:
            return False
        magic = dispatcher.targetctx.codegen().magic_tuple()
        return any(key[1] == magic for key in index)
    except Exception:  # noqa: BLE001  numba internals moved: do not guess
        return None
