"""Tests of oligosim.docs and of docs/model.md's generated parameter table."""

from __future__ import annotations

from pathlib import Path

import pytest

from oligosim import docs
from oligosim.config import Bool, Choice, Float, Int, Section, Str, Table

MODEL_MD = Path(__file__).resolve().parent.parent / "docs" / "model.md"


def _leaf_paths(node, path=""):
    """Every leaf key path of a schema, found independently of oligosim.docs."""
    if isinstance(node, Section):
        for name, child in node.fields.items():
            yield from _leaf_paths(child, f"{path}.{name}" if path else name)
    elif isinstance(node, Table):
        yield from _leaf_paths(node.value, f"{path}.<name>")
    else:
        yield path


def test_every_float_parameter_names_a_source():
    """A citation, or "assumption: <reason>" with a reason after the colon."""
    offenders = []
    for row in docs.parameter_rows():
        if row["kind"] != "Float":
            continue
        source = row["source"].strip()
        if not source:
            offenders.append(f"{row['path']}: no source")
        elif row["assumption"]:
            head, _, reason = source.partition(":")
            if head.strip().lower() != "assumption" or not reason.strip():
                offenders.append(f"{row['path']}: {source!r} gives no reason after 'assumption:'")
    assert not offenders, (
        f"{len(offenders)} Float parameter(s) in oligosim/config/schema.py lack a source or an "
        "assumption's reason:\n  " + "\n  ".join(offenders)
    )


def test_rows_cover_every_leaf_with_formatted_fields():
    from oligosim.config.schema import SCENARIO_SCHEMA

    rows = docs.parameter_rows()
    paths = [r["path"] for r in rows]
    assert paths == list(_leaf_paths(SCENARIO_SCHEMA))
    assert len(set(paths)) == len(paths)
    by_path = {r["path"]: r for r in rows}
    assert set(rows[0]) >= {"path", "kind", "default", "unit", "range", "doc", "source", "assumption"}
    # Table entries use <name>
    assert "regimens.<name>.kill_rate_per_month" in by_path
    assert "arms.<name>.rt_timing" in by_path
    # REQUIRED default, choices, open/closed ranges
    assert by_path["arms.<name>.rt_timing"]["default"] == "required"
    assert by_path["arms.<name>.rt_timing"]["range"].startswith("one of: none, upfront")
    assert by_path["radiotherapy.alpha_beta_tumour_gy"]["range"] == "[0.1, 1000]"
    assert by_path["radiotherapy.alpha_beta_late_gy"]["range"] == "[0.1, 1000]"
    assert by_path["disease.seeding_rate_per_cm3_month"]["range"] == "(0, 1000]"
    assert by_path["radiotherapy.recovery_max_fraction"]["range"] == "[0, 1]"
    assert by_path["radiotherapy.alpha_beta_tumour_gy"]["unit"] == "Gy"
    for r in rows:
        assert r["assumption"] == r["source"].strip().lower().startswith("assumption")


def test_parameter_rows_of_a_small_schema():
    schema = Section(
        {
            "a": Float(0.5, lo=0.0, hi=1.0, hi_open=True, unit="Gy", doc="x", source="assumption: why"),
            "b": Int(3, lo=1, hi=5),
            "c": Choice(("p", "q"), "q"),
            "d": Bool(True),
            "e": Str("hi"),
            "t": Table(Section({"z": Float(doc="needed", source="Smith 2020")})),
        }
    )
    rows = {r["path"]: r for r in docs.parameter_rows(schema)}
    assert list(rows) == ["a", "b", "c", "d", "e", "t.<name>.z"]
    assert rows["a"]["range"] == "[0, 1)" and rows["a"]["default"] == "0.5" and rows["a"]["assumption"]
    assert rows["b"]["range"] == "[1, 5]" and rows["b"]["default"] == "3"
    assert rows["c"]["range"] == "one of: p, q" and rows["c"]["default"] == '"q"'
    assert rows["d"]["default"] == "true"
    assert rows["t.<name>.z"]["default"] == "required" and not rows["t.<name>.z"]["assumption"]
    assert rows["t.<name>.z"]["range"] == "(-inf, inf)"


def test_table_markdown_contains_every_leaf_path():
    from oligosim.config.schema import SCENARIO_SCHEMA

    md = docs.parameter_table_markdown()
    missing = [p for p in _leaf_paths(SCENARIO_SCHEMA) if f"`{p}`" not in md]
    assert not missing, f"parameter table lacks: {missing}"
    assert "#### `radiotherapy`" in md and "##### `arms.<name>.progression`" in md
    # well-formed table rows: 6 cells each (escaped pipes do not split cells)
    for line in md.splitlines():
        if line.startswith("| `"):
            assert line.replace("\\|", "").count("|") == 7, line
    assert md == docs.parameter_table_markdown()  # deterministic


def test_model_md_generated_section_is_up_to_date():
    assert MODEL_MD.exists()
    text = MODEL_MD.read_text(encoding="utf-8")
    assert docs.BEGIN in text and docs.END in text
    diff = docs.check_file(MODEL_MD)
    assert not diff, (
        "docs/model.md is out of date; run `python -m oligosim.docs --write docs/model.md`:\n"
        + "\n".join(diff[:60])
    )


def test_write_and_check_round_trip(tmp_path, capsys):
    f = tmp_path / "model.md"
    f.write_text(f"# Title\n\nprose\n\n{docs.BEGIN}\nstale\n{docs.END}\n\nmore prose\n", encoding="utf-8")
    assert docs.main(["--check", str(f)]) == 1
    out = capsys.readouterr()
    assert "stale" in out.out and "out of date" in out.err
    assert docs.main(["--write", str(f)]) == 0
    text = f.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nprose\n\n" + docs.BEGIN)
    assert text.endswith(docs.END + "\n\nmore prose\n")
    assert "stale" not in text and "`radiotherapy.tcp_gamma50`" in text
    assert docs.main(["--check", str(f)]) == 0
    assert not docs.write_file(f)  # unchanged the second time
    assert list(tmp_path.iterdir()) == [f]  # no temporary file left behind


def test_missing_markers_are_errors(tmp_path):
    f = tmp_path / "model.md"
    f.write_text("no markers here\n", encoding="utf-8")
    assert docs.check_file(f)
    assert docs.main(["--write", str(f)]) == 2
    assert f.read_text(encoding="utf-8") == "no markers here\n"
    f.write_text(f"{docs.BEGIN}\nunterminated\n", encoding="utf-8")
    with pytest.raises(ValueError):
        docs.render_blocks(f.read_text(encoding="utf-8"))


def test_print_table(capsys):
    assert docs.main([]) == 0
    assert "`simulation.horizon_months`" in capsys.readouterr().out


def test_regimen_table_lists_base_regimens():
    assert docs.BASE_CONFIG.exists(), docs.BASE_CONFIG
    md = docs.regimen_table_markdown()
    import tomllib

    with open(docs.BASE_CONFIG, "rb") as f:
        names = list(tomllib.load(f).get("regimens", {}))
    for name in names:
        assert f"`{name}`" in md
