r"""Steady states, metastability and relaxation times of the one-collision channel (issue 9).

Everything here is computed from the spectrum of the one-step channel

.. math:: T = \Lambda\circ\Phi, \qquad \rho(k+1) = T(\rho(k))

(SPEC Sec. 2: the collision channel :math:`\Phi` of Sec. 2.1, then the exact loss channel
:math:`\Lambda = e^{\mathcal L t_r}` of Sec. 2.2), acting on the Liouville space of
``N x N`` complex matrices (vectorised row by row, length ``N^2``).

- :class:`OneStepChannel`: :math:`T` as a matrix-free
  :class:`scipy.sparse.linalg.LinearOperator`, applied with the banded collision and
  block-diagonal loss channels (:class:`~trajectories.exact.ExactPropagator`); the
  ``N^2 x N^2`` matrix is never formed. :math:`T` preserves Hermiticity but its
  eigenvectors other than the steady state are not Hermitian, so a general complex
  :math:`X` is split as :math:`X = H_1 + iH_2`, :math:`H_1 = (X+X^\dagger)/2`,
  :math:`H_2 = (X-X^\dagger)/2i`, and :math:`T(X) = T(H_1) + iT(H_2)`. The adjoint
  :math:`T^\dagger(Y) = \Phi^\dagger(\Lambda^\dagger(Y))`, with
  :math:`\Phi^\dagger(Y) = \sum_K K^\dagger Y K` (banded Kraus operators) and
  :math:`\Lambda^\dagger` the transposed loss blocks, gives the left eigenvectors.
- Symmetry sectors: for incoherent qubits (:math:`c = 0`) both channels keep the diagonal
  index :math:`d = n - m` of :math:`\rho_{mn}`, so :math:`T = \bigoplus_d T_d` with
  :math:`T_{-d} = T_d` (real, size ``N - |d|``); each sector is solved on its own, the
  populations (:math:`d = 0`) with :meth:`ExactPropagator.step_populations`.
- :func:`spectrum`: leading eigenvalues :math:`\lambda_k` (ARPACK ``eigs``, ``which='LM'``,
  refined by a Rayleigh-Ritz step on the converged subspace), relaxation times
  :math:`\tau_k = -1/\ln|\lambda_k|` in collisions, right and left eigenvectors
  (biorthonormal, :math:`\mathrm{Tr}(L_j^\dagger R_k) = \delta_{jk}`; :math:`T` is not
  normal).
- :func:`steady_state`: the fixed point :math:`T(\rho) = \rho`, its residual, and the
  metastable structure: slow modes :math:`1-|\lambda_k| \ll 1-|\lambda_{k+1}|`, the
  quasi-stationary state :math:`\rho_{qs} = \sum_{k\,\mathrm{slow}} R_k\,
  \mathrm{Tr}(L_k^\dagger\rho_0)` reached from a given state, and its lifetime. Where
  eigenvalue 1 is degenerate (lossless fine-tuned cases), the limit from the given state
  is the projection with the left eigenvectors; peripheral modes
  (:math:`|\lambda| = 1`, :math:`\lambda\ne 1`) are excluded (the Cesaro limit).
- :func:`escape_time`: the lifetime of a plateau held inside a window of levels
  (absorbing boundaries: weight pushed to level ``>= below`` or ``< above`` counts as
  escaped). The rate is the probability flux across the boundaries in the
  quasi-stationary state :math:`\rho_{qs}` of the absorbing channel,
  :math:`\kappa = [\mathrm{Tr}\rho_{qs} - \mathrm{Tr}\,T_W(\rho_{qs})]/\mathrm{Tr}\rho_{qs}`,
  computed as a sum of non-negative terms, so it keeps its digits where
  :math:`1-\lambda_1` would lose them (below ~1e-13); survival
  :math:`S(k)\propto(1-\kappa)^k`, lifetime :math:`-1/\ln(1-\kappa)`.

Verdicts at the rounding floor are machine independent. A decision between "resolved"
and "only a bound" is taken against an uncertainty that includes the rounding error of
the computation, measured, not assumed: the flux is recomputed with three versions of the
channel whose every coefficient is perturbed by one rounding unit (fixed seeds), and the
range of the results is added to the statistical fluctuation. Rounding errors are
systematic (the same in every step), so they shift the tail of the polished state rather
than making it fluctuate, and their size depends on the CPU (vector width, fused
multiply-adds, BLAS kernels); the perturbation is at least as large as any of them. A
rate is reported as resolved only above 10x that uncertainty. The other decisions are
far from the floor by construction: eigenvalue 1 (and a gap) is resolved only beyond
:data:`ONE_TOL` = 1e-12, about 5,000 rounding units of the eigen-solver's residual; leaked
weight is a sum of non-negative terms (relative accuracy) compared with tolerances of
1e-8.

Numbers belong to time scales: a "steady" value from :func:`steady_state` is the fixed
point of the channel on the given cutoff; the quasi-stationary state is what a run from
``from_state`` shows for ``1/(1-|lambda_fast|) << k << lifetime`` collisions.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TextIO

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

from ... import observables as obs
from ..._threads import single_threaded_blas
from ...channels.jaynes_cummings import BandedKraus
from ...model.micromaser import Micromaser
from ...model.states import as_density_matrix
from ...validation import check_memory, integer_at_least, real_in_range
from ..exact import ExactPropagator

__all__ = [
    "OneStepChannel",
    "Spectrum",
    "spectrum",
    "SteadyState",
    "QuasiStationary",
    "steady_state",
    "quasi_stationary",
    "EscapeTime",
    "escape_time",
    "SteadyStateError",
    "steady_command",
    "ONE_TOL",
    "SEPARATION",
]

#: ``|lambda - 1|`` (and ``1 - |lambda|``) below this counts as eigenvalue 1: the gap is
#: not resolved in double precision.
ONE_TOL = 1e-12
#: Slow modes are metastable when ``1 - |lambda_slow| < SEPARATION * (1 - |lambda_next|)``.
SEPARATION = 1e-3
_EPS = float(np.finfo(float).eps)
#: Eigenvalues closer than this (relative) are paired with left vectors as one group.
_GROUP_TOL = 1e-8
#: Liouville spaces up to this dimension are diagonalised densely (ARPACK needs k < n - 1).
_DENSE_LIOUVILLE_MAX = 16


def _steady_bytes(n: int, loss: bool, coherent: bool) -> int:
    """Lower bound of the memory of the one-step channel's spectrum on ``n`` levels: the
    exact propagator's dense matrices (``40 N^2``), the packed dense loss layout with loss
    (``(N+1)/2`` blocks of ``(N+1)^2`` floats) and, for coherent qubits, ARPACK's Krylov
    basis in Liouville space (at least 20 vectors of ``N^2`` complex numbers)."""
    return 40 * n * n + (4 * (n + 1) ** 3 if loss else 0) + (320 * n * n if coherent else 0)


def check_steady_memory(model: Micromaser) -> None:
    """Refuse, before any allocation, a spectrum whose memory exceeds this machine's."""
    n = model.cutoff
    loss = model.has_loss
    coherent = not model.is_jaynes_cummings or model.qubit_state[0, 1] != 0

    def allowed(limit: int) -> str:
        lo, hi = 1, n  # largest cutoff that fits: bisection on the monotone bound
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if _steady_bytes(mid, loss, coherent) <= limit else (lo, mid - 1)
        return f"allowed on this machine: cutoff <= {lo}"

    parts = "dense matrices" + (", the packed loss blocks" if loss else "")
    check_memory(
        "cutoff",
        str(n),
        _steady_bytes(n, loss, coherent),
        f"the one-step channel's spectrum ({parts}"
        + (", the Krylov basis in Liouville space)" if coherent else ")"),
        allowed,
    )


class SteadyStateError(RuntimeError):
    """The steady-state solver refuses to return a number it cannot certify.

    Raised when the residual ``||T(rho) - rho||`` exceeds the tolerance, when the gap
    between eigenvalue 1 and the next eigenvalue is not resolved in double precision,
    or when ARPACK does not converge. ``spectrum`` holds the :class:`Spectrum` computed
    before the refusal (None when it failed itself).
    """

    def __init__(self, message: str, spectrum: Spectrum | None = None):
        super().__init__(message)
        self.spectrum = spectrum


# ============================================================================ the channel
class _FixedCollision:
    """One collision channel used for every collision (the ``at(k)`` interface)."""

    period = 1

    def __init__(self, channel):
        self.channel = channel

    def at(self, k: int):
        return self.channel


class OneStepChannel:
    r"""The one-step channel :math:`T = \Lambda\circ\Phi` of a model, matrix-free.

    Parameters
    ----------
    model : Micromaser
        The physics; ``model.cutoff = N`` levels. Weight pushed to level ``N`` (by a
        collision or a thermal absorption) is lost: an absorbing boundary at the top.
    floor : int
        Lowest kept level (default 0). With ``floor > 0`` the channel acts on levels
        ``floor .. N-1`` only and weight arriving below ``floor`` after a step is
        removed: an absorbing boundary at the bottom,
        :math:`T_W(X) = P\,T(PXP)\,P`. Matrices then have shape ``(M, M)``,
        ``M = N - floor``.

    Notes
    -----
    The bottom boundary is checked once per collision (after the loss interval); the top
    one continuously (the loss channel's exact leak), as in :func:`solve_exact`.
    """

    def __init__(self, model: Micromaser, *, floor: int = 0):
        if not isinstance(model, Micromaser):
            raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
        floor = integer_at_least("floor", floor, 0)
        if floor > model.cutoff - 2:
            raise ValueError(f"floor must be <= cutoff - 2 = {model.cutoff - 2}, got {floor}")
        check_steady_memory(model)
        self.model = model
        self.cutoff = model.cutoff
        self.floor = floor
        self.size = model.cutoff - floor
        with single_threaded_blas():
            self.prop = ExactPropagator(model)
            # the dense loss layout: every block entry kept (the banded one drops entries
            # below 1e-18), and the layout that perturbed() copies
            self.prop.loss.set_layout("dense")
        self._blocks: dict[int, np.ndarray] = {}
        if not model.is_jaynes_cummings:
            if self.prop.collision.period != 1:
                raise ValueError(
                    "steady states need the same channel at every collision: use "
                    "Rabi(omega_tr=None) or an omega_tr whose phases repeat every collision, "
                    f"got a period of {self.prop.collision.period} collisions"
                )
            # a Rabi collision couples every diagonal (no symmetry sectors): the general
            # Liouville-space path, with the sparse Kraus channel's adjoint
            self.coherent = True
            return
        #: True when the qubits carry coherence: diagonals d and d +- 1 are coupled
        self.coherent = bool(model.qubit_state[0, 1] != 0)
        b = self.prop.collision.blocks
        q = model.q
        self._ee, self._gg = b["ee"].real, b["gg"].real
        self._s_up = b["ge"].imag  # -sin(theta sqrt m): row m from m-1
        self._s_dn = b["eg"].imag  # -sin(theta sqrt(m+1)): row m from m+1 (0 at the top)
        self._q = q

    def perturbed(self, rel: float, seed: int) -> OneStepChannel:
        """The same channel with every stored coefficient (collision weights, loss blocks,
        leak vectors) multiplied by ``1 + rel * u``, ``u`` uniform in ``[-1, 1]`` drawn once
        from ``seed``.

        With ``rel`` a rounding unit this is another floating-point version of the same
        channel, as a CPU with other vector widths or fused multiply-adds would compute
        it: the spread of a result over a few such versions is its rounding floor (used by
        :func:`escape_time`). Only the forward step (:meth:`step`,
        :meth:`step_populations`) is perturbed.
        """
        rng = np.random.default_rng(seed)
        new = copy.copy(self)
        new.prop = copy.copy(self.prop)
        col = self.prop.collision
        if self.model.is_jaynes_cummings:
            new.prop.collision = col.perturbed(rel, rng)
        else:
            new.prop.collision = _FixedCollision(col.at(1).perturbed(rel, rng))
        new.prop.loss = self.prop.loss.perturbed(rel, rng)
        new._blocks = {}
        return new

    # ------------------------------------------------------------------ helpers
    def _embed(self, x: np.ndarray) -> np.ndarray:
        if self.floor == 0:
            return x
        n, f = self.cutoff, self.floor
        full = np.zeros((n, n), dtype=np.complex128)
        full[f:, f:] = x
        return full

    def loss_block(self, d: int) -> np.ndarray:
        """``exp(G_d t_r)`` of the loss channel on diagonal ``d``, shape ``(N-|d|, N-|d|)``."""
        d = abs(int(d))
        if d not in self._blocks:
            loss = self.prop.loss
            self._blocks[d] = loss.population_block if d == 0 else loss.block(d)
        return self._blocks[d]

    # ------------------------------------------------------------------ forward
    def step(self, rho: np.ndarray) -> tuple[np.ndarray, float, float]:
        """One step on a Hermitian ``(M, M)`` matrix.

        Returns ``(T_W(rho), weight lost at the top, weight lost at the bottom)``; both
        losses are sums of non-negative terms (no cancellation).
        """
        out, leak = self.prop.step_dm(self._embed(rho))
        if self.floor == 0:
            return out, leak, 0.0
        f = self.floor
        down = float(np.sum(np.diagonal(out)[:f].real))
        return np.ascontiguousarray(out[f:, f:]), leak, down

    def step_populations(self, p: np.ndarray) -> tuple[np.ndarray, float, float]:
        """:meth:`step` for the populations ``(M,)`` of a diagonal state (``c = 0`` only)."""
        if self.coherent:
            raise ValueError("step_populations needs incoherent qubits (c = 0)")
        if self.floor == 0:
            out, leak = self.prop.step_populations(p)
            return out, leak, 0.0
        full = np.zeros(self.cutoff)
        full[self.floor :] = p
        out, leak = self.prop.step_populations(full)
        return out[self.floor :].copy(), leak, float(np.sum(out[: self.floor]))

    def apply(self, x: np.ndarray) -> np.ndarray:
        r""":math:`T(X)` for a general complex ``(M, M)`` matrix (Hermitian split)."""
        x = np.asarray(x, dtype=np.complex128)
        xh = x.conj().T
        h1 = 0.5 * (x + xh)
        h2 = -0.5j * (x - xh)
        y1 = self.step(h1)[0]
        if not np.any(h2):
            return y1.astype(np.complex128, copy=False)
        y2 = self.step(h2)[0]
        return y1 + 1j * y2

    # ------------------------------------------------------------------ adjoint
    def _build_adjoint_loss(self) -> None:
        """Pack the transposed loss blocks like :class:`~trajectories.loss.LossChannel` packs
        the blocks: diagonals ``d`` and ``N-1-d`` share one ``(N+1) x (N+1)`` matrix."""
        n = self.cutoff
        n_pairs, size = (n + 1) // 2, n + 1
        stack = np.zeros((n_pairs, size, size))
        src_u = np.zeros((n_pairs, size), dtype=np.int64)
        src_l = np.zeros((n_pairs, size), dtype=np.int64)
        used = np.zeros((n_pairs, size), dtype=bool)
        for p in range(n_pairs):
            offset = 0
            for d in (p, n - 1 - p) if n - 1 - p != p else (p,):
                a = n - d
                i = np.arange(a)
                stack[p, offset : offset + a, offset : offset + a] = self.loss_block(d).T
                src_u[p, offset : offset + a] = i * n + i + d  # (i, i+d)
                src_l[p, offset : offset + a] = (i + d) * n + i  # (i+d, i)
                used[p, offset : offset + a] = True
                offset += a
        flat_used = np.flatnonzero(used)
        self._adj = (
            stack,
            src_u,
            src_l,
            flat_used,
            src_u.reshape(-1)[flat_used],
            src_l.reshape(-1)[flat_used],
        )

    def apply_adjoint(self, y: np.ndarray) -> np.ndarray:
        r""":math:`T^\dagger(Y) = \Phi^\dagger(\Lambda^\dagger(Y))` for a complex ``(M, M)``.

        :math:`\Lambda^\dagger` applies the transposed loss block of each diagonal (upper and
        lower ones alike), :math:`\Phi^\dagger(Y) = \sum_K K^\dagger Y K` the banded Kraus
        operators; O(N^3/2) like the forward step.
        """
        y = self._embed(np.asarray(y, dtype=np.complex128))
        n = self.cutoff
        if self.prop.loss.identity:
            z = y
        else:
            if not hasattr(self, "_adj"):
                self._build_adjoint_loss()
            stack, src_u, src_l, flat_used, dst_u, dst_l = self._adj
            flat = y.reshape(-1)
            x = np.stack([flat[src_u], flat[src_l]], axis=-1)  # (pairs, N+1, 2) complex
            res = np.matmul(stack, x.view(np.float64)).view(np.complex128)
            res = res.reshape(-1, 2)[flat_used]
            z = np.empty(n * n, dtype=np.complex128)
            z[dst_u] = res[:, 0]
            z[dst_l] = res[:, 1]  # for d = 0 the same element gets the same value again
            z = z.reshape(n, n)
        if self.model.is_jaynes_cummings:
            out = np.zeros_like(z)
            for k in self.prop.collision.kraus:
                out += _kdag_left(k, _right_k(z, k))
        else:
            out = self.prop.collision.at(1).apply_adjoint(z)
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
        r"""Apply :math:`T_d` to the diagonal ``d`` of a matrix (``c = 0`` only).

        ``x[i] = X[floor + i, floor + i + d]`` for ``d >= 0`` (``X[.. + i + |d|, .. + i]`` for
        ``d < 0``; :math:`T_{-d} = T_d`), shape ``(M - |d|,)``; returns the same diagonal of
        :math:`T(X)`. Sector 0 (populations) uses ``step_populations``.
        """
        if self.coherent:
            raise ValueError("symmetry sectors exist only for incoherent qubits (c = 0)")
        d = abs(int(d))
        x = np.asarray(x)
        if d == 0:
            if np.iscomplexobj(x):
                return self.step_populations(x.real)[0] + 1j * self.step_populations(x.imag)[0]
            return self.step_populations(x)[0]
        n, f, q = self.cutoff, self.floor, self._q
        size = n - d
        full = np.zeros(size, dtype=np.result_type(x.dtype, np.float64))
        full[f:] = x
        ee, gg, su, sd = self._ee, self._gg, self._s_up, self._s_dn
        y = ((1.0 - q) * ee[:size] * ee[d:] + q * gg[:size] * gg[d:]) * full
        y[1:] += (1.0 - q) * su[1:size] * su[1 + d :] * full[:-1]
        y[:-1] += q * sd[: size - 1] * sd[d : n - 1] * full[1:]
        if not self.prop.loss.identity:
            y = self.loss_block(d) @ y
        return y[f:]

    def sector_matrix(self, d: int) -> np.ndarray:
        """Dense :math:`T_d` (real, shape ``(M-|d|, M-|d|)``), built column by column from
        :meth:`sector_apply`: a block of the channel, not the Liouville matrix."""
        size = self.size - abs(int(d))
        return np.stack([self.sector_apply(d, e) for e in np.eye(size)], axis=1)


def _right_k(y: np.ndarray, k: BandedKraus) -> np.ndarray:
    """``y @ K`` for a banded Kraus operator ``K``."""
    out = y * k.diag[None, :]
    if k.shift == 1:  # K[m, m-1] = off[m]: column m-1 collects y[:, m] off[m]
        out[:, :-1] += y[:, 1:] * k.off[None, 1:]
    else:  # K[m, m+1] = off[m]: column m+1 collects y[:, m] off[m]
        out[:, 1:] += y[:, :-1] * k.off[None, :-1]
    return out


def _kdag_left(k: BandedKraus, y: np.ndarray) -> np.ndarray:
    """``K^dag @ y`` for a banded Kraus operator ``K``."""
    out = np.conj(k.diag)[:, None] * y
    if k.shift == 1:
        out[:-1, :] += np.conj(k.off[1:])[:, None] * y[1:, :]
    else:
        out[1:, :] += np.conj(k.off[:-1])[:, None] * y[:-1, :]
    return out


# ============================================================================== spectrum
@dataclasses.dataclass(frozen=True, repr=False)
class Spectrum:
    r"""Leading eigenvalues and eigenvectors of the one-step channel.

    Attributes
    ----------
    model : Micromaser
    eigenvalues : (k,) complex
        By decreasing modulus (ties: real first, then by sector).
    sectors : (k,) int or None
        Diagonal index ``d`` of each eigenvector (``c = 0``); None when the qubits'
        coherence couples the diagonals (then the full Liouville space is solved).
    right, left : (k, M, M) complex or None
        Right eigenvectors :math:`T(R_k) = \lambda_k R_k` (trace 1 where the trace is not
        ~0, else unit Frobenius norm) and left ones :math:`T^\dagger(L_k) = \bar\lambda_k
        L_k`, biorthonormal: :math:`\mathrm{Tr}(L_j^\dagger R_k) = \delta_{jk}` (a left
        vector that could not be matched, at the edge of the computed set, is NaN). Only with
        ``vectors=True``; ``left`` is None in :attr:`SteadyState.spectrum` when no
        projection was needed.
    residuals : (k,) float
        ``||T(R_k) - lambda_k R_k|| / ||R_k||`` (Frobenius), when vectors are kept.
    sector_leading : dict
        For ``c = 0``: ``{d: leading eigenvalues of T_d}`` for every ``d >= 0`` solved.
    method : str
        ``"sectors"`` (dense blocks ``T_d``) or ``"liouville"`` (ARPACK on ``T``).
    floor : int
        Lowest kept level (0 unless built for a window).
    seconds : float
        Wall time.
    """

    model: Micromaser
    eigenvalues: np.ndarray
    sectors: np.ndarray | None
    right: np.ndarray | None
    left: np.ndarray | None
    residuals: np.ndarray | None
    sector_leading: dict
    method: str
    floor: int
    seconds: float

    # ----------------------------------------------------------------- derived
    @property
    def moduli(self) -> np.ndarray:
        """``|lambda_k|``, shape ``(k,)``."""
        return np.abs(self.eigenvalues)

    @property
    def rates(self) -> np.ndarray:
        """Decay rates per collision ``1 - |lambda_k|`` (``<= ONE_TOL``: not resolved)."""
        return 1.0 - self.moduli

    @property
    def relaxation_collisions(self) -> np.ndarray:
        r"""Relaxation times :math:`-1/\ln|\lambda_k|` in collisions (inf where
        ``1 - |lambda_k| <= ONE_TOL``), shape ``(k,)``."""
        mod = self.moduli
        with np.errstate(divide="ignore"):
            tau = -1.0 / np.log(np.where(mod > 0, mod, np.nextafter(0.0, 1.0)))
        return np.where(1.0 - mod <= ONE_TOL, np.inf, tau)

    @property
    def stationary(self) -> np.ndarray:
        """Mask of eigenvalue 1 (``|lambda - 1| <= ONE_TOL``)."""
        return np.abs(self.eigenvalues - 1.0) <= ONE_TOL

    @property
    def peripheral(self) -> np.ndarray:
        """Mask of peripheral modes: ``|lambda| = 1`` (within ONE_TOL) but ``lambda != 1``."""
        return (np.abs(self.moduli - 1.0) <= ONE_TOL) & ~self.stationary

    @property
    def multiplicity_of_one(self) -> int:
        """Number of eigenvalues equal to 1 (within ONE_TOL) among those computed."""
        return int(np.count_nonzero(self.stationary))

    # -------------------------------------------------------------- projections
    def _need_vectors(self) -> None:
        if self.right is None or self.left is None:
            raise ValueError("this Spectrum has no eigenvectors: call spectrum(..., vectors=True)")

    def coefficients(self, rho0: np.ndarray) -> np.ndarray:
        r"""Mode amplitudes :math:`\mathrm{Tr}(L_k^\dagger\rho_0)` of a state ``(M, M)``."""
        self._need_vectors()
        return np.einsum("kij,ij->k", self.left.conj(), rho0)

    def project(self, rho0: np.ndarray, modes: np.ndarray) -> np.ndarray:
        r"""Spectral projection of ``rho0`` ``(M, M)`` on the span of ``modes`` (boolean
        mask or indices): :math:`\sum_{k} R_k\,\mathrm{Tr}(L_k^\dagger\rho_0)`.

        Evaluated as :math:`V(W^\dagger V)^{-1}W^\dagger\rho_0` with the right (``V``) and
        left (``W``) vectors of the chosen modes, so it stays exact when nearly degenerate
        modes mix inside a cluster (their single eigenvectors are ill-conditioned, the
        projector on the cluster is not).
        """
        self._need_vectors()
        idx = np.flatnonzero(modes) if np.asarray(modes).dtype == bool else np.asarray(modes)
        v = self.right[idx].reshape(idx.size, -1)
        w = self.left[idx].reshape(idx.size, -1)
        g = w.conj() @ v.T  # g[a, b] = <w_a, v_b>
        c = np.linalg.solve(g, w.conj() @ rho0.reshape(-1))
        return (c @ v).reshape(rho0.shape)

    def governing(
        self,
        rho0: np.ndarray,
        observable: np.ndarray | None = None,
        *,
        min_weight: float = 1e-8,
    ) -> int | None:
        r"""Index of the mode that governs the approach of ``<O>(k)`` from ``rho0``.

        The slowest non-stationary, non-peripheral mode whose amplitude
        :math:`|\mathrm{Tr}(L_k^\dagger\rho_0)\,\mathrm{Tr}(O R_k)|` exceeds ``min_weight``
        times the largest such amplitude. ``observable``: ``(M, M)`` matrix or ``(M,)``
        diagonal; default the photon number (energy). None if no computed mode qualifies.
        """
        self._need_vectors()
        m = rho0.shape[0]
        if observable is None:
            observable = np.arange(self.floor, self.floor + m, dtype=float)
        observable = np.asarray(observable)
        if observable.ndim == 1:
            o_r = np.einsum("i,kii->k", observable, self.right)
        else:
            o_r = np.einsum("ji,kij->k", observable, self.right)
        amp = np.abs(self.coefficients(rho0) * o_r)
        cand = ~self.stationary & ~self.peripheral
        if not np.any(cand & (amp > 0)):
            return None
        ok = cand & (amp >= min_weight * amp[cand].max())
        if not np.any(ok):
            return None
        return int(np.flatnonzero(ok)[0])  # eigenvalues are sorted by decreasing modulus

    def __repr__(self) -> str:
        lam = ", ".join(f"{x.real:.12g}{x.imag:+.3g}j" for x in self.eigenvalues[:6])
        return (
            f"Spectrum(method={self.method!r}, k={self.eigenvalues.size}, "
            f"multiplicity of 1 = {self.multiplicity_of_one}, leading = [{lam}, ...], "
            f"{self.seconds:.3g} s)"
        )


def spectrum(
    model: Micromaser,
    n_eigs: int = 8,
    *,
    vectors: bool = False,
    floor: int = 0,
) -> Spectrum:
    r"""Leading eigenvalues of the one-step channel :math:`T = \Lambda\circ\Phi`.

    Parameters
    ----------
    model : Micromaser
        The physics (``N = model.cutoff`` levels, absorbing top boundary).
    n_eigs : int
        Number of eigenvalues of largest modulus (a conjugate pair cut by the limit is
        completed, so one more may be returned).
    vectors : bool
        Also return right and left eigenvectors (``(k, M, M)`` each, biorthonormal).
    floor : int
        Lowest kept level (absorbing bottom boundary, see :class:`OneStepChannel`).

    Returns
    -------
    Spectrum
        Eigenvalues (dimensionless, per collision) by decreasing modulus, relaxation
        times ``-1/ln|lambda|`` in collisions, sectors ``d`` for ``c = 0``.

    Notes
    -----
    ``c = 0``: every sector :math:`T_d` (``d >= 0``; :math:`T_{-d} = T_d`) is a small real
    block, diagonalised densely (exact); sectors whose spectral radius is provably below the
    ``n_eigs``-th largest eigenvalue found so far are skipped (Collatz-Wielandt bound).
    Otherwise ARPACK ``eigs(which='LM')`` on the matrix-free Liouville operator, with a
    Rayleigh-Ritz step on the converged subspace (and on the adjoint for left vectors).
    """
    n_eigs = integer_at_least("n_eigs", n_eigs, 1)
    channel = OneStepChannel(model, floor=floor)
    return _spectrum(channel, n_eigs, vectors)


def _spectrum(channel: OneStepChannel, n_eigs: int, vectors: bool, left: bool = True) -> Spectrum:
    t0 = time.perf_counter()
    with single_threaded_blas():
        if channel.coherent:
            lam, sec, right, left, res, lead = _liouville_spectrum(channel, n_eigs, vectors, left)
            method = "liouville"
        else:
            lam, sec, right, left, res, lead = _sector_spectrum(channel, n_eigs, vectors)
            method = "sectors"
    return Spectrum(
        model=channel.model,
        eigenvalues=lam,
        sectors=sec,
        right=right,
        left=left,
        residuals=res,
        sector_leading=lead,
        method=method,
        floor=channel.floor,
        seconds=time.perf_counter() - t0,
    )


def _sort_order(lam: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Decreasing modulus (rounded to 1e-14 so conjugate pairs stay together), then real
    eigenvalues first, positive imaginary part first, then ``extra`` (sector |d|)."""
    mod = np.round(np.abs(lam), 14)
    keys = [np.abs(extra) if extra is not None else np.zeros(lam.size), -lam.imag]
    keys += [np.abs(np.round(lam.imag, 14)) > 0, -mod]
    return np.lexsort(keys)


def _cut_complete(lam: np.ndarray, k: int, *, open_end: bool = False) -> int:
    """How many of the sorted eigenvalues ``lam`` to keep: at least ``k`` (if available),
    never splitting a group of equal modulus (conjugate pairs, degenerate clusters; relative
    1e-9). With ``open_end`` (``lam`` is only the leading part of the spectrum), a group
    that reaches the end of ``lam`` may continue beyond it and is dropped."""
    mod = np.abs(lam)
    ends = [i + 1 for i in range(lam.size - 1) if mod[i] - mod[i + 1] > 1e-9 * max(mod[i], 1e-300)]
    ends.append(lam.size)
    for j, end in enumerate(ends):
        if end >= min(k, lam.size):
            if open_end and end == lam.size and j > 0 and lam.size > k:
                return ends[j - 1]
            return end
    return lam.size


def _normalise_right(r: np.ndarray) -> np.ndarray:
    """Trace 1 for modes that carry population (fixed points, quasi-stationary states);
    unit Frobenius norm, largest entry real positive, for the (traceless) others."""
    tr = np.trace(r)
    if abs(tr) > 1e-6 * np.linalg.norm(r):
        return r / tr
    r = r / np.linalg.norm(r)
    flat = r.reshape(-1)
    j = int(np.argmax(np.abs(flat)))
    return r * (abs(flat[j]) / flat[j])


def _biorthonormalise(
    lam: np.ndarray, right: np.ndarray, lam_left: np.ndarray, left: np.ndarray
) -> np.ndarray:
    """Match left eigenvectors (eigenvalues ``lam_left`` of T itself) to the right ones and
    make them biorthonormal group by group (groups: ``|lambda_i - lambda_j| <= 1e-8``).

    ``right``: (k, D) and ``left``: (k', D) flattened vectors. Returns (k, D) left vectors;
    rows without a match are NaN.
    """
    k = lam.size
    out = np.full((k, right.shape[1]), np.nan, dtype=np.complex128)
    done = np.zeros(k, dtype=bool)
    used = np.zeros(lam_left.size, dtype=bool)
    for i in range(k):
        if done[i]:
            continue
        # group nearly degenerate modes (e.g. 1 and 1 - 1.7e-10): their single eigenvectors
        # mix at ~eps / gap, and only the group as a whole can be made biorthonormal
        cluster = np.flatnonzero(np.abs(lam - lam[i]) <= _GROUP_TOL * max(1.0, abs(lam[i])))
        cluster = cluster[~done[cluster]]
        dist = np.abs(lam_left - lam[i])
        dist[used] = np.inf
        cand = np.argsort(dist)[: cluster.size]
        tol = max(1e-8, 1e-6 * (1.0 - abs(lam[i]))) if abs(lam[i]) < 1 else 1e-8
        if cand.size < cluster.size or np.any(dist[cand] > tol):
            done[cluster] = True
            continue
        v = right[cluster]  # (c, D)
        w = left[cand]  # (c, D)
        m = w.conj() @ v.T  # m[a, b] = <w_a, v_b>
        if np.linalg.cond(m) > 1e12:
            done[cluster] = True
            continue
        # new left rows W' = conj(M)^{-1} W, so that <w'_a, v_b> = delta_ab
        out[cluster] = np.linalg.solve(m.conj(), w)
        done[cluster] = True
        used[cand] = True
    return out


# ------------------------------------------------------------------- sector (c = 0) path
def _radius_bound(a: np.ndarray, iters: int = 30) -> float:
    """Collatz-Wielandt upper bound on the spectral radius of ``a`` (via ``|a|``)."""
    b = np.abs(a)
    v = np.ones(b.shape[0])
    for _ in range(iters):
        w = b @ v + 1e-300
        v = w / w.max()
    w = b @ v
    return float(np.max(w / v))


def _sector_spectrum(channel: OneStepChannel, n_eigs: int, vectors: bool):
    m = channel.size
    found_lam: list[complex] = []
    found_d: list[int] = []
    found_r: list[np.ndarray] = []
    found_l: list[np.ndarray] = []
    found_res: list[float] = []
    lead: dict[int, np.ndarray] = {}
    per_sector = n_eigs + 1
    for d in range(m):
        a = channel.sector_matrix(d)
        if len(found_lam) >= n_eigs:
            threshold = np.sort(np.abs(found_lam))[::-1][n_eigs - 1]
            if _radius_bound(a) < threshold * (1.0 - 1e-12):
                continue
        if vectors:
            w, vl, vr = scipy.linalg.eig(a, left=True, right=True)
        else:
            w = scipy.linalg.eigvals(a)
        order = _sort_order(w)  # the whole sector spectrum: groups are never cut open
        order = order[: _cut_complete(w[order], min(per_sector, order.size))]
        lead[d] = w[order]
        for j in order:
            for sign in (1, -1) if d else (1,):
                found_lam.append(complex(w[j]))
                found_d.append(sign * d)
                if vectors:
                    found_r.append(vr[:, j])
                    found_l.append(vl[:, j])
                    res = np.linalg.norm(a @ vr[:, j] - w[j] * vr[:, j]) / np.linalg.norm(vr[:, j])
                    found_res.append(float(res))
    lam = np.asarray(found_lam)
    sec = np.asarray(found_d)
    order = _sort_order(lam, sec)
    keep = order[: _cut_complete(lam[order], min(n_eigs, order.size))]
    lam, sec = lam[keep], sec[keep]
    if not vectors:
        return lam, sec, None, None, None, lead
    right = np.zeros((keep.size, m, m), dtype=np.complex128)
    left = np.zeros_like(right)
    for out_i, j in enumerate(keep):
        d = found_d[j]
        r = np.arange(m - abs(d))
        rows, cols = (r, r + d) if d >= 0 else (r - d, r)
        right[out_i][rows, cols] = found_r[j]
        left[out_i][rows, cols] = found_l[j]
    # biorthonormalise within each sector (clusters of equal eigenvalues, e.g. eigenvalue 1
    # of a lossless fine-tuned model, are not biorthogonal as returned by LAPACK)
    flat_r = right.reshape(keep.size, -1)
    flat_l = left.reshape(keep.size, -1)
    new_l = np.full_like(flat_l, np.nan)
    for d in np.unique(sec):
        idx = np.flatnonzero(sec == d)
        new_l[idx] = _biorthonormalise(lam[idx], flat_r[idx], lam[idx], flat_l[idx])
    right = np.stack([_normalise_right(x) for x in right])
    # rescale left vectors to the normalised right ones: <l, r> = 1 is kept
    scale = np.einsum("ki,ki->k", new_l.conj(), right.reshape(keep.size, -1))
    new_l = _invalidate_unmatched(new_l / np.conj(scale)[:, None], right.reshape(keep.size, -1))
    res = np.asarray(found_res)[keep]
    return lam, sec, right, new_l.reshape(right.shape), res, lead


# ------------------------------------------------------------- Liouville (ARPACK) path
def _start_vector(dim: int) -> np.ndarray:
    rng = np.random.default_rng(20240917)
    v = rng.standard_normal(dim) + 1j * rng.standard_normal(dim)
    return v / np.linalg.norm(v)


def _arpack(op: LinearOperator, k: int) -> tuple[np.ndarray, np.ndarray]:
    dim = op.shape[0]
    if dim <= _DENSE_LIOUVILLE_MAX:  # too small for ARPACK (k < dim - 1): dense fallback
        mat = np.stack([op.matvec(e) for e in np.eye(dim, dtype=np.complex128)], axis=1)
        w, v = np.linalg.eig(mat)
        return w, v
    k = min(k, dim - 2)
    ncv = min(dim, max(2 * k + 1, 40))
    try:
        w, v = eigs(op, k=k, which="LM", tol=0.0, v0=_start_vector(dim), ncv=ncv, maxiter=20000)
    except ArpackNoConvergence as err:
        raise SteadyStateError(
            f"ARPACK did not converge for the {k} leading eigenvalues of the one-step channel "
            f"(Liouville dimension {dim}): {err}"
        ) from err
    return w, v


def _rayleigh_ritz(op: LinearOperator, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of ``op`` compressed to the span of the columns of ``v``."""
    q, _ = np.linalg.qr(v)
    tq = np.stack([op.matvec(q[:, i]) for i in range(q.shape[1])], axis=1)
    w, c = np.linalg.eig(q.conj().T @ tq)
    return w, q @ c


def _liouville_spectrum(channel: OneStepChannel, n_eigs: int, vectors: bool, left: bool = True):
    m = channel.size
    op = channel.operator()
    k = n_eigs + 4  # a margin: Ritz values at the end of the set converge last
    w, v = _arpack(op, k)
    dense = v.shape[0] <= _DENSE_LIOUVILLE_MAX
    if not dense:
        w, v = _rayleigh_ritz(op, v)
    order = _sort_order(w)
    order = order[: _cut_complete(w[order], min(n_eigs, order.size), open_end=not dense)]
    lam, vr = w[order], v[:, order]
    if not vectors:
        return lam, None, None, None, None, {}
    res = np.array(
        [
            np.linalg.norm(op.matvec(vr[:, i]) - lam[i] * vr[:, i]) / np.linalg.norm(vr[:, i])
            for i in range(lam.size)
        ]
    )
    right = np.stack([_normalise_right(vr[:, i].reshape(m, m)) for i in range(lam.size)])
    if not left:
        return lam, None, right, None, res, {}
    return lam, None, right, _left_vectors(channel, lam, right), res, {}


def _left_vectors(channel: OneStepChannel, lam: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Left eigenvectors (ARPACK on the adjoint, Rayleigh-Ritz), biorthonormal to ``right``."""
    adj = channel.operator(adjoint=True)
    wl, vl = _arpack(adj, lam.size + 6)
    if vl.shape[0] > _DENSE_LIOUVILLE_MAX:
        wl, vl = _rayleigh_ritz(adj, vl)
        order = _sort_order(wl)
        order = order[: _cut_complete(wl[order], lam.size, open_end=True)]
        wl, vl = wl[order], vl[:, order]
    flat = right.reshape(lam.size, -1)
    left = _biorthonormalise(lam, flat, np.conj(wl), vl.T)
    return _invalidate_unmatched(left, flat).reshape(right.shape)


def _invalidate_unmatched(left: np.ndarray, right: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Set to NaN the left vectors (rows) that are not biorthonormal to the right ones within
    ``tol`` relative to ``||l_a|| ||r_b||`` (a mode at the edge of the computed set whose
    partner was not found, or one too ill-conditioned to pair)."""
    g = left.conj() @ right.T
    scale = np.maximum(1.0, np.outer(np.linalg.norm(left, axis=1), np.linalg.norm(right, axis=1)))
    bad = (np.abs(g - np.eye(g.shape[0])) / scale).max(axis=1) > tol
    out = left.copy()
    out[bad | np.isnan(g).any(axis=1)] = np.nan
    return out


def _with_left(channel: OneStepChannel, spec: Spectrum) -> Spectrum:
    """``spec`` with its left eigenvectors computed (if they are not there yet)."""
    if spec.left is not None:
        return spec
    t0 = time.perf_counter()
    with single_threaded_blas():
        left = _left_vectors(channel, spec.eigenvalues, spec.right)
    return dataclasses.replace(spec, left=left, seconds=spec.seconds + time.perf_counter() - t0)


# ============================================================================ steady state
@dataclasses.dataclass(frozen=True, repr=False)
class QuasiStationary:
    r"""The quasi-stationary state reached from ``from_state`` and its lifetime.

    Attributes
    ----------
    rho : (M, M) complex
        :math:`\sum_{k\,\mathrm{slow}} R_k\,\mathrm{Tr}(L_k^\dagger\rho_0)`, Hermitian; its
        trace is the weight that has not left through the cutoff (~1).
    energy, purity, ergotropy, fano, entropy : float
        Observables of ``rho`` (energy in hbar omega = mean photon number; entropy in nats).
    lifetime : float
        Collisions: ``-1/ln|lambda|`` of the slowest non-stationary slow mode present in
        ``rho0`` (inf when the state is the fixed point itself). For rates below ~1e-8 use
        :func:`escape_time`, which keeps more digits.
    slow_eigenvalues : (s,) complex
        The eigenvalues of the slow cluster used for the projection.
    """

    rho: np.ndarray
    energy: float
    purity: float
    ergotropy: float
    fano: float
    entropy: float
    lifetime: float
    slow_eigenvalues: np.ndarray

    def __repr__(self) -> str:
        return (
            f"QuasiStationary(energy={self.energy:.10g}, purity={self.purity:.10g}, "
            f"ergotropy={self.ergotropy:.10g}, lifetime={self.lifetime:.4g} collisions)"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class SteadyState:
    r"""Fixed point of the one-step channel and the metastable structure around it.

    Attributes
    ----------
    model : Micromaser
    rho : (N, N) complex
        The fixed point :math:`T(\rho) = \rho`, trace 1, Hermitian. When eigenvalue 1 is
        degenerate (``unique`` False: a lossless model with blocked transitions) it is the
        limit reached from ``from_state`` (default vacuum), the projection with the left
        eigenvectors of eigenvalue 1.
    energy, purity, ergotropy, fano, entropy : float
        Its observables (energy = mean photon number, entropy in nats).
    residual : float
        ``||T(rho) - rho||`` (Frobenius); below ``tol`` or the solver refuses.
    energy_error : float
        Estimated error of ``energy`` from the slowest mode: in a metastable case the fixed
        point is determined only to ``~ max(residual, eps) / (1 - |lambda_1|)`` along it.
    unique : bool
        True when eigenvalue 1 is simple.
    multiplicity : int
        Multiplicity of eigenvalue 1 (within ONE_TOL) among the computed eigenvalues.
    metastable : bool
        True when non-stationary modes cluster near 1: ``1 - |lambda_j| < SEPARATION *
        (1 - |lambda_{j+1}|)`` for some slow mode ``j``.
    slow_eigenvalues : (s,) complex
        Eigenvalues of the slow cluster (stationary ones included).
    slow_rates : (s',) float
        ``1 - |lambda|`` per collision of the slow non-stationary modes.
    quasi_stationary : QuasiStationary or None
        The state reached from ``from_state`` (default vacuum when ``metastable``) on
        times between the fast and the slow relaxation.
    spectrum : Spectrum
    time_scale : str
        Which time scale the numbers in ``rho`` belong to.
    """

    model: Micromaser
    rho: np.ndarray
    energy: float
    purity: float
    ergotropy: float
    fano: float
    entropy: float
    residual: float
    energy_error: float
    unique: bool
    multiplicity: int
    metastable: bool
    slow_eigenvalues: np.ndarray
    slow_rates: np.ndarray
    quasi_stationary: QuasiStationary | None
    spectrum: Spectrum
    time_scale: str

    @property
    def relaxation_collisions(self) -> np.ndarray:
        """Relaxation times ``-1/ln|lambda_k|`` of the computed modes, in collisions."""
        return self.spectrum.relaxation_collisions

    def __repr__(self) -> str:
        qs = "" if self.quasi_stationary is None else f", quasi_stationary={self.quasi_stationary}"
        return (
            f"SteadyState(energy={self.energy:.10g}, purity={self.purity:.10g}, "
            f"ergotropy={self.ergotropy:.10g}, residual={self.residual:.2e}, "
            f"unique={self.unique}, metastable={self.metastable}, "
            f"slow_rates={np.array2string(self.slow_rates, precision=4)}{qs})"
        )


def _observables(rho: np.ndarray, floor: int = 0) -> dict[str, float]:
    if floor:
        n = rho.shape[0] + floor
        full = np.zeros((n, n), dtype=np.complex128)
        full[floor:, floor:] = rho
        rho = full
    p = obs.photon_distribution(rho)
    levels = np.arange(p.size, dtype=float)
    e = float(p @ levels)
    spec = obs.spectrum(rho)
    w = spec[spec > 0]
    return {
        "energy": e,
        "purity": float(obs.purity(rho)),
        "ergotropy": float(obs.ergotropy_from_spectrum(e, spec)),
        "fano": float(obs.fano_from_moments(e, float(p @ levels**2))),
        "entropy": float(-(w @ np.log(w))),
    }


def _hermitian(x: np.ndarray) -> np.ndarray:
    return 0.5 * (x + x.conj().T)


def _lambda_min(x: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(x)[0])


def _repair_positivity(
    rho: np.ndarray, directions: list[tuple[np.ndarray, float]], tol: float = 64 * _EPS
) -> np.ndarray:
    r"""Move ``rho`` (trace 1) along nearly degenerate slow modes, within their numerical
    uncertainty, to the closest positive semi-definite point.

    A fixed point next to a slow mode :math:`1-\lambda_1 \ll 1` is determined only up to
    :math:`\epsilon R_1` with :math:`|\epsilon| \lesssim \delta = \mathrm{residual} /
    (1-\lambda_1)`; every such point has the same residual to rounding. Where the computed
    one has eigenvalues below ``-tol`` (a basin with ~zero weight shows up with weight
    ``-epsilon``), the smallest shift along the Hermitian, traceless direction ``h`` with
    :math:`|\epsilon| \le \delta` that restores positivity is applied
    (:math:`\lambda_{\min}(\rho+\epsilon h)` is concave in :math:`\epsilon`). Directions
    are ``(h, delta)`` pairs, used one after the other; unchanged if no shift helps.
    """
    for h, delta in directions:
        f0 = _lambda_min(rho)
        if f0 >= -tol or not delta > 0:
            continue
        # maximise the concave f(eps) = lambda_min(rho + eps h) on [-delta, delta]
        lo, hi = -delta, delta
        for _ in range(60):
            m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
            if _lambda_min(rho + m1 * h) < _lambda_min(rho + m2 * h):
                lo = m1
            else:
                hi = m2
        best = 0.5 * (lo + hi)
        if _lambda_min(rho + best * h) < -tol:
            continue
        a, b = 0.0, best  # f(a) < -tol <= f(b): the crossing closest to 0
        for _ in range(60):
            mid = 0.5 * (a + b)
            if _lambda_min(rho + mid * h) < -tol:
                a = mid
            else:
                b = mid
        rho = rho + b * h
    return rho


def _slow_directions(
    spec: Spectrum, ref: int, modes: Iterable[int], residual: float
) -> list[tuple[np.ndarray, float]]:
    """``(h, delta)`` for :func:`_repair_positivity`: Hermitian, traceless, unit-norm parts of
    the right vectors of ``modes`` and the uncertainty ``residual / |lambda_k - lambda_ref|``
    of their admixture in the eigenvector of mode ``ref``."""
    out = []
    for k in modes:
        r = spec.right[k]
        h = _hermitian(r)
        if np.linalg.norm(h) < 1e-8 * np.linalg.norm(r):
            h = _hermitian(-1j * r)
        norm = np.linalg.norm(h)
        gap = abs(spec.eigenvalues[k] - spec.eigenvalues[ref])
        if norm > 0 and gap > 0:
            out.append((h / norm, max(residual, 16 * _EPS) / gap))
    return out


def _slow_cluster(spec: Spectrum) -> tuple[np.ndarray, bool]:
    """Indices of the slow cluster (stationary modes + metastable ones) and whether any
    non-stationary mode belongs to it. Peripheral modes are excluded."""
    ok = np.flatnonzero(~spec.peripheral)
    g = np.maximum(spec.rates[ok], 0.0)
    order = np.argsort(g, kind="stable")
    g_sorted = g[order]
    n_stat = int(np.count_nonzero(spec.stationary))
    best, best_ratio = None, SEPARATION
    for j in range(max(n_stat, 1), g_sorted.size - 1):
        if g_sorted[j] <= ONE_TOL:
            continue
        ratio = g_sorted[j] / g_sorted[j + 1] if g_sorted[j + 1] > 0 else 1.0
        if ratio < best_ratio:
            best, best_ratio = j, ratio
    if best is None:
        return ok[order[: max(n_stat, 1)]], False
    return ok[order[: best + 1]], True


def steady_state(
    model: Micromaser,
    *,
    from_state: np.ndarray | None = None,
    tol: float = 1e-12,
    n_eigs: int = 8,
) -> SteadyState:
    r"""Fixed point of the one-step channel :math:`T = \Lambda\circ\Phi`, with metastability.

    Parameters
    ----------
    model : Micromaser
        The physics on ``N = model.cutoff`` levels.
    from_state : array, optional
        State vector ``(N,)`` or density matrix ``(N, N)``. When given (or, by default, the
        vacuum when slow modes cluster near 1), the quasi-stationary state reached from it
        and its lifetime are returned too. With a degenerate eigenvalue 1 (lossless
        fine-tuned), it selects the limit.
    tol : float
        Largest accepted residual ``||T(rho) - rho||`` (Frobenius, ``rho`` of trace 1).
    n_eigs : int
        Number of leading eigenvalues computed (doubled, up to 64, until the slow cluster
        is separated from the rest).

    Returns
    -------
    SteadyState

    Raises
    ------
    SteadyStateError
        Residual above ``tol`` (e.g. population leaks through the cutoff: no fixed point);
        eigenvalue 1 numerically degenerate in a lossy model (the gap
        ``1 - |lambda_1| <= ONE_TOL`` is not resolved, so the fixed point is not determined
        in double precision: use :func:`quasi_stationary` and :func:`escape_time`); ARPACK
        failure.
    """
    tol = real_in_range("tol", tol, 0.0)
    n_eigs = integer_at_least("n_eigs", n_eigs, 2)
    channel = OneStepChannel(model)
    n = model.cutoff
    spec, cluster, meta = _spectrum_with_cluster(channel, n_eigs, left=False)
    stat = np.flatnonzero(spec.stationary)
    rho0 = as_density_matrix(from_state, n, name="from_state")
    needs_left = stat.size > 1 or meta or from_state is not None

    if stat.size == 0:
        lead = spec.eigenvalues[0]
        raise SteadyStateError(
            f"no fixed point on cutoff={n}: the leading eigenvalue of the one-step channel is "
            f"{lead.real:.15g}{lead.imag:+.2g}j (1 - |lambda| = {1 - abs(lead):.3g}); population "
            f"leaves through the cutoff at that rate per collision. Use a larger cutoff, or "
            f"escape_time(model, below={n}) for the lifetime of what stays",
            spec,
        )
    if stat.size > 1 and model.has_loss:
        rates = ", ".join(f"{r:.2g}" for r in spec.rates[stat])
        raise SteadyStateError(
            f"eigenvalue 1 of the one-step channel is numerically {stat.size}-fold on "
            f"cutoff={n} (1 - |lambda| = {rates}, all <= {ONE_TOL:g}): the exchange between "
            f"basins is slower than double precision resolves, so the fixed point is not "
            f"determined. Use quasi_stationary(model, from_state=...) for the state reached "
            f"from a start, and escape_time(...) for the rates between basins",
            spec,
        )
    unique = stat.size == 1
    if needs_left:  # projections need the left eigenvectors (T is not normal)
        spec = _with_left(channel, spec)
    if unique:
        rho = spec.right[stat[0]]
        time_scale = "fixed point of the one-step channel (k -> infinity)"
    else:  # lossless: degenerate eigenvalue 1, the limit depends on the start
        rho = spec.project(rho0, stat)
        time_scale = (
            "limit k -> infinity from from_state (eigenvalue 1 is "
            f"{stat.size}-fold: projection with the left eigenvectors; peripheral modes "
            "excluded, i.e. the time average where they oscillate)"
        )
    rho = _hermitian(rho / np.trace(rho).real)
    slow_non_stat = np.setdiff1d(cluster, stat)
    if unique and slow_non_stat.size:
        res0 = float(np.linalg.norm(channel.apply(rho) - rho))
        rho = _repair_positivity(rho, _slow_directions(spec, stat[0], slow_non_stat, res0))
    residual = float(np.linalg.norm(channel.apply(rho) - rho))
    if not residual <= tol:
        raise SteadyStateError(
            f"residual ||T(rho) - rho|| = {residual:.3g} above tol = {tol:g} on cutoff={n} "
            f"(leading eigenvalue {spec.eigenvalues[0]:.15g}); refusing to return it",
            spec,
        )
    err = 0.0
    floor_res = max(residual, 16 * _EPS)
    levels = np.arange(n, dtype=float)
    for k in slow_non_stat:
        r = spec.right[k]
        err += (
            floor_res
            / max(spec.rates[k], ONE_TOL)
            * abs(levels @ np.diagonal(r))
            / (np.linalg.norm(r))
        )
    qs = None
    if from_state is not None or meta:
        qs = _quasi_from_spectrum(spec, cluster, rho0)
    return SteadyState(
        model=model,
        rho=rho,
        residual=residual,
        energy_error=float(err),
        unique=unique,
        multiplicity=int(stat.size),
        metastable=meta,
        slow_eigenvalues=spec.eigenvalues[cluster],
        slow_rates=spec.rates[slow_non_stat],
        quasi_stationary=qs,
        spectrum=spec,
        time_scale=time_scale,
        **_observables(rho),
    )


def _spectrum_with_cluster(channel: OneStepChannel, n_eigs: int, left: bool = True):
    k = n_eigs
    while True:
        spec = _spectrum(channel, k, True, left)
        cluster, meta = _slow_cluster(spec)
        ok = np.flatnonzero(~spec.peripheral)
        # the cluster must not reach the last computed (non-peripheral) mode
        if cluster.size < ok.size or k >= 64 or spec.eigenvalues.size < k:
            return spec, cluster, meta
        k *= 2


def _quasi_from_spectrum(spec: Spectrum, cluster: np.ndarray, rho0: np.ndarray) -> QuasiStationary:
    rho = _hermitian(spec.project(rho0, cluster))
    c = np.abs(spec.coefficients(rho0))
    present = [
        k
        for k in cluster
        if not spec.stationary[k] and c[k] * np.linalg.norm(spec.right[k]) > 1e-10
    ]
    lifetime = max((-1.0 / math.log(abs(spec.eigenvalues[k])) for k in present), default=math.inf)
    return QuasiStationary(
        rho=rho,
        lifetime=lifetime,
        slow_eigenvalues=spec.eigenvalues[cluster],
        **_observables(rho, spec.floor),
    )


def quasi_stationary(
    model: Micromaser, from_state: np.ndarray | None = None, *, n_eigs: int = 8
) -> QuasiStationary:
    r"""The state reached from ``from_state`` (default vacuum) once the fast modes have
    decayed, before the slow ones act: :math:`\sum_{k\,\mathrm{slow}} R_k
    \mathrm{Tr}(L_k^\dagger\rho_0)` over the slow cluster of the spectrum (just the
    stationary modes when there is no metastability).

    Works also where :func:`steady_state` refuses because eigenvalue 1 is numerically
    degenerate: the projector on the whole cluster is well determined even when the single
    eigenvectors inside it are not. Returns :class:`QuasiStationary` (shapes ``(N, N)``).
    """
    channel = OneStepChannel(model)
    spec, cluster, _ = _spectrum_with_cluster(channel, integer_at_least("n_eigs", n_eigs, 2))
    rho0 = as_density_matrix(from_state, model.cutoff, name="from_state")
    return _quasi_from_spectrum(spec, cluster, rho0)


# ============================================================================ escape time
@dataclasses.dataclass(frozen=True, repr=False)
class EscapeTime:
    r"""Lifetime of a plateau held inside the window of levels ``above .. below-1``.

    Attributes
    ----------
    below, above : int
        Absorbing boundaries: weight reaching level ``>= below`` or ``< above`` has escaped.
    rate : float
        Escape probability per collision in the quasi-stationary state (flux across the
        boundaries), ``rate_up + rate_down``.
    rate_up, rate_down : float
        The parts through the top and through the bottom.
    rate_noise : float
        Uncertainty of the flux: its fluctuation over the last block of polishing steps
        plus its rounding floor ``rounding_noise``; a rate below 10x this is not resolved.
    rate_up_noise, rate_down_noise : float
        The same for ``rate_up`` and ``rate_down`` alone (their sum is ``rate_noise``):
        use these when quoting one of the two parts.
    rounding_noise : float
        Rounding floor of the flux: its range over the channel and three versions of it
        with every coefficient perturbed by one rounding unit (fixed seeds). Rounding
        errors are systematic, so the fluctuation alone misses them; this part makes the
        resolved/bound verdict the same on every CPU.
    lifetime : float
        ``-1/ln(1 - rate)`` collisions (the e-folding time of the survival probability);
        a lower bound when ``is_lower_bound``.
    is_lower_bound : bool
        The rate is below what double precision resolves: ``lifetime`` is a lower bound.
    rate_from_eigenvalue : float
        ``1 - |lambda|`` of the governing eigenvalue (a check; it has no digits below ~1e-13).
    eigenvalue_error : float
        Absolute accuracy of the eigenvalue (from its residual).
    converged : bool
        The flux stopped changing (relative 1e-6, or within its rounding noise) under
        power-iteration polishing of the quasi-stationary state.
    polish_iterations : int
        Power iterations used.
    rho : (M, M) complex
        The quasi-stationary state on the window, trace 1.
    energy, purity : float
        Its observables (levels counted from 0).
    next_rate : float
        ``1 - |lambda|`` of the next slower-than-the-rest mode in the window (the internal
        relaxation), nan when not computed.
    """

    below: int
    above: int
    rate: float
    rate_up: float
    rate_down: float
    lifetime: float
    is_lower_bound: bool
    rate_noise: float
    rate_up_noise: float
    rate_down_noise: float
    rounding_noise: float
    rate_from_eigenvalue: float
    eigenvalue_error: float
    converged: bool
    polish_iterations: int
    rho: np.ndarray
    energy: float
    purity: float
    next_rate: float

    def __repr__(self) -> str:
        bound = ">= " if self.is_lower_bound else ""
        return (
            f"EscapeTime(window=[{self.above}, {self.below}), rate={self.rate:.6g}/collision "
            f"(up {self.rate_up:.3g}, down {self.rate_down:.3g}), lifetime {bound}"
            f"{self.lifetime:.6g} collisions, plateau energy={self.energy:.8g})"
        )


def escape_time(
    model: Micromaser,
    below: int | None = None,
    *,
    above: int = 0,
    from_state: np.ndarray | None = None,
    n_eigs: int = 6,
    max_polish: int = 20000,
) -> EscapeTime:
    r"""Lifetime of a plateau held below level ``below`` (and at or above ``above``).

    Parameters
    ----------
    model : Micromaser
        The physics. Its cutoff must be ``>= below``.
    below : int, optional
        Absorbing top boundary: weight reaching a level ``>= below`` counts as escaped (the
        channels already treat weight pushed through the cutoff as lost, so this is the
        model with ``cutoff = below``). Default: the model's cutoff.
    above : int
        Absorbing bottom boundary (default 0: none): weight arriving below this level after
        a collision counts as escaped.
    from_state : array, optional
        Start (``(N,)`` or ``(N, N)``, no weight outside the window): the plateau is the
        slowest-decaying mode present in it. Default: the slowest mode of the window (the
        Perron quasi-stationary state).
    n_eigs : int
        Eigenvalues computed to find the plateau.
    max_polish : int
        Most power iterations used to polish the tail of the quasi-stationary state.

    Returns
    -------
    EscapeTime
        ``rate`` per collision from the flux across the boundaries, ``lifetime`` in
        collisions (a lower bound where the rate is out of double precision's reach).

    Notes
    -----
    The rate counts as resolved when it exceeds 10x ``rate_noise``: the flux's fluctuation
    over the last polishing block plus its rounding floor, the range of the flux over the
    channel and three versions of it with every coefficient perturbed by one rounding unit
    (fixed seeds, so the verdict is the same on every CPU). Otherwise ``lifetime`` is the
    lower bound ``-1/ln(1 - min(rate + 3 rate_noise, rate_cap))``, ``rate_cap`` the rate
    the eigenvalue allows.
    """
    n = model.cutoff
    below = n if below is None else integer_at_least("below", below, 2)
    above = integer_at_least("above", above, 0)
    if below > n:
        raise ValueError(f"below must be <= the model's cutoff {n}, got {below}")
    if below - above < 2:
        raise ValueError(f"the window [above, below) must hold >= 2 levels, got [{above}, {below})")
    sub = model if below == n else model.replace(cutoff=below)
    channel = OneStepChannel(sub, floor=above)
    spec = _spectrum(channel, integer_at_least("n_eigs", n_eigs, 1), True)
    ok = ~spec.peripheral
    if from_state is None:
        gov = int(np.flatnonzero(ok)[0])
        coeffs = None
    else:
        full = as_density_matrix(from_state, n, name="from_state")
        inside = full[above:below, above:below]
        outside = float(np.trace(full).real - np.trace(inside).real)
        if outside > 1e-12:
            raise ValueError(
                f"from_state has weight {outside:.3g} outside the window [{above}, {below})"
            )
        coeffs = np.abs(spec.coefficients(inside)) * np.linalg.norm(
            spec.right.reshape(spec.right.shape[0], -1), axis=1
        )
        cand = np.flatnonzero(ok & (coeffs > 1e-10 * max(coeffs.max(), 1e-300)))
        if cand.size == 0:
            raise SteadyStateError("from_state overlaps none of the computed modes")
        gov = int(cand[0])
    lam_g = spec.eigenvalues[gov]
    cl = np.flatnonzero(np.abs(spec.eigenvalues - lam_g) <= ONE_TOL * max(1.0, abs(lam_g)))
    if from_state is None or cl.size == 1:
        rho = spec.right[gov]
    else:
        rho = spec.project(inside, cl)
    tr = np.trace(rho)
    if abs(lam_g.imag) > ONE_TOL or abs(tr) < 1e-12 * np.linalg.norm(rho):
        raise SteadyStateError(
            f"the slowest mode in the window is not a quasi-stationary state (eigenvalue "
            f"{lam_g:.12g}, trace {tr:.3g}): no plateau to escape from"
        )
    rho = _hermitian(rho / tr)
    partners = np.flatnonzero(
        ok
        & (np.abs(spec.eigenvalues - lam_g) > ONE_TOL)
        & (np.abs(spec.eigenvalues - lam_g) < 1e-6)
    )
    if partners.size:
        res0 = float(spec.residuals[gov]) * np.linalg.norm(spec.right[gov]) / abs(tr)
        rho = _repair_positivity(rho, _slow_directions(spec, gov, partners, res0))
    pops = np.diagonal(rho).real
    if pops.min() < -1e-8:
        raise SteadyStateError(
            f"the governing mode (eigenvalue {lam_g:.12g}) has negative populations "
            f"({pops.min():.3g}): not a quasi-stationary state"
        )
    others = np.flatnonzero(ok & (np.abs(spec.eigenvalues - lam_g) > ONE_TOL))
    slower_rest = others[spec.moduli[others] < abs(lam_g)]
    next_rate = (
        float(1.0 - spec.moduli[slower_rest[0]] / abs(lam_g)) if slower_rest.size else np.nan
    )
    with single_threaded_blas():  # a fixed summation order: reproducible digits at the floor
        flux = _polished_flux(channel, rho, next_rate, max_polish)
        round_up, round_down = _rounding_spread(channel, flux)
    rho = flux["rho"]
    rate_up, rate_down = flux["up"], flux["down"]
    rate = rate_up + rate_down
    rounding = round_up + round_down
    noise_up = flux["up_noise"] + round_up
    noise_down = flux["down_noise"] + round_down
    noise = noise_up + noise_down
    eig_err = float(spec.residuals[gov]) + 8 * _EPS
    rate_eig = float(1.0 - abs(lam_g))
    # an upper bound on the rate that does not rely on the tail of the state
    rate_cap = max(rate_eig, 0.0) + eig_err
    converged = flux["converged"]
    if converged and rate > 10.0 * noise and rate > 0.0:
        lower, lifetime = False, 1.0 / -math.log1p(-rate)
    elif converged:  # the flux is at its noise floor: only a bound
        lower = True
        lifetime = 1.0 / -math.log1p(-min(max(rate, 0.0) + 3.0 * noise, rate_cap))
    elif rate_eig > 1e4 * eig_err:  # tail not settled, but the eigenvalue has the digits
        lower, rate, lifetime = False, rate_eig, 1.0 / -math.log1p(-rate_eig)
    else:
        lower, lifetime = True, 1.0 / -math.log1p(-rate_cap)
    o = _observables(rho, above)
    return EscapeTime(
        below=below,
        above=above,
        rate=rate,
        rate_up=rate_up,
        rate_down=rate_down,
        rate_noise=noise,
        rate_up_noise=noise_up,
        rate_down_noise=noise_down,
        rounding_noise=rounding,
        lifetime=lifetime,
        is_lower_bound=bool(lower),
        rate_from_eigenvalue=rate_eig,
        eigenvalue_error=eig_err,
        converged=converged,
        polish_iterations=flux["iterations"],
        rho=rho,
        energy=o["energy"],
        purity=o["purity"],
        next_rate=next_rate,
    )


def _flux_block(step, x: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``block`` normalised steps from ``x``: (final state, top fluxes, bottom fluxes)."""
    ups, downs = np.empty(block), np.empty(block)
    for i in range(block):
        y, ups[i], downs[i] = step(x)
        x = y / (float(np.trace(y).real) if y.ndim == 2 else float(y.sum()))
    return x, ups, downs


def _polished_flux(
    channel: OneStepChannel, rho: np.ndarray, next_rate: float, max_polish: int
) -> dict:
    """Escape flux per unit trace (top, bottom) of the quasi-stationary state.

    The eigenvector's tail is only accurate to ~1e-16 of its bulk; power iterations of the
    (positive) channel rebuild the tail from the bulk with relative accuracy. Iterates in
    blocks of ~3 internal relaxation times until the block-mean flux changes by less than
    1e-6 (relative) or than its own fluctuation (rounding noise of the tail), at most
    ``max_polish`` steps. Returns the block means, their fluctuations (std over the last
    block), ``converged``, the number of iterations, the block length and the polished
    state (``x``: populations on the diagonal path, else the matrix; ``rho``: the matrix).
    """
    diag = not channel.coherent and not np.any(rho - np.diag(np.diagonal(rho)))
    x = np.diagonal(rho).real.copy() if diag else rho
    step = channel.step_populations if diag else channel.step
    block = 200
    if math.isfinite(next_rate) and next_rate > 0:
        block = int(min(max(20, math.ceil(3.0 / next_rate)), 1000))
    prev = None
    done = 0
    converged = False
    ups = downs = np.zeros(1)
    while done < max(max_polish, block):
        x, ups, downs = _flux_block(step, x, block)
        done += block
        total = float(ups.mean() + downs.mean())
        noise = float(ups.std() + downs.std())
        if prev is not None and abs(total - prev) <= max(1e-6 * abs(total), 2.0 * noise):
            converged = True
            break
        prev = total
    return {
        "up": float(ups.mean()),
        "down": float(downs.mean()),
        "up_noise": float(ups.std()),
        "down_noise": float(downs.std()),
        "converged": converged,
        "iterations": done,
        "block": block,
        "diag": diag,
        "x": x,
        "rho": _hermitian(np.diag(x).astype(np.complex128) if diag else x),
    }


#: Seeds of the perturbed channels whose spread measures the rounding floor of a flux.
ROUNDING_SEEDS = (1, 2, 3)


def _rounding_spread(channel: OneStepChannel, flux: dict) -> tuple[float, float]:
    """Rounding floor of the polished fluxes (top, bottom): their range over the channel
    and :data:`ROUNDING_SEEDS` versions of it with every coefficient perturbed by one
    rounding unit (:meth:`OneStepChannel.perturbed`), each polished for one block from
    the polished state and measured over the next.

    Rounding errors of a fixed computation are systematic (the same every step), so they
    shift the tail of the polished state instead of averaging out: the block-to-block
    fluctuation cannot see them, and their size depends on the CPU (vector width, fused
    multiply-adds, BLAS kernels). A fixed relative perturbation of every coefficient is at
    least as large as the rounding of any IEEE double computation of the channel, and it
    is drawn from fixed seeds, so this estimate (and the verdicts taken with it) does not
    depend on the machine.
    """
    ups, downs = [flux["up"]], [flux["down"]]
    block = flux["block"]
    for seed in ROUNDING_SEEDS:
        other = channel.perturbed(_EPS, seed)
        step = other.step_populations if flux["diag"] else other.step
        x, _, _ = _flux_block(step, flux["x"], block)
        _, u, d = _flux_block(step, x, block)
        ups.append(float(u.mean()))
        downs.append(float(d.mean()))
    return float(np.ptp(ups)), float(np.ptp(downs))


# ================================================================================ command
def steady_command(
    points: Sequence | Iterable,
    *,
    n_eigs: int = 8,
    file: TextIO | None = None,
) -> int:
    """Print steady (or quasi-stationary) observables and leading relaxation times.

    For ``micromaser steady RUNFILE``: ``points`` are :class:`trajectories.runfile.RunPoint`
    (``.name``, ``.model``), e.g. from ``load_run_file(path)``. For each point prints the
    fixed point's energy, purity, ergotropy, Fano factor, the residual, whether it is
    metastable, the quasi-stationary state from the vacuum with its lifetime (when slow modes
    cluster near 1), and the leading eigenvalues with relaxation times in collisions.
    A point the solver refuses is reported with the reason.

    Returns the exit status: 0 when every point was solved, 1 when any was refused.
    """
    out = sys.stdout if file is None else file
    status = 0
    for point in points:
        model = point.model
        print(f"== {point.name}: {_model_text(model)}", file=out)
        t0 = time.perf_counter()
        try:
            ss = steady_state(model, n_eigs=n_eigs)
        except SteadyStateError as err:
            status = 1
            print(f"   refused: {err}", file=out)
            try:
                qs = quasi_stationary(model, n_eigs=n_eigs)
                print(
                    f"   state reached from vacuum (quasi-stationary): energy {qs.energy:.10g}, "
                    f"purity {qs.purity:.10g}, ergotropy {qs.ergotropy:.10g}",
                    file=out,
                )
            except (SteadyStateError, ValueError):
                pass
            continue
        label = "fixed point" if ss.unique else "limit from vacuum (eigenvalue 1 degenerate)"
        print(
            f"   {label}: energy {ss.energy:.10g}, purity {ss.purity:.10g}, "
            f"ergotropy {ss.ergotropy:.10g}, Fano {ss.fano:.6g}, residual {ss.residual:.2e}",
            file=out,
        )
        if ss.metastable:
            qs = ss.quasi_stationary
            print(
                f"   METASTABLE: slow rates {', '.join(f'{r:.4g}' for r in ss.slow_rates)} "
                f"per collision; fixed point energy known to +- {ss.energy_error:.2g}",
                file=out,
            )
            print(
                f"   quasi-stationary from vacuum: energy {qs.energy:.10g}, purity "
                f"{qs.purity:.10g}, ergotropy {qs.ergotropy:.10g}, lifetime {qs.lifetime:.4g} "
                f"collisions",
                file=out,
            )
        spec = ss.spectrum
        print(
            "   leading eigenvalues of T (relaxation time -1/ln|lambda| in collisions):", file=out
        )
        tau = spec.relaxation_collisions
        for i, lam in enumerate(spec.eigenvalues):
            tag = ""
            if spec.stationary[i]:
                tag = "  stationary"
            elif spec.peripheral[i]:
                tag = "  peripheral (|lambda| = 1)"
            sec = "" if spec.sectors is None else f"  sector d={spec.sectors[i]:+d}"
            print(
                f"     {lam.real:+.15f} {lam.imag:+.3e}j   1-|lambda| = {spec.rates[i]:.4e}"
                f"   tau = {tau[i]:.6g}{sec}{tag}",
                file=out,
            )
        print(f"   ({time.perf_counter() - t0:.2f} s)", file=out)
    return status


def _model_text(m: Micromaser) -> str:
    return (
        f"theta={m.theta:.10g}, q={m.q:g}, c={m.c:.6g}, gamma_tr={m.gamma_tr:g}, "
        f"nbar={m.nbar:g}, cutoff={m.cutoff}"
        + ("" if m.is_jaynes_cummings else f", {m.collision.describe()}")
    )
