"""Populations as papers describe them (issue 25 item 4): keys of ``cohort.lesions`` and
``cohort.eligibility`` for lesion sizes by organ, the nodal station mix, node counts with
adjacency and eligibility by exclusion (docs/model.md 3.2 and 3.4).

Every key's default leaves the cohort as it was drawn before these keys existed.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.config.leaves import A, UNIT_MAX, _nonneg, _positive_sum, _sdlog
from oligosim.config.nodes import REQUIRED, Choice, Float, Int, Section, Table

_METASTATIC = tuple(codes.ORGAN_NAMES[o] for o in codes.METASTATIC_ORGANS)
_STUDY = "set per study: its baseline lesion sizes"


def _organ_pattern(names) -> str:
    return "^(" + "|".join(names) + ")$"


def _station_weights(kind: str) -> Section:
    """Relative frequencies of ``kind`` node metastases by station (codes.STATION_NAMES)."""
    return Section(
        {
            name: _nonneg(
                0.25, "", f"relative frequency of {kind} node metastases in the {name} station (normalised)",
                A + "uniform over the four stations, the only rule before 2026-12-06; set per study from its table of node sites",
            )
            for name in codes.STATION_NAMES
        },
        doc=f"station mix of {kind} node metastases, at entry and seeded later (model 3.2); normalised, not all 0",
        check=_positive_sum(f"{kind} node station weights"),
    )


#: added to ``cohort.lesions``
LESION_KEYS = {
    "diameter_by_organ": Table(
        Section(
            {
                "median_cm": Float(REQUIRED, lo=0.0, lo_open=True, hi=UNIT_MAX["cm"], unit="cm", doc="median diameter of the organ's macroscopic lesions", source=_STUDY),
                "sdlog": _sdlog(REQUIRED, "sd of log diameter of the organ's macroscopic lesions", _STUDY),
            }
        ),
        key_pattern=_organ_pattern(_METASTATIC),
        doc="lognormal diameter of the macroscopic distant lesions of some organs, {median_cm, sdlog} each (model 3.2); an "
        "organ not listed uses macroscopic_diameter_median_cm and macroscopic_diameter_sdlog",
    ),
    "distant_node_stations": _station_weights("distant"),
    "regional_node_stations": _station_weights("regional"),
}

#: added to ``cohort.eligibility``
ELIGIBILITY_KEYS = {
    "max_diameter_by_organ_cm": Table(
        Float(REQUIRED, lo=0.0, lo_open=True, hi=UNIT_MAX["cm"], unit="cm", doc="largest allowed visible lesion diameter in this organ", source="trial criterion"),
        key_pattern=_organ_pattern((codes.ORGAN_NAMES[codes.REGIONAL_NODE],) + _METASTATIC),
        doc="per-organ limits on the visible lesions' diameters (e.g. {brain = 3.0} with max_diameter_cm = 5 for 'every "
        "lesion <= 5 cm, brain <= 3 cm'); max_diameter_cm still applies to every organ",
    ),
    "max_nodes": Int(
        codes.LESION_CAP_MAX, lo=0, hi=codes.LESION_CAP_MAX, unit="nodes",
        doc="at most this many visible lymph-node lesions of node_rule_nodes, each node one (statement 1 counts distant nodes "
        "by station instead)",
        source="trial criterion; default: none (the lesion cap)",
    ),
    "max_node_span_stations": Int(
        codes.N_STATIONS, lo=1, hi=codes.N_STATIONS, unit="stations",
        doc="the visible lymph-node lesions of node_rule_nodes lie within this many consecutive stations of the chain neck - "
        "upper mediastinum - lower mediastinum - abdominal (1: one station; 2: one station or two adjacent ones; 4: no "
        "rule); 'one node, or two adjacent nodes' is max_nodes = 2 with max_node_span_stations = 2",
        source="trial criterion; default: none (all four stations)",
    ),
    "node_site_stations": Int(
        1, lo=1, hi=codes.N_STATIONS, unit="stations",
        doc="for the eligibility count (statement 1's lesions, max_lesions, the definitions), distant nodes in up to this many "
        "consecutive involved stations count as one lesion: 1, one per station (statement 1); 2, nodes in adjacent stations "
        "are one site. Clusters start at the lowest involved station (model 3.4)",
        source="trial criterion; default: statement 1's count by station",
    ),
    "node_rule_nodes": Choice(
        ("distant", "all"), "distant",
        doc="the nodes max_nodes and max_node_span_stations count: distant (non-regional) nodes, or regional and distant together",
    ),
    "exclude_definition": Choice(
        ("none", "histology", "escc", "eac"), "none",
        doc="refuse patients whose visible disease is oligometastatic under this definition (a polymetastatic comparison "
        "cohort; 'histology' uses each patient's own); needs definition = 'none'",
    ),
}


def check_population(data) -> list[tuple[str, str]]:
    """Rules tying these keys to others; (key, message) pairs."""
    elig = data["cohort"]["eligibility"]
    if elig["exclude_definition"] != "none" and elig["definition"] != "none":
        return [(
            "cohort.eligibility.exclude_definition",
            f"needs cohort.eligibility.definition = 'none', not {elig['definition']!r}: a cohort excluded by one definition "
            "cannot be selected by one too",
        )]
    return []
