"""Bad input on the command line (issue 22): one table of cases, each with the command, the
expected exit code and the words the message must contain.

Every case runs in an empty working directory (so a default ``out/...`` would show) and must
end with that exit code, a one-line error without a traceback or RuntimeWarning, and no file or
directory left behind beyond the inputs the case wrote. A case whose value would need the whole
run to fail (``--patients`` far beyond the memory) must be refused before anything is allocated.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import dask
import distributed  # noqa: F401  (loads its config defaults now: see the note in test_bad_input_is_refused_cleanly)
import pytest

from oligosim import cli

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "configs" / "default.toml"
PSA = ROOT / "experiments" / "psa.toml"
TARGETS = ROOT / "tests" / "data" / "targets"
CALIBRATION = ROOT / "tests" / "data" / "calibration"


def _scenario(body: str) -> str:
    return f'extends = "{DEFAULT.as_posix()}"\n' + body


#: input files a case may name as {name}: file name -> content (None: a directory with a file in it)
INPUTS = {
    "inf.toml": _scenario("[simulation]\nhorizon_months = inf\n"),
    "tcp200.toml": _scenario("[radiotherapy]\ntcp_volume_exponent = 200.0\n"),
    "gompertz.toml": _scenario("[background_mortality]\ngompertz_slope_per_year = 1e6\n"),
    "labels.toml": _scenario('[arms.systemic_only]\nlabel = "RT"\n[arms.consolidative]\nlabel = "RT"\n'),
    "a_file": "not a directory\n",
    "home": None,
}

# (id, argv, exit code, words in the message)
CASES = [
    # item 1: memory, refused before allocating
    ("run-patients-beyond-memory", ["run", DEFAULT, "--patients", "1000000000"], 2, ["--patients 1000000000", "memory", "available", "--ignore-memory-check"]),
    ("run-patients-beyond-schema", ["run", DEFAULT, "--patients", "10000000000"], 2, ["--patients = 10000000000", "<= 1000000000"]),
    ("targets-patients-beyond-memory", ["targets", TARGETS / "tiny_targets.toml", "--map", TARGETS / "tiny_map.toml", "--patients", "1000000000"], 2, ["--patients 1000000000", "memory", "available"]),
    # item 2: values that crashed the kernel
    ("tcp-volume-exponent-200", ["run", "{tcp200.toml}", "--patients", "50"], 2, ["radiotherapy.tcp_volume_exponent = 200", "must be within [0, 3]"]),
    ("gompertz-slope-1e6", ["run", "{gompertz.toml}", "--patients", "50"], 2, ["background_mortality.gompertz_slope_per_year", "must be within [0, 1]"]),
    # item 3: inf
    ("inf-horizon", ["run", "{inf.toml}", "--patients", "50"], 2, ["simulation.horizon_months = inf", "must be finite"]),
    # item 4: --seed and --patients against the schema
    ("seed-2-63", ["run", DEFAULT, "--seed", str(2**63)], 2, ["--seed", "<= 9223372036854775807"]),
    ("seed-negative", ["run", DEFAULT, "--seed", "-1"], 2, ["--seed = -1", ">= 0"]),
    ("patients-zero", ["run", DEFAULT, "--patients", "0"], 2, ["--patients = 0", ">= 1"]),
    ("threads-zero", ["run", DEFAULT, "--patients", "50", "--threads", "0"], 2, ["--threads = 0", ">= 1"]),
    # item 5: duplicate labels
    ("duplicate-labels", ["run", "{labels.toml}", "--patients", "50"], 2, ["arms.consolidative.label", "'RT'", "own label"]),
    # item 7: --out that is not oligosim's
    ("out-is-a-file", ["run", DEFAULT, "--patients", "50", "--out", "{a_file}"], 2, ["--out", "exists and is not a directory"]),
    ("out-is-someones-directory", ["run", DEFAULT, "--patients", "50", "--out", "{home}"], 2, ["--out", "non-empty directory that oligosim did not write"]),
    ("experiment-out-someones", ["experiment", PSA, "--quick", "--out", "{home}"], 2, ["--out", "did not write"]),
    # item 8
    ("run-out-empty", ["run", DEFAULT, "--patients", "50", "--out", ""], 2, ["--out ''", "must name a directory"]),
    ("experiment-out-empty", ["experiment", PSA, "--quick", "--out", ""], 2, ["--out ''", "must name a directory"]),
    ("targets-out-empty", ["targets", TARGETS / "tiny_targets.toml", "--map", TARGETS / "tiny_map.toml", "--out", " "], 2, ["--out ' '", "must name a directory"]),
    ("calibrate-out-empty", ["calibrate", CALIBRATION / "calibrate.toml", "--targets", CALIBRATION / "targets.toml", "--out", ""], 2, ["--out ''", "must name a directory"]),
    ("dose-tiny-fraction", ["dose", "60/1000000000000"], 2, ["invalid schedule '60/1000000000000'", "dose per fraction", "must be > 0 Gy"]),
    ("dose-repopulation-1e308", ["dose", "60/30", "--repopulation-gy-per-day", "1e308"], 2, ["'60/30'", "BED = -inf", "--repopulation-gy-per-day"]),
    ("dose-negative-bed", ["dose", "60/30", "--repopulation-gy-per-day", "10", "--kickoff-days", "0"], 2, ["'60/30'", "must be a finite number >= 0", "--repopulation-gy-per-day 10"]),
    ("dose-repopulation-inf", ["dose", "60/30", "--repopulation-gy-per-day", "inf"], 2, ["--repopulation-gy-per-day", "finite"]),
    ("dose-negative-schedule", ["dose", "-60/20"], 2, ["invalid schedule '-60/20'", "total dose must be > 0"]),
    ("dose-alpha-beta-overflow", ["dose", "60/20", "--alpha-beta", "1e-320"], 2, ["'60/20'", "BED = inf"]),
    ("experiment-unreachable-scheduler", ["experiment", PSA, "--quick", "--scheduler", "tcp://127.0.0.1:9", "--out", "{tmp}/new/parent/out"], 2, ["--scheduler tcp://127.0.0.1:9", "cannot connect"]),
    # earlier cases (tests/test_cli_*.py)
    ("run-missing-config", ["run", "{tmp}/missing.toml"], 2, ["missing.toml: file not found"]),
    ("experiment-workers-zero", ["experiment", PSA, "--workers", "0"], 2, ["--workers = 0", ">= 1"]),
    ("calibrate-workers-zero", ["calibrate", CALIBRATION / "calibrate.toml", "--targets", CALIBRATION / "targets.toml", "--workers", "0"], 2, ["--workers = 0", ">= 1"]),
    ("dose-not-a-number", ["dose", "60/20", "--alpha-beta", "ten"], 2, ["--alpha-beta", "'ten'"]),
    ("dose-bad-schedule", ["dose", "sixty"], 2, ["invalid schedule 'sixty'"]),
    ("run-unknown-engine", ["run", DEFAULT, "--engine", "fortran"], 2, ["--engine", "invalid choice"]),
]


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.mark.parametrize(("argv", "code", "words"), [pytest.param(a, c, w, id=i) for i, a, c, w in CASES])
def test_bad_input_is_refused_cleanly(tmp_path, monkeypatch, capsys, argv, code, words):
    work = tmp_path / "work"
    work.mkdir()
    for name, content in INPUTS.items():
        if content is None:
            (work / name).mkdir()
            (work / name / "thesis.tex").write_text("mine\n", encoding="utf-8")
        else:
            (work / name).write_text(content, encoding="utf-8")
    names = {name: str(work / name) for name in INPUTS} | {"tmp": str(work)}
    args = []
    for a in map(str, argv):
        for name, path in names.items():
            a = a.replace("{" + name + "}", path)
        args.append(a)
    before = _tree(work)
    monkeypatch.chdir(work)
    # an unreachable scheduler is given up after 2 s, not Dask's default 30 s. distributed is
    # imported at module level so that its config defaults exist before this set(): otherwise
    # they would be loaded inside it and dropped when it restores the old config, and a later
    # LocalCluster (tests/test_experiments.py) fails with KeyError 'distributed'
    with warnings.catch_warnings(), dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        warnings.simplefilter("error", RuntimeWarning)
        try:
            rc = cli.main(args)
        except SystemExit as exc:  # argparse's own errors
            rc = exc.code
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in:\n{err}"
    assert _tree(work) == before, "files left behind"
