r"""The Rabi collision unitary: counter-rotating terms and frequency modulation.

Derivation
----------
Lab frame, resonant qubit and cavity whose common frequency is modulated (the
paper's Eqs. 2 and 6; :math:`\hbar = 1`, time in :math:`1/\omega`):

.. math:: H(t) = \omega(t)\,M + g(a + a^\dagger)(\sigma_+ + \sigma_-),\qquad
          M = a^\dagger a + \sigma_z/2,\quad \omega(t) = \omega + \eta\nu\cos\nu t .

:math:`H_0(t) = \omega(t)M` commutes with itself at all times, so the interaction
picture is :math:`U_0(t) = e^{-i\Theta(t)M}` with
:math:`\Theta(t) = \int_0^t\omega = \omega t + \eta\sin\nu t`. Then
:math:`a \to a e^{-i\Theta}`, :math:`\sigma_+ \to \sigma_+ e^{i\Theta}`: the rotating
terms :math:`a\sigma_+, a^\dagger\sigma_-` are unchanged and the counter-rotating
ones pick up :math:`e^{\pm 2i\Theta}`,

.. math:: H_I(t) = g\left(a\sigma_+ + a^\dagger\sigma_- + e^{i\phi(t)}a^\dagger\sigma_+
          + e^{-i\phi(t)}a\sigma_-\right),\qquad \phi(t) = 2\omega t + 2\eta\sin\nu t,

the paper's Eq. 3 for :math:`\eta = 0`. By Jacobi-Anger,
:math:`e^{2i\eta\sin\nu t} = \sum_k J_k(2\eta)e^{ik\nu t}`: the counter-rotating
coupling splits into components :math:`gJ_k(2\eta)e^{i(2\omega + k\nu)t}`.

Suppression regimes (Huang, Liao and Kuang, PRA 101, 043835 (2020)):

- *fast modulation* (implemented by :meth:`~trajectories.model.interactions.Modulation.suppressing`,
  used in the study): :math:`\nu > 2\omega`, so no component is static; the slowest
  one, :math:`k = 0` at :math:`2\omega`, is removed by :math:`J_0(2\eta) = 0`
  (:math:`\eta = 1.2024`), and the others rotate at :math:`|2\omega + k\nu| \ge
  \nu - 2\omega`. They leave (i) first-order "kicks" at the start and end of the
  collision, :math:`\|\delta U\| \le \delta_1 = 2g\sqrt{n+1}\sum_{k\ne0}
  |J_k(2\eta)|/|2\omega + k\nu|`, and (ii) a second-order (Bloch-Siegert-like)
  shift accumulated over :math:`\tau`, :math:`\delta_2 = \tau g^2 (2n+2)
  |\sum_k J_k(2\eta)^2/(2\omega + k\nu)|`, of order :math:`g\omega/\nu^2` because the
  :math:`\pm k` terms nearly cancel. :func:`modulation_residual` evaluates both;
  the modulated collision equals the Jaynes-Cummings one to :math:`O(g\sqrt n/\nu)`.
- *slow modulation*: :math:`\nu = 2\omega/m`; the component :math:`k = -m` is static
  and vanishes for :math:`J_m(2\eta) = 0`; the rest rotate at multiples of
  :math:`\nu`, which must exceed :math:`g\sqrt n`. Any :math:`(\eta, \nu)` can be
  simulated; this regime is not used in the study.

Without modulation the same estimates give :math:`\delta_1 = g\sqrt{n+1}
|\sin\omega\tau|/\omega` and :math:`\delta_2 = \theta(g/\omega)(n+1)`: the deviation from
Jaynes-Cummings is *first order* in :math:`g/\omega` (the Bloch-Siegert phase
:math:`g^2\tau/2\omega = \theta g/2\omega` grows like the first power because the
collision lasts :math:`\theta/g`), with an envelope that oscillates with
:math:`\omega\tau = \theta/(g/\omega)`.

Phases and frames
-----------------
Collision ``k`` (1, 2, ...) starts at :math:`t_0 = (k-1)t_r`. With :math:`t = t_0 + s`,
:math:`H_I(t_0 + s) = R_\alpha H^{(\beta)}(s) R_\alpha^\dagger` where
:math:`R_\alpha = e^{i\alpha X/2}`, :math:`X = a^\dagger a + |e\rangle\langle e|` (the
excitation number: :math:`a^\dagger\sigma_+` raises it by 2), :math:`\alpha =
2\omega t_0`, :math:`\beta = \nu t_0` and :math:`H^{(\beta)}` has
:math:`\phi^{(\beta)}(s) = 2\omega s + 2\eta\sin(\beta + \nu s)`. So
:math:`U_k = R_{\alpha_k} W(\beta_k) R_{\alpha_k}^\dagger`: only :math:`\beta` needs a new
integration; :math:`\alpha` is a diagonal phase. ``omega_tr = None`` means
:math:`\alpha_k = \beta_k = 0` for all ``k`` (one unitary); otherwise
:func:`~trajectories.model.interactions.phase_schedule` finds the period of
:math:`(\alpha_k, \beta_k)` (to 1e-10 rad, up to
:data:`~trajectories.model.interactions.MAX_PERIOD`) or, failing that, every collision
gets its own (:class:`~trajectories.channels.rabi.RabiCollisions`).

The state is the interaction-picture state of :math:`U_0(t)`; with modulation it
differs from the unmodulated frame by :math:`e^{-i\eta\sin(\nu t)a^\dagger a}`, which
is the identity at the collision starts when :math:`\nu t_r` is a multiple of
:math:`2\pi` and never changes photon-number observables (energy, purity, Fano,
ergotropy). ``c`` is the qubit coherence in this rotating frame, the same for every
qubit (a source phase-locked to the resonance, as for qubits prepared by a resonant
pulse). A source with a fixed *lab-frame* state would give qubit ``k`` the coherence
:math:`c\,e^{i\omega t_0}`; for Jaynes-Cummings with ``omega_tr = None`` the two agree.
The loss between collisions is the usual phase-covariant thermal channel.

Numerics
--------
The Hamiltonian conserves the parity :math:`(-1)^X`, so the unitary is integrated
in the two parity sectors separately, on ``N + Delta`` cavity levels; the
amplitude that ends above level ``N-1`` is the collision's leakage. ``Delta`` grows
until the amplitude reaching the two highest integrated levels is below
:data:`EDGE_TOL`. Three integrators:

- ``"eigen"`` (no modulation only): :math:`W = e^{iX\tau}e^{-i(X + V)\tau}` from one
  symmetric eigendecomposition per sector (exact up to rounding, ~1e-14 ||H|| tau);
- ``"rk"``: scipy's DOP853 (8th-order Runge-Kutta with error control), rtol 1e-13;
- ``"magnus"``: 6th-order Magnus (three Gauss points, Blanes-Casas-Oteo-Ros), steps
  doubled until two successive results differ by less than 63e-13 (error
  estimate of the finer one: difference / 63).

When the Hamiltonian is periodic (period :math:`T = q\pi/\omega`, see
:func:`hamiltonian_period`) and the collision spans several periods, ``"rk"`` and
``"magnus"`` integrate one period ``F`` and the remainder and form
:math:`W = W_{rest}F^n` (repeated squaring).

``"auto"`` uses ``"eigen"`` without modulation and ``"rk"`` with it; the tests
check every pair against each other to 1e-10.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import scipy.sparse as sp

from ..model.interactions import Rabi
from ..model.micromaser import Micromaser

__all__ = [
    "EDGE_TOL",
    "Sector",
    "RabiUnitary",
    "sectors",
    "sector_unitary",
    "rabi_unitary",
    "hamiltonian_period",
    "modulation_residual",
]

#: Amplitude allowed to reach the two highest integrated levels (from any kept column):
#: below it the integration space ``N + Delta`` is large enough.
EDGE_TOL = 1e-12
_MAX_EXTRA = 400
_METHODS = ("auto", "eigen", "rk", "magnus")


# ----------------------------------------------------------------------------- operators
@dataclasses.dataclass(frozen=True, eq=False)
class Sector:
    r"""One parity sector of the qubit x cavity space on ``L`` cavity levels.

    Full-space index of ``|s, n>`` is ``s * L + n`` with ``s = 0`` for ``e`` and ``1`` for
    ``g`` (the model's qubit basis order). Built by :func:`sectors`.

    Attributes
    ----------
    index : ndarray of int64, shape (L_s,)
        Full-space indices of the sector's states.
    x : ndarray of float64, shape (L_s,)
        Their excitation numbers ``n + [s = e]``.
    a : scipy.sparse.csr_array, shape (L_s, L_s)
        The rotating coupling :math:`a\sigma_+ + a^\dagger\sigma_-` (real, symmetric).
    b : scipy.sparse.csr_array, shape (L_s, L_s)
        The counter-rotating :math:`a^\dagger\sigma_+` (real).
    bt : scipy.sparse.csr_array, shape (L_s, L_s)
        Its transpose, :math:`a\sigma_-`.
    """

    index: np.ndarray  # (L_s,) full-space indices of the sector's states
    x: np.ndarray  # (L_s,) excitation numbers n + [s = e]
    a: sp.csr_array  # rotating coupling a s+ + a^dag s- (real, symmetric)
    b: sp.csr_array  # counter-rotating a^dag s+ (real)
    bt: sp.csr_array  # its transpose a s-


def sectors(levels: int) -> tuple[Sector, Sector]:
    r"""The two parity sectors (even, odd excitation number) on ``levels`` cavity levels.

    The Rabi Hamiltonian conserves the parity of :math:`X = a^\dagger a +
    |e\rangle\langle e|`, so the unitary is block diagonal in these sectors.

    Parameters
    ----------
    levels : int
        Number of cavity levels ``L`` of the integration space (qubit x cavity: ``2 L``
        states, index ``s * L + n`` with ``s = 0`` for ``e``, 1 for ``g``).

    Returns
    -------
    even, odd : Sector
        Each with ``index`` (its full-space indices, shape ``(L_s,)``), ``x`` (their
        excitation numbers), and the real sparse couplings ``a`` (rotating,
        :math:`a\sigma_+ + a^\dagger\sigma_-`), ``b`` (:math:`a^\dagger\sigma_+`) and
        ``bt`` (its transpose) restricted to the sector; ``L_even + L_odd = 2 L``.
    """
    big = levels
    n = np.arange(big)
    dim = 2 * big
    a = np.zeros((dim, dim))
    b = np.zeros((dim, dim))
    e, g = n, big + n  # indices of |e, n>, |g, n>
    a[e[:-1], g[1:]] = np.sqrt(n[1:])  # a s+ : |g, n> -> sqrt(n) |e, n-1>
    a[g[1:], e[:-1]] = np.sqrt(n[1:])  # a^dag s- : |e, n-1> -> sqrt(n) |g, n>
    b[e[1:], g[:-1]] = np.sqrt(n[1:])  # a^dag s+ : |g, n-1> -> sqrt(n) |e, n>
    x = np.concatenate([n + 1, n])
    out = []
    for p in (0, 1):
        idx = np.flatnonzero(x % 2 == p)
        bb = sp.csr_array(b[np.ix_(idx, idx)])
        out.append(Sector(idx, x[idx].astype(float), sp.csr_array(a[np.ix_(idx, idx)]), bb,
                          sp.csr_array(bb.T)))  # fmt: skip
    return out[0], out[1]


def _phase_fn(eta: float, nu: float, beta: float):
    if eta == 0.0:
        return lambda s: 2.0 * s
    return lambda s: 2.0 * s + 2.0 * eta * math.sin(beta + nu * s)


def _hamiltonian(sec: Sector, g: float, phase: float) -> np.ndarray:
    f = complex(math.cos(phase), math.sin(phase))
    return g * (sec.a + f * sec.b + f.conjugate() * sec.bt).toarray()


def _w_eigen(sec: Sector, g: float, tau: float) -> np.ndarray:
    h = np.diag(sec.x) + g * (sec.a + sec.b + sec.bt).toarray()
    e, v = np.linalg.eigh(h)
    w = (v * np.exp(-1j * e * tau)) @ v.T
    return np.exp(1j * sec.x * tau)[:, None] * w


def _w_rk(sec: Sector, g: float, tau: float, phi, rtol: float) -> np.ndarray:
    from scipy.integrate import solve_ivp

    size = sec.x.size
    a, b, bt = sec.a, sec.b, sec.bt

    def rhs(s: float, y: np.ndarray) -> np.ndarray:
        w = y.reshape(size, size)
        ph = phi(s)
        f = complex(math.cos(ph), math.sin(ph))
        hw = a @ w + f * (b @ w) + f.conjugate() * (bt @ w)
        return (-1j * g * hw).reshape(-1)

    y0 = np.eye(size, dtype=np.complex128).reshape(-1)
    sol = solve_ivp(rhs, (0.0, tau), y0, method="DOP853", rtol=rtol, atol=rtol)
    if not sol.success:  # pragma: no cover - DOP853 fails only on non-finite input
        raise RuntimeError(f"DOP853 failed on the collision unitary: {sol.message}")
    return sol.y[:, -1].reshape(size, size)


_GAUSS = (0.5 - math.sqrt(15.0) / 10.0, 0.5, 0.5 + math.sqrt(15.0) / 10.0)


def _magnus6(sec: Sector, g: float, tau: float, phi, steps: int) -> np.ndarray:
    """6th-order Magnus with three Gauss-Legendre nodes per step, ``steps`` equal steps."""
    size = sec.x.size
    h = tau / steps
    w = np.eye(size, dtype=np.complex128)
    r15 = math.sqrt(15.0)
    for i in range(steps):
        t = i * h
        a1, a2, a3 = (-1j * h * _hamiltonian(sec, g, phi(t + c * h)) for c in _GAUSS)
        al1 = a2
        al2 = (r15 / 3.0) * (a3 - a1)
        al3 = (10.0 / 3.0) * (a3 - 2.0 * a2 + a1)
        c1 = al1 @ al2 - al2 @ al1
        x = 2.0 * al3 + c1
        c2 = -(al1 @ x - x @ al1) / 60.0
        left = -20.0 * al1 - al3 + c1
        right = al2 + c2
        omega = al1 + al3 / 12.0 + (left @ right - right @ left) / 240.0
        k = 0.5j * (omega - omega.conj().T)  # i * (anti-Hermitian part): Hermitian
        e, v = np.linalg.eigh(k)
        w = ((v * np.exp(-1j * e)) @ v.conj().T) @ w
    return w


def _w_magnus(sec: Sector, g: float, tau: float, phi, omega_max: float, tol: float) -> np.ndarray:
    steps = max(4, math.ceil(tau * omega_max / 1.5))
    prev = _magnus6(sec, g, tau, phi, steps)
    while True:
        steps *= 2
        cur = _magnus6(sec, g, tau, phi, steps)
        if np.max(np.abs(cur - prev)) / 63.0 < tol:
            return cur
        if steps > 2**20:  # pragma: no cover - would take hours
            raise RuntimeError("Magnus integrator did not converge")
        prev = cur


def sector_unitary(
    sec: Sector,
    g: float,
    tau: float,
    *,
    eta: float = 0.0,
    nu: float = 1.0,
    beta: float = 0.0,
    method: str = "auto",
    tol: float = 1e-13,
) -> np.ndarray:
    r"""The collision unitary :math:`W(\beta)` on one parity sector.

    The time-ordered exponential :math:`\mathcal T\exp[-i\int_0^\tau H^{(\beta)}(s)ds]`
    (module docstring, "Phases and frames"); when the Hamiltonian is periodic and the
    collision spans at least two periods, one period ``F`` is integrated and
    :math:`W = W_{rest}F^n`.

    Parameters
    ----------
    sec : Sector
        The sector (:func:`sectors`).
    g : float
        Coupling :math:`g/\omega`.
    tau : float
        Collision duration :math:`\omega\tau`.
    eta : float, optional
        Modulation amplitude (0: none).
    nu : float, optional
        Modulation frequency :math:`\nu/\omega`.
    beta : float, optional
        Modulation phase at the start of the collision, rad.
    method : str, optional
        ``"auto"`` (``"eigen"`` without modulation, else ``"rk"``), ``"eigen"``, ``"rk"``
        or ``"magnus"``.
    tol : float, optional
        Tolerance of the ``"rk"`` and ``"magnus"`` integrators (default 1e-13).

    Returns
    -------
    ndarray of complex128, shape (L_s, L_s)
        The unitary on the sector's states.

    Raises
    ------
    ValueError
        For an unknown method, or ``"eigen"`` with modulation.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method == "auto":
        method = "eigen" if eta == 0.0 else "rk"
    if method == "eigen":
        if eta != 0.0:
            raise ValueError("method='eigen' needs no modulation (eta = 0); use 'rk' or 'magnus'")
        return _w_eigen(sec, g, tau)
    phi = _phase_fn(eta, nu, beta)
    size = sec.x.size
    omega_max = 2.0 + 2.0 * eta * nu + 2.0 * g * math.sqrt(size)

    def integrate(t: float) -> np.ndarray:
        if method == "rk":
            return _w_rk(sec, g, t, phi, tol)
        return _w_magnus(sec, g, t, phi, omega_max, tol)

    period = hamiltonian_period(eta, nu)
    n_periods = int(tau // period) if period is not None else 0
    if n_periods < 2:
        return integrate(tau)
    # H is periodic: W(tau) = W(tau - n T) F^n with the one-period propagator F
    # (W(tau - nT) starts at the same phase as W(T), so it is integrated from 0).
    f = integrate(period)
    rest = tau - n_periods * period
    w = integrate(rest) if rest > 1e-15 * tau else np.eye(size, dtype=np.complex128)
    return w @ np.linalg.matrix_power(f, n_periods)


def hamiltonian_period(eta: float, nu: float, max_q: int = 16) -> float | None:
    r"""Period of :math:`H^{(\beta)}(s)` in units of :math:`1/\omega`, or ``None``.

    :math:`\phi(s + T) = \phi(s) \pmod{2\pi}` needs :math:`2T` and :math:`\nu T` to be
    multiples of :math:`2\pi`: ``T = q pi`` with ``q nu / 2`` an integer (``q <= max_q``);
    without modulation ``T = pi``.

    Parameters
    ----------
    eta : float
        Modulation amplitude (0: none).
    nu : float
        Modulation frequency :math:`\nu/\omega`.
    max_q : int, optional
        Largest ``q`` tried (default 16).

    Returns
    -------
    float or None
        :math:`\omega T`, or ``None`` if no ``q <= max_q`` works (to 1e-9).

    Examples
    --------
    >>> hamiltonian_period(1.2, 3.0) / math.pi  # q nu / 2 integer for q = 2
    2.0
    """
    if eta == 0.0:
        return math.pi
    for q in range(1, max_q + 1):
        x = q * nu / 2.0
        if abs(x - round(x)) < 1e-9:
            return q * math.pi
    return None


# ------------------------------------------------------------------------- the unitary
@dataclasses.dataclass(frozen=True, eq=False)
class RabiUnitary:
    """A collision unitary ``W`` on ``2 * levels`` states (index ``s * levels + n``).

    Attributes
    ----------
    levels : int
        Cavity levels ``L = N + Delta`` of the integration space.
    u : ndarray of complex128, shape (2 L, 2 L)
        The unitary; qubit ``s = 0`` (``e``) first, then ``g``.
    method : str
        The integrator used: ``"eigen"``, ``"rk"`` or ``"magnus"``.
    edge : float
        Largest modulus at the two highest levels reached from a kept column (``< N``):
        the integration space is large enough when it is below :data:`EDGE_TOL`.
    seconds : float
        Wall time of the integration, s.
    """

    levels: int
    u: np.ndarray  # (2L, 2L) complex
    method: str
    edge: float  # largest modulus at the two highest levels from kept columns
    seconds: float

    def block(self, out: str, inp: str) -> np.ndarray:
        r"""One qubit block of the unitary, a cavity operator.

        Parameters
        ----------
        out : str
            Qubit state after the collision, ``"e"`` or ``"g"``.
        inp : str
            Qubit state before it, ``"e"`` or ``"g"``.

        Returns
        -------
        ndarray of complex128, shape (L, L)
            :math:`\langle \mathrm{out}|W|\mathrm{inp}\rangle` (a view of ``u``).
        """
        o, i = "eg".index(out), "eg".index(inp)
        big = self.levels
        return self.u[o * big : (o + 1) * big, i * big : (i + 1) * big]


def _edge(u: np.ndarray, levels: int, n_kept: int) -> float:
    rows = np.concatenate([np.arange(levels - 2, levels), levels + np.arange(levels - 2, levels)])
    cols = np.concatenate([np.arange(n_kept), levels + np.arange(n_kept)])
    return float(np.max(np.abs(u[np.ix_(rows, cols)])))


def _unitary_on(levels: int, col: Rabi, theta: float, beta: float, method: str) -> np.ndarray:
    g = col.g_over_omega
    tau = col.duration(theta)
    mod = col.modulation
    eta, nu = (mod.eta, mod.nu_over_omega) if mod else (0.0, 1.0)
    u = np.zeros((2 * levels, 2 * levels), dtype=np.complex128)
    for sec in sectors(levels):
        w = sector_unitary(sec, g, tau, eta=eta, nu=nu, beta=beta, method=method)
        u[np.ix_(sec.index, sec.index)] = w
    return u


def rabi_unitary(
    model: Micromaser, *, beta: float = 0.0, method: str = "auto", levels: int | None = None
) -> RabiUnitary:
    r"""The collision unitary :math:`W(\beta)` of a model with a Rabi collision.

    Parameters
    ----------
    model : Micromaser
        A model with ``collision=Rabi(...)``; ``theta`` and ``cutoff`` are read.
    beta : float, optional
        Modulation phase :math:`\nu t_0` at the start of the collision, rad (default 0).
    method : str, optional
        ``"auto"`` (``"eigen"`` without modulation, else ``"rk"``), ``"eigen"``, ``"rk"``
        or ``"magnus"``; all agree to 1e-10.
    levels : int, optional
        Fixes the integration space; by default ``N + Delta`` with ``Delta`` from
        ``model.collision.extra_levels`` or grown until the edge amplitude is below
        :data:`EDGE_TOL`.

    Returns
    -------
    RabiUnitary
        The unitary on ``2 * levels`` states, with its integrator, edge and timing.

    Raises
    ------
    ValueError
        If the model's collision is not Rabi, the method is unknown, or the edge
        amplitude is still above :data:`EDGE_TOL` beyond ``N + 400`` levels.
    """
    col = model.collision
    if not isinstance(col, Rabi):
        raise ValueError("rabi_unitary needs a model with collision=trajectories.Rabi(...)")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    name = method
    if method == "auto":
        name = "eigen" if col.modulation is None else "rk"
    n = model.cutoff
    t0 = time.perf_counter()
    if levels is not None:
        u = _unitary_on(levels, col, model.theta, beta, name)
        return RabiUnitary(levels, u, name, _edge(u, levels, n), time.perf_counter() - t0)
    fixed = col.extra_levels is not None
    extra = col.extra_levels if fixed else 8 + int(2.0 * col.g_over_omega * math.sqrt(n))
    while True:
        big = n + extra
        u = _unitary_on(big, col, model.theta, beta, name)
        edge = _edge(u, big, n)
        if fixed or edge < EDGE_TOL:
            return RabiUnitary(big, u, name, edge, time.perf_counter() - t0)
        extra += max(8, extra // 2)
        if extra > _MAX_EXTRA:
            raise ValueError(
                f"the counter-rotating terms reach more than {_MAX_EXTRA} levels above the "
                f"cutoff {n} within one collision (amplitude {edge:.2g} at the edge); "
                "g_over_omega is too large for this cutoff"
            )


# -------------------------------------------------------------------------- estimates
def modulation_residual(
    g_over_omega: float, theta: float, n_max: int, eta: float = 0.0, nu_over_omega: float = 1.0,
    k_max: int = 60,
) -> tuple[float, float]:  # fmt: skip
    r"""The derived bounds :math:`(\delta_1, \delta_2)` on the distance from Jaynes-Cummings.

    For a state on levels ``<= n_max``: :math:`\delta_1` bounds the first-order
    counter-rotating kicks, :math:`\delta_2` the accumulated second-order shift (module
    docstring). These are estimates (perturbative bounds), not the exact distance.

    Parameters
    ----------
    g_over_omega : float
        Coupling :math:`g/\omega`.
    theta : float
        Collision strength :math:`g\tau`.
    n_max : int
        Highest occupied level.
    eta : float, optional
        Modulation amplitude; 0 (default) is the unmodulated collision.
    nu_over_omega : float, optional
        Modulation frequency :math:`\nu/\omega`.
    k_max : int, optional
        Bessel components :math:`|k| \le k_{max}` summed (default 60).

    Returns
    -------
    delta_1, delta_2 : float
        The two bounds (dimensionless, operator norms); ``inf`` when a component has
        :math:`2\omega + k\nu = 0` (a static, resonant term).

    Examples
    --------
    Without modulation, :math:`\delta_2 = \theta (g/\omega)(n_{max} + 1)`:

    >>> round(modulation_residual(0.1, 1.0, 9)[1], 12)
    1.0
    """
    from scipy.special import jv

    g, tau = g_over_omega, theta / g_over_omega
    ks = np.arange(-k_max, k_max + 1) if eta > 0 else np.array([0])
    jk = jv(ks, 2.0 * eta) if eta > 0 else np.array([1.0])
    freq = 2.0 + ks * nu_over_omega
    keep = np.abs(jk) > 1e-16
    if np.any(np.abs(freq[keep]) < 1e-12):
        return math.inf, math.inf
    jk, freq = jk[keep], freq[keep]
    d1 = 2.0 * g * math.sqrt(n_max + 1.0) * float(np.sum(np.abs(jk) / np.abs(freq)))
    d2 = tau * g * g * (2.0 * n_max + 2.0) * abs(float(np.sum(jk**2 / freq)))
    return d1, d2
