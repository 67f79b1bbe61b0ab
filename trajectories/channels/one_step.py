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
    model : Micromaser
        The model.
    cutoff : int
        ``N``.
    floor : int
        Lowest kept level.
    size : int
        ``M = N - floor``, the side of the matrices the channel acts on.
    collisions : CollisionSequence
        ``collisions.at(k)``: the channel of collision ``k``.
    loss : LossChannel
        The exact loss channel of one interval.
    period : int or None
        Collisions after which the channels repeat (1: the same every collision).
    keeps_diagonal : bool
        Every collision keeps the diagonal index ``d = n - m`` (incoherent qubits with the
        Jaynes-Cummings collision): populations evolve alone and ``T`` splits into sectors.

    Raises
    ------
    ValueError
        If ``model`` is not a :class:`~trajectories.model.micromaser.Micromaser` or
        ``floor > N - 2``.

    Notes
    -----
    Exact: the collision and the loss are applied without time stepping
    (``docs/MODEL.md``, Sec. 2). The bottom boundary is checked once per collision (after
    the loss interval); the top one continuously (the loss channel's exact leak), as in
    :func:`~trajectories.solvers.exact.solve_exact`.

    Examples
    --------
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
        """Collisions after which the channels repeat (1: all alike; ``None``: never)."""
        return self.collisions.period

    @property
    def collision(self) -> CollisionSequence:
        """The collision sequence (the name of earlier versions)."""
        return self.collisions

    @property
    def keeps_diagonal(self) -> bool:
        """True when every collision keeps the diagonal index ``d = n - m`` of rho."""
        return self.period == 1 and self.collisions.at(1).keeps_diagonal

    @property
    def coherent(self) -> bool:
        """Diagonals ``d`` and ``d +- 1`` of rho are coupled (no symmetry sectors)."""
        return not self.keeps_diagonal

    def perturbed(self, rel: float, seed: int) -> OneStepChannel:
        """Another floating-point version of the channel, to measure a rounding floor.

        The same channel (collision 1 for every collision) with every stored coefficient
        (collision operators and weights, loss blocks, leak vectors) multiplied by
        ``1 + rel * u``, ``u`` uniform in ``[-1, 1]`` drawn once from ``seed``.
        With ``rel`` a rounding unit this is another floating-point version of the same
        channel, as a CPU with other vector widths or fused multiply-adds would compute
        it: the spread of a result over a few such versions is its rounding floor (used by
        :func:`~trajectories.solvers.spectral.escape.escape_time`; ``docs/MODEL.md``,
        Sec. 7).

        Parameters
        ----------
        rel : float
            Relative size of the perturbation.
        seed : int
            Seed of the draws (``numpy.random.default_rng(seed)``).

        Returns
        -------
        OneStepChannel
            The perturbed copy, with the loss in the dense layout; ``self`` is unchanged.
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
        """The loss block :math:`e^{G_d t_r}` of diagonal ``d``, cached.

        Parameters
        ----------
        d : int
            Diagonal index, ``abs(d) < N``.

        Returns
        -------
        ndarray of float64, shape (N - abs(d), N - abs(d))
            See :meth:`LossChannel.block <trajectories.channels.loss.LossChannel.block>`.
        """
        d = abs(int(d))
        if d not in self._blocks:
            loss = self.loss
            self._blocks[d] = loss.population_block if d == 0 else loss.block(d)
        return self._blocks[d]

    # ------------------------------------------------------------------ forward
    def step_dm(self, rho: np.ndarray, k: int = 1) -> tuple[np.ndarray, float]:
        r"""Step ``k`` on a density matrix: :math:`\rho \mapsto \Lambda(\Phi_k(\rho))`.

        One compiled pass when the collision has pair weights and the loss the banded
        layout; otherwise the collision, then the loss. The floor is ignored.

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            Hermitian density matrix after collision ``k - 1``.
        k : int, optional
            Collision index, ``>= 1`` (default 1).

        Returns
        -------
        rho_out : ndarray of complex128, shape (N, N)
            :math:`T_k(\rho)`.
        leaked : float
            Weight lost through the cutoff in this step (collision plus loss interval).
        """
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
        r"""Step ``k`` with both boundaries: :math:`T_W(\rho) = P\,T_k(P\rho P)\,P`.

        Parameters
        ----------
        rho : ndarray of complex128, shape (M, M)
            Hermitian matrix on levels ``floor .. N-1``.
        k : int, optional
            Collision index, ``>= 1`` (default 1).

        Returns
        -------
        rho_out : ndarray of complex128, shape (M, M)
            :math:`T_W(\rho)`.
        top : float
            Weight lost through the cutoff.
        bottom : float
            Weight that arrived below ``floor`` (0 without a floor). Both losses are sums of
            non-negative terms.
        """
        out, leak = self.step_dm(self._embed(rho), k)
        if self.floor == 0:
            return out, leak, 0.0
        f = self.floor
        down = float(np.sum(np.diagonal(out)[:f].real))
        return np.ascontiguousarray(out[f:, f:]), leak, down

    def step_populations(self, p: np.ndarray, k: int = 1) -> tuple[np.ndarray, float]:
        """:meth:`step_dm` on the populations of a diagonal state, O(N^2).

        Exact when the collision keeps diagonals (incoherent qubits, Jaynes-Cummings): the
        populations then form a Markov chain.

        Parameters
        ----------
        p : ndarray of float64, shape (N,)
            Populations after collision ``k - 1``.
        k : int, optional
            Collision index, ``>= 1`` (default 1).

        Returns
        -------
        p_out : ndarray of float64, shape (N,)
            Populations after step ``k``.
        leaked : float
            Weight lost through the cutoff.

        Raises
        ------
        ValueError
            If collision ``k`` does not keep diagonals.
        """
        collision = self.collisions.at(k)
        if not collision.keeps_diagonal:
            raise ValueError("populations evolve alone only for incoherent qubits (c = 0) "
                             "and the Jaynes-Cummings collision")  # fmt: skip
        out, leak_c = collision.apply_populations(p)
        out, leak_l = self.loss.apply_populations(out)
        return out, leak_c + leak_l

    def step_window_populations(self, p: np.ndarray, k: int = 1) -> tuple[np.ndarray, float, float]:
        """:meth:`step` on the populations of a diagonal state, with both boundaries.

        Parameters
        ----------
        p : ndarray of float64, shape (M,)
            Populations of levels ``floor .. N-1``.
        k : int, optional
            Collision index, ``>= 1`` (default 1).

        Returns
        -------
        p_out : ndarray of float64, shape (M,)
            Populations after the step.
        top, bottom : float
            Weight lost through the cutoff and weight that arrived below ``floor``.
        """
        f = self.floor
        out, leak = self.step_populations(p if f == 0 else np.concatenate([np.zeros(f), p]), k)
        if f == 0:
            return out, leak, 0.0
        return out[f:].copy(), leak, float(np.sum(out[:f]))

    def apply(self, x: np.ndarray, k: int = 1) -> np.ndarray:
        r""":math:`T_k(X)` for a general complex matrix, by the Hermitian split.

        :math:`X = H_1 + iH_2` with Hermitian :math:`H_{1,2}`; since :math:`T` preserves
        Hermiticity, :math:`T(X) = T(H_1) + i\,T(H_2)` (one step if ``X`` is Hermitian).

        Parameters
        ----------
        x : array_like, shape (M, M)
            Any complex matrix on levels ``floor .. N-1``.
        k : int, optional
            Collision index, ``>= 1`` (default 1).

        Returns
        -------
        ndarray of complex128, shape (M, M)
            :math:`T_W(X)` (losses are not returned).
        """
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
        r"""The adjoint step :math:`T_k^\dagger(Y) = \Phi_k^\dagger(\Lambda^\dagger(Y))`.

        The transposed loss blocks, then the Heisenberg-picture collision (both without
        their leaks): the dual of :meth:`apply` under :math:`\mathrm{Tr}(Y^\dagger X)`.

        Parameters
        ----------
        y : array_like, shape (M, M)
            Any complex matrix on levels ``floor .. N-1``.
        k : int, optional
            Collision index, ``>= 1`` (default 1).

        Returns
        -------
        ndarray of complex128, shape (M, M)
            :math:`T_k^\dagger(Y)`, restricted to the window.
        """
        y = self._embed(np.asarray(y, dtype=np.complex128))
        out = self.collisions.at(k).adjoint(self.loss.adjoint(y))
        if self.floor:
            out = np.ascontiguousarray(out[self.floor :, self.floor :])
        return out

    # ---------------------------------------------------------------- operators
    def operator(self, *, adjoint: bool = False) -> LinearOperator:
        r"""The channel :math:`T` (or :math:`T^\dagger`) as a matrix-free ``LinearOperator``.

        Parameters
        ----------
        adjoint : bool, optional
            Return :math:`T^\dagger` instead of :math:`T` (default False).

        Returns
        -------
        scipy.sparse.linalg.LinearOperator, shape (M^2, M^2)
            Acting on row-major flattened ``(M, M)`` matrices (``X.reshape(-1)``), complex128;
            ``rmatvec`` applies the other one. Collision 1 is used.
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

        Sector 0 (populations) uses :meth:`step_populations`. Exact, and far cheaper than
        the whole channel: ``O(N)`` per collision plus the ``(M-|d|)^2`` loss block.

        Parameters
        ----------
        d : int
            Diagonal index; :math:`T_{-d} = T_d`.
        x : ndarray, shape (M - abs(d),)
            ``x[i] = X[floor + i, floor + i + d]`` for ``d >= 0``
            (``X[floor + i + |d|, floor + i]`` for ``d < 0``); real or complex.

        Returns
        -------
        ndarray, shape (M - abs(d),)
            The same diagonal of :math:`T_W(X)`.

        Raises
        ------
        ValueError
            If the channel does not keep diagonals.
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
        """Dense :math:`T_d`: the channel on one sector, built column by column.

        A block of the channel (from :meth:`sector_apply`), not the Liouville matrix.

        Parameters
        ----------
        d : int
            Diagonal index.

        Returns
        -------
        ndarray of float64, shape (M - abs(d), M - abs(d))
            :math:`T_d`; column ``j`` is the image of the unit vector ``e_j``.
        """
        size = self.size - abs(int(d))
        return np.stack([self.sector_apply(d, e) for e in np.eye(size)], axis=1)
