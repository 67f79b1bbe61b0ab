r"""The exact thermal loss channel :math:`\Lambda = e^{\mathcal{L} t_r}` of one interval.

Jump operators :math:`L_1 = \sqrt{\gamma(\bar n+1)}\,a` (emission into the bath) and
:math:`L_2 = \sqrt{\gamma\bar n}\,a^\dagger` (absorption from it); no Hamiltonian in
the interaction picture. The no-jump decay rates are diagonal in the Fock basis,

.. math:: \Gamma_n = \gamma[(\bar n+1)n + \bar n(n+1)],

and :math:`\mathcal L` keeps the diagonal index :math:`d = m - n`, so
:math:`e^{\mathcal L t_r}` is block diagonal: on
:math:`x_i = \rho_{i,i+d}`, :math:`i = 0..N-1-d`,

.. math:: \dot x_i = -\tfrac12(\Gamma_i+\Gamma_{i+d})x_i
          + \gamma(\bar n+1)\sqrt{(i+1)(i+1+d)}\,x_{i+1}
          + \gamma\bar n\sqrt{i(i+d)}\,x_{i-1}.

Each block is exponentiated once per model (``scipy.linalg.expm``); blocks ``-d``
equal blocks ``d`` (Hermiticity), so only the upper triangle is propagated.

Random arrivals (:class:`~trajectories.model.imperfections.Arrivals`): the interval is a
random ``T`` of mean ``t_r``, and every block :math:`e^{G_d t_r}` below is replaced by its
average :math:`\mathbb E_T[e^{G_d T}]` (:func:`~trajectories.channels.arrivals.averaged_exp`:
a resolvent for Poisson arrivals, a geometric series summed exactly for Bernoulli ones), the
leak vector likewise. Everything else (layouts, dropping, adjoint, leak) is unchanged: an
average of the blocks still has every entry in ``[0, 1]``.

Cutoff convention: :math:`\Gamma_{N-1}` keeps the absorption rate
:math:`\gamma\bar n N` out of the top level, and the weight it carries to level
``N`` is *lost* and reported as leakage (computed exactly, from the integrated
top-level population). A Liouvillian built from truncated ``N x N`` matrices
would instead silently keep that weight at level ``N-1``.

Implementation. Two layouts of the same blocks:

- *banded* (the default, for every model): the entries of ``exp(G_d t_r)`` fall off like
  Poisson/binomial tails away from the diagonal (in one interval level ``n`` loses
  about ``gamma t_r n`` photons, give or take a few standard deviations, and gains
  a few), so most far-off-diagonal entries are negligible. Each block is stored by
  its diagonals (offset ``o = column - row``): of each diagonal only the contiguous
  run of rows spanning every entry with ``|B_ij| >= DROP`` (:data:`DROP` ``= 1e-18``,
  absolute) is kept, all runs in one flat float64 array; entries outside the runs,
  all below ``DROP``, are dropped (a diagonal with none is not stored). A compiled
  kernel gathers diagonal ``d`` of rho, then adds each run as one contiguous update
  ``y[i0:i0+m] += B_run * x[i0+o:i0+o+m]`` (real block; real and imaginary parts of
  ``x`` in separate arrays): long loops that vectorise, unlike short per-row dot
  products or per-column updates (measured at N = 160: 0.35 ms per apply against
  0.56 and 0.69 ms). A step reads ``8 N_kept`` bytes of blocks, ``N_kept`` the kept
  entries (``band_fill`` of the ``N(N+1)(2N+1)/6`` dense ones: 0.44 at N = 160 in
  the Fig. 5 case). :meth:`LossChannel.apply_after_collision` forms the upper
  triangle of a Jaynes-Cummings collision's output diagonal by diagonal inside the
  same kernel (``ExactPropagator.step_dm``): one pass, no intermediate matrix.
- *dense packed* (on request, ``set_layout("dense")``: the spectral solvers use it, and
  a rounding floor is measured on it): the block for ``d`` (size
  ``N-d``) and the block for ``N-1-d`` (size ``d+1``) are packed into one
  ``(N+1) x (N+1)`` block-diagonal matrix, so a step is one stacked matrix product
  of about ``N/2`` such matrices: ``~N^3/2`` real multiply-adds and ``~4 N^3``
  bytes read. Applied alone it can beat the band when the bands are nearly full, but a
  whole exact step with the band layout (collision fused into the loss kernel) was faster
  in every case measured, up to fill 0.999 and N = 80 (``docs/PERFORMANCE.md``), so the
  band is always the default.

Why dropping is exact to rounding: ``G_d`` has non-negative off-diagonal entries
and non-positive column sums (``sqrt(i(i+d)) <= i + d/2``), so every entry of
``exp(G_d t_r)`` lies in ``[0, 1]``; and ``|rho_ij| <= 1`` for a density matrix.
The dropped terms (fewer than ``N`` per output element, each below ``DROP``)
therefore change an output element by less than ``N * DROP`` (``3.2e-16`` at
``N = 320``; in practice far less: the dropped entries are mostly many orders
below ``DROP``), under the rounding of the O(1) elements that set the scale and of
the dense product itself. Populations stay non-negative: only non-negative terms
are dropped.
"""

from __future__ import annotations

import copy

import numpy as np
from numba import njit

from ..model.micromaser import Micromaser
from .arrivals import averaged_exp
from .operators import perturb

__all__ = [
    "DROP",
    "LossChannel",
    "decay_rates",
    "loss_generator_block",
    "population_channel",
]

#: Entries of the loss blocks with ``|B_ij| < DROP`` are dropped in the banded layout.
DROP = 1e-18


def decay_rates(gamma: float, nbar: float, n_levels: int) -> np.ndarray:
    r"""No-jump decay rates :math:`\Gamma_n = \gamma[(\bar n+1)n + \bar n(n+1)]`.

    Parameters
    ----------
    gamma : float
        Cavity decay rate in units of ``1/t_r`` (the model's ``gamma_tr``).
    nbar : float
        Thermal photon number of the bath.
    n_levels : int
        Number of levels ``N``.

    Returns
    -------
    ndarray of float64, shape (N,)
        :math:`\Gamma_n` for ``n = 0 .. N-1``, in units of ``1/t_r``; :math:`\Gamma_{N-1}`
        includes the absorption out of the top level (``docs/MODEL.md``, Sec. 2.3).

    Examples
    --------
    >>> decay_rates(0.1, 0.0, 3)  # zero temperature: Gamma_n = gamma n
    array([0. , 0.1, 0.2])
    """
    n = np.arange(n_levels, dtype=np.float64)
    return gamma * ((nbar + 1.0) * n + nbar * (n + 1.0))


def loss_generator_block(gamma: float, nbar: float, cutoff: int, d: int) -> np.ndarray:
    r"""Generator :math:`G_d` of the loss dynamics on the ``d``-th diagonal of rho.

    On :math:`x_i = \rho_{i,i+d}`: :math:`\dot x = G_d x` with the rates of the module
    docstring (diagonal :math:`-\tfrac12(\Gamma_i + \Gamma_{i+d})`, emission above it,
    absorption below it). :math:`e^{G_d t_r}` is the exact loss channel on that diagonal.

    Parameters
    ----------
    gamma : float
        Cavity decay rate in units of ``1/t_r``.
    nbar : float
        Thermal photon number of the bath.
    cutoff : int
        Fock cutoff ``N``.
    d : int
        Diagonal index, ``0 <= d < N``.

    Returns
    -------
    ndarray of float64, shape (N - d, N - d)
        :math:`G_d` in units of ``1/t_r``: real, off-diagonal entries non-negative,
        column sums non-positive (trace non-increasing: the deficit of the last column is
        the absorption out of the cutoff).
    """
    size = cutoff - d
    i = np.arange(size, dtype=np.float64)
    rates = decay_rates(gamma, nbar, cutoff)
    g = np.diag(-0.5 * (rates[:size] + rates[d:]))
    up = np.sqrt((i[:-1] + 1.0) * (i[:-1] + 1.0 + d))
    g[np.arange(size - 1), np.arange(1, size)] = gamma * (nbar + 1.0) * up
    g[np.arange(1, size), np.arange(size - 1)] = gamma * nbar * up
    return g


def population_channel(model: Micromaser) -> tuple[np.ndarray, np.ndarray]:
    """The loss channel on populations: ``(exp(G_0 t_r), leak vector)``, O(N^3) once.

    The leak vector is computed exactly from the integrated top-level population (an
    augmented matrix exponential), not as ``1 - column sums``, so it keeps its digits
    when it is tiny.

    Parameters
    ----------
    model : Micromaser
        The model; ``gamma_tr``, ``nbar`` and ``cutoff`` are read.

    Returns
    -------
    block : ndarray of float64, shape (N, N)
        :math:`e^{G_0 t_r}`: ``block[m, n]`` is the probability of going from ``n`` to
        ``m`` photons in one interval (the identity without loss).
    leak : ndarray of float64, shape (N,)
        ``leak[n]``: the probability that a photon is absorbed out of level ``N - 1``
        during the interval, starting from ``n`` (zeros without loss).
    """
    n = model.cutoff
    gamma, nbar = model.gamma_tr, model.nbar
    if gamma == 0.0:
        return np.eye(n), np.zeros(n)
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = loss_generator_block(gamma, nbar, n, 0)
    aug[n, n - 1] = gamma * nbar * n  # absorption rate out of level N-1
    e_aug = averaged_exp(aug, model.arrivals)
    return e_aug[:n, :n].copy(), e_aug[n, :n].copy()


#: The arrays of the banded layout (:meth:`LossChannel._build_band`), built on first use.
_BAND_ARRAYS = frozenset(
    ("_band_vals", "_band_start", "_band_row", "_band_col", "_band_ptr", "band_fill")
)


class LossChannel:
    r"""Exact one-interval loss map :math:`\Lambda = e^{\mathcal L t_r}` of a model.

    Applied block by block (one block per diagonal ``d`` of rho, module docstring),
    without ``N^2 x N^2`` matrices: O(N^3) set-up once per model, O(N_kept) per step in
    the banded layout. Exact up to the entries below :data:`DROP` of the banded layout
    (a change below ``N * DROP`` per element).

    Parameters
    ----------
    model : Micromaser
        The model; ``gamma_tr``, ``nbar`` and ``cutoff`` are read.

    Attributes
    ----------
    model : Micromaser
        The model.
    gamma : float
        ``model.gamma_tr``: the decay rate in units of ``1/t_r`` (time ``t_r = 1``).
    nbar : float
        Thermal photon number.
    cutoff : int
        ``N``.
    identity : bool
        True when ``gamma_tr = 0``; then the apply methods return their input and zero
        leakage.
    layout : str
        ``"band"`` (banded blocks, see the module docstring), ``"dense"`` (packed blocks;
        on request) or ``"identity"``.
    band_fill : float
        Fraction of the dense blocks' ``N(N+1)(2N+1)/6`` entries the bands keep (not set
        without loss).
    population_block : ndarray of float64, shape (N, N)
        :math:`e^{G_0 t_r}`, the map on populations.
    leak_vector : ndarray of float64, shape (N,)
        Leaked weight per unit of initial population in each level.

    Examples
    --------
    At zero temperature one photon survives an interval with probability
    :math:`e^{-\gamma t_r}`:

    >>> import math
    >>> import numpy as np
    >>> from trajectories.model.micromaser import Micromaser
    >>> loss = LossChannel(Micromaser(theta=0.8, q=0.25, gamma_tr=0.1, cutoff=4))
    >>> p, leaked = loss.apply_populations(np.array([0.0, 1.0, 0.0, 0.0]))
    >>> bool(abs(p[1] - math.exp(-0.1)) < 1e-14), leaked
    (True, 0.0)
    """

    def __init__(self, model: Micromaser):
        self.model = model
        self.gamma = model.gamma_tr  # rate in units of 1/t_r, time t_r = 1
        self.nbar = model.nbar
        n = model.cutoff
        self.cutoff = n
        self.identity = self.gamma == 0.0
        #: exp(G_0 t_r), the population (d = 0) block, shape (N, N), and the leaked weight
        #: per unit of initial population in level n, shape (N,)
        self.population_block, self.leak_vector = population_channel(model)
        if self.identity:
            self.layout = "identity"
            return
        self.layout = "band"  # built on first use (:meth:`__getattr__`): trajectories need none

    def __getattr__(self, name: str):
        """Build the banded layout when one of its arrays is first read."""
        if name in _BAND_ARRAYS and self.__dict__.get("identity") is False:
            self._build_band()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ set-up
    def set_layout(self, layout: str) -> None:
        """Use the ``"band"`` or the ``"dense"`` layout from now on (built if needed).

        Both give the same channel to rounding; their rounding differs (summation order,
        dropped entries below :data:`DROP`). No effect without loss.

        Parameters
        ----------
        layout : str
            ``"band"`` or ``"dense"``.

        Raises
        ------
        ValueError
            For any other layout name.
        """
        if layout not in ("band", "dense"):
            raise ValueError(f"layout must be 'band' or 'dense', got {layout!r}")
        if self.identity:
            return
        if layout == "band" and not hasattr(self, "_band_vals"):
            self._build_band()
        if layout == "dense" and not hasattr(self, "_stack"):
            self._build_packed()
        self.layout = layout

    def perturbed(self, rel: float, rng: np.random.Generator) -> LossChannel:
        """Another floating-point version of the channel, to measure a rounding floor.

        A copy in the dense layout whose blocks, population block and leak vector have
        each entry multiplied by ``1 + rel * u``, ``u`` uniform in ``[-1, 1]`` (one fixed
        draw per entry): with ``rel`` of a rounding unit, an equally valid version of the
        channel (``docs/MODEL.md``, Sec. 7).

        Parameters
        ----------
        rel : float
            Relative size of the perturbation.
        rng : numpy.random.Generator
            Source of ``u``.

        Returns
        -------
        LossChannel
            The perturbed copy; ``self`` is unchanged (it may gain the packed layout).
        """
        if not self.identity and not hasattr(self, "_stack"):
            self._build_packed()
        new = copy.copy(self)
        new.population_block = perturb(self.population_block, rel, rng)
        new.leak_vector = perturb(self.leak_vector, rel, rng)
        if self.identity:
            return new
        new._stack = perturb(self._stack, rel, rng)
        new.layout = "dense"
        for name in ("_adj",):  # derived from the blocks: rebuilt from the perturbed ones
            new.__dict__.pop(name, None)
        return new

    def trajectory_arrays(self) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
        r"""What the waiting-time unravelling of the loss needs (``docs/MODEL.md``, Sec. 3).

        Returns
        -------
        gamma : float
            Decay rate in units of ``1/t_r``.
        nbar : float
            Thermal photon number.
        full_decay : ndarray of float64, shape (N,)
            :math:`e^{-\Gamma_n t_r}`, the no-jump probability of level ``n`` over an interval.
        half_decay : ndarray of float64, shape (N,)
            :math:`e^{-\Gamma_n t_r/2}`, the no-jump amplitude factor.
        leak : ndarray of float64, shape (N,)
            The leak vector (see :func:`population_channel`).
        """
        rates = decay_rates(self.gamma, self.nbar, self.cutoff)
        return (
            self.gamma,
            self.nbar,
            np.exp(-rates),
            np.exp(-0.5 * rates),
            np.ascontiguousarray(self.leak_vector),
        )

    def block(self, d: int) -> np.ndarray:
        """The exact loss block of one diagonal, :math:`e^{G_d t_r}`.

        Parameters
        ----------
        d : int
            Diagonal index, ``abs(d) < N`` (blocks ``-d`` and ``d`` are equal).

        Returns
        -------
        ndarray of float64, shape (N - abs(d), N - abs(d))
            The block (averaged over the interval for random arrivals), computed with
            :func:`~trajectories.channels.arrivals.averaged_exp` (not cached, except ``d = 0``;
            the identity without loss).
        """
        d = abs(d)
        if self.identity:
            return np.eye(self.cutoff - d)
        if d == 0:
            return self.population_block
        g = loss_generator_block(self.gamma, self.nbar, self.cutoff, d)
        return averaged_exp(g, self.model.arrivals)

    def _build_packed(self) -> None:
        """Dense packed layout: ``_stack``, shape ``(ceil(N/2), N+1, N+1)``, holds the blocks
        ``d`` and ``N-1-d`` on its diagonal; ``_src`` the flat index into rho of each slot."""
        n = self.cutoff
        n_pairs = (n + 1) // 2
        size = n + 1
        stack = np.zeros((n_pairs, size, size))
        # flat index into rho of each packed slot; unused slots (odd N) read rho[0, 0],
        # harmless because their columns of the stack are zero
        src = np.zeros((n_pairs, size), dtype=np.int64)
        used = np.zeros((n_pairs, size), dtype=bool)
        for p in range(n_pairs):
            d1, d2 = p, n - 1 - p
            a = n - d1
            stack[p, :a, :a] = self.block(d1)
            i1 = np.arange(a)
            src[p, :a] = i1 * n + i1 + d1
            used[p, :a] = True
            if d2 != d1:
                b = n - d2
                stack[p, a : a + b, a : a + b] = self.block(d2)
                i2 = np.arange(b)
                src[p, a : a + b] = i2 * n + i2 + d2
                used[p, a : a + b] = True
        self._stack = stack
        self._src = src
        self._used = np.flatnonzero(used)  # positions of real slots in the flattened stack
        self._upper = src.reshape(-1)[self._used]  # flat index (i, i+d) in the upper triangle
        rows, cols = np.divmod(self._upper, n)
        self._lower = cols * n + rows  # flat index (i+d, i)
        # flat index (i+d, i) of each packed slot (unused slots read rho[0, 0], as above)
        rs, cs = np.divmod(src, n)
        self._src_lower = cs * n + rs
        self._diag = np.arange(n) * (n + 1)

    def _build_band(self) -> None:
        """Banded layout (module docstring): the runs of all blocks, block by block.

        ``_band_vals`` (float64, flat): the kept entries of every run, run after run;
        run ``r`` is ``_band_vals[_band_start[r]:_band_start[r+1]]`` (``_band_start``,
        int64, runs + 1), the entries ``B[i, i+o]`` of its block for rows
        ``i = _band_row[r] ...`` and offset ``o = _band_col[r] - _band_row[r]``
        (``_band_row``, ``_band_col``: int64, first row and column of the run). The runs
        of block ``d`` are ``_band_ptr[d]:_band_ptr[d+1]`` (``_band_ptr``: int64, N + 1).
        """
        n = self.cutoff
        vals, row, col, length, ptr = [], [], [], [], [0]
        for d in range(n):
            b = self.block(d)
            ii, jj = np.nonzero(np.abs(b) >= DROP)  # row-major: rows ascending
            off = jj - ii
            offsets, first = np.unique(off, return_index=True)  # first: smallest row
            _, last = np.unique(off[::-1], return_index=True)  # largest row, from the end
            r0 = ii[first]
            ln = ii[off.size - 1 - last] - r0 + 1
            run = np.repeat(np.arange(offsets.size), ln)
            rows = r0[run] + np.arange(ln.sum()) - np.repeat(np.cumsum(ln) - ln, ln)
            vals.append(b[rows, rows + offsets[run]])
            row.append(r0)
            col.append(r0 + offsets)
            length.append(ln)
            ptr.append(ptr[-1] + offsets.size)
        self._band_vals = np.ascontiguousarray(np.concatenate(vals), dtype=np.float64)
        self._band_start = np.concatenate([[0], np.cumsum(np.concatenate(length))]).astype(np.int64)
        self._band_row = np.concatenate(row).astype(np.int64)
        self._band_col = np.concatenate(col).astype(np.int64)
        self._band_ptr = np.asarray(ptr, dtype=np.int64)
        self.band_fill = self._band_vals.size / (n * (n + 1) * (2 * n + 1) / 6)

    # ------------------------------------------------------------------- apply
    def apply_dm(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        r"""Apply the loss channel to a density matrix: :math:`\Lambda(\rho)`.

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            Hermitian density matrix; only its upper triangle is read.

        Returns
        -------
        rho_out : ndarray of complex128, shape (N, N)
            :math:`\Lambda(\rho)`, Hermitian by construction (``rho`` itself without loss).
        leaked : float
            Weight absorbed out of level ``N - 1`` during the interval.
        """
        if self.identity:
            return rho, 0.0
        leak = float(self.leak_vector @ np.diagonal(rho).real)
        if self.layout == "band":
            return self._apply_band(rho), leak
        return self._apply_dense(rho), leak

    def _apply_dense(self, rho: np.ndarray) -> np.ndarray:
        n = self.cutoff
        x = rho.reshape(-1)[self._src]  # (pairs, N+1) complex: the packed diagonals
        y = np.matmul(self._stack, x.view(np.float64).reshape(*x.shape, 2))
        vals = y.view(np.complex128).reshape(-1)[self._used]
        out = np.empty(n * n, dtype=np.complex128)
        out[self._lower] = vals.conj()
        out[self._upper] = vals
        out[self._diag] = out[self._diag].real  # populations exactly real: output Hermitian
        return out.reshape(n, n)

    def _apply_band(self, rho: np.ndarray) -> np.ndarray:
        rho = np.ascontiguousarray(rho, dtype=np.complex128)
        out = np.empty_like(rho)
        _band_apply_dm(
            rho,
            self._band_vals,
            self._band_start,
            self._band_row,
            self._band_col,
            self._band_ptr,
            out,
        )
        return out

    def apply_after_collision(self, rho: np.ndarray, weights) -> tuple[np.ndarray, float]:
        r"""A Jaynes-Cummings collision then the loss, :math:`\Lambda(\Phi(\rho))`, in one pass.

        Same per-element arithmetic as ``PairWeights.apply`` followed by :meth:`apply_dm`,
        without the intermediate matrix (and only its upper triangle formed). The weights
        are rearranged by diagonals of rho on the first call with ``weights`` (O(N^2),
        cached).

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            Hermitian density matrix before the collision; only its upper triangle is read
            (the collision's lower-triangle terms are taken as conjugates).
        weights : PairWeights
            The collision :math:`\Phi`, a channel whose operators have the diagonals
            ``{0, +-1}`` (:class:`~trajectories.channels.kraus.PairWeights`).

        Returns
        -------
        rho_out : ndarray of complex128, shape (N, N)
            :math:`\Lambda(\Phi(\rho))`, Hermitian.
        leaked : float
            The loss interval's leak only; the collision's leak is left to the caller.

        Raises
        ------
        ValueError
            If the channel is not in the banded layout.
        """
        if self.layout != "band":
            raise ValueError("apply_after_collision needs the banded layout")
        rho = np.ascontiguousarray(rho, dtype=np.complex128)
        out = np.empty_like(rho)
        pops = np.empty(self.cutoff)
        _collision_band_apply_dm(
            rho,
            self._diagonal_weights(weights),
            weights.coherent,
            self._band_vals,
            self._band_start,
            self._band_row,
            self._band_col,
            self._band_ptr,
            out,
            pops,
        )
        return out, float(self.leak_vector @ pops)

    def _diagonal_weights(self, w) -> np.ndarray:
        """The collision weights by diagonals of rho, cached per ``PairWeights`` object.

        Row pairs ``(2a, 2a+1)`` of the ``(14, N(N+1)/2)`` float64 result hold the real and
        imaginary parts of weight ``a`` at the upper-triangle element ``(i, i+d)``, diagonal
        after diagonal (position ``d N - d(d-1)/2 + i``): ``a = 0 .. 6`` multiply
        ``rho[i, j]``, ``rho[i-1, j-1]``, ``rho[i+1, j+1]``, ``rho[i, j+1]``, ``rho[i-1, j]``,
        ``conj(rho[i+1, j])`` and ``conj(rho[i, j-1])`` (``j = i + d``; the last two are the
        conjugated cross terms ``rho[j, i+1]``, ``rho[j-1, i]`` of the collision read from
        the upper triangle, for ``d = 0`` from diagonal 1); zero where the source is outside.
        """
        cache = self.__dict__.setdefault("_weights_cache", {})
        hit = cache.get(id(w))
        if hit is not None and hit[0] is w:
            return hit[1]
        n = self.cutoff
        sizes = n - np.arange(n)
        first = np.cumsum(sizes) - sizes
        i = np.arange(sizes.sum()) - np.repeat(first, sizes)
        j = i + np.repeat(np.arange(n), sizes)
        ws = np.zeros((7, i.size), dtype=np.complex128)
        ws[0] = w.diag[i, j]
        lo, hi, top, low = i >= 1, j < n - 1, i < n - 1, j >= 1
        ws[1, lo] = w.up[i[lo] - 1, j[lo] - 1]
        ws[2, hi] = w.down[i[hi], j[hi]]
        if w.coherent:
            ws[3, hi] = w.cross_a[i[hi], j[hi]]
            ws[4, lo] = w.cross_b[i[lo] - 1, j[lo]]
            ws[5, top] = np.conj(w.cross_a[j[top], i[top]])
            ws[6, low] = np.conj(w.cross_b[j[low] - 1, i[low]])
        arr = np.ascontiguousarray(np.stack([ws.real, ws.imag], axis=1).reshape(14, i.size))
        if len(cache) >= 8:  # a few distinct collisions at most (periodic protocols)
            cache.clear()
        cache[id(w)] = (w, arr)  # the weights kept alive: their id stays theirs
        return arr

    def _build_adjoint(self) -> None:
        """Pack the transposed blocks as :meth:`_build_packed` packs the blocks (diagonals
        ``d`` and ``N-1-d`` share one ``(N+1) x (N+1)`` matrix)."""
        if not hasattr(self, "_stack"):
            self._build_packed()
        self._adj = np.ascontiguousarray(np.transpose(self._stack, (0, 2, 1)))

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        r"""The adjoint loss channel :math:`\Lambda^\dagger(Y)` (the Heisenberg picture).

        The transposed block of each diagonal, upper and lower diagonals alike; the leak is
        not included.

        Parameters
        ----------
        y : array_like, shape (N, N)
            A general complex matrix (not necessarily Hermitian).

        Returns
        -------
        ndarray of complex128, shape (N, N)
            :math:`\Lambda^\dagger(Y)` (``y`` itself without loss).
        """
        y = np.asarray(y, dtype=np.complex128)
        if self.identity:
            return y
        if not hasattr(self, "_adj"):
            self._build_adjoint()
        n = self.cutoff
        flat = y.reshape(-1)
        x = np.stack([flat[self._src], flat[self._src_lower]], axis=-1)  # (pairs, N+1, 2)
        res = np.matmul(self._adj, x.view(np.float64)).view(np.complex128)
        res = res.reshape(-1, 2)[self._used]
        z = np.empty(n * n, dtype=np.complex128)
        z[self._upper] = res[:, 0]
        z[self._lower] = res[:, 1]  # for d = 0 the same element gets the same value again
        return z.reshape(n, n)

    def apply_populations(self, p: np.ndarray) -> tuple[np.ndarray, float]:
        """Apply the loss channel to the populations of a diagonal state, O(N^2).

        Exact: the loss keeps diagonal states diagonal.

        Parameters
        ----------
        p : ndarray of float64, shape (N,)
            Populations.

        Returns
        -------
        p_out : ndarray of float64, shape (N,)
            ``population_block @ p`` (``p`` itself without loss).
        leaked : float
            ``leak_vector @ p``.
        """
        if self.identity:
            return p, 0.0
        return self.population_block @ p, float(self.leak_vector @ p)


@njit(cache=True, inline="always")
def _band_diagonal(d, s, xr, xi, yr, yi, vals, start, row, col, ptr, out):  # pragma: no cover
    """Diagonal ``d`` (``s = N - d`` entries, in ``xr + i xi``) times its banded loss block,
    accumulated into ``yr + i yi`` (zeroed here) run by run and written to both triangles of
    ``out`` (the diagonal real). A part (real or imaginary) of ``x`` that is exactly zero is
    skipped: its output part is the sum of products ``v * 0 = 0``, exactly ``+0.0`` either
    way, so the result is the same bit for bit (the states of a real-``c`` model have each
    diagonal real or imaginary, ``docs/PERFORMANCE.md``). The run indices are unsigned: no
    negative-index wraparound, so the inner loops vectorise."""
    has_re = False
    has_im = False
    for i in range(s):
        has_re |= xr[i] != 0.0
        has_im |= xi[i] != 0.0
        yr[i] = 0.0
        yi[i] = 0.0
    if d == 0:
        has_im = False  # populations: only the real part is written
    for r in range(ptr[d], ptr[d + 1]):
        k0 = np.uint64(start[r])
        m = np.uint64(start[r + 1]) - k0
        i0 = np.uint64(row[r])
        j0 = np.uint64(col[r])
        if has_re and has_im:
            for t in range(m):
                v = vals[k0 + t]
                yr[i0 + t] += v * xr[j0 + t]
                yi[i0 + t] += v * xi[j0 + t]
        elif has_re:
            for t in range(m):
                yr[i0 + t] += vals[k0 + t] * xr[j0 + t]
        elif has_im:
            for t in range(m):
                yi[i0 + t] += vals[k0 + t] * xi[j0 + t]
    if d == 0:
        for i in range(s):
            out[i, i] = yr[i]
    else:
        for i in range(s):
            out[i, i + d] = complex(yr[i], yi[i])
            out[i + d, i] = complex(yr[i], -yi[i])


@njit(cache=True)
def _band_apply_dm(rho, vals, start, row, col, ptr, out):  # pragma: no cover - compiled
    """``out = Lambda(rho)`` from the banded blocks (layout: ``LossChannel._build_band``).

    rho, out: ``(N, N)`` complex128; only the upper triangle of ``rho`` is read, ``out`` is
    written whole (lower triangle the conjugate of the upper, diagonal real).
    """
    n = rho.shape[0]
    xr = np.empty(n)
    xi = np.empty(n)
    yr = np.empty(n)
    yi = np.empty(n)
    for d in range(n):
        s = n - d
        for j in range(s):
            z = rho[j, j + d]
            xr[j] = z.real
            xi[j] = z.imag
        _band_diagonal(d, s, xr, xi, yr, yi, vals, start, row, col, ptr, out)


@njit(cache=True, inline="always")
def _gather_diagonal(rho, e, br, bi):  # pragma: no cover - compiled
    """``br[1 + i] + i bi[1 + i] = rho[i, i + e]``, zeros around (``br``, ``bi``: N + 2)."""
    n = rho.shape[0]
    br[0] = 0.0
    bi[0] = 0.0
    for i in range(n - e):
        z = rho[i, i + e]
        br[i + 1] = z.real
        bi[i + 1] = z.imag
    for i in range(n - e + 1, n + 2):
        br[i] = 0.0
        bi[i] = 0.0


@njit(cache=True, inline="always")
def _cmuladd(tr, ti, w, a, k, xr, xi, p):  # pragma: no cover - compiled
    """``t + W_a[k] x[p]`` in real arithmetic, the operations of a complex multiply."""
    wr = w[2 * a, k]
    wi = w[2 * a + 1, k]
    return tr + (wr * xr[p] - wi * xi[p]), ti + (wr * xi[p] + wi * xr[p])


@njit(cache=True)
def _collision_band_apply_dm(
    rho, w, coherent, vals, start, row, col, ptr, out, pops
):  # pragma: no cover - compiled
    """``out = Lambda(Phi(rho))``: the Jaynes-Cummings collision (the weights of
    ``collision.CollisionChannel.apply_dm``, same products summed in the same order per
    element; ``w`` by diagonals, ``LossChannel._diagonal_weights``) computed diagonal by
    diagonal from three diagonals of rho gathered once each (``d - 1``, ``d``, ``d + 1``),
    then the banded loss blocks as in :func:`_band_apply_dm`. Only the upper triangles of
    ``rho`` and ``Phi(rho)`` are read and formed (``rho`` must be Hermitian: the collision's
    lower-triangle terms are taken as conjugates). ``pops`` (N,) receives the populations of
    ``Phi(rho)`` (for the loss leak).
    """
    n = rho.shape[0]
    buf = np.zeros((3, 2, n + 2))  # diagonals d - 1, d, d + 1 (rotating), padded by zeros
    xr = np.empty(n)
    xi = np.empty(n)
    yr = np.empty(n)
    yi = np.empty(n)
    ip, ic, inx = 0, 1, 2
    _gather_diagonal(rho, 0, buf[ic, 0], buf[ic, 1])
    if n > 1:
        _gather_diagonal(rho, 1, buf[inx, 0], buf[inx, 1])
        for i in range(1, n):  # "diagonal -1": conj(rho[i - 1, i]) at i + 1
            buf[ip, 0, i + 1] = buf[inx, 0, i]
            buf[ip, 1, i + 1] = -buf[inx, 1, i]
    base = 0
    for d in range(n):
        s = n - d
        if d >= 1:
            ip, ic, inx = ic, inx, ip
            if d + 1 < n:
                _gather_diagonal(rho, d + 1, buf[inx, 0], buf[inx, 1])
            else:
                buf[inx] = 0.0
        cr, ci = buf[ic, 0], buf[ic, 1]
        nr, ni = buf[inx, 0], buf[inx, 1]
        pr, pi = buf[ip, 0], buf[ip, 1]
        for i in range(s):
            k = base + i
            p = i + 1
            tr, ti = _cmuladd(0.0, 0.0, w, 0, k, cr, ci, p)
            tr, ti = _cmuladd(tr, ti, w, 1, k, cr, ci, p - 1)
            tr, ti = _cmuladd(tr, ti, w, 2, k, cr, ci, p + 1)
            if coherent:
                ar, ai = _cmuladd(0.0, 0.0, w, 3, k, nr, ni, p)
                ar, ai = _cmuladd(ar, ai, w, 4, k, nr, ni, p - 1)
                br, bi = _cmuladd(0.0, 0.0, w, 5, k, pr, pi, p + 1)
                br, bi = _cmuladd(br, bi, w, 6, k, pr, pi, p)
                tr = tr + ar + br
                ti = ti + ai + bi
            xr[i] = tr
            xi[i] = ti
        if d == 0:
            for i in range(n):
                pops[i] = xr[i]
        _band_diagonal(d, s, xr, xi, yr, yi, vals, start, row, col, ptr, out)
        base += s
