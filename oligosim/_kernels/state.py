"""What the event loop works on: the patient's state record, lesion record, scratch, outputs.

A patient is simulated in a :class:`Workspace` and a lesion record (:data:`LESION_DTYPE`) that a thread
allocates once and reuses for every patient it runs:

* ``state``, a one-element :data:`STATE_DTYPE` array whose record ``st = state[0]`` holds the
  patient's attributes and every scalar of the simulation (clock, treatment, response
  assessment, hazard accumulators), by name;
* ``L``, a :data:`LESION_DTYPE` record with one entry per lesion slot in each field, passed
  beside the workspace;
* ``slot``, the time of each scheduled event kind (``S_*``; inf when none is pending), and
  ``tox_time``, the pending toxicities of the current systemic line;
* ``streams``, the patient's random-stream counters (:mod:`oligosim._kernels.rng`);
* the patient's results as they happen: toxicities, local-control records and the event log
  (with the scalar results in the record), which ``handlers.close`` writes to the output row
  once. Handlers never take the output columns: passing a tuple of 32 arrays to every handler
  cost a reference-count update per array and call.

The handlers (:mod:`oligosim._kernels.handlers`) read and write these by name. A record is a
view into its array (numba does not reference-count it), so the array travels in the
Workspace and each function takes its own ``st = W.state[0]``; writes through it persist.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from oligosim import codes
from oligosim._kernels import rng

INF = np.inf
MONTHS_PER_DAY = 12.0 / 365.25

# ----------------------------------------------------------------------------- event slots
# The index is the priority among events at the same time: an RT course ends before the
# toxicity check before a scan on the same day.
S_RT_END = 0
S_RT_START = 1
S_TOX = 2
S_SCAN = codes.SCAN_SCHEDULED  # 3: the slot index is the EV_SCAN detail
S_SYMPTOM_SCAN = codes.SCAN_SYMPTOM  # 4
S_CONSOLIDATION = 5
S_INDUCTION_END = 6
S_MAINTENANCE_END = 7
S_RESISTANCE = 8
S_BACKGROUND_DEATH = 9
S_HORIZON = 10
S_PROGRESSION_DEATH = 11  #: disease death by the post-progression hazard
S_WIDESPREAD_DEATH = 12  #: disease death by the further hazard after widespread progression
S_PRIMARY_EVENT = 13  #: a tumour fistula of the primary in place, then death after it (model 4.8)
S_PROC_RESUME = 14  #: chemotherapy held after surgery or ablation resumes (model 6.10)
N_SLOTS = 15

N_SYSTEMIC_TOX = codes.N_SYSTEMIC_TYPES + 1  #: toxicity slots of a line: the nine systemic types and grade 5

# when the first systemic line starts relative to the first RT course
LINE_NONE = -1  #: no line pending (started, or the arm has none)
LINE_WITH_RT = -3  #: with the first fraction (concurrent chemoradiotherapy)
LINE_AFTER_RT = -4  #: when the course ends (sequential)

#: The patient's state: its attributes (drawn by the cohort) and the simulation's scalars.
STATE_DTYPE = np.dtype(
    [
        # ---- attributes (oligosim._kernels.cohort)
        ("histology", np.int64),  # codes.ESCC / EAC
        ("presentation", np.int64),  # codes.SYNCHRONOUS ...
        ("dfi", np.float64),  # months from primary diagnosis to the oligometastatic diagnosis
        ("age", np.float64),  # years at entry
        ("ecog", np.int64),  # at entry
        ("ecog_now", np.int64),  # current: the entry value, worse after a decline (model 3.9)
        ("kps", np.float64),
        ("pdl1_high", np.bool_),
        ("propensity", np.float64),  # metastatic propensity multiplier (median 1; 0 = none)
        ("growth", np.float64),  # the patient's median growth rate of metastases, 1/month
        ("attempts", np.int64),  # draws needed to meet eligibility
        ("primary_in_place", np.bool_),
        ("primary_treatment", np.int64),  # codes.PRIMARY_IN_PLACE or PRIOR_*
        ("bg_death", np.float64),  # months from entry to other-cause death
        # ---- clock and lesion slots
        ("t", np.float64),  # months since entry
        ("n", np.int64),  # lesion slots in use
        ("over", np.bool_),  # death or the horizon reached: the loop stops
        ("cause", np.int64),  # codes.ALIVE / DEATH_*
        ("death_detail", np.int64),  # codes.DISEASE_DEATH_*: the mechanism of a disease death (recording only)
        # ---- systemic therapy
        ("line", np.int64),  # 0 none yet, 1 first, 2 second
        ("lines_started", np.int64),  # differs from line when the arm has no first line
        ("reg", np.int64),  # regimen of the current line (-1 none)
        ("line_on", np.bool_),
        ("resisted", np.bool_),
        ("kill", np.float64),  # log-kill rate in force, 1/month
        ("kill_line", np.float64),  # the line's kill rate when active
        ("paused", np.bool_),  # chemotherapy paused for an RT course
        ("lres_on", np.bool_),  # per-lesion resistance in force on the current line (oligosim._kernels.lesres)
        ("lres_t0", np.float64),  # months: start of the line whose resistance is per lesion (oligosim._kernels.lesres)
        ("lres_tpat", np.float64),  # months: the patient's resistance time on it; inf: resistance is patient-level
        ("first_line_at", np.int64),  # LINE_*: when the first line starts
        # ---- local therapy
        ("timing", np.int64),  # codes.RT_*: the arm's timing, or upfront by the DFI rule
        ("course_mode", np.int64),  # 0 initial plan, 1 urgent (statement 6), 2 at progression
        ("course_concurrent", np.bool_),
        ("rt_courses", np.int64),
        ("local_courses", np.int64),
        ("extra_courses", np.int64),  # local courses at later progressions
        ("last_local", np.float64),
        ("win_end", np.float64),  # months: end of the toxicity counting window (inf while the protocol treatment goes on)
        # ---- response assessment
        ("progressed", np.bool_),
        ("widespread", np.bool_),
        ("palliative", np.bool_),
        ("fistula", np.bool_),  # the primary has perforated: no further treatment (model 4.8)  # widespread with no treatment left: no scan can change a result
        ("has_baseline", np.bool_),
        ("nadir", np.float64),  # sum of visible diameters at the nadir, cm
        ("overflow", np.int64),  # 1: lesions beyond the cap exist, 2: and a scan has counted them
        ("overflow_at", np.float64),  # when the uncounted disease reaches a visible size
        ("entry_dropped", np.int64),  # occult deposits drawn at entry beyond the cap (model 4.2)
        ("agg_offset", np.float64),  # ln of the aggregate's volume over its leading deposit's (model 4.2)
        # the growth rule of statement 12 (arms' progression.slow_rule = growth) only:
        ("scan_t_prev", np.float64),  # months: the previous scan (entry at first)
        ("scan_vol_prev", np.float64),  # cm3: visible volume at the previous scan
        ("doubling_at_scan", np.float64),  # months: doubling of the visible volume since the previous scan (inf: no growth)
        ("scan_nominal", np.float64),  # nominal date of the booked scheduled visit (grid, no window)
        # ---- continuous hazards: accumulated value and unit-exponential threshold
        ("h_seed", np.float64),
        ("e_seed", np.float64),
        ("h_death", np.float64),
        ("e_death", np.float64),
        # the hazards' anchor (oligosim._kernels.anchor): h_seed, h_death are accumulated up to a_t
        ("a_valid", np.bool_),  # False: the accumulated hazards are current and no anchor is set
        ("a_t", np.float64),  # months: when the anchor's volumes, rates and weights were taken
        ("a_n", np.int64),  # lesion slots in use then
        ("a_seed", np.float64),  # seeding hazard rate then, 1/month
        ("a_death", np.float64),  # disease-death hazard rate then, 1/month
        ("a_rmax", np.float64),  # the largest net growth rate of an active lesion then (-inf: none), 1/month
        # ---- diffuse serosal disease, one compartment (oligosim._kernels.diffuse, model 4.9)
        ("dif_state", np.int64),  # diffuse.ABSENT / OCCULT / SEEN
        ("dif_seen", np.bool_),  # shown by a scan at some time: never oligometastatic again
        ("dif_logv", np.float64),  # ln cm3
        ("dif_det_logv", np.float64),  # ln cm3: the patient's detection threshold
        ("dif_h", np.float64),  # its accumulated death hazard
        ("dif_e", np.float64),  # its unit-exponential death threshold (inf: not drawn yet)
        # ---- the patient's results so far (close() writes them to the output row)
        ("pfs", np.float64),
        ("pfs_event", np.bool_),
        ("wpfs", np.float64),
        ("wpfs_event", np.bool_),
        ("first_failure", np.int64),  # codes.FAIL_*
        ("estro_first", np.int64),  # ESTRO-EORTC class of the first progression
        ("lc_n", np.int64),  # local-control records opened (at most the workspace's length)
        ("ev_n", np.int64),  # events that happened (the log keeps the first ones that fit)
        # ---- endpoints recorded beside the course (oligosim._kernels.record; read by nothing else)
        ("ttnt", np.float64),  # months: the first next treatment or death (inf: none yet)
        ("recist_base", np.float64),  # cm: sum of the RECIST target diameters at entry
        ("recist_first", np.float64),  # cm: the same lesions at the first assessment
        ("recist_done", np.bool_),  # the first assessment has been made
        ("recist_new", np.bool_),  # a new lesion at the first assessment
        ("recist_clear", np.bool_),  # nothing visible at the first assessment
        # ---- scratch of the counting rules (oligosim.definitions, ``scratch``; see tally_scratch)
        ("tally_system", np.int64, (codes.N_ORGANS,)),
        ("tally_side", np.int64, (codes.N_ORGANS, 2)),
        ("tally_station", np.uint8, (codes.N_STATIONS,)),  # 0/1: numba reads no bool subarray of a record
    ],
    align=True,  # C layout: every field at its natural alignment (packed fields load slowly)
)


#: one slot more than the largest cap: the aggregate of disease beyond the cap (model 4.2) sits
#: at index ``max_lesions``
_CAP = codes.LESION_CAP_MAX + 1
#: One lesion slot per entry of each field (shape (LESION_CAP_MAX + 1,)). A record with array
#: fields, not a tuple of arrays: numba updates the reference count of every array in a tuple
#: argument at every call, while a record's fields are views with no count to update; true/false
#: fields are uint8 (numba has no boolean array fields in records).
LESION_DTYPE = np.dtype(
    [
        ("organ", np.int64, (_CAP,)),
        ("subsite", np.int64, (_CAP,)),
        ("status", np.int64, (_CAP,)),
        ("logv", np.float64, (_CAP,)),
        ("growth", np.float64, (_CAP,)),
        ("det_logv", np.float64, (_CAP,)),
        ("sym_logv", np.float64, (_CAP,)),
        ("u_tcp", np.float64, (_CAP,)),
        ("seen", np.uint8, (_CAP,)),
        ("new_seen", np.uint8, (_CAP,)),  # seen for the first time at the latest scan
        ("symptomatic", np.uint8, (_CAP,)),
        ("irradiated", np.int64, (_CAP,)),
        ("chemo_exposed", np.uint8, (_CAP,)),
        ("in_course", np.uint8, (_CAP,)),
        ("with_primary", np.uint8, (_CAP,)),  # planned in the primary's field (statement 5, model 8.1)
        ("site_eqd2", np.float64, (_CAP,)),
        ("site_time", np.float64, (_CAP,)),
        ("rt_pre_logv", np.float64, (_CAP,)),
        ("lc_slot", np.int64, (_CAP,)),
        ("nadir_d", np.float64, (_CAP,)),  # diameter (cm) at the scan that set the current nadir
        ("exposed_at_start", np.uint8, (_CAP,)),  # had chemotherapy before its current RT course
        ("fail_time", np.float64, (_CAP,)),  # scratch: in-field failure time found while advancing
        ("vol", np.float64, (_CAP,)),  # volume (cm3) at the hazards' anchor (the current time when a step is integrated)
        ("recist_target", np.uint8, (_CAP,)),  # a RECIST target lesion chosen at entry (record.py)
        ("procedures", np.int64, (_CAP,)),  # surgeries or ablations it had (model 6.10)
        ("to_procedure", np.uint8, (_CAP,)),  # scratch: planned for surgery or ablation now (model 6.10)
        ("resistant", np.uint8, (_CAP,)),  # the line in force kills it no more (per-lesion resistance, model 5.3)
        ("resist_at", np.float64, (_CAP,)),  # months: when it resists on the line in force (oligosim._kernels.lesres)
        # the hazards' anchor (oligosim._kernels.anchor); ``vol`` holds the volume then
        ("a_on", np.uint8, (_CAP,)),  # active at the anchor
        ("a_r", np.float64, (_CAP,)),  # net growth rate at the anchor, 1/month
        ("a_w", np.float64, (_CAP,)),  # its organ's lethality weight at the anchor
        ("a_x", np.float64, (_CAP,)),  # ln cm3 the event loop last wrote (anchor or growth): another value is a change
    ],
    align=True,
)


class Workspace(NamedTuple):
    """One thread's scratch for simulating patients one after another."""

    state: np.ndarray  #: (1,) STATE_DTYPE: ``state[0]`` is the patient's record
    buf_organ: np.ndarray  #: (cap,) int64: visible lesions' organs, for the definitions
    buf_subsite: np.ndarray  #: (cap,) int64
    tox_time: np.ndarray  #: (N_SYSTEMIC_TOX,) months: pending toxicities of the line
    streams: np.ndarray  #: (rng.N_PURPOSES,) uint64 stream counters
    slot: np.ndarray  #: (N_SLOTS,) months: next time of each scheduled event kind
    tox_seen: np.ndarray  #: (N_TOX,) bool: grade >= 3 toxicities so far
    lc_time: np.ndarray  #: (K,) months: RT time of each lesion record, then time to failure
    lc_event: np.ndarray  #: (K,) bool: in-field failure
    lc_bed: np.ndarray  #: (K,) BED10 (Gy) of the course
    lc_volume: np.ndarray  #: (K,) cm3 at RT
    ev_time: np.ndarray  #: (E,) months: the event log (E may be 0: events counted, not kept)
    ev_code: np.ndarray  #: (E,) codes.EV_*
    ev_detail: np.ndarray  #: (E,) lesion, regimen, toxicity or course mode


class Outputs(NamedTuple):
    """Per-patient result columns (first axis: patient within the call)."""

    os: np.ndarray
    os_event: np.ndarray
    pfs: np.ndarray
    pfs_event: np.ndarray
    wpfs: np.ndarray
    wpfs_event: np.ndarray
    death_cause: np.ndarray
    rt_courses: np.ndarray
    local_courses: np.ndarray
    lines: np.ndarray
    tox: np.ndarray  # (n, N_TOX) bool
    first_failure: np.ndarray
    estro_first: np.ndarray
    histology: np.ndarray
    presentation: np.ndarray
    age: np.ndarray
    dfi: np.ndarray
    kps: np.ndarray
    pdl1_high: np.ndarray
    n_visible_entry: np.ndarray
    n_lesions_entry: np.ndarray
    attempts: np.ndarray
    overflow: np.ndarray  # 1 if more lesions seeded than the cap
    tumour_fistula: np.ndarray  # the primary in place perforated (model 4.8)
    ttnt: np.ndarray  # months to the next treatment or death, or censoring
    ttnt_event: np.ndarray
    organs_entry: np.ndarray  # bit k: a seen lesion in organ k (codes.ORGAN_NAMES) at entry
    recist_base_cm: np.ndarray  # sum of target diameters at entry (0: nothing measurable)
    recist_first_cm: np.ndarray  # ... at the first assessment (NaN: none)
    recist_new: np.ndarray  # a new lesion at the first assessment
    recist_clear: np.ndarray  # no visible lesion at the first assessment
    lc_time: np.ndarray  # (n, K) months from RT to local failure or censoring
    lc_event: np.ndarray  # (n, K)
    lc_bed: np.ndarray  # (n, K) BED10 of the course
    lc_volume: np.ndarray  # (n, K) cm3 at RT
    lc_n: np.ndarray
    ev_time: np.ndarray  # (n, E)
    ev_code: np.ndarray
    ev_detail: np.ndarray
    ev_n: np.ndarray


@njit(cache=True)
def new_lesions(cap):
    """A one-element LESION_DTYPE array for up to ``cap`` lesions (``cap`` <= LESION_CAP_MAX);
    its record ``[0]`` is the patient's lesions, a view valid while the array lives."""
    if cap >= _CAP:
        raise ValueError("oligosim kernel: more lesion slots than LESION_CAP_MAX")
    arr = np.zeros(1, LESION_DTYPE)
    arr[0].fail_time[:] = np.inf
    arr[0].resist_at[:] = np.inf  # as cohort.clear_slot leaves a slot: no resistance time
    return arr


@njit(cache=True)
def new_workspace(cap, n_lc, n_events):
    """A Workspace for patients with up to ``cap`` lesions (the lesions themselves are
    :func:`new_lesions`), ``n_lc`` local-control records and ``n_events`` logged events."""
    return Workspace(
        np.zeros(1, STATE_DTYPE),
        np.zeros(cap, np.int64),
        np.zeros(cap, np.int64),
        np.zeros(N_SYSTEMIC_TOX),
        np.zeros(rng.N_PURPOSES, np.uint64),
        np.zeros(N_SLOTS),
        np.zeros(codes.N_TOX, np.bool_),
        np.zeros(n_lc),
        np.zeros(n_lc, np.bool_),
        np.zeros(n_lc),
        np.zeros(n_lc),
        np.zeros(n_events),
        np.zeros(n_events, np.int64),
        np.zeros(n_events, np.int64),
    )


class Snapshot(NamedTuple):
    """A drawn patient, kept to start it again in another arm (``engine.simulate_arms``): the
    state record, the stream counters and the lesion slots as the cohort draw left them."""

    state: np.ndarray  #: (1,) STATE_DTYPE
    streams: np.ndarray  #: (rng.N_PURPOSES,) uint64
    lesions: np.ndarray  #: (1,) LESION_DTYPE


@njit(cache=True)
def new_snapshot():
    """An empty :class:`Snapshot`: one per thread of a chunk (``engine.new_scratch``), reused."""
    return Snapshot(np.zeros(1, STATE_DTYPE), np.zeros(rng.N_PURPOSES, np.uint64), np.zeros(1, LESION_DTYPE))


# Not inlined: inlined into the body of numba's parallel loop (engine.simulate_arms, until
# 2026-12-07 a prange loop), the copy loop of the stream counters was found to copy nothing (numba 0.68; tests/test_multi_arm.py
# catches it); as calls, once per patient and arm, they cost nothing measurable.
@njit(cache=True, _nrt=False)
def save_snapshot(W, lesions, S):
    """Copy the patient in ``W`` and ``lesions`` into ``S`` (whole records: every field)."""
    S.state[0] = W.state[0]
    S.lesions[0] = lesions[0]
    for p in range(S.streams.shape[0]):
        S.streams[p] = W.streams[p]


@njit(cache=True, _nrt=False)
def restore_snapshot(S, W, lesions):
    """Put the patient saved in ``S`` back into ``W`` and ``lesions``, as the draw left them."""
    W.state[0] = S.state[0]
    lesions[0] = S.lesions[0]
    for p in range(S.streams.shape[0]):
        W.streams[p] = S.streams[p]


@njit(cache=True, inline="always")
def tally_scratch(st):
    """The scratch arrays the counting rules of :mod:`oligosim.definitions` take as ``scratch``
    (as ``definitions.new_tally`` makes them), views into the patient record ``st``: each
    count would otherwise allocate three arrays. Kept in the record rather than as Workspace
    arrays, because every call that passes the Workspace pays for each array it holds."""
    return st.tally_system, st.tally_side, st.tally_station


@njit(cache=True, _nrt=False)
def log_event(W, t, code, detail):
    """Append (t, code, detail) to the patient's event log; count it even when it is full."""
    st = W.state[0]
    k = st.ev_n
    if k < W.ev_time.shape[0]:
        W.ev_time[k] = t
        W.ev_code[k] = code
        W.ev_detail[k] = detail
    st.ev_n = k + 1
    if st.ttnt == INF and starts_next_treatment(st, code, detail):
        st.ttnt = t


@njit(cache=True, inline="always")
def starts_next_treatment(st, code, detail):
    """Does event ``code`` end the time to next treatment (model 7.6): a second systemic line,
    local therapy at a progression (an RT course planned at progression, surgery or ablation),
    or death? Recording only: nothing in the course reads ``ttnt``."""
    if code == codes.EV_LINE_START:
        return st.line >= 2
    if code == codes.EV_RT_START:
        return detail == codes.PLAN_PROGRESSION
    if code == codes.EV_SURGERY or code == codes.EV_ABLATION:
        return st.progressed  # surgery or ablation at a progression (model 6.10), not the initial plan
    return code == codes.EV_ALT_LOCAL or code == codes.EV_DEATH_DISEASE or code == codes.EV_DEATH_OTHER or code == codes.EV_DEATH_TREATMENT
