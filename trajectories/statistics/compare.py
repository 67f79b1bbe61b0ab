"""Checking a trajectory ensemble against the exact solver, checkpoint by checkpoint.

The z-score of an estimate is ``(estimate - exact) / (stderr + SE_FLOOR)``; with
``SE_FLOOR = 2e-10``, ``|z| <= 5`` is exactly the criterion of ``docs/MODEL.md`` Sec. 5
``|estimate - exact| <= 5 se + 1e-9``, which also covers checkpoints where the
ensemble is pure and ``se = 0`` (``k = 0``).

A caveat that no error bar can remove: weight that the exact state holds with a
probability well below ``1/M`` is usually absent from an ensemble of ``M``
trajectories, and the sample standard error cannot see what was not sampled. At
``gamma t_r = 0.001``, ``nbar = 0.15`` (paper Figs. 5-7) thermal absorption lifts
~5e-5 of the population into a sector with ``E ~ 40`` (``docs/MODEL.md`` Sec. 9); that moves
``<n^2>`` by 0.07 and shows up as a Fano-factor z-score of 50 with 10^4
trajectories, while energy and purity, whose error bars are larger than that
contribution, agree. Large ``|z|`` confined to ``<n^2>``-based quantities in a
metastable regime means: too few trajectories to sample the rare sector.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..solvers.exact import ExactResult
from ..solvers.montecarlo.result import EnsembleResult

__all__ = ["Comparison", "compare", "SE_FLOOR"]

#: Added to every standard error: ``|z| <= 5`` then means ``|estimate - exact| <= 5 se + 1e-9``.
SE_FLOOR = 2e-10
_OBSERVABLES = ("energy", "purity", "fano", "ergotropy")
#: The energy books, compared when both results hold them (``docs/MODEL.md``, Sec. 12).
_BOOKS = ("energy_from_qubits", "switching_work", "energy_from_bath")


@dataclasses.dataclass(frozen=True)
class Comparison:
    r"""z-scores of an ensemble against the exact solution, per checkpoint and observable.

    :math:`z = (\hat x - x_{exact})/(\mathrm{se} + \mathrm{SE\_FLOOR})`; ``|z| <= 5`` is
    the pass criterion of ``docs/MODEL.md``, Sec. 5.

    Attributes
    ----------
    k : ndarray of int64, shape (C,)
        Checkpoints (collisions) of the ensemble.
    z : dict of str to ndarray of float64, shape (C,)
        z-scores of ``energy``, ``purity``, ``fano`` and ``ergotropy`` (NaN where
        undefined, e.g. the Fano factor at zero energy), and of the energy books
        ``energy_from_qubits``, ``switching_work`` and ``energy_from_bath`` when both
        results hold them.

    Examples
    --------
    >>> import numpy as np
    >>> c = Comparison(k=np.array([0, 10]), z={"energy": np.array([0.0, -1.5])})
    >>> c.max_abs_z, c.passed()
    ({'energy': 1.5}, True)
    """

    k: np.ndarray
    z: dict[str, np.ndarray]

    @property
    def max_abs_z(self) -> dict[str, float]:
        """Largest finite ``|z|`` over the checkpoints, per observable (0 if none)."""
        return {name: float(np.nanmax(np.abs(z), initial=0.0)) for name, z in self.z.items()}

    @property
    def fraction_above_3(self) -> dict[str, float]:
        """Fraction of the finite z-scores with ``|z| > 3``, per observable (~0.0027 expected
        for Gaussian errors)."""
        out = {}
        for name, z in self.z.items():
            ok = np.isfinite(z)
            out[name] = float(np.mean(np.abs(z[ok]) > 3.0)) if ok.any() else 0.0
        return out

    def passed(self, threshold: float = 5.0) -> bool:
        """Whether every finite ``|z|`` is at most ``threshold``.

        Parameters
        ----------
        threshold : float, optional
            Largest accepted ``|z|`` (default 5).

        Returns
        -------
        bool
            True when the ensemble agrees with the exact solution at every checkpoint.
        """
        return all(v <= threshold for v in self.max_abs_z.values())

    def summary(self) -> str:
        """A table: per observable, the largest ``|z|`` and the percentage above 3 sigma.

        Returns
        -------
        str
            One header line and one line per observable.
        """
        lines = [f"{'observable':<10} {'max|z|':>8} {'>3 sigma':>9}  (checkpoints: {self.k.size})"]
        for name in self.z:
            lines.append(
                f"{name:<10} {self.max_abs_z[name]:8.2f} {100 * self.fraction_above_3[name]:8.1f}%"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Comparison(\n" + self.summary() + "\n)"


def compare(ensemble: EnsembleResult, exact: ExactResult) -> Comparison:
    """z-scores of the ensemble's energy, purity, Fano factor, ergotropy and energy books
    against ``exact``.

    Parameters
    ----------
    ensemble : EnsembleResult
        Trajectory estimates with standard errors (:func:`trajectories.simulate`).
    exact : ExactResult
        The exact solution of the same model or protocol (:func:`trajectories.solve_exact`);
        it must contain every checkpoint of the ensemble (e.g. solved with the default
        checkpoints, every collision).

    Returns
    -------
    Comparison
        z-scores per checkpoint ``(C,)`` and observable.

    Raises
    ------
    ValueError
        If the models (for protocols: the stages' models and collisions) differ or a
        checkpoint of the ensemble is missing from ``exact``.

    Notes
    -----
    A pass does not see what was not sampled: weight held with a probability well below
    ``1/M`` (a rare sector of a metastable model) is absent from ``M`` trajectories
    (module docstring).
    """
    if ensemble.model != exact.model:
        raise ValueError("compare needs the same model in both results")
    p_ens, p_ex = getattr(ensemble, "protocol", None), getattr(exact, "protocol", None)
    if (p_ens is None) != (p_ex is None):
        raise ValueError("compare needs a protocol in both results, or in neither")
    if p_ens is not None and not _same_protocol(p_ens, p_ex):
        raise ValueError("compare needs the same protocol (stages, models, collisions) in both")
    idx = np.searchsorted(exact.k, ensemble.k)
    if np.any(idx >= exact.k.size) or np.any(
        exact.k[np.minimum(idx, exact.k.size - 1)] != ensemble.k
    ):
        raise ValueError("the exact result must contain every checkpoint of the ensemble")
    z = {}
    for name in _OBSERVABLES:
        est = getattr(ensemble, name)
        ref = getattr(exact, name)[idx]
        with np.errstate(invalid="ignore"):
            z[name] = (est.mean - ref) / (est.stderr + SE_FLOOR)
    for name in _BOOKS:
        est, ref = getattr(ensemble, name, None), getattr(exact, name, None)
        if est is not None and ref is not None:
            z[name] = (est.mean - ref[idx]) / (est.stderr + SE_FLOOR)
    return Comparison(k=ensemble.k.copy(), z=z)


def _same_protocol(a: object, b: object) -> bool:
    """Whether two protocols have the same stages: models, collisions and own states."""
    if len(a.stages) != len(b.stages):
        return False
    for sa, sb in zip(a.stages, b.stages, strict=True):
        if sa.model != sb.model or sa.collisions != sb.collisions:
            return False
        if (sa.initial_state is None) != (sb.initial_state is None):
            return False
        if sa.initial_state is not None and not np.array_equal(sa.initial_state, sb.initial_state):
            return False
    return True
