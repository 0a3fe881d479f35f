"""Plausibility warnings: an arm's toxicity outside what the published series allow.

The consensus' Table 4 lists grade >= 3 treatment-related adverse events of the published
oligometastatic esophageal cancer series, by type and arm (:data:`TABLE4`). An arm of a run is
flagged when one of its rates lies, beyond its Monte Carlo error, above the **Wilson 95 % upper limit of the highest rate any
series reports** for that type (:data:`UPPER`): a rate above what even the most toxic published
arm is statistically compatible with. The bound is deliberately permissive, so a warning means
"outside everything reported", not "different from one trial". Treatment deaths,
which Table 4 does not list, are flagged by the same rule on the grade 5 rates of a first-line
trial (:data:`GRADE5`, :data:`TREATMENT_DEATH_LIMIT`).

Each warning names the parameters that drive the rate, so that a user knows where to look
(docs/model.md 9). Warnings are advice: they change no result.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.analysis.proportions import proportion_ci

__all__ = ["TABLE4", "GRADE5", "ORGAN_LIMITS", "UPPER", "TREATMENT_DEATH_LIMIT", "TREATMENT_DEATH_BASIS", "DRIVERS", "wilson_upper", "wilson_lower", "check_arm"]


#: Table 4 of the consensus (grade >= 3 treatment-related adverse events, %), one row per arm:
#: (series, patients in the arm, {type: rate in %}); "any" is the table's total. The arm sizes of
#: two-arm series come from shared/calibration/targets.toml where it gives them (ESO-Shanghai 13
#: 53 and 51, Shi 2021 157 and 157, Duan 2023 (ref. 57) 113 and 113); Li 2020 (82) and Chen (461)
#: are split in half (assumption: the table gives only the totals).
TABLE4: tuple[tuple[str, int, dict[str, float]], ...] = (
    ("Liu 2024 (ESO-Shanghai 13), local therapy + systemic", 53, {"leukopenia": 36.0, "neutropenia": 32.0, "thrombocytopenia": 2.0, "pneumonitis": 0.0, "esophagitis": 2.0, "esophageal_fistula": 4.0, "fatigue": 9.0, "nausea": 0.0, "vomiting": 0.0, "any": 47.0}),
    ("Liu 2024 (ESO-Shanghai 13), systemic", 51, {"leukopenia": 35.0, "neutropenia": 39.0, "thrombocytopenia": 0.0, "pneumonitis": 2.0, "esophagitis": 0.0, "esophageal_fistula": 0.0, "fatigue": 8.0, "nausea": 0.0, "vomiting": 0.0, "any": 41.0}),
    ("Duan (ref. 57), RT + chemo-immunotherapy", 113, {"pneumonitis": 5.1}),
    ("Duan (ref. 57), chemo-immunotherapy", 113, {"pneumonitis": 3.7}),
    ("Shi 2021, chemoradiotherapy", 157, {"leukopenia": 23.2, "pneumonitis": 8.6, "esophagitis": 7.3}),
    ("Shi 2021, chemotherapy", 157, {"leukopenia": 17.2}),
    ("Li 2020, RT", 41, {"leukopenia": 3.6, "pneumonitis": 0.0, "nausea": 0.0, "vomiting": 1.8}),
    ("Li 2020, no RT", 41, {"leukopenia": 3.7, "pneumonitis": 0.0, "nausea": 3.7, "vomiting": 3.7}),
    ("Chen (ref. 23), chemoradiotherapy", 230, {"leukopenia": 29.6, "neutropenia": 27.5, "thrombocytopenia": 6.1, "pneumonitis": 7.6, "esophagitis": 6.6, "fatigue": 5.1, "nausea": 5.6, "vomiting": 4.1}),
    ("Chen (ref. 23), chemotherapy", 231, {"leukopenia": 24.0, "neutropenia": 22.6, "thrombocytopenia": 5.3, "pneumonitis": 1.9, "esophagitis": 6.0, "fatigue": 3.0, "nausea": 4.5, "vomiting": 6.4}),
    ("Wang (ref. 79), RT with chemo and/or immunotherapy", 96, {"leukopenia": 9.3, "neutropenia": 1.0, "thrombocytopenia": 2.0, "pneumonitis": 0.0, "esophagitis": 1.0, "fatigue": 2.1, "nausea": 0.0, "vomiting": 0.0}),
    ("Zhao 2023, RT + irinotecan + camrelizumab", 49, {"leukopenia": 30.6, "thrombocytopenia": 14.3, "pneumonitis": 6.1, "esophagitis": 6.1, "fatigue": 4.1, "nausea": 4.1, "vomiting": 0.0, "any": 63.3}),
    ("Duan (ref. 65), RT + chemo-immunotherapy", 86, {"leukopenia": 30.2, "neutropenia": 18.6, "thrombocytopenia": 3.5, "pneumonitis": 5.9, "esophagitis": 1.2, "esophageal_fistula": 1.2, "fatigue": 1.2, "nausea": 1.2, "any": 48.8}),
    ("Liu 2020 (ref. 17), SBRT + chemotherapy", 17, {"leukopenia": 36.0, "thrombocytopenia": 6.0, "fatigue": 18.0, "nausea": 0.0}),
)


#: The parameters that drive each rate, named in its warning.
DRIVERS = {
    "leukopenia": "regimens.<name>.grade3plus.leukopenia",
    "neutropenia": "regimens.<name>.grade3plus.neutropenia",
    "thrombocytopenia": "regimens.<name>.grade3plus.thrombocytopenia",
    "pneumonitis": "toxicity.pneumonitis_td50_gy, radiotherapy.lung_mean_dose_fraction, regimens.<name>.grade3plus.pneumonitis",
    "esophagitis": "toxicity.esophagitis_td50_gy, radiotherapy.esophagus_dose_fraction",
    "esophageal_fistula": "toxicity.fistula_td50_gy, radiotherapy.esophagus_dose_fraction(_node_station)",
    "fatigue": "regimens.<name>.grade3plus.fatigue",
    "nausea": "regimens.<name>.grade3plus.nausea",
    "vomiting": "regimens.<name>.grade3plus.vomiting",
    "any": "regimens.<name>.grade3plus (every type, every line) and the RT toxicities",
    "cardiac": "toxicity.cardiac_td50_gy, radiotherapy.heart_mean_dose_fraction(_node_station)",
    "myelopathy": "toxicity.myelopathy_td50_gy, radiotherapy.spinal_cord_dose_fraction(_node_station)",
    "bowel": "toxicity.bowel_td50_gy, radiotherapy.bowel_dose_fraction(_node_station)",
    "conduit": "toxicity.conduit_td50_gy, radiotherapy.esophagus_dose_fraction(_node_station) after esophagectomy",
    "treatment_deaths": "regimens.<name>.grade5, toxicity.grade5_fraction_fistula, toxicity.grade5_fraction_pneumonitis, toxicity.grade5_fraction_bowel, toxicity.grade5_fraction_conduit",
}


def wilson_upper(rate: float, n: int) -> float:
    """Upper limit of the Wilson 95 % interval of a proportion ``rate`` (0-1) seen in ``n``."""
    return float(proportion_ci(rate * n, n)[1])


def wilson_lower(rate: float, n: int) -> float:
    """Lower limit of the Wilson 95 % interval of a proportion ``rate`` (0-1) seen in ``n``."""
    return float(proportion_ci(rate * n, n)[0])


#: Treatment-related deaths (grade 5) of first-line systemic therapy for advanced ESCC, one row
#: per arm: (series, patients treated, deaths). Table 4 has no grade 5 column; ORIENT-15 (Lu Z et
#: al., BMJ 2022;377:e068714, Table 3: treatment-related adverse events of grade 5,
#: pmc.ncbi.nlm.nih.gov/articles/PMC9016493/table/tbl3) gives them by arm for the chemotherapy
#: backbone the model's first lines use (paclitaxel + cisplatin in 93% of its patients).
GRADE5: tuple[tuple[str, int, int], ...] = (
    ("ORIENT-15 (Lu 2022), sintilimab + chemotherapy", 327, 9),
    ("ORIENT-15 (Lu 2022), placebo + chemotherapy", 332, 6),
)


def _grade5_limit() -> tuple[float, str]:
    """The Wilson 95 % upper limit of the highest treatment-death rate of :data:`GRADE5`, and its arm
    (the rule of the Table 4 types)."""
    series, n, deaths = max(GRADE5, key=lambda row: (row[2] / row[1], wilson_upper(row[2] / row[1], row[1])))
    return wilson_upper(deaths / n, n), f"{series}: {deaths} of {n}"


#: Treatment deaths above this share of an arm are flagged, with its basis: the Wilson 95 % upper
#: limit of the highest published rate (:data:`GRADE5`), 5.1 %. The model counts deaths over the
#: whole course (every line and RT course), the trial over its first line, so the flag is
#: conservative. Until 2026-12-07 the limit was 2 %, an assumption (issue 18: "unless a source
#: says otherwise"); ORIENT-15's first line alone gives 2.8 % with anti-PD-1 and 1.8 % without.
TREATMENT_DEATH_LIMIT, TREATMENT_DEATH_BASIS = _grade5_limit()


def _upper_limits() -> dict[str, tuple[float, str]]:
    """Per type: the Wilson 95 % upper limit of the highest rate Table 4 reports (of the least
    precise arm among ties), and that arm."""
    best: dict[str, tuple[float, float, str]] = {}
    for series, n, rates in TABLE4:
        for kind, pct in rates.items():
            key = (pct, wilson_upper(pct / 100.0, n))
            if kind not in best or key > best[kind][:2]:
                best[kind] = (*key, f"{series}: {pct:g}% of {n}")
    return {kind: (hi, basis) for kind, (_, hi, basis) in best.items()}


#: Organs at risk Table 4 has no column for: the planning limits of QUANTEC (2010) and, for the
#: conduit, an assumption. Type -> (upper plausible share, basis).
ORGAN_LIMITS = {
    "cardiac": (0.15, "QUANTEC (Gagliardi 2010): pericarditis below 15% with a mean pericardial dose under 26 Gy"),
    "myelopathy": (0.01, "QUANTEC (Kirkpatrick 2010): below 1% with the cord's maximum within its planning limits"),
    "bowel": (0.10, "QUANTEC (Kavanagh 2010): grade >= 3 acute small-bowel toxicity below 10% within its planning limits"),
    "conduit": (0.10, "assumption: conduit ulcer, bleeding or fistula after RT near the conduit is rarely reported"),
}

#: type -> (upper plausible share, the Table 4 arm or planning limit that sets it)
UPPER = {**_upper_limits(), **ORGAN_LIMITS}


def check_arm(entry: dict) -> list[dict]:
    """Warnings for one summary.json arm entry (its ``toxicity_grade3plus``,
    ``treatment_deaths`` and ``patients``); an empty list when every rate is plausible.

    A rate is flagged only when it exceeds its limit beyond its own Monte Carlo error: the lower
    limit of its Wilson 95 % interval over the arm's ``patients`` lies above the limit, so a run
    too small to tell gives no warning.

    Each warning is ``{"metric", "value", "limit", "basis", "drivers", "message"}``; ``message``
    is the one line a command prints.
    """
    out = []
    n = int(entry["patients"])
    tox = entry["toxicity_grade3plus"]
    for kind in codes.TOX_NAMES + ("any",):
        if kind not in UPPER:
            continue
        limit, basis = UPPER[kind]
        value = float(tox[kind])
        if wilson_lower(value, n) > limit:
            metric = f"tox.{kind}"
            why = basis if kind in ORGAN_LIMITS else f"the Wilson 95% upper limit of the highest rate in the consensus' Table 4, {basis}"
            out.append(_warning(metric, value, limit, why, DRIVERS[kind]))
    deaths = float(entry["treatment_deaths"])
    if wilson_lower(deaths, n) > TREATMENT_DEATH_LIMIT:
        why = f"the Wilson 95% upper limit of the highest published rate of treatment-related deaths, {TREATMENT_DEATH_BASIS}, docs/model.md 9"
        out.append(_warning("treatment_deaths", deaths, TREATMENT_DEATH_LIMIT, why, DRIVERS["treatment_deaths"]))
    return out


def _warning(metric: str, value: float, limit: float, basis: str, drivers: str) -> dict:
    message = f"{metric} = {100 * value:.2f}% is above the plausible {100 * limit:.2f}% ({basis}); parameters: {drivers}"
    return {"metric": metric, "value": value, "limit": limit, "basis": basis, "drivers": drivers, "message": message}
