"""``oligosim dose --scenario FILE``: every arm's RT schedule by site, with BED10 and EQD2.

What a course gives each kind of target (model 6.1): the primary's field (the primary, its
regional nodes and, with ``nodes_with_primary``, the distant nodes next to it), then each
metastatic site: one schedule for every metastasis (``metastasis_schedule = uniform``) or the
site's own (``by_site``: ``radiotherapy.schedules`` overridden by the arm's ``site_schedules``).
"""

from __future__ import annotations

from oligosim import codes
from oligosim.radiobiology import core as rb

__all__ = ["site_rows", "format_site_table"]

HEADER = ("arm", "target", "schedule", "Gy/fx", "BED10 Gy", "EQD2(a/b late) Gy")


def _row(arm: str, target: str, dose: float, fractions: int, ab_tumour: float, ab_late: float) -> tuple[str, ...]:
    d = dose / fractions
    return (
        arm,
        target,
        f"{dose:g} Gy / {fractions}",
        f"{d:.3g}",
        f"{rb.bed(d, fractions, ab_tumour):.1f}",
        f"{rb.eqd2(d, fractions, ab_late):.1f}",
    )


def site_rows(scenario) -> list[tuple[str, ...]]:
    """One row per arm and target kind (:data:`HEADER` columns), in arm order.

    Parameters
    ----------
    scenario : oligosim.config.Scenario
        A validated scenario.
    """
    rt_section = scenario.data["radiotherapy"]
    ab_t, ab_l = float(rt_section["alpha_beta_tumour_gy"]), float(rt_section["alpha_beta_late_gy"])
    rows = []
    for name, arm in scenario.data["arms"].items():
        rows.append(_row(name, "primary field", float(arm["primary_dose_gy"]), int(arm["primary_fractions"]), ab_t, ab_l))
        if arm["metastasis_schedule"] == "uniform":
            rows.append(_row(name, "every metastasis", float(arm["metastasis_dose_gy"]), int(arm["metastasis_fractions"]), ab_t, ab_l))
            continue
        table = dict(rt_section["schedules"])
        table.update(arm["site_schedules"])
        for site in codes.SITE_NAMES:
            s = table[site]
            mark = " (arm)" if site in arm["site_schedules"] else ""
            rows.append(_row(name, site + mark, float(s["dose_gy"]), int(s["fractions"]), ab_t, ab_l))
    return rows


def format_site_table(scenario) -> str:
    """The rows of :func:`site_rows` as an aligned text table, a title line first."""
    rows = site_rows(scenario)
    header = list(HEADER)
    header[-1] = f"EQD2(a/b {float(scenario.data['radiotherapy']['alpha_beta_late_gy']):g}) Gy"
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells) -> str:
        return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), *(c.rjust(w) for c, w in zip(cells[2:], widths[2:]))])

    out = [f"{scenario.name}: RT schedule of each arm by target (alpha/beta {float(scenario.data['radiotherapy']['alpha_beta_tumour_gy']):g} Gy for BED10)", line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
