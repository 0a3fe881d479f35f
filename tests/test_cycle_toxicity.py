"""Per-cycle toxicity (model 5.5): a regimen's grade >= 3 probability of a type given per cycle.

The first event of a type with per-cycle probability p falls in the geometric cycle
j = floor(log(1 - u) / log(1 - p)) + 1 of the type's first TOXICITY uniform u, at the fraction v
(its second uniform) of that cycle, if the line gives that cycle. Tested here: the closed form
against its definition and between the engines; the share of full courses of n cycles with an
event, 1 - (1 - p)^n, and the cycle index's (truncated) geometric law, against binomial standard
errors; lines stopped early against the exact expected count; common random numbers (a full
course has the event under the per-cycle rule exactly when it has it under the per-line rule of
the same course probability); maintenance cycles; and the configuration rules.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import cycletox as kcycle
from oligosim.config import ConfigError
from oligosim.config.leaves import DAYS_PER_MONTH
from oligosim.lowering import regimen_names
from oligosim.reference import cycletox as rcycle

from conftest import CONFIGS

from oligosim.config import load_scenario

N = 3000
SEED = 41
P_CYCLE = 0.15
N_TP = 6  # tp: six 3-week cycles, no maintenance (configs/base.toml)
CYCLE = 21.0 / DAYS_PER_MONTH


def _scenario(**values):
    """The default scenario's systemic-only arm on paclitaxel-cisplatin (no maintenance, no RT),
    toxicity not scaled by age, not stopping lines, fatigue the only type of tp."""
    base = {
        "arms.systemic_only.first_line": "tp",
        "toxicity.elderly_odds_ratio": 1.0,
        "toxicity.discontinue_probability": 0.0,
        "regimens.tp.grade5": 0.0,
    }
    for t in codes.SYSTEMIC_TOX_NAMES:
        base[f"regimens.tp.grade3plus.{t}"] = 0.0
    base.update(values)
    return load_scenario(CONFIGS / "default.toml").with_values(base)


def _lines(arm, reg, kind):
    """Every line of regimen code ``reg`` in a complete event log: (start, end, full, event
    times of toxicity ``kind`` from its start to its end or the next line)."""
    out = []
    cap = arm.ev_time.shape[1]
    for j in range(arm.n):
        if int(arm["ev_n"][j]) > cap:
            continue
        code, t, det = arm.ev_code[j], arm.ev_time[j], arm.ev_detail[j]
        k = int(arm["ev_n"][j])
        starts = [i for i in range(k) if code[i] == codes.EV_LINE_START]
        for s_idx, i in enumerate(starts):
            if det[i] != reg:
                continue
            stop = starts[s_idx + 1] if s_idx + 1 < len(starts) else k
            end, full = math.inf, False
            for q in range(i + 1, stop):
                if code[q] in (codes.EV_INDUCTION_END, codes.EV_LINE_STOP):
                    end, full = float(t[q]), code[q] == codes.EV_INDUCTION_END
                    break
            tox = [float(t[q]) for q in range(i + 1, stop) if code[q] == codes.EV_TOXICITY and det[q] == kind]
            out.append((float(t[i]), end, full, tox))
    return out


@pytest.fixture(scope="module")
def runs():
    """The same cohort with tp's fatigue per cycle (P_CYCLE) and per line (the same full-course
    probability), same seed."""
    p_line = 1.0 - (1.0 - P_CYCLE) ** N_TP
    cyc = _scenario(**{"regimens.tp.grade3plus_per_cycle.fatigue": P_CYCLE})
    line = _scenario(**{"regimens.tp.grade3plus.fatigue": p_line})
    reg = regimen_names(cyc).index("tp")
    out = {}
    for name, sc in (("cycle", cyc), ("line", line)):
        arm = simulate.run_scenario(sc, patients=N, seed=SEED, arms=["systemic_only"], events=True).arms["systemic_only"]
        out[name] = _lines(arm, reg, codes.FATIGUE)
    return out


def test_first_cycle_is_its_definition_in_both_engines():
    """The closed form is the smallest j with u < 1 - (1 - p)^j, the same in both engines."""
    rng = np.random.default_rng(5)
    for p in (1e-4, 0.01, 0.15, 0.5, 0.9):
        for u in rng.random(200):
            j = kcycle.first_cycle(p, u)
            assert j == rcycle.cycle_of_first_event(p, u)
            assert u < 1.0 - (1.0 - p) ** j
            assert j == 1.0 or u >= 1.0 - (1.0 - p) ** (j - 1.0)
    assert kcycle.first_cycle(0.0, 0.3) == math.inf and rcycle.cycle_of_first_event(0.0, 0.3) == math.inf
    assert kcycle.first_cycle(1.0, 0.99) == 1.0
    assert kcycle.event_time(0.15, 0.0, 0.5, 10.0, 0.7, 6) == pytest.approx(10.35)
    assert kcycle.event_time(0.15, 0.999, 0.5, 10.0, 0.7, 6) == math.inf


def test_cycles_count_maintenance():
    """Induction cycles plus the cycles started during maintenance: ceil(months / cycle)."""
    sc = load_scenario(CONFIGS / "default.toml")
    from oligosim.lowering import lower_regimens

    R = lower_regimens(sc)
    for name in regimen_names(sc):
        reg = regimen_names(sc).index(name)
        r = sc.data["regimens"][name]
        cyc = r["cycle_days"] / DAYS_PER_MONTH
        want = r["induction_cycles"] + (math.ceil(r["maintenance_months"] / cyc - 1e-9) if r["maintenance_months"] else 0)
        assert kcycle.n_cycles(R, reg) == want == rcycle.max_cycles(R, reg)


def test_full_course_share_and_geometric_cycle(runs):
    """A line that gives its n cycles has the event with probability 1 - (1 - p)^n, in cycle j
    with probability p (1 - p)^(j - 1) / (1 - (1 - p)^n) (within 4 standard errors)."""
    full = [ln for ln in runs["cycle"] if ln[2]]
    assert len(full) > 1000
    hit = np.array([bool(ln[3]) for ln in full])
    want = 1.0 - (1.0 - P_CYCLE) ** N_TP
    se = math.sqrt(want * (1.0 - want) / hit.size)
    assert abs(hit.mean() - want) < 4.0 * se, (hit.mean(), want, se)
    j = np.array([math.floor((ln[3][0] - ln[0]) / CYCLE) + 1 for ln in full if ln[3]])
    assert j.min() >= 1 and j.max() <= N_TP
    for c in range(1, N_TP + 1):
        q = P_CYCLE * (1.0 - P_CYCLE) ** (c - 1) / want
        share = float(np.mean(j == c))
        assert abs(share - q) < 4.0 * math.sqrt(q * (1.0 - q) / j.size), (c, share, q)


def test_full_courses_agree_with_the_per_line_rule(runs):
    """Same seed: the same lines run their full course, and each has the event under the
    per-cycle rule exactly when it has it under the per-line rule of the same course
    probability (common random numbers); lines stopped early differ."""
    a = [(ln[0], ln[1], ln[2], bool(ln[3])) for ln in runs["cycle"]]
    b = [(ln[0], ln[1], ln[2], bool(ln[3])) for ln in runs["line"]]
    # the toxicity changes no course: the same lines, starting and ending at the same times (to
    # rounding: an extra event splits the growth integration at another time)
    assert len(a) == len(b) and [x[2] for x in a] == [x[2] for x in b]
    assert np.allclose([x[:2] for x in a], [x[:2] for x in b], rtol=0.0, atol=1e-9)
    full = [(x[3], y[3]) for x, y in zip(a, b) if x[2]]
    assert len(full) > 1000 and all(x == y for x, y in full)
    stopped = [(x[3], y[3]) for x, y in zip(a, b) if not x[2] and x[1] < math.inf]
    assert any(x != y for x, y in stopped)


def test_stopped_lines_give_the_cycles_they_gave(runs):
    """A line stopped d months after its start has the event by then with probability
    1 - (1 - p)^m + (1 - p)^m p f, m = floor(d / cycle), f = d / cycle - m (the cycles it gave,
    the last one up to the stop); the count matches within 4 standard errors, and is below the
    full-course probability's."""
    stopped = [ln for ln in runs["cycle"] if not ln[2] and ln[1] < math.inf]
    assert len(stopped) > 100
    expect = var = 0.0
    seen = 0
    for start, end, _, tox in stopped:
        x = (end - start) / CYCLE
        m = min(math.floor(x), N_TP)
        f = x - m if m < N_TP else 0.0
        q = 1.0 - (1.0 - P_CYCLE) ** m + (1.0 - P_CYCLE) ** m * P_CYCLE * f
        expect += q
        var += q * (1.0 - q)
        seen += any(t < end for t in tox)
    assert abs(seen - expect) < 4.0 * math.sqrt(var), (seen, expect, math.sqrt(var))
    assert seen / len(stopped) < 1.0 - (1.0 - P_CYCLE) ** N_TP


def test_patient_odds_scale_the_per_cycle_probability():
    """Older patients' per-cycle probability has its odds multiplied by the elderly odds ratio
    (centred on no elderly share: younger patients keep p): each age group's full courses have
    the event with 1 - (1 - p')^n (within 4 standard errors)."""
    odds = 3.0
    sc = _scenario(**{
        "regimens.tp.grade3plus_per_cycle.fatigue": P_CYCLE,
        "toxicity.elderly_odds_ratio": odds,
        "toxicity.elderly_reference_share": 0.0,
        "toxicity.ecog2_odds_ratio": 1.0,
    })
    reg = regimen_names(sc).index("tp")
    arm = simulate.run_scenario(sc, patients=N, seed=SEED + 1, arms=["systemic_only"], events=True).arms["systemic_only"]
    elderly = float(sc.data["toxicity"]["elderly_age_years"])
    hits = {True: [], False: []}
    cap = arm.ev_time.shape[1]
    for j in range(arm.n):
        if int(arm["ev_n"][j]) > cap:
            continue
        one = _lines(_Single(arm, j), reg, codes.FATIGUE)
        for start, end, full, tox in one:
            if full:
                hits[bool(arm["age"][j] >= elderly)].append(bool(tox))
    for old, h in hits.items():
        p = P_CYCLE * odds / (1.0 - P_CYCLE + P_CYCLE * odds) if old else P_CYCLE
        want = 1.0 - (1.0 - p) ** N_TP
        assert len(h) > 100
        se = math.sqrt(want * (1.0 - want) / len(h))
        assert abs(np.mean(h) - want) < 4.0 * se, (old, np.mean(h), want, se)


class _Single:
    """One patient of an arm's results, as an arm of one patient (for :func:`_lines`)."""

    def __init__(self, arm, j):
        self.n = 1
        self.ev_time, self.ev_code, self.ev_detail = arm.ev_time[j : j + 1], arm.ev_code[j : j + 1], arm.ev_detail[j : j + 1]
        self._ev_n = arm["ev_n"][j : j + 1]

    def __getitem__(self, key):
        assert key == "ev_n"
        return self._ev_n


def test_maintenance_cycles_give_events_and_fewer_when_lines_stop():
    """Camrelizumab pneumonitis per cycle over induction and maintenance (33 cycles) against the
    same course probability per line (at uniform times in induction): events fall in
    maintenance too, and lines stopped at progression before the course's end give fewer."""
    sc = load_scenario(CONFIGS / "default.toml")
    base = {"toxicity.elderly_odds_ratio": 1.0, "toxicity.discontinue_probability": 0.0}
    from oligosim.lowering import lower_regimens

    reg = regimen_names(sc).index("tp_pd1")
    n = kcycle.n_cycles(lower_regimens(sc), reg)
    p_c = 0.01
    p_line = 1.0 - (1.0 - p_c) ** n
    cyc = sc.with_values({**base, "regimens.tp_pd1.grade3plus.pneumonitis": 0.0, "regimens.tp_pd1.grade3plus_per_cycle.pneumonitis": p_c})
    line = sc.with_values({**base, "regimens.tp_pd1.grade3plus.pneumonitis": p_line})
    counts = {}
    late = 0
    for name, s in (("cycle", cyc), ("line", line)):
        arm = simulate.run_scenario(s, patients=N, seed=SEED, arms=["systemic_only"], events=True).arms["systemic_only"]
        lines = _lines(arm, reg, codes.PNEUMONITIS)
        counts[name] = sum(bool(ln[3]) for ln in lines)
        if name == "cycle":
            late = sum(1 for ln in lines if ln[3] and ln[2] and ln[3][0] > ln[1])
    assert late > 0  # maintenance anti-PD-1 causes events after the induction's end
    # every line starts with the same u; the per-line rule has the event whenever u < p_line
    # (all in induction), the per-cycle one only if the line reaches the event's cycle
    se = math.sqrt(counts["line"])
    assert counts["cycle"] < counts["line"] - 4.0 * se, counts


def test_both_per_line_and_per_cycle_is_an_error():
    sc = load_scenario(CONFIGS / "default.toml")
    per_line = re.escape(repr(sc.data["regimens"]["tp"]["grade3plus"]["neutropenia"]))
    with pytest.raises(ConfigError, match=rf"regimens\.tp\.grade3plus\.neutropenia = {per_line}: a type is given per line or per cycle, not both"):
        sc.with_values({"regimens.tp.grade3plus_per_cycle.neutropenia": 0.05})
    with pytest.raises(ConfigError, match=r"regimens\.tp\.grade5 = 0\.005: .*grade5_per_cycle = 0\.001"):
        sc.with_values({"regimens.tp.grade5_per_cycle": 0.001})
    ok = sc.with_values({"regimens.tp.grade5_per_cycle": 0.001, "regimens.tp.grade5": 0.0})
    assert ok.data["regimens"]["tp"]["grade5_per_cycle"] == 0.001


@pytest.mark.parametrize("value", [1.0, -0.01, 1.5])
def test_per_cycle_probability_in_unit_interval(value):
    sc = load_scenario(CONFIGS / "default.toml")
    with pytest.raises(ConfigError, match=r"regimens\.tp\.grade3plus_per_cycle\.fatigue = .*must be within \[0, 1\)"):
        sc.with_values({"regimens.tp.grade3plus.fatigue": 0.0, "regimens.tp.grade3plus_per_cycle.fatigue": value})
