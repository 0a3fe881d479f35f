"""Radiobiology: BED, EQD2, local control (TCP), NTCP and re-irradiation with recovery.

Everything here is pure arithmetic. Each quantity has two faces:

* a **public, vectorised function** (``bed``, ``eqd2``, ``tcp``, ``ntcp_lkb``, ...) that accepts
  scalars or numpy arrays (broadcast together), validates its inputs once and raises
  ``ValueError`` naming the argument, the offending value and the rule; it returns a ``float``
  for scalar input and an ``ndarray`` of the broadcast shape otherwise;
* a **numba twin** (``bed_nb``, ``eqd2_nb``, ``tcp_nb``, ...) compiled with
  ``numba.njit(cache=True)`` from the *same* core function, for the simulation kernel to call
  once per lesion. Twins take scalars, every parameter positionally, and trust their inputs
  (the kernel's inputs were validated when the scenario was lowered).

Units are in the names: Gy, fractions, days, hours (repair), cm3, months (recovery).

Models and default parameters (each default names its source, or says it is an assumption):

* Linear-quadratic BED, ``BED = n d (1 + g d / (alpha/beta)) - max(0, T - Tk) Dprolif``, where
  ``g = 1`` with complete repair between fractions (the clinical convention and the default) and
  ``g > 1`` with incomplete repair between fractions given the same day (Thames 1985 h-factor,
  see :func:`bed`). EQD2 = BED / (1 + 2 / (alpha/beta)). Repopulation is off by default
  (``Dprolif = 0``); ``Tk = 28 days`` is the onset Withers et al. (Acta Oncol 1988;27:131)
  estimated for head-and-neck squamous carcinoma.
* Local control: a log-logistic TCP in BED10 whose BED50 grows as a power of lesion volume,
  fitted to Moreno 2020 and Cao 2023 (see :class:`TCPParams` for equations and the fit).
* NTCP: Lyman-Kutcher-Burman probit, organ parameters in :data:`ORGAN_NTCP`.
* Re-irradiation: the earlier course's EQD2 counts for ``1 - R(t)`` of itself, with recovered
  fraction ``R(t) = R_max (1 - 2**(-t / t_half))``, ``R_max = 0.5``, ``t_half = 6 months``
  (see :class:`ReirradiationParams`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.special import ndtr

__all__ = [
    "bed",
    "eqd2",
    "eqd2_from_bed",
    "overall_time_days",
    "repair_theta",
    "Schedule",
    "parse_schedule",
    "SCHEDULE_FORMS",
    "TCPParams",
    "DEFAULT_TCP_PARAMS",
    "tcp",
    "OrganNTCP",
    "ORGAN_NTCP",
    "ntcp_lkb",
    "ntcp_organ",
    "geud_gy",
    "organ_eqd2",
    "ReirradiationParams",
    "DEFAULT_REIRRADIATION_PARAMS",
    "recovered_fraction",
    "cumulative_eqd2",
    "max_new_eqd2",
    "bed_nb",
    "eqd2_nb",
    "eqd2_from_bed_nb",
    "overall_time_days_nb",
    "repair_theta_nb",
    "tcp_nb",
    "ntcp_lkb_nb",
    "recovered_fraction_nb",
    "cumulative_eqd2_nb",
    "max_new_eqd2_nb",
]

_LN2 = math.log(2.0)

#: Default days with treatment per week (Monday to Friday).
TREATMENT_DAYS_PER_WEEK = 5

#: Default interval between fractions given on the same day, hours. RTOG and most
#: hyperfractionation protocols require at least 6 h between twice-daily fractions.
DEFAULT_INTERFRACTION_INTERVAL_H = 6.0


# --------------------------------------------------------------------------- validation helpers
def _as_array(name: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers; got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].flat[0]
        raise ValueError(f"{name} must be finite; got {bad!r}")
    return arr


def _first_bad(arr: np.ndarray, ok: np.ndarray) -> float:
    return float(np.asarray(arr)[~ok].flat[0])


def _positive(name: str, value, unit: str = "") -> np.ndarray:
    arr = _as_array(name, value)
    ok = arr > 0
    if not np.all(ok):
        raise ValueError(f"{name} must be > 0{unit}; got {_first_bad(arr, ok):g}")
    return arr


def _non_negative(name: str, value, unit: str = "") -> np.ndarray:
    arr = _as_array(name, value)
    ok = arr >= 0
    if not np.all(ok):
        raise ValueError(f"{name} must be >= 0{unit}; got {_first_bad(arr, ok):g}")
    return arr


def _count(name: str, value) -> np.ndarray:
    """An integer count >= 1 (fractions, fractions per day), returned as float array."""
    arr = _as_array(name, value)
    ok = (arr >= 1) & (arr == np.floor(arr))
    if not np.all(ok):
        raise ValueError(f"{name} must be an integer >= 1; got {_first_bad(arr, ok):g}")
    return arr


def _fraction(name: str, value) -> np.ndarray:
    arr = _as_array(name, value)
    ok = (arr >= 0) & (arr <= 1)
    if not np.all(ok):
        raise ValueError(f"{name} must be between 0 and 1; got {_first_bad(arr, ok):g}")
    return arr


def _out(x):
    """A float for 0-d results, the array otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


# --------------------------------------------------------------------------- cores
# The cores below use only arithmetic and numpy ufuncs that numba also compiles for scalars,
# so one definition serves the vectorised wrappers (called with arrays) and the njit twins.


def _overall_time_core(n_fractions, fractions_per_day, treatment_days_per_week):
    # Treatment day j (0-based) falls on calendar day 7*(j // w) + j % w when every week starts
    # with w consecutive treatment days; the overall time is the calendar day of the last one.
    n_days = -((-n_fractions) // fractions_per_day)  # ceil
    last = n_days - 1.0
    weeks = last // treatment_days_per_week
    return 7.0 * weeks + (last - weeks * treatment_days_per_week)


def _bed_core(
    dose_per_fraction_gy,
    n_fractions,
    alpha_beta_gy,
    fractions_per_day,
    repair_theta,
    overall_time_days,
    kickoff_days,
    repopulation_gy_per_day,
):
    # Incomplete repair between k equally spaced fractions on one day adds
    # S(k) = 2 * sum_{l=1}^{k-1} (k - l) theta^l "extra" fraction-equivalents to the quadratic
    # term (Thames 1985); closed form below. S(0) = S(1) = 0 and theta = 0 means full repair.
    q = 1.0 - repair_theta
    c = 2.0 * repair_theta / q
    full_days = n_fractions // fractions_per_day
    rest = n_fractions - full_days * fractions_per_day
    s_full = c * (fractions_per_day - (1.0 - repair_theta**fractions_per_day) / q)
    s_rest = c * (rest - (1.0 - repair_theta**rest) / q)
    quadratic_fractions = n_fractions + full_days * s_full + s_rest
    d = dose_per_fraction_gy
    return (
        n_fractions * d
        + d * d * quadratic_fractions / alpha_beta_gy
        - np.maximum(0.0, overall_time_days - kickoff_days) * repopulation_gy_per_day
    )


def _eqd2_from_bed_core(bed_gy, alpha_beta_gy):
    return bed_gy / (1.0 + 2.0 / alpha_beta_gy)


def _eqd2_core(
    dose_per_fraction_gy,
    n_fractions,
    alpha_beta_gy,
    fractions_per_day,
    repair_theta,
    overall_time_days,
    kickoff_days,
    repopulation_gy_per_day,
):
    b = _bed_core(
        dose_per_fraction_gy,
        n_fractions,
        alpha_beta_gy,
        fractions_per_day,
        repair_theta,
        overall_time_days,
        kickoff_days,
        repopulation_gy_per_day,
    )
    return b / (1.0 + 2.0 / alpha_beta_gy)


def _repair_theta_core(interfraction_interval_h, repair_half_time_h):
    if repair_half_time_h <= 0.0:
        return 0.0
    return math.exp(-_LN2 * interfraction_interval_h / repair_half_time_h)


def _tcp_core(bed10_gy, volume_cm3, bed50_ref_gy, gamma50, volume_ref_cm3, volume_exponent):
    bed50 = bed50_ref_gy * (volume_cm3 / volume_ref_cm3) ** volume_exponent
    x = (bed10_gy / bed50) ** (4.0 * gamma50)
    return x / (1.0 + x)


def _ntcp_lkb_core_nb(eud_gy, td50_gy, m):
    t = (eud_gy - td50_gy) / (m * td50_gy)
    return 0.5 * math.erfc(-t / math.sqrt(2.0))


def _recovered_fraction_core(months_since_prior, max_recovery_fraction, recovery_half_time_months):
    return max_recovery_fraction * (
        1.0 - np.exp(-_LN2 * months_since_prior / recovery_half_time_months)
    )


def _cumulative_eqd2_core(
    prior_eqd2_gy, months_since_prior, new_eqd2_gy, max_recovery_fraction, recovery_half_time_months
):
    # R(t) inlined (as in _recovered_fraction_core) so that numba can compile this core alone
    r = max_recovery_fraction * (1.0 - np.exp(-_LN2 * months_since_prior / recovery_half_time_months))
    return prior_eqd2_gy * (1.0 - r) + new_eqd2_gy


def _max_new_eqd2_core(
    prior_eqd2_gy, months_since_prior, limit_eqd2_gy, max_recovery_fraction, recovery_half_time_months
):
    # R(t) inlined (as in _recovered_fraction_core) so that numba can compile this core alone
    r = max_recovery_fraction * (1.0 - np.exp(-_LN2 * months_since_prior / recovery_half_time_months))
    return np.maximum(0.0, limit_eqd2_gy - prior_eqd2_gy * (1.0 - r))


# numba twins: scalar in, scalar out, all parameters positional, no checks.
overall_time_days_nb = njit(cache=True)(_overall_time_core)
bed_nb = njit(cache=True)(_bed_core)
eqd2_from_bed_nb = njit(cache=True)(_eqd2_from_bed_core)
repair_theta_nb = njit(cache=True)(_repair_theta_core)
tcp_nb = njit(cache=True)(_tcp_core)
ntcp_lkb_nb = njit(cache=True)(_ntcp_lkb_core_nb)
recovered_fraction_nb = njit(cache=True)(_recovered_fraction_core)
cumulative_eqd2_nb = njit(cache=True)(_cumulative_eqd2_core)
max_new_eqd2_nb = njit(cache=True)(_max_new_eqd2_core)


@njit(cache=True)
def eqd2_nb(
    dose_per_fraction_gy,
    n_fractions,
    alpha_beta_gy,
    fractions_per_day,
    repair_theta,
    overall_time_days,
    kickoff_days,
    repopulation_gy_per_day,
):
    """EQD2 (Gy), numba twin of :func:`eqd2`; arguments as :data:`bed_nb`."""
    b = bed_nb(
        dose_per_fraction_gy,
        n_fractions,
        alpha_beta_gy,
        fractions_per_day,
        repair_theta,
        overall_time_days,
        kickoff_days,
        repopulation_gy_per_day,
    )
    return b / (1.0 + 2.0 / alpha_beta_gy)


bed_nb.__doc__ = """BED (Gy), numba twin of :func:`bed` for one lesion; no input checks.

Parameters (all positional, scalars): dose_per_fraction_gy, n_fractions, alpha_beta_gy,
fractions_per_day, repair_theta (from :data:`repair_theta_nb`; 0 = complete repair),
overall_time_days (first to last fraction; see :data:`overall_time_days_nb`), kickoff_days,
repopulation_gy_per_day (0 = no repopulation).
"""


# --------------------------------------------------------------------------- overall time
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
    n = _count("n_fractions", n_fractions)
    fpd = _count("fractions_per_day", fractions_per_day)
    if fractions_per_week is None:
        days_per_week = np.full(np.shape(fpd), float(TREATMENT_DAYS_PER_WEEK))
    else:
        fpw = _count("fractions_per_week", fractions_per_week)
        days_per_week = fpw / fpd
        ok = (days_per_week == np.floor(days_per_week)) & (days_per_week >= 1) & (days_per_week <= 7)
        if not np.all(ok):
            raise ValueError(
                "fractions_per_week must be a whole number (1 to 7) of treatment days of "
                f"fractions_per_day fractions; got {_first_bad(np.broadcast_to(fpw, ok.shape), ok):g} "
                "fractions per week"
            )
    return _out(_overall_time_core(n, fpd, days_per_week))


# --------------------------------------------------------------------------- BED / EQD2
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
    interval = float(_positive("interfraction_interval_h", interfraction_interval_h, " h"))
    half = float(_positive("repair_half_time_h", repair_half_time_h, " h"))
    return _repair_theta_core(interval, half)


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
    d = _positive("dose_per_fraction_gy", dose_per_fraction_gy, " Gy")
    n = _count("n_fractions", n_fractions)
    ab = _positive("alpha_beta_gy", alpha_beta_gy, " Gy")
    fpd = _count("fractions_per_day", fractions_per_day)
    theta = repair_theta(interfraction_interval_h, repair_half_time_h)
    kick = _non_negative("kickoff_days", kickoff_days, " days")
    dprolif = _non_negative("repopulation_gy_per_day", repopulation_gy_per_day, " Gy/day")
    if overall_time_days_ is None:
        t = _overall_time_core(n, fpd, float(TREATMENT_DAYS_PER_WEEK))
    else:
        t = _non_negative("overall_time_days", overall_time_days_, " days")
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
    ``repair_half_time_h`` is given.

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
    return _out(_bed_core(*args))


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

    Parameters and returns as :func:`bed`.

    Examples
    --------
    >>> eqd2(3.0, 20, 3.0)
    72.0
    >>> round(eqd2(8.0, 5, 3.0), 9)
    88.0
    """
    d, n, ab, fpd, theta, t, kick, dprolif = _bed_args(
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
    return _out(_eqd2_core(d, n, ab, fpd, theta, t, kick, dprolif))


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
    b = _as_array("bed_gy", bed_gy)
    ab = _positive("alpha_beta_gy", alpha_beta_gy, " Gy")
    return _out(_eqd2_from_bed_core(b, ab))


# --------------------------------------------------------------------------- schedules
SCHEDULE_FORMS = (
    "accepted forms: TOTAL/FRACTIONS such as '60/20' or '60Gy/20fx' (total Gy over the number "
    "of fractions); DOSExFRACTIONS such as '2x30' or '8Gy x 5fx' (Gy per fraction times the "
    "number of fractions; with units either order works, e.g. '5fx x 8Gy'); add 'bid' or 'tid' "
    "for two or three fractions a day, e.g. '1.5x30bid'"
)

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_GY = r"gy"
_FX = r"(?:fx|fractions?|fr|f)"
_FREQ = r"(?P<freq>bid|tid|qd|od)?"
_TOTAL_RE = re.compile(rf"^(?P<total>{_NUM})(?:{_GY})?/(?P<n>{_NUM}){_FX}?{_FREQ}$")
_TIMES_RE = re.compile(
    rf"^(?P<a>{_NUM})(?P<ua>{_GY}|{_FX})?[x*](?P<b>{_NUM})(?P<ub>{_GY}|{_FX})?{_FREQ}$"
)
_PER_DAY = {None: 1, "qd": 1, "od": 1, "bid": 2, "tid": 3}


@dataclass(frozen=True)
class Schedule:
    """A fractionation schedule.

    Parameters
    ----------
    dose_per_fraction_gy : float
        Physical dose per fraction, Gy, > 0. Stored rounded to 1e-9 Gy so that ``60/20`` and
        ``3x20`` compare equal.
    n_fractions : int
        Number of fractions, >= 1.
    fractions_per_day : int, default 1
        Fractions per treatment day (2 = BID).
    """

    dose_per_fraction_gy: float
    n_fractions: int
    fractions_per_day: int = 1

    def __post_init__(self):
        d = float(_positive("dose_per_fraction_gy", self.dose_per_fraction_gy, " Gy"))
        n = int(_count("n_fractions", self.n_fractions))
        fpd = int(_count("fractions_per_day", self.fractions_per_day))
        object.__setattr__(self, "dose_per_fraction_gy", round(d, 9))
        object.__setattr__(self, "n_fractions", n)
        object.__setattr__(self, "fractions_per_day", fpd)

    @classmethod
    def from_total(cls, total_dose_gy: float, n_fractions: int, fractions_per_day: int = 1):
        """Schedule of ``total_dose_gy`` Gy in ``n_fractions`` equal fractions."""
        total = float(_positive("total_dose_gy", total_dose_gy, " Gy"))
        n = int(_count("n_fractions", n_fractions))
        return cls(total / n, n, fractions_per_day)

    @property
    def total_dose_gy(self) -> float:
        """Total physical dose, Gy (rounded to 1e-9 Gy)."""
        return round(self.dose_per_fraction_gy * self.n_fractions, 9)

    @property
    def overall_time_days(self) -> float:
        """Days from first to last fraction, 5 treatment days a week."""
        return overall_time_days(self.n_fractions, self.fractions_per_day)

    def bed(self, alpha_beta_gy, **kwargs):
        """BED, Gy; keyword arguments as :func:`bed` (``fractions_per_day`` is the schedule's)."""
        return bed(
            self.dose_per_fraction_gy,
            self.n_fractions,
            alpha_beta_gy,
            fractions_per_day=self.fractions_per_day,
            **kwargs,
        )

    def eqd2(self, alpha_beta_gy, **kwargs):
        """EQD2, Gy; keyword arguments as :func:`eqd2`."""
        return eqd2(
            self.dose_per_fraction_gy,
            self.n_fractions,
            alpha_beta_gy,
            fractions_per_day=self.fractions_per_day,
            **kwargs,
        )

    def __str__(self) -> str:
        freq = {1: "", 2: "bid", 3: "tid"}.get(self.fractions_per_day)
        if freq is None:  # no text form for > 3 a day; still readable
            freq = f" ({self.fractions_per_day}/day)"
        return f"{self.dose_per_fraction_gy:.12g}x{self.n_fractions}{freq}"


def parse_schedule(text: str) -> Schedule:
    """Read a schedule written the way clinicians write it.

    ``60/20`` and ``60Gy/20fx`` mean 60 Gy total in 20 fractions; ``2x30`` and ``2Gy x 30fx``
    mean 2 Gy per fraction times 30 fractions (without units the first number is always the
    dose per fraction, so ``5x8`` is 8 fractions of 5 Gy; write ``8Gy x 5fx`` or ``5fx x 8Gy``
    to be explicit); a trailing ``bid``/``tid`` gives 2 or 3 fractions a day (``1.5x30bid``).
    Case, spaces and ``×``/``*`` for ``x`` are accepted.

    Parameters
    ----------
    text : str
        The schedule.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        If the text is not a schedule; the message quotes it and lists the accepted forms.

    Examples
    --------
    >>> parse_schedule("60/20")
    Schedule(dose_per_fraction_gy=3.0, n_fractions=20, fractions_per_day=1)
    >>> parse_schedule("1.5x30bid").total_dose_gy
    45.0
    """

    def fail(reason: str):
        raise ValueError(f"invalid schedule {text!r}: {reason}; {SCHEDULE_FORMS}")

    if not isinstance(text, str):
        fail("not a string")
    s = re.sub(r"\s+", "", text.lower()).replace("×", "x").replace("b.i.d.", "bid")
    m = _TOTAL_RE.match(s)
    if m:
        total, n = float(m["total"]), float(m["n"])
    else:
        m = _TIMES_RE.match(s)
        if not m:
            fail("not a recognised schedule")
        a, b = float(m["a"]), float(m["b"])
        ua, ub = m["ua"], m["ub"]
        a_is_fx = ua is not None and ua != "gy"
        b_is_fx = ub is not None and ub != "gy"
        if (ua == "gy" and ub == "gy") or (a_is_fx and b_is_fx):
            fail("give one dose in Gy and one number of fractions")
        if a_is_fx or ub == "gy":
            a, b = b, a
        if a <= 0:
            fail(f"the dose per fraction must be > 0 Gy, got {a:g}")
        total, n = a * b, b
    if not (n >= 1 and float(n).is_integer()):
        fail(f"the number of fractions must be an integer >= 1, got {n:g}")
    if total <= 0:
        fail(f"the total dose must be > 0 Gy, got {total:g}")
    return Schedule.from_total(total, int(n), _PER_DAY[m["freq"]])


# --------------------------------------------------------------------------- local control
class TCPParams(NamedTuple):
    """Parameters of the local-control (TCP) model.

    Model (log-logistic dose response, Okunieff P et al., Int J Radiat Oncol Biol Phys
    1995;31:1041 form, in BED10, with a power-law volume term)::

        BED50(V) = bed50_ref_gy * (V / volume_ref_cm3) ** volume_exponent
        TCP(B, V) = B**k / (B**k + BED50(V)**k),   k = 4 * gamma50

    ``B`` is BED with alpha/beta = 10 Gy, ``V`` the lesion (gross tumour) volume in cm3,
    ``gamma50`` the normalised slope at TCP = 50%. TCP is the probability that the lesion is
    controlled for good; the calibration reads the anchors' 1-year local control as TCP
    (assumption: in-field failures after SBRT mostly appear within the first year).

    Anchors (``../shared/calibration/targets.toml``):

    * Moreno AC et al., J Thorac Oncol 2020;15:101 (as quoted by the 2025 consensus,
      statement 8): BED10 = 100 Gy gives about 90% local control, read at a typical SBRT lesion
      of **40 cm3** (assumption; about a 4.2 cm sphere).
    * Cao Y et al., Radiother Oncol 2023;186:109769: radioresistant lesions < 27.7 cm3 with
      41.2 Gy/5 fx (BED10 75.15 Gy) and >= 27.7 cm3 with 55.2 Gy/5 fx (BED10 116.14 Gy) reach
      >= 95% 1-year local control; read as TCP = 0.95 at **15 cm3** and **45 cm3** (assumption:
      about the geometric middles of 10-27.7 and 30-60 cm3).

    Three anchors fix the three parameters (closed form, see ``_solve_tcp_anchors``)::

        volume_exponent = ln(116.14 / 75.15) / ln(45 / 15)                   = 0.3963
        k = ln(19/9) / ln[(40/15)**0.3963 * 75.15 / 100]                     = 7.257
        gamma50 = k / 4                                                       = 1.814
        bed50_ref_gy = BED50(40 cm3) = 75.15 / 19**(1/k) * (40/15)**0.3963   = 73.88 Gy

    Fit with the rounded defaults:

        ===========================  ==========  ========  ========  =========
        anchor                       BED10 Gy    V cm3     target    model
        ===========================  ==========  ========  ========  =========
        Moreno 2020                  100.00      40        0.90      0.8999
        Cao 2023, 41.2 Gy/5 fx       75.15       15        0.95      0.9500
        Cao 2023, 55.2 Gy/5 fx       116.14      45        0.95      0.9500
        ===========================  ==========  ========  ========  =========

    Consequences worth knowing: BED50 is 50.1 Gy at 15 cm3 and 86.8 Gy at 60 cm3;
    TCP(75 Gy, 40 cm3) = 0.53; within Cao's groups TCP varies with volume (41.2 Gy/5 fx gives
    0.98 at 10 cm3 but 0.76 at 27.7 cm3; 55.2 Gy/5 fx gives 0.98 at 30 cm3, 0.89 at 60 cm3),
    so Cao's ">= 95%" holds at the representative volumes, not across each whole group. The
    typical volume is a free choice: the anchors cannot all hold for a typical lesion below
    ~31 cm3 (Cao's small lesions reach 95% at 75 Gy, Moreno's 90% needs 100 Gy), and a smaller
    choice steepens the curve (35 cm3 -> gamma50 3.7), a larger one flattens it
    (50 cm3 -> gamma50 1.0). gamma50 = 1.8 lies within the range of slopes reported for gross
    tumours (Okunieff 1995). The volume exponent is empirical: a Poisson model with clonogens
    proportional to volume gives a far weaker volume effect (ln 3 / alpha, a few Gy for a
    threefold volume) than Cao's two thresholds imply (41 Gy of BED10).

    Attributes
    ----------
    bed50_ref_gy : float
        BED10 giving 50% control at ``volume_ref_cm3``, Gy. Fitted (73.88).
    gamma50 : float
        Normalised slope at 50%. Fitted (1.814).
    volume_ref_cm3 : float
        Reference volume, cm3: the assumed typical SBRT lesion (40).
    volume_exponent : float
        Power of volume in BED50. Fitted (0.3963).
    """

    bed50_ref_gy: float = 73.88
    gamma50: float = 1.814
    volume_ref_cm3: float = 40.0
    volume_exponent: float = 0.3963


DEFAULT_TCP_PARAMS = TCPParams()


def _solve_tcp_anchors(
    typical=(100.0, 40.0, 0.90),
    small=(41.2 * (1 + 8.24 / 10), 15.0, 0.95),
    large=(55.2 * (1 + 11.04 / 10), 45.0, 0.95),
) -> TCPParams:
    """Exact solution of the three anchors ``(BED10 Gy, volume cm3, TCP)``; small and large
    must share one TCP level. Used to document and test the defaults."""
    (b_t, v_t, p_t), (b_s, v_s, p_s), (b_l, v_l, p_l) = typical, small, large
    if p_s != p_l:
        raise ValueError("small and large anchors must share one TCP level")
    a = math.log(b_l / b_s) / math.log(v_l / v_s)
    odds_s, odds_t = p_s / (1 - p_s), p_t / (1 - p_t)
    # B_p(V) = BED50(V) * odds**(1/k): divide the typical anchor by the small one.
    ratio = (b_t / b_s) / (v_t / v_s) ** a
    k = math.log(odds_t / odds_s) / math.log(ratio)
    bed50_t = b_t / odds_t ** (1 / k)
    return TCPParams(bed50_t, k / 4, v_t, a)


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
    >>> round(tcp(100.0, 40.0), 3)
    0.9
    """
    b = _non_negative("bed10_gy", bed10_gy, " Gy")
    v = _positive("volume_cm3", volume_cm3, " cm3")
    p = TCPParams(*params)
    _positive("params.bed50_ref_gy", p.bed50_ref_gy, " Gy")
    _positive("params.gamma50", p.gamma50)
    _positive("params.volume_ref_cm3", p.volume_ref_cm3, " cm3")
    _non_negative("params.volume_exponent", p.volume_exponent)
    return _out(_tcp_core(b, v, p.bed50_ref_gy, p.gamma50, p.volume_ref_cm3, p.volume_exponent))


# --------------------------------------------------------------------------- NTCP
class OrganNTCP(NamedTuple):
    """Lyman-Kutcher-Burman parameters of one organ and endpoint.

    Attributes
    ----------
    organ, endpoint : str
        What is modelled.
    td50_gy : float
        EQD2 (uniform whole-organ, or the organ's EUD) giving 50% complication risk, Gy.
    m : float
        Slope parameter (standard deviation of the probit / TD50).
    n_volume : float
        Volume-effect parameter for :func:`geud_gy` (1 = mean dose, -> 0 = maximum dose).
    alpha_beta_gy : float
        alpha/beta used to convert doses to EQD2 for this endpoint, Gy.
    dose_metric : str
        Which dose to feed: "mean" (n ~ 1), "max" (n small) or "geud".
    source : str
        Where the numbers come from.
    """

    organ: str
    endpoint: str
    td50_gy: float
    m: float
    n_volume: float
    alpha_beta_gy: float
    dose_metric: str
    source: str


#: LKB parameters by key. Doses are EQD2 at the endpoint's alpha/beta (the source fits used
#: conventional ~1.8-2.75 Gy fractions; converting to EQD2 first is an assumption).
ORGAN_NTCP: dict[str, OrganNTCP] = {
    "lung_pneumonitis_g2": OrganNTCP(
        "lung",
        "radiation pneumonitis grade >= 2",
        30.8,
        0.37,
        0.99,
        3.0,
        "mean",
        "Seppenwoolde Y et al., Int J Radiat Oncol Biol Phys 2003;55:724 (mean lung dose, "
        "NTD with alpha/beta 3 Gy); the MLD model summarised in QUANTEC, Marks LB et al., "
        "Int J Radiat Oncol Biol Phys 2010;76(3 Suppl):S70",
    ),
    "lung_pneumonitis_emami": OrganNTCP(
        "lung",
        "radiation pneumonitis (clinical)",
        24.5,
        0.18,
        0.87,
        3.0,
        "geud",
        "Burman C et al., Int J Radiat Oncol Biol Phys 1991;21:123 (fit to Emami 1991)",
    ),
    "esophagus_acute_esophagitis_g2": OrganNTCP(
        "esophagus",
        "acute esophagitis grade >= 2 (RTOG/EORTC), without concurrent chemotherapy",
        47.0,
        0.36,
        0.69,
        10.0,
        "geud",
        "Belderbos J et al., Radiother Oncol 2005;75:157 (NSCLC, 2.25-2.75 Gy fractions; "
        "concurrent chemoradiotherapy raised the risk beyond this fit); alpha/beta 10 Gy for "
        "an acute mucosal reaction is an assumption",
    ),
    "esophagus_stricture_perforation": OrganNTCP(
        "esophagus",
        "clinical stricture or perforation (late; proxy for fistula)",
        68.0,
        0.11,
        0.06,
        3.0,
        "max",
        "Burman C et al., Int J Radiat Oncol Biol Phys 1991;21:123 (fit to Emami 1991); using "
        "it for fistula is an assumption",
    ),
    "spinal_cord_myelopathy": OrganNTCP(
        "spinal cord",
        "myelitis / necrosis (radiation myelopathy)",
        66.5,
        0.175,
        0.05,
        2.0,
        "max",
        "Burman C et al., Int J Radiat Oncol Biol Phys 1991;21:123; alpha/beta 2 Gy as in "
        "Nieder C et al., Int J Radiat Oncol Biol Phys 2006;66:1446 (QUANTEC, Kirkpatrick 2010, "
        "fitted 0.87 Gy)",
    ),
}


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
    e = _non_negative("eud_gy", eud_gy, " Gy")
    td50 = _positive("td50_gy", td50_gy, " Gy")
    mm = _positive("m", m)
    return _out(ndtr((e - td50) / (mm * td50)))


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
    dose = _non_negative("dose_gy", dose_gy, " Gy")
    vol = _non_negative("volume_fraction", volume_fraction)
    n = float(_positive("n_volume", n_volume))
    total = vol.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("volume_fraction must not be all zero")
    return _out(np.sum(vol / total * dose ** (1.0 / n), axis=-1) ** n)


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
    f = _fraction("fraction_of_prescription", fraction_of_prescription)
    d = _positive("dose_per_fraction_gy", dose_per_fraction_gy, " Gy")
    # a zero share is legal and gives zero; keep eqd2's dose > 0 rule by substituting 1.
    organ_d = np.where(f > 0, f * d, 1.0)
    return _out(np.where(f > 0, eqd2(organ_d, n_fractions, alpha_beta_gy, **bed_kwargs), 0.0))


# --------------------------------------------------------------------------- re-irradiation
class ReirradiationParams(NamedTuple):
    """Recovery of occult damage between two courses.

    The earlier course's EQD2 counts for ``1 - R(t)`` of itself after ``t`` months, with
    ``R(t) = max_recovery_fraction * (1 - 2**(-t / recovery_half_time_months))``.

    Defaults: ``R_max = 0.5``, ``t_half = 6 months`` give R = 0.25 at 6 months, 0.375 at 12
    and 0.47 at 24 months. Sources: spinal-cord re-irradiation practice quoted as about 25%
    recovery after 6 months rising to about 50% later (the clinical rule cited by Doi H et al.,
    Strahlenther Onkol 2021;197:463; Nieder C et al., Int J Radiat Oncol Biol Phys
    2006;66:1446, low myelopathy risk with >= 6 months between courses; QUANTEC, Kirkpatrick JP
    et al., Int J Radiat Oncol Biol Phys 2010;76:S42: partial repair evident from about
    6 months, increasing over the next 2 years). The exponential shape and its use for organs
    other than the spinal cord are assumptions; it is more cautious than "50% at 12 months".

    Attributes
    ----------
    max_recovery_fraction : float
        Long-term fraction of the earlier EQD2 that is forgotten, in [0, 1].
    recovery_half_time_months : float
        Months to reach half of it, > 0.
    """

    max_recovery_fraction: float = 0.5
    recovery_half_time_months: float = 6.0


DEFAULT_REIRRADIATION_PARAMS = ReirradiationParams()


def _reirr_params(max_recovery_fraction, recovery_half_time_months):
    rmax = _fraction("max_recovery_fraction", max_recovery_fraction)
    thalf = _positive("recovery_half_time_months", recovery_half_time_months, " months")
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
    t = _non_negative("months_since_prior", months_since_prior, " months")
    rmax, thalf = _reirr_params(max_recovery_fraction, recovery_half_time_months)
    return _out(_recovered_fraction_core(t, rmax, thalf))


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
    prior = _non_negative("prior_eqd2_gy", prior_eqd2_gy, " Gy")
    t = _non_negative("months_since_prior", months_since_prior, " months")
    new = _non_negative("new_eqd2_gy", new_eqd2_gy, " Gy")
    rmax, thalf = _reirr_params(max_recovery_fraction, recovery_half_time_months)
    return _out(_cumulative_eqd2_core(prior, t, new, rmax, thalf))


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
    prior = _non_negative("prior_eqd2_gy", prior_eqd2_gy, " Gy")
    t = _non_negative("months_since_prior", months_since_prior, " months")
    limit = _positive("limit_eqd2_gy", limit_eqd2_gy, " Gy")
    rmax, thalf = _reirr_params(max_recovery_fraction, recovery_half_time_months)
    return _out(_max_new_eqd2_core(prior, t, limit, rmax, thalf))
