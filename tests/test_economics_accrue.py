"""Per-patient costs and QALYs from event logs against closed forms (issue 23, item 2).

Synthetic event logs isolate one mechanism each: survival only (constant hazard: the expected
discounted life-years of exponential survival are 1 / (lambda + k)), one-off costs, drug cycles
(a geometric sum), supportive care after progression (a discounted flow) and toxicity
disutilities.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import CONFIGS, make_scenario
from oligosim import codes
from oligosim.economics.accrue import RESULT_COLUMNS, accrue_chunk
from oligosim.economics.inputs import CATEGORIES, lower_economics, monthly_rate


@pytest.fixture(scope="module")
def params():
    sc = make_scenario("[economics]\nenabled = true\n", base=CONFIGS / "default.toml")
    return sc, lower_economics(sc, "systemic_only")


def _zero_costs(P, **kw):
    """P with every cost 0 (then the named fields set)."""
    z = P._replace(
        induction_cost=P.induction_cost * 0, maintenance_cost=P.maintenance_cost * 0, entry_imaging=0.0, scan_cost=0.0,
        sbrt_course=0.0, sbrt_fraction=0.0, imrt_course=0.0, imrt_fraction=0.0, alternative_local=0.0,
        tox_cost=P.tox_cost * 0, treatment_death=0.0, tumour_fistula=0.0, supportive_month=0.0, end_of_life=0.0,
        procedure_cost=P.procedure_cost * 0,
    )
    return z._replace(**kw)


def _logs(rows):
    """Event arrays from a list of per-patient [(t, code, detail), ...]."""
    n, E = len(rows), max(len(r) for r in rows)
    t = np.zeros((n, E))
    c = np.zeros((n, E), np.int8)
    d = np.zeros((n, E), np.int16)
    for i, r in enumerate(rows):
        for j, (tt, cc, dd) in enumerate(r):
            t[i, j], c[i, j], d[i, j] = tt, cc, dd
    return t, c, d, np.array([len(r) for r in rows])


def _col(out, name):
    return out[RESULT_COLUMNS.index(name)]


def test_monthly_rate_discounts_whole_years_exactly():
    k = monthly_rate(0.05)
    assert math.exp(-k * 12.0) == pytest.approx(1 / 1.05, rel=1e-14)
    assert math.exp(-k * 120.0) == pytest.approx(1.05**-10, rel=1e-13)


def test_life_years_of_one_patient_closed_form(params):
    _, P = params
    T = 37.5
    t, c, d, n = _logs([[(0.0, codes.EV_ENTRY, 0), (T, codes.EV_DEATH_OTHER, 0)]])
    out, _ = accrue_chunk(t, c, d, n, np.array([T]), _zero_costs(P))
    k = P.rate_effects
    assert _col(out, "ly")[0] == pytest.approx((1 - math.exp(-k * T)) / k / 12, rel=1e-13)
    assert _col(out, "ly_undiscounted")[0] == pytest.approx(T / 12, rel=1e-15)
    # progression-free and off treatment the whole time
    assert _col(out, "qaly")[0] == pytest.approx(P.utility[1] * (1 - math.exp(-k * T)) / k / 12, rel=1e-13)


def test_exponential_survival_expected_discounted_qalys(params):
    """Constant hazard lambda: E[int_0^T u e^{-k s} ds] = u / (lambda + k); Monte Carlo within 4 SE."""
    _, P = params
    lam = 1 / 20.0
    rng = np.random.default_rng(7)
    T = rng.exponential(1 / lam, 20000)
    t = np.column_stack([np.zeros_like(T), T])
    c = np.tile(np.array([codes.EV_ENTRY, codes.EV_DEATH_DISEASE], np.int8), (T.size, 1))
    d = np.zeros_like(c, dtype=np.int16)
    eol = 10000.0
    out, cats = accrue_chunk(t, c, d, np.full(T.size, 2), T, _zero_costs(P, end_of_life=eol))
    ke, kc = P.rate_effects, P.rate_costs
    q = _col(out, "qaly")
    expected = P.utility[1] / (lam + ke) / 12
    assert abs(q.mean() - expected) < 4 * q.std(ddof=1) / math.sqrt(T.size)
    # terminal care at death: E[eol e^{-k T}] = eol lambda / (lambda + k)
    cost = _col(out, "cost")
    assert abs(cost.mean() - eol * lam / (lam + kc)) < 4 * cost.std(ddof=1) / math.sqrt(T.size)
    assert np.allclose(cats[:, CATEGORIES.index("end_of_life")], cost)


def test_drug_cycles_geometric_sum(params):
    """A 6-cycle induction without maintenance: 6 cycles at 0, L, ..., 5L, discounted."""
    sc, P = params
    reg = sorted(sc.data["regimens"]).index("tp")
    L = P.cycle_months[reg]
    price = 1234.0
    ind = np.zeros_like(P.induction_cost)
    ind[reg] = price
    end = 6 * L + 0.3  # stretched by a toxicity delay: still 6 cycles
    T = 40.0
    log = [(0.0, codes.EV_ENTRY, 0), (0.0, codes.EV_LINE_START, reg), (end, codes.EV_INDUCTION_END, reg), (T, codes.EV_CENSORED, 0)]
    out, cats = accrue_chunk(*_logs([log]), np.array([T]), _zero_costs(P, induction_cost=ind))
    k = P.rate_costs
    expected = price * (1 - math.exp(-k * 6 * L)) / (1 - math.exp(-k * L))
    assert _col(out, "cost")[0] == pytest.approx(expected, rel=1e-12)
    assert _col(out, "cost_undiscounted")[0] == pytest.approx(6 * price, rel=1e-15)
    # on treatment until the induction ends, off afterwards
    ke = P.rate_effects
    q = P.utility[0] * (1 - math.exp(-ke * end)) / ke + P.utility[1] * (math.exp(-ke * end) - math.exp(-ke * T)) / ke
    assert _col(out, "qaly")[0] == pytest.approx(q / 12, rel=1e-12)


def test_maintenance_cycles_until_the_line_stops(params):
    sc, P = params
    reg = sorted(sc.data["regimens"]).index("tp_pd1")
    L = P.cycle_months[reg]
    mnt = np.zeros_like(P.maintenance_cost)
    mnt[reg] = 100.0
    t_ind = 6 * L
    stop = t_ind + 3.5 * L  # stopped during the 4th maintenance cycle: 4 given
    log = [(0.0, codes.EV_LINE_START, reg), (t_ind, codes.EV_INDUCTION_END, reg), (stop, codes.EV_LINE_STOP, reg), (30.0, codes.EV_CENSORED, 0)]
    out, _ = accrue_chunk(*_logs([log]), np.array([30.0]), _zero_costs(P, maintenance_cost=mnt))
    assert _col(out, "cost_undiscounted")[0] == pytest.approx(400.0, rel=1e-15)
    k = P.rate_costs
    assert _col(out, "cost")[0] == pytest.approx(sum(100 * math.exp(-k * (t_ind + j * L)) for j in range(4)), rel=1e-12)


def test_supportive_care_scan_and_toxicity(params):
    _, P = params
    tp, T = 10.0, 25.0
    tox_t, k_tox = 3.0, codes.NEUTROPENIA
    log = [
        (0.0, codes.EV_ENTRY, 0), (tox_t, codes.EV_TOXICITY, k_tox), (tp, codes.EV_SCAN, codes.SCAN_SCHEDULED),
        (tp, codes.EV_PROGRESSION, 1), (T, codes.EV_DEATH_OTHER, 0),
    ]
    toxc = np.zeros_like(P.tox_cost)
    toxc[k_tox] = 700.0
    Q = _zero_costs(P, supportive_month=100.0, scan_cost=50.0, tox_cost=toxc)
    out, cats = accrue_chunk(*_logs([log]), np.array([T]), Q)
    kc, ke = P.rate_costs, P.rate_effects
    bsc = 100.0 * (math.exp(-kc * tp) - math.exp(-kc * T)) / kc
    assert cats[0, CATEGORIES.index("supportive_care")] == pytest.approx(bsc, rel=1e-6)  # float32 column
    expected = bsc + 50.0 * math.exp(-kc * tp) + 700.0 * math.exp(-kc * tox_t)
    assert _col(out, "cost")[0] == pytest.approx(expected, rel=1e-12)
    D = P.disutility_months[k_tox]
    q = (
        P.utility[1] * (1 - math.exp(-ke * tp)) / ke
        + P.utility[2] * (math.exp(-ke * tp) - math.exp(-ke * T)) / ke
        - P.disutility[k_tox] * (math.exp(-ke * tox_t) - math.exp(-ke * (tox_t + D))) / ke
    )
    assert _col(out, "qaly")[0] == pytest.approx(q / 12, rel=1e-12)


def test_rt_course_costed_by_technique(params):
    _, P = params
    Q = _zero_costs(P, sbrt_course=1000.0, sbrt_fraction=100.0, imrt_course=500.0, imrt_fraction=10.0)
    day = 12.0 / 365.25
    # 5 fractions on 5 consecutive weekdays (5 calendar days): SBRT; 28 fractions over 38 calendar days: IMRT
    logs = [
        [(1.0, codes.EV_RT_START, 0), (1.0 + 5 * day, codes.EV_RT_END, 0), (20.0, codes.EV_CENSORED, 0)],
        [(1.0, codes.EV_RT_START, 0), (1.0 + 38 * day, codes.EV_RT_END, 0), (20.0, codes.EV_CENSORED, 0)],
    ]
    out, _ = accrue_chunk(*_logs(logs), np.array([20.0, 20.0]), Q)
    assert list(_col(out, "cost_undiscounted")) == [1000.0 + 5 * 100.0, 500.0 + 28 * 10.0]


def test_procedures_priced_by_modality(params):
    """Each surgery and each ablation chosen as local therapy costs its own price at its time
    (model 14.2), in the ``procedures`` category; the fallback surgery/ablation when RT is not
    feasible keeps its own price and category."""
    _, P = params
    cost = np.zeros(len(codes.LOCAL_NAMES))
    cost[codes.LOCAL_SURGERY], cost[codes.LOCAL_ABLATION] = 30000.0, 7000.0
    Q = _zero_costs(P, procedure_cost=cost, alternative_local=500.0)
    log = [
        (0.0, codes.EV_ENTRY, 0), (2.0, codes.EV_SURGERY, 0), (2.0, codes.EV_ABLATION, 1), (9.0, codes.EV_ABLATION, 1),
        (11.0, codes.EV_ALT_LOCAL, 2), (30.0, codes.EV_CENSORED, 0),
    ]
    out, cats = accrue_chunk(*_logs([log]), np.array([30.0]), Q)
    kc = P.rate_costs
    proc = 30000.0 * math.exp(-kc * 2.0) + 7000.0 * (math.exp(-kc * 2.0) + math.exp(-kc * 9.0))
    assert cats[0, CATEGORIES.index("procedures")] == pytest.approx(proc, rel=1e-6)  # float32 column
    assert cats[0, CATEGORIES.index("alternative_local")] == pytest.approx(500.0 * math.exp(-kc * 11.0), rel=1e-6)
    assert _col(out, "cost_undiscounted")[0] == pytest.approx(30000.0 + 2 * 7000.0 + 500.0, rel=1e-15)
    assert _col(out, "cost")[0] == pytest.approx(proc + 500.0 * math.exp(-kc * 11.0), rel=1e-12)


def test_procedure_costs_lowered_by_modality():
    sc = make_scenario("[economics]\nenabled = true\n[economics.procedures]\nsurgery = 123.0\nablation = 45.0\n", base=CONFIGS / "default.toml")
    P = lower_economics(sc, "systemic_only")
    assert P.procedure_cost[codes.LOCAL_RT] == 0.0
    assert P.procedure_cost[codes.LOCAL_SURGERY] == 123.0 and P.procedure_cost[codes.LOCAL_ABLATION] == 45.0


def test_truncated_log_is_refused(params):
    _, P = params
    t, c, d, n = _logs([[(0.0, codes.EV_ENTRY, 0), (5.0, codes.EV_CENSORED, 0)]])
    with pytest.raises(ValueError, match="events but the log keeps 2"):
        accrue_chunk(t, c, d, np.array([3]), np.array([5.0]), P)
