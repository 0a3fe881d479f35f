"""Tests of ``oligosim calibrate --method sensitivity`` (:mod:`oligosim.calibration.identify`).

The algebra (central differences, one-sided steps at a bound, the weighted curvature, trade-offs
and free directions) is checked on hand-made errors with known answers; the command end to end
on the tiny calibration of ``tests/data/calibration`` (every file written, the sensitivities
equal to the difference of the errors of separately simulated points, common random numbers).
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from oligosim import cli
from oligosim.calibration import load_calibration, run_calibration
from oligosim.calibration.identify import SHOWN_STEP, Sensitivity, local_sensitivity
from oligosim.calibration.evaluation import Evaluator
from oligosim.config import load_scenario

from tests.test_calibrate import CONFIG, PNG_MAGIC, TARGETS


def _toy(jac, weights, z0=None):
    jac = np.asarray(jac, float)
    n, d = jac.shape
    params = tuple(SimpleNamespace(path=f"p{j}", label=f"p{j}", default=1.0, low=0.0, high=2.0) for j in range(d))
    spec = SimpleNamespace(parameters=params, dim=d, tmap=SimpleNamespace(entries=[SimpleNamespace(id=f"t{i}") for i in range(n)]))
    z0 = np.full(d, 0.5) if z0 is None else np.asarray(z0, float)
    e = np.zeros((d, n))
    return Sensitivity(spec=spec, step=0.05, z0=z0, z_minus=z0 - 0.05, z_plus=z0 + 0.05, e0=np.zeros(n), e_minus=e, e_plus=e, jac=jac, weights=np.asarray(weights, float), base_results=[], evaluations=[])


def test_curvature_trade_offs_and_free_directions_of_a_known_jacobian():
    # p0 and p1 move the same targets in proportion (only p0 + 2 p1 is informed); p2 moves nothing
    J = np.array([[1.0, 2.0, 0.0], [3.0, 6.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])
    w = np.array([1.0, 1.0, 2.0, 4.0])
    s = _toy(J, w)
    F = J.T @ np.diag(w) @ J / w.sum()
    assert np.allclose(s.information, F)
    assert np.allclose(s.rms_effect(), SHOWN_STEP * np.sqrt(np.diag(F)))
    assert s.weak().tolist() == [False, False, True]
    (j, k, c), = s.collinear()
    assert (j, k) == (0, 1) and c == pytest.approx(1.0)
    free = s.free_directions()
    assert len(free) == 2  # p2 alone, and 2 p0 - p1
    vecs = np.array([v for _, v in free])
    assert np.allclose(np.abs(vecs @ np.array([0.0, 0.0, 1.0])).max(), 1.0)
    d = np.array([2.0, -1.0, 0.0]) / math.sqrt(5.0)
    assert np.abs(vecs @ d).max() == pytest.approx(1.0)
    # the targets informing p0, by weighted effect: t1 (3 x 1), t0 (1 x 1), t2 (0.5 x sqrt 2)
    assert [i for i, _ in s.informing(0)] == [1, 0, 2]
    assert s.informing(0)[0][1] == pytest.approx(SHOWN_STEP * 3.0)


def test_nan_sensitivities_count_as_uninformative_and_bounds_are_flagged():
    J = np.array([[np.nan, 1.0], [2.0, 1.0]])
    s = _toy(J, [1.0, 1.0], z0=[0.005, 0.5])
    assert np.allclose(s.information, np.array([[4.0, 2.0], [2.0, 2.0]]) / 2.0)
    assert s.at_bound().tolist() == [True, False]


def _centred_config(directory):
    """The tiny calibration with the TP kill range around its default (1.18127 since the v2 fit)."""
    text = CONFIG.read_text().replace('map = "map.toml"', f'map = "{(CONFIG.parent / "map.toml").as_posix()}"').replace("high = 0.9", "high = 1.5")
    path = directory / "centred.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return load_calibration(_centred_config(tmp_path_factory.mktemp("cfg")), TARGETS, quick=True)


@pytest.fixture(scope="module")
def sens(spec):
    return local_sensitivity(spec, step=0.1, workers=1)


def test_sensitivities_are_differences_of_separately_simulated_points(spec, sens):
    ev = Evaluator(spec, workers=1)
    for j in range(spec.dim):
        lo, hi = sens.z0.copy(), sens.z0.copy()
        lo[j], hi[j] = sens.z_minus[j], sens.z_plus[j]
        ev(np.array([lo, hi]))
        e_lo = np.array([np.nan if x is None else x for x in ev.evaluations[-2].errors])
        e_hi = np.array([np.nan if x is None else x for x in ev.evaluations[-1].errors])
        expect = (e_hi - e_lo) / (hi[j] - lo[j])
        assert np.array_equal(np.isnan(expect), np.isnan(sens.jac[:, j]))
        assert np.allclose(expect[~np.isnan(expect)], sens.jac[~np.isnan(expect), j], rtol=0, atol=1e-12)
    # the point is the defaults: its objective is the one a calibration run reports for them
    run = run_calibration(spec, method="optimize", workers=1)
    assert sens.evaluations[0].objective == pytest.approx(run.evaluations[0].objective, rel=1e-9)


def test_a_step_at_a_bound_is_one_sided(spec):
    import dataclasses

    p0 = spec.parameters[0]
    tight = dataclasses.replace(spec, parameters=(dataclasses.replace(p0, high=p0.default),) + spec.parameters[1:])
    s = local_sensitivity(tight, step=0.1, workers=1)
    assert s.z0[0] == pytest.approx(1.0) and s.z_plus[0] == s.z0[0] and s.z_minus[0] == pytest.approx(0.9)
    assert s.at_bound()[0]


def test_bad_step_and_defaults_outside_the_range_are_refused(spec):
    import dataclasses

    with pytest.raises(ValueError, match="step = 0.6"):
        local_sensitivity(spec, step=0.6)
    p0 = spec.parameters[0]
    outside = dataclasses.replace(spec, parameters=(dataclasses.replace(p0, low=p0.default * 2, high=p0.default * 4),) + spec.parameters[1:])
    with pytest.raises(ValueError, match=p0.path.replace(".", r"\.")):
        local_sensitivity(outside, step=0.1)


def test_the_command_writes_every_output(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("calibrate",))
    out = tmp_path / "sens"
    config = _centred_config(tmp_path)
    code = cli.main(["calibrate", str(config), "--targets", str(TARGETS), "--out", str(out), "--quick", "--workers", "1", "--quiet", "--method", "sensitivity", "--step", "0.1"])
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"sensitivity.csv", "identifiability.csv", "sensitivity.json", "sensitivity.png", "report.md", "report.html", ".oligosim-output"}
    assert (out / "sensitivity.png").read_bytes()[:8] == PNG_MAGIC
    doc = json.loads((out / "sensitivity.json").read_text())
    assert len(doc["parameters"]) == 2 and len(doc["jacobian"]) == len(doc["targets"]) == 4
    rep = (out / "report.md").read_text()
    for h in ("## Method", "## Parameters", "## Parameters that trade off", "## Combinations the targets leave free"):
        assert h in rep
    code = cli.main(["calibrate", str(config), "--targets", str(TARGETS), "--out", str(tmp_path / "x"), "--quick", "--method", "sensitivity", "--step", "0.7"])
    assert code == 2 and "--step = 0.7" in capsys.readouterr().err and not (tmp_path / "x").exists()
    # the shipped test config's TP range leaves out its default: refused, naming the key and the range
    code = cli.main(["calibrate", str(CONFIG), "--targets", str(TARGETS), "--out", str(tmp_path / "y"), "--quick", "--method", "sensitivity"])
    err = capsys.readouterr().err
    tp_kill = load_scenario(CONFIG.parent / "study.toml").data["regimens"]["tp"]["kill_rate_per_month"]
    assert tp_kill > 0.9  # the shipped default, above the range
    assert code == 2 and f"regimens.tp.kill_rate_per_month = {tp_kill:.6g} (range [0.3, 0.9])" in err and not (tmp_path / "y").exists()
