"""Uncertainty analyses are about the model they run (oligosim/experiments/centring.py).

Every shipped sensitivity and PSA file is centred on its scenario's values; a file whose range
or distribution misses the scenario's value is refused with the parameter, the value and the
rule; a sweep whose grid misses it is only warned about, by `oligosim check` and at run time.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from oligosim import cli
from oligosim.config import ConfigError, load_scenario
from oligosim.experiments.spec import load_experiment, loads_experiment

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "experiments").rglob("*.toml"))


def _middle_half(base, lo, hi) -> bool:
    """``base`` in the middle half of [lo, hi], on the linear or (for positive ranges) the log
    scale: ranges of rates are centred geometrically."""
    def inside(b, a, c):
        return a + 0.25 * (c - a) <= b <= c - 0.25 * (c - a)

    if inside(base, lo, hi):
        return True
    return lo > 0 and base > 0 and inside(math.log(base), math.log(lo), math.log(hi))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(ROOT)) for p in SHIPPED])
def test_every_shipped_experiment_is_centred_on_its_scenario(path):
    """Every shipped file loads; the ranges of one-way, Sobol' and Morris analyses hold their
    scenario's value in their middle half, and PSA distributions between their quartiles."""
    exp = load_experiment(path)
    for p in exp.parameters:
        if exp.kind in ("oneway", "sobol", "morris"):
            assert _middle_half(p.base, p.low, p.high), f"{path.name}: {p.path} = {p.base:g} not centred in [{p.low:g}, {p.high:g}]"
        elif exp.kind == "psa":
            q1, q3 = (float(v) for v in p.distribution.ppf([0.25, 0.75]))
            assert q1 <= p.base <= q3, f"{path.name}: {p.path} = {p.base:g} outside the quartiles [{q1:g}, {q3:g}]"


#: a second, centred parameter for kinds that need two (the shipped default 27.8824 +/- 20%)
_SECOND = '\n[[parameter]]\npath = "toxicity.pneumonitis_td50_gy"\nlow = 22.3\nhigh = 33.5\n'


def _default(path: str) -> float:
    """The default scenario's value of ``path`` (the shipped default), so that the bad ranges
    below miss it whatever the current calibration point is."""
    return float(load_scenario(ROOT / "configs" / "default.toml").get(path))


def _g(x: float) -> str:
    """``x`` to 3 significant figures, as written in a file and printed in a message."""
    return f"{float(f'{x:.3g}'):g}"


def _file(kind: str, parameter: str, extra: str = "") -> str:
    arms = '["systemic_only", "consolidative"]'
    second = _SECOND if kind in ("sobol", "morris") else ""
    return f"""
[experiment]
kind = "{kind}"
scenario = "{(ROOT / 'configs' / 'default.toml').as_posix()}"
arms = {arms}
outcome = "os.rmst:60"
patients = 100
{extra}
[[parameter]]
{parameter}
{second}"""


@pytest.mark.parametrize("kind", ["oneway", "sobol", "morris"])
def test_a_range_that_misses_the_base_value_is_refused(kind):
    extra = "[sobol]\nbase_samples = 16\n" if kind == "sobol" else ""
    base = _default("disease.seeding_rate_per_cm3_month")
    low, high = _g(1.2 * base), _g(3.0 * base)  # above the base value
    assert base < float(low)
    text = _file(kind, f'path = "disease.seeding_rate_per_cm3_month"\nlow = {low}\nhigh = {high}', extra)
    with pytest.raises(ConfigError) as e:
        loads_experiment(text, name="x.toml")
    msg = str(e.value)
    assert 'parameter[0].path = "disease.seeding_rate_per_cm3_month"' in msg
    assert f"{base:.6g} lies outside [low, high] = [{low}, {high}]" in msg and "must contain the base value" in msg
    # the same range moved to hold the value passes
    low = _g(0.5 * base)
    loads_experiment(_file(kind, f'path = "disease.seeding_rate_per_cm3_month"\nlow = {low}\nhigh = {high}', extra), name="x.toml")


def test_a_psa_distribution_far_from_the_base_value_is_refused():
    base = _default("disease.propensity_sdlog")
    # mean at half the base value, CV 0.15: its 99.5th percentile is about 0.7 x the base value
    far = f'path = "disease.propensity_sdlog"\ndistribution = {{ dist = "gamma", mean = {_g(0.5 * base)}, sd = {_g(0.075 * base)} }}'
    with pytest.raises(ConfigError) as e:
        loads_experiment(_file("psa", far), name="x.toml")
    assert f"{base:.6g} lies outside the distribution's central 99%" in str(e.value)
    near = f'path = "disease.propensity_sdlog"\ndistribution = {{ dist = "gamma", mean = {_g(0.96 * base)}, sd = {_g(0.12 * base)} }}'
    ok = _file("psa", near)
    assert loads_experiment(ok, name="x.toml").warnings == ()


def test_a_sweep_beyond_the_base_value_is_a_warning_only(tmp_path, capsys):
    """A threshold sweep may explore away from the base: loaded, with a warning that `oligosim
    check` prints (exit 0)."""
    base = _default("disease.seeding_rate_per_cm3_month")
    lo, hi = _g(1.3 * base), _g(2.6 * base)  # above the base value
    assert base < float(lo)
    text = _file("threshold", f'path = "disease.seeding_rate_per_cm3_month"\nvalues = [{lo}, {hi}]')
    exp = loads_experiment(text, name="x.toml")
    assert len(exp.warnings) == 1 and f"{base:.6g} lies outside the swept values [{lo}, {hi}]" in exp.warnings[0]
    f = tmp_path / "sweep.toml"
    f.write_text(text)
    assert cli.main(["check", str(f)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "lies outside the swept values" in err
