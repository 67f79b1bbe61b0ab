"""Running one chunk of trajectories: kernel inputs from a model, seeds, initial states.

A chunk is the unit of parallel work and of reproducibility: chunk ``i`` of a run
with seed ``s`` always uses ``SeedSequence(s, spawn_key=(i,))`` whatever the
number of workers or the backend, and returns sums and per-trajectory records
(never the state vectors), so memory stays bounded (SPEC Secs. 2.3, 4, 6).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ._threads import single_threaded_blas
from .collision import CollisionChannel
from .kernels import run_trajectories
from .loss import decay_rates, population_channel
from .model import Micromaser

__all__ = ["KernelArrays", "Plan", "InitialStates", "ChunkResult", "run_chunk", "chunk_seed"]


def chunk_seed(entropy: int, index: int) -> np.random.SeedSequence:
    """The seed of chunk ``index`` of a run with root entropy ``entropy``."""
    return np.random.SeedSequence(entropy, spawn_key=(index,))


@dataclasses.dataclass(frozen=True)
class KernelArrays:
    """The model as flat arrays for :func:`trajectories.kernels.run_trajectories`."""

    kd: np.ndarray  # (K, N) complex: Kraus diagonals
    ko: np.ndarray  # (K, N) complex: Kraus shifted diagonals (by output row)
    ks: np.ndarray  # (K,) int64: shifts (+1: outcome g, -1: outcome e)
    kleak2: np.ndarray  # (K,) float: |amplitude N-1 -> N|^2
    kbranch: np.ndarray  # (K,) int64: qubit branch j
    kis_g: np.ndarray  # (K,) bool: outcome g
    n_branches: int
    gamma: float
    nbar: float
    full_decay: np.ndarray  # (N,) exp(-Gamma_n t_r)
    full_damp: np.ndarray  # (N,) exp(-Gamma_n t_r / 2)
    loss_leak: np.ndarray  # (N,) probability to leak during one interval from level n

    @classmethod
    def from_model(cls, model: Micromaser) -> KernelArrays:
        with single_threaded_blas():
            kraus = CollisionChannel(model).kraus
            _, leak_vector = population_channel(model)  # the kernels need only this block
        rates = decay_rates(model.gamma_tr, model.nbar, model.cutoff)
        return cls(
            kd=np.array([k.diag for k in kraus], dtype=np.complex128),
            ko=np.array([k.off for k in kraus], dtype=np.complex128),
            ks=np.array([k.shift for k in kraus], dtype=np.int64),
            kleak2=np.array([abs(k.leak) ** 2 for k in kraus]),
            kbranch=np.array([k.branch for k in kraus], dtype=np.int64),
            kis_g=np.array([k.outcome == "g" for k in kraus]),
            n_branches=1 + max(k.branch for k in kraus),
            gamma=model.gamma_tr,
            nbar=model.nbar,
            full_decay=np.exp(-rates),
            full_damp=np.exp(-0.5 * rates),
            loss_leak=np.ascontiguousarray(leak_vector),
        )


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run records: checkpoints, where to accumulate rho, jump-time capacity."""

    checkpoints: np.ndarray  # (C,) int64, strictly increasing
    rho_slot: np.ndarray  # (C,) int64: index into the rho sums, -1 where rho is not kept
    max_jumps: int

    @property
    def n_rho(self) -> int:
        return int(np.count_nonzero(self.rho_slot >= 0))


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

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.weights.size == 1:
            return np.repeat(self.vectors, n, axis=0)
        idx = rng.choice(self.weights.size, size=n, p=self.weights)
        return self.vectors[idx]


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
    arrays: KernelArrays,
    plan: Plan,
    initial: InitialStates,
    n_trajectories: int,
    seed: np.random.SeedSequence,
    index: int,
) -> ChunkResult:
    """Run ``n_trajectories`` trajectories with the chunk seed ``seed``."""
    t0 = time.perf_counter()
    dyn_seed, meas_seed, init_seed = seed.spawn(3)
    rng = np.random.Generator(np.random.PCG64(dyn_seed))
    rng_meas = np.random.Generator(np.random.PCG64(meas_seed))
    psi0 = np.ascontiguousarray(
        initial.sample(n_trajectories, np.random.Generator(np.random.PCG64(init_seed))),
        dtype=np.complex128,
    )
    m, n = psi0.shape
    c = plan.checkpoints.size
    b = arrays.n_branches
    j = plan.max_jumps
    rho_sum = np.zeros((max(plan.n_rho, 1), n, n), dtype=np.complex128)
    out = dict(
        n_mean=np.zeros((m, c)),
        n2_mean=np.zeros((m, c)),
        qubit_g=np.zeros((m, c, b), dtype=np.int32),
        qubit_e=np.zeros((m, c, b), dtype=np.int32),
        emissions=np.zeros((m, c), dtype=np.int32),
        absorptions=np.zeros((m, c), dtype=np.int32),
        alive=np.zeros(m, dtype=np.bool_),
    )
    leak = np.zeros(c)
    jump_times = np.full((m, j), np.nan)
    jump_kinds = np.zeros((m, j), dtype=np.int8)
    n_jumps = np.zeros(m, dtype=np.int64)
    fock = np.zeros((m, c), dtype=np.int32)
    with single_threaded_blas():
        run_trajectories(
            psi0, arrays.kd, arrays.ko, arrays.ks, arrays.kleak2, arrays.kbranch, arrays.kis_g,
            arrays.n_branches, arrays.gamma, arrays.nbar, arrays.full_decay, arrays.full_damp,
            arrays.loss_leak, plan.checkpoints, plan.rho_slot, rng, rng_meas, j,
            out["n_mean"], out["n2_mean"], out["qubit_g"], out["qubit_e"], out["emissions"],
            out["absorptions"], out["alive"], leak, rho_sum, jump_times, jump_kinds, n_jumps,
            fock,
        )  # fmt: skip
    # the kernel fills upper triangles: complete the Hermitian matrices
    upper = np.triu(rho_sum, 1)
    rho_sum = np.triu(rho_sum) + upper.conj().transpose(0, 2, 1)
    if plan.n_rho == 0:
        rho_sum = rho_sum[:0]
    return ChunkResult(
        index=index,
        n_trajectories=m,
        rho_sum=rho_sum,
        n_alive=np.count_nonzero(fock >= 0, axis=0),
        leak_expected=leak,
        fock=fock,
        jump_times=jump_times,
        jump_kinds=jump_kinds,
        n_jumps=n_jumps,
        seconds=time.perf_counter() - t0,
        **out,
    )
