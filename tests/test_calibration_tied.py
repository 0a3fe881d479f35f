"""Tests of tied calibration parameters (``[tied]``, :mod:`oligosim.calibration.tied`).

* the table's forms (quoted and dotted keys) and every refusal, naming key, value and rule;
* ``CalibrationSpec.overrides``: fixed, fitted and tied values of a candidate;
* an end-to-end quick point fit on the tiny study: the tie reaches every simulated candidate
  (its recorded errors are those of the candidate simulated with the tied value set by hand,
  and differ from those without it), and the calibrated overlay writes the tied value;
* a posterior run with ties writes them beside its particles, and a PSA drawing it sets them.
"""

from __future__ import annotations

import csv
import math
import tomllib
from pathlib import Path

import pytest

from oligosim import cli
from oligosim.calibration import load_calibration, run_calibration
from oligosim.calibration.evaluation import target_error
from oligosim.calibration.scoring import evaluate_targets
from oligosim.calibration.tied import parse_tied, tied_values
from oligosim.config import ConfigError

DATA = Path(__file__).resolve().parent / "data" / "calibration"
CONFIG = DATA / "calibrate.toml"
TARGETS = DATA / "targets.toml"
KILL = "regimens.tp.kill_rate_per_month"  # fitted by the tiny config, range [0.3, 0.9]
RES = "regimens.tp.resistance_median_months"
TIE = f'[tied]\n"{RES}" = {{ of = "{KILL}", ratio = 8.0 }}\n'


@pytest.fixture(autouse=True)
def _only_calibrate_command(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("calibrate",))


def _config(tmp_path, body: str, method: str = "optimize") -> Path:
    p = tmp_path / "tied.toml"
    p.write_text(f'extends = "{CONFIG.as_posix()}"\n[calibration]\nmethod = "{method}"\n' + body, encoding="utf-8")
    return p


def test_parse_quoted_and_dotted_keys():
    errors: list[str] = []
    quoted = parse_tied({RES: {"of": KILL, "ratio": 8}}, "f.toml", errors)
    dotted = parse_tied({"regimens": {"tp": {"resistance_median_months": {"of": KILL, "ratio": 8.0}}}}, "f.toml", errors)
    assert errors == [] and quoted == dotted == {RES: (KILL, 8.0)}


@pytest.mark.parametrize("raw, message", [
    ([1, 2], "tied = [1, 2]: must be a table"),
    ({RES: 3.0}, f"tied.{RES} = 3.0: must be a table"),
    ({RES: {"of": KILL}}, f"tied.{RES}.ratio = None: must be a finite number > 0"),
    ({RES: {"of": KILL, "ratio": 0.0}}, f"tied.{RES}.ratio = 0.0: must be a finite number > 0"),
    ({RES: {"of": KILL, "ratio": math.inf}}, f"tied.{RES}.ratio = inf: must be a finite number > 0"),
    ({RES: {"of": KILL, "ratio": True}}, f"tied.{RES}.ratio = true: must be a finite number > 0"),
    ({RES: {"ratio": 2.0}}, f"tied.{RES}.of = None: must name the fitted parameter"),
    ({RES: {"of": KILL, "ratio": 2.0, "offset": 1}}, f"tied.{RES}.offset: unknown key"),
])
def test_parse_refusals_name_key_value_and_rule(raw, message):
    errors: list[str] = []
    parse_tied(raw, "f.toml", errors)
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize("body, message", [
    ('[tied]\n"regimens.tp.durable_fraction" = { of = "disease.seeding_rate_per_cm3_month", ratio = 1.0 }\n',
     'tied.regimens.tp.durable_fraction.of = "disease.seeding_rate_per_cm3_month": is not a fitted parameter'),
    (f'[tied]\n"{KILL}" = {{ of = "disease.death_hazard_per_cm3_month", ratio = 100.0 }}\n', f"tied.{KILL}"),
    (f'[fixed]\n"{RES}" = 5.0\n' + TIE, "is also set in [fixed]"),
    (f'[tied]\n"regimens.tp.no_such_key" = {{ of = "{KILL}", ratio = 2.0 }}\n', "is not valid for scenario"),
    (f'[tied]\n"regimens.tp.durable_fraction" = {{ of = "{KILL}", ratio = 5.0 }}\n', "is not valid for scenario"),  # 5 x 0.9 > 1
])
def test_check_refusals(tmp_path, capsys, body, message):
    out = tmp_path / "out"
    assert cli.main(["calibrate", str(_config(tmp_path, body)), "--targets", str(TARGETS), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_fitted_key_cannot_be_tied(tmp_path):
    with pytest.raises(ConfigError, match=f"tied.{KILL}.*is a fitted parameter: a key is either fitted or tied"):
        load_calibration(_config(tmp_path, f'[tied]\n"{KILL}" = {{ of = "disease.death_hazard_per_cm3_month", ratio = 100.0 }}\n'), TARGETS)


def test_ties_do_not_chain(tmp_path):
    body = TIE + f'"regimens.pf.resistance_median_months" = {{ of = "{RES}", ratio = 1.0 }}\n'
    with pytest.raises(ConfigError) as exc:
        load_calibration(_config(tmp_path, body), TARGETS)
    assert f'tied.regimens.pf.resistance_median_months.of = "{RES}": is not a fitted parameter' in str(exc.value)


def test_overrides_set_fixed_fitted_and_tied_values(tmp_path):
    spec = load_calibration(_config(tmp_path, '[fixed]\n"regimens.pf.kill_rate_per_month" = 0.5\n' + TIE), TARGETS)
    assert spec.tied == {RES: (KILL, 8.0)}
    o = spec.overrides({KILL: 0.5, "disease.death_hazard_per_cm3_month": 0.001})
    assert o == {"regimens.pf.kill_rate_per_month": 0.5, KILL: 0.5, "disease.death_hazard_per_cm3_month": 0.001, RES: pytest.approx(4.0)}
    # a followed parameter the candidate lacks: its scenario value
    kill_default = next(p.default for p in spec.parameters if p.path == KILL)
    assert tied_values(spec.tied, {}, spec.parameters) == {RES: pytest.approx(8.0 * kill_default)}
    assert spec.to_json()["tied"] == {RES: {"of": KILL, "ratio": 8.0}}


def test_a_posterior_carries_its_ties_into_a_psa(tmp_path):
    """A posterior run with ties writes them beside its particles, and a PSA drawing that
    posterior sets each tied key to its ratio times the drawn particle's followed value."""
    import numpy as np

    from oligosim.experiments import loads_experiment

    out = tmp_path / "out"
    cfg = _config(tmp_path, TIE, method="abc")
    assert cli.main(["calibrate", str(cfg), "--targets", str(TARGETS), "--out", str(out), "--quick", "--workers", "1", "--quiet"]) == 0
    side = tomllib.loads((out / "posterior.toml").read_text(encoding="utf-8"))
    assert side["tied"] == {RES: {"of": KILL, "ratio": 8.0}}
    # the model the posterior is of: the study with each column at its weighted median and the
    # tied key at its ratio times the followed median
    rows = list(csv.DictReader((out / "posterior.csv").open(encoding="utf-8")))
    w = np.array([float(r["weight"]) for r in rows])

    def median(col):
        x = np.array([float(r[col]) for r in rows])
        order = np.argsort(x)
        return float(x[order][np.searchsorted(np.cumsum(w[order]) / w.sum(), 0.5)])

    cols = [c for c in rows[0] if c not in ("particle", "weight", "distance")]
    values = {c: median(c) for c in cols} | {RES: 8.0 * median(KILL)}
    model = tmp_path / "model.toml"
    model.write_text(f'extends = "{(DATA / "study.toml").as_posix()}"\n' + "".join(f'{c} = {v!r}\n' for c, v in values.items()))
    exp = loads_experiment(
        f'[experiment]\nkind = "psa"\nscenario = "{model.as_posix()}"\narms = ["chemo"]\noutcome = "os.median"\npatients = 10\n'
        f'[psa]\ndraws = 5\nposterior = "{(out / "posterior.csv").as_posix()}"\n',
        base_dir=tmp_path, name="psa.toml",
    )
    post = exp.posterior
    assert post.paths[-1] == RES and RES not in post.paths[:-1]
    kill = post.paths.index(KILL)
    assert np.allclose(post.values[:, -1], 8.0 * post.values[:, kill], rtol=1e-15)
    X = post.draw(40, seed=3)
    assert np.allclose(X[:, -1], 8.0 * X[:, kill], rtol=1e-15)


def test_quick_fit_simulates_and_writes_the_tied_value(tmp_path):
    cfg = _config(tmp_path, TIE)
    out = tmp_path / "out"
    assert cli.main(["calibrate", str(cfg), "--targets", str(TARGETS), "--out", str(out), "--quick", "--workers", "1", "--quiet"]) == 0
    spec = load_calibration(cfg, TARGETS, quick=True)
    rows = list(csv.DictReader((out / "evaluations.csv").open(encoding="utf-8")))
    ids = [e.id for e in spec.tmap.entries]
    for row in rows[1:3]:  # two candidates of the search
        values = {p.path: float(row[p.path]) for p in spec.parameters}
        tied = evaluate_targets(spec.tmap, patients=spec.patients, seed=spec.seed, overrides={**values, RES: 8.0 * values[KILL]})
        untied = evaluate_targets(spec.tmap, patients=spec.patients, seed=spec.seed, overrides=values)
        recorded = [float(row[f"e:{i}"]) if row[f"e:{i}"] else None for i in ids]
        assert recorded == pytest.approx([target_error(r) for r in tied], rel=1e-12)
        assert recorded != pytest.approx([target_error(r) for r in untied], rel=1e-6)
    overlay = tomllib.loads((out / "calibrated.toml").read_text(encoding="utf-8"))
    assert overlay["regimens"]["tp"]["resistance_median_months"] == pytest.approx(8.0 * overlay["regimens"]["tp"]["kill_rate_per_month"], rel=1e-5)
    assert f"# tied: 8 x {KILL}" in (out / "calibrated.toml").read_text(encoding="utf-8")
    assert f"{RES} = 8 x {KILL}" in (out / "report.md").read_text(encoding="utf-8")
