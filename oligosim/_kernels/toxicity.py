"""Toxicity as trials count it (model 9): correlated cytopenias, RT myelosuppression and the
counting window.

* A line's grade >= 3 toxicities are decided by latent normal variables correlated with its
  leukopenia's (a Gaussian copula, :func:`correlated_uniform`, :func:`line_correlation`):
  neutrophils are most of the white cells and platelets come from the same marrow, and the
  other toxicities too strike mostly the same, susceptible patients.
* An RT course lowers the white count by the dose it gives the active bone marrow
  (:func:`marrow_ntcp`); it counts as leukopenia (lymphocytes, not neutrophils, are the
  radiosensitive white cells).
* Trials report grade >= 3 events during the protocol treatment and a short time after it
  (:func:`protocol_open`, :func:`update_window`); :func:`record` logs every event and counts it
  in the patient's ``tox_seen`` only inside that window (``toxicity.counting = protocol``).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import rng
from oligosim._kernels.state import INF, LINE_NONE, S_CONSOLIDATION, S_RT_END, S_RT_START, log_event
from oligosim.radiobiology import core as rb


@njit(cache=True, _nrt=False)
def normal_cdf(z):
    """Standard normal CDF, written with ``math.erfc`` as the reference engine writes it."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@njit(cache=True, _nrt=False)
def correlated_uniform(z_first, u_own, rho):
    """A uniform whose latent normal has correlation ``rho`` with ``z_first``.

    Parameters
    ----------
    z_first : float
        The first variable's latent standard normal deviate.
    u_own : float
        This variable's own uniform draw in (0, 1).
    rho : float
        Latent correlation in [0, 1]; 0 returns ``u_own``, 1 the first variable's uniform.

    Returns
    -------
    float
        Phi(rho z_first + sqrt(1 - rho^2) Phi^-1(u_own)).
    """
    if rho == 0.0:
        return u_own
    return normal_cdf(rho * z_first + math.sqrt(1.0 - rho * rho) * rng.std_normal_ppf(u_own))


@njit(cache=True, _nrt=False)
def line_correlation(P, k):
    """Latent correlation of toxicity type ``k`` of a line with the line's leukopenia: the
    cytopenias' (neutropenia, thrombocytopenia) or the other types'."""
    t = P.tx[0]
    if k == codes.NEUTROPENIA or k == codes.THROMBOCYTOPENIA:
        return t.cyto_rho
    return t.other_rho


@njit(cache=True, _nrt=False)
def marrow_ntcp(P, marrow_eqd2, odds):
    """Probability that an RT course causes grade >= 3 leukopenia (LKB on the mean active-marrow
    EQD2 in Gy, alpha/beta 10), odds-scaled by ``odds`` (concurrent chemotherapy times the
    patient's own odds ratio)."""
    t = P.tx[0]
    p = rb.ntcp_lkb(marrow_eqd2, t.marrow_td50, t.marrow_m)
    return rb.odds_scaled(p, odds)


@njit(cache=True, _nrt=False)
def protocol_open(W, st):
    """Is the protocol treatment still going on: the first line on or still to start, a course
    of the initial plan (or an urgent one) booked or running, consolidation still to come?"""
    if st.line == 1 and st.line_on:
        return True
    if st.first_line_at != LINE_NONE:
        return True
    if (W.slot[S_RT_START] < INF or W.slot[S_RT_END] < INF) and st.course_mode != codes.PLAN_PROGRESSION:
        return True
    return W.slot[S_CONSOLIDATION] < INF


@njit(cache=True, _nrt=False)
def update_window(P, W):
    """After every event: when the protocol treatment has just ended, the counting window closes
    ``window`` months later (``st.win_end``; infinite while the treatment goes on)."""
    st = W.state[0]
    if st.win_end == INF and not protocol_open(W, st):
        st.win_end = st.t + P.tx[0].window


@njit(cache=True, _nrt=False)
def close_window_now(W):
    """A new therapy starts (a later line, or a course at a progression after the first line):
    events from now on belong to it, not to the protocol treatment."""
    st = W.state[0]
    if st.t < st.win_end:
        st.win_end = st.t


@njit(cache=True, _nrt=False)
def record(P, W, k):
    """A grade >= 3 toxicity of type ``k`` now: always in the event log; in the patient's
    counted toxicities if inside the counting window (or counting the whole course)."""
    st = W.state[0]
    log_event(W, st.t, codes.EV_TOXICITY, k)
    if not P.tx[0].protocol_window or st.t <= st.win_end:
        W.tox_seen[k] = True
