"""The ``[locoregional]`` section of the scenario schema: the primary, its bed and the regional
nodes after entry (docs/model.md 3.7, 4.2, 6.9), with the published source of every default."""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, CAL, _nonneg, _pos, _prob, _sums_to_one
from oligosim.config.nodes import Bool, Section

_PET_NODE_SENSITIVITY = 0.66  # BRIEF 1: PET/CT sensitivity 66% for nodes > 5 mm

PRIMARY_TREATMENT = Section(
    {
        "surgery": _prob(1.0, "share of non-synchronous patients whose primary was resected", A + "set per study; by default esophagectomy, the commonest curative treatment of the primary before a metachronous recurrence in Chinese series"),
        "definitive_crt": _prob(0.0, "share whose primary had definitive chemoradiotherapy", "set per study (BRIEF 10, scenario 3)"),
    },
    doc="how a non-synchronous patient's primary was treated before entry (model 3.3); must sum to 1",
    check=_sums_to_one(codes.PRIMARY_TREATMENT_NAMES, "primary-treatment shares"),
)

PRIMARY_LEVEL = Section(
    {
        name: _prob(v, f"share of primaries at level {name} ({what})", src)
        for name, v, what, src in (
            ("neck", 0.05, "cervical esophagus", A + "cervical ESCC is a few percent of Chinese series"),
            ("upper_mediastinum", 0.15, "upper thoracic", A + "upper thoracic 10-15% in Chinese ESCC series"),
            ("lower_mediastinum", 0.70, "middle and lower thoracic", A + "middle thoracic 55-60% and lower thoracic about 25% in Chinese ESCC series, less their junctional part"),
            ("abdominal", 0.10, "abdominal esophagus and junction", A + "most adenocarcinomas sit here: raise it for EAC cohorts"),
        )
    },
    doc="level of the primary (and of its bed after treatment), on the nodal stations' scale; must sum to 1",
    check=_sums_to_one(codes.STATION_NAMES, "primary-level shares"),
)

LOCOREGIONAL = Section(
    {
        "primary_treatment": PRIMARY_TREATMENT,
        "primary_level": PRIMARY_LEVEL,
        "occult_regional_nodes_mean_synchronous": _nonneg(
            round(1.5 * (1.0 - _PET_NODE_SENSITIVITY) / _PET_NODE_SENSITIVITY, 4), "nodes",
            "mean number of occult (sub-detectable) positive regional nodes with the primary in place (Poisson)",
            "BRIEF 1: PET/CT finds 66% of involved nodes, so about 0.52 are missed per node seen: 1.5 seen (cohort.lesions.regional_nodes_mean) x 0.34/0.66",
        ),
        "bed_relapse_probability_after_surgery": _prob(
            0.05, "probability that a resected patient enters with occult disease at the anastomosis or tumour bed",
            "Wang 2018 (Oncol Lett 15:4033), 244 first recurrences after radical esophagectomy: anastomotic 4.0% without and 11.5% with postoperative RT",
        ),
        "occult_regional_nodes_mean_after_surgery": _nonneg(
            0.15, "nodes", "mean number of occult regional nodes at entry after esophagectomy (Poisson)",
            CAL + " stage 3, docs/calibration/stage3: at the lower bound of its prior, uniform 0.15-0.8, set from the patterns of failure: "
            "lymphatic recurrence is the commonest first failure after esophagectomy in Chinese series (Wang 2018: 87.9% of recurrences; Xu and Su, Int J Surg Oncol, 239 locoregional recurrences after three-field dissection: mediastinal, then cervical, then abdominal nodes) "
            "and locoregional recurrence reaches 15-35% of resected patients (Blackham 2018, J Surg Oncol 117:150: 15.1% after neoadjuvant chemoradiation and surgery); 0.15 gives one patient in seven a regional relapse to come; hand-set 0.4 before the fit)",
        ),
        "primary_persistence_probability_after_crt": _prob(
            0.35, "probability that a patient treated by definitive chemoradiotherapy enters with occult persistent or recurrent disease in the irradiated esophagus",
            "Welsh 2012 (Cancer, doi 10.1002/cncr.26586): local failure in 50% of 239 patients after definitive chemoradiation, 90% of it within the GTV; " + A + "about a third of them still to appear when the distant recurrence is found",
        ),
        "occult_regional_nodes_mean_after_crt": _nonneg(
            0.15, "nodes", "mean number of occult regional nodes outside the earlier field at entry after definitive chemoradiotherapy (Poisson)",
            "Li M 2016 (Curr Oncol, doi 10.3747/co.23.2846), involved-field chemoradiotherapy: elective nodal failure in 12.5% of 56 patients",
        ),
        "crt_eqd2_gy": _pos(50.0, "Gy", "EQD2 (alpha/beta 3) the esophagus received in the definitive course", "statement 8: primary EQD2 50-60 Gy"),
        "regional_seeding_fraction": _prob(
            0.8, "share of the metastases seeded by the primary and the regional nodes that land in the regional nodes (lymphatic) rather than at distant sites",
            CAL + " stage 3, docs/calibration/stage3: at the upper bound of its prior, uniform 0.2-0.8; hand-set 0.5 before the fit, lymphatic and haematogenous spread about equally frequent: regional nodes are positive in about half of resected specimens and the commonest site of first recurrence (Wang 2018), while distant organs are involved at autopsy in 50-56%, BRIEF 1)",
        ),
        "tumour_fistula_rate_per_month": _nonneg(
            0.0035, "1/month",
            "hazard of a tumour fistula (esophago-respiratory or -mediastinal perforation by the tumour itself) while the primary is in place and neither controlled nor eradicated",
            A + "Kim et al., Med Oncol 2010: esophago-respiratory fistula in 4.7% of 1,095 ESCC patients, 65% of them from cancer progression rather than treatment, a median 7.9 months after diagnosis; "
            "about 3% of all patients over the course of their disease, most of whom had the primary in place, gives about 0.3-0.4% a month; RT fistulas are separate (toxicity.fistula_*)",
        ),
        "survival_after_tumour_fistula_months": _pos(
            3.6, "months", "median survival after a tumour fistula (exponential); no further systemic or local therapy is started",
            "Guan et al., Biosci Rep 2020: median post-fistula survival 3.63 months in 221 patients with advanced ESCC; Kim 2010: 8 weeks; stent or gastrostomy in most (Kim 2010: 40% and 38%)",
        ),
        "field_covers_station": Bool(True, doc="an RT course to a lymph node, or to the primary, also treats the occult regional (or, for a distant node, distant) nodes in the same station or at the primary's level (involved-station clinical target volume); false: the visible targets only"),
    },
    doc="the primary, its bed and the regional nodes after entry (model 3.3, 4.2, 6.8, 7.4)",
)
