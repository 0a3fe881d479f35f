"""Surgery and thermal ablation chosen as a site's local therapy (model 6.10).

Tested: the configuration (choices by site, a clear error for an unknown one) and its lowering;
with control probability 1 no treated lesion ever fails locally, with 0 residuals fail in field;
the size threshold; the procedure's death and complication rates against their parameters within
standard errors, and the death's own detail; a resected lesion is not resected again, an
ablated one may be; and common random numbers: a patient who never has a procedure runs exactly
as with RT everywhere.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim import codes, simulate
from oligosim._kernels import cohort as kernel_cohort
from oligosim.config import ConfigError
from oligosim.lowering import lower_arm, lower_model

N = 1500
SEED = 17
ARMS = ["upfront_rt", "at_progression"]


def _choose(sc, modality, sites=codes.SITE_NAMES, **params):
    """``sc`` with ``modality`` for ``sites`` in both arms and ``params`` for the modality."""
    values = {f"arms.{a}.local_modality.{s}": modality for a in ARMS for s in sites}
    values.update({f"local_therapy.{modality}.{k}": v for k, v in params.items()})
    return sc.with_values(values)


def _events(arm, j):
    """(times, codes, details) of patient ``j``'s recorded events."""
    k = min(int(arm["ev_n"][j]), arm.ev_time.shape[1])
    return arm.ev_time[j, :k], arm.ev_code[j, :k], arm.ev_detail[j, :k]


def _complete(arm, j):
    return int(arm["ev_n"][j]) <= arm.ev_time.shape[1]


def _procedure_records(arm):
    """Local-control records of procedures (BED NaN: no dose): (time, event, volume cm3)."""
    t, e, bed, vol = arm.lc_records
    keep = np.isnan(bed)
    return t[keep], e[keep], vol[keep]


# ----------------------------------------------------------------------------- configuration


def test_default_is_rt_everywhere_and_lowering(default_scenario):
    sc = default_scenario
    for a in sc.data["arms"]:
        assert set(sc.data["arms"][a]["local_modality"].values()) == {"rt"}
    on = sc.with_values({"arms.upfront_rt.local_modality.liver": "surgery", "arms.upfront_rt.local_modality.node_abdominal": "ablation"})
    A = lower_arm(on, "upfront_rt")
    assert (A.local_modality[codes.LIVER] == codes.LOCAL_SURGERY).all()
    assert A.local_modality[codes.DISTANT_NODE, codes.STATION_NAMES.index("abdominal")] == codes.LOCAL_ABLATION
    assert (np.count_nonzero(A.local_modality) == codes.N_STATIONS + 1)
    assert not lower_arm(sc, "upfront_rt").local_modality.any()
    P = lower_model(on)
    assert P.procedure.shape == (3, codes.N_PROC)
    assert not P.procedure[codes.LOCAL_RT].any()
    assert P.procedure[codes.LOCAL_ABLATION, codes.PROC_SIZE_CM] == 3.0
    assert P.procedure[codes.LOCAL_SURGERY, codes.PROC_REPEAT] == 0.0 and P.procedure[codes.LOCAL_ABLATION, codes.PROC_REPEAT] == 1.0


def test_unknown_modality_names_key_and_choices(default_scenario):
    with pytest.raises(ConfigError) as exc:
        default_scenario.with_values({"arms.upfront_rt.local_modality.liver": "laser"})
    msg = str(exc.value)
    assert "local_modality.liver" in msg and "laser" in msg and "surgery" in msg and "ablation" in msg


def test_probability_out_of_range_is_refused(default_scenario):
    with pytest.raises(ConfigError) as exc:
        default_scenario.with_values({"local_therapy.ablation.mortality": 1.5})
    assert "local_therapy.ablation.mortality" in str(exc.value)


# ----------------------------------------------------------------------------- control


def test_control_one_no_treated_lesion_fails(default_scenario):
    sc = _choose(default_scenario, "surgery", control_small=1.0, control_large=1.0, mortality=0.0)
    res = simulate.run_scenario(sc, patients=N, seed=SEED, arms=ARMS, events=True)
    for name in ARMS:
        arm = res.arms[name]
        _, failed, _ = _procedure_records(arm)
        assert failed.size > 200, name
        assert not failed.any(), name
        for j in range(N):
            t, c, d = _events(arm, j)
            treated = set(d[np.isin(c, codes.PROCEDURE_EVENTS)].tolist())
            assert not treated & set(d[c == codes.EV_LOCAL_FAILURE].tolist()), f"{name} patient {j}"


def test_control_zero_residuals_fail_in_field(default_scenario):
    sc = _choose(default_scenario, "ablation", control_small=0.0, control_large=0.0, mortality=0.0)
    arm = simulate.run_scenario(sc, patients=N, seed=SEED, arms=["upfront_rt"], events=True).arms["upfront_rt"]
    _, failed, _ = _procedure_records(arm)
    assert failed.size > 200
    # an uncontrolled residual regrows to its size at the procedure, unless systemic therapy
    # eradicates it or the patient dies first (about a third fail at this seed)
    assert failed.mean() > 0.2


def test_size_threshold(default_scenario):
    """control 1 up to 2 cm and 0 above: no small treated lesion fails, large ones do."""
    sc = _choose(default_scenario, "ablation", control_small=1.0, control_large=0.0, size_threshold_cm=2.0, mortality=0.0)
    arm = simulate.run_scenario(sc, patients=N, seed=SEED, arms=["upfront_rt"], events=True).arms["upfront_rt"]
    _, failed, vol = _procedure_records(arm)
    d = np.array([kernel_cohort.diameter_of_logv(math.log(float(v))) for v in vol])
    small, large = d < 2.0 * (1 - 1e-4), d > 2.0 * (1 + 1e-4)
    assert small.sum() > 100 and large.sum() > 100
    assert not failed[small].any()
    assert failed[large].sum() > 20  # residuals of large lesions fail (others eradicated by chemotherapy, or death first)


# ----------------------------------------------------------------------------- morbidity and mortality


@pytest.mark.parametrize("modality", ["surgery", "ablation"])
def test_mortality_and_complications_match_parameters(default_scenario, modality):
    """A session treating k lesions kills with probability 1 - (1 - m)^k: observed procedure
    deaths against the sum of those probabilities, within 4 standard errors; complications per
    procedure against their probability, within 4 binomial standard errors."""
    m, c = 0.08, 0.25
    sc = _choose(default_scenario, modality, mortality=m, complication=c)
    res = simulate.run_scenario(sc, patients=N, seed=SEED, arms=ARMS, events=True)
    expected = variance = 0.0
    deaths = procedures = complications = 0
    for name in ARMS:
        arm = res.arms[name]
        for j in range(N):
            if not _complete(arm, j):
                continue
            t, code, d = _events(arm, j)
            at = t[np.isin(code, codes.PROCEDURE_EVENTS)]
            procedures += at.size
            complications += int((code == codes.EV_PROCEDURE_COMPLICATION).sum())
            for s in np.unique(at):
                p = 1.0 - (1.0 - m) ** int((at == s).sum())
                expected += p
                variance += p * (1.0 - p)
            died = (code == codes.EV_DEATH_TREATMENT) & (d == codes.TREATMENT_DEATH_PROCEDURE)
            if died.any():
                deaths += 1
                assert arm["death_cause"][j] == codes.DEATH_TREATMENT
                assert t[died][0] == at.max(), f"{name} patient {j}: the procedure death is at its last session"
    assert procedures > 500
    assert abs(deaths - expected) <= 4.0 * math.sqrt(variance), (deaths, expected)
    se = math.sqrt(c * (1 - c) / procedures)
    assert abs(complications / procedures - c) <= 4.0 * se


def test_no_procedure_deaths_without_mortality(default_scenario):
    sc = _choose(default_scenario, "surgery", mortality=0.0)
    arm = simulate.run_scenario(sc, patients=N, seed=SEED, arms=["upfront_rt"], events=True).arms["upfront_rt"]
    for j in range(N):
        t, code, d = _events(arm, j)
        assert not ((code == codes.EV_DEATH_TREATMENT) & (d == codes.TREATMENT_DEATH_PROCEDURE)).any()


# ----------------------------------------------------------------------------- re-treatment


def _max_procedures_per_lesion(arm):
    most = 0
    for j in range(N):
        _, code, d = _events(arm, j)
        lesions = d[np.isin(code, codes.PROCEDURE_EVENTS)]
        if lesions.size:
            most = max(most, int(np.bincount(lesions).max()))
    return most


def test_resected_lesion_is_not_resected_again_ablated_may_be(default_scenario):
    params = dict(control_small=0.0, control_large=0.0, mortality=0.0)
    surg = simulate.run_scenario(_choose(default_scenario, "surgery", **params), patients=N, seed=SEED, arms=["at_progression"], events=True)
    abl = simulate.run_scenario(_choose(default_scenario, "ablation", **params), patients=N, seed=SEED, arms=["at_progression"], events=True)
    assert _max_procedures_per_lesion(surg.arms["at_progression"]) == 1
    assert _max_procedures_per_lesion(abl.arms["at_progression"]) >= 2
    # the log names the modality (economics prices them apart, model 14.1): one code each
    s_codes, a_codes = surg.arms["at_progression"].ev_code, abl.arms["at_progression"].ev_code
    assert (s_codes == codes.EV_SURGERY).any() and not (s_codes == codes.EV_ABLATION).any()
    assert (a_codes == codes.EV_ABLATION).any() and not (a_codes == codes.EV_SURGERY).any()


# ----------------------------------------------------------------------------- common random numbers


def test_patients_without_a_procedure_are_untouched(default_scenario):
    """Liver metastases resected instead of irradiated: every patient who never has a procedure
    has the same course, column by column and event by event, as with RT everywhere (the
    procedure's draws have their own stream)."""
    rt = simulate.run_scenario(default_scenario, patients=N, seed=SEED, arms=ARMS, events=True)
    on = simulate.run_scenario(_choose(default_scenario, "surgery", sites=("liver",)), patients=N, seed=SEED, arms=ARMS, events=True)
    for name in ARMS:
        a, b = rt.arms[name], on.arms[name]
        touched = 0
        for j in range(N):
            t, code, d = _events(b, j)
            if np.isin(code, codes.PROCEDURE_EVENTS).any():
                touched += 1
                continue
            for col, v in a.columns.items():
                assert np.array_equal(v[j], b.columns[col][j], equal_nan=v.dtype.kind == "f"), f"{name} patient {j}: {col}"
            ta, ca, da = _events(a, j)
            assert np.array_equal(ta, t) and np.array_equal(ca, code) and np.array_equal(da, d), f"{name} patient {j}"
        assert 50 < touched < N, name


def test_event_details_in_words():
    from oligosim.io.decode import detail_names

    code = np.array([codes.EV_SURGERY, codes.EV_PROCEDURE_COMPLICATION, codes.EV_DEATH_TREATMENT, codes.EV_DEATH_TREATMENT])
    detail = np.array([3, codes.LOCAL_ABLATION, codes.TREATMENT_DEATH_PROCEDURE, codes.TREATMENT_DEATH_OTHER])
    assert list(detail_names(code, detail, [])) == ["lesion 3", "ablation", "procedure", ""]
