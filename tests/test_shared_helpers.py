"""Helpers shared by several mechanisms, and the start-up cost of the command line.

* ``log_add`` (both engines) adds two volumes given as ln volumes, like ``numpy.logaddexp``;
* ``clear_slot`` (kernel) and ``Lesion.clear`` (reference) leave a lesion's history as a new
  lesion's;
* the counting rules of ``oligosim.definitions`` give the same answers with the kernel's scratch
  as without, whatever the scratch held before;
* ``import oligosim.cli`` and building its parser (what ``oligosim --help`` does) load neither
  numba nor scipy nor matplotlib: they come with the commands that use them.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oligosim import codes
from oligosim._kernels import hazards as kernel_hazards
from oligosim._kernels.cohort import clear_slot
from oligosim._kernels.state import new_lesions
from oligosim.definitions import count_metastases, is_oligo_eac, is_oligo_escc, is_oligometastatic, new_tally
from oligosim.reference import hazards as reference_hazards
from oligosim.reference.cohort import Lesion

ROOT = Path(__file__).resolve().parent.parent

_VALUES = [-math.inf, -745.0, -30.0, -1.5, 0.0, 1e-12, 0.7, 3.0, 40.0, 700.0]


@pytest.mark.parametrize("log_add", [kernel_hazards.log_add, reference_hazards.log_add], ids=["kernel", "reference"])
def test_log_add_is_numpy_logaddexp(log_add):
    for x in _VALUES:
        for y in _VALUES:
            if x == y == -math.inf:
                continue  # no volume plus no volume: not a case the engines meet
            want = np.logaddexp(x, y)
            got = log_add(x, y)
            assert got == pytest.approx(want, rel=1e-15, abs=1e-300), (x, y)
            assert log_add(y, x) == got  # symmetric, bit for bit


def test_log_add_is_the_same_function_in_both_engines():
    rng = np.random.default_rng(7)
    for x, y in rng.normal(0.0, 20.0, size=(200, 2)):
        assert kernel_hazards.log_add(x, y) == reference_hazards.log_add(x, y)


# the history fields a lesion slot shares with the reference's Lesion; treated_here and lc_record
# (reference) correspond to lc_slot (kernel)
_HISTORY = (
    "seen", "new_seen", "symptomatic", "irradiated", "chemo_exposed", "in_course", "with_primary",
    "site_eqd2", "site_time", "rt_pre_logv", "nadir_d", "exposed_at_start", "procedures", "to_procedure",
)


def test_clear_slot_and_lesion_clear_reset_the_same_history():
    lesions = new_lesions(8)
    L = lesions[0]
    for name in _HISTORY:
        L[name][3] = 1
    L["fail_time"][3] = 2.0
    L["lc_slot"][3] = 5
    L["logv"][3] = 1.25  # not history: stays
    clear_slot(L, 3)
    les = Lesion.__new__(Lesion)
    for name in _HISTORY + ("treated_here", "lc_record"):
        setattr(les, name, 1)
    les.logv = 1.25
    les.clear()
    for name in _HISTORY:
        assert L[name][3] == getattr(les, name) == 0, name
    assert L["fail_time"][3] == np.inf and L["lc_slot"][3] == -1
    assert les.treated_here is False and les.lc_record is None
    assert L["logv"][3] == les.logv == 1.25


def _random_disease(rng, n):
    organ = rng.integers(0, codes.N_ORGANS, size=n)
    subsite = np.array([rng.integers(0, codes.N_SUBSITES[o]) for o in organ], dtype=np.int64)
    return organ.astype(np.int64), subsite


def _kernel_scratch():
    """The kernel's scratch: views into a patient record (stations seen as uint8)."""
    from oligosim._kernels.state import STATE_DTYPE

    st = np.zeros(1, STATE_DTYPE)[0]
    return st["tally_system"], st["tally_side"], st["tally_station"]


@pytest.mark.parametrize("make", [new_tally, _kernel_scratch], ids=["new_tally", "patient_record"])
def test_the_counting_rules_give_the_same_answers_with_scratch(make):
    rng = np.random.default_rng(19)
    scratch = make()
    for arr in scratch:  # what a previous patient may have left
        arr[...] = 1
    for _ in range(400):
        n = int(rng.integers(0, 9))
        organ, subsite = _random_disease(rng, n)
        meta = bool(rng.integers(0, 2))
        assert count_metastases(organ, subsite, n, meta, scratch) == count_metastases(organ, subsite, n, meta)
        for fn in (is_oligo_escc, is_oligo_eac):
            assert fn(organ, subsite, n, meta, False, False, True, scratch) == fn(organ, subsite, n, meta, False, False, True)
        for h in (codes.ESCC, codes.EAC):
            assert is_oligometastatic(h, organ, subsite, n, meta, False, False, True, scratch) == is_oligometastatic(
                h, organ, subsite, n, meta, False, False, True
            )


# ``import oligosim`` itself loads numba's cache locators once after the kernel sources change
# (oligosim._numba_cache), so only what the command line adds after it is counted
_PROBE = """
import sys
import oligosim
before = set(sys.modules)
import oligosim.cli as cli
cli.build_parser()
heavy = ("numba", "scipy", "matplotlib", "lifelines", "SALib", "dask", "simpy", "pandas")
print(" ".join(m for m in heavy if m in sys.modules and m not in before))
"""


def test_the_command_line_starts_without_numba_scipy_or_matplotlib():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == [], f"`oligosim --help` imports {out.stdout.strip()}: import them where they are used"
