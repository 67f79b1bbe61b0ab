"""Running a chunk of trajectories with a general (Rabi) collision: kernel inputs and records.

The counterpart of :mod:`trajectories.unravel` for models whose collision is not
Jaynes-Cummings. The Kraus sets of every distinct collision phase are built once per
run (:class:`~trajectories.counter_rotating.RabiCollision`): one set when all collisions
are alike, ``period`` sets for a periodic schedule, one per collision otherwise (its
memory is checked before any work). Seeds, records and reduction are those of
:func:`trajectories.unravel.run_chunk`.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..._threads import single_threaded_blas
from ...channels.loss import decay_rates, population_channel
from ...channels.rabi import RabiCollision
from ...model.micromaser import Micromaser
from .chunks import ChunkResult, InitialStates, Plan, chunk_generators, chunk_records, chunk_result
from .kernels.general import run_trajectories_general

__all__ = ["GeneralKernelArrays", "run_chunk_general", "MAX_KRAUS_BYTES"]

#: Largest memory the per-collision Kraus sets may take (bytes).
MAX_KRAUS_BYTES = 2 * 1024**3


@dataclasses.dataclass(frozen=True)
class GeneralKernelArrays:
    """A Rabi model as flat arrays for :func:`run_trajectories_general`."""

    offs: np.ndarray  # (S, K, D) int64
    vals: np.ndarray  # (S, K, D, N) complex
    nd: np.ndarray  # (S, K) int64
    leak_start: np.ndarray  # (S,) int64
    leak_blk: np.ndarray  # (S, B, B) complex
    step_set: np.ndarray  # (k_max + 1,) int64
    kbranch: np.ndarray  # (K,) int64
    kis_g: np.ndarray  # (K,) bool
    n_branches: int
    gamma: float
    nbar: float
    full_decay: np.ndarray
    full_damp: np.ndarray
    loss_leak: np.ndarray

    @classmethod
    def from_model(cls, model: Micromaser, n_collisions: int) -> GeneralKernelArrays:
        """Kraus sets for collisions ``1 .. n_collisions`` of ``model``."""
        n = model.cutoff
        with single_threaded_blas():
            col = RabiCollision(model)
            n_sets = col.period if col.is_periodic else max(n_collisions, 1)
            n_sets = min(n_sets, max(n_collisions, 1))
            first = col.at(1)
            n_ops = len(first.kraus)
            need = n_sets * n_ops * (2 * n - 1) * n * 16
            if need > MAX_KRAUS_BYTES:
                raise ValueError(
                    f"the collision phases do not repeat (omega_tr = "
                    f"{model.collision.omega_tr!r}): trajectories need {n_sets} Kraus sets, "
                    f"up to {need / 1024**3:.1f} GiB, above the limit of "
                    f"{MAX_KRAUS_BYTES / 1024**3:.0f} GiB; choose omega_tr with a short period "
                    "(e.g. a multiple of pi) or use solve_exact, which builds them one at a time"
                )
            sets = [col.at(s + 1) for s in range(n_sets)]
            _, leak_vector = population_channel(model)
        width = max(k.offsets.size for ch in sets for k in ch.kraus)
        blk = max(ch.leak_block.shape[0] for ch in sets)
        offs = np.zeros((n_sets, n_ops, width), dtype=np.int64)
        vals = np.zeros((n_sets, n_ops, width, n), dtype=np.complex128)
        nd = np.zeros((n_sets, n_ops), dtype=np.int64)
        leak_start = np.zeros(n_sets, dtype=np.int64)
        leak_blk = np.zeros((n_sets, blk, blk), dtype=np.complex128)
        for s, ch in enumerate(sets):
            for j, k in enumerate(ch.kraus):
                d = k.offsets.size
                offs[s, j, :d] = k.offsets
                vals[s, j, :d] = k.values
                nd[s, j] = d
            b = ch.leak_block.shape[0]
            leak_start[s] = ch.leak_start
            leak_blk[s, :b, :b] = ch.leak_block
        step_set = np.zeros(n_collisions + 1, dtype=np.int64)
        for k in range(1, n_collisions + 1):
            step_set[k] = col.set_index(k) % n_sets
        rates = decay_rates(model.gamma_tr, model.nbar, n)
        return cls(
            offs=offs,
            vals=vals,
            nd=nd,
            leak_start=leak_start,
            leak_blk=leak_blk,
            step_set=step_set,
            kbranch=np.array([k.branch for k in first.kraus], dtype=np.int64),
            kis_g=np.array([k.outcome == "g" for k in first.kraus]),
            n_branches=1 + max(k.branch for k in first.kraus),
            gamma=model.gamma_tr,
            nbar=model.nbar,
            full_decay=np.exp(-rates),
            full_damp=np.exp(-0.5 * rates),
            loss_leak=np.ascontiguousarray(leak_vector),
        )


def run_chunk_general(
    arrays: GeneralKernelArrays,
    plan: Plan,
    initial: InitialStates,
    n_trajectories: int,
    seed: np.random.SeedSequence,
    index: int,
) -> ChunkResult:
    """Run ``n_trajectories`` trajectories of a Rabi model with the chunk seed ``seed``."""
    t0 = time.perf_counter()
    rng, rng_meas, rng_init = chunk_generators(seed)
    psi0 = np.ascontiguousarray(initial.sample(n_trajectories, rng_init), dtype=np.complex128)
    m, n = psi0.shape
    rec = chunk_records(m, n, plan, arrays.n_branches)
    a = arrays
    with single_threaded_blas():
        run_trajectories_general(
            psi0, a.offs, a.vals, a.nd, a.leak_start, a.leak_blk, a.step_set, a.kbranch,
            a.kis_g, a.n_branches, a.gamma, a.nbar, a.full_decay, a.full_damp, a.loss_leak,
            plan.checkpoints, plan.rho_slot, rng, rng_meas, plan.max_jumps, *rec.values(),
        )  # fmt: skip
    return chunk_result(index, rec, plan, time.perf_counter() - t0)
