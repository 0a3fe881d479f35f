"""The oligosim model written plainly with SimPy: the reference ("oracle") engine.

The production engine (:mod:`oligosim._kernels.engine`) is a numba event loop with fixed event
slots. This module simulates the *same model* (``docs/model.md``) a second, independent way, so
that the two can be compared statistically (``tests/test_cross_engine.py``), and so that a
reader can follow one virtual patient's story in ordinary Python:

* every patient lives in their own :class:`simpy.Environment`;
* every scheduled clinical event (an RT course starting or ending, a toxicity, a scan, the end
  of induction ...) is an :class:`Appointment`: a SimPy event pushed on the environment's queue
  with an explicit *priority*, so that events at the same time happen in the clinical order

      RT end < RT start < toxicity < scan < symptom scan < consolidation check
      < induction end < maintenance end < resistance < background death < horizon

  (SimPy orders its queue by (time, priority, insertion sequence));
* the two *continuous* processes -- seeding of new metastases and death from the disease --
  have hazards linear in the (organ-weighted) tumour volume. Lesion volumes grow or shrink
  exponentially between events, so the cumulative hazard has a closed form (a sum of
  exponentials); the next crossing of a unit-exponential threshold is found with
  :func:`scipy.optimize.brentq` up to the next appointment in the queue, and re-planned after
  every event (the thresholds and accumulated hazards are kept, so this is exact);
* random numbers come from plain-Python SplitMix64 streams keyed by (seed, patient, purpose)
  exactly as in :mod:`oligosim._kernels.rng`, so both engines draw the *same cohort*. After
  entry the draws need not match the kernel's one for one: the requirement is agreement in
  distribution.

The public entry point is :func:`run_scenario_reference`, which returns the same
:class:`oligosim.simulate.Results` as :func:`oligosim.simulate.run_scenario` (same columns,
dtypes, shapes and event codes), so :func:`oligosim.summary.summarize` works unchanged.

Consensus statements cited below are those of the Chinese consensus on oligometastatic
esophageal cancer as summarised in ``docs/model.md`` (statement 1: definition and counting;
statement 2: ESTRO-EORTC classes; statement 6: urgent RT for symptomatic brain/bone disease;
statement 12: local therapy at oligoprogression; statement 13: follow-up schedule).
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from statistics import NormalDist

import numpy as np
import simpy
from scipy.optimize import brentq

from oligosim import codes
from oligosim._kernels import engine
from oligosim._kernels.inputs import (
    PROG_OLIGO,
    PROG_OLIGO_SLOW,
    RT_AT_PROGRESSION,
    RT_CONCURRENT,
    RT_CONSOLIDATIVE,
    RT_UPFRONT,
)
from oligosim.definitions import count_metastases, estro_eortc_class, is_oligometastatic
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.simulate import COLUMNS, EVENT_RECORDS, LC_RECORDS, ArmResult, InfeasibleCohort, Results, selected_arms

__all__ = ["run_scenario_reference", "Stream", "draw_cohort_patient"]

INF = math.inf
MONTHS_PER_DAY = 12.0 / 365.25
LOG_PI_6 = math.log(math.pi / 6.0)

# ============================================================================ random streams
# SplitMix64 (Steele, Lea & Flood, OOPSLA 2014), written with Python integers masked to 64 bits.
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_TWO_M53 = 1.0 / 9007199254740992.0
_NORMAL = NormalDist()

# purposes: one independent stream per mechanism (same numbering as the kernel's rng module)
COHORT, LESION, SEEDING, DEATH, BACKGROUND, RESPONSE, TOXICITY, RT = range(8)


def _mix64(z: int) -> int:
    """SplitMix64's output function (a bijective 64-bit mixer)."""
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def stream_key(seed: int, patient: int, purpose: int) -> int:
    """Starting state of the stream of (seed, patient, purpose): three rounds of mixing."""
    k = _mix64((seed ^ 0x5DEECE66D) & _MASK)
    k = _mix64(k ^ ((patient * _GOLDEN) & _MASK))
    return _mix64((k + (purpose + 1) * _M2) & _MASK)


class Stream:
    """One patient's random stream for one purpose."""

    __slots__ = ("state",)

    def __init__(self, seed: int, patient: int, purpose: int):
        self.state = stream_key(seed, patient, purpose)

    def uniform(self) -> float:
        """A float strictly inside (0, 1): the top 53 bits of the next output, centred."""
        self.state = (self.state + _GOLDEN) & _MASK
        return ((_mix64(self.state) >> 11) + 0.5) * _TWO_M53

    def exponential(self) -> float:
        """Unit exponential by inversion."""
        return -math.log(self.uniform())

    def normal(self) -> float:
        """Standard normal by inversion (one uniform per draw keeps the stream aligned)."""
        return _NORMAL.inv_cdf(self.uniform())

    def categorical(self, cum) -> int:
        """Index drawn from cumulative probabilities ``cum`` (last entry 1)."""
        u = self.uniform()
        for i in range(len(cum) - 1):
            if u < cum[i]:
                return i
        return len(cum) - 1

    def poisson(self, mean: float) -> int:
        """Poisson draw by sequential search of the CDF (small means)."""
        u = self.uniform()
        k = 0
        p = math.exp(-mean)
        c = p
        while u > c and k < 1000:
            k += 1
            p *= mean / k
            c += p
        return k


# ============================================================================ small formulas


def logv_of_diameter(d_cm: float) -> float:
    """ln volume (cm3) of a sphere of diameter ``d_cm``."""
    return LOG_PI_6 + 3.0 * math.log(d_cm)


def diameter_of_logv(logv: float) -> float:
    """Diameter (cm) of a sphere of ln volume ``logv``."""
    return math.exp((logv - LOG_PI_6) / 3.0)


def tcp(bed10: float, volume: float, P) -> float:
    """Tumour control probability: logistic in BED10 with a volume-dependent BED50 (model 6.3)."""
    bed50 = P.tcp_bed50 * (volume / P.tcp_volume_ref) ** P.tcp_volume_exponent
    x = (bed10 / bed50) ** (4.0 * P.tcp_gamma50)
    return x / (1.0 + x)


def ntcp_lkb(eud: float, td50: float, m: float) -> float:
    """Lyman-Kutcher-Burman NTCP: Phi((EUD - TD50) / (m TD50)) (model 6.5)."""
    return _NORMAL.cdf((eud - td50) / (m * td50))


def odds_scaled(p: float, odds_ratio: float) -> float:
    """``p`` with its odds multiplied by ``odds_ratio``."""
    if p <= 0.0 or odds_ratio == 1.0:
        return p
    if p >= 1.0:
        return 1.0
    o = p / (1.0 - p) * odds_ratio
    return o / (1.0 + o)


def cumulative_eqd2(prior: float, months: float, new: float, P) -> float:
    """Cumulative EQD2 (late, alpha/beta 3) of a re-irradiated site, the earlier dose partly
    recovered: prior (1 - R(t)) + new, R(t) = R_max (1 - 2^(-t / T_half)) (model 6.6)."""
    recovered = P.recovery_max * (1.0 - math.exp(-math.log(2.0) * months / P.recovery_half_time))
    return prior * (1.0 - recovered) + new


def gompertz_months(P, age: float, e: float) -> float:
    """Months to other-cause death for a unit exponential ``e`` (Gompertz hazard by age)."""
    h0 = P.bg_rate60 * math.exp(P.bg_slope * (age - 60.0))
    if P.bg_slope <= 0.0:
        return 12.0 * e / h0
    return 12.0 * math.log1p(P.bg_slope * e / h0) / P.bg_slope


def scan_interval(P, t: float) -> float:
    """Follow-up interval at time ``t`` (statement 13: 3-monthly for 2 years, then sparser)."""
    if t < 24.0:
        return P.fu_interval[0]
    if t < 60.0:
        return P.fu_interval[1]
    return P.fu_interval[2]


def schedule_of(A, organ: int) -> tuple[float, int]:
    """(dose per fraction, fractions) the arm gives a lesion in ``organ``."""
    if organ in (codes.PRIMARY, codes.REGIONAL_NODE):
        return A.primary_dose / A.primary_fractions, A.primary_fractions
    return A.metastasis_dose / A.metastasis_fractions, A.metastasis_fractions


def eqd2_late(P, A, organ: int) -> float:
    """EQD2 for late effects (alpha/beta of normal tissue) of the arm's schedule in ``organ``."""
    d, k = schedule_of(A, organ)
    return k * d * (d + P.ab_late) / (2.0 + P.ab_late)


# ============================================================================ lesions


ACTIVE, CONTROLLED, ERADICATED = 1, 2, 3  # lesion status (0, empty, is a missing list entry)


class Lesion:
    """One tumour deposit: the primary, a regional node, or a distant metastasis."""

    __slots__ = (
        "organ", "subsite", "status", "logv", "growth", "det_logv", "sym_logv", "u_tcp",
        "seen", "symptomatic", "irradiated", "chemo_exposed", "in_course", "site_eqd2",
        "site_time", "rt_pre_logv", "treated_here", "lc_record", "nadir_d", "exposed_at_start",
    )

    def __init__(self, P, stream: Stream, organ: int, logv: float, growth: float):
        # own fixed quantiles: the same lesion is seen, gives symptoms and responds to RT at the
        # same size in every arm (common random numbers)
        n_sub = 2 if organ in (codes.LIVER, codes.LUNG, codes.ADRENAL) else (codes.N_STATIONS if organ == codes.DISTANT_NODE else 1)
        self.organ = organ
        self.subsite = min(int(stream.uniform() * n_sub), n_sub - 1)
        self.status = ACTIVE
        self.logv = logv
        self.growth = growth
        self.det_logv = detection_logv(P, organ, stream.uniform())
        self.sym_logv = P.symptom_logv[organ] + P.symptom_sdlog_v * stream.normal()
        self.u_tcp = stream.uniform()
        self.seen = False
        self.symptomatic = False
        self.irradiated = 0  # courses received (a course before entry counts)
        self.chemo_exposed = False
        self.in_course = False
        self.site_eqd2 = 0.0
        self.site_time = 0.0
        self.rt_pre_logv = 0.0
        self.treated_here = False  # irradiated in this simulation
        self.lc_record = None  # index of the open local-control record, if any
        self.nadir_d = 0.0
        self.exposed_at_start = False

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def visible(self) -> bool:
        return self.status == ACTIVE and self.logv >= self.det_logv

    @property
    def is_locoregional(self) -> bool:
        return self.organ in (codes.PRIMARY, codes.REGIONAL_NODE)


def detection_logv(P, organ: int, u: float) -> float:
    """ln volume above which a lesion with detection quantile ``u`` is seen (logistic in
    diameter; brain imaged by MRI if the scenario says so)."""
    m = codes.MRI if (P.brain_mri and organ == codes.BRAIN) else P.modality
    d = max(P.det_d50[m] + P.det_slope * math.log(u / (1.0 - u)), 1e-3)
    return logv_of_diameter(d)


def new_lesion_growth(P, stream: Stream, patient_growth: float) -> float:
    """Growth rate (1/month) of a metastasis: the patient's median times a lesion factor."""
    return patient_growth * math.exp(P.growth_sd_lesion * stream.normal())


def visible_distant(lesions) -> tuple[np.ndarray, np.ndarray, int]:
    """Organs and sub-sites of the visible active non-primary lesions (what counts, stmt 1)."""
    sel = [les for les in lesions if les is not None and les.visible and les.organ != codes.PRIMARY]
    organ = np.array([les.organ for les in sel], dtype=np.int64)
    subsite = np.array([les.subsite for les in sel], dtype=np.int64)
    return organ, subsite, len(sel)


# ============================================================================ the cohort


class PatientAttributes:
    """Baseline attributes of a virtual patient (model section 3.1)."""

    __slots__ = ("histology", "presentation", "dfi", "age", "ecog", "kps", "pdl1_high", "propensity", "growth", "attempts", "bg_death")


_KPS_OF_ECOG = (90.0, 80.0, 60.0)


def _draw_once(P, s: Stream):
    """One candidate patient and their baseline lesions (model 3.1-3.2), from the COHORT stream."""
    pat = PatientAttributes()
    pat.histology = codes.EAC if s.uniform() < P.eac_fraction else codes.ESCC
    pat.presentation = s.categorical(P.presentation_cum)
    dfi = P.dfi_median * math.exp(P.dfi_sdlog * s.normal())
    pat.dfi = 0.0 if pat.presentation == codes.SYNCHRONOUS else dfi
    pat.age = P.age_mean + P.age_sd * s.normal()
    pat.ecog = s.categorical(P.ecog_cum)
    pat.kps = _KPS_OF_ECOG[pat.ecog]
    pat.pdl1_high = s.uniform() < P.pdl1_fraction
    z_propensity = s.normal()
    pat.propensity = math.exp(P.propensity_sdlog * z_propensity)
    pat.growth = P.growth_median * math.exp(P.growth_sd_patient * s.normal())
    synchronous = pat.presentation == codes.SYNCHRONOUS
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
        if not synchronous and P.prior_rt_eqd2 > 0.0:
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
        d = math.exp(P.macro_logd_median + P.macro_logd_sd * s.normal())
        les = Lesion(P, s, organ, logv_of_diameter(d), new_lesion_growth(P, s, pat.growth))
        if organ in (codes.BRAIN, codes.BONE):
            les.symptomatic = s.uniform() < P.symptomatic_at_entry
        lesions.append(les)
    # the lowest-propensity share: no capacity beyond the lesions drawn so far (model 3.1)
    if z_propensity < P.limited_z:
        pat.propensity = 0.0
    # occult micrometastases, more of them with a higher metastatic propensity
    for _ in range(s.poisson(P.occult_mean * pat.propensity)):
        if len(lesions) >= cap:
            break
        organ = codes.METASTATIC_ORGANS[s.categorical(organ_cum)]
        logd = P.occult_logd_min + (P.occult_logd_max - P.occult_logd_min) * s.uniform()
        lesions.append(Lesion(P, s, organ, logv_of_diameter(math.exp(logd)), new_lesion_growth(P, s, pat.growth)))
    return pat, lesions


def _eligible(P, pat, lesions) -> bool:
    """The trial's criteria applied to what staging imaging sees (model 3.4)."""
    if pat.kps < P.elig_min_kps or pat.age < P.elig_min_age or pat.age > P.elig_max_age:
        return False
    metachronous = pat.presentation != codes.SYNCHRONOUS
    organ, subsite, m = visible_distant(lesions)
    n_lesions, n_organs, _ = count_metastases(organ, subsite, m, metachronous)
    if n_lesions < P.elig_min_lesions or n_lesions > P.elig_max_lesions or n_organs > P.elig_max_organs:
        return False
    if any(les.visible and les.organ != codes.PRIMARY and diameter_of_logv(les.logv) > P.elig_max_diameter for les in lesions):
        return False
    if P.elig_definition >= 0:
        hist = pat.histology if P.elig_definition == 2 else P.elig_definition
        if not is_oligometastatic(hist, organ, subsite, m, metachronous, False, False, True):
            return False
    return True


def draw_cohort_patient(P, seed: int, pid: int):
    """Patient ``pid``: redrawn until eligible (rejection sampling, model 3.4).

    Returns (attributes, lesions), or (attributes, None) if eligibility was never met.
    """
    s = Stream(seed, pid, COHORT)
    for attempt in range(P.elig_max_attempts):
        pat, lesions = _draw_once(P, s)
        if _eligible(P, pat, lesions):
            pat.attempts = attempt + 1
            pat.bg_death = gompertz_months(P, pat.age, Stream(seed, pid, BACKGROUND).exponential())
            for les in lesions:  # what staging saw is what the team knows about
                les.seen = les.visible
            return pat, lesions
    pat.attempts = P.elig_max_attempts
    return pat, None


def _waiting(e: float, rate: float) -> float:
    """Months until a constant hazard ``rate`` reaches the unit-exponential draw ``e`` (inf at 0)."""
    return e / rate if rate > 0.0 else INF


# ============================================================================ appointments

# same-time priority of each kind of appointment (lower first); the kernel's slot order
P_RT_END, P_RT_START, P_TOX, P_SCAN, P_SYMPTOM_SCAN, P_CONSOLIDATION = 0, 1, 2, 3, 4, 5
P_INDUCTION_END, P_MAINTENANCE_END, P_RESISTANCE, P_BACKGROUND_DEATH, P_HORIZON = 6, 7, 8, 9, 10
P_PROGRESSION_DEATH, P_WIDESPREAD_DEATH = 11, 12
# a continuous-hazard crossing found up to and including the next appointment's time comes
# first; a symptom reached exactly at an appointment's time comes after it
P_CROSSING = -1
P_SYMPTOM = 13


class _Fire(simpy.events.Event):
    """A SimPy event scheduled ``delay`` from now with an explicit ``priority``.

    (:class:`simpy.Timeout` always uses the NORMAL priority; this is Timeout with a priority.)
    """

    def __init__(self, env: simpy.Environment, delay: float, priority: int):
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)


class Appointment:
    """A cancellable, movable clinical appointment of one kind (e.g. "the next scan").

    SimPy cannot remove an event from its queue, so every (re)booking gets a new token and the
    firing event checks that it is still the current booking; stale events fire harmlessly.
    """

    __slots__ = ("patient", "priority", "handler", "at", "token")

    def __init__(self, patient: "Patient", priority: int, handler):
        self.patient = patient
        self.priority = priority
        self.handler = handler
        self.at = INF
        self.token = 0

    @property
    def pending(self) -> bool:
        return self.at < INF

    def book(self, at: float) -> None:
        """Book (or move) the appointment to absolute time ``at`` (inf cancels)."""
        self.token += 1
        self.at = at
        if at < INF:
            env = self.patient.env
            ev = _Fire(env, at - env.now, self.priority)
            token = self.token
            ev.callbacks.append(lambda _ev: self.patient.dispatch(self, token))

    def cancel(self) -> None:
        self.book(INF)

    def postpone(self, months: float) -> None:
        if self.pending:
            self.book(self.at + months)


# ============================================================================ one patient


class Patient:
    """One virtual patient's course under one arm, as a SimPy simulation.

    Lesion log-volumes are stored as of ``self.t_state`` and brought up to the current time
    (:meth:`advance_to`) before every event is handled; the systemic kill rate in force is
    ``self.kill`` (1/month), constant between events.
    """

    def __init__(self, P, R, A, seed: int, pid: int, pat, lesions):
        self.P, self.R, self.A = P, R, A
        self.pat = pat
        self.lesions: list[Lesion | None] = lesions  # None: a free slot
        self.env = simpy.Environment()
        self.finished = self.env.event()
        self.over = False
        self.cause = engine.ALIVE
        # streams (the cohort's were used by the caller)
        self.s_lesion = Stream(seed, pid, LESION)
        self.s_seeding = Stream(seed, pid, SEEDING)
        self.s_death = Stream(seed, pid, DEATH)
        self.s_response = Stream(seed, pid, RESPONSE)
        self.s_tox = Stream(seed, pid, TOXICITY)
        self.s_rt = Stream(seed, pid, RT)
        # continuous hazards: accumulated value and unit-exponential threshold
        self.h_seed, self.e_seed = 0.0, self.s_seeding.exponential()
        self.h_death, self.e_death = 0.0, self.s_death.exponential()
        self.t_state = 0.0
        self.crossing_token = 0
        self.overflow = 0  # 1: lesions beyond the cap exist, 2: and a scan has counted them
        self.overflow_at = INF  # when the uncounted disease reaches a visible size
        # appointments
        self.rt_end = Appointment(self, P_RT_END, self.on_rt_end)
        self.rt_start = Appointment(self, P_RT_START, self.on_rt_start)
        self.tox = [Appointment(self, P_TOX, self._tox_handler(k)) for k in range(codes.N_TOX + 1)]
        self.scan = Appointment(self, P_SCAN, lambda: self.on_scan(symptom=False))
        self.symptom_scan = Appointment(self, P_SYMPTOM_SCAN, lambda: self.on_scan(symptom=True))
        self.consolidation = Appointment(self, P_CONSOLIDATION, self.on_consolidation)
        self.induction_end = Appointment(self, P_INDUCTION_END, self.on_induction_end)
        self.maintenance_end = Appointment(self, P_MAINTENANCE_END, self.on_maintenance_end)
        self.resistance = Appointment(self, P_RESISTANCE, self.on_resistance)
        self.background_death = Appointment(self, P_BACKGROUND_DEATH, lambda: self.finish(engine.DEATH_OTHER))
        self.horizon = Appointment(self, P_HORIZON, lambda: self.finish(engine.ALIVE))
        # post-progression disease death: constant hazards from the first progression and from
        # the first widespread progression on (model 4.3)
        self.progression_death = Appointment(self, P_PROGRESSION_DEATH, lambda: self.finish(engine.DEATH_DISEASE))
        self.widespread_death = Appointment(self, P_WIDESPREAD_DEATH, lambda: self.finish(engine.DEATH_DISEASE))
        # treatment state
        self.line = 0
        self.lines_started = 0  # differs from line when the arm has no first line (0 -> 2)
        self.reg = -1
        self.line_on = False
        self.resisted = False
        self.kill = 0.0
        self.kill_line = 0.0
        self.paused = False
        self.course_concurrent = False
        self.course_mode = 0
        self.line_with_rt = False  # the first line starts with the first fraction
        self.line_after_rt = False  # the first line starts when the course ends
        self.timing = A.rt_timing
        self.rt_courses = 0
        self.local_courses = 0
        self.extra_courses = 0
        self.last_local = 0.0
        # response assessment state
        self.progressed = False
        self.widespread = False
        self.palliative = False
        self.has_baseline = True
        self.nadir = 0.0
        # outputs
        self.log: list[tuple[float, int, int]] = []
        self.tox_seen = [False] * codes.N_TOX
        self.lc: list[list] = []  # [rt time, failed, failure time, bed10, volume]
        self.pfs = self.wpfs = None
        self.first_failure = codes.FAIL_NONE
        self.estro_first = codes.NOT_OLIGO - 1

    # ------------------------------------------------------------------ bookkeeping
    def record(self, code: int, detail: int = 0, t: float | None = None) -> None:
        self.log.append((self.env.now if t is None else t, code, detail))

    def active(self):
        return [les for les in self.lesions if les is not None and les.status == ACTIVE]

    def run(self) -> None:
        """Simulate from entry to death or the horizon."""
        self.env.process(self.entry())
        self.env.run(until=self.finished)

    def finish(self, cause: int) -> None:
        self.cause = cause
        self.over = True
        self.finished.succeed()

    def dispatch(self, appointment: Appointment | None, token: int) -> None:
        """Every event passes here: bring the lesions to now, handle it, re-plan the hazards."""
        if self.over:
            return
        self.advance_to(self.env.now)
        if appointment is not None and appointment.token == token:
            appointment.at = INF
            appointment.handler()
        if not self.over:
            self.plan_continuous()

    # ------------------------------------------------------------------ entry and initial plan
    def entry(self):
        """SimPy process: the patient enters; the team makes the initial plan (model 8.2)."""
        P, A, pat = self.P, self.A, self.pat
        self.record(engine.EV_ENTRY, len(self.lesions))
        self.nadir = sum(diameter_of_logv(les.logv) for les in self.lesions if les.seen)
        self.set_nadir_diameters()
        self.background_death.book(pat.bg_death)
        self.horizon.book(P.horizon)
        self.scan.book(P.first_scan)
        # European consensus: metachronous disease after a long disease-free interval -> local first
        if A.local_first and pat.presentation == codes.METACHRONOUS and pat.dfi > A.dfi_threshold:
            self.timing = RT_UPFRONT
        first = A.first_line
        concurrent_plan = self.timing == RT_CONCURRENT or A.concurrent
        start_now = first >= 0
        if self.timing in (RT_UPFRONT, RT_CONCURRENT) and self.plan_course(0) > 0:
            # RT to every known lesion the arm irradiates, then (or with) systemic therapy
            self.course_mode = 0
            self.rt_start.book(P.rt_delay)
            if first >= 0:
                start_now = False
                self.line_with_rt = concurrent_plan
                self.line_after_rt = not concurrent_plan
        elif A.urgent and self.plan_course(1) > 0:
            # statement 6: symptomatic brain or bone disease is irradiated before systemic therapy
            self.course_mode = 1
            self.rt_start.book(P.rt_delay)
            if first >= 0:
                start_now = False
                self.line_after_rt = True
        if start_now:
            self.start_line(1, first)
        self.plan_continuous()
        yield self.finished

    # ------------------------------------------------------------------ continuous processes
    def _burden(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The active lesions now: volumes (cm3), organ lethality weights, net growth rates."""
        act = [les for les in self.lesions if les is not None and les.status == ACTIVE]
        v = np.exp(np.array([les.logv for les in act]))
        w = np.array([self.P.death_weight[les.organ] for les in act])
        r = np.array([les.growth for les in act]) - self.kill
        # a lesion exactly at equilibrium (r = 0): v (e^{r tau} - 1) / r -> v tau
        r[r == 0.0] = 1e-300
        return v, w, r

    @staticmethod
    def _volume_integrals(v: np.ndarray, r: np.ndarray, tau: float) -> np.ndarray:
        """Integral over [0, tau] of each lesion's volume v e^{r s} ds = v (e^{r tau} - 1) / r."""
        return v * np.expm1(r * tau) / r

    def _hazards(self, burden, tau: float) -> tuple[float, float]:
        """Cumulative seeding and disease-death hazards over the next ``tau`` months.

        Seeding: beta * propensity * sum_i V_i(t) (model 4.2); death: delta * sum_i w_i V_i(t)
        (model 4.3). Both integrate in closed form since each V_i is an exponential.
        """
        v, w, r = burden
        if v.size == 0:
            return 0.0, 0.0
        integ = self._volume_integrals(v, r, tau)
        P = self.P
        return float(integ.sum()) * P.seeding_rate * self.pat.propensity, float((integ * w).sum()) * P.death_rate

    def _crossing(self, burden, which: int, target: float, limit: float) -> float:
        """First tau in (0, limit] where cumulative hazard ``which`` (0 seeding, 1 death) reaches
        ``target``, by Brent's method on the closed form; inf if not reached by ``limit``."""
        if target == INF or limit <= 0.0 or self._hazards(burden, limit)[which] < target:
            return INF
        return brentq(lambda tau: self._hazards(burden, tau)[which] - target, 0.0, limit, xtol=1e-10, rtol=1e-14)

    def _next_symptom(self) -> tuple[float, int]:
        """Months until the next lesion reaches its symptom size (closed form), and which."""
        best, which = INF, -1
        for i, les in enumerate(self.lesions):
            if les is None or les.status != ACTIVE or les.symptomatic:
                continue
            r = les.growth - self.kill
            if les.logv >= les.sym_logv:
                tau = 0.0
            elif r > 0.0:
                tau = (les.sym_logv - les.logv) / r
            else:
                continue
            if tau < best:
                best, which = tau, i
        return best, which

    def plan_continuous(self) -> None:
        """Book the next seeding, disease death or symptom, if it comes before the next event
        already in the queue (any event re-plans it, so looking further is not needed)."""
        self.crossing_token += 1
        now = self.env.now
        limit = min(self.env.peek(), self.P.horizon) - now
        burden = self._burden()
        tau_seed = self._crossing(burden, 0, self.e_seed - self.h_seed, limit)
        tau_death = self._crossing(burden, 1, self.e_death - self.h_death, limit)
        tau_sym, sym_i = (INF, -1) if self.palliative else self._next_symptom()
        token = self.crossing_token
        # the earliest wins; at a tie death beats seeding, and both beat a symptom
        candidates = [
            (tau_death, 0, self.on_disease_death, P_CROSSING),
            (tau_seed, 1, self.on_seeding, P_CROSSING),
            (tau_sym if tau_sym <= limit else INF, 2, lambda: self.on_symptom(sym_i), P_SYMPTOM),
        ]
        tau, _, action, prio = min(candidates, key=lambda c: (c[0], c[1]))
        if tau == INF:
            return
        ev = _Fire(self.env, tau, prio)
        ev.callbacks.append(lambda _ev: self._crossing_fired(token, action))

    def _crossing_fired(self, token: int, action) -> None:
        if self.over:
            return
        self.advance_to(self.env.now)
        if token == self.crossing_token:
            action()
        if not self.over:
            self.plan_continuous()

    def advance_to(self, t: float) -> None:
        """Grow or shrink every active lesion from ``t_state`` to ``t``; accumulate the hazards;
        close local-control records of lesions regrown to their pre-RT size (in-field failure,
        model 6.4); eradicate lesions shrunk below the eradication size (model 4.7)."""
        dt = t - self.t_state
        if dt <= 0.0:
            return
        h_seed, h_death = self._hazards(self._burden(), dt)
        self.h_seed += h_seed
        self.h_death += h_death
        failures = []
        for i, les in enumerate(self.lesions):
            if les is None or les.status != ACTIVE:
                continue
            r = les.growth - self.kill
            x0, x1 = les.logv, les.logv + r * dt
            q = les.lc_record
            if q is not None and les.rt_pre_logv > x0 and les.rt_pre_logv <= x1:
                t_fail = self.t_state + (les.rt_pre_logv - x0) / r
                self.lc[q][1] = True
                self.lc[q][2] = t_fail
                les.lc_record = None
                failures.append((t_fail, i))
            les.logv = x1
            if x1 < self.P.eradication_logv:
                les.status = ERADICATED
        for t_fail, i in sorted(failures):
            self.record(engine.EV_LOCAL_FAILURE, i, t_fail)
        self.t_state = t

    def on_disease_death(self) -> None:
        self.finish(engine.DEATH_DISEASE)

    def on_seeding(self) -> None:
        """A new metastasis (model 4.2): Iwata-type seeding, hazard proportional to volume."""
        P = self.P
        self.h_seed = 0.0
        self.e_seed = self.s_seeding.exponential()
        slot = next((i for i, les in enumerate(self.lesions) if les is None or les.status == ERADICATED), None)
        if slot is None and len(self.lesions) < P.max_lesions:
            self.lesions.append(None)
            slot = len(self.lesions) - 1
        if slot is None:
            # beyond the cap: uncounted disease, counted as new disease at the first scan after a
            # lesion seeded now would reach the median detection size at the patient's median
            # growth rate (model 4.2); stop seeding
            self.overflow = 1
            self.overflow_at = self.env.now + P.overflow_dlogv / self.pat.growth
            self.e_seed = INF
            return
        s = self.s_lesion
        organ = codes.METASTATIC_ORGANS[s.categorical(P.organ_cum[self.pat.histology])]
        growth = new_lesion_growth(P, s, self.pat.growth)
        les = Lesion(P, s, organ, P.seed_logv, growth)
        les.chemo_exposed = self.line_on and self.reg >= 0 and bool(self.R.chemo[self.reg])
        self.lesions[slot] = les
        self.record(engine.EV_NEW_LESION, slot)

    def on_symptom(self, i: int) -> None:
        """A lesion reached its symptom size: book an unscheduled scan (model 4.6)."""
        les = self.lesions[i]
        les.symptomatic = True
        self.record(engine.EV_SYMPTOM, i)
        if not self.symptom_scan.pending and les.status == ACTIVE:
            self.symptom_scan.book(self.env.now + self.P.symptom_delay)

    # ------------------------------------------------------------------ systemic therapy
    def start_line(self, line: int, reg: int) -> None:
        """Start a line of systemic therapy: book induction end, resistance, toxicities."""
        R, A, now = self.R, self.A, self.env.now
        self.line, self.reg = line, reg
        self.lines_started += 1
        self.resisted = False
        self.line_on = True
        self.kill_line = R.kill[reg] * (R.pdl1_multiplier[reg] if self.pat.pdl1_high else 1.0)
        self.kill = 0.0 if (self.paused and R.chemo[reg] and line == 1) else self.kill_line
        duration = R.cycles[reg] * R.cycle[reg]
        self.induction_end.book(now + duration)
        self.maintenance_end.cancel()
        # acquired resistance: a durable responder never resists; others after a lognormal time
        u1, u2 = self.s_response.uniform(), self.s_response.uniform()
        if u1 < R.durable[reg]:
            self.resistance.cancel()
        else:
            self.resistance.book(now + R.resistance_median[reg] * math.exp(R.resistance_sdlog[reg] * _NORMAL.inv_cdf(u2)))
        # grade >= 3 toxicities (and grade 5) of the line, each at a uniform time during induction
        for k in range(codes.N_TOX + 1):
            u, v = self.s_tox.uniform(), self.s_tox.uniform()
            p = R.grade5[reg] if k == codes.N_TOX else R.tox[reg, k]
            self.tox[k].book(now + v * duration if u < p else INF)
        if line == 1 and A.rt_timing == RT_CONSOLIDATIVE:
            self.consolidation.book(now + A.consolidative_cycles * R.cycle[reg])
        if R.chemo[reg]:
            for les in self.active():
                les.chemo_exposed = True
        self.record(engine.EV_LINE_START, reg)

    def stop_line(self) -> None:
        """The line fails or is stopped: its pending events are cancelled."""
        self.line_on = False
        self.kill = 0.0
        for appt in (self.induction_end, self.maintenance_end, self.resistance, self.consolidation, *self.tox):
            appt.cancel()
        self.record(engine.EV_LINE_STOP, self.reg)

    def on_induction_end(self) -> None:
        """Induction over: maintenance at its own kill rate, or the line ends."""
        R, reg = self.R, self.reg
        self.record(engine.EV_INDUCTION_END, reg)
        if R.maintenance[reg] > 0.0:
            self.kill_line = R.maintenance_kill[reg] * (R.pdl1_multiplier[reg] if self.pat.pdl1_high else 1.0)
            if not self.resisted:
                self.kill = self.kill_line
            self.maintenance_end.book(self.env.now + R.maintenance[reg])
        else:
            self.line_on = False
            self.kill = 0.0
            self.resistance.cancel()

    def on_maintenance_end(self) -> None:
        self.record(engine.EV_MAINTENANCE_END, self.reg)
        self.line_on = False
        self.kill = 0.0
        self.resistance.cancel()

    def on_resistance(self) -> None:
        """Acquired resistance: the line no longer kills (it goes on until it ends)."""
        self.record(engine.EV_RESISTANCE, self.reg)
        self.resisted = True
        self.kill = 0.0

    def _tox_handler(self, k: int):
        return lambda: self.on_toxicity(k)

    def on_toxicity(self, k: int) -> None:
        """A grade >= 3 systemic toxicity (model 5.5), or a grade-5 event (k = N_TOX)."""
        if k == codes.N_TOX:
            self.finish(engine.DEATH_TREATMENT)
            return
        self.tox_seen[k] = True
        self.record(engine.EV_TOXICITY, k)
        if self.line_on:
            if k <= codes.THROMBOCYTOPENIA:  # a cytopenia delays the next cycles
                self.induction_end.postpone(self.P.tox_delay)
                self.consolidation.postpone(self.P.tox_delay)
            if self.s_tox.uniform() < self.P.discontinue_p:
                self.stop_line()

    # ------------------------------------------------------------------ radiotherapy
    def plan_course(self, mode: int) -> int:
        """Mark the lesions a course treats (model 8.1); returns how many.

        mode 0: every seen lesion the arm irradiates; 1: symptomatic brain/bone lesions only
        (statement 6); 2: every seen active lesion (a progression). At most
        ``max_irradiated`` distant metastases, the largest kept.
        """
        A = self.A
        for les in self.lesions:
            if les is None:
                continue
            les.in_course = False
            if les.status != ACTIVE or not les.seen:
                continue
            if mode == 1:
                les.in_course = les.symptomatic and les.organ in (codes.BRAIN, codes.BONE)
            elif les.organ == codes.PRIMARY or (les.organ == codes.REGIONAL_NODE and mode == 0 and A.rt_primary):
                les.in_course = A.rt_primary or mode == 2
            else:
                les.in_course = A.rt_metastases or mode == 2
        distant = [les for les in self.lesions if les is not None and les.in_course and not les.is_locoregional]
        if len(distant) > A.max_irradiated:
            distant.sort(key=lambda les: les.logv)
            for les in distant[: len(distant) - A.max_irradiated]:
                les.in_course = False
        return sum(1 for les in self.lesions if les is not None and les.in_course)

    def course_months(self) -> float:
        """Overall time of the planned course: the longest schedule, 5 treatment days a week."""
        A = self.A
        fx = max((schedule_of(A, les.organ)[1] for les in self.lesions if les is not None and les.in_course), default=0)
        days = (fx + A.fractions_per_day - 1) // A.fractions_per_day
        calendar = (days - 1) // 5 * 7 + (days - 1) % 5 + 1
        return calendar * MONTHS_PER_DAY

    def on_rt_start(self) -> None:
        """First fraction of a course; sequential strategies pause chemotherapy (model 5.4)."""
        A, R = self.A, self.R
        now = self.env.now
        self.record(engine.EV_RT_START, self.course_mode)
        for les in self.lesions:
            if les is not None:
                les.exposed_at_start = les.chemo_exposed
        self.course_concurrent = self.line_on and self.reg >= 0 and bool(R.chemo[self.reg])
        start_line_now = False
        if self.line_with_rt:
            self.line_with_rt = False
            start_line_now = True
            self.course_concurrent = bool(R.chemo[A.first_line])
        duration = self.course_months()
        if self.course_concurrent and not (A.concurrent or self.timing == RT_CONCURRENT):
            # sequential strategy: chemotherapy waits for the course (anti-PD-1 alone goes on)
            self.course_concurrent = False
            self.paused = True
            self.kill = 0.0
            self.induction_end.postpone(duration)
            self.consolidation.postpone(duration)
        self.rt_end.book(now + duration)
        if start_line_now:  # concurrent chemoradiotherapy: the line starts with the first fraction
            self.start_line(1, A.first_line)

    def on_rt_end(self) -> None:
        """Last fraction: the course's effect on each target and its toxicity (model 6)."""
        self.record(engine.EV_RT_END, self.course_mode)
        dead = self.deliver_course()
        self.rt_courses += 1
        self.local_courses += 1
        self.last_local = self.env.now
        if self.paused:
            self.paused = False
            self.kill = 0.0 if (self.resisted or not self.line_on) else self.kill_line
        if dead:
            self.finish(engine.DEATH_TREATMENT)
            return
        if self.line_after_rt:
            self.line_after_rt = False
            self.start_line(1, self.A.first_line)

    def deliver_course(self) -> bool:
        """Apply the course to its targets; returns True if it killed the patient."""
        P, A, R, now = self.P, self.A, self.R, self.env.now
        eso = lung = 0.0
        reirradiation = False
        for les in self.lesions:
            if les is None or not les.in_course:
                continue
            les.in_course = False
            if les.status != ACTIVE:
                continue
            d, k = schedule_of(A, les.organ)
            bed10 = k * d * (1.0 + d / P.ab_tumour)
            if P.chemo_before_rt and les.exposed_at_start:
                # chemotherapy before RT leaves resistant survivors (model 5.6)
                bed10 = max(bed10 - P.chemo_before_rt_loss, 0.0)
            late = eqd2_late(P, A, les.organ)
            volume = math.exp(les.logv)
            again = les.irradiated > 0
            # the lesion's own radiosensitivity quantile decides its first course here
            u = self.s_rt.uniform() if les.treated_here else les.u_tcp
            if not les.treated_here:
                les.treated_here = True
                if len(self.lc) < LC_RECORDS:
                    les.lc_record = len(self.lc)
                    self.lc.append([now, False, INF, bed10, volume])
            les.rt_pre_logv = les.logv
            if u < tcp(bed10, volume, P):
                les.status = CONTROLLED
            else:  # not sterilised: shrinks, and may regrow in field
                les.logv -= P.uncontrolled_kill * bed10
                if les.logv < P.eradication_logv:
                    les.status = ERADICATED
            if again:
                reirradiation = reirradiation or P.eso_fraction[les.organ, les.subsite] > 0.0
                les.site_eqd2 = cumulative_eqd2(les.site_eqd2, now - les.site_time, late, P)
            else:
                les.site_eqd2 = late
            les.site_time = now
            les.irradiated += 1
            eso = max(eso, late * P.eso_fraction[les.organ, les.subsite])
            lung += late * P.lung_fraction[les.organ]
        # RT toxicity: esophagitis and fistula from the esophagus dose, pneumonitis from the lung
        io = self.line_on and self.reg >= 0 and bool(R.io[self.reg])
        or_c = P.concurrent_or if self.course_concurrent else 1.0
        or_r = P.reirr_or if reirradiation else 1.0
        p_esophagitis = odds_scaled(ntcp_lkb(eso, P.esophagitis_td50, P.esophagitis_m), or_c * or_r)
        p_fistula = odds_scaled(ntcp_lkb(eso, P.fistula_td50, P.fistula_m), or_c * or_r)
        p_pneumonitis = odds_scaled(ntcp_lkb(lung, P.pneumonitis_td50, P.pneumonitis_m), or_c * (P.io_pneumonitis_or if io else 1.0))
        u_e, u_f, u_p, g_f, g_p = (self.s_tox.uniform() for _ in range(5))
        dead = False
        if u_e < p_esophagitis:
            self.tox_seen[codes.ESOPHAGITIS] = True
            self.record(engine.EV_TOXICITY, codes.ESOPHAGITIS)
        if u_f < p_fistula:
            self.tox_seen[codes.FISTULA] = True
            self.record(engine.EV_TOXICITY, codes.FISTULA)
            dead = g_f < P.g5_fistula
        if u_p < p_pneumonitis:
            self.tox_seen[codes.PNEUMONITIS] = True
            self.record(engine.EV_TOXICITY, codes.PNEUMONITIS)
            dead = dead or g_p < P.g5_pneumonitis
        if io and P.abscopal_p > 0.0 and self.s_rt.uniform() < P.abscopal_p:
            for les in self.active():
                if les.irradiated == 0:
                    les.logv -= P.abscopal_kill
        return dead

    def on_consolidation(self) -> None:
        """Restaging after N cycles: consolidative RT to all known lesions if no progression."""
        if not self.progressed and not self.rt_end.pending and not self.rt_start.pending:
            if self.plan_course(0) > 0:
                self.course_mode = 0
                self.rt_start.book(self.env.now + self.P.rt_delay)

    # ------------------------------------------------------------------ scans
    def set_nadir_diameters(self) -> None:
        for les in self.lesions:
            if les is not None:
                les.nadir_d = diameter_of_logv(les.logv) if les.visible else 0.0

    def oligo_now(self) -> bool:
        """Is the visible disease oligometastatic by the patient's own histology (model 7.3)?"""
        if self.overflow == 2:  # uncounted disease beyond the cap, counted at a scan
            return False
        metachronous = self.pat.presentation != codes.SYNCHRONOUS
        organ, subsite, m = visible_distant(self.lesions)
        if m == 0:
            return True
        return bool(is_oligometastatic(self.pat.histology, organ, subsite, m, metachronous, False, False, True))

    def on_scan(self, symptom: bool) -> None:
        """Response assessment, RECIST 1.1 as implemented (model 7.2), then the policy (8.4)."""
        P, now = self.P, self.env.now
        if not symptom:
            self.scan.book(now + scan_interval(P, now))
        self.record(engine.EV_SCAN, engine.S_SYMPTOM_SCAN if symptom else engine.S_SCAN)
        total = 0.0
        n_new = 0
        for les in self.lesions:
            if les is not None and les.visible:
                total += diameter_of_logv(les.logv)
                if not les.seen:
                    n_new += 1
                    les.seen = True
        if self.overflow == 1 and now >= self.overflow_at:
            n_new += 1  # the uncounted lesions beyond the cap, now of visible size: new disease, counted once
            self.overflow = 2
        grew = self.has_baseline and total >= self.nadir * (1.0 + P.recist_growth) and total - self.nadir >= P.recist_min_cm
        progression = n_new > 0 or grew
        if not self.has_baseline or (not progression and total < self.nadir):
            self.nadir = total
            self.has_baseline = True
            self.set_nadir_diameters()
        if progression:
            self.on_progression(n_new)

    def on_progression(self, n_new: int) -> None:
        P, A, now = self.P, self.A, self.env.now
        oligo = self.oligo_now()
        self.record(engine.EV_PROGRESSION, 1 if oligo else 0)
        if not self.progressed:
            self.progressed = True
            self.pfs = now
            self.progression_death.book(now + _waiting(self.s_death.exponential(), P.death_after_progression))
            self.first_failure = self.first_failure_pattern(oligo, n_new)
            context = codes.PROGRESSING_ON_SYSTEMIC if self.line_on else codes.OFF_SYSTEMIC
            self.estro_first = int(estro_eortc_class(
                oligo, self.pat.presentation == codes.INDUCED or self.widespread, True, self.pat.dfi + now, context, 6.0
            ))
        if not oligo and not self.widespread:
            self.widespread = True
            self.wpfs = now
            self.record(engine.EV_WIDESPREAD, 0)
            self.widespread_death.book(now + _waiting(self.s_death.exponential(), P.death_after_widespread))
        # statement 12: local therapy for oligoprogression, systemic therapy otherwise
        do_local = False
        if oligo:
            if self.timing == RT_AT_PROGRESSION and self.local_courses == 0:
                do_local = True
            elif self.extra_courses < A.max_courses:
                if A.progression_local == PROG_OLIGO:
                    do_local = True
                elif A.progression_local == PROG_OLIGO_SLOW and now - self.last_local >= A.slow_months:
                    do_local = True
        if do_local:
            if self.local_courses > 0:
                self.extra_courses += 1
            n_rt = self.plan_progression_course()
            if n_rt > 0 and not self.rt_start.pending and not self.rt_end.pending:
                self.course_mode = 2
                self.rt_start.book(now + P.rt_delay)
            else:  # everything handled otherwise, or a course already pending
                self.local_courses += 1
                self.last_local = now
        else:
            if self.line_on:
                self.stop_line()
            # line 0: no first line was given, so the "second line" is the first systemic therapy
            if A.next_line and (self.line == 1 or (self.line == 0 and A.first_line < 0)) and A.second_line >= 0:
                self.start_line(2, A.second_line)
        self.has_baseline = False  # the next scan sets a new baseline
        if self.widespread and not self.line_on and (self.line >= 2 or A.second_line < 0 or not A.next_line):
            # palliative: no scan could change any result any more (model 7.5)
            self.palliative = True
            self.scan.cancel()
            self.symptom_scan.cancel()

    def first_failure_pattern(self, oligo: bool, n_new: int) -> int:
        """Widespread, in-field or out-of-field oligometastatic first failure (model 7.4)."""
        if not oligo:
            return codes.FAIL_WIDESPREAD
        if n_new == 0:
            # growth only: in field if the lesion that grew most since the nadir was irradiated
            grown = [(diameter_of_logv(les.logv) - les.nadir_d, i) for i, les in enumerate(self.lesions) if les is not None and les.visible]
            if grown:
                best = max(g for g, _ in grown)
                i = next(i for g, i in grown if g == best)
                if self.lesions[i].irradiated > 0:
                    return codes.FAIL_IN_FIELD
        return codes.FAIL_OUT_OF_FIELD_OLIGO

    def plan_progression_course(self) -> int:
        """Local therapy at progression: RT where the re-irradiation dose allows (model 6.6),
        else surgery/ablation if the arm allows (6.7). Returns lesions put in an RT course."""
        P, A, now = self.P, self.A, self.env.now
        self.plan_course(2)
        n_rt = 0
        for i, les in enumerate(self.lesions):
            if les is None or not les.in_course:
                continue
            if les.irradiated > 0:
                months = now - les.site_time
                ok = months >= P.reirr_min_interval and cumulative_eqd2(les.site_eqd2, months, eqd2_late(P, A, les.organ), P) <= P.reirr_limit
                if not ok:
                    les.in_course = False
                    if A.alternative_local:
                        self.record(engine.EV_ALT_LOCAL, i)
                        if self.s_rt.uniform() < P.alt_local_control:
                            les.status = CONTROLLED
                        else:
                            les.logv -= 2.0 * math.log(10.0)
                    continue
            n_rt += 1
        return n_rt

    # ------------------------------------------------------------------ results
    def close(self) -> None:
        """Final records at death or the horizon."""
        code = {
            engine.DEATH_DISEASE: engine.EV_DEATH_DISEASE,
            engine.DEATH_OTHER: engine.EV_DEATH_OTHER,
            engine.DEATH_TREATMENT: engine.EV_DEATH_TREATMENT,
        }.get(self.cause, engine.EV_CENSORED)
        self.record(code, 0)


# ============================================================================ driver


def _allocate(n: int, events: bool) -> dict:
    e = EVENT_RECORDS if events else 0
    out = {name: np.zeros(n, dtype) for name, dtype in COLUMNS.items()}
    out.update(
        tox=np.zeros((n, codes.N_TOX), np.bool_),
        lc_time=np.zeros((n, LC_RECORDS)),
        lc_event=np.zeros((n, LC_RECORDS), np.bool_),
        lc_bed=np.zeros((n, LC_RECORDS)),
        lc_volume=np.zeros((n, LC_RECORDS)),
        ev_time=np.zeros((n, e)),
        ev_code=np.zeros((n, e), np.int8),
        ev_detail=np.zeros((n, e), np.int16),
    )
    return out


def simulate_patient(P, R, A, seed: int, pid: int) -> Patient | None:
    """Draw patient ``pid`` and simulate them under arm ``A``; None if never eligible."""
    pat, lesions = draw_cohort_patient(P, seed, pid)
    if lesions is None:
        return None
    patient = Patient(P, R, A, seed, pid, pat, lesions)
    patient.run()
    patient.close()
    return patient


def _write_row(out: dict, j: int, p: Patient, n_entry: int, n_visible: int, events: bool) -> None:
    t = p.env.now
    dead = p.cause != engine.ALIVE
    pat = p.pat
    c = out
    c["os"][j] = t
    c["os_event"][j] = dead
    c["death_cause"][j] = p.cause
    c["pfs"][j] = p.pfs if p.progressed else t
    c["pfs_event"][j] = True if p.progressed else dead
    c["wpfs"][j] = p.wpfs if p.widespread else t
    c["wpfs_event"][j] = True if p.widespread else dead
    c["rt_courses"][j] = p.rt_courses
    c["local_courses"][j] = p.local_courses
    c["lines"][j] = p.lines_started
    c["first_failure"][j] = p.first_failure
    c["estro_first"][j] = p.estro_first
    c["histology"][j] = pat.histology
    c["presentation"][j] = pat.presentation
    c["age"][j] = pat.age
    c["dfi"][j] = pat.dfi
    c["kps"][j] = pat.kps
    c["pdl1_high"][j] = pat.pdl1_high
    c["n_visible_entry"][j] = n_visible
    c["n_lesions_entry"][j] = n_entry
    c["attempts"][j] = pat.attempts
    c["overflow"][j] = p.overflow > 0
    c["tox"][j] = p.tox_seen
    c["lc_n"][j] = len(p.lc)
    for q, (t_rt, failed, t_fail, bed, vol) in enumerate(p.lc):
        c["lc_time"][j, q] = (t_fail if failed else t) - t_rt
        c["lc_event"][j, q] = failed
        c["lc_bed"][j, q] = bed
        c["lc_volume"][j, q] = vol
    c["ev_n"][j] = len(p.log)
    if events:
        for k, (te, code, detail) in enumerate(p.log[:EVENT_RECORDS]):
            c["ev_time"][j, k] = te
            c["ev_code"][j, k] = code
            c["ev_detail"][j, k] = detail


def _simulate_range(P, R, A, seed: int, lo: int, hi: int, events: bool) -> dict:
    """Patients lo .. hi-1 of one arm, as arrays (rows 0 .. hi-lo-1)."""
    out = _allocate(hi - lo, events)
    for j, pid in enumerate(range(lo, hi)):
        pat, lesions = draw_cohort_patient(P, seed, pid)
        out["attempts"][j] = pat.attempts
        if lesions is None:
            out["os"][j] = np.nan
            continue
        metachronous = pat.presentation != codes.SYNCHRONOUS
        organ, subsite, m = visible_distant(lesions)
        n_visible = int(count_metastases(organ, subsite, m, metachronous)[0])
        n_entry = len(lesions)
        p = Patient(P, R, A, seed, pid, pat, lesions)
        p.run()
        p.close()
        _write_row(out, j, p, n_entry, n_visible, events)
    return out


def _run_range_job(args):
    return _simulate_range(*args)


def run_scenario_reference(
    scenario,
    *,
    patients: int | None = None,
    seed: int | None = None,
    arms: list[str] | None = None,
    events: bool = False,
    workers: int = 1,
) -> Results:
    """Simulate every arm of ``scenario`` with the SimPy reference engine.

    Parameters
    ----------
    scenario : oligosim.config.Scenario
        A validated scenario.
    patients, seed : int, optional
        Override ``simulation.patients`` / ``simulation.seed``. Patient ``i`` is drawn from the
        same (seed, i) streams as in :func:`oligosim.simulate.run_scenario`: same cohort.
    arms : list of str, optional
        Only these arms.
    events : bool
        Keep the event log (first ``EVENT_RECORDS`` events per patient).
    workers : int
        Processes to split the patients over (1: in this process). Results do not depend on it.

    Returns
    -------
    oligosim.simulate.Results
        Same columns, dtypes and shapes as the numba engine's.
    """
    n = int(scenario.data["simulation"]["patients"] if patients is None else patients)
    seed = int(scenario.data["simulation"]["seed"] if seed is None else seed)
    if n < 1:
        raise ValueError(f"patients = {n}: must be >= 1")
    if seed < 0:
        raise ValueError(f"seed = {seed}: must be >= 0")
    P = lower_model(scenario)
    R = lower_regimens(scenario)
    names = selected_arms(scenario, arms)
    t0 = time.perf_counter()
    res = Results(scenario=scenario, seed=seed, patients=n)
    workers = max(1, min(int(workers), n))
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for name in names:
            A = lower_arm(scenario, name)
            if pool is None:
                full = _simulate_range(P, R, A, seed, 0, n, events)
            else:
                bounds = np.linspace(0, n, 4 * workers + 1).astype(int)
                jobs = [(P, R, A, seed, int(lo), int(hi), events) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
                parts = list(pool.map(_run_range_job, jobs))
                full = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            bad = np.flatnonzero(np.isnan(full["os"]))
            if bad.size:
                raise InfeasibleCohort(
                    f"{bad.size} of {n} patients could not be drawn eligible within "
                    f"cohort.eligibility.max_attempts = {P.elig_max_attempts} draws (first: patient {bad[0]})"
                )
            res.arms[name] = ArmResult(
                name=name,
                label=scenario.data["arms"][name]["label"] or name,
                columns={c: full[c] for c in COLUMNS},
                tox=full["tox"],
                lc_time=full["lc_time"],
                lc_event=full["lc_event"],
                lc_bed=full["lc_bed"],
                lc_volume=full["lc_volume"],
                ev_time=full["ev_time"],
                ev_code=full["ev_code"],
                ev_detail=full["ev_detail"],
            )
    finally:
        if pool is not None:
            pool.shutdown()
    res.seconds = time.perf_counter() - t0
    return res


def default_workers() -> int:
    """A sensible number of worker processes on this machine."""
    return max(1, (os.cpu_count() or 1))
