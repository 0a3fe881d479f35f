"""Experiments: sensitivity and uncertainty analyses, paired comparisons and virtual trials.

An experiment file (TOML, see :mod:`oligosim.experiments.spec`) names a scenario, the arms to
compare, an outcome and what to vary; ``oligosim experiment FILE`` runs it
(:func:`oligosim.experiments.runner.run_experiment`) on a local process pool or a Dask cluster
and writes results.json, CSV tables, PNG figures and a report.
"""

from oligosim.experiments.spec import KINDS, Experiment, load_experiment, loads_experiment

__all__ = ["KINDS", "Experiment", "load_experiment", "loads_experiment"]
