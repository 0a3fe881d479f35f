"""Figures (matplotlib), one module per subject.

* :mod:`~oligosim.plots.canvas` -- pyplot-free axes and atomic saving;
* :mod:`~oligosim.plots.km` -- Kaplan-Meier curves with numbers at risk;
* :mod:`~oligosim.plots.swimmer` -- patients' event histories;
* :mod:`~oligosim.plots.arms` -- per-arm pattern of first failure and toxicity;
* :mod:`~oligosim.plots.sensitivity` -- tornado, Sobol'/Morris indices, two-way and threshold sweeps;
* :mod:`~oligosim.plots.psa` -- probabilistic sensitivity analysis;
* :mod:`~oligosim.plots.trial` -- virtual-trial power and distributions;
* :mod:`~oligosim.plots.style` -- the palette and input checks they share.

Every function follows one convention: ``plot_x(data, *, ax=None, ...) -> ax``. It draws on
``ax`` when given and otherwise on a new pyplot-free figure from
:func:`oligosim.plots.canvas.new_axes`; nothing here touches pyplot state or the backend. Save
with :func:`oligosim.plots.canvas.save_figure` (``ax.figure``).

Inputs are the plain, JSON-able numbers the experiments write to ``results.json`` (lists, dicts,
summary.json arm entries), so a report can be redrawn from its results without re-running
anything; only :func:`plot_swimmer` takes a live :class:`~oligosim.results.ArmResult` (the event
log is not part of the summary). Time is in months everywhere.

Bad input raises :class:`ValueError` naming the argument, the offending value and the rule;
nothing is silently dropped, clipped or reordered beyond what a docstring states (e.g. sorting
a tornado by swing). Arms are coloured with matplotlib's ``tab10`` palette in the order they
are given (see :func:`arm_colors`), so the same arm order gives the same colours in every figure.
"""
