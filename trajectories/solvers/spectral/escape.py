r"""Escape times of plateaus: the probability flux out of a window of levels.

The lifetime of a plateau held inside a window of levels
(absorbing boundaries: weight pushed to level ``>= below`` or ``< above`` counts as
escaped). The rate is the probability flux across the boundaries in the
quasi-stationary state :math:`\rho_{qs}` of the absorbing channel,
:math:`\kappa = [\mathrm{Tr}\rho_{qs} - \mathrm{Tr}\,T_W(\rho_{qs})]/\mathrm{Tr}\rho_{qs}`,
computed as a sum of non-negative terms, so it keeps its digits where
:math:`1-\lambda_1` would lose them (below ~1e-13); survival
:math:`S(k)\propto(1-\kappa)^k`, lifetime :math:`-1/\ln(1-\kappa)`.

Verdicts at the rounding floor are machine independent. A decision between "resolved"
and "only a bound" is taken against an uncertainty that includes the rounding error of
the computation, measured, not assumed: the flux is recomputed with three versions of the
channel whose every coefficient is perturbed by one rounding unit (fixed seeds), and the
range of the results is added to the statistical fluctuation. Rounding errors are
systematic (the same in every step), so they shift the tail of the polished state rather
than making it fluctuate, and their size depends on the CPU (vector width, fused
multiply-adds, BLAS kernels); the perturbation is at least as large as any of them. A
rate is reported as resolved only above 10x that uncertainty. The other decisions are
far from the floor by construction: eigenvalue 1 (and a gap) is resolved only beyond
:data:`ONE_TOL` = 1e-12, about 5,000 rounding units of the eigen-solver's residual; leaked
weight is a sum of non-negative terms (relative accuracy) compared with tolerances of
1e-8.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..._threads import single_threaded_blas
from ...channels.one_step import OneStepChannel
from ...model.micromaser import Micromaser
from ...model.states import as_density_matrix
from ...validation import integer_at_least
from .spectrum import _EPS, ONE_TOL, SteadyStateError, _spectrum, one_step_channel
from .steady import _hermitian, _observables, _repair_positivity, _slow_directions

__all__ = ["EscapeTime", "escape_time", "ROUNDING_SEEDS"]


# ============================================================================ escape time
@dataclasses.dataclass(frozen=True, repr=False)
class EscapeTime:
    r"""Lifetime of a plateau held inside the window of levels ``above .. below-1``.

    Probabilities are per collision, times in collisions, energy in units of
    :math:`\hbar\omega`.

    Attributes
    ----------
    below, above : int
        Absorbing boundaries: weight reaching level ``>= below`` or ``< above`` has escaped.
    rate : float
        Escape probability per collision in the quasi-stationary state (flux across the
        boundaries), ``rate_up + rate_down``.
    rate_up, rate_down : float
        The parts through the top and through the bottom.
    rate_noise : float
        Uncertainty of the flux: its fluctuation over the last block of polishing steps
        plus its rounding floor ``rounding_noise``; a rate below 10x this is not resolved.
    rate_up_noise, rate_down_noise : float
        The same for ``rate_up`` and ``rate_down`` alone (their sum is ``rate_noise``):
        use these when quoting one of the two parts.
    rounding_noise : float
        Rounding floor of the flux: its range over the channel and three versions of it
        with every coefficient perturbed by one rounding unit (fixed seeds). Rounding
        errors are systematic, so the fluctuation alone misses them; this part makes the
        resolved/bound verdict the same on every CPU.
    lifetime : float
        ``-1/ln(1 - rate)`` collisions (the e-folding time of the survival probability);
        a lower bound when ``is_lower_bound``.
    is_lower_bound : bool
        The rate is below what double precision resolves: ``lifetime`` is a lower bound.
    rate_from_eigenvalue : float
        ``1 - |lambda|`` of the governing eigenvalue (a check; it has no digits below ~1e-13).
    eigenvalue_error : float
        Absolute accuracy of the eigenvalue (from its residual).
    converged : bool
        The flux stopped changing (relative 1e-6, or within its rounding noise) under
        power-iteration polishing of the quasi-stationary state.
    polish_iterations : int
        Power iterations used.
    rho : ndarray of complex128, shape (M, M)
        The quasi-stationary state on the window (``M = below - above``), trace 1.
    energy, purity : float
        Its observables (levels counted from 0).
    next_rate : float
        ``1 - |lambda|`` of the next slower-than-the-rest mode in the window (the internal
        relaxation), nan when not computed.
    """

    below: int
    above: int
    rate: float
    rate_up: float
    rate_down: float
    lifetime: float
    is_lower_bound: bool
    rate_noise: float
    rate_up_noise: float
    rate_down_noise: float
    rounding_noise: float
    rate_from_eigenvalue: float
    eigenvalue_error: float
    converged: bool
    polish_iterations: int
    rho: np.ndarray
    energy: float
    purity: float
    next_rate: float

    def __repr__(self) -> str:
        bound = ">= " if self.is_lower_bound else ""
        return (
            f"EscapeTime(window=[{self.above}, {self.below}), rate={self.rate:.6g}/collision "
            f"(up {self.rate_up:.3g}, down {self.rate_down:.3g}), lifetime {bound}"
            f"{self.lifetime:.6g} collisions, plateau energy={self.energy:.8g})"
        )


def escape_time(
    model: Micromaser,
    below: int | None = None,
    *,
    above: int = 0,
    from_state: np.ndarray | None = None,
    n_eigs: int = 6,
    max_polish: int = 20000,
) -> EscapeTime:
    r"""Lifetime of a plateau held below level ``below`` (and at or above ``above``).

    Parameters
    ----------
    model : Micromaser
        The physics. Its cutoff must be ``>= below``.
    below : int, optional
        Absorbing top boundary: weight reaching a level ``>= below`` counts as escaped (the
        channels already treat weight pushed through the cutoff as lost, so this is the
        model with ``cutoff = below``). Default: the model's cutoff.
    above : int
        Absorbing bottom boundary (default 0: none): weight arriving below this level after
        a collision counts as escaped.
    from_state : array, optional
        Start (``(N,)`` or ``(N, N)``, no weight outside the window): the plateau is the
        slowest-decaying mode present in it. Default: the slowest mode of the window (the
        Perron quasi-stationary state).
    n_eigs : int
        Eigenvalues computed to find the plateau.
    max_polish : int
        Most power iterations used to polish the tail of the quasi-stationary state.

    Returns
    -------
    EscapeTime
        ``rate`` per collision from the flux across the boundaries, ``lifetime`` in
        collisions (a lower bound where the rate is out of double precision's reach).

    Raises
    ------
    ValueError
        If ``below`` exceeds the cutoff, the window holds fewer than 2 levels, or
        ``from_state`` has weight outside the window.
    SteadyStateError
        If the slowest mode in the window is not a quasi-stationary state (no plateau), or
        ``from_state`` overlaps none of the computed modes.

    Notes
    -----
    The rate counts as resolved when it exceeds 10x ``rate_noise``: the flux's fluctuation
    over the last polishing block plus its rounding floor, the range of the flux over the
    channel and three versions of it with every coefficient perturbed by one rounding unit
    (fixed seeds, so the verdict is the same on every CPU). Otherwise ``lifetime`` is the
    lower bound ``-1/ln(1 - min(rate + 3 rate_noise, rate_cap))``, ``rate_cap`` the rate
    the eigenvalue allows. ``docs/METASTABILITY.md`` applies it to the paper's cases.

    Examples
    --------
    The plateau below the blocked transition 2 -> 3, left by thermal absorption:

    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=tj.fine_tuned_theta(3), q=0.25, cutoff=8, gamma_tr=0.05,
    ...                   nbar=0.2)
    >>> esc = escape_time(m, below=3)
    >>> round(esc.rate, 5), round(esc.lifetime, 1), esc.is_lower_bound
    (0.01387, 71.6, False)
    """
    n = model.cutoff
    below = n if below is None else integer_at_least("below", below, 2)
    above = integer_at_least("above", above, 0)
    if below > n:
        raise ValueError(f"below must be <= the model's cutoff {n}, got {below}")
    if below - above < 2:
        raise ValueError(f"the window [above, below) must hold >= 2 levels, got [{above}, {below})")
    sub = model if below == n else model.replace(cutoff=below)
    channel = one_step_channel(sub, above)
    spec = _spectrum(channel, integer_at_least("n_eigs", n_eigs, 1), True)
    ok = ~spec.peripheral
    if from_state is None:
        gov = int(np.flatnonzero(ok)[0])
        coeffs = None
    else:
        full = as_density_matrix(from_state, n, name="from_state")
        inside = full[above:below, above:below]
        outside = float(np.trace(full).real - np.trace(inside).real)
        if outside > 1e-12:
            raise ValueError(
                f"from_state has weight {outside:.3g} outside the window [{above}, {below})"
            )
        coeffs = np.abs(spec.coefficients(inside)) * np.linalg.norm(
            spec.right.reshape(spec.right.shape[0], -1), axis=1
        )
        cand = np.flatnonzero(ok & (coeffs > 1e-10 * max(coeffs.max(), 1e-300)))
        if cand.size == 0:
            raise SteadyStateError("from_state overlaps none of the computed modes")
        gov = int(cand[0])
    lam_g = spec.eigenvalues[gov]
    cl = np.flatnonzero(np.abs(spec.eigenvalues - lam_g) <= ONE_TOL * max(1.0, abs(lam_g)))
    if from_state is None or cl.size == 1:
        rho = spec.right[gov]
    else:
        rho = spec.project(inside, cl)
    tr = np.trace(rho)
    if abs(lam_g.imag) > ONE_TOL or abs(tr) < 1e-12 * np.linalg.norm(rho):
        raise SteadyStateError(
            f"the slowest mode in the window is not a quasi-stationary state (eigenvalue "
            f"{lam_g:.12g}, trace {tr:.3g}): no plateau to escape from"
        )
    rho = _hermitian(rho / tr)
    partners = np.flatnonzero(
        ok
        & (np.abs(spec.eigenvalues - lam_g) > ONE_TOL)
        & (np.abs(spec.eigenvalues - lam_g) < 1e-6)
    )
    if partners.size:
        res0 = float(spec.residuals[gov]) * np.linalg.norm(spec.right[gov]) / abs(tr)
        rho = _repair_positivity(rho, _slow_directions(spec, gov, partners, res0))
    pops = np.diagonal(rho).real
    if pops.min() < -1e-8:
        raise SteadyStateError(
            f"the governing mode (eigenvalue {lam_g:.12g}) has negative populations "
            f"({pops.min():.3g}): not a quasi-stationary state"
        )
    others = np.flatnonzero(ok & (np.abs(spec.eigenvalues - lam_g) > ONE_TOL))
    slower_rest = others[spec.moduli[others] < abs(lam_g)]
    next_rate = (
        float(1.0 - spec.moduli[slower_rest[0]] / abs(lam_g)) if slower_rest.size else np.nan
    )
    with single_threaded_blas():  # a fixed summation order: reproducible digits at the floor
        flux = _polished_flux(channel, rho, next_rate, max_polish)
        round_up, round_down = _rounding_spread(channel, flux)
    rho = flux["rho"]
    rate_up, rate_down = flux["up"], flux["down"]
    rate = rate_up + rate_down
    rounding = round_up + round_down
    noise_up = flux["up_noise"] + round_up
    noise_down = flux["down_noise"] + round_down
    noise = noise_up + noise_down
    eig_err = float(spec.residuals[gov]) + 8 * _EPS
    rate_eig = float(1.0 - abs(lam_g))
    # an upper bound on the rate that does not rely on the tail of the state
    rate_cap = max(rate_eig, 0.0) + eig_err
    converged = flux["converged"]
    if converged and rate > 10.0 * noise and rate > 0.0:
        lower, lifetime = False, 1.0 / -math.log1p(-rate)
    elif converged:  # the flux is at its noise floor: only a bound
        lower = True
        lifetime = 1.0 / -math.log1p(-min(max(rate, 0.0) + 3.0 * noise, rate_cap))
    elif rate_eig > 1e4 * eig_err:  # tail not settled, but the eigenvalue has the digits
        lower, rate, lifetime = False, rate_eig, 1.0 / -math.log1p(-rate_eig)
    else:
        lower, lifetime = True, 1.0 / -math.log1p(-rate_cap)
    o = _observables(rho, above)
    return EscapeTime(
        below=below,
        above=above,
        rate=rate,
        rate_up=rate_up,
        rate_down=rate_down,
        rate_noise=noise,
        rate_up_noise=noise_up,
        rate_down_noise=noise_down,
        rounding_noise=rounding,
        lifetime=lifetime,
        is_lower_bound=bool(lower),
        rate_from_eigenvalue=rate_eig,
        eigenvalue_error=eig_err,
        converged=converged,
        polish_iterations=flux["iterations"],
        rho=rho,
        energy=o["energy"],
        purity=o["purity"],
        next_rate=next_rate,
    )


def _flux_block(step, x: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``block`` normalised steps from ``x``: (final state, top fluxes, bottom fluxes)."""
    ups, downs = np.empty(block), np.empty(block)
    for i in range(block):
        y, ups[i], downs[i] = step(x)
        x = y / (float(np.trace(y).real) if y.ndim == 2 else float(y.sum()))
    return x, ups, downs


def _polished_flux(
    channel: OneStepChannel, rho: np.ndarray, next_rate: float, max_polish: int
) -> dict:
    """Escape flux per unit trace (top, bottom) of the quasi-stationary state.

    The eigenvector's tail is only accurate to ~1e-16 of its bulk; power iterations of the
    (positive) channel rebuild the tail from the bulk with relative accuracy. Iterates in
    blocks of ~3 internal relaxation times until the block-mean flux changes by less than
    1e-6 (relative) or than its own fluctuation (rounding noise of the tail), at most
    ``max_polish`` steps. Returns the block means, their fluctuations (std over the last
    block), ``converged``, the number of iterations, the block length and the polished
    state (``x``: populations on the diagonal path, else the matrix; ``rho``: the matrix).
    """
    diag = not channel.coherent and not np.any(rho - np.diag(np.diagonal(rho)))
    x = np.diagonal(rho).real.copy() if diag else rho
    step = channel.step_window_populations if diag else channel.step
    block = 200
    if math.isfinite(next_rate) and next_rate > 0:
        block = int(min(max(20, math.ceil(3.0 / next_rate)), 1000))
    prev = None
    done = 0
    converged = False
    ups = downs = np.zeros(1)
    while done < max(max_polish, block):
        x, ups, downs = _flux_block(step, x, block)
        done += block
        total = float(ups.mean() + downs.mean())
        noise = float(ups.std() + downs.std())
        if prev is not None and abs(total - prev) <= max(1e-6 * abs(total), 2.0 * noise):
            converged = True
            break
        prev = total
    return {
        "up": float(ups.mean()),
        "down": float(downs.mean()),
        "up_noise": float(ups.std()),
        "down_noise": float(downs.std()),
        "converged": converged,
        "iterations": done,
        "block": block,
        "diag": diag,
        "x": x,
        "rho": _hermitian(np.diag(x).astype(np.complex128) if diag else x),
    }


#: Seeds of the perturbed channels whose spread measures the rounding floor of a flux.
ROUNDING_SEEDS = (1, 2, 3)


def _rounding_spread(channel: OneStepChannel, flux: dict) -> tuple[float, float]:
    """Rounding floor of the polished fluxes (top, bottom): their range over the channel
    and :data:`ROUNDING_SEEDS` versions of it with every coefficient perturbed by one
    rounding unit (:meth:`OneStepChannel.perturbed`), each polished for one block from
    the polished state and measured over the next.

    Rounding errors of a fixed computation are systematic (the same every step), so they
    shift the tail of the polished state instead of averaging out: the block-to-block
    fluctuation cannot see them, and their size depends on the CPU (vector width, fused
    multiply-adds, BLAS kernels). A fixed relative perturbation of every coefficient is at
    least as large as the rounding of any IEEE double computation of the channel, and it
    is drawn from fixed seeds, so this estimate (and the verdicts taken with it) does not
    depend on the machine.
    """
    ups, downs = [flux["up"]], [flux["down"]]
    block = flux["block"]
    for seed in ROUNDING_SEEDS:
        other = channel.perturbed(_EPS, seed)
        step = other.step_window_populations if flux["diag"] else other.step
        x, _, _ = _flux_block(step, flux["x"], block)
        _, u, d = _flux_block(step, x, block)
        ups.append(float(u.mean()))
        downs.append(float(d.mean()))
    return float(np.ptp(ups)), float(np.ptp(downs))
