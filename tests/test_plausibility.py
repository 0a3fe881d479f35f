"""Plausibility warnings (oligosim/analysis/plausibility.py): the limits from the consensus'
Table 4, the Monte Carlo rule, summary.json and what `oligosim run` prints."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from statsmodels.stats.proportion import proportion_confint

from oligosim import codes
from oligosim.analysis import plausibility as pl

from conftest import CONFIGS, ROOT


@pytest.mark.parametrize("rate,n", [(0.0, 17), (0.36, 17), (0.633, 49), (0.073, 157), (0.5, 3000)])
def test_wilson_limits_match_statsmodels(rate, n):
    lo, hi = proportion_confint(round(rate * n), n, alpha=0.05, method="wilson")
    r = round(rate * n) / n
    assert pl.wilson_upper(r, n) == pytest.approx(hi, abs=1e-12)
    assert pl.wilson_lower(r, n) == pytest.approx(lo, abs=1e-12)


def test_limits_are_the_upper_wilson_limit_of_the_highest_published_rate():
    """Every limit comes from the arm reporting the highest rate of its type (the least precise
    of tied arms), and lies above that rate."""
    for kind, (limit, basis) in pl.UPPER.items():
        if kind in pl.ORGAN_LIMITS:  # no Table 4 column: planning limits (below)
            continue
        rates = [(pct, n, series) for series, n, r in pl.TABLE4 for k, pct in r.items() if k == kind]
        top = max(p for p, _, _ in rates)
        expected = max(pl.wilson_upper(top / 100.0, n) for p, n, _ in rates if p == top)
        assert limit == pytest.approx(expected) and limit > top / 100.0, kind
        assert f"{top:g}% of" in basis
    assert set(pl.UPPER) == set(codes.TOX_NAMES) | {"any"}


def test_organ_limits_without_a_table4_column_flag_their_type():
    """Heart, cord, bowel and conduit have limits of their own (QUANTEC or an assumption), and a
    rate above one beyond its Monte Carlo error gives a warning that names its basis."""
    for kind, (limit, basis) in pl.ORGAN_LIMITS.items():
        assert kind in codes.TOX_NAMES and 0.0 < limit < 1.0 and basis
        assert pl.check_arm(_entry(20000, **{kind: limit * 0.5})) == []
        (w,) = pl.check_arm(_entry(20000, **{kind: min(limit * 2.0, 0.99)}))
        assert w["metric"] == f"tox.{kind}" and basis in w["message"]


def _entry(n, **rates):
    tox = {k: 0.0 for k in codes.TOX_NAMES + ("any",)}
    tox.update({k: v for k, v in rates.items() if k != "treatment_deaths"})
    return {"patients": n, "toxicity_grade3plus": tox, "treatment_deaths": rates.get("treatment_deaths", 0.0)}


def test_a_rate_is_flagged_only_beyond_its_monte_carlo_error():
    limit = pl.UPPER["esophagitis"][0]
    assert pl.check_arm(_entry(100000, esophagitis=limit - 0.001)) == []
    # above the limit, but not beyond the Monte Carlo error of 200 patients
    assert pl.check_arm(_entry(200, esophagitis=limit + 0.01)) == []
    (w,) = pl.check_arm(_entry(100000, esophagitis=limit + 0.01))
    assert w["metric"] == "tox.esophagitis" and w["limit"] == limit
    assert "toxicity.esophagitis_td50_gy" in w["message"] and "Table 4" in w["message"]
    (w,) = pl.check_arm(_entry(100000, treatment_deaths=0.06))
    assert w["metric"] == "treatment_deaths" and w["limit"] == pl.TREATMENT_DEATH_LIMIT


def test_treatment_death_limit_is_the_upper_wilson_limit_of_the_highest_published_rate():
    """ORIENT-15's first line with anti-PD-1: 9 deaths of 327 (2.8%), Wilson upper limit 5.1%; a
    rate within it is not flagged, one beyond it (and beyond its Monte Carlo error) is, naming
    the trial."""
    assert pl.GRADE5 and all(0 <= d <= n for _, n, d in pl.GRADE5)
    top = max(d / n for _, n, d in pl.GRADE5)
    lo, hi = proportion_confint(9, 327, alpha=0.05, method="wilson")
    assert top == pytest.approx(9 / 327) and pl.TREATMENT_DEATH_LIMIT == pytest.approx(hi, abs=1e-12)
    assert 0.051 < pl.TREATMENT_DEATH_LIMIT < 0.052 and pl.TREATMENT_DEATH_BASIS.endswith("9 of 327")
    # the default scenario's RT arms (2.2-3.6% at 20,000 patients) lie within it
    assert pl.check_arm(_entry(20000, treatment_deaths=0.036)) == []
    (w,) = pl.check_arm(_entry(20000, treatment_deaths=0.06))
    assert "ORIENT-15" in w["message"] and "9 of 327" in w["message"] and "grade5_fraction_fistula" in w["message"]


def _run(config, out) -> tuple[dict, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "oligosim.cli", "run", str(config), "--patients", "3000", "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    return summary, [l for l in done.stderr.splitlines() if l.startswith("warning: arm ")]


@pytest.mark.slow
def test_run_prints_and_records_the_warnings(tmp_path):
    """`oligosim run` writes each arm's warnings into summary.json and prints one line per
    warning on stderr, also with --quiet. The default scenario (no warnings since the limit of
    treatment deaths has a source) with a fistula TD50 of 60 Gy: RT to the primary in place then
    gives fistulas and treatment deaths beyond every published series."""
    for config, expect_warnings in ((CONFIGS / "default.toml", False), (tmp_path / "fistula.toml", True)):
        if expect_warnings:
            config.write_text(f'extends = "{(CONFIGS / "default.toml").as_posix()}"\n[toxicity]\nfistula_td50_gy = 60.0\n', encoding="utf-8")
        summary, lines = _run(config, tmp_path / config.stem)
        expected = [(name, w["message"]) for name, a in summary["arms"].items() for w in a["warnings"]]
        assert lines == [f"warning: arm {name}: {m}" for name, m in expected]
        for a in summary["arms"].values():
            assert a["warnings"] == pl.check_arm(a)
        if expect_warnings:
            flagged = {(name, w["metric"]) for name, a in summary["arms"].items() for w in a["warnings"]}
            assert ("upfront_rt", "tox.esophageal_fistula") in flagged and ("upfront_rt", "treatment_deaths") in flagged
            assert not any(name == "systemic_only" for name, _ in flagged)
        else:
            assert expected == []
