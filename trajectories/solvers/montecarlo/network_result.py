r"""The ensemble of a network's trajectories: estimates with error bars, and the records.

:class:`NetworkEnsemble` is what :func:`~trajectories.solvers.montecarlo.simulate.simulate`
returns for a :class:`~trajectories.model.network.Network`; :class:`NetworkAccumulator`
reduces the chunks of :mod:`trajectories.solvers.montecarlo.network_kernel` into it, in
chunk order. The estimators (``docs/MODEL.md``, Secs. 5 and 13), with ``M`` trajectories
and :math:`S = \sum_i |\psi_i\rangle\langle\psi_i|` at the checkpoints keeping rho:

- energy, :math:`\langle n^2\rangle`, total energy (per cavity, or of the pair) and
  ``p_excited`` (the cumulative number of qubits that left in e): mean and standard error
  of the per-trajectory values;
- purity, unbiased: :math:`(\mathrm{Tr}\,S^2 - A)/(M(M-1))`, ``A`` the number of
  trajectories that did not leak (:math:`\sum_i\|\psi_i\|^4`); local purities likewise,
  :math:`(\mathrm{Tr}\,S_X^2 - \sum_i\mathrm{Tr}\,\rho_{X,i}^2)/(M(M-1))` with
  :math:`S_X` the partial trace of ``S``;
- every other nonlinear observable (entropy, ergotropy, collective ergotropy, logarithmic
  negativity, mutual information, local entropies and ergotropies) from
  :func:`~trajectories.bipartite.bipartite_observables` of :math:`\hat\rho = S/M`, and the
  Fano factors from the ensemble moments of each cavity's ``n`` (equal to those of
  :math:`\hat\rho`, at every checkpoint);
- errors of the nonlinear ones: delete-a-group jackknife over ``G`` groups of chunks
  (chunk ``c`` in group ``c mod G``;
  :func:`~trajectories.solvers.montecarlo.result.jackknife`).

Memory: the groups' sums of ``S``, ``G x R x D^2`` complex numbers (``16 G R D^2`` bytes:
51 MB at ``N_A = N_B = 20``, 20 groups and the last checkpoint only; 0.8 GB at 40).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from joblib import Parallel, delayed

from ..._threads import single_threaded_blas
from ...bipartite import bipartite_observables, reduced_states
from ...model.network import Network
from ...observables import fano_from_moments
from .network_kernel import NetworkChunk
from .result import Estimate, jackknife

__all__ = ["NetworkEnsemble", "NetworkRecords", "NetworkAccumulator"]

#: the estimates at the rho checkpoints taken from bipartite_observables(S / M)
_FROM_RHO = ("entropy", "ergotropy", "collective_ergotropy", "log_negativity",
             "mutual_information", "local_entropy", "local_ergotropy")  # fmt: skip


def _rho_point(s: np.ndarray, local: float, m: float, alive: float, cutoff: tuple) -> dict:
    """The rho-based estimates of one checkpoint from the sum ``s`` (D, D) of ``m``
    trajectories (``alive`` of them not leaked, ``local`` their summed local purities),
    with BLAS on one thread (the same bits in any process)."""
    with single_threaded_blas():
        obs = bipartite_observables(s / m, cutoff)
        out = {name: obs[name] for name in _FROM_RHO}
        sa, sb = reduced_states(s, cutoff)
        loc = np.array([float(np.sum(np.abs(x) ** 2)) for x in (sa, sb)])
        tr_s2 = float(np.sum(np.abs(s) ** 2))
    if m > 1:
        denom = m * (m - 1.0)
        out["purity"] = (tr_s2 - alive) / denom
        out["local_purity"] = (loc - local) / denom
    else:
        out["purity"] = np.nan
        out["local_purity"] = np.full(2, np.nan)
    return out


@dataclasses.dataclass(frozen=True)
class NetworkRecords:
    r"""Per-trajectory records of a network at the checkpoints (rows: trajectories in chunk order).

    Counts are cumulative from collision 0 and *measurable*; ``n_mean`` and ``n2_mean``
    (of the conditional state) depend on the unravelling and are not measurable, only
    their averages are (``docs/MODEL.md``, Sec. 4). ``M`` trajectories, ``C`` checkpoints,
    ``J`` qubit branches (for ``c = 0``: 0 came in excited, 1 came in ground).

    Attributes
    ----------
    n_mean, n2_mean : ndarray of float64, shape (M, C, 2)
        :math:`\langle n_A\rangle_i, \langle n_B\rangle_i` and the second moments (0 after
        a leak).
    qubit_g, qubit_e : ndarray of int64, shape (M, C, J)
        Qubits that left in g, in e, by input branch.
    emissions, absorptions : ndarray of int64, shape (M, C, 2)
        Photons emitted into and absorbed from each cavity's bath (an absorption out of a
        top level, which ends the trajectory, counts).
    alive : ndarray of bool, shape (M,)
        False for a trajectory whose weight left the kept levels.
    """

    n_mean: np.ndarray
    n2_mean: np.ndarray
    qubit_g: np.ndarray
    qubit_e: np.ndarray
    emissions: np.ndarray
    absorptions: np.ndarray
    alive: np.ndarray


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(NetworkRecords))


@dataclasses.dataclass(frozen=True, repr=False)
class NetworkEnsemble:
    r"""Estimates from ``M`` trajectories of a network at the checkpoints ``k``.

    Energies in units of :math:`\hbar\omega`, entropies and information in nats; per-cavity
    arrays have a last axis of length 2 (A, B). ``C`` checkpoints, ``R`` of them keeping the
    joint density matrix (``rho_k``), ``D = N_A N_B``.

    Attributes
    ----------
    model : Network
        The model.
    k : ndarray of int64, shape (C,)
        The checkpoints.
    n_trajectories : int
        M.
    seed : int
        The root seed (drawn when the run's seed was None): the run can be replayed.
    chunk_size : int
        Trajectories per chunk.
    jackknife_groups : int
        Groups of chunks of the jackknife errors (G).
    energy, n2 : Estimate
        :math:`\langle n_X\rangle`, :math:`\langle n_X^2\rangle`, shape (C, 2): means and
        standard errors over the per-trajectory values.
    fano : Estimate
        Fano factor of each cavity, shape (C, 2), jackknife errors (NaN at zero energy).
    total_energy : Estimate
        :math:`\langle n_A + n_B\rangle`, shape (C,).
    p_excited : Estimate
        Cumulative number of qubits that left in e, shape (C,).
    leakage : ndarray of float64, shape (C,)
        Mean cumulative weight lost through the cutoffs.
    rho_k : ndarray of int64, shape (R,)
        The checkpoints keeping rho.
    rho : ndarray of complex128, shape (R, D, D)
        :math:`\hat\rho = S/M`, natural basis ``a N_B + b``.
    purity, entropy, ergotropy, collective_ergotropy, log_negativity, mutual_information : Estimate
        Of the joint state, shape (R,), jackknife errors (purity unbiased).
    local_purity, local_entropy, local_ergotropy : Estimate
        Of each reduced state, shape (R, 2) (local purity unbiased).
    records : NetworkRecords or None
        Per-trajectory records (None when not kept).
    sampler : str
        The jump-time sampler: ``"mixture"`` (mixture of exponentials).
    wall_seconds : float
        Wall-clock time of the run.
    """

    model: Network
    k: np.ndarray
    n_trajectories: int
    seed: int
    chunk_size: int
    jackknife_groups: int
    energy: Estimate
    n2: Estimate
    fano: Estimate
    total_energy: Estimate
    p_excited: Estimate
    leakage: np.ndarray
    rho_k: np.ndarray
    rho: np.ndarray
    purity: Estimate
    entropy: Estimate
    ergotropy: Estimate
    collective_ergotropy: Estimate
    log_negativity: Estimate
    mutual_information: Estimate
    local_purity: Estimate
    local_entropy: Estimate
    local_ergotropy: Estimate
    records: NetworkRecords | None
    sampler: str = "mixture"
    wall_seconds: float = 0.0

    def __repr__(self) -> str:
        e = self.energy.mean[-1]
        return (
            f"NetworkEnsemble({self.model.topology}, trajectories={self.n_trajectories}, "
            f"checkpoints={self.k.size}, rho at {self.rho_k.size}, k_last={int(self.k[-1])}, "
            f"energy=({e[0]:.6g}, {e[1]:.6g}), sampler={self.sampler!r})"
        )


class _Moments:
    """Running mean and sum of squared deviations over trajectories (Chan et al. merge)."""

    def __init__(self) -> None:
        self.n = 0.0
        self.mean: np.ndarray | float = 0.0
        self.m2: np.ndarray | float = 0.0

    def add(self, x: np.ndarray) -> None:
        n_b = float(x.shape[0])
        mean_b = x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        delta = mean_b - self.mean
        total = self.n + n_b
        self.mean = self.mean + delta * (n_b / total)
        self.m2 = self.m2 + m2_b + delta**2 * (self.n * n_b / total)
        self.n = total

    def estimate(self) -> Estimate:
        mean = np.asarray(self.mean, dtype=np.float64)
        if self.n > 1:
            se = np.sqrt(np.asarray(self.m2) / (self.n - 1.0) / self.n)
        else:
            se = np.full(mean.shape, np.nan)
        return Estimate(mean, se)


class NetworkAccumulator:
    """Reduces :class:`~trajectories.solvers.montecarlo.network_kernel.NetworkChunk` objects,
    in chunk order, into a :class:`NetworkEnsemble`.

    Parameters
    ----------
    model : Network
        The model.
    checkpoints : ndarray of int64, shape (C,)
        The checkpoints.
    rho_index : ndarray of int64, shape (R,)
        Indices into ``checkpoints`` of those keeping rho.
    n_chunks : int
        Chunks planned.
    jackknife_groups : int
        Groups wanted; ``min(n_chunks, jackknife_groups)`` are used.
    n_trajectories : int
        Trajectories planned (the capacity of the records).
    keep_records : bool
        Keep the per-trajectory records.

    Attributes
    ----------
    groups : int
        Jackknife groups used.
    next_index : int
        The chunk expected next.
    """

    def __init__(
        self,
        model: Network,
        checkpoints: np.ndarray,
        rho_index: np.ndarray,
        n_chunks: int,
        jackknife_groups: int,
        n_trajectories: int,
        keep_records: bool,
    ):
        self.model = model
        self.k = checkpoints
        self.rho_index = rho_index
        self.groups = max(1, min(n_chunks, jackknife_groups))
        g, r, c, d = self.groups, rho_index.size, checkpoints.size, model.dimension
        self.s = np.zeros((g, r, d, d), dtype=np.complex128)
        self.local = np.zeros((g, r))
        self.m = np.zeros(g, dtype=np.int64)
        self.alive = np.zeros((g, c), dtype=np.int64)
        self.sum_n = np.zeros((g, c, 2))
        self.sum_n2 = np.zeros((g, c, 2))
        self.leak = np.zeros(c)
        self.moments = {name: _Moments() for name in ("energy", "n2", "total", "p_excited")}
        self.capacity = n_trajectories
        self.keep_records = keep_records
        self.records: dict[str, np.ndarray] = {}
        self.filled = 0
        self.next_index = 0
        self._pending: dict[int, NetworkChunk] = {}

    def offer(self, chunk: NetworkChunk, check: Callable[[NetworkAccumulator], None]) -> None:
        """Take a chunk in any order; add every chunk that is next, calling ``check`` after each.

        Parameters
        ----------
        chunk : NetworkChunk
            A finished chunk.
        check : callable
            Called with the accumulator after each chunk added (it may raise, e.g. a
            :class:`~trajectories.errors.TruncationError`).
        """
        self._pending[chunk.index] = chunk
        while self.next_index in self._pending:
            self._add(self._pending.pop(self.next_index))
            check(self)

    def _add(self, chunk: NetworkChunk) -> None:
        g = chunk.index % self.groups
        if self.rho_index.size:
            self.s[g] += chunk.rho_sum
            self.local[g] += chunk.local_purity
        self.m[g] += chunk.n_trajectories
        self.alive[g] += chunk.n_alive
        self.sum_n[g] += chunk.n_mean.sum(axis=0)
        self.sum_n2[g] += chunk.n2_mean.sum(axis=0)
        self.leak += chunk.leak
        self.moments["energy"].add(chunk.n_mean)
        self.moments["n2"].add(chunk.n2_mean)
        self.moments["total"].add(chunk.n_mean.sum(axis=2))
        self.moments["p_excited"].add(chunk.qubit_e.sum(axis=2).astype(np.float64))
        if self.keep_records:
            if not self.records:
                for name in _RECORD_FIELDS:
                    a = getattr(chunk, name)
                    self.records[name] = np.empty((self.capacity,) + a.shape[1:], dtype=a.dtype)
            lo, hi = self.filled, self.filled + chunk.n_trajectories
            for name in _RECORD_FIELDS:
                self.records[name][lo:hi] = getattr(chunk, name)
        self.filled += chunk.n_trajectories
        self.next_index += 1

    @property
    def n_trajectories(self) -> int:
        """Trajectories added so far."""
        return int(self.m.sum())

    def mean_leakage(self) -> np.ndarray:
        """Mean cumulative weight lost through the cutoffs so far.

        Returns
        -------
        ndarray of float64, shape (C,)
            At each checkpoint.
        """
        return self.leak / max(self.n_trajectories, 1)

    def _rho_estimates(self, n_jobs: int, backend: str) -> tuple[dict, list | None]:
        """The rho-based estimates from all the trajectories and with each group left out.

        ``(G + 1) R`` evaluations of :func:`~trajectories.bipartite.bipartite_observables`
        (two ``D x D`` eigendecompositions each), spread over ``n_jobs`` workers when more
        than one; each runs BLAS on one thread, so the numbers do not depend on ``n_jobs``.
        """
        ri = self.rho_index
        cutoff = self.model.cutoff
        sizes = self.m.astype(float)
        s_tot = self.s.sum(axis=0)
        local_tot = self.local.sum(axis=0)
        alive_tot = self.alive.sum(axis=0)[ri].astype(float)
        m_tot = float(sizes.sum())
        jack = self.groups > 1
        sets = [(None, m_tot)]
        if jack:
            sets += [(g, m_tot - sizes[g]) for g in range(self.groups)]

        def tasks():
            for g, m in sets:
                for r in range(ri.size):
                    if g is None:
                        yield delayed(_rho_point)(s_tot[r], local_tot[r], m, alive_tot[r], cutoff)
                    else:
                        yield delayed(_rho_point)(
                            s_tot[r] - self.s[g, r], local_tot[r] - self.local[g, r], m,
                            alive_tot[r] - self.alive[g, ri[r]], cutoff,
                        )  # fmt: skip

        if n_jobs == 1:
            points = [f(*args, **kw) for f, args, kw in tasks()]
        else:  # in order (the tasks' arguments made one by one, as workers take them)
            points = Parallel(n_jobs=n_jobs, backend=backend, return_as="list")(tasks())
        names = (*_FROM_RHO, "purity", "local_purity")
        shape = {n: (ri.size, 2) if n.startswith("local") else (ri.size,) for n in names}
        per_set = [
            {n: np.array([points[k * ri.size + r][n] for r in range(ri.size)],
                         dtype=np.float64).reshape(shape[n])
             for n in names}
            for k in range(len(sets))
        ]  # fmt: skip
        return per_set[0], (per_set[1:] if jack else None)

    def result(
        self, *, seed: int, chunk_size: int, wall_seconds: float, n_jobs: int = 1,
        backend: str = "loky",
    ) -> NetworkEnsemble:  # fmt: skip
        """The :class:`NetworkEnsemble` of the chunks added.

        Parameters
        ----------
        seed : int
            The run's root seed.
        chunk_size : int
            Trajectories per chunk.
        wall_seconds : float
            Wall-clock time of the run.
        n_jobs : int, optional
            Workers for the rho-based estimates (the numbers do not depend on it).
        backend : str, optional
            Their joblib backend.

        Returns
        -------
        NetworkEnsemble
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._result(seed, chunk_size, wall_seconds, n_jobs, backend)

    def _result(
        self, seed: int, chunk_size: int, wall_seconds: float, n_jobs: int, backend: str
    ) -> NetworkEnsemble:
        m_tot = float(self.m.sum())
        sizes = self.m.astype(float)
        n_tot, n2_tot = self.sum_n.sum(axis=0), self.sum_n2.sum(axis=0)
        fano = fano_from_moments(n_tot / m_tot, n2_tot / m_tot)
        fano_lo = np.array([
            fano_from_moments((n_tot - self.sum_n[g]) / (m_tot - sizes[g]),
                              (n2_tot - self.sum_n2[g]) / (m_tot - sizes[g]))
            for g in range(self.groups)
        ])  # fmt: skip
        ri = self.rho_index
        s_tot = self.s.sum(axis=0)
        full, lo = self._rho_estimates(n_jobs, backend)
        if not ri.size:
            lo = None
        est = {}
        for name, value in full.items():
            if lo is None:
                err = np.full(value.shape, np.nan)
            else:
                err = jackknife(value, np.array([x[name] for x in lo]), sizes)
            est[name] = Estimate(value, err)
        records = (
            NetworkRecords(**{n: a[: self.filled] for n, a in self.records.items()})
            if self.keep_records and self.records
            else None
        )
        mom = self.moments
        return NetworkEnsemble(
            model=self.model,
            k=self.k,
            n_trajectories=int(m_tot),
            seed=seed,
            chunk_size=chunk_size,
            jackknife_groups=self.groups,
            energy=mom["energy"].estimate(),
            n2=mom["n2"].estimate(),
            fano=Estimate(fano, jackknife(fano, fano_lo, sizes)),
            total_energy=mom["total"].estimate(),
            p_excited=mom["p_excited"].estimate(),
            leakage=self.mean_leakage(),
            rho_k=self.k[ri],
            rho=s_tot / m_tot,
            records=records,
            wall_seconds=wall_seconds,
            **est,
        )
