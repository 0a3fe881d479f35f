"""Virtual randomised trials drawn from simulated patient pools.

A scenario run gives, for each arm, one survival time per virtual patient (months, with an
event flag), censored only at the simulation horizon. This module answers the trialist's
question: *with* ``n`` *patients per arm, accrual of* ``A`` *patients a month,* ``F`` *months of
follow-up after the last patient and a yearly dropout rate, what power does a trial of
strategy B versus A have, what hazard ratio and medians will it report, and how many patients
are needed for 80 % power?*

Each replicate trial

1. randomises ``2 n`` distinct virtual patients: with pools of the same length (common random
   numbers -- index ``i`` is the same patient in both arms) ``2 n`` distinct indices are drawn
   without replacement, the first ``n`` get their control outcome and the others their
   experimental outcome, so nobody is in both arms; with pools of different lengths ``n``
   distinct patients are drawn from each pool independently;
2. enrols them as a Poisson process of rate ``accrual_per_month`` (both arms together), in
   random order across the arms; the analysis is at the last entry plus ``followup_months``;
3. censors each patient at the analysis (administrative censoring) or at an exponential
   dropout time, whichever is first: ``observed = min(T, analysis - entry, dropout)`` and the
   event is observed iff the pool's event flag is set and ``T`` is that minimum;
4. is analysed with :func:`oligosim.outcomes.logrank` (the test),
   :func:`oligosim.outcomes.cox_hazard_ratio` (HR of experimental vs control, 95 % Wald CI) and
   Kaplan-Meier medians (:func:`oligosim.outcomes.median_survival`).

All random numbers of a call come from one ``numpy.random.Generator`` seeded with ``seed`` and
are drawn in a fixed order, vectorised over blocks of replicates whose size depends only on
``n_per_arm``: the same inputs give the same result bit for bit.

Typical use::

    res = run_scenario(scenario, patients=100_000, keep="summary")
    a, b = res.arms["chemo_io"], res.arms["consolidative"]
    horizon = scenario.data["simulation"]["horizon_months"]
    out = simulate_trials((a["os"], a["os_event"]), (b["os"], b["os_event"]),
                          n_per_arm=150, accrual_per_month=6, followup_months=24,
                          dropout_per_year=0.05, pool_horizon_months=horizon)
    curve = power_curve((a["os"], a["os_event"]), (b["os"], b["os_event"]),
                        n_grid=[50, 100, 150, 200, 300], accrual_per_month=6,
                        followup_months=24, pool_horizon_months=horizon)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from oligosim import outcomes

__all__ = [
    "simulate_trials",
    "simulate_trial_data",
    "power_curve",
    "schoenfeld_events",
    "schoenfeld_power",
]

#: patients (replicates x 2 n) sampled per vectorised block; a fixed number, so that the block
#: layout -- and with it the order of the random draws -- depends only on n_per_arm
_BLOCK_PATIENTS = 1 << 18

#: a pool smaller than this many times the trial's sample triggers a note (patients reused)
_POOL_REUSE_FACTOR = 10

#: percentiles reported for the distributions over replicates
_PCTS = (2.5, 50.0, 97.5)


# ============================================================================ validation
def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} = {value!r}: must be an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name} = {value!r}: must be an integer >= {minimum}")
    return int(value)


def _check_real(name: str, value, rule: str, ok) -> float:
    """``float(value)`` if it is a finite real number with ``ok(x)`` true, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} = {value!r}: must be a real number {rule}")
    x = float(value)
    if not math.isfinite(x) or not ok(x):
        raise ValueError(f"{name} = {value!r}: must be {rule}")
    return x


def _check_pool(name: str, pool) -> tuple[np.ndarray, np.ndarray]:
    """``(time, event)`` as float64 and bool 1-D arrays, or ValueError naming ``name``."""
    if isinstance(pool, (str, bytes)) or not hasattr(pool, "__len__") or len(pool) != 2:
        raise ValueError(
            f"{name} = {type(pool).__name__}: must be a (time, event) pair of 1-D arrays"
        )
    time, event = pool
    t = np.asarray(time)
    e = np.asarray(event)
    if t.ndim != 1:
        raise ValueError(f"{name} time: shape {t.shape}: must be 1-D")
    if e.ndim != 1:
        raise ValueError(f"{name} event: shape {e.shape}: must be 1-D")
    if t.size != e.size:
        raise ValueError(
            f"{name}: time has {t.size} patients and event {e.size}: must have the same length"
        )
    if t.size == 0:
        raise ValueError(f"{name}: 0 patients: the pool must not be empty")
    if t.dtype == bool or not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.floating)):
        raise ValueError(f"{name} time: dtype {t.dtype}: must be numeric (months)")
    t = t.astype(np.float64, copy=False)
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} time[{i}] = {t[i].item()!r}: must be finite and >= 0 (months)")
    if e.dtype != bool:
        if not (np.issubdtype(e.dtype, np.integer) or np.issubdtype(e.dtype, np.floating)):
            raise ValueError(f"{name} event: dtype {e.dtype}: must be boolean or 0/1")
        bad = (e != 0) & (e != 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name} event[{i}] = {e[i].item()!r}: must be boolean or 0/1")
        e = e.astype(bool)
    return t, e


@dataclass
class _Pools:
    """Validated pools plus the pool-level statistics, computed once."""

    t_c: np.ndarray
    e_c: np.ndarray
    t_x: np.ndarray
    e_x: np.ndarray
    _cache: dict = field(default_factory=dict)

    @property
    def paired(self) -> bool:
        """Same length: index i is the same virtual patient in both arms."""
        return self.t_c.size == self.t_x.size

    def true_hr(self) -> float:
        """Cox HR (experimental vs control) on the whole pools."""
        if "hr" not in self._cache:
            self._cache["hr"] = outcomes.cox_hazard_ratio(self.t_c, self.e_c, self.t_x, self.e_x)[0]
        return self._cache["hr"]

    def medians(self) -> tuple:
        """KM medians (months, None = not reached) of the whole pools."""
        if "med" not in self._cache:
            self._cache["med"] = tuple(
                outcomes.median_survival(outcomes.kaplan_meier(t, e))[0]
                for t, e in ((self.t_c, self.e_c), (self.t_x, self.e_x))
            )
        return self._cache["med"]


def _prepare(control, experimental) -> _Pools:
    t_c, e_c = _check_pool("control", control)
    t_x, e_x = _check_pool("experimental", experimental)
    return _Pools(t_c, e_c, t_x, e_x)


@dataclass(frozen=True)
class _Design:
    n: int
    accrual: float
    followup: float
    dropout: float
    replicates: int
    seed: int
    alpha: float
    sided: int
    horizon: float | None

    @property
    def hazard(self) -> float:
        """Dropout hazard per month."""
        return -math.log1p(-self.dropout) / 12.0


def _design(pools: _Pools, *, n_per_arm, accrual_per_month, followup_months, dropout_per_year,
            replicates, seed, alpha, sided, pool_horizon_months) -> _Design:
    n = _check_int("n_per_arm", n_per_arm, 2)
    accrual = _check_real("accrual_per_month", accrual_per_month, "> 0 (patients per month)",
                          lambda x: x > 0)
    followup = _check_real("followup_months", followup_months, ">= 0 (months)", lambda x: x >= 0)
    dropout = _check_real("dropout_per_year", dropout_per_year,
                          "in [0, 1) (fraction lost to follow-up per year)", lambda x: 0 <= x < 1)
    reps = _check_int("replicates", replicates, 1)
    seed = _check_int("seed", seed, 0)
    alpha = _check_real("alpha", alpha, "in (0, 1)", lambda x: 0 < x < 1)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided = {sided!r}: must be 1 or 2")
    horizon = None
    if pool_horizon_months is not None:
        horizon = _check_real("pool_horizon_months", pool_horizon_months, "> 0 (months) or None",
                              lambda x: x > 0)
    if pools.paired:
        if pools.t_c.size < 2 * n:
            raise ValueError(
                f"n_per_arm = {n}: the pools have {pools.t_c.size} virtual patients, need at "
                f"least 2 * n_per_arm = {2 * n} distinct patients (common random numbers: "
                "nobody may be in both arms)"
            )
    else:
        for name, t in (("control", pools.t_c), ("experimental", pools.t_x)):
            if t.size < n:
                raise ValueError(
                    f"n_per_arm = {n}: the {name} pool has {t.size} patients, need at least "
                    f"n_per_arm = {n}"
                )
    return _Design(n, accrual, followup, dropout, reps, seed, alpha, int(sided), horizon)


# ============================================================================ sampling
def _sample_distinct(rng: np.random.Generator, pop: int, rows: int, m: int) -> np.ndarray:
    """``rows`` independent uniformly random ordered samples of ``m`` distinct ints < ``pop``.

    Returns shape (rows, m), int64. For ``m <= pop / 4``: draw with replacement and redraw the
    later occurrence of every repeated value until each row is distinct (the rule depends only
    on which entries are equal, so the result is invariant under relabelling the population and
    hence uniform over ordered samples); otherwise the ``m`` smallest of ``pop`` uniform keys.
    """
    if 4 * m <= pop:
        idx = rng.integers(0, pop, size=(rows, m))
        todo = np.arange(rows)
        while todo.size:
            sub = idx[todo]
            order = np.argsort(sub, axis=1, kind="stable")
            srt = np.take_along_axis(sub, order, axis=1)
            dup_sorted = np.zeros(sub.shape, dtype=bool)
            dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
            dup = np.zeros_like(dup_sorted)
            np.put_along_axis(dup, order, dup_sorted, axis=1)
            r, c = np.nonzero(dup)
            if r.size == 0:
                break
            sub[r, c] = rng.integers(0, pop, size=r.size)
            idx[todo] = sub
            todo = todo[dup.any(axis=1)]
        return idx
    keys = rng.random((rows, pop))
    return np.argsort(keys, axis=1)[:, :m]


@dataclass
class _Block:
    """One block of replicates; per-patient arrays have shape (rows, 2 n), control first."""

    start: int
    patient: np.ndarray  # pool index (int64)
    entry: np.ndarray  # months from trial start
    analysis: np.ndarray  # (rows,) months from trial start
    first_entry: np.ndarray  # (rows,)
    pool_time: np.ndarray
    pool_event: np.ndarray
    censor: np.ndarray  # min(analysis - entry, dropout)
    admin: np.ndarray  # analysis - entry
    time: np.ndarray  # observed
    event: np.ndarray


def _blocks(pools: _Pools, d: _Design):
    """Generate the replicate trials block by block (fixed draw order: deterministic)."""
    rng = np.random.default_rng(d.seed)
    n, m = d.n, 2 * d.n
    per_block = max(1, _BLOCK_PATIENTS // m)
    hazard = d.hazard
    for start in range(0, d.replicates, per_block):
        rows = min(per_block, d.replicates - start)
        if pools.paired:
            idx = _sample_distinct(rng, pools.t_c.size, rows, m)
            idx_c, idx_x = idx[:, :n], idx[:, n:]
        else:
            idx_c = _sample_distinct(rng, pools.t_c.size, rows, n)
            idx_x = _sample_distinct(rng, pools.t_x.size, rows, n)
        arrivals = np.cumsum(rng.exponential(1.0 / d.accrual, size=(rows, m)), axis=1)
        # random order of entry across the 2n randomised patients
        order = np.argsort(rng.random((rows, m)), axis=1)
        entry = np.take_along_axis(arrivals, order, axis=1)
        analysis = arrivals[:, -1] + d.followup
        admin = analysis[:, None] - entry
        if hazard > 0:
            censor = np.minimum(admin, rng.exponential(1.0 / hazard, size=(rows, m)))
        else:
            censor = admin
        pool_time = np.concatenate((pools.t_c[idx_c], pools.t_x[idx_x]), axis=1)
        pool_event = np.concatenate((pools.e_c[idx_c], pools.e_x[idx_x]), axis=1)
        yield _Block(
            start=start,
            patient=np.concatenate((idx_c, idx_x), axis=1),
            entry=entry,
            analysis=analysis,
            first_entry=arrivals[:, 0],
            pool_time=pool_time,
            pool_event=pool_event,
            censor=censor,
            admin=admin,
            time=np.minimum(pool_time, censor),
            event=pool_event & (pool_time <= censor),
        )


def simulate_trial_data(control, experimental, *, n_per_arm, accrual_per_month, followup_months,
                        dropout_per_year=0.0, replicates=1000, seed=0) -> dict:
    """The per-patient data of the replicate trials that :func:`simulate_trials` analyses.

    Same arguments (and the same draws) as :func:`simulate_trials`: for equal inputs and seed,
    replicate ``j`` here is replicate ``j`` there.

    Parameters
    ----------
    control, experimental : (time, event) pair of array_like, shapes (N_a,), (N_b,)
        Simulated pools (months, event flags); see :func:`simulate_trials`.
    n_per_arm : int
        Patients per arm, ``>= 2``.
    accrual_per_month, followup_months, dropout_per_year : float
        Accrual rate of both arms (patients/month, ``> 0``), follow-up after the last entry
        (months, ``>= 0``), yearly dropout fraction in [0, 1).
    replicates, seed : int, optional
        Number of trials (``>= 1``) and seed (``>= 0``).

    Returns
    -------
    dict
        ``"control"`` and ``"experimental"``, each a dict of arrays of shape
        ``(replicates, n_per_arm)``: ``"patient"`` (int, index into that arm's pool),
        ``"entry"`` (months from the start of the trial), ``"time"`` (observed follow-up,
        months from entry), ``"event"`` (bool), ``"pool_time"``, ``"pool_event"`` (the pool's
        outcome) and ``"censor"`` (the trial's censoring time, ``min(analysis - entry,
        dropout)``, months from entry); and ``"analysis_time"``, shape ``(replicates,)``
        (months from the start of the trial to the analysis).
    """
    pools = _prepare(control, experimental)
    d = _design(pools, n_per_arm=n_per_arm, accrual_per_month=accrual_per_month,
                followup_months=followup_months, dropout_per_year=dropout_per_year,
                replicates=replicates, seed=seed, alpha=0.05, sided=2, pool_horizon_months=None)
    blocks = list(_blocks(pools, d))
    n = d.n
    keys = ("patient", "entry", "time", "event", "pool_time", "pool_event", "censor")
    out = {}
    for arm, sl in (("control", slice(0, n)), ("experimental", slice(n, 2 * n))):
        out[arm] = {k: np.concatenate([getattr(b, k)[:, sl] for b in blocks]) for k in keys}
    out["analysis_time"] = np.concatenate([b.analysis for b in blocks])
    return out


# ============================================================================ analysis
def _list(a) -> list:
    return [outcomes.json_number(v) for v in np.asarray(a, dtype=np.float64)]


def _pcts(values: np.ndarray) -> dict:
    if values.size == 0:
        return {_pct_key(q): None for q in _PCTS}
    return {_pct_key(q): float(v) for q, v in zip(_PCTS, np.percentile(values, _PCTS))}


def _pct_key(q: float) -> str:
    return str(int(q)) if float(q).is_integer() else str(q)


def _analyse_block(b: _Block, n: int):
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
        p[r] = outcomes.logrank(tc, ec, tx, ex)[1]
        hr[r], lo[r], hi[r], _ = outcomes.cox_hazard_ratio(tc, ec, tx, ex)
        for arr, t, e in ((med_c, tc, ec), (med_x, tx, ex)):
            if e.any():
                m = outcomes.median_survival(outcomes.kaplan_meier(t, e))[0]
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


def _simulate(pools: _Pools, d: _Design) -> dict:
    parts = [_analyse_block(b, d.n) for b in _blocks(pools, d)]
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
    plo, phi = outcomes.proportion_ci(k, R)

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
        clo, chi = outcomes.proportion_ci(int(covered.sum()), n_ok)
        cov_ci = [float(clo), float(chi)]
    else:
        cov, cov_ci = None, [None, None]
    hr_summary = {
        "true": outcomes.json_number(true_hr),
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
    the log-rank test is :func:`oligosim.outcomes.logrank`. Under non-proportional hazards
    the "true" HR of the whole pools (no trial censoring) is a different average of the
    hazard ratio than a trial's, so the coverage then measures agreement with that
    reference, not the nominal 95 %.
    """
    pools = _prepare(control, experimental)
    d = _design(pools, n_per_arm=n_per_arm, accrual_per_month=accrual_per_month,
                followup_months=followup_months, dropout_per_year=dropout_per_year,
                replicates=replicates, seed=seed, alpha=alpha, sided=sided,
                pool_horizon_months=pool_horizon_months)
    return _simulate(pools, d)


# ============================================================================ sample size
def schoenfeld_events(hr: float, *, alpha: float = 0.05, power: float = 0.8, sided: int = 2,
                      allocation: float = 0.5) -> float:
    """Schoenfeld's number of events for a log-rank test to detect ``hr``.

    ``D = (z_{1 - alpha/sided} + z_{power})^2 / (allocation (1 - allocation) ln(hr)^2)``.

    Parameters
    ----------
    hr : float
        Hazard ratio to detect, ``> 0`` and ``!= 1``.
    alpha, power : float, optional
        Significance level (two-sided for ``sided=2``) and power, both in (0, 1).
    sided : {1, 2}, optional
    allocation : float, optional
        Share of patients in the experimental arm, in (0, 1).

    Returns
    -------
    float
        Expected number of events (both arms) needed.
    """
    hr = _check_real("hr", hr, "> 0 and != 1", lambda x: x > 0 and x != 1)
    _check_real("alpha", alpha, "in (0, 1)", lambda x: 0 < x < 1)
    _check_real("power", power, "in (0, 1)", lambda x: 0 < x < 1)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided = {sided!r}: must be 1 or 2")
    _check_real("allocation", allocation, "in (0, 1)", lambda x: 0 < x < 1)
    z = special.ndtri(1 - alpha / sided) + special.ndtri(power)
    return float(z * z / (allocation * (1 - allocation) * math.log(hr) ** 2))


def schoenfeld_power(events: float, hr: float, *, alpha: float = 0.05, sided: int = 2,
                     allocation: float = 0.5) -> float:
    """Power of the log-rank test with ``events`` events by Schoenfeld's approximation.

    ``power = Phi(sqrt(D a (1 - a)) |ln hr| - z_{1 - alpha/sided})`` (the far tail of a
    two-sided test is ignored, as in the sample-size formula).

    Parameters
    ----------
    events : float
        Number of events, both arms, ``>= 0``.
    hr : float
        True hazard ratio, ``> 0``.
    alpha : float, optional
    sided : {1, 2}, optional
    allocation : float, optional
        Share of patients in the experimental arm, in (0, 1).

    Returns
    -------
    float
        Approximate power in (0, 1).
    """
    events = _check_real("events", events, ">= 0", lambda x: x >= 0)
    hr = _check_real("hr", hr, "> 0", lambda x: x > 0)
    _check_real("alpha", alpha, "in (0, 1)", lambda x: 0 < x < 1)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided = {sided!r}: must be 1 or 2")
    _check_real("allocation", allocation, "in (0, 1)", lambda x: 0 < x < 1)
    shift = math.sqrt(events * allocation * (1 - allocation)) * abs(math.log(hr))
    return float(special.ndtr(shift - special.ndtri(1 - alpha / sided)))


def _derived_seed(seed: int, n: int) -> int:
    """A seed for the design with ``n`` patients per arm, a fixed function of (seed, n)."""
    state = np.random.SeedSequence([seed, n]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def _n_for_target(n_grid, power, target: float, replicates: int | None = None):
    """Sample size at which the power first reaches ``target``; (n or None, note or None).

    Linear interpolation of n in logit(power) between the first grid point with
    ``power >= target`` and the one before. Powers are clipped to
    ``[0.5 / replicates, 1 - 0.5 / replicates]`` so that 0 and 1 have a finite logit.
    """
    eps = 0.5 / replicates if replicates else 1e-9
    for i, p1 in enumerate(power):
        if p1 >= target:
            if i == 0:
                return None, (
                    f"The power {p1:.3f} at the smallest n_per_arm = {n_grid[0]} already reaches "
                    f"the target {target:g}: n_for_target <= {n_grid[0]}; extend n_grid downwards."
                )
            n0, n1 = n_grid[i - 1], n_grid[i]
            l0, l1, lt = (special.logit(min(max(x, eps), 1 - eps)) for x in (power[i - 1], p1, target))
            if not l1 > l0:
                return float(n1), None
            return float(n0 + (lt - l0) / (l1 - l0) * (n1 - n0)), None
    return None, (
        f"The target power {target:g} is not reached on the grid (largest power "
        f"{max(power):.3f} at n_per_arm <= {n_grid[-1]}); extend n_grid upwards."
    )


def power_curve(control, experimental, *, n_grid, target_power=0.8, **trial_kwargs) -> dict:
    """Power as a function of the sample size, and the n giving ``target_power``.

    Parameters
    ----------
    control, experimental : (time, event) pair of array_like
        Simulated pools, as for :func:`simulate_trials`.
    n_grid : sequence of int
        Patients per arm, strictly increasing, each ``>= 2``.
    target_power : float, optional
        Power aimed at, in (0, 1).
    **trial_kwargs
        The other arguments of :func:`simulate_trials` (``accrual_per_month``,
        ``followup_months`` required). The design with ``n`` patients per arm is simulated with
        seed ``_derived_seed(seed, n)`` (a fixed function of the base seed and n, from
        ``numpy.random.SeedSequence([seed, n])``), so each point is reproducible on its own and
        does not depend on the rest of the grid.

    Returns
    -------
    dict
        JSON-ready: ``n_per_arm`` (the grid), ``power`` and ``power_ci95`` ``[[lo, ...],
        [hi, ...]]`` (Wilson), ``seeds``, ``events_mean``, ``event_probability`` (mean events /
        2 n), ``duration_mean`` (months), ``hr_geometric_mean`` per grid point;
        ``target_power``; ``n_for_target`` (float, patients per arm: n interpolated linearly
        in logit(power) between the first grid point reaching the target and the one before;
        round up for planning; None if not reached on the grid, or already reached at its
        first point, with a note); ``hr_true`` (Cox HR of the whole pools);
        ``schoenfeld_events`` and ``schoenfeld_n_per_arm`` (Schoenfeld's required events for
        ``hr_true`` at ``alpha``/``sided`` and ``target_power``, divided by 2 x the event
        probability observed at the middle grid point ``n_mid`` -- the analytic answer to
        compare with; None if undefined); ``n_mid``; ``inputs`` (the trial arguments);
        ``notes``.
    """
    if "n_per_arm" in trial_kwargs:
        raise ValueError(f"n_per_arm = {trial_kwargs['n_per_arm']!r}: not allowed in power_curve, "
                         "which sets it from n_grid")
    try:
        grid = list(n_grid)
    except TypeError:
        raise ValueError(f"n_grid = {n_grid!r}: must be a sequence of integers >= 2") from None
    if not grid:
        raise ValueError("n_grid = []: must contain at least one sample size")
    grid = [_check_int("n_grid", v, 2) for v in grid]
    if any(b <= a for a, b in zip(grid, grid[1:])):
        raise ValueError(f"n_grid = {grid}: must be strictly increasing")
    target = _check_real("target_power", target_power, "in (0, 1)", lambda x: 0 < x < 1)
    kw = dict(dropout_per_year=0.0, replicates=1000, seed=0, alpha=0.05, sided=2,
              pool_horizon_months=None)
    kw.update(trial_kwargs)
    for req in ("accrual_per_month", "followup_months"):
        if req not in kw:
            raise ValueError(f"{req}: missing, required by simulate_trials")
    unknown = set(kw) - {"accrual_per_month", "followup_months", "dropout_per_year", "replicates",
                         "seed", "alpha", "sided", "pool_horizon_months"}
    if unknown:
        raise ValueError(f"unknown argument(s) {sorted(unknown)}: not arguments of simulate_trials")
    base_seed = _check_int("seed", kw.pop("seed"), 0)
    pools = _prepare(control, experimental)
    designs = []
    for n in grid:
        designs.append(_design(pools, n_per_arm=n, seed=_derived_seed(base_seed, n), **kw))
    results = [_simulate(pools, d) for d in designs]

    power = [r["power"] for r in results]
    notes = []
    n_target, note = _n_for_target(grid, power, target, designs[0].replicates)
    if note:
        notes.append(note)

    mid = len(grid) // 2
    hr_true = pools.true_hr()
    p_event = results[mid]["events"]["probability"]
    d_req = n_sch = None
    if math.isfinite(hr_true) and hr_true > 0 and hr_true != 1:
        d_req = schoenfeld_events(hr_true, alpha=designs[0].alpha, power=target,
                                  sided=designs[0].sided)
        if p_event > 0:
            n_sch = int(math.ceil(d_req / (2.0 * p_event)))
        else:
            notes.append(f"No events at n_per_arm = {grid[mid]}: Schoenfeld's n is undefined.")
    else:
        notes.append(f"The pools' HR is {hr_true!r}: Schoenfeld's sample size is undefined.")
    if designs[0].sided == 1 and math.isfinite(hr_true) and hr_true > 1:
        notes.append("One-sided test for HR < 1 but the pools' HR is > 1: the power tends to 0.")
    for r in results:
        for msg in r["notes"]:
            tagged = f"n_per_arm = {r['inputs']['n_per_arm']}: {msg}"
            notes.append(tagged)

    return {
        "n_per_arm": grid,
        "power": power,
        "power_ci95": [[r["power_ci95"][0] for r in results], [r["power_ci95"][1] for r in results]],
        "seeds": [d.seed for d in designs],
        "events_mean": [r["events"]["mean"] for r in results],
        "event_probability": [r["events"]["probability"] for r in results],
        "duration_mean": [r["duration"]["mean"] for r in results],
        "hr_geometric_mean": [r["hr"]["geometric_mean"] for r in results],
        "target_power": target,
        "n_for_target": n_target,
        "hr_true": outcomes.json_number(hr_true),
        "schoenfeld_events": d_req,
        "schoenfeld_n_per_arm": n_sch,
        "n_mid": grid[mid],
        "inputs": {"seed": base_seed, **{k: v for k, v in kw.items()}},
        "notes": notes,
    }
