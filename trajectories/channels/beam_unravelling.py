r"""A real beam on a trajectory: random arrival intervals and per-qubit collision strengths.

The compiled leaves (numba) that the trajectory drivers call for the imperfect beams of
``docs/MODEL.md``, Sec. 9 (:mod:`trajectories.model.imperfections`). Every draw comes from
the trajectory's beam stream (:data:`trajectories._streams.PUMP`), never from its dynamics
stream, and the ideal beam draws nothing: the default model's trajectories are unchanged.

- Arrivals: :func:`draw_interval` draws the interval ``T`` before the next collision
  (units of the mean interval ``t_r``) from the distribution itself (exact inverse CDFs);
  :func:`no_jump_factors` then gives the no-jump factors :math:`e^{-\Gamma_n T}` and
  :math:`e^{-\Gamma_n T/2}` by cumulative powers of :math:`e^{-bT/2}` (no exponential per
  level), and the loss interval runs over ``T`` exactly
  (:func:`~trajectories.channels.loss_unravelling.loss_jumps`). Averaged over ``T`` the
  trajectory's loss is :math:`E_T[e^{\mathcal L T}]`, the exact channel of random arrivals.
- Theta spread: :func:`draw_strength` draws the relative strength ``x_i`` of a qubit
  (Gaussian truncated at ``x >= 0`` by rejection, uniform, or a discrete value by inverse
  CDF); :func:`strength_tables` computes :math:`\cos(\theta x_i\sqrt m)` and
  :math:`\sin(\theta x_i\sqrt m)` on the active levels only (O(N); fdlibm's reduction
  and minimax kernels, vectorised, to 1 ulp, instead of libm), and
  :func:`spread_operators` writes that qubit's banded Jaynes-Cummings Kraus operators from
  them, :math:`K_{j,e} = a_j\cos(\theta_i\sqrt{m+1}) + b_j\sin(\theta_i\sqrt{m+1})\,\cdot`
  (shift -1) and :math:`K_{j,g} = a_j\cos(\theta_i\sqrt m) + b_j\sin(\theta_i\sqrt m)\,\cdot`
  (shift +1), with the qubit's branch coefficients
  (:func:`~trajectories.channels.jaynes_cummings.jaynes_cummings_channel`:
  ``a = sqrt(lambda_j) alpha_j``, ``b = -i sqrt(lambda_j) beta_j`` for ``e``, and ``alpha``,
  ``beta`` exchanged for ``g``). Averaged over ``x_i`` the collision is
  :math:`E_\theta[\Phi_\theta]`, exactly, with no quadrature.

Codes: arrivals 0 regular, 1 Poisson, 2 Bernoulli (:data:`ARRIVAL_CODES`); spread 0 none,
1 Gaussian, 2 uniform, 3 discrete (:data:`SPREAD_CODES`).
"""

from __future__ import annotations

import math

from .._numba import LEAF, njit
from .._streams import uniform

__all__ = [
    "ARRIVAL_CODES",
    "POLY_MAX_PHASE",
    "SPREAD_CODES",
    "draw_interval",
    "draw_strength",
    "no_jump_factors",
    "strength_tables",
    "spread_operators",
]

#: The integer code of each kind of arrivals, as the compiled drivers read it.
ARRIVAL_CODES = {"regular": 0, "poisson": 1, "bernoulli": 2}
#: The integer code of each kind of theta spread.
SPREAD_CODES = {"none": 0, "gaussian": 1, "uniform": 2, "discrete": 3}
_TWO_PI = 2.0 * math.pi


@njit(**LEAF)
def draw_interval(rng, kind, p):  # pragma: no cover - compiled
    r"""The interval ``T`` before the next collision, in units of ``t_r`` (mean 1).

    Poisson (``kind = 1``): :math:`T = -\ln(1 - u)`, exponential; ``1 - u`` is in
    ``(0, 1]`` (``u`` in ``[0, 1)`` on the grid of ``2^-53``), so ``T`` is finite
    (at most 36.7). Bernoulli (``kind = 2``): :math:`j = 1 + \lfloor \ln(1-u) /
    \ln(1-p)\rfloor`, so that :math:`P(j > m) = (1-p)^m`, and ``T = j p``. One uniform
    draw from ``rng`` (the beam stream). Regular (``kind = 0``): ``T = 1``, no draw.

    Parameters
    ----------
    rng : ndarray of uint64
        The trajectory's beam stream (:mod:`trajectories._streams`).
    kind : int
        0 regular, 1 Poisson, 2 Bernoulli (:data:`ARRIVAL_CODES`).
    p : float
        The Bernoulli slot probability, in ``(0, 1)``.

    Returns
    -------
    float
        ``T`` in units of ``t_r``.
    """
    if kind == 0:
        return 1.0
    v = 1.0 - uniform(rng)  # in (0, 1]
    if kind == 1:
        return -math.log(v)
    j = 1.0 + math.floor(math.log(v) / math.log1p(-p))
    return j * p


@njit(**LEAF)
def draw_strength(rng, kind, width, cum):  # pragma: no cover - compiled
    r"""One qubit's relative strength ``x`` (``theta_i = theta x``) and its discrete index.

    Gaussian (``kind = 1``): :math:`x = 1 + \sigma z`, ``z`` standard normal by Box-Muller
    (two uniforms per attempt, one normal used), attempts with ``x < 0`` rejected (the
    truncation of :class:`~trajectories.model.imperfections.ThetaSpread`). Uniform
    (``kind = 2``): ``x = 1 - w + 2 w u``. Discrete (``kind = 3``): the first value whose
    cumulative weight ``cum`` exceeds ``u cum[-1]`` (returned as its index; ``x`` is then
    read from the table of values by the caller, returned here as -1.0). Returns
    ``(x, index)``, ``index = -1`` for the continuous kinds.

    Parameters
    ----------
    rng : ndarray of uint64
        The trajectory's beam stream.
    kind : int
        1 Gaussian, 2 uniform, 3 discrete (:data:`SPREAD_CODES`).
    width : float
        Gaussian ``sigma`` or uniform half-width ``w``.
    cum : ndarray of float64, shape (V,)
        Cumulative weights of a discrete spread.

    Returns
    -------
    x, index : float, int
        The strength (-1.0 for a discrete spread) and the discrete value's index (-1 for
        a continuous one).
    """
    if kind == 1:
        while True:
            r = math.sqrt(-2.0 * math.log(1.0 - uniform(rng)))
            x = 1.0 + width * (r * math.cos(_TWO_PI * uniform(rng)))
            if x >= 0.0:
                return x, -1
    if kind == 2:
        return 1.0 - width + 2.0 * width * uniform(rng), -1
    target = uniform(rng) * cum[cum.shape[0] - 1]
    for v in range(cum.shape[0] - 1):
        if target < cum[v]:
            return -1.0, v
    return -1.0, cum.shape[0] - 1


@njit(**LEAF)
def no_jump_factors(decay, damp, a, b, t, n):  # pragma: no cover - compiled
    r"""No-jump factors of an interval of length ``t`` on the first ``n`` levels, in place.

    ``damp[m] = exp(-(a + b m) t / 2)`` and ``decay[m] = damp[m]^2`` (``a + b m =
    Gamma_m``), by cumulative powers of ``exp(-b t / 2)``: two exponentials in all.

    Parameters
    ----------
    decay, damp : ndarray of float64, shape (N,)
        Receive the factors on the first ``n`` levels.
    a, b : float
        ``gamma nbar`` and ``gamma (2 nbar + 1)``, units of ``1/t_r``.
    t : float
        The interval, units of ``t_r``.
    n : int
        Levels to fill.
    """
    y = math.exp(-0.5 * b * t)
    f = math.exp(-0.5 * a * t)
    for m in range(n):
        damp[m] = f
        decay[m] = f * f
        f *= y


# sin and cos of theta_i sqrt(m) without libm (one call each per level cost 2.5x the ideal
# model's collision): fdlibm's argument reduction by pi/2 and its kernels __kernel_sin,
# __kernel_cos (minimax polynomials on [-pi/4, pi/4], error < 1 ulp), branch-free.
_INV_PIO2 = 6.36619772367581382433e-01  # 2/pi
_PIO2_1 = 1.57079632673412561417e00  # the first 33 bits of pi/2 (k * _PIO2_1 is exact)
_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1
_ROUND = 6755399441055744.0  # 1.5 * 2**52: (y + _ROUND) - _ROUND is y rounded to an integer
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
#: Largest ``|theta_i sqrt m|`` of the polynomial path (``k * _PIO2_1`` stays exact, the
#: reduction error far below an ulp); beyond it :func:`strength_tables` calls libm.
POLY_MAX_PHASE = 1.0e5


@njit(**LEAF)
def strength_tables(theta, sqrt_n, cs, sn, n_top):  # pragma: no cover - compiled
    r"""``cs[m] = cos(theta sqrt m)``, ``sn[m] = sin(theta sqrt m)`` for ``m = 0 .. n_top``.

    Without libm (two calls per level were most of a theta spread's cost): the phase
    :math:`\phi = \theta\sqrt m` is reduced as :math:`\phi = k\pi/2 + r`,
    :math:`|r| \le \pi/4`, with :math:`\pi/2` to 86 bits (fdlibm's ``__ieee754_rem_pio2``,
    medium case; ``r`` keeps its rounding tail), then fdlibm's minimax kernels
    ``__kernel_sin`` and ``__kernel_cos`` give :math:`\sin r`, :math:`\cos r` (error below
    1 ulp), and the quadrant ``k mod 4`` rotates them by exact multiplications by 0 and
    +-1, with no branch. Measured against numpy: at most 1.2e-16 absolute (1 ulp), also for
    phases within an ulp of multiples of :math:`\pi/2` (trapping, :math:`\sin = 0`). Phases
    beyond :data:`POLY_MAX_PHASE` use ``math.cos`` and ``math.sin``.

    Parameters
    ----------
    theta : float
        The qubit's collision strength ``theta x_i``.
    sqrt_n : ndarray of float64, shape (N + 1,)
        ``sqrt(m)``, increasing from 0.
    cs, sn : ndarray of float64, shape (N + 1,)
        Receive the tables.
    n_top : int
        Last level filled.
    """
    if abs(theta) * sqrt_n[n_top] > POLY_MAX_PHASE:
        for m in range(n_top + 1):
            phase = theta * sqrt_n[m]
            cs[m] = math.cos(phase)
            sn[m] = math.sin(phase)
        return
    for m in range(n_top + 1):
        x = theta * sqrt_n[m]
        k = (x * _INV_PIO2 + _ROUND) - _ROUND  # nearest integer to x / (pi/2)
        r = x - k * _PIO2_1  # exact
        w = k * _PIO2_1T
        y0 = r - w  # x - k pi/2 = y0 + y1, |y0| <= pi/4
        y1 = (r - y0) - w
        z = y0 * y0
        v = z * y0
        ps = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
        s = y0 - ((z * (0.5 * y1 - v * ps) - y1) - v * _S1)  # sin(y0 + y1)
        zz = z * z
        pc = z * (_C1 + z * (_C2 + z * _C3)) + zz * zz * (_C4 + z * (_C5 + z * _C6))
        hz = 0.5 * z
        h = 1.0 - hz
        c = h + (((1.0 - h) - hz) + (z * pc - y0 * y1))  # cos(y0 + y1)
        q = k - 4.0 * ((0.25 * k + _ROUND) - _ROUND)  # k mod 4, in -2 .. 2
        cq = 1.0 - abs(q)  # cos(q pi/2): 1, 0, -1, exactly
        sq = q * (2.0 - abs(q))  # sin(q pi/2)
        sn[m] = cq * s + sq * c  # one of the two terms is 0: exact
        cs[m] = cq * c - sq * s


@njit(**LEAF)
def spread_operators(kd, ko, a, b, ks, cs, sn, n):  # pragma: no cover - compiled
    r"""Write the banded Jaynes-Cummings operators of one theta on the first ``n`` levels.

    Operator ``j`` with shift ``ks[j] = -1`` (the qubit leaves in ``e``):
    ``kd[j, m] = a[j] cs[m + 1]``, ``ko[j, m] = b[j] sn[m + 1]``; with ``ks[j] = +1`` (leaves
    in ``g``): ``kd[j, m] = a[j] cs[m]``, ``ko[j, m] = b[j] sn[m]``. ``cs``, ``sn`` from
    :func:`strength_tables` up to level ``n``. Entry ``ko[j, n - 1]`` of a shift -1 operator
    is never read (its source level ``n`` is empty or not kept).

    Parameters
    ----------
    kd, ko : ndarray, shape (K, N)
        Receive the main and shifted diagonals (complex128, or float64 in the real gauge).
    a, b : ndarray, shape (K,)
        The coefficients of ``cos`` and ``sin`` of each operator (same dtype as ``kd``).
    ks : ndarray of int64, shape (K,)
        The shifts, -1 or +1.
    cs, sn : ndarray of float64, shape (N + 1,)
        ``cos`` and ``sin`` of ``theta_i sqrt m``.
    n : int
        Levels to fill.
    """
    for j in range(kd.shape[0]):
        aj = a[j]
        bj = b[j]
        if ks[j] == -1:
            for m in range(n):
                kd[j, m] = aj * cs[m + 1]
                ko[j, m] = bj * sn[m + 1]
        else:
            for m in range(n):
                kd[j, m] = aj * cs[m]
                ko[j, m] = bj * sn[m]
