"""Health economics: costs, life-years and QALYs of each virtual patient, and what follows.

One shared post-processing of each patient's event log (both engines write the same log), so
the economics cannot drift between engines and cost nothing when ``economics.enabled`` is
false:

* :mod:`oligosim.config.economics`: the ``[economics]`` scenario section (inputs, sources).
* :mod:`~oligosim.economics.inputs`: the validated section lowered to plain arrays.
* :mod:`~oligosim.economics.discount`: continuous discounting in closed form.
* :mod:`~oligosim.economics.accrue`: per-patient costs and QALYs from the event log.
* :mod:`~oligosim.economics.outcomes`: per-arm means with Monte Carlo CIs.
* :mod:`~oligosim.economics.incremental`: efficient frontier, ICERs, net monetary benefit.
* :mod:`~oligosim.economics.voi`: CEAC, CEAF, EVPI and regression-based EVPPI.
"""
