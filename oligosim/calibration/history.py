"""History matching with a Bayesian step: a calibration posterior from few simulations.

Why not more ABC-SMC: with common random numbers the ABC posterior of this model needs several
hundred particles per generation to keep an effective sample size of 200, and every particle is
a simulation of every study (seconds): the previous fit's ABC reached an ESS of 11 of 60 and a
run that reaches 200 was estimated at 15-40 hours on two cores (issue 20). History matching
(Craig et al. 1997; Vernon, Goldstein & Bower, Bayesian Anal 2010; Andrianakis et al., PLoS
Comput Biol 2015) spends the simulations on learning where the model can fit at all, through an
emulator (:mod:`oligosim.calibration.emulator`), and the Bayesian step then runs on the emulator
and is corrected with simulations of its own draws.

Likelihood (tolerance units, as the objective of :mod:`oligosim.calibration`). The target errors
``e_i`` are independent Gaussian with variances ``s_i^2 = tau^2 wbar / w_i``, ``w_i`` the
objective's weights and ``wbar`` their mean, so ``sum_i e_i^2 / s_i^2 = K L / tau^2`` with ``K``
targets and ``L`` the objective: the posterior is ``prior x exp(-K L / (2 tau^2))``, a function
of the same distance as the point fit and ABC. ``tau^2`` (``error_scale``) is the model's
discrepancy and the figures' sampling error together, in tolerance units; by default it is the
smallest objective simulated (an empirical-Bayes estimate: at the best parameter set the
standardised residuals have unit mean square). An undefined error (a median the model does not
reach) costs ``undefined_penalty`` as in the objective.

Waves. Wave 1 simulates a scrambled Sobol' design of the cube. After each wave an emulator of
every target's error is fitted to everything simulated so far (errors clipped to
``+-clip`` tolerance units for the emulator, an undefined error set to ``+clip``: far outside
the tolerance either way, and a Gaussian process cannot follow a value of 40), and a pool of
candidates -- half a fresh Sobol' cloud, half Gaussian perturbations of the simulated points
that are themselves not implausible -- is screened with the multivariate implausibility
``I^2(z) = sum_i mu_i(z)^2 / (s_i^2 + v_i(z))`` (``mu_i``, ``v_i`` the emulator's mean and
variance). Candidates with ``I^2`` at or below the ``cutoff`` quantile of a chi-square with
``K`` degrees of freedom are *not ruled out yet* (NROY); the next wave simulates a maximin
subset of them. The share of the Sobol' half that survives estimates the NROY volume.

Bayesian step. After the last wave, ``chains`` random-walk Metropolis chains (adaptive during
their first half in shape and scale, Haario et al. 2001, Andrieu & Thoms 2008; started at the
best simulated points) sample the emulator
posterior ``prior(z) prod_i N(0; mu_i(z), s_i^2 + v_i(z))``, in which the emulator's
uncertainty widens the likelihood. ``particles`` draws spread evenly over the chains' second
halves are simulated (each distinct one once, weighing its count), and importance weights ``exp(l_sim - l_em)`` (the simulated against the
emulated log likelihood) correct for the emulator's error: the weighted particles target the
posterior of the simulator itself, and their effective sample size measures how well the
emulator stood in for it. With ``rounds`` > 1 the step is repeated, each round's simulated draws
added to the emulator's training set first, so the emulator sharpens where the posterior is
(``tau^2`` stays the one of the waves, so every round targets the same posterior); the last
round's draws are the particles. The chains' own effective sample size (the posterior of the
emulator, with its uncertainty integrated as in Kennedy & O'Hagan 2001) is reported beside the
corrected one. Everything is deterministic for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

from oligosim.calibration.emulator import Emulator, fit_emulator
from oligosim.calibration.search import AbcResult, UnitPrior, sobol_points

__all__ = ["history_match", "HistoryResult", "ErrorsFn"]

#: ``fn(Z) -> (objective (k,), errors (k, K))``; an undefined error is nan, an infeasible candidate has objective inf
ErrorsFn = Callable[[np.ndarray], tuple]


@dataclass
class HistoryResult(AbcResult):
    """Outcome of :func:`history_match`: an :class:`AbcResult` (weighted simulated particles of
    the posterior) with the waves' record.

    Attributes (besides those of AbcResult)
    ---------------------------------------
    waves : list of dict
        Per wave: ``wave``, ``simulated``, ``best_objective``, ``error_scale`` (tau^2),
        ``nroy_share`` (share of the Sobol' cloud not ruled out), ``nroy_kept`` (candidates not
        ruled out), ``loo_within_3`` (share of leave-one-out standardised emulator errors within
        +-3), ``lengths`` (the emulator's correlation lengths), ``nugget``. Then per round of the
        Bayesian step: ``wave`` (waves + round), ``round``, ``draws`` (taken from the chains),
        ``simulated`` (the distinct ones among them), ``best_objective``,
        ``error_scale``, ``ess`` (of the importance-corrected draws), ``emulator_posterior_ess``
        (of the Metropolis chains on the emulator, :func:`_chain_ess`), ``acceptance``, and of
        the emulator the round sampled: ``trained_on`` (feasible candidates it was fitted to),
        ``loo_within_3``, ``lengths``, ``nugget``; with ``combine``, ``ess_combined`` (of every
        round so far).
    error_scale : float
        tau^2 of the Bayesian step.
    """

    waves: list = field(default_factory=list)
    error_scale: float = math.nan


def _target_sd2(weights: np.ndarray, tau2: float) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return tau2 * w.mean() / w


def _emulator_outputs(E: np.ndarray, clip: float) -> np.ndarray:
    """Errors as the emulator learns them: undefined -> +clip, the rest clipped to +-clip."""
    return np.clip(np.where(np.isnan(E), clip, E), -clip, clip)


def _implausibility(em: Emulator, Z: np.ndarray, s2: np.ndarray) -> np.ndarray:
    mu, v = em.predict(Z)
    return (mu * mu / (s2[None, :] + v)).sum(1)


def _emulated_loglik(em: Emulator, Z: np.ndarray, s2: np.ndarray) -> np.ndarray:
    mu, v = em.predict(Z)
    tot = s2[None, :] + v
    return -0.5 * (mu * mu / tot + np.log(tot)).sum(1)


def _maximin(P: np.ndarray, k: int, first: int) -> np.ndarray:
    """Indices of ``k`` rows of ``P`` chosen greedily far apart, starting from row ``first``."""
    chosen = [first]
    dmin = ((P - P[first]) ** 2).sum(1)
    for _ in range(1, k):
        j = int(np.argmax(dmin))
        chosen.append(j)
        dmin = np.minimum(dmin, ((P - P[j]) ** 2).sum(1))
    return np.array(chosen)



def _log_posterior(em: Emulator, prior: UnitPrior, Z: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """log prior + emulated log likelihood at each row of ``Z`` (-inf outside the prior's support)."""
    pr = prior.pdf(Z)
    out = np.full(len(Z), -np.inf)
    inside = pr > 0
    if inside.any():
        out[inside] = np.log(pr[inside]) + _emulated_loglik(em, Z[inside], s2)
    return out


def _metropolis(logpost, starts: np.ndarray, near: np.ndarray, steps: int, rng) -> tuple[np.ndarray, float]:
    """Random-walk Metropolis chains (one per row of ``starts``), vectorised over the chains.

    The proposal is Gaussian with ``scale^2 x 2.38^2 / d`` times a covariance (Roberts & Rosenthal
    2001): that of the points ``near`` at first; every 50 steps of the first half from step 100,
    the within-chain covariance of the later half of the states so far (each chain's own mean
    removed, so chains parked in different places do not inflate it; Haario et al. 2001), and
    ``log scale`` moved by twice the last 50 steps' acceptance rate minus 0.234 (Andrieu & Thoms
    2008), so that a posterior much narrower than ``near`` is still explored. The second half runs with the last
    proposal and is returned, shape ``(steps - steps // 2, chains, d)``, with its acceptance rate.
    """
    chains, dim = starts.shape
    base = 2.38**2 / dim
    cov = np.cov(near.T) + 1e-6 * np.eye(dim)
    log_scale = 0.0
    chol = np.linalg.cholesky(base * cov)
    cur = starts.copy()
    lp = logpost(cur)
    burn = np.empty((steps // 2, chains, dim))
    kept = np.empty((steps - steps // 2, chains, dim))
    acc = recent = 0
    for t in range(steps):
        if 100 <= t < steps // 2 and t % 50 == 0:
            past = burn[t // 2 : t] - burn[t // 2 : t].mean(0, keepdims=True)  # the later half: the start is forgotten
            cov = np.cov(past.reshape(-1, dim).T) + 1e-10 * np.eye(dim)
            log_scale += 2.0 * (recent / (50.0 * chains) - 0.234)
            chol = np.linalg.cholesky(math.exp(2.0 * log_scale) * base * cov)
        if t % 50 == 0:
            recent = 0
        new = cur + rng.standard_normal((chains, dim)) @ chol.T
        lpn = logpost(new)
        move = np.log(rng.random(chains)) < (lpn - lp)
        cur[move], lp[move] = new[move], lpn[move]
        recent += int(move.sum())
        if t < steps // 2:
            burn[t] = cur
        else:
            kept[t - steps // 2] = cur
            acc += int(move.sum())
    return kept, acc / max(1, kept.shape[0] * chains)


def _chain_ess(kept: np.ndarray) -> float:
    """Effective sample size of Metropolis output ``kept`` (steps, chains, d): for each
    coordinate ``chains x steps / (1 + 2 sum rho_k)``, the autocorrelations averaged over the
    chains and summed while positive (Geyer's initial positive sequence, in its simplest form);
    the smallest over the coordinates."""
    n, chains, dim = kept.shape
    x = kept - kept.mean(0, keepdims=True)
    f = np.fft.rfft(x, n=2 * n, axis=0)
    acov = np.fft.irfft(f * np.conj(f), axis=0)[:n] / n  # (lags, chains, d)
    var = acov[0]
    rho = np.where(var > 0, acov / np.where(var > 0, var, 1.0), 0.0).mean(1)  # (lags, d)
    out = []
    for j in range(dim):
        r = rho[1:, j]
        stop = np.flatnonzero(r <= 0.0)
        s = r[: stop[0]].sum() if stop.size else r.sum()
        out.append(chains * n / (1.0 + 2.0 * s))
    return float(min(out))


def _correction_weights(L: np.ndarray, l_em: np.ndarray, K: int, tau2: float, count: np.ndarray | None = None) -> np.ndarray:
    """Normalised importance weights ``count x exp(l_sim - l_em)`` of distinct simulated draws of
    the emulator posterior (``count``: how often each was drawn, default 1), ``l_sim = -K L /
    (2 tau^2)``; an infeasible draw (L = inf) weighs 0."""
    l_sim = np.where(np.isfinite(L), -0.5 * K * L / tau2, -np.inf)
    a = l_sim - l_em
    if not np.isfinite(a).any():
        raise RuntimeError("every draw of the emulator posterior was infeasible in the simulator")
    W = np.where(np.isfinite(a), np.exp(a - a[np.isfinite(a)].max()), 0.0)
    if count is not None:
        W = W * np.asarray(count, dtype=float)
    return W / W.sum()

def _start_data(start, dim: int, K: int) -> tuple:
    """The ``start`` candidates as (Z, L, E) arrays, checked for shape and the unit cube."""
    if start is None:
        return np.empty((0, dim)), np.empty(0), np.empty((0, K))
    Z, L, E = (np.asarray(a, dtype=float) for a in start)
    n = len(Z)
    if Z.shape != (n, dim) or L.shape != (n,) or E.shape != (n, K):
        raise ValueError(f"start must be (Z (n, {dim}), L (n,), E (n, {K})); got shapes {Z.shape}, {L.shape}, {E.shape}")
    if n and (np.any(Z < 0.0) or np.any(Z > 1.0)):
        raise ValueError("start: every point must lie in the unit cube")
    return Z.copy(), L.copy(), E.copy()


def _first_emulator(Zs, Ls, Es, w, error_scale, clip: float, what: str) -> tuple:
    """The emulator of every feasible candidate so far, with tau^2 (the config's, or the
    smallest objective) and the targets' variances: (emulator, tau^2, s^2, feasible mask)."""
    ok = np.isfinite(Ls)
    dim = Zs.shape[1]
    if ok.sum() < dim + 3:
        raise RuntimeError(f"{what}: only {int(ok.sum())} feasible candidates, too few for an emulator (dim + 3 = {dim + 3})")
    tau2 = float(error_scale) if error_scale is not None else float(Ls[ok].min())
    return fit_emulator(Zs[ok], _emulator_outputs(Es[ok], clip)), tau2, _target_sd2(w, tau2), ok


def _combine(pops: list) -> tuple:
    """Every round's weighted draws as one population: round r's normalised weights times
    ESS_r / sum ESS (inverse-variance weights of the rounds' self-normalised estimates, each
    with variance about sigma^2 / ESS_r), so the combined ESS is the sum of the rounds'."""
    ess = np.array([1.0 / np.sum(W**2) for _, W, _ in pops])
    lam = ess / ess.sum()
    draws = np.vstack([p[0] for p in pops])
    W = np.concatenate([lam[r] * pops[r][1] for r in range(len(pops))])
    L = np.concatenate([p[2] for p in pops])
    return draws, W / W.sum(), L


def history_match(
    fn: ErrorsFn,
    prior: UnitPrior,
    weights,
    *,
    waves: int = 3,
    design_points: int = 100,
    pool: int = 4000,
    cutoff: float = 0.995,
    particles: int = 300,
    rounds: int = 1,
    chains: int = 16,
    steps: int = 2000,
    undefined_penalty: float = 100.0,
    error_scale: float | None = None,
    clip: float = 10.0,
    seed: int = 0,
    on_wave: Callable[[int, dict], None] | None = None,
    start: tuple | None = None,
    combine: bool = False,
) -> HistoryResult:
    """Waves of history matching, then the emulator posterior corrected by simulation.

    Parameters
    ----------
    fn : callable
        ``fn(Z)`` for unit-cube points ``Z`` (shape (k, dim)): their objectives (shape (k,),
        inf for an infeasible candidate) and target errors in tolerance units (shape (k, K), nan
        where undefined).
    prior : UnitPrior
    weights : array_like, shape (K,)
        The objective's target weights (> 0).
    waves : int
        Simulated designs before the Bayesian step (>= 1).
    design_points : int
        Points simulated per wave.
    pool : int
        Candidates screened with the emulator per wave (half Sobol', half perturbations).
    cutoff : float
        In (0, 1): chi-square quantile (K degrees of freedom) of the implausibility cut.
    particles : int
        Draws of the emulator posterior taken in each round of the Bayesian step; each distinct
        one is simulated once and weighs its count (a Metropolis chain repeats a state it does
        not leave).
    rounds : int
        Rounds of the Bayesian step (>= 1): each round's simulated draws join the emulator's
        training set before the next round samples again; the last round's draws are the
        posterior's particles.
    chains, steps : int
        Metropolis chains on the emulator and steps per chain (the second half kept).
    undefined_penalty : float
        Squared error of an undefined target (as in the objective).
    error_scale : float, optional
        tau^2; default: the smallest simulated objective.
    clip : float
        Bound of the errors the emulator learns (tolerance units).
    seed : int
    on_wave : callable, optional
        ``on_wave(w, info)`` after each wave and each round of the Bayesian step
        (``w = waves + round``).
    start : tuple of arrays, optional
        ``(Z, L, E)``: candidates simulated before this run (unit-cube points, shape (n, dim);
        objectives, shape (n,); errors, shape (n, K)), for example by an earlier calibration of
        the same model and targets. They join the emulator's training set from the start (and
        ``tau^2``'s default, the smallest objective, looks at them too); they are never
        particles, so they choose where to simulate and cannot bias the posterior. With a
        ``start``, ``waves`` may be 0: the Bayesian step begins at once.
    combine : bool
        False: the last round's draws are the posterior's particles. True: every round's are,
        each round's normalised importance weights multiplied by its share of the rounds' summed
        effective sample sizes (all rounds target the same posterior, so each round's weighted
        draws estimate it; weighting each estimate by its ESS is the inverse-variance
        combination, and the combined ESS is the sum of the rounds').

    Returns
    -------
    HistoryResult
    """
    dim = prior.dim
    w = np.asarray(weights, dtype=float)
    K = len(w)
    if waves < (0 if start is not None else 1) or design_points < dim + 3:
        raise ValueError(f"history matching needs waves >= 1 (>= 0 with a start) and design_points >= dim + 3 = {dim + 3}")
    if not 0.0 < cutoff < 1.0:
        raise ValueError("cutoff must be in (0, 1)")
    if particles < 2 or chains < 1 or steps < 2 or rounds < 1:
        raise ValueError("particles >= 2, rounds >= 1, chains >= 1 and steps >= 2 are required")
    rng = np.random.default_rng(seed)
    chi2_cut = float(stats.chi2.ppf(cutoff, K))
    Zs, Ls, Es = _start_data(start, dim, K)
    history: list = []
    infos: list = []
    em = None
    tau2 = math.nan
    s2 = None
    design = sobol_points(design_points, dim, seed)
    for wave in range(1, waves + 1):
        L, E = fn(design)
        L = np.asarray(L, dtype=float)
        E = np.asarray(E, dtype=float).reshape(len(design), K)
        for z, v in zip(design, L):
            history.append((wave, z.copy(), float(v)))
        Zs, Ls, Es = np.vstack([Zs, design]), np.r_[Ls, L], np.vstack([Es, E])
        em, tau2, s2, ok = _first_emulator(Zs, Ls, Es, w, error_scale, clip, f"wave {wave}")
        fl, vl = em.loo()
        loo_ok = float(np.mean(np.abs(em.Y - fl) <= 3.0 * np.sqrt(vl)))
        # candidates: a fresh Sobol' cloud and perturbations of the simulated points not ruled out
        cloud = sobol_points(pool - pool // 2, dim, seed + wave)
        sim_I2 = (np.where(np.isnan(Es[ok]), math.sqrt(undefined_penalty), Es[ok]) ** 2 / s2).sum(1)
        good = Zs[ok][sim_I2 <= chi2_cut]
        if len(good) < 2:
            good = Zs[ok][np.argsort(Ls[ok], kind="stable")[: max(2, dim + 1)]]
        cov = np.cov(good.T) if len(good) > dim else np.diag(np.full(dim, 0.01))
        chol = np.linalg.cholesky(0.25 * np.atleast_2d(cov) + 1e-8 * np.eye(dim))
        pick = rng.integers(0, len(good), pool // 2)
        pert = good[pick] + rng.standard_normal((pool // 2, dim)) @ chol.T
        pert = pert[np.all((pert >= 0.0) & (pert <= 1.0), axis=1)]
        I2_cloud = _implausibility(em, cloud, s2)
        cand = np.vstack([cloud, pert])
        I2 = np.r_[I2_cloud, _implausibility(em, pert, s2)]
        keep = np.flatnonzero(I2 <= chi2_cut)
        info = {
            "wave": wave,
            "simulated": int(len(design)),
            "best_objective": float(Ls[ok].min()),
            "error_scale": tau2,
            "nroy_share": float(np.mean(I2_cloud <= chi2_cut)),
            "nroy_kept": int(len(keep)),
            "loo_within_3": loo_ok,
            "lengths": [float(x) for x in em.lengths],
            "nugget": float(em.nugget),
        }
        infos.append(info)
        if on_wave:
            on_wave(wave, info)
        if wave < waves:
            if len(keep) >= design_points:
                sub = cand[keep]
                design = sub[_maximin(sub, design_points, int(np.argmin(I2[keep])))]
            else:  # too few not ruled out: fill with the least implausible of the rest
                design = cand[np.argsort(I2, kind="stable")[:design_points]]
    if em is None:  # no wave: the emulator of the start's candidates
        em, tau2, s2, ok = _first_emulator(Zs, Ls, Es, w, error_scale, clip, "start")
    # ---- Bayesian step on the emulator, refined for `rounds` rounds
    draws = L = None
    pops: list = []
    for rnd in range(1, rounds + 1):
        if rnd > 1:  # the last round's simulated draws join the emulator's training set
            Zs, Ls, Es = np.vstack([Zs, draws]), np.r_[Ls, L], np.vstack([Es, E])
        ok = np.isfinite(Ls)
        if rnd > 1:
            em = fit_emulator(Zs[ok], _emulator_outputs(Es[ok], clip))
        fl, vl = em.loo()
        order = np.flatnonzero(ok)[np.argsort(Ls[ok], kind="stable")]
        kept, acceptance = _metropolis(
            lambda Z: _log_posterior(em, prior, Z, s2), Zs[order[np.arange(chains) % len(order)]], Zs[order[: max(4 * dim, 2 * chains)]], steps, rng
        )
        flat = kept.transpose(1, 0, 2).reshape(-1, dim)  # chain by chain: every chain gives its share, evenly spaced in steps
        picked = flat[np.linspace(0, len(flat) - 1, particles).round().astype(int)]
        # a chain that stays put repeats a state: each distinct draw is simulated once and weighs its count
        draws, first, count = np.unique(picked, axis=0, return_index=True, return_counts=True)
        keep_order = np.argsort(first, kind="stable")
        draws, count = draws[keep_order], count[keep_order]
        L, E = fn(draws)
        L = np.asarray(L, dtype=float)
        E = np.asarray(E, dtype=float).reshape(len(draws), K)
        for z, v in zip(draws, L):
            history.append((waves + rnd, z.copy(), float(v)))
        W = _correction_weights(L, _emulated_loglik(em, draws, s2), K, tau2, count)
        pops.append((draws.copy(), W.copy(), L.copy()))
        final = {
            "wave": waves + rnd,
            "round": rnd,
            "draws": int(particles),
            "simulated": int(len(draws)),
            "best_objective": float(np.min(np.r_[Ls[ok], L[np.isfinite(L)]])),
            "error_scale": tau2,
            "ess": float(1.0 / np.sum(W**2)),
            "emulator_posterior_ess": _chain_ess(kept),
            "acceptance": acceptance,
            # the emulator this round sampled: its training set, fit and leave-one-out check
            "trained_on": int(ok.sum()),
            "loo_within_3": float(np.mean(np.abs(em.Y - fl) <= 3.0 * np.sqrt(vl))),
            "lengths": [float(x) for x in em.lengths],
            "nugget": float(em.nugget),
        }
        if combine:  # the combined ESS is the sum of the rounds' (_combine)
            final["ess_combined"] = float(sum(i["ess"] for i in infos if "round" in i) + final["ess"])
        infos.append(final)
        if on_wave:
            on_wave(waves + rnd, final)
    if combine:
        draws, W, L = _combine(pops)
    generations = [
        {"generation": i["wave"], "epsilon": chi2_cut if "nroy_share" in i else math.nan, "proposals": i["simulated"],
         "accepted": i.get("nroy_kept", i["simulated"]), "acceptance_rate": i.get("nroy_share", i.get("acceptance")),
         "ess": i.get("ess", math.nan), "relaxed": False}
        for i in infos
    ]
    return HistoryResult(
        particles=draws,
        weights=W,
        distances=L,
        generations=generations,
        history=history,
        populations=pops if combine else [(draws.copy(), W.copy(), L.copy())],
        waves=infos,
        error_scale=tau2,
    )
