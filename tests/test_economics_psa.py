"""The psa experiment's cost-effectiveness section end to end (issue 23, items 4 and 5):
experiments/cea.toml with few patients and draws."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from oligosim.config import ConfigError
from oligosim.experiments import load_experiment, loads_experiment
from oligosim.experiments.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]


def test_cea_experiment_end_to_end(tmp_path):
    exp = load_experiment(ROOT / "experiments" / "cea.toml", quick=True)
    s = dict(exp.settings, draws=8, wtp_points=11)
    s["evppi_groups"] = {k: v for k, v in s["evppi_groups"].items() if k in ("radiotherapy", "utilities")}
    exp = replace(exp, patients=80, settings=s, arms=("systemic_only", "consolidative", "concurrent"))
    doc = run_experiment(exp, tmp_path / "cea", workers=1, quiet=True)
    eco = doc["results"]["economics"]
    assert {"ce_plane.png", "ceac.png", "evpi.png", "psa_convergence.png", "ceac.csv", "psa_economics.csv"} <= set(doc["files"])
    for f in ("ce_plane.png", "ceac.png", "evpi.png", "psa_convergence.png"):
        assert (tmp_path / "cea" / f).stat().st_size > 1000
    ceac = np.array([eco["ceac"][a] for a in exp.arms])
    assert np.allclose(ceac.sum(axis=0), 1.0)
    assert len(eco["wtp_grid"]) == 11 and eco["wtp_grid"][0] == 0.0
    # at a willingness to pay of 0 the cheapest arm is optimal in every draw
    cheapest = min(exp.arms, key=lambda a: eco["arms"][a]["cost_mean"])
    assert eco["ceaf_optimal"][0] == cheapest and eco["ceac"][cheapest][0] == 1.0
    assert eco["evpi_per_patient"] >= 0.0
    assert sum(eco["arms"][a]["probability_cost_effective"] for a in exp.arms) == pytest.approx(1.0)
    assert eco["evpi_population"] == pytest.approx(eco["evpi_per_patient"] * eco["population_patients_discounted"])
    assert set(eco["evppi"]) == {"radiotherapy", "utilities"}
    # the PSA's per-draw means agree with its economic metrics
    draws = doc["results"]["outcome"]
    assert len(draws["systemic_only"]) == 8
    md = (tmp_path / "cea" / "report.md").read_text()
    assert "Cost-effectiveness under parameter uncertainty" in md and "EVPI at the willingness to pay" in md
    assert json.loads((tmp_path / "cea" / "results.json").read_text())["results"]["economics"]["currency"] == "CNY"


def test_evppi_group_must_name_a_parameter():
    text = (ROOT / "experiments" / "cea.toml").read_text().replace('radiotherapy = ["radiotherapy.tcp_bed50_ref_gy"]', 'radiotherapy = ["radiotherapy.tcp_gamma50"]')
    with pytest.raises(ConfigError, match=r"psa.evppi_groups.radiotherapy.*radiotherapy.tcp_gamma50.*not the path"):
        loads_experiment(text, base_dir=ROOT / "experiments")


def test_economic_metric_without_economics_is_a_clear_error(default_scenario):
    from oligosim.analysis.metrics import evaluate
    from oligosim.simulate import run_scenario

    res = run_scenario(default_scenario, patients=20, seed=1, arms=["systemic_only"])
    with pytest.raises(ValueError, match=r"econ.cost.*enabled = true"):
        evaluate(res.arms["systemic_only"], "econ.cost")
