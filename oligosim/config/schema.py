"""The scenario schema: every key a scenario file may hold, its unit, range, default and source.

This is data, built from the node types of :mod:`oligosim.config.nodes`, read by
:mod:`oligosim.config.scenario` to validate files and by ``docs/model.md``'s
parameter table (``python -m oligosim.docs``). A ``source`` of ``"assumption: ..."`` marks a
value no publication fixes, with the reason; it is a candidate for calibration (issue 6) or for
sensitivity analysis.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import CAL2, A, CAL, DAYS_PER_MONTH, _nonneg, _organ_table, _pos, _positive_sum, _prob, _sdlog, _sums_to_one, UNIT_MAX
from oligosim.config.locoregional import LOCOREGIONAL
from oligosim.config.patient import PATIENT_FACTORS
from oligosim.config.population import ELIGIBILITY_KEYS, LESION_KEYS, check_population
from oligosim.config.regimen_labels import label_errors
from oligosim.config.regimens import REGIMEN
from oligosim.config.schedules import (
    check_daily_keys, check_schedule_keys, interval_key, per_day_key, reirradiation_table, schedule_section,
)
from oligosim.config.nodes import Bool, Choice, Float, Int, ListOf, Ref, Section, Str, Table
from oligosim.config.economics import ECONOMICS, check_economics
from oligosim.config.radiotherapy import RADIOTHERAPY, TOXICITY
from oligosim.config.local_therapy import LOCAL_MODALITY, LOCAL_MODALITY_BY_SIZE, LOCAL_THERAPY, check_modality_by_size
from oligosim.config.diffuse import DIFFUSE
from oligosim.config.entry import ENTRY_KEYS, LINE_KEYS, check_entry, check_entry_given

#: ceiling of the doubling times: above the months' ceiling, so that "practically no growth"
#: can be written (tests/data/scenarios/quiet.toml: 1e9 months)
DOUBLING_MAX_MONTHS = 1e12
#: floor of the doubling times: about 3 days, faster than any carcinoma doubles; shorter ones
#: overflow the growth integrals (the schema-wide fuzz found 1e-7 months)
DOUBLING_MIN_MONTHS = 0.1


LESION_CAP_MAX = codes.LESION_CAP_MAX  #: hard cap on lesions per patient (the kernel's lesion record is this wide)


# ----------------------------------------------------------------------------- cohort

_ESCC_ORGANS = {
    "liver": 0.18,
    "lung": 0.20,
    "distant_node": 0.40,
    "bone": 0.12,
    "brain": 0.02,
    "adrenal": 0.03,
    "soft_tissue": 0.03,
    "peritoneum": 0.02,
}
_EAC_ORGANS = {
    "liver": 0.30,
    "lung": 0.12,
    "distant_node": 0.25,
    "bone": 0.15,
    "brain": 0.03,
    "adrenal": 0.03,
    "soft_tissue": 0.02,
    "peritoneum": 0.10,
}
_ORGAN_SRC = (
    A + "relative frequencies of metastatic sites, shaped by the autopsy series quoted in the "
    "consensus (liver 56%, extra-regional nodes 53%, lung 50%; Verstegen 2020) and by the "
    "node- and lung-dominant sites of ESCC oligometastasis trials (ESO-Shanghai 13, Liu 2020); "
    "EAC shifted toward peritoneum and bone as the consensus states"
)

PRESENTATION = Section(
    {
        name: _prob(v, f"share of patients presenting {name}", A + "set per study config")
        for name, v in zip(codes.PRESENTATION_NAMES, (1.0, 0.0, 0.0, 0.0))
    },
    doc="mix of presentations (ESTRO-EORTC, consensus statement 2); must sum to 1",
    check=_sums_to_one(codes.PRESENTATION_NAMES, "presentation shares"),
)

ECOG = Section(
    {
        "ecog0": _prob(0.35, "share with ECOG 0 (KPS 90)", "ESO-Shanghai 13 and ESCORT-1st baseline tables: about one third ECOG 0"),
        "ecog1": _prob(0.62, "share with ECOG 1 (KPS 80)", "as ecog0"),
        "ecog2": _prob(0.03, "share with ECOG 2 (KPS 60)", A + "trials enrol few ECOG 2 patients"),
    },
    check=_sums_to_one(("ecog0", "ecog1", "ecog2"), "ECOG shares"),
)

LESIONS = Section(
    {
        "macroscopic_min": Int(1, lo=0, hi=LESION_CAP_MAX, unit="lesions", doc="distant macroscopic lesions every patient has (0 for purely locoregional recurrence)"),
        "extra_macroscopic_mean": _nonneg(
            1.0, "lesions", "mean number of macroscopic distant lesions beyond the first (Poisson)",
            A + "ESO-Shanghai 13 and Liu 2020 report 1-2 lesions per patient on average",
        ),
        "extra_macroscopic_propensity_exponent": _nonneg(
            1.49996, "", "the Poisson mean of extra macroscopic lesions is extra_macroscopic_mean x propensity^exponent / E[propensity^exponent] "
            "(0: visible lesion count independent of the metastatic propensity; at most 4: with the widest propensity spread "
            "E[propensity^exponent] = exp(exponent^2 sdlog^2 / 2) overflows beyond)",
            CAL2 + ", prior uniform 0-1.5, fitted at its upper bound, as in every v2 fit: the targets want the visible lesion count to "
            "carry the metastatic propensity; no source bounds it, 1.5 was the prior's reach; 0.2508 before 2026-12-08, 0 before the first fit); "
            "oligometastatic eligibility then selects patients with less occult disease (model 3.2)",
            hi=4.0,
        ),
        "macroscopic_diameter_median_cm": _pos(1.6, "cm", "median diameter of macroscopic lesions", A + "typical SBRT-treated lesion, 1-3 cm"),
        "macroscopic_diameter_sdlog": _sdlog(0.45, "sd of log diameter of macroscopic lesions", A + "gives 5-95% range of 0.8-3.4 cm"),
        "occult_mean": _nonneg(
            19.7513, "lesions", "mean number of occult (sub-detectable) lesions at a propensity of 1 (Poisson, scaled by the propensity)",
            CAL2 + ", prior log-uniform 1-20, fitted near its upper bound, as in every v2 fit; 16.8 before 2026-12-08); PET/CT finds "
            "metastases missed by conventional staging in 5-20% (BRIEF 1); a wider prior would need a source for the count of "
            "micrometastases, which no imaging series gives",
        ),
        "occult_diameter_min_cm": _pos(0.1811, "cm", "smallest occult lesion diameter (log-uniform)", CAL + ", prior log-uniform 0.03-0.19 cm, fitted near its upper bound; hand-set 0.05 before, about 10^5 cells)"),
        "occult_diameter_max_cm": _pos(0.225287, "cm", "largest occult lesion diameter (log-uniform)", CAL2 + ", prior log-uniform 0.2-0.8 cm; 0.3065 before 2026-12-08, hand-set 0.6 before the first fit, near the CT detection size)"),
        "regional_nodes_mean": _nonneg(1.5, "nodes", "mean number of positive regional nodes at entry (synchronous; Poisson)", A + "most synchronous patients are node-positive"),
        "regional_nodes_mean_metachronous": _nonneg(0.0, "nodes", "mean number of recurrent regional nodes in metachronous patients (Poisson)", "set per study: locoregional recurrence (BRIEF 10, scenario 3)"),
        "regional_node_diameter_cm": _pos(1.2, "cm", "median diameter of positive regional nodes", A + "short-axis >= 1 cm is the CT criterion of a positive node"),
        "primary_volume_median_cm3": _pos(25.0, "cm3", "median primary tumour volume for synchronous disease", A + "GTV of 20-40 cm3 typical of definitive RT series"),
        "primary_volume_sdlog": _sdlog(0.5, "sd of log primary volume", A + "gives a 5-95% range of about 11-57 cm3"),
        "organ_weights_escc": Section(
            {k: _nonneg(v, "", f"relative frequency of {k} metastases, ESCC", _ORGAN_SRC) for k, v in _ESCC_ORGANS.items()},
            check=_positive_sum("ESCC organ weights"),
        ),
        "organ_weights_eac": Section(
            {k: _nonneg(v, "", f"relative frequency of {k} metastases, EAC", _ORGAN_SRC) for k, v in _EAC_ORGANS.items()},
            check=_positive_sum("EAC organ weights"),
        ),
        "symptomatic_at_entry": _prob(
            0.05, "probability that a brain or bone lesion is symptomatic at entry", A + "statement 6 names them as the urgent cases"
        ),
        **LESION_KEYS,
    },
    doc="baseline lesions: macroscopic (detectable) and occult",
)

ELIGIBILITY = Section(
    {
        "definition": Choice(("histology", "escc", "eac", "none"), "histology", doc="oligometastasis definition applied to the visible lesions (statement 1); 'histology' uses each patient's own"),
        "max_lesions": Int(5, lo=1, hi=LESION_CAP_MAX, unit="lesions", doc="at most this many visible distant lesions (counted per statement 1)"),
        "max_organs": Int(3, lo=1, hi=8, unit="organs", doc="at most this many involved organs"),
        "min_lesions": Int(1, lo=0, hi=LESION_CAP_MAX, unit="lesions", doc="at least this many visible distant lesions"),
        "max_diameter_cm": _pos(100.0, "cm", "largest allowed visible lesion diameter (e.g. 5 cm in ESO-Shanghai 13)", "trial criterion; default: none"),
        "min_kps": Int(0, lo=0, hi=100, unit="KPS", doc="minimum Karnofsky score (inclusive); ECOG 0/1/2 map to KPS 90/80/60"),
        "max_age_years": _pos(120.0, "years", "oldest eligible age", "trial criterion; default: none"),
        "min_age_years": _nonneg(18.0, "years", "youngest eligible age", "trial criterion"),
        "max_attempts": Int(2000, lo=1, hi=10**6, doc="draws per patient before the scenario is declared infeasible"),
        "organs": ListOf(
            Choice(tuple(codes.ORGAN_NAMES[o] for o in codes.METASTATIC_ORGANS)),
            min_len=1,
            default=[codes.ORGAN_NAMES[o] for o in codes.METASTATIC_ORGANS],
            doc="organs a visible distant lesion may be in (e.g. [\"distant_node\"] for a nodal recurrence, [\"liver\"] for liver-only disease); regional nodes and the primary always may",
        ),
        **ELIGIBILITY_KEYS,
    },
    doc="trial-style eligibility, applied to what staging imaging sees",
)

#: the DFI's marginal: shares of recurrences after esophagectomy by time from surgery (docs/model.md 3.1)
_DFI_SRC = (
    "recurrences after esophagectomy: 45-55% within 1 year, 76-88% within 2, 91% within 3 (Yago 2022 Dis Esophagus, "
    "Hiyoshi 2016 World J Surg, Ann Transl Med 2021;9:699); the lognormal reproduces 54%, 83%, 93%"
)

COHORT = Section(
    {
        "eac_fraction": _prob(0.0, "share of adenocarcinoma (else squamous cell)", "set per study; ESCC is >90% of cases in China"),
        "presentation": PRESENTATION,
        "dfi_median_months": _pos(
            14.0, "months", "median disease-free interval (primary diagnosis to entry) of non-synchronous patients",
            _DFI_SRC + "; lognormal, counted from diagnosis (about 3 months before surgery: assumption)",
        ),
        "dfi_sdlog": _sdlog(
            0.7, "sd of log DFI; with dfi_from_growth it must be >= disease.doubling_sdlog_patient",
            _DFI_SRC + "; gives a 5-95% range of about 4.4-44 months",
        ),
        "dfi_from_growth": Bool(
            True,
            doc="the DFI of a non-synchronous patient is the time their micrometastatic disease took to grow to a detectable "
            "size at their own growth rate, DFI = X / g_p with X lognormal and independent of g_p (model 3.1), so that a long "
            "DFI means slow growth; false draws it independently of the disease (the rule before issue 16)",
        ),
        "age_mean_years": _pos(63.0, "years", "mean age", "ESO-Shanghai 13 and ESCORT-1st median age 60-64"),
        "age_sd_years": _nonneg(8.0, "years", "sd of age (normal)", A + "interquartile ranges of about 10 years in the trials"),
        "ecog": ECOG,
        "pdl1_cps10_fraction": _prob(0.5, "share with PD-L1 CPS >= 10", "about half in ESCC first-line trials (KEYNOTE-590, ESCORT-1st)"),
        "prior_rt_eqd2_gy": _nonneg(0.0, "Gy", "EQD2 (alpha/beta 3) of an earlier course to the regional nodes of metachronous patients (0 = none)", "set per study: recurrence after definitive chemoradiotherapy (BRIEF 10, scenario 3)"),
        "prior_rt_months": _nonneg(12.0, "months", "time from that earlier course to entry", A + "set per study; re-irradiation series require > 6 months"),
        **ENTRY_KEYS,
        "staging_modality": Choice(codes.MODALITY_NAMES, "pet_ct", doc="imaging used at staging and restaging (statement 3 recommends PET/CT)"),
        "brain_mri": Bool(False, doc="add brain MRI at staging (statement 3: for symptoms or high risk)"),
        "lesions": LESIONS,
        "eligibility": ELIGIBILITY,
    },
    check_given=check_entry_given,
)

# ----------------------------------------------------------------------------- disease

_DEATH_WEIGHTS = {
    "primary": 0.3,
    "regional_node": 0.5,
    "liver": 2.0,
    "lung": 0.5,
    "distant_node": 0.5,
    "bone": 1.0,
    "brain": 4.0,
    "adrenal": 1.0,
    "soft_tissue": 1.0,
    "peritoneum": 2.0,
}
_SYMPTOM_DIAMETERS = {
    "primary": 100.0,
    "regional_node": 6.0,
    "liver": 6.0,
    "lung": 5.0,
    "distant_node": 4.0,
    "bone": 2.5,
    "brain": 1.2,
    "adrenal": 6.0,
    "soft_tissue": 5.0,
    "peritoneum": 4.0,
}

DISEASE = Section(
    {
        "metastasis_doubling_median_months": Float(
            1.50584, lo=DOUBLING_MIN_MONTHS, hi=DOUBLING_MAX_MONTHS, ceiling=True, unit="months",
            doc="median volume doubling time of metastases (patient level; at least 0.1 month, about 3 days, faster than any "
            "carcinoma's: shorter ones overflow the growth integrals; up to 1e12 months: a doubling time only divides, and a "
            "very long one means no growth)",
            source=CAL2 + ", prior log-uniform 1.2-4.5 months; 1.829 before 2026-12-08; hand-set value before calibration 2.2)",
        ),
        "doubling_sdlog_patient": _sdlog(
            0.5681, "between-patient sd of log doubling time",
            CAL + ", prior uniform 0.2-1.2; hand-set 0.4 before, doubling times varying about twofold between patients)",
            hi=2.0, why="±2 sd then spans a 3,000-fold range of doubling times, far beyond any serial-imaging series; wider spreads overflow the growth integrals",
        ),
        "doubling_sdlog_lesion": _sdlog(0.25, "within-patient (between-lesion) sd of log doubling time", A + "lesions of one patient grow more alike than lesions of different patients", hi=2.0, why="±2 sd then spans a 3,000-fold range of doubling times, far beyond any serial-imaging series; wider spreads overflow the growth integrals"),
        "primary_doubling_months": Float(
            6.3, lo=DOUBLING_MIN_MONTHS, hi=DOUBLING_MAX_MONTHS, ceiling=True, unit="months",
            doc="volume doubling time of the primary tumour (0.1 month to 1e12 months, as metastasis_doubling_median_months)",
            source="BRIEF 3: primary ESCC about 6.3 months on serial studies",
        ),
        "seeding_rate_per_cm3_month": _pos(
            0.038695, "1/(cm3 month)", "rate of new metastases per cm3 of tumour at a propensity of 1",
            CAL2 + ", prior log-uniform 0.015-0.3; 0.02506 before 2026-12-08); Iwata-type seeding proportional to burden",
        ),
        "propensity_sdlog": _sdlog(
            1.84237, "sd of the log metastatic propensity between patients (median 1)",
            CAL2 + ", prior uniform 0.5-2.5; 2.498 before 2026-12-08, at the bound); the indolent/aggressive mix that makes progression repeat-oligo or widespread",
        ),
        "growth_propensity_correlation": Float(
            0.0, lo=-1.0, hi=1.0,
            doc="correlation of a patient's log growth rate of metastases with its log metastatic propensity (Gaussian: "
            "the growth deviate is rho z_propensity + sqrt(1 - rho^2) z_growth, so both marginals are unchanged; "
            "0 = independent, as before; positive: faster-growing disease also disseminates more; model 3.1)",
            source=A + "0 (off) until a refit weighs it: aggressive biology (fast growth with many micrometastases) is the "
            "clinical reading of a rapid progression (consensus statement 12), but no series gives the joint law of growth "
            "rate and metastatic burden per patient; measured in docs/calibration/salvage_rt.md",
        ),
        "limited_capacity_fraction": _prob(
            0.353033, "share of patients (before eligibility) without metastatic capacity beyond their visible lesions: the "
            "lowest-propensity share, whose propensity is set to 0 once their visible lesions are drawn (no occult lesions, "
            "no new metastases ever)",
            CAL2 + ", prior uniform 0-0.6; 0.2946 before 2026-12-08; 0 before 2026-11-22: a continuum of propensities only); the oligometastatic state "
            "as the low end of a spectrum of metastatic capacity (Hellman & Weichselbaum, J Clin Oncol 1995; Weichselbaum & "
            "Hellman, Nat Rev Clin Oncol 2011)",
        ),
        "seeding_cluster_mean": Float(
            1.0, lo=1.0, hi=float(LESION_CAP_MAX), unit="lesions",
            doc="mean number of metastases one seeding event creates, in one organ (a colony: 1 + a negative-binomial count; 1 = one lesion per event, the mechanism off; model 4.2)",
            source=A + "off (1) until refit: new metastases often appear several at a time in one organ (multiple liver or lung nodules at first recurrence), but no series gives the count per dissemination event; at the calibrated defaults most progressions come from occult disease present at entry, so the effect is measured in docs/calibration/README.md before a default is set",
        ),
        "seeding_cluster_dispersion": _pos(1.0, "", "size parameter k of the negative-binomial count of extra lesions per seeding event (variance mean + mean^2/k; small k: most events make one lesion, a few make many)", A + "k = 1, a geometric count: the most dispersed common choice; used only with seeding_cluster_mean > 1"),
        "uncounted_disease": Choice(
            ("frozen", "grows"), "grows",
            doc="disease seeded once every lesion slot (simulation.max_lesions) is taken: 'frozen' stops seeding and the "
            "uncounted disease neither grows nor kills; 'grows' carries it (and the occult deposits drawn beyond the cap at "
            "entry) as one aggregate that grows, is killed by systemic therapy and adds to the disease-death hazard (model 4.2)"
            "; 'grows' since 2026-12-08, as the v2 fit assumed (docs/calibration/v2/factors): disease the lesion slots cannot "
            "hold is still disease; 'frozen' before, which made results depend on the cap",
        ),
        "seed_diameter_cm": _pos(0.12, "cm", "diameter of a newly seeded metastasis", A + "about 10^6 cells; sets the lag before a new lesion is visible"),
        "eradication_diameter_cm": _pos(0.005, "cm", "a lesion shrunk below this is eradicated", A + "about 100 cells"),
        "death_hazard_per_cm3_month": _pos(
            0.00356616, "1/(cm3 month)", "disease-death hazard per cm3 of weighted tumour burden",
            CAL2 + ", prior log-uniform 0.0003-0.006; 0.00171 before 2026-12-08); burden-dependent death (BRIEF 3)",
        ),
        "death_hazard_after_progression_per_month": _nonneg(
            0.00506274, "1/month",
            "disease-death hazard that starts at the first detected progression and does not scale with tumour burden "
            "(deterioration, refractory micro-disease, complications): post-progression survival",
            CAL2 + ", prior log-uniform 0.005-0.2, fitted at its lower bound: with the uncounted disease growing, diffuse disease "
            "and the ECOG decline, death after progression comes from the disease itself and the fit wants almost none of this "
            "hazard (0.03046 before 2026-12-08, when uncounted disease was frozen); the bound is kept so that the mechanism stays "
            "visible to sensitivity analyses); assumption of the mechanism: without it burden-driven death leaves "
            "patients whose progressions are treated locally alive for years after progression, against the short "
            "post-progression survival of ESCC trials",
        ),
        "death_hazard_after_widespread_per_month": _nonneg(
            0.00958, "1/month",
            "further disease-death hazard from the first widespread (not oligometastatic) progression on, added to the one above",
            CAL + ", prior log-uniform 0.002-0.3); widespread progression carries the worse prognosis (statement 12)",
        ),
        "death_weights": _organ_table(_DEATH_WEIGHTS, lambda v: _nonneg(v, "", "relative lethality per cm3 by organ", A + "brain and liver worse, lung and nodes better (BRIEF 3, statement 11)")),
        "symptom_diameter_cm": _organ_table(_SYMPTOM_DIAMETERS, lambda v: _pos(v, "cm", "median diameter at which a lesion causes symptoms", A + "brain and bone become symptomatic small (statement 6)")),
        "symptom_sdlog": _sdlog(0.3, "between-lesion sd of the log symptom diameter", A + "symptoms depend on location within the organ"),
        "symptom_to_scan_months": _nonneg(0.5, "months", "delay from symptoms to the unscheduled scan", A + "two weeks"),
        "diffuse": DIFFUSE,
    }
)

BACKGROUND = Section(
    {
        "rate_at_60_per_year": Float(0.0075, lo=1e-9, hi=UNIT_MAX["1/year"], ceiling=True, unit="1/year", doc="other-cause mortality at age 60 (at least 1e-9: the Gompertz inversion divides by the rate at entry age, which underflows to 0 below)", source="approximation of the WHO life table for China 2019 (both sexes), Gompertz fit"),
        "gompertz_slope_per_year": Float(0.095, lo=0.0, hi=1.0, unit="1/year", doc="Gompertz slope of other-cause mortality with age (at most 1, ten times the human value: steeper slopes overflow exp(slope x age))", source="as rate_at_60_per_year"),
    }
)

IMAGING = Section(
    {
        "d50_ct_cm": _pos(0.8, "cm", "diameter seen with 50% probability on contrast CT", A + "CT misses what PET/CT finds in 5-20% of patients (BRIEF 1)"),
        "d50_pet_ct_cm": _pos(0.55, "cm", "diameter seen with 50% probability on PET/CT", A + "gives about 66% sensitivity for nodes > 5 mm (BRIEF 1)"),
        "d50_mri_cm": _pos(0.35, "cm", "diameter seen with 50% probability on MRI (liver, brain)", A + "MRI is better for liver and brain (BRIEF 1)"),
        "slope_cm": _pos(
            0.03423, "cm", "logistic scale of detection probability versus diameter",
            CAL + ", prior log-uniform 0.03-0.2 cm, fitted near its lower bound; hand-set 0.15 before); detection rises from 20% to 80% "
            "over about 1 mm, a near-sharp size threshold that lets lesions of similar size become visible together, standing in for "
            "the clustered dissemination the model lacks (docs/model.md 3.3 and 12)",
        ),
        "recist_growth_fraction": Float(0.20, lo=0.0, lo_open=True, hi=UNIT_MAX["fraction"], ceiling=True, unit="fraction", doc="growth of the target sum over its nadir that is progression", source="RECIST 1.1 (Eisenhauer 2009)"),
        "recist_min_increase_cm": _nonneg(0.5, "cm", "minimum absolute growth of the target sum", "RECIST 1.1"),
    }
)

FOLLOWUP = Section(
    {
        "interval_years_0_2_months": _pos(3.0, "months", "scan interval in years 0-2", "statement 13: every 3 months for 2 years"),
        "interval_years_2_5_months": _pos(4.5, "months", "scan interval in years 2-5", "statement 13: every 3-6 months (midpoint)"),
        "interval_after_5_months": _pos(12.0, "months", "scan interval after year 5", "statement 13: yearly"),
        "first_scan_months": _pos(2.0, "months", "first restaging, months after entry", "trials restage after 2-3 cycles (ESO-Shanghai 13: 6-8 weeks)"),
        "visit_window_days": _nonneg(
            14.0, "days",
            "each scheduled scan falls uniformly within +/- this many days of its nominal date on the statement-13 grid "
            "(0 = exactly on the grid); must be under half the shortest interval, first_scan_months included",
            A + "trial protocols allow a window around each scheduled tumour assessment, typically +/- 7 days on 6-weekly "
            "restaging and +/- 14 days on 3-monthly follow-up (the style of ESO-Shanghai 13 and ESCORT-1st; their exact "
            "windows were not checked); uniform within the window for want of data on when in it visits fall",
        ),
    }
)

# ----------------------------------------------------------------------------- regimens and arms

RT_TIMINGS = codes.RT_TIMING_NAMES
PROGRESSION_LOCAL = codes.PROGRESSION_LOCAL_NAMES

PROGRESSION = Section(
    {
        "local_therapy": Choice(PROGRESSION_LOCAL, "oligo_slow", doc="local therapy at later progression: never, whenever still oligometastatic, or only if also slow (statement 12)"),
        "slow_months": _nonneg(6.0, "months", "a progression this long after the last local therapy (or entry) is slow", A + "statement 12 gives no number"),
        "slow_rule": Choice(("time_since_local", "growth"), "time_since_local", doc="what makes a progression slow (statement 12): the time since the last local therapy (slow_months), or the growth of the visible disease since the previous scan (slow_doubling_months)"),
        "slow_doubling_months": _pos(4.0, "months", "with slow_rule = growth: a progression whose visible volume doubled no faster than this since the previous scan is slow", A + "statement 12 gives no number; about twice the model's median doubling time of metastases (disease.metastasis_doubling_median_months)"),
        "max_courses": Int(3, lo=0, hi=20, unit="courses", doc="at most this many local courses per patient after the first"),
        "alternative_local": Bool(True, doc="use surgery or ablation when cumulative dose forbids RT (statement 12)"),
        "next_line": Bool(True, doc="start the next systemic line at widespread or rapid progression"),
        "local_with_next_line": Bool(
            False,
            doc="at an oligometastatic progression that the policy above does not treat locally with the line continued (a rapid one, or any with local_therapy = none), start the next line and also give local therapy, within max_courses (statement 12: after a rapid progression, systemic therapy with or without local therapy; model 8.4)",
        ),
        "targets": Choice(
            ("all_seen", "progressing"),
            "all_seen",
            doc="which lesions local therapy at a progression treats: every seen active lesion, primary included, or only the progressing ones (seen for the first time at this scan, or grown since the nadir by the RECIST fraction and minimum; model 8.1)",
        ),
    }
)

ARM = Section(
    {
        "label": Str("", doc="name shown in reports"),
        "first_line": Ref("regimens", "none", doc="systemic regimen of the first line ('none' = local therapy alone)"),
        "second_line": Ref("regimens", "none", doc="regimen at progression ('none' = no second line)"),
        "third_line": Ref("regimens", "none", doc="regimen when the second line fails at a rapid or widespread progression ('none' = best supportive care after the second line; model 5.1)"),
        "rt_timing": Choice(RT_TIMINGS, doc="when the first RT course is given (BRIEF 7)"),
        "consolidative_after_cycles": Int(4, lo=1, hi=40, unit="cycles", doc="consolidative RT after this many cycles if restaging shows no progression"),
        "rt_primary": Bool(True, doc="irradiate the primary tumour when in place"),
        "nodes_with_primary": Bool(False, doc="statement 5: distant nodes at or next to the primary's level are treated in the primary's field with its schedule (as locally advanced disease), outside max_lesions_irradiated, when the primary in place is irradiated"),
        "rt_metastases": Bool(True, doc="irradiate visible distant metastases (regional nodes go with the primary's field)"),
        "max_lesions_irradiated": Int(10, lo=1, hi=LESION_CAP_MAX, unit="lesions", doc="irradiate at most this many metastases, largest first (treat all vs some)"),
        "primary_dose_gy": _pos(50.4, "Gy", "total dose to the primary", "statement 8: EQD2 50-60 Gy in 25-30 fractions"),
        "primary_fractions": Int(28, lo=1, hi=60, unit="fractions", doc="fractions to the primary"),
        "metastasis_dose_gy": _pos(40.0, "Gy", "total dose to each metastasis", "Liu 2020 phase 2 SBRT; statement 8"),
        "metastasis_fractions": Int(5, lo=1, hi=60, unit="fractions", doc="fractions to each metastasis"),
        "metastasis_schedule": Choice(("uniform", "by_site"), "uniform", doc="'uniform': every metastasis gets metastasis_dose_gy in metastasis_fractions (one schedule, as trials that name one describe it); 'by_site': each gets its site's schedule (radiotherapy.schedules, overridden by site_schedules; statement 7)"),
        "site_schedules": Table(
            schedule_section(source="set per arm: the strategy's or the study's schedule for that site"),
            key_pattern="^(" + "|".join(codes.SITE_NAMES) + ")$",
            doc="with metastasis_schedule = by_site: this arm's schedule for some sites, {dose_gy, fractions} each, instead of radiotherapy.schedules",
        ),
        "fractions_per_day": per_day_key("fractions a treatment day of the arm's schedules (primary and metastases): 2 for twice-daily (BID) schedules"),
        "interfraction_interval_h": interval_key(),
        "reirradiation_schedules": reirradiation_table(),
        "concurrent_chemotherapy": Bool(False, doc="give chemotherapy concurrently with the RT course"),
        "urgent_rt_symptomatic": Bool(True, doc="symptomatic brain or bone lesions get RT before systemic therapy (statement 6)"),
        "local_first_long_dfi": Bool(False, doc="metachronous patients with DFI above the threshold get local therapy first (European consensus)"),
        "dfi_threshold_months": _pos(24.0, "months", "DFI threshold for local-first", "European consensus: DFI > 2 years -> local first"),
        "local_modality": LOCAL_MODALITY,
        "local_modality_by_size": LOCAL_MODALITY_BY_SIZE,
        "progression": PROGRESSION,
    },
    check_given=lambda arm, given, path: check_schedule_keys(arm, given) + check_daily_keys(arm, given) + _check_lines(arm) + check_modality_by_size(arm),
)


def _check_lines(arm) -> list[tuple[str, str]]:
    """A third line follows a second: without one it would never start (not ignored)."""
    if arm["third_line"] != "none" and arm["second_line"] == "none":
        return [("third_line", "needs a second_line: the third line starts when the second fails")]
    return []


def _check_dfi(data):
    """The DFI grown at the patient's rate (model 3.1) keeps its lognormal marginal only if the
    growth rate's log-spread fits inside the DFI's: sd(log X)^2 = dfi_sdlog^2 - sd(log g)^2."""
    co, sd_g = data["cohort"], data["disease"]["doubling_sdlog_patient"]
    non_synchronous = any(co["presentation"][k] > 0.0 for k in codes.PRESENTATION_NAMES if k != "synchronous")
    if co["dfi_from_growth"] and non_synchronous and co["dfi_sdlog"] < sd_g:
        return [(
            "cohort.dfi_sdlog",
            f"must be >= disease.doubling_sdlog_patient = {sd_g:g} when cohort.dfi_from_growth is true and the cohort has "
            "non-synchronous patients (DFI = X / growth rate, so log DFI spreads at least as widely as the log growth rate; "
            "raise dfi_sdlog, lower doubling_sdlog_patient or set dfi_from_growth = false)",
        )]
    return []


def _check_visit_window(fu) -> list[tuple[str, str]]:
    """The visit window must be under half the shortest scan interval (first scan included), so
    that a visit can never fall before entry or before the visit scheduled before it."""
    intervals = {k: float(fu[k]) for k in ("first_scan_months", "interval_years_0_2_months", "interval_years_2_5_months", "interval_after_5_months")}
    key = min(intervals, key=intervals.get)
    half_days = 0.5 * intervals[key] * DAYS_PER_MONTH
    if float(fu["visit_window_days"]) >= half_days:
        return [("followup.visit_window_days", f"must be < half the shortest scan interval, followup.{key} = {intervals[key]:g} months ({half_days:.4g} days)")]
    return []


def _check_root(data, path):
    """Rules that tie keys of different sections together; (key, message) pairs."""
    errors = _check_dfi(data) + check_entry(data) + check_population(data)
    cap = data["simulation"]["max_lesions"]
    elig = data["cohort"]["eligibility"]
    if elig["max_lesions"] > cap:
        errors.append(("cohort.eligibility.max_lesions", f"more lesions than the model's cap simulation.max_lesions = {cap}"))
    if elig["min_lesions"] > elig["max_lesions"]:
        errors.append(("cohort.eligibility.min_lesions", f"must be <= cohort.eligibility.max_lesions = {elig['max_lesions']}"))
    les = data["cohort"]["lesions"]
    if les["occult_diameter_min_cm"] >= les["occult_diameter_max_cm"]:
        errors.append(("cohort.lesions.occult_diameter_min_cm", f"must be < occult_diameter_max_cm = {les['occult_diameter_max_cm']}"))
    dis = data["disease"]
    if dis["eradication_diameter_cm"] >= dis["seed_diameter_cm"]:
        errors.append(("disease.eradication_diameter_cm", f"must be < seed_diameter_cm = {dis['seed_diameter_cm']}"))
    errors += _check_visit_window(data["followup"])
    shown: dict[str, str] = {}
    for name, arm in data["arms"].items():
        at_entry = LINE_KEYS[int(data["cohort"]["entry_line"]) - 1]  # the line given at entry (model 3.8)
        if arm[at_entry] == "none" and arm["rt_timing"] in ("concurrent", "consolidative"):
            errors.append((f"arms.{name}.rt_timing", f"needs a {at_entry} regimen (concurrent and consolidative RT go with systemic therapy)"))
        # reports and plots show an arm by its label (its name when it has none): two arms
        # shown alike would merge into one curve
        label = arm["label"] or name
        if label in shown:
            errors.append((f"arms.{name}.label", f"arm {shown[label]!r} is shown as {label!r} too: every arm needs its own label"))
        else:
            shown[label] = name
    errors += check_economics(data)
    errors += label_errors(data)  # a regimen outside its histology labels (model 5.7)
    return errors


SCENARIO_SCHEMA = Section(
    {
        "scenario": Section(
            {"name": Str("", doc="short name of the scenario"), "description": Str("", doc="what the scenario is for")}
        ),
        "simulation": Section(
            {
                "patients": Int(2000, lo=1, hi=10**9, unit="patients", doc="virtual patients per arm"),
                "seed": Int(20251121, lo=0, hi=2**63 - 1, doc="root seed of every random stream"),
                "horizon_months": _pos(120.0, "months", "follow-up horizon; alive patients are censored here", "modelling choice"),
                "max_lesions": Int(32, lo=4, hi=LESION_CAP_MAX, unit="lesions", doc="cap on lesions per patient; lesions seeded beyond it are counted, not simulated"),
                "hazard_integration": Choice(
                    ("lazy", "every_event"), "lazy",
                    doc="how the kernel integrates the seeding and disease-death hazards: 'lazy' only when a bound says a "
                    "threshold may be crossed or a lesion changed, 'every_event' at every event (the code before 2026-12-07, "
                    "for checks); the same model, results equal up to the rounding of the accumulated hazards",
                ),
                "rmst_tau_months": _pos(
                    36.0, "months",
                    "the summary reports the restricted mean survival time up to this time next to every median "
                    "(the follow-up horizon if that is shorter)",
                    A + "reporting choice: three years covers most OS and PFS events of the default scenario (median OS "
                    "16-28 months) and stays within the range where published curves of oligometastatic esophageal cancer are "
                    "still observed; the compare experiment sets its own tau_months",
                ),
            }
        ),
        "cohort": COHORT,
        "disease": DISEASE,
        "locoregional": LOCOREGIONAL,
        "background_mortality": BACKGROUND,
        "patient_factors": PATIENT_FACTORS,
        "imaging": IMAGING,
        "followup": FOLLOWUP,
        "radiotherapy": RADIOTHERAPY,
        "toxicity": TOXICITY,
        "local_therapy": LOCAL_THERAPY,
        "regimens": Table(REGIMEN, min_items=1, doc="systemic regimens, by name"),
        # a file without arms is a base for other scenarios: valid, but `run` refuses it
        "arms": Table(ARM, min_items=0, doc="strategies to compare, by name"),
        "economics": ECONOMICS,
    },
    check=_check_root,
)

__all__ = ["SCENARIO_SCHEMA", "LESION_CAP_MAX", "RT_TIMINGS", "PROGRESSION_LOCAL", "ListOf"]
