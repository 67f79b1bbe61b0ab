r"""The arrays the network trajectories read: shell order, real-gauge blocks, loss and leak.

Built once per model by :func:`network_trajectory_arrays` for the compiled leaves of
:mod:`trajectories.channels.network_unravelling` (``docs/MODEL.md``, Sec. 13).

*Shell order.* The joint state vector (length ``D = N_A N_B``) is stored shell by shell
(``m = n_A + n_B``), ``a`` increasing within a shell
(:class:`~trajectories.channels.network_collision.ShellBasis`): a shell, and any run of
shells, is one contiguous slice, and within shell ``m`` the levels of A run up and those of
B down, one by one.

*Real gauge.* The qubit branch :math:`\lambda`
(:func:`~trajectories.channels.kraus.qubit_branches`, components :math:`\alpha` on e and
:math:`\beta` on g) and the outcome ``o`` give the operator
:math:`A_o = \sum_j \phi_{\lambda j} p_{oj} R_{oj}` with the real blocks :math:`R_{oj}` of
:class:`~trajectories.channels.network_collision.NetworkCollision` and the phases
:math:`p_{oj}` of :data:`~trajectories.channels.network_collision.PHASES`. With shell
phases :math:`\psi_m = g^m\tilde\psi_m`, :math:`g = \arg(-i\alpha/\beta)` of a branch with
both components (1 otherwise), the two terms of :math:`A_o` have the same phase up to sign,
for every branch (the eigen-branches of a qubit state differ by :math:`\pi` in
:math:`\arg(\alpha/\beta)`): :math:`A_o = e^{i\omega} G(\kappa_{oe}R_{oe} +
\kappa_{og}R_{og})G^\dagger` with real :math:`\kappa` (:func:`real_gauge`). Overall phases
change no record, so the trajectories evolve :math:`\tilde\psi` with real operators, in
real arithmetic when :math:`\tilde\psi` starts real (the vacuum, Fock states).

*Two layouts of the blocks.* When every row of every block has its entries of modulus at
least :data:`BAND_DROP` within :data:`BAND_WIDTH` consecutive columns (the series topology:
two), each output row keeps that run and its first input position (``banded``: one pass
over the output rows); otherwise (the simultaneous topology: full blocks) each shell block
is stored dense, column by column.

*Leak of an interval.* :func:`interval_leak_vector`: the expected weight one loss interval
sends out of the kept levels from each joint level, exactly, also for random arrivals.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import expm, schur, solve_sylvester, solve_triangular

from ..model.network import Network
from .kraus import qubit_branches
from .loss import decay_rates, loss_generator_block, population_channel
from .network_collision import PHASES, NetworkCollision

__all__ = [
    "BAND_WIDTH",
    "BAND_DROP",
    "GAUGE_TOL",
    "ShellArrays",
    "CollisionArrays",
    "NetworkLossArrays",
    "real_gauge",
    "interval_leak_vector",
    "network_trajectory_arrays",
]

#: Rows of a block with at most this many consecutive nonzero entries are stored as runs
#: (the ``banded`` layout); wider blocks are stored dense.
BAND_WIDTH = 4
#: Entries of modulus below this are rounding residues of the shell exponentials (products
#: of two roundings, ~1e-33, where the exact block has a structural zero): the banded layout
#: drops them, changing each output entry by less than ``BAND_WIDTH * 1e-30``, far below
#: the rounding of its order-one terms. The dense layout keeps every entry.
BAND_DROP = 1e-30
#: Largest imaginary part (relative to the largest coefficient) that the real gauge of the
#: collision coefficients drops: a few roundings of the phases.
GAUGE_TOL = 1e-13


class ShellArrays(NamedTuple):
    r"""The kept joint levels in shell order (shells ``m = a + b``, ``a`` increasing).

    Attributes
    ----------
    off : ndarray of int64, shape (S + 1,)
        Shell ``m`` occupies positions ``off[m] .. off[m+1] - 1`` (``S = N_A + N_B - 1``).
    a0 : ndarray of int64, shape (S,)
        The level of A at the first position of each shell (B's is ``m - a0``).
    a, b : ndarray of int64, shape (D,)
        The photon numbers of each position.
    natural : ndarray of int64, shape (D,)
        The natural index ``a N_B + b`` of each position.
    em_a, ab_a, em_b, ab_b : ndarray of int64, shape (D,)
        The position reached by an emission (``a - 1``) or an absorption (``a + 1``) of
        cavity A (B likewise); -1 where it leaves the kept levels.
    sqrt_n : ndarray of float64, shape (max(N_A, N_B) + 1,)
        :math:`\sqrt n`.
    """

    off: np.ndarray
    a0: np.ndarray
    a: np.ndarray
    b: np.ndarray
    natural: np.ndarray
    em_a: np.ndarray
    ab_a: np.ndarray
    em_b: np.ndarray
    ab_b: np.ndarray
    sqrt_n: np.ndarray


class CollisionArrays(NamedTuple):
    r"""The collision's real blocks per theta-spread node, in one of two layouts.

    Operator ``t = 2 o + j`` is :math:`R_{oj}` (qubit index 0 = e, 1 = g); it maps shell
    ``m`` to shell ``m + [j = e] - [o = e]``.

    - banded: output row ``r`` (a shell-order position) of node ``x``'s operator ``t`` is
      :math:`\sum_w` ``band[x, t, w, r] psi[first[x, t, r] + w]`` (``w < width``; zero-padded,
      and ``first <= D - width``, so that every read is in the vector; a row without a
      block has zeros);
    - dense: the block of node ``x``, operator ``t`` and output shell ``m`` starts at
      ``vals[ptr[x, t, m]]`` (-1: none), ``s_out x s_in``, column-major.

    Attributes
    ----------
    banded : bool
        The layout.
    width : int
        Banded: the number of entries per row (1 for dense).
    first : ndarray of int64, shape (X, 4, D)
        Banded: the first input position of each row (shape (X, 4, 1) for dense).
    band : ndarray of float64, shape (X, 4, W, D)
        Banded: the row entries (shape (X, 4, 1, 1) for dense).
    ptr : ndarray of int64, shape (X, 4, S)
        Dense: start of each block in ``vals``.
    vals : ndarray of float64, shape (V,)
        Dense: the blocks.
    coef : ndarray of float64, shape (B, 2, 2)
        The real gauge coefficient :math:`\kappa` of :math:`R_{oj}` in branch ``b``:
        ``coef[b, o, j]``.
    amp2 : ndarray of float64, shape (B, 2)
        :math:`|\alpha|^2, |\beta|^2` of each branch.
    branch_cum : ndarray of float64, shape (B,)
        Cumulative branch probabilities :math:`\lambda`.
    node_cum : ndarray of float64, shape (X,)
        Cumulative weights of the theta-spread nodes (``[1.0]`` without a spread).
    leak_shell : int
        ``min(N_A, N_B) - 1``: the lowest cavity shell from which a collision can leave the
        kept levels (total excitation ``min(N_A, N_B)`` with the qubit in e).
    """

    banded: bool
    width: int
    first: np.ndarray
    band: np.ndarray
    ptr: np.ndarray
    vals: np.ndarray
    coef: np.ndarray
    amp2: np.ndarray
    branch_cum: np.ndarray
    node_cum: np.ndarray
    leak_shell: int


class NetworkLossArrays(NamedTuple):
    r"""The loss of both cavities during one interval.

    Attributes
    ----------
    rate0, rate1 : ndarray of float64, shape (2,)
        :math:`\Gamma^X_n = \mathrm{rate0}[X] + \mathrm{rate1}[X]\,n` (units of ``1/t_r``):
        ``gamma nbar`` and ``gamma (2 nbar + 1)`` of each cavity.
    emit, absorb : ndarray of float64, shape (2,)
        Jump rates per photon: ``gamma (nbar + 1)`` and ``gamma nbar`` of each cavity.
    rates : ndarray of float64, shape (D,)
        :math:`R_x = \Gamma^A_a + \Gamma^B_b` at each shell-order position.
    leak : ndarray of float64, shape (D,)
        The expected weight one interval sends out of the kept levels from each position
        (:func:`interval_leak_vector`, shell order).
    fa1, fb1r : ndarray of float64, shapes (N_A,), (N_B,)
        :math:`e^{-\Gamma_n/2}` of each cavity (B's reversed, ``fb1r[N_B - 1 - n]``): the
        no-jump factors of a whole regular interval.
    cutoff : ndarray of int64, shape (2,)
        ``(N_A, N_B)``.
    """

    rate0: np.ndarray
    rate1: np.ndarray
    emit: np.ndarray
    absorb: np.ndarray
    rates: np.ndarray
    leak: np.ndarray
    fa1: np.ndarray
    fb1r: np.ndarray
    cutoff: np.ndarray


def _shell_arrays(net: Network, collision: NetworkCollision) -> ShellArrays:
    basis = collision.basis
    na, nb = net.cutoff
    sizes = [basis.size(m) for m in range(basis.n_shells)]
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    a = np.concatenate([np.arange(basis.lo[m], basis.hi[m] + 1) for m in range(basis.n_shells)])
    b = np.repeat(np.arange(basis.n_shells), sizes) - a
    pos = np.full((na, nb), -1, dtype=np.int64)
    pos[a, b] = np.arange(a.size)

    def target(da: int, db: int) -> np.ndarray:
        ta, tb = a + da, b + db
        ok = (ta >= 0) & (ta < na) & (tb >= 0) & (tb < nb)
        out = np.full(a.size, -1, dtype=np.int64)
        out[ok] = pos[ta[ok], tb[ok]]
        return out

    return ShellArrays(
        off=off, a0=np.asarray(basis.lo, dtype=np.int64), a=a.astype(np.int64),
        b=b.astype(np.int64), natural=(a * nb + b).astype(np.int64),
        em_a=target(-1, 0), ab_a=target(1, 0), em_b=target(0, -1), ab_b=target(0, 1),
        sqrt_n=np.sqrt(np.arange(max(na, nb) + 1.0)),
    )  # fmt: skip


def real_gauge(branches: list) -> tuple[complex, np.ndarray]:
    r"""The shell phase ``g`` and the real coefficients :math:`\kappa` of the collision.

    Parameters
    ----------
    branches : list of (float, complex, complex)
        ``(lambda, alpha, beta)`` per qubit branch
        (:func:`~trajectories.channels.kraus.qubit_branches`).

    Returns
    -------
    g : complex
        Unit modulus: :math:`\psi_m = g^m\tilde\psi_m`.
    coef : ndarray of float64, shape (B, 2, 2)
        ``coef[b, o, j]``: :math:`A_o = e^{i\omega}G(\sum_j \kappa_{oj}R_{oj})G^\dagger`
        in branch ``b``.

    Raises
    ------
    AssertionError
        If a coefficient is not real in the gauge (beyond :data:`GAUGE_TOL`): not expected
        for any qubit state.
    """
    g = 1.0 + 0j
    for _, alpha, beta in branches:
        if alpha != 0 and beta != 0:
            z = -1j * alpha / beta
            g = z / abs(z)
            break
    coef = np.zeros((len(branches), 2, 2))
    for i, (_, alpha, beta) in enumerate(branches):
        phi = (alpha, beta)
        for o in (0, 1):
            kappa = np.array(
                [phi[j] * PHASES[(o, j)] * g ** ((o == 0) - (j == 0)) for j in (0, 1)]
            )  # the input shell of output shell m' is m' + [o = e] - [j = e]
            big = int(np.argmax(np.abs(kappa)))
            if abs(kappa[big]) == 0.0:
                continue
            rot = kappa * np.conj(kappa[big]) / abs(kappa[big])
            if np.max(np.abs(rot.imag)) > GAUGE_TOL * abs(kappa[big]):
                raise AssertionError("network collision: no real gauge for this qubit state")
            coef[i, o] = rot.real
    return g, coef


def _diagonals(mat: np.ndarray) -> tuple[int, int]:
    """``(shift, width)``: the entries of modulus ``>= BAND_DROP`` of row ``i`` lie in columns
    ``i + shift .. i + shift + width - 1`` (``(0, 0)`` for a block without any)."""
    rows, cols = np.nonzero(np.abs(mat) >= BAND_DROP)
    if rows.size == 0:
        return 0, 0
    d = cols - rows
    return int(d.min()), int(d.max() - d.min() + 1)


def _collision_arrays(
    net: Network, collision: NetworkCollision, off: np.ndarray
) -> CollisionArrays:
    d = net.dimension
    n_nodes, n_shells = len(collision.x), off.size - 1
    items = [
        (x, 2 * o + j, blk)
        for x, blocks in enumerate(collision.blocks)
        for (o, j), blist in blocks.items()
        for blk in blist
    ]
    width = max((_diagonals(blk.matrix)[1] for _, _, blk in items), default=1)
    banded = width <= BAND_WIDTH
    width = max(width, 1) if banded else 1
    first = np.zeros((n_nodes, 4, d if banded else 1), dtype=np.int64)
    band = np.zeros((n_nodes, 4, width, d if banded else 1))
    ptr = np.full((n_nodes, 4, n_shells), -1, dtype=np.int64)
    vals: list[np.ndarray] = []
    used = 0
    for x, t, blk in items:
        mat = blk.matrix
        if banded:
            kept = np.abs(mat) >= BAND_DROP
            for i in range(mat.shape[0]):
                nz = np.flatnonzero(kept[i])
                if nz.size == 0:
                    continue
                start = int(off[blk.m_in] + nz[0])
                f = min(start, d - width)  # every read stays in the vector
                run = np.where(kept[i], mat[i], 0.0)[nz[0] : nz[-1] + 1]
                r = off[blk.m_out] + i
                first[x, t, r] = f
                band[x, t, start - f : start - f + run.size, r] = run
        else:
            ptr[x, t, blk.m_out] = used
            vals.append(mat.reshape(-1, order="F"))
            used += mat.size
    branches = qubit_branches(net.cavity(0))
    _, coef = real_gauge(branches)
    lam = np.array([b[0] for b in branches])
    return CollisionArrays(
        banded=bool(banded), width=int(width), first=first, band=band, ptr=ptr,
        vals=np.concatenate(vals) if vals else np.zeros(1), coef=coef,
        amp2=np.array([[abs(b[1]) ** 2, abs(b[2]) ** 2] for b in branches]),
        branch_cum=np.cumsum(lam), node_cum=np.cumsum(collision.w),
        leak_shell=min(net.cutoff) - 1,
    )  # fmt: skip


def _stein(a: np.ndarray, b: np.ndarray, c: float, rhs: np.ndarray) -> np.ndarray:
    r"""Solve :math:`X - c A X B = \mathrm{rhs}` (Schur forms of ``A`` and ``B``, O(n^3))."""
    s, u = schur(a, output="complex")
    r, v = schur(b, output="complex")
    dt = u.conj().T @ rhs @ v
    x = np.zeros_like(dt)
    eye = np.eye(a.shape[0])
    for j in range(dt.shape[1]):
        right = dt[:, j] + c * (s @ (x[:, :j] @ r[:j, j]))
        x[:, j] = solve_triangular(eye - c * r[j, j] * s, right)
    return (u @ x @ v.conj().T).real


def _augmented(gamma: float, nbar: float, n: int) -> np.ndarray:
    """Population generator of one cavity with the leaked weight as an absorbing state ``n``."""
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = loss_generator_block(gamma, nbar, n, 0)
    aug[n, n - 1] = gamma * nbar * n
    return aug


def interval_leak_vector(net: Network) -> np.ndarray:
    r"""The expected weight one loss interval sends out of the kept levels, per joint level.

    Cavity X alone loses ``l_X[n]`` from level ``n`` in an interval ``T``
    (:func:`~trajectories.channels.loss.population_channel`). The two baths act
    independently during the same interval, so from ``|a, b>`` the weight kept is
    :math:`(1 - l_A(a, T))(1 - l_B(b, T))` and the leak is
    :math:`L_{ab} = \mathbb E_T[l_A] + \mathbb E_T[l_B] - Z_{ab}`,
    :math:`Z_{ab} = \mathbb E_T[l_A(a, T)\,l_B(b, T)]`. For regular arrivals
    :math:`Z = l_A l_B^T`. For random ones, with the population generators
    :math:`\tilde P_X` augmented by the leaked weight (an absorbing state),
    :math:`Z(T) = e^{\tilde P_A^T T} C e^{\tilde P_B T}` (``C`` the unit matrix at the two
    absorbing states), and :math:`Z = \mathbb E_T[Z(T)]` solves a Sylvester equation,
    :math:`(1 - \tilde P_A^T) Z - Z \tilde P_B = C` (Poisson), or a Stein equation,
    :math:`Z - (1-p) E_A Z E_B = p E_A C E_B`, :math:`E_A = e^{p\tilde P_A^T}`,
    :math:`E_B = e^{p\tilde P_B}` (Bernoulli); both O(N^3). The leak keeps its digits when
    it is tiny (no difference of numbers near 1).

    Parameters
    ----------
    net : Network
        The model (loss of each cavity, arrivals).

    Returns
    -------
    ndarray of float64, shape (D,)
        ``L`` in the natural basis ``a N_B + b`` (zeros without loss).
    """
    na, nb = net.cutoff
    la = population_channel(net.cavity(0))[1]
    lb = population_channel(net.cavity(1))[1]
    if net.arrivals.is_regular or not (np.any(la) and np.any(lb)):
        z = np.outer(la, lb)
    else:
        pa = _augmented(net.gamma_tr[0], net.nbar[0], na).T
        pb = _augmented(net.gamma_tr[1], net.nbar[1], nb)
        c = np.zeros((na + 1, nb + 1))
        c[na, nb] = 1.0
        if net.arrivals.kind == "poisson":
            full = solve_sylvester(np.eye(na + 1) - pa, -pb, c)
        else:
            p = net.arrivals.p
            ea, eb = expm(p * pa), expm(p * pb)
            full = _stein(ea, eb, 1.0 - p, p * (ea @ c @ eb))
        z = np.clip(full[:na, :nb], 0.0, None)
    leak = la[:, None] + lb[None, :] - z
    return np.clip(leak, 0.0, None).reshape(-1)


def network_trajectory_arrays(
    net: Network, collision: NetworkCollision | None = None
) -> tuple[ShellArrays, CollisionArrays, NetworkLossArrays, np.ndarray]:
    """The arrays the compiled network leaves read, and the gauge.

    Parameters
    ----------
    net : Network
        The model.
    collision : NetworkCollision, optional
        Its collision channel (built when not given).

    Returns
    -------
    shells : ShellArrays
        The shell order.
    collision : CollisionArrays
        The collision in the real gauge.
    loss : NetworkLossArrays
        The loss of both cavities.
    gauge : ndarray of complex128, shape (D,)
        :math:`g^m` at each shell-order position: ``psi = gauge * psi_tilde`` up to an
        overall phase.
    """
    col = NetworkCollision(net) if collision is None else collision
    sh = _shell_arrays(net, col)
    arrays = _collision_arrays(net, col, sh.off)
    g, _ = real_gauge(qubit_branches(net.cavity(0)))
    shell = sh.a + sh.b
    ga, gb = net.gamma_tr
    xa, xb = net.nbar
    na, nb = net.cutoff
    rate_a, rate_b = decay_rates(ga, xa, na), decay_rates(gb, xb, nb)
    loss = NetworkLossArrays(
        rate0=np.array([ga * xa, gb * xb]),
        rate1=np.array([ga * (2 * xa + 1), gb * (2 * xb + 1)]),
        emit=np.array([ga * (xa + 1), gb * (xb + 1)]),
        absorb=np.array([ga * xa, gb * xb]),
        rates=rate_a[sh.a] + rate_b[sh.b],
        leak=interval_leak_vector(net)[sh.natural] if net.has_loss else np.zeros(net.dimension),
        fa1=np.exp(-0.5 * rate_a), fb1r=np.exp(-0.5 * rate_b)[::-1].copy(),
        cutoff=np.array([na, nb], dtype=np.int64),
    )  # fmt: skip
    return sh, arrays, loss, np.asarray(g ** shell.astype(np.float64), dtype=np.complex128)
