r"""The one-step channel :math:`T_k = \Lambda\circ\Phi_k`: collision ``k``, then one loss interval.

Every deterministic solver iterates it: the exact solver (:math:`\rho(k) = T_k(\rho(k-1))`),
the spectral solvers (its leading eigenvalues and eigenvectors, matrix-free, forward and
adjoint), the escape times (with absorbing boundaries) and, tilted, the counting statistics.
:class:`OneStepChannel` composes a collision sequence
(:func:`~trajectories.channels.collisions.collision_sequence`) and the exact loss channel
(:class:`~trajectories.channels.loss.LossChannel`) and applies them

- to a Hermitian density matrix (:meth:`~OneStepChannel.step`), in one compiled pass when
  the collision has pair weights and the loss the banded layout;
- to the populations of a diagonal state when the collision keeps diagonals
  (:meth:`~OneStepChannel.step_populations`, incoherent qubits);
- to a general complex matrix (:meth:`~OneStepChannel.apply`, by the Hermitian split
  :math:`X = H_1 + iH_2`, since :math:`T` preserves Hermiticity) and its adjoint
  :math:`T^\dagger = \Phi^\dagger\circ\Lambda^\dagger` (:meth:`~OneStepChannel.apply_adjoint`),
  as a ``LinearOperator`` on the row-major vectorised ``N x N`` matrices;
- sector by sector (:meth:`~OneStepChannel.sector_apply`) when both channels keep the
  diagonal index ``d = n - m``.

Boundaries: weight pushed to level ``N`` (by a collision or a thermal absorption) is lost
through the top; with ``floor > 0`` the channel acts on levels ``floor .. N-1`` and weight
arriving below ``floor`` after a step is removed as well,
:math:`T_W(X) = P\,T(PXP)\,P`. Both losses are returned, each a sum of non-negative terms.
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .._threads import single_threaded_blas
from ..model.micromaser import Micromaser
from ..validation import integer_at_least
from .collisions import CollisionSequence, SameCollision, collision_sequence
from .loss import LossChannel

__all__ = ["OneStepChannel"]


class OneStepChannel:
    r"""The one-step channel of a model, built once and applied many times.

    Parameters
    ----------
    model : Micromaser
        The physics; ``model.cutoff = N`` levels.
    floor : int
        Lowest kept level (default 0): an absorbing boundary at the bottom (module
        docstring). Matrices then have shape ``(M, M)``, ``M = N - floor``.
    layout : {"auto", "dense", "band"}
        Layout of the loss blocks (:class:`~trajectories.channels.loss.LossChannel`);
        ``"dense"`` keeps every block entry (the spectral solvers use it).
    method : str
        Integrator of a Rabi collision's unitary (``"auto"``).

    Attributes
    ----------
    collisions : CollisionSequence
        ``collisions.at(k)``: the channel of collision ``k``.
    loss : LossChannel
    period : int or None
        Collisions after which the channels repeat (1: the same every collision).
    keeps_diagonal : bool
        Every collision keeps the diagonal index ``d = n - m`` (incoherent qubits with the
        Jaynes-Cummings collision): populations evolve alone and ``T`` splits into sectors.

    The bottom boundary is checked once per collision (after the loss interval); the top
    one continuously (the loss channel's exact leak), as in :func:`solve_exact`.

    >>> import trajectories as tj
    >>> step = OneStepChannel(tj.Micromaser(theta=0.5, q=0.2, cutoff=10))
    >>> rho, leak = step.step_dm(tj.as_density_matrix(None, 10))
    >>> round(float(rho.trace().real + leak), 12)
    1.0
    """

    def __init__(
        self,
        model: Micromaser,
        *,
        floor: int = 0,
        layout: str = "auto",
        method: str = "auto",
    ):
        if not isinstance(model, Micromaser):
            raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
        floor = integer_at_least("floor", floor, 0)
        if floor > model.cutoff - 2:
            raise ValueError(f"floor must be <= cutoff - 2 = {model.cutoff - 2}, got {floor}")
        self.model = model
        self.cutoff = model.cutoff
        self.floor = floor
        self.size = model.cutoff - floor
        with single_threaded_blas():
            self.collisions: CollisionSequence = collision_sequence(model, method)
            self.loss = LossChannel(model)
            if layout != "auto":
                self.loss.set_layout(layout)
        self._blocks: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ structure
    @property
    def period(self) -> int | None:
        return self.collisions.period

    @property
    def collision(self) -> CollisionSequence:
        """The collision sequence (the name of earlier versions)."""
        return self.collisions

    @property
    def keeps_diagonal(self) -> bool:
        return self.period == 1 and self.collisions.at(1).keeps_diagonal

    @property
    def coherent(self) -> bool:
        """Diagonals ``d`` and ``d +- 1`` of rho are coupled (no symmetry sectors)."""
        return not self.keeps_diagonal

    def perturbed(self, rel: float, seed: int) -> OneStepChannel:
        """The same channel (collision 1 for every collision) with every stored coefficient
        (collision operators and weights, loss blocks, leak vectors) multiplied by
        ``1 + rel * u``, ``u`` uniform in ``[-1, 1]`` drawn once from ``seed``.

        With ``rel`` a rounding unit this is another floating-point version of the same
        channel, as a CPU with other vector widths or fused multiply-adds would compute
        it: the spread of a result over a few such versions is its rounding floor (used by
        :func:`~trajectories.solvers.spectral.escape.escape_time`).
        """
        rng = np.random.default_rng(seed)
        new = copy.copy(self)
        new.collisions = SameCollision(self.collisions.at(1).perturbed(rel, rng))
        new.loss = self.loss.perturbed(rel, rng)
        new._blocks = {}
        return new

    # ------------------------------------------------------------------ helpers
    def _embed(self, x: np.ndarray) -> np.ndarray:
        if self.floor == 0:
            return x
        n, f = self.cutoff, self.floor
        full = np.zeros((n, n), dtype=np.result_type(x, np.complex128))
        full[f:, f:] = x
        return full

    def loss_block(self, d: int) -> np.ndarray:
        """``exp(G_d t_r)`` of the loss channel on diagonal ``d``, shape ``(N-|d|, N-|d|)``."""
        d = abs(int(d))
        if d not in self._blocks:
            loss = self.loss
            self._blocks[d] = loss.population_block if d == 0 else loss.block(d)
        return self._blocks[d]

    # ------------------------------------------------------------------ forward
    def step_dm(self, rho: np.ndarray, k: int = 1) -> tuple[np.ndarray, float]:
        """Step ``k`` on a Hermitian density matrix ``(N, N)`` (no floor): ``(T_k(rho),
        leaked weight)``. One compiled pass when the collision has pair weights and the loss
        the banded layout; otherwise the collision, then the loss."""
        collision = self.collisions.at(k)
        pw = collision.pair_weights
        if self.loss.layout == "band" and pw is not None:
            leak_c = collision.leak_of(rho)
            rho, leak_l = self.loss.apply_after_collision(rho, pw)
            return rho, leak_c + leak_l
        rho, leak_c = collision.apply(rho)
        rho, leak_l = self.loss.apply_dm(rho)
        return rho, leak_c + leak_l

    def step(self, rho: np.ndarray, k: int = 1) -> tuple[np.ndarray, float, float]:
        """Step ``k`` on a Hermitian ``(M, M)`` matrix: ``(T_W(rho), weight lost at the top,
        weight lost at the bottom)``; both losses are sums of non-negative terms."""
        out, leak = self.step_dm(self._embed(rho), k)
        if self.floor == 0:
            return out, leak, 0.0
        f = self.floor
        down = float(np.sum(np.diagonal(out)[:f].real))
        return np.ascontiguousarray(out[f:, f:]), leak, down

    def step_populations(self, p: np.ndarray, k: int = 1) -> tuple[np.ndarray, float]:
        """:meth:`step_dm` for the populations ``(N,)`` of a diagonal state (collisions that
        keep diagonals only): ``(populations, leaked weight)``."""
        collision = self.collisions.at(k)
        if not collision.keeps_diagonal:
            raise ValueError("populations evolve alone only for incoherent qubits (c = 0) "
                             "and the Jaynes-Cummings collision")  # fmt: skip
        out, leak_c = collision.apply_populations(p)
        out, leak_l = self.loss.apply_populations(out)
        return out, leak_c + leak_l

    def step_window_populations(self, p: np.ndarray, k: int = 1) -> tuple[np.ndarray, float, float]:
        """:meth:`step` for the populations ``(M,)`` of a diagonal state: ``(populations, lost
        at the top, lost at the bottom)``."""
        f = self.floor
        out, leak = self.step_populations(p if f == 0 else np.concatenate([np.zeros(f), p]), k)
        if f == 0:
            return out, leak, 0.0
        return out[f:].copy(), leak, float(np.sum(out[:f]))

    def apply(self, x: np.ndarray, k: int = 1) -> np.ndarray:
        r""":math:`T_k(X)` for a general complex ``(M, M)`` matrix (Hermitian split)."""
        x = np.asarray(x, dtype=np.complex128)
        xh = x.conj().T
        h1 = 0.5 * (x + xh)
        h2 = -0.5j * (x - xh)
        y1 = self.step(h1, k)[0]
        if not np.any(h2):
            return y1.astype(np.complex128, copy=False)
        y2 = self.step(h2, k)[0]
        return y1 + 1j * y2

    # ------------------------------------------------------------------ adjoint
    def apply_adjoint(self, y: np.ndarray, k: int = 1) -> np.ndarray:
        r""":math:`T_k^\dagger(Y) = \Phi_k^\dagger(\Lambda^\dagger(Y))` for a complex ``(M, M)``:
        the transposed loss blocks, then the Heisenberg-picture collision."""
        y = self._embed(np.asarray(y, dtype=np.complex128))
        out = self.collisions.at(k).adjoint(self.loss.adjoint(y))
        if self.floor:
            out = np.ascontiguousarray(out[self.floor :, self.floor :])
        return out

    # ---------------------------------------------------------------- operators
    def operator(self, *, adjoint: bool = False) -> LinearOperator:
        """:math:`T` (or :math:`T^\\dagger`) as a ``LinearOperator`` of shape ``(M^2, M^2)``.

        Vectors are row-major flattened ``(M, M)`` matrices (``X.reshape(-1)``).
        """
        m = self.size
        fwd, bwd = (self.apply_adjoint, self.apply) if adjoint else (self.apply, self.apply_adjoint)

        def matvec(v: np.ndarray) -> np.ndarray:
            return fwd(np.asarray(v).reshape(m, m)).reshape(-1)

        def rmatvec(v: np.ndarray) -> np.ndarray:
            return bwd(np.asarray(v).reshape(m, m)).reshape(-1)

        return LinearOperator((m * m, m * m), matvec=matvec, rmatvec=rmatvec, dtype=np.complex128)

    # ------------------------------------------------------------------ sectors
    def sector_apply(self, d: int, x: np.ndarray) -> np.ndarray:
        r"""Apply :math:`T_d` to the diagonal ``d`` of a matrix (channels that keep diagonals).

        ``x[i] = X[floor + i, floor + i + d]`` for ``d >= 0`` (``X[.. + i + |d|, .. + i]`` for
        ``d < 0``; :math:`T_{-d} = T_d`), shape ``(M - |d|,)``; returns the same diagonal of
        :math:`T(X)`. Sector 0 (populations) uses :meth:`step_populations`.
        """
        if not self.keeps_diagonal:
            raise ValueError("symmetry sectors exist only for incoherent qubits (c = 0)")
        d = abs(int(d))
        x = np.asarray(x)
        if d == 0:
            step = self.step_window_populations
            if np.iscomplexobj(x):
                return step(x.real)[0] + 1j * step(x.imag)[0]
            return step(x)[0]
        f = self.floor
        full = np.zeros(self.cutoff - d, dtype=np.result_type(x.dtype, np.float64))
        full[f:] = x
        y = self.collisions.at(1).sector_apply(d, full)
        if not self.loss.identity:
            y = self.loss_block(d) @ y
        return y[f:]

    def sector_matrix(self, d: int) -> np.ndarray:
        """Dense :math:`T_d` (real, shape ``(M-|d|, M-|d|)``), built column by column from
        :meth:`sector_apply`: a block of the channel, not the Liouville matrix."""
        size = self.size - abs(int(d))
        return np.stack([self.sector_apply(d, e) for e in np.eye(size)], axis=1)
