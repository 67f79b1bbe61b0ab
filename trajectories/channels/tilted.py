r"""The one-step channel tilted by a counting field: the generator of counting statistics.

For a count ``J`` attached to the collision outcomes (qubits leaving in ``g`` or ``e``) or
to the loss interval's jumps (emissions, absorptions, their difference), the tilted channel

.. math:: T_z = \Lambda_z\circ\Phi_z, \qquad
    \Phi_z(X) = \sum_{K\,\text{not counted}}KXK^\dagger + z\sum_{K\,\text{counted}}KXK^\dagger,

multiplies each counted event by ``z``; for bath counts :math:`\Lambda_z = e^{\mathcal L_z
t_r}` has its counted jump term (:math:`\gamma(\bar n+1)aXa^\dagger` for emissions,
:math:`\gamma\bar n a^\dagger X a` for absorptions; for ``"net"`` absorptions times ``z``,
emissions times ``1/z``) multiplied by ``z``. :math:`\mathcal L_z` keeps the diagonal index
``d`` of ``X``, so :math:`\Lambda_z` is the exponential of each block generator
:math:`G_d(z)` applied to the ``d``-th upper *and* lower diagonal of ``X``: no Hermiticity is
assumed (the tilted channels do not preserve it). Then
:math:`\mathrm{Tr}[T_z^k\rho_0] = \sum_j P_k(j) z^j` (``docs/MODEL.md``, counting).
The solvers of :mod:`trajectories.solvers.counting` evaluate it on grids of ``z``.
"""

from __future__ import annotations

import numpy as np

from ..model.micromaser import Micromaser
from .arrivals import averaged_exp
from .collisions import collision_sequence
from .kraus import KrausChannel
from .loss import loss_generator_block

__all__ = ["COUNTS", "QUBIT_COUNTS", "TiltedChannel", "LossBlocks"]

#: The counts: qubits leaving in g / e, bath emissions / absorptions, and ``"net"`` =
#: absorptions - emissions (photons the cavity gained from the bath).
COUNTS = ("g", "e", "emission", "absorption", "net")
#: The counts attached to the collision outcomes.
QUBIT_COUNTS = ("g", "e")


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


class LossBlocks:
    """Loss blocks per diagonal ``d``, applied to stacks of general complex matrices.

    Each block acts on the ``d``-th upper *and* lower diagonal (no Hermiticity assumed).

    Parameters
    ----------
    blocks : list of ndarray
        ``blocks[d]`` has shape ``(n_d, n_d)`` (shared by the stack) or ``(S, n_d, n_d)``
        (one per stack entry, e.g. one per counting field ``z``), ``n_d = N - d``; real or
        complex.
    cutoff : int
        ``N``.
    populations : bool
        Populations mode: only ``blocks[0]`` is used and the stack holds diagonals
        ``(S, N)``.

    Attributes
    ----------
    blocks : list of ndarray
        As given.
    n : int
        ``N``.
    populations : bool
        As given.
    shared : bool
        Every block is shared by the whole stack.
    transposed : list of ndarray
        Shared blocks transposed and contiguous.
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
        r"""Apply the blocks to a stack: the tilted loss :math:`\Lambda_z` on each entry.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) in populations mode
            Stack of general complex matrices (or of populations).

        Returns
        -------
        ndarray, same shape as ``x``
            Each diagonal ``d`` of entry ``s`` multiplied by its block.
        """
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


class TiltedChannel:
    r"""The one-step channel of a model with a counting field on one count.

    ``collide(x, z)`` is :math:`\Phi_z` on a stack of matrices (or of diagonals in the
    populations sector), ``loss_blocks(z)`` the blocks :math:`\exp(G_d(z))` of
    :math:`\Lambda_z`, ``taylor_blocks()`` their expansion at ``z = 1 + eps`` to second order
    (the exact moments). Exact: built from the same channels as the exact solver
    (``docs/MODEL.md``, Sec. 10; ``docs/COUNTING.md``).

    Parameters
    ----------
    model : Micromaser
        Its collisions must be the same at every collision.
    count : str
        One of :data:`COUNTS`.
    populations : bool
        Act on the populations (diagonals ``(S, N)``) only; needs a collision that keeps
        diagonals (incoherent qubits, Jaynes-Cummings).

    Attributes
    ----------
    model : Micromaser
        The model.
    count : str
        The counted event.
    populations : bool
        As given.
    n : int
        ``N``.
    counted : KrausChannel or None
        The part of the collision the field multiplies (``None`` for bath counts).
    rest : KrausChannel
        The part it does not multiply.
    has_loss : bool
        ``gamma_tr > 0``.
    bath : bool
        The field sits on the loss (emission, absorption or net).

    Raises
    ------
    ValueError
        If the collisions differ from collision to collision (a Rabi collision with
        ``omega_tr``), or ``populations`` is asked for a collision that does not keep
        diagonals.
    """

    def __init__(self, model: Micromaser, count: str, populations: bool):
        self.model = model
        self.count = count
        self.populations = populations
        self.n = model.cutoff
        collisions = collision_sequence(model)
        if collisions.period != 1:
            raise ValueError(
                "exact counting statistics need the same channel at every collision: use "
                "Rabi(omega_tr=None), or counting.from_ensemble on trajectories, got a "
                f"period of {collisions.period} collisions"
            )
        channel = collisions.at(1)
        if populations and not channel.keeps_diagonal:
            raise ValueError("the populations sector needs incoherent qubits (c = 0) and the "
                             "Jaynes-Cummings collision")  # fmt: skip
        if count in QUBIT_COUNTS:
            other = "e" if count == "g" else "g"
            self.counted: KrausChannel | None = channel.subset(count)
            self.rest = channel.subset(other)
        else:
            self.counted, self.rest = None, channel
        self.has_loss = model.gamma_tr > 0.0
        self.bath = count not in QUBIT_COUNTS
        n_blocks = 1 if populations else self.n
        self.parts = (
            [_loss_parts(model, count, d) for d in range(n_blocks)] if self.has_loss else []
        )

    def counted_sum(self, x: np.ndarray) -> np.ndarray:
        r"""The counted part of the collision on a stack.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) in populations mode
            Stack of matrices.

        Returns
        -------
        ndarray, same shape as ``x``
            :math:`\sum_{K\,\text{counted}} K X K^\dagger` (zeros for bath counts).
        """
        if self.counted is None:
            return np.zeros_like(x)
        return self.counted.apply_stack(x, populations=self.populations)

    # ---------------------------------------------------------------- collision
    def collide(self, x: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        r"""The tilted collision :math:`\Phi_z` on a stack.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) in populations mode
            Stack of matrices.
        z : ndarray of complex, shape (S,), or None
            Counting field of each stack entry; ``None``: untilted (:math:`z = 1`). Not used
            for bath counts.

        Returns
        -------
        ndarray of complex128, same shape as ``x``
            :math:`\Phi_z(X_s)` for each entry, without the leak.
        """
        out = self.rest.apply_stack(x, populations=self.populations)
        if self.counted is not None:
            c = self.counted.apply_stack(x, populations=self.populations)
            if z is not None:
                c *= z.reshape((-1,) + (1,) * (x.ndim - 1))
            out += c
        return out

    # --------------------------------------------------------------------- loss
    def loss_blocks(self, z: np.ndarray | None) -> LossBlocks | None:
        """The tilted loss blocks :math:`e^{G_d(z)}` (``t_r = 1``).

        Parameters
        ----------
        z : ndarray of complex, shape (S,), or None
            Counting fields; ``None``: untilted.

        Returns
        -------
        LossBlocks or None
            Shared blocks when untilted or for qubit counts, one block per ``z`` otherwise;
            ``None`` without loss.
        """
        if not self.has_loss:
            return None
        blocks = []
        for g0, _g1, _g2, a, e in self.parts:
            if z is None or not self.bath:
                blocks.append(averaged_exp(g0, self.model.arrivals))
            else:
                zz = z[:, None, None]
                blocks.append(
                    averaged_exp(
                        g0[None] + (zz - 1.0) * a[None] + (1.0 / zz - 1.0) * e[None],
                        self.model.arrivals,
                    )
                )
        return LossBlocks(blocks, self.n, self.populations)

    def taylor_blocks(self) -> tuple[LossBlocks, LossBlocks, LossBlocks] | None:
        r"""Second-order expansion of the tilted loss at ``z = 1 + eps``, for exact moments.

        :math:`e^{G(1+\epsilon)} = F_0 + \epsilon F_1 + \epsilon^2 F_2 + O(\epsilon^3)` per
        block, exactly (one exponential of a block-triangular augmented generator).

        Returns
        -------
        tuple of LossBlocks or None
            ``(F0, F1, F2)`` (``F1 = F2 = 0`` for qubit counts); ``None`` without loss.
        """
        if not self.has_loss:
            return None
        f = ([], [], [])
        for g0, g1, g2, _a, _e in self.parts:
            m = g0.shape[0]
            if not self.bath:
                f[0].append(averaged_exp(g0, self.model.arrivals))
                f[1].append(np.zeros_like(g0))
                f[2].append(np.zeros_like(g0))
                continue
            aug = np.zeros((3 * m, 3 * m))
            for r in range(3):
                aug[r * m : (r + 1) * m, r * m : (r + 1) * m] = g0
            aug[:m, m : 2 * m] = aug[m : 2 * m, 2 * m :] = g1
            aug[:m, 2 * m :] = g2
            e = averaged_exp(aug, self.model.arrivals)
            for r in range(3):
                f[r].append(e[:m, r * m : (r + 1) * m].copy())
        return tuple(LossBlocks(b, self.n, self.populations) for b in f)  # type: ignore[return-value]
