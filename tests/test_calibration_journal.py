"""Tests of a calibration's journal (``oligosim calibrate --journal``, :mod:`oligosim.calibration.journal`).

An interrupted calibration given its journal again must give the result an uninterrupted run
gives, simulating only the candidates it had not simulated; a finished run given its journal
simulates none; another calibration's journal, or a damaged one, is refused with a message that
names the file and the reason. The tiny calibration of ``tests/data/calibration`` at its
``--quick`` sizes keeps this fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from oligosim import cli
from oligosim.calibration import evaluation, load_calibration, run_calibration
from oligosim.calibration.journal import Journal, JournalError, fingerprint

from tests.test_calibrate import CONFIG, TARGETS


@pytest.fixture(scope="module")
def spec():
    return load_calibration(CONFIG, TARGETS, quick=True)


@pytest.fixture(scope="module")
def plain(spec):
    """The uninterrupted run without a journal."""
    return run_calibration(spec, workers=1)


class _Counter:
    """Counts simulations (every call of evaluation._score) and can interrupt after ``stop`` of them."""

    def __init__(self, monkeypatch, stop=None):
        self.calls = 0
        self.stop = stop
        real = evaluation._score

        def score(tmap, task):
            self.calls += 1
            if self.stop is not None and self.calls > self.stop:
                raise KeyboardInterrupt
            return real(tmap, task)

        monkeypatch.setattr(evaluation, "_score", score)


def _same(a, b):
    assert [e.objective for e in a.evaluations] == [e.objective for e in b.evaluations]
    assert [e.phase for e in a.evaluations] == [e.phase for e in b.evaluations]
    assert a.best_values == b.best_values
    assert np.array_equal(a.abc.weights, b.abc.weights)
    assert np.array_equal(a.abc.particles, b.abc.particles)


def test_a_finished_run_is_replayed_without_simulating(spec, plain, tmp_path, monkeypatch):
    path = tmp_path / "j.jsonl"
    first = run_calibration(spec, workers=1, journal=path)
    _same(first, plain)
    candidates = {e.z.tobytes() for e in first.evaluations if e.z is not None}
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["fingerprint"] == fingerprint(spec)
    assert len(lines) - 1 == len(candidates)  # every distinct candidate once
    count = _Counter(monkeypatch)
    again = run_calibration(spec, workers=1, journal=path)
    _same(again, plain)
    # only the four evaluations outside the search: defaults, best, and both on fresh patients
    assert count.calls == 4
    assert [e.errors for e in again.evaluations] == [e.errors for e in plain.evaluations]
    assert [e.within for e in again.evaluations] == [e.within for e in plain.evaluations]


@pytest.mark.parametrize("stop", [3, 9])
def test_an_interrupted_run_resumes_to_the_same_result(spec, plain, tmp_path, monkeypatch, stop):
    path = tmp_path / "j.jsonl"
    total = 1 + len({e.z.tobytes() for e in plain.evaluations if e.z is not None}) + 3
    with monkeypatch.context() as m:
        _Counter(m, stop=stop)
        with pytest.raises(KeyboardInterrupt):
            run_calibration(spec, workers=1, journal=path)
    kept = len(path.read_text().splitlines()) - 1
    assert kept == stop - 1  # every simulated candidate but the defaults, as soon as it was simulated
    count = _Counter(monkeypatch)
    resumed = run_calibration(spec, workers=1, journal=path)
    _same(resumed, plain)
    assert count.calls == total - kept


def test_another_calibrations_journal_is_refused(spec, tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path, fingerprint(spec), len(spec.tmap.entries))
    other = load_calibration(CONFIG, TARGETS, quick=False)  # other patients: other values
    assert fingerprint(other) != fingerprint(spec)
    with pytest.raises(JournalError, match="written for a different calibration"):
        run_calibration(other, workers=1, journal=path)


def test_the_cli_refuses_a_wrong_journal_naming_it(spec, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("calibrate",))
    path = tmp_path / "j.jsonl"
    path.write_text('{"something": "else"}\n')
    out = tmp_path / "out"
    code = cli.main(["calibrate", str(CONFIG), "--targets", str(TARGETS), "--out", str(out), "--quick", "--workers", "1", "--quiet", "--journal", str(path)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--journal = {path}" in err and "not a calibration journal" in err
    assert not out.exists()
    inside = out / "j.jsonl"
    code = cli.main(["calibrate", str(CONFIG), "--targets", str(TARGETS), "--out", str(out), "--quick", "--quiet", "--journal", str(inside)])
    assert code == 2 and "must lie outside --out" in capsys.readouterr().err


def test_an_unfinished_last_line_is_dropped_and_damage_before_it_is_an_error(spec, tmp_path):
    fp, n = fingerprint(spec), len(spec.tmap.entries)
    path = tmp_path / "j.jsonl"
    j = Journal(path, fp, n)
    z1, z2 = np.array([0.25, 0.5]), np.array([0.125, 1.0 / 3.0])
    j.append([(z1, 1.5, [0.5] * n, [True] * n, ""), (z2, float("inf"), [None] * n, [False] * n, "infeasible cohort: x")])
    whole = path.read_text()
    # killed while writing a third line: the partial line is dropped (and removed from the file)
    path.write_text(whole + '{"z": ["0x1.0p-1"')
    j2 = Journal(path, fp, n)
    assert j2.dropped_tail and len(j2) == 2 and path.read_text() == whole
    e = j2.get(z2)
    assert e["objective"] == float("inf") and e["errors"] == [None] * n and e["note"] == "infeasible cohort: x"
    assert j2.get(z1)["errors"] == [0.5] * n and j2.get(np.array([0.25, 0.5000001])) is None
    # a damaged line that is not the last is not guessed around
    lines = whole.splitlines()
    path.write_text("\n".join([lines[0], lines[1][:-5], lines[2]]) + "\n")
    with pytest.raises(JournalError, match="line 2 is damaged"):
        Journal(path, fp, n)
    # a complete last line that is not a candidate is damage too, not an unfinished write
    path.write_text(whole + "garbage\n")
    with pytest.raises(JournalError, match="line 4 is damaged"):
        Journal(path, fp, n)


def test_the_fingerprint_follows_what_the_values_depend_on(spec, monkeypatch):
    import dataclasses

    base = fingerprint(spec)
    assert fingerprint(load_calibration(CONFIG, TARGETS, quick=True)) == base  # stable across loads
    assert fingerprint(dataclasses.replace(spec, seed=spec.seed + 1)) != base
    p0 = spec.parameters[0]
    moved = dataclasses.replace(spec, parameters=(dataclasses.replace(p0, high=p0.high * 1.01),) + spec.parameters[1:])
    assert fingerprint(moved) != base
    # a search setting does not change what a candidate's values are: the journal stays usable
    assert fingerprint(dataclasses.replace(spec, abc={**spec.abc, "generations": spec.abc["generations"] + 1})) == base
    from oligosim.calibration import journal

    monkeypatch.setattr(journal, "source_digest", lambda: "another model")
    assert fingerprint(spec) != base


@pytest.mark.slow
def test_a_journal_written_by_worker_processes_replays_in_one(spec, plain, tmp_path, monkeypatch):
    path = tmp_path / "j.jsonl"
    par = run_calibration(spec, workers=2, journal=path)
    _same(par, plain)
    count = _Counter(monkeypatch)
    _same(run_calibration(spec, workers=1, journal=path), plain)
    assert count.calls == 4


def test_the_fingerprint_does_not_depend_on_where_the_files_lie(spec, tmp_path):
    import shutil

    from tests.test_calibrate import DATA, ROOT

    # the study extends ../../../configs/base.toml: copy both, in the same layout
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    copy = tmp_path / DATA.relative_to(ROOT)
    shutil.copytree(DATA, copy)
    moved = load_calibration(copy / CONFIG.name, copy / TARGETS.name, quick=True)
    assert fingerprint(moved) == fingerprint(spec)


def test_the_source_digest_ignores_presentation_and_nothing_else(tmp_path):
    import shutil

    from oligosim.calibration.journal import PRESENTATION_ONLY, source_digest

    pkg = tmp_path / "oligosim"
    shutil.copytree(Path(journal_module_file()).parents[1], pkg, ignore=shutil.ignore_patterns("__pycache__", "_shipped"))
    base = source_digest(pkg)
    (pkg / "calibration" / "report.py").write_text((pkg / "calibration" / "report.py").read_text() + "\n# a wording change\n")
    (pkg / "plots" / "km.py").write_text((pkg / "plots" / "km.py").read_text() + "\n# a colour\n")
    assert source_digest(pkg) == base
    for model_file in ("_kernels/hazards.py", "reference/hazards.py", "calibration/scoring.py", "config/schema.py"):
        f = pkg / model_file
        keep = f.read_text()
        f.write_text(keep + "\n# a model change\n")
        assert source_digest(pkg) != base, model_file
        f.write_text(keep)
    assert source_digest(pkg) == base
    assert all(not x.startswith(("_kernels", "reference", "config", "calibration/scoring", "calibration/evaluation")) for x in PRESENTATION_ONLY)


def journal_module_file():
    from oligosim.calibration import journal

    return journal.__file__
