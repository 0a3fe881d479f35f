"""Ship this run's posterior as the named posterior ``v2_history`` and write the scenario of its model.

Copies ``posterior.csv`` and ``posterior.toml`` (the settings the calibration fixed) to
``configs/calibration/posteriors/v2_history.csv`` and ``.toml``, and writes
``configs/calibration/posteriors/v2_history_model.toml``: the default scenario with those fixed
settings and every fitted parameter at its weighted posterior median (6 significant digits), the
scenario ``experiments/psa_posterior.toml`` runs (a PSA must run the model its posterior is of, and
the scenario's values must lie inside the posterior's central intervals, experiments/joint.py).

    python docs/calibration/v2/history3/make_model_scenario.py
"""

from __future__ import annotations

import csv
import math
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT))

from oligosim.calibration.posterior import _toml_value  # noqa: E402
from oligosim.calibration.search import weighted_quantile  # noqa: E402

NAME = "v2_history"

#: Defaults of the model this posterior was fitted on that the shipped defaults changed later;
#: the posterior's model keeps them. TP + anti-PD-1's induction kill was 0.60/month until
#: 2026-12-07, when configs/base.toml tied it to TP's (docs/calibration/README.md, "A Student-t
#: objective, and TP + anti-PD-1 tied to its backbone"); its resistance time is fitted here.
PINNED = {"regimens.tp_pd1.kill_rate_per_month": 0.6}


def _sig(v: float, digits: int = 6) -> float:
    return 0.0 if v == 0 else round(v, digits - 1 - int(math.floor(math.log10(abs(v)))))


def write_model_scenario(run: Path, name: str, pinned: dict, what: str) -> Path:
    """Copy ``run``'s posterior to the named posterior ``name`` and write ``<name>_model.toml``:
    the default scenario with the calibration's fixed settings, ``pinned`` values, every fitted
    parameter at its weighted posterior median and each tied key (``[tied]`` of posterior.toml)
    at its ratio times the followed median. ``what`` names the posterior in the comments."""
    dest = ROOT / "configs" / "calibration" / "posteriors"
    dest.mkdir(exist_ok=True)
    shutil.copy(run / "posterior.csv", dest / f"{name}.csv")
    shutil.copy(run / "posterior.toml", dest / f"{name}.toml")
    rows = list(csv.reader(open(run / "posterior.csv", newline="", encoding="utf-8")))
    paths = rows[0][3:]
    table = np.array([[float(x) if x != "" else math.inf for x in r] for r in rows[1:]])
    w = table[:, 1] / table[:, 1].sum()
    side = tomllib.loads((run / "posterior.toml").read_text(encoding="utf-8"))
    fixed = side["fixed"]
    medians = {p: _sig(float(weighted_quantile(table[:, 3 + j], w, [0.5])[0])) for j, p in enumerate(paths)}
    medians |= {p: _sig(t["ratio"] * medians[t["of"]]) for p, t in side.get("tied", {}).items()}
    pins = f", and the defaults of its time the shipped ones have since changed ({', '.join(pinned)})" if pinned else ""
    lines = [
        f"# The model of the shipped posterior '{name}' (configs/calibration/posteriors/{name}.csv), for a PSA that",
        "# draws it: the default scenario with the settings its calibration fixed",
        f"# ({name}.toml), every fitted parameter at its weighted posterior median ({len(table)} particles,",
        f"# ESS {1.0 / np.sum(w**2):.0f}) and each tied key at its ratio times the followed median{pins}.",
        f"# Written by docs/calibration/v2/history3/make_model_scenario.py; not the shipped defaults.",
        'extends = "../../default.toml"',
        "",
        "[scenario]",
        f'name = "{name}_model"',
        f'description = "The default population and arms in the model of {what} ({name}): its fixed settings, every fitted parameter at its posterior median"',
        "",
    ]
    sections: dict = {}
    for key, value in list(fixed.items()) + list(pinned.items()) + list(medians.items()):
        head, _, leaf = key.rpartition(".")
        sections.setdefault(head, []).append((leaf, value))
    for head, items in sections.items():
        lines.append(f"[{head}]")
        lines += [f"{leaf} = {_toml_value(v)}" for leaf, v in items]
        lines.append("")
    out = dest / f"{name}_model.toml"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def main() -> int:
    write_model_scenario(HERE, NAME, PINNED, "the v2 history-matching posterior")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
