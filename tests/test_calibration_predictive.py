"""Tests of the predictive check (issue 20 item 3): replicated studies at their published sizes,
coverage and tail probabilities, undefined replicates, determinism and the report."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim.calibration import load_calibration
from oligosim.calibration.predictive import PredictiveCheck, predictive_check, study_sizes
from oligosim.calibration.scoring import evaluate_targets

from tests.test_calibrate import CONFIG, TARGETS


def _check(samples, targets, n=(50,)):
    samples = np.asarray(samples, dtype=float)
    k = samples.shape[1]
    return PredictiveCheck(
        ids=tuple(f"t{i}" for i in range(k)), targets=np.asarray(targets, float), study_n=np.array(list(n) * k)[:k],
        n_assumed=np.zeros(k, bool), samples=samples, source="point fit", seed=0,
    )


def test_coverage_tails_and_undefined_replicates_on_known_samples():
    x = (np.arange(1000) + 0.5) / 1000  # uniform on (0, 1), quantiles known
    med = np.where(np.arange(1000) < 500, x * 20, np.inf)  # half the replicates never reach the median
    undefined = np.full(1000, np.nan)
    undefined[:10] = 1.0
    rows = _check(np.column_stack([x, x, x, med, undefined, np.full(1000, np.nan)]), [0.5, 0.01, 0.999, 5.0, 1.0, 1.0]).rows()
    assert rows[0]["covered"] and rows[0]["p_two_sided"] == pytest.approx(1.0)
    assert rows[0]["q025"] == pytest.approx(0.025, abs=1e-3) and rows[0]["q975"] == pytest.approx(0.975, abs=1e-3)
    assert not rows[1]["covered"] and rows[1]["p_two_sided"] == pytest.approx(0.02, abs=1e-9)  # 10 of 1,000 below
    assert not rows[2]["covered"] and rows[2]["p_two_sided"] == pytest.approx(0.002, abs=1e-9)
    # medians not reached are longer than any reached one: the upper end is +inf, still covered
    assert rows[3]["q975"] == math.inf and rows[3]["covered"] and rows[3]["undefined"] == 0
    assert rows[4]["undefined"] == 990 and rows[4]["covered"]
    assert rows[5]["undefined"] == 1000 and not rows[5]["covered"] and math.isnan(rows[5]["q025"])
    check = _check(np.column_stack([x, x, x, med, undefined, np.full(1000, np.nan)]), [0.5, 0.01, 0.999, 5.0, 1.0, 1.0])
    assert check.coverage() == (3, 6)
    doc = check.to_json()
    assert doc["rows"][3]["q975"] == "not reached" and doc["rows"][5]["q025"] is None


@pytest.fixture(scope="module")
def spec():
    return load_calibration(CONFIG, TARGETS)


def test_study_sizes_come_from_the_targets_file(spec):
    sizes, assumed = study_sizes(spec.tmap, spec.objective["missing_n_weight_resolved"])
    by_id = dict(zip([e.id for e in spec.tmap.entries], zip(sizes.tolist(), assumed.tolist())))
    assert by_id["t-chemo-os"] == (100, False) and by_id["t-sbrt-os"] == (50, False)
    assert by_id["t-sbrt-neutropenia"] == (50, True)  # no n: the objective's missing_n_weight = 50


@pytest.mark.slow
def test_replicates_of_a_proportion_are_binomial_at_the_study_size(spec):
    """At a point (no parameter uncertainty) the patients of a replicate are independent, so the
    replicated grade 3+ neutropenia rate of a study of n = 50 is Binomial(50, p) / 50, p the
    model's rate (estimated on 20,000 patients)."""
    draws = 300
    check = predictive_check(spec, [{}], draws=draws, source="point fit", workers=1)
    k = check.ids.index("t-sbrt-neutropenia")
    y = check.samples[:, k]
    assert np.all(np.isfinite(y)) and np.allclose(y * 50, np.round(y * 50))
    big = {r.id: r for r in evaluate_targets(spec.tmap, patients=20_000, seed=97)}
    p = big["t-sbrt-neutropenia"].model
    var = p * (1 - p) / 50
    se_mean = math.sqrt(var / draws + p * (1 - p) / 20_000)
    assert abs(y.mean() - p) < 4 * se_mean
    # the sample variance of a binomial proportion: relative SE about sqrt(2 / (draws - 1)) (a little more: kurtosis)
    assert y.var(ddof=1) == pytest.approx(var, rel=4 * math.sqrt(2.6 / (draws - 1)))


def test_the_check_is_deterministic_and_does_not_depend_on_workers(spec):
    points = [{"disease.death_hazard_per_cm3_month": 0.001}, {"disease.death_hazard_per_cm3_month": 0.003}]
    a = predictive_check(spec, points, [0.3, 0.7], draws=4, source="posterior", workers=1)
    b = predictive_check(spec, points, [0.3, 0.7], draws=4, source="posterior", workers=2)
    assert np.array_equal(a.samples, b.samples, equal_nan=True)
    # replicates are new studies: not all identical
    assert len({tuple(row) for row in a.samples.tolist()}) > 1
    with pytest.raises(ValueError, match="draws = 0"):
        predictive_check(spec, points, draws=0, source="posterior", workers=1)
    with pytest.raises(ValueError, match="weights"):
        predictive_check(spec, points, [1.0], draws=2, source="posterior", workers=1)
