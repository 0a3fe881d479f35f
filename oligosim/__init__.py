"""oligosim: virtual patients with oligometastatic esophageal cancer under treatment strategies.

The package is layered (see ``docs/model.md``)::

    configs/*.toml -> config.load_scenario -> Scenario
        -> lowering.lower -> KernelInputs (arrays)
        -> _kernels.engine (numba event loop) -> results.Results (per-patient columns)
        -> analysis / plots / io (reports)
"""

__version__ = "0.1.0"

# numba does not invalidate a kernel's cache when a file it calls into changes: clear them first
from oligosim._numba_cache import clear_stale_caches as _clear_stale_caches

_clear_stale_caches()
