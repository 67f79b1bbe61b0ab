r"""The exact thermal loss channel :math:`\Lambda = e^{\mathcal{L} t_r}` (SPEC Sec. 2.2).

Jump operators :math:`L_1 = \sqrt{\gamma(\bar n+1)}\,a` (emission into the bath) and
:math:`L_2 = \sqrt{\gamma\bar n}\,a^\dagger` (absorption from it); no Hamiltonian in
the interaction picture. The no-jump decay rates are diagonal in the Fock basis,

.. math:: \Gamma_n = \gamma[(\bar n+1)n + \bar n(n+1)],

and :math:`\mathcal L` keeps the diagonal index :math:`d = m - n`, so
:math:`e^{\mathcal L t_r}` is block diagonal: on
:math:`x_i = \rho_{i,i+d}`, :math:`i = 0..N-1-d`,

.. math:: \dot x_i = -\tfrac12(\Gamma_i+\Gamma_{i+d})x_i
          + \gamma(\bar n+1)\sqrt{(i+1)(i+1+d)}\,x_{i+1}
          + \gamma\bar n\sqrt{i(i+d)}\,x_{i-1}.

Each block is exponentiated once per model (``scipy.linalg.expm``); blocks ``-d``
equal blocks ``d`` (Hermiticity), so only the upper triangle is propagated.

Cutoff convention: :math:`\Gamma_{N-1}` keeps the absorption rate
:math:`\gamma\bar n N` out of the top level, and the weight it carries to level
``N`` is *lost* and reported as leakage (computed exactly, from the integrated
top-level population). A Liouvillian built from truncated ``N x N`` matrices
would instead silently keep that weight at level ``N-1``.

Implementation: the block for ``d`` (size ``N-d``) and the block for ``N-1-d``
(size ``d+1``) are packed into one ``(N+1) x (N+1)`` block-diagonal matrix, so a
step is one stacked matrix product of about ``N/2`` such matrices: ``~N^3/2``
real multiply-adds and ``~4 N^3`` bytes of memory.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from .model import Micromaser

__all__ = ["LossChannel", "decay_rates", "loss_generator_block", "population_channel"]


def decay_rates(gamma: float, nbar: float, n_levels: int) -> np.ndarray:
    r"""No-jump decay rates :math:`\Gamma_n = \gamma[(\bar n+1)n + \bar n(n+1)]`.

    Returns shape ``(n_levels,)``, in units of ``1/t_r``.
    """
    n = np.arange(n_levels, dtype=np.float64)
    return gamma * ((nbar + 1.0) * n + nbar * (n + 1.0))


def loss_generator_block(gamma: float, nbar: float, cutoff: int, d: int) -> np.ndarray:
    """Generator of the loss dynamics on the ``d``-th diagonal, shape ``(N-d, N-d)``, real."""
    size = cutoff - d
    i = np.arange(size, dtype=np.float64)
    rates = decay_rates(gamma, nbar, cutoff)
    g = np.diag(-0.5 * (rates[:size] + rates[d:]))
    up = np.sqrt((i[:-1] + 1.0) * (i[:-1] + 1.0 + d))
    g[np.arange(size - 1), np.arange(1, size)] = gamma * (nbar + 1.0) * up
    g[np.arange(1, size), np.arange(size - 1)] = gamma * nbar * up
    return g


def population_channel(model: Micromaser) -> tuple[np.ndarray, np.ndarray]:
    """The loss channel on populations: ``(exp(G_0 t_r), leak vector)``, O(N^3) once.

    The leak vector is computed exactly from the integrated top-level population (an
    augmented matrix exponential), not as ``1 - column sums``, so it keeps its digits
    when it is tiny. Identity and zeros without loss.
    """
    n = model.cutoff
    gamma, nbar = model.gamma_tr, model.nbar
    if gamma == 0.0:
        return np.eye(n), np.zeros(n)
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = loss_generator_block(gamma, nbar, n, 0)
    aug[n, n - 1] = gamma * nbar * n  # absorption rate out of level N-1
    e_aug = expm(aug)
    return e_aug[:n, :n].copy(), e_aug[n, :n].copy()


class LossChannel:
    """Exact one-interval loss map of a model, applied without N^2 x N^2 matrices.

    ``identity`` is True when ``gamma_tr = 0``; then the apply methods return
    their input and zero leakage.
    """

    def __init__(self, model: Micromaser):
        self.model = model
        self.gamma = model.gamma_tr  # rate in units of 1/t_r, time t_r = 1
        self.nbar = model.nbar
        n = model.cutoff
        self.cutoff = n
        self.identity = self.gamma == 0.0
        #: exp(G_0 t_r), the population (d = 0) block, shape (N, N), and the leaked weight
        #: per unit of initial population in level n, shape (N,)
        self.population_block, self.leak_vector = population_channel(model)
        if not self.identity:
            self._build_packed()

    # ------------------------------------------------------------------ set-up
    def block(self, d: int) -> np.ndarray:
        """``exp(G_d t_r)`` for diagonal ``d`` (``abs(d) < N``), shape ``(N-|d|, N-|d|)``."""
        d = abs(d)
        if self.identity:
            return np.eye(self.cutoff - d)
        if d == 0:
            return self.population_block
        return expm(loss_generator_block(self.gamma, self.nbar, self.cutoff, d))

    def _build_packed(self) -> None:
        n = self.cutoff
        n_pairs = (n + 1) // 2
        size = n + 1
        stack = np.zeros((n_pairs, size, size))
        # flat index into rho of each packed slot; unused slots (odd N) read rho[0, 0],
        # harmless because their columns of the stack are zero
        src = np.zeros((n_pairs, size), dtype=np.int64)
        used = np.zeros((n_pairs, size), dtype=bool)
        for p in range(n_pairs):
            d1, d2 = p, n - 1 - p
            a = n - d1
            stack[p, :a, :a] = self.block(d1)
            i1 = np.arange(a)
            src[p, :a] = i1 * n + i1 + d1
            used[p, :a] = True
            if d2 != d1:
                b = n - d2
                stack[p, a : a + b, a : a + b] = self.block(d2)
                i2 = np.arange(b)
                src[p, a : a + b] = i2 * n + i2 + d2
                used[p, a : a + b] = True
        self._stack = stack
        self._src = src
        self._used = np.flatnonzero(used)  # positions of real slots in the flattened stack
        self._upper = src.reshape(-1)[self._used]  # flat index (i, i+d) in the upper triangle
        rows, cols = np.divmod(self._upper, n)
        self._lower = cols * n + rows  # flat index (i+d, i)
        self._diag = np.arange(n) * (n + 1)

    # ------------------------------------------------------------------- apply
    def apply_dm(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        """Apply the loss channel to a Hermitian density matrix ``(N, N)``.

        Returns ``(Lambda(rho), leaked weight)``. Only the upper triangle of
        ``rho`` is read; the result is Hermitian by construction.
        """
        if self.identity:
            return rho, 0.0
        n = self.cutoff
        leak = float(self.leak_vector @ np.diagonal(rho).real)
        x = rho.reshape(-1)[self._src]  # (pairs, N+1) complex: the packed diagonals
        y = np.matmul(self._stack, x.view(np.float64).reshape(*x.shape, 2))
        vals = y.view(np.complex128).reshape(-1)[self._used]
        out = np.empty(n * n, dtype=np.complex128)
        out[self._lower] = vals.conj()
        out[self._upper] = vals
        out[self._diag] = out[self._diag].real  # populations exactly real: output Hermitian
        return out.reshape(n, n), leak

    def apply_populations(self, p: np.ndarray) -> tuple[np.ndarray, float]:
        """Apply the loss channel to the populations of a diagonal state, O(N^2)."""
        if self.identity:
            return p, 0.0
        return self.population_block @ p, float(self.leak_vector @ p)
