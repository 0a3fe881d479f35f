"""The validated ``[economics]`` section lowered to the plain numbers :mod:`.accrue` reads.

Rates become per-month continuous rates, days become months, and per-regimen costs become
arrays indexed by the regimen codes of the event log (``EV_LINE_START``'s detail).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from oligosim import codes
from oligosim.config.leaves import DAYS_PER_MONTH
from oligosim.lowering import regimen_names

#: cost categories, in the order of :func:`oligosim.economics.accrue.accrue`'s ``cat`` columns
#: (``procedures``: surgery and ablation chosen as a lesion's local therapy, model 6.10; last so
#: that the older categories keep their columns)
CATEGORIES = ("drugs", "radiotherapy", "alternative_local", "toxicity", "imaging", "supportive_care", "end_of_life", "procedures")
#: utilities, in the order of ``EconParams.utility``
STATES = ("pf_on_treatment", "pf_off_treatment", "progressed", "widespread")


class EconParams(NamedTuple):
    """Economic inputs of one arm, as numbers (months, currency, per-month continuous rates).

    Attributes
    ----------
    rate_costs, rate_effects : float
        Continuous discount rates per month, ``ln(1 + r) / 12``.
    cycle_months : ndarray, shape (R,)
        Cycle length of each regimen (months).
    induction_cycles : ndarray of int64, shape (R,)
    has_maintenance : ndarray of bool, shape (R,)
    induction_cost, maintenance_cost : ndarray, shape (R,)
        Cost per cycle (0 for regimens without a drug_costs entry, which no arm uses).
    entry_imaging, scan_cost : float
        Staging at entry (the staging modality, plus brain MRI if asked) and one follow-up scan.
    sbrt_max_fractions, fractions_per_day : int
    sbrt_course, sbrt_fraction, imrt_course, imrt_fraction, alternative_local : float
    procedure_cost : ndarray, shape (3,)
        Cost of one procedure chosen as a lesion's local therapy, by ``codes.LOCAL_*`` (RT's
        entry is 0: RT is costed by course).
    tox_cost : ndarray, shape (N_TOX,)
    treatment_death, tumour_fistula, supportive_month, end_of_life : float
    utility : ndarray, shape (4,)
        In the order of :data:`STATES`.
    disutility : ndarray, shape (N_TOX,)
    disutility_months : ndarray, shape (N_TOX,)
    """

    rate_costs: float
    rate_effects: float
    cycle_months: np.ndarray
    induction_cycles: np.ndarray
    has_maintenance: np.ndarray
    induction_cost: np.ndarray
    maintenance_cost: np.ndarray
    entry_imaging: float
    scan_cost: float
    sbrt_max_fractions: int
    fractions_per_day: int
    sbrt_course: float
    sbrt_fraction: float
    imrt_course: float
    imrt_fraction: float
    alternative_local: float
    procedure_cost: np.ndarray
    tox_cost: np.ndarray
    treatment_death: float
    tumour_fistula: float
    supportive_month: float
    end_of_life: float
    utility: np.ndarray
    disutility: np.ndarray
    disutility_months: np.ndarray


def enabled(scenario) -> bool:
    """Whether the scenario asks for the economic evaluation."""
    eco = scenario.data.get("economics")
    return bool(eco and eco["enabled"])


def monthly_rate(annual: float) -> float:
    """Continuous discount rate per month equivalent to an annual rate ``annual``:
    ``exp(-rho t) = (1 + annual)^(-t / 12)`` for ``t`` in months."""
    return math.log1p(float(annual)) / 12.0


def lower_economics(scenario, arm: str) -> EconParams:
    """The economic inputs that apply to arm ``arm`` of a validated scenario."""
    d = scenario.data
    eco = d["economics"]
    names = regimen_names(scenario)
    regs = [d["regimens"][n] for n in names]
    drug = eco["drug_costs"]
    zero = {"induction_cycle": 0.0, "maintenance_cycle": 0.0}
    img = eco["imaging"]
    modality = d["cohort"]["staging_modality"]
    entry = img[modality] + (img["mri"] if d["cohort"]["brain_mri"] else 0.0)
    tox = eco["toxicity"]
    return EconParams(
        rate_costs=monthly_rate(eco["discount_costs_per_year"]),
        rate_effects=monthly_rate(eco["discount_effects_per_year"]),
        cycle_months=np.array([r["cycle_days"] / DAYS_PER_MONTH for r in regs], np.float64),
        induction_cycles=np.array([r["induction_cycles"] for r in regs], np.int64),
        has_maintenance=np.array([r["maintenance_months"] > 0.0 for r in regs], np.bool_),
        induction_cost=np.array([drug.get(n, zero)["induction_cycle"] for n in names], np.float64),
        maintenance_cost=np.array([drug.get(n, zero)["maintenance_cycle"] for n in names], np.float64),
        entry_imaging=float(entry),
        scan_cost=float(img[modality]),
        sbrt_max_fractions=int(eco["rt"]["sbrt_max_fractions"]),
        fractions_per_day=int(d["arms"][arm]["fractions_per_day"]),
        sbrt_course=float(eco["rt"]["sbrt_course"]),
        sbrt_fraction=float(eco["rt"]["sbrt_fraction"]),
        imrt_course=float(eco["rt"]["imrt_course"]),
        imrt_fraction=float(eco["rt"]["imrt_fraction"]),
        alternative_local=float(eco["alternative_local"]),
        procedure_cost=np.array([0.0 if m == codes.LOCAL_RT else eco["procedures"][name] for m, name in enumerate(codes.LOCAL_NAMES)], np.float64),
        tox_cost=np.array([tox[t] for t in codes.TOX_NAMES], np.float64),
        treatment_death=float(tox["treatment_death"]),
        tumour_fistula=float(tox["tumour_fistula"]),
        supportive_month=float(eco["supportive_care_per_month"]),
        end_of_life=float(eco["end_of_life"]),
        utility=np.array([eco["utilities"][s] for s in STATES], np.float64),
        disutility=np.array([eco["disutility"][t] for t in codes.TOX_NAMES], np.float64),
        disutility_months=np.array([eco["disutility_days"][t] / DAYS_PER_MONTH for t in codes.TOX_NAMES], np.float64),
    )
