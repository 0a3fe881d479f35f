"""What a lesson page shows and runs: the lessons of ``lessons.toml`` joined to their experiment
files, the consensus statements, and one cached model run per setting of the controls.

Nothing here simulates or estimates anything: a page's run is :func:`oligosim.run` on the
lesson's scenario changed by :meth:`Scenario.with_values`, and every number on the page comes
from :class:`oligosim.Result` (``summary``; the figures in :mod:`oligosim.teach.figures`).
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import oligosim
from oligosim import shipped

HERE = Path(__file__).resolve().parent

#: patients x arms one page run may simulate. Measured on the project's 2-core machine with
#: other jobs and the browser sharing it: the kernel did 5 arms x 2,000 patients in 0.5-1.0 s,
#: the summary and the figures took about as long again, and the browser test saw the figures
#: redrawn 1.5-3.5 s after a click with 10,000 at a load average of 3-4; 8,000 patient-arms keep
#: a change near 2 s (1.8-3.2 s measured at a load of 5-6, docs/teach.md).
PATIENT_ARMS_BUDGET = 8_000
#: never more patients per arm than this (one- and two-arm lessons), never fewer than the floor
MAX_PATIENTS, MIN_PATIENTS = 4_000, 500
#: figures a lesson may ask for
FIGURES = ("km_os", "km_pfs", "failure", "toxicity")
WIDGETS = ("slider", "select", "switch")


@dataclass(frozen=True)
class Control:
    """One control of a lesson page: a scenario key (or the same key in several arms)."""

    key: str
    label: str
    widget: str
    arms: tuple = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple = ()  # (value, label) pairs, values typed like the scenario's
    bed10_fractions: str | None = None  # key holding the fractions: show the dose's BED10

    def paths(self) -> list[str]:
        """The scenario keys this control sets."""
        return [self.key.format(arm=a) for a in self.arms] if "{arm}" in self.key else [self.key]


@dataclass(frozen=True)
class Lesson:
    """A lesson page: the experiment file's question and scenario, plus the page's own text."""

    id: str
    experiment: str
    title: str
    question: str
    statements: tuple
    scenario: oligosim.config.Scenario = field(repr=False)
    arms: tuple
    seed: int
    patients: int
    controls: tuple
    figures: tuple
    table: tuple
    take_home: str
    cannot_tell: str
    not_supported: str = ""

    def defaults(self) -> dict:
        """Each control's value in the lesson's scenario (the page's starting point)."""
        return {c.key: self.scenario.get(c.paths()[0]) for c in self.controls}

    def scenario_for(self, values: dict) -> oligosim.config.Scenario:
        """The lesson's scenario with the controls at ``values`` (validated like a file)."""
        changes = {p: values[c.key] for c in self.controls for p in c.paths()}
        return self.scenario.with_values(changes)


def _typed(value: str, like):
    """A select's choice key (TOML keys are strings) typed like the scenario's value."""
    if isinstance(like, bool):
        return value == "true"
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return value


def _control(d: dict, scenario) -> Control:
    widget = d["widget"]
    if widget not in WIDGETS:
        raise ValueError(f"lessons.toml: control {d['key']!r}: widget = {widget!r} must be one of {', '.join(WIDGETS)}")
    arms = tuple(d.get("arms", ()))
    probe = d["key"].format(arm=arms[0]) if arms else d["key"]
    like = scenario.get(probe)
    choices = tuple((_typed(k, like), v) for k, v in d.get("choices", {}).items())
    if widget == "select" and like not in [v for v, _ in choices]:
        # the scenario's own value is always offered, so the page starts where the lesson does
        choices = tuple(sorted(choices + ((like, str(like)),), key=lambda kv: str(kv[0]) if isinstance(like, str) else kv[0]))
    # a slider's range and step take the type of the key (an integer key gets an integer slider)
    num = (lambda x: x if x is None or isinstance(like, float) else int(x)) if widget == "slider" else (lambda x: None)
    return Control(
        key=d["key"],
        label=d["label"],
        widget=widget,
        arms=arms,
        min=num(d.get("min")),
        max=num(d.get("max")),
        step=num(d.get("step")),
        choices=choices,
        bed10_fractions=d.get("bed10_fractions"),
    )


def patients_for(n_arms: int, cap: int | None = None) -> int:
    """Patients per arm for a page run within the ~2 s budget (multiples of 100)."""
    n = min(MAX_PATIENTS, PATIENT_ARMS_BUDGET // max(n_arms, 1), cap or MAX_PATIENTS)
    return max(MIN_PATIENTS, n - n % 100)


@lru_cache(maxsize=1)
def lessons() -> tuple[Lesson, ...]:
    """Every lesson page, in the order of ``lessons.toml``."""
    from oligosim.experiments import load_experiment

    doc = tomllib.loads((HERE / "lessons.toml").read_text(encoding="utf-8"))
    out = []
    for d in doc["lesson"]:
        exp = load_experiment(shipped.resolve(d["experiment"], "experiments"))
        arms = tuple(d.get("arms", exp.arms))
        figures = tuple(d["figures"])
        bad = [f for f in figures if f not in FIGURES]
        if bad:
            raise ValueError(f"lessons.toml: lesson {d['id']}: figures {bad} not among {', '.join(FIGURES)}")
        out.append(
            Lesson(
                id=d["id"],
                experiment=d["experiment"],
                title=exp.title,
                question=exp.question,
                statements=tuple(exp.statements),
                scenario=exp.scenario,
                arms=arms,
                seed=exp.seed,
                patients=patients_for(len(arms), d.get("patients")),
                controls=tuple(_control(c, exp.scenario) for c in d.get("control", ())),
                figures=figures,
                table=tuple(d.get("table", (exp.outcome, *exp.metrics))),
                take_home=d["take_home"],
                cannot_tell=d["cannot_tell"],
                not_supported=d.get("not_supported", ""),
            )
        )
    return tuple(out)


def lesson(lesson_id: str) -> Lesson:
    for les in lessons():
        if les.id == lesson_id:
            return les
    raise KeyError(f"no lesson {lesson_id!r}: one of {', '.join(x.id for x in lessons())}")


@lru_cache(maxsize=1)
def statements() -> dict[int, dict]:
    """Statement number -> ``text`` (English), ``evidence``, ``agreement``."""
    doc = tomllib.loads((HERE / "statements.toml").read_text(encoding="utf-8"))
    return {int(k): v for k, v in doc.items()}


@dataclass(frozen=True)
class PageRun:
    """One run of a lesson page: the result and how long it took (seconds, wall clock)."""

    result: oligosim.Result
    seconds: float


class RunCache:
    """The last ``size`` runs by (lesson, control values): moving a control back is instant.

    Runs are serialised by a lock: two browser tabs asking at once wait for each other rather
    than share the two cores (same seed, same result either way).
    """

    def __init__(self, size: int = 64):
        self.size = size
        self._runs: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def run(self, les: Lesson, values: dict) -> PageRun:
        key = (les.id, tuple(sorted((k, repr(v)) for k, v in values.items())))
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
                return self._runs[key]
            sc = les.scenario_for(values)
            t0 = time.perf_counter()
            res = oligosim.run(sc, patients=les.patients, seed=les.seed, arms=list(les.arms), announce=False)
            page_run = PageRun(res, time.perf_counter() - t0)
            self._runs[key] = page_run
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)
            return page_run


def bed10(dose_gy: float, fractions: int) -> float:
    """BED10 (Gy) of ``dose_gy`` in ``fractions`` equal fractions, for a control's label."""
    from oligosim.radiobiology.api import bed

    return float(bed(dose_gy / fractions, fractions, 10.0))
