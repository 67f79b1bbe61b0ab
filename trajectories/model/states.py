"""Cavity states: Fock, coherent and thermal states, and validation of user-given states.

A state is either a vector of length ``N`` (pure) or an ``N x N`` density
matrix, in the Fock basis of the model's cutoff. :func:`as_density_matrix`
turns either into a validated density matrix, failing with a message that
names what is wrong (shape, Hermiticity, positivity, normalisation).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from ..validation import integer_at_least, real_in_range

__all__ = [
    "fock_state",
    "coherent_state",
    "thermal_state",
    "as_density_matrix",
    "is_diagonal",
    "STATE_TOL",
]

#: Tolerance on the trace, Hermiticity and positivity of a user-given state.
STATE_TOL = 1e-10


def fock_state(n: int, cutoff: int) -> np.ndarray:
    """Fock state ``|n>`` as a state vector.

    Parameters
    ----------
    n : int
        Photon number, ``0 <= n < cutoff``.
    cutoff : int
        Fock cutoff ``N`` (levels ``0 .. N-1``), ``>= 2``.

    Returns
    -------
    ndarray of complex128, shape (N,)
        The unit vector ``e_n``.

    Raises
    ------
    ValueError
        If ``n >= cutoff`` or an argument is not an integer in range.

    Examples
    --------
    >>> fock_state(1, 3)
    array([0.+0.j, 1.+0.j, 0.+0.j])
    """
    cutoff = integer_at_least("cutoff", cutoff, 2)
    n = integer_at_least("n", n, 0)
    if n >= cutoff:
        raise ValueError(f"n must be < cutoff={cutoff}, got {n}")
    psi = np.zeros(cutoff, dtype=np.complex128)
    psi[n] = 1.0
    return psi


def coherent_state(alpha: complex, cutoff: int) -> np.ndarray:
    r"""Coherent state :math:`|\alpha\rangle` on ``cutoff`` levels, normalised after truncation.

    Amplitudes :math:`\psi_n \propto \alpha^n/\sqrt{n!}`, computed in logarithms (no
    overflow for large :math:`|\alpha|`) and renormalised on levels ``0 .. N-1``: for
    :math:`|\alpha|^2` well below ``N`` this is the coherent state to rounding; otherwise
    it is the truncated, renormalised one.

    Parameters
    ----------
    alpha : complex
        Coherent amplitude; mean photon number :math:`|\alpha|^2` before truncation.
    cutoff : int
        Fock cutoff ``N``, ``>= 2``.

    Returns
    -------
    ndarray of complex128, shape (N,)
        Unit-norm state vector in the Fock basis.
    """
    cutoff = integer_at_least("cutoff", cutoff, 2)
    alpha = complex(alpha)
    n = np.arange(cutoff)
    log_mag = n * math.log(abs(alpha)) - 0.5 * gammaln(n + 1.0) if alpha != 0 else None
    if log_mag is None:
        return fock_state(0, cutoff)
    psi = np.exp(log_mag - log_mag.max()) * np.exp(1j * np.angle(alpha) * n)
    return psi / np.linalg.norm(psi)


def thermal_state(nbar: float, cutoff: int) -> np.ndarray:
    r"""Thermal density matrix with mean photon number ``nbar`` on ``cutoff`` levels.

    :math:`\rho = \sum_n p_n |n\rangle\langle n|`, :math:`p_n \propto
    (\bar n/(\bar n + 1))^n`, renormalised after truncation (so the mean photon number is
    slightly below ``nbar`` when the tail above ``N - 1`` is not negligible).

    Parameters
    ----------
    nbar : float
        Mean photon number of the untruncated state, ``>= 0`` (0 gives the vacuum).
    cutoff : int
        Fock cutoff ``N``, ``>= 2``.

    Returns
    -------
    ndarray of complex128, shape (N, N)
        Diagonal density matrix of unit trace.

    Examples
    --------
    >>> thermal_state(1.0, 3).real.diagonal() * 7  # p_n proportional to 2^-n
    array([4., 2., 1.])
    """
    cutoff = integer_at_least("cutoff", cutoff, 2)
    nbar = real_in_range("nbar", nbar, 0.0)
    if nbar == 0.0:
        p = np.zeros(cutoff)
        p[0] = 1.0
    else:
        p = (nbar / (nbar + 1.0)) ** np.arange(cutoff)
        p /= p.sum()
    return np.diag(p).astype(np.complex128)


def as_density_matrix(
    state: np.ndarray | None, cutoff: int, name: str = "initial_state"
) -> np.ndarray:
    r"""Validate a state vector or density matrix and return it as an ``(N, N)`` density matrix.

    A vector must have norm 1; a matrix must be Hermitian, positive semi-definite and
    of unit trace, each within :data:`STATE_TOL`.

    Parameters
    ----------
    state : array_like, shape (N,) or (N, N), or None
        A state vector or a density matrix in the Fock basis; ``None`` means the vacuum.
    cutoff : int
        Fock cutoff ``N`` the state must match.
    name : str, optional
        Name of the argument, for the error messages (default ``"initial_state"``).

    Returns
    -------
    ndarray of complex128, shape (N, N)
        A new array, exactly Hermitian (:math:`(\rho + \rho^\dagger)/2`); a vector
        :math:`\psi` gives :math:`|\psi\rangle\langle\psi|`.

    Raises
    ------
    ValueError
        For a non-numeric array, NaN or infinite entries, a wrong shape, a vector not of
        norm 1, or a matrix not Hermitian, not of unit trace or not positive; the message
        names what is wrong and by how much.

    Examples
    --------
    >>> as_density_matrix(None, 2).real
    array([[1., 0.],
           [0., 0.]])
    >>> as_density_matrix([[1, 0], [0, 1]], 2)
    Traceback (most recent call last):
    ...
    ValueError: initial_state must have unit trace (within 1e-10), got trace 2.0
    """
    if state is None:
        rho = np.zeros((cutoff, cutoff), dtype=np.complex128)
        rho[0, 0] = 1.0
        return rho
    arr = np.asarray(state)
    if arr.dtype.kind not in "biufc":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if arr.shape == (cutoff,):
        norm = float(np.linalg.norm(arr))
        if abs(norm - 1.0) > STATE_TOL:
            raise ValueError(
                f"{name} as a state vector must have norm 1 (within {STATE_TOL:g}), "
                f"got norm {norm!r}"
            )
        return np.outer(arr, arr.conj())
    if arr.shape != (cutoff, cutoff):
        raise ValueError(
            f"{name} must be a vector of length cutoff={cutoff} or a ({cutoff}, {cutoff}) "
            f"density matrix, got shape {arr.shape}"
        )
    herm_err = float(np.max(np.abs(arr - arr.conj().T)))
    if herm_err > STATE_TOL:
        raise ValueError(f"{name} must be Hermitian: max |rho - rho^dag| = {herm_err:.3g}")
    rho = 0.5 * (arr + arr.conj().T)
    tr = float(np.trace(rho).real)
    if abs(tr - 1.0) > STATE_TOL:
        raise ValueError(f"{name} must have unit trace (within {STATE_TOL:g}), got trace {tr!r}")
    w_min = float(np.linalg.eigvalsh(rho)[0])
    if w_min < -STATE_TOL:
        raise ValueError(
            f"{name} must be positive semi-definite: smallest eigenvalue {w_min:.3g} < 0"
        )
    return rho


def is_diagonal(rho: np.ndarray) -> bool:
    """Whether the density matrix has no off-diagonal elements (exactly zero).

    Then, with collisions that keep diagonals, only the populations need propagating.

    Parameters
    ----------
    rho : ndarray, shape (N, N)
        A matrix.

    Returns
    -------
    bool
        True when every off-diagonal element is exactly 0.
    """
    return not np.any(rho[~np.eye(rho.shape[0], dtype=bool)])
