"""The oligosim model written plainly with SimPy: the reference ("oracle") engine.

The production engine (:mod:`oligosim._kernels`) is a numba event loop with fixed event slots.
This package simulates the *same model* (``docs/model.md``) a second, independent way, so that
the two can be compared statistically (``tests/test_cross_engine.py``), and so that a reader
can follow one virtual patient's story in ordinary Python. Its modules mirror the kernel's,
so the two engines can be read side by side, handler by handler (the ``on_*`` names match):

=================  =========================================================================
``streams``        counter-based SplitMix64 random streams keyed by (seed, patient, purpose),
                   as in the kernel: both engines draw the *same cohort*
``cohort``         lesions, baseline attributes, eligibility, :func:`draw_cohort_patient`
``appointments``   cancellable scheduled events and their same-time priorities
``hazards``        continuous processes: growth, seeding, disease death, symptoms
``systemic``       lines of systemic therapy, resistance, systemic toxicity
``rt``             RT planning, delivery, RT toxicity, re-irradiation
``assess``         scans (RECIST), progression and the policy after it
``patient``        :class:`Patient`: the state and event loop, composed of the handler mixins
``driver``         :func:`run_scenario_reference`: arms, patients, output arrays
=================  =========================================================================

After entry the random draws need not match the kernel's one for one: the requirement is
agreement in distribution.

:func:`run_scenario_reference` returns the same :class:`oligosim.simulate.Results` as
:func:`oligosim.simulate.run_scenario` (same columns, dtypes, shapes and event codes, those of
:mod:`oligosim.codes`), so :func:`oligosim.analysis.summary.summarize` works unchanged.

Consensus statements cited in the modules are those of the Chinese consensus on
oligometastatic esophageal cancer as summarised in ``docs/model.md`` (statement 1: definition
and counting; statement 2: ESTRO-EORTC classes; statement 6: urgent RT for symptomatic
brain/bone disease; statement 12: local therapy at oligoprogression; statement 13: follow-up
schedule).
"""

from oligosim.reference.cohort import draw_cohort_patient
from oligosim.reference.driver import default_workers, run_scenario_reference, simulate_patient
from oligosim.reference.patient import Patient
from oligosim.reference.streams import Stream, stream_key

__all__ = [
    "run_scenario_reference",
    "simulate_patient",
    "default_workers",
    "Patient",
    "Stream",
    "stream_key",
    "draw_cohort_patient",
]
