"""Radiobiology: BED, EQD2, local control (TCP), NTCP and re-irradiation with recovery.

Everything here is pure arithmetic, in layers:

* :mod:`~oligosim.radiobiology.core`: every formula once, as a ``numba.njit(cache=True)``
  function of scalars (``core.bed``, ``core.eqd2``, ``core.tcp``, ``core.ntcp_lkb``,
  ``core.cumulative_eqd2``, ...). The simulation kernel calls these per lesion; they trust their
  inputs.
* :mod:`~oligosim.radiobiology.api`: the public functions (``bed``, ``eqd2``, ``tcp``,
  ``ntcp_lkb``, ...). They accept scalars or numpy arrays (broadcast together), validate their
  inputs once and raise ``ValueError`` naming the argument, the offending value and the rule,
  then apply the core formulas element by element; a ``float`` comes back for scalar input and
  an ``ndarray`` of the broadcast shape otherwise.
* :mod:`~oligosim.radiobiology.timing`: overall treatment time and repair between same-day
  fractions; :mod:`~oligosim.radiobiology.schedules`: the :class:`Schedule` value and
  :func:`parse_schedule` (what ``oligosim dose`` uses).
* :mod:`~oligosim.radiobiology.params`: parameter sets with their sources. The TCP defaults are
  the model's calibrated values; the scenario schema reads them from here.

Units are in the names: Gy, fractions, days, hours (repair), cm3, months (recovery).

Models and default parameters (each default names its source, or says it is an assumption):

* Linear-quadratic BED, ``BED = n d (1 + g d / (alpha/beta)) - max(0, T - Tk) Dprolif``, where
  ``g = 1`` with complete repair between fractions (the clinical convention and the default) and
  ``g > 1`` with incomplete repair between fractions given the same day (Thames 1985 h-factor,
  see :func:`bed`). EQD2 = BED / (1 + 2 / (alpha/beta)). Repopulation is off by default
  (``Dprolif = 0``); ``Tk = 28 days`` is the onset Withers et al. (Acta Oncol 1988;27:131)
  estimated for head-and-neck squamous carcinoma.
* Local control: a log-logistic TCP in BED10 whose BED50 grows as a power of lesion volume,
  calibrated to Moreno 2020, Cao 2023 and Liu 2020 (see :class:`TCPParams`).
* NTCP: Lyman-Kutcher-Burman probit, organ parameters in :data:`ORGAN_NTCP`.
* Re-irradiation: the earlier course's EQD2 counts for ``1 - R(t)`` of itself, with recovered
  fraction ``R(t) = R_max (1 - 2**(-t / t_half))``, ``R_max = 0.5``, ``t_half = 6 months``
  (see :class:`ReirradiationParams`).
"""

from __future__ import annotations

import importlib

# Public names by the submodule that defines them, imported on first use (PEP 562): the scenario
# schema reads ``params`` at every start of the command line, and importing ``core`` would load
# numba (about a second) before ``oligosim --help`` or ``oligosim check`` could answer.
_WHERE = {
    "core": None,
    "api": None,
    "bed": "api",
    "cumulative_eqd2": "api",
    "eqd2": "api",
    "eqd2_from_bed": "api",
    "geud_gy": "api",
    "max_new_eqd2": "api",
    "ntcp_lkb": "api",
    "ntcp_organ": "api",
    "organ_eqd2": "api",
    "recovered_fraction": "api",
    "tcp": "api",
    "DEFAULT_REIRRADIATION_PARAMS": "params",
    "DEFAULT_TCP_PARAMS": "params",
    "ORGAN_NTCP": "params",
    "OrganNTCP": "params",
    "ReirradiationParams": "params",
    "TCPParams": "params",
    "solve_tcp_anchors": "params",
    "SCHEDULE_FORMS": "schedules",
    "Schedule": "schedules",
    "parse_schedule": "schedules",
    "DEFAULT_INTERFRACTION_INTERVAL_H": "timing",
    "TREATMENT_DAYS_PER_WEEK": "timing",
    "overall_time_days": "timing",
    "repair_theta": "timing",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_WHERE[name] or name}")
    value = module if _WHERE[name] is None else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "core",
    "bed",
    "eqd2",
    "eqd2_from_bed",
    "overall_time_days",
    "repair_theta",
    "TREATMENT_DAYS_PER_WEEK",
    "DEFAULT_INTERFRACTION_INTERVAL_H",
    "Schedule",
    "parse_schedule",
    "SCHEDULE_FORMS",
    "TCPParams",
    "DEFAULT_TCP_PARAMS",
    "solve_tcp_anchors",
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
]
