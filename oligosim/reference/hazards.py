"""The continuous processes of the reference engine: lesion growth, seeding, disease death, symptoms.

Seeding of new metastases and death from the disease have hazards linear in the
(organ-weighted) tumour volume (model 4.2, 4.3). Lesion volumes grow or shrink exponentially
between events, so the cumulative hazard has a closed form (a sum of exponentials); the next
crossing of a unit-exponential threshold is found with :func:`scipy.optimize.brentq` up to the
next appointment in the queue, and re-planned after every event (the thresholds and
accumulated hazards are kept, so this is exact). A lesion reaching its symptom size is found
in closed form.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from oligosim import codes
from oligosim.reference.appointments import P_CROSSING, P_SYMPTOM, _Fire
from oligosim.reference import lesres, uncounted
from oligosim.reference.cohort import ACTIVE, ERADICATED, Lesion, new_lesion_growth

__all__ = ["HazardsMixin"]

INF = math.inf


def log_add(x: float, y: float) -> float:
    """ln(e^x + e^y) without overflow: the log volume of two volumes ``exp(x)``, ``exp(y)`` added
    (the aggregate beyond the cap, the diffuse compartment); ``_kernels.hazards.log_add``."""
    return max(x, y) + math.log1p(math.exp(-abs(x - y)))


class HazardsMixin:
    """Continuous processes of :class:`oligosim.reference.patient.Patient`.

    Uses the patient's lesions (log-volumes as of ``t_state``, months), the systemic kill
    rate ``kill`` (1/month), the accumulated hazards ``h_seed``, ``h_death`` and their
    unit-exponential thresholds ``e_seed``, ``e_death``.
    """

    def _burden(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The active lesions now.

        Returns
        -------
        v : numpy.ndarray, shape (n,)
            Volumes (cm3).
        w : numpy.ndarray, shape (n,)
            Organ lethality weights.
        r : numpy.ndarray, shape (n,)
            Net growth rates (1/month), never exactly 0.
        """
        act = [les for les in self.lesions if les is not None and les.status == ACTIVE]
        v = np.exp(np.array([les.logv for les in act]))
        w = np.array([self.P.death_weight[les.organ] for les in act])
        r = np.array([les.growth for les in act]) - np.array([lesres.kill_of(les, self.kill) for les in act])
        # a lesion exactly at equilibrium (r = 0): v (e^{r tau} - 1) / r -> v tau
        r[r == 0.0] = 1e-300
        return v, w, r

    @staticmethod
    def _volume_integrals(v: np.ndarray, r: np.ndarray, tau: float) -> np.ndarray:
        """Integral over [0, tau] of each lesion's volume v e^{r s} ds = v (e^{r tau} - 1) / r
        (cm3 month, shape of ``v``)."""
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
        """First tau in (0, limit] (months) where cumulative hazard ``which`` (0 seeding,
        1 death) reaches ``target``, by Brent's method on the closed form; inf if not reached
        by ``limit``."""
        if target == INF or limit <= 0.0 or self._hazards(burden, limit)[which] < target:
            return INF
        return brentq(lambda tau: self._hazards(burden, tau)[which] - target, 0.0, limit, xtol=1e-10, rtol=1e-14)

    def _next_symptom(self) -> tuple[float, int]:
        """Months until the next lesion reaches its symptom size (closed form), and which."""
        best, which = INF, -1
        for i, les in enumerate(self.lesions):
            if les is None or les.status != ACTIVE or les.symptomatic:
                continue
            r = les.growth - lesres.kill_of(les, self.kill)
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
        tau_dif = self.diffuse_death_time(limit)  # diffuse disease's death clock (model 4.9)
        token = self.crossing_token
        # the earliest wins; at a tie death beats seeding, and both beat a symptom
        candidates = [
            (tau_death, 0, self.on_disease_death, P_CROSSING),
            (tau_dif, 1, self.on_diffuse_death, P_CROSSING),
            (tau_seed, 2, self.on_seeding, P_CROSSING),
            (tau_sym if tau_sym <= limit else INF, 3, lambda: self.on_symptom(sym_i), P_SYMPTOM),
        ]
        tau, _, action, prio = min(candidates, key=lambda c: (c[0], c[1]))
        if tau == INF:
            return
        ev = _Fire(self.env, tau, prio)
        ev.callbacks.append(lambda _ev: self._crossing_fired(token, action))

    def _crossing_fired(self, token: int, action) -> None:
        """A planned crossing fires: handle it unless a later event re-planned (new token)."""
        if self.over:
            return
        self.advance_to(self.env.now)
        if token == self.crossing_token:
            action()
        if not self.over:
            self.plan_continuous()

    def advance_to(self, t: float) -> None:
        """Grow or shrink every active lesion from ``t_state`` to ``t`` (months); accumulate the
        hazards; close local-control records of lesions regrown to their pre-RT size (in-field
        failure, model 6.4); eradicate lesions shrunk below the eradication size (model 4.7)."""
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
            r = les.growth - lesres.kill_of(les, self.kill)
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
            self.record(codes.EV_LOCAL_FAILURE, i, t_fail)
        self.advance_diffuse(dt)
        self.t_state = t

    def on_disease_death(self) -> None:
        """The disease-death hazard crossed its threshold (model 4.3)."""
        self.finish_disease(codes.DISEASE_DEATH_BURDEN)

    def on_seeding(self) -> None:
        """A new metastasis (model 4.2): Iwata-type seeding, hazard proportional to volume."""
        P = self.P
        self.h_seed = 0.0
        self.e_seed = self.s_seeding.exponential()
        if self.diffuse_seeding():  # diffuse serosal disease instead of a lesion (model 4.9)
            return
        grows = bool(P.dz[0]["uncounted_grows"])
        slot = self._free_slot()
        if slot is None:
            # beyond the cap: uncounted disease, counted as new disease at the first scan after a
            # lesion seeded now would reach the median detection size at the patient's median
            # growth rate (model 4.2); seeding stops, and growing, the deposit (a colony counted
            # whole) joins the aggregate, which stands for all further disease
            self.overflow = 1
            self.overflow_at = self.env.now + P.overflow_dlogv / self.pat.growth
            self.e_seed = INF
            if grows:
                uncounted.join(self, 1 + self._colony_extra())
            return
        s = self.s_lesion
        organ = self._seeded_organ(slot)
        # a colony (model 4.2): 1 + a negative-binomial count of lesions in the same organ,
        # the count drawn (SEEDING stream) only when the mechanism is on
        extra = self._colony_extra()
        for k in range(extra + 1):
            if k > 0:
                slot = self._free_slot()
                if slot is None:  # the colony fills the cap: uncounted disease, as above
                    self.overflow = 1
                    self.overflow_at = self.env.now + P.overflow_dlogv / self.pat.growth
                    self.e_seed = INF
                    if grows:  # the rest of the colony joins the aggregate
                        uncounted.join(self, extra + 1 - k)
                    return
            growth = new_lesion_growth(P, s, self.pat.growth)
            les = Lesion(P, s, organ, P.seed_logv, growth)
            les.chemo_exposed = self.line_on and self.reg >= 0 and bool(self.R.chemo[self.reg])
            self.lesions[slot] = les
            lesres.on_new(self, les)
            self.record(codes.EV_NEW_LESION, slot)

    def _colony_extra(self) -> int:
        """Lesions a seeding event makes besides the first (model 4.2): a negative-binomial
        count (SEEDING stream) when colonies are on, else 0 with no draw."""
        P = self.P
        if P.cluster_extra_mean > 0.0:
            return self.s_seeding.negative_binomial(P.cluster_extra_mean, P.cluster_size, P.max_lesions)
        return 0

    def _free_slot(self) -> int | None:
        """A lesion slot for a new metastasis (an empty or eradicated one, else a new one below
        the cap), or None when all are taken."""
        slot = next((i for i, les in enumerate(self.lesions) if les is None or les.status == ERADICATED), None)
        if slot is None and len(self.lesions) < self.P.max_lesions:
            self.lesions.append(None)
            slot = len(self.lesions) - 1
        return slot

    def _seeded_organ(self, slot: int) -> int:
        """Organ of the metastasis seeded now (model 4.2): it comes from a lesion with
        probability proportional to its volume; one from the primary or a regional node lands
        in the regional nodes with probability ``regional_seeding_fraction``, the others in a
        distant organ by the histology's shares. The extra uniform is drawn only when
        locoregional disease is seeding."""
        P = self.P
        f = P.lr[0]["regional_seeding"]
        if f > 0.0:
            lr = total = 0.0
            for i, les in enumerate(self.lesions):
                # the slot being filled holds nothing yet, or a lesion already eradicated
                if i != slot and les is not None and les.status == ACTIVE:
                    v = math.exp(les.logv)
                    total += v
                    if les.is_locoregional:
                        lr += v
            if lr > 0.0 and self.s_lesion.uniform() * total < f * lr:
                return codes.REGIONAL_NODE
        return codes.METASTATIC_ORGANS[self.s_lesion.categorical(P.organ_cum[self.pat.histology])]

    def on_symptom(self, i: int) -> None:
        """Lesion ``i`` reached its symptom size: book an unscheduled scan (model 4.6)."""
        les = self.lesions[i]
        les.symptomatic = True
        self.record(codes.EV_SYMPTOM, i)
        if not self.symptom_scan.pending and les.status == ACTIVE:
            self.symptom_scan.book(self.env.now + self.P.symptom_delay)
