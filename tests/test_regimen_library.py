"""The regimen library (docs/model.md 5.7): the relative-response conversion, the histology and
line labels and their checks, the generated configs/regimens.toml, and every library regimen
and the study file that uses them running."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import oligosim
from oligosim import lowering
from oligosim.cli import main as cli_main
from oligosim.config import ConfigError, load_scenario, loads_scenario
from oligosim.config.regimens import REGIMEN
from oligosim.regimen_library import ANCHOR_ARMS, ENTRIES, entry_values, library_table_markdown, library_toml
from oligosim.regimen_scaling import Figures, response_ratio, scale_efficacy

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
LIBRARY = CONFIGS / "regimens.toml"
STUDY = CONFIGS / "studies" / "jupiter06.toml"


def _scenario(body: str):
    return loads_scenario('extends = "regimens.toml"\n' + body, name="t.toml", base_dir=CONFIGS)


ARM = '[arms.a]\nfirst_line = "{first}"\nsecond_line = "{second}"\nrt_timing = "none"\nprogression.local_therapy = "none"\n'


# ---------------------------------------------------------------------------- the conversion


def test_response_ratio_through_a_common_control_is_the_ratio_of_contrasts():
    x, c = Figures(0.60, 9.0), Figures(0.40, 6.0)
    a, ac = Figures(0.72, 7.0), Figures(0.62, 4.6)
    assert response_ratio([(x, c)], (a, ac), "orr") == pytest.approx((0.60 / 0.40) / (0.72 / 0.62), rel=1e-12)
    assert response_ratio([(x, c)], (a, ac), "dor_months") == pytest.approx((9.0 / 6.0) / (7.0 / 4.6), rel=1e-12)


def test_response_ratio_direct_chain_and_missing_dcr():
    x, a = Figures(0.19, 6.9, dcr=0.4), Figures(0.20, 7.4)
    assert response_ratio([(x, None)], (a, None), "orr") == pytest.approx(0.19 / 0.20, rel=1e-12)
    assert response_ratio([(x, None)], (a, None), "dcr") is None  # the anchor gives none
    l1, l2 = (Figures(0.74, 10.6), Figures(0.52, 9.5)), (Figures(0.47, 6.9), Figures(0.35, 4.8))
    chained = response_ratio([l1, l2], (Figures(0.721, 7.0), Figures(0.621, 4.6)), "orr")
    assert chained == pytest.approx((0.74 / 0.52) * (0.47 / 0.35) / (0.721 / 0.621), rel=1e-12)
    # an anchor compared with itself contributes 1: a same-trial contrast against a chemotherapy anchor
    same = Figures(0.621, 4.6)
    assert response_ratio([l2], (same, same), "orr") == pytest.approx(0.47 / 0.35, rel=1e-12)


ANCHOR = {
    "kill_rate_per_month": 0.6,
    "maintenance_kill_rate_per_month": 0.35,
    "resistance_median_months": 10.0,
    "durable_fraction": 0.2,
    "primary_resistance_fraction": 0.1,
}


def test_scale_efficacy_closed_form():
    out = scale_efficacy(ANCHOR, 1.5, 0.8, 0.9)
    assert out["kill_rate_per_month"] == pytest.approx(0.9, rel=1e-12)
    assert out["maintenance_kill_rate_per_month"] == pytest.approx(0.525, rel=1e-12)
    assert out["resistance_median_months"] == pytest.approx(8.0, rel=1e-12)
    assert out["durable_fraction"] == pytest.approx(0.3, rel=1e-12)
    assert out["primary_resistance_fraction"] == pytest.approx(1 - 0.9 * 0.9, rel=1e-12)  # 1 - (1 - 0.1) 0.9


def test_scale_efficacy_ratio_one_is_the_anchor_and_dcr_above_one_keeps_its_share():
    assert scale_efficacy(ANCHOR, 1.0, 1.0) == pytest.approx(ANCHOR)
    assert scale_efficacy(ANCHOR, 1.0, 1.0, 1.3)["primary_resistance_fraction"] == 0.1


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_scale_efficacy_rejects_bad_ratios(bad):
    with pytest.raises(ValueError, match="r_orr"):
        scale_efficacy(ANCHOR, bad, 1.0)


def test_scale_efficacy_rejects_shares_above_one():
    with pytest.raises(ValueError, match="durable_fraction"):
        scale_efficacy(ANCHOR, 4.6, 1.0, 0.1)


@pytest.mark.parametrize("kw, match", [({"orr": 0.0, "dor_months": 5}, "orr"), ({"orr": 0.5, "dor_months": 0}, "dor_months"), ({"orr": 0.5, "dor_months": 5, "dcr": 0.4}, "dcr")])
def test_figures_validate(kw, match):
    with pytest.raises(ValueError, match=match):
        Figures(**kw)


# ---------------------------------------------------------------------------- disease control -> primary resistance


@pytest.mark.parametrize("p_a", [0.0, 0.1])
def test_primary_share_from_disease_control_rates_closed_form(p_a):
    """Direct: r_DCR = DCR_X / DCR_A; through common controls: (X/C) / (A/A_C); the share is
    1 - (1 - p_A) r_DCR, which with p_A = 0 leaves DCR_A r_DCR = DCR_X controlled (model 5.7)."""
    anchor = {**ANCHOR, "primary_resistance_fraction": p_a}
    x, a = Figures(0.20, 6.0, dcr=0.60), Figures(0.30, 7.0, dcr=0.80)
    r = response_ratio([(x, None)], (a, None), "dcr")
    assert r == pytest.approx(0.75, rel=1e-12)
    share = scale_efficacy(anchor, 1.0, 1.0, r)["primary_resistance_fraction"]
    assert share == pytest.approx(1 - (1 - p_a) * 0.75, rel=1e-12)
    if p_a == 0.0:
        assert (1 - share) * a.dcr == pytest.approx(x.dcr, rel=1e-12)
    c, ac = Figures(0.15, 5.0, dcr=0.75), Figures(0.25, 5.0, dcr=0.85)
    r2 = response_ratio([(x, c)], (a, ac), "dcr")
    assert r2 == pytest.approx((0.60 / 0.75) / (0.80 / 0.85), rel=1e-12)
    assert scale_efficacy(anchor, 1.0, 1.0, r2)["primary_resistance_fraction"] == pytest.approx(1 - (1 - p_a) * r2, rel=1e-12)


@pytest.mark.parametrize("p_a", [0.0, 0.1])
@pytest.mark.parametrize("dcr_x", [0.80, 0.95])
def test_a_disease_control_ratio_of_one_or_more_keeps_the_anchors_share(p_a, dcr_x):
    a = Figures(0.30, 7.0, dcr=0.80)
    r = response_ratio([(Figures(0.30, 7.0, dcr=dcr_x), None)], (a, None), "dcr")
    assert r >= 1.0
    assert scale_efficacy({**ANCHOR, "primary_resistance_fraction": p_a}, 1.0, 1.0, r)["primary_resistance_fraction"] == p_a


@pytest.mark.parametrize(
    "x, c, a, ac",
    [
        (Figures(0.2, 6.0), Figures(0.1, 5.0, dcr=0.5), Figures(0.3, 7.0, dcr=0.8), Figures(0.2, 5.0, dcr=0.7)),  # the regimen's arm
        (Figures(0.2, 6.0, dcr=0.6), Figures(0.1, 5.0), Figures(0.3, 7.0, dcr=0.8), Figures(0.2, 5.0, dcr=0.7)),  # its control
        (Figures(0.2, 6.0, dcr=0.6), Figures(0.1, 5.0, dcr=0.5), Figures(0.3, 7.0), Figures(0.2, 5.0, dcr=0.7)),  # the anchor's arm
        (Figures(0.2, 6.0, dcr=0.6), Figures(0.1, 5.0, dcr=0.5), Figures(0.3, 7.0, dcr=0.8), Figures(0.2, 5.0)),  # its control
    ],
)
def test_a_disease_control_rate_missing_on_any_side_keeps_the_anchors_share(x, c, a, ac):
    r = response_ratio([(x, c)], (a, ac), "dcr")
    assert r is None
    assert scale_efficacy(ANCHOR, 1.0, 1.0, r)["primary_resistance_fraction"] == ANCHOR["primary_resistance_fraction"]


def test_an_anchor_arm_against_itself_is_one_even_without_the_figure():
    """A same-trial contrast over the chemotherapy anchor (its arm given as its own control)
    needs no value for it; two different arms without the figure give none."""
    tp = Figures(0.621, 4.6)
    x, c = Figures(0.47, 6.9, dcr=0.79), Figures(0.35, 4.8, dcr=0.70)
    assert response_ratio([(x, c)], (tp, tp), "dcr") == pytest.approx(0.79 / 0.70, rel=1e-12)
    assert response_ratio([(x, c)], (tp, Figures(0.621, 4.6)), "dcr") is None


def test_library_disease_control_rates_and_what_they_do():
    """ORIENT-15's rates (Table 2 counts) and ToGA's are recorded; the anchors' trials give none
    here, so tp_sintilimab has no r_DCR; ToGA's contrast over tp (0.79/0.70 > 1) keeps tp's
    share; every library regimen's primary-resistance share is what the rule gives."""
    by = {e.name: e for e in ENTRIES}
    assert by["tp_sintilimab"].links[0].arm.dcr == pytest.approx(295 / 327) and by["tp_sintilimab"].links[0].control.dcr == pytest.approx(280 / 332)
    assert by["tp_sintilimab"].ratios()["dcr"] is None
    assert by["xp_trastuzumab"].ratios()["dcr"] == pytest.approx(0.79 / 0.70, rel=1e-12)
    assert by["xp_trastuzumab_pembrolizumab"].ratios()["dcr"] is None  # KEYNOTE-811 gives none here
    assert all(arm.dcr is None for arm, _control, _label in ANCHOR_ARMS.values())
    regs = load_scenario(LIBRARY).data["regimens"]
    for e in ENTRIES:
        r, p_a = e.ratios()["dcr"], regs[e.anchor]["primary_resistance_fraction"]
        expected = p_a if r is None or r >= 1.0 else 1 - (1 - p_a) * r
        assert regs[e.name]["primary_resistance_fraction"] == pytest.approx(expected, abs=6e-5), e.name
    table = library_table_markdown()
    assert "r_DCR" in table and "PMC9016493" in table and "1.1286 (>= 1: anchor's share)" in table


def test_every_regimen_key_is_written_and_the_anchors_spread_between_lesions_is_carried():
    """A library regimen sets every schema key (only histology_required may fall to its default,
    and the optional per-cycle toxicity tables, whose absence means per line, model 5.5), so a key
    the schema gains is not silently left at its default; the anchor's
    resistance_sdlog_between_lesions reaches the regimen."""
    from oligosim.regimen_library import _base_regimens

    optional = {"histology_required", "grade3plus_per_cycle", "grade5_per_cycle"}
    for e in ENTRIES:
        missing = set(REGIMEN.fields) - set(entry_values(e)) - optional
        assert not missing, (e.name, missing)
    base = _base_regimens()
    changed = {k: dict(v) for k, v in base.items()}
    changed["tp_pd1"]["resistance_sdlog_between_lesions"] = 1.25
    by = {e.name: e for e in ENTRIES}
    assert entry_values(by["tp_sintilimab"], changed)["resistance_sdlog_between_lesions"] == 1.25
    assert entry_values(by["tp_sintilimab"], base)["resistance_sdlog_between_lesions"] == base["tp_pd1"].get("resistance_sdlog_between_lesions", 0.0)


def test_a_response_duration_not_reported_keeps_the_anchors_resistance_median():
    x, a = Figures(0.30, None), Figures(0.60, 7.0)
    assert response_ratio([(x, None)], (a, None), "dor_months") is None
    assert response_ratio([(x, None)], (a, None), "orr") == pytest.approx(0.5, rel=1e-12)
    out = scale_efficacy(ANCHOR, 0.5, None)
    assert out["resistance_median_months"] == ANCHOR["resistance_median_months"]
    assert out["kill_rate_per_month"] == pytest.approx(0.3, rel=1e-12)


# ---------------------------------------------------------------------------- the library file


def test_library_file_is_generated_from_the_entries():
    assert LIBRARY.read_text(encoding="utf-8") == library_toml(), "run python -m oligosim.regimen_library --write configs/regimens.toml"


def test_library_values_are_the_anchor_scaled_by_the_ratios():
    sc = load_scenario(LIBRARY)
    regs = sc.data["regimens"]
    for e in ENTRIES:
        r = e.ratios()
        a, v = regs[e.anchor], regs[e.name]
        assert v["kill_rate_per_month"] == pytest.approx(a["kill_rate_per_month"] * r["orr"], abs=6e-5), e.name
        r_dor = 1.0 if r["dor_months"] is None else r["dor_months"]  # no duration reported: the anchor's
        assert v["resistance_median_months"] == pytest.approx(a["resistance_median_months"] * r_dor, abs=6e-5), e.name
        assert v["durable_fraction"] == pytest.approx(a["durable_fraction"] * r["orr"], abs=6e-5), e.name
        assert list(v["histology"]) == list(e.histology) and list(v["lines"]) == list(e.lines)
        assert e.anchor in ANCHOR_ARMS


def test_s1_and_sox_from_their_trials_response_rates():
    """Second-line S-1 (ESWN 01, direct over ESCORT-1st's TP arm) and SOX (SOPP's contrast over
    S-1 + cisplatin, over tp): the ratios in closed form, the labels, schedule and toxicity."""
    regs = load_scenario(LIBRARY).data["regimens"]
    by = {e.name: e for e in ENTRIES}
    tp = regs["tp"]
    s1, sox = regs["s1"], regs["sox"]
    assert by["s1"].ratios()["orr"] == pytest.approx(0.097 / 0.621, rel=1e-12)
    assert by["sox"].ratios()["orr"] == pytest.approx(0.58 / 0.60, rel=1e-12)
    assert by["s1"].ratios()["dor_months"] is None and by["sox"].ratios()["dor_months"] is None
    assert s1["kill_rate_per_month"] == pytest.approx(round(tp["kill_rate_per_month"] * 0.097 / 0.621, 4), abs=1e-12)
    assert sox["kill_rate_per_month"] == pytest.approx(round(tp["kill_rate_per_month"] * 0.58 / 0.60, 4), abs=1e-12)
    assert s1["resistance_median_months"] == sox["resistance_median_months"] == pytest.approx(tp["resistance_median_months"], abs=6e-5)
    assert (list(s1["histology"]), list(s1["lines"])) == (["escc"], [2])
    assert (list(sox["histology"]), list(sox["lines"])) == (["eac"], [1])
    assert s1["cycle_days"] == sox["cycle_days"] == 21 and not s1["immunotherapy"] and not sox["immunotherapy"]
    assert s1["grade3plus"]["neutropenia"] == 0.016 and sox["grade3plus"]["neutropenia"] == 0.195


def test_library_keeps_base_regimens_and_their_codes_unchanged():
    base, lib = load_scenario(CONFIGS / "base.toml"), load_scenario(LIBRARY)
    for name, reg in base.data["regimens"].items():
        assert lib.data["regimens"][name] == reg
    assert not set(lowering.regimen_names(base)) & {e.name for e in ENTRIES}


def test_library_is_a_shipped_base_by_name(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('extends = "regimens"\n' + ARM.format(first="tp_sintilimab", second="nivolumab"))
    assert load_scenario(f).data["arms"]["a"]["first_line"] == "tp_sintilimab"


def _run_each(names, eac):
    body = f"[cohort]\neac_fraction = {eac}\n" + "".join(
        f'[arms.{n}]\nfirst_line = "{n}"\nrt_timing = "none"\nprogression.local_therapy = "none"\n' for n in names
    )
    res = oligosim.run(_scenario(body), patients=150, seed=3, announce=False)
    table = res.summary(["pfs.median", "os.rate:12", "response.evaluable"], wide=True)
    assert len(table) == len(names)
    assert np.isfinite(table["os.rate:12"].to_numpy(dtype=float)).all()
    return res


def test_every_library_regimen_loads_and_runs():
    escc = [e.name for e in ENTRIES if "escc" in e.histology]
    eac = [e.name for e in ENTRIES if "eac" in e.histology]
    _run_each(escc, 0.0)
    res = _run_each(eac, 1.0)
    # the lowered regimen is the file's: the kill of the arm's first line
    sc = res.scenario
    R, names = lowering.lower_regimens(sc), lowering.regimen_names(sc)
    assert R.kill[names.index("xp_trastuzumab")] == sc.data["regimens"]["xp_trastuzumab"]["kill_rate_per_month"]


# ---------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    "line, value, rule",
    [
        ('histology = ["scc"]', "scc", "must be one of"),
        ("lines = [4]", "4", "must be within [1, 3]"),
        ("lines = []", "[]", "at least 1 item"),
        ('histology = ["escc", "escc"]', "escc", "twice"),
    ],
)
def test_bad_labels_name_key_value_and_rule(line, value, rule):
    with pytest.raises(ConfigError) as exc:
        _scenario(f"[regimens.tp_sintilimab]\n{line}\n")
    text = str(exc.value)
    assert "regimens.tp_sintilimab." in text and value in text and rule in text, text


def test_her2_directed_regimen_in_a_squamous_population_is_an_error_with_the_fix():
    with pytest.raises(ConfigError) as exc:
        _scenario("[cohort]\neac_fraction = 0.0\n" + ARM.format(first="xp_trastuzumab", second="none"))
    text = str(exc.value)
    assert "arms.a.first_line" in text and "xp_trastuzumab" in text and "histology_required" in text, text
    assert "regimens.xp_trastuzumab.histology" in text, text
    # relabelling it in the scenario is the explicit extrapolation: valid, no warning
    sc = _scenario('[cohort]\neac_fraction = 0.0\n[regimens.xp_trastuzumab]\nhistology = ["escc", "eac"]\n' + ARM.format(first="xp_trastuzumab", second="none"))
    assert sc.warnings == []


def test_a_histology_none_of_the_patients_has_warns_unless_the_regimen_requires_it():
    sc = _scenario("[cohort]\neac_fraction = 0.0\n" + ARM.format(first="capox", second="none"))
    assert any("arms.a.first_line = 'capox'" in x and "100%" in x for x in sc.warnings), sc.warnings
    sc = _scenario("[cohort]\neac_fraction = 1.0\n" + ARM.format(first="tp_pd1", second="none"))
    assert any("tp_pd1" in x and "100%" in x for x in sc.warnings), sc.warnings


def test_mixed_population_and_off_line_use_warn():
    sc = _scenario("[cohort]\neac_fraction = 0.3\n" + ARM.format(first="nivolumab", second="tp_sintilimab"))
    w = sc.warnings
    assert any("arms.a.first_line = 'nivolumab'" in x and "line 1" in x for x in w), w
    assert any("arms.a.second_line = 'tp_sintilimab'" in x and "line 2" in x for x in w), w
    assert sum("30%" in x for x in w) == 2, w  # both regimens are ESCC-only
    assert _scenario(ARM.format(first="tp_sintilimab", second="nivolumab")).warnings == []


def test_a_second_line_after_no_first_line_counts_as_line_one():
    sc = _scenario('[arms.a]\nfirst_line = "none"\nsecond_line = "nivolumab"\nrt_timing = "none"\nprogression.local_therapy = "none"\n')
    assert any("given as line 1" in x for x in sc.warnings), sc.warnings


def test_check_prints_label_warnings_and_passes(tmp_path, capsys):
    f = tmp_path / "w.toml"
    f.write_text(f'extends = "{LIBRARY}"\n' + ARM.format(first="docetaxel", second="none"))
    assert cli_main(["check", str(f)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "docetaxel" in err and "line 1" in err


# ---------------------------------------------------------------------------- the study file


def test_study_file_uses_library_regimens_within_their_labels_and_runs():
    sc = load_scenario(STUDY)
    assert sc.warnings == []
    used = {a["first_line"] for a in sc.data["arms"].values()} | {a["second_line"] for a in sc.data["arms"].values()}
    assert used & {e.name for e in ENTRIES}
    res = oligosim.run(sc, patients=200, seed=5, announce=False)
    table = res.summary(["pfs.median", "response.orr"], wide=True)
    assert len(table) == 2


def test_lines_count_from_the_cohorts_entry_line():
    """A cohort entering at line 2 (model 3.8) gets its first regimen as line 2: ESCORT's
    second-line regimens raise no line warning there, and the same arms in a first-line cohort
    do."""
    path = Path(__file__).resolve().parents[1] / "configs" / "studies" / "escort_second_line.toml"
    sc = load_scenario(path)
    assert sc.warnings == []
    first = sc.with_values({"cohort.entry_line": 1})
    assert any("arms.docetaxel.second_line = 'docetaxel': given as line 1" in w for w in first.warnings), first.warnings


def test_chemo_immunotherapy_follows_its_backbone_by_escort1st_contrasts():
    """base.toml's TP + anti-PD-1 kills and resists as TP times ESCORT-1st's same-trial response
    and duration-of-response ratios (the library's conversion applied to the anchor itself): its
    kill is never slower than its own chemotherapy backbone's, whatever TP's calibrated values."""
    from oligosim.regimen_library import ESCORT_1ST

    sc = load_scenario(CONFIGS / "default.toml")
    tp, tp_pd1 = sc.get("regimens.tp"), sc.get("regimens.tp_pd1")
    r_orr = ESCORT_1ST.arm.orr / ESCORT_1ST.control.orr
    r_dor = ESCORT_1ST.arm.dor_months / ESCORT_1ST.control.dor_months
    assert tp_pd1["kill_rate_per_month"] == pytest.approx(tp["kill_rate_per_month"] * r_orr, rel=1e-4)
    assert tp_pd1["resistance_median_months"] == pytest.approx(tp["resistance_median_months"] * r_dor, rel=1e-4)
    assert tp_pd1["kill_rate_per_month"] > tp["kill_rate_per_month"]
