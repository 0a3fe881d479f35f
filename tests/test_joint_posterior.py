"""Tests of a PSA that draws a calibration's joint posterior (``[psa] posterior``,
:mod:`oligosim.experiments.joint`).

Each draw must be one whole particle (so parameters that trade off in the posterior keep their
pairing), particles must be chosen in proportion to their weights, the experiment's own
parameters must keep the draws they have without a posterior, and every problem with the file
(not found, not a posterior, a column that is not a scenario key, a column also listed as a
[[parameter]], weights that are not weights, a posterior not centred on the scenario's value) is
refused with the key, the value and the rule.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from oligosim.config import ConfigError, load_scenario
from oligosim.experiments import joint, loads_experiment
from oligosim.experiments.psa import draw_parameters
from oligosim.experiments.runner import run_experiment

from conftest import PATIENT_FACTORS_OFF

ROOT = Path(__file__).resolve().parents[1]
SEED_RATE, DEATH = "disease.seeding_rate_per_cm3_month", "disease.death_hazard_per_cm3_month"
_DISEASE = load_scenario(ROOT / "configs" / "default.toml").data["disease"]
#: the default scenario's values of the two posterior columns and of the experiment's own parameter
CENTRE = (_DISEASE["seeding_rate_per_cm3_month"], _DISEASE["death_hazard_per_cm3_month"])
PROPENSITY = _DISEASE["propensity_sdlog"]


def _write_posterior(path: Path, n=200, seed=3, weights=None, header=None, centre=CENTRE):
    """Particles of two strongly correlated parameters around ``centre`` (the defaults)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    a = centre[0] * np.exp(0.2 * z)
    b = centre[1] * np.exp(0.2 * (0.95 * z + np.sqrt(1 - 0.95**2) * rng.standard_normal(n)))
    w = rng.random(n) if weights is None else np.asarray(weights, float)
    lines = [header or f"particle,weight,distance,{SEED_RATE},{DEATH}"]
    lines += [f"{i},{float(w[i])!r},{0.5 + i / n!r},{float(a[i])!r},{float(b[i])!r}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return a, b, w


def _experiment(base_dir: Path, posterior: str, own_parameter: bool = True, draws: int = 6):
    text = f"""
[experiment]
kind = "psa"
scenario = "{(ROOT / 'configs' / 'default.toml').as_posix()}"
arms = ["systemic_only", "consolidative"]
outcome = "os.rmst:60"
patients = 150
seed = 5

[psa]
draws = {draws}
posterior = "{posterior}"
"""
    if own_parameter:
        text += f"""
[[parameter]]
path = "disease.propensity_sdlog"
distribution = {{ dist = "gamma", mean = {PROPENSITY!r}, sd = 0.25 }}
"""
    return loads_experiment(text, base_dir=base_dir, name="psa_post.toml")


def test_draws_are_whole_particles_in_proportion_to_their_weights(tmp_path):
    w = np.array([0.1, 0.2, 0.3, 0.15, 0.25])
    _write_posterior(tmp_path / "p.csv", n=5, weights=w, centre=CENTRE)
    exp = _experiment(tmp_path, "p.csv")
    post = exp.posterior
    assert post.paths == (SEED_RATE, DEATH) and np.allclose(post.weights, w)
    X = post.draw(4000, seed=9)
    rows = {tuple(r) for r in post.values}
    assert all(tuple(x) in rows for x in X)  # never a mix of two particles
    counts = np.array([np.sum(np.all(X == r, axis=1)) for r in post.values])
    # stratified resampling: a particle spans N w strata, fully covering all but the two at its ends,
    # so its count is within 2 of N w (multinomial resampling would scatter it by ~sqrt(N w))
    assert np.all(np.abs(counts - 4000 * w) <= 2.0 + 1e-9)
    assert np.array_equal(post.draw(4000, seed=9), X)  # reproducible from the seed
    assert not np.array_equal(post.draw(4000, seed=10), X)
    assert post.ess == pytest.approx(1.0 / np.sum(w**2))


def test_a_psa_end_to_end_keeps_the_pairing_and_the_own_draws(tmp_path):
    a, b, w = _write_posterior(tmp_path / "p.csv")
    exp = _experiment(tmp_path, "p.csv", draws=4)
    doc = run_experiment(exp, tmp_path / "out", workers=1, quiet=True)
    X = np.array(doc["results"]["parameter_draws"])
    assert X.shape == (4, 3)
    own = draw_parameters(exp.parameters, 4, exp.seed, exp.settings["sampling"])
    assert np.array_equal(X[:, :1], own)  # the posterior leaves the other parameters' draws unchanged
    pairs = {(x, y) for x, y in zip(a, b)}
    assert all((x, y) in pairs for x, y in X[:, 1:])
    md = (tmp_path / "out" / "report.md").read_text()
    assert "joint posterior p.csv" in md and "effective sample size" in md
    assert doc["experiment"]["posterior"]["particles"] == 200


def test_a_posterior_alone_needs_no_parameter_table_and_names_resolve(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    _write_posterior(shipped / "v9.csv")
    monkeypatch.setattr(joint, "_posterior_dir", lambda: shipped)
    assert joint.shipped_posteriors() == ["v9"]
    exp = _experiment(tmp_path, "v9", own_parameter=False)
    assert exp.parameters == () and exp.posterior.file == shipped / "v9.csv"
    with pytest.raises(ConfigError, match=r"psa.posterior = \"nothing\": neither a file .* shipped posterior \(v9\)"):
        _experiment(tmp_path, "nothing")


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("header", "is not a calibration posterior"),
        ("weights", "the weights must be finite, >= 0 and not all 0"),
        ("key", "column disease.no_such_rate is not a key of scenario"),
        ("listed", "disease.propensity_sdlog is drawn from the posterior and also has a [[parameter]] table"),
        ("off_centre", f"column {SEED_RATE}: the scenario's value {CENTRE[0]:.6g} lies outside the posterior's central 99%"),
    ],
)
def test_bad_posteriors_are_refused_naming_key_value_and_rule(tmp_path, kind, expected):
    f = tmp_path / "p.csv"
    if kind == "header":
        _write_posterior(f, header=f"id,weight,distance,{SEED_RATE},{DEATH}")
    elif kind == "weights":
        _write_posterior(f, weights=np.zeros(200))
    elif kind == "key":
        _write_posterior(f, header=f"particle,weight,distance,disease.no_such_rate,{DEATH}")
    elif kind == "listed":
        _write_posterior(f, header=f"particle,weight,distance,disease.propensity_sdlog,{DEATH}", centre=(PROPENSITY, CENTRE[1]))
    else:
        _write_posterior(f, centre=(4.0 * CENTRE[0], CENTRE[1]))  # four times the value: far outside
    with pytest.raises(ConfigError) as exc:
        _experiment(tmp_path, "p.csv")
    text = "\n".join(exc.value.errors)
    assert 'psa.posterior = "p.csv"' in text and expected in text, text


def test_an_infeasible_particle_with_an_empty_distance_is_read(tmp_path):
    """calibrate writes an infeasible draw's distance (inf) as an empty cell, with weight 0."""
    _write_posterior(tmp_path / "p.csv")
    rows = (tmp_path / "p.csv").read_text().splitlines()
    cells = rows[5].split(",")
    cells[1], cells[2] = "0.0", ""
    rows[5] = ",".join(cells)
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    post = _experiment(tmp_path, "p.csv").posterior
    assert len(post.weights) == 200 and post.weights[4] == 0.0
    rows[5] = rows[5].replace(",,", ",,", 1).replace(cells[3], "", 1)
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ConfigError, match="has a value that is not a number"):
        _experiment(tmp_path, "p.csv")


def test_a_posterior_of_another_model_is_refused(tmp_path):
    """posterior.toml beside the posterior holds the settings its calibration fixed: a scenario
    with other values for them is refused (the values would run in another model), one with the
    same values is accepted."""
    _write_posterior(tmp_path / "p.csv")
    (tmp_path / "p.toml").write_text('[fixed]\n"disease.uncounted_disease" = "frozen"\n"simulation.max_lesions" = 64\n')
    with pytest.raises(ConfigError) as exc:
        _experiment(tmp_path, "p.csv")
    text = "\n".join(exc.value.errors)
    assert "the posterior's calibration fixed disease.uncounted_disease = 'frozen' (p.toml), the scenario has 'grows'" in text, text
    assert "fixed simulation.max_lesions = 64 (p.toml), the scenario has 32" in text
    (tmp_path / "p.toml").write_text('[fixed]\n"disease.uncounted_disease" = "grows"\n"simulation.max_lesions" = 32\n')
    exp = _experiment(tmp_path, "p.csv")
    assert exp is not None


@pytest.mark.skipif(not (ROOT.parent / "shared" / "calibration" / "targets.toml").exists(), reason="shared calibration targets not available")
def test_the_calibration_writes_its_fixed_settings_beside_the_posterior(tmp_path):
    from oligosim.calibration import load_calibration
    from oligosim.calibration.posterior import posterior_model_toml

    spec = load_calibration(ROOT / "configs" / "calibration" / "calibrate_v2_history.toml", ROOT.parent / "shared" / "calibration" / "targets.toml")
    text = posterior_model_toml(spec)
    import tomllib

    assert tomllib.loads(text)["fixed"] == spec.fixed and spec.fixed["simulation.max_lesions"] == 64


def test_the_shipped_posterior_of_the_shipped_model_drives_its_psa_by_name(tmp_path):
    """configs/calibration/posteriors/v2_factors.csv (issue 20 item 3): an effective sample size of
    at least 200; beside it the settings of its calibration, every one the shipped model's, and its
    ties; experiments/psa_posterior.toml draws whole particles of it, by name, with the tied keys
    following each particle."""
    from oligosim.config import load_scenario
    from oligosim.experiments import load_experiment

    assert {"v2_factors", "v2_history"} <= set(joint.shipped_posteriors())
    exp = load_experiment(ROOT / "experiments" / "psa_posterior.toml", quick=True)
    post = exp.posterior
    assert post.file.name == "v2_factors.csv" and post.ess >= 200 and len(post.paths) == 29 + 2
    import tomllib

    side = tomllib.loads(post.file.with_suffix(".toml").read_text())
    shipped = load_scenario(ROOT / "configs" / "default.toml")
    assert all(shipped.get(k) == v for k, v in side["fixed"].items())  # the shipped model's settings
    for tied, tie in side["tied"].items():
        j, k = post.paths.index(tied), post.paths.index(tie["of"])
        assert np.allclose(post.values[:, j], tie["ratio"] * post.values[:, k], rtol=1e-15)
    small = replace(exp, patients=60, settings=dict(exp.settings, draws=3))
    doc = run_experiment(small, tmp_path / "out", workers=1, quiet=True)
    X = np.array(doc["results"]["parameter_draws"])
    rows = {tuple(r) for r in post.values}
    assert X.shape == (3, 31) and all(tuple(x) in rows for x in X)


def test_the_shipped_v2_history_posterior_keeps_its_own_model(tmp_path):
    """configs/calibration/posteriors/v2_history.csv: an effective sample size of at least 200,
    the model settings of its calibration beside it (the lesion cap of 64, the patient factors
    off); a PSA drawing it by name runs on that model, and the shipped default scenario, another
    model, is refused naming the setting."""
    text = (ROOT / "experiments" / "psa_posterior.toml").read_text().replace('posterior = "v2_factors"', 'posterior = "v2_history"')
    exp = loads_experiment(text.replace("v2_factors_model.toml", "v2_history_model.toml"), base_dir=ROOT / "experiments", name="psa_posterior.toml")
    post = exp.posterior
    assert post.file.name == "v2_history.csv" and post.ess >= 200 and len(post.paths) == 29
    import tomllib

    fixed = tomllib.loads(post.file.with_suffix(".toml").read_text())["fixed"]
    assert fixed == {"disease.uncounted_disease": "grows", "disease.diffuse.enabled": True, "simulation.max_lesions": 64, **PATIENT_FACTORS_OFF}
    assert all(exp.scenario.get(k) == v for k, v in fixed.items())
    # the default scenario is another model: refused, naming the setting
    with pytest.raises(ConfigError, match="the posterior's calibration fixed patient_factors.ecog_decline_at_progression = 0.0"):
        loads_experiment(text.replace("../configs/calibration/posteriors/v2_factors_model.toml", (ROOT / "configs" / "default.toml").as_posix()),
                         base_dir=ROOT / "experiments", name="psa_posterior.toml")
    small = replace(exp, patients=60, settings=dict(exp.settings, draws=3))
    doc = run_experiment(small, tmp_path / "out", workers=1, quiet=True)
    X = np.array(doc["results"]["parameter_draws"])
    rows = {tuple(r) for r in post.values}
    assert X.shape == (3, 29) and all(tuple(x) in rows for x in X)


def test_check_reads_a_posteriors_settings_file(tmp_path, capsys):
    """posterior.toml (a [fixed] table alone) is its own kind for `oligosim check`: valid scenario
    keys and values pass, anything else is refused naming the key and the rule."""
    from oligosim import cli

    good = tmp_path / "p.toml"
    good.write_text('[fixed]\n"disease.uncounted_disease" = "grows"\n"simulation.max_lesions" = 64\n')
    assert cli.main(["check", str(good)]) == 0
    assert "ok (posterior settings, 2 fixed)" in capsys.readouterr().out
    bad = tmp_path / "q.toml"
    bad.write_text('[fixed]\n"disease.no_such_switch" = true\n')
    assert cli.main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: fixed:" in err and "no_such_switch" in err


def test_a_tie_beside_the_posterior_sets_its_key_from_each_particle(tmp_path, capsys):
    """[tied] in the posterior's settings file (a calibration's ties): each drawn particle sets
    the tied key to the ratio times its followed column; a tie that follows no column, or ties a
    column, is refused naming the key and the rule; `oligosim check` reads the file."""
    from oligosim import cli

    a, b, _ = _write_posterior(tmp_path / "p.csv")
    wide = "disease.death_hazard_after_widespread_per_month"
    ratio = _DISEASE[wide.split(".")[1]] / CENTRE[1]  # centred: the scenario's value is ratio x the centre
    side = tmp_path / "p.toml"
    side.write_text(f'[fixed]\n\n[tied]\n"{wide}" = {{ of = "{DEATH}", ratio = {ratio!r} }}\n')
    post = _experiment(tmp_path, "p.csv", own_parameter=False).posterior
    assert post.paths == (SEED_RATE, DEATH, wide)
    assert np.allclose(post.values[:, 2], ratio * b, rtol=1e-15)
    X = post.draw(50, seed=4)
    assert np.allclose(X[:, 2], ratio * X[:, 1], rtol=1e-15)
    assert cli.main(["check", str(side)]) == 0
    assert "ok (posterior settings, 0 fixed, 1 tied)" in capsys.readouterr().out
    for tie, rule in (
        (f'"{wide}" = {{ of = "disease.not_a_column", ratio = 2.0 }}', f"tied.{wide}.of = 'disease.not_a_column': is not a column of the posterior"),
        (f'"{SEED_RATE}" = {{ of = "{DEATH}", ratio = 2.0 }}', f"tied.{SEED_RATE}: is also a column of the posterior: a key is drawn or tied, not both"),
    ):
        side.write_text(f"[fixed]\n\n[tied]\n{tie}\n")
        with pytest.raises(ConfigError) as exc:
            _experiment(tmp_path, "p.csv", own_parameter=False)
        assert rule in "\n".join(exc.value.errors)
