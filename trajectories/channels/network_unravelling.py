r"""A network of two cavities on one trajectory: the collision and the loss interval (numba).

The unravelling of ``docs/MODEL.md``, Sec. 13, for the joint state vector of cavities A
and B, stored in shell order and in the real gauge of
:mod:`trajectories.channels.network_arrays` (whose arrays these leaves read).

*Collision.* For the qubit's branch and spread node, outcome ``o`` has probability
:math:`\|A_o\psi\|^2`; ``A_o psi`` is computed on the output shells only, from the input
shells the state occupies (banded: one pass over the output rows; dense: shell blocks
column by column, four columns per pass; every output entry sums its terms in a fixed
order). The outcome
computed first is the one that was likelier at the previous collision (a heuristic: the
other is computed only when the draw is not covered by the first; in the issue's case this
computes both at about 21 % (series) and 43 % (simultaneous) of the collisions, against
33 % and 50 % for the previous outcome). Leak: only the total-excitation shells
``n >= min(N_A, N_B)`` can carry weight out of the kept levels; per such shell, by
unitarity, the leak is the input weight :math:`|\alpha|^2\|\psi_{n-1}\|^2 +
|\beta|^2\|\psi_n\|^2` minus the kept output weight (outcome e in cavity shell ``n - 1``,
g in shell ``n``): a difference of small numbers, exact to their rounding. It is computed
(the other outcome on those shells only, if it was not needed) when the state's weight
there is at least :data:`~trajectories.channels.kraus_unravelling.LEAK_FLOOR` (below, the
leak, at most that weight, counts as 0, as for one cavity). The leak is drawn when the
uniform draw falls in ``[1 - leak, 1)`` (outcomes below), as for one cavity; it ends the
trajectory.

*Loss.* The no-jump evolution is diagonal, :math:`\psi_x(t) = \psi_x e^{-R_x t/2}`,
:math:`R_x = \Gamma^A_a + \Gamma^B_b` (:func:`~trajectories.channels.loss.decay_rates`:
:math:`\Gamma_{N-1}` includes the absorption out of the top level), its factors
:math:`e^{-\Gamma^A_a t/2}e^{-\Gamma^B_b t/2}` by cumulative powers. The first jump time is
drawn by mixture sampling (exact, no root solve): a level ``x`` with probability
:math:`|\psi_x|^2`, then :math:`T \sim \mathrm{Exp}(R_x)` (infinite for :math:`R_x = 0`);
``T`` has exactly the first-jump distribution :math:`1 - \|\psi(t)\|^2 = 1 - \sum_x
|\psi_x|^2 e^{-R_x t}`. If ``T`` exceeds the time left, no jump: the state is evolved to the
end and renormalised. Else it is evolved to ``T`` and one of the jumps is chosen with
probabilities proportional to the rates in the state at ``T`` (not from ``x``): emission
:math:`\gamma_X(\bar n_X+1)\langle n_X\rangle`, absorption within the kept levels
:math:`\gamma_X\bar n_X\langle(n_X+1)[n_X < N_X - 1]\rangle`, absorption out of the top
level :math:`\gamma_X\bar n_X N_X\langle[n_X = N_X - 1]\rangle` (the weight the exact loss
channel loses, :mod:`trajectories.channels.network_loss`: drawn, it ends the trajectory);
the interval continues from ``T`` with fresh draws.

*Support.* Passes run over the shells the state occupies, ``lo .. hi`` (zero elsewhere).
Shells at either end whose weight is below :data:`NETWORK_SUPPORT_TOL` of the normalised
state are zeroed and dropped until the dynamics reaches them again: amplitudes below
``1e-18``, a hundredth of the rounding unit, change every probability and every
expectation value of a bounded operator by less than ``2e-18``, far below the rounding of
the double-precision sums that compute them (``~1e-16``), so that dropping them is below
the arithmetic's own noise, collision after collision.
"""

from __future__ import annotations

import math

from .._numba import LEAF, abs2, njit
from .._streams import uniform
from .kraus_unravelling import LEAK_FLOOR

__all__ = [
    "NETWORK_SUPPORT_TOL",
    "apply_outcome",
    "collide",
    "first_jump",
    "interval_leak",
    "pair_no_jump_factors",
    "loss_interval",
    "moments",
]

#: Shells at the ends of the support whose weight (of the normalised state) is below this
#: are zeroed and dropped (amplitudes below 1e-18: module docstring).
NETWORK_SUPPORT_TOL = 1e-36


@njit(**LEAF, inline="always")
def _sumsq(v):  # pragma: no cover - compiled
    """``sum |v|^2`` with four partial sums (a fixed order: independent chains)."""
    n = v.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    i = 0
    while i + 4 <= n:
        s0 += abs2(v[i])
        s1 += abs2(v[i + 1])
        s2 += abs2(v[i + 2])
        s3 += abs2(v[i + 3])
        i += 4
    while i < n:
        s0 += abs2(v[i])
        i += 1
    return (s0 + s1) + (s2 + s3)


@njit(**LEAF)
def _settle(psi, buf, in_place, sw, sw0, off, lo, hi, nlo, nhi, total):  # pragma: no cover
    """``psi <- buf / sqrt(kept weight)`` on the shells ``nlo .. nhi`` of ``buf`` (shell
    weights ``sw``, sum ``total``), less the end shells below the tolerance; ``psi`` zero
    elsewhere (its old shells ``lo .. hi`` are cleared; ``in_place``: ``buf`` is ``psi``).
    The kept weights go to ``sw0``. Returns the new ``(lo, hi)`` and the kept weight: the
    state's shell weights are ``sw0 / kept``."""
    bound = NETWORK_SUPPORT_TOL * total
    while nhi > nlo and sw[nhi] < bound:
        total -= sw[nhi]
        nhi -= 1
    while nlo < nhi and sw[nlo] < bound:
        total -= sw[nlo]
        nlo += 1
    scale = 1.0 / math.sqrt(total)
    p0 = off[nlo]
    p1 = off[nhi + 1]
    if in_place:
        for p in range(off[lo], p0):
            psi[p] = 0.0
        for p in range(p1, off[hi + 1]):
            psi[p] = 0.0
        v = psi[p0:p1]
        for i in range(p1 - p0):
            v[i] = v[i] * scale
    else:
        z = psi[off[lo] : off[hi + 1]]
        for i in range(z.shape[0]):
            z[i] = 0.0
        v = psi[p0:p1]
        bv = buf[p0:p1]
        for i in range(p1 - p0):
            v[i] = bv[i] * scale
    for m in range(nlo, nhi + 1):
        sw0[m] = sw[m]
    return nlo, nhi, total


@njit(**LEAF)
def _dense_block(ob, pin, vals, q, c):  # pragma: no cover - compiled
    """``ob += M (c pin)``, ``M`` the ``len(ob) x len(pin)`` block at ``vals[q:]``,
    column-major.

    Four columns per pass over the rows (views indexed from 0: the loops vectorise); each
    entry adds its terms column by column, in order.
    """
    s_out = ob.shape[0]
    s_in = pin.shape[0]
    k = 0
    while k + 4 <= s_in:
        x0 = c * pin[k]
        x1 = c * pin[k + 1]
        x2 = c * pin[k + 2]
        x3 = c * pin[k + 3]
        if x0 != 0 or x1 != 0 or x2 != 0 or x3 != 0:
            b0 = q + k * s_out
            v0 = vals[b0 : b0 + s_out]
            v1 = vals[b0 + s_out : b0 + 2 * s_out]
            v2 = vals[b0 + 2 * s_out : b0 + 3 * s_out]
            v3 = vals[b0 + 3 * s_out : b0 + 4 * s_out]
            for r in range(s_out):
                ob[r] = ob[r] + v0[r] * x0 + v1[r] * x1 + v2[r] * x2 + v3[r] * x3
        k += 4
    while k < s_in:
        x0 = c * pin[k]
        if x0 != 0:
            v0 = vals[q + k * s_out : q + (k + 1) * s_out]
            for r in range(s_out):
                ob[r] = ob[r] + v0[r] * x0
        k += 1


@njit(**LEAF)
def _band_rows(psi, out, col, node, o, c0, c1, r0, r1):  # pragma: no cover - compiled
    r"""``out[r] = c0 sum_w B_0[w, r] psi[f_0[r] + w] + c1 sum_w B_1[w, r] psi[f_1[r] + w]``
    for the rows ``r0 .. r1 - 1`` (the banded layout; a term with ``c = 0`` is left out).

    Every row: the ``w`` terms in order, then ``c0 (...) + c1 (...)``. Reads outside the
    state's shells find zeros (and zero entries), so they add nothing.
    """
    width = col.width
    f0 = col.first[node, 2 * o]
    f1 = col.first[node, 2 * o + 1]
    b0 = col.band[node, 2 * o]
    b1 = col.band[node, 2 * o + 1]
    if width == 2 and c0 != 0.0 and c1 != 0.0:
        e0 = b0[0]
        e1 = b0[1]
        g0 = b1[0]
        g1 = b1[1]
        for r in range(r0, r1):
            i = f0[r]
            k = f1[r]
            out[r] = c0 * (e0[r] * psi[i] + e1[r] * psi[i + 1]) + c1 * (
                g0[r] * psi[k] + g1[r] * psi[k + 1]
            )
        return
    for r in range(r0, r1):
        acc = 0.0 * psi[0]
        for j in range(2):
            c = c0 if j == 0 else c1
            if c == 0.0:
                continue
            f = f0[r] if j == 0 else f1[r]
            b = b0 if j == 0 else b1
            v = b[0, r] * psi[f]
            for w in range(1, width):
                v = v + b[w, r] * psi[f + w]
            acc = acc + c * v
        out[r] = acc


@njit(**LEAF)
def apply_outcome(psi, out, sw, col, node, br, o, lo, hi, off, omin):  # pragma: no cover
    r"""``out = sum_j coef[br, o, j] R_oj psi`` on the output shells ``>= omin``.

    ``psi`` must be zero outside its shells ``lo .. hi`` (the dense blocks read only those,
    the banded rows may read zeros next to them); output shells outside the returned range
    are not written. Every output entry adds its terms in a
    fixed order (by ``j``, then column or diagonal), whatever the support and ``omin``.

    Parameters
    ----------
    psi : ndarray of float64 or complex128, shape (D,)
        The state (shell order, gauge).
    out : ndarray, shape (D,)
        Receives the output on its shells.
    sw : ndarray of float64, shape (S,)
        Receives the weight of each output shell.
    col : CollisionArrays
        The collision (:mod:`trajectories.channels.network_arrays`).
    node, br, o : int
        Spread node, qubit branch, outcome (0 = e, 1 = g).
    lo, hi : int
        Shells of ``psi``.
    off : ndarray of int64, shape (S + 1,)
        Shell offsets.
    omin : int
        Lowest output shell computed.

    Returns
    -------
    p, olo, ohi : float, int, int
        :math:`\|out\|^2` over the output shells ``olo .. ohi`` (``ohi < olo``: none).
    """
    n_shells = off.shape[0] - 1
    olo = n_shells
    ohi = -1
    for j in range(2):
        if col.coef[br, o, j] != 0.0:
            s = (1 if j == 0 else 0) - (1 if o == 0 else 0)
            olo = min(olo, max(lo + s, omin, 0))
            ohi = max(ohi, min(hi + s, n_shells - 1))
    if ohi < olo:
        return 0.0, olo, ohi
    c0 = col.coef[br, o, 0]
    c1 = col.coef[br, o, 1]
    if col.banded:
        _band_rows(psi, out, col, node, o, c0, c1, off[olo], off[ohi + 1])
    ptr, vals = col.ptr, col.vals
    total = 0.0
    for m in range(olo, ohi + 1):
        ob = out[off[m] : off[m + 1]]
        if not col.banded:
            for r in range(ob.shape[0]):
                ob[r] = 0.0
            for j in range(2):
                c = c0 if j == 0 else c1
                t = 2 * o + j
                mi = m - ((1 if j == 0 else 0) - (1 if o == 0 else 0))
                if c == 0.0 or mi < lo or mi > hi or ptr[node, t, m] < 0:
                    continue
                _dense_block(ob, psi[off[mi] : off[mi + 1]], vals, ptr[node, t, m], c)
        w = _sumsq(ob)
        sw[m] = w
        total += w
    return total, olo, ohi


@njit(**LEAF)
def _sum(sw, m, hi):  # pragma: no cover - compiled
    """``sum sw[m .. hi]`` (0 when ``hi < m``)."""
    s = 0.0
    for k in range(max(m, 0), hi + 1):
        s += sw[k]
    return s


@njit(**LEAF)
def collide(  # pragma: no cover - compiled
    psi, out1, out2, sw0, tot, sw1, sw2, col, node, br, u, first, lo, hi, off
):
    r"""One collision on a trajectory: draw the outcome of branch ``br`` and apply it.

    The algorithm of the module docstring; ``psi`` is normalised on entry and on return
    (or zeroed after a leak).

    Parameters
    ----------
    psi, out1, out2 : ndarray of float64 or complex128, shape (D,)
        The state (shell order, gauge; overwritten) and two scratch vectors.
    sw0 : ndarray of float64, shape (S,)
        The state's shell weights times ``tot`` (updated).
    tot : float
        Their sum.
    sw1, sw2 : ndarray of float64, shape (S,)
        Scratch for shell weights.
    col : CollisionArrays
        The collision.
    node, br : int
        Theta-spread node and qubit branch of this qubit.
    u : float
        Uniform draw on ``[0, 1)``.
    first : int
        Outcome computed first (0 = e, 1 = g).
    lo, hi : int
        Shells the state occupies.
    off : ndarray of int64, shape (S + 1,)
        Shell offsets.

    Returns
    -------
    o, leak, lo, hi, tot, next_first : int, float, int, int, float, int
        The outcome (-1: leaked), the collision's leak probability (of this branch and
        node), the new support, the sum of the new ``sw0``, and the outcome to compute
        first at the next collision: the likelier one here (``first`` when ``p1 >= 1/2``).
    """
    second = 1 - first
    cut = col.leak_shell
    w_up = _sum(sw0, max(cut, lo), hi) / tot
    p1, lo1, hi1 = apply_outcome(psi, out1, sw1, col, node, br, first, lo, hi, off, 0)
    p2 = 0.0
    lo2 = 0
    hi2 = -1
    if u >= p1:
        p2, lo2, hi2 = apply_outcome(psi, out2, sw2, col, node, br, second, lo, hi, off, 0)
    elif w_up >= LEAK_FLOOR:  # the other outcome on the shells that can leak only
        _, lo2, hi2 = apply_outcome(psi, out2, sw2, col, node, br, second, lo, hi, off, cut)
    leak = 0.0
    if w_up >= LEAK_FLOOR:
        amp = col.amp2[br]
        w_in = amp[0] * w_up + amp[1] * (_sum(sw0, max(cut + 1, lo), hi) / tot)
        if first == 0:
            w_e = _sum(sw1, max(cut, lo1), hi1)
            w_g = _sum(sw2, max(cut + 1, lo2), hi2)
        else:
            w_e = _sum(sw2, max(cut, lo2), hi2)
            w_g = _sum(sw1, max(cut + 1, lo1), hi1)
        leak = max(w_in - w_e - w_g, 0.0)
    if u < p1:
        o = first
    elif leak > 0.0 and u >= 1.0 - leak:  # the leak takes the top of [0, 1)
        for p in range(off[lo], off[hi + 1]):
            psi[p] = 0.0
        return -1, leak, lo, hi, tot, first
    elif p2 > 0.0:  # also when rounding leaves u beyond p1 + p2
        o = second
    else:
        o = first
    if o == first:
        nlo, nhi, tot = _settle(psi, out1, False, sw1, sw0, off, lo, hi, lo1, hi1, p1)
    else:
        nlo, nhi, tot = _settle(psi, out2, False, sw2, sw0, off, lo, hi, lo2, hi2, p2)
    return o, leak, nlo, nhi, tot, first if p1 >= 0.5 else second


@njit(**LEAF)
def interval_leak(psi, leak, off, lo, hi):  # pragma: no cover - compiled
    r"""The expected weight the coming loss interval sends out of the kept levels.

    Parameters
    ----------
    psi : ndarray of float64 or complex128, shape (D,)
        Normalised state (shell order).
    leak : ndarray of float64, shape (D,)
        The leak vector of one interval (``NetworkLossArrays.leak``).
    off : ndarray of int64, shape (S + 1,)
        Shell offsets.
    lo, hi : int
        Shells the state occupies.

    Returns
    -------
    float
        :math:`\sum_x |\psi_x|^2 L_x` over the shells ``lo .. hi``.
    """
    v = psi[off[lo] : off[hi + 1]]
    x = leak[off[lo] : off[hi + 1]]
    n = v.shape[0]
    s0 = 0.0
    s1 = 0.0
    i = 0
    while i + 2 <= n:
        s0 += abs2(v[i]) * x[i]
        s1 += abs2(v[i + 1]) * x[i + 1]
        i += 2
    if i < n:
        s0 += abs2(v[i]) * x[i]
    return s0 + s1


@njit(**LEAF)
def pair_no_jump_factors(fa, fbr, loss, t):  # pragma: no cover - compiled
    r"""``fa[a] = exp(-Gamma^A_a t / 2)``, ``fbr[N_B - 1 - b] = exp(-Gamma^B_b t / 2)``.

    By cumulative powers: two exponentials per cavity (:math:`\Gamma_n` is linear in
    ``n``). The no-jump factor of the level ``(a, b)`` is ``fa[a] fbr[N_B - 1 - b]``
    (reversed, so that a shell reads both forwards).

    Parameters
    ----------
    fa, fbr : ndarray of float64, shapes (N_A,), (N_B,)
        Receive the factors.
    loss : NetworkLossArrays
        ``rate0``, ``rate1``: :math:`\Gamma^X_n = \mathrm{rate0}[X] + \mathrm{rate1}[X]\,n`.
    t : float
        Duration, units of ``t_r``.
    """
    nb = fbr.shape[0]
    y = math.exp(-0.5 * loss.rate1[0] * t)
    v = math.exp(-0.5 * loss.rate0[0] * t)
    for n in range(fa.shape[0]):
        fa[n] = v
        v *= y
    y = math.exp(-0.5 * loss.rate1[1] * t)
    v = math.exp(-0.5 * loss.rate0[1] * t)
    for n in range(nb):
        fbr[nb - 1 - n] = v
        v *= y


@njit(**LEAF)
def moments(psi, sh, lo, hi):  # pragma: no cover - compiled
    """The first two moments of the photon numbers of both cavities.

    Parameters
    ----------
    psi : ndarray of float64 or complex128, shape (D,)
        The state (shell order).
    sh : ShellArrays
        The shell order.
    lo, hi : int
        Shells the state occupies.

    Returns
    -------
    tuple of float
        ``(sum a w, sum b w, sum a^2 w, sum b^2 w)``, ``w = |psi|^2``, over the shells
        ``lo .. hi`` (unnormalised).
    """
    s1a = 0.0
    s1b = 0.0
    s2a = 0.0
    s2b = 0.0
    for p in range(sh.off[lo], sh.off[hi + 1]):
        w = abs2(psi[p])
        a = float(sh.a[p])
        b = float(sh.b[p])
        s1a += a * w
        s1b += b * w
        s2a += a * a * w
        s2b += b * b * w
    return s1a, s1b, s2a, s2b


@njit(**LEAF)
def _damp(psi, sh, fa, fbr, lo, hi, sw):  # pragma: no cover - compiled
    """``psi_(a, b) *= fa[a] fb[b]`` on the shells ``lo .. hi`` (``fbr``: ``fb`` reversed);
    their weights into ``sw`` (four partial sums per shell), returns the total."""
    off, a0 = sh.off, sh.a0
    nb = fbr.shape[0]
    total = 0.0
    for m in range(lo, hi + 1):
        p0 = off[m]
        n = off[m + 1] - p0
        ia = a0[m]
        ib = nb - 1 - m + ia
        v = psi[p0 : p0 + n]
        x = fa[ia : ia + n]
        y = fbr[ib : ib + n]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        i = 0
        while i + 4 <= n:
            z0 = v[i] * (x[i] * y[i])
            z1 = v[i + 1] * (x[i + 1] * y[i + 1])
            z2 = v[i + 2] * (x[i + 2] * y[i + 2])
            z3 = v[i + 3] * (x[i + 3] * y[i + 3])
            v[i] = z0
            v[i + 1] = z1
            v[i + 2] = z2
            v[i + 3] = z3
            s0 += abs2(z0)
            s1 += abs2(z1)
            s2 += abs2(z2)
            s3 += abs2(z3)
            i += 4
        while i < n:
            z0 = v[i] * (x[i] * y[i])
            v[i] = z0
            s0 += abs2(z0)
            i += 1
        w = (s0 + s1) + (s2 + s3)
        sw[m] = w
        total += w
    return total


@njit(**LEAF)
def _jump_rates(psi, sh, loss, lo, hi, rates):  # pragma: no cover - compiled
    r"""Fill ``rates`` (6,) with the jump rates of the (unnormalised) state: for A then B,
    emission, absorption within the kept levels, absorption out of the top level.

    Per shell ``m`` (position ``i``: ``a = a0 + i``, ``b = b_end + (s - 1 - i)``) the sums
    :math:`\sum w`, :math:`\sum i\,w`, :math:`\sum (s-1-i)\,w` over its inner positions and
    its two end positions give every rate as a sum of non-negative terms (A's top level can
    only be a shell's last position, B's its first: an absorption rate within the kept
    levels that should vanish is exactly 0).
    """
    na = loss.cutoff[0]
    nb = loss.cutoff[1]
    off, a0 = sh.off, sh.a0
    s1a = 0.0
    s1b = 0.0
    ka = 0.0
    kb = 0.0
    ta = 0.0
    tb = 0.0
    for m in range(lo, hi + 1):
        v = psi[off[m] : off[m + 1]]
        n = v.shape[0]
        fa = float(a0[m])  # a at the first position
        fb_end = float(m - a0[m] - n + 1)  # b at the last position
        x_first = abs2(v[0])
        if n == 1:
            s1a += fa * x_first
            s1b += fb_end * x_first
            if a0[m] == na - 1:
                ta += x_first
            else:
                ka += (fa + 1.0) * x_first
            if m - a0[m] == nb - 1:
                tb += x_first
            else:
                kb += (fb_end + 1.0) * x_first
            continue
        x_last = abs2(v[n - 1])
        wm = 0.0  # inner positions 1 .. n - 2: sum w, sum i w, sum (n - 1 - i) w
        im = 0.0
        jm = 0.0
        fi = 1.0
        for i in range(1, n - 1):
            x = abs2(v[i])
            wm += x
            im += fi * x
            jm += (n - 1 - fi) * x
            fi += 1.0
        last = float(n - 1)
        s1a += fa * (x_first + wm + x_last) + (im + last * x_last)
        s1b += fb_end * (x_first + wm + x_last) + (last * x_first + jm)
        if a0[m] + n - 1 == na - 1:  # the last position is A's top level
            ka += (fa + 1.0) * (x_first + wm) + im
            ta += x_last
        else:
            ka += (fa + 1.0) * (x_first + wm + x_last) + (im + last * x_last)
        if m - a0[m] == nb - 1:  # the first position is B's top level
            kb += (fb_end + 1.0) * (wm + x_last) + jm
            tb += x_first
        else:
            kb += (fb_end + 1.0) * (x_first + wm + x_last) + (last * x_first + jm)
    rates[0] = loss.emit[0] * s1a
    rates[1] = loss.absorb[0] * ka
    rates[2] = loss.absorb[0] * (na * ta)
    rates[3] = loss.emit[1] * s1b
    rates[4] = loss.absorb[1] * kb
    rates[5] = loss.absorb[1] * (nb * tb)


@njit(**LEAF)
def _pick_level(psi, sw0, tot, off, lo, hi, u):  # pragma: no cover - compiled
    """A position ``x`` with probability ``|psi_x|^2`` (normalised ``psi``, shell weights
    ``sw0 / tot``): the shell first, then the position in it."""
    target = u * tot
    cum = 0.0
    m = -1
    for k in range(lo, hi + 1):
        if sw0[k] > 0.0:
            m = k  # the last shell with weight, if rounding passes them all
            if target < cum + sw0[k]:
                break
            cum += sw0[k]
    rest = (target - cum) / tot
    x = -1
    c = 0.0
    for p in range(off[m], off[m + 1]):
        w = abs2(psi[p])
        if w > 0.0:
            x = p  # likewise within the shell
            c += w
            if rest < c:
                break
    return x


@njit(**LEAF)
def first_jump(  # pragma: no cover - compiled
    psi, sw0, tot, sw, sh, loss, lo, hi, t_left, rng, fa, fbr, rates
):
    r"""The first jump of a normalised state within ``t_left``, by mixture sampling.

    A level ``x`` with probability :math:`|\psi_x|^2` (shell weights ``sw0 / tot``), then
    :math:`T = -\ln(1 - u)/R_x`; with ``T < t_left`` the state is evolved to ``T`` (left
    unnormalised, its shell weights in ``sw``) and the jump drawn from its rates there
    (``rates``, :func:`_jump_rates`). Three draws from ``rng`` with a jump, two without.

    Parameters
    ----------
    psi : ndarray of float64 or complex128, shape (D,)
        Normalised state (shell order); evolved to ``T`` when a jump comes first.
    sw0, tot, sw : ndarray, float, ndarray
        The state's shell weights times ``tot``, their sum, and scratch (``S``,).
    sh : ShellArrays
        The shell order.
    loss : NetworkLossArrays
        The loss of both cavities.
    lo, hi : int
        Shells the state occupies.
    t_left : float
        Time left in the interval, units of ``t_r``.
    rng : ndarray of uint64
        The dynamics stream.
    fa, fbr : ndarray of float64
        Scratch for the no-jump factors.
    rates : ndarray of float64, shape (6,)
        Receives the jump rates at ``T``.

    Returns
    -------
    t, kind : float, int
        ``T`` (``inf`` for a level with :math:`R_x = 0`) and the jump: 0 emission of A,
        1 absorption of A within the kept levels, 2 absorption of A out of its top level,
        3, 4, 5 likewise for B; -1 when ``T >= t_left`` (no jump, ``psi`` unchanged).
    """
    x = _pick_level(psi, sw0, tot, sh.off, lo, hi, uniform(rng))
    v = 1.0 - uniform(rng)  # in (0, 1]
    r = loss.rates[x]
    t = -math.log(v) / r if r > 0.0 else math.inf
    if t >= t_left:
        return t, -1
    pair_no_jump_factors(fa, fbr, loss, t)
    _damp(psi, sh, fa, fbr, lo, hi, sw)
    _jump_rates(psi, sh, loss, lo, hi, rates)
    total = 0.0
    for i in range(6):
        total += rates[i]
    w = uniform(rng) * total
    kind = -1
    cum = 0.0
    for i in range(6):
        cum += rates[i]
        if rates[i] > 0.0:
            kind = i  # the last jump with a positive rate, if rounding passes them all
            if w < cum:
                break
    return t, kind


@njit(**LEAF)
def loss_interval(  # pragma: no cover - compiled
    psi, buf, sw0, tot, sw, sh, loss, t_len, lo, hi, rng, fa, fbr, rates, jumps
):
    r"""One loss interval of length ``t_len`` on a normalised state, by mixture sampling.

    The algorithm of the module docstring. Draws from ``rng`` (the trajectory's dynamics
    stream): per attempt a level and a time, per jump its kind.

    Parameters
    ----------
    psi, buf : ndarray of float64 or complex128, shape (D,)
        Normalised state (shell order; normalised again on return) and scratch.
    sw0 : ndarray of float64, shape (S,)
        The state's shell weights times ``tot`` (updated).
    tot : float
        Their sum.
    sw : ndarray of float64, shape (S,)
        Scratch for shell weights.
    sh : ShellArrays
        The shell order.
    loss : NetworkLossArrays
        The loss of both cavities.
    t_len : float
        Length of the interval, units of ``t_r``.
    lo, hi : int
        Shells the state occupies.
    rng : ndarray of uint64
        The dynamics stream.
    fa, fbr : ndarray of float64, shapes (N_A,), (N_B,)
        Scratch for the no-jump factors (:func:`pair_no_jump_factors`).
    rates : ndarray of float64, shape (6,)
        Scratch for the jump rates.
    jumps : ndarray of int64, shape (4,)
        Emissions of A, absorptions of A, emissions of B, absorptions of B: incremented
        (an absorption out of a top level counts).

    Returns
    -------
    alive, lo, hi, tot : bool, int, int, float
        False when an absorption left the kept levels (``psi`` zeroed); the support; the
        sum of the new ``sw0``.
    """
    off = sh.off
    n_shells = off.shape[0] - 1
    t_left = t_len
    while True:
        t_jump, kind = first_jump(psi, sw0, tot, sw, sh, loss, lo, hi, t_left, rng, fa, fbr,
                                  rates)  # fmt: skip
        if kind < 0:  # no jump in what is left of the interval
            if t_left == 1.0:
                s = _damp(psi, sh, loss.fa1, loss.fb1r, lo, hi, sw0)
            else:
                pair_no_jump_factors(fa, fbr, loss, t_left)
                s = _damp(psi, sh, fa, fbr, lo, hi, sw0)
            lo, hi, tot = _settle(psi, psi, True, sw0, sw0, off, lo, hi, lo, hi, s)
            return True, lo, hi, tot
        t_left -= t_jump
        if kind == 2 or kind == 5:  # an absorption out of a top level: the weight leaves
            jumps[1 if kind == 2 else 3] += 1
            for p in range(off[lo], off[hi + 1]):
                psi[p] = 0.0
            return False, lo, hi, tot
        emission = kind == 0 or kind == 3
        cav = 0 if kind < 3 else 1
        jumps[2 * cav + (0 if emission else 1)] += 1
        d = -1 if emission else 1
        if cav == 0:
            tgt = sh.em_a if emission else sh.ab_a
            level = sh.a
        else:
            tgt = sh.em_b if emission else sh.ab_b
            level = sh.b
        nlo = min(max(lo + d, 0), n_shells - 1)
        nhi = min(max(hi + d, 0), n_shells - 1)
        for p in range(off[nlo], off[nhi + 1]):
            buf[p] = 0.0
        shift = 0 if emission else 1  # a: sqrt(n) to n - 1; a^dag: sqrt(n + 1) to n + 1
        for p in range(off[lo], off[hi + 1]):
            q = tgt[p]
            if q >= 0:
                buf[q] = sh.sqrt_n[level[p] + shift] * psi[p]
        total = 0.0
        for m in range(nlo, nhi + 1):
            w = _sumsq(buf[off[m] : off[m + 1]])
            sw[m] = w
            total += w
        lo, hi, tot = _settle(psi, buf, False, sw, sw0, off, lo, hi, nlo, nhi, total)
