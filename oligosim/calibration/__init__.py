"""Calibration of the model's parameters to published targets: point fit, ABC-SMC or history-matching posterior.

``oligosim calibrate CONFIG --targets TARGETS.toml`` fits the parameters a calibration config
names to the targets of a targets file, as mapped onto study scenarios by a target map
(:mod:`oligosim.calibration.targets`, :mod:`~oligosim.calibration.target_map`), and writes the fit, the posterior and a report.

Config file (TOML, validated strictly; ``configs/calibration/calibrate.toml``)::

    [calibration]
    title = "..."
    map = "map.toml"            # target map, relative to this file
    patients = 2000             # virtual patients per arm and evaluation
    seed = 20251121             # the same virtual patients for every candidate (CRN)
    method = "both"             # default of --method: optimize | abc | both

    [objective]                 # all optional
    weighting = "n"             # "n": weight each target by its n; "equal"
    missing_n_weight = 100      # weight of targets without n (default: median n of the others)
    discrepancy_n = 100         # model-discrepancy sample size n0: weight n n0/(n + n0) (default: none)
    median_scale = "log"        # errors of month-valued targets on the log scale ("linear": as scored)
    undefined_penalty = 100     # squared error charged for an undefined value (median not reached)
    loss = "squared"            # or "student_t": c_i = dof ln(1 + e_i^2 / dof) (not with history)
    # dof = 1                   # degrees of freedom of "student_t" (default 1, Cauchy)

    [optimize]                  # point fit (all optional)
    screen_points = 48          # scrambled Sobol' points, evaluated in parallel
    local = "nelder-mead"       # or "none" (screen only)
    max_evaluations = 200       # Nelder-Mead budget, all runs together
    restarts = 1                # fresh simplex at the incumbent while it still improves
    initial_step = 0.15         # initial simplex edge in the unit cube
    xatol = 0.01
    fatol = 0.001

    [abc]                       # posterior (all optional)
    particles = 80
    generations = 4             # populations in all, the prior one included
    prior_draws = 160           # generation 0: prior draws, the best `particles` kept
    quantile = 0.5              # tolerance of generation t = this quantile of t-1's distances
    max_proposals = 320         # simulations allowed per later generation
    # batch = 40                # proposals per parallel batch (default: adaptive)

    [history]                   # history matching with a Bayesian step (all optional)
    waves = 3                   # simulated designs before the Bayesian step
    design_points = 290         # per wave (default 10 x the fitted parameters)
    pool = 4000                 # candidates screened with the emulator per wave
    cutoff = 0.995              # implausibility cut: chi-square quantile, one df per target
    particles = 300             # emulator-posterior draws simulated and importance-weighted
    rounds = 1                  # Bayesian-step rounds (each round's draws train the next)
    chains = 16                 # Metropolis chains on the emulator
    steps = 2000                # steps per chain (the first half adapts and is dropped)
    # error_scale = 1.3         # tau^2 (default: the smallest simulated objective)
    clip = 10.0                 # errors the emulator learns are clipped to +-clip
    # start = ["../v2/history/evaluations.csv"]  # earlier runs' candidates train the emulator
    combine = false             # true: every round's draws are particles, weighted by ESS

    [quick]                     # what --quick lowers: patients, screen_points,
    patients = 300              # max_evaluations, restarts, particles, prior_draws,
    particles = 12              # generations, max_proposals, predictive_draws, waves,
                                # design_points, pool, steps

    [fixed]                     # optional: settings applied to every study scenario and candidate
    disease.uncounted_disease = "grows"     # (any scenario key and value; not also fitted)
    simulation.max_lesions = 64

    [start]                     # optional: where the point fit starts (fitted parameters only;
    disease.seeding_rate_per_cm3_month = 0.055  # screened first; the others: scenarios' values)

    [tied]                      # optional: keys set to a sourced ratio x a fitted parameter
    "regimens.tp_pd1.kill_rate_per_month" = { of = "regimens.tp.kill_rate_per_month", ratio = 1.161 }
                                # (point fits and sensitivity only; oligosim.calibration.tied)

    [report]
    discussion = "..."          # free text for the report (blank line = new paragraph)

    [[parameter]]               # one per fitted parameter
    path = "disease.seeding_rate_per_cm3_month"   # any numeric scenario key, regimens too
    label = "Seeding rate"
    low = 0.02                  # prior range (every candidate lies in it)
    high = 0.3
    scale = "log"               # "linear" | "log": the search cube and the default prior
    # prior = { dist = "lognormal", mean = 0.06, sd = 0.03 }   # optional, truncated to the range

Objective (the distance of the point fit and of ABC). Every candidate is simulated with the same
virtual patients (``patients``, ``seed``: common random numbers), so the objective is a
deterministic function of the parameters. For mapped target ``i`` with tolerance half-width
``h_i`` (:func:`oligosim.calibration.scoring.score`), model value ``m_i`` and published value ``y_i``::

    e_i = (m_i - y_i) / h_i                         the scored error (``scaled_error``; 0 on
                                                    the allowed side of a one-sided bound)
    e_i = ln(m_i / y_i) / ln(1 + t_i)   if m_i > y_i    month-valued targets with a relative
    e_i = ln(m_i / y_i) / -ln(1 - t_i)  if m_i < y_i    tolerance t_i, median_scale = "log"
    c_i = e_i^2,  or  P (undefined_penalty) when m_i is undefined (median not reached);
          with loss = "student_t" and dof nu:  c_i = nu ln(1 + e_i^2 / nu)  (P in place of e_i^2)
    w_i = n_i (patients behind the figure), or missing_n_weight when the target has no n
          (all w_i = 1 with weighting = "equal");  with discrepancy_n = n0:
    w_i = n_i n0 / (n_i + n0)
    L   = sum_i w_i c_i / sum_i w_i

``|e_i| <= 1`` is exactly "within tolerance" on both scales. Weighting by ``n`` weighs each
target by its precision (the sampling variance of a published median or rate is about
proportional to ``1 / n``), so ``L`` is, up to constants, a Gaussian negative log-likelihood
with the tolerance as the error scale. That likelihood assumes the model could meet every figure
but for sampling error. ``discrepancy_n`` adds a model-discrepancy variance (Kennedy & O'Hagan,
J R Stat Soc B 2001) equal to the sampling variance of an ``n0``-patient study: the weight becomes
``1 / (1/n_i + 1/n0)``, below ``n0`` for every target, so one large study the model cannot meet
no longer decides the fit for all the others. ``loss = "student_t"`` replaces the Gaussian by a
Student-t error of ``dof`` degrees of freedom (``c_i`` is its negative log-likelihood times
``2 nu / (nu + 1)``, equal to ``e_i^2`` near 0): a heavy-tailed discrepancy, for targets the
model cannot meet by structure. Under squared errors one such target (9.6 tolerances out costs
92) outweighs dozens just outside their bands, so the objective's minimum need not maximise the
number of targets within tolerance; under ``dof = 1`` it costs 4.5 (Lange, Little & Taylor,
J Am Stat Assoc 1989, robust estimation with the t distribution). History matching keeps the
Gaussian form its emulated likelihood assumes (refused with ``student_t``).

Point fit (:func:`oligosim.calibration.search.optimize`): parameters are mapped to the unit
cube (linearly, or in their log with ``scale = "log"``); a scrambled Sobol' screen (plus the
current defaults) is simulated in parallel, then bounded Nelder-Mead runs from the best screened
point with a large initial simplex (medians of PFS are read at restaging scans, so the objective
has plateaus that a small simplex or a gradient would not cross), restarting while that still
improves it. ABC-SMC (:func:`oligosim.calibration.search.abc_smc`): Toni 2009 / Beaumont 2009
population Monte Carlo with the same distance ``L``, an adaptive quantile tolerance schedule, a
Gaussian kernel with twice the weighted covariance and importance weights prior / kernel
mixture, in the same unit cube. With CRN the distance has no simulation noise, so the ABC
posterior is the prior restricted to ``L <= epsilon_final`` (importance-weighted): the parameter
sets that fit the targets about as well as the final tolerance allows.

History matching (``method = "history"``, :mod:`oligosim.calibration.history`): waves of
simulated designs, each followed by a Gaussian-process emulator of every target's error
(:mod:`oligosim.calibration.emulator`) that rules out the parameter sets whose emulated errors are
implausible; then a Bayesian step on the emulator, with the likelihood ``prior x exp(-K L / (2
tau^2))`` (the same distance ``L``; ``K`` targets; ``tau^2`` the residual variance at the best
fit), whose draws are simulated and importance-weighted by simulated over emulated likelihood.
Its weighted particles take the place of ABC's in every output. ``start`` reads the
``evaluations.csv`` of earlier calibrations of the same model and targets into the emulator's
training set (:mod:`oligosim.calibration.start`; with it ``waves = 0`` is allowed), and
``combine = true`` makes every round's draws particles, each round weighted by its effective
sample size, so the rounds' ESS add up.

Long runs (a refit on every target takes hours): ``--journal FILE`` appends every simulated
candidate to ``FILE`` and reads the candidates it already holds instead of simulating them. The
searches are deterministic for a seed and the objective is deterministic in the parameters, so a
run killed at any point and started again with the same file replays its decisions from the
journal and simulates only what is new; the result is the one an uninterrupted run gives. A
journal written for another calibration (other parameters, patients, seed, objective, targets,
map, study scenarios or model source) is refused (:mod:`oligosim.calibration.journal`).

Outputs (:func:`oligosim.calibration.report.write_outputs`, all written together or not at all):
``calibration.json``, ``calibrated.toml`` (fitted values as a scenario overlay to ``extends``),
``evaluations.csv``, ``targets_fit.csv``, ``targets_before.png``, ``targets_after.png``,
``objective_trace.png``, and with ABC or history matching ``posterior.csv``, ``posterior_distributions.toml``
(scenario overlay with a fitted distribution per parameter), ``psa_parameters.toml``
(``[[parameter]]`` tables for an experiment file), ``posterior_marginals.png``,
``posterior_pairs.png``; then ``report.md`` and ``report.html``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from oligosim.calibration.evaluation import Evaluator, objective, target_error, target_weight
from oligosim.calibration.search import AbcResult, OptimizeResult, UnitPrior, abc_smc, optimize, weighted_quantile
from oligosim.calibration.spec import CalibrationSpec, CalParameter, load_calibration

__all__ = [
    "load_calibration",
    "run_calibration",
    "CalibrationSpec",
    "CalParameter",
    "CalibrationResult",
    "objective",
    "target_error",
    "target_weight",
    "optimize",
    "abc_smc",
    "UnitPrior",
]


@dataclass
class CalibrationResult:
    """Everything a calibration run produced (written out by :mod:`oligosim.calibration.report`)."""

    spec: CalibrationSpec
    method: str
    evaluations: list
    best_index: int
    before: list  #: TargetResults at the scenarios' own values
    after: list  #: TargetResults at the best parameters
    before_fresh: list  #: the same at a different seed (new virtual patients)
    after_fresh: list
    fresh_seed: int
    opt: OptimizeResult | None = None
    abc: AbcResult | None = None
    seconds: float = 0.0
    eval_seconds: float = math.nan  #: median wall time of one in-process evaluation
    workers: int | None = None
    #: replicated studies at the posterior or the point fit (:mod:`oligosim.calibration.predictive`)
    predictive: object = None

    @property
    def best(self):
        return self.evaluations[self.best_index]

    @property
    def best_values(self) -> dict:
        return dict(self.best.values)


def prior_of(spec: CalibrationSpec) -> UnitPrior:
    """The product prior on the unit cube of the fitted parameters."""
    return UnitPrior([p.unit_marginal() for p in spec.parameters])


def run_calibration(
    spec: CalibrationSpec,
    *,
    method: str | None = None,
    workers: int | None = None,
    scheduler=None,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
    journal: str | os.PathLike | None = None,
) -> CalibrationResult:
    """Run the point fit and/or ABC-SMC of a calibration config.

    Parameters
    ----------
    spec : CalibrationSpec
        From :func:`load_calibration`.
    method : {"optimize", "abc", "both", "history"}, optional
        Default: the config's ``calibration.method``. ``history``: history matching with a
        Bayesian step (:mod:`oligosim.calibration.history`), whose weighted particles take the
        place of ABC's.
    workers : int, optional
        Local worker processes for batches (default: the usable cores; 1: all in this process).
    scheduler : str, optional
        Dask scheduler address for batches.
    progress : callable, optional
        ``progress(1)`` after each simulated candidate.
    log : callable, optional
        Receives one-line status messages.
    journal : path-like, optional
        A journal file (:mod:`oligosim.calibration.journal`): every simulated candidate is
        appended to it, and candidates it already holds are read instead of simulated, so an
        interrupted run given the same file resumes where it stopped (with the same result as
        an uninterrupted run).

    Returns
    -------
    CalibrationResult
        Deterministic for a given config, targets file and seed (whatever ``workers``, and
        whether or not it was resumed from a journal).

    Raises
    ------
    RuntimeError
        If the scenarios' own parameter values give an infeasible cohort.
    JournalError
        If ``journal`` is another calibration's journal or damaged.
    """
    method = method or spec.method
    conflict = spec.method_conflict(method, f'method = "{method}"')
    if conflict:
        raise ValueError(conflict)
    say = log or (lambda s: None)
    t_start = time.perf_counter()
    jr = None
    if journal is not None:
        from oligosim.calibration.journal import Journal, fingerprint

        jr = Journal(journal, fingerprint(spec), len(spec.tmap.entries))
        say(f"journal {os.fspath(journal)}: {len(jr)} candidates already simulated" + (" (an unfinished last line was dropped)" if jr.dropped_tail else ""))
    ev = Evaluator(spec, workers=workers, scheduler=scheduler, progress=progress, journal=jr)
    before = ev.results_at({})
    if isinstance(before, str):
        raise RuntimeError(f"the scenarios' own parameter values: {before}")
    ev.record(None, {p.path: p.default for p in spec.parameters}, before, "defaults")
    say(f"defaults: objective {ev.evaluations[-1].objective:.4g} ({ev.serial_seconds[-1]:.1f} s per evaluation)")
    starts = []
    if spec.start:
        # [start] (values of an earlier fit, say) is screened first and the local search starts
        # from it if nothing screened beats it; the scenarios' values are screened beside it
        starts.append([float(p.to_unit(spec.start.get(p.path, p.default))) for p in spec.parameters])
        say(f"optimize: starts from [start] ({len(spec.start)} of {spec.dim} fitted parameters set there)")
    if all(p.default is not None and p.low <= p.default <= p.high for p in spec.parameters):
        starts.append([float(p.to_unit(p.default)) for p in spec.parameters])
    starts = np.array(starts) if starts else None
    opt = abc = None
    o = spec.optimize
    if method in ("optimize", "both"):

        def phase(name):
            ev.phase = name
            say(f"optimize: {name} stage")

        opt = optimize(
            ev,
            spec.dim,
            screen_points=o["screen_points"],
            max_evaluations=o["max_evaluations"],
            initial_step=o["initial_step"],
            restarts=o["restarts"],
            xatol=o["xatol"],
            fatol=o["fatol"],
            seed=spec.seed,
            starts=starts,
            local=o["local"],
            on_phase=phase,
        )
        say(f"optimize: best objective {opt.fun:.4g} after {opt.nfev} evaluations")
    if method in ("abc", "both"):
        a = spec.abc
        ev.phase = "abc"
        first = len(ev.evaluations)

        def gen(t, info):
            say(f"abc: generation {t}: epsilon {info['epsilon']:.4g}, {info['proposals']} simulated, ESS {info['ess']:.0f}" + (" (budget reached: tolerance relaxed)" if info["relaxed"] else ""))

        abc = abc_smc(
            ev,
            prior_of(spec),
            particles=a["particles"],
            generations=a["generations"],
            prior_draws=a["prior_draws"],
            quantile=a["quantile"],
            max_proposals=a["max_proposals"],
            batch=a["batch"],
            seed=spec.seed + 1,
            on_generation=gen,
        )
        for e, (g, _, _) in zip(ev.evaluations[first:], abc.history):
            e.phase = f"abc{g}"
    if method == "history":
        abc = _history(spec, ev, before, say)
    cube = [e for e in ev.evaluations if e.z is not None and math.isfinite(e.objective)]
    if not cube:
        raise RuntimeError("no candidate parameter set could be evaluated (every cohort was infeasible)")
    best = min(cube, key=lambda e: (e.objective, e.index))
    after = ev.results_at(best.values)
    check, _, _ = objective(after, spec.objective)
    if not math.isclose(check, best.objective, rel_tol=1e-9, abs_tol=1e-12):  # pragma: no cover - CRN broken
        raise RuntimeError(f"the best candidate's objective is not reproducible ({check} vs {best.objective}): common random numbers are broken")
    fresh = spec.seed + 1_000_003
    before_fresh = ev.results_at({}, seed=fresh)
    after_fresh = ev.results_at(best.values, seed=fresh)
    serial = ev.serial_seconds[1:] or ev.serial_seconds
    predictive = None
    if spec.predictive_draws > 0:
        from oligosim.calibration.predictive import predictive_check

        # the posterior's particles by weight, else the point fit
        points, weights, source = ([spec.values(z) for z in abc.particles], abc.weights, "posterior") if abc is not None else ([best.values], None, "point fit")
        predictive = predictive_check(spec, points, weights, draws=spec.predictive_draws, source=source, workers=workers, scheduler=scheduler)
        covered, k = predictive.coverage()
        say(f"predictive check ({predictive.source}, {spec.predictive_draws} replicated studies): {covered} of {k} targets inside their 95% interval")
    if jr is not None:
        say(f"journal: {jr.reused} candidates read, {len(ev.evaluations) - 1 - jr.reused} simulated")
    return CalibrationResult(
        spec=spec,
        method=method,
        evaluations=ev.evaluations,
        best_index=best.index,
        before=before,
        after=after,
        before_fresh=before_fresh if not isinstance(before_fresh, str) else [],
        after_fresh=after_fresh if not isinstance(after_fresh, str) else [],
        fresh_seed=fresh,
        opt=opt,
        abc=abc,
        seconds=time.perf_counter() - t_start,
        eval_seconds=float(np.median(serial)) if serial else math.nan,
        workers=workers,
        predictive=predictive,
    )


def _history(spec: CalibrationSpec, ev: Evaluator, before: list, say) -> "HistoryResult":
    """History matching and its Bayesian step (:mod:`oligosim.calibration.history`) on the
    evaluator ``ev``; every simulated candidate is recorded with its phase (``wave1``, ...,
    ``posterior``)."""
    from oligosim.calibration.history import history_match

    h = spec.history
    ev.phase = "history"
    first = len(ev.evaluations)
    weights = np.array([target_weight(r, spec.objective) for r in before], dtype=float)

    def fn(Z):
        L = ev(Z)
        E = np.array([[math.nan if e is None else e for e in x.errors] for x in ev.evaluations[-len(Z):]], dtype=float)
        return L, E

    def wave(w, info):
        if "ess" in info:
            say(
                f"history: Bayesian step, round {info['round']}: {info['simulated']} draws of the emulator posterior simulated, ESS {info['ess']:.0f} "
                f"(emulator posterior's own ESS {info['emulator_posterior_ess']:.0f}; Metropolis acceptance {info['acceptance']:.2f})"
                + (f"; all rounds combined: ESS {info['ess_combined']:.0f}" if "ess_combined" in info else "")
            )
        else:
            say(
                f"history: wave {w}: best objective {info['best_objective']:.4g}, tau^2 {info['error_scale']:.3g}, "
                f"not ruled out {100 * info['nroy_share']:.2g}% of the cube, emulator leave-one-out within 3 sd {100 * info['loo_within_3']:.0f}%"
            )

    start = None
    pen = float(spec.objective["undefined_penalty"])
    if h["start"]:
        from oligosim.calibration.start import read_start

        Z0, L0, E0, outside = read_start(h["start"], spec, weights, pen)
        start = (Z0, L0, E0)
        say(
            f"history: {len(Z0)} candidates of {len(h['start'])} start file(s) train the emulator"
            + (f"; {outside} outside this calibration's prior ranges left out" if outside else "")
        )
    sizes = {k: h[k] for k in ("waves", "design_points", "pool", "cutoff", "particles", "rounds", "chains", "steps", "error_scale", "clip", "combine")}
    res = history_match(fn, prior_of(spec), weights, undefined_penalty=pen, seed=spec.seed + 2, on_wave=wave, start=start, **sizes)
    for e, (g, _, _) in zip(ev.evaluations[first:], res.history):
        e.phase = f"wave{g}" if g <= h["waves"] else ("posterior" if g == h["waves"] + h["rounds"] else f"refine{g - h['waves']}")
    return res


def posterior_summary(result: CalibrationResult) -> list[dict]:
    """Per parameter: weighted mean, sd and 2.5/50/97.5 % quantiles of the ABC posterior."""
    if result.abc is None:
        return []
    out = []
    w = result.abc.weights
    for i, p in enumerate(result.spec.parameters):
        x = np.asarray(p.to_value(result.abc.particles[:, i]), dtype=float)
        m = float(w @ x)
        sd = float(math.sqrt(max(w @ (x - m) ** 2, 0.0)))
        lo, med, hi = (float(v) for v in weighted_quantile(x, w, [0.025, 0.5, 0.975]))
        out.append({"path": p.path, "mean": m, "sd": sd, "q025": lo, "median": med, "q975": hi})
    return out
