r"""Observables of two cavities: reduced states, correlations, entanglement, ergotropy.

A joint density matrix of cavities A and B is a ``(D, D)`` array in the natural basis
:math:`|a, b\rangle \to a N_B + b` (``D = N_A N_B``). Energies in units of
:math:`\hbar\omega` (both cavities resonant with the qubits: :math:`H = n_A + n_B`),
entropies and information in nats:

- reduced states :math:`\rho_A = \mathrm{Tr}_B\rho`, :math:`\rho_B = \mathrm{Tr}_A\rho`;
- global and local purity, von Neumann entropies;
- mutual information :math:`I = S_A + S_B - S_{AB}`;
- logarithmic negativity :math:`E_N = \ln\|\rho^{T_B}\|_1` (natural log; zero for separable
  states, positive for some entangled ones);
- ergotropy of the pair, :math:`W = \mathrm{Tr}(\rho H) - \sum_k r_k \epsilon_k` with the
  eigenvalues :math:`r_k` of :math:`\rho` in decreasing order and the levels
  :math:`\epsilon_k` of :math:`H` on the kept space in increasing order (the global unitaries
  act on the kept levels, like the local ones of each cavity), and the local ergotropies
  of :math:`\rho_A` and :math:`\rho_B`; :math:`W \ge W_A + W_B`, and the difference is the
  part only a joint operation can extract.

Every function takes one joint matrix and the cutoffs; none renormalises by the trace.
"""

from __future__ import annotations

import numpy as np

from .observables import ergotropy, fano_from_moments, von_neumann_entropy

__all__ = [
    "reduced_states",
    "partial_transpose",
    "log_negativity",
    "joint_levels",
    "bipartite_observables",
    "BIPARTITE_SCALARS",
    "BIPARTITE_PAIRS",
]

#: Scalars of :func:`bipartite_observables` (one value per state).
BIPARTITE_SCALARS = (
    "total_energy", "purity", "entropy", "ergotropy", "log_negativity",
    "mutual_information", "collective_ergotropy", "trace",
)  # fmt: skip
#: Per-cavity values of :func:`bipartite_observables` (a pair per state: A, B).
BIPARTITE_PAIRS = (
    "energy", "n2", "fano", "local_purity", "local_entropy", "local_ergotropy",
)  # fmt: skip


def reduced_states(rho: np.ndarray, cutoff: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    r"""The reduced states of a joint density matrix.

    Parameters
    ----------
    rho : ndarray, shape (D, D)
        Joint matrix, natural basis ``a N_B + b``.
    cutoff : (int, int)
        ``(N_A, N_B)``.

    Returns
    -------
    rho_a, rho_b : ndarray, shapes (N_A, N_A) and (N_B, N_B)
        :math:`\mathrm{Tr}_B\rho` and :math:`\mathrm{Tr}_A\rho`.

    Examples
    --------
    >>> import numpy as np
    >>> ra, rb = reduced_states(np.eye(6) / 6, (2, 3))
    >>> np.allclose(ra, np.eye(2) / 2), np.allclose(rb, np.eye(3) / 3)
    (True, True)
    """
    na, nb = cutoff
    r4 = np.asarray(rho).reshape(na, nb, na, nb)
    return np.einsum("ibjb->ij", r4), np.einsum("aiaj->ij", r4)


def partial_transpose(rho: np.ndarray, cutoff: tuple[int, int]) -> np.ndarray:
    """The partial transpose on B.

    Parameters
    ----------
    rho : ndarray, shape (D, D)
        Joint matrix, natural basis.
    cutoff : (int, int)
        ``(N_A, N_B)``.

    Returns
    -------
    ndarray, shape (D, D)
        :math:`\\rho^{T_B}`: ``<a, b|rho^T_B|a', b'> = <a, b'|rho|a', b>``.
    """
    na, nb = cutoff
    d = na * nb
    return np.asarray(rho).reshape(na, nb, na, nb).transpose(0, 3, 2, 1).reshape(d, d)


def log_negativity(rho: np.ndarray, cutoff: tuple[int, int]) -> float:
    r"""Logarithmic negativity :math:`\ln \|\rho^{T_B}\|_1` (nats).

    Parameters
    ----------
    rho : ndarray, shape (D, D)
        Hermitian joint density matrix, natural basis.
    cutoff : (int, int)
        ``(N_A, N_B)``.

    Returns
    -------
    float
        The log negativity (0 for a separable state of unit trace).

    Examples
    --------
    A Bell state of two qubits has :math:`\ln 2`:

    >>> import numpy as np
    >>> psi = np.array([1, 0, 0, 1]) / np.sqrt(2)
    >>> round(log_negativity(np.outer(psi, psi), (2, 2)), 12) == round(float(np.log(2)), 12)
    True
    """
    w = np.linalg.eigvalsh(partial_transpose(rho, cutoff))
    return float(np.log(np.sum(np.abs(w))))


def joint_levels(cutoff: tuple[int, int]) -> np.ndarray:
    """The levels of :math:`H = n_A + n_B` on the kept space.

    Parameters
    ----------
    cutoff : (int, int)
        ``(N_A, N_B)``.

    Returns
    -------
    ndarray of float64, shape (D,)
        The values ``a + b``, increasing.
    """
    na, nb = cutoff
    return np.sort(np.add.outer(np.arange(na), np.arange(nb)).reshape(-1)).astype(np.float64)


def _entropy_from(w: np.ndarray) -> float:
    w = w[w > 0.0]
    return float(-np.sum(w * np.log(w)))


def bipartite_observables(rho: np.ndarray, cutoff: tuple[int, int]) -> dict[str, object]:
    """Every observable of the module docstring for one joint density matrix.

    Parameters
    ----------
    rho : ndarray of complex128, shape (D, D)
        Hermitian joint density matrix, natural basis.
    cutoff : (int, int)
        ``(N_A, N_B)``.

    Returns
    -------
    dict
        Scalars :data:`BIPARTITE_SCALARS` (floats; ``collective_ergotropy`` is
        ``ergotropy - sum(local_ergotropy)``), pairs :data:`BIPARTITE_PAIRS` (float64 arrays
        of shape (2,): A, B; ``fano`` NaN at zero energy) and ``populations``: the reduced
        photon distributions ``(p_A, p_B)``.
    """
    na, nb = cutoff
    rho = np.asarray(rho)
    ra, rb = reduced_states(rho, cutoff)
    pa, pb = np.diagonal(ra).real.copy(), np.diagonal(rb).real.copy()
    na_lv, nb_lv = np.arange(na, dtype=np.float64), np.arange(nb, dtype=np.float64)
    energy = np.array([pa @ na_lv, pb @ nb_lv])
    n2 = np.array([pa @ na_lv**2, pb @ nb_lv**2])
    trace = float(np.trace(rho).real)
    w = np.linalg.eigvalsh(rho)  # ascending
    total = float(energy.sum())
    ergo = total - float(w[::-1] @ joint_levels(cutoff))
    local_ergo = np.array([float(ergotropy(ra)), float(ergotropy(rb))])
    s_ab = _entropy_from(w)
    s_loc = np.array([float(von_neumann_entropy(ra)), float(von_neumann_entropy(rb))])
    return {
        "total_energy": total,
        "purity": float(np.sum(np.abs(rho) ** 2)),
        "entropy": s_ab,
        "ergotropy": ergo,
        "log_negativity": log_negativity(rho, cutoff),
        "mutual_information": float(s_loc.sum() - s_ab),
        "collective_ergotropy": float(ergo - local_ergo.sum()),
        "trace": trace,
        "energy": energy,
        "n2": n2,
        "fano": fano_from_moments(energy, n2),
        "local_purity": np.array([np.sum(np.abs(ra) ** 2), np.sum(np.abs(rb) ** 2)]),
        "local_entropy": s_loc,
        "local_ergotropy": local_ergo,
        "populations": (pa, pb),
    }
