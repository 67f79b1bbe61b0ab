"""``simulate``: run an ensemble of quantum trajectories in parallel, reproducibly.

The front of the Monte Carlo solver (``docs/MODEL.md``, Secs. 3 and 5): it validates the run
(:func:`~trajectories.solvers.montecarlo.options.plan_ensemble`), turns the model's channels
into kernel inputs (:class:`~trajectories.solvers.montecarlo.kernel_inputs.KernelInputs`),
maps the chunks over the workers
(:func:`~trajectories.solvers.montecarlo.parallel.map_chunks`) and lets the accumulator
(:class:`~trajectories.solvers.montecarlo.accumulator.EnsembleAccumulator`) reduce them in
chunk order and decide when to stop. Trajectory ``i`` draws from its own streams
(:mod:`trajectories._streams`), which depend only on the seed and ``i``: the first ``M``
trajectories of a run are the same whatever the total number, the chunk size, the workers
and the backend. Chunks run with BLAS pinned to one thread and are reduced in chunk order,
so the same ``(seed, chunk_size)`` also gives bit-identical error bars (the jackknife groups
are made of chunks) on any number of workers and any backend.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from joblib import delayed

from ..._numba import COMPILE_NOTICE, kernels_cached
from ..._streams import STREAMS, stream_key
from ..._threads import single_threaded_blas
from ...channels.collisions import collision_sequence
from ...channels.loss import LossChannel
from ...channels.loss_unravelling import SAMPLER
from ...errors import TruncationError, warn_if_close
from ...model.micromaser import Micromaser
from ...model.network import Network
from ...model.protocol import Protocol, run_segments
from ...progress import Progress, ProgressArg
from .accumulator import EnsembleAccumulator
from .chunks import InitialStates, StageSpec, run_chunk
from .kernel_inputs import KernelInputs, nominal_model
from .options import DEFAULTS, TrajectoryOptions, plan_ensemble
from .parallel import ChunkStore, map_chunks
from .result import EnsembleResult

if TYPE_CHECKING:
    from .network_result import NetworkEnsemble

__all__ = ["simulate"]


def simulate(
    model: Micromaser | Protocol | Network,
    n_collisions: int | None = None,
    n_trajectories: int | None = None,
    *,
    seed: int | np.random.SeedSequence | None = None,
    n_jobs: int = DEFAULTS.n_jobs,
    backend: str = DEFAULTS.backend,
    chunk_size: int | None = DEFAULTS.chunk_size,
    checkpoints: Iterable[int] | None = DEFAULTS.checkpoints,
    initial_state: np.ndarray | None = None,
    rho_checkpoints: Iterable[int] | str | None = None,
    max_jumps: int = DEFAULTS.max_jumps,
    record_theta: bool = DEFAULTS.record_theta,
    leakage_tol: float = DEFAULTS.leakage_tol,
    jackknife_groups: int = DEFAULTS.jackknife_groups,
    progress: ProgressArg = None,
    store: ChunkStore | None = None,
    target_stderr: float | None = DEFAULTS.target_stderr,
    target: str = DEFAULTS.target,
    timeout: float | None = DEFAULTS.timeout,
    records: Iterable[int] | str | None = DEFAULTS.records,
) -> EnsembleResult | NetworkEnsemble:
    r"""Run ``n_trajectories`` quantum trajectories of ``n_collisions`` collisions each.

    A :class:`~trajectories.model.network.Network` of two cavities is run on its joint
    state vectors (:func:`~trajectories.solvers.montecarlo.network_simulate.simulate_network`,
    ``docs/MODEL.md``, Sec. 13) and returns a
    :class:`~trajectories.solvers.montecarlo.network_result.NetworkEnsemble`; the options
    of a single cavity only (``max_jumps``, ``record_theta``, ``store``, ``target_stderr``,
    ``target``, ``timeout``) must then keep their defaults.

    A :class:`~trajectories.model.protocol.Protocol` runs its stages one after the other:
    each trajectory carries its state and its records (qubit counts, jumps, clock, leak)
    across the stages; a stage with its own ``initial_state`` replaces each trajectory's
    state by one sampled from it. Collisions and checkpoints are numbered globally, and
    stage ``s`` of trajectory ``i`` draws from the counters ``(0, s, i, stream)``, so a
    one-stage protocol is the single-model run bit for bit. Every run keeps the energy
    books per trajectory (``energy_from_qubits``, ``switching_work``,
    ``energy_from_bath``: ``docs/MODEL.md``, Sec. 12).

    Each trajectory is a state vector evolved through sampled qubit outcomes and
    exact jump/no-jump loss intervals (``docs/MODEL.md``, Sec. 3); the ensemble average of
    :math:`|\psi\rangle\langle\psi|` equals the exact :math:`\rho(k)` of
    :func:`~trajectories.solve_exact`, up to statistical error only. A real beam
    (``model.arrivals``, ``model.theta_spread``, ``docs/MODEL.md`` Sec. 9) is unravelled
    by drawing each interval and each qubit's theta from the distribution itself, from a
    stream of its own (:mod:`trajectories._streams`): the ideal beam draws nothing.

    Parameters
    ----------
    model : Micromaser or Protocol
        The model (any collision: Jaynes-Cummings or Rabi); ``N`` is its cutoff. Or a
        protocol: its stages in order (any models of one cutoff).
    n_collisions : int, optional
        Collisions per trajectory, ``>= 0``; required for a model, for a protocol its
        total (the default; another value is refused).
    n_trajectories : int
        Number of trajectories, ``>= 1`` (required).
    seed : int, SeedSequence or None
        Root seed; ``None`` draws fresh entropy (stored in the result as ``seed``).
    n_jobs : int
        joblib workers (``-1``: all cores). Results do not depend on it.
    backend : str
        joblib backend (``"loky"``, ``"multiprocessing"``, ``"threading"``, or a
        registered one such as ``"dask"``). Results do not depend on it.
    chunk_size : int, optional
        Trajectories per chunk (the unit of work, of saving and of jackknife grouping);
        default at least 40 chunks, at most 500 trajectories each. The trajectories
        themselves do not depend on it.
    checkpoints : iterable of int, optional
        Strictly increasing collision counts in ``[0, n_collisions]``; default 101
        evenly spaced ones (every collision when ``n_collisions <= 100``). Records cost
        about 40 bytes per trajectory per checkpoint.
    initial_state : array, optional
        Vector ``(N,)`` or density matrix ``(N, N)``, validated; a mixed state is
        sampled from its eigendecomposition per trajectory. Default: vacuum (for a
        protocol, its own initial state or its first stage's; giving two is refused).
    rho_checkpoints : "all", "last", "none", iterable of int or None
        Checkpoints at which the density matrix is rebuilt (needed for purity and
        ergotropy). Memory: ``jackknife_groups x len(rho_checkpoints) x N^2`` complex.
        None (default): ``"all"`` for a single cavity, ``"last"`` for a network.
    max_jumps : int
        Capacity for recorded jump times per trajectory (0: none recorded; counts
        are always kept; overflow is flagged in ``per_trajectory.jumps_overflow``).
        Jump times are in units of ``t_r`` of real time (with random arrivals, the sum of
        the drawn intervals).
    record_theta : bool
        Record each qubit's relative strength ``x`` (``theta_i = theta x``, 1 without a
        theta spread) in ``per_trajectory.theta`` (float32, ``M x n_collisions``; NaN
        after a leak).
    leakage_tol : float
        Largest expected population lost through the cutoff; above it,
        :class:`~trajectories.errors.TruncationError`.
    jackknife_groups : int
        Groups for jackknife errors of purity, Fano factor and ergotropy (>= 2).
    progress : None, bool or callable
        Progress over the chunks (:mod:`trajectories.progress`). ``None`` (default): a tqdm
        bar when a person watches (stderr a terminal, or a notebook), else nothing;
        ``True``: always (plain lines every minute in a log); ``False``: never. A callable
        is called as ``progress(trajectories_done, n_trajectories)`` after each chunk.
        When a bar is shown and the kernels are not compiled yet, a line says so.
    store : ChunkStore, optional
        Saves each chunk as it finishes and supplies the chunks saved by an earlier,
        interrupted run with the same settings; only the missing ones are computed
        (with their original seeds), so the result is bit-identical to an
        uninterrupted run. A store with the optional methods of
        :class:`~trajectories.solvers.montecarlo.parallel.ChunkStore` keeps the
        accumulator's state instead of the chunks it covers and takes the kept records as
        they come (the result's ``per_trajectory`` then reads them from its file); its
        tasks go out in windows of :data:`WINDOW_PER_WORKER` per worker. See
        :class:`trajectories.runs.chunkstore.ChunkDirectory`.
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
    records : "all", "last", "none", iterable of int or None
        Checkpoints at which the per-trajectory records (``per_trajectory``: counts, Fock
        samples, ``<n>_i``, energy books) are kept, independent of ``rho_checkpoints``;
        ``"none"`` keeps none (``per_trajectory`` is None), and the jump log and theta
        are kept with any other choice. The workers reduce every chunk to sums and
        per-checkpoint count histograms first, so the estimates and every counting
        statistic (:func:`trajectories.counting.from_ensemble`) cover every checkpoint
        whatever is kept, in memory independent of ``n_trajectories``. None (default):
        ``"all"`` while the records fit in 256 MiB, else ``"last"``, else ``"none"``,
        said by a ``RuntimeWarning``.

    Returns
    -------
    EnsembleResult or NetworkEnsemble
        Estimates with error bars at the ``C`` checkpoints (energy in units of
        :math:`\hbar\omega`), rho at the kept ones, and the per-trajectory records
        (``M x C`` arrays, ``M`` the trajectories run): see
        :class:`~trajectories.solvers.montecarlo.result.EnsembleResult`.

    Raises
    ------
    ValueError
        An invalid argument, named with its value and what is allowed, or a run that does
        not fit in memory.
    TruncationError
        When the mean population lost through the cutoff exceeds ``leakage_tol``.

    Examples
    --------
    >>> import trajectories as tj
    >>> model = tj.Micromaser(theta=tj.fine_tuned_theta(3), q=0.25, cutoff=8)
    >>> ens = tj.simulate(model, 5, 40, seed=1, chunk_size=10, jackknife_groups=4)
    >>> ens.k.tolist(), ens.n_trajectories
    ([0, 1, 2, 3, 4, 5], 40)
    >>> exact = tj.solve_exact(model, 5)  # the energy agrees within its error bar
    >>> bool(abs(ens.energy.mean[-1] - exact.energy[-1]) < 3 * ens.energy.stderr[-1])
    True
    """
    if isinstance(model, Network):
        from .network_simulate import simulate_network

        return simulate_network(
            model, n_collisions, n_trajectories, seed=seed, n_jobs=n_jobs, backend=backend,
            chunk_size=chunk_size, checkpoints=checkpoints,
            rho_checkpoints="last" if rho_checkpoints is None else rho_checkpoints,
            jackknife_groups=jackknife_groups, progress=progress, leakage_tol=leakage_tol,
            initial_state=initial_state,
            unsupported={
                "max_jumps": (max_jumps, DEFAULTS.max_jumps),
                "record_theta": (record_theta, DEFAULTS.record_theta),
                "store": (store, None), "target_stderr": (target_stderr, None),
                "target": (target, DEFAULTS.target), "timeout": (timeout, None),
                "records": (records, None),
            },
        )  # fmt: skip
    if rho_checkpoints is None:
        rho_checkpoints = DEFAULTS.rho_checkpoints
    options = TrajectoryOptions(
        n_jobs=n_jobs, backend=backend, chunk_size=chunk_size, checkpoints=checkpoints,
        rho_checkpoints=rho_checkpoints, max_jumps=max_jumps, record_theta=record_theta,
        leakage_tol=leakage_tol,
        jackknife_groups=jackknife_groups, target_stderr=target_stderr, target=target,
        timeout=timeout, records=records,
    )  # fmt: skip
    protocol, segments, n_collisions, initial_state = _segments(
        model, n_collisions, n_trajectories, initial_state
    )
    model = segments[0][0]
    streams = store is not None and hasattr(store, "restore")  # records go to its disk
    run = plan_ensemble(model, n_collisions, n_trajectories, seed, initial_state, options,
                        records_on_disk=streams)  # fmt: skip
    o = run.options
    with single_threaded_blas():
        specs = _stage_specs(segments, run.ks)
    inputs = specs[0].inputs
    # a Rabi collision has counter-rotating terms (not built again: 18 s with a modulation)
    counter_rotating = any(not m.is_jaynes_cummings for m, _, _ in segments)
    initial = InitialStates.from_density_matrix(run.rho0)
    key = stream_key(run.entropy)

    acc = EnsembleAccumulator(
        model, run.ks, run.rho_index, run.n_chunks, o.jackknife_groups, run.n_trajectories,
        record_index=run.plan.record_index,
    )  # fmt: skip
    acc.protocol = protocol
    acc.stage = (
        protocol.stage_of(run.ks) if protocol is not None else np.zeros(run.ks.size, np.int64)
    )

    def truncation(leak: np.ndarray) -> TruncationError:
        first = int(np.argmax(leak > o.leakage_tol))
        return TruncationError(model.cutoff, float(leak[-1]), o.leakage_tol, int(run.ks[first]),
                               counter_rotating=counter_rotating)  # fmt: skip

    acc.fail_above_leakage(o.leakage_tol, truncation)
    if o.target_stderr is not None:
        acc.stop_at_stderr(o.target_stderr, o.target, min(o.jackknife_groups, run.n_chunks))
    t0 = time.perf_counter()
    if o.timeout is not None:
        acc.stop_at_deadline(t0 + o.timeout)

    if streams:  # a saved state, records streamed to disk
        store.restore(acc)
        if acc.n_chunks:
            acc.check_conditions()  # where the interrupted run stopped, if it had
        if acc.next_index >= run.n_chunks:
            acc.stop_reason = acc.stop_reason or "n_trajectories"
    if store is not None and hasattr(store, "absorbed"):
        acc.chunk_added = lambda chunk: store.absorbed(acc, chunk)
    saved = store.completed(run.size_of) if store is not None else set()
    saved = {i for i in saved if i >= acc.next_index}
    done = acc.filled + sum(run.size_of(i) for i in saved)
    with Progress(progress, run.n_trajectories, unit="trajectories") as report:
        from .kernels import run_banded, run_sparse  # compiles nothing

        cached = kernels_cached(run_banded if inputs.driver == "banded" else run_sparse)
        if report.displayed and not cached:
            report.write(COMPILE_NOTICE)
        report(done)
        for i in sorted(saved):
            acc.offer(index=i, load=lambda i=i: store.load(i))
        chunk_inputs = tuple(specs)  # a single model is a one-stage protocol
        # lazily: memory independent of the number of chunks
        pending = (i for i in range(acc.next_index, run.n_chunks) if i not in saved)
        first = next(pending, None)

        def task(i: int):
            return delayed(run_chunk)(
                chunk_inputs, run.plan, initial, i * run.chunk_size, run.size_of(i), key, i
            )

        def take(chunk) -> bool:
            nonlocal done
            if store is not None:
                store.save(chunk)
            done += chunk.n_trajectories
            report(done)
            return acc.offer(chunk)

        if acc.stop_reason is None and first is not None and not cached and _compiles_in_each(o):
            # the first chunk here: the drivers are compiled once, into numba's cache, and
            # the workers load them instead of each compiling them again
            fn, args, kwargs = task(first)
            take(fn(*args, **kwargs))
            first = next(pending, None)
        todo = itertools.chain((first,), pending) if first is not None else iter(())
        # records streamed to disk: the driver's work per chunk can outlast a worker's,
        # whose finished chunks would then pile up in memory: tasks go out in windows
        size = _window(o.n_jobs) if streams and acc.keeps_records else None
        batches = (
            iter(lambda: list(itertools.islice(todo, size)), [])
            if size is not None
            else iter([todo] if first is not None else [])
        )
        for batch in batches:
            if acc.stop_reason is not None:
                break
            with map_chunks((task(i) for i in batch), o.n_jobs, o.backend) as results:
                for chunk in results:
                    if take(chunk):
                        break
    warn_if_close(model.cutoff, float(acc.mean_leakage()[-1]), o.leakage_tol)
    result = acc.result(
        seed=run.entropy,
        chunk_size=run.chunk_size,
        n_jobs=o.n_jobs,
        backend=o.backend,
        seconds=time.perf_counter() - t0,
        stop_reason=acc.stop_reason or "n_trajectories",
        streams=STREAMS,
        sampler=SAMPLER,
    )
    if acc.record_sink is not None and hasattr(store, "records"):  # streamed to disk
        result = dataclasses.replace(result, per_trajectory=store.records())
    return result


#: Chunks per worker sent out at once when the driver streams records to disk: bounds the
#: finished chunks waiting for the driver (a pause per window costs about half a chunk's
#: time per worker, a few percent)
WINDOW_PER_WORKER = 16


def _window(n_jobs: int) -> int:
    """Tasks per window of a run whose driver streams records (see :data:`WINDOW_PER_WORKER`)."""
    from joblib import effective_n_jobs

    return WINDOW_PER_WORKER * max(1, effective_n_jobs(n_jobs))


def _compiles_in_each(options: TrajectoryOptions) -> bool:
    """Whether the workers are processes on this machine, each compiling cold kernels itself."""
    return options.n_jobs != 1 and options.backend in ("loky", "multiprocessing")


def _segments(
    model: Micromaser | Protocol,
    n_collisions: int | None,
    n_trajectories: int | None,
    initial_state: np.ndarray | None,
) -> tuple[Protocol | None, list, int, np.ndarray | None]:
    """``(protocol, [(model, collisions, reset state), ...], n_collisions, initial_state)``
    of a run, validated (one-line ``ValueError``)."""
    if n_trajectories is None:
        raise ValueError("n_trajectories is required (the number of trajectories, >= 1)")
    return run_segments(model, n_collisions, initial_state, "simulate")


def _stage_specs(segments: list, ks: np.ndarray) -> list[StageSpec]:
    """The stages the chunks run, up to the last checkpoint, with their channels."""
    last = int(ks[-1])
    specs = []
    first_k = 0
    built: dict = {}
    for s, (m, n_k, reset) in enumerate(segments):
        if s > 0 and first_k >= last:
            break
        end = min(first_k + n_k, last)
        c0 = 0 if s == 0 else int(np.searchsorted(ks, first_k, side="right"))
        c1 = int(np.searchsorted(ks, end, side="right"))
        key = (id(m), end)
        if key not in built:
            try:
                built[key] = KernelInputs.from_channels(
                    collision_sequence(nominal_model(m)), LossChannel(m), end, m
                )  # the beam is drawn per qubit
            except ValueError as err:
                raise ValueError(f"stage {s}: {err}") from None
        specs.append(
            StageSpec(
                stage=s,
                inputs=built[key],
                first_k=first_k,
                n_steps=end - first_k,
                c0=c0,
                c1=c1,
                reset=None if reset is None or s == 0 else InitialStates.from_density_matrix(reset),
                q=float(m.q),
                jaynes_cummings=bool(m.is_jaynes_cummings),
            )  # fmt: skip
        )
        first_k += n_k
    return specs
