"""Exact and structural tests of the simulation engine (``oligosim._kernels.engine``).

* determinism: results depend only on (scenario, seed, patient index), not on threads, chunk
  or block sizes, or on which other arms are run;
* common random numbers: the same virtual patient enters every arm, and arms that differ only
  in what happens after a first progression agree on everything before it;
* exact event sequences in a model with the randomness switched off (``tests/data/scenarios/
  quiet.toml``), against times computed here from the parameters;
* eligibility.

Scenarios are written in this file or in ``tests/data/scenarios/``; nothing depends on the
values of ``configs/default.toml`` or on schema defaults the tests do not state.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy.optimize import brentq

from conftest import (
    CONFIGS,
    EV,
    assert_arms_identical,
    event_log,
    load_fixture,
    make_scenario,
    months_of_days,
    quiet_scenario,
)
from oligosim import codes
from oligosim._kernels import cohort as C
from oligosim._kernels import hazards
from oligosim._kernels import rng
from oligosim._kernels.state import new_lesions, new_workspace
from oligosim.config import load_scenario
from oligosim.lowering import lower_model, regimen_names
from oligosim.reference import run_scenario_reference
from oligosim.results import LC_RECORDS
from oligosim.simulate import InfeasibleCohort, run_scenario

N = 300  # patients per arm in the structural tests (all arms together run in well under 1 s)


@pytest.fixture(scope="module")
def busy():
    return load_fixture("busy.toml")


@pytest.fixture(scope="module")
def busy_run(busy):
    return run_scenario(busy, patients=N, seed=11, events=True, threads=1)


# ============================================================================ determinism


def test_same_seed_is_bit_identical_across_threads_chunks_and_blocks(busy, busy_run):
    threads_before = numba.get_num_threads()
    other = run_scenario(busy, patients=N, seed=11, events=True, threads=2, chunk=37, block=5)
    assert numba.get_num_threads() == threads_before, "run_scenario must restore the thread count"
    assert list(other.arms) == list(busy_run.arms)
    for name in busy_run.arms:
        assert_arms_identical(busy_run.arms[name], other.arms[name], label=name)
    # a chunk of one patient and a block larger than the chunk
    tiny = run_scenario(busy, patients=40, seed=11, events=True, chunk=1, block=1000)
    for name in busy_run.arms:
        assert_arms_identical(busy_run.arms[name], tiny.arms[name], rows=slice(0, 40), label=name)


def test_single_arm_run_equals_the_same_arm_in_a_full_run(busy, busy_run):
    for name in ("at_progression", "local_only"):
        alone = run_scenario(busy, patients=N, seed=11, events=True, arms=[name])
        assert list(alone.arms) == [name]
        assert_arms_identical(busy_run.arms[name], alone.arms[name], label=name)


def test_event_log_does_not_change_the_simulation(busy, busy_run):
    plain = run_scenario(busy, patients=N, seed=11, events=False)
    for name, arm in plain.arms.items():
        assert arm.ev_time.shape == (N, 0)
        ref = busy_run.arms[name]
        for c in arm.columns:
            if c == "ev_n":
                continue  # counts events whether or not they are kept
            assert np.array_equal(arm[c], ref[c], equal_nan=True), f"{name}.{c}"
        assert np.array_equal(arm.tox, ref.tox) and np.array_equal(arm.lc_time, ref.lc_time)


def test_patients_do_not_depend_on_the_number_of_patients(busy, busy_run):
    # patient i is a function of (seed, i): a run of 50 is the first 50 rows of a run of 300
    small = run_scenario(busy, patients=50, seed=11, events=True)
    for name in busy_run.arms:
        assert_arms_identical(busy_run.arms[name], small.arms[name], rows=slice(0, 50), label=name)


def test_different_seed_gives_different_patients(busy, busy_run):
    other = run_scenario(busy, patients=N, seed=12, events=True, arms=["upfront"])
    a, b = busy_run.arms["upfront"], other.arms["upfront"]
    assert not np.array_equal(a["age"], b["age"])
    assert not np.array_equal(a["os"], b["os"])
    # not merely a permutation or a shift: almost every patient differs
    assert np.mean(a["os"] != b["os"]) > 0.5


def test_seed_zero_is_a_seed(busy):
    r0 = run_scenario(busy, patients=30, seed=0, arms=["upfront"])
    r0b = run_scenario(busy, patients=30, seed=0, arms=["upfront"])
    r1 = run_scenario(busy, patients=30, seed=1, arms=["upfront"])
    assert np.array_equal(r0.arms["upfront"]["os"], r0b.arms["upfront"]["os"])
    assert not np.array_equal(r0.arms["upfront"]["os"], r1.arms["upfront"]["os"])


@pytest.mark.parametrize("kw", [{"patients": 0}, {"seed": -1}, {"chunk": 0}, {"block": 0}])
def test_run_scenario_rejects_bad_arguments(busy, kw):
    args = {"patients": 10, "seed": 1} | kw
    with pytest.raises(ValueError):
        run_scenario(busy, **args)


# ============================================================================ common random numbers

COHORT_COLUMNS = ("age", "histology", "presentation", "dfi", "kps", "pdl1_high", "n_visible_entry", "n_lesions_entry", "attempts")


def test_cohort_is_identical_in_every_arm_of_the_default_scenario(default_scenario):
    res = run_scenario(default_scenario, patients=400, seed=5)
    arms = list(res.arms.values())
    assert len(arms) >= 2
    for arm in arms[1:]:
        for c in COHORT_COLUMNS:
            assert np.array_equal(arms[0][c], arm[c]), f"{c} differs between {arms[0].name} and {arm.name}"


def test_cohort_is_identical_in_every_arm_of_busy(busy_run):
    arms = list(busy_run.arms.values())
    for arm in arms[1:]:
        for c in COHORT_COLUMNS:
            assert np.array_equal(arms[0][c], arm[c]), f"{c} differs in {arm.name}"


def test_background_death_time_is_common_to_all_arms(busy_run):
    # other-cause death is drawn once per patient at entry: a patient who dies of other causes
    # in two arms dies at the same time in both
    arms = list(busy_run.arms.values())
    checked = 0
    for i, a in enumerate(arms):
        for b in arms[i + 1 :]:
            both = (a["death_cause"] == codes.DEATH_OTHER) & (b["death_cause"] == codes.DEATH_OTHER)
            assert np.array_equal(a["os"][both], b["os"][both]), f"{a.name} vs {b.name}"
            checked += both.sum()
    assert checked > 0


def test_arms_differing_only_in_label_are_identical():
    sc = make_scenario(
        """
[arms.a]
label = "first"
first_line = "tp_pd1"
second_line = "irinotecan_pd1"
rt_timing = "consolidative"
[arms.b]
label = "second"
first_line = "tp_pd1"
second_line = "irinotecan_pd1"
rt_timing = "consolidative"
""",
        base="busy.toml",
    )
    res = run_scenario(sc, patients=N, seed=3, events=True, arms=["a", "b"])
    assert res.arms["a"].label == "first" and res.arms["b"].label == "second"
    assert_arms_identical(res.arms["a"], res.arms["b"], label="a vs b")


def _first_progression_index(arm, j):
    k = min(int(arm["ev_n"][j]), arm.ev_code.shape[1])
    hits = np.flatnonzero(arm.ev_code[j, :k] == EV["progression"])
    return int(hits[0]) if hits.size else None


def _check_identical_until_first_progression(a, b):
    """a and b are the same arm but for a policy applied at progressions only."""
    n_clean = 0
    for j in range(a.n):
        ia = _first_progression_index(a, j)
        ib = _first_progression_index(b, j)
        assert ia == ib, f"patient {j}: first progression at event {ia} vs {ib}"
        if ia is None:
            # never progressed: nothing can differ
            assert_arms_identical(a, b, rows=slice(j, j + 1), label=f"patient {j}")
            n_clean += 1
        else:
            # everything up to and including the first progression is shared
            m = ia + 1
            assert a.ev_time[j, :m].tobytes() == b.ev_time[j, :m].tobytes(), f"patient {j}"
            assert a.ev_code[j, :m].tobytes() == b.ev_code[j, :m].tobytes(), f"patient {j}"
            assert a.ev_detail[j, :m].tobytes() == b.ev_detail[j, :m].tobytes(), f"patient {j}"
    for c in ("pfs", "pfs_event", "first_failure", "estro_first"):
        assert np.array_equal(a[c], b[c]), c
    return n_clean


@pytest.mark.parametrize(
    "arm, path, value",
    [
        ("at_progression", "progression.slow_months", 24.0),
        ("upfront", "progression.local_therapy", "none"),
        ("systemic_only", "second_line", "none"),
        ("concurrent", "progression.max_courses", 0),
    ],
)
def test_policies_at_progression_do_not_touch_patients_before_it(busy, arm, path, value):
    other = busy.with_values({f"arms.{arm}.{path}": value})
    a = run_scenario(busy, patients=N, seed=21, events=True, arms=[arm]).arms[arm]
    b = run_scenario(other, patients=N, seed=21, events=True, arms=[arm]).arms[arm]
    assert a["ev_n"].max() <= a.ev_time.shape[1], "event log overflow: raise EVENT_RECORDS or shorten the horizon"
    n_clean = _check_identical_until_first_progression(a, b)
    assert n_clean >= 5, "too few patients without progression for the test to mean anything"
    # and the policy does matter for some patients (else the test proves nothing)
    assert not np.array_equal(a["os"], b["os"]) or not np.array_equal(a["wpfs"], b["wpfs"])


# ============================================================================ exact event sequences

DPM = 365.25 / 12.0  # days per month
CYCLE_DAYS, CYCLES = 21, 6
DELAY_DAYS = 14.0
HORIZON = 36.0


def weekday_course_days(fractions: int, per_day: int = 1) -> int:
    """Calendar days from the first to the last fraction inclusive, treating Monday to Friday
    and starting on a Monday (enumerated day by day, independently of the engine's formula)."""
    day, left = 0, fractions
    while True:
        if day % 7 < 5:
            left -= per_day
            if left <= 0:
                return day + 1
        day += 1


def scan_times(first=2.0, horizon=HORIZON):
    """Scheduled scans: first_scan, then every 3 months before 24, 4.5 before 60, else 12."""
    out, t = [], first
    while t < horizon:
        out.append(t)
        t = t + (3.0 if t < 24.0 else 4.5 if t < 60.0 else 12.0)
    return out


@pytest.mark.parametrize(
    "fractions, per_day, days",
    [(1, 1, 1), (5, 1, 5), (6, 1, 8), (10, 1, 12), (28, 1, 38), (30, 1, 40), (28, 2, 18), (3, 3, 1)],
)
def test_weekday_course_helper(fractions, per_day, days):
    # the reference used below, pinned on hand-checked cases (28 fractions: 5 weeks + 3 days)
    assert weekday_course_days(fractions, per_day) == days


#: one arm with the quiet regimen, no RT and no local therapy at progression
ARM_SYSTEMIC_ONLY = """
[arms.systemic]
first_line = "quiet"
rt_timing = "none"
progression.local_therapy = "none"
"""

ARMS_QUIET = """
[arms.systemic]
first_line = "quiet"
rt_timing = "none"
progression.local_therapy = "none"
[arms.upfront]
first_line = "quiet"
rt_timing = "upfront"
metastasis_dose_gy = 40.0
metastasis_fractions = {fx}
fractions_per_day = {per_day}
[arms.concurrent]
first_line = "quiet"
rt_timing = "concurrent"
metastasis_dose_gy = 40.0
metastasis_fractions = {fx}
fractions_per_day = {per_day}
[arms.consolidative]
first_line = "quiet"
rt_timing = "consolidative"
consolidative_after_cycles = 4
metastasis_dose_gy = 40.0
metastasis_fractions = {fx}
fractions_per_day = {per_day}
[arms.at_progression]
first_line = "quiet"
rt_timing = "at_progression"
[arms.nothing]
first_line = "none"
rt_timing = "none"
"""


def _expected(arm: str, fx: int, per_day: int, reg: int):
    """(time, event name, detail or None) expected for every patient of the quiet model."""
    dur = CYCLES * CYCLE_DAYS / DPM
    rt0 = DELAY_DAYS / DPM
    course = weekday_course_days(fx, per_day) / DPM
    ev = [(0.0, "entry", 1)]
    if arm in ("systemic", "at_progression"):
        ev += [(0.0, "line_start", reg), (dur, "induction_end", reg)]
    elif arm == "upfront":
        # RT first; the line starts when the course ends
        ev += [(rt0, "rt_start", 0), (rt0 + course, "rt_end", 0), (rt0 + course, "line_start", reg)]
        ev += [(rt0 + course + dur, "induction_end", reg)]
    elif arm == "concurrent":
        # chemotherapy starts with the first fraction (after planning), RT alongside it;
        # induction is not delayed by the course
        ev += [(rt0, "rt_start", 0), (rt0, "line_start", reg), (rt0 + course, "rt_end", 0), (rt0 + dur, "induction_end", reg)]
    elif arm == "consolidative":
        # restaging after 4 cycles, RT start_delay later; chemotherapy pauses for the course
        start = 4 * CYCLE_DAYS / DPM + rt0
        ev += [(0.0, "line_start", reg), (start, "rt_start", 0), (start + course, "rt_end", 0), (dur + course, "induction_end", reg)]
    ev += [(t, "scan", None) for t in scan_times()]
    ev.sort(key=lambda e: e[0])  # stable: ties keep the order written above
    ev.append((HORIZON, "censored", 0))
    return ev


@pytest.mark.parametrize("fx, per_day", [(5, 1), (28, 1), (10, 2)])
def test_exact_event_sequences_of_the_quiet_model(fx, per_day):
    sc = quiet_scenario(ARMS_QUIET.format(fx=fx, per_day=per_day))
    reg = regimen_names(sc).index("quiet")
    res = run_scenario(sc, patients=6, seed=1, events=True)
    volume = math.pi / 6.0 * 1.6**3
    bed10 = 40.0 * (1.0 + 40.0 / fx / 10.0)
    if per_day == 2:
        # twice daily, 6 h apart: each day's second fraction meets the share theta of the first's
        # damage unrepaired, 2 theta extra quadratic terms a day (Thames 1985, model 6.2)
        theta = 0.5 ** (6.0 / sc.data["radiotherapy"]["repair_half_time_early_h"])
        bed10 += (fx // 2) * 2.0 * theta * (40.0 / fx) ** 2 / 10.0
    for name, arm in res.arms.items():
        want = _expected(name, fx, per_day, reg)
        for j in range(arm.n):
            got = event_log(arm, j)
            assert [g[1] for g in got] == [w[1] for w in want], f"{name}, patient {j}"
            for g, w in zip(got, want):
                assert g[0] == pytest.approx(w[0], rel=1e-12, abs=1e-12), f"{name}, patient {j}: {g} vs {w}"
                if w[2] is not None:
                    assert g[2] == w[2], f"{name}, patient {j}: detail of {g}"
            times = [g[0] for g in got]
            assert times == sorted(times)
            assert arm["os"][j] == got[-1][0]
        # the horizon censors everyone: no death hazard, no progression
        assert np.all(arm["os"] == HORIZON) and not arm["os_event"].any()
        assert np.all(arm["death_cause"] == codes.ALIVE)
        assert np.all(arm["pfs"] == HORIZON) and not arm["pfs_event"].any()
        assert np.all(arm["wpfs"] == HORIZON) and not arm["wpfs_event"].any()
        assert np.all(arm["first_failure"] == codes.FAIL_NONE)
        assert not arm.tox.any()
        assert np.all(arm["n_visible_entry"] == 1) and np.all(arm["n_lesions_entry"] == 1)
        irradiated = name in ("upfront", "concurrent", "consolidative")
        assert np.all(arm["rt_courses"] == int(irradiated))
        assert np.all(arm["lines"] == (0 if name == "nothing" else 1))
        assert np.all(arm["lc_n"] == int(irradiated))
        if irradiated:
            rt_end = [w[0] for w in want if w[1] == "rt_end"][0]
            np.testing.assert_allclose(arm.lc_time[:, 0], HORIZON - rt_end, rtol=1e-12)
            assert not arm.lc_event.any()
            np.testing.assert_allclose(arm.lc_bed[:, 0], bed10, rtol=1e-12)
            # the lesion grows at ln 2 / 1e9 per month from entry to the end of the course
            np.testing.assert_allclose(arm.lc_volume[:, 0], volume * math.exp(math.log(2) / 1e9 * rt_end), rtol=1e-12)
        assert arm.lc_time.shape[1] == LC_RECORDS and np.all(arm.lc_time[:, 1:] == 0.0)


def test_resistance_and_maintenance_times():
    sc = quiet_scenario(
        ARM_SYSTEMIC_ONLY,
        {
            "regimens.quiet.durable_fraction": 0.0,
            "regimens.quiet.resistance_median_months": 4.0,
            "regimens.quiet.maintenance_months": 3.0,
        },
    )
    arm = run_scenario(sc, patients=4, seed=2, events=True).arms["systemic"]
    dur = CYCLES * CYCLE_DAYS / DPM
    for j in range(arm.n):
        got = [(t, e) for t, e, _ in event_log(arm, j) if e != "scan"]
        assert [e for _, e in got] == ["entry", "line_start", "resistance", "induction_end", "maintenance_end", "censored"]
        times = dict((e, t) for t, e in got)
        assert times["resistance"] == pytest.approx(4.0, rel=1e-12)  # sdlog 0: the median
        assert times["induction_end"] == pytest.approx(dur, rel=1e-12)
        assert times["maintenance_end"] == pytest.approx(dur + 3.0, rel=1e-12)


def test_cytopenia_delays_the_induction_by_delay_days():
    sc = quiet_scenario(
        ARM_SYSTEMIC_ONLY,
        {"regimens.quiet.grade3plus.neutropenia": 1.0, "regimens.quiet.grade3plus.fatigue": 1.0},
    )
    arm = run_scenario(sc, patients=20, seed=4, events=True).arms["systemic"]
    dur = CYCLES * CYCLE_DAYS / DPM
    assert arm.tox[:, codes.NEUTROPENIA].all() and arm.tox[:, codes.FATIGUE].all()
    for j in range(arm.n):
        log = event_log(arm, j)
        tox = [(t, d) for t, e, d in log if e == "toxicity"]
        assert sorted(d for _, d in tox) == [codes.NEUTROPENIA, codes.FATIGUE]
        # toxicity times are uniform over the planned induction
        assert all(0.0 < t < dur for t, _ in tox)
        end = [t for t, e, _ in log if e == "induction_end"]
        # a cytopenia pushes the end of induction by toxicity.delay_days (7); fatigue does not
        assert end == [pytest.approx(dur + months_of_days(7.0), rel=1e-12)]


def test_background_death_ends_the_record():
    sc = quiet_scenario(
        """
[arms.upfront]
first_line = "quiet"
rt_timing = "upfront"
""",
        {"background_mortality.rate_at_60_per_year": 0.5},
    )
    arm = run_scenario(sc, patients=200, seed=8, events=True).arms["upfront"]
    died = arm["death_cause"] == codes.DEATH_OTHER
    assert 0.6 < died.mean() < 0.95  # P(death before 36 months) = 1 - exp(-1.5) = 0.78
    for j in range(arm.n):
        log = event_log(arm, j)
        assert log[-1][1] == ("death_other" if died[j] else "censored")
        assert sum(e in ("death_other", "censored") for _, e, _ in log) == 1
        assert arm["os"][j] == log[-1][0]
        assert arm["os_event"][j] == died[j]
        if died[j]:
            assert arm["pfs"][j] == arm["os"][j] and arm["pfs_event"][j]
            assert arm["wpfs"][j] == arm["os"][j] and arm["wpfs_event"][j]


# ============================================================================ eligibility


# ``n_visible_entry`` is the number of visible metastases counted as consensus statement 1
# counts them, i.e. the count eligibility applies (engine.simulate_patient): the primary never
# counts, regional nodes do not count for synchronous disease (all together count as one for
# metachronous disease), distant nodes count once per station.


@pytest.mark.parametrize("lo, hi", [(1, 1), (2, 2), (1, 3)])
def test_visible_lesion_count_at_entry_meets_the_lesion_criteria(lo, hi):
    sc = load_fixture("busy.toml").with_values(
        {"cohort.eligibility.min_lesions": lo, "cohort.eligibility.max_lesions": hi, "cohort.eligibility.definition": "none"}
    )
    arm = run_scenario(sc, patients=N, seed=9, arms=["upfront"]).arms["upfront"]
    nv = arm["n_visible_entry"]
    assert np.all((nv >= lo) & (nv <= hi))
    if lo < hi:
        assert set(np.unique(nv)) == set(range(lo, hi + 1))
    if hi == 1:
        assert (arm["attempts"] > 1).any(), "the criterion should have rejected some draws"
    # every patient has at least one lesion slot per counted lesion (plus the primary if any)
    sync = arm["presentation"] == codes.SYNCHRONOUS
    assert np.all(arm["n_lesions_entry"] >= nv + sync)


def test_max_lesions_one_without_nodes_gives_exactly_one_visible_metastasis():
    # without lymph nodes every visible non-primary lesion is one counted lesion
    sc = load_fixture("busy.toml").with_values(
        {
            "cohort.lesions.organ_weights_escc.distant_node": 0.0,
            "cohort.lesions.organ_weights_eac.distant_node": 0.0,
            "cohort.lesions.regional_nodes_mean": 0.0,
            "cohort.lesions.occult_mean": 0.0,
            "locoregional.occult_regional_nodes_mean_synchronous": 0.0,
            "locoregional.occult_regional_nodes_mean_after_surgery": 0.0,
            "locoregional.bed_relapse_probability_after_surgery": 0.0,
            "cohort.lesions.extra_macroscopic_mean": 0.0,
            "cohort.eligibility.max_lesions": 1,
        }
    )
    arm = run_scenario(sc, patients=N, seed=9, arms=["upfront"]).arms["upfront"]
    assert np.all(arm["n_visible_entry"] == 1)
    sync = arm["presentation"] == codes.SYNCHRONOUS
    # one macroscopic lesion, no occult ones: the only other slot is the synchronous primary
    assert np.all(arm["n_lesions_entry"] == 1 + sync)


def test_synchronous_regional_nodes_do_not_count():
    # statement 1: with max_lesions = 1 synchronous patients may still carry regional nodes
    sc = load_fixture("busy.toml").with_values(
        {
            "cohort.eligibility.max_lesions": 1,
            "cohort.eligibility.definition": "none",
            "cohort.lesions.organ_weights_escc.distant_node": 0.0,
            "cohort.lesions.organ_weights_eac.distant_node": 0.0,
            "cohort.lesions.occult_mean": 0.0,
            "locoregional.occult_regional_nodes_mean_synchronous": 0.0,
            "locoregional.occult_regional_nodes_mean_after_surgery": 0.0,
            "locoregional.bed_relapse_probability_after_surgery": 0.0,
            "cohort.lesions.extra_macroscopic_mean": 0.0,
            "cohort.lesions.regional_nodes_mean": 2.0,
        }
    )
    arm = run_scenario(sc, patients=N, seed=9, arms=["upfront"]).arms["upfront"]
    sync = arm["presentation"] == codes.SYNCHRONOUS
    assert sync.any() and (~sync).any()
    assert np.all(arm["n_visible_entry"] == 1)
    # primary + one metastasis + nodes: some synchronous patients enter with nodes
    assert (arm["n_lesions_entry"][sync] > 2).any()
    assert np.all(arm["n_lesions_entry"][~sync] == 1)


def test_kps_and_age_criteria_hold():
    sc = load_fixture("busy.toml").with_values(
        {"cohort.eligibility.min_kps": 80, "cohort.eligibility.min_age_years": 55.0, "cohort.eligibility.max_age_years": 70.0}
    )
    arm = run_scenario(sc, patients=N, seed=9, arms=["upfront"]).arms["upfront"]
    assert np.all(arm["kps"] >= 80)
    assert np.all((arm["age"] >= 55.0) & (arm["age"] <= 70.0))
    assert np.all(arm["attempts"] >= 1)


@pytest.mark.parametrize("organs", [("liver",), ("distant_node", "lung")])
def test_eligibility_organs_restrict_the_visible_distant_lesions(organs):
    """cohort.eligibility.organs: every visible distant lesion at entry is in an allowed organ,
    in both engines (same patients, by the cross-engine identity), while occult lesions keep the
    organ weights (model 3.4)."""
    sc = load_fixture("busy.toml").with_values({"cohort.eligibility.organs": list(organs)})
    P = lower_model(sc)
    allowed = {codes.ORGAN_NAMES.index(o) for o in organs} | {codes.PRIMARY, codes.REGIONAL_NODE}
    W = new_workspace(P.max_lesions, LC_RECORDS, 0)
    arr = new_lesions(P.max_lesions)
    occult_elsewhere = 0
    for pid in range(300):
        rng.init_streams(1, pid, W.streams)
        n = C.draw_patient(P, W, arr[0])
        assert n > 0
        L = arr[0]
        for i in range(n):
            if L["status"][i] != C.ACTIVE:
                continue
            if L["seen"][i]:
                assert L["organ"][i] in allowed, (pid, codes.ORGAN_NAMES[L["organ"][i]])
            elif L["organ"][i] not in allowed:
                occult_elsewhere += 1
    assert occult_elsewhere > 0  # the restriction is on what staging sees, not on the disease


def test_impossible_eligibility_raises_infeasible_cohort():
    # ECOG 0/1/2 map to KPS 90/80/60: nobody reaches 100
    sc = load_fixture("busy.toml").with_values({"cohort.eligibility.min_kps": 100, "cohort.eligibility.max_attempts": 3})
    with pytest.raises(InfeasibleCohort, match=r"20 of 20 patients.*max_attempts = 3"):
        run_scenario(sc, patients=20, seed=1, arms=["upfront"])
    assert issubclass(InfeasibleCohort, ValueError)


# ============================================================================ known bugs


def test_rt_treatment_death_is_logged_once():
    # every course gives a fatal fistula: esophagus gets the full dose, TD50 1 Gy, all fatal
    sc = quiet_scenario(
        """
[arms.upfront]
first_line = "quiet"
rt_timing = "upfront"
""",
        {
            "radiotherapy.esophagus_dose_fraction.liver": 1.0,
            "toxicity.fistula_td50_gy": 1.0,
            "toxicity.grade5_fraction_fistula": 1.0,
        },
    )
    arm = run_scenario(sc, patients=3, seed=1, events=True).arms["upfront"]
    assert np.all(arm["death_cause"] == codes.DEATH_TREATMENT) and np.all(arm["rt_courses"] == 1)
    for j in range(arm.n):
        names = [e for _, e, _ in event_log(arm, j)]
        assert names.count("death_treatment") == 1, names
        assert names[-1] == "death_treatment", names
        assert names.index("rt_end") < names.index("death_treatment"), names


@pytest.mark.parametrize("dosed, share", [(("upper_mediastinum", "lower_mediastinum"), 0.5), (("neck",), 0.25)])
def test_distant_node_esophagus_dose_follows_its_station(dosed, share):
    # one distant node per patient, SBRT upfront, a step-like fistula NTCP (TD50 10 Gy, m 0.01):
    # a fistula exactly when the node's station gives the esophagus dose. Stations are drawn
    # uniformly among four, so the fistula rate is the dosed stations' share (binomial, 4 SE),
    # in both engines; the organ-level distant_node value no longer exists.

    stations = {f"radiotherapy.esophagus_dose_fraction_node_station.{name}": (1.0 if name in dosed else 0.0) for name in codes.STATION_NAMES}
    sc = quiet_scenario(
        """
[arms.sbrt]
first_line = "quiet"
rt_timing = "upfront"
metastasis_dose_gy = 40.0
metastasis_fractions = 5
""",
        {
            "cohort.lesions.organ_weights_escc.liver": 0.0,
            "cohort.lesions.organ_weights_escc.distant_node": 1.0,
            "toxicity.fistula_td50_gy": 10.0,
            "toxicity.fistula_m": 0.01,
            "toxicity.grade5_fraction_fistula": 0.0,
            **stations,
        },
    )
    for run, n in ((run_scenario, 2000), (run_scenario_reference, 300)):
        arm = run(sc, patients=n, seed=5).arms["sbrt"]
        assert np.all(arm["rt_courses"] == 1)
        rate = arm.aggregates["tox"][codes.FISTULA] / n
        assert abs(rate - share) < 4.0 * math.sqrt(share * (1.0 - share) / n), (run.__name__, rate)


def _capacity_scenario(share):
    """One 1.6-cm liver lesion per patient, Poisson(3) occult lesions (propensity 1 for all),
    no growth, and seeding at 1 per cm3 per month: every patient with capacity seeds within
    months; ``share`` of the patients have none."""
    return quiet_scenario(
        ARM_SYSTEMIC_ONLY,
        {
            "simulation.max_lesions": 16,
            "cohort.lesions.occult_mean": 3.0,
            "disease.seeding_rate_per_cm3_month": 1.0,
            "disease.limited_capacity_fraction": share,
        },
    )


def _seeded(arm):
    """Per patient: did any new metastasis arise (a ``new_lesion`` event)?"""
    return np.array([any(e == "new_lesion" for _, e, _ in event_log(arm, j)) for j in range(arm.n)])


@pytest.mark.parametrize("engine_name, n", [("numba", 4000), ("reference", 400)])
def test_limited_capacity_share_has_no_occult_lesions_and_never_seeds(engine_name, n):
    # model 3.1: the lowest-propensity share f has propensity 0 once its visible lesions are
    # drawn. With Poisson(3) occult lesions at propensity 1, a patient enters with its one
    # visible lesion alone with probability f + (1 - f) e^-3, and only patients with capacity
    # ever seed (all of them here): both rates binomial, 4 SE, in both engines.

    run = run_scenario if engine_name == "numba" else run_scenario_reference
    f = 0.3
    arm = run(_capacity_scenario(f), patients=n, seed=8, events=True).arms["systemic"]
    alone = arm["n_lesions_entry"] == 1
    seeded = _seeded(arm)
    p_alone = f + (1.0 - f) * math.exp(-3.0)
    assert abs(alone.mean() - p_alone) < 4.0 * math.sqrt(p_alone * (1.0 - p_alone) / n), alone.mean()
    assert abs((~seeded).mean() - f) < 4.0 * math.sqrt(f * (1.0 - f) / n), (~seeded).mean()
    # a patient without capacity has no occult lesion either
    assert np.all(alone[~seeded])


def test_limited_capacity_is_decided_on_the_propensity_draw_alone():
    # no random number is added: share 0 is the continuum (everyone seeds), and the patients
    # without capacity at a share are among those without capacity at any larger share
    sets = {}
    for f in (0.0, 0.15, 0.3):
        arm = run_scenario(_capacity_scenario(f), patients=1000, seed=3, events=True).arms["systemic"]
        sets[f] = ~_seeded(arm)
    assert not sets[0.0].any()
    assert sets[0.15].any() and np.all(sets[0.3][sets[0.15]]) and sets[0.3].sum() > sets[0.15].sum()


def _two_irradiated_lesions_regrowing():
    """Two visible liver lesions, both irradiated upfront, never controlled (TCP ~0), shrunk by
    RT and regrowing at different rates (lesion-level doubling sd 0.3); no seeding, no occult
    lesions, no systemic therapy: all disease is in the RT field and nothing new can appear."""
    return quiet_scenario(
        """
[arms.rt_only]
first_line = "none"
rt_timing = "upfront"
progression.local_therapy = "none"
""",
        {
            "cohort.lesions.extra_macroscopic_mean": 1.0,
            "cohort.eligibility.min_lesions": 2,
            "cohort.eligibility.max_lesions": 2,
            "disease.metastasis_doubling_median_months": 3.0,
            "disease.doubling_sdlog_lesion": 0.3,
            "radiotherapy.tcp_bed50_ref_gy": 1.0e6,
            "radiotherapy.uncontrolled_log_kill_per_gy": 0.03,
        },
    )


def test_local_failures_are_logged_in_time_order():
    arm = run_scenario(_two_irradiated_lesions_regrowing(), patients=100, seed=1, events=True).arms["rt_only"]
    assert np.all(arm["rt_courses"] == 1) and np.all(arm["lc_n"] == 2) and arm.lc_event[:, :2].all()
    for j in range(arm.n):
        t = [e[0] for e in event_log(arm, j)]
        assert t == sorted(t), f"patient {j}: {event_log(arm, j)}"


def test_failure_of_irradiated_lesions_only_is_in_field():
    arm = run_scenario(_two_irradiated_lesions_regrowing(), patients=100, seed=1, events=True).arms["rt_only"]
    assert np.all(arm["overflow"] == 0) and not (arm.ev_code == EV["new_lesion"]).any()
    progressed = arm["pfs_event"] & (arm["first_failure"] != codes.FAIL_NONE)
    assert progressed.sum() > 50
    assert np.all(arm["first_failure"][progressed] == codes.FAIL_IN_FIELD), np.bincount(arm["first_failure"], minlength=4)


# ============================================================================ hazard inversion


@pytest.mark.parametrize("dt", [0.5, 12.0, 115.0])
@pytest.mark.parametrize("kill", [0.0, 0.9])
def test_crossing_time_matches_closed_form_root(dt, kill):
    """The kernel's inversion of the cumulative hazard equals brentq on the closed form.

    Regression: Newton on H itself crept by about 1/r months a step and, over long intervals
    (the palliative state), returned the bracket end after its iteration cap, far too late.
    """
    P = lower_model(load_scenario(CONFIGS / "default.toml"))
    L = new_lesions(8)[0]  # a record: fields by name
    growth = np.array([2.5, 0.5, 0.05, 0.3])  # one very fast lesion: the hardest case for Newton on H
    logv = np.log(np.array([0.02, 3.0, 25.0, 1e-3]))
    organs = np.array([codes.LIVER, codes.LUNG, codes.PRIMARY, codes.BONE])
    w = P.death_weight[organs]
    r = growth - kill
    for i in range(4):  # the hazards' anchor, as anchor.reanchor sets it (the search works from it)
        L["a_on"][i] = True
        L["a_r"][i] = r[i]
        L["a_w"][i] = w[i]
        L["vol"][i] = np.exp(logv[i])

    def H(tau):  # closed-form cumulative death hazard
        return P.death_rate * np.sum(w * np.exp(logv) * np.expm1(r * tau) / r)

    # roots early, in the middle and late in the interval; an early root in a long interval is
    # where the constant-hazard first guess lands far to the right of the root
    for where in (0.01, 0.05, 0.5, 0.99):
        root = where * dt
        target = H(root)
        got = hazards.crossing_time(L, 4, 0.0, dt, P.seeding_rate, P.death_rate, 1, target)
        assert got == pytest.approx(root, rel=1e-9, abs=1e-9), (dt, kill, where)
        # the same root inside a bracket that starts later than the anchor (the event loop
        # searches from the anchor between the current event and the next)
        lo = 0.5 * root
        got = hazards.crossing_time(L, 4, lo, dt, P.seeding_rate, P.death_rate, 1, target)
        assert got == pytest.approx(root, rel=1e-9, abs=1e-9), (dt, kill, where, lo)
        assert brentq(lambda x: H(x) - target, 0.0, dt, xtol=1e-13) == pytest.approx(root, rel=1e-9, abs=1e-9)
