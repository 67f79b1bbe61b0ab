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
    r"""Photon-number distribution :math:`P(n) = \rho_{nn}`.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Density matrix (or a stack of them) in the Fock basis, levels ``0 .. N-1``.

    Returns
    -------
    ndarray, shape (..., N)
        Real populations, a copy (not renormalised: they sum to the trace, which is
        ``1 - leakage``).

    Examples
    --------
    >>> import numpy as np
    >>> photon_distribution(np.diag([0.5, 0.25, 0.25]).astype(complex))
    array([0.5 , 0.25, 0.25])
    """
    return np.real(np.diagonal(rho, axis1=-2, axis2=-1)).copy()


def photon_number_moments(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""First two moments of the photon number, :math:`\langle n\rangle` and
    :math:`\langle n^2\rangle`.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Density matrix (or a stack) in the Fock basis.

    Returns
    -------
    mean_n, mean_n2 : ndarray, shape (...)
        :math:`\sum_n n P(n)` and :math:`\sum_n n^2 P(n)`.
    """
    p = photon_distribution(rho)
    n = _levels(p.shape[-1])
    return p @ n, p @ (n * n)


def energy(rho: np.ndarray) -> np.ndarray:
    r"""Energy :math:`E = \mathrm{Tr}(\rho\, a^\dagger a)`, in units of :math:`\hbar\omega`.

    The battery's energy above the ground state is its mean photon number
    (``docs/MODEL.md``, Sec. 1).

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Density matrix (or a stack) in the Fock basis.

    Returns
    -------
    ndarray, shape (...)
        Mean photon number (float64).

    Examples
    --------
    >>> import numpy as np
    >>> float(energy(np.diag([0.5, 0.0, 0.5])))
    1.0
    """
    return photon_distribution(rho) @ _levels(rho.shape[-1])


def fano_from_moments(mean_n: np.ndarray, mean_n2: np.ndarray) -> np.ndarray:
    r"""Fano factor :math:`F = (\langle n^2\rangle - \langle n\rangle^2)/\langle n\rangle`
    from the moments.

    ``F < 1`` is sub-Poissonian, ``F = 1`` Poissonian (a coherent state).

    Parameters
    ----------
    mean_n : array_like, shape (...)
        :math:`\langle n\rangle`.
    mean_n2 : array_like, shape (...)
        :math:`\langle n^2\rangle`, broadcastable with ``mean_n``.

    Returns
    -------
    ndarray, shape (...)
        The Fano factor; NaN where ``mean_n <= 0`` (undefined at zero energy).
    """
    mean_n = np.asarray(mean_n, dtype=np.float64)
    mean_n2 = np.asarray(mean_n2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (mean_n2 - mean_n**2) / mean_n
    return np.where(mean_n > 0.0, f, np.nan)


def fano_factor(rho: np.ndarray) -> np.ndarray:
    r"""Fano factor :math:`\mathrm{Var}(n)/\langle n\rangle` of the photon distribution.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Density matrix (or a stack) in the Fock basis.

    Returns
    -------
    ndarray, shape (...)
        The Fano factor; NaN at zero energy (see :func:`fano_from_moments`).

    Examples
    --------
    >>> import numpy as np
    >>> float(fano_factor(np.diag([0.5, 0.0, 0.5])))  # <n> = 1, <n^2> = 2
    1.0
    """
    return fano_from_moments(*photon_number_moments(rho))


def purity(rho: np.ndarray) -> np.ndarray:
    r"""Purity :math:`\mathrm{Tr}\,\rho^2 = \sum_{ij} |\rho_{ij}|^2` (for Hermitian
    :math:`\rho`).

    This is the plug-in value for a given matrix; the ensemble estimator that removes
    the :math:`(1 - P)/M` bias of a trajectory average is in the Monte Carlo solver
    (``docs/MODEL.md``, Sec. 5).

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Hermitian matrix (or a stack) in the Fock basis.

    Returns
    -------
    ndarray, shape (...)
        The purity, 1 for a pure state of unit trace.

    Examples
    --------
    >>> import numpy as np
    >>> float(purity(np.diag([0.5, 0.5])))
    0.5
    """
    return np.sum(np.abs(rho) ** 2, axis=(-2, -1))


def _eigenvalues_all(rho: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(rho)  # ascending


#: Populations at or below this are treated as an empty tail by :func:`eigenvalues`.
TAIL_THRESHOLD = 1e-60


def eigenvalues(rho: np.ndarray, tail: float = TAIL_THRESHOLD) -> np.ndarray:
    """Eigenvalues of one density matrix, ignoring an empty tail of levels.

    Levels above the last one whose population exceeds ``tail`` are cut off
    before diagonalising; their eigenvalues are returned as zeros. For a
    positive ``rho``, ``|rho_ij| <= sqrt(rho_ii rho_jj)``, so every eigenvalue moves
    by less than ``sqrt(2 N tail)`` (``~1e-29`` by default): nothing observable,
    but it keeps LAPACK away from the subnormal numbers that populations near
    ``1e-300`` produce (3-4x slower) and shrinks the problem when the cutoff is
    generous.

    Parameters
    ----------
    rho : ndarray, shape (N, N)
        One Hermitian, positive density matrix (no stack).
    tail : float, optional
        Populations at or below this count as empty (default :data:`TAIL_THRESHOLD`,
        ``1e-60``).

    Returns
    -------
    ndarray, shape (N,)
        Real eigenvalues in ascending order, exact zeros for the dropped tail.

    Examples
    --------
    >>> import numpy as np
    >>> eigenvalues(np.diag([0.75, 0.25, 0.0]))
    array([0.  , 0.25, 0.75])
    """
    p = np.diagonal(rho).real
    above = np.flatnonzero(p > tail)
    size = int(above[-1]) + 1 if above.size else 1
    w = np.zeros(rho.shape[-1])
    w[rho.shape[-1] - size :] = np.linalg.eigvalsh(rho[:size, :size])
    return np.sort(w)


def von_neumann_entropy(rho: np.ndarray) -> np.ndarray:
    r"""Von Neumann entropy :math:`S = -\mathrm{Tr}(\rho \ln \rho)`, in nats.

    Eigenvalues :math:`\le 0` (from rounding) contribute nothing.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Hermitian density matrix (or a stack).

    Returns
    -------
    ndarray, shape (...)
        The entropy, 0 for a pure state and :math:`\ln N` for the maximally mixed one.
    """
    w = _eigenvalues_all(rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0.0, -w * np.log(np.where(w > 0.0, w, 1.0)), 0.0)
    return terms.sum(axis=-1)


def ergotropy_from_eigenvalues(mean_n: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    r"""Ergotropy :math:`W = \langle n\rangle - \sum_k r_k k` from precomputed eigenvalues.

    Parameters
    ----------
    mean_n : array_like, shape (...)
        Energy :math:`\langle n\rangle` in units of :math:`\hbar\omega`.
    eigenvalues : array_like, shape (..., N)
        Eigenvalues of :math:`\rho`, in any order (they are sorted decreasingly here,
        so that :math:`r_0 \ge r_1 \ge \dots`).

    Returns
    -------
    ndarray, shape (...)
        Ergotropy in units of :math:`\hbar\omega`.
    """
    r = -np.sort(-np.asarray(eigenvalues), axis=-1)
    return np.asarray(mean_n) - r @ _levels(r.shape[-1])


def ergotropy(rho: np.ndarray) -> np.ndarray:
    r"""Ergotropy :math:`W = \mathrm{Tr}(\rho H) - \sum_k r_k k` (passive-state formula).

    ``H = a^dag a``; the passive state puts the largest eigenvalue of ``rho`` in
    the vacuum, the next in ``|1>``, and so on (``docs/MODEL.md``, Sec. 4). ``W = <n>``
    for pure states and ``W = 0`` for passive ones.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Hermitian density matrix (or a stack) in the Fock basis.

    Returns
    -------
    ndarray, shape (...)
        Ergotropy in units of :math:`\hbar\omega`, between 0 and the energy.

    Examples
    --------
    >>> import numpy as np
    >>> float(ergotropy(np.diag([0.25, 0.75])))  # population inverted: W = 0.75 - 0.25
    0.5
    """
    return ergotropy_from_eigenvalues(energy(rho), _eigenvalues_all(rho))


def mean_a(rho: np.ndarray) -> np.ndarray:
    r"""Coherent amplitude :math:`\langle a\rangle = \mathrm{Tr}(\rho a)
    = \sum_n \sqrt{n+1}\,\rho_{n+1,n}`.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Density matrix (or a stack) in the Fock basis.

    Returns
    -------
    ndarray, shape (...)
        Complex :math:`\langle a\rangle` (dimensionless); 0 for any state diagonal in
        the Fock basis.
    """
    sub = np.diagonal(rho, offset=-1, axis1=-2, axis2=-1)
    return sub @ np.sqrt(_levels(rho.shape[-1])[1:])


def _mean_a2(rho: np.ndarray) -> np.ndarray:
    n = _levels(rho.shape[-1])
    sub2 = np.diagonal(rho, offset=-2, axis1=-2, axis2=-1)
    return sub2 @ np.sqrt((n[:-2] + 1.0) * (n[:-2] + 2.0))


def quadratures(rho: np.ndarray) -> dict[str, np.ndarray]:
    r"""Means and variances of the quadratures :math:`x = (a + a^\dagger)/\sqrt2` and
    :math:`p = (a - a^\dagger)/(i\sqrt2)`.

    Uses :math:`\langle x^2\rangle = \mathrm{Re}\langle a^2\rangle + \langle n\rangle + 1/2`
    and :math:`\langle p^2\rangle = -\mathrm{Re}\langle a^2\rangle + \langle n\rangle + 1/2`;
    the vacuum has both variances 1/2.

    Parameters
    ----------
    rho : ndarray, shape (..., N, N)
        Density matrix (or a stack) in the Fock basis.

    Returns
    -------
    dict of str to ndarray, shape (...)
        Keys ``x_mean``, ``p_mean``, ``x_var``, ``p_var`` (dimensionless).

    Examples
    --------
    >>> import numpy as np
    >>> q = quadratures(np.diag([1.0, 0.0, 0.0]).astype(complex))  # the vacuum
    >>> float(q["x_var"]), float(q["p_var"])
    (0.5, 0.5)
    """
    a = mean_a(rho)
    a2 = _mean_a2(rho)
    n = energy(rho)
    x_mean = np.sqrt(2.0) * a.real
    p_mean = np.sqrt(2.0) * a.imag
    x2 = a2.real + n + 0.5
    p2 = -a2.real + n + 0.5
    return {"x_mean": x_mean, "p_mean": p_mean, "x_var": x2 - x_mean**2, "p_var": p2 - p_mean**2}
