"""Systemic therapy in the reference engine: lines, induction, maintenance, resistance, toxicity.

A line kills every active lesion at its regimen's rate (1/month, higher with high PD-L1) during
induction, then at the maintenance rate if the regimen has maintenance (model 5.1-5.3); an
acquired resistance stops the killing (the line goes on until it ends); grade >= 3 toxicities
come at uniform times during induction (or, for types given per cycle, in a geometric cycle:
:mod:`oligosim.reference.cycletox`) and may delay cycles or stop the line (model 5.5).
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.reference import cycletox, lesres
from oligosim.reference.streams import NORMAL
from oligosim.radiobiology import core as rb
from oligosim.reference.oar import patient_odds
from oligosim.reference.toxicity import correlated_uniform

__all__ = ["SystemicMixin"]

INF = math.inf


def response_class(u: float, durable: float, primary: float) -> str:
    """How the disease answers a line (model 5.3), from the line's first RESPONSE uniform ``u``.

    Returns ``"durable"`` (never resists) for ``u < durable``, ``"primary"`` (resists from the
    first day) for ``u >= 1 - primary`` and ``"acquired"`` (resists after a lognormal time)
    between: a primary-resistance share of 0 changes no other patient (common random numbers).
    """
    if u < durable:
        return "durable"
    if u >= 1.0 - primary:
        return "primary"
    return "acquired"


class SystemicMixin:
    """Systemic-therapy handlers of :class:`oligosim.reference.patient.Patient`.

    Uses the line state (``line``, ``reg``, ``line_on``, ``resisted``, ``paused``, ``kill``,
    ``kill_line`` in 1/month) and the appointments ``induction_end``, ``maintenance_end``,
    ``resistance``, ``consolidation`` and ``tox``.
    """

    def start_line(self, line: int, reg: int) -> None:
        """Start a line of systemic therapy: book induction end, resistance, toxicities.

        Parameters
        ----------
        line : int
            1 (first line) or 2 (the line after progression).
        reg : int
            Regimen index into the lowered regimens ``R``.
        """
        R, A, now = self.R, self.A, self.env.now
        self.line, self.reg = line, reg
        self.lines_started += 1
        self.resisted = False
        self.line_on = True
        self.kill_line = R.kill[reg] * (R.pdl1_multiplier[reg] if self.pat.pdl1_high else 1.0)
        self.kill = self._anti_pd1_kill(reg) if (self.paused and R.chemo[reg] and line == 1) else self.kill_line
        duration = R.cycles[reg] * R.cycle[reg]
        self.induction_end.book(now + duration)
        self.maintenance_end.cancel()
        # a durable responder never resists, a primarily resistant patient resists from the
        # first day, the others after a lognormal time (model 5.3)
        u1, u2 = self.s_response.uniform(), self.s_response.uniform()
        response = response_class(u1, R.durable[reg], R.primary_resistance[reg])
        primary = response == "primary"
        if response != "acquired":
            self.resistance.cancel()
        else:
            t_pat = now + R.resistance_median[reg] * math.exp(R.resistance_sdlog[reg] * NORMAL.inv_cdf(u2))
            # per-lesion resistance (model 5.3): each lesion's own time, when the regimen spreads them
            self.resistance.book(lesres.on_line_start(self, reg, t_pat))
        if response != "acquired":
            lesres.on_line_start(self, reg, INF)  # clears the flags of an earlier line
        # grade >= 3 toxicities (and grade 5) of the line, each at a uniform time during induction
        z_line = 0.0
        tx = self.P.tx[0]
        odds = patient_odds(self.P, self.pat, self.ecog_now)  # older or less fit patients (statement 10)
        for k in range(codes.N_SYSTEMIC_TYPES + 1):
            u, v = self.s_tox.uniform(), self.s_tox.uniform()
            if k == codes.LEUKOPENIA:
                z_line = NORMAL.inv_cdf(u)  # the line's susceptibility
            elif k < codes.GRADE5_SLOT:  # toxicities cluster in the same patients (Gaussian copula, model 9)
                rho = tx["cyto_rho"] if k in (codes.NEUTROPENIA, codes.THROMBOCYTOPENIA) else tx["other_rho"]
                u = correlated_uniform(z_line, u, float(rho))
            if R.cycle_tox_on[reg, k]:  # given per cycle (model 5.5): a geometric cycle
                pc = rb.odds_scaled(R.cycle_tox[reg, k], odds)
                self.tox[k].book(cycletox.first_event_time(pc, u, v, now, R.cycle[reg], cycletox.max_cycles(R, reg)))
                continue
            p = rb.odds_scaled(R.grade5[reg] if k == codes.GRADE5_SLOT else R.tox[reg, k], odds)
            self.tox[k].book(now + v * duration if u < p else INF)
        if line == 1 and A.rt_timing == codes.RT_CONSOLIDATIVE:
            self.consolidation.book(now + A.consolidative_cycles * R.cycle[reg])
        if self.proc_resume.pending and R.chemo[reg]:
            # started while a procedure holds chemotherapy (model 6.10): it waits for the hold's end
            self.hold_new_line(reg)
        if R.chemo[reg]:
            for les in self.active():
                les.chemo_exposed = True
        if line > 1:
            self.close_window_now()  # a later line is a new therapy (model 9)
        self.record(codes.EV_LINE_START, reg)
        if primary:
            self.record(codes.EV_RESISTANCE, reg)
            self.resisted = True
            self.kill = 0.0

    def stop_line(self) -> None:
        """The line fails or is stopped: its pending events are cancelled."""
        self.line_on = False
        self.kill = 0.0
        self.lres_tpat = INF
        for appt in (self.induction_end, self.maintenance_end, self.resistance, self.consolidation, *self.tox):
            appt.cancel()
        self.record(codes.EV_LINE_STOP, self.reg)

    def on_induction_end(self) -> None:
        """Induction over: maintenance at its own kill rate, or the line ends."""
        R, reg = self.R, self.reg
        self.record(codes.EV_INDUCTION_END, reg)
        if R.maintenance[reg] > 0.0:
            self.kill_line = R.maintenance_kill[reg] * (R.pdl1_multiplier[reg] if self.pat.pdl1_high else 1.0)
            if not self.resisted:
                self.kill = self.kill_line
            self.maintenance_end.book(self.env.now + R.maintenance[reg])
        else:
            self.line_on = False
            self.kill = 0.0
            self.resistance.cancel()
            self.lres_tpat = INF

    def on_maintenance_end(self) -> None:
        """Maintenance over: the line ends."""
        self.record(codes.EV_MAINTENANCE_END, self.reg)
        self.line_on = False
        self.kill = 0.0
        self.resistance.cancel()
        self.lres_tpat = INF

    def on_resistance(self) -> None:
        """Acquired resistance: the line no longer kills (it goes on until it ends); lesion by
        lesion when the regimen spreads the times (:mod:`oligosim.reference.lesres`)."""
        if self.lres_tpat < INF:
            lesres.on_resistance(self)
            return
        self.record(codes.EV_RESISTANCE, self.reg)
        self.resisted = True
        self.kill = 0.0

    def _tox_handler(self, k: int):
        """The handler of toxicity appointment ``k`` (binds ``k`` now, not at call time)."""
        return lambda: self.on_toxicity(k)

    def on_toxicity(self, k: int) -> None:
        """A grade >= 3 systemic toxicity (model 5.5), or a grade-5 event (k = GRADE5_SLOT)."""
        if k == codes.GRADE5_SLOT:
            self.finish(codes.DEATH_TREATMENT)
            return
        self.record_toxicity(k)
        if self.line_on:
            if k <= codes.THROMBOCYTOPENIA:  # a cytopenia delays the next cycles
                self.induction_end.postpone(self.P.tox_delay)
                self.consolidation.postpone(self.P.tox_delay)
            if self.s_tox.uniform() < self.P.discontinue_p:
                self.stop_line()

    def _anti_pd1_kill(self, reg: int) -> float:
        """Kill rate (1/month) of regimen ``reg`` while its chemotherapy waits for an RT course:
        the anti-PD-1 component alone, at the maintenance rate (0 without immunotherapy or with
        radiotherapy.immunotherapy_continues_during_rt false; model 5.4)."""
        R = self.R
        return R.paused_kill[reg] * (R.pdl1_multiplier[reg] if self.pat.pdl1_high else 1.0)
