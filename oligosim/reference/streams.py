"""Counter-based random streams of the reference engine.

Every (seed, patient, purpose) triple has its own SplitMix64 stream (Steele, Lea & Flood,
OOPSLA 2014), written here with Python integers masked to 64 bits. The keying and the output
function are the same as in :mod:`oligosim._kernels.rng`, so both engines draw the *same
cohort* from the COHORT stream; after entry they need only agree in distribution.

The purposes are one independent stream per mechanism, numbered as in the kernel's rng module.
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = [
    "COHORT", "LESION", "SEEDING", "DEATH", "BACKGROUND", "RESPONSE", "TOXICITY", "RT", "SCAN", "PRIMARY", "ORGANS", "PROCEDURE", "DIFFUSE", "PATIENT", "LESION_RESISTANCE",
    "NORMAL", "Stream", "stream_key",
]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_TWO_M53 = 1.0 / 9007199254740992.0

#: the standard normal distribution (inversion of a stream's uniforms)
NORMAL = NormalDist()

# purposes: one independent stream per mechanism (same numbering as the kernel's rng module)
COHORT, LESION, SEEDING, DEATH, BACKGROUND, RESPONSE, TOXICITY, RT, SCAN, PRIMARY, PRIOR_RT, ORGANS, PROCEDURE, DIFFUSE = range(14)
PATIENT = 14  # patient factors over time: an ECOG decline at each progression (model 3.9)
LESION_RESISTANCE = 15  # each lesion's own acquired-resistance time on a line (oligosim.reference.lesres, model 5.3)


def _mix64(z: int) -> int:
    """SplitMix64's output function (a bijective 64-bit mixer).

    Parameters
    ----------
    z : int
        A value in [0, 2**64).

    Returns
    -------
    int
        The mixed value, in [0, 2**64).
    """
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def stream_key(seed: int, patient: int, purpose: int) -> int:
    """Starting state of the stream of (seed, patient, purpose): three rounds of mixing.

    Parameters
    ----------
    seed : int
        The run's seed (>= 0).
    patient : int
        Patient index in the cohort.
    purpose : int
        One of the purposes (``COHORT`` ... ``RT``).

    Returns
    -------
    int
        The 64-bit state the stream starts from.
    """
    k = _mix64((seed ^ 0x5DEECE66D) & _MASK)
    k = _mix64(k ^ ((patient * _GOLDEN) & _MASK))
    return _mix64((k + (purpose + 1) * _M2) & _MASK)


def negative_binomial_ppf(u: float, mean: float, size: float, cap: int) -> int:
    """The negative-binomial count (mean ``mean``, size ``size``) at quantile ``u``, at most
    ``cap``; 0 for mean 0. P(0) = (k/(k+m))^k, P(j+1) = P(j) (j+k)/(j+1) m/(k+m)."""
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


class Stream:
    """One patient's random stream for one purpose.

    Parameters
    ----------
    seed, patient, purpose : int
        As in :func:`stream_key`.
    """

    __slots__ = ("state",)

    def __init__(self, seed: int, patient: int, purpose: int):
        self.state = stream_key(seed, patient, purpose)

    def uniform(self) -> float:
        """A float strictly inside (0, 1): the top 53 bits of the next output, centred."""
        self.state = (self.state + _GOLDEN) & _MASK
        return ((_mix64(self.state) >> 11) + 0.5) * _TWO_M53

    def exponential(self) -> float:
        """Unit exponential by inversion."""
        return -math.log(self.uniform())

    def normal(self) -> float:
        """Standard normal by inversion (one uniform per draw keeps the stream aligned)."""
        return NORMAL.inv_cdf(self.uniform())

    def categorical(self, cum) -> int:
        """Index drawn from cumulative probabilities ``cum`` (shape (k,), last entry 1)."""
        u = self.uniform()
        for i in range(len(cum) - 1):
            if u < cum[i]:
                return i
        return len(cum) - 1

    def negative_binomial(self, mean: float, size: float, cap: int) -> int:
        """Negative-binomial count (mean ``mean``, size ``size``) by sequential search of the
        CDF, at most ``cap``; one uniform."""
        return negative_binomial_ppf(self.uniform(), mean, size, cap)

    def poisson(self, mean: float) -> int:
        """Poisson draw by sequential search of the CDF (small means; at most 1000)."""
        u = self.uniform()
        k = 0
        p = math.exp(-mean)
        c = p
        while u > c and k < 1000:
            k += 1
            p *= mean / k
            c += p
        return k
