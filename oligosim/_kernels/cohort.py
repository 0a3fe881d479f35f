"""Virtual patients and their baseline lesions, drawn inside the kernel.

A patient is a deterministic function of (seed, patient index): every draw here comes from the
patient's COHORT stream, so the same patient enters every arm. Eligibility is applied to what
staging imaging sees, by redrawing the whole patient until the trial's criteria hold (the cohort
is then the trial population, not a reweighted general one).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from oligosim import codes
from oligosim._kernels import entry, rng
from oligosim._kernels.state import INF, tally_scratch
from oligosim.definitions import count_metastases, is_oligometastatic

# lesion status
EMPTY = 0
ACTIVE = 1
CONTROLLED = 2  #: permanently controlled by local therapy
ERADICATED = 3  #: shrunk below the eradication size by systemic therapy

_KPS_OF_ECOG = (90.0, 80.0, 60.0)
_LOG_PI_6 = math.log(math.pi / 6.0)


@njit(cache=True, _nrt=False)
def logv_of_diameter(d_cm):
    """Log volume (ln cm3) of a sphere of diameter ``d_cm``."""
    return _LOG_PI_6 + 3.0 * math.log(d_cm)


@njit(cache=True, _nrt=False)
def diameter_of_logv(logv):
    """Diameter (cm) of a sphere of log volume ``logv``."""
    return math.exp((logv - _LOG_PI_6) / 3.0)


@njit(cache=True, _nrt=False)
def draw_subsite(P, state, purpose, organ):
    """Sub-site code for a lesion in ``organ``: side or lobe, uniform; nodal station by the
    station mix (``cohort.lesions.*_node_stations``); the primary's level by
    ``locoregional.primary_level``. One uniform either way."""
    u = rng.uniform(state, purpose)
    if organ == codes.PRIMARY:
        return level_of(P.lr[0].level_cum, u)
    # nodes by the study's station mix (uniform by default: the same station as int(u * 4))
    if organ == codes.DISTANT_NODE:
        return level_of(P.pop[0].station_cum_distant, u)
    if organ == codes.REGIONAL_NODE:
        return level_of(P.pop[0].station_cum_regional, u)
    n = 1
    if organ == codes.LIVER or organ == codes.LUNG or organ == codes.ADRENAL:
        n = 2
    elif organ == codes.DISTANT_NODE or organ == codes.REGIONAL_NODE:
        n = codes.N_STATIONS
    return min(int(u * n), n - 1)


@njit(cache=True, _nrt=False)
def level_of(cum, u):
    """The first level whose cumulative share exceeds ``u`` (the last if rounding leaves none)."""
    k = 0
    while k < cum.shape[0] - 1 and u >= cum[k]:
        k += 1
    return k


@njit(cache=True, _nrt=False)
def detection_diameter(d50, slope, u):
    """Diameter (cm) at which a lesion with detection quantile ``u`` is seen.

    Detection probability is logistic in diameter, p(d) = 1 / (1 + exp(-(d - d50) / s)), so the
    diameter is its inverse at ``u``, floored at 10 um (``d50``, ``slope`` in cm).
    """
    d = d50 + slope * math.log(u / (1.0 - u))
    if d < 1e-3:
        d = 1e-3
    return d


@njit(cache=True, _nrt=False)
def detection_logv(P, modality, organ, u):
    """Log volume above which a lesion with detection quantile ``u`` is seen.

    A lesion is seen once the logistic detection probability of its diameter exceeds its own
    fixed quantile ``u`` (:func:`detection_diameter`), so visibility is monotone in size and
    identical across arms (common random numbers).
    """
    m = modality
    if P.brain_mri and organ == codes.BRAIN:
        m = codes.MRI
    return logv_of_diameter(detection_diameter(P.det_d50[m], P.det_slope, u))


@njit(cache=True, _nrt=False)
def init_lesion(P, state, purpose, i, organ, logv, growth_rate, L):
    """Fill lesion slot ``i`` with organ, size and its fixed per-lesion quantiles."""
    L.organ[i] = organ
    L.subsite[i] = draw_subsite(P, state, purpose, organ)
    L.logv[i] = logv
    L.growth[i] = growth_rate
    L.status[i] = ACTIVE
    L.det_logv[i] = detection_logv(P, P.modality, organ, rng.uniform(state, purpose))
    L.sym_logv[i] = P.symptom_logv[organ] + P.symptom_sdlog_v * rng.normal(state, purpose)
    L.u_tcp[i] = rng.uniform(state, purpose)
    clear_slot(L, i)


@njit(cache=True, inline="always")
def clear_slot(L, i):
    """Reset lesion slot ``i``'s history (seen, symptoms, courses, procedures, local-control
    record) to that of a lesion just formed; its organ, size and quantiles are the caller's.
    Shared by :func:`init_lesion` and the aggregate beyond the cap (``uncounted._add``)."""
    L.seen[i] = False
    L.new_seen[i] = False
    L.symptomatic[i] = False
    L.irradiated[i] = 0
    L.chemo_exposed[i] = False
    L.site_eqd2[i] = 0.0
    L.site_time[i] = 0.0
    L.in_course[i] = False
    L.with_primary[i] = False
    L.rt_pre_logv[i] = 0.0
    L.nadir_d[i] = 0.0
    L.exposed_at_start[i] = False
    L.fail_time[i] = np.inf
    L.lc_slot[i] = -1
    L.procedures[i] = 0
    L.to_procedure[i] = False
    L.resistant[i] = 0  # per-lesion resistance (model 5.3): set by oligosim._kernels.lesres
    L.resist_at[i] = INF


@njit(cache=True, _nrt=False)
def lesion_growth(P, state, purpose, st):
    """Growth rate (1/month) of a new metastasis of this patient."""
    return st.growth * math.exp(P.growth_sd_lesion * rng.normal(state, purpose))


@njit(cache=True, _nrt=False)
def disease_free_interval(P, z, growth):
    """Disease-free interval (months) of a non-synchronous patient (model 3.1).

    With ``P.dfi_from_growth`` the recurrence is micrometastatic disease present when the primary
    was treated, grown to a detectable size at the patient's growth rate: DFI = X / ``growth``,
    X = ``dfi_x_median`` exp(``dfi_x_sdlog`` ``z``) (ln cm3), so that a long DFI means slow growth
    and the DFI keeps its lognormal marginal. Otherwise it is lognormal on its own.

    Parameters
    ----------
    P : ModelParams
    z : float
        The patient's standard normal DFI deviate (COHORT stream).
    growth : float
        The patient's growth rate of metastases g_p (1/month).
    """
    if P.dfi_from_growth:
        return P.dfi_x_median * math.exp(P.dfi_x_sdlog * z) / growth
    return P.dfi_median * math.exp(P.dfi_sdlog * z)


@njit(cache=True, inline="always")
def growth_deviate(rho, z_propensity, z):
    """The standard normal deviate of the patient's growth rate, correlated ``rho`` with its
    propensity deviate ``z_propensity`` (model 3.1); ``rho`` = 0 returns ``z`` itself, so the
    draws of an uncorrelated cohort are unchanged bit for bit."""
    if rho == 0.0:
        return z
    return rho * z_propensity + math.sqrt(1.0 - rho * rho) * z


@njit(cache=True, _nrt=False)
def _draw_once(P, state, st, L):
    """One draw of a patient and its baseline lesions; returns the number of lesion slots used."""
    s = rng.COHORT
    cap = P.max_lesions
    st.histology = codes.EAC if rng.uniform(state, s) < P.eac_fraction else codes.ESCC
    pres = rng.categorical(state, s, P.presentation_cum)
    st.presentation = pres
    z_dfi = rng.normal(state, s)  # drawn here for every presentation: the draw order is fixed
    st.age = P.age_mean + P.age_sd * rng.normal(state, s)
    ecog = rng.categorical(state, s, P.ecog_cum)
    st.ecog = ecog
    st.kps = _KPS_OF_ECOG[ecog]
    st.pdl1_high = rng.uniform(state, s) < P.pdl1_fraction
    z_propensity = rng.normal(state, s)
    st.propensity = math.exp(P.propensity_sdlog * z_propensity)
    st.growth = P.growth_median * math.exp(P.growth_sd_patient * growth_deviate(P.dz[0].growth_rho, z_propensity, rng.normal(state, s)))
    st.dfi = 0.0 if pres == codes.SYNCHRONOUS else disease_free_interval(P, z_dfi, st.growth)
    st.primary_in_place = pres == codes.SYNCHRONOUS
    hist = st.histology

    n = 0
    for i in range(cap):
        L.status[i] = EMPTY
    if pres == codes.SYNCHRONOUS:
        logv = P.primary_logv_median + P.primary_logv_sd * rng.normal(state, s)
        init_lesion(P, state, s, n, codes.PRIMARY, logv, P.growth_primary, L)
        n += 1
    # positive regional nodes: with the primary (synchronous) or as a locoregional recurrence
    k = rng.poisson(state, s, P.regional_mean if pres == codes.SYNCHRONOUS else P.regional_mean_metachronous)
    for _ in range(k):
        if n >= cap:
            break
        logv = logv_of_diameter(math.exp(P.regional_logd + 0.3 * rng.normal(state, s)))
        init_lesion(P, state, s, n, codes.REGIONAL_NODE, logv, lesion_growth(P, state, s, st), L)
        if pres != codes.SYNCHRONOUS and (P.prior_rt_eqd2 > 0.0 or P.entry[0].prior_rt_drawn):
            # the recurrence sits in the field of an earlier course: a later course re-irradiates
            L.irradiated[n] = 1
            L.site_eqd2[n] = P.prior_rt_eqd2
            L.site_time[n] = -P.prior_rt_months
        n += 1
    # macroscopic distant lesions
    # visible burden and occult burden share the patient's propensity (exponent 0: independent),
    # so that selecting few visible lesions selects patients with little occult disease
    # (x ** 0.0 is exactly 1.0, so exponent 0 gives the old draws bit for bit)
    k = P.macro_min + rng.poisson(state, s, P.extra_macro_mean * st.propensity ** P.macro_propensity_exponent)
    for _ in range(k):
        if n >= cap:
            break
        organ = codes.METASTATIC_ORGANS[rng.categorical(state, s, P.organ_cum[hist])]
        d = math.exp(P.pop[0].logd_median[organ] + P.pop[0].logd_sd[organ] * rng.normal(state, s))
        init_lesion(P, state, s, n, organ, logv_of_diameter(d), lesion_growth(P, state, s, st), L)
        if organ == codes.BRAIN or organ == codes.BONE:
            L.symptomatic[n] = rng.uniform(state, s) < P.symptomatic_at_entry
        n += 1
    # the lowest-propensity share has no capacity beyond the lesions drawn so far: no occult
    # lesions, no seeding (model 3.1); decided on the deviate already drawn, so no draw is added
    if z_propensity < P.limited_z:
        st.propensity = 0.0
    # occult lesions: more in patients with a higher metastatic propensity
    k = rng.poisson(state, s, P.occult_mean * st.propensity)
    st.entry_dropped = 0
    for m in range(k):
        if n >= cap:
            # the rest get no slot and no draw: with uncounted_disease = "grows" they start the
            # aggregate beyond the cap at entry (model 4.2, oligosim._kernels.uncounted.enter)
            st.entry_dropped = k - m
            break
        organ = codes.METASTATIC_ORGANS[rng.categorical(state, s, P.organ_cum[hist])]
        logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * rng.uniform(state, s)
        init_lesion(P, state, s, n, organ, logv_of_diameter(math.exp(logd)), lesion_growth(P, state, s, st), L)
        n += 1
    return draw_locoregional(P, state, s, st, L, n)


@njit(cache=True, _nrt=False)
def _occult_logv(P, state, s):
    """Log volume of an occult deposit: log-uniform diameter in the occult range."""
    logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * rng.uniform(state, s)
    return logv_of_diameter(math.exp(logd))


@njit(cache=True, _nrt=False)
def draw_locoregional(P, state, s, st, L, n):
    """Occult disease in the esophagus, its bed and the regional nodes (model 3.3).

    Drawn after every other baseline lesion, so the lesions drawn before are those of earlier
    versions. With the primary in place: occult regional nodes that staging missed. After
    surgery: occult disease at the anastomosis or bed, and occult regional nodes. After
    definitive chemoradiotherapy: an occult persistent primary inside the earlier field (a
    later course re-irradiates it), and occult nodes outside that field. Returns the new slot
    count.
    """
    u_treat = rng.uniform(state, s)
    u_bed = rng.uniform(state, s)
    crt = u_treat < P.lr[0].crt_share
    if st.primary_in_place:
        st.primary_treatment = codes.PRIMARY_IN_PLACE
        bed = False
        mean = P.lr[0].nodes_sync
    elif crt:
        st.primary_treatment = codes.PRIOR_DEFINITIVE_CRT
        bed = u_bed < P.lr[0].primary_crt
        mean = P.lr[0].nodes_crt
    else:
        st.primary_treatment = codes.PRIOR_SURGERY
        bed = u_bed < P.lr[0].bed_surgery
        mean = P.lr[0].nodes_surgery
    k = rng.poisson(state, s, mean)
    if bed and n < P.max_lesions:
        init_lesion(P, state, s, n, codes.PRIMARY, _occult_logv(P, state, s), P.growth_primary, L)
        if crt:
            # inside the definitive course's field: any course here re-irradiates
            L.irradiated[n] = 1
            L.site_eqd2[n] = P.lr[0].crt_eqd2
            L.site_time[n] = -st.dfi
        n += 1
    m = n  # the occult nodes of a primary in place sit in the stations of the nodes seen
    for q in range(k):
        if n >= P.max_lesions:
            break
        init_lesion(P, state, s, n, codes.REGIONAL_NODE, _occult_logv(P, state, s), lesion_growth(P, state, s, st), L)
        if st.primary_in_place:
            _station_of_seen_node(L, m, n, q)
        n += 1
    return n


@njit(cache=True, _nrt=False)
def _station_of_seen_node(L, m, i, q):
    """Put occult regional node ``i`` (the ``q``-th) in the station of the ``q mod r``-th of
    the ``r`` regional nodes among the first ``m`` slots, or at the primary's level if ``r`` is
    0 (no draw).

    Lymphatic spread runs along the chain, so the nodes staging misses sit mostly beside the
    ones it sees (model 3.3): an involved-station field then treats them too.
    """
    r = 0
    for j in range(m):
        if L.organ[j] == codes.REGIONAL_NODE:
            r += 1
    if r == 0:
        # no node seen: beside the primary, at its level
        for j in range(m):
            if L.organ[j] == codes.PRIMARY:
                L.subsite[i] = L.subsite[j]
        return
    want = q % r
    for j in range(m):
        if L.organ[j] == codes.REGIONAL_NODE:
            if want == 0:
                L.subsite[i] = L.subsite[j]
                return
            want -= 1


@njit(cache=True, _nrt=False)
def visible_distant(L, n, buf_organ, buf_subsite, metachronous):
    """Copy the visible, active lesions that count for the definitions into the buffers.

    Returns the number copied. The primary never counts; regional nodes are passed and the
    definitions decide (they do not count for synchronous disease).
    """
    m = 0
    for i in range(n):
        if L.status[i] == ACTIVE and L.logv[i] >= L.det_logv[i] and L.organ[i] != codes.PRIMARY:
            buf_organ[m] = L.organ[i]
            buf_subsite[m] = L.subsite[i]
            m += 1
    return m


@njit(cache=True, _nrt=False)
def _eligible(P, st, L, n, buf_organ, buf_subsite, tally):
    E = P.elig[0]
    if st.kps < E.min_kps or st.age < E.min_age or st.age > E.max_age:
        return False
    metachronous = st.presentation != codes.SYNCHRONOUS
    m = visible_distant(L, n, buf_organ, buf_subsite, metachronous)
    if not nodes_within_rule(E, buf_organ, buf_subsite, m):
        return False
    if E.node_site > 1:
        merge_node_sites(buf_organ, buf_subsite, m, E.node_site)  # the buffers are scratch: counting only
    nl, norg, _ = count_metastases(buf_organ, buf_subsite, m, metachronous, tally)
    if nl < E.min_lesions or nl > E.max_lesions or norg > E.max_organs:
        return False
    for k in range(m):
        if not E.organ_allowed[buf_organ[k]]:
            return False
    for i in range(n):
        if L.status[i] == ACTIVE and L.organ[i] != codes.PRIMARY and L.logv[i] >= L.det_logv[i]:
            if diameter_of_logv(L.logv[i]) > E.max_diameter_organ[L.organ[i]]:
                return False
    if E.definition >= 0:
        hist = st.histology if E.definition == 2 else E.definition
        if not is_oligometastatic(hist, buf_organ, buf_subsite, m, metachronous, False, False, True, tally):
            return False
    if E.exclude_definition >= 0:
        # a comparison cohort: the visible disease must NOT be oligometastatic under the definition
        hist = st.histology if E.exclude_definition == 2 else E.exclude_definition
        if is_oligometastatic(hist, buf_organ, buf_subsite, m, metachronous, False, False, True, tally):
            return False
    return True


@njit(cache=True, _nrt=False)
def merge_node_sites(organ, subsite, m, span):
    """Give the distant nodes among the first ``m`` entries of every run of involved stations
    within ``span`` consecutive stations the lowest station of the run, in place, so that
    statement 1's count by station counts each run as one lesion (model 3.4).

    Runs are formed from the lowest involved station up: a run starting at station s0 takes the
    involved stations s0 .. s0 + span - 1.
    """
    # involved stations as bits of one integer and each node's run start found by a walk over
    # the few stations below it: no array is allocated (the kernel runs without numba's
    # reference counting, oligosim._kernels.jit, which cannot allocate)
    involved = 0
    for j in range(m):
        if organ[j] == codes.DISTANT_NODE:
            involved |= 1 << subsite[j]
    for j in range(m):
        if organ[j] == codes.DISTANT_NODE:
            start = -1
            for k in range(subsite[j] + 1):
                if (involved >> k) & 1 and (start < 0 or k - start >= span):
                    start = k
            subsite[j] = start


@njit(cache=True, _nrt=False)
def nodes_within_rule(E, organ, subsite, m):
    """Whether the visible nodes meet the node-count and adjacency rule (model 3.4).

    The nodes counted are the distant nodes among the first ``m`` entries of ``organ`` (regional
    ones too with ``E.node_scope_all``): at most ``E.max_nodes`` of them, all within
    ``E.node_span`` consecutive stations (max station - min station < span).
    """
    k = 0
    lo = codes.N_STATIONS
    hi = -1
    for j in range(m):
        if organ[j] == codes.DISTANT_NODE or (E.node_scope_all and organ[j] == codes.REGIONAL_NODE):
            k += 1
            lo = min(lo, subsite[j])
            hi = max(hi, subsite[j])
    return k <= E.max_nodes and (k == 0 or hi - lo < E.node_span)


@njit(cache=True, _nrt=False)
def draw_patient(P, W, L):
    """Draw the patient until eligible; returns the lesion count, or -1 if infeasible.

    Background (other-cause) death is drawn from its own stream, once, after eligibility,
    by inverting the Gompertz cumulative hazard from the entry age.
    """
    st = W.state[0]
    state = W.streams
    for attempt in range(P.elig[0].max_attempts):
        n = _draw_once(P, state, st, L)
        if _eligible(P, st, L, n, W.buf_organ, W.buf_subsite, tally_scratch(st)):
            st.attempts = attempt + 1
            # hazard ratio hr by entry ECOG (model 3.9): hr H(t) = e is H(t) = e / hr (hr 1: exact)
            st.bg_death = gompertz_time(P, st.age, rng.exponential(state, rng.BACKGROUND) / P.pf[0].other_hr[st.ecog])
            entry.apply_history(P, state, st, L, n)  # what the first line and earlier RT left (model 3.8)
            # what staging saw is what the team knows about
            for i in range(n):
                L.seen[i] = L.status[i] == ACTIVE and L.logv[i] >= L.det_logv[i]
            return n
    st.attempts = P.elig[0].max_attempts
    return -1


@njit(cache=True, _nrt=False)
def gompertz_time(P, age_years, e):
    """Months until other-cause death for a unit exponential ``e`` (Gompertz hazard).

    h(a) = r60 exp(b (a - 60)) per year; H from age a0 over t years is
    r60 e^{b(a0-60)} (e^{b t} - 1) / b, inverted in closed form.
    """
    h0 = P.bg_rate60 * math.exp(P.bg_slope * (age_years - 60.0))
    if P.bg_slope <= 0.0:
        return 12.0 * e / h0
    return 12.0 * math.log1p(P.bg_slope * e / h0) / P.bg_slope
