"""The metrics papers report: subgroup hazard ratios within an arm, sums of first-failure
patterns, RECIST 1.1 response at the first assessment, time to next treatment.

Values are checked against lifelines / statsmodels (hazard ratios), closed forms (shares with
their Wilson intervals, the RECIST rules) and the Kaplan-Meier functions shared with OS and PFS.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oligosim import codes
from oligosim.analysis import subgroups
from oligosim.analysis.metrics import evaluate, evaluate_many, evaluate_mixture, parse_metric
from oligosim.analysis.proportions import proportion_ci
from oligosim.analysis.response import classify, first_response
from oligosim.analysis.survival import kaplan_meier, median_survival, rmst, survival_at
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario

lifelines = pytest.importorskip("lifelines")

ARMS = ["systemic_only", "consolidative"]


def _scenario():
    """The default strategies in a population half synchronous, half metachronous (DFI > 0)."""
    mix = {f"cohort.presentation.{k}": 0.0 for k in codes.PRESENTATION_NAMES}
    mix.update({"cohort.presentation.synchronous": 0.5, "cohort.presentation.metachronous": 0.5})
    return load_scenario("configs/default.toml").with_values(mix)


@pytest.fixture(scope="module")
def runs():
    sc = _scenario()
    full = run_scenario(sc, patients=2000, seed=21, keep="all", arms=ARMS)
    lean = run_scenario(sc, patients=2000, seed=21, keep="summary", chunk=700, arms=ARMS)
    return full.arms, lean.arms


# ----------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    "name, kind, unit",
    [
        ("os.hr:dfi>=12", "hr", "ratio"), ("pfs.hr:lesions>1", "hr", "ratio"), ("os.hr:site=liver", "hr", "ratio"),
        ("ttnt.hr:organs>=2", "hr", "ratio"), ("dss.hr:histology=eac", "hr", "ratio"), ("os.hr:pdl1=high", "hr", "ratio"),
        ("ttnt.median", "median", "months"), ("ttnt.rate:12", "rate", "fraction"), ("ttnt.rmst:24", "rmst", "months"),
        ("first_failure.in_field+marginal_regional", "first_failure", "fraction"),
        ("response.orr", "response", "fraction"), ("response.dcr", "response", "fraction"), ("response.evaluable", "response", "fraction"),
    ],
)
def test_grammar(name, kind, unit):
    m = parse_metric(name)
    assert (m.kind, m.unit) == (kind, unit)


@pytest.mark.parametrize(
    "name, message",
    [
        ("os.hr", "needs a subgroup after hr:"), ("os.hr:", "needs a subgroup"), ("os.hr:dfi>=x", "dfi needs a number"),
        ("os.hr:dfi=>12", "not understood"), ("os.hr:site=kidney", "'kidney' is not one of"), ("os.hr:site>1", "site takes ="),
        ("os.hr:weight>70", "subgroup variable 'weight'"), ("os.hr:dfi>=nan", "finite number"),
        ("first_failure.local+regional", "failure pattern 'local'"), ("first_failure.in_field+", "failure pattern ''"),
        ("first_failure.widespread+widespread", "named twice"), ("response.os", "response statistic 'os'"),
        ("ttnt.mean", "not understood"),
    ],
)
def test_grammar_errors_name_the_metric_and_the_rule(name, message):
    with pytest.raises(ValueError, match=message) as err:
        parse_metric(name)
    assert repr(name) in str(err.value) or name in str(err.value)


# ----------------------------------------------------------------------------- hazard ratios


def _lifelines_hr(t, e, x):
    df = pd.DataFrame({"T": t, "E": e.astype(int), "x": x.astype(float)})
    row = lifelines.CoxPHFitter().fit(df, "T", "E").summary.loc["x"]  # Efron ties
    return row["exp(coef)"], row["exp(coef) lower 95%"], row["exp(coef) upper 95%"]


@pytest.mark.parametrize("name", ["os.hr:dfi>=12", "pfs.hr:lesions>1", "os.hr:site=liver", "ttnt.hr:organs>=2", "dss.hr:kps<90", "os.hr:presentation=metachronous"])
def test_hazard_ratio_matches_lifelines(runs, name):
    arm = runs[0]["systemic_only"]
    m = parse_metric(name)
    t = np.asarray(arm[m.endpoint] if m.endpoint != "dss" else arm["os"], dtype=float)
    e = arm[f"{m.endpoint}_event"] if m.endpoint != "dss" else arm["death_cause"] == codes.DEATH_DISEASE
    x = subgroups.member(arm, m.subgroup)
    assert 0.02 < x.mean() < 0.98, f"{name}: the subgroup is nearly empty or everyone ({x.mean():.3f})"
    np.testing.assert_allclose(evaluate(arm, name), _lifelines_hr(t, np.asarray(e), x), rtol=1e-5)


def test_hazard_ratio_with_tied_times_matches_lifelines_and_statsmodels():
    """Scans exactly on the grid: PFS events tie, where Efron's handling matters."""
    sm = pytest.importorskip("statsmodels.api")
    sc = load_scenario("configs/default.toml").with_values({"followup.visit_window_days": 0.0})
    arm = run_scenario(sc, patients=1500, seed=4, arms=["systemic_only"]).arms["systemic_only"]
    t, e = arm["pfs"], arm["pfs_event"]
    assert np.unique(t[e]).size < 0.5 * e.sum()  # heavily tied
    x = subgroups.member(arm, parse_metric("pfs.hr:lesions>1").subgroup)
    got = evaluate(arm, "pfs.hr:lesions>1")
    np.testing.assert_allclose(got, _lifelines_hr(t, e, x), rtol=1e-5)
    res = sm.PHReg(t, x.astype(float)[:, None], status=e.astype(int), ties="efron").fit()
    lo, hi = np.exp(res.conf_int()[0])
    np.testing.assert_allclose(got, (math.exp(res.params[0]), lo, hi), rtol=1e-5)


def test_subgroup_membership(runs):
    arm = runs[0]["systemic_only"]
    mask = arm["organs_entry"].astype(np.int64)
    assert np.array_equal(subgroups.member(arm, subgroups.parse_condition("site=liver", "m")), (mask >> codes.LIVER) & 1 == 1)
    n_org = sum(((mask >> o) & 1) for o in codes.METASTATIC_ORGANS)
    assert np.array_equal(subgroups.member(arm, subgroups.parse_condition("organs>=2", "m")), n_org >= 2)
    assert np.array_equal(subgroups.member(arm, subgroups.parse_condition("lesions=1", "m")), arm["n_visible_entry"] == 1)
    eac = subgroups.member(arm, subgroups.parse_condition("histology=eac", "m"))
    assert np.array_equal(eac, arm["histology"] == codes.EAC)


def test_hazard_ratio_nan_when_a_group_is_empty(runs):
    arm = runs[0]["systemic_only"]
    assert all(math.isnan(v) for v in evaluate(arm, "os.hr:age>=200"))
    assert all(math.isnan(v) for v in evaluate(arm, "os.hr:age>=0"))


def test_every_new_metric_is_the_same_in_both_keep_modes_and_mixtures(runs):
    full, lean = runs
    names = [
        "os.hr:dfi>=12", "pfs.hr:site=lung", "ttnt.median", "ttnt.rmst:24", "ttnt.rate:12",
        "first_failure.in_field+marginal_regional", "response.orr", "response.dcr", "response.evaluable",
    ]
    for arm in ARMS:
        a, b = evaluate_many(full[arm], names), evaluate_many(lean[arm], names)
        for name in names:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-12, equal_nan=True, err_msg=f"{arm} {name}")
            # a mixture of one arm is the arm
            np.testing.assert_allclose(evaluate_mixture([full[arm]], [1.0], name), a[name], equal_nan=True)
    # a mixture of two arms lies between them (shares) and has a finite HR
    for name in ("response.orr", "first_failure.in_field+marginal_regional", "ttnt.median"):
        v = evaluate_mixture([full[x] for x in ARMS], [1, 1], name)[0]
        lo, hi = sorted(evaluate(full[x], name)[0] for x in ARMS)
        assert lo - 1e-9 <= v <= hi + 1e-9, name
    assert math.isfinite(evaluate_mixture([full[x] for x in ARMS], [1, 1], "os.hr:dfi>=12")[0])


# ----------------------------------------------------------------------------- first failure


def test_first_failure_sums(runs):
    arm = runs[0]["consolidative"]
    n = arm.n
    parts = ("in_field", "marginal_regional")
    k = int(np.isin(arm["first_failure"], [codes.FAILURE_NAMES.index(p) for p in parts]).sum())
    value, lo, hi = evaluate(arm, "first_failure.in_field+marginal_regional")
    assert value == pytest.approx(sum(evaluate(arm, f"first_failure.{p}")[0] for p in parts))
    assert (value, lo, hi) == pytest.approx((k / n, *proportion_ci(k, n)))
    every = "+".join(codes.FAILURE_NAMES)
    assert evaluate(arm, f"first_failure.{every}")[0] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- RECIST


def test_recist_rules_at_the_boundaries():
    """Closed cases of RECIST 1.1 at a first assessment (the nadir is the baseline)."""
    base = np.array([10.0, 10.0, 10.0, 10.0, 2.0, 2.0, 10.0, 0.0, 10.0, 10.0, 10.0])
    first = np.array([7.0, 7.01, 12.0, 11.99, 2.4, 2.5, 0.0, 1.0, np.nan, 5.0, 0.0])
    new = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], bool)
    clear = np.array([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], bool)
    expected = ["pr", "sd", "pd", "sd", "sd", "pd", "cr", "ne", "ne", "pd", "pr"]
    got = [codes.RESPONSE_NAMES[c] for c in classify(base, first, new, clear)]
    # 30 % down is PR; 20 % up is PD only with 5 mm (2.0 -> 2.4 cm is 4 mm: SD); a new lesion is
    # PD whatever the sum; targets gone but other disease visible is PR; no measurable disease
    # or no assessment is not evaluable
    assert got == expected


def test_response_metrics_are_shares_of_evaluable_patients(runs):
    for arm in runs[0].values():
        r = first_response(arm)
        counts = np.bincount(r, minlength=5)
        ev = int(counts.sum() - counts[codes.RESPONSE_NE])
        assert ev > 0.5 * arm.n
        for name, num in (("orr", counts[0] + counts[1]), ("dcr", counts[0] + counts[1] + counts[2]), ("pd", counts[3])):
            assert evaluate(arm, f"response.{name}") == pytest.approx((num / ev, *proportion_ci(int(num), ev)))
        assert evaluate(arm, "response.evaluable")[0] == pytest.approx(ev / arm.n)
    # consolidative RT comes after the first assessment (4 cycles): the same patients, the same response
    a, b = runs[0]["systemic_only"], runs[0]["consolidative"]
    assert evaluate(a, "response.orr")[0] == evaluate(b, "response.orr")[0]


def test_dcr_beside_orr_in_the_api_against_a_hand_count(runs):
    """Issue 25: the disease-control rate (CR+PR+SD) at the first assessment, beside the ORR, from
    the API's summary, against a hand count of the per-patient table's ``response_first`` and the
    Wilson interval computed by statsmodels (an implementation independent of the package's)."""
    from statsmodels.stats.proportion import proportion_confint

    from oligosim import api

    res = api.run(_scenario(), patients=600, seed=33, arms=ARMS, announce=False)
    table = res.summary(["response.orr", "response.dcr"])
    pts = res.patients()
    for arm in ARMS:
        first = pts.loc[pts["arm"] == arm, "response_first"].astype(str)
        evaluable = int((first != "ne").sum())
        controlled = int(first.isin(["cr", "pr", "sd"]).sum())
        responded = int(first.isin(["cr", "pr"]).sum())
        assert 0 < responded < controlled < evaluable
        for metric, k in (("response.orr", responded), ("response.dcr", controlled)):
            row = table[(table["arm"] == arm) & (table["metric"] == metric)].iloc[0]
            lo, hi = proportion_confint(k, evaluable, alpha=0.05, method="wilson")
            assert row["value"] == pytest.approx(k / evaluable, rel=1e-12), (arm, metric)
            assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((lo, hi), rel=1e-9), (arm, metric)
            assert row["n"] == evaluable and row["unit"] == "fraction"


def test_response_nan_without_evaluable_patients():
    from oligosim.analysis.metrics import _response

    assert all(math.isnan(v) for v in _response(np.array([0, 0, 0, 0, 7]), "orr"))
    assert _response(np.array([0, 0, 0, 0, 7]), "evaluable")[0] == 0.0


# ----------------------------------------------------------------------------- time to next treatment


def test_ttnt_metrics_are_the_kaplan_meier_ones(runs):
    arm = runs[0]["consolidative"]
    km = kaplan_meier(arm["ttnt"], arm["ttnt_event"])
    med, (lo, hi) = median_survival(km)
    assert evaluate(arm, "ttnt.median") == pytest.approx((med, lo, hi))
    assert evaluate(arm, "ttnt.rate:12") == pytest.approx(tuple(float(v) for v in survival_at(km, 12.0)))
    est, se = rmst(km, 24.0)
    assert evaluate(arm, "ttnt.rmst:24")[0] == pytest.approx(est)
    # the next treatment comes no later than death and no earlier than progression, save death
    # before any progression
    assert np.all(arm["ttnt"] <= arm["os"])
    progressed = arm["pfs_event"] & (arm["pfs"] < arm["os"])
    assert np.all(arm["ttnt"][progressed] >= arm["pfs"][progressed] - 1e-9)
    assert evaluate(arm, "ttnt.median")[0] >= evaluate(arm, "pfs.median")[0]


# ----------------------------------------------------------------------------- oligosim targets


def test_targets_command_scores_the_new_metrics(tmp_path, monkeypatch):
    """``oligosim targets`` accepts every new kind of metric (run on the summary columns) and
    reports the values the API gives for the same run; hazard ratios carry the unit ``ratio``."""
    import json

    from oligosim import cli

    monkeypatch.setattr(cli, "COMMANDS", ("targets",))
    tests_data = Path(__file__).parent / "data" / "targets"
    study = tests_data / "tiny_study.toml"
    wanted = {
        "t-hr": ("chemo", "pfs.hr:lesions>1", 1.5),
        "t-hr-mix": ({"chemo": 1, "sbrt_chemo": 1}, "os.hr:site=liver", 1.2),
        "t-orr": ("chemo", "response.orr", 0.4),
        "t-dcr": ("chemo", "response.dcr", 0.8),
        "t-ttnt": ("sbrt_chemo", "ttnt.median", 9.0),
        "t-ff": ("sbrt_chemo", "first_failure.in_field+marginal_regional", 0.2),
    }
    targets = "".join(
        f'[[target]]\nid = "{tid}"\nstudy = "s"\npopulation = "p"\narm = "a"\nmetric = "m"\nvalue = {v}\nquoted_in = "a test"\n\n'
        for tid, (_, _, v) in wanted.items()
    )
    (tmp_path / "targets.toml").write_text(targets)
    entries = []
    for tid, (arm, metric, _) in wanted.items():
        arm_toml = f'"{arm}"' if isinstance(arm, str) else "{ " + ", ".join(f"{k} = {w}" for k, w in arm.items()) + " }"
        entries.append(f'[target.{tid}]\nscenario = {json.dumps(str(study))}\narm = {arm_toml}\nmetric = "{metric}"\n')
    (tmp_path / "map.toml").write_text("\n".join(entries))
    out = tmp_path / "out"
    rc = cli.main(["targets", str(tmp_path / "targets.toml"), "--map", str(tmp_path / "map.toml"), "--out", str(out), "--patients", "400", "--seed", "5", "--quiet"])
    assert rc == 0
    doc = {t["id"]: t for t in json.loads((out / "targets.json").read_text())["targets"]}
    res = run_scenario(load_scenario(study), patients=400, seed=5)
    for tid, (arm, metric, _) in wanted.items():
        names, weights = ([arm], [1.0]) if isinstance(arm, str) else (list(arm), list(arm.values()))
        expected = evaluate_mixture([res.arms[a] for a in names], weights, metric)
        assert doc[tid]["model"] == pytest.approx(expected[0], rel=1e-9), tid
        assert doc[tid]["model_ci95"] == pytest.approx(list(expected[1:]), rel=1e-9), tid
    assert doc["t-hr"]["unit"] == "ratio" and doc["t-orr"]["unit"] == "fraction" and doc["t-dcr"]["unit"] == "fraction"
    assert doc["t-orr"]["model"] < doc["t-dcr"]["model"]
