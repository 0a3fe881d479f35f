"""Tests of the ``oligosim dose`` sub-command."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oligosim import cli

#: every sub-command the real command line registers (read before any test patches it)
ALL_COMMANDS = cli.COMMANDS


def _available_commands() -> tuple[str, ...]:
    return tuple(c for c in ALL_COMMANDS if importlib.util.find_spec(f"oligosim.commands.{c}"))


@pytest.fixture(autouse=True)
def only_available_commands(monkeypatch):
    """Register only the sub-commands whose modules exist, so that these tests exercise
    ``dose`` even while a sibling sub-command (listed in ``cli.COMMANDS``) is unwritten."""
    monkeypatch.setattr(cli, "COMMANDS", _available_commands())


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()[2:]]


def test_dose_prints_bed_and_eqd2(capsys):
    assert cli.main(["dose", "60/20", "--alpha-beta", "10"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    header = captured.out.splitlines()[0]
    for column in ("schedule", "BED", "EQD2", "days"):
        assert column in header
    (row,) = _rows(captured.out)
    assert row[0] == "60/20"
    assert "78.00" in row  # BED10
    assert "65.00" in row  # EQD2(10)
    assert row[-1] == "25"  # 4 weeks, Monday to Friday


def test_dose_several_schedules_and_alpha_betas(capsys):
    argv = ["dose", "60/20", "50/5", "1.5x30bid", "--alpha-beta", "10,3", "--alpha-beta", "2"]
    assert cli.main(argv) == 0
    rows = _rows(capsys.readouterr().out)
    assert len(rows) == 9
    by_key = {(r[0], r[5]): r for r in rows}
    assert by_key[("50/5", "10")][6] == "100.00"
    assert by_key[("60/20", "3")][7] == "72.00"
    assert by_key[("1.5x30bid", "10")][-1] == "18"  # BID: 3 weeks
    assert by_key[("1.5x30bid", "10")][1] == "45"


def test_dose_default_alpha_betas_and_aligned_table(capsys):
    assert cli.main(["dose", "8x5"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len({len(line) for line in lines}) == 1  # aligned columns
    rows = _rows(out)
    assert [r[5] for r in rows] == ["10", "3"]
    assert rows[1][6] == "146.67" and rows[1][7] == "88.00"


def test_dose_incomplete_repair_option(capsys):
    assert cli.main(["dose", "1.5x30bid", "--alpha-beta", "10", "--repair-half-time-h", "1.5"]) == 0
    (row,) = _rows(capsys.readouterr().out)
    assert row[6] == "52.17"  # 45 (1 + 1.5 (1 + 1/16) / 10)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["dose", "60/0"], "60/0"),
        (["dose", "abc"], "accepted forms"),
        (["dose", "60/2.5"], "integer"),
        (["dose", "60/20", "--alpha-beta", "-1"], "--alpha-beta"),
        (["dose", "60/20", "--alpha-beta", "ten"], "--alpha-beta"),
        (["dose", "60/20", "--alpha-beta", "0"], "> 0"),
        (["dose", "1.5x30bid", "--repair-half-time-h", "1", "--interval-h", "0"], "--interval-h"),
    ],
)
def test_dose_bad_input_is_a_clean_error(capsys, argv, fragment):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("oligosim dose: error:")
    assert fragment in captured.err
    assert "Traceback" not in captured.err


def test_dose_user_error_type():
    from oligosim.commands import dose

    parser = cli.argparse.ArgumentParser()
    dose.register(parser.add_subparsers())
    args = parser.parse_args(["dose", "abc"])
    with pytest.raises(cli.UserError, match="abc"):
        dose.main(args)


def test_console_script_exit_code():
    """``oligosim dose 60/0`` in a fresh interpreter: exit 2, a message, no traceback."""
    script = Path(sys.executable).with_name("oligosim")
    if _available_commands() == ALL_COMMANDS and script.exists():
        cmd = [str(script), "dose", "60/0"]
    elif _available_commands() == ALL_COMMANDS:
        cmd = [sys.executable, "-m", "oligosim.cli", "dose", "60/0"]
    else:  # a sibling sub-command is not written yet: register the ones that exist
        shim = (
            "import sys, importlib.util; from oligosim import cli; "
            "cli.COMMANDS = tuple(c for c in cli.COMMANDS "
            "if importlib.util.find_spec('oligosim.commands.' + c)); "
            "sys.exit(cli.main(sys.argv[1:]))"
        )
        cmd = [sys.executable, "-c", shim, "dose", "60/0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(r"oligosim dose: error: invalid schedule '60/0'", proc.stderr)


ROOT_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_scenario_prints_each_arms_schedule_by_site(capsys):
    """``--scenario``: the primary field and every metastatic site of each arm, with BED10 and
    late EQD2 computed from the schedule (statement 7's conventional fractionation next to the
    esophagus shows as 60 Gy / 30: BED10 72.0, EQD2 at alpha/beta 3 60.0)."""
    assert cli.main(["dose", "--scenario", str(ROOT_CONFIGS / "default.toml")]) == 0
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()[3:]}
    assert rows[("upfront_rt", "node_upper_mediastinum")][2:] == ["60", "Gy", "/", "30", "2", "72.0", "60.0"]
    assert rows[("upfront_rt", "lung")][2:] == ["50", "Gy", "/", "5", "10", "100.0", "130.0"]
    assert rows[("systemic_only", "every")][2:] == ["metastasis", "40", "Gy", "/", "5", "8", "72.0", "88.0"]
    assert ("upfront_rt", "primary") in rows


def test_dose_needs_a_schedule_or_a_scenario(capsys):
    assert cli.main(["dose"]) == 2
    assert "give at least one SCHEDULE" in capsys.readouterr().err


def test_scenario_that_is_invalid_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[arms.a]\nfirst_line = "tp"\nrt_timing = "upfront"\nmetastasis_schedule = "sometimes"\n')
    assert cli.main(["dose", "--scenario", str(bad)]) == 2
    assert "is not a valid scenario" in capsys.readouterr().err


def test_scenario_organs_table(capsys):
    """``--organs``: each organ's EQD2 from one reference-size target by its share of every
    fraction (model 6.5), the cord and the bowel held to their planning limits, and the NTCP of
    that course alone. Lung SBRT 50 Gy/5: lung 0.06 x 10 Gy per fraction, EQD2(3) = 5 x 0.6 x 3.6 / 5
    = 2.2 Gy; cord 0.25 x 10, EQD2(2) = 12.5 x 4.5 / 4 = 14.1 Gy. A uniform 40 Gy/5 to the peritoneum
    would give the bowel EQD2 73 Gy: held to 60 Gy, where its NTCP is Phi((60 - 86) / (0.16 x 86)) = 2.9%."""
    assert cli.main(["dose", "--scenario", str(ROOT_CONFIGS / "default.toml"), "--organs"]) == 0
    out = capsys.readouterr().out
    part = out[out.index("EQD2 (Gy) to the organs at risk"):]
    rows = {tuple(line.split()[:2]): line.split() for line in part.splitlines()[3:]}
    lung = rows[("upfront_rt", "lung")]
    assert lung[2:6] == ["50", "Gy", "/", "5"]
    assert lung[6:11] == ["1.8", "2.2", "1.4", "14.1", "0.0"]
    peritoneum = rows[("systemic_only", "peritoneum")]
    assert peritoneum[10] == "60.0" and peritoneum[-1] == "2.9"


def test_organs_needs_a_scenario(capsys):
    assert cli.main(["dose", "60/30", "--organs"]) == 2
    assert "--organs needs --scenario" in capsys.readouterr().err
