"""Integer codes of the result arrays in words, for the tables of :class:`oligosim.api.Result`
(``patients()``, ``events()``): categorical names and what each event's ``detail`` means."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from oligosim import codes

if TYPE_CHECKING:
    import pandas as pd


#: names of an RT course's plan, by the kernel's ``rt.PLAN_*`` code (the ``detail`` of rt_start
#: and rt_end events; a test keeps the two in step)
RT_COURSE_NAMES = ("initial", "urgent", "progression")
#: the ``detail`` of a scan event (codes.SCAN_SCHEDULED, codes.SCAN_SYMPTOM)
_SCAN_NAMES = {codes.SCAN_SCHEDULED: "scheduled", codes.SCAN_SYMPTOM: "symptom"}
_REGIMEN_EVENTS = (codes.EV_LINE_START, codes.EV_INDUCTION_END, codes.EV_MAINTENANCE_END, codes.EV_RESISTANCE, codes.EV_LINE_STOP)
_LESION_EVENTS = (codes.EV_NEW_LESION, codes.EV_SYMPTOM, codes.EV_LOCAL_FAILURE, codes.EV_ALT_LOCAL, *codes.PROCEDURE_EVENTS)
#: the ``detail`` of a treatment death (codes.TREATMENT_DEATH_*): only a procedure's is named, so
#: that the other treatment deaths read as before
_TREATMENT_DEATH_NAMES = ("", "procedure")


def detail_names(code: np.ndarray, detail: np.ndarray, regimens: list[str]) -> np.ndarray:
    """What each event's integer ``detail`` means, in words: the toxicity, regimen, RT course
    plan, scan kind or progression kind; ``lesion <i>`` for lesion events, ``<n> lesions`` at
    entry; empty where the detail carries nothing."""
    code = np.asarray(code, dtype=np.int64)
    detail = np.asarray(detail, dtype=np.int64)
    out = np.full(code.shape, "", dtype=object)

    def put(mask, names):
        names = np.asarray(list(names), dtype=object)
        d = detail[mask]
        ok = (d >= 0) & (d < names.size)
        out[mask] = np.where(ok, names[np.clip(d, 0, names.size - 1)], d.astype(str).astype(object))

    put(code == codes.EV_TOXICITY, codes.TOX_NAMES)
    put(code == codes.EV_PROCEDURE_COMPLICATION, codes.LOCAL_NAMES)
    put(code == codes.EV_DIFFUSE, codes.DIFFUSE_EVENT_NAMES)
    put(code == codes.EV_DEATH_TREATMENT, _TREATMENT_DEATH_NAMES)
    put(code == codes.EV_UNFIT, codes.UNFIT_NAMES)
    decline = code == codes.EV_ECOG_DECLINE
    out[decline] = np.char.add("ECOG ", detail[decline].astype(str)).astype(object)
    put(np.isin(code, _REGIMEN_EVENTS), regimens)
    put(np.isin(code, (codes.EV_RT_START, codes.EV_RT_END)), RT_COURSE_NAMES)
    scan = code == codes.EV_SCAN
    out[scan] = [_SCAN_NAMES.get(d, str(d)) for d in detail[scan].tolist()]
    prog = code == codes.EV_PROGRESSION
    out[prog] = np.where(detail[prog] == 1, "oligometastatic", "polymetastatic")
    lesion = np.isin(code, _LESION_EVENTS)
    out[lesion] = np.char.add("lesion ", detail[lesion].astype(str)).astype(object)
    entry = code == codes.EV_ENTRY
    out[entry] = np.char.add(detail[entry].astype(str), " lesions").astype(object)
    return out


def decode_codes(values: np.ndarray, names: tuple[str, ...]) -> pd.Categorical:
    """Integer codes -> a categorical of names; ``NOT_OLIGO`` -> "polymetastatic", other negative
    codes (no such event) -> missing."""
    import pandas as pd

    cats = list(names) + (["polymetastatic"] if names is codes.ESTRO_CLASS_NAMES else [])
    v = np.asarray(values, dtype=np.int64).copy()
    if names is codes.ESTRO_CLASS_NAMES:
        v[v == codes.NOT_OLIGO] = len(names)
    v[(v < 0) | (v >= len(cats))] = -1
    return pd.Categorical.from_codes(v, categories=cats)
