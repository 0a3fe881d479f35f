"""Decision uncertainty from a PSA: CEAC, CEAF, EVPI and regression-based EVPPI.

Inputs are net benefits ``nb[s, k]`` of strategy ``k`` in PSA draw ``s`` (currency, per
patient). The expected value of perfect information is
``EVPI = E_s[max_k nb] - max_k E_s[nb]``; of partial perfect information on a parameter group
``phi``, ``EVPPI = E[max_k E[nb_k | phi]] - max_k E[nb_k]``, with the conditional expectations
estimated by regressing each strategy's incremental net benefit on the group's draws (Strong,
Oakley & Brennan, Med Decis Making 2014;34:311-326): a Gaussian process with a squared
exponential kernel, one length scale per parameter (automatic relevance determination), its
hyperparameters fitted by maximum marginal likelihood. Numpy/scipy only: no dependency.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from oligosim.economics.incremental import net_monetary_benefit


def ceac(costs: np.ndarray, effects: np.ndarray, wtp: np.ndarray) -> np.ndarray:
    """Cost-effectiveness acceptability curves.

    Parameters
    ----------
    costs, effects : ndarray, shape (draws, k)
        Mean cost and effect of each strategy in each PSA draw.
    wtp : ndarray, shape (w,)

    Returns
    -------
    ndarray, shape (w, k)
        Share of draws in which each strategy has the largest net benefit (ties split equally,
        so each row sums to 1).
    """
    nb = net_monetary_benefit(costs, effects, wtp)  # (w, draws, k)
    best = nb == nb.max(axis=2, keepdims=True)
    return (best / best.sum(axis=2, keepdims=True)).mean(axis=1)


def ceaf(costs: np.ndarray, effects: np.ndarray, wtp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost-effectiveness acceptability frontier: at each willingness to pay, the strategy of
    largest *expected* net benefit (the optimal decision) and its probability of being the
    most cost-effective.

    Returns
    -------
    optimal : ndarray of int, shape (w,)
    probability : ndarray, shape (w,)
    """
    nb = net_monetary_benefit(costs, effects, wtp)
    opt = np.argmax(nb.mean(axis=1), axis=1)
    curves = ceac(costs, effects, wtp)
    return opt, curves[np.arange(opt.size), opt]


def evpi(nb: np.ndarray) -> float:
    """Per-patient EVPI (currency) from net benefits ``nb`` of shape (draws, k)."""
    nb = np.asarray(nb, float)
    return float(np.mean(nb.max(axis=1)) - np.max(nb.mean(axis=0)))


def population_factor(incidence_per_year: float, horizon_years: float, discount_per_year: float) -> float:
    """Discounted number of patients over the horizon: ``I int_0^H (1 + r)^-t dt``."""
    k = math.log1p(discount_per_year)
    years = horizon_years if k == 0.0 else -math.expm1(-k * horizon_years) / k
    return float(incidence_per_year * years)


# ----------------------------------------------------------------------------- GP regression


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def _neg_log_marginal(theta, X, y):
    """Negative log marginal likelihood of a zero-mean GP (after centring) with an ARD squared
    exponential kernel, and its gradient; ``theta = (log length scales, log signal sd, log
    noise sd)``. The gradient is analytic (``-1/2 tr((a a' - K^-1) dK)``): numerical gradients
    would cost d + 2 Cholesky factorisations per step."""
    n, d = X.shape
    ls, sf, sn = np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
    Z = X / ls
    Kf = sf * sf * np.exp(-0.5 * _sqdist(Z, Z))
    K = Kf + (sn * sn + 1e-10) * np.eye(n)
    try:
        c = cho_factor(K, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve(c, y, check_finite=False)
    nll = float(0.5 * y @ alpha + np.log(np.diag(c[0])).sum() + 0.5 * n * math.log(2 * math.pi))
    W = np.outer(alpha, alpha) - cho_solve(c, np.eye(n), check_finite=False)
    grad = np.empty_like(theta)
    for j in range(d):
        diff = Z[:, j][:, None] - Z[:, j][None, :]
        grad[j] = -0.5 * np.sum(W * Kf * diff * diff)
    grad[d] = -0.5 * np.sum(W * 2.0 * Kf)
    grad[d + 1] = -0.5 * np.trace(W) * 2.0 * sn * sn
    return nll, grad


def gp_fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Posterior mean of a GP regression of ``y`` on ``X`` at the draws themselves.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Parameter draws (standardised here).
    y : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
        Fitted ``E[y | X]``; deterministic (a fixed start and a deterministic optimiser).
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    mu, sd = y.mean(), y.std()
    if sd == 0.0:
        return np.full_like(y, mu)
    ys = (y - mu) / sd
    xs = X.std(axis=0)
    Xs = (X - X.mean(axis=0)) / np.where(xs > 0, xs, 1.0)
    d = X.shape[1]
    theta0 = np.concatenate([np.zeros(d), [0.0, math.log(0.1)]])
    # length scales 0.05-100 sd, signal 0.01-100, noise >= 1e-4 of the sd (a near-deterministic
    # response keeps a well-conditioned kernel)
    bounds = [(math.log(0.05), math.log(100.0))] * d + [(math.log(0.01), math.log(100.0)), (math.log(1e-4), math.log(10.0))]
    res = minimize(_neg_log_marginal, theta0, args=(Xs, ys), jac=True, method="L-BFGS-B", bounds=bounds)
    th = res.x
    ls, sf, sn = np.exp(th[:d]), math.exp(th[d]), math.exp(th[d + 1])
    Z = Xs / ls
    Kf = sf * sf * np.exp(-0.5 * _sqdist(Z, Z))
    c = cho_factor(Kf + (sn * sn + 1e-10) * np.eye(y.size), lower=True, check_finite=False)
    return mu + sd * (Kf @ cho_solve(c, ys, check_finite=False))


def evppi(nb: np.ndarray, X: np.ndarray) -> float:
    """Per-patient EVPPI of the parameters ``X`` (draws, d) from net benefits ``nb`` (draws, k).

    Each strategy's net benefit minus the first strategy's is regressed on ``X``
    (:func:`gp_fit`); the first strategy's own conditional expectation cancels in the max.
    """
    nb = np.asarray(nb, float)
    X = np.asarray(X, float).reshape(nb.shape[0], -1)
    inc = nb - nb[:, :1]
    fitted = np.zeros_like(inc)
    for k in range(1, nb.shape[1]):
        fitted[:, k] = gp_fit(X, inc[:, k])
    return float(np.mean(fitted.max(axis=1)) - np.max(fitted.mean(axis=0)))
