"""Output files: atomic output directories and JSON/CSV writing
(:mod:`~oligosim.io.files`), per-patient tables (:mod:`~oligosim.io.patients`) and the
Markdown/HTML reports (:mod:`~oligosim.io.report`).
"""
