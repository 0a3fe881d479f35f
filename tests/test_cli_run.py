"""Tests of ``oligosim run`` (and a smoke test of ``oligosim dose``) through the real schema.

Simulations run in-process through :func:`oligosim.cli.main` with a few hundred patients, so
the numba kernel is compiled (or loaded from its on-disk cache) once per test session. Only
one test starts the console script in a subprocess.

The kernel is being tuned, so no test asserts a simulated number: only structure, ranges,
internal consistency and bit-for-bit determinism within one test.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oligosim import cli, codes
from oligosim.config import load_scenario
from oligosim.io import files
from oligosim.io import patients as patient_tables
from oligosim.plots import canvas
from oligosim.simulate import run_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "configs" / "default.toml"
BASE = ROOT / "configs" / "base.toml"
BROKEN = Path(__file__).resolve().parent / "data" / "broken"

PATIENTS = 300
EXPECTED_FILES = {"summary.json", "km_os.png", "km_pfs.png", "patients.csv", "patients.parquet", "events.csv", "events.parquet", files.MARKER}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SURVIVAL_ENDPOINTS = ("os", "pfs", "wpfs", "dss")
LANDMARKS = ("12", "24", "36", "60")


def _no_nan(name):
    raise ValueError(f"summary.json is not strict JSON: it contains {name}")


def load_strict_json(path: Path) -> dict:
    """Parse JSON, refusing NaN / Infinity (which ``json`` would otherwise accept)."""
    return json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_nan)


def temp_leftovers(parent: Path) -> list[str]:
    """Temporary directories ``.<name>.tmp-*`` that files.atomic_directory left behind."""
    return sorted(p.name for p in Path(parent).iterdir() if re.match(r"^\..+\.tmp-", p.name))


def run_cli(*args: str) -> int:
    return cli.main(["run", *map(str, args), "--quiet"])


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """One run of configs/default.toml with every optional output; returns the output dir."""
    parent = tmp_path_factory.mktemp("default_run")
    out = parent / "out"
    rc = run_cli(DEFAULT, "--patients", PATIENTS, "--out", out, "--per-patient", "--events")
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def summary(default_run) -> dict:
    return load_strict_json(default_run / "summary.json")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DEFAULT)


# ============================================================================ 1. output files


def test_run_writes_exactly_the_expected_files(default_run):
    assert {p.name for p in default_run.iterdir()} == EXPECTED_FILES
    for name in ("km_os.png", "km_pfs.png"):
        data = (default_run / name).read_bytes()
        assert data[:8] == PNG_MAGIC, f"{name} is not a PNG"
        assert len(data) > 1000
    assert temp_leftovers(default_run.parent) == []
    # nothing else was created beside the target either
    assert [p.name for p in default_run.parent.iterdir()] == ["out"]


def test_run_without_optional_outputs_writes_three_files(tmp_path):
    out = tmp_path / "nested" / "dir"  # parents are created
    assert run_cli(DEFAULT, "--patients", 200, "--out", out) == 0
    assert {p.name for p in out.iterdir()} == {"summary.json", "km_os.png", "km_pfs.png", files.MARKER}
    assert temp_leftovers(out.parent) == []


def test_events_csv_is_well_formed(default_run, scenario):
    with open(default_run / "events.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "the event log is empty"
    assert list(rows[0]) == ["arm", "patient", "time_months", "event", "detail", "detail_name"]
    arms = set(scenario.data["arms"])
    last = {}
    for r in rows:
        assert r["arm"] in arms
        assert 0 <= int(r["patient"]) < PATIENTS
        assert r["event"] in codes.EVENT_NAMES
        t = float(r["time_months"])
        assert math.isfinite(t) and t >= 0
        key = (r["arm"], r["patient"])
        assert t >= last.get(key, 0.0) - 1e-9, f"events of {key} not in time order"
        last[key] = t
    # every patient of every arm has a log
    assert len(last) == len(arms) * PATIENTS


# ============================================================================ 2. summary.json contract


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _fraction(x, where: str) -> None:
    assert _is_number(x), f"{where} = {x!r} is not a number"
    assert 0.0 <= x <= 1.0, f"{where} = {x!r} outside [0, 1]"


def _fraction_or_null(x, where: str) -> None:
    if x is not None:
        _fraction(x, where)


def test_summary_top_level(summary, scenario):
    assert set(summary) == {"scenario", "seed", "patients_per_arm", "oligosim_version", "config_sha256", "rmst_tau_months", "arms"}
    # the RMST horizon: simulation.rmst_tau_months, or the follow-up horizon if shorter
    sim = scenario.data["simulation"]
    assert summary["rmst_tau_months"] == min(sim["rmst_tau_months"], sim["horizon_months"])
    assert summary["scenario"] == scenario.name == "default"
    assert summary["seed"] == scenario.data["simulation"]["seed"]
    assert summary["patients_per_arm"] == PATIENTS
    import oligosim

    assert summary["oligosim_version"] == oligosim.__version__
    assert re.fullmatch(r"[0-9a-f]{64}", summary["config_sha256"])
    assert summary["config_sha256"] == scenario.sha256
    # every arm, in the config's order
    assert list(summary["arms"]) == list(scenario.data["arms"])


def test_summary_is_strict_json(default_run):
    text = (default_run / "summary.json").read_text(encoding="utf-8")
    for token in ("NaN", "Infinity"):
        assert token not in text
    json.loads(text, parse_constant=_no_nan)


def test_strict_loader_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        json.loads('{"x": NaN}', parse_constant=_no_nan)


def test_summary_per_arm_contract(summary):
    required = {
        "os", "pfs", "wpfs", "dss", "lesion_local_control", "toxicity_grade3plus", "treatment_deaths",
        "first_failure", "rt_courses_mean", "estro_eortc_first_progression",
    }
    for name, arm in summary["arms"].items():
        assert required <= set(arm), f"arm {name} lacks {required - set(arm)}"
        for ep in SURVIVAL_ENDPOINTS:
            s = arm[ep]
            where = f"{name}.{ep}"
            assert set(s) == {"median_months", "median_ci95", "rmst_months", "rmst_ci95", "rmst_tau_months", "rate"}, where
            # the RMST next to the median: the area under S up to tau, with its 95% CI around it
            assert s["rmst_tau_months"] == summary["rmst_tau_months"], where
            rm, (rlo, rhi) = s["rmst_months"], s["rmst_ci95"]
            assert _is_number(rm) and 0 < rm <= s["rmst_tau_months"], where
            assert rlo <= rm <= rhi and rhi - rlo > 0, where
            med = s["median_months"]
            assert med is None or (_is_number(med) and med > 0), where
            ci = s["median_ci95"]
            assert isinstance(ci, list) and len(ci) == 2, where
            for x in ci:
                assert x is None or _is_number(x), where
            if med is not None and ci[0] is not None:
                assert ci[0] <= med + 1e-9, where
            if med is not None and ci[1] is not None:
                assert med <= ci[1] + 1e-9, where
            assert set(s["rate"]) == set(LANDMARKS), where
            rates = [s["rate"][k] for k in LANDMARKS]
            for k, r in zip(LANDMARKS, rates):
                _fraction_or_null(r, f"{where}.rate.{k}")
            known = [r for r in rates if r is not None]
            assert known == sorted(known, reverse=True), f"{where}: survival rates increase with time: {rates}"

        lc = arm["lesion_local_control"]
        assert set(lc) == {"12", "24"}, name
        for k, v in lc.items():
            _fraction_or_null(v, f"{name}.lesion_local_control.{k}")

        tox = arm["toxicity_grade3plus"]
        assert set(tox) == set(codes.TOX_NAMES) | {"any"}, name
        assert len(codes.TOX_NAMES) == 13
        for k, v in tox.items():
            _fraction(v, f"{name}.toxicity_grade3plus.{k}")
        for k in codes.TOX_NAMES:
            assert tox["any"] >= tox[k] - 1e-12, f"{name}: any < {k}"
        assert tox["any"] <= sum(tox[k] for k in codes.TOX_NAMES) + 1e-12

        _fraction(arm["treatment_deaths"], f"{name}.treatment_deaths")

        ff = arm["first_failure"]
        assert set(ff) == set(codes.FAILURE_NAMES), name
        assert set(ff) == {"none", "in_field", "marginal_regional", "out_of_field_new", "out_of_field_regrowth", "widespread"}, name
        for k, v in ff.items():
            _fraction(v, f"{name}.first_failure.{k}")
        assert abs(sum(ff.values()) - 1.0) <= 1e-9, f"{name}.first_failure sums to {sum(ff.values())}"

        rt = arm["rt_courses_mean"]
        assert _is_number(rt) and rt >= 0, name

        estro = arm["estro_eortc_first_progression"]
        assert set(estro) == set(codes.ESTRO_CLASS_NAMES) | {"polymetastatic"}, name
        assert len(codes.ESTRO_CLASS_NAMES) == 9
        for k, v in estro.items():
            _fraction(v, f"{name}.estro_eortc_first_progression.{k}")
        total = sum(estro.values())
        # shares of the patients who progressed: sum to 1, or 0 when nobody progressed
        assert abs(total - 1.0) <= 1e-9 or total == 0.0, f"{name}: ESTRO classes sum to {total}"


def test_summary_systemic_only_arm_gets_little_rt(summary, scenario):
    arms = scenario.data["arms"]
    systemic = [n for n, a in arms.items() if a["rt_timing"] == "none" and a["progression"]["local_therapy"] == "none"]
    assert systemic == ["systemic_only"]
    for name in systemic:
        # only urgent RT for symptomatic brain/bone lesions at entry (statement 6)
        assert summary["arms"][name]["rt_courses_mean"] < 0.1
        # an arm without RT has no in-field failure
        assert summary["arms"][name]["first_failure"]["in_field"] <= 0.05
    for name in set(arms) - set(systemic):
        assert summary["arms"][name]["rt_courses_mean"] > summary["arms"]["systemic_only"]["rt_courses_mean"]


# ============================================================================ 3. patients.csv


PATIENT_HEADER = ("arm", "patient", "os_months", "os_event", "pfs_months", "pfs_event", "wpfs_months", "wpfs_event")


@pytest.fixture(scope="module")
def patient_rows(default_run):
    with open(default_run / "patients.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    return header, rows


def test_patients_csv_header_and_rows(patient_rows, scenario):
    header, rows = patient_rows
    for col in PATIENT_HEADER:
        assert col in header, f"patients.csv lacks {col}"
    assert header[:2] == ["arm", "patient"]
    assert len(header) == len(set(header)), "duplicate columns"
    arms = list(scenario.data["arms"])
    assert len(rows) == len(arms) * PATIENTS
    seen = {(r["arm"], int(r["patient"])) for r in rows}
    assert seen == {(a, i) for a in arms for i in range(PATIENTS)}


def test_patients_csv_times_are_ordered(patient_rows):
    _, rows = patient_rows
    for r in rows:
        os_, pfs, wpfs = float(r["os_months"]), float(r["pfs_months"]), float(r["wpfs_months"])
        where = f"{r['arm']} patient {r['patient']}"
        assert all(math.isfinite(x) and x >= 0 for x in (os_, pfs, wpfs)), where
        assert pfs <= os_, f"{where}: pfs {pfs} > os {os_}"
        assert pfs <= wpfs <= os_, f"{where}: wpfs {wpfs} not in [pfs {pfs}, os {os_}]"
        for flag in ("os_event", "pfs_event", "wpfs_event"):
            assert r[flag] in ("0", "1"), where
        # a widespread progression is a progression
        if r["wpfs_event"] == "1":
            assert r["pfs_event"] == "1", where


def test_patients_csv_matches_run_scenario(patient_rows, scenario):
    _, rows = patient_rows
    res = run_scenario(scenario, patients=PATIENTS)  # same (config) seed as the CLI run
    assert res.seed == scenario.data["simulation"]["seed"]
    by_arm = {}
    for r in rows:
        by_arm.setdefault(r["arm"], []).append(r)
    assert list(by_arm) == list(res.arms)
    for name, arm in res.arms.items():
        got = sorted(by_arm[name], key=lambda r: int(r["patient"]))
        for i, r in enumerate(got):
            assert r["os_months"] == f"{arm['os'][i]:.4f}", f"{name} patient {i}"
            assert r["pfs_months"] == f"{arm['pfs'][i]:.4f}", f"{name} patient {i}"
            assert r["os_event"] == str(int(arm["os_event"][i])), f"{name} patient {i}"
            assert r["pfs_event"] == str(int(arm["pfs_event"][i])), f"{name} patient {i}"


# ============================================================================ 4. reproducibility


def _summary_text(tmp_path: Path, tag: str, *args) -> str:
    out = tmp_path / tag
    assert run_cli(DEFAULT, "--patients", 200, "--out", out, *args) == 0
    return (out / "summary.json").read_text(encoding="utf-8")


def test_same_seed_gives_identical_summary(tmp_path):
    a = _summary_text(tmp_path, "a", "--seed", "7")
    b = _summary_text(tmp_path, "b", "--seed", "7")
    assert a == b
    assert json.loads(a)["seed"] == 7


def test_threads_do_not_change_results(tmp_path):
    one = _summary_text(tmp_path, "t1", "--seed", "11", "--threads", "1")
    two = _summary_text(tmp_path, "t2", "--seed", "11", "--threads", "2")
    assert one == two


def test_threads_option_restores_numba_threads(tmp_path):
    import numba

    before = numba.get_num_threads()
    _summary_text(tmp_path, "t", "--threads", "1")
    assert numba.get_num_threads() == before


def test_different_seed_gives_different_results(tmp_path):
    a = json.loads(_summary_text(tmp_path, "a", "--seed", "7"))
    b = json.loads(_summary_text(tmp_path, "b", "--seed", "8"))
    assert a["seed"] == 7 and b["seed"] == 8
    assert a["config_sha256"] == b["config_sha256"]
    assert a["arms"] != b["arms"]


def test_seed_zero_is_a_seed(tmp_path):
    s = json.loads(_summary_text(tmp_path, "z", "--seed", "0"))
    assert s["seed"] == 0


# ============================================================================ 5. user errors


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["{missing}"], ["does_not_exist.toml", "not found"], id="missing-config"),
        pytest.param(
            [str(BROKEN / "negative_dose.toml")],
            ["negative_dose.toml", "not a valid scenario", "arms.x.metastasis_dose_gy = -5", "must be within (0, 1000]"],
            id="broken-config",
        ),
        pytest.param([str(DEFAULT), "--patients", "0"], ["--patients = 0", ">= 1"], id="patients-0"),
        pytest.param([str(DEFAULT), "--patients", "-3"], ["--patients = -3", ">= 1"], id="patients-negative"),
        pytest.param([str(DEFAULT), "--seed", "-1"], ["--seed = -1", ">= 0"], id="seed-negative"),
        pytest.param([str(DEFAULT), "--seed", str(2**63)], ["--seed = 9223372036854775808", "<= 9223372036854775807", "simulation.seed"], id="seed-too-large"),
        pytest.param([str(DEFAULT), "--patients", "10000000000"], ["--patients = 10000000000", "<= 1000000000", "simulation.patients"], id="patients-too-many"),
        pytest.param([str(DEFAULT), "--threads", "0"], ["--threads = 0", ">= 1"], id="threads-0"),
        pytest.param([str(BASE)], ["base.toml", "no [arms"], id="base-has-no-arms"),
    ],
)
def test_user_errors_exit_2_without_output(tmp_path, capsys, args, expected):
    missing = str(tmp_path / "does_not_exist.toml")
    args = [a.replace("{missing}", missing) for a in args]
    out = tmp_path / "out"
    rc = cli.main(["run", *args, "--out", str(out), "--quiet"])
    assert rc == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("oligosim run: error: ")
    for text in expected:
        assert text in err, f"{text!r} not in stderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in captured.out
    assert not out.exists()
    assert temp_leftovers(tmp_path) == []


def test_out_is_an_existing_file(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("not a directory\n", encoding="utf-8")
    rc = cli.main(["run", str(DEFAULT), "--patients", "50", "--out", str(target), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(target) in err and "Traceback" not in err
    assert target.read_text(encoding="utf-8") == "not a directory\n"
    assert temp_leftovers(tmp_path) == []


def test_argparse_rejects_non_integer_patients(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", str(DEFAULT), "--patients", "many", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "--patients" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ============================================================================ 6. atomicity


def _interrupt_after_partial_write(exc_type):
    """A replacement writer that writes part of its file, then raises ``exc_type``."""

    def writer(*args, **kwargs):
        path = next(a for a in args if isinstance(a, (str, os.PathLike)))  # save_figure(fig, path)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write('{"partial": ')
        raise exc_type()

    return writer


INTERRUPTED = [
    pytest.param(files, "write_json", id="write_json"),
    pytest.param(canvas, "save_figure", id="save_figure"),
    pytest.param(patient_tables, "write_patients_csv", id="write_patients_csv"),
    pytest.param(patient_tables, "write_events_csv", id="write_events_csv"),
]


@pytest.mark.parametrize(("module", "func"), INTERRUPTED)
def test_interrupt_leaves_no_new_directory(tmp_path, capsys, monkeypatch, module, func):
    monkeypatch.setattr(module, func, _interrupt_after_partial_write(KeyboardInterrupt))
    out = tmp_path / "out"
    rc = cli.main(["run", str(DEFAULT), "--patients", "200", "--out", str(out), "--per-patient", "--events", "--quiet"])
    assert rc == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("module", "func"), INTERRUPTED)
def test_interrupt_leaves_existing_directory_unchanged(tmp_path, capsys, monkeypatch, module, func):
    out = tmp_path / "out"
    out.mkdir()
    old = '{"old": true}\n'
    (out / "summary.json").write_text(old, encoding="utf-8")
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    (out / files.MARKER).write_text("an earlier output\n", encoding="utf-8")  # replaceable
    monkeypatch.setattr(module, func, _interrupt_after_partial_write(KeyboardInterrupt))
    rc = cli.main(["run", str(DEFAULT), "--patients", "200", "--out", str(out), "--per-patient", "--events", "--quiet"])
    assert rc == 130
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == [files.MARKER, "notes.txt", "summary.json"]
    assert (out / "summary.json").read_text(encoding="utf-8") == old
    assert temp_leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unexpected_error_while_writing_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(patient_tables, "write_patients_csv", _interrupt_after_partial_write(lambda: OSError(28, "No space left on device")))
    out = tmp_path / "out"
    code = cli.main(["run", str(DEFAULT), "--patients", "200", "--out", str(out), "--per-patient", "--quiet"])
    # a failed write is reported as a user-facing error (exit 2), not a traceback
    assert code == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_successful_run_replaces_old_summary(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"old": true}\n', encoding="utf-8")
    (out / files.MARKER).write_text("an earlier output\n", encoding="utf-8")
    assert run_cli(DEFAULT, "--patients", 200, "--out", out) == 0
    assert "arms" in load_strict_json(out / "summary.json")
    assert temp_leftovers(tmp_path) == []


def test_reused_out_is_replaced_as_a_whole(tmp_path):
    # issue 22 item 7: the tables of a run with --per-patient --events do not survive a later
    # run without them into the same --out
    out = tmp_path / "out"
    assert run_cli(DEFAULT, "--patients", 200, "--out", out, "--per-patient", "--events") == 0
    assert {"patients.csv", "events.csv"} <= {p.name for p in out.iterdir()}
    assert run_cli(DEFAULT, "--patients", 200, "--out", out) == 0
    assert {p.name for p in out.iterdir()} == {"summary.json", "km_os.png", "km_pfs.png", files.MARKER}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .out.old-* or .out.tmp-* left


def test_non_empty_directory_oligosim_did_not_write_is_refused(tmp_path, capsys):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("mine\n", encoding="utf-8")
    assert run_cli(DEFAULT, "--patients", 200, "--out", out) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: is a non-empty directory that oligosim did not write" in err
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_empty_directory_is_used(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert run_cli(DEFAULT, "--patients", 200, "--out", out) == 0
    assert (out / "summary.json").is_file()


# ============================================================================ 7. the console script


def test_console_script_is_installed_and_checks_a_scenario():
    """The installed ``oligosim`` entry point imports the installed package and runs a command.
    (``check`` does not compile the kernel: with a non-editable install, as in CI, the installed
    copy has numba caches of its own, and a run here compiled the whole kernel a second time.)"""
    script = Path(sys.executable).with_name("oligosim")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable} (package not installed in this environment)")
    proc = subprocess.run([str(script), "check", "configs/default.toml"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "configs/default.toml: ok" in proc.stdout


def test_command_line_runs_in_a_fresh_process_and_prints_table(tmp_path):
    # this source tree (python -m from ROOT), whose kernel cache the in-process tests have filled
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "oligosim.cli", "run", "configs/default.toml", "--patients", "200", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in load_scenario(DEFAULT).data["arms"]:
        assert name in proc.stdout, f"arm {name} missing from the table:\n{proc.stdout}"
    assert "median OS" in proc.stdout
    assert "RMST36m OS" in proc.stdout  # the restricted mean next to the median
    assert {p.name for p in out.iterdir()} == {"summary.json", "km_os.png", "km_pfs.png", files.MARKER}


# ============================================================================ 8. dose


def test_dose_60_in_20(capsys):
    assert cli.main(["dose", "60/20", "--alpha-beta", "10"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\b78(\.0+)?\b", out), out
    assert re.search(r"\b65(\.0+)?\b", out), out  # EQD2


def test_truncated_event_logs_are_announced(capsys):
    """events.csv keeps a fixed number of events per patient: a run says when some patients had
    more, arm by arm, instead of cutting them silently."""
    import types

    import numpy as np

    from oligosim.commands.run import _warn_truncated_logs

    def arm(ev_n):
        return types.SimpleNamespace(ev_time=np.zeros((len(ev_n), 4)), columns={"ev_n": np.array(ev_n)}, n=len(ev_n))

    raw = types.SimpleNamespace(arms={"a": arm([2, 4, 3]), "b": arm([5, 9, 4])})
    _warn_truncated_logs(raw)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: arm b: 2 of 3 patients had more than 4 events; events.csv keeps their first 4"]
