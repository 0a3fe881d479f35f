"""The regimen library: published regimens of advanced esophageal cancer, each from its trial.

Every entry names its trial (first author, journal, year), the response figures used, the
shipped calibrated regimen it is scaled from (its anchor) and how the two are compared
(:mod:`oligosim.regimen_scaling` gives the rule); its schedule and grade >= 3 toxicity; and the
histologies and lines its figures come from. ``configs/regimens.toml`` (a base that extends
``base.toml``: ``extends = "regimens"``) is generated from these entries:

    python -m oligosim.regimen_library --write configs/regimens.toml

and a test checks that the file matches. The library is a separate base, not part of
``base.toml``, so that every existing scenario keeps its regimen codes (sorted names, which
the event log records) and its results bit for bit.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from oligosim.regimen_scaling import Figures, response_ratio, scale_efficacy

__all__ = ["ANCHOR_ARMS", "ANCHOR_KEYS", "ENTRIES", "Entry", "Trial", "entry_values", "library_table_markdown", "library_toml", "main"]



@dataclass(frozen=True)
class Trial:
    """One randomised comparison: the regimen's arm and its control, with the citation."""

    name: str
    citation: str
    arm: Figures
    control: Figures | None
    arm_label: str
    control_label: str = ""
    #: where the disease-control rates come from (a page, a table), shown beside them in the
    #: generated file and table
    dcr_source: str = ""


# ---------------------------------------------------------------------------- the anchors' trials
ESCORT_1ST = Trial(
    "ESCORT-1st",
    "Luo H et al., JAMA 2021;326:916-925",
    Figures(orr=0.721, dor_months=7.0),
    Figures(orr=0.621, dor_months=4.6),
    "camrelizumab + paclitaxel-cisplatin",
    "placebo + paclitaxel-cisplatin",
)
ESCORT = Trial(
    "ESCORT",
    "Huang J et al., Lancet Oncol 2020;21:832-842",
    Figures(orr=0.202, dor_months=7.4),
    Figures(orr=0.064, dor_months=3.4),
    "camrelizumab (second line)",
    "docetaxel or irinotecan",
)

# ---------------------------------------------------------------------------- trials used more than once
#: ToGA (xp_trastuzumab; a link of xp_trastuzumab_pembrolizumab's chain). DCR: "DCR (PR/CR/SD):
#: 70% vs. 79%" (chemotherapy vs chemotherapy + trastuzumab), read in a review's table of the trial
#: (scirp.org/html/htmltables\18-8901958Templetes\18-8901958_table_8.htm, beside "RR (PR/CR): 35% vs 47%",
#: the response rates used here); the Lancet paper itself was not read for it
TOGA = Trial(
    "ToGA",
    "Bang YJ et al., Lancet 2010;376:687-697",
    Figures(0.47, 6.9, dcr=0.79),
    Figures(0.35, 4.8, dcr=0.70),
    "trastuzumab + chemotherapy",
    "chemotherapy",
    "79% vs 70%, a review's table of the trial, https://scirp.org/html/htmltables\\18-8901958Templetes\\18-8901958_table_8.htm (the address as stored); not read in the paper",
)

#: the arm each anchor stands for, and its trial's control (None: compared directly). Neither
#: anchor trial's disease-control rates were found in the stored sources searched (2026-12-06):
#: their dcr is None, so no r_DCR that needs them exists and no library regimen's
#: primary-resistance share departs from its anchor's (model 5.7)
ANCHOR_ARMS: dict[str, tuple[Figures, Figures | None, str]] = {
    # the calibrated chemo-immunotherapy regimen is ESCORT-1st's experimental arm
    "tp_pd1": (ESCORT_1ST.arm, ESCORT_1ST.control, "ESCORT-1st camrelizumab arm vs its placebo arm"),
    # the calibrated chemotherapy backbone is ESCORT-1st's control arm; a same-trial contrast
    # against another chemotherapy control needs no anchor contrast (its own ratio is 1)
    "tp": (ESCORT_1ST.control, ESCORT_1ST.control, "ESCORT-1st placebo + TP arm"),
    # anti-PD-1 alone: the shipped regimen is camrelizumab 200 mg (its drug cost in base.toml),
    # whose second-line trial is ESCORT
    "pd1": (ESCORT.arm, None, "ESCORT camrelizumab arm (second line)"),
}


@dataclass(frozen=True)
class Entry:
    """One library regimen.

    Attributes
    ----------
    name, label : str
        Table name in ``[regimens.<name>]`` and the name shown in reports.
    anchor : str
        The shipped calibrated regimen it is scaled from (a key of :data:`ANCHOR_ARMS`).
    links : tuple of Trial
        The trials from the regimen to its anchor's class (their contrasts multiply).
    direct : bool
        Compare the first link's arm directly with the anchor's arm (no controls), for
        classes whose trials have no common control.
    histology, lines : tuple
        The labels (model 5.7).
    schedule : dict
        chemotherapy, immunotherapy, cycle_days, induction_cycles, maintenance_months.
    grade3plus : dict
        Per-line probability of each grade >= 3 toxicity type.
    grade5 : float or None
        None keeps the anchor's.
    histology_required : bool
        The regimen acts only on its histology's biology (HER2-directed therapy): an arm giving
        it to a population without that histology is an error (model 5.7).
    notes : str
        Where the schedule and toxicity come from.
    """

    name: str
    label: str
    anchor: str
    links: tuple[Trial, ...]
    histology: tuple[str, ...]
    lines: tuple[int, ...]
    schedule: dict
    grade3plus: dict
    notes: str
    direct: bool = False
    grade5: float | None = None
    histology_required: bool = False

    def ratios(self) -> dict[str, float | None]:
        """``r_ORR``, ``r_DoR`` and ``r_DCR`` (:func:`oligosim.regimen_scaling.response_ratio`)."""
        arm, control, _ = ANCHOR_ARMS[self.anchor]
        if self.direct:
            links, anchor = [(t.arm, None) for t in self.links], (arm, None)
        else:
            links, anchor = [(t.arm, t.control) for t in self.links], (arm, control)
        return {k: response_ratio(links, anchor, k) for k in ("orr", "dor_months", "dcr")}


# ---------------------------------------------------------------------------- toxicity backbones
#: grade >= 3 rates of the calibrated paclitaxel-cisplatin backbone (configs/base.toml tp_pd1)
TP_PD1_TOX = {"leukopenia": 0.35, "neutropenia": 0.40, "thrombocytopenia": 0.03, "pneumonitis": 0.04, "fatigue": 0.08, "nausea": 0.01, "vomiting": 0.01}
#: cisplatin/fluoropyrimidine backbone (configs/base.toml pf) and checkpoint-inhibitor pneumonitis as tp_pd1
PF_TOX = {"leukopenia": 0.25, "neutropenia": 0.25, "thrombocytopenia": 0.05, "fatigue": 0.04, "nausea": 0.05, "vomiting": 0.05}
PF_PD1_TOX = {**PF_TOX, "pneumonitis": 0.04}
#: anti-PD-1 alone (configs/base.toml pd1)
PD1_TOX = {"pneumonitis": 0.02, "fatigue": 0.02}

_CHEMO_IO_21 = {"chemotherapy": True, "immunotherapy": True, "cycle_days": 21, "induction_cycles": 6, "maintenance_months": 18.0}
_IO_ALONE = {"chemotherapy": False, "immunotherapy": True}
_CHEMO_ALONE = {"chemotherapy": True, "immunotherapy": False, "maintenance_months": 0.0}

_FIRST_LINE_IO_NOTE = (
    "schedule: platinum doublet for up to 6 cycles, then the antibody alone to about 2 years (the trial's protocol; "
    "maintenance shortened to the model's induction + maintenance); toxicity: the shipped backbone's calibrated "
    "grade >= 3 rates (adding anti-PD-1 changed grade >= 3 adverse events little: JUPITER-06 73.2% vs 70.0%, "
    "ESMO 2021 abstract 1373MO) and checkpoint-inhibitor pneumonitis as tp_pd1"
)

ENTRIES: tuple[Entry, ...] = (
    # ------------------------------------------------ first line, ESCC: chemotherapy + anti-PD-1
    Entry(
        "tp_toripalimab", "toripalimab + paclitaxel + cisplatin", "tp_pd1",
        (Trial("JUPITER-06", "Wang ZX et al., Cancer Cell 2022;40:277-288", Figures(0.693, 7.0), Figures(0.521, 4.5), "toripalimab + TP", "placebo + TP"),),
        ("escc",), (1,), dict(_CHEMO_IO_21), TP_PD1_TOX, _FIRST_LINE_IO_NOTE,
    ),
    Entry(
        "tp_sintilimab", "sintilimab + paclitaxel + cisplatin", "tp_pd1",
        # DCR: "Confirmed disease control (No (%; 95% CI)) 295 (90; 87 to 93) 280 (84; 80 to 89)", all
        # patients, sintilimab + chemotherapy (n=327) vs placebo + chemotherapy (n=332), investigator-assessed
        # RECIST 1.1 (the BMJ paper's Table 2, pmc.ncbi.nlm.nih.gov/articles/PMC9016493/table/tbl2)
        (Trial("ORIENT-15", "Lu Z et al., BMJ 2022;377:e068714", Figures(0.66, 9.7, dcr=295 / 327), Figures(0.45, 6.9, dcr=280 / 332), "sintilimab + chemotherapy", "placebo + chemotherapy", "confirmed disease control 295/327 vs 280/332, the paper's Table 2, pmc.ncbi.nlm.nih.gov/articles/PMC9016493/table/tbl2"),),
        ("escc",), (1,), dict(_CHEMO_IO_21), TP_PD1_TOX, _FIRST_LINE_IO_NOTE,
    ),
    Entry(
        "chemo_tislelizumab", "tislelizumab + platinum doublet", "tp_pd1",
        (Trial("RATIONALE-306", "Xu J et al., Lancet Oncol 2023;24:483-495", Figures(0.67, 7.1), Figures(0.42, 5.7), "tislelizumab + chemotherapy", "placebo + chemotherapy"),),
        ("escc",), (1,), dict(_CHEMO_IO_21), TP_PD1_TOX, _FIRST_LINE_IO_NOTE + " (the investigator's doublet was mostly paclitaxel-platinum)",
    ),
    Entry(
        "pf_pembrolizumab", "pembrolizumab + cisplatin + 5-fluorouracil", "tp_pd1",
        (Trial("KEYNOTE-590", "Sun JM et al., Lancet 2021;398:759-771", Figures(0.450, 8.3), Figures(0.293, 6.0), "pembrolizumab + CF", "placebo + CF"),),
        ("escc", "eac"), (1,), {**_CHEMO_IO_21, "maintenance_months": 20.0}, PF_PD1_TOX,
        "schedule: cisplatin for up to 6 three-weekly cycles, pembrolizumab for up to 35 cycles (about 24 months); "
        "toxicity: the shipped cisplatin/5-FU backbone (pf) and checkpoint-inhibitor pneumonitis as tp_pd1; "
        "KEYNOTE-590 enrolled ESCC (73%) and adenocarcinoma",
    ),
    Entry(
        "pf_nivolumab", "nivolumab + cisplatin + 5-fluorouracil", "tp_pd1",
        (Trial("CheckMate 648", "Doki Y et al., N Engl J Med 2022;386:449-462", Figures(0.47, 8.2), Figures(0.27, 7.1), "nivolumab + chemotherapy", "chemotherapy"),),
        ("escc",), (1,), {**_CHEMO_IO_21, "cycle_days": 28, "maintenance_months": 18.5}, PF_PD1_TOX,
        "schedule: four-weekly cisplatin/5-FU (6 cycles in the model: assumption), nivolumab for up to 2 years; "
        "toxicity: the shipped cisplatin/5-FU backbone (pf) and checkpoint-inhibitor pneumonitis as tp_pd1",
    ),
    # ------------------------------------------------ first line, adenocarcinoma
    Entry(
        "capox", "capecitabine + oxaliplatin", "tp", (), ("eac",), (1,),
        {**_CHEMO_ALONE, "cycle_days": 21, "induction_cycles": 8}, PF_TOX,
        "efficacy: the calibrated first-line platinum doublet (tp) unchanged, an assumption: no trial compares an "
        "oxaliplatin doublet with paclitaxel-cisplatin in esophageal cancer, and the doublets' response rates overlap "
        "across trials; schedule: 8 three-weekly cycles; toxicity: the shipped platinum-fluoropyrimidine backbone "
        "(pf), an assumption",
    ),
    Entry(
        "folfox", "5-fluorouracil + leucovorin + oxaliplatin", "tp", (), ("eac",), (1,),
        {**_CHEMO_ALONE, "cycle_days": 14, "induction_cycles": 12}, PF_TOX,
        "efficacy as capox (assumption); schedule: 12 two-weekly cycles; toxicity: pf's, an assumption",
    ),
    Entry(
        "sox", "S-1 + oxaliplatin (SOX)", "tp",
        (Trial("SOPP", "Lee KW et al., Gastric Cancer 2021;24:156-167", Figures(0.58, None), Figures(0.60, None), "S-1 + oxaliplatin", "S-1 + cisplatin (three-weekly)"),),
        ("eac",), (1,), {**_CHEMO_ALONE, "cycle_days": 21, "induction_cycles": 6},
        {"leukopenia": 0.056, "neutropenia": 0.195, "thrombocytopenia": 0.167, "fatigue": 0.04, "nausea": 0.074, "vomiting": 0.13},
        "efficacy: SOPP's same-trial contrast (objective response in patients with measurable disease; no response "
        "duration in the abstract, so the anchor's resistance median is kept) over the calibrated platinum doublet tp, "
        "taking S-1 + cisplatin as of tp's class (an assumption, as for ToGA's contrast in xp_trastuzumab); SOPP "
        "enrolled metastatic or recurrent gastric cancer, the gastroesophageal-junction adenocarcinoma the label "
        "stands for is an extrapolation; schedule: S-1 80 mg/m2/day on days 1-14 and oxaliplatin 130 mg/m2 on day 1 "
        "every 3 weeks (SOPP), 6 cycles in the model (assumption); toxicity: grade 3 neutropenia 19.5% with SOX in "
        "G-SOX (Yamada Y et al., Ann Oncol 2015;26:141-148); leukopenia 5.6%, thrombocytopenia 16.7% (grade 3 13.0% + "
        "grade 4 3.7%), nausea 7.4% and vomiting 13.0% from the adjuvant SOX phase II of Wang G et al., BMC Cancer "
        "2018;18:547 (the nearest reported per-type rates; SOPP reports thrombocytopenia, nausea and vomiting as more "
        "common with SOX without figures in its abstract); fatigue as pf (assumption)",
    ),
    Entry(
        "xp_trastuzumab", "trastuzumab + cisplatin + fluoropyrimidine (HER2-positive)", "tp",
        (TOGA,),
        ("eac",), (1,), {**_CHEMO_ALONE, "immunotherapy": False, "cycle_days": 21, "induction_cycles": 6}, PF_TOX,
        "schedule: 6 three-weekly cycles of cisplatin with capecitabine or 5-FU; trastuzumab after them is not "
        "modelled (the line ends with the induction, as tp); toxicity: the shipped cisplatin/5-FU backbone (pf); "
        "HER2 status is not a patient attribute: the population must be the HER2-positive one",
        histology_required=True,
    ),
    Entry(
        "xp_trastuzumab_pembrolizumab", "pembrolizumab + trastuzumab + chemotherapy (HER2-positive)", "tp_pd1",
        (
            Trial("KEYNOTE-811", "Janjigian YY et al., Nature 2021;600:727-730", Figures(0.744, 10.6), Figures(0.519, 9.5), "pembrolizumab + trastuzumab + chemotherapy", "placebo + trastuzumab + chemotherapy"),
            TOGA,
        ),
        ("eac",), (1,), dict(_CHEMO_IO_21), PF_PD1_TOX,
        "a chain: KEYNOTE-811's contrast (over trastuzumab + chemotherapy) times ToGA's (trastuzumab over "
        "chemotherapy), over ESCORT-1st's; schedule: 6 cycles of chemotherapy, then pembrolizumab and trastuzumab; "
        "toxicity: the cisplatin/fluoropyrimidine backbone (pf) and pneumonitis as tp_pd1",
        histology_required=True,
    ),
    # ------------------------------------------------ second line, ESCC: anti-PD-1 alone
    Entry(
        "nivolumab", "nivolumab (second line)", "pd1",
        (Trial("ATTRACTION-3", "Kato K et al., Lancet Oncol 2019;20:1506-1517", Figures(0.19, 6.9), Figures(0.22, 3.9), "nivolumab", "paclitaxel or docetaxel"),),
        ("escc",), (2,), {**_IO_ALONE, "cycle_days": 14, "induction_cycles": 12, "maintenance_months": 18.0}, PD1_TOX,
        "direct comparison with ESCORT's camrelizumab arm (the second-line trials' chemotherapy controls differ too "
        "much, 6-22% responses, for a common-control comparison); schedule: 240 mg every 2 weeks until progression; "
        "toxicity as the shipped anti-PD-1 (grade >= 3 treatment-related events 19.1% in ATTRACTION-3, most of "
        "types the model lacks)",
        direct=True,
    ),
    Entry(
        "pembrolizumab", "pembrolizumab (second line)", "pd1",
        (Trial("KEYNOTE-181", "Kojima T et al., J Clin Oncol 2020;38:4138-4148", Figures(0.131, 9.3), Figures(0.067, 7.7), "pembrolizumab", "paclitaxel, docetaxel or irinotecan"),),
        ("escc", "eac"), (2,), {**_IO_ALONE, "cycle_days": 21, "induction_cycles": 8, "maintenance_months": 18.0}, PD1_TOX,
        "direct comparison with ESCORT's camrelizumab arm (all randomised patients, ESCC and adenocarcinoma); "
        "schedule: 200 mg every 3 weeks up to 2 years; toxicity as the shipped anti-PD-1",
        direct=True,
    ),
    Entry(
        "tislelizumab", "tislelizumab (second line)", "pd1",
        (Trial("RATIONALE-302", "Shen L et al., J Clin Oncol 2022;40:3065-3076", Figures(0.203, 7.1), Figures(0.098, 4.0), "tislelizumab", "paclitaxel, docetaxel or irinotecan"),),
        ("escc",), (2,), {**_IO_ALONE, "cycle_days": 21, "induction_cycles": 8, "maintenance_months": 18.0}, PD1_TOX,
        "direct comparison with ESCORT's camrelizumab arm; schedule: 200 mg every 3 weeks; toxicity as the shipped anti-PD-1",
        direct=True,
    ),
    # ------------------------------------------------ second line, ESCC: chemotherapy alone
    Entry(
        "docetaxel", "docetaxel (second line)", "tp",
        (Trial("ATTRACTION-3", "Kato K et al., Lancet Oncol 2019;20:1506-1517", Figures(0.22, 3.9), None, "paclitaxel or docetaxel"),),
        ("escc",), (2,), {**_CHEMO_ALONE, "cycle_days": 21, "induction_cycles": 6},
        {"leukopenia": 0.35, "neutropenia": 0.40, "thrombocytopenia": 0.02, "fatigue": 0.05, "nausea": 0.01, "vomiting": 0.01},
        "direct comparison of ATTRACTION-3's taxane arm with ESCORT-1st's first-line TP arm (no trial compares them); "
        "schedule: 75 mg/m2 every 3 weeks, 6 cycles in the model (assumption); toxicity: the calibrated taxane "
        "cytopenias of tp and fewer other events (assumption; the taxane arm had 63.9% grade >= 3 treatment-related events)",
        direct=True,
    ),
    Entry(
        "paclitaxel", "weekly paclitaxel (second line)", "tp",
        (Trial("ATTRACTION-3", "Kato K et al., Lancet Oncol 2019;20:1506-1517", Figures(0.22, 3.9), None, "paclitaxel or docetaxel"),),
        ("escc",), (2,), {**_CHEMO_ALONE, "cycle_days": 7, "induction_cycles": 18},
        {"leukopenia": 0.30, "neutropenia": 0.30, "thrombocytopenia": 0.02, "fatigue": 0.05, "nausea": 0.01, "vomiting": 0.01},
        "efficacy as docetaxel (ATTRACTION-3 reports its taxane arm as one); schedule: 100 mg/m2 weekly, 6 of 7 "
        "weeks, 18 doses in the model; toxicity: weekly dosing with fewer cytopenias than three-weekly (assumption)",
        direct=True,
    ),
    Entry(
        "irinotecan", "irinotecan (second line)", "tp",
        (Trial("ESCORT", "Huang J et al., Lancet Oncol 2020;21:832-842", Figures(0.064, 3.4), None, "docetaxel or irinotecan"),),
        ("escc",), (2,), {**_CHEMO_ALONE, "cycle_days": 14, "induction_cycles": 8},
        {"leukopenia": 0.3574, "neutropenia": 0.2178, "thrombocytopenia": 0.1626, "fatigue": 0.05, "nausea": 0.04, "vomiting": 0.04},
        "direct comparison of ESCORT's chemotherapy arm (docetaxel or irinotecan, reported as one) with ESCORT-1st's "
        "TP arm; schedule: 180 mg/m2 every 2 weeks, 8 cycles in the model (assumption); toxicity: the calibrated "
        "irinotecan cytopenias of irinotecan_pd1 (Zhao 2023) without the antibody's pneumonitis",
        direct=True,
    ),
    Entry(
        "s1", "S-1 (second line)", "tp",
        (Trial("ESWN 01", "Huang J et al., Cancer Commun 2019;39:16", Figures(0.097, None), None, "S-1"),),
        ("escc",), (2,), {**_CHEMO_ALONE, "cycle_days": 21, "induction_cycles": 6},
        {"leukopenia": 0.0, "neutropenia": 0.016, "thrombocytopenia": 0.01, "fatigue": 0.02, "nausea": 0.0, "vomiting": 0.01},
        "direct comparison of ESWN 01's S-1 arm (ESCC after platinum or taxane chemotherapy; objective response 9.7%, "
        "no response duration in the abstract, so the anchor's resistance median is kept) with ESCORT-1st's TP arm, "
        "as the other second-line chemotherapy; schedule: S-1 80-120 mg/day on days 1-14 every 3 weeks (ESWN 01), 6 "
        "cycles in the model (assumption); toxicity: the S-1 arm's grade 3-4 leukopenia 0%, neutropenia 1.6% and "
        "nausea 0% (ESWN 01); thrombocytopenia, fatigue and vomiting are not in its abstract: small rates, assumptions",
        direct=True,
    ),
)


#: the anchor's keys a library regimen takes (scaled or as they are): every regimen key the
#: entry does not set itself, so a key added to the schema is carried, not left at its default
#: (a test checks that every key is written)
ANCHOR_KEYS = (
    "kill_rate_per_month",
    "maintenance_kill_rate_per_month",
    "resistance_median_months",
    "resistance_sdlog",
    "resistance_sdlog_between_lesions",
    "durable_fraction",
    "primary_resistance_fraction",
    "pdl1_high_multiplier",
    "grade5",
)


def _base_regimens() -> dict:
    from oligosim.shipped import folders

    with open(folders()["configs"] / "base.toml", "rb") as f:
        return tomllib.load(f)["regimens"]


def _schema_default(key: str):
    from oligosim.config.regimens import REGIMEN

    return REGIMEN.fields[key].default


def entry_values(entry: Entry, base: dict | None = None) -> dict:
    """The ``[regimens.<name>]`` values of a library entry (efficacy scaled from its anchor)."""
    base = _base_regimens() if base is None else base
    anchor = {k: base[entry.anchor].get(k, _schema_default(k)) for k in ANCHOR_KEYS}
    r = entry.ratios()
    eff = scale_efficacy(anchor, r["orr"], r["dor_months"], r["dcr"])
    out = {"label": entry.label, "histology": list(entry.histology), "lines": list(entry.lines)}
    if entry.histology_required:
        out["histology_required"] = True
    out.update(entry.schedule)
    out.update({k: round(v, 4) for k, v in eff.items()})
    out["resistance_sdlog"] = anchor["resistance_sdlog"]
    out["resistance_sdlog_between_lesions"] = anchor["resistance_sdlog_between_lesions"]
    out["pdl1_high_multiplier"] = anchor["pdl1_high_multiplier"]
    out["grade5"] = anchor["grade5"] if entry.grade5 is None else entry.grade5
    out["grade3plus"] = dict(entry.grade3plus)
    return out


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _dor(figures: Figures, prefix: str = "") -> str:
    return "DoR not reported" if figures.dor_months is None else f"{prefix}{figures.dor_months:g} mo"


def _ratio(r: float | None) -> str:
    return "1 (no DoR)" if r is None else f"{r:.4f}"


def _dcr(figures: Figures, prefix: str = "") -> str:
    return "" if figures.dcr is None else f", {prefix}DCR {figures.dcr:.1%}"


def _dcr_from(t: Trial) -> str:
    return f" (DCR: {t.dcr_source})" if t.dcr_source else ""


def _dcr_ratio(r: float | None) -> str:
    """r_DCR as the table shows it: absent (a rate missing on a side) or its value, with what it does."""
    if r is None:
        return "none (a DCR missing: anchor's share)"
    return f"{r:.4f}" + (" (>= 1: anchor's share)" if r >= 1.0 else "")


def _source_line(entry: Entry) -> str:
    r = entry.ratios()
    trials = "; ".join(
        f"{t.name} ({t.citation}): {t.arm_label} ORR {t.arm.orr:.1%}, {_dor(t.arm, 'DoR ')}{_dcr(t.arm)}"
        + (f" vs {t.control_label} {t.control.orr:.1%}, {_dor(t.control)}{_dcr(t.control)}" if t.control is not None else "")
        + _dcr_from(t)
        for t in entry.links
    )
    how = "direct" if entry.direct else "same-trial contrast over the anchor's"
    ratio = f"r_ORR {r['orr']:.4f}, r_DoR {_ratio(r['dor_months'])}, r_DCR {_dcr_ratio(r['dcr'])}"
    return f"{trials or 'no trial contrast (assumption)'}; anchor {entry.anchor} ({ANCHOR_ARMS[entry.anchor][2]}), {how}: {ratio}"


def library_toml(base: dict | None = None) -> str:
    """The text of ``configs/regimens.toml``."""
    lines = [
        "# GENERATED by `python -m oligosim.regimen_library --write configs/regimens.toml` from",
        "# oligosim/regimen_library.py; edit that file, not this one (a test checks they match).",
        "#",
        "# The regimen library: base.toml's six calibrated regimens plus published regimens of",
        "# advanced esophageal cancer. A scenario uses it with `extends = \"regimens\"`. Efficacy is",
        "# scaled from a calibrated anchor by the trials' relative response (docs/model.md 5.7), never",
        "# fitted to survival; each table's comment gives the trial and the figures used.",
        'extends = "base.toml"',
        "",
        "[scenario]",
        'name = "regimens"',
        'description = "base.toml and the regimen library (docs/model.md 5.7)"',
    ]
    for entry in ENTRIES:
        v = entry_values(entry, base)
        lines += ["", f"# {_source_line(entry)}", f"# {entry.notes}", f"[regimens.{entry.name}]"]
        for k, x in v.items():
            if k != "grade3plus":
                lines.append(f"{k} = {_fmt(x)}")
        lines.append(f"[regimens.{entry.name}.grade3plus]")
        lines += [f"{t} = {_fmt(float(p))}" for t, p in v["grade3plus"].items()]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def library_table_markdown() -> str:
    """The library's sources and values as a Markdown table (docs/model.md 5.7, generated by
    ``python -m oligosim.docs --write docs/model.md``)."""
    head = (
        "| Regimen | Histology | Lines | Trial (journal, year): regimen arm vs control, ORR, median DoR and DCR used | Anchor; comparison "
        "| r_ORR | r_DoR | r_DCR | Kill (1/month) | Maintenance kill | Resistance median (months) | Durable fraction "
        "| Primary resistance | Cycle (days) x induction cycles; maintenance (months) | Grade >= 3 (per line) | Grade 5 |"
    )
    lines = [
        "_Generated from `oligosim/regimen_library.py` (which writes `configs/regimens.toml`) by "
        "`python -m oligosim.docs --write docs/model.md`; do not edit by hand._",
        "",
        head,
        "|" + "---|" * 16,
    ]
    for e in ENTRIES:
        v = entry_values(e)
        r = e.ratios()
        trials = "; ".join(
            f"{t.name} ({t.citation}): {t.arm_label} {t.arm.orr:.1%}, {_dor(t.arm)}{_dcr(t.arm)}"
            + (f" vs {t.control_label} {t.control.orr:.1%}, {_dor(t.control)}{_dcr(t.control)}" if t.control is not None else "")
            + _dcr_from(t)
            for t in e.links
        ) or "none: class equivalence (assumption)"
        how = "direct, X / A" if e.direct else ("same-trial contrast over the anchor's, (X/C) / (A/A_C)" if e.links else "ratio 1")
        tox = ", ".join(f"{t} {p:g}" for t, p in v["grade3plus"].items() if p) or "none"
        cells = [
            f"`{e.name}` ({e.label})",
            ", ".join(e.histology),
            ", ".join(str(x) for x in e.lines),
            trials,
            f"`{e.anchor}` ({ANCHOR_ARMS[e.anchor][2]}); {how}",
            f"{r['orr']:.4f}",
            _ratio(r["dor_months"]),
            _dcr_ratio(r["dcr"]),
            f"{v['kill_rate_per_month']:g}",
            f"{v['maintenance_kill_rate_per_month']:g}" if v["maintenance_months"] else "—",
            f"{v['resistance_median_months']:g}",
            f"{v['durable_fraction']:g}",
            f"{v['primary_resistance_fraction']:g}",
            f"{v['cycle_days']:g} x {v['induction_cycles']}; {v['maintenance_months']:g}",
            tox,
            f"{v['grade5']:g}",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "Schedules and toxicity, per regimen:", ""]
    lines += [f"* `{e.name}`: {e.notes}." for e in ENTRIES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m oligosim.regimen_library [--write FILE | --check FILE]``."""
    ap = argparse.ArgumentParser(prog="python -m oligosim.regimen_library", description="Write or check configs/regimens.toml.")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--write", metavar="FILE")
    g.add_argument("--check", metavar="FILE")
    args = ap.parse_args(argv)
    text = library_toml()
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        return 0
    if args.check:
        same = Path(args.check).read_text(encoding="utf-8") == text
        if not same:
            print(f"{args.check} is out of date: run python -m oligosim.regimen_library --write {args.check}", file=sys.stderr)
        return 0 if same else 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
