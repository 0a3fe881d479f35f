"""The local therapy chosen by lesion size (model 6.10: ``arms.<arm>.local_modality_by_size``).

Tested: the configuration (off by default, lowering by (organ, subsite), a clear error for a rule
that would change nothing, for a bad threshold and for an unknown site); in the kernel, every
procedure treats a lesion at most the threshold in diameter and RT treats larger ones; a
threshold no lesion reaches gives exactly the run of the site's modality everywhere, and a
threshold every lesion exceeds gives exactly the run of the ``above`` modality everywhere (the
rule takes no random draw). The reference engine's version is compared patient by patient in
tests/test_cross_engine.py (case ``modality_by_size``, with a mutation test).
"""

from __future__ import annotations

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim.config import ConfigError
from oligosim.lowering import lower_arm
from oligosim.reference.cohort import diameter_of_logv

N = 1200
SEED = 29
ARMS = ["upfront_rt", "at_progression"]


def _modality(sc, modality, sites=codes.SITE_NAMES):
    return sc.with_values({f"arms.{a}.local_modality.{s}": modality for a in ARMS for s in sites})


def _by_size(sc, max_cm, above, sites=codes.SITE_NAMES):
    values = {}
    for a in ARMS:
        for s in sites:
            values[f"arms.{a}.local_modality_by_size.{s}.max_diameter_cm"] = max_cm
            values[f"arms.{a}.local_modality_by_size.{s}.above"] = above
    return sc.with_values(values)


def _same_arms(a, b):
    for name in ARMS:
        x, y = a.arms[name], b.arms[name]
        for col, v in x.columns.items():
            assert np.array_equal(v, y.columns[col], equal_nan=v.dtype.kind == "f"), f"{name}: {col}"
        for field in ("ev_time", "ev_code", "ev_detail", "lc_time", "lc_event", "lc_bed", "lc_volume"):
            assert np.array_equal(getattr(x, field), getattr(y, field), equal_nan=True), f"{name}: {field}"


# ----------------------------------------------------------------------------- configuration


def test_off_by_default_and_lowering(default_scenario):
    A = lower_arm(default_scenario, "upfront_rt")
    assert np.isinf(A.local_modality_max_cm).all()
    assert np.array_equal(A.local_modality_above, A.local_modality)
    sc = default_scenario.with_values({
        "arms.upfront_rt.local_modality.liver": "ablation",
        "arms.upfront_rt.local_modality_by_size.liver.max_diameter_cm": 2.5,
        "arms.upfront_rt.local_modality_by_size.node_abdominal.above": "surgery",
    })
    A = lower_arm(sc, "upfront_rt")
    liver = A.local_modality_max_cm[codes.LIVER]
    assert (liver == 2.5).all() and (A.local_modality_above[codes.LIVER] == codes.LOCAL_RT).all()
    abd = (codes.DISTANT_NODE, codes.STATION_NAMES.index("abdominal"))
    assert A.local_modality_max_cm[abd] == 3.0  # the default threshold
    assert A.local_modality_above[abd] == codes.LOCAL_SURGERY and A.local_modality[abd] == codes.LOCAL_RT
    # every other cell: no rule
    assert np.isfinite(A.local_modality_max_cm).sum() == liver.size + 1


def test_rule_that_changes_nothing_is_an_error(default_scenario):
    with pytest.raises(ConfigError) as exc:
        default_scenario.with_values({"arms.upfront_rt.local_modality_by_size.lung.max_diameter_cm": 3.0})
    msg = str(exc.value)
    # the site's modality is RT (the default) and so is the default `above`
    assert "arms.upfront_rt.local_modality_by_size.lung.above" in msg and '"rt"' in msg and "would change nothing" in msg


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_threshold_must_be_positive(default_scenario, value):
    with pytest.raises(ConfigError) as exc:
        default_scenario.with_values({
            "arms.upfront_rt.local_modality.liver": "ablation", "arms.upfront_rt.local_modality_by_size.liver.max_diameter_cm": value,
        })
    assert "arms.upfront_rt.local_modality_by_size.liver.max_diameter_cm" in str(exc.value)


def test_unknown_site_is_an_error(default_scenario):
    with pytest.raises(ConfigError) as exc:
        default_scenario.with_values({"arms.upfront_rt.local_modality_by_size.kidney.above": "surgery"})
    assert "local_modality_by_size.kidney" in str(exc.value)


# ----------------------------------------------------------------------------- behaviour


def test_ablation_up_to_the_threshold_rt_above(default_scenario):
    """Ablation up to 2 cm, RT above, at every site: each procedure's lesion was at most 2 cm at
    the procedure (its local-control record keeps the volume then), and RT treated larger ones."""
    limit = 2.0
    sc = _by_size(_modality(default_scenario, "ablation"), limit, "rt")
    res = simulate.run_scenario(sc, patients=N, seed=SEED, arms=ARMS, events=True)
    for name in ARMS:
        arm = res.arms[name]
        t, e, bed, vol = arm.lc_records
        d = np.array([diameter_of_logv(float(np.log(v))) for v in vol])
        proc = np.isnan(bed)
        assert proc.sum() > 100, name
        assert d[proc].max() <= limit * (1 + 1e-5), name  # float32 volumes
        assert (d[~proc] > limit).sum() > 50, name
        assert not (arm.ev_code == codes.EV_SURGERY).any()


def test_extreme_thresholds_reproduce_one_modality_everywhere(default_scenario):
    """No random draw: a threshold above every lesion gives the ablation-everywhere run bit for
    bit, one below every visible lesion the RT-everywhere run."""
    ablate = _modality(default_scenario, "ablation")
    plain = simulate.run_scenario(ablate, patients=N // 2, seed=SEED, arms=ARMS, events=True)
    huge = simulate.run_scenario(_by_size(ablate, 100.0, "rt"), patients=N // 2, seed=SEED, arms=ARMS, events=True)
    _same_arms(plain, huge)
    rt = simulate.run_scenario(default_scenario, patients=N // 2, seed=SEED, arms=ARMS, events=True)
    tiny = simulate.run_scenario(_by_size(ablate, 1e-4, "rt"), patients=N // 2, seed=SEED, arms=ARMS, events=True)
    _same_arms(rt, tiny)
