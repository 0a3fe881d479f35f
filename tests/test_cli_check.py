"""Tests of ``oligosim check``.

A small schema is patched in as the default (``oligosim.config.scenario.default_schema``) so the
tests do not depend on ``oligosim/config/schema.py``; only the ``check`` sub-command is
registered so that they do not depend on the other sub-command modules either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oligosim import cli
from oligosim.config import scenario as scenario_module
from oligosim.config import Float, Int, Section

DATA = Path(__file__).parent / "data" / "config"
GOOD = str(DATA / "cli_good.toml")
BAD = str(DATA / "cli_bad.toml")

SCHEMA = Section({"cohort": Section({"n_patients": Int(lo=1), "eac_fraction": Float(0.5, lo=0, hi=1)})})


@pytest.fixture(autouse=True)
def _test_schema(monkeypatch):
    monkeypatch.setattr(scenario_module, "default_schema", lambda: SCHEMA)
    monkeypatch.setattr(cli, "COMMANDS", ("check",))


def test_good_file(capsys):
    assert cli.main(["check", GOOD]) == 0
    out, err = capsys.readouterr()
    assert out == f"{GOOD}: ok\n"
    assert err == ""


def test_bad_file_lists_every_error(capsys):
    assert cli.main(["check", BAD]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{BAD}: cohort.n_patients = 0: must be >= 1" in err
    assert f"{BAD}: cohort.eac_fraction = 1.3: must be within [0, 1]" in err
    assert f"{BAD}: cohort.n_patient: unknown key (did you mean 'n_patients'?)" in err
    assert "oligosim check: error: 1 of 1 configuration file(s) invalid" in err
    assert "Traceback" not in err


def test_good_and_bad_together(capsys):
    assert cli.main(["check", GOOD, BAD]) == 2
    out, err = capsys.readouterr()
    assert f"{GOOD}: ok" in out
    assert "cohort.eac_fraction" in err
    assert "1 of 2" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("does_not_exist.toml", "file not found"),
        ("syntax.toml", "line 3, column"),
        ("cycle_a.toml", "extends cycle"),
    ],
)
def test_unloadable_files_give_clean_errors(capsys, name, expected):
    path = str(DATA / name)
    assert cli.main(["check", path]) == 2
    _, err = capsys.readouterr()
    assert expected in err
    assert path in err
    assert "Traceback" not in err
