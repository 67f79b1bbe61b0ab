r"""Long-time counting rates per collision from the leading eigenvalue of the tilted channel.

The leading eigenvalue :math:`\theta(z)` of :math:`T_z` (:mod:`trajectories.channels.tilted`)
gives the scaled cumulant generating function :math:`\ln\theta(e^{u})` per collision. Its
first two derivatives at :math:`u = 0` come from Rayleigh-Schroedinger perturbation theory
with the left and right eigenvectors of the untilted channel :math:`T_{z=1}` (second order
through a bordered linear solve for the first-order eigenvector). The superoperators are
built densely: ``N x N`` in the populations sector when the collisions keep diagonals
(incoherent qubits), ``N^2 x N^2`` otherwise, which limits ``N``
(:data:`DENSE_CUTOFF_LIMIT`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import linalg as sla

from ..._threads import single_threaded_blas
from ...channels.collisions import keeps_diagonal
from ...channels.tilted import TiltedChannel
from ...model.micromaser import Micromaser
from ...model.network import Network
from .exact import _detection, _trace
from .results import StationaryRates

__all__ = ["StationaryRates", "stationary_rates", "DENSE_CUTOFF_LIMIT", "POPULATION_CUTOFF_LIMIT"]

#: Largest cutoff for the dense N^2 x N^2 superoperators of :func:`stationary_rates`
#: (coherent qubits): 1600 x 1600 complex matrices, a few seconds for the eigenproblem.
DENSE_CUTOFF_LIMIT = 40
#: Largest cutoff for the dense N x N populations-sector matrices (incoherent qubits).
POPULATION_CUTOFF_LIMIT = 2000


def _dense(apply, dim: int, populations: bool, n: int) -> np.ndarray:
    """Matrix of a linear map on the stack representation (columns = basis elements)."""
    if populations:
        basis = np.eye(dim, dtype=np.complex128)
    else:
        basis = np.eye(dim, dtype=np.complex128).reshape(dim, n, n)
    out = apply(basis)
    return out.reshape(dim, dim).T


@functools.lru_cache(maxsize=8)
def _untilted_spectrum(
    model: Micromaser,
) -> tuple[complex, float, np.ndarray, np.ndarray, np.ndarray]:
    """Leading eigenvalue, modulus of the next one, right (trace 1) and left (``l^dag r = 1``)
    eigenvectors, and the dense matrix of the untilted one-step channel (cached per model)."""
    n = model.cutoff
    pops = keeps_diagonal(model)
    dim = n if pops else n * n
    tilt = TiltedChannel(model, "g", pops)
    blocks = tilt.loss_blocks(None)

    def step(x: np.ndarray) -> np.ndarray:
        y = tilt.collide(x, None)
        return blocks.apply(y) if blocks is not None else y

    t0 = _dense(step, dim, pops, n)
    w, vl, vr = sla.eig(t0, left=True, right=True)
    order = np.argsort(-np.abs(w))
    i0 = int(order[0])
    second = float(np.abs(w[order[1]])) if dim > 1 else 0.0
    r = vr[:, i0]
    r = r / _trace(r if pops else r.reshape(n, n), pops)  # trace-normalised state
    left = vl[:, i0]
    left = left / np.conj(left.conj() @ r)
    for a in (r, left, t0):
        a.setflags(write=False)
    return complex(w[i0]), second, r, left, t0


#: Smallest spectral gap ``1 - |lambda_2| / lambda_1`` at which the perturbation theory of
#: :func:`stationary_rates` is trusted: below it the two leading eigenvectors mix by
#: rounding (a metastable pair of basins) and the rates are not determined in double
#: precision (measured on the classic micromaser at N_ex = 200: a rate 0.635 against 0.339
#: from energy balance at a gap of 2e-15, negative variance rates at gaps of 1e-9).
RATES_GAP_FLOOR = 1e-9


def _check_resolved(second: float, lead: float, var_rate: float) -> None:
    """Refuse rates the double-precision eigenproblem does not determine."""
    gap = 1.0 - second / abs(lead) if lead != 0.0 else 0.0
    if gap < RATES_GAP_FLOOR:
        raise ValueError(
            f"the stationary rates are not determined in double precision: the spectral gap "
            f"1 - |lambda_2|/lambda_1 = {gap:.3g} is below {RATES_GAP_FLOOR:g} (two metastable "
            "basins, or a nearly closed sector); use exact_moments at finite k, cloning, or "
            "the quasi-stationary states of each basin"
        )
    if var_rate < 0.0:
        raise ValueError(
            f"the variance rate came out negative ({var_rate:.3g}) at a spectral gap of "
            f"{gap:.3g}: rounding dominates this nearly degenerate eigenproblem; use "
            "exact_moments at finite k"
        )


def stationary_rates(
    model: Micromaser,
    count: str,
    *,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
) -> StationaryRates:
    r"""Stationary rate and Mandel Q per collision from the leading eigenvalue of ``T_z``.

    With :math:`T(1+\varepsilon) = T_0 + \varepsilon T_1 + \varepsilon^2 T_2`, leading
    eigenvalue :math:`\theta_0` of :math:`T_0` with right/left eigenvectors ``r``, ``l``
    (``l^dag r = 1``): :math:`\theta_1 = l^\dagger T_1 r`,
    :math:`\theta_2 = l^\dagger T_2 r + l^\dagger T_1 x` with
    :math:`(\theta_0 - T_0)x = (T_1 - \theta_1)r`, :math:`l^\dagger x = 0` (bordered solve).
    Then, per collision, ``rate = theta_1/theta_0`` and
    ``variance_rate = (theta_1 + 2 theta_2)/theta_0 - rate^2`` (derivatives of
    :math:`\ln\theta(e^u)` at ``u = 0``).

    Dense matrices: ``N x N`` (populations sector) when the qubits are incoherent, allowed up
    to ``N =`` :data:`POPULATION_CUTOFF_LIMIT`; ``N^2 x N^2`` otherwise, allowed up to ``N =``
    :data:`DENSE_CUTOFF_LIMIT`. The untilted spectrum is cached per model (8 models).

    Parameters
    ----------
    model : Micromaser
        The model; its collision must be the same at every collision.
    count : {"g", "e", "emission", "absorption", "net"}
        The counted event.
    efficiency : float, optional
        Detection efficiency :math:`\eta \in [0, 1]` (default 1; ``docs/COUNTING.md``).
    misread : tuple of two floats, optional
        :math:`(\epsilon_e, \epsilon_g)`, each in ``[0, 1]`` (default ``(0, 0)``); qubit
        counts only.

    Returns
    -------
    StationaryRates
        Rates in counts per collision (of the detected count when detection is imperfect).

    Raises
    ------
    ValueError
        For an unknown count, a cutoff above the dense limit, or a collision that changes
        from collision to collision (before any work); a spectral gap below
        :data:`RATES_GAP_FLOOR` or a negative variance rate (rates that rounding decides).

    Examples
    --------
    Lossless, incoherent qubits, fine-tuned: in the steady state every qubit leaves as it
    came (the blocked ladder neither gains nor loses photons on average), so qubits leave
    in ``g`` at the rate ``q``:

    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, cutoff=20)
    >>> round(stationary_rates(m, "g").rate, 10)
    0.25
    """
    if isinstance(model, Network):
        from .network import network_rates

        return network_rates(model, count, efficiency=efficiency, misread=misread)
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    det = _detection(count, efficiency, misread)
    n = model.cutoff
    pops = keeps_diagonal(model)
    if pops and n > POPULATION_CUTOFF_LIMIT:
        raise ValueError(
            f"stationary_rates builds dense N x N matrices for incoherent qubits; cutoff={n} "
            f"is above the limit {POPULATION_CUTOFF_LIMIT}"
        )
    if not pops and n > DENSE_CUTOFF_LIMIT:
        raise ValueError(
            f"stationary_rates builds dense N^2 x N^2 superoperators for coherent qubits; "
            f"cutoff={n} is above the limit {DENSE_CUTOFF_LIMIT} (N^2 = {n * n}); use a smaller "
            f"cutoff (check that results do not change with it) or the slope of "
            f"exact_moments(...).mean at late collisions"
        )
    dim = n if pops else n * n
    with single_threaded_blas():
        theta0, second, r, left, t0 = _untilted_spectrum(model)
        tilt = TiltedChannel(model, count, pops, det)
        fb = tilt.taylor_blocks()

        def t12(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """``(T_1 v, T_2 v)`` by applying the channel's pieces, no dense product."""
            x = v.reshape((1, n) if pops else (1, n, n))
            y0 = tilt.collide(x, None)
            yc = tilt.counted_sum(x)
            if fb is None:
                return yc.reshape(dim), np.zeros(dim, dtype=np.complex128)
            a = fb[0].apply(yc) + fb[1].apply(y0)
            b = fb[1].apply(yc) + fb[2].apply(y0)
            return a.reshape(dim), b.reshape(dim)

        t1r, t2r = t12(r)
        theta1 = left.conj() @ t1r
        bordered = np.zeros((dim + 1, dim + 1), dtype=np.complex128)
        bordered[:dim, :dim] = theta0 * np.eye(dim) - t0
        bordered[:dim, dim] = r
        bordered[dim, :dim] = left.conj()
        rhs = np.zeros(dim + 1, dtype=np.complex128)
        rhs[:dim] = t1r - theta1 * r
        x = np.linalg.solve(bordered, rhs)[:dim]
        theta2 = left.conj() @ t2r + left.conj() @ t12(x)[0]
    th0 = float(theta0.real)
    rate = float((theta1 / theta0).real)
    var_rate = float(((theta1 + 2.0 * theta2) / theta0).real - rate**2)
    _check_resolved(second, th0, var_rate)
    levels = np.arange(n)
    pop = r.real if pops else np.diagonal(r.reshape(n, n)).real
    return StationaryRates(
        count=count,
        rate=rate,
        variance_rate=var_rate,
        mandel_q=var_rate / rate - 1.0 if rate != 0.0 else float("nan"),
        eigenvalue=th0,
        second_eigenvalue=second,
        relaxation_collisions=-1.0 / math.log(second / abs(th0))
        if 0 < second < abs(th0)
        else np.inf,
        stationary_energy=float(pop @ levels),
        dimension=dim,
        method=(
            "populations sector (N x N), perturbation theory with left/right eigenvectors"
            if pops
            else "density matrix (N^2 x N^2), perturbation theory with left/right eigenvectors"
        ),
        efficiency=det.efficiency,
        misread=det.misread,
    )
