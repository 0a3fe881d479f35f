"""Ship this run's posterior as the named posterior ``v2_factors`` and write the scenario of its model.

The posterior of the shipped model's structure (calibrate_v2_factors_history.toml: the settings the
shipped defaults have, TP + anti-PD-1 tied to TP, the cap of 32): copies ``posterior.csv`` and
``posterior.toml`` to ``configs/calibration/posteriors/v2_factors.csv`` and ``.toml`` and writes
``v2_factors_model.toml`` beside them, the default scenario with every fitted parameter at its
weighted posterior median (the shipped defaults themselves lie at the posterior's edge in two
parameters fitted at a prior bound, so a PSA cannot be centred on them; docs/calibration/README.md).

    python docs/calibration/v2/factors_history/make_model_scenario.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("history3_model", HERE.parent / "history3" / "make_model_scenario.py")
_history3 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_history3)


def main() -> int:
    _history3.write_model_scenario(HERE, "v2_factors", {}, "the posterior of the shipped model")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
