r"""The exact waiting-time unravelling of the loss channel, compiled (numba).

One loss interval on a state vector, exactly (``docs/MODEL.md``, trajectories): of length
``t_r = 1`` for regular arrivals, or of a drawn length ``T`` for random ones
(:func:`loss_jumps` takes the length; the no-jump factors of a drawn ``T`` come from
:func:`trajectories.channels.beam_unravelling.no_jump_factors`).

Between jumps level ``n`` decays at :math:`\Gamma_n = a + b n`, :math:`a = \gamma\bar n`,
:math:`b = \gamma(2\bar n + 1)`, so the no-jump norm :math:`S(t) = \sum_n w_n
e^{-\Gamma_n t}`, :math:`w_n = |\psi_n|^2`, is a mixture of exponentials. The first jump
time is drawn as such a mixture (no root finding, no tolerance): first whether a jump
comes before the end of the interval (probability :math:`1 - S(t_\mathrm{rem})/S(0)`, the
same draw as the fused collision pass makes); if it does, a level ``n`` with probability
proportional to :math:`w_n (1 - e^{-\Gamma_n t_\mathrm{rem}})` and the time from the
exponential law of rate :math:`\Gamma_n` truncated to the interval. The jump is an
emission with probability :math:`\gamma(\bar n + 1) n / \Gamma_n`, otherwise an absorption
(rate :math:`\gamma\bar n (n + 1)`; from level N-1 it leaks): the clock of level ``n`` is
the first of two independent clocks, one per jump kind. Averaged over ``n`` given the time,
this is the ratio of the emission rate :math:`\gamma(\bar n+1)\langle n\rangle_t` to the
total rate of the state at that time, so the jump times and kinds have exactly the law of
the root solve :math:`S(t) = u` followed by a draw from the rates at ``t``
(``docs/MODEL.md``, Sec. 3). After a jump the clock restarts with the rest of the interval.

Passes over ``psi`` are fused: after a jump, one pass applies ``a`` or ``a^dag`` with the
damping to the jump time and sums the norm and the no-jump weight at the end of the
interval; the level search stops at the chosen level. The first pass of an interval is
fused into the collision
(:func:`trajectories.channels.kraus_unravelling.collide_banded_loss`). Every pass runs
over the *active* levels ``0 .. na-1`` (``psi[m] = 0`` above them).

``psi`` is complex128, or float64 when the caller runs the dynamics in a real gauge; the
leaves are compiled for both. ``rng`` is a random stream (:mod:`trajectories._streams`).
"""

from __future__ import annotations

import math

from .._numba import LEAF, abs2, njit
from .._streams import uniform

__all__ = ["SAMPLER", "loss_interval", "loss_jumps"]

#: Name of the jump-time sampler, stored with every result (``"root"``: the root solve of
#: the no-jump norm used before; both have the same law, not the same random stream).
SAMPLER = "mixture"


@njit(**LEAF)
def _pick_powers(psi, f0, x, target, n):
    """The level ``m < n`` at which ``sum |psi_m|^2 (1 - f0 x^m)`` first exceeds ``target``
    (``f0 x^m = exp(-Gamma_m t)``, by cumulative powers); the last level with a positive
    weight if rounding passes them all."""
    cum = 0.0
    last = 0
    f = f0
    for m in range(n):
        w = abs2(psi[m]) * (1.0 - f)
        f *= x
        if w > 0.0:
            last = m
            cum += w
            if target < cum:
                return m
    return last


@njit(**LEAF)
def _emit(psi, buf, sqrt_n, y, ye, n):
    """``buf <- a D buf`` (``D = diag(y^m)``: the damping to the jump time, then the jump)
    and ``psi <- diag(ye^m) buf`` (the new state damped to the end of the interval) in one
    pass over the ``n`` active levels; level ``n - 1`` becomes 0.

    Returns ``sum |buf_m|^2`` (the weight at the jump), ``sum |psi_m|^2`` (the no-jump
    weight at the end, without the common factor ``exp(-a t)``) and ``sum m |psi_m|^2``.
    """
    f = y  # source level m + 1 carries y^(m + 1)
    e = 1.0
    s = 0.0
    pe = 0.0
    me = 0.0
    fm = 0.0
    for m in range(n - 1):
        z = (sqrt_n[m + 1] * f) * buf[m + 1]
        buf[m] = z
        ze = z * e
        psi[m] = ze
        s += abs2(z)
        we = abs2(ze)
        pe += we
        me += fm * we
        f *= y
        e *= ye
        fm += 1.0
    buf[n - 1] = 0.0
    psi[n - 1] = 0.0
    return s, pe, me


@njit(**LEAF)
def _absorb(psi, buf, sqrt_n, y, ye, n):
    """As :func:`_emit` for ``a^dagger`` (truncated: level N-1 is not raised); ``n`` is the
    number of active levels after the jump."""
    f = 1.0  # source level m - 1 carries y^(m - 1)
    e = ye
    s = 0.0
    pe = 0.0
    me = 0.0
    fm = 1.0
    prev = buf[0]
    buf[0] = 0.0
    psi[0] = 0.0
    for m in range(1, n):
        cur = buf[m]
        z = (sqrt_n[m] * f) * prev
        buf[m] = z
        ze = z * e
        psi[m] = ze
        s += abs2(z)
        we = abs2(ze)
        pe += we
        me += fm * we
        f *= y
        e *= ye
        fm += 1.0
        prev = cur
    return s, pe, me


@njit(**LEAF)
def loss_jumps(psi, buf, sqrt_n, gamma, nbar, rng, jump_log, t0, t_len, norm, rest, na):
    r"""The rest of a loss interval whose first draw found a jump in it (mixture sampling).

    Jumps and restarts as described in the module docstring: exact jump times, any
    number of jumps per interval, an absorption out of level ``N - 1`` ends the
    trajectory (leak). Draws from ``rng``: per jump the level, the time, the kind, and
    the draw deciding whether another jump follows. Each jump is one pass, which writes
    both the state at the jump (``buf``, for a further jump) and the state at the end of
    the interval (``psi``). ``psi`` is returned unnormalised, with its squared norm, so
    that no pass is spent on normalising it. Compiled (numba).

    Parameters
    ----------
    psi : ndarray of complex128 or float64, shape (N,)
        Receives the state at the end of the interval, unnormalised (0 after a leak); its
        levels from ``na`` up must be zero on entry.
    buf : ndarray, shape (N,)
        State at the start of the interval, possibly unnormalised; overwritten (scratch).
    sqrt_n : ndarray of float64, shape (N + 1,)
        :math:`\sqrt n`, the matrix elements of ``a`` and ``a^dag``.
    gamma : float
        Decay rate in units of ``1/t_r``.
    nbar : float
        Thermal photon number.
    rng : ndarray of uint64
        The trajectory's dynamics stream.
    jump_log : ndarray of float64, shape (capacity, 2)
        Jump record, as in :func:`loss_interval`.
    t0 : float
        Time of the start of the interval, in units of ``t_r`` of real time (for the log).
    t_len : float
        Length of the interval in units of ``t_r`` (1 for regular arrivals; the drawn
        interval ``T`` for random ones, :mod:`trajectories.channels.beam_unravelling`).
    norm, rest : float
        :math:`\sum_m |\mathrm{buf}_m|^2` and :math:`\sum_m |\mathrm{buf}_m|^2
        e^{-\Gamma_m t_\mathrm{len}}` (their ratio is the no-jump probability of the
        interval).
    na : int
        Number of active levels: ``buf[m] = 0`` for ``m >= na``; an absorption below the
        cutoff raises it by one.

    Returns
    -------
    emissions, absorptions : int
        Jumps in this interval (an absorption that leaked counts).
    alive : bool
        False if the trajectory leaked (then ``psi`` is 0).
    na : int
        The number of active levels on return.
    norm2, mean_n : float
        :math:`\|\psi\|^2` on return and :math:`\langle n\rangle` of the normalised state
        (1 and 0 after a leak).
    """
    n = psi.shape[0]
    a = gamma * nbar
    b = gamma * (2.0 * nbar + 1.0)
    r_em = gamma * (nbar + 1.0)  # emission rate per photon
    n_em = 0
    n_ab = 0
    t_rem = t_len
    ea = math.exp(-a * t_rem)  # exp(-Gamma_m t_rem) = ea xe^m
    xe = math.exp(-b * t_rem)
    while True:
        # the level whose clock rings first, given that one rings before the end
        m = _pick_powers(buf, ea, xe, uniform(rng) * (norm - rest), na)
        g = a + b * m
        # exponential of rate g truncated to (0, t_rem): 1 - e^{-g t} = v (1 - e^{-g t_rem});
        # exp and log where nothing cancels (g t_rem > 1/16: the absolute error of t stays
        # below 1e-15 / g), expm1 and log1p (slower) below
        v = uniform(rng)
        gt = g * t_rem
        if gt > 0.0625:
            t_jump = -math.log(1.0 - v * (1.0 - math.exp(-gt))) / g
        else:
            t_jump = -math.log1p(v * math.expm1(-gt)) / g
        t_jump = min(t_jump, t_rem)
        emission = uniform(rng) * g < r_em * m
        t_rem -= t_jump
        y = math.exp(-0.5 * b * t_jump)
        xe = math.exp(-b * t_rem)
        ea = math.exp(-a * t_rem)
        if emission:  # buf <- a buf
            norm, p_end, m_end = _emit(psi, buf, sqrt_n, y, math.sqrt(xe), na)
            na = max(na - 1, 1)  # the top active level is now empty
            n_em += 1
            kind = -1.0
        elif m < n - 1:  # absorption: buf <- a^dag buf (truncated)
            na = min(na + 1, n)
            norm, p_end, m_end = _absorb(psi, buf, sqrt_n, y, math.sqrt(xe), na)
            n_ab += 1
            kind = 1.0
        else:  # absorption out of the top level: the weight leaves the kept space
            for j in range(n):
                psi[j] = 0.0
            return n_em, n_ab + 1, False, na, 1.0, 0.0
        count = int(jump_log[0, 0])
        if count + 1 < jump_log.shape[0]:
            jump_log[count + 1, 0] = t0 + (t_len - t_rem)
            jump_log[count + 1, 1] = kind
        jump_log[0, 0] = count + 1
        # another jump in the rest of the interval?
        rest = ea * p_end
        if rest >= uniform(rng) * norm:  # no: psi is the state at the end
            return n_em, n_ab, True, na, p_end, m_end / p_end


@njit(**LEAF)
def loss_interval(
    psi, buf, sqrt_n, gamma, nbar, full_decay, full_damp, loss_leak, rng, jump_log, t0
):
    r"""One loss interval of length 1 (``t_r``), exactly, by waiting times.

    The average of :math:`|\psi\rangle\langle\psi|` over the draws is
    :math:`\Lambda(|\psi\rangle\langle\psi|)` exactly (``docs/MODEL.md``, Sec. 3): no
    time step, the only error is statistical. The banded trajectory kernel fuses the first
    pass of this function into the collision
    (:func:`trajectories.channels.kraus_unravelling.collide_banded_loss`) and continues with
    the same :func:`loss_jumps`, drawing the same random numbers. Compiled (numba).

    Parameters
    ----------
    psi : ndarray of complex128 or float64, shape (N,)
        Normalised state on entry; modified in place (normalised on return).
    buf : ndarray, shape (N,)
        Scratch of the same type.
    sqrt_n : ndarray of float64, shape (N + 1,)
        :math:`\sqrt n`.
    gamma : float
        Decay rate in units of ``1/t_r``.
    nbar : float
        Thermal photon number.
    full_decay : ndarray of float64, shape (N,)
        :math:`e^{-\Gamma_n}`, the no-jump probability of level ``n`` over the interval.
    full_damp : ndarray of float64, shape (N,)
        :math:`e^{-\Gamma_n/2}`.
    loss_leak : ndarray of float64, shape (N,)
        The leak vector (:func:`trajectories.channels.loss.population_channel`).
    rng : ndarray of uint64
        The trajectory's dynamics stream.
    jump_log : ndarray of float64, shape (capacity, 2)
        Row 0, column 0 holds the count of jumps logged so far; jump ``i`` goes to row
        ``i + 1`` as (time in collisions, +1 absorption / -1 emission) while there is
        room (the count goes on).
    t0 : float
        Time of the start of the interval, in collisions.

    Returns
    -------
    emissions, absorptions : int
        Jumps in this interval.
    alive : bool
        False if the trajectory leaked through the cutoff (then ``psi`` is 0).
    leak : float
        The exact probability :math:`\sum_n \mathrm{loss\_leak}[n]\,|\psi_n|^2` that this
        interval sends weight out of the cutoff (for the run's leakage budget).
    """
    n = psi.shape[0]
    # first attempt over the whole interval, with the precomputed decay factors
    norm = 0.0
    s_end = 0.0
    leak = 0.0
    for m in range(n):
        w = abs2(psi[m])
        norm += w
        s_end += w * full_decay[m]
        leak += w * loss_leak[m]
    if s_end >= uniform(rng) * norm:  # no jump: ||damped psi||^2 = s_end
        scale = 1.0 / math.sqrt(s_end)
        for m in range(n):
            psi[m] *= full_damp[m] * scale
        return 0, 0, True, leak
    for m in range(n):
        buf[m] = psi[m]
    n_em, n_ab, alive, _, norm2, _ = loss_jumps(
        psi, buf, sqrt_n, gamma, nbar, rng, jump_log, t0, 1.0, norm, s_end, n
    )
    if alive:
        scale = 1.0 / math.sqrt(norm2)
        for m in range(n):
            psi[m] *= scale
    return n_em, n_ab, alive, leak
