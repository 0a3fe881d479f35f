"""Diffuse serosal disease (model 4.9): one uncountable compartment per patient (`disease.diffuse`).

Tested here: the compartment's volume and death hazard against their closed forms (and numerical
quadrature), the death clock's crossing time as the root of that hazard; the seeding handler's
thinning exactly, patient by patient, against the DIFFUSE stream; the share of seeding events that
are diffuse against the probability (4 standard errors); a seen compartment makes a scan's
disease new disease and never oligometastatic, and the first failure widespread; switched off
(or on with zero probabilities) nothing changes; and common random numbers: switching it on
changes nothing in a patient's course before the first diffuse onset.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from oligosim import codes, simulate
from oligosim._kernels import assess, diffuse, handlers, rng
from oligosim._kernels import cohort as C
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.results import EVENT_RECORDS, LC_RECORDS

ON = {"disease.diffuse.enabled": True}
#: the mechanism off (the shipped defaults switch it on since the v2 fit of 2026-12-08)
OFF = {"disease.diffuse.enabled": False}


def _workspace(P, *, growth=0.3, kill=0.0, histology=codes.ESCC, seed=5, pid=0):
    """A patient at t = 2 months with one active liver metastasis, streams at their start."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    diffuse.reset(W)
    st = W.state
    st["n"] = 1
    st["t"] = 2.0
    st["reg"] = -1
    st["histology"] = histology
    st["presentation"] = codes.METACHRONOUS
    st["growth"] = growth
    st["kill"] = kill
    L["organ"][0] = codes.LIVER
    L["status"][0] = C.ACTIVE
    L["logv"][0] = math.log(2.0)
    L["det_logv"][0] = math.log(0.01)
    L["seen"][0] = True
    rng.init_streams(seed, pid, W.streams)
    return W, L


def _with_compartment(W, logv, *, h=0.0, e=1.0, det_logv=math.inf):
    st = W.state
    st["dif_state"] = diffuse.OCCULT
    st["dif_logv"] = logv
    st["dif_h"] = h
    st["dif_e"] = e
    st["dif_det_logv"] = det_logv


@pytest.fixture(scope="module")
def P_on(default_scenario):
    return lower_model(default_scenario.with_values({**ON, "disease.diffuse.death_weight": 3.0}))


@pytest.mark.parametrize("growth,kill", [(0.3, 0.0), (0.3, 0.5), (0.2, 0.2), (0.05, 0.0)])
def test_volume_and_death_hazard_closed_form(P_on, growth, kill):
    """Over dt the log-volume moves by (g - k) dt and the accumulated death hazard is the
    integral of death_rate * weight * V(s), checked by quadrature (rel. 1e-9)."""
    W, _ = _workspace(P_on, growth=growth, kill=kill)
    x0, dt = math.log(0.7), 3.5
    _with_compartment(W, x0, h=0.1, e=10.0)
    r = growth - kill
    c = P_on.death_rate * P_on.dz[0]["death_weight"]
    want, _ = integrate.quad(lambda s: c * math.exp(x0 + r * s), 0.0, dt, epsabs=0.0, epsrel=1e-12)
    assert diffuse.death_integral(P_on, W, dt) == pytest.approx(want, rel=1e-9)
    diffuse.advance(P_on, W, dt)
    st = W.state[0]
    assert st["dif_logv"] == pytest.approx(x0 + r * dt, abs=1e-12)
    assert st["dif_h"] == pytest.approx(0.1 + want, rel=1e-9)
    assert st["dif_state"] == diffuse.OCCULT


@pytest.mark.parametrize("growth,kill,target", [(0.3, 0.0, 0.05), (0.3, 0.6, 0.002), (0.2, 0.2, 0.01), (0.4, 0.1, 2.0)])
def test_death_time_is_the_root_of_the_closed_form(P_on, growth, kill, target):
    """The death clock fires where the accumulated hazard reaches the threshold (brentq on the
    closed form agrees to 1e-9 months), and never when a shrinking compartment cannot reach it."""
    W, _ = _workspace(P_on, growth=growth, kill=kill)
    x0 = math.log(5.0)
    _with_compartment(W, x0, h=0.0, e=target)
    dt = 200.0
    tau = diffuse.death_time(P_on, W, dt)
    r = growth - kill
    c = P_on.death_rate * P_on.dz[0]["death_weight"] * math.exp(x0)
    if r < 0.0 and target >= c / -r:
        assert tau == math.inf
        return
    want = optimize.brentq(lambda s: diffuse.death_integral(P_on, W, s) - target, 0.0, dt, xtol=1e-13, rtol=1e-15)
    assert tau == pytest.approx(want, abs=1e-9)
    assert diffuse.death_time(P_on, W, 0.5 * tau) == math.inf  # not within a shorter interval


def test_unreachable_threshold_never_fires(P_on):
    """A shrinking compartment's hazard is bounded by c / |r|: a larger threshold is never met."""
    W, _ = _workspace(P_on, growth=0.1, kill=0.6)
    _with_compartment(W, math.log(1.0), e=1.0)
    c = P_on.death_rate * P_on.dz[0]["death_weight"]
    assert 1.0 > c / 0.5
    assert diffuse.death_time(P_on, W, 1e6) == math.inf


def test_eradication_keeps_the_seen_flag(P_on):
    """Shrunk below the eradication size the compartment is gone; having been seen stays."""
    W, _ = _workspace(P_on, growth=0.1, kill=2.0)
    _with_compartment(W, P_on.eradication_logv + 0.5, e=5.0)
    W.state["dif_state"] = diffuse.SEEN
    W.state["dif_seen"] = True
    diffuse.advance(P_on, W, 1.0)
    assert W.state[0]["dif_state"] == diffuse.ABSENT and W.state[0]["dif_seen"]
    assert diffuse.death_time(P_on, W, 1e6) == math.inf and diffuse.death_integral(P_on, W, 1.0) == 0.0


def test_seeding_handler_thins_exactly(default_scenario):
    """Patient by patient: the seeding event is diffuse exactly when the DIFFUSE stream's first
    uniform is below the histology's probability; then no lesion is made and the compartment
    starts at a seed's volume with the stream's next draws as its thresholds; else one lesion
    is made as without the mechanism."""
    sc = default_scenario.with_values({**ON, "disease.diffuse.onset_fraction_escc": 0.3, "disease.diffuse.onset_fraction_eac": 0.6})
    P = lower_model(sc)
    R = lower_regimens(sc)
    n_diffuse = 0
    for pid in range(200):
        hist = codes.ESCC if pid % 2 == 0 else codes.EAC
        W, L = _workspace(P, histology=hist, pid=pid)
        handlers.on_seeding(P, R, W, L)
        u = rng.uniforms(5, pid, rng.DIFFUSE, 3)
        st = W.state[0]
        p = 0.3 if hist == codes.ESCC else 0.6
        if u[0] < p:
            n_diffuse += 1
            assert st["n"] == 1 and st["dif_state"] == diffuse.OCCULT
            assert st["dif_logv"] == P.seed_logv
            assert st["dif_e"] == pytest.approx(-math.log(u[1]), rel=1e-15)
            z = (st["dif_det_logv"] - P.dz[0]["det_logv"]) / P.dz[0]["det_sdlog"]
            assert z == pytest.approx(rng.std_normal_ppf(u[2]), rel=1e-12)
        else:
            assert st["n"] == 2 and st["dif_state"] == diffuse.ABSENT and st["dif_e"] == math.inf
    assert 40 < n_diffuse < 120
    # a second diffuse event adds a seed's volume (ln of the sum)
    W, L = _workspace(P, pid=0)
    _with_compartment(W, math.log(0.5), e=3.0)
    u0 = rng.uniforms(5, 0, rng.DIFFUSE, 1)[0]
    handlers.on_seeding(P, R, W, L)
    if u0 < 0.3:
        assert W.state[0]["dif_logv"] == pytest.approx(math.log(0.5 + math.exp(P.seed_logv)), rel=1e-14)
        assert W.state[0]["dif_e"] == 3.0  # thresholds drawn once


def test_seen_diffuse_disease_is_new_and_never_oligometastatic(default_scenario, P_on):
    """A scan that finds the compartment at its detection threshold counts it as new disease;
    from then on the visible disease is not oligometastatic, with or without countable lesions."""
    A = lower_arm(default_scenario, "systemic_only")
    W, L = _workspace(P_on)
    st = W.state
    st["has_baseline"] = True
    st["nadir"] = C.diameter_of_logv(L["logv"][0])
    assert assess.oligo_now(W, L)
    _with_compartment(W, math.log(3.0), e=5.0, det_logv=math.log(3.0) + 1e-9)
    assert handlers.on_scan(P_on, A, W, L, False) == -1  # just below its threshold: nothing new
    assert W.state[0]["dif_state"] == diffuse.OCCULT and assess.oligo_now(W, L)
    W.state["dif_det_logv"] = math.log(3.0)
    assert handlers.on_scan(P_on, A, W, L, False) == 1
    assert W.state[0]["dif_state"] == diffuse.SEEN and not assess.oligo_now(W, L)
    L["status"][0] = C.CONTROLLED  # no countable distant lesion left
    assert not assess.oligo_now(W, L)


def _seeded_scenario(sc, **extra):
    """No occult disease at entry and a high seeding rate: every progression is seeded."""
    return sc.with_values(
        {"cohort.lesions.occult_mean": 0.0, "locoregional.occult_regional_nodes_mean_synchronous": 0.0,
         "disease.seeding_rate_per_cm3_month": 0.06, "simulation.max_lesions": 64, **extra}
    )


@pytest.fixture(scope="module")
def runs(default_scenario):
    base = _seeded_scenario(default_scenario, **OFF)
    kw = dict(patients=1500, seed=9, arms=["systemic_only"], events=True)
    # seen early (from 0.01 cm3) and lethal (20 times the liver's weight), so that it often decides
    on = base.with_values({**ON, "disease.diffuse.onset_fraction_escc": 0.15, "disease.diffuse.detection_volume_cm3": 0.01,
                           "disease.diffuse.detection_sdlog": 0.3, "disease.diffuse.death_weight": 20.0})
    return simulate.run_scenario(base, **kw).arms["systemic_only"], simulate.run_scenario(on, **kw).arms["systemic_only"]


def test_share_of_seeding_events_that_are_diffuse(runs):
    """Among logged seeding events (new lesions and diffuse onsets or additions), the diffuse share
    is the probability 0.15 within 4 binomial standard errors (the default scenario is ESCC only;
    the log's truncation depends on how many events came before, not on each event's kind)."""
    _, on = runs
    assert (on["histology"] == codes.ESCC).all()
    n_lesion = n_diffuse = 0
    for j in range(on.n):
        k = min(int(on["ev_n"][j]), on.ev_code.shape[1])
        code, det = on.ev_code[j, :k], on.ev_detail[j, :k]
        n_lesion += int((code == codes.EV_NEW_LESION).sum())
        n_diffuse += int(((code == codes.EV_DIFFUSE) & (det != diffuse.DETECTED)).sum())
    n = n_lesion + n_diffuse
    share = n_diffuse / n
    se = math.sqrt(0.15 * 0.85 / n)
    assert n > 2000
    assert abs(share - 0.15) < 4 * se, f"diffuse share {share:.4f} of {n} seeding events, se {se:.4f}"


def test_seen_diffuse_disease_makes_a_widespread_first_failure(runs):
    """A first progression at the scan that shows the compartment is widespread (model 7.4), and
    some patients die of it."""
    _, on = runs
    hits = 0
    for j in range(on.n):
        k = min(int(on["ev_n"][j]), on.ev_code.shape[1])
        code, det, t = on.ev_code[j, :k], on.ev_detail[j, :k], on.ev_time[j, :k]
        seen = t[(code == codes.EV_DIFFUSE) & (det == diffuse.DETECTED)]
        if seen.size and on["pfs_event"][j] and on["pfs"][j] == seen[0]:
            hits += 1
            assert on["first_failure"][j] == codes.FAIL_WIDESPREAD
            assert on["estro_first"][j] == codes.NOT_OLIGO
    assert hits > 20
    last = on.ev_code[np.arange(on.n), np.minimum(on["ev_n"], on.ev_code.shape[1]) - 1]
    died = (last == codes.EV_DEATH_DISEASE) & (on.ev_detail[np.arange(on.n), np.minimum(on["ev_n"], on.ev_code.shape[1]) - 1] == codes.DISEASE_DEATH_DIFFUSE)
    assert died.sum() > 5


def test_switching_on_changes_nothing_before_the_first_onset(runs):
    """Common random numbers: a patient with no diffuse onset has the same course, column by
    column; one with an onset has the same events up to it."""
    off, on = runs
    onset_at = np.full(on.n, np.inf)
    for j in range(on.n):
        k = min(int(on["ev_n"][j]), on.ev_code.shape[1])
        hit = np.flatnonzero(on.ev_code[j, :k] == codes.EV_DIFFUSE)
        if hit.size:
            onset_at[j] = on.ev_time[j, hit[0]]
    never = ~np.isfinite(onset_at)
    assert 0.2 < never.mean() < 0.95
    for col, v0 in off.columns.items():
        v1 = on.columns[col]
        same = (v0 == v1) | (np.isnan(v0) & np.isnan(v1)) if v0.dtype.kind == "f" else v0 == v1
        assert same[never].all(), f"{col} changed for {int((~same[never]).sum())} patients without diffuse disease"
    for j in np.flatnonzero(~never):
        k0 = min(int(off["ev_n"][j]), off.ev_code.shape[1])
        before = off.ev_time[j, :k0] < onset_at[j]
        m = int(before.sum())
        np.testing.assert_array_equal(off.ev_code[j, :m], on.ev_code[j, :m])
        np.testing.assert_array_equal(off.ev_time[j, :m], on.ev_time[j, :m])


@pytest.mark.parametrize("values", [
    {**OFF, "disease.diffuse.onset_fraction_escc": 0.5, "disease.diffuse.entry_fraction_escc": 0.5},
    {**ON, "disease.diffuse.onset_fraction_escc": 0.0, "disease.diffuse.onset_fraction_eac": 0.0},
], ids=["switched_off", "on_with_zero_probabilities"])
def test_off_changes_nothing(default_scenario, values):
    """Off (whatever the probabilities), or on with every probability 0, every column and event
    of every arm is as without the mechanism."""
    kw = dict(patients=300, seed=4, events=True)
    a = simulate.run_scenario(default_scenario.with_values(OFF), **kw)
    b = simulate.run_scenario(default_scenario.with_values(values), **kw)
    for name in a.arms:
        x, y = a.arms[name], b.arms[name]
        for col in x.columns:
            np.testing.assert_array_equal(x.columns[col], y.columns[col], err_msg=f"{name}.{col}")
        for attr in ("ev_time", "ev_code", "ev_detail"):
            np.testing.assert_array_equal(getattr(x, attr), getattr(y, attr), err_msg=f"{name}.{attr}")


def test_occult_disease_at_entry(default_scenario):
    """With an entry probability the compartment is present at entry in that share of patients
    (4 standard errors), below its detection threshold, and logged at time 0."""
    sc = default_scenario.with_values({**ON, "disease.diffuse.entry_fraction_escc": 0.3})
    arm = simulate.run_scenario(sc, patients=2000, seed=3, arms=["systemic_only"], events=True).arms["systemic_only"]
    at0 = np.array([
        bool(np.any((arm.ev_code[j, : arm["ev_n"][j]] == codes.EV_DIFFUSE) & (arm.ev_time[j, : arm["ev_n"][j]] == 0.0)))
        for j in range(arm.n)
    ])
    se = math.sqrt(0.3 * 0.7 / arm.n)
    assert abs(at0.mean() - 0.3) < 4 * se


def test_codes_agree_between_engines():
    """The states and event details are numbered alike in both engines and in codes, and the
    stream is its own purpose."""
    from oligosim.reference import diffuse as ref
    from oligosim.reference import streams

    assert (diffuse.ABSENT, diffuse.OCCULT, diffuse.SEEN) == (ref.ABSENT, ref.OCCULT, ref.SEEN)
    assert [codes.DIFFUSE_EVENT_NAMES[k] for k in (diffuse.ONSET, diffuse.ADDED, diffuse.DETECTED)] == ["onset", "added", "detected"]
    assert (ref.ONSET, ref.ADDED, ref.DETECTED) == (diffuse.ONSET, diffuse.ADDED, diffuse.DETECTED)
    assert rng.DIFFUSE == streams.DIFFUSE == 13 and rng.PURPOSE_NAMES[rng.DIFFUSE] == "diffuse"
    assert codes.DISEASE_DEATH_NAMES[codes.DISEASE_DEATH_DIFFUSE] == "diffuse"
