"""The ``[regimens.<name>]`` tables of the scenario schema: a systemic regimen's schedule, its
efficacy (log-kill, acquired and primary resistance, durable responders; docs/model.md 5) and its
grade >= 3 toxicity, with the source of every default; and the labels of the evidence behind it
(the histologies and treatment lines it was studied in), which
:mod:`oligosim.config.regimen_labels` checks against the arms that give it."""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, _nonneg, _pos, _prob, _sdlog
from oligosim.config.nodes import Bool, Choice, Float, Int, ListOf, Maybe, Section, Str

#: the histologies a regimen can be labelled for (codes.HISTOLOGY_NAMES order)
HISTOLOGIES = ("escc", "eac")
#: the treatment lines an arm can give a regimen in (first_line, second_line, third_line)
LINES = (1, 2, 3)


def _check_regimen(r, path):
    """Durable responders and primary resistance split one uniform (model 5.3): at most 1; a
    label lists each histology and line once."""
    errors = []
    total = r["durable_fraction"] + r["primary_resistance_fraction"]
    if total > 1.0:
        errors.append(("primary_resistance_fraction", f"durable_fraction + primary_resistance_fraction = {total:g} must be at most 1: a patient cannot be both a durable responder and primarily resistant on one line"))
    for key in ("histology", "lines"):
        if len(set(r[key])) != len(r[key]):
            errors.append((key, "lists an item twice: each histology or line is named once"))
    errors.extend(_check_per_cycle(r, path))
    return errors


def _check_per_cycle(r, path):
    """A toxicity type is given per line or per cycle, not both (model 5.5): a type with a
    per-cycle probability must have its per-line probability at 0 (a merged file sets it to 0
    to switch a library regimen's type to per cycle)."""
    errors = []
    pairs = [(f"grade3plus.{t}", r["grade3plus"][t], f"grade3plus_per_cycle.{t}", r["grade3plus_per_cycle"][t]) for t in codes.SYSTEMIC_TOX_NAMES]
    pairs.append(("grade5", r["grade5"], "grade5_per_cycle", r["grade5_per_cycle"]))
    for line_key, line_p, cycle_key, cycle_p in pairs:
        if cycle_p is not None and line_p > 0.0:
            errors.append((line_key, f"a type is given per line or per cycle, not both: {path}.{cycle_key} = {cycle_p:g} is also given; set {path}.{line_key} = 0 to use the per-cycle probability (or remove {path}.{cycle_key})"))
    return errors


def _per_cycle(what):
    """An optional per-cycle probability of ``what`` (absent: the type is given per line)."""
    return Maybe(
        Float(
            0.0,
            lo=0.0,
            hi=1.0,
            hi_open=True,
            doc=f"probability of {what} in each cycle given (induction and maintenance cycles), instead of per line (model 5.5); absent: per line",
            source=A + "absent (per line) unless a regimen sets it; the per-cycle probability is the same in every cycle, a constant hazard (model 5.5)",
        ),
        doc=f"per-cycle probability of {what} (absent: per line)",
    )


REGIMEN = Section(
    {
        "label": Str("", doc="name shown in reports"),
        "histology": ListOf(
            Choice(HISTOLOGIES),
            min_len=1,
            default=list(HISTOLOGIES),
            doc="histologies the regimen's parameters come from (trial populations): an arm giving it to a population with none of them is an error, with some patients outside them a warning (model 5.7); default both (a regimen of your own is unlabelled)",
        ),
        "histology_required": Bool(
            False,
            doc="the regimen acts only on its labelled histology's biology (HER2-directed therapy: HER2 is an adenocarcinoma target): giving it to a population with none of its histologies is an error, not a warning (model 5.7)",
        ),
        "lines": ListOf(
            Int(lo=1, hi=3),
            min_len=1,
            default=list(LINES),
            doc="treatment lines (1 first, 2 second, 3 third) the regimen's parameters come from: an arm giving it in another line gets a warning (model 5.7); default all",
        ),
        "chemotherapy": Bool(True, doc="has a cytotoxic component (paused during RT, drives the chemo-before-RT effect)"),
        "immunotherapy": Bool(False, doc="has an anti-PD-1 component (long half-life: not paused during RT)"),
        "cycle_days": _pos(21.0, "days", "cycle length", "drug label of each regimen (configs/base.toml)"),
        "induction_cycles": Int(6, lo=1, hi=40, unit="cycles", doc="cycles of induction"),
        "maintenance_months": _nonneg(0.0, "months", "maintenance after induction (0 = none)", "trial protocol of each regimen (configs/base.toml)"),
        "kill_rate_per_month": _nonneg(0.6, "1/month", "log-kill rate of sensitive lesions during induction", A + "calibration parameter"),
        "maintenance_kill_rate_per_month": _nonneg(0.3, "1/month", "log-kill rate during maintenance", A + "maintenance is less intense than induction"),
        "resistance_median_months": _pos(4.0, "months", "median time to acquired resistance (lognormal)", A + "calibration parameter"),
        "resistance_sdlog": _sdlog(0.8, "sd of log time to resistance", A + "resistance times spread over several-fold between patients"),
        "durable_fraction": _prob(0.0, "share of patients who never become resistant", A + "long-term responders to anti-PD-1"),
        "primary_resistance_fraction": _prob(0.0, "share of patients whose disease does not respond to the line at all (primary resistance): the line kills nothing from its first day, whatever the burden (model 5.3); drawn afresh for every line", A + "off (0) until refit: first-line ESCC series leave 15-20% without disease control at the first assessment (model 5.3 gives the figures); a default above 0 moves every fitted PFS, so it waits for the refit of issue 20"),
        "resistance_sdlog_between_lesions": _sdlog(
            0.0,
            "sd of the log of each lesion's time to acquired resistance relative to the patient's (model 5.3): above 0, each lesion of a patient with acquired resistance resists on its own clock, t_i = t_start + (t_patient - t_start) exp(sd z_i), so a line can fail in a few lesions while it still controls the others; 0 = every lesion at once (patient-level resistance)",
            A + "off (0): no series reports the spread of resistance times between one patient's lesions; mixed responses and oligoprogression under systemic therapy show that it is not 0 (model 5.3); a sensitivity parameter",
        ),
        "pdl1_high_multiplier": _pos(1.0, "", "multiplier of the kill rate for PD-L1 CPS >= 10", A + "PD-L1-high tumours respond better to anti-PD-1 (statement 11); 1 = no effect"),
        "grade3plus": Section(
            {t: _prob(0.0, f"probability of grade >= 3 {t} during the line", A + "0 unless a regimen sets it; configs/base.toml names the trial behind each value") for t in codes.SYSTEMIC_TOX_NAMES},
        ),
        "grade5": _prob(0.005, "probability of a treatment death during the line", A + "0-1% in first-line trials"),
        "grade3plus_per_cycle": Section(
            {t: _per_cycle(f"grade >= 3 {t}") for t in codes.SYSTEMIC_TOX_NAMES},
            doc="per-cycle probabilities of grade >= 3 toxicity by type (model 5.5): a type given here must have grade3plus at 0",
        ),
        "grade5_per_cycle": _per_cycle("a treatment death"),
    },
    check=_check_regimen,
)
