"""The experiment file's own node types: an uncertainty table and a metric name (validated like
the scenario's nodes of :mod:`oligosim.config`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oligosim.analysis.metrics import parse_metric
from oligosim.config import REQUIRED, Distribution, Node

__all__ = ["DistributionSpec", "MetricName"]


@dataclass(frozen=True)
class DistributionSpec(Node):
    """An uncertainty table ``{ dist = ..., ... }`` resolved to a :class:`Distribution`."""

    doc: str = ""

    def _missing(self, path, ctx):
        return None

    def _resolve(self, value, path, ctx):
        if not isinstance(value, dict) or "dist" not in value:
            ctx.bad(path, value, 'must be a table such as { dist = "lognormal", mean = 0.06, sd = 0.02 }')
            return None
        try:
            return Distribution.from_spec(value)
        except (ValueError, TypeError) as exc:
            ctx.bad(path, value, str(exc))
            return None


def _metric(value, path, ctx) -> None:
    try:
        parse_metric(value)
    except ValueError as exc:
        ctx.bad(path, value, str(exc))


@dataclass(frozen=True)
class MetricName(Node):
    """A metric name in the :mod:`oligosim.analysis.metrics` grammar."""

    default: Any = REQUIRED
    doc: str = ""

    def _resolve(self, value, path, ctx):
        if not isinstance(value, str):
            ctx.bad(path, value, "must be a metric name (a string), e.g. \"os.median\"")
            return None
        _metric(value, path, ctx)
        return value
