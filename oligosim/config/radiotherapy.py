"""The ``[radiotherapy]`` and ``[toxicity]`` sections of a scenario (model 6 and 9): schedules,
the linear-quadratic and TCP parameters, the organs at risk's shares of the dose, the NTCPs and
how toxicity is counted.

Split out of :mod:`oligosim.config.schema`, which assembles the whole scenario schema.
"""

from __future__ import annotations

from oligosim.config.leaves import A, CAL, CAL2, _nonneg, _organ_table, _pos, _prob, UNIT_MAX
from oligosim.config.nodes import Bool, Choice, Float, Section
from oligosim.config.schedules import REPAIR_HALF_TIMES, SCHEDULES
from oligosim.radiobiology.params import DEFAULT_TCP_PARAMS as TCP

#: ceiling of the dose thresholds (TCP's BED50, the LKB TD50s): a threshold only divides, so a
#: huge one is sound and means "never" (tests switch local control or toxicity off with 1e6 Gy)
THRESHOLD_MAX_GY = 1e12

# ----------------------------------------------------------------------------- radiotherapy

_ESO_FRACTION = {
    "primary": 1.0,
    "regional_node": 0.7,
    "liver": 0.0,
    "lung": 0.05,
    "bone": 0.05,
    "brain": 0.0,
    "adrenal": 0.0,
    "soft_tissue": 0.0,
    "peritoneum": 0.0,
}
# A distant (non-regional) node's share depends on its station, not on the organ: mediastinal
# stations lie against the esophagus (or the gastric conduit after esophagectomy) like a regional
# node, so an ablative schedule there brings the fistula risk statement 7 warns of; cervical and
# abdominal stations are centimetres away.
_ESO_FRACTION_STATION = {
    "neck": 0.15,
    "upper_mediastinum": 0.7,
    "lower_mediastinum": 0.7,
    "abdominal": 0.1,
}
# Mean dose to the whole active bone marrow as a share of the prescribed dose (in every fraction),
# by target organ. The thoracic vertebrae hold about 16% of adult active marrow, the ribs 16% and
# the sternum 3% (Cristy 1981); a conventional field around the primary crosses about half of
# the thoracic vertebrae near full dose, a stereotactic field a few cm3 of marrow.
_MARROW_FRACTION = {
    "primary": 0.10,
    "regional_node": 0.02,  # in the primary's field: little extra marrow
    "distant_node": 0.03,
    "liver": 0.01,
    "lung": 0.01,
    "bone": 0.03,
    "brain": 0.0,
    "adrenal": 0.02,
    "soft_tissue": 0.01,
    "peritoneum": 0.02,
}
_LUNG_FRACTION = {
    "primary": 0.2,
    "regional_node": 0.02,  # nodes next to the primary share its field: little extra lung dose
    "liver": 0.03,
    "lung": 0.06,
    "distant_node": 0.06,
    "bone": 0.03,
    "brain": 0.0,
    "adrenal": 0.02,
    "soft_tissue": 0.02,
    "peritoneum": 0.0,
}

# Heart, spinal cord and bowel (model 6.5): the heart by its mean dose (pericardial effusion is
# a volume effect, Martel 1998), the spinal cord and the bowel by the dose to their most exposed
# part (serial organs). Mean heart dose is 15-25 Gy of 50-60 Gy in IMRT of the thoracic esophagus
# (Beukema 2015, Radiother Oncol 115:15), so about 0.3; the cord's maximum is held to 45 Gy of
# 60 Gy in conventional plans (0.75, the QUANTEC planning limit, Kirkpatrick 2010); a stereotactic
# field keeps a few tenths of its dose on a neighbouring cord or bowel loop.
_HEART_FRACTION = {
    "primary": 0.3,
    "regional_node": 0.05,  # in the primary's field: little extra heart dose
    "liver": 0.03,
    "lung": 0.04,
    "bone": 0.01,
    "brain": 0.0,
    "adrenal": 0.01,
    "soft_tissue": 0.01,
    "peritoneum": 0.01,
}
_HEART_FRACTION_STATION = {"neck": 0.0, "upper_mediastinum": 0.15, "lower_mediastinum": 0.3, "abdominal": 0.03}
_CORD_FRACTION = {
    "primary": 0.75,
    "regional_node": 0.75,
    "liver": 0.1,
    "lung": 0.25,
    "bone": 0.4,  # about half of bone metastases are spinal; a spine SBRT plan holds the cord near 0.5
    "brain": 0.0,
    "adrenal": 0.25,
    "soft_tissue": 0.1,
    "peritoneum": 0.2,
}
_CORD_FRACTION_STATION = {"neck": 0.6, "upper_mediastinum": 0.75, "lower_mediastinum": 0.75, "abdominal": 0.5}
_BOWEL_FRACTION = {
    "primary": 0.2,  # the stomach below a distal primary
    "regional_node": 0.1,
    "liver": 0.5,  # duodenum, stomach and colon next to a liver target
    "lung": 0.0,
    "bone": 0.1,
    "brain": 0.0,
    "adrenal": 0.5,
    "soft_tissue": 0.1,
    "peritoneum": 0.9,
}
_BOWEL_FRACTION_STATION = {"neck": 0.0, "upper_mediastinum": 0.0, "lower_mediastinum": 0.1, "abdominal": 0.7}


def _oar_tables(name: str, by_organ: dict, by_station: dict, what: str, source: str) -> dict:
    """The by-organ and by-nodal-station share tables of one organ at risk."""
    return {
        f"{name}_dose_fraction": _organ_table(
            by_organ,
            lambda v: Float(v, lo=0.0, hi=1.0, doc=f"share of the prescribed dose reaching {what} (in every fraction; its EQD2 follows from that dose per fraction), by target organ (distant nodes: by station, below)", source=source),
        ),
        f"{name}_dose_fraction_node_station": _organ_table(
            by_station,
            lambda v: Float(v, lo=0.0, hi=1.0, doc=f"share of the prescribed dose reaching {what} for a distant lymph-node target, by nodal station", source=source),
        ),
    }


RADIOTHERAPY = Section(
    {
        "schedules": SCHEDULES,
        "alpha_beta_tumour_gy": Float(10.0, lo=0.1, hi=UNIT_MAX["Gy"], ceiling=True, unit="Gy", doc="alpha/beta of tumour (at least 0.1 Gy, below any measured tissue: smaller values overflow the BED)", source="BRIEF 6; conventional value for squamous and adenocarcinoma"),
        "alpha_beta_late_gy": Float(3.0, lo=0.1, hi=UNIT_MAX["Gy"], ceiling=True, unit="Gy", doc="alpha/beta of late-responding normal tissue (at least 0.1 Gy, as alpha_beta_tumour_gy)", source="BRIEF 6"),
        "tcp_bed50_ref_gy": Float(TCP.bed50_ref_gy, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="BED10 controlling half of the lesions of the reference volume (log-logistic TCP; at least 1 Gy: the TCP divides by it); up to 1e12 Gy, a dose no course reaches (RT never controls / never harms)", source=CAL2 + ", prior log-uniform 50-100 Gy; 69.18 before 2026-12-08; started from 73.88, the closed form through the Moreno 2020 and Cao 2023 anchors, model 6.3)"),
        "tcp_gamma50": _pos(TCP.gamma50, "", "normalised slope of the TCP curve at 50%", CAL + ", prior log-uniform 0.6-3; closed form 1.814, model 6.3)"),
        "tcp_volume_ref_cm3": _pos(TCP.volume_ref_cm3, "cm3", "reference lesion volume of tcp_bed50_ref_gy", A + "a typical SBRT lesion read into Moreno 2020's 90% at BED10 100 Gy"),
        "tcp_volume_exponent": Float(TCP.volume_exponent, lo=0.0, hi=3.0, doc="BED50 grows as (V / V_ref)^exponent (at most 3, BED50 as the volume cubed: larger powers of a small volume ratio underflow BED50 to 0)", source=CAL + ", prior uniform 0-0.6; closed form 0.3963 from the Cao 2023 volume split, model 6.3)"),
        "uncontrolled_log_kill_per_gy": _nonneg(0.03, "1/Gy", "natural-log volume reduction per Gy BED10 of a lesion RT does not control", A + "sets the time to in-field recurrence"),
        "start_delay_days": _nonneg(14.0, "days", "from the decision to RT until the first fraction", A + "simulation and planning"),
        "immunotherapy_continues_during_rt": Bool(True, doc="when a sequential strategy pauses a chemo-immunotherapy line for an RT course, the anti-PD-1 component goes on at the regimen's maintenance kill rate (BRIEF 5 and the consensus: immunotherapy has a long half-life and need not pause during RT; only chemotherapy waits); false: the whole line pauses, as before 2026-12-06"),
        "chemo_before_rt_effect": Bool(True, doc="chemotherapy before RT worsens local control (accelerated repopulation, resistant survivors; BRIEF 5 records the hypothesis)"),
        "chemo_before_rt_bed10_loss_gy": _nonneg(6.0, "Gy", "BED10 lost by lesions exposed to chemotherapy before RT", A + "hypothesis in the consensus; switch off with chemo_before_rt_effect"),
        "abscopal_probability": _prob(0.0, "probability that an RT course with immunotherapy shrinks unirradiated lesions", A + "evidence thin; off by default, a parameter for study"),
        "abscopal_log_kill": _nonneg(1.0, "log", "natural-log reduction of unirradiated lesions' volume in an abscopal response", A + "one log of volume, a partial response; only used when abscopal_probability > 0"),
        "esophagus_dose_fraction": _organ_table(_ESO_FRACTION, lambda v: Float(v, lo=0.0, hi=1.0, doc="share of the prescribed dose reaching the esophagus (its most exposed part, in every fraction; its EQD2, alpha/beta 3, follows from that dose per fraction), by target organ (distant nodes: by station, below)", source=A + "geometry of a typical plan")),
        "esophagus_dose_fraction_node_station": _organ_table(
            _ESO_FRACTION_STATION,
            lambda v: Float(
                v, lo=0.0, hi=1.0,
                doc="share of the prescribed dose reaching the esophagus for a distant lymph-node target, by nodal station (as esophagus_dose_fraction)",
                source=A + "geometry of a typical plan: mediastinal stations abut the esophagus or conduit as a regional node does (0.7, the regional-node value); statement 7 recommends conventional fractionation there for the fistula risk",
            ),
        ),
        "marrow_mean_dose_fraction": _organ_table(
            _MARROW_FRACTION,
            lambda v: Float(
                v, lo=0.0, hi=1.0,
                doc="mean dose to the whole active bone marrow as a share of the prescribed dose (in every fraction; its EQD2 with alpha/beta 10 follows from that dose per fraction), by target organ; a course's targets add up",
                source=A + "share of the active marrow a typical field crosses, times the dose it gets there: a field around the esophagus crosses about half of the thoracic vertebrae (16% of adult active marrow, Cristy 1981) near full dose; stereotactic fields a few percent",
            ),
        ),
        **_oar_tables("heart_mean", _HEART_FRACTION, _HEART_FRACTION_STATION, "the heart as its mean dose (the course's largest over its targets: mediastinal targets share one field)", A + "geometry of a typical plan: mean heart dose 15-25 Gy of 50-60 Gy for the thoracic esophagus (Beukema 2015, Radiother Oncol 115:15), a lower mediastinal node like the primary"),
        **_oar_tables("spinal_cord", _CORD_FRACTION, _CORD_FRACTION_STATION, "the spinal cord's most exposed point (the course's largest over its targets)", A + "geometry of a typical plan: conventional plans hold the cord's maximum to 45 Gy of 60 Gy (QUANTEC, Kirkpatrick 2010), stereotactic plans keep a few tenths of the dose on a neighbouring cord"),
        **_oar_tables("bowel", _BOWEL_FRACTION, _BOWEL_FRACTION_STATION, "the most exposed bowel or stomach (the course's largest over its targets; its effective dose for a partial volume)", A + "geometry of a typical plan: abdominal nodes and peritoneal targets lie against bowel loops, liver and adrenal targets near the duodenum and stomach; thoracic targets spare the bowel"),
        "oar_dose_scales_with_size": Bool(True, doc="the mean-dose shares (lung, heart, marrow) of a metastatic target grow with its planning target volume, (V_PTV / V_PTV,ref)^oar_volume_exponent, the PTV being the lesion's sphere grown by ptv_margin_cm (model 6.5); the primary and regional nodes keep their share (their field is set by the involved-field rule, not by one lesion's size); false: one share whatever the size, as before 2026-12-06"),
        "oar_reference_diameter_cm": _pos(2.0, "cm", "lesion diameter at which the mean-dose shares apply unchanged", A + "a typical metastasis treated with SBRT (1-3 cm in SABR-COMET and the ESO-Shanghai 13 era series)"),
        "ptv_margin_cm": _nonneg(0.5, "cm", "margin from a metastatic lesion to its planning target volume", A + "3-5 mm GTV-to-PTV margins of image-guided SBRT; conventional plans add 1 cm CTV and 5 mm PTV (consensus, Zhao 2023), so larger fields are understated"),
        "oar_volume_exponent": Float(0.5, lo=0.0, hi=1.0, doc="exponent of the PTV-volume ratio that scales the mean-dose shares (0 = no effect of size; 1 = proportional to the PTV volume)", source=A + "the low-dose bath grows more slowly than the PTV: mean lung dose of lung SBRT roughly doubles when the PTV grows fivefold in dosimetric series; a square root"),
        "lung_mean_dose_fraction": _organ_table(_LUNG_FRACTION, lambda v: Float(v, lo=0.0, hi=1.0, doc="mean lung dose as a share of the prescribed dose (in every fraction; its EQD2, alpha/beta 3, follows from that dose per fraction), by target organ; a course's targets add up", source=A + "geometry of a typical plan")),
        **REPAIR_HALF_TIMES,
        "reirradiation_eqd2_limit_gy": _pos(120.0, "Gy", "cumulative EQD2 (alpha/beta 3) to one site allowed after recovery", A + "typical cumulative constraint in re-irradiation series"),
        "recovery_max_fraction": _prob(0.5, "long-term fraction of an earlier course's EQD2 that is recovered", "Nieder 2006; Kirkpatrick 2010 (QUANTEC): about 25% at 6 months rising to about 50%"),
        "recovery_half_time_months": _pos(6.0, "months", "months to half of the long-term recovery", "as recovery_max_fraction"),
        "reirradiation_min_interval_months": _nonneg(6.0, "months", "minimum time since the earlier course", "BRIEF 10 scenario 3: > 6 months since the first course"),
        "alternative_local_control": _prob(0.8, "local-control probability of surgery or ablation when RT is not feasible", A + "statement 12 allows other local therapy"),
    }
)

TOXICITY = Section(
    {
        "esophagitis_td50_gy": Float(77.7143, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="EQD2 to the esophagus with 50% grade >= 3 esophagitis (LKB); at least 1 Gy: the LKB model divides by it; up to 1e12 Gy, a dose no course reaches (RT never controls / never harms)", source=CAL2 + ", prior log-uniform 50-95 Gy; 77.92 before 2026-12-08, docs/calibration/toxicity); started from 72, an assumption scaled so that definitive CRT gave about 7% (Shi 2021)"),
        "esophagitis_m": _pos(0.20, "", "LKB slope", A + "between Burman 1991 (0.11) and Belderbos 2005 (0.36)"),
        "fistula_td50_gy": Float(99.5207, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="EQD2 to the esophagus with 50% fistula (LKB); at least 1 Gy: the LKB model divides by it; up to 1e12 Gy, a dose no course reaches (RT never controls / never harms)", source=CAL2 + ", prior log-uniform 60-140 Gy; 93 before 2026-12-08, set by hand after the toxicity fit's 96.1 Gy to bring ESO-Shanghai 13's 4% within tolerance with Duan's 1.2%); with the organ's own dose per fraction (model 6.5) RT to the primary in place gives 3-4% (BRIEF 8: about 10% after RT for ESCC)"),
        "fistula_m": _pos(0.25, "", "LKB slope", A + "shallower than Burman's stricture slope (0.11) because fistula also depends on tumour invasion"),
        "pneumonitis_td50_gy": Float(27.8824, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="mean lung EQD2 with 50% grade >= 3 pneumonitis (LKB); at least 1 Gy: the LKB model divides by it; up to 1e12 Gy, a dose no course reaches (RT never controls / never harms)", source=CAL2 + ", prior log-uniform 20-60 Gy; 32.5 before 2026-12-08, set by hand after the toxicity fit's 34.3 Gy for Shi 2021's 8.6%); Seppenwoolde 2003 gives 30.8 Gy for grade >= 2"),
        "pneumonitis_m": _pos(0.37, "", "LKB slope", "Seppenwoolde 2003"),
        "concurrent_odds_ratio": _pos(1.6, "", "odds ratio of RT toxicity with concurrent chemotherapy", A + "statement 10: no clear excess; a modest odds ratio"),
        "immunotherapy_pneumonitis_odds_ratio": _pos(1.5, "", "odds ratio of pneumonitis with anti-PD-1", A + "about 4% with RT plus anti-PD-1 (BRIEF 8)"),
        "reirradiation_odds_ratio": _pos(2.2, "", "odds ratio of fistula and esophagitis at re-irradiation", A + "fistula about 20% after re-irradiation (BRIEF 8)"),
        "grade5_fraction_fistula": _prob(0.3, "share of grade >= 3 fistulas that are fatal", A + "fistula with massive bleeding is often fatal; series report 20-40%"),
        "grade5_fraction_pneumonitis": _prob(0.1, "share of grade >= 3 pneumonitis that is fatal", A + "grade 5 is about a tenth of grade >= 3 pneumonitis in RT series"),
        "marrow_td50_gy": Float(87.9237, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="mean active-marrow EQD2 (alpha/beta 10) of an RT course with 50% grade >= 3 leukopenia from the course itself (LKB); at least 1 Gy: the LKB model divides by it; up to 1e12 Gy, a dose no course reaches (RT never lowers the white count)", source=CAL2 + ", prior log-uniform 8-100 Gy; 81.71 before 2026-12-08, docs/calibration/toxicity; the targets want little leukopenia from RT itself: ESO-Shanghai 13 36% vs 35%, Shi 2021 23.2% vs 17.2%, Wang 9.3%); started from 30 Gy, an assumption"),
        "cardiac_td50_gy": Float(50.6, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="mean heart EQD2 (alpha/beta 3) with 50% grade >= 3 cardiac toxicity (LKB; pericardial effusion); at least 1 Gy, up to 1e12 Gy (never)", source="Martel 1998 (Int J Radiat Oncol Biol Phys 40:155), LKB fit to pericardial effusion: TD50 50.6 Gy, m 0.13; with the heart's mean dose (QUANTEC, Gagliardi 2010: pericarditis < 15% below a mean pericardial dose of 26 Gy)"),
        "cardiac_m": _pos(0.13, "", "LKB slope of cardiac toxicity", "Martel 1998"),
        "myelopathy_td50_gy": Float(69.4, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="EQD2 (alpha/beta alpha_beta_cord_gy) at the spinal cord's most exposed point with 50% myelopathy (LKB); at least 1 Gy, up to 1e12 Gy (never)", source="Schultheiss 2008 (Int J Radiat Oncol Biol Phys 71:1455): D50 69.4 Gy; QUANTEC (Kirkpatrick 2010): 0.2% at 50 Gy, 6% at 60 Gy"),
        "myelopathy_m": _pos(0.087, "", "LKB slope of myelopathy", "through QUANTEC's 6% at 60 Gy with TD50 69.4 Gy: m = 9.4 / (1.555 x 69.4) = 0.087, which gives 0.07% at 50 Gy (QUANTEC 0.2%)"),
        "alpha_beta_cord_gy": Float(2.0, lo=0.1, hi=UNIT_MAX["Gy"], ceiling=True, unit="Gy", doc="alpha/beta of the spinal cord (at least 0.1 Gy)", source="QUANTEC (Kirkpatrick 2010) converts cord doses with alpha/beta 2 Gy; Schultheiss 2008 fitted 0.87"),
        "bowel_td50_gy": Float(86.0, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="EQD2 (alpha/beta 3) to the most exposed bowel with 50% grade >= 3 ulcer, bleeding or perforation (LKB); at least 1 Gy, up to 1e12 Gy (never)", source="Burman 1991 (Int J Radiat Oncol Biol Phys 21:123), small intestine obstruction/perforation: TD50 55 Gy for the whole organ, m 0.16, n 0.15, at an effective volume of a twentieth (the loop next to a target): 55 x 20^0.15 = 86 Gy; it gives 3% at the TG-101 duodenal maximum (bowel_planning_limit_gy)"),
        "bowel_planning_limit_gy": Float(60.0, lo=0.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="the most exposed bowel's EQD2 (alpha/beta 3) is held to at most this by planning (the target's coverage gives way, which the model does not charge to local control); up to 1e12 Gy (no limit)", source="AAPM TG-101 (Benedict 2010): duodenal maximum 32 Gy in 5 fractions, EQD2 60 Gy"),
        "myelopathy_planning_limit_gy": Float(50.0, lo=0.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="the spinal cord's maximum EQD2 (alpha/beta alpha_beta_cord_gy) is held to at most this by planning (as bowel_planning_limit_gy); up to 1e12 Gy (no limit)", source="QUANTEC (Kirkpatrick 2010): a cord maximum of 50 Gy in 2-Gy fractions gives 0.2% myelopathy; its stereotactic limits (13 Gy in 1, 20 Gy in 3 fractions) are EQD2 49 and 43 Gy"),
        "bowel_m": _pos(0.16, "", "LKB slope of bowel toxicity", "Burman 1991"),
        "grade5_fraction_bowel": _prob(0.1, "share of grade >= 3 bowel events that are fatal (perforation, massive bleeding)", A + "perforation is a small share of grade >= 3 gastrointestinal events after abdominal SBRT"),
        "conduit_td50_gy": Float(92.0, lo=1.0, hi=THRESHOLD_MAX_GY, ceiling=True, unit="Gy", doc="EQD2 (alpha/beta 3) to the most exposed part of the gastric conduit after esophagectomy with 50% grade >= 3 ulcer, bleeding or fistula (LKB); the conduit takes the esophagus's share of the dose (it lies in the esophageal bed); at least 1 Gy, up to 1e12 Gy (never)", source="Burman 1991 stomach ulceration/perforation (TD50 65 Gy whole organ, m 0.14, n 0.15) at an effective volume of a tenth, 65 x 10^0.15 = 92 Gy (assumption: the part of the conduit next to a nodal target)"),
        "conduit_m": _pos(0.14, "", "LKB slope of conduit toxicity", "Burman 1991 (stomach)"),
        "grade5_fraction_conduit": _prob(0.3, "share of grade >= 3 conduit events that are fatal", A + "as grade5_fraction_fistula: a conduit fistula or massive bleeding is often fatal"),
        "elderly_age_years": _pos(72.0, "years", "patients at least this old have elderly_odds_ratio on every grade >= 3 toxicity (systemic and RT; statement 10)", "Hurria 2011 (J Clin Oncol 29:3457): age >= 72 years, one factor of the CARG chemotherapy-toxicity score"),
        "elderly_odds_ratio": _pos(1.85, "", "odds ratio of every grade >= 3 toxicity (and grade 5) at elderly_age_years or older (1 = no effect)", "Hurria 2011: odds ratio 1.85 for grade 3-5 chemotherapy toxicity at age >= 72 against 65-71 in a cohort aged 65 or more (applied here against every younger patient: assumption); applied to RT toxicity too (assumption: older age raises pneumonitis risk in Vogelius & Bentzen 2012's meta-analysis, Acta Oncol 51:975)"),
        "elderly_reference_share": Float(0.13, lo=0.0, hi=0.99, doc="share of patients at elderly_age_years or older in the series the regimens' toxicity rates and the NTCPs were fitted to: the odds ratio is centred on it (an elderly patient's odds times elderly_odds_ratio^(1 - share), a younger one's times elderly_odds_ratio^(-share)), so that a population of that age mix keeps those rates; 0 = the rates are those of younger patients (below 0.99: a share of 1 leaves no younger patients to centre on)", source=A + "the default cohort's share aged 72 or more (normal, mean 63, sd 8: 13%), the age mix of the first-line trials behind the rates (ESO-Shanghai 13, ESCORT-1st: median age 60-64)"),
        "ecog2_odds_ratio": _pos(1.0, "", "odds ratio of every grade >= 3 toxicity (and grade 5) with ECOG performance status 2 or more (1 = no effect)", A + "no effect by default: Hurria 2011 found the performance status not predictive once age and function were known; a switch for statement 10's risk assessment"),
        "marrow_m": _pos(0.5, "", "LKB slope of RT leukopenia", A + "broad: marrow reserve varies widely between patients (age, earlier chemotherapy)"),
        "cytopenia_correlation": Float(0.95, lo=0.0, hi=1.0, doc="correlation of the latent normal variables deciding grade >= 3 neutropenia and thrombocytopenia with leukopenia's in one line of systemic therapy (Gaussian copula; 0 = independent, 1 = the same draw)", source=A + "neutrophils are most of the white cells and platelets come from the same marrow, so grade >= 3 cytopenias mostly strike the same patients (ESO-Shanghai 13: leukopenia and neutropenia 36% and 32%, 35% and 39%, consensus Table 4)"),
        "other_toxicity_correlation": Float(0.315692, lo=0.0, hi=1.0, doc="correlation of the latent normal variables deciding a line's other grade >= 3 toxicities (pneumonitis, fatigue, nausea, vomiting...) with its leukopenia's (Gaussian copula)", source=CAL2 + ", prior uniform 0.3-0.95, near its lower bound as in the toxicity fit (0.324 before 2026-12-08): the targets' any-grade->=3 rates barely exceed the commonest type; a lower prior bound would need a source for weakly clustered toxicities); toxicities cluster in susceptible patients: in ESO-Shanghai 13 any grade >= 3 toxicity (41%, 47%) was barely above the commonest type (39%, 36%; consensus Table 4)"),
        "counting": Choice(("protocol", "whole_course"), "protocol", doc="which grade >= 3 events the tox.* metrics count: 'protocol', as trials report them, those during the protocol treatment (the first line of systemic therapy and the local therapy of the initial plan) and up to counting_window_days after it, until a later line or a course at progression starts; 'whole_course', every event until death or the horizon (treatment deaths count in both)"),
        "counting_window_days": _nonneg(90.0, "days", "with counting = protocol: events this long after the end of the protocol treatment still count", "the acute-toxicity window of RT (RTOG/EORTC: within 90 days of treatment, Cox 1995) and the 90-day follow-up of serious and immune-related adverse events in anti-PD-1 trial protocols"),
        "delay_days": _nonneg(7.0, "days", "treatment delay after a grade >= 3 event", A + "one week per event"),
        "discontinue_probability": _prob(0.15, "probability that a grade >= 3 event ends the systemic line", A + "trials report 10-20% discontinuation for adverse events"),
    }
)
