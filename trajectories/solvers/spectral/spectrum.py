r"""The spectrum of the one-step channel: eigenvalues, eigenvectors, relaxation times.

The one-step channel :math:`T = \Lambda\circ\Phi`, :math:`\rho(k+1) = T(\rho(k))` (the
collision, then the exact loss channel of one interval; ``docs/MODEL.md``) acts on the
Liouville space of ``N x N`` complex matrices (vectorised row by row, length ``N^2``). It is
applied matrix-free (:class:`~trajectories.channels.one_step.OneStepChannel`): the
``N^2 x N^2`` matrix is never formed.

- :math:`T` preserves Hermiticity but its eigenvectors other than the steady state are not
  Hermitian: a general complex :math:`X` goes through the split :math:`X = H_1 + iH_2`.
  The adjoint :math:`T^\dagger(Y) = \Phi^\dagger(\Lambda^\dagger(Y))` gives the left
  eigenvectors.
- Symmetry sectors: when the collisions keep the diagonal index :math:`d = n - m` of
  :math:`\rho_{mn}` (incoherent qubits, Jaynes-Cummings), :math:`T = \bigoplus_d T_d` with
  :math:`T_{-d} = T_d` (real, size ``N - |d|``); each sector is solved on its own.
- :func:`spectrum`: leading eigenvalues :math:`\lambda_k` (ARPACK ``eigs``, ``which='LM'``,
  refined by a Rayleigh-Ritz step on the converged subspace), relaxation times
  :math:`\tau_k = -1/\ln|\lambda_k|` in collisions, right and left eigenvectors
  (biorthonormal, :math:`\mathrm{Tr}(L_j^\dagger R_k) = \delta_{jk}`; :math:`T` is not
  normal).

Fixed points and quasi-stationary states (:mod:`~trajectories.solvers.spectral.steady`)
and escape times of plateaus (:mod:`~trajectories.solvers.spectral.escape`) are built on it.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

from ..._threads import single_threaded_blas
from ...channels.collisions import keeps_diagonal
from ...channels.one_step import OneStepChannel
from ...model.micromaser import Micromaser
from ...validation import check_memory, integer_at_least

__all__ = [
    "Spectrum",
    "spectrum",
    "SteadyStateError",
    "one_step_channel",
    "check_steady_memory",
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
    """Refuse, before any allocation, a spectrum whose memory exceeds this machine's.

    The bound: the exact propagator's dense matrices (``40 N^2`` bytes), with loss the
    packed dense loss layout (``4 (N+1)^3``), and for coherent qubits ARPACK's Krylov basis
    in Liouville space (``320 N^2``).

    Parameters
    ----------
    model : Micromaser
        The model; its cutoff, loss and qubit coherence set the bound.

    Raises
    ------
    ValueError
        Naming the largest cutoff that fits, when the bound exceeds
        :func:`~trajectories.validation.machine_memory`.
    """
    n = model.cutoff
    loss = model.has_loss
    coherent = not keeps_diagonal(model)

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
    or when ARPACK does not converge.

    Parameters
    ----------
    message : str
        What could not be certified, with the numbers.
    spectrum : Spectrum or None, optional
        The spectrum computed before the refusal.

    Attributes
    ----------
    spectrum : Spectrum or None
        As given: inspect it to see why (``None`` when the spectrum itself failed).
    """

    def __init__(self, message: str, spectrum: Spectrum | None = None):
        super().__init__(message)
        self.spectrum = spectrum


# ============================================================================ the channel
def one_step_channel(model: Micromaser, floor: int = 0) -> OneStepChannel:
    """The one-step channel the spectral solvers use.

    The same channel at every collision, dense loss layout (every block entry kept; the
    layout its perturbed copies have too), memory checked before anything is built.

    Parameters
    ----------
    model : Micromaser
        The model.
    floor : int, optional
        Lowest kept level (absorbing bottom boundary), default 0.

    Returns
    -------
    OneStepChannel
        The channel on ``M = N - floor`` levels.

    Raises
    ------
    ValueError
        If ``model`` is not a Micromaser, the channel differs from collision to collision
        (a Rabi collision whose phases do not repeat every collision), or the memory
        check fails.
    """
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    check_steady_memory(model)
    channel = OneStepChannel(model, floor=floor, layout="dense")
    if channel.period != 1:
        raise ValueError(
            "steady states need the same channel at every collision: use "
            "Rabi(omega_tr=None) or an omega_tr whose phases repeat every collision, "
            f"got a period of {channel.period} collisions"
        )
    return channel


# ============================================================================== spectrum
@dataclasses.dataclass(frozen=True, repr=False)
class Spectrum:
    r"""Leading eigenvalues and eigenvectors of the one-step channel.

    Eigenvalues are per collision (dimensionless); :math:`|\lambda| \le 1` since the
    channel is trace non-increasing. ``K`` is the number computed.

    Attributes
    ----------
    model : Micromaser
        The model.
    eigenvalues : ndarray of complex128, shape (K,)
        By decreasing modulus (ties: real first, then by sector).
    sectors : ndarray of int64, shape (K,), or None
        Diagonal index ``d`` of each eigenvector (``c = 0``); None when the qubits'
        coherence couples the diagonals (then the full Liouville space is solved).
    right, left : ndarray of complex128, shape (K, M, M), or None
        Right eigenvectors :math:`T(R_k) = \lambda_k R_k` (trace 1 where the trace is not
        ~0, else unit Frobenius norm) and left ones :math:`T^\dagger(L_k) = \bar\lambda_k
        L_k`, biorthonormal: :math:`\mathrm{Tr}(L_j^\dagger R_k) = \delta_{jk}` (a left
        vector that could not be matched, at the edge of the computed set, is NaN). Only with
        ``vectors=True``; ``left`` is None in the ``spectrum`` of a
        :class:`~trajectories.solvers.spectral.steady.SteadyState` when no projection was
        needed.
    residuals : ndarray of float64, shape (K,), or None
        ``||T(R_k) - lambda_k R_k|| / ||R_k||`` (Frobenius), when vectors are kept.
    sector_leading : dict of int to ndarray
        For ``c = 0``: ``{d: leading eigenvalues of T_d}`` for every ``d >= 0`` solved.
    method : str
        ``"sectors"`` (dense blocks ``T_d``) or ``"liouville"`` (ARPACK on ``T``).
    floor : int
        Lowest kept level (0 unless built for a window).
    seconds : float
        Wall time, s.
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
        """``|lambda_k|``, shape ``(K,)``."""
        return np.abs(self.eigenvalues)

    @property
    def rates(self) -> np.ndarray:
        """Decay rates per collision ``1 - |lambda_k|``, shape ``(K,)`` (``<= ONE_TOL``: not
        resolved)."""
        return 1.0 - self.moduli

    @property
    def relaxation_collisions(self) -> np.ndarray:
        r"""Relaxation times :math:`-1/\ln|\lambda_k|` in collisions (inf where
        ``1 - |lambda_k| <= ONE_TOL``), shape ``(K,)``."""
        mod = self.moduli
        with np.errstate(divide="ignore"):
            tau = -1.0 / np.log(np.where(mod > 0, mod, np.nextafter(0.0, 1.0)))
        return np.where(1.0 - mod <= ONE_TOL, np.inf, tau)

    @property
    def stationary(self) -> np.ndarray:
        """Mask of eigenvalue 1 (``|lambda - 1| <= ONE_TOL``), bool, shape ``(K,)``."""
        return np.abs(self.eigenvalues - 1.0) <= ONE_TOL

    @property
    def peripheral(self) -> np.ndarray:
        """Mask of peripheral modes, ``|lambda| = 1`` (within ONE_TOL) but ``lambda != 1``,
        bool, shape ``(K,)``: persistent oscillations."""
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
        r"""Mode amplitudes :math:`c_k = \mathrm{Tr}(L_k^\dagger\rho_0)` of a state.

        Then :math:`\rho(k) \approx \sum_j c_j \lambda_j^k R_j` on the computed modes.

        Parameters
        ----------
        rho0 : ndarray, shape (M, M)
            Initial state (or any matrix) on levels ``floor .. N-1``.

        Returns
        -------
        ndarray of complex128, shape (K,)
            The amplitudes (NaN for unmatched left vectors).

        Raises
        ------
        ValueError
            If the spectrum has no eigenvectors (``vectors=False``).
        """
        self._need_vectors()
        return np.einsum("kij,ij->k", self.left.conj(), rho0)

    def project(self, rho0: np.ndarray, modes: np.ndarray) -> np.ndarray:
        r"""Spectral projection of ``rho0`` on the span of some modes.

        :math:`\sum_{k} R_k\,\mathrm{Tr}(L_k^\dagger\rho_0)`, evaluated as
        :math:`V(W^\dagger V)^{-1}W^\dagger\rho_0` with the right (``V``) and left (``W``)
        vectors of the chosen modes, so it stays exact when nearly degenerate modes mix
        inside a cluster (their single eigenvectors are ill-conditioned, the projector on
        the cluster is not).

        Parameters
        ----------
        rho0 : ndarray, shape (M, M)
            The state to project.
        modes : array_like of bool, shape (K,), or of int
            A mask or the indices of the modes (e.g. ``spec.stationary``).

        Returns
        -------
        ndarray of complex128, shape (M, M)
            The projection (e.g. the long-time limit from ``rho0`` when ``modes`` are the
            stationary ones).

        Raises
        ------
        ValueError
            If the spectrum has no eigenvectors.
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
        times the largest such amplitude: its relaxation time is the one seen in
        :math:`\langle O\rangle(k)`.

        Parameters
        ----------
        rho0 : ndarray, shape (M, M)
            Initial state.
        observable : ndarray, shape (M, M) or (M,), optional
            The observable :math:`O`, a matrix or its diagonal; default the photon number
            (the energy).
        min_weight : float, optional
            Relative amplitude below which a mode does not count (default 1e-8).

        Returns
        -------
        int or None
            Index into :attr:`eigenvalues`; ``None`` if no computed mode qualifies.

        Raises
        ------
        ValueError
            If the spectrum has no eigenvectors.
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

    Raises
    ------
    ValueError
        For invalid arguments, a channel that differs from collision to collision, or a
        memory bound above the machine's.
    SteadyStateError
        When ARPACK does not converge.

    Notes
    -----
    ``c = 0``: every sector :math:`T_d` (``d >= 0``; :math:`T_{-d} = T_d`) is a small real
    block, diagonalised densely (exact); sectors whose spectral radius is provably below the
    ``n_eigs``-th largest eigenvalue found so far are skipped (Collatz-Wielandt bound).
    Otherwise ARPACK ``eigs(which='LM')`` on the matrix-free Liouville operator, with a
    Rayleigh-Ritz step on the converged subspace (and on the adjoint for left vectors).

    Examples
    --------
    Without loss, fine-tuned and with incoherent qubits, the levels below the blocked
    transition ``m - 1 -> m`` hold one steady state (above it the weight leaks through the
    cutoff); the coherence sectors ``d = +-1`` relax together:

    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=tj.fine_tuned_theta(3), q=0.25, cutoff=6)
    >>> spec = spectrum(m, 4)
    >>> spec.method, spec.multiplicity_of_one, spec.sectors.tolist()
    ('sectors', 1, [0, 1, -1, 0])
    >>> round(float(spec.relaxation_collisions[1]), 3)  # collisions
    7.347
    """
    n_eigs = integer_at_least("n_eigs", n_eigs, 1)
    channel = one_step_channel(model, floor)
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
