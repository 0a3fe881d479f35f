"""One virtual patient's course under one arm, as a SimPy simulation.

:class:`Patient` holds the state and the event loop; the handlers come from one mixin per
concern, each in its own module and named like the kernel's handlers:

* :class:`~oligosim.reference.hazards.HazardsMixin`: lesion growth, seeding, disease death,
  symptoms (the continuous processes);
* :class:`~oligosim.reference.systemic.SystemicMixin`: lines of systemic therapy;
* :class:`~oligosim.reference.rt.RadiotherapyMixin`: RT courses;
* :class:`~oligosim.reference.assess.AssessmentMixin`: scans and progression;
* :class:`~oligosim.reference.toxicity.ToxicityMixin` and
  :class:`~oligosim.reference.oar.OrgansMixin`: how toxicity is counted, and the heart, cord,
  bowel and conduit toxicity of an RT course.

Every patient lives in their own :class:`simpy.Environment`. Every event, an
:class:`~oligosim.reference.appointments.Appointment` or a continuous-hazard crossing, passes
through :meth:`Patient.dispatch` (or the crossing's own callback): lesions are brought to now,
the handler runs, and the next crossing is re-planned.
"""

from __future__ import annotations

import math

import simpy

from oligosim import codes
from oligosim.reference import record, uncounted
from oligosim.reference.appointments import (
    P_BACKGROUND_DEATH,
    P_CONSOLIDATION,
    P_HORIZON,
    P_INDUCTION_END,
    P_MAINTENANCE_END,
    P_PRIMARY_EVENT,
    P_PROC_RESUME,
    P_PROGRESSION_DEATH,
    P_RESISTANCE,
    P_RT_END,
    P_RT_START,
    P_SCAN,
    P_SYMPTOM_SCAN,
    P_TOX,
    P_WIDESPREAD_DEATH,
    Appointment,
)
from oligosim.reference.assess import AssessmentMixin, _waiting
from oligosim.reference.fitness import FitnessMixin
from oligosim.reference.cohort import ACTIVE, Lesion, diameter_of_logv
from oligosim.reference.diffuse import DiffuseMixin
from oligosim.reference.hazards import HazardsMixin
from oligosim.reference.oar import OrgansMixin
from oligosim.reference.procedure import ProcedureMixin
from oligosim.reference.rt import RadiotherapyMixin
from oligosim.reference.streams import DEATH, LESION, LESION_RESISTANCE, ORGANS, PATIENT, PRIMARY, PROCEDURE, RESPONSE, RT, SCAN, SEEDING, TOXICITY, Stream
from oligosim.reference.systemic import SystemicMixin
from oligosim.reference.toxicity import ToxicityMixin

__all__ = ["Patient"]

INF = math.inf

# the event-log code of each way a patient's simulation ends
_CLOSING_CODE = {
    codes.DEATH_DISEASE: codes.EV_DEATH_DISEASE,
    codes.DEATH_OTHER: codes.EV_DEATH_OTHER,
    codes.DEATH_TREATMENT: codes.EV_DEATH_TREATMENT,
}


class Patient(HazardsMixin, DiffuseMixin, SystemicMixin, RadiotherapyMixin, ProcedureMixin, AssessmentMixin, ToxicityMixin, OrgansMixin, FitnessMixin):
    """One virtual patient's course under one arm, as a SimPy simulation.

    Lesion log-volumes are stored as of ``self.t_state`` (months) and brought up to the
    current time (:meth:`advance_to`) before every event is handled; the systemic kill rate in
    force is ``self.kill`` (1/month), constant between events.

    Parameters
    ----------
    P, R, A : ModelParams, Regimens, ArmParams
        Lowered model, regimens and arm (:mod:`oligosim.lowering`).
    seed, pid : int
        Run seed and patient index (keys of the patient's random streams).
    pat : oligosim.reference.cohort.PatientAttributes
        Baseline attributes.
    lesions : list of Lesion
        Lesions at entry (:func:`oligosim.reference.cohort.draw_cohort_patient`).
    """

    def __init__(self, P, R, A, seed: int, pid: int, pat, lesions):
        self.P, self.R, self.A = P, R, A
        self.pat = pat
        self.lesions: list[Lesion | None] = lesions  # None: a free slot
        self.env = simpy.Environment()
        self.finished = self.env.event()
        self.over = False
        self.cause = codes.ALIVE
        self.death_detail = codes.DISEASE_DEATH_BURDEN  # the mechanism of a disease death (recording only)
        # streams (the cohort's were used by the caller)
        self.s_lesion = Stream(seed, pid, LESION)
        self.s_seeding = Stream(seed, pid, SEEDING)
        self.s_death = Stream(seed, pid, DEATH)
        self.s_response = Stream(seed, pid, RESPONSE)
        self.s_tox = Stream(seed, pid, TOXICITY)
        self.s_organs = Stream(seed, pid, ORGANS)
        self.s_rt = Stream(seed, pid, RT)
        self.s_scan = Stream(seed, pid, SCAN)
        self.s_primary = Stream(seed, pid, PRIMARY)
        self.s_procedure = Stream(seed, pid, PROCEDURE)
        self.init_diffuse(seed, pid)  # diffuse serosal disease (model 4.9): none yet, its stream
        self.s_patient = Stream(seed, pid, PATIENT)
        self.ecog_now = pat.ecog  # the current ECOG: the entry value until it declines (model 3.9)
        self.fistula = False  # the primary in place has perforated: no further treatment (model 4.8)
        self.scan_nominal = 0.0  # nominal date of the booked scheduled visit (grid, no window)
        # continuous hazards: accumulated value and unit-exponential threshold
        self.h_seed, self.e_seed = 0.0, self.s_seeding.exponential()
        self.h_death, self.e_death = 0.0, self.s_death.exponential()
        self.t_state = 0.0
        self.crossing_token = 0
        self.overflow = 0  # 1: lesions beyond the cap exist, 2: and a scan has counted them
        self.overflow_at = INF  # when the uncounted disease reaches a visible size
        self.agg_offset = 0.0  # ln of the aggregate's volume over its leading deposit's (model 4.2)
        self.lres_t0, self.lres_tpat = 0.0, INF  # per-lesion resistance off (oligosim.reference.lesres)
        self.s_lres = Stream(seed, pid, LESION_RESISTANCE)
        self.n_entry = len(lesions)  # lesion slots at entry (the aggregate beyond the cap not counted)
        if P.dz[0]["uncounted_grows"]:
            uncounted.enter(self)  # occult deposits drawn beyond the cap (model 4.2)
            if self.overflow > 0:
                self.e_seed = INF  # the aggregate stands for all further disease
        self._make_appointments()
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
        self.win_end = INF  # end of the toxicity counting window (model 9): open while the protocol goes on
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
        # recorded beside the course (oligosim.reference.record, model 7.6)
        self.ttnt = None  # months: the first next treatment or death
        self.organs_entry = record.organs_mask(lesions)
        self.recist_targets, self.recist_base = record.select_targets(lesions)
        self.recist_first = None  # (targets' sum in cm, new lesion, nothing visible) at the first scan

    def _make_appointments(self) -> None:
        """One appointment per kind of scheduled event, each with its handler."""
        self.rt_end = Appointment(self, P_RT_END, self.on_rt_end)
        self.rt_start = Appointment(self, P_RT_START, self.on_rt_start)
        self.tox = [Appointment(self, P_TOX, self._tox_handler(k)) for k in range(codes.N_SYSTEMIC_TYPES + 1)]
        self.scan = Appointment(self, P_SCAN, lambda: self.on_scan(symptom=False))
        self.symptom_scan = Appointment(self, P_SYMPTOM_SCAN, lambda: self.on_scan(symptom=True))
        self.consolidation = Appointment(self, P_CONSOLIDATION, self.on_consolidation)
        self.induction_end = Appointment(self, P_INDUCTION_END, self.on_induction_end)
        self.maintenance_end = Appointment(self, P_MAINTENANCE_END, self.on_maintenance_end)
        self.resistance = Appointment(self, P_RESISTANCE, self.on_resistance)
        self.background_death = Appointment(self, P_BACKGROUND_DEATH, lambda: self.finish(codes.DEATH_OTHER))
        self.horizon = Appointment(self, P_HORIZON, lambda: self.finish(codes.ALIVE))
        # post-progression disease death: constant hazards from the first progression and from
        # the first widespread progression on (model 4.3)
        self.progression_death = Appointment(self, P_PROGRESSION_DEATH, lambda: self.finish_disease(codes.DISEASE_DEATH_AFTER_PROGRESSION))
        self.widespread_death = Appointment(self, P_WIDESPREAD_DEATH, lambda: self.finish_disease(codes.DISEASE_DEATH_AFTER_WIDESPREAD))
        # the primary in place: a tumour fistula, then death after it (model 4.8)
        self.primary_event = Appointment(self, P_PRIMARY_EVENT, self.on_primary_event)
        # chemotherapy held after surgery or ablation resumes (model 6.10)
        self.proc_resume = Appointment(self, P_PROC_RESUME, self.on_proc_resume)

    # ------------------------------------------------------------------ bookkeeping
    def record(self, code: int, detail: int = 0, t: float | None = None) -> None:
        """Append (time in months, ``codes.EV_*`` code, detail) to the event log (now by default)."""
        t = self.env.now if t is None else t
        self.log.append((t, code, detail))
        if self.ttnt is None and record.starts_next_treatment(code, detail, self.line, self.progressed):
            self.ttnt = t

    def active(self):
        """The active lesions."""
        return [les for les in self.lesions if les is not None and les.status == ACTIVE]

    def run(self) -> None:
        """Simulate from entry to death or the horizon."""
        self.env.process(self.entry())
        self.env.run(until=self.finished)

    def finish_disease(self, detail: int) -> None:
        """Death from the cancer now, by mechanism ``detail`` (``codes.DISEASE_DEATH_*``, model
        4.3), which the closing event records."""
        self.death_detail = detail
        self.finish(codes.DEATH_DISEASE)

    def finish(self, cause: int) -> None:
        """The simulation ends now with ``cause`` (``codes.ALIVE`` or a ``codes.DEATH_*``)."""
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
            self.update_window()
        if not self.over:
            self.plan_continuous()

    # ------------------------------------------------------------------ entry and initial plan
    def entry(self):
        """SimPy process: the patient enters; the team makes the initial plan (model 8.2)."""
        P, A, pat = self.P, self.A, self.pat
        self.record(codes.EV_ENTRY, self.n_entry)
        self.diffuse_at_entry()  # occult diffuse disease at entry (model 4.9; off by default)
        self.nadir = sum(diameter_of_logv(les.logv) for les in self.lesions if les.seen)
        # the slow/rapid rule's growth since the previous scan (model 8.4): entry is the first
        self.scan_t_prev, self.scan_vol_prev, self.doubling_at_scan = 0.0, self.visible_volume(), INF
        self.set_nadir_diameters()
        self.background_death.book(pat.bg_death)
        self.horizon.book(P.horizon)
        self.book_visit(P.first_scan)
        if pat.presentation == codes.SYNCHRONOUS:
            # a tumour fistula while the primary stays active: a constant hazard that ends for
            # good when the primary is controlled or eradicated, so one threshold decides
            self.primary_event.book(_waiting(self.s_primary.exponential(), P.lr[0]["fistula_rate"]))
        # European consensus: metachronous disease after a long disease-free interval -> local first
        if A.local_first and pat.presentation == codes.METACHRONOUS and pat.dfi > A.dfi_threshold:
            self.timing = codes.RT_UPFRONT
        first = A.first_line
        concurrent_plan = self.timing == codes.RT_CONCURRENT or A.concurrent
        start_now = first >= 0
        n_rt = 0
        if self.timing in (codes.RT_UPFRONT, codes.RT_CONCURRENT) and self.fit_for_local():
            n_rt = self.plan_course(0)
            self.given_alone(n_rt)
            if self.give_procedures():  # surgery or ablation of the sites the arm treats so (model 6.10)
                self.finish(codes.DEATH_TREATMENT)
                yield self.finished
                return
        if n_rt > 0:
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
        if start_now and self.fit_for_line(1):
            self.start_line(1, first)
        self.update_window()
        self.plan_continuous()
        yield self.finished

    def on_primary_event(self) -> None:
        """The tumour-fistula clock fires: a fistula if the primary is still active, which stops
        every treatment and starts the clock of death after it; the second time, that death."""
        if self.fistula:
            self.finish_disease(codes.DISEASE_DEATH_FISTULA)
            return
        if not any(les is not None and les.organ == codes.PRIMARY and les.status == ACTIVE and les.seen for les in self.lesions):
            return
        self.fistula = True
        self.record(codes.EV_TUMOUR_FISTULA, 0)
        if self.line_on:
            self.stop_line()
        self.rt_start.cancel()  # a planned course is not given (an ongoing one ends as planned)
        self.line_with_rt = self.line_after_rt = False
        self.primary_event.book(self.env.now + _waiting(self.s_primary.exponential(), self.P.lr[0]["after_fistula_rate"]))

    # ------------------------------------------------------------------ results
    def close(self) -> None:
        """Final records at death or the horizon."""
        code = _CLOSING_CODE.get(self.cause, codes.EV_CENSORED)
        self.record(code, self.death_detail if code in (codes.EV_DEATH_DISEASE, codes.EV_DEATH_TREATMENT) else 0)
