"""Brute-force constructions the tests compare the banded/blocked solvers against.

Everything here is dense and slow on purpose: built from the definitions in
SPEC Sec. 2 with scipy.linalg.expm, independent of the package's algorithms.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm


def random_density_matrix(n: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """A random full-rank (or given-rank) density matrix on n levels."""
    rank = n if rank is None else rank
    g = rng.normal(size=(n, rank)) + 1j * rng.normal(size=(n, rank))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def annihilation(n: int) -> np.ndarray:
    """Truncated annihilation operator on n levels."""
    return np.diag(np.sqrt(np.arange(1, n, dtype=float)), 1).astype(complex)


def qubit_state(q: float, c: complex) -> np.ndarray:
    """SPEC 2.1 qubit state, basis (e, g)."""
    k = c * np.sqrt(q * (1 - q))
    return np.array([[1 - q, k], [np.conj(k), q]], dtype=complex)


def dense_collision(rho: np.ndarray, theta: float, q: float, c: complex) -> np.ndarray:
    """Tr_q[U (rho_q x rho) U^dag] with U = expm on N+1 cavity levels, output kept on the first N.

    The extra level catches the weight the truncated space loses (SPEC 2.1).
    """
    n = rho.shape[0]
    big = n + 1
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)  # |e><g| in basis (e, g)
    h = theta * (np.kron(sp, a) + np.kron(sp.conj().T, a.conj().T))
    u = expm(-1j * h)
    rho_big = np.zeros((big, big), dtype=complex)
    rho_big[:n, :n] = rho
    full = u @ np.kron(qubit_state(q, c), rho_big) @ u.conj().T
    reduced = full[:big, :big] + full[big:, big:]  # trace over the qubit
    return reduced[:n, :n]


def vec(rho: np.ndarray) -> np.ndarray:
    return rho.reshape(-1, order="F")


def unvec(v: np.ndarray, n: int) -> np.ndarray:
    return v.reshape(n, n, order="F")


def superop(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Matrix of rho -> left @ rho @ right in column-stacking vec convention."""
    return np.kron(right.T, left)


def dense_loss_generator(n: int, gamma: float, nbar: float, leaky_top: bool) -> np.ndarray:
    """N^2 x N^2 Lindblad generator of the thermal loss.

    ``leaky_top=True``: the package's convention (SPEC 2.2): no-jump rates
    Gamma_n = gamma[(nbar+1) n + nbar (n+1)] for every kept level, jumps with
    truncated operators (absorption out of N-1 is lost).
    ``leaky_top=False``: the usual trace-preserving Liouvillian of truncated
    matrices (L^dag L products computed on the truncated space).
    """
    a = annihilation(n)
    ad = a.conj().T
    j1 = np.sqrt(gamma * (nbar + 1)) * a
    j2 = np.sqrt(gamma * nbar) * ad
    eye = np.eye(n)
    if leaky_top:
        levels = np.arange(n)
        k = np.diag(gamma * ((nbar + 1) * levels + nbar * (levels + 1))).astype(complex)
    else:
        k = j1.conj().T @ j1 + j2.conj().T @ j2
    return (
        superop(j1, j1.conj().T)
        + superop(j2, j2.conj().T)
        - 0.5 * superop(k, eye)
        - 0.5 * superop(eye, k)
    )


def dense_loss(rho: np.ndarray, gamma: float, nbar: float, leaky_top: bool = True) -> np.ndarray:
    n = rho.shape[0]
    return unvec(expm(dense_loss_generator(n, gamma, nbar, leaky_top)) @ vec(rho), n)
