r"""The collision averaged over the spread of theta: :math:`\Phi = \mathbb E_x[\Phi_{\theta x}]`.

With a :class:`~trajectories.model.imperfections.ThetaSpread` each qubit collides with
strength :math:`\theta x_i`, ``x_i`` independent of everything else, so the exact channel
of one collision is the average of the channels over ``x`` (``docs/MODEL.md``, Sec. 9):

- discrete spread: a finite mixture :math:`\sum_j w_j \Phi_{\theta x_j}`, exact;
- continuous spread (Gaussian, uniform): the same mixture on quadrature nodes
  (:meth:`ThetaSpread.nodes <trajectories.model.imperfections.ThetaSpread.nodes>`,
  Gauss-Legendre on the support of the density), with the number of nodes doubled from 16
  until the averaged channel changes by less than
  :data:`~trajectories.model.imperfections.QUADRATURE_TOL` (``1e-14``, the largest change of
  any coefficient of the density-matrix map, whose coefficients are at most 1). The
  integrands are entire functions of ``x`` (``cos`` and ``sin`` of
  :math:`\theta x\sqrt n`), so Gauss-Legendre converges exponentially; the nodes used and the
  last change are kept on the channel (:class:`SpreadQuadrature`).

Jaynes-Cummings: every operator of the mixture has the diagonals ``{0, +-1}``, and the
channel depends on the operators only through the sums
:math:`\sum_K v_K v_K^\dagger` of their stacked diagonals ``v_K``, one sum per
(qubit branch, outcome). :func:`averaged_collision` factorises each sum again
(an eigen-decomposition of a ``2N x 2N`` positive matrix), keeping the factors whose
weight exceeds ``1e-20`` of the largest: the same channel, with as many operators as the
mixture has numerical rank (a few to a few tens, not four per node), so the exact solver,
the steady states and the counting statistics pay for the spread once, at set-up. The
density-matrix map (pair weights) and the leak are the exact weighted sums.

Rabi collision: only a discrete spread (each value has its own integrated unitary); the
operators of all values are kept, scaled by :math:`\sqrt{w_j}`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..model.imperfections import QUADRATURE_TOL, ThetaSpread
from ..model.micromaser import Micromaser
from .jaynes_cummings import jaynes_cummings_channel
from .kraus import KrausChannel, PairWeights
from .operators import KrausOperator

__all__ = [
    "FIRST_NODES",
    "MAX_NODES",
    "RANK_TOL",
    "SpreadQuadrature",
    "averaged_collision",
    "mixture",
    "spread_nodes",
]

#: Quadrature nodes of the first try for a continuous spread.
FIRST_NODES = 16
#: Most quadrature nodes tried before giving up (a ValueError names the change reached).
MAX_NODES = 4096
#: Factors of the averaged operator sums lighter than this fraction of the heaviest are
#: dropped (their weight, below ``1e-20`` per collision, is far below rounding).
RANK_TOL = 1e-20


@dataclasses.dataclass(frozen=True)
class SpreadQuadrature:
    """How the average over the spread was computed.

    Attributes
    ----------
    nodes : int
        Number of values of ``x`` averaged (the discrete values, or quadrature nodes).
    change : float
        Largest change of a coefficient of the averaged channel between the last two
        quadratures (``nodes / 2`` and ``nodes`` nodes); 0 for a discrete spread (exact).
    operators : int
        Kraus operators of the averaged channel after factorisation.
    """

    nodes: int
    change: float
    operators: int


def _ideal(model: Micromaser, x: float) -> Micromaser:
    return model.replace(theta=model.theta * float(x), theta_spread=ThetaSpread())


def _weights_flat(pw: PairWeights) -> np.ndarray:
    parts = [pw.diag, pw.up, pw.down]
    if pw.coherent:
        parts += [pw.cross_a, pw.cross_b]
    return np.concatenate([np.ravel(p) for p in parts])


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    return a if b is None else a + b


def _averaged_pairs(model: Micromaser, x: np.ndarray, w: np.ndarray) -> PairWeights:
    """The weighted sum of the nodes' pair weights (the exact density-matrix map)."""
    acc = None
    for xj, wj in zip(x, w, strict=True):
        pw = jaynes_cummings_channel(_ideal(model, xj)).pair_weights
        parts = [None if a is None else wj * a for a in dataclasses.astuple(pw)]
        acc = parts if acc is None else [_add(a, b) for a, b in zip(acc, parts, strict=True)]
    return PairWeights(*acc)


def spread_nodes(model: Micromaser) -> tuple[np.ndarray, np.ndarray, SpreadQuadrature]:
    """Values ``x_j`` and weights ``w_j`` of the average over the model's theta spread.

    Discrete spreads give their own values. A continuous spread doubles its Gauss-Legendre
    nodes from :data:`FIRST_NODES` until the averaged Jaynes-Cummings map (its pair weights,
    every coefficient at most 1) changes by less than
    :data:`~trajectories.model.imperfections.QUADRATURE_TOL`.

    Parameters
    ----------
    model : Micromaser
        The model (its ``theta``, ``theta_spread``, qubit state and cutoff are read).

    Returns
    -------
    x : ndarray of float64, shape (J,)
        Relative strengths (``theta_j = theta * x_j``).
    w : ndarray of float64, shape (J,)
        Weights summing to 1.
    quadrature : SpreadQuadrature
        Nodes and the last change (the operator count is filled in by
        :func:`averaged_collision`; here 0).

    Raises
    ------
    ValueError
        If :data:`MAX_NODES` nodes do not converge (a spread far wider than any beam).
    """
    spread = model.theta_spread
    if spread.is_discrete:
        x, w = spread.nodes()
        return x, w, SpreadQuadrature(int(x.size), 0.0, 0)
    n = FIRST_NODES
    x, w = spread.nodes(n)
    prev = _weights_flat(_averaged_pairs(model, x, w))
    change = math.inf
    while n < MAX_NODES:
        n *= 2
        x, w = spread.nodes(n)
        cur = _weights_flat(_averaged_pairs(model, x, w))
        change = float(np.max(np.abs(cur - prev)))
        if change < QUADRATURE_TOL:
            return x, w, SpreadQuadrature(n, change, 0)
        prev = cur
    raise ValueError(
        f"theta_spread: the quadrature over {spread.describe()} did not converge with "
        f"{MAX_NODES} nodes (last change {change:.3g} > {QUADRATURE_TOL:g}); use a narrower "
        "spread or a discrete one"
    )


def mixture(channels: list[KrausChannel], weights: np.ndarray) -> KrausChannel:
    """The mixture :math:`\\sum_j w_j \\Phi_j` of Kraus channels on the same levels.

    Operators scaled by :math:`\\sqrt{w_j}` and kept with their labels; leak forms summed
    with the weights; pair weights summed when every channel has them.

    Parameters
    ----------
    channels : list of KrausChannel
        Channels on the same ``N`` levels.
    weights : ndarray of float64, shape (J,)
        Non-negative weights summing to 1.

    Returns
    -------
    KrausChannel
        The mixture (zero-weight channels left out).
    """
    keep = [(c, float(wj)) for c, wj in zip(channels, weights, strict=True) if wj > 0.0]
    n = keep[0][0].n
    ops = [
        dataclasses.replace(k, values=math.sqrt(wj) * k.values) for c, wj in keep for k in c.kraus
    ]
    start = min(c.leak_start for c, _ in keep)
    leak = np.zeros((n - start, n - start), dtype=np.complex128)
    for c, wj in keep:
        s = c.leak_start - start
        leak[s:, s:] += wj * c.leak_block
    pw = None
    if all(c.pair_weights is not None for c, _ in keep):
        acc = None
        for c, wj in keep:
            parts = [None if a is None else wj * a for a in dataclasses.astuple(c.pair_weights)]
            acc = parts if acc is None else [_add(a, b) for a, b in zip(acc, parts, strict=True)]
        pw = PairWeights(*acc)
    return KrausChannel(ops, start, leak, pair_weights=pw)


def _factorised(ops: list[KrausOperator], n: int) -> list[KrausOperator]:
    """The operators of one (branch, outcome) group, re-factorised to their numerical rank.

    Each operator is the stacked vector of its diagonals ``-1, 0, +1`` (length ``3N``);
    the channel depends only on :math:`\\sum_K v_K v_K^\\dagger`, so its eigenvectors
    (scaled by the square roots of the eigenvalues above :data:`RANK_TOL` of the largest)
    are an equivalent set of operators with the same diagonals.
    """
    offsets = sorted({int(o) for k in ops for o in k.offsets})
    v = np.zeros((len(ops), len(offsets) * n), dtype=np.complex128)
    for i, k in enumerate(ops):
        for j, o in enumerate(offsets):
            v[i, j * n : (j + 1) * n] = k.diagonal(o)
    # V^dag V = sum_K v_K^* v_K^T: factor by the SVD of V (no squaring of small weights)
    _, s, vh = np.linalg.svd(v, full_matrices=False)
    out = []
    if s.size and s[0] > 0:
        for r in np.flatnonzero(s**2 > RANK_TOL * s[0] ** 2):
            u = s[r] * vh[r]
            out.append(
                KrausOperator.from_diagonals(
                    n,
                    {o: u[j * n : (j + 1) * n] for j, o in enumerate(offsets)},
                    branch=ops[0].branch,
                    outcome=ops[0].outcome,
                )
            )
    return out or [ops[0]]


def averaged_collision(model: Micromaser) -> tuple[KrausChannel, SpreadQuadrature]:
    r"""The Jaynes-Cummings collision of ``model`` averaged over its theta spread.

    Parameters
    ----------
    model : Micromaser
        A Jaynes-Cummings model (any ``theta_spread``; without one the result is the
        ordinary channel).

    Returns
    -------
    channel : KrausChannel
        :math:`\mathbb E_x[\Phi_{\theta x}]`: operators factorised per (branch, outcome)
        (module docstring), exact pair weights and leak form.
    quadrature : SpreadQuadrature
        Nodes used, the last change of the quadrature, the number of operators.

    Examples
    --------
    A two-point spread is the average of the two channels:

    >>> import numpy as np
    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=1.0, q=0.3, c=0.5, cutoff=6,
    ...                   theta_spread=tj.ThetaSpread.discrete([0.8, 1.2], [0.5, 0.5]))
    >>> ch, quad = averaged_collision(m)
    >>> rho = tj.as_density_matrix(None, 6)
    >>> a = jaynes_cummings_channel(m.replace(theta=0.8, theta_spread=tj.ThetaSpread()))
    >>> b = jaynes_cummings_channel(m.replace(theta=1.2, theta_spread=tj.ThetaSpread()))
    >>> avg = 0.5 * (a.apply(rho)[0] + b.apply(rho)[0])
    >>> bool(np.abs(ch.apply(rho)[0] - avg).max() < 1e-15), quad.nodes
    (True, 2)
    """
    if model.theta_spread.is_none:
        ch = jaynes_cummings_channel(model)
        return ch, SpreadQuadrature(1, 0.0, len(ch.kraus))
    x, w, quad = spread_nodes(model)
    n = model.cutoff
    channels = [jaynes_cummings_channel(_ideal(model, xj)) for xj in x]
    mixed = mixture(channels, w)
    groups: dict[tuple[int, str], list[KrausOperator]] = {}
    for k in mixed.kraus:
        groups.setdefault((k.branch, k.outcome), []).append(k)
    ops = [op for key in sorted(groups) for op in _factorised(groups[key], n)]
    channel = KrausChannel(ops, mixed.leak_start, mixed.leak_block, pair_weights=mixed.pair_weights)
    return channel, dataclasses.replace(quad, operators=len(ops))
