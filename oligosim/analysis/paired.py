"""Paired comparison of two strategies simulated on the same virtual patients.

Patient ``i`` of every arm of a run is the same virtual patient (common random numbers, see
:mod:`oligosim.simulate`), so two arms are *paired* data: the difference between strategies is
estimated patient by patient, and most of the patient-to-patient variation cancels. This module
estimates differences between two arms (b minus a) with confidence intervals and standard errors
that use the pairing, and reports how much precision the pairing buys: the standard error that
two *independent* arms of the same size would have and the variance ratio
``se_independent**2 / se_paired**2`` -- the factor by which independent arms would need more
patients per arm for the same precision.

Methods
-------
Survival quantities (median, restricted mean survival time, landmark survival) use a paired
Poisson bootstrap (:mod:`oligosim.analysis.paired_bootstrap`); binary outcomes (grade >= 3
toxicity, treatment death) a closed form with Newcombe's interval
(:mod:`oligosim.analysis.paired_binary`).

Determinism: the output is a function of the data and of the arguments only. The bootstrap
weights come from ``numpy.random.Generator(numpy.random.PCG64(seed))``, drawn replicate by
replicate as ``n`` uniforms (``rng.random(n)``) turned into Poisson(1) counts by inversion of
the Poisson(1) distribution function (exact in double precision); the same data, seed and
``replicates`` give bit-identical results, whatever ``independent`` (which only decides whether
the independent-arms figures are reported). A different ``replicates`` gives the same first
replicates, so results change only by Monte-Carlo noise.
"""

from __future__ import annotations

import math

import numpy as np

from oligosim import codes
from oligosim.analysis.paired_binary import paired_binary_difference
from oligosim.analysis.paired_bootstrap import EndpointBootstrap, bootstrap_entry, draw_weights
from oligosim.analysis.survival import _validate, kaplan_meier, median_survival, rmst, survival_at

__all__ = [
    "compare_arms",
    "paired_difference_table",
    "TREATMENT_DEATH",
    "TABLE_COLUMNS",
]

#: ``death_cause`` code of a treatment-related death
TREATMENT_DEATH = int(codes.DEATH_TREATMENT)

#: columns of :func:`paired_difference_table` rows
TABLE_COLUMNS = ("quantity", "a", "b", "diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio")


def _column(x, name: str, label: str):
    try:
        return x[name]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"{label} has no column {name!r}") from None


def _optional_column(x, name: str):
    try:
        return x[name]
    except (KeyError, IndexError, TypeError):
        return None


def _lm_key(lm: float) -> str:
    return str(int(lm)) if float(lm).is_integer() else str(lm)


# ============================================================================ main entry
def compare_arms(
    a,
    b,
    *,
    endpoints=("os", "pfs"),
    tau_months: float = 60.0,
    landmarks=(12, 24),
    replicates: int = 400,
    seed: int = 0,
    independent: bool = True,
) -> dict:
    """Paired comparison of arm ``b`` against arm ``a`` (differences are b - a).

    Parameters
    ----------
    a, b : ArmResult or mapping-like
        The two arms, patient ``i`` the same virtual patient in both (e.g. two arms of one
        :func:`oligosim.simulate.run_scenario` run). Must support ``x[endpoint]`` and
        ``x[endpoint + "_event"]``; ``x.tox`` (n, k) bool grade >= 3 flags is used when present
        and not None, ``x["death_cause"]`` when available.
    endpoints : sequence of str, optional
        Time-to-event endpoints (default OS and PFS).
    tau_months : float, optional
        Truncation time of the restricted mean survival time, ``> 0`` and not beyond the last
        follow-up time of any endpoint in either arm (unless that curve has dropped to 0).
    landmarks : sequence of float, optional
        Times (months) at which survival differences are reported. A landmark beyond an arm's
        follow-up is reported as None with a note.
    replicates : int, optional
        Poisson-bootstrap replicates (``>= 2``; a few hundred for SEs and 95 % CIs).
    seed : int, optional
        Seed of ``numpy.random.Generator(numpy.random.PCG64(seed))`` for the bootstrap weights.
    independent : bool, optional
        Also report the SE that two independent arms of the same size would have and the
        variance ratio ``se_independent**2 / se_paired**2``.

    Returns
    -------
    dict
        JSON-able (plain floats/ints/str/None)::

            {"n", "replicates", "seed", "tau_months", "landmarks", "independent", "method",
             "endpoints": {ep: {"median": entry, "rmst": entry,
                                 "survival": {"12": entry, ...}}},
             "toxicity": {type: entry, ..., "any": entry} or None,
             "treatment_death": entry or None,
             "notes": [str, ...]}

        Every ``entry`` has ``a``, ``b``, ``diff``, ``ci_lo``, ``ci_hi`` (95 %),
        ``se_paired``, ``se_independent``, ``variance_ratio`` and ``ci_method``; values that
        cannot be estimated are None and the entry then has a ``note`` saying why (e.g. a
        median not reached). See the module docstring for the methods.

    Raises
    ------
    ValueError
        If the arms have different numbers of patients, an endpoint column is missing or
        invalid, ``tau_months`` is not positive or beyond follow-up, ``replicates < 2`` or
        ``seed < 0``; the message names the argument and its value.
    """
    endpoints = tuple(endpoints)
    if not endpoints:
        raise ValueError("endpoints is empty: need at least one endpoint such as 'os'")
    n_a = np.asarray(_column(a, endpoints[0], "arm a")).shape[0]
    n_b = np.asarray(_column(b, endpoints[0], "arm b")).shape[0]
    if n_a != n_b:
        raise ValueError(
            f"arms a and b have different numbers of patients (n = {n_a} and {n_b}): a paired "
            "comparison needs patient i in both arms (run them in one run_scenario call)"
        )
    n = int(n_a)
    tau = float(tau_months)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau_months = {tau_months!r}: must be a positive number of months")
    lms = np.asarray(landmarks, dtype=np.float64).ravel()
    if np.any(~np.isfinite(lms)) or np.any(lms < 0):
        raise ValueError(f"landmarks = {landmarks!r}: must be finite times >= 0 (months)")
    if isinstance(replicates, bool) or int(replicates) != replicates or replicates < 2:
        raise ValueError(f"replicates = {replicates!r}: must be an integer >= 2")
    replicates = int(replicates)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed = {seed!r}: must be an integer >= 0")
    seed = int(seed)

    # ------------------------------------------------------------------ binary columns (checked first)
    tox_a, tox_b = getattr(a, "tox", None), getattr(b, "tox", None)
    if tox_a is not None and tox_b is not None:
        tox_a, tox_b = np.asarray(tox_a, dtype=bool), np.asarray(tox_b, dtype=bool)
        if tox_a.ndim != 2 or tox_a.shape != tox_b.shape or tox_a.shape[0] != n:
            raise ValueError(f"tox arrays must both have shape (n, k) = ({n}, k), got {tox_a.shape} and {tox_b.shape}")
    else:
        tox_a = tox_b = None
    dc_a, dc_b = _optional_column(a, "death_cause"), _optional_column(b, "death_cause")
    if dc_a is not None and dc_b is not None:
        dc_a, dc_b = np.asarray(dc_a), np.asarray(dc_b)
        if dc_a.shape != (n,) or dc_b.shape != (n,):
            raise ValueError(f"death_cause columns must have shape ({n},), got {dc_a.shape} and {dc_b.shape}")
    else:
        dc_a = dc_b = None

    # ------------------------------------------------------------------ point estimates, sort once
    notes: list[str] = []
    point = {}  # point[ep][arm] = (median or None, rmst, landmark survivals, last time, last S)
    engines = {}
    for ep in endpoints:
        point[ep], engines[ep] = {}, {}
        for label, x in (("a", a), ("b", b)):
            t, e = _validate(
                _column(x, ep, f"arm {label}"),
                _column(x, f"{ep}_event", f"arm {label}"),
                f"arm {label} {ep!r}",
                f"arm {label} {ep + '_event'!r}",
            )
            if t.size != n:
                raise ValueError(f"arm {label} column {ep!r} has {t.size} patients, expected {n}")
            km = kaplan_meier(t, e)
            if tau > km.times[-1] and km.survival[-1] > 0:
                raise ValueError(
                    f"tau_months = {tau:g} is beyond the last follow-up time of arm {label}'s {ep!r} "
                    f"({km.times[-1]:g} months, survival still {km.survival[-1]:.3g}); choose tau_months <= "
                    f"{km.times[-1]:g}"
                )
            point[ep][label] = (
                median_survival(km)[0],
                rmst(km, tau)[0],
                np.atleast_1d(survival_at(km, lms)[0]) if lms.size else np.empty(0),
                float(km.times[-1]),
                float(km.survival[-1]),
            )
            del km
            engines[ep][label] = EndpointBootstrap(t, e, tau, lms)

    # ------------------------------------------------------------------ bootstrap
    nl = lms.size
    reps = {
        ep: {arm: {"median": np.empty(replicates), "rmst": np.empty(replicates), "lm": np.empty((replicates, nl))}
             for arm in ("a", "b")}
        for ep in endpoints
    }
    rng = np.random.Generator(np.random.PCG64(seed))
    w = np.empty(n, np.uint8)
    for r in range(replicates):
        total = draw_weights(rng, n, w)
        for ep in endpoints:
            for arm in ("a", "b"):
                med, area, lm = engines[ep][arm].stats(w, total)
                slot = reps[ep][arm]
                slot["median"][r] = med
                slot["rmst"][r] = area
                slot["lm"][r] = lm
    del engines, w

    # ------------------------------------------------------------------ survival differences
    out_endpoints = {}
    for ep in endpoints:
        (med_a, rmst_a, lm_a, last_a, s_last_a) = point[ep]["a"]
        (med_b, rmst_b, lm_b, last_b, s_last_b) = point[ep]["b"]
        ra, rb = reps[ep]["a"], reps[ep]["b"]
        res = {}
        # median
        entry = bootstrap_entry(
            math.inf if med_a is None else med_a, math.inf if med_b is None else med_b,
            ra["median"], rb["median"], independent,
        )
        msgs = []
        for label, med, last, s_last in (("a", med_a, last_a, s_last_a), ("b", med_b, last_b, s_last_b)):
            if med is None:
                msgs.append(
                    f"median {ep} not reached in arm {label} (survival {s_last:.3g} at the last "
                    f"follow-up, {last:g} months): median and difference reported as None"
                )
        if med_a is None or med_b is None:
            for k in ("diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio"):
                entry[k] = None
            entry.pop("note", None)
        nr_a = int(np.count_nonzero(np.isinf(ra["median"])))
        nr_b = int(np.count_nonzero(np.isinf(rb["median"])))
        if (nr_a or nr_b) and med_a is not None and med_b is not None:
            msgs.append(
                f"median {ep} not reached in {nr_a} (arm a) and {nr_b} (arm b) of {replicates} bootstrap "
                "replicates: SEs and variance ratio not reported; a CI limit that falls on such a "
                "replicate is None"
            )
        if msgs:
            entry["note"] = "; ".join(msgs)
            notes.extend(msgs)
        res["median"] = entry
        # RMST
        entry = bootstrap_entry(rmst_a, rmst_b, ra["rmst"], rb["rmst"], independent)
        entry["tau_months"] = tau
        res["rmst"] = entry
        # landmarks
        surv = {}
        for j, lm in enumerate(lms):
            sa, sb = float(lm_a[j]), float(lm_b[j])
            entry = bootstrap_entry(sa, sb, ra["lm"][:, j], rb["lm"][:, j], independent)
            if not (math.isfinite(sa) and math.isfinite(sb)):
                for k in ("diff", "ci_lo", "ci_hi", "se_paired", "se_independent", "variance_ratio"):
                    entry[k] = None
                msg = (
                    f"{ep} survival at {lm:g} months is beyond the follow-up of arm "
                    f"{'a' if not math.isfinite(sa) else 'b'}: reported as None"
                )
                entry["note"] = msg
                notes.append(msg)
            surv[_lm_key(lm)] = entry
        res["survival"] = surv
        out_endpoints[ep] = res

    # ------------------------------------------------------------------ binary outcomes
    tox_out = None
    if tox_a is not None:
        names = codes.TOX_NAMES if tox_a.shape[1] == codes.N_TOX else tuple(f"tox{k}" for k in range(tox_a.shape[1]))
        tox_out = {
            name: paired_binary_difference(tox_a[:, k], tox_b[:, k], independent=independent)
            for k, name in enumerate(names)
        }
        tox_out["any"] = paired_binary_difference(tox_a.any(axis=1), tox_b.any(axis=1), independent=independent)
    else:
        notes.append("toxicity not compared: tox flags are missing (keep='summary'?) in at least one arm")
    death_out = None
    if dc_a is not None:
        death_out = paired_binary_difference(dc_a == TREATMENT_DEATH, dc_b == TREATMENT_DEATH, independent=independent)
    else:
        notes.append("treatment deaths not compared: death_cause is missing in at least one arm")

    return {
        "n": n,
        "replicates": replicates,
        "seed": seed,
        "tau_months": tau,
        "landmarks": [float(x) for x in lms],
        "independent": bool(independent),
        "method": (
            "survival quantities: Poisson bootstrap with the same weight for a patient in both arms, "
            "percentile 95% CI, se_independent = sqrt(Var(a*) + Var(b*)); binary outcomes: closed-form "
            "paired variance (p10 + p01 - (p01 - p10)^2)/n, Newcombe square-and-add paired 95% CI"
        ),
        "endpoints": out_endpoints,
        "toxicity": tox_out,
        "treatment_death": death_out,
        "notes": notes,
    }


# ============================================================================ table
def paired_difference_table(comparison: dict) -> list[dict]:
    """Flat rows of a :func:`compare_arms` result, for CSV files and report tables.

    Returns
    -------
    list of dict
        One row per difference, keys :data:`TABLE_COLUMNS`: ``quantity`` (e.g.
        ``"os.median"``, ``"os.rmst:60"``, ``"os.rate:12"``, ``"tox.neutropenia"``,
        ``"tox.any"``, ``"treatment_deaths"``: the metric names of :mod:`oligosim.analysis.metrics`), then ``a``, ``b``, ``diff``, ``ci_lo``,
        ``ci_hi``, ``se_paired``, ``se_independent``, ``variance_ratio`` (float or None).
    """
    rows = []

    def add(name, entry):
        row = {"quantity": name}
        for k in TABLE_COLUMNS[1:]:
            row[k] = entry.get(k)
        rows.append(row)

    tau = comparison["tau_months"]
    for ep, res in comparison["endpoints"].items():
        # quantities are named in the metric grammar (oligosim.analysis.metrics), as everywhere
        add(f"{ep}.median", res["median"])
        add(f"{ep}.rmst:{_lm_key(tau)}", res["rmst"])
        for key, entry in res["survival"].items():
            add(f"{ep}.rate:{key}", entry)
    if comparison.get("toxicity"):
        for name, entry in comparison["toxicity"].items():
            add(f"tox.{name}", entry)
    if comparison.get("treatment_death"):
        add("treatment_deaths", comparison["treatment_death"])
    return rows
