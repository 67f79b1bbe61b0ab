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
    """``a * (1 + rel * u)`` elementwise, ``u`` uniform in ``[-1, 1]`` (real and imaginary
    parts of a complex ``a`` independently): another floating-point version of ``a``."""
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
    """An operator on ``N`` levels stored by its diagonals (module docstring).

    Attributes
    ----------
    offsets : (D,) int64
        ``row - column`` of each stored diagonal, increasing.
    values : (D, N) complex128
        ``values[i, m]``: the entry at row ``m``, column ``m - offsets[i]`` (zero where that
        column does not exist).
    """

    offsets: np.ndarray
    values: np.ndarray

    @classmethod
    def from_diagonals(cls, n: int, diagonals: dict[int, np.ndarray], **labels) -> DiagonalOperator:
        """From ``{offset: values by output row}``; all-zero diagonals are left out."""
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
        """Keep the diagonals of the dense ``a`` (N, N) holding an entry with modulus
        ``>= drop`` (and nonzero); entries below ``drop`` are set to zero."""
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
        """``A psi`` for states along the last axis, shape ``(..., N)``."""
        psi = np.asarray(psi)
        out = np.zeros(psi.shape, dtype=np.result_type(psi.dtype, self.values.dtype))
        n = self.size
        for o, v in zip(self.offsets, self.values, strict=True):
            r = _rows(int(o), n)
            out[..., r] += v[r] * psi[..., r.start - o : r.stop - o]
        return out

    def apply_adjoint(self, psi: np.ndarray) -> np.ndarray:
        r""":math:`A^\dagger\psi` for states along the last axis, shape ``(..., N)``."""
        psi = np.asarray(psi)
        out = np.zeros(psi.shape, dtype=np.result_type(psi.dtype, self.values.dtype))
        n = self.size
        for o, v in zip(self.offsets, self.values, strict=True):
            r = _rows(int(o), n)  # A[m, m - o] = v[m]: (A^dag psi)[m - o] += conj(v[m]) psi[m]
            out[..., r.start - o : r.stop - o] += np.conj(v[r]) * psi[..., r]
        return out

    def left(self, x: np.ndarray) -> np.ndarray:
        """``A X`` for matrices ``x`` of shape ``(..., N, N)`` (A acts on the rows index)."""
        return np.swapaxes(self.apply(np.swapaxes(x, -1, -2)), -1, -2)

    def sandwich(self, x: np.ndarray) -> np.ndarray:
        r""":math:`A X A^\dagger` for matrices ``(..., N, N)`` (any, not only Hermitian)."""
        ax = self.left(x)  # A X
        return np.conj(self.left(np.conj(np.swapaxes(ax, -1, -2)))).swapaxes(-1, -2)

    def left_adjoint(self, x: np.ndarray) -> np.ndarray:
        r""":math:`A^\dagger X` for matrices ``x`` of shape ``(..., N, N)``."""
        return np.swapaxes(self.apply_adjoint(np.swapaxes(x, -1, -2)), -1, -2)

    def adjoint_sandwich(self, y: np.ndarray) -> np.ndarray:
        r""":math:`A^\dagger Y A` for matrices ``(..., N, N)`` (the Heisenberg picture)."""
        b = self.left_adjoint(y)  # A^dag Y
        return np.conj(np.swapaxes(self.left_adjoint(np.conj(np.swapaxes(b, -1, -2))), -1, -2))

    # ---------------------------------------------------------------- forms
    def dense(self) -> np.ndarray:
        """The operator as a dense ``(N, N)`` matrix (tests and set-up only)."""
        return self.apply(np.eye(self.size, dtype=np.complex128)).T

    def csr(self) -> sp.csr_array:
        """The operator in CSR form, shape ``(N, N)``."""
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
        """The values of diagonal ``offset`` by output row (zeros if not stored)."""
        hit = np.flatnonzero(self.offsets == offset)
        if hit.size:
            return self.values[hit[0]]
        return np.zeros(self.size, dtype=np.complex128)


@dataclasses.dataclass(frozen=True, eq=False)
class KrausOperator(DiagonalOperator):
    """A Kraus operator of a collision: a :class:`DiagonalOperator` with its labels.

    ``branch`` is the index ``j`` of the eigenvector of the incoming qubit state it comes
    from (for incoherent qubits, ``c = 0``: 0 = came in excited, 1 = came in ground);
    ``outcome`` is the state the qubit leaves in, ``"e"`` or ``"g"``.
    """

    branch: int = 0
    outcome: str = "e"
