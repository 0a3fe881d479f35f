"""Diffuse serosal disease in the reference engine: one uncountable compartment per patient (model 4.9).

The same mechanism as :mod:`oligosim._kernels.diffuse`, written as a mixin of
:class:`oligosim.reference.patient.Patient`: a log-volume ``dif_logv`` (ln cm3) and a state
``dif_state`` (absent, occult, seen); a seeding event starts it (or adds a seed's volume) with the
histology's probability instead of making a lesion; it grows at the patient's median rate minus
the kill rate in force, kills through a competing clock whose crossing is closed-form, and a scan
shows it once it reaches the patient's detection threshold; occult diffuse disease at entry has its
own probability. The DIFFUSE stream is drawn in the kernel's order (:mod:`oligosim._kernels.diffuse`).
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.reference import lesres
from oligosim.reference.hazards import log_add
from oligosim.reference.streams import DIFFUSE, Stream

__all__ = ["DiffuseMixin", "ABSENT", "OCCULT", "SEEN"]

INF = math.inf
ABSENT, OCCULT, SEEN = 0, 1, 2
ONSET, ADDED, DETECTED = 0, 1, 2  # detail of an EV_DIFFUSE event


def volume_integral(vol: float, r: float, tau: float) -> float:
    """Integral over [0, tau] of vol e^{r s} ds (cm3 month)."""
    if abs(r * tau) < 1e-10:
        return vol * tau * (1.0 + 0.5 * r * tau)
    return vol * math.expm1(r * tau) / r


class DiffuseMixin:
    """Diffuse-disease state and handlers of :class:`oligosim.reference.patient.Patient`
    (uses ``P``, ``pat``, ``kill``, ``env``, ``record``)."""

    def init_diffuse(self, seed: int, pid: int) -> None:
        """No diffuse disease at entry; the DIFFUSE stream."""
        self.s_diffuse = Stream(seed, pid, DIFFUSE)
        self.dif_state = ABSENT
        self.dif_seen = False  # shown by a scan at some time: never oligometastatic again
        self.dif_logv = -INF
        self.dif_det_logv = INF
        self.dif_h = 0.0
        self.dif_e = INF

    def _diffuse_thresholds(self) -> None:
        """At the first onset: the death threshold and the detection threshold (ln cm3)."""
        if self.dif_e == INF:
            D = self.P.dz[0]
            self.dif_e = self.s_diffuse.exponential()
            self.dif_det_logv = float(D["det_logv"]) + float(D["det_sdlog"]) * self.s_diffuse.normal()

    def diffuse_at_entry(self) -> None:
        """Occult diffuse disease at entry with the histology's probability (drawn only when
        above 0), its log-volume uniform between a seed's and the detection threshold."""
        D = self.P.dz[0]
        p = float(D["entry"][self.pat.histology])
        if not D["on"] or p <= 0.0:
            return
        if self.s_diffuse.uniform() >= p:
            return
        self._diffuse_thresholds()
        lo = self.P.seed_logv
        hi = max(lo, self.dif_det_logv)
        self.dif_logv = lo + self.s_diffuse.uniform() * (hi - lo)
        self.dif_state = OCCULT
        self.record(codes.EV_DIFFUSE, ONSET)

    def diffuse_seeding(self) -> bool:
        """Is this seeding event diffuse disease (started or added to) instead of a lesion?"""
        D = self.P.dz[0]
        if not D["on"]:
            return False
        if self.s_diffuse.uniform() >= D["onset"][self.pat.histology]:
            return False
        self._diffuse_thresholds()
        if self.dif_state == ABSENT:
            self.dif_state = OCCULT
            self.dif_logv = self.P.seed_logv
            self.record(codes.EV_DIFFUSE, ONSET)
        else:
            self.dif_logv = log_add(self.dif_logv, self.P.seed_logv)  # volumes add
            self.record(codes.EV_DIFFUSE, ADDED)
        return True

    def _diffuse_rate(self) -> float:
        """Its death hazard now (1/month): death_rate * weight * volume."""
        return math.exp(self.dif_logv) * float(self.P.dz[0]["death_weight"]) * self.P.death_rate

    def diffuse_death_time(self, limit: float) -> float:
        """Months until its death hazard reaches the threshold, if within ``limit``, else inf."""
        if self.dif_state == ABSENT:
            return INF
        c = self._diffuse_rate()
        if c <= 0.0:
            return INF
        target = self.dif_e - self.dif_h
        if target <= 0.0:
            return 0.0
        r = self.pat.growth - lesres.diffuse_kill(self)
        q = r * target / c
        if abs(q) < 1e-10:
            tau = target / c
        elif q <= -1.0:
            return INF
        else:
            tau = math.log1p(q) / r
        return tau if tau <= limit else INF

    def advance_diffuse(self, dt: float) -> None:
        """Move it ``dt`` months on: accumulate the death hazard, grow or shrink, eradicate."""
        if self.dif_state == ABSENT:
            return
        r = self.pat.growth - lesres.diffuse_kill(self)
        self.dif_h += volume_integral(math.exp(self.dif_logv), r, dt) * float(self.P.dz[0]["death_weight"]) * self.P.death_rate
        self.dif_logv += r * dt
        if self.dif_logv < self.P.eradication_logv:
            self.dif_state = ABSENT
            self.dif_logv = -INF

    def diffuse_visible_unseen(self) -> bool:
        """Would a scan now show diffuse disease not shown before?"""
        return self.dif_state == OCCULT and self.dif_logv >= self.dif_det_logv

    def diffuse_at_scan(self) -> int:
        """1 if this scan shows the diffuse disease for the first time (new disease), else 0."""
        if self.diffuse_visible_unseen():
            self.dif_state = SEEN
            self.dif_seen = True
            self.record(codes.EV_DIFFUSE, DETECTED)
            return 1
        return 0

    def on_diffuse_death(self) -> None:
        """The diffuse-disease death clock crossed its threshold (model 4.9)."""
        self.finish_disease(codes.DISEASE_DEATH_DIFFUSE)
