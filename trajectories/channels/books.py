r"""The battery's energy books: where each quantum of energy came from, collision by collision.

For one step (collision ``k``, then one loss interval), in units of :math:`\hbar\omega`
(``docs/MODEL.md``, Sec. 12):

- from the collision: :math:`E_{mid} - E_{before}`, with
  :math:`E_{mid} = \mathrm{Tr}[\hat n\,\Phi(\rho)] = \mathrm{Tr}[\Phi^\dagger(\hat n)\rho]`;
- from the bath: :math:`E_{after} - E_{mid}`;
- the energy the qubits lost: :math:`(1-q)\,\mathrm{Tr}\rho - \mathrm{Tr}[M_e\rho]`, with
  :math:`M_e = \sum_{K\,\text{out in }e} K^\dagger K` the probability that the qubit leaves
  excited.

For the Jaynes-Cummings collision :math:`\hat n + \sigma_{ee}` is conserved, so the energy
from the collision *is* the energy the qubits lost (the weight a collision pushes through the
cutoff is leakage, reported). For the Rabi collision the difference is the work of switching
the interaction on and off. :class:`EnergyOperators` holds :math:`\Phi^\dagger(\hat n)` and
:math:`M_e` of one collision channel, banded when the channel is (a Jaynes-Cummings channel
gives tridiagonal ones), and evaluates both traces in one compiled pass.
"""

from __future__ import annotations

import numpy as np

from .._numba import LEAF, njit
from .kraus import KrausChannel

__all__ = ["EnergyOperators"]


@njit(**LEAF)
def _band_traces(rho, offsets, a_vals, m_vals):  # pragma: no cover - compiled
    """``(Tr(n rho), Re Tr(A rho), Re Tr(M rho), Tr rho)`` for banded Hermitian ``A``, ``M``.

    ``a_vals[j, i]`` is ``A[i, i + offsets[j]]`` for ``offsets[j] >= 0`` (the upper band;
    the lower one is its conjugate). ``rho`` is Hermitian, shape (N, N).
    """
    n = rho.shape[0]
    e = 0.0
    tr = 0.0
    for i in range(n):
        e += i * rho[i, i].real
        tr += rho[i, i].real
    ta = 0.0
    tm = 0.0
    for j in range(offsets.shape[0]):
        o = offsets[j]
        for i in range(n - o):
            r = rho[i + o, i]  # Tr(A rho) = sum_ij A_ij rho_ji
            if o == 0:
                ta += a_vals[j, i].real * r.real
                tm += m_vals[j, i].real * r.real
            else:  # A_ij rho_ji + A_ji rho_ij = 2 Re(A_ij rho_ji)
                ta += 2.0 * (a_vals[j, i] * r).real
                tm += 2.0 * (m_vals[j, i] * r).real
    return e, ta, tm, tr


@njit(**LEAF)
def _pop_traces(p, a_diag, m_diag):  # pragma: no cover - compiled
    """``(sum n p, sum a p, sum m p, sum p)`` for populations ``p``."""
    e = 0.0
    ta = 0.0
    tm = 0.0
    tr = 0.0
    for i in range(p.shape[0]):
        e += i * p[i]
        ta += a_diag[i] * p[i]
        tm += m_diag[i] * p[i]
        tr += p[i]
    return e, ta, tm, tr


class EnergyOperators:
    r""":math:`\Phi^\dagger(\hat n)` and :math:`M_e` of a collision channel, for the books.

    Parameters
    ----------
    channel : KrausChannel
        The collision channel (any interaction, averaged over a theta spread or not).
    q : float
        Ground-state population of the incoming qubits: the qubits bring
        :math:`(1-q)\,\mathrm{Tr}\rho` quanta into each collision.

    Attributes
    ----------
    n_after : ndarray of complex128, shape (N, N)
        :math:`A = \Phi^\dagger(\hat n) = \sum_K K^\dagger\hat n K`.
    excited_out : ndarray of complex128, shape (N, N)
        :math:`M_e = \sum_{K\,\text{out in }e} K^\dagger K`.
    offsets : ndarray of int64, shape (B,)
        Upper diagonals ``0 .. w`` on which ``A`` or ``M_e`` is non-zero.
    q : float
        As given.
    """

    def __init__(self, channel: KrausChannel, q: float):
        n = channel.n
        levels = np.arange(n, dtype=np.float64)
        a = np.zeros((n, n), dtype=np.complex128)
        m = np.zeros((n, n), dtype=np.complex128)
        for k in channel.kraus:
            d = k.dense()
            kh = d.conj().T
            a += kh @ (levels[:, None] * d)
            if k.outcome == "e":
                m += kh @ d
        self.n_after = 0.5 * (a + a.conj().T)
        self.excited_out = 0.5 * (m + m.conj().T)
        self.q = float(q)
        nz = np.abs(self.n_after) + np.abs(self.excited_out)
        rows, cols = np.nonzero(nz > 0.0)
        width = int(np.max(np.abs(cols - rows))) if rows.size else 0
        self.offsets = np.arange(width + 1, dtype=np.int64)
        self._a = np.zeros((width + 1, n), dtype=np.complex128)
        self._m = np.zeros((width + 1, n), dtype=np.complex128)
        for o in range(width + 1):
            self._a[o, : n - o] = np.diagonal(self.n_after, o)
            self._m[o, : n - o] = np.diagonal(self.excited_out, o)
        self._a_diag = np.ascontiguousarray(self._a[0].real)
        self._m_diag = np.ascontiguousarray(self._m[0].real)

    def traces(self, rho: np.ndarray) -> tuple[float, float, float, float]:
        r"""The three numbers one step of the books needs, from the state before the collision.

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            Hermitian state before the collision.

        Returns
        -------
        energy : float
            :math:`\mathrm{Tr}(\hat n\rho)`.
        energy_after_collision : float
            :math:`\mathrm{Tr}[\hat n\,\Phi(\rho)]`.
        excited_out : float
            :math:`\mathrm{Tr}[M_e\rho]`, the probability that the qubit leaves in e.
        trace : float
            :math:`\mathrm{Tr}\rho` (below 1 by the weight leaked so far).
        """
        return _band_traces(np.ascontiguousarray(rho), self.offsets, self._a, self._m)

    def traces_populations(self, p: np.ndarray) -> tuple[float, float, float, float]:
        """:meth:`traces` for a diagonal state given by its populations (incoherent qubits).

        Parameters
        ----------
        p : ndarray of float64, shape (N,)
            Populations before the collision.

        Returns
        -------
        tuple of float
            As :meth:`traces`.
        """
        return _pop_traces(p, self._a_diag, self._m_diag)
