"""Organs at risk beyond the esophagus, lung and marrow, and the patient's own toxicity risk, in
the reference engine (model 6.5 and 9).

The heart (mean dose), the spinal cord and the bowel (most exposed part) get a share of every
fraction by the target's organ and subsite; a metastatic target's mean-dose shares grow with
its planning target volume; after esophagectomy the gastric conduit takes the esophagus's dose.
Older (and, if set, less fit) patients have higher odds of every grade >= 3 toxicity. A course's
six uniforms for these organs come from their own stream (``ORGANS``).
"""

from __future__ import annotations

from oligosim import codes
from oligosim.radiobiology import core as rb
from oligosim.reference.cohort import diameter_of_logv


def oar_share(table, organ: int, subsite: int) -> float:
    """Share of the prescribed dose per fraction reaching an organ at risk from a target in
    ``organ`` at ``subsite`` (the table is flattened by organ, then subsite)."""
    return float(table[organ * codes.N_STATIONS + subsite])


def field_scale(P, organ: int, logv: float) -> float:
    """Multiplier of the lung, heart and marrow mean-dose shares of a metastatic target of log
    volume ``logv``: its PTV volume relative to the reference one, to the power
    ``size_exponent``; 1 for the primary and regional nodes or with the scaling off."""
    t = P.tx[0]
    if not bool(t["size_scaling"]) or organ in (codes.PRIMARY, codes.REGIONAL_NODE):
        return 1.0
    margin = float(t["ptv_margin"])
    ratio = (diameter_of_logv(logv) + 2.0 * margin) / (float(t["size_ref_diameter"]) + 2.0 * margin)
    return ratio ** (3.0 * float(t["size_exponent"]))


def capped_share(scale: float, share: float, primary_share: float) -> float:
    """A mean-dose share grown by the field factor, never above the primary's field's share (or
    its own, if larger), nor 1."""
    return min(scale * share, max(share, primary_share), 1.0)


def patient_odds(P, pat, ecog: int) -> float:
    """The patient's odds ratio of every grade >= 3 toxicity: the elderly odds ratio centred on
    the elderly share of the series behind the toxicity rates, then ECOG >= 2 (``ecog``: the
    current ECOG, the entry value unless it declined, model 3.9)."""
    t = P.tx[0]
    share = float(t["elderly_ref_share"])
    exponent = 1.0 - share if pat.age >= float(t["elderly_age"]) else -share
    odds = float(t["elderly_or"]) ** exponent
    if ecog >= 2:
        odds *= float(t["ecog2_or"])
    return odds


class OrgansMixin:
    """Heart, spinal cord, bowel and conduit toxicity of an RT course (mixed into the patient).

    Uses ``self.P``, ``self.s_organs`` and ``self.record_toxicity``.
    """

    def organs_toxicity(self, heart: float, cord: float, bowel: float, conduit: float, odds: float) -> bool:
        """Grade >= 3 cardiac toxicity from the mean heart EQD2 ``heart``, myelopathy from the
        cord's maximum EQD2 ``cord``, bowel and conduit events from their maximum EQD2 (Gy);
        every probability odds-scaled by ``odds``. Returns True if one was fatal."""
        t = self.P.tx[0]

        def p(dose: float, key: str) -> float:
            return rb.odds_scaled(rb.ntcp_lkb(dose, float(t[f"{key}_td50"]), float(t[f"{key}_m"])), odds)

        # planning keeps the cord's and the bowel's maxima within their limits
        cord, bowel = min(cord, float(t["cord_limit"])), min(bowel, float(t["bowel_limit"]))
        probabilities = (p(heart, "cardiac"), p(cord, "myelopathy"), p(bowel, "bowel"), p(conduit, "conduit") if conduit > 0.0 else 0.0)
        u_heart, u_cord, u_bowel, g_bowel, u_conduit, g_conduit = (self.s_organs.uniform() for _ in range(6))
        fatal = False
        if u_heart < probabilities[0]:
            self.record_toxicity(codes.CARDIAC)
        if u_cord < probabilities[1]:
            self.record_toxicity(codes.MYELOPATHY)
        if u_bowel < probabilities[2]:
            self.record_toxicity(codes.BOWEL)
            fatal = g_bowel < float(t["g5_bowel"])
        if u_conduit < probabilities[3]:
            self.record_toxicity(codes.CONDUIT)
            fatal = fatal or g_conduit < float(t["g5_conduit"])
        return fatal
