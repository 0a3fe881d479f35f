"""Per-cycle toxicity in the kernel (model 5.5): a regimen may give a toxicity type's grade >= 3
probability per cycle instead of per line.

With a per-cycle probability ``p`` (the same in every cycle: a constant hazard per cycle), the
first event of the type falls in cycle ``j``, the smallest ``j >= 1`` with
``u < 1 - (1 - p)^j``, i.e. ``j = floor(log(1 - u) / log(1 - p)) + 1`` (geometric), at a uniform
time ``v`` within that cycle. ``u`` and ``v`` are the two TOXICITY uniforms the per-line rule
draws for the type, so switching a type between the rules changes no other draw (common random
numbers). The cycles counted are the induction's and the maintenance's; the times follow the
nominal schedule from the line's start (pauses are not added, as for per-line events), and a line
stopped early cancels the events of cycles it never gave (:func:`systemic.stop_line`).
"""

from __future__ import annotations

import math

from numba import njit

from oligosim._kernels.state import INF

#: tolerance of the count of maintenance cycles: 12 months of 3-week cycles is 17.39 cycles
#: (18 given), a maintenance of exactly k cycles in months must not count k + 1 by rounding
_CYCLE_EPS = 1e-9


@njit(cache=True, _nrt=False)
def n_cycles(R, reg):
    """Cycles a line of regimen ``reg`` gives at most: its induction cycles, then one cycle
    started every cycle length during its maintenance (ceil(maintenance / cycle))."""
    n = R.cycles[reg]
    if R.maintenance[reg] > 0.0:
        n += int(math.ceil(R.maintenance[reg] / R.cycle[reg] - _CYCLE_EPS))
    return n


@njit(cache=True, _nrt=False)
def first_cycle(p, u):
    """The cycle (1, 2, ...; a float, as it can be huge for a tiny ``p``) in which the first
    event with per-cycle probability ``p`` falls, from the uniform ``u`` in [0, 1); inf when
    ``p`` is 0, 1 when ``p`` is 1."""
    if p <= 0.0:
        return INF
    if p >= 1.0:
        return 1.0
    return math.floor(math.log1p(-u) / math.log1p(-p)) + 1.0


@njit(cache=True, _nrt=False)
def event_time(p, u, v, t, cycle, n):
    """Time (months) of a line's first event of a per-cycle type, or inf if it falls after the
    line's ``n`` cycles.

    Parameters
    ----------
    p : float
        Per-cycle probability (odds-scaled for the patient), in [0, 1].
    u, v : float
        The type's two TOXICITY uniforms: ``u`` decides the cycle, ``v`` the time within it.
    t : float
        Start of the line (months).
    cycle : float
        Cycle length (months).
    n : int
        Cycles the line gives at most (:func:`n_cycles`).
    """
    j = first_cycle(p, u)
    if j > n:
        return INF
    return t + (j - 1.0) * cycle + v * cycle
