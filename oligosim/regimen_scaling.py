"""From published response figures to a regimen's efficacy: scaling a calibrated anchor.

The calibrated regimens of ``configs/base.toml`` fit the trials' PFS and OS, not their
response rates: with systemic therapy alone the model's RECIST response at the first
assessment is far below the trials' (model 7.6), because the fitted kill is slow by the first
scan. Matching a new regimen's *absolute* objective response rate would therefore make it
several times stronger than the calibrated regimens it is compared with. Instead every library
regimen starts from the calibrated regimen of its class (its *anchor*) and changes by the
*relative* response the trials report (model 5.7):

* the response ratio of a figure ``m`` (objective response rate, disease-control rate, median
  duration of response) is

  .. math:: r_m = \\frac{X_m / C_m}{A_m / A^{C}_m},

  with ``X`` the regimen's arm, ``C`` the control arm of the same trial, ``A`` the arm the
  anchor stands for and ``A^C`` the control of the anchor's trial. An absent control counts
  as 1: ``C`` and ``A^C`` absent give the direct ratio ``X_m / A_m`` (the same arm of another
  trial); both present give the indirect comparison through a common control (Bucher et al.,
  J Clin Epidemiol 1997;50:683, on the ratio scale), which keeps the randomisation of each
  trial; a chain of trials multiplies the contrasts of its links;
* the kill rates (induction and maintenance) scale with ``r_ORR``: more responders, a faster
  log-kill (an assumption of proportionality, the simplest monotone link; the model's own
  response at the first scan is far from proportional to the kill, see
  docs/calibration/regimen_library.md, which is why the rule is stated on the parameters and
  its consequences are measured, not tuned);
* the median time to acquired resistance scales with ``r_DoR``: a response lasts until
  resistance; a trial that reports no response duration (``dor_months`` None) leaves it as
  the anchor's (``r_DoR`` taken as 1, an assumption the library's table states);
* the durable-responder share scales with ``r_ORR``: durable responders stay the same share of
  the responders;
* the primary-resistance share follows ``r_DCR`` when a disease-control rate is given on both
  sides: the share of the anchor's controlled patients (1 - primary) scales by ``r_DCR``,
  ``1 - (1 - p_A) r_DCR``; a ratio above 1 cannot lower the share below the anchor's own (0 in
  every shipped regimen: the mechanism is off until the refit, model 5.3), so it stays there
  and the library's table reports the ratio. With ``p_A`` = 0 the rule reproduces the
  regimen's own rate: the anchor's trial patients without disease control are inside its
  calibrated acquired-resistance class, so if the regimen's other patients are controlled as
  often as the anchor's, its controlled share is ``(1 - p) DCR_A = r_DCR DCR_A``, which is
  ``DCR_X`` for a direct comparison (``r_DCR = DCR_X / DCR_A``; model 5.7); a missing rate on
  either side (None) keeps the anchor's share;
* everything else (cycle, resistance spread, PD-L1 multiplier) is the anchor's unless the
  library sets it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

__all__ = ["Figures", "EFFICACY_KEYS", "response_ratio", "scale_efficacy"]

#: the regimen keys this conversion sets
EFFICACY_KEYS = (
    "kill_rate_per_month",
    "maintenance_kill_rate_per_month",
    "resistance_median_months",
    "durable_fraction",
    "primary_resistance_fraction",
)


@dataclass(frozen=True)
class Figures:
    """Response figures of one trial arm (RECIST 1.1, as the paper reports them).

    Attributes
    ----------
    orr : float
        Objective response rate, a fraction in (0, 1].
    dor_months : float or None
        Median duration of response, months (> 0), or None when the paper reports none.
    dcr : float or None
        Disease-control rate (complete + partial response + stable disease), a fraction in
        [orr, 1], or None when no source read gives it.
    """

    orr: float
    dor_months: float | None
    dcr: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.orr <= 1.0:
            raise ValueError(f"orr = {self.orr!r}: must be a fraction in (0, 1]")
        if self.dor_months is not None and not (self.dor_months > 0.0 and math.isfinite(self.dor_months)):
            raise ValueError(f"dor_months = {self.dor_months!r}: must be a positive number of months")
        if self.dcr is not None and not self.orr <= self.dcr <= 1.0:
            raise ValueError(f"dcr = {self.dcr!r}: must be a fraction in [orr, 1] (responders are controlled)")


def _contrast(arm: Figures, control: Figures | None, key: str) -> float | None:
    x = getattr(arm, key)
    if x is None:
        return None
    if control is None:
        return x
    c = getattr(control, key)
    return None if c is None else x / c


def response_ratio(
    links: list[tuple[Figures, Figures | None]], anchor: tuple[Figures, Figures | None], key: str
) -> float | None:
    """The ratio ``r_m`` of the module docstring for figure ``key``.

    Parameters
    ----------
    links : list of (Figures, Figures or None)
        ``(arm, control)`` of each trial from the regimen to the anchor's class, in any order:
        their contrasts multiply. A control of None makes the link a direct (absolute) figure.
    anchor : (Figures, Figures or None)
        The arm the anchor stands for and its trial's control (None: direct). The same object
        twice (a chemotherapy anchor that is itself the control of a same-trial contrast)
        contributes exactly 1, whether or not that arm reports the figure: its contrast with
        itself needs no value.
    key : {"orr", "dor_months", "dcr"}

    Returns
    -------
    float or None
        None when some arm lacks the figure (``dcr``, or ``dor_months`` not reported).
    """
    num = 1.0
    for arm, control in links:
        c = _contrast(arm, control, key)
        if c is None:
            return None
        num *= c
    # an arm against itself is 1 by construction (X/X), even when the arm lacks the figure
    den = 1.0 if anchor[1] is anchor[0] else _contrast(anchor[0], anchor[1], key)
    return None if den is None else num / den


def scale_efficacy(anchor: Mapping[str, float], r_orr: float, r_dor: float | None, r_dcr: float | None = None) -> dict[str, float]:
    """The efficacy keys of a regimen scaled from its anchor's (module docstring).

    Parameters
    ----------
    anchor : mapping
        The anchor regimen's resolved values (at least :data:`EFFICACY_KEYS`).
    r_orr : float
        Response ratio of the objective response rate (> 0).
    r_dor : float or None
        Response ratio of the median response duration (> 0); None (no duration reported)
        keeps the anchor's resistance median.
    r_dcr : float, optional
        Response ratio of the disease-control rate; None leaves the primary-resistance share as
        the anchor's.

    Returns
    -------
    dict
        :data:`EFFICACY_KEYS` -> value.

    Raises
    ------
    ValueError
        For a ratio that is not a positive finite number, or when the durable and primary
        shares would add up to more than 1.
    """
    r_dor = 1.0 if r_dor is None else r_dor
    for name, r in (("r_orr", r_orr), ("r_dor", r_dor)) + ((("r_dcr", r_dcr),) if r_dcr is not None else ()):
        if not (isinstance(r, (int, float)) and math.isfinite(r) and r > 0.0):
            raise ValueError(f"{name} = {r!r}: must be a positive finite ratio")
    primary = float(anchor["primary_resistance_fraction"])
    if r_dcr is not None and r_dcr < 1.0:
        primary = 1.0 - (1.0 - primary) * r_dcr
    durable = float(anchor["durable_fraction"]) * r_orr
    if durable + primary > 1.0:
        raise ValueError(
            f"durable_fraction {durable:.4g} + primary_resistance_fraction {primary:.4g} > 1: the ratios "
            f"(r_orr {r_orr:.4g}, r_dcr {r_dcr}) are beyond what the anchor's response classes can carry"
        )
    return {
        "kill_rate_per_month": float(anchor["kill_rate_per_month"]) * r_orr,
        "maintenance_kill_rate_per_month": float(anchor["maintenance_kill_rate_per_month"]) * r_orr,
        "resistance_median_months": float(anchor["resistance_median_months"]) * r_dor,
        "durable_fraction": durable,
        "primary_resistance_fraction": primary,
    }
