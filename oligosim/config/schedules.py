"""RT schedules by site (model 6.1): the ``radiotherapy.schedules`` table and its entries.

Statement 7: SBRT or hypofractionated RT for metastases, conventional fractionation next to the
esophagus; statement 8: curative doses, adjusted to each site's risk. Arms with
``metastasis_schedule = "by_site"`` give each metastasis its site's schedule from this table
(overridden by their ``site_schedules``); ``configs/base.toml`` repeats the defaults for users to
see and edit (a test keeps the two equal).
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, UNIT_MAX
from oligosim.config.nodes import REQUIRED, Float, Int, Section

__all__ = ["SCHEDULES", "schedule_section"]

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
