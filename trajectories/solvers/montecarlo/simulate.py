"""``simulate``: run an ensemble of quantum trajectories in parallel, reproducibly.

Trajectories are split into fixed-size chunks; chunk ``i`` draws from
``SeedSequence(seed, spawn_key=(i,))``, runs in a joblib worker with BLAS pinned
to one thread, and returns sums plus per-trajectory records. Results come back
in chunk order (joblib's ordered generator) and are reduced in that order, so
the same ``(seed, chunk_size)`` gives bit-identical numbers for any ``n_jobs``
and any joblib backend (SPEC Sec. 6).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np
from joblib import Parallel, delayed

from ... import validation as _validation
from ..._threads import single_threaded_blas
from ...channels.collisions import collision_sequence
from ...channels.loss import LossChannel
from ...errors import TruncationError, warn_if_close
from ...model.micromaser import Micromaser
from ...model.states import as_density_matrix
from ...validation import (
    check_memory,
    checkpoint_array,
    checkpoint_count,
    collision_count,
    format_bytes,
    integer_at_least,
    real_in_range,
    show,
)
from ..exact import DEFAULT_LEAKAGE_TOL
from .chunks import ChunkResult, InitialStates, Plan, chunk_seed, run_chunk
from .kernel_inputs import KernelInputs
from .result import EnsembleAccumulator, EnsembleResult

__all__ = [
    "simulate",
    "StatisticsWarning",
    "DEFAULT_JACKKNIFE_GROUPS",
    "check_simulate_memory",
]

#: Jackknife groups for the nonlinear estimators (SPEC Sec. 4: at least 20).
DEFAULT_JACKKNIFE_GROUPS = 20
#: Number of evenly spaced checkpoints when none are given.
DEFAULT_CHECKPOINTS = 101
#: Above this estimated memory for records and rho sums, warn before starting.
MEMORY_WARNING_BYTES = 2 * 2**30
_MAX_DEFAULT_CHUNK = 500


_TARGETS = ("energy", "purity", "fano", "ergotropy")
#: one chunk per task, at most two tasks queued per worker: chunks are already the
#: unit of work, and an adaptive stop then cancels little
_DISPATCH = {"batch_size": 1, "pre_dispatch": "2*n_jobs"}

#: optional backends: name -> (module to import, extra to install)
_EXTRA_BACKENDS = {"dask": ("distributed", "dask"), "ray": ("ray", "ray")}


def _check_backend(backend: str, n_jobs: int) -> None:
    """Clear one-line errors for backends whose optional dependencies are missing."""
    if backend not in _EXTRA_BACKENDS or n_jobs == 1:
        return
    module, extra = _EXTRA_BACKENDS[backend]
    try:
        __import__(module)
    except ImportError:
        raise ValueError(
            f"backend={backend!r} needs the {extra} extra: pip install "
            f"'micromaser-trajectories[{extra}]'"
        ) from None
    if backend == "dask":
        from distributed import get_client

        try:
            get_client()
        except ValueError:
            raise ValueError(
                "backend='dask' needs a dask Client: create one first, e.g. "
                "Client('tcp://scheduler:8786') or Client(LocalCluster(n_workers=2))"
            ) from None
    if backend == "ray":
        from ray.util.joblib import register_ray

        register_ray()


class StatisticsWarning(UserWarning):
    """The run's error bars are themselves unreliable (too few trajectories or chunks)."""


def default_chunk_size(n_trajectories: int, groups: int = DEFAULT_JACKKNIFE_GROUPS) -> int:
    """At least ``2 * groups`` chunks when possible, at most 500 trajectories per chunk."""
    return max(1, min(_MAX_DEFAULT_CHUNK, -(-n_trajectories // (2 * groups))))


def _seed_entropy(seed: object) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            raise ValueError("seed must be a root SeedSequence (no spawn_key)")
        return int(seed.entropy)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"seed must be a non-negative integer, a numpy SeedSequence or None, "
            f"got {seed!r} ({type(seed).__name__})"
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def _rho_index(rho_checkpoints: object, ks: np.ndarray) -> np.ndarray:
    if rho_checkpoints is None or (isinstance(rho_checkpoints, str) and rho_checkpoints == "all"):
        return np.arange(ks.size)
    if isinstance(rho_checkpoints, str):
        if rho_checkpoints == "last":
            return np.array([ks.size - 1])
        if rho_checkpoints == "none":
            return np.array([], dtype=np.int64)
        raise ValueError(
            f"rho_checkpoints must be 'all', 'last', 'none' or a subset of checkpoints, "
            f"got {rho_checkpoints!r}"
        )
    try:
        want = checkpoint_array(rho_checkpoints, int(ks[-1]))
    except ValueError as err:
        raise ValueError(f"rho_checkpoints: {err}") from None
    missing = np.setdiff1d(want, ks)
    if missing.size:
        raise ValueError(f"rho_checkpoints {missing.tolist()} are not among the checkpoints")
    return np.searchsorted(ks, want)


def _rho_count(rho_checkpoints: object, n_checkpoints: int | None) -> int | None:
    """How many checkpoints keep rho, without materialising ``rho_checkpoints``."""
    if rho_checkpoints is None or (isinstance(rho_checkpoints, str) and rho_checkpoints == "all"):
        return n_checkpoints
    if isinstance(rho_checkpoints, str):
        return {"last": 1, "none": 0}.get(rho_checkpoints, 0)  # others: refused later
    return checkpoint_count(rho_checkpoints, 0)


def _record_bytes(n_branches: int) -> int:
    """Bytes of per-trajectory records per checkpoint: <n>, <n^2> (8 each), a Fock sample,
    emissions, absorptions (4 each) and the qubit counts (4 per branch, g and e)."""
    return 28 + 8 * n_branches


def check_simulate_memory(
    model: Micromaser,
    n_trajectories: int,
    n_checkpoints: int | None,
    n_rho: int | None,
    groups: int,
    max_jumps: int = 0,
    rho_shown: str | None = None,
) -> None:
    """Refuse, before any allocation, a run that cannot fit in this machine's memory.

    Lower bounds of what :func:`simulate` allocates, compared with
    :func:`~trajectories.validation.machine_memory`: dense ``N x N`` matrices for the set-up
    (initial density matrix and its eigenvectors, complex, and the loss channel's population
    block: ``40 N^2`` bytes); per trajectory, its records (``28 + 8 B`` bytes per
    checkpoint, ``B`` qubit branches) and ``9`` bytes per recorded jump time; the rho sums,
    ``16 N^2`` bytes per kept checkpoint for each of ``groups`` jackknife groups and the
    chunk being added. ``None`` counts (iterators) are not checked. The ``ValueError``
    names the parameter to change (``rho_shown``: how to show ``rho_checkpoints``) and the
    value allowed on this machine.
    """
    n = model.cutoff
    dense = 40 * n * n
    check_memory(
        "cutoff",
        str(n),
        dense,
        "the set-up's dense N x N matrices (40 N^2 bytes)",
        lambda limit: f"allowed on this machine: cutoff <= {math.isqrt(limit // 40)}",
    )
    branches = 2 if not model.qubit_is_pure else 1
    c = n_checkpoints or 0
    per_trajectory = c * _record_bytes(branches) + 9 * max_jumps + 9
    records = n_trajectories * per_trajectory
    rho = (groups + 1) * (n_rho or 0) * 16 * n * n
    needed = dense + records + rho
    limit = _validation.machine_memory() or math.inf
    if c * _record_bytes(branches) + 9 > limit - dense:
        name, shown = "checkpoints", f"<{c} checkpoints>"
        what = (
            f"the per-trajectory records ({_record_bytes(branches)} bytes per trajectory and "
            "checkpoint), even for one trajectory"
        )

        def allowed(limit: int) -> str:
            most = max(limit - dense - 9, 0) // _record_bytes(branches)
            return f"allowed on this machine: at most {most} checkpoints"
    elif 9 * max_jumps > limit - dense:
        name, shown = "max_jumps", show(max_jumps)
        what = "the recorded jump times (9 bytes per jump and trajectory), even for one trajectory"

        def allowed(limit: int) -> str:
            return f"allowed on this machine: max_jumps <= {max(limit - dense, 0) // 9}"
    elif rho > records:
        name, shown = "rho_checkpoints", rho_shown or f"<{n_rho} checkpoints>"
        what = (
            f"the rho sums ({groups} jackknife groups x {n_rho} checkpoints x {16 * n * n} "
            f"bytes at cutoff={n}) and {format_bytes(records)} of records"
        )

        def allowed(limit: int) -> str:
            most = max(limit - dense - records, 0) // ((groups + 1) * 16 * n * n)
            return (
                f"allowed on this machine at cutoff={n}: at most {most} checkpoints keeping "
                "rho ('last' keeps one, 'none' none)"
            )
    else:
        name, shown = "n_trajectories", show(n_trajectories)
        what = (
            f"the per-trajectory records ({per_trajectory} bytes each: {c} checkpoints, "
            f"max_jumps={max_jumps}) and {format_bytes(rho)} of rho sums"
        )

        def allowed(limit: int) -> str:
            most = max(limit - dense - rho, 0) // per_trajectory
            return f"allowed on this machine: n_trajectories <= {most} with these checkpoints"

    check_memory(name, shown, needed, what, allowed)


def _parallel_unordered(n_jobs: int, backend: str) -> Parallel:
    """A joblib ``Parallel`` yielding results as they finish, where the backend can.

    Chunks are saved as they arrive and reduced in index order by the caller, so the
    arrival order never reaches the numbers. Backends that cannot stream (e.g.
    ``"multiprocessing"``) return one ordered list at the end.
    """
    from joblib import parallel_config

    with parallel_config(backend=backend):  # external backends (dask, ray) register here
        for mode in ("generator_unordered", "generator"):
            try:
                return Parallel(n_jobs=n_jobs, return_as=mode, **_DISPATCH)
            except ValueError as err:
                if "return_as" not in str(err):
                    raise
        return Parallel(n_jobs=n_jobs, return_as="list", **_DISPATCH)


class ChunkStore(Protocol):
    """Where finished chunks are kept, so an interrupted run can resume (see trajectories.io)."""

    def completed(self, size_of: Callable[[int], int] | None = None) -> set[int]:
        """Indices of the chunks already saved and intact (``size_of(i)``: the number of
        trajectories chunk ``i`` must hold)."""

    def load(self, index: int) -> ChunkResult:
        """A saved chunk."""

    def save(self, chunk: ChunkResult) -> None:
        """Save a finished chunk (atomically)."""


def _progress_callback(
    progress: bool | Callable[[int, int], None], total: int
) -> Callable[[int, int], None] | None:
    if callable(progress):
        return progress
    if progress:
        from ...progress import ProgressBar

        return ProgressBar(total, unit="trajectories")
    return None


def simulate(
    model: Micromaser,
    n_collisions: int,
    n_trajectories: int,
    *,
    seed: int | np.random.SeedSequence | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    chunk_size: int | None = None,
    checkpoints: Iterable[int] | None = None,
    initial_state: np.ndarray | None = None,
    rho_checkpoints: Iterable[int] | str | None = None,
    max_jumps: int = 0,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    jackknife_groups: int = DEFAULT_JACKKNIFE_GROUPS,
    progress: bool | Callable[[int, int], None] = False,
    store: ChunkStore | None = None,
    target_stderr: float | None = None,
    target: str = "energy",
    timeout: float | None = None,
) -> EnsembleResult:
    r"""Run ``n_trajectories`` quantum trajectories of ``n_collisions`` collisions each.

    Each trajectory is a state vector evolved through sampled qubit outcomes and
    exact jump/no-jump loss intervals (SPEC Sec. 2.3); the ensemble average of
    :math:`|\psi\rangle\langle\psi|` equals the exact :math:`\rho(k)` of
    :func:`~trajectories.solve_exact`, up to statistical error only.

    Parameters
    ----------
    model : Micromaser
    n_collisions : int
        Collisions per trajectory, ``>= 0``.
    n_trajectories : int
        Number of trajectories, ``>= 1``.
    seed : int, SeedSequence or None
        Root seed; ``None`` draws fresh entropy (stored in the result as ``seed``).
    n_jobs : int
        joblib workers (``-1``: all cores). Results do not depend on it.
    backend : str
        joblib backend (``"loky"``, ``"multiprocessing"``, ``"threading"``, or a
        registered one such as ``"dask"``). Results do not depend on it.
    chunk_size : int, optional
        Trajectories per chunk (the unit of work and of reproducibility); default
        gives at least 40 chunks, at most 500 trajectories each.
    checkpoints : iterable of int, optional
        Strictly increasing collision counts in ``[0, n_collisions]``; default 101
        evenly spaced ones (every collision when ``n_collisions <= 100``). Records cost
        about 40 bytes per trajectory per checkpoint.
    initial_state : array, optional
        Vector ``(N,)`` or density matrix ``(N, N)``, validated; a mixed state is
        sampled from its eigendecomposition per trajectory. Default: vacuum.
    rho_checkpoints : "all", "last", "none" or iterable of int
        Checkpoints at which the density matrix is rebuilt (needed for purity and
        ergotropy). Memory: ``jackknife_groups x len(rho_checkpoints) x N^2`` complex.
    max_jumps : int
        Capacity for recorded jump times per trajectory (0: none recorded; counts
        are always kept; overflow is flagged in ``per_trajectory.jumps_overflow``).
    leakage_tol : float
        Largest expected population lost through the cutoff; above it,
        :class:`~trajectories.errors.TruncationError`.
    jackknife_groups : int
        Groups for jackknife errors of purity, Fano factor and ergotropy (>= 2).
    progress : bool or callable
        ``True``: one progress bar over chunks on stderr (trajectories done, rate,
        time left; plain periodic lines when stderr is not a terminal). A callable
        is called as ``progress(trajectories_done, n_trajectories)`` after each chunk.
    store : ChunkStore, optional
        Saves each chunk as it finishes and supplies the chunks saved by an earlier,
        interrupted run with the same settings; only the missing ones are computed
        (with their original seeds), so the result is bit-identical to an
        uninterrupted run. See :class:`trajectories.io.ChunkDirectory`.
    target_stderr : float, optional
        Adaptive stopping: add chunks until the largest standard error of the
        observable ``target`` over the checkpoints is at most this, then stop
        (``n_trajectories`` is then the maximum). The decision is taken on the
        ordered prefix of finished chunks, never before ``jackknife_groups`` chunks,
        so the same seed and chunk size stop at the same chunk on any backend.
        Stopping on an estimated error biases the estimate slightly (runs whose
        error happened to come out small stop early); the bias is of the order of
        the error's own uncertainty, ~``target_stderr / sqrt(2 x chunks)``.
    target : {"energy", "purity", "fano", "ergotropy"}
        The observable ``target_stderr`` refers to.
    timeout : float, optional
        Wall-clock limit in seconds: stop after the chunk during which it passed;
        the result holds the ordered prefix of chunks finished by then (valid, but
        not reproducible: it depends on the machine's speed).

    Returns
    -------
    EnsembleResult
    """
    # ---- validate everything before any work
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    n_collisions = collision_count("n_collisions", n_collisions)
    n_trajectories = integer_at_least("n_trajectories", n_trajectories, 1)
    entropy = _seed_entropy(seed)
    if (
        isinstance(n_jobs, (bool, np.bool_))
        or not isinstance(n_jobs, (int, np.integer))
        or n_jobs == 0
    ):
        raise ValueError(f"n_jobs must be a non-zero integer (-1: all cores), got {n_jobs!r}")
    if not isinstance(backend, str):
        raise ValueError(f"backend must be the name of a joblib backend, got {backend!r}")
    jackknife_groups = integer_at_least("jackknife_groups", jackknife_groups, 2)
    chunk_size = (
        default_chunk_size(n_trajectories, jackknife_groups)
        if chunk_size is None
        else integer_at_least("chunk_size", chunk_size, 1)
    )
    max_jumps = integer_at_least("max_jumps", max_jumps, 0)
    n_chunks = -(-n_trajectories // chunk_size)  # integers: exact for any size
    n_branches = 2 if not model.qubit_is_pure else 1
    n_ck = (
        min(DEFAULT_CHECKPOINTS, n_collisions + 1)
        if checkpoints is None
        else checkpoint_count(checkpoints, n_collisions)
    )
    n_rho = _rho_count(rho_checkpoints, n_ck)
    if n_ck is not None and n_rho is not None and n_rho > n_ck:
        raise ValueError(
            f"rho_checkpoints has {n_rho} entries, more than the {n_ck} checkpoints; it must "
            "be 'all', 'last', 'none' or a subset of the checkpoints"
        )
    rho_shown = repr(rho_checkpoints) if isinstance(rho_checkpoints, str) else None
    check_simulate_memory(
        model, n_trajectories, n_ck, n_rho, min(n_chunks, jackknife_groups), max_jumps,
        rho_shown if rho_checkpoints is not None else "'all'",
    )  # fmt: skip
    if checkpoints is None:
        checkpoints = np.unique(np.linspace(0, n_collisions, DEFAULT_CHECKPOINTS).round())
        checkpoints = checkpoints.astype(np.int64)
    ks = checkpoint_array(checkpoints, n_collisions)
    rho_index = _rho_index(rho_checkpoints, ks)
    if leakage_tol != float("inf"):
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    if target_stderr is not None:
        target_stderr = real_in_range("target_stderr", target_stderr, 0.0, allowed="> 0")
        if target_stderr <= 0:
            raise ValueError(f"target_stderr must be > 0, got {target_stderr}")
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {_TARGETS}, got {target!r}")
    if target in ("purity", "ergotropy") and rho_index.size == 0:
        raise ValueError(f"target={target!r} needs rho_checkpoints other than 'none'")
    if timeout is not None:
        timeout = real_in_range("timeout", timeout, 0.0, allowed="> 0 (seconds)")
    rho0 = as_density_matrix(initial_state, model.cutoff)
    _check_backend(backend, n_jobs)

    def size_of(i: int) -> int:  # trajectories in chunk i (the last one may be short)
        return min(chunk_size, n_trajectories - i * chunk_size)

    groups = min(n_chunks, jackknife_groups)
    if groups < jackknife_groups and n_trajectories >= 2:
        warnings.warn(
            f"only {n_chunks} chunks for {jackknife_groups} jackknife groups: the error bars of "
            f"purity, Fano factor and ergotropy are themselves noisy; use chunk_size <= "
            f"{max(1, n_trajectories // jackknife_groups)}",
            StatisticsWarning,
            stacklevel=2,
        )
    estimate = n_trajectories * ks.size * _record_bytes(n_branches) + (
        min(n_chunks, jackknife_groups) * rho_index.size * model.cutoff**2 * 16
    )
    if estimate > MEMORY_WARNING_BYTES:
        warnings.warn(
            f"this run will hold about {estimate / 2**30:.1f} GiB of per-trajectory records "
            f"and rho sums ({n_trajectories} trajectories x {ks.size} checkpoints, rho at "
            f"{rho_index.size}); pass fewer checkpoints or rho_checkpoints='last'",
            RuntimeWarning,
            stacklevel=2,
        )
    rho_slot = np.full(ks.size, -1, dtype=np.int64)
    rho_slot[rho_index] = np.arange(rho_index.size)
    plan = Plan(checkpoints=ks, rho_slot=rho_slot, max_jumps=max_jumps)
    with single_threaded_blas():
        collisions = collision_sequence(model)
        inputs = KernelInputs.from_channels(collisions, LossChannel(model), int(ks[-1]))
    initial = InitialStates.from_density_matrix(rho0)
    acc = EnsembleAccumulator(model, ks, rho_index, n_chunks, jackknife_groups, n_trajectories)

    t0 = time.perf_counter()
    saved = store.completed(size_of) if store is not None else set()
    report = _progress_callback(progress, n_trajectories)
    done = sum(size_of(i) for i in saved)
    if report is not None:
        report(done, n_trajectories)
    tasks = (
        delayed(run_chunk)(inputs, plan, initial, size_of(i), chunk_seed(entropy, i), i)
        for i in range(n_chunks)
        if i not in saved
    )
    if n_jobs == 1:
        results: Iterable = (task[0](*task[1], **task[2]) for task in tasks)
    else:
        results = _parallel_unordered(n_jobs, backend)(tasks)
    waiting: dict[int, ChunkResult] = {}

    def target_met() -> bool:
        if target_stderr is None or acc.n_chunks < min(jackknife_groups, n_chunks):
            return False
        se = acc.stderr(target)
        return bool(np.all(np.isfinite(se))) and float(np.max(se)) <= target_stderr

    def reduce_ready(stop_at_target: bool = True) -> bool:
        """Add the chunks next in index order; True as soon as the target is met.

        The target is checked after every chunk added, so the stopping chunk does not
        depend on how many chunks arrived together (the number of workers).
        """
        while acc.next_index < n_chunks:
            i = acc.next_index
            if i in waiting:
                acc.add(waiting.pop(i))
            elif i in saved:
                acc.add(store.load(i))
            else:
                return False
            leak = acc.mean_leakage()  # running estimate over the chunks so far
            if leak[-1] > leakage_tol:
                first = int(np.argmax(leak > leakage_tol))
                raise TruncationError(
                    model.cutoff,
                    float(leak[-1]),
                    leakage_tol,
                    int(ks[first]),
                    counter_rotating=collisions.counter_rotating,
                )
            if stop_at_target and target_met():
                return True
        return False

    stop_reason = "n_trajectories"
    if reduce_ready():
        stop_reason = "target_stderr"
    else:
        try:
            for chunk in results:
                if store is not None:
                    store.save(chunk)
                waiting[chunk.index] = chunk
                done += chunk.n_trajectories
                if report is not None:
                    report(done, n_trajectories)
                if reduce_ready():
                    stop_reason = "target_stderr"
                    break
                if timeout is not None and time.perf_counter() - t0 > timeout:
                    stop_reason = "timeout"
                    break
        finally:  # also on an error (a full disk, truncation): no worker left running
            if hasattr(results, "close"):
                with warnings.catch_warnings():  # joblib reports the cancelled chunks
                    warnings.simplefilter("ignore", UserWarning)
                    results.close()  # cancel chunks not yet started
        if stop_reason == "n_trajectories":
            reduce_ready(stop_at_target=False)
    warn_if_close(model.cutoff, float(acc.mean_leakage()[-1]), leakage_tol)
    return acc.result(
        seed=entropy,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
        backend=backend,
        seconds=time.perf_counter() - t0,
        stop_reason=stop_reason,
    )
