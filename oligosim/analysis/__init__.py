"""Analysis of simulation results: everything here reads :mod:`oligosim.results` columns.

* :mod:`~oligosim.analysis.survival` -- Kaplan-Meier, medians, RMST, landmark rates;
  :mod:`~oligosim.analysis.hazards` -- log-rank test and Cox hazard ratio;
  :mod:`~oligosim.analysis.proportions` -- binomial confidence intervals;
* :mod:`~oligosim.analysis.summary` -- the per-arm ``summary.json`` contract;
* :mod:`~oligosim.analysis.metrics` -- named per-arm outcomes (``os.median`` ...);
* :mod:`~oligosim.analysis.paired` -- paired comparisons of arms on the same virtual patients;
* :mod:`~oligosim.analysis.trial` -- virtual randomised trials sampled from simulated arms.

None of these modules runs the simulation or reads the kernel.
"""
