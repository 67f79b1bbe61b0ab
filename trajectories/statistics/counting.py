r"""Counting statistics: per-trajectory counts, and their exact distributions (SPEC Secs. 2-3).

A trajectory's records are what an experiment detects: which qubits left in ``g`` or ``e``
and when the cavity emitted a photon into its bath or absorbed one from it. This module turns
them into counting statistics and computes the same statistics exactly.

Counts (``count=``)
-------------------
``"g"``, ``"e"``
    qubits leaving the cavity in ``g`` / ``e`` (summed over the branch ``j`` they came in on).
``"emission"``, ``"absorption"``
    photons emitted into the bath (jumps ``a``) / absorbed from it (jumps ``a^dag``).
``"net"``
    photons the cavity gained from the bath, net: ``absorptions - emissions`` (can be < 0).

All are cumulative from collision 0 and are measurable records; the per-trajectory
:math:`\langle n\rangle_i` is *not* (it depends on the unravelling, SPEC Sec. 3).

Exact counting distributions (full counting statistics)
-------------------------------------------------------
The one-step channel :math:`T = \Lambda\circ\Phi` is tilted by a counting field,
:math:`z = e^{is}` on the counted part:

.. math::
    \Phi_z(X) = \sum_{j}K_{j,\bar o}XK_{j,\bar o}^\dagger + z\sum_j K_{j,o}XK_{j,o}^\dagger
    \qquad (o = \text{counted outcome}, \bar o \text{ the other one}),

or, for bath counts, :math:`\Lambda_z = e^{\mathcal L_z t_r}` with the jump term
:math:`\gamma(\bar n+1)aXa^\dagger` (emission) or :math:`\gamma\bar n a^\dagger X a`
(absorption) multiplied by :math:`z` (for ``"net"``: absorption by :math:`z`, emission by
:math:`z^{-1}`). :math:`\mathcal L_z` keeps the diagonal index ``d`` of ``X`` (loss.py), so
:math:`\Lambda_z` is the matrix exponential of each block generator :math:`G_d` with its
counted off-diagonal multiplied by :math:`z`, applied to the ``d``-th upper *and* lower
diagonal of ``X`` (the generator is symmetric in the two indices, so no Hermiticity of ``X``
is assumed: the tilted channels are not Hermiticity-preserving). Then

.. math:: G_k(z) = \mathrm{Tr}[T_z^k\rho_0] = \sum_j P_k(j) z^j,

evaluated at :math:`z_l = e^{2\pi i l/S}` and inverted by a discrete Fourier transform:
:math:`\tilde P_k(r) = S^{-1}\sum_l G_k(z_l)z_l^{-r} = \sum_{j\equiv r\ (S)}P_k(j)`.
Only :math:`0\le s\le\pi` is propagated (:math:`G(\bar z) = \overline{G(z)}`).

Grid size (tail bound). The window :math:`[j_{lo}, j_{lo}+S)` of each checkpoint is sized
from a Chernoff bound evaluated *exactly*: :math:`M_k(\lambda) = \mathrm{Tr}[T_{e^\lambda}^k
\rho_0]` for a ladder of real :math:`\lambda`, and

.. math:: P(J\ge j)\le\min_{\lambda>0}M_k(\lambda)e^{-\lambda j},\qquad
          P(J\le j)\le\min_{\lambda>0}M_k(-\lambda)e^{\lambda j},

so the mass outside the window (reported as ``tail_mass``) is rigorously below ``tail``;
aliasing then moves at most that mass. A posteriori check: the mean and variance of the
recovered distribution against the exact ones from a second-order Taylor expansion of
:math:`T_{1+\varepsilon}` (derivatives of the loss blocks from the exponential of a
block-triangular augmented generator).

Long-time rates
---------------
The leading eigenvalue :math:`\theta(z)` of :math:`T_z` gives the scaled cumulant
generating function :math:`\ln\theta(e^{u})` per collision. Its first two derivatives at
:math:`u = 0` come from Rayleigh-Schroedinger perturbation theory with the left and right
eigenvectors of the untilted channel :math:`T_{z=1}` (second order through a bordered linear
solve for the first-order eigenvector). The superoperators are built densely: ``N x N`` in the
populations sector when the qubits are incoherent (``c = 0``), ``N^2 x N^2`` otherwise, which
limits ``N`` (see :data:`DENSE_CUTOFF_LIMIT`).

Estimators from trajectories: mean, unbiased variance, Mandel :math:`Q = \mathrm{Var}/
\mathrm{mean} - 1`, and the first four cumulants as k-statistics (unbiased), each with a
delete-one jackknife standard error over trajectories (deterministic: no random numbers).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import linalg as sla

from .._threads import single_threaded_blas
from ..channels.jaynes_cummings import BandedKraus, CollisionChannel
from ..channels.loss import loss_generator_block
from ..errors import TruncationError
from ..model.micromaser import Micromaser
from ..model.states import as_density_matrix
from ..solvers.exact import DEFAULT_LEAKAGE_TOL
from ..solvers.montecarlo.result import EnsembleResult, Estimate
from ..validation import checkpoint_array, integer_at_least, real_in_range

__all__ = [
    "COUNTS",
    "UNRAVELLING_NOTE",
    "DENSE_CUTOFF_LIMIT",
    "POPULATION_CUTOFF_LIMIT",
    "CountStatistics",
    "ExactCounting",
    "ExactMoments",
    "StationaryRates",
    "WaitingTimes",
    "ChiSquare",
    "PerTrajectoryEnergy",
    "from_ensemble",
    "histogram",
    "chi_square",
    "exact_moments",
    "exact_distribution",
    "stationary_rates",
    "emission_waiting_times",
    "g_waiting_times",
    "energy_per_trajectory",
]

#: The counts this module knows: qubits leaving in g / e, bath emissions / absorptions,
#: and ``"net"`` = absorptions - emissions (photons the cavity gained from the bath).
COUNTS = ("g", "e", "emission", "absorption", "net")
_QUBIT_COUNTS = ("g", "e")

#: Label for every display of the per-trajectory <n>_i (SPEC Sec. 3).
UNRAVELLING_NOTE = (
    "<n>_i depends on the chosen unravelling and is not a measurable quantity; "
    "only its average over trajectories is"
)

#: Largest cutoff for the dense N^2 x N^2 superoperators of :func:`stationary_rates`
#: (coherent qubits): 1600 x 1600 complex matrices, a few seconds for the eigenproblem.
DENSE_CUTOFF_LIMIT = 40
#: Largest cutoff for the dense N x N populations-sector matrices (incoherent qubits).
POPULATION_CUTOFF_LIMIT = 2000
#: Memory budget for the tilted loss blocks of one batch of grid points (bytes).
_BLOCK_MEMORY = 400 * 2**20


def _check_count(count: str) -> str:
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    return count


# =========================================================================== trajectories
@dataclasses.dataclass(frozen=True, repr=False)
class CountStatistics:
    """Statistics across trajectories of one count, per checkpoint.

    Attributes
    ----------
    count : str
        One of :data:`COUNTS`.
    k : (C,) int
        Checkpoints (collisions).
    counts : (M, C) int64
        The count of each trajectory at each checkpoint (cumulative from collision 0).
    valid : (M, C) bool
        False where the trajectory had leaked through the cutoff by that checkpoint; those
        entries are left out of every statistic (the exact distributions drop that weight too).
    n_used : (C,) int
        Trajectories used per checkpoint.
    mean, variance, mandel_q : Estimate
        Per checkpoint ``(C,)``: sample mean, unbiased variance (``ddof = 1``), Mandel
        ``Q = variance/mean - 1`` (NaN where the mean is 0), each with its standard error.
    cumulants : tuple of 4 Estimate
        k-statistics (unbiased estimators) of the cumulants ``kappa_1 .. kappa_4``.
    error_method : str
        How the standard errors were obtained (delete-one jackknife over trajectories).
    """

    count: str
    k: np.ndarray
    counts: np.ndarray
    valid: np.ndarray
    n_used: np.ndarray
    mean: Estimate
    variance: Estimate
    mandel_q: Estimate
    cumulants: tuple[Estimate, Estimate, Estimate, Estimate]
    error_method: str
    model: Micromaser | None = None

    def index(self, k: int | None = None) -> int:
        """Index of the checkpoint nearest to ``k`` (the last one for ``None``)."""
        if k is None:
            return self.k.size - 1
        return int(np.argmin(np.abs(self.k - int(k))))

    def __repr__(self) -> str:
        i = -1
        return (
            f"CountStatistics(count={self.count!r}, M={self.counts.shape[0]}, "
            f"checkpoints={self.k.size}, at k = {self.k[i]}: mean = {self.mean.mean[i]:.6g} "
            f"± {self.mean.stderr[i]:.2g}, Mandel Q = {self.mandel_q.mean[i]:.4g} "
            f"± {self.mandel_q.stderr[i]:.2g})"
        )


def _counts_of(ens: EnsembleResult, count: str) -> np.ndarray:
    per = ens.per_trajectory
    if count == "g":
        return per.qubit_g.sum(axis=2, dtype=np.int64)
    if count == "e":
        return per.qubit_e.sum(axis=2, dtype=np.int64)
    if count == "emission":
        return per.emissions.astype(np.int64)
    if count == "absorption":
        return per.absorptions.astype(np.int64)
    return per.absorptions.astype(np.int64) - per.emissions.astype(np.int64)


def _stats_from_sums(s: np.ndarray, n: np.ndarray, shift: float) -> np.ndarray:
    """Mean, variance, Mandel Q, k1..k4 from power sums ``s[p] = sum y^p`` (p = 0..4).

    ``y = x - shift``; ``s`` has shape ``(5, ...)``, ``n`` the sample sizes ``(...)``.
    Returns shape ``(7, ...)``: mean, var, Q, k1, k2, k3, k4 (NaN where undefined).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = s[1] / n
        a2, a3, a4 = s[2] / n, s[3] / n, s[4] / n
        m2 = np.maximum(a2 - ybar**2, 0.0)
        m3 = a3 - 3.0 * ybar * a2 + 2.0 * ybar**3
        m4 = a4 - 4.0 * ybar * a3 + 6.0 * ybar**2 * a2 - 3.0 * ybar**4
        k1 = ybar + shift
        k2 = np.where(n > 1, n * m2 / (n - 1.0), np.nan)
        k3 = np.where(n > 2, n**2 * m3 / ((n - 1.0) * (n - 2.0)), np.nan)
        k4 = np.where(
            n > 3,
            n**2 * ((n + 1.0) * m4 - 3.0 * (n - 1.0) * m2**2) / ((n - 1.0) * (n - 2.0) * (n - 3.0)),
            np.nan,
        )
        q = np.where(k1 != 0.0, k2 / k1 - 1.0, np.nan)
    return np.array([k1, k2, q, k1, k2, k3, k4])


def _jackknife_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of integer samples ``x`` (n,) and their delete-one jackknife errors.

    Leave-one-out estimates depend only on the value left out, so they are computed once per
    distinct value and weighted by its multiplicity.
    """
    n = x.size
    if n == 0:
        return np.full(7, np.nan), np.full(7, np.nan)
    values, mult = np.unique(x, return_counts=True)
    shift = float(np.round(x.mean()))
    y = values.astype(np.float64) - shift
    powers = y[None, :] ** np.arange(5)[:, None]  # (5, V)
    s = powers @ mult  # (5,)
    full = _stats_from_sums(s, np.asarray(float(n)), shift)
    if n < 2:
        return full, np.full(7, np.nan)
    loo = _stats_from_sums(s[:, None] - powers, np.full(values.size, n - 1.0), shift)  # (7, V)
    with np.errstate(invalid="ignore"):
        bar = (loo @ mult) / n
        se = np.sqrt((n - 1.0) / n * (((loo - bar[:, None]) ** 2) @ mult))
    return full, se


def from_ensemble(ens: EnsembleResult, count: str) -> CountStatistics:
    """Per-trajectory counts of an ensemble and their statistics at every checkpoint.

    Parameters
    ----------
    ens : EnsembleResult
        From :func:`trajectories.simulate` or :func:`trajectories.load`.
    count : {"g", "e", "emission", "absorption", "net"}
        ``"g"``/``"e"``: qubits that left in g / e (summed over incoming branches);
        ``"emission"``/``"absorption"``: photons emitted into / absorbed from the bath;
        ``"net"``: photons the cavity gained from the bath, net = absorptions - emissions.

    Returns
    -------
    CountStatistics
        Counts ``(M, C)`` (dimensionless integers), mean, variance, Mandel Q and the
        first four cumulants per checkpoint, with delete-one jackknife standard errors
        over trajectories (deterministic). Trajectories that leaked through the cutoff
        are left out from the checkpoint at which they leaked.
    """
    _check_count(count)
    counts = _counts_of(ens, count)
    valid = ens.per_trajectory.fock >= 0
    c = counts.shape[1]
    est = np.empty((7, c))
    err = np.empty((7, c))
    for i in range(c):
        est[:, i], err[:, i] = _jackknife_stats(counts[valid[:, i], i])
    cum = tuple(Estimate(est[3 + p], err[3 + p]) for p in range(4))
    return CountStatistics(
        count=count,
        k=np.asarray(ens.k, dtype=np.int64),
        counts=counts,
        valid=valid,
        n_used=valid.sum(axis=0),
        mean=Estimate(est[0], err[0]),
        variance=Estimate(est[1], err[1]),
        mandel_q=Estimate(est[2], err[2]),
        cumulants=cum,  # type: ignore[arg-type]
        error_method="delete-one jackknife over trajectories",
        model=ens.model,
    )


def histogram(
    stats: CountStatistics, k: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised histogram of a count across trajectories at the checkpoint nearest ``k``.

    Returns ``(values, frequency, stderr)``, each of shape ``(V,)``: every integer from the
    smallest to the largest observed count, the fraction of (non-leaked) trajectories with
    that count, and its binomial standard error ``sqrt(f (1 - f) / M)``.
    """
    i = stats.index(k)
    x = stats.counts[stats.valid[:, i], i]
    m = x.size
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    lo, hi = int(x.min()), int(x.max())
    values = np.arange(lo, hi + 1)
    f = np.bincount(x - lo, minlength=values.size) / m
    return values, f, np.sqrt(f * (1.0 - f) / m)


@dataclasses.dataclass(frozen=True)
class ChiSquare:
    """Pearson chi-square test of integer samples against a distribution.

    ``statistic``, ``dof`` (bins - 1), ``pvalue``; ``edges`` (B + 1,) are the merged bins'
    value boundaries (bin b holds ``edges[b] <= value < edges[b+1]``), ``observed`` and
    ``expected`` (B,) their counts.
    """

    statistic: float
    dof: int
    pvalue: float
    edges: np.ndarray
    observed: np.ndarray
    expected: np.ndarray


def chi_square(
    samples: np.ndarray,
    values: np.ndarray,
    probabilities: np.ndarray,
    *,
    min_expected: float = 5.0,
) -> ChiSquare:
    """Chi-square test of integer ``samples`` (M,) against ``probabilities`` (J,) on ``values``.

    ``values`` are consecutive integers. The probabilities are renormalised to sum to one
    (the exact distributions miss only the leaked weight). Adjacent values are merged, from
    the left, until each bin expects at least ``min_expected`` samples (the remainder joins
    the last bin); samples outside ``values`` join the nearest end bin.
    """
    samples = np.asarray(samples, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    if values.size != p.size or values.size == 0:
        raise ValueError("values and probabilities must have the same non-zero length")
    if values.size > 1 and np.any(np.diff(values) != 1):
        raise ValueError("values must be consecutive integers")
    m = samples.size
    expected = m * p / p.sum()
    idx = np.clip(samples - values[0], 0, values.size - 1)
    observed = np.bincount(idx, minlength=values.size).astype(np.float64)
    starts = [0]
    acc = 0.0
    for j in range(values.size):
        acc += expected[j]
        if acc >= min_expected and j + 1 < values.size:
            starts.append(j + 1)
            acc = 0.0
    if len(starts) > 1 and expected[starts[-1] :].sum() < min_expected:
        starts.pop()
    bounds = np.array(starts + [values.size])
    obs = np.add.reduceat(observed, bounds[:-1])
    exp = np.add.reduceat(expected, bounds[:-1])
    stat = float(np.sum((obs - exp) ** 2 / exp))
    dof = int(obs.size - 1)
    from scipy.special import chdtrc  # chi-square survival function (scipy.stats is slow to import)

    pvalue = float(chdtrc(dof, stat)) if dof > 0 else float("nan")
    return ChiSquare(stat, dof, pvalue, values[0] + bounds, obs, exp)


# ------------------------------------------------------------------ waiting times
@dataclasses.dataclass(frozen=True)
class WaitingTimes:
    """Waiting times between successive events of one kind, pooled over trajectories.

    ``values`` (W,): the waiting times, in units of ``t_r`` (the time between collisions)
    for emissions, in collisions for qubits found in g; ``trajectory`` (W,): the index of the
    trajectory each came from; ``n_trajectories``: trajectories used; ``n_excluded``:
    trajectories left out (jump log overflowed); ``unit``: the unit as text.
    """

    kind: str
    values: np.ndarray
    trajectory: np.ndarray
    n_trajectories: int
    n_excluded: int
    unit: str

    @property
    def mean(self) -> float:
        """Mean waiting time (NaN when there is none)."""
        return float(self.values.mean()) if self.values.size else float("nan")


def emission_waiting_times(ens: EnsembleResult) -> WaitingTimes:
    """Times between consecutive emissions into the bath, within each trajectory.

    Uses the jump log (``per_trajectory.jump_times``/``jump_kinds``, absolute times in units
    of ``t_r`` from the start), which needs ``simulate(..., max_jumps=J)``. Absorptions between
    two emissions do not interrupt the wait. Trajectories whose log overflowed (more than
    ``J`` jumps) are excluded and counted in ``n_excluded``; the time before the first
    emission is not a waiting time between emissions and is not included.

    Returns
    -------
    WaitingTimes
        ``values`` (W,) float in units of ``t_r``.
    """
    per = ens.per_trajectory
    if per.jump_times.shape[1] == 0:
        raise ValueError(
            "this ensemble recorded no jump times; run simulate(..., max_jumps=J) with J "
            "above the number of jumps per trajectory (e.g. a few times the mean count)"
        )
    keep = ~per.jumps_overflow
    times, traj = [], []
    for i in np.flatnonzero(keep):
        t = per.jump_times[i][per.jump_kinds[i] == -1]
        if t.size > 1:
            times.append(np.diff(t))
            traj.append(np.full(t.size - 1, i, dtype=np.int64))
    values = np.concatenate(times) if times else np.zeros(0)
    index = np.concatenate(traj) if traj else np.zeros(0, dtype=np.int64)
    return WaitingTimes(
        "emission",
        values,
        index,
        int(keep.sum()),
        int((~keep).sum()),
        "t_r (time between collisions)",
    )


def g_waiting_times(ens: EnsembleResult) -> WaitingTimes:
    """Collisions between successive qubits found in g, within each trajectory.

    Needs the run to have recorded every collision as a checkpoint (``checkpoints =
    range(0, n + 1)``, or any run of consecutive collisions): the qubit found in g at
    collision k is read from the increment of the g count between checkpoints k-1 and k.
    The wait before the first qubit in g is not included.

    Returns
    -------
    WaitingTimes
        ``values`` (W,) int64, in collisions (>= 1).
    """
    k = np.asarray(ens.k)
    if k.size < 2 or np.any(np.diff(k) != 1):
        raise ValueError(
            "g_waiting_times needs every collision as a checkpoint (simulate(..., "
            "checkpoints=range(0, n_collisions + 1))); this ensemble has checkpoints "
            f"{k[:5].tolist()}{'...' if k.size > 5 else ''}"
        )
    g = ens.per_trajectory.qubit_g.sum(axis=2)
    events = np.diff(g, axis=1) > 0  # (M, C-1): a qubit in g at collision k[1:]
    rows, cols = np.nonzero(events)  # row-major: sorted by trajectory, then collision
    when = k[1:][cols]
    same = rows[1:] == rows[:-1]
    values = (when[1:] - when[:-1])[same].astype(np.int64)
    return WaitingTimes("g", values, rows[1:][same], int(g.shape[0]), 0, "collisions")


@dataclasses.dataclass(frozen=True)
class PerTrajectoryEnergy:
    """The conditional energies ``<n>_i`` at one checkpoint (unravelling-dependent).

    ``values`` (M',) in units of hbar*omega (non-leaked trajectories), ``k`` the checkpoint,
    ``mean`` their average (this one *is* physical: the exact energy), ``note`` says why
    the spread is not a measurable quantity.
    """

    k: int
    values: np.ndarray
    mean: float
    note: str = UNRAVELLING_NOTE


def energy_per_trajectory(ens: EnsembleResult, k: int | None = None) -> PerTrajectoryEnergy:
    """Distribution of the per-trajectory photon number ``<n>_i`` at the checkpoint nearest ``k``.

    Not a measurable distribution: ``<n>_i`` depends on the unravelling (SPEC Sec. 3); only
    its mean equals the exact energy. Returns :class:`PerTrajectoryEnergy` (units hbar*omega).
    """
    kk = np.asarray(ens.k)
    i = kk.size - 1 if k is None else int(np.argmin(np.abs(kk - int(k))))
    per = ens.per_trajectory
    ok = per.fock[:, i] >= 0
    values = per.n_mean[ok, i]
    return PerTrajectoryEnergy(int(kk[i]), values, float(values.mean()) if values.size else np.nan)


# =========================================================================== exact side
def _loss_parts(model: Micromaser, count: str, d: int) -> tuple[np.ndarray, ...]:
    """``(G0, G1, G2)`` of block ``d``: ``G(1+eps) = G0 + eps G1 + eps^2 G2 + O(eps^3)``.

    Also returns the pieces ``(A, E)`` with ``G(z) = G0 + (z-1) A + (1/z - 1) E``.
    """
    g0 = loss_generator_block(model.gamma_tr, model.nbar, model.cutoff, d)
    emit = np.triu(g0, 1)  # x_i <- x_{i+1}: the a X a^dag term
    absorb = np.tril(g0, -1)  # x_i <- x_{i-1}: the a^dag X a term
    zero = np.zeros_like(g0)
    if count == "emission":
        return g0, emit, zero, emit, zero
    if count == "absorption":
        return g0, absorb, zero, absorb, zero
    if count == "net":  # z on absorptions, 1/z on emissions
        return g0, absorb - emit, emit, absorb, emit
    return g0, zero, zero, zero, zero


class _Blocks:
    """Loss blocks per diagonal ``d``, applied to stacks of general complex matrices.

    ``blocks[d]`` has shape ``(n_d, n_d)`` (shared by the stack) or ``(S, n_d, n_d)`` (one per
    stack entry), ``n_d = N - d``. In populations mode only ``d = 0`` is used and the stack
    holds diagonals ``(S, N)``.
    """

    def __init__(self, blocks: list[np.ndarray], cutoff: int, populations: bool):
        self.blocks = blocks
        self.n = cutoff
        self.populations = populations
        self.shared = all(b.ndim == 2 for b in blocks)
        #: for shared blocks: b^T, contiguous (rows of the stack times b^T)
        self.transposed = [np.ascontiguousarray(b.T) if b.ndim == 2 else b for b in blocks]
        if not populations:
            n = cutoff
            up, lo, starts = [], [], [0]
            for d in range(n):
                i = np.arange(n - d)
                up.append(i * n + i + d)
                lo.append((i + d) * n + i)
                starts.append(starts[-1] + n - d)
            self.up = np.concatenate(up)
            self.lo = np.concatenate(lo)
            self.starts = starts

    def apply(self, x: np.ndarray) -> np.ndarray:
        if self.populations:
            b = self.blocks[0]
            if b.ndim == 2:
                return _shared_product(x, self.transposed[0])
            return np.matmul(b, x[..., None])[..., 0]
        s, n = x.shape[0], self.n
        flat = x.reshape(s, n * n)
        if self.shared:  # rows: the upper diagonals of all entries, then the lower ones
            v = np.concatenate([flat[:, self.up], flat[:, self.lo]], axis=0)  # (2S, T)
            w = np.empty_like(v)
            for d in range(n):
                a, b = self.starts[d], self.starts[d + 1]
                w[:, a:b] = _shared_product(v[:, a:b], self.transposed[d])
            upper, lower = w[:s], w[s:]
        else:  # one block per entry: (S, n, n) @ (S, n, 2), upper and lower as two columns
            v = np.stack([flat[:, self.up], flat[:, self.lo]], axis=-1)  # (S, T, 2)
            w = np.empty_like(v)
            for d in range(n):
                a, b = self.starts[d], self.starts[d + 1]
                w[:, a:b] = np.matmul(self.blocks[d], v[:, a:b])
            upper, lower = w[..., 0], w[..., 1]
        out = np.empty((s, n * n), dtype=w.dtype)
        out[:, self.lo] = lower
        out[:, self.up] = upper  # d = 0: upper and lower coincide
        return out.reshape(s, n, n)


def _shared_product(v: np.ndarray, bt: np.ndarray) -> np.ndarray:
    """``v @ bt`` for complex rows ``v`` (R, n) and a real ``bt`` (n, n): two real products."""
    if np.iscomplexobj(v) and not np.iscomplexobj(bt):
        return (v.real @ bt) + 1j * (v.imag @ bt)
    return v @ bt


def _kraus_sum(ops: Sequence[BandedKraus], x: np.ndarray, populations: bool) -> np.ndarray:
    """``sum_K K X K^dag`` for a stack ``x`` (S, N, N) of general complex matrices.

    In populations mode ``x`` holds diagonals (S, N) of diagonal matrices (each K is a
    diagonal plus one shifted diagonal, so diagonal matrices stay diagonal).
    """
    out = np.zeros_like(x)
    for k in ops:
        if populations:
            out += np.abs(k.diag) ** 2 * x
            w = np.abs(k.off) ** 2
            if k.shift == 1:
                out[:, 1:] += w[1:] * x[:, :-1]
            else:
                out[:, :-1] += w[:-1] * x[:, 1:]
            continue
        y = k.diag[:, None] * x  # K X
        if k.shift == 1:
            y[:, 1:, :] += k.off[1:, None] * x[:, :-1, :]
        else:
            y[:, :-1, :] += k.off[:-1, None] * x[:, 1:, :]
        out += y * np.conj(k.diag)  # (K X) K^dag
        if k.shift == 1:
            out[:, :, 1:] += y[:, :, :-1] * np.conj(k.off[1:])
        else:
            out[:, :, :-1] += y[:, :, 1:] * np.conj(k.off[:-1])
    return out


class _Tilt:
    """The pieces of the tilted one-step channel of a model for one count."""

    def __init__(self, model: Micromaser, count: str, populations: bool):
        self.model = model
        self.count = count
        self.populations = populations
        self.n = model.cutoff
        if not model.is_jaynes_cummings:
            raise ValueError(
                "exact counting statistics need the Jaynes-Cummings collision (banded Kraus "
                "operators); for a Rabi collision use counting.from_ensemble on trajectories"
            )
        kraus = CollisionChannel(model).kraus
        if count in _QUBIT_COUNTS:
            self.counted = [k for k in kraus if k.outcome == count]
            self.rest = [k for k in kraus if k.outcome != count]
        else:
            self.counted, self.rest = [], list(kraus)
        self.has_loss = model.gamma_tr > 0.0
        self.bath = count not in _QUBIT_COUNTS
        n_blocks = 1 if populations else self.n
        self.parts = (
            [_loss_parts(model, count, d) for d in range(n_blocks)] if self.has_loss else []
        )

    # ---------------------------------------------------------------- collision
    def collide(self, x: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        """``Phi_z`` on a stack; ``z`` (S,) or None (untilted)."""
        out = _kraus_sum(self.rest, x, self.populations)
        if self.counted:
            c = _kraus_sum(self.counted, x, self.populations)
            if z is not None:
                c *= z.reshape((-1,) + (1,) * (x.ndim - 1))
            out += c
        return out

    # --------------------------------------------------------------------- loss
    def loss_blocks(self, z: np.ndarray | None) -> _Blocks | None:
        """Loss blocks ``exp(G_d(z))``: shared when untilted, one per ``z`` otherwise."""
        if not self.has_loss:
            return None
        blocks = []
        for g0, _g1, _g2, a, e in self.parts:
            if z is None or not self.bath:
                blocks.append(sla.expm(g0))
            else:
                zz = z[:, None, None]
                blocks.append(
                    sla.expm(g0[None] + (zz - 1.0) * a[None] + (1.0 / zz - 1.0) * e[None])
                )
        return _Blocks(blocks, self.n, self.populations)

    def taylor_blocks(self) -> tuple[_Blocks, _Blocks, _Blocks] | None:
        """``F0, F1, F2``: ``exp(G(1+eps)) = F0 + eps F1 + eps^2 F2 + O(eps^3)`` per block."""
        if not self.has_loss:
            return None
        f = ([], [], [])
        for g0, g1, g2, _a, _e in self.parts:
            m = g0.shape[0]
            if not self.bath:
                f[0].append(sla.expm(g0))
                f[1].append(np.zeros_like(g0))
                f[2].append(np.zeros_like(g0))
                continue
            aug = np.zeros((3 * m, 3 * m))
            for r in range(3):
                aug[r * m : (r + 1) * m, r * m : (r + 1) * m] = g0
            aug[:m, m : 2 * m] = aug[m : 2 * m, 2 * m :] = g1
            aug[:m, 2 * m :] = g2
            e = sla.expm(aug)
            for r in range(3):
                f[r].append(e[:m, r * m : (r + 1) * m].copy())
        return tuple(_Blocks(b, self.n, self.populations) for b in f)  # type: ignore[return-value]


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
    populations = model.is_incoherent
    return n_collisions, ks, rho0, populations


def _initial_stack(rho0: np.ndarray, size: int, populations: bool) -> np.ndarray:
    if populations:
        x = np.diagonal(rho0).real.astype(np.complex128)
        return np.repeat(x[None], size, axis=0)
    return np.repeat(rho0.astype(np.complex128)[None], size, axis=0)


@dataclasses.dataclass(frozen=True, repr=False)
class ExactMoments:
    """Exact mean and variance of a count per checkpoint (no distribution).

    ``k`` (C,); ``mean``, ``variance``, ``mandel_q`` (C,) (``mandel_q`` NaN where the mean is
    0); ``leakage`` (C,) population lost through the cutoff by each checkpoint. The moments
    are those of the distribution conditioned on no leakage (they differ from the
    unconditioned ones by O(leakage), below ``leakage_tol``).
    """

    count: str
    k: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    mandel_q: np.ndarray
    leakage: np.ndarray

    def __repr__(self) -> str:
        return (
            f"ExactMoments(count={self.count!r}, checkpoints={self.k.size}, at k = {self.k[-1]}: "
            f"mean = {self.mean[-1]:.10g}, variance = {self.variance[-1]:.10g}, "
            f"Mandel Q = {self.mandel_q[-1]:.8g})"
        )


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
) -> ExactMoments:
    r"""Exact mean and variance of a count after ``k`` collisions, for every checkpoint.

    Propagates the Taylor coefficients of the tilted state
    :math:`X(1+\varepsilon) = X_0 + \varepsilon X_1 + \varepsilon^2 X_2`: then
    :math:`\mathrm{Tr}X_1 = E[J]` and :math:`2\mathrm{Tr}X_2 = E[J(J-1)]` (factorial
    moments). Costs about three exact solver runs. Arguments as in :func:`exact_distribution`.

    Returns
    -------
    ExactMoments
        Per checkpoint ``(C,)``: mean and variance (counts, dimensionless), Mandel Q.
    """
    n, ks, rho0, pops = _prepare(model, n_collisions, count, initial_state, checkpoints)
    if leakage_tol != float("inf"):
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    with single_threaded_blas():
        tilt = _Tilt(model, count, pops)
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
                if tilt.counted:
                    y[1:] += _kraus_sum(tilt.counted, x[:2], pops)
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
    return ExactMoments(count, ks, mean, var, _mandel(mean, var), 1.0 - out[0])


#: Chernoff ladder: lambda = 2^(m/2), m = -16 .. 6 (0.0039 .. 8).
_LADDER = 2.0 ** (np.arange(-16, 7) / 2.0)


def _natural_bounds(count: str, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Support bounds that hold by construction: ``0 <= J <= k`` for qubits, ``J >= 0`` for
    single bath counts; ``+-inf`` where there is none."""
    k = np.asarray(k, dtype=np.float64)
    if count in _QUBIT_COUNTS:
        return np.zeros_like(k), k
    if count == "net":
        return np.full_like(k, -np.inf), np.full_like(k, np.inf)
    return np.zeros_like(k), np.full_like(k, np.inf)


def _propagate_traces(
    tilt: _Tilt,
    rho0: np.ndarray,
    z: np.ndarray,
    ks: np.ndarray,
    normalise: bool,
) -> np.ndarray:
    """``log Tr[T_z^k rho0]`` (normalise=True, real positive z) or ``Tr[T_z^k rho0]``.

    Returns (C, S) for the checkpoints ``ks``; the stack is split in batches so the per-z loss
    blocks stay within :data:`_BLOCK_MEMORY`.
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


@dataclasses.dataclass(frozen=True, repr=False)
class ExactCounting:
    """Exact distribution of a count after ``k`` collisions (full counting statistics).

    Attributes
    ----------
    count : str
    k : (C,) int
        Checkpoints (collisions).
    values : (J,) int
        The count values of the columns of ``probabilities`` (``0 .. J-1`` except for
        ``"net"``, which can be negative).
    probabilities : (C, J) float
        ``P(count = values[j] after k[c] collisions)``; zero outside each checkpoint's window.
        Sums to ``1 - leakage`` (the leaked weight carries no count).
    mean, variance, mandel_q : (C,) float
        Exact moments (from the Taylor expansion of the tilted channel, independent of the
        DFT; conditioned on no leakage); ``mandel_q = variance/mean - 1``, NaN where the mean
        is 0.
    tail_mass : (C,) float
        Chernoff upper bound on the probability outside the computed window (below ``tail``).
    window : (C, 2) int
        ``[lo, lo + S)`` is the window of each checkpoint (clipped to the natural support).
    grid_size : int
        ``S``, the number of counting-field points (``s = 2 pi l / S``).
    alias_check : (C,) float
        ``|sum_j j P_j - mean|`` + ``|variance from P - variance|``: an a posteriori check
        that the DFT did not alias (of order 1e-12 when it did not).
    leakage : (C,) float
        Population lost through the cutoff by each checkpoint.
    """

    count: str
    k: np.ndarray
    values: np.ndarray
    probabilities: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    mandel_q: np.ndarray
    tail_mass: np.ndarray
    window: np.ndarray
    grid_size: int
    alias_check: np.ndarray
    leakage: np.ndarray
    seconds: float = 0.0

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(values, probabilities)`` at checkpoint ``k`` (must be a checkpoint)."""
        hit = np.flatnonzero(self.k == k)
        if hit.size == 0:
            raise ValueError(f"k = {k} is not a checkpoint of this distribution")
        return self.values, self.probabilities[int(hit[0])]

    def __repr__(self) -> str:
        return (
            f"ExactCounting(count={self.count!r}, checkpoints={self.k.size} (k = {self.k[0]}.."
            f"{self.k[-1]}), values {self.values[0]}..{self.values[-1]}, grid S = "
            f"{self.grid_size}, at k = {self.k[-1]}: mean = {self.mean[-1]:.10g}, variance = "
            f"{self.variance[-1]:.10g}, Mandel Q = {self.mandel_q[-1]:.8g}, tail mass <= "
            f"{self.tail_mass.max():.1e}, {self.seconds:.3g} s)"
        )


def exact_distribution(
    model: Micromaser,
    n_collisions: int,
    count: str,
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    tail: float = 1e-14,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
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
    n_collisions : int
        Number of collisions, ``>= 0``.
    count : {"g", "e", "emission", "absorption", "net"}
        See :func:`from_ensemble` (``"net"`` = absorptions - emissions).
    initial_state : array, optional
        State vector ``(N,)`` or density matrix ``(N, N)``; default the vacuum.
    checkpoints : iterable of int, optional
        Collisions at which to report; default every collision ``0 .. n_collisions``.
    tail : float
        Largest probability allowed outside the computed window, in ``(0, 1e-3]``.
    leakage_tol : float
        Largest population allowed to leave through the cutoff, else
        :class:`~trajectories.errors.TruncationError`.

    Returns
    -------
    ExactCounting
        ``probabilities`` (C, J) on ``values`` (J,), exact mean, variance and Mandel Q per
        checkpoint, ``tail_mass`` (the bound on the mass outside the window), ``k``.
    """
    t0 = time.perf_counter()
    tail = real_in_range("tail", tail, 1e-300, 1e-3, allowed="in (0, 1e-3]")
    mom = exact_moments(
        model,
        n_collisions,
        count,
        initial_state=initial_state,
        checkpoints=checkpoints,
        leakage_tol=leakage_tol,
    )
    n, ks, rho0, pops = _prepare(model, n_collisions, count, initial_state, checkpoints)
    with single_threaded_blas():
        tilt = _Tilt(model, count, pops)
        # optimal Chernoff lambda for a tail of 1e-14 is about 8/sigma (Gaussian) or larger
        # (skewed, small counts): ladder values far below 1/sigma_max can never be optimal
        sigma_max = math.sqrt(max(float(np.max(mom.variance)), 1e-300))
        lam = _LADDER[_LADDER >= min(0.5 / sigma_max, 1.0)]
        if tilt.bath:  # keep exp(G_d(z)) finite: z * (largest jump rate) below ~200
            rate = model.gamma_tr * (2.0 * model.nbar + 1.0) * model.cutoff
            lam = lam[lam <= math.log1p(200.0 / max(rate, 1e-300))]
            lam = lam if lam.size else _LADDER[:1]
        z_real = np.concatenate([np.exp(lam), np.exp(-lam)]).astype(np.complex128)
        logm = _propagate_traces(tilt, rho0, z_real, ks, normalise=True)
        lo_nat, hi_nat = _natural_bounds(count, ks)
        lo, hi, tail_mass = _chernoff_window(
            logm[:, : lam.size], logm[:, lam.size :], lam, tail, lo_nat, hi_nat
        )
        size = int(np.max(hi - lo + 1))
        half = size // 2 + 1
        grid = np.exp(2j * np.pi * np.arange(half) / size)
        gen = _propagate_traces(tilt, rho0, grid, ks, normalise=False)
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
    )


# ------------------------------------------------------------------ stationary rates
@dataclasses.dataclass(frozen=True)
class StationaryRates:
    """Long-time counting statistics per collision, from the tilted channel's leading eigenvalue.

    ``rate``: mean count per collision (``d ln theta / du`` at ``u = 0``, ``z = e^u``);
    ``variance_rate``: variance growth per collision (second derivative); ``mandel_q``:
    ``variance_rate / rate - 1`` (NaN for zero rate); ``eigenvalue``: ``theta(1)``, 1 minus
    the leakage per collision of the stationary state; ``second_eigenvalue``: modulus of the
    next eigenvalue (relaxation ``~ second_eigenvalue^k``); ``relaxation_collisions``:
    ``-1 / ln(second / first)``; ``stationary_energy``: ``<n>`` of the right eigenvector;
    ``dimension`` and ``method`` of the dense eigenproblem.

    The eigenvector is the fixed point of the one-step channel *within the cutoff*: when the
    model is metastable (SPEC Sec. 8: ``relaxation_collisions`` huge) it need not be the state
    reached from the vacuum on any practical time scale.
    """

    count: str
    rate: float
    variance_rate: float
    mandel_q: float
    eigenvalue: float
    second_eigenvalue: float
    relaxation_collisions: float
    stationary_energy: float
    dimension: int
    method: str


def _dense(apply, dim: int, populations: bool, n: int) -> np.ndarray:
    """Matrix of a linear map on the stack representation (columns = basis elements)."""
    if populations:
        basis = np.eye(dim, dtype=np.complex128)
    else:
        basis = np.eye(dim, dtype=np.complex128).reshape(dim, n, n)
    out = apply(basis)
    return out.reshape(dim, dim).T


@functools.lru_cache(maxsize=8)
def _untilted_spectrum(
    model: Micromaser,
) -> tuple[complex, float, np.ndarray, np.ndarray, np.ndarray]:
    """Leading eigenvalue, modulus of the next one, right (trace 1) and left (``l^dag r = 1``)
    eigenvectors, and the dense matrix of the untilted one-step channel (cached per model)."""
    n = model.cutoff
    pops = model.is_incoherent
    dim = n if pops else n * n
    tilt = _Tilt(model, "g", pops)
    blocks = tilt.loss_blocks(None)

    def step(x: np.ndarray) -> np.ndarray:
        y = tilt.collide(x, None)
        return blocks.apply(y) if blocks is not None else y

    t0 = _dense(step, dim, pops, n)
    w, vl, vr = sla.eig(t0, left=True, right=True)
    order = np.argsort(-np.abs(w))
    i0 = int(order[0])
    second = float(np.abs(w[order[1]])) if dim > 1 else 0.0
    r = vr[:, i0]
    r = r / _trace(r if pops else r.reshape(n, n), pops)  # trace-normalised state
    left = vl[:, i0]
    left = left / np.conj(left.conj() @ r)
    for a in (r, left, t0):
        a.setflags(write=False)
    return complex(w[i0]), second, r, left, t0


def stationary_rates(model: Micromaser, count: str) -> StationaryRates:
    r"""Stationary rate and Mandel Q per collision from the leading eigenvalue of ``T_z``.

    With :math:`T(1+\varepsilon) = T_0 + \varepsilon T_1 + \varepsilon^2 T_2`, leading
    eigenvalue :math:`\theta_0` of :math:`T_0` with right/left eigenvectors ``r``, ``l``
    (``l^dag r = 1``): :math:`\theta_1 = l^\dagger T_1 r`,
    :math:`\theta_2 = l^\dagger T_2 r + l^\dagger T_1 x` with
    :math:`(\theta_0 - T_0)x = (T_1 - \theta_1)r`, :math:`l^\dagger x = 0` (bordered solve).
    Then, per collision, ``rate = theta_1/theta_0`` and
    ``variance_rate = (theta_1 + 2 theta_2)/theta_0 - rate^2`` (derivatives of
    :math:`\ln\theta(e^u)` at ``u = 0``).

    Dense matrices: ``N x N`` (populations sector) when the qubits are incoherent, allowed up
    to ``N =`` :data:`POPULATION_CUTOFF_LIMIT`; ``N^2 x N^2`` otherwise, allowed up to ``N =``
    :data:`DENSE_CUTOFF_LIMIT` (``ValueError`` above).

    Returns
    -------
    StationaryRates
        Rates in counts per collision.
    """
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    _check_count(count)
    n = model.cutoff
    pops = model.is_incoherent
    if pops and n > POPULATION_CUTOFF_LIMIT:
        raise ValueError(
            f"stationary_rates builds dense N x N matrices for incoherent qubits; cutoff={n} "
            f"is above the limit {POPULATION_CUTOFF_LIMIT}"
        )
    if not pops and n > DENSE_CUTOFF_LIMIT:
        raise ValueError(
            f"stationary_rates builds dense N^2 x N^2 superoperators for coherent qubits; "
            f"cutoff={n} is above the limit {DENSE_CUTOFF_LIMIT} (N^2 = {n * n}); use a smaller "
            f"cutoff (check that results do not change with it) or the slope of "
            f"exact_moments(...).mean at late collisions"
        )
    dim = n if pops else n * n
    with single_threaded_blas():
        theta0, second, r, left, t0 = _untilted_spectrum(model)
        tilt = _Tilt(model, count, pops)
        fb = tilt.taylor_blocks()

        def t12(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """``(T_1 v, T_2 v)`` by applying the channel's pieces, no dense product."""
            x = v.reshape((1, n) if pops else (1, n, n))
            y0 = tilt.collide(x, None)
            yc = _kraus_sum(tilt.counted, x, pops) if tilt.counted else np.zeros_like(x)
            if fb is None:
                return yc.reshape(dim), np.zeros(dim, dtype=np.complex128)
            a = fb[0].apply(yc) + fb[1].apply(y0)
            b = fb[1].apply(yc) + fb[2].apply(y0)
            return a.reshape(dim), b.reshape(dim)

        t1r, t2r = t12(r)
        theta1 = left.conj() @ t1r
        bordered = np.zeros((dim + 1, dim + 1), dtype=np.complex128)
        bordered[:dim, :dim] = theta0 * np.eye(dim) - t0
        bordered[:dim, dim] = r
        bordered[dim, :dim] = left.conj()
        rhs = np.zeros(dim + 1, dtype=np.complex128)
        rhs[:dim] = t1r - theta1 * r
        x = np.linalg.solve(bordered, rhs)[:dim]
        theta2 = left.conj() @ t2r + left.conj() @ t12(x)[0]
    th0 = float(theta0.real)
    rate = float((theta1 / theta0).real)
    var_rate = float(((theta1 + 2.0 * theta2) / theta0).real - rate**2)
    levels = np.arange(n)
    pop = r.real if pops else np.diagonal(r.reshape(n, n)).real
    return StationaryRates(
        count=count,
        rate=rate,
        variance_rate=var_rate,
        mandel_q=var_rate / rate - 1.0 if rate != 0.0 else float("nan"),
        eigenvalue=th0,
        second_eigenvalue=second,
        relaxation_collisions=-1.0 / math.log(second / abs(th0))
        if 0 < second < abs(th0)
        else np.inf,
        stationary_energy=float(pop @ levels),
        dimension=dim,
        method=(
            "populations sector (N x N), perturbation theory with left/right eigenvectors"
            if pops
            else "density matrix (N^2 x N^2), perturbation theory with left/right eigenvectors"
        ),
    )
