"""Toxicity as trials count it in the reference engine (model 9): correlated cytopenias, RT
myelosuppression and the counting window.

The same rules as :mod:`oligosim._kernels.toxicity`, written plainly: a line's grade >= 3
leukopenia and neutropenia come from correlated latent normals; an RT course's mean dose to
the active bone marrow may cause grade >= 3 leukopenia; every toxicity is logged, and counted
in the patient's results only while the protocol treatment goes on and for
``toxicity.counting_window_days`` after it, until a later line or a course at progression starts.
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.radiobiology import core as rb
from oligosim.reference.streams import NORMAL

__all__ = ["ToxicityMixin", "correlated_uniform", "normal_cdf"]

INF = math.inf


def normal_cdf(z: float) -> float:
    """Standard normal CDF, written with ``math.erfc`` (as the kernel writes it)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def correlated_uniform(z_first: float, u_own: float, rho: float) -> float:
    """Phi(rho z_first + sqrt(1 - rho^2) Phi^-1(u_own)): a uniform whose latent standard normal
    has correlation ``rho`` (in [0, 1]) with ``z_first`` (Gaussian copula); ``u_own`` itself
    when rho = 0."""
    if rho == 0.0:
        return u_own
    return normal_cdf(rho * z_first + math.sqrt(1.0 - rho * rho) * NORMAL.inv_cdf(u_own))


class ToxicityMixin:
    """Counting-window handlers of :class:`oligosim.reference.patient.Patient`.

    Uses ``win_end`` (months; infinite while the protocol treatment goes on), the line state,
    ``line_with_rt``/``line_after_rt``, the appointments ``rt_start``, ``rt_end`` and
    ``consolidation``, and ``course_mode``.
    """

    def marrow_ntcp(self, marrow_eqd2: float, odds: float) -> float:
        """Probability of grade >= 3 leukopenia from an RT course whose mean active-marrow EQD2
        (alpha/beta 10) is ``marrow_eqd2`` Gy (LKB), odds-scaled by ``odds`` (concurrent
        chemotherapy times the patient's own odds ratio)."""
        t = self.P.tx[0]
        p = rb.ntcp_lkb(marrow_eqd2, float(t["marrow_td50"]), float(t["marrow_m"]))
        return rb.odds_scaled(p, odds)

    def protocol_open(self) -> bool:
        """The first line on or still to start, a course of the initial plan (or an urgent one)
        booked or running, or consolidation still to come."""
        if self.line == 1 and self.line_on:
            return True
        if self.line_with_rt or self.line_after_rt:
            return True
        if (self.rt_start.pending or self.rt_end.pending) and self.course_mode != codes.PLAN_PROGRESSION:
            return True
        return self.consolidation.pending

    def update_window(self) -> None:
        """After every event: once the protocol treatment is over, the window closes
        ``counting_window_days`` later."""
        if self.win_end == INF and not self.protocol_open():
            self.win_end = self.env.now + float(self.P.tx[0]["window"])

    def close_window_now(self) -> None:
        """A new therapy starts now: later events are not the protocol treatment's."""
        self.win_end = min(self.win_end, self.env.now)

    def record_toxicity(self, k: int) -> None:
        """A grade >= 3 toxicity of type ``k`` now: logged; counted if inside the window."""
        self.record(codes.EV_TOXICITY, k)
        if not self.P.tx[0]["protocol_window"] or self.env.now <= self.win_end:
            self.tox_seen[k] = True
