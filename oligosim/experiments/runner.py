"""Run an experiment: evaluate, tabulate, plot and report, writing everything at once.

Each kind's module (``sweeps``, ``psa``, ``gsa``, ``compare``, ``trial``) provides
``run(ctx) -> dict`` that asks :class:`Context` for evaluations, writes its CSV tables and
figures into ``ctx.out``, adds its sections to ``ctx.report`` and returns its JSON-able
results. :func:`run_experiment` wraps that in an atomic output directory, so an error or Ctrl-C
leaves no half-written results.
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from oligosim import __version__
from oligosim.analysis.metrics import parse_metric
from oligosim.experiments.evaluation import Evaluation, evaluate
from oligosim.experiments.executor import default_workers, run_tasks
from oligosim.experiments.spec import Experiment
from oligosim.io.files import machine_name, write_csv
from oligosim.io.report import Report

_MODULES = {
    "compare": "compare",
    "oneway": "sweeps",
    "twoway": "sweeps",
    "threshold": "sweeps",
    "psa": "psa",
    "sobol": "gsa",
    "morris": "gsa",
    "trial": "trial",
}


def better_sign(metric: str) -> int:
    """+1 if a larger value of ``metric`` is better for the patient (survival), else -1."""
    m = parse_metric(metric)
    if m.kind in ("median", "rate", "rmst", "local_control"):
        return 1
    if m.kind == "econ" and m.endpoint != "cost":
        return 1
    if m.kind == "first_failure" and m.endpoint == "none":
        return 1
    if m.kind == "response" and m.endpoint != "pd":
        return 1
    return -1


@dataclass
class Context:
    """What a kind's ``run`` needs: the experiment, the output directory and the machinery.

    Attributes
    ----------
    exp : Experiment
    out : Path
        Temporary output directory (moved into place when the run succeeds).
    report : Report
    scheduler : str or None
        Dask scheduler address, or None for the local pool.
    workers : int or None
    quiet : bool
    figures : list of str
        Files written so far (for the summary line).
    """

    exp: Experiment
    out: Path
    report: Report
    scheduler: str | None = None
    workers: int | None = None
    quiet: bool = False
    files: list = field(default_factory=list)

    # ------------------------------------------------------------------ evaluation
    def evaluations(self, value_sets, *, desc: str, paired: bool = False, paired_replicates: int = 200) -> list[dict]:
        """Evaluate the scenario at each set of parameter values (dicts path -> value).

        All evaluations share the experiment's seed (common random numbers). Runs on the local
        process pool or the Dask scheduler; returns results in input order.
        """
        exp = self.exp
        value_sets = list(value_sets)
        in_process = self.scheduler is None and (len(value_sets) <= 1 or (self.workers or default_workers()) == 1)
        tasks = [
            Evaluation(
                scenario=exp.scenario,
                values=tuple(values.items()),
                arms=exp.arms,
                patients=exp.patients,
                seed=exp.seed,
                metrics=exp.all_metrics,
                threads=None if in_process else 1,
                paired_outcome=exp.outcome if paired else None,
                paired_replicates=paired_replicates,
            )
            for values in value_sets
        ]
        return self.map(evaluate, tasks, desc=desc)

    def map(self, fn, tasks, *, desc: str) -> list:
        """:func:`run_tasks` with a progress bar."""
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc=desc, unit="eval", delay=1.0, disable=self.quiet, file=sys.stderr)
        try:
            return run_tasks(fn, tasks, scheduler=self.scheduler, workers=self.workers, progress=bar.update)
        finally:
            bar.close()

    # ------------------------------------------------------------------ outcomes
    @property
    def comparison(self) -> tuple[str, str] | None:
        """(reference arm, compared arm) of the primary result, or None for a single arm."""
        arms = self.exp.arms
        return (arms[0], arms[1]) if len(arms) >= 2 else None

    def primary(self, result: dict) -> float | None:
        """The primary result of an evaluation: the outcome difference between the first two
        arms (second minus first), or the outcome of the only arm."""
        exp = self.exp
        if self.comparison:
            return result["diff"][self.comparison[1]][exp.outcome]
        return result["arms"][exp.arms[0]][exp.outcome][0]

    @property
    def primary_label(self) -> str:
        exp = self.exp
        lab = {a: exp.scenario.data["arms"][a]["label"] or a for a in exp.arms}
        if self.comparison:
            ref, arm = self.comparison
            return f"{exp.outcome}: {lab[arm]} minus {lab[ref]}"
        return f"{exp.outcome}: {lab[exp.arms[0]]}"

    @property
    def primary_axis_label(self) -> str:
        """The primary result for an axis: the outcome's readable name (not its code name) and,
        on a second line, which arms it compares."""
        from oligosim.analysis.metrics import metric_title

        exp = self.exp
        title = metric_title(exp.outcome)
        title = title[:1].upper() + title[1:]
        import textwrap

        if self.comparison:
            ref, arm = self.comparison
            what = f"{self.arm_label(arm)} minus {self.arm_label(ref)}"
        else:
            what = self.arm_label(exp.arms[0])
        # short lines: a rotated y label longer than the axes would be cut off
        return "\n".join(textwrap.wrap(title, 40) + textwrap.wrap(what, 40))

    def arm_label(self, arm: str) -> str:
        return self.exp.scenario.data["arms"][arm]["label"] or arm

    # ------------------------------------------------------------------ files
    def save(self, ax, filename: str, caption: str) -> None:
        """Save the figure of ``ax`` as ``filename`` and add it to the report."""
        from oligosim.plots.canvas import save_figure

        save_figure(ax.figure, self.out / filename)
        self.files.append(filename)
        self.report.figure(filename, caption)

    def csv(self, filename: str, headers, rows) -> None:
        """Write a CSV table whose columns have machine-readable, distinct names
        (:func:`oligosim.io.files.machine_name`; the report keeps the readable headers)."""
        names = [machine_name(h) for h in headers]
        if len(set(names)) != len(names):
            raise ValueError(f"{filename}: duplicate column names {names}")
        write_csv(self.out / filename, names, rows)
        self.files.append(filename)

    def methods(self, extra: str = "") -> None:
        """The common methods paragraph: scenario, arms, patients, seed, outcome, CRN."""
        exp = self.exp
        arms = ", ".join(f"{self.arm_label(a)} ({a})" for a in exp.arms)
        self.report.heading("Methods")
        text = (
            f"Scenario {exp.scenario.name} (config SHA-256 {exp.scenario.sha256[:12]}), arms: {arms}. "
            f"{exp.patients:,} virtual patients per arm and evaluation, root seed {exp.seed}"
            + (" (quick run: reduced sizes)" if exp.quick else "")
            + ". Every evaluation simulates the same virtual patients under every arm and parameter set "
            "(common random numbers), so differences reflect the strategies and parameters, not sampling noise. "
            f"Primary outcome: {exp.outcome}"
            + (f", reported as the difference {self.primary_label}" if self.comparison else "")
            + ". "
            + extra
        )
        self.report.paragraph(text.strip())


def lead_with_answer(report: Report, start: int, explanation: str = "") -> None:
    """Put the answer first: after the question (``report.blocks[:start]``), the take-home
    message (the experiment's ``explanation``, else the opening paragraphs of its results) and
    the first figure; then the methods and the statistics tables, as the kind wrote them."""
    body = report.blocks[start:]
    figure = next((b for b in body if b[0] == "figure"), None)
    lead: list[tuple] = [("heading", 2, "Answer: what the model shows, and where the evidence is thin" if explanation else "Answer")]
    if explanation:
        lead.append(("paragraph", explanation))
    else:
        lead += [("paragraph", text) for text in report.opening_paragraphs("Results")]
    if figure is not None:
        lead.append(figure)
        body = [b for b in body if b is not figure]
    if len(lead) > 1:
        report.blocks = report.blocks[:start] + lead + body


def run_experiment(
    exp: Experiment, out: Path, *, scheduler=None, workers: int | None = None, quiet: bool = False, reports: list | None = None
) -> dict:
    """Run ``exp`` and write ``out/results.json``, CSV tables, PNG figures and the reports.

    ``reports``, if given, receives the :class:`~oligosim.io.report.Report` (the command line
    prints its key result).

    Returns
    -------
    dict
        The contents of results.json.
    """
    import matplotlib

    matplotlib.use("Agg")
    from oligosim.io.files import atomic_directory, write_json

    module = importlib.import_module(f"oligosim.experiments.{_MODULES[exp.kind]}")
    t0 = time.perf_counter()
    with atomic_directory(Path(out)) as tmp:
        report = Report(exp.title)
        if exp.question:
            report.heading("Question")
            report.paragraph(exp.question)
        if exp.description:
            report.paragraph(exp.description)
        if exp.statements:
            report.paragraph("Consensus statements: " + ", ".join(str(s) for s in exp.statements) + " (Chinese expert consensus 2025).")
        ctx = Context(exp=exp, out=tmp, report=report, scheduler=scheduler, workers=workers, quiet=quiet)
        intro = len(report.blocks)
        results = module.run(ctx)
        lead_with_answer(report, intro, exp.explanation)
        seconds = time.perf_counter() - t0
        report.heading("Reproduce")
        report.paragraph(
            f"oligosim {__version__}; `oligosim experiment {exp.path or exp.name}"
            + (" --quick" if exp.quick else "")
            + f"` reproduces these numbers bit for bit (seed {exp.seed}); run time {seconds:.0f} s."
        )
        doc = {
            "oligosim_version": __version__,
            "experiment": exp.to_json(),
            "results": results,
            "seconds": seconds,
            "files": sorted(ctx.files + ["results.json", "report.md", "report.html"]),
        }
        write_json(tmp / "results.json", doc)
        report.write(tmp)
    if reports is not None:
        reports.append(report)
    return doc
