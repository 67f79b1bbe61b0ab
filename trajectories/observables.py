r"""Observables of a cavity density matrix (``docs/MODEL.md``, Sec. 4).

All functions take ``rho`` of shape ``(..., N, N)`` (a stack of Hermitian
matrices in the Fock basis, levels ``0 .. N-1``) and return arrays of shape
``(...)``. Energies are in units of :math:`\hbar\omega` above the ground state
(energy = mean photon number). Quadratures are
:math:`x = (a + a^\dagger)/\sqrt2`, :math:`p = (a - a^\dagger)/(i\sqrt2)`, so the
vacuum has :math:`\mathrm{Var}\,x = \mathrm{Var}\,p = 1/2`. Nothing is
renormalised by the trace: with leakage below its tolerance the difference is
below ``1e-8``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "photon_distribution",
    "energy",
    "photon_number_moments",
    "purity",
    "von_neumann_entropy",
    "fano_factor",
    "ergotropy",
    "ergotropy_from_eigenvalues",
    "eigenvalues",
    "mean_a",
    "quadratures",
    "fano_from_moments",
]


def _levels(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64)


def photon_distribution(rho: np.ndarray) -> np.ndarray:
    """P(n) = rho_nn, shape ``(..., N)``."""
    return np.real(np.diagonal(rho, axis1=-2, axis2=-1)).copy()


def photon_number_moments(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(<n>, <n^2>)``."""
    p = photon_distribution(rho)
    n = _levels(p.shape[-1])
    return p @ n, p @ (n * n)


def energy(rho: np.ndarray) -> np.ndarray:
    """Mean photon number ``Tr(rho a^dag a)``."""
    return photon_distribution(rho) @ _levels(rho.shape[-1])


def fano_from_moments(mean_n: np.ndarray, mean_n2: np.ndarray) -> np.ndarray:
    """``Var(n)/<n>``; NaN where ``<n> <= 0`` (undefined at zero energy)."""
    mean_n = np.asarray(mean_n, dtype=np.float64)
    mean_n2 = np.asarray(mean_n2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (mean_n2 - mean_n**2) / mean_n
    return np.where(mean_n > 0.0, f, np.nan)


def fano_factor(rho: np.ndarray) -> np.ndarray:
    """Fano factor ``Var(n)/<n>`` of the photon distribution; NaN at zero energy."""
    return fano_from_moments(*photon_number_moments(rho))


def purity(rho: np.ndarray) -> np.ndarray:
    """``Tr(rho^2)`` (= sum of ``|rho_ij|^2`` for Hermitian ``rho``)."""
    return np.sum(np.abs(rho) ** 2, axis=(-2, -1))


def _eigenvalues_all(rho: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(rho)  # ascending


#: populations below this are treated as an empty tail by :func:`eigenvalues`
TAIL_THRESHOLD = 1e-60


def eigenvalues(rho: np.ndarray, tail: float = TAIL_THRESHOLD) -> np.ndarray:
    """Eigenvalues of one density matrix ``(N, N)``, ignoring an empty tail of levels.

    Levels above the last one whose population exceeds ``tail`` are cut off
    before diagonalising; their eigenvalues are returned as zeros. For a
    positive ``rho``, ``|rho_ij| <= sqrt(rho_ii rho_jj)``, so every eigenvalue moves
    by less than ``sqrt(2 N tail)`` (``~1e-29`` by default): nothing observable,
    but it keeps LAPACK away from the subnormal numbers that populations near
    ``1e-300`` produce (3-4x slower) and shrinks the problem when the cutoff is
    generous. Returns shape ``(N,)``, ascending.
    """
    p = np.diagonal(rho).real
    above = np.flatnonzero(p > tail)
    size = int(above[-1]) + 1 if above.size else 1
    w = np.zeros(rho.shape[-1])
    w[rho.shape[-1] - size :] = np.linalg.eigvalsh(rho[:size, :size])
    return np.sort(w)


def von_neumann_entropy(rho: np.ndarray) -> np.ndarray:
    """``-Tr(rho ln rho)`` in nats (eigenvalues <= 0 from rounding contribute nothing)."""
    w = _eigenvalues_all(rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0.0, -w * np.log(np.where(w > 0.0, w, 1.0)), 0.0)
    return terms.sum(axis=-1)


def ergotropy_from_eigenvalues(mean_n: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """Ergotropy ``<n> - sum_k r_k k`` with ``r_k`` the eigenvalues in decreasing order."""
    r = -np.sort(-np.asarray(eigenvalues), axis=-1)
    return np.asarray(mean_n) - r @ _levels(r.shape[-1])


def ergotropy(rho: np.ndarray) -> np.ndarray:
    r"""Ergotropy :math:`W = \mathrm{Tr}(\rho H) - \sum_k r_k k` (passive-state formula).

    ``H = a^dag a``; the passive state puts the largest eigenvalue of ``rho`` in
    the vacuum, the next in ``|1>``, and so on. ``W = <n>`` for pure states and
    ``W = 0`` for passive ones.
    """
    return ergotropy_from_eigenvalues(energy(rho), _eigenvalues_all(rho))


def mean_a(rho: np.ndarray) -> np.ndarray:
    r"""Complex :math:`\langle a\rangle = \mathrm{Tr}(\rho a)
    = \sum_n \sqrt{n+1}\,\rho_{n+1,n}`."""
    sub = np.diagonal(rho, offset=-1, axis1=-2, axis2=-1)
    return sub @ np.sqrt(_levels(rho.shape[-1])[1:])


def _mean_a2(rho: np.ndarray) -> np.ndarray:
    n = _levels(rho.shape[-1])
    sub2 = np.diagonal(rho, offset=-2, axis1=-2, axis2=-1)
    return sub2 @ np.sqrt((n[:-2] + 1.0) * (n[:-2] + 2.0))


def quadratures(rho: np.ndarray) -> dict[str, np.ndarray]:
    """Means and variances of ``x = (a + a^dag)/sqrt 2`` and ``p = (a - a^dag)/(i sqrt 2)``.

    Returns a dict with keys ``x_mean, p_mean, x_var, p_var``.
    """
    a = mean_a(rho)
    a2 = _mean_a2(rho)
    n = energy(rho)
    x_mean = np.sqrt(2.0) * a.real
    p_mean = np.sqrt(2.0) * a.imag
    x2 = a2.real + n + 0.5
    p2 = -a2.real + n + 0.5
    return {"x_mean": x_mean, "p_mean": p_mean, "x_var": x2 - x_mean**2, "p_var": p2 - p_mean**2}
