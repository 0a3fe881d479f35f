"""Tests of the calibration-target machinery: ``oligosim.calibration`` (targets, target_map, scoring), ``oligosim targets`` and the
mixture metrics of ``oligosim.analysis.metrics``.

Simulations use a tiny scenario (``tests/data/targets/tiny_study.toml``) with a few hundred
patients. The model is being calibrated, so no test asserts a simulated value against a
published one: only structure, validation, scoring rules on hand-made numbers, mixture algebra
and determinism.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from oligosim import cli
from oligosim.analysis import metrics
from oligosim.calibration.scoring import evaluate_targets, goodness_of_fit, score
from oligosim.calibration.target_map import load_map
from oligosim.calibration.target_report import results_json
from oligosim.calibration.targets import load_targets
from oligosim.config import ConfigError, load_scenario
from oligosim.simulate import run_scenario

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "targets"
TINY_TARGETS = DATA / "tiny_targets.toml"
TINY_MAP = DATA / "tiny_map.toml"
TINY_STUDY = DATA / "tiny_study.toml"
STUDIES = sorted((ROOT / "configs" / "studies").glob("*.toml"))
SHIPPED_MAP = ROOT / "configs" / "calibration" / "map.toml"
SHARED_TARGETS = ROOT.parent / "shared" / "calibration" / "targets.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PATIENTS = 300

TARGET_KEYS = {
    "id", "metric", "target", "model", "model_ci95", "rel_error", "abs_error", "tolerance",
    "within_tolerance", "scenario", "arm", "n",
}


@pytest.fixture(autouse=True)
def _only_targets_command(monkeypatch):
    # the CLI tests depend on this sub-command only
    monkeypatch.setattr(cli, "COMMANDS", ("targets",))


def _q(p: Path) -> str:
    return str(p).replace("\\", "\\\\").replace('"', '\\"')


def _no_nan(name):
    raise ValueError(f"not strict JSON: {name}")


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if re.match(r"^\..+\.tmp-", p.name))


def run_cli(*args) -> int:
    return cli.main(["targets", *map(str, args)])


# ============================================================================ shipped files


@pytest.mark.parametrize("path", STUDIES, ids=[p.name for p in STUDIES])
def test_every_study_file_validates(path):
    sc = load_scenario(path)
    assert sc.data["arms"], f"{path.name} has no arms"
    assert sc.data["simulation"]["patients"] <= 50_000


def test_study_files_pass_oligosim_check(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("check",))
    assert cli.main(["check", *map(str, STUDIES)]) == 0
    out, _ = capsys.readouterr()
    assert out.count(": ok") == len(STUDIES)


#: a study may give a calibrated per-line toxicity of a regimen per cycle as its paper's schedule
#: asks (model 5.5): the per-cycle tables, and the per-line values of those types at 0
_PER_CYCLE_KEYS = {"grade3plus_per_cycle", "grade5_per_cycle", "grade3plus", "grade5"}


def _check_per_cycle_reexpression(file, name, entry):
    """A study's per-line toxicity values only switch off the types it gives per cycle."""
    per_cycle = set(entry.get("grade3plus_per_cycle", {}))
    for t, v in entry.get("grade3plus", {}).items():
        assert t in per_cycle and v == 0, f"{file} sets regimens.{name}.grade3plus.{t} = {v} without giving it per cycle"
    if "grade5" in entry:
        assert "grade5_per_cycle" in entry and entry["grade5"] == 0, f"{file} sets regimens.{name}.grade5 without giving it per cycle"


def test_study_files_do_not_set_model_parameters():
    """Study files describe populations and treatments; model sections belong to calibration."""
    import tomllib

    for path in STUDIES:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        for section in ("disease", "radiotherapy", "toxicity", "regimens", "background_mortality", "imaging"):
            if section == "regimens" and section in doc:
                # a regimen's evidence labels (model 5.7) are not model parameters: a study may
                # extend them to record a deliberate extrapolation, and nothing else
                for name, entry in doc["regimens"].items():
                    assert set(entry) <= {"histology", "lines", *_PER_CYCLE_KEYS}, f"{path.name} sets regimens.{name} beyond its labels"
                    _check_per_cycle_reexpression(path.name, name, entry)
                continue
            assert section not in doc, f"{path.name} sets [{section}]"
        occult = doc.get("cohort", {}).get("lesions", {}).get("occult_mean")
        assert occult is None, f"{path.name} sets the calibration parameter cohort.lesions.occult_mean"


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="shared calibration targets not available")
def test_shipped_map_covers_every_target():
    targets = load_targets(SHARED_TARGETS)
    tmap = load_map(SHIPPED_MAP, targets)
    # every target is mapped or declared pending with a reason, none silently left out
    assert tmap.unmapped == ()
    assert tmap.extra == ()
    accounted = {e.id for e in tmap.entries} | set(tmap.pending)
    assert accounted == {t.id for t in targets}
    assert not {e.id for e in tmap.entries} & set(tmap.pending)
    assert all(reason for reason in tmap.pending.values())
    # every study scenario the map names is one of configs/studies
    assert {e.scenario_path for e in tmap.entries} <= {p.resolve() for p in STUDIES}
    lower = {e.id for e in tmap.entries if e.bound == "lower"}
    assert lower == {t.id for t in targets if "lower bound" in t.note and t.id not in tmap.pending}


# the published metric names of the targets file and the model metric that measures each
_SAME_QUANTITY = {"median_os_months": "os.median", "median_pfs_months": "pfs.median"}


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="shared calibration targets not available")
def test_shipped_map_measures_what_each_target_reports():
    """Medians map to the same endpoint's median, grade >= 3 rates to the same toxicity type."""
    targets = load_targets(SHARED_TARGETS)
    tmap = load_map(SHIPPED_MAP, targets)
    checked = 0
    for e in tmap.entries:
        published = tmap.targets[e.id].metric
        if published.startswith("grade3plus_"):
            assert e.metric == "tox." + published.removeprefix("grade3plus_"), e.id
            checked += 1
        elif published in _SAME_QUANTITY:
            assert e.metric == _SAME_QUANTITY[published], e.id
            checked += 1
    assert checked >= 1


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="shared calibration targets not available")
def test_shipped_map_toxicity_tolerance_rule():
    """The map's rule for grade >= 3 rates (its comments): 10% or more within 7 points, below 10%
    within +-50%, a published 0 of n as an upper bound at the exact one-sided 95% upper limit of
    0 events in n patients, 1 - 0.05^(1/n)."""
    targets = load_targets(SHARED_TARGETS)
    tmap = load_map(SHIPPED_MAP, targets)
    kinds = set()
    for e in tmap.entries:
        if not e.metric.startswith("tox."):
            continue
        t = tmap.targets[e.id]
        if t.value == 0:
            assert t.n, f"{e.id}: a published 0 needs its n"
            assert (e.tolerance, e.bound) == ("absolute", "upper"), e.id
            assert e.tolerance_value == pytest.approx(1.0 - 0.05 ** (1.0 / t.n), abs=5e-4), e.id
            kinds.add("zero")
        elif t.value < 0.10:
            assert (e.tolerance, e.tolerance_value, e.bound) == ("relative", 0.5, "two_sided"), e.id
            kinds.add("rare")
        else:
            assert (e.tolerance, e.tolerance_value, e.bound) == ("absolute", 0.07, "two_sided"), e.id
            kinds.add("common")
    assert kinds == {"zero", "rare", "common"}


# ============================================================================ scoring rule


def test_score_relative_two_sided():
    s = score(10.0, 11.5, tolerance="relative", tolerance_value=0.2)
    assert s["within_tolerance"] and s["band"] == [8.0, 12.0]
    assert s["rel_error"] == pytest.approx(0.15) and s["abs_error"] == pytest.approx(1.5)
    assert s["scaled_error"] == pytest.approx(0.75)
    assert not score(10.0, 12.5, tolerance="relative", tolerance_value=0.2)["within_tolerance"]
    assert not score(10.0, 7.9, tolerance="relative", tolerance_value=0.2)["within_tolerance"]
    assert score(10.0, 8.0, tolerance="relative", tolerance_value=0.2)["within_tolerance"]  # edge


def test_score_absolute():
    s = score(0.36, 0.42, tolerance="absolute", tolerance_value=0.07)
    assert s["within_tolerance"]
    assert s["band"][0] == pytest.approx(0.29) and s["band"][1] == pytest.approx(0.43)
    assert not score(0.36, 0.44, tolerance="absolute", tolerance_value=0.07)["within_tolerance"]
    # a relative error of +100% is within an absolute tolerance for a small target
    assert score(0.04, 0.08, tolerance="absolute", tolerance_value=0.07)["within_tolerance"]


def test_score_lower_and_upper_bounds():
    kw = dict(tolerance="absolute", tolerance_value=0.07)
    assert score(0.95, 0.99, bound="lower", **kw)["within_tolerance"]  # above a lower bound
    assert score(0.95, 0.89, bound="lower", **kw)["within_tolerance"]  # short by < 7 points
    s = score(0.95, 0.80, bound="lower", **kw)
    assert not s["within_tolerance"] and s["scaled_error"] == pytest.approx(-0.15 / 0.07)
    assert score(0.95, 0.99, bound="lower", **kw)["scaled_error"] == 0.0
    assert score(0.95, 0.99, bound="lower", **kw)["band"][1] is None
    assert score(0.10, 0.05, bound="upper", **kw)["within_tolerance"]
    assert not score(0.10, 0.20, bound="upper", **kw)["within_tolerance"]
    assert score(0.10, 0.05, bound="upper", **kw)["band"][0] is None


def test_score_undefined_model():
    s = score(30.7, float("nan"), tolerance="relative", tolerance_value=0.2)
    assert s["within_tolerance"] is False
    assert s["rel_error"] is None and s["abs_error"] is None and s["scaled_error"] is None


def test_score_rejects_bad_rules():
    with pytest.raises(ValueError):
        score(1.0, 1.0, tolerance="percent", tolerance_value=0.2)
    with pytest.raises(ValueError):
        score(1.0, 1.0, tolerance="relative", tolerance_value=0.2, bound="both")
    with pytest.raises(ValueError):
        score(0.0, 1.0, tolerance="relative", tolerance_value=0.2)


# ============================================================================ mixtures


def test_mixture_allocation_counts_and_determinism():
    a = metrics.mixture_allocation(1000, [61, 43])
    assert np.bincount(a).tolist() == [round(1000 * 61 / 104), 1000 - round(1000 * 61 / 104)]
    assert np.array_equal(a, metrics.mixture_allocation(1000, [0.61 * 2, 0.43 * 2]))
    with pytest.raises(ValueError):
        metrics.mixture_allocation(10, [1, 0])


@pytest.fixture(scope="module")
def tiny_run():
    sc = load_scenario(TINY_STUDY)
    return run_scenario(sc, patients=PATIENTS, seed=7, keep="summary")


def test_mixture_of_one_arm_is_evaluate(tiny_run):
    arm = tiny_run.arms["chemo"]
    for m in ("os.median", "pfs.rate:12", "tox.neutropenia", "oligo_fraction_first_progression"):
        a, b = metrics.evaluate_mixture([arm], [3.0], m), metrics.evaluate(arm, m)
        assert np.allclose(a, b, equal_nan=True)


def test_mixture_of_proportions_is_weighted_mean(tiny_run):
    a, b = tiny_run.arms["chemo"], tiny_run.arms["sbrt_chemo"]
    pa, pb = metrics.evaluate(a, "tox.neutropenia")[0], metrics.evaluate(b, "tox.neutropenia")[0]
    v, lo, hi = metrics.evaluate_mixture([a, b], [1, 3], "tox.neutropenia")
    assert v == pytest.approx(0.25 * pa + 0.75 * pb)
    assert lo <= v <= hi
    # an arm mixed with itself is the arm (pooling, for survival metrics)
    assert metrics.evaluate_mixture([a, a], [1, 1], "os.median")[0] == metrics.evaluate(a, "os.median")[0]
    # a pooled survival rate lies between the arms'
    ra, rb = metrics.evaluate(a, "pfs.rate:12")[0], metrics.evaluate(b, "pfs.rate:12")[0]
    rm = metrics.evaluate_mixture([a, b], [1, 1], "pfs.rate:12")[0]
    assert min(ra, rb) - 0.05 <= rm <= max(ra, rb) + 0.05


# ============================================================================ loading and validation


def test_load_tiny_files():
    targets = load_targets(TINY_TARGETS)
    assert [t.id for t in targets][:2] == ["tiny-chemo-os", "tiny-sbrt-neutropenia"]
    assert targets[1].n is None and targets[0].n == 100
    tmap = load_map(TINY_MAP, targets)
    assert tmap.unmapped == ("tiny-unmapped",)
    by = {e.id: e for e in tmap.entries}
    assert by["tiny-chemo-os"].tolerance == "relative" and by["tiny-chemo-os"].tolerance_value == 0.25
    assert by["tiny-sbrt-neutropenia"].tolerance == "absolute" and by["tiny-sbrt-neutropenia"].tolerance_value == 0.05
    assert by["tiny-mixed-pfs-12"].arms == (("chemo", 0.5), ("sbrt_chemo", 0.5))
    assert by["tiny-local-control"].bound == "lower"


def _write_map(tmp_path: Path, text: str, name: str = "map.toml") -> Path:
    p = tmp_path / name
    p.write_text(text.replace("@STUDY@", _q(TINY_STUDY)), encoding="utf-8")
    return p


GOOD_ENTRY = '[target.tiny-chemo-os]\nscenario = "@STUDY@"\narm = "chemo"\nmetric = "os.median"\n'

MAP_ERRORS = [
    ("unknown_key", GOOD_ENTRY + "colour = 1\n", ["target.tiny-chemo-os.colour: unknown key"]),
    ("unknown_section", "[defaultz]\n" + GOOD_ENTRY, ["defaultz: unknown section (did you mean 'defaults'?)"]),
    ("missing_metric", '[target.tiny-chemo-os]\nscenario = "@STUDY@"\narm = "chemo"\n', ["target.tiny-chemo-os.metric: missing required key"]),
    ("wrong_type", GOOD_ENTRY.replace('arm = "chemo"', "arm = 3"), ["target.tiny-chemo-os.arm = 3: must be an arm name"]),
    ("bad_weight", GOOD_ENTRY.replace('arm = "chemo"', "arm = { chemo = -1, sbrt_chemo = 1 }"), ["target.tiny-chemo-os.arm.chemo = -1: must be > 0"]),
    ("unknown_arm", GOOD_ENTRY.replace('arm = "chemo"', 'arm = "chemoo"'), ["target.tiny-chemo-os.arm = \"chemoo\": unknown arm 'chemoo'", "known arms: chemo, sbrt_chemo"]),
    ("bad_metric", GOOD_ENTRY.replace("os.median", "os.mean"), ["target.tiny-chemo-os.metric = \"os.mean\": metric 'os.mean' is not understood"]),
    ("bad_filter", GOOD_ENTRY.replace("os.median", "local_control:12[dose>3]"), ["lesion filter 'dose>3'"]),
    ("fraction_for_months", GOOD_ENTRY.replace("os.median", "tox.any"), ["metric = \"tox.any\": is a fraction (0-1) but the target's value is 15"]),
    ("missing_scenario", GOOD_ENTRY.replace('"@STUDY@"', '"no_such_study.toml"'), ['scenario = "no_such_study.toml": file not found']),
    ("bad_tolerance", GOOD_ENTRY + 'tolerance = "percent"\n', ['tolerance = "percent": must be one of: "relative", "absolute"']),
    ("bad_tolerance_value", GOOD_ENTRY + "tolerance_value = 0\n", ["tolerance_value = 0: must be > 0"]),
    ("bad_bound", GOOD_ENTRY + 'bound = "low"\n', ['bound = "low": must be one of', 'did you mean "lower"']),
    ("bad_default", "[defaults]\ntolerance_relative = -0.2\n" + GOOD_ENTRY, ["defaults.tolerance_relative = -0.2: must be > 0"]),
    ("extra_id", GOOD_ENTRY.replace("[target.tiny-chemo-os]", "[target.tiny-chemo-oss]"), ["target.tiny-chemo-oss: no target with this id in the targets file (did you mean 'tiny-chemo-os'?)"]),
    ("no_targets", "[defaults]\n", ["target: missing: at least 1 [target.<id>] table required"]),
    ("syntax", GOOD_ENTRY + "metric = \n", ["TOML syntax error"]),
    ("pending_unknown_id", GOOD_ENTRY + '[pending]\ntiny-unmaped = "later"\n', ["pending.tiny-unmaped: no target with this id in the targets file (did you mean 'tiny-unmapped'?)"]),
    ("pending_and_mapped", GOOD_ENTRY + '[pending]\ntiny-chemo-os = "later"\n', ["pending.tiny-chemo-os: the target is also mapped in [target.tiny-chemo-os]"]),
    ("pending_no_reason", GOOD_ENTRY + '[pending]\ntiny-unmapped = " "\n', ["pending.tiny-unmapped = \" \": must be a non-empty string"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), MAP_ERRORS, ids=[c[0] for c in MAP_ERRORS])
def test_map_errors_through_cli(tmp_path, capsys, name, text, expected):
    m = _write_map(tmp_path, text)
    out = tmp_path / "out"
    assert run_cli(TINY_TARGETS, "--map", m, "--out", out, "--quiet") == 2
    stdout, err = capsys.readouterr()
    assert stdout == ""
    assert err.startswith("oligosim targets: error: ")
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert str(m) in err  # the file is named
    assert "Traceback" not in err
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_pending_targets_are_accounted_for_not_scored(tmp_path):
    """A target declared in [pending] is neither unmapped nor scored."""
    text = GOOD_ENTRY + '[pending]\ntiny-unmapped = "no study scenario yet"\n'
    m = _write_map(tmp_path, text)
    tmap = load_map(m, load_targets(TINY_TARGETS))
    assert "tiny-unmapped" not in tmap.unmapped and dict(tmap.pending) == {"tiny-unmapped": "no study scenario yet"}
    assert "tiny-unmapped" not in {e.id for e in tmap.entries}


def test_map_reports_every_problem_at_once(tmp_path):
    text = (
        GOOD_ENTRY.replace('arm = "chemo"', 'arm = "nope"')
        + '[target.tiny-sbrt-neutropenia]\nscenario = "@STUDY@"\narm = "sbrt_chemo"\nmetric = "tox.anything"\n'
        + '[target.tiny-local-control]\nscenario = "@STUDY@"\narm = "sbrt_chemo"\nmetric = "local_control:12"\nbound = 1\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_map(_write_map(tmp_path, text), load_targets(TINY_TARGETS))
    assert len(exc.value.errors) == 3


def test_invalid_scenario_is_reported_with_its_errors(tmp_path):
    study = tmp_path / "bad_study.toml"
    study.write_text(f'extends = "{_q(ROOT / "configs" / "base.toml")}"\n[arms.a]\nfirst_line = "tp"\nrt_timing = "sometimes"\n', encoding="utf-8")
    m = tmp_path / "map.toml"
    m.write_text(GOOD_ENTRY.replace('"@STUDY@"', '"bad_study.toml"'), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_map(m, load_targets(TINY_TARGETS))
    text = str(exc.value)
    assert "is not a valid scenario" in text and "arms.a.rt_timing" in text


def test_extra_ids_can_be_ignored_from_python(tmp_path):
    m = _write_map(tmp_path, GOOD_ENTRY + GOOD_ENTRY.replace("[target.tiny-chemo-os]", "[target.other]"))
    tmap = load_map(m, load_targets(TINY_TARGETS), extra="ignore")
    assert tmap.extra == ("other",)
    assert [e.id for e in tmap.entries] == ["tiny-chemo-os"]


TARGET_ERRORS = [
    ("unknown_key", 'colour = "red"\n', ["target[0].colour: unknown key", 'id = "x"']),
    ("wrong_type", None, ['target[0].value = "12": must be a number']),
    ("bad_n", "n = 0\n", ["target[0].n = 0: must be >= 1"]),
    ("missing_key", None, ["target[0].quoted_in: missing required key"]),
    ("duplicate_id", None, ["target[1].id = \"x\": duplicate id: also the id of target[0]"]),
    ("bad_id", None, ["target[0].id = \"a b\": an id must start with a letter or digit"]),
]
_TARGET = 'id = "x"\nstudy = "s"\npopulation = "p"\narm = "a"\nmetric = "median_os_months"\nvalue = 12.0\nquoted_in = "q"\n'


def _target_text(name: str, extra: str | None) -> str:
    if name == "wrong_type":
        return "[[target]]\n" + _TARGET.replace("value = 12.0", 'value = "12"')
    if name == "missing_key":
        return "[[target]]\n" + _TARGET.replace('quoted_in = "q"\n', "")
    if name == "duplicate_id":
        return "[[target]]\n" + _TARGET + "[[target]]\n" + _TARGET
    if name == "bad_id":
        return "[[target]]\n" + _TARGET.replace('id = "x"', 'id = "a b"')
    return "[[target]]\n" + _TARGET + (extra or "")


@pytest.mark.parametrize(("name", "extra", "expected"), TARGET_ERRORS, ids=[c[0] for c in TARGET_ERRORS])
def test_targets_file_errors_through_cli(tmp_path, capsys, name, extra, expected):
    t = tmp_path / "targets.toml"
    t.write_text(_target_text(name, extra), encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(t, "--map", TINY_MAP, "--out", out, "--quiet") == 2
    _, err = capsys.readouterr()
    assert f"{t} is not a valid targets file" in err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("missing.toml", "--map", TINY_MAP), "missing.toml: file not found"),
        ((TINY_TARGETS, "--map", "missing_map.toml"), "missing_map.toml: file not found"),
        ((TINY_TARGETS, "--map", TINY_MAP, "--patients", "0"), "--patients = 0: must be >= 1 and <= 1000000000"),
        ((TINY_TARGETS, "--map", TINY_MAP, "--seed", "-1"), "--seed = -1: must be >= 0"),
        ((TINY_TARGETS, "--map", TINY_MAP, "--replicates", "-2"), "--replicates = -2: must be >= 0"),
        ((TINY_TARGETS, "--map", TINY_MAP, "--replicates", "2", "--workers", "0"), "--workers = 0: must be >= 1"),
    ],
)
def test_cli_argument_errors(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    assert run_cli(*args, "--out", out, "--quiet") == 2
    _, err = capsys.readouterr()
    assert expected in err and "Traceback" not in err
    assert not out.exists()


def test_out_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert run_cli(TINY_TARGETS, "--map", TINY_MAP, "--out", f, "--quiet") == 2
    assert "exists and is not a directory" in capsys.readouterr().err


# ============================================================================ end to end


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    parent = tmp_path_factory.mktemp("targets_run")
    out = parent / "out"
    rc = cli.main(["targets", str(TINY_TARGETS), "--map", str(TINY_MAP), "--out", str(out), "--patients", str(PATIENTS), "--seed", "11"])
    return rc, parent, out


def test_cli_end_to_end(cli_run, capsys):
    rc, parent, out = cli_run
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [".oligosim-output", "targets.json", "targets.png"]
    assert (out / "targets.png").read_bytes()[:8] == PNG_MAGIC
    assert leftovers(parent) == []
    doc = json.loads((out / "targets.json").read_text(encoding="utf-8"), parse_constant=_no_nan)
    assert set(doc) >= {"targets", "unmapped", "summary", "seed", "patients", "oligosim_version"}
    assert doc["seed"] == 11 and doc["patients"] == PATIENTS
    assert doc["unmapped"] == ["tiny-unmapped"]
    assert [t["id"] for t in doc["targets"]] == ["tiny-chemo-os", "tiny-sbrt-neutropenia", "tiny-mixed-pfs-12", "tiny-local-control"]
    for t in doc["targets"]:
        assert set(t) >= TARGET_KEYS
        assert isinstance(t["within_tolerance"], bool)
        assert len(t["model_ci95"]) == 2
        assert t["simulated_patients"] == PATIENTS
    by = {t["id"]: t for t in doc["targets"]}
    assert by["tiny-mixed-pfs-12"]["arm"] == {"chemo": 0.5, "sbrt_chemo": 0.5}
    assert by["tiny-local-control"]["tolerance"]["bound"] == "lower"
    assert by["tiny-sbrt-neutropenia"]["n"] is None
    s = doc["summary"]
    assert s["mapped"] == 4
    assert s["within_tolerance"] == sum(t["within_tolerance"] for t in doc["targets"])
    assert s["fraction_within"] == pytest.approx(s["within_tolerance"] / 4)


def test_cli_prints_table(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(TINY_TARGETS, "--map", TINY_MAP, "--out", out, "--patients", 200) == 0
    stdout, _ = capsys.readouterr()
    assert "tiny-chemo-os" in stdout and "model 95% CI" in stdout
    assert "unmapped targets (1" in stdout and "tiny-unmapped" in stdout
    assert re.search(r"within tolerance: \d of 4", stdout)


def test_replicated_studies_at_their_published_sizes(tmp_path, capsys):
    """``--replicates N``: every study simulated N times at its target's n (the median n where the
    targets file gives none), written as predictive.csv / .png and into targets.json."""
    from oligosim.calibration.scoring import median_n

    out = tmp_path / "out"
    assert run_cli(TINY_TARGETS, "--map", TINY_MAP, "--out", out, "--patients", 200, "--seed", 3, "--replicates", 4, "--workers", 1) == 0
    stdout, _ = capsys.readouterr()
    assert re.search(r"replicated studies \(4 each, at their published sizes\): \d of 4 published values", stdout)
    assert sorted(p.name for p in out.iterdir()) == [".oligosim-output", "predictive.csv", "predictive.png", "targets.json", "targets.png"]
    assert (out / "predictive.png").read_bytes()[:8] == PNG_MAGIC
    pred = json.loads((out / "targets.json").read_text(encoding="utf-8"))["predictive"]
    assert pred["draws"] == 4 and pred["targets"] == 4 and pred["covered"] == sum(r["covered"] for r in pred["rows"])
    tmap = load_map(TINY_MAP, load_targets(TINY_TARGETS))
    by = {r["id"]: r for r in pred["rows"]}
    for e in tmap.entries:
        n = tmap.targets[e.id].n
        assert by[e.id]["study_n"] == (n or round(median_n(tmap.targets[x.id].n for x in tmap.entries))) and by[e.id]["n_assumed"] == (not n)
    lines = (out / "predictive.csv").read_text().splitlines()
    assert lines[0].startswith("id,target,study_n,n_assumed,undefined,q025,median,q975,covered,p_two_sided") and len(lines) == 5


def test_default_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(TINY_TARGETS, "--map", TINY_MAP, "--patients", 200, "--quiet") == 0
    assert (tmp_path / "out" / "targets" / "targets.json").is_file()


# ============================================================================ Python API


@pytest.fixture(scope="module")
def tiny_map():
    return load_map(TINY_MAP, load_targets(TINY_TARGETS))


def test_evaluate_targets_is_deterministic(tiny_map):
    a = evaluate_targets(tiny_map, patients=PATIENTS, seed=5)
    b = evaluate_targets(tiny_map, patients=PATIENTS, seed=5)
    assert [r.to_json() for r in a] == [r.to_json() for r in b]
    c = evaluate_targets(tiny_map, patients=PATIENTS, seed=6)
    assert [r.model for r in a] != [r.model for r in c]


def test_evaluate_targets_overrides(tiny_map):
    base = {r.id: r for r in evaluate_targets(tiny_map, patients=PATIENTS, seed=5)}
    more = {r.id: r for r in evaluate_targets(tiny_map, patients=PATIENTS, seed=5, overrides={"regimens.tp.grade3plus.neutropenia": 0.9})}
    assert more["tiny-sbrt-neutropenia"].model > base["tiny-sbrt-neutropenia"].model + 0.2
    with pytest.raises(ConfigError, match="no_such_key"):
        evaluate_targets(tiny_map, patients=50, seed=5, overrides={"disease.no_such_key": 1.0})


def test_results_are_json_able(tiny_map):
    results = evaluate_targets(tiny_map, patients=PATIENTS, seed=5)
    doc = results_json(tiny_map, results, patients=PATIENTS, seed=5)
    json.dumps(doc, allow_nan=False)
    gof = goodness_of_fit(results)
    assert gof["mapped"] == 4
    defined = [r for r in results if r.scaled_error is not None]
    assert gof["loss"] == pytest.approx(sum(r.scaled_error**2 for r in defined) / len(defined))
    for r in results:
        if r.model is not None:
            assert r.within_tolerance == (abs(r.scaled_error) <= 1.0 + 1e-9)
            assert math.isfinite(r.model)
