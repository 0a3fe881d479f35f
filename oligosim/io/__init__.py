"""Output files: atomic output directories and JSON/CSV writing
(:mod:`~oligosim.io.files`), per-patient tables (:mod:`~oligosim.io.patients`), the codes of
the result arrays in words (:mod:`~oligosim.io.decode`) and the
Markdown/HTML reports (:mod:`~oligosim.io.report`).
"""
