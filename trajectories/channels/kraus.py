r"""The collision channel in operator-sum form, whatever the interaction.

:math:`\Phi(\rho) = \sum_K K\rho K^\dagger`, :math:`K_{j,o} = \sqrt{\lambda_j}\,\langle
o|U|\phi_j\rangle` for :math:`\rho_q = \sum_j\lambda_j|\phi_j\rangle\langle\phi_j|` and the
qubit leaving in ``o`` (``docs/MODEL.md``, Sec. 2.1): operators stored by diagonals
(:class:`~trajectories.channels.operators.KrausOperator`), the leak
:math:`\mathrm{Tr}(M_{leak}\rho)` a block at the top of the kept levels.
:class:`KrausChannel` is the collision channel every solver uses; two-diagonal operators
apply through precomputed *pair weights* (:class:`PairWeights`), O(N^2). The compiled forms
that apply one sampled outcome to a state vector are in
:mod:`trajectories.channels.kraus_unravelling`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ..model.micromaser import Micromaser
from .operators import KrausOperator, perturb

__all__ = [
    "KrausChannel",
    "incoming_states",
    "definite_incoming_states",
    "PairWeights",
    "qubit_branches",
    "DROP_TOL",
]

#: Entries of a Kraus operator (and of the leak form, squared) below this modulus are
#: dropped when a channel is built from dense blocks.
DROP_TOL = 1e-15


def incoming_states(model: Micromaser) -> tuple[str | None, ...]:
    """The state each qubit branch ``j`` arrives in: ``"e"``, ``"g"``, or ``None``.

    A branch of :func:`qubit_branches` arrives in a definite state when it is ``|e>`` or
    ``|g>`` (incoherent qubits, ``c = 0``, or ``q`` in ``{0, 1}``); a superposition has none,
    and a count of the qubits that *changed* their state is then not defined.

    Parameters
    ----------
    model : Micromaser
        The model; ``q`` and ``c`` are read.

    Returns
    -------
    tuple of str or None
        One entry per branch, in the order of :func:`qubit_branches`.
    """
    out: list[str | None] = []
    for _lam, alpha, beta in qubit_branches(model):
        out.append("e" if beta == 0 else "g" if alpha == 0 else None)
    return tuple(out)


def definite_incoming_states(model: Micromaser) -> tuple[str, ...]:
    """:func:`incoming_states` for the count of qubits that changed state, else a ValueError.

    Parameters
    ----------
    model : Micromaser
        The model; ``q`` and ``c`` are read.

    Returns
    -------
    tuple of str
        ``"e"`` or ``"g"`` per qubit branch.

    Raises
    ------
    ValueError
        One line naming ``q`` and ``c`` when a branch arrives in a superposition.
    """
    incoming = incoming_states(model)
    if any(i is None for i in incoming):
        raise ValueError(
            "count 'changed' needs qubits that arrive in |e> or |g> (c = 0, or q in {0, 1}): "
            f"a qubit in a superposition has no incoming state to change, got q = {model.q}, "
            f"c = {model.c}"
        )
    return incoming  # type: ignore[return-value]


def qubit_branches(model: Micromaser) -> list[tuple[float, complex, complex]]:
    r"""Decompose the incoming qubit state into ``(lambda_j, alpha_j, beta_j)``.

    :math:`\rho_q = \sum_j \lambda_j |\phi_j\rangle\langle\phi_j|`,
    :math:`|\phi_j\rangle = \alpha_j|e\rangle + \beta_j|g\rangle`: for ``c = 0`` the basis
    ``{e, g}`` (``j = 0``: came in excited); one for a pure qubit; else two, largest first.

    Parameters
    ----------
    model : Micromaser
        The model; ``q`` and ``c`` are read.

    Returns
    -------
    list of (float, complex, complex)
        ``(lambda_j, alpha_j, beta_j)`` per branch; :math:`\sum_j\lambda_j = 1`.
    """
    q, c = model.q, model.c
    if model.qubit_is_pure:
        if q == 0.0:
            return [(1.0, 1.0 + 0j, 0j)]
        if q == 1.0:
            return [(1.0, 0j, 1.0 + 0j)]
        phase = c / abs(c)
        return [(1.0, complex(math.sqrt(1.0 - q)), np.conj(phase) * math.sqrt(q))]
    if c == 0:
        return [(1.0 - q, 1.0 + 0j, 0j), (q, 0j, 1.0 + 0j)]
    w, v = np.linalg.eigh(model.qubit_state)
    order = np.argsort(w)[::-1]
    out = []
    for i in order:
        lam = max(float(w[i]), 0.0)
        if lam > 0.0:
            out.append((lam, complex(v[0, i]), complex(v[1, i])))
    return out


@dataclasses.dataclass(frozen=True)
class PairWeights:
    r"""The forward map of a channel whose operators have the diagonals ``{0, s}``.

    :math:`\Phi(\rho)_{mn} = \sum_{(a, b)} W_{ab}[m, n]\,\rho_{m-a,n-b}`,
    :math:`W_{ab}[m, n] = \sum_K v_{K,a}[m]\,\overline{v_{K,b}[n]}`; pairs ``(0, +1)`` and
    ``(-1, 0)`` follow by Hermiticity. Trimmed to where the source exists (:meth:`apply`).

    Attributes
    ----------
    diag : ndarray of complex128, shape (N, N)
        Pair (0, 0).
    up, down : ndarray of complex128, shape (N-1, N-1)
        Pairs (+1, +1) and (-1, -1): the qubit gives / takes a photon.
    cross_a, cross_b : ndarray of complex128, shapes (N, N-1) and (N-1, N), or None
        Pairs (0, -1) and (+1, 0); ``None`` for incoherent qubits.
    """

    diag: np.ndarray
    up: np.ndarray
    down: np.ndarray
    cross_a: np.ndarray | None = None
    cross_b: np.ndarray | None = None

    @property
    def coherent(self) -> bool:
        """True when the cross pairs are stored (the qubits carry coherence)."""
        return self.cross_a is not None

    @classmethod
    def from_kraus(cls, kraus: Sequence[KrausOperator]) -> PairWeights:
        r"""Sum the pair products :math:`W_{ab} = \sum_K v_{K,a} v_{K,b}^\dagger` of the operators.

        Parameters
        ----------
        kraus : sequence of KrausOperator
            Operators on ``N`` levels, each with diagonals in ``{0, s}``, ``s = +-1``.

        Returns
        -------
        PairWeights
            Trimmed weights; the cross pairs are ``None`` when they vanish identically.
        """
        n = kraus[0].size
        w = {p: np.zeros((n, n), dtype=np.complex128) for p in ((0, 0), (1, 1), (-1, -1))}
        w[(0, -1)] = np.zeros((n, n), dtype=np.complex128)
        w[(1, 0)] = np.zeros((n, n), dtype=np.complex128)
        for k in kraus:
            v = {o: k.diagonal(o) for o in (-1, 0, 1)}
            for a, b in w:
                if np.any(v[a]) and np.any(v[b]):
                    w[(a, b)] += np.outer(v[a], np.conj(v[b]))
        coherent = bool(np.any(w[(0, -1)]) or np.any(w[(1, 0)]))
        return cls(
            diag=w[(0, 0)],
            up=w[(1, 1)][1:, 1:].copy(),
            down=w[(-1, -1)][:-1, :-1].copy(),
            cross_a=w[(0, -1)][:, :-1].copy() if coherent else None,
            cross_b=w[(1, 0)][1:, :].copy() if coherent else None,
        )

    def apply(self, rho: np.ndarray) -> np.ndarray:
        r"""The forward map :math:`\Phi(\rho)`, five shifted element-wise products, O(N^2).

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            A Hermitian matrix (the cross terms are added with their conjugate transpose).

        Returns
        -------
        ndarray of complex128, shape (N, N)
            :math:`\Phi(\rho)`, Hermitian, without the leak.
        """
        out = self.diag * rho
        out[1:, 1:] += self.up * rho[:-1, :-1]
        out[:-1, :-1] += self.down * rho[1:, 1:]
        if self.coherent:
            x = np.zeros_like(out)
            x[:, :-1] = self.cross_a * rho[:, 1:]
            x[1:, :] += self.cross_b * rho[:-1, :]
            out += x
            out += x.conj().T
        return out

    def perturbed(self, rel: float, rng: np.random.Generator) -> PairWeights:
        """Every weight times ``1 + rel u``, ``u`` uniform in ``[-1, 1]`` drawn from ``rng``.

        Parameters
        ----------
        rel : float
            Relative size of the perturbation.
        rng : numpy.random.Generator
            Source of ``u``.

        Returns
        -------
        PairWeights
            The perturbed copy (rounding-floor estimates, ``docs/MODEL.md`` Sec. 7).
        """
        return PairWeights(
            *(None if a is None else perturb(a, rel, rng) for a in dataclasses.astuple(self))
        )


class KrausChannel:
    r"""One collision as :math:`\rho \mapsto \sum_K K\rho K^\dagger` plus its leak form.

    Trace non-increasing: :math:`\mathrm{Tr}\,\Phi(\rho) + \mathrm{Tr}(M_{leak}\rho) =
    \mathrm{Tr}\,\rho` to rounding; truncation is never folded back (``docs/MODEL.md``, 2.1).

    Parameters
    ----------
    kraus : sequence of KrausOperator
        The operators on the ``N`` kept levels.
    leak_start : int
        First kept level on which the leak form acts.
    leak_block : ndarray of complex, shape (N - leak_start, N - leak_start)
        The Hermitian block :math:`M_{leak}[s:, s:]` (zeros: no leak).
    pair_weights : PairWeights, optional
        The forward map's weights (two-diagonal operators); summed from the operators when
        not given (the Jaynes-Cummings builder passes a form written from the qubit state).

    Attributes
    ----------
    kraus, n, leak_start, leak_block, pair_weights
        The operators (a tuple), ``N``, the arguments (``pair_weights`` None if not needed).
    keeps_diagonal : bool
        Every operator has one diagonal: each diagonal ``d = n - m`` of rho maps to itself.
    two_diagonal : bool
        Every operator has at most the diagonals ``{0, s}``, ``s = +-1`` (banded kernel).
    """

    def __init__(
        self,
        kraus: Sequence[KrausOperator],
        leak_start: int,
        leak_block: np.ndarray,
        *,
        pair_weights: PairWeights | None = None,
    ):
        self.kraus = tuple(kraus)
        self.n = self.kraus[0].size
        self.leak_start = int(leak_start)
        self.leak_block = np.ascontiguousarray(leak_block, dtype=np.complex128)
        self.keeps_diagonal = all(k.single_diagonal for k in self.kraus)
        self.two_diagonal = all(
            set(k.offsets.tolist()) <= {0, 1} or set(k.offsets.tolist()) <= {0, -1}
            for k in self.kraus
        )
        if pair_weights is None and self.two_diagonal:
            pair_weights = PairWeights.from_kraus(self.kraus)
        self.pair_weights = pair_weights
        self._csr = None

    @classmethod
    def from_dense(
        cls,
        ops: list[tuple[np.ndarray, int, str]],
        leak_ops: list[np.ndarray],
        drop: float = DROP_TOL,
    ) -> KrausChannel:
        r"""Build the channel from dense operators (the Rabi collision).

        Parameters
        ----------
        ops : list of (ndarray, int, str)
            ``(K, branch, outcome)``: each operator's kept block, shape ``(N, N)``, and labels.
        leak_ops : list of ndarray, shape (Delta, N)
            Each operator's rows above the cutoff: :math:`M_{leak} = \sum L^\dagger L`.
        drop : float, optional
            Operator entries below ``drop``, form entries below ``drop**2`` are zeroed.

        Returns
        -------
        KrausChannel
            Operators stored by their surviving diagonals.
        """
        kraus = [KrausOperator.from_dense(k, drop, branch=b, outcome=o) for k, b, o in ops]
        n = ops[0][0].shape[0]
        m = np.zeros((n, n), dtype=np.complex128)
        for leak in leak_ops:
            m += leak.conj().T @ leak
        m = 0.5 * (m + m.conj().T)
        m[np.abs(m) < drop * drop] = 0.0  # a form: its entries are products of amplitudes
        nz = np.flatnonzero(np.any(m != 0, axis=0))
        start = int(nz[0]) if nz.size else n - 1
        return cls(kraus, start, m[start:, start:])

    # ------------------------------------------------------------------ labels
    @property
    def n_branches(self) -> int:
        """Number of qubit branches ``j`` (1 for a pure qubit, else 2)."""
        return 1 + max(k.branch for k in self.kraus)

    @property
    def max_diagonals(self) -> int:
        """Most diagonals any operator stores."""
        return max(k.offsets.size for k in self.kraus)

    def subset(self, outcome: str, branches: Sequence[int] | None = None) -> KrausChannel:
        """The operators whose qubit leaves in ``outcome``, without leak (a tilted channel's part).

        Parameters
        ----------
        outcome : str
            ``"e"`` or ``"g"``.
        branches : sequence of int, optional
            Keep only the operators of these qubit branches ``j`` (default: every branch).

        Returns
        -------
        KrausChannel
            The sub-channel (the zero operator if none matches), with a zero leak form.
        """
        ops = [
            k
            for k in self.kraus
            if k.outcome == outcome and (branches is None or k.branch in branches)
        ]
        if not ops:
            ops = [KrausOperator.from_diagonals(self.n, {}, branch=0, outcome=outcome)]
        return KrausChannel(ops, self.n - 1, np.zeros((1, 1)))

    def perturbed(self, rel: float, rng: np.random.Generator) -> KrausChannel:
        """Every coefficient times ``1 + rel u``, ``u`` uniform in ``[-1, 1]`` (a rounding floor).

        Parameters
        ----------
        rel : float
            Relative size of the perturbation (a few rounding units).
        rng : numpy.random.Generator
            Source of ``u``.

        Returns
        -------
        KrausChannel
            Another floating-point version of the channel (``docs/MODEL.md``, Sec. 7).
        """
        new = copy.copy(self)
        new.kraus = tuple(
            dataclasses.replace(k, values=perturb(k.values, rel, rng)) for k in self.kraus
        )
        new.leak_block = perturb(self.leak_block, rel, rng)
        if self.pair_weights is not None:
            new.pair_weights = self.pair_weights.perturbed(rel, rng)
        new._csr = None
        return new

    # ------------------------------------------------------------------ leak
    def leak_matrix(self) -> np.ndarray:
        """The leak form :math:`M_{leak}` as a dense matrix.

        Returns
        -------
        ndarray of complex128, shape (N, N)
            Zero outside the block ``[leak_start:, leak_start:]``.
        """
        m = np.zeros((self.n, self.n), dtype=np.complex128)
        s = self.leak_start
        m[s:, s:] = self.leak_block
        return m

    def leak_of(self, rho: np.ndarray) -> float:
        r"""The weight this collision sends above the cutoff, :math:`\mathrm{Tr}(M_{leak}\rho)`.

        Parameters
        ----------
        rho : ndarray, shape (N, N)
            Density matrix before the collision.

        Returns
        -------
        float
            The leaked population.
        """
        s = self.leak_start
        if self.leak_block.shape == (1, 1):
            return float((self.leak_block[0, 0] * rho[s, s]).real)
        return float(np.einsum("ij,ji->", self.leak_block, rho[s:, s:]).real)

    def leak_of_populations(self, p: np.ndarray) -> float:
        r"""The leak :math:`\sum_n (M_{leak})_{nn} p_n` of a diagonal state.

        Parameters
        ----------
        p : ndarray, shape (N,)
            Populations before the collision.

        Returns
        -------
        float
            The leaked population.
        """
        s = self.leak_start
        return float(np.diagonal(self.leak_block).real @ p[s:])

    # --------------------------------------------------------------- forward
    def _sparse(self) -> list:
        if self._csr is None:
            self._csr = [k.csr() for k in self.kraus]
        return self._csr

    def apply(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        r"""One collision on a density matrix: :math:`\Phi(\rho) = \sum_K K\rho K^\dagger`.

        Parameters
        ----------
        rho : ndarray of complex128, shape (N, N)
            Hermitian density matrix before the collision.

        Returns
        -------
        rho_out, leaked : ndarray of complex128, shape (N, N), and float
            :math:`\Phi(\rho)` (trace ``Tr(rho) - leaked``) and :math:`\mathrm{Tr}(M_{leak}\rho)`.
        """
        if self.pair_weights is not None:
            out = self.pair_weights.apply(rho)
        else:
            out = np.zeros_like(rho, dtype=np.complex128)
            for k in self._sparse():
                kr = k @ rho  # (N, N) dense
                out += (k @ kr.conj().T).conj().T
        return out, self.leak_of(rho)

    #: the name the exact solver used before the channel layer; the same as :meth:`apply`
    apply_dm = apply

    def apply_stack(self, x: np.ndarray, *, populations: bool = False) -> np.ndarray:
        r""":math:`\sum_K K X K^\dagger` for a stack of general complex matrices, without the leak.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) with ``populations``
            Matrices, not necessarily Hermitian (the tilted states of the counting statistics).
        populations : bool, optional
            ``x`` holds populations; only for channels that keep diagonals (else ValueError).

        Returns
        -------
        ndarray, same shape as ``x``
            The images.
        """
        if populations:
            return self._populations(x)
        out = np.zeros(np.shape(x), dtype=np.complex128)
        for k in self.kraus:
            out += k.sandwich(x)
        return out

    def _populations(self, p: np.ndarray) -> np.ndarray:
        if not self.keeps_diagonal:
            raise ValueError("populations alone evolve only when every operator has one "
                             "diagonal (incoherent qubits, Jaynes-Cummings)")  # fmt: skip
        pw = self.pair_weights
        if pw is not None:  # the same weights as the density-matrix map
            out = np.diagonal(pw.diag).real * p
            out[..., 1:] += np.diagonal(pw.up).real * p[..., :-1]
            out[..., :-1] += np.diagonal(pw.down).real * p[..., 1:]
            return out
        out = np.zeros(np.shape(p), dtype=np.result_type(p, np.float64))
        n = self.n
        for k in self.kraus:
            o = int(k.offsets[0])
            w = np.abs(k.values[0]) ** 2
            r = slice(max(o, 0), min(n, n + o))
            out[..., r] += w[r] * p[..., r.start - o : r.stop - o]
        return out

    def apply_populations(self, p: np.ndarray) -> tuple[np.ndarray, float]:
        """One collision on the populations of a diagonal state: a Markov chain on ``N`` levels.

        Parameters
        ----------
        p : ndarray of float64, shape (N,)
            Populations before the collision (channels that keep diagonals, else ValueError).

        Returns
        -------
        p_out, leaked : ndarray of float64, shape (N,), and float
            Populations after it and the weight sent above the cutoff.
        """
        return self._populations(p), self.leak_of_populations(p)

    def sector_apply(self, d: int, x: np.ndarray) -> np.ndarray:
        r"""The channel on one sector: diagonal ``d`` of :math:`\Phi(X)` from that of ``X``.

        Parameters
        ----------
        d : int
            Diagonal index ``d >= 0``; only for channels that keep diagonals (else ValueError).
        x : ndarray, shape (N - d,)
            ``x[i] = X[i, i + d]``; real or complex (real weights keep a real sector real).

        Returns
        -------
        ndarray, shape (N - d,)
            Diagonal ``d`` of :math:`\Phi(X)`, without the leak.
        """
        if not self.keeps_diagonal:
            raise ValueError("symmetry sectors exist only when every operator has one diagonal")
        size = self.n - d
        x = np.asarray(x)
        pw = self.pair_weights
        if pw is not None:  # real weights (Jaynes-Cummings) keep a real sector real
            y = np.diagonal(pw.diag, d)[:size] * x
            y[1:] += np.diagonal(pw.up, d)[: size - 1] * x[:-1]
            y[:-1] += np.diagonal(pw.down, d)[: size - 1] * x[1:]
            return y
        y = np.zeros(size, dtype=np.result_type(x, np.complex128))
        for k in self.kraus:
            o = int(k.offsets[0])
            v = k.values[0]
            w = v[:size] * np.conj(v[d : d + size])  # row i, column i + d
            r = slice(max(o, 0), min(size, size + o))
            y[r] += w[r] * x[r.start - o : r.stop - o]
        return y

    # --------------------------------------------------------------- adjoint
    def adjoint(self, y: np.ndarray) -> np.ndarray:
        r"""The adjoint :math:`\Phi^\dagger(Y) = \sum_K K^\dagger Y K` (Heisenberg picture).

        Parameters
        ----------
        y : ndarray, shape (N, N)
            An observable; without the leak, :math:`\Phi^\dagger(1) = 1 - M_{leak}`.

        Returns
        -------
        ndarray of complex128, shape (N, N)
            :math:`\Phi^\dagger(Y)`.
        """
        if self.pair_weights is None:
            out = np.zeros_like(y, dtype=np.complex128)
            for k in self._sparse():
                y_k = (k.T @ y.T).T  # Y K
                out += k.conj().T @ y_k
            return out
        out = np.zeros_like(y, dtype=np.complex128)
        for k in self.kraus:
            out += k.adjoint_sandwich(y)
        return out

    #: the name used before the channel layer; the same as :meth:`adjoint`
    apply_adjoint = adjoint

    # ----------------------------------------------------- trajectory kernels
    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """What a trajectory records for each outcome.

        Returns
        -------
        branch, is_g : ndarray of int64 and of bool, shape (K,)
            Qubit branch ``j`` of each operator, and whether the qubit leaves in ``g``.
        """
        return (
            np.array([k.branch for k in self.kraus], dtype=np.int64),
            np.array([k.outcome == "g" for k in self.kraus]),
        )

    def banded_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """The two-diagonal operators as arrays for the banded trajectory kernel (else ValueError).

        Returns
        -------
        kd, ko : ndarray of complex128, shape (K, N)
            Each operator's main and shifted diagonal, by output row.
        ks : ndarray of int64, shape (K,)
            The shift: +1 (row ``m`` from ``m - 1``) or -1 (from ``m + 1``).
        leak_top : float
            The leak per unit population of level ``N - 1`` (the form may act there only).
        """
        if not self.two_diagonal or self.leak_start < self.n - 1:
            raise ValueError("banded kernel arrays need operators with diagonals {0, +-1}")
        kd = np.array([k.diagonal(0) for k in self.kraus], dtype=np.complex128)
        ks = np.array([1 if k.offsets.max() > 0 else -1 for k in self.kraus], dtype=np.int64)
        ko = np.array([k.diagonal(int(s)) for k, s in zip(self.kraus, ks, strict=True)])
        return kd, ko.astype(np.complex128), ks, float(self.leak_block[-1, -1].real)

    def sparse_arrays(self, width: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The operators as arrays for the general (sparse) trajectory kernel.

        Parameters
        ----------
        width : int, optional
            Diagonal slots ``D`` (default :attr:`max_diagonals`; more pad with zeros).

        Returns
        -------
        offs, vals, nd : ndarray
            Offsets ``(K, D)`` int64 and values ``(K, D, N)`` complex128 of each operator's
            diagonals (zero-padded), and how many each uses, ``(K,)`` int64.
        """
        width = width or self.max_diagonals
        n_ops = len(self.kraus)
        offs = np.zeros((n_ops, width), dtype=np.int64)
        vals = np.zeros((n_ops, width, self.n), dtype=np.complex128)
        nd = np.zeros(n_ops, dtype=np.int64)
        for j, k in enumerate(self.kraus):
            d = k.offsets.size
            offs[j, :d] = k.offsets
            vals[j, :d] = k.values
            nd[j] = d
        return offs, vals, nd
