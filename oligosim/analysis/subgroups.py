"""Patient subgroups of an arm by a baseline covariate, for hazard ratios within an arm.

A subgroup is written as one condition on a covariate recorded at entry (the per-patient
columns of :data:`oligosim.results.SUBGROUP_COLUMNS`)::

    dfi>=12              disease-free interval (months; 0 for synchronous disease)
    lesions>1            metastases counted at entry as statement 1 counts them (visible_lesions_entry)
    organs>=2            distant organs (codes.METASTATIC_ORGANS) with a seen lesion at entry
    age>=70 | kps<80     age (years), Karnofsky performance status
    site=liver           a seen lesion in the organ at entry (codes.ORGAN_NAMES)
    histology=eac | presentation=metachronous | pdl1=high

Numeric covariates take ``<``, ``<=``, ``>``, ``>=`` or ``=`` and a number; named ones ``=``
and a name. The metric ``os.hr:dfi>=12`` (:mod:`oligosim.analysis.metrics`) is the Cox hazard
ratio of the patients meeting the condition against the rest of the arm.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from oligosim import codes

#: numeric covariates: name -> (column, unit)
NUMERIC = {
    "dfi": ("dfi", "months"),
    "lesions": ("n_visible_entry", "lesions"),
    "organs": ("organs_entry", "organs"),
    "age": ("age", "years"),
    "kps": ("kps", "points"),
}
#: named covariates: name -> (column, the names of its codes)
NAMED = {
    "site": ("organs_entry", codes.ORGAN_NAMES),
    "histology": ("histology", codes.HISTOLOGY_NAMES),
    "presentation": ("presentation", codes.PRESENTATION_NAMES),
    "pdl1": ("pdl1_high", ("low", "high")),
}
_CONDITION = re.compile(r"^([a-z_0-9]+)\s*(<=|>=|<|>|=)\s*([^<>=\s][^<>=]*)$")
RULE = (
    "a subgroup is one condition: dfi, lesions, organs, age or kps with <, <=, >, >= or = and a number "
    "(e.g. dfi>=12, lesions>1), or site=ORGAN, histology=escc|eac, presentation=NAME, pdl1=high|low"
)
_METASTATIC_BITS = sum(1 << o for o in codes.METASTATIC_ORGANS)


@dataclass(frozen=True)
class Condition:
    """A parsed subgroup condition: ``variable op value`` (``value`` a float or a name)."""

    variable: str
    op: str
    value: float | str

    def __str__(self) -> str:
        v = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.variable}{self.op}{v}"


def parse_condition(text: str, metric: str) -> Condition:
    """Parse a subgroup condition of metric ``metric`` (named in the errors).

    Raises
    ------
    ValueError
        Naming the metric, the condition and :data:`RULE`.
    """
    m = _CONDITION.match(text.strip())
    if not m:
        raise ValueError(f"metric {metric!r}: subgroup {text!r} is not understood; {RULE}")
    var, op, value = m.group(1), m.group(2), m.group(3).strip()
    if var in NUMERIC:
        try:
            x = float(value)
        except ValueError:
            raise ValueError(f"metric {metric!r}: subgroup {text!r}: {var} needs a number, got {value!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"metric {metric!r}: subgroup {text!r}: {var} needs a finite number, got {value!r}")
        return Condition(var, op, x)
    if var in NAMED:
        names = NAMED[var][1]
        if op != "=":
            raise ValueError(f"metric {metric!r}: subgroup {text!r}: {var} takes = and one of {', '.join(names)}")
        if value not in names:
            raise ValueError(f"metric {metric!r}: subgroup {text!r}: {var} {value!r} is not one of {', '.join(names)}")
        return Condition(var, op, value)
    raise ValueError(f"metric {metric!r}: subgroup variable {var!r} is not one of {', '.join(list(NUMERIC) + list(NAMED))}; {RULE}")


def _popcount(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.int64)
    return sum((m >> k) & 1 for k in range(codes.N_ORGANS))


def member(columns, cond: Condition) -> np.ndarray:
    """Boolean mask, shape (n,), of the patients meeting ``cond``.

    ``columns`` maps column names to per-patient arrays (a dict or an
    :class:`~oligosim.results.ArmResult`).
    """
    if cond.variable in NUMERIC:
        x = np.asarray(columns[NUMERIC[cond.variable][0]])
        if cond.variable == "organs":
            x = _popcount(x & _METASTATIC_BITS)
        x = x.astype(np.float64)
        v = cond.value
        return {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v, "=": x == v}[cond.op]
    column, names = NAMED[cond.variable]
    code = names.index(cond.value)
    x = np.asarray(columns[column])
    if cond.variable == "site":
        return (x.astype(np.int64) >> code) & 1 == 1
    return x.astype(np.int64) == code
