"""``oligosim dose --scenario FILE --organs``: what each arm's course gives the organs at risk.

For every arm and target kind of :func:`oligosim.commands.dose_sites.site_rows` (one target of
the reference diameter, ``radiotherapy.oar_reference_diameter_cm``, alone in its course), the
EQD2 its schedule gives the esophagus (the gastric conduit after esophagectomy), the lung, the
heart, the spinal cord and the bowel (model 6.5: each organ's share of every fraction, its own
dose per fraction), and the grade >= 3 probability of each organ's complication from that course
alone: no concurrent chemotherapy, no re-irradiation, a patient of the series' age mix (odds 1).
The simulation adds a course's targets up (lung, marrow) or takes the largest (the others), and
scales odds for concurrent chemotherapy, re-irradiation, immunotherapy and the patient.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.commands.dose_sites import site_schedules
from oligosim.lowering import organ_share_table
from oligosim.radiobiology import core as rb

__all__ = ["organ_rows", "format_organ_table"]

HEADER = ("arm", "target", "schedule", "esophagus", "lung", "heart", "cord", "bowel", "fistula %", "pneumonitis %", "cardiac %", "myelopathy %", "bowel %")


def _targets(arm: dict, rt: dict):
    """(label, organ code, subsite, dose Gy, fractions) of each target kind of an arm."""
    out = [("primary field", codes.PRIMARY, 0, float(arm["primary_dose_gy"]), int(arm["primary_fractions"]))]
    table = site_schedules(arm, rt)
    for site in codes.SITE_NAMES:
        organ, subsite = codes.site_cells(site)[0]
        if arm["metastasis_schedule"] == "uniform":
            dose, fractions = float(arm["metastasis_dose_gy"]), int(arm["metastasis_fractions"])
        else:
            dose, fractions = float(table[site]["dose_gy"]), int(table[site]["fractions"])
        out.append((site, organ, subsite, dose, fractions))
    return out


def organ_rows(scenario) -> list[tuple[str, ...]]:
    """One row per arm and target kind (:data:`HEADER` columns): organ EQD2s (Gy) and NTCPs (%).

    Parameters
    ----------
    scenario : oligosim.config.Scenario
        A validated scenario.
    """
    rt, tx = scenario.data["radiotherapy"], scenario.data["toxicity"]
    ab_late, ab_cord = float(rt["alpha_beta_late_gy"]), float(tx["alpha_beta_cord_gy"])

    # each organ's share by (organ, subsite), as the simulation lowers it
    tables = {name: organ_share_table(rt, name) for name in ("esophagus", "heart_mean", "spinal_cord", "bowel")}

    def share(name: str, organ: int, subsite: int) -> float:
        return float(tables[name][organ, subsite])

    def lkb(dose: float, key: str) -> str:
        return f"{100.0 * rb.ntcp_lkb(dose, float(tx[f'{key}_td50_gy']), float(tx[f'{key}_m'])):.2g}"

    rows = []
    for name, arm in scenario.data["arms"].items():
        for label, organ, subsite, dose, fractions in _targets(arm, rt):
            d = dose / fractions

            def eqd2(f: float, ab: float = ab_late) -> float:
                return rb.eqd2(f * d, fractions, ab) if f > 0.0 else 0.0

            eso = eqd2(share("esophagus", organ, subsite))
            lung = eqd2(float(rt["lung_mean_dose_fraction"].get(codes.ORGAN_NAMES[organ], 0.0)))
            heart = eqd2(share("heart_mean", organ, subsite))
            # planning limits hold the cord's and the bowel's maxima (model 6.5)
            cord = min(eqd2(share("spinal_cord", organ, subsite), ab_cord), float(tx["myelopathy_planning_limit_gy"]))
            bowel = min(eqd2(share("bowel", organ, subsite)), float(tx["bowel_planning_limit_gy"]))
            rows.append((
                name, label, f"{dose:g} Gy / {fractions}",
                *(f"{x:.1f}" for x in (eso, lung, heart, cord, bowel)),
                lkb(eso, "fistula"), lkb(lung, "pneumonitis"), lkb(heart, "cardiac"), lkb(cord, "myelopathy"), lkb(bowel, "bowel"),
            ))
    return rows


def format_organ_table(scenario) -> str:
    """The rows of :func:`organ_rows` as an aligned text table, a title line first."""
    rows = organ_rows(scenario)
    widths = [max(len(r[i]) for r in (HEADER, *rows)) for i in range(len(HEADER))]

    def line(cells) -> str:
        return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), *(c.rjust(w) for c, w in zip(cells[2:], widths[2:]))])

    d_ref = float(scenario.data["radiotherapy"]["oar_reference_diameter_cm"])
    title = (
        f"{scenario.name}: EQD2 (Gy) to the organs at risk and grade >= 3 risk (%) of one target of {d_ref:g} cm alone in its "
        "course (esophagus: the gastric conduit after esophagectomy; cord and bowel within their planning limits; no concurrent chemotherapy, no re-irradiation, odds 1)"
    )
    return "\n".join([title, line(HEADER), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])
