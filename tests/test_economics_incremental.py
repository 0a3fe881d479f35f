"""Efficient frontier, ICERs and net monetary benefit on hand-made tables (issue 23, item 3)."""

from __future__ import annotations

import numpy as np
import pytest

from oligosim.economics.incremental import DOMINATED, EXTENDED, FRONTIER, frontier, net_monetary_benefit, optimal_at


def test_frontier_with_dominance_and_extended_dominance():
    # A cheapest; B dominated by C (costs more, less effect); D extendedly dominated: the
    # A->D ICER (20,000) exceeds the D->E ICER (10,000); E's ICER against A is 12,500
    costs = [1000.0, 9000.0, 5000.0, 21000.0, 31000.0]
    effects = [1.0, 1.1, 1.3, 2.0, 3.0]
    status, icer, against = frontier(costs, effects)
    # C vs A: 4000 / 0.3 = 13,333; D vs C: 16000 / 0.7 = 22,857; E vs D: 10000 -> D extended;
    # then E vs C: 26000 / 1.7 = 15,294 > 13,333: C stays
    assert status == [FRONTIER, DOMINATED, FRONTIER, EXTENDED, FRONTIER]
    assert icer[0] is None and icer[1] is None and icer[3] is None
    assert icer[2] == pytest.approx(4000 / 0.3)
    assert icer[4] == pytest.approx(26000 / 1.7)
    assert against == [None, None, 0, None, 2]


def test_extended_dominance_cascades():
    # B is extendedly dominated; once removed, C becomes extendedly dominated too
    costs = [0.0, 10.0, 19.0, 30.0]
    effects = [0.0, 0.5, 0.9, 2.0]
    # ICERs 20, 22.5, 10 -> C out (22.5 > 10); then A->B 20, B->D 13.33 -> B out; A->D 15
    status, icer, _ = frontier(costs, effects)
    assert status == [FRONTIER, EXTENDED, EXTENDED, FRONTIER]
    assert icer[3] == pytest.approx(15.0)


def test_strong_dominance_ties_and_single_strategy():
    status, icer, _ = frontier([5.0, 5.0, 3.0], [1.0, 2.0, 2.0])
    assert status == [DOMINATED, DOMINATED, FRONTIER]  # the cheaper equally effective one dominates
    assert frontier([7.0], [1.0]) == ([FRONTIER], [None], [None])
    # identical strategies: the first stays
    assert frontier([1.0, 1.0], [2.0, 2.0])[0] == [FRONTIER, DOMINATED]


def test_net_monetary_benefit_and_optimum_follow_the_icers():
    costs = np.array([1000.0, 5000.0, 31000.0])
    effects = np.array([1.0, 1.3, 3.0])
    assert list(net_monetary_benefit(costs, effects, 10000.0)) == [9000.0, 8000.0, -1000.0]
    # the optimum switches at each frontier ICER: 13,333 then 15,294
    assert optimal_at(costs, effects, 13000.0) == 0
    assert optimal_at(costs, effects, 13400.0) == 1
    assert optimal_at(costs, effects, 15400.0) == 2
    grid = net_monetary_benefit(costs, effects, [0.0, 1.0])
    assert grid.shape == (2, 3) and list(grid[0]) == list(-costs)
