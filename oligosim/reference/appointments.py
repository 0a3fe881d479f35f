"""Scheduled clinical events of the reference engine, and their same-time order.

Every scheduled clinical event (an RT course starting or ending, a toxicity, a scan, the end of
induction ...) is an :class:`Appointment`: a SimPy event pushed on the patient's environment
with an explicit *priority*. SimPy orders its queue by (time, priority, insertion sequence), so
events at the same time happen in the clinical order

    RT end < RT start < toxicity < scan < symptom scan < consolidation check
    < induction end < maintenance end < resistance < background death < horizon
    < progression death < widespread death < primary event < end of a procedure's systemic hold

which is the order of the kernel's event slots.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

if TYPE_CHECKING:  # only for annotations: the patient imports this module
    from oligosim.reference.patient import Patient

__all__ = [
    "P_RT_END", "P_RT_START", "P_TOX", "P_SCAN", "P_SYMPTOM_SCAN", "P_CONSOLIDATION",
    "P_INDUCTION_END", "P_MAINTENANCE_END", "P_RESISTANCE", "P_BACKGROUND_DEATH", "P_HORIZON",
    "P_PROGRESSION_DEATH", "P_WIDESPREAD_DEATH", "P_PRIMARY_EVENT", "P_PROC_RESUME", "P_CROSSING", "P_SYMPTOM", "Appointment",
]

INF = math.inf

# same-time priority of each kind of appointment (lower first); the kernel's slot order
P_RT_END, P_RT_START, P_TOX, P_SCAN, P_SYMPTOM_SCAN, P_CONSOLIDATION = 0, 1, 2, 3, 4, 5
P_INDUCTION_END, P_MAINTENANCE_END, P_RESISTANCE, P_BACKGROUND_DEATH, P_HORIZON = 6, 7, 8, 9, 10
P_PROGRESSION_DEATH, P_WIDESPREAD_DEATH, P_PRIMARY_EVENT = 11, 12, 13
P_PROC_RESUME = 14  # chemotherapy held after surgery or ablation resumes (model 6.10)
# a continuous-hazard crossing found up to and including the next appointment's time comes
# first; a symptom reached exactly at an appointment's time comes after it
P_CROSSING = -1
P_SYMPTOM = 15


class _Fire(simpy.events.Event):
    """A SimPy event scheduled ``delay`` from now with an explicit ``priority``.

    (:class:`simpy.Timeout` always uses the NORMAL priority; this is Timeout with a priority.)

    Parameters
    ----------
    env : simpy.Environment
        The patient's environment.
    delay : float
        Months from now (>= 0).
    priority : int
        Same-time order (lower first).
    """

    def __init__(self, env: simpy.Environment, delay: float, priority: int):
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)


class Appointment:
    """A cancellable, movable clinical appointment of one kind (e.g. "the next scan").

    SimPy cannot remove an event from its queue, so every (re)booking gets a new token and the
    firing event checks that it is still the current booking; stale events fire harmlessly.

    Parameters
    ----------
    patient : Patient
        Whose appointment; its :meth:`Patient.dispatch` runs ``handler`` when it fires.
    priority : int
        One of the ``P_*`` priorities.
    handler : callable
        Called with no argument when the appointment fires.
    """

    __slots__ = ("patient", "priority", "handler", "at", "token")

    def __init__(self, patient: Patient, priority: int, handler):
        self.patient = patient
        self.priority = priority
        self.handler = handler
        self.at = INF  # booked absolute time (months); inf: not booked
        self.token = 0

    @property
    def pending(self) -> bool:
        return self.at < INF

    def book(self, at: float) -> None:
        """Book (or move) the appointment to absolute time ``at`` (months; inf cancels)."""
        self.token += 1
        self.at = at
        if at < INF:
            env = self.patient.env
            ev = _Fire(env, at - env.now, self.priority)
            token = self.token
            ev.callbacks.append(lambda _ev: self.patient.dispatch(self, token))

    def cancel(self) -> None:
        self.book(INF)

    def postpone(self, months: float) -> None:
        """Move a pending appointment ``months`` later (nothing if not booked)."""
        if self.pending:
            self.book(self.at + months)
