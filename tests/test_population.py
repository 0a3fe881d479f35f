"""Populations as papers describe them (issue 25 item 4; docs/model.md 3.2, 3.4): lesion sizes by
organ, the nodal station mix, node counts with adjacency and eligibility by exclusion.

Distributions are checked on the kernel's own draws at fixed seeds (tolerances from standard
errors or a KS test); eligibility rules on every accepted patient of both engines.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import rng
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.config import ConfigError, load_scenario
from oligosim.definitions import is_oligometastatic
from oligosim.lowering import lower_model
from oligosim.reference import cohort as R
from oligosim.results import EVENT_RECORDS, LC_RECORDS

from conftest import CONFIGS

STATIONS = codes.STATION_NAMES


@pytest.fixture(scope="module")
def base():
    return load_scenario(CONFIGS / "default.toml")


def _kernel_draws(P, n, seed, eligible):
    """``n`` kernel patients (``eligible``: redrawn until eligible; else one raw draw each) as
    lists of (organ, subsite, diameter cm, visible) per patient, and the histology and presentation."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    arr = new_lesions(P.max_lesions)
    L = arr[0]
    out = []
    for pid in range(n):
        rng.init_streams(seed, pid, W.streams)
        k = C.draw_patient(P, W, L) if eligible else C._draw_once(P, W.streams, W.state[0], L)
        assert k >= 0
        st = W.state[0]
        les = [
            (int(L["organ"][i]), int(L["subsite"][i]), C.diameter_of_logv(float(L["logv"][i])), bool(L["logv"][i] >= L["det_logv"][i]))
            for i in range(k) if L["status"][i] == C.ACTIVE
        ]
        out.append((les, int(st["histology"]), int(st["presentation"])))
    return out


def _reference_draws(P, n, seed):
    out = []
    for pid in range(n):
        pat, lesions = R.draw_cohort_patient(P, seed, pid)
        assert lesions is not None
        les = [(les.organ, les.subsite, R.diameter_of_logv(les.logv), les.visible) for les in lesions if les.active]
        out.append((les, pat.histology, pat.presentation))
    return out


def _visible_nodes(les, scope_all=False):
    kinds = (codes.DISTANT_NODE, codes.REGIONAL_NODE) if scope_all else (codes.DISTANT_NODE,)
    return [s for o, s, _, vis in les if vis and o in kinds]


# ----------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    "values,key,words",
    [
        ({"cohort.eligibility.exclude_definition": "escc"}, "cohort.eligibility.exclude_definition", "definition = 'none'"),
        ({"cohort.lesions.diameter_by_organ": {"kidney": {"median_cm": 1.0, "sdlog": 0.3}}}, "cohort.lesions.diameter_by_organ.kidney", "names must match"),
        ({"cohort.lesions.diameter_by_organ": {"liver": {"median_cm": 1.0}}}, "cohort.lesions.diameter_by_organ.liver.sdlog", "missing"),
        ({"cohort.lesions.diameter_by_organ": {"liver": {"median_cm": 0.0, "sdlog": 0.3}}}, "cohort.lesions.diameter_by_organ.liver.median_cm", "0"),
        ({f"cohort.lesions.distant_node_stations.{s}": 0.0 for s in STATIONS}, "cohort.lesions.distant_node_stations", "at least one weight"),
        ({"cohort.eligibility.max_node_span_stations": 5}, "cohort.eligibility.max_node_span_stations", "5"),
        ({"cohort.eligibility.max_diameter_by_organ_cm": {"primary": 3.0}}, "cohort.eligibility.max_diameter_by_organ_cm.primary", "names must match"),
        ({"cohort.eligibility.node_rule_nodes": "regional"}, "cohort.eligibility.node_rule_nodes", "regional"),
    ],
)
def test_bad_population_keys_name_key_value_and_rule(base, values, key, words):
    with pytest.raises(ConfigError) as err:
        base.with_values(values)
    msg = str(err.value)
    assert key in msg and words in msg, msg


def test_defaults_lower_to_the_common_size_and_uniform_stations(base):
    """Off by default: every organ takes the common lognormal, the stations are uniform and the
    node rule, the per-organ limits and the exclusion are off."""
    P = lower_model(base)
    pop, E = P.pop[0], P.elig[0]
    assert np.all(pop["logd_median"] == P.macro_logd_median) and np.all(pop["logd_sd"] == P.macro_logd_sd)
    assert list(pop["station_cum_distant"]) == [0.25, 0.5, 0.75, 1.0] == list(pop["station_cum_regional"])
    assert np.all(E["max_diameter_organ"] == E["max_diameter"])
    assert E["max_nodes"] >= P.max_lesions and E["node_span"] == codes.N_STATIONS and E["exclude_definition"] == -1


def test_uniform_station_mix_draws_the_stations_of_before(base):
    """The station of a node is the first cumulative share above u; with equal shares it is
    int(4 u) for every u (the rule before), including the boundaries."""
    P = lower_model(base)
    cum = P.pop[0]["station_cum_distant"]
    for u in np.concatenate([np.linspace(0.0, 1.0, 4001)[:-1], [0.25, 0.5, 0.75, np.nextafter(0.25, 0), np.nextafter(1.0, 0)]]):
        assert C.level_of(cum, u) == min(int(u * 4), 3)


# ----------------------------------------------------------------------------- sizes and stations


def test_lesion_diameters_follow_each_organs_lognormal(base):
    """The macroscopic lesions of an organ with its own size are lognormal with its median and
    sdlog (KS test at a fixed seed), and the other organs keep the common one."""
    sc = base.with_values({
        "cohort.lesions.occult_mean": 0.0, "cohort.lesions.regional_nodes_mean": 0.0,
        "locoregional.occult_regional_nodes_mean_synchronous": 0.0, "cohort.lesions.extra_macroscopic_mean": 2.0,
        "cohort.lesions.diameter_by_organ": {"liver": {"median_cm": 3.0, "sdlog": 0.6}, "lung": {"median_cm": 0.9, "sdlog": 0.2}},
    })
    P = lower_model(sc)
    draws = _kernel_draws(P, 3000, seed=17, eligible=False)
    by_organ: dict[int, list[float]] = {}
    for les, _, _ in draws:
        for o, _, d, _ in les:
            by_organ.setdefault(o, []).append(d)
    common = (base.data["cohort"]["lesions"]["macroscopic_diameter_median_cm"], base.data["cohort"]["lesions"]["macroscopic_diameter_sdlog"])
    for organ, (median, sdlog) in ((codes.LIVER, (3.0, 0.6)), (codes.LUNG, (0.9, 0.2)), (codes.BONE, common)):
        d = np.array(by_organ[organ])
        assert d.size > 300
        p = stats.kstest(d, stats.lognorm(s=sdlog, scale=median).cdf).pvalue
        assert p > 1e-3, (codes.ORGAN_NAMES[organ], d.size, p)
    # and the lung's is not the liver's
    assert stats.kstest(np.array(by_organ[codes.LUNG]), stats.lognorm(s=0.6, scale=3.0).cdf).pvalue < 1e-6


def test_node_stations_follow_the_station_mix(base):
    """Distant and regional nodes fall in each station with its normalised weight (within 4 se)."""
    dist, reg = (4.0, 1.0, 3.0, 2.0), (0.0, 1.0, 1.0, 0.0)
    values = {f"cohort.lesions.distant_node_stations.{s}": w for s, w in zip(STATIONS, dist)}
    values |= {f"cohort.lesions.regional_node_stations.{s}": w for s, w in zip(STATIONS, reg)}
    values |= {"cohort.lesions.occult_mean": 0.0, "locoregional.occult_regional_nodes_mean_synchronous": 0.0}
    P = lower_model(base.with_values(values))
    draws = _kernel_draws(P, 3000, seed=23, eligible=False)
    for organ, w in ((codes.DISTANT_NODE, dist), (codes.REGIONAL_NODE, reg)):
        st = np.array([s for les, _, _ in draws for o, s, _, _ in les if o == organ])
        n = st.size
        assert n > 500
        for k, wk in enumerate(w):
            p = wk / sum(w)
            got = np.mean(st == k)
            se = math.sqrt(max(p * (1 - p), 1e-12) / n)
            assert abs(got - p) <= 4 * se, (codes.ORGAN_NAMES[organ], STATIONS[k], got, p)


# ----------------------------------------------------------------------------- eligibility


def _node_rule_scenario(base, scope="distant"):
    """Mostly nodal disease (distant nodes weighted up) so that the rule binds often."""
    return base.with_values({
        "cohort.lesions.organ_weights_escc.distant_node": 3.0, "cohort.lesions.extra_macroscopic_mean": 2.0,
        "cohort.eligibility.max_nodes": 2, "cohort.eligibility.max_node_span_stations": 2,
        "cohort.eligibility.node_rule_nodes": scope,
    })


@pytest.mark.parametrize("scope", ["distant", "all"])
def test_every_eligible_patient_has_one_node_or_two_adjacent(base, scope):
    """'One node, or two adjacent': every accepted patient of both engines has at most two
    visible nodes (of the scope), in one station or two adjacent ones; without the rule many
    patients break it, so the rule binds."""
    sc = _node_rule_scenario(base, scope)
    P = lower_model(sc)
    for draws in (_kernel_draws(P, 600, seed=5, eligible=True), _reference_draws(P, 200, seed=5)):
        for les, _, _ in draws:
            st = _visible_nodes(les, scope == "all")
            assert len(st) <= 2 and (not st or max(st) - min(st) <= 1), les
    loose = lower_model(sc.with_values({"cohort.eligibility.max_nodes": codes.LESION_CAP_MAX, "cohort.eligibility.max_node_span_stations": 4}))
    broken = [
        les for les, _, _ in _kernel_draws(loose, 600, seed=5, eligible=True)
        if (st := _visible_nodes(les, scope == "all")) and (len(st) > 2 or max(st) - min(st) > 1)
    ]
    assert len(broken) > 30


@pytest.mark.parametrize(
    "organs,stations,max_nodes,span,scope_all,ok",
    [
        ([], [], 2, 2, False, True),
        ([codes.DISTANT_NODE], [3], 1, 1, False, True),
        ([codes.DISTANT_NODE, codes.DISTANT_NODE], [1, 2], 2, 2, False, True),
        ([codes.DISTANT_NODE, codes.DISTANT_NODE], [1, 3], 2, 2, False, False),  # not adjacent
        ([codes.DISTANT_NODE, codes.DISTANT_NODE], [1, 2], 2, 1, False, False),  # one station only
        ([codes.DISTANT_NODE] * 3, [2, 2, 2], 2, 1, False, False),  # three nodes
        ([codes.DISTANT_NODE, codes.REGIONAL_NODE], [0, 3], 2, 2, False, True),  # regional not counted
        ([codes.DISTANT_NODE, codes.REGIONAL_NODE], [0, 3], 2, 2, True, False),
        ([codes.LIVER, codes.DISTANT_NODE, codes.LUNG], [1, 0, 1], 1, 1, False, True),
    ],
)
def test_node_rule_in_both_engines(base, organs, stations, max_nodes, span, scope_all, ok):
    E = lower_model(base).elig.copy()
    E[0]["max_nodes"], E[0]["node_span"], E[0]["node_scope_all"] = max_nodes, span, scope_all
    organ, sub = np.array(organs + [0] * 4, dtype=np.int64), np.array(stations + [0] * 4, dtype=np.int64)
    assert C.nodes_within_rule(E[0], organ, sub, len(organs)) is ok
    assert R.nodes_within_rule(E[0], organ[: len(organs)], sub[: len(organs)]) is ok


def test_per_organ_diameter_limits(base):
    """'Every lesion <= 5 cm, brain <= 3 cm': no accepted patient of either engine has a larger
    visible lesion, and the organ limit binds where the common one does not."""
    sc = base.with_values({
        "cohort.lesions.diameter_by_organ": {"liver": {"median_cm": 3.5, "sdlog": 0.5}},
        "cohort.eligibility.max_diameter_cm": 5.0, "cohort.eligibility.max_diameter_by_organ_cm": {"liver": 3.0},
    })
    P = lower_model(sc)
    for draws in (_kernel_draws(P, 600, seed=9, eligible=True), _reference_draws(P, 200, seed=9)):
        for les, _, _ in draws:
            for o, _, d, vis in les:
                if vis and o != codes.PRIMARY:
                    assert d <= (3.0 if o == codes.LIVER else 5.0), (codes.ORGAN_NAMES[o], d)
    loose = lower_model(sc.with_values({"cohort.eligibility.max_diameter_by_organ_cm": {}}))
    big = sum(any(vis and o == codes.LIVER and d > 3.0 for o, _, d, vis in les) for les, _, _ in _kernel_draws(loose, 600, seed=9, eligible=True))
    assert big > 30


@pytest.mark.parametrize("definition,eac", [("histology", 0.3), ("escc", 0.0)])
def test_every_excluded_cohort_patient_is_not_oligometastatic(base, definition, eac):
    """A polymetastatic comparison cohort: every accepted patient of both engines has visible
    disease that is NOT oligometastatic under the named definition (and has some)."""
    sc = base.with_values({
        "cohort.eac_fraction": eac, "cohort.eligibility.definition": "none", "cohort.eligibility.exclude_definition": definition,
        "cohort.eligibility.max_lesions": 20, "cohort.eligibility.max_organs": 8, "cohort.lesions.extra_macroscopic_mean": 4.0,
    })
    P = lower_model(sc)
    n_lesions = []
    for draws in (_kernel_draws(P, 600, seed=3, eligible=True), _reference_draws(P, 200, seed=3)):
        for les, hist, pres in draws:
            vis = [(o, s) for o, s, _, v in les if v and o != codes.PRIMARY]
            organ = np.array([o for o, _ in vis] + [0], dtype=np.int64)
            sub = np.array([s for _, s in vis] + [0], dtype=np.int64)
            h = hist if definition == "histology" else codes.ESCC
            assert len(vis) >= 1
            assert not is_oligometastatic(h, organ, sub, len(vis), pres != codes.SYNCHRONOUS, False, False, True)
            n_lesions.append(len(vis))
    # the same scenario with the definition as an inclusion gives the complement: all oligometastatic
    inc = lower_model(sc.with_values({"cohort.eligibility.exclude_definition": "none", "cohort.eligibility.definition": definition}))
    for les, hist, pres in _kernel_draws(inc, 200, seed=3, eligible=True):
        vis = [(o, s) for o, s, _, v in les if v and o != codes.PRIMARY]
        organ = np.array([o for o, _ in vis] + [0], dtype=np.int64)
        sub = np.array([s for _, s in vis] + [0], dtype=np.int64)
        h = hist if definition == "histology" else codes.ESCC
        assert is_oligometastatic(h, organ, sub, len(vis), pres != codes.SYNCHRONOUS, False, False, True)


@pytest.mark.parametrize(
    "organs,stations,span,merged",
    [
        ([codes.DISTANT_NODE] * 2, [0, 1], 2, [0, 0]),
        ([codes.DISTANT_NODE] * 3, [2, 0, 1], 2, [2, 0, 0]),  # runs from the lowest station up: {0, 1}, {2}
        ([codes.DISTANT_NODE] * 2, [1, 3], 2, [1, 3]),  # not adjacent
        ([codes.DISTANT_NODE] * 4, [3, 2, 1, 0], 4, [0, 0, 0, 0]),
        ([codes.DISTANT_NODE] * 3, [0, 1, 3], 3, [0, 0, 3]),
        ([codes.LUNG, codes.DISTANT_NODE, codes.REGIONAL_NODE, codes.DISTANT_NODE], [1, 3, 2, 2], 2, [1, 2, 2, 2]),  # only distant nodes move
        ([codes.DISTANT_NODE] * 2, [0, 1], 1, [0, 1]),  # 1: statement 1's count by station
    ],
)
def test_node_sites_merge_adjacent_stations_in_both_engines(organs, stations, span, merged):
    organ, sub = np.array(organs, dtype=np.int64), np.array(stations, dtype=np.int64)
    assert list(R.merged_node_sites(organ, sub, span)) == merged
    buf = sub.copy()
    if span > 1:
        C.merge_node_sites(organ, buf, len(organs), span)
    assert list(buf) == merged


def test_adjacent_nodes_count_as_one_site(base):
    """'At most one lesion, nodes in adjacent stations counted as one': every accepted patient of
    both engines has its visible distant nodes in one station or two adjacent ones and nothing
    else counted; some have two stations, which statement 1's count by station refuses."""
    sc = base.with_values({
        "cohort.presentation.synchronous": 0.0, "cohort.presentation.metachronous": 1.0,
        "cohort.lesions.organ_weights_escc.distant_node": 3.0, "cohort.lesions.extra_macroscopic_mean": 1.5,
        "cohort.eligibility.organs": ["distant_node"], "cohort.eligibility.max_lesions": 1,
        "cohort.eligibility.node_site_stations": 2, "cohort.eligibility.definition": "none",
    })
    P = lower_model(sc)
    two = 0
    for draws in (_kernel_draws(P, 600, seed=4, eligible=True), _reference_draws(P, 200, seed=4)):
        for les, _, _ in draws:
            st = _visible_nodes(les)
            assert st and max(st) - min(st) <= 1, les
            assert not [o for o, _, _, v in les if v and o not in (codes.DISTANT_NODE, codes.PRIMARY, codes.REGIONAL_NODE)]
            two += max(st) > min(st)
    assert two > 20
    by_station = lower_model(sc.with_values({"cohort.eligibility.node_site_stations": 1}))
    for les, _, _ in _kernel_draws(by_station, 300, seed=4, eligible=True):
        assert len(set(_visible_nodes(les))) == 1
