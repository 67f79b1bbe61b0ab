r"""The collision of one qubit with two cavities, block by total excitation.

Both topologies of :class:`~trajectories.model.network.Network` conserve
:math:`n_A + n_B + \sigma_{ee}`, so the unitary is block diagonal: the block of total
excitation ``n`` acts on the *complete* shell

.. math:: \{|g, a, n-a\rangle\}_{a=0..n} \cup \{|e, a, n-1-a\rangle\}_{a=0..n-1},

``2n + 1`` states, a finite space even though each cavity is infinite. Each block is built
and exponentiated on the whole shell (no truncation inside it), then restricted to the kept
levels ``a < N_A``, ``b < N_B``: the weight a collision carries out of the kept space
(leakage) is therefore exact, never hidden by a truncated exponential.

- simultaneous: :math:`H_n = \theta_A(a\sigma_+ + a^\dagger\sigma_-) + \theta_B(b\sigma_+ +
  b^\dagger\sigma_-)` on the shell (real symmetric), :math:`U_n = V e^{-iE} V^T`;
- series: :math:`U_n = U_{B,n} U_{A,n}`, each factor exponentiated on the same shell (each
  one alone conserves it).

``H`` only connects qubit-``g`` states with qubit-``e`` states, so every even power keeps the
qubit's state and every odd power flips it: :math:`\langle g|U|g\rangle` and
:math:`\langle e|U|e\rangle` are real, :math:`\langle g|U|e\rangle` and
:math:`\langle e|U|g\rangle` are :math:`-i` times real (checked to 1e-13 at set-up). The
channel stores the real blocks; the phases enter as numbers.

Kraus blocks. For outcome ``o`` and qubit input ``j`` (both in ``{e, g}``),
:math:`K_{oj} = \langle o|U|j\rangle` maps the cavity shell ``m`` (``n_A + n_B = m``) to
``m + [j = e] - [o = e]``; restricted to kept levels it is a real ``s_out x s_in`` matrix
per shell (``s_m <= min(N_A, N_B)`` kept states). :math:`\sum_{o,j}` of them with the qubit
state gives the channel

.. math:: \Phi(\rho) = \sum_o \sum_{jk} (\rho_q)_{jk} K_{oj}\,\rho\,K_{ok}^\dagger .

Memory: the blocks hold about ``4 sum_m s_m^2`` floats (``2e5`` at ``N_A = N_B = 30``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import sparse

from ..model.imperfections import QUADRATURE_TOL
from ..model.network import Network

__all__ = [
    "OUTCOMES",
    "PHASES",
    "KrausBlock",
    "NetworkCollision",
    "ShellBasis",
    "network_spread_nodes",
    "shell_unitary",
]

#: The four (outcome, input) pairs of the Kraus blocks, qubit basis index 0 = e, 1 = g.
OUTCOMES = ((1, 1), (0, 0), (1, 0), (0, 1))
#: The phase of each block: 1 when the qubit keeps its state, -i when it flips.
PHASES = {(1, 1): 1.0 + 0j, (0, 0): 1.0 + 0j, (1, 0): -1j, (0, 1): -1j}
_REAL_TOL = 1e-13
#: A Kraus block matrix is applied as a sparse matrix when at most this fraction of its
#: shell blocks' entries is nonzero (the series topology: a few per row).
SPARSE_FILL = 0.25


@dataclasses.dataclass(frozen=True)
class ShellBasis:
    r"""The kept joint levels ``|a, b>`` (``a < N_A``, ``b < N_B``) grouped by ``m = a + b``.

    The joint index is the natural one, ``a * N_B + b``. The kept states of shell ``m`` are
    ``a = lo_m .. hi_m`` (``b = m - a``); their joint indices form an arithmetic sequence
    ``m + a (N_B - 1)``, so a shell's rows of a matrix are one strided slice.

    Attributes
    ----------
    cutoff : (int, int)
        ``(N_A, N_B)``.
    lo, hi : ndarray of int64, shape (M,)
        Smallest and largest ``a`` kept in shell ``m = 0 .. M-1``, ``M = N_A + N_B - 1``.
    """

    cutoff: tuple[int, int]
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, cutoff: tuple[int, int]) -> ShellBasis:
        """The basis of cutoffs ``(N_A, N_B)``.

        Parameters
        ----------
        cutoff : (int, int)
            ``(N_A, N_B)``.

        Returns
        -------
        ShellBasis
        """
        na, nb = cutoff
        m = np.arange(na + nb - 1)
        return cls((na, nb), np.maximum(0, m - nb + 1), np.minimum(m, na - 1))

    @property
    def n_shells(self) -> int:
        """Number of shells ``N_A + N_B - 1``."""
        return len(self.lo)

    def size(self, m: int) -> int:
        """Kept states in shell ``m``.

        Parameters
        ----------
        m : int
            The shell ``a + b``.

        Returns
        -------
        int
            ``s_m`` (0 outside ``0 .. M-1``).
        """
        if m < 0 or m >= self.n_shells:
            return 0
        return int(self.hi[m] - self.lo[m] + 1)

    def rows(self, m: int) -> slice:
        """The joint indices of shell ``m`` as a slice.

        Parameters
        ----------
        m : int
            The shell, ``0 <= m < M``.

        Returns
        -------
        slice
            Start ``lo_m N_B + m - lo_m``, stride ``N_B - 1``: rows of a matrix in one view.
        """
        nb = self.cutoff[1]
        start = int(self.lo[m]) * nb + (m - int(self.lo[m]))
        step = nb - 1 if nb > 1 else 1
        return slice(start, start + (self.size(m) - 1) * step + 1, step)

    def indices(self, m: int) -> np.ndarray:
        """The joint indices of shell ``m``.

        Parameters
        ----------
        m : int
            The shell, ``0 <= m < M``.

        Returns
        -------
        ndarray of int64, shape (s_m,)
            ``a N_B + (m - a)`` for increasing ``a``.
        """
        a = np.arange(self.lo[m], self.hi[m] + 1)
        return a * self.cutoff[1] + (m - a)


def _shell_hamiltonians(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The couplings to A and to B on the complete shell of total excitation ``n``.

    Basis: ``|g, a, n-a>`` for ``a = 0..n`` (indices ``0..n``), then ``|e, a, n-1-a>`` for
    ``a = 0..n-1`` (indices ``n+1 .. 2n``). Returns ``(h_A, h_B)``, real symmetric, with
    :math:`h_X = X\sigma_+ + X^\dagger\sigma_-` (no theta).
    """
    dim = 2 * n + 1
    ha = np.zeros((dim, dim))
    hb = np.zeros((dim, dim))
    for a in range(n):  # |e, a, n-1-a>
        e = n + 1 + a
        ha[a + 1, e] = ha[e, a + 1] = math.sqrt(a + 1)  # a^dag sigma_-: -> |g, a+1, n-1-a>
        hb[a, e] = hb[e, a] = math.sqrt(n - a)  # b^dag sigma_-: -> |g, a, n-a>
    return ha, hb


def _expm_sym(h: np.ndarray, t: float) -> np.ndarray:
    """``exp(-i t h)`` for real symmetric ``h`` (eigendecomposition, unitary to rounding)."""
    e, v = np.linalg.eigh(h)
    return (v * np.exp(-1j * t * e)) @ v.T


def shell_unitary(topology: str, theta: tuple[float, float], n: int) -> np.ndarray:
    """The collision unitary on the complete shell ``n`` (basis of :func:`_shell_hamiltonians`).

    Parameters
    ----------
    topology : {"series", "simultaneous"}
        How the qubit meets the cavities.
    theta : (float, float)
        ``(theta_A, theta_B)`` of this qubit.
    n : int
        Total excitation ``n_A + n_B + sigma_ee``, ``>= 0``.

    Returns
    -------
    ndarray of complex128, shape (2n+1, 2n+1)
    """
    ha, hb = _shell_hamiltonians(n)
    if topology == "simultaneous":
        return _expm_sym(theta[0] * ha + theta[1] * hb, 1.0)
    return _expm_sym(hb, theta[1]) @ _expm_sym(ha, theta[0])


@dataclasses.dataclass(frozen=True)
class KrausBlock:
    """One shell block of a real Kraus matrix: rows of shell ``m_out``, columns of ``m_in``.

    Attributes
    ----------
    m_in : int
        Input shell (``n_A + n_B`` before the collision).
    m_out : int
        Output shell.
    matrix : ndarray of float64, shape (s_out, s_in)
        The block (the Kraus operator divided by its phase), kept states by increasing ``a``.
    """

    m_in: int
    m_out: int
    matrix: np.ndarray  # float64, (s_out, s_in)


def _blocks_for(net: Network, basis: ShellBasis, theta: tuple[float, float]) -> dict:
    """Real Kraus blocks ``{(o, j): [KrausBlock, ...]}`` for one value of theta."""
    out: dict = {oj: [] for oj in OUTCOMES}
    n_shells = basis.n_shells
    for n in range(n_shells + 1):  # total excitation: cavity shell n (g) or n-1 (e)
        u = shell_unitary(net.topology, theta, n)
        # positions of kept states in the complete shell
        gk = np.arange(basis.lo[n], basis.hi[n] + 1) if n < n_shells else np.zeros(0, int)
        ek = n + 1 + np.arange(basis.lo[n - 1], basis.hi[n - 1] + 1) if n >= 1 else np.zeros(0, int)
        for (o, j), rows, cols, m_out, m_in in (
            ((1, 1), gk, gk, n, n),
            ((0, 0), ek, ek, n - 1, n - 1),
            ((1, 0), gk, ek, n, n - 1),
            ((0, 1), ek, gk, n - 1, n),
        ):
            if len(rows) == 0 or len(cols) == 0:
                continue
            blk = u[np.ix_(rows, cols)] / PHASES[(o, j)]
            if np.max(np.abs(blk.imag), initial=0.0) > _REAL_TOL:
                raise AssertionError("network collision block is not real up to its phase")
            out[(o, j)].append(KrausBlock(m_in, m_out, np.ascontiguousarray(blk.real)))
    return out


def network_spread_nodes(net: Network) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Values ``x_j`` and weights ``w_j`` averaging the collision over the theta spread.

    Exact for no spread (``x = 1``) and a discrete spread. For a continuous spread the
    Gauss-Legendre rule of the spread is doubled from 16 nodes until the average of
    :math:`e^{i x \omega}` changes by less than ``1e-14`` for every frequency ``omega`` the
    channel contains (sums and differences of two eigenphases of the shell blocks, bounded
    by twice the largest, on a grid finer than the spread's support): the entries of the
    averaged density-matrix map are linear combinations of those averages with
    coefficients of modulus at most one.

    Parameters
    ----------
    net : Network
        The model (``theta``, ``cutoff``, ``theta_spread`` are read).

    Returns
    -------
    x, w : ndarray of float64, shape (J,)
    nodes : int
        ``J``.
    """
    spread = net.theta_spread
    if spread.is_discrete:
        x, w = spread.nodes()
        return x, w, len(x)
    na, nb = net.cutoff
    ta, tb = net.theta
    top = math.sqrt(na + nb) * (ta + tb)  # bounds every shell eigenphase of either topology
    omega = np.linspace(0.0, 2.0 * top, int(8 * 2.0 * top * (spread.upper - spread.lower)) + 65)
    n = 16
    prev = None
    while n <= 4096:
        x, w = spread.nodes(n)
        avg = np.exp(1j * np.outer(omega, x)) @ w
        if prev is not None and np.max(np.abs(avg - prev)) < QUADRATURE_TOL:
            return x, w, n
        prev = avg
        n *= 2
    raise ValueError(
        f"theta_spread: the quadrature did not converge to {QUADRATURE_TOL:g} with 4096 "
        f"nodes ({spread.describe()}); use a discrete spread"
    )


class NetworkCollision:
    r"""The collision channel of a :class:`~trajectories.model.network.Network`.

    Parameters
    ----------
    net : Network
        The model (topology, theta pair, qubit state, cutoffs, theta spread).

    Attributes
    ----------
    basis : ShellBasis
        The kept joint levels by shell.
    x, w : ndarray of float64, shape (J,)
        The theta-spread values and weights averaged over (``x = [1]`` without spread).
    blocks : list of dict
        Per value ``x_j``: ``{(o, j): [KrausBlock, ...]}`` (:data:`OUTCOMES`).
    qubit : ndarray of complex128, shape (2, 2)
        The incoming qubit state, basis (e, g).
    """

    def __init__(self, net: Network):
        self.net = net
        self.basis = ShellBasis.of(net.cutoff)
        self.x, self.w, _ = network_spread_nodes(net)
        ta, tb = net.theta
        self.blocks = [_blocks_for(net, self.basis, (ta * x, tb * x)) for x in self.x]
        self.qubit = net.qubit_state
        self._sparse = [{oj: self._as_sparse(bl[oj]) for oj in OUTCOMES} for bl in self.blocks]

    def _as_sparse(self, blocks: list[KrausBlock]) -> sparse.csr_matrix | None:
        """The block matrix as CSR when at most :data:`SPARSE_FILL` of its entries are nonzero."""
        total = sum(b.matrix.size for b in blocks)
        nnz = sum(int(np.count_nonzero(b.matrix)) for b in blocks)
        if total == 0 or nnz > SPARSE_FILL * total:
            return None
        d = self.net.dimension
        rows, cols, vals = [], [], []
        for b in blocks:
            i, j = np.nonzero(b.matrix)
            rows.append(self.basis.indices(b.m_out)[i])
            cols.append(self.basis.indices(b.m_in)[j])
            vals.append(b.matrix[i, j])
        if not rows:
            return sparse.csr_matrix((d, d))
        return sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(d, d)
        )

    def _buffers(self, dtype=np.complex128) -> dict:
        d = self.net.dimension
        key = np.dtype(dtype).name
        cache = self.__dict__.setdefault("_bufs", {})
        if key not in cache:
            cache[key] = {
                "y": np.empty((2, d, d), dtype=dtype),
                "t": np.empty((2, 2, d, d), dtype=dtype),
                "tmp": np.empty((d, d), dtype=dtype),
            }
        return cache[key]

    @property
    def gauge(self) -> complex:
        r"""The unit number ``g`` of the real gauge :math:`P|a, b\rangle = g^{a+b}|a, b\rangle`.

        In that gauge every Kraus operator is real up to a common real coefficient
        (:math:`PK_{oj}P^\dagger = p_{oj}g^{m_{out} - m_{in}}R_{oj}`, and with
        ``g = i conj(c)/|c|`` every coefficient of the channel is real), so a real state
        stays real: :meth:`apply` with ``gauge=True`` then runs in real arithmetic (half
        the work). The loss commutes with ``P`` and every observable of the pair is
        invariant under it (``P`` is a product of local phase rotations commuting with
        :math:`n_A + n_B`).
        """
        c = self.net.c
        return 1.0 + 0j if c == 0 else 1j * np.conj(c / abs(c))

    def _phase(self, oj: tuple[int, int], gauge: bool) -> complex:
        if not gauge:
            return PHASES[oj]
        shift = {(1, 0): 1, (0, 1): -1}.get(oj, 0)  # m_out - m_in of K_oj
        return PHASES[oj] * self.gauge**shift

    def _rows_product(self, oj: tuple[int, int], node: int, x: np.ndarray, out: np.ndarray) -> None:
        """``out = R_oj @ x`` (real block matrix, complex ``x``; uncovered shells zeroed)."""
        basis = self.basis
        sparse = self._sparse[node][oj]
        xf = x.view(np.float64)
        outf = out.view(np.float64)
        if sparse is not None:
            outf[...] = sparse @ xf
            return
        covered = np.zeros(basis.n_shells, dtype=bool)
        for b in self.blocks[node][oj]:
            np.matmul(b.matrix, xf[basis.rows(b.m_in)], out=outf[basis.rows(b.m_out)])
            covered[b.m_out] = True
        for m in np.flatnonzero(~covered):
            outf[basis.rows(m)] = 0.0

    def apply(
        self,
        rho: np.ndarray,
        outcome: int | None = None,
        traces: np.ndarray | None = None,
        *,
        gauge: bool = False,
    ) -> np.ndarray:
        r"""One collision on a joint matrix: :math:`\Phi(\rho)` (or one outcome's part).

        Parameters
        ----------
        rho : ndarray of complex128, shape (D, D)
            Joint density matrix (or any matrix: the map is linear), natural basis
            ``a N_B + b``, ``D = N_A N_B``.
        outcome : {None, 0, 1}
            ``None``: the whole channel; 0 (qubit left in e) or 1 (in g): that outcome's
            unnormalised part :math:`\sum_{jk}(\rho_q)_{jk}K_{oj}\rho K_{ok}^\dagger`.
        traces : ndarray of float64, shape (2,), optional
            Filled with the trace of each outcome's part (index 0: qubit left in e, 1: in
            g): the outcome probabilities, for a unit-trace input.
        gauge : bool
            ``rho`` is in the real gauge (:attr:`gauge`); a real ``rho`` is then propagated
            in real arithmetic and the output is real.

        Returns
        -------
        ndarray of complex128, shape (D, D)
            The output (trace = input trace minus the weight that left the kept levels).

        Notes
        -----
        With :math:`K_{oj} = p_{oj}R_{oj}` (real ``R``, phase ``p``):
        :math:`\Phi(\rho) = [\sum_{o,k} R_{ok} T_{ok}^\dagger]^\dagger`,
        :math:`T_{ok} = \sum_j (\rho_q)_{jk}\,\bar p_{ok} p_{oj} R_{oj}\rho`: eight
        real-block products per spread value (``~8 * 2D sum_m s_m^2`` multiply-adds, a
        sparse product where the blocks are sparse, as in the series topology), a few
        ``D x D`` buffers, no ``D^2 x D^2`` superoperator.
        """
        real = gauge and not np.iscomplexobj(rho)
        dtype = np.float64 if real else np.complex128
        rho = np.ascontiguousarray(rho, dtype=dtype)
        buf = self._buffers(dtype)
        y, t = buf["y"], buf["t"]
        acc = np.zeros_like(rho)
        outcomes = (0, 1) if outcome is None else (outcome,)
        if traces is not None:
            traces[:] = 0.0
        qs = self.qubit
        for node, wj in enumerate(self.w):
            pairs = []  # the (o, k) whose T_ok^dagger is in t[o, k]
            for o in outcomes:
                for j in (0, 1):
                    if qs[j, j] != 0.0:
                        self._rows_product((o, j), node, rho, y[j])
                for k in (0, 1):
                    if qs[k, k] == 0.0:
                        continue
                    tk = t[o, k]
                    first = True
                    for j in (0, 1):
                        if qs[j, k] == 0.0:
                            continue
                        coef = (
                            wj * qs[j, k] * np.conj(self._phase((o, k), gauge))
                            * self._phase((o, j), gauge)
                        )  # fmt: skip
                        if real:
                            if abs(coef.imag) > 1e-14 * max(1.0, abs(coef)):
                                raise AssertionError("collision coefficient not real in the gauge")
                            coef = coef.real
                        if first:  # T^dagger written straight into a contiguous buffer
                            np.multiply(y[j].T, coef, out=tk)
                            first = False
                        else:
                            tk += coef * y[j].T
                    np.conjugate(tk, out=tk)
                    pairs.append((o, k))
            self._second_stage(node, pairs, t, acc, traces, real)
        return acc.conj().T.copy()

    def _second_stage(self, node, pairs, t, acc, traces, real=False) -> None:
        """``acc += sum_(o,k) R_ok t[o, k]``; the trace of each outcome's part into ``traces``."""
        basis = self.basis
        if any(self._sparse[node][p] is not None for p in pairs):
            tmp = self._buffers(acc.dtype)["tmp"]
            for o, k in pairs:
                self._rows_product((o, k), node, t[o, k], tmp)
                acc += tmp
                if traces is not None:
                    traces[o] += np.trace(tmp).real
            return
        # dense blocks: per output shell, sum the contributions in a small cache-resident
        # panel and write the rows of acc once
        accf = acc.view(np.float64)
        by_out = self._by_output(node)
        panel = np.empty((max(basis.size(m) for m in range(basis.n_shells)), accf.shape[1]))
        part = np.empty_like(panel)
        for m_out, entries in by_out.items():
            rows = basis.rows(m_out)
            s = basis.size(m_out)
            p = panel[:s]
            p[...] = accf[rows]
            idx = basis.indices(m_out)
            for o, k, mat, m_in in entries:
                if (o, k) not in pairs:
                    continue
                q = part[:s]
                np.matmul(mat, t[o, k].view(np.float64)[basis.rows(m_in)], out=q)
                p += q
                if traces is not None:
                    traces[o] += q[np.arange(s), idx if real else 2 * idx].sum()
            accf[rows] = p

    def _by_output(self, node: int) -> dict:
        """``{m_out: [(o, k, matrix, m_in), ...]}`` for the second stage (cached)."""
        cache = self.__dict__.setdefault("_by_out", {})
        if node not in cache:
            out: dict = {}
            for (o, k), blocks in self.blocks[node].items():
                for b in blocks:
                    out.setdefault(b.m_out, []).append((o, k, b.matrix, b.m_in))
            cache[node] = out
        return cache[node]

    def dense_kraus(self, j_node: int = 0) -> dict:
        """The Kraus operators as dense matrices (for tests at small cutoffs).

        Parameters
        ----------
        j_node : int
            Which theta-spread value (0 without spread).

        Returns
        -------
        dict
            ``{(o, j): ndarray of complex128, shape (D, D)}``: :math:`\\langle o|U|j\\rangle`
            restricted to the kept levels.
        """
        d = self.net.dimension
        out = {}
        for oj, blocks in self.blocks[j_node].items():
            k = np.zeros((d, d), dtype=np.complex128)
            for b in blocks:
                k[np.ix_(self.basis.indices(b.m_out), self.basis.indices(b.m_in))] += b.matrix
            out[oj] = PHASES[oj] * k
        return out
