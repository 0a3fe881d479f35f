"""Surgery and thermal ablation chosen as a site's local therapy, in the reference engine
(model 6.10).

:meth:`ProcedureMixin.mark_procedures` takes the planned metastases of sites the arm treats by
surgery or ablation (``A.local_modality``) out of the RT course; :meth:`ProcedureMixin.give_procedures`
treats them at once. Each treated lesion takes three draws from the procedure stream (control,
complication, death). A treated lesion opens a local-control record as an RT target does (BED
NaN: no dose); an uncontrolled residual that regrows to its size at the procedure is an in-field
failure. A session of procedures holds the running line's chemotherapy for the longest
``systemic_pause_days`` of the modalities given (:meth:`ProcedureMixin.hold_systemic`), as a
sequential RT course pauses it (model 5.4). Written from the model's text, independently of the
kernel's :mod:`oligosim._kernels.procedure`.
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.reference.appointments import INF
from oligosim.reference.cohort import ACTIVE, CONTROLLED, ERADICATED, diameter_of_logv
from oligosim.results import LC_RECORDS

__all__ = ["ProcedureMixin"]

MONTHS_PER_DAY = 12.0 / 365.25


class ProcedureMixin:
    """Surgery and ablation handlers of :class:`oligosim.reference.patient.Patient`; uses the
    lesions' ``in_course``, ``to_procedure`` and ``procedures``, the stream ``s_procedure`` and
    the local-control records ``lc``; the hold of chemotherapy after a procedure uses the line
    state of :class:`oligosim.reference.systemic.SystemicMixin` and the appointment
    ``proc_resume``."""

    def site_modality(self, les) -> int:
        """codes.LOCAL_* the arm chooses for the site of ``les``: above the site's size limit
        (diameter now, cm; none: infinite) the rule's other modality (model 6.10)."""
        o, s = les.organ, les.subsite
        limit = float(self.A.local_modality_max_cm[o, s])
        if diameter_of_logv(les.logv) > limit:
            return int(self.A.local_modality_above[o, s])
        return int(self.A.local_modality[o, s])

    def local_modality(self, les) -> int:
        """codes.LOCAL_* the arm gives ``les`` now: its site's (by size), or RT after a
        procedure the modality does not repeat."""
        m = self.site_modality(les)
        if m != codes.LOCAL_RT and les.procedures > 0 and not self.P.procedure[m, codes.PROC_REPEAT]:
            return codes.LOCAL_RT
        return m

    def mark_procedures(self) -> int:
        """Planned known metastases of surgery or ablation sites leave the RT course; returns
        how many."""
        count = 0
        for les in self.lesions:
            if les is None:
                continue
            les.to_procedure = les.in_course and les.seen and self.local_modality(les) != codes.LOCAL_RT
            if les.to_procedure:
                les.in_course = False
                count += 1
        return count

    def given_alone(self, n_rt: int) -> None:
        """A plan given by surgery or ablation alone (no RT target) is a local course now, as an
        RT course is at its end; call before :meth:`give_procedures`."""
        if n_rt == 0 and any(les is not None and les.to_procedure for les in self.lesions):
            self.local_courses += 1
            self.last_local = self.env.now

    def give_procedures(self) -> bool:
        """Operate on or ablate every marked lesion now; True if a procedure killed the patient
        (the death detail is then TREATMENT_DEATH_PROCEDURE; the caller ends the course)."""
        dead = False
        days = 0.0  # the longest hold of chemotherapy of the modalities given (model 6.10)
        for i, les in enumerate(self.lesions):
            if les is None or not les.to_procedure:
                continue
            les.to_procedure = False
            if les.status == ACTIVE:
                days = max(days, float(self.P.procedure[self.site_modality(les), codes.PROC_PAUSE_DAYS]))
                dead = self._procedure(i, les) or dead
        if dead:
            self.death_detail = codes.TREATMENT_DEATH_PROCEDURE
        elif days > 0.0:
            self.hold_systemic(self.env.now + days * MONTHS_PER_DAY)
        return dead

    def hold_systemic(self, end: float) -> None:
        """Chemotherapy waits until ``end`` (months) for recovery from a procedure (model 6.10).

        The hold extends any hold already running; a running chemotherapy-containing line is
        paused as by a sequential RT course (model 5.4: its anti-PD-1 component goes on, its
        induction end and consolidation check move by the extension); a line that starts during
        the hold waits for its end (:meth:`hold_new_line`)."""
        now, R = self.env.now, self.R
        old = self.proc_resume.at
        if old < INF and old >= end:
            return
        start = old if old < INF else now
        self.proc_resume.book(end)
        if self.line_on and self.reg >= 0 and R.chemo[self.reg]:
            self.induction_end.postpone(end - start)
            self.consolidation.postpone(end - start)
            if not self.paused:
                self.paused = True
                self.kill = 0.0 if self.resisted else self._anti_pd1_kill(self.reg)

    def hold_new_line(self, reg: int) -> None:
        """A chemotherapy-containing line started during a hold: paused from its first day, its
        induction end and consolidation check moved by the rest of the hold."""
        rest = self.proc_resume.at - self.env.now
        self.induction_end.postpone(rest)
        self.consolidation.postpone(rest)
        self.paused = True
        self.kill = self._anti_pd1_kill(reg)

    def on_proc_resume(self) -> None:
        """The hold is over: chemotherapy resumes unless a sequential RT course still pauses it
        (its end resumes it then)."""
        if self.paused and not (self.rt_end.pending and not self.course_concurrent):
            self.paused = False
            self.kill = 0.0 if (self.resisted or not self.line_on) else self.kill_line

    def _procedure(self, i: int, les) -> bool:
        """One surgery or ablation of lesion ``i``; True if it killed the patient."""
        P, now = self.P, self.env.now
        m = self.site_modality(les)  # before the procedure changes the lesion's size
        row = P.procedure[m]
        u_control, u_complication, u_death = (self.s_procedure.uniform() for _ in range(3))
        self.record(codes.EV_SURGERY if m == codes.LOCAL_SURGERY else codes.EV_ABLATION, i)
        if not les.treated_here:
            # its first local therapy here opens its local-control record (no dose: BED NaN)
            les.treated_here = True
            if len(self.lc) < LC_RECORDS:
                les.lc_record = len(self.lc)
                self.lc.append([now, False, math.inf, math.nan, math.exp(les.logv)])
        les.rt_pre_logv = les.logv
        small = diameter_of_logv(les.logv) <= row[codes.PROC_SIZE_CM]
        if u_control < row[codes.PROC_CONTROL_SMALL if small else codes.PROC_CONTROL_LARGE]:
            les.status = CONTROLLED
        else:  # a residual is left, which regrows in field
            les.logv -= row[codes.PROC_RESIDUAL_LOG10] * math.log(10.0)
            if les.logv < P.eradication_logv:
                les.status = ERADICATED
        les.procedures += 1
        if u_complication < row[codes.PROC_COMPLICATION]:
            self.record(codes.EV_PROCEDURE_COMPLICATION, m)
        return u_death < row[codes.PROC_MORTALITY]
