"""Statistical tests of the engine against analytic answers.

Every scenario extends ``tests/data/scenarios/quiet.toml`` (no randomness but the mechanism
under test, every other hazard ~0) and every run has a fixed seed, so each test is a fixed
computation; the tolerances are 3 standard errors (a correct engine fails one such check with
probability ~0.3 % per seed, and the seeds are fixed, so a failure means a real change).

Standard errors used:

* a proportion p from m patients: sqrt(p (1 - p) / m) (binomial);
* KM survival at t without censoring before t: the Greenwood se equals sqrt(S (1 - S) / n);
* the sample median of an exponential(lambda) sample: the asymptotic variance of a sample
  quantile is q (1 - q) / (n f(x_q)^2); at q = 1/2, f(median) = lambda / 2, so
  se = sqrt(1/4 / (n lambda^2 / 4)) = 1 / (lambda sqrt(n)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from conftest import EV, quiet_scenario
from oligosim import codes
from oligosim.analysis.survival import kaplan_meier, median_survival, survival_at
from oligosim.codes import ALIVE, DEATH_DISEASE, DEATH_OTHER, DEATH_TREATMENT
from oligosim.simulate import run_scenario

DPM = 365.25 / 12.0
NOTHING = """
[arms.nothing]
first_line = "none"
rt_timing = "none"
"""
SYSTEMIC = """
[arms.systemic]
first_line = "quiet"
second_line = "none"
rt_timing = "none"
progression.local_therapy = "none"
"""
# volume of the quiet model's single 1.6 cm liver metastasis (cm3)
V_LESION = math.pi / 6.0 * 1.6**3


def _within(x, expected, se, k=3.0, what=""):
    assert abs(x - expected) <= k * se, f"{what}: {x:.6g} vs {expected:.6g} (|diff| = {abs(x - expected) / se:.2f} se)"


# ============================================================================ background mortality


def test_background_mortality_exponential_when_gompertz_slope_is_zero():
    # h = rate_at_60 per year at every age when the slope is 0: lambda = 0.6 / 12 per month
    rate_year = 0.6
    lam = rate_year / 12.0
    n = 4000
    sc = quiet_scenario(
        NOTHING,
        {
            "simulation.horizon_months": 120.0,
            "background_mortality.rate_at_60_per_year": rate_year,
            "background_mortality.gompertz_slope_per_year": 0.0,
        },
    )
    arm = run_scenario(sc, patients=n, seed=101).arms["nothing"]
    assert np.all(arm["death_cause"] != DEATH_DISEASE) and np.all(arm["death_cause"] != DEATH_TREATMENT)
    died = arm["death_cause"] == DEATH_OTHER
    assert np.array_equal(died, arm["os_event"])
    assert np.all(arm["os"][~died] == 120.0)
    km = kaplan_meier(arm["os"], arm["os_event"])
    med, _ = median_survival(km)
    _within(med, math.log(2) / lam, 1.0 / (lam * math.sqrt(n)), what="median OS")
    s12 = survival_at(km, 12.0)[0]
    truth = math.exp(-12.0 * lam)
    _within(s12, truth, math.sqrt(truth * (1 - truth) / n), what="S(12)")
    # and the engine's own Greenwood se agrees with the binomial one (no censoring before 120)
    i = np.searchsorted(km.times, 12.0, side="right") - 1
    assert km.se[i] == pytest.approx(math.sqrt(s12 * (1 - s12) / n), rel=1e-9)


@pytest.mark.parametrize("age", [60.0, 72.0])
def test_background_mortality_follows_the_gompertz_law(age):
    # h(a) = r60 exp(b (a - 60)) per year; from a fixed entry age a0, after t months,
    # H(t) = r60 exp(b (a0 - 60)) (exp(b t / 12) - 1) / b and S = exp(-H)
    r60, b, n, horizon = 0.05, 0.1, 4000, 120.0
    sc = quiet_scenario(
        NOTHING,
        {
            "simulation.horizon_months": horizon,
            "cohort.age_mean_years": age,
            "background_mortality.rate_at_60_per_year": r60,
            "background_mortality.gompertz_slope_per_year": b,
        },
    )
    arm = run_scenario(sc, patients=n, seed=102).arms["nothing"]
    assert np.all(arm["age"] == np.float32(age))
    km = kaplan_meier(arm["os"], arm["os_event"])
    for t in (6.0, 24.0, 60.0, 100.0):
        truth = math.exp(-r60 * math.exp(b * (age - 60.0)) * math.expm1(b * t / 12.0) / b)
        _within(survival_at(km, t)[0], truth, math.sqrt(truth * (1 - truth) / n), what=f"S({t})")
    alive = ~arm["os_event"]
    truth_h = math.exp(-r60 * math.exp(b * (age - 60.0)) * math.expm1(b * horizon / 12.0) / b)
    _within(alive.mean(), truth_h, math.sqrt(truth_h * (1 - truth_h) / n), what="alive at the horizon")


@pytest.mark.slow
def test_background_mortality_exponential_distribution_ks():
    # 20,000 patients, horizon 600 months: S(600) = exp(-30), so every time is an observed death
    lam = 0.05
    sc = quiet_scenario(
        NOTHING,
        {
            "simulation.horizon_months": 600.0,
            "background_mortality.rate_at_60_per_year": 12.0 * lam,
            "background_mortality.gompertz_slope_per_year": 0.0,
        },
    )
    arm = run_scenario(sc, patients=20_000, seed=103).arms["nothing"]
    assert arm["os_event"].all()
    # fixed seed: the p-value is a fixed number; 0.001 guards against a wrong law, not noise
    assert stats.kstest(arm["os"], "expon", args=(0, 1 / lam)).pvalue > 0.001
    # mean of an exponential: se = (1 / lambda) / sqrt(n)
    _within(arm["os"].mean(), 1 / lam, 1 / lam / math.sqrt(arm.n), what="mean OS")


# ============================================================================ competing risks


def test_competing_risks_constant_hazards():
    """Disease death at a constant hazard lambda1 against background death at lambda2.

    The disease hazard is death_hazard x weight x volume, constant when the volume is: a single
    lesion (no occult ones, no seeding) with a doubling time of 1e9 months grows by
    exp(ln 2 x 120 / 1e9) - 1 = 8.3e-8 over the 120-month horizon, so the hazard is constant to
    a relative 1e-7, far below the 3-se tolerance (~0.02 relative) used here. No systemic or
    local therapy, so nothing kills or shrinks the lesion.
    """
    lam1, lam2, n = 0.03, 0.02, 4000
    sc = quiet_scenario(
        NOTHING,
        {
            "simulation.horizon_months": 120.0,
            "disease.death_hazard_per_cm3_month": lam1 / V_LESION,  # liver weight 1 in quiet.toml
            "background_mortality.rate_at_60_per_year": 12.0 * lam2,
            "background_mortality.gompertz_slope_per_year": 0.0,
        },
    )
    arm = run_scenario(sc, patients=n, seed=104, events=True).arms["nothing"]
    assert not (arm.ev_code == EV["new_lesion"]).any() and np.all(arm["overflow"] == 0)
    cause = arm["death_cause"]
    assert not (cause == DEATH_TREATMENT).any()
    dead = cause != 0
    m = int(dead.sum())
    p = lam1 / (lam1 + lam2)
    # P(cause = disease | death) = lambda1 / (lambda1 + lambda2) for constant hazards, at any time
    _within((cause[dead] == DEATH_DISEASE).mean(), p, math.sqrt(p * (1 - p) / m), what="disease share of deaths")
    # all-cause survival is exponential with lambda1 + lambda2
    lam = lam1 + lam2
    km = kaplan_meier(arm["os"], arm["os_event"])
    med, _ = median_survival(km)
    _within(med, math.log(2) / lam, 1.0 / (lam * math.sqrt(n)), what="median OS")
    truth = math.exp(-12.0 * lam)
    _within(survival_at(km, 12.0)[0], truth, math.sqrt(truth * (1 - truth) / n), what="S(12)")
    # cumulative incidence of disease death by 12 months: p (1 - exp(-lambda 12))
    cif = p * (1.0 - truth)
    _within(((cause == DEATH_DISEASE) & (arm["os"] <= 12.0)).mean(), cif, math.sqrt(cif * (1 - cif) / n), what="CIF(12)")
    # disease deaths are progression-free (no scan ever shows growth): PFS event = death
    assert np.array_equal(arm["pfs"], arm["os"]) and np.array_equal(arm["pfs_event"], arm["os_event"])


def test_disease_death_hazard_scales_with_organ_weight():
    # doubling the liver's lethality weight doubles the disease hazard: with lambda2 fixed, the
    # share of disease deaths goes from l1 / (l1 + l2) to 2 l1 / (2 l1 + l2)
    lam1, lam2, n = 0.02, 0.02, 4000
    base = {
        "simulation.horizon_months": 120.0,
        "disease.death_hazard_per_cm3_month": lam1 / V_LESION,
        "background_mortality.rate_at_60_per_year": 12.0 * lam2,
        "background_mortality.gompertz_slope_per_year": 0.0,
        "disease.death_weights.liver": 2.0,
    }
    arm = run_scenario(quiet_scenario(NOTHING, base), patients=n, seed=105).arms["nothing"]
    dead = arm["death_cause"] != ALIVE
    p = 2 * lam1 / (2 * lam1 + lam2)
    _within((arm["death_cause"][dead] == DEATH_DISEASE).mean(), p, math.sqrt(p * (1 - p) / dead.sum()), what="disease share")


# ============================================================================ toxicity

# probabilities of grade >= 3 events per line, one per type (codes.TOX_NAMES order)
TOX_P = {
    "leukopenia": 0.30,
    "neutropenia": 0.40,
    "thrombocytopenia": 0.05,
    "pneumonitis": 0.02,
    "esophagitis": 0.0,
    "esophageal_fistula": 0.10,
    "fatigue": 0.50,
    "nausea": 0.15,
    "vomiting": 0.0,
}


def _tox_scenario(probs, grade5=0.0):
    over = {f"regimens.quiet.grade3plus.{k}": v for k, v in probs.items()}
    over["regimens.quiet.grade5"] = grade5
    over["toxicity.discontinue_probability"] = 0.0
    over["toxicity.elderly_odds_ratio"] = 1.0  # the regimen's own rates (age: test_organs_at_risk)
    return quiet_scenario(SYSTEMIC, over)


def test_systemic_toxicity_rates_match_the_regimen():
    # one line, nobody dies (all hazards ~0, grade5 = 0) and nobody stops the line, so each
    # toxicity of the line is seen with exactly its probability; the types are tied by the
    # line's Gaussian copula (model 5.5), so two types occur together with the bivariate normal
    # probability of their latent correlation
    n = 4000
    sc = _tox_scenario(TOX_P)
    arm = run_scenario(sc, patients=n, seed=106, events=True).arms["systemic"]
    assert np.all(arm["death_cause"] == ALIVE) and np.all(arm["lines"] == 1)
    for k, name in enumerate(codes.SYSTEMIC_TOX_NAMES):
        p = TOX_P[name]
        frac = arm.tox[:, k].mean()
        if p == 0.0:
            assert frac == 0.0, name
        else:
            _within(frac, p, math.sqrt(p * (1 - p) / n), what=name)
    # joint rates: leukopenia's latent is the line's; fatigue correlates with it at rho_o,
    # neutropenia and thrombocytopenia at rho_c each, hence with each other at rho_c^2
    rho_o = sc.data["toxicity"]["other_toxicity_correlation"]
    rho_c = sc.data["toxicity"]["cytopenia_correlation"]
    for a, b, rho in (("leukopenia", "fatigue", rho_o), ("neutropenia", "thrombocytopenia", rho_c * rho_c)):
        pj = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([stats.norm.ppf(TOX_P[a]), stats.norm.ppf(TOX_P[b])])
        both = arm.tox[:, codes.TOX_NAMES.index(a)] & arm.tox[:, codes.TOX_NAMES.index(b)]
        _within(both.mean(), pj, math.sqrt(pj * (1 - pj) / n), what=f"{a} and {b}")
    # with both correlations 0 the types are independent: P(leukopenia and fatigue) = p0 p6
    ind = run_scenario(sc.with_values({"toxicity.other_toxicity_correlation": 0.0, "toxicity.cytopenia_correlation": 0.0}), patients=n, seed=106).arms["systemic"]
    pj = TOX_P["leukopenia"] * TOX_P["fatigue"]
    both = ind.tox[:, codes.LEUKOPENIA] & ind.tox[:, codes.FATIGUE]
    _within(both.mean(), pj, math.sqrt(pj * (1 - pj) / n), what="leukopenia and fatigue, independent")
    # one toxicity event per flag, at a time inside the planned induction (6 x 21 days)
    dur = 6 * 21 / DPM
    k = arm.ev_code.shape[1]
    valid = np.arange(k)[None, :] < arm["ev_n"][:, None]
    is_tox = valid & (arm.ev_code == EV["toxicity"])
    assert np.array_equal(is_tox.sum(axis=1), arm.tox.sum(axis=1))
    assert np.all((arm.ev_time[is_tox] > 0.0) & (arm.ev_time[is_tox] < dur))
    # times are uniform over the induction: mean dur / 2, se = dur / sqrt(12 m)
    times = arm.ev_time[is_tox]
    _within(times.mean(), dur / 2, dur / math.sqrt(12 * times.size), what="mean toxicity time")


def test_treatment_death_rate_and_timing():
    # grade5 = 0.2: a fatal event at a uniform time in the induction for 20 % of patients,
    # whatever other toxicities the line has (leukopenia for everyone, fatigue for half)
    n, g5 = 4000, 0.2
    arm = run_scenario(_tox_scenario({"leukopenia": 1.0, "fatigue": 0.5}, grade5=g5), patients=n, seed=107, events=True).arms["systemic"]
    tdeath = arm["death_cause"] == DEATH_TREATMENT
    assert np.all(arm["death_cause"][~tdeath] == ALIVE)
    _within(tdeath.mean(), g5, math.sqrt(g5 * (1 - g5) / n), what="treatment deaths")
    dur = 6 * 21 / DPM
    t = arm["os"][tdeath]
    assert np.all((t > 0) & (t < dur))
    _within(t.mean(), dur / 2, dur / math.sqrt(12 * t.size), what="mean time of treatment death")
    # leukopenia is seen unless the fatal event comes first: 1 - g5 / 2 (both uniform)
    q = 1 - g5 / 2
    _within(arm.tox[:, codes.LEUKOPENIA].mean(), q, math.sqrt(q * (1 - q) / n), what="leukopenia before death")
    # the treatment death is the last event, logged once
    for j in np.flatnonzero(tdeath)[:50]:
        k = arm["ev_n"][j]
        assert arm.ev_code[j, k - 1] == EV["death_treatment"]
        assert (arm.ev_code[j, :k] == EV["death_treatment"]).sum() == 1


# ============================================================================ post-progression death


def test_post_progression_death_is_exponential_from_the_progression():
    """The post-progression hazard c starts at the detected progression: OS - PFS ~ Exp(c).

    The single liver lesion doubles every month, so every patient's progression is found at the
    first scan (2 months: diameter x 2^(2/3) = +59 % > 20 % and > 5 mm); burden-driven death and
    everything else are ~0, so after progression the only hazard is c (the lesion's volume
    hazard stays ~1e-15 per cm3 month even as it grows).
    """
    c, n = 0.1, 3000
    sc = quiet_scenario(
        NOTHING,
        {
            "simulation.horizon_months": 400.0,
            "disease.metastasis_doubling_median_months": 1.0,
            "disease.death_hazard_after_progression_per_month": c,
        },
    )
    arm = run_scenario(sc, patients=n, seed=106).arms["nothing"]
    assert np.all(arm["pfs_event"]) and np.all(arm["pfs"] == 2.0)
    assert np.all(arm["death_cause"] == DEATH_DISEASE)
    gap = arm["os"] - arm["pfs"]
    # the lesion reaches the symptom size (6 cm liver) eventually, which changes nothing here
    ks = stats.kstest(gap, "expon", args=(0.0, 1.0 / c))
    assert ks.pvalue > 0.001, ks
    _within(gap.mean(), 1.0 / c, (1.0 / c) / math.sqrt(n), what="mean post-progression survival")


def test_post_progression_hazard_zero_changes_nothing():
    """With both post-progression hazards at 0 (the clocks are drawn but never ring) results are
    those of the burden-driven model alone; raising them only shortens survival after progression."""
    sc = quiet_scenario(NOTHING, {"disease.metastasis_doubling_median_months": 1.0, "simulation.horizon_months": 60.0})
    base = run_scenario(sc, patients=500, seed=107).arms["nothing"]
    fast = run_scenario(sc.with_values({"disease.death_hazard_after_progression_per_month": 0.2}), patients=500, seed=107).arms["nothing"]
    assert np.array_equal(base["pfs"], fast["pfs"])
    assert np.all(fast["os"] <= base["os"])
    assert np.all(base["death_cause"] != DEATH_DISEASE)


# ----------------------------------------------------------------- visible burden and propensity


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_visible_lesion_count_scales_with_the_propensity(beta):
    """Extra macroscopic lesions ~ Poisson(c * propensity^beta), propensity = exp(sigma Z) and
    c = mu / E[propensity^beta] = mu exp(-beta^2 sigma^2 / 2): E[K] = mu whatever beta,
    Var[K] = mu + mu^2 (exp(beta^2 sigma^2) - 1), and the count rises with the propensity only when
    beta > 0 (model 3.2)."""
    from oligosim.lowering import lower_model
    from oligosim.reference import draw_cohort_patient

    mu, sigma = 2.0, 1.0
    sc = quiet_scenario(
        "",
        {
            "simulation.max_lesions": 64,
            "cohort.eligibility.max_lesions": 64,
            "cohort.lesions.extra_macroscopic_mean": mu,
            "cohort.lesions.extra_macroscopic_propensity_exponent": beta,
            "disease.propensity_sdlog": sigma,
        },
    )
    P = lower_model(sc)
    n = 4000
    k = np.empty(n)
    prop = np.empty(n)
    for pid in range(n):
        pat, lesions = draw_cohort_patient(P, 2027, pid)
        assert lesions is not None and pat.attempts == 1
        k[pid] = len(lesions) - 1  # the one lesion every patient has (macroscopic_min = 1)
        prop[pid] = pat.propensity
    s2 = (beta * sigma) ** 2
    mean = mu
    var = mu + mu * mu * (math.exp(s2) - 1.0)
    _within(k.mean(), mean, math.sqrt(var / n), k=4.0, what=f"mean extra lesions (beta {beta})")
    rho = stats.spearmanr(k, prop).statistic
    if beta == 0.0:
        assert abs(rho) < 4.0 / math.sqrt(n), rho
    else:
        assert rho > 0.4, rho
