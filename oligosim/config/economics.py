"""The ``[economics]`` section of a scenario: inputs of the cost-utility analysis.

Defaults are a Chinese healthcare-system perspective in CNY at 2023 prices. Every value names
its source or is marked as an assumption with its reason (``A``); the unit costs are
assumptions of the order used by published Chinese cost-effectiveness analyses of first-line
chemo-immunotherapy for advanced ESCC (ESCORT-1st, ORIENT-15, RATIONALE-306, JUPITER-06), not
figures copied from one of them, because fee schedules differ by province and year. To use
another country, override the section in a scenario (``currency``, ``price_year``, the unit
costs, ``discount_*`` and ``gdp_per_capita``/``wtp_per_qaly``): docs/model.md 13.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A
from oligosim.config.nodes import Bool, Choice, Float, Int, Section, Str, Table

#: ceiling of every unit cost (currency units): a billion, beyond any single health-care item
#: in any currency that the model's arithmetic must survive
COST_MAX = 1e9
#: ceiling of the willingness to pay per QALY (currency units)
WTP_MAX = 1e10

_CEA = (
    "published Chinese CEAs of first-line PD-1 inhibitor plus chemotherapy in advanced ESCC (e.g. Zhang 2021 "
    "Front Oncol, camrelizumab, ESCORT-1st; Liu 2023 Front Pharmacol, PD-1 inhibitors)"
)
_GDP_SRC = (
    "National Bureau of Statistics of China, Statistical Communique on the 2023 National Economic and Social "
    "Development (Feb 2024): GDP per capita CNY 89,358"
)
_GUIDE = "China Guidelines for Pharmacoeconomic Evaluations (2020): 5% a year for costs and health effects"


def _cost(default: float, doc: str, source: str) -> Float:
    return Float(default, lo=0.0, hi=COST_MAX, ceiling=True, unit="currency", doc=doc, source=source)


def _utility(default: float, doc: str, source: str) -> Float:
    # states worse than death are not modelled: a utility is in [0, 1]
    return Float(default, lo=0.0, hi=1.0, doc=doc + " (0 = dead, 1 = full health)", source=source)


#: cost of managing one grade >= 3 event, by type (CNY)
_TOX_COST = {
    "leukopenia": 800.0,
    "neutropenia": 1500.0,
    "thrombocytopenia": 4000.0,
    "pneumonitis": 10000.0,
    "esophagitis": 5000.0,
    "esophageal_fistula": 50000.0,
    "fatigue": 300.0,
    "nausea": 300.0,
    "vomiting": 300.0,
    "cardiac": 20000.0,
    "myelopathy": 80000.0,
    "bowel": 30000.0,
    "conduit": 50000.0,
}
#: (disutility, days) of one grade >= 3 event, by type
_TOX_DISUTILITY = {
    "leukopenia": (0.09, 14.0),
    "neutropenia": (0.09, 14.0),
    "thrombocytopenia": (0.11, 14.0),
    "pneumonitis": (0.15, 30.0),
    "esophagitis": (0.15, 21.0),
    "esophageal_fistula": (0.30, 60.0),
    "fatigue": (0.07, 21.0),
    "nausea": (0.05, 7.0),
    "vomiting": (0.05, 7.0),
    "cardiac": (0.15, 60.0),
    "myelopathy": (0.40, 3650.0),  # permanent: cut at death or the horizon
    "bowel": (0.20, 30.0),
    "conduit": (0.30, 60.0),
}
_TOX_COST_SRC = A + "cost of hospital management of a grade >= 3 event, of the order used by " + _CEA + "; not re-checked against one"
_DISUTIL_SRC = (
    A + "of the order of Nafees 2008 (Health Qual Life Outcomes 6:84, NSCLC vignettes: neutropenia -0.09, fatigue -0.07, "
    "nausea/vomiting -0.05) as borrowed by ESCC CEAs; durations are assumptions"
)

DRUG_COST = Section(
    {
        "induction_cycle": _cost(0.0, "cost of one cycle of the regimen's induction (every drug of it)", A + "set per regimen in configs/base.toml"),
        "maintenance_cycle": _cost(0.0, "cost of one maintenance cycle (the regimen's maintenance drugs, e.g. the anti-PD-1 agent alone)", A + "set per regimen in configs/base.toml"),
    },
    doc="drug acquisition and administration cost per cycle of a regimen",
)

ECONOMICS = Section(
    {
        "enabled": Bool(False, doc="compute costs, life-years and QALYs per patient (off: the run costs nothing more)"),
        "currency": Str("CNY", doc="currency of every cost (a label: no conversion is done)"),
        "price_year": Int(2023, lo=1900, hi=2200, unit="year", doc="year of the prices"),
        "perspective": Choice(("healthcare_system", "payer", "societal"), "healthcare_system", doc="whose costs count (a label: the unit costs must match it)"),
        "discount_costs_per_year": Float(0.05, lo=0.0, hi=1.0, unit="1/year", doc="annual discount rate of costs (continuous: exp(-ln(1+r) t))", source=_GUIDE),
        "discount_effects_per_year": Float(0.05, lo=0.0, hi=1.0, unit="1/year", doc="annual discount rate of life-years and QALYs", source=_GUIDE),
        "gdp_per_capita": Float(89358.0, lo=0.0, lo_open=True, hi=WTP_MAX, ceiling=True, unit="currency", doc="GDP per capita (reference for the willingness to pay)", source=_GDP_SRC),
        "wtp_per_qaly": Float(
            268074.0, lo=0.0, hi=WTP_MAX, ceiling=True, unit="currency/QALY",
            doc="willingness to pay per QALY for the net monetary benefit (default 3 x GDP per capita)",
            source=_GUIDE + "; 1-3 x GDP per capita is the range those guidelines name (default the upper end, 3 x " + _GDP_SRC.split(":")[-1].strip() + ")",
        ),
        "wtp_max_per_qaly": Float(
            500000.0, lo=0.0, lo_open=True, hi=WTP_MAX, ceiling=True, unit="currency/QALY",
            doc="upper end of the willingness-to-pay range of the acceptability curves", source=A + "reporting choice: above 5 x GDP per capita",
        ),
        "population_incidence_per_year": Float(
            10000.0, lo=0.0, hi=1e9, unit="patients/year", doc="patients a year facing the decision (for the population EVPI)",
            source=A + "order of magnitude: a few percent of China's about 220,000 yearly esophageal cancers present with oligometastatic disease",
        ),
        "population_horizon_years": Float(10.0, lo=0.0, lo_open=True, hi=200.0, unit="years", doc="years over which the decision applies (population EVPI; discounted at discount_effects_per_year)", source=A + "a typical technology lifetime"),
        "drug_costs": Table(DRUG_COST, doc="drug cost per cycle by regimen name; every regimen an arm uses needs an entry when economics is enabled"),
        "rt": Section(
            {
                "sbrt_max_fractions": Int(8, lo=1, hi=60, unit="fractions", doc="a course of at most this many fractions is costed as SBRT, longer ones as conventional IMRT"),
                "sbrt_course": _cost(10000.0, "planning, simulation and QA of an SBRT course", A + "Chinese radiotherapy fee schedules vary by province: order of magnitude"),
                "sbrt_fraction": _cost(4000.0, "one SBRT fraction", A + "as sbrt_course"),
                "imrt_course": _cost(8000.0, "planning, simulation and QA of a conventionally fractionated IMRT course", A + "as sbrt_course"),
                "imrt_fraction": _cost(1200.0, "one IMRT fraction (a 28-fraction course about CNY 42,000)", A + "as sbrt_course"),
            },
            doc="radiotherapy cost per course by technique and number of fractions",
        ),
        "alternative_local": _cost(40000.0, "one surgery or ablation given when RT is not feasible", A + "hospital stay and procedure, order of magnitude"),
        "procedures": Section(
            {
                "surgery": _cost(40000.0, "one metastasectomy or lymphadenectomy chosen as a lesion's local therapy (model 6.10)", A + "as alternative_local: hospital stay and operation, order of magnitude"),
                "ablation": _cost(
                    19500.0, "one thermal (radiofrequency or microwave) ablation chosen as a lesion's local therapy (model 6.10)",
                    A + "surgery x 0.487, the ratio of the median costs of one radiofrequency ablation (JPY 849,900) and of surgery (JPY 1,745,100) "
                    "for hepatocellular carcinoma <= 3 cm (Hepatol Res 2005;33:241-249, PMID 16260178); no Chinese figure for metastases was found",
                ),
            },
            doc="cost of one procedure chosen as a lesion's local therapy, by modality (each surgery or ablation event of the log)",
        ),
        "toxicity": Section(
            {name: _cost(_TOX_COST[name], f"managing one grade >= 3 {name} event", _TOX_COST_SRC) for name in codes.TOX_NAMES}
            | {
                "treatment_death": _cost(20000.0, "care of a fatal treatment complication (beyond the event's own cost)", A + "intensive care before death"),
                "tumour_fistula": _cost(50000.0, "managing a perforation of the primary (stent, nutrition, hospital stay)", A + "as esophageal_fistula"),
            },
            doc="cost of toxicity and complications, by type",
        ),
        "imaging": Section(
            {
                "ct": _cost(1000.0, "one contrast CT of chest and abdomen", A + "Chinese hospital fee schedules, order of magnitude"),
                "pet_ct": _cost(8000.0, "one PET/CT", A + "as ct"),
                "mri": _cost(1500.0, "one MRI", A + "as ct"),
            },
            doc="cost of one scan by modality: every follow-up scan uses cohort.staging_modality; staging at entry adds brain MRI when cohort.brain_mri",
        ),
        "supportive_care_per_month": _cost(2000.0, "best supportive care per month after the first progression while no systemic line is on", A + "outpatient care, analgesia and nutrition"),
        "end_of_life": _cost(15000.0, "terminal care, once, at death from the disease", A + "last-month hospital care, order of magnitude"),
        "utilities": Section(
            {
                "pf_on_treatment": _utility(0.72, "progression-free, during a systemic line or an RT course", A + "below the off-treatment value; about the 0.74 progression-free utility of " + _CEA),
                "pf_off_treatment": _utility(0.76, "progression-free, off treatment", A + "as pf_on_treatment"),
                "progressed": _utility(0.58, "after the first progression (oligometastatic)", A + "about the 0.58 progressed-disease utility of " + _CEA),
                "widespread": _utility(0.50, "after widespread progression", A + "below the progressed value: polymetastatic disease"),
            },
            doc="health-state utilities",
        ),
        "disutility": Section(
            {name: Float(v[0], lo=0.0, hi=1.0, doc=f"utility lost during a grade >= 3 {name} event", source=_DISUTIL_SRC) for name, v in _TOX_DISUTILITY.items()},
            doc="toxicity disutilities (subtracted from the state's utility)",
        ),
        "disutility_days": Section(
            {name: Float(v[1], lo=0.0, hi=3650.0, unit="days", doc=f"duration of the {name} disutility", source=_DISUTIL_SRC) for name, v in _TOX_DISUTILITY.items()},
            doc="how long each toxicity disutility lasts (cut at death or the horizon)",
        ),
    },
    doc="cost-utility analysis (docs/model.md 13)",
)


def check_economics(data: dict) -> list[tuple[str, str]]:
    """Cross-section rules of ``[economics]``: every drug-cost entry names a regimen, and when
    economics is enabled every regimen an arm uses has one."""
    eco = data.get("economics")
    if eco is None:
        return []
    errors = []
    regimens = data["regimens"]
    for name in eco["drug_costs"]:
        if name not in regimens:
            errors.append((f"economics.drug_costs.{name}", f"names no regimen (regimens: {', '.join(regimens)})"))
    if eco["enabled"]:
        for arm_name, arm in data["arms"].items():
            for line in ("first_line", "second_line", "third_line"):
                reg = arm[line]
                if reg != "none" and reg not in eco["drug_costs"]:
                    errors.append((f"economics.drug_costs.{reg}", f"missing: arms.{arm_name}.{line} uses regimen {reg!r} and economics is enabled"))
    # one message per missing regimen
    return list(dict.fromkeys(errors))
