"""Running one chunk of trajectories: seeds, initial states, records, the one chunk runner.

A chunk is the unit of parallel work: a contiguous range of trajectories, each drawing
from its own random streams (:mod:`trajectories._streams`), so a trajectory does not depend
on the chunk it runs in. A chunk returns sums and per-trajectory records (never the state
vectors), so memory stays bounded. :func:`run_chunk` runs any model:
the driver and its arrays come from :class:`~.kernel_inputs.KernelInputs`.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..._streams import INITIAL, first_uniforms
from ..._threads import single_threaded_blas
from .kernel_inputs import KernelInputs, PlanArrays, Records

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
    """What a run records: checkpoints, where to accumulate rho, jump-time capacity."""

    checkpoints: np.ndarray  # (C,) int64, strictly increasing
    rho_slot: np.ndarray  # (C,) int64: index into the rho sums, -1 where rho is not kept
    max_jumps: int

    @property
    def n_rho(self) -> int:
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
    """

    weights: np.ndarray  # (R,)
    vectors: np.ndarray  # (R, N) rows are the pure states

    @classmethod
    def from_density_matrix(cls, rho: np.ndarray, tol: float = 1e-14) -> InitialStates:
        w, v = np.linalg.eigh(rho)
        keep = w > tol
        if np.count_nonzero(keep) == 1 or (w[-1] > 1 - tol):
            return cls(np.ones(1), v[:, -1][None, :].copy())
        w = w[keep]
        return cls(w / w.sum(), v[:, keep].T.copy())

    def sample(self, u: np.ndarray) -> np.ndarray:
        """One initial vector per uniform draw ``u`` (shape ``(n,)``), shape ``(n, N)``; a
        pure state ignores the draws."""
        if self.weights.size == 1:
            return np.repeat(self.vectors, np.size(u), axis=0)
        cdf = np.cumsum(self.weights)
        idx = np.searchsorted(cdf, np.asarray(u) * cdf[-1], side="right")
        return self.vectors[np.minimum(idx, self.weights.size - 1)]


@dataclasses.dataclass(frozen=True)
class ChunkResult:
    """Everything one chunk sends back: sums for the estimators and per-trajectory records."""

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
    """Run trajectories ``start .. start + n_trajectories - 1`` of a run with the stream key
    ``key`` (:func:`trajectories._streams.stream_key` of its seed), as chunk ``index``.

    Every trajectory draws from its own streams (:mod:`trajectories._streams`), so it is the
    same whichever chunk it runs in. The banded driver runs in float64 in the real gauge when
    the operators and every initial vector are real there (the default vacuum, Fock states
    and their mixtures), else on complex vectors; both draw the same random numbers and give
    the same records up to rounding. ``real_path=False`` forces the complex vectors (for
    tests).
    """
    from .kernels import run_banded, run_sparse  # compiled on first use

    t0 = time.perf_counter()
    col, dtype = inputs.collision, np.complex128
    real = inputs.real_initial(initial.vectors) if real_path else None
    if real is not None:  # the same dynamics in the real gauge, in float64
        col, dtype, initial = (
            inputs.real_collision,
            np.float64,
            InitialStates(initial.weights, real),
        )
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
        driver(psi0, col, inputs.outcomes, inputs.loss, plan.arrays, key, start, rec)
    rec = rec._asdict()
    if real is not None:  # back from the real gauge: rho_mn * g_m conj(g_n)
        rec["rho_sum"] = rec["rho_sum"] * np.outer(inputs.gauge, inputs.gauge.conj())
    return chunk_result(index, rec, plan, time.perf_counter() - t0)


def chunk_records(
    m: int, n: int, plan: Plan, n_branches: int, dtype: type = np.complex128
) -> Records:
    """Zeroed record arrays of one chunk of ``m`` trajectories on ``n`` levels (``rho_sum``
    holds upper triangles)."""
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
    )


def chunk_result(index: int, rec: dict[str, np.ndarray], plan: Plan, seconds: float) -> ChunkResult:
    """Wrap filled records; the kernels fill upper triangles: complete the Hermitian sums."""
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
