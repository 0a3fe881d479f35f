"""Per-patient costs, life-years and QALYs from the event log, in continuous time.

One pass over each patient's events (``EV_*`` codes of :mod:`oligosim.codes`), in log order,
which is time order. Between events the patient is in one health state (progression-free on or
off treatment, progressed, widespread) and in one cost state (a systemic line on or not,
supportive care after progression); at events one-off costs fall (a drug cycle, an RT course,
a scan, a toxicity, death). Everything is discounted continuously to entry
(:mod:`oligosim.economics.discount`). Patients are independent, so the result of a patient
does not depend on the chunk, the block or the thread count.

What is derived from what (docs/model.md 13):

* drug cycles: a line started at ``t0`` gives induction cycles at ``t0 + k L`` (``L`` the
  regimen's cycle) while the line is on, at most ``induction_cycles`` of them (delays for
  toxicity or an RT pause stretch the induction but add no cycle); maintenance cycles every
  ``L`` from the end of induction while maintenance is on. The line is on from
  ``EV_LINE_START`` to ``EV_INDUCTION_END`` (regimens without maintenance),
  ``EV_MAINTENANCE_END``, ``EV_LINE_STOP``, the next line's start or the end of follow-up;
* an RT course: fractions from the course's length (``EV_RT_START`` to ``EV_RT_END``, five
  treatment days a week, ``fractions_per_day`` a day), SBRT if at most ``sbrt_max_fractions``
  else IMRT, costed at its start; a course cut by death counts the days given;
* toxicity: one cost per ``EV_TOXICITY`` event and a disutility over its duration (cut at the
  end of follow-up); a treatment death, a tumour fistula, each scan, each surgery or ablation
  given when RT is not feasible (``EV_ALT_LOCAL``), each surgery (``EV_SURGERY``) and each
  ablation (``EV_ABLATION``) chosen as a lesion's local therapy, each at its own price, and
  terminal care at a disease death cost once, when they happen.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from oligosim import codes
from oligosim.economics.discount import flow, point
from oligosim.economics.inputs import CATEGORIES, EconParams

MONTHS_PER_DAY = 12.0 / 365.25
N_CAT = len(CATEGORIES)
_DRUGS, _RT, _ALT, _TOX, _IMG, _BSC, _EOL, _PROC = range(N_CAT)

#: per-patient result columns, in the order of :func:`accrue_chunk`'s ``out``
RESULT_COLUMNS = ("cost", "qaly", "ly", "cost_undiscounted", "qaly_undiscounted", "ly_undiscounted")


@njit(cache=True)
def _treatment_days(months):
    """Treatment days of a course lasting ``months`` (calendar days, 5 treatment days a week)."""
    calendar = int(np.floor(months / MONTHS_PER_DAY + 0.5))
    if calendar <= 0:
        return 0
    rem = (calendar - 1) % 7
    return (calendar - 1) // 7 * 5 + min(rem, 4) + 1


@njit(cache=True)
def _rt_cost(start, stop, fpd, sbrt_max, sbrt_course, sbrt_fx, imrt_course, imrt_fx):
    fx = _treatment_days(stop - start) * fpd
    if fx <= 0:
        fx = 1  # a course cut on its first day gave one fraction
    if fx <= sbrt_max:
        return sbrt_course + sbrt_fx * fx
    return imrt_course + imrt_fx * fx


@njit(cache=True)
def _cycles(t_from, t_to, nxt, left, cost, L, kc, cat):
    """Give the cycles due in ``[t_from, t_to)`` (next one at ``nxt``, at most ``left`` more, or
    any number if ``left < 0``): add their discounted and undiscounted costs; return the next
    cycle time and the cycles left."""
    while nxt < t_to and left != 0:
        if nxt >= t_from:
            cat[_DRUGS, 0] += cost * point(nxt, kc)
            cat[_DRUGS, 1] += cost
        nxt += L
        if left > 0:
            left -= 1
    return nxt, left


@njit(cache=True)
def _patient(times, cods, dets, m, T, P_arrays, P_scalars, cat):
    """Costs by category (``cat[c, 0]`` discounted, ``cat[c, 1]`` not) and (qaly, qaly_u) of
    one patient with ``m`` logged events and follow-up ``T`` months."""
    (cycle_months, induction_cycles, has_maint, ind_cost, mnt_cost, tox_cost, utility, disutil, disutil_months, proc_cost) = P_arrays
    (kc, ke, entry_img, scan_cost, sbrt_max, fpd, sbrt_course, sbrt_fx, imrt_course, imrt_fx, alt_cost, death_tx, t_fistula, bsc, eol) = P_scalars
    line_on = False
    maintenance = False
    reg = -1
    nxt = 0.0
    left = 0
    rt_on = False
    rt_start = 0.0
    progressed = False
    widespread = False
    t_prev = 0.0
    q = 0.0
    qu = 0.0
    cat[_IMG, 0] += entry_img
    cat[_IMG, 1] += entry_img
    for j in range(m + 1):
        if j < m:
            t = min(times[j], T)
            c = cods[j]
            d = dets[j]
        else:
            t = T
            c = -1
            d = 0
        if t > t_prev:
            # the interval [t_prev, t) in the current states
            if widespread:
                u = utility[3]
            elif progressed:
                u = utility[2]
            elif line_on or rt_on:
                u = utility[0]
            else:
                u = utility[1]
            q += u * flow(t_prev, t, ke)
            qu += u * (t - t_prev)
            if progressed and not line_on:
                cat[_BSC, 0] += bsc * flow(t_prev, t, kc)
                cat[_BSC, 1] += bsc * (t - t_prev)
        if line_on:
            if maintenance:
                nxt, left = _cycles(t_prev, t, nxt, -1, mnt_cost[reg], cycle_months[reg], kc, cat)
            else:
                nxt, left = _cycles(t_prev, t, nxt, left, ind_cost[reg], cycle_months[reg], kc, cat)
        if t > t_prev:
            t_prev = t
        if c == codes.EV_LINE_START:
            line_on = True
            maintenance = False
            reg = d
            nxt = t
            left = induction_cycles[reg]
        elif c == codes.EV_INDUCTION_END and line_on:
            if has_maint[reg]:
                maintenance = True
                nxt = t
            else:
                line_on = False
        elif (c == codes.EV_MAINTENANCE_END or c == codes.EV_LINE_STOP) and line_on:
            line_on = False
        elif c == codes.EV_RT_START:
            # a course may be logged at the very instant it is planned; the previous one has ended
            if rt_on:
                x = _rt_cost(rt_start, t, fpd, sbrt_max, sbrt_course, sbrt_fx, imrt_course, imrt_fx)
                cat[_RT, 0] += x * point(rt_start, kc)
                cat[_RT, 1] += x
            rt_on = True
            rt_start = t
        elif c == codes.EV_RT_END and rt_on:
            x = _rt_cost(rt_start, t, fpd, sbrt_max, sbrt_course, sbrt_fx, imrt_course, imrt_fx)
            cat[_RT, 0] += x * point(rt_start, kc)
            cat[_RT, 1] += x
            rt_on = False
        elif c == codes.EV_TOXICITY:
            cat[_TOX, 0] += tox_cost[d] * point(t, kc)
            cat[_TOX, 1] += tox_cost[d]
            stop = min(t + disutil_months[d], T)
            q -= disutil[d] * flow(t, stop, ke)
            qu -= disutil[d] * max(stop - t, 0.0)
        elif c == codes.EV_TUMOUR_FISTULA:
            cat[_TOX, 0] += t_fistula * point(t, kc)
            cat[_TOX, 1] += t_fistula
        elif c == codes.EV_SCAN:
            cat[_IMG, 0] += scan_cost * point(t, kc)
            cat[_IMG, 1] += scan_cost
        elif c == codes.EV_ALT_LOCAL:
            cat[_ALT, 0] += alt_cost * point(t, kc)
            cat[_ALT, 1] += alt_cost
        elif c == codes.EV_SURGERY or c == codes.EV_ABLATION:
            # the event's code says the modality (model 6.10): each is priced on its own
            x = proc_cost[codes.LOCAL_SURGERY if c == codes.EV_SURGERY else codes.LOCAL_ABLATION]
            cat[_PROC, 0] += x * point(t, kc)
            cat[_PROC, 1] += x
        elif c == codes.EV_PROGRESSION:
            progressed = True
        elif c == codes.EV_WIDESPREAD:
            progressed = True
            widespread = True
        elif c == codes.EV_DEATH_TREATMENT:
            cat[_TOX, 0] += death_tx * point(t, kc)
            cat[_TOX, 1] += death_tx
        elif c == codes.EV_DEATH_DISEASE:
            cat[_EOL, 0] += eol * point(t, kc)
            cat[_EOL, 1] += eol
    if rt_on:  # a course cut by the end of follow-up: the days given
        x = _rt_cost(rt_start, T, fpd, sbrt_max, sbrt_course, sbrt_fx, imrt_course, imrt_fx)
        cat[_RT, 0] += x * point(rt_start, kc)
        cat[_RT, 1] += x
    return q, qu


@njit(cache=True)
def _accrue(ev_time, ev_code, ev_detail, ev_n, os, P_arrays, P_scalars, out, cats):
    n = os.shape[0]
    cat = np.zeros((N_CAT, 2))
    ke = P_scalars[1]
    for i in range(n):
        cat[:, :] = 0.0
        m = min(ev_n[i], ev_time.shape[1])
        T = os[i]
        q, qu = _patient(ev_time[i], ev_code[i], ev_detail[i], m, T, P_arrays, P_scalars, cat)
        cost = 0.0
        cost_u = 0.0
        for c in range(N_CAT):
            cost += cat[c, 0]
            cost_u += cat[c, 1]
            cats[i, c] = cat[c, 0]
        # effects in years (the model's clock is in months)
        out[0, i] = cost
        out[1, i] = q / 12.0
        out[2, i] = flow(0.0, T, ke) / 12.0
        out[3, i] = cost_u
        out[4, i] = qu / 12.0
        out[5, i] = T / 12.0


def accrue_chunk(ev_time, ev_code, ev_detail, ev_n, os, P: EconParams) -> tuple[np.ndarray, np.ndarray]:
    """Costs, QALYs and life-years of a chunk of patients from their event logs.

    Parameters
    ----------
    ev_time, ev_code, ev_detail : ndarray, shape (n, E)
        The event log (months, ``EV_*`` code, detail) of ``n`` patients.
    ev_n : ndarray, shape (n,)
        Events each patient had; must be ``<= E`` (a truncated log cannot be costed).
    os : ndarray, shape (n,)
        Follow-up (months): death or the horizon.
    P : EconParams

    Returns
    -------
    out : ndarray, shape (6, n)
        Rows as :data:`RESULT_COLUMNS`: discounted cost (currency), QALYs and life-years
        (years), then the same undiscounted.
    cats : ndarray, shape (n, N_CAT)
        Discounted cost by category (:data:`~oligosim.economics.inputs.CATEGORIES`).

    Raises
    ------
    ValueError
        If a patient's log was truncated.
    """
    ev_n = np.asarray(ev_n)
    if ev_n.size and int(ev_n.max()) > ev_time.shape[1]:
        i = int(np.argmax(ev_n))
        raise ValueError(f"patient {i} of the chunk had {int(ev_n[i])} events but the log keeps {ev_time.shape[1]}: its costs cannot be computed")
    arrays = (P.cycle_months, P.induction_cycles, P.has_maintenance, P.induction_cost, P.maintenance_cost, P.tox_cost, P.utility, P.disutility, P.disutility_months, P.procedure_cost)
    scalars = (
        P.rate_costs, P.rate_effects, P.entry_imaging, P.scan_cost, P.sbrt_max_fractions, P.fractions_per_day, P.sbrt_course, P.sbrt_fraction,
        P.imrt_course, P.imrt_fraction, P.alternative_local, P.treatment_death, P.tumour_fistula, P.supportive_month, P.end_of_life,
    )
    n = os.shape[0]
    out = np.zeros((len(RESULT_COLUMNS), n))
    cats = np.zeros((n, N_CAT))
    _accrue(ev_time, ev_code.astype(np.int64), ev_detail.astype(np.int64), ev_n.astype(np.int64), np.asarray(os, np.float64), arrays, scalars, out, cats)
    return out, cats
