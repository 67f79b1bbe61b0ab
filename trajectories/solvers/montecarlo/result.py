r"""Ensemble results: rho and its observables rebuilt from trajectories, with error bars.

The estimators (``docs/MODEL.md``, Sec. 5; the reduction of chunks into them is
:class:`~trajectories.solvers.montecarlo.accumulator.EnsembleAccumulator`):

- energy: mean and standard error of the per-trajectory :math:`\langle n\rangle_i`.
- purity: the unbiased estimator :math:`(\mathrm{Tr}\,S^2 - A)/(M(M-1))` with
  :math:`S = \sum_i |\psi_i\rangle\langle\psi_i|` and :math:`A = \sum_i \|\psi_i\|^4`
  (the number of trajectories that did not leak); :math:`\mathrm{Tr}\,\hat\rho^2` itself is
  biased upward by about :math:`(1-P)/M`.
- Fano factor (from the ensemble moments of n) and ergotropy (of :math:`\hat\rho = S/M`):
  delete-a-group jackknife errors (weighted for unequal groups, Busing et al. 1999).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...model.micromaser import Micromaser

#: per-trajectory record fields of a ChunkResult, kept in an EnsembleResult
_RECORDS = (
    "n_mean", "n2_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "fock", "alive",
    "jump_times", "jump_kinds", "n_jumps",
)  # fmt: skip

__all__ = ["Estimate", "PerTrajectory", "EnsembleResult", "jackknife"]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An estimate per checkpoint with its standard error (both shape ``(C,)``)."""

    mean: np.ndarray
    stderr: np.ndarray

    def __repr__(self) -> str:
        last = f"{self.mean[-1]:.6g} ± {self.stderr[-1]:.2g}"
        return f"Estimate(checkpoints={self.mean.shape[0]}, last={last})"


def jackknife(full: np.ndarray, leave_out: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Delete-a-group jackknife standard error.

    ``full``: estimate from all data, shape ``(...)``; ``leave_out``: estimates with
    group ``g`` left out, shape ``(G, ...)``; ``sizes``: trajectories per group
    ``(G,)``. For equal groups this is the textbook
    ``sqrt((G-1)/G sum_g (theta_g - mean)^2)``.
    """
    g = sizes.size
    if g < 2:
        return np.full(np.shape(full), np.nan)
    total = sizes.sum()
    h = (total / sizes).reshape((g,) + (1,) * np.ndim(full))
    theta_j = g * full - np.sum((1.0 - 1.0 / h) * leave_out, axis=0)
    pseudo = h * full - (h - 1.0) * leave_out
    var = np.sum((pseudo - theta_j) ** 2 / (h - 1.0), axis=0) / g
    return np.sqrt(var)


@dataclasses.dataclass(frozen=True)
class PerTrajectory:
    """Per-trajectory records at the checkpoints (rows: trajectories in chunk order).

    Counts are cumulative from collision 0 and are *measurable*: which qubits left
    in ``g`` or ``e`` (split by the branch ``j`` they came in on; for ``c = 0``,
    branch 0 = came in excited, 1 = came in ground), emissions into the bath and
    absorptions from it. ``n_mean``/``n2_mean`` (``<n>_i``, ``<n^2>_i`` of the
    conditional state) depend on the chosen unravelling and are *not* measurable
    quantities; only their averages are. ``fock`` is one photon number drawn from
    each conditional state (-1 after a leak).
    """

    n_mean: np.ndarray  # (M, C)
    n2_mean: np.ndarray  # (M, C)
    qubit_g: np.ndarray  # (M, C, B)
    qubit_e: np.ndarray  # (M, C, B)
    emissions: np.ndarray  # (M, C)
    absorptions: np.ndarray  # (M, C)
    fock: np.ndarray  # (M, C)
    alive: np.ndarray  # (M,)
    jump_times: np.ndarray  # (M, J)
    jump_kinds: np.ndarray  # (M, J)
    n_jumps: np.ndarray  # (M,)

    @property
    def jumps_overflow(self) -> np.ndarray:
        """True for trajectories with more jumps than the jump-time capacity ``J``."""
        return self.n_jumps > self.jump_times.shape[1]

    @property
    def photons_from_qubits(self) -> np.ndarray:
        """Photons the qubits put into the cavity, for incoherent qubits (``c = 0``).

        (qubits that came in e and left in g) - (came in g and left in e), shape
        (M, C). Needs the two branches {e, g}; raises ``ValueError`` otherwise.
        """
        if self.qubit_g.shape[2] != 2:
            raise ValueError("photons_from_qubits needs the qubit branches {e, g} (c = 0)")
        return self.qubit_g[:, :, 0].astype(np.int64) - self.qubit_e[:, :, 1]


@dataclasses.dataclass(frozen=True, repr=False)
class EnsembleResult:
    """Observables rebuilt from an ensemble of trajectories, with error bars.

    ``energy``, ``purity``, ``fano``, ``ergotropy`` are :class:`Estimate` per
    checkpoint ``k`` (purity and ergotropy are NaN where rho was not kept).
    ``rho`` holds ``S/M`` at the checkpoints ``k[rho_index]``. ``leakage`` is the
    expected population lost through the cutoff up to each checkpoint, estimated
    from the trajectories' exact leak probabilities; ``leaked_trajectories`` counts
    those that actually left.
    """

    model: Micromaser
    k: np.ndarray
    n_trajectories: int
    chunk_size: int
    n_chunks: int
    seed: int
    energy: Estimate
    purity: Estimate
    fano: Estimate
    ergotropy: Estimate
    populations: np.ndarray  # (R, N)
    rho: np.ndarray  # (R, N, N)
    rho_index: np.ndarray  # (R,) indices into k
    leakage: np.ndarray  # (C,)
    leaked_trajectories: int
    per_trajectory: PerTrajectory
    jackknife_groups: int
    n_jobs: int
    backend: str
    seconds: float
    stop_reason: str = "n_trajectories"
    #: the random streams of the trajectories: ``"block8-pcg64"`` (trajectory ``i`` depends
    #: only on the seed and ``i``) or ``"chunk"`` (version 0.1: streams per chunk)
    streams: str = "chunk"

    def __repr__(self) -> str:
        m = self.model
        return (
            f"EnsembleResult({self.n_trajectories} trajectories in {self.n_chunks} chunks of "
            f"{self.chunk_size}, seed={self.seed}, checkpoints={self.k.size} "
            f"(k = {self.k[0]}..{self.k[-1]}), cutoff={m.cutoff}, "
            f"energy={self.energy.mean[-1]:.5g} ± {self.energy.stderr[-1]:.2g}, "
            f"purity={self.purity.mean[-1]:.5g} ± {self.purity.stderr[-1]:.2g}, "
            f"rho at {self.rho_index.size} checkpoints, {self.seconds:.3g} s, "
            f"n_jobs={self.n_jobs}, backend={self.backend!r}, stopped on {self.stop_reason})"
        )
