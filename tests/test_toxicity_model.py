"""Toxicity as trials count it and RT schedules by site (model 6.1, 6.5, 9), against closed forms.

* The Gaussian copula that ties a line's toxicities: the kernel's and the reference's
  ``correlated_uniform`` are the same function, and the joint rate of two correlated events is
  the bivariate normal orthant probability.
* A line's grade >= 3 events drawn by ``systemic.start_line``: each type keeps its own per-line
  probability, and leukopenia with neutropenia co-occur as the copula says.
* The counting window: which states count as the protocol treatment, when the window closes,
  and that an event outside it is logged but not counted.
* Schedules by site in both engines, and the rules that keep a schedule key from being ignored.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from oligosim import codes
from oligosim._kernels import rng, rt, systemic, toxicity
from oligosim._kernels.state import INF, LINE_AFTER_RT, LINE_NONE, S_CONSOLIDATION, S_RT_END, S_RT_START, new_lesions, new_workspace
from oligosim.config import ConfigError, load_scenario
from oligosim.config.schedules import SCHEDULES
from oligosim.lowering import lower_arm, lower_model, lower_regimens, regimen_names
from oligosim.reference import rt as reference_rt
from oligosim.reference import toxicity as reference_toxicity
from oligosim.results import EVENT_RECORDS, LC_RECORDS

from conftest import make_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lowered(default_scenario):
    sc = default_scenario
    return lower_model(sc), lower_regimens(sc), lower_arm(sc, "upfront_rt")


# ----------------------------------------------------------------------------- the copula


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.7, 0.95, 1.0])
def test_copula_is_the_same_function_in_both_engines(rho):
    u = np.linspace(0.001, 0.999, 37)
    for z in (-2.5, -0.3, 0.0, 1.1):
        for x in u:
            a = toxicity.correlated_uniform(z, x, rho)
            b = reference_toxicity.correlated_uniform(z, x, rho)
            assert abs(a - b) < 1e-12
    assert toxicity.correlated_uniform(0.4, 0.123, 0.0) == 0.123  # independent: the own draw


@pytest.mark.parametrize("rho,p1,p2", [(0.0, 0.3, 0.4), (0.6, 0.3, 0.4), (0.95, 0.385, 0.41), (0.9, 0.05, 0.3)])
def test_copula_joint_rate_is_the_bivariate_normal_orthant(rho, p1, p2):
    """P(U1 < p1, copula(U1, U2) < p2) = Phi2(Phi^-1(p1), Phi^-1(p2); rho): the closed form of a
    Gaussian copula, against 200,000 pairs (4 binomial SE)."""
    n = 200_000
    u1 = rng.uniforms(5, 0, rng.TOXICITY, n)
    u2 = rng.uniforms(5, 1, rng.TOXICITY, n)
    z1 = stats.norm.ppf(u1)
    v = np.array([toxicity.correlated_uniform(z, x, rho) for z, x in zip(z1, u2)])
    both = np.mean((u1 < p1) & (v < p2))
    exact = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([stats.norm.ppf(p1), stats.norm.ppf(p2)])
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(both - exact) <= 4 * se, (both, exact)
    # the margin is untouched: still uniform
    assert abs(np.mean(v < p2) - p2) <= 4 * math.sqrt(p2 * (1 - p2) / n)


def _line_events(P, R, A, reg, n):
    """Which grade >= 3 toxicities ``start_line`` books for ``n`` patients' first line (a patient
    of the series' age mix: odds ratio 1)."""
    tx = P.tx.copy()
    tx[0]["elderly_or"] = 1.0
    P = P._replace(tx=tx)
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    out = np.zeros((n, codes.N_SYSTEMIC_TYPES), bool)
    for pid in range(n):
        rng.init_streams(11, pid, W.streams)
        st = W.state
        st["t"] = 0.0
        st["n"] = 0
        st["paused"] = False
        st["win_end"] = INF
        W.slot[:] = INF
        systemic.start_line(P, R, A, W, L, 1, reg)
        out[pid] = np.isfinite(W.tox_time[: codes.N_SYSTEMIC_TYPES])
    return out


def test_line_toxicities_keep_their_rates_and_cluster(lowered):
    """Each type of a line keeps its per-line probability (the copula keeps margins), and
    leukopenia and neutropenia co-occur at the bivariate normal rate of cytopenia_correlation,
    far above independence."""
    P, R, A = lowered
    reg = regimen_names(load_scenario(ROOT / "configs" / "default.toml")).index("tp_pd1")
    n = 20_000
    ev = _line_events(P, R, A, reg, n)
    for k in range(codes.N_SYSTEMIC_TYPES):
        p = R.tox[reg, k]
        assert abs(ev[:, k].mean() - p) <= 4 * math.sqrt(max(p * (1 - p), 1e-9) / n) + 1e-12, codes.TOX_NAMES[k]
    pl, pn = R.tox[reg, codes.LEUKOPENIA], R.tox[reg, codes.NEUTROPENIA]
    rho = P.tx[0]["cyto_rho"]
    both = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([stats.norm.ppf(pl), stats.norm.ppf(pn)])
    seen = np.mean(ev[:, codes.LEUKOPENIA] & ev[:, codes.NEUTROPENIA])
    assert abs(seen - both) <= 4 * math.sqrt(both * (1 - both) / n)
    assert seen > pl * pn + 0.1


# ----------------------------------------------------------------------------- the counting window


def _state(P):
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    st = W.state
    st["t"] = 5.0
    st["line"] = 0
    st["line_on"] = False
    st["first_line_at"] = LINE_NONE
    st["course_mode"] = rt.PLAN_INITIAL
    st["win_end"] = INF
    st["ev_n"] = 0
    W.slot[:] = INF
    return W


def test_protocol_is_open_while_its_treatment_goes_on(lowered):
    P, _, _ = lowered
    W = _state(P)
    assert not toxicity.protocol_open(W, W.state[0])
    W.state["line"], W.state["line_on"] = 1, True
    assert toxicity.protocol_open(W, W.state[0])  # the first line on
    W.state["line"] = 2
    assert not toxicity.protocol_open(W, W.state[0])  # a later line is not the protocol's
    W.state["line_on"] = False
    W.state["first_line_at"] = LINE_AFTER_RT
    assert toxicity.protocol_open(W, W.state[0])  # the first line still to start
    W.state["first_line_at"] = LINE_NONE
    for s in (S_RT_START, S_RT_END):
        W.slot[s] = 6.0
        assert toxicity.protocol_open(W, W.state[0])  # a course of the initial plan
        W.state["course_mode"] = rt.PLAN_PROGRESSION
        assert not toxicity.protocol_open(W, W.state[0])  # a course at progression is not
        W.state["course_mode"] = rt.PLAN_INITIAL
        W.slot[s] = INF
    W.slot[S_CONSOLIDATION] = 7.0
    assert toxicity.protocol_open(W, W.state[0])


def test_window_closes_its_length_after_the_protocol_and_at_a_new_therapy(lowered):
    P, _, _ = lowered
    window = P.tx[0]["window"]
    assert window == pytest.approx(90.0 / (365.25 / 12.0))
    W = _state(P)
    W.state["line"], W.state["line_on"] = 1, True
    toxicity.update_window(P, W)
    assert W.state[0]["win_end"] == INF  # still open
    W.state["line_on"] = False
    toxicity.update_window(P, W)
    assert W.state[0]["win_end"] == pytest.approx(5.0 + window)
    W.state["t"] = 6.0
    toxicity.update_window(P, W)
    assert W.state[0]["win_end"] == pytest.approx(5.0 + window)  # closes once, not again
    toxicity.close_window_now(W)
    assert W.state[0]["win_end"] == 6.0
    W.state["t"] = 7.0
    toxicity.close_window_now(W)  # a later new therapy does not reopen it
    assert W.state[0]["win_end"] == 6.0


@pytest.mark.parametrize("protocol", [True, False])
def test_an_event_outside_the_window_is_logged_not_counted(lowered, protocol):
    P, _, _ = lowered
    tx = P.tx.copy()
    tx[0]["protocol_window"] = protocol
    P = P._replace(tx=tx)
    W = _state(P)
    W.state["win_end"] = 5.0
    toxicity.record(P, W, codes.FISTULA)  # at the window's last moment: counts
    assert W.tox_seen[codes.FISTULA]
    W.state["t"] = 5.5
    toxicity.record(P, W, codes.PNEUMONITIS)
    assert W.tox_seen[codes.PNEUMONITIS] == (not protocol)
    assert W.state[0]["ev_n"] == 2
    assert list(W.ev_code[:2]) == [codes.EV_TOXICITY, codes.EV_TOXICITY]
    assert list(W.ev_detail[:2]) == [codes.FISTULA, codes.PNEUMONITIS]


def test_whole_course_counting_counts_a_superset_and_changes_no_course(default_scenario):
    """Same seed, the two counting rules: the same courses (every event), and every toxicity the
    protocol window counts is counted over the whole course too, which counts some more."""
    from oligosim import simulate

    arms = ["systemic_only", "concurrent"]
    a = simulate.run_scenario(default_scenario, patients=400, seed=3, arms=arms, events=True)
    b = simulate.run_scenario(default_scenario.with_values({"toxicity.counting": "whole_course"}), patients=400, seed=3, arms=arms, events=True)
    for name in arms:
        x, y = a.arms[name], b.arms[name]
        np.testing.assert_array_equal(x.ev_code, y.ev_code)
        np.testing.assert_array_equal(x.ev_time, y.ev_time)
        assert np.all(y.tox >= x.tox)
        assert np.count_nonzero(y.tox) > np.count_nonzero(x.tox)


# ----------------------------------------------------------------------------- schedules by site


def _lesions(organ, subsite):
    L = new_lesions(4)[0]
    L["organ"][0] = organ
    L["subsite"][0] = subsite
    L["with_primary"][0] = False
    L["irradiated"][0] = 0
    return L


class _Lesion:
    def __init__(self, organ, subsite):
        self.organ, self.subsite, self.with_primary, self.irradiated = organ, subsite, False, 0


@pytest.mark.parametrize(
    "organ,subsite,site",
    [
        (codes.LUNG, 1, "lung"),
        (codes.LIVER, 0, "liver"),
        (codes.BRAIN, 0, "brain"),
        (codes.DISTANT_NODE, codes.STATION_UPPER_MEDIASTINUM, "node_upper_mediastinum"),
        (codes.DISTANT_NODE, codes.STATION_NECK, "node_neck"),
        (codes.DISTANT_NODE, codes.STATION_ABDOMINAL, "node_abdominal"),
    ],
)
def test_each_metastasis_gets_its_sites_schedule_in_both_engines(default_scenario, organ, subsite, site):
    sc = default_scenario.with_values({"arms.upfront_rt.site_schedules.brain": {"dose_gy": 27.0, "fractions": 3}})
    A = lower_arm(sc, "upfront_rt")
    assert A.by_site
    table = sc.data["radiotherapy"]["schedules"][site]
    dose, k = (27.0, 3) if site == "brain" else (table["dose_gy"], table["fractions"])
    # (dose per fraction, fractions, fractions a day, theta tumour, theta late): one a day here
    d_k, k_k, *daily_k = rt.schedule(A, _lesions(organ, subsite), 0)
    d_r, k_r, *daily_r = reference_rt.schedule_of(A, _Lesion(organ, subsite))
    assert (k_k, k_r) == (k, k)
    assert d_k == pytest.approx(dose / k) and d_r == pytest.approx(dose / k)
    assert daily_k == daily_r == [1, 0.0, 0.0]
    # the primary keeps its own schedule; a uniform arm gives every metastasis the same one
    assert rt.schedule(A, _lesions(codes.PRIMARY, 2), 0)[:2] == (A.primary_dose / A.primary_fractions, A.primary_fractions)
    U = lower_arm(default_scenario, "systemic_only")
    assert not U.by_site
    assert rt.schedule(U, _lesions(organ, subsite), 0)[:2] == (U.metastasis_dose / U.metastasis_fractions, U.metastasis_fractions)


def test_mediastinal_nodes_are_treated_conventionally_by_default():
    """Statement 7: next to the esophagus, conventional fractionation; elsewhere SBRT."""
    d = SCHEDULES.fields
    for site in ("node_upper_mediastinum", "node_lower_mediastinum"):
        assert d[site].fields["dose_gy"].default / d[site].fields["fractions"].default <= 2.0
    for site in ("lung", "liver", "adrenal", "node_neck"):
        assert d[site].fields["fractions"].default <= 5 and d[site].fields["dose_gy"].default / d[site].fields["fractions"].default >= 7.0


def test_base_toml_schedules_are_the_schema_defaults():
    """configs/base.toml shows the per-site table for users to see and edit; it must say what
    the schema's documented defaults say."""
    with open(ROOT / "configs" / "base.toml", "rb") as f:
        table = tomllib.load(f)["radiotherapy"]["schedules"]
    assert set(table) == set(codes.SITE_NAMES)
    for site, node in SCHEDULES.fields.items():
        assert table[site] == {"dose_gy": node.fields["dose_gy"].default, "fractions": node.fields["fractions"].default}, site


@pytest.mark.parametrize(
    "arm_text,key,rule",
    [
        ('metastasis_schedule = "by_site"\nmetastasis_dose_gy = 30.0', "arms.a.metastasis_dose_gy", "is not used with metastasis_schedule = by_site"),
        ('metastasis_schedule = "by_site"\nmetastasis_fractions = 3', "arms.a.metastasis_fractions", "is not used with metastasis_schedule = by_site"),
        ("site_schedules.lung = { dose_gy = 60.0, fractions = 8 }", "arms.a.site_schedules", "is used only with metastasis_schedule = by_site"),
        ('metastasis_schedule = "by_site"\nsite_schedules.lungs = { dose_gy = 60.0, fractions = 8 }', "arms.a.site_schedules.lungs", "invalid name"),
        ('metastasis_schedule = "by_site"\nsite_schedules.lung = { dose_gy = 60.0 }', "arms.a.site_schedules.lung.fractions", "missing required key"),
    ],
)
def test_a_schedule_key_is_never_silently_ignored(arm_text, key, rule):
    text = f'[arms.a]\nfirst_line = "tp"\nrt_timing = "upfront"\n{arm_text}\n'
    with pytest.raises(ConfigError) as e:
        make_scenario(text)
    msg = str(e.value)
    assert key in msg and rule in msg, msg
