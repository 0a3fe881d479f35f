"""Per-patient tables of a run: ``patients.csv`` (outcomes, treatment, cohort) and ``events.csv``.

Coded columns are written by name (:mod:`oligosim.codes`).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from oligosim import codes
from oligosim.results import Results

PATIENT_COLUMNS = (
    ("os_months", "os", "{:.4f}"),
    ("os_event", "os_event", "{:d}"),
    ("pfs_months", "pfs", "{:.4f}"),
    ("pfs_event", "pfs_event", "{:d}"),
    ("wpfs_months", "wpfs", "{:.4f}"),
    ("wpfs_event", "wpfs_event", "{:d}"),
    ("death_cause", "death_cause", None),
    ("rt_courses", "rt_courses", "{:d}"),
    ("local_courses", "local_courses", "{:d}"),
    ("systemic_lines", "lines", "{:d}"),
    ("first_failure", "first_failure", None),
    ("estro_eortc_first_progression", "estro_first", None),
    ("histology", "histology", None),
    ("presentation", "presentation", None),
    ("age_years", "age", "{:.1f}"),
    ("dfi_months", "dfi", "{:.2f}"),
    ("kps", "kps", "{:d}"),
    ("pdl1_cps10", "pdl1_high", "{:d}"),
    ("visible_lesions_entry", "n_visible_entry", "{:d}"),
)
def _name(table, code):
    if code == codes.NOT_OLIGO:
        return "polymetastatic"
    if code < 0:
        return ""
    return table[code]


def write_patients_csv(path: Path, results: Results) -> None:
    """One row per arm and patient, with outcome, treatment and cohort columns."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["arm", "patient"] + [c[0] for c in PATIENT_COLUMNS] + [f"tox_{t}" for t in codes.TOX_NAMES])
        tables = {
            "death_cause": codes.DEATH_CAUSE_NAMES,
            "first_failure": codes.FAILURE_NAMES,
            "estro_first": codes.ESTRO_CLASS_NAMES,
            "histology": codes.HISTOLOGY_NAMES,
            "presentation": codes.PRESENTATION_NAMES,
        }
        for name, arm in results.arms.items():
            cols = [arm[c[1]] for c in PATIENT_COLUMNS]
            tox = arm.tox.astype(np.int8)
            for i in range(arm.n):
                row = [name, i]
                for (_, key, fmt), col in zip(PATIENT_COLUMNS, cols):
                    v = col[i]
                    if fmt is None:
                        row.append(_name(tables[key], int(v)))
                    else:
                        row.append(fmt.format(int(v) if "d" in fmt else float(v)))
                row.extend(int(x) for x in tox[i])
                w.writerow(row)


def write_events_csv(path: Path, results: Results) -> None:
    """The event log: arm, patient, time (months), event name, detail code."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["arm", "patient", "time_months", "event", "detail"])
        for name, arm in results.arms.items():
            kept = np.minimum(arm["ev_n"], arm.ev_time.shape[1])
            for i in range(arm.n):
                for k in range(kept[i]):
                    w.writerow([name, i, f"{arm.ev_time[i, k]:.4f}", codes.EVENT_NAMES[arm.ev_code[i, k]], int(arm.ev_detail[i, k])])
