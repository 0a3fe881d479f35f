"""Radiotherapy in the reference engine: planning, delivery, toxicity, courses at progression.

A course treats the lesions :meth:`RadiotherapyMixin.plan_course` marks (model 8.1); at its
last fraction each target is sterilised with its tumour control probability or shrinks and may
regrow in field (model 6.3-6.4), and the course's esophagus and lung doses give RT toxicities
(LKB NTCP, model 6.5). Re-irradiation is allowed up to a cumulative late EQD2 with partial
recovery (model 6.6); otherwise surgery or ablation if the arm allows (model 6.7).

The radiobiology formulas are :mod:`oligosim.radiobiology.core`'s, the one copy the kernel
uses too; what the reference writes independently is the event logic around them.
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.radiobiology import core as rb
from oligosim.reference.cohort import ACTIVE, CONTROLLED, ERADICATED, diameter_of_logv
from oligosim.reference.oar import capped_share, field_scale, oar_share, patient_odds
from oligosim.results import LC_RECORDS

__all__ = [
    "RadiotherapyMixin", "tcp", "ntcp_lkb", "cumulative_eqd2", "schedule_of", "bed", "eqd2", "eqd2_late",
]

INF = math.inf
_NODAL = (codes.REGIONAL_NODE, codes.DISTANT_NODE)
MONTHS_PER_DAY = 12.0 / 365.25


# ============================================================================ formulas


def tcp(bed10: float, volume: float, P) -> float:
    """Tumour control probability of BED10 (Gy) at ``volume`` (cm3) with the model's
    parameters (model 6.3; the formula is radiobiology.core's, shared with the kernel)."""
    return rb.tcp(bed10, volume, P.tcp_bed50, P.tcp_gamma50, P.tcp_volume_ref, P.tcp_volume_exponent)


def ntcp_lkb(eud: float, td50: float, m: float) -> float:
    """Lyman-Kutcher-Burman NTCP (model 6.5); doses in Gy."""
    return rb.ntcp_lkb(eud, td50, m)


def cumulative_eqd2(prior: float, months: float, new: float, P) -> float:
    """Cumulative late EQD2 (Gy) of a re-irradiated site, the earlier dose partly recovered
    (model 6.6)."""
    return rb.cumulative_eqd2(prior, months, new, P.recovery_max, P.recovery_half_time)


def in_primary_field(les) -> bool:
    """The primary, the regional nodes and distant nodes planned with the primary (statement
    5) are one field: the primary's schedule, outside the cap on irradiated metastases."""
    return les.organ in (codes.PRIMARY, codes.REGIONAL_NODE) or les.with_primary


def schedule_of(A, les) -> tuple[float, int, int, float, float]:
    """(dose per fraction in Gy, fractions, fractions a day, theta tumour, theta late) the arm
    gives target ``les``: its site's re-irradiation schedule if it was irradiated before and the
    arm names one (model 6.6), else the primary's in its field, its site's (model 6.1) or the
    arm's one metastasis schedule. theta: the damage unrepaired between same-day fractions."""
    if les.irradiated > 0:
        o, s = (codes.PRIMARY, 0) if in_primary_field(les) else (les.organ, les.subsite)
        k = int(A.reirr_fractions[o, s])
        if k > 0:
            return float(A.reirr_dose[o, s]) / k, k, int(A.reirr_per_day[o, s]), float(A.reirr_theta[o, s, 0]), float(A.reirr_theta[o, s, 1])
    per_day, thetas = A.fractions_per_day, (A.theta_early, A.theta_late)
    if in_primary_field(les):
        return (A.primary_dose / A.primary_fractions, A.primary_fractions, per_day) + thetas
    if A.by_site:
        k = int(A.site_fractions[les.organ, les.subsite])
        return (float(A.site_dose[les.organ, les.subsite]) / k, k, per_day) + thetas
    return (A.metastasis_dose / A.metastasis_fractions, A.metastasis_fractions, per_day) + thetas


def bed(d: float, k: int, ab: float, per_day: int, theta: float) -> float:
    """BED (Gy) with Thames 1985's incomplete repair between same-day fractions (model 6.2);
    theta is 0 with one fraction a day, where this is the plain LQ BED."""
    return rb.bed_extended(d, k, ab, per_day, theta, 0.0, 0.0, 0.0)


def eqd2(d: float, k: int, ab: float, per_day: int, theta: float) -> float:
    """EQD2 (Gy) of the schedule, as :func:`bed`."""
    return rb.eqd2_extended(d, k, ab, per_day, theta, 0.0, 0.0, 0.0)


def eqd2_late(P, A, les) -> float:
    """EQD2 (Gy) for late effects (alpha/beta of normal tissue) of the arm's schedule for ``les``."""
    d, k, per_day, _, theta_late = schedule_of(A, les)
    return eqd2(d, k, P.ab_late, per_day, theta_late)


def covers(target, les) -> bool:
    """Does known ``target`` treat occult node ``les`` (model 6.9)? A node covers the occult
    nodes of its organ in its station; the primary the occult regional nodes at its level."""
    if target.subsite != les.subsite:
        return False
    return target.organ == les.organ or (target.organ == codes.PRIMARY and les.organ == codes.REGIONAL_NODE)


# ============================================================================ handlers


class RadiotherapyMixin:
    """Radiotherapy handlers of :class:`oligosim.reference.patient.Patient`.

    Uses the lesions' course marks (``in_course``), the course state (``course_mode``,
    ``course_concurrent``, ``line_with_rt``, ``line_after_rt``, ``paused``), the course
    counters and the appointments ``rt_start``, ``rt_end``.
    """

    def plan_course(self, mode: int) -> int:
        """Mark the lesions a course treats (model 8.1); returns how many.

        mode 0: every seen lesion the arm irradiates; 1: symptomatic brain/bone lesions only
        (statement 6); 2: every seen active lesion (a progression; only the progressing ones
        with the arm's ``progressing_only``). At most
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
        if mode == 2 and A.progressing_only:
            self._keep_progressing()
        self._mark_nodes_with_primary(mode)
        distant = [les for les in self.lesions if les is not None and les.in_course and not in_primary_field(les)]
        if len(distant) > A.max_irradiated:
            distant.sort(key=lambda les: les.logv)
            for les in distant[: len(distant) - A.max_irradiated]:
                les.in_course = False
        if mode != 1:
            # sites the arm treats by surgery or ablation leave the RT course (model 6.10); the
            # cap above counts every local target, whatever its modality
            self.mark_procedures()
        count = sum(1 for les in self.lesions if les is not None and les.in_course)
        if self.P.lr[0]["field_covers_station"]:
            # an involved-station field treats the occult nodes of the target's organ in its
            # station (model 6.8)
            for les in self.lesions:
                if les is not None and not les.in_course and not les.seen and les.status == ACTIVE and les.organ in _NODAL:
                    target = self._station_target(les)
                    if target is not None:
                        les.in_course = True
                        les.with_primary = target.with_primary
        return count

    def _keep_progressing(self) -> None:
        """Of the lesions planned at a progression, keep the progressing ones (model 8.1): seen
        for the first time at this scan, or grown since the nadir by the RECIST fraction and
        minimum; if none is, every planned lesion that grew since the nadir."""
        P = self.P
        planned = [les for les in self.lesions if les is not None and les.in_course]

        def progressing(les):
            d = diameter_of_logv(les.logv)
            return les.new_seen or (d - les.nadir_d >= P.recist_min_cm and d >= les.nadir_d * (1.0 + P.recist_growth))

        found = any(progressing(les) for les in planned)
        for les in planned:
            les.in_course = progressing(les) if found else diameter_of_logv(les.logv) > les.nadir_d

    def _mark_nodes_with_primary(self, mode: int) -> None:
        """Statement 5: with the arm's ``nodes_with_primary``, a planned distant node at or next
        to the planned primary's level goes in the primary's field; every other lesion loses the
        mark."""
        level = None
        if self.A.nodes_with_primary and mode == 0:
            level = next((les.subsite for les in reversed(self.lesions) if les is not None and les.in_course and les.organ == codes.PRIMARY), None)
        for les in self.lesions:
            if les is not None:
                les.with_primary = level is not None and les.in_course and les.organ == codes.DISTANT_NODE and abs(les.subsite - level) <= 1

    def _station_target(self, les):
        """The first known lesion in the course that treats occult node ``les``, or None."""
        return next((o for o in self.lesions if o is not None and o.in_course and o.seen and covers(o, les)), None)

    def _station_targeted(self, les) -> bool:
        """Does a known lesion in the course treat occult node ``les``?"""
        return self._station_target(les) is not None

    def course_months(self) -> float:
        """Overall time (months) of the planned course: the longest schedule, 5 treatment days a week."""
        A = self.A
        # each schedule's treatment days (fractions_per_day a day); the longest decides
        days = max((-(-s[1] // s[2]) for s in (schedule_of(A, les) for les in self.lesions if les is not None and les.in_course)), default=0)
        calendar = (days - 1) // 5 * 7 + (days - 1) % 5 + 1
        return calendar * MONTHS_PER_DAY

    def on_rt_start(self) -> None:
        """First fraction of a course; sequential strategies pause chemotherapy (model 5.4)."""
        A, R = self.A, self.R
        now = self.env.now
        self.record(codes.EV_RT_START, self.course_mode)
        if self.course_mode == codes.PLAN_PROGRESSION and not (self.line == 1 and self.line_on):
            self.close_window_now()  # a new therapy, not the protocol's (model 9)
        for les in self.lesions:
            if les is not None:
                les.exposed_at_start = les.chemo_exposed
        self.course_concurrent = self.line_on and self.reg >= 0 and bool(R.chemo[self.reg])
        start_line_now = False
        if self.line_with_rt:
            self.line_with_rt = False
            start_line_now = self.fit_for_line(1)  # unfit (model 3.9): the course is RT alone
            self.course_concurrent = start_line_now and bool(R.chemo[A.first_line])
        duration = self.course_months()
        if self.course_concurrent and not (A.concurrent or self.timing == codes.RT_CONCURRENT):
            # sequential strategy: chemotherapy waits for the course (anti-PD-1 alone goes on,
            # at the regimen's maintenance rate, unless the line has resisted)
            self.course_concurrent = False
            self.paused = True
            self.kill = 0.0 if self.resisted else self._anti_pd1_kill(self.reg)
            self.induction_end.postpone(duration)
            self.consolidation.postpone(duration)
        self.rt_end.book(now + duration)
        if start_line_now:  # concurrent chemoradiotherapy: the line starts with the first fraction
            self.start_line(1, A.first_line)

    def on_rt_end(self) -> None:
        """Last fraction: the course's effect on each target and its toxicity (model 6)."""
        self.record(codes.EV_RT_END, self.course_mode)
        dead = self.deliver_course()
        self.rt_courses += 1
        self.local_courses += 1
        self.last_local = self.env.now
        if self.paused and not self.proc_resume.pending:  # else a procedure still holds chemotherapy (6.10)
            self.paused = False
            self.kill = 0.0 if (self.resisted or not self.line_on) else self.kill_line
        if dead:
            self.finish(codes.DEATH_TREATMENT)
            return
        if self.line_after_rt:
            self.line_after_rt = False
            if self.fit_for_line(1):
                self.start_line(1, self.A.first_line)

    def deliver_course(self) -> bool:
        """Apply the course to its targets; returns True if it killed the patient."""
        P, A, R, now = self.P, self.A, self.R, self.env.now
        eso = lung = 0.0  # the course's EQD2 (Gy, alpha/beta 3) to the esophagus (max) and the lung (sum)
        marrow = 0.0  # its EQD2 (alpha/beta 10) to the whole active marrow (sum)
        heart = cord = bowel = 0.0  # heart (mean), spinal cord and bowel (most exposed): the largest target's
        reirradiation = False
        for les in self.lesions:
            if les is None or not les.in_course:
                continue
            les.in_course = False
            if les.status != ACTIVE:
                continue
            d, k, per_day, theta_early, theta_late = schedule_of(A, les)
            bed10 = bed(d, k, P.ab_tumour, per_day, theta_early)
            if P.chemo_before_rt and les.exposed_at_start:
                # chemotherapy before RT leaves resistant survivors (model 5.6)
                bed10 = max(bed10 - P.chemo_before_rt_loss, 0.0)
            late = eqd2_late(P, A, les)
            volume = math.exp(les.logv)
            again = les.irradiated > 0
            # the lesion's own radiosensitivity quantile decides its first course here
            u = self.s_rt.uniform() if les.treated_here else les.u_tcp
            if not les.treated_here:
                les.treated_here = True
                # occult disease treated in a target's station keeps no record of its own
                if les.seen and len(self.lc) < LC_RECORDS:
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
                les.site_eqd2 = cumulative_eqd2(les.site_eqd2, now - les.site_time, late, P)
            else:
                les.site_eqd2 = late
            les.site_time = now
            les.irradiated += 1
            if not les.seen:
                continue  # inside a known target's field: no dose of its own to organs at risk
            f_eso = P.eso_fraction[les.organ, les.subsite]
            if again:
                reirradiation = reirradiation or f_eso > 0.0
            # each organ at risk gets its share of the dose in every fraction (model 6.5); the
            # mean-dose organs more from a larger metastatic target
            eso = max(eso, eqd2(f_eso * d, k, P.ab_late, per_day, theta_late))
            scale = field_scale(P, les.organ, les.rt_pre_logv)
            tx = P.tx[0]
            lung += eqd2(capped_share(scale, P.lung_fraction[les.organ], P.lung_fraction[codes.PRIMARY]) * d, k, P.ab_late, per_day, theta_late)
            marrow_share = capped_share(scale, float(tx["marrow_fraction"][les.organ]), float(tx["marrow_fraction"][codes.PRIMARY]))
            marrow += eqd2(marrow_share * d, k, P.ab_tumour, per_day, theta_early)
            heart_share = capped_share(scale, oar_share(tx["heart_fraction"], les.organ, les.subsite), oar_share(tx["heart_fraction"], codes.PRIMARY, 0))
            heart = max(heart, eqd2(heart_share * d, k, P.ab_late, per_day, theta_late))
            cord = max(cord, eqd2(oar_share(tx["cord_fraction"], les.organ, les.subsite) * d, k, float(tx["ab_cord"]), per_day, theta_late))
            bowel = max(bowel, eqd2(oar_share(tx["bowel_fraction"], les.organ, les.subsite) * d, k, P.ab_late, per_day, theta_late))
        io = self.line_on and self.reg >= 0 and bool(R.io[self.reg])
        dead = self._course_toxicity(eso, lung, marrow, reirradiation, io, (heart, cord, bowel))
        # the abscopal draw comes after the toxicity draws (stream order)
        if io and P.abscopal_p > 0.0 and self.s_rt.uniform() < P.abscopal_p:
            for les in self.active():
                if les.irradiated == 0:
                    les.logv -= P.abscopal_kill
        return dead

    def _course_toxicity(self, eso: float, lung: float, marrow: float, reirradiation: bool, io: bool, organs: tuple) -> bool:
        """RT toxicity: esophagitis and fistula from the esophagus dose ``eso``, pneumonitis from
        the lung dose ``lung`` (late EQD2, Gy), leukopenia from the marrow dose ``marrow`` (EQD2,
        alpha/beta 10; model 9), then heart, cord, bowel (``organs``: their EQD2s) and, after
        esophagectomy, conduit toxicity; returns True if one was fatal (grade 5)."""
        P = self.P
        # the patient's own odds ratio (age, performance status; statement 10) scales every risk
        or_c = (P.concurrent_or if self.course_concurrent else 1.0) * patient_odds(P, self.pat, self.ecog_now)
        # after definitive chemoradiotherapy any dose to the esophagus re-irradiates it (model 6.5)
        again = reirradiation or (self.pat.primary_treatment == codes.PRIOR_DEFINITIVE_CRT and eso > 0.0)
        or_r = P.reirr_or if again else 1.0
        p_esophagitis = rb.odds_scaled(ntcp_lkb(eso, P.esophagitis_td50, P.esophagitis_m), or_c * or_r)
        p_fistula = rb.odds_scaled(ntcp_lkb(eso, P.fistula_td50, P.fistula_m), or_c * or_r)
        conduit = 0.0
        if self.pat.primary_treatment == codes.PRIOR_SURGERY:
            p_esophagitis = p_fistula = 0.0  # the esophagus was resected: nothing to inflame or perforate
            conduit = eso  # but the gastric conduit lies in its bed
        p_pneumonitis = rb.odds_scaled(ntcp_lkb(lung, P.pneumonitis_td50, P.pneumonitis_m), or_c * (P.io_pneumonitis_or if io else 1.0))
        u_e, u_f, u_p, g_f, g_p, u_m = (self.s_tox.uniform() for _ in range(6))
        dead = False
        if u_e < p_esophagitis:
            self.record_toxicity(codes.ESOPHAGITIS)
        if u_f < p_fistula:
            self.record_toxicity(codes.FISTULA)
            dead = g_f < P.g5_fistula
        if u_p < p_pneumonitis:
            self.record_toxicity(codes.PNEUMONITIS)
            dead = dead or g_p < P.g5_pneumonitis
        if u_m < self.marrow_ntcp(marrow, or_c):
            self.record_toxicity(codes.LEUKOPENIA)
        heart, cord, bowel = organs
        return self.organs_toxicity(heart, cord, bowel, conduit, or_c) or dead

    def on_consolidation(self) -> None:
        """Restaging after N cycles: consolidative RT to all known lesions if no progression."""
        if not self.progressed and not self.fistula and not self.rt_end.pending and not self.rt_start.pending and self.fit_for_local():
            n_rt = self.plan_course(0)
            self.given_alone(n_rt)
            if self.give_procedures():  # model 6.10
                self.finish(codes.DEATH_TREATMENT)
                return
            if n_rt > 0:
                self.course_mode = 0
                self.rt_start.book(self.env.now + self.P.rt_delay)

    def plan_progression_course(self) -> tuple[int, int, bool]:
        """Local therapy at progression: surgery or ablation where the arm chooses it for the
        site (model 6.10), RT where the re-irradiation dose allows (model 6.6), else
        surgery/ablation if the arm allows (6.7). Returns the lesions put in an RT course, the
        lesions given another local therapy, and whether a procedure killed the patient."""
        P, A, now = self.P, self.A, self.env.now
        self.plan_course(2)
        n_rt = 0
        n_alt = sum(1 for les in self.lesions if les is not None and les.to_procedure)
        dead = self.give_procedures()
        for i, les in enumerate(self.lesions):
            if les is None or not les.in_course or not les.seen:
                continue  # occult nodes in a target's station: decided below
            if les.irradiated > 0:
                if not self._reirradiation_allowed(les):
                    les.in_course = False
                    if A.alternative_local:
                        n_alt += 1
                        self.record(codes.EV_ALT_LOCAL, i)
                        if self.s_rt.uniform() < P.alt_local_control:
                            les.status = CONTROLLED
                        else:
                            les.logv -= 2.0 * math.log(10.0)
                    continue
            n_rt += 1
        # occult nodes go with a known target of their station still in the course, where the
        # dose allows
        for les in self.lesions:
            if les is not None and les.in_course and not les.seen:
                les.in_course = False
                if les.irradiated == 0 or self._reirradiation_allowed(les):
                    les.in_course = self._station_targeted(les)
        return n_rt, n_alt, dead

    def _reirradiation_allowed(self, les) -> bool:
        """May ``les``, irradiated before, be irradiated again now (model 6.6)?"""
        P, A = self.P, self.A
        months = self.env.now - les.site_time
        return months >= P.reirr_min_interval and cumulative_eqd2(les.site_eqd2, months, eqd2_late(P, A, les), P) <= P.reirr_limit
