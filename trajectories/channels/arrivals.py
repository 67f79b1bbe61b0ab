r"""The loss channel of one random interval: :math:`\mathbb E_T[e^{G T}]`, block by block.

With random arrivals (:class:`~trajectories.model.imperfections.Arrivals`) the interval
``T`` before each collision is random with mean ``t_r = 1``, independent of everything
else, so the exact one-interval channel is the average of the loss channel over ``T``.
The loss generator keeps the diagonal index of rho (:mod:`trajectories.channels.loss`),
and so does the average: each block :math:`G_d` is replaced by a matrix function of it,

================  ====================================  =========================================
arrivals          ``T``                                 :math:`\mathbb E_T[e^{GT}]`
================  ====================================  =========================================
regular           1                                     :math:`e^{G}`
Poisson           exponential, mean 1                   :math:`(1 - G)^{-1}`
Bernoulli(``p``)  ``j p``, :math:`P(j) = p(1-p)^{j-1}`  :math:`pE(1-(1-p)E)^{-1}`, :math:`E=e^{pG}`
================  ====================================  =========================================

(the Laplace transform of the exponential density; the geometric series
:math:`\sum_{j\ge1} p(1-p)^{j-1}E^j` summed exactly). One matrix exponential and/or one
linear solve per block: no time stepping, no truncated sum. The inverses exist because
every eigenvalue of :math:`G_d` has a non-positive real part (it generates a contraction),
so ``1 - G`` and ``1 - (1-p)E`` have eigenvalues of modulus at least 1 and ``p``.

Any function of a generator that is an average of exponentials can be applied to an
*augmented* generator: the leaked weight (an absorbing state appended to the population
block, :func:`~trajectories.channels.loss.population_channel`) and the Taylor coefficients
of a tilted generator (block-triangular augmentation,
:meth:`~trajectories.channels.tilted.TiltedChannel.taylor_blocks`) come out of the same
formula, because :math:`A \mapsto \mathbb E_T[e^{AT}]` is a matrix function.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from ..model.imperfections import Arrivals

__all__ = ["averaged_exp"]


def averaged_exp(g: np.ndarray, arrivals: Arrivals) -> np.ndarray:
    r""":math:`\mathbb E_T[e^{g T}]` for the interval distribution of ``arrivals`` (mean 1).

    Parameters
    ----------
    g : ndarray, shape (..., m, m)
        Generator(s) in units of ``1/t_r`` (a stack is accepted), real or complex, with
        spectrum in the closed left half-plane (a loss generator, tilted or augmented).
    arrivals : Arrivals
        The interval distribution.

    Returns
    -------
    ndarray, shape (..., m, m)
        The averaged propagator: ``expm(g)`` for regular arrivals, the resolvent
        ``(1 - g)^{-1}`` for Poisson, ``p E (1 - (1-p) E)^{-1}``, ``E = expm(p g)``, for
        Bernoulli(``p``).

    Examples
    --------
    A single level decaying at rate 1 survives an exponential interval with probability
    ``1/2``:

    >>> float(averaged_exp(np.array([[-1.0]]), Arrivals.poisson())[0, 0])
    0.5
    """
    g = np.asarray(g)
    if arrivals.kind == "regular":
        return expm(g)
    eye = np.broadcast_to(np.eye(g.shape[-1], dtype=g.dtype), g.shape)
    if arrivals.kind == "poisson":
        return np.linalg.solve(eye - g, eye.copy())
    p = arrivals.p
    e = expm(p * g)
    # E and (1 - (1-p) E)^(-1) commute (functions of the same g): one solve
    return p * np.linalg.solve(eye - (1.0 - p) * e, e)
