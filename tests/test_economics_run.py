"""Economics in a simulated run: off changes nothing, on is bit-identical for any thread count,
chunk size, event-buffer width and ``keep`` (issue 23, items 2 and 3)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CONFIGS, make_scenario
from oligosim import simulate
from oligosim.analysis.summary import format_table, summarize
from oligosim.economics.collect import ArmEconomics
from oligosim.economics.inputs import lower_economics
from oligosim.simulate import run_scenario

ARMS = ["systemic_only", "consolidative"]


@pytest.fixture(scope="module")
def scenario():
    return make_scenario("[economics]\nenabled = true\n", base=CONFIGS / "default.toml")


def _econ(res):
    return {a: (r.economics.columns, r.economics.categories) for a, r in res.arms.items()}


def _same(x, y):
    for a in x:
        for c in x[a][0]:
            assert np.array_equal(x[a][0][c], y[a][0][c]), (a, c)
        assert np.array_equal(x[a][1], y[a][1]), a


def test_off_by_default_and_off_changes_nothing(default_scenario, scenario):
    off = run_scenario(default_scenario, patients=60, seed=3, arms=ARMS, keep="all")
    on = run_scenario(scenario, patients=60, seed=3, arms=ARMS, keep="all")
    assert all(a.economics is None for a in off.arms.values())
    assert "economics" not in summarize(off)
    for a in ARMS:
        for c, v in off.arms[a].columns.items():
            assert np.array_equal(v, on.arms[a].columns[c], equal_nan=True), c


def test_bit_identical_for_threads_chunks_keep_and_log_width(scenario, monkeypatch):
    ref = _econ(run_scenario(scenario, patients=150, seed=5, arms=ARMS, threads=1, keep="summary"))
    _same(ref, _econ(run_scenario(scenario, patients=150, seed=5, arms=ARMS, threads=2, chunk=37, block=5, keep="summary")))
    _same(ref, _econ(run_scenario(scenario, patients=150, seed=5, arms=ARMS, keep="all", events=True, chunk=64)))
    # a log buffer far too narrow: every chunk is simulated again into a wider one
    monkeypatch.setattr(simulate, "_economics", lambda sc, name, n: ArmEconomics(lower_economics(sc, name), n, width=4))
    narrow = run_scenario(scenario, patients=150, seed=5, arms=ARMS, chunk=50, keep="summary")
    assert all(a.economics.width > 4 for a in narrow.arms.values())
    _same(ref, _econ(narrow))


def test_summary_block_is_consistent(scenario):
    res = run_scenario(scenario, patients=400, seed=11, arms=ARMS)
    s = summarize(res)
    eco = s["economics"]
    assert eco["reference_arm"] == ARMS[0] and eco["currency"] == "CNY"
    for a in ARMS:
        d = eco["arms"][a]
        cols = res.arms[a].economics.columns
        assert d["cost"] == pytest.approx(cols["cost"].mean(), rel=1e-12)
        assert d["cost_ci95"][0] < d["cost"] < d["cost_ci95"][1]
        assert sum(d["cost_by_category"].values()) == pytest.approx(d["cost"], rel=1e-5)  # float32 categories
        # discounting lowers, never raises; QALYs below life-years (utilities < 1)
        assert d["qalys"] < d["life_years"] <= d["life_years_undiscounted"]
        assert d["cost"] <= d["cost_undiscounted"]
        assert d["nmb"] == pytest.approx(eco["wtp_per_qaly"] * d["qalys"] - d["cost"], rel=1e-12)
    inc = eco["arms"][ARMS[1]]["vs_reference"]
    assert inc["cost"] == pytest.approx(eco["arms"][ARMS[1]]["cost"] - eco["arms"][ARMS[0]]["cost"], rel=1e-9)
    assert "cost-utility" in format_table(s)
    # the optimum at each GDP multiple is the arm of largest NMB there
    gdp = res.scenario.data["economics"]["gdp_per_capita"]
    for x, best in eco["optimal_arm_by_gdp_multiple"].items():
        nmb = {a: float(x) * gdp * eco["arms"][a]["qalys"] - eco["arms"][a]["cost"] for a in ARMS}
        assert best == max(nmb, key=nmb.get)


def test_reference_engine_gives_the_same_economics(scenario):
    """One post-processing of the event log for both engines: the SimPy reference's costs and
    QALYs equal the kernel's (its event times agree to root-finding accuracy, 1e-6 months)."""
    from oligosim.economics.collect import attach_from_log
    from oligosim.reference import run_scenario_reference

    ref = run_scenario_reference(scenario, patients=40, seed=31, arms=ARMS, events=True)
    attach_from_log(ref)
    ker = run_scenario(scenario, patients=40, seed=31, arms=ARMS)
    for a in ARMS:
        for c, v in ker.arms[a].economics.columns.items():
            assert np.allclose(ref.arms[a].economics.columns[c], v, rtol=1e-6, atol=1e-6), (a, c)


@pytest.mark.parametrize(
    "overrides",
    [
        {"economics.discount_costs_per_year": 0.0, "economics.discount_effects_per_year": 0.0},
        {"economics.discount_costs_per_year": 1.0, "economics.discount_effects_per_year": 1.0, "economics.end_of_life": 1e9},
        {"economics.utilities.progressed": 0.0, "economics.utilities.widespread": 0.0, "economics.disutility.neutropenia": 1.0, "economics.disutility_days.neutropenia": 3650.0},
    ],
)
def test_edge_values_give_finite_results(scenario, overrides):
    """Valid values at the schema's bounds give finite costs and effects; with no discounting the
    discounted and undiscounted results coincide."""
    res = run_scenario(scenario.with_values(overrides), patients=40, seed=2, arms=ARMS)
    for arm in res.arms.values():
        cols = arm.economics.columns
        assert all(np.all(np.isfinite(v)) for v in cols.values())
        assert np.all(cols["cost"] >= 0) and np.all(cols["ly"] > 0)
        if overrides.get("economics.discount_costs_per_year") == 0.0:
            assert np.allclose(cols["cost"], cols["cost_undiscounted"], rtol=1e-12)
            assert np.allclose(cols["ly"], cols["ly_undiscounted"], rtol=1e-12)
            assert np.allclose(cols["qaly"], cols["qaly_undiscounted"], rtol=1e-12, atol=1e-12)


def test_bad_economics_inputs_are_named():
    from oligosim.config import ConfigError

    with pytest.raises(ConfigError) as err:
        make_scenario(
            "[economics]\nenabled = true\ndiscount_costs_per_year = -0.01\n[economics.utilities]\nprogressed = 1.2\n",
            base=CONFIGS / "default.toml",
        )
    text = str(err.value)
    assert "economics.discount_costs_per_year = -0.01: must be within [0, 1]" in text
    assert "economics.utilities.progressed = 1.2: must be within [0, 1]" in text
    with pytest.raises(ConfigError, match=r"economics.drug_costs.no_such_regimen.*names no regimen"):
        make_scenario("[economics.drug_costs.no_such_regimen]\ninduction_cycle = 1.0\n", base=CONFIGS / "default.toml")
    # a regimen an arm uses needs a drug cost once the economics is on
    extra = '[regimens.newreg]\nlabel = "new"\n[arms.x]\nlabel = "x"\nfirst_line = "newreg"\nrt_timing = "none"\n'
    make_scenario(extra, base=CONFIGS / "default.toml")  # off: fine
    with pytest.raises(ConfigError, match=r"economics.drug_costs.newreg.*missing: arms.x.first_line uses regimen 'newreg'"):
        make_scenario(extra + "[economics]\nenabled = true\n", base=CONFIGS / "default.toml")


def test_a_run_with_procedures_prices_them_by_modality(scenario):
    """Liver metastases resected and lung metastases ablated: the ``procedures`` cost of every
    patient is the sum over that patient's own surgery and ablation events of the modality's
    price, discounted to entry; each modality is logged under its own code."""
    from oligosim import codes
    from oligosim.economics.inputs import CATEGORIES

    arms = ["upfront_rt", "at_progression"]
    values = {f"arms.{a}.local_modality.liver": "surgery" for a in arms} | {f"arms.{a}.local_modality.lung": "ablation" for a in arms}
    values |= {"economics.procedures.surgery": 31000.0, "economics.procedures.ablation": 9000.0}
    sc = scenario.with_values(values)
    res = run_scenario(sc, patients=600, seed=23, arms=arms, events=True)
    price = {codes.EV_SURGERY: 31000.0, codes.EV_ABLATION: 9000.0}
    seen = {codes.EV_SURGERY: 0, codes.EV_ABLATION: 0}
    for a in arms:
        arm = res.arms[a]
        kc = lower_economics(sc, a).rate_costs
        got = arm.economics.categories[:, CATEGORIES.index("procedures")]
        for j in range(arm.n):
            k = int(arm["ev_n"][j])
            t, c = arm.ev_time[j, :k], arm.ev_code[j, :k]
            expected = 0.0
            for code in price:
                at = t[(c == code) & (t <= arm["os"][j])]
                seen[code] += at.size
                expected += price[code] * float(np.exp(-kc * at).sum())
            assert got[j] == pytest.approx(expected, rel=1e-6, abs=1e-3), (a, j)
    # both modalities were given, and neither is logged under the other's code
    assert seen[codes.EV_SURGERY] > 20 and seen[codes.EV_ABLATION] > 20, seen
