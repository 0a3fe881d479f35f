"""Tied parameters of a calibration (``[tied]``): a scenario key set to a sourced ratio times a fitted one.

A calibration config may tie a parameter it does not fit to one it fits::

    [tied]
    "regimens.tp_pd1.kill_rate_per_month" = { of = "regimens.tp.kill_rate_per_month", ratio = 1.161 }

Every candidate then sets the tied key to ``ratio`` times the candidate's value of ``of``. Why: a
mechanism-level source often fixes a *relation* between two parameters, not either value. Adding
camrelizumab to paclitaxel-cisplatin raised ESCORT-1st's objective response from 62.1% to
72.1%; with the regimen library's link of kill rate to response (kill x ORR ratio, docs/model.md
5.7) the chemo-immunotherapy's kill rate is its backbone's times 72.1/62.1, whatever value the
fit gives the backbone. Fitting both freely would ignore that source; fixing the combination's
value would break the relation as soon as the backbone moves.

The tie is part of the calibrated model: the calibrated overlay writes the tied value, the
predictive check and the local sensitivity use it. A posterior (ABC, history matching) writes its
ties beside its particles (``posterior.toml``, table ``[tied]``), and ``[psa] posterior`` sets each
tied key to its ratio times the drawn particle's value (:mod:`oligosim.experiments.joint`), so a
PSA keeps the relation too.
"""

from __future__ import annotations

import math

from oligosim.config import format_value

__all__ = ["parse_tied", "check_tied", "tied_values"]

def parse_tied(raw, display: str, errors: list[str]) -> dict[str, tuple[str, float]]:
    """The ``[tied]`` table as ``{path: (of, ratio)}``; problems are appended to ``errors``.

    A key may be quoted (``"a.b.c" = {...}``) or dotted (TOML then nests it); each leaf is a
    table with exactly ``of`` (a string) and ``ratio`` (a finite number > 0).
    """
    if not isinstance(raw, dict):
        errors.append(f"{display}: tied = {format_value(raw)}: must be a table of scenario keys, each {{ of = \"<fitted path>\", ratio = <number> }}")
        return {}
    out: dict[str, tuple[str, float]] = {}

    def walk(node: dict, prefix: str) -> None:
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and ("of" in v or "ratio" in v):
                leaf(path, v)
            elif isinstance(v, dict):
                walk(v, path)
            else:
                errors.append(f"{display}: tied.{path} = {format_value(v)}: must be a table {{ of = \"<fitted path>\", ratio = <number> }}")

    def leaf(path: str, v: dict) -> None:
        extra = sorted(set(v) - {"of", "ratio"})
        if extra:
            errors.append(f"{display}: tied.{path}.{extra[0]}: unknown key (a tie has of and ratio)")
        of, ratio = v.get("of"), v.get("ratio")
        if not isinstance(of, str) or not of:
            errors.append(f"{display}: tied.{path}.of = {format_value(of)}: must name the fitted parameter the key follows")
            return
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio <= 0:
            errors.append(f"{display}: tied.{path}.ratio = {format_value(ratio)}: must be a finite number > 0")
            return
        out[path] = (of, float(ratio))

    walk(raw, "")
    return out


def check_tied(tied: dict, params, fixed: dict, scenarios, bad) -> None:
    """Each tie follows a fitted parameter, sets a key that is neither fitted, fixed nor followed
    by another tie, and is valid in every study scenario at the followed parameter's range ends."""
    fitted = {p.path: p for p in params}
    for path, (of, ratio) in tied.items():
        key = f"tied.{path}"
        if of not in fitted:
            bad(f"{key}.of", of, f"is not a fitted parameter (fitted: {', '.join(fitted) or 'none'}); a value that is not fitted belongs in [fixed]")
            continue
        if path in fitted:
            bad(key, f"{{ of = {of!r}, ratio = {ratio:g} }}", "is a fitted parameter: a key is either fitted or tied")
            continue
        if path in fixed:
            bad(key, f"{{ of = {of!r}, ratio = {ratio:g} }}", "is also set in [fixed]: a key is either fixed or tied")
            continue
        if path in {o for o, _ in tied.values()}:
            bad(key, f"{{ of = {of!r}, ratio = {ratio:g} }}", "is followed by another tie: ties do not chain")
            continue
        p = fitted[of]
        for value in (ratio * p.low, ratio * p.high):
            for sc in scenarios:
                try:
                    sc.with_values({path: value})
                except Exception as exc:  # ConfigError: the key or the value is not valid there
                    rule = "; ".join(getattr(exc, "errors", [str(exc)]))
                    bad(key, f"{{ of = {of!r}, ratio = {ratio:g} }}", f"{ratio:g} x {value / ratio:g} (an end of {of}'s range) is not valid for scenario {sc.name}: {rule}")
                    return


def tied_values(tied: dict, values: dict, params) -> dict:
    """``{path: ratio x value of of}`` for a candidate's ``values`` (a followed parameter the
    candidate lacks takes its scenario value, the parameter's ``default``)."""
    default = {p.path: p.default for p in params}
    out = {}
    for path, (of, ratio) in tied.items():
        v = values.get(of, default.get(of))
        if v is not None:
            out[path] = ratio * float(v)
    return out
