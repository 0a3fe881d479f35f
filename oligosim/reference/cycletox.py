"""Per-cycle toxicity in the reference engine (model 5.5), written apart from the kernel's
:mod:`oligosim._kernels.cycletox`.

A toxicity type given per cycle with probability ``p`` in each cycle has its first grade >= 3
event in the first cycle ``j`` whose cumulative probability ``1 - (1 - p)^j`` exceeds the
type's first TOXICITY uniform ``u`` (so ``j`` is geometric), at the fraction ``v`` (the second
uniform) of that cycle; none if ``j`` is beyond the cycles the line gives (induction, then the
cycles started during maintenance).
"""

from __future__ import annotations

import math

INF = math.inf


def max_cycles(R, reg: int) -> int:
    """Induction cycles of regimen ``reg`` plus the cycles started during its maintenance (a new
    cycle every cycle length, the last one possibly cut short by the maintenance's end)."""
    cycles = int(R.cycles[reg])
    maintenance, length = float(R.maintenance[reg]), float(R.cycle[reg])
    if maintenance > 0.0:
        # 1e-9: a maintenance of exactly k cycles counts k, whatever the rounding of months
        cycles += math.ceil(maintenance / length - 1e-9)
    return cycles


def cycle_of_first_event(p: float, u: float) -> float:
    """Smallest ``j >= 1`` with ``u < 1 - (1 - p)^j`` (inf when p = 0): since
    ``(1 - p)^j < 1 - u`` is ``j > log(1 - u) / log(1 - p)``, it is the floor of that ratio
    plus one."""
    if p <= 0.0:
        return INF
    if p >= 1.0:
        return 1.0
    return math.floor(math.log1p(-u) / math.log1p(-p)) + 1.0


def first_event_time(p: float, u: float, v: float, start: float, length: float, cycles: int) -> float:
    """Months from time 0 to the first event of a per-cycle type in a line started at ``start``
    (months) with cycles of ``length`` months, at most ``cycles`` of them; inf if none."""
    j = cycle_of_first_event(p, u)
    if j > cycles:
        return INF
    return start + (j - 1.0) * length + v * length
