"""Measure what salvage RT at an oligometastatic progression does to survival after that
progression, by the state at the first progression (issue 17 item 5; statements 12 and 13).

Two arms of the default scenario's population and first/second lines (``configs/default.toml``),
run on the same virtual patients (common random numbers): ``next_line``, which switches to the
second line at every progression (the default's ``systemic_only``, with the RT arms' site schedules
for the urgent RT of symptomatic lesions at entry), and ``salvage``, which treats
every oligometastatic progression with RT while the line goes on (``rt_timing = "at_progression"``,
``progression.local_therapy = "oligo"``). Nothing differs before the first progression, so each
patient's first progression (time, oligometastatic or not) is the same in both arms and the arms
can be compared within groups defined at that progression: survival after it (OS minus PFS among
patients whose PFS event is a progression), Kaplan-Meier medians and the Cox hazard ratio of
salvage vs next line (``oligosim.analysis.hazards.cox_hazard_ratio``). "Slow" is the default
``progression.slow_months`` rule: the first progression comes 6 months or more after entry.

The model variants: as shipped; the two constant post-progression hazards at 0 (model 4.3: what
the disease itself gives); the uncounted disease beyond the lesion cap growing (model 4.2); both.
Then acquired resistance lesion by lesion (model 5.3, ``resistance_sdlog_between_lesions``): on the
first line with sd 1 and sd 2 (each as shipped and with the constant hazards at 0); with sd 1 and a
primary resistance share of 0.2 on the first line (the share model 5.3 quotes); and with sd 1 on
both lines. Then the growth rate correlated with the metastatic propensity (model 3.1,
``disease.growth_propensity_correlation``): 0.7 as shipped and with the constant hazards at 0,
0.9 with them at 0. Last, the salvage courses treat only the progressing lesions (model 8.1,
``progression.targets = "progressing"``: the lesions seen for the first time at that scan or grown
since the nadir by the RECIST fraction and minimum), as shipped, with the constant hazards at 0,
and with those at 0 and per-lesion resistance (sd 2) or the growth-propensity correlation (0.9).
The last two variants change the comparison: the salvage arm also switches to the next line at
every progression and adds RT to the progressing lesions at an oligometastatic one (model 8.4
step 5, statement 12's "systemic therapy with local therapy"), so the HR is that of adding RT to
the switch.

With ``--slow-rule growth`` the oligometastatic first progressions are split instead by statement
12's growth rule (``progression.slow_rule = "growth"``, model 8.4: slow if the visible disease
doubled no faster than ``--slow-doubling`` months since the previous scan). The kernel judges
that at the scan, so two probe arms on the same patients read it off: one treats every
oligometastatic progression locally, one only a slow one (each at most once, the line
continued); a first progression is slow where both treat it within 1.5 months, rapid where only
the first does, and one neither treats (no course possible) is in neither group.

    python docs/calibration/salvage_rt.py [--patients N] [--seed S] [--out docs/calibration/salvage_rt.md]
    python docs/calibration/salvage_rt.py --slow-rule growth --only "as shipped" --only "constant post-progression hazards 0" \
        --out docs/calibration/salvage_rt_growth.md
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from oligosim import codes, simulate  # noqa: E402
from oligosim.analysis.hazards import cox_hazard_ratio  # noqa: E402
from oligosim.analysis.survival import kaplan_meier, median_survival  # noqa: E402
from oligosim.config import load_scenario  # noqa: E402

SCENARIO = ROOT / "configs" / "default.toml"
ZERO = {"disease.death_hazard_after_progression_per_month": 0.0, "disease.death_hazard_after_widespread_per_month": 0.0}
GROWS = {"disease.uncounted_disease": "grows"}

def _lesion_resistance(sd, regimens=("tp_pd1",)):
    """Acquired resistance lesion by lesion with sd ``sd`` of the log times on ``regimens``."""
    return {f"regimens.{r}.resistance_sdlog_between_lesions": sd for r in regimens}


#: not a parameter: the salvage arm's courses treat only the progressing lesions (model 8.1,
#: ``progression.targets = "progressing"``; statement 12 speaks of treating the progressing lesions)
TARGETS = "salvage progression.targets"
PROGRESSING = {TARGETS: "progressing"}
#: not a parameter either: the salvage arm switches to the next line at every progression and
#: adds RT at an oligometastatic one (model 8.4 step 5, ``progression.local_with_next_line``)
SWITCH = "salvage with the next line"
WITH_NEXT_LINE = {SWITCH: True}

PRIMARY_02 = {"regimens.tp_pd1.primary_resistance_fraction": 0.2}


def _correlated(rho):
    """Fast-growing disease also disseminates more (model 3.1): growth deviate correlated ``rho``
    with the propensity's."""
    return {"disease.growth_propensity_correlation": rho}


VARIANTS = {
    "as shipped": {},
    "constant post-progression hazards 0": ZERO,
    "uncounted disease grows": GROWS,
    "grows, constant hazards 0": GROWS | ZERO,
    "per-lesion resistance, sd 1, first line": _lesion_resistance(1.0),
    "per-lesion resistance, sd 1, first line, constant hazards 0": _lesion_resistance(1.0) | ZERO,
    "per-lesion resistance, sd 2, first line": _lesion_resistance(2.0),
    "per-lesion resistance, sd 2, first line, constant hazards 0": _lesion_resistance(2.0) | ZERO,
    "per-lesion resistance, sd 1, primary resistance 0.2, first line": _lesion_resistance(1.0) | PRIMARY_02,
    "per-lesion resistance, sd 1, first and second lines": _lesion_resistance(1.0, ("tp_pd1", "irinotecan_pd1")),
    "growth correlated with propensity, 0.7": _correlated(0.7),
    "growth correlated with propensity, 0.7, constant hazards 0": _correlated(0.7) | ZERO,
    "growth correlated with propensity, 0.9, constant hazards 0": _correlated(0.9) | ZERO,
    "progressing lesions only": PROGRESSING,
    "progressing lesions only, constant hazards 0": PROGRESSING | ZERO,
    "progressing lesions only, per-lesion resistance, sd 2, first line, constant hazards 0": PROGRESSING | _lesion_resistance(2.0) | ZERO,
    "progressing lesions only, growth correlated with propensity, 0.9, constant hazards 0": PROGRESSING | _correlated(0.9) | ZERO,
    "next line with RT to the progressing lesions": WITH_NEXT_LINE | PROGRESSING,
    "next line with RT to the progressing lesions, constant hazards 0": WITH_NEXT_LINE | PROGRESSING | ZERO,
}
SLOW_MONTHS = 6.0


def scenario(values, slow_doubling=None):
    """The default scenario with the two arms of this comparison (and, with ``slow_doubling``,
    the two probe arms of the growth rule)."""
    sc = load_scenario(SCENARIO)
    values = dict(values)
    targets = values.pop(TARGETS, "all_seen")
    switch = values.pop(SWITCH, False)
    salvage_policy = {"local_therapy": "none", "local_with_next_line": True} if switch else {"local_therapy": "oligo"}
    # the default scenario's lines; both arms irradiate symptomatic brain and bone lesions at
    # entry (statement 6) with the same site schedules, so nothing differs before the first progression
    common = {"first_line": "tp_pd1", "second_line": "irinotecan_pd1", "metastasis_schedule": "by_site"}
    arms = {
        "next_line": common | {"label": "Next line at every progression", "rt_timing": "none", "progression": {"local_therapy": "none"}},
        "salvage": common | {"label": "RT at every oligometastatic progression", "rt_timing": "none" if switch else "at_progression",
                             "progression": salvage_policy | {"targets": targets}},
    }
    if slow_doubling is not None:
        arms["probe_oligo"] = common | {"label": "probe: local therapy at an oligometastatic progression", "rt_timing": "none",
                                        "progression": {"local_therapy": "oligo", "max_courses": 1, "targets": targets}}
        arms["probe_slow"] = common | {"label": "probe: local therapy at a slow one", "rt_timing": "none",
                                       "progression": {"local_therapy": "oligo_slow", "slow_rule": "growth", "slow_doubling_months": slow_doubling, "max_courses": 1, "targets": targets}}
    return sc.with_values(dict(values) | {"arms": arms})


def treated_at_first_progression(arm) -> np.ndarray:
    """Patients of a probe arm given a local course (RT, surgery or ablation) within 1.5 months
    of their first progression (from the event log)."""
    out = np.zeros(len(arm["pfs"]), dtype=bool)
    local = (codes.EV_RT_START, codes.EV_SURGERY, codes.EV_ABLATION)
    for i, m in enumerate(arm["ev_n"]):
        c, t = arm.ev_code[i, :m], arm.ev_time[i, :m]
        first = np.flatnonzero(c == codes.EV_PROGRESSION)
        if len(first):
            t1 = t[first[0]]
            out[i] = bool((np.isin(c, local) & (t >= t1) & (t <= t1 + 1.5)).any())
    return out


def groups(arm) -> dict[str, np.ndarray]:
    """Patients by their first progression (the same in both arms)."""
    estro = arm["estro_first"]
    progressed = estro != codes.NOT_OLIGO - 1
    oligo = progressed & (estro >= 0)
    ttp = arm["pfs"]
    return {
        "every first progression": progressed,
        f"oligometastatic, slow (>= {SLOW_MONTHS:g} months)": oligo & (ttp >= SLOW_MONTHS),
        f"oligometastatic, rapid (< {SLOW_MONTHS:g} months)": oligo & (ttp < SLOW_MONTHS),
        "widespread": progressed & ~oligo,
    }


def growth_groups(res, slow_doubling: float) -> dict[str, np.ndarray]:
    """Oligometastatic first progressions split by statement 12's growth rule, read off the probes."""
    a = res.arms["next_line"]
    oligo = (a["estro_first"] != codes.NOT_OLIGO - 1) & (a["estro_first"] >= 0)
    treatable = oligo & treated_at_first_progression(res.arms["probe_oligo"])
    slow = treated_at_first_progression(res.arms["probe_slow"])
    return {
        "every first progression": a["estro_first"] != codes.NOT_OLIGO - 1,
        f"oligometastatic, slow by growth (doubling >= {slow_doubling:g} months)": treatable & slow,
        f"oligometastatic, rapid by growth (doubling < {slow_doubling:g} months)": treatable & ~slow,
        "oligometastatic, no local course possible": oligo & ~treatable,
    }


def measure(values, patients: int, seed: int, slow_doubling=None) -> list[tuple]:
    by_growth = slow_doubling is not None
    arms = ["next_line", "salvage"] + (["probe_oligo", "probe_slow"] if by_growth else [])
    res = simulate.run_scenario(scenario(values, slow_doubling), patients=patients, seed=seed, arms=arms, events=by_growth)
    a, b = res.arms["next_line"], res.arms["salvage"]
    ga, gb = (growth_groups(res, slow_doubling),) * 2 if by_growth else (groups(a), groups(b))
    if by_growth and not np.array_equal(groups(a)["every first progression"], groups(b)["every first progression"]):
        raise RuntimeError("the first progression differs between the arms (common random numbers broken)")
    rows = []
    for name, m in ga.items():
        if not np.array_equal(m, gb[name]):
            raise RuntimeError(f"{name}: the first progression differs between the arms (common random numbers broken)")
        ta, tb = a["os"][m] - a["pfs"][m], b["os"][m] - b["pfs"][m]
        ea, eb = a["os_event"][m], b["os_event"][m]
        med_a = median_survival(kaplan_meier(ta, ea))[0]
        med_b = median_survival(kaplan_meier(tb, eb))[0]
        hr, lo, hi, _ = cox_hazard_ratio(ta, ea, tb, eb)
        rows.append((name, int(m.sum()), med_a, med_b, hr, lo, hi))
    return rows


def _num(x) -> str:
    return "not reached" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--out", default=str(ROOT / "docs" / "calibration" / "salvage_rt.md"))
    ap.add_argument("--only", action="append", default=None, help="run only this variant (repeatable)")
    ap.add_argument("--slow-rule", choices=("time", "growth"), default="time", help="split oligometastatic first progressions by time since entry (default) or by statement 12's growth rule")
    ap.add_argument("--slow-doubling", type=float, default=4.0, help="with --slow-rule growth: the doubling time (months) at or above which a progression is slow")
    args = ap.parse_args(argv)
    doubling = args.slow_doubling if args.slow_rule == "growth" else None
    variants = {k: v for k, v in VARIANTS.items() if args.only is None or k in args.only}
    if args.only is not None and len(variants) != len(args.only):
        ap.error(f"--only: unknown variant among {args.only}; known: {list(VARIANTS)}")
    lines = [
        "# Salvage RT at an oligometastatic progression, by the state at the first progression",
        "",
        f"_Generated by `python docs/calibration/salvage_rt.py --patients {args.patients} --seed {args.seed}"
        + (f" --slow-rule growth --slow-doubling {doubling:g}" if doubling is not None else "")
        + "".join(f' --only "{v}"' for v in (args.only or []))
        + "`; do not edit by hand._",
        "",
        "Survival after the first progression (months), next line vs RT at every oligometastatic "
        "progression with the line continued, the same virtual patients in both arms (default "
        "scenario's population and lines). HR: Cox, salvage vs next line, 95% CI. See the script's "
        "docstring for the definitions.",
        "",
    ]
    for label, values in variants.items():
        lines += [f"## {label}", "", "| first progression | patients | median PPS, next line | median PPS, salvage RT | HR (95% CI) |", "|---|---|---|---|---|"]
        for name, n, ma, mb, hr, lo, hi in measure(values, args.patients, args.seed, doubling):
            lines.append(f"| {name} | {n} | {_num(ma)} | {_num(mb)} | {hr:.2f} ({lo:.2f}-{hi:.2f}) |")
        lines.append("")
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
