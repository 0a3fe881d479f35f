"""Which lesions local therapy at a progression treats (model 8.1, ``progression.targets``).

By default (``all_seen``) a course at a progression treats every seen active lesion, primary
included. With ``progressing`` it treats only the progressing lesions, as statement 12 words it
(treat the progressing lesions): those seen for the first time at the scan, or whose own diameter
grew since the nadir by the RECIST fraction and minimum (``imaging.recist_growth_fraction``, ``imaging.recist_min_increase_cm``); if none qualifies
(the sum of diameters progressed through several smaller growths), every lesion that grew since
the nadir. The planning rule is checked lesion by lesion in the kernel here; the reference engine
is held to the same rule by the same-seed identity test and two mutations in
tests/test_cross_engine.py (case ``progressing_targets``).
"""

from __future__ import annotations

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import cohort as C
from oligosim._kernels import rt
from oligosim._kernels.state import new_lesions
from oligosim.config import ConfigError
from oligosim.lowering import lower_arm, lower_model

ORGANS = (codes.PRIMARY, codes.LIVER, codes.LUNG, codes.BONE)


@pytest.fixture(scope="module")
def lowered(default_scenario):
    sc = default_scenario
    P = lower_model(sc)
    A = lower_arm(sc, "at_progression")
    return P, A._replace(progressing_only=False), A._replace(progressing_only=True)


def _lesions(P, nadir_d, now_d, new_seen):
    """A lesion record of seen, active lesions with diameters (cm) at the nadir and now."""
    L = new_lesions(P.max_lesions)[0]
    for i, organ in enumerate(ORGANS):
        L["organ"][i] = organ
        L["status"][i] = C.ACTIVE
        L["seen"][i] = True
        L["new_seen"][i] = new_seen[i]
        L["nadir_d"][i] = nadir_d[i]
        L["logv"][i] = C.logv_of_diameter(now_d[i])
    return L


def _planned(P, A, L):
    rt.plan_course(P, A, L, len(ORGANS), rt.PLAN_PROGRESSION)
    return [bool(L["in_course"][i]) for i in range(len(ORGANS))]


def test_only_new_and_grown_lesions_are_planned(lowered):
    """Primary unchanged, liver grown 40% and 1.2 cm, lung seen for the first time, bone grown
    10%: all four with all_seen, the liver and lung with progressing."""
    P, A_all, A_prog = lowered
    assert P.recist_growth == pytest.approx(0.2) and P.recist_min_cm == pytest.approx(0.5)
    nadir, now, new = (4.0, 3.0, 0.0, 2.0), (4.0, 4.2, 0.8, 2.2), (False, False, True, False)
    assert _planned(P, A_all, _lesions(P, nadir, now, new)) == [True, True, True, True]
    assert _planned(P, A_prog, _lesions(P, nadir, now, new)) == [False, True, True, False]


def test_growth_needs_both_the_fraction_and_the_minimum(lowered):
    """A lesion grown 25% but by 0.25 cm (1.0 -> 1.25) is not progressing, one grown 0.6 cm but by
    15% (4.0 -> 4.6) is not either; 2.0 -> 2.6 (30%, 0.6 cm) is."""
    P, _, A_prog = lowered
    nadir, now, new = (1.0, 4.0, 2.0, 3.0), (1.25, 4.6, 2.6, 3.0), (False,) * 4
    assert _planned(P, A_prog, _lesions(P, nadir, now, new)) == [False, False, True, False]


def test_without_a_progressing_lesion_every_grown_one_is_planned(lowered):
    """The sum grew though no lesion did by the RECIST rule: the lesions that grew at all are
    planned, the one that shrank is not."""
    P, _, A_prog = lowered
    nadir, now, new = (3.0, 2.0, 2.0, 2.0), (3.3, 2.3, 2.2, 1.9), (False,) * 4
    assert _planned(P, A_prog, _lesions(P, nadir, now, new)) == [True, True, True, False]


def test_the_switch_changes_only_courses_at_progression(default_scenario):
    """Common random numbers: an arm without local therapy at progression is bit-identical with
    either setting, and the at-progression arm is identical up to its first course, which
    treats fewer lesions for most patients when only progressing ones count."""
    n = 3000
    base = default_scenario.with_values({"arms.at_progression.progression.max_courses": 0})
    prog = base.with_values({f"arms.{a}.progression.targets": "progressing" for a in ("systemic_only", "at_progression")})
    arms = ["systemic_only", "at_progression"]
    ra = simulate.run_scenario(base, patients=n, seed=11, arms=arms, events=True)
    rb = simulate.run_scenario(prog, patients=n, seed=11, arms=arms, events=True)
    a, b = ra.arms["systemic_only"], rb.arms["systemic_only"]
    for key in a.columns:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), key
    a, b = ra.arms["at_progression"], rb.arms["at_progression"]
    assert np.array_equal(a["pfs"], b["pfs"]) and np.array_equal(a["estro_first"], b["estro_first"])
    # lc_n: local-control records, one per lesion a course irradiated. Later urgent courses
    # (symptomatic brain or bone lesions, statement 6) can add records where a lesion was left
    # untreated, so the comparison is by patient counts, not patient by patient
    x, y = a["lc_n"].astype(int), b["lc_n"].astype(int)
    treated = int((x > 0).sum())
    fewer, more = int((y < x).sum()), int((y > x).sum())
    assert treated > 300
    assert fewer > treated / 2 and more < fewer / 10
    assert y.sum() < 0.7 * x.sum()


def test_bad_value_is_refused(default_scenario):
    with pytest.raises(ConfigError, match="targets"):
        default_scenario.with_values({"arms.at_progression.progression.targets": "largest"})
