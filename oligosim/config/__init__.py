"""Strict, schema-driven TOML configuration for oligosim scenarios.

A scenario is written by a clinician in TOML, merged with the files it ``extends``, checked
against the scenario schema (every error at once, one line each naming file, key, value and
rule) and frozen in a :class:`Scenario`. The package has one concept per module; each imports
only the ones before it, at module level, so there is no import cycle::

    values, keys      TOML values in messages; dotted key paths
      <- uncertainty  Distribution: uncertainty tables of parameters
      <- nodes        the validator framework (Float, Section, Table ...), ConfigError, validate
      <- files        TOML files, ``extends`` merging, provenance
      <- leaves       the common kinds of parameter (probability, positive ...) and checks
      <- locoregional the [locoregional] section (the primary, its bed, regional nodes)
      <- schema       the scenario's keys (data built from the nodes)
      <- scenario     Scenario, load_scenario, loads_scenario, with_values

Distributions sit below the nodes because a :class:`Float` may be given as a distribution. The
other input formats (experiments, calibration, targets) build their own schemas on
:mod:`oligosim.config.nodes`. This module only re-exports the public names.
"""

from oligosim.config.files import read_toml_file
from oligosim.config.keys import split_path
from oligosim.config.nodes import (
    REQUIRED,
    Bool,
    Choice,
    ConfigError,
    Float,
    Int,
    ListOf,
    Maybe,
    Node,
    Ref,
    Section,
    Str,
    Table,
    Validated,
    validate,
)
from oligosim.config.scenario import Scenario, default_schema, load_scenario, loads_scenario
from oligosim.config.uncertainty import Distribution
from oligosim.config.values import format_value

__all__ = [
    "REQUIRED",
    "Bool",
    "Choice",
    "ConfigError",
    "Distribution",
    "Float",
    "Int",
    "ListOf",
    "Maybe",
    "Node",
    "Ref",
    "Scenario",
    "Section",
    "Str",
    "Table",
    "Validated",
    "default_schema",
    "format_value",
    "load_scenario",
    "loads_scenario",
    "read_toml_file",
    "split_path",
    "validate",
]
