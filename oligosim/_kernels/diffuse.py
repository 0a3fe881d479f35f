"""Diffuse serosal disease: one uncountable compartment per patient (model 4.9).

Pleural or peritoneal carcinomatosis is carried as a patient-level log-volume ``st.dif_logv``
(ln cm3) with a state ``st.dif_state``: :data:`ABSENT`, :data:`OCCULT` or :data:`SEEN`. It is not
a lesion slot, so the lesion cap does not limit it. With ``P.dz[0].on`` each seeding event
(model 4.2) starts it, or adds a seed's volume to it, with the histology's probability instead of
making a lesion: a thinning of the seeding process, so the seeding hazard and its closed form
are untouched. The compartment grows at the patient's median rate minus the systemic kill rate in
force, like any lesion, and is never treated locally. It kills with hazard
``death_rate * death_weight * V(t)``, a competing clock with its own unit-exponential threshold
(drawn at the first onset), which is the same process as one more term of the burden hazard
(independent exponential thresholds of competing hazards give the hazard of their sum), and
whose crossing time is closed-form. A scan shows it once its volume reaches the patient's
detection threshold; from then on the patient is never oligometastatic again.

Occult diffuse disease at entry has its own probability by histology (0 by default). DIFFUSE
stream, in order: at entry (only with an entry probability above 0) the entry uniform and, if
present, the thresholds and its volume's uniform; then one uniform per seeding event (onset or
not), the death threshold and the detection deviate at the first onset. Nothing is drawn when the
mechanism is off.
"""

from __future__ import annotations

import math

from numba import njit

from oligosim import codes
from oligosim._kernels import rng
from oligosim._kernels.hazards import _integral, log_add
from oligosim._kernels.lesres import diffuse_kill
from oligosim._kernels.state import INF, log_event

ABSENT = 0  #: no diffuse disease (never started, or eradicated)
OCCULT = 1  #: present, not yet shown by a scan
SEEN = 2  #: present and shown by a scan

#: the detail of an ``EV_DIFFUSE`` event
ONSET = 0  #: diffuse disease starts
ADDED = 1  #: a further diffuse seeding event adds a seed's volume
DETECTED = 2  #: a scan shows it


@njit(cache=True, inline="always")
def reset(W):
    """No diffuse disease (before the entry draw of :func:`at_entry`)."""
    st = W.state[0]
    st.dif_state = ABSENT
    st.dif_seen = False
    st.dif_logv = -INF
    st.dif_det_logv = INF
    st.dif_h = 0.0
    st.dif_e = INF


@njit(cache=True, inline="always")
def _thresholds(P, W):
    """At the patient's first diffuse onset: its death threshold and its detection threshold
    (ln cm3), DIFFUSE stream; kept for a later onset after an eradication."""
    st = W.state[0]
    if st.dif_e == INF:
        D = P.dz[0]
        st.dif_e = rng.exponential(W.streams, rng.DIFFUSE)
        st.dif_det_logv = D.det_logv + D.det_sdlog * rng.normal(W.streams, rng.DIFFUSE)


@njit(cache=True, inline="always")
def at_entry(P, W):
    """Occult diffuse disease at entry, with the histology's probability (drawn only when it is
    above 0): its log-volume uniform between a seed's and the patient's detection threshold, so
    that staging did not show it."""
    D = P.dz[0]
    st = W.state[0]
    p = D.entry[st.histology]
    if not D.on or p <= 0.0:
        return
    if rng.uniform(W.streams, rng.DIFFUSE) >= p:
        return
    _thresholds(P, W)
    lo = P.seed_logv
    hi = max(lo, st.dif_det_logv)
    st.dif_logv = lo + rng.uniform(W.streams, rng.DIFFUSE) * (hi - lo)
    st.dif_state = OCCULT
    log_event(W, st.t, codes.EV_DIFFUSE, ONSET)


@njit(cache=True, inline="always")
def seeding(P, W):
    """At a seeding event: is it diffuse disease (started or added to) instead of a lesion?

    Draws one DIFFUSE uniform (only when the mechanism is on); at the first onset also the death
    threshold and the detection deviate. Returns True if the event was diffuse.
    """
    D = P.dz[0]
    if not D.on:
        return False
    st = W.state[0]
    if rng.uniform(W.streams, rng.DIFFUSE) >= D.onset[st.histology]:
        return False
    _thresholds(P, W)
    if st.dif_state == ABSENT:
        st.dif_state = OCCULT
        st.dif_logv = P.seed_logv
        log_event(W, st.t, codes.EV_DIFFUSE, ONSET)
    else:
        st.dif_logv = log_add(st.dif_logv, P.seed_logv)  # volumes add
        log_event(W, st.t, codes.EV_DIFFUSE, ADDED)
    return True


@njit(cache=True, inline="always")
def death_integral(P, W, tau):
    """Cumulative diffuse-disease death hazard over the next ``tau`` months (0 if absent)."""
    st = W.state[0]
    if st.dif_state == ABSENT:
        return 0.0
    v, _ = _integral(math.exp(st.dif_logv), st.growth - diffuse_kill(st), tau)
    return v * P.dz[0].death_weight * P.death_rate


@njit(cache=True, _nrt=False)
def death_time(P, W, dt):
    """Months until the diffuse-disease death hazard reaches its threshold, if within ``dt``
    (else inf). Closed form: with ``c = death_rate * weight * V`` and net rate ``r``, the hazard
    accumulated by ``tau`` is ``c (e^{r tau} - 1) / r``, so ``tau = log1p(r T / c) / r`` for the
    remaining target ``T`` (``T / c`` when ``r tau`` is negligible; never if ``1 + r T / c <= 0``).
    """
    st = W.state[0]
    if st.dif_state == ABSENT:
        return INF
    c = math.exp(st.dif_logv) * P.dz[0].death_weight * P.death_rate
    if c <= 0.0:
        return INF
    target = st.dif_e - st.dif_h
    if target <= 0.0:
        return 0.0
    r = st.growth - diffuse_kill(st)
    q = r * target / c
    if abs(q) < 1e-10:
        tau = target / c
    elif q <= -1.0:
        return INF
    else:
        tau = math.log1p(q) / r
    return tau if tau <= dt else INF


@njit(cache=True, inline="always")
def advance(P, W, dt):
    """Move the compartment ``dt`` months on: accumulate its death hazard, grow or shrink it,
    and remove it once below the eradication size (model 4.7; ``dif_seen`` stays)."""
    st = W.state[0]
    if st.dif_state == ABSENT:
        return
    st.dif_h += death_integral(P, W, dt)
    st.dif_logv += (st.growth - diffuse_kill(st)) * dt
    if st.dif_logv < P.eradication_logv:
        st.dif_state = ABSENT
        st.dif_logv = -INF


@njit(cache=True, inline="always")
def visible_unseen(st):
    """Would a scan now show diffuse disease not shown before?"""
    return st.dif_state == OCCULT and st.dif_logv >= st.dif_det_logv


@njit(cache=True, inline="always")
def at_scan(W):
    """At a scan: 1 if it shows the diffuse disease for the first time (new disease, RECIST
    unequivocal progression), else 0."""
    st = W.state[0]
    if visible_unseen(st):
        st.dif_state = SEEN
        st.dif_seen = True
        log_event(W, st.t, codes.EV_DIFFUSE, DETECTED)
        return 1
    return 0
