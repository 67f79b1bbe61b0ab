"""Brute-force constructions the tests compare the banded/blocked solvers against.

Everything here is dense and slow on purpose: built from the definitions in
SPEC Sec. 2 with scipy.linalg.expm, independent of the package's algorithms.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm


def random_density_matrix(n: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """A random full-rank (or given-rank) density matrix on n levels."""
    rank = n if rank is None else rank
    g = rng.normal(size=(n, rank)) + 1j * rng.normal(size=(n, rank))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def annihilation(n: int) -> np.ndarray:
    """Truncated annihilation operator on n levels."""
    return np.diag(np.sqrt(np.arange(1, n, dtype=float)), 1).astype(complex)


def qubit_state(q: float, c: complex) -> np.ndarray:
    """SPEC 2.1 qubit state, basis (e, g)."""
    k = c * np.sqrt(q * (1 - q))
    return np.array([[1 - q, k], [np.conj(k), q]], dtype=complex)


def dense_collision(rho: np.ndarray, theta: float, q: float, c: complex) -> np.ndarray:
    """Tr_q[U (rho_q x rho) U^dag] with U = expm on N+1 cavity levels, output kept on the first N.

    The extra level catches the weight the truncated space loses (SPEC 2.1).
    """
    n = rho.shape[0]
    big = n + 1
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)  # |e><g| in basis (e, g)
    h = theta * (np.kron(sp, a) + np.kron(sp.conj().T, a.conj().T))
    u = expm(-1j * h)
    rho_big = np.zeros((big, big), dtype=complex)
    rho_big[:n, :n] = rho
    full = u @ np.kron(qubit_state(q, c), rho_big) @ u.conj().T
    reduced = full[:big, :big] + full[big:, big:]  # trace over the qubit
    return reduced[:n, :n]


def vec(rho: np.ndarray) -> np.ndarray:
    return rho.reshape(-1, order="F")


def unvec(v: np.ndarray, n: int) -> np.ndarray:
    return v.reshape(n, n, order="F")


def superop(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Matrix of rho -> left @ rho @ right in column-stacking vec convention."""
    return np.kron(right.T, left)


def dense_loss_generator(n: int, gamma: float, nbar: float, leaky_top: bool) -> np.ndarray:
    """N^2 x N^2 Lindblad generator of the thermal loss.

    ``leaky_top=True``: the package's convention (SPEC 2.2): no-jump rates
    Gamma_n = gamma[(nbar+1) n + nbar (n+1)] for every kept level, jumps with
    truncated operators (absorption out of N-1 is lost).
    ``leaky_top=False``: the usual trace-preserving Liouvillian of truncated
    matrices (L^dag L products computed on the truncated space).
    """
    a = annihilation(n)
    ad = a.conj().T
    j1 = np.sqrt(gamma * (nbar + 1)) * a
    j2 = np.sqrt(gamma * nbar) * ad
    eye = np.eye(n)
    if leaky_top:
        levels = np.arange(n)
        k = np.diag(gamma * ((nbar + 1) * levels + nbar * (levels + 1))).astype(complex)
    else:
        k = j1.conj().T @ j1 + j2.conj().T @ j2
    return (
        superop(j1, j1.conj().T)
        + superop(j2, j2.conj().T)
        - 0.5 * superop(k, eye)
        - 0.5 * superop(eye, k)
    )


def dense_loss(rho: np.ndarray, gamma: float, nbar: float, leaky_top: bool = True) -> np.ndarray:
    n = rho.shape[0]
    return unvec(expm(dense_loss_generator(n, gamma, nbar, leaky_top)) @ vec(rho), n)


# ------------------------------------------------------------ trajectories against exact
def expected_stderr_bounds(exact, ensemble) -> dict[str, np.ndarray]:
    """Upper bounds, from the exact solution, of the standard errors an honest ensemble of
    ``M`` trajectories reports at the ensemble's checkpoints (to first order in 1/M).

    - energy: the per-trajectory ``<n>_i`` have ``Var(<n>_i) <= Var_rho(n)`` (Jensen,
      ``<n>_i^2 <= <n^2>_i``), so ``se <= sqrt(Var_rho(n) / M)``;
    - purity: the unbiased estimator is a U-statistic with kernel ``|<psi_i|psi_j>|^2``;
      its variance is ``4 Var(f)/M + O(1/M^2)`` with ``f_i = <psi_i|rho|psi_i>`` in
      ``[0, lambda_max]`` of mean ``P``, so ``Var(f) <= P (lambda_max - P)``
      (Bhatia-Davis; ``lambda_max`` = 1 without ``exact.states``) and the second-order
      term is at most ``2 P / M^2``;
    - Fano factor ``F = (B - A^2)/A`` (``A = <n>``, ``B = <n^2>``): by the delta method and
      Cauchy-Schwarz, ``se <= (sd(<n^2>_i)/A + (A^2 + B)/A^2 sd(<n>_i)) / sqrt(M)``, with
      ``sd(<n^k>_i) <= sqrt(<n^2k> - <n^k>^2)`` (Jensen again);
    - ergotropy ``W = Tr(rho H) - Tr(rho H_p)`` (``H_p`` the passive energy assigned to
      rho's eigenvectors): first order in ``rho_hat - rho``, ``dW = Tr(d rho X)`` with
      ``X = H - H_p``, so ``se <= sqrt(Tr(rho X^2) / M)`` (needs ``exact.states``; NaN
      without them).

    A run whose error bars grow with its error (a wrong run passing by being noisy) breaks
    these bounds.
    """
    idx = np.searchsorted(exact.k, ensemble.k)
    m = float(ensemble.n_trajectories)
    p = exact.populations[idx]
    n = np.arange(p.shape[1], dtype=float)
    a, b, n4 = p @ n, p @ n**2, p @ n**4
    var_n = np.maximum(b - a**2, 0.0)
    var_n2 = np.maximum(n4 - b**2, 0.0)
    purity = exact.purity[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        fano = (np.sqrt(var_n2) / a + (a**2 + b) / a**2 * np.sqrt(var_n)) / np.sqrt(m)
    fano = np.where(a > 0, fano, np.nan)
    ergotropy = np.full(idx.size, np.nan)
    lam_max = np.ones(idx.size)
    if exact.states is not None:
        for j, i in enumerate(idx):
            rho = exact.states[i]
            lam, vec = np.linalg.eigh(rho)  # ascending: the largest gets the passive energy 0
            lam_max[j] = lam[-1]
            passive = (vec * n[::-1]) @ vec.conj().T
            x = np.diag(n) - passive
            ergotropy[j] = np.sqrt(max(np.trace(rho @ x @ x).real, 0.0) / m)
    var_f = purity * np.maximum(lam_max - purity, 0.0)
    return {
        "energy": np.sqrt(var_n / m),
        "purity": np.sqrt(4 * var_f / m + 2 * purity / m**2),
        "fano": fano,
        "ergotropy": ergotropy,
    }


def assert_agrees_with_exact(
    ensemble,
    exact,
    observables=("energy", "purity", "fano", "ergotropy"),
    k: float = 5.0,
    se_multiple: float = 2.0,
):
    """The trajectory ensemble agrees with the exact solution, and not by being noisy.

    - ``|estimate - exact| <= k se + 1e-9`` for each observable (``compare(...)``);
    - every standard error at most ``se_multiple`` times its bound from the exact solution
      (:func:`expected_stderr_bounds`): a wrong run cannot pass on inflated error bars;
    - the trace of the rebuilt rho is the fraction of trajectories still alive, and that
      agrees with ``1 - leakage`` of the exact solution within ``k`` binomial errors.

    Returns the :class:`~trajectories.statistics.compare.Comparison`.
    """
    import trajectories as tj

    cmp = tj.compare(ensemble, exact)
    assert all(cmp.max_abs_z[o] <= k for o in observables), cmp.summary()
    bounds = expected_stderr_bounds(exact, ensemble)
    for o in observables:
        se, bound = getattr(ensemble, o).stderr, bounds[o]
        ok = np.isfinite(se) & np.isfinite(bound)
        ratio = se[ok] / (bound[ok] + 1e-12)
        assert np.all(se[ok] <= se_multiple * bound[ok] + 1e-9), (o, ratio.max(), cmp.summary())
    m = ensemble.n_trajectories
    idx = np.searchsorted(exact.k, ensemble.k)
    alive = np.count_nonzero(ensemble.per_trajectory.fock >= 0, axis=0) / m
    for r, c in enumerate(ensemble.rho_index):
        trace = float(np.trace(ensemble.rho[r]).real)
        leak = float(exact.leakage[idx[c]])
        assert abs(trace - alive[c]) <= 1e-9, (ensemble.k[c], trace, alive[c])
        assert abs(trace - (1.0 - leak)) <= k * np.sqrt(leak * (1 - leak) / m) + 1e-9, (
            ensemble.k[c], trace, leak,
        )  # fmt: skip
    return cmp
