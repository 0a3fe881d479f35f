"""Clinical definitions of oligometastatic esophageal cancer (consensus statements 1 and 2).

Source: Experts consensus on radiotherapy for patients with oligometastatic esophageal cancer
(2025 edition), Chin J Radiol Med Prot 2025;45(1):1-17 (``consensus-2025.txt``), statement 1
("专家共识一", definition and counting rules) and statement 2 ("专家共识二", the ESTRO-EORTC
classification of Guckenberger et al., Lancet Oncol 2020).

Two layers:

* a numba core (``count_metastases``, ``is_oligo_escc``, ``is_oligo_eac``,
  ``is_oligometastatic``, ``estro_eortc_class``) taking only integer arrays and scalars, so the
  simulation kernel can call it inside its event loop;
* a friendly layer (``Lesion``, ``count``, ``oligometastatic``, ``classify``) that converts names
  to the codes of :mod:`oligosim.codes`, checks them, and calls the core.

Modelling assumptions (each marked ASSUMPTION where it is made, for ``docs/model.md``):

1. Lymph nodes form one organ system. Statement 1 limits lesions "in a single organ system"
   (单个器官系统); for the organ count all lymph nodes (regional nodes when they count, and all
   non-regional stations) are one nodal organ system, so e.g. two distant stations plus a
   metachronous regional recurrence are 3 lesions in 1 organ.
2. Brain metastases "are not limited separately" (本共识中对食管癌颅内寡转移的定义不再单独予以限制):
   read as *no brain-specific number limit* (the older 1-4 brain lesion rule is dropped). The
   brain is an ordinary organ under the histology's general rule (ESCC: <= 3 in it and counted in
   the <= 5 total; EAC: <= 3 in the one organ), and its lesions must be treatable by stereotactic
   radiotherapy, which enters through ``all_treatable``. The OMEC definition itself excluded
   patients with brain metastases; the consensus does not, so neither do we.
3. Peritoneal metastasis is polymetastatic for both histologies: "腹膜转移通常被认为是多发转移性
   疾病状态, 需要与 OMD 不同的治疗方式 (例如腹腔热灌注化疗)" — it needs a different, non-local
   treatment, which also fails statement 1's "all lesions suitable for local therapy". The text
   says it in the adenocarcinoma paragraph but as a general statement, so it is applied to ESCC
   too. A discrete peritoneal nodule (``codes.PERITONEUM``) therefore makes the patient
   polymetastatic; it is still counted by ``count_metastases``.
4. A patient with no counted lesion (e.g. synchronous disease with only the primary and regional
   nodes) is not oligometastatic: there is no metastatic disease to classify.
5. EAC: "1 organ with <= 3 metastases OR 1 extra-regional nodal station" is exclusive, so
   exactly one organ system may be involved; a nodal system may hold at most one distant station.
   A metachronous regional recurrence (one lesion) sits in the nodal system, so it may accompany
   one distant station but not an organ metastasis.
6. Presentation for counting: only synchronous disease ignores regional nodes (primary in place,
   nodes belong to the locoregional disease). Metachronous, induced and repeat episodes use the
   metachronous rule in the friendly layer; the kernel passes the flag itself.
7. ESTRO-EORTC: "within 6 months" is inclusive (<= 6.0 months is synchronous). A de novo
   metachronous episode found during systemic therapy is oligoprogression whether the lesions are
   progressing or "stable" (new lesions under therapy are progression; Guckenberger 2020 has no
   metachronous oligopersistence class).

The core reads the constants of :mod:`oligosim.codes` at compile time; ``cache=True`` alone does
not notice edits to ``codes.py``, so :mod:`oligosim._numba_cache` drops the caches when it changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numba.extending
import numpy as np

from oligosim import codes
from oligosim.codes import (  # the core reads these at compile time
    ADRENAL, BONE, DISTANT_NODE, EAC, ESCC, INDUCED_OLIGOPERSISTENCE, INDUCED_OLIGOPROGRESSION,
    INDUCED_OLIGORECURRENCE, LEFT, LIVER, LUNG, METACHRONOUS_OLIGOPROGRESSION, METACHRONOUS_OLIGORECURRENCE,
    N_ORGANS, N_STATIONS, NOT_OLIGO, OFF_SYSTEMIC, PERITONEUM, PRIMARY, PROGRESSING_ON_SYSTEMIC, REGIONAL_NODE,
    REPEAT_OLIGOPERSISTENCE, REPEAT_OLIGOPROGRESSION, REPEAT_OLIGORECURRENCE, RIGHT, SOFT_TISSUE,
    STABLE_ON_SYSTEMIC, SYNCHRONOUS_OLIGOMETASTASIS,
)

# ----------------------------------------------------------------------------- limits
# Statement 1, ESCC: "3 个器官内 ≤ 5 个转移灶, 且单个器官系统中的转移瘤数量 ≤ 3 个".
ESCC_MAX_LESIONS = 5
ESCC_MAX_ORGANS = 3
ESCC_MAX_PER_ORGAN = 3
# Statement 1, EAC after OMEC: "1 个器官 ≤3 个转移灶或累及 1 个区域外淋巴结站"; organ-specific:
# "两叶肝脏 ≤2 个转移灶, 单叶肝脏 ≤3 个转移灶, 单侧肺 ≤3 个转移灶, 1 处远处淋巴结转移,
# 单侧肾上腺转移, 骨或者软组织 1 处转移灶".
EAC_MAX_PER_ORGAN = 3
EAC_MAX_LIVER_BOTH_LOBES = 2
EAC_MAX_DISTANT_STATIONS = 1
EAC_MAX_BONE = 1
EAC_MAX_SOFT_TISSUE = 1
#: ESTRO-EORTC (Guckenberger 2020) synchronous/metachronous threshold, months
SYNCHRONOUS_THRESHOLD_MONTHS = 6.0

# ASSUMPTION 1: every lymph node lesion is tallied in this one organ-system slot.
NODAL_SYSTEM = DISTANT_NODE

# A numpy copy so numba indexes it as a compile-time constant array.
_N_SUBSITES = np.array(codes.N_SUBSITES, dtype=np.int64)


# ============================================================================= numba core
# _nrt=True: shared by Python and the kernel (no caller's setting inherited; _kernels/__init__)
@numba.njit(cache=True, _nrt=True)
def new_tally():
    """Scratch for the tallies of the functions below: the three arrays :func:`_tally` fills
    (per organ system, per side, stations seen; any integer type for the last). Passed as
    ``scratch``, it spares each call allocating them (the kernel keeps them in the patient's
    record: ``_kernels.state.tally_scratch``). Its contents are overwritten."""
    return np.zeros(N_ORGANS, np.int64), np.zeros((N_ORGANS, 2), np.int64), np.zeros(N_STATIONS, np.bool_)


def _scratch(scratch):
    """``scratch``, or a :func:`new_tally` if None (chosen by type when numba compiles a caller)."""
    return new_tally() if scratch is None else scratch


@numba.extending.overload(_scratch)
def _scratch_typed(scratch):
    if isinstance(scratch, (numba.types.NoneType, numba.types.Omitted)):
        return lambda scratch: new_tally()
    return lambda scratch: scratch


@numba.njit(cache=True, _nrt=True)
def _tally(organ, subsite, n, metachronous, scratch=None):
    """Tally counted lesions per organ system and per side, into ``scratch`` (:func:`new_tally`)
    if given, else into new arrays.

    Returns
    -------
    per_system : int64 array (N_ORGANS,)
        Counted lesions per organ code; all lymph nodes go to ``NODAL_SYSTEM``.
    per_side : int64 array (N_ORGANS, 2)
        Counted lesions per left/right sub-site, for the sided organs (liver, lung, adrenal).
    n_stations : int
        Number of distinct non-regional nodal stations involved.
    """
    if n < 0 or n > organ.shape[0] or n > subsite.shape[0]:
        raise ValueError("n must lie between 0 and the length of the organ/subsite arrays")
    per_system, per_side, station_seen = _scratch(scratch)
    per_system[:] = 0
    per_side[:] = 0
    station_seen[:] = False
    regional_seen = False
    n_stations = 0
    for i in range(n):
        o = organ[i]
        s = subsite[i]
        if o < 0 or o >= N_ORGANS:
            raise ValueError("organ code out of range")
        if s < 0 or s >= _N_SUBSITES[o]:
            raise ValueError("sub-site code out of range for its organ")
        if o == PRIMARY:
            # The primary tumour is never a metastasis.
            continue
        if o == REGIONAL_NODE:
            # Statement 1 text: regional nodes do not count for synchronous disease (after the
            # European NSCLC consensus); for metachronous disease all positive regional nodes
            # together count as one lesion (after ESO-Shanghai 13).
            if metachronous and not regional_seen:
                regional_seen = True
                per_system[NODAL_SYSTEM] += 1
            continue
        if o == DISTANT_NODE:
            # Statement 1 text: non-regional nodes count by the number of stations involved.
            if not station_seen[s]:
                station_seen[s] = True
                n_stations += 1
                per_system[NODAL_SYSTEM] += 1
            continue
        per_system[o] += 1
        if _N_SUBSITES[o] == 2:
            per_side[o, s] += 1
    return per_system, per_side, n_stations


@numba.njit(cache=True, _nrt=True)
def count_metastases(organ, subsite, n, metachronous, scratch=None):
    """Count metastatic lesions by the counting rules of consensus statement 1.

    Parameters
    ----------
    organ, subsite : int64 ndarray
        Organ and sub-site codes of each lesion (:mod:`oligosim.codes`). Only the first ``n``
        entries are read, so the kernel can pass scratch buffers.
    n : int
        Number of valid entries.
    metachronous : bool
        Use the metachronous rule (all positive regional nodes = one lesion) instead of the
        synchronous one (regional nodes not counted).
    scratch : tuple, optional
        :func:`new_tally`'s arrays, overwritten: spares three allocations per call.

    Returns
    -------
    n_lesions : int
        Counted lesions: the primary never counts; regional nodes as above; non-regional nodes
        one per station; every other lesion one each.
    n_organs : int
        Involved organ systems; all lymph nodes are one nodal system (an assumption, see the
        module docstring).
    max_in_one_organ : int
        Largest number of counted lesions in one organ system.
    """
    return _summary(_tally(organ, subsite, n, metachronous, scratch)[0])


@numba.njit(cache=True, _nrt=True)
def _summary(per_system):
    """(counted lesions, involved organ systems, most in one system) of a tally."""
    n_lesions = 0
    n_organs = 0
    max_in_one = 0
    for o in range(N_ORGANS):
        c = per_system[o]
        n_lesions += c
        if c > 0:
            n_organs += 1
        if c > max_in_one:
            max_in_one = c
    return n_lesions, n_organs, max_in_one


@numba.njit(cache=True, _nrt=True)
def _excluded(diffuse_serosal, marrow, all_treatable):
    # Statement 1 text: diffuse serosal disease (meninges, pericardium, pleura, mesentery) and
    # bone-marrow involvement are outside the definition because they cannot be treated
    # radically; statement 1: every oligometastatic lesion must suit local therapy.
    return diffuse_serosal or marrow or not all_treatable


@numba.njit(cache=True, _nrt=True)
def is_oligo_escc(organ, subsite, n, metachronous, diffuse_serosal, marrow, all_treatable, scratch=None):
    """Oligometastatic ESCC (statement 1): <= 5 lesions in <= 3 organs, <= 3 in any one organ.

    Parameters
    ----------
    organ, subsite, n, metachronous
        As for :func:`count_metastases`.
    diffuse_serosal : bool
        Diffuse serosal disease (meninges, pericardium, pleura, mesentery): never oligo.
    marrow : bool
        Bone-marrow involvement: never oligo.
    all_treatable : bool
        Every lesion is amenable to local therapy; otherwise not oligo.
    scratch : tuple, optional
        As for :func:`count_metastases`.

    Returns
    -------
    bool
        True when the disease is oligometastatic. No counted lesion, or any peritoneal lesion,
        gives False (assumptions 3 and 4 of the module docstring).
    """
    if _excluded(diffuse_serosal, marrow, all_treatable):
        return False
    per_system, _, _ = _tally(organ, subsite, n, metachronous, scratch)
    if per_system[PERITONEUM] > 0:
        return False
    n_lesions, n_organs, max_in_one = _summary(per_system)
    return (
        n_lesions >= 1
        and n_lesions <= ESCC_MAX_LESIONS
        and n_organs <= ESCC_MAX_ORGANS
        and max_in_one <= ESCC_MAX_PER_ORGAN
    )


@numba.njit(cache=True, _nrt=True)
def is_oligo_eac(organ, subsite, n, metachronous, diffuse_serosal, marrow, all_treatable, scratch=None):
    """Oligometastatic EAC (statement 1, after the European OMEC Delphi consensus).

    One organ with <= 3 lesions, or one extra-regional nodal station, with the organ-specific
    limits: liver <= 2 lesions if both lobes are involved, <= 3 in one lobe; lung <= 3 and
    unilateral; one distant nodal station; one adrenal gland; one bone or one soft-tissue
    lesion. Brain: only the general <= 3 in the one organ (assumption 2). Peritoneum: never
    (assumption 3).

    Parameters
    ----------
    organ, subsite, n, metachronous, diffuse_serosal, marrow, all_treatable, scratch
        As for :func:`is_oligo_escc`.

    Returns
    -------
    bool
        True when the disease is oligometastatic.
    """
    if _excluded(diffuse_serosal, marrow, all_treatable):
        return False
    per_system, per_side, n_stations = _tally(organ, subsite, n, metachronous, scratch)
    if per_system[PERITONEUM] > 0:
        return False
    n_lesions = 0
    n_organs = 0
    the_organ = -1
    for o in range(N_ORGANS):
        if per_system[o] > 0:
            n_lesions += per_system[o]
            n_organs += 1
            the_organ = o
    # Assumption 5: "1 organ ... or 1 extra-regional nodal station" -> one organ system only.
    if n_lesions == 0 or n_organs != 1:
        return False
    c = per_system[the_organ]
    if c > EAC_MAX_PER_ORGAN:
        return False
    if the_organ == LIVER:
        both_lobes = per_side[LIVER, LEFT] > 0 and per_side[LIVER, RIGHT] > 0
        return not (both_lobes and c > EAC_MAX_LIVER_BOTH_LOBES)
    if the_organ == LUNG:
        return not (per_side[LUNG, LEFT] > 0 and per_side[LUNG, RIGHT] > 0)
    if the_organ == ADRENAL:
        return not (per_side[ADRENAL, LEFT] > 0 and per_side[ADRENAL, RIGHT] > 0)
    if the_organ == NODAL_SYSTEM:
        return n_stations <= EAC_MAX_DISTANT_STATIONS
    if the_organ == BONE:
        return c <= EAC_MAX_BONE
    if the_organ == SOFT_TISSUE:
        return c <= EAC_MAX_SOFT_TISSUE
    # Brain (and any organ without a specific rule): the general <= 3 already checked.
    return True


@numba.njit(cache=True, _nrt=True)
def is_oligometastatic(
    histology, organ, subsite, n, metachronous, diffuse_serosal, marrow, all_treatable, scratch=None
):
    """Dispatch to :func:`is_oligo_escc` or :func:`is_oligo_eac` on ``histology``.

    Parameters
    ----------
    histology : int
        ``codes.ESCC`` or ``codes.EAC``.
    organ, subsite, n, metachronous, diffuse_serosal, marrow, all_treatable, scratch
        As for :func:`is_oligo_escc`.

    Returns
    -------
    bool
    """
    args = (organ, subsite, n, metachronous, diffuse_serosal, marrow, all_treatable, scratch)
    if histology == ESCC:
        return is_oligo_escc(*args)
    if histology == EAC:
        return is_oligo_eac(*args)
    raise ValueError("histology code must be ESCC or EAC")


@numba.njit(cache=True, _nrt=True)
def _by_context(context, recurrence, progression, persistence):
    if context == OFF_SYSTEMIC:
        return recurrence
    if context == PROGRESSING_ON_SYSTEMIC:
        return progression
    return persistence  # STABLE_ON_SYSTEMIC; the caller has validated context


@numba.njit(cache=True, _nrt=True)
def estro_eortc_class(
    is_oligo,
    prior_polymetastatic,
    prior_oligo_episode,
    months_since_primary_diagnosis,
    context,
    synchronous_threshold_months=SYNCHRONOUS_THRESHOLD_MONTHS,
):
    """ESTRO-EORTC class of an episode (statement 2; Guckenberger et al., Lancet Oncol 2020).

    Parameters
    ----------
    is_oligo : bool
        The episode meets the oligometastasis definition; if not, ``codes.NOT_OLIGO``.
    prior_polymetastatic : bool
        History of polymetastatic disease: induced oligometastasis (checked first).
    prior_oligo_episode : bool
        History of an earlier oligometastatic episode: repeat oligometastasis.
    months_since_primary_diagnosis : float
        Time from the primary's diagnosis to this episode's diagnosis (de novo only).
    context : int
        ``codes.OFF_SYSTEMIC`` (oligorecurrence), ``PROGRESSING_ON_SYSTEMIC`` (oligoprogression)
        or ``STABLE_ON_SYSTEMIC`` (oligopersistence).
    synchronous_threshold_months : float, optional
        De novo episodes diagnosed within this time (inclusive) are synchronous. 6 months after
        Kim et al. and Mekenkamp et al., as ESTRO-EORTC adopted it.

    Returns
    -------
    int
        One of the nine ``codes.*_OLIGO*`` class codes, or ``codes.NOT_OLIGO``.
    """
    # The three context codes are 0, 1, 2 (codes.CONTEXT_NAMES); anything else is a caller bug.
    if context < OFF_SYSTEMIC or context > STABLE_ON_SYSTEMIC:
        raise ValueError("context code must be a codes.CONTEXT_NAMES index")
    if not is_oligo:
        return NOT_OLIGO
    if prior_polymetastatic:
        return _by_context(
            context, INDUCED_OLIGORECURRENCE, INDUCED_OLIGOPROGRESSION, INDUCED_OLIGOPERSISTENCE
        )
    if prior_oligo_episode:
        return _by_context(
            context, REPEAT_OLIGORECURRENCE, REPEAT_OLIGOPROGRESSION, REPEAT_OLIGOPERSISTENCE
        )
    if months_since_primary_diagnosis <= synchronous_threshold_months:
        # Assumption 7: the boundary itself counts as "within 6 months".
        return SYNCHRONOUS_OLIGOMETASTASIS
    # De novo metachronous: off therapy -> oligorecurrence; found during systemic therapy ->
    # oligoprogression whether "progressing" or "stable" (assumption 7).
    return _by_context(
        context,
        METACHRONOUS_OLIGORECURRENCE,
        METACHRONOUS_OLIGOPROGRESSION,
        METACHRONOUS_OLIGOPROGRESSION,
    )


# ============================================================================= friendly layer
#: name returned by :func:`classify` for a polymetastatic episode
POLYMETASTATIC = "polymetastatic"


def _subsite_names(organ: int) -> tuple[str, ...]:
    if organ == DISTANT_NODE or organ == REGIONAL_NODE:
        return codes.STATION_NAMES
    if codes.N_SUBSITES[organ] == 2:
        return codes.SIDE_NAMES
    return ()


def _code(kind: str, names: tuple[str, ...], value: object) -> int:
    if not isinstance(value, str) or value not in names:
        raise ValueError(f"unknown {kind} {value!r}; allowed: {', '.join(names)}")
    return names.index(value)


@dataclass(frozen=True)
class Lesion:
    """One lesion, by names.

    Parameters
    ----------
    organ : str
        One of ``codes.ORGAN_NAMES`` ("primary", "regional_node", "liver", "lung",
        "distant_node", "bone", "brain", "adrenal", "soft_tissue", "peritoneum").
    subsite : str or None
        Required for organs with sub-sites, because the counting depends on them: "left" or
        "right" for liver (lobe), lung (side) and adrenal (side); "neck", "upper_mediastinum",
        "lower_mediastinum" or "abdominal" for a nodal station: required for a distant node,
        optional for a regional node (counting ignores it). None for the other organs.

    Raises
    ------
    ValueError
        For an unknown organ, or a sub-site missing, unknown or not fitting the organ.
    """

    organ: str
    subsite: str | None = None

    def __post_init__(self) -> None:
        o = _code("organ", codes.ORGAN_NAMES, self.organ)
        allowed = _subsite_names(o)
        if not allowed:
            if self.subsite is not None:
                raise ValueError(f"organ {self.organ!r} takes no sub-site, got {self.subsite!r}")
        elif self.subsite is None and o != REGIONAL_NODE:
            raise ValueError(
                f"organ {self.organ!r} needs a sub-site; allowed: {', '.join(allowed)}"
            )
        elif self.subsite is not None and self.subsite not in allowed:
            raise ValueError(
                f"sub-site {self.subsite!r} does not fit organ {self.organ!r}; "
                f"allowed: {', '.join(allowed)}"
            )

    @property
    def code_pair(self) -> tuple[int, int]:
        """``(organ_code, subsite_code)`` as the numba core takes them."""
        o = codes.ORGAN_NAMES.index(self.organ)
        allowed = _subsite_names(o)
        return o, (allowed.index(self.subsite) if allowed and self.subsite is not None else codes.NO_SUBSITE)


class Counts(NamedTuple):
    """Result of :func:`count`."""

    n_lesions: int
    n_organs: int
    max_in_one_organ: int


def _arrays(lesions: Iterable[Lesion]) -> tuple[np.ndarray, np.ndarray, int]:
    lesions = list(lesions)
    for x in lesions:
        if not isinstance(x, Lesion):
            raise TypeError(f"expected Lesion, got {type(x).__name__}: {x!r}")
    pairs = [x.code_pair for x in lesions]
    organ = np.array([p[0] for p in pairs], dtype=np.int64)
    subsite = np.array([p[1] for p in pairs], dtype=np.int64)
    return organ, subsite, len(pairs)


def _metachronous(presentation: str) -> bool:
    # Assumption 6: only synchronous disease (primary in place) ignores regional nodes.
    return _code("presentation", codes.PRESENTATION_NAMES, presentation) != codes.SYNCHRONOUS


def count(lesions: Iterable[Lesion], *, presentation: str = "synchronous") -> Counts:
    """Count lesions and organs by the rules of statement 1.

    Parameters
    ----------
    lesions : iterable of Lesion
    presentation : str
        One of ``codes.PRESENTATION_NAMES``. "synchronous" ignores regional nodes; the others
        count all positive regional nodes as one lesion.

    Returns
    -------
    Counts
        ``(n_lesions, n_organs, max_in_one_organ)``, all lymph nodes being one organ system.
    """
    organ, subsite, n = _arrays(lesions)
    counts = count_metastases(organ, subsite, n, _metachronous(presentation))
    return Counts(*(int(v) for v in counts))


def oligometastatic(
    lesions: Iterable[Lesion],
    *,
    histology: str = "escc",
    presentation: str = "synchronous",
    diffuse_serosal: bool = False,
    marrow: bool = False,
    all_treatable: bool = True,
) -> bool:
    """Whether the lesions make oligometastatic disease (statement 1).

    Parameters
    ----------
    lesions : iterable of Lesion
    histology : str
        "escc" (<= 5 lesions, <= 3 organs, <= 3 per organ) or "eac" (OMEC definition).
    presentation : str
        One of ``codes.PRESENTATION_NAMES``; decides how regional nodes count.
    diffuse_serosal, marrow : bool
        Diffuse serosal disease or bone-marrow involvement: never oligometastatic.
    all_treatable : bool
        Every lesion is amenable to local therapy.

    Returns
    -------
    bool
    """
    h = _code("histology", codes.HISTOLOGY_NAMES, histology)
    organ, subsite, n = _arrays(lesions)
    meta = _metachronous(presentation)
    return bool(is_oligometastatic(h, organ, subsite, n, meta, bool(diffuse_serosal), bool(marrow), bool(all_treatable)))


def classify(
    *,
    oligo: bool = True,
    prior_polymetastatic: bool = False,
    prior_oligo_episode: bool = False,
    months_since_primary_diagnosis: float,
    context: str = "off_systemic",
    synchronous_threshold_months: float = SYNCHRONOUS_THRESHOLD_MONTHS,
) -> str:
    """ESTRO-EORTC class name of an episode (statement 2).

    Parameters
    ----------
    oligo : bool
        The episode is oligometastatic; if not, "polymetastatic" is returned.
    prior_polymetastatic, prior_oligo_episode : bool
        Patient history: induced, respectively repeat, oligometastasis.
    months_since_primary_diagnosis : float
        Months from primary diagnosis to this episode (>= 0).
    context : str
        One of ``codes.CONTEXT_NAMES``: "off_systemic", "progressing_on_systemic",
        "stable_on_systemic".
    synchronous_threshold_months : float
        Inclusive synchronous window, 6 months by default.

    Returns
    -------
    str
        A name from ``codes.ESTRO_CLASS_NAMES`` or "polymetastatic".
    """
    c = _code("context", codes.CONTEXT_NAMES, context)
    months = float(months_since_primary_diagnosis)
    if math.isnan(months) or months < 0:
        raise ValueError(
            f"months_since_primary_diagnosis must be >= 0, got {months_since_primary_diagnosis!r}"
        )
    k = estro_eortc_class(
        bool(oligo),
        bool(prior_polymetastatic),
        bool(prior_oligo_episode),
        months,
        c,
        float(synchronous_threshold_months),
    )
    return POLYMETASTATIC if k == NOT_OLIGO else codes.ESTRO_CLASS_NAMES[k]
