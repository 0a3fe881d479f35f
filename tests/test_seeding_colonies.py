"""Seeding colonies (model 4.2): one seeding event creates 1 + a negative-binomial count of
metastases in one organ (`disease.seeding_cluster_mean`, `disease.seeding_cluster_dispersion`).

Tested here: both engines' count against scipy's negative-binomial quantile function; the
kernel's seeding handler exactly (the count is the quantile of the SEEDING stream's second draw,
every lesion of the colony in the seeded organ, the cap turning the rest into uncounted disease);
the colony sizes of whole simulated courses against the distribution (mean within 4 standard
errors, chi-square); and common random numbers (patients who never seed are untouched).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from oligosim import codes, simulate
from oligosim._kernels import cohort as C
from oligosim._kernels import handlers, rng
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.lowering import lower_model, lower_regimens
from oligosim.reference.streams import negative_binomial_ppf as reference_ppf
from oligosim.results import EVENT_RECORDS, LC_RECORDS


@pytest.mark.parametrize("mean,size", [(0.5, 1.0), (2.0, 1.0), (3.0, 0.4), (1.2, 5.0)])
def test_count_is_the_negative_binomial_quantile(mean, size):
    """Both engines' sequential search gives scipy's quantile (the smallest count whose CDF
    reaches u), away from the CDF's steps where rounding could decide."""
    dist = stats.nbinom(size, size / (size + mean))
    us = np.linspace(0.0005, 0.9995, 400)
    want = dist.ppf(us).astype(int)
    steps = dist.cdf(want)
    away = np.abs(steps - us) > 1e-9
    ker = np.array([rng.negative_binomial_ppf(u, mean, size, 1000) for u in us])
    ref = np.array([reference_ppf(float(u), mean, size, 1000) for u in us])
    np.testing.assert_array_equal(ker[away], want[away])
    np.testing.assert_array_equal(ref, ker)
    assert rng.negative_binomial_ppf(0.99, 0.0, 1.0, 1000) == 0
    assert rng.negative_binomial_ppf(0.9999999, 50.0, 0.2, 7) == 7  # the cap


def _one_lesion_workspace(P, seed, pid):
    """A patient with one active liver metastasis (no locoregional disease, so the organ of a new
    deposit takes one LESION draw) at t = 2 months, streams at their start."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    st = W.state
    st["n"] = 1
    st["t"] = 2.0
    st["reg"] = -1
    st["line_on"] = False
    st["histology"] = codes.ESCC
    st["growth"] = 0.3
    L["organ"][0] = codes.LIVER
    L["status"][0] = C.ACTIVE
    L["logv"][0] = math.log(2.0)
    rng.init_streams(seed, pid, W.streams)
    return W, L


@pytest.mark.parametrize("cap", [32, 4])
def test_seeding_handler_makes_a_colony_in_one_organ(default_scenario, cap):
    """Exact, patient by patient: the number of new lesions is 1 + the quantile of the SEEDING
    stream's second uniform (the first is the next threshold), all in one organ; beyond the cap
    the patient is marked as having uncounted disease and stops seeding."""
    # diffuse disease off (a seeding event could start it instead) and uncounted disease frozen
    # (growing, the overflow adds the aggregate in slot cap): the handler's lesion path alone
    sc = default_scenario.with_values({"disease.diffuse.enabled": False, "disease.uncounted_disease": "frozen"})
    P = lower_model(sc)._replace(cluster_extra_mean=2.0, cluster_size=1.0, max_lesions=cap)
    R = lower_regimens(default_scenario)
    overflowed = 0
    for pid in range(300):
        W, L = _one_lesion_workspace(P, 5, pid)
        handlers.on_seeding(P, R, W, L)
        u = rng.uniforms(5, pid, rng.SEEDING, 2)[1]
        extra = int(stats.nbinom(1.0, 1.0 / 3.0).ppf(u))
        want = 1 + extra
        st = W.state[0]
        made = min(want, cap - 1)
        assert st["n"] == 1 + made, f"patient {pid}: {st['n'] - 1} lesions, want {made}"
        organs = set(L["organ"][1 : 1 + made].tolist())
        assert len(organs) == 1 and (L["status"][1 : 1 + made] == C.ACTIVE).all()
        if want > cap - 1:
            overflowed += 1
            assert st["overflow"] == 1 and st["e_seed"] == math.inf
        else:
            assert st["overflow"] == 0 and st["e_seed"] < math.inf
    if cap == 4:
        assert overflowed > 30  # P(extra >= 3) = (2/3)^3, about 90 of 300


def _colony_sizes(arm) -> np.ndarray:
    """Sizes of the groups of new-lesion events logged at one time (one seeding event each;
    two events at the same time have probability 0), over all patients."""
    sizes = []
    for j in range(arm.n):
        k = arm["ev_n"][j]
        code, t = arm.ev_code[j, :k], arm.ev_time[j, :k]
        times = t[code == codes.EV_NEW_LESION]
        if times.size:
            _, counts = np.unique(times, return_counts=True)
            sizes.extend(counts.tolist())
    return np.array(sizes)


def _seeding_scenario(sc):
    """No occult disease at entry and a high seeding rate: the progressions are seeded."""
    return sc.with_values(
        {"cohort.lesions.occult_mean": 0.0, "locoregional.occult_regional_nodes_mean_synchronous": 0.0,
         "disease.seeding_rate_per_cm3_month": 0.06, "simulation.max_lesions": 64}
    )


@pytest.fixture(scope="module")
def colony_runs(default_scenario):
    base = _seeding_scenario(default_scenario)
    on = base.with_values({"disease.seeding_cluster_mean": 2.5, "disease.seeding_cluster_dispersion": 1.0})
    kw = dict(patients=1500, seed=9, arms=["systemic_only"], events=True)
    return simulate.run_scenario(base, **kw).arms["systemic_only"], simulate.run_scenario(on, **kw).arms["systemic_only"]


def test_colony_sizes_follow_the_distribution(colony_runs):
    """Logged colony sizes: 1 + NB(mean 1.5, size 1), mean within 4 standard errors and a
    chi-square test over sizes 1-5 and 6+ (p > 1e-3); without colonies every event makes one
    lesion. Colonies stopped by the cap are fewer than 1% here (cap 64) and the event log keeps
    the first events of a course, so the sample is the distribution, not its truncation."""
    off, on = colony_runs
    s0 = _colony_sizes(off)
    assert s0.size > 300 and (s0 == 1).all()
    s = _colony_sizes(on)
    assert s.size > 300
    dist = stats.nbinom(1.0, 1.0 / 2.5)
    se = math.sqrt(dist.var() / s.size)
    assert abs(s.mean() - 2.5) < 4 * se, f"mean colony {s.mean():.3f} vs 2.5 (se {se:.3f}, {s.size} colonies)"
    obs = np.array([np.sum(s == k) for k in range(1, 6)] + [np.sum(s >= 6)])
    p = np.array([dist.pmf(k - 1) for k in range(1, 6)] + [dist.sf(4)])
    assert stats.chisquare(obs, p * s.size).pvalue > 1e-3


def test_patients_who_never_seed_are_untouched(colony_runs):
    """Common random numbers: a patient whose course has no seeding event without colonies has
    none with them either, and the same course, column by column."""
    off, on = colony_runs
    never = np.array([not np.any(off.ev_code[j, : off["ev_n"][j]] == codes.EV_NEW_LESION) for j in range(off.n)])
    assert 0.1 < never.mean() < 0.95
    for col, v0 in off.columns.items():
        v1 = on.columns[col]
        same = (v0 == v1) | (np.isnan(v0) & np.isnan(v1)) if v0.dtype.kind == "f" else v0 == v1
        assert same[never].all(), f"{col} changed for {int((~same[never]).sum())} patients who never seed"
