"""Lazy integration of the continuous hazards (``oligosim._kernels.anchor``, docs/model.md 4.2).

The kernel integrates the seeding and disease-death hazards only when a bound from the anchor
says a threshold may be crossed, or when a lesion changed. It is a numerical method, not a model:
the tests check the bound and the change detection function by function, and that whole courses
under every mechanism that changes lesions or rates (RT, surgery and ablation, resistance lesion
by lesion, colonies, the growing aggregate beyond the cap, diffuse disease, local therapy at
progression) are those of ``simulation.hazard_integration = "every_event"`` (the scheme before the
anchor) up to the rounding of the accumulated hazards.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import anchor, hazards
from oligosim._kernels import cohort as C
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.config import load_scenario
from oligosim.lowering import lower_model
from oligosim.results import EVENT_RECORDS, LC_RECORDS

from conftest import CONFIGS


def _patient(P, rates, logvs, organs, kill=0.0, t=3.0):
    """A workspace and lesion record with active lesions of ``rates`` (growth, 1/month), ln
    volumes ``logvs`` and ``organs``, at time ``t`` with kill rate ``kill`` in force."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    st = W.state
    st["t"] = t
    st["n"] = len(rates)
    st["kill"] = kill
    st["propensity"] = 1.3
    st["e_seed"] = np.inf
    st["e_death"] = np.inf
    for i, (g, x, o) in enumerate(zip(rates, logvs, organs)):
        L["status"][i] = C.ACTIVE
        L["growth"][i] = g
        L["logv"][i] = x
        L["organ"][i] = o
    return W, L


def _random_patient(P, rng, n):
    organs = rng.choice([codes.LIVER, codes.LUNG, codes.BONE, codes.DISTANT_NODE, codes.PRIMARY], n)
    return _patient(P, rng.uniform(-0.4, 0.8, n), rng.uniform(-8.0, 3.0, n), organs, kill=rng.uniform(0.0, 0.5))


def _anchored_patients(P, seed, count):
    """``count`` random patients (workspace, lesions, state record), each anchored now."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        W, L = _random_patient(P, rng, int(rng.integers(1, 30)))
        anchor.reanchor(P, W, L, False)
        yield rng, W, L, W.state[0]


def _exact(P, W, L, tau):
    """The hazards over ``tau`` months from now by the closed form, in numpy."""
    st = W.state[0]
    n = st["n"]
    on = L["status"][:n] == C.ACTIVE
    v = np.exp(L["logv"][:n][on])
    r = L["growth"][:n][on] - st["kill"]
    integ = v * np.expm1(r * tau) / r
    return P.seeding_rate * st["propensity"] * integ.sum(), P.death_rate * (integ * P.death_weight[L["organ"][:n][on]]).sum()


def test_reanchor_takes_volumes_rates_and_bound(default_scenario):
    """The anchor holds each active lesion's volume, net rate and weight now, the two hazard
    rates and the largest rate; the bound from it is never below the exact hazards."""
    P = lower_model(default_scenario)
    for _, W, L, st in _anchored_patients(P, 11, 50):
        n = st["n"]
        assert st["a_valid"] and st["a_t"] == st["t"] and st["a_n"] == n
        np.testing.assert_allclose(L["vol"][:n], np.exp(L["logv"][:n]), rtol=1e-14)  # libm and numpy may differ by an ulp
        np.testing.assert_array_equal(L["a_r"][:n], L["growth"][:n] - st["kill"])
        assert st["a_rmax"] == (L["growth"][:n] - st["kill"]).max()
        assert st["a_seed"] == pytest.approx(P.seeding_rate * st["propensity"] * np.exp(L["logv"][:n]).sum(), rel=1e-12)
        for tau in (0.01, 0.5, 3.0, 24.0):
            s, d = anchor.since(L, n, tau, P.seeding_rate, st["propensity"], P.death_rate)
            want_s, want_d = _exact(P, W, L, tau)
            assert s == pytest.approx(want_s, rel=1e-10) and d == pytest.approx(want_d, rel=1e-10)
            bound = math.expm1(st["a_rmax"] * tau) / st["a_rmax"]
            assert st["a_seed"] * bound >= s and st["a_death"] * bound >= d


def _step_crosses(P, W, L, t_next):
    """What the event loop decides from :func:`anchor.to_next`: does a threshold fall before
    ``t_next``? (The sums, when taken, are the closed form from the anchor.)"""
    st = W.state[0]
    known, s, d = anchor.to_next(P, W, L, t_next)
    if not known:
        assert math.isnan(s) and math.isnan(d)
        return False
    want_s, want_d = _exact(P, W, L, t_next - st["a_t"])
    assert s == pytest.approx(want_s, rel=1e-10) and d == pytest.approx(want_d, rel=1e-10)
    return st["h_seed"] + s >= st["e_seed"] or st["h_death"] + d >= st["e_death"]


def test_to_next_skips_the_sum_only_when_no_threshold_can_be_reached(default_scenario):
    """With a threshold just above the hazard accumulated by the next event the step passes
    (lazily, or by the exact sum); just below, the exact sum is taken and says it crosses (the
    bound cannot hide a crossing, in either process)."""
    P = lower_model(default_scenario)
    lazy = 0
    for rng, W, L, st in _anchored_patients(P, 12, 40):
        tau = float(rng.uniform(0.1, 6.0))
        t_next = st["t"] + tau
        s, d = _exact(P, W, L, tau)
        for field, value in (("e_seed", s), ("e_death", d)):
            st["e_seed"] = st["e_death"] = np.inf
            st[field] = value * 0.999
            assert _step_crosses(P, W, L, t_next)
            st[field] = value * 1.001
            assert not _step_crosses(P, W, L, t_next)
            st[field] = value * 100.0
            lazy += not anchor.to_next(P, W, L, t_next)[0]
        # the hazard accumulated before the anchor counts
        st["e_seed"], st["e_death"] = s * 1.5, np.inf
        st["h_seed"] = s * 0.6
        assert _step_crosses(P, W, L, t_next)
        st["h_seed"] = 0.0
    assert lazy >= 60  # far from a threshold the bound alone decides (80 cases)
    eager = P._replace(dz=P.dz.copy())
    eager.dz[0]["eager"] = True
    W, L = _patient(P, [0.1], [-5.0], [codes.LUNG])
    anchor.reanchor(eager, W, L, False)
    assert anchor.to_next(eager, W, L, 4.0)[0]  # "every_event": every step is summed


def test_crossing_is_searched_from_the_anchor(default_scenario):
    """A crossing after a lazy stretch is found from the anchor inside (now, next event]: the
    root of the closed form from the anchor, with the death hazard up to it beside a seeding
    root, for anchors up to 20 months back."""
    P = lower_model(default_scenario)
    for rng, W, L, st in _anchored_patients(P, 13, 40):
        gap = float(rng.uniform(0.0, 20.0))
        span = gap + float(rng.uniform(0.05, 8.0))
        root = float(rng.uniform(gap, span))
        ss = P.seeding_rate * st["propensity"]
        s_root, d_root = _exact(P, W, L, root)
        n = st["n"]
        tau, death, known = hazards.crossing(L, n, gap, span, ss, P.death_rate, 0, s_root)
        assert tau == pytest.approx(root, rel=1e-9, abs=1e-9)
        if known:
            assert death == pytest.approx(d_root, rel=1e-9)
        assert hazards.crossing_time(L, n, gap, span, ss, P.death_rate, 1, d_root) == pytest.approx(root, rel=1e-9, abs=1e-9)


def test_reanchor_adds_the_hazards_since_the_old_anchor(default_scenario):
    """Moving the anchor later adds exactly the hazards accumulated over the gap (the closed form
    over the whole gap), and moving it to where it is adds nothing."""
    P = lower_model(default_scenario)
    W, L = _patient(P, [0.3, 0.1, -0.2], [0.0, -2.0, 1.0], [codes.LIVER, codes.LUNG, codes.PRIMARY], kill=0.05)
    st = W.state[0]
    anchor.reanchor(P, W, L, False)
    want_s, want_d = _exact(P, W, L, 2.5)
    anchor.reanchor(P, W, L, False)
    assert st["h_seed"] == 0.0 and st["h_death"] == 0.0
    hazards.advance(L, 3, 0.05, st["t"], 2.5, P.eradication_logv, W)
    st["t"] += 2.5
    anchor.reanchor(P, W, L, False)
    assert st["h_seed"] == pytest.approx(want_s, rel=1e-12) and st["h_death"] == pytest.approx(want_d, rel=1e-12)
    assert st["a_t"] == st["t"]


@pytest.mark.parametrize("change", ["growth_by_loop", "rt_kill", "eradicated", "kill", "resistant", "organ", "new_slot", "reactivated"])
def test_check_finds_every_change_of_a_lesion(default_scenario, change):
    """The event loop's own growth (``hazards.advance``) is not a change; anything a handler does
    to a lesion's volume, status, rate or organ, or a new slot, is."""
    P = lower_model(default_scenario)
    W, L = _patient(P, [0.3, 0.1, 0.2], [0.0, -2.0, 1.0], [codes.LIVER, codes.LUNG, codes.BONE], kill=0.05)
    st = W.state[0]
    L["status"][3] = C.ERADICATED
    st["n"] = 4
    anchor.reanchor(P, W, L, False)
    hazards.advance(L, 4, 0.05, st["t"], 1.0, P.eradication_logv, W)
    if change == "rt_kill":
        L["logv"][1] -= 2.0
    elif change == "eradicated":
        L["status"][2] = C.CONTROLLED
    elif change == "kill":
        st["kill"] = 0.4
    elif change == "resistant":
        L["resistant"][0] = 1
    elif change == "organ":
        L["organ"][1] = codes.BRAIN
    elif change == "new_slot":
        L["status"][4] = C.ACTIVE
        st["n"] = 5
    elif change == "reactivated":
        L["status"][3] = C.ACTIVE
    _, _, changed = anchor.check(L, st["n"], st["kill"], True, st, P.death_weight)
    assert changed == (change != "growth_by_loop")


def test_check_finds_the_next_symptom(default_scenario):
    """The symptom search rides on the check: the first lesion to reach its symptom size."""
    P = lower_model(default_scenario)
    W, L = _patient(P, [0.3, 0.5, 0.2], [0.0, -2.0, 1.0], [codes.LIVER, codes.LUNG, codes.BONE], kill=0.1)
    st = W.state[0]
    L["sym_logv"][:3] = [1.2, 0.0, 5.0]
    anchor.reanchor(P, W, L, False)
    tau, i, _ = anchor.check(L, 3, 0.1, True, st, P.death_weight)
    assert i == 1 and tau == pytest.approx(2.0 / 0.4, rel=1e-15)  # (0 - (-2)) / (0.5 - 0.1)
    L["symptomatic"][1] = 1
    tau, i, _ = anchor.check(L, 3, 0.1, True, st, P.death_weight)
    assert i == 0 and tau == pytest.approx(1.2 / 0.2)
    assert anchor.check(L, 3, 0.1, False, st, P.death_weight)[1] == -1
    # the pass that sets an anchor finds the same (the loop's only pass when none is set)
    assert anchor.reanchor(P, W, L, True) == anchor.check(L, 3, 0.1, True, st, P.death_weight)[:2] == (pytest.approx(1.2 / 0.2), 0)
    assert anchor.reanchor(P, W, L, False) == (np.inf, -1)


# --------------------------------------------------------------------------- whole courses

MECHANISMS = {
    "default": ("default.toml", {}),
    "everything_on": (
        "default.toml",
        {
            "disease.uncounted_disease": "grows",
            "disease.diffuse.enabled": True,
            "disease.seeding_cluster_mean": 2.0,
            "regimens.tp_pd1.resistance_sdlog_between_lesions": 0.6,
            "regimens.tp_pd1.primary_resistance_fraction": 0.1,
            "simulation.max_lesions": 12,
            "arms.upfront_rt.local_modality.liver": "surgery",
            "arms.consolidative.local_modality.lung": "ablation",
        },
    ),
    "oligoprogression": ("scenarios/oligoprogression.toml", {}),
    "reirradiation": ("scenarios/locoregional_reirradiation.toml", {}),
}


def _differing(a, b, n):
    """Patients of one arm whose results differ: any integer or flag, or a float (times,
    volumes) by more than 1e-9."""
    bad = np.zeros(n, bool)
    for c, x in a.columns.items():
        y = b.columns[c]
        if x.dtype.kind == "f":
            bad |= ~(np.isclose(x, y, rtol=1e-9, atol=1e-9) | (np.isnan(x) & np.isnan(y)))
        else:
            bad |= x != y
    for f in ("tox", "lc_event", "ev_code", "ev_detail"):
        bad |= (getattr(a, f) != getattr(b, f)).reshape(n, -1).any(axis=1)
    for f in ("ev_time", "lc_time", "lc_volume"):
        x, y = getattr(a, f), getattr(b, f)
        bad |= (~(np.isclose(x, y, rtol=1e-9, atol=1e-9) | (np.isnan(x) & np.isnan(y)))).reshape(n, -1).any(axis=1)
    return bad


@pytest.mark.parametrize("case", sorted(MECHANISMS))
def test_lazy_courses_are_those_integrated_at_every_event(case):
    """Every patient of every arm meets the same course, event by event, whether the hazards are
    integrated lazily or at every event: the same events in the same order, times within 1e-9
    months (the accumulated hazards round differently)."""
    name, values = MECHANISMS[case]
    sc = load_scenario(CONFIGS / name)
    if values:
        sc = sc.with_values(values)
    n = 4000
    runs = {m: simulate.run_scenario(sc.with_values({"simulation.hazard_integration": m}), patients=n, seed=4242, events=True) for m in ("lazy", "every_event")}
    for arm in runs["lazy"].arms:
        bad = _differing(runs["lazy"].arms[arm], runs["every_event"].arms[arm], n)
        assert not bad.any(), f"{case}, arm {arm}: patients {np.flatnonzero(bad)[:10]} differ"
    if case == "everything_on":  # the switches did act: the aggregate, diffuse disease, colonies, procedures
        cols = runs["lazy"].arms["systemic_only"].columns
        assert cols["overflow"].mean() > 0.05
        codes_seen = np.concatenate([a.ev_code.ravel() for a in runs["lazy"].arms.values()])
        assert (codes_seen == codes.EV_SURGERY).any() and (codes_seen == codes.EV_ABLATION).any()
