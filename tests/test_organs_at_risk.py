"""Heart, spinal cord, bowel and conduit doses, field size and the patient's own toxicity risk
(model 6.5 and 9; issue 18): closed forms of the dose model and the NTCPs, common random numbers
when a switch changes, and the esophagectomy scenario that once gave esophageal fistulas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import oar as kernel_oar
from oligosim.config import load_scenario
from oligosim.lowering import lower_model
from oligosim.radiobiology import core as rb
from oligosim.reference import oar as reference_oar
from oligosim.reference.cohort import logv_of_diameter

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def default():
    return load_scenario(CONFIGS / "default.toml")


def esophagectomy_sbrt():
    """A user's scenario (issue 18): SBRT 50 Gy in 5 fractions to lung and mediastinal-node
    metastases after esophagectomy."""
    return load_scenario(CONFIGS / "scenarios" / "node_recurrence_after_esophagectomy.toml").with_values(
        {"arms.rt_alone.metastasis_schedule": "uniform", "arms.rt_alone.metastasis_dose_gy": 50.0, "arms.rt_alone.metastasis_fractions": 5}
    )


# ----------------------------------------------------------------------------- closed forms


def test_share_tables_lowered_by_organ_and_station():
    """The flattened (organ, subsite) tables carry the organ's value for every subsite, and a
    distant node's station value."""
    sc = default().with_values({"radiotherapy.heart_mean_dose_fraction.lung": 0.07, "radiotherapy.bowel_dose_fraction_node_station.abdominal": 0.66})
    t = lower_model(sc).tx[0]
    for s in range(codes.N_STATIONS):
        assert reference_oar.oar_share(t["heart_fraction"], codes.LUNG, s) == 0.07
    assert reference_oar.oar_share(t["bowel_fraction"], codes.DISTANT_NODE, codes.STATION_NAMES.index("abdominal")) == 0.66
    assert reference_oar.oar_share(t["cord_fraction"], codes.DISTANT_NODE, codes.STATION_NAMES.index("upper_mediastinum")) == 0.75


@pytest.mark.parametrize("diameter", [0.5, 2.0, 4.0, 7.5])
def test_field_scale_is_the_ptv_volume_ratio_to_a_power(diameter):
    """((d + 2m) / (d_ref + 2m))^(3e) for a metastasis, in both engines; 1 at the reference
    diameter, for the primary and regional nodes, and with the scaling off."""
    sc = default().with_values({"radiotherapy.ptv_margin_cm": 0.5, "radiotherapy.oar_reference_diameter_cm": 2.0, "radiotherapy.oar_volume_exponent": 0.5})
    P = lower_model(sc)
    logv = logv_of_diameter(diameter)
    expected = ((diameter + 1.0) / 3.0) ** 1.5
    assert reference_oar.field_scale(P, codes.LIVER, logv) == pytest.approx(expected, rel=1e-12)
    assert kernel_oar.field_scale(P, codes.LIVER, logv) == pytest.approx(expected, rel=1e-12)
    assert reference_oar.field_scale(P, codes.PRIMARY, logv) == 1.0
    assert reference_oar.field_scale(P, codes.REGIONAL_NODE, logv) == 1.0
    off = lower_model(sc.with_values({"radiotherapy.oar_dose_scales_with_size": False}))
    assert reference_oar.field_scale(off, codes.LIVER, logv) == 1.0
    assert reference_oar.field_scale(P, codes.LIVER, logv_of_diameter(2.0)) == pytest.approx(1.0, rel=1e-12)


def test_ntcp_defaults_reproduce_their_sources():
    """The default LKB parameters give the published anchors: QUANTEC's 6% myelopathy at 60 Gy
    and 0.2% (here 0.1%) at 50 Gy, 50% at each TD50."""
    sc = default()
    t = lower_model(sc).tx[0]
    myelo = lambda d: rb.ntcp_lkb(d, float(t["myelopathy_td50"]), float(t["myelopathy_m"]))
    assert myelo(60.0) == pytest.approx(0.06, abs=0.005)
    assert myelo(50.0) < 0.003
    assert myelo(69.4) == pytest.approx(0.5, abs=1e-12)
    assert rb.ntcp_lkb(50.6, float(t["cardiac_td50"]), float(t["cardiac_m"])) == pytest.approx(0.5, abs=1e-12)
    # Burman's stomach TD50 65 Gy at a tenth of the organ with n = 0.15
    assert float(t["conduit_td50"]) == pytest.approx(65.0 * 10 ** 0.15, abs=0.5)


class _Pat:
    def __init__(self, age, ecog):
        self.age, self.ecog = age, ecog


def test_patient_odds_centred_on_the_series_age_mix():
    """Elderly (>= 72 years) odds ratio 1.85 (Hurria 2011) centred on the elderly share s of the
    series behind the rates: OR^(1-s) and OR^-s, whose ratio is OR; times the ECOG >= 2 one."""
    P = lower_model(default().with_values({"toxicity.ecog2_odds_ratio": 1.5, "toxicity.elderly_reference_share": 0.2}))
    young = reference_oar.patient_odds(P, _Pat(71.99, 1), 1)
    old = reference_oar.patient_odds(P, _Pat(72.0, 0), 0)
    assert young == pytest.approx(1.85 ** -0.2)
    assert old == pytest.approx(1.85 ** 0.8)
    assert old / young == pytest.approx(1.85)
    assert reference_oar.patient_odds(P, _Pat(80.0, 2), 2) == pytest.approx(1.85 ** 0.8 * 1.5)
    # uncentred: a younger patient keeps the series' rates exactly
    P0 = lower_model(default().with_values({"toxicity.elderly_reference_share": 0.0}))
    assert reference_oar.patient_odds(P0, _Pat(50.0, 1), 1) == 1.0


def test_capped_share():
    """A grown share stops at the primary's field's share (or its own, if larger) and at 1."""
    assert reference_oar.capped_share(2.0, 0.06, 0.2) == pytest.approx(0.12)
    assert reference_oar.capped_share(5.0, 0.06, 0.2) == pytest.approx(0.2)
    assert reference_oar.capped_share(3.0, 0.3, 0.3) == pytest.approx(0.3)
    assert reference_oar.capped_share(0.5, 0.3, 0.3) == pytest.approx(0.15)
    assert reference_oar.capped_share(3.0, 0.5, 0.9) == 0.9
    assert kernel_oar.scaled_share(5.0, 0.06, 0.2) == reference_oar.capped_share(5.0, 0.06, 0.2)


# ----------------------------------------------------------------------------- simulated


def _young(arm):
    return np.asarray(arm["age"]) < 72.0


def test_elderly_odds_ratio_changes_only_the_elderly():
    """Common random numbers: with the odds ratio uncentred (reference share 0), switching it
    off changes no patient younger than 72 in any column, and raises the toxicity of the
    elderly."""
    sc = default().with_values({"toxicity.elderly_reference_share": 0.0})
    on = simulate.run_scenario(sc, patients=3000, seed=5, arms=["systemic_only", "concurrent"])
    off = simulate.run_scenario(sc.with_values({"toxicity.elderly_odds_ratio": 1.0}), patients=3000, seed=5, arms=["systemic_only", "concurrent"])
    for name in ("systemic_only", "concurrent"):
        a, b = on.arms[name], off.arms[name]
        young = _young(a)
        for col in a.columns:
            assert np.array_equal(np.asarray(a[col])[young], np.asarray(b[col])[young], equal_nan=True), f"{name}.{col} changed for a younger patient"
        assert np.array_equal(a.tox[young], b.tox[young])
        old = ~young
        # more grade >= 3 leukopenia among the elderly; never less for the same draws
        assert a.tox[old, codes.LEUKOPENIA].sum() > b.tox[old, codes.LEUKOPENIA].sum()


def test_centred_odds_keep_the_population_rate():
    """Centred on the default cohort's elderly share, the odds ratio leaves the arm's leukopenia
    rate near the rate without it (same seed: common random numbers), at most a third of the
    shift the uncentred odds ratio makes; the elderly still get more than the younger patients."""
    sc = default()

    def arm(values):
        return simulate.run_scenario(sc.with_values(values), patients=8000, seed=12, arms=["systemic_only"]).arms["systemic_only"]

    on, off, uncentred = arm({}), arm({"toxicity.elderly_odds_ratio": 1.0}), arm({"toxicity.elderly_reference_share": 0.0})
    rate = lambda a: a.tox[:, codes.LEUKOPENIA].mean()
    shift = rate(uncentred) - rate(off)
    assert shift > 0.005
    assert abs(rate(on) - rate(off)) < shift / 3
    old = ~_young(on)
    assert on.tox[old, codes.LEUKOPENIA].mean() > on.tox[~old, codes.LEUKOPENIA].mean()


def test_size_scaling_touches_only_courses_with_metastatic_targets():
    """With the field-size rule off, patients who never had RT are unchanged, and the lung dose
    of metastatic targets moves pneumonitis in one direction or the other only through it."""
    sc = default()
    arms = ["systemic_only", "upfront_rt"]
    on = simulate.run_scenario(sc, patients=2000, seed=9, arms=arms)
    off = simulate.run_scenario(sc.with_values({"radiotherapy.oar_dose_scales_with_size": False}), patients=2000, seed=9, arms=arms)
    for col in on.arms["systemic_only"].columns:
        assert np.array_equal(np.asarray(on.arms["systemic_only"][col]), np.asarray(off.arms["systemic_only"][col]), equal_nan=True)
    a, b = on.arms["upfront_rt"], off.arms["upfront_rt"]
    never = np.asarray(a["rt_courses"]) == 0
    assert never.any()
    for col in ("os", "pfs", "death_cause"):
        assert np.array_equal(np.asarray(a[col])[never], np.asarray(b[col])[never])
    assert not np.array_equal(a.tox, b.tox)


def test_esophagectomy_sbrt_gives_conduit_not_esophageal_toxicity():
    """SBRT 50 Gy/5 to mediastinal nodes after esophagectomy: no esophagitis or esophageal
    fistula (there is no esophagus), but the gastric conduit in its bed can ulcerate or perforate.
    With the esophagus in place (default scenario) there is never a conduit event."""
    res = simulate.run_scenario(esophagectomy_sbrt(), patients=3000, seed=3, arms=["rt_alone"])
    tox = res.arms["rt_alone"].tox
    assert tox[:, codes.ESOPHAGITIS].sum() == 0
    assert tox[:, codes.FISTULA].sum() == 0
    assert tox[:, codes.CONDUIT].sum() > 0
    # below the plausibility limit of 10% beyond its Monte Carlo error (2.6 se)
    p = tox[:, codes.CONDUIT].mean()
    assert p - 2.6 * math.sqrt(p * (1 - p) / tox.shape[0]) < 0.10
    d = simulate.run_scenario(default(), patients=2000, seed=3, arms=["upfront_rt"])
    assert d.arms["upfront_rt"].tox[:, codes.CONDUIT].sum() == 0
