r"""Fixed points and quasi-stationary states of the one-step channel.

- :func:`steady_state`: the fixed point :math:`T(\rho) = \rho`, its residual, and the
  metastable structure: slow modes :math:`1-|\lambda_k| \ll 1-|\lambda_{k+1}|`, the
  quasi-stationary state :math:`\rho_{qs} = \sum_{k\,\mathrm{slow}} R_k\,
  \mathrm{Tr}(L_k^\dagger\rho_0)` reached from a given state, and its lifetime. Where
  eigenvalue 1 is degenerate (lossless fine-tuned cases), the limit from the given state
  is the projection with the left eigenvectors; peripheral modes
  (:math:`|\lambda| = 1`, :math:`\lambda\ne 1`) are excluded (the Cesaro limit).
- :func:`quasi_stationary`: the state reached from ``from_state`` once the fast modes have
  decayed, also where :func:`steady_state` refuses.

Numbers belong to time scales: a "steady" value from :func:`steady_state` is the fixed
point of the channel on the given cutoff; the quasi-stationary state is what a run from
``from_state`` shows for ``1/(1-|lambda_fast|) << k << lifetime`` collisions. The spectrum
comes from :mod:`~trajectories.solvers.spectral.spectrum`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np

from ... import observables as obs
from ...channels.one_step import OneStepChannel
from ...model.micromaser import Micromaser
from ...model.network import Network
from ...model.states import as_density_matrix
from ...validation import integer_at_least, real_in_range
from .network_steady import network_steady_state
from .spectrum import (
    _EPS,
    ONE_TOL,
    SEPARATION,
    Spectrum,
    SteadyStateError,
    _spectrum,
    _with_left,
    one_step_channel,
)

__all__ = ["SteadyState", "QuasiStationary", "steady_state", "quasi_stationary"]


# ============================================================================ steady state
@dataclasses.dataclass(frozen=True, repr=False)
class QuasiStationary:
    r"""The quasi-stationary state reached from ``from_state`` and its lifetime.

    Attributes
    ----------
    rho : ndarray of complex128, shape (M, M)
        :math:`\sum_{k\,\mathrm{slow}} R_k\,\mathrm{Tr}(L_k^\dagger\rho_0)`, Hermitian; its
        trace is the weight that has not left through the cutoff (~1).
    energy, purity, ergotropy, fano, entropy : float
        Observables of ``rho`` (energy and ergotropy in units of :math:`\hbar\omega`, the
        energy being the mean photon number; entropy in nats).
    lifetime : float
        Collisions: ``-1/ln|lambda|`` of the slowest non-stationary slow mode present in
        ``rho0`` (inf when the state is the fixed point itself). For rates below ~1e-8 use
        :func:`~trajectories.solvers.spectral.escape.escape_time`, which keeps more digits.
    slow_eigenvalues : ndarray of complex128, shape (S,)
        The eigenvalues of the slow cluster used for the projection.
    """

    rho: np.ndarray
    energy: float
    purity: float
    ergotropy: float
    fano: float
    entropy: float
    lifetime: float
    slow_eigenvalues: np.ndarray

    def __repr__(self) -> str:
        return (
            f"QuasiStationary(energy={self.energy:.10g}, purity={self.purity:.10g}, "
            f"ergotropy={self.ergotropy:.10g}, lifetime={self.lifetime:.4g} collisions)"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class SteadyState:
    r"""Fixed point of the one-step channel and the metastable structure around it.

    Attributes
    ----------
    model : Micromaser
        The model.
    rho : ndarray of complex128, shape (N, N)
        The fixed point :math:`T(\rho) = \rho`, trace 1, Hermitian. When eigenvalue 1 is
        degenerate (``unique`` False: a lossless model with blocked transitions) it is the
        limit reached from ``from_state`` (default vacuum), the projection with the left
        eigenvectors of eigenvalue 1.
    energy, purity, ergotropy, fano, entropy : float
        Its observables (energy and ergotropy in units of :math:`\hbar\omega`, energy =
        mean photon number; entropy in nats).
    residual : float
        ``||T(rho) - rho||`` (Frobenius); below ``tol`` or the solver refuses.
    energy_error : float
        Estimated error of ``energy`` from the slowest mode: in a metastable case the fixed
        point is determined only to ``~ max(residual, eps) / (1 - |lambda_1|)`` along it.
    unique : bool
        True when eigenvalue 1 is simple.
    multiplicity : int
        Multiplicity of eigenvalue 1 (within ONE_TOL) among the computed eigenvalues.
    metastable : bool
        True when non-stationary modes cluster near 1: ``1 - |lambda_j| < SEPARATION *
        (1 - |lambda_{j+1}|)`` for some slow mode ``j``.
    slow_eigenvalues : ndarray of complex128, shape (S,)
        Eigenvalues of the slow cluster (stationary ones included).
    slow_rates : ndarray of float64, shape (S',)
        ``1 - |lambda|`` per collision of the slow non-stationary modes.
    quasi_stationary : QuasiStationary or None
        The state reached from ``from_state`` (default vacuum when ``metastable``) on
        times between the fast and the slow relaxation.
    spectrum : Spectrum
        The spectrum the fixed point was taken from (with its eigenvectors).
    time_scale : str
        Which time scale the numbers in ``rho`` belong to (``docs/MODEL.md``, Sec. 9).
    """

    model: Micromaser
    rho: np.ndarray
    energy: float
    purity: float
    ergotropy: float
    fano: float
    entropy: float
    residual: float
    energy_error: float
    unique: bool
    multiplicity: int
    metastable: bool
    slow_eigenvalues: np.ndarray
    slow_rates: np.ndarray
    quasi_stationary: QuasiStationary | None
    spectrum: Spectrum
    time_scale: str

    @property
    def relaxation_collisions(self) -> np.ndarray:
        """Relaxation times ``-1/ln|lambda_k|`` of the computed modes, in collisions, shape
        ``(K,)``."""
        return self.spectrum.relaxation_collisions

    def __repr__(self) -> str:
        qs = "" if self.quasi_stationary is None else f", quasi_stationary={self.quasi_stationary}"
        return (
            f"SteadyState(energy={self.energy:.10g}, purity={self.purity:.10g}, "
            f"ergotropy={self.ergotropy:.10g}, residual={self.residual:.2e}, "
            f"unique={self.unique}, metastable={self.metastable}, "
            f"slow_rates={np.array2string(self.slow_rates, precision=4)}{qs})"
        )


def _observables(rho: np.ndarray, floor: int = 0) -> dict[str, float]:
    if floor:
        n = rho.shape[0] + floor
        full = np.zeros((n, n), dtype=np.complex128)
        full[floor:, floor:] = rho
        rho = full
    p = obs.photon_distribution(rho)
    levels = np.arange(p.size, dtype=float)
    e = float(p @ levels)
    spec = obs.eigenvalues(rho)
    w = spec[spec > 0]
    return {
        "energy": e,
        "purity": float(obs.purity(rho)),
        "ergotropy": float(obs.ergotropy_from_eigenvalues(e, spec)),
        "fano": float(obs.fano_from_moments(e, float(p @ levels**2))),
        "entropy": float(-(w @ np.log(w))),
    }


def _hermitian(x: np.ndarray) -> np.ndarray:
    return 0.5 * (x + x.conj().T)


def _lambda_min(x: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(x)[0])


def _repair_positivity(
    rho: np.ndarray, directions: list[tuple[np.ndarray, float]], tol: float = 64 * _EPS
) -> np.ndarray:
    r"""Move ``rho`` (trace 1) along nearly degenerate slow modes, within their numerical
    uncertainty, to the closest positive semi-definite point.

    A fixed point next to a slow mode :math:`1-\lambda_1 \ll 1` is determined only up to
    :math:`\epsilon R_1` with :math:`|\epsilon| \lesssim \delta = \mathrm{residual} /
    (1-\lambda_1)`; every such point has the same residual to rounding. Where the computed
    one has eigenvalues below ``-tol`` (a basin with ~zero weight shows up with weight
    ``-epsilon``), the smallest shift along the Hermitian, traceless direction ``h`` with
    :math:`|\epsilon| \le \delta` that restores positivity is applied
    (:math:`\lambda_{\min}(\rho+\epsilon h)` is concave in :math:`\epsilon`). Directions
    are ``(h, delta)`` pairs, used one after the other; unchanged if no shift helps.
    """
    for h, delta in directions:
        f0 = _lambda_min(rho)
        if f0 >= -tol or not delta > 0:
            continue
        # maximise the concave f(eps) = lambda_min(rho + eps h) on [-delta, delta]
        lo, hi = -delta, delta
        for _ in range(60):
            m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
            if _lambda_min(rho + m1 * h) < _lambda_min(rho + m2 * h):
                lo = m1
            else:
                hi = m2
        best = 0.5 * (lo + hi)
        if _lambda_min(rho + best * h) < -tol:
            continue
        a, b = 0.0, best  # f(a) < -tol <= f(b): the crossing closest to 0
        for _ in range(60):
            mid = 0.5 * (a + b)
            if _lambda_min(rho + mid * h) < -tol:
                a = mid
            else:
                b = mid
        rho = rho + b * h
    return rho


def _slow_directions(
    spec: Spectrum, ref: int, modes: Iterable[int], residual: float
) -> list[tuple[np.ndarray, float]]:
    """``(h, delta)`` for :func:`_repair_positivity`: Hermitian, traceless, unit-norm parts of
    the right vectors of ``modes`` and the uncertainty ``residual / |lambda_k - lambda_ref|``
    of their admixture in the eigenvector of mode ``ref``."""
    out = []
    for k in modes:
        r = spec.right[k]
        h = _hermitian(r)
        if np.linalg.norm(h) < 1e-8 * np.linalg.norm(r):
            h = _hermitian(-1j * r)
        norm = np.linalg.norm(h)
        gap = abs(spec.eigenvalues[k] - spec.eigenvalues[ref])
        if norm > 0 and gap > 0:
            out.append((h / norm, max(residual, 16 * _EPS) / gap))
    return out


def _slow_cluster(spec: Spectrum) -> tuple[np.ndarray, bool]:
    """Indices of the slow cluster (stationary modes + metastable ones) and whether any
    non-stationary mode belongs to it. Peripheral modes are excluded."""
    ok = np.flatnonzero(~spec.peripheral)
    g = np.maximum(spec.rates[ok], 0.0)
    order = np.argsort(g, kind="stable")
    g_sorted = g[order]
    n_stat = int(np.count_nonzero(spec.stationary))
    best, best_ratio = None, SEPARATION
    for j in range(max(n_stat, 1), g_sorted.size - 1):
        if g_sorted[j] <= ONE_TOL:
            continue
        ratio = g_sorted[j] / g_sorted[j + 1] if g_sorted[j + 1] > 0 else 1.0
        if ratio < best_ratio:
            best, best_ratio = j, ratio
    if best is None:
        return ok[order[: max(n_stat, 1)]], False
    return ok[order[: best + 1]], True


def steady_state(
    model: Micromaser | Network,
    *,
    from_state: np.ndarray | None = None,
    tol: float = 1e-12,
    n_eigs: int = 8,
) -> SteadyState:
    r"""Fixed point of the one-step channel :math:`T = \Lambda\circ\Phi`, with metastability.

    Parameters
    ----------
    model : Micromaser or Network
        The physics on ``N = model.cutoff`` levels. A
        :class:`~trajectories.model.network.Network` is handed to
        :func:`~trajectories.solvers.spectral.network_steady.network_steady_state` (its
        ``tol`` at least ``1e-10``) and returns a ``NetworkSteadyState``.
    from_state : array, optional
        State vector ``(N,)`` or density matrix ``(N, N)``. When given (or, by default, the
        vacuum when slow modes cluster near 1), the quasi-stationary state reached from it
        and its lifetime are returned too. With a degenerate eigenvalue 1 (lossless
        fine-tuned), it selects the limit.
    tol : float
        Largest accepted residual ``||T(rho) - rho||`` (Frobenius, ``rho`` of trace 1).
    n_eigs : int
        Number of leading eigenvalues computed (doubled, up to 64, until the slow cluster
        is separated from the rest).

    Returns
    -------
    SteadyState
        The fixed point, its observables and residual, and the slow structure.

    Raises
    ------
    SteadyStateError
        Residual above ``tol`` (e.g. population leaks through the cutoff: no fixed point);
        eigenvalue 1 numerically degenerate in a lossy model (the gap
        ``1 - |lambda_1| <= ONE_TOL`` is not resolved, so the fixed point is not determined
        in double precision: use :func:`quasi_stationary` and
        :func:`~trajectories.solvers.spectral.escape.escape_time`); ARPACK failure.
    ValueError
        For invalid arguments, a channel that differs from collision to collision, or a
        memory bound above the machine's.

    Notes
    -----
    Exact up to the eigensolver's rounding (the residual is reported). The fixed point
    belongs to the given cutoff: with weak loss the state a run shows for a very long time
    can be a quasi-stationary one instead (``docs/MODEL.md``, Sec. 9;
    ``docs/METASTABILITY.md``).

    Examples
    --------
    Lossless, fine-tuned, incoherent qubits: the closed form of ``docs/MODEL.md``, Sec. 6
    (:func:`~trajectories.solvers.closed_forms.incoherent_steady_populations`):

    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, cutoff=20)
    >>> ss = steady_state(m)
    >>> round(ss.energy, 8), round(ss.purity, 8), ss.unique, ss.metastable
    (13.50000105, 0.50000007, True, False)
    """
    if isinstance(model, Network):
        return network_steady_state(model, from_state=from_state, tol=max(tol, 1e-10))
    tol = real_in_range("tol", tol, 0.0)
    n_eigs = integer_at_least("n_eigs", n_eigs, 2)
    channel = one_step_channel(model)
    n = model.cutoff
    spec, cluster, meta = _spectrum_with_cluster(channel, n_eigs, left=False)
    stat = np.flatnonzero(spec.stationary)
    rho0 = as_density_matrix(from_state, n, name="from_state")
    needs_left = stat.size > 1 or meta or from_state is not None

    if stat.size == 0:
        lead = spec.eigenvalues[0]
        raise SteadyStateError(
            f"no fixed point on cutoff={n}: the leading eigenvalue of the one-step channel is "
            f"{lead.real:.15g}{lead.imag:+.2g}j (1 - |lambda| = {1 - abs(lead):.3g}); population "
            f"leaves through the cutoff at that rate per collision. Use a larger cutoff, or "
            f"escape_time(model, below={n}) for the lifetime of what stays",
            spec,
        )
    if stat.size > 1 and model.has_loss:
        rates = ", ".join(f"{r:.2g}" for r in spec.rates[stat])
        raise SteadyStateError(
            f"eigenvalue 1 of the one-step channel is numerically {stat.size}-fold on "
            f"cutoff={n} (1 - |lambda| = {rates}, all <= {ONE_TOL:g}): the exchange between "
            f"basins is slower than double precision resolves, so the fixed point is not "
            f"determined. Use quasi_stationary(model, from_state=...) for the state reached "
            f"from a start, and escape_time(...) for the rates between basins",
            spec,
        )
    unique = stat.size == 1
    if needs_left:  # projections need the left eigenvectors (T is not normal)
        spec = _with_left(channel, spec)
    if unique:
        rho = spec.right[stat[0]]
        time_scale = "fixed point of the one-step channel (k -> infinity)"
    else:  # lossless: degenerate eigenvalue 1, the limit depends on the start
        rho = spec.project(rho0, stat)
        time_scale = (
            "limit k -> infinity from from_state (eigenvalue 1 is "
            f"{stat.size}-fold: projection with the left eigenvectors; peripheral modes "
            "excluded, i.e. the time average where they oscillate)"
        )
    rho = _hermitian(rho / np.trace(rho).real)
    slow_non_stat = np.setdiff1d(cluster, stat)
    if unique and slow_non_stat.size:
        res0 = float(np.linalg.norm(channel.apply(rho) - rho))
        rho = _repair_positivity(rho, _slow_directions(spec, stat[0], slow_non_stat, res0))
    residual = float(np.linalg.norm(channel.apply(rho) - rho))
    if not residual <= tol:
        raise SteadyStateError(
            f"residual ||T(rho) - rho|| = {residual:.3g} above tol = {tol:g} on cutoff={n} "
            f"(leading eigenvalue {spec.eigenvalues[0]:.15g}); refusing to return it",
            spec,
        )
    err = 0.0
    floor_res = max(residual, 16 * _EPS)
    levels = np.arange(n, dtype=float)
    for k in slow_non_stat:
        r = spec.right[k]
        err += (
            floor_res
            / max(spec.rates[k], ONE_TOL)
            * abs(levels @ np.diagonal(r))
            / (np.linalg.norm(r))
        )
    qs = None
    if from_state is not None or meta:
        qs = _quasi_from_spectrum(spec, cluster, rho0)
    return SteadyState(
        model=model,
        rho=rho,
        residual=residual,
        energy_error=float(err),
        unique=unique,
        multiplicity=int(stat.size),
        metastable=meta,
        slow_eigenvalues=spec.eigenvalues[cluster],
        slow_rates=spec.rates[slow_non_stat],
        quasi_stationary=qs,
        spectrum=spec,
        time_scale=time_scale,
        **_observables(rho),
    )


def _spectrum_with_cluster(channel: OneStepChannel, n_eigs: int, left: bool = True):
    k = n_eigs
    while True:
        spec = _spectrum(channel, k, True, left)
        cluster, meta = _slow_cluster(spec)
        ok = np.flatnonzero(~spec.peripheral)
        # the cluster must not reach the last computed (non-peripheral) mode
        if cluster.size < ok.size or k >= 64 or spec.eigenvalues.size < k:
            return spec, cluster, meta
        k *= 2


def _quasi_from_spectrum(spec: Spectrum, cluster: np.ndarray, rho0: np.ndarray) -> QuasiStationary:
    rho = _hermitian(spec.project(rho0, cluster))
    c = np.abs(spec.coefficients(rho0))
    present = [
        k
        for k in cluster
        if not spec.stationary[k] and c[k] * np.linalg.norm(spec.right[k]) > 1e-10
    ]
    lifetime = max((-1.0 / math.log(abs(spec.eigenvalues[k])) for k in present), default=math.inf)
    return QuasiStationary(
        rho=rho,
        lifetime=lifetime,
        slow_eigenvalues=spec.eigenvalues[cluster],
        **_observables(rho, spec.floor),
    )


def quasi_stationary(
    model: Micromaser, from_state: np.ndarray | None = None, *, n_eigs: int = 8
) -> QuasiStationary:
    r"""The state reached from ``from_state`` once the fast modes have decayed.

    Before the slow modes act: :math:`\sum_{k\,\mathrm{slow}} R_k
    \mathrm{Tr}(L_k^\dagger\rho_0)` over the slow cluster of the spectrum (just the
    stationary modes when there is no metastability). It is what a run from ``from_state``
    shows for ``1/(1-|lambda_fast|) << k << lifetime`` collisions (``docs/MODEL.md``,
    Sec. 9). Works also where :func:`steady_state` refuses because eigenvalue 1 is
    numerically degenerate: the projector on the whole cluster is well determined even when
    the single eigenvectors inside it are not.

    Parameters
    ----------
    model : Micromaser
        The model on ``N = model.cutoff`` levels.
    from_state : array_like, shape (N,) or (N, N), optional
        State vector or density matrix to start from; default the vacuum.
    n_eigs : int, optional
        Number of leading eigenvalues computed (doubled, up to 64, until the slow cluster
        is separated from the rest), ``>= 2``.

    Returns
    -------
    QuasiStationary
        The state (shape ``(N, N)``), its observables and its lifetime in collisions.

    Raises
    ------
    ValueError
        For invalid arguments or a memory bound above the machine's.
    SteadyStateError
        When ARPACK does not converge.
    """
    channel = one_step_channel(model)
    spec, cluster, _ = _spectrum_with_cluster(channel, integer_at_least("n_eigs", n_eigs, 2))
    rho0 = as_density_matrix(from_state, model.cutoff, name="from_state")
    return _quasi_from_spectrum(spec, cluster, rho0)
