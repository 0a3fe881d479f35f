"""Output directories (issue 22 items 6-7): one rename, replaced as a whole, never a directory
oligosim did not write, no debris on failure."""

from __future__ import annotations

import os

import pytest

from oligosim.io import files


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_new_directory_appears_whole_with_its_marker_and_usual_mode(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    with files.atomic_directory(target) as tmp:
        (tmp / "x.txt").write_text("x")
        assert not target.exists()  # nothing appears before the end
    assert sorted(p.name for p in target.iterdir()) == [files.MARKER, "x.txt"]
    assert target.stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert sorted(p.name for p in target.parent.iterdir()) == ["out"]


def test_failure_removes_the_temporary_directory_and_the_parents_it_created(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError):
        with files.atomic_directory(target) as tmp:
            (tmp / "x.txt").write_text("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_earlier_output_is_replaced_as_a_whole(tmp_path):
    target = tmp_path / "out"
    with files.atomic_directory(target) as tmp:
        (tmp / "patients.csv").write_text("old")
        (tmp / "summary.json").write_text("old")
    with files.atomic_directory(target) as tmp:
        (tmp / "summary.json").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [files.MARKER, "summary.json"]
    assert (target / "summary.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_directory_oligosim_did_not_write_is_never_replaced(tmp_path):
    target = tmp_path / "home"
    with pytest.raises(files.OutputDirError, match="did not write"):
        with files.atomic_directory(target) as tmp:
            # the user's files appear while the run is writing: checked again at the rename
            target.mkdir()
            (target / "thesis.tex").write_text("mine")
            (tmp / "summary.json").write_text("new")
    assert [p.name for p in target.iterdir()] == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize("content", ["empty", "marker", "absent"])
def test_replaceable(tmp_path, content):
    target = tmp_path / "out"
    if content != "absent":
        target.mkdir()
    if content == "marker":
        (target / files.MARKER).write_text("")
        (target / "summary.json").write_text("")
    files.check_replaceable(target)


def test_a_file_is_not_replaceable(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(files.OutputDirError, match="exists and is not a directory"):
        files.check_replaceable(tmp_path / "f")
