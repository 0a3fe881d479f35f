"""Schema-wide fuzz (issue 22 item 2): no value of any numeric parameter, in or out of its range,
ends in anything but a :class:`ConfigError`, and on valid values the kernel never raises.

Values are drawn for every numeric leaf of the scenario schema (every entry of the arm and
regimen tables of the base scenario) over and around its range: inside, at and just past the
bounds, and far outside (1e308, inf, nan). A valid scenario is simulated for a few patients by
the kernel (and, in a smaller test, by the SimPy reference): it must finish without an exception
or a RuntimeWarning and give finite, non-negative survival times. Derandomised and bounded, so
the test takes the same examples, and about the same time, on every run.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_fixture
from oligosim.config import ConfigError
from oligosim.config.nodes import Float, Int, Maybe, Section, Table
from oligosim.config.schema import SCENARIO_SCHEMA
from oligosim.simulate import InfeasibleCohort, run_scenario

BASE = load_fixture("busy.toml")


def numeric_leaves(scenario) -> list[tuple[str, Float | Int]]:
    """(dotted path, node) of every Float and Int of the schema, tables expanded by the entries
    the scenario has."""
    out: list[tuple[str, Float | Int]] = []

    def walk(node, path):
        if isinstance(node, Section):
            for key, child in node.fields.items():
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(node, Table):
            entries = scenario.data
            for part in path.split("."):
                entries = entries.get(part, {})
            for name in entries:
                walk(node.value, f"{path}.{name}")
        elif isinstance(node, Maybe):
            walk(node.node, path)
        elif isinstance(node, (Float, Int)):
            out.append((path, node))

    walk(SCENARIO_SCHEMA, "")
    return out


LEAVES = numeric_leaves(BASE)
#: patients are fixed by the test (a drawn 1e9 would only test the machine's memory)
FUZZED = [(p, n) for p, n in LEAVES if p not in ("simulation.patients",)]


def test_every_numeric_leaf_is_fuzzed():
    paths = {p for p, _ in FUZZED}
    assert len(paths) > 150
    assert {"radiotherapy.tcp_volume_exponent", "background_mortality.gompertz_slope_per_year", "disease.doubling_sdlog_patient"} <= paths
    assert any(p.startswith("arms.") for p in paths) and any(p.startswith("regimens.") for p in paths)


@st.composite
def value_for(draw, node):
    """A value in, at the edge of, or outside the node's range."""
    lo, hi = node.lo, node.hi
    if isinstance(node, Int):
        a = -(2**63) if lo is None else lo
        b = 2**63 if hi is None else hi
        inside = st.integers(min_value=max(a, -10**6), max_value=min(b, a + 10**6) if hi is None else b)
        return draw(inside if draw(st.integers(0, 9)) < 8 else st.sampled_from([a, b, a - 1, b + 1, 0, 2**70]))
    edges = [1e308, -1e308, math.inf, -math.inf, math.nan, 0.0, 1.0, 1e-300]
    for bound in (lo, hi):
        if bound is not None:
            edges += [bound, math.nextafter(bound, math.inf), math.nextafter(bound, -math.inf), bound + 1e-9, bound - 1e-9]
    a = -1e6 if lo is None else lo
    b = (a + 1e6 if hi is None else hi)
    inside = st.floats(min_value=a, max_value=b, allow_nan=False, allow_infinity=False)
    anywhere = st.floats(allow_nan=True, allow_infinity=True)
    # mostly inside the range, so most drawn scenarios are valid and reach the kernel
    kind = draw(st.integers(0, 9))
    return draw(inside if kind < 7 else st.sampled_from(edges) if kind < 9 else anywhere)


@st.composite
def overrides(draw, max_size=4):
    picks = draw(st.lists(st.sampled_from(FUZZED), min_size=1, max_size=max_size, unique_by=lambda leaf: leaf[0]))
    return {path: draw(value_for(node)) for path, node in picks}


def _valid(values):
    try:
        return BASE.with_values(values)
    except ConfigError:
        return None  # refused, with the key, value and rule named (tests/test_config.py checks the wording)


def _check(results):
    for arm in results.arms.values():
        os_ = arm["os"]
        assert np.all(np.isfinite(os_)) and np.all(os_ >= 0), f"{arm.name}: OS {os_}"
        assert np.all(arm["pfs"] <= os_ + 1e-9)


#: the drawn overrides that gave a valid scenario (the kernel test checks it ran enough of them)
RAN: list = []

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@settings(max_examples=2000, **SETTINGS)
@given(values=st.one_of(overrides(), overrides(max_size=30)))
def test_kernel_never_raises_on_a_valid_scenario(values):
    scenario = _valid(values)
    if scenario is None:
        return
    RAN.append(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning is a silently wrong number
        try:
            results = run_scenario(scenario, patients=6, seed=3, threads=1)
        except InfeasibleCohort:
            return  # a clean refusal: eligibility cannot be met with these cohort parameters
    _check(results)


def test_enough_valid_scenarios_were_simulated():
    # runs after the kernel fuzz (file order): most of its examples must have reached the kernel
    assert len(RAN) >= 500, len(RAN)


@settings(max_examples=100, **SETTINGS)
@given(values=overrides(max_size=3))
def test_reference_never_raises_on_a_valid_scenario(values):
    from oligosim.reference import run_scenario_reference

    scenario = _valid(values)
    if scenario is None:
        return
    arm = next(iter(scenario.data["arms"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            results = run_scenario_reference(scenario, patients=2, seed=3, arms=[arm])
        except InfeasibleCohort:
            return
    _check(results)


@pytest.mark.parametrize(("path", "value"), [
    # issue 22 item 2: each of these crashed the kernel (ZeroDivisionError, SystemError)
    ("radiotherapy.tcp_volume_exponent", 200.0),
    ("radiotherapy.tcp_volume_exponent", math.inf),
    ("radiotherapy.tcp_volume_ref_cm3", math.inf),
    ("disease.metastasis_doubling_median_months", math.inf),
    ("disease.doubling_sdlog_patient", 1e6),
    ("background_mortality.gompertz_slope_per_year", 1e6),
    ("background_mortality.rate_at_60_per_year", 5e-324),
    ("radiotherapy.tcp_bed50_ref_gy", 5e-324),
    ("radiotherapy.alpha_beta_tumour_gy", 1e-300),
    ("toxicity.esophagitis_td50_gy", 5e-324),
    ("cohort.dfi_sdlog", 1e300),
])
def test_values_that_crashed_the_kernel_are_refused(path, value):
    with pytest.raises(ConfigError) as info:
        BASE.with_values({path: value})
    assert path in str(info.value) and "must be" in str(info.value)


def test_a_ceiling_accepts_a_lognormal_that_stays_below_it():
    # the per-unit ceilings guard the arithmetic, not plausibility: a PSA's lognormal is fine...
    path = "disease.seeding_rate_per_cm3_month"
    sc = BASE.with_values({path: {"dist": "lognormal", "mean": 0.06, "sd": 0.02}})
    assert sc.uncertain[path].kind == "lognormal"
    # ...unless a real share of it lies beyond the ceiling
    with pytest.raises(ConfigError, match=path):
        BASE.with_values({path: {"dist": "lognormal", "mean": 500.0, "sd": 1000.0}})
