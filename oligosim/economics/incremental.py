"""Incremental analysis of strategies: dominance, extended dominance, ICERs, net benefit.

Pure functions of a table of mean costs and effects (no simulation), so that they can be
checked on hand-made tables (tests/test_economics_incremental.py).
"""

from __future__ import annotations

import numpy as np

DOMINATED = "dominated"
EXTENDED = "extendedly dominated"
FRONTIER = "frontier"


def frontier(costs, effects) -> tuple[list[str], list[float | None], list[int | None]]:
    """The efficient frontier of strategies.

    A strategy is *dominated* when another costs no more and gives no less effect (one of the
    two strictly); *extendedly dominated* when a mix of two others would give more effect for
    its cost, i.e. when, among the remaining strategies ordered by cost, its ICER exceeds the
    next one's. ICERs of frontier strategies are against the previous frontier strategy.

    Parameters
    ----------
    costs, effects : array_like, shape (k,)
        Mean cost and mean effect of each strategy.

    Returns
    -------
    status : list of str
        :data:`FRONTIER`, :data:`DOMINATED` or :data:`EXTENDED` per strategy.
    icer : list of float or None
        Incremental cost per unit of effect against the previous frontier strategy (None for
        the cheapest frontier strategy and for strategies off the frontier).
    against : list of int or None
        Index of that previous frontier strategy.
    """
    c = np.asarray(costs, float)
    e = np.asarray(effects, float)
    k = c.size
    status = [FRONTIER] * k
    for i in range(k):
        for j in range(k):
            if j != i and c[j] <= c[i] and e[j] >= e[i] and (c[j] < c[i] or e[j] > e[i]):
                status[i] = DOMINATED
                break
    # identical strategies: keep the first one on the frontier
    for i in range(k):
        for j in range(i):
            if status[i] == FRONTIER and status[j] == FRONTIER and c[i] == c[j] and e[i] == e[j]:
                status[i] = DOMINATED
    order = sorted((i for i in range(k) if status[i] == FRONTIER), key=lambda i: (c[i], -e[i]))
    changed = True
    while changed:
        changed = False
        icers = [(c[order[m]] - c[order[m - 1]]) / (e[order[m]] - e[order[m - 1]]) for m in range(1, len(order))]
        for m in range(len(icers) - 1):
            if icers[m] > icers[m + 1]:
                status[order[m + 1]] = EXTENDED
                del order[m + 1]
                changed = True
                break
    icer: list[float | None] = [None] * k
    against: list[int | None] = [None] * k
    for m in range(1, len(order)):
        i, p = order[m], order[m - 1]
        icer[i] = float((c[i] - c[p]) / (e[i] - e[p]))
        against[i] = p
    return status, icer, against


def net_monetary_benefit(costs, effects, wtp) -> np.ndarray:
    """``wtp x effect - cost`` for each strategy (and each willingness to pay).

    Parameters
    ----------
    costs, effects : array_like, shape (..., k)
    wtp : float or array_like, shape (w,)

    Returns
    -------
    ndarray, shape (..., k) for a scalar ``wtp``, else (w, ..., k)
    """
    c = np.asarray(costs, float)
    e = np.asarray(effects, float)
    w = np.asarray(wtp, float)
    if w.ndim == 0:
        return w * e - c
    return w.reshape((-1,) + (1,) * e.ndim) * e[None] - c[None]


def optimal_at(costs, effects, wtp: float) -> int:
    """Index of the strategy of largest net monetary benefit at ``wtp`` (the first of ties)."""
    return int(np.argmax(net_monetary_benefit(costs, effects, wtp)))
