"""The sparse (Rabi) driver against the unoptimised leaves on the same draws.

``run_sparse`` fuses the collision with the first pass of the loss interval, stores the
operators by columns, leaves out terms below ``KEEP_TOL`` (``LEAK_KEEP_TOL``, ``LEAK_SKIP``
for the leak form) of the normalised state and tracks the active levels. The reference is
the plain ``collide_sparse`` (every stored diagonal on every level, the full leak form)
followed by ``loss_interval``, run from Python on the same dynamics stream: the same
trajectory, the same outcomes and jumps, populations and rho to 1e-11.
"""

import math

import numpy as np
import pytest
from numba import njit

import trajectories as tj
from trajectories._streams import DYNAMICS, new_state, stream_key, uniform
from trajectories._streams import start as start_stream
from trajectories.channels.collisions import collision_sequence
from trajectories.channels.loss import LossChannel
from trajectories.channels.loss_unravelling import loss_interval
from trajectories.solvers.montecarlo import kernels
from trajectories.solvers.montecarlo.chunks import Plan, chunk_records
from trajectories.solvers.montecarlo.kernel_inputs import (
    KernelInputs,
    PlanArrays,
    new_carry,
)

N = 30


@njit(cache=False)
def apply_sparse(psi, buf, offs, vals, nd):
    """``buf = K psi`` for a Kraus operator stored by diagonals; returns ``||K psi||^2``."""
    n = psi.shape[0]
    for m in range(n):
        buf[m] = 0.0
    for i in range(nd):
        d = offs[i]
        lo = d if d > 0 else 0
        hi = n + d if d < 0 else n
        for m in range(lo, hi):
            buf[m] += vals[i, m] * psi[m - d]
    acc = 0.0
    for m in range(n):
        acc += buf[m].real * buf[m].real + buf[m].imag * buf[m].imag
    return acc


@njit(cache=False)
def sparse_leak(psi, start, blk):
    """``<psi|M_leak|psi>`` with ``M_leak`` non-zero on levels ``start ..`` only."""
    n = psi.shape[0]
    size = n - start
    acc = 0.0
    for a in range(size):
        row = 0.0j
        for b in range(size):
            row += blk[a, b] * psi[start + b]
        acc += (np.conj(psi[start + a]) * row).real
    return max(acc, 0.0)


@njit(cache=False)
def collide_sparse(psi, buf, offs, vals, nd, start, blk, u):
    r"""The reference: one collision with every stored diagonal and the whole leak form.

    The leak probability is :math:`\langle\psi|M_{leak}|\psi\rangle` (numba).

    Parameters
    ----------
    psi, buf : ndarray of complex128, shape (N,)
        Normalised state (overwritten) and scratch.
    offs, vals, nd, start, blk
        The operators
        (:meth:`~trajectories.channels.kraus.KrausChannel.sparse_arrays`), the leak
        form's level and block.
    u : float
        Uniform draw on ``[0, 1)``.

    Returns
    -------
    index, p_leak : int, float
        The operator applied (-1: leaked, ``psi`` becomes 0) and the leak probability.
    """
    n_ops = offs.shape[0]
    n = psi.shape[0]
    p_leak = sparse_leak(psi, start, blk)
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and u >= 1.0 - p_leak:
            break
        p = apply_sparse(psi, buf, offs[j], vals[j], nd[j])
        cum += p
        if (u < cum or j == n_ops - 1) and p > 0.0:
            scale = 1.0 / math.sqrt(p)
            for m in range(n):
                psi[m] = buf[m] * scale
            return j, p_leak
    for m in range(n):
        psi[m] = 0.0
    return -1, p_leak


KEY = stream_key(2027)
THETA = tj.fine_tuned_theta(15)
MODELS = {
    "bare_0.1": dict(collision=tj.Rabi(0.1), gamma_tr=0.1, nbar=0.15, c=1.0),
    # period-2 schedule of Kraus sets (step_set), strong loss: many jumps
    "modulated_0.5": dict(
        collision=tj.Rabi(0.5, tj.Modulation.suppressing(9.0), omega_tr=math.pi),
        gamma_tr=0.4,
        nbar=0.3,
        c=0.6 * np.exp(0.4j),
    ),
    "lossless_0.3": dict(collision=tj.Rabi(0.3, tj.Modulation.suppressing(12.0)), c=0.5),
}


@pytest.mark.parametrize("start", ["vacuum", "coherent"])
@pytest.mark.parametrize("name", list(MODELS))
def test_sparse_driver_equals_the_unoptimised_leaves_on_the_same_draws(name, start):
    model = tj.Micromaser(theta=THETA, q=0.25, cutoff=N, **MODELS[name])
    n_coll = 150
    seq = collision_sequence(model)
    arrays = KernelInputs.from_channels(seq, LossChannel(model), n_coll)
    assert arrays.driver == "sparse"
    psi0 = tj.coherent_state(0.9 + 0.4j, N) if start == "coherent" else tj.fock_state(0, N)
    psi0 = psi0.astype(complex)
    max_jumps = 600
    ks = np.array([0, n_coll])
    out = chunk_records(1, N, Plan(ks, np.array([-1, 0]), max_jumps), arrays.n_branches)
    a, loss = arrays, arrays.loss
    kernels.run_sparse(
        psi0[None, :].copy(), a.collision, a.outcomes, loss, a.beam_arrays,
        PlanArrays(ks, np.array([-1, 0]), max_jumps, 0, 0, n_coll, 0), KEY, 5, out,
        new_carry(1, arrays.n_branches),
    )  # fmt: skip
    out = out._asdict()
    # the same trajectory (number 5) from Python: every stored diagonal, the full leak form
    rng = new_state()
    start_stream(rng, KEY[0], KEY[1], np.uint64(5), np.uint64(DYNAMICS))
    psi, buf = psi0.copy(), np.empty(N, complex)
    jump_log = np.zeros((max_jumps + 1, 2))
    sqrt_n = np.sqrt(np.arange(N + 1.0))
    n_em = n_ab = n_e = 0
    leak = 0.0
    for k in range(1, n_coll + 1):
        ch = seq.at(k)
        offs, vals, nd = ch.sparse_arrays()
        j, p_leak = collide_sparse(
            psi, buf, offs, vals, nd, ch.leak_start, ch.leak_block, uniform(rng)
        )
        assert j >= 0
        n_e += ch.kraus[j].outcome == "e"
        leak += p_leak
        if loss.gamma > 0:
            de, da, alive, lv = loss_interval(
                psi, buf, sqrt_n, loss.gamma, loss.nbar, loss.full_decay, loss.full_damp,
                loss.leak, rng, jump_log, k - 1.0,
            )  # fmt: skip
            assert alive
            n_em, n_ab, leak = n_em + de, n_ab + da, leak + lv
    count = int(jump_log[0, 0])
    assert count == out["n_jumps"][0] == n_em + n_ab <= max_jumps
    if loss.gamma > 0.2:
        assert count > 20
    assert (out["emissions"][0, -1], out["absorptions"][0, -1]) == (n_em, n_ab)
    assert out["qubit_e"][0, -1].sum() == n_e
    assert np.allclose(out["jump_times"][0, :count], jump_log[1 : count + 1, 0], atol=1e-12)
    assert np.array_equal(out["jump_kinds"][0, :count], jump_log[1 : count + 1, 1])
    assert abs(out["leak_expected"][-1] - leak) < 1e-14
    p = np.abs(psi) ** 2
    assert abs(out["n_mean"][0, -1] - p @ np.arange(N)) < 1e-11
    rho = np.outer(psi, psi.conj())
    assert np.allclose(np.triu(out["rho_sum"][0]), np.triu(rho), atol=1e-11)
