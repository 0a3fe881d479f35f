"""Per-patient tables of a run: ``patients.csv`` / ``.parquet`` (outcomes, treatment, cohort)
and ``events.csv`` / ``.parquet`` (the event log).

The tables are the DataFrames of :meth:`oligosim.api.Result.patients` and
:meth:`~oligosim.api.Result.events` (coded columns decoded to names), written with pandas. The
CSV rounds times to 4 decimals (about 10 seconds), age to 0.1 year and the disease-free interval
to 0.01 month, writes flags as 0/1 and a missing category (no first progression yet) as an empty
field; Parquet keeps full precision and the column types (categoricals, booleans).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oligosim.results import Results

#: decimals of the float columns in the CSV (the rest are written as they are)
CSV_DECIMALS = {"os_months": 4, "pfs_months": 4, "wpfs_months": 4, "ttnt_months": 4, "age_years": 1, "dfi_months": 2, "time_months": 4}


def _result(results):
    from oligosim.api import Result

    return results if isinstance(results, Result) else Result(results)


def _write_csv(df, path: Path) -> None:
    out = df.copy()
    for col in out.columns:
        if col in CSV_DECIMALS:
            # formatted, not rounded: "12.5000" as before, and no float repr noise
            out[col] = np.char.mod(f"%.{CSV_DECIMALS[col]}f", out[col].to_numpy(dtype=np.float64))
        elif out[col].dtype == bool:
            out[col] = out[col].astype(np.int8)
    out.to_csv(path, index=False, lineterminator="\r\n")


def parquet_available() -> bool:
    """Whether pyarrow is installed (Parquet tables are written next to the CSVs when it is)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_patients_csv(path: Path, results: Results) -> None:
    """One row per arm and patient, with outcome, treatment and cohort columns."""
    _write_csv(_result(results).patients(), Path(path))


def write_events_csv(path: Path, results: Results) -> None:
    """The event log: arm, patient, time (months), event name, detail code."""
    _write_csv(_result(results).events(), Path(path))


def write_patients_parquet(path: Path, results: Results) -> None:
    """``patients.csv`` as Parquet, full precision and typed columns (needs pyarrow)."""
    _result(results).patients().to_parquet(path, index=False)


def write_events_parquet(path: Path, results: Results) -> None:
    """``events.csv`` as Parquet (needs pyarrow)."""
    _result(results).events().to_parquet(path, index=False)
