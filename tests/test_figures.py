"""Tests of oligosim.plots (swimmer, arms, sensitivity, psa, trial, style): the report plots (artists drawn, sorting, validation, saving)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.colors import TwoSlopeNorm, to_rgba  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from oligosim import codes  # noqa: E402
from oligosim.analysis.proportions import proportion_ci  # noqa: E402
from oligosim.plots.arms import plot_failure_patterns, plot_toxicity  # noqa: E402
from oligosim.plots.canvas import new_axes, save_figure  # noqa: E402
from oligosim.plots.psa import QUADRANT_GID, plot_probability_best, plot_psa_scatter  # noqa: E402
from oligosim.plots.sensitivity import plot_sensitivity_indices, plot_threshold, plot_tornado, plot_twoway  # noqa: E402
from oligosim.plots.style import arm_colors  # noqa: E402
from oligosim.plots.swimmer import SWIMMER_GIDS, plot_swimmer  # noqa: E402
from oligosim.plots.trial import plot_distribution, plot_power  # noqa: E402
from oligosim.results import ArmResult  # noqa: E402

from conftest import CONFIGS  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TAB10 = matplotlib.colormaps["tab10"].colors


def saves(ax, tmp_path, name="fig.png"):
    path = save_figure(ax.figure, tmp_path / name)
    assert path.read_bytes()[:8] == PNG_MAGIC
    return path


def legend_texts(ax):
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


def lines_by_gid(ax):
    return {line.get_gid(): line for line in ax.lines if line.get_gid()}


def xy(line):
    return list(zip(np.asarray(line.get_xdata(), float).tolist(), np.asarray(line.get_ydata(), float).tolist()))


def bars(ax):
    """The bar containers (``ax.containers`` also holds the error-bar containers)."""
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def ytick_order(ax):
    """Tick labels from the top of the axes to the bottom."""
    ticks = ax.get_yticks()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    top_first = ax.get_ylim()[0] > ax.get_ylim()[1]  # inverted axis: small y at the top
    order = np.argsort(ticks if top_first else -ticks)
    return [labels[i] for i in order]


# ============================================================================ swimmer
@pytest.fixture(scope="module")
def sim_arm():
    from oligosim.config import load_scenario
    from oligosim.simulate import run_scenario

    res = run_scenario(load_scenario(CONFIGS / "default.toml"), patients=40, seed=3, events=True, arms=["consolidative"])
    return res.arms["consolidative"]


EV = codes


def make_arm(histories, os, cause, E=10, ev_n=None):
    """An ArmResult from hand-written event logs: histories[j] = [(t, code, detail), ...]."""
    n = len(histories)
    ev_time = np.zeros((n, E))
    ev_code = np.zeros((n, E), np.int8)
    ev_detail = np.zeros((n, E), np.int16)
    for j, h in enumerate(histories):
        for i, (t, c, d) in enumerate(h[:E]):
            ev_time[j, i], ev_code[j, i], ev_detail[j, i] = t, c, d
    n_logged = np.array([len(h) for h in histories] if ev_n is None else ev_n, np.int32)
    columns = {
        "os": np.asarray(os, float),
        "os_event": np.asarray(cause) != EV.ALIVE,
        "death_cause": np.asarray(cause, np.int8),
        "ev_n": n_logged,
    }
    return ArmResult(
        name="synthetic", label="Synthetic arm", columns=columns, ev_time=ev_time, ev_code=ev_code, ev_detail=ev_detail,
        aggregates={}, lc_records=(np.zeros(0), np.zeros(0, bool)),
    )


@pytest.fixture
def synthetic_arm():
    p0 = [
        (0.0, EV.EV_ENTRY, 3), (0.0, EV.EV_LINE_START, 5), (1.0, EV.EV_RT_START, 0), (2.0, EV.EV_RT_END, 0),
        (2.0, EV.EV_TOXICITY, codes.ESOPHAGITIS), (5.0, EV.EV_PROGRESSION, 1), (5.5, EV.EV_RT_START, 2),
        (6.0, EV.EV_RT_END, 2), (8.0, EV.EV_LOCAL_FAILURE, 0), (12.0, EV.EV_DEATH_DISEASE, 0),
    ]
    p1 = [(0.0, EV.EV_ENTRY, 2), (3.0, EV.EV_PROGRESSION, 0), (3.0, EV.EV_WIDESPREAD, 0), (20.0, EV.EV_CENSORED, 0)]
    # log overflowed (13 events, 10 stored); the last stored event opens an RT course
    p2 = [(0.0, EV.EV_ENTRY, 1), (1.0, EV.EV_RT_START, 0), (1.5, EV.EV_RT_END, 0)] + [
        (2.0 + i * 0.5, EV.EV_SCAN, 3) for i in range(6)
    ] + [(7.0, EV.EV_RT_START, 2)]
    # dies of treatment during an RT course (no RT_END logged)
    p3 = [(0.0, EV.EV_ENTRY, 1), (4.0, EV.EV_RT_START, 0), (4.5, EV.EV_DEATH_TREATMENT, 0)]
    return make_arm(
        [p0, p1, p2, p3],
        os=[12.0, 20.0, 30.0, 4.5],
        cause=[EV.DEATH_DISEASE, EV.ALIVE, EV.DEATH_OTHER, EV.DEATH_TREATMENT],
        ev_n=[10, 4, 13, 3],
    )


def test_swimmer_synthetic_exact(synthetic_arm, tmp_path):
    ax = plot_swimmer(synthetic_arm, patients=4, title="Synthetic")
    assert isinstance(ax, Axes)
    assert ax.get_title() == "Synthetic"
    assert ax.get_xlabel() == "Months since entry"
    bars = ax.containers[0]
    assert [p.get_width() for p in bars.patches] == [12.0, 20.0, 30.0, 4.5]
    assert ytick_order(ax) == ["Patient 0", "Patient 1", "Patient 2", "Patient 3"]
    rt = sorted((p.get_y() + p.get_height() / 2, p.get_x(), p.get_width()) for p in ax.containers[1].patches)
    expected = sorted([(0, 1.0, 1.0), (0, 5.5, 0.5), (2, 1.0, 0.5), (2, 7.0, 0.0), (3, 4.0, 0.5)])
    assert np.array(rt) == pytest.approx(np.array(expected, float))
    m = lines_by_gid(ax)
    assert xy(m["swimmer-line-start"]) == [(0.0, 0.0)]
    assert xy(m["swimmer-toxicity"]) == [(2.0, 0.0)]
    assert xy(m["swimmer-progression-oligo"]) == [(5.0, 0.0)]
    assert xy(m["swimmer-progression-poly"]) == [(3.0, 1.0)]
    assert xy(m["swimmer-widespread"]) == [(3.0, 1.0)]
    assert xy(m["swimmer-local-failure"]) == [(8.0, 0.0)]
    assert xy(m["swimmer-death-disease"]) == [(12.0, 0.0)]
    assert xy(m["swimmer-alive"]) == [(20.0, 1.0)]
    assert xy(m["swimmer-death-other"]) == [(30.0, 2.0)]
    assert xy(m["swimmer-death-treatment"]) == [(4.5, 3.0)]
    assert xy(m["swimmer-truncated"])[0][0] == 7.0
    assert sorted(legend_texts(ax)) == sorted(SWIMMER_GIDS.values())
    saves(ax, tmp_path)


def test_swimmer_legend_lists_only_present_kinds(synthetic_arm):
    ax = plot_swimmer(synthetic_arm, patients=[1], max_months=24)
    assert legend_texts(ax) == [
        SWIMMER_GIDS[g]
        for g in ("swimmer-bar", "swimmer-progression-poly", "swimmer-widespread", "swimmer-alive")
    ]
    assert set(lines_by_gid(ax)) == {"swimmer-progression-poly", "swimmer-widespread", "swimmer-alive"}
    assert len(ax.containers) == 1  # no RT course for this patient
    assert ax.get_xlim() == (0.0, 24.0)
    assert ytick_order(ax) == ["Patient 1"]


def test_swimmer_max_months_hides_later_events_and_their_legend_entries(synthetic_arm):
    ax = plot_swimmer(synthetic_arm, patients=[0], max_months=4.0)
    assert set(lines_by_gid(ax)) == {"swimmer-line-start", "swimmer-toxicity"}
    assert legend_texts(ax) == [SWIMMER_GIDS[g] for g in ("swimmer-bar", "swimmer-rt", "swimmer-line-start", "swimmer-toxicity")]
    assert [(p.get_x(), p.get_width()) for p in ax.containers[1].patches] == [(1.0, 1.0)]
    assert ax.get_xlim() == (0.0, 4.0)


def test_swimmer_patient_order_follows_indices(synthetic_arm):
    ax = plot_swimmer(synthetic_arm, patients=[3, 0])
    assert ytick_order(ax) == ["Patient 3", "Patient 0"]
    assert [p.get_width() for p in ax.containers[0].patches] == [4.5, 12.0]


def test_swimmer_simulated_arm(sim_arm, tmp_path):
    k = 20
    ax = plot_swimmer(sim_arm, patients=k, title="Consolidative RT")
    assert len(ax.containers[0].patches) == k
    assert [p.get_width() for p in ax.containers[0].patches] == pytest.approx(sim_arm["os"][:k])
    m = lines_by_gid(ax)
    # counts of markers match the logs
    n = np.minimum(sim_arm["ev_n"][:k], sim_arm.ev_time.shape[1])
    logged = np.concatenate([sim_arm.ev_code[j, : n[j]] for j in range(k)])
    detail = np.concatenate([sim_arm.ev_detail[j, : n[j]] for j in range(k)])
    n_marks = lambda g: len(m[g].get_xdata()) if g in m else 0  # noqa: E731
    prog = logged == EV.EV_PROGRESSION
    assert n_marks("swimmer-progression-oligo") == np.count_nonzero(prog & (detail == 1))
    assert n_marks("swimmer-progression-poly") == np.count_nonzero(prog & (detail == 0))
    assert n_marks("swimmer-line-start") == np.count_nonzero(logged == EV.EV_LINE_START)
    assert n_marks("swimmer-toxicity") == np.count_nonzero(logged == EV.EV_TOXICITY)
    rt = len(ax.containers[1].patches) if len(ax.containers) > 1 else 0
    assert rt == np.count_nonzero(logged == EV.EV_RT_START)
    ends = sum(n_marks(g) for g in ("swimmer-death-disease", "swimmer-death-other", "swimmer-death-treatment", "swimmer-alive"))
    assert ends == k
    # the legend is exactly: follow-up bar, RT (if any), one entry per marker kind drawn
    expected = [SWIMMER_GIDS["swimmer-bar"]] + (["RT course"] if rt else [])
    expected += [SWIMMER_GIDS[g] for g in SWIMMER_GIDS if g in m]
    assert legend_texts(ax) == expected
    saves(ax, tmp_path, "swimmer.png")


def test_swimmer_errors(synthetic_arm, sim_arm):
    no_log = make_arm([[(0.0, EV.EV_CENSORED, 0)]], os=[1.0], cause=[EV.ALIVE], E=0, ev_n=[1])
    with pytest.raises(ValueError, match="events=True"):
        plot_swimmer(no_log)
    with pytest.raises(ValueError, match="patients = 0"):
        plot_swimmer(synthetic_arm, patients=0)
    with pytest.raises(ValueError, match="patients = 5: .*4 patients"):
        plot_swimmer(synthetic_arm, patients=5)
    with pytest.raises(ValueError, match=r"patients\[1\] = -1"):
        plot_swimmer(synthetic_arm, patients=[0, -1])
    with pytest.raises(ValueError, match="patients"):
        plot_swimmer(synthetic_arm, patients=[])
    with pytest.raises(ValueError, match="patients"):
        plot_swimmer(synthetic_arm, patients=[0.5])
    with pytest.raises(ValueError, match="max_months = -1"):
        plot_swimmer(synthetic_arm, max_months=-1, patients=2)


# ============================================================================ tornado
TORNADO_ROWS = [
    {"label": "alpha/beta", "low_value": 3.0, "high_value": 10.0, "low_result": 1.5, "high_result": 2.5},  # swing 1
    {"label": "TCP D50", "low_value": 50.0, "high_value": 80.0, "low_result": 4.0, "high_result": -1.0},  # swing 5
    {"label": "Toxicity OR", "low_value": 0.5, "high_value": 2.0, "low_result": 2.2, "high_result": 0.2},  # swing 2
]


def test_tornado_sorted_by_swing(tmp_path):
    ax = plot_tornado(TORNADO_ROWS, base=2.0, xlabel="Δ OS RMST (months)", title="One-way")
    assert isinstance(ax, Axes)
    assert ytick_order(ax) == ["TCP D50", "Toxicity OR", "alpha/beta"]
    low, high = ax.containers[0], ax.containers[1]
    # bars start at base and end at the results, in the sorted order (row 0 = top)
    assert [p.get_x() for p in low.patches] == [2.0, 2.0, 2.0]
    assert [p.get_x() + p.get_width() for p in low.patches] == pytest.approx([4.0, 2.2, 1.5])
    assert [p.get_x() + p.get_width() for p in high.patches] == pytest.approx([-1.0, 0.2, 2.5])
    assert [p.get_y() + p.get_height() / 2 for p in low.patches] == [0.0, 1.0, 2.0]
    assert low.patches[0].get_facecolor() != high.patches[0].get_facecolor()
    texts = {t.get_text() for t in ax.texts}
    assert {"3", "10", "50", "80", "0.5", "2"} <= texts
    assert any(list(line.get_xdata()) == [2.0, 2.0] for line in ax.lines)  # base line
    assert legend_texts(ax) == ["Base case (2)", "Parameter at low value", "Parameter at high value"]
    assert ax.get_xlabel() == "Δ OS RMST (months)"
    saves(ax, tmp_path)


def test_tornado_errors():
    with pytest.raises(ValueError, match="rows is empty"):
        plot_tornado([], base=0.0)
    with pytest.raises(ValueError, match=r"rows\[0\] lacks high_result"):
        plot_tornado([{k: v for k, v in TORNADO_ROWS[0].items() if k != "high_result"}], base=0.0)
    bad = dict(TORNADO_ROWS[0], low_result=float("nan"))
    with pytest.raises(ValueError, match=r"rows\[1\]\['low_result'\] = nan: must be finite"):
        plot_tornado([TORNADO_ROWS[1], bad], base=0.0)
    with pytest.raises(ValueError, match="base = nan"):
        plot_tornado(TORNADO_ROWS, base=float("nan"))


# ============================================================================ sensitivity
SOBOL = {
    "names": ["a", "b", "c", "d"],
    "S1": [0.10, 0.50, -0.01, 0.20],
    "S1_conf": [0.02, 0.05, 0.01, 0.03],
    "ST": [0.15, 0.60, 0.02, 0.35],
    "ST_conf": [0.03, 0.06, 0.01, 0.04],
    "S2": [[0.0] * 4] * 4,  # ignored
}
MORRIS = {"names": ["a", "b", "c"], "mu_star": [0.3, 1.2, 0.7], "mu_star_conf": [0.1, 0.2, 0.1], "sigma": [0.2, 0.9, 0.1]}


def test_sobol_sorted_by_total_index(tmp_path):
    ax = plot_sensitivity_indices(SOBOL, title="Sobol")
    assert ytick_order(ax) == ["b", "d", "a", "c"]
    s1, st = bars(ax)
    assert [p.get_width() for p in s1.patches] == pytest.approx([0.50, 0.20, 0.10, -0.01])
    assert [p.get_width() for p in st.patches] == pytest.approx([0.60, 0.35, 0.15, 0.02])
    assert s1.errorbar is not None and st.errorbar is not None
    # error bars: half-widths of the sorted ST CIs
    segs = st.errorbar.lines[2][0].get_segments()
    assert [s[1][0] - s[0][0] for s in segs] == pytest.approx([0.12, 0.08, 0.06, 0.02])
    assert legend_texts(ax) == ["First order (S1)", "Total order (ST)"]
    saves(ax, tmp_path)


def test_morris_sorted_by_mu_star(tmp_path):
    ax = plot_sensitivity_indices(MORRIS, method="morris")
    assert ytick_order(ax) == ["b", "c", "a"]
    assert [p.get_width() for p in bars(ax)[0].patches] == pytest.approx([1.2, 0.7, 0.3])
    sigma = [line for line in ax.lines if line.get_label().startswith("σ")]
    assert len(sigma) == 1 and list(sigma[0].get_xdata()) == pytest.approx([0.9, 0.1, 0.2])
    assert list(sigma[0].get_ydata()) == [0.0, 1.0, 2.0]
    assert legend_texts(ax) == ["μ* (mean |elementary effect|)", "σ (SD of elementary effects)"]
    saves(ax, tmp_path)


def test_sensitivity_errors():
    with pytest.raises(ValueError, match="method = 'fast'"):
        plot_sensitivity_indices(SOBOL, method="fast")
    with pytest.raises(ValueError, match="indices lacks ST_conf"):
        plot_sensitivity_indices({k: v for k, v in SOBOL.items() if k != "ST_conf"})
    with pytest.raises(ValueError, match=r"indices\['ST'\] has 3 values but indices\['names'\] has 4"):
        plot_sensitivity_indices(dict(SOBOL, ST=[0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"indices\['S1'\]\[1\] = nan"):
        plot_sensitivity_indices(dict(SOBOL, S1=[0.1, float("nan"), 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"indices\['mu_star_conf'\]\[0\] = -0.1: must be >= 0"):
        plot_sensitivity_indices(dict(MORRIS, mu_star_conf=[-0.1, 0.1, 0.1]), method="morris")
    with pytest.raises(ValueError, match="indices is empty"):
        plot_sensitivity_indices({}, method="morris")


# ============================================================================ PSA scatter
def test_psa_scatter_quadrants(tmp_path):
    x = np.array([1.0, 2.0, -1.0, -2.0, -3.0, 0.5, 1.5, 2.5])
    y = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -2.0, -2.0, -2.0])
    ax = plot_psa_scatter(x, y, xlabel="Δ grade ≥3 toxicity", ylabel="Δ OS RMST (months)", title="PSA")
    assert len(ax.collections[0].get_offsets()) == 8
    mean = [line for line in ax.lines if line.get_label() == "Mean"][0]
    assert xy(mean) == [pytest.approx((x.mean(), y.mean()))]
    quads = {t.get_position(): t.get_text() for t in ax.texts if t.get_gid() == QUADRANT_GID}
    assert quads == {(0.98, 0.98): "25.0%", (0.02, 0.98): "12.5%", (0.02, 0.02): "25.0%", (0.98, 0.02): "37.5%"}
    assert ax.get_xlabel() == "Δ grade ≥3 toxicity" and ax.get_ylabel() == "Δ OS RMST (months)"
    saves(ax, tmp_path)


def test_psa_scatter_keeps_zero_lines_in_view_and_reports_points_on_them():
    ax = plot_psa_scatter([1.0, 2.0, 3.0, 0.0], [5.0, 6.0, 7.0, 8.0], xlabel="x", ylabel="y")
    assert ax.get_xlim()[0] < 0.0 < ax.get_xlim()[1]
    assert ax.get_ylim()[0] < 0.0 < ax.get_ylim()[1]
    texts = [t.get_text() for t in ax.texts if t.get_gid() == QUADRANT_GID]
    assert "on a zero line: 25.0%" in texts and "75.0%" in texts


def test_psa_scatter_errors():
    with pytest.raises(ValueError, match="y has 2 values but x has 3"):
        plot_psa_scatter([1, 2, 3], [1, 2], xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="x has 0 values"):
        plot_psa_scatter([], [], xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match=r"y\[1\] = inf"):
        plot_psa_scatter([1, 2], [1, np.inf], xlabel="x", ylabel="y")


# ============================================================================ probability best
def test_probability_best(tmp_path):
    w = [0.0, 1.0, 2.0, 3.0]
    probs = {"Chemo": [0.1, 0.2, 0.5, 0.7], "SBRT": [0.9, 0.7, 0.5, 0.2], "Hypo": [0.0, 0.1, 0.0, 0.1]}
    ax = plot_probability_best(w, probs, title="Best arm")
    assert [line.get_label() for line in ax.lines] == list(probs)
    assert [to_rgba(line.get_color()) for line in ax.lines] == [to_rgba(c) for c in TAB10[:3]]
    assert list(ax.lines[1].get_ydata()) == probs["SBRT"]
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_xlabel().startswith("Toxicity weight (months")
    saves(ax, tmp_path)


def test_probability_best_errors():
    w = [0.0, 1.0]
    with pytest.raises(ValueError, match=r"probabilities\['B'\] has 3 values but weights has 2"):
        plot_probability_best(w, {"A": [0.5, 0.5], "B": [0.5, 0.5, 0.0]})
    with pytest.raises(ValueError, match=r"weights\[1\] = 1.0 add up to 0.9"):
        plot_probability_best(w, {"A": [0.5, 0.4], "B": [0.5, 0.5]})
    with pytest.raises(ValueError, match=r"probabilities\['A'\]\[0\] = 1.5"):
        plot_probability_best(w, {"A": [1.5, 0.5], "B": [-0.5, 0.5]})
    with pytest.raises(ValueError, match="probabilities is empty"):
        plot_probability_best(w, {})
    with pytest.raises(ValueError, match="weights = .*strictly increasing"):
        plot_probability_best([1.0, 0.0], {"A": [1.0, 1.0]})
    with pytest.raises(ValueError, match=r"probabilities\['A'\]\[1\] = nan"):
        plot_probability_best(w, {"A": [1.0, np.nan]})


# ============================================================================ failure patterns
def ff_entry(none, in_field, oof, wide):
    return {"first_failure": {"none": none, "in_field": in_field, "marginal_regional": 0.0, "out_of_field_new": oof, "out_of_field_regrowth": 0.0, "widespread": wide}}


def test_failure_patterns_stacked_to_100(sim_arm, tmp_path):
    from oligosim.analysis.summary import summarize_arm

    arms = {"Chemo alone": ff_entry(0.2, 0.3, 0.1, 0.4), "Consolidative": summarize_arm(sim_arm)}
    ax = plot_failure_patterns(arms, title="First failure")
    assert len(ax.containers) == len(codes.FAILURE_NAMES)
    heights = np.array([[p.get_height() for p in c.patches] for c in ax.containers])
    assert heights.sum(axis=0) == pytest.approx([100.0, 100.0])
    assert heights[:, 0] == pytest.approx([20.0, 30.0, 0.0, 10.0, 0.0, 40.0])
    # stacked: each segment starts where the previous ended
    assert ax.containers[2].patches[0].get_y() == pytest.approx(50.0)
    assert legend_texts(ax) == ["Widespread", "Out-of-field, regrowth", "Out-of-field, new lesions", "Marginal / regional", "In-field", "No progression"]
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == list(arms)
    saves(ax, tmp_path)


def test_failure_patterns_errors():
    with pytest.raises(ValueError, match="arms is empty"):
        plot_failure_patterns({})
    with pytest.raises(ValueError, match=r"arms\['A'\] has no 'first_failure'"):
        plot_failure_patterns({"A": {}})
    with pytest.raises(ValueError, match=r"arms\['A'\]\['first_failure'\] shares add up to 0.8.*must sum to 1"):
        plot_failure_patterns({"A": ff_entry(0.2, 0.3, 0.1, 0.2)})
    with pytest.raises(ValueError, match=r"arms\['A'\]\['first_failure'\]\['none'\] = -0.1"):
        plot_failure_patterns({"A": ff_entry(-0.1, 0.3, 0.4, 0.4)})
    entry = ff_entry(0.2, 0.3, 0.1, 0.4)
    entry["first_failure"]["regional"] = 0.0
    with pytest.raises(ValueError, match=r"arms\['A'\]\['first_failure'\] has keys .*must be exactly"):
        plot_failure_patterns({"A": entry})
    with pytest.raises(ValueError, match="arms has 11 entries"):
        plot_failure_patterns({str(i): ff_entry(1, 0, 0, 0) for i in range(11)})


# ============================================================================ toxicity
def tox_entry(n, **rates):
    tox = {k: 0.0 for k in (*codes.TOX_NAMES, "any")}
    tox.update(rates)
    return {"patients": n, "toxicity_grade3plus": tox}


TOX_ARMS = {
    "Chemo": tox_entry(200, neutropenia=0.25, fatigue=0.05, any=0.28),
    "Chemo + SBRT": tox_entry(150, neutropenia=0.24, esophagitis=0.06, esophageal_fistula=0.02, any=0.30),
}


def test_toxicity_grouped_with_wilson_intervals(tmp_path):
    ax = plot_toxicity(TOX_ARMS, title="Toxicity")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Neutropenia", "Esophagitis", "Esophageal fistula", "Fatigue", "Any"]
    assert len(bars(ax)) == 2
    for container, (label, entry) in zip(bars(ax), TOX_ARMS.items()):
        rates = np.array([entry["toxicity_grade3plus"][k] for k in ("neutropenia", "esophagitis", "esophageal_fistula", "fatigue", "any")])
        assert [p.get_height() for p in container.patches] == pytest.approx(100 * rates)
        n = entry["patients"]
        lo, hi = proportion_ci(np.round(rates * n).astype(int), n)
        segs = container.errorbar.lines[2][0].get_segments()
        assert [s[0][1] for s in segs] == pytest.approx(100 * lo)
        assert [s[1][1] for s in segs] == pytest.approx(100 * hi)
    assert [to_rgba(c.patches[0].get_facecolor()) for c in bars(ax)] == [to_rgba(c) for c in TAB10[:2]]
    assert legend_texts(ax) == ["Chemo (n = 200)", "Chemo + SBRT (n = 150)"]
    saves(ax, tmp_path)


def test_toxicity_selected_types_in_order():
    ax = plot_toxicity(TOX_ARMS, types=["any", "pneumonitis"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Any", "Pneumonitis"]
    assert [p.get_height() for p in bars(ax)[1].patches] == pytest.approx([30.0, 0.0])


def test_toxicity_errors():
    with pytest.raises(ValueError, match=r"types has unknown \['rash'\]"):
        plot_toxicity(TOX_ARMS, types=["rash"])
    with pytest.raises(ValueError, match="types = .*only once"):
        plot_toxicity(TOX_ARMS, types=["any", "any"])
    with pytest.raises(ValueError, match="types = "):
        plot_toxicity(TOX_ARMS, types=[])
    with pytest.raises(ValueError, match=r"arms\['A'\]\['patients'\] = 0"):
        plot_toxicity({"A": tox_entry(0, any=0.0)})
    with pytest.raises(ValueError, match=r"arms\['A'\]\['toxicity_grade3plus'\]\['fatigue'\] = 1.2"):
        plot_toxicity({"A": tox_entry(10, fatigue=1.2, any=1.0)})
    entry = tox_entry(10)
    del entry["toxicity_grade3plus"]["any"]
    with pytest.raises(ValueError, match=r"arms\['A'\]\['toxicity_grade3plus'\] lacks any"):
        plot_toxicity({"A": entry})
    with pytest.raises(ValueError, match=r"arms\['A'\] has no 'toxicity_grade3plus'"):
        plot_toxicity({"A": {"patients": 10}})


# ============================================================================ power
POWER = {
    "HR 0.7": {"n_per_arm": [50, 100, 200], "power": [0.3, 0.55, 0.85], "power_ci95": [[0.25, 0.5, 0.8], [0.35, 0.6, 0.9]]},
    "HR 0.8": {"n_per_arm": [50, 100, 200, 400], "power": [0.15, 0.3, 0.5, 0.8], "power_ci95": [[0.1, 0.25, 0.45, 0.75], [0.2, 0.35, 0.55, 0.85]]},
}


def test_power(tmp_path):
    ax = plot_power(POWER, target=0.9, title="Power")
    curves = [line for line in ax.lines if line.get_label() in POWER]
    assert [line.get_label() for line in curves] == list(POWER)
    assert list(curves[1].get_xdata()) == [50, 100, 200, 400]
    assert len(ax.collections) == 2  # one CI band per curve
    target = [line for line in ax.lines if line.get_label() == "Target (90%)"]
    assert len(target) == 1 and list(target[0].get_ydata()) == [0.9, 0.9]
    assert ax.get_xlabel() == "Patients per arm"
    saves(ax, tmp_path)


def test_power_errors():
    c = POWER["HR 0.7"]
    with pytest.raises(ValueError, match=r"curves\['x'\]\['power'\] has 2 values but curves\['x'\]\['n_per_arm'\] has 3"):
        plot_power({"x": dict(c, power=[0.1, 0.2])})
    with pytest.raises(ValueError, match=r"power\[2\] = 0.95 is outside power_ci95"):
        plot_power({"x": dict(c, power=[0.3, 0.55, 0.95])})
    with pytest.raises(ValueError, match="target = 1.5"):
        plot_power(POWER, target=1.5)
    with pytest.raises(ValueError, match=r"n_per_arm'\] = .*strictly increasing"):
        plot_power({"x": dict(c, n_per_arm=[50, 50, 200])})
    with pytest.raises(ValueError, match=r"curves\['x'\] lacks power_ci95"):
        plot_power({"x": {"n_per_arm": [1], "power": [0.5]}})


# ============================================================================ two-way
def test_twoway_contour_when_crossing(tmp_path):
    x = np.linspace(0.0, 1.0, 6)
    y = np.linspace(10.0, 20.0, 5)
    z = x[None, :] - 0.5 + 0.01 * (y[:, None] - 15.0)
    ax = plot_twoway(x, y, z, xlabel="a (Gy)", ylabel="b (months)", zlabel="Δ RMST (months)", title="Two-way")
    mesh = ax.collections[0]
    assert isinstance(mesh.norm, TwoSlopeNorm) and mesh.norm.vcenter == 0.0
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 1 and list(contours[0].levels) == [0.0]
    assert len(ax.figure.axes) == 2  # plus the colour bar
    assert ax.figure.axes[1].get_ylabel() == "Δ RMST (months)"
    saves(ax, tmp_path)


def test_twoway_no_contour_when_not_crossing():
    x, y = [1.0, 2.0, 3.0], [0.0, 1.0]
    z = [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    ax = plot_twoway(x, y, z, xlabel="x", ylabel="y", zlabel="z", threshold=0.0)
    assert not [c for c in ax.collections if isinstance(c, ContourSet)]
    assert not isinstance(ax.collections[0].norm, TwoSlopeNorm)
    # a threshold inside the range: with 2 values of y, no contour (a straight-line guess) but a note
    ax = plot_twoway(x, y, z, xlabel="x", ylabel="y", zlabel="z", threshold=2.5)
    assert not [c for c in ax.collections if isinstance(c, ContourSet)]
    assert any("fewer than 3 values" in t.get_text() for t in ax.texts)
    # with 3 x 3 values the contour is drawn, and no note
    z3 = [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 5.0]]
    ax = plot_twoway(x, [0.0, 1.0, 2.0], z3, xlabel="x", ylabel="y", zlabel="z", threshold=2.5)
    assert len([c for c in ax.collections if isinstance(c, ContourSet)]) == 1
    assert not any("fewer than 3 values" in t.get_text() for t in ax.texts)


def test_twoway_errors():
    with pytest.raises(ValueError, match=r"z has shape \(3, 2\): must be \(len\(y\), len\(x\)\) = \(2, 3\)"):
        plot_twoway([1, 2, 3], [1, 2], np.zeros((3, 2)), xlabel="x", ylabel="y", zlabel="z")
    z = np.zeros((2, 3))
    z[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"z\[1, 2\] = nan"):
        plot_twoway([1, 2, 3], [1, 2], z, xlabel="x", ylabel="y", zlabel="z")
    with pytest.raises(ValueError, match="y = .*strictly increasing"):
        plot_twoway([1, 2, 3], [2, 1], np.zeros((2, 3)), xlabel="x", ylabel="y", zlabel="z")


# ============================================================================ threshold
def test_threshold_line_at_threshold_x(tmp_path):
    x = np.linspace(0.0, 4.0, 9)
    y = 1.0 - 0.5 * x
    ax = plot_threshold(x, y, y - 0.3, y + 0.3, threshold_x=2.0, xlabel="Dose (Gy)", ylabel="Δ RMST (months)", title="Sweep")
    assert list(ax.lines[0].get_ydata()) == pytest.approx(y)
    vertical = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(vertical) == 1 and list(vertical[0].get_xdata()) == [2.0, 2.0]
    assert "Threshold: 2" in legend_texts(ax)
    assert any(line.get_ydata()[0] == 0.0 and line.get_ydata()[1] == 0.0 for line in ax.lines)  # zero line
    assert len(ax.collections) == 1  # CI band
    saves(ax, tmp_path)
    ax = plot_threshold(x, y, y - 0.3, y + 0.3, threshold_x=None, xlabel="x", ylabel="y")
    assert not [line for line in ax.lines if line.get_linestyle() == "--"]


def test_threshold_errors():
    x = [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"threshold_x = 5.0: must lie within the swept range \[0.0, 2.0\]"):
        plot_threshold(x, x, x, x, threshold_x=5.0, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match=r"y_low\[1\] = 2.0 > y_high\[1\] = 1.0"):
        plot_threshold(x, x, [0.0, 2.0, 2.0], x, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="y_high has 2 values but x has 3"):
        plot_threshold(x, x, x, [0.0, 1.0], xlabel="x", ylabel="y")


# ============================================================================ distribution
def test_distribution(tmp_path):
    v = np.random.default_rng(1).lognormal(np.log(0.75), 0.15, 400)
    ax = plot_distribution(v, xlabel="Estimated hazard ratio", reference=0.75, title="HR")
    assert sum(p.get_height() for p in ax.patches) == 400
    xs = sorted(line.get_xdata()[0] for line in ax.lines)
    expected = sorted([np.median(v), *np.percentile(v, [2.5, 97.5]), 0.75])
    assert xs == pytest.approx(expected)
    assert any(t.startswith("Reference: 0.75") for t in legend_texts(ax))
    assert ax.get_xlabel() == "Estimated hazard ratio"
    saves(ax, tmp_path)
    ax = plot_distribution([1.0], xlabel="x")
    assert len(ax.lines) == 3


def test_distribution_errors():
    with pytest.raises(ValueError, match=r"values\[1\] = nan: must be finite"):
        plot_distribution([1.0, np.nan], xlabel="x")
    with pytest.raises(ValueError, match="values has 0 values"):
        plot_distribution([], xlabel="x")
    with pytest.raises(ValueError, match="reference = inf"):
        plot_distribution([1.0], xlabel="x", reference=np.inf)


# ============================================================================ conventions
def test_every_plot_draws_on_the_given_axes():
    calls = [
        lambda ax: plot_tornado(TORNADO_ROWS, base=2.0, ax=ax),
        lambda ax: plot_sensitivity_indices(SOBOL, ax=ax),
        lambda ax: plot_psa_scatter([1.0], [2.0], ax=ax, xlabel="x", ylabel="y"),
        lambda ax: plot_probability_best([0.0], {"A": [1.0]}, ax=ax),
        lambda ax: plot_failure_patterns({"A": ff_entry(1.0, 0.0, 0.0, 0.0)}, ax=ax),
        lambda ax: plot_toxicity(TOX_ARMS, ax=ax),
        lambda ax: plot_power(POWER, ax=ax),
        lambda ax: plot_twoway([0.0, 1.0], [0.0, 1.0], [[0.0, 1.0], [1.0, 2.0]], ax=ax, xlabel="x", ylabel="y", zlabel="z"),
        lambda ax: plot_threshold([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0], ax=ax, xlabel="x", ylabel="y"),
        lambda ax: plot_distribution([1.0, 2.0], ax=ax, xlabel="x"),
    ]
    for call in calls:
        ax = new_axes()
        assert call(ax) is ax
        assert ax.get_title() == ""  # no title unless asked for


def test_arm_colors_follow_tab10_order():
    assert arm_colors(["b", "a"]) == {"b": TAB10[0], "a": TAB10[1]}
    with pytest.raises(ValueError, match="arms has 11 entries"):
        arm_colors(range(11))

