"""The teaching experiments (``experiments/teaching/``): they validate, cover the consensus
statements the lessons are about, run end to end with ``--quick``, and the model reproduces
each lesson's qualitative claim.

The claims are checked on the quick runs' ``results.json``. A claim "a is larger than b" passes
when the difference exceeds ``k`` standard errors of the difference, the standard errors taken
from the 95 % Monte Carlo CIs that the results carry (half-width / 1.96) and combined as if the
two estimates were independent (conservative: common random numbers make them positively
correlated), or from the paired CI where the experiment reports one. ``k`` is 2 for the large
effects; it is 1 only for the one effect a lesson itself calls small (stage migration under
systemic therapy alone, lesson 3), and 0 where only the direction of each step is checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from oligosim.experiments import load_experiment

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "experiments" / "teaching"
FILES = sorted(TEACHING.glob("*.toml"))
NAMES = [p.stem for p in FILES]
#: consensus statements the lessons must cover (the teaching brief's nine topics)
REQUIRED_STATEMENTS = {1, 2, 3, 6, 7, 8, 10, 12, 13}
Z95 = 1.959963984540054


# ----------------------------------------------------------------------------- validation
def test_there_are_at_least_nine_lessons():
    assert len(FILES) >= 9, NAMES


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_teaching_file_validates_and_explains_itself(path):
    exp = load_experiment(path)
    quick = load_experiment(path, quick=True)
    assert exp.question.strip(), f"{path.name}: no question"
    assert len(exp.explanation.strip()) > 200, f"{path.name}: the explanation is missing or too short"
    assert exp.statements, f"{path.name}: no consensus statements"
    assert exp.title.startswith("Lesson"), exp.title
    # the scenario is a teaching scenario, not a shared one
    assert Path(exp.scenario.path).resolve().parent == ROOT / "configs" / "teaching", exp.scenario.path
    # --quick is really smaller
    assert quick.patients < exp.patients


def test_lessons_cover_the_consensus_statements():
    covered = set()
    for path in FILES:
        covered |= set(load_experiment(path).statements)
    assert REQUIRED_STATEMENTS <= covered, f"missing statements: {sorted(REQUIRED_STATEMENTS - covered)}"


def test_readme_lists_every_lesson():
    text = (TEACHING / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert path.name in text, f"README.md does not list {path.name}"


# ----------------------------------------------------------------------------- quick runs
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Run a lesson with --quick once per test module; return its results.json."""
    from oligosim.cli import main

    cache: dict[str, dict] = {}
    root = tmp_path_factory.mktemp("teaching")

    def run(name: str) -> dict:
        if name not in cache:
            out = root / name
            rc = main(["experiment", str(TEACHING / f"{name}.toml"), "--quick", "--out", str(out), "--quiet", "--workers", "1"])
            assert rc == 0, f"{name}: exit code {rc}"
            assert (out / "report.md").is_file(), f"{name}: no report.md"
            cache[name] = json.loads((out / "results.json").read_text(encoding="utf-8"))
        return cache[name]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_lesson_runs_end_to_end_quick(name, quick_run):
    doc = quick_run(name)
    assert doc["experiment"]["quick"] is True
    assert doc["files"], name


# ----------------------------------------------------------------------------- helpers
def _se(v) -> float:
    """Standard error from a [value, lo, hi] triple (95 % CI)."""
    value, lo, hi = v
    assert lo is not None and hi is not None, f"no CI in {v}"
    return (hi - lo) / (2 * Z95)


def _log(v):
    """[log value, log lo, log hi] of a ratio with its 95 % CI (hazard ratios are symmetric on the log scale)."""
    return [math.log(x) for x in v]


def assert_greater(a, b, k: float = 2.0, what: str = ""):
    """a and b are [value, lo, hi]: a's value exceeds b's by more than k combined SEs."""
    diff = a[0] - b[0]
    se = math.hypot(_se(a), _se(b))
    assert diff > k * se, f"{what}: {a[0]:.4g} - {b[0]:.4g} = {diff:.4g} is not > {k} x SE {se:.3g}"


def _prop(p: float, n: float):
    """[p, lo, hi] with a normal-approximation CI for a proportion of n."""
    half = Z95 * math.sqrt(max(p * (1 - p), 1e-12) / n)
    return [p, p - half, p + half]


def points(doc: dict) -> dict:
    """Grid value -> per-arm metrics of a sweep."""
    res = doc["results"]
    return dict(zip(res["values"], res["points"]))


def ends(doc: dict):
    """Metrics at the lowest and the highest grid value of a sweep."""
    pts = points(doc)
    return pts[min(pts)], pts[max(pts)]


def paired(point: dict, arm: str):
    """[difference, lo, hi] of the outcome, arm minus reference, with its paired CI."""
    p = point["paired"][arm]
    return [p["diff"], *p["ci95"]]


# ----------------------------------------------------------------------------- lesson claims
@pytest.mark.slow
def test_lesson1_stricter_definition_selects_better_prognosis(quick_run):
    esc, omec = ends(quick_run("01_definition_count_rule"))  # x = 0: ESCC rule, x = 1: OMEC rule
    sys_esc, sys_omec = esc["arms"]["systemic_only"], omec["arms"]["systemic_only"]
    # the stricter rule qualifies fewer of the screened patients ...
    assert_greater(sys_esc["eligible_fraction"], sys_omec["eligible_fraction"], what="eligible share")
    # ... and those it turns away have more visible disease, which carries a worse prognosis: in
    # the ESCC-rule cohort more than one visible metastasis raises the hazard of death under
    # systemic therapy alone, and more so once every visible lesion is irradiated (log scale)
    hr_sys, hr_rt = _log(sys_esc["os.hr:lesions>1"]), _log(esc["arms"]["local_all"]["os.hr:lesions>1"])
    assert_greater(hr_sys, [0.0, 0.0, 0.0], what="log HR of > 1 visible lesion, systemic alone")
    assert_greater(hr_rt, hr_sys, what="log HR of > 1 visible lesion, RT to all lesions vs systemic alone")
    # Since the v2 fit (2026-12-08) few patients lie between the rules: the visible count carries
    # the propensity (exponent 1.5), most patients have one visible metastasis, and the OMEC rule
    # keeps more than four in five of the ESCC rule's patients (0.49 with the defaults before) ...
    assert_greater(sys_omec["eligible_fraction"], [0.8 * v for v in sys_esc["eligible_fraction"]], what="share of the ESCC cohort the OMEC rule keeps, vs 0.8")
    # ... so the group's OS under systemic therapy alone moves by less than 1 month of 60-month
    # RMST (it rose by about 1 month with the defaults before 2026-12-08): the difference and two
    # standard errors stay inside +-1 month
    a, b = sys_omec["os.rmst:60"], sys_esc["os.rmst:60"]
    se = math.hypot(_se(a), _se(b))
    assert abs(a[0] - b[0]) + 2.0 * se < 1.0, f"OS, systemic alone, OMEC - ESCC rule: {a[0] - b[0]:.3g} (SE {se:.3g}) not within 1 month"
    # (the oligometastatic share of first progressions moves with the propensity spread either
    # way -- stricter counting against selection -- so the lesson states no direction for it)


@pytest.mark.slow
def test_lesson2_treatment_context_decides_the_estro_eortc_class(quick_run):
    res = quick_run("02_classification_estro_eortc")["results"]["arms"]

    def share(arm, *classes):
        a = res[arm]
        progressed = a["patients"] * (1.0 - a["first_failure"]["none"])
        return _prop(sum(a["estro_eortc_first_progression"][c] for c in classes), progressed)

    prog = ("repeat_oligoprogression", "induced_oligoprogression")
    # maintenance keeps patients on therapy: oligoprogression; six cycles: mostly oligorecurrence
    assert_greater(share("chemo_io_maintenance", *prog), share("chemo_6_cycles", *prog), what="oligoprogression share")
    # without systemic therapy every oligometastatic first progression is an oligorecurrence
    assert share("sbrt_alone", *prog)[0] == 0.0
    assert share("sbrt_alone", "repeat_oligorecurrence", "induced_oligorecurrence")[0] > 0.5
    # history: earlier polymetastatic disease stays 'induced' under every strategy, and a
    # genuine patient's next oligometastatic episode is 'repeat'
    for arm, a in res.items():
        est = a["estro_eortc_first_progression"]
        assert est["induced_oligorecurrence"] + est["induced_oligoprogression"] > 0.05, arm
        for c in ("synchronous_oligometastasis", "metachronous_oligorecurrence", "metachronous_oligoprogression"):
            assert est[c] == 0.0, (arm, c)


@pytest.mark.slow
def test_lesson3_stage_migration_improves_os_in_every_arm(quick_run):
    sensitive, insensitive = ends(quick_run("03_staging_will_rogers"))  # lowest d50 = most sensitive
    # the RT arm: a large effect
    assert_greater(sensitive["arms"]["upfront"]["os.rmst:60"], insensitive["arms"]["upfront"]["os.rmst:60"], what="OS, RT first")
    # systemic therapy alone: the lesson calls this effect small (about 1.4 months of RMST), so one
    # standard error of the (conservatively independent) difference is required
    assert_greater(
        sensitive["arms"]["systemic_only"]["os.rmst:60"], insensitive["arms"]["systemic_only"]["os.rmst:60"], k=1.0, what="OS, systemic alone"
    )


@pytest.mark.slow
def test_lesson3b_sensitive_restaging_at_the_grids_ends(quick_run):
    doc = quick_run("03b_restaging_sensitivity")
    sensitive, insensitive = ends(doc)
    # PFS carries lead time and stage migration with opposite signs; since 2026-12-07 lead time
    # wins (the lesson says so): PFS is shorter with the most sensitive scan, beyond 2 SE.
    pa = sensitive["arms"]["systemic_only"]["pfs.rmst:36"]
    pb = insensitive["arms"]["systemic_only"]["pfs.rmst:36"]
    assert pa[2] < pb[1], f"PFS RMST with the sensitive scan {pa} not below the insensitive {pb}"
    # The oligometastatic share of first progressions does not rise with sensitivity (against the
    # consensus' reasoning; the lesson says so and why): under systemic therapy alone it is not
    # higher at the most sensitive end beyond 2 SE (it was, with the defaults before 2026-12-08,
    # 0.84 against 0.80, when the disease beyond the lesion cap was frozen) ...
    a = sensitive["arms"]["systemic_only"]["oligo_fraction_first_progression"]
    b = insensitive["arms"]["systemic_only"]["oligo_fraction_first_progression"]
    se = math.hypot(_se(a), _se(b))
    assert a[0] - b[0] < 2.0 * se, f"oligometastatic share higher with the sensitive scan: {a[0]:.4g} vs {b[0]:.4g} (SE {se:.3g})"
    # ... and after RT first it is lower there: deposits 1-2 mm across seen at once
    assert_greater(
        insensitive["arms"]["upfront"]["oligo_fraction_first_progression"],
        sensitive["arms"]["upfront"]["oligo_fraction_first_progression"],
        what="oligometastatic share after RT first, insensitive vs sensitive scan",
    )
    # the benefit of RT is larger at the sensitive end than at the insensitive one (paired CIs at
    # each point; the full run's grid shows it largest in between, at PET/CT sensitivity)
    assert_greater(paired(sensitive, "upfront"), paired(insensitive, "upfront"), what="RT benefit")


@pytest.mark.slow
def test_lesson4_rt_timing(quick_run):
    m = quick_run("04_rt_timing")["results"]["metrics"]
    for arm in ("upfront", "concurrent", "consolidative", "at_progression"):
        assert_greater(m[arm]["os.rmst:60"], m["systemic_only"]["os.rmst:60"], what=f"OS, {arm} vs systemic alone")
    # (chemotherapy before RT lowering local control, the switchable hypothesis of statement 6, is
    # not visible between these arms: lesions irradiated after induction are much smaller at the
    # end of the course, so local control after induction is even slightly higher than upfront
    # (0.993 against 0.990 at 12,000 patients with the defaults of 2026-12-08); the lesson says
    # so, and tests/test_kernel_mechanisms.py checks the hypothesis itself)
    # concurrent RT carries more pneumonitis than RT after induction
    assert_greater(m["concurrent"]["tox.pneumonitis"], m["consolidative"]["tox.pneumonitis"], what="pneumonitis")


@pytest.mark.slow
def test_lesson5_hypofractionating_the_primary_raises_esophageal_toxicity(quick_run):
    m = quick_run("05_fractionation_primary_vs_metastases")["results"]["metrics"]
    for tox in ("tox.esophageal_fistula", "tox.esophagitis"):
        assert_greater(m["primary_sbrt"][tox], m["consensus"][tox], what=tox)
    # conventional fractionation of the metastases (lower BED10) loses local control
    assert_greater(m["consensus"]["local_control:12"], m["metastases_conv"]["local_control:12"], what="local control, SBRT vs 50 Gy/25")
    # the irradiated primary already gives the esophagus its conventional dose, so the metastases'
    # fractionation does not change esophagitis here (model 6.5: the most exposed part counts), and
    # SBRT's low-dose spill into the lung counts little: pneumonitis no higher than with 60 Gy/30
    for tox, other in (("tox.esophagitis", "metastases_conv"), ("tox.pneumonitis", "metastases_conv_isobed")):
        lo, hi = m["consensus"][tox][1], m[other][tox][2]
        assert lo <= hi, f"{tox}: SBRT {m['consensus'][tox]} vs {other} {m[other][tox]}"


@pytest.mark.slow
def test_lesson6_higher_bed10_gives_better_local_control(quick_run):
    doc = quick_run("06_dose_bed10_threshold")
    pts = points(doc)
    grid = sorted(pts)
    lc = [pts[x]["arms"]["slow_only"]["local_control:12"] for x in grid]
    for lo_dose, hi_dose in zip(lc, lc[1:]):
        assert_greater(hi_dose, lo_dose, k=0.0, what="local control rises with BED10")
    assert_greater(lc[-1], lc[0], what="local control, highest vs lowest BED10")
    # the 90% crossing lies inside the sweep, below Moreno's 100 Gy for these small lesions
    cross = doc["results"]["crossing"]
    assert cross is not None and 30.0 < cross < 100.0, cross
    # large lesions need more dose: at the second-highest point they are controlled less often
    arm = pts[grid[-2]]["arms"]["slow_only"]
    assert_greater(arm["local_control:12[volume<27.7]"], arm["local_control:12[volume>=27.7]"], what="small vs large lesions")


@pytest.mark.slow
def test_lesson6b_primary_dose_trades_in_field_control_for_esophagitis(quick_run):
    low, high = ends(quick_run("06b_dose_primary"))
    assert_greater(high["arms"]["concurrent"]["tox.esophagitis"], low["arms"]["concurrent"]["tox.esophagitis"], what="esophagitis")
    assert_greater(low["arms"]["concurrent"]["first_failure.in_field"], high["arms"]["concurrent"]["first_failure.in_field"], what="in-field failure")


@pytest.mark.slow
def test_lesson7_concurrency_and_anti_pd1_raise_rt_toxicity(quick_run):
    m = quick_run("07_toxicity_concurrency")["results"]["metrics"]
    # the lesson's claims: concurrency raises esophagitis, fistula and pneumonitis, anti-PD-1
    # raises pneumonitis. Concurrency's pneumonitis excess is the smallest in relative terms (1.0
    # percentage point, about four paired SEs at 12,000 patients with the defaults of 2026-12-08,
    # the lesson says so; about two before, when this test only checked it was not lower): the
    # quick run's 5,000 patients give it about three independent SEs, so 2 are required
    assert_greater(m["chemo_io_rt"]["tox.pneumonitis"], m["chemo_rt"]["tox.pneumonitis"], what="pneumonitis, anti-PD-1")
    assert_greater(m["chemo_rt"]["tox.esophagitis"], m["rt_then_chemo"]["tox.esophagitis"], what="esophagitis, concurrency")
    assert_greater(m["chemo_rt"]["tox.esophageal_fistula"], m["rt_then_chemo"]["tox.esophageal_fistula"], what="fistula, concurrency")
    assert_greater(m["chemo_rt"]["tox.pneumonitis"], m["rt_then_chemo"]["tox.pneumonitis"], what="pneumonitis, concurrency")


@pytest.mark.slow
def test_lesson7b_mean_lung_dose_drives_pneumonitis(quick_run):
    pts = points(quick_run("07b_toxicity_lung_dose"))
    grid = sorted(pts)
    pn = [pts[x]["arms"]["chemo_io_rt"]["tox.pneumonitis"] for x in grid]
    for a, b in zip(pn, pn[1:]):
        assert b[0] >= a[0], pn
    assert_greater(pn[-1], pn[0], what="pneumonitis, poor vs sparing plan")


@pytest.mark.slow
def test_lesson8_treating_repeat_oligoprogression(quick_run):
    res = quick_run("08_reirradiation_at_progression")["results"]
    m, arms = res["metrics"], res["arms"]
    assert_greater(m["slow_only"]["os.rmst:60"], m["no_local"]["os.rmst:60"], what="OS, SBRT again vs none")
    # more RT courses, beyond Monte Carlo error. rt_courses_mean carries no CI; a patient has at
    # most 1 + max_courses = 4 courses here (configs/teaching/metachronous_sbrt.toml), so
    # Var(courses) <= E[courses^2] <= 4 E[courses]: a conservative standard error of each mean.
    # (Since 2026-12-08 about one extra course per three patients, 0.64 per patient before: a
    # progression lowers ECOG with chance 0.38 and local therapy needs ECOG <= 1; the lesson says so.)
    ca, cb, n = arms["slow_only"]["rt_courses_mean"], arms["no_local"]["rt_courses_mean"], arms["no_local"]["patients"]
    se = math.sqrt(4.0 * ca / n + 4.0 * cb / n)
    assert ca - cb > 2.0 * se, f"RT courses per patient, SBRT again {ca:.3g} vs none {cb:.3g}: difference not > 2 x SE {se:.3g}"
    # without an alternative local therapy the gain is not larger (2026-11-22: smaller, but within
    # the quick run's Monte Carlo error, as the lesson says)
    cmp = res["comparisons"]
    a = cmp["slow_only"]["endpoints"]["os"]["rmst"]
    b = cmp["slow_no_alt"]["endpoints"]["os"]["rmst"]
    assert a["diff"] >= b["diff"], "alternative local therapy lowered the OS gain"


@pytest.mark.slow
def test_lesson9_rarer_scans_find_fewer_oligometastatic_progressions(quick_run):
    frequent, rare = ends(quick_run("09_followup_interval"))
    arm = "slow_only"
    assert_greater(frequent["arms"][arm]["oligo_fraction_first_progression"], rare["arms"][arm]["oligo_fraction_first_progression"], what="oligometastatic share")
    assert_greater(rare["arms"][arm]["first_failure.widespread"], frequent["arms"][arm]["first_failure.widespread"], what="widespread first failure")


@pytest.mark.slow
def test_lesson9b_rarer_scans_lose_part_of_the_salvage_benefit(quick_run):
    frequent, rare = ends(quick_run("09b_followup_salvage_benefit"))
    # salvage SBRT helps at both ends of the sweep ...
    for end in (frequent, rare):
        d, lo, hi = end["paired"]["slow_only"]["diff"], *end["paired"]["slow_only"]["ci95"]
        assert lo > 0.0, f"OS benefit of SBRT at oligoprogression: {d:.3g} ({lo:.3g} to {hi:.3g})"
    # ... and less with yearly scans: the lesson's claim, conservatively as non-overlapping paired CIs
    lo_frequent = frequent["paired"]["slow_only"]["ci95"][0]
    hi_rare = rare["paired"]["slow_only"]["ci95"][1]
    assert lo_frequent > hi_rare, f"benefit with frequent scans (CI from {lo_frequent:.3g}) not above rare scans (CI to {hi_rare:.3g})"


@pytest.mark.slow
def test_lesson10_the_frontier_decides_value_for_money(quick_run):
    res = quick_run("10_cost_effectiveness")["results"]
    conc, cons = res["outcome"]["concurrent"], res["outcome"]["consolidative"]
    # concurrent RT lives longer than consolidative RT in most parameter draws ...
    assert sum(a > b for a, b in zip(conc, cons)) >= 0.8 * len(conc)
    eco = res["economics"]
    # ... and, each step along the frontier costing less per QALY than 1 x GDP per capita
    # (89,358 CNY), it is the cost-effective choice there in most draws ...
    i = min(range(len(eco["wtp_grid"])), key=lambda k: abs(eco["wtp_grid"][k] - 89358.0))
    assert eco["ceaf_optimal"][i] == "concurrent" and eco["ceaf_probability"][i] >= 0.8
    assert eco["arms"]["consolidative"]["icer_against"] == "systemic_only"
    assert eco["arms"]["concurrent"]["icer_against"] == "consolidative"
    for arm, a in eco["arms"].items():
        if a["frontier_status"] == "frontier" and a["icer"] is not None:
            assert a["icer"] < 89358.0, (arm, a["icer"])
    # ... while RT first is dominated outright (since 2026-12-08: it costs more than consolidative
    # RT and gives fewer QALYs) and RT at progression is extendedly dominated
    assert eco["arms"]["upfront"]["frontier_status"] == "dominated"
    assert eco["arms"]["at_progression"]["frontier_status"] == "extendedly dominated"
