"""RT schedules by site (model 6.1): the ``radiotherapy.schedules`` table and its entries; an
arm's re-irradiation schedules by site (model 6.6); fractions a day, the interval between them
and the repair half-times of incomplete repair (model 6.2).

Statement 7: SBRT or hypofractionated RT for metastases, conventional fractionation next to the
esophagus; statement 8: curative doses, adjusted to each site's risk. Arms with
``metastasis_schedule = "by_site"`` give each metastasis its site's schedule from this table
(overridden by their ``site_schedules``); ``configs/base.toml`` repeats the defaults for users to
see and edit (a test keeps the two equal).
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, UNIT_MAX, _nonneg
from oligosim.config.nodes import REQUIRED, Float, Int, Section, Table

__all__ = [
    "SCHEDULES", "REIRRADIATION_SITES", "check_daily_keys", "check_schedule_keys", "reirradiation_section", "schedule_section",
    "interval_key", "per_day_key", "reirradiation_table", "REPAIR_HALF_TIMES",
]

# Default metastasis schedule by site (model 6.1): (total dose Gy, fractions, why). Statement 7:
# SBRT or hypofractionated RT for metastases, conventional fractionation next to the esophagus;
# statement 8: curative doses, adjusted to each site's risk.
_SITE_SCHEDULES = {
    "liver": (50.0, 5, "BED10 100 Gy, the dose with about 90% local control (Moreno 2020, statement 8)"),
    "lung": (50.0, 5, "BED10 100 Gy, the dose with about 90% local control (Moreno 2020, statement 8); a common peripheral-lung SBRT schedule"),
    "bone": (35.0, 5, A + "BED10 59.5 Gy: risk-adapted for the spinal cord next to vertebral lesions (statement 8), within the 50-75 Gy BED10 the ASTRO/ESTRO guideline accepts with systemic therapy"),
    "brain": (24.0, 1, "single-fraction radiosurgery, the largest dose RTOG 90-05 found tolerable for lesions up to 2 cm (Shaw 2000)"),
    "adrenal": (40.0, 5, A + "BED10 72 Gy: kidney, stomach and bowel nearby (statement 8: risk-adapted); ESO-Shanghai 13's SBRT schedule (Liu 2020)"),
    "soft_tissue": (40.0, 5, A + "BED10 72 Gy: ESO-Shanghai 13's SBRT schedule (Liu 2020)"),
    "peritoneum": (30.0, 10, A + "BED10 39 Gy: bowel all around; moderately hypofractionated, palliative-intent dose"),
    "node_neck": (40.0, 5, A + "BED10 72 Gy: ESO-Shanghai 13's SBRT schedule (Liu 2020); supraclavicular nodes lie centimetres from the esophagus"),
    "node_upper_mediastinum": (60.0, 30, "conventional fractionation next to the esophagus (statement 7: fistula risk of large fractions); 60 Gy in 30, the upper end of statement 8's EQD2 50-60 Gy"),
    "node_lower_mediastinum": (60.0, 30, "as node_upper_mediastinum (statement 7)"),
    "node_abdominal": (45.0, 15, A + "BED10 58.5 Gy in 3-Gy fractions: stomach and duodenum nearby (statement 7: moderately hypofractionated, risk-adapted)"),
}


def schedule_section(dose: float | object = None, fractions: int | object = None, source: str = "") -> Section:
    """One site's schedule: total dose and fractions (required when no default is given)."""
    d = REQUIRED if dose is None else dose
    k = REQUIRED if fractions is None else fractions
    return Section(
        {
            "dose_gy": Float(d, lo=0.0, lo_open=True, hi=UNIT_MAX["Gy"], unit="Gy", doc="total dose", source=source),
            "fractions": Int(k, lo=1, hi=60, unit="fractions", doc="number of fractions", source=source),
        }
    )


SCHEDULES = Section(
    {site: schedule_section(dose, k, src) for site, (dose, k, src) in _SITE_SCHEDULES.items()},
    doc="metastasis schedule by site for arms with metastasis_schedule = by_site (model 6.1): each metastatic organ, distant nodes by station",
)
assert tuple(SCHEDULES.fields) == codes.SITE_NAMES


def check_schedule_keys(arm, given) -> list[tuple[str, str]]:
    """A schedule key the arm's metastasis_schedule would not use is an error, not ignored."""
    if arm["metastasis_schedule"] == "by_site":
        return [(k, "is not used with metastasis_schedule = by_site (each metastasis gets its site's schedule): remove it, or give the site's schedule in site_schedules") for k in ("metastasis_dose_gy", "metastasis_fractions") if k in given]
    if "site_schedules" in given and arm["site_schedules"]:
        return [("site_schedules", "is used only with metastasis_schedule = by_site: set it, or give one schedule with metastasis_dose_gy and metastasis_fractions")]
    return []


#: sites of an arm's re-irradiation table: the primary's field (the primary, regional nodes and
#: distant nodes put in its field), then the metastatic sites of radiotherapy.schedules
REIRRADIATION_SITES = ("primary",) + codes.SITE_NAMES

#: default hours between the fractions of one day: the minimum of twice-daily protocols
DEFAULT_INTERVAL_H = 6.0
_INTERVAL_SOURCE = "the protocol minimum of twice-daily schedules: fractions at least 6 h apart (RTOG 90-03, Fu et al. 2000)"


def per_day_key(doc: str = "fractions given on one treatment day: 2 for twice-daily (BID) schedules") -> Int:
    """``fractions_per_day``: 1 to 3 fractions a treatment day."""
    return Int(1, lo=1, hi=3, unit="fractions/day", doc=doc)


def interval_key() -> Float:
    """``interfraction_interval_h``: hours between the fractions of one day (model 6.2)."""
    return Float(
        DEFAULT_INTERVAL_H, lo=0.0, lo_open=True, hi=24.0, unit="h",
        doc="hours between the fractions of one treatment day, with fractions_per_day >= 2: the damage "
        "not yet repaired after this interval adds to the next fraction's (model 6.2)",
        source=_INTERVAL_SOURCE,
    )


def check_daily_keys(sec, given) -> list[tuple[str, str]]:
    """An interval without same-day fractions is an error, not ignored; and a day's fractions
    must fit in a day with the night's gap at least one interval long (the model counts repair
    between days as complete)."""
    per_day, interval = int(sec["fractions_per_day"]), float(sec["interfraction_interval_h"])
    if per_day == 1 and "interfraction_interval_h" in given:
        return [("interfraction_interval_h", "is used only with fractions_per_day >= 2 (one fraction a day: repair is complete between days): remove it, or set fractions_per_day")]
    if per_day * interval > 24.0:
        return [("interfraction_interval_h", f"must be <= 24 h / fractions_per_day = {24.0 / per_day:g} h: the {per_day} fractions of a day and the gap to the next day's first, at least one interval, must fit in 24 h")]
    return []


def reirradiation_section() -> Section:
    """One site's re-irradiation schedule: total dose, fractions, fractions a day, interval."""
    source = "set per arm: the study's re-irradiation schedule for that site"
    return Section(
        {
            "dose_gy": Float(REQUIRED, lo=0.0, lo_open=True, hi=UNIT_MAX["Gy"], unit="Gy", doc="total dose of the re-irradiation", source=source),
            "fractions": Int(REQUIRED, lo=1, hi=60, unit="fractions", doc="number of fractions", source=source),
            "fractions_per_day": per_day_key(),
            "interfraction_interval_h": interval_key(),
        },
        check_given=lambda sec, given, path: check_daily_keys(sec, given),
    )


def reirradiation_table() -> Table:
    """An arm's ``reirradiation_schedules``: by site, the schedule of a repeat course (model 6.6)."""
    return Table(
        reirradiation_section(),
        key_pattern="^(" + "|".join(REIRRADIATION_SITES) + ")$",
        doc="the schedule a lesion of the site gets when it is irradiated again (irradiated before, in the simulation "
        "or before entry), {dose_gy, fractions, fractions_per_day, interfraction_interval_h} each; 'primary' is the "
        "primary's field (the primary, regional nodes and distant nodes in its field), the other sites those of "
        "radiotherapy.schedules. A site not listed is re-irradiated with the arm's own schedule for it (model 6.6)",
    )


#: radiotherapy.repair_half_time_*: incomplete repair between same-day fractions (model 6.2)
REPAIR_HALF_TIMES = {
    "repair_half_time_early_h": _nonneg(
        1.0, "h",
        "half-time of sublethal-damage repair in tumour and early-responding tissue (every alpha_beta_tumour_gy dose: BED10, marrow); "
        "with fractions_per_day >= 2 the damage not repaired between same-day fractions adds to the dose's effect (Thames 1985 incomplete repair, model 6.2); 0 = complete repair",
        A + "no estimate exists for esophageal SCC; 1 h lies within the 0.5-2 h commonly assumed for tumours in incomplete-repair "
        "calculations, and at 6 h intervals the term is small (theta = 1/64); the marrow takes the tumour's value as it takes its alpha/beta",
    ),
    "repair_half_time_late_h": _nonneg(
        4.0, "h",
        "half-time of sublethal-damage repair in late-responding normal tissue (every alpha_beta_late_gy dose: esophagus, lung, cumulative re-irradiation dose; model 6.2); 0 = complete repair",
        "Bentzen, Saunders & Dische, Radiother Oncol 1999;53:219 and Dische & Saunders, Acta Oncol 1999;38:147 (CHART: late-morbidity half-times over 4 h; "
        "Joiner & van der Kogel's Basic Clinical Radiobiology tabulates 3.5-4.9 h for telangiectasia, fibrosis and laryngeal oedema); 4 h, the lower end, is an assumption for esophagus and lung",
    ),
}
