"""RECIST 1.1 response at the first assessment, from the diameters the engines record.

The engines record, per patient (:mod:`oligosim._kernels.record`, model 7.6): the sum of the
target lesions' diameters at entry (``recist_base_cm``; up to five measurable lesions, two per
organ, the largest first), the same lesions' sum at the first scan (``recist_first_cm``, NaN when
the patient died or follow-up ended before it), whether that scan showed a new lesion
(``recist_new``) and whether it showed no lesion at all (``recist_clear``). The classification
is RECIST 1.1's (Eisenhauer et al., Eur J Cancer 2009;45:228-247) at a first assessment, where
the nadir is the baseline:

* PD: a new lesion, or a sum at least 20 % and at least 5 mm above the baseline;
* CR: no lesion visible (targets and non-targets);
* PR: a sum at least 30 % below the baseline;
* SD: otherwise;
* NE (not evaluable): no measurable disease at entry, or no assessment.

Unequivocal progression of non-target lesions alone is not modelled (a non-target lesion that
grows is not progression unless the sum or a new lesion says so), and lymph nodes are measured
like any lesion (a node below 10 mm still counts as visible).
"""

from __future__ import annotations

import numpy as np

from oligosim import codes

#: RECIST 1.1 thresholds: PR at a 30 % decrease, PD at a 20 % and 5 mm increase
PR_DECREASE = 0.30
PD_INCREASE = 0.20
PD_MIN_CM = 0.5


def classify(base_cm, first_cm, new, clear) -> np.ndarray:
    """RECIST 1.1 response codes (``codes.RESPONSE_*``) at the first assessment.

    Parameters
    ----------
    base_cm, first_cm : array_like of float, shape (n,)
        Sum of the target diameters (cm) at entry and at the first assessment (NaN: none).
    new, clear : array_like of bool, shape (n,)
        A new lesion; no visible lesion, at the first assessment.

    Returns
    -------
    ndarray of int8, shape (n,)
    """
    base = np.asarray(base_cm, dtype=np.float64)
    first = np.asarray(first_cm, dtype=np.float64)
    new = np.asarray(new, dtype=bool)
    clear = np.asarray(clear, dtype=bool)
    out = np.full(base.shape, codes.RESPONSE_SD, dtype=np.int8)
    # float32 storage: compare with a tolerance well below a micrometre
    eps = 1e-6
    out[first <= (1.0 - PR_DECREASE) * base + eps] = codes.RESPONSE_PR
    out[clear] = codes.RESPONSE_CR
    grew = (first - base >= PD_INCREASE * base - eps) & (first - base >= PD_MIN_CM - eps)
    out[new | grew] = codes.RESPONSE_PD
    out[~(base > 0) | np.isnan(first)] = codes.RESPONSE_NE
    return out


def first_response(columns) -> np.ndarray:
    """:func:`classify` on the per-patient columns of an arm (a dict or an ArmResult)."""
    return classify(columns["recist_base_cm"], columns["recist_first_cm"], columns["recist_new"], columns["recist_clear"])
