"""The virtual cohort of the reference engine: lesions, baseline attributes, eligibility.

A patient is drawn from their COHORT stream (model 3.1-3.2) and redrawn until the trial's
criteria, applied to what staging imaging sees, are met (rejection sampling, model 3.4).
The draws are made in the same order as :mod:`oligosim._kernels.cohort`, so both engines
enrol the same patients for a given seed.
"""

from __future__ import annotations

import math

import numpy as np

from oligosim import codes
from oligosim.definitions import count_metastases, is_oligometastatic
from oligosim.reference.entry import apply_history
from oligosim.reference.streams import BACKGROUND, COHORT, Stream

__all__ = [
    "ACTIVE", "CONTROLLED", "ERADICATED", "Lesion", "PatientAttributes",
    "logv_of_diameter", "diameter_of_logv", "detection_logv", "new_lesion_growth",
    "visible_distant", "disease_free_interval", "gompertz_months", "draw_cohort_patient",
]

LOG_PI_6 = math.log(math.pi / 6.0)

ACTIVE, CONTROLLED, ERADICATED = 1, 2, 3  # lesion status (0, empty, is a missing list entry)

_KPS_OF_ECOG = (90.0, 80.0, 60.0)


def logv_of_diameter(d_cm: float) -> float:
    """ln volume (cm3) of a sphere of diameter ``d_cm`` (cm)."""
    return LOG_PI_6 + 3.0 * math.log(d_cm)


def diameter_of_logv(logv: float) -> float:
    """Diameter (cm) of a sphere of ln volume ``logv`` (ln cm3)."""
    return math.exp((logv - LOG_PI_6) / 3.0)


def detection_logv(P, organ: int, u: float) -> float:
    """ln volume (ln cm3) above which a lesion with detection quantile ``u`` is seen.

    Detection is logistic in diameter; the brain is imaged by MRI if the scenario says so.
    """
    m = codes.MRI if (P.brain_mri and organ == codes.BRAIN) else P.modality
    d = max(P.det_d50[m] + P.det_slope * math.log(u / (1.0 - u)), 1e-3)
    return logv_of_diameter(d)


def new_lesion_growth(P, stream: Stream, patient_growth: float) -> float:
    """Growth rate (1/month) of a metastasis: the patient's median times a lesion factor."""
    return patient_growth * math.exp(P.growth_sd_lesion * stream.normal())


def growth_deviate(rho: float, z_propensity: float, z: float) -> float:
    """Standard normal deviate of the patient's growth rate, correlated ``rho`` with its
    propensity deviate (model 3.1); ``rho`` = 0 returns ``z`` unchanged."""
    if rho == 0.0:
        return z
    return rho * z_propensity + math.sqrt(1.0 - rho * rho) * z


def disease_free_interval(P, z: float, growth: float) -> float:
    """Disease-free interval (months) of a non-synchronous patient (model 3.1).

    With ``P.dfi_from_growth``: DFI = X / ``growth``, the time the micrometastatic disease left at
    the primary's treatment took to grow by X (ln cm3, lognormal, deviate ``z``) at the patient's
    growth rate (1/month); otherwise lognormal on its own, with the same deviate.
    """
    if P.dfi_from_growth:
        return P.dfi_x_median * math.exp(P.dfi_x_sdlog * z) / growth
    return P.dfi_median * math.exp(P.dfi_sdlog * z)


def gompertz_months(P, age: float, e: float) -> float:
    """Months to other-cause death for a unit exponential ``e`` (Gompertz hazard by age, years)."""
    h0 = P.bg_rate60 * math.exp(P.bg_slope * (age - 60.0))
    if P.bg_slope <= 0.0:
        return 12.0 * e / h0
    return 12.0 * math.log1p(P.bg_slope * e / h0) / P.bg_slope


def _first_above(cum, u: float) -> int:
    """The first index whose cumulative share exceeds ``u`` (the last if rounding leaves none)."""
    return next((k for k in range(len(cum) - 1) if u < cum[k]), len(cum) - 1)


class Lesion:
    """One tumour deposit: the primary, a regional node, or a distant metastasis.

    Parameters
    ----------
    P : ModelParams
        Lowered model parameters (:func:`oligosim.lowering.lower_model`).
    stream : Stream
        The stream the lesion's own quantiles are drawn from (COHORT at entry, LESION later).
    organ : int
        ``codes`` organ.
    logv : float
        ln volume (ln cm3) now.
    growth : float
        Net growth rate without therapy (1/month).
    """

    __slots__ = (
        "organ", "subsite", "status", "logv", "growth", "det_logv", "sym_logv", "u_tcp",
        "seen", "new_seen", "symptomatic", "irradiated", "chemo_exposed", "in_course", "with_primary", "site_eqd2",
        "site_time", "rt_pre_logv", "treated_here", "lc_record", "nadir_d", "exposed_at_start",
        "procedures", "to_procedure", "resistant", "resist_at",
    )

    def __init__(self, P, stream: Stream, organ: int, logv: float, growth: float):
        # own fixed quantiles: the same lesion is seen, gives symptoms and responds to RT at the
        # same size in every arm (common random numbers)
        n_sub = 2 if organ in (codes.LIVER, codes.LUNG, codes.ADRENAL) else (codes.N_STATIONS if organ in (codes.DISTANT_NODE, codes.REGIONAL_NODE) else 1)
        self.organ = organ
        u = stream.uniform()
        if organ == codes.PRIMARY:  # the primary's level, by locoregional.primary_level
            self.subsite = _first_above(P.lr[0]["level_cum"], u)
        elif organ in (codes.DISTANT_NODE, codes.REGIONAL_NODE):  # the station, by the station mix
            self.subsite = _first_above(P.pop[0]["station_cum_distant" if organ == codes.DISTANT_NODE else "station_cum_regional"], u)
        else:
            self.subsite = min(int(u * n_sub), n_sub - 1)
        self.status = ACTIVE
        self.logv = logv
        self.growth = growth
        self.det_logv = detection_logv(P, organ, stream.uniform())
        self.sym_logv = P.symptom_logv[organ] + P.symptom_sdlog_v * stream.normal()
        self.u_tcp = stream.uniform()
        self.clear()

    def clear(self) -> None:
        """Reset the lesion's history (seen, symptoms, courses, procedures, local-control record)
        to that of a lesion just formed; organ, size and quantiles stay. Shared with the
        aggregate beyond the cap (``uncounted._aggregate``), as ``_kernels.cohort.clear_slot``."""
        self.seen = False
        self.new_seen = False  # seen for the first time at the latest scan
        self.symptomatic = False
        self.irradiated = 0  # courses received (a course before entry counts)
        self.chemo_exposed = False
        self.in_course = False
        self.with_primary = False  # planned in the primary's field (statement 5)
        self.site_eqd2 = 0.0  # cumulative late EQD2 (Gy) at the site
        self.site_time = 0.0  # month of the site's last course
        self.rt_pre_logv = 0.0
        self.treated_here = False  # irradiated in this simulation
        self.lc_record = None  # index of the open local-control record, if any
        self.nadir_d = 0.0
        self.exposed_at_start = False
        self.procedures = 0  # surgeries or ablations it had (model 6.10)
        self.to_procedure = False  # planned for surgery or ablation now
        self.resistant = False  # the line in force kills it no more (per-lesion resistance, model 5.3)
        self.resist_at = math.inf  # months: when it resists on the line in force (oligosim.reference.lesres)

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def visible(self) -> bool:
        return self.status == ACTIVE and self.logv >= self.det_logv

    @property
    def is_locoregional(self) -> bool:
        return self.organ in (codes.PRIMARY, codes.REGIONAL_NODE)


def visible_distant(lesions) -> tuple[np.ndarray, np.ndarray, int]:
    """Organs and sub-sites of the visible active non-primary lesions (what counts, stmt 1).

    Returns
    -------
    organ, subsite : numpy.ndarray of int64, shape (m,)
    m : int
        Number of such lesions.
    """
    sel = [les for les in lesions if les is not None and les.visible and les.organ != codes.PRIMARY]
    organ = np.array([les.organ for les in sel], dtype=np.int64)
    subsite = np.array([les.subsite for les in sel], dtype=np.int64)
    return organ, subsite, len(sel)


class PatientAttributes:
    """Baseline attributes of a virtual patient (model section 3.1); ages and times in years/months."""

    __slots__ = ("histology", "presentation", "dfi", "age", "ecog", "kps", "pdl1_high", "propensity", "growth", "attempts", "bg_death", "primary_treatment", "entry_dropped")


def _draw_once(P, s: Stream):
    """One candidate patient and their baseline lesions (model 3.1-3.2), from the COHORT stream."""
    pat = PatientAttributes()
    pat.histology = codes.EAC if s.uniform() < P.eac_fraction else codes.ESCC
    pat.presentation = s.categorical(P.presentation_cum)
    z_dfi = s.normal()  # drawn here for every presentation: the draw order is fixed
    pat.age = P.age_mean + P.age_sd * s.normal()
    pat.ecog = s.categorical(P.ecog_cum)
    pat.kps = _KPS_OF_ECOG[pat.ecog]
    pat.pdl1_high = s.uniform() < P.pdl1_fraction
    z_propensity = s.normal()
    pat.propensity = math.exp(P.propensity_sdlog * z_propensity)
    pat.growth = P.growth_median * math.exp(P.growth_sd_patient * growth_deviate(float(P.dz[0]["growth_rho"]), z_propensity, s.normal()))
    synchronous = pat.presentation == codes.SYNCHRONOUS
    pat.dfi = 0.0 if synchronous else disease_free_interval(P, z_dfi, pat.growth)
    organ_cum = P.organ_cum[pat.histology]
    lesions: list[Lesion] = []
    cap = P.max_lesions
    if synchronous:  # the primary tumour is in place
        logv = P.primary_logv_median + P.primary_logv_sd * s.normal()
        lesions.append(Lesion(P, s, codes.PRIMARY, logv, P.growth_primary))
    # regional nodes, with the primary or as a locoregional recurrence
    for _ in range(s.poisson(P.regional_mean if synchronous else P.regional_mean_metachronous)):
        if len(lesions) >= cap:
            break
        logv = logv_of_diameter(math.exp(P.regional_logd + 0.3 * s.normal()))
        les = Lesion(P, s, codes.REGIONAL_NODE, logv, new_lesion_growth(P, s, pat.growth))
        if not synchronous and (P.prior_rt_eqd2 > 0.0 or P.entry[0]["prior_rt_drawn"]):
            # a recurrence inside an earlier RT field: any course here is a re-irradiation
            les.irradiated = 1
            les.site_eqd2 = P.prior_rt_eqd2
            les.site_time = -P.prior_rt_months
        lesions.append(les)
    # macroscopic distant metastases
    # the number visible at entry grows with the propensity too (model 3.2)
    extra_mean = P.extra_macro_mean * pat.propensity**P.macro_propensity_exponent
    for _ in range(P.macro_min + s.poisson(extra_mean)):
        if len(lesions) >= cap:
            break
        organ = codes.METASTATIC_ORGANS[s.categorical(organ_cum)]
        d = math.exp(P.pop[0]["logd_median"][organ] + P.pop[0]["logd_sd"][organ] * s.normal())  # the organ's size
        les = Lesion(P, s, organ, logv_of_diameter(d), new_lesion_growth(P, s, pat.growth))
        if organ in (codes.BRAIN, codes.BONE):
            les.symptomatic = s.uniform() < P.symptomatic_at_entry
        lesions.append(les)
    # the lowest-propensity share: no capacity beyond the lesions drawn so far (model 3.1)
    if z_propensity < P.limited_z:
        pat.propensity = 0.0
    # occult micrometastases, more of them with a higher metastatic propensity
    k = s.poisson(P.occult_mean * pat.propensity)
    pat.entry_dropped = 0
    for m in range(k):
        if len(lesions) >= cap:
            pat.entry_dropped = k - m  # no slot, no draw: the aggregate's at entry (model 4.2)
            break
        organ = codes.METASTATIC_ORGANS[s.categorical(organ_cum)]
        logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * s.uniform()
        lesions.append(Lesion(P, s, organ, logv_of_diameter(math.exp(logd)), new_lesion_growth(P, s, pat.growth)))
    _draw_locoregional(P, s, pat, lesions, synchronous)
    return pat, lesions


def _occult_logv(P, s: Stream) -> float:
    logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * s.uniform()
    return logv_of_diameter(math.exp(logd))


def _draw_locoregional(P, s: Stream, pat, lesions: list, synchronous: bool) -> None:
    """Occult disease in the esophagus, its bed and the regional nodes (model 3.3), drawn
    after every other baseline lesion: with the primary in place, regional nodes staging
    missed, in the stations of the nodes it saw; after surgery, disease at the anastomosis or
    bed and regional nodes; after definitive chemoradiotherapy, a persistent primary inside the
    earlier field and nodes outside it."""
    LR = P.lr[0]
    u_treat, u_bed = s.uniform(), s.uniform()
    crt = u_treat < LR["crt_share"]
    if synchronous:
        pat.primary_treatment, bed, mean = codes.PRIMARY_IN_PLACE, False, LR["nodes_sync"]
    elif crt:
        pat.primary_treatment, bed, mean = codes.PRIOR_DEFINITIVE_CRT, u_bed < LR["primary_crt"], LR["nodes_crt"]
    else:
        pat.primary_treatment, bed, mean = codes.PRIOR_SURGERY, u_bed < LR["bed_surgery"], LR["nodes_surgery"]
    k = s.poisson(mean)
    if bed and len(lesions) < P.max_lesions:
        les = Lesion(P, s, codes.PRIMARY, _occult_logv(P, s), P.growth_primary)
        if crt:  # inside the definitive course's field: a later course re-irradiates
            les.irradiated = 1
            les.site_eqd2 = LR["crt_eqd2"]
            les.site_time = -pat.dfi
        lesions.append(les)
    seen_nodes = [les.subsite for les in lesions if les.organ == codes.REGIONAL_NODE]
    primary_level = next((les.subsite for les in lesions if les.organ == codes.PRIMARY), None)
    for q in range(k):
        if len(lesions) >= P.max_lesions:
            break
        les = Lesion(P, s, codes.REGIONAL_NODE, _occult_logv(P, s), new_lesion_growth(P, s, pat.growth))
        if synchronous and seen_nodes:
            # lymphatic spread runs along the chain: missed nodes sit beside the ones seen
            les.subsite = seen_nodes[q % len(seen_nodes)]
        elif synchronous and primary_level is not None:
            les.subsite = primary_level  # no node seen: beside the primary, at its level
        lesions.append(les)


def _eligible(P, pat, lesions) -> bool:
    """The trial's criteria applied to what staging imaging sees (model 3.4)."""
    E = P.elig[0]
    if pat.kps < E["min_kps"] or pat.age < E["min_age"] or pat.age > E["max_age"]:
        return False
    metachronous = pat.presentation != codes.SYNCHRONOUS
    organ, subsite, m = visible_distant(lesions)
    if not nodes_within_rule(E, organ[:m], subsite[:m]):
        return False
    subsite = merged_node_sites(organ, subsite, int(E["node_site"]))  # for counting only
    n_lesions, n_organs, _ = count_metastases(organ, subsite, m, metachronous)
    if n_lesions < E["min_lesions"] or n_lesions > E["max_lesions"] or n_organs > E["max_organs"]:
        return False
    if any(not E["organ_allowed"][o] for o in organ[:m]):
        return False  # a visible lesion in an organ the trial excludes
    if any(les.visible and les.organ != codes.PRIMARY and diameter_of_logv(les.logv) > E["max_diameter_organ"][les.organ] for les in lesions):
        return False
    if E["definition"] >= 0:
        hist = pat.histology if E["definition"] == 2 else int(E["definition"])
        if not is_oligometastatic(hist, organ, subsite, m, metachronous, False, False, True):
            return False
    if E["exclude_definition"] >= 0:  # a comparison cohort: not oligometastatic under the definition
        hist = pat.histology if E["exclude_definition"] == 2 else int(E["exclude_definition"])
        if is_oligometastatic(hist, organ, subsite, m, metachronous, False, False, True):
            return False
    return True


def merged_node_sites(organ, subsite, span: int):
    """Sub-sites with the distant nodes of each run of involved stations within ``span``
    consecutive stations (runs formed from the lowest involved station up) moved to the run's
    lowest station, so that the count by station counts a run once (model 3.4); a copy."""
    out = subsite.copy()
    if span <= 1:
        return out
    node = organ == codes.DISTANT_NODE
    start, to = None, {}
    for k in sorted(set(int(x) for x in subsite[node])):
        if start is None or k - start >= span:
            start = k
        to[k] = start
    out[node] = [to[int(x)] for x in subsite[node]]
    return out


def nodes_within_rule(E, organ, subsite) -> bool:
    """The node-count and adjacency rule (model 3.4) on the visible lesions' organs and sub-sites:
    at most ``max_nodes`` distant nodes (regional too with ``node_scope_all``), all within
    ``node_span`` consecutive stations."""
    kinds = (codes.DISTANT_NODE, codes.REGIONAL_NODE) if E["node_scope_all"] else (codes.DISTANT_NODE,)
    stations = [int(st) for o, st in zip(organ, subsite) if o in kinds]
    if len(stations) > int(E["max_nodes"]):
        return False
    return not stations or bool(max(stations) - min(stations) < E["node_span"])


def draw_cohort_patient(P, seed: int, pid: int):
    """Patient ``pid``: redrawn until eligible (rejection sampling, model 3.4).

    Parameters
    ----------
    P : ModelParams
        Lowered model parameters (:func:`oligosim.lowering.lower_model`).
    seed, pid : int
        Run seed and patient index.

    Returns
    -------
    tuple of (PatientAttributes, list of Lesion or None)
        The attributes and lesions, or (attributes, None) if eligibility was never met.
    """
    s = Stream(seed, pid, COHORT)
    for attempt in range(int(P.elig[0]["max_attempts"])):
        pat, lesions = _draw_once(P, s)
        if _eligible(P, pat, lesions):
            pat.attempts = attempt + 1
            # hazard ratio by entry ECOG (model 3.9): hr H(t) = e is H(t) = e / hr (hr 1: the draw unchanged)
            pat.bg_death = gompertz_months(P, pat.age, Stream(seed, pid, BACKGROUND).exponential() / float(P.pf[0]["other_hr"][pat.ecog]))
            apply_history(P, seed, pid, pat, lesions)  # what the first line and earlier RT left (model 3.8)
            for les in lesions:  # what staging saw is what the team knows about
                les.seen = les.visible
            return pat, lesions
    pat.attempts = int(P.elig[0]["max_attempts"])
    return pat, None
