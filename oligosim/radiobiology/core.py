"""The radiobiology formulas: one compiled scalar function per quantity, the only copy of each.

Every formula of the package is written here once, as a ``numba.njit(cache=True)`` function of
scalars: the simulation kernel calls these per lesion, and the validated, vectorised functions
of :mod:`oligosim.radiobiology.api` apply them element by element. The functions trust their
inputs (the kernel's were validated when the scenario was lowered; the public API validates its
own), take every argument positionally and return a ``float``.

The floating-point expressions are part of the contract: the kernel's results are reproduced
bit for bit only while each expression keeps its exact order of operations (for instance
:func:`bed` is ``n * d * (1 + d / ab)``, not ``n * d + n * d * d / ab``). Change one only as a
deliberate change of simulation results.

Units: Gy, fractions, days (overall time), hours (repair), cm3 (volume), months (recovery).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: ln 2, for half-times
_LN2 = math.log(2.0)


# --------------------------------------------------------------------------- linear-quadratic dose


@njit(cache=True)
def bed(dose_per_fraction, n_fractions, alpha_beta):
    """Biologically effective dose of ``n_fractions`` fractions with complete repair, Gy.

    ``BED = n d (1 + d / (alpha/beta))``: no incomplete repair, no repopulation (what the
    simulation kernel uses).

    Parameters
    ----------
    dose_per_fraction : float
        Physical dose per fraction ``d``, Gy, > 0.
    n_fractions : float
        Number of fractions ``n``, >= 1.
    alpha_beta : float
        alpha/beta ratio, Gy, > 0.

    Returns
    -------
    float
        BED, Gy.
    """
    return n_fractions * dose_per_fraction * (1.0 + dose_per_fraction / alpha_beta)


@njit(cache=True)
def eqd2(dose_per_fraction, n_fractions, alpha_beta):
    """Equivalent dose in 2-Gy fractions of ``n_fractions`` fractions, complete repair, Gy.

    ``EQD2 = n d (d + alpha/beta) / (2 + alpha/beta)``, i.e. ``BED / (1 + 2 / (alpha/beta))``
    written with one division (the kernel's form).

    Parameters
    ----------
    dose_per_fraction : float
        Physical dose per fraction ``d``, Gy, > 0.
    n_fractions : float
        Number of fractions ``n``, >= 1.
    alpha_beta : float
        alpha/beta ratio, Gy, > 0.

    Returns
    -------
    float
        EQD2, Gy.
    """
    return n_fractions * dose_per_fraction * (dose_per_fraction + alpha_beta) / (2.0 + alpha_beta)


@njit(cache=True)
def eqd2_from_bed(bed_gy, alpha_beta):
    """Convert a BED to EQD2: ``BED / (1 + 2 / (alpha/beta))``, Gy.

    Parameters
    ----------
    bed_gy : float
        BED, Gy.
    alpha_beta : float
        alpha/beta the BED was computed with, Gy, > 0.

    Returns
    -------
    float
        EQD2, Gy.
    """
    return bed_gy / (1.0 + 2.0 / alpha_beta)


# --------------------------------------------------------------------------- time and repair


@njit(cache=True)
def overall_time_days(n_fractions, fractions_per_day, treatment_days_per_week):
    """Days from the first to the last fraction of a course.

    Treatment starts on the first treatment day of a week and every week has
    ``treatment_days_per_week`` consecutive treatment days, then a break.

    Parameters
    ----------
    n_fractions : float
        Number of fractions, >= 1.
    fractions_per_day : float
        Fractions per treatment day, >= 1.
    treatment_days_per_week : float
        Treatment days per week, 1 to 7.

    Returns
    -------
    float
        Elapsed days (0 for a single fraction).
    """
    # Treatment day j (0-based) falls on calendar day 7*(j // w) + j % w when every week starts
    # with w consecutive treatment days; the overall time is the calendar day of the last one.
    n_days = -((-n_fractions) // fractions_per_day)  # ceil
    last = n_days - 1.0
    weeks = last // treatment_days_per_week
    return 7.0 * weeks + (last - weeks * treatment_days_per_week)


@njit(cache=True)
def repair_theta(interfraction_interval_h, repair_half_time_h):
    """Fraction of sublethal damage still unrepaired after one inter-fraction interval.

    ``theta = exp(-ln2 * interval / T_half)`` (mono-exponential repair; Thames 1985).

    Parameters
    ----------
    interfraction_interval_h : float
        Hours between same-day fractions, > 0.
    repair_half_time_h : float
        Repair half-time, hours; <= 0 means complete repair.

    Returns
    -------
    float
        theta in [0, 1); 0 is complete repair.
    """
    if repair_half_time_h <= 0.0:
        return 0.0
    return math.exp(-_LN2 * interfraction_interval_h / repair_half_time_h)


@njit(cache=True)
def _repair_sum(k, theta):
    """``S(k) = 2 sum_{l=1}^{k-1} (k - l) theta^l`` summed term by term (k fractions on a day)."""
    s = 0.0
    for l in range(1, int(k)):
        s += 2.0 * (k - l) * theta**l
    return s


@njit(cache=True)
def repair_excess_fractions(n_fractions, fractions_per_day, theta):
    """Extra fraction-equivalents of the quadratic term due to incomplete repair (Thames 1985).

    ``k`` equally spaced fractions on one day add ``S(k) = 2 sum_{l=1}^{k-1} (k - l) theta^l``
    to the ``k`` quadratic terms of that day; a last day with fewer fractions counts as such.

    Parameters
    ----------
    n_fractions : float
        Number of fractions, >= 1.
    fractions_per_day : float
        Fractions per treatment day, >= 1.
    theta : float
        Unrepaired share after one interval (:func:`repair_theta`), in [0, 1).

    Returns
    -------
    float
        ``sum over days of S(k_day)``, fraction-equivalents, >= 0 (exactly 0 for theta = 0).
    """
    # closed form of S(k) = 2 theta / (1 - theta) * (k - (1 - theta**k) / (1 - theta));
    # S(0) = S(1) = 0, and theta = 0 gives exactly 0 (c = 0).
    q = 1.0 - theta
    if q < 1e-6:
        # an interval negligible against the repair half-time: theta rounds to 1 (q = 0 divides
        # by zero) or the closed form cancels; the sum itself has at most 2 terms a day
        full_days = n_fractions // fractions_per_day
        rest = n_fractions - full_days * fractions_per_day
        return full_days * _repair_sum(fractions_per_day, theta) + _repair_sum(rest, theta)
    c = 2.0 * theta / q
    full_days = n_fractions // fractions_per_day
    rest = n_fractions - full_days * fractions_per_day
    s_full = c * (fractions_per_day - (1.0 - theta**fractions_per_day) / q)
    s_rest = c * (rest - (1.0 - theta**rest) / q)
    return full_days * s_full + s_rest


@njit(cache=True)
def repopulation_bed(overall_time, kickoff, repopulation_per_day):
    """BED lost to accelerated repopulation: ``max(0, T - T_k) * D_prolif``, Gy.

    Parameters
    ----------
    overall_time : float
        Days from the first to the last fraction ``T``, >= 0.
    kickoff : float
        Onset of accelerated repopulation ``T_k``, days, >= 0.
    repopulation_per_day : float
        ``D_prolif``, BED lost per day after ``T_k``, Gy/day, >= 0.

    Returns
    -------
    float
        Lost BED, Gy, >= 0 (exactly 0 when ``repopulation_per_day`` is 0).
    """
    return max(0.0, overall_time - kickoff) * repopulation_per_day


@njit(cache=True)
def _bed_correction(
    dose_per_fraction,
    n_fractions,
    alpha_beta,
    fractions_per_day,
    theta,
    overall_time,
    kickoff,
    repopulation_per_day,
):
    # what incomplete repair adds to the complete-repair BED and repopulation takes away, Gy;
    # exactly 0.0 without either, so the extended forms then equal bed / eqd2 bit for bit.
    d = dose_per_fraction
    extra = repair_excess_fractions(n_fractions, fractions_per_day, theta)
    lost = repopulation_bed(overall_time, kickoff, repopulation_per_day)
    return d * d * extra / alpha_beta - lost


@njit(cache=True)
def bed_extended(
    dose_per_fraction,
    n_fractions,
    alpha_beta,
    fractions_per_day,
    theta,
    overall_time,
    kickoff,
    repopulation_per_day,
):
    """BED with incomplete repair between same-day fractions and repopulation, Gy.

    ``BED = n d (1 + d / (alpha/beta)) + d^2 S / (alpha/beta) - max(0, T - T_k) D_prolif``
    with ``S`` from :func:`repair_excess_fractions`. Equals :func:`bed` exactly when
    ``theta = 0`` and ``repopulation_per_day = 0``.

    Parameters
    ----------
    dose_per_fraction : float
        Physical dose per fraction, Gy, > 0.
    n_fractions : float
        Number of fractions, >= 1.
    alpha_beta : float
        alpha/beta ratio, Gy, > 0.
    fractions_per_day : float
        Fractions per treatment day, >= 1.
    theta : float
        Unrepaired share after one interval (:func:`repair_theta`); 0 = complete repair.
    overall_time : float
        Days from the first to the last fraction (:func:`overall_time_days`), >= 0.
    kickoff : float
        Onset of accelerated repopulation, days, >= 0.
    repopulation_per_day : float
        BED lost per day after the kick-off, Gy/day, >= 0 (0 = no repopulation).

    Returns
    -------
    float
        BED, Gy.
    """
    correction = _bed_correction(
        dose_per_fraction,
        n_fractions,
        alpha_beta,
        fractions_per_day,
        theta,
        overall_time,
        kickoff,
        repopulation_per_day,
    )
    return bed(dose_per_fraction, n_fractions, alpha_beta) + correction


@njit(cache=True)
def eqd2_extended(
    dose_per_fraction,
    n_fractions,
    alpha_beta,
    fractions_per_day,
    theta,
    overall_time,
    kickoff,
    repopulation_per_day,
):
    """EQD2 with incomplete repair and repopulation, Gy: ``bed_extended / (1 + 2 / (alpha/beta))``.

    Computed as :func:`eqd2` plus the converted correction, so that it equals :func:`eqd2`
    exactly without repair or repopulation terms. Parameters as :func:`bed_extended`.

    Returns
    -------
    float
        EQD2, Gy.
    """
    correction = _bed_correction(
        dose_per_fraction,
        n_fractions,
        alpha_beta,
        fractions_per_day,
        theta,
        overall_time,
        kickoff,
        repopulation_per_day,
    )
    return eqd2(dose_per_fraction, n_fractions, alpha_beta) + eqd2_from_bed(correction, alpha_beta)


# --------------------------------------------------------------------------- control, complications


@njit(cache=True)
def tcp(bed10, volume, bed50, gamma50, volume_ref, volume_exponent):
    """Tumour control probability: log-logistic in BED10, BED50 a power of volume.

    ``BED50(V) = bed50 (V / volume_ref)^volume_exponent``,
    ``TCP = x / (1 + x)`` with ``x = (bed10 / BED50(V))^(4 gamma50)``.

    Parameters
    ----------
    bed10 : float
        BED with alpha/beta = 10 Gy, Gy, >= 0.
    volume : float
        Lesion volume, cm3, > 0.
    bed50 : float
        BED10 controlling half of the lesions of ``volume_ref``, Gy, > 0.
    gamma50 : float
        Normalised slope at TCP = 50%, > 0.
    volume_ref : float
        Reference volume of ``bed50``, cm3, > 0.
    volume_exponent : float
        Power of volume in BED50, >= 0.

    Returns
    -------
    float
        TCP in [0, 1].
    """
    bed50_v = bed50 * (volume / volume_ref) ** volume_exponent
    x = (bed10 / bed50_v) ** (4.0 * gamma50)
    return x / (1.0 + x)


@njit(cache=True)
def ntcp_lkb(eud, td50, m):
    """Normal-tissue complication probability, Lyman-Kutcher-Burman probit model.

    ``NTCP = Phi((eud - td50) / (m td50))``, evaluated as ``erfc(-t / sqrt 2) / 2``.

    Parameters
    ----------
    eud : float
        Equivalent uniform dose (or the organ's mean or maximum dose) as EQD2, Gy, >= 0.
    td50 : float
        Dose of 50% risk, Gy, > 0.
    m : float
        Slope parameter (standard deviation of the probit / td50), > 0.

    Returns
    -------
    float
        NTCP in [0, 1].
    """
    t = (eud - td50) / (m * td50)
    return 0.5 * math.erfc(-t / math.sqrt(2.0))


@njit(cache=True)
def odds_scaled(p, odds_ratio):
    """A probability with its odds multiplied by ``odds_ratio``.

    How a risk factor given as an odds ratio (concurrent chemotherapy, re-irradiation,
    immunotherapy) modifies an NTCP: ``o = p / (1 - p) * OR``, returned as ``o / (1 + o)``;
    0 and 1 stay as they are, and an odds ratio of 1 returns ``p`` unchanged.

    Parameters
    ----------
    p : float
        Probability in [0, 1].
    odds_ratio : float
        Odds ratio, > 0.

    Returns
    -------
    float
        The scaled probability in [0, 1].
    """
    if p <= 0.0 or odds_ratio == 1.0:
        return p
    if p >= 1.0:
        return 1.0
    o = p / (1.0 - p) * odds_ratio
    return o / (1.0 + o)


# --------------------------------------------------------------------------- re-irradiation


@njit(cache=True)
def recovered_fraction(months, recovery_max, recovery_half_time):
    """Share of an earlier course's EQD2 recovered after ``months``.

    ``R(t) = recovery_max (1 - 2^(-t / recovery_half_time))``.

    Parameters
    ----------
    months : float
        Months since the earlier course, >= 0.
    recovery_max : float
        Long-term recovered share, in [0, 1].
    recovery_half_time : float
        Months to reach half of it, > 0.

    Returns
    -------
    float
        R(t) in [0, recovery_max].
    """
    return recovery_max * (1.0 - np.exp(-_LN2 * months / recovery_half_time))


@njit(cache=True)
def cumulative_eqd2(prior, months, new, recovery_max, recovery_half_time):
    """Effective cumulative EQD2 of a re-irradiation, ``prior (1 - R(t)) + new``, Gy.

    Parameters
    ----------
    prior : float
        EQD2 of the earlier course(s), Gy, >= 0.
    months : float
        Months since the earlier course, >= 0.
    new : float
        EQD2 of the new course, Gy, >= 0.
    recovery_max, recovery_half_time : float
        As :func:`recovered_fraction` (share; months).

    Returns
    -------
    float
        Effective cumulative EQD2, Gy.
    """
    r = recovered_fraction(months, recovery_max, recovery_half_time)
    return prior * (1.0 - r) + new


@njit(cache=True)
def max_new_eqd2(prior, months, limit, recovery_max, recovery_half_time):
    """EQD2 a new course may still give under a cumulative limit, Gy.

    ``max(0, limit - prior (1 - R(t)))``.

    Parameters
    ----------
    prior : float
        EQD2 of the earlier course(s), Gy, >= 0.
    months : float
        Months since the earlier course, >= 0.
    limit : float
        Cumulative EQD2 limit, Gy, > 0.
    recovery_max, recovery_half_time : float
        As :func:`recovered_fraction` (share; months).

    Returns
    -------
    float
        Allowed new EQD2, Gy, >= 0.
    """
    r = recovered_fraction(months, recovery_max, recovery_half_time)
    return max(0.0, limit - prior * (1.0 - r))
