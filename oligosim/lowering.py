"""Scenario -> kernel inputs: the only code that knows both the config and the kernel.

Names become integer codes, diameters become log-volumes, doubling times become growth rates,
days become months and shares become cumulative arrays. Nothing here is checked again: the
Scenario was validated at load.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri as _ndtri

from oligosim import codes
from oligosim._kernels.cohort import detection_diameter, logv_of_diameter
from oligosim._kernels.inputs import DISEASE_DTYPE, ELIGIBILITY_DTYPE, ENTRY_DTYPE, LOCOREGIONAL_DTYPE, PATIENT_DTYPE, POPULATION_DTYPE, TOXICITY_DTYPE, ArmParams, ModelParams, Regimens
from oligosim.config import Scenario, schema
from oligosim.config.leaves import DAYS_PER_MONTH
from oligosim.radiobiology.core import repair_theta

_LN2 = math.log(2.0)


def _cum(values) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    c = np.cumsum(a / a.sum())
    c[-1] = 1.0
    return c


def _by_organ(table, default=0.0) -> np.ndarray:
    return np.array([float(table.get(name, default)) for name in codes.ORGAN_NAMES])


def organ_share_table(rt, organ: str = "esophagus") -> np.ndarray:
    """An organ at risk's share of the prescribed dose by (organ, subsite), shape (N_ORGANS, N_STATIONS).

    Every subsite of an organ takes the organ's value, except distant lymph nodes, whose subsite is
    the nodal station and whose value is the station's (docs/model.md 6.5). ``organ`` names the
    tables ``<organ>_dose_fraction`` and ``<organ>_dose_fraction_node_station``.
    """
    by_organ = _by_organ(rt[f"{organ}_dose_fraction"])
    out = np.repeat(by_organ[:, None], codes.N_STATIONS, axis=1)
    station = rt[f"{organ}_dose_fraction_node_station"]
    out[codes.DISTANT_NODE, :] = [float(station[name]) for name in codes.STATION_NAMES]
    return out


def _lower_locoregional(lr) -> np.ndarray:
    """The ``[locoregional]`` section as a one-element :data:`LOCOREGIONAL_DTYPE` array."""
    out = np.zeros(1, LOCOREGIONAL_DTYPE)
    r = out[0]
    r["crt_share"] = float(lr["primary_treatment"]["definitive_crt"])
    r["nodes_sync"] = float(lr["occult_regional_nodes_mean_synchronous"])
    r["bed_surgery"] = float(lr["bed_relapse_probability_after_surgery"])
    r["nodes_surgery"] = float(lr["occult_regional_nodes_mean_after_surgery"])
    r["primary_crt"] = float(lr["primary_persistence_probability_after_crt"])
    r["nodes_crt"] = float(lr["occult_regional_nodes_mean_after_crt"])
    r["crt_eqd2"] = float(lr["crt_eqd2_gy"])
    r["regional_seeding"] = float(lr["regional_seeding_fraction"])
    r["field_covers_station"] = bool(lr["field_covers_station"])
    r["fistula_rate"] = float(lr["tumour_fistula_rate_per_month"])
    r["after_fistula_rate"] = math.log(2.0) / float(lr["survival_after_tumour_fistula_months"])
    levels = np.array([float(lr["primary_level"][k]) for k in codes.STATION_NAMES])
    r["level_cum"] = np.cumsum(levels) / levels.sum()
    return out


def _lower_eligibility(el) -> np.ndarray:
    """``cohort.eligibility`` as a one-element :data:`ELIGIBILITY_DTYPE` array."""
    out = np.zeros(1, ELIGIBILITY_DTYPE)
    r = out[0]
    r["definition"] = {"none": -1, "escc": codes.ESCC, "eac": codes.EAC, "histology": 2}[el["definition"]]
    r["max_lesions"] = int(el["max_lesions"])
    r["min_lesions"] = int(el["min_lesions"])
    r["max_organs"] = int(el["max_organs"])
    r["max_diameter"] = float(el["max_diameter_cm"])
    r["min_kps"] = int(el["min_kps"])
    r["min_age"] = float(el["min_age_years"])
    r["max_age"] = float(el["max_age_years"])
    r["max_attempts"] = int(el["max_attempts"])
    allowed = el["organs"]
    for o, name in enumerate(codes.ORGAN_NAMES):
        r["organ_allowed"][o] = o in (codes.PRIMARY, codes.REGIONAL_NODE) or name in allowed
    # an organ's own limit only tightens the limit for every lesion (the same comparison without one)
    limits = el["max_diameter_by_organ_cm"]
    r["max_diameter_organ"] = [min(float(el["max_diameter_cm"]), float(limits.get(name, math.inf))) for name in codes.ORGAN_NAMES]
    r["max_nodes"] = int(el["max_nodes"])
    r["node_span"] = int(el["max_node_span_stations"])
    r["node_scope_all"] = el["node_rule_nodes"] == "all"
    r["exclude_definition"] = {"none": -1, "escc": codes.ESCC, "eac": codes.EAC, "histology": 2}[el["exclude_definition"]]
    r["node_site"] = int(el["node_site_stations"])
    return out


def _lower_population(les) -> np.ndarray:
    """Lesion sizes by organ and node stations (``cohort.lesions``) as a one-element
    :data:`POPULATION_DTYPE` array; an organ without its own size takes the common one."""
    out = np.zeros(1, POPULATION_DTYPE)
    r = out[0]
    by_organ = les["diameter_by_organ"]
    common = {"median_cm": les["macroscopic_diameter_median_cm"], "sdlog": les["macroscopic_diameter_sdlog"]}
    for o, name in enumerate(codes.ORGAN_NAMES):
        entry = by_organ.get(name, common)
        r["logd_median"][o] = math.log(entry["median_cm"])
        r["logd_sd"][o] = float(entry["sdlog"])
    r["station_cum_distant"] = _cum([les["distant_node_stations"][k] for k in codes.STATION_NAMES])
    r["station_cum_regional"] = _cum([les["regional_node_stations"][k] for k in codes.STATION_NAMES])
    return out


def _lower_entry(co) -> np.ndarray:
    """Where the cohort enters and what it had before (model 3.8) as a one-element
    :data:`ENTRY_DTYPE` array."""
    out = np.zeros(1, ENTRY_DTYPE)
    r = out[0]
    r["pretreated"] = int(co["entry_line"]) >= 2
    courses = list(co["prior_rt_courses"].values())
    r["n_courses"] = len(courses)
    if courses:
        r["course_cum"][: len(courses)] = _cum([c["share"] for c in courses])
        r["course_eqd2"][: len(courses)] = [float(c["eqd2_gy"]) for c in courses]
    # drawn per patient only when something varies: otherwise the cohort keeps its one course
    # and makes no PRIOR_RT draw (bit-identical to the fixed course)
    r["prior_rt_drawn"] = bool(courses) or float(co["prior_rt_months_sdlog"]) > 0.0
    r["interval_median"] = float(co["prior_rt_months"])
    r["interval_sdlog"] = float(co["prior_rt_months_sdlog"])
    return out


def _lower_diffuse(df, r) -> None:
    """Diffuse serosal disease (model 4.9) into the :data:`DISEASE_DTYPE` record ``r``."""
    r["on"] = bool(df["enabled"])
    r["onset"][codes.ESCC] = float(df["onset_fraction_escc"])
    r["onset"][codes.EAC] = float(df["onset_fraction_eac"])
    r["entry"][codes.ESCC] = float(df["entry_fraction_escc"])
    r["entry"][codes.EAC] = float(df["entry_fraction_eac"])
    r["det_logv"] = math.log(float(df["detection_volume_cm3"]))
    r["det_sdlog"] = float(df["detection_sdlog"])
    r["death_weight"] = float(df["death_weight"])


def _lower_toxicity(tx, rt) -> np.ndarray:
    """The new-style toxicity parameters (model 9) as a one-element :data:`TOXICITY_DTYPE` array."""
    out = np.zeros(1, TOXICITY_DTYPE)
    r = out[0]
    r["protocol_window"] = tx["counting"] == "protocol"
    r["window"] = float(tx["counting_window_days"]) / DAYS_PER_MONTH
    r["cyto_rho"] = float(tx["cytopenia_correlation"])
    r["other_rho"] = float(tx["other_toxicity_correlation"])
    r["marrow_td50"] = float(tx["marrow_td50_gy"])
    r["marrow_m"] = float(tx["marrow_m"])
    r["marrow_fraction"] = _by_organ(rt["marrow_mean_dose_fraction"])
    # heart, spinal cord and bowel (model 6.5), flattened by (organ, subsite)
    r["heart_fraction"] = organ_share_table(rt, "heart_mean").ravel()
    r["cord_fraction"] = organ_share_table(rt, "spinal_cord").ravel()
    r["bowel_fraction"] = organ_share_table(rt, "bowel").ravel()
    r["size_scaling"] = bool(rt["oar_dose_scales_with_size"])
    r["size_ref_diameter"] = float(rt["oar_reference_diameter_cm"])
    r["ptv_margin"] = float(rt["ptv_margin_cm"])
    r["size_exponent"] = float(rt["oar_volume_exponent"])
    for key in ("cardiac", "myelopathy", "bowel", "conduit"):
        r[f"{key}_td50"] = float(tx[f"{key}_td50_gy"])
        r[f"{key}_m"] = float(tx[f"{key}_m"])
    r["ab_cord"] = float(tx["alpha_beta_cord_gy"])
    r["g5_bowel"] = float(tx["grade5_fraction_bowel"])
    r["bowel_limit"] = float(tx["bowel_planning_limit_gy"])
    r["cord_limit"] = float(tx["myelopathy_planning_limit_gy"])
    r["g5_conduit"] = float(tx["grade5_fraction_conduit"])
    r["elderly_age"] = float(tx["elderly_age_years"])
    r["elderly_or"] = float(tx["elderly_odds_ratio"])
    r["elderly_ref_share"] = float(tx["elderly_reference_share"])
    r["ecog2_or"] = float(tx["ecog2_odds_ratio"])
    return out


def _death_weights(weights, les) -> np.ndarray:
    """Lethality weights by organ, then of the aggregate beyond the lesion cap (model 4.2) for
    ESCC and EAC: the mean over the distant organs by the histology's organ shares of new
    metastases, shape (N_ORGANS + 2,)."""
    by_organ = _by_organ(weights)
    agg = []
    for table in (les["organ_weights_escc"], les["organ_weights_eac"]):
        share = np.array([float(table[codes.ORGAN_NAMES[o]]) for o in codes.METASTATIC_ORGANS])
        total = share.sum()  # 0 for a histology no patient has
        agg.append(float(np.dot(share, by_organ[list(codes.METASTATIC_ORGANS)]) / total) if total > 0 else 0.0)
    return np.concatenate([by_organ, np.array(agg)])


def _lower_disease(dis, les, v50_logv: float, sim) -> np.ndarray:
    """Disease the lesion slots do not hold (diffuse, 4.9; beyond the cap, 4.2) as a one-element
    DISEASE_DTYPE record.

    ``v50_logv`` is the ln volume (cm3) the staging modality sees with probability 1/2. An occult
    deposit's diameter is log-uniform on [a, b], so its mean volume is pi/6 E[d^3] with
    E[d^3] = (b^3 - a^3) / (3 ln(b / a)).
    """
    r = np.zeros(1, DISEASE_DTYPE)
    _lower_diffuse(dis["diffuse"], r[0])
    r[0]["uncounted_grows"] = dis["uncounted_disease"] == "grows"
    a, b = float(les["occult_diameter_min_cm"]), float(les["occult_diameter_max_cm"])
    mean_d3 = (b**3 - a**3) / (3.0 * math.log(b / a))
    r[0]["occult_mean_logv"] = math.log(math.pi / 6.0 * mean_d3)
    r[0]["v50_logv"] = v50_logv
    r[0]["growth_rho"] = float(dis["growth_propensity_correlation"])
    r[0]["eager"] = sim["hazard_integration"] == "every_event"
    return r


def lower_model(sc: Scenario) -> ModelParams:
    """Scenario-wide parameters as a :class:`ModelParams`."""
    d = sc.data
    sim, co, les, el = d["simulation"], d["cohort"], d["cohort"]["lesions"], d["cohort"]["eligibility"]
    dis, bg, im, fu, rt, tx = d["disease"], d["background_mortality"], d["imaging"], d["followup"], d["radiotherapy"], d["toxicity"]
    modality = codes.MODALITY_NAMES.index(co["staging_modality"])
    det_d50 = np.array([im["d50_ct_cm"], im["d50_pet_ct_cm"], im["d50_mri_cm"]], dtype=np.float64)  # cm, by modality
    seed_logv = logv_of_diameter(dis["seed_diameter_cm"])
    organ_cum = np.vstack(
        [
            _cum([les["organ_weights_escc"][codes.ORGAN_NAMES[o]] for o in codes.METASTATIC_ORGANS]),
            _cum([les["organ_weights_eac"][codes.ORGAN_NAMES[o]] for o in codes.METASTATIC_ORGANS]),
        ]
    )
    symptom_logv = np.array([logv_of_diameter(dis["symptom_diameter_cm"][name]) for name in codes.ORGAN_NAMES])
    return ModelParams(
        horizon=float(sim["horizon_months"]),
        max_lesions=int(sim["max_lesions"]),
        eac_fraction=float(co["eac_fraction"]),
        presentation_cum=_cum([co["presentation"][k] for k in codes.PRESENTATION_NAMES]),
        dfi_median=float(co["dfi_median_months"]),
        dfi_sdlog=float(co["dfi_sdlog"]),
        dfi_from_growth=bool(co["dfi_from_growth"]),
        # DFI = X / g_p with log X and log g_p independent normals: the DFI keeps its median and
        # sdlog when X's median is the DFI's times g_p's and the variances of the logs add up
        # (model 3.1); the schema refuses dfi_sdlog < doubling_sdlog_patient where it matters,
        # and a synchronous-only cohort never uses X (hence the clip at 0)
        dfi_x_median=float(co["dfi_median_months"]) * (_LN2 / dis["metastasis_doubling_median_months"]),
        dfi_x_sdlog=math.sqrt(max(0.0, float(co["dfi_sdlog"]) ** 2 - float(dis["doubling_sdlog_patient"]) ** 2)),
        age_mean=float(co["age_mean_years"]),
        age_sd=float(co["age_sd_years"]),
        ecog_cum=_cum([co["ecog"][k] for k in ("ecog0", "ecog1", "ecog2")]),
        pdl1_fraction=float(co["pdl1_cps10_fraction"]),
        modality=modality,
        brain_mri=bool(co["brain_mri"]),
        macro_min=int(les["macroscopic_min"]),
        # the Poisson mean at propensity 1: E[propensity^beta] = exp(beta^2 sigma^2 / 2) for the
        # lognormal propensity, so dividing by it keeps extra_macroscopic_mean the population mean
        # whatever the exponent (exactly 1.0 at beta = 0, so the old draws are kept)
        extra_macro_mean=float(les["extra_macroscopic_mean"])
        * math.exp(-0.5 * (les["extra_macroscopic_propensity_exponent"] * dis["propensity_sdlog"]) ** 2),
        macro_propensity_exponent=float(les["extra_macroscopic_propensity_exponent"]),
        macro_logd_median=math.log(les["macroscopic_diameter_median_cm"]),
        macro_logd_sd=float(les["macroscopic_diameter_sdlog"]),
        occult_mean=float(les["occult_mean"]),
        occult_logd_min=math.log(les["occult_diameter_min_cm"]),
        occult_logd_max=math.log(les["occult_diameter_max_cm"]),
        regional_mean=float(les["regional_nodes_mean"]),
        regional_mean_metachronous=float(les["regional_nodes_mean_metachronous"]),
        regional_logd=math.log(les["regional_node_diameter_cm"]),
        prior_rt_eqd2=float(co["prior_rt_eqd2_gy"]),
        prior_rt_months=float(co["prior_rt_months"]),
        primary_logv_median=math.log(les["primary_volume_median_cm3"]),
        primary_logv_sd=float(les["primary_volume_sdlog"]),
        organ_cum=np.ascontiguousarray(organ_cum),
        symptomatic_at_entry=float(les["symptomatic_at_entry"]),
        lr=_lower_locoregional(d["locoregional"]),
        elig=_lower_eligibility(el),
        entry=_lower_entry(co),
        pop=_lower_population(les),
        tx=_lower_toxicity(d["toxicity"], d["radiotherapy"]),
        dz=_lower_disease(dis, les, logv_of_diameter(detection_diameter(float(det_d50[modality]), float(im["slope_cm"]), 0.5)), sim),
        growth_median=_LN2 / dis["metastasis_doubling_median_months"],
        growth_sd_patient=float(dis["doubling_sdlog_patient"]),
        growth_sd_lesion=float(dis["doubling_sdlog_lesion"]),
        growth_primary=_LN2 / dis["primary_doubling_months"],
        seeding_rate=float(dis["seeding_rate_per_cm3_month"]),
        propensity_sdlog=float(dis["propensity_sdlog"]),
        # the lowest-propensity share has no capacity (model 3.1): z < Phi^-1(share), -inf for 0
        limited_z=float(_ndtri(float(dis["limited_capacity_fraction"]))),
        seed_logv=seed_logv,
        cluster_extra_mean=float(dis["seeding_cluster_mean"]) - 1.0,
        cluster_size=float(dis["seeding_cluster_dispersion"]),
        # uncounted disease beyond the lesion cap is counted once a lesion seeded at that moment
        # would have grown to the diameter the staging modality sees with 50% probability
        overflow_dlogv=logv_of_diameter(detection_diameter(float(det_d50[modality]), float(im["slope_cm"]), 0.5)) - seed_logv,
        eradication_logv=logv_of_diameter(dis["eradication_diameter_cm"]),
        death_rate=float(dis["death_hazard_per_cm3_month"]),
        death_after_progression=float(dis["death_hazard_after_progression_per_month"]),
        death_after_widespread=float(dis["death_hazard_after_widespread_per_month"]),
        death_weight=_death_weights(dis["death_weights"], les),
        symptom_logv=symptom_logv,
        symptom_sdlog_v=3.0 * float(dis["symptom_sdlog"]),
        symptom_delay=float(dis["symptom_to_scan_months"]),
        bg_rate60=float(bg["rate_at_60_per_year"]),
        bg_slope=float(bg["gompertz_slope_per_year"]),
        det_d50=det_d50,
        det_slope=float(im["slope_cm"]),
        recist_growth=float(im["recist_growth_fraction"]),
        recist_min_cm=float(im["recist_min_increase_cm"]),
        fu_interval=np.array(
            [fu["interval_years_0_2_months"], fu["interval_years_2_5_months"], fu["interval_after_5_months"]], dtype=np.float64
        ),
        first_scan=float(fu["first_scan_months"]),
        scan_window=float(fu["visit_window_days"]) / DAYS_PER_MONTH,
        ab_tumour=float(rt["alpha_beta_tumour_gy"]),
        ab_late=float(rt["alpha_beta_late_gy"]),
        tcp_bed50=float(rt["tcp_bed50_ref_gy"]),
        tcp_gamma50=float(rt["tcp_gamma50"]),
        tcp_volume_ref=float(rt["tcp_volume_ref_cm3"]),
        tcp_volume_exponent=float(rt["tcp_volume_exponent"]),
        uncontrolled_kill=float(rt["uncontrolled_log_kill_per_gy"]),
        rt_delay=float(rt["start_delay_days"]) / DAYS_PER_MONTH,
        chemo_before_rt=bool(rt["chemo_before_rt_effect"]),
        chemo_before_rt_loss=float(rt["chemo_before_rt_bed10_loss_gy"]),
        abscopal_p=float(rt["abscopal_probability"]),
        abscopal_kill=float(rt["abscopal_log_kill"]),
        eso_fraction=organ_share_table(rt),
        lung_fraction=_by_organ(rt["lung_mean_dose_fraction"]),
        recovery_max=float(rt["recovery_max_fraction"]),
        recovery_half_time=float(rt["recovery_half_time_months"]),
        reirr_limit=float(rt["reirradiation_eqd2_limit_gy"]),
        reirr_min_interval=float(rt["reirradiation_min_interval_months"]),
        alt_local_control=float(rt["alternative_local_control"]),
        esophagitis_td50=float(tx["esophagitis_td50_gy"]),
        esophagitis_m=float(tx["esophagitis_m"]),
        fistula_td50=float(tx["fistula_td50_gy"]),
        fistula_m=float(tx["fistula_m"]),
        pneumonitis_td50=float(tx["pneumonitis_td50_gy"]),
        pneumonitis_m=float(tx["pneumonitis_m"]),
        concurrent_or=float(tx["concurrent_odds_ratio"]),
        io_pneumonitis_or=float(tx["immunotherapy_pneumonitis_odds_ratio"]),
        reirr_or=float(tx["reirradiation_odds_ratio"]),
        g5_fistula=float(tx["grade5_fraction_fistula"]),
        g5_pneumonitis=float(tx["grade5_fraction_pneumonitis"]),
        tox_delay=float(tx["delay_days"]) / DAYS_PER_MONTH,
        discontinue_p=float(tx["discontinue_probability"]),
        procedure=_procedure_params(d["local_therapy"]),
        pf=_lower_patient_factors(d["patient_factors"], int(d["cohort"]["entry_line"]) - 1),
    )


def _lower_patient_factors(pf, shift: int) -> np.ndarray:
    """``[patient_factors]`` (model 3.9) as the one-element :data:`PATIENT_DTYPE` array
    ``ModelParams.pf``. ``shift``: lines the cohort had before entry (``cohort.entry_line`` - 1);
    the kernel numbers lines from the entry line (:func:`lower_arm`), so its line k takes the
    limit of the clinical line k + shift (a line beyond the third is never started)."""
    out = np.zeros(1, PATIENT_DTYPE)
    r = out[0]
    r["decline_p"] = float(pf["ecog_decline_at_progression"])
    limits = [int(pf[f"max_ecog_{k}_line"]) for k in ("first", "second", "third")]
    r["max_ecog_line"] = [limits[min(k + shift, 2)] for k in range(3)]
    r["max_ecog_local"] = int(pf["max_ecog_local"])
    r["other_hr"] = [1.0] + [float(pf[f"other_cause_hr_ecog{k}"]) for k in range(1, codes.ECOG_MAX + 1)]
    return out


def _procedure_params(lt) -> np.ndarray:
    """Surgery's and ablation's parameters (model 6.10) as ModelParams.procedure: shape
    (len(codes.LOCAL_NAMES), codes.N_PROC), row codes.LOCAL_*, column codes.PROC_*; the RT row
    stays 0."""
    out = np.zeros((len(codes.LOCAL_NAMES), codes.N_PROC))
    for m, name in enumerate(codes.LOCAL_NAMES):
        if name == "rt":
            continue
        p = lt[name]
        out[m, codes.PROC_CONTROL_SMALL] = float(p["control_small"])
        out[m, codes.PROC_CONTROL_LARGE] = float(p["control_large"])
        out[m, codes.PROC_SIZE_CM] = float(p["size_threshold_cm"])
        out[m, codes.PROC_RESIDUAL_LOG10] = float(p["residual_log10_kill"])
        out[m, codes.PROC_COMPLICATION] = float(p["complication"])
        out[m, codes.PROC_MORTALITY] = float(p["mortality"])
        out[m, codes.PROC_REPEAT] = 1.0 if p["repeat"] else 0.0
        out[m, codes.PROC_PAUSE_DAYS] = float(p["systemic_pause_days"])
    return out


def _local_modality(a) -> np.ndarray:
    """The arm's local therapy by (organ, subsite), codes.LOCAL_*, shape (N_ORGANS, N_STATIONS)
    (model 6.10); rows of the primary and regional nodes stay RT (they go with the primary's
    field)."""
    out = np.zeros((codes.N_ORGANS, codes.N_STATIONS), dtype=np.int64)
    for site in codes.SITE_NAMES:
        for o, s in codes.site_cells(site):
            out[o, s] = codes.LOCAL_NAMES.index(a["local_modality"][site])
    return out


def _modality_by_size(a) -> tuple[np.ndarray, np.ndarray]:
    """The arm's size rule by (organ, subsite) (model 6.10): the largest diameter (cm) that gets
    the site's local_modality (inf: any size, no rule) and the codes.LOCAL_* of larger lesions
    (the site's own modality where there is no rule), each shape (N_ORGANS, N_STATIONS)."""
    max_cm = np.full((codes.N_ORGANS, codes.N_STATIONS), np.inf)
    above = _local_modality(a)
    for site, rule in a["local_modality_by_size"].items():
        for o, s in codes.site_cells(site):
            max_cm[o, s] = float(rule["max_diameter_cm"])
            above[o, s] = codes.LOCAL_NAMES.index(rule["above"])
    return max_cm, above


def regimen_names(sc: Scenario) -> list[str]:
    """Regimen names in code order (sorted, so codes do not depend on file order)."""
    return sorted(sc.data["regimens"])


def lower_regimens(sc: Scenario) -> Regimens:
    """All regimens as a :class:`Regimens` of arrays indexed by regimen code."""
    regs = [sc.data["regimens"][name] for name in regimen_names(sc)]

    def col(key, dtype=np.float64):
        return np.array([r[key] for r in regs], dtype=dtype)

    io, chemo = col("immunotherapy", np.bool_), col("chemotherapy", np.bool_)
    kill, maintenance_kill, durable = col("kill_rate_per_month"), col("maintenance_kill_rate_per_month"), col("durable_fraction")
    co = sc.data["cohort"]
    if int(co["entry_line"]) >= 2 and co["prior_systemic"] == "chemo_immunotherapy":
        # after progression on anti-PD-1 its component works less (model 3.8): the anti-PD-1
        # part of an induction is the maintenance rate (anti-PD-1 alone, as in model 5.4) or, for
        # anti-PD-1 alone, all of it; chemotherapy's part is kept
        m = float(co["prior_pd1_kill_multiplier"])
        pd1_part = np.where(chemo, np.minimum(kill, maintenance_kill), kill)
        kill = np.where(io, kill - (1.0 - m) * pd1_part, kill)
        maintenance_kill = np.where(io, m * maintenance_kill, maintenance_kill)
        durable = np.where(io, float(co["prior_pd1_durable_multiplier"]) * durable, durable)
    return Regimens(
        chemo=chemo,
        io=io,
        cycle=col("cycle_days") / DAYS_PER_MONTH,
        cycles=col("induction_cycles", np.int64),
        maintenance=col("maintenance_months"),
        kill=kill,
        maintenance_kill=maintenance_kill,
        paused_kill=maintenance_kill * (io & bool(sc.data["radiotherapy"]["immunotherapy_continues_during_rt"])),
        resistance_median=col("resistance_median_months"),
        resistance_sdlog=col("resistance_sdlog"),
        durable=durable,
        primary_resistance=col("primary_resistance_fraction"),
        resistance_sdlog_lesions=col("resistance_sdlog_between_lesions"),
        pdl1_multiplier=col("pdl1_high_multiplier"),
        tox=np.ascontiguousarray([[r["grade3plus"][t] for t in codes.SYSTEMIC_TOX_NAMES] for r in regs], dtype=np.float64),
        grade5=col("grade5"),
        cycle_tox_on=np.ascontiguousarray([[p is not None for p in _per_cycle_row(r)] for r in regs], dtype=np.bool_).reshape(len(regs), codes.N_SYSTEMIC_TYPES + 1),
        cycle_tox=np.ascontiguousarray([[p or 0.0 for p in _per_cycle_row(r)] for r in regs], dtype=np.float64).reshape(len(regs), codes.N_SYSTEMIC_TYPES + 1),
    )


def _per_cycle_row(r) -> list:
    """A regimen's per-cycle probabilities by toxicity slot (the systemic types in
    codes.SYSTEMIC_TOX_NAMES order, then grade 5), None where the slot is given per line."""
    return [r["grade3plus_per_cycle"][t] for t in codes.SYSTEMIC_TOX_NAMES] + [r["grade5_per_cycle"]]


def _site_schedules(sc: Scenario, a) -> tuple[np.ndarray, np.ndarray]:
    """Total dose (Gy) and fractions of the metastasis schedule by (organ, subsite), shape
    (N_ORGANS, N_STATIONS) each: radiotherapy.schedules, overridden by the arm's site_schedules
    (model 6.1). Rows of the primary and regional nodes stay 0: they take the primary's."""
    dose = np.zeros((codes.N_ORGANS, codes.N_STATIONS))
    fx = np.zeros((codes.N_ORGANS, codes.N_STATIONS), dtype=np.int64)
    table = dict(sc.data["radiotherapy"]["schedules"])
    table.update(a["site_schedules"])
    for site in codes.SITE_NAMES:
        for o, s in codes.site_cells(site):
            dose[o, s] = float(table[site]["dose_gy"])
            fx[o, s] = int(table[site]["fractions"])
    return dose, fx


def _thetas(rt, per_day: int, interval_h: float) -> tuple[float, float]:
    """Unrepaired share of damage after one interval between same-day fractions (Thames 1985),
    (tumour and marrow, late tissue); exactly 0 with one fraction a day (model 6.2)."""
    if per_day == 1:
        return 0.0, 0.0
    return (
        float(repair_theta(interval_h, float(rt["repair_half_time_early_h"]))),
        float(repair_theta(interval_h, float(rt["repair_half_time_late_h"]))),
    )


def _reirradiation_schedules(sc: Scenario, a):
    """The arm's re-irradiation schedules by (organ, subsite) (model 6.6): total dose (Gy),
    fractions (0 where none is given), fractions a day and thetas (..., 2). The primary's field
    is row PRIMARY."""
    shape = (codes.N_ORGANS, codes.N_STATIONS)
    dose, fx, per_day = np.zeros(shape), np.zeros(shape, dtype=np.int64), np.ones(shape, dtype=np.int64)
    theta = np.zeros(shape + (2,))
    for site, s in a["reirradiation_schedules"].items():
        cells = [(codes.PRIMARY, k) for k in range(codes.N_STATIONS)] if site == "primary" else codes.site_cells(site)
        for o, k in cells:
            dose[o, k], fx[o, k], per_day[o, k] = float(s["dose_gy"]), int(s["fractions"]), int(s["fractions_per_day"])
            theta[o, k] = _thetas(sc.data["radiotherapy"], int(s["fractions_per_day"]), float(s["interfraction_interval_h"]))
    return dose, fx, per_day, theta


def lower_arm(sc: Scenario, arm: str) -> ArmParams:
    """One arm of the scenario as :class:`ArmParams`."""
    a = sc.data["arms"][arm]
    names = regimen_names(sc)

    def reg(name):
        return -1 if name == "none" else names.index(name)

    prog = a["progression"]
    site_dose, site_fx = _site_schedules(sc, a)
    theta_early, theta_late = _thetas(sc.data["radiotherapy"], int(a["fractions_per_day"]), float(a["interfraction_interval_h"]))
    reirr_dose, reirr_fx, reirr_per_day, reirr_theta = _reirradiation_schedules(sc, a)
    # a cohort entering at line 2 (model 3.8) starts the arm's second line at entry: the kernel
    # runs it as its line 1 (the protocol line: RT timing, toxicity window, time to next
    # treatment), the arm's third line as its line 2, and has no third
    shift = int(sc.data["cohort"]["entry_line"]) - 1
    lines = [a["first_line"], a["second_line"], a["third_line"]][shift:] + ["none"] * shift
    return ArmParams(
        first_line=reg(lines[0]),
        second_line=reg(lines[1]),
        third_line=reg(lines[2]),
        rt_timing=schema.RT_TIMINGS.index(a["rt_timing"]),
        consolidative_cycles=int(a["consolidative_after_cycles"]),
        rt_primary=bool(a["rt_primary"]),
        rt_metastases=bool(a["rt_metastases"]),
        max_irradiated=int(a["max_lesions_irradiated"]),
        nodes_with_primary=bool(a["nodes_with_primary"]),
        primary_dose=float(a["primary_dose_gy"]),
        primary_fractions=int(a["primary_fractions"]),
        metastasis_dose=float(a["metastasis_dose_gy"]),
        metastasis_fractions=int(a["metastasis_fractions"]),
        by_site=a["metastasis_schedule"] == "by_site",
        site_dose=site_dose,
        site_fractions=site_fx,
        fractions_per_day=int(a["fractions_per_day"]),
        theta_early=theta_early,
        theta_late=theta_late,
        reirr_dose=reirr_dose,
        reirr_fractions=reirr_fx,
        reirr_per_day=reirr_per_day,
        reirr_theta=reirr_theta,
        concurrent=bool(a["concurrent_chemotherapy"]),
        urgent=bool(a["urgent_rt_symptomatic"]),
        local_first=bool(a["local_first_long_dfi"]),
        dfi_threshold=float(a["dfi_threshold_months"]),
        progression_local=schema.PROGRESSION_LOCAL.index(prog["local_therapy"]),
        slow_months=float(prog["slow_months"]),
        slow_by_growth=prog["slow_rule"] == "growth",
        slow_doubling=float(prog["slow_doubling_months"]),
        max_courses=int(prog["max_courses"]),
        alternative_local=bool(prog["alternative_local"]),
        next_line=bool(prog["next_line"]),
        progressing_only=prog["targets"] == "progressing",
        local_with_next_line=bool(prog["local_with_next_line"]),
        local_modality=_local_modality(a),
        local_modality_max_cm=_modality_by_size(a)[0],
        local_modality_above=_modality_by_size(a)[1],
    )
