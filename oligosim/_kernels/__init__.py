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

**No reference counting inside a patient.** Every kernel function that is not inlined is compiled
with ``@njit(cache=True, _nrt=False)``: numba's runtime reference counting (NRT) is off in it.
With it on, each call that passes the parameter tuples (dozens of arrays each), the workspace
and the lesion record increments and decrements the count of every array they hold, atomically;
measured on 2026-12-07 (perf, default scenario) those increments and decrements were a fifth of
the kernel's time, and switching them off made the kernel 2.7 times faster with bit-identical
results (``benchmarks/ab.py``). It is safe because nothing below the parallel driver allocates
or keeps an array: every array a patient touches is allocated by ``state.new_workspace`` /
``new_lesions`` / ``new_snapshot`` in ``engine.simulate_arms`` (which keeps NRT and frees them
when its block ends) or passed in by the driver, and outlives the calls that use it. Rules,
checked by tests/test_nrt.py:

* a function that allocates (``np.zeros`` ...) keeps NRT and is listed, with why, in
  ``tests/test_nrt.py``; a function without NRT that allocates fails to compile;
* a function without NRT never returns an array (or a tuple holding one) to a caller compiled
  with NRT, which would take it as a reference of its own and release it, freeing memory still
  in use. The only such caller is ``engine.simulate_arms``, whose calls into the kernel return
  nothing or are inlined; views returned inside the kernel (``state.tally_scratch``) are inlined;
* functions shared with Python (``oligosim.definitions``) set ``_nrt=True`` explicitly, because
  a callee that sets nothing inherits its first caller's setting.
"""
