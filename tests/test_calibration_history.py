"""Tests of the emulator (:mod:`oligosim.calibration.emulator`) and of history matching with its
Bayesian step (:mod:`oligosim.calibration.history`).

* the emulator: the restricted likelihood's analytic gradient against finite differences; exact
  for a linear function; the closed-form leave-one-out against refitting without the point; its
  predictive variance covers fresh points of a smooth function;
* history matching on toy problems with known posteriors: a linear-Gaussian one (analytic mean
  and covariance) and a non-linear one in two dimensions (the posterior on a fine grid), where
  the importance weights must correct the emulator; determinism, budgets, undefined errors and
  argument checks;
* ``oligosim calibrate --method history`` on the tiny calibration of ``tests/data/calibration``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg

from oligosim import cli
from oligosim.calibration import load_calibration, run_calibration
from oligosim.calibration.emulator import _design, _sqdist_corr, fit_emulator, restricted_loglik
from oligosim.calibration.history import HistoryResult, _chain_ess, _metropolis, history_match
from oligosim.calibration.search import UnitPrior, sobol_points

DATA = Path(__file__).resolve().parent / "data" / "calibration"


def _smooth(X):
    return np.column_stack([np.sin(3 * X[:, 0]) + X[:, 1] ** 2, X[:, 2] - 2 * X[:, 3] + 0.3 * np.cos(5 * X[:, 0])])


# ============================================================================ emulator


def test_restricted_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.random((40, 4))
    Y = _smooth(X) + 0.01 * rng.standard_normal((40, 2))
    Y = (Y - Y.mean(0)) / Y.std(0)
    theta = np.r_[np.log([0.7, 0.9, 1.3, 0.5]), math.log(0.02)]
    _, grad = restricted_loglik(theta, X, Y)
    h = 1e-6
    num = [(restricted_loglik(theta + h * e, X, Y)[0] - restricted_loglik(theta - h * e, X, Y)[0]) / (2 * h) for e in np.eye(5)]
    assert np.allclose(grad, num, rtol=1e-5, atol=1e-5)


def test_emulator_is_exact_for_a_linear_function():
    rng = np.random.default_rng(2)
    X = rng.random((20, 3))
    Y = X @ np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]]) + np.array([0.2, -1.0])
    em = fit_emulator(X, Y)
    Z = rng.random((50, 3))
    mean, _ = em.predict(Z)
    assert np.allclose(mean, Z @ np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]]) + np.array([0.2, -1.0]), atol=1e-6)


def test_leave_one_out_closed_form_equals_refitting_without_the_point():
    rng = np.random.default_rng(3)
    X = rng.random((25, 4))
    Y = _smooth(X)
    em = fit_emulator(X, Y)
    fitted, var = em.loo()
    Ys = (Y - em.y_center) / em.y_scale
    for i in (0, 7, 24):
        keep = np.arange(len(X)) != i
        Xk = X[keep]
        R = _sqdist_corr(Xk, Xk, em.lengths) + em.nugget * np.eye(len(Xk))
        r = _sqdist_corr(X[i : i + 1], Xk, em.lengths)[0]
        resid = Ys[keep] - _design(Xk) @ em.beta  # the regression held at the full fit
        mu = _design(X[i : i + 1])[0] @ em.beta + r @ linalg.solve(R, resid)
        unit = 1.0 + em.nugget - r @ linalg.solve(R, r)
        assert np.allclose(fitted[i], em.y_center + em.y_scale * mu, rtol=1e-7, atol=1e-9)
        assert np.allclose(var[i], unit * em.sigma2 * em.y_scale**2, rtol=1e-6)


def test_emulator_variance_covers_fresh_points():
    rng = np.random.default_rng(4)
    X = rng.random((60, 4))
    em = fit_emulator(X, _smooth(X))
    Z = rng.random((2000, 4))
    mean, var = em.predict(Z)
    z = (_smooth(Z) - mean) / np.sqrt(var)
    assert np.mean(np.abs(z) <= 3.0) >= 0.99  # conservative, never overconfident at scale
    assert np.abs(_smooth(Z) - mean).mean() < 0.02  # and accurate: outputs span about 2 units


def test_emulator_arguments():
    with pytest.raises(ValueError, match="at least 7 points"):
        fit_emulator(np.zeros((5, 4)), np.zeros((5, 1)))
    X = np.random.default_rng(0).random((10, 2))
    with pytest.raises(ValueError, match="finite"):
        fit_emulator(X, np.r_[np.zeros(9), np.nan])


# ============================================================================ history matching


def _linear_problem(K=20, d=3, seed=3):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(K, d)) * 4
    b = A @ np.array([0.4, 0.55, 0.6])[:d] + rng.normal(size=K) * 0.5
    calls = []

    def fn(Z):
        calls.append(len(Z))
        E = Z @ A.T - b
        return (E**2).mean(1), E

    return A, b, fn, calls


def test_history_matching_recovers_a_linear_gaussian_posterior():
    """Errors A z - b with unit variances (tau^2 = 1, equal weights): the posterior is
    N((A'A)^-1 A'b, (A'A)^-1), well inside the cube; the emulator is exact for it, so every
    importance weight is equal."""
    A, b, fn, calls = _linear_problem()
    res = history_match(fn, UnitPrior.uniform(3), np.ones(20), waves=2, design_points=20, pool=2000, particles=300, chains=8, steps=1500, error_scale=1.0, seed=1)
    assert isinstance(res, HistoryResult)
    S = np.linalg.inv(A.T @ A)
    mu = S @ A.T @ b
    sd = np.sqrt(np.diag(S))
    # the emulator is exact: a distinct draw weighs its count of the 300 draws, nothing else
    assert np.allclose(res.weights * 300, np.round(res.weights * 300), atol=1e-9) and res.ess > 280
    m = res.weights @ res.particles
    # draws thinned from Metropolis chains: allow an autocorrelation factor of 2 on the variance
    assert np.all(np.abs(m - mu) <= 4 * sd * math.sqrt(2.0 / res.ess))
    est_sd = np.sqrt(np.diag(np.cov(res.particles.T, aweights=res.weights)))
    assert np.all(np.abs(est_sd / sd - 1.0) < 0.25)
    assert calls[:2] == [20, 20] and calls[2] == len(res.particles) <= 300
    assert [w["wave"] for w in res.waves] == [1, 2, 3] and res.waves[2]["emulator_posterior_ess"] > 100
    assert res.waves[0]["loo_within_3"] > 0.95 and 0.0 < res.waves[1]["nroy_share"] < 1.0


def _sine_problem(K=6):
    """Two parameters, six errors non-linear in them: ``(errors(Z), fn(Z))``."""
    c = np.linspace(0.0, 1.0, K)

    def errors(Z):
        Z = np.atleast_2d(Z)
        return 3.0 * np.sin(2.5 * Z[:, [0]] + c) + 4.0 * (Z[:, [1]] - 0.3) ** 2 * (1 + c) - 1.2

    def fn(Z):
        E = errors(Z)
        return (E**2).mean(1), E

    return errors, fn


def _grid_posterior(errors, tau2):
    """Mean and sd of the posterior prior x exp(-sum e^2 / (2 tau^2)) on a 400 x 400 grid of the unit square."""
    g = (np.arange(400) + 0.5) / 400
    G = np.array(np.meshgrid(g, g, indexing="ij")).reshape(2, -1).T
    lp = -0.5 * (errors(G) ** 2).sum(1) / tau2
    p = np.exp(lp - lp.max())
    p /= p.sum()
    mu = p @ G
    return mu, np.sqrt(p @ (G - mu) ** 2)


def test_importance_weights_correct_an_imperfect_emulator():
    """Two parameters, errors non-linear in them: the weighted particles' mean matches the
    posterior computed on a fine grid, and the weights are not all equal (the emulator is not
    exact)."""
    errors, fn = _sine_problem()
    res = history_match(fn, UnitPrior.uniform(2), np.ones(6), waves=3, design_points=12, pool=2000, particles=400, chains=8, steps=1500, error_scale=0.5, seed=5)
    mu, sd = _grid_posterior(errors, 0.5)
    m = res.weights @ res.particles
    assert res.ess < 400 - 1e-6  # weights differ: the emulator is corrected, not trusted
    assert res.ess > 100
    assert np.all(np.abs(m - mu) <= 4 * sd * math.sqrt(2.0 / res.ess))


def test_history_matching_is_deterministic_and_handles_undefined_errors():
    A, b, _, _ = _linear_problem(K=8, d=2)

    def fn(Z):
        E = Z @ A.T - b
        E[Z[:, 0] > 0.8, 0] = np.nan  # a median not reached in a corner of the cube
        L = np.nanmean(np.where(np.isnan(E), 100.0, E**2), axis=1)
        L[Z[:, 1] > 0.95] = np.inf  # an infeasible corner
        return L, E

    kw = dict(waves=2, design_points=10, pool=500, particles=30, chains=4, steps=200, seed=9)
    a = history_match(fn, UnitPrior.uniform(2), np.arange(1, 9), **kw)
    b2 = history_match(fn, UnitPrior.uniform(2), np.arange(1, 9), **kw)
    assert np.array_equal(a.particles, b2.particles) and np.array_equal(a.weights, b2.weights)
    assert a.error_scale == pytest.approx(min(h[2] for h in a.history[:20]))  # tau^2: the best of the waves
    assert np.all(a.weights[~np.isfinite(a.distances)] == 0.0)


def test_chain_ess_of_an_ar1_process():
    """AR(1) chains x_t = phi x_{t-1} + noise have integrated autocorrelation time
    (1 + phi) / (1 - phi): ESS = chains x n (1 - phi) / (1 + phi)."""
    rng = np.random.default_rng(7)
    n, chains, phi = 20000, 4, 0.8
    x = np.empty((n, chains, 2))
    x[0] = rng.standard_normal((chains, 2)) / math.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal((chains, 2))
    expected = chains * n * (1 - phi) / (1 + phi)
    assert _chain_ess(x) == pytest.approx(expected, rel=0.15)
    assert _chain_ess(rng.standard_normal((5000, 2, 3))) == pytest.approx(10000, rel=0.15)


def test_metropolis_adapts_to_a_posterior_much_narrower_than_its_first_proposal():
    """A 10-dimensional Gaussian with sds 0.005-0.05, the first proposal shaped on uniform points of
    the cube (sd 0.29): shape and scale adapt, the acceptance rate lands near 0.234 and the
    moments are recovered within their Monte Carlo error (from the chains' own ESS, times 4)."""
    rng = np.random.default_rng(0)
    d = 10
    sd = np.linspace(0.005, 0.05, d)
    kept, acc = _metropolis(lambda Z: -0.5 * (((Z - 0.5) / sd) ** 2).sum(1), 0.5 + 3 * sd * rng.standard_normal((8, d)), rng.random((100, d)), 3000, rng)
    ess = _chain_ess(kept)
    flat = kept.reshape(-1, d)
    assert 0.1 < acc < 0.4 and ess > 100
    assert np.all(np.abs(flat.mean(0) - 0.5) <= 4 * sd / math.sqrt(ess))
    assert np.all(np.abs(flat.std(0) / sd - 1) < 4 * math.sqrt(2.0 / ess) + 0.05)


def test_rounds_refine_the_emulator_where_the_posterior_is():
    """A second round trains on the first round's draws: the run simulates waves x design +
    rounds x particles points, records each round, and its corrected ESS is at least the first's
    less its Monte Carlo spread (the emulator only gains points)."""
    K = 6
    c = np.linspace(0.0, 1.0, K)
    calls = []

    def fn(Z):
        calls.append(len(Z))
        E = 3.0 * np.sin(2.5 * Z[:, [0]] + c) + 4.0 * (Z[:, [1]] - 0.3) ** 2 * (1 + c) - 1.2
        return (E**2).mean(1), E

    res = history_match(fn, UnitPrior.uniform(2), np.ones(K), waves=1, design_points=8, pool=1000, particles=100, rounds=2, chains=4, steps=600, error_scale=0.5, seed=2)
    rounds = [w for w in res.waves if "round" in w]
    assert calls == [8, rounds[0]["simulated"], rounds[1]["simulated"]] and all(w["draws"] == 100 for w in rounds)
    assert [w["round"] for w in rounds] == [1, 2] and [w["wave"] for w in rounds] == [2, 3]
    assert rounds[1]["ess"] >= rounds[0]["ess"] - 2 * math.sqrt(100.0)
    assert all(w["emulator_posterior_ess"] > 10 for w in rounds)
    assert [h[0] for h in res.history] == [1] * 8 + [2] * calls[1] + [3] * calls[2]


def test_repeated_draws_are_simulated_once_and_weigh_their_count():
    from oligosim.calibration.history import _correction_weights

    L = np.array([1.0, 1.0, math.inf])
    W = _correction_weights(L, np.zeros(3), K=10, tau2=1.0, count=np.array([3, 1, 2]))
    assert W == pytest.approx([0.75, 0.25, 0.0])
    # a sticky sampler: every chain stays at its start, so one distinct draw per chain is simulated
    calls = []

    def fn(Z):
        calls.append(len(Z))
        E = np.column_stack([Z[:, 0] - 0.5, Z[:, 1] - 0.5]) * 50.0
        return (E**2).mean(1), E

    res = history_match(fn, UnitPrior.uniform(2), np.ones(2), waves=1, design_points=6, pool=200, particles=40, chains=2, steps=4, error_scale=1e-6, seed=1)
    assert calls[1] == len(res.particles) < 40
    assert res.waves[-1]["draws"] == 40 and res.weights.sum() == pytest.approx(1.0)


def test_history_matching_arguments():
    _, _, fn, _ = _linear_problem()
    prior = UnitPrior.uniform(3)
    with pytest.raises(ValueError, match="design_points >= dim"):
        history_match(fn, prior, np.ones(20), design_points=5)
    with pytest.raises(ValueError, match="cutoff"):
        history_match(fn, prior, np.ones(20), cutoff=1.0)
    with pytest.raises(ValueError, match="particles"):
        history_match(fn, prior, np.ones(20), particles=1)
    with pytest.raises(ValueError, match="rounds"):
        history_match(fn, prior, np.ones(20), rounds=0)


# ============================================================================ oligosim calibrate --method history


@pytest.fixture(autouse=True)
def _only_calibrate_command(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("calibrate",))


def test_run_calibration_history_on_the_tiny_calibration():
    spec = load_calibration(DATA / "calibrate.toml", DATA / "targets.toml", quick=True)
    a = run_calibration(spec, method="history", workers=1)
    b = run_calibration(spec, method="history", workers=1)
    assert isinstance(a.abc, HistoryResult)
    h = spec.history
    phases = [e.phase for e in a.evaluations[1:]]
    assert phases == ["wave1"] * h["design_points"] + ["wave2"] * h["design_points"] + ["posterior"] * len(a.abc.particles)
    assert 1 <= len(a.abc.particles) <= h["particles"]
    assert np.array_equal(a.abc.weights, b.abc.weights) and a.best_values == b.best_values
    assert a.abc.weights.sum() == pytest.approx(1.0)


def test_calibrate_cli_history_writes_the_posterior(tmp_path):
    out = tmp_path / "o"
    assert cli.main(["calibrate", str(DATA / "calibrate.toml"), "--targets", str(DATA / "targets.toml"), "--out", str(out), "--quick", "--workers", "1", "--quiet", "--method", "history"]) == 0
    doc = json.loads((out / "calibration.json").read_text())
    assert doc["abc"] is None and [w["wave"] for w in doc["history"]["waves"]] == [1, 2, 3]
    report = (out / "report.md").read_text()
    assert "history matching with a Bayesian step" in report and "History-matching waves" in report
    assert (out / "posterior.csv").read_text().splitlines()[0].startswith("particle,weight,distance,")


def test_history_design_points_below_the_regression_is_refused(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text((DATA / "calibrate.toml").read_text().replace("map.toml", str(DATA / "map.toml").replace("\\", "/")).replace("design_points = 6", "design_points = 4"))
    code = cli.main(["calibrate", str(cfg), "--targets", str(DATA / "targets.toml"), "--out", str(tmp_path / "o"), "--method", "history"])
    assert code == 2
    err = capsys.readouterr().err
    assert "history.design_points = 4: must be at least the fitted parameters + 3 = 5" in err
    assert not (tmp_path / "o").exists()


# ============================================================================ start files and combined rounds


def test_a_start_replaces_the_waves_and_is_never_a_particle():
    """waves = 0 with a start: the emulator trains on the start's candidates, only the Bayesian
    step simulates, and the posterior is the linear-Gaussian one (the emulator is exact)."""
    A, b, fn, calls = _linear_problem()
    Z0 = sobol_points(30, 3, 11)
    L0, E0 = fn(Z0)
    calls.clear()
    res = history_match(fn, UnitPrior.uniform(3), np.ones(20), waves=0, particles=200, chains=8, steps=1500, error_scale=1.0, seed=1, start=(Z0, L0, E0))
    assert calls == [len(res.particles)] and [h[0] for h in res.history] == [1] * calls[0]
    assert not any((res.particles == z).all(1).any() for z in Z0)
    S = np.linalg.inv(A.T @ A)
    mu, sd = S @ A.T @ b, np.sqrt(np.diag(S))
    assert res.ess > 180 and np.all(np.abs(res.weights @ res.particles - mu) <= 4 * sd * math.sqrt(2.0 / res.ess))
    # the start's candidates shape the first emulator: without waves nothing else could
    assert res.waves[0]["round"] == 1 and res.waves[0]["best_objective"] <= L0.min()
    with pytest.raises(ValueError, match="waves >= 1"):
        history_match(fn, UnitPrior.uniform(3), np.ones(20), waves=0)
    with pytest.raises(ValueError, match="unit cube"):
        history_match(fn, UnitPrior.uniform(3), np.ones(20), waves=0, start=(Z0 + 1.0, L0, E0))
    with pytest.raises(ValueError, match="start must be"):
        history_match(fn, UnitPrior.uniform(3), np.ones(20), waves=0, start=(Z0, L0, E0[:, :5]))


def test_combined_rounds_weigh_each_round_by_its_ess():
    """combine: the particles are every round's draws; round r's weights sum to ESS_r / sum ESS,
    so the combined ESS is the sum of the rounds' and the weighted mean still matches the grid
    posterior of the non-linear problem."""
    from oligosim.calibration.history import _combine

    errors, fn = _sine_problem()
    K = 6
    kw = dict(waves=1, design_points=10, pool=1000, particles=150, rounds=3, chains=6, steps=1000, error_scale=0.5, seed=4)
    last = history_match(fn, UnitPrior.uniform(2), np.ones(K), **kw)
    both = history_match(fn, UnitPrior.uniform(2), np.ones(K), combine=True, **kw)
    rounds = [w for w in both.waves if "round" in w]
    assert [w["ess"] for w in rounds] == [w["ess"] for w in last.waves if "round" in w]  # same run, same rounds
    assert both.ess == pytest.approx(sum(w["ess"] for w in rounds)) == pytest.approx(rounds[-1]["ess_combined"])
    assert len(both.populations) == 3 and len(both.particles) == sum(len(p[0]) for p in both.populations)
    n = np.cumsum([0] + [len(p[0]) for p in both.populations])
    share = [both.weights[n[r]:n[r + 1]].sum() for r in range(3)]
    assert share == pytest.approx([w["ess"] / both.ess for w in rounds])
    assert np.array_equal(both.particles[n[2]:], last.particles) and both.ess > last.ess
    mu, sd = _grid_posterior(errors, 0.5)
    assert np.all(np.abs(both.weights @ both.particles - mu) <= 4 * sd * math.sqrt(2.0 / both.ess))
    # two rounds of ESS 10 and 30 by hand: weights 1/4 and 3/4 of the total
    W1, W2 = np.full(10, 0.1), np.full(30, 1 / 30)
    _, W, _ = _combine([(np.zeros((10, 2)), W1, np.zeros(10)), (np.ones((30, 2)), W2, np.zeros(30))])
    assert W[:10].sum() == pytest.approx(0.25) and 1.0 / np.sum(W**2) == pytest.approx(40.0)


def _cfg_with(tmp_path, history: str, name="c.toml") -> Path:
    """The tiny calibration with its [history] section replaced."""
    text = (DATA / "calibrate.toml").read_text().replace("map.toml", str(DATA / "map.toml").replace("\\", "/"))
    head, rest = text.split("[history]\n", 1)
    rest = rest.split("\n\n", 1)[1]
    cfg = tmp_path / name
    cfg.write_text(head + "[history]\n" + history + "\n\n" + rest)
    return cfg


def test_calibrate_cli_starts_from_an_earlier_runs_evaluations(tmp_path):
    """A first run's evaluations.csv trains the second run's emulator: no wave is simulated, every
    round's draws are particles (combine) and the outputs say so."""
    first = tmp_path / "first"
    assert cli.main(["calibrate", str(DATA / "calibrate.toml"), "--targets", str(DATA / "targets.toml"), "--out", str(first), "--quick", "--workers", "1", "--quiet", "--method", "history"]) == 0
    start = first / "evaluations.csv"
    n_start = len(start.read_text().splitlines()) - 1
    cfg = _cfg_with(tmp_path, f'start = ["{start.as_posix()}"]\nwaves = 0\nparticles = 6\nrounds = 2\nchains = 2\nsteps = 60\ncombine = true')
    spec = load_calibration(cfg, DATA / "targets.toml", quick=True)
    assert spec.history["waves"] == 0 and spec.history["start"] == [str(start)]
    res = run_calibration(spec, method="history", workers=1)
    phases = [e.phase for e in res.evaluations[1:]]
    rounds = [w for w in res.abc.waves if "round" in w]
    assert not any(p.startswith("wave") for p in phases) and len(rounds) == 2 == len(res.abc.waves)
    assert phases == ["refine1"] * rounds[0]["simulated"] + ["posterior"] * rounds[1]["simulated"]
    # the first round's emulator knew every start candidate inside the prior ranges: all but the
    # defaults row, whose TP kill rate (1.18127 since the v2 fit) lies above this calibration's range [0.3, 0.9]
    assert "1.18127" in start.read_text().splitlines()[1]
    assert rounds[0]["trained_on"] == n_start - 1 and rounds[1]["trained_on"] == n_start - 1 + rounds[0]["simulated"]
    assert len(res.abc.particles) == len(phases) and res.abc.ess == pytest.approx(rounds[1]["ess_combined"])
    out = tmp_path / "second"
    assert cli.main(["calibrate", str(cfg), "--targets", str(DATA / "targets.toml"), "--out", str(out), "--quick", "--workers", "1", "--quiet", "--method", "history"]) == 0
    doc = json.loads((out / "calibration.json").read_text())
    assert doc["history"]["start"] == [str(start)] and doc["history"]["combine"] is True
    report = (out / "report.md").read_text()
    assert "History-matching waves" not in report and "ESS, rounds so far combined" in report
    assert "trained from the start on the candidates of earlier calibrations" in report


def test_a_start_file_that_does_not_match_is_refused(tmp_path, capsys):
    first = tmp_path / "first"
    assert cli.main(["calibrate", str(DATA / "calibrate.toml"), "--targets", str(DATA / "targets.toml"), "--out", str(first), "--quick", "--workers", "1", "--quiet", "--method", "history"]) == 0
    rows = (first / "evaluations.csv").read_text().splitlines()
    head = rows[0].split(",")
    bad_target = tmp_path / "no_target.csv"
    drop = next(k for k, c in enumerate(head) if c.startswith("e:"))
    bad_target.write_text("\n".join(",".join(c for k, c in enumerate(r.split(",")) if k != drop) for r in rows) + "\n")
    bad_obj = tmp_path / "other_objective.csv"
    cells = rows[1].split(",")
    cells[2] = repr(float(cells[2]) * 1.5)
    bad_obj.write_text("\n".join([rows[0], ",".join(cells)] + rows[2:]) + "\n")
    extra = tmp_path / "extra_param.csv"
    extra.write_text("\n".join([rows[0] + ",disease.seeding_rate_per_cm3_month"] + [r + ",0.03" for r in rows[1:]]) + "\n")
    for f, msg in [
        (bad_target, f"no error column for target(s) {head[drop][2:]}"),
        (bad_obj, "row 2: objective = "),
        (extra, "column 'disease.seeding_rate_per_cm3_month': a parameter this calibration does not fit"),
    ]:
        cfg = _cfg_with(tmp_path, f'start = ["{f.as_posix()}"]\nwaves = 0\nparticles = 6\nchains = 2\nsteps = 60', name=f.stem + ".toml")
        out = tmp_path / ("o_" + f.stem)
        code = cli.main(["calibrate", str(cfg), "--targets", str(DATA / "targets.toml"), "--out", str(out), "--quick", "--workers", "1", "--quiet", "--method", "history"])
        err = capsys.readouterr().err
        assert code == 2 and msg in err and f"{f}" in err, err
        assert not out.exists()
    # at load time: a start that is not a file, and no waves without a start
    for hist, msg in [
        ('start = ["nowhere.csv"]\nwaves = 0', 'history.start[0] = "nowhere.csv": is not a file'),
        ("waves = 0", "history.waves = 0: 0 waves need history.start"),
    ]:
        cfg = _cfg_with(tmp_path, hist, name="load.toml")
        code = cli.main(["calibrate", str(cfg), "--targets", str(DATA / "targets.toml"), "--out", str(tmp_path / "o"), "--method", "history"])
        err = capsys.readouterr().err
        assert code == 2 and msg in err, err
