"""Parameter sets of the radiobiology models, each default with its source.

* :class:`TCPParams`: the local-control (TCP) model. Its defaults are the model's shipped,
  calibrated values: the scenario schema (``radiotherapy.tcp_*``) takes its defaults from
  :data:`DEFAULT_TCP_PARAMS`, so the library and the simulation use one set of numbers.
  :func:`solve_tcp_anchors` gives the closed-form solution through the published anchors.
* :data:`ORGAN_NTCP`: Lyman-Kutcher-Burman parameters by organ and endpoint.
* :class:`ReirradiationParams`: recovery of an earlier course's dose before re-irradiation.

Plain data (no numba), so that reading a default compiles nothing.
"""

from __future__ import annotations

import math
from typing import NamedTuple


# --------------------------------------------------------------------------- local control
class TCPParams(NamedTuple):
    """Parameters of the local-control (TCP) model.

    Model (log-logistic dose response, Okunieff P et al., Int J Radiat Oncol Biol Phys
    1995;31:1041 form, in BED10, with a power-law volume term)::

        BED50(V) = bed50_ref_gy * (V / volume_ref_cm3) ** volume_exponent
        TCP(B, V) = B**k / (B**k + BED50(V)**k),   k = 4 * gamma50

    ``B`` is BED with alpha/beta = 10 Gy, ``V`` the lesion (gross tumour) volume in cm3,
    ``gamma50`` the normalised slope at TCP = 50%. TCP is the probability that the lesion is
    controlled for good; the calibration reads the anchors' 1-year local control as TCP
    (assumption: in-field failures after SBRT mostly appear within the first year).

    **The defaults are the model's calibrated values**, the ones the simulation ships with: the
    scenario schema takes the defaults of ``radiotherapy.tcp_bed50_ref_gy``, ``tcp_gamma50``,
    ``tcp_volume_ref_cm3`` and ``tcp_volume_exponent`` from :data:`DEFAULT_TCP_PARAMS`, so that
    ``tcp(b, v)`` is the TCP the model gives. ``oligosim calibrate`` fitted them (calibration of
    2026-11, ``docs/calibration/report.md``; ``docs/model.md`` sections 6.3 and 13) to the local
    control that the study files simulate for Moreno 2020, Cao 2023 and Liu 2020, with the
    lesions the model actually gives those courses, starting from the closed form below. They
    give TCP(100 Gy, 40 cm3) = 0.97, TCP = 0.99 at both Cao anchors, BED50 46.5 Gy at 15 cm3 and
    81.5 Gy at 60 cm3, TCP(75 Gy, 40 cm3) = 0.69.

    Anchors (``../shared/calibration/targets.toml``):

    * Moreno AC et al., J Thorac Oncol 2020;15:101 (as quoted by the 2025 consensus,
      statement 8): BED10 = 100 Gy gives about 90% local control, read at a typical SBRT lesion
      of **40 cm3** (assumption; about a 4.2 cm sphere).
    * Cao Y et al., Radiother Oncol 2023;186:109769: radioresistant lesions < 27.7 cm3 with
      41.2 Gy/5 fx (BED10 75.15 Gy) and >= 27.7 cm3 with 55.2 Gy/5 fx (BED10 116.14 Gy) reach
      >= 95% 1-year local control; read as TCP = 0.95 at **15 cm3** and **45 cm3** (assumption:
      about the geometric middles of 10-27.7 and 30-60 cm3).

    **Closed form.** Read at assumed lesion volumes, the three anchors fix the three parameters
    (:func:`solve_tcp_anchors`; the calibration's starting point)::

        volume_exponent = ln(116.14 / 75.15) / ln(45 / 15)                   = 0.3963
        k = ln(19/9) / ln[(40/15)**0.3963 * 75.15 / 100]                     = 7.257
        gamma50 = k / 4                                                       = 1.814
        bed50_ref_gy = BED50(40 cm3) = 75.15 / 19**(1/k) * (40/15)**0.3963   = 73.88 Gy

    Fit of the rounded closed form:

        ===========================  ==========  ========  ========  =========
        anchor                       BED10 Gy    V cm3     target    model
        ===========================  ==========  ========  ========  =========
        Moreno 2020                  100.00      40        0.90      0.8999
        Cao 2023, 41.2 Gy/5 fx       75.15       15        0.95      0.9500
        Cao 2023, 55.2 Gy/5 fx       116.14      45        0.95      0.9500
        ===========================  ==========  ========  ========  =========

    Consequences of the closed form worth knowing: BED50 is 50.1 Gy at 15 cm3 and 86.8 Gy at 60 cm3;
    TCP(75 Gy, 40 cm3) = 0.53; within Cao's groups TCP varies with volume (41.2 Gy/5 fx gives
    0.98 at 10 cm3 but 0.76 at 27.7 cm3; 55.2 Gy/5 fx gives 0.98 at 30 cm3, 0.89 at 60 cm3),
    so Cao's ">= 95%" holds at the representative volumes, not across each whole group. The
    typical volume is a free choice: the anchors cannot all hold for a typical lesion below
    ~31 cm3 (Cao's small lesions reach 95% at 75 Gy, Moreno's 90% needs 100 Gy), and a smaller
    choice steepens the curve (35 cm3 -> gamma50 3.7), a larger one flattens it
    (50 cm3 -> gamma50 1.0). gamma50 = 1.8 lies within the range of slopes reported for gross
    tumours (Okunieff 1995). The volume exponent is empirical: a Poisson model with clonogens
    proportional to volume gives a far weaker volume effect (ln 3 / alpha, a few Gy for a
    threefold volume) than Cao's two thresholds imply (41 Gy of BED10).

    Attributes
    ----------
    bed50_ref_gy : float
        BED10 giving 50% control at ``volume_ref_cm3``, Gy. Calibrated (closed form 73.88).
    gamma50 : float
        Normalised slope at 50%. Calibrated (closed form 1.814).
    volume_ref_cm3 : float
        Reference volume, cm3: the assumed typical SBRT lesion (40).
    volume_exponent : float
        Power of volume in BED50. Calibrated (closed form 0.3963).
    """

    # the one copy of the model's TCP defaults (oligosim/config/schema.py reads them from here)
    bed50_ref_gy: float = 64.9658
    gamma50: float = 2.437
    volume_ref_cm3: float = 40.0
    volume_exponent: float = 0.4041


DEFAULT_TCP_PARAMS = TCPParams()


def solve_tcp_anchors(
    typical=(100.0, 40.0, 0.90),
    small=(41.2 * (1 + 8.24 / 10), 15.0, 0.95),
    large=(55.2 * (1 + 11.04 / 10), 45.0, 0.95),
) -> TCPParams:
    """The TCP parameters through three anchors, exactly (the closed form of :class:`TCPParams`).

    Parameters
    ----------
    typical, small, large : tuple of (float, float, float)
        Anchors ``(BED10 Gy, volume cm3, TCP)``. ``typical`` fixes the reference volume;
        ``small`` and ``large`` must share one TCP level and fix the volume exponent. Defaults:
        Moreno 2020 read at 40 cm3, Cao 2023's two schedules read at 15 and 45 cm3.

    Returns
    -------
    TCPParams
        The exact solution (about 73.88 Gy, 1.814, 40 cm3, 0.3963 for the defaults).
    """
    (b_t, v_t, p_t), (b_s, v_s, p_s), (b_l, v_l, p_l) = typical, small, large
    if p_s != p_l:
        raise ValueError("small and large anchors must share one TCP level")
    a = math.log(b_l / b_s) / math.log(v_l / v_s)
    odds_s, odds_t = p_s / (1 - p_s), p_t / (1 - p_t)
    # B_p(V) = BED50(V) * odds**(1/k): divide the typical anchor by the small one.
    ratio = (b_t / b_s) / (v_t / v_s) ** a
    k = math.log(odds_t / odds_s) / math.log(ratio)
    bed50_t = b_t / odds_t ** (1 / k)
    return TCPParams(bed50_t, k / 4, v_t, a)


# --------------------------------------------------------------------------- NTCP
class OrganNTCP(NamedTuple):
    """Lyman-Kutcher-Burman parameters of one organ and endpoint.

    Attributes
    ----------
    organ, endpoint : str
        What is modelled.
    td50_gy : float
        EQD2 (uniform whole-organ, or the organ's EUD) giving 50% complication risk, Gy.
    m : float
        Slope parameter (standard deviation of the probit / TD50).
    n_volume : float
        Volume-effect parameter for :func:`geud_gy` (1 = mean dose, -> 0 = maximum dose).
    alpha_beta_gy : float
        alpha/beta used to convert doses to EQD2 for this endpoint, Gy.
    dose_metric : str
        Which dose to feed: "mean" (n ~ 1), "max" (n small) or "geud".
    source : str
        Where the numbers come from.
    """

    organ: str
    endpoint: str
    td50_gy: float
    m: float
    n_volume: float
    alpha_beta_gy: float
    dose_metric: str
    source: str


#: LKB parameters by key. Doses are EQD2 at the endpoint's alpha/beta (the source fits used
#: conventional ~1.8-2.75 Gy fractions; converting to EQD2 first is an assumption).
ORGAN_NTCP: dict[str, OrganNTCP] = {
    "lung_pneumonitis_g2": OrganNTCP(
        "lung",
        "radiation pneumonitis grade >= 2",
        30.8,
        0.37,
        0.99,
        3.0,
        "mean",
        "Seppenwoolde Y et al., Int J Radiat Oncol Biol Phys 2003;55:724 (mean lung dose, "
        "NTD with alpha/beta 3 Gy); the MLD model summarised in QUANTEC, Marks LB et al., "
        "Int J Radiat Oncol Biol Phys 2010;76(3 Suppl):S70",
    ),
    "lung_pneumonitis_emami": OrganNTCP(
        "lung",
        "radiation pneumonitis (clinical)",
        24.5,
        0.18,
        0.87,
        3.0,
        "geud",
        "Burman C et al., Int J Radiat Oncol Biol Phys 1991;21:123 (fit to Emami 1991)",
    ),
    "esophagus_acute_esophagitis_g2": OrganNTCP(
        "esophagus",
        "acute esophagitis grade >= 2 (RTOG/EORTC), without concurrent chemotherapy",
        47.0,
        0.36,
        0.69,
        10.0,
        "geud",
        "Belderbos J et al., Radiother Oncol 2005;75:157 (NSCLC, 2.25-2.75 Gy fractions; "
        "concurrent chemoradiotherapy raised the risk beyond this fit); alpha/beta 10 Gy for "
        "an acute mucosal reaction is an assumption",
    ),
    "esophagus_stricture_perforation": OrganNTCP(
        "esophagus",
        "clinical stricture or perforation (late; proxy for fistula)",
        68.0,
        0.11,
        0.06,
        3.0,
        "max",
        "Burman C et al., Int J Radiat Oncol Biol Phys 1991;21:123 (fit to Emami 1991); using "
        "it for fistula is an assumption",
    ),
    "spinal_cord_myelopathy": OrganNTCP(
        "spinal cord",
        "myelitis / necrosis (radiation myelopathy)",
        66.5,
        0.175,
        0.05,
        2.0,
        "max",
        "Burman C et al., Int J Radiat Oncol Biol Phys 1991;21:123; alpha/beta 2 Gy as in "
        "Nieder C et al., Int J Radiat Oncol Biol Phys 2006;66:1446 (QUANTEC, Kirkpatrick 2010, "
        "fitted 0.87 Gy)",
    ),
}


# --------------------------------------------------------------------------- re-irradiation
class ReirradiationParams(NamedTuple):
    """Recovery of occult damage between two courses.

    The earlier course's EQD2 counts for ``1 - R(t)`` of itself after ``t`` months, with
    ``R(t) = max_recovery_fraction * (1 - 2**(-t / recovery_half_time_months))``.

    Defaults: ``R_max = 0.5``, ``t_half = 6 months`` give R = 0.25 at 6 months, 0.375 at 12
    and 0.47 at 24 months. Sources: spinal-cord re-irradiation practice quoted as about 25%
    recovery after 6 months rising to about 50% later (the clinical rule cited by Doi H et al.,
    Strahlenther Onkol 2021;197:463; Nieder C et al., Int J Radiat Oncol Biol Phys
    2006;66:1446, low myelopathy risk with >= 6 months between courses; QUANTEC, Kirkpatrick JP
    et al., Int J Radiat Oncol Biol Phys 2010;76:S42: partial repair evident from about
    6 months, increasing over the next 2 years). The exponential shape and its use for organs
    other than the spinal cord are assumptions; it is more cautious than "50% at 12 months".

    Attributes
    ----------
    max_recovery_fraction : float
        Long-term fraction of the earlier EQD2 that is forgotten, in [0, 1].
    recovery_half_time_months : float
        Months to reach half of it, > 0.
    """

    max_recovery_fraction: float = 0.5
    recovery_half_time_months: float = 6.0


DEFAULT_REIRRADIATION_PARAMS = ReirradiationParams()

