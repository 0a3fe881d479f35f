"""The ``[patient_factors]`` section: performance status that changes over time and acts on
eligibility for each treatment and on other-cause mortality (docs/model.md 3.9).

Since 2026-12-08 the defaults are those of the v2 fit (docs/calibration/v2/factors): a fitted
chance of an ECOG decline at each progression, and the trials' limit of ECOG <= 1 for the second and
third lines and for local therapy. The first line and other-cause mortality keep "no effect" (every
ECOG eligible, hazard ratio 1); a scenario turns a factor off with 0 (decline) or 3 (a limit).
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, CAL2, _pos, _prob
from oligosim.config.nodes import Int, Section

#: second-line ESCC trials that enrolled ECOG 0-1 only (consensus-2025 refs. 10-13)
_SECOND_LINE_TRIALS = "ESCORT (Huang 2020), ATTRACTION-3 (Kato 2019), KEYNOTE-181 (Kojima 2020), RATIONALE-302 (Shen 2022) enrolled ECOG 0-1"
#: the share of patients given a second line after progression on a palliative first line
_MULLER = (
    "Muller 2021 (Ther Adv Med Oncol 13:17588359211039930; 166 advanced ESCC progressing on palliative first-line therapy): "
    "55% received a second line, 45% active symptom control alone, the latter with a worse ECOG"
)


def _max_ecog(what: str, source: str, default: int = codes.ECOG_MAX) -> Int:
    return Int(
        default, lo=0, hi=codes.ECOG_MAX, unit="ECOG",
        doc=f"{what} starts only if the patient's current ECOG is at most this ({codes.ECOG_MAX}: every patient); "
        "otherwise it is not given and an 'unfit' event records it",
        source=source,
    )


def _other_hr(level: int) -> object:
    return _pos(
        1.0, "", f"hazard ratio of other-cause (background) mortality at current ECOG {level}, relative to ECOG 0 (1: no effect)",
        A + "no source found that separates non-cancer mortality by performance status (head and neck series find it tied to "
        "age and comorbidity, which the Gompertz age term already carries); off by default, a switch for sensitivity analyses",
        hi=100.0,
    )


PATIENT_FACTORS = Section(
    {
        "ecog_decline_at_progression": _prob(
            0.379014,
            "probability that the patient's ECOG worsens by one level at each progression (at most ECOG 3; 0: ECOG stays the entry value)",
            CAL2 + ", prior uniform 0-0.68; 0, off, before 2026-12-08); the prior's top, 0.68 with max_ecog_second_line = 1, "
            "reads all of the untreated share as performance status: 0.03 + 0.62 x 0.68 = 0.45 of patients "
            "(entry ECOG 2, plus ECOG 1 patients who decline) are unfit at the first progression; the fit gives about 0.26; " + _MULLER,
        ),
        "max_ecog_first_line": _max_ecog("the first systemic line", "first-line ESCC trials (ESCORT-1st, KEYNOTE-590) enrolled ECOG 0-1; default: no limit (off)"),
        "max_ecog_second_line": _max_ecog("the second systemic line", _SECOND_LINE_TRIALS + "; 1 since 2026-12-08, as the v2 fit fixed it (3, no limit, before)", 1),
        "max_ecog_third_line": _max_ecog("the third systemic line", "as max_ecog_second_line", 1),
        "max_ecog_local": _max_ecog(
            "a local therapy course with curative or consolidative intent (the initial plan's RT, surgery or ablation, "
            "consolidative RT, local therapy at an oligoprogression; not the urgent palliative course of statement 6)",
            "consensus statement 10 (assess performance status before local therapy); SABR-COMET (Palma 2019, consensus ref. 2) "
            "enrolled ECOG 0-1; 1 since 2026-12-08, as the v2 fit fixed it (3, no limit, before)",
            1,
        ),
        "other_cause_hr_ecog1": _other_hr(1),
        "other_cause_hr_ecog2": _other_hr(2),
        "other_cause_hr_ecog3": _other_hr(3),
    },
    doc="patient factors that change over time and act (model 3.9): ECOG decline at progression, ECOG limits of each "
    "treatment, other-cause mortality by current ECOG",
)

__all__ = ["PATIENT_FACTORS"]
