"""Value of information against closed forms (issue 23, item 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from oligosim.economics.voi import ceac, ceaf, evpi, evppi, population_factor


def _normal_evpi(mu, sigma):
    """Two strategies, incremental net benefit ~ N(mu, sigma^2): EVPI = E[max(0, X)] - max(0, mu)."""
    return sigma * norm.pdf(mu / sigma) + mu * norm.cdf(mu / sigma) - max(0.0, mu)


@pytest.mark.parametrize("mu", [0.0, 500.0, -1500.0])
def test_evpi_two_strategy_normal_closed_form(mu):
    sigma = 2000.0
    rng = np.random.default_rng(1)
    x = rng.normal(mu, sigma, 400_000)
    nb = np.column_stack([np.zeros_like(x), x])
    gain = np.maximum(x, 0.0)
    se = gain.std(ddof=1) / math.sqrt(x.size)
    # the max of the means is within its own SE of max(0, mu) too: allow both
    assert abs(evpi(nb) - _normal_evpi(mu, sigma)) < 4 * se + 4 * sigma / math.sqrt(x.size)


def test_evppi_linear_normal_closed_form_and_bounds():
    """INB = mu + a t1 + b t2 with independent standard normals: EVPPI(t1) is the EVPI of
    N(mu, a^2); EVPPI of all parameters equals the EVPI; every EVPPI is in [0, EVPI]."""
    rng = np.random.default_rng(2)
    n = 400
    t = rng.standard_normal((n, 3))
    mu, a, b = 200.0, 1000.0, 600.0
    inc = mu + a * t[:, 0] + b * t[:, 1]  # t[:, 2] is irrelevant
    nb = np.column_stack([np.zeros(n), inc])
    total = evpi(nb)
    e1 = evppi(nb, t[:, [0]])
    e_all = evppi(nb, t)
    e3 = evppi(nb, t[:, [2]])
    assert -1e-9 * total <= e3 < 0.05 * total
    assert e1 <= total + 1e-9 and e_all <= total + 1e-6 * abs(total)
    assert e_all == pytest.approx(total, rel=0.02)
    # against the true conditional expectation on the same draws (regression error only) ...
    cond = mu + a * t[:, 0]
    oracle = np.maximum(cond, 0.0).mean() - max(0.0, cond.mean())
    assert e1 == pytest.approx(oracle, rel=0.05)
    # ... and the closed form within 4 standard errors of the draws' mean
    se = np.maximum(cond, 0.0).std(ddof=1) / math.sqrt(n) + a / math.sqrt(n)
    assert abs(e1 - _normal_evpi(mu, a)) < 4 * se
    # deterministic: the same draws give the same number
    assert evppi(nb, t[:, [0]]) == e1


def test_ceac_and_ceaf():
    # strategy 1 costs 1000 more and gains 0.1 QALY in every draw but one, where it gains 0
    costs = np.array([[0.0, 1000.0]] * 4)
    effects = np.array([[1.0, 1.1], [1.0, 1.1], [1.0, 1.1], [1.0, 1.0]])
    w = np.array([5000.0, 20000.0])
    c = ceac(costs, effects, w)
    assert np.allclose(c.sum(axis=1), 1.0)
    assert list(c[:, 1]) == [0.0, 0.75]
    opt, p = ceaf(costs, effects, w)
    assert list(opt) == [0, 1] and list(p) == [1.0, 0.75]


def test_population_factor():
    assert population_factor(100.0, 10.0, 0.0) == pytest.approx(1000.0)
    k = math.log(1.05)
    assert population_factor(100.0, 10.0, 0.05) == pytest.approx(100.0 * (1 - 1.05**-10) / k, rel=1e-12)
