"""The public radiobiology functions: validated, vectorised, each applying one core formula.

Every function accepts scalars or numpy arrays (broadcast together), validates its inputs once
and raises ``ValueError`` naming the argument, the offending value and the rule; it returns a
``float`` for scalar input and an ``ndarray`` of the broadcast shape otherwise. The arithmetic is
that of :mod:`oligosim.radiobiology.core`, applied element by element, so the library and the
simulation kernel share one copy of every formula.

Units are in the names: Gy, fractions, days, hours (repair), cm3, months (recovery).
"""

from __future__ import annotations

import numpy as np

from oligosim.radiobiology import core
from oligosim.radiobiology._arrays import (
    as_array,
    count,
    elementwise,
    fraction,
    non_negative,
    out,
    positive,
)
from oligosim.radiobiology.params import (
    DEFAULT_REIRRADIATION_PARAMS,
    DEFAULT_TCP_PARAMS,
    ORGAN_NTCP,
    TCPParams,
)
from oligosim.radiobiology.timing import (
    DEFAULT_INTERFRACTION_INTERVAL_H,
    TREATMENT_DAYS_PER_WEEK,
    repair_theta,
)


# --------------------------------------------------------------------------- BED / EQD2
def _bed_args(
    dose_per_fraction_gy,
    n_fractions,
    alpha_beta_gy,
    fractions_per_day,
    interfraction_interval_h,
    repair_half_time_h,
    overall_time_days_,
    kickoff_days,
    repopulation_gy_per_day,
):
    # the validated arguments of core.bed_extended / core.eqd2_extended, in their order
    d = positive("dose_per_fraction_gy", dose_per_fraction_gy, " Gy")
    n = count("n_fractions", n_fractions)
    ab = positive("alpha_beta_gy", alpha_beta_gy, " Gy")
    fpd = count("fractions_per_day", fractions_per_day)
    theta = repair_theta(interfraction_interval_h, repair_half_time_h)
    kick = non_negative("kickoff_days", kickoff_days, " days")
    dprolif = non_negative("repopulation_gy_per_day", repopulation_gy_per_day, " Gy/day")
    if overall_time_days_ is None:
        t = elementwise(core.overall_time_days, n, fpd, float(TREATMENT_DAYS_PER_WEEK))
    else:
        t = non_negative("overall_time_days", overall_time_days_, " days")
    return d, n, ab, fpd, theta, t, kick, dprolif


def bed(
    dose_per_fraction_gy,
    n_fractions,
    alpha_beta_gy,
    *,
    fractions_per_day=1,
    interfraction_interval_h=DEFAULT_INTERFRACTION_INTERVAL_H,
    repair_half_time_h=None,
    overall_time_days=None,
    kickoff_days=28.0,
    repopulation_gy_per_day=0.0,
):
    """Biologically effective dose of a fractionated course (linear-quadratic model).

    .. math::

        BED = n d \\left(1 + \\frac{g\\,d}{\\alpha/\\beta}\\right)
              - \\max(0, T - T_k)\\, D_{prolif}

    With complete repair between fractions (the default) ``g = 1``. With ``k`` fractions a day
    ``interval`` hours apart and mono-exponential repair of half-time ``T_half``,
    ``theta = exp(-ln2 interval / T_half)`` and each full day adds
    ``S(k) = 2 sum_{l=1}^{k-1} (k-l) theta^l`` to the ``n`` quadratic terms (Thames HD,
    Int J Radiat Oncol Biol Phys 1985;11:1815: the incomplete-repair h-factor,
    ``S(k) = k h_k``; for BID ``h_2 = theta``). A last day with fewer fractions is counted as
    such. Repair half-times are uncertain (roughly 0.5-2 h for tumours and mucosa, longer for
    spinal cord); no default is assumed, so incomplete repair is off unless
    ``repair_half_time_h`` is given. Without incomplete repair and repopulation the result is
    :func:`oligosim.radiobiology.core.bed` exactly, the formula the simulation uses.

    Parameters
    ----------
    dose_per_fraction_gy : float or array_like
        Physical dose per fraction ``d``, Gy, > 0.
    n_fractions : int or array_like of int
        Number of fractions ``n``, integer >= 1.
    alpha_beta_gy : float or array_like
        alpha/beta ratio, Gy, > 0 (10 for tumour, about 3 for late effects).
    fractions_per_day : int or array_like of int, keyword-only, default 1
        2 for twice-daily (BID) schedules; matters only with incomplete repair or repopulation.
    interfraction_interval_h : float, keyword-only, default 6
        Hours between same-day fractions (at least 6 h in most BID protocols).
    repair_half_time_h : float or None, keyword-only, default None
        Sublethal-damage repair half-time, hours; ``None`` = complete repair (assumption:
        the clinical convention, and the value is uncertain).
    overall_time_days : float or array_like, keyword-only, optional
        Days from first to last fraction ``T``; default computed by :func:`overall_time_days`
        with 5 treatment days a week.
    kickoff_days : float, keyword-only, default 28
        Onset of accelerated repopulation ``T_k``, days (Withers HR et al., Acta Oncol
        1988;27:131, head-and-neck squamous carcinoma; assumed for esophageal SCC).
    repopulation_gy_per_day : float, keyword-only, default 0
        ``D_prolif``, BED lost per day after ``T_k``. Off by default (assumption: the
        calibration targets give no handle on it); about 0.6 Gy/day EQD2 (~0.7 Gy BED10) is
        the Withers 1988 estimate for head-and-neck SCC.

    Returns
    -------
    float or ndarray
        BED in Gy (of the given alpha/beta), shape of the broadcast inputs.

    Raises
    ------
    ValueError
        If an input breaks its rule; the message names the argument and the value.

    Examples
    --------
    >>> bed(3.0, 20, 10.0)
    78.0
    >>> bed(10.0, 5, 10.0)
    100.0
    """
    args = _bed_args(
        dose_per_fraction_gy,
        n_fractions,
        alpha_beta_gy,
        fractions_per_day,
        interfraction_interval_h,
        repair_half_time_h,
        overall_time_days,
        kickoff_days,
        repopulation_gy_per_day,
    )
    return elementwise(core.bed_extended, *args)


def eqd2(
    dose_per_fraction_gy,
    n_fractions,
    alpha_beta_gy,
    *,
    fractions_per_day=1,
    interfraction_interval_h=DEFAULT_INTERFRACTION_INTERVAL_H,
    repair_half_time_h=None,
    overall_time_days=None,
    kickoff_days=28.0,
    repopulation_gy_per_day=0.0,
):
    """Equivalent dose in 2-Gy fractions, ``EQD2 = BED / (1 + 2 / (alpha/beta))``, Gy.

    Parameters and returns as :func:`bed`. Without incomplete repair and repopulation the result
    is :func:`oligosim.radiobiology.core.eqd2` exactly, the formula the simulation uses.

    Examples
    --------
    >>> eqd2(3.0, 20, 3.0)
    72.0
    >>> round(eqd2(8.0, 5, 3.0), 9)
    88.0
    """
    args = _bed_args(
        dose_per_fraction_gy,
        n_fractions,
        alpha_beta_gy,
        fractions_per_day,
        interfraction_interval_h,
        repair_half_time_h,
        overall_time_days,
        kickoff_days,
        repopulation_gy_per_day,
    )
    return elementwise(core.eqd2_extended, *args)


def eqd2_from_bed(bed_gy, alpha_beta_gy):
    """Convert BED to EQD2: ``BED / (1 + 2 / (alpha/beta))``.

    Parameters
    ----------
    bed_gy : float or array_like
        BED, Gy.
    alpha_beta_gy : float or array_like
        alpha/beta, Gy, > 0.

    Returns
    -------
    float or ndarray
        EQD2, Gy, broadcast shape.
    """
    b = as_array("bed_gy", bed_gy)
    ab = positive("alpha_beta_gy", alpha_beta_gy, " Gy")
    return elementwise(core.eqd2_from_bed, b, ab)


# --------------------------------------------------------------------------- local control
def tcp(bed10_gy, volume_cm3, *, params: TCPParams = DEFAULT_TCP_PARAMS):
    """Probability of permanent local control of a lesion (see :class:`TCPParams`).

    Parameters
    ----------
    bed10_gy : float or array_like
        BED with alpha/beta = 10 Gy, Gy, >= 0 (0 gives TCP 0).
    volume_cm3 : float or array_like
        Lesion (gross tumour) volume, cm3, > 0.
    params : TCPParams, keyword-only
        Model parameters; default :data:`DEFAULT_TCP_PARAMS`.

    Returns
    -------
    float or ndarray
        TCP in [0, 1], shape of the broadcast inputs.

    Examples
    --------
    >>> round(tcp(100.0, 40.0), 3)    # the model's calibrated defaults
    0.973
    >>> round(tcp(100.0, 40.0, params=TCPParams(73.88, 1.814, 40.0, 0.3963)), 3)  # closed form
    0.9
    """
    b = non_negative("bed10_gy", bed10_gy, " Gy")
    v = positive("volume_cm3", volume_cm3, " cm3")
    p = TCPParams(*params)
    positive("params.bed50_ref_gy", p.bed50_ref_gy, " Gy")
    positive("params.gamma50", p.gamma50)
    positive("params.volume_ref_cm3", p.volume_ref_cm3, " cm3")
    non_negative("params.volume_exponent", p.volume_exponent)
    return elementwise(core.tcp, b, v, p.bed50_ref_gy, p.gamma50, p.volume_ref_cm3, p.volume_exponent)


# --------------------------------------------------------------------------- NTCP
def ntcp_lkb(eud_gy, td50_gy, m):
    """Normal-tissue complication probability, Lyman-Kutcher-Burman (probit) model.

    .. math:: NTCP = \\Phi\\left(\\frac{EUD - TD_{50}}{m\\,TD_{50}}\\right)

    Parameters
    ----------
    eud_gy : float or array_like
        Equivalent uniform dose (or the mean/maximum dose the organ's parameters call for),
        as EQD2, Gy, >= 0.
    td50_gy : float or array_like
        Dose of 50% risk, Gy, > 0.
    m : float or array_like
        Slope parameter, > 0.

    Returns
    -------
    float or ndarray
        NTCP in [0, 1], broadcast shape. Equals 0.5 at ``eud_gy == td50_gy``.
    """
    e = non_negative("eud_gy", eud_gy, " Gy")
    td50 = positive("td50_gy", td50_gy, " Gy")
    mm = positive("m", m)
    return elementwise(core.ntcp_lkb, e, td50, mm)


def ntcp_organ(eqd2_gy, organ: str):
    """NTCP for an endpoint of :data:`ORGAN_NTCP` given its dose metric as EQD2 (Gy)."""
    try:
        p = ORGAN_NTCP[organ]
    except KeyError:
        raise ValueError(
            f"organ must be one of {', '.join(sorted(ORGAN_NTCP))}; got {organ!r}"
        ) from None
    return ntcp_lkb(eqd2_gy, p.td50_gy, p.m)


def geud_gy(dose_gy, volume_fraction, n_volume):
    """Generalised equivalent uniform dose of a differential dose-volume histogram.

    ``gEUD = (sum_i v_i D_i**(1/n))**n`` with ``v`` normalised to sum 1 along the last axis.

    Parameters
    ----------
    dose_gy : array_like, shape (..., n_bins)
        Dose of each bin (EQD2 for NTCP use), Gy, >= 0.
    volume_fraction : array_like, shape (..., n_bins)
        Relative volume of each bin, >= 0, not all zero.
    n_volume : float
        Volume parameter, > 0 (1 gives the mean dose).

    Returns
    -------
    float or ndarray, shape (...)
    """
    dose = non_negative("dose_gy", dose_gy, " Gy")
    vol = non_negative("volume_fraction", volume_fraction)
    n = float(positive("n_volume", n_volume))
    total = vol.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("volume_fraction must not be all zero")
    return out(np.sum(vol / total * dose ** (1.0 / n), axis=-1) ** n)


def organ_eqd2(
    dose_per_fraction_gy, n_fractions, fraction_of_prescription, alpha_beta_gy=3.0, **bed_kwargs
):
    """EQD2 to an organ point that receives ``fraction_of_prescription`` of every fraction.

    Parameters
    ----------
    dose_per_fraction_gy : float or array_like
        Prescribed dose per fraction, Gy.
    n_fractions : int or array_like of int
        Number of fractions.
    fraction_of_prescription : float or array_like
        Share of the prescription the organ point gets, in (0, 1] (a 0 share gives EQD2 0).
    alpha_beta_gy : float or array_like, default 3
        The organ endpoint's alpha/beta (3 Gy for late effects; see :data:`ORGAN_NTCP`).
    **bed_kwargs
        Passed to :func:`eqd2`.

    Returns
    -------
    float or ndarray
        EQD2, Gy.
    """
    f = fraction("fraction_of_prescription", fraction_of_prescription)
    d = positive("dose_per_fraction_gy", dose_per_fraction_gy, " Gy")
    # a zero share is legal and gives zero; keep eqd2's dose > 0 rule by substituting 1.
    organ_d = np.where(f > 0, f * d, 1.0)
    return out(np.where(f > 0, eqd2(organ_d, n_fractions, alpha_beta_gy, **bed_kwargs), 0.0))


# --------------------------------------------------------------------------- re-irradiation
def _reirr_params(max_recovery_fraction, recovery_half_time_months):
    rmax = fraction("max_recovery_fraction", max_recovery_fraction)
    thalf = positive("recovery_half_time_months", recovery_half_time_months, " months")
    return rmax, thalf


def recovered_fraction(
    months_since_prior,
    *,
    max_recovery_fraction=DEFAULT_REIRRADIATION_PARAMS.max_recovery_fraction,
    recovery_half_time_months=DEFAULT_REIRRADIATION_PARAMS.recovery_half_time_months,
):
    """Share of an earlier course's EQD2 recovered after ``months_since_prior`` months.

    Parameters
    ----------
    months_since_prior : float or array_like
        Months between the end of the earlier course and the new one, >= 0.
    max_recovery_fraction, recovery_half_time_months : float, keyword-only
        See :class:`ReirradiationParams`.

    Returns
    -------
    float or ndarray
        R(t) in [0, max_recovery_fraction], non-decreasing in time.
    """
    t = non_negative("months_since_prior", months_since_prior, " months")
    rmax, thalf = _reirr_params(max_recovery_fraction, recovery_half_time_months)
    return elementwise(core.recovered_fraction, t, rmax, thalf)


def cumulative_eqd2(
    prior_eqd2_gy,
    months_since_prior,
    new_eqd2_gy,
    *,
    max_recovery_fraction=DEFAULT_REIRRADIATION_PARAMS.max_recovery_fraction,
    recovery_half_time_months=DEFAULT_REIRRADIATION_PARAMS.recovery_half_time_months,
):
    """Effective cumulative EQD2 of a re-irradiation: ``prior * (1 - R(t)) + new``.

    Parameters
    ----------
    prior_eqd2_gy : float or array_like
        EQD2 of the earlier course to the organ, Gy, >= 0.
    months_since_prior : float or array_like
        Months since the earlier course, >= 0.
    new_eqd2_gy : float or array_like
        EQD2 of the new course to the organ, Gy, >= 0.
    max_recovery_fraction, recovery_half_time_months : float, keyword-only
        See :class:`ReirradiationParams`.

    Returns
    -------
    float or ndarray
        Effective cumulative EQD2, Gy, broadcast shape.
    """
    prior = non_negative("prior_eqd2_gy", prior_eqd2_gy, " Gy")
    t = non_negative("months_since_prior", months_since_prior, " months")
    new = non_negative("new_eqd2_gy", new_eqd2_gy, " Gy")
    rmax, thalf = _reirr_params(max_recovery_fraction, recovery_half_time_months)
    return elementwise(core.cumulative_eqd2, prior, t, new, rmax, thalf)


def max_new_eqd2(
    prior_eqd2_gy,
    months_since_prior,
    limit_eqd2_gy,
    *,
    max_recovery_fraction=DEFAULT_REIRRADIATION_PARAMS.max_recovery_fraction,
    recovery_half_time_months=DEFAULT_REIRRADIATION_PARAMS.recovery_half_time_months,
):
    """EQD2 still allowed for a new course under a cumulative limit: ``max(0, limit - prior (1 - R(t)))``.

    Parameters
    ----------
    prior_eqd2_gy : float or array_like
        EQD2 of the earlier course to the organ, Gy, >= 0.
    months_since_prior : float or array_like
        Months since the earlier course, >= 0.
    limit_eqd2_gy : float or array_like
        Cumulative EQD2 limit for the organ, Gy, > 0 (e.g. spinal cord: Nieder 2006 found low
        risk up to a cumulative BED2 of 135.5 Gy, i.e. EQD2 67.75 Gy, counted without recovery).
    max_recovery_fraction, recovery_half_time_months : float, keyword-only
        See :class:`ReirradiationParams`.

    Returns
    -------
    float or ndarray
        Allowed new EQD2, Gy, >= 0, broadcast shape.
    """
    prior = non_negative("prior_eqd2_gy", prior_eqd2_gy, " Gy")
    t = non_negative("months_since_prior", months_since_prior, " months")
    limit = positive("limit_eqd2_gy", limit_eqd2_gy, " Gy")
    rmax, thalf = _reirr_params(max_recovery_fraction, recovery_half_time_months)
    return elementwise(core.max_new_eqd2, prior, t, limit, rmax, thalf)
