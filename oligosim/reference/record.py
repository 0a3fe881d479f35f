"""Endpoints recorded beside the course in the reference engine (model 7.6): the organs with a
seen lesion at entry, RECIST 1.1 target lesions and their diameters at entry and at the first
assessment, and whether an event starts the next treatment.

Nothing here changes the course; the kernel records the same in :mod:`oligosim._kernels.record`.
Target lesions are held as the lesion objects themselves: a target eradicated before the first
scan leaves the list (its slot may hold a new lesion), so it measures 0.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.reference.cohort import ACTIVE, diameter_of_logv

#: RECIST 1.1 (Eisenhauer et al. 2009): five targets, two per organ, measurable from 10 mm (15 mm nodes)
MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2
MEASURABLE_CM = 1.0
MEASURABLE_NODE_CM = 1.5
_NODES = (codes.REGIONAL_NODE, codes.DISTANT_NODE)


def organs_mask(lesions) -> int:
    """Bit ``k`` set when a seen lesion lies in organ ``k`` (codes.ORGAN_NAMES)."""
    mask = 0
    for les in lesions:
        if les is not None and les.seen:
            mask |= 1 << les.organ
    return mask


def _measurable(les) -> bool:
    if les is None or not les.seen or les.status != ACTIVE or les.organ == codes.PRIMARY:
        return False  # the esophageal primary is a non-target lesion
    return diameter_of_logv(les.logv) >= (MEASURABLE_NODE_CM if les.organ in _NODES else MEASURABLE_CM)


def select_targets(lesions) -> tuple[list, float]:
    """RECIST target lesions at entry, largest first (the earlier slot wins a tie), at most two
    per organ (all lymph nodes one organ) and five in all, and the sum of their diameters (cm)."""
    # a stable sort by decreasing diameter keeps the lower slot first among equals
    candidates = sorted((les for les in lesions if _measurable(les)), key=lambda les: -diameter_of_logv(les.logv))
    targets, per_organ = [], {}
    for les in candidates:
        organ = codes.DISTANT_NODE if les.organ in _NODES else les.organ
        if per_organ.get(organ, 0) < MAX_TARGETS_PER_ORGAN:
            per_organ[organ] = per_organ.get(organ, 0) + 1
            targets.append(les)
            if len(targets) == MAX_TARGETS:
                break
    return targets, sum(diameter_of_logv(les.logv) for les in targets)


def first_assessment(lesions, targets, overflow_new: bool) -> tuple[float, bool, bool]:
    """At the first scan, before it is read: the targets' diameter sum (cm; a target no longer
    active or visible measures 0), whether a lesion is new (visible and never seen, or the
    uncounted disease beyond the cap, ``overflow_new``), and whether nothing is visible."""
    present = [les for les in lesions if les is not None]
    total = sum(diameter_of_logv(les.logv) for les in targets if any(les is p for p in present) and les.visible)
    new = overflow_new or any(les.visible and not les.seen for les in present)
    clear = not new and not any(les.visible for les in present)
    return total, new, clear


def starts_next_treatment(code: int, detail: int, line: int, progressed: bool) -> bool:
    """A second systemic line, local therapy at a progression (RT planned at progression,
    surgery or ablation) or death: the end of the time to next treatment."""
    if code == codes.EV_LINE_START:
        return line >= 2
    if code == codes.EV_RT_START:
        return detail == codes.PLAN_PROGRESSION
    if code in codes.PROCEDURE_EVENTS:
        return progressed  # surgery or ablation chosen at a progression (model 6.10)
    return code in (codes.EV_ALT_LOCAL, codes.EV_DEATH_DISEASE, codes.EV_DEATH_OTHER, codes.EV_DEATH_TREATMENT)
