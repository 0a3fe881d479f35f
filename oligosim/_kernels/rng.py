"""Random streams keyed by (seed, patient, purpose), usable inside numba kernels.

Each patient owns one small state word per *purpose* (cohort, seeding, death, ...). A stream is
SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; passes BigCrush) started from a key that hashes
(seed, patient, purpose). Because a patient's draws depend only on that triple and on how many
draws that purpose has made, they are the same whatever the chunk size, the thread that runs the
patient, or the strategy being simulated, except where a strategy changes how many draws a
purpose makes. Giving each mechanism its own purpose keeps that exception narrow: a strategy that
gives an extra RT course does not shift the patient's seeding or death draws (common random
numbers, as in Starsim).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0

# ----------------------------------------------------------------------------- purposes
COHORT = 0  #: patient attributes and baseline lesions
LESION = 1  #: attributes of newly seeded lesions, in order of seeding
SEEDING = 2  #: unit-exponential thresholds of the seeding process
DEATH = 3  #: unit-exponential thresholds of disease death
BACKGROUND = 4  #: background (other-cause) death time
RESPONSE = 5  #: systemic-therapy response and resistance, per line
TOXICITY = 6  #: toxicity of each treatment episode
RT = 7  #: local-control draws of re-irradiation and alternative local therapy
SCAN = 8  #: offset of each scheduled follow-up visit within its window, one per visit in order
PRIMARY = 9  #: the primary in place: its tumour-fistula threshold, then survival after a fistula
PRIOR_RT = 10  #: the earlier RT course of a pretreated cohort: which course, then its interval (oligosim._kernels.entry)
ORGANS = 11  #: heart, spinal cord, bowel and conduit toxicity of each RT course (six draws a course)
PROCEDURE = 12  #: surgery or ablation chosen as local therapy: control, complication, death (three draws a lesion)
DIFFUSE = 13  #: diffuse serosal disease: onset at entry and per seeding event, its thresholds (oligosim._kernels.diffuse)
PATIENT = 14  #: patient factors over time: one uniform at each progression for an ECOG decline (model 3.9)
LESION_RESISTANCE = 15  #: each lesion's own acquired-resistance time on a line, when the regimen spreads it between lesions (oligosim._kernels.lesres, model 5.3)
N_PURPOSES = 16
PURPOSE_NAMES = (
    "cohort",
    "lesion",
    "seeding",
    "death",
    "background",
    "response",
    "toxicity",
    "rt",
    "scan",
    "primary",
    "prior_rt",
    "organs",
    "procedure",
    "diffuse",
    "patient",
    "lesion_resistance",
)


@njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, _nrt=False)
def stream_key(seed, patient, purpose):
    """Starting state of the stream for (seed, patient, purpose).

    Parameters
    ----------
    seed, patient, purpose : int
        Non-negative integers (seed < 2**63).

    Returns
    -------
    numpy.uint64
    """
    k = _mix64(np.uint64(seed) ^ np.uint64(0x5DEECE66D))
    k = _mix64(k ^ (np.uint64(patient) * _GOLDEN))
    k = _mix64(k + np.uint64(purpose + 1) * _M2)
    return k


@njit(cache=True, _nrt=False)
def init_streams(seed, patient, state):
    """Fill ``state`` (uint64, shape (N_PURPOSES,)) with the patient's stream keys."""
    for p in range(state.shape[0]):
        state[p] = stream_key(seed, patient, p)


@njit(cache=True, inline="always")
def uniform(state, purpose):
    """Next draw of stream ``purpose``: a float64 strictly inside (0, 1)."""
    state[purpose] += _GOLDEN
    z = _mix64(state[purpose])
    return (float(z >> _S11) + 0.5) * _TWO_M53


@njit(cache=True, inline="always")
def exponential(state, purpose):
    """Unit-rate exponential draw, by inversion of the survival function."""
    return -math.log(uniform(state, purpose))


@njit(cache=True, _nrt=False)
def std_normal_ppf(p):
    """Inverse standard normal CDF for p in (0, 1).

    Acklam's rational approximation refined by one Halley step on ``math.erfc``; relative
    error below 1e-10 over (1e-300, 1 - 1e-16), checked against scipy in the tests.
    """
    a0, a1, a2 = -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02
    a3, a4, a5 = 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00
    b0, b1, b2 = -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02
    b3, b4 = 6.680131188771972e01, -1.328068155288572e01
    c0, c1, c2 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00
    c3, c4, c5 = -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00
    d0, d1, d2, d3 = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00
    plow = 0.02425
    if p < plow:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0)
    elif p <= 1.0 - plow:
        q = p - 0.5
        r = q * q
        x = (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q / (
            ((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0
        )
    else:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0)
    # one Halley refinement step
    # Phi(x) - p, computed from the nearer tail so that p close to 1 keeps its precision
    if p > 0.5:
        e = (1.0 - p) - 0.5 * math.erfc(x / math.sqrt(2.0))
    else:
        e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@njit(cache=True, inline="always")
def normal(state, purpose):
    """Standard normal draw by inversion (one uniform per draw keeps streams aligned)."""
    return std_normal_ppf(uniform(state, purpose))


@njit(cache=True, inline="always")
def lognormal_median(state, purpose, median, sigma):
    """Lognormal draw given its median and the sd of its logarithm."""
    return median * math.exp(sigma * normal(state, purpose))


@njit(cache=True, _nrt=False)
def categorical(state, purpose, cum_probs):
    """Index drawn with cumulative probabilities ``cum_probs`` (last entry 1)."""
    u = uniform(state, purpose)
    n = cum_probs.shape[0]
    for i in range(n - 1):
        if u < cum_probs[i]:
            return i
    return n - 1


@njit(cache=True, _nrt=False)
def poisson(state, purpose, mean):
    """Poisson draw by sequential inversion (means here are small, < 50)."""
    u = uniform(state, purpose)
    k = 0
    p = math.exp(-mean)
    c = p
    while u > c and k < 1000:
        k += 1
        p *= mean / k
        c += p
    return k


@njit(cache=True, _nrt=False)
def negative_binomial_ppf(u, mean, size, cap):
    """The negative-binomial count (mean ``mean``, size ``size``) at quantile ``u`` by
    sequential search of the CDF, at most ``cap``; 0 for mean 0."""
    if mean <= 0.0:
        return 0
    q = mean / (size + mean)
    p = math.exp(size * math.log(size / (size + mean)))
    c = p
    k = 0
    while u > c and k < cap:
        p *= (k + size) / (k + 1) * q
        k += 1
        c += p
    return k


def uniforms(seed: int, patient: int, purpose: int, n: int) -> np.ndarray:
    """The first ``n`` uniforms of one stream, for tests and inspection.

    Returns
    -------
    numpy.ndarray
        float64, shape (n,).
    """
    return _uniforms(np.int64(seed), np.int64(patient), np.int64(purpose), np.int64(n))


@njit(cache=True)
def _uniforms(seed, patient, purpose, n):
    state = np.empty(N_PURPOSES, np.uint64)
    init_streams(seed, patient, state)
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(state, purpose)
    return out
