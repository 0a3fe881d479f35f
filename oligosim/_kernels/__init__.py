"""Private numba kernels; only ``simulate``, ``reference`` and ``lowering`` import them.

* ``inputs``: the parameter NamedTuples (ModelParams, Regimens, ArmParams) lowering builds;
* ``rng``: counter-based random streams, one per patient and purpose;
* ``cohort``: the virtual patient and its baseline lesions;
* ``state``: the patient's state record, lesion record, workspace and output columns;
* ``engine``: the short event loop, one patient, and a range of patients without the GIL;
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
results (``benchmarks/ab.py``). It is safe because nothing in the kernel allocates or keeps an
array: every array a patient touches is passed in by the driver (``oligosim/simulate.py``), the
outputs and each thread's scratch memory (``engine.new_scratch``: ``state.new_workspace`` /
``new_lesions`` / ``new_snapshot``, called from Python), and outlives the calls that use it.
Since 2026-12-07 ``engine.simulate_arms`` runs without NRT too: while it allocated its scratch
itself and kept NRT, each call it made counted references to every array of the parameter
tuples (3% of the time). Rules, checked by tests/test_nrt.py:

* a function that allocates (``np.zeros`` ...) keeps NRT and is listed, with why, in
  ``tests/test_nrt.py``; a function without NRT that allocates fails to compile;
* a function without NRT never returns an array (or a tuple holding one) to a caller compiled
  with NRT, which would take it as a reference of its own and release it, freeing memory still
  in use. No kernel function is such a caller now; views returned inside the kernel
  (``state.tally_scratch``) are inlined;
* functions shared with Python (``oligosim.definitions``) set ``_nrt=True`` explicitly, because
  a callee that sets nothing inherits its first caller's setting.

**What is inlined, and what is not.** ``inline="always"`` makes numba copy a function into its
caller and type it again at every call site. It pays for the event handlers that take the
parameter tuples: as calls, each passes hundreds of flattened arguments (turning ten cold
handlers into calls made the kernel about 18% slower, 2026-12-07). It does not pay for small
leaf helpers over a few scalars or one array (``rng.uniform``, ``rng.normal``,
``state.log_event``, ``cohort.diameter_of_logv``, ``rt.eqd2`` ...): LLVM inlines those itself
when it links the kernel (none of them shows in a profile), and numba's copies at their hundreds
of sites cost a sixth of the first compile (numba's inline pass over ``run_drawn`` took 38 s,
10 s once they were calls; rows bit-identical).
"""
