"""Kernel mechanisms one at a time, through the functions the event loop calls, against answers
computed here from docs/model.md's formulas.

Each test builds a patient's workspace by hand (lesions with chosen organs, volumes and
radiosensitivity quantiles, a known random-stream state), runs one RT course with
``rt.deliver_course`` exactly as ``handlers.on_rt_end`` does, and checks the outcome lesion by
lesion and draw by draw: local control is the lesion's own quantile against the TCP of the
course's BED10 (model 6.3), toxicity is each of the course's six toxicity uniforms against the
NTCP of its esophagus, lung or marrow EQD2 (model 6.5, 9). These are exact, not statistical, so a
mechanism computed from the wrong dose, or drawn from a fresh random number, fails them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import assess, handlers, rng, rt
from oligosim._kernels.state import STATE_DTYPE, new_lesions, new_workspace
from oligosim.lowering import lower_arm, lower_model, lower_regimens
from oligosim.results import EVENT_RECORDS, LC_RECORDS


@pytest.fixture(scope="module")
def params(default_scenario):
    """(P, R, A) of the default scenario's upfront arm."""
    sc = default_scenario
    # one metastasis schedule (the tests set it), not the default arm's schedules by site
    return lower_model(sc), lower_regimens(sc), lower_arm(sc, "upfront_rt")._replace(by_site=False)


def _tcp(bed10, volume, P):
    """Model 6.3: logistic in BED10, with the BED50 scaled by the volume."""
    bed50 = P.tcp_bed50 * (volume / P.tcp_volume_ref) ** P.tcp_volume_exponent
    x = (bed10 / bed50) ** (4.0 * P.tcp_gamma50)
    return x / (1.0 + x)


def _ntcp(eqd2, td50, m):
    """Model 6.5: Lyman-Kutcher-Burman, probit in the EQD2."""
    return 0.5 * math.erfc(-((eqd2 - td50) / (m * td50)) / math.sqrt(2.0))


def _odds(p, ratio):
    if p <= 0.0 or ratio == 1.0:
        return p
    o = p / (1.0 - p) * ratio
    return o / (1.0 + o)


def _workspace(P, organs, logv, u_tcp, *, seed=1, pid=0):
    """A workspace and a lesion record whose lesions ``organs`` (codes) are active, seen and
    planned for a course. The record is a view into a one-element array that the caller's
    ``L`` keeps alive; fields are set by name (``L["organ"][i]``)."""
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    n = len(organs)
    assert n <= P.max_lesions
    st = W.state  # a one-element record array: assigning a field sets the patient's value
    st["n"] = n
    st["t"] = 3.0
    st["reg"] = -1
    st["line_on"] = False
    st["course_concurrent"] = False
    st["win_end"] = np.inf  # the protocol treatment goes on: every toxicity counts (model 9)
    st["primary_treatment"] = codes.PRIMARY_IN_PLACE
    for i in range(n):
        L["organ"][i] = organs[i]
        L["subsite"][i] = 0
        L["status"][i] = C.ACTIVE
        L["logv"][i] = logv[i]
        L["u_tcp"][i] = u_tcp[i]
        L["seen"][i] = True
        L["irradiated"][i] = 0
        L["lc_slot"][i] = -1
        L["in_course"][i] = True
        L["exposed_at_start"][i] = False
    rng.init_streams(seed, pid, W.streams)
    return W, L


def _bed10(dose, fractions, P):
    d = dose / fractions
    return fractions * d * (1.0 + d / P.ab_tumour)


# ----------------------------------------------------------------------------- local control


@pytest.mark.parametrize("dose,fractions", [(30.0, 10), (40.0, 5), (50.0, 5), (60.0, 10)])
def test_control_is_the_lesions_quantile_below_tcp_of_bed10(params, dose, fractions):
    """Every lesion's first course controls it exactly when its quantile is below the TCP of the
    course's BED10 at its volume (not the physical dose, not a fresh random number)."""
    P, R, A = params
    A = A._replace(metastasis_dose=dose, metastasis_fractions=fractions)
    P = P._replace(chemo_before_rt=False)
    bed10 = _bed10(dose, fractions, P)
    k = min(P.max_lesions, 12)
    checked = 0
    for volume in (0.3, 3.0, 30.0):
        p = _tcp(bed10, volume, P)
        # quantiles straddling the TCP closely, and spread over (0, 1)
        us = np.concatenate([p + np.array([-1e-9, 1e-9, -0.02, 0.02]), np.linspace(0.01, 0.99, k - 4)])
        us = np.clip(us, 1e-12, 1 - 1e-12)
        W, L = _workspace(P, [codes.LIVER] * k, [math.log(volume)] * k, us)
        rt.deliver_course(P, R, A, W, L)
        controlled = L["status"][:k] == C.CONTROLLED
        np.testing.assert_array_equal(controlled, us < p, err_msg=f"{dose}/{fractions} Gy, {volume} cm3, TCP {p:.4f}")
        # the course's records carry the BED10 and the volume the TCP was computed from
        m = int(W.state[0]["lc_n"])
        assert m == min(k, W.lc_bed.shape[0])
        np.testing.assert_allclose(W.lc_bed[:m], bed10, rtol=1e-12)
        np.testing.assert_allclose(W.lc_volume[:m], volume, rtol=1e-12)
        checked += k
    assert checked >= 30


def test_chemotherapy_before_rt_costs_its_bed(params):
    """Statement 6's hypothesis (model 5.6): a lesion exposed to chemotherapy before its course
    is controlled with the TCP of BED10 minus the loss, and its record carries that BED; an
    unexposed lesion of the same course gets the full BED10."""
    P, R, A = params
    assert P.chemo_before_rt and P.chemo_before_rt_loss > 0
    A = A._replace(metastasis_dose=40.0, metastasis_fractions=5)
    bed10 = _bed10(40.0, 5, P)
    volume = 3.0
    p_full, p_loss = _tcp(bed10, volume, P), _tcp(bed10 - P.chemo_before_rt_loss, volume, P)
    u = 0.5 * (p_full + p_loss)  # controlled at the full BED, not at the reduced one
    assert p_loss < u < p_full
    W, L = _workspace(P, [codes.LIVER, codes.LIVER], [math.log(volume)] * 2, [u, u])
    L["exposed_at_start"][0] = True
    rt.deliver_course(P, R, A, W, L)
    assert L["status"][0] != C.CONTROLLED and L["status"][1] == C.CONTROLLED
    np.testing.assert_allclose(W.lc_bed[:2], [bed10 - P.chemo_before_rt_loss, bed10], rtol=1e-12)


def test_control_rate_follows_the_dose_response(params):
    """Over lesions with uniform quantiles the controlled share is the TCP (binomial 4 se), and
    rises with dose: 30 Gy/10 < 50 Gy/5 (the two schedules' analytic TCPs differ widely)."""
    P, R, A = params
    P = P._replace(chemo_before_rt=False)
    k = min(P.max_lesions, 20)
    n_courses = 150
    volume = 5.0
    shares = []
    for dose, fractions in ((30.0, 10), (50.0, 5)):
        Ad = A._replace(metastasis_dose=dose, metastasis_fractions=fractions)
        p = _tcp(_bed10(dose, fractions, P), volume, P)
        controlled = 0
        for c in range(n_courses):
            us = rng.uniforms(2026, c, rng.RT, k)  # any fixed uniform sample
            W, L = _workspace(P, [codes.LUNG] * k, [math.log(volume)] * k, us)
            rt.deliver_course(P, R, Ad, W, L)
            controlled += int(np.count_nonzero(L["status"][:k] == C.CONTROLLED))
        m = n_courses * k
        share = controlled / m
        se = math.sqrt(p * (1 - p) / m)
        assert abs(share - p) <= 4 * se + 1e-12, f"{dose}/{fractions}: control {share:.4f} vs TCP {p:.4f} (se {se:.4f})"
        shares.append(share)
    assert shares[0] < shares[1]


def test_first_course_control_uses_no_random_number(params):
    """Common random numbers: a lesion's first course here is decided by its own quantile, so the
    RT stream's state does not matter; a later course of the same lesion draws from it."""
    P, R, A = params
    P = P._replace(chemo_before_rt=False)
    k = min(P.max_lesions, 16)
    us = np.linspace(0.02, 0.98, k)
    logv = [math.log(4.0)] * k
    outcomes = []
    for seed in (1, 2, 3):
        W, L = _workspace(P, [codes.LIVER] * k, logv, us, seed=seed, pid=seed)
        before = W.streams[rng.RT]
        rt.deliver_course(P, R, A, W, L)
        assert W.streams[rng.RT] == before, "a first course drew from the RT stream"
        outcomes.append(L["status"][:k].copy())
    np.testing.assert_array_equal(outcomes[0], outcomes[1])
    np.testing.assert_array_equal(outcomes[0], outcomes[2])
    # a second course of an uncontrolled lesion draws afresh (one uniform per target)
    W, L = _workspace(P, [codes.LIVER] * k, logv, np.full(k, 1.0 - 1e-12))
    rt.deliver_course(P, R, A, W, L)
    again = L["status"][:k] == C.ACTIVE
    assert again.any()
    for i in range(k):
        L["in_course"][i] = bool(again[i])
    before = int(W.streams[rng.RT])
    rt.deliver_course(P, R, A, W, L)
    # each draw advances the stream's counter by the golden-ratio increment (mod 2**64)
    draws = int(np.count_nonzero(again))
    assert int(W.streams[rng.RT]) == (before + draws * int(rng._GOLDEN)) % 2**64


# ----------------------------------------------------------------------------- toxicity


def _toxicity_case(P, R, A, *, organ, dose, fractions, trials, concurrent=False):
    """Deliver one course to one lesion in ``trials`` patients; return what happened and the
    six toxicity uniforms each course drew (the stream is fresh, so they are its first six)."""
    res = np.zeros((trials, 5), bool)  # esophagitis, fistula, pneumonitis, leukopenia, death
    draws = np.zeros((trials, 6))
    Ad = A._replace(primary_dose=dose, primary_fractions=fractions, metastasis_dose=dose, metastasis_fractions=fractions, by_site=False)
    for pid in range(trials):
        W, L = _workspace(P, [organ], [math.log(10.0)], [0.5], seed=77, pid=pid)
        W.state["course_concurrent"] = concurrent
        dead = rt.deliver_course(P, R, Ad, W, L)
        res[pid] = (W.tox_seen[codes.ESOPHAGITIS], W.tox_seen[codes.FISTULA], W.tox_seen[codes.PNEUMONITIS], W.tox_seen[codes.LEUKOPENIA], dead)
        draws[pid] = rng.uniforms(77, pid, rng.TOXICITY, 6)
    return res, draws


def _eqd2(share, dose, fractions, alpha_beta):
    """Model 6.5: an organ receiving ``share`` of every fraction's dose, as EQD2."""
    d = share * dose / fractions
    return fractions * d * (d + alpha_beta) / (2.0 + alpha_beta)


@pytest.mark.parametrize("concurrent", [False, True])
def test_rt_toxicity_is_ntcp_of_the_organ_dose(params, concurrent):
    """Esophagitis, fistula, pneumonitis and leukopenia of a course, and whether it kills, follow
    from the NTCP of each organ's EQD2 (its share of every fraction's dose, model 6.5; the
    marrow's with alpha/beta 10, model 9), odds scaled by the concurrent odds ratio, draw by
    draw; and the rates agree with the analytic probabilities.

    The NTCP curves are moved (TD50) so that every probability is between 0.05 and 0.95, where a
    change in the fatal share or a dose computed wrongly shows at once."""
    P, R, A = params
    organ = codes.PRIMARY
    dose, fractions = 60.0, 30
    eso = _eqd2(P.eso_fraction[organ, 0], dose, fractions, P.ab_late)
    lung = _eqd2(P.lung_fraction[organ], dose, fractions, P.ab_late)
    marrow = _eqd2(P.tx[0]["marrow_fraction"][organ], dose, fractions, P.ab_tumour)
    assert eso > 0 and lung > 0 and marrow > 0
    # a share of the EQD2 (the dose model before 2026-12-06) is not what the organ gets
    d = dose / fractions
    assert abs(lung - P.lung_fraction[organ] * fractions * d * (d + P.ab_late) / (2.0 + P.ab_late)) > 0.5
    tx = P.tx.copy()
    tx[0]["marrow_td50"] = marrow * 1.1
    tx[0]["elderly_or"] = 1.0  # the patient's own odds ratio is tested in test_organs_at_risk
    P = P._replace(esophagitis_td50=eso, fistula_td50=eso * 1.15, pneumonitis_td50=lung * 0.95, g5_fistula=0.4, g5_pneumonitis=0.3, tx=tx)
    or_c = P.concurrent_or if concurrent else 1.0
    p_e = _odds(_ntcp(eso, P.esophagitis_td50, P.esophagitis_m), or_c)
    p_f = _odds(_ntcp(eso, P.fistula_td50, P.fistula_m), or_c)
    p_p = _odds(_ntcp(lung, P.pneumonitis_td50, P.pneumonitis_m), or_c)
    p_m = _odds(_ntcp(marrow, tx[0]["marrow_td50"], tx[0]["marrow_m"]), or_c)
    for p in (p_e, p_f, p_p, p_m):
        assert 0.05 < p < 0.95
    n = 3000
    res, u = _toxicity_case(P, R, A, organ=organ, dose=dose, fractions=fractions, trials=n, concurrent=concurrent)
    # draw by draw (model 6.5, 9): u_e, u_f, u_p decide the events, g_f, g_p whether they kill,
    # u_m the course's leukopenia
    np.testing.assert_array_equal(res[:, 0], u[:, 0] < p_e)
    np.testing.assert_array_equal(res[:, 1], u[:, 1] < p_f)
    np.testing.assert_array_equal(res[:, 2], u[:, 2] < p_p)
    np.testing.assert_array_equal(res[:, 3], u[:, 5] < p_m)
    fatal = ((u[:, 1] < p_f) & (u[:, 3] < P.g5_fistula)) | ((u[:, 2] < p_p) & (u[:, 4] < P.g5_pneumonitis))
    np.testing.assert_array_equal(res[:, 4], fatal)
    # and as rates against the analytic probabilities (binomial, 4 se)
    p_dead = 1.0 - (1.0 - p_f * P.g5_fistula) * (1.0 - p_p * P.g5_pneumonitis)
    for k, p in enumerate((p_e, p_f, p_p, p_m, p_dead)):
        se = math.sqrt(p * (1 - p) / n)
        assert abs(res[:, k].mean() - p) <= 4 * se, f"column {k}: {res[:, k].mean():.4f} vs {p:.4f}"


def test_distant_lesion_far_from_the_esophagus_spares_it(params):
    """A liver metastasis puts no dose on the esophagus: no esophagitis or fistula, whatever the
    dose (its esophagus fraction is 0 in the default table)."""
    P, R, A = params
    assert P.eso_fraction[codes.LIVER, 0] == 0.0
    res, _ = _toxicity_case(P, R, A, organ=codes.LIVER, dose=60.0, fractions=3, trials=200)
    assert not res[:, 0].any() and not res[:, 1].any()


def test_workspace_state_record_is_shared(params):
    """Handlers write the patient's record through the workspace: a write is seen by the caller
    (the event loop relies on it)."""
    P, _, _ = params
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    assert W.state.dtype == STATE_DTYPE and W.state.shape == (1,)
    handlers.finish(W, codes.DEATH_OTHER)
    assert W.state[0]["over"] and W.state[0]["cause"] == codes.DEATH_OTHER


# ----------------------------------------------------------------------------- slow or rapid progression


def test_growth_since_the_previous_scan_is_a_doubling_time(params):
    """Statement 12's slow/rapid rule by growth (model 8.4): the visible volume's doubling time
    between two scans, exactly; no growth is inf; disease not visible before counts from the
    median detection volume."""
    P, R, A = params
    W, L = _workspace(P, [codes.LIVER], [math.log(2.0)], [0.5])
    L["det_logv"][0] = -50.0  # visible
    W.state["scan_t_prev"] = 1.0
    W.state["scan_vol_prev"] = 1.0
    W.state["t"] = 4.0
    assess.record_growth(P, W, L)
    assert W.state["doubling_at_scan"][0] == pytest.approx(3.0, rel=1e-12)  # 1 -> 2 cm3 in 3 months
    assert W.state["scan_vol_prev"][0] == pytest.approx(2.0) and W.state["scan_t_prev"][0] == 4.0
    W.state["t"] = 6.0
    assess.record_growth(P, W, L)  # same volume two months later: no growth
    assert W.state["doubling_at_scan"][0] == math.inf
    floor = math.exp(C.logv_of_diameter(P.det_d50[P.modality]))
    W.state["scan_vol_prev"] = 0.0  # nothing visible at the previous scan
    W.state["t"] = 8.0
    assess.record_growth(P, W, L)
    assert W.state["doubling_at_scan"][0] == pytest.approx(math.log(2.0) * 2.0 / math.log(2.0 / floor), rel=1e-12)
