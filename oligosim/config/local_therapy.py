"""Surgery and thermal ablation as a chosen local therapy (model 6.10).

Statement 4 leaves the local modality to the multidisciplinary team: an arm names, by RT site
(``codes.SITE_NAMES``), whether its metastases there get RT (the default everywhere), surgery
(metastasectomy, lymphadenectomy) or thermal ablation (radiofrequency or microwave), in
``arms.<arm>.local_modality``. Each non-RT modality has its own parameters in
``local_therapy.<modality>``: control probability by lesion size, residual of an uncontrolled
lesion, grade >= 3 complication and procedure mortality, whether a lesion it treated may get
it again, and how long the running line's chemotherapy is held after it. Sources are in each key's ``source`` (docs/model.md section 6.10).
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, _nonneg, _pos, _prob
from oligosim.config.nodes import Bool, Choice, Section, Table

__all__ = ["LOCAL_THERAPY", "LOCAL_MODALITY", "LOCAL_MODALITY_BY_SIZE", "PROCEDURE_MODALITIES", "check_modality_by_size"]

#: the modalities with parameters of their own (every one except RT), in codes.LOCAL_NAMES order
PROCEDURE_MODALITIES = codes.LOCAL_NAMES[1:]

_SURGERY = Section(
    {
        "control_small": _prob(
            0.9, "probability that resection controls a lesion up to size_threshold_cm for good (complete resection, no recurrence at the margin)",
            "Pastorino 1997 (International Registry of Lung Metastases, 5,206 patients): complete resection in 88%; rounded",
        ),
        "control_large": _prob(
            0.8, "the same for a lesion larger than size_threshold_cm",
            A + "a larger lesion is more often resected with a positive margin; no series in esophageal cancer gives the rate by size",
        ),
        "size_threshold_cm": _pos(
            5.0, "cm", "diameter above which control_large applies",
            A + "a common limit of what series call a small resectable metastasis; not fitted",
        ),
        "residual_log10_kill": _nonneg(
            2.0, "log", "an uncontrolled lesion keeps this many log10 fewer cells; its residual regrows in field (a local failure)",
            A + "as the existing surgery-or-ablation fallback at progression (model 6.7): 2 logs",
        ),
        "complication": _prob(
            0.15, "probability of a grade >= 3 (Clavien-Dindo >= III) complication of the procedure",
            A + "above lung metastasectomy's 9.3% postoperative complications of any grade (Younes 2009, 529 patients), for hepatectomy's higher morbidity; no esophageal-cancer series reports complications by grade",
        ),
        "mortality": _prob(
            0.02, "probability of death from the procedure (30/90-day mortality)",
            A + "above lung metastasectomy's 0.2% 30-day mortality (Younes 2009, 529 patients), toward the few percent of hepatectomy series",
        ),
        "repeat": Bool(
            False, doc="may a lesion resected before, whose residual regrew, be resected again (else it gets RT); assumption: a margin recurrence is usually irradiated or ablated",
        ),
        "systemic_pause_days": _nonneg(
            24.5, "days", "days the running line's chemotherapy is held after the operation (anti-PD-1 goes on, as during a sequential RT course; a line started meanwhile waits); 0: no hold",
            "Nordlinger 2008 (EORTC 40983, perioperative FOLFOX around resection of liver metastases): postoperative chemotherapy 2-5 weeks after surgery by protocol; the midpoint, 3.5 weeks (the protocol's interval is quoted from memory of the paper, not read here)",
        ),
    },
    doc="surgery (metastasectomy, lymphadenectomy) chosen as a site's local therapy",
)

_ABLATION = Section(
    {
        "control_small": _prob(
            0.9, "probability that ablation controls a lesion up to size_threshold_cm for good (no local tumour progression)",
            A + "within the 2-60% local recurrence of Mulier 2005's 95 series of hepatic radiofrequency ablation (5,224 tumours), toward its low end for small tumours",
        ),
        "control_large": _prob(
            0.7, "the same for a lesion larger than size_threshold_cm",
            A + "Mulier 2005: tumour size an independent predictor of local recurrence; the value is within its reported range, not read from it",
        ),
        "size_threshold_cm": _pos(
            3.0, "cm", "diameter above which control_large applies",
            A + "the 3-cm limit usual in ablation series (Mulier 2005 finds size an independent predictor; the cut-off is not read from it)",
        ),
        "residual_log10_kill": _nonneg(
            2.0, "log", "an uncontrolled lesion keeps this many log10 fewer cells; its residual regrows in field (local tumour progression)",
            A + "as the existing surgery-or-ablation fallback at progression (model 6.7): 2 logs",
        ),
        "complication": _prob(
            0.022, "probability of a major (grade >= 3) complication of the procedure",
            "Livraghi 2003 (2,320 patients, percutaneous radiofrequency ablation of liver tumours): major complications 2.2%",
        ),
        "mortality": _prob(
            0.003, "probability of death from the procedure",
            "Livraghi 2003: procedure mortality 0.3%",
        ),
        "repeat": Bool(
            True, doc="may a lesion ablated before, whose residual regrew, be ablated again; assumption: local tumour progression after ablation is commonly re-ablated",
        ),
        "systemic_pause_days": _nonneg(
            7.0, "days", "days the running line's chemotherapy is held after the ablation (as for surgery); 0: no hold",
            A + "percutaneous ablation is usually a day-case or overnight procedure and chemotherapy resumes within about a week; no series giving the interval was found",
        ),
    },
    doc="thermal (radiofrequency or microwave) ablation chosen as a site's local therapy",
)

LOCAL_THERAPY = Section(
    {"surgery": _SURGERY, "ablation": _ABLATION},
    doc="surgery and thermal ablation where an arm chooses them as a site's local therapy (arms.<arm>.local_modality; model 6.10)",
)
assert tuple(LOCAL_THERAPY.fields) == PROCEDURE_MODALITIES

LOCAL_MODALITY = Section(
    {
        site: Choice(codes.LOCAL_NAMES, "rt", doc=f"local therapy of the arm's {site} metastases: RT, surgery or thermal ablation")
        for site in codes.SITE_NAMES
    },
    doc="the local therapy the arm chooses by site (statement 4: the MDT's choice; model 6.10): rt (default), surgery or ablation",
)

#: a size rule of one site: lesions up to ``max_diameter_cm`` get the site's local_modality, larger
#: ones ``above`` (model 6.10)
_SIZE_RULE = Section(
    {
        "max_diameter_cm": _pos(
            3.0, "cm", "largest diameter (the lesion's true size when the local therapy is planned) that still gets the site's local_modality; larger lesions get `above`",
            "thermal ablation of colorectal liver metastases is established for lesions <= 3 cm, its efficacy falling with size above "
            "(systematic review of intermediate-size 3-5 cm metastases, Curr Oncol Rep 2022, doi:10.1007/s11912-022-01248-6, PMC9054902)",
        ),
        "above": Choice(codes.LOCAL_NAMES, "rt", doc="local therapy of the site's lesions larger than max_diameter_cm: rt (default), surgery or ablation"),
    },
    doc="one site's choice of local therapy by lesion size",
)

LOCAL_MODALITY_BY_SIZE = Table(
    _SIZE_RULE,
    key_pattern="^(" + "|".join(codes.SITE_NAMES) + ")$",
    doc="the local therapy by lesion size, per site (model 6.10): a site listed here gives its local_modality to lesions up to "
    "max_diameter_cm and `above` to larger ones (e.g. ablation up to 3 cm, RT above); a site not listed uses local_modality at any size (the default: no site)",
)


def check_modality_by_size(arm) -> list[tuple[str, str]]:
    """A size rule must change the choice: ``above`` equal to the site's local_modality would make
    it do nothing (an error, not ignored)."""
    out = []
    for site, rule in arm["local_modality_by_size"].items():
        small = arm["local_modality"][site]
        if rule["above"] == small:
            out.append((
                f"local_modality_by_size.{site}.above",
                f"must differ from local_modality.{site} (\"{small}\", the choice up to max_diameter_cm): the rule would change nothing; remove it or name another modality",
            ))
    return out
