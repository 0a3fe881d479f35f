"""Sample size: Schoenfeld's formulas and the simulated power curve over a grid of sizes."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from oligosim.analysis.survival import json_number
from oligosim.analysis.trial.replicates import simulate_design
from oligosim.analysis.trial.sampling import check_int, check_real, make_design, prepare_pools

__all__ = ["schoenfeld_events", "schoenfeld_power", "power_curve"]


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
    hr = check_real("hr", hr, "> 0 and != 1", lambda x: x > 0 and x != 1)
    check_real("alpha", alpha, "in (0, 1)", lambda x: 0 < x < 1)
    check_real("power", power, "in (0, 1)", lambda x: 0 < x < 1)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided = {sided!r}: must be 1 or 2")
    check_real("allocation", allocation, "in (0, 1)", lambda x: 0 < x < 1)
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
    events = check_real("events", events, ">= 0", lambda x: x >= 0)
    hr = check_real("hr", hr, "> 0", lambda x: x > 0)
    check_real("alpha", alpha, "in (0, 1)", lambda x: 0 < x < 1)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided = {sided!r}: must be 1 or 2")
    check_real("allocation", allocation, "in (0, 1)", lambda x: 0 < x < 1)
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
    grid = [check_int("n_grid", v, 2) for v in grid]
    if any(b <= a for a, b in zip(grid, grid[1:])):
        raise ValueError(f"n_grid = {grid}: must be strictly increasing")
    target = check_real("target_power", target_power, "in (0, 1)", lambda x: 0 < x < 1)
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
    base_seed = check_int("seed", kw.pop("seed"), 0)
    pools = prepare_pools(control, experimental)
    designs = []
    for n in grid:
        designs.append(make_design(pools, n_per_arm=n, seed=_derived_seed(base_seed, n), **kw))
    results = [simulate_design(pools, d) for d in designs]

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
        "hr_true": json_number(hr_true),
        "schoenfeld_events": d_req,
        "schoenfeld_n_per_arm": n_sch,
        "n_mid": grid[mid],
        "inputs": {"seed": base_seed, **{k: v for k, v in kw.items()}},
        "notes": notes,
    }
