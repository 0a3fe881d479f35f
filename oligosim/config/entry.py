"""The cohort keys of a later entry in the disease course (docs/model.md 3.8): the line the cohort
enters at, the class of the earlier line, and the earlier RT course as a mix of named courses with
a lognormal interval; merged into ``[cohort]`` by :mod:`oligosim.config.schema`, with the rules that
tie them to the arms."""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, _nonneg, _prob, _sdlog
from oligosim.config.nodes import Choice, Float, Int, Section, Table

#: the keys, in the order the parameter table shows them (after cohort.prior_rt_months)
ENTRY_KEYS = {
    "prior_rt_courses": Table(
        Section(
            {
                "eqd2_gy": _nonneg(0.0, "Gy", "EQD2 (alpha/beta 3) of this earlier course to the regional nodes (0: a share of the cohort had none)", "set per study: the earlier courses its methods section reports"),
                "share": _prob(0.0, "share of the cohort's non-synchronous patients who had this course", "set per study"),
            }
        ),
        doc=f"the earlier course as a discrete mix of named courses drawn per patient (model 3.8), instead of one prior_rt_eqd2_gy for all; "
        f"shares sum to 1; at most {codes.MAX_PRIOR_COURSES} courses",
    ),
    "prior_rt_months_sdlog": _sdlog(
        0.0, "sd of the log of the time from the earlier course to entry, drawn per patient around the median prior_rt_months (0: every patient prior_rt_months)",
        A + "set per study: re-irradiation series report the interval as a median and range",
    ),
    "entry_line": Int(
        1, lo=1, hi=2, unit="line",
        doc="the line of systemic therapy the cohort starts at entry (model 3.8): 1, untreated metastatic disease; 2, after progression on a first line "
        "(second-line studies): each arm's systemic therapy then starts with its second_line, later progressions go to its third_line, then best supportive care",
    ),
    "prior_systemic": Choice(
        ("chemotherapy", "chemo_immunotherapy"), "chemotherapy",
        doc="with entry_line >= 2: the class of the earlier line(s); after chemo_immunotherapy, anti-PD-1 regimens work less (prior_pd1_*)",
    ),
    "prior_pd1_kill_multiplier": Float(
        0.5, lo=0.0, hi=1.0, doc="after progression on anti-PD-1 (prior_systemic = chemo_immunotherapy): multiplier of the anti-PD-1 component of an "
        "immunotherapy regimen's log-kill rate (model 3.8)",
        source=A + "re-challenge with anti-PD-1 after progression on it gives few responses; half the component's effect, no trial fixes the value",
    ),
    "prior_pd1_durable_multiplier": Float(
        0.0, lo=0.0, hi=1.0, doc="after progression on anti-PD-1: multiplier of an immunotherapy regimen's durable_fraction (0: no durable response)",
        source=A + "durable responders to anti-PD-1 do not progress on it: a cohort selected by progression on chemo-immunotherapy has none",
    ),
}

LINE_KEYS = ("first_line", "second_line", "third_line")


def check_entry(data) -> list[tuple[str, str]]:
    """A later entry (model 3.8): the arms' lines before it cannot be given, its prior-therapy keys
    only mean something after a first line, and the earlier course is one dose or one mix."""
    co, errors = data["cohort"], []
    entry = int(co["entry_line"])
    if entry == 1 and co["prior_systemic"] != "chemotherapy":
        errors.append(("cohort.prior_systemic", f"{co['prior_systemic']!r} needs cohort.entry_line >= 2: a cohort entering at line 1 had no earlier systemic line"))
    for name, arm in data["arms"].items():
        for key in LINE_KEYS[: entry - 1]:
            if arm[key] != "none":
                errors.append((
                    f"arms.{name}.{key}",
                    f"{arm[key]!r} is given, but cohort.entry_line = {entry}: the cohort enters after that line, so the arm's systemic "
                    f"therapy starts with its {LINE_KEYS[entry - 1]}; set {key} = \"none\"",
                ))
    courses = co["prior_rt_courses"]
    if courses:
        if co["prior_rt_eqd2_gy"] > 0.0:
            errors.append(("cohort.prior_rt_eqd2_gy", f"{co['prior_rt_eqd2_gy']:g} is given with cohort.prior_rt_courses: give the earlier course as one dose or as a mix, not both"))
        if len(courses) > codes.MAX_PRIOR_COURSES:
            errors.append(("cohort.prior_rt_courses", f"{len(courses)} courses: at most {codes.MAX_PRIOR_COURSES}"))
        total = sum(float(c["share"]) for c in courses.values())
        if abs(total - 1.0) > 1e-6:
            errors.append(("cohort.prior_rt_courses", f"shares sum to {total:.6g}: must sum to 1 (a course with eqd2_gy = 0 stands for the patients who had none)"))
    return errors


def check_entry_given(co, given, path) -> list[tuple[str, str]]:
    """Keys a file gives that would go unused: the anti-PD-1 multipliers without a prior
    anti-PD-1 line, an interval spread without an earlier course."""
    errors = []
    after_pd1 = int(co["entry_line"]) >= 2 and co["prior_systemic"] == "chemo_immunotherapy"
    for key in ("prior_pd1_kill_multiplier", "prior_pd1_durable_multiplier"):
        if key in given and not after_pd1:
            errors.append((key, 'applies only after a line with anti-PD-1: needs cohort.entry_line = 2 and cohort.prior_systemic = "chemo_immunotherapy"'))
    if "prior_rt_months_sdlog" in given and co["prior_rt_months_sdlog"] > 0.0 and co["prior_rt_eqd2_gy"] == 0.0 and not co["prior_rt_courses"]:
        errors.append(("prior_rt_months_sdlog", "spreads the interval of an earlier course, but none is given: set cohort.prior_rt_eqd2_gy or cohort.prior_rt_courses"))
    return errors
