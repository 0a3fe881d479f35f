"""Disease beyond the lesion cap as one growing aggregate (model 4.2, ``disease.uncounted_disease``).

Off ("frozen", the default) seeding stops at the cap and the uncounted disease neither grows nor
kills. On ("grows") every deposit beyond the cap joins one aggregate in slot ``max_lesions``,
which grows at the patient's median rate, seeds into itself and adds to the death hazard with the
histology's mean lethality. The tests check the seeding handler exactly, the aggregate's volume
against its closed form, that it is never seen or treated, common random numbers (a patient who
never fills the cap is untouched) and the direction of its effect at a cap small enough to matter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from oligosim import codes, simulate
from oligosim._kernels import cohort as C
from oligosim._kernels import anchor, handlers, hazards, rng, uncounted
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.lowering import lower_model, lower_regimens
from oligosim.results import EVENT_RECORDS, LC_RECORDS


#: the mechanism off: seeding stops at a full cap and uncounted disease neither grows nor kills
FROZEN = {"disease.uncounted_disease": "frozen"}
NO_DIFFUSE = {"disease.diffuse.enabled": False}


def _full_workspace(P, seed, pid, cap):
    """A patient whose ``cap`` lesion slots all hold active liver metastases, at t = 2 months."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    st = W.state
    st["n"] = cap
    st["t"] = 2.0
    st["reg"] = -1
    st["line_on"] = False
    st["histology"] = codes.EAC
    st["growth"] = 0.3
    for i in range(cap):
        L["organ"][i] = codes.LIVER
        L["status"][i] = C.ACTIVE
        L["logv"][i] = math.log(0.5)
    rng.init_streams(seed, pid, W.streams)
    return W, L


def test_lowered_switch_and_weights(default_scenario):
    """On by default since the v2 fit (2026-12-08), 'frozen' switches it off; the aggregate's lethality is the mean over the distant organs by each
    histology's shares of new metastases."""
    P = lower_model(default_scenario.with_values(FROZEN))
    assert not P.dz[0]["uncounted_grows"]
    assert lower_model(default_scenario).dz[0]["uncounted_grows"]
    assert P.death_weight.shape == (codes.N_ORGANS + 2,)
    les = default_scenario.data["cohort"]["lesions"]
    w = default_scenario.data["disease"]["death_weights"]
    for h, table in ((codes.ESCC, les["organ_weights_escc"]), (codes.EAC, les["organ_weights_eac"])):
        names = [codes.ORGAN_NAMES[o] for o in codes.METASTATIC_ORGANS]
        share = np.array([table[n] for n in names], dtype=float)
        want = float(np.dot(share, [w[n] for n in names]) / share.sum())
        assert P.death_weight[codes.UNCOUNTED + h] == pytest.approx(want, rel=1e-12)
    on = lower_model(default_scenario.with_values({"disease.uncounted_disease": "grows"}))
    assert on.dz[0]["uncounted_grows"]


def test_seeding_beyond_the_cap_starts_then_feeds_the_aggregate(default_scenario):
    """Exact: at a full cap a deposit starts the aggregate in slot ``cap`` (seed volume, the
    patient's median growth, the histology's aggregate organ, never visible) and seeding stops, as
    frozen; deposits that still reach the handler add their seed volume while the leading deposit
    stays one seed."""
    cap = CAP
    P0 = lower_model(default_scenario.with_values({**FROZEN, **NO_DIFFUSE}))._replace(max_lesions=cap)
    # diffuse disease off: with it on, a seeding event may start serosal disease instead
    on = lower_model(default_scenario.with_values({"disease.uncounted_disease": "grows", **NO_DIFFUSE}))._replace(max_lesions=cap)
    R = lower_regimens(default_scenario)
    W, L = _full_workspace(P0, 4, 1, cap)
    handlers.on_seeding(P0, R, W, L)
    st = W.state[0]
    assert st["overflow"] == 1 and st["e_seed"] == math.inf and st["n"] == cap
    W, L = _full_workspace(on, 4, 1, cap)
    handlers.on_seeding(on, R, W, L)
    st = W.state[0]
    assert st["overflow"] == 1 and st["n"] == cap + 1
    assert st["e_seed"] == math.inf  # the aggregate stands for all further disease
    a = cap
    assert L["organ"][a] == codes.UNCOUNTED + codes.EAC
    assert L["status"][a] == C.ACTIVE and L["growth"][a] == 0.3
    assert L["logv"][a] == pytest.approx(on.seed_logv, abs=1e-15) and st["agg_offset"] == 0.0
    assert L["det_logv"][a] == math.inf and L["sym_logv"][a] == math.inf
    for k in range(2, 6):
        handlers.on_seeding(on, R, W, L)
        assert W.state[0]["n"] == cap + 1
        assert L["logv"][a] == pytest.approx(on.seed_logv + math.log(k), rel=1e-13)
        assert W.state[0]["agg_offset"] == pytest.approx(math.log(k), rel=1e-12)
    # the aggregate then grows at the patient's rate net of the kill, like a lesion
    hazards.advance(L, cap + 1, 0.1, 2.0, 3.0, on.eradication_logv, W)
    assert L["logv"][a] == pytest.approx(on.seed_logv + math.log(5) + (0.3 - 0.1) * 3.0, rel=1e-13)


def test_occult_deposits_beyond_the_cap_at_entry(default_scenario):
    """At entry the occult deposits drawn beyond the cap start the aggregate with the mean
    occult volume each: pi/6 E[d^3] for a log-uniform diameter, checked by quadrature; the
    uncounted disease is counted once its leading deposit, the largest in expectation, reaches the
    median detection size."""
    sc = default_scenario.with_values({"disease.uncounted_disease": "grows"})
    on = lower_model(sc)._replace(max_lesions=CAP)
    les = sc.data["cohort"]["lesions"]
    lo, hi = math.log(les["occult_diameter_min_cm"]), math.log(les["occult_diameter_max_cm"])
    mean_v = integrate.quad(lambda x: math.pi / 6.0 * math.exp(3.0 * x), lo, hi)[0] / (hi - lo)
    assert on.dz[0]["occult_mean_logv"] == pytest.approx(math.log(mean_v), rel=1e-10)
    W, L = _full_workspace(on, 4, 1, CAP)
    st = W.state[0]
    st["entry_dropped"] = 7
    uncounted.enter(on, st, L)
    assert st["overflow"] == 1 and st["n"] == CAP + 1
    assert L["logv"][CAP] == pytest.approx(math.log(7 * mean_v), rel=1e-10)
    # led by the largest of 7 log-uniform diameters in expectation: lo + (hi - lo) 7/8
    lead = math.log(math.pi / 6.0) + 3.0 * (lo + (hi - lo) * 7.0 / 8.0)
    assert st["agg_offset"] == pytest.approx(math.log(7 * mean_v) - lead, rel=1e-12)
    # countable exactly when the leading deposit reaches v50
    need = on.dz[0]["v50_logv"] - lead
    assert need > 0
    for dx, want in ((need - 1e-9, False), (need + 1e-9, True)):
        L["logv"][CAP] = math.log(7 * mean_v) + dx
        assert uncounted.countable(on, st, L) is want
    L["status"][CAP] = C.ERADICATED
    assert not uncounted.countable(on, st, L)  # eradicated: nothing left to count
    # frozen: the calendar rule of model 4.2
    off = lower_model(default_scenario.with_values(FROZEN))._replace(max_lesions=CAP)
    st["overflow_at"] = 5.0
    st["t"] = 4.9
    assert not uncounted.countable(off, st, L)
    st["t"] = 5.0
    assert uncounted.countable(off, st, L)


CAP = 6  #: a cap most patients of the default scenario fill


def _small_cap(sc, mode):
    return sc.with_values({"simulation.max_lesions": CAP, "disease.uncounted_disease": mode})


@pytest.fixture(scope="module")
def cap_runs(default_scenario):
    kw = dict(patients=1500, seed=21, arms=["systemic_only", "upfront_rt"], events=True)
    return simulate.run_scenario(_small_cap(default_scenario, "frozen"), **kw), simulate.run_scenario(_small_cap(default_scenario, "grows"), **kw)


def test_patients_who_never_fill_the_cap_are_untouched(cap_runs):
    """Common random numbers: a patient with no disease beyond the cap under either setting has
    the same course, column by column, whether the uncounted disease is frozen or grows; the
    patients marked only when it grows are those whose cap was full at entry (occult deposits
    beyond it, which frozen drops without a mark unless seeding later overflows)."""
    off, on = cap_runs
    for arm in ("systemic_only", "upfront_rt"):
        a0, a1 = off.arms[arm], on.arms[arm]
        o0, o1 = a0["overflow"] > 0, a1["overflow"] > 0
        never = ~o0 & ~o1
        assert 0.05 < never.mean() < 0.95
        assert not np.any(o0 & ~o1)
        assert np.all(a1["n_lesions_entry"][o1 & ~o0] == CAP)
        for col, v0 in a0.columns.items():
            v1 = a1.columns[col]
            same = (v0 == v1) | (np.isnan(v0) & np.isnan(v1)) if v0.dtype.kind == "f" else v0 == v1
            assert same[never].all(), f"{arm}: {col} changed for {int((~same[never]).sum())} patients who never fill the cap"


def test_the_aggregate_is_never_seen_or_treated(cap_runs):
    """No event names the aggregate's slot (never a new lesion, a symptom, a local failure or a
    procedure), and the runs where it grows have patients with uncounted disease."""
    _, on = cap_runs
    for arm in on.arms.values():
        marked = np.nonzero(arm["overflow"] > 0)[0]
        assert marked.size > 100
        for j in marked:
            k = arm["ev_n"][j]
            code, det = arm.ev_code[j, :k], arm.ev_detail[j, :k]
            named = np.isin(code, (codes.EV_NEW_LESION, codes.EV_SYMPTOM, codes.EV_LOCAL_FAILURE, *codes.PROCEDURE_EVENTS))
            assert not np.any(det[named] == CAP), f"patient {j}: an event names the aggregate"


def test_the_aggregate_seeds_and_kills(default_scenario):
    """The seeding and death hazards over an interval include the aggregate: closed form
    sum_i c_i v_i (e^{r_i tau} - 1) / r_i with the aggregate's lethality weight."""
    on = lower_model(default_scenario.with_values({"disease.uncounted_disease": "grows"}))._replace(max_lesions=CAP)
    R = lower_regimens(default_scenario)
    W, L = _full_workspace(on, 4, 1, CAP)
    handlers.on_seeding(on, R, W, L)
    L["logv"][CAP] = math.log(3.0)  # a large aggregate, 3 cm3
    tau, kill = 4.0, 0.1
    st = W.state[0]
    st["kill"], st["propensity"] = kill, 1.7
    anchor.reanchor(on, W, L, False)  # the event loop's anchor: the volumes, rates and weights now
    i_seed, i_death = anchor.since(L, st["n"], tau, on.seeding_rate, 1.7, on.death_rate)
    vols = np.exp(L["logv"][: CAP + 1])
    rates = L["growth"][: CAP + 1] - kill
    integ = vols * np.expm1(rates * tau) / rates
    w = on.death_weight[L["organ"][: CAP + 1]]
    assert L["organ"][CAP] == codes.UNCOUNTED + codes.EAC
    assert i_seed == pytest.approx(on.seeding_rate * 1.7 * integ.sum(), rel=1e-12)
    assert i_death == pytest.approx(on.death_rate * float(np.dot(w, integ)), rel=1e-12)
    assert integ[CAP] > integ[:CAP].sum()  # the aggregate dominates both here
