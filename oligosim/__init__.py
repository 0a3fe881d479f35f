"""oligosim: virtual patients with oligometastatic esophageal cancer under treatment strategies.

The public API (``docs/api.md``)::

    import oligosim
    sc = oligosim.load("default")                     # a file, or a shipped scenario by name
    res = oligosim.run(sc.with_values({"simulation.patients": 2000}))
    res.summary(); res.patients(); res.events(); res.km("os"); res.compare("a", "b", "os.median")
    oligosim.run_experiment("compare", "out/compare", quick=True)
    oligosim.list_shipped()

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

#: the public names, loaded on first use (pandas and numba are not imported by ``import oligosim``)
_API = ("Result", "list_shipped", "load", "run", "run_experiment")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from oligosim import api

        return getattr(api, name)
    raise AttributeError(f"module 'oligosim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
