"""oligosim.analysis.survival and hazards against R's survival package (survfit, survdiff, coxph).

R is run once per dataset through ``Rscript``; the module is skipped when ``Rscript`` is not on
the PATH or ``library(survival)`` fails. Data go to R as CSV with 17 significant digits (exact
doubles) and come back through ``write.csv`` (15 significant digits), so identical formulas
agree to ~1e-13; the tolerance is 1e-9 relative.

Conventions compared (all identical unless said otherwise):

* ``survfit(conf.type = "log-log")``: ``surv`` = our ``survival``; R's ``std.err`` is the
  standard error of the cumulative hazard ``-log S`` (Greenwood), i.e. our ``se / survival``;
  ``lower``/``upper`` = our log(-log) band. R gives NA limits where S is 1 or 0, where ours
  are (1, 1) and (0, 0).
* Median and its CI (``quantile(fit, 0.5)`` and ``summary(fit)$table``): the first time the
  curve (resp. the lower / upper band) is ``<= 0.5``. **Convention difference:** when the
  curve is exactly 0.5 on a flat stretch (e.g. 2 deaths out of 4), R reports the mid-point
  between the start of that flat and the next time the curve drops below 0.5
  (``survival:::survmean``'s ``minmin``, tolerance ``sqrt(.Machine$double.eps)``), oligosim
  the start of the flat (lifelines' convention, documented in ``median_survival``). The tests
  apply R's rule to oligosim's curve and check both the rule and the raw values.
  **Second convention difference** (CI of the median): where S drops to 0, R's band is NA, so
  when the upper band first reaches 0.5 only there R's upper limit is NA ("not reached");
  oligosim's band is (0, 0) there (as lifelines'), so its upper limit is that last time
  (dataset "flat").
* RMST: ``summary(fit, rmean = tau)$table`` ``rmean`` and ``se(rmean)``. R's variance is
  ``sum_j A_j^2 d_j / (n_j (n_j - d_j))`` with ``A_j`` the area under the curve from event
  time ``t_j`` to tau -- the same formula as ``survival.rmst`` (no ``n / (n - 1)`` factor in
  survival 3.x), so they agree to rounding.
* ``survdiff``: log-rank chi-square with the hypergeometric variance.
* ``coxph(ties = "breslow" | "efron")``: coefficient, its SE (``1 / sqrt(information)``),
  Wald 95 % CI and Wald p-value. R's Newton-Raphson is run with ``eps = 1e-14`` so that both
  fits are converged to well below the tolerance (R's default ``eps = 1e-9`` is a relative
  change of the log-likelihood, which leaves ~1e-6 in the coefficient).
"""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest

from oligosim.analysis.hazards import cox_hazard_ratio, logrank
from oligosim.analysis.survival import Z95, kaplan_meier, median_survival, rmst, survival_at

RSCRIPT = shutil.which("Rscript")


def _r_survival_available() -> str | None:
    """None if R with the survival package works, else the reason to skip."""
    if RSCRIPT is None:
        return "Rscript is not on the PATH"
    try:
        proc = subprocess.run(
            [RSCRIPT, "-e", "suppressMessages(library(survival)); cat(as.character(packageVersion('survival')))"],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:  # pragma: no cover - environment
        return f"Rscript failed to run: {exc}"
    if proc.returncode != 0:
        return f"library(survival) failed in R: {proc.stderr.strip()[-300:]}"
    return None


_SKIP = _r_survival_available()
if _SKIP:
    pytest.skip(_SKIP, allow_module_level=True)

pd = pytest.importorskip("pandas")

TOL = 1e-9

R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
out <- args[2]
tau <- as.numeric(args[3])
for (g in c(0, 1)) {
  s <- d[d$arm == g, ]
  fit <- survfit(Surv(time, event) ~ 1, data = s, conf.type = "log-log")
  write.csv(data.frame(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
                       n_censor = fit$n.censor, surv = fit$surv, std_err = fit$std.err,
                       lower = fit$lower, upper = fit$upper),
            file.path(out, sprintf("km_%d.csv", g)), row.names = FALSE)
  tab <- summary(fit, rmean = tau)$table
  q <- quantile(fit, probs = 0.5)
  write.csv(data.frame(median = unname(q$quantile), lower = unname(q$lower),
                       upper = unname(q$upper), median_table = unname(tab["median"]),
                       lcl_table = unname(tab["0.95LCL"]), ucl_table = unname(tab["0.95UCL"]),
                       rmean = unname(tab["rmean"]), se_rmean = unname(tab["se(rmean)"])),
            file.path(out, sprintf("summary_%d.csv", g)), row.names = FALSE)
}
lr <- survdiff(Surv(time, event) ~ arm, data = d)
rows <- list()
for (ties in c("breslow", "efron")) {
  f <- coxph(Surv(time, event) ~ arm, data = d, ties = ties,
             control = coxph.control(eps = 1e-14, iter.max = 200))
  sm <- summary(f)
  rows[[ties]] <- data.frame(ties = ties, coef = unname(coef(f)), se = unname(sqrt(vcov(f))[1, 1]),
                             hr = unname(sm$conf.int[1, "exp(coef)"]),
                             lo = unname(sm$conf.int[1, "lower .95"]),
                             hi = unname(sm$conf.int[1, "upper .95"]),
                             p = unname(sm$coefficients[1, "Pr(>|z|)"]))
}
write.csv(do.call(rbind, rows), file.path(out, "cox.csv"), row.names = FALSE)
write.csv(data.frame(chisq = lr$chisq, p = pchisq(lr$chisq, df = 1, lower.tail = FALSE)),
          file.path(out, "logrank.csv"), row.names = FALSE)
"""


def _dataset(seed, n_a, n_b, scale_a, scale_b, follow_up, round_to, censor_scale=None):
    """Two arms of exponential times, censoring uniform on [0, follow_up] (or exponential with
    mean ``censor_scale``, cut at ``follow_up``), times rounded (ties)."""
    rng = np.random.default_rng(seed)
    rows = []
    for arm, n, scale in ((0, n_a, scale_a), (1, n_b, scale_b)):
        t = rng.exponential(scale, n)
        if censor_scale is None:
            c = rng.uniform(0.0, follow_up, n)
        else:
            c = np.minimum(rng.exponential(censor_scale, n), follow_up)
        time = np.round(np.minimum(t, c) / round_to) * round_to
        rows.append((time, (t <= c).astype(int), np.full(n, arm)))
    time, event, arm = (np.concatenate(x) for x in zip(*rows))
    return time, event, arm


DATASETS = {
    # moderate censoring (~30 %), many ties (half-month grid)
    "ties": dict(data=_dataset(20251121, 260, 240, 14.0, 20.0, 60.0, 0.5), tau=36.0),
    # heavy censoring (~80 %), ties on a whole-month grid; medians not reached
    "heavy": dict(data=_dataset(7, 300, 280, 90.0, 140.0, 40.0, 1.0), tau=30.0),
    # heavy early censoring (~75 %) with the medians still reached, few patients left at risk
    "heavy_reached": dict(data=_dataset(99, 400, 380, 25.0, 32.0, 100.0, 0.5, censor_scale=8.0), tau=24.0),
    # tiny, uncensored in arm a: S hits exactly 0.5 on a flat (R's mid-point rule applies)
    "flat": dict(
        data=(
            np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0, 3.0, 3.0, 5.0, 7.0, 8.0]),
            np.array([1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1]),
            np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
        ),
        tau=5.0,
    ),
}


@pytest.fixture(scope="module", params=list(DATASETS))
def r_run(request, tmp_path_factory):
    name = request.param
    spec = DATASETS[name]
    time, event, arm = spec["data"]
    tmp = tmp_path_factory.mktemp(f"r_{name}")
    csv = tmp / "data.csv"
    with open(csv, "w") as fh:
        fh.write("time,event,arm\n")
        for t, e, g in zip(time, event, arm):
            fh.write(f"{float(t)!r},{int(e)},{int(g)}\n")
    script = tmp / "compare.R"
    script.write_text(R_SCRIPT)
    proc = subprocess.run([RSCRIPT, str(script), str(csv), str(tmp), repr(spec["tau"])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"R failed:\n{proc.stderr}"
    out = {
        "name": name,
        "tau": spec["tau"],
        "time": time,
        "event": event.astype(bool),
        "arm": arm,
        "km": [pd.read_csv(tmp / f"km_{g}.csv") for g in (0, 1)],
        "summary": [pd.read_csv(tmp / f"summary_{g}.csv").iloc[0] for g in (0, 1)],
        "cox": pd.read_csv(tmp / "cox.csv").set_index("ties"),
        "logrank": pd.read_csv(tmp / "logrank.csv").iloc[0],
    }
    return out


def _arm(run, g):
    sel = run["arm"] == g
    return run["time"][sel], run["event"][sel]


def _na(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def test_dataset_shapes_are_as_intended(r_run):
    """The datasets exercise what they are meant to (ties, censoring)."""
    for g in (0, 1):
        t, e = _arm(r_run, g)
        km = kaplan_meier(t, e)
        if r_run["name"] == "ties":
            assert np.unique(t).size < 0.6 * t.size and 0.2 < 1 - e.mean() < 0.45
            assert np.any(km.events > 1)
        elif r_run["name"] == "heavy":
            assert 1 - e.mean() > 0.7 and np.any(km.events > 1)
            assert median_survival(km)[0] is None
        elif r_run["name"] == "heavy_reached":
            assert 1 - e.mean() > 0.7 and np.any(km.events > 1)
            assert median_survival(km)[0] is not None


@pytest.mark.parametrize("g", [0, 1])
def test_kaplan_meier_matches_survfit(r_run, g):
    km = kaplan_meier(*_arm(r_run, g))
    r = r_run["km"][g]
    np.testing.assert_array_equal(km.times, r["time"].to_numpy())
    np.testing.assert_array_equal(km.at_risk, r["n_risk"].to_numpy())
    np.testing.assert_array_equal(km.events, r["n_event"].to_numpy())
    np.testing.assert_array_equal(km.censored, r["n_censor"].to_numpy())
    np.testing.assert_allclose(km.survival, r["surv"].to_numpy(), rtol=TOL, atol=1e-15)
    # R's std.err is the SE of -log S: ours divided by S (undefined where S == 0)
    pos = km.survival > 0
    np.testing.assert_allclose(km.se[pos] / km.survival[pos], r["std_err"].to_numpy()[pos], rtol=TOL, atol=1e-15)
    # log(-log) limits; R leaves them NA where S is 1 or 0 (ours: (1, 1) and (0, 0))
    _, lo, hi = survival_at(km, km.times)
    r_lo, r_hi = r["lower"].to_numpy(), r["upper"].to_numpy()
    inside = (km.survival > 0) & (km.survival < 1)
    np.testing.assert_allclose(lo[inside], r_lo[inside], rtol=TOL)
    np.testing.assert_allclose(hi[inside], r_hi[inside], rtol=TOL)
    assert np.all(np.isnan(r_lo[~inside]) | (r_lo[~inside] == lo[~inside]))


def _r_quantile_rule(times, curve):
    """``survival:::survmean``'s ``minmin``: first time with curve <= 0.5, but the mid-point to
    the next drop when the curve sits exactly at 0.5 (within sqrt(eps)). NaN = not reached."""
    tol = math.sqrt(np.finfo(float).eps)
    keep = ~np.isnan(curve) & (curve < 0.5 + tol)
    if not keep.any():
        return math.nan
    x, y = times[keep], curve[keep]
    if abs(y[0] - 0.5) < tol and np.any(y < y[0]):
        return (x[0] + x[np.argmax(y < y[0])]) / 2
    return float(x[0])


@pytest.mark.parametrize("g", [0, 1])
def test_median_and_ci_match_survfit(r_run, g):
    km = kaplan_meier(*_arm(r_run, g))
    med, (lo, hi) = median_survival(km)
    s = r_run["summary"][g]
    r = r_run["km"][g]
    # quantile() and summary()$table agree in R
    for a, b in (("median", "median_table"), ("lower", "lcl_table"), ("upper", "ucl_table")):
        assert (_na(s[a]) and _na(s[b])) or s[a] == pytest.approx(s[b], rel=1e-12)
    # R's rule applied to R's own curves reproduces R (so the rule is understood) ...
    assert _na(s["median"]) == _na(_r_quantile_rule(r["time"].to_numpy(), r["surv"].to_numpy()))
    # ... and applied to oligosim's curve and band it reproduces R exactly
    _, band_lo, band_hi = survival_at(km, km.times)
    band_lo = np.where((km.survival > 0) & (km.survival < 1), band_lo, np.nan)
    band_hi = np.where((km.survival > 0) & (km.survival < 1), band_hi, np.nan)
    for ours_curve, key in ((km.survival, "median"), (band_lo, "lower"), (band_hi, "upper")):
        expected = _r_quantile_rule(km.times, ours_curve)
        if _na(s[key]):
            assert math.isnan(expected), key
        else:
            assert expected == pytest.approx(s[key], rel=TOL), key
    # and oligosim's own convention differs from R's only on an exact 0.5 flat
    for ours, curve, key in ((med, km.survival, "median"), (lo, band_lo, "lower"), (hi, band_hi, "upper")):
        r_value = None if _na(s[key]) else float(s[key])
        at_half = np.any(np.abs(curve[~np.isnan(curve)] - 0.5) < 1e-8)
        if not at_half:
            if r_value is None:
                # R's NA band at S == 0 can hide a crossing that oligosim's (0, 0) band shows
                assert ours is None or km.survival[km.times == ours][0] == 0.0, key
            else:
                assert ours == pytest.approx(r_value, rel=TOL), key
        else:
            assert ours is not None and r_value is not None and ours <= r_value, key
    if r_run["name"] == "flat":
        if g == 0:
            # 6 deaths, none censored: S(3) = 0.5 exactly; oligosim 3, R (3 + 4) / 2
            assert med == 3.0 and s["median"] == 3.5
        # the upper band first reaches 0.5 where S drops to 0: R's band is NA there (UCL not
        # reached), oligosim's (like lifelines') is 0, so its UCL is that time
        assert hi == km.times[-1] and km.survival[-1] == 0.0 and _na(s["upper"])


@pytest.mark.parametrize("g", [0, 1])
def test_rmst_matches_survfit_rmean(r_run, g):
    km = kaplan_meier(*_arm(r_run, g))
    est, se = rmst(km, r_run["tau"])
    s = r_run["summary"][g]
    assert est == pytest.approx(s["rmean"], rel=TOL)
    assert se == pytest.approx(s["se_rmean"], rel=TOL)


def test_logrank_matches_survdiff(r_run):
    ta, ea = _arm(r_run, 0)
    tb, eb = _arm(r_run, 1)
    chisq, p = logrank(ta, ea, tb, eb)
    assert chisq == pytest.approx(r_run["logrank"]["chisq"], rel=TOL)
    assert p == pytest.approx(r_run["logrank"]["p"], rel=1e-7)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox_matches_coxph(r_run, ties):
    ta, ea = _arm(r_run, 0)
    tb, eb = _arm(r_run, 1)
    hr, lo, hi, p = cox_hazard_ratio(ta, ea, tb, eb, ties=ties, tol=1e-13)
    r = r_run["cox"].loc[ties]
    se = (math.log(hi) - math.log(lo)) / (2 * Z95)
    assert math.log(hr) == pytest.approx(r["coef"], rel=1e-8, abs=1e-12)
    assert hr == pytest.approx(r["hr"], rel=1e-9)
    assert se == pytest.approx(r["se"], rel=1e-9)
    assert lo == pytest.approx(r["lo"], rel=1e-9)
    assert hi == pytest.approx(r["hi"], rel=1e-9)
    assert p == pytest.approx(r["p"], rel=1e-7)
