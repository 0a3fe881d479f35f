"""The SimPy reference engine (being split into modules; see :mod:`.patient`)."""

from oligosim.reference.patient import Stream, draw_cohort_patient, run_scenario_reference, stream_key

__all__ = ["run_scenario_reference", "Stream", "stream_key", "draw_cohort_patient"]
