r"""Ensemble estimators: rebuilding rho and its observables from trajectories (SPEC Sec. 4).

Chunk results are reduced *in chunk order*, so the numbers do not depend on how
the chunks were scheduled. Chunks are dealt into ``G`` jackknife groups
(chunk ``c`` goes to group ``c mod G``); the groups' sums are what the
nonlinear estimators need, so memory is ``G x (rho checkpoints) x N^2`` whatever
the number of trajectories.

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
from collections.abc import Iterable
from typing import Any

import numpy as np

from ... import observables as obs
from ...model.micromaser import Micromaser
from .chunks import ChunkResult

#: per-trajectory record fields of a ChunkResult, kept in an EnsembleResult
_RECORDS = (
    "n_mean", "n2_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "fock", "alive",
    "jump_times", "jump_kinds", "n_jumps",
)  # fmt: skip

__all__ = ["Estimate", "PerTrajectory", "EnsembleResult", "EnsembleAccumulator", "jackknife"]


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


class EnsembleAccumulator:
    """Reduces :class:`ChunkResult` objects, in chunk order, into an :class:`EnsembleResult`."""

    def __init__(
        self,
        model: Micromaser,
        checkpoints: np.ndarray,
        rho_index: np.ndarray,
        n_chunks: int,
        jackknife_groups: int,
        n_trajectories: int,
    ):
        self.model = model
        self.capacity = n_trajectories
        self.k = checkpoints
        self.rho_index = rho_index
        self.groups = max(1, min(n_chunks, jackknife_groups))
        n, r, c = model.cutoff, rho_index.size, checkpoints.size
        self.s = np.zeros((self.groups, r, n, n), dtype=np.complex128)
        self.m = np.zeros(self.groups, dtype=np.int64)
        self.alive = np.zeros((self.groups, c), dtype=np.int64)
        self.sum_n = np.zeros((self.groups, c))
        self.sum_n2 = np.zeros((self.groups, c))
        self.leak = np.zeros(c)
        # running mean and sum of squared deviations of <n>_i (Chan et al. merge)
        self.e_mean = np.zeros(c)
        self.e_m2 = np.zeros(c)
        self.records: dict[str, np.ndarray] = {}  # preallocated on the first chunk
        self.filled = 0
        self.n_chunks = 0
        self.next_index = 0

    @property
    def n_trajectories(self) -> int:
        return int(self.m.sum())

    def add(self, chunk: ChunkResult) -> None:
        """Add the next chunk; chunks must come in index order."""
        if chunk.index != self.next_index:
            raise ValueError(
                f"chunk {chunk.index} arrived out of order (expected {self.next_index})"
            )
        g = chunk.index % self.groups
        if chunk.rho_sum.shape[0]:
            self.s[g] += chunk.rho_sum
        self.m[g] += chunk.n_trajectories
        self.alive[g] += chunk.n_alive
        self.sum_n[g] += chunk.n_mean.sum(axis=0)
        self.sum_n2[g] += chunk.n2_mean.sum(axis=0)
        self.leak += chunk.leak_expected
        self._merge_energy_moments(chunk.n_mean)
        # copy the records into place; the chunk itself can then be dropped
        if not self.records:
            for name in _RECORDS:
                a = getattr(chunk, name)
                self.records[name] = np.empty((self.capacity,) + a.shape[1:], dtype=a.dtype)
        lo, hi = self.filled, self.filled + chunk.n_trajectories
        if hi > self.capacity:
            raise ValueError(f"more trajectories than the {self.capacity} announced")
        for name in _RECORDS:
            self.records[name][lo:hi] = getattr(chunk, name)
        self.filled = hi
        self.n_chunks += 1
        self.next_index += 1

    def _merge_energy_moments(self, x: np.ndarray) -> None:
        n_a, n_b = float(self.filled), float(x.shape[0])
        mean_b = x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        delta = mean_b - self.e_mean
        total = n_a + n_b
        self.e_mean = self.e_mean + delta * (n_b / total)
        self.e_m2 = self.e_m2 + m2_b + delta**2 * (n_a * n_b / total)

    def mean_leakage(self) -> np.ndarray:
        return self.leak / max(self.n_trajectories, 1)

    # ------------------------------------------------------------- estimators
    def _purity(self, s: np.ndarray, m: float, alive: np.ndarray) -> np.ndarray:
        tr_s2 = np.sum(np.abs(s) ** 2, axis=(-2, -1))
        return (tr_s2 - alive) / (m * (m - 1.0)) if m > 1 else np.full(tr_s2.shape, np.nan)

    @staticmethod
    def _ergotropy(s: np.ndarray, m: float) -> np.ndarray:
        rho = s / m
        energy = obs.energy(rho)
        return np.array(
            [
                obs.ergotropy_from_spectrum(e, obs.spectrum(r))
                for e, r in zip(energy, rho, strict=True)
            ]
        )

    @staticmethod
    def _fano(sum_n: np.ndarray, sum_n2: np.ndarray, m: float) -> np.ndarray:
        return obs.fano_from_moments(sum_n / m, sum_n2 / m)

    def stderr(self, name: str) -> np.ndarray:
        """Current standard error of an observable over the checkpoints (NaN-free subset)."""
        if name == "energy":
            m = float(self.filled)
            return np.sqrt(self.e_m2 / (m - 1.0) / m) if m > 1 else np.full(self.k.size, np.inf)
        est = getattr(self.result(seed=0, chunk_size=0, n_jobs=1, backend="", seconds=0.0), name)
        se = est.stderr[np.isfinite(est.mean)]
        return se if se.size else np.full(1, np.inf)

    def result(self, **run_info: Any) -> EnsembleResult:
        """The :class:`EnsembleResult` of the chunks added so far.

        ``run_info``: ``seed, chunk_size, n_jobs, backend, seconds`` and optionally
        ``stop_reason``. With a single jackknife group the leave-one-out sets are empty:
        their NaNs give NaN errors (as :func:`jackknife` does for ``G < 2``), silently.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._result(**run_info)

    def _result(
        self,
        *,
        seed: int,
        chunk_size: int,
        n_jobs: int,
        backend: str,
        seconds: float,
        stop_reason: str = "n_trajectories",
    ) -> EnsembleResult:
        m_tot = float(self.m.sum())
        s_tot = self.s.sum(axis=0)
        a_tot = self.alive.sum(axis=0)[self.rho_index].astype(float)
        n_tot, n2_tot = self.sum_n.sum(axis=0), self.sum_n2.sum(axis=0)
        c = self.k.size
        per = PerTrajectory(**{name: a[: self.filled] for name, a in self.records.items()})
        # energy: per-trajectory mean and standard error
        e_mean = self.e_mean
        e_se = np.sqrt(self.e_m2 / (m_tot - 1.0) / m_tot) if m_tot > 1 else np.full(c, np.nan)
        # jackknife over groups
        sizes = self.m.astype(float)
        fano = self._fano(n_tot, n2_tot, m_tot)
        fano_lo = np.array(
            [
                self._fano(n_tot - self.sum_n[g], n2_tot - self.sum_n2[g], m_tot - sizes[g])
                for g in range(self.groups)
            ]
        )
        purity = np.full(c, np.nan)
        purity_se = np.full(c, np.nan)
        ergo = np.full(c, np.nan)
        ergo_se = np.full(c, np.nan)
        if self.rho_index.size:
            p_full = self._purity(s_tot, m_tot, a_tot)
            w_full = self._ergotropy(s_tot, m_tot)
            p_lo = np.array(
                [
                    self._purity(
                        s_tot - self.s[g], m_tot - sizes[g], a_tot - self.alive[g, self.rho_index]
                    )
                    for g in range(self.groups)
                ]
            )
            w_lo = np.array(
                [self._ergotropy(s_tot - self.s[g], m_tot - sizes[g]) for g in range(self.groups)]
            )
            purity[self.rho_index] = p_full
            purity_se[self.rho_index] = jackknife(p_full, p_lo, sizes)
            ergo[self.rho_index] = w_full
            ergo_se[self.rho_index] = jackknife(w_full, w_lo, sizes)
        rho = s_tot / m_tot
        return EnsembleResult(
            model=self.model,
            k=self.k,
            n_trajectories=int(m_tot),
            chunk_size=chunk_size,
            n_chunks=self.n_chunks,
            seed=seed,
            energy=Estimate(e_mean, e_se),
            purity=Estimate(purity, purity_se),
            fano=Estimate(fano, jackknife(fano, fano_lo, sizes)),
            ergotropy=Estimate(ergo, ergo_se),
            populations=obs.photon_distribution(rho),
            rho=rho,
            rho_index=self.rho_index,
            leakage=self.mean_leakage(),
            leaked_trajectories=int(np.count_nonzero(~per.alive)),
            per_trajectory=per,
            jackknife_groups=self.groups,
            n_jobs=n_jobs,
            backend=backend,
            seconds=seconds,
            stop_reason=stop_reason,
        )


def reduce_chunks(chunks: Iterable[ChunkResult], acc: EnsembleAccumulator) -> EnsembleAccumulator:
    """Add chunks (already in index order) to an accumulator."""
    for ch in chunks:
        acc.add(ch)
    return acc
