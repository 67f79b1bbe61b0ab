r"""The loss of two cavities during one interval, applied as two one-cavity channels.

Each cavity has its own thermal bath (generator :math:`\mathcal L_A`, :math:`\mathcal L_B`
of :mod:`trajectories.channels.loss`); they act on different factors of A x B, so they
commute and one regular interval is :math:`e^{\mathcal L_B} e^{\mathcal L_A}`. Each factor
keeps its own diagonal index (``d_A = a - a'`` for A), so on the joint density matrix,
viewed as ``rho[a, b, a', b']``, the A-channel multiplies the ``d_A``-diagonal
``rho[i, :, i + d_A, :]`` (a strided view: no copy of the matrix, no permutation) by the
one-cavity block :math:`e^{G_{d_A}}` of size ``N_A - |d_A|``; the B-channel likewise. Never
an ``N_A^2 N_B^2`` superoperator: ``sum_d (N - |d|)^2 ~ 2N^3/3`` floats per cavity.

Random arrivals: the interval ``T`` is common to both cavities, so the average
:math:`\mathbb E_T[e^{(\mathcal L_A + \mathcal L_B)T}]` does not factorise. It keeps the
pair ``(d_A, d_B)``; on that sector the generator is the Kronecker sum of the two blocks
(dimension ``(N_A - |d_A|)(N_B - |d_B|)``) and the average is the same matrix function as for
one cavity (:func:`~trajectories.channels.arrivals.averaged_exp`). Those averaged sector
blocks take ``8 (sum_d (N_A-|d|)^2)(sum_d (N_B-|d|)^2)`` bytes (4 MB at ``N_A = N_B = 10``,
230 MB at 20): :func:`random_arrivals_bytes` states it and the solvers refuse beyond the
machine's memory.

Cutoff convention as for one cavity: absorption out of each top level is lost (leakage).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..model.network import Network
from .arrivals import averaged_exp
from .loss import LossChannel, loss_generator_block

__all__ = ["NetworkLoss", "random_arrivals_bytes"]


def random_arrivals_bytes(cutoff: tuple[int, int]) -> int:
    """Bytes of the averaged ``(d_A, d_B)`` sector blocks for random arrivals."""
    na, nb = cutoff
    sa = sum((na - abs(d)) ** 2 for d in range(-na + 1, na))
    sb = sum((nb - abs(d)) ** 2 for d in range(-nb + 1, nb))
    return 8 * sa * sb


def _diagonal_view(x: np.ndarray, cutoff: tuple[int, int], cavity: int, d: int) -> np.ndarray:
    """The ``d``-diagonal of one cavity as a strided view of ``x`` (float64 pairs).

    ``x`` is a C-contiguous complex ``(D, D)`` joint matrix. Returns a writeable float64
    view of shape ``(N_X - |d|, N_Y, N_Y, 2)`` (last axis: real, imaginary) over the
    elements ``rho[i, b, i + d, b']`` (cavity A; for B the roles swap):
    axis 0 runs along the diagonal.
    """
    na, nb = cutoff
    dim = na * nb
    s16 = 16  # complex128 bytes
    if cavity == 0:
        length = na - abs(d)
        i0 = (0, d) if d >= 0 else (-d, 0)  # (a, a') at the start
        offset = (i0[0] * nb * dim + i0[1] * nb) * s16
        shape = (length, nb, nb, 2)
        strides = ((nb * dim + nb) * s16, dim * s16, s16, 8)
    else:
        length = nb - abs(d)
        i0 = (0, d) if d >= 0 else (-d, 0)  # (b, b')
        offset = (i0[0] * dim + i0[1]) * s16
        shape = (length, na, na, 2)
        strides = ((dim + 1) * s16, nb * dim * s16, nb * s16, 8)
    flat = x.view(np.float64).reshape(-1)
    return as_strided(flat[offset // 8 :], shape=shape, strides=strides, writeable=True)


class NetworkLoss:
    r"""Exact loss of both cavities over one interval (regular or random arrivals).

    Parameters
    ----------
    net : Network
        The model; ``gamma_tr``, ``nbar``, ``cutoff`` and ``arrivals`` are read.

    Attributes
    ----------
    identity : bool
        True without loss in either cavity.
    """

    def __init__(self, net: Network):
        self.net = net
        self.cutoff = net.cutoff
        self.identity = not net.has_loss
        self.random = not net.arrivals.is_regular
        self._blocks: list[dict[int, np.ndarray] | None] = [None, None]
        if self.identity:
            return
        if self.random:
            self._build_sectors()
            return
        for i in (0, 1):
            cav = net.cavity(i)
            if cav.gamma_tr == 0.0:
                continue
            ch = LossChannel(cav.replace(theta_spread=net.theta_spread.none()))
            n = cav.cutoff
            self._blocks[i] = {d: np.ascontiguousarray(ch.block(d)) for d in range(n)}

    def _build_sectors(self) -> None:
        net = self.net
        na, nb = self.cutoff
        ga = [loss_generator_block(net.gamma_tr[0], net.nbar[0], na, d) for d in range(na)]
        gb = [loss_generator_block(net.gamma_tr[1], net.nbar[1], nb, d) for d in range(nb)]
        self._sectors = {}
        for da in range(na):
            for db in range(nb):
                a, b = ga[da], gb[db]
                k = np.kron(a, np.eye(len(b))) + np.kron(np.eye(len(a)), b)
                self._sectors[(da, db)] = averaged_exp(k, net.arrivals)

    def apply(self, rho: np.ndarray) -> np.ndarray:
        """The state after one interval (a new array; input unchanged).

        Parameters
        ----------
        rho : ndarray of complex128, shape (D, D)
            Joint density matrix, natural basis.

        Returns
        -------
        ndarray of complex128, shape (D, D)
            Its trace is the input's minus the weight absorbed above a cutoff.
        """
        rho = np.ascontiguousarray(rho, dtype=np.complex128)
        if self.identity:
            return rho.copy()
        if self.random:
            return self._apply_sectors(rho)
        out = rho
        for cav in (0, 1):
            blocks = self._blocks[cav]
            if blocks is None:
                continue
            src = out
            out = np.empty_like(src)
            n = self.cutoff[cav]
            for d in range(-n + 1, n):
                x = _diagonal_view(src, self.cutoff, cav, d)
                y = _diagonal_view(out, self.cutoff, cav, d)
                m = blocks[abs(d)]
                y[...] = (m @ x.reshape(len(m), -1)).reshape(x.shape)
        return out

    def _apply_sectors(self, rho: np.ndarray) -> np.ndarray:
        na, nb = self.cutoff
        r4 = rho.reshape(na, nb, na, nb)
        out = np.empty_like(r4)
        for da in range(-na + 1, na):
            ia = np.arange(max(0, -da), na - max(0, da))
            for db in range(-nb + 1, nb):
                ib = np.arange(max(0, -db), nb - max(0, db))
                m = self._sectors[(abs(da), abs(db))]
                x = r4[ia[:, None], ib[None, :], (ia + da)[:, None], (ib + db)[None, :]]
                y = (m @ x.reshape(-1)).reshape(x.shape)
                out[ia[:, None], ib[None, :], (ia + da)[:, None], (ib + db)[None, :]] = y
        return out.reshape(rho.shape)
