"""Tests of the public Python API (oligosim.api), docs/api.md's examples, the shipped files by
name (oligosim.shipped, package data), ``check`` for every file kind and the command line's
messages for a new user (run on an experiment file, mistyped options, the compile notice).

Simulations use a few hundred patients; no test asserts a simulated number, only agreement
between the API's tables and the arrays and functions they are built from.
"""

from __future__ import annotations

import doctest
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oligosim
from oligosim import api, cli, codes, shipped
from oligosim.analysis.metrics import evaluate
from oligosim.analysis.summary import endpoint
from oligosim.analysis.survival import kaplan_meier
from oligosim.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHARED_TARGETS = ROOT.parent / "shared" / "calibration" / "targets.toml"
ARMS = ["systemic_only", "consolidative", "at_progression"]


@pytest.fixture(scope="module")
def result():
    return oligosim.run("default", patients=300, seed=11, arms=ARMS, events=True)


# ============================================================================ docs/api.md


def test_api_md_examples_run():
    """Every example of docs/api.md runs and prints what the page says."""
    res = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 30
    assert res.failed == 0


def test_public_names_are_exported_lazily():
    assert set(oligosim.__all__) >= {"load", "run", "run_experiment", "list_shipped", "Result"}
    assert oligosim.run is api.run and oligosim.Result is api.Result
    with pytest.raises(AttributeError, match="no attribute 'simulatee'"):
        oligosim.simulatee  # noqa: B018


# ============================================================================ Result tables


def test_patients_table_decodes_the_arrays(result):
    p = result.patients()
    assert len(p) == 3 * 300 and list(p["arm"].cat.categories) == ARMS
    assert len(p.columns) == len(set(p.columns))
    for name in ARMS:
        arm = result.raw.arms[name]
        rows = p[p["arm"] == name]
        assert (rows["patient"].to_numpy() == np.arange(300)).all()
        assert np.array_equal(rows["os_months"].to_numpy(), arm["os"])
        assert np.array_equal(rows["pfs_event"].to_numpy(), arm["pfs_event"])
        assert list(rows["death_cause"].astype(str)) == [codes.DEATH_CAUSE_NAMES[c] for c in arm["death_cause"]]
        estro = [("polymetastatic" if c == codes.NOT_OLIGO else codes.ESTRO_CLASS_NAMES[c] if c >= 0 else None) for c in arm["estro_first"]]
        got = [None if isinstance(v, float) and math.isnan(v) else v for v in rows["estro_eortc_first_progression"].astype(object)]
        assert got == estro
        assert np.array_equal(rows[[f"tox_{t}" for t in codes.TOX_NAMES]].to_numpy(), arm.tox)


def test_events_table_matches_the_log(result):
    ev = result.events()
    arm = result.raw.arms["consolidative"]
    rows = ev[(ev["arm"] == "consolidative") & (ev["patient"] == 5)]
    k = int(min(arm["ev_n"][5], arm.ev_time.shape[1]))
    assert np.array_equal(rows["time_months"].to_numpy(), arm.ev_time[5, :k])
    assert list(rows["event"].astype(str)) == [codes.EVENT_NAMES[c] for c in arm.ev_code[5, :k]]
    assert len(ev) == sum(int(np.minimum(a["ev_n"], a.ev_time.shape[1]).sum()) for a in result.raw.arms.values())


def test_event_details_are_decoded(result):
    from oligosim._kernels import rt

    assert [rt.PLAN_INITIAL, rt.PLAN_URGENT, rt.PLAN_PROGRESSION] == list(range(len(api.RT_COURSE_NAMES)))
    ev = result.events()
    regimens = set(result.scenario.data["regimens"])
    tox = ev[ev["event"] == "toxicity"]
    assert len(tox) and set(tox["detail_name"]) <= set(codes.TOX_NAMES)
    assert list(tox["detail_name"]) == [codes.TOX_NAMES[d] for d in tox["detail"]]
    lines = ev[ev["event"] == "line_start"]
    assert len(lines) and set(lines["detail_name"]) <= regimens
    assert set(ev[ev["event"] == "rt_start"]["detail_name"]) <= set(api.RT_COURSE_NAMES)
    assert set(ev[ev["event"] == "scan"]["detail_name"]) <= {"scheduled", "symptom"}
    assert (ev[ev["event"] == "entry"]["detail_name"].str.endswith(" lesions")).all()


def test_events_need_the_log():
    res = oligosim.run("default", patients=20, arms=["consolidative"])
    with pytest.raises(ValueError, match="events=True"):
        res.events()
    lean = oligosim.run("default", patients=20, arms=["consolidative"], keep="summary")
    with pytest.raises(ValueError, match="keep='all'"):
        lean.patients()
    assert len(lean.summary(["os.median"])) == 1


def test_summary_matches_evaluate_and_marks_no_rt_local_control_missing(result):
    s = result.summary()
    assert list(s.columns) == ["arm", "metric", "value", "ci95_low", "ci95_high", "unit", "n"]
    for name in ARMS:
        arm = result.raw.arms[name]
        for metric in ("os.median", "pfs.rate:24", "tox.any", "first_failure.widespread"):
            row = s[(s["arm"] == name) & (s["metric"] == metric)].iloc[0]
            assert np.allclose([row.value, row.ci95_low, row.ci95_high], evaluate(arm, metric), equal_nan=True)
            assert row.n == 300
    lc = s[s["metric"] == "local_control:12"].set_index("arm")
    # systemic_only plans no RT: missing, even where a few patients were irradiated outside it
    assert math.isnan(lc.loc["systemic_only", "value"])
    assert lc.loc["consolidative", "value"] == pytest.approx(evaluate(result.raw.arms["consolidative"], "local_control:12")[0])
    assert lc.loc["consolidative", "n"] == result.raw.arms["consolidative"].lc_records[0].size
    js = result.summary_json()["arms"]
    assert js["systemic_only"]["lesion_local_control"] == {"12": None, "24": None}
    assert js["consolidative"]["lesion_local_control"]["12"] == pytest.approx(lc.loc["consolidative", "value"])
    wide = result.summary(["os.median", "tox.any"], wide=True)
    assert list(wide.index) == ARMS and list(wide.columns) == ["os.median", "tox.any"]


def test_km_is_the_kaplan_meier_of_each_arm(result):
    k = result.km("pfs")
    for name in ARMS:
        ref = kaplan_meier(*endpoint(result.raw.arms[name], "pfs"))
        rows = k[k["arm"] == name]
        assert np.array_equal(rows["time_months"].to_numpy(), ref.times)
        assert np.array_equal(rows["survival"].to_numpy(), ref.survival)
        assert (rows["ci95_low"] <= rows["survival"] + 1e-12).all() and (rows["survival"] <= rows["ci95_high"] + 1e-12).all()
    with pytest.raises(ValueError, match="endpoint = 'xx'"):
        result.km("xx")


def test_compare_is_the_paired_difference(result):
    c = result.compare("systemic_only", "consolidative", "os.rmst:24", replicates=50)
    a, b = (evaluate(result.raw.arms[x], "os.rmst:24")[0] for x in ("systemic_only", "consolidative"))
    assert c["difference"] == pytest.approx(b - a)
    assert c["ci95_low"] <= c["difference"] <= c["ci95_high"]
    with pytest.raises(KeyError, match="arm 'upfront'"):
        result.compare("systemic_only", "upfront", "os.median")


def test_repr_and_html(result):
    assert "3 arms x 300 patients, seed 11" in repr(result)
    html = result._repr_html_()
    assert "<table" in html and "os.median" in html and "consolidative" in html


def test_same_seed_same_tables():
    a = oligosim.run("default", patients=100, seed=3, arms=["consolidative"]).patients()
    b = oligosim.run("default", patients=100, seed=3, arms=["consolidative"], threads=1).patients()
    pd.testing.assert_frame_equal(a, b)


# ============================================================================ shipped files by name


def test_shipped_names_resolve():
    assert shipped.find("default") == shipped.folders()["configs"] / "default.toml"
    assert shipped.find("psa") == shipped.folders()["experiments"] / "psa.toml"
    assert shipped.find("li2020").name == "li2020.toml"  # a unique stem
    assert shipped.find("eso_shanghai13") is None  # in scenarios/ and in studies/
    assert "scenarios/eso_shanghai13, studies/eso_shanghai13" in shipped.unknown_name_hint("eso_shanghai13")
    assert "did you mean the shipped 'default'" in shipped.unknown_name_hint("defualt")
    kinds = {f.name: f.kind for f in shipped.list_files()}
    assert kinds["default"] == "scenario" and kinds["base"] == "base" and kinds["psa"] == "experiment"
    assert kinds["calibration/calibrate"] == "calibration" and kinds["calibration/map"] == "map"


def test_user_file_extends_a_shipped_scenario_by_name(tmp_path):
    mine = tmp_path / "my_trial.toml"
    mine.write_text('extends = "default"\n[scenario]\nname = "mine"\n[simulation]\npatients = 123\n', encoding="utf-8")
    sc = oligosim.load(mine)
    assert sc.name == "mine" and sc.data["simulation"]["patients"] == 123
    assert list(sc.data["arms"]) == list(oligosim.load("default").data["arms"])
    # a name that is neither a file nor shipped keeps the usual message
    (tmp_path / "bad.toml").write_text('extends = "no_such_base.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="no_such_base.toml.: file not found"):
        oligosim.load(tmp_path / "bad.toml")


def test_load_suggests_a_shipped_name():
    with pytest.raises(ConfigError, match="did you mean the shipped 'default'"):
        oligosim.load("defaul")


def test_build_copies_the_shipped_folders_into_the_package(tmp_path):
    """setup.py's build_py puts configs/ and experiments/ in the wheel as oligosim/_shipped/."""
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    packaged = tmp_path / "oligosim" / "_shipped"
    for folder in ("configs", "experiments"):
        want = sorted(p.relative_to(ROOT / folder) for p in (ROOT / folder).rglob("*.toml"))
        assert sorted(p.relative_to(packaged / folder) for p in (packaged / folder).rglob("*.toml")) == want


# ============================================================================ the command line


def _cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="shared calibration targets not available")
def test_check_passes_on_every_shipped_file_of_every_kind(capsys):
    files = [str(f.path) for f in shipped.list_files()]
    code, out, err = _cli(capsys, "check", "--targets", str(SHARED_TARGETS), *files, str(SHARED_TARGETS))
    assert code == 0, err
    assert out.count(": ok") == len(files) + 1
    for note in ("(experiment, kind psa)", "(calibration spec,", "(target map,", "(targets file,", "(no arms: a base"):
        assert note in out


def test_check_a_map_without_targets_says_what_it_needs(capsys, monkeypatch):
    from oligosim.commands import check

    monkeypatch.setattr(check, "default_targets", lambda: None)
    code, _, err = _cli(capsys, "check", "calibration/map")
    assert code == 2 and "give --targets TARGETS.toml" in err


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="shared calibration targets not available")
def test_check_a_calibration_spec_finds_the_project_targets(capsys):
    code, out, err = _cli(capsys, "check", str(ROOT / "configs" / "calibration" / "calibrate.toml"))
    assert code == 0, err
    assert "checked against" in out and "ok (calibration spec, " in out


def test_run_on_an_experiment_file_says_so(capsys):
    code, _, err = _cli(capsys, "run", str(ROOT / "experiments" / "psa.toml"))
    assert code == 2 and "is an experiment file, not a scenario: run it with `oligosim experiment FILE`" in err
    code, _, err = _cli(capsys, "experiment", "default")
    assert code == 2 and "default is a scenario, not an experiment" in err


def test_mistyped_option_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["experiment", "psa", "--quik"])
    assert info.value.code == 2
    assert "unrecognized arguments: --quik (did you mean --quick?)" in capsys.readouterr().err


def test_list_prints_names_by_kind(capsys):
    code, out, _ = _cli(capsys, "list")
    assert code == 0
    assert "scenarios (oligosim run NAME):" in out and "experiments (oligosim experiment NAME):" in out
    assert "  teaching/04_rt_timing " in out and "  studies/li2020 " in out


def test_experiment_errors_come_together_with_did_you_mean(tmp_path):
    from oligosim.experiments.spec import load_experiment

    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[experiment]\nkind = "oneway"\nscenario = "default"\narms = ["systemic_only", "consolidativ"]\n'
        'outcome = "os.median"\npatients = 0\n\n[[parameter]]\npath = "disease.seeding_rate_per_cm3_mont"\nlow = 0.01\nhigh = 0.1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_experiment(bad)
    text = "\n".join(info.value.errors)
    assert "experiment.patients = 0" in text  # the schema's error ...
    assert "did you mean 'consolidative'" in text  # ... with the arm's ...
    assert "did you mean 'seeding_rate_per_cm3_month'" in text  # ... and the parameter path's


def test_compile_notice(monkeypatch, capsys):
    from oligosim import simulate

    oligosim.run("default", patients=5, arms=["consolidative"])
    assert simulate.kernel_cached() is True  # compiled (or loaded) in this process
    monkeypatch.setattr(simulate, "kernel_cached", lambda: False)
    assert api.announce_compile() is True
    assert "compiling the simulation kernel" in capsys.readouterr().err
    monkeypatch.setattr(simulate, "kernel_cached", lambda: True)
    assert api.announce_compile() is False
    assert capsys.readouterr().err == ""


def test_calibrate_and_targets_take_shipped_names(capsys, tmp_path):
    missing = str(tmp_path / "no_targets.toml")
    code, _, err = _cli(capsys, "calibrate", "calibration/calibrate", "--targets", missing, "--out", str(tmp_path / "o"))
    # the spec was found by name: what fails is the targets file
    assert code == 2 and "calibration/calibrate: file not found" not in err and "no_targets.toml: file not found" in err
    if SHARED_TARGETS.exists():
        code, _, err = _cli(capsys, "targets", str(SHARED_TARGETS), "--map", "calibration/mapp", "--out", str(tmp_path / "t"))
        assert code == 2 and "calibration/mapp: file not found" in err
