"""The diffuse, uncountable disease compartment (docs/model.md 4.9): ``disease.diffuse``.

Pleural or peritoneal carcinomatosis is not a countable lesion: statement 1 makes diffuse serosal
disease never oligometastatic, whatever else is seen. The model carries it as one patient-level
compartment (a log-volume, absent, occult or seen) that some seeding events start instead of a
lesion. Off by default: the published series give its share of metastatic sites only as
qualitative differences between histologies, so every value here is an assumption with its reason.
"""

from __future__ import annotations

from oligosim.config.leaves import A, _nonneg, _pos, _prob, _sdlog
from oligosim.config.nodes import Bool, Section

__all__ = ["DIFFUSE"]

_VERSTEGEN = (
    "Verstegen et al., World J Gastroenterol 2020 (nationwide autopsy series, 268 patients with metastatic esophageal cancer): "
    "esophageal adenocarcinoma metastasised to the peritoneum more often than squamous cell carcinoma"
)

DIFFUSE = Section(
    {
        "enabled": Bool(
            True,
            doc="a seeding event may start diffuse serosal disease (pleural or peritoneal carcinomatosis) instead of a lesion (model 4.9); "
            "false: the mechanism is off and every result is as without it; on since 2026-12-08, as the v2 fit assumed "
            "(docs/calibration/v2/factors), with the onset and entry shares below at their assumed values (not fitted)",
        ),
        "onset_fraction_escc": _prob(
            0.03, "share of an ESCC patient's seeding events that start (or, once present, add to) diffuse serosal disease instead of making a lesion",
            A + "no series reports carcinomatosis per dissemination event; pleural or peritoneal dissemination is an uncommon site of "
            "recurrence of squamous cell carcinoma (lung, liver and bone were the commonest distant sites in Su et al., J Thorac Dis, 190 recurrences after complete resection of ESCC); "
            "kept small; the v2 fit kept it, with the switch on, and did not fit it",
        ),
        "onset_fraction_eac": _prob(
            0.10, "the same for an adenocarcinoma patient",
            A + _VERSTEGEN + "; the value is not read from the paper (it reports sites at death, not per dissemination event), "
            "only its direction: about three times the ESCC share",
        ),
        "entry_fraction_escc": _prob(
            0.0, "probability that an ESCC patient has occult diffuse serosal disease at entry (below what staging shows; "
            "its volume log-uniform between a seed's and the patient's detection threshold)",
            A + "0: no series measures occult carcinomatosis in patients staged as oligometastatic; a sensitivity lever "
            "(docs/calibration/README.md measures it against the recurrence target)",
        ),
        "entry_fraction_eac": _prob(
            0.0, "the same for an adenocarcinoma patient",
            A + "0 as for ESCC; staging laparoscopy finds occult peritoneal disease in some adenocarcinomas of the "
            "gastro-esophageal junction, but no value is fixed for the model's population",
        ),
        "detection_volume_cm3": _pos(
            2.0, "cm3", "median volume of the diffuse disease at which a scan shows it (nodularity, effusion or ascites); "
            "each patient's threshold is this times exp(detection_sdlog Z)",
            A + "a sheet of sub-centimetre implants with a small effusion; CT sensitivity for small peritoneal implants is low, "
            "so the threshold is set well above a single visible nodule (0.3 cm3 is an 8-mm nodule)",
        ),
        "detection_sdlog": _sdlog(
            1.0, "between-patient sd of the log detection volume of diffuse disease",
            A + "whether it shows first as an effusion or as implants varies widely between patients",
        ),
        "death_weight": _nonneg(
            2.0, "", "relative lethality per cm3 of diffuse disease, as disease.death_weights by organ (its death hazard is "
            "death_hazard_per_cm3_month x this x its volume)",
            A + "the peritoneum's weight in disease.death_weights: malignant effusion, ascites and bowel obstruction kill at small volumes",
        ),
    },
    doc="diffuse serosal disease (pleural or peritoneal carcinomatosis) as one uncountable compartment per patient (model 4.9); off by default",
)
