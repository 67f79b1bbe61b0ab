"""Running one chunk of trajectories: seeds, initial states, records, the one chunk runner.

A chunk is the unit of parallel work: a contiguous range of trajectories, each drawing
from its own random streams (:mod:`trajectories._streams`), so a trajectory does not depend
on the chunk it runs in. A chunk returns sums and per-trajectory records (never the state
vectors), so memory stays bounded. :func:`run_chunk` runs any model: the driver and its
arrays come from :class:`~trajectories.solvers.montecarlo.kernel_inputs.KernelInputs`. The
unravelling is ``docs/MODEL.md``, Sec. 3; the records, Sec. 4.

Shapes: M trajectories in the chunk, N Fock levels (the cutoff), C checkpoints, R of them
keeping rho, B qubit branches (1 for pure qubits, else 2), J = ``max_jumps``.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..._streams import INITIAL, first_uniforms
from ..._threads import single_threaded_blas
from .kernel_inputs import KernelInputs, PlanArrays, Records, ideal_beam

__all__ = [
    "Plan",
    "InitialStates",
    "ChunkResult",
    "run_chunk",
    "chunk_records",
    "chunk_result",
]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run records: checkpoints, where to accumulate rho, jump-time capacity.

    Parameters
    ----------
    checkpoints : ndarray of int64, shape (C,)
        Collision counts at which the records are taken, strictly increasing from ``>= 0``.
    rho_slot : ndarray of int64, shape (C,)
        Index into the rho sums of each checkpoint, -1 where rho is not kept.
    max_jumps : int
        Jump times recorded per trajectory (``>= 0``).
    record_theta : bool, optional
        Record each qubit's relative strength ``x`` (``theta_i = theta x``) per trajectory
        and collision (default False).
    """

    checkpoints: np.ndarray  # (C,) int64, strictly increasing
    rho_slot: np.ndarray  # (C,) int64: index into the rho sums, -1 where rho is not kept
    max_jumps: int
    record_theta: bool = False

    @property
    def n_rho(self) -> int:
        """Number R of checkpoints that keep rho (``rho_slot >= 0``)."""
        return int(np.count_nonzero(self.rho_slot >= 0))

    @property
    def arrays(self) -> PlanArrays:
        """The plan as the compiled drivers read it."""
        return PlanArrays(self.checkpoints, self.rho_slot, int(self.max_jumps))


@dataclasses.dataclass(frozen=True)
class InitialStates:
    """Pure initial states sampled from a density matrix's eigendecomposition.

    ``rho = sum_k w_k |v_k><v_k|``; each trajectory starts in ``v_k`` with probability
    ``w_k``. A pure state (or the vacuum) has a single component and draws nothing.

    Parameters
    ----------
    weights : ndarray of float64, shape (K,)
        Probabilities ``w_k`` of the components, summing to 1.
    vectors : ndarray of complex128, shape (K, N)
        The normalised pure states ``v_k``, one per row.

    Examples
    --------
    >>> import numpy as np
    >>> mixed = InitialStates.from_density_matrix(np.diag([0.25, 0.75, 0.0]))
    >>> mixed.weights.round(12).tolist()
    [0.25, 0.75]
    >>> abs(mixed.sample(np.array([0.2, 0.7]))).round(12).tolist()  # |0>, then |1>
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    weights: np.ndarray  # (K,)
    vectors: np.ndarray  # (K, N) rows are the pure states

    @classmethod
    def from_density_matrix(cls, rho: np.ndarray, tol: float = 1e-14) -> InitialStates:
        """The eigendecomposition of ``rho``, keeping eigenvalues above ``tol``.

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            A density matrix (Hermitian, unit trace, validated by the caller).
        tol : float, optional
            Eigenvalues at or below it are dropped; a largest eigenvalue above ``1 - tol``
            makes the state pure (one component).

        Returns
        -------
        InitialStates
            The kept components, weights renormalised to sum to 1.
        """
        w, v = np.linalg.eigh(rho)
        keep = w > tol
        if np.count_nonzero(keep) == 1 or (w[-1] > 1 - tol):
            return cls(np.ones(1), v[:, -1][None, :].copy())
        w = w[keep]
        return cls(w / w.sum(), v[:, keep].T.copy())

    def sample(self, u: np.ndarray) -> np.ndarray:
        """One initial vector per uniform draw; a pure state ignores the draws.

        Parameters
        ----------
        u : ndarray of float64, shape (M,)
            Uniform draws on [0, 1), one per trajectory.

        Returns
        -------
        ndarray, shape (M, N)
            Row ``i`` is ``v_k`` for the first ``k`` whose cumulative weight exceeds ``u[i]``.
        """
        if self.weights.size == 1:
            return np.repeat(self.vectors, np.size(u), axis=0)
        cdf = np.cumsum(self.weights)
        idx = np.searchsorted(cdf, np.asarray(u) * cdf[-1], side="right")
        return self.vectors[np.minimum(idx, self.weights.size - 1)]


@dataclasses.dataclass(frozen=True)
class ChunkResult:
    r"""Everything one chunk sends back: sums for the estimators and per-trajectory records.

    Counts are cumulative from collision 0 to each checkpoint (``docs/MODEL.md``, Sec. 4).

    Parameters
    ----------
    index : int
        Chunk index (its trajectories are ``index * chunk_size ...``).
    n_trajectories : int
        M, the trajectories in the chunk.
    rho_sum : ndarray of complex128, shape (R, N, N)
        Hermitian sum of :math:`|\psi\rangle\langle\psi|` over the chunk's trajectories
        at the checkpoints keeping rho (shape ``(0, N, N)`` when none does).
    n_alive : ndarray of int64, shape (C,)
        Trajectories not leaked at each checkpoint (the sum of :math:`\|\psi\|^4`).
    leak_expected : ndarray of float64, shape (C,)
        Sum over the trajectories of the expected population lost through the cutoff up
        to each checkpoint.
    n_mean, n2_mean : ndarray of float64, shape (M, C)
        :math:`\langle n\rangle_i` and :math:`\langle n^2\rangle_i` of each conditional
        state (photons; 0 once a trajectory leaked).
    qubit_g, qubit_e : ndarray of int32, shape (M, C, B)
        Qubits that left in g, in e, per branch ``j`` of the incoming qubit (for ``c = 0``:
        0 = came in excited, 1 = came in ground).
    emissions, absorptions : ndarray of int32, shape (M, C)
        Photons emitted into and absorbed from the bath.
    fock : ndarray of int32, shape (M, C)
        One photon number sampled from each conditional state (-1 once leaked).
    alive : ndarray of bool, shape (M,)
        False for a trajectory that leaked through the cutoff.
    jump_times : ndarray of float64, shape (M, J)
        Times of the first J jumps, in units of ``t_r`` from the first loss interval (the
        interval after collision ``k`` spans ``[k - 1, k)``), NaN-padded.
    jump_kinds : ndarray of int8, shape (M, J)
        +1 absorption, -1 emission, 0 no jump.
    n_jumps : ndarray of int64, shape (M,)
        All jumps of each trajectory, also those beyond J.
    seconds : float
        Wall-clock time of the chunk.
    theta : ndarray of float32, shape (M, K) or (M, 0)
        Each qubit's relative strength ``x`` (``theta_i = theta x``) at collisions
        ``1 .. K`` when recorded (``record_theta``; NaN after a leak), else no columns.
    """

    index: int
    n_trajectories: int
    rho_sum: np.ndarray  # (R, N, N) complex, Hermitian: sum of |psi><psi|
    n_alive: np.ndarray  # (C,) trajectories not leaked at each checkpoint = sum of ||psi||^4
    leak_expected: np.ndarray  # (C,) sum over trajectories of the expected leaked weight
    n_mean: np.ndarray  # (M, C)
    n2_mean: np.ndarray  # (M, C)
    qubit_g: np.ndarray  # (M, C, B) int32
    qubit_e: np.ndarray  # (M, C, B) int32
    emissions: np.ndarray  # (M, C) int32
    absorptions: np.ndarray  # (M, C) int32
    fock: np.ndarray  # (M, C) int32
    alive: np.ndarray  # (M,) bool
    jump_times: np.ndarray  # (M, J) float, NaN-padded
    jump_kinds: np.ndarray  # (M, J) int8: +1 absorption, -1 emission, 0 none
    n_jumps: np.ndarray  # (M,) int64: all jumps, also those beyond J
    seconds: float
    theta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.float32))

    def __post_init__(self) -> None:
        if self.theta.size == 0 and self.theta.shape[0] != self.n_trajectories:
            # not recorded: no columns, one row per trajectory (the records' shape)
            object.__setattr__(self, "theta", np.zeros((self.n_trajectories, 0), np.float32))


def run_chunk(
    inputs: KernelInputs,
    plan: Plan,
    initial: InitialStates,
    start: int,
    n_trajectories: int,
    key: np.ndarray,
    index: int,
    real_path: bool = True,
) -> ChunkResult:
    """Run trajectories ``start .. start + n_trajectories - 1`` of a run as chunk ``index``.

    Every trajectory draws from its own streams (:mod:`trajectories._streams`), so it is the
    same whichever chunk it runs in. The banded driver runs in float64 in the real gauge when
    the operators and every initial vector are real there (the default vacuum, Fock states
    and their mixtures), else on complex vectors; both draw the same random numbers and give
    the same records up to rounding.

    Parameters
    ----------
    inputs : KernelInputs
        The run's channels as the drivers read them.
    plan : Plan
        What to record.
    initial : InitialStates
        The initial state, as pure components.
    start : int
        Index of the chunk's first trajectory in the run.
    n_trajectories : int
        M, the trajectories to run.
    key : ndarray of uint64, shape (2,)
        The run's Philox key (``trajectories._streams.stream_key`` of its seed).
    index : int
        The chunk index stored in the result.
    real_path : bool, optional
        False forces the complex vectors (for tests).

    Returns
    -------
    ChunkResult
        The chunk's sums and records.
    """
    from .kernels import run_banded, run_sparse  # compiled on first use

    t0 = time.perf_counter()
    col, dtype, beam = inputs.collision, np.complex128, inputs.beam_arrays
    real = inputs.real_initial(initial.vectors) if real_path else None
    if real is not None and beam.spread != 0 and inputs.real_beam is None:
        real = None  # a spread whose operators are not real in the gauge
    if real is not None:  # the same dynamics in the real gauge, in float64
        col, dtype, initial = (
            inputs.real_collision,
            np.float64,
            InitialStates(initial.weights, real),
        )
        beam = inputs.real_beam
        if beam is None:  # the ideal beam: its (unused) coefficients in float64
            beam = ideal_beam(inputs.outcomes.branch.size, np.float64)
    u = (
        first_uniforms(key, start, n_trajectories, INITIAL)
        if initial.weights.size > 1
        else np.zeros(n_trajectories)
    )
    psi0 = np.ascontiguousarray(initial.sample(u), dtype=dtype)
    m, n = psi0.shape
    rec = chunk_records(m, n, plan, inputs.n_branches, dtype)  # rho real in the real gauge
    driver = run_banded if inputs.driver == "banded" else run_sparse
    with single_threaded_blas():
        driver(psi0, col, inputs.outcomes, inputs.loss, beam, plan.arrays, key, start, rec)
    rec = rec._asdict()
    if real is not None:  # back from the real gauge: rho_mn * g_m conj(g_n)
        rec["rho_sum"] = rec["rho_sum"] * np.outer(inputs.gauge, inputs.gauge.conj())
    return chunk_result(index, rec, plan, time.perf_counter() - t0)


def chunk_records(
    m: int, n: int, plan: Plan, n_branches: int, dtype: type = np.complex128
) -> Records:
    """Zeroed record arrays of one chunk, for the kernels to fill.

    Parameters
    ----------
    m : int
        Trajectories in the chunk (M).
    n : int
        Fock levels (N).
    plan : Plan
        The checkpoints (C), rho slots (R) and ``max_jumps`` (J).
    n_branches : int
        Qubit branches (B).
    dtype : type, optional
        Of ``rho_sum``: complex128, or float64 in the real gauge.

    Returns
    -------
    Records
        The arrays of :class:`ChunkResult` with their shapes (``fock`` zeros, ``jump_times``
        NaN), ``alive`` False, ``leak_expected`` zeros of shape (C,), ``rho_sum`` of
        shape ``(max(R, 1), N, N)`` whose upper triangles the kernels fill, and ``theta``
        NaN of shape (M, K) with ``record_theta`` (K the last checkpoint), else (M, 0).
    """
    c, j = plan.checkpoints.size, plan.max_jumps
    return Records(
        n_mean=np.zeros((m, c)),
        n2_mean=np.zeros((m, c)),
        qubit_g=np.zeros((m, c, n_branches), dtype=np.int32),
        qubit_e=np.zeros((m, c, n_branches), dtype=np.int32),
        emissions=np.zeros((m, c), dtype=np.int32),
        absorptions=np.zeros((m, c), dtype=np.int32),
        alive=np.zeros(m, dtype=np.bool_),
        leak_expected=np.zeros(c),
        rho_sum=np.zeros((max(plan.n_rho, 1), n, n), dtype=dtype),
        jump_times=np.full((m, j), np.nan),
        jump_kinds=np.zeros((m, j), dtype=np.int8),
        n_jumps=np.zeros(m, dtype=np.int64),
        fock=np.zeros((m, c), dtype=np.int32),
        theta=np.full(
            (m, int(plan.checkpoints[-1]) if plan.record_theta else 0), np.nan, dtype=np.float32
        ),
    )


def chunk_result(index: int, rec: dict[str, np.ndarray], plan: Plan, seconds: float) -> ChunkResult:
    """Wrap filled records into a :class:`ChunkResult`, completing the Hermitian rho sums.

    Parameters
    ----------
    index : int
        Chunk index.
    rec : dict of str to ndarray
        The filled :class:`~trajectories.solvers.montecarlo.kernel_inputs.Records` as a
        dict; ``rho_sum`` (upper triangles) is removed from it.
    plan : Plan
        The run's plan (R = 0 drops the placeholder rho sum).
    seconds : float
        Wall-clock time of the chunk.

    Returns
    -------
    ChunkResult
        With ``rho_sum`` Hermitian and ``n_alive`` counted from ``fock >= 0``.
    """
    rho_sum = rec.pop("rho_sum")
    upper = np.triu(rho_sum, 1)
    rho_sum = np.triu(rho_sum) + upper.conj().transpose(0, 2, 1)
    if plan.n_rho == 0:
        rho_sum = rho_sum[:0]
    return ChunkResult(
        index=index,
        n_trajectories=rec["fock"].shape[0],
        rho_sum=rho_sum,
        n_alive=np.count_nonzero(rec["fock"] >= 0, axis=0),
        seconds=seconds,
        **rec,
    )
