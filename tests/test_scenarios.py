"""The shipped scenario files and the real schema: ``oligosim check`` on every config, a short
run of every scenario with sanity checks, rejection of broken files (``tests/data/broken/``,
each extending the real ``configs/base.toml``), and ``extends`` merging.

No test asserts a simulated number (the kernel and the defaults are being tuned).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from oligosim import cli, codes
from oligosim.analysis.summary import summarize_arm
from oligosim.config import ConfigError, load_scenario, loads_scenario
from oligosim.simulate import run_scenario

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
BASE = CONFIGS / "base.toml"
DEFAULT = CONFIGS / "default.toml"
BROKEN = Path(__file__).resolve().parent / "data" / "broken"

ALL_CONFIGS = sorted(CONFIGS.glob("*.toml")) + sorted((CONFIGS / "scenarios").glob("*.toml"))
RUNNABLE = [DEFAULT] + sorted((CONFIGS / "scenarios").glob("*.toml"))
PATIENTS = 300
URGENT_COURSE = 1  #: detail of an rt_start event of an urgent course (engine._plan_course mode 1)


def _rel(p: Path) -> str:
    return os.path.relpath(p, ROOT)


# ============================================================================ 1. check the shipped configs


def test_shipped_configs_are_found():
    names = {p.name for p in ALL_CONFIGS}
    assert {"base.toml", "default.toml"} <= names
    assert len(list((CONFIGS / "scenarios").glob("*.toml"))) >= 5


def test_every_shipped_config_passes_check(capsys):
    files = [str(p) for p in ALL_CONFIGS]
    assert cli.main(["check", *files]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == len(files)
    for f, line in zip(files, lines):
        assert line.startswith(f"{f}: ok"), line


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: _rel(p))
def test_each_shipped_config_passes_check_from_repo_root(path, capsys, monkeypatch):
    # relative paths as a user would type them; extends is resolved relative to the file
    monkeypatch.chdir(ROOT)
    assert cli.main(["check", _rel(path)]) == 0
    assert capsys.readouterr().err == ""


def test_base_reports_it_has_no_arms(capsys):
    assert cli.main(["check", str(BASE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{BASE}: ok")
    assert "no arms" in out


def test_scenarios_have_arms():
    for path in RUNNABLE:
        assert load_scenario(path).data["arms"], f"{path} has no arms"


# ============================================================================ 2. every scenario runs


@pytest.fixture(scope="module", params=RUNNABLE, ids=lambda p: _rel(p))
def scenario_run(request):
    sc = load_scenario(request.param)
    return sc, run_scenario(sc, patients=PATIENTS, events=True)


def _systemic_only(arm_cfg) -> bool:
    prog = arm_cfg["progression"]
    return arm_cfg["rt_timing"] == "none" and prog["local_therapy"] == "none" and not prog["local_with_next_line"]


def test_scenario_runs_every_arm(scenario_run):
    sc, res = scenario_run
    assert list(res.arms) == list(sc.data["arms"])
    assert res.patients == PATIENTS
    for name, arm in res.arms.items():
        assert arm.n == PATIENTS, name
        for col in ("os", "pfs", "wpfs"):
            assert np.all(np.isfinite(arm[col])), f"{name}.{col} has non-finite values"
            assert np.all(arm[col] >= 0), f"{name}.{col} < 0"
        horizon = sc.data["simulation"]["horizon_months"]
        assert np.all(arm["os"] <= horizon + 1e-9), name
        assert not np.any(arm["overflow"] < 0), name


def test_scenario_time_ordering(scenario_run):
    _, res = scenario_run
    for name, arm in res.arms.items():
        os_, pfs, wpfs = arm["os"], arm["pfs"], arm["wpfs"]
        bad = np.flatnonzero(pfs > os_)
        assert bad.size == 0, f"{name}: PFS > OS for patients {bad[:10]}"
        bad = np.flatnonzero((wpfs < pfs) | (wpfs > os_))
        assert bad.size == 0, f"{name}: WPFS outside [PFS, OS] for patients {bad[:10]}"
        # an OS event is a death; a death without progression ends PFS too
        assert np.all(arm["pfs_event"] | ~arm["os_event"] | (pfs < os_)), name
        assert np.all(arm["pfs_event"][arm["wpfs_event"]]), f"{name}: widespread progression without progression"
        # alive patients are censored for OS, the dead are events
        dead = arm["death_cause"] != codes.ALIVE
        assert np.array_equal(arm["os_event"], dead), name


def test_scenario_summary_fractions(scenario_run):
    _, res = scenario_run
    for name, arm in res.arms.items():
        s = summarize_arm(arm)
        fractions = [s["treatment_deaths"], *s["toxicity_grade3plus"].values(), *s["first_failure"].values(),
                     *s["estro_eortc_first_progression"].values()]
        for ep in ("os", "pfs", "wpfs", "dss"):
            fractions += [v for v in s[ep]["rate"].values() if v is not None]
        fractions += [v for v in s["lesion_local_control"].values() if v is not None]
        for v in fractions:
            assert 0.0 <= v <= 1.0 and np.isfinite(v), f"{name}: fraction {v}"
        assert abs(sum(s["first_failure"].values()) - 1.0) <= 1e-9, name
        assert s["rt_courses_mean"] >= 0
        assert set(s["toxicity_grade3plus"]) == set(codes.TOX_NAMES) | {"any"}


# the shipped scenarios that have at least one systemic-only arm
WITH_SYSTEMIC_ONLY = [p for p in RUNNABLE if any(_systemic_only(a) for a in load_scenario(p).data["arms"].values())]


@pytest.mark.parametrize("path", WITH_SYSTEMIC_ONLY, ids=lambda p: _rel(p))
def test_systemic_only_arms_get_only_urgent_rt(path):
    """Arms without planned RT (rt_timing "none", no local therapy at progression) give RT only
    as the urgent course for symptomatic brain or bone lesions at entry (statement 6)."""
    sc = load_scenario(path)
    res = run_scenario(sc, patients=PATIENTS, events=True)
    arms = {n: a for n, a in sc.data["arms"].items() if _systemic_only(a)}
    assert arms
    for name in arms:
        arm = res.arms[name]
        rt = arm["rt_courses"]
        assert rt.mean() < 0.1, f"{name}: {rt.mean()} RT courses per patient"
        assert rt.max() <= 1, f"{name}: a patient got {rt.max()} RT courses"
        assert np.all(arm["local_courses"] <= rt), name
        for j in np.flatnonzero(rt > 0):
            k = min(int(arm["ev_n"][j]), arm.ev_time.shape[1])
            starts = [(arm.ev_time[j, i], arm.ev_detail[j, i]) for i in range(k) if arm.ev_code[j, i] == codes.EV_RT_START]
            assert starts, f"{name} patient {j}: an RT course without rt_start event"
            for t, detail in starts:
                assert detail == URGENT_COURSE, f"{name} patient {j}: non-urgent RT course (mode {detail}) at {t:.2f} months"
                assert t < 1.0, f"{name} patient {j}: urgent RT course at {t:.2f} months, not at entry"


def test_rt_arms_give_rt(scenario_run):
    sc, res = scenario_run
    for name, cfg in sc.data["arms"].items():
        if cfg["rt_timing"] in ("upfront", "concurrent"):
            assert res.arms[name]["rt_courses"].mean() > 0.5, name


# ============================================================================ 3. broken files


def _broken(name: str) -> str:
    return str(BROKEN / name)


BROKEN_CASES = [
    pytest.param("probability_out_of_range.toml", ["cohort.pdl1_cps10_fraction = 1.3", "must be within [0, 1]"], id="probability"),
    pytest.param("negative_dose.toml", ["arms.x.metastasis_dose_gy = -5", "must be within (0, 1000]", "Gy"], id="negative-dose"),
    pytest.param("zero_fractions.toml", ["arms.x.metastasis_fractions = 0", "[1, 60]"], id="zero-fractions"),
    pytest.param("alpha_beta_zero.toml", ["radiotherapy.alpha_beta_tumour_gy = 0", "must be within [0.1, 1000]"], id="alpha-beta"),
    pytest.param(
        "lesions_over_cap.toml",
        ["cohort.eligibility.max_lesions = 12", "simulation.max_lesions = 8", "cap"],
        id="lesions-over-cap",
    ),
    pytest.param("unknown_regimen.toml", ['arms.x.first_line = "chemo_x"', "unknown regimen", "tp_pd1"], id="unknown-regimen"),
    pytest.param("unknown_key.toml", ["arms.x.metastasis_dose", "unknown key", "did you mean 'metastasis_dose_gy'"], id="unknown-key"),
    pytest.param("wrong_type.toml", ['arms.x.metastasis_dose_gy = "forty"', "must be a number"], id="wrong-type"),
    pytest.param("float_for_int.toml", ["simulation.patients = 3.5", "must be an integer"], id="float-for-int"),
    pytest.param("cycle_a.toml", ["extends cycle", "cycle_a.toml", "cycle_b.toml"], id="extends-cycle"),
    pytest.param("syntax_error.toml", ["line 5", "TOML syntax error"], id="syntax-error"),
    pytest.param(
        "distribution_out_of_range.toml",
        ["cohort.pdl1_cps10_fraction", 'dist = "normal"', "outside the allowed range [0, 1]"],
        id="distribution-out-of-range",
    ),
    pytest.param("presentation_not_one.toml", ["cohort.presentation", "sum to 0.8", "must sum to 1"], id="presentation-sum"),
    pytest.param(
        "unknown_rt_timing.toml",
        ['arms.x.rt_timing = "consolidation"', "must be one of", '"consolidative"', "did you mean"],
        id="unknown-rt-timing",
    ),
]


@pytest.mark.parametrize(("name", "expected"), BROKEN_CASES)
def test_broken_file_fails_check(name, expected, capsys):
    path = _broken(name)
    assert cli.main(["check", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert "oligosim check: error: 1 of 1 configuration file(s) invalid" in err
    problems = [line for line in err.splitlines() if not line.startswith("oligosim check:")]
    assert problems, err
    for line in problems:
        # every line names a file of the broken set (the file itself, or its partner in a cycle)
        assert line.startswith(str(BROKEN)), line
    assert any(name in line for line in problems), f"{name} not named in:\n{err}"
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"


@pytest.mark.parametrize(("name", "expected"), BROKEN_CASES)
def test_broken_file_raises_config_error(name, expected):
    with pytest.raises(ConfigError) as exc:
        load_scenario(BROKEN / name)
    assert exc.value.errors
    assert all(isinstance(e, str) and "\n" not in e for e in exc.value.errors), "one error per line"


def test_broken_file_fails_run_too(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", _broken("unknown_regimen.toml"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown_regimen.toml" in err and "chemo_x" in err and "Traceback" not in err
    assert not out.exists()


def test_every_broken_fixture_is_covered():
    covered = {p.values[0] for p in BROKEN_CASES} | {"cycle_b.toml", "several_errors.toml"}
    assert {p.name for p in BROKEN.glob("*.toml")} == covered


def test_broken_files_extend_the_real_base():
    for p in BROKEN.glob("*.toml"):
        if p.name in ("cycle_b.toml",):
            continue
        assert "../../../configs/base.toml" in p.read_text(encoding="utf-8"), p.name


def test_cycle_reported_from_either_end(capsys):
    assert cli.main(["check", _broken("cycle_b.toml")]) == 2
    err = capsys.readouterr().err
    assert "extends cycle" in err and "cycle_b.toml" in err and "cycle_a.toml" in err
    assert "Traceback" not in err


def test_several_errors_reported_together(capsys):
    path = _broken("several_errors.toml")
    assert cli.main(["check", path]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problems = [line for line in err.splitlines() if line.startswith(path)]
    expected = [
        "cohort.pdl1_cps10_fraction = 1.3",
        "radiotherapy.alpha_beta_tumour_gy = 0",
        'arms.x.first_line = "chemo_x"',
        "arms.x.metastasis_dose_gy = -5",
        "arms.x.metastasis_fractions = 0",
        "arms.x.metastasis_dose: unknown key",
    ]
    for text in expected:
        assert sum(text in line for line in problems) == 1, f"{text!r} not reported exactly once:\n{err}"
    assert len(problems) == len(expected)


def test_good_and_broken_files_together(capsys):
    assert cli.main(["check", str(DEFAULT), _broken("negative_dose.toml")]) == 2
    out, err = capsys.readouterr()
    assert f"{DEFAULT}: ok" in out
    assert "negative_dose.toml" in err and "1 of 2" in err


def test_section_check_message_names_the_key_once(capsys):
    cli.main(["check", _broken("presentation_not_one.toml")])
    err = capsys.readouterr().err
    assert err.count("cohort.presentation:") == 1, err


# ============================================================================ 4. extends


def _study(tmp_path: Path, body: str, name: str = "study.toml") -> Path:
    p = tmp_path / name
    p.write_text(f'extends = "{DEFAULT.as_posix()}"\n{body}', encoding="utf-8")
    return p


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flatten(v, key))
        else:
            out[key] = v
    return out


def test_extends_overrides_one_key_only(tmp_path):
    base = load_scenario(DEFAULT)
    study = load_scenario(_study(tmp_path, "[arms.consolidative]\nprimary_dose_gy = 60.0\n"))
    a, b = _flatten(base.to_dict()), _flatten(study.to_dict())
    assert set(a) == set(b)
    diff = {k for k in a if a[k] != b[k]}
    assert diff == {"arms.consolidative.primary_dose_gy"}
    assert b["arms.consolidative.primary_dose_gy"] == 60.0
    assert study.sources["arms.consolidative.primary_dose_gy"].endswith("study.toml")
    assert study.sources["arms.consolidative.rt_timing"] == str(DEFAULT)
    # the name comes from the base's [scenario] table
    assert study.name == base.name


def test_extends_identical_study_has_same_hash(tmp_path):
    base = load_scenario(DEFAULT)
    same = load_scenario(_study(tmp_path, "# nothing changed\n"))
    assert same.data == base.data
    assert same.sha256 == base.sha256
    # restating a default value does not change the hash either
    restated = load_scenario(_study(tmp_path, "[simulation]\nseed = 20251121\n", "restated.toml"))
    assert restated.sha256 == base.sha256


def test_config_sha256_changes_with_one_value(tmp_path):
    base = load_scenario(DEFAULT)
    changed = load_scenario(_study(tmp_path, "[cohort]\npdl1_cps10_fraction = 0.45\n"))
    assert changed.data != base.data
    assert changed.sha256 != base.sha256
    assert len(changed.sha256) == 64
    # changing a value deep inside a regimen changes it too
    regimen = load_scenario(_study(tmp_path, "[regimens.tp_pd1]\ndurable_fraction = 0.2\n", "regimen.toml"))
    assert regimen.sha256 not in (base.sha256, changed.sha256)


def test_sha256_in_summary_follows_the_config(tmp_path):
    import json

    base = load_scenario(DEFAULT)
    study = _study(tmp_path, "[radiotherapy]\nalpha_beta_tumour_gy = 12.0\n")
    out = tmp_path / "out"
    assert cli.main(["run", str(study), "--patients", "50", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["config_sha256"] == load_scenario(study).sha256 != base.sha256


def test_extends_chain_of_three(tmp_path):
    mid = _study(tmp_path, "[simulation]\npatients = 123\n", "mid.toml")
    top = tmp_path / "top.toml"
    top.write_text('extends = "mid.toml"\n[cohort.eligibility]\nmax_lesions = 3\n', encoding="utf-8")
    base, sc = load_scenario(DEFAULT), load_scenario(top)
    a, b = _flatten(base.to_dict()), _flatten(sc.to_dict())
    assert {k for k in a if a[k] != b[k]} == {"simulation.patients", "cohort.eligibility.max_lesions"}
    assert sc.data["simulation"]["patients"] == 123
    assert sc.data["cohort"]["eligibility"]["max_lesions"] == 3


def test_loads_scenario_matches_load_scenario():
    text = DEFAULT.read_text(encoding="utf-8")
    sc = loads_scenario(text, name="default.toml", base_dir=CONFIGS)
    assert sc.data == load_scenario(DEFAULT).data
    assert sc.sha256 == load_scenario(DEFAULT).sha256
