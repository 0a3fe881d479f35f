"""Tests of a calibration config's ``[fixed]`` table: settings applied to every study scenario and
candidate (workers included), part of the fingerprint and of the calibrated overlay, and refused
with the key, value and rule when a scenario does not accept them or a fitted parameter is also
fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from oligosim.config import load_scenario
from oligosim.calibration import load_calibration, run_calibration

from tests.test_calibrate import CONFIG, TARGETS


def _with_fixed(directory, fixed: str, extra_param: str = ""):
    text = CONFIG.read_text().replace('map = "map.toml"', f'map = "{(CONFIG.parent / "map.toml").as_posix()}"')
    text = text.replace("[report]", fixed + "\n\n[report]") + extra_param
    path = directory / "fixed.toml"
    path.write_text(text)
    return path


def test_fixed_settings_reach_every_candidate_and_the_overlay(tmp_path, monkeypatch):
    import tomllib

    from oligosim.calibration import evaluation
    from oligosim.calibration.journal import fingerprint
    from oligosim.calibration.posterior import calibrated_toml

    path = _with_fixed(tmp_path, '[fixed]\nsimulation.max_lesions = 12\ndisease.uncounted_disease = "grows"')
    spec = load_calibration(path, TARGETS, quick=True)
    assert spec.fixed == {"simulation.max_lesions": 12, "disease.uncounted_disease": "grows"}
    assert all(sc.get("simulation.max_lesions") == 12 and sc.get("disease.uncounted_disease") == "grows" for sc in spec.tmap.scenarios.values())
    plain = load_calibration(CONFIG, TARGETS, quick=True)
    assert fingerprint(spec) != fingerprint(plain)
    seen = []
    real = evaluation._score
    monkeypatch.setattr(evaluation, "_score", lambda tmap, task: seen.append(task["overrides"]) or real(tmap, task))
    res = run_calibration(spec, method="optimize", workers=1)
    assert seen and all(o["simulation.max_lesions"] == 12 and o["disease.uncounted_disease"] == "grows" for o in seen)
    overlay = tomllib.loads(calibrated_toml(res))
    assert overlay["simulation"]["max_lesions"] == 12 and overlay["disease"]["uncounted_disease"] == "grows"
    assert overlay["disease"]["death_hazard_per_cm3_month"] == pytest.approx(res.best_values["disease.death_hazard_per_cm3_month"], rel=1e-5)
    # the settings change the simulated model: the defaults' objective differs from the plain config's
    assert res.evaluations[0].objective != run_calibration(plain, method="optimize", workers=1).evaluations[0].objective


def test_bad_fixed_settings_are_refused_naming_them(tmp_path):
    from oligosim.config import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_calibration(_with_fixed(tmp_path, '[fixed]\nsimulation.max_lesions = -3\ndisease.no_such_key = 1'), TARGETS)
    text = "\n".join(exc.value.errors)
    assert "fixed.simulation.max_lesions = -3" in text and "fixed.disease.no_such_key = 1" in text
    with pytest.raises(ConfigError, match="is also set in \\[fixed\\]"):
        load_calibration(_with_fixed(tmp_path, "[fixed]\ndisease.death_hazard_per_cm3_month = 0.002"), TARGETS)
    with pytest.raises(ConfigError, match="fixed.disease.x"):
        load_calibration(_with_fixed(tmp_path, "[fixed]\ndisease.x = { a = 1970-01-01 }"), TARGETS)


def test_a_staged_fit_extends_a_file_and_fits_only_its_free_parameters(tmp_path):
    """``extends`` inherits another calibration file (its map relative to that file, wherever the
    child lives); ``calibration.free`` fits a subset, the rest held at the scenarios' values and
    allowed in ``[fixed]``; the fingerprint tells the stage from its parent."""
    from oligosim.calibration.journal import fingerprint

    child = tmp_path / "elsewhere" / "stage.toml"
    child.parent.mkdir()
    child.write_text(
        f'extends = "{CONFIG.as_posix()}"\n[calibration]\nfree = ["regimens.tp.kill_rate_per_month"]\n'
        "[optimize]\nmax_evaluations = 7\n[fixed]\ndisease.death_hazard_per_cm3_month = 0.002\n"
    )
    parent = load_calibration(CONFIG, TARGETS)
    spec = load_calibration(child, TARGETS)
    assert [p.path for p in spec.parameters] == ["regimens.tp.kill_rate_per_month"]
    assert spec.parameters[0] == next(p for p in parent.parameters if p.path == "regimens.tp.kill_rate_per_month")
    assert spec.map_path.resolve() == parent.map_path.resolve()
    assert spec.optimize["max_evaluations"] == 7 and spec.objective == parent.objective
    assert all(sc.get("disease.death_hazard_per_cm3_month") == 0.002 for sc in spec.tmap.scenarios.values())
    assert fingerprint(spec) != fingerprint(parent)
    # every parameter free is the parent's fit
    child.write_text(f'extends = "{CONFIG.as_posix()}"\n')
    assert fingerprint(load_calibration(child, TARGETS)) == fingerprint(parent)


def test_a_key_written_by_a_shipped_base_is_relative_to_that_base():
    from oligosim.config.files import _shipped_display, source_dir

    shipped = CONFIG.parents[3] / "configs" / "calibration" / "calibrate_v2.toml"
    assert source_dir(_shipped_display("calibration/calibrate_v2", shipped)) == shipped.parent
    assert source_dir("a dir/with (parens)/x.toml") == CONFIG.parent.__class__("a dir/with (parens)")


def test_bad_free_lists_are_refused_naming_them(tmp_path):
    from oligosim.config import ConfigError

    child = tmp_path / "stage.toml"
    child.write_text(
        f'extends = "{CONFIG.as_posix()}"\n[calibration]\n'
        'free = ["disease.no_such_key", "regimens.tp.kill_rate_per_month", "regimens.tp.kill_rate_per_month"]\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_calibration(child, TARGETS)
    text = "\n".join(exc.value.errors)
    assert 'calibration.free[0] = "disease.no_such_key": is not the path of a [[parameter]]' in text
    assert "regimens.tp.kill_rate_per_month, " in text or "disease.death_hazard_per_cm3_month, " in text  # names the choices
    assert 'calibration.free[2] = "regimens.tp.kill_rate_per_month": is named twice' in text
    # a free parameter cannot also be fixed
    child.write_text(
        f'extends = "{CONFIG.as_posix()}"\n[calibration]\nfree = ["regimens.tp.kill_rate_per_month"]\n'
        "[fixed]\nregimens.tp.kill_rate_per_month = 0.5\n"
    )
    with pytest.raises(ConfigError, match="is also set in \\[fixed\\]"):
        load_calibration(child, TARGETS)
    child.write_text('extends = "no_such_parent.toml"\n')
    with pytest.raises(ConfigError, match="no_such_parent.toml"):
        load_calibration(child, TARGETS)


SHARED_TARGETS = CONFIG.parents[3].parent / "shared" / "calibration" / "targets.toml"
SHIPPED_CALIBRATIONS = sorted((CONFIG.parents[3] / "configs" / "calibration").glob("calibrate*.toml"))


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="shared calibration targets not available")
@pytest.mark.parametrize("path", SHIPPED_CALIBRATIONS, ids=lambda p: p.stem)
def test_shipped_calibrations_load_against_the_targets(path):
    spec = load_calibration(path, SHARED_TARGETS)
    assert len(spec.tmap.entries) == 70
    for p in spec.parameters:  # every fit starts from the shipped model: its value inside the range
        assert p.default is not None and p.low <= p.default <= p.high, p.path
    if path.stem == "calibrate_v2":
        assert spec.fixed == {"disease.uncounted_disease": "grows", "disease.diffuse.enabled": True}
        assert spec.abc["particles"] >= 400  # issue 20: an effective sample size >= 200 needs room
    if path.stem == "calibrate_v2_stage1":
        assert spec.fixed["simulation.max_lesions"] == 64 and len(spec.parameters) == 14
    if path.stem == "calibrate_v2_stage2":  # stage 1's 14 values held, the cap and switches inherited
        assert len(spec.parameters) == 15 and len(spec.fixed) == 17 and spec.fixed["simulation.max_lesions"] == 64
    if path.stem == "calibrate_v2_history":  # stages 1 and 2 free together, only the mechanisms fixed
        assert len(spec.parameters) == 29 and spec.method == "history" and spec.fixed["simulation.max_lesions"] == 64
        assert len(spec.fixed) == 3 and spec.history["waves"] * spec.history["design_points"] + spec.history["particles"] <= 1000
    if path.stem == "calibrate_v2_history2":  # the same posterior, started from the first run's candidates
        first = load_calibration(path.with_name("calibrate_v2_history.toml"), SHARED_TARGETS)
        assert [p.to_json() for p in spec.parameters] == [p.to_json() for p in first.parameters] and spec.fixed == first.fixed
        assert spec.history["error_scale"] == first.history["error_scale"] and spec.objective == first.objective
        assert spec.history["waves"] == 0 and spec.history["combine"] and len(spec.history["start"]) == 1
        assert Path(spec.history["start"][0]).resolve() == (CONFIG.parents[3] / "docs" / "calibration" / "v2" / "history" / "evaluations.csv").resolve()
    if path.stem in ("calibrate_v2_robust", "calibrate_v2_tied"):  # the joint's model, a Student-t objective
        joint = load_calibration(path.with_name("calibrate_v2_joint.toml"), SHARED_TARGETS)
        assert spec.fixed == joint.fixed and spec.objective["loss"] == "student_t" and spec.objective["dof"] == 1.0
        assert spec.method == "optimize"
        tied = {"regimens.tp_pd1.kill_rate_per_month", "regimens.tp_pd1.resistance_median_months"} if path.stem.endswith("tied") else set()
        assert {p.path for p in spec.parameters} == {p.path for p in joint.parameters} - tied
    if path.stem == "calibrate_v2_tied":  # TP + anti-PD-1 follows TP by ESCORT-1st's same-trial contrasts
        from oligosim.regimen_library import ESCORT_1ST

        kill_of, kill_ratio = spec.tied["regimens.tp_pd1.kill_rate_per_month"]
        res_of, res_ratio = spec.tied["regimens.tp_pd1.resistance_median_months"]
        assert (kill_of, res_of) == ("regimens.tp.kill_rate_per_month", "regimens.tp.resistance_median_months")
        assert kill_ratio == pytest.approx(ESCORT_1ST.arm.orr / ESCORT_1ST.control.orr, abs=5e-6)
        assert res_ratio == pytest.approx(ESCORT_1ST.arm.dor_months / ESCORT_1ST.control.dor_months, abs=5e-6)
    if path.stem == "calibrate_v2_factors":  # the tied restart with the patient factors of model 3.9 on
        tied = load_calibration(path.with_name("calibrate_v2_tied.toml"), SHARED_TARGETS)
        decline = "patient_factors.ecog_decline_at_progression"
        assert {p.path for p in spec.parameters} == {p.path for p in tied.parameters} | {decline}
        (p,) = [p for p in spec.parameters if p.path == decline]
        assert (p.low, p.high) == (0.0, 0.68)  # Müller 2021's share read as all performance status
        limits = {f"patient_factors.max_ecog_{k}": 1 for k in ("second_line", "third_line", "local")}
        assert spec.fixed == {**tied.fixed, **limits} and spec.tied == tied.tied
        assert spec.objective == tied.objective and spec.patients == 10000
    if path.stem == "calibrate_v2_history3":  # the same model and targets; the evidence counted by publication
        first = load_calibration(path.with_name("calibrate_v2_history.toml"), SHARED_TARGETS)
        assert [p.to_json() for p in spec.parameters] == [p.to_json() for p in first.parameters] and spec.fixed == first.fixed
        assert spec.objective == first.objective and spec.history["combine"] and spec.history["waves"] == 0
        assert spec.history["error_scale"] == pytest.approx(first.history["error_scale"] * 70 / 15, abs=0.005)
        assert [Path(f).parent.name for f in spec.history["start"]] == ["history", "history2"]
    if path.stem == "calibrate_v2_factors_history":  # the posterior of the shipped model
        factors = load_calibration(path.with_name("calibrate_v2_factors.toml"), SHARED_TARGETS)
        assert [p.path for p in spec.parameters] == [p.path for p in factors.parameters]
        assert [(p.low, p.high) for p in spec.parameters] == [(p.low, p.high) for p in factors.parameters]
        assert spec.tied == factors.tied and spec.objective["loss"] == "squared" and spec.history["combine"]
        assert spec.fixed == {**factors.fixed, "simulation.max_lesions": 32}
        shipped = load_scenario(CONFIG.parents[3] / "configs" / "default.toml")
        assert all(shipped.get(k) == v for k, v in spec.fixed.items())  # every fixed setting is the shipped one


def test_schema_ranges_reach_optional_keys():
    """The posterior's fitted distributions take their support from the schema, optional keys too
    (a per-cycle toxicity is a probability: beta, not normal)."""
    from oligosim.calibration.posterior import _schema_range

    assert _schema_range("regimens.tp.grade3plus_per_cycle.neutropenia") == (0.0, 1.0)
    assert _schema_range("regimens.tp.grade5_per_cycle") == (0.0, 1.0)
    assert _schema_range("regimens.tp.grade3plus.neutropenia") == (0.0, 1.0)
    assert _schema_range("regimens.tp.no_such_key") == (None, None)


def test_a_start_table_is_where_the_point_fit_starts(tmp_path, monkeypatch):
    """``[start]`` (an earlier fit's values, say) is screened first and, with no Sobol' screen,
    is where Nelder-Mead starts: the first candidate after the scenarios' values is the start,
    and the local search's first simplex surrounds it. A fitted parameter it lacks starts at the
    scenarios' value."""
    from oligosim.calibration import evaluation

    path = tmp_path / "start.toml"
    path.write_text(
        f'extends = "{CONFIG.as_posix()}"\n[calibration]\npatients = 60\n'
        "[optimize]\nscreen_points = 0\nmax_evaluations = 5\n[start]\nregimens.tp.kill_rate_per_month = 0.6\n"
    )
    spec = load_calibration(path, TARGETS)
    assert spec.start == {"regimens.tp.kill_rate_per_month": 0.6}
    assert spec.to_json()["start"] == spec.start
    seen = []
    real = evaluation._score
    monkeypatch.setattr(evaluation, "_score", lambda tmap, task: seen.append(dict(task["overrides"])) or real(tmap, task))
    logs = []
    res = run_calibration(spec, method="optimize", workers=1, log=logs.append)
    hazard_default = next(p.default for p in spec.parameters if p.path == "disease.death_hazard_per_cm3_month")
    cands = [o for o in seen if o]  # the scenarios' own values are scored with no override
    assert cands[0]["regimens.tp.kill_rate_per_month"] == pytest.approx(0.6, rel=1e-9)
    assert cands[0]["disease.death_hazard_per_cm3_month"] == pytest.approx(hazard_default, rel=1e-9)
    assert any("starts from [start] (1 of 2" in m for m in logs)
    # the local search moved from there: its candidates lie near the start (the scenarios' own
    # kill rate, 1.038, lies outside the range, which is why this start had to set it)
    near = [abs(o["regimens.tp.kill_rate_per_month"] - 0.6) for o in cands[1:]]
    assert near and max(near) < 0.3
    assert res.opt is not None and res.opt.nfev >= 2


def test_bad_start_tables_are_refused_naming_them(tmp_path):
    from oligosim.config import ConfigError

    cases = {
        "[start]\ndisease.seeding_rate_per_cm3_month = 0.05": "start.disease.seeding_rate_per_cm3_month = 0.05: is not a fitted parameter",
        "[start]\ndisease.death_hazard_per_cm3_month = 0.01": "must lie in the parameter's range",
        '[start]\ndisease.death_hazard_per_cm3_month = "high"': "must be a number",
        # the kill rate's scenario value (1.038) lies outside its range [0.3, 0.9]
        "[start]\ndisease.death_hazard_per_cm3_month = 0.002": 'start = "regimens.tp.kill_rate_per_month": needs a start value',
    }
    for table, message in cases.items():
        with pytest.raises(ConfigError) as exc:
            load_calibration(_with_fixed(tmp_path, table), TARGETS)
        assert message in "\n".join(exc.value.errors), table
