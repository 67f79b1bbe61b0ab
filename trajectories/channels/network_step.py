r"""One step of a network: the collision of one qubit with both cavities, then the loss.

:math:`\rho(k+1) = \Lambda(\Phi(\rho(k)))` on the joint density matrix of A x B, with
:class:`~trajectories.channels.network_collision.NetworkCollision` and
:class:`~trajectories.channels.network_loss.NetworkLoss`. The weight that leaves the kept
levels (through a collision or an absorption at a cutoff) is returned as leakage; the
observables are never renormalised.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..model.network import Network
from .network_collision import NetworkCollision
from .network_loss import NetworkLoss

__all__ = ["NetworkStep"]


class NetworkStep:
    r"""The one-step channel :math:`\Lambda\circ\Phi` of a :class:`Network`.

    Parameters
    ----------
    net : Network
        The model.

    Attributes
    ----------
    collision : NetworkCollision
    loss : NetworkLoss
    """

    def __init__(self, net: Network):
        self.net = net
        self.collision = NetworkCollision(net)
        self.loss = NetworkLoss(net)

    def step(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        """One collision and one interval of loss.

        Parameters
        ----------
        rho : ndarray of complex128, shape (D, D)
            Joint density matrix (natural basis ``a N_B + b``).

        Returns
        -------
        rho : ndarray of complex128, shape (D, D)
            The state after the step (Hermitian: symmetrised to rounding).
        leaked : float
            Trace lost in the step (through either cutoff).
        """
        before = float(np.trace(rho).real)
        out = self.loss.apply(self.collision.apply(rho))
        out = 0.5 * (out + out.conj().T)
        return out, before - float(np.trace(out).real)

    def step_outcome(self, rho: np.ndarray, outcome: int) -> np.ndarray:
        """The unnormalised state after a step whose qubit left in ``outcome``.

        Parameters
        ----------
        rho : ndarray of complex128, shape (D, D)
            Joint density matrix.
        outcome : {0, 1}
            0: the qubit left in e; 1: in g.

        Returns
        -------
        ndarray of complex128, shape (D, D)
            Loss applied to that outcome's part of the collision (trace: its probability).
        """
        return self.loss.apply(self.collision.apply(rho, outcome))

    def operator(self) -> LinearOperator:
        """The step as a linear operator on ``vec(rho)``, for eigensolvers.

        Returns
        -------
        scipy.sparse.linalg.LinearOperator
            Shape ``(D^2, D^2)``, complex; ``matvec`` applies the channel matrix-free.
        """
        d = self.net.dimension

        def matvec(v: np.ndarray) -> np.ndarray:
            x = np.asarray(v, dtype=np.complex128).reshape(d, d)
            return self.loss.apply(self.collision.apply(x)).reshape(-1)

        return LinearOperator((d * d, d * d), matvec=matvec, dtype=np.complex128)
