"""Fractionation schedules: the :class:`Schedule` value and the clinicians' notation it is read from.

What ``oligosim dose`` works with: :func:`parse_schedule` reads ``60/20``, ``8Gy x 5fx`` or
``1.5x30bid`` (forms listed in :data:`SCHEDULE_FORMS`) into a :class:`Schedule`, whose
``bed``, ``eqd2`` and ``overall_time_days`` call the public functions of
:mod:`oligosim.radiobiology.api` and :mod:`oligosim.radiobiology.timing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oligosim.radiobiology._arrays import count, positive
from oligosim.radiobiology.timing import overall_time_days

# api (which loads numba) is imported by the methods that use it: ``oligosim dose`` registers its
# parser with SCHEDULE_FORMS at every start of the command line

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
        d = float(positive("dose_per_fraction_gy", self.dose_per_fraction_gy, " Gy"))
        n = int(count("n_fractions", self.n_fractions))
        fpd = int(count("fractions_per_day", self.fractions_per_day))
        object.__setattr__(self, "dose_per_fraction_gy", round(d, 9))
        object.__setattr__(self, "n_fractions", n)
        object.__setattr__(self, "fractions_per_day", fpd)

    @classmethod
    def from_total(cls, total_dose_gy: float, n_fractions: int, fractions_per_day: int = 1):
        """Schedule of ``total_dose_gy`` Gy in ``n_fractions`` equal fractions."""
        total = float(positive("total_dose_gy", total_dose_gy, " Gy"))
        n = int(count("n_fractions", n_fractions))
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
        from oligosim.radiobiology.api import bed

        return bed(
            self.dose_per_fraction_gy,
            self.n_fractions,
            alpha_beta_gy,
            fractions_per_day=self.fractions_per_day,
            **kwargs,
        )

    def eqd2(self, alpha_beta_gy, **kwargs):
        """EQD2, Gy; keyword arguments as :func:`eqd2`."""
        from oligosim.radiobiology.api import eqd2

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

