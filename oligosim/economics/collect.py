"""Economics gathered chunk by chunk while an arm is simulated.

The driver hands each simulated chunk to :class:`ArmEconomics`, which costs it from the
chunk's event log and keeps only per-patient totals (about 76 bytes a patient), so memory is
bounded by the chunk, not by the run. The event log of the chunk lives in a private buffer
when the user did not ask for events. A log too short for a patient (more events than the
buffer holds) is never costed: the chunk is simulated again with a buffer twice as wide (the
same patients give the same events: streams are per patient), so results do not depend on
the buffer width either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oligosim.economics.accrue import N_CAT, RESULT_COLUMNS, accrue_chunk
from oligosim.economics.inputs import EconParams
from oligosim.results import EVENT_RECORDS


def _with_events(part, width: int):
    n = part.os.shape[0]
    return part._replace(ev_time=np.zeros((n, width)), ev_code=np.zeros((n, width), np.int8), ev_detail=np.zeros((n, width), np.int16))


@dataclass
class ArmEconomics:
    """Per-patient costs and effects of one arm.

    Attributes
    ----------
    params : EconParams
    columns : dict of str -> ndarray, shape (n,)
        :data:`~oligosim.economics.accrue.RESULT_COLUMNS` (costs in currency, QALYs and
        life-years in months).
    categories : ndarray of float32, shape (n, N_CAT)
        Discounted cost by category.
    """

    params: EconParams
    n: int
    width: int = EVENT_RECORDS
    columns: dict = field(default_factory=dict)
    categories: np.ndarray | None = None

    def __post_init__(self):
        self.columns = {c: np.zeros(self.n) for c in RESULT_COLUMNS}
        self.categories = np.zeros((self.n, N_CAT), np.float32)

    def prepare(self, part):
        """``part`` with an event log of at least the current width."""
        return part if part.ev_time.shape[1] >= self.width else _with_events(part, self.width)

    def add(self, lo: int, part, rerun) -> None:
        """Cost the simulated chunk ``part`` (patients ``lo`` to ``lo + len``); ``rerun(part)``
        simulates it again into a wider log when a patient's log was cut."""
        while part.ev_n.size and int(part.ev_n.max()) > part.ev_time.shape[1]:
            self.width = max(2 * self.width, int(part.ev_n.max()))
            part = _with_events(part, self.width)
            rerun(part)
        out, cats = accrue_chunk(part.ev_time, part.ev_code, part.ev_detail, part.ev_n, part.os, self.params)
        hi = lo + part.os.shape[0]
        for k, c in enumerate(RESULT_COLUMNS):
            self.columns[c][lo:hi] = out[k]
        self.categories[lo:hi] = cats


def attach_from_log(results) -> None:
    """Cost every arm of ``results`` from its full event log (the reference engine's path);
    the arms must have been run with ``events=True``."""
    from oligosim.economics.inputs import lower_economics

    for name, arm in results.arms.items():
        if arm.ev_time is None or arm.ev_time.shape[1] == 0:
            raise ValueError(f"arm {name}: the economics needs the event log (run with events)")
        ae = ArmEconomics(lower_economics(results.scenario, name), arm.n)
        ae.add(0, _Part(arm), _no_rerun)
        arm.economics = ae


def attach_from_log_if_enabled(results):
    """:func:`attach_from_log` when the run's scenario has economics on; returns ``results``."""
    from oligosim.economics.inputs import enabled

    if enabled(results.scenario):
        attach_from_log(results)
    return results


class _Part:
    def __init__(self, arm):
        self.ev_time, self.ev_code, self.ev_detail = arm.ev_time, arm.ev_code, arm.ev_detail
        self.ev_n, self.os = arm.columns["ev_n"], arm.columns["os"]


def _no_rerun(part):
    raise ValueError(f"a patient's event log was cut at {part.ev_time.shape[1]} events: its costs cannot be computed")
