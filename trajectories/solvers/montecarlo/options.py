"""How an ensemble of trajectories is run: the settings, defined once, and the resolved plan.

:class:`TrajectoryOptions` holds every setting of
:func:`~trajectories.solvers.montecarlo.simulate.simulate` that is not
physics (workers, backend, chunking, checkpoints, what is recorded, tolerances, stopping
rules). Its defaults are the solver's; the run files (:mod:`trajectories.runs.settings`),
the runner and the command line read them from here. :func:`plan_ensemble` validates a run
(every argument, and the memory it needs, before anything is allocated) and resolves it
into an :class:`EnsemblePlan`. Collision counts are integers ``k`` (time in collisions,
``docs/MODEL.md``, Sec. 1).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable

import numpy as np

from ... import validation as _validation
from ...errors import DEFAULT_LEAKAGE_TOL, StatisticsWarning
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
from .chunks import Plan
from .parallel import check_backend

__all__ = [
    "TrajectoryOptions",
    "EnsemblePlan",
    "plan_ensemble",
    "default_chunk_size",
    "default_checkpoints",
    "check_simulate_memory",
    "check_run_size",
    "DEFAULT_JACKKNIFE_GROUPS",
    "DEFAULT_CHECKPOINTS",
    "TARGETS",
    "RECORDS_AUTO_BYTES",
    "MAX_TRAJECTORIES",
    "auto_records",
]

#: Jackknife groups for the nonlinear estimators (at least 20: fewer make the error bars
#: themselves noisy).
DEFAULT_JACKKNIFE_GROUPS = 20
#: Number of evenly spaced checkpoints when none are given.
DEFAULT_CHECKPOINTS = 101
#: The most trajectories a run takes: counts of trajectories stay exact in float64.
MAX_TRAJECTORIES = 2**53
#: Above this estimated memory for records and rho sums, warn before starting.
MEMORY_WARNING_BYTES = 2 * 2**30
#: The largest per-trajectory records the default (``records=None``) keeps: 256 MiB, so
#: that the driver's memory stays bounded whatever the number of trajectories (pure qubits,
#: no jump log: about 44,000 trajectories with every record of 101 checkpoints, 3.4
#: million at the last one).
RECORDS_AUTO_BYTES = 256 * 2**20
_MAX_DEFAULT_CHUNK = 500
#: Observables an adaptive stop can target.
TARGETS = ("energy", "purity", "fano", "ergotropy")


@dataclasses.dataclass(frozen=True)
class TrajectoryOptions:
    """Every setting of a trajectory run that is not physics, with the solver's defaults.

    The parameters mirror :func:`~trajectories.solvers.montecarlo.simulate.simulate`, whose
    docstring describes each in full. Values are not checked here but by
    :func:`plan_ensemble`, against the model and the run's size.

    Parameters
    ----------
    n_jobs : int
        joblib workers (``-1``: all cores); the results do not depend on it.
    backend : str
        joblib backend name (``"loky"``, ``"threading"``, ``"multiprocessing"``, ``"dask"``,
        ``"ray"``); the results do not depend on it.
    chunk_size : int or None
        Trajectories per chunk; None: :func:`default_chunk_size`.
    checkpoints : iterable of int or None
        Strictly increasing collision counts in ``[0, n_collisions]``; None:
        :data:`DEFAULT_CHECKPOINTS` evenly spaced (:func:`default_checkpoints`).
    rho_checkpoints : {"all", "last", "none"}, iterable of int or None
        Checkpoints at which the density matrix is accumulated (a subset of
        ``checkpoints``); None means ``"all"``.
    max_jumps : int
        Jump times recorded per trajectory (0: none; the counts are always kept).
    record_theta : bool
        Record each qubit's relative strength ``x`` (``theta_i = theta x``) per trajectory
        and collision, as float32 (``4 x n_collisions`` bytes per trajectory).
    leakage_tol : float
        Largest mean population lost through the cutoff (``docs/MODEL.md``, Sec. 7).
    jackknife_groups : int
        Jackknife groups of chunks for the nonlinear estimators, ``>= 2``
        (``docs/MODEL.md``, Sec. 5).
    target_stderr : float or None
        Adaptive stop: the largest standard error of ``target`` to reach (None: run every
        trajectory).
    target : {"energy", "purity", "fano", "ergotropy"}
        The observable ``target_stderr`` refers to (:data:`TARGETS`).
    timeout : float or None
        Wall-clock limit in seconds (None: none).
    records : {"all", "last", "none"}, iterable of int or None
        Checkpoints at which the per-trajectory records are kept (a subset of
        ``checkpoints``), independent of ``rho_checkpoints``; "none" keeps no
        per-trajectory record at all. None (default): :func:`auto_records`, "all" while
        the records take at most :data:`RECORDS_AUTO_BYTES`, else "last", else "none",
        with a warning naming the option. Every estimate and every counting statistic
        comes from reductions in the workers and needs no record.
    """

    n_jobs: int = 1
    backend: str = "loky"
    chunk_size: int | None = None
    checkpoints: Iterable[int] | None = None
    rho_checkpoints: Iterable[int] | str | None = "all"
    max_jumps: int = 0
    record_theta: bool = False
    leakage_tol: float = DEFAULT_LEAKAGE_TOL
    jackknife_groups: int = DEFAULT_JACKKNIFE_GROUPS
    target_stderr: float | None = None
    target: str = "energy"
    timeout: float | None = None
    records: Iterable[int] | str | None = None


#: The defaults, for signatures that spell the options out.
DEFAULTS = TrajectoryOptions()


@dataclasses.dataclass(frozen=True)
class EnsemblePlan:
    """A validated run: the options resolved against the model and the run's size.

    Built by :func:`plan_ensemble`; C is the number of checkpoints, R the number of them
    keeping rho, N the cutoff.

    Parameters
    ----------
    options : TrajectoryOptions
        The options, resolved: explicit ``chunk_size`` and ``checkpoints`` (a tuple),
        ``rho_checkpoints`` as given when a string, else a tuple of collision counts.
    entropy : int
        The root seed (drawn fresh when the run's ``seed`` was None), stored with the result.
    n_collisions : int
        Collisions per trajectory.
    n_trajectories : int
        Trajectories in the run (the most, with an adaptive stop).
    chunk_size : int
        Trajectories per chunk (the last chunk may be shorter).
    n_chunks : int
        ``ceil(n_trajectories / chunk_size)``.
    ks : ndarray of int64, shape (C,)
        The checkpoints: strictly increasing collision counts, the last ``<= n_collisions``.
    rho_index : ndarray of int64, shape (R,)
        Indices into ``ks`` of the checkpoints that keep rho.
    plan : Plan
        What the chunks record (:class:`~trajectories.solvers.montecarlo.chunks.Plan`).
    rho0 : ndarray of complex128, shape (N, N)
        The initial density matrix (the vacuum by default).
    """

    options: TrajectoryOptions
    entropy: int
    n_collisions: int
    n_trajectories: int
    chunk_size: int
    n_chunks: int
    ks: np.ndarray
    rho_index: np.ndarray
    plan: Plan
    rho0: np.ndarray

    def size_of(self, i: int) -> int:
        """Trajectories in chunk ``i`` (the last one may be short).

        Parameters
        ----------
        i : int
            Chunk index, ``0 <= i < n_chunks``.

        Returns
        -------
        int
            ``min(chunk_size, n_trajectories - i * chunk_size)``.
        """
        return min(self.chunk_size, self.n_trajectories - i * self.chunk_size)


def default_chunk_size(n_trajectories: int, groups: int = DEFAULT_JACKKNIFE_GROUPS) -> int:
    """At least ``2 * groups`` chunks when possible, at most 500 trajectories per chunk.

    Parameters
    ----------
    n_trajectories : int
        Trajectories in the run, ``>= 1``.
    groups : int, optional
        Jackknife groups (default :data:`DEFAULT_JACKKNIFE_GROUPS`).

    Returns
    -------
    int
        ``max(1, min(500, ceil(n_trajectories / (2 groups))))``.

    Examples
    --------
    >>> default_chunk_size(10_000), default_chunk_size(100), default_chunk_size(10**7)
    (250, 3, 500)
    """
    return max(1, min(_MAX_DEFAULT_CHUNK, -(-n_trajectories // (2 * groups))))


def default_checkpoints(n_collisions: int) -> np.ndarray:
    """:data:`DEFAULT_CHECKPOINTS` evenly spaced collisions (every one when fewer).

    Parameters
    ----------
    n_collisions : int
        Collisions per trajectory, ``>= 0``.

    Returns
    -------
    ndarray of int64, shape (C,)
        ``0 .. n_collisions`` rounded to integers, deduplicated: ``C = min(101,
        n_collisions + 1)``.

    Examples
    --------
    >>> default_checkpoints(3)
    array([0, 1, 2, 3])
    >>> default_checkpoints(2000)[:3]
    array([ 0, 20, 40])
    """
    ks = np.unique(np.linspace(0, n_collisions, DEFAULT_CHECKPOINTS).round())
    return ks.astype(np.int64)


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


def _checkpoint_subset(name: str, value: object, ks: np.ndarray, none_ok: str) -> np.ndarray:
    """Indices into ``ks`` of ``"all"``, ``"last"``, ``"none"`` or a list of checkpoints."""
    if isinstance(value, str):
        if value == "all":
            return np.arange(ks.size)
        if value == "last":
            return np.array([ks.size - 1])
        if value == "none":
            return np.array([], dtype=np.int64)
        raise ValueError(
            f"{name} must be 'all', 'last', 'none'{none_ok} or a subset of the checkpoints, "
            f"got {value!r}"
        )
    try:
        want = checkpoint_array(value, int(ks[-1]))
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    missing = np.setdiff1d(want, ks)
    if missing.size:
        raise ValueError(f"{name} {missing.tolist()} are not among the checkpoints")
    return np.searchsorted(ks, want).astype(np.int64)


def _rho_index(rho_checkpoints: object, ks: np.ndarray) -> np.ndarray:
    if rho_checkpoints is None:
        return np.arange(ks.size)
    return _checkpoint_subset("rho_checkpoints", rho_checkpoints, ks, "")


def _rho_count(rho_checkpoints: object, n_checkpoints: int | None) -> int | None:
    """How many checkpoints keep rho, without materialising ``rho_checkpoints``."""
    if rho_checkpoints is None or (isinstance(rho_checkpoints, str) and rho_checkpoints == "all"):
        return n_checkpoints
    if isinstance(rho_checkpoints, str):
        return {"last": 1, "none": 0}.get(rho_checkpoints, 0)  # others: refused later
    return checkpoint_count(rho_checkpoints, 0)


def auto_records(n_trajectories: int, n_checkpoints: int, n_branches: int, row_bytes: int) -> str:
    """The records kept by default: the most that fit in :data:`RECORDS_AUTO_BYTES`.

    Parameters
    ----------
    n_trajectories : int
        Trajectories in the run.
    n_checkpoints : int
        Checkpoints C.
    n_branches : int
        Qubit branches B.
    row_bytes : int
        Bytes per trajectory without a checkpoint axis (jump log, theta).

    Returns
    -------
    str
        ``"all"``, ``"last"`` or ``"none"``.

    Examples
    --------
    >>> auto_records(10_000, 101, 1, 9), auto_records(10**6, 101, 1, 9)
    ('all', 'last')
    >>> auto_records(10**7, 101, 1, 9)
    'none'
    """
    per = _record_bytes(n_branches)
    for choice, columns in (("all", n_checkpoints), ("last", 1)):
        if n_trajectories * (columns * per + row_bytes) <= RECORDS_AUTO_BYTES:
            return choice
    return "none"


def _record_index(records: object, ks: np.ndarray) -> np.ndarray:
    """Indices into ``ks`` of the kept record columns (``records`` resolved, not None)."""
    return _checkpoint_subset("records", records, ks, ", None")


def _record_bytes(n_branches: int) -> int:
    """Bytes of per-trajectory records per checkpoint: <n>, <n^2> (8 each), a Fock sample,
    emissions, absorptions (4 each), the qubit counts (4 per branch, g and e) and the three
    energy books (8 each)."""
    return 52 + 8 * n_branches


def check_run_size(
    n_collisions: object,
    n_trajectories: object,
    seed: object,
    n_jobs: object,
    backend: object,
    jackknife_groups: object,
    chunk_size: object,
) -> tuple[int, int, int, int, int]:
    """Validate the size of a trajectory run (one cavity or a network), before any work.

    Parameters
    ----------
    n_collisions, n_trajectories, seed, n_jobs, backend, jackknife_groups, chunk_size
        As :func:`~trajectories.solvers.montecarlo.simulate.simulate` takes them.

    Returns
    -------
    tuple of int
        ``(n_collisions, n_trajectories, entropy, jackknife_groups, chunk_size)``: the root
        seed's entropy drawn when ``seed`` is None, the default chunk size resolved.

    Raises
    ------
    ValueError
        One line naming the parameter, its value and what is allowed.
    """
    n_collisions = collision_count("n_collisions", n_collisions)
    n_trajectories = integer_at_least("n_trajectories", n_trajectories, 1)
    if n_trajectories > MAX_TRAJECTORIES:
        raise ValueError(
            f"n_trajectories must be an integer in [1, 2**53] (the reductions count "
            f"trajectories exactly in float64), got n_trajectories={show(n_trajectories)}; "
            f"allowed: n_trajectories <= {MAX_TRAJECTORIES}"
        )
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
    return n_collisions, n_trajectories, entropy, jackknife_groups, chunk_size


def check_simulate_memory(
    model: Micromaser,
    n_trajectories: int,
    n_checkpoints: int | None,
    n_rho: int | None,
    groups: int,
    max_jumps: int = 0,
    rho_shown: str | None = None,
    n_record_columns: int | None = None,
    chunk_size: int = 1,
) -> None:
    """Refuse, before any allocation, a run that cannot fit in this machine's memory.

    Lower bounds of what :func:`~trajectories.solvers.montecarlo.simulate.simulate` allocates,
    compared with :func:`~trajectories.validation.machine_memory`: dense ``N x N`` matrices for
    the set-up (initial density matrix and its eigenvectors, complex, and the loss channel's
    population block: ``40 N^2`` bytes); per trajectory, its records (``52 + 8 B`` bytes per
    checkpoint, ``B`` qubit branches) and ``9`` bytes per recorded jump time; the rho sums,
    ``16 N^2`` bytes per kept checkpoint for each of ``groups`` jackknife groups and the chunk being
    added. ``None`` counts (iterators) are not checked. The ``ValueError`` names the parameter
    to change and the value allowed on this machine.

    Parameters
    ----------
    model : Micromaser
        The model; its cutoff ``N`` and whether the qubits are pure (``B = 1``, else 2
        branches) are read.
    n_trajectories : int
        Trajectories in the run.
    n_checkpoints : int or None
        Number of checkpoints (None: not known, not checked).
    n_rho : int or None
        Number of checkpoints keeping rho (None: not known, not checked).
    groups : int
        Jackknife groups that hold rho sums.
    max_jumps : int, optional
        Jump times recorded per trajectory.
    rho_shown : str or None, optional
        How to show ``rho_checkpoints`` in the message (default: its count).
    n_record_columns : int or None, optional
        Checkpoints whose per-trajectory records are kept (default: every checkpoint;
        0: no per-trajectory record at all, ``records="none"``).
    chunk_size : int, optional
        Trajectories per chunk: a chunk builds its records at every checkpoint before
        reducing them, ``chunk_size`` times the bytes per trajectory (default 1).

    Raises
    ------
    ValueError
        When the run needs more memory than this machine has.
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
    c_all = n_checkpoints or 0
    c = c_all if n_record_columns is None else n_record_columns
    per_trajectory = c * _record_bytes(branches) + 9 * max_jumps + 9 if c else 0
    records = n_trajectories * per_trajectory
    rho = (groups + 1) * (n_rho or 0) * 16 * n * n
    chunk = min(chunk_size, n_trajectories) * (c_all * _record_bytes(branches) + 9 * max_jumps)
    needed = dense + records + rho + chunk
    limit = _validation.machine_memory() or math.inf
    if c_all * _record_bytes(branches) + 9 > limit - dense:
        c = c_all
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
    elif chunk > max(records, rho):
        per_chunk_row = c_all * _record_bytes(branches) + 9 * max_jumps
        name, shown = "chunk_size", show(chunk_size)
        what = (
            f"the records a chunk builds before reducing them ({per_chunk_row} bytes per "
            f"trajectory: {c_all} checkpoints, max_jumps={max_jumps})"
        )

        def allowed(limit: int) -> str:
            most = max(limit - dense - rho - records, 0) // per_chunk_row
            return f"allowed on this machine: chunk_size <= {most} with these checkpoints"
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


def plan_ensemble(
    model: Micromaser,
    n_collisions: int,
    n_trajectories: int,
    seed: int | np.random.SeedSequence | None,
    initial_state: np.ndarray | None,
    options: TrajectoryOptions,
    records_on_disk: bool = False,
) -> EnsemblePlan:
    """Validate everything about a run before any work and resolve it into a plan.

    Warns (:class:`~trajectories.errors.StatisticsWarning`) when there are fewer chunks than
    jackknife groups, so that the error bars are themselves noisy, and (``RuntimeWarning``)
    when the records and rho sums would take more than 2 GiB.

    Parameters
    ----------
    model : Micromaser
        The model.
    n_collisions : int
        Collisions per trajectory, ``>= 0``.
    n_trajectories : int
        Trajectories, ``>= 1``.
    seed : int, SeedSequence or None
        Root seed (a non-negative integer or a root ``numpy.random.SeedSequence``); None
        draws fresh entropy.
    initial_state : ndarray or None
        Vector ``(N,)`` or density matrix ``(N, N)``; None: the vacuum.
    options : TrajectoryOptions
        Everything else.
    records_on_disk : bool, optional
        The kept records stream to disk (a store that takes them, e.g. a command-line
        run's): they then count for neither the memory check nor the memory warning.

    Returns
    -------
    EnsemblePlan
        The validated, resolved run.

    Raises
    ------
    ValueError
        Naming the parameter, its value and what is allowed, for any invalid argument or a
        run that does not fit in memory.
    """
    o = options
    n_jobs, backend, chunk_size, checkpoints = o.n_jobs, o.backend, o.chunk_size, o.checkpoints
    rho_checkpoints, max_jumps, leakage_tol = o.rho_checkpoints, o.max_jumps, o.leakage_tol
    jackknife_groups, target_stderr, target, timeout = (
        o.jackknife_groups, o.target_stderr, o.target, o.timeout,
    )  # fmt: skip
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    n_collisions, n_trajectories, entropy, jackknife_groups, chunk_size = check_run_size(
        n_collisions, n_trajectories, seed, n_jobs, backend, jackknife_groups, chunk_size
    )
    max_jumps = integer_at_least("max_jumps", max_jumps, 0)
    if not isinstance(o.record_theta, (bool, np.bool_)):
        raise ValueError(f"record_theta must be True or False, got {o.record_theta!r}")
    n_chunks = -(-n_trajectories // chunk_size)  # integers: exact for any size
    n_branches = 2 if not model.qubit_is_pure else 1
    n_ck = (
        min(DEFAULT_CHECKPOINTS, n_collisions + 1)
        if checkpoints is None
        else checkpoint_count(checkpoints, n_collisions)
    )
    records = o.records
    theta_row = 4 * n_collisions if o.record_theta else 0
    if records is None and n_ck is not None:
        records = auto_records(n_trajectories, n_ck, n_branches, 9 * max_jumps + 9 + theta_row)
        if records != "all":
            warnings.warn(
                f"records=None keeps the per-trajectory records of {n_trajectories} "
                f"trajectories at {'the last checkpoint' if records == 'last' else 'no checkpoint'}"
                f" only (records={records!r}), so that they fit in "
                f"{format_bytes(RECORDS_AUTO_BYTES)}; every estimate and counting statistic "
                "is still computed at every checkpoint. Pass records='all', 'last', 'none' or "
                "a list of checkpoints to choose",
                RuntimeWarning,
                stacklevel=3,
            )
    n_rec = 0 if records_on_disk else _rho_count(records, n_ck)
    n_rho = _rho_count(rho_checkpoints, n_ck)
    if n_ck is not None and n_rho is not None and n_rho > n_ck:
        raise ValueError(
            f"rho_checkpoints has {n_rho} entries, more than the {n_ck} checkpoints; it must "
            "be 'all', 'last', 'none' or a subset of the checkpoints"
        )
    rho_shown = repr(rho_checkpoints) if isinstance(rho_checkpoints, str) else None
    check_simulate_memory(
        model, n_trajectories, n_ck, n_rho, min(n_chunks, jackknife_groups), max_jumps,
        rho_shown if rho_checkpoints is not None else "'all'", n_rec, chunk_size,
    )  # fmt: skip
    if checkpoints is None:
        checkpoints = default_checkpoints(n_collisions)
    ks = checkpoint_array(checkpoints, n_collisions)
    rho_index = _rho_index(rho_checkpoints, ks)
    if records is None:  # an iterator of checkpoints: counted now
        records = auto_records(n_trajectories, ks.size, n_branches, 9 * max_jumps + 9 + theta_row)
    record_index = _record_index(records, ks)
    theta_bytes = 4 * int(ks[-1]) if o.record_theta and record_index.size else 0
    check_memory(
        "record_theta",
        "True",
        0 if records_on_disk else n_trajectories * theta_bytes,
        f"the recorded theta ({theta_bytes} bytes per trajectory)",
        lambda limit: "allowed on this machine: record_theta=False or fewer collisions",
    )
    if leakage_tol != float("inf"):
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    if target_stderr is not None:
        target_stderr = real_in_range("target_stderr", target_stderr, 0.0, allowed="> 0")
        if target_stderr <= 0:
            raise ValueError(f"target_stderr must be > 0, got {target_stderr}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if target in ("purity", "ergotropy") and rho_index.size == 0:
        raise ValueError(f"target={target!r} needs rho_checkpoints other than 'none'")
    if timeout is not None:
        timeout = real_in_range("timeout", timeout, 0.0, allowed="> 0 (seconds)")
    rho0 = as_density_matrix(initial_state, model.cutoff)
    check_backend(backend, n_jobs)

    groups = min(n_chunks, jackknife_groups)
    if groups < jackknife_groups and n_trajectories >= 2:
        warnings.warn(
            f"only {n_chunks} chunks for {jackknife_groups} jackknife groups: the error bars of "
            f"purity, Fano factor and ergotropy are themselves noisy; use chunk_size <= "
            f"{max(1, n_trajectories // jackknife_groups)}",
            StatisticsWarning,
            stacklevel=3,
        )
    per_row = record_index.size * _record_bytes(n_branches) + theta_bytes
    in_memory = 0 if records_on_disk else per_row
    estimate = n_trajectories * in_memory + (
        min(n_chunks, jackknife_groups) * rho_index.size * model.cutoff**2 * 16
    )
    if estimate > MEMORY_WARNING_BYTES:
        warnings.warn(
            f"this run will hold about {estimate / 2**30:.1f} GiB of per-trajectory records "
            f"and rho sums ({n_trajectories} trajectories x {ks.size} checkpoints, rho at "
            f"{rho_index.size}); pass fewer checkpoints or rho_checkpoints='last'",
            RuntimeWarning,
            stacklevel=3,
        )
    rho_slot = np.full(ks.size, -1, dtype=np.int64)
    rho_slot[rho_index] = np.arange(rho_index.size)
    resolved = dataclasses.replace(
        o,
        n_jobs=int(n_jobs),
        chunk_size=chunk_size,
        checkpoints=tuple(int(k) for k in ks),
        rho_checkpoints=rho_checkpoints if isinstance(rho_checkpoints, str) else
        tuple(int(k) for k in ks[rho_index]),
        max_jumps=max_jumps,
        leakage_tol=leakage_tol,
        jackknife_groups=jackknife_groups,
        target_stderr=target_stderr,
        timeout=timeout,
        records=records if isinstance(records, str) else tuple(int(k) for k in ks[record_index]),
    )  # fmt: skip
    return EnsemblePlan(
        options=resolved,
        entropy=entropy,
        n_collisions=n_collisions,
        n_trajectories=n_trajectories,
        chunk_size=chunk_size,
        n_chunks=n_chunks,
        ks=ks,
        rho_index=rho_index,
        plan=Plan(
            checkpoints=ks,
            rho_slot=rho_slot,
            max_jumps=max_jumps,
            record_theta=bool(o.record_theta),
            record_index=None if record_index.size == ks.size else record_index,
        ),  # fmt: skip
        rho0=rho0,
    )
