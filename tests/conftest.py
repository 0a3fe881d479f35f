"""Shared helpers for the engine tests: scenario builders on top of ``configs/base.toml``.

The engine tests never rely on the default values of ``oligosim/config/schema.py`` or on the study
scenarios (they are being tuned): every scenario states what the test depends on, written as
TOML on top of ``configs/base.toml`` (which only contributes regimens) or of one of the
fixtures in ``tests/data/scenarios/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oligosim import codes
from oligosim.config import load_scenario, loads_scenario
from oligosim.lowering import DAYS_PER_MONTH
from oligosim.simulate import run_scenario

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
BASE_TOML = CONFIGS / "base.toml"
SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"

#: every patient factor off (docs/model.md 3.9): no ECOG decline and no ECOG limit of later lines
#: or local therapy. The shipped defaults switch them on since the v2 fit (2026-12-08); tests of
#: other mechanisms, and of one factor at a time, start from this.
PATIENT_FACTORS_OFF = {
    "patient_factors.ecog_decline_at_progression": 0.0,
    "patient_factors.max_ecog_second_line": codes.ECOG_MAX,
    "patient_factors.max_ecog_third_line": codes.ECOG_MAX,
    "patient_factors.max_ecog_local": codes.ECOG_MAX,
}

#: ``EVENT_NAMES`` index of each event, by name
EV = {name: i for i, name in enumerate(codes.EVENT_NAMES)}
TERMINAL_EVENTS = (EV["death_disease"], EV["death_other"], EV["death_treatment"], EV["censored"])
DEATH_EVENTS = (EV["death_disease"], EV["death_other"], EV["death_treatment"])


def _toml_path(p: Path) -> str:
    # TOML basic strings: escape backslashes (Windows paths) and quotes
    return str(p).replace("\\", "\\\\").replace('"', '\\"')


def make_scenario(toml_text: str, *, base: str | Path = BASE_TOML, name: str = "test.toml"):
    """A Scenario from TOML text that ``extends`` ``base`` (an absolute path).

    ``toml_text`` must not contain its own ``extends`` line; everything else is allowed.
    """
    base = Path(base)
    if not base.is_absolute():
        base = SCENARIOS / base
    text = f'extends = "{_toml_path(base)}"\n' + toml_text
    return loads_scenario(text, name=name, base_dir=base.parent)


def load_fixture(name: str):
    """A scenario from ``tests/data/scenarios/<name>``."""
    return load_scenario(SCENARIOS / name)


def months_of_days(days: float) -> float:
    return days / DAYS_PER_MONTH


def event_log(arm, j: int) -> list[tuple[float, str, int]]:
    """Patient ``j``'s event log as (time, name, detail) tuples."""
    k = int(arm["ev_n"][j])
    assert k <= arm.ev_time.shape[1], "event log overflowed its buffer"
    return [
        (float(arm.ev_time[j, i]), codes.EVENT_NAMES[int(arm.ev_code[j, i])], int(arm.ev_detail[j, i]))
        for i in range(k)
    ]


def assert_arms_identical(a, b, *, rows=None, label=""):
    """Every per-patient array of two ArmResults is bit-identical (optionally on some rows)."""
    sel = slice(None) if rows is None else rows
    for c in a.columns:
        x, y = a[c][sel], b[c][sel]
        assert x.dtype == y.dtype, f"{label} column {c}: dtype {x.dtype} != {y.dtype}"
        # array_equal with equal_nan would hide a nan/number mismatch; compare bytes
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"{label} column {c} differs"
    for attr in ("tox", "lc_time", "lc_event", "lc_bed", "lc_volume", "ev_time", "ev_code", "ev_detail"):
        x, y = getattr(a, attr)[sel], getattr(b, attr)[sel]
        assert x.shape == y.shape, f"{label} {attr}: shape {x.shape} != {y.shape}"
        assert x.tobytes() == y.tobytes(), f"{label} {attr} differs"


# ----------------------------------------------------------------------------- quiet model
QUIET = SCENARIOS / "quiet.toml"


def quiet_scenario(extra: str, overrides: dict | None = None):
    """``tests/data/scenarios/quiet.toml`` plus ``extra`` TOML (arms, new sections), then
    ``overrides`` (dotted path -> value) applied with ``Scenario.with_values``."""
    sc = make_scenario(extra, base=QUIET)
    return sc.with_values(overrides) if overrides else sc


@pytest.fixture(scope="session")
def default_scenario():
    """The project's default scenario (its parameter values are not relied upon)."""
    return load_scenario(CONFIGS / "default.toml")


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """Compile the kernels (or load them from numba's on-disk cache) once, before the first test.

    The one-time cost then shows in one place in ``pytest --durations`` (this fixture's setup)
    instead of inside whichever test happens to run first.
    """
    sc = load_scenario(CONFIGS / "default.toml")
    run_scenario(sc, patients=8, seed=1, arms=[next(iter(sc.data["arms"]))], events=True)


def kernel_cohort_states(sc, n: int, seed: int, fields: tuple[str, ...]) -> np.ndarray:
    """The state fields ``fields`` of ``n`` eligible patients drawn by the kernel's cohort code
    alone (no course run), patient by patient from the run streams of ``seed``; shape (n, len(fields)),
    float. Each patient also yields its number of lesion slots as a last column."""
    from oligosim._kernels import cohort as C
    from oligosim._kernels import rng
    from oligosim._kernels.state import new_lesions, new_workspace
    from oligosim.lowering import lower_model
    from oligosim.results import EVENT_RECORDS, LC_RECORDS

    P = lower_model(sc)
    W = new_workspace(P.max_lesions, LC_RECORDS, EVENT_RECORDS)
    L = new_lesions(P.max_lesions)[0]
    out = np.zeros((n, len(fields) + 1))
    for pid in range(n):
        rng.init_streams(seed, pid, W.streams)
        k = C.draw_patient(P, W, L)
        assert k >= 0, f"patient {pid} never met eligibility"
        st = W.state[0]
        out[pid, :-1] = [st[f] for f in fields]
        out[pid, -1] = k
    return out
