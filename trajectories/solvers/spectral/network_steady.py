r"""Steady state of a network of two cavities: the fixed point of the joint one-step channel.

The one-step channel :math:`T = \Lambda_B\Lambda_A\Phi` of a
:class:`~trajectories.model.network.Network` is applied matrix-free
(:meth:`~trajectories.channels.network_step.NetworkStep.operator`: shell blocks and two
one-cavity loss channels, never a ``D^2 x D^2`` matrix) inside ARPACK, which returns its
leading eigenvalues; the eigenvector of eigenvalue 1 is the steady state, and the next
eigenvalue sets the slowest relaxation, :math:`-1/\ln|\lambda_1|` collisions.

For incoherent qubits (``c = 0``) the channel is covariant under the joint phase rotation
:math:`e^{i\varphi(n_A + n_B)}`, so coherences between different totals ``n_A + n_B`` decay
and the fixed point lies in the shell-diagonal sector; the solver still works on the whole
space (the sector structure is what makes the eigenvalue 1 simple there).

Cost: each eigensolver step is one channel application (tens of ms at ``N_A = N_B = 30``),
and ARPACK keeps ``~2 n_eigs + 1`` vectors of ``D^2`` complex numbers; slow relaxation
(weak loss) needs more steps.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigs

from ..._threads import single_threaded_blas
from ...bipartite import bipartite_observables
from ...channels.network_step import NetworkStep
from ...model.network import Network
from ...model.states import as_density_matrix
from ...validation import check_memory, format_bytes, integer_at_least, real_in_range
from .spectrum import ONE_TOL, SteadyStateError

__all__ = ["NetworkSteadyState", "network_steady_state", "MAX_RESTARTS"]

#: Implicit restarts ARPACK may take before the solver gives up (each costs about ``ncv``
#: channel applications).
MAX_RESTARTS = 300


@dataclasses.dataclass(frozen=True, repr=False)
class NetworkSteadyState:
    r"""Fixed point of a network's one-step channel.

    Attributes
    ----------
    model : Network
    rho : ndarray of complex128, shape (D, D)
        The fixed point (trace 1, Hermitian), natural basis ``a N_B + b``.
    observables : dict
        :func:`~trajectories.bipartite.bipartite_observables` of ``rho``: ``energy``
        (pair), ``total_energy``, ``purity``, ``ergotropy``, ``local_ergotropy``,
        ``collective_ergotropy``, ``log_negativity``, ``mutual_information``, ...
    residual : float
        ``||T(rho) - rho||`` (Frobenius).
    eigenvalues : ndarray of complex128, shape (K,)
        The leading eigenvalues of ``T``, by decreasing modulus (the first is 1 up to the
        leak through the cutoffs).
    relaxation_collisions : float
        Slowest relaxation time :math:`-1/\ln|\lambda_1|` (collisions); ``inf`` if not
        resolved.
    """

    model: Network
    rho: np.ndarray
    observables: dict
    residual: float
    eigenvalues: np.ndarray
    relaxation_collisions: float

    @property
    def energy(self) -> np.ndarray:
        """Energy of each cavity, shape (2,) (units of :math:`\\hbar\\omega`)."""
        return self.observables["energy"]

    @property
    def total_energy(self) -> float:
        """Energy of the pair."""
        return float(self.observables["total_energy"])

    def __repr__(self) -> str:
        o = self.observables
        return (
            f"NetworkSteadyState(energy=({o['energy'][0]:.10g}, {o['energy'][1]:.10g}), "
            f"purity={o['purity']:.6g}, ergotropy={o['ergotropy']:.6g}, "
            f"log_negativity={o['log_negativity']:.4g}, residual={self.residual:.2e}, "
            f"relaxation={self.relaxation_collisions:.4g} collisions)"
        )


def network_steady_state(
    net: Network,
    *,
    from_state: np.ndarray | None = None,
    tol: float = 1e-10,
    n_eigs: int = 3,
) -> NetworkSteadyState:
    r"""The steady state of a network of two cavities.

    Parameters
    ----------
    net : Network
        The model.
    from_state : array, optional
        Joint state vector ``(D,)`` or density matrix ``(D, D)`` to start the eigensolver
        from (default: the maximally mixed state).
    tol : float
        Largest accepted residual ``||T(rho) - rho||``.
    n_eigs : int
        Leading eigenvalues computed (``>= 2``: the second gives the relaxation time).

    Returns
    -------
    NetworkSteadyState

    Raises
    ------
    SteadyStateError
        When the residual exceeds ``tol``, when eigenvalue 1 is not separated from the next
        (``1 - |lambda_1| <= 1e-12``: a degenerate or unresolved fixed point, e.g. lossless
        trapping; run :func:`~trajectories.solvers.exact.solve_exact` instead), or when
        ARPACK fails.
    ValueError
        For invalid arguments or a memory need above the machine's.

    Examples
    --------
    >>> import trajectories as tj
    >>> net = tj.Network(theta=(0.6, 0.6), q=0.7, gamma_tr=0.3, cutoff=(12, 12))
    >>> ss = tj.steady_state(net)
    >>> bool(ss.residual < 1e-10), bool(ss.total_energy > 0)
    (True, True)
    """
    if not isinstance(net, Network):
        raise ValueError(f"net must be a trajectories.Network, got {type(net).__name__}")
    tol = real_in_range("tol", tol, 0.0)
    n_eigs = integer_at_least("n_eigs", n_eigs, 2)
    d = net.dimension
    ncv = min(d * d, max(2 * n_eigs + 1, 20))
    check_memory(
        "cutoff", repr(net.cutoff), 16 * d * d * (ncv + 12),
        "the eigensolver's Krylov vectors of the joint density matrix",
        lambda limit: f"at most {format_bytes(limit)}; use smaller cutoffs",
    )  # fmt: skip
    if from_state is None:
        v0 = np.eye(d, dtype=np.complex128) / d
    else:
        v0 = as_density_matrix(from_state, d, name="from_state").astype(np.complex128)
    step = NetworkStep(net)
    op = step.operator()
    k = min(n_eigs, d * d - 2)
    with single_threaded_blas():
        try:
            w, v = eigs(
                op, k=k, which="LM", v0=v0.reshape(-1), ncv=ncv, tol=1e-14, maxiter=MAX_RESTARTS
            )
        except (ArpackNoConvergence, ArpackError) as err:
            raise SteadyStateError(
                f"ARPACK did not converge for the network within {MAX_RESTARTS} restarts "
                f"({err}): eigenvalue 1 may be degenerate or nearly so (without loss the "
                "network can conserve more than the trace, e.g. the dark mode of the "
                "simultaneous topology with theta_A = theta_B); follow the evolution with "
                "solve_exact instead"
            ) from err
        order = np.argsort(-np.abs(w))
        w, v = w[order], v[:, order]
        rho = v[:, 0].reshape(d, d)
        rho = 0.5 * (rho + rho.conj().T)
        rho = rho / np.trace(rho).real
        residual = float(np.linalg.norm(step.loss.apply(step.collision.apply(rho)) - rho))
    if len(w) > 1 and 1.0 - abs(w[1]) <= ONE_TOL:
        raise SteadyStateError(
            f"eigenvalue 1 of the network's channel is not separated from the next "
            f"(|lambda_1| = {abs(w[1]):.15f}): the fixed point is degenerate or unresolved; "
            "follow the evolution with solve_exact instead"
        )
    if residual > tol:
        raise SteadyStateError(
            f"steady-state residual {residual:.3g} above tol={tol:.3g} (leakage through the "
            f"cutoffs {net.cutoff}? eigenvalue {w[0]:.15g})"
        )
    relax = -1.0 / np.log(abs(w[1])) if len(w) > 1 and 0 < abs(w[1]) < 1 else np.inf
    return NetworkSteadyState(
        model=net,
        rho=rho,
        observables=bipartite_observables(rho, net.cutoff),
        residual=residual,
        eigenvalues=w,
        relaxation_collisions=float(relax),
    )
