"""Tests of ``oligosim.config``: schema nodes, errors, extends/provenance, uncertainty, Scenario.

The schema used here is a small stand-in written in this module (covering every node type), so
the tests do not depend on ``oligosim/config/schema.py``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from oligosim.config import scenario as scenario_module
from oligosim.config import (
    REQUIRED,
    Bool,
    Choice,
    ConfigError,
    Distribution,
    Float,
    Int,
    ListOf,
    Ref,
    Scenario,
    Section,
    Str,
    Table,
    load_scenario,
    loads_scenario,
    validate,
)

from conftest import make_scenario

DATA = Path(__file__).parent / "data" / "config"


# ----------------------------------------------------------------------------- test schema


def _lesion_check(data, path):
    if data["n"] > data["cap"]:
        return [("n", f"more lesions than the cap ({data['cap']})")]
    return []


def _root_check(data, path):
    return [
        (f"arms.{name}.consolidation", "consolidation needs a systemic regimen")
        for name, arm in data["arms"].items()
        if arm["consolidation"] and arm["systemic"] == "none"
    ]


REGIMEN = Section(
    {
        "label": Str(""),
        "orr": Float(lo=0, hi=1, doc="objective response rate"),
        "cycles": Int(4, lo=1, hi=12),
    }
)
ARM = Section(
    {
        "systemic": Ref("regimens", "none"),
        "consolidation": Bool(False),
        "rt": Section(
            {
                "metastasis_dose_gy": Float(30.0, lo=0, lo_open=True, unit="Gy", uncertain=False),
                "fractions": Int(5, lo=1, hi=40),
                "technique": Choice(("sbrt", "imrt", "3dcrt"), "sbrt"),
            }
        ),
    }
)
SCHEMA = Section(
    {
        "scenario": Section({"name": Str(""), "seed": Int(0, lo=0)}),
        "cohort": Section(
            {
                "n_patients": Int(REQUIRED, lo=1, doc="number of virtual patients"),
                "histology_fraction_eac": Float(0.5, lo=0, hi=1),
                "hazard": Float(0.1, lo=0, hi=1, lo_open=True, hi_open=True, unit="per month"),
                "scale": Float(1.0, lo=0),
                "shift": Float(0.0),
                "age_mean": Float(65.0, lo=18, hi=100, unit="years", uncertain=False),
                "sites": ListOf(Choice(("liver", "lung", "bone")), min_len=1, max_len=3, default=["liver"]),
                "lesions": Section({"fool": Int(1, lo=0), "cap": Int(5, lo=1), "n": Int(2, lo=0)}, check=_lesion_check),
            }
        ),
        "regimens": Table(REGIMEN),
        "arms": Table(ARM, min_items=1),
    },
    check=_root_check,
)


def text(cohort: str = "", rest: str = "") -> str:
    """A valid scenario with ``cohort`` lines added to [cohort] and ``rest`` appended at the end."""
    return (
        f"[cohort]\nn_patients = 10\n{cohort}\n"
        "[regimens.chemo]\norr = 0.4\n"
        "[regimens.chemo_pd1]\norr = 0.5\n"
        '[arms.a]\nsystemic = "chemo"\n'
        f"{rest}\n"
    )


def load(source: str) -> Scenario:
    return loads_scenario(source, name="x.toml", schema=SCHEMA)


def errors_of(source: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(source)
    return info.value.errors


# ----------------------------------------------------------------------------- one error each

ONE_ERROR = [
    pytest.param(
        text("[cohort.lesions]\nfoo = 1"),
        "x.toml: cohort.lesions.foo: unknown key (did you mean 'fool'?)",
        id="unknown-key-suggestion",
    ),
    pytest.param(
        text("zzz_qqq = 1"),
        "x.toml: cohort.zzz_qqq: unknown key; known keys: n_patients, histology_fraction_eac, hazard, "
        "scale, shift, age_mean, sites, lesions",
        id="unknown-key-no-suggestion",
    ),
    pytest.param(text(rest="[cohrt]\nn_patients = 3"), "x.toml: cohrt: unknown section (did you mean 'cohort'?)", id="unknown-section"),
    pytest.param(
        text('histology_fraction_eac = "half"'),
        'x.toml: cohort.histology_fraction_eac = "half": must be a number',
        id="wrong-type",
    ),
    pytest.param(
        text("histology_fraction_eac = true"),
        "x.toml: cohort.histology_fraction_eac = true: must be a number, not true/false",
        id="bool-as-number",
    ),
    pytest.param(
        text("[cohort.lesions]\ncap = true"),
        "x.toml: cohort.lesions.cap = true: must be an integer, not true/false",
        id="bool-as-int",
    ),
    pytest.param(
        text("[cohort.lesions]\ncap = 3.0"),
        "x.toml: cohort.lesions.cap = 3.0: must be an integer (write 3, not 3.0)",
        id="float-as-int",
    ),
    pytest.param(text("[cohort.lesions]\ncap = 0"), "x.toml: cohort.lesions.cap = 0: must be >= 1", id="int-below-range"),
    pytest.param(
        text("histology_fraction_eac = 1.3"),
        "x.toml: cohort.histology_fraction_eac = 1.3: must be within [0, 1]",
        id="probability-above-1",
    ),
    pytest.param(
        text("histology_fraction_eac = -0.1"),
        "x.toml: cohort.histology_fraction_eac = -0.1: must be within [0, 1]",
        id="probability-below-0",
    ),
    pytest.param(
        text("hazard = 0"),
        "x.toml: cohort.hazard = 0: must be within (0, 1) (per month)",
        id="open-range-low-end",
    ),
    pytest.param(
        text("hazard = 1.0"),
        "x.toml: cohort.hazard = 1.0: must be within (0, 1) (per month)",
        id="open-range-high-end",
    ),
    pytest.param(
        text(rest="[arms.a.rt]\nmetastasis_dose_gy = -5"),
        "x.toml: arms.a.rt.metastasis_dose_gy = -5: must be > 0 (Gy)",
        id="open-lower-bound-with-unit",
    ),
    pytest.param(
        text(rest="[arms.a.rt]\nmetastasis_dose_gy = 0"),
        "x.toml: arms.a.rt.metastasis_dose_gy = 0: must be > 0 (Gy)",
        id="open-lower-bound-at-bound",
    ),
    pytest.param(
        text("age_mean = 101"),
        "x.toml: cohort.age_mean = 101: must be within [18, 100] (years)",
        id="closed-range-with-unit",
    ),
    pytest.param(
        text("age_mean = { dist = \"uniform\", low = 50, high = 70 }"),
        'x.toml: cohort.age_mean = { dist = "uniform", low = 50, high = 70 }: must be a number '
        "(this parameter takes no uncertainty distribution)",
        id="distribution-on-certain-float",
    ),
    pytest.param(
        text(rest='[arms.a.rt]\ntechnique = "sbrtt"'),
        'x.toml: arms.a.rt.technique = "sbrtt": must be one of: "sbrt", "imrt", "3dcrt" (did you mean "sbrt"?)',
        id="choice",
    ),
    pytest.param(
        text(rest='consolidation = "true"'),
        'x.toml: arms.a.consolidation = "true": must be true or false (without quotes)',
        id="bool",
    ),
    pytest.param(text(rest="[scenario]\nname = 3"), "x.toml: scenario.name = 3: must be a string (in quotes)", id="str"),
    pytest.param(text("sites = []"), "x.toml: cohort.sites = []: must have at least 1 item", id="list-too-short"),
    pytest.param(
        text('sites = ["liver", "lung", "bone", "liver"]'),
        'x.toml: cohort.sites = ["liver", "lung", "bone", "liver"]: must have at most 3 items',
        id="list-too-long",
    ),
    pytest.param(
        text('sites = ["liver", "brain"]'),
        'x.toml: cohort.sites[1] = "brain": must be one of: "liver", "lung", "bone"',
        id="list-item",
    ),
    pytest.param(text('sites = "liver"'), 'x.toml: cohort.sites = "liver": must be a list, e.g. [1, 2]', id="not-a-list"),
    pytest.param(
        text(rest='[arms.b]\nsystemic = "chemo_x"'),
        'x.toml: arms.b.systemic = "chemo_x": unknown regimen; known: chemo, chemo_pd1 (or "none")',
        id="unknown-ref",
    ),
    pytest.param(
        text(rest="[regimens.other]\ncycles = 2"),
        "x.toml: regimens.other.orr: missing required key (objective response rate)",
        id="missing-required-in-table-entry",
    ),
    pytest.param(
        text(rest='[arms."9a"]\nsystemic = "chemo"'),
        "x.toml: arms.9a: invalid name \"9a\": names must start with a letter and use only letters, digits, '_' and '-'",
        id="invalid-table-key",
    ),
    pytest.param(text(rest="[arms.a.rt]\nfractions = 0.5"), "x.toml: arms.a.rt.fractions = 0.5: must be an integer", id="fractional-int"),
    pytest.param(text("lesions = 3"), "x.toml: cohort.lesions = 3: must be a table", id="section-not-table"),
    pytest.param(
        text("[cohort.lesions]\nn = 7\ncap = 5"),
        "x.toml: cohort.lesions.n = 7: more lesions than the cap (5)",
        id="section-check",
    ),
    pytest.param(
        text(rest="[arms.b]\nconsolidation = true"),
        "x.toml: arms.b.consolidation = true: consolidation needs a systemic regimen",
        id="root-check",
    ),
]


@pytest.mark.parametrize(("source", "expected"), ONE_ERROR)
def test_each_error_kind_gives_one_message(source, expected):
    assert errors_of(source) == [expected]


def test_missing_required_key():
    source = '[regimens.chemo]\norr = 0.4\n[arms.a]\nsystemic = "chemo"\n'
    assert errors_of(source) == ["x.toml: cohort.n_patients: missing required key (number of virtual patients)"]


def test_table_with_too_few_items():
    assert errors_of("[cohort]\nn_patients = 3\n") == ["x.toml: arms: missing: at least 1 [arms.<name>] table(s) required"]


def test_ref_to_empty_table_says_none_defined():
    errors = errors_of('[cohort]\nn_patients = 3\n[arms.a]\nsystemic = "chemo"\n')
    assert errors == ['x.toml: arms.a.systemic = "chemo": unknown regimen; known: (none defined) (or "none")']


def test_several_errors_reported_together():
    source = text(
        "histology_fraction_eac = 1.3\nhazard = 0\nsitez = []",
        rest='[arms.b]\nsystemic = "chemo_x"\n[arms.b.rt]\nmetastasis_dose_gy = -5',
    )
    with pytest.raises(ConfigError) as info:
        load(source)
    errors = info.value.errors
    assert len(errors) == 5
    assert isinstance(info.value, ValueError)
    assert str(info.value).splitlines() == errors
    assert "x.toml: cohort.sitez: unknown key (did you mean 'sites'?)" in errors
    assert "x.toml: cohort.histology_fraction_eac = 1.3: must be within [0, 1]" in errors
    assert "x.toml: arms.b.rt.metastasis_dose_gy = -5: must be > 0 (Gy)" in errors
    assert all(line.startswith("x.toml: ") for line in errors)


def test_check_does_not_run_on_invalid_section():
    # n is invalid, so the cap rule (which would compare None) must not run or crash
    assert errors_of(text("[cohort.lesions]\nn = -1")) == ["x.toml: cohort.lesions.n = -1: must be >= 0"]


# ----------------------------------------------------------------------------- defaults


def test_defaults_filled():
    s = load(text())
    assert s.get("cohort.n_patients") == 10
    assert s.get("cohort.histology_fraction_eac") == 0.5
    assert s.get("cohort.sites") == ("liver",)
    assert s.get("cohort.lesions.cap") == 5
    assert s.get("arms.a.rt.fractions") == 5
    assert s.get("arms.a.rt.technique") == "sbrt"
    assert s.get("arms.a.consolidation") is False
    assert s.get("regimens.chemo.cycles") == 4
    assert s.get("scenario.seed") == 0
    assert s.get("cohort.sites[0]") == "liver"
    assert s.uncertain == {}


def test_float_values_are_floats_and_ints_stay_ints():
    s = load(text("histology_fraction_eac = 1"))
    assert isinstance(s.get("cohort.histology_fraction_eac"), float)
    assert isinstance(s.get("cohort.n_patients"), int)


def test_name_from_scenario_section_else_stem():
    assert load(text()).name == "x"
    assert load(text(rest='[scenario]\nname = "Trial A"')).name == "Trial A"
    assert load_scenario(DATA / "multi.toml", schema=SCHEMA).name == "base scenario"


def test_get_missing_key():
    s = load(text())
    with pytest.raises(KeyError):
        s.get("cohort.nope")
    assert s.get("cohort.nope", 3) == 3


def test_validate_plain_dict():
    data, uncertain = validate(
        {"cohort": {"n_patients": 3, "scale": {"dist": "gamma", "shape": 4, "scale": 0.5}}, "arms": {"a": {}}},
        SCHEMA,
        origin="dict",
    )
    assert data["cohort"]["scale"] == pytest.approx(2.0)
    assert data["arms"]["a"]["systemic"] == "none"
    assert set(uncertain) == {"cohort.scale"}
    with pytest.raises(ConfigError, match=r"^dict: cohort.n_patients = 0: must be >= 1$"):
        validate({"cohort": {"n_patients": 0}, "arms": {"a": {}}}, SCHEMA, origin="dict")


def test_default_schema_is_used_when_none_given(monkeypatch):
    monkeypatch.setattr(scenario_module, "default_schema", lambda: SCHEMA)
    assert loads_scenario(text()).get("cohort.n_patients") == 10
    assert load_scenario(DATA / "base.toml").get("cohort.n_patients") == 100


# ----------------------------------------------------------------------------- extends, provenance


def test_extends_merges_and_overrides_with_provenance():
    s = load_scenario(DATA / "child.toml", schema=SCHEMA)
    assert s.name == "child scenario"
    assert s.get("arms.upfront.rt.metastasis_dose_gy") == 40
    assert s.get("arms.upfront.rt.fractions") == 5  # merged from the base table
    assert s.get("cohort.n_patients") == 100
    assert s.get("cohort.sites") == ("liver", "lung")
    assert set(s.get("arms")) == {"upfront", "consolidative"}
    assert s.sources["arms.upfront.rt.metastasis_dose_gy"] == str(DATA / "child.toml")
    assert s.sources["arms.upfront.rt.fractions"] == str(DATA / "base.toml")
    assert s.sources["cohort.n_patients"] == str(DATA / "base.toml")
    # the uncertainty table replaced the base's as a whole
    assert s.uncertain["cohort.histology_fraction_eac"] == Distribution("uniform", {"low": 0.3, "high": 0.5})
    assert s.sources["cohort.histology_fraction_eac.low"] == str(DATA / "child.toml")
    assert "cohort.histology_fraction_eac.a" not in s.sources


def test_extends_list_merges_in_order():
    s = load_scenario(DATA / "multi.toml", schema=SCHEMA)
    assert s.get("cohort.n_patients") == 200
    assert s.get("cohort.histology_fraction_eac") == 0.6
    assert "cohort.histology_fraction_eac" not in s.uncertain  # a plain number replaced the distribution
    assert s.get("arms.upfront.rt.fractions") == 8
    assert s.get("arms.upfront.rt.metastasis_dose_gy") == 30
    assert s.sources["cohort.n_patients"] == str(DATA / "override.toml")
    assert s.sources["arms.upfront.rt.fractions"] == str(DATA / "multi.toml")
    assert s.sources["regimens.chemo.orr"] == str(DATA / "base.toml")


def test_extends_is_relative_to_the_extending_file():
    s = load_scenario(DATA / "sub" / "in_subdir.toml", schema=SCHEMA)
    assert s.get("cohort.n_patients") == 7
    assert s.sources["regimens.chemo.orr"] == str(DATA / "base.toml")


def test_error_names_the_file_that_wrote_the_value():
    with pytest.raises(ConfigError) as info:
        load_scenario(DATA / "uses_bad_base.toml", schema=SCHEMA)
    assert info.value.errors == [
        f"{DATA / 'bad_base.toml'}: cohort.histology_fraction_eac = 1.3: must be within [0, 1]",
        f"{DATA / 'uses_bad_base.toml'}: arms.upfront.rt.metastasis_dose_gy = -5: must be > 0 (Gy)",
    ]


def test_extends_cycle_names_the_chain():
    a, b = DATA / "cycle_a.toml", DATA / "cycle_b.toml"
    with pytest.raises(ConfigError) as info:
        load_scenario(a, schema=SCHEMA)
    assert info.value.errors == [f"{b}: extends cycle: {a} -> {b} -> {a}"]


def test_missing_base_file():
    path = DATA / "missing_base.toml"
    with pytest.raises(ConfigError) as info:
        load_scenario(path, schema=SCHEMA)
    assert info.value.errors == [f'{path}: extends = "does_not_exist.toml": file not found: {DATA / "does_not_exist.toml"}']


def test_missing_file():
    path = DATA / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_scenario(path, schema=SCHEMA)
    assert info.value.errors == [f"{path}: file not found"]


def test_toml_syntax_error_names_file_and_line():
    path = DATA / "syntax.toml"
    with pytest.raises(ConfigError) as info:
        load_scenario(path, schema=SCHEMA)
    (message,) = info.value.errors
    assert message.startswith(f"{path}: line 3, column ")
    assert "TOML syntax error: Invalid value" in message


def test_toml_syntax_error_in_base_names_the_base():
    with pytest.raises(ConfigError) as info:
        load_scenario(DATA / "syntax_child.toml", schema=SCHEMA)
    (message,) = info.value.errors
    assert message.startswith(f"{DATA / 'syntax.toml'}: line 3")


def test_syntax_error_in_string():
    with pytest.raises(ConfigError, match=r"^x.toml: line 2, column \d+: TOML syntax error"):
        load("[cohort]\nn_patients = = 3\n")


def test_extends_must_be_file_names():
    with pytest.raises(ConfigError, match=r"^x.toml: extends = 3: must be a file name or a list of file names$"):
        load("extends = 3\n" + text())


def test_loads_scenario_extends_relative_to_base_dir():
    s = loads_scenario('extends = "base.toml"\n[cohort]\nn_patients = 1\n', name="mem", base_dir=DATA, schema=SCHEMA)
    assert s.get("cohort.n_patients") == 1
    assert s.sources["cohort.n_patients"] == "mem"
    assert s.sources["regimens.chemo.orr"] == str(DATA / "base.toml")


# ----------------------------------------------------------------------------- uncertainty

UNCERTAIN = [
    # (path, inline table, kind, expected mean, expected sd)
    ("cohort.histology_fraction_eac", 'dist = "beta", mean = 0.3, sd = 0.05', "beta", 0.3, 0.05),
    ("cohort.histology_fraction_eac", 'dist = "beta", a = 2, b = 8', "beta", 0.2, math.sqrt(2 * 8 / (100 * 11))),
    ("cohort.hazard", 'dist = "beta", mean = 0.1, sd = 0.02', "beta", 0.1, 0.02),
    ("cohort.scale", 'dist = "gamma", shape = 4, scale = 0.5', "gamma", 2.0, 1.0),
    ("cohort.scale", 'dist = "gamma", mean = 2, sd = 0.5', "gamma", 2.0, 0.5),
    ("cohort.scale", 'dist = "lognormal", mean = 1.5, sd = 0.3', "lognormal", 1.5, 0.3),
    (
        "cohort.scale",
        'dist = "lognormal", meanlog = 0, sdlog = 0.5',
        "lognormal",
        math.exp(0.125),
        math.sqrt((math.exp(0.25) - 1) * math.exp(0.25)),
    ),
    ("cohort.shift", 'dist = "normal", mean = 1, sd = 2', "normal", 1.0, 2.0),
    ("cohort.histology_fraction_eac", 'dist = "uniform", low = 0.2, high = 0.6', "uniform", 0.4, 0.4 / math.sqrt(12)),
    (
        "cohort.histology_fraction_eac",
        'dist = "triangular", low = 0.1, mode = 0.2, high = 0.6',
        "triangular",
        0.3,
        math.sqrt((0.01 + 0.04 + 0.36 - 0.02 - 0.06 - 0.12) / 18),
    ),
]


def _set(path: str, inline: str) -> str:
    section, key = path.rsplit(".", 1)
    assert section == "cohort"
    return text(f"{key} = {{ {inline} }}")


@pytest.mark.parametrize(("path", "inline", "kind", "mean", "sd"), UNCERTAIN)
def test_uncertainty_tables(path, inline, kind, mean, sd):
    s = load(_set(path, inline))
    dist = s.uncertain[path]
    assert dist.kind == kind
    assert dist.mean == pytest.approx(mean, rel=1e-9)
    assert dist.sd == pytest.approx(sd, rel=1e-9)
    # without `value` the point value is the distribution's mean
    assert s.get(path) == pytest.approx(mean, rel=1e-9)
    # the frozen scipy distribution agrees with an independently built one
    p = dist.params
    independent = {
        "beta": lambda: stats.beta(p.get("a", 1), p.get("b", 1)),
        "gamma": lambda: stats.gamma(p.get("shape", 1), scale=p.get("scale", 1)),
        "lognormal": lambda: stats.lognorm(p.get("sdlog", 1), scale=math.exp(p.get("meanlog", 0))),
        "normal": lambda: stats.norm(p.get("mean", 0), p.get("sd", 1)),
        "uniform": lambda: stats.uniform(p.get("low", 0), p.get("high", 1) - p.get("low", 0)),
        "triangular": lambda: stats.triang(0.2, loc=0.1, scale=0.5),
    }[kind]()
    m, v = independent.stats(moments="mv")
    assert float(m) == pytest.approx(mean, rel=1e-9)
    assert math.sqrt(float(v)) == pytest.approx(sd, rel=1e-9)


def test_explicit_point_value():
    s = load(text('histology_fraction_eac = { value = 0.25, dist = "beta", mean = 0.3, sd = 0.05 }'))
    assert s.get("cohort.histology_fraction_eac") == 0.25
    assert s.uncertain["cohort.histology_fraction_eac"].mean == pytest.approx(0.3)


def test_uncertainty_inside_table_entries():
    s = load(text().replace("orr = 0.5", 'orr = { dist = "beta", mean = 0.5, sd = 0.1 }'))
    assert set(s.uncertain) == {"regimens.chemo_pd1.orr"}
    assert s.get("regimens.chemo_pd1.orr") == pytest.approx(0.5)


BAD_UNCERTAIN = [
    pytest.param(
        'histology_fraction_eac = { dist = "beta", mean = 0.5, sd = 0.6 }',
        'x.toml: cohort.histology_fraction_eac = { dist = "beta", mean = 0.5, sd = 0.6 }: '
        "a beta distribution with mean 0.5 needs sd < sqrt(mean*(1-mean)) = 0.5",
        id="infeasible-beta-mean-sd",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "beta", mean = 1.2, sd = 0.1 }',
        'x.toml: cohort.histology_fraction_eac = { dist = "beta", mean = 1.2, sd = 0.1 }: '
        "a beta distribution needs 0 < mean < 1",
        id="beta-mean-outside-0-1",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "normal", mean = 0.5, sd = 0.1 }',
        'x.toml: cohort.histology_fraction_eac = { dist = "normal", mean = 0.5, sd = 0.1 }: '
        "a normal distribution takes values in (-inf, inf), outside the allowed range [0, 1]; "
        "choose one that stays inside (beta for [0, 1], gamma or lognormal for positive values, "
        "uniform or triangular for a bounded range)",
        id="normal-on-bounded",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "gamma", shape = 2, scale = 0.1 }',
        "a gamma distribution takes values in (0, inf), outside the allowed range [0, 1]",
        id="gamma-on-probability",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "uniform", low = 0.5, high = 1.5 }',
        "a uniform distribution takes values in [0.5, 1.5], outside the allowed range [0, 1]",
        id="uniform-beyond-range",
    ),
    pytest.param(
        'hazard = { dist = "uniform", low = 0, high = 0.5 }',
        "a uniform distribution takes values in [0, 0.5], outside the allowed range (0, 1)",
        id="uniform-touching-open-bound",
    ),
    pytest.param(
        'shift = { dist = "gamma", shape = 0, scale = 1 }',
        "shape must be > 0",
        id="non-positive-parameter",
    ),
    pytest.param(
        'scale = { dist = "gamma", mean = 2, sd = 0 }',
        "sd must be > 0",
        id="zero-sd",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "weibull", shape = 2 }',
        'unknown dist "weibull"; use one of: beta, gamma, lognormal, normal, uniform, triangular',
        id="unknown-dist",
    ),
    pytest.param(
        "histology_fraction_eac = { mean = 0.3, sd = 0.1 }",
        "an uncertainty table needs dist = one of: beta",
        id="missing-dist",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "beta", a = 2, mean = 0.3 }',
        "a beta distribution needs exactly one of these parameter sets: a, b | mean, sd",
        id="mixed-parameter-sets",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "beta", mean = 0.3, sdd = 0.1 }',
        "unknown key 'sdd' for a beta distribution (did you mean 'sd'?)",
        id="unknown-parameter",
    ),
    pytest.param(
        'histology_fraction_eac = { dist = "triangular", low = 0.1, mode = 0.7, high = 0.6 }',
        "a triangular distribution needs low <= mode <= high and low < high",
        id="triangular-order",
    ),
    pytest.param(
        'histology_fraction_eac = { value = 0.95, dist = "uniform", low = 0.1, high = 0.9 }',
        "value 0.95 lies outside the distribution's range [0.1, 0.9]",
        id="point-outside-support",
    ),
    pytest.param(
        'scale = { value = -1, dist = "normal", mean = 0, sd = 1 }',
        "outside the allowed range [0, inf)",
        id="normal-on-half-bounded",
    ),
    pytest.param(
        'shift = { value = -1e400, dist = "normal", mean = 0, sd = 1 }',
        "value must be a finite number, got -inf",
        id="infinite-point",
    ),
]


@pytest.mark.parametrize(("cohort", "expected"), BAD_UNCERTAIN)
def test_bad_uncertainty_tables(cohort, expected):
    errors = errors_of(text(cohort))
    assert len(errors) >= 1
    assert errors[0].startswith("x.toml: cohort.")
    assert expected in errors[0]


def test_beta_on_positive_parameter_is_allowed():
    # beta's (0, 1) lies inside [0, inf): allowed
    s = load(text('scale = { dist = "beta", a = 2, b = 2 }'))
    assert s.get("cohort.scale") == pytest.approx(0.5)


@settings(max_examples=60, deadline=None)
@given(mean=st.floats(0.01, 0.99), frac=st.floats(0.05, 0.95))
def test_beta_moment_conversion_property(mean, frac):
    sd = frac * math.sqrt(mean * (1 - mean))
    dist = Distribution.from_spec({"dist": "beta", "mean": mean, "sd": sd})
    assert dist.mean == pytest.approx(mean, rel=1e-7)
    assert dist.sd == pytest.approx(sd, rel=1e-7)


@settings(max_examples=60, deadline=None)
@given(mean=st.floats(0.01, 100), cv=st.floats(0.01, 3), kind=st.sampled_from(["gamma", "lognormal"]))
def test_positive_moment_conversion_property(mean, cv, kind):
    dist = Distribution.from_spec({"dist": kind, "mean": mean, "sd": cv * mean})
    assert dist.mean == pytest.approx(mean, rel=1e-7)
    assert dist.sd == pytest.approx(cv * mean, rel=1e-6)


def test_distribution_api():
    dist = Distribution("beta", {"a": 2, "b": 5})
    assert dist.params == {"a": 2.0, "b": 5.0}
    assert dist.mean == pytest.approx(2 / 7)
    u = np.linspace(0, 1, 11)
    assert dist.ppf(u).shape == (11,)
    assert np.allclose(dist.ppf(u), stats.beta(2, 5).ppf(u))
    a = dist.sample(np.random.default_rng(1), 1000)
    b = dist.sample(np.random.default_rng(1), 1000)
    assert a.shape == (1000,) and np.array_equal(a, b)
    assert 0 < a.min() and a.max() < 1
    assert abs(a.mean() - 2 / 7) < 0.03
    assert dist.describe().startswith("beta(a=2, b=5): mean 0.286, 95% interval ")
    assert dist == Distribution.from_spec({"dist": "beta", "a": 2, "b": 5, "value": 0.1})
    assert hash(dist) == hash(Distribution("beta", {"a": 2.0, "b": 5.0}))
    assert dist.spec() == {"dist": "beta", "a": 2.0, "b": 5.0}
    with pytest.raises(dataclasses.FrozenInstanceError):
        dist.kind = "gamma"
    with pytest.raises(ValueError, match="a must be > 0"):
        Distribution("beta", {"a": -1, "b": 1})
    with pytest.raises(ValueError, match="unknown distribution"):
        Distribution("weibull", {"k": 1})
    with pytest.raises(ValueError, match="takes parameters"):
        Distribution("beta", {"mean": 0.3, "sd": 0.1})
    with pytest.raises(ValueError, match="needs sd <"):
        Distribution.from_spec({"dist": "beta", "mean": 0.5, "sd": 0.5})


# ----------------------------------------------------------------------------- Scenario


def test_with_values_changes_and_revalidates():
    s = load(text())
    t = s.with_values({"cohort.histology_fraction_eac": 0.7, "arms.a.rt.fractions": 10})
    assert t.get("cohort.histology_fraction_eac") == 0.7
    assert t.get("arms.a.rt.fractions") == 10
    assert s.get("cohort.histology_fraction_eac") == 0.5  # the original is untouched
    assert t.sources["cohort.histology_fraction_eac"] == "<with_values>"
    with pytest.raises(ConfigError) as info:
        s.with_values({"cohort.histology_fraction_eac": 1.5})
    assert info.value.errors == ["<with_values>: cohort.histology_fraction_eac = 1.5: must be within [0, 1]"]
    with pytest.raises(ConfigError, match='unknown regimen; known: chemo, chemo_pd1'):
        s.with_values({"arms.a.systemic": "chemo_x"})


def test_with_values_unknown_path():
    s = load(text())
    with pytest.raises(ConfigError) as info:
        s.with_values({"cohort.histology_fraction": 0.3, "nope.x": 1})
    assert info.value.errors == [
        "<with_values>: cohort.histology_fraction: unknown key (did you mean 'histology_fraction_eac'?)",
        "<with_values>: nope.x: unknown key; known keys: scenario, cohort, regimens, arms",
    ]
    with pytest.raises(ConfigError, match="has no"):
        s.with_values({"cohort.n_patients.x": 1})


def test_with_values_distributions_lists_and_new_entries():
    s = load(text())
    t = s.with_values(
        {
            "cohort.scale": Distribution("gamma", {"shape": 4, "scale": 0.5}),
            "cohort.hazard": {"dist": "beta", "mean": 0.2, "sd": 0.05},
            "cohort.sites": ["lung", "bone"],
            "arms.b.systemic": "chemo_pd1",
            "cohort.n_patients": np.int64(20),
        }
    )
    assert t.get("cohort.scale") == pytest.approx(2.0)
    assert set(t.uncertain) == {"cohort.scale", "cohort.hazard"}
    assert t.get("cohort.sites") == ("lung", "bone")
    assert t.get("arms.b.rt.fractions") == 5
    assert t.get("cohort.n_patients") == 20
    u = t.with_values({"cohort.scale": 3.0, "cohort.sites[1]": "liver"})
    assert "cohort.scale" not in u.uncertain  # a number fixes the parameter
    assert u.get("cohort.sites") == ("lung", "liver")
    with pytest.raises(ConfigError, match="no item"):
        u.with_values({"cohort.sites[5]": "liver"})


def test_sha256_stable_and_sensitive():
    a = load_scenario(DATA / "child.toml", schema=SCHEMA)
    b = load_scenario(DATA / "child.toml", schema=SCHEMA)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    assert a == b
    assert a.with_values({"cohort.n_patients": 100}).sha256 == a.sha256
    assert a.with_values({"cohort.n_patients": 101}).sha256 != a.sha256
    # same point value, different uncertainty: still a different scenario
    c = a.with_values({"cohort.histology_fraction_eac": {"dist": "uniform", "low": 0.35, "high": 0.45}})
    assert c.get("cohort.histology_fraction_eac") == pytest.approx(a.get("cohort.histology_fraction_eac"))
    assert c.sha256 != a.sha256


def test_scenario_is_immutable():
    s = load(text())
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"
    with pytest.raises(TypeError):
        s.data["cohort"] = {}
    with pytest.raises(TypeError):
        s.data["cohort"]["n_patients"] = 3
    with pytest.raises(TypeError):
        s.uncertain["x"] = None
    with pytest.raises(TypeError):
        s.sources["x"] = "y"
    assert isinstance(s.get("cohort.sites"), tuple)
    plain = s.to_dict()
    plain["cohort"]["n_patients"] = 99
    plain["cohort"]["sites"].append("lung")
    assert s.get("cohort.n_patients") == 10
    assert s.get("cohort.sites") == ("liver",)
    assert isinstance(hash(s), int)


def test_schema_nodes_are_frozen():
    node = Float(1.0, lo=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.lo = 3
    with pytest.raises(TypeError):
        SCHEMA.fields["new"] = Int(1)
    assert Choice(["a", "b"]).options == ("a", "b")
    assert repr(REQUIRED) == "REQUIRED"


def _scenario_errors(toml_text: str) -> list[str]:
    """Errors of the real scenario schema for ``toml_text`` on top of configs/base.toml."""
    with pytest.raises(ConfigError) as info:
        make_scenario(toml_text)
    return info.value.errors


ONE_ARM = '[arms.a]\nfirst_line = "tp_pd1"\nrt_timing = "upfront"\n'


@pytest.mark.parametrize("key", ["radiotherapy.tcp_volume_exponent", "disease.seeding_rate_per_cm3_month", "simulation.horizon_months"])
def test_infinite_values_are_refused_with_the_key_named(key):
    """TOML's inf is a float, but no model parameter is infinite: refused, key named."""
    section, name = key.rsplit(".", 1)
    errors = _scenario_errors(f"[{section}]\n{name} = inf\n" + ONE_ARM)
    assert any(f"{key} = inf: must be finite, not inf" in e for e in errors), errors


def test_two_arms_shown_alike_are_refused():
    """Reports and plots show an arm by its label (or name): two arms shown alike would merge."""
    arms = ONE_ARM.replace("[arms.a]\n", '[arms.a]\nlabel = "RT"\n') + '[arms.b]\nlabel = "RT"\nfirst_line = "tp_pd1"\nrt_timing = "none"\n'
    errors = _scenario_errors(arms)
    assert any("arms.b.label" in e and "arm 'a' is shown as 'RT' too" in e for e in errors), errors
    # an unlabelled arm is shown by its name, which may not be another arm's label either
    arms = ONE_ARM + '[arms.b]\nlabel = "a"\nfirst_line = "tp_pd1"\nrt_timing = "none"\n'
    assert any("arms.b.label" in e for e in _scenario_errors(arms))
