r"""The ensemble accumulator: reduction of chunks in order, estimators, and the stop.

Chunks are reduced *in chunk order*, so the numbers do not depend on how the chunks were
scheduled. Chunks are dealt into ``G`` jackknife groups (chunk ``c`` goes to group
``c mod G``); the groups' sums are what the nonlinear estimators need, so memory is
``G x (rho checkpoints) x N^2`` whatever the number of trajectories. The estimators are
those of ``docs/MODEL.md``, Sec. 5, described in
:mod:`trajectories.solvers.montecarlo.result`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import observables as obs
from ...model.micromaser import Micromaser
from .chunks import ChunkResult
from .reductions import ChunkSums, CountHistograms
from .result import _RECORDS, EnsembleResult, Estimate, PerTrajectory, jackknife

__all__ = ["EnsembleAccumulator"]


class EnsembleAccumulator:
    """Reduces :class:`ChunkResult` objects, in chunk order, into an :class:`EnsembleResult`,
    and decides when the run stops.

    :meth:`add` takes the next chunk in index order. :meth:`offer` takes chunks in any order
    (or loaders of saved ones), adds every chunk that is next, and checks the end conditions
    after each one added: the leakage tolerance (raises
    :class:`~trajectories.errors.TruncationError`), the conditions of
    :meth:`add_end_condition` (e.g. :meth:`stop_at_stderr`) and the deadline of
    :meth:`stop_at_deadline`. ``stop_reason`` says why it stopped (None while it runs).
    Deciding on the ordered prefix makes the stopping chunk the same whatever the order
    chunks arrive in (the number of workers, the backend).

    Parameters
    ----------
    model : Micromaser
        The model of the run (its cutoff N sizes the rho sums).
    checkpoints : ndarray of int64, shape (C,)
        The checkpoints (collision counts).
    rho_index : ndarray of int64, shape (R,)
        Indices into ``checkpoints`` of those that keep rho.
    n_chunks : int
        Chunks planned; the run stops (``"n_trajectories"``) once all are added.
    jackknife_groups : int
        Jackknife groups G wanted; ``min(n_chunks, jackknife_groups)`` are used (at least 1).
    n_trajectories : int
        Trajectories planned: the capacity of the per-trajectory records.
    record_index : ndarray of int64, shape (C',), optional
        Indices into ``checkpoints`` of the per-trajectory records kept (default None:
        all); empty: none kept (the result's ``per_trajectory`` is then None). The
        reductions (estimators, count histograms) cover every checkpoint either way.

    Attributes
    ----------
    stop_reason : str or None
        ``"n_trajectories"``, ``"target_stderr"`` or ``"timeout"`` once stopped, else None.
    n_chunks : int
        Chunks added so far.
    groups : int
        Jackknife groups used.
    record_sink : callable or None
        When set, ``record_sink(chunk, first)`` receives each added chunk's kept records
        (``first``: the index of its first trajectory) instead of this object keeping them
        in memory (a run streaming its records to disk); the result's ``per_trajectory``
        is then None.
    chunk_added : callable or None
        When set, ``chunk_added(chunk)`` is called after each chunk is added (in order),
        once the reduction holds it: a run's store saves the state there.
    """

    def __init__(
        self,
        model: Micromaser,
        checkpoints: np.ndarray,
        rho_index: np.ndarray,
        n_chunks: int,
        jackknife_groups: int,
        n_trajectories: int,
        record_index: np.ndarray | None = None,
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
        self.record_index = None if record_index is None else np.asarray(record_index, np.int64)
        self.record_sink: Callable[[ChunkResult, int], None] | None = None
        self.chunk_added: Callable[[ChunkResult], None] | None = None
        self.filled = 0  # trajectories added (the rows of the records, when kept)
        self.leaked = 0
        self.counts = CountHistograms.empty(c)
        self.n_chunks = 0
        self.next_index = 0
        self.planned_chunks = n_chunks
        self.stop_reason: str | None = None
        self._pending: dict[int, ChunkResult | Callable[[], ChunkResult]] = {}
        self._conditions: list[Callable[[EnsembleAccumulator], str | None]] = []
        self._leakage: tuple[float, Callable[[np.ndarray], Exception]] | None = None
        self._deadline: float | None = None
        #: the protocol simulated (None: a single model) and the stage of each checkpoint
        self.protocol: Any = None
        self.stage = np.zeros(checkpoints.size, dtype=np.int64)
        self._book_moments: dict | None = {}

    @property
    def n_trajectories(self) -> int:
        """Trajectories added so far."""
        return int(self.m.sum())

    def add(self, chunk: ChunkResult) -> None:
        """Add the next chunk; chunks must come in index order.

        Parameters
        ----------
        chunk : ChunkResult
            The chunk with index ``next_index``.

        Raises
        ------
        ValueError
            When the chunk is out of order, or brings more trajectories than announced.
        """
        if chunk.index != self.next_index:
            raise ValueError(
                f"chunk {chunk.index} arrived out of order (expected {self.next_index})"
            )
        g = chunk.index % self.groups
        sums = chunk.sums
        assert sums is not None  # ChunkResult computes them
        if chunk.rho_sum.shape[0]:
            self.s[g] += chunk.rho_sum
        self.m[g] += chunk.n_trajectories
        self.alive[g] += chunk.n_alive
        self.sum_n[g] += sums.sum_n
        self.sum_n2[g] += sums.sum_n2
        self.leak += chunk.leak_expected
        self.leaked += sums.leaked
        self.counts = self.counts.merge(sums.counts)
        self._merge_energy_moments(sums, chunk.n_trajectories)
        self._merge_books(sums, chunk.n_trajectories)
        lo, hi = self.filled, self.filled + chunk.n_trajectories
        if hi > self.capacity:
            raise ValueError(f"more trajectories than the {self.capacity} announced")
        if self.keeps_records:
            self._keep_records(chunk, lo, hi)
        self.filled = hi
        self.n_chunks += 1
        self.next_index += 1
        if self.chunk_added is not None:
            self.chunk_added(chunk)

    @property
    def keeps_records(self) -> bool:
        """Whether per-trajectory records are kept (here or by the :attr:`record_sink`)."""
        return self.record_index is None or self.record_index.size > 0

    def _keep_records(self, chunk: ChunkResult, lo: int, hi: int) -> None:
        """Copy the chunk's kept records into place (or hand them to the sink)."""
        if not chunk.has_records:
            raise ValueError(f"chunk {chunk.index} carries no per-trajectory records")
        chunk = chunk.kept(self.record_index) if chunk.fock.shape[1] == self.k.size else chunk
        if self.record_sink is not None:
            self.record_sink(chunk, lo)
            return
        if not self.records:  # preallocated on the first chunk; the chunk can then be dropped
            for name in _RECORDS:
                a = getattr(chunk, name)
                self.records[name] = np.empty((self.capacity,) + a.shape[1:], dtype=a.dtype)
        for name in _RECORDS:
            self.records[name][lo:hi] = getattr(chunk, name)

    # ------------------------------------------------------------ saved state
    _STATE_ARRAYS = ("s", "m", "alive", "sum_n", "sum_n2", "leak", "e_mean", "e_m2")
    _STATE_INTS = ("filled", "leaked", "n_chunks", "next_index")

    def state(self) -> dict[str, np.ndarray]:
        """Everything the reduction holds, as arrays: what a resumed run restores.

        Its size is independent of the number of trajectories (``G x R x N^2`` rho sums,
        the histograms, a few arrays over the checkpoints); the in-memory records are not
        part of it (a run that resumes keeps its records where its store puts them).

        Returns
        -------
        dict of str to ndarray
            Copies of the reduction's arrays (``.npz``-ready).
        """
        out = {f"acc_{name}": np.array(getattr(self, name)) for name in self._STATE_ARRAYS}
        for name in self._STATE_INTS:
            out[f"acc_{name}"] = np.asarray(getattr(self, name), dtype=np.int64)
        out.update(self.counts.to_arrays())
        books = self._book_moments
        out["acc_books_state"] = np.asarray(-1 if books is None else len(books), np.int64)
        if books:
            out["acc_books"] = np.array([books[n] for n in ChunkSums.BOOK_NAMES])
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state` of an accumulator of the same run.

        Parameters
        ----------
        state : mapping of str to ndarray
            As :meth:`state` returned it (e.g. read back from an ``.npz``).

        Raises
        ------
        ValueError
            When the state's shapes do not match this run's.
        """
        for name in self._STATE_ARRAYS:
            a = np.asarray(state[f"acc_{name}"])
            if a.shape != np.shape(getattr(self, name)):
                raise ValueError(f"saved state: {name} has shape {a.shape}, this run's "
                                 f"{np.shape(getattr(self, name))}")  # fmt: skip
            setattr(self, name, a.astype(getattr(self, name).dtype, copy=True))
        for name in self._STATE_INTS:
            setattr(self, name, int(state[f"acc_{name}"]))
        self.counts = CountHistograms.from_arrays(state)
        n_books = int(state["acc_books_state"])
        if n_books < 0:
            self._book_moments = None
        elif n_books == 0:
            self._book_moments = {}
        else:
            books = np.asarray(state["acc_books"])
            self._book_moments = {
                n: (books[j, 0].copy(), books[j, 1].copy())
                for j, n in enumerate(ChunkSums.BOOK_NAMES)
            }
        self._pending = {i: c for i, c in self._pending.items() if i >= self.next_index}

    # ---------------------------------------------------------- stopping rules
    def add_end_condition(self, condition: Callable[[EnsembleAccumulator], str | None]) -> None:
        """Stop as soon as ``condition(self)`` returns a reason (checked after every chunk).

        Parameters
        ----------
        condition : callable
            Called with the accumulator after each chunk added; returns the reason to
            stop (a string, stored as ``stop_reason``) or None to go on.
        """
        self._conditions.append(condition)

    def stop_at_stderr(self, target_stderr: float, target: str, min_chunks: int) -> None:
        """Stop once the largest standard error of ``target`` is small enough.

        Parameters
        ----------
        target_stderr : float
            The largest standard error over the checkpoints to reach (in the observable's
            unit: photons for the energy).
        target : {"energy", "purity", "fano", "ergotropy"}
            The observable.
        min_chunks : int
            Never stop before this many chunks (reason ``"target_stderr"``).
        """

        def met(acc: EnsembleAccumulator) -> str | None:
            if acc.n_chunks < min_chunks:
                return None
            se = acc.stderr(target)
            ok = bool(np.all(np.isfinite(se))) and float(np.max(se)) <= target_stderr
            return "target_stderr" if ok else None

        self.add_end_condition(met)

    def stop_at_deadline(self, deadline: float) -> None:
        """Stop after the chunk offered when ``time.perf_counter()`` has passed ``deadline``.

        The reason is ``"timeout"``; the stopping chunk is not reproducible: it depends on
        the machine's speed.

        Parameters
        ----------
        deadline : float
            A ``time.perf_counter()`` value, in seconds.
        """
        self._deadline = deadline

    def fail_above_leakage(
        self, tolerance: float, error: Callable[[np.ndarray], Exception]
    ) -> None:
        """Fail as soon as the running estimate of the leaked population exceeds ``tolerance``.

        Parameters
        ----------
        tolerance : float
            Largest mean population lost through the cutoff at the last checkpoint.
        error : callable
            Called with the mean leakage per checkpoint (shape (C,)); the exception it
            returns is raised.
        """
        self._leakage = (tolerance, error)

    def offer(self, chunk: ChunkResult | None = None, *, index: int | None = None,
              load: Callable[[], ChunkResult] | None = None) -> bool:  # fmt: skip
        """Take a chunk, add every chunk that is next in order, and say whether to stop.

        Parameters
        ----------
        chunk : ChunkResult, optional
            A finished chunk.
        index : int, optional
            With ``load``, instead of ``chunk``: the index of a saved chunk.
        load : callable, optional
            Returns the saved chunk ``index``; called only when its turn comes.

        Returns
        -------
        bool
            True once the run should stop (``stop_reason`` set).

        Raises
        ------
        Exception
            The one built by :meth:`fail_above_leakage`'s ``error`` (a
            :class:`~trajectories.errors.TruncationError` in
            :func:`~trajectories.solvers.montecarlo.simulate.simulate`).
        """
        if chunk is not None:
            self._pending[chunk.index] = chunk
        elif index is not None and load is not None:
            self._pending[index] = load
        while self.stop_reason is None and self.next_index in self._pending:
            item = self._pending.pop(self.next_index)
            self.add(item if isinstance(item, ChunkResult) else item())
            if self._leakage is not None:
                tol, error = self._leakage
                leak = self.mean_leakage()
                if leak[-1] > tol:
                    raise error(leak)
            self.check_conditions()
        if self.stop_reason is None and self.next_index >= self.planned_chunks:
            self.stop_reason = "n_trajectories"
        if (
            self.stop_reason is None
            and chunk is not None
            and self._deadline is not None
            and time.perf_counter() > self._deadline
        ):
            self.stop_reason = "timeout"
        return self.stop_reason is not None

    def check_conditions(self) -> bool:
        """Check the end conditions of :meth:`add_end_condition` now (as after a chunk).

        :meth:`offer` does this after every chunk added; a run restored from a saved state
        (:meth:`restore`) does it once, so that it stops where the interrupted run stopped.

        Returns
        -------
        bool
            True once the run should stop (``stop_reason`` set).
        """
        for condition in self._conditions:
            reason = condition(self)
            if reason is not None:
                self.stop_reason = reason
                break
        return self.stop_reason is not None

    def _merge_books(self, sums: ChunkSums, n: int) -> None:
        """Running means and squared deviations of the energy books (as for the energy)."""
        if sums.books.shape[0] == 0:  # chunks saved without the books
            self._book_moments = None
            return
        if self._book_moments is None:
            return
        moments = self._book_moments
        n_a, n_b = float(self.filled), float(n)
        for name, (mean_b, m2_b) in zip(ChunkSums.BOOK_NAMES, sums.books, strict=True):
            mean, m2 = moments.get(name, (np.zeros(mean_b.shape), np.zeros(mean_b.shape)))
            delta = mean_b - mean
            total = n_a + n_b
            merged = m2 + m2_b + delta**2 * (n_a * n_b / total)
            moments[name] = (mean + delta * (n_b / total), merged)
        self._book_moments = moments

    def _merge_energy_moments(self, sums: ChunkSums, n: int) -> None:
        n_a, n_b = float(self.filled), float(n)
        mean_b, m2_b = sums.energy
        delta = mean_b - self.e_mean
        total = n_a + n_b
        self.e_mean = self.e_mean + delta * (n_b / total)
        self.e_m2 = self.e_m2 + m2_b + delta**2 * (n_a * n_b / total)

    def mean_leakage(self) -> np.ndarray:
        """Mean population lost through the cutoff per trajectory so far.

        Returns
        -------
        ndarray of float64, shape (C,)
            At each checkpoint.
        """
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
                obs.ergotropy_from_eigenvalues(e, obs.eigenvalues(r))
                for e, r in zip(energy, rho, strict=True)
            ]
        )

    @staticmethod
    def _fano(sum_n: np.ndarray, sum_n2: np.ndarray, m: float) -> np.ndarray:
        return obs.fano_from_moments(sum_n / m, sum_n2 / m)

    def stderr(self, name: str) -> np.ndarray:
        """Current standard error of an observable over the checkpoints.

        Parameters
        ----------
        name : {"energy", "purity", "fano", "ergotropy"}
            The observable.

        Returns
        -------
        ndarray of float64
            The standard errors where the estimate is finite (shape (C,) for the energy,
            at most C otherwise); ``[inf]`` when none is available yet.
        """
        if name == "energy":
            m = float(self.filled)
            return np.sqrt(self.e_m2 / (m - 1.0) / m) if m > 1 else np.full(self.k.size, np.inf)
        est = getattr(self.result(seed=0, chunk_size=0, n_jobs=1, backend="", seconds=0.0), name)
        se = est.stderr[np.isfinite(est.mean)]
        return se if se.size else np.full(1, np.inf)

    def result(self, **run_info: Any) -> EnsembleResult:
        """The :class:`EnsembleResult` of the chunks added so far.

        With a single jackknife group the leave-one-out sets are empty: their NaNs give NaN
        errors (as :func:`~trajectories.solvers.montecarlo.result.jackknife` does for
        ``G < 2``), silently.

        Parameters
        ----------
        **run_info
            ``seed``, ``chunk_size``, ``n_jobs``, ``backend``, ``seconds`` and optionally
            ``stop_reason``, ``streams`` and ``sampler``, stored in the result.

        Returns
        -------
        EnsembleResult
            Estimates at the C checkpoints, rho at the R kept ones, the records of the
            trajectories added.
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
        streams: str = "chunk",
        sampler: str = "root",
    ) -> EnsembleResult:
        m_tot = float(self.m.sum())
        s_tot = self.s.sum(axis=0)
        a_tot = self.alive.sum(axis=0)[self.rho_index].astype(float)
        n_tot, n2_tot = self.sum_n.sum(axis=0), self.sum_n2.sum(axis=0)
        c = self.k.size
        per = (
            PerTrajectory(**{name: a[: self.filled] for name, a in self.records.items()})
            if self.records
            else None
        )
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
        books = self._books(m_tot)
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
            leaked_trajectories=self.leaked,
            per_trajectory=per,
            record_index=(np.arange(c) if self.record_index is None else self.record_index.copy()),
            count_histograms=self.counts,
            jackknife_groups=self.groups,
            n_jobs=n_jobs,
            backend=backend,
            seconds=seconds,
            stop_reason=stop_reason,
            streams=streams,
            sampler=sampler,
            stage=self.stage,
            protocol=self.protocol,
            **books,
        )

    def _books(self, m: float) -> dict[str, Estimate]:
        """The energy books: means and standard errors over the trajectories."""
        moments = self._book_moments
        if not moments:
            return {}
        out = {}
        for name, (mean, m2) in moments.items():
            se = np.sqrt(m2 / (m - 1.0) / m) if m > 1 else np.full(mean.shape, np.nan)
            out[name] = Estimate(mean, se)
        return out
