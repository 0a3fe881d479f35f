"""Which targets inform which parameter: local sensitivity of every target to every fitted
parameter, and what it says about identifiability (``oligosim calibrate --method sensitivity``).

At the point ``z0`` (the fitted parameters' current defaults in the config's unit cube) each
parameter ``j`` is moved by ``+-h`` alone, all on common random numbers, and the error of every
mapped target in tolerance units (:func:`oligosim.calibration.evaluation.target_error`, the
objective's ``e_i``) is read at both points::

    J_ij = (e_i(z0 + h u_j) - e_i(z0 - h u_j)) / (2 h)       (one-sided at the cube's faces)

``J_ij`` is the change of target ``i``'s error, in tolerance widths, per unit of the cube; the
tables show ``0.1 J_ij``, the change for a tenth of the parameter's prior range (on its search
scale). With the objective's weights ``w_i``, the matrix ``F = J' W J / sum(w)`` is the local
curvature of the objective ``L`` (Gauss-Newton): a parameter whose column of ``W^1/2 J`` is
near zero is not informed by any target, two parameters whose columns are nearly parallel
trade off against each other (only their combination is informed), and the eigenvectors of
``F`` with the smallest eigenvalues are the combinations the targets leave free.

Limits, said in the report: it is local (one point, one step); medians read at restaging scans
make ``e_i`` piecewise constant, so a step smaller than the distance between scan-time plateaus
reads 0 (hence a step of a twentieth of the cube by default, not a differential); an undefined
target value (a median not reached) gives no derivative for that target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oligosim.calibration.evaluation import Evaluator, target_weight

__all__ = ["Sensitivity", "local_sensitivity", "SHOWN_STEP", "COLLINEAR_COS", "WEAK_SHARE"]

#: the tables show the change of each error for this fraction of a parameter's prior range
SHOWN_STEP = 0.1
#: two parameters whose weighted sensitivity columns have |cos| above this trade off
COLLINEAR_COS = 0.9
#: a parameter is weakly informed when its weighted rms effect is below this share of the largest
WEAK_SHARE = 0.05
#: a default within this distance of a face of the unit cube sits at a bound of its prior
AT_BOUND = 0.01


@dataclass
class Sensitivity:
    """Outcome of :func:`local_sensitivity`.

    Attributes
    ----------
    spec : CalibrationSpec
    step : float
        ``h``, in unit-cube coordinates.
    z0 : ndarray, shape (dim,)
        The point (the parameters' defaults in the unit cube).
    z_minus, z_plus : ndarray, shape (dim,)
        The coordinate of parameter ``j`` at its lower and upper point (``z0_j`` at a face).
    e0 : ndarray, shape (n_targets,)
        Errors at ``z0`` (nan: undefined).
    e_minus, e_plus : ndarray, shape (dim, n_targets)
        Errors with parameter ``j`` moved down and up.
    jac : ndarray, shape (n_targets, dim)
        ``J``; nan where an end is undefined.
    weights : ndarray, shape (n_targets,)
        The objective's ``w_i``.
    base_results : list of TargetResult
        The targets at ``z0``.
    evaluations : list of Evaluation
        Every simulated point, ``z0`` first.
    """

    spec: object
    step: float
    z0: np.ndarray
    z_minus: np.ndarray
    z_plus: np.ndarray
    e0: np.ndarray
    e_minus: np.ndarray
    e_plus: np.ndarray
    jac: np.ndarray
    weights: np.ndarray
    base_results: list
    evaluations: list

    @property
    def weighted(self) -> np.ndarray:
        """``W^1/2 J / sqrt(sum w)`` with undefined entries as 0, shape (n_targets, dim)."""
        J = np.nan_to_num(self.jac, nan=0.0)
        return J * np.sqrt(self.weights / self.weights.sum())[:, None]

    @property
    def information(self) -> np.ndarray:
        """``F = J' W J / sum(w)``, shape (dim, dim)."""
        A = self.weighted
        return A.T @ A

    def rms_effect(self) -> np.ndarray:
        """Per parameter: the weighted root-mean-square change of the errors for a step of
        :data:`SHOWN_STEP` of its range, ``SHOWN_STEP sqrt(F_jj)``; shape (dim,)."""
        return SHOWN_STEP * np.sqrt(np.diag(self.information))

    def weak(self) -> np.ndarray:
        """Per parameter: informed by (almost) no target (rms effect below :data:`WEAK_SHARE` of the largest)."""
        r = self.rms_effect()
        top = r.max() if r.size else 0.0
        return r < WEAK_SHARE * top if top > 0 else np.ones_like(r, dtype=bool)

    def at_bound(self) -> np.ndarray:
        """Per parameter: the default lies within 0.01 of a face of the unit cube (a prior bound)."""
        return (self.z0 < AT_BOUND) | (self.z0 > 1.0 - AT_BOUND)

    def collinear(self) -> list[tuple[int, int, float]]:
        """Pairs ``(j, k, cos)`` whose weighted sensitivity columns have ``|cos| > COLLINEAR_COS``."""
        A = self.weighted
        norms = np.linalg.norm(A, axis=0)
        out = []
        for j in range(A.shape[1]):
            for k in range(j + 1, A.shape[1]):
                if norms[j] > 0 and norms[k] > 0:
                    c = float(A[:, j] @ A[:, k] / (norms[j] * norms[k]))
                    if abs(c) > COLLINEAR_COS:
                        out.append((j, k, c))
        return sorted(out, key=lambda t: -abs(t[2]))

    def free_directions(self, share: float = 1e-3) -> list[tuple[float, np.ndarray]]:
        """Eigenpairs ``(eigenvalue, unit vector)`` of ``F`` below ``share`` of its largest
        eigenvalue, smallest first: combinations of parameters the targets barely constrain."""
        F = self.information
        vals, vecs = np.linalg.eigh(F)
        top = vals.max() if vals.size else 0.0
        return [(float(vals[k]), vecs[:, k]) for k in range(len(vals)) if top <= 0 or vals[k] < share * top]

    def informing(self, j: int, most: int = 3) -> list[tuple[int, float]]:
        """The ``most`` targets whose weighted errors move most with parameter ``j``:
        ``(target index, SHOWN_STEP * J_ij)``, largest weighted effect first."""
        A = self.weighted[:, j]
        order = np.argsort(-np.abs(A), kind="stable")
        return [(int(i), float(SHOWN_STEP * self.jac[i, j])) for i in order[:most] if A[i] != 0.0]


def _errors(ev) -> np.ndarray:
    return np.array([math.nan if x is None else float(x) for x in ev.errors], dtype=float)


def local_sensitivity(spec, *, step: float = 0.05, workers: int | None = None, scheduler=None, progress=None, journal=None, log=None) -> Sensitivity:
    """Local sensitivity of every mapped target to every fitted parameter of ``spec``.

    Parameters
    ----------
    spec : CalibrationSpec
    step : float
        ``h`` in unit-cube coordinates, in (0, 0.5).
    workers, scheduler, progress
        As for :func:`oligosim.calibration.run_calibration`.
    journal : path-like, optional
        A calibration journal (:mod:`oligosim.calibration.journal`): points already in it are
        read, not simulated, and new ones are added.
    log : callable, optional
        Receives one-line status messages.

    Returns
    -------
    Sensitivity

    Raises
    ------
    ValueError
        If ``step`` is outside (0, 0.5), or a parameter's default is not one value inside its
        range (the point would not be the shipped model).
    RuntimeError
        If the point gives an infeasible cohort.
    """
    if not 0.0 < step < 0.5:
        raise ValueError(f"step = {step!r}: must be in (0, 0.5) (a fraction of each parameter's prior range on its search scale)")
    bad = [p for p in spec.parameters if p.default is None or not p.low <= p.default <= p.high]
    if bad:
        raise ValueError(
            "the sensitivity is taken at the parameters' defaults, and these have none inside their range: "
            + "; ".join(f"{p.path} = {p.default} (range [{p.low:g}, {p.high:g}])" for p in bad)
        )
    say = log or (lambda s: None)
    jr = None
    if journal is not None:
        from oligosim.calibration.journal import Journal, fingerprint

        jr = Journal(journal, fingerprint(spec), len(spec.tmap.entries))
        say(f"journal {journal}: {len(jr)} candidates already simulated")
    ev = Evaluator(spec, workers=workers, scheduler=scheduler, progress=progress, journal=jr, phase="sensitivity")
    dim = spec.dim
    z0 = np.array([float(p.to_unit(p.default)) for p in spec.parameters])
    zm = np.maximum(z0 - step, 0.0)
    zp = np.minimum(z0 + step, 1.0)
    pts = [z0]
    for j in range(dim):
        for zj in (zm[j], zp[j]):
            z = z0.copy()
            z[j] = zj
            pts.append(z)
    vals = ev(np.array(pts))
    if not math.isfinite(vals[0]):
        raise RuntimeError(f"the defaults give no value: {ev.evaluations[0].note}")
    evs = ev.evaluations
    e0 = _errors(evs[0])
    em = np.array([_errors(evs[1 + 2 * j]) for j in range(dim)])
    ep = np.array([_errors(evs[2 + 2 * j]) for j in range(dim)])
    width = zp - zm
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(width[None, :] > 0, (ep - em).T / width[None, :], np.nan)
    base = ev.results_at(spec.values(z0))
    if isinstance(base, str):  # pragma: no cover - the same point was feasible above
        raise RuntimeError(base)
    w = np.array([target_weight(r, spec.objective) for r in base], dtype=float)
    return Sensitivity(spec=spec, step=step, z0=z0, z_minus=zm, z_plus=zp, e0=e0, e_minus=em, e_plus=ep, jac=jac, weights=w, base_results=base, evaluations=evs)
