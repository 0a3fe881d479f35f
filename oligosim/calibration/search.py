"""The two search algorithms of the calibration, on the unit cube, free of any model code.

Both work on a *batch objective* ``fn(Z) -> d``: ``Z`` is a ``(k, dim)`` array of points of the
unit cube ``[0, 1]^dim`` and ``d`` the ``k`` objective values (distances). Batches let the caller
evaluate candidates in parallel; both algorithms call ``fn`` in a deterministic order, so for a
deterministic ``fn`` (common random numbers) and a given seed the results are reproducible bit
for bit, whatever the number of workers behind ``fn``.

* :func:`optimize` -- point fit: a scrambled Sobol' screen of the cube (one parallel batch),
  then bounded Nelder-Mead (:func:`scipy.optimize.minimize`) from the best screened point, with
  restarts from the incumbent while they still improve it.
* :func:`abc_smc` -- Bayesian posterior: ABC sequential Monte Carlo / population Monte Carlo
  (Toni et al. 2009; Beaumont et al. 2009), with an adaptive tolerance schedule (each
  generation's tolerance is a quantile of the previous generation's distances), a Gaussian
  perturbation kernel with twice the weighted covariance of the previous population, and
  importance weights ``prior(z) / sum_j w_j K(z | z_j)``.

:class:`UnitPrior` is the prior on the cube that :func:`abc_smc` samples from and weighs with.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

BatchFn = Callable[[np.ndarray], np.ndarray]


# ============================================================================ prior


class UnitPrior:
    """An independent prior on the unit cube, one marginal per coordinate.

    Parameters
    ----------
    marginals : sequence of (ppf, pdf) or None
        For coordinate ``i``: ``None`` for a uniform marginal, or a pair of vectorised functions
        -- ``ppf(u)`` mapping uniforms in [0, 1] to the coordinate in [0, 1] and ``pdf(z)`` its
        density on [0, 1] (0 outside).
    """

    def __init__(self, marginals: Sequence):
        self.marginals = list(marginals)
        self.dim = len(self.marginals)

    @classmethod
    def uniform(cls, dim: int) -> "UnitPrior":
        return cls([None] * dim)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws, shape ``(n, dim)``."""
        u = rng.random((n, self.dim))
        z = np.empty_like(u)
        for i, m in enumerate(self.marginals):
            z[:, i] = u[:, i] if m is None else np.clip(m[0](u[:, i]), 0.0, 1.0)
        return z

    def pdf(self, z: np.ndarray) -> np.ndarray:
        """Density at each row of ``z`` (0 outside the cube)."""
        z = np.atleast_2d(z)
        inside = np.all((z >= 0.0) & (z <= 1.0), axis=1)
        out = inside.astype(float)
        for i, m in enumerate(self.marginals):
            if m is not None:
                out = out * np.where(inside, m[1](np.clip(z[:, i], 0.0, 1.0)), 0.0)
        return out


# ============================================================================ point fit


@dataclass
class OptimizeResult:
    """Outcome of :func:`optimize`.

    Attributes
    ----------
    x : ndarray
        Best point found (unit cube).
    fun : float
        Its objective value.
    nfev : int
        Objective evaluations (screen + local search, cached repeats not counted).
    screen_best : float
        Best value of the screen.
    local_runs : list of dict
        One per Nelder-Mead run: start value, end value, evaluations, scipy's message.
    history : list of (phase, x, f)
        Every evaluation in order.
    """

    x: np.ndarray
    fun: float
    nfev: int
    screen_best: float
    local_runs: list = field(default_factory=list)
    history: list = field(default_factory=list)


def sobol_points(n: int, dim: int, seed: int) -> np.ndarray:
    """``n`` scrambled Sobol' points of the unit cube (any ``n``; balance is best for 2^k)."""
    from scipy.stats import qmc

    sampler = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "balance properties" warning for n not a power of 2
        return sampler.random(n)


class _Cached:
    """Scalar view of a batch objective with a cache (Nelder-Mead revisits clipped points)."""

    def __init__(self, fn: BatchFn, history: list):
        self.fn = fn
        self.cache: dict[bytes, float] = {}
        self.history = history
        self.nfev = 0
        self.phase = "local"

    def batch(self, Z: np.ndarray, phase: str) -> np.ndarray:
        Z = np.clip(np.atleast_2d(np.asarray(Z, dtype=float)), 0.0, 1.0)
        out = np.empty(len(Z))
        todo = []
        for i, z in enumerate(Z):
            key = z.tobytes()
            if key in self.cache:
                out[i] = self.cache[key]
            else:
                todo.append(i)
        # evaluate each new point once, even if repeated within the batch
        unique: dict[bytes, int] = {}
        for i in todo:
            unique.setdefault(Z[i].tobytes(), i)
        if unique:
            idx = list(unique.values())
            vals = np.asarray(self.fn(Z[idx]), dtype=float)
            for i, v in zip(idx, vals):
                self.cache[Z[i].tobytes()] = float(v)
                self.history.append((phase, Z[i].copy(), float(v)))
            self.nfev += len(idx)
        for i in todo:
            out[i] = self.cache[Z[i].tobytes()]
        return out

    def __call__(self, z: np.ndarray) -> float:
        v = float(self.batch(z[None, :], self.phase)[0])
        return v if math.isfinite(v) else 1e300


def _simplex(x0: np.ndarray, step: float) -> np.ndarray:
    """Initial simplex: ``x0`` and ``x0 +- step`` along each axis (inward at the cube's faces)."""
    d = len(x0)
    s = np.tile(x0, (d + 1, 1))
    for i in range(d):
        s[i + 1, i] = x0[i] + step if x0[i] + step <= 1.0 else x0[i] - step
    return s


def optimize(
    fn: BatchFn,
    dim: int,
    *,
    screen_points: int = 32,
    max_evaluations: int = 200,
    initial_step: float = 0.15,
    restarts: int = 1,
    xatol: float = 0.01,
    fatol: float = 1e-3,
    seed: int = 0,
    starts: np.ndarray | None = None,
    local: str = "nelder-mead",
    on_phase: Callable[[str], None] | None = None,
) -> OptimizeResult:
    """Minimise a batch objective on the unit cube: Sobol' screen, then bounded Nelder-Mead.

    Parameters
    ----------
    fn : callable
        Batch objective (see the module docstring); ``inf`` or ``nan`` values are treated as
        very bad.
    dim : int
    screen_points : int
        Scrambled Sobol' points evaluated as one batch (0: start from ``starts[0]`` or the
        centre of the cube).
    max_evaluations : int
        Budget of the Nelder-Mead stage (all runs together).
    initial_step : float
        Edge of the initial simplex, as a fraction of the cube: large enough to step across the
        plateaus of a piecewise-constant objective (medians read at scan times).
    restarts : int
        Further Nelder-Mead runs from the incumbent (a fresh simplex) while budget remains and
        the previous run improved the objective by more than ``fatol``.
    xatol, fatol : float
        Nelder-Mead convergence tolerances (cube units, objective units).
    seed : int
        Seed of the Sobol' scrambling.
    starts : array, optional
        Extra candidate points ``(m, dim)`` screened with the Sobol' points (e.g. the current
        default parameter values), first.
    local : {"nelder-mead", "none"}
        ``"none"``: screen only.
    on_phase : callable, optional
        Called with ``"screen"`` / ``"local"`` before each stage.

    Returns
    -------
    OptimizeResult
    """
    from scipy.optimize import minimize

    if local not in ("nelder-mead", "none"):
        raise ValueError(f"local = {local!r}: must be 'nelder-mead' or 'none'")
    history: list = []
    f = _Cached(fn, history)
    cands = []
    if starts is not None and len(starts):
        cands.append(np.clip(np.atleast_2d(starts), 0.0, 1.0))
    if screen_points > 0:
        cands.append(sobol_points(screen_points, dim, seed))
    if not cands:
        cands.append(np.full((1, dim), 0.5))
    Z = np.vstack(cands)
    if on_phase:
        on_phase("screen")
    vals = f.batch(Z, "screen")
    vals_ok = np.where(np.isfinite(vals), vals, np.inf)
    best_i = int(np.argmin(vals_ok))
    x, fx = Z[best_i].copy(), float(vals[best_i])
    screen_best = fx
    runs = []
    budget = int(max_evaluations)
    screen_nfev = f.nfev
    if local == "nelder-mead" and budget > 0:
        if on_phase:
            on_phase("local")
        for run in range(restarts + 1):
            left = budget - (f.nfev - screen_nfev)
            if left < dim + 2:
                break
            start = fx
            before = f.nfev
            res = minimize(
                f,
                x,
                method="Nelder-Mead",
                bounds=[(0.0, 1.0)] * dim,
                options={"initial_simplex": _simplex(x, initial_step), "maxfev": left, "xatol": xatol, "fatol": fatol},
            )
            # the incumbent is the best point evaluated (Nelder-Mead returns its best vertex)
            for phase, z, v in history:
                if math.isfinite(v) and v < fx:
                    x, fx = z.copy(), v
            runs.append({"start": start, "end": fx, "evaluations": f.nfev - before, "message": str(res.message)})
            if start - fx <= fatol:
                break
    return OptimizeResult(x=x, fun=fx, nfev=f.nfev, screen_best=screen_best, local_runs=runs, history=history)


# ============================================================================ ABC-SMC


@dataclass
class AbcResult:
    """Outcome of :func:`abc_smc`.

    Attributes
    ----------
    particles : ndarray, shape (N, dim)
        Final population (unit cube).
    weights : ndarray, shape (N,)
        Normalised importance weights.
    distances : ndarray, shape (N,)
    generations : list of dict
        Per generation: ``epsilon`` (tolerance), ``proposals`` (kernel draws inside the
        support that were simulated), ``accepted``, ``acceptance_rate``, ``ess`` (effective
        sample size ``1 / sum w^2``), ``relaxed`` (whether the simulation budget ran out and
        the tolerance was raised to keep N particles).
    history : list of (generation, z, distance)
        Every simulated proposal in order.
    populations : list of (particles, weights, distances)
        Every generation's population.
    """

    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    generations: list
    history: list
    populations: list

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights**2))


def weighted_quantile(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Quantiles of ``x`` under normalised weights ``w`` (inverse of the weighted ECDF, midpoints)."""
    order = np.argsort(x, kind="stable")
    xs, ws = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cw = np.cumsum(ws) - 0.5 * ws
    cw /= ws.sum()
    return np.interp(q, cw, xs)


def weighted_cov(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted covariance (``w`` normalised), reliability-corrected; ``(dim, dim)``."""
    w = np.asarray(w, float) / np.sum(w)
    mu = w @ Z
    X = Z - mu
    c = (X * w[:, None]).T @ X
    denom = 1.0 - np.sum(w**2)
    return c / denom if denom > 1e-12 else c


def _perturb(rng, Z, w, chol, n):
    """``n`` kernel draws inside the cube: pick a particle by weight, add N(0, 2 Cov) noise."""
    out = np.empty((0, Z.shape[1]))
    while len(out) < n:
        m = max(2 * (n - len(out)), 16)
        j = rng.choice(len(Z), size=m, p=w)
        cand = Z[j] + rng.standard_normal((m, Z.shape[1])) @ chol.T
        inside = np.all((cand >= 0.0) & (cand <= 1.0), axis=1)
        out = np.vstack([out, cand[inside]])
    return out[:n]


def _log_kernel_mixture(Znew, Zold, wold, prec):
    """log sum_j w_j exp(-(z - z_j)' P (z - z_j) / 2) for each row of ``Znew`` (constant dropped)."""
    diff = Znew[:, None, :] - Zold[None, :, :]
    q = np.einsum("ijk,kl,ijl->ij", diff, prec, diff)
    a = np.log(np.maximum(wold, 1e-300))[None, :] - 0.5 * q
    amax = a.max(axis=1, keepdims=True)
    return (amax + np.log(np.exp(a - amax).sum(axis=1, keepdims=True)))[:, 0]


def abc_smc(
    fn: BatchFn,
    prior: UnitPrior,
    *,
    particles: int = 100,
    generations: int = 4,
    prior_draws: int | None = None,
    quantile: float = 0.5,
    max_proposals: int | None = None,
    batch: int | None = None,
    seed: int = 0,
    on_generation: Callable[[int, dict], None] | None = None,
) -> AbcResult:
    """ABC-SMC (population Monte Carlo) with an adaptive, quantile-based tolerance schedule.

    Generation 0 draws ``prior_draws`` points from the prior and keeps the ``particles`` with
    the smallest distances (rejection ABC at the tolerance that accepts exactly that many;
    equal weights). Generation ``t >= 1``:

    1. ``epsilon_t`` = the ``quantile`` of generation ``t-1``'s distances;
    2. propose: draw a particle ``z_j`` of generation ``t-1`` with probability ``w_j`` and
       perturb it, ``z = z_j + N(0, 2 Sigma)``, ``Sigma`` the weighted covariance of
       generation ``t-1`` (Beaumont 2009); draws outside the cube (prior density 0) are
       redrawn without simulating them;
    3. simulate the proposals in batches (in parallel inside ``fn``), in order, and accept
       ``d <= epsilon_t`` until ``particles`` are accepted (the first ones in proposal order,
       so the batch size does not change the result's distribution);
    4. weight ``w_i = prior(z_i) / sum_j w_j K(z_i | z_j)`` and normalise.

    If ``max_proposals`` simulations of a generation do not reach ``particles`` acceptances,
    the tolerance is raised to the ``particles``-th smallest distance of the generation's
    proposals (recorded as ``relaxed``), which keeps the budget bounded.

    Parameters
    ----------
    fn : callable
        Batch distance function on the unit cube.
    prior : UnitPrior
    particles : int
        Population size N.
    generations : int
        Populations in all, generation 0 included (>= 1).
    prior_draws : int, optional
        Prior draws of generation 0 (default ``2 * particles``; >= ``particles``).
    quantile : float
        In (0, 1): tolerance schedule.
    max_proposals : int, optional
        Simulations allowed per generation ``t >= 1`` (default ``10 * particles``).
    batch : int, optional
        Proposals simulated per call of ``fn`` (default: an estimate of what the remaining
        acceptances need, from the last acceptance rate).
    seed : int
    on_generation : callable, optional
        ``on_generation(t, info)`` after each generation.

    Returns
    -------
    AbcResult
    """
    n = int(particles)
    if n < 2:
        raise ValueError("particles must be >= 2")
    if generations < 1:
        raise ValueError("generations must be >= 1")
    if not 0.0 < quantile < 1.0:
        raise ValueError("quantile must be in (0, 1)")
    m0 = int(prior_draws if prior_draws is not None else 2 * n)
    if m0 < n:
        raise ValueError("prior_draws must be >= particles")
    cap = int(max_proposals if max_proposals is not None else 10 * n)
    rng = np.random.default_rng(seed)
    history: list = []
    infos: list = []
    pops: list = []

    def dist(Z, gen):
        d = np.asarray(fn(Z), dtype=float)
        d = np.where(np.isnan(d), np.inf, d)
        for z, v in zip(Z, d):
            history.append((gen, z.copy(), float(v)))
        return d

    # ---- generation 0: rejection from the prior
    Z0 = prior.sample(rng, m0)
    d0 = dist(Z0, 0)
    keep = np.argsort(d0, kind="stable")[:n]
    Z, D = Z0[keep], d0[keep]
    W = np.full(n, 1.0 / n)
    info = {"generation": 0, "epsilon": float(D.max()), "proposals": m0, "accepted": n, "acceptance_rate": n / m0, "ess": float(n), "relaxed": False}
    infos.append(info)
    pops.append((Z.copy(), W.copy(), D.copy()))
    if on_generation:
        on_generation(0, info)
    rate = n / m0
    for t in range(1, generations):
        finite = D[np.isfinite(D)]
        eps = float(np.quantile(finite, quantile)) if finite.size else math.inf
        cov = 2.0 * weighted_cov(Z, W) + 1e-10 * np.eye(Z.shape[1])
        chol = np.linalg.cholesky(cov)
        prec = np.linalg.inv(cov)
        propZ = np.empty((0, Z.shape[1]))
        propD = np.empty(0)
        acc_idx: list[int] = []
        while len(acc_idx) < n and len(propD) < cap:
            need = n - len(acc_idx)
            k = batch if batch else int(math.ceil(1.15 * need / max(rate, 0.05)))
            k = max(1, min(k, cap - len(propD)))
            Zb = _perturb(rng, Z, W, chol, k)
            db = dist(Zb, t)
            start = len(propD)
            propZ = np.vstack([propZ, Zb])
            propD = np.concatenate([propD, db])
            for i in range(start, len(propD)):
                if propD[i] <= eps and len(acc_idx) < n:
                    acc_idx.append(i)
            rate = max(np.count_nonzero(propD <= eps) / len(propD), 1.0 / (len(propD) + 1))
        relaxed = False
        if len(acc_idx) < n:
            # budget exhausted: raise the tolerance to the n-th smallest distance of the proposals
            order = np.argsort(propD, kind="stable")
            eps = float(propD[order[n - 1]])
            acc_idx = sorted(order[:n].tolist())
            relaxed = True
        Znew, Dnew = propZ[acc_idx], propD[acc_idx]
        logw = np.log(np.maximum(prior.pdf(Znew), 1e-300)) - _log_kernel_mixture(Znew, Z, W, prec)
        Wnew = np.exp(logw - logw.max())
        Wnew /= Wnew.sum()
        Z, D, W = Znew, Dnew, Wnew
        info = {
            "generation": t,
            "epsilon": eps,
            "proposals": int(len(propD)),
            "accepted": n,
            "acceptance_rate": float(np.count_nonzero(propD <= eps) / len(propD)),
            "ess": float(1.0 / np.sum(W**2)),
            "relaxed": relaxed,
        }
        infos.append(info)
        pops.append((Z.copy(), W.copy(), D.copy()))
        if on_generation:
            on_generation(t, info)
    return AbcResult(particles=Z, weights=W, distances=D, generations=infos, history=history, populations=pops)
