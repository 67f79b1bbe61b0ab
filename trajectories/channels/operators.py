r"""One operator type for every channel: an ``N x N`` operator stored by its diagonals.

Every operator of the model is sparse in the Fock basis along diagonals: a
Jaynes-Cummings Kraus operator is a diagonal plus one diagonal shifted by one level
(``docs/MODEL.md``, collision channel), a Rabi Kraus operator keeps the diagonals of one
parity that are not negligible, the jump operators ``a`` and ``a^dagger`` are single
shifted diagonals. :class:`DiagonalOperator` stores ``offsets`` (``row - column``,
increasing) and ``values`` indexed by *output row*:

.. math:: (A\psi)_m = \sum_i v_i[m]\, \psi_{m - o_i},

with ``v_i[m] = 0`` where ``m - o_i`` is outside ``0 .. N-1``. Applying it costs
``O(N x diagonals)``, on one state or on a batch of trajectories (the last axis is ``m``);
the sandwich :math:`A X A^\dagger` costs ``O(N^2 x diagonals)``. Dense and CSR forms are
for tests and set-up only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

__all__ = ["DiagonalOperator", "KrausOperator", "perturb"]


def perturb(a: np.ndarray, rel: float, rng: np.random.Generator) -> np.ndarray:
    """``a * (1 + rel * u)`` elementwise, ``u`` uniform in ``[-1, 1]``: another
    floating-point version of ``a``.

    Used to measure the rounding error of a computation by repeating it with every
    coefficient moved by about one rounding unit (``docs/MODEL.md``, Sec. 7).

    Parameters
    ----------
    a : array_like
        Real or complex coefficients, any shape.
    rel : float
        Relative size of the perturbation (e.g. ``2**-52``).
    rng : numpy.random.Generator
        Source of ``u``; the real and imaginary parts of a complex ``a`` get independent
        draws.

    Returns
    -------
    ndarray
        Same shape and kind (real or complex) as ``a``; exact zeros stay zero.
    """
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return (a.real * (1.0 + rel * rng.uniform(-1.0, 1.0, a.shape))) + 1j * (
            a.imag * (1.0 + rel * rng.uniform(-1.0, 1.0, a.shape))
        )
    return a * (1.0 + rel * rng.uniform(-1.0, 1.0, a.shape))


def _rows(offset: int, n: int) -> slice:
    """Output rows ``m`` of diagonal ``offset`` whose source ``m - offset`` is a kept level."""
    return slice(max(offset, 0), min(n, n + offset))


@dataclasses.dataclass(frozen=True, eq=False)
class DiagonalOperator:
    r"""An operator on ``N`` levels stored by its ``D`` diagonals.

    :math:`(A\psi)_m = \sum_i v_i[m]\,\psi_{m - o_i}` (module docstring); applying it
    costs ``O(N D)`` per state. Build it with :meth:`from_diagonals` or
    :meth:`from_dense`.

    Attributes
    ----------
    offsets : ndarray of int64, shape (D,)
        ``row - column`` of each stored diagonal, increasing.
    values : ndarray of complex128, shape (D, N)
        ``values[i, m]``: the entry at row ``m``, column ``m - offsets[i]`` (zero where that
        column does not exist).

    Examples
    --------
    The annihilation operator on three levels, :math:`a|n\rangle = \sqrt n|n-1\rangle`,
    is the single diagonal ``-1`` (row ``m`` from column ``m + 1``):

    >>> import numpy as np
    >>> a = DiagonalOperator.from_diagonals(3, {-1: np.sqrt([1.0, 2.0, 0.0])})
    >>> a.apply(np.array([0.0, 0.0, 1.0])).real  # a|2> = sqrt(2)|1>
    array([0.        , 1.41421356, 0.        ])
    >>> a.dense().real
    array([[0.        , 1.        , 0.        ],
           [0.        , 0.        , 1.41421356],
           [0.        , 0.        , 0.        ]])
    """

    offsets: np.ndarray
    values: np.ndarray

    @classmethod
    def from_diagonals(cls, n: int, diagonals: dict[int, np.ndarray], **labels) -> DiagonalOperator:
        """Build the operator from its diagonals.

        Parameters
        ----------
        n : int
            Number of levels ``N``.
        diagonals : dict of int to array_like, shape (N,)
            ``{offset: values by output row}``, offset = row - column; entries whose source
            column is outside ``0 .. N-1`` are ignored. All-zero diagonals are left out.
        **labels
            Further fields of a subclass (``branch``, ``outcome`` of a
            :class:`KrausOperator`).

        Returns
        -------
        DiagonalOperator
            Diagonals sorted by offset; the zero operator keeps one empty diagonal 0.
        """
        offs, rows = [], []
        for o in sorted(diagonals):
            v = np.zeros(n, dtype=np.complex128)
            r = _rows(o, n)
            v[r] = np.asarray(diagonals[o], dtype=np.complex128)[r]
            if np.any(v):
                offs.append(o)
                rows.append(v)
        if not offs:  # the zero operator: one empty diagonal keeps the shapes simple
            offs, rows = [0], [np.zeros(n, dtype=np.complex128)]
        return cls(np.array(offs, dtype=np.int64), np.array(rows), **labels)

    @classmethod
    def from_dense(cls, a: np.ndarray, drop: float = 0.0, **labels) -> DiagonalOperator:
        """Build the operator from a dense matrix, keeping its non-negligible diagonals.

        Parameters
        ----------
        a : ndarray, shape (N, N)
            The matrix in the Fock basis.
        drop : float, optional
            Entries with modulus below ``drop`` are set to zero (default 0: keep every
            nonzero entry); a diagonal is stored if any entry survives.
        **labels
            Further fields of a subclass (``branch``, ``outcome``).

        Returns
        -------
        DiagonalOperator
            The stored diagonals of ``a``.
        """
        n = a.shape[0]
        a = np.where(np.abs(a) >= drop, a, 0.0).astype(np.complex128)
        diagonals = {}
        for o in range(-(n - 1), n):
            d = np.diagonal(a, offset=-o)  # entries (m, m - o)
            if np.any(d):
                v = np.zeros(n, dtype=np.complex128)
                v[_rows(o, n)] = d
                diagonals[o] = v
        return cls.from_diagonals(n, diagonals, **labels)

    # ------------------------------------------------------------------ shape
    @property
    def size(self) -> int:
        """Number of levels ``N``."""
        return self.values.shape[1]

    @property
    def single_diagonal(self) -> bool:
        """True when one diagonal is stored: Fock states go to Fock states, so the sandwich
        :math:`A X A^\\dagger` keeps the diagonal index of ``X``."""
        return self.offsets.size == 1

    # ------------------------------------------------------------------ apply
    def apply(self, psi: np.ndarray) -> np.ndarray:
        r"""Apply the operator to states: :math:`A\psi`.

        Parameters
        ----------
        psi : array_like, shape (..., N)
            One state or a batch of states along the last axis (e.g. ``(M, N)`` for ``M``
            trajectories).

        Returns
        -------
        ndarray, shape (..., N)
            New array, complex unless both operator values and ``psi`` are real.
        """
        psi = np.asarray(psi)
        out = np.zeros(psi.shape, dtype=np.result_type(psi.dtype, self.values.dtype))
        n = self.size
        for o, v in zip(self.offsets, self.values, strict=True):
            r = _rows(int(o), n)
            out[..., r] += v[r] * psi[..., r.start - o : r.stop - o]
        return out

    def apply_adjoint(self, psi: np.ndarray) -> np.ndarray:
        r"""Apply the adjoint to states: :math:`A^\dagger\psi`.

        Parameters
        ----------
        psi : array_like, shape (..., N)
            One state or a batch of states along the last axis.

        Returns
        -------
        ndarray, shape (..., N)
            :math:`A^\dagger\psi`.
        """
        psi = np.asarray(psi)
        out = np.zeros(psi.shape, dtype=np.result_type(psi.dtype, self.values.dtype))
        n = self.size
        for o, v in zip(self.offsets, self.values, strict=True):
            r = _rows(int(o), n)  # A[m, m - o] = v[m]: (A^dag psi)[m - o] += conj(v[m]) psi[m]
            out[..., r.start - o : r.stop - o] += np.conj(v[r]) * psi[..., r]
        return out

    def left(self, x: np.ndarray) -> np.ndarray:
        """Multiply matrices from the left: ``A X`` (A acts on the row index).

        Parameters
        ----------
        x : ndarray, shape (..., N, N)
            A matrix or a stack of matrices.

        Returns
        -------
        ndarray, shape (..., N, N)
            ``A @ x``, in ``O(N^2 D)``.
        """
        return np.swapaxes(self.apply(np.swapaxes(x, -1, -2)), -1, -2)

    def sandwich(self, x: np.ndarray) -> np.ndarray:
        r"""The sandwich :math:`A X A^\dagger` (one Kraus term of a channel).

        Parameters
        ----------
        x : ndarray, shape (..., N, N)
            Any matrix or stack of matrices, not only Hermitian ones.

        Returns
        -------
        ndarray, shape (..., N, N)
            :math:`A X A^\dagger`, in ``O(N^2 D)``.
        """
        ax = self.left(x)  # A X
        return np.conj(self.left(np.conj(np.swapaxes(ax, -1, -2)))).swapaxes(-1, -2)

    def left_adjoint(self, x: np.ndarray) -> np.ndarray:
        r"""Multiply matrices from the left by the adjoint: :math:`A^\dagger X`.

        Parameters
        ----------
        x : ndarray, shape (..., N, N)
            A matrix or a stack of matrices.

        Returns
        -------
        ndarray, shape (..., N, N)
            :math:`A^\dagger X`.
        """
        return np.swapaxes(self.apply_adjoint(np.swapaxes(x, -1, -2)), -1, -2)

    def adjoint_sandwich(self, y: np.ndarray) -> np.ndarray:
        r"""The adjoint sandwich :math:`A^\dagger Y A` (a Kraus term in the Heisenberg picture).

        Parameters
        ----------
        y : ndarray, shape (..., N, N)
            An observable or a stack of them.

        Returns
        -------
        ndarray, shape (..., N, N)
            :math:`A^\dagger Y A`.
        """
        b = self.left_adjoint(y)  # A^dag Y
        return np.conj(np.swapaxes(self.left_adjoint(np.conj(np.swapaxes(b, -1, -2))), -1, -2))

    # ---------------------------------------------------------------- forms
    def dense(self) -> np.ndarray:
        """The operator as a dense matrix (tests and set-up only).

        Returns
        -------
        ndarray of complex128, shape (N, N)
            ``A[m, m - offsets[i]] = values[i, m]``.
        """
        return self.apply(np.eye(self.size, dtype=np.complex128)).T

    def csr(self) -> sp.csr_array:
        """The operator in compressed sparse row form.

        Returns
        -------
        scipy.sparse.csr_array, shape (N, N)
            The stored nonzero entries (explicit zeros of the diagonals are left out).
        """
        n = self.size
        rows, cols, data = [], [], []
        for o, v in zip(self.offsets, self.values, strict=True):
            m = np.arange(n)[_rows(int(o), n)]
            keep = v[m] != 0
            rows.append(m[keep])
            cols.append(m[keep] - o)
            data.append(v[m][keep])
        return sp.csr_array(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )

    def diagonal(self, offset: int) -> np.ndarray:
        """One diagonal of the operator, by output row.

        Parameters
        ----------
        offset : int
            ``row - column`` of the diagonal.

        Returns
        -------
        ndarray of complex128, shape (N,)
            The stored values (a view), or zeros if the diagonal is not stored.
        """
        hit = np.flatnonzero(self.offsets == offset)
        if hit.size:
            return self.values[hit[0]]
        return np.zeros(self.size, dtype=np.complex128)


@dataclasses.dataclass(frozen=True, eq=False)
class KrausOperator(DiagonalOperator):
    r"""A Kraus operator of a collision: a :class:`DiagonalOperator` with its labels.

    :math:`K_{j,o} = \sqrt{\lambda_j}\langle o|U|\phi_j\rangle` (``docs/MODEL.md``,
    Sec. 2.1): a trajectory that draws it records how the qubit came in (``branch``) and
    how it left (``outcome``).

    Attributes
    ----------
    offsets : ndarray of int64, shape (D,)
        ``row - column`` of each stored diagonal, increasing.
    values : ndarray of complex128, shape (D, N)
        Entries by output row (see :class:`DiagonalOperator`).
    branch : int
        Index ``j`` of the eigenvector :math:`|\phi_j\rangle` of the incoming qubit state
        it comes from (for incoherent qubits, ``c = 0``: 0 = came in excited, 1 = came
        in ground).
    outcome : str
        The state the qubit leaves in, ``"e"`` or ``"g"``.
    """

    branch: int = 0
    outcome: str = "e"
