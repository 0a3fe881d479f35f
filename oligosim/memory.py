"""How much memory a run needs, and how much the machine has: checked before anything is allocated.

A run with too many patients would otherwise fail with numpy's ``ArrayMemoryError`` (and a
traceback) after minutes of work, or push the machine into swap. :func:`run_bytes` estimates the
peak from what :mod:`oligosim.simulate` allocates (the per-patient arrays of
:mod:`oligosim.results`) and what the summary needs on top; :func:`available_bytes` reads what
the operating system (and a container's memory limit) leaves free.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from oligosim import codes
from oligosim.results import COLUMNS, ENDPOINT_COLUMNS, EVENT_RECORDS, LC_RECORDS

__all__ = ["available_bytes", "format_bytes", "patient_bytes", "run_bytes"]

#: bytes of one local-control record: time and BED, volume (float64), the failure flag
_LC_RECORD = 8 + 8 + 8 + 1
#: bytes of one event record: time (float64), code (int8), detail (int16)
_EVENT_RECORD = 8 + 1 + 2
#: a recorded local-control record as kept by a summary-only run (lc_records: float64, bool, 2 x float32)
_LC_KEPT = 8 + 1 + 4 + 4
#: temporaries of the summary per patient and arm (Kaplan-Meier sorts and masks of an endpoint
#: column, the paired and restricted-mean statistics): measured with tracemalloc, rounded up
_SUMMARY_WORK = 100
#: the interpreter, numpy, numba and the compiled kernels before the first patient
_BASE = 300 * 2**20


def patient_bytes(keep: str, events: bool = False) -> int:
    """Bytes kept per patient and arm by :func:`oligosim.simulate.run_scenario`.

    ``keep="all"`` keeps every column of :data:`~oligosim.results.COLUMNS`, the toxicity flags and
    the local-control (and event) records; ``keep="summary"`` the endpoint columns and at most
    LC_RECORDS local-control records (the worst case: every record used).
    """
    if keep == "all" or events:
        row = sum(np.dtype(t).itemsize for t in COLUMNS.values()) + codes.N_TOX + LC_RECORDS * _LC_RECORD
        return row + (EVENT_RECORDS * _EVENT_RECORD if events else 0)
    return sum(np.dtype(COLUMNS[c]).itemsize for c in ENDPOINT_COLUMNS) + LC_RECORDS * _LC_KEPT


def call_patients(patients: int, arms: int, chunk: int) -> int:
    """Patients per kernel call of :func:`oligosim.simulate.run_scenario`: ``chunk`` patient-arms
    shared among the ``arms`` arms (every arm runs the call's patients), at least 1 and at most
    ``patients``."""
    return max(1, min(patients, chunk // arms))


#: bytes of the per-patient economics kept per patient and arm (6 float64 totals, 7 float32
#: cost categories: oligosim.economics.collect.ArmEconomics)
_ECONOMICS = 6 * 8 + 7 * 4


def run_bytes(patients: int, arms: int, *, keep: str = "summary", events: bool = False, chunk: int = 200_000, economics: bool = False) -> int:
    """Estimated peak memory (bytes) of a run of ``arms`` arms of ``patients`` patients each.

    The kept arrays of every arm, the chunk buffer a summary-only run reuses (``chunk``
    patient-arms), the summary's temporaries and the fixed cost of the interpreter and kernels;
    with ``economics``, the per-patient costs and QALYs and a chunk buffer with its event log in
    either mode (the driver caps the chunk at :data:`oligosim.simulate.ECONOMICS_CHUNK` then).
    """
    kept = patient_bytes(keep, events) * patients * arms
    econ = 0
    if economics:
        # the chunk's buffer (every column of every arm, and the event log) in either mode
        rows = arms * call_patients(patients, arms, min(chunk, 50_000))
        buffer = (patient_bytes("all") + EVENT_RECORDS * _EVENT_RECORD) * rows
        econ = _ECONOMICS * patients * arms
    else:
        buffer = 0 if (keep == "all" or events) else patient_bytes("all") * arms * call_patients(patients, arms, chunk)
    return int(_BASE + kept + buffer + econ + _SUMMARY_WORK * patients * arms)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> int | None:
    # a container's limit can be far below the host's free memory (cgroup v2)
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def available_bytes() -> int | None:
    """Memory available to this process now (bytes), or None when it cannot be told.

    ``MemAvailable`` of /proc/meminfo (Linux), bounded by a cgroup v2 limit; elsewhere psutil
    when installed (a dependency of ``distributed``), else the physical pages free.
    """
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    if found:
        return min(found)
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - any failure means "unknown", and the check is skipped
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes as e.g. ``7.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover
