"""Acquired resistance lesion by lesion, in the reference engine (model 5.3).

With a regimen's ``resistance_sdlog_between_lesions`` above 0, a patient with acquired
resistance loses the line's kill lesion by lesion: lesion ``i`` resists at
``t_0 + (t_pat - t_0) exp(sigma z_i)`` (``t_0`` the line's start, ``t_pat`` the patient's
resistance time, ``z_i`` a standard normal of the LESION_RESISTANCE stream, drawn at the line's
start for each active lesion in slot order and at creation for a lesion made during the line).
The aggregate beyond the cap and the diffuse compartment resist at ``t_pat``. The resistance
appointment holds the next time; when nothing sensitive is left and ``t_pat`` has passed the
patient has resisted (``resisted``, one EV_RESISTANCE) and later lesions resist from the start.
The same rules as :mod:`oligosim._kernels.lesres`, written on the Patient's objects.
"""

from __future__ import annotations

import math

from oligosim import codes
from oligosim.reference.cohort import ACTIVE
from oligosim.reference.streams import NORMAL

__all__ = ["kill_of", "diffuse_kill", "on_line_start", "on_new", "aggregate_start", "on_resistance", "next_time"]

INF = math.inf


def kill_of(les, kill: float) -> float:
    """Kill rate (1/month) acting on lesion ``les`` when ``kill`` is in force (0 once it resists)."""
    return 0.0 if les.resistant else kill


def diffuse_kill(patient) -> float:
    """Kill rate (1/month) acting on the diffuse compartment: 0 from the patient's time on
    (at the patient's state time ``t_state``, the start of the interval being integrated)."""
    return 0.0 if patient.t_state >= patient.lres_tpat else patient.kill


def _lesion_time(patient) -> float:
    """A lesion's resistance time (months) on the line in force, from a new normal draw."""
    z = NORMAL.inv_cdf(patient.s_lres.uniform())
    sigma = float(patient.R.resistance_sdlog_lesions[patient.reg])
    return patient.lres_t0 + (patient.lres_tpat - patient.lres_t0) * math.exp(sigma * z)


def next_time(patient) -> float:
    """The earliest sensitive active lesion's time, or the patient's while ahead; inf if none."""
    now = patient.env.now
    t = patient.lres_tpat if now < patient.lres_tpat else INF
    for les in patient.lesions:
        if les is not None and les.status == ACTIVE and not les.resistant and les.resist_at < t:
            t = les.resist_at
    return t


def on_line_start(patient, reg: int, t_res: float) -> float:
    """A line with regimen ``reg`` starts now with the patient's resistance time ``t_res`` (inf:
    none). Clears the flags; with a spread above 0 and finite ``t_res``, draws each active
    lesion's time. Returns the time to book the resistance appointment at."""
    patient.lres_tpat = INF
    for les in patient.lesions:
        if les is not None:
            les.resistant = False
            les.resist_at = INF
    if t_res == INF or float(patient.R.resistance_sdlog_lesions[reg]) <= 0.0:
        return t_res
    now = patient.env.now
    patient.lres_t0 = now
    patient.lres_tpat = t_res
    a = patient.P.max_lesions
    for i, les in enumerate(patient.lesions):
        if les is None or les.status != ACTIVE:
            continue
        les.resist_at = t_res if i == a else _lesion_time(patient)
        les.resistant = les.resist_at <= now
    return next_time(patient)


def on_new(patient, les) -> None:
    """Lesion ``les`` was just made: resistant at once if the patient has resisted or its drawn
    time has passed, else the appointment moves to its time if that is the next."""
    les.resistant = False
    les.resist_at = INF
    if patient.lres_tpat == INF:
        return
    if patient.resisted:
        les.resistant = True
        return
    les.resist_at = _lesion_time(patient)
    if les.resist_at <= patient.env.now:
        les.resistant = True
    elif les.resist_at < patient.resistance.at:
        patient.resistance.book(les.resist_at)


def aggregate_start(patient, les) -> None:
    """The aggregate beyond the cap starts now: it resists at the patient's time."""
    les.resist_at = patient.lres_tpat
    les.resistant = patient.env.now >= patient.lres_tpat


def on_resistance(patient) -> None:
    """The appointment fired: lesions whose time has come resist; the next is booked, or the
    patient has resisted."""
    now = patient.env.now
    for les in patient.lesions:
        if les is not None and les.status == ACTIVE and not les.resistant and les.resist_at <= now:
            les.resistant = True
    t = next_time(patient)
    if t < INF:
        patient.resistance.book(t)
        return
    patient.record(codes.EV_RESISTANCE, patient.reg)
    patient.resisted = True
    patient.kill = 0.0
