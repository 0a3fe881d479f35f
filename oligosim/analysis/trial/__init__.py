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
4. is analysed with :func:`oligosim.logrank` (the test),
   :func:`oligosim.cox_hazard_ratio` (HR of experimental vs control, 95 % Wald CI) and
   Kaplan-Meier medians (:func:`oligosim.median_survival`).

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

from oligosim.analysis.trial.power import power_curve, schoenfeld_events, schoenfeld_power
from oligosim.analysis.trial.replicates import simulate_trials
from oligosim.analysis.trial.sampling import simulate_trial_data

__all__ = [
    "simulate_trials",
    "simulate_trial_data",
    "power_curve",
    "schoenfeld_events",
    "schoenfeld_power",
]
