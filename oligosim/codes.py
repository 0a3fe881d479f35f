"""Integer codes shared by the front end, the kernels and the results.

Kernels hold no strings or objects, so every categorical quantity crosses the boundary as one
of these small integers. The tuples of names (``ORGAN_NAMES`` ...) are indexed by the code and
are what configs and reports use.
"""

#: hard cap on lesion slots per patient: the kernel's lesion record is this wide
LESION_CAP_MAX = 64
#: at most this many named earlier RT courses in cohort.prior_rt_courses (the kernel's entry record is this wide)
MAX_PRIOR_COURSES = 8

# ----------------------------------------------------------------------------- histology
ESCC = 0  #: esophageal squamous cell carcinoma
EAC = 1  #: esophageal adenocarcinoma
HISTOLOGY_NAMES = ("escc", "eac")

# ----------------------------------------------------------------------------- organs
# A lesion's organ. PRIMARY is the esophageal tumour itself (in place for synchronous disease),
# REGIONAL_NODE the regional lymph nodes; neither counts as a distant site for synchronous
# disease (consensus statement 1 text).
PRIMARY = 0
REGIONAL_NODE = 1
LIVER = 2
LUNG = 3
DISTANT_NODE = 4  #: non-regional lymph node, counted per station
BONE = 5
BRAIN = 6
ADRENAL = 7
SOFT_TISSUE = 8  #: other soft tissue
PERITONEUM = 9  #: a discrete peritoneal nodule (diffuse serosal disease is a patient flag)
N_ORGANS = 10
ORGAN_NAMES = (
    "primary",
    "regional_node",
    "liver",
    "lung",
    "distant_node",
    "bone",
    "brain",
    "adrenal",
    "soft_tissue",
    "peritoneum",
)
#: The aggregate of disease beyond the lesion cap (model 4.2, ``disease.uncounted_disease =
#: "grows"``): organ code UNCOUNTED + histology, so that its lethality weight is the histology's
#: mean over the distant organs (``ModelParams.death_weight`` has N_ORGANS + 2 entries). It is
#: never seen, never symptomatic and never treated locally.
UNCOUNTED = N_ORGANS
#: organs that can hold a distant metastasis (everything except the primary and regional nodes)
METASTATIC_ORGANS = (LIVER, LUNG, DISTANT_NODE, BONE, BRAIN, ADRENAL, SOFT_TISSUE, PERITONEUM)

# ----------------------------------------------------------------------------- sub-sites
# The meaning of a lesion's sub-site code depends on its organ.
NO_SUBSITE = 0
LEFT = 0  #: liver: left lobe; lung: left lung; adrenal: left gland
RIGHT = 1  #: liver: right lobe; lung: right lung; adrenal: right gland
# distant (non-regional) nodal stations
STATION_NECK = 0  #: supraclavicular / cervical
STATION_UPPER_MEDIASTINUM = 1
STATION_LOWER_MEDIASTINUM = 2  #: middle and lower mediastinum
STATION_ABDOMINAL = 3  #: abdominal or retroperitoneal
N_STATIONS = 4
STATION_NAMES = ("neck", "upper_mediastinum", "lower_mediastinum", "abdominal")
# The primary's sub-site is its level on the same scale (cervical, upper thoracic, middle/lower
# thoracic, abdominal/junctional), drawn by locoregional.primary_level. Regional nodes carry a
# station too, on the same craniocaudal levels (cervical paraesophageal,
# upper mediastinal, middle/lower mediastinal, perigastric/celiac): it decides which nodes one
# nodal RT field covers and which failures are marginal (model 6.8, 7.4). Counting ignores it:
# all regional nodes together are one lesion for metachronous disease (statement 1 text).
#: RT sites of a metastasis schedule table (radiotherapy.schedules, model 6.1): each metastatic
#: organ, except distant nodes, which go by station (node_<station>)
SITE_NAMES = tuple(ORGAN_NAMES[o] for o in (LIVER, LUNG, BONE, BRAIN, ADRENAL, SOFT_TISSUE, PERITONEUM)) + tuple(
    f"node_{s}" for s in STATION_NAMES
)


def site_cells(site: str) -> list[tuple[int, int]]:
    """The (organ, subsite) cells a site name of :data:`SITE_NAMES` stands for."""
    if site.startswith("node_"):
        return [(DISTANT_NODE, STATION_NAMES.index(site[len("node_"):]))]
    organ = ORGAN_NAMES.index(site)
    return [(organ, s) for s in range(N_STATIONS)]


SIDE_NAMES = ("left", "right")
#: number of sub-site codes per organ (1 = no sub-site)
N_SUBSITES = (N_STATIONS, N_STATIONS, 2, 2, N_STATIONS, 1, 1, 2, 1, 1)

# ----------------------------------------------------------------------------- presentation
SYNCHRONOUS = 0  #: metastasis within 6 months of primary diagnosis, primary in place
METACHRONOUS = 1  #: after treatment of the primary; disease-free interval matters
INDUCED = 2  #: polymetastatic disease made oligometastatic by systemic therapy
REPEAT = 3  #: oligometastasis again after an earlier oligometastatic episode
PRESENTATION_NAMES = ("synchronous", "metachronous", "induced", "repeat")

# ----------------------------------------------------------------------------- imaging
CT = 0
PET_CT = 1
MRI = 2
MODALITY_NAMES = ("ct", "pet_ct", "mri")

# ----------------------------------------------------------------------------- ESTRO-EORTC
# The nine classes of Guckenberger et al., Lancet Oncol 2020 (consensus statement 2).
# Treatment context at the time of diagnosis of the episode:
OFF_SYSTEMIC = 0  #: no active systemic therapy: oligorecurrence
PROGRESSING_ON_SYSTEMIC = 1  #: progressing lesions during systemic therapy: oligoprogression
STABLE_ON_SYSTEMIC = 2  #: persisting, not progressing lesions during systemic therapy
CONTEXT_NAMES = ("off_systemic", "progressing_on_systemic", "stable_on_systemic")

SYNCHRONOUS_OLIGOMETASTASIS = 0
METACHRONOUS_OLIGORECURRENCE = 1
METACHRONOUS_OLIGOPROGRESSION = 2
REPEAT_OLIGORECURRENCE = 3
REPEAT_OLIGOPROGRESSION = 4
REPEAT_OLIGOPERSISTENCE = 5
INDUCED_OLIGORECURRENCE = 6
INDUCED_OLIGOPROGRESSION = 7
INDUCED_OLIGOPERSISTENCE = 8
N_ESTRO_CLASSES = 9
NOT_OLIGO = -1  #: the episode is polymetastatic (not an oligometastatic class)
ESTRO_CLASS_NAMES = (
    "synchronous_oligometastasis",
    "metachronous_oligorecurrence",
    "metachronous_oligoprogression",
    "repeat_oligorecurrence",
    "repeat_oligoprogression",
    "repeat_oligopersistence",
    "induced_oligorecurrence",
    "induced_oligoprogression",
    "induced_oligopersistence",
)

# ----------------------------------------------------------------------------- toxicity
LEUKOPENIA = 0
NEUTROPENIA = 1
THROMBOCYTOPENIA = 2
PNEUMONITIS = 3
ESOPHAGITIS = 4
FISTULA = 5  #: esophageal fistula
FATIGUE = 6
NAUSEA = 7
VOMITING = 8
#: the types a systemic line can cause (a regimen's ``grade3plus`` table); a line's toxicity
#: slots are these and its grade-5 event at :data:`GRADE5_SLOT`
N_SYSTEMIC_TYPES = 9
GRADE5_SLOT = N_SYSTEMIC_TYPES
# types only RT causes, from the dose to an organ at risk (model 6.5)
CARDIAC = 9  #: pericardial effusion or other grade >= 3 cardiac event, from the heart's mean dose
MYELOPATHY = 10  #: radiation myelopathy, from the spinal cord's maximum dose
BOWEL = 11  #: grade >= 3 gastrointestinal ulcer, bleeding or perforation, from the bowel or stomach dose
CONDUIT = 12  #: grade >= 3 ulcer, bleeding or fistula of the gastric conduit after esophagectomy
N_TOX = 13
SYSTEMIC_TOX_NAMES = (
    "leukopenia",
    "neutropenia",
    "thrombocytopenia",
    "pneumonitis",
    "esophagitis",
    "esophageal_fistula",
    "fatigue",
    "nausea",
    "vomiting",
)
TOX_NAMES = SYSTEMIC_TOX_NAMES + ("cardiac", "myelopathy", "bowel", "conduit")

# ----------------------------------------------------------------------------- first failure
# Hierarchical, as patterns-of-failure series report the first site (model 7.4): widespread if
# the progression is polymetastatic; else in field if a lesion that received RT progressed;
# else marginal/regional if the progression is in the esophagus, its bed or the regional nodes,
# or in a nodal station next to an irradiated one; else out of field, by new distant lesions
# or by regrowth of known, unirradiated ones.
FAIL_NONE = 0
FAIL_IN_FIELD = 1
FAIL_MARGINAL_REGIONAL = 2
FAIL_OUT_OF_FIELD_NEW = 3
FAIL_OUT_OF_FIELD_REGROWTH = 4
FAIL_WIDESPREAD = 5
FAILURE_NAMES = ("none", "in_field", "marginal_regional", "out_of_field_new", "out_of_field_regrowth", "widespread")

# ----------------------------------------------------------------------------- RECIST response
# Response at the first assessment by RECIST 1.1 (model 7.6): complete, partial, stable,
# progressive disease, or not evaluable (no measurable disease at entry, or no scan before death
# or the end of follow-up). Classified from the recorded diameters by oligosim.analysis.response.
RESPONSE_CR = 0
RESPONSE_PR = 1
RESPONSE_SD = 2
RESPONSE_PD = 3
RESPONSE_NE = 4
RESPONSE_NAMES = ("cr", "pr", "sd", "pd", "ne")

# ----------------------------------------------------------------------------- primary treatment
# How the primary stands at entry (model 3.7): in place (synchronous), or how a non-synchronous
# patient's primary was treated. In place is 0, so a blank state means "esophagus present".
PRIMARY_IN_PLACE = 0
PRIOR_SURGERY = 1  #: esophagectomy: the esophagus is resected; relapse at the anastomosis/bed
PRIOR_DEFINITIVE_CRT = 2  #: definitive chemoradiotherapy: the irradiated primary may persist
#: the treatments a scenario gives shares of (locoregional.primary_treatment), in code order from 1
PRIMARY_TREATMENT_NAMES = ("surgery", "definitive_crt")


# ----------------------------------------------------------------------------- strategies
# RT timing of an arm's first course (index into schema.RT_TIMINGS) and the policy for local
# therapy at a later oligoprogression (index into schema.PROGRESSION_LOCAL).
#: RT course plans (the detail of EV_RT_START): the initial plan, an urgent course, a course at progression
PLAN_INITIAL = 0  #: every known lesion the arm irradiates (primary, nodes, metastases)
PLAN_URGENT = 1  #: symptomatic brain and bone lesions only (statement 6)
PLAN_PROGRESSION = 2  #: every known active lesion, at an oligoprogression

RT_NONE = 0
RT_UPFRONT = 1
RT_CONCURRENT = 2
RT_CONSOLIDATIVE = 3
RT_AT_PROGRESSION = 4
RT_TIMING_NAMES = ("none", "upfront", "concurrent", "consolidative", "at_progression")
PROG_NONE = 0
PROG_OLIGO = 1
PROG_OLIGO_SLOW = 2
PROGRESSION_LOCAL_NAMES = ("none", "oligo", "oligo_slow")

# ----------------------------------------------------------------------------- death causes
ALIVE = 0  #: alive at the horizon (censored)
DEATH_DISEASE = 1
DEATH_OTHER = 2
DEATH_TREATMENT = 3
DEATH_CAUSE_NAMES = ("alive", "disease", "other", "treatment")

# ----------------------------------------------------------------------------- event log
# The code of each entry in a patient's event log (``ev_code``); ``ev_detail`` says which
# lesion, regimen, toxicity or course mode it concerns.
EV_ENTRY = 0
EV_LINE_START = 1
EV_INDUCTION_END = 2
EV_MAINTENANCE_END = 3
EV_RESISTANCE = 4
EV_RT_START = 5
EV_RT_END = 6
EV_TOXICITY = 7
EV_SCAN = 8
EV_PROGRESSION = 9
EV_WIDESPREAD = 10
EV_NEW_LESION = 11
EV_SYMPTOM = 12
EV_ALT_LOCAL = 13
EV_LOCAL_FAILURE = 14
EV_DEATH_DISEASE = 15
EV_DEATH_OTHER = 16
EV_DEATH_TREATMENT = 17
EV_CENSORED = 18
EV_LINE_STOP = 19
EV_TUMOUR_FISTULA = 20  #: the primary in place perforated into the airway or mediastinum (model 4.8)
EV_SURGERY = 21  #: surgery of a lesion chosen as its local therapy (model 6.10); detail: the lesion
EV_PROCEDURE_COMPLICATION = 22  #: a grade >= 3 complication of that procedure (model 6.10); detail: the modality
EV_DIFFUSE = 23  #: diffuse serosal disease (model 4.9); detail: DIFFUSE_EVENT_NAMES
#: the detail of an EV_DIFFUSE event (oligosim._kernels.diffuse ONSET, ADDED, DETECTED)
DIFFUSE_EVENT_NAMES = ("onset", "added", "detected")
EV_ECOG_DECLINE = 24  #: the patient's performance status worsened by one level (model 3.9); detail: the new ECOG
EV_UNFIT = 25  #: a planned treatment was not given: the current ECOG is above its limit (model 3.9); detail: UNFIT_*
EV_ABLATION = 26  #: thermal ablation of a lesion chosen as its local therapy (model 6.10); detail: the lesion
#: the events of a procedure chosen as a lesion's local therapy, one code per modality so that the
#: log says which (economics prices them apart, model 14.1)
PROCEDURE_EVENTS = (EV_SURGERY, EV_ABLATION)

#: the detail of an EV_DEATH_DISEASE event: which mechanism killed (model 4.3, 4.8); recording only
DISEASE_DEATH_BURDEN = 0  #: the burden-driven hazard crossed its threshold
DISEASE_DEATH_AFTER_PROGRESSION = 1  #: the constant hazard from the first progression
DISEASE_DEATH_AFTER_WIDESPREAD = 2  #: the constant hazard from the first widespread progression
DISEASE_DEATH_FISTULA = 3  #: death after a tumour fistula of the primary in place
DISEASE_DEATH_DIFFUSE = 4  #: the diffuse serosal disease's death clock crossed its threshold (model 4.9)
DISEASE_DEATH_NAMES = ("burden", "after_progression", "after_widespread", "tumour_fistula", "diffuse")
#: the detail of an EV_DEATH_TREATMENT event: which treatment killed (recording only)
TREATMENT_DEATH_OTHER = 0  #: a toxicity of RT or of a systemic line
TREATMENT_DEATH_PROCEDURE = 1  #: the 30/90-day mortality of surgery or ablation (model 6.10)

# Local modality of a site (model 6.10): arms.<arm>.local_modality.<site>
LOCAL_RT = 0
LOCAL_SURGERY = 1
LOCAL_ABLATION = 2
LOCAL_NAMES = ("rt", "surgery", "ablation")
#: the parameters of a non-RT modality, columns of ModelParams.procedure (local_therapy.<modality>)
PROC_CONTROL_SMALL = 0  #: probability that the procedure controls a lesion up to the size threshold
PROC_CONTROL_LARGE = 1  #: the same above it
PROC_SIZE_CM = 2  #: the size threshold (cm, diameter)
PROC_RESIDUAL_LOG10 = 3  #: log10 cell kill of an uncontrolled lesion (its residual regrows in field)
PROC_COMPLICATION = 4  #: probability of a grade >= 3 complication
PROC_MORTALITY = 5  #: probability of death from the procedure (30/90-day mortality)
PROC_REPEAT = 6  #: 1 if a lesion this modality treated before may get it again (else RT)
PROC_PAUSE_DAYS = 7  #: days the running line's chemotherapy is held after the procedure
N_PROC = 8
EVENT_NAMES = (
    "entry",
    "line_start",
    "induction_end",
    "maintenance_end",
    "resistance",
    "rt_start",
    "rt_end",
    "toxicity",
    "scan",
    "progression",
    "widespread",
    "new_lesion",
    "symptom",
    "alternative_local",
    "local_failure",
    "death_disease",
    "death_other",
    "death_treatment",
    "censored",
    "line_stop",
    "tumour_fistula",
    "surgery",
    "procedure_complication",
    "diffuse",
    "ecog_decline",
    "unfit",
    "ablation",
)
#: the detail of an ``EV_UNFIT`` entry: the systemic line (1-3) that was not started, or local therapy
UNFIT_LOCAL = 0
UNFIT_NAMES = ("local_therapy", "first_line", "second_line", "third_line")
#: the worst performance status the model holds: ECOG 4 (bedridden) patients are in their last
#: weeks and receive no oncological treatment, so a decline stops at 3 (model 3.9)
ECOG_MAX = 3
#: the detail of an ``EV_SCAN`` entry: a scheduled follow-up scan or one prompted by a symptom
SCAN_SCHEDULED = 3
SCAN_SYMPTOM = 4


def code_of(names: tuple[str, ...], name: str) -> int:
    """Return the integer code of ``name`` in ``names``.

    Raises
    ------
    KeyError
        With the allowed names listed, when ``name`` is not one of them.
    """
    try:
        return names.index(name)
    except ValueError:
        raise KeyError(f"{name!r} is not one of {', '.join(names)}") from None
