"""Leaf helpers of the scenario schema: the common kinds of parameter and section checks.

A ``source`` starting with :data:`A` marks a value no publication fixes (an assumption, with
its reason); :data:`CAL` marks a value fitted by the calibration.
"""

from __future__ import annotations

from oligosim.config.nodes import Float, Section

A = "assumption: "
#: source of the values fitted by the calibration (docs/calibration/report.md has the fit)
CAL = "calibrated (oligosim calibrate, docs/calibration: fit to shared/calibration/targets.toml"
#: source of the values of the v2 fit adopted on 2026-12-08 (the patient-factors restart at 10,000
#: patients per arm, docs/calibration/v2/factors; 60 of the 70 targets at 20,000 per arm)
CAL2 = "calibrated, v2 fit (oligosim calibrate, docs/calibration/v2/factors: fit to the 70 targets of shared/calibration/targets.toml"
DAYS_PER_MONTH = 365.25 / 12.0  #: the model's month (docs/model.md 2)


#: upper bound, by unit, of a positive parameter that names no bound of its own: beyond any
#: physical value (a 1 m lesion, a 100-liter tumour, 100 years, 1000 Gy, a hazard of 1000 a
#: month), so that no valid value overflows the model's arithmetic (exp, powers, sums of
#: weights) or stalls the simulation; the schema-wide fuzz (tests/test_fuzz_schema.py) checks it
UNIT_MAX = {
    "": 1e6,
    "cm": 100.0,
    "cm3": 1e5,
    "months": 1200.0,
    "days": 36525.0,
    "h": 1000.0,
    "years": 150.0,
    "Gy": 1000.0,
    "nodes": 100.0,
    "lesions": 1000.0,
    "1/month": 1000.0,
    "1/year": 1000.0,
    "1/(cm3 month)": 1000.0,
    "1/Gy": 10.0,
    "log": 100.0,
    "fraction": 1e6,
}


def _ceiling(unit: str, kw: dict) -> dict:
    if "hi" not in kw:
        kw["hi"] = UNIT_MAX[unit]
        kw["ceiling"] = True  # a lognormal or gamma distribution stays acceptable
    return kw


def _prob(default, doc, source, **kw):
    return Float(default, lo=0.0, hi=1.0, doc=doc, source=source, **kw)


def _pos(default, unit, doc, source, **kw):
    return Float(default, lo=0.0, lo_open=True, unit=unit, doc=doc, source=source, **_ceiling(unit, kw))


def _nonneg(default, unit, doc, source, **kw):
    return Float(default, lo=0.0, unit=unit, doc=doc, source=source, **_ceiling(unit, kw))


#: upper bound of every sd of a log (a lognormal spread): 5 already spans a factor e^20 (about
#: 5e8) between the 2.5th and 97.5th percentiles, and wider spreads overflow exp() in the draws
SDLOG_MAX = 5.0


def _sdlog(default, doc, source, hi=None, why=None, **kw):
    """The sd of a log-normal's log, in [0, hi] (``hi`` SDLOG_MAX unless given, with ``why``)."""
    hi = SDLOG_MAX if hi is None else hi
    why = why or "wider spreads overflow exp() in the draws"
    return Float(default, lo=0.0, hi=hi, unit="log", doc=doc + f" (at most {hi:g}: {why})", source=source, **kw)


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
