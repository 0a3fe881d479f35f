"""A Gaussian-process emulator of the calibration's target errors, for history matching.

One simulation of every study takes seconds; the Bayesian step of a calibration needs the target
errors at hundreds of thousands of parameter sets. The emulator stands in for the simulator there
(:mod:`oligosim.calibration.history`): it predicts every output at a unit-cube point with a mean
and a variance, trained on the points already simulated.

Model (the separable multi-output emulator of Conti & O'Hagan, J Stat Plan Inference 2010;
140:640-651): output ``j`` at point ``x`` of the unit cube is

    f_j(x) = h(x)' beta_j + sigma_j^2-scaled Gaussian process,   h(x) = (1, x_1, ..., x_d)
    corr(f_j(x), f_j(x')) = exp(-sum_k ((x_k - x'_k) / l_k)^2) + g [x = x']

with one correlation (lengths ``l_k``, nugget ``g``) shared by all outputs and a mean and variance
of their own. Why one correlation: the posterior variance ``1 + g - r' R^-1 r`` is then computed
once per point for all 70 targets instead of 70 times, which is what makes the Bayesian step
affordable; the price is that a target which depends on a few parameters gets lengths fitted to
the whole set, and its emulator is less sharp than its own would be. The nugget carries what
the inputs do not explain smoothly (medians read at scan dates jump between visits).

Fitting: every output is standardised; ``beta`` and ``sigma_j^2`` are profiled out (generalised
least squares and REML), and the lengths and nugget maximise the summed restricted likelihood
(L-BFGS-B on their logs, analytic gradient, two fixed starts). Uncertainty about ``beta`` and
the hyperparameters is not propagated (plug-in), the usual choice in history matching (Vernon,
Goldstein & Bower, Bayesian Anal 2010; Andrianakis et al., PLoS Comput Biol 2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

__all__ = ["Emulator", "fit_emulator", "restricted_loglik"]

#: bounds of the correlation lengths (unit-cube units) and of the nugget (share of the variance)
LENGTH_BOUNDS = (0.02, 50.0)
NUGGET_BOUNDS = (1e-6, 2.0)


def _design(X: np.ndarray) -> np.ndarray:
    """Regressors h(x) = (1, x): shape (n, d + 1)."""
    return np.column_stack([np.ones(len(X)), X])


def _sqdist_corr(A: np.ndarray, B: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """exp(-sum_k ((a_k - b_k) / l_k)^2), shape (len(A), len(B))."""
    As, Bs = A / lengths, B / lengths
    d2 = (As * As).sum(1)[:, None] + (Bs * Bs).sum(1)[None, :] - 2.0 * As @ Bs.T
    return np.exp(-np.maximum(d2, 0.0))


def restricted_loglik(theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """Summed REML log likelihood of standardised outputs ``Y`` and its gradient in ``theta``.

    Parameters
    ----------
    theta : ndarray, shape (d + 1,)
        ``log l_1 .. log l_d, log g``.
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, m)

    Returns
    -------
    (value, gradient)
        ``-m/2 (log|R| + log|H'R^-1 H|) - (n-q)/2 sum_j log(y_j' P y_j)`` (constants dropped),
        ``P = R^-1 - R^-1 H (H'R^-1 H)^-1 H' R^-1``, and its gradient
        ``1/2 tr((B - m P) dR)`` with ``B = sum_j P y_j y_j' P / s_j``, ``s_j = y_j' P y_j / (n-q)``.
    """
    n, d = X.shape
    m = Y.shape[1]
    lengths, g = np.exp(theta[:d]), math.exp(theta[d])
    C = _sqdist_corr(X, X, lengths)
    R = C + g * np.eye(n)
    try:
        cf = linalg.cho_factor(R, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return -np.inf, np.zeros_like(theta)
    H = _design(X)
    q = H.shape[1]
    Ri = linalg.cho_solve(cf, np.eye(n), check_finite=False)
    RiH = Ri @ H
    A = H.T @ RiH
    try:
        Ai = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return -np.inf, np.zeros_like(theta)
    P = Ri - RiH @ Ai @ RiH.T
    PY = P @ Y
    quad = np.einsum("ij,ij->j", Y, PY)
    quad = np.maximum(quad, 1e-300)
    s = quad / (n - q)
    logdetR = 2.0 * np.log(np.diag(cf[0])).sum()
    _, logdetA = np.linalg.slogdet(A)
    value = -0.5 * m * (logdetR + logdetA) - 0.5 * (n - q) * np.log(quad).sum()
    B = (PY / s) @ PY.T
    M = (B - m * P)
    Mc = M * C
    # tr(M dR/dlog l_k) with dR/dlog l_k = C o 2 D_k / l_k^2, D_k the squared differences in x_k
    rowsum = Mc.sum(1)
    grad = np.empty(d + 1)
    MX = Mc @ X
    for k in range(d):
        xk = X[:, k]
        tr = 2.0 * (xk * xk) @ rowsum - 2.0 * xk @ MX[:, k]
        grad[k] = 0.5 * tr * 2.0 / lengths[k] ** 2
    grad[d] = 0.5 * g * np.trace(M)
    return float(value), grad


@dataclass
class Emulator:
    """A fitted emulator (:func:`fit_emulator`); :meth:`predict` gives mean and variance."""

    X: np.ndarray  #: training points, shape (n, d)
    Y: np.ndarray  #: training outputs, shape (n, m)
    lengths: np.ndarray  #: correlation lengths, shape (d,)
    nugget: float
    beta: np.ndarray  #: GLS coefficients of the standardised outputs, shape (d + 1, m)
    sigma2: np.ndarray  #: variance of each standardised output, shape (m,)
    y_center: np.ndarray  #: standardisation, shape (m,)
    y_scale: np.ndarray
    chol: tuple  #: Cholesky factor of R
    alpha: np.ndarray  #: R^-1 (Y - H beta), shape (n, m)
    loglik: float

    @property
    def outputs(self) -> int:
        return len(self.sigma2)

    def predict(self, Z: np.ndarray, *, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance of every output at the points ``Z`` (shape (k, d)).

        Returns
        -------
        (mean, var), each of shape (k, m), in the outputs' own units; ``var`` is the variance
        of the simulator's output (the nugget included), floored at 1e-12 of ``sigma2`` against
        rounding.
        """
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        k = len(Z)
        mean = np.empty((k, self.outputs))
        var = np.empty((k, self.outputs))
        for a in range(0, k, chunk):
            Zc = Z[a : a + chunk]
            r = _sqdist_corr(Zc, self.X, self.lengths)
            mu = _design(Zc) @ self.beta + r @ self.alpha
            v = linalg.solve_triangular(self.chol[0], r.T, lower=True, check_finite=False)
            unit = np.maximum(1.0 + self.nugget - (v * v).sum(0), 1e-12)
            mean[a : a + chunk] = self.y_center + self.y_scale * mu
            var[a : a + chunk] = unit[:, None] * (self.sigma2 * self.y_scale**2)[None, :]
        return mean, var

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out predictive means and variances at the training points, each of shape
        (n, m): the closed form of Rasmussen & Williams (2006, 5.4.2), ``y_i - mu_-i =
        [R^-1 r]_i / [R^-1]_ii`` with the regression held at its fit."""
        n = len(self.X)
        dinv = 1.0 / np.diag(linalg.cho_solve(self.chol, np.eye(n), check_finite=False))
        fitted = self.Y - self.y_scale * (self.alpha * dinv[:, None])
        return fitted, dinv[:, None] * (self.sigma2 * self.y_scale**2)[None, :]


def fit_emulator(X: np.ndarray, Y: np.ndarray, *, maxiter: int = 200) -> Emulator:
    """Fit the emulator to outputs ``Y`` (shape (n, m)) at unit-cube points ``X`` (shape (n, d)).

    Deterministic: two fixed starts (all lengths ``0.5 sqrt(d)`` with nugget 0.01, and
    ``sqrt(d)`` with nugget 0.1); the better optimum is kept.

    Raises
    ------
    ValueError
        With fewer points than ``d + 3`` or non-finite outputs.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    n, d = X.shape
    if n < d + 3:
        raise ValueError(f"an emulator of {d} inputs needs at least {d + 3} points, got {n}")
    if not np.isfinite(Y).all():
        raise ValueError("emulator outputs must be finite")
    center = Y.mean(0)
    scale = Y.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    Ys = (Y - center) / scale
    bounds = [tuple(np.log(LENGTH_BOUNDS))] * d + [tuple(np.log(NUGGET_BOUNDS))]
    best = None
    for l0, g0 in ((0.5 * math.sqrt(d), 0.01), (math.sqrt(d), 0.1)):
        theta0 = np.r_[np.full(d, math.log(l0)), math.log(g0)]

        def neg(t):
            v, gr = restricted_loglik(t, X, Ys)
            if not np.isfinite(v):
                return 1e300, np.zeros_like(t)
            return -v, -gr

        res = optimize.minimize(neg, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
        if best is None or res.fun < best.fun:
            best = res
    theta = best.x
    lengths, g = np.exp(theta[:d]), float(math.exp(theta[d]))
    R = _sqdist_corr(X, X, lengths) + g * np.eye(n)
    cf = linalg.cho_factor(R, lower=True, check_finite=False)
    H = _design(X)
    RiH = linalg.cho_solve(cf, H, check_finite=False)
    beta = np.linalg.solve(H.T @ RiH, RiH.T @ Ys)
    resid = Ys - H @ beta
    alpha = linalg.cho_solve(cf, resid, check_finite=False)
    sigma2 = np.einsum("ij,ij->j", resid, alpha) / (n - H.shape[1])
    return Emulator(X=X, Y=Y, lengths=lengths, nugget=g, beta=beta, sigma2=sigma2, y_center=center, y_scale=scale, chol=cf, alpha=alpha, loglik=-float(best.fun))
