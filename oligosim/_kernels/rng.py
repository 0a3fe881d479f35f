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


@njit(cache=True, _nrt=False)
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


@njit(cache=True, _nrt=False)
def uniform(state, purpose):
    """Next draw of stream ``purpose``: a float64 strictly inside (0, 1)."""
    state[purpose] += _GOLDEN
    z = _mix64(state[purpose])
    return (float(z >> _S11) + 0.5) * _TWO_M53


@njit(cache=True, _nrt=False)
def exponential(state, purpose):
    """Unit-rate exponential draw, by inversion of the survival function."""
    return -math.log(uniform(state, purpose))


# Wichura's AS241 (PPND16; Appl Statist 1988, 37: 477-484): the coefficients of its three
# rational approximations, highest power first (Horner's order), numerator then denominator.
_AS241_CENTRAL = (
    (2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
     13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608),
    (5226.495278852854561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
     5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0),
)
_AS241_NEAR = (
    (7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258,
     3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734),
    (1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459,
     0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1.0),
)
_AS241_FAR = (
    (2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093,
     0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772),
    (2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
     0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0),
)


@njit(cache=True, _nrt=False)
def _horner(c, r):
    """The polynomial with coefficients ``c`` (8, highest power first) at ``r``."""
    v = c[0]
    for k in range(1, 8):
        v = v * r + c[k]
    return v


@njit(cache=True, _nrt=False)
def std_normal_ppf(p):
    """Inverse standard normal CDF for p in (0, 1).

    Wichura's algorithm AS241 (PPND16): a rational approximation in (p - 1/2)^2 for
    |p - 1/2| <= 0.425 (no logarithm, about 85% of draws), two in sqrt(-ln(tail)) beyond;
    relative error about 1e-16. The operations are those of the reference engine's
    ``statistics.NormalDist().inv_cdf`` (CPython's AS241), in the same order, so both engines
    turn a uniform into the same normal, bit for bit (tests/test_rng.py).
    """
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return _horner(_AS241_CENTRAL[0], r) * q / _horner(_AS241_CENTRAL[1], r)
    r = math.sqrt(-math.log(p if q <= 0.0 else 1.0 - p))
    if r <= 5.0:
        r = r - 1.6
        x = _horner(_AS241_NEAR[0], r) / _horner(_AS241_NEAR[1], r)
    else:
        r = r - 5.0
        x = _horner(_AS241_FAR[0], r) / _horner(_AS241_FAR[1], r)
    return -x if q < 0.0 else x


@njit(cache=True, _nrt=False)
def normal(state, purpose):
    """Standard normal draw by inversion (one uniform per draw keeps streams aligned)."""
    return std_normal_ppf(uniform(state, purpose))


@njit(cache=True, _nrt=False)
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
