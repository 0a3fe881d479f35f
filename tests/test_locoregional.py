"""The primary, its bed and the regional nodes after entry (model 3.3, 4.2, 6.8, 7.4), kernel
function by function, against answers computed here.

* Occult locoregional disease at entry (``cohort.draw_locoregional``): Poisson counts of occult
  regional nodes by the primary's treatment, the bed or persistent primary with its
  probability, the persistent primary carrying the definitive course's dose, and the occult
  nodes of a primary in place sitting in the stations of the nodes staging saw.
* Lymphatic seeding (``hazards.seeded_organ``): the share of new deposits landing in the
  regional nodes is the regional-seeding fraction times the locoregional share of the volume.
* Involved-station fields (``rt.plan_course``): a nodal target's course also treats the occult
  nodes of its organ in its station, and nothing else.
* First failure (``assess.first_failure``): the hierarchy in field < marginal/regional < out
  of field (new) and the growth-only rules.
* Acceptance (issue 16): RT to a nodal recurrence after esophagectomy shows in-field,
  marginal/regional and distant first failures, each with a share above zero.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import assess, hazards, rng, rt
from oligosim._kernels import cohort as C
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.results import EVENT_RECORDS, LC_RECORDS

from conftest import CONFIGS
from oligosim.config import load_scenario


@pytest.fixture(scope="module")
def P(default_scenario):
    return lower_model(default_scenario)


def _lesions(P, organs, subsites, logv, seen, irradiated=None):
    """A lesion record (kept alive by the returned array) with the given active lesions."""
    arr = new_lesions(P.max_lesions)
    L = arr[0]
    for i, o in enumerate(organs):
        L["organ"][i] = o
        L["subsite"][i] = subsites[i]
        L["status"][i] = C.ACTIVE
        L["logv"][i] = logv[i]
        L["det_logv"][i] = -100.0 if seen[i] else 100.0
        L["seen"][i] = seen[i]
        L["irradiated"][i] = 0 if irradiated is None else irradiated[i]
        L["lc_slot"][i] = -1
    return arr, L


def _z(hits, n, p):
    return (hits / n - p) / math.sqrt(p * (1.0 - p) / n)


# ----------------------------------------------------------------------------- lymphatic seeding


def test_seeded_organ_regional_share_is_fraction_times_volume_share(P):
    """P(regional) = f x V_locoregional / V_total, within 4 standard errors (model 4.2)."""
    arr, L = _lesions(P, [codes.PRIMARY, codes.REGIONAL_NODE, codes.LIVER], [0, 2, 0], [math.log(15.0), math.log(5.0), math.log(5.0)], [True] * 3)
    f = float(P.lr[0]["regional_seeding"])
    assert 0.0 < f < 1.0
    p = f * 20.0 / 25.0
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    rng.init_streams(7, 0, W.streams)
    n = 20000
    hits = sum(hazards.seeded_organ(P, W.streams, L, 3, codes.ESCC) == codes.REGIONAL_NODE for _ in range(n))
    assert abs(_z(hits, n, p)) < 4.0, (hits / n, p)


def test_seeded_organ_without_locoregional_disease_draws_as_before(P):
    """With no active primary or regional node the organ is the histology's categorical draw,
    from the same single uniform as before the mechanism (the LESION stream stays aligned)."""
    arr, L = _lesions(P, [codes.LIVER, codes.LUNG], [0, 1], [0.0, 0.0], [True, True])
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    W2 = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    rng.init_streams(3, 5, W.streams)
    rng.init_streams(3, 5, W2.streams)
    for _ in range(200):
        a = hazards.seeded_organ(P, W.streams, L, 2, codes.ESCC)
        b = codes.METASTATIC_ORGANS[rng.categorical(W2.streams, rng.LESION, P.organ_cum[codes.ESCC])]
        assert a == b
    assert np.array_equal(W.streams, W2.streams)


# ----------------------------------------------------------------------------- involved-station fields


def test_nodal_field_covers_occult_nodes_of_its_station_only(P, default_scenario):
    A = lower_arm(default_scenario, "upfront_rt")
    organs = [codes.REGIONAL_NODE, codes.REGIONAL_NODE, codes.REGIONAL_NODE, codes.DISTANT_NODE, codes.LIVER]
    stations = [2, 2, 1, 2, 0]
    seen = [True, False, False, False, False]
    arr, L = _lesions(P, organs, stations, [0.0, -5.0, -5.0, -5.0, -5.0], seen)
    count = rt.plan_course(P, A, L, 5, rt.PLAN_INITIAL)
    assert count == 1  # occult disease is treated, not counted as a target
    assert [bool(L["in_course"][i]) for i in range(5)] == [True, True, False, False, False]
    off = P._replace(lr=P.lr.copy())
    off.lr[0]["field_covers_station"] = False
    arr2, L2 = _lesions(P, organs, stations, [0.0, -5.0, -5.0, -5.0, -5.0], seen)
    rt.plan_course(off, A, L2, 5, rt.PLAN_INITIAL)
    assert [bool(L2["in_course"][i]) for i in range(5)] == [True, False, False, False, False]


# ----------------------------------------------------------------------------- first failure


def _new(P, organs, stations, irradiated, new_seen):
    arr, L = _lesions(P, organs, stations, [0.0] * len(organs), [True] * len(organs), irradiated)
    for i, v in enumerate(new_seen):
        L["new_seen"][i] = v
    return arr, L


@pytest.mark.parametrize(
    "organs,stations,irradiated,new_seen,expected",
    [
        # a new liver lesion beside an irradiated node: out of field, new
        ([codes.DISTANT_NODE, codes.LIVER], [1, 0], [1, 0], [0, 1], codes.FAIL_OUT_OF_FIELD_NEW),
        # a new node in the next station: marginal
        ([codes.DISTANT_NODE, codes.DISTANT_NODE], [1, 2], [1, 0], [0, 1], codes.FAIL_MARGINAL_REGIONAL),
        # a new node two stations away: out of field
        ([codes.DISTANT_NODE, codes.DISTANT_NODE], [0, 2], [1, 0], [0, 1], codes.FAIL_OUT_OF_FIELD_NEW),
        # a new regional node, no RT anywhere: regional
        ([codes.LIVER, codes.REGIONAL_NODE], [0, 3], [0, 0], [0, 1], codes.FAIL_MARGINAL_REGIONAL),
        # an occult deposit inside an earlier field becomes visible: in field, and it outranks
        # a new distant lesion at the same scan
        ([codes.LIVER, codes.PRIMARY], [0, 0], [0, 1], [1, 1], codes.FAIL_IN_FIELD),
        # a new bed recurrence with a new lung lesion: marginal/regional outranks distant
        ([codes.LUNG, codes.PRIMARY], [0, 0], [0, 0], [1, 1], codes.FAIL_MARGINAL_REGIONAL),
    ],
)
def test_first_failure_by_new_lesions(P, organs, stations, irradiated, new_seen, expected):
    arr, L = _new(P, organs, stations, irradiated, new_seen)
    assert assess.first_failure(L, len(organs), True, sum(new_seen)) == expected
    assert assess.first_failure(L, len(organs), False, sum(new_seen)) == codes.FAIL_WIDESPREAD


@pytest.mark.parametrize(
    "organ,irradiated,expected",
    [(codes.LIVER, 0, codes.FAIL_OUT_OF_FIELD_REGROWTH), (codes.LIVER, 1, codes.FAIL_IN_FIELD), (codes.PRIMARY, 0, codes.FAIL_MARGINAL_REGIONAL)],
)
def test_first_failure_by_growth_is_the_lesion_that_grew_most(P, organ, irradiated, expected):
    arr, L = _lesions(P, [organ, codes.LUNG], [0, 0], [math.log(4.0), math.log(0.5)], [True, True], [irradiated, 0])
    L["nadir_d"][0] = 0.5  # grew by about 1.5 cm
    L["nadir_d"][1] = C.diameter_of_logv(math.log(0.5))  # unchanged
    assert assess.first_failure(L, 2, True, 0) == expected


# ----------------------------------------------------------------------------- occult disease at entry


def _draws(P, *, synchronous, dfi=10.0, n_patients=4000, seen_stations=()):
    """Run ``draw_locoregional`` for many independent streams; returns per-draw lists of
    (new lesion organs, subsites, irradiated, site_eqd2, site_time, primary_treatment)."""
    out = []
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    for pid in range(n_patients):
        arr = new_lesions(P.max_lesions)
        L = arr[0]
        rng.init_streams(11, pid, W.streams)
        n0 = 0
        for s_ in seen_stations:
            C.init_lesion(P, W.streams, rng.COHORT, n0, codes.REGIONAL_NODE, 0.0, 0.1, L)
            L["subsite"][n0] = s_
            n0 += 1
        W.state["primary_in_place"] = synchronous
        W.state["dfi"] = dfi
        W.state["growth"] = 0.3
        n = C.draw_locoregional(P, W.streams, rng.COHORT, W.state[0], L, n0)
        new = range(n0, n)
        out.append((
            [int(L["organ"][i]) for i in new], [int(L["subsite"][i]) for i in new], [int(L["irradiated"][i]) for i in new],
            [float(L["site_eqd2"][i]) for i in new], [float(L["site_time"][i]) for i in new], int(W.state["primary_treatment"][0]),
        ))
    return out


def test_occult_regional_nodes_with_the_primary_in_place(P):
    """Poisson(mean) occult nodes (mean and variance within their standard errors), none in the
    bed, all in the stations of the nodes staging saw."""
    mean = float(P.lr[0]["nodes_sync"])
    draws = _draws(P, synchronous=True, seen_stations=(1, 3))
    k = np.array([len(d[0]) for d in draws])
    assert abs(k.mean() - mean) < 4.0 * math.sqrt(mean / k.size)
    assert abs(k.var() - mean) < 4.0 * math.sqrt(2.0 * mean**2 / k.size + mean / k.size)
    assert all(o == codes.REGIONAL_NODE for d in draws for o in d[0])
    assert {s for d in draws for s in d[1]} == {1, 3}
    assert all(d[5] == codes.PRIMARY_IN_PLACE for d in draws)


def test_after_surgery_bed_relapse_and_nodes(P):
    draws = _draws(P, synchronous=False)
    LR = P.lr[0]
    assert all(d[5] == codes.PRIOR_SURGERY for d in draws)  # default shares: surgery 1.0
    bed = sum(codes.PRIMARY in d[0] for d in draws)
    assert abs(_z(bed, len(draws), float(LR["bed_surgery"]))) < 4.0
    k = np.array([d[0].count(codes.REGIONAL_NODE) for d in draws])
    assert abs(k.mean() - LR["nodes_surgery"]) < 4.0 * math.sqrt(LR["nodes_surgery"] / k.size)
    assert all(i == 0 for d in draws for i in d[2])  # nothing irradiated before


def test_after_crt_the_persistent_primary_carries_the_earlier_dose(P):
    crt = P._replace(lr=P.lr.copy())
    crt.lr[0]["crt_share"] = 1.0
    draws = _draws(crt, synchronous=False, dfi=17.0)
    LR = crt.lr[0]
    assert all(d[5] == codes.PRIOR_DEFINITIVE_CRT for d in draws)
    prim = [(d[2][d[0].index(codes.PRIMARY)], d[3][d[0].index(codes.PRIMARY)], d[4][d[0].index(codes.PRIMARY)]) for d in draws if codes.PRIMARY in d[0]]
    assert abs(_z(len(prim), len(draws), float(LR["primary_crt"]))) < 4.0
    assert all(p == (1, float(LR["crt_eqd2"]), -17.0) for p in prim)
    # the nodes outside the earlier field were not irradiated
    assert all(i == 0 for d in draws for o, i in zip(d[0], d[2]) if o == codes.REGIONAL_NODE)


# ----------------------------------------------------------------------------- acceptance


@pytest.mark.slow
def test_nodal_recurrence_after_esophagectomy_shows_every_failure_site():
    """Issue 16 acceptance: RT to a nodal recurrence after esophagectomy; in-field,
    marginal/regional and distant (new out-of-field) first failures each occur, the smallest
    share at least 4 standard errors above zero."""
    sc = load_scenario(CONFIGS / "scenarios" / "node_recurrence_after_esophagectomy.toml")
    res = simulate.run_scenario(sc, patients=4000, seed=2026, arms=["rt_alone"])
    ff = res.arms["rt_alone"]["first_failure"].astype(int)
    n = ff.size
    for code in (codes.FAIL_IN_FIELD, codes.FAIL_MARGINAL_REGIONAL, codes.FAIL_OUT_OF_FIELD_NEW):
        p = float(np.mean(ff == code))
        assert p > 4.0 * math.sqrt(max(p * (1 - p), 1e-12) / n), (codes.FAILURE_NAMES[code], p)


# ----------------------------------------------------------------------------- the primary's level


def test_primary_level_follows_its_shares(P):
    """The primary's sub-site is its level, drawn by locoregional.primary_level (one uniform):
    each share within 4 standard errors."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    rng.init_streams(5, 1, W.streams)
    n = 20000
    got = np.array([C.draw_subsite(P, W.streams, rng.COHORT, codes.PRIMARY) for _ in range(n)])
    shares = np.diff(np.concatenate([[0.0], P.lr[0]["level_cum"]]))
    for k, p in enumerate(shares):
        assert abs(_z(int(np.sum(got == k)), n, p)) < 4.0, (codes.STATION_NAMES[k], np.mean(got == k), p)


def test_primary_field_covers_occult_regional_nodes_at_its_level(P, default_scenario):
    """The primary's field treats the occult regional nodes at its level, not a distant node
    there nor a regional node one level away (model 6.9)."""
    A = lower_arm(default_scenario, "upfront_rt")
    organs = [codes.PRIMARY, codes.REGIONAL_NODE, codes.REGIONAL_NODE, codes.DISTANT_NODE]
    stations = [2, 2, 1, 2]
    arr, L = _lesions(P, organs, stations, [3.0, -5.0, -5.0, -5.0], [True, False, False, False])
    assert rt.plan_course(P, A, L, 4, rt.PLAN_INITIAL) == 1
    assert [bool(L["in_course"][i]) for i in range(4)] == [True, True, False, False]


@pytest.mark.parametrize("with_primary", [False, True])
def test_statement5_nodes_next_to_the_primary_share_its_field(P, default_scenario, with_primary):
    """With nodes_with_primary, a distant node at or next to the primary's level gets the
    primary's schedule and leaves the metastasis cap; one two levels away does not."""
    A = lower_arm(default_scenario, "upfront_rt")._replace(nodes_with_primary=with_primary, max_irradiated=1)
    organs = [codes.PRIMARY, codes.DISTANT_NODE, codes.DISTANT_NODE, codes.DISTANT_NODE]
    stations = [2, 1, 0, 3]
    arr, L = _lesions(P, organs, stations, [3.0, 0.5, 0.2, 0.1], [True] * 4)
    rt.plan_course(P, A, L, 4, rt.PLAN_INITIAL)
    marked = [bool(L["with_primary"][i]) for i in range(4)]
    planned = [bool(L["in_course"][i]) for i in range(4)]
    if with_primary:
        assert marked == [False, True, False, True]
        # the cap of one distant metastasis applies to the node at the neck only
        assert planned == [True, True, True, True]
        assert rt.schedule(A, L, 1)[:2] == (A.primary_dose / A.primary_fractions, A.primary_fractions)
        assert rt.schedule(A, L, 2)[:2] == (A.metastasis_dose / A.metastasis_fractions, A.metastasis_fractions)
    else:
        assert marked == [False] * 4
        assert planned == [True, True, False, False]  # the largest distant node kept
    # a later course forgets the mark
    rt.plan_course(P, A, L, 4, rt.PLAN_PROGRESSION)
    assert not any(L["with_primary"][i] for i in range(4))


# ----------------------------------------------------------------------------- no esophagus after esophagectomy


@pytest.mark.parametrize("treatment", [codes.PRIMARY_IN_PLACE, codes.PRIOR_SURGERY, codes.PRIOR_DEFINITIVE_CRT])
def test_no_esophageal_toxicity_after_esophagectomy(P, default_scenario, treatment):
    """A course to a mediastinal node: after esophagectomy no esophagitis or fistula ever (no
    esophagus), otherwise the NTCP of the esophagus dose; six toxicity draws either way."""
    R = lower_regimens(default_scenario)
    A = lower_arm(default_scenario, "upfront_rt")._replace(metastasis_dose=50.0, metastasis_fractions=5, by_site=False)
    Ph = P._replace(esophagitis_td50=30.0, fistula_td50=35.0)  # high probabilities, so a miss would show
    seen = np.zeros(2, int)
    for pid in range(300):
        arr, L = _lesions(Ph, [codes.DISTANT_NODE], [codes.STATION_LOWER_MEDIASTINUM], [math.log(3.0)], [True])
        L["in_course"][0] = True
        W = new_workspace(Ph.max_lesions, LC_RECORDS, EVENT_RECORDS)
        W.state["n"] = 1
        W.state["reg"] = -1
        W.state["primary_treatment"] = treatment
        W.state["win_end"] = np.inf  # every toxicity counts (model 9)
        rng.init_streams(3, pid, W.streams)
        rt.deliver_course(Ph, R, A, W, L)
        seen += (W.tox_seen[codes.ESOPHAGITIS], W.tox_seen[codes.FISTULA])
        ref = np.zeros_like(W.streams)
        rng.init_streams(3, pid, ref)
        for _ in range(6):
            rng.uniform(ref, rng.TOXICITY)
        assert W.streams[rng.TOXICITY] == ref[rng.TOXICITY]  # six draws, whatever happened
    if treatment == codes.PRIOR_SURGERY:
        assert seen.sum() == 0
    else:
        assert seen.min() > 30


def test_sbrt_after_esophagectomy_gives_no_esophageal_toxicity():
    """Issue 18's user scenario: SBRT 50 Gy/5 to lung and mediastinal nodes after esophagectomy
    causes no esophagitis and no esophageal fistula in any arm, while pneumonitis remains."""
    sc = load_scenario(CONFIGS / "scenarios" / "sbrt_after_esophagectomy.toml")
    res = simulate.run_scenario(sc, patients=2000, seed=7)
    for name, arm in res.arms.items():
        assert not arm.tox[:, codes.ESOPHAGITIS].any() and not arm.tox[:, codes.FISTULA].any(), name
        assert arm.tox[:, codes.PNEUMONITIS].any(), name


# ----------------------------------------------------------------------------- tumour fistula


@pytest.mark.parametrize("engine", ["numba", "reference"])
def test_tumour_fistula_of_the_primary_in_place(engine):
    """Model 4.8 in a quiet model with the primary in place and nothing else happening: the
    fistula comes at a constant hazard (its share by the horizon is 1 - exp(-lambda T), within 4
    standard errors), death follows at the exponential rate of the median survival (the mean
    time from fistula to death within 4 standard errors), and no line starts after it."""
    from conftest import quiet_scenario
    from oligosim.reference import run_scenario_reference

    lam, median = 0.02, 3.6
    sc = quiet_scenario(
        """
[arms.systemic]
first_line = "quiet"
rt_timing = "none"
""",
        {
            "cohort.presentation.synchronous": 1.0,
            "cohort.presentation.metachronous": 0.0,
            "disease.primary_doubling_months": 1.0e9,
            "locoregional.tumour_fistula_rate_per_month": lam,
            "locoregional.survival_after_tumour_fistula_months": median,
        },
    )
    n = 4000 if engine == "numba" else 500
    run = simulate.run_scenario if engine == "numba" else run_scenario_reference
    arm = run(sc, patients=n, seed=3, events=True).arms["systemic"]
    horizon = sc.data["simulation"]["horizon_months"]
    got = arm["tumour_fistula"]
    p = 1.0 - math.exp(-lam * horizon)
    assert abs(got.mean() - p) < 4.0 * math.sqrt(p * (1 - p) / n), (got.mean(), p)
    gaps, censored = [], 0
    for j in np.flatnonzero(got):
        k = int(arm["ev_n"][j])
        codes_j = list(arm.ev_code[j, :k])
        t_f = float(arm.ev_time[j, codes_j.index(codes.EV_TUMOUR_FISTULA)])
        assert codes.EV_LINE_START not in codes_j[codes_j.index(codes.EV_TUMOUR_FISTULA):]
        if arm["death_cause"][j] == codes.DEATH_DISEASE:
            gaps.append(float(arm["os"][j]) - t_f)
        else:
            censored += 1
    # exponential after the fistula, censored at the horizon: the rate is deaths / time at risk
    deaths = len(gaps)
    at_risk = sum(gaps) + sum(horizon - float(arm.ev_time[j, list(arm.ev_code[j, : int(arm["ev_n"][j])]).index(codes.EV_TUMOUR_FISTULA)])
                              for j in np.flatnonzero(got) if arm["death_cause"][j] != codes.DEATH_DISEASE)
    rate = math.log(2.0) / median
    assert abs(deaths / at_risk - rate) < 4.0 * rate / math.sqrt(max(deaths, 1))
