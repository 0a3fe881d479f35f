"""Time within a course: overall treatment time and repair between same-day fractions.

Validated, vectorised faces of :func:`oligosim.radiobiology.core.overall_time_days` and
:func:`oligosim.radiobiology.core.repair_theta`, with the calendar and interval defaults
they and :func:`oligosim.radiobiology.bed` share.
"""

from __future__ import annotations

import numpy as np

# core (numba, about a second to import) is imported by the functions that call it, so that the
# command line's parsers can read the defaults below without it
from oligosim.radiobiology._arrays import count, elementwise, first_bad, positive

#: Default days with treatment per week (Monday to Friday).
TREATMENT_DAYS_PER_WEEK = 5

#: Default interval between fractions given on the same day, hours. RTOG and most
#: hyperfractionation protocols require at least 6 h between twice-daily fractions.
DEFAULT_INTERFRACTION_INTERVAL_H = 6.0


def overall_time_days(n_fractions, fractions_per_day=1, fractions_per_week=None):
    """Overall treatment time: days from the first to the last fraction.

    Treatment starts on the first treatment day of a week; each week has
    ``fractions_per_week / fractions_per_day`` consecutive treatment days, then a break
    (Monday to Friday by default). Twice-daily fractions count as one treatment day.

    Parameters
    ----------
    n_fractions : int or array_like of int
        Number of fractions, >= 1.
    fractions_per_day : int or array_like of int, default 1
        Fractions given on each treatment day (2 for BID).
    fractions_per_week : int, optional
        Fractions per week; must be a whole number of treatment days of ``fractions_per_day``
        fractions, at most 7 days. Default: 5 treatment days, i.e. ``5 * fractions_per_day``.

    Returns
    -------
    float or ndarray
        Elapsed days (0 for a single fraction), shape of the broadcast inputs.

    Examples
    --------
    >>> overall_time_days(20)          # 60 Gy / 20 fx: Monday of week 1 to Friday of week 4
    25.0
    >>> overall_time_days(30, 2)       # 1.5 Gy x 30 BID: 15 treatment days over 3 weeks
    18.0
    """
    n = count("n_fractions", n_fractions)
    fpd = count("fractions_per_day", fractions_per_day)
    if fractions_per_week is None:
        days_per_week = np.full(np.shape(fpd), float(TREATMENT_DAYS_PER_WEEK))
    else:
        fpw = count("fractions_per_week", fractions_per_week)
        days_per_week = fpw / fpd
        ok = (days_per_week == np.floor(days_per_week)) & (days_per_week >= 1) & (days_per_week <= 7)
        if not np.all(ok):
            raise ValueError(
                "fractions_per_week must be a whole number (1 to 7) of treatment days of "
                f"fractions_per_day fractions; got {first_bad(np.broadcast_to(fpw, ok.shape), ok):g} "
                "fractions per week"
            )
    from oligosim.radiobiology import core

    return elementwise(core.overall_time_days, n, fpd, days_per_week)


def repair_theta(interfraction_interval_h=DEFAULT_INTERFRACTION_INTERVAL_H, repair_half_time_h=None):
    """Fraction of sublethal damage still unrepaired after one inter-fraction interval.

    ``theta = exp(-ln2 * interval / T_half)`` (mono-exponential repair; Thames 1985).

    Parameters
    ----------
    interfraction_interval_h : float
        Hours between fractions given on the same day, > 0.
    repair_half_time_h : float or None
        Repair half-time, hours. ``None`` (default) means complete repair, theta = 0.

    Returns
    -------
    float
        theta in [0, 1).
    """
    if repair_half_time_h is None:
        return 0.0
    interval = float(positive("interfraction_interval_h", interfraction_interval_h, " h"))
    half = float(positive("repair_half_time_h", repair_half_time_h, " h"))
    from oligosim.radiobiology import core

    return core.repair_theta(interval, half)
