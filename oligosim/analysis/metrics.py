"""Named scalar outcomes of one simulated arm, with Monte Carlo confidence intervals.

Experiments, calibration targets and reports all need "one number per arm" (the median OS,
the 24-month PFS rate, the grade >= 3 pneumonitis rate, ...). This module names them with a
small grammar so that a user can write them in a TOML file, and computes each with its 95 %
Monte Carlo confidence interval from an :class:`~oligosim.results.ArmResult` (either
``keep="all"`` or ``keep="summary"``).

Grammar (case-sensitive)::

    os.median | pfs.median | wpfs.median | dss.median       months (nan when not reached)
      | ttnt.median
    os.rate:24                                               S(24 months), fraction
    os.rmst:60                                               restricted mean to 60 months
    os.hr:dfi>=12 | pfs.hr:lesions>1 | os.hr:site=liver      Cox hazard ratio (Efron ties) of the patients
                                                             meeting the condition vs the rest of the arm
                                                             (subgroup grammar: oligosim.analysis.subgroups)
    tox.<type> | tox.any                                     grade >= 3 rate, fraction
    treatment_deaths                                         fraction of patients
    first_failure.<name>                                     share of patients; name one of codes.FAILURE_NAMES
                                                             (none, in_field, marginal_regional, out_of_field_new,
                                                             out_of_field_regrowth, widespread)
    first_failure.in_field+marginal_regional                 share of patients in any of several patterns
    response.orr | response.dcr                              RECIST 1.1 at the first assessment: CR+PR, CR+PR+SD,
    response.cr | .pr | .sd | .pd                            or one category, as shares of evaluable patients
    response.evaluable                                       share of patients evaluable (measurable, assessed)
    oligo_fraction_first_progression                         oligometastatic share of first progressions
    local_control:12                                         lesion-level KM local control at 12 months
    local_control:12[bed>=90,bed<=110,volume<27.7]           ... of lesions with BED10 (Gy) and volume (cm3) in range
    local_control[bed>=90,bed<=110]                          ... at the end of follow-up (crude: 1 - failures/lesions)
    rt_courses_mean                                          RT courses per patient
    estro.<class>                                            share of first progressions in an ESTRO-EORTC class
                                                             (codes.ESTRO_CLASS_NAMES, or polymetastatic)
    eligible_fraction                                        share of screened (drawn) patients who were eligible
    econ.cost | econ.qalys | econ.life_years                 mean discounted cost (currency), QALYs and life-years
                                                             (years) per patient; needs [economics] enabled = true

Endpoints: ``os``, ``pfs``, ``wpfs`` (progression to widespread disease or death), ``dss``
(deaths from the disease; other deaths censor) and ``ttnt``, time to next treatment (a second
systemic line, local therapy at a progression, or death; model 7.6).

:func:`evaluate_mixture` evaluates a metric in a *mixture* of arms run on the same virtual
patients, e.g. a study arm in which half the patients received chemotherapy after SBRT and half
did not, or a trial's toxicity pooled over its chemotherapy and chemo-immunotherapy subgroups.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from oligosim import codes
from oligosim.analysis import subgroups
from oligosim.analysis.hazards import cox_hazard_ratio
from oligosim.analysis.proportions import proportion_ci
from oligosim.analysis.summary import endpoint
from oligosim.analysis.survival import kaplan_meier, median_survival, rmst, survival_at
from oligosim.results import SUBGROUP_COLUMNS, ArmResult

ENDPOINTS = ("os", "pfs", "wpfs", "dss", "ttnt")
_Z95 = 1.959963984540054
#: response metrics -> the codes.RESPONSE_* counted in the numerator (of evaluable patients)
_RESPONSE = {
    "orr": (codes.RESPONSE_CR, codes.RESPONSE_PR),
    "dcr": (codes.RESPONSE_CR, codes.RESPONSE_PR, codes.RESPONSE_SD),
    "cr": (codes.RESPONSE_CR,),
    "pr": (codes.RESPONSE_PR,),
    "sd": (codes.RESPONSE_SD,),
    "pd": (codes.RESPONSE_PD,),
}

_FILTER = re.compile(r"^(bed|volume)\s*(<=|>=|<|>)\s*([0-9.eE+-]+)$")
_GRAMMAR = (
    "os|pfs|wpfs|dss|ttnt followed by .median, .rate:MONTHS, .rmst:MONTHS or .hr:SUBGROUP; tox.TYPE or tox.any; "
    "treatment_deaths; first_failure.NAME[+NAME...]; response.orr|dcr|cr|pr|sd|pd|evaluable; oligo_fraction_first_progression; "
    "local_control[:MONTHS][filters]; rt_courses_mean; estro.CLASS; eligible_fraction; econ.cost, econ.qalys or econ.life_years"
)


@dataclass(frozen=True)
class Metric:
    """A parsed metric name.

    Attributes
    ----------
    name : str
        The text it was parsed from (canonical spacing).
    kind : str
        ``"median"``, ``"rate"``, ``"rmst"``, ``"hr"``, ``"tox"``, ``"treatment_deaths"``,
        ``"first_failure"``, ``"response"``, ``"oligo_fraction"``, ``"local_control"``,
        ``"rt_courses"``, ``"estro"``, ``"eligible_fraction"`` or ``"econ"``.
    endpoint : str or None
        Survival endpoint for median/rate/rmst/hr; the toxicity name for tox; the failure
        pattern(s) for first_failure (``"in_field+marginal_regional"``); the response statistic.
    months : float or None
        Landmark or truncation time.
    filters : tuple of (field, op, value)
        Lesion filters for local control.
    unit : str
        ``"months"``, ``"fraction"``, ``"courses"``, ``"ratio"`` (hazard ratios), ``"currency"``
        or ``"years"``.
    subgroup : oligosim.analysis.subgroups.Condition or None
        The patients whose hazard a hazard ratio compares with the rest of the arm.
    """

    name: str
    kind: str
    endpoint: str | None = None
    months: float | None = None
    filters: tuple = ()
    unit: str = "fraction"
    subgroup: subgroups.Condition | None = None


_ENDPOINT_TITLES = {"os": "OS", "pfs": "PFS", "wpfs": "widespread-PFS", "dss": "disease-specific survival", "ttnt": "time to next treatment"}
_RESPONSE_TITLES = {
    "orr": "objective response rate (RECIST 1.1, first assessment)",
    "dcr": "disease-control rate (RECIST 1.1, first assessment)",
    "cr": "complete response (RECIST 1.1, first assessment)",
    "pr": "partial response (RECIST 1.1, first assessment)",
    "sd": "stable disease (RECIST 1.1, first assessment)",
    "pd": "progressive disease (RECIST 1.1, first assessment)",
    "evaluable": "evaluable for response (RECIST 1.1)",
}


def metric_title(name: str) -> str:
    """A metric's name for a reader, with its unit: ``os.rmst:60`` -> "restricted mean OS to 60
    months (months)", ``oligo_fraction_first_progression`` -> "oligometastatic share of first
    progressions". Falls back to the name itself."""
    try:
        m = parse_metric(name)
    except ValueError:
        return str(name)
    ep = _ENDPOINT_TITLES.get(m.endpoint or "", m.endpoint)
    months = f"{m.months:g}" if m.months is not None else ""
    titles = {
        "median": f"median {ep} (months)",
        "rate": f"{ep} at {months} months",
        "rmst": f"restricted mean {ep} to {months} months (months)",
        "hr": f"{ep} hazard ratio, {m.subgroup} vs the rest",
        "tox": f"grade ≥3 {str(m.endpoint).replace('_', ' ')}",
        "treatment_deaths": "treatment deaths",
        "first_failure": f"first failure: {str(m.endpoint).replace('_', ' ').replace('+', ' or ')}",
        "response": _RESPONSE_TITLES.get(str(m.endpoint), ""),
        "oligo_fraction": "oligometastatic share of first progressions",
        "local_control": "lesion local control" + (f" at {months} months" if months else "") + "".join(f", {f} {o} {v:g}" for f, o, v in m.filters),
        "rt_courses": "RT courses per patient",
        "estro": f"first progressions: {str(m.endpoint).replace('_', ' ')}",
        "eligible_fraction": "eligible share of screened patients",
    }
    return titles.get(m.kind, m.name)


def _months(text: str, name: str) -> float:
    try:
        m = float(text)
    except ValueError:
        raise ValueError(f"metric {name!r}: {text!r} is not a number of months") from None
    if not (math.isfinite(m) and m >= 0):
        raise ValueError(f"metric {name!r}: months must be a finite number >= 0, got {text!r}")
    return m


def parse_metric(name: str) -> Metric:
    """Parse a metric name (see the module docstring for the grammar).

    Raises
    ------
    ValueError
        Naming the metric and the grammar when it cannot be parsed.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"metric {name!r}: must be a non-empty string ({_GRAMMAR})")
    text = name.strip()
    bad = ValueError(f"metric {text!r} is not understood; expected {_GRAMMAR}")
    if text.startswith("local_control"):
        rest = text[len("local_control") :]
        filters: list[tuple[str, str, float]] = []
        if rest.endswith("]"):
            if "[" not in rest:
                raise bad
            rest, inside = rest[:-1].split("[", 1)
            for part in inside.split(","):
                m = _FILTER.match(part.strip())
                if not m:
                    raise ValueError(
                        f"metric {text!r}: lesion filter {part.strip()!r} must look like bed>=90 or volume<27.7 "
                        "(fields bed, volume; operators <, <=, >, >=)"
                    )
                filters.append((m.group(1), m.group(2), float(m.group(3))))
        months = None
        if rest:
            if not rest.startswith(":"):
                raise bad
            months = _months(rest[1:], text)
        return Metric(text, "local_control", months=months, filters=tuple(filters))
    if text == "treatment_deaths":
        return Metric(text, "treatment_deaths")
    if text == "rt_courses_mean":
        return Metric(text, "rt_courses", unit="courses")
    if text == "oligo_fraction_first_progression":
        return Metric(text, "oligo_fraction")
    if text == "eligible_fraction":
        return Metric(text, "eligible_fraction")
    head, _, tail = text.partition(".")
    if head == "tox":
        if tail != "any" and tail not in codes.TOX_NAMES:
            raise ValueError(f"metric {text!r}: toxicity type {tail!r} is not one of {', '.join(codes.TOX_NAMES + ('any',))}")
        return Metric(text, "tox", endpoint=tail)
    if head == "econ":
        if tail not in _ECON:
            raise ValueError(f"metric {text!r}: economic outcome {tail!r} is not one of {', '.join(_ECON)}")
        return Metric(text, "econ", endpoint=tail, unit="currency" if tail == "cost" else "years")
    if head == "estro":
        names = codes.ESTRO_CLASS_NAMES + ("polymetastatic",)
        if tail not in names:
            raise ValueError(f"metric {text!r}: ESTRO-EORTC class {tail!r} is not one of {', '.join(names)}")
        return Metric(text, "estro", endpoint=tail)
    if head == "first_failure":
        parts = tail.split("+")
        for part in parts:
            if part not in codes.FAILURE_NAMES:
                raise ValueError(
                    f"metric {text!r}: failure pattern {part!r} is not one of {', '.join(codes.FAILURE_NAMES)} "
                    "(several patterns are summed with +, e.g. first_failure.in_field+marginal_regional)"
                )
        if len(set(parts)) != len(parts):
            raise ValueError(f"metric {text!r}: a failure pattern is named twice; each may be summed once")
        return Metric(text, "first_failure", endpoint=tail)
    if head == "response":
        if tail not in _RESPONSE and tail != "evaluable":
            names = ", ".join(list(_RESPONSE) + ["evaluable"])
            raise ValueError(f"metric {text!r}: response statistic {tail!r} is not one of {names}")
        return Metric(text, "response", endpoint=tail)
    if head in ENDPOINTS:
        stat, _, arg = tail.partition(":")
        if stat == "hr":
            if not arg:
                raise ValueError(f"metric {text!r}: a hazard ratio needs a subgroup after hr:, e.g. {head}.hr:dfi>=12; {subgroups.RULE}")
            return Metric(text, "hr", endpoint=head, unit="ratio", subgroup=subgroups.parse_condition(arg, text))
        if stat == "median" and not arg:
            return Metric(text, "median", endpoint=head, unit="months")
        if stat == "rate" and arg:
            return Metric(text, "rate", endpoint=head, months=_months(arg, text))
        if stat == "rmst" and arg:
            return Metric(text, "rmst", endpoint=head, months=_months(arg, text), unit="months")
    raise bad


#: economic metrics -> column of oligosim.economics.accrue.RESULT_COLUMNS
_ECON = {"cost": "cost", "qalys": "qaly", "life_years": "ly"}


def _none_to_nan(x) -> float:
    return float("nan") if x is None else float(x)


def _lesions(arm: ArmResult, filters) -> tuple[np.ndarray, np.ndarray]:
    recs = arm.lc_records
    t, e = recs[0], recs[1]
    if filters:
        keep = np.ones(t.shape, bool)
        for field, op, value in filters:
            x = recs[2] if field == "bed" else recs[3]
            keep &= {"<": x < value, "<=": x <= value, ">": x > value, ">=": x >= value}[op]
        t, e = t[keep], e[keep]
    return t, e


def evaluate(arm: ArmResult, metric: str | Metric, *, _km_cache: dict | None = None) -> tuple[float, float, float]:
    """Value of ``metric`` in ``arm`` with its 95 % Monte Carlo confidence interval.

    Parameters
    ----------
    arm : ArmResult
        One simulated arm (``keep="all"`` or ``"summary"``).
    metric : str or Metric
        A metric name (see the module docstring) or a parsed :class:`Metric`.

    Returns
    -------
    value, lo, hi : float
        The estimate and its 95 % CI: Brookmeyer-Crowley for medians, log(-log) Greenwood for
        KM rates, Greenwood-type for RMST, Wald (on log HR) for hazard ratios, Wilson for
        proportions of patients. ``nan`` when the quantity is undefined (median not reached, no
        lesion irradiated, landmark after the last follow-up, an empty subgroup or one without
        events, no patient evaluable for response); the CI limits may be nan on their own (e.g.
        an upper limit not reached).
    """
    m = parse_metric(metric) if isinstance(metric, str) else metric
    agg = arm.aggregates
    n = int(agg["n"])
    if m.kind == "hr":
        return subgroup_hazard_ratio(arm, m)
    if m.kind == "response":
        return _response(agg["response"], m.endpoint)
    if m.kind in ("median", "rate", "rmst"):
        if _km_cache is not None and m.endpoint in _km_cache:
            km = _km_cache[m.endpoint]
        else:
            km = kaplan_meier(*endpoint(arm, m.endpoint))
            if _km_cache is not None:
                _km_cache[m.endpoint] = km
        if m.kind == "median":
            med, (lo, hi) = median_survival(km)
            return _none_to_nan(med), _none_to_nan(lo), _none_to_nan(hi)
        if m.kind == "rate":
            return tuple(float(v) for v in survival_at(km, m.months))
        if m.months > km.times[-1] and km.survival[-1] > 0:
            return (float("nan"),) * 3
        est, se = rmst(km, m.months)
        return est, est - _Z95 * se, est + _Z95 * se
    if m.kind == "econ":
        if arm.economics is None:
            raise ValueError(f"metric {m.name!r} needs the economic evaluation: set [economics] enabled = true in the scenario")
        from oligosim.economics.outcomes import mean_ci

        est, (lo, hi) = mean_ci(arm.economics.columns[_ECON[m.endpoint]])
        return est, lo, hi
    if m.kind == "local_control":
        t, e = _lesions(arm, m.filters)
        if t.size == 0:
            return (float("nan"),) * 3
        if m.months is None:
            ok = int(t.size - np.count_nonzero(e))
            lo, hi = proportion_ci(ok, int(t.size))
            return ok / t.size, lo, hi
        return tuple(float(v) for v in survival_at(kaplan_meier(t, e), m.months))
    if m.kind == "rt_courses":
        mean = float(agg["rt_courses"]) / n
        return mean, float("nan"), float("nan")
    if m.kind == "estro":
        estro = agg["estro"]
        total = int(estro.sum())
        if total == 0:
            return (float("nan"),) * 3
        names = codes.ESTRO_CLASS_NAMES + ("polymetastatic",)
        k = int(estro[names.index(m.endpoint)])
        lo, hi = proportion_ci(k, total)
        return k / total, lo, hi
    if m.kind == "eligible_fraction":
        drawn = int(agg["attempts"])
        lo, hi = proportion_ci(n, drawn)
        return n / drawn, lo, hi
    if m.kind == "oligo_fraction":
        estro = agg["estro"]
        total = int(estro.sum())
        if total == 0:
            return (float("nan"),) * 3
        k = total - int(estro[-1])
        lo, hi = proportion_ci(k, total)
        return k / total, lo, hi
    if m.kind == "tox":
        k = int(agg["tox_any"]) if m.endpoint == "any" else int(agg["tox"][codes.TOX_NAMES.index(m.endpoint)])
    elif m.kind == "treatment_deaths":
        k = int(agg["treatment_deaths"])
    else:  # first_failure, one pattern or a sum of several
        k = sum(int(agg["first_failure"][codes.FAILURE_NAMES.index(p)]) for p in m.endpoint.split("+"))
    lo, hi = proportion_ci(k, n)
    return k / n, lo, hi


def _response_counts(counts, statistic: str) -> tuple[float, float]:
    """(numerator, denominator) of a response metric from the counts by codes.RESPONSE_*."""
    counts = np.asarray(counts, dtype=np.float64)
    evaluable = float(counts.sum() - counts[codes.RESPONSE_NE])
    if statistic == "evaluable":
        return evaluable, float(counts.sum())
    return float(sum(counts[c] for c in _RESPONSE[statistic])), evaluable


def _response(counts, statistic: str) -> tuple[float, float, float]:
    """A response share with its Wilson CI; nan when no patient is evaluable."""
    k, total = _response_counts(counts, statistic)
    if total == 0:
        return (float("nan"),) * 3
    lo, hi = proportion_ci(k, total)
    return k / total, lo, hi


def subgroup_hazard_ratio(arm: ArmResult, m: Metric) -> tuple[float, float, float]:
    """Cox hazard ratio of the subgroup ``m.subgroup`` vs the rest of ``arm``, with its 95 % CI.

    One binary covariate, Newton-Raphson on the partial likelihood with Efron's handling of
    tied event times (:func:`oligosim.analysis.hazards.cox_hazard_ratio`, the project's own fit,
    checked against lifelines and statsmodels, so the package needs neither at run time). Times
    are continuous by default, where Efron and Breslow coincide; but progression is found at
    scans, and with ``followup.visit_window_days = 0`` every PFS event falls on the scan grid and
    ties, where Efron's approximation is the closer one to the exact partial likelihood (Breslow
    biases the log hazard ratio towards 0 under heavy ties) and is lifelines' default. Wald CI
    on the log hazard ratio. nan when either group is empty or the estimate is not finite (e.g.
    no event in one group).
    """
    t, e = endpoint(arm, m.endpoint)
    inside = subgroups.member(arm, m.subgroup)
    if not inside.any() or inside.all():
        return (float("nan"),) * 3
    hr, lo, hi, _p = cox_hazard_ratio(t[~inside], e[~inside], t[inside], e[inside], ties="efron")
    return float(hr), float(lo), float(hi)


def evaluate_many(arm: ArmResult, metrics) -> dict[str, tuple[float, float, float]]:
    """:func:`evaluate` for several metrics, sharing the Kaplan-Meier fits per endpoint."""
    cache: dict = {}
    return {str(name): evaluate(arm, name, _km_cache=cache) for name in metrics}


# ----------------------------------------------------------------------------- mixtures of arms

#: seed of the fixed allocation of patients to the arms of a mixture (see evaluate_mixture)
MIXTURE_ALLOCATION_SEED = 0x6D6978


def mixture_allocation(n: int, weights) -> np.ndarray:
    """Arm index (0..k-1) of each of ``n`` patients in a mixture with the given ``weights``.

    The allocation is random but fixed (it depends only on ``n`` and ``weights``, through
    :data:`MIXTURE_ALLOCATION_SEED`), so it is independent of the simulated patients and the
    same in every evaluation: exactly ``round(w_k n)`` patients (largest remainders) go to arm
    ``k``.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"mixture weights must be a non-empty list of numbers > 0, got {list(weights)!r}")
    w = w / w.sum()
    exact = w * n
    counts = np.floor(exact).astype(np.int64)
    short = int(n - counts.sum())
    if short:
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    labels = np.repeat(np.arange(w.size), counts)
    return np.random.default_rng(MIXTURE_ALLOCATION_SEED).permutation(labels)


def _pooled_arm(arms, weights) -> ArmResult:
    """A pseudo-arm whose patient i comes from arm ``mixture_allocation(n, weights)[i]``.

    Only the survival columns are filled (what medians, rates, RMST and hazard ratios read),
    with the subgroup covariates, which are the same in every arm (patient ``i`` is the same
    virtual patient).
    """
    n = arms[0].n
    which = mixture_allocation(n, weights)
    rows = np.arange(n)
    columns = {c: arms[0][c] for c in SUBGROUP_COLUMNS}
    for c in ("os", "os_event", "pfs", "pfs_event", "wpfs", "wpfs_event", "death_cause", "ttnt", "ttnt_event"):
        stack = np.stack([a[c] for a in arms])
        columns[c] = stack[which, rows]
    empty = np.zeros(0)
    return ArmResult(
        name="+".join(a.name for a in arms),
        label="mixture",
        columns=columns,
        aggregates={"n": np.int64(n)},
        lc_records=(empty, np.zeros(0, bool), empty, empty),
    )


def _wilson(p: float, n: float) -> tuple[float, float, float]:
    if not n > 0 or not math.isfinite(p):
        return (float("nan"),) * 3
    lo, hi = proportion_ci(min(max(p * n, 0.0), n), n)
    return p, float(lo), float(hi)


def evaluate_mixture(arms, weights, metric: str | Metric) -> tuple[float, float, float]:
    """Value and 95 % CI of ``metric`` in a mixture of arms of one run.

    Parameters
    ----------
    arms : sequence of ArmResult
        Arms of one :func:`~oligosim.simulate.run_scenario` call (same virtual patients, same
        number of patients).
    weights : sequence of float
        Share of the mixed population treated as each arm; any positive numbers (normalised), so
        patient counts such as ``(61, 43)`` work.
    metric : str or Metric

    Returns
    -------
    value, lo, hi : float
        With one arm, exactly :func:`evaluate`. Otherwise:

        * survival medians, rates, RMST and subgroup hazard ratios are computed on a pooled
          cohort of ``n`` patients in which patient ``i`` is taken from one arm (a fixed random
          allocation in the given proportions, :func:`mixture_allocation`), so the estimate and
          its CI are those of a randomised mixture of ``n`` patients;
        * proportions of patients (``tox.*``, ``treatment_deaths``, ``first_failure.*``) are the
          weighted mean of the arms' proportions, with a Wilson CI for ``n`` patients;
        * ratios (``oligo_fraction_first_progression``, crude ``local_control``, ``response.*``)
          weight each arm's numerator and denominator;
        * landmark local control (``local_control:T``) is the weighted mean of the arms'
          Kaplan-Meier values with a normal CI from their CI widths (var = sum w_k var_k);
        * ``rt_courses_mean`` is the weighted mean (no CI).
    """
    m = parse_metric(metric) if isinstance(metric, str) else metric
    arms = list(arms)
    w = np.asarray(weights, dtype=np.float64)
    if len(arms) != w.size or not arms:
        raise ValueError(f"{len(arms)} arms but {w.size} weights")
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"mixture weights must be > 0, got {list(weights)!r}")
    if len(arms) == 1:
        return evaluate(arms[0], m)
    if m.kind == "econ":
        raise ValueError(f"metric {m.name!r} is not defined for a mixture of arms")
    sizes = {a.n for a in arms}
    if len(sizes) != 1:
        raise ValueError(f"arms of a mixture must have the same number of patients, got {sorted(sizes)}")
    w = w / w.sum()
    n = arms[0].n
    if m.kind in ("median", "rate", "rmst", "hr"):
        return evaluate(_pooled_arm(arms, w), m)
    if m.kind == "response":
        num = den = 0.0
        for wk, a in zip(w, arms):
            k, total = _response_counts(a.aggregates["response"], m.endpoint)
            num += wk * k
            den += wk * total
        return _wilson(num / den, den) if den > 0 else (float("nan"),) * 3
    if m.kind in ("tox", "treatment_deaths", "first_failure"):
        p = sum(wk * evaluate(a, m)[0] for wk, a in zip(w, arms))
        return _wilson(float(p), float(n))
    if m.kind == "eligible_fraction":
        # every arm of a run screens the same virtual patients
        return evaluate(arms[0], m)
    if m.kind == "oligo_fraction":
        num = den = 0.0
        for wk, a in zip(w, arms):
            estro = a.aggregates["estro"]
            total = int(estro.sum())
            num += wk * (total - int(estro[-1]))
            den += wk * total
        return _wilson(num / den, den) if den > 0 else (float("nan"),) * 3
    if m.kind == "local_control" and m.months is None:
        num = den = 0.0
        for wk, a in zip(w, arms):
            t, e = _lesions(a, m.filters)
            num += wk * (t.size - np.count_nonzero(e))
            den += wk * t.size
        return _wilson(num / den, den) if den > 0 else (float("nan"),) * 3
    values = [evaluate(a, m) for a in arms]
    est = float(sum(wk * v[0] for wk, v in zip(w, values)))
    if m.kind == "rt_courses":
        return est, float("nan"), float("nan")
    var = 0.0
    for wk, (_, lo, hi) in zip(w, values):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return est, float("nan"), float("nan")
        var += wk * ((hi - lo) / (2.0 * _Z95)) ** 2
    half = _Z95 * math.sqrt(var)
    return est, max(est - half, 0.0), min(est + half, 1.0)
