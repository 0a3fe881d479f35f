"""Replicate trials drawn from two simulated pools: the randomised, enrolled, censored patients.

The design checks, the pools and the vectorised sampling of blocks of replicates shared by
:mod:`~oligosim.analysis.trial.replicates` and :mod:`~oligosim.analysis.trial.power`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from oligosim.analysis.hazards import cox_hazard_ratio
from oligosim.analysis.survival import kaplan_meier, median_survival

__all__ = [
    "simulate_trial_data",
    "Pools",
    "prepare_pools",
    "Design",
    "make_design",
    "Block",
    "iter_blocks",
    "check_int",
    "check_real",
]

#: patients (replicates x 2 n) sampled per vectorised block; a fixed number, so that the block
#: layout -- and with it the order of the random draws -- depends only on n_per_arm
_BLOCK_PATIENTS = 1 << 18


# ============================================================================ validation
def check_int(name: str, value, minimum: int) -> int:
    """``int(value)`` if it is an integer (not a bool) ``>= minimum``, else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} = {value!r}: must be an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name} = {value!r}: must be an integer >= {minimum}")
    return int(value)


def check_real(name: str, value, rule: str, ok) -> float:
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
class Pools:
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
            self._cache["hr"] = cox_hazard_ratio(self.t_c, self.e_c, self.t_x, self.e_x)[0]
        return self._cache["hr"]

    def medians(self) -> tuple:
        """KM medians (months, None = not reached) of the whole pools."""
        if "med" not in self._cache:
            self._cache["med"] = tuple(
                median_survival(kaplan_meier(t, e))[0]
                for t, e in ((self.t_c, self.e_c), (self.t_x, self.e_x))
            )
        return self._cache["med"]


def prepare_pools(control, experimental) -> Pools:
    t_c, e_c = _check_pool("control", control)
    t_x, e_x = _check_pool("experimental", experimental)
    return Pools(t_c, e_c, t_x, e_x)


@dataclass(frozen=True)
class Design:
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


def make_design(pools: Pools, *, n_per_arm, accrual_per_month, followup_months, dropout_per_year,
            replicates, seed, alpha, sided, pool_horizon_months) -> Design:
    n = check_int("n_per_arm", n_per_arm, 2)
    accrual = check_real("accrual_per_month", accrual_per_month, "> 0 (patients per month)",
                          lambda x: x > 0)
    followup = check_real("followup_months", followup_months, ">= 0 (months)", lambda x: x >= 0)
    dropout = check_real("dropout_per_year", dropout_per_year,
                          "in [0, 1) (fraction lost to follow-up per year)", lambda x: 0 <= x < 1)
    reps = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    alpha = check_real("alpha", alpha, "in (0, 1)", lambda x: 0 < x < 1)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided = {sided!r}: must be 1 or 2")
    horizon = None
    if pool_horizon_months is not None:
        horizon = check_real("pool_horizon_months", pool_horizon_months, "> 0 (months) or None",
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
    return Design(n, accrual, followup, dropout, reps, seed, alpha, int(sided), horizon)


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
class Block:
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


def iter_blocks(pools: Pools, d: Design):
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
        yield Block(
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
    pools = prepare_pools(control, experimental)
    d = make_design(pools, n_per_arm=n_per_arm, accrual_per_month=accrual_per_month,
                followup_months=followup_months, dropout_per_year=dropout_per_year,
                replicates=replicates, seed=seed, alpha=0.05, sided=2, pool_horizon_months=None)
    blocks = list(iter_blocks(pools, d))
    n = d.n
    keys = ("patient", "entry", "time", "event", "pool_time", "pool_event", "censor")
    out = {}
    for arm, sl in (("control", slice(0, n)), ("experimental", slice(n, 2 * n))):
        out[arm] = {k: np.concatenate([getattr(b, k)[:, sl] for b in blocks]) for k in keys}
    out["analysis_time"] = np.concatenate([b.analysis for b in blocks])
    return out
