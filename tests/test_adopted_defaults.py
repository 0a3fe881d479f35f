"""The shipped defaults are the calibration v2 point adopted on 2026-12-08 (docs/calibration/v2/
factors): every value its calibrated overlay gives, fitted, fixed or tied, is the default scenario's
value, except the lesion cap, which the fit held at 64 and the shipped model keeps at 32 (the
point meets 60 of 70 targets there against 59 at 64; docs/calibration/README.md)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from oligosim.config import load_scenario

ROOT = Path(__file__).resolve().parents[1]
OVERLAY = ROOT / "docs" / "calibration" / "v2" / "factors" / "calibrated.toml"
#: the one setting of the fit the shipped model does not take, with the value it ships
NOT_ADOPTED = {"simulation.max_lesions": 32}


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


FITTED = _flat(tomllib.loads(OVERLAY.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def default():
    return load_scenario(ROOT / "configs" / "default.toml")


@pytest.mark.parametrize("path", sorted(FITTED))
def test_every_value_of_the_fit_is_the_default(default, path):
    have = default.get(path)
    want = NOT_ADOPTED.get(path, FITTED[path])
    if isinstance(want, float):
        # the tied values are written to 6 significant figures in both files
        assert math.isclose(have, want, rel_tol=1e-9), (path, have, want)
    else:
        assert have == want, (path, have, want)


def test_the_overlay_is_the_whole_fit():
    """29 fitted values, 6 fixed settings (growing uncounted disease, diffuse disease, the cap, the
    three ECOG limits) and the 2 tied values (a change of the fit's files that drops one would
    otherwise pass unnoticed)."""
    text = OVERLAY.read_text(encoding="utf-8")
    assert len(FITTED) == 37
    assert sum(1 for line in text.splitlines() if line.rstrip().endswith("# fixed")) == 6
    assert sum(1 for line in text.splitlines() if "# tied:" in line) == 2
