"""oligosim: virtual patients with oligometastatic esophageal cancer under treatment strategies.

The package is layered (see ``docs/architecture.md`` and ``docs/model.md``)::

    configs/*.toml -> config.load_scenario -> Scenario
        -> lowering.lower_model / lower_regimens / lower_arm -> ModelParams, Regimens, ArmParams
        -> _kernels.engine (numba event loop; handlers per event) -> per-patient result columns
        -> results -> analysis / plots / io / experiments / calibration
"""

__version__ = "0.1.0"

# numba does not invalidate a kernel's cache when a file it calls into changes: clear them first
from oligosim._numba_cache import clear_stale_caches as _clear_stale_caches

_clear_stale_caches()
