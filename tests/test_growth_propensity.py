"""Fast-growing disease that also disseminates more (model 3.1, ``disease.growth_propensity_correlation``).

The patient's growth deviate is Z_g = rho Z_pi + sqrt(1 - rho^2) Z, Z_pi the metastatic
propensity's deviate and Z an independent standard normal. Eligibility selects on the propensity
(through the lesions it puts at entry) but, in a synchronous cohort, not on the growth rate, so
the regression of Z_g on Z_pi keeps slope rho and residual variance 1 - rho^2 among the eligible
patients: checked on both engines' own cohort draws, with tolerances from the standard errors.
Common random numbers: the correlation moves the growth rate and nothing else that is drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oligosim._kernels import cohort as C
from oligosim.config import ConfigError
from oligosim.lowering import lower_model
from oligosim.reference import cohort as reference_cohort

from conftest import kernel_cohort_states, make_scenario

SYNCHRONOUS = """
[cohort]
presentation = { synchronous = 1.0, metachronous = 0.0, induced = 0.0, repeat = 0.0 }

[arms.chemo]
first_line = "tp"
rt_timing = "none"
"""


def _scenario(rho):
    return make_scenario(SYNCHRONOUS + f"\n[disease]\ngrowth_propensity_correlation = {rho}\n")


def _kernel_draws(sc, n, seed=5):
    """(propensity, growth, lesions at entry) of ``n`` eligible patients, the kernel's cohort code."""
    out = kernel_cohort_states(sc, n, seed, ("propensity", "growth"))
    return out[:, 0], out[:, 1], out[:, 2].astype(int)


def _reference_draws(sc, n, seed=5):
    P = lower_model(sc)
    out = np.zeros((n, 2))
    for pid in range(n):
        pat, lesions = reference_cohort.draw_cohort_patient(P, seed, pid)
        assert lesions is not None
        out[pid] = pat.propensity, pat.growth
    return out[:, 0], out[:, 1]


def _deviates(sc, propensity, growth):
    """(Z_pi, Z_g) of the patients with metastatic capacity (propensity > 0)."""
    P = lower_model(sc)
    keep = propensity > 0.0
    z_pi = np.log(propensity[keep]) / P.propensity_sdlog
    z_g = np.log(growth[keep] / P.growth_median) / P.growth_sd_patient
    return z_pi, z_g


def _check_regression(z_pi, z_g, rho):
    """Slope rho within 4 standard errors; residual variance 1 - rho^2 within 4 standard errors
    (normal residuals: var of the sample variance 2 s^4 / (n - 1))."""
    n = z_pi.size
    xc = z_pi - z_pi.mean()
    slope = float(np.dot(xc, z_g - z_g.mean()) / np.dot(xc, xc))
    resid = z_g - rho * z_pi  # the residual of the true line: mean 0, variance 1 - rho^2
    s2 = 1.0 - rho * rho
    se_slope = math.sqrt(s2 / float(np.dot(xc, xc)))
    assert abs(slope - rho) < 4.0 * se_slope, (slope, rho, se_slope)
    assert abs(resid.mean()) < 4.0 * math.sqrt(s2 / n), resid.mean()
    assert abs(resid.var(ddof=1) - s2) < 4.0 * s2 * math.sqrt(2.0 / (n - 1)), resid.var(ddof=1)


@pytest.mark.parametrize("rho", [0.0, 0.7, -0.4])
def test_kernel_growth_regresses_on_propensity_with_slope_rho(rho):
    sc = _scenario(rho)
    propensity, growth, _ = _kernel_draws(sc, 3000)
    z_pi, z_g = _deviates(sc, propensity, growth)
    assert z_pi.size > 1500  # most patients have capacity (the calibrated share without is 0.29)
    _check_regression(z_pi, z_g, rho)


def test_reference_growth_regresses_on_propensity_with_slope_rho():
    sc = _scenario(0.7)
    propensity, growth = _reference_draws(sc, 800)
    z_pi, z_g = _deviates(sc, propensity, growth)
    _check_regression(z_pi, z_g, 0.7)


def test_the_correlation_moves_the_growth_rate_and_nothing_else_drawn():
    """Same patients (rejection sampling accepts the same draws: eligibility does not read the
    growth rate of a synchronous patient): the propensity and the lesions at entry are identical,
    the growth rate differs, and rho = 0 is the default's draw bit for bit."""
    p0, g0, k0 = _kernel_draws(_scenario(0.0), 400)
    p1, g1, k1 = _kernel_draws(_scenario(0.8), 400)
    pd, gd, kd = _kernel_draws(make_scenario(SYNCHRONOUS), 400)
    assert np.array_equal(p0, p1) and np.array_equal(k0, k1)
    assert np.mean(g0 != g1) > 0.99
    assert np.array_equal(g0, gd) and np.array_equal(p0, pd) and np.array_equal(k0, kd)


def test_growth_deviate_is_the_same_function_in_both_engines():
    for rho, zp, z in ((0.0, 1.3, -0.7), (0.7, 1.3, -0.7), (-1.0, 0.4, 2.0), (1.0, -2.2, 0.3)):
        k = C.growth_deviate(rho, zp, z)
        assert k == reference_cohort.growth_deviate(rho, zp, z)
        assert k == pytest.approx(rho * zp + math.sqrt(1.0 - rho * rho) * z, abs=1e-15)
    assert C.growth_deviate(0.0, 1.3, -0.7) == -0.7


def test_a_correlation_outside_minus_one_to_one_is_refused():
    with pytest.raises(ConfigError, match=r"disease\.growth_propensity_correlation"):
        _scenario(1.2)
