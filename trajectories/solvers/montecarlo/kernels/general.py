r"""Compiled trajectory kernel for general (sparse, non-banded) Kraus operators (issue 8).

The same Monte Carlo step as :mod:`trajectories.kernels` (read its docstring), with
the collision of a Rabi model: Kraus operators stored by diagonals
(:class:`~trajectories.kraus.SparseKraus`), possibly a different set for each
collision (the counter-rotating phase runs on in absolute time), and the leak
probability as the quadratic form :math:`\langle\psi|M_{leak}|\psi\rangle` on the top
block of the kept levels. The loss interval is :func:`trajectories.kernels._loss_interval`
itself: exact waiting times, unchanged.

Array layout (``S`` Kraus sets, ``K`` operators per set, ``D`` diagonals at most, ``N``
levels): ``offs (S, K, D)`` int64 diagonal offsets (row - column), ``vals (S, K, D, N)``
complex values by output row, ``nd (S, K)`` diagonals in use, ``leak_start (S,)`` and
``leak_blk (S, B, B)`` the leak form's top block (zero-padded), ``step_set (k_max + 1,)``
the set used by collision ``k`` (entry 0 unused).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .banded import _finish, _loss_interval, _record

__all__ = ["run_trajectories_general"]


@njit(cache=True)
def _apply_sparse(psi, buf, offs, vals, nd):
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


@njit(cache=True)
def _leak_probability(psi, start, blk):
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


@njit(cache=True)
def _collide_general(psi, buf, offs, vals, nd, start, blk, u):
    """Sample and apply one Kraus operator of a set; ``(index, p_leak)``, -1 = leaked.

    As :func:`trajectories.kernels._collide`: operators tried in order until the draw is
    covered, the last one taken with probability ``1 - p_leak - (the others)``.
    """
    n_ops = offs.shape[0]
    n = psi.shape[0]
    p_leak = _leak_probability(psi, start, blk)
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and u >= 1.0 - p_leak:
            break
        p = _apply_sparse(psi, buf, offs[j], vals[j], nd[j])
        cum += p
        if (u < cum or j == n_ops - 1) and p > 0.0:
            scale = 1.0 / math.sqrt(p)
            for m in range(n):
                psi[m] = buf[m] * scale
            return j, p_leak
    for m in range(n):
        psi[m] = 0.0
    return -1, p_leak


@njit(cache=True)
def run_trajectories_general(
    psi0, offs, vals, nd, leak_start, leak_blk, step_set, kbranch, kis_g, n_branches,
    gamma, nbar, full_decay, full_damp, loss_leak, checkpoints, rho_slot, rng, rng_meas,
    max_jumps, n_mean, n2_mean, qubit_g, qubit_e, emissions, absorptions, alive,
    leak_expected, rho_sum, jump_times, jump_kinds, n_jumps, fock,
):  # fmt: skip
    """Evolve the trajectories ``psi0`` (M, N); records as in
    :func:`trajectories.kernels.run_trajectories` (same arrays, same meaning)."""
    n_traj, n = psi0.shape
    n_ck = checkpoints.shape[0]
    last = checkpoints[n_ck - 1]
    psi = np.empty(n, dtype=np.complex128)
    buf = np.empty(n, dtype=np.complex128)
    sqrt_n = np.sqrt(np.arange(n + 1.0))
    pop = np.empty(n)
    cg = np.zeros(n_branches, dtype=np.int64)
    ce = np.zeros(n_branches, dtype=np.int64)
    jump_log = np.zeros((max_jumps + 1, 2))
    has_loss = gamma > 0.0
    for i in range(n_traj):
        for m in range(n):
            psi[m] = psi0[i, m]
        cg[:] = 0
        ce[:] = 0
        jump_log[0, 0] = 0.0
        n_em = 0
        n_ab = 0
        live = True
        leak = 0.0
        c = 0
        for k in range(last + 1):
            if k > 0 and live:
                s = step_set[k]
                j, p_leak = _collide_general(
                    psi, buf, offs[s], vals[s], nd[s], leak_start[s], leak_blk[s], rng.random()
                )
                leak += p_leak
                if j < 0:
                    live = False
                else:
                    if kis_g[j]:
                        cg[kbranch[j]] += 1
                    else:
                        ce[kbranch[j]] += 1
                    if has_loss:
                        de, da, live, lv = _loss_interval(
                            psi, pop, sqrt_n, gamma, nbar, full_decay, full_damp, loss_leak, rng,
                            jump_log, k - 1.0,
                        )  # fmt: skip
                        leak += lv
                        n_em += de
                        n_ab += da
            if k == checkpoints[c]:
                _record(
                    psi, live, i, c, rng_meas, n_mean, n2_mean, fock, cg, ce, qubit_g, qubit_e,
                    n_em, n_ab, emissions, absorptions, leak, leak_expected, rho_slot[c], rho_sum,
                )  # fmt: skip
                c += 1
        _finish(i, live, jump_log, alive, n_jumps, jump_times, jump_kinds)
