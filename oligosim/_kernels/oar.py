"""Organs at risk beyond the esophagus, lung and marrow, and the patient's own toxicity risk
(model 6.5 and 9).

* The heart by its mean dose (pericardial effusion is a volume effect), the spinal cord and the
  bowel by the dose to their most exposed part (serial organs): each a share of the prescribed
  dose per fraction by the target's organ and subsite (:func:`share`), its EQD2 from its own dose
  per fraction, and an LKB NTCP (:func:`course_toxicity`).
* After esophagectomy the gastric conduit lies in the esophageal bed and takes the esophagus's
  dose; it has no esophagitis or esophageal fistula, but a conduit ulcer, bleeding or fistula.
* The mean-dose shares (lung, heart, marrow) of a metastatic target grow with its planning
  target volume (:func:`field_scale`); a serial organ's maximum depends on where the target is,
  not on its size.
* Older (and, if set, less fit) patients have higher odds of every grade >= 3 toxicity
  (:func:`patient_odds`, statement 10).

The six uniforms of a course come from their own stream (``rng.ORGANS``), so that the toxicity
stream of the esophagus, lung, marrow and systemic lines stays where it was.
"""

from __future__ import annotations

from numba import njit

from oligosim import codes
from oligosim._kernels import rng, toxicity
from oligosim._kernels.cohort import diameter_of_logv
from oligosim.radiobiology import core as rb


@njit(cache=True, _nrt=False)
def share(table, organ, subsite):
    """An organ at risk's share of the prescribed dose per fraction for a target in ``organ``
    at ``subsite``, from a table flattened by (organ, subsite) (``organ * N_STATIONS + subsite``)."""
    return table[organ * codes.N_STATIONS + subsite]


@njit(cache=True, _nrt=False)
def field_scale(P, organ, logv):
    """Multiplier of the mean-dose shares (lung, heart, marrow) of a target of log volume
    ``logv`` (ln cm3): ``((d + 2 m) / (d_ref + 2 m)) ** (3 e)``, the PTV volume ratio to the
    power ``e``, for metastatic targets; 1 for the primary and regional nodes (their field is the
    involved field) and when the scaling is off."""
    t = P.tx[0]
    if not t.size_scaling or organ == codes.PRIMARY or organ == codes.REGIONAL_NODE:
        return 1.0
    d = diameter_of_logv(logv)
    ratio = (d + 2.0 * t.ptv_margin) / (t.size_ref_diameter + 2.0 * t.ptv_margin)
    return ratio ** (3.0 * t.size_exponent)


@njit(cache=True, _nrt=False)
def scaled_share(g, f, f_primary):
    """A mean-dose share ``f`` scaled by the field factor ``g``, at most the larger of ``f`` and
    the primary's share ``f_primary`` (no metastatic field exposes an organ more than the field
    around the primary does) and at most 1."""
    return min(min(g * f, max(f, f_primary)), 1.0)


@njit(cache=True, _nrt=False)
def patient_odds(P, st):
    """Odds ratio of every grade >= 3 toxicity for this patient (statement 10): the elderly odds
    ratio ``OR`` centred on the share ``s`` of elderly patients in the series the toxicity rates
    come from, ``OR ** (1 - s)`` at ``elderly_age`` or older and ``OR ** -s`` below it (so the
    rates stay those of the series' age mix), times the ECOG >= 2 odds ratio."""
    t = P.tx[0]
    if st.age >= t.elderly_age:
        o = t.elderly_or ** (1.0 - t.elderly_ref_share)
    else:
        o = t.elderly_or ** (-t.elderly_ref_share)
    if st.ecog_now >= 2:  # the current ECOG (model 3.9): the entry value unless it declined
        o *= t.ecog2_or
    return o


@njit(cache=True, _nrt=False)
def course_toxicity(P, W, heart, cord, bowel, conduit, odds):
    """Grade >= 3 cardiac, myelopathy, bowel and conduit toxicity of an RT course.

    Parameters
    ----------
    heart : float
        Mean heart EQD2 (alpha/beta late), Gy.
    cord : float
        EQD2 (alpha/beta of the cord) at the spinal cord's most exposed point, Gy.
    bowel, conduit : float
        EQD2 (alpha/beta late) at the most exposed bowel and gastric conduit, Gy (conduit 0 unless
        the esophagus was resected).
    odds : float
        Odds ratio of the course (concurrent chemotherapy times the patient's own).

    Returns
    -------
    bool
        True if one of them was fatal. Always six draws from ``rng.ORGANS``.
    """
    t = P.tx[0]
    # planning holds the serial organs' maxima to their limits (the target's coverage gives way)
    cord = min(cord, t.cord_limit)
    bowel = min(bowel, t.bowel_limit)
    p_heart = rb.odds_scaled(rb.ntcp_lkb(heart, t.cardiac_td50, t.cardiac_m), odds)
    p_cord = rb.odds_scaled(rb.ntcp_lkb(cord, t.myelopathy_td50, t.myelopathy_m), odds)
    p_bowel = rb.odds_scaled(rb.ntcp_lkb(bowel, t.bowel_td50, t.bowel_m), odds)
    p_conduit = rb.odds_scaled(rb.ntcp_lkb(conduit, t.conduit_td50, t.conduit_m), odds) if conduit > 0.0 else 0.0
    u_h = rng.uniform(W.streams, rng.ORGANS)
    u_c = rng.uniform(W.streams, rng.ORGANS)
    u_b = rng.uniform(W.streams, rng.ORGANS)
    g_b = rng.uniform(W.streams, rng.ORGANS)
    u_g = rng.uniform(W.streams, rng.ORGANS)
    g_g = rng.uniform(W.streams, rng.ORGANS)
    dead = False
    if u_h < p_heart:
        toxicity.record(P, W, codes.CARDIAC)
    if u_c < p_cord:
        toxicity.record(P, W, codes.MYELOPATHY)
    if u_b < p_bowel:
        toxicity.record(P, W, codes.BOWEL)
        dead = g_b < t.g5_bowel
    if u_g < p_conduit:
        toxicity.record(P, W, codes.CONDUIT)
        dead = dead or g_g < t.g5_conduit
    return dead
