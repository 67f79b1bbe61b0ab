r"""``simulate`` for a network of two cavities: the run, validated, mapped and reduced.

:func:`~trajectories.solvers.montecarlo.simulate.simulate` hands a
:class:`~trajectories.model.network.Network` to :func:`simulate_network` (``docs/MODEL.md``,
Sec. 13). It validates every argument before any work, builds the arrays of the
trajectories once (:class:`~trajectories.solvers.montecarlo.network_kernel.NetworkInputs`),
maps the chunks over the workers
(:func:`~trajectories.solvers.montecarlo.parallel.map_chunks`) and reduces them in chunk
order (:class:`~trajectories.solvers.montecarlo.network_result.NetworkAccumulator`).
Trajectory ``i`` draws only from its own streams (:mod:`trajectories._streams`), so the
trajectories do not depend on the chunk size, the workers or the backend; the same
``(seed, chunk_size)`` gives bit-identical results (the jackknife groups are made of
chunks) on any number of workers.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable

import numpy as np
from joblib import delayed

from ..._numba import COMPILE_NOTICE, kernels_cached
from ..._streams import stream_key
from ..._threads import single_threaded_blas
from ...channels.network_collision import network_spread_nodes
from ...errors import DEFAULT_LEAKAGE_TOL, StatisticsWarning, TruncationError, warn_if_close
from ...model.network import Network
from ...model.states import as_density_matrix
from ...progress import Progress, ProgressArg
from ...validation import (
    check_memory,
    checkpoint_array,
    format_bytes,
    real_in_range,
    show,
)
from .network_kernel import NetworkInputs, run_network_chunk
from .network_result import NetworkAccumulator, NetworkEnsemble
from .options import (
    DEFAULT_JACKKNIFE_GROUPS,
    _rho_index,
    check_run_size,
    default_checkpoints,
)
from .parallel import check_backend, map_chunks

__all__ = ["simulate_network", "network_memory"]


def network_memory(
    net: Network,
    n_trajectories: int,
    n_checkpoints: int,
    n_rho: int,
    groups: int,
    n_jobs: int,
    keep_records: bool,
    n_nodes: int,
) -> dict[str, int]:
    """Lower bounds of what a network run allocates, in bytes, by what it is for.

    Parameters
    ----------
    net : Network
        The model (``D = N_A N_B``, the number of qubit branches ``J``).
    n_trajectories : int
        M.
    n_checkpoints, n_rho : int
        Checkpoints (C) and those keeping rho (R).
    groups : int
        Jackknife groups (G).
    n_jobs : int
        Workers (each holds one chunk's rho sums).
    keep_records : bool
        Whether the per-trajectory records are kept.
    n_nodes : int
        Theta-spread nodes of the collision (X).

    Returns
    -------
    dict of str to int
        ``"rho"``: the groups' sums, the total and one chunk per worker,
        ``16 (G + 1 + workers) R D^2``; ``"records"``: ``(64 + 16 J) C`` bytes per
        trajectory; ``"collision"``: the shell blocks, about ``64 X D min(N_A, N_B)``.
    """
    d = net.dimension
    branches = 1 if net.qubit_is_pure else 2
    workers = max(n_jobs, 1) if n_jobs > 0 else 2
    return {
        "rho": 16 * (groups + 1 + workers) * n_rho * d * d,
        "records": n_trajectories * n_checkpoints * (64 + 16 * branches) if keep_records else 0,
        "collision": 64 * n_nodes * d * min(net.cutoff),
    }


def _refuse_unsupported(unsupported: dict[str, tuple[object, object]]) -> None:
    for name, (value, default) in unsupported.items():
        try:
            same = value is default or bool(value == default)
        except (TypeError, ValueError):  # e.g. an array
            same = False
        if not same:
            raise ValueError(
                f"{name}={show(value)} is not supported for a Network (only for a single "
                f"cavity); leave it at its default {show(default)}"
            )


def simulate_network(
    net: Network,
    n_collisions: int | None,
    n_trajectories: int | None,
    *,
    seed: int | np.random.SeedSequence | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    chunk_size: int | None = None,
    checkpoints: Iterable[int] | None = None,
    rho_checkpoints: Iterable[int] | str = "last",
    jackknife_groups: int = DEFAULT_JACKKNIFE_GROUPS,
    progress: ProgressArg = None,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    initial_state: np.ndarray | None = None,
    keep_records: bool = True,
    unsupported: dict[str, tuple[object, object]] | None = None,
) -> NetworkEnsemble:
    r"""Run ``n_trajectories`` trajectories of a network of two cavities.

    Each trajectory is a normalised joint state vector (``D = N_A N_B``): per collision the
    qubit's branch and outcome are drawn and applied (by blocks of total excitation), then
    the loss interval by exact mixture sampling of the jump times
    (:mod:`trajectories.channels.network_unravelling`). The ensemble average of
    :math:`|\psi\rangle\langle\psi|` is the exact :math:`\rho(k)` of
    :func:`~trajectories.solvers.network_exact.solve_network`, up to statistical error.

    Parameters
    ----------
    net : Network
        The model.
    n_collisions : int
        Collisions per trajectory, ``>= 0`` (required).
    n_trajectories : int
        Trajectories, ``>= 1`` (required).
    seed : int, SeedSequence or None
        Root seed; None draws fresh entropy (stored in the result).
    n_jobs : int
        joblib workers (``-1``: all cores); the results do not depend on it.
    backend : str
        joblib backend; the results do not depend on it.
    chunk_size : int, optional
        Trajectories per chunk (the unit of work and of jackknife grouping); default at
        least ``2 jackknife_groups`` chunks, at most 500 trajectories each.
    checkpoints : iterable of int, optional
        Strictly increasing collision counts in ``[0, n_collisions]``; default 101 evenly
        spaced (every collision when ``n_collisions <= 100``).
    rho_checkpoints : "last", "all", "none" or iterable of int
        Checkpoints at which the joint density matrix is accumulated (for purity, entropy,
        ergotropies, negativity, mutual information). Memory: ``G x R x D^2`` complex
        numbers for ``G`` jackknife groups and ``R`` such checkpoints (51 MB at
        ``N_A = N_B = 20``, 20 groups, ``"last"``; 0.8 GB at 40); a run that does not fit
        in the machine's memory is refused before any work. Time: the estimates then take
        ``2 (G + 1) R`` eigendecompositions of ``D x D`` matrices (measured on one core:
        1 s at ``N_A = N_B = 20``, 12 s at 30, 70 s at 40, with ``G = 20``, ``R = 1``),
        spread over the workers.
    jackknife_groups : int
        Groups of chunks for the jackknife errors, ``>= 2``; fewer than 20 groups (or
        chunks) are warned about (:class:`~trajectories.errors.StatisticsWarning`).
    progress : None, bool or callable
        Progress over the chunks, as for a single cavity (:mod:`trajectories.progress`).
    leakage_tol : float
        Largest mean weight lost through the cutoffs; above it,
        :class:`~trajectories.errors.TruncationError` (``inf`` disables the check).
    initial_state : array, optional
        Joint vector ``(D,)`` or density matrix ``(D, D)``, natural basis ``a N_B + b``;
        a mixed state is sampled per trajectory from its eigendecomposition. Default: the
        vacuum.
    keep_records : bool
        Keep the per-trajectory records (``(64 + 16 J) C`` bytes per trajectory).
    unsupported : dict, optional
        Options of the single-cavity :func:`~trajectories.solvers.montecarlo.simulate.simulate`
        (name: ``(value, default)``); any value other than its default is refused.

    Returns
    -------
    NetworkEnsemble
        Estimates with error bars, rho at the kept checkpoints, the records.

    Raises
    ------
    ValueError
        An invalid argument (one line naming it, its value and what is allowed), or a run
        that does not fit in memory.
    TruncationError
        When the mean weight lost through the cutoffs exceeds ``leakage_tol``.
    """
    if not isinstance(net, Network):
        raise ValueError(f"net must be a trajectories.Network, got {type(net).__name__}")
    _refuse_unsupported(unsupported or {})
    if n_collisions is None:
        raise ValueError("n_collisions is required for a network (collisions per trajectory, >= 0)")
    if n_trajectories is None:
        raise ValueError("n_trajectories is required (the number of trajectories, >= 1)")
    n_collisions, n_trajectories, entropy, jackknife_groups, chunk_size = check_run_size(
        n_collisions, n_trajectories, seed, n_jobs, backend, jackknife_groups, chunk_size
    )
    if not isinstance(keep_records, (bool, np.bool_)):
        raise ValueError(f"keep_records must be True or False, got {keep_records!r}")
    ks = checkpoint_array(
        default_checkpoints(n_collisions) if checkpoints is None else checkpoints, n_collisions
    )
    rho_index = _rho_index(rho_checkpoints, ks)
    if leakage_tol != math.inf:
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    rho0 = as_density_matrix(initial_state, net.dimension)
    check_backend(backend, n_jobs)
    n_chunks = -(-n_trajectories // chunk_size)
    groups = min(n_chunks, jackknife_groups)
    _, _, n_nodes = network_spread_nodes(net)
    need = network_memory(net, n_trajectories, ks.size, rho_index.size, groups, int(n_jobs),
                          bool(keep_records), n_nodes)  # fmt: skip
    check_memory(
        "rho_checkpoints", show(rho_checkpoints), need["rho"] + need["collision"],
        f"the sums of |psi><psi| ({groups} jackknife groups x {rho_index.size} checkpoints x "
        f"{format_bytes(16 * net.dimension**2)} at cutoff={net.cutoff})",
        "use rho_checkpoints='last' (or 'none'), fewer jackknife_groups or smaller cutoffs",
    )  # fmt: skip
    check_memory(
        "n_trajectories", show(n_trajectories), sum(need.values()),
        f"the per-trajectory records ({format_bytes(need['records'])}) and rho sums",
        "use fewer trajectories or checkpoints, or keep_records=False",
    )  # fmt: skip
    if groups < DEFAULT_JACKKNIFE_GROUPS and n_trajectories >= 2:
        warnings.warn(
            f"only {groups} jackknife groups ({n_chunks} chunks): the error bars of purity, "
            f"entropy, ergotropies, negativity and Fano factors are themselves noisy; use "
            f"jackknife_groups >= {DEFAULT_JACKKNIFE_GROUPS} and chunk_size <= "
            f"{max(1, n_trajectories // DEFAULT_JACKKNIFE_GROUPS)}",
            StatisticsWarning,
            stacklevel=3,
        )
    rho_slot = np.full(ks.size, -1, dtype=np.int64)
    rho_slot[rho_index] = np.arange(rho_index.size)
    t0 = time.perf_counter()
    with single_threaded_blas():
        inputs = NetworkInputs.build(net, rho0, ks, rho_slot)
    key = stream_key(entropy)
    acc = NetworkAccumulator(net, ks, rho_index, n_chunks, jackknife_groups, n_trajectories,
                             bool(keep_records))  # fmt: skip

    def check(a: NetworkAccumulator) -> None:
        leak = a.mean_leakage()
        if leak[-1] > leakage_tol:
            first = int(np.argmax(leak > leakage_tol))
            raise TruncationError(net.cutoff, float(leak[-1]), leakage_tol, int(ks[first]))

    def size_of(i: int) -> int:
        return min(chunk_size, n_trajectories - i * chunk_size)

    done = 0
    with Progress(progress, n_trajectories, unit="trajectories") as report:
        if report.displayed:
            from .network_kernel import run_network

            if not kernels_cached(run_network):
                report.write(COMPILE_NOTICE)
        report(done)
        tasks = (
            delayed(run_network_chunk)(inputs, i * chunk_size, size_of(i), key, i)
            for i in range(n_chunks)
        )
        with map_chunks(tasks, int(n_jobs), backend) as results:
            for chunk in results:
                done += chunk.n_trajectories
                report(done)
                acc.offer(chunk, check)
    warn_if_close(net.cutoff, float(acc.mean_leakage()[-1]), leakage_tol)
    with single_threaded_blas():
        return acc.result(seed=entropy, chunk_size=chunk_size,
                          wall_seconds=time.perf_counter() - t0, n_jobs=int(n_jobs),
                          backend=backend)  # fmt: skip
