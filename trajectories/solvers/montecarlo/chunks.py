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
from collections.abc import Sequence

import numpy as np

from ..._streams import INITIAL, first_uniforms, first_uniforms_stage
from ..._threads import single_threaded_blas
from .kernel_inputs import KernelInputs, PlanArrays, Records, ideal_beam, new_carry
from .reductions import ChunkSums

__all__ = [
    "Plan",
    "StageSpec",
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
    record_index : ndarray of int64, shape (C',), optional
        Indices into ``checkpoints`` of the columns of the per-trajectory records a chunk
        sends back (default None: every checkpoint). Empty: no per-trajectory record at
        all (``records="none"``); the chunk's reductions cover every checkpoint anyway.
    """

    checkpoints: np.ndarray  # (C,) int64, strictly increasing
    rho_slot: np.ndarray  # (C,) int64: index into the rho sums, -1 where rho is not kept
    max_jumps: int
    record_theta: bool = False
    record_index: np.ndarray | None = None

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
        diag = np.diagonal(rho).real
        top = int(np.argmax(diag))
        if diag[top] > 1 - tol and np.count_nonzero(rho) == 1:  # a Fock state: no eigh
            return cls(np.ones(1), np.eye(1, rho.shape[0], top, dtype=complex))
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
    The record arrays below may be cut by :meth:`kept` to the columns a run keeps (``C'``
    of the C checkpoints) and, for ``records="none"``, to no rows at all.

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
    collision_energy : ndarray of float64, shape (M, C)
        Energy the collisions brought in since collision 0: the sum over collisions of
        ``<n>`` just after minus ``<n>`` just before (``docs/MODEL.md``, Sec. 12).
    bath_energy : ndarray of float64, shape (M, C)
        Energy from the bath: ``<n>(k) - <n>(0)`` minus the collisions' energy and the
        resets' (a stage that replaced the state).
    qubit_energy : ndarray of float64, shape (M, C)
        Energy the qubits lost, ``(1 - q)`` minus [left in e] per collision of a Rabi stage
        (the collisions' energy in a Jaynes-Cummings stage).
    sums : ChunkSums, optional
        The chunk's reductions over every checkpoint (default: computed from the records,
        which must then cover every checkpoint). A chunk whose records were cut
        (:meth:`kept`) carries the sums of all its trajectories and checkpoints.
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
    collision_energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    bath_energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    qubit_energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    sums: ChunkSums | None = None

    def __post_init__(self) -> None:
        rows = self.fock.shape[0]  # n_trajectories, or 0 when no record is kept
        # records not kept: no columns, one row per record row (the records' shape)
        for name in ("theta", "collision_energy", "bath_energy", "qubit_energy"):
            a = getattr(self, name)
            if a.size == 0 and a.shape[0] != rows:
                object.__setattr__(self, name, np.zeros((rows, 0), a.dtype))
        if self.sums is None:
            object.__setattr__(self, "sums", ChunkSums.from_records(self))

    @property
    def has_records(self) -> bool:
        """Whether the chunk carries per-trajectory records (one row per trajectory)."""
        return self.fock.shape[0] == self.n_trajectories and self.n_trajectories > 0

    def kept(self, record_index: np.ndarray | None) -> ChunkResult:
        """The chunk with only the records a run keeps (its sums computed first).

        Parameters
        ----------
        record_index : ndarray of int64, shape (C',) or None
            Indices of the checkpoint columns to keep; None keeps everything; an empty
            array keeps no per-trajectory record at all (no rows).

        Returns
        -------
        ChunkResult
            The same chunk, its per-checkpoint records cut to ``C'`` columns (or to no
            rows), with the reductions of all its records.
        """
        if record_index is None:
            return self
        cut: dict[str, np.ndarray] = {}
        if record_index.size == 0:
            for name in _PER_ROW + _PER_CHECKPOINT:
                a = getattr(self, name)
                cut[name] = a[:0]
        else:
            for name in _PER_CHECKPOINT:
                a = getattr(self, name)
                cut[name] = np.ascontiguousarray(a[:, record_index]) if a.shape[1] else a
        return dataclasses.replace(self, sums=self.sums, **cut)


#: records with one row per trajectory and no checkpoint axis
_PER_ROW = ("alive", "jump_times", "jump_kinds", "n_jumps", "theta")
#: records with a checkpoint axis (axis 1)
_PER_CHECKPOINT = (
    "n_mean", "n2_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "fock",
    "collision_energy", "bath_energy", "qubit_energy",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One stage of a run as the chunks run it (a single model is one stage).

    Parameters
    ----------
    stage : int
        Its index in the protocol (the second word of its streams' counters).
    inputs : KernelInputs
        Its channels.
    first_k : int
        Global number of the collision before its first one.
    n_steps : int
        Collisions it runs (fewer than the stage has when the run's last checkpoint comes
        earlier).
    c0, c1 : int
        Its checkpoints are columns ``c0 .. c1 - 1`` of the records.
    reset : InitialStates or None
        The state that replaces each trajectory's at the stage's start (sampled from the
        stage's own stream 2), or None.
    q : float
        Ground-state population of its incoming qubits (the qubits' energy book).
    jaynes_cummings : bool
        Whether its collision is Jaynes-Cummings (the qubits' energy is then the
        collisions').
    """

    stage: int
    inputs: KernelInputs
    first_k: int
    n_steps: int
    c0: int
    c1: int
    reset: InitialStates | None = None
    q: float = 0.0
    jaynes_cummings: bool = True


def _moment(psi: np.ndarray) -> np.ndarray:
    """``<n>`` of each row of ``psi`` (M, N) (0 for a zero row)."""
    return (np.abs(psi) ** 2) @ np.arange(psi.shape[1], dtype=np.float64)


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

    A protocol's stages run one after the other (``inputs`` a sequence of
    :class:`StageSpec`): each stage calls its driver on the chunk's state vectors and carried
    records, which it hands on in place; stage ``s`` draws from the counters
    ``(0, s, i, stream)``, so one stage equals the single-model run bit for bit.

    Parameters
    ----------
    inputs : KernelInputs or sequence of StageSpec
        The run's channels as the drivers read them (a single model), or its stages.
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
    if isinstance(inputs, KernelInputs):
        specs: Sequence[StageSpec] = (
            StageSpec(0, inputs, 0, int(plan.checkpoints[-1]), 0, plan.checkpoints.size),
        )
    else:
        specs = inputs
    u = (
        first_uniforms(key, start, n_trajectories, INITIAL)
        if initial.weights.size > 1
        else np.zeros(n_trajectories)
    )
    psi = np.ascontiguousarray(initial.sample(u), dtype=np.complex128)
    m, n = psi.shape
    n_ck = plan.checkpoints.size
    n_branches = max(sp.inputs.n_branches for sp in specs)
    rec = chunk_records(m, n, plan, n_branches)
    rho_sum = rec.rho_sum  # complex: every stage adds its slots, back from its gauge
    carry = new_carry(m, n_branches)
    ever_alive = np.ones(m, dtype=np.bool_)
    n0 = _moment(psi)
    resets = np.zeros(m)
    reset_at = np.zeros((m, n_ck))
    books = True  # the qubits' book, (M, C) like every record
    qubits = np.zeros(m)
    qubit_energy = np.zeros((m, n_ck if books else 0))
    for sp in specs:
        if sp.reset is not None and sp.stage > 0:  # a fresh state, from the stage's stream 2
            w = sp.reset.weights.size
            u = first_uniforms_stage(key, sp.stage, start, m, INITIAL) if w > 1 else np.zeros(m)
            fresh = np.ascontiguousarray(sp.reset.sample(u), dtype=np.complex128)
            resets = resets + (_moment(fresh) - _moment(psi))
            psi = fresh
            carry.live[:] = True
        reset_at[:, sp.c0 : sp.c1] = resets[:, None]
        ins = sp.inputs
        col, dtype, beam = ins.collision, np.complex128, ins.beam_arrays
        real = ins.real_initial(psi) if real_path else None
        if real is not None and beam.spread != 0 and ins.real_beam is None:
            real = None  # a spread whose operators are not real in the gauge
        work = psi
        if real is not None:  # the same dynamics in the real gauge, in float64
            col, dtype, work = ins.real_collision, np.float64, real
            beam = ins.real_beam
            if beam is None:  # the ideal beam: its (unused) coefficients in float64
                beam = ideal_beam(ins.outcomes.branch.size, np.float64)
        work = np.ascontiguousarray(work, dtype=dtype)
        slots = plan.rho_slot[sp.c0 : sp.c1]
        kept = slots >= 0
        local_slot = np.full(slots.size, -1, dtype=np.int64)
        local_slot[kept] = np.arange(np.count_nonzero(kept))
        stage_rho = np.zeros((max(int(kept.sum()), 1), n, n), dtype=dtype)
        arrays = PlanArrays(
            np.ascontiguousarray(plan.checkpoints[sp.c0 : sp.c1] - sp.first_k), local_slot,
            int(plan.max_jumps), int(sp.stage), int(sp.first_k), int(sp.n_steps), int(sp.c0),
        )  # fmt: skip
        e_start = carry.energy.copy()
        g_start = carry.cg.sum(axis=1) + carry.ce.sum(axis=1)
        e_out_start = carry.ce.sum(axis=1)
        driver = run_banded if ins.driver == "banded" else run_sparse
        with single_threaded_blas():
            driver(work, col, ins.outcomes, ins.loss, beam, arrays, key, start,
                   rec._replace(rho_sum=stage_rho), carry)  # fmt: skip
        ever_alive &= carry.live
        if real is not None:  # back from the real gauge: rho_mn * g_m conj(g_n), psi_m * g_m
            stage_rho = stage_rho * np.outer(ins.gauge, ins.gauge.conj())
            psi = work * ins.gauge
        else:
            psi = work
        if kept.any():
            rho_sum[slots[kept]] = stage_rho[: int(kept.sum())]
        if books:  # the qubits' energy: its own count in a Rabi stage
            cols = slice(sp.c0, sp.c1)
            if sp.jaynes_cummings:
                qubit_energy[:, cols] = qubits[:, None] + (
                    rec.collision_energy[:, cols] - e_start[:, None]
                )
                qubits = qubits + (carry.energy - e_start)
            else:
                passed = rec.qubit_g[:, cols].sum(axis=2) + rec.qubit_e[:, cols].sum(axis=2)
                left_e = rec.qubit_e[:, cols].sum(axis=2)
                qubit_energy[:, cols] = qubits[:, None] + (
                    (1.0 - sp.q) * (passed - g_start[:, None]) - (left_e - e_out_start[:, None])
                )
                qubits = qubits + (
                    (1.0 - sp.q) * (carry.cg.sum(axis=1) + carry.ce.sum(axis=1) - g_start)
                    - (carry.ce.sum(axis=1) - e_out_start)
                )
    rec = rec._asdict()
    rec["alive"] = ever_alive & rec["alive"]
    rec["rho_sum"] = rho_sum
    rec["bath_energy"] = rec["n_mean"] - n0[:, None] - rec["collision_energy"] - reset_at
    rec["qubit_energy"] = qubit_energy
    return chunk_result(index, rec, plan, time.perf_counter() - t0).kept(plan.record_index)


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
        collision_energy=np.zeros((m, c)),
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
        n_alive=np.count_nonzero(rec["fock"] >= 0, axis=0).astype(np.int64),
        seconds=seconds,
        **rec,
    )
