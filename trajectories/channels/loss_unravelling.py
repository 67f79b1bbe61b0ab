r"""The exact waiting-time unravelling of the loss channel, compiled (numba).

One loss interval on a state vector, exactly (``docs/MODEL.md``, trajectories): of length
``t_r = 1`` for regular arrivals, or of a drawn length ``T`` for random ones
(:func:`loss_jumps` takes the length; the no-jump factors of a drawn ``T`` come from
:func:`trajectories.channels.beam_unravelling.no_jump_factors`). The no-jump norm
:math:`S(t) = e^{-\gamma\bar n t} P(x)`, :math:`x = e^{-\gamma(2\bar n+1)t}`, :math:`P(x)
= \sum_n |\psi_n|^2 x^n` is evaluated by cumulative powers (no exponential per element).
Draw ``u``; if ``S(t_rem) >= u`` there is no jump; else the jump time solves ``ln S(t) =
ln u`` by Halley's method (``ln S`` is convex, a log-sum of exponentials, and its first
two derivatives come from the same polynomial pass), safeguarded by a bracket and
bisection; tolerance :data:`JUMP_TIME_TOL` on ``t``. The jump is an emission (``a``, rate
:math:`\gamma(\bar n+1)\langle n\rangle`) or an absorption (``a^\dagger``, rate
:math:`\gamma\bar n\langle n+1\rangle`; the part from level N-1 leaks), then the clock
restarts from the jump time with a fresh ``u``.

Passes over ``psi`` are fused: after a jump, one pass applies ``a`` or ``a^dag`` with the
damping to the jump time and sums the populations, their first two moments and the
no-jump polynomial at the end of the interval. The first pass of an interval is fused
into the collision (:func:`trajectories.channels.kraus_unravelling.collide_banded_loss`). Every pass
runs over the *active* levels ``0 .. na-1`` (``psi[m] = 0`` above them).

``psi`` is complex128, or float64 when the caller runs the dynamics in a real gauge; the
leaves are compiled for both. ``rng`` is a random stream (:mod:`trajectories._streams`).
"""

from __future__ import annotations

import math

from .._numba import LEAF, abs2, njit
from .._streams import uniform

__all__ = ["JUMP_TIME_TOL", "loss_interval", "loss_jumps", "populations", "damp"]

#: Absolute tolerance on a jump time (units of t_r) in the jump-time solve.
JUMP_TIME_TOL = 1e-13
_MAX_NEWTON = 200


@njit(**LEAF)
def poly(pop, x, n_top):
    """``(P, x P', x (x P')')`` with ``P(x) = sum_{n < n_top} pop[n] x^n``.

    That is ``sum pop[n] x^n n^k`` for k = 0, 1, 2, by cumulative powers. Four
    interleaved accumulators (levels ``n = 4k + r``) cut the dependency chain to
    ``n_top / 4`` steps; every term is non-negative, so there is no cancellation.
    No exponential per element.
    """
    x2 = x * x
    x4 = x2 * x2
    p0 = p1 = p2 = p3 = 0.0
    d0 = d1 = d2 = d3 = 0.0
    e0 = e1 = e2 = e3 = 0.0
    xp = 1.0
    n_blocks = n_top // 4
    for k in range(n_blocks):
        n = 4 * k
        f = float(n)
        t0 = pop[n] * xp
        t1 = pop[n + 1] * xp
        t2 = pop[n + 2] * xp
        t3 = pop[n + 3] * xp
        p0 += t0
        p1 += t1
        p2 += t2
        p3 += t3
        u0 = f * t0
        u1 = (f + 1.0) * t1
        u2 = (f + 2.0) * t2
        u3 = (f + 3.0) * t3
        d0 += u0
        d1 += u1
        d2 += u2
        d3 += u3
        e0 += f * u0
        e1 += (f + 1.0) * u1
        e2 += (f + 2.0) * u2
        e3 += (f + 3.0) * u3
        xp *= x4
    for n in range(4 * n_blocks, n_top):  # the remainder, r = n - 4 * n_blocks
        t = pop[n] * xp
        r = n - 4 * n_blocks
        u = n * t
        if r == 0:
            p0 += t
            d0 += u
            e0 += n * u
        elif r == 1:
            p1 += t
            d1 += u
            e1 += n * u
        else:
            p2 += t
            d2 += u
            e2 += n * u
    x3 = x2 * x
    return (
        p0 + x * p1 + x2 * p2 + x3 * p3,
        d0 + x * d1 + x2 * d2 + x3 * d3,
        e0 + x * e1 + x2 * e2 + x3 * e3,
    )


@njit(**LEAF)
def support(pop, bound, n_top):
    """Number of levels to keep (of the first ``n_top``) so that the dropped tail weighs
    less than ``bound``."""
    tail = 0.0
    while n_top > 1 and tail + pop[n_top - 1] < bound:
        tail += pop[n_top - 1]
        n_top -= 1
    return n_top


@njit(**LEAF)
def damp(psi, a, b, t, scale, n):
    r"""No-jump evolution over a time ``t``, times ``scale``, in place.

    :math:`\psi_m \leftarrow \mathrm{scale}\; e^{-(a + b m) t/2}\,\psi_m` on the ``n``
    active levels (the rest are zero). With :math:`a = \gamma\bar n` and
    :math:`b = \gamma(2\bar n + 1)`, :math:`a + b m = \Gamma_m`. Cumulative powers (two
    interleaved chains), no exponential per element. Compiled (numba).

    Parameters
    ----------
    psi : ndarray of complex128 or float64, shape (N,)
        State vector, modified in place.
    a : float
        Level-independent part of the decay rate, in units of ``1/t_r``.
    b : float
        Decay rate per photon, in units of ``1/t_r``.
    t : float
        Duration, in units of ``t_r``.
    scale : float
        Common factor (e.g. the inverse square root of the no-jump probability, to
        renormalise).
    n : int
        Number of active levels (``psi[m] = 0`` for ``m >= n``).
    """
    y = math.exp(-0.5 * b * t)
    y2 = y * y
    f0 = scale * math.exp(-0.5 * a * t)
    f1 = f0 * y
    for m in range(0, n - 1, 2):
        psi[m] *= f0
        psi[m + 1] *= f1
        f0 *= y2
        f1 *= y2
    if n % 2 == 1:
        psi[n - 1] *= f0


@njit(**LEAF)
def populations(src, psi, pop, n):
    r"""Copy ``src`` into ``psi`` and its populations into ``pop``, with their moments.

    Compiled (numba).

    Parameters
    ----------
    src : ndarray of complex128 or float64, shape (N,)
        Source state (may be ``psi`` itself).
    psi : ndarray, shape (N,)
        Receives ``src`` on the first ``n`` levels.
    pop : ndarray of float64, shape (N,)
        Receives ``|src_m|^2`` on the first ``n`` levels.
    n : int
        Number of active levels.

    Returns
    -------
    norm, first, second : float
        :math:`\sum_m p_m`, :math:`\sum_m m\,p_m` and :math:`\sum_m m^2 p_m`
        (unnormalised).
    """
    s = 0.0
    f = 0.0
    q = 0.0
    for m in range(n):
        v = src[m]
        psi[m] = v
        w = abs2(v)
        pop[m] = w
        s += w
        f += m * w
        q += (m * m) * w
    return s, f, q


@njit(**LEAF)
def emit(psi, pop, sqrt_n, y, xe, n):
    """``psi <- a D psi`` in place, ``D = diag(y^n)`` (the damping to the jump time).

    Also ``pop = |psi|^2`` of the result. Returns the sums of ``pop``, ``n pop``,
    ``n^2 pop`` and ``pop xe^n`` (the no-jump polynomial at the end of the interval).
    Acts on the ``n`` active levels (the rest are zero); level ``n - 1`` becomes 0.
    """
    f = y  # source level m + 1 carries y^(m + 1)
    e = 1.0
    s = 0.0
    s1 = 0.0
    s2 = 0.0
    pe = 0.0
    for m in range(n - 1):
        z = (sqrt_n[m + 1] * f) * psi[m + 1]
        psi[m] = z
        w = abs2(z)
        pop[m] = w
        s += w
        s1 += m * w
        s2 += (m * m) * w
        pe += w * e
        f *= y
        e *= xe
    psi[n - 1] = 0.0
    pop[n - 1] = 0.0
    return s, s1, s2, pe


@njit(**LEAF)
def absorb(psi, pop, sqrt_n, y, xe, n):
    """``psi <- a^dagger D psi`` in place, truncated (level N-1 is not raised).

    ``D = diag(y^n)``; as :func:`emit`, returns the sums of ``pop``, ``n pop``,
    ``n^2 pop`` and ``pop xe^n`` of the result, ``pop = |psi|^2``. ``n`` is the number
    of active levels after the jump (levels ``n ..`` are zero; ``n = N`` truncates).
    """
    f = 1.0  # source level m - 1 carries y^(m - 1)
    e = xe
    s = 0.0
    s1 = 0.0
    s2 = 0.0
    pe = 0.0
    prev = psi[0]
    psi[0] = 0.0
    pop[0] = 0.0
    for m in range(1, n):
        cur = psi[m]
        z = (sqrt_n[m] * f) * prev
        psi[m] = z
        w = abs2(z)
        pop[m] = w
        s += w
        s1 += m * w
        s2 += (m * m) * w
        pe += w * e
        f *= y
        e *= xe
        prev = cur
    return s, s1, s2, pe


@njit(**LEAF)
def halley_step(h, g1, g2):
    """Halley's step for ``g(t) = 0`` from ``g = h``, ``g' = g1 < 0``, ``g'' = g2 >= 0``.

    Newton's step where Halley's denominator is not positive.
    """
    den = 2.0 * g1 * g1 - h * g2
    if den > 0.0:
        return -2.0 * h * g1 / den
    return -h / g1


@njit(**LEAF)
def jump_time(pop, norm, m1, m2, a, b, t_hi, log_u, n_act):
    """Solve ``ln S(t) = ln u`` on ``(0, t_hi)``, where ``S(0) = norm > u > S(t_hi)``.

    ``pop`` are the populations at ``t = 0`` (``norm = sum pop``, ``m1``, ``m2`` the
    first two moments ``sum n^k pop / norm``); ``log_u`` is ``ln(u norm)``.
    ``g(t) = ln S(t) - ln u`` is convex and decreasing with ``g' = -a - b <n>_t`` and
    ``g'' = b^2 Var_t(n)``, all three from one polynomial pass (:func:`poly`). Halley's
    method (third order), the first step from the exact derivatives at ``t = 0``; a
    bracket with bisection guards against rounding. The iteration stops when the
    step is below ``JUMP_TIME_TOL`` or when (conservatively, as for second order)
    the next correction is predicted below it (``|d_k|^3 / |d_{k-1}|^2``). Levels
    whose total weight is below ``1e-18 u`` are left out of the polynomial: they
    change it by less than its rounding.

    Returns ``(t, x, P, x P')`` with ``x = exp(-b t)`` and the polynomial at the
    last evaluated point, which is within the tolerance of ``t``. Only the first ``n_act``
    entries of ``pop`` are read.
    """
    n_top = support(pop, 1e-18 * math.exp(log_u), n_act)
    lo = 0.0
    hi = t_hi
    h0 = math.log(norm) - log_u
    g1 = -(a + b * m1)
    g2 = b * b * max(m2 - m1 * m1, 0.0)
    t = halley_step(h0, g1, g2)
    step_prev = t
    if not (0.0 < t < hi):
        t = 0.5 * hi
        step_prev = hi
    x = 1.0
    p = norm
    xd = norm * m1
    for _ in range(_MAX_NEWTON):
        x = math.exp(-b * t)
        p, xd, xdd = poly(pop, x, n_top)
        if p <= 0.0:  # underflow far right of the root
            hi = t
            t = 0.5 * (lo + hi)
            continue
        h = -a * t + math.log(p) - log_u
        if h > 0.0:
            lo = t
        else:
            hi = t
        mean = xd / p
        g1 = -a - b * mean
        g2 = b * b * max(xdd / p - mean * mean, 0.0)
        step = halley_step(h, g1, g2) if g1 < 0.0 else 0.5 * (lo + hi) - t
        t_new = t + step
        if not (lo <= t_new <= hi):
            t_new = 0.5 * (lo + hi)
            step = t_new - t
        a_step = abs(step)
        if a_step <= JUMP_TIME_TOL:  # t is within the tolerance of the root
            return t, x, p, xd
        t = t_new
        if a_step * a_step * a_step <= JUMP_TIME_TOL * step_prev**2 or hi - lo <= JUMP_TIME_TOL:
            break  # t_new is within the tolerance: evaluate there once more and stop
        step_prev = a_step
    x = math.exp(-b * t)
    p, xd, _ = poly(pop, x, n_top)
    return t, x, p, xd


@njit(**LEAF)
def loss_jumps(psi, pop, sqrt_n, gamma, nbar, rng, jump_log, t0, t_len, u, norm, first, second, na):
    r"""The rest of a loss interval after its first draw ``u`` found a jump in it.

    Jumps and restarts as described in the module docstring: exact jump times, any
    number of jumps per interval, an absorption out of level ``N - 1`` ends the
    trajectory (leak). Compiled (numba).

    Parameters
    ----------
    psi : ndarray of complex128 or float64, shape (N,)
        State at the start of the interval, possibly unnormalised; modified in place.
    pop : ndarray of float64, shape (N,)
        ``|psi|^2`` (read below ``na`` only); used as scratch.
    sqrt_n : ndarray of float64, shape (N,)
        :math:`\sqrt n`, the matrix elements of ``a`` and ``a^dag``.
    gamma : float
        Decay rate in units of ``1/t_r``.
    nbar : float
        Thermal photon number.
    rng : numpy.random.Generator
        Source of the further uniform draws (one per jump for its kind, one per restart).
    jump_log : ndarray of float64, shape (capacity, 2)
        Jump record, as in :func:`loss_interval`.
    t0 : float
        Time of the start of the interval, in units of ``t_r`` of real time (for the log).
    t_len : float
        Length of the interval in units of ``t_r`` (1 for regular arrivals; the drawn
        interval ``T`` for random ones, :mod:`trajectories.channels.beam_unravelling`).
    u : float
        The first draw, uniform on (0, 1), compared with the normalised no-jump
        probability.
    norm, first, second : float
        :math:`\sum p_m`, :math:`\sum m\,p_m`, :math:`\sum m^2 p_m` of ``pop``.
    na : int
        Number of active levels: ``psi[m] = 0`` for ``m >= na``; an absorption below the
        cutoff raises it by one.

    Returns
    -------
    emissions, absorptions : int
        Jumps in this interval (an absorption that leaked counts).
    alive : bool
        False if the trajectory leaked (then ``psi`` is 0).
    na : int
        The number of active levels on return; ``psi`` is normalised if alive.
    """
    n = psi.shape[0]
    a = gamma * nbar
    b = gamma * (2.0 * nbar + 1.0)
    n_em = 0
    n_ab = 0
    t_rem = t_len
    while True:
        t_jump, x, p_x, xd_x = jump_time(
            pop, norm, first / norm, second / norm, a, b, t_rem, math.log(u * norm), na
        )
        t_rem -= t_jump
        # rates at the jump time, without gamma and the common factor exp(-a t):
        # sum n |psi_n(t)|^2 = x P'(x), sum (n+1) |psi_n(t)|^2 = x P'(x) + P(x)
        r_em = (nbar + 1.0) * xd_x
        r_ab = nbar * (xd_x + p_x)
        r_leak = nbar * n * pop[n - 1] * x ** (n - 1) if na == n else 0.0
        v = uniform(rng) * (r_em + r_ab)
        # damp to the jump time and apply the jump in one pass (source level s gets
        # the factor exp(-b s t / 2); the common exp(-a t / 2) is dropped); the same
        # pass sums the no-jump polynomial at the end of the interval
        y = math.exp(-0.5 * b * t_jump)
        xe = math.exp(-b * t_rem)
        if v < r_em:  # emission: psi <- a psi
            norm, first, second, p_end = emit(psi, pop, sqrt_n, y, xe, na)
            na = max(na - 1, 1)  # the top active level is now empty
            n_em += 1
            kind = -1.0
        elif v < r_em + r_ab - r_leak:  # absorption: psi <- a^dag psi (truncated)
            na = min(na + 1, n)
            norm, first, second, p_end = absorb(psi, pop, sqrt_n, y, xe, na)
            n_ab += 1
            kind = 1.0
        else:  # absorption out of the top level: the weight leaves the kept space
            for m in range(na):
                psi[m] = 0.0
            return n_em, n_ab + 1, False, na
        count = int(jump_log[0, 0])
        if count + 1 < jump_log.shape[0]:
            jump_log[count + 1, 0] = t0 + (t_len - t_rem)
            jump_log[count + 1, 1] = kind
        jump_log[0, 0] = count + 1
        # next attempt over the rest of the interval
        u = uniform(rng)
        s_end = math.exp(-a * t_rem) * p_end
        if s_end >= u * norm:  # ||damped psi||^2 = s_end
            damp(psi, a, b, t_rem, 1.0 / math.sqrt(s_end), na)
            return n_em, n_ab, True, na


@njit(**LEAF)
def loss_interval(
    psi, pop, sqrt_n, gamma, nbar, full_decay, full_damp, loss_leak, rng, jump_log, t0
):
    r"""One loss interval of length 1 (``t_r``), exactly, by waiting times.

    The average of :math:`|\psi\rangle\langle\psi|` over the draws is
    :math:`\Lambda(|\psi\rangle\langle\psi|)` exactly (``docs/MODEL.md``, Sec. 3): no
    time step, the only error is statistical. Between jumps ``psi`` is left unnormalised
    (``pop`` and ``norm`` carry its weight); it is normalised on return. The banded
    trajectory kernel fuses the first pass of this function into the collision
    (:func:`trajectories.channels.kraus_unravelling.collide_banded_loss`) and continues with
    the same :func:`loss_jumps`, drawing the same random numbers. Compiled (numba).

    Parameters
    ----------
    psi : ndarray of complex128 or float64, shape (N,)
        Normalised state on entry; modified in place.
    pop : ndarray of float64, shape (N,)
        Scratch for the populations.
    sqrt_n : ndarray of float64, shape (N,)
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
    rng : numpy.random.Generator
        Source of the uniform draws.
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
    s_end = 0.0
    leak = 0.0
    for m in range(n):
        w = abs2(psi[m])
        s_end += w * full_decay[m]
        leak += w * loss_leak[m]
    u = uniform(rng)
    if s_end >= u:  # no jump: ||damped psi||^2 = s_end
        scale = 1.0 / math.sqrt(s_end)
        for m in range(n):
            psi[m] *= full_damp[m] * scale
        return 0, 0, True, leak
    norm, first, second = populations(psi, psi, pop, n)
    n_em, n_ab, alive, _ = loss_jumps(
        psi, pop, sqrt_n, gamma, nbar, rng, jump_log, t0, 1.0, u, norm, first, second, n
    )
    return n_em, n_ab, alive, leak
