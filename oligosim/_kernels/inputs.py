"""Plain-data inputs of the kernels: NamedTuples of numbers and contiguous arrays.

Defined in an importable module (not ``__main__``) so that numba's on-disk cache can key on
them. Times are in months, doses in Gy, volumes in cm3 and log-volumes are natural logs of cm3.
``oligosim.lowering`` is the only code that builds them from a Scenario.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from oligosim import codes


#: The primary, its bed and the regional nodes after entry (model 3.3, 4.2, 6.8). A record (a
#: one-element array of this dtype, ``P.lr``; kernels read ``P.lr[0].field``) rather than more
#: ModelParams fields: numba's parallel loop, which ran the patients until 2026-12-07, took a
#: tuple of at most 100 fields and no nested tuple; a record groups the block either way.
LOCOREGIONAL_DTYPE = np.dtype(
    [
        ("crt_share", np.float64),  # share of non-synchronous patients whose primary had definitive CRT
        ("nodes_sync", np.float64),  # Poisson mean of occult regional nodes with the primary in place
        ("bed_surgery", np.float64),  # probability of occult anastomotic/bed disease after surgery
        ("nodes_surgery", np.float64),  # Poisson mean of occult regional nodes after surgery
        ("primary_crt", np.float64),  # probability of an occult persistent primary after definitive CRT
        ("nodes_crt", np.float64),  # Poisson mean of occult regional nodes after definitive CRT
        ("crt_eqd2", np.float64),  # Gy, alpha/beta 3: the definitive course's dose to the esophagus
        ("regional_seeding", np.float64),  # share of locoregionally seeded metastases landing in regional nodes
        ("field_covers_station", np.bool_),
        ("level_cum", np.float64, (4,)),
        ("fistula_rate", np.float64),  # 1/month: tumour fistula of the primary in place while active
        ("after_fistula_rate", np.float64),  # 1/month: death after a tumour fistula (ln 2 / median)  # cumulative shares of the primary's level (codes.STATION_NAMES)
    ],
    align=True,
)


#: Eligibility (model 3.4), a record like :data:`LOCOREGIONAL_DTYPE` (``P.elig[0].field``).
ELIGIBILITY_DTYPE = np.dtype(
    [
        ("definition", np.int64),  # -1 none, 0 escc, 1 eac, 2 the patient's histology
        ("max_lesions", np.int64),
        ("min_lesions", np.int64),
        ("max_organs", np.int64),
        ("max_diameter", np.float64),  # cm
        ("min_kps", np.int64),
        ("min_age", np.float64),  # years
        ("max_age", np.float64),
        ("max_attempts", np.int64),
        ("organ_allowed", np.uint8, (codes.N_ORGANS,)),  # by codes organ: may a visible distant lesion be there?
        ("max_diameter_organ", np.float64, (codes.N_ORGANS,)),  # cm, by organ: min(max_diameter, the organ's own limit)
        ("max_nodes", np.int64),  # visible nodes of the node rule's scope
        ("node_span", np.int64),  # they lie within this many consecutive stations (N_STATIONS: no rule)
        ("node_scope_all", np.bool_),  # the node rule counts regional nodes too (else distant only)
        ("exclude_definition", np.int64),  # -1 none, else as definition: oligometastatic patients are refused
        ("node_site", np.int64),  # for counting, distant nodes within this many consecutive involved stations are one lesion
    ],
    align=True,
)


#: How the cohort's lesions are drawn beyond the scalar defaults (model 3.2), a record like
#: :data:`LOCOREGIONAL_DTYPE` (``P.pop[0].field``).
POPULATION_DTYPE = np.dtype(
    [
        ("logd_median", np.float64, (codes.N_ORGANS,)),  # ln cm, by organ: median diameter of a macroscopic lesion
        ("logd_sd", np.float64, (codes.N_ORGANS,)),  # its sd of ln diameter
        ("station_cum_distant", np.float64, (codes.N_STATIONS,)),  # cumulative shares of distant nodes by station
        ("station_cum_regional", np.float64, (codes.N_STATIONS,)),  # the same for regional nodes
    ],
    align=True,
)


#: Toxicity as trials count it (model 9), a record like :data:`LOCOREGIONAL_DTYPE` (``P.tx[0].field``).
TOXICITY_DTYPE = np.dtype(
    [
        ("protocol_window", np.bool_),  # count grade >= 3 events only within the protocol window
        ("window", np.float64),  # months after the protocol treatment that still count
        ("cyto_rho", np.float64),  # latent correlation of a line's neutropenia and thrombocytopenia with its leukopenia
        ("other_rho", np.float64),  # latent correlation of the line's other toxicities with its leukopenia
        ("marrow_td50", np.float64),  # Gy (EQD2, alpha/beta 10): LKB TD50 of RT leukopenia
        ("marrow_m", np.float64),
        ("marrow_fraction", np.float64, (codes.N_ORGANS,)),  # mean marrow dose / prescribed EQD2, by organ
        # heart (mean), spinal cord and bowel (most exposed part) shares of the prescribed dose per
        # fraction by (organ, subsite), flattened: index organ * N_STATIONS + subsite (model 6.5)
        ("heart_fraction", np.float64, (codes.N_ORGANS * codes.N_STATIONS,)),
        ("cord_fraction", np.float64, (codes.N_ORGANS * codes.N_STATIONS,)),
        ("bowel_fraction", np.float64, (codes.N_ORGANS * codes.N_STATIONS,)),
        ("size_scaling", np.bool_),  # mean-dose shares of a metastatic target grow with its PTV
        ("size_ref_diameter", np.float64),  # cm
        ("ptv_margin", np.float64),  # cm
        ("size_exponent", np.float64),
        ("cardiac_td50", np.float64),  # Gy EQD2 (alpha/beta 3), mean heart dose
        ("cardiac_m", np.float64),
        ("myelopathy_td50", np.float64),  # Gy EQD2 (alpha/beta ab_cord), cord maximum
        ("myelopathy_m", np.float64),
        ("ab_cord", np.float64),  # Gy
        ("bowel_td50", np.float64),  # Gy EQD2 (alpha/beta 3)
        ("bowel_m", np.float64),
        ("g5_bowel", np.float64),
        ("bowel_limit", np.float64),  # Gy: planning limit of the bowel's maximum EQD2
        ("cord_limit", np.float64),  # Gy: planning limit of the cord's maximum EQD2
        ("conduit_td50", np.float64),  # Gy EQD2 (alpha/beta 3), gastric conduit after esophagectomy
        ("conduit_m", np.float64),
        ("g5_conduit", np.float64),
        ("elderly_age", np.float64),  # years
        ("elderly_or", np.float64),  # odds ratio of every grade >= 3 toxicity at that age or older
        ("elderly_ref_share", np.float64),  # share of elderly patients in the series behind the rates
        ("ecog2_or", np.float64),  # odds ratio with ECOG >= 2
    ],
    align=True,
)


MAX_PRIOR_COURSES = codes.MAX_PRIOR_COURSES

#: Where in the disease course the cohort enters and what it had before (model 3.8), a record
#: like :data:`LOCOREGIONAL_DTYPE` (``P.entry[0].field``).
ENTRY_DTYPE = np.dtype(
    [
        ("pretreated", np.bool_),  # entry after a first line: every lesion present at entry had its chemotherapy
        ("prior_rt_drawn", np.bool_),  # the earlier course's EQD2 and interval are drawn per patient
        ("n_courses", np.int64),  # named courses in the mix (0: every patient gets prior_rt_eqd2)
        ("course_cum", np.float64, (MAX_PRIOR_COURSES,)),  # cumulative shares of the named courses
        ("course_eqd2", np.float64, (MAX_PRIOR_COURSES,)),  # Gy (alpha/beta 3): EQD2 of each named course
        ("interval_median", np.float64),  # months from the earlier course to entry: median
        ("interval_sdlog", np.float64),  # sd of its log (0: every patient the median)
    ],
    align=True,
)

#: Disease the lesion slots do not hold (model 4.2, 4.9): the diffuse serosal compartment and the
#: aggregate beyond the lesion cap, a record like :data:`LOCOREGIONAL_DTYPE` (``P.dz[0].field``;
#: one record for both, written when ModelParams was at the parallel loop's limit of 100
#: fields).
DISEASE_DTYPE = np.dtype(
    [
        # diffuse serosal disease (model 4.9)
        ("on", np.bool_),  # the mechanism is switched on (disease.diffuse.enabled)
        ("onset", np.float64, (2,)),  # by histology (codes.ESCC, EAC): probability that a seeding event is diffuse
        ("entry", np.float64, (2,)),  # by histology: probability of occult diffuse disease at entry
        ("det_logv", np.float64),  # ln cm3: median detection volume
        ("det_sdlog", np.float64),  # between-patient sd of the log detection volume
        ("death_weight", np.float64),  # relative lethality per cm3 (as disease.death_weights)
        # the aggregate beyond the lesion cap (model 4.2)
        ("uncounted_grows", np.bool_),  # disease beyond the lesion cap is one growing aggregate (model 4.2)
        ("occult_mean_logv", np.float64),  # ln cm3: mean volume of an occult deposit drawn at entry (log-uniform diameter)
        ("v50_logv", np.float64),  # ln cm3: the volume the staging modality sees with probability 1/2
        # the patient (model 3.1)
        ("growth_rho", np.float64),  # correlation of the log growth rate with the log metastatic propensity
        # the simulation (simulation.hazard_integration)
        ("eager", np.bool_),  # integrate the continuous hazards at every event (oligosim._kernels.anchor)
    ],
    align=True,
)


#: Patient factors that change over time and act (model 3.9), a record like
#: :data:`LOCOREGIONAL_DTYPE` (``P.pf[0].field``); the defaults (no decline, every ECOG eligible,
#: hazard ratios 1) change nothing.
PATIENT_DTYPE = np.dtype(
    [
        ("decline_p", np.float64),  # probability that ECOG worsens by one level at each progression
        ("max_ecog_line", np.int64, (3,)),  # by line - 1: the worst current ECOG a line 1, 2, 3 starts at
        ("max_ecog_local", np.int64),  # the worst current ECOG a local therapy course is given at
        ("other_hr", np.float64, (codes.ECOG_MAX + 1,)),  # by current ECOG: hazard ratio of other-cause death (ECOG 0: 1)
    ],
    align=True,
)


class ModelParams(NamedTuple):
    """Scenario-wide parameters (everything but the regimens and the arm)."""

    horizon: float
    max_lesions: int
    # cohort
    eac_fraction: float
    presentation_cum: np.ndarray  # (4,) cumulative shares
    dfi_median: float  # months
    dfi_sdlog: float
    dfi_from_growth: bool  # DFI = X / patient growth rate (model 3.1), else drawn on its own
    dfi_x_median: float  # ln cm3: median of X, the log-volume the disease grew to be detected
    dfi_x_sdlog: float  # sd of log X: sqrt(dfi_sdlog^2 - growth_sd_patient^2)
    age_mean: float
    age_sd: float
    ecog_cum: np.ndarray  # (3,)
    pdl1_fraction: float
    modality: int
    brain_mri: bool
    macro_min: int
    extra_macro_mean: float  # Poisson mean at propensity 1 (population mean / E[propensity**exponent])
    macro_propensity_exponent: float  # extra macroscopic lesions scale as propensity**this
    macro_logd_median: float  # log of cm
    macro_logd_sd: float
    occult_mean: float
    occult_logd_min: float
    occult_logd_max: float
    regional_mean: float
    regional_mean_metachronous: float
    regional_logd: float
    prior_rt_eqd2: float
    prior_rt_months: float
    primary_logv_median: float
    primary_logv_sd: float
    organ_cum: np.ndarray  # (2, N_ORGANS) cumulative organ shares by histology
    symptomatic_at_entry: float
    lr: np.ndarray  # (1,) LOCOREGIONAL_DTYPE: the primary, its bed and the regional nodes after entry
    elig: np.ndarray  # (1,) ELIGIBILITY_DTYPE: the trial's criteria, applied to what staging sees
    entry: np.ndarray  # (1,) ENTRY_DTYPE: entry line, pretreatment and the drawn earlier RT course
    pop: np.ndarray  # (1,) POPULATION_DTYPE: lesion sizes by organ, node stations
    tx: np.ndarray  # (1,) TOXICITY_DTYPE: cytopenia correlation, RT myelosuppression, counting window
    dz: np.ndarray  # (1,) DISEASE_DTYPE: diffuse serosal disease (4.9) and the aggregate beyond the cap (4.2)
    # disease
    growth_median: float  # 1/month, ln2 / doubling
    growth_sd_patient: float
    growth_sd_lesion: float
    growth_primary: float
    seeding_rate: float
    propensity_sdlog: float
    limited_z: float  # propensity normal deviate below which a patient has no capacity (-inf: none)
    seed_logv: float
    cluster_extra_mean: float  # mean extra lesions per seeding event (0: one lesion per event, model 4.2)
    cluster_size: float  # negative-binomial size k of that count
    overflow_dlogv: float  # ln-volume growth from seeding to the median detection size (model 4.2)
    eradication_logv: float
    death_rate: float
    death_after_progression: float  # 1/month, from the first progression on
    death_after_widespread: float  # 1/month, added from the first widespread progression on
    death_weight: np.ndarray  # (N_ORGANS + 2,): by organ, then the aggregate beyond the cap by histology
    symptom_logv: np.ndarray  # (N_ORGANS,) log volume of the median symptom diameter
    symptom_sdlog_v: float  # sd of log volume (3 x sd of log diameter)
    symptom_delay: float
    # background mortality (Gompertz, per month, age in years)
    bg_rate60: float
    bg_slope: float  # per year
    # imaging
    det_d50: np.ndarray  # (3,) cm, diameter seen with probability 0.5, by modality
    det_slope: float
    recist_growth: float
    recist_min_cm: float
    # follow-up
    fu_interval: np.ndarray  # (3,) months, years 0-2, 2-5, after
    first_scan: float
    scan_window: float  # months: half-width of the window around each scheduled visit
    # radiotherapy
    ab_tumour: float
    ab_late: float
    tcp_bed50: float
    tcp_gamma50: float
    tcp_volume_ref: float
    tcp_volume_exponent: float
    uncontrolled_kill: float
    rt_delay: float
    chemo_before_rt: bool
    chemo_before_rt_loss: float
    abscopal_p: float
    abscopal_kill: float
    eso_fraction: np.ndarray  # (N_ORGANS, N_STATIONS): by organ and subsite (distant nodes: station)
    lung_fraction: np.ndarray  # (N_ORGANS,)
    recovery_max: float
    recovery_half_time: float
    reirr_limit: float
    reirr_min_interval: float
    alt_local_control: float
    # toxicity
    esophagitis_td50: float
    esophagitis_m: float
    fistula_td50: float
    fistula_m: float
    pneumonitis_td50: float
    pneumonitis_m: float
    concurrent_or: float
    io_pneumonitis_or: float
    reirr_or: float
    g5_fistula: float
    g5_pneumonitis: float
    tox_delay: float
    discontinue_p: float
    # surgery and ablation chosen as local therapy (model 6.10): row codes.LOCAL_*, column
    # codes.PROC_* (row LOCAL_RT unused, zeros)
    procedure: np.ndarray  # (len(LOCAL_NAMES), N_PROC)
    pf: np.ndarray  # (1,) PATIENT_DTYPE: ECOG decline, ECOG limits of each treatment, other-cause mortality by ECOG


class Regimens(NamedTuple):
    """Systemic regimens as arrays indexed by regimen code (shape (R,) unless noted)."""

    chemo: np.ndarray  # bool
    io: np.ndarray  # bool
    cycle: np.ndarray  # months
    cycles: np.ndarray  # int
    maintenance: np.ndarray  # months
    kill: np.ndarray  # 1/month
    maintenance_kill: np.ndarray
    # while the regimen's chemotherapy waits for a sequential RT course: the anti-PD-1 component
    # alone, at the maintenance rate (0 without immunotherapy, or when it is paused too)
    paused_kill: np.ndarray  # 1/month
    resistance_median: np.ndarray  # months
    resistance_sdlog: np.ndarray
    durable: np.ndarray
    # share of patients in whom the line kills nothing from its start (primary resistance, model 5.3)
    primary_resistance: np.ndarray
    # sd of log(lesion's resistance time / patient's), both from the line's start (model 5.3);
    # 0: every lesion resists at the patient's time (oligosim._kernels.lesres)
    resistance_sdlog_lesions: np.ndarray
    pdl1_multiplier: np.ndarray
    tox: np.ndarray  # (R, N_TOX) probabilities
    grade5: np.ndarray
    # per-cycle toxicity (model 5.5), by regimen and toxicity slot (the systemic types, then
    # grade 5 at codes.GRADE5_SLOT): whether the slot is given per cycle, and its per-cycle
    # probability (0 where per line)
    cycle_tox_on: np.ndarray  # (R, N_SYSTEMIC_TYPES + 1) bool
    cycle_tox: np.ndarray  # (R, N_SYSTEMIC_TYPES + 1) probabilities per cycle


class ArmParams(NamedTuple):
    """One strategy, lowered to codes and numbers."""

    first_line: int  # regimen code, -1 none
    second_line: int
    third_line: int  # regimen code after the second line fails, -1 none (best supportive care)
    rt_timing: int  # index into schema.RT_TIMINGS
    consolidative_cycles: int
    rt_primary: bool
    rt_metastases: bool
    max_irradiated: int
    nodes_with_primary: bool  # statement 5: distant nodes at or next to the primary's level share its field
    primary_dose: float
    primary_fractions: int
    metastasis_dose: float
    metastasis_fractions: int
    by_site: bool  # each metastasis takes its site's schedule (model 6.1), not metastasis_dose/fractions
    site_dose: np.ndarray  # (N_ORGANS, N_STATIONS) Gy: total dose by organ and subsite (distant nodes: station)
    site_fractions: np.ndarray  # (N_ORGANS, N_STATIONS) int
    fractions_per_day: int
    # incomplete repair between same-day fractions of the arm's schedules (model 6.2): the share
    # of damage unrepaired after one interval, (tumour and marrow, late tissue); 0 with one a day
    theta_early: float
    theta_late: float
    # re-irradiation schedules by (organ, subsite) (model 6.6); row PRIMARY is the primary's
    # field; reirr_fractions 0 = none given there (the arm's own schedule)
    reirr_dose: np.ndarray  # (N_ORGANS, N_STATIONS) Gy
    reirr_fractions: np.ndarray  # (N_ORGANS, N_STATIONS) int
    reirr_per_day: np.ndarray  # (N_ORGANS, N_STATIONS) int
    reirr_theta: np.ndarray  # (N_ORGANS, N_STATIONS, 2): theta (early, late) as theta_early, theta_late
    concurrent: bool
    urgent: bool
    local_first: bool
    dfi_threshold: float
    progression_local: int  # index into schema.PROGRESSION_LOCAL
    slow_months: float
    slow_by_growth: bool  # slow is judged by the growth since the previous scan, not the time since local therapy
    slow_doubling: float  # months: the slowest volume doubling that still counts as rapid
    max_courses: int
    alternative_local: bool
    next_line: bool
    progressing_only: bool  # a progression's local therapy treats only the progressing lesions (model 8.1)
    local_with_next_line: bool  # an oligoprogression not treated locally with the line continued: next line and local therapy (model 8.4)
    # the local therapy of each site's metastases (model 6.10): codes.LOCAL_*, by organ and
    # subsite (distant nodes: station); LOCAL_RT everywhere unless the arm chooses otherwise
    local_modality: np.ndarray  # (N_ORGANS, N_STATIONS) int
    # the choice by lesion size (model 6.10): a lesion of diameter above local_modality_max_cm
    # (cm; inf: no rule) gets local_modality_above instead
    local_modality_max_cm: np.ndarray  # (N_ORGANS, N_STATIONS) float
    local_modality_above: np.ndarray  # (N_ORGANS, N_STATIONS) int


# RT timing and progression policy codes: defined once, in oligosim.codes
from oligosim.codes import (  # noqa: E402,F401
    PROG_NONE,
    PROG_OLIGO,
    PROG_OLIGO_SLOW,
    RT_AT_PROGRESSION,
    RT_CONCURRENT,
    RT_CONSOLIDATIVE,
    RT_NONE,
    RT_UPFRONT,
)


#: Several arms as one argument of the kernel: field ``f`` of :class:`ArmParams` as an array
#: over arms (shape ``(n_arms,)``, or ``(n_arms, N_ORGANS, N_STATIONS)`` for the site
#: schedules). One type whatever the number of arms, so that the kernel is compiled once (a
#: tuple of ArmParams would be a new type, and a new compilation of the whole engine, for each
#: number of arms).
ArmSet = NamedTuple("ArmSet", [(f, np.ndarray) for f in ArmParams._fields])


def stack_arms(arms) -> ArmSet:
    """The arms ``arms`` (a non-empty sequence of :class:`ArmParams`) as one :data:`ArmSet`.

    Each field keeps the kernel type of the ArmParams field: Python ints become int64, bools
    bool, floats float64 and arrays stack along a new first axis (C-contiguous), so that
    ``engine.arm_at`` rebuilds exactly the ArmParams it was given.
    """
    if not arms:
        raise ValueError("stack_arms: no arms")
    cols = []
    for f in ArmParams._fields:
        vals = [getattr(a, f) for a in arms]
        v0 = vals[0]
        if isinstance(v0, np.ndarray):
            cols.append(np.ascontiguousarray(np.stack(vals)))
        elif isinstance(v0, (bool, np.bool_)):
            cols.append(np.array(vals, dtype=np.bool_))
        elif isinstance(v0, (int, np.integer)):
            cols.append(np.array(vals, dtype=np.int64))
        else:
            cols.append(np.array(vals, dtype=np.float64))
    return ArmSet(*cols)
