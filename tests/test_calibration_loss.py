"""Tests of the calibration objective's heavy-tailed loss (``[objective] loss = "student_t"``).

* the cost of one target against its closed form, its limits (near 0 and for many degrees of
  freedom it is the squared error) and infinities;
* the weighted objective on hand-made target results, undefined values included;
* the reason it exists: one structural miss no longer outweighs many near misses, so the
  candidate with more targets within tolerance has the lower objective;
* config validation (``dof`` without ``student_t``, ``student_t`` with history matching);
* an end-to-end quick run: the recorded objective is the Student-t one of the recorded errors,
  and the report states the loss.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from oligosim import cli
from oligosim.calibration import load_calibration, run_calibration
from oligosim.calibration.evaluation import objective, target_cost, target_weight
from oligosim.calibration.scoring import TargetResult

DATA = Path(__file__).resolve().parent / "data" / "calibration"
CONFIG = DATA / "calibrate.toml"
TARGETS = DATA / "targets.toml"


@pytest.fixture(autouse=True)
def _only_calibrate_command(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("calibrate",))


def _fraction(model, target=0.5, n=100) -> TargetResult:
    """A rate target with an absolute tolerance of 0.07 (scaled error (model - target) / 0.07)."""
    tol = {"kind": "absolute", "value": 0.07, "bound": "two_sided", "band": (target - 0.07, target + 0.07)}
    scaled = None if model is None else (model - target) / 0.07
    return TargetResult(
        id="t", study="s", scenario="x", arm="a", metric="m", unit="fraction", target=target, n=n, model=model,
        model_ci95=None, rel_error=None, abs_error=None, tolerance=tol,
        within_tolerance=model is not None and abs(scaled) <= 1.0, scaled_error=scaled, patients=100, seed=1,
    )


BASE = {"weighting": "n", "missing_n_weight_resolved": 50.0, "median_scale": "log", "undefined_penalty": 100.0}
T1 = dict(BASE, loss="student_t", dof=1.0)


@pytest.mark.parametrize("e2", [0.0, 0.25, 1.0, 4.0, 92.16, 1e6])
@pytest.mark.parametrize("dof", [0.5, 1.0, 3.0, 30.0])
def test_student_t_cost_closed_form(e2, dof):
    assert target_cost(e2, dict(BASE, loss="student_t", dof=dof)) == pytest.approx(dof * math.log(1.0 + e2 / dof), rel=1e-14, abs=1e-300)
    assert target_cost(e2, BASE) == e2  # squared: unchanged


def test_student_t_cost_limits():
    # near 0 it is the squared error (first order), for any dof
    for dof in (0.5, 1.0, 5.0):
        assert target_cost(1e-6, dict(BASE, loss="student_t", dof=dof)) == pytest.approx(1e-6, rel=1e-5)
    # many degrees of freedom: the Gaussian (squared) cost; relative gap e2 / (2 dof) to first order
    assert target_cost(4.0, dict(BASE, loss="student_t", dof=1e6)) == pytest.approx(4.0, rel=3e-6)
    # a structural miss 9.6 tolerances out costs 92.16 squared, ln(93.16) = 4.53 under dof = 1
    assert target_cost(9.6**2, T1) == pytest.approx(math.log(93.16))
    # dof left out means 1 (Cauchy)
    assert target_cost(3.0, dict(BASE, loss="student_t", dof=None)) == pytest.approx(math.log(4.0))
    assert target_cost(math.inf, T1) == math.inf and target_cost(math.inf, BASE) == math.inf


def test_student_t_objective_by_hand():
    r1, r2, r3 = _fraction(0.57, n=100), _fraction(0.5 + 3 * 0.07, n=None), _fraction(None, n=25)  # e = 1, 3, undefined
    val, errs, ws = objective([r1, r2, r3], T1)
    assert ws == [100.0, 50.0, 25.0]
    assert errs[0] == pytest.approx(1.0) and errs[1] == pytest.approx(3.0) and errs[2] is None
    # the undefined value counts as e^2 = undefined_penalty
    assert val == pytest.approx((100 * math.log(2.0) + 50 * math.log(10.0) + 25 * math.log(101.0)) / 175)
    sq, _, _ = objective([r1, r2, r3], BASE)
    assert sq == pytest.approx((100 * 1 + 50 * 9 + 25 * 100) / 175)
    # the loss changes the costs, never the weights
    assert [target_weight(r, T1) for r in (r1, r2, r3)] == [target_weight(r, BASE) for r in (r1, r2, r3)]


def test_one_structural_miss_no_longer_outweighs_many_near_misses():
    """Candidate A meets 69 of 70 targets (e = 0.5) and misses one by 9.6 tolerances; candidate
    B misses all 70 by 1.2. Squared errors prefer B (1.44 against 1.56), the Student-t loss A."""
    a = [_fraction(0.5 + 0.5 * 0.07)] * 69 + [_fraction(0.5 + 9.6 * 0.07)]
    b = [_fraction(0.5 + 1.2 * 0.07)] * 70
    assert sum(r.within_tolerance for r in a) == 69 and sum(r.within_tolerance for r in b) == 0
    sq_a, sq_b = objective(a, BASE)[0], objective(b, BASE)[0]
    assert sq_a == pytest.approx((69 * 0.25 + 92.16) / 70) and sq_b == pytest.approx(1.44)
    assert sq_b < sq_a
    t_a, t_b = objective(a, T1)[0], objective(b, T1)[0]
    assert t_a == pytest.approx((69 * math.log(1.25) + math.log(93.16)) / 70) and t_b == pytest.approx(math.log(2.44))
    assert t_a < t_b


def _config(tmp_path, body: str) -> Path:
    p = tmp_path / "loss.toml"
    p.write_text(f'extends = "{CONFIG.as_posix()}"\n' + body, encoding="utf-8")
    return p


def test_dof_without_student_t_is_refused(tmp_path, capsys):
    cfg = _config(tmp_path, "[objective]\ndof = 3.0\n")
    out = tmp_path / "out"
    assert cli.main(["calibrate", str(cfg), "--targets", str(TARGETS), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert 'objective.dof = 3.0: applies to loss = "student_t" only (loss is "squared")' in err
    assert not out.exists()


@pytest.mark.parametrize("body, message", [
    ('[objective]\nloss = "cauchy"\n', 'objective.loss = "cauchy"'),
    ('[objective]\nloss = "student_t"\ndof = 0.0\n', "objective.dof = 0.0"),
    ('[objective]\nloss = "student_t"\ndof = -2.0\n', "objective.dof = -2.0"),
])
def test_bad_loss_values_are_refused(tmp_path, capsys, body, message):
    out = tmp_path / "out"
    assert cli.main(["calibrate", str(_config(tmp_path, body)), "--targets", str(TARGETS), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_student_t_with_history_matching_is_refused(tmp_path, capsys):
    # in the file ...
    cfg = _config(tmp_path, '[calibration]\nmethod = "history"\n[objective]\nloss = "student_t"\n')
    out = tmp_path / "out"
    assert cli.main(["calibrate", str(cfg), "--targets", str(TARGETS), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'objective.loss = "student_t": history matching emulates a Gaussian likelihood' in err
    assert not out.exists()
    # ... on the command line, before anything is simulated ...
    cfg = _config(tmp_path, '[objective]\nloss = "student_t"\n')
    assert cli.main(["calibrate", str(cfg), "--targets", str(TARGETS), "--out", str(out), "--method", "history"]) == 2
    err = capsys.readouterr().err
    assert "with --method history" in err and 'use loss = "squared"' in err and "Traceback" not in err
    assert not out.exists()
    # ... and through the API
    spec = load_calibration(cfg, TARGETS)
    with pytest.raises(ValueError, match="history matching emulates a Gaussian likelihood"):
        run_calibration(spec, method="history")


def test_quick_run_records_the_student_t_objective(tmp_path):
    cfg = _config(tmp_path, '[calibration]\nmethod = "optimize"\n[objective]\nloss = "student_t"\ndof = 2.0\n')
    out = tmp_path / "out"
    assert cli.main(["calibrate", str(cfg), "--targets", str(TARGETS), "--out", str(out), "--quick", "--workers", "1", "--quiet"]) == 0
    spec = load_calibration(cfg, TARGETS, quick=True)
    weights = {r["id"]: float(r["weight"]) for r in csv.DictReader((out / "targets_fit.csv").open(encoding="utf-8"))}
    rows = list(csv.DictReader((out / "evaluations.csv").open(encoding="utf-8")))
    assert len(rows) >= 2
    pen = spec.objective["undefined_penalty"]
    for row in rows:
        num = den = 0.0
        for tid, w in weights.items():
            e = row[f"e:{tid}"]
            e2 = pen if e == "" else float(e) ** 2
            num += w * 2.0 * math.log1p(e2 / 2.0)
            den += w
        assert float(row["objective"]) == pytest.approx(num / den, rel=1e-9)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "c_i = nu ln(1 + e_i^2 / nu), nu = 2" in report
