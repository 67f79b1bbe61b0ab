r"""Closed-form steady states of the lossless fine-tuned micromaser (``docs/MODEL.md``, Sec. 6).

At :math:`\theta = \pi/\sqrt m` the transition ``m-1 -> m`` is blocked, so from the
vacuum only the levels ``0 .. m-1`` are reached.

- Incoherent qubits (``c = 0``): :math:`\rho_n \propto r^n`, :math:`r = (1-q)/q`, for
  ``n < m``. The paper's Eqs. (11)-(12) normalise with :math:`r^{m+1}`; with the
  levels ``0 .. m-1`` the sum is :math:`(r^m - 1)/(r - 1)`, so the normalisation is
  :math:`r^m` (an erratum of the paper, ``docs/MODEL.md`` Sec. 6).
- Coherent qubits (``abs(c) = 1``): the steady state is pure with
  :math:`\rho_n = r\cot^2(\pi\sqrt n/(2\sqrt m))\,\rho_{n-1}` (paper Eq. 15).

Both are evaluated in log space, so large ``m`` does not overflow; the edges
``q = 0`` (Fock state ``|m-1>``), ``q = 1`` (vacuum) and ``q = 1/2`` are exact.
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import integer_at_least, real_in_range

__all__ = [
    "incoherent_steady_populations",
    "incoherent_steady_purity",
    "coherent_steady_populations",
]


def _check(m: int, q: float, cutoff: int | None) -> tuple[int, float, int]:
    m = integer_at_least("m", m, 1)
    q = real_in_range("q", q, 0.0, 1.0)
    size = m if cutoff is None else integer_at_least("cutoff", cutoff, m)
    return m, q, size


def _from_log_weights(logw: np.ndarray, size: int) -> np.ndarray:
    w = np.exp(logw - logw.max())
    p = np.zeros(size)
    p[: logw.size] = w / w.sum()
    return p


def _edge(m: int, q: float, size: int) -> np.ndarray | None:
    if q == 0.0:  # every qubit excited: Fock state |m-1>
        p = np.zeros(size)
        p[m - 1] = 1.0
        return p
    if q == 1.0:  # every qubit in g: the vacuum stays
        p = np.zeros(size)
        p[0] = 1.0
        return p
    return None


def incoherent_steady_populations(m: int, q: float, cutoff: int | None = None) -> np.ndarray:
    r"""Steady photon distribution for ``c = 0``, ``theta = pi/sqrt(m)``, no loss.

    :math:`\rho_n = r^n (r-1)/(r^m-1)`, :math:`r = (1-q)/q`, for ``n < m`` (uniform at
    ``q = 1/2``), zero above: the exact steady state reached from the vacuum without loss
    (the paper's Eqs. 11-12 with their normalisation corrected, ``docs/MODEL.md``,
    Sec. 6). The state is diagonal, so these populations are the whole state.

    Parameters
    ----------
    m : int
        The blocked level, ``theta = pi/sqrt(m)``, ``>= 1``.
    q : float
        Ground-state population of the incoming qubits, in ``[0, 1]``.
    cutoff : int, optional
        Length of the result, ``>= m`` (default ``m``).

    Returns
    -------
    ndarray of float64, shape (cutoff,)
        The populations :math:`\rho_n`, summing to 1; the Fock state ``|m-1>`` at
        ``q = 0`` and the vacuum at ``q = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> p = incoherent_steady_populations(15, 0.25)
    >>> round(float(p @ np.arange(15)), 10)  # the energy, docs/MODEL.md Sec. 6
    13.5000010454
    """
    m, q, size = _check(m, q, cutoff)
    edge = _edge(m, q, size)
    if edge is not None:
        return edge
    n = np.arange(m)
    # weights (1-q)^n q^(m-1-n), proportional to r^n
    logw = n * math.log1p(-q) + (m - 1 - n) * math.log(q)
    return _from_log_weights(logw, size)


def incoherent_steady_purity(m: int, q: float) -> float:
    r"""Purity :math:`\sum_n \rho_n^2` of :func:`incoherent_steady_populations`.

    Parameters
    ----------
    m : int
        The blocked level, ``>= 1``.
    q : float
        Ground-state population of the incoming qubits, in ``[0, 1]``.

    Returns
    -------
    float
        The steady-state purity (exact; 1 at ``q`` in ``{0, 1}``, ``1/m`` at ``q = 1/2``).

    Examples
    --------
    >>> round(incoherent_steady_purity(15, 0.25), 10)
    0.5000000697
    """
    p = incoherent_steady_populations(m, q)
    return float(p @ p)


def coherent_steady_populations(m: int, q: float, cutoff: int | None = None) -> np.ndarray:
    r"""Steady photon distribution for ``abs(c) = 1``, ``theta = pi/sqrt(m)``, no loss.

    :math:`\rho_n = r\cot^2(\pi\sqrt n/(2\sqrt m))\rho_{n-1}` for ``0 < n < m``
    (paper Eq. 15; the state itself is pure), :math:`r = (1-q)/q`: the exact lossless
    steady state reached from the vacuum (``docs/MODEL.md``, Sec. 6). The phases of the
    amplitudes depend on the phase of ``c``; the populations do not.

    Parameters
    ----------
    m : int
        The blocked level, ``theta = pi/sqrt(m)``, ``>= 1``.
    q : float
        Ground-state population of the incoming qubits, in ``[0, 1]``.
    cutoff : int, optional
        Length of the result, ``>= m`` (default ``m``).

    Returns
    -------
    ndarray of float64, shape (cutoff,)
        The populations :math:`\rho_{nn}`, summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> p = coherent_steady_populations(15, 0.25)
    >>> round(float(p @ np.arange(15)), 4)  # the paper's Fig. 3 inset at q = 0.25
    6.1503
    """
    m, q, size = _check(m, q, cutoff)
    edge = _edge(m, q, size)
    if edge is not None:
        return edge
    n = np.arange(1, m)
    log_ratio = (
        math.log1p(-q)
        - math.log(q)
        + 2.0 * np.log(np.abs(1.0 / np.tan(np.pi * np.sqrt(n) / (2.0 * math.sqrt(m)))))
    )
    logw = np.concatenate([[0.0], np.cumsum(log_ratio)])
    return _from_log_weights(logw, size)
