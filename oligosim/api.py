"""The Python API: load a scenario, run it, and read the results as pandas DataFrames.

The command line is built on these functions (``oligosim run`` calls :func:`run`), and
``docs/api.md`` shows them in use (its examples run as tests)::

    import oligosim
    sc = oligosim.load("default").with_values({"simulation.patients": 2000})
    res = oligosim.run(sc, seed=1)
    res.summary()                 # one row per arm and metric: value, 95% CI, unit
    res.patients()                # one row per arm and patient, coded columns decoded
    res.km("os")                  # Kaplan-Meier curves in long form
    res.compare("systemic_only", "consolidative", "os.rmst:36")

Names follow one convention everywhere: metrics are named in the grammar of
:mod:`oligosim.analysis.metrics` (``os.median``, ``os.rate:24``, ``tox.any``), the same names that
experiment files, calibration maps and ``summary()`` use; per-patient columns carry their unit
(``os_months``, ``age_years``) as in ``patients.csv``.

(The function is :func:`run`, like the command, rather than ``simulate``: ``oligosim.simulate`` is
the driver module that :func:`run` calls.)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from oligosim import codes, shipped
from oligosim.io.decode import RT_COURSE_NAMES, decode_codes, detail_names  # noqa: F401  (RT_COURSE_NAMES: public)

if TYPE_CHECKING:  # pandas and the engine load on first use: ``import oligosim`` stays light
    import pandas as pd

    from oligosim.config import Scenario
    from oligosim.results import Results

__all__ = ["Result", "list_shipped", "load", "run", "run_experiment"]

#: the survival endpoints and the landmarks (months) that :meth:`Result.summary` reports
ENDPOINTS = ("os", "pfs", "wpfs", "dss")
LANDMARKS = (12, 24, 36, 60)
LC_LANDMARKS = (12, 24)


def load(name_or_path: str | os.PathLike) -> Scenario:
    """Load and validate a scenario: a TOML file, or a shipped scenario by name.

    Parameters
    ----------
    name_or_path : str or path-like
        A file (``"my_trial.toml"``) or the name of a shipped scenario (``"default"``,
        ``"teaching/staging"``; :func:`list_shipped` lists them).

    Returns
    -------
    Scenario
        Frozen; derive variants with :meth:`Scenario.with_values`.

    Raises
    ------
    oligosim.config.ConfigError
        Listing every problem of the file (key, value and rule), or that it does not exist.
    """
    from oligosim.config import ConfigError, load_scenario

    path = shipped.resolve(name_or_path, "configs")
    try:
        return load_scenario(path)
    except ConfigError as exc:
        if not Path(path).exists():
            raise ConfigError([f"{exc.errors[0]}{shipped.unknown_name_hint(os.fspath(name_or_path), 'configs')}"]) from None
        raise


def list_shipped(kind: str | None = None) -> pd.DataFrame:
    """The shipped scenarios and experiments, by name.

    Parameters
    ----------
    kind : {"scenario", "experiment", "base", "calibration", "map", "posterior"}, optional
        Only files of this kind.

    Returns
    -------
    pandas.DataFrame
        Columns ``name`` (what :func:`load`, :func:`run_experiment` and the command line
        accept), ``kind``, ``title`` and ``path``.
    """
    import pandas as pd

    rows = [{"name": f.name, "kind": f.kind, "title": f.title, "path": str(f.path)} for f in shipped.list_files()]
    df = pd.DataFrame(rows, columns=["name", "kind", "title", "path"])
    return df if kind is None else df[df["kind"] == kind].reset_index(drop=True)


def run(
    scenario: Scenario | str | os.PathLike,
    *,
    patients: int | None = None,
    seed: int | None = None,
    arms: Sequence[str] | None = None,
    events: bool = False,
    keep: str = "all",
    threads: int | None = None,
    engine: str = "numba",
    progress: Callable[[int], None] | None = None,
    announce: bool = True,
) -> Result:
    """Simulate every arm (or the named ``arms``) of a scenario on the same virtual patients.

    Parameters
    ----------
    scenario : Scenario, str or path-like
        A loaded scenario, or what :func:`load` accepts.
    patients, seed : int, optional
        Override ``simulation.patients`` and ``simulation.seed``.
    arms : sequence of str, optional
        Only these arms, in this order.
    events : bool
        Keep each patient's event log (for :meth:`Result.events`).
    keep : {"all", "summary"}
        ``"summary"`` keeps only the survival columns and the subgroup covariates (about 55
        bytes per patient and arm instead of 300): :meth:`Result.summary` (every metric) and
        :meth:`Result.km` work, per-patient tables do not.
    threads : int, optional
        numba threads; results do not depend on it.
    engine : {"numba", "simpy"}
        The compiled kernel, or the readable SimPy reference (same model, about 50x slower).
    progress : callable, optional
        Called with the number of patients done after each chunk.
    announce : bool
        Say on stderr when the kernel is about to be compiled.

    Returns
    -------
    Result

    Notes
    -----
    The first run on a machine compiles the kernel (a few minutes; numba caches it on disk);
    a message on stderr says so before it starts.
    """
    from oligosim.simulate import run_scenario

    sc = scenario if not isinstance(scenario, (str, os.PathLike)) else load(scenario)
    if engine == "simpy":
        from oligosim.reference import run_scenario_reference

        if arms is not None:
            raise ValueError("arms: the simpy engine runs every arm; select arms with the numba engine")
        from oligosim.economics import collect, inputs  # costs and QALYs from the event log (model.md 14)

        raw = collect.attach_from_log_if_enabled(run_scenario_reference(sc, patients=patients, seed=seed, events=events or inputs.enabled(sc), workers=threads or 1))
        if progress is not None:
            progress(raw.patients * len(raw.arms))
    elif engine == "numba":
        if announce:
            announce_compile()
        raw = run_scenario(
            sc, patients=patients, seed=seed, threads=threads, events=events, keep=keep, arms=None if arms is None else list(arms), progress=progress
        )
    else:
        raise ValueError(f"engine = {engine!r}: must be 'numba' or 'simpy'")
    return Result(raw)


def announce_compile(stream=None) -> bool:
    """Print "compiling the simulation kernel ..." to stderr when this run will compile it.

    Returns whether the message was printed. The kernel is compiled when numba has no cache of it
    for this machine (a fresh install, or kernel sources changed since the cache was written).
    """
    from oligosim import simulate

    if simulate.kernel_cached() is not False:
        return False
    print(
        "oligosim: compiling the simulation kernel (once per install; about 2 minutes were measured on "
        "2 cores, more under load; later runs start in a second)...",
        file=stream or sys.stderr,
        flush=True,
    )
    return True


def run_experiment(
    experiment: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    quiet: bool = True,
) -> dict:
    """Run an experiment file (or a shipped experiment by name) and write its outputs.

    Parameters
    ----------
    experiment : str or path-like
        An experiment TOML file, or a shipped experiment's name (``"compare"``,
        ``"teaching/04_rt_timing"``).
    out : path-like, optional
        Output directory (default ``out/<experiment name>``); replaced as a whole.
    quick : bool
        Use the file's ``[quick]`` sizes.
    workers, scheduler :
        Local worker processes, or the address of a Dask scheduler.
    quiet : bool
        No progress bars.

    Returns
    -------
    dict
        The contents of ``results.json``: ``results`` (the kind's numbers), ``files`` written,
        ``seconds``.
    """
    from oligosim.experiments.runner import run_experiment as _run
    from oligosim.experiments.spec import load_experiment

    exp = load_experiment(shipped.resolve(experiment, "experiments"), quick=quick)
    return _run(exp, Path("out") / exp.name if out is None else Path(out), scheduler=scheduler, workers=workers, quiet=quiet)


# ============================================================================ the result


#: per-patient columns of :meth:`Result.patients` (and ``patients.csv``): name, result column, kind
PATIENT_COLUMNS = (
    ("os_months", "os", "float"),
    ("os_event", "os_event", "bool"),
    ("pfs_months", "pfs", "float"),
    ("pfs_event", "pfs_event", "bool"),
    ("wpfs_months", "wpfs", "float"),
    ("wpfs_event", "wpfs_event", "bool"),
    ("death_cause", "death_cause", codes.DEATH_CAUSE_NAMES),
    ("rt_courses", "rt_courses", "int"),
    ("local_courses", "local_courses", "int"),
    ("systemic_lines", "lines", "int"),
    ("first_failure", "first_failure", codes.FAILURE_NAMES),
    ("estro_eortc_first_progression", "estro_first", codes.ESTRO_CLASS_NAMES),
    ("histology", "histology", codes.HISTOLOGY_NAMES),
    ("presentation", "presentation", codes.PRESENTATION_NAMES),
    ("age_years", "age", "float"),
    ("dfi_months", "dfi", "float"),
    ("kps", "kps", "int"),
    ("pdl1_cps10", "pdl1_high", "bool"),
    ("visible_lesions_entry", "n_visible_entry", "int"),
    ("ttnt_months", "ttnt", "float"),
    ("ttnt_event", "ttnt_event", "bool"),
)


def summary_metrics(tau_months: float) -> list[str]:
    """The metric names :meth:`Result.summary` reports, in order."""
    out = []
    for ep in ENDPOINTS:
        out += [f"{ep}.median", f"{ep}.rmst:{tau_months:g}"] + [f"{ep}.rate:{m}" for m in LANDMARKS]
    out += [f"local_control:{m}" for m in LC_LANDMARKS]
    out += [f"tox.{t}" for t in codes.TOX_NAMES] + ["tox.any", "treatment_deaths", "rt_courses_mean"]
    out += [f"first_failure.{f}" for f in codes.FAILURE_NAMES] + ["oligo_fraction_first_progression"]
    return out


def _basis(arm, m) -> int:
    """How many units a metric's estimate rests on (see :meth:`Result.summary`)."""
    from oligosim.analysis.metrics import _lesions

    if m.kind == "local_control":
        return int(_lesions(arm, m.filters)[0].size)
    if m.kind in ("estro", "oligo_fraction"):
        return int(arm.aggregates["estro"].sum())
    if m.kind == "eligible_fraction":
        return int(arm.aggregates["attempts"])
    if m.kind == "response" and m.endpoint != "evaluable":
        counts = arm.aggregates["response"]
        return int(counts.sum() - counts[codes.RESPONSE_NE])
    return int(arm.aggregates["n"])


@dataclass
class Result:
    """The results of :func:`run`: every arm of one scenario on the same virtual patients.

    Attributes
    ----------
    raw : oligosim.results.Results
        The underlying arrays (per-patient columns with integer codes).
    """

    raw: Results

    # ------------------------------------------------------------------ identity
    @property
    def scenario(self) -> Scenario:
        return self.raw.scenario

    @property
    def arms(self) -> list[str]:
        """Arm names, in the scenario's order."""
        return list(self.raw.arms)

    @property
    def n_patients(self) -> int:
        """Virtual patients per arm."""
        return self.raw.patients

    @property
    def seed(self) -> int:
        return self.raw.seed

    def __repr__(self) -> str:
        return (
            f"<oligosim.Result {self.scenario.name!r}: {len(self.arms)} arms x {self.n_patients:,} patients, "
            f"seed {self.seed}, {self.raw.seconds:.1f} s; arms: {', '.join(self.arms)}>"
        )

    def _repr_html_(self) -> str:
        """A notebook shows the scenario, then median OS and PFS per arm with their 95 % CIs."""
        import html

        df = self.summary(metrics=["os.median", "pfs.median", "os.rate:24", "tox.any"], wide=True)
        return (
            f"<p><b>oligosim result</b>: scenario <code>{html.escape(self.scenario.name)}</code>, "
            f"{self.n_patients:,} patients per arm, seed {self.seed} ({self.raw.seconds:.1f} s). "
            "Months and fractions; 95&nbsp;% Monte Carlo CIs in <code>.summary()</code>.</p>" + df.to_html(float_format=lambda x: f"{x:.3g}")
        )

    # ------------------------------------------------------------------ tables
    def summary(self, metrics: Sequence[str] | None = None, *, wide: bool = False) -> pd.DataFrame:
        """Named outcomes per arm with 95 % Monte Carlo confidence intervals.

        Parameters
        ----------
        metrics : sequence of str, optional
            Metric names (:mod:`oligosim.analysis.metrics` grammar); default: medians, RMST and
            landmark rates of OS, PFS, WPFS and DSS, lesion local control, grade >= 3 toxicity,
            treatment deaths, RT courses, first failure (:func:`summary_metrics`).
        wide : bool
            One row per arm and one column per metric (values only) instead of the long table.

        Returns
        -------
        pandas.DataFrame
            Long: columns ``arm``, ``metric``, ``value``, ``ci95_low``, ``ci95_high``, ``unit``
            and ``n``, what the estimate rests on (patients; irradiated lesions for local
            control; first progressions for ESTRO-EORTC shares). A value that does not apply is
            missing (NaN), not a number: a median not reached, and local control in an arm
            whose strategy gives no RT (``rt_timing = "none"`` and no local therapy at
            progression, with the line continued or with the next line), even if a few of its
            patients were irradiated outside the strategy.
        """
        import pandas as pd

        from oligosim.analysis import summary as summary_module
        from oligosim.analysis.metrics import evaluate, parse_metric
        from oligosim.analysis.summary import rmst_tau

        names = summary_metrics(rmst_tau(self.scenario)) if metrics is None else list(metrics)
        parsed = [parse_metric(m) for m in names]
        rows = []
        for arm_name, arm in self.raw.arms.items():
            cache: dict = {}
            plans_rt = summary_module.plans_rt(self.scenario.data["arms"][arm_name])
            for name, m in zip(names, parsed):
                n = _basis(arm, m)
                if m.kind == "local_control" and not plans_rt:
                    # the strategy irradiates nothing: a few lesions treated outside it (e.g. at a
                    # later line) are not "the arm's local control"
                    rows.append((arm_name, name, np.nan, np.nan, np.nan, m.unit, n))
                    continue
                value, lo, hi = evaluate(arm, m, _km_cache=cache)
                rows.append((arm_name, name, value, lo, hi, m.unit, n))
        df = pd.DataFrame(rows, columns=["arm", "metric", "value", "ci95_low", "ci95_high", "unit", "n"])
        df["arm"] = pd.Categorical(df["arm"], categories=self.arms)
        if not wide:
            return df
        wide_df = df.pivot(index="arm", columns="metric", values="value")[names]
        wide_df.columns.name = None
        return wide_df

    def _arm_full(self, name: str, what: str):
        arm = self.raw.arms[name]
        if arm.tox is None:
            raise ValueError(f"{what} needs every per-patient column: run with keep='all' (this run used keep='summary')")
        return arm

    def patients(self) -> pd.DataFrame:
        """One row per arm and patient: outcomes, treatment, cohort and grade >= 3 toxicity.

        Coded columns (death cause, first failure, ESTRO-EORTC class, histology, presentation,
        ``response_first``: RECIST 1.1 at the first assessment, cr/pr/sd/pd/ne) are pandas
        categoricals of their names; times are in months (``*_months``; ``ttnt_months``: time to
        next treatment), event flags and toxicity flags (``tox_<type>``) are booleans;
        ``organs_entry`` names the organs with a seen lesion at entry (``"primary+liver"``). Patient ``i`` is the same virtual
        patient in every arm.
        """
        import pandas as pd

        from oligosim.analysis.response import first_response

        frames = []
        for name in self.arms:
            arm = self._arm_full(name, "patients()")
            cols: dict = {"arm": np.full(arm.n, name, dtype=object), "patient": np.arange(arm.n)}
            for out_name, key, kind in PATIENT_COLUMNS:
                v = arm[key]
                if isinstance(kind, tuple):
                    cols[out_name] = decode_codes(v, kind)
                elif kind == "float":
                    cols[out_name] = np.asarray(v, dtype=np.float64)
                elif kind == "bool":
                    cols[out_name] = np.asarray(v, dtype=bool)
                else:
                    cols[out_name] = np.asarray(v, dtype=np.int64)
            # organs with a seen lesion at entry ("liver+lung"; the subgroups of site=ORGAN) and
            # the RECIST 1.1 response at the first assessment (model 7.6)
            mask = np.asarray(arm["organs_entry"], dtype=np.int64)
            cols["organs_entry"] = np.array(
                ["+".join(o for k, o in enumerate(codes.ORGAN_NAMES) if (v >> k) & 1) for v in mask.tolist()], dtype=object
            )
            cols["response_first"] = pd.Categorical.from_codes(first_response(arm), categories=list(codes.RESPONSE_NAMES))
            for k, t in enumerate(codes.TOX_NAMES):
                cols[f"tox_{t}"] = np.asarray(arm.tox[:, k], dtype=bool)
            frames.append(pd.DataFrame(cols))
        df = pd.concat(frames, ignore_index=True)
        df["arm"] = pd.Categorical(df["arm"], categories=self.arms)
        for out_name, _, kind in PATIENT_COLUMNS:  # concat of categoricals with equal categories keeps them
            if isinstance(kind, tuple) and df[out_name].dtype != "category":
                df[out_name] = df[out_name].astype("category")
        if df["response_first"].dtype != "category":
            df["response_first"] = pd.Categorical(df["response_first"], categories=list(codes.RESPONSE_NAMES))
        return df

    def events(self) -> pd.DataFrame:
        """The event log: one row per event with ``arm``, ``patient``, ``time_months``,
        ``event`` (categorical name), ``detail`` (the event's integer detail code) and
        ``detail_name``, what the detail means: the toxicity (``pneumonitis``), the regimen of a
        line event, the RT course's plan (``initial``, ``urgent`` for symptomatic brain and bone
        lesions, ``progression``), the scan kind (``scheduled``, ``symptom``), the kind of
        progression, ``lesion <i>`` for lesion events, ``<n> lesions`` at entry.

        Raises
        ------
        ValueError
            When the run did not keep the event log (``run(..., events=True)``).
        """
        import pandas as pd

        from oligosim.lowering import regimen_names

        regimens = regimen_names(self.scenario)
        frames = []
        for name in self.arms:
            arm = self._arm_full(name, "events()")
            if arm.ev_time is None or arm.ev_time.shape[1] == 0:
                raise ValueError("events() needs the event log: run with events=True")
            kept = np.minimum(arm["ev_n"], arm.ev_time.shape[1])
            mask = np.arange(arm.ev_time.shape[1])[None, :] < kept[:, None]
            patient = np.broadcast_to(np.arange(arm.n)[:, None], mask.shape)[mask]
            frames.append(
                pd.DataFrame(
                    {
                        "arm": np.full(patient.size, name, dtype=object),
                        "patient": patient.astype(np.int64),
                        "time_months": arm.ev_time[mask],
                        "event": decode_codes(arm.ev_code[mask], codes.EVENT_NAMES),
                        "detail": arm.ev_detail[mask].astype(np.int64),
                        "detail_name": detail_names(arm.ev_code[mask], arm.ev_detail[mask], regimens),
                    }
                )
            )
        df = pd.concat(frames, ignore_index=True)
        df["arm"] = pd.Categorical(df["arm"], categories=self.arms)
        df["event"] = pd.Categorical(df["event"], categories=list(codes.EVENT_NAMES))
        return df

    def km(self, endpoint: str = "os") -> pd.DataFrame:
        """Kaplan-Meier curves of ``endpoint`` (``os``, ``pfs``, ``wpfs``, ``dss`` or ``ttnt``,
        time to next treatment) per arm.

        Returns
        -------
        pandas.DataFrame
            Long form, one row per arm and distinct follow-up time: ``arm``, ``time_months``,
            ``survival`` (right-continuous), ``ci95_low``, ``ci95_high`` (log-log Greenwood),
            ``at_risk``, ``events``, ``censored``. Each arm's curve starts at 1 before its first
            row.
        """
        import pandas as pd

        from oligosim.analysis.summary import endpoint as endpoint_of
        from oligosim.analysis.survival import _log_log_band, kaplan_meier

        if endpoint not in ENDPOINTS + ("ttnt",):
            raise ValueError(f"endpoint = {endpoint!r}: must be one of {', '.join(ENDPOINTS + ('ttnt',))}")
        frames = []
        for name, arm in self.raw.arms.items():
            k = kaplan_meier(*endpoint_of(arm, endpoint))
            lo, hi = _log_log_band(k.survival, k._greenwood_sum())
            frames.append(
                pd.DataFrame(
                    {
                        "arm": name,
                        "time_months": k.times,
                        "survival": k.survival,
                        "ci95_low": lo,
                        "ci95_high": hi,
                        "at_risk": k.at_risk,
                        "events": k.events,
                        "censored": k.censored,
                    }
                )
            )
        df = pd.concat(frames, ignore_index=True)
        df["arm"] = pd.Categorical(df["arm"], categories=self.arms)
        return df

    def compare(self, a: str, b: str, metric: str = "os.median", *, replicates: int = 200, seed: int = 0) -> pd.Series:
        """``metric`` in arm ``b`` minus arm ``a``, with a paired 95 % CI (same patients in both).

        Parameters
        ----------
        a, b : str
            Arm names (``a`` is the reference).
        metric : str
            A survival metric (``os.median``, ``pfs.rate:24``, ``os.rmst:36``) or a patient-level
            rate (``tox.any``, ``treatment_deaths``, ``first_failure.<name>``).
        replicates, seed : int
            Poisson-bootstrap size and seed for survival metrics.

        Returns
        -------
        pandas.Series
            ``metric``, ``a``, ``b``, ``value_a``, ``value_b``, ``difference``, ``ci95_low``,
            ``ci95_high``, ``method``.
        """
        import pandas as pd

        from oligosim.analysis.metrics import evaluate
        from oligosim.experiments.paired_metric import paired_metric_difference

        for arm in (a, b):
            if arm not in self.raw.arms:
                raise KeyError(f"arm {arm!r}: not an arm of this result ({', '.join(self.arms)})")
        A, B = self._arm_full(a, "compare()"), self._arm_full(b, "compare()")
        d = paired_metric_difference(A, B, metric, replicates=replicates, seed=seed)
        lo, hi = d["ci95"]
        return pd.Series(
            {
                "metric": metric,
                "a": a,
                "b": b,
                "value_a": evaluate(A, metric)[0],
                "value_b": evaluate(B, metric)[0],
                "difference": np.nan if d["diff"] is None else d["diff"],
                "ci95_low": np.nan if lo is None else lo,
                "ci95_high": np.nan if hi is None else hi,
                "method": d["method"],
            }
        )

    def summary_json(self) -> dict:
        """The ``summary.json`` document that ``oligosim run`` writes."""
        from oligosim.analysis.summary import summarize

        return summarize(self.raw)
