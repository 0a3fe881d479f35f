"""Tests of oligosim.plots.km and oligosim.plots.canvas (pyplot-free figures, atomic saving)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from oligosim.analysis.survival import kaplan_meier, number_at_risk
from oligosim.plots.canvas import save_figure
from oligosim.plots.km import AT_RISK_GID, plot_km

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def curves():
    rng = np.random.default_rng(12345)
    out = {}
    for label, scale in (("SBRT + chemo", 25.0), ("Chemo alone", 15.0)):
        t = rng.exponential(scale, 500)
        c = rng.uniform(0.0, 72.0, 500)
        out[label] = kaplan_meier(np.minimum(t, c), t <= c)
    return out


def at_risk_texts(ax):
    return [t.get_text() for t in ax.texts if t.get_gid() == AT_RISK_GID]


def test_plot_km_returns_axes_with_one_line_per_arm(curves):
    ax = plot_km(curves, title="Overall survival", max_months=60)
    assert isinstance(ax, Axes)
    assert len(ax.lines) == len(curves)
    assert [line.get_label() for line in ax.lines] == list(curves)
    assert ax.get_xlim() == (0.0, 60.0)
    assert ax.get_title() == "Overall survival"
    assert ax.get_xlabel() == "Months"
    assert len(ax.collections) == len(curves)  # one CI band per arm
    # each line starts at S(0) = 1 and follows the KM values
    for line, km in zip(ax.lines, curves.values()):
        y = np.asarray(line.get_ydata())
        assert y[0] == 1.0 and y[-1] == pytest.approx(km.survival[-1])


def test_plot_km_at_risk_table(curves):
    ax = plot_km(curves, max_months=60)
    texts = at_risk_texts(ax)
    assert "Number at risk" in texts
    for label, km in curves.items():
        assert label in texts  # one row label per arm
        for count in number_at_risk(km, np.arange(0, 61, 12)):
            assert f"{count:,}" in texts
    # header + per arm: a label and one number per time (0, 12, ..., 60)
    assert len(texts) == 1 + len(curves) * (1 + 6)
    assert "500" in texts  # everybody at risk at t = 0


def test_plot_km_options(curves):
    fig = Figure()
    given = fig.add_subplot()
    ax = plot_km(curves, ax=given, show_ci=False, at_risk_times=[0, 24, 48])
    assert ax is given
    assert len(ax.collections) == 0
    assert len(at_risk_texts(ax)) == 1 + len(curves) * (1 + 3)
    ax = plot_km(curves, at_risk_times=[])
    assert at_risk_texts(ax) == []
    with pytest.raises(ValueError):
        plot_km({})


def test_plot_km_thins_huge_curves():
    rng = np.random.default_rng(12345)
    t = rng.exponential(20.0, 200_000)
    km = kaplan_meier(t, np.ones(t.size, bool))
    ax = plot_km({"arm": km}, show_ci=False, at_risk_times=[])
    assert len(ax.lines[0].get_xdata()) < 10_000


def test_plotting_does_not_touch_pyplot(curves):
    import matplotlib

    backend = matplotlib.get_backend()
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_km(curves)
    assert plt.get_fignums() == before  # no figure registered with pyplot
    assert matplotlib.get_backend() == backend


def test_save_figure_atomic_png(curves, tmp_path):
    ax = plot_km(curves)
    out = tmp_path / "km.png"
    returned = save_figure(ax.figure, out)
    assert returned == out
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["km.png"]  # no temp file left
    # overwriting replaces the file in one step
    save_figure(ax.figure, out, dpi=50)
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["km.png"]


def test_save_figure_failure_leaves_nothing(curves, tmp_path, monkeypatch):
    ax = plot_km(curves)
    out = tmp_path / "km.png"
    out.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ax.figure, "savefig", boom)
    with pytest.raises(KeyboardInterrupt):
        save_figure(ax.figure, out)
    assert out.read_bytes() == b"old"  # old file intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["km.png"]


def test_save_figure_respects_umask(curves, tmp_path):
    ax = plot_km(curves)
    out = tmp_path / "km.png"
    old = os.umask(0o022)
    try:
        save_figure(ax.figure, out)
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o644
