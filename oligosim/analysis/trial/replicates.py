"""Monte Carlo operating characteristics of a trial design: power, hazard ratios, medians."""

from __future__ import annotations

import math

import numpy as np

from oligosim.analysis.hazards import cox_hazard_ratio, logrank
from oligosim.analysis.proportions import proportion_ci
from oligosim.analysis.survival import json_number, kaplan_meier, median_survival
from oligosim.analysis.trial.sampling import Block, Design, Pools, iter_blocks, make_design, prepare_pools

__all__ = ["simulate_trials", "simulate_design"]

#: a pool smaller than this many times the trial's sample triggers a note (patients reused)
_POOL_REUSE_FACTOR = 10

#: percentiles reported for the distributions over replicates
_PCTS = (2.5, 50.0, 97.5)


def _list(a) -> list:
    return [json_number(v) for v in np.asarray(a, dtype=np.float64)]


def _pcts(values: np.ndarray) -> dict:
    if values.size == 0:
        return {_pct_key(q): None for q in _PCTS}
    return {_pct_key(q): float(v) for q, v in zip(_PCTS, np.percentile(values, _PCTS))}


def _pct_key(q: float) -> str:
    return str(int(q)) if float(q).is_integer() else str(q)


def _analyse_block(b: Block, n: int):
    """Per-replicate statistics of one block; arrays of shape (rows,)."""
    rows = b.time.shape[0]
    p = np.full(rows, np.nan)
    hr = np.full(rows, np.nan)
    lo = np.full(rows, np.nan)
    hi = np.full(rows, np.nan)
    med_c = np.full(rows, np.nan)
    med_x = np.full(rows, np.nan)
    for r in range(rows):
        tc, ec = b.time[r, :n], b.event[r, :n]
        tx, ex = b.time[r, n:], b.event[r, n:]
        p[r] = logrank(tc, ec, tx, ex)[1]
        hr[r], lo[r], hi[r], _ = cox_hazard_ratio(tc, ec, tx, ex)
        for arr, t, e in ((med_c, tc, ec), (med_x, tx, ex)):
            if e.any():
                m = median_survival(kaplan_meier(t, e))[0]
                arr[r] = np.nan if m is None else m
    ev_c = b.event[:, :n].sum(axis=1)
    ev_x = b.event[:, n:].sum(axis=1)
    # direction when the Cox estimate does not exist (an arm without events): rate ratio
    expo_c = b.time[:, :n].sum(axis=1)
    expo_x = b.time[:, n:].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_ratio = (ev_x / expo_x) / (ev_c / expo_c)
    direction = np.where(np.isnan(hr), rate_ratio, hr)
    # censoring causes (counts per replicate)
    cens = ~b.event
    pool_cens = cens & (b.pool_time <= b.censor)
    trial_cens = cens & ~pool_cens
    admin_cens = trial_cens & (b.admin <= b.censor)
    return {
        "p2": p,
        "hr": hr,
        "hr_lo": lo,
        "hr_hi": hi,
        "median_control": med_c,
        "median_experimental": med_x,
        "events_control": ev_c,
        "events_experimental": ev_x,
        "duration": b.analysis,
        "accrual": b.entry.max(axis=1) - b.first_entry,
        "max_followup": b.analysis - b.first_entry,
        "direction": direction,
        "censored_pool": pool_cens.sum(axis=1),
        "censored_admin": admin_cens.sum(axis=1),
        "censored_dropout": (trial_cens & ~(b.admin <= b.censor)).sum(axis=1),
    }


def simulate_design(pools: Pools, d: Design) -> dict:
    parts = [_analyse_block(b, d.n) for b in iter_blocks(pools, d)]
    rep = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    R, n = d.replicates, d.n
    notes = []

    # ---- test
    p2 = rep["p2"]
    if d.sided == 2:
        p = p2
        sig = p < d.alpha
    else:
        better = rep["direction"] < 1
        p = np.where(better, p2 / 2.0, 1.0 - p2 / 2.0)
        sig = better & (p < d.alpha)
        notes.append(
            f"One-sided test at alpha = {d.alpha:g}: a replicate is significant when the "
            "experimental arm is better (HR < 1) and the one-sided log-rank p = two-sided p / 2 "
            "is below alpha."
        )
    n_undefined_p = int(np.isnan(p2).sum())
    if n_undefined_p:
        notes.append(f"{n_undefined_p} of {R} replicates had no event: log-rank p undefined, "
                     "counted as not significant.")
    k = int(sig.sum())
    plo, phi = proportion_ci(k, R)

    # ---- hazard ratio
    hr = rep["hr"]
    ok = np.isfinite(hr)
    n_ok = int(ok.sum())
    true_hr = pools.true_hr()
    if n_ok < R:
        notes.append(f"{R - n_ok} of {R} replicates had no finite Cox estimate (an arm without "
                     "events in the risk set); left out of the HR summaries.")
    log_hr = np.log(hr[ok])
    if n_ok and math.isfinite(true_hr):
        covered = (rep["hr_lo"][ok] <= true_hr) & (true_hr <= rep["hr_hi"][ok])
        cov = float(covered.mean())
        clo, chi = proportion_ci(int(covered.sum()), n_ok)
        cov_ci = [float(clo), float(chi)]
    else:
        cov, cov_ci = None, [None, None]
    hr_summary = {
        "true": json_number(true_hr),
        "geometric_mean": float(np.exp(log_hr.mean())) if n_ok else None,
        "log_hr_mean": float(log_hr.mean()) if n_ok else None,
        "log_hr_sd": float(log_hr.std(ddof=1)) if n_ok > 1 else None,
        "median": float(np.median(hr[ok])) if n_ok else None,
        "percentiles": {k_: v for k_, v in _pcts(hr[ok]).items() if k_ != "50"},
        "ci_coverage": cov,
        "ci_coverage_ci95": cov_ci,
        "estimable": n_ok,
    }

    # ---- medians
    pool_med = pools.medians()
    medians = {}
    for arm, pm in zip(("control", "experimental"), pool_med):
        v = rep["median_" + arm]
        reached = v[np.isfinite(v)]
        medians[arm] = {
            "mean": float(reached.mean()) if reached.size else None,
            "percentiles": _pcts(reached),
            "not_reached": float(1.0 - reached.size / R),
            "pool": pm,
        }
    if any(medians[a]["not_reached"] > 0 for a in medians):
        notes.append("Median mean and percentiles are over the replicates where the median was "
                     "reached; see not_reached for the share where it was not.")

    # ---- events, duration, censoring
    ev_tot = rep["events_control"] + rep["events_experimental"]
    events = {
        "mean": float(ev_tot.mean()),
        "mean_control": float(rep["events_control"].mean()),
        "mean_experimental": float(rep["events_experimental"].mean()),
        "percentiles": _pcts(ev_tot.astype(np.float64)),
        "probability": float(ev_tot.mean() / (2 * n)),
    }
    duration = {
        "mean": float(rep["duration"].mean()),
        "percentiles": _pcts(rep["duration"]),
        "accrual_mean": float(rep["accrual"].mean()),
    }
    censoring = {
        "administrative_mean": float(rep["censored_admin"].mean()),
        "dropout_mean": float(rep["censored_dropout"].mean()),
        "pool_mean": float(rep["censored_pool"].mean()),
    }

    # ---- pool checks
    pool_n = pools.t_c.size if pools.paired else min(pools.t_c.size, pools.t_x.size)
    sample = 2 * n if pools.paired else n
    if pool_n < _POOL_REUSE_FACTOR * sample:
        notes.append(
            f"The pool ({pool_n} virtual patients{' per arm' if not pools.paired else ''}) is "
            f"less than {_POOL_REUSE_FACTOR}x the sample ({sample}): replicates reuse the same "
            "patients, so their spread (power, HR and median percentiles) understates that of "
            "real trials; simulate more patients."
        )
    horizon_exceeded = None
    if d.horizon is not None:
        exceeded = rep["max_followup"] > d.horizon
        horizon_exceeded = int(exceeded.sum())
        if horizon_exceeded:
            notes.append(
                f"In {horizon_exceeded} of {R} replicates the longest possible follow-up "
                f"(analysis - first entry, up to {rep['max_followup'].max():.1f} months) exceeds "
                f"the pool horizon of {d.horizon:g} months; on average "
                f"{censoring['pool_mean']:.1f} patients per trial were censored by the "
                "simulation (pool) rather than by the trial, so events after the horizon are "
                "missing (events and power are underestimated)."
            )

    inputs = {
        "n_per_arm": n,
        "accrual_per_month": d.accrual,
        "followup_months": d.followup,
        "dropout_per_year": d.dropout,
        "dropout_hazard_per_month": d.hazard,
        "replicates": R,
        "seed": d.seed,
        "alpha": d.alpha,
        "sided": d.sided,
        "pool_horizon_months": d.horizon,
        "pool_size_control": int(pools.t_c.size),
        "pool_size_experimental": int(pools.t_x.size),
        "common_random_numbers": pools.paired,
    }
    return {
        "inputs": inputs,
        "power": float(k / R),
        "power_ci95": [float(plo), float(phi)],
        "significant": k,
        "hr": hr_summary,
        "median": medians,
        "events": events,
        "duration": duration,
        "censoring": censoring,
        "pool_horizon_exceeded": horizon_exceeded,
        "replicates": {
            "p": _list(p),
            "significant": [bool(s) for s in sig],
            "hr": _list(hr),
            "hr_lo": _list(rep["hr_lo"]),
            "hr_hi": _list(rep["hr_hi"]),
            "median_control": _list(rep["median_control"]),
            "median_experimental": _list(rep["median_experimental"]),
            "events_control": [int(x) for x in rep["events_control"]],
            "events_experimental": [int(x) for x in rep["events_experimental"]],
            "duration": _list(rep["duration"]),
        },
        "notes": notes,
    }


def simulate_trials(control, experimental, *, n_per_arm, accrual_per_month, followup_months,
                    dropout_per_year=0.0, replicates=1000, seed=0, alpha=0.05, sided=2,
                    pool_horizon_months=None) -> dict:
    """Monte Carlo operating characteristics of a two-arm randomised trial of B vs A.

    Parameters
    ----------
    control, experimental : (time, event) pair of array_like, shapes (N_a,), (N_b,)
        Simulated pools: follow-up time in months (finite, ``>= 0``) and event flag (bool or
        0/1) per virtual patient. Pools of the same length are taken to share patients (common
        random numbers: index ``i`` is the same virtual patient in both arms).
    n_per_arm : int
        Patients randomised to each arm, ``>= 2``. Needs ``N >= 2 n`` for shared pools, else
        ``N_a, N_b >= n``.
    accrual_per_month : float
        Accrual rate of both arms together (patients per month), ``> 0``; entries are a
        Poisson process.
    followup_months : float
        Follow-up after the last entry (months), ``>= 0``; the analysis is then.
    dropout_per_year : float, optional
        Fraction of patients lost to follow-up per year, in [0, 1): exponential dropout with
        hazard ``-ln(1 - dropout_per_year) / 12`` per month.
    replicates : int, optional
        Number of simulated trials, ``>= 1``.
    seed : int, optional
        Seed (``>= 0``) of the random draws; the result is a deterministic function of the
        inputs.
    alpha : float, optional
        Significance level in (0, 1): two-sided for ``sided=2``, one-sided for ``sided=1``.
    sided : {1, 2}, optional
        2: significant when the two-sided log-rank p < alpha. 1: significant when the
        experimental arm is better (Cox HR < 1) and the one-sided p (two-sided p / 2) < alpha.
    pool_horizon_months : float, optional
        The simulation horizon of the pools (``simulation.horizon_months``). Replicates whose
        longest possible follow-up (analysis - first entry) exceeds it are counted and reported
        in ``notes``: their patients followed past the horizon were censored by the simulation,
        not by the trial.

    Returns
    -------
    dict
        JSON-ready (plain Python types; None for nan / not reached):

        ``inputs``
            The arguments, the dropout hazard per month, pool sizes and
            ``common_random_numbers``.
        ``power``, ``power_ci95``, ``significant``
            Share of replicates significant, its Wilson 95 % CI ``[lo, hi]`` and the count.
        ``hr``
            ``true`` (Cox HR on the whole pools), ``geometric_mean`` (exp of the mean log HR),
            ``log_hr_mean``, ``log_hr_sd``, ``median``, ``percentiles`` {"2.5", "97.5"},
            ``ci_coverage`` (share of the replicates' 95 % CIs containing ``true``) with its
            Wilson ``ci_coverage_ci95``, and ``estimable`` (replicates with a finite Cox HR;
            the summaries are over these).
        ``median``
            Per arm (``control``, ``experimental``): ``mean`` and ``percentiles``
            {"2.5", "50", "97.5"} of the KM median (months) over the replicates where it was
            reached, ``not_reached`` (share), ``pool`` (median of the whole pool).
        ``events``
            ``mean`` (both arms), ``mean_control``, ``mean_experimental``, ``percentiles`` and
            ``probability`` (mean events / 2 n).
        ``duration``
            Months from the start of the trial (time 0 of the accrual process) to the
            analysis: ``mean``, ``percentiles``; ``accrual_mean`` (first to last entry).
        ``censoring``
            Mean number of censored patients per trial by cause: ``administrative_mean``,
            ``dropout_mean``, ``pool_mean`` (censored by the simulation before the trial would
            have censored them).
        ``pool_horizon_exceeded``
            Replicates whose longest possible follow-up exceeds ``pool_horizon_months`` (None
            if not given).
        ``replicates``
            Per-replicate lists of length ``replicates`` for plots: ``p`` (the p-value tested:
            one-sided for ``sided=1``), ``significant``, ``hr``, ``hr_lo``, ``hr_hi``,
            ``median_control``, ``median_experimental`` (months), ``events_control``,
            ``events_experimental``, ``duration`` (months).
        ``notes``
            Warnings in words (small pools, horizon exceeded, undefined estimates, ...).

    Raises
    ------
    ValueError
        For any invalid argument; the message names it, its value and the rule.

    Notes
    -----
    The HR is the Cox estimate (Breslow ties) of experimental vs control with its Wald CI;
    the log-rank test is :func:`oligosim.logrank`. Under non-proportional hazards
    the "true" HR of the whole pools (no trial censoring) is a different average of the
    hazard ratio than a trial's, so the coverage then measures agreement with that
    reference, not the nominal 95 %.
    """
    pools = prepare_pools(control, experimental)
    d = make_design(pools, n_per_arm=n_per_arm, accrual_per_month=accrual_per_month,
                followup_months=followup_months, dropout_per_year=dropout_per_year,
                replicates=replicates, seed=seed, alpha=alpha, sided=sided,
                pool_horizon_months=pool_horizon_months)
    return simulate_design(pools, d)
