"""Patient factors that change over time and act (model 3.9), in the kernel.

The patient's current ECOG starts at the entry value and may worsen by one level at each
progression (one PATIENT uniform per progression, drawn whatever happens, so the stream stays
aligned); it decides whether a systemic line or a local therapy course can start, the odds of
toxicity (:func:`oligosim._kernels.oar.patient_odds`) and the hazard ratio of other-cause death.
A decline rescales the remaining background time exactly (:func:`rescaled_background`), with no
new BACKGROUND draw. With ``P.pf`` at its defaults nothing here changes a result.
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import rng
from oligosim._kernels.state import S_BACKGROUND_DEATH, log_event


@njit(cache=True, _nrt=False)
def rescaled_background(t, t_bg, slope, hr_old, hr_new):
    """The other-cause death time (months) after the hazard ratio changes at ``t``.

    Gompertz hazard ``hr h(a) = hr r60 e^{b(a-60)}`` (per year): the cumulative hazard left
    between ``t`` and the time ``t_bg`` drawn under ``hr_old`` is
    ``hr_old h(a_t) (e^{b s} - 1) / b`` with ``s = (t_bg - t) / 12`` years; the same unit
    exponential is used up under ``hr_new`` after ``s'`` years with
    ``e^{b s'} - 1 = (hr_old / hr_new)(e^{b s} - 1)``: the age term cancels, so no new draw is
    needed and the time stays exact (``b <= 0``: the constant hazard, ``s' = s hr_old / hr_new``).

    Parameters
    ----------
    t, t_bg : float
        Now and the scheduled other-cause death (months, ``t <= t_bg``).
    slope : float
        Gompertz slope ``b`` (1/year).
    hr_old, hr_new : float
        Hazard ratios before and after ``t`` (> 0).
    """
    s = (t_bg - t) / 12.0
    ratio = hr_old / hr_new
    if slope <= 0.0:
        return t + 12.0 * s * ratio
    return t + 12.0 * math.log1p(ratio * math.expm1(slope * s)) / slope


@njit(cache=True, inline="always")
def decline_at_progression(P, W):
    """At a progression: the current ECOG worsens by one level with probability
    ``P.pf[0].decline_p`` (not beyond codes.ECOG_MAX), recorded as an ``ecog_decline`` event;
    the other-cause death moves if its hazard ratio changes."""
    st = W.state[0]
    u = rng.uniform(W.streams, rng.PATIENT)
    f = P.pf[0]
    if u < f.decline_p and st.ecog_now < codes.ECOG_MAX:
        old = st.ecog_now
        st.ecog_now = old + 1
        log_event(W, st.t, codes.EV_ECOG_DECLINE, st.ecog_now)
        hr_old, hr_new = f.other_hr[old], f.other_hr[old + 1]
        if hr_new != hr_old:
            W.slot[S_BACKGROUND_DEATH] = rescaled_background(st.t, W.slot[S_BACKGROUND_DEATH], P.bg_slope, hr_old, hr_new)


@njit(cache=True, inline="always")
def fit_for_line(P, W, line):
    """May systemic line ``line`` (1-3) start at the current ECOG? If not, an ``unfit`` event
    (detail: the line) records the line that was not given."""
    st = W.state[0]
    if st.ecog_now <= P.pf[0].max_ecog_line[line - 1]:
        return True
    log_event(W, st.t, codes.EV_UNFIT, line)
    return False


@njit(cache=True, inline="always")
def fit_for_local(P, W):
    """May a local therapy course (the initial plan, consolidation, at an oligoprogression) be
    given at the current ECOG? If not, an ``unfit`` event (detail UNFIT_LOCAL) records it."""
    st = W.state[0]
    if st.ecog_now <= P.pf[0].max_ecog_local:
        return True
    log_event(W, st.t, codes.EV_UNFIT, codes.UNFIT_LOCAL)
    return False
