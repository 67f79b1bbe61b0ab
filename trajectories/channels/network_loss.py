r"""The loss of two cavities during one interval, applied as two one-cavity channels.

Each cavity has its own thermal bath (generator :math:`\mathcal L_A`, :math:`\mathcal L_B`
of :mod:`trajectories.channels.loss`); they act on different factors of A x B, so they
commute and one regular interval is :math:`e^{\mathcal L_B} e^{\mathcal L_A}`. Each factor
keeps its own diagonal index (``d_A = a - a'`` for A), so on the joint density matrix,
viewed as ``rho[a, b, a', b']``, the A-channel multiplies the ``d_A``-diagonal
``rho[i, :, i + d_A, :]`` by the
one-cavity block :math:`e^{G_{d_A}}` of size ``N_A - |d_A|``; the B-channel likewise. With
the matrix reordered as ``(a, a') x (b, b')`` (one transposing copy) that diagonal is a set of
rows ``a' = a + d_A`` at a fixed stride, so each block is one real matrix product on a strided
view (real and imaginary parts side by side); B the same after a second transpose. Never
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

from ..model.network import Network
from .arrivals import averaged_exp
from .loss import LossChannel, loss_generator_block

__all__ = ["NetworkLoss", "random_arrivals_bytes"]


def random_arrivals_bytes(cutoff: tuple[int, int]) -> int:
    """Bytes of the averaged ``(d_A, d_B)`` sector blocks for random arrivals.

    Parameters
    ----------
    cutoff : (int, int)
        ``(N_A, N_B)``.

    Returns
    -------
    int
        ``8 (sum_d (N_A - |d|)^2) (sum_d (N_B - |d|)^2)``.
    """
    na, nb = cutoff
    sa = sum((na - abs(d)) ** 2 for d in range(-na + 1, na))
    sb = sum((nb - abs(d)) ** 2 for d in range(-nb + 1, nb))
    return 8 * sa * sb


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
        na, nb = self.cutoff
        # (a, b, a', b') -> (a, a', b, b'): the d_A-diagonal of A is the rows a' = a + d_A of
        # an (N_A^2, N_B^2) matrix, one strided slice (stride N_A + 1 rows): a real GEMM on it
        x = np.ascontiguousarray(rho.reshape(na, nb, na, nb).transpose(0, 2, 1, 3))
        x = self._rows(x.reshape(na * na, nb * nb), 0)
        # (a, a', b, b') -> (b, b', a, a'), the same for B, then back
        x = np.ascontiguousarray(x.T)
        x = self._rows(x, 1)
        return np.ascontiguousarray(x.reshape(nb, nb, na, na).transpose(2, 0, 3, 1)).reshape(
            na * nb, na * nb
        )

    def _rows(self, x: np.ndarray, cav: int) -> np.ndarray:
        """Cavity ``cav``'s blocks on the rows ``(i, i + d)`` of ``x`` (shape ``(N^2, K)``)."""
        blocks = self._blocks[cav]
        if blocks is None:
            return x
        n = self.cutoff[cav]
        out = np.empty_like(x)
        xf, of = x.view(np.float64), out.view(np.float64)
        for d in range(-n + 1, n):
            m = blocks[abs(d)]
            start = d if d >= 0 else -d * n
            rows = slice(start, start + (len(m) - 1) * (n + 1) + 1, n + 1)
            np.matmul(m, xf[rows], out=of[rows])
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
