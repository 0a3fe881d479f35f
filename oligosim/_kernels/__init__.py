"""Private numba kernels; only ``simulate``, ``reference`` and ``lowering`` import them.

* ``inputs``: the parameter NamedTuples (ModelParams, Regimens, ArmParams) lowering builds;
* ``rng``: counter-based random streams, one per patient and purpose;
* ``cohort``: the virtual patient and its baseline lesions;
* ``state``: the patient's state record, lesion record, workspace and output columns;
* ``engine``: the short event loop, one patient and many in parallel;
* ``handlers``: one handler per event kind (``on_scan``, ``on_rt_end``, ...), named like the
  reference engine's ``Patient.on_*``;
* ``hazards`` (lesion growth, seeding and disease death), ``rt`` (planning, delivery,
  toxicity), ``assess`` (RECIST, oligometastatic status, first failure) and ``systemic``
  (lines): what the handlers call.
"""
