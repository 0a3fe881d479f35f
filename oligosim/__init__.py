"""oligosim: virtual patients with oligometastatic esophageal cancer under treatment strategies.

The package is layered (see ``docs/model.md``)::

    configs/*.toml -> config.load_scenario -> Scenario
        -> lowering.lower -> KernelInputs (arrays)
        -> _kernels.engine (numba event loop) -> per-patient result columns
        -> outcomes / plotting / reports
"""

__version__ = "0.1.0"
