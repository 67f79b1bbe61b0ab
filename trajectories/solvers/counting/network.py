r"""Counting statistics of the qubits leaving a network of two cavities.

Each qubit leaves the network (after A and B, or after the simultaneous collision) in ``e``
or ``g``; with detection efficiency :math:`\eta` and misreads :math:`(\epsilon_e,
\epsilon_g)` a qubit that left in ``o`` adds to the count with probability ``w_o``
(``count="g"``: :math:`w_g = \eta(1-\epsilon_g)`, :math:`w_e = \eta\epsilon_e`;
``count="e"`` the mirror image). The tilted one-step channel

.. math:: T(z) = \Lambda\Big(\sum_o (1 - w_o + w_o z)\,\Phi^{(o)}\Big) = T + (z - 1)\,T_1,
   \qquad T_1 = \Lambda\Big(\sum_o w_o \Phi^{(o)}\Big),

generates the count: :math:`E[z^{J_k}] = \mathrm{Tr}\,T(z)^k\rho_0`. Everything below is
matrix-free on the joint density matrix (the outcome parts :math:`\Phi^{(o)}` of
:class:`~trajectories.channels.network_collision.NetworkCollision`):

- :func:`network_moments`: :math:`X(1+\varepsilon) = X_0 + \varepsilon X_1 +
  \varepsilon^2X_2` propagated exactly, :math:`E[J] = \mathrm{Tr}X_1`,
  :math:`E[J(J-1)] = 2\mathrm{Tr}X_2`;
- :func:`network_distribution`: the joint states conditioned on each count value,
  :math:`\rho_{k+1}(j) = T_0'\rho_k(j) + T_1'\rho_k(j-1)` (memory ``(k+1) D^2``: small
  networks);
- :func:`network_rates`: stationary rate and variance rate per collision,
  :math:`J = \mathrm{Tr}\,T_1\rho_{ss}`,
  :math:`\sigma^2 = J - J^2 + 2\,\mathrm{Tr}\,T_1x` with :math:`(1 - T)x = T_1\rho_{ss} -
  J\rho_{ss}`, :math:`\mathrm{Tr}\,x = 0` (GMRES on :math:`1 - T + \rho_{ss}\mathrm{Tr}`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.sparse.linalg import LinearOperator, gmres

from ..._threads import single_threaded_blas
from ...channels.network_step import NetworkStep
from ...errors import DEFAULT_LEAKAGE_TOL, TruncationError
from ...model.network import Network
from ...model.states import as_density_matrix
from ...validation import (
    check_memory,
    checkpoint_array,
    collision_count,
    format_bytes,
    real_in_range,
)
from ..spectral.network_steady import network_steady_state
from .results import ExactCounting, ExactMoments, StationaryRates

__all__ = ["NETWORK_COUNTS", "network_moments", "network_distribution", "network_rates"]

#: The counts defined for a network: the outgoing qubits.
NETWORK_COUNTS = ("g", "e")


def _weights(count: str, efficiency: float, misread) -> tuple[float, float]:
    """``(w_e, w_g)``: probability that a qubit leaving in e / g adds to the count."""
    if count not in NETWORK_COUNTS:
        raise ValueError(
            f"count must be one of {NETWORK_COUNTS} for a network (the outgoing qubits), "
            f"got {count!r}"
        )
    eta = real_in_range("efficiency", efficiency, 0.0, 1.0)
    try:
        eps_e, eps_g = misread
    except (TypeError, ValueError):
        raise ValueError(f"misread must be a pair (eps_e, eps_g), got {misread!r}") from None
    eps_e = real_in_range("misread[0]", eps_e, 0.0, 1.0)
    eps_g = real_in_range("misread[1]", eps_g, 0.0, 1.0)
    if count == "g":
        return eta * eps_e, eta * (1.0 - eps_g)
    return eta * (1.0 - eps_e), eta * eps_g


def _check(net, n_collisions, count, efficiency, misread, checkpoints, leakage_tol):
    """The arguments both finite-k functions share, checked before any work."""
    if not isinstance(net, Network):
        raise ValueError(f"net must be a trajectories.Network, got {type(net).__name__}")
    n = collision_count("n_collisions", n_collisions)
    w = _weights(count, efficiency, misread)
    ks = checkpoint_array(checkpoints, n)
    if leakage_tol != float("inf"):
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    return n, w, ks, leakage_tol


class _Tilted:
    """``T x`` and ``T_1 x`` of the module docstring from one pass over the outcomes."""

    def __init__(self, net: Network, w: tuple[float, float]):
        self.step = NetworkStep(net)
        self.w = w

    def both(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col, loss = self.step.collision, self.step.loss
        pe = col.apply(x, outcome=0)
        pg = col.apply(x, outcome=1)
        return loss.apply(pe + pg), loss.apply(self.w[0] * pe + self.w[1] * pg)


def _start(net: Network, initial_state) -> np.ndarray:
    d = net.dimension
    if initial_state is None:
        rho = np.zeros((d, d), dtype=np.complex128)
        rho[0, 0] = 1.0
        return rho
    return as_density_matrix(initial_state, d).astype(np.complex128)


def network_moments(
    net: Network,
    n_collisions: int,
    count: str = "g",
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
) -> ExactMoments:
    """Exact mean, variance and Mandel Q of the outgoing-qubit count after ``k`` collisions.

    Parameters
    ----------
    net : Network
        The model.
    n_collisions : int
        Number of collisions, ``>= 0``.
    count : {"g", "e"}
        Qubits counted leaving in ``g`` or in ``e``.
    initial_state : array, optional
        Joint state ``(D,)`` or ``(D, D)``; default ``|0, 0>``.
    checkpoints : iterable of int, optional
        Default every collision.
    leakage_tol : float
        Largest trace lost through the cutoffs (else :class:`TruncationError`).
    efficiency, misread
        Detection of the outgoing qubits (module docstring).

    Returns
    -------
    ExactMoments
        ``k``, ``mean``, ``variance``, ``mandel_q``, ``leakage`` (moments of the
        unconditioned count; they differ from the no-leak ones by O(leakage)).

    Examples
    --------
    Without coupling every qubit leaves as it came: the count of ``g`` is binomial,
    mean ``k q`` and variance ``k q (1 - q)``:

    >>> import trajectories as tj
    >>> net = tj.Network(theta=(0.0, 0.0), q=0.3, cutoff=(3, 3))
    >>> m = network_moments(net, 10, "g")
    >>> round(float(m.mean[-1]), 12), round(float(m.variance[-1]), 12)
    (3.0, 2.1)
    """
    n, w, ks, leakage_tol = _check(
        net, n_collisions, count, efficiency, misread, checkpoints, leakage_tol
    )
    x0 = _start(net, initial_state)
    d = net.dimension
    x1 = np.zeros((d, d), dtype=np.complex128)
    x2 = np.zeros((d, d), dtype=np.complex128)
    tilt = _Tilted(net, w)
    out = {name: [] for name in ("mean", "fact2", "leak")}
    i = 0

    def record() -> None:
        out["mean"].append(np.trace(x1).real)
        out["fact2"].append(2.0 * np.trace(x2).real)
        out["leak"].append(1.0 - np.trace(x0).real)

    with single_threaded_blas():
        if ks[0] == 0:
            record()
            i = 1
        for k in range(1, n + 1):
            if i == ks.size:
                break
            t0, t1 = tilt.both(x0)
            u1, v1 = tilt.both(x1)
            u2, _ = tilt.both(x2)
            x0, x1, x2 = t0, u1 + t1, u2 + v1
            leak = 1.0 - np.trace(x0).real
            if leak > leakage_tol:
                raise TruncationError(net.cutoff, leak, leakage_tol, k)
            if k == ks[i]:
                record()
                i += 1
    mean = np.array(out["mean"])
    var = np.array(out["fact2"]) + mean - mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(mean != 0.0, var / mean - 1.0, np.nan)
    return ExactMoments(
        count=count, k=ks, mean=mean, variance=var, mandel_q=q,
        leakage=np.array(out["leak"]), efficiency=float(efficiency),
        misread=tuple(float(m) for m in misread),
    )  # fmt: skip


def network_distribution(
    net: Network,
    n_collisions: int,
    count: str = "g",
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
) -> ExactCounting:
    """Exact distribution ``P(count = j after k collisions)`` of the outgoing qubits.

    Propagates one joint (unnormalised) state per count value: memory ``(k+1) D^2``
    complex numbers, cost ``~k^2/2`` collisions; meant for small networks (the machine's
    memory is checked before any work).

    Parameters
    ----------
    net, n_collisions, count, initial_state, checkpoints, leakage_tol, efficiency, misread
        As :func:`network_moments`.

    Returns
    -------
    ExactCounting
        ``k``, ``values`` (0 .. n_collisions), ``probabilities`` ``(C, n_collisions + 1)``
        (summing to ``1 - leakage``), moments conditioned on no leakage; no window, tail or
        DFT (``tail_mass`` and ``alias_check`` zero, ``grid_size`` 0).
    """
    n, w, ks, leakage_tol = _check(
        net, n_collisions, count, efficiency, misread, checkpoints, leakage_tol
    )
    d = net.dimension
    check_memory(
        "n_collisions", str(n), 3 * 16 * (n + 1) * d * d,
        "one joint density matrix per count value",
        lambda limit: f"at most {format_bytes(limit)}; use fewer collisions, smaller cutoffs "
        "or network_moments",
    )  # fmt: skip
    step = NetworkStep(net)
    col, loss = step.collision, step.loss
    states = np.zeros((n + 1, d, d), dtype=np.complex128)
    states[0] = _start(net, initial_state)
    probs = np.zeros((ks.size, n + 1))
    leaks = np.zeros(ks.size)
    i = 0
    with single_threaded_blas():
        if ks[0] == 0:
            probs[0] = np.trace(states, axis1=1, axis2=2).real
            i = 1
        for k in range(1, n + 1):
            if i == ks.size:
                break
            new = np.zeros_like(states[: k + 1])
            for j in range(k):  # count j after k - 1 collisions
                x = states[j]
                pe, pg = col.apply(x, outcome=0), col.apply(x, outcome=1)
                stay = (1.0 - w[0]) * pe + (1.0 - w[1]) * pg
                new[j] += loss.apply(stay)
                new[j + 1] += loss.apply(w[0] * pe + w[1] * pg)
            states[: k + 1] = new
            tr = np.trace(states[: k + 1], axis1=1, axis2=2).real
            leak = 1.0 - tr.sum()
            if leak > leakage_tol:
                raise TruncationError(net.cutoff, leak, leakage_tol, k)
            if k == ks[i]:
                probs[i, : k + 1] = tr
                leaks[i] = leak
                i += 1
    return _counting_result(count, ks, probs, leaks, efficiency, misread)


def _counting_result(count, ks, probs, leaks, efficiency, misread) -> ExactCounting:
    """The distribution as an :class:`ExactCounting` (exact: no window, no tail, no DFT)."""
    j = np.arange(probs.shape[1])
    norm = probs.sum(axis=1)
    mean = probs @ j / norm
    var = probs @ j**2 / norm - mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(mean != 0.0, var / mean - 1.0, np.nan)
    return ExactCounting(
        count=count, k=ks, values=j, probabilities=probs, mean=mean, variance=var,
        mandel_q=q, tail_mass=np.zeros(ks.size),
        window=np.tile([0, probs.shape[1] - 1], (ks.size, 1)), grid_size=0,
        alias_check=np.zeros(ks.size), leakage=leaks, efficiency=float(efficiency),
        misread=tuple(float(m) for m in misread),
    )  # fmt: skip


def network_rates(
    net: Network,
    count: str = "g",
    *,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
    tol: float = 1e-10,
) -> StationaryRates:
    r"""Stationary rate, variance rate and Mandel Q per collision of the outgoing qubits.

    Parameters
    ----------
    net : Network
        The model (its steady state must exist: :func:`network_steady_state`).
    count : {"g", "e"}
    efficiency, misread
        Detection (module docstring).
    tol : float
        Residual accepted for the steady state and for the linear solve.

    Returns
    -------
    StationaryRates
        ``rate``, ``variance_rate``, ``mandel_q``, ``eigenvalue`` (1 minus the leak per
        collision), ``second_eigenvalue``, ``relaxation_collisions``,
        ``stationary_energy`` (of the pair), ``dimension`` ``D^2``, ``method``.
    """
    w = _weights(count, efficiency, misread)
    ss = network_steady_state(net, tol=tol)
    tilt = _Tilted(net, w)
    rho = ss.rho
    d = net.dimension
    with single_threaded_blas():
        _, t1 = tilt.both(rho)
        rate = float(np.trace(t1).real)
        b = (t1 - rate * rho).reshape(-1)

        def matvec(v):
            x = np.asarray(v, dtype=np.complex128).reshape(d, d)
            tx, _ = tilt.both(x)
            return (x - tx + rho * np.trace(x)).reshape(-1)

        op = LinearOperator((d * d, d * d), matvec=matvec, dtype=np.complex128)
        x, info = gmres(op, b, rtol=tol, atol=0.0, restart=60, maxiter=200)
        if info != 0:
            raise RuntimeError(f"GMRES did not converge for the variance rate (info={info})")
        _, t1x = tilt.both(x.reshape(d, d))
    var_rate = rate - rate**2 + 2.0 * float(np.trace(t1x).real)
    second = float(abs(ss.eigenvalues[1])) if len(ss.eigenvalues) > 1 else 0.0
    return StationaryRates(
        count=count, rate=rate, variance_rate=var_rate,
        mandel_q=var_rate / rate - 1.0 if rate > 0 else float("nan"),
        eigenvalue=float(abs(ss.eigenvalues[0])), second_eigenvalue=second,
        relaxation_collisions=ss.relaxation_collisions,
        stationary_energy=ss.total_energy, dimension=d * d,
        method="network: ARPACK fixed point and GMRES", efficiency=float(efficiency),
        misread=tuple(float(m) for m in misread),
    )  # fmt: skip
