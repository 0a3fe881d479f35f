"""Response assessment in the reference engine: scans, progression, and the policy after it.

A scan sums the diameters of the visible lesions and counts new ones (RECIST 1.1 as
implemented, model 7.2); a progression is classified oligometastatic or widespread by the
patient's own histology (model 7.3), starts the post-progression death hazards (model 4.3),
and triggers local therapy for oligoprogression or the next systemic line (statement 12,
model 8.4).
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.definitions import estro_eortc_class, is_oligometastatic
from oligosim.reference import record, uncounted
from oligosim.reference.cohort import diameter_of_logv, logv_of_diameter, visible_distant

__all__ = ["AssessmentMixin", "scan_interval", "visit_offset"]

_NODAL = (codes.REGIONAL_NODE, codes.DISTANT_NODE)
INF = math.inf


def scan_interval(P, t: float) -> float:
    """Follow-up interval (months) at time ``t`` (months; statement 13: 3-monthly for 2 years,
    then sparser)."""
    if t < 24.0:
        return P.fu_interval[0]
    if t < 60.0:
        return P.fu_interval[1]
    return P.fu_interval[2]


def visit_offset(P, u: float) -> float:
    """Offset (months) of a scheduled visit from its nominal date: uniform on
    [-scan_window, +scan_window] given the uniform ``u`` in (0, 1) (model 7.1)."""
    return P.scan_window * (2.0 * u - 1.0)


def _waiting(e: float, rate: float) -> float:
    """Months until a constant hazard ``rate`` (1/month) reaches the unit-exponential draw ``e``
    (inf at rate 0)."""
    return e / rate if rate > 0.0 else INF


class AssessmentMixin:
    """Assessment handlers of :class:`oligosim.reference.patient.Patient`.

    Uses the assessment state (``nadir`` in cm, ``has_baseline``, ``progressed``,
    ``widespread``, ``palliative``, ``overflow``, ``scan_nominal``), the stream ``s_scan``, the
    appointments ``scan``, ``symptom_scan``,
    ``progression_death``, ``widespread_death`` and the first-progression outputs.
    """

    def book_visit(self, nominal: float) -> None:
        """Book the scheduled visit whose nominal date is ``nominal`` (months after entry).

        The nominal dates are the statement-13 grid and never drift (the next one follows from
        this one, not from when the visit happened); the visit falls at ``nominal`` plus an offset
        drawn from the SCAN stream, one draw per scheduled visit in order (model 7.1), and never
        before now (entry or the previous visit), whatever the parameters.
        """
        self.scan_nominal = nominal
        self.scan.book(max(nominal + visit_offset(self.P, self.s_scan.uniform()), self.env.now))

    def set_nadir_diameters(self) -> None:
        """Remember every lesion's diameter (cm; 0 if not visible) at the new nadir."""
        for les in self.lesions:
            if les is not None:
                les.nadir_d = diameter_of_logv(les.logv) if les.visible else 0.0

    def oligo_now(self) -> bool:
        """Is the visible disease oligometastatic by the patient's own histology (model 7.3)?"""
        if self.overflow == 2:  # uncounted disease beyond the cap, counted at a scan
            return False
        metachronous = self.pat.presentation != codes.SYNCHRONOUS
        organ, subsite, m = visible_distant(self.lesions)
        if m == 0 and not self.dif_seen:
            return True
        # diffuse serosal disease once seen (model 4.9): the definitions' diffuse_serosal flag
        return bool(is_oligometastatic(self.pat.histology, organ, subsite, m, metachronous, self.dif_seen, False, True))

    def on_scan(self, symptom: bool) -> None:
        """Response assessment, RECIST 1.1 as implemented (model 7.2), then the policy (8.4).

        Parameters
        ----------
        symptom : bool
            An unscheduled scan prompted by a symptom (the follow-up schedule is not moved).
        """
        P, now = self.P, self.env.now
        if self.recist_first is None:  # RECIST at the first assessment, read-only (model 7.6)
            self.recist_first = record.first_assessment(self.lesions, self.recist_targets, uncounted.countable(self, now) or self.diffuse_visible_unseen())
        if not symptom:
            self.book_visit(self.scan_nominal + scan_interval(P, self.scan_nominal))
        self.record(codes.EV_SCAN, codes.SCAN_SYMPTOM if symptom else codes.SCAN_SCHEDULED)
        total = 0.0
        n_new = 0
        for les in self.lesions:
            if les is None:
                continue
            les.new_seen = False
            if les.visible:
                total += diameter_of_logv(les.logv)
                if not les.seen:
                    n_new += 1
                    les.seen = True
                    les.new_seen = True
        self.record_growth()
        if uncounted.countable(self, now):
            n_new += 1  # the uncounted lesions beyond the cap, now of visible size: new disease, counted once
            self.overflow = 2
        n_new += self.diffuse_at_scan()  # diffuse disease shown for the first time: new disease (model 4.9)
        grew = self.has_baseline and total >= self.nadir * (1.0 + P.recist_growth) and total - self.nadir >= P.recist_min_cm
        progression = n_new > 0 or grew
        if not self.has_baseline or (not progression and total < self.nadir):
            self.nadir = total
            self.has_baseline = True
            self.set_nadir_diameters()
        if progression:
            self.on_progression(n_new)

    def on_progression(self, n_new: int) -> None:
        """A progression with ``n_new`` new lesions: classify it and apply the policy (8.4)."""
        P, A, now = self.P, self.A, self.env.now
        oligo = self.oligo_now()
        self.record(codes.EV_PROGRESSION, 1 if oligo else 0)
        if not self.progressed:
            self.progressed = True
            self.pfs = now
            self.progression_death.book(now + _waiting(self.s_death.exponential(), P.death_after_progression))
            self.first_failure = self.first_failure_pattern(oligo, n_new)
            context = codes.PROGRESSING_ON_SYSTEMIC if self.line_on else codes.OFF_SYSTEMIC
            self.estro_first = int(estro_eortc_class(
                oligo, self.pat.presentation == codes.INDUCED or self.widespread, True, self.pat.dfi + now, context, 6.0
            ))
        self.decline_at_progression()  # before the decisions, which read the current ECOG (model 3.9)
        if not oligo and not self.widespread:
            self.widespread = True
            self.wpfs = now
            self.record(codes.EV_WIDESPREAD, 0)
            self.widespread_death.book(now + _waiting(self.s_death.exponential(), P.death_after_widespread))
        # statement 12: local therapy for oligoprogression, systemic therapy otherwise
        do_local = False
        if oligo and not self.fistula:  # no further therapy after a tumour fistula (model 4.8)
            if self.timing == codes.RT_AT_PROGRESSION and self.local_courses == 0:
                do_local = True
            elif self.extra_courses < A.max_courses:
                if A.progression_local == codes.PROG_OLIGO:
                    do_local = True
                elif A.progression_local == codes.PROG_OLIGO_SLOW and (
                    self.doubling_at_scan >= A.slow_doubling if A.slow_by_growth else now - self.last_local >= A.slow_months
                ):
                    do_local = True
        if do_local and self.fit_for_local():
            self._local_at_progression()
        else:
            if self.line_on:
                self.stop_line()
            # line 0: no first line was given, so the "second line" is the first systemic therapy
            # unfit for the line (model 3.9): not given, the patient stays at the line reached
            if A.next_line and not self.fistula and (self.line == 1 or (self.line == 0 and A.first_line < 0)) and A.second_line >= 0:
                if self.fit_for_line(2):
                    self.start_line(2, A.second_line)
            elif A.next_line and not self.fistula and self.line == 2 and A.third_line >= 0:
                if self.fit_for_line(3):
                    self.start_line(3, A.third_line)  # the third line, when the second fails (model 5.1)
            # statement 12's "systemic therapy with or without local therapy" (model 8.4)
            if (not do_local and A.local_with_next_line and oligo and not self.fistula
                    and (self.local_courses == 0 or self.extra_courses < A.max_courses) and self.fit_for_local()):
                self._local_at_progression()
        self.has_baseline = False  # the next scan sets a new baseline
        if self.widespread and not self.line_on and self.no_line_left():
            # palliative: no scan could change any result any more (model 7.5)
            self.palliative = True
            self.scan.cancel()
            self.symptom_scan.cancel()

    def _local_at_progression(self) -> None:
        """Local therapy at this progression: surgery or ablation where chosen, an RT course
        after the RT delay, or the alternative (model 8.4 step 3)."""
        P, now = self.P, self.env.now
        if self.local_courses > 0:
            self.extra_courses += 1
        n_rt, n_alt, dead = self.plan_progression_course()
        if dead:
            self.finish(codes.DEATH_TREATMENT)  # a procedure's death (model 6.10)
        elif n_rt > 0 and not self.rt_start.pending and not self.rt_end.pending:
            self.course_mode = 2
            self.rt_start.book(now + P.rt_delay)
        elif n_alt > 0:
            # surgery or ablation only: a local course, but no RT. Nothing given (no lesion
            # to treat, re-irradiation refused without an alternative, or a course already
            # pending) is no local course (counted as one here before 2026-12-05).
            self.local_courses += 1
            self.last_local = now

    def no_line_left(self) -> bool:
        """Can no further systemic line start after the current one (model 7.5)?"""
        A = self.A
        if not A.next_line or self.line >= 3:
            return True
        if self.line == 2:
            return A.third_line < 0
        return A.second_line < 0

    def first_failure_pattern(self, oligo: bool, n_new: int) -> int:
        """Pattern of first failure, hierarchical (model 7.4): widespread; else, by the lesions
        seen for the first time, in field < marginal/regional < out of field (new); else, by the
        lesion that grew most, in field, marginal/regional (locoregional) or out-of-field
        regrowth."""
        if not oligo:
            return codes.FAIL_WIDESPREAD
        if n_new > 0:
            sites = [self._failure_site(les) for les in self.lesions if les is not None and les.new_seen]
            return min(sites, default=codes.FAIL_OUT_OF_FIELD_NEW)
        grown = [(diameter_of_logv(les.logv) - les.nadir_d, i) for i, les in enumerate(self.lesions) if les is not None and les.visible]
        if not grown:
            return codes.FAIL_OUT_OF_FIELD_REGROWTH
        best = max(g for g, _ in grown)
        les = self.lesions[next(i for g, i in grown if g == best)]
        if les.irradiated > 0:
            return codes.FAIL_IN_FIELD
        if les.is_locoregional:
            return codes.FAIL_MARGINAL_REGIONAL
        return codes.FAIL_OUT_OF_FIELD_REGROWTH

    def _failure_site(self, les) -> int:
        """In field (it had RT), marginal/regional (locoregional, or a node in or next to an
        irradiated nodal station) or out of field, for one newly seen lesion."""
        if les.irradiated > 0:
            return codes.FAIL_IN_FIELD
        if les.is_locoregional:
            return codes.FAIL_MARGINAL_REGIONAL
        if les.organ in _NODAL:
            for other in self.lesions:
                if other is not None and other is not les and other.irradiated > 0 and other.organ in _NODAL and abs(other.subsite - les.subsite) <= 1:
                    return codes.FAIL_MARGINAL_REGIONAL
        return codes.FAIL_OUT_OF_FIELD_NEW

    def visible_volume(self) -> float:
        """Total volume (cm3) of the visible, active lesions."""
        return sum(math.exp(les.logv) for les in self.lesions if les is not None and les.visible)

    def record_growth(self) -> None:
        """At a scan: the doubling time (months) of the visible volume since the previous scan
        (statement 12's slow or rapid, model 8.4); disease not visible then counts from just
        below the median detection size."""
        P, now = self.P, self.env.now
        vol = self.visible_volume()
        before = max(self.scan_vol_prev, math.exp(logv_of_diameter(P.det_d50[P.modality])))
        dt = now - self.scan_t_prev
        self.doubling_at_scan = math.log(2.0) * dt / math.log(vol / before) if (vol > before and dt > 0.0) else INF
        self.scan_vol_prev, self.scan_t_prev = vol, now
