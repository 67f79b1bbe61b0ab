r"""The scaled cumulant generating function of a count, from the tilted channel, matrix-free.

For a count :math:`N_K` over K collisions, :math:`\theta(s) = \lim_K K^{-1}
\ln E[e^{-s N_K}]` is the logarithm of the leading eigenvalue of the tilted one-step
channel :math:`T_z` at :math:`z = e^{-s}` (:mod:`trajectories.channels.tilted`; a positive
map, so the eigenvalue is real, positive and simple when the chain is irreducible). It is
computed by ARPACK on the channel applied to one matrix (``N^2`` unknowns, or ``N`` in the
populations sector for incoherent qubits), warm-started along ``s`` from the previous
eigenvector; nothing of size ``N^2 x N^2`` is built. :math:`-\theta'(0)` is the stationary
rate of the count per collision and :math:`\theta''(0)` its variance rate (``docs/MODEL.md``,
Sec. 10).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

from ..._threads import single_threaded_blas
from ...channels.collisions import collision_sequence, keeps_diagonal
from ...channels.tilted import TiltedChannel
from ...model.micromaser import Micromaser
from ...model.network import Network
from ...model.protocol import Stage
from ...model.states import as_density_matrix
from ...validation import real_in_range
from .exact import _detection
from .network import _Tilted as _NetworkTilted
from .network import _weights as _network_weights

#: Population transfers below this fraction of the largest one are structural zeros when
#: the levels a run can reach are found (a trapping state's sin(pi) is 1e-16, not 0).
REACH_THRESHOLD = 1e-20
#: Krylov vectors ARPACK keeps for the two leading eigenvalues: more than its default
#: (5) costs little per iteration and saves restarts (measured along 201 values of s at
#: N = 60, coherent qubits: 63,570 matrix-vector products with 5, 24,600 with 40).
KRYLOV_VECTORS = 40
#: ARPACK's tolerance when it finds the separation ``|lambda_2| / lambda_1`` (the leading
#: eigenvalue is then refined alone, to ``tol``) is this fraction of ``1 - max_ratio``: two
#: eigenvalues closer than the tolerance can pass for one, so a looser first step could miss
#: the partner of a nearly degenerate pair and report a false separation (measured: the
#: detuned gamma t_r = 0.001 battery passed at 1e-6 with a ratio of 0.99, refused at 1e-10).
RATIO_TOL_FRACTION = 0.1
#: Below this spectral gap of the untilted channel (``1 - |lambda_2|/lambda_1`` at s = 0:
#: basins that exchange weight this slowly) every s starts from a generic vector instead of
#: the previous eigenvector, which can hold almost no weight on the basin that leads at the
#: next s (a sweep then follows a subdominant branch; about 2.5x more products).
WARM_START_GAP = 1e-6

__all__ = ["SCGF", "scgf", "RateFunction", "rate_function"]


@dataclasses.dataclass(frozen=True)
class SCGF:
    r"""The scaled cumulant generating function of a count per collision.

    Attributes
    ----------
    count : str
        The counted event.
    s : ndarray of float64, shape (S,)
        The counting fields (conjugate to the count: weight ``exp(-s)`` per event).
    theta : ndarray of float64, shape (S,)
        :math:`\theta(s)`, the log of the leading eigenvalue of the tilted channel (per
        collision).
    ratio : ndarray of float64, shape (S,)
        ``|lambda_2| / lambda_1`` of the tilted channel at each ``s``: the separation of the
        leading eigenvalue (1 would be degenerate).
    dimension : int
        Unknowns of the eigenproblem (``N`` or ``N^2``).
    """

    count: str
    s: np.ndarray
    theta: np.ndarray
    ratio: np.ndarray
    dimension: int


def scgf(
    model: Micromaser | Stage | Network,
    s: float | np.ndarray,
    count: str,
    *,
    tol: float = 1e-13,
    max_ratio: float = 1.0 - 1e-9,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
    initial_state: np.ndarray | None = None,
) -> SCGF:
    r""":math:`\theta(s)` of a count, per collision, at each ``s``, matrix-free.

    Parameters
    ----------
    model : Micromaser, Stage or Network
        The model: any interaction (a Rabi collision with ``omega_tr`` needs a periodic
        schedule of phases: theta is then ``ln(lambda) / P`` of the product of the ``P``
        channels of one period), arrivals, theta spread; a protocol's
        :class:`~trajectories.model.protocol.Stage` (its model, from its own initial state
        when it has one); or a :class:`~trajectories.model.network.Network` of two
        cavities (the outgoing qubits, ``"g"`` or ``"e"``, on the joint density matrix).
    s : float or array_like of float, shape (S,)
        Counting fields, finite; each event weighs ``exp(-s)``.
    count : {"g", "e", "emission", "absorption", "net", "changed"}
        The counted event (:data:`~trajectories.channels.tilted.COUNTS`; ``"changed"``
        for qubits that arrive in ``|e>`` or ``|g>``).
    tol : float, optional
        ARPACK's relative tolerance on the eigenvalue (default 1e-13).
    max_ratio : float, optional
        Largest ``|lambda_2| / lambda_1`` accepted: closer to 1 the leading eigenvalue is not
        separated (degenerate or nearly so) and the answer would depend on the starting
        vector; refused with a ``ValueError`` (default ``1 - 1e-9``).
    efficiency, misread : optional
        Detection of the counted events, as for
        :func:`~trajectories.solvers.counting.exact.exact_distribution`.
    initial_state : array, optional
        Vector or density matrix the counts start from (default the vacuum). Only the Fock
        levels it can reach matter: theta is the leading eigenvalue of the channel on the
        matrices supported there (a level behind a trapping state, or above the vacuum
        without interaction, is never reached and does not count). Networks: the joint
        state (the whole joint space counts).

    Returns
    -------
    SCGF
        ``theta`` per ``s`` (dimensionless, per collision) and the separation ratio.

    Raises
    ------
    ValueError
        Before any work: a non-finite ``s``, an unknown count or one the model does not
        define, detection outside ``[0, 1]``, a Rabi schedule without a period. During the
        work: a leading eigenvalue that is not separated (or not real positive).

    Examples
    --------
    Lossless incoherent qubits that never interact (theta = 0): each qubit leaves in g with
    probability q, so :math:`\theta(s) = \ln(q e^{-s} + 1 - q)`:

    >>> import numpy as np, trajectories as tj
    >>> m = tj.Micromaser(theta=0.0, q=0.3, cutoff=6)  # the vacuum stays the vacuum
    >>> out = scgf(m, [-1.0, 0.5], "g")
    >>> np.allclose(out.theta, np.log(0.3 * np.exp(-out.s) + 0.7), atol=1e-12)
    True
    """
    if isinstance(model, Stage):
        if initial_state is None:
            initial_state = model.initial_state
        model = model.model
    if not isinstance(model, (Micromaser, Network)):
        raise ValueError(
            f"model must be a Micromaser, a protocol Stage or a Network, got {type(model).__name__}"
        )
    s_arr = np.atleast_1d(np.asarray(s, dtype=np.float64))
    if s_arr.ndim != 1 or s_arr.size == 0 or not np.all(np.isfinite(s_arr)):
        raise ValueError(f"s must be finite real numbers, got {s!r}")
    tol = real_in_range("tol", tol, 0.0)
    max_ratio = real_in_range("max_ratio", max_ratio, 0.0, 1.0)
    if isinstance(model, Network):
        return _network_scgf(model, s_arr, count, tol, max_ratio, efficiency, misread,
                             initial_state)  # fmt: skip
    det = _detection(count, efficiency, misread)
    n = model.cutoff
    pops = keeps_diagonal(model)
    dim = n if pops else n * n
    shape = (1, n) if pops else (1, n, n)
    rho0 = as_density_matrix(initial_state, n)
    with single_threaded_blas():  # small dense blocks: BLAS threads only contend
        tilts = _period(model, count, pops, det)
        mask = _reachable_mask(tilts, rho0, pops)
        shared = None if tilts[0].bath else tilts[0].loss_blocks(None)  # qubit counts: one loss

    def operator(z: np.ndarray):
        blocks = shared if shared is not None else tilts[0].loss_blocks(z)

        def step(x: np.ndarray) -> np.ndarray:
            y = np.asarray(x, dtype=np.complex128).reshape(shape)
            for tilt in tilts:
                y = tilt.collide(y, z)
                y = blocks.apply(y) if blocks is not None else y
            return y.reshape(dim) * mask

        return step

    return _solve(count, s_arr, operator, dim, mask, tol, max_ratio, len(tilts))


def _period(model: Micromaser, count: str, pops: bool, det) -> list[TiltedChannel]:
    """The tilted channels of one period of the collision schedule (one for most models)."""
    period = collision_sequence(model).period
    if period is None:
        raise ValueError(
            "theta(s) needs a periodic collision schedule: this Rabi collision's phases "
            "(omega_tr) do not repeat, so every collision differs; use Rabi(omega_tr=None) "
            "or an omega_tr whose phase 2 omega t_r is a rational multiple of 2 pi"
        )
    if period == 1:
        return [TiltedChannel(model, count, pops, det)]
    return [TiltedChannel(model, count, pops, det, collision=k) for k in range(1, period + 1)]


def _solve(count, s_arr, operator, dim, mask, tol, max_ratio, period) -> SCGF:
    """Leading eigenvalue at each ``s`` (warm-started unless the untilted chain is nearly
    reducible), checked; theta per collision."""
    dim_r = int(mask.sum())
    theta = np.empty(s_arr.size)
    ratio = np.empty(s_arr.size)
    v0 = None
    with single_threaded_blas():
        one = np.ones(1, dtype=np.complex128)
        lam0, _ = _leading(operator(one), dim, dim_r, mask, None, tol, max_ratio)
        warm = lam0.size < 2 or 1.0 - abs(lam0[1]) / abs(lam0[0]) > WARM_START_GAP
        for j, sj in enumerate(s_arr):
            z = np.array([math.exp(-sj)], dtype=np.complex128)
            lam, vec = _leading(operator(z), dim, dim_r, mask, v0, tol, max_ratio)  # z's blocks
            r = float(abs(lam[1]) / abs(lam[0])) if lam.size > 1 else 0.0
            if abs(lam[0].imag) > 1e-9 * abs(lam[0]) or lam[0].real <= 0:
                raise ValueError(
                    f"the leading eigenvalue of the tilted channel at s = {sj:g} is not real "
                    f"positive ({lam[0]:.6g}, |lambda_2|/|lambda_1| = {r:.6f}): the top of the "
                    "spectrum is not resolved (nearly degenerate: at this s the tilted chain "
                    "may be pushed against the cutoff; compare a larger cutoff) or the chain "
                    "is not irreducible"
                )
            if r > max_ratio:
                raise ValueError(
                    f"the leading eigenvalue of the tilted channel at s = {sj:g} is not "
                    f"separated (|lambda_2|/lambda_1 = {r:.12f} > max_ratio = {max_ratio}): "
                    "theta(s) is not defined by one branch there; choose other s, or a model "
                    "whose chain is irreducible"
                )
            theta[j], ratio[j] = math.log(lam[0].real) / period, r
            v0 = vec if warm else None
    return SCGF(count=count, s=s_arr, theta=theta, ratio=ratio, dimension=dim)


def _network_scgf(net, s_arr, count, tol, max_ratio, efficiency, misread, initial_state):
    """theta(s) of the qubits leaving a network: ``T(z) = T + (z - 1) T_1`` on the joint
    density matrix (``D^2`` unknowns)."""
    weights = _network_weights(count, efficiency, misread)
    with single_threaded_blas():
        tilt = _NetworkTilted(net, weights)
    d = net.dimension
    if initial_state is not None:
        as_density_matrix(initial_state, d)  # validated; the whole joint space counts
    mask = np.ones(d * d)

    def operator(z: np.ndarray):
        zc = complex(z[0])

        def step(x: np.ndarray) -> np.ndarray:
            t0, t1 = tilt.both(np.asarray(x, dtype=np.complex128).reshape(d, d))
            return (t0 + (zc - 1.0) * t1).reshape(d * d)

        return step

    return _solve(count, s_arr, operator, d * d, mask, tol, max_ratio, 1)


def _reachable_mask(tilts: list[TiltedChannel], rho0: np.ndarray, pops: bool) -> np.ndarray:
    """Indicator (float, over the unknowns) of the matrices supported on the Fock levels
    the untilted channel can reach from ``rho0``'s support (fixed point of the populations
    of T applied to the projector on the levels reached so far)."""
    n = rho0.shape[0]
    reached = np.abs(np.diagonal(rho0)) > 0
    blocks = tilts[0].loss_blocks(None)
    while True:
        new = reached.copy()
        for tilt in tilts:  # each collision of the period, from every level reached so far
            p = new.astype(np.complex128)
            x = p[None, :] if pops else np.diag(p)[None]
            y = tilt.collide(x, None)
            y = (blocks.apply(y) if blocks is not None else y)[0]
            out = np.abs(y if pops else np.diagonal(y)).real
            new |= out > REACH_THRESHOLD * out.max()
        if np.array_equal(new, reached):
            break
        reached = new
    r = reached.astype(np.float64)
    return r if pops else np.outer(r, r).reshape(n * n)


def _leading(
    step,
    dim: int,
    dim_r: int,
    mask: np.ndarray,
    v0: np.ndarray | None,
    tol: float,
    max_ratio: float,
):
    """The two eigenvalues of largest modulus (first: the leading) and the leading vector,
    of the channel on the ``dim_r`` unknowns the mask keeps."""
    if dim_r <= 8:  # ARPACK needs k < dim - 1: a dense matrix is as cheap here
        keep = np.flatnonzero(mask)
        basis = np.eye(dim, dtype=np.complex128)[keep]
        mat = np.stack([step(e)[keep] for e in basis], axis=1)
        w, v = np.linalg.eig(mat)
        order = np.argsort(-np.abs(w))
        vec = np.zeros(dim, dtype=np.complex128)
        vec[keep] = v[:, order[0]]
        return w[order], vec
    generic = mask.astype(np.complex128) / math.sqrt(dim_r)  # every reachable entry
    if v0 is None:
        v0 = generic
    op = LinearOperator((dim, dim), matvec=step, dtype=np.complex128)
    # the separation first, resolved to a tenth of 1 - max_ratio
    ratio_tol = max(tol, min(1e-6, RATIO_TOL_FRACTION * (1.0 - max_ratio)))
    w, v = _eigs(op, 2, v0, ratio_tol, min(dim_r - 1, KRYLOV_VECTORS))
    order = np.argsort(-np.abs(w))
    lead, second = w[order[0]], w[order[1]]
    if abs(lead.imag) > 1e-9 * abs(lead) or abs(second) > (1.0 - 1e-5) * abs(lead):
        # nearly degenerate, or not resolved: both to full accuracy, then a wider window
        for k in (2, 6):
            w, v = _eigs(op, k, v0, tol, min(dim_r - 1, KRYLOV_VECTORS * k // 2))
            order = np.argsort(-np.abs(w))
            lead = w[order[0]]
            if abs(lead.imag) <= 1e-9 * abs(lead) or dim_r - 1 <= 6:
                break
        return w[order], v[:, order[0]]
    # then the leading eigenvalue alone, to full accuracy, from its vector
    w1, v1 = _eigs(op, 1, v[:, order[0]], tol, min(dim_r - 1, 10))
    return np.array([w1[0], second]), v1[:, 0]


def _eigs(op, k: int, v0: np.ndarray, tol: float, ncv: int):
    """``k`` eigenvalues of largest modulus (ARPACK); non-convergence as a ValueError."""
    try:
        return eigs(op, k=k, which="LM", v0=v0, tol=tol, maxiter=20 * op.shape[0], ncv=ncv)
    except ArpackNoConvergence as err:
        raise ValueError(
            f"ARPACK did not converge on the tilted channel ({err}): the leading eigenvalue "
            "is probably not separated"
        ) from None


@dataclasses.dataclass(frozen=True)
class RateFunction:
    r"""The rate function of a count per collision, by Legendre transform of theta(s).

    Attributes
    ----------
    count : str
        The counted event.
    s : ndarray of float64, shape (S,)
        The fields used.
    x : ndarray of float64, shape (S,)
        The count per collision each ``s`` selects, :math:`x(s) = -\theta'(s)`.
    rate : ndarray of float64, shape (S,)
        :math:`I(x(s)) = -s\,x(s) - \theta(s)` (per collision; ``P(N_K / K \approx x)
        \asymp e^{-K I(x)}``).
    theta : ndarray of float64, shape (S,)
        :math:`\theta(s)`.
    """

    count: str
    s: np.ndarray
    x: np.ndarray
    rate: np.ndarray
    theta: np.ndarray


def rate_function(
    model: Micromaser,
    count: str,
    s: np.ndarray | None = None,
    *,
    h: float = 1e-5,
    **kwargs,
) -> RateFunction:
    r"""The rate function :math:`I(x)` of a count, parametrised by the field ``s``.

    Where :math:`\theta` is smooth and strictly convex, :math:`I(x) = \sup_s[-s x -
    \theta(s)]` is reached at :math:`x = -\theta'(s)`: each ``s`` gives one point
    :math:`(x(s), I(x(s)))`, with :math:`\theta'` from a central difference of step ``h``.

    Parameters
    ----------
    model : Micromaser
        The model.
    count : str
        The counted event.
    s : array_like of float, optional
        The fields (default 201 values in ``[-2, 2]``).
    h : float, optional
        Step of the central difference (default 1e-5).
    **kwargs
        Passed to :func:`scgf`.

    Returns
    -------
    RateFunction
        ``x(s)``, ``I(x(s))`` and ``theta(s)``.
    """
    s_arr = np.linspace(-2.0, 2.0, 201) if s is None else np.atleast_1d(np.asarray(s, float))
    h = real_in_range("h", h, 0.0)
    if h == 0.0:
        raise ValueError(f"h must be > 0, got {h}")
    # one sweep over s - h, s, s + h in turn: each eigenproblem warm-starts from its neighbour
    grid = np.stack([s_arr - h, s_arr, s_arr + h], axis=1).reshape(-1)
    minus, th, plus = scgf(model, grid, count, **kwargs).theta.reshape(-1, 3).T
    x = -(plus - minus) / (2.0 * h)
    return RateFunction(count=count, s=s_arr, x=x, rate=-s_arr * x - th, theta=th)
