"""Experiment files: validation, every kind end to end, reproducibility across executors."""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from oligosim.cli import main as cli
from oligosim.config import ConfigError
from oligosim.experiments import KINDS, load_experiment, loads_experiment
from oligosim.experiments.psa import draw_parameters, probability_best
from oligosim.experiments.runner import run_experiment
from oligosim.experiments.sweeps import crossing
from oligosim.io import files

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
SHIPPED = sorted(EXPERIMENTS.glob("*.toml"))

BASE = """
[experiment]
kind = "oneway"
scenario = "configs/default.toml"
arms = ["systemic_only", "consolidative"]
outcome = "os.rmst:60"
patients = 300
seed = 7

[[parameter]]
path = "disease.seeding_rate_per_cm3_month"
low = 0.03
high = 0.12
"""


def _small(exp, patients=300, **settings):
    """The experiment with few patients and small sizes, for tests."""
    s = dict(exp.settings)
    s.update(settings)
    return replace(exp, patients=patients, settings=s)


# ============================================================================ shipped files
def test_one_shipped_file_per_kind_named_after_it():
    names = {p.stem for p in SHIPPED}
    assert set(KINDS) <= names
    for kind in KINDS:
        assert load_experiment(EXPERIMENTS / f"{kind}.toml").kind == kind


@pytest.mark.parametrize("path", SHIPPED + sorted((EXPERIMENTS / "teaching").glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_experiments_validate(path):
    exp = load_experiment(path)
    quick = load_experiment(path, quick=True)
    assert quick.patients <= exp.patients
    assert exp.title and exp.question


# ============================================================================ validation
@pytest.mark.parametrize(
    "change, expected",
    [
        (("kind = \"oneway\"", "kind = \"sideways\""), "experiment.kind = \"sideways\": must be one of"),
        (("seed = 7", "seed = 7\ncolour = 3"), "experiment.colour: unknown key"),
        (("\"consolidative\"]", "\"consolidatve\"]"), "unknown arm of default"),
        (("os.rmst:60", "os.rmst"), "metric 'os.rmst' is not understood"),
        (("low = 0.03", "low = 0.2"), "must be greater than low"),
        (("disease.seeding_rate_per_cm3_month", "disease.no_such_rate"), "not a key of the scenario schema: unknown key; known keys: "),
        (("disease.seeding_rate_per_cm3_month", "disease.seeding_rate_per_cm3_mont"), "(did you mean 'seeding_rate_per_cm3_month'?)"),
        (("disease.seeding_rate_per_cm3_month", "scenario.name"), "is not a numeric key of scenario default"),
        (("high = 0.12", "high = -0.12\nlow2 = 1"), "parameter[0].low2: unknown key"),
        (("patients = 300", "patients = 0"), "experiment.patients = 0"),
        (("low = 0.03", "low = -0.5"), "gives an invalid scenario"),
    ],
)
def test_bad_experiment_errors_name_key_value_and_rule(change, expected):
    text = BASE.replace(*change)
    with pytest.raises(ConfigError) as err:
        loads_experiment(text, base_dir=ROOT, name="bad.toml")
    assert expected in str(err.value)


def test_kind_specific_rules():
    sobol = BASE.replace('"oneway"', '"sobol"') + "\n[sobol]\nbase_samples = 12\n"
    with pytest.raises(ConfigError, match="power of 2"):
        loads_experiment(sobol, base_dir=ROOT)
    twoway = BASE.replace('"oneway"', '"twoway"')
    with pytest.raises(ConfigError, match="exactly two"):
        loads_experiment(twoway, base_dir=ROOT)
    psa = BASE.replace('"oneway"', '"psa"')
    with pytest.raises(ConfigError, match="needs a distribution"):
        loads_experiment(psa, base_dir=ROOT)
    trial = BASE.replace('"oneway"', '"trial"') + "\n[trial]\nn_per_arm = [20]\naccrual_per_month = 2.0\nfollowup_months = 12.0\n"
    with pytest.raises(ConfigError, match="varies no parameter"):
        loads_experiment(trial, base_dir=ROOT)


def test_cli_bad_file_exits_2_without_traceback_or_output(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace("configs/default.toml", str(ROOT / "configs/default.toml")).replace("seed = 7", "seed = -1"))
    out = tmp_path / "out"
    assert cli(["experiment", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "experiment.seed = -1" in err and "Traceback" not in err
    assert not out.exists()
    assert cli(["experiment", str(tmp_path / "missing.toml")]) == 2
    assert cli(["experiment", str(bad), "--workers", "0"]) == 2


def test_quick_sizes_apply():
    exp = load_experiment(EXPERIMENTS / "psa.toml", quick=True)
    assert exp.quick and exp.settings["draws"] == 40 and exp.patients == 1000


# ============================================================================ pure pieces
def test_crossing_interpolates_and_reports_none():
    assert crossing([0, 1, 2], [-1.0, 1.0, 3.0], 0.0) == pytest.approx(0.5)
    assert crossing([10, 20, 30], [5.0, 3.0, 1.0], 2.0) == pytest.approx(25.0)
    assert crossing([0, 1], [1.0, 2.0], 0.0) is None
    assert crossing([0, 1, 2], [None, -1.0, 1.0], 0.0) == pytest.approx(1.5)


def test_latin_hypercube_draws_are_stratified_and_reproducible():
    exp = load_experiment(EXPERIMENTS / "psa.toml")
    X = draw_parameters(exp.parameters, 50, seed=3)
    assert np.array_equal(X, draw_parameters(exp.parameters, 50, seed=3))
    for k, p in enumerate(exp.parameters):
        u = p.distribution.frozen.cdf(X[:, k])
        # one draw in each of the 50 equal-probability strata
        assert sorted(np.floor(u * 50).astype(int)) == list(range(50))


def test_probability_best_splits_ties_and_weighs_toxicity():
    values = {"a": np.array([10.0, 12.0, 11.0]), "b": np.array([11.0, 11.0, 11.0])}
    tox = {"a": np.array([0.1, 0.1, 0.1]), "b": np.array([0.6, 0.6, 0.6])}
    p = probability_best(values, tox, np.array([0.0, 10.0]), sign=1)
    # w = 0: b wins draw 1, a wins draw 2, tie in draw 3 -> 1.5/3 each
    assert p["a"][0] == pytest.approx(0.5) and p["b"][0] == pytest.approx(0.5)
    # w = 10: b loses 5 months of net benefit, a wins every draw
    assert p["a"][1] == pytest.approx(1.0)
    assert p["a"] + p["b"] == pytest.approx(np.ones(2))


# ============================================================================ every kind end to end
def _check_outputs(out: Path, doc: dict) -> None:
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(doc))
    for f in doc["files"]:
        assert (out / f).is_file(), f
    md = (out / "report.md").read_text()
    assert md.startswith("# ") and "## Methods" in md and "## Results" in md
    for f in doc["files"]:
        if f.endswith(".csv"):  # machine-readable, distinct column names
            header = (out / f).read_text(encoding="utf-8").splitlines()[0].split(",")
            assert len(header) == len(set(header)), f"{f}: duplicate columns {header}"
            assert all(files.MACHINE_NAME.match(h) for h in header), f"{f}: {header}"
    parser = HTMLParser()
    page = (out / "report.html").read_text()
    parser.feed(page)
    for f in doc["files"]:
        if f.endswith(".png"):
            assert f"]({f})" in md
            assert (out / f).stat().st_size > 1000
            assert f'src="{f}"' not in page  # embedded: the page stands alone
    assert page.count('src="data:image/png;base64,') == sum(f.endswith(".png") for f in doc["files"])
    # the answer leads: the answer and a figure come before the methods and the first table
    first_table = md.find("\n| ")
    assert md.index("\n## Answer") < md.index("## Methods") and md.index("![") < first_table


@pytest.mark.parametrize("kind", ["oneway", "twoway", "threshold", "psa", "morris", "sobol"])
def test_sweep_kinds_end_to_end(kind, tmp_path):
    exp = load_experiment(EXPERIMENTS / f"{kind}.toml", quick=True)
    sizes = {"psa": {"draws": 6}, "sobol": {"base_samples": 4}, "morris": {"trajectories": 2}, "threshold": {"bootstrap_replicates": 50}}
    exp = _small(exp, **sizes.get(kind, {}))
    if kind in ("twoway", "threshold"):
        exp = replace(exp, parameters=tuple(replace(p, grid=p.grid[:2] if kind == "twoway" else p.grid[::2]) for p in exp.parameters))
    doc = run_experiment(exp, tmp_path / kind, workers=1, quiet=True)
    _check_outputs(tmp_path / kind, doc)
    res = doc["results"]
    if kind == "oneway":
        swings = [r["swing"] for r in res["parameters"]]
        assert swings == sorted(swings, reverse=True)
    if kind == "psa":
        pb = np.array(list(res["probability_best"].values()))
        assert np.allclose(pb.sum(axis=0), 1.0)
    if kind == "threshold":
        lo, hi = res["ci95"]
        assert all(a <= d <= b for a, d, b in zip(lo, res["difference"], hi))


def test_compare_end_to_end(tmp_path):
    exp = _small(load_experiment(EXPERIMENTS / "compare.toml", quick=True), patients=400, bootstrap_replicates=50, event_patients=30, swimmer_patients=10)
    exp = replace(exp, arms=("systemic_only", "consolidative"))
    doc = run_experiment(exp, tmp_path / "c", workers=1, quiet=True)
    _check_outputs(tmp_path / "c", doc)
    cmp = doc["results"]["comparisons"]["consolidative"]
    assert cmp["endpoints"]["os"]["rmst"]["ci_lo"] <= cmp["endpoints"]["os"]["rmst"]["diff"] <= cmp["endpoints"]["os"]["rmst"]["ci_hi"]
    assert {"km_os.png", "swimmer_consolidative.png", "failure_patterns.png", "toxicity.png"} <= set(doc["files"])


def test_trial_end_to_end(tmp_path):
    exp = _small(load_experiment(EXPERIMENTS / "trial.toml", quick=True), patients=2000, replicates=40, n_per_arm=[20, 60])
    doc = run_experiment(exp, tmp_path / "t", workers=1, quiet=True)
    _check_outputs(tmp_path / "t", doc)
    curve = doc["results"]["power_curve"]
    assert curve["n_per_arm"] == [20, 60] and len(curve["power"]) == 2
    # trials.csv: machine-readable header, the sample size and the units in the column names
    header = (tmp_path / "t" / "trials.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[0] == "n_per_arm" and "duration_months" in header and "median_control_months" in header
    assert "duration" not in header and all(" " not in h for h in header)


def test_trial_pool_too_small_is_a_clear_error(tmp_path, capsys):
    exp = _small(load_experiment(EXPERIMENTS / "trial.toml", quick=True), patients=100, replicates=10, n_per_arm=[80])
    from oligosim.experiments.spec import ExperimentError

    with pytest.raises(ExperimentError, match="pool_patients"):
        run_experiment(exp, tmp_path / "t", workers=1, quiet=True)
    assert not (tmp_path / "t").exists()


# ============================================================================ common random numbers
def test_a_parameter_without_effect_has_exactly_zero_effect():
    """With common random numbers an inert parameter changes nothing, bit for bit: the abscopal
    log-kill does nothing while the abscopal probability is 0."""
    text = BASE.replace("disease.seeding_rate_per_cm3_month", "radiotherapy.abscopal_log_kill").replace("low = 0.03", "low = 0.5").replace("high = 0.12", "high = 3.0")
    exp = loads_experiment(text, base_dir=ROOT)
    from oligosim.experiments.evaluation import Evaluation, evaluate

    results = [
        evaluate(Evaluation(exp.scenario, ((exp.parameters[0].path, v),), exp.arms, 300, 7, ("os.rmst:60", "tox.any")))
        for v in (0.5, 3.0)
    ]
    assert results[0] == results[1]


# ============================================================================ executors
def _psa_small():
    exp = load_experiment(EXPERIMENTS / "psa.toml", quick=True)
    return _small(exp, patients=200, draws=4)


def test_same_results_in_process_and_on_a_process_pool(tmp_path):
    exp = _psa_small()
    a = run_experiment(exp, tmp_path / "one", workers=1, quiet=True)["results"]
    b = run_experiment(exp, tmp_path / "two", workers=2, quiet=True)["results"]
    assert a == b


@pytest.mark.slow
def test_same_results_on_a_dask_local_cluster(tmp_path):
    from distributed import LocalCluster

    exp = _psa_small()
    local = run_experiment(exp, tmp_path / "local", workers=1, quiet=True)["results"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_experiment(exp, tmp_path / "dask", scheduler=cluster.scheduler_address, quiet=True)["results"]
    assert local == remote
    assert json.loads((tmp_path / "dask" / "results.json").read_text())["results"] == json.loads(json.dumps(local))


def test_an_integer_key_can_be_swept(tmp_path):
    """Integer keys take whole numbers: the grid is rounded and deduplicated, not refused."""
    text = BASE.replace('kind = "oneway"', 'kind = "threshold"').replace(
        '''path = "disease.seeding_rate_per_cm3_month"
low = 0.03
high = 0.12''',
        '''path = "arms.consolidative.consolidative_after_cycles"
low = 2.0
high = 6.0
points = 7''',
    ) + "\n[threshold]\nbootstrap_replicates = 50\n"
    exp = loads_experiment(text, base_dir=ROOT)
    (p,) = exp.parameters
    assert p.integer and p.grid == (2.0, 3.0, 4.0, 5.0, 6.0)
    doc = run_experiment(exp, tmp_path / "int", workers=1, quiet=True)
    assert doc["results"]["values"] == [2.0, 3.0, 4.0, 5.0, 6.0]


def test_compare_reports_undefined_values_as_null(tmp_path):
    exp = _small(load_experiment(EXPERIMENTS / "compare.toml", quick=True), patients=300, bootstrap_replicates=50, event_patients=10, swimmer_patients=5)
    exp = replace(exp, arms=("systemic_only", "consolidative"), metrics=("rt_courses_mean", "estro.repeat_oligoprogression", "eligible_fraction"))
    doc = run_experiment(exp, tmp_path / "c", workers=1, quiet=True)
    assert doc["results"]["metrics"]["consolidative"]["rt_courses_mean"][1] is None


def test_compare_reports_response_rates(tmp_path):
    """Issue 25: the disease-control rate is in the experiments' metric grammar as in the API's:
    the compare experiment reports ``response.dcr`` (with ``response.orr`` beside it) as
    :func:`oligosim.analysis.metrics.evaluate` gives it on the same run."""
    from oligosim.analysis.metrics import evaluate
    from oligosim.config import load_scenario
    from oligosim.simulate import run_scenario

    exp = _small(load_experiment(EXPERIMENTS / "compare.toml", quick=True), patients=300, bootstrap_replicates=20, event_patients=10, swimmer_patients=5)
    exp = replace(exp, arms=("systemic_only", "consolidative"), metrics=("response.orr", "response.dcr"))
    doc = run_experiment(exp, tmp_path / "c", workers=1, quiet=True)
    res = run_scenario(load_scenario(ROOT / "configs" / "default.toml"), patients=300, seed=exp.seed, arms=list(exp.arms))
    for arm in exp.arms:
        got = doc["results"]["metrics"][arm]
        for name in ("response.orr", "response.dcr"):
            assert got[name] == pytest.approx(list(evaluate(res.arms[arm], name)), rel=1e-12), (arm, name)
        assert got["response.orr"][0] < got["response.dcr"][0]
