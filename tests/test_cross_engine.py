"""Cross-engine tests: the numba kernel against the plain SimPy reference (oligosim.reference).

Two kinds of comparison:

* **Paired, same seed** (fast). Both engines draw patient ``i`` from the same (seed, i, purpose)
  streams, so the cohort must be identical, and since the reference consumes the streams in the
  same order for the same events, every patient's whole course coincides too (times to 1e-6). This is a
  sharp deterministic check, but the two samples are then *dependent*, so it is not used for
  two-sample tests.
* **Distributional, different seeds** (slow). A two-sample test (KS, log-rank) or a z-test with
  the standard error ``sqrt(se_a^2 + se_b^2)`` assumes two *independent* samples. With the same
  seed the samples are almost the same patients, which makes every test extremely conservative
  (p ~ 1 whatever a small model difference) and its nominal level meaningless. So the kernel runs
  with ``SEED_KERNEL`` and the reference with ``SEED_REFERENCE``: independent cohorts from the
  same population, and the nominal levels hold.

Tolerances: a two-sample p-value must exceed ``P_MIN`` = 1e-3 (about 40 tests: family-wise false
alarm < 5%); a summary fraction must agree within 4 standard errors, se = sqrt(p_a (1 - p_a) / n_a
+ p_b (1 - p_b) / n_b) (binomial, from both engines' estimates; two-sided level 6e-5 per
comparison, about 1% over the ~200 comparisons); the mean number of RT courses within 4 se from
both samples' variances. Seeds are fixed, so the tests are deterministic.

Sizes: ``OLIGOSIM_XENGINE_PATIENTS`` patients per arm (default 20,000) for the default scenario's
arms, half of it for the other cases of the shipped model (the shipped scenario files and the
strategy options they use) and an eighth for the cases of mechanisms that are off by default
(``SWITCHED_OFF_CASES``); see :func:`slow_patients`. The reference runs on
``OLIGOSIM_XENGINE_WORKERS`` processes (default: all cores).
"""

from __future__ import annotations

import math
import os
import time
import types

import numpy as np
import pytest
from scipy import stats

from oligosim import codes, results, simulate
from oligosim._kernels import rng
from oligosim.analysis import summary
from oligosim.analysis.hazards import logrank
from oligosim.config import load_scenario
from oligosim.reference import Stream, run_scenario_reference, stream_key
from oligosim.radiobiology import core as rb_core
from oligosim.reference import cohort as reference_cohort
from oligosim.reference import diffuse as reference_diffuse
from oligosim.reference import entry as reference_entry
from oligosim.reference import driver as reference_driver
from oligosim.reference import assess as reference_assess
from oligosim.reference import rt as reference_rt
from oligosim.reference import oar as reference_oar
from oligosim.reference import streams as reference_streams
from oligosim.reference import systemic as reference_systemic
from oligosim.reference import toxicity as reference_toxicity
from oligosim.reference import uncounted as reference_uncounted

from conftest import CONFIGS, PATIENT_FACTORS_OFF, load_fixture

SEED_KERNEL = 20251121
SEED_REFERENCE = 987654321
P_MIN = 1e-3
Z_MAX = 4.0
N_SLOW = int(os.environ.get("OLIGOSIM_XENGINE_PATIENTS", "20000"))
#: cases of mechanisms that are off by default (or, for twice-daily repair, used by one arm of one
#: scenario), compared on an eighth of the patients: the same-seed identity test already compares
#: them patient by patient, the reference runs at about 400 patients/s on 2 cores and CI has a
#: time budget (4 se and p > 1e-3 still hold as tolerances at any size; what shrinks is the size
#: of a difference the comparison can see, about 0.06 in a fraction near 0.5 at 2,500 a side)
SWITCHED_OFF_CASES = {
    "primary_resistance", "seeding_colonies", "third_line", "reirradiation_bid", "organs_at_risk", "conduit", "entry_second_line", "prior_rt_drawn",
    "population", "polymetastatic", "local_modality", "uncounted_grows", "diffuse", "growth_propensity", "patient_factors", "patient_factors_first_line", "procedure_pause",
    "modality_by_size",
    "lesion_resistance", "per_cycle_toxicity", "progressing_targets", "local_with_next_line",
}
WORKERS = int(os.environ.get("OLIGOSIM_XENGINE_WORKERS", str(os.cpu_count() or 1)))


#: the case compared on the full ``N_SLOW`` patients per arm: the shipped default scenario
FULL_SIZE_CASES = {"default"}


def slow_patients(label):
    """Patients per arm of the slow comparison of case ``label``: ``N_SLOW`` for the default
    scenario, half for the other shipped cases, an eighth for switched-off mechanisms.

    The reference engine runs about 400 patients/s on CI's 2 cores, so the whole slow
    comparison (about 300,000 reference patients at these sizes) is most of CI's time.
    """
    if label in FULL_SIZE_CASES:
        return N_SLOW
    return N_SLOW // 8 if label in SWITCHED_OFF_CASES else N_SLOW // 2


def default_scenario():
    return load_scenario(CONFIGS / "default.toml")


def eac_scenario():
    """Adenocarcinoma only, eligibility by the EAC definition (the other histology's rules)."""
    return default_scenario().with_values({"cohort.eac_fraction": 1.0, "cohort.eligibility.definition": "eac"})


def scenario_file(name):
    return lambda: load_scenario(CONFIGS / "scenarios" / name)


def slow_by_growth_scenario():
    """Statement 12's slow progression judged by growth since the previous scan (model 8.4)."""
    return default_scenario().with_values(
        {f"arms.{a}.progression.slow_rule": "growth" for a in ("upfront_rt", "at_progression")}
    )


def after_crt_scenario():
    """Nodal recurrence after definitive chemoradiotherapy: the persistent primary inside the
    earlier field, occult nodes outside it (model 3.3)."""
    return load_scenario(CONFIGS / "scenarios" / "node_recurrence_after_esophagectomy.toml").with_values(
        {"locoregional.primary_treatment.surgery": 0.0, "locoregional.primary_treatment.definitive_crt": 1.0,
         "locoregional.primary_persistence_probability_after_crt": 0.6}
    )


def primary_resistance_scenario():
    """A third of the first and second lines resisted from their first day (model 5.3)."""
    return default_scenario().with_values(
        {f"regimens.{r}.primary_resistance_fraction": 0.3 for r in ("tp_pd1", "irinotecan_pd1")}
    )


def lesion_resistance_scenario():
    """Acquired resistance lesion by lesion on the first and second lines (sd of log 1.0 between
    a patient's lesions, model 5.3), with colonies so that lesions made during a line draw theirs."""
    values = {f"regimens.{r}.resistance_sdlog_between_lesions": 1.0 for r in ("tp_pd1", "irinotecan_pd1")}
    values["disease.seeding_cluster_mean"] = 2.0
    return default_scenario().with_values(values)


def seeding_colonies_scenario():
    """Progressions seeded after entry (no occult disease, seeding 0.06 per cm3 per month), each
    seeding event a colony of 1 + NB(mean 1.5, size 1) lesions in one organ (model 4.2)."""
    return default_scenario().with_values(
        {"cohort.lesions.occult_mean": 0.0, "locoregional.occult_regional_nodes_mean_synchronous": 0.0,
         "disease.seeding_rate_per_cm3_month": 0.06, "disease.seeding_cluster_mean": 2.5}
    )


def uncounted_grows_scenario():
    """Disease beyond a lesion cap of 6 grows as one aggregate (model 4.2): most patients fill
    the cap, and colonies (mean 2) make some fill it in the middle of a colony."""
    return default_scenario().with_values(
        {"simulation.max_lesions": 6, "disease.uncounted_disease": "grows", "disease.seeding_cluster_mean": 2.0}
    )


def growth_propensity_scenario():
    """Fast-growing disease disseminates more (model 3.1): the growth deviate correlated 0.7 with
    the propensity's."""
    return default_scenario().with_values({"disease.growth_propensity_correlation": 0.7})


def progressing_targets_scenario():
    """Local therapy at a progression treats only the progressing lesions (model 8.1): the first
    course of the at-progression arm, and every oligometastatic progression after upfront RT."""
    return default_scenario().with_values(
        {"arms.at_progression.progression.targets": "progressing", "arms.upfront_rt.progression.targets": "progressing",
         "arms.upfront_rt.progression.local_therapy": "oligo"}
    )


def local_with_next_line_scenario():
    """Next line and local therapy together (model 8.4 step 5): at the oligometastatic
    progressions of the systemic arm (two courses at most), and at a rapid one after upfront RT."""
    return default_scenario().with_values(
        {"arms.systemic_only.progression.local_with_next_line": True, "arms.systemic_only.progression.max_courses": 1,
         "arms.upfront_rt.progression.local_with_next_line": True}
    )


def third_line_scenario():
    """Anti-PD-1 monotherapy as a third line when the second fails (model 5.1)."""
    return default_scenario().with_values({f"arms.{a}.third_line": "pd1" for a in ("systemic_only", "at_progression")})


def reirradiation_bid_scenario():
    """Twice-daily re-irradiation (model 6.2, 6.6): the whole arm BID, or BID re-irradiation by
    site; a tumour repair half-time of 2 h so that its term is not negligible either."""
    return load_scenario(CONFIGS / "scenarios" / "locoregional_reirradiation.toml").with_values({"radiotherapy.repair_half_time_early_h": 2.0})


def organs_at_risk_scenario():
    """Heart, spinal cord and bowel made sensitive (TD50s of 15, 25 and 20 Gy) and every patient
    past the elderly age with ECOG >= 2 counting double, so that the heart, cord, bowel, field-size
    and patient-odds branches of both engines fire often (model 6.5, 9)."""
    return default_scenario().with_values(
        {"toxicity.cardiac_td50_gy": 15.0, "toxicity.myelopathy_td50_gy": 25.0, "toxicity.bowel_td50_gy": 20.0,
         "toxicity.elderly_age_years": 60.0, "toxicity.ecog2_odds_ratio": 2.0}
    )


def conduit_scenario():
    """SBRT 50 Gy/5 after esophagectomy, the conduit made sensitive (TD50 50 Gy): conduit events
    and their grade-5 draws (model 6.5)."""
    return load_scenario(CONFIGS / "scenarios" / "node_recurrence_after_esophagectomy.toml").with_values(
        {"arms.rt_alone.metastasis_dose_gy": 50.0, "arms.rt_alone.metastasis_fractions": 5, "toxicity.conduit_td50_gy": 50.0}
    )
def entry_second_line_scenario():
    """A cohort entering after first-line chemo-immunotherapy (model 3.8): lesions exposed to
    chemotherapy at entry, anti-PD-1 weakened, earlier RT drawn from a mix for the nodal
    recurrences, RT at entry and at progression."""
    return load_fixture("second_line_entry.toml")


def prior_rt_drawn_scenario():
    """Re-irradiation of nodal recurrences whose earlier course is drawn per patient (model 3.8):
    none, 50 or 60 Gy EQD2, a lognormal interval around 12 months (some below the 6-month
    minimum, some recovered); the first course at the first progression, where the interval and
    the cumulative dose are checked (model 6.6)."""
    return load_scenario(CONFIGS / "scenarios" / "locoregional_reirradiation.toml").with_values({
        "arms.reirr_daily.rt_timing": "at_progression",
        "cohort.prior_rt_eqd2_gy": 0.0, "cohort.prior_rt_months": 12.0, "cohort.prior_rt_months_sdlog": 0.8,
        "cohort.prior_rt_courses": {"none": {"eqd2_gy": 0.0, "share": 0.2}, "crt_50": {"eqd2_gy": 50.0, "share": 0.5}, "crt_60": {"eqd2_gy": 60.0, "share": 0.3}},
    })


def population_scenario():
    """A population as a paper describes it (model 3.2, 3.4): lesion sizes by organ, a station mix
    of distant and regional nodes, 'at most two distant nodes, and if two, adjacent', nodes in
    adjacent stations counted as one of at most 3 lesions, every lesion <= 5 cm and liver
    lesions <= 3 cm."""
    return default_scenario().with_values({
        "cohort.lesions.diameter_by_organ": {"liver": {"median_cm": 2.4, "sdlog": 0.5}, "distant_node": {"median_cm": 1.3, "sdlog": 0.3}},
        **{f"cohort.lesions.distant_node_stations.{s}": w for s, w in zip(codes.STATION_NAMES, (0.4, 0.1, 0.2, 0.3))},
        **{f"cohort.lesions.regional_node_stations.{s}": w for s, w in zip(codes.STATION_NAMES, (0.1, 0.3, 0.5, 0.1))},
        "cohort.eligibility.max_nodes": 2, "cohort.eligibility.max_node_span_stations": 2,
        "cohort.eligibility.max_diameter_cm": 5.0, "cohort.eligibility.max_diameter_by_organ_cm": {"liver": 3.0},
        "cohort.eligibility.node_site_stations": 2, "cohort.eligibility.max_lesions": 3,
    })


def polymetastatic_scenario():
    """A comparison cohort NOT oligometastatic under each patient's histology's definition
    (model 3.4), with a third adenocarcinoma."""
    return default_scenario().with_values({
        "cohort.eac_fraction": 0.3, "cohort.eligibility.definition": "none", "cohort.eligibility.exclude_definition": "histology",
        "cohort.eligibility.max_lesions": 20, "cohort.eligibility.max_organs": 8,
    })


def local_modality_scenario():
    """Surgery for liver and lung metastases, thermal ablation for adrenal, soft-tissue and
    abdominal-node metastases (model 6.10), made eventful: control 0.6 up to the size threshold and
    0.3 above, grade >= 3 complications in 30% and deaths in 5% of procedures, so that residuals
    regrow in field, re-ablation and RT after a failed resection happen, and procedures kill."""
    values = {}
    for m in ("surgery", "ablation"):
        values.update({f"local_therapy.{m}.control_small": 0.6, f"local_therapy.{m}.control_large": 0.3,
                       f"local_therapy.{m}.complication": 0.3, f"local_therapy.{m}.mortality": 0.05})
    for arm in ("upfront_rt", "consolidative", "at_progression"):
        values.update({f"arms.{arm}.local_modality.{s}": "surgery" for s in ("liver", "lung")})
        values.update({f"arms.{arm}.local_modality.{s}": "ablation" for s in ("adrenal", "soft_tissue", "node_abdominal")})
    return default_scenario().with_values(values)


def diffuse_scenario():
    """Diffuse serosal disease (model 4.9) made common: a third of the patients with it occult at
    entry, a quarter of the seeding events diffuse (seeding 0.06 per cm3 per month, no occult
    lesions), seen from 0.5 cm3, lethal at five times the liver's weight."""
    return default_scenario().with_values(
        {"cohort.lesions.occult_mean": 0.0, "locoregional.occult_regional_nodes_mean_synchronous": 0.0,
         "disease.seeding_rate_per_cm3_month": 0.06, "disease.diffuse.enabled": True,
         "disease.diffuse.onset_fraction_escc": 0.25, "disease.diffuse.entry_fraction_escc": 0.3,
         "disease.diffuse.detection_volume_cm3": 0.5, "disease.diffuse.death_weight": 5.0}
    )


def patient_factors_scenario():
    """Patient factors (model 3.9) made eventful: ECOG declines at half the progressions, second and
    third lines need ECOG <= 1 and local therapy ECOG 0 (so ECOG 1 patients are refused the initial
    plan's course and consolidation), other-cause hazard ratios 1.5, 2 and 3 by current ECOG (so
    a decline moves the background death), toxicity odds ratio 2 at ECOG >= 2, and a third line."""
    return default_scenario().with_values({
        "patient_factors.ecog_decline_at_progression": 0.5, "patient_factors.max_ecog_second_line": 1,
        "patient_factors.max_ecog_third_line": 1, "patient_factors.max_ecog_local": 0,
        "patient_factors.other_cause_hr_ecog1": 1.5, "patient_factors.other_cause_hr_ecog2": 2.0,
        "patient_factors.other_cause_hr_ecog3": 3.0, "toxicity.ecog2_odds_ratio": 2.0,
        "background_mortality.rate_at_60_per_year": 0.05,
        **{f"arms.{a}.third_line": "pd1" for a in ("systemic_only", "at_progression")},
    })


def patient_factors_first_line_scenario():
    """The first line needs ECOG 0 while local therapy does not (model 3.9): ECOG 1 patients get
    the course of a concurrent or sequential plan without the line that goes with it; after a
    decline to ECOG 2 a course at progression carries toxicity odds ratio 20."""
    return default_scenario().with_values({
        "patient_factors.max_ecog_first_line": 0, "patient_factors.ecog_decline_at_progression": 0.5, "toxicity.ecog2_odds_ratio": 20.0,
    })


def procedure_pause_scenario():
    """The local-modality case with long holds of chemotherapy after a procedure (model 6.10):
    45 days after surgery, 20 after ablation, so that holds overlap RT courses, consolidation
    checks, induction ends and lines started during a hold; the concurrent arm keeps its
    chemotherapy during RT but not during a hold."""
    values = {"local_therapy.surgery.systemic_pause_days": 45.0, "local_therapy.ablation.systemic_pause_days": 20.0}
    arm = "concurrent"
    values.update({f"arms.{arm}.local_modality.{s}": "surgery" for s in ("liver", "lung")})
    values.update({f"arms.{arm}.local_modality.{s}": "ablation" for s in ("adrenal", "soft_tissue", "node_abdominal")})
    return local_modality_scenario().with_values(values)


def modality_by_size_scenario():
    """The local-modality case with the choice by lesion size (model 6.10): liver and lung
    metastases ablated up to 2 cm and irradiated above, adrenal ones irradiated up to 1.5 cm and
    resected above, so that both directions of the rule run and lesions cross the limits between
    plannings (progression, regrowth after a failed procedure)."""
    values = {}
    for arm in ("upfront_rt", "at_progression"):
        for s in ("liver", "lung"):
            values[f"arms.{arm}.local_modality.{s}"] = "ablation"
            values[f"arms.{arm}.local_modality_by_size.{s}.max_diameter_cm"] = 2.0
            values[f"arms.{arm}.local_modality_by_size.{s}.above"] = "rt"
        values[f"arms.{arm}.local_modality.adrenal"] = "rt"
        values[f"arms.{arm}.local_modality_by_size.adrenal.max_diameter_cm"] = 1.5
        values[f"arms.{arm}.local_modality_by_size.adrenal.above"] = "surgery"
    return local_modality_scenario().with_values(values)


def per_cycle_toxicity_scenario():
    """Per-cycle toxicity (model 5.5), mixed with per-line types: camrelizumab-paclitaxel-cisplatin's
    neutropenia (a cytopenia: it delays cycles), pneumonitis and grade 5 per cycle over induction
    and maintenance, the second line's thrombocytopenia per cycle; the other types per line."""
    v = {}
    for reg, per_cycle in (("tp_pd1", {"neutropenia": 0.08, "pneumonitis": 0.01}), ("irinotecan_pd1", {"thrombocytopenia": 0.03})):
        for t, p in per_cycle.items():
            v[f"regimens.{reg}.grade3plus.{t}"] = 0.0
            v[f"regimens.{reg}.grade3plus_per_cycle.{t}"] = p
    v["regimens.tp_pd1.grade5"] = 0.0
    v["regimens.tp_pd1.grade5_per_cycle"] = 0.001
    return default_scenario().with_values(v)


#: (label, scenario factory, arms). Together: every rt_timing (none, upfront, concurrent,
#: consolidative, at_progression), re-irradiation, systemic and RT toxicity (concurrent odds
#: ratio, immunotherapy pneumonitis), the local-first rule, and both histologies.
CASES = [
    ("default", default_scenario, ["systemic_only", "upfront_rt", "concurrent", "consolidative", "at_progression"]),
    ("reirradiation", scenario_file("locoregional_reirradiation.toml"), ["reirr_daily"]),
    ("eac", eac_scenario, ["consolidative"]),
    ("sbrt_metachronous", scenario_file("sbrt_metachronous.toml"), ["dfi_guided"]),
    ("node_recurrence", scenario_file("node_recurrence_after_esophagectomy.toml"), ["concurrent_pf"]),
    ("after_crt", after_crt_scenario, ["rt_alone"]),
    ("eso_shanghai13_io_local", scenario_file("eso_shanghai13.toml"), ["io_local"]),
    ("slow_by_growth", lambda: slow_by_growth_scenario(), ["upfront_rt", "at_progression"]),
    ("statement5", lambda: default_scenario().with_values({"arms.upfront_rt.nodes_with_primary": True}), ["upfront_rt"]),
    ("second_line", scenario_file("second_line_low_dose_rt.toml"), ["low_dose_rt_2l"]),
    ("primary_resistance", lambda: primary_resistance_scenario(), ["systemic_only", "upfront_rt"]),
    ("seeding_colonies", lambda: seeding_colonies_scenario(), ["systemic_only", "at_progression"]),
    ("third_line", lambda: third_line_scenario(), ["systemic_only", "at_progression"]),
    ("reirradiation_bid", lambda: reirradiation_bid_scenario(), ["reirr_bid", "reirr_bid_by_site"]),
    ("organs_at_risk", lambda: organs_at_risk_scenario(), ["upfront_rt", "at_progression"]),
    ("conduit", lambda: conduit_scenario(), ["rt_alone"]),
    ("entry_second_line", lambda: entry_second_line_scenario(), ["upfront_rt", "concurrent"]),
    ("prior_rt_drawn", lambda: prior_rt_drawn_scenario(), ["reirr_daily"]),
    ("population", lambda: population_scenario(), ["systemic_only", "upfront_rt"]),
    ("polymetastatic", lambda: polymetastatic_scenario(), ["systemic_only", "upfront_rt"]),
    ("local_modality", lambda: local_modality_scenario(), ["upfront_rt", "consolidative", "at_progression"]),
    ("uncounted_grows", lambda: uncounted_grows_scenario(), ["systemic_only", "upfront_rt"]),
    ("diffuse", lambda: diffuse_scenario(), ["systemic_only", "at_progression"]),
    ("patient_factors", lambda: patient_factors_scenario(), ["systemic_only", "upfront_rt", "consolidative", "at_progression"]),
    ("patient_factors_first_line", lambda: patient_factors_first_line_scenario(), ["upfront_rt", "concurrent"]),
    ("procedure_pause", lambda: procedure_pause_scenario(), ["upfront_rt", "concurrent", "consolidative", "at_progression"]),
    ("modality_by_size", lambda: modality_by_size_scenario(), ["upfront_rt", "at_progression"]),
    ("lesion_resistance", lambda: lesion_resistance_scenario(), ["systemic_only", "at_progression"]),
    ("per_cycle_toxicity", lambda: per_cycle_toxicity_scenario(), ["systemic_only", "consolidative"]),
    ("growth_propensity", lambda: growth_propensity_scenario(), ["systemic_only", "at_progression"]),
    ("progressing_targets", lambda: progressing_targets_scenario(), ["upfront_rt", "at_progression"]),
    ("local_with_next_line", lambda: local_with_next_line_scenario(), ["systemic_only", "upfront_rt"]),
]


# ----------------------------------------------------------------------------- helpers


def z_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """|difference of two proportions| in units of its standard error (0 if both are 0 or 1)."""
    pa, pb = float(np.mean(a)), float(np.mean(b))
    se = math.sqrt(pa * (1 - pa) / a.size + pb * (1 - pb) / b.size)
    return 0.0 if se == 0.0 else abs(pa - pb) / se


def z_mean(a: np.ndarray, b: np.ndarray) -> float:
    se = math.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    return 0.0 if se == 0.0 else abs(float(np.mean(a)) - float(np.mean(b))) / se


def fraction_indicators(arm) -> dict[str, np.ndarray]:
    """Per-patient 0/1 indicators whose means are the summary fractions."""
    out = {f"tox_{name}": arm.tox[:, k] for k, name in enumerate(codes.TOX_NAMES)}
    out["tox_any"] = arm.tox.any(axis=1)
    for k, name in enumerate(codes.FAILURE_NAMES):
        out[f"first_failure_{name}"] = arm["first_failure"] == k
    for k, name in enumerate(codes.DEATH_CAUSE_NAMES):
        out["alive" if k == codes.ALIVE else f"death_{name}"] = arm["death_cause"] == k
    return out


def compare_arms(a, b) -> dict:
    """Two-sample comparison of one arm from each engine: p-values and the largest z."""
    res = {}
    for ep in ("os", "pfs"):
        res[f"ks_{ep}"] = stats.ks_2samp(a[ep], b[ep]).pvalue
        res[f"logrank_{ep}"] = logrank(a[ep], a[f"{ep}_event"], b[ep], b[f"{ep}_event"])[1]
    fa, fb = fraction_indicators(a), fraction_indicators(b)
    z = {k: z_fraction(fa[k], fb[k]) for k in fa}
    z["rt_courses_mean"] = z_mean(a["rt_courses"].astype(float), b["rt_courses"].astype(float))
    res["z"] = z
    res["z_max"] = max(z.values())
    res["z_argmax"] = max(z, key=z.get)
    return res


def assert_agree(label: str, res: dict) -> None:
    for key in ("ks_os", "ks_pfs", "logrank_os", "logrank_pfs"):
        p = res[key]
        assert not (p < P_MIN), f"{label}: {key} p = {p:.2e} < {P_MIN}"
    assert res["z_max"] < Z_MAX, f"{label}: {res['z_argmax']} differs by {res['z_max']:.1f} se"


# ----------------------------------------------------------------------------- fast tests


def test_streams_match_kernel():
    from oligosim.reference import streams as reference_streams

    # one purpose per mechanism, numbered alike in both engines (SCAN was appended last, so every
    # older purpose kept its key and its draws)
    assert rng.N_PURPOSES == len(rng.PURPOSE_NAMES)
    for k, name in enumerate(rng.PURPOSE_NAMES):
        assert getattr(reference_streams, name.upper()) == getattr(rng, name.upper()) == k
    for seed, pid, purpose in [(0, 0, 0), (SEED_KERNEL, 123456, 7), (2**62 + 5, 99, 3), (SEED_KERNEL, 5, rng.SCAN)]:
        assert stream_key(seed, pid, purpose) == int(rng.stream_key(seed, pid, purpose))
        s = Stream(seed, pid, purpose)
        mine = [s.uniform() for _ in range(50)]
        assert mine == list(rng.uniforms(seed, pid, purpose, 50))


def test_smoke_same_seed_paired():
    """300 patients per arm, same seed: same cohort, same output layout, every patient
    with the same course, and summarize() works on the reference's Results."""
    sc = default_scenario()
    n = 300
    ref = run_scenario_reference(sc, patients=n, seed=11)
    ker = simulate.run_scenario(sc, patients=n, seed=11)
    assert list(ref.arms) == list(ker.arms)
    for name in ker.arms:
        a, b = ref.arms[name], ker.arms[name]
        for c in results.COLUMNS:
            assert a[c].dtype == b[c].dtype and a[c].shape == b[c].shape, c
        for attr in ("tox", "lc_time", "lc_event", "lc_bed", "lc_volume", "ev_time", "ev_code", "ev_detail"):
            assert getattr(a, attr).shape == getattr(b, attr).shape and getattr(a, attr).dtype == getattr(b, attr).dtype, attr
        # the same virtual patients
        for c in ("histology", "presentation", "kps", "pdl1_high", "n_lesions_entry", "n_visible_entry", "attempts"):
            np.testing.assert_array_equal(a[c], b[c], err_msg=f"{name} {c}")
        # to the bit: both engines turn a uniform into a normal deviate by the same AS241 operations
        np.testing.assert_array_equal(a["age"], b["age"])
        np.testing.assert_array_equal(a["dfi"], b["dfi"])
        # the same course for everyone (times may differ by root-finding accuracy, not more)
        same = np.isclose(a["os"], b["os"], rtol=0, atol=1e-6) & (a["death_cause"] == b["death_cause"])
        assert same.all(), f"{name}: patients {np.flatnonzero(~same)[:5]} differ (of {same.size})"
        assert np.all(a["pfs"] <= a["os"] + 1e-12)
    s = summary.summarize(ref)
    assert set(s["arms"]) == set(ker.arms)


def test_lesion_cap_overflow_same_seed():
    """A small lesion cap that many patients fill: both engines count the uncounted disease beyond
    the cap at the same scan (the first after it would reach the median detection size, model
    4.2), so that with the same seed every patient has the same course."""
    sc = default_scenario().with_values({"simulation.max_lesions": 6})
    n = 300
    arms = ["systemic_only", "consolidative"]
    ref = run_scenario_reference(sc, patients=n, seed=5, arms=arms)
    ker = simulate.run_scenario(sc, patients=n, seed=5, arms=arms)
    for name in ("systemic_only", "consolidative"):
        a, b = ref.arms[name], ker.arms[name]
        assert b["overflow"].mean() > 0.2, f"{name}: the cap is rarely filled ({b['overflow'].mean():.2f})"
        np.testing.assert_array_equal(a["overflow"], b["overflow"], err_msg=name)
        same = np.isclose(a["pfs"], b["pfs"], rtol=0, atol=1e-6) & np.isclose(a["os"], b["os"], rtol=0, atol=1e-6)
        assert same.all(), f"{name}: patients {np.flatnonzero(~same)[:5]} differ (of {same.size})"


def test_visible_burden_tied_to_propensity_same_seed():
    """With the visible lesion count scaled by the propensity (model 3.2), both engines draw the
    same cohort (lesion counts, rejection attempts) and every patient has the same course."""
    sc = default_scenario().with_values({"cohort.lesions.extra_macroscopic_propensity_exponent": 1.0})
    n = 300
    arms = ["systemic_only", "upfront_rt"]
    ref = run_scenario_reference(sc, patients=n, seed=9, arms=arms)
    ker = simulate.run_scenario(sc, patients=n, seed=9, arms=arms)
    base = simulate.run_scenario(default_scenario(), patients=n, seed=9, arms=arms)
    for name in arms:
        a, b = ref.arms[name], ker.arms[name]
        for c in ("n_lesions_entry", "n_visible_entry", "attempts"):
            np.testing.assert_array_equal(a[c], b[c], err_msg=f"{name} {c}")
        # the exponent does change the cohort (the test has teeth): with the mean-preserving tie the
        # population mean is unchanged, but who has how many lesions, and who is redrawn, moves
        assert not np.array_equal(b["n_visible_entry"], base.arms[name]["n_visible_entry"])
        assert not np.array_equal(b["attempts"], base.arms[name]["attempts"])
        same = np.isclose(a["pfs"], b["pfs"], rtol=0, atol=1e-6) & np.isclose(a["os"], b["os"], rtol=0, atol=1e-6)
        assert same.all(), f"{name}: patients {np.flatnonzero(~same)[:5]} differ (of {same.size})"


def test_limited_capacity_share_same_seed():
    """With a share of patients without metastatic capacity (model 3.1), both engines draw the
    same cohort and every patient has the same course."""
    sc = default_scenario().with_values({"disease.limited_capacity_fraction": 0.3})
    n = 300
    arms = ["systemic_only", "upfront_rt"]
    ref = run_scenario_reference(sc, patients=n, seed=4, arms=arms)
    ker = simulate.run_scenario(sc, patients=n, seed=4, arms=arms)
    none = simulate.run_scenario(default_scenario().with_values({"disease.limited_capacity_fraction": 0.0}), patients=n, seed=4, arms=arms)
    for name in arms:
        a, b = ref.arms[name], ker.arms[name]
        for c in ("n_lesions_entry", "n_visible_entry", "attempts"):
            np.testing.assert_array_equal(a[c], b[c], err_msg=f"{name} {c}")
        # teeth: the share removes occult lesions from the cohort
        assert b["n_lesions_entry"].sum() < none.arms[name]["n_lesions_entry"].sum()
        same = np.isclose(a["pfs"], b["pfs"], rtol=0, atol=1e-6) & np.isclose(a["os"], b["os"], rtol=0, atol=1e-6)
        assert same.all(), f"{name}: patients {np.flatnonzero(~same)[:5]} differ (of {same.size})"


def test_reference_event_log():
    """The event log is time-ordered and ends with exactly one terminal event at OS."""
    sc = default_scenario()
    ref = run_scenario_reference(sc, patients=50, seed=3, arms=["consolidative"], events=True).arms["consolidative"]
    terminal = {codes.EV_DEATH_DISEASE, codes.EV_DEATH_OTHER, codes.EV_DEATH_TREATMENT, codes.EV_CENSORED}
    for j in range(ref.n):
        k = min(int(ref["ev_n"][j]), ref.ev_time.shape[1])
        t = ref.ev_time[j, :k]
        assert np.all(np.diff(t) >= -1e-9)
        if ref["ev_n"][j] <= ref.ev_time.shape[1]:
            assert int(ref.ev_code[j, k - 1]) in terminal
            assert abs(t[-1] - ref["os"][j]) < 1e-9


# ----------------------------------------------------------------------------- strict identity
#: patients per arm of the strict same-seed comparison, and its seed
N_STRICT = 150
SEED_STRICT = 31
#: times may differ by root-finding accuracy (Newton in the kernel, Brent in the reference)
TIME_ATOL = 1e-6


def first_difference(a, b, j: int) -> str | None:
    """What first differs in patient ``j``'s course between two engines' ArmResults (every
    per-patient column, toxicity, local-control record and the whole event log), or None."""
    for c in a.columns:
        x, y = a[c][j], b[c][j]
        # NaN (e.g. no first assessment, recist_first_cm) equals NaN
        same = (abs(float(x) - float(y)) <= TIME_ATOL or (math.isnan(x) and math.isnan(y))) if a[c].dtype.kind == "f" else x == y
        if not same:
            return f"column {c}: {x} vs {y}"
    if not np.array_equal(a.tox[j], b.tox[j]):
        return f"toxicities {a.tox[j].astype(int)} vs {b.tox[j].astype(int)}"
    k = int(a["lc_n"][j])
    for attr in ("lc_event", "lc_time", "lc_bed", "lc_volume"):
        x, y = getattr(a, attr)[j, :k], getattr(b, attr)[j, :k]
        if not (np.array_equal(x, y) if x.dtype.kind == "b" else np.allclose(x, y, rtol=1e-9, atol=TIME_ATOL, equal_nan=True)):
            return f"local-control {attr}: {x} vs {y}"
    k = min(int(a["ev_n"][j]), a.ev_time.shape[1])
    for i in range(k):
        ta, tb = float(a.ev_time[j, i]), float(b.ev_time[j, i])
        ca, cb = codes.EVENT_NAMES[a.ev_code[j, i]], codes.EVENT_NAMES[b.ev_code[j, i]]
        da, db = int(a.ev_detail[j, i]), int(b.ev_detail[j, i])
        if ca != cb or da != db or abs(ta - tb) > TIME_ATOL:
            return f"event {i}: ({ta:.6f}, {ca}, {da}) vs ({tb:.6f}, {cb}, {db})"
    return None


def strict_differences(sc, arms, n=N_STRICT, seed=SEED_STRICT) -> list[str]:
    """Every patient whose course differs between the engines at the same seed."""
    ref = run_scenario_reference(sc, patients=n, seed=seed, arms=arms, events=True)
    ker = simulate.run_scenario(sc, patients=n, seed=seed, arms=arms, events=True)
    out = []
    for name in arms:
        for j in range(n):
            diff = first_difference(ref.arms[name], ker.arms[name], j)
            if diff:
                out.append(f"{name} patient {j}: {diff}")
    return out


@pytest.mark.parametrize("label,factory,arms", CASES, ids=[c[0] for c in CASES])
def test_same_seed_every_patient_identical(label, factory, arms):
    """Same seed, same streams: every patient's whole course is the same in both engines (every
    column, toxicity, local-control record and event, times to 1e-6 months), not a large share
    of them. A change to one engine's version of any mechanism that touches a single patient of
    the sample fails here."""
    diffs = strict_differences(factory(), arms)
    assert not diffs, f"{label}: {len(diffs)} patient(s) differ, e.g. " + "; ".join(diffs[:3])


def test_dfi_of_every_presentation_same_seed():
    """The DFI grown at the patient's growth rate (model 3.1), for metachronous, induced and repeat
    patients alike: both engines give every patient the same DFI and the same course."""
    mixed = {f"cohort.presentation.{k}": 0.25 for k in codes.PRESENTATION_NAMES}
    sc = default_scenario().with_values(mixed)
    diffs = strict_differences(sc, ["systemic_only", "upfront_rt"], n=100, seed=6)
    assert not diffs, f"{len(diffs)} patient(s) differ, e.g. " + "; ".join(diffs[:3])


def _mutate_bed_to_physical_dose(monkeypatch):
    """RT delivery computes TCP (and records BED10) from the physical dose."""
    shim = types.SimpleNamespace(**{k: getattr(rb_core, k) for k in dir(rb_core) if not k.startswith("__")})
    shim.bed_extended = lambda d, k, ab, *repair_and_repopulation: d * k
    monkeypatch.setattr(reference_rt, "rb", shim)


def _mutate_complete_repair(monkeypatch):
    """The reference ignores incomplete repair between same-day fractions (model 6.2): BED and
    EQD2 of twice-daily schedules by the daily formula."""
    monkeypatch.setattr(reference_rt, "bed", lambda d, k, ab, per_day, theta: rb_core.bed(d, k, ab))
    monkeypatch.setattr(reference_rt, "eqd2", lambda d, k, ab, per_day, theta: rb_core.eqd2(d, k, ab))


def _mutate_reirradiation_schedule_ignored(monkeypatch):
    """The reference re-irradiates with the arm's first-course schedule, not the site's
    re-irradiation schedule (model 6.6)."""
    schedule_of = reference_rt.schedule_of

    def first_course(A, les):
        return schedule_of(A, types.SimpleNamespace(organ=les.organ, subsite=les.subsite, with_primary=les.with_primary, irradiated=0))

    monkeypatch.setattr(reference_rt, "schedule_of", first_course)


def _mutate_fresh_rt_number(monkeypatch):
    """A lesion's first course is decided by a fresh random number, not its fixed quantile."""
    draws = np.random.default_rng(0)

    def fresh(self):
        return float(draws.random())

    monkeypatch.setattr(reference_cohort.Lesion, "u_tcp", property(fresh, lambda self, v: None), raising=False)


def _mutate_fatal_fistula(monkeypatch):
    """Fistulas are fatal twice as often."""
    lower = reference_driver.lower_model
    monkeypatch.setattr(reference_driver, "lower_model", lambda sc: (P := lower(sc))._replace(g5_fistula=min(1.0, 2.0 * P.g5_fistula)))


def _mutate_locoregional(monkeypatch, **changes):
    """The reference engine reads other locoregional parameters (model 3.7, 4.2, 4.8, 6.9): each
    change is a new value, or a function of the lowered one."""
    lower = reference_driver.lower_model

    def changed(sc):
        P = lower(sc)
        lr = P.lr.copy()
        for k, v in changes.items():
            lr[0][k] = v(lr[0][k]) if callable(v) else v
        return P._replace(lr=lr)

    monkeypatch.setattr(reference_driver, "lower_model", changed)


def _mutate_regional_seeding(monkeypatch):
    """Lymphatic spread from the primary and regional nodes always lands in the regional nodes
    (1.0 instead of the default share, 0.8)."""
    _mutate_locoregional(monkeypatch, regional_seeding=1.0)


def _mutate_tumour_fistula_doubled(monkeypatch):
    """The primary in place perforates twice as often in the reference."""
    _mutate_locoregional(monkeypatch, fistula_rate=lambda rate: 2.0 * rate)


def _mutate_no_station_coverage(monkeypatch):
    """A nodal field no longer treats the occult nodes of its station."""
    monkeypatch.setattr(reference_rt.RadiotherapyMixin, "_station_target", lambda self, les: None)


def _mutate_statement5_same_level_only(monkeypatch):
    """Statement 5 takes only distant nodes at the primary's own level, not the next one."""
    original = reference_rt.RadiotherapyMixin._mark_nodes_with_primary

    def mark(self, mode):
        original(self, mode)
        level = next((les.subsite for les in self.lesions if les is not None and les.in_course and les.organ == codes.PRIMARY), None)
        for les in self.lesions:
            if les is not None and les.with_primary and les.subsite != level:
                les.with_primary = False

    monkeypatch.setattr(reference_rt.RadiotherapyMixin, "_mark_nodes_with_primary", mark)


def _mutate_esophagus_kept_after_surgery(monkeypatch):
    """The reference forgets that a resected patient has no esophagus (its RT courses can cause
    esophagitis and esophageal fistula again)."""
    original = reference_cohort._draw_locoregional

    def draw(P, s, pat, lesions, synchronous):
        original(P, s, pat, lesions, synchronous)
        if pat.primary_treatment == codes.PRIOR_SURGERY:
            pat.primary_treatment = codes.PRIMARY_IN_PLACE

    monkeypatch.setattr(reference_cohort, "_draw_locoregional", draw)


def _mutate_whole_line_paused(monkeypatch):
    """The reference pauses the anti-PD-1 component with the chemotherapy during a sequential
    RT course (the rule before 2026-12-06)."""
    monkeypatch.setattr(reference_systemic.SystemicMixin, "_anti_pd1_kill", lambda self, reg: 0.0)


def _mutate_slow_doubling_halved(monkeypatch):
    """The reference calls a progression slow at half the doubling time it should."""
    lower = reference_driver.lower_arm

    def changed(sc, arm):
        A = lower(sc, arm)
        return A._replace(slow_doubling=0.5 * A.slow_doubling)

    monkeypatch.setattr(reference_driver, "lower_arm", changed)


def _mutate_progressing_targets_ignored(monkeypatch):
    """The reference treats every seen lesion at a progression although the arm says only the
    progressing ones (model 8.1)."""
    monkeypatch.setattr(reference_rt.RadiotherapyMixin, "_keep_progressing", lambda self: None)


def _mutate_progressing_without_new_lesions(monkeypatch):
    """The reference's progressing lesions are only those grown since the nadir: a lesion seen
    for the first time at the scan is not one unless it also grew (model 8.1)."""
    keep = reference_rt.RadiotherapyMixin._keep_progressing

    def changed(self):
        saved = [(les, les.new_seen) for les in self.lesions if les is not None]
        for les, _ in saved:
            les.new_seen = False
        keep(self)
        for les, flag in saved:
            les.new_seen = flag

    monkeypatch.setattr(reference_rt.RadiotherapyMixin, "_keep_progressing", changed)


def _mutate_local_with_next_line_ignored(monkeypatch):
    """The reference switches line without the local therapy the arm adds (model 8.4 step 5)."""
    lower = reference_driver.lower_arm
    monkeypatch.setattr(reference_driver, "lower_arm", lambda sc, arm: lower(sc, arm)._replace(local_with_next_line=False))


def _mutate_local_with_next_line_unlimited(monkeypatch):
    """The reference's local therapy with the next line ignores the limit on local courses."""
    lower = reference_driver.lower_arm
    monkeypatch.setattr(reference_driver, "lower_arm", lambda sc, arm: lower(sc, arm)._replace(max_courses=20))


def _mutate_marginal_as_distant(monkeypatch):
    """A new node next to an irradiated one is classified out of field instead of marginal."""
    original = reference_assess.AssessmentMixin._failure_site

    def site(self, les):
        f = original(self, les)
        return codes.FAIL_OUT_OF_FIELD_NEW if f == codes.FAIL_MARGINAL_REGIONAL and not les.is_locoregional else f

    monkeypatch.setattr(reference_assess.AssessmentMixin, "_failure_site", site)


def _mutate_persistent_primary_unirradiated(monkeypatch):
    """The primary persisting after definitive chemoradiotherapy does not carry the earlier
    course's dose (a later course would not be a re-irradiation)."""
    original = reference_cohort._draw_locoregional

    def draw(P, s, pat, lesions, synchronous):
        original(P, s, pat, lesions, synchronous)
        for les in lesions:
            if les.organ == codes.PRIMARY and not synchronous:
                les.irradiated = 0
                les.site_eqd2 = 0.0

    monkeypatch.setattr(reference_cohort, "_draw_locoregional", draw)


def _mutate_dfi_independent_of_growth(monkeypatch):
    """The DFI is drawn on its own again (the rule before issue 16), from the same deviate."""
    monkeypatch.setattr(reference_cohort, "disease_free_interval", lambda P, z, growth: P.dfi_median * math.exp(P.dfi_sdlog * z))


def _mutate_dfi_at_median_growth(monkeypatch):
    """The DFI is grown at the population's median growth rate, not the patient's."""
    monkeypatch.setattr(reference_cohort, "disease_free_interval", lambda P, z, growth: P.dfi_x_median * math.exp(P.dfi_x_sdlog * z) / P.growth_median)


def _mutate_population(monkeypatch, elig=None, pop=None):
    """The reference engine reads other eligibility or lesion-drawing parameters (model 3.2, 3.4):
    each change a function of the lowered record."""
    lower = reference_driver.lower_model

    def changed(sc):
        P = lower(sc)
        E, Q = P.elig.copy(), P.pop.copy()
        if elig:
            elig(E[0])
        if pop:
            pop(Q[0])
        return P._replace(elig=E, pop=Q)

    monkeypatch.setattr(reference_driver, "lower_model", changed)


def _mutate_nodes_not_adjacent(monkeypatch):
    """The reference ignores the adjacency of the nodes (any two stations)."""
    _mutate_population(monkeypatch, elig=lambda E: E.__setitem__("node_span", codes.N_STATIONS))


def _mutate_node_sites_by_station(monkeypatch):
    """The reference counts distant nodes one per station even when the study merges adjacent ones."""
    _mutate_population(monkeypatch, elig=lambda E: E.__setitem__("node_site", 1))


def _mutate_common_size(monkeypatch):
    """The reference draws every organ's lesions with the common size (model 3.2)."""
    _mutate_population(monkeypatch, pop=lambda Q: Q.__setitem__("logd_median", np.full(codes.N_ORGANS, Q["logd_median"][codes.BONE])))


def _mutate_stations_uniform(monkeypatch):
    """The reference draws the distant nodes' stations uniformly."""
    _mutate_population(monkeypatch, pop=lambda Q: Q.__setitem__("station_cum_distant", np.array([0.25, 0.5, 0.75, 1.0])))


def _mutate_exclusion_by_escc_rule(monkeypatch):
    """The reference excludes by the ESCC definition whatever the histology."""
    _mutate_population(monkeypatch, elig=lambda E: E.__setitem__("exclude_definition", codes.ESCC))


def _mutate_line_limit_ignored(monkeypatch):
    """The reference starts every systemic line whatever the current ECOG (model 3.9)."""
    from oligosim.reference import fitness as reference_fitness

    monkeypatch.setattr(reference_fitness.FitnessMixin, "fit_for_line", lambda self, line: True)


def _mutate_background_not_rescaled(monkeypatch):
    """The reference keeps the other-cause death time when a decline changes its hazard ratio."""
    from oligosim.reference import fitness as reference_fitness

    monkeypatch.setattr(reference_fitness, "background_after_change", lambda t, t_bg, slope, hr_old, hr_new: t_bg)


def _mutate_toxicity_odds_on_entry_ecog(monkeypatch):
    """The reference's toxicity odds read the entry ECOG, not the current one."""
    entry_odds = lambda P, pat, ecog: reference_oar.patient_odds(P, pat, pat.ecog)  # noqa: E731
    monkeypatch.setattr(reference_systemic, "patient_odds", entry_odds)
    monkeypatch.setattr(reference_rt, "patient_odds", entry_odds)


def _mutate_visit_offset(monkeypatch):
    """Scheduled visits move the other way within their window (same draw, mirrored offset)."""
    monkeypatch.setattr(reference_assess, "visit_offset", lambda P, u: P.scan_window * (1.0 - 2.0 * u))


def _mutate_cytopenias_independent(monkeypatch):
    """A line's leukopenia and neutropenia are drawn independently (no copula, model 9)."""
    monkeypatch.setattr(reference_systemic, "correlated_uniform", lambda z, u, rho: u)


def _mutate_no_rt_marrow_toxicity(monkeypatch):
    """An RT course never lowers the white count (model 9)."""
    monkeypatch.setattr(reference_toxicity.ToxicityMixin, "marrow_ntcp", lambda self, marrow, odds: 0.0)


def _mutate_window_never_closes(monkeypatch):
    """Every grade >= 3 event counts, whenever it happens (no counting window, model 9)."""
    monkeypatch.setattr(reference_toxicity.ToxicityMixin, "update_window", lambda self: None)
    monkeypatch.setattr(reference_toxicity.ToxicityMixin, "close_window_now", lambda self: None)


def _mutate_primary_resistance_at_the_bottom(monkeypatch):
    """The primarily resistant share taken from the bottom of the unit interval, before the
    durable responders (same share, other patients; model 5.3)."""
    monkeypatch.setattr(
        reference_systemic, "response_class",
        lambda u, durable, primary: "primary" if u < primary else ("durable" if u < primary + durable else "acquired"),
    )


def _mutate_resistant_lesions_keep_half_the_kill(monkeypatch):
    """A lesion that has resisted on its own keeps half the line's kill in the reference
    (per-lesion resistance, model 5.3)."""
    from oligosim.reference import lesres as reference_lesres

    monkeypatch.setattr(reference_lesres, "kill_of", lambda les, kill: 0.5 * kill if les.resistant else kill)


def _mutate_diffuse_grows_faster(monkeypatch):
    """The reference's diffuse compartment grows 0.05 per month faster than the patient's
    median rate (model 4.9)."""
    advance = reference_diffuse.DiffuseMixin.advance_diffuse

    def faster(self, dt):
        advance(self, dt)
        if self.dif_state != reference_diffuse.ABSENT:
            self.dif_logv += 0.05 * dt

    monkeypatch.setattr(reference_diffuse.DiffuseMixin, "advance_diffuse", faster)


def _mutate_diffuse_death_weight_doubled(monkeypatch):
    """The reference's diffuse death hazard twice as high, its clock and its accumulation both
    (model 4.9)."""
    rate = reference_diffuse.DiffuseMixin._diffuse_rate
    integral = reference_diffuse.volume_integral
    monkeypatch.setattr(reference_diffuse.DiffuseMixin, "_diffuse_rate", lambda self: 2.0 * rate(self))
    monkeypatch.setattr(reference_diffuse, "volume_integral", lambda v, r, tau: 2.0 * integral(v, r, tau))


def _mutate_colony_one_larger(monkeypatch):
    """Every colony one lesion larger in the reference (model 4.2)."""
    ppf = reference_streams.negative_binomial_ppf
    monkeypatch.setattr(reference_streams, "negative_binomial_ppf", lambda u, m, k, cap: min(cap, ppf(u, m, k, cap) + 1))


def _mutate_aggregate_at_lesion_growth(monkeypatch):
    """The reference's aggregate beyond the cap grows 20% faster than the patient's median
    rate (model 4.2)."""
    make = reference_uncounted._aggregate
    monkeypatch.setattr(reference_uncounted, "_aggregate", lambda h, logv, g: make(h, logv, 1.2 * g))


def _mutate_growth_propensity_halved(monkeypatch):
    """The reference correlates the growth deviate with the propensity's at half the
    configured strength (model 3.1)."""
    deviate = reference_cohort.growth_deviate
    monkeypatch.setattr(reference_cohort, "growth_deviate", lambda rho, zp, z: deviate(0.5 * rho, zp, z))


def _mutate_third_line_is_the_second_again(monkeypatch):
    """The reference gives the second line's regimen again as the third line (model 5.1)."""
    start = reference_systemic.SystemicMixin.start_line

    def start_line(self, line, reg):
        return start(self, line, self.A.second_line if line == 3 else reg)

    monkeypatch.setattr(reference_systemic.SystemicMixin, "start_line", start_line)


def _mutate_no_field_scale(monkeypatch):
    """The reference ignores the size of a metastatic target's field (model 6.5)."""
    monkeypatch.setattr(reference_rt, "field_scale", lambda P, organ, logv: 1.0)


def _mutate_no_patient_odds(monkeypatch):
    """The reference ignores the patient's age and performance status (model 9)."""
    monkeypatch.setattr(reference_rt, "patient_odds", lambda P, pat, ecog: 1.0)
    monkeypatch.setattr(reference_systemic, "patient_odds", lambda P, pat, ecog: 1.0)


def _mutate_cord_and_bowel_swapped(monkeypatch):
    """The reference gives the cord's dose to the bowel and the bowel's to the cord."""
    organs = reference_oar.OrgansMixin.organs_toxicity
    monkeypatch.setattr(reference_oar.OrgansMixin, "organs_toxicity", lambda self, h, c, b, g, o: organs(self, h, b, c, g, o))


def _mutate_no_conduit(monkeypatch):
    """The reference forgets the gastric conduit after esophagectomy."""
    organs = reference_oar.OrgansMixin.organs_toxicity
    monkeypatch.setattr(reference_oar.OrgansMixin, "organs_toxicity", lambda self, h, c, b, g, o: organs(self, h, c, b, 0.0, o))
def _mutate_pretreatment_forgotten(monkeypatch):
    """The reference forgets that a second-line cohort's lesions had chemotherapy (model 3.8)."""
    apply = reference_cohort.apply_history

    def forgetful(P, seed, pid, pat, lesions):
        apply(P, seed, pid, pat, lesions)
        for les in lesions:
            les.chemo_exposed = False

    monkeypatch.setattr(reference_cohort, "apply_history", forgetful)


def _mutate_prior_interval_at_median(monkeypatch):
    """The reference gives every patient the median interval since the earlier course (model 3.8)."""
    draw = reference_entry.prior_course
    monkeypatch.setattr(reference_entry, "prior_course", lambda E, s: (draw(E, s)[0], float(E["interval_median"])))


def _mutate_procedure_size_ignored(monkeypatch):
    """The reference gives every lesion the small-lesion control probability of its surgery or
    ablation (model 6.10)."""
    from oligosim.reference import procedure as reference_procedure

    monkeypatch.setattr(reference_procedure, "diameter_of_logv", lambda logv: 0.0)


def _mutate_resection_repeated(monkeypatch):
    """The reference resects again a lesion whose residual regrew after resection, instead of
    irradiating it (model 6.10)."""
    from oligosim.reference import procedure as reference_procedure

    monkeypatch.setattr(reference_procedure.ProcedureMixin, "local_modality", lambda self, les: int(self.A.local_modality[les.organ, les.subsite]))


def _mutate_size_limit_doubled(monkeypatch):
    """The reference's size rule reads the lesion's radius instead of its diameter (the limit is
    in effect doubled; model 6.10)."""
    from oligosim.reference import procedure as reference_procedure

    def site_modality(self, les):
        o, s = les.organ, les.subsite
        if reference_procedure.diameter_of_logv(les.logv) / 2.0 > float(self.A.local_modality_max_cm[o, s]):
            return int(self.A.local_modality_above[o, s])
        return int(self.A.local_modality[o, s])

    monkeypatch.setattr(reference_procedure.ProcedureMixin, "site_modality", site_modality)


def _mutate_procedure_hold_ignored(monkeypatch):
    """The reference never holds chemotherapy after surgery or ablation (model 6.10)."""
    from oligosim.reference import procedure as reference_procedure

    monkeypatch.setattr(reference_procedure.ProcedureMixin, "hold_systemic", lambda self, end: None)


def _mutate_toxicity_cycle_off_by_one(monkeypatch):
    """The reference puts a per-cycle toxicity one cycle later than its geometric draw (model 5.5)."""
    from oligosim.reference import cycletox as reference_cycletox

    first = reference_cycletox.cycle_of_first_event
    monkeypatch.setattr(reference_cycletox, "cycle_of_first_event", lambda p, u: first(p, u) + 1.0)


@pytest.mark.parametrize(
    "mutate,label,factory,arms",
    [
        (_mutate_procedure_hold_ignored, "procedure_pause", procedure_pause_scenario, ["upfront_rt", "consolidative"]),
        (_mutate_size_limit_doubled, "modality_by_size", modality_by_size_scenario, ["upfront_rt"]),
        (_mutate_procedure_size_ignored, "local_modality", local_modality_scenario, ["upfront_rt"]),
        (_mutate_resection_repeated, "local_modality", local_modality_scenario, ["at_progression"]),
        (_mutate_no_field_scale, "organs_at_risk", organs_at_risk_scenario, ["upfront_rt"]),
        (_mutate_no_patient_odds, "organs_at_risk", organs_at_risk_scenario, ["upfront_rt"]),
        (_mutate_cord_and_bowel_swapped, "organs_at_risk", organs_at_risk_scenario, ["upfront_rt"]),
        (_mutate_no_conduit, "conduit", conduit_scenario, ["rt_alone"]),
        (_mutate_pretreatment_forgotten, "entry_second_line", entry_second_line_scenario, ["upfront_rt"]),
        (_mutate_prior_interval_at_median, "prior_rt_drawn", prior_rt_drawn_scenario, ["reirr_daily"]),
        (_mutate_third_line_is_the_second_again, "third_line", third_line_scenario, ["systemic_only"]),
        (_mutate_colony_one_larger, "seeding_colonies", seeding_colonies_scenario, ["systemic_only"]),
        (_mutate_aggregate_at_lesion_growth, "uncounted_grows", uncounted_grows_scenario, ["systemic_only"]),
        (_mutate_growth_propensity_halved, "growth_propensity", growth_propensity_scenario, ["systemic_only"]),
        (_mutate_diffuse_grows_faster, "diffuse", diffuse_scenario, ["systemic_only"]),
        (_mutate_diffuse_death_weight_doubled, "diffuse", diffuse_scenario, ["systemic_only"]),
        (_mutate_complete_repair, "reirradiation_bid", reirradiation_bid_scenario, ["reirr_bid"]),
        (_mutate_reirradiation_schedule_ignored, "reirradiation_bid", reirradiation_bid_scenario, ["reirr_bid_by_site"]),
        (_mutate_primary_resistance_at_the_bottom, "primary_resistance", primary_resistance_scenario, ["systemic_only"]),
        (_mutate_resistant_lesions_keep_half_the_kill, "lesion_resistance", lesion_resistance_scenario, ["systemic_only"]),
        (_mutate_cytopenias_independent, "default", default_scenario, ["systemic_only"]),
        (_mutate_no_rt_marrow_toxicity, "default", default_scenario, ["concurrent"]),
        (_mutate_window_never_closes, "default", default_scenario, ["systemic_only"]),
        (_mutate_visit_offset, "default", default_scenario, ["systemic_only"]),
        (_mutate_bed_to_physical_dose, "default", default_scenario, ["upfront_rt"]),
        (_mutate_fresh_rt_number, "default", default_scenario, ["upfront_rt"]),
        # fistula made common (TD50 50 Gy) so that the sample holds fatal ones to double
        (_mutate_fatal_fistula, "reirradiation", lambda: scenario_file("locoregional_reirradiation.toml")().with_values({"toxicity.fistula_td50_gy": 50.0}), ["reirr_daily"]),
        (_mutate_regional_seeding, "default", default_scenario, ["systemic_only"]),
        (_mutate_no_station_coverage, "default", default_scenario, ["upfront_rt"]),
        (_mutate_tumour_fistula_doubled, "default", default_scenario, ["systemic_only"]),
        (_mutate_marginal_as_distant, "node_recurrence", scenario_file("node_recurrence_after_esophagectomy.toml"), ["rt_alone"]),
        (_mutate_persistent_primary_unirradiated, "after_crt", after_crt_scenario, ["rt_alone"]),
        (_mutate_whole_line_paused, "eso_shanghai13", scenario_file("eso_shanghai13.toml"), ["io_local"]),
        (_mutate_slow_doubling_halved, "slow_by_growth", slow_by_growth_scenario, ["upfront_rt"]),
        (_mutate_esophagus_kept_after_surgery, "node_recurrence", scenario_file("node_recurrence_after_esophagectomy.toml"), ["rt_alone"]),
        (_mutate_statement5_same_level_only, "statement5", lambda: default_scenario().with_values({"arms.upfront_rt.nodes_with_primary": True}), ["upfront_rt"]),
        (_mutate_dfi_independent_of_growth, "sbrt_metachronous", scenario_file("sbrt_metachronous.toml"), ["dfi_guided"]),
        (_mutate_dfi_at_median_growth, "sbrt_metachronous", scenario_file("sbrt_metachronous.toml"), ["dfi_guided"]),
        (_mutate_nodes_not_adjacent, "population", population_scenario, ["systemic_only"]),
        (_mutate_node_sites_by_station, "population", population_scenario, ["systemic_only"]),
        (_mutate_common_size, "population", population_scenario, ["systemic_only"]),
        (_mutate_stations_uniform, "population", population_scenario, ["upfront_rt"]),
        (_mutate_exclusion_by_escc_rule, "polymetastatic", polymetastatic_scenario, ["systemic_only"]),
        (_mutate_line_limit_ignored, "patient_factors", patient_factors_scenario, ["systemic_only"]),
        (_mutate_background_not_rescaled, "patient_factors", patient_factors_scenario, ["systemic_only"]),
        (_mutate_toxicity_odds_on_entry_ecog, "patient_factors_first_line", patient_factors_first_line_scenario, ["upfront_rt"]),
        (_mutate_line_limit_ignored, "patient_factors_first_line", patient_factors_first_line_scenario, ["concurrent"]),
        (_mutate_toxicity_cycle_off_by_one, "per_cycle_toxicity", per_cycle_toxicity_scenario, ["systemic_only"]),
        (_mutate_progressing_targets_ignored, "progressing_targets", progressing_targets_scenario, ["at_progression"]),
        (_mutate_progressing_without_new_lesions, "progressing_targets", progressing_targets_scenario, ["at_progression"]),
        (_mutate_local_with_next_line_ignored, "local_with_next_line", local_with_next_line_scenario, ["systemic_only"]),
        (_mutate_local_with_next_line_unlimited, "local_with_next_line", local_with_next_line_scenario, ["systemic_only"]),
    ],
    ids=["procedure_hold_ignored", "size_limit_doubled", "procedure_size_ignored", "resection_repeated", "no_field_scale", "no_patient_odds", "cord_and_bowel_swapped", "no_conduit", "pretreatment_forgotten", "prior_interval_at_median", "third_line_is_the_second_again", "colony_one_larger", "aggregate_faster", "growth_propensity_halved", "diffuse_grows_faster", "diffuse_death_weight_doubled", "complete_repair", "reirradiation_schedule_ignored", "primary_resistance_at_the_bottom", "resistant_lesions_keep_half_the_kill", "cytopenias_independent", "no_rt_marrow_toxicity", "window_never_closes", "visit_offset_mirrored", "bed_as_physical_dose", "fresh_rt_number", "fatal_fistula_doubled", "regional_seeding_doubled",
         "no_station_coverage", "tumour_fistula_doubled", "marginal_as_distant", "persistent_primary_unirradiated", "whole_line_paused", "slow_doubling_halved", "esophagus_kept_after_surgery", "statement5_same_level_only",
         "dfi_independent_of_growth", "dfi_at_median_growth", "nodes_not_adjacent", "node_sites_by_station", "common_size", "stations_uniform", "exclusion_by_escc_rule",
         "line_limit_ignored", "background_not_rescaled", "toxicity_odds_on_entry_ecog", "first_line_limit_ignored",
         "toxicity_cycle_off_by_one", "progressing_targets_ignored", "progressing_without_new_lesions",
         "local_with_next_line_ignored", "local_with_next_line_unlimited"],
)
def test_strict_identity_catches_a_changed_mechanism(monkeypatch, mutate, label, factory, arms):
    """Teeth: the strict comparison fails when one mechanism of one engine (here the
    reference) is altered, the bugs that a >= 97% agreement rule let through."""
    mutate(monkeypatch)
    diffs = strict_differences(factory(), arms)
    assert diffs, f"{label}: the mutation changed no patient's course"


# ----------------------------------------------------------------------------- slow tests

_CACHE: dict = {}


def _run_case(label, factory, arms, n):
    key = (label, n)
    if key not in _CACHE:
        sc = factory()
        t0 = time.perf_counter()
        ker = simulate.run_scenario(sc, patients=n, seed=SEED_KERNEL, arms=arms)
        t1 = time.perf_counter()
        ref = run_scenario_reference(sc, patients=n, seed=SEED_REFERENCE, arms=arms, workers=WORKERS)
        t2 = time.perf_counter()
        _CACHE[key] = (ker, ref, t1 - t0, t2 - t1)
    return _CACHE[key]


@pytest.mark.slow
@pytest.mark.parametrize("label,factory,arms", CASES, ids=[c[0] for c in CASES])
def test_engines_agree(label, factory, arms):
    n = slow_patients(label)
    ker, ref, tk, tr = _run_case(label, factory, arms, n)
    lines = []
    for name in arms:
        res = compare_arms(ref.arms[name], ker.arms[name])
        lines.append(
            f"{label}/{name}: n={n} ks_os={res['ks_os']:.3g} ks_pfs={res['ks_pfs']:.3g} "
            f"lr_os={res['logrank_os']:.3g} lr_pfs={res['logrank_pfs']:.3g} z_max={res['z_max']:.2f} ({res['z_argmax']})"
        )
        print(lines[-1])
        assert_agree(f"{label}/{name}", res)
    print(f"{label}: kernel {tk:.1f} s, reference {tr:.1f} s ({len(arms) * n / tr:.0f} patients/s)")


#: the shipped defaults before the v2 fit (2026-12-07) of the values that decide whether seeding
#: shows in test_teeth_seeding_rate
V1_MODEL = {
    "disease.metastasis_doubling_median_months": 1.829, "regimens.tp_pd1.kill_rate_per_month": 1.2051,
    "regimens.tp_pd1.primary_resistance_fraction": 0.0, "disease.propensity_sdlog": 2.498,
    "cohort.lesions.extra_macroscopic_propensity_exponent": 0.2508, "disease.limited_capacity_fraction": 0.2946,
    "disease.uncounted_disease": "frozen", "disease.diffuse.enabled": False, **PATIENT_FACTORS_OFF,
}


@pytest.mark.slow
def test_teeth_seeding_rate():
    """A 16-fold seeding rate in the reference only must be detected by the same comparison.

    The mechanism is tested at the hand-set rate (0.06 per cm3 per month) without occult lesions at
    entry. With the calibrated defaults (2026-11-22) seeding barely shapes outcomes: the rate is at
    the bottom of its prior, most progressions come from the occult disease present at entry, and
    new lesions seeded at 1.2 mm need about a year to be seen at the fitted 1.8-month doubling
    time; even 16-fold seeding in the default scenario left KS p about 0.8. The visible disease
    must also be held long enough for seeded lesions to show: the first line's time to resistance
    is set to 24 months here (since 2026-12-07 the default, 5.8 months, lets the visible lesions
    progress first, and 16-fold seeding gave PFS KS p = 0.05). So set up (2026-12-07), 16-fold
    seeding gives PFS KS p = 6e-9 and OS KS p = 3e-4, the unmutated reference 0.93 and 0.96.

    Since 2026-12-08 the shipped defaults are the v2 fit's, in which even 16-fold seeding moves
    neither PFS nor OS of this set-up (kernel against kernel, 4,000 patients: KS p 0.98 and 0.74;
    12.5 against 17.8 new lesions per patient): the visible lesions regrow during the anti-PD-1
    maintenance (doubling 1.5 months against a maintenance kill of 0.35/month) and decide the first
    progression, while seeded lesions are killed with them. The test therefore runs in the model
    of 2026-12-07 (``V1_MODEL``: the earlier defaults of every value that matters here), where
    the comparison gave PFS KS p = 5e-7 kernel against kernel."""
    n = 4000
    # no occult disease at entry, distant or locoregional (model 3.7): what progresses is seeded
    sc = default_scenario().with_values(
        {"cohort.lesions.occult_mean": 0.0, "locoregional.occult_regional_nodes_mean_synchronous": 0.0, "disease.seeding_rate_per_cm3_month": 0.06,
         "regimens.tp_pd1.resistance_median_months": 24.0, **V1_MODEL}
    )
    arm = "systemic_only"
    ker = simulate.run_scenario(sc, patients=n, seed=SEED_KERNEL, arms=[arm]).arms[arm]
    rate = sc.data["disease"]["seeding_rate_per_cm3_month"]
    mutant = sc.with_values({"disease.seeding_rate_per_cm3_month": 16.0 * rate})
    ref = run_scenario_reference(mutant, patients=n, seed=SEED_REFERENCE, arms=[arm], workers=WORKERS).arms[arm]
    res = compare_arms(ref, ker)
    print(f"teeth (seeding x16): ks_os={res['ks_os']:.2e} lr_os={res['logrank_os']:.2e} ks_pfs={res['ks_pfs']:.2e}")
    # more seeding means earlier new lesions: PFS moves, OS less
    assert res["ks_pfs"] < P_MIN
    with pytest.raises(AssertionError):
        assert_agree("mutant", res)


@pytest.mark.slow
def test_teeth_toxicity_fraction():
    """A 10-point change of one toxicity probability in the reference only fails the 4-se rule."""
    n = 4000
    sc = default_scenario()
    arm = "systemic_only"
    ker = simulate.run_scenario(sc, patients=n, seed=SEED_KERNEL, arms=[arm]).arms[arm]
    # 10 points below the (calibrated, so moving) default, not a hard-coded value
    p0 = float(sc.data["regimens"]["tp_pd1"]["grade3plus"]["neutropenia"])
    assert p0 >= 0.15, "the mutation needs room below the default"
    mutant = sc.with_values({"regimens.tp_pd1.grade3plus.neutropenia": p0 - 0.10})
    ref = run_scenario_reference(mutant, patients=n, seed=SEED_REFERENCE, arms=[arm], workers=WORKERS).arms[arm]
    res = compare_arms(ref, ker)
    print(f"teeth (neutropenia {p0:.2f} -> {p0 - 0.10:.2f}): z = {res['z']['tox_neutropenia']:.1f}")
    assert res["z"]["tox_neutropenia"] > Z_MAX
    with pytest.raises(AssertionError):
        assert_agree("mutant", res)
