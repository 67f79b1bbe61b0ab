r"""General (non-banded) Kraus operators of a collision, stored sparse by diagonals.

A Rabi collision (:mod:`trajectories.counter_rotating`) does not conserve the
excitation number, so its Kraus operators
:math:`K_{j,o} = \sqrt{\lambda_j}\langle o|U|\phi_j\rangle` are not two-banded. They
conserve parity: :math:`\langle o|U|a\rangle` connects photon numbers whose
difference has the parity of ``o != a``, so each operator lives on diagonals of one
parity per qubit block, and the coupling makes far diagonals tiny. We keep the
diagonals (``row - col = offset``) that hold an entry above :data:`DROP_TOL` and zero
the entries below it: a :class:`SparseKraus`. The trajectory kernels apply it in
O(N x number of diagonals); the exact solver uses its CSR form.

The weight a collision sends above the cutoff is the quadratic form
:math:`\langle\psi|M_{leak}|\psi\rangle`, :math:`M_{leak} = \sum_K L_K^\dagger L_K` with
:math:`L_K` the rows of the operator at levels ``N .. N+Delta-1``; only a block at the
top of the kept levels is non-zero, stored as ``(leak_start, leak_block)``.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import scipy.sparse as sp

__all__ = ["DROP_TOL", "SparseKraus", "KrausChannel"]

#: Entries of a Kraus operator (and of the leak form) below this modulus are dropped.
DROP_TOL = 1e-15


@dataclasses.dataclass(frozen=True, eq=False)
class SparseKraus:
    """A Kraus operator on ``N`` levels stored by its non-negligible diagonals.

    ``(K psi)[m] = sum_i values[i, m] * psi[m - offsets[i]]`` (terms with ``m - offset``
    outside ``0 .. N-1`` are zero in ``values``). ``branch`` is the qubit eigenvector
    ``j``, ``outcome`` the measured qubit state (``"e"`` or ``"g"``).
    """

    offsets: np.ndarray  # (D,) int64, increasing
    values: np.ndarray  # (D, N) complex128
    branch: int
    outcome: str

    @classmethod
    def from_dense(
        cls, k: np.ndarray, branch: int, outcome: str, drop: float = DROP_TOL
    ) -> SparseKraus:
        """Keep the diagonals of ``k`` (N, N) with an entry above ``drop``; zero the rest."""
        n = k.shape[0]
        k = np.where(np.abs(k) >= drop, k, 0.0).astype(np.complex128)
        offsets, rows = [], []
        for d in range(-(n - 1), n):
            diag = np.diagonal(k, offset=-d)  # entries (m, m - d)
            if np.any(diag):
                v = np.zeros(n, dtype=np.complex128)
                if d >= 0:
                    v[d:] = diag
                else:
                    v[: n + d] = diag
                offsets.append(d)
                rows.append(v)
        if not offsets:  # the zero operator: one empty diagonal keeps shapes simple
            offsets, rows = [0], [np.zeros(n, dtype=np.complex128)]
        return cls(np.array(offsets, dtype=np.int64), np.array(rows), branch, outcome)

    @property
    def size(self) -> int:
        return self.values.shape[1]

    def apply(self, psi: np.ndarray) -> np.ndarray:
        """``K psi`` for states along the last axis, shape ``(..., N)``."""
        out = np.zeros(np.broadcast_shapes(psi.shape), dtype=np.complex128)
        n = self.size
        for d, v in zip(self.offsets, self.values, strict=True):
            if d >= 0:
                out[..., d:] += v[d:] * psi[..., : n - d]
            else:
                out[..., : n + d] += v[: n + d] * psi[..., -d:]
        return out

    def dense(self) -> np.ndarray:
        """The operator as a dense ``(N, N)`` matrix (tests and set-up only)."""
        return self.csr().toarray()

    def csr(self) -> sp.csr_array:
        """The operator in CSR form (shape ``(N, N)``)."""
        n = self.size
        rows, cols, data = [], [], []
        for d, v in zip(self.offsets, self.values, strict=True):
            m = np.arange(max(d, 0), min(n, n + d))
            keep = v[m] != 0
            rows.append(m[keep])
            cols.append(m[keep] - d)
            data.append(v[m][keep])
        return sp.csr_array(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )


class KrausChannel:
    r"""One collision as :math:`\rho \mapsto \sum_K K\rho K^\dagger` plus its leak form.

    Parameters
    ----------
    kraus : sequence of SparseKraus
        The operators on the kept levels.
    leak_start : int
        First kept level on which the leak form acts.
    leak_block : (N - leak_start, N - leak_start) complex
        The Hermitian block :math:`M_{leak}[s:, s:]`.
    """

    def __init__(self, kraus: tuple[SparseKraus, ...], leak_start: int, leak_block: np.ndarray):
        self.kraus = tuple(kraus)
        self.leak_start = int(leak_start)
        self.leak_block = np.ascontiguousarray(leak_block, dtype=np.complex128)
        self._csr = [k.csr() for k in self.kraus]
        self.n = self.kraus[0].size

    @classmethod
    def from_dense(
        cls,
        ops: list[tuple[np.ndarray, int, str]],
        leak_ops: list[np.ndarray],
        drop: float = DROP_TOL,
    ) -> KrausChannel:
        """Build from dense kept blocks ``(K (N, N), branch, outcome)`` and leaked rows
        ``L (Delta, N)``; ``M_leak = sum L^dag L``, entries below ``drop`` zeroed."""
        kraus = tuple(SparseKraus.from_dense(k, b, o, drop) for k, b, o in ops)
        n = ops[0][0].shape[0]
        m = np.zeros((n, n), dtype=np.complex128)
        for leak in leak_ops:
            m += leak.conj().T @ leak
        m = 0.5 * (m + m.conj().T)
        m[np.abs(m) < drop * drop] = 0.0  # a form: its entries are products of amplitudes
        nz = np.flatnonzero(np.any(m != 0, axis=0))
        start = int(nz[0]) if nz.size else n - 1
        return cls(kraus, start, m[start:, start:])

    def perturbed(self, rel: float, rng: np.random.Generator) -> KrausChannel:
        """A copy whose density-matrix operators (and leak form) have each stored entry
        multiplied by ``1 + rel * u``, ``u`` uniform in ``[-1, 1]``: another equally valid
        floating-point version of the channel (see
        :meth:`trajectories.collision.CollisionChannel.perturbed`)."""
        from .jaynes_cummings import _perturb

        new = copy.copy(self)
        new._csr = []
        for k in self._csr:
            k = k.copy()
            k.data = _perturb(k.data, rel, rng)
            new._csr.append(k)
        new.leak_block = _perturb(self.leak_block, rel, rng)
        return new

    def leak_matrix(self) -> np.ndarray:
        """:math:`M_{leak}` as a dense ``(N, N)`` matrix."""
        m = np.zeros((self.n, self.n), dtype=np.complex128)
        s = self.leak_start
        m[s:, s:] = self.leak_block
        return m

    def leak_of(self, rho: np.ndarray) -> float:
        r""":math:`\mathrm{Tr}(M_{leak}\rho)`, the weight this collision sends above the cutoff."""
        s = self.leak_start
        return float(np.einsum("ij,ji->", self.leak_block, rho[s:, s:]).real)

    def apply_dm(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        """``(sum_K K rho K^dag, leaked weight)`` for a density matrix ``(N, N)``."""
        out = np.zeros_like(rho, dtype=np.complex128)
        for k in self._csr:
            kr = k @ rho  # (N, N) dense
            out += (k @ kr.conj().T).conj().T
        return out, self.leak_of(rho)

    def apply_adjoint(self, y: np.ndarray) -> np.ndarray:
        """``sum_K K^dag Y K`` (the Heisenberg-picture map, without the leak)."""
        out = np.zeros_like(y, dtype=np.complex128)
        for k in self._csr:
            y_k = (k.T @ y.T).T  # Y K
            out += k.conj().T @ y_k
        return out
