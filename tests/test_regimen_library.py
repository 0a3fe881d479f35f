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
from oligosim.regimen_library import ANCHOR_ARMS, ENTRIES, library_toml
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
    assert s1["resistance_median_months"] == sox["resistance_median_months"] == tp["resistance_median_months"]
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
