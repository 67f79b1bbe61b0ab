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

from ..._threads import single_threaded_blas
from ...channels.jaynes_cummings import CollisionChannel
from ...channels.loss import decay_rates, population_channel
from ...model.micromaser import Micromaser
from .kernels.banded import run_trajectories

__all__ = [
    "KernelArrays",
    "Plan",
    "InitialStates",
    "ChunkResult",
    "run_chunk",
    "chunk_seed",
    "chunk_generators",
    "chunk_records",
    "chunk_result",
]


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
    # the real gauge (see :func:`real_gauge`): phases g_n and the real Kraus operators
    # G^dag K_j G up to a phase each; None where that gauge does not make them real
    gauge: np.ndarray | None = None  # (N,) complex, |g_n| = 1
    kd_real: np.ndarray | None = None  # (K, N) float
    ko_real: np.ndarray | None = None  # (K, N) float

    @classmethod
    def from_model(cls, model: Micromaser) -> KernelArrays:
        with single_threaded_blas():
            kraus = CollisionChannel(model).kraus
            _, leak_vector = population_channel(model)  # the kernels need only this block
        rates = decay_rates(model.gamma_tr, model.nbar, model.cutoff)
        kd = np.array([k.diag for k in kraus], dtype=np.complex128)
        ko = np.array([k.off for k in kraus], dtype=np.complex128)
        ks = np.array([k.shift for k in kraus], dtype=np.int64)
        gauge = real_gauge(model)
        real = _real_kraus(kd, ko, ks, gauge)
        return cls(
            kd=kd,
            ko=ko,
            ks=ks,
            kleak2=np.array([abs(k.leak) ** 2 for k in kraus]),
            kbranch=np.array([k.branch for k in kraus], dtype=np.int64),
            kis_g=np.array([k.outcome == "g" for k in kraus]),
            n_branches=1 + max(k.branch for k in kraus),
            gamma=model.gamma_tr,
            nbar=model.nbar,
            full_decay=np.exp(-rates),
            full_damp=np.exp(-0.5 * rates),
            loss_leak=np.ascontiguousarray(leak_vector),
            gauge=None if real is None else gauge,
            kd_real=None if real is None else real[0],
            ko_real=None if real is None else real[1],
        )

    def real_initial(self, initial: InitialStates) -> InitialStates | None:
        """``initial`` in the real gauge (real vectors), or None if not real there."""
        if self.gauge is None:
            return None
        vectors = _real_rows(initial.vectors * self.gauge.conj())
        return None if vectors is None else InitialStates(initial.weights, vectors)


#: Largest imaginary part, relative to the largest modulus, that the real gauge drops:
#: a few roundings of the phases (exactly 0 for real c, where the phases are powers of i).
REAL_GAUGE_TOL = 1e-14


def real_gauge(model: Micromaser) -> np.ndarray:
    r"""Phases ``g_n = (i e^{i phi})^n``, ``phi = arg c``, that make the dynamics real.

    With ``psi_n = g_n phi_n`` the Jaynes-Cummings Kraus operators become
    :math:`G^\dagger K_j G` (``G = diag(g)``): the diagonals are unchanged, an
    off-diagonal from level ``n -/+ 1`` to ``n`` gets the factor ``g_{n -/+ 1} / g_n``
    = ``w^{-/+1}``, ``w = i e^{i phi}``, which cancels the ``-i`` of ``U_ge``, ``U_eg``
    and the phase of the qubit's coherence (both qubit amplitudes of each branch
    carry the relative phase ``arg c`` or ``arg c + pi``), so each operator is real up
    to one overall phase. The loss channel is diagonal in ``n`` (no-jump evolution)
    or a shift by one level (``a``, ``a^dag``: an overall phase ``w^{+/-1}``), so it
    stays real. Overall phases of a trajectory change no record; the coherences
    ``rho_mn`` get back the factor ``g_m conj(g_n)``.
    """
    n = np.arange(model.cutoff)
    k = model.qubit_state[0, 1]
    phi = float(np.angle(k)) if k != 0 else 0.0
    i_pow = np.array([1.0, 1.0j, -1.0, -1.0j])[n % 4]  # i^n, exactly
    return i_pow * np.exp(1j * phi * n) if phi != 0.0 else i_pow


def _real_rows(rows: np.ndarray) -> np.ndarray | None:
    """Each row times the phase that makes its largest entry real and positive, as real
    numbers; None if any row keeps an imaginary part above :data:`REAL_GAUGE_TOL`."""
    rows = np.atleast_2d(rows)
    big = np.argmax(np.abs(rows), axis=1)
    top = rows[np.arange(rows.shape[0]), big]
    phase = np.where(top != 0, np.conj(top) / np.where(top != 0, np.abs(top), 1.0), 1.0)
    turned = rows * phase[:, None]
    scale = np.abs(top)
    if np.any(np.abs(turned.imag) > REAL_GAUGE_TOL * scale[:, None]):
        return None
    return np.ascontiguousarray(turned.real)


def _real_kraus(
    kd: np.ndarray, ko: np.ndarray, ks: np.ndarray, gauge: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The banded Kraus operators in the gauge ``gauge`` as real arrays (one overall
    phase per operator dropped), or None if they are not real there."""
    g = gauge
    ko_g = np.empty_like(ko)
    for j, s in enumerate(ks):
        if s == 1:  # row m from column m - 1
            ko_g[j, 1:] = g[1:].conj() * ko[j, 1:] * g[:-1]
            ko_g[j, 0] = ko[j, 0]
        else:  # row m from column m + 1
            ko_g[j, :-1] = g[:-1].conj() * ko[j, :-1] * g[1:]
            ko_g[j, -1] = ko[j, -1]
    both = _real_rows(np.concatenate([kd, ko_g], axis=1))
    if both is None:
        return None
    n = kd.shape[1]
    return np.ascontiguousarray(both[:, :n]), np.ascontiguousarray(both[:, n:])


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
    real_path: bool = True,
) -> ChunkResult:
    """Run ``n_trajectories`` trajectories with the chunk seed ``seed``.

    The kernel runs in float64 in the real gauge (:func:`real_gauge`) when the Kraus
    operators and every initial vector are real there (the default vacuum, Fock
    states and their mixtures), else on complex vectors; both draw the same random
    numbers and give the same records up to rounding. ``real_path=False`` forces
    the complex vectors (for tests).
    """
    t0 = time.perf_counter()
    rng, rng_meas, rng_init = chunk_generators(seed)
    real = arrays.real_initial(initial) if real_path else None
    if real is None:  # complex state vectors
        kd, ko, dtype = arrays.kd, arrays.ko, np.complex128
    else:  # the same dynamics in the real gauge, in float64
        kd, ko, dtype, initial = arrays.kd_real, arrays.ko_real, np.float64, real
    psi0 = np.ascontiguousarray(initial.sample(n_trajectories, rng_init), dtype=dtype)
    m, n = psi0.shape
    rec = chunk_records(m, n, plan, arrays.n_branches, dtype)  # rho real in the real gauge
    with single_threaded_blas():
        run_trajectories(
            psi0, kd, ko, arrays.ks, arrays.kleak2, arrays.kbranch, arrays.kis_g,
            arrays.n_branches, arrays.gamma, arrays.nbar, arrays.full_decay, arrays.full_damp,
            arrays.loss_leak, plan.checkpoints, plan.rho_slot, rng, rng_meas, plan.max_jumps,
            *rec.values(),
        )  # fmt: skip
    if real is not None:  # back from the real gauge: rho_mn * g_m conj(g_n)
        rec["rho_sum"] = rec["rho_sum"] * np.outer(arrays.gauge, arrays.gauge.conj())
    return chunk_result(index, rec, plan, time.perf_counter() - t0)


def chunk_generators(
    seed: np.random.SeedSequence,
) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """The chunk's three generators: dynamics, Fock-outcome samples, initial states."""
    dyn_seed, meas_seed, init_seed = seed.spawn(3)
    return tuple(np.random.Generator(np.random.PCG64(s)) for s in (dyn_seed, meas_seed, init_seed))


def chunk_records(
    m: int, n: int, plan: Plan, n_branches: int, dtype: type = np.complex128
) -> dict[str, np.ndarray]:
    """Zeroed record arrays of one chunk of ``m`` trajectories on ``n`` levels, in the
    order of the kernels' last arguments (``rho_sum`` holds upper triangles)."""
    c, j = plan.checkpoints.size, plan.max_jumps
    return dict(
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
