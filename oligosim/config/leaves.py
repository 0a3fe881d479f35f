"""Leaf helpers of the scenario schema: the common kinds of parameter and section checks.

A ``source`` starting with :data:`A` marks a value no publication fixes (an assumption, with
its reason); :data:`CAL` marks a value fitted by the calibration.
"""

from __future__ import annotations

from oligosim.config.nodes import Float, Section

A = "assumption: "
#: source of the values fitted by the calibration (docs/calibration/report.md has the fit)
CAL = "calibrated (oligosim calibrate, docs/calibration: fit to shared/calibration/targets.toml"
DAYS_PER_MONTH = 365.25 / 12.0  #: the model's month (docs/model.md 2)


def _prob(default, doc, source, **kw):
    return Float(default, lo=0.0, hi=1.0, doc=doc, source=source, **kw)


def _pos(default, unit, doc, source, **kw):
    return Float(default, lo=0.0, lo_open=True, unit=unit, doc=doc, source=source, **kw)


def _nonneg(default, unit, doc, source, **kw):
    return Float(default, lo=0.0, unit=unit, doc=doc, source=source, **kw)


def _organ_table(defaults: dict[str, float], make) -> Section:
    """A section with one key per metastatic organ (or every organ when given)."""
    return Section({name: make(value) for name, value in defaults.items()})


def _sums_to_one(keys, label):
    def check(data, path):
        total = sum(float(data[k]) for k in keys)
        if abs(total - 1.0) > 1e-6:
            return [f"{label} sum to {total:.6g}: must sum to 1"]
        return []

    return check


def _positive_sum(label):
    def check(data, path):
        if sum(float(v) for v in data.values()) <= 0:
            return [f"{label}: at least one weight must be > 0"]
        return []

    return check
