r"""Compiled kernels of the trajectory engine (numba): one trajectory at a time, exactly.

This is the only implementation of the Monte Carlo step (SPEC Sec. 2.3); the
Python layers above it only prepare arrays and reduce results.

Per trajectory (a normalised state vector ``psi`` of length N, complex128, or
float64 when the caller runs the dynamics in the real gauge of
:func:`trajectories.unravel.real_gauge`; the kernels are compiled for both) and per
collision:

1. Collision: the banded Kraus operators ``K_j`` are applied in order (O(N) each)
   until the draw ``u`` is covered; the outcome has probability ``||K_j psi||^2``;
   the probability that the qubit pushes weight from level N-1 to N is the
   *leak* outcome, which ends the trajectory (its state becomes 0, as the exact
   solver's trace drops). ``psi <- K_j psi / ||K_j psi||``.
2. Loss over one interval ``t_r = 1``, exactly, by waiting times. The no-jump
   norm :math:`S(t) = e^{-\gamma\bar n t} P(x)`, :math:`x = e^{-\gamma(2\bar n+1)t}`,
   :math:`P(x) = \sum_n |\psi_n|^2 x^n` is evaluated by Horner's rule (no
   exponential per element). Draw ``u``; if ``S(t_rem) >= u`` there is no jump;
   else the jump time solves ``ln S(t) = ln u`` by Halley's method (``ln S`` is
   convex, a log-sum of exponentials, and its first two derivatives come from the
   same polynomial pass), safeguarded by a bracket and bisection; tolerance
   :data:`JUMP_TIME_TOL` on ``t``. The jump is an emission (``a``, rate
   :math:`\gamma(\bar n+1)\langle n\rangle`) or an absorption (``a^\dagger``, rate
   :math:`\gamma\bar n\langle n+1\rangle`; the part from level N-1 leaks), then the
   clock restarts from the jump time with a fresh ``u``.

Passes over ``psi`` are fused: the Kraus pass also sums ``|(K_j psi)_n|^2`` times
``exp(-Gamma_n)`` and times the leak vector, so an interval without a jump costs
one more pass (damp and normalise); after a jump, one pass applies ``a`` or
``a^dag`` with the damping to the jump time and sums the populations, their first
two moments and the no-jump polynomial at the end of the interval.

Support: every pass runs over the *active* levels only, ``0 .. na-1``, with
``psi[m] = 0`` exactly above them. A collision may fill level ``na`` (it is
included), an absorption raises ``na`` by one, and top levels whose weight falls
below :data:`SUPPORT_TOL` (1e-60 of the normalised state: amplitudes below 1e-30,
which cannot change any double-precision sum) are zeroed and dropped. With a
cutoff chosen with headroom most levels are empty: in the Fig. 5 case the
trajectories live mostly below the blocked 14 -> 15 transition, and the kernel runs
1.27x faster at N = 40 than with passes over all levels. The results agree with
passes over all N levels on the same draws (same jumps and outcomes, populations to
1e-11; tests/test_real_gauge.py).

Random numbers come from a ``numpy.random.Generator`` passed in (numba draws
from its bit generator), so a chunk is fully determined by its seed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["JUMP_TIME_TOL", "run_trajectories"]

#: Absolute tolerance on a jump time (units of t_r) in the jump-time solve.
JUMP_TIME_TOL = 1e-13
_MAX_NEWTON = 200

# The helpers below allocate nothing and are compiled without numba's reference counting
# (``_nrt=False``; an allocation there would fail to compile): with it, every call in the
# per-collision loop paid an atomic incref/decref per array argument, a quarter of the
# run time at N = 40. ``_nrt`` is a private numba option: if a numba version refuses it,
# the helpers are compiled normally (same results, slower).


def _leaf_options() -> dict:
    try:
        from numba.core.cpu import CPUTargetOptions

        known = hasattr(CPUTargetOptions, "_nrt")
    except ImportError:  # pragma: no cover - depends on the numba version
        known = False
    return {"cache": True, "_nrt": False} if known else {"cache": True}


_LEAF = _leaf_options()


def _abs2(v):
    """``|v|^2`` of a real or complex number (compiled through the overload below)."""
    return (v * np.conj(v)).real


@overload(_abs2)
def _abs2_compiled(v):
    if isinstance(v, types.Complex):
        return lambda v: v.real * v.real + v.imag * v.imag
    return lambda v: v * v


@njit(**_LEAF)
def _apply_kraus(psi, buf, kd, ko, ks, j, n):
    """``buf = K_j psi`` on the first ``n`` levels (the rest of ``psi`` is zero) for a banded
    Kraus operator; returns ``||K_j psi||^2``."""
    acc = 0.0
    if ks[j] == 1:  # out[m] = d[m] psi[m] + o[m] psi[m-1]
        v = kd[j, 0] * psi[0]
        buf[0] = v
        acc += _abs2(v)
        for m in range(1, n):
            v = kd[j, m] * psi[m] + ko[j, m] * psi[m - 1]
            buf[m] = v
            acc += _abs2(v)
    else:  # out[m] = d[m] psi[m] + o[m] psi[m+1]
        for m in range(n - 1):
            v = kd[j, m] * psi[m] + ko[j, m] * psi[m + 1]
            buf[m] = v
            acc += _abs2(v)
        v = kd[j, n - 1] * psi[n - 1]
        buf[n - 1] = v
        acc += _abs2(v)
    return acc


@njit(**_LEAF)
def _apply_kraus_loss(psi, buf, kd, ko, ks, j, decay, leak, n):
    """``buf = K_j psi`` and three sums over ``w_m = |(K_j psi)_m|^2`` in the same pass.

    Returns ``(sum w, sum w decay, sum w leak)``: the outcome's probability, and
    (unnormalised) the no-jump probability of the following loss interval and its
    leak probability. Only the first ``n`` levels are touched (the rest of ``psi`` is 0).
    """
    if ks[j] == 1:  # out[m] = d[m] psi[m] + o[m] psi[m-1]
        v = kd[j, 0] * psi[0]
        buf[0] = v
        w = _abs2(v)
        p = w
        s = w * decay[0]
        lk = w * leak[0]
        for m in range(1, n):
            v = kd[j, m] * psi[m] + ko[j, m] * psi[m - 1]
            buf[m] = v
            w = _abs2(v)
            p += w
            s += w * decay[m]
            lk += w * leak[m]
    else:  # out[m] = d[m] psi[m] + o[m] psi[m+1]
        p = 0.0
        s = 0.0
        lk = 0.0
        for m in range(n - 1):
            v = kd[j, m] * psi[m] + ko[j, m] * psi[m + 1]
            buf[m] = v
            w = _abs2(v)
            p += w
            s += w * decay[m]
            lk += w * leak[m]
        v = kd[j, n - 1] * psi[n - 1]
        buf[n - 1] = v
        w = _abs2(v)
        p += w
        s += w * decay[n - 1]
        lk += w * leak[n - 1]
    return p, s, lk


@njit(**_LEAF)
def _leak_probability(psi, kleak2, n):
    """Probability that the collision pushes level ``n - 1`` (the true top when ``n = N``,
    else an empty level) out of the cutoff: ``sum_j |leak_j|^2 |psi_{n-1}|^2``."""
    top2 = _abs2(psi[n - 1])
    p_leak = 0.0
    for j in range(kleak2.shape[0]):
        p_leak += kleak2[j] * top2
    return p_leak


@njit(**_LEAF)
def _collide(psi, buf, kd, ko, ks, kleak2, u, n):
    """Apply the sampled Kraus operator to the normalised ``psi`` in place.

    Returns ``(index, p_leak)``, index -1 for the leak outcome (``psi`` becomes 0).
    Operators are tried in order and only until the draw ``u`` is covered, so on
    average fewer than all are applied; the last one's probability is
    ``1 - p_leak - (the others)``, exact up to rounding. ``buf`` is (N,) scratch.
    Only the first ``n`` levels are read and written: ``psi[m] = 0`` for ``m >= n - 1``
    unless ``n = N`` (the caller passes one level above the active ones, which the
    collision can fill), so the leak term of level ``n - 1`` is the true one.
    """
    n_ops = kd.shape[0]
    p_leak = _leak_probability(psi, kleak2, n)
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and u >= 1.0 - p_leak:
            break
        p = _apply_kraus(psi, buf, kd, ko, ks, j, n)
        cum += p
        if u < cum or j == n_ops - 1:
            scale = 1.0 / math.sqrt(p)
            for m in range(n):
                psi[m] = buf[m] * scale
            return j, p_leak
    for m in range(n):
        psi[m] = 0.0
    return -1, p_leak


@njit(**_LEAF)
def _collide_loss(psi, buf, kd, ko, ks, kleak2, u, full_decay, loss_leak, n):
    """The collision of :func:`_collide` fused with the first pass of the loss interval.

    Samples the outcome ``j`` exactly as :func:`_collide` (same draw ``u``, same
    order) but leaves ``buf = K_j psi`` unnormalised and ``psi`` untouched. Returns
    ``(j, p_leak, p, s, l)``: ``p = ||K_j psi||^2`` and the sums of
    ``|(K_j psi)_n|^2`` weighted by ``full_decay`` (so ``s / p`` is the probability of
    no jump during the next interval) and by ``loss_leak`` (``l / p`` is that
    interval's leak probability). ``j = -1`` is the leak outcome (then ``p = s = l = 0``).
    ``n`` active levels as in :func:`_collide`.
    """
    n_ops = kd.shape[0]
    p_leak = _leak_probability(psi, kleak2, n)
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and u >= 1.0 - p_leak:
            break
        p, s, lk = _apply_kraus_loss(psi, buf, kd, ko, ks, j, full_decay, loss_leak, n)
        cum += p
        if u < cum or j == n_ops - 1:
            return j, p_leak, p, s, lk
    return -1, p_leak, 0.0, 0.0, 0.0


@njit(**_LEAF)
def _poly(pop, x, n_top):
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


@njit(**_LEAF)
def _support(pop, bound, n_top):
    """Number of levels to keep (of the first ``n_top``) so that the dropped tail weighs
    less than ``bound``."""
    tail = 0.0
    while n_top > 1 and tail + pop[n_top - 1] < bound:
        tail += pop[n_top - 1]
        n_top -= 1
    return n_top


@njit(**_LEAF)
def _damp(psi, a, b, t, scale, n):
    """No-jump evolution over ``t`` times ``scale``: ``psi_n *= scale exp(-(a + b n) t / 2)``
    on the ``n`` active levels (the rest are zero).

    Cumulative powers (two interleaved chains), no exponential per element.
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


@njit(**_LEAF)
def _populations(src, psi, pop, n):
    """``psi = src`` (may be the same array) and ``pop = |psi|^2``.

    Returns the sums of ``pop``, ``n pop`` and ``n^2 pop``.
    """
    s = 0.0
    f = 0.0
    q = 0.0
    for m in range(n):
        v = src[m]
        psi[m] = v
        w = _abs2(v)
        pop[m] = w
        s += w
        f += m * w
        q += (m * m) * w
    return s, f, q


@njit(**_LEAF)
def _emit(psi, pop, sqrt_n, y, xe, n):
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
        w = _abs2(z)
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


@njit(**_LEAF)
def _absorb(psi, pop, sqrt_n, y, xe, n):
    """``psi <- a^dagger D psi`` in place, truncated (level N-1 is not raised).

    ``D = diag(y^n)``; as :func:`_emit`, returns the sums of ``pop``, ``n pop``,
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
        w = _abs2(z)
        pop[m] = w
        s += w
        s1 += m * w
        s2 += (m * m) * w
        pe += w * e
        f *= y
        e *= xe
        prev = cur
    return s, s1, s2, pe


@njit(**_LEAF)
def _halley_step(h, g1, g2):
    """Halley's step for ``g(t) = 0`` from ``g = h``, ``g' = g1 < 0``, ``g'' = g2 >= 0``.

    Newton's step where Halley's denominator is not positive.
    """
    den = 2.0 * g1 * g1 - h * g2
    if den > 0.0:
        return -2.0 * h * g1 / den
    return -h / g1


@njit(**_LEAF)
def _jump_time(pop, norm, m1, m2, a, b, t_hi, log_u, n_act):
    """Solve ``ln S(t) = ln u`` on ``(0, t_hi)``, where ``S(0) = norm > u > S(t_hi)``.

    ``pop`` are the populations at ``t = 0`` (``norm = sum pop``, ``m1``, ``m2`` the
    first two moments ``sum n^k pop / norm``); ``log_u`` is ``ln(u norm)``.
    ``g(t) = ln S(t) - ln u`` is convex and decreasing with ``g' = -a - b <n>_t`` and
    ``g'' = b^2 Var_t(n)``, all three from one polynomial pass (:func:`_poly`). Halley's
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
    n_top = _support(pop, 1e-18 * math.exp(log_u), n_act)
    lo = 0.0
    hi = t_hi
    h0 = math.log(norm) - log_u
    g1 = -(a + b * m1)
    g2 = b * b * max(m2 - m1 * m1, 0.0)
    t = _halley_step(h0, g1, g2)
    step_prev = t
    if not (0.0 < t < hi):
        t = 0.5 * hi
        step_prev = hi
    x = 1.0
    p = norm
    xd = norm * m1
    for _ in range(_MAX_NEWTON):
        x = math.exp(-b * t)
        p, xd, xdd = _poly(pop, x, n_top)
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
        step = _halley_step(h, g1, g2) if g1 < 0.0 else 0.5 * (lo + hi) - t
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
    p, xd, _ = _poly(pop, x, n_top)
    return t, x, p, xd


@njit(**_LEAF)
def _loss_jumps(psi, pop, sqrt_n, gamma, nbar, rng, jump_log, t0, u, norm, first, second, na):
    """The rest of a loss interval after its first draw ``u`` found a jump in it.

    ``psi`` is the state at the start of the interval, possibly unnormalised, with
    ``pop = |psi|^2`` and the sums ``norm``, ``first``, ``second`` of ``pop``,
    ``n pop``, ``n^2 pop``; ``u`` (uniform on (0, 1)) is compared with the
    normalised no-jump probability. Jumps and restarts as described in the module
    docstring, ``jump_log`` and ``t0`` as in :func:`_loss_interval`. ``na`` is the
    number of active levels: ``psi[m] = 0`` for ``m >= na`` (``pop`` is read only below
    ``na``); an absorption below the cutoff raises it by one. Returns ``(emissions,
    absorptions, alive, na)``; ``psi`` is normalised on return (0 if the trajectory
    leaked).
    """
    n = psi.shape[0]
    a = gamma * nbar
    b = gamma * (2.0 * nbar + 1.0)
    n_em = 0
    n_ab = 0
    t_rem = 1.0
    while True:
        t_jump, x, p_x, xd_x = _jump_time(
            pop, norm, first / norm, second / norm, a, b, t_rem, math.log(u * norm), na
        )
        t_rem -= t_jump
        # rates at the jump time, without gamma and the common factor exp(-a t):
        # sum n |psi_n(t)|^2 = x P'(x), sum (n+1) |psi_n(t)|^2 = x P'(x) + P(x)
        r_em = (nbar + 1.0) * xd_x
        r_ab = nbar * (xd_x + p_x)
        r_leak = nbar * n * pop[n - 1] * x ** (n - 1) if na == n else 0.0
        v = rng.random() * (r_em + r_ab)
        # damp to the jump time and apply the jump in one pass (source level s gets
        # the factor exp(-b s t / 2); the common exp(-a t / 2) is dropped); the same
        # pass sums the no-jump polynomial at the end of the interval
        y = math.exp(-0.5 * b * t_jump)
        xe = math.exp(-b * t_rem)
        if v < r_em:  # emission: psi <- a psi
            norm, first, second, p_end = _emit(psi, pop, sqrt_n, y, xe, na)
            na = max(na - 1, 1)  # the top active level is now empty
            n_em += 1
            kind = -1.0
        elif v < r_em + r_ab - r_leak:  # absorption: psi <- a^dag psi (truncated)
            na = min(na + 1, n)
            norm, first, second, p_end = _absorb(psi, pop, sqrt_n, y, xe, na)
            n_ab += 1
            kind = 1.0
        else:  # absorption out of the top level: the weight leaves the kept space
            for m in range(na):
                psi[m] = 0.0
            return n_em, n_ab + 1, False, na
        count = int(jump_log[0, 0])
        if count + 1 < jump_log.shape[0]:
            jump_log[count + 1, 0] = t0 + (1.0 - t_rem)
            jump_log[count + 1, 1] = kind
        jump_log[0, 0] = count + 1
        # next attempt over the rest of the interval
        u = rng.random()
        s_end = math.exp(-a * t_rem) * p_end
        if s_end >= u * norm:  # ||damped psi||^2 = s_end
            _damp(psi, a, b, t_rem, 1.0 / math.sqrt(s_end), na)
            return n_em, n_ab, True, na


@njit(**_LEAF)
def _loss_interval(
    psi, pop, sqrt_n, gamma, nbar, full_decay, full_damp, loss_leak, rng, jump_log, t0
):
    """One loss interval of length 1 (t_r), exactly, by waiting times.

    ``psi`` (N,) complex or real, normalised on entry. Returns ``(emissions,
    absorptions, alive, expected leak)``; the expected leak is the exact probability
    ``sum_n loss_leak[n] |psi_n|^2`` that this interval sends weight out of the
    cutoff. ``full_decay[n] = exp(-Gamma_n)``, ``full_damp[n] = exp(-Gamma_n / 2)``.
    ``jump_log`` is a (capacity, 2) array: row 0 col 0 holds the count; jump ``i``
    goes to row ``i + 1`` as (time, +1 absorption / -1 emission). Between jumps
    ``psi`` is left unnormalised (``pop`` and ``norm`` carry its weight); it is
    normalised on return. :func:`run_trajectories` fuses the first pass of this
    function into the collision (:func:`_collide_loss`) and continues with the same
    :func:`_loss_jumps`, drawing the same random numbers.
    """
    n = psi.shape[0]
    # first attempt over the whole interval, with the precomputed decay factors
    s_end = 0.0
    leak = 0.0
    for m in range(n):
        w = _abs2(psi[m])
        s_end += w * full_decay[m]
        leak += w * loss_leak[m]
    u = rng.random()
    if s_end >= u:  # no jump: ||damped psi||^2 = s_end
        scale = 1.0 / math.sqrt(s_end)
        for m in range(n):
            psi[m] *= full_damp[m] * scale
        return 0, 0, True, leak
    norm, first, second = _populations(psi, psi, pop, n)
    n_em, n_ab, alive, _ = _loss_jumps(
        psi, pop, sqrt_n, gamma, nbar, rng, jump_log, t0, u, norm, first, second, n
    )
    return n_em, n_ab, alive, leak


#: Levels at the top of the state whose weight is below this (the state is normalised)
#: are set to zero and left out of every pass until the dynamics reaches them again:
#: amplitudes below 1e-30 cannot change a double-precision result.
SUPPORT_TOL = 1e-60


@njit(**_LEAF)
def _active(psi, na):
    """Number of active levels: drop (zero) top levels of ``psi[:na]`` below SUPPORT_TOL."""
    while na > 1 and _abs2(psi[na - 1]) < SUPPORT_TOL:
        psi[na - 1] = 0.0
        na -= 1
    return na


@njit(cache=True)
def run_trajectories(
    psi0,
    kd,
    ko,
    ks,
    kleak2,
    kbranch,
    kis_g,
    n_branches,
    gamma,
    nbar,
    full_decay,
    full_damp,
    loss_leak,
    checkpoints,
    rho_slot,
    rng,
    rng_meas,
    max_jumps,
    n_mean,
    n2_mean,
    qubit_g,
    qubit_e,
    emissions,
    absorptions,
    alive,
    leak_expected,
    rho_sum,
    jump_times,
    jump_kinds,
    n_jumps,
    fock,
):
    """Evolve the trajectories ``psi0`` (M, N) and fill the record arrays in place.

    ``psi0``, ``kd`` and ``ko`` (K, N) are all complex128, or all float64 for the
    dynamics in the real gauge (then ``rho_sum`` may be float64 too: it receives the
    gauged, real products ``psi_p psi_q``; :func:`trajectories.unravel.run_chunk` maps
    them back).

    Records at each checkpoint c (rows = trajectories): ``n_mean``/``n2_mean``
    (M, C) float; cumulative ``qubit_g``/``qubit_e`` (M, C, B) counts of
    qubits leaving in g / e per branch; ``emissions``/``absorptions`` (M, C);
    ``leak_expected`` (C,) sum over trajectories of the leak probabilities;
    ``rho_sum`` (R, N, N) upper triangles of sum |psi><psi| for checkpoints with
    ``rho_slot[c] >= 0``. Jumps: ``jump_times``/``jump_kinds`` (M, max_jumps),
    ``n_jumps`` (M,) counts all jumps (more than ``max_jumps`` = overflow).
    ``fock`` (M, C): one photon number drawn from ``|psi_n|^2`` at each checkpoint
    with the separate generator ``rng_meas`` (-1 for a leaked trajectory), the
    outcome a projective measurement of n would give; it does not act back.
    """
    n_traj, n = psi0.shape
    n_ck = checkpoints.shape[0]
    last = checkpoints[n_ck - 1]
    psi = np.empty(n, dtype=psi0.dtype)
    buf = np.empty(n, dtype=psi0.dtype)
    sqrt_n = np.sqrt(np.arange(n + 1.0))
    pop = np.empty(n)
    cg = np.zeros(n_branches, dtype=np.int64)
    ce = np.zeros(n_branches, dtype=np.int64)
    jump_log = np.zeros((max_jumps + 1, 2))
    has_loss = gamma > 0.0
    for i in range(n_traj):
        for m in range(n):
            psi[m] = psi0[i, m]
        na = _active(psi, n)
        cg[:] = 0
        ce[:] = 0
        jump_log[0, 0] = 0.0
        n_em = 0
        n_ab = 0
        live = True
        leak = 0.0
        c = 0
        for k in range(last + 1):
            # the collision can fill one level above the active ones (views of nc levels)
            nc = min(na + 1, n)
            if k > 0 and live and not has_loss:
                j, p_leak = _collide(psi, buf, kd, ko, ks, kleak2, rng.random(), nc)
                leak += p_leak
                if j < 0:
                    live = False
                elif kis_g[j]:
                    cg[kbranch[j]] += 1
                else:
                    ce[kbranch[j]] += 1
                na = _active(psi, nc)
            elif k > 0 and live:
                # collision and the loss interval's first pass fused (_collide_loss);
                # the same draws as _collide followed by _loss_interval
                j, p_leak, p, s, lv = _collide_loss(
                    psi, buf, kd, ko, ks, kleak2, rng.random(), full_decay, loss_leak, nc,
                )  # fmt: skip
                leak += p_leak
                if j < 0:
                    live = False
                    for m in range(n):
                        psi[m] = 0.0
                else:
                    if kis_g[j]:
                        cg[kbranch[j]] += 1
                    else:
                        ce[kbranch[j]] += 1
                    leak += lv / p
                    u = rng.random()
                    if s >= u * p:  # no jump: psi = K psi damped over t_r, normalised
                        scale = 1.0 / math.sqrt(s)
                        for m in range(nc):
                            psi[m] = buf[m] * (full_damp[m] * scale)
                        na = nc
                    else:
                        norm, first, second = _populations(buf, psi, pop, nc)
                        de, da, live, na = _loss_jumps(
                            psi, pop, sqrt_n, gamma, nbar, rng, jump_log, k - 1.0, u, norm,
                            first, second, nc,
                        )  # fmt: skip
                        n_em += de
                        n_ab += da
                    na = _active(psi, na)
            if k == checkpoints[c]:
                _record(
                    psi, live, i, c, rng_meas, n_mean, n2_mean, fock, cg, ce, qubit_g, qubit_e,
                    n_em, n_ab, emissions, absorptions, leak, leak_expected, rho_slot[c], rho_sum,
                )  # fmt: skip
                c += 1
        _finish(i, live, jump_log, alive, n_jumps, jump_times, jump_kinds)


@njit(cache=True)
def _record(
    psi, live, i, c, rng_meas, n_mean, n2_mean, fock, cg, ce, qubit_g, qubit_e, n_em, n_ab,
    emissions, absorptions, leak, leak_expected, r, rho_sum,
):  # fmt: skip
    """Fill checkpoint ``c`` of trajectory ``i`` (the records of :func:`run_trajectories`).

    Shared by the general-Kraus kernel (:mod:`trajectories.kernels_general`). ``psi`` may
    be real or complex; ``r`` is the rho slot (-1: rho not kept at this checkpoint).
    """
    n = psi.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for m in range(n):
        w = _abs2(psi[m])
        s0 += w
        s1 += m * w
        s2 += m * m * w
    n_mean[i, c] = s1
    n2_mean[i, c] = s2
    target = rng_meas.random() * s0
    outcome = -1
    if live:
        cum = 0.0
        outcome = n - 1
        for m in range(n):
            cum += _abs2(psi[m])
            if target < cum:
                outcome = m
                break
    fock[i, c] = outcome
    for b in range(cg.shape[0]):
        qubit_g[i, c, b] = cg[b]
        qubit_e[i, c, b] = ce[b]
    emissions[i, c] = n_em
    absorptions[i, c] = n_ab
    leak_expected[c] += leak
    if r >= 0 and live:
        for p in range(n):
            cp = psi[p]
            if cp != 0:
                for q in range(p, n):
                    rho_sum[r, p, q] += cp * np.conj(psi[q])


@njit(cache=True)
def _finish(i, live, jump_log, alive, n_jumps, jump_times, jump_kinds):
    """Store trajectory ``i``'s survival and its logged jumps (``jump_log`` row 0: count)."""
    alive[i] = live
    count = int(jump_log[0, 0])
    n_jumps[i] = count
    for jj in range(min(count, jump_times.shape[1])):
        jump_times[i, jj] = jump_log[jj + 1, 0]
        jump_kinds[i, jj] = jump_log[jj + 1, 1]
