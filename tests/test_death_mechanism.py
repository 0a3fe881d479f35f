"""The mechanism of every disease death is recorded (model 4.3): the detail of the closing
EV_DEATH_DISEASE event, in both engines (the cross-engine suite compares every event)."""

from __future__ import annotations

import numpy as np

from oligosim import codes, simulate


def _details(arm) -> np.ndarray:
    """The detail of each disease death's closing event."""
    out = []
    for j in np.flatnonzero(arm["death_cause"] == codes.DEATH_DISEASE):
        k = arm["ev_n"][j]
        if k > arm.ev_code.shape[1]:
            continue  # a long course overflowed the event log, whose closing event is then not kept
        assert arm.ev_code[j, k - 1] == codes.EV_DEATH_DISEASE
        out.append(int(arm.ev_detail[j, k - 1]))
    return np.array(out)


def test_each_mechanism_alone_is_recorded_as_itself(default_scenario):
    """With the burden hazard almost off nearly every disease death is one of the two constant
    post-progression hazards (or a fistula, or the diffuse disease's); with those off, every one is
    the burden's (or a fistula, or the diffuse disease's); and the defaults record a mix of all."""
    kw = dict(patients=800, seed=12, arms=["systemic_only"], events=True)
    # 1e-300 (the rate must be positive): with 1e-30 a fifth of the deaths were still the burden's
    # at the v2 fit's defaults (doubling 1.5 months, post-progression hazard 0.005/month), whose
    # fastest-growing patients live on to volumes that even such a rate turns into a death
    constant = default_scenario.with_values({"disease.death_hazard_per_cm3_month": 1e-300})
    d = _details(simulate.run_scenario(constant, **kw).arms["systemic_only"])
    # (not none: a lesion at the fastest growth the model allows, doubling in 0.1 month, reaches
    # astronomical volumes within a few years, which even this rate turns into a death)
    assert d.size > 100 and np.mean(d == codes.DISEASE_DEATH_BURDEN) < 0.01
    # the other mechanisms are the constant hazards, the tumour fistula and the diffuse disease's
    # own clock (model 4.9; on in the shipped defaults since the v2 fit)
    others = {codes.DISEASE_DEATH_AFTER_PROGRESSION, codes.DISEASE_DEATH_AFTER_WIDESPREAD, codes.DISEASE_DEATH_FISTULA, codes.DISEASE_DEATH_DIFFUSE}
    assert set(d.tolist()) - {codes.DISEASE_DEATH_BURDEN} <= others
    assert np.mean((d == codes.DISEASE_DEATH_AFTER_PROGRESSION) | (d == codes.DISEASE_DEATH_AFTER_WIDESPREAD)) > 0.6
    burden = default_scenario.with_values(
        {"disease.death_hazard_after_progression_per_month": 0.0, "disease.death_hazard_after_widespread_per_month": 0.0}
    )
    d = _details(simulate.run_scenario(burden, **kw).arms["systemic_only"])
    assert d.size > 100 and set(d.tolist()) <= {codes.DISEASE_DEATH_BURDEN, codes.DISEASE_DEATH_FISTULA, codes.DISEASE_DEATH_DIFFUSE}
    d = _details(simulate.run_scenario(default_scenario, **kw).arms["systemic_only"])
    assert {codes.DISEASE_DEATH_BURDEN, codes.DISEASE_DEATH_AFTER_PROGRESSION, codes.DISEASE_DEATH_AFTER_WIDESPREAD} <= set(d.tolist())
