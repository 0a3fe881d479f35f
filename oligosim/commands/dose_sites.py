"""``oligosim dose --scenario FILE``: every arm's RT schedule by site, with BED10 and EQD2.

What a course gives each kind of target (model 6.1): the primary's field (the primary, its
regional nodes and, with ``nodes_with_primary``, the distant nodes next to it), then each
metastatic site: one schedule for every metastasis (``metastasis_schedule = uniform``) or the
site's own (``by_site``: ``radiotherapy.schedules`` overridden by the arm's ``site_schedules``);
then the arm's re-irradiation schedules (``reirradiation_schedules``, model 6.6). Schedules of
more than one fraction a day count incomplete repair between them (model 6.2), as the
simulation does.
"""

from __future__ import annotations

from oligosim import codes
from oligosim.radiobiology import core as rb

__all__ = ["site_rows", "format_site_table"]

HEADER = ("arm", "target", "schedule", "Gy/fx", "BED10 Gy", "EQD2(a/b late) Gy")


def _row(arm: str, target: str, dose: float, fractions: int, rt: dict, per_day: int = 1, interval_h: float = 6.0) -> tuple[str, ...]:
    d = dose / fractions
    ab_t, ab_l = float(rt["alpha_beta_tumour_gy"]), float(rt["alpha_beta_late_gy"])
    times = {1: "", 2: " bid", 3: " tid"}[per_day]

    def thetas():
        # model 6.2: the damage unrepaired after one interval, in tumour and in late tissue
        return tuple(rb.repair_theta(interval_h, float(rt[k])) for k in ("repair_half_time_early_h", "repair_half_time_late_h"))

    th_t, th_l = thetas() if per_day > 1 else (0.0, 0.0)
    return (
        arm,
        target,
        f"{dose:g} Gy / {fractions}{times}",
        f"{d:.3g}",
        f"{rb.bed_extended(d, fractions, ab_t, per_day, th_t, 0.0, 0.0, 0.0):.1f}",
        f"{rb.eqd2_extended(d, fractions, ab_l, per_day, th_l, 0.0, 0.0, 0.0):.1f}",
    )


def site_schedules(arm: dict, rt: dict) -> dict:
    """An arm's schedule table by RT site: ``radiotherapy.schedules`` overridden by the arm's
    ``site_schedules`` (model 6.1)."""
    table = dict(rt["schedules"])
    table.update(arm["site_schedules"])
    return table


def site_rows(scenario) -> list[tuple[str, ...]]:
    """One row per arm and target kind (:data:`HEADER` columns), in arm order.

    Parameters
    ----------
    scenario : oligosim.config.Scenario
        A validated scenario.
    """
    rt_section = scenario.data["radiotherapy"]
    rows = []
    for name, arm in scenario.data["arms"].items():
        daily = (int(arm["fractions_per_day"]), float(arm["interfraction_interval_h"]))
        rows.append(_row(name, "primary field", float(arm["primary_dose_gy"]), int(arm["primary_fractions"]), rt_section, *daily))
        if arm["metastasis_schedule"] == "uniform":
            rows.append(_row(name, "every metastasis", float(arm["metastasis_dose_gy"]), int(arm["metastasis_fractions"]), rt_section, *daily))
        else:
            table = site_schedules(arm, rt_section)
            for site in codes.SITE_NAMES:
                s = table[site]
                mark = " (arm)" if site in arm["site_schedules"] else ""
                rows.append(_row(name, site + mark, float(s["dose_gy"]), int(s["fractions"]), rt_section, *daily))
        for site, s in arm["reirradiation_schedules"].items():
            target = "re-irradiation, " + ("primary field" if site == "primary" else site)
            rows.append(_row(name, target, float(s["dose_gy"]), int(s["fractions"]), rt_section, int(s["fractions_per_day"]), float(s["interfraction_interval_h"])))
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
