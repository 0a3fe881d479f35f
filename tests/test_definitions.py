"""Tests of oligosim.definitions against the 2025 consensus text (statements 1 and 2)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oligosim import codes
from oligosim.definitions import (
    Lesion,
    classify,
    count,
    count_metastases,
    estro_eortc_class,
    is_oligometastatic,
    oligometastatic,
)

L = Lesion
LIVER_L, LIVER_R = L("liver", "left"), L("liver", "right")
LUNG_L, LUNG_R = L("lung", "left"), L("lung", "right")
BONE, BRAIN, SOFT = L("bone"), L("brain"), L("soft_tissue")
PRIMARY, REGIONAL = L("primary"), L("regional_node")


def node(station):
    return L("distant_node", station)


def escc(lesions, **kw):
    return oligometastatic(lesions, histology="escc", **kw)


def eac(lesions, **kw):
    return oligometastatic(lesions, histology="eac", **kw)


# ============================================================================= statement 1, ESCC
def test_escc_five_lesions_three_organs_is_oligo():
    """Statement 1: ESCC oligometastasis is <= 5 lesions in <= 3 organs."""
    lesions = [PRIMARY, LIVER_L, LIVER_R, LUNG_L, LUNG_R, BONE]
    assert count(lesions) == (5, 3, 2)
    assert escc(lesions)


def test_escc_six_lesions_not_oligo():
    """Statement 1: more than 5 lesions is not ESCC oligometastasis."""
    assert not escc([LIVER_L, LIVER_R, LUNG_L, LUNG_R, BONE, BONE])


def test_escc_four_in_liver_not_oligo():
    """Statement 1: <= 3 lesions in any one organ system (单个器官系统中的转移瘤数量 ≤ 3)."""
    assert escc([LIVER_L, LIVER_L, LIVER_R])
    assert not escc([LIVER_L, LIVER_L, LIVER_R, LIVER_R])


def test_escc_four_organs_not_oligo():
    """Statement 1: lesions in at most 3 organs."""
    assert not escc([LIVER_L, LUNG_L, BONE, BRAIN])


def test_primary_never_counts():
    """Statement 1 text: the primary tumour is not a metastatic lesion."""
    assert count([PRIMARY]) == (0, 0, 0)
    assert count([PRIMARY], presentation="metachronous") == (0, 0, 0)


def test_no_metastasis_is_not_oligo():
    """Assumption 4: primary and regional nodes alone are not metastatic disease."""
    assert not escc([PRIMARY, REGIONAL])
    assert not eac([PRIMARY, REGIONAL])


def test_regional_nodes_ignored_for_synchronous():
    """Statement 1 text: regional nodes do not count for synchronous disease."""
    lesions = [PRIMARY, REGIONAL, REGIONAL, REGIONAL, LIVER_L, LIVER_R, LUNG_L, LUNG_R, BONE]
    assert count(lesions, presentation="synchronous") == (5, 3, 2)
    assert escc(lesions, presentation="synchronous")


def test_regional_nodes_one_lesion_for_metachronous():
    """Statement 1 text: for metachronous disease all positive regional nodes count as ONE lesion
    (after ESO-Shanghai 13)."""
    four = [LIVER_L, LIVER_R, LUNG_L, LUNG_R]
    assert count([REGIONAL] * 3 + four, presentation="metachronous") == (5, 3, 2)
    assert escc([REGIONAL] * 3 + four, presentation="metachronous")
    assert not escc([REGIONAL] * 3 + four + [BONE], presentation="metachronous")


def test_distant_nodes_count_per_station():
    """Statement 1 text: non-regional nodes count by station; two nodes in one station = one."""
    assert count([node("neck"), node("neck")]) == (1, 1, 1)
    assert count([node("neck"), node("abdominal")]) == (2, 1, 2)


def test_nodes_form_one_organ_system():
    """Assumption 1: regional (metachronous) and non-regional nodes are one nodal organ system."""
    lesions = [REGIONAL, node("neck"), node("upper_mediastinum"), node("abdominal")]
    assert count(lesions, presentation="metachronous") == (4, 1, 4)
    assert not escc(lesions, presentation="metachronous")  # 4 in one organ system


@pytest.mark.parametrize("histology", ["escc", "eac"])
@pytest.mark.parametrize("flag", ["diffuse_serosal", "marrow"])
def test_serosal_and_marrow_never_oligo(histology, flag):
    """Statement 1 text: diffuse serosal disease or bone-marrow involvement is excluded."""
    assert oligometastatic([LIVER_L], histology=histology)
    assert not oligometastatic([LIVER_L], histology=histology, **{flag: True})


@pytest.mark.parametrize("histology", ["escc", "eac"])
def test_untreatable_lesion_not_oligo(histology):
    """Statement 1: all oligometastatic lesions must be suitable for local therapy."""
    assert not oligometastatic([LIVER_L], histology=histology, all_treatable=False)


@pytest.mark.parametrize("histology", ["escc", "eac"])
def test_peritoneum_is_polymetastatic(histology):
    """Statement 1 text: peritoneal metastasis is usually polymetastatic (assumption 3)."""
    assert not oligometastatic([L("peritoneum")], histology=histology)


def test_brain_counts_as_an_ordinary_organ():
    """Statement 1 text: brain metastases are not limited separately (assumption 2)."""
    assert escc([BRAIN, BRAIN, BRAIN, LIVER_L, LUNG_L])
    assert not escc([BRAIN] * 4)
    assert eac([BRAIN, BRAIN, BRAIN])
    assert not eac([BRAIN] * 4)


# ============================================================================= statement 1, EAC
def test_eac_liver_lobes():
    """Statement 1 (OMEC): liver <= 3 in one lobe, <= 2 if both lobes involved."""
    assert eac([LIVER_L, LIVER_L, LIVER_L])
    assert not eac([LIVER_L, LIVER_L, LIVER_R])
    assert eac([LIVER_L, LIVER_R])
    assert not eac([LIVER_R] * 4)


def test_eac_lung_unilateral():
    """Statement 1 (OMEC): lung <= 3 metastases on one side."""
    assert eac([LUNG_R, LUNG_R, LUNG_R])
    assert not eac([LUNG_L, LUNG_R])


def test_eac_two_organs_not_oligo():
    """Statement 1 (OMEC): one organ only."""
    assert not eac([LIVER_L, LUNG_L])
    assert not eac([LIVER_L, node("abdominal")])


def test_eac_bone_and_soft_tissue_single_lesion():
    """Statement 1 (OMEC): one bone or one soft-tissue lesion."""
    assert eac([BONE])
    assert not eac([BONE, BONE])
    assert eac([SOFT])
    assert not eac([SOFT, SOFT])


def test_eac_adrenal_unilateral():
    """Statement 1 (OMEC): one adrenal gland."""
    assert eac([L("adrenal", "left")])
    assert not eac([L("adrenal", "left"), L("adrenal", "right")])


def test_eac_one_distant_nodal_station():
    """Statement 1: EAC oligo is 1 extra-regional nodal station; two stations are not."""
    assert eac([node("abdominal"), node("abdominal")])
    assert not eac([node("abdominal"), node("neck")])


def test_eac_metachronous_regional_recurrence():
    """Assumption 5: a metachronous regional recurrence sits in the nodal system."""
    assert eac([REGIONAL, REGIONAL], presentation="metachronous")
    assert eac([REGIONAL, node("neck")], presentation="metachronous")
    assert not eac([REGIONAL, LIVER_L], presentation="metachronous")
    assert eac([REGIONAL, LIVER_L], presentation="synchronous")


def test_escc_allows_what_eac_forbids():
    """Statement 1: the EAC definition is stricter than the ESCC one."""
    lesions = [LIVER_L, LUNG_L, LUNG_R]
    assert escc(lesions)
    assert not eac(lesions)


# ============================================================================= numba core
def test_core_reads_only_first_n_entries():
    """The kernel passes scratch buffers; entries past n are garbage and must be ignored."""
    liver, lung, left, right = codes.LIVER, codes.LUNG, codes.LEFT, codes.RIGHT
    organ = np.array([liver, lung, liver, liver, liver], dtype=np.int64)
    subsite = np.array([left, right, left, left, left], dtype=np.int64)
    assert tuple(count_metastases(organ, subsite, 2, False)) == (2, 2, 1)
    assert is_oligometastatic(codes.EAC, organ, subsite, 1, False, False, False, True)
    assert not is_oligometastatic(codes.EAC, organ, subsite, 2, False, False, False, True)


def test_core_rejects_bad_codes():
    organ = np.array([99], dtype=np.int64)
    subsite = np.array([0], dtype=np.int64)
    with pytest.raises(ValueError):
        count_metastases(organ, subsite, 1, False)
    with pytest.raises(ValueError):
        count_metastases(organ, subsite, 2, False)  # n beyond the buffer
    with pytest.raises(ValueError):
        is_oligometastatic(7, organ[:0], subsite[:0], 0, False, False, False, True)


# ============================================================ friendly layer errors
def test_lesion_validation_messages():
    with pytest.raises(ValueError, match="unknown organ 'kidney'.*liver"):
        L("kidney")
    with pytest.raises(ValueError, match="'neck' does not fit organ 'liver'.*left, right"):
        L("liver", "neck")
    with pytest.raises(ValueError, match="needs a sub-site"):
        L("distant_node")
    with pytest.raises(ValueError, match="takes no sub-site"):
        L("bone", "left")
    with pytest.raises(ValueError, match="unknown histology"):
        oligometastatic([LIVER_L], histology="sclc")
    with pytest.raises(ValueError, match="unknown presentation"):
        count([LIVER_L], presentation="late")
    with pytest.raises(ValueError, match="unknown context"):
        classify(months_since_primary_diagnosis=1, context="on_chemo")
    with pytest.raises(ValueError, match=">= 0"):
        classify(months_since_primary_diagnosis=-1)
    with pytest.raises(TypeError):
        count(["liver"])


# ============================================================================= statement 2
PROG, STABLE = "progressing_on_systemic", "stable_on_systemic"
POLY, REP = dict(prior_polymetastatic=True), dict(prior_oligo_episode=True)


@pytest.mark.parametrize(
    "history, months, context, expected",
    [
        ({}, 3, "off_systemic", "synchronous_oligometastasis"),
        ({}, 3, PROG, "synchronous_oligometastasis"),
        ({}, 24, "off_systemic", "metachronous_oligorecurrence"),
        ({}, 24, PROG, "metachronous_oligoprogression"),
        ({}, 24, STABLE, "metachronous_oligoprogression"),  # assumption 7
        (REP, 24, "off_systemic", "repeat_oligorecurrence"),
        (REP, 24, PROG, "repeat_oligoprogression"),
        (REP, 24, STABLE, "repeat_oligopersistence"),
        (POLY, 2, "off_systemic", "induced_oligorecurrence"),
        (POLY, 2, PROG, "induced_oligoprogression"),
        (POLY, 2, STABLE, "induced_oligopersistence"),
        # a history of polymetastatic disease decides first: induced, not repeat
        ({**POLY, **REP}, 30, "off_systemic", "induced_oligorecurrence"),
        (dict(oligo=False), 3, "off_systemic", "polymetastatic"),
    ],
)
def test_estro_eortc_classes(history, months, context, expected):
    """Statement 2: the nine ESTRO-EORTC classes (Guckenberger 2020) and polymetastatic."""
    assert classify(**history, months_since_primary_diagnosis=months, context=context) == expected


def test_all_nine_classes_reached():
    """Statement 2: nine classes in all."""
    reached = set()
    for poly in (False, True):
        for rep in (False, True):
            for months in (1.0, 12.0):
                for ctx in range(3):
                    reached.add(estro_eortc_class(True, poly, rep, months, ctx))
    assert reached == set(range(codes.N_ESTRO_CLASSES))
    assert estro_eortc_class(False, False, False, 1.0, codes.OFF_SYSTEMIC) == codes.NOT_OLIGO


def test_six_month_threshold_boundary():
    """Statement 2: 6 months separates synchronous from metachronous (inclusive, assumption 7)."""
    assert classify(months_since_primary_diagnosis=6.0) == "synchronous_oligometastasis"
    assert classify(months_since_primary_diagnosis=6.0001) == "metachronous_oligorecurrence"
    assert (
        classify(months_since_primary_diagnosis=9.0, synchronous_threshold_months=12.0)
        == "synchronous_oligometastasis"
    )


def test_core_rejects_bad_context():
    with pytest.raises(ValueError):
        estro_eortc_class(True, False, False, 1.0, 5)


# ============================================================================= properties
_SUBSITES = {
    "liver": ["left", "right"],
    "lung": ["left", "right"],
    "adrenal": ["left", "right"],
    "distant_node": list(codes.STATION_NAMES),
}
lesion_st = st.sampled_from(codes.ORGAN_NAMES).flatmap(
    lambda o: (
        st.sampled_from(_SUBSITES[o]).map(lambda s: L(o, s)) if o in _SUBSITES else st.just(L(o))
    )
)
lesions_st = st.lists(lesion_st, max_size=9)
presentation_st = st.sampled_from(["synchronous", "metachronous"])
histology_st = st.sampled_from(["escc", "eac"])


@settings(max_examples=300, deadline=None)
@given(lesions_st, lesion_st, presentation_st, histology_st)
def test_adding_a_lesion_never_makes_oligo(lesions, extra, presentation, histology):
    """Statement 1 limits are upper bounds: more disease never turns polymetastatic into oligo."""
    if count(lesions, presentation=presentation).n_lesions == 0:
        return  # assumption 4: no metastasis is not oligo, but one lesion may be
    kw = dict(histology=histology, presentation=presentation)
    if not oligometastatic(lesions, **kw):
        assert not oligometastatic(lesions + [extra], **kw)


@settings(max_examples=300, deadline=None)
@given(st.data(), lesions_st, presentation_st, histology_st)
def test_order_of_lesions_does_not_matter(data, lesions, presentation, histology):
    """Statement 1 counts lesions and organs; the order they are listed in is irrelevant."""
    shuffled = data.draw(st.permutations(lesions))
    kw = dict(histology=histology, presentation=presentation)
    assert oligometastatic(shuffled, **kw) == oligometastatic(lesions, **kw)
    assert count(shuffled, presentation=presentation) == count(lesions, presentation=presentation)


@settings(max_examples=200, deadline=None)
@given(lesions_st)
def test_eac_oligo_implies_escc_oligo(lesions):
    """Statement 1: every EAC-oligo pattern also meets the broader ESCC limits."""
    if eac(lesions):
        assert escc(lesions)
