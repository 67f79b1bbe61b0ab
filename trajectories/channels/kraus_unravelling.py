r"""One sampled outcome of a collision on a state vector: the compiled forms (numba).

For the trajectory kernels of :mod:`trajectories.solvers.montecarlo.kernels`: the outcome
probabilities :math:`\|K_j\psi\|^2` accumulated operator by operator until the draw is
covered, then :math:`\psi \leftarrow K_j\psi/\|K_j\psi\|` (``docs/MODEL.md``, Sec. 3);
the leak outcome ends the trajectory. Two forms of the operators of a
:class:`~trajectories.channels.kraus.KrausChannel`: banded (diagonals ``{0, s}``: ``kd``,
``ko``, ``ks`` from :meth:`~trajectories.channels.kraus.KrausChannel.banded_arrays`, with the
first pass of the following loss interval fused in) and, for any other collision (Rabi),
dense columns with the rows kept per amplitude class of the source level
(:func:`collide_columns`). The same passes sum the first moment of ``n`` for the energy
books.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import LEAF, abs2, njit

__all__ = [
    "LEAK_FLOOR",
    "KEEP_TOL",
    "LEAK_KEEP_TOL",
    "LEAK_SKIP",
    "N_CLASSES",
    "amplitude_classes",
    "collide_banded",
    "collide_banded_loss",
    "collide_columns",
    "column_ranges",
]


# ============================================================ compiled forms (trajectories)
# One outcome of a collision on a state vector, for the trajectory kernels of
# trajectories.solvers.montecarlo.kernels: the banded form (operators with the diagonals
# {0, s}: kd, ko, ks from KrausChannel.banded_arrays) and the columns form below.


@njit(**LEAF)
def _row(psi, kd, ko, ks, j, m, n):
    """Row ``m`` of ``K_j psi`` for a banded operator (``psi[m] = 0`` from level ``n`` up)."""
    if ks[j] == 1:  # out[m] = d[m] psi[m] + o[m] psi[m-1]
        if m == 0:
            return kd[j, 0] * psi[0]
        return kd[j, m] * psi[m] + ko[j, m] * psi[m - 1]
    if m == n - 1:  # out[m] = d[m] psi[m] + o[m] psi[m+1]
        return kd[j, m] * psi[m]
    return kd[j, m] * psi[m] + ko[j, m] * psi[m + 1]


@njit(**LEAF)
def apply_banded(psi, buf, kd, ko, ks, j, n):
    """``buf = K_j psi`` on the first ``n`` levels (the rest of ``psi`` is zero) for a banded
    Kraus operator; returns ``||K_j psi||^2`` and ``sum_m m |(K_j psi)_m|^2``.

    Two interleaved sets of sums (even and odd levels) halve the chains of dependent
    additions, the bound of this loop; every machine adds in the same order.
    """
    lo = 1 if ks[j] == 1 else 0  # the interior rows: both diagonals inside [0, n)
    hi = n if ks[j] == 1 else n - 1
    s = ks[j] == 1
    kdj = kd[j]
    koj = ko[j]
    p0 = p1 = e0 = e1 = 0.0
    fm = float(lo)
    m = lo
    while m + 1 < hi:
        if s:
            v = kdj[m] * psi[m] + koj[m] * psi[m - 1]
            x = kdj[m + 1] * psi[m + 1] + koj[m + 1] * psi[m]
        else:
            v = kdj[m] * psi[m] + koj[m] * psi[m + 1]
            x = kdj[m + 1] * psi[m + 1] + koj[m + 1] * psi[m + 2]
        buf[m] = v
        buf[m + 1] = x
        w = abs2(v)
        z = abs2(x)
        p0 += w
        p1 += z
        e0 += fm * w
        e1 += (fm + 1.0) * z
        fm += 2.0
        m += 2
    for r in range(m, hi):  # the last interior row
        v = _row(psi, kd, ko, ks, j, r, n)
        buf[r] = v
        w = abs2(v)
        p0 += w
        e0 += r * w
    edge = 0 if s else n - 1  # the row with one diagonal only
    v = kdj[edge] * psi[edge]
    buf[edge] = v
    w = abs2(v)
    p1 += w
    e1 += edge * w
    return p0 + p1, e0 + e1


@njit(**LEAF)
def apply_banded_loss(psi, buf, kd, ko, ks, j, decay, n):
    """``buf = K_j psi`` and four sums over ``w_m = |(K_j psi)_m|^2`` in the same pass.

    Returns ``(sum w, sum w decay, sum m w, sum m w decay)``: the outcome's probability,
    (unnormalised) the no-jump probability of the following loss interval, and the first
    moments of ``n`` after the collision and after an interval without a jump (the energy
    books). Only the first ``n`` levels are touched (the rest of ``psi`` is 0). Two
    interleaved sets of sums, as in :func:`apply_banded` (twice as fast at N = 17 active
    levels, measured).
    """
    s = ks[j] == 1
    lo = 1 if s else 0  # the interior rows: both diagonals inside [0, n)
    hi = n if s else n - 1
    kdj = kd[j]
    koj = ko[j]
    p0 = p1 = d0 = d1 = e0 = e1 = f0 = f1 = 0.0
    fm = float(lo)
    m = lo
    while m + 1 < hi:
        if s:
            v = kdj[m] * psi[m] + koj[m] * psi[m - 1]
            x = kdj[m + 1] * psi[m + 1] + koj[m + 1] * psi[m]
        else:
            v = kdj[m] * psi[m] + koj[m] * psi[m + 1]
            x = kdj[m + 1] * psi[m + 1] + koj[m + 1] * psi[m + 2]
        buf[m] = v
        buf[m + 1] = x
        w = abs2(v)
        z = abs2(x)
        wd = w * decay[m]
        zd = z * decay[m + 1]
        p0 += w
        p1 += z
        d0 += wd
        d1 += zd
        e0 += fm * w
        e1 += (fm + 1.0) * z
        f0 += fm * wd
        f1 += (fm + 1.0) * zd
        fm += 2.0
        m += 2
    for r in range(m, hi):  # the last interior row
        v = _row(psi, kd, ko, ks, j, r, n)
        buf[r] = v
        w = abs2(v)
        wd = w * decay[r]
        p0 += w
        d0 += wd
        e0 += r * w
        f0 += r * wd
    edge = 0 if s else n - 1  # the row with one diagonal only
    v = kdj[edge] * psi[edge]
    buf[edge] = v
    w = abs2(v)
    wd = w * decay[edge]
    p1 += w
    d1 += wd
    e1 += edge * w
    f1 += edge * wd
    return p0 + p1, d0 + d1, e0 + e1, f0 + f1


#: Levels whose probability of leaking through the cutoff in one loss interval is below this
#: are left out of the expected-leak sum: together they add less than ``N * 1e-30`` per
#: collision to a diagnostic whose tolerance is 1e-8.
LEAK_FLOOR = 1e-30


@njit(**LEAF)
def interval_leak(buf, leak, n):
    """``sum_m |buf_m|^2 leak_m`` over the top levels, from ``n - 1`` down while
    ``leak_m >= LEAK_FLOOR`` (the leak vector grows towards the cutoff)."""
    lk = 0.0
    m = n - 1
    while m >= 0 and leak[m] >= LEAK_FLOOR:
        lk += abs2(buf[m]) * leak[m]
        m -= 1
    return lk


@njit(**LEAF)
def banded_leak(psi, leak_top, n):
    """Probability that the collision pushes level ``n - 1`` (the true top when ``n = N``,
    else an empty level) out of the cutoff: ``leak_top |psi_{n-1}|^2``, ``leak_top`` the
    leak form on level ``N - 1``."""
    return leak_top * abs2(psi[n - 1])


@njit(**LEAF)
def collide_banded(psi, buf, kd, ko, ks, leak_top, u, n):
    r"""One collision on a trajectory: sample a Kraus operator and apply it in place (numba).

    Outcome ``j`` has probability :math:`\|K_j\psi\|^2`, the leak
    :math:`\mathrm{leak\_top}\,|\psi_{N-1}|^2`; then :math:`\psi \leftarrow K_j\psi/\|K_j\psi\|`
    (``docs/MODEL.md``, Sec. 3); the last operator takes ``1 - p_leak - (the others)``.

    Parameters
    ----------
    psi, buf : ndarray of complex128 or float64, shape (N,)
        Normalised state (overwritten) and scratch.
    kd, ko, ks, leak_top
        The banded operators (:meth:`~trajectories.channels.kraus.KrausChannel.banded_arrays`).
    u, n : float, int
        Uniform draw on ``[0, 1)``; levels touched (``psi[m] = 0`` for ``m >= n - 1``).

    Returns
    -------
    index, p_leak, n_after : int, float, float
        The operator applied (-1: leaked, ``psi`` becomes 0), the leak probability and
        :math:`\langle n\rangle` of the state after the collision (0 after a leak).
    """
    n_ops = kd.shape[0]
    p_leak = banded_leak(psi, leak_top, n)
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and u >= 1.0 - p_leak:
            break
        p, e1 = apply_banded(psi, buf, kd, ko, ks, j, n)
        cum += p
        if u < cum or j == n_ops - 1:
            scale = 1.0 / math.sqrt(p)
            for m in range(n):
                psi[m] = buf[m] * scale
            return j, p_leak, e1 / p
    for m in range(n):
        psi[m] = 0.0
    return -1, p_leak, 0.0


@njit(**LEAF)
def collide_banded_loss(psi, buf, kd, ko, ks, leak_top, u, full_decay, loss_leak, n, norm2):
    r"""The collision of :func:`collide_banded` fused with the first pass of the loss interval.

    Samples ``j`` as :func:`collide_banded`, leaves ``buf = K_j psi`` unnormalised, and sums
    what :func:`~trajectories.channels.loss_unravelling.loss_interval` needs (numba).

    Parameters
    ----------
    psi, buf, kd, ko, ks, leak_top, u, n
        As for :func:`collide_banded` (``buf`` receives ``K_j psi``).
    full_decay, loss_leak : ndarray of float64, shape (N,)
        :math:`e^{-\Gamma_n t_r}` and the leak vector of the loss interval.
    norm2 : float
        :math:`\|\psi\|^2` (``psi`` need not be normalised: the probabilities are
        relative to it; ``buf`` and the sums carry the same scale).

    Returns
    -------
    j, p_leak, p, s, l, e1, e2 : int and floats
        The operator (-1: leaked), the collision's leak probability, ``||K_j psi||^2`` and its
        sums weighted by ``full_decay`` (``s / p``: no jump) and ``loss_leak`` (``l / p``: the
        interval's leak, over the levels where it is at least :data:`LEAK_FLOOR`),
        and the first moments of n (``e1 / p``: after the collision; ``e2 / s``: after an
        interval without a jump).
    """
    n_ops = kd.shape[0]
    p_leak = banded_leak(psi, leak_top, n)
    target = u * norm2
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and target >= norm2 - p_leak:
            break
        p, s, e1, e2 = apply_banded_loss(psi, buf, kd, ko, ks, j, full_decay, n)
        cum += p
        if target < cum or j == n_ops - 1:
            # the interval's leak, for the chosen operator only (top levels)
            return j, p_leak / norm2, p, s, interval_leak(buf, loss_leak, n), e1, e2
    return -1, p_leak / norm2, 0.0, 0.0, 0.0, 0.0, 0.0


# ------------------------------------------ sparse form by columns (the sparse driver)
# The operators of a set are stored as dense columns, ``cols[j, n, m] = (K_j)_{mn}`` (the
# leak form M after the K operators), with, per column and per *amplitude class* of the
# source level, the rows to keep. Class c of a level means ``|psi_n| < 2^-c`` (the state
# normalised); the rows kept for it are the envelope of those with ``|K_mn| >= tol 2^c``,
# so every term left out has ``|K_mn psi_n| < tol``.

#: Terms ``K_mn psi_n`` of a collision (state normalised) below this modulus are left out:
#: far below the 1e-15 below which the channel drops the entries themselves
#: (:data:`~trajectories.channels.kraus.DROP_TOL`, terms up to ``1e-15 |psi_n|``); a row
#: of ``K psi`` changes by less than ``N * 1e-18``.
KEEP_TOL = 1e-18
#: Terms ``M_ab psi_b`` of the leak form (state normalised) below this are left out: the
#: leak probability changes by less than ``N^2 * 1e-30`` per collision (the form's own
#: entries below 1e-30 are dropped when the channel is built).
LEAK_KEEP_TOL = 1e-30
#: A leak probability whose bound (:func:`amplitude_classes`) is at most this is taken as 0
#: without evaluating the form: it adds less than 1e-30 per collision to the leak books.
LEAK_SKIP = 1e-30
#: Amplitude classes: class c holds ``2^-(c+1) <= |psi_n| < 2^-c`` (the last one everything
#: smaller); ``LEAK_KEEP_TOL * 2^(N_CLASSES - 1) > 1``, so the last class keeps no term.
N_CLASSES = 101


def column_ranges(a: np.ndarray, tol: float) -> np.ndarray:
    """Rows to keep of each column of ``a`` for each amplitude class.

    Parameters
    ----------
    a : ndarray, shape (N, N)
        A dense operator (rows: output level, columns: source level).
    tol : float
        Terms ``|a_mn psi_n|`` below ``tol`` may be left out (``psi`` normalised).

    Returns
    -------
    ndarray of int16 (int32 above 32767 levels), shape (N, N_CLASSES, 2)
        ``[lo, hi)``: the envelope of the rows with ``|a_mn| >= tol 2^c`` in column ``n``
        for class ``c`` (``lo = hi = 0`` when there is none).
    """
    n = a.shape[0]
    thresholds = tol * 2.0 ** np.arange(N_CLASSES)
    keep = np.abs(a).T[:, None, :] >= thresholds[None, :, None]  # (column, class, row)
    found = keep.any(axis=2)
    out = np.zeros((n, N_CLASSES, 2), dtype=np.int16 if n < 32767 else np.int32)
    out[:, :, 0] = np.where(found, np.argmax(keep, axis=2), 0)
    out[:, :, 1] = np.where(found, n - np.argmax(keep[:, :, ::-1], axis=2), 0)
    return out


@njit(**LEAF)
def amplitude_classes(psi, cls, bits, leak_diag, inv_norm2, n):
    r"""``cls[m]``: the amplitude class of level ``m < n`` of the state ``psi`` of squared norm
    ``1 / inv_norm2``: ``c`` with ``|psi_m| < 2^-c`` (normalised; from the binary exponent
    of ``|psi_m|^2``, capped at ``N_CLASSES - 1``), -1 for ``psi_m = 0``.

    Parameters
    ----------
    psi : ndarray of complex128, shape (N,)
        The state, possibly unnormalised.
    cls : ndarray of int64, shape (N,)
        Receives the classes of the first ``n`` levels.
    bits : ndarray of int64, shape (N,)
        An int64 view of a float64 scratch: the exponent is read from the stored weight.
    leak_diag : ndarray of float64, shape (N,)
        The diagonal of the leak form.
    inv_norm2 : float
        ``1 / ||psi||^2``.
    n : int
        Number of active levels.

    Returns
    -------
    float
        :math:`n \sum_m M_{mm} |\psi_m|^2` (normalised state), a bound on the leak
        probability :math:`\langle\psi|M|\psi\rangle` (:math:`|M_{ab}|^2 \le M_{aa}
        M_{bb}` and Cauchy-Schwarz).
    """
    w_store = bits.view(np.float64)
    bound = 0.0
    for m in range(n):
        w = abs2(psi[m]) * inv_norm2
        w_store[m] = w
        bound += leak_diag[m] * w
    for m in range(n):
        b = bits[m]
        if b == 0:
            cls[m] = -1
        else:  # w = f 2^e, f in [0.5, 1): e = (biased exponent) - 1022; c = floor(-e / 2)
            c = (1022 - ((b >> 52) & 0x7FF)) >> 1
            cls[m] = min(max(c, 0), N_CLASSES - 1)
    return n * bound


@njit(**LEAF)
def _apply_columns(psi, buf, cols, rows, cls, n):
    """``buf = A psi`` over the kept terms (``A`` by columns, ``rows`` its ranges per class);
    ``psi[m] = 0`` from ``n`` up. Returns the extent ``hi``: ``buf[m] = 0`` from ``hi`` up.
    Each row sums its terms in the order of the columns."""
    hi = 0
    for m in range(buf.shape[0]):
        buf[m] = 0.0
    for c in range(n):
        k = cls[c]
        if k < 0:
            continue
        lo = rows[c, k, 0]
        top = rows[c, k, 1]
        if top > hi:
            hi = top
        x = psi[c]
        col = cols[c]
        for m in range(lo, top):
            buf[m] += col[m] * x
    return hi


@njit(**LEAF)
def _columns_leak(psi, buf, cols, rows, cls, n):
    """``<psi|M|psi>`` over the kept terms of the leak form (``buf`` scratch); at least 0."""
    hi = _apply_columns(psi, buf, cols, rows, cls, n)
    acc0 = 0.0
    acc1 = 0.0
    m = 0
    while m + 1 < hi:
        acc0 += psi[m].real * buf[m].real + psi[m].imag * buf[m].imag
        acc1 += psi[m + 1].real * buf[m + 1].real + psi[m + 1].imag * buf[m + 1].imag
        m += 2
    if m < hi:
        acc0 += psi[m].real * buf[m].real + psi[m].imag * buf[m].imag
    return max(acc0 + acc1, 0.0)


@njit(**LEAF)
def _output_sums(buf, decay, hi):
    """``(sum w, sum w decay, sum m w, sum m w decay)``, ``w_m = |buf_m|^2``, ``m < hi``
    (two interleaved sets of sums, as in :func:`apply_banded_loss`)."""
    p0 = p1 = d0 = d1 = e0 = e1 = f0 = f1 = 0.0
    fm = 0.0
    m = 0
    while m + 1 < hi:
        w = abs2(buf[m])
        z = abs2(buf[m + 1])
        wd = w * decay[m]
        zd = z * decay[m + 1]
        p0 += w
        p1 += z
        d0 += wd
        d1 += zd
        e0 += fm * w
        e1 += (fm + 1.0) * z
        f0 += fm * wd
        f1 += (fm + 1.0) * zd
        fm += 2.0
        m += 2
    if m < hi:
        w = abs2(buf[m])
        wd = w * decay[m]
        p0 += w
        d0 += wd
        e0 += fm * w
        f0 += fm * wd
    return p0 + p1, d0 + d1, e0 + e1, f0 + f1


@njit(**LEAF)
def collide_columns(psi, buf, cols, rows, cls, leak_bound, u, decay, loss_leak, na, norm2):
    r"""One collision with operators stored by columns (the sparse driver), fused with the
    first pass of the following loss interval, as :func:`collide_banded_loss` (numba).

    Outcome ``j`` has probability :math:`\|K_j\psi\|^2/\|\psi\|^2`, the leak
    :math:`\langle\psi|M_{leak}|\psi\rangle/\|\psi\|^2`; the last operator takes the
    rest. Terms below :data:`KEEP_TOL` (:data:`LEAK_KEEP_TOL` for the leak form) of the
    normalised state are left out, by the amplitude classes ``cls`` of ``psi``
    (:func:`amplitude_classes`).

    Parameters
    ----------
    psi, buf : ndarray of complex128, shape (N,)
        State (squared norm ``norm2``, zero from level ``na`` up) and scratch; ``buf``
        receives ``K_j psi`` (unnormalised, zero from the returned extent up).
    cols : ndarray of complex128, shape (K + 1, N, N)
        ``cols[j, n, m] = (K_j)_{mn}``; ``j = K``: the leak form.
    rows : ndarray of int16, shape (K + 1, N, N_CLASSES, 2)
        The rows kept per column and class (:func:`column_ranges`).
    cls : ndarray of int64, shape (N,)
        Amplitude classes of ``psi``.
    leak_bound : float
        A bound on the leak probability (:func:`amplitude_classes`): at most
        :data:`LEAK_SKIP`, the leak form is not evaluated (the leak counts 0).
    u : float
        Uniform draw on ``[0, 1)``.
    decay, loss_leak : ndarray of float64, shape (N,)
        :math:`e^{-\Gamma_n t_r}` and the leak vector of the loss interval.
    na, norm2 : int, float
        Active levels and :math:`\|\psi\|^2`.

    Returns
    -------
    j, p_leak, p, s, l, e1, e2, hi : int, floats and int
        As :func:`collide_banded_loss` (``p_leak`` relative to ``norm2``, the other sums
        carry the scale of ``psi``), and the extent of ``K_j psi``.
    """
    n_ops = cols.shape[0] - 1
    p_leak = 0.0
    if leak_bound > LEAK_SKIP:
        p_leak = _columns_leak(psi, buf, cols[n_ops], rows[n_ops], cls, na)
    target = u * norm2
    cum = 0.0
    for j in range(n_ops):
        if j == n_ops - 1 and target >= norm2 - p_leak:
            break
        hi = _apply_columns(psi, buf, cols[j], rows[j], cls, na)
        p, s, e1, e2 = _output_sums(buf, decay, hi)
        cum += p
        if (target < cum or j == n_ops - 1) and p > 0.0:
            return j, p_leak / norm2, p, s, interval_leak(buf, loss_leak, hi), e1, e2, hi
    return -1, p_leak / norm2, 0.0, 0.0, 0.0, 0.0, 0.0, 0
