"""Is a regimen given where its evidence is? An arm's lines against the regimen's labels.

Every regimen names the histologies (``histology``) and treatment lines (``lines``) its
parameters come from (model 5.7). The model gives every patient of an arm the same regimens,
whatever the patient's histology, so an arm that gives a regimen outside its labels runs on
parameters taken from other patients. The rules, with their reasons:

* **Histology, a warning** when some or all patients have a histology the regimen is not
  labelled for (``cohort.eac_fraction`` above 0 with a squamous-only regimen, below 1 with an
  adenocarcinoma-only one): the labels say where the response figures were measured, one
  regimen per arm cannot follow each patient's histology, mixed trials (KEYNOTE-590,
  KEYNOTE-181) gave one regimen to both, and scenarios that switch the histology of a shipped
  population (``eac_fraction = 1``) must keep running; the warning says the figures are
  extrapolated. Relabelling the regimen in the scenario (``regimens.<name>.histology = [...]``)
  records the extrapolation on purpose and silences it.
* **Histology, an error** for a regimen marked ``histology_required`` (HER2-directed therapy)
  given to a population none of whose patients has its histology: HER2 is an adenocarcinoma
  target, so the arm would have no biological meaning. The same relabelling is the explicit way
  out.
* **Line, a warning.** A line label says where the response figures were measured; regimens
  do move between lines in practice (a platinum doublet again after a long interval,
  anti-PD-1 after chemotherapy), and the model's kill, resistance and toxicity do not depend
  on the line, so the run is well defined: the warning says its figures are extrapolated.

The line an arm gives a regimen in is its rank among the arm's systemic lines: with
``first_line = "none"`` the ``second_line`` regimen is the patient's first systemic therapy
(model 5.1), so it counts as line 1.
"""

from __future__ import annotations

from typing import Any, Mapping

from oligosim.config.regimens import HISTOLOGIES

#: the arm keys of the systemic lines, in the order they are given
LINE_KEYS = ("first_line", "second_line", "third_line")


def arm_lines(arm: Mapping[str, Any], entry_line: int = 1) -> list[tuple[str, str, int]]:
    """The regimens an arm gives, as ``(arm key, regimen, line number)``.

    The line number counts only the lines that give a regimen (``"none"`` skipped), so a
    ``second_line`` after ``first_line = "none"`` is line 1 (model 5.1), from the cohort's
    ``entry_line``: a cohort entering at line 2 (model 3.8) gets its first regimen as line 2.
    """
    out, n = [], entry_line - 1
    for key in LINE_KEYS:
        reg = arm[key]
        if reg != "none":
            n += 1
            out.append((key, reg, n))
    return out


def histology_shares(data: Mapping[str, Any]) -> dict[str, float]:
    """Share of the population of each histology (``cohort.eac_fraction``)."""
    eac = float(data["cohort"]["eac_fraction"])
    return {"escc": 1.0 - eac, "eac": eac}


def label_problems(data: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """Errors and warnings about regimens given outside their labels.

    Parameters
    ----------
    data : mapping
        Resolved scenario data (defaults filled).

    Returns
    -------
    errors : list of (str, str)
        ``(key path, message)`` pairs, the key being the arm's line (``arms.<arm>.<line key>``).
    warnings : list of str
        One sentence each, naming the arm, the key, the regimen and the label.
    """
    errors: list[tuple[str, str]] = []
    warnings: list[str] = []
    if "regimens" not in data or "arms" not in data:
        return errors, warnings  # validated against another schema (tests, tools): nothing to check
    shares = histology_shares(data)
    regimens = data["regimens"]
    for arm_name, arm in data.get("arms", {}).items():
        for key, reg, line in arm_lines(arm, int(data.get("cohort", {}).get("entry_line", 1))):
            labels = regimens.get(reg)
            if labels is None:
                continue  # an unknown regimen is the schema's error already
            outside = sum(shares[h] for h in HISTOLOGIES if h not in labels["histology"])
            hist = ", ".join(labels["histology"])
            where = f"arms.{arm_name}.{key} = {reg!r}"
            if outside >= 1.0 and labels["histology_required"]:
                errors.append(
                    (
                        f"arms.{arm_name}.{key}",
                        f"regimen {reg!r} acts only on histology [{hist}] (histology_required) and no patient of this "
                        f"population has it (cohort.eac_fraction = {data['cohort']['eac_fraction']:g}); to extrapolate "
                        f"on purpose, set regimens.{reg}.histology in the scenario",
                    )
                )
            elif outside > 0.0:
                warnings.append(
                    f"{where}: regimen labelled for histology [{hist}]; {outside:.0%} of the population "
                    f"(cohort.eac_fraction = {data['cohort']['eac_fraction']:g}) has another histology and gets it too: "
                    "its figures are extrapolated to them"
                )
            if line not in labels["lines"]:
                allowed = ", ".join(str(x) for x in labels["lines"])
                warnings.append(
                    f"{where}: given as line {line}, but the regimen's response figures are from line(s) [{allowed}]: "
                    "its efficacy and toxicity are extrapolated to this line"
                )
    return errors, warnings


def label_errors(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The errors of :func:`label_problems` (a cross-section rule of the scenario schema)."""
    return label_problems(data)[0]


def label_warnings(data: Mapping[str, Any]) -> list[str]:
    """The warnings of :func:`label_problems` (shown by ``oligosim check`` and ``run``)."""
    return label_problems(data)[1]
