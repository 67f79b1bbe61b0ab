r"""Exact counting statistics at finite ``k``: moments and full distributions.

The tilted one-step channel :math:`T_z` (:mod:`trajectories.channels.tilted`) generates
the count's distribution: :math:`G_k(z) = \mathrm{Tr}[T_z^k\rho_0] = \sum_j P_k(j) z^j`.

- :func:`exact_moments`: mean and variance after every collision from the Taylor
  coefficients of :math:`T_{1+\varepsilon}` to second order (about three exact runs).
- :func:`exact_distribution`: :math:`G_k` on :math:`z_l = e^{2\pi i l/S}`, inverted by a
  discrete Fourier transform (:math:`\tilde P_k(r) = \sum_{j\equiv r\ (S)}P_k(j)`); only
  :math:`0\le s\le\pi` is propagated (:math:`G(\bar z) = \overline{G(z)}`).

Imperfect detection (``efficiency``, ``misread``; ``docs/COUNTING.md``): every function takes
the detection efficiency :math:`\eta` and the misread probabilities
:math:`(\epsilon_e, \epsilon_g)` and computes the statistics of the *detected* count, from
the tilted channel with each counted event's ``z`` replaced by its detection generating
function (:class:`~trajectories.channels.tilted.Detection`). The defaults (perfect
detection) run exactly the same arithmetic as without them.

Grid size (tail bound). The window :math:`[j_{lo}, j_{lo}+S)` of each checkpoint is sized
from a Chernoff bound evaluated *exactly*: :math:`M_k(\lambda) = \mathrm{Tr}[T_{e^\lambda}^k
\rho_0]` for a ladder of real :math:`\lambda`, and

.. math:: P(J\ge j)\le\min_{\lambda>0}M_k(\lambda)e^{-\lambda j},\qquad
          P(J\le j)\le\min_{\lambda>0}M_k(-\lambda)e^{\lambda j},

so the mass outside the window (reported as ``tail_mass``) is rigorously below ``tail``;
aliasing then moves at most that mass. A posteriori check: the mean and variance of the
recovered distribution against the exact moments.

Never an ``N^2 x N^2`` matrix: per step O(S N^2) for the collision and O(S N^3 / 3) for the
loss blocks; O(S N^2) in the populations sector (incoherent qubits, diagonal initial state).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import numpy as np

from ..._threads import single_threaded_blas
from ...channels.collisions import keeps_diagonal
from ...channels.tilted import COUNTS, QUBIT_COUNTS, Detection, TiltedChannel
from ...errors import TruncationError
from ...model.micromaser import Micromaser
from ...model.network import Network
from ...model.states import as_density_matrix
from ...progress import Progress, ProgressArg
from ...validation import checkpoint_array, integer_at_least, real_in_range
from ..exact import DEFAULT_LEAKAGE_TOL
from .results import ExactCounting, ExactMoments

__all__ = ["ExactMoments", "ExactCounting", "exact_moments", "exact_distribution"]

#: Memory budget for the tilted loss blocks of one batch of grid points (bytes).
_BLOCK_MEMORY = 400 * 2**20


def _check_count(count: str) -> str:
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    return count


def _detection(count: str, efficiency: float, misread: tuple[float, float]) -> Detection:
    """Validated detection for ``count`` (one-line ``ValueError`` naming the parameter)."""
    _check_count(count)
    det = Detection(efficiency, misread)
    det.check_count(count)
    return det


def _trace(x: np.ndarray, populations: bool) -> np.ndarray:
    return x.sum(axis=-1) if populations else np.trace(x, axis1=-2, axis2=-1)


def _prepare(
    model: Micromaser,
    n_collisions: int,
    count: str,
    initial_state: np.ndarray | None,
    checkpoints: Iterable[int] | None,
) -> tuple[int, np.ndarray, np.ndarray, bool]:
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    _check_count(count)
    n_collisions = integer_at_least("n_collisions", n_collisions, 0)
    ks = checkpoint_array(checkpoints, n_collisions)
    rho0 = as_density_matrix(initial_state, model.cutoff)
    # incoherent qubits: every Kraus operator and the loss keep the diagonal index d of rho,
    # and the trace sees only d = 0, so the counts depend on the initial populations alone
    populations = keeps_diagonal(model)
    return n_collisions, ks, rho0, populations


def _initial_stack(rho0: np.ndarray, size: int, populations: bool) -> np.ndarray:
    if populations:
        x = np.diagonal(rho0).real.astype(np.complex128)
        return np.repeat(x[None], size, axis=0)
    return np.repeat(rho0.astype(np.complex128)[None], size, axis=0)


def _mandel(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean != 0.0, var / mean - 1.0, np.nan)


def exact_moments(
    model: Micromaser,
    n_collisions: int,
    count: str,
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    progress: ProgressArg = None,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
) -> ExactMoments:
    r"""Exact mean and variance of a count after ``k`` collisions, for every checkpoint.

    Propagates the Taylor coefficients of the tilted state
    :math:`X(1+\varepsilon) = X_0 + \varepsilon X_1 + \varepsilon^2 X_2`: then
    :math:`\mathrm{Tr}X_1 = E[J]` and :math:`2\mathrm{Tr}X_2 = E[J(J-1)]` (factorial
    moments). The count is re-centred on its running mean after every collision, so the
    variance has no cancellation. Exact (no sampling, no truncation beyond the leak); costs
    about three exact solver runs.

    Parameters
    ----------
    model : Micromaser
        The model; its collision must be the same at every collision.
    n_collisions : int
        Number of collisions, ``>= 0``.
    count : {"g", "e", "emission", "absorption", "net"}
        The counted event (``"net"`` = absorptions - emissions; ``docs/COUNTING.md``).
    initial_state : array_like, shape (N,) or (N, N), optional
        State vector or density matrix; default the vacuum.
    checkpoints : iterable of int, optional
        Collisions at which to report; default every collision ``0 .. n_collisions``.
    leakage_tol : float, optional
        Largest population allowed to leave through the cutoff, else
        :class:`~trajectories.errors.TruncationError`; ``inf`` disables the check.
    progress : None, bool or callable, optional
        Progress over the collisions (:mod:`trajectories.progress`): ``None`` (default) a
        bar when a person watches, ``True`` always, ``False`` never, or a hook called as
        ``progress(collisions_done, last_checkpoint)``.
    efficiency : float, optional
        Detection efficiency :math:`\eta \in [0, 1]` of the counted events (default 1):
        each qubit or bath photon is detected independently with this probability.
    misread : tuple of two floats, optional
        :math:`(\epsilon_e, \epsilon_g)`, each in ``[0, 1]`` (default ``(0, 0)``): a
        detected qubit in e is read as g with probability :math:`\epsilon_e`, one in g as e
        with :math:`\epsilon_g`. Qubit counts only.

    Returns
    -------
    ExactMoments
        Per checkpoint ``(C,)``: mean and variance (counts, dimensionless), Mandel Q; of the
        detected count when detection is imperfect.

    Raises
    ------
    ValueError
        For invalid arguments (one line naming the parameter, its value and range; misreads
        of a bath count), or a collision that changes from collision to collision.
    TruncationError
        When the leaked population exceeds ``leakage_tol``.

    Examples
    --------
    After one collision from the vacuum the qubit leaves in ``g`` with probability
    :math:`q + (1-q)\sin^2\theta` (= 0.4375 at :math:`q = 1/4`, :math:`\theta = \pi/6`):

    >>> import math
    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=math.pi / 6, q=0.25, cutoff=10)
    >>> mom = exact_moments(m, 2, "g")
    >>> [round(float(x), 10) for x in mom.mean]
    [0.0, 0.4375, 0.8921294449]
    """
    if isinstance(model, Network):
        from .network import network_moments

        return network_moments(
            model, n_collisions, count, initial_state=initial_state, checkpoints=checkpoints,
            leakage_tol=leakage_tol, efficiency=efficiency, misread=misread,
        )  # fmt: skip
    det = _detection(count, efficiency, misread)
    n, ks, rho0, pops = _prepare(model, n_collisions, count, initial_state, checkpoints)
    if leakage_tol != float("inf"):
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    last = int(ks[-1])
    with (
        single_threaded_blas(),
        Progress(progress, last, desc=f"exact moments of {count}", unit="collisions") as report,
    ):
        tilt = TiltedChannel(model, count, pops, det)
        fb = tilt.taylor_blocks()
        x = _initial_stack(rho0, 3, pops)
        x[1:] = 0.0
        out = np.zeros((3, ks.size))
        shift = np.zeros(ks.size)
        total_shift = 0.0
        c = 0
        for k in range(n + 1):
            if k > 0:
                y = tilt.collide(x, None)
                if not tilt.bath:
                    y[1:] += tilt.counted_sum(x[:2])
                if fb is not None:
                    f0, f1, f2 = fb
                    z = f0.apply(y)
                    if tilt.bath:
                        z1 = f1.apply(y[:2])
                        z[1:] += z1
                        z[2] += f2.apply(y[:1])[0]
                    y = z
                x = y
                t0 = float(_trace(x[0], pops).real)
                leak = 1.0 - t0
                if leak > leakage_tol:
                    raise TruncationError(model.cutoff, leak, leakage_tol, k)
                # centre: count J - C with C the mean so far, multiplying by z^-c,
                # (1+eps)^-c = 1 - c eps + c(c+1)/2 eps^2, so Tr X_1 stays 0 and
                # Tr X_2 = Var/2 without cancellation
                inc = float(_trace(x[1], pops).real) / t0
                x[2] += -inc * x[1] + 0.5 * inc * (inc + 1.0) * x[0]
                x[1] -= inc * x[0]
                total_shift += inc
                report(k)
            if k == ks[c]:
                out[:, c] = _trace(x, pops).real
                shift[c] = total_shift
                c += 1
                if c == ks.size:
                    break
    # moments of the distribution conditioned on no leakage (differs by O(leakage))
    d1 = out[1] / out[0]
    mean = shift + d1
    var = (2.0 * out[2] + out[1]) / out[0] - d1**2
    return ExactMoments(
        count, ks, mean, var, _mandel(mean, var), 1.0 - out[0], det.efficiency, det.misread
    )


#: Chernoff ladder: lambda = 2^(m/2), m = -16 .. 6 (0.0039 .. 8).
_LADDER = 2.0 ** (np.arange(-16, 7) / 2.0)


def _natural_bounds(count: str, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Support bounds that hold by construction: ``0 <= J <= k`` for qubits, ``J >= 0`` for
    single bath counts; ``+-inf`` where there is none."""
    k = np.asarray(k, dtype=np.float64)
    if count in QUBIT_COUNTS:
        return np.zeros_like(k), k
    if count == "net":
        return np.full_like(k, -np.inf), np.full_like(k, np.inf)
    return np.zeros_like(k), np.full_like(k, np.inf)


def _propagate_traces(
    tilt: TiltedChannel,
    rho0: np.ndarray,
    z: np.ndarray,
    ks: np.ndarray,
    normalise: bool,
    tick: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``log Tr[T_z^k rho0]`` (normalise=True, real positive z) or ``Tr[T_z^k rho0]``.

    Returns (C, S) for the checkpoints ``ks``; the stack is split in batches so the per-z loss
    blocks stay within :data:`_BLOCK_MEMORY`. ``tick(points)`` is called after each collision
    of each batch with the number of grid points just propagated.
    """
    n = tilt.n
    per_z = 16 * (n if tilt.populations else sum((n - d) ** 2 for d in range(n)))
    per_z = per_z if tilt.has_loss and tilt.bath else 0
    per_z += 16 * (n if tilt.populations else n * n) * 6
    batch = max(1, int(_BLOCK_MEMORY // max(per_z, 1)))
    out = np.zeros((ks.size, z.size), dtype=np.float64 if normalise else np.complex128)
    for b0 in range(0, z.size, batch):
        zb = z[b0 : b0 + batch]
        blocks = tilt.loss_blocks(zb)
        x = _initial_stack(rho0, zb.size, tilt.populations)
        logscale = np.zeros(zb.size)
        c = 0
        for k in range(int(ks[-1]) + 1):
            if k > 0:
                x = tilt.collide(x, zb)
                if blocks is not None:
                    x = blocks.apply(x)
                if normalise:
                    scale = np.abs(_trace(x, tilt.populations))
                    scale = np.where(scale > 0.0, scale, 1.0)
                    x /= scale.reshape((-1,) + (1,) * (x.ndim - 1))
                    logscale += np.log(scale)
                if tick is not None:
                    tick(zb.size)
            if k == ks[c]:
                t = _trace(x, tilt.populations)
                if normalise:
                    with np.errstate(divide="ignore"):
                        out[c, b0 : b0 + batch] = np.log(np.abs(t.real)) + logscale
                else:
                    out[c, b0 : b0 + batch] = t
                c += 1
    return out


def _chernoff_window(
    log_m_up: np.ndarray,
    log_m_dn: np.ndarray,
    lam: np.ndarray,
    tail: float,
    lo_nat: np.ndarray,
    hi_nat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window ``[lo, hi]`` per checkpoint with Chernoff-bounded mass outside, and that mass.

    ``log_m_up``/``log_m_dn`` (C, L): ``log E[e^{+-lambda J}]`` for the ladder ``lam`` (L,).
    """
    half = math.log(tail / 2.0)
    with np.errstate(invalid="ignore"):
        # P(J >= h+1) <= exp(logM(l) - l (h+1)) <= tail/2  <=>  h >= (logM - half)/l - 1
        hi = np.ceil(np.min((log_m_up - half) / lam, axis=1) - 1.0)
        # P(J <= lo-1) <= exp(logM(-l) + l (lo-1)) <= tail/2  <=>  lo <= (half - logM)/l + 1
        lo = np.floor(np.max((half - log_m_dn) / lam, axis=1) + 1.0)
    hi = np.minimum(hi, hi_nat)
    lo = np.maximum(lo, lo_nat)
    hi = np.maximum(hi, lo)
    up_mass = np.where(
        hi >= hi_nat, 0.0, np.exp(np.min(log_m_up - lam * (hi[:, None] + 1.0), axis=1))
    )
    dn_mass = np.where(
        lo <= lo_nat, 0.0, np.exp(np.min(log_m_dn + lam * (lo[:, None] - 1.0), axis=1))
    )
    return lo.astype(np.int64), hi.astype(np.int64), up_mass + dn_mass


#: Cost of one collision of the moments pass, in grid-point collisions (measured, N = 60).
_MOMENT_POINTS = 4


class _Work:
    """Work in grid-point collisions, reported as collisions of ``last`` (monotone)."""

    def __init__(self, report: Progress, last: int):
        self.report, self.last = report, last
        self.done, self.total = 0.0, float(_MOMENT_POINTS * max(last, 1))

    def expect(self, total: float) -> None:
        self.total = max(float(total), self.done, 1.0)

    def at(self, units: float) -> None:
        self.done = float(units)
        self.report(min(self.last, int(self.last * self.done / self.total)))

    def add(self, units: float) -> None:
        self.at(self.done + units)


def exact_distribution(
    model: Micromaser,
    n_collisions: int,
    count: str,
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    tail: float = 1e-14,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    progress: ProgressArg = None,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
) -> ExactCounting:
    r"""Exact distribution ``P(count = j after k collisions)`` by tilting the one-step channel.

    Evaluates :math:`G_k(s) = \mathrm{Tr}[T_{e^{is}}^k\rho_0]` on ``S`` points
    :math:`s = 2\pi l/S` and inverts with a DFT (module docstring). ``S`` is the widest
    window, over the checkpoints, outside which a Chernoff bound computed from the exact
    :math:`\mathrm{Tr}[T_{e^{\pm\lambda}}^k\rho_0]` leaves less than ``tail``. Never builds an
    ``N^2 x N^2`` matrix: per step, O(S N^2) for the collision and O(S N^3 / 3) for the loss
    blocks (O(S N^2) in the populations sector when the qubits are incoherent and the initial
    state diagonal).

    Parameters
    ----------
    model : Micromaser
        The model; its collision must be the same at every collision.
    n_collisions : int
        Number of collisions, ``>= 0``.
    count : {"g", "e", "emission", "absorption", "net"}
        See :mod:`trajectories.statistics.counting` (``"net"`` = absorptions - emissions).
    initial_state : array, optional
        State vector ``(N,)`` or density matrix ``(N, N)``; default the vacuum.
    checkpoints : iterable of int, optional
        Collisions at which to report; default every collision ``0 .. n_collisions``.
    tail : float
        Largest probability allowed outside the computed window, in ``(0, 1e-3]``.
    leakage_tol : float
        Largest population allowed to leave through the cutoff, else
        :class:`~trajectories.errors.TruncationError`.
    progress : None, bool or callable, optional
        Progress (:mod:`trajectories.progress`): ``None`` (default) a bar when a person
        watches, ``True`` always, ``False`` never, or a hook called as
        ``progress(done, last_checkpoint)``. ``done`` counts collisions of the three passes
        (moments, Chernoff ladder, grid) weighted by their cost, so it reaches the last
        checkpoint when the work is done.
    efficiency : float, optional
        Detection efficiency :math:`\eta \in [0, 1]` of the counted events (default 1):
        each qubit or bath photon is detected independently with this probability.
    misread : tuple of two floats, optional
        :math:`(\epsilon_e, \epsilon_g)`, each in ``[0, 1]`` (default ``(0, 0)``): a
        detected qubit in e is read as g with probability :math:`\epsilon_e`, one in g as e
        with :math:`\epsilon_g`. Qubit counts only.

    Returns
    -------
    ExactCounting
        ``probabilities`` (C, J) on ``values`` (J,), exact mean, variance and Mandel Q per
        checkpoint, ``tail_mass`` (the bound on the mass outside the window), ``k``; of the
        detected count when detection is imperfect (then ``P_eta(j) = sum_n P(n) C(n, j)
        eta^j (1 - eta)^(n - j)`` without misreads, and Mandel Q is ``eta`` times that of
        perfect detection).

    Raises
    ------
    ValueError
        For invalid arguments (one line naming the parameter, its value and range; misreads
        of a bath count), or a collision that changes from collision to collision.
    TruncationError
        When the leaked population exceeds ``leakage_tol``.
    RuntimeError
        If the recovered distribution does not reproduce the exact moments (aliasing: a
        bug, never expected).

    Examples
    --------
    >>> import math
    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=math.pi / 6, q=0.25, cutoff=10)
    >>> dist = exact_distribution(m, 2, "g")
    >>> values, p = dist.at(1)  # P(g) = q + (1 - q) sin^2(theta) after one collision
    >>> values.tolist(), (p.round(10) + 0.0).tolist()
    ([0, 1, 2], [0.5625, 0.4375, 0.0])
    """
    if isinstance(model, Network):
        from .network import network_distribution

        return network_distribution(
            model, n_collisions, count, initial_state=initial_state, checkpoints=checkpoints,
            leakage_tol=leakage_tol, efficiency=efficiency, misread=misread,
        )  # fmt: skip
    t0 = time.perf_counter()
    det = _detection(count, efficiency, misread)
    tail = real_in_range("tail", tail, 1e-300, 1e-3, allowed="in (0, 1e-3]")
    n, ks, rho0, pops = _prepare(model, n_collisions, count, initial_state, checkpoints)
    last = int(ks[-1])
    with Progress(
        progress, last, desc=f"exact distribution of {count}", unit="collisions"
    ) as report:
        work = _Work(report, last)
        # until the moments are known: a count's standard deviation of about sqrt(k / 4)
        sigma_guess = math.sqrt(max(last, 1) / 4.0)
        work.expect(last * (_MOMENT_POINTS + 30 + (17.0 * sigma_guess + 10.0) / 2))
        mom = exact_moments(
            model,
            n_collisions,
            count,
            initial_state=initial_state,
            checkpoints=checkpoints,
            leakage_tol=leakage_tol,
            progress=lambda done, total: work.at(_MOMENT_POINTS * done),
            efficiency=det.efficiency,
            misread=det.misread,
        )
        with single_threaded_blas():
            tilt = TiltedChannel(model, count, pops, det)
            # optimal Chernoff lambda for a tail of 1e-14 is about 8/sigma (Gaussian) or
            # larger (skewed, small counts): ladder values far below 1/sigma_max can never
            # be optimal
            sigma_max = math.sqrt(max(float(np.max(mom.variance)), 1e-300))
            lam = _LADDER[_LADDER >= min(0.5 / sigma_max, 1.0)]
            if tilt.bath:  # keep exp(G_d(z)) finite: z * (largest jump rate) below ~200
                rate = model.gamma_tr * (2.0 * model.nbar + 1.0) * model.cutoff
                # random arrivals: E_T[exp(G(z) T)] is finite only while the growth rate of
                # G(z), at most rate (z - 1), stays below the decay of the interval
                # distribution: 1 (Poisson), -log(1 - p)/p (Bernoulli)
                arr = model.arrivals
                grow = {"regular": 200.0, "poisson": 0.5}.get(arr.kind)
                if grow is None:
                    grow = -0.5 * math.log1p(-arr.p) / arr.p
                lam = lam[lam <= math.log1p(grow / max(rate, 1e-300))]
                lam = lam if lam.size else _LADDER[:1]
            # work in grid-point collisions: the grid's size estimated from the variance
            work.expect(last * (_MOMENT_POINTS + 2 * lam.size + (17.0 * sigma_max + 10.0) / 2))
            z_real = np.concatenate([np.exp(lam), np.exp(-lam)]).astype(np.complex128)
            logm = _propagate_traces(tilt, rho0, z_real, ks, normalise=True, tick=work.add)
            lo_nat, hi_nat = _natural_bounds(count, ks)
            lo, hi, tail_mass = _chernoff_window(
                logm[:, : lam.size], logm[:, lam.size :], lam, tail, lo_nat, hi_nat
            )
            size = int(np.max(hi - lo + 1))
            half = size // 2 + 1
            work.expect(last * (_MOMENT_POINTS + 2 * lam.size + half))
            grid = np.exp(2j * np.pi * np.arange(half) / size)
            gen = _propagate_traces(tilt, rho0, grid, ks, normalise=False, tick=work.add)
        report(last)
    aliased = np.fft.irfft(np.conj(gen), n=size, axis=1)  # (C, S): P summed over j mod S
    j_min = int(min(0, lo.min()))
    j_max = int(np.max(np.minimum(lo + size - 1, np.where(np.isfinite(hi_nat), hi_nat, np.inf))))
    values = np.arange(j_min, j_max + 1)
    probs = np.zeros((ks.size, values.size))
    for c in range(ks.size):
        js = np.arange(lo[c], lo[c] + size)
        inside = (js >= lo_nat[c]) & (js <= hi_nat[c])
        js = js[inside]
        probs[c, js - j_min] = aliased[c, np.mod(js, size)]
        if mom.variance[c] == 0.0 and mom.mean[c] == round(mom.mean[c]):  # e.g. k = 0
            total = probs[c].sum()
            probs[c] = 0.0
            probs[c, int(round(mom.mean[c])) - j_min] = total
    norm = probs.sum(axis=1)  # 1 - leakage: compare moments conditioned on no leakage
    mean_p = probs @ values / norm
    var_p = (probs * (values[None, :] - mean_p[:, None]) ** 2).sum(axis=1) / norm
    alias = np.abs(mean_p - mom.mean) + np.abs(var_p - mom.variance)
    scale = 1.0 + np.abs(mom.mean) + mom.variance
    if np.any(alias > 1e-7 * scale):
        c = int(np.argmax(alias / scale))
        raise RuntimeError(
            f"exact_distribution: the DFT of the generating function does not reproduce the "
            f"exact moments at k = {ks[c]} (mean {mean_p[c]:.12g} vs {mom.mean[c]:.12g}, "
            f"variance {var_p[c]:.12g} vs {mom.variance[c]:.12g}); please report this"
        )
    return ExactCounting(
        count=count,
        k=ks,
        values=values,
        probabilities=probs,
        mean=mom.mean,
        variance=mom.variance,
        mandel_q=mom.mandel_q,
        tail_mass=tail_mass,
        window=np.stack([lo, lo + size - 1], axis=1),
        grid_size=size,
        alias_check=alias,
        leakage=mom.leakage,
        seconds=time.perf_counter() - t0,
        efficiency=det.efficiency,
        misread=det.misread,
    )
