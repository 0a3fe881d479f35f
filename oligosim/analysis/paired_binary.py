"""Paired difference of a binary outcome between two arms on the same virtual patients.

Binary outcomes (grade >= 3 toxicity per type, "any" of the types, treatment death) -- closed
form, no bootstrap. With ``p10`` / ``p01`` the shares of patients with the outcome in arm a but
not b / in b but not a, the difference ``p_b - p_a = p01 - p10`` has paired variance
``(p10 + p01 - (p01 - p10)**2) / n`` (and independent-arms variance
``(p_a (1 - p_a) + p_b (1 - p_b)) / n``). The 95 % CI is Newcombe's square-and-add interval
for paired proportions (Newcombe 1998, Stat Med 17:2635, method 10; Fagerland, Lydersen & Laake
2017, section 8.5): the two marginal Wilson intervals combined with the phi correlation of the
2x2 table, phi's numerator ``ad - bc`` reduced by ``n/2`` towards 0 when positive (0 when it is
between 0 and n/2) -- not the Wald interval ``diff -/+ 1.96 se_paired``, which is too narrow for
rare events.
"""

from __future__ import annotations

import math

import numpy as np

from oligosim.analysis.paired_bootstrap import variance_ratio
from oligosim.analysis.proportions import proportion_ci

__all__ = ["paired_binary_difference"]


def paired_binary_difference(x_a, x_b, *, independent: bool = True) -> dict:
    """Rate difference ``mean(x_b) - mean(x_a)`` of paired binary outcomes, closed form.

    Parameters
    ----------
    x_a, x_b : array_like of bool, shape (n,)
        Outcome of patient ``i`` under strategy a and under strategy b.
    independent : bool, optional
        Also report the SE of two independent arms of ``n`` patients and the variance ratio.

    Returns
    -------
    dict
        ``a``, ``b`` (rates), ``diff`` (b - a), ``ci_lo``, ``ci_hi`` (Newcombe square-and-add
        95 % interval for paired proportions), ``se_paired``
        (``sqrt((p10 + p01 - (p01 - p10)**2) / n)``), ``se_independent``
        (``sqrt((p_a (1 - p_a) + p_b (1 - p_b)) / n)``), ``variance_ratio``
        (``se_independent**2 / se_paired**2``; None when ``se_paired == 0``), ``ci_method`` and
        the 2x2 counts ``n11`` (both), ``n10`` (a only), ``n01`` (b only), ``n00`` (neither).
    """
    xa = np.asarray(x_a, dtype=bool)
    xb = np.asarray(x_b, dtype=bool)
    if xa.shape != xb.shape or xa.ndim != 1 or xa.size == 0:
        raise ValueError(f"x_a and x_b must be 1-D of the same non-zero length, got {xa.shape} and {xb.shape}")
    n = xa.size
    n11 = int(np.count_nonzero(xa & xb))
    n10 = int(np.count_nonzero(xa & ~xb))
    n01 = int(np.count_nonzero(~xa & xb))
    n00 = n - n11 - n10 - n01
    pa = (n11 + n10) / n
    pb = (n11 + n01) / n
    p10, p01 = n10 / n, n01 / n
    diff = p01 - p10
    var_p = max(p10 + p01 - diff * diff, 0.0) / n
    lo, hi = _newcombe_paired(n11, n01, n10, n00)  # "first" proportion = b
    entry = {
        "a": pa,
        "b": pb,
        "diff": diff,
        "ci_lo": lo,
        "ci_hi": hi,
        "se_paired": math.sqrt(var_p),
        "se_independent": None,
        "variance_ratio": None,
        "ci_method": "Newcombe square-and-add (paired, Wilson-based, phi-corrected)",
        "n11": n11,
        "n10": n10,
        "n01": n01,
        "n00": n00,
    }
    if independent:
        entry["se_independent"] = math.sqrt((pa * (1.0 - pa) + pb * (1.0 - pb)) / n)
        entry["variance_ratio"] = variance_ratio(entry["se_independent"], entry["se_paired"])
    return entry


def _newcombe_paired(both: int, first_only: int, second_only: int, neither: int):
    """Newcombe's (1998, method 10) square-and-add 95 % CI for ``p_first - p_second``."""
    n = both + first_only + second_only + neither
    x1 = both + first_only  # "yes" under the first condition
    x2 = both + second_only
    p1, p2 = x1 / n, x2 / n
    l1, u1 = proportion_ci(x1, n)
    l2, u2 = proportion_ci(x2, n)
    margins = float(x1) * (n - x1) * float(x2) * (n - x2)
    if margins == 0:
        phi = 0.0
    else:
        # phi of the 2x2 table (rows: first yes/no, columns: second yes/no)
        num = float(both) * neither - float(first_only) * second_only
        if num > n / 2:
            num -= n / 2
        elif num >= 0:
            num = 0.0
        phi = num / math.sqrt(margins)
    d = p1 - p2
    dl = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    du = math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    return max(-1.0, d - dl), min(1.0, d + du)
