r"""Compiled kernels of the trajectory engine (numba): one trajectory at a time, exactly.

This is the only implementation of the Monte Carlo step (SPEC Sec. 2.3); the
Python layers above it only prepare arrays and reduce results.

Per trajectory (a normalised state vector ``psi`` of length N) and per collision:

1. Collision: every banded Kraus operator ``K_j`` is applied (O(N) each), the
   outcome is drawn with probability ``||K_j psi||^2``; the probability that
   the qubit pushes weight from level N-1 to N is the *leak* outcome, which
   ends the trajectory (its state becomes 0, as the exact solver's trace
   drops). ``psi <- K_j psi / ||K_j psi||``.
2. Loss over one interval ``t_r = 1``, exactly, by waiting times. The no-jump
   norm :math:`S(t) = e^{-\gamma\bar n t} P(x)`, :math:`x = e^{-\gamma(2\bar n+1)t}`,
   :math:`P(x) = \sum_n |\psi_n|^2 x^n` is evaluated by Horner's rule (no
   exponential per element). Draw ``u``; if ``S(t_rem) >= u`` there is no jump;
   else the jump time solves ``ln S(t) = ln u`` by Newton's method, which is
   monotone from the left because ``ln S`` is convex (a log-sum of
   exponentials), safeguarded by a bracket and bisection; tolerance
   :data:`JUMP_TIME_TOL` on ``t``. The jump is an emission (``a``, rate
   :math:`\gamma(\bar n+1)\langle n\rangle`) or an absorption (``a^\dagger``, rate
   :math:`\gamma\bar n\langle n+1\rangle`; the part from level N-1 leaks), then the
   clock restarts from the jump time with a fresh ``u``.

Random numbers come from a ``numpy.random.Generator`` passed in (numba draws
from its bit generator), so a chunk is fully determined by its seed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["JUMP_TIME_TOL", "run_trajectories"]

#: Absolute tolerance on a jump time (units of t_r) in the Newton solve.
JUMP_TIME_TOL = 1e-13
_MAX_NEWTON = 200


@njit(cache=True)
def _apply_kraus(psi, buf, kd, ko, ks, j):
    """``buf = K_j psi`` for a banded Kraus operator; returns ``||K_j psi||^2``."""
    n = psi.shape[0]
    acc = 0.0
    if ks[j] == 1:  # out[m] = d[m] psi[m] + o[m] psi[m-1]
        v = kd[j, 0] * psi[0]
        buf[0] = v
        acc += v.real * v.real + v.imag * v.imag
        for m in range(1, n):
            v = kd[j, m] * psi[m] + ko[j, m] * psi[m - 1]
            buf[m] = v
            acc += v.real * v.real + v.imag * v.imag
    else:  # out[m] = d[m] psi[m] + o[m] psi[m+1]
        for m in range(n - 1):
            v = kd[j, m] * psi[m] + ko[j, m] * psi[m + 1]
            buf[m] = v
            acc += v.real * v.real + v.imag * v.imag
        v = kd[j, n - 1] * psi[n - 1]
        buf[n - 1] = v
        acc += v.real * v.real + v.imag * v.imag
    return acc


@njit(cache=True)
def _collide(psi, buf, kd, ko, ks, kleak2, u):
    """Apply the sampled Kraus operator to the normalised ``psi`` in place.

    Returns ``(index, p_leak)``, index -1 for the leak outcome (``psi`` becomes 0).
    Operators are tried in order and only until the draw ``u`` is covered, so on
    average fewer than all are applied; the last one's probability is
    ``1 - p_leak - (the others)``, exact up to rounding. ``buf`` is (N,) scratch.
    """
    n_ops, n = kd.shape
    top2 = psi[n - 1].real ** 2 + psi[n - 1].imag ** 2
    p_leak = 0.0
    for j in range(n_ops):
        p_leak += kleak2[j] * top2
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and u >= 1.0 - p_leak:
            break
        p = _apply_kraus(psi, buf, kd, ko, ks, j)
        cum += p
        if u < cum or j == n_ops - 1:
            scale = 1.0 / math.sqrt(p)
            for m in range(n):
                psi[m] = buf[m] * scale
            return j, p_leak
    for m in range(n):
        psi[m] = 0.0
    return -1, p_leak


@njit(cache=True)
def _poly(pop, x, n_top):
    """``P(x) = sum_{n < n_top} pop[n] x^n`` and ``x P'(x)``, by cumulative powers.

    Four interleaved accumulators (levels ``n = 4k + r``) cut the dependency chain
    to ``n_top / 4`` steps; every term is non-negative, so there is no cancellation.
    No exponential per element.
    """
    x2 = x * x
    x4 = x2 * x2
    p0 = p1 = p2 = p3 = 0.0
    d0 = d1 = d2 = d3 = 0.0
    xp = 1.0
    n_blocks = n_top // 4
    for k in range(n_blocks):
        n = 4 * k
        t0 = pop[n] * xp
        t1 = pop[n + 1] * xp
        t2 = pop[n + 2] * xp
        t3 = pop[n + 3] * xp
        p0 += t0
        p1 += t1
        p2 += t2
        p3 += t3
        d0 += n * t0
        d1 += (n + 1) * t1
        d2 += (n + 2) * t2
        d3 += (n + 3) * t3
        xp *= x4
    for n in range(4 * n_blocks, n_top):  # the remainder, r = n - 4 * n_blocks
        t = pop[n] * xp
        r = n - 4 * n_blocks
        if r == 0:
            p0 += t
            d0 += n * t
        elif r == 1:
            p1 += t
            d1 += n * t
        else:
            p2 += t
            d2 += n * t
    x3 = x2 * x
    return p0 + x * p1 + x2 * p2 + x3 * p3, d0 + x * d1 + x2 * d2 + x3 * d3


@njit(cache=True)
def _support(pop, bound):
    """Number of levels to keep so that the dropped tail weighs less than ``bound``."""
    n_top = pop.shape[0]
    tail = 0.0
    while n_top > 1 and tail + pop[n_top - 1] < bound:
        tail += pop[n_top - 1]
        n_top -= 1
    return n_top


@njit(cache=True)
def _damp(psi, a, b, t, scale):
    """No-jump evolution over ``t`` times ``scale``: ``psi_n *= scale exp(-(a + b n) t / 2)``.

    Cumulative powers (two interleaved chains), no exponential per element.
    Returns the jump rates of the result without their ``gamma`` prefactors:
    ``(sum n |psi_n|^2, sum (n+1) |psi_n|^2)``.
    """
    n = psi.shape[0]
    y = math.exp(-0.5 * b * t)
    y2 = y * y
    f0 = scale * math.exp(-0.5 * a * t)
    f1 = f0 * y
    r0 = 0.0
    r1 = 0.0
    w0 = 0.0
    w1 = 0.0
    for m in range(0, n - 1, 2):
        v = psi[m] * f0
        psi[m] = v
        w = v.real * v.real + v.imag * v.imag
        r0 += m * w
        w0 += w
        v = psi[m + 1] * f1
        psi[m + 1] = v
        w = v.real * v.real + v.imag * v.imag
        r1 += (m + 1) * w
        w1 += w
        f0 *= y2
        f1 *= y2
    if n % 2 == 1:
        v = psi[n - 1] * f0
        psi[n - 1] = v
        w = v.real * v.real + v.imag * v.imag
        r0 += (n - 1) * w
        w0 += w
    r_n = r0 + r1
    return r_n, r_n + w0 + w1


@njit(cache=True)
def _normalise(psi):
    s = 0.0
    for n in range(psi.shape[0]):
        s += psi[n].real ** 2 + psi[n].imag ** 2
    scale = 1.0 / math.sqrt(s)
    for n in range(psi.shape[0]):
        psi[n] *= scale


@njit(cache=True)
def _jump_time(pop, norm, mean_n, a, b, t_hi, log_u):
    """Solve ``ln S(t) = ln u`` on ``(0, t_hi)``, where ``S(0) = norm > u > S(t_hi)``.

    ``pop`` are the populations at ``t = 0`` (``norm = sum pop``, ``mean_n = sum n pop
    / norm``); ``log_u`` is ``ln(u norm)``. ``g(t) = ln S(t) - ln u`` is convex and
    decreasing, so Newton's method started left of the root climbs to it
    monotonically; a bracket with bisection guards against rounding. The first
    step uses the exact slope at ``t = 0``. The iteration stops when the step is
    below ``JUMP_TIME_TOL`` or when quadratic convergence predicts the next
    correction below it (``|d_k|^3 / |d_{k-1}|^2``). Levels whose total weight is
    below ``1e-18 u`` are left out of the polynomial: they change it by less than
    its rounding.

    Returns ``(t, x, P, x P')`` with ``x = exp(-b t)`` and the polynomial at the
    last evaluated point, which is within the tolerance of ``t``.
    """
    n_top = _support(pop, 1e-18 * math.exp(log_u))
    lo = 0.0
    hi = t_hi
    h0 = math.log(norm) - log_u
    t = h0 / (a + b * mean_n)  # Newton step from t = 0, where (ln S)' = -(a + b <n>)
    step_prev = t
    if not (t < hi):
        t = 0.5 * hi
        step_prev = hi
    x = 1.0
    p = norm
    xd = norm * mean_n
    for _ in range(_MAX_NEWTON):
        x = math.exp(-b * t)
        p, xd = _poly(pop, x, n_top)
        if p <= 0.0:  # underflow far right of the root
            hi = t
            t = 0.5 * (lo + hi)
            continue
        h = -a * t + math.log(p) - log_u
        if h > 0.0:
            lo = t
        else:
            hi = t
        slope = -a - b * xd / p
        step = -h / slope if slope < 0.0 else 0.5 * (lo + hi) - t
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
    p, xd = _poly(pop, x, n_top)
    return t, x, p, xd


@njit(cache=True)
def _loss_interval(
    psi, pop, sqrt_n, gamma, nbar, full_decay, full_damp, loss_leak, rng, jump_log, t0
):
    """One loss interval of length 1 (t_r), exactly, by waiting times.

    Returns ``(emissions, absorptions, alive, expected leak)``; the expected leak is
    the exact probability ``sum_n loss_leak[n] |psi_n|^2`` that this interval sends
    weight out of the cutoff. ``full_decay[n] = exp(-Gamma_n)``,
    ``full_damp[n] = exp(-Gamma_n / 2)``. ``jump_log`` is a (capacity, 2) array:
    row 0 col 0 holds the count; jump ``i`` goes to row ``i + 1`` as
    (time, +1 absorption / -1 emission). Between jumps ``psi`` is left
    unnormalised (``pop`` and ``norm`` carry its weight); it is normalised on return.
    """
    n = psi.shape[0]
    a = gamma * nbar
    b = gamma * (2.0 * nbar + 1.0)
    n_em = 0
    n_ab = 0
    # first attempt over the whole interval, with the precomputed decay factors
    # (psi is normalised on entry)
    s_end = 0.0
    leak = 0.0
    for m in range(n):
        w = psi[m].real ** 2 + psi[m].imag ** 2
        s_end += w * full_decay[m]
        leak += w * loss_leak[m]
    u = rng.random()
    if s_end >= u:  # no jump: ||damped psi||^2 = s_end
        scale = 1.0 / math.sqrt(s_end)
        for m in range(n):
            psi[m] *= full_damp[m] * scale
        return n_em, n_ab, True, leak
    norm = 0.0
    first = 0.0
    for m in range(n):
        w = psi[m].real ** 2 + psi[m].imag ** 2
        pop[m] = w
        norm += w
        first += m * w
    t_rem = 1.0
    while True:
        t_jump, x, p_x, xd_x = _jump_time(pop, norm, first / norm, a, b, t_rem, math.log(u * norm))
        t_rem -= t_jump
        # rates at the jump time, without gamma and the common factor exp(-a t):
        # sum n |psi_n(t)|^2 = x P'(x), sum (n+1) |psi_n(t)|^2 = x P'(x) + P(x)
        r_em = (nbar + 1.0) * xd_x
        r_ab = nbar * (xd_x + p_x)
        r_leak = nbar * n * pop[n - 1] * x ** (n - 1)
        v = rng.random() * (r_em + r_ab)
        # damp to the jump time and apply the jump in one pass (source level s gets
        # the factor exp(-b s t / 2); the common exp(-a t / 2) is dropped)
        y = math.exp(-0.5 * b * t_jump)
        norm = 0.0
        first = 0.0
        if v < r_em:  # emission: psi <- a psi
            f = y
            for m in range(n - 1):
                z = (sqrt_n[m + 1] * f) * psi[m + 1]
                psi[m] = z
                w = z.real * z.real + z.imag * z.imag
                pop[m] = w
                norm += w
                first += m * w
                f *= y
            psi[n - 1] = 0.0
            pop[n - 1] = 0.0
            n_em += 1
            kind = -1.0
        elif v < r_em + r_ab - r_leak:  # absorption: psi <- a^dag psi (truncated)
            f = 1.0
            prev = psi[0]
            for m in range(1, n):
                cur = psi[m]
                z = (sqrt_n[m] * f) * prev
                psi[m] = z
                w = z.real * z.real + z.imag * z.imag
                pop[m] = w
                norm += w
                first += m * w
                f *= y
                prev = cur
            psi[0] = 0.0
            pop[0] = 0.0
            n_ab += 1
            kind = 1.0
        else:  # absorption out of the top level: the weight leaves the kept space
            for m in range(n):
                psi[m] = 0.0
            return n_em, n_ab + 1, False, leak
        count = int(jump_log[0, 0])
        if count + 1 < jump_log.shape[0]:
            jump_log[count + 1, 0] = t0 + (1.0 - t_rem)
            jump_log[count + 1, 1] = kind
        jump_log[0, 0] = count + 1
        # next attempt over the rest of the interval
        u = rng.random()
        p_end, _ = _poly(pop, math.exp(-b * t_rem), _support(pop, 1e-18 * u * norm))
        s_end = math.exp(-a * t_rem) * p_end
        if s_end >= u * norm:  # ||damped psi||^2 = s_end, up to the dropped tail
            _damp(psi, a, b, t_rem, 1.0 / math.sqrt(s_end))
            return n_em, n_ab, True, leak


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
    psi = np.empty(n, dtype=np.complex128)
    buf = np.empty(n, dtype=np.complex128)
    sqrt_n = np.sqrt(np.arange(n + 1.0))
    pop = np.empty(n)
    cg = np.zeros(n_branches, dtype=np.int64)
    ce = np.zeros(n_branches, dtype=np.int64)
    jump_log = np.zeros((max_jumps + 1, 2))
    has_loss = gamma > 0.0
    for i in range(n_traj):
        for m in range(n):
            psi[m] = psi0[i, m]
        cg[:] = 0
        ce[:] = 0
        jump_log[0, 0] = 0.0
        n_em = 0
        n_ab = 0
        live = True
        leak = 0.0
        c = 0
        for k in range(last + 1):
            if k > 0 and live:
                j, p_leak = _collide(psi, buf, kd, ko, ks, kleak2, rng.random())
                leak += p_leak
                if j < 0:
                    live = False
                else:
                    if kis_g[j]:
                        cg[kbranch[j]] += 1
                    else:
                        ce[kbranch[j]] += 1
                    if has_loss:
                        de, da, live, lv = _loss_interval(
                            psi, pop, sqrt_n, gamma, nbar, full_decay, full_damp, loss_leak, rng,
                            jump_log, k - 1.0,
                        )  # fmt: skip
                        leak += lv
                        n_em += de
                        n_ab += da
            if k == checkpoints[c]:
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                for m in range(n):
                    w = psi[m].real ** 2 + psi[m].imag ** 2
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
                        cum += psi[m].real ** 2 + psi[m].imag ** 2
                        if target < cum:
                            outcome = m
                            break
                fock[i, c] = outcome
                for b in range(n_branches):
                    qubit_g[i, c, b] = cg[b]
                    qubit_e[i, c, b] = ce[b]
                emissions[i, c] = n_em
                absorptions[i, c] = n_ab
                leak_expected[c] += leak
                r = rho_slot[c]
                if r >= 0 and live:
                    for p in range(n):
                        cp = psi[p]
                        if cp != 0:
                            for q in range(p, n):
                                rho_sum[r, p, q] += cp * psi[q].conjugate()
                c += 1
        alive[i] = live
        count = int(jump_log[0, 0])
        n_jumps[i] = count
        for jj in range(min(count, max_jumps)):
            jump_times[i, jj] = jump_log[jj + 1, 0]
            jump_kinds[i, jj] = jump_log[jj + 1, 1]
