r"""Exact evolution of a network of two cavities: the joint density matrix, step by step.

:math:`\rho(k+1) = \Lambda_B\Lambda_A\Phi(\rho(k))` on A x B
(:class:`~trajectories.channels.network_step.NetworkStep`): the collision by blocks of
total excitation, the loss as two one-cavity channels, no superoperator of A x B. The
observables of :mod:`trajectories.bipartite` are recorded at the checkpoints, with the
energy books of each cavity and the outgoing qubits' probabilities.

Cost per collision, one core: about ``16 D sum_m s_m^2`` real multiply-adds for the
collision (``s_m <= min(N_A, N_B)`` kept states per shell of ``n_A + n_B``) and
``~(4/3) D (N_A^2 + N_B^2)`` ... for the loss; memory about eight ``D x D`` complex
arrays (``16 D^2`` bytes each: 13 MB at ``N_A = N_B = 30``). Each checkpoint diagonalises
``rho`` and ``rho^{T_B}`` (``O(D^3)``), so checkpoints are sparse by default.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

import numpy as np

from .._threads import single_threaded_blas
from ..bipartite import BIPARTITE_PAIRS, BIPARTITE_SCALARS, bipartite_observables
from ..channels.network_step import NetworkStep
from ..errors import DEFAULT_LEAKAGE_TOL, TruncationError, warn_if_close
from ..model.network import Network
from ..model.states import as_density_matrix
from ..validation import (
    check_memory,
    checkpoint_array,
    collision_count,
    format_bytes,
    real_in_range,
)

__all__ = [
    "NetworkExactResult", "solve_network", "default_network_checkpoints", "check_network_memory",
]  # fmt: skip

#: Default number of intervals between checkpoints: 100 (101 checkpoints, both ends).
DEFAULT_NETWORK_CHECKPOINTS = 100


def default_network_checkpoints(n_collisions: int) -> np.ndarray:
    """The default checkpoints of a network run.

    Parameters
    ----------
    n_collisions : int
        Length of the run.

    Returns
    -------
    ndarray of int64
        101 collision counts evenly spread over ``0 .. n_collisions`` (all of them for
        runs of at most 100 collisions).
    """
    n = min(n_collisions, DEFAULT_NETWORK_CHECKPOINTS)
    return np.unique(np.rint(np.linspace(0, n_collisions, n + 1)).astype(np.int64))


@dataclasses.dataclass(frozen=True, repr=False)
class NetworkExactResult:
    r"""Observables of the exact evolution of a network at the checkpoints ``k``.

    Arrays have the checkpoints on their first axis (``C = len(k)``); per-cavity arrays
    have a second axis of length 2 (A, B). Energies in units of :math:`\hbar\omega`,
    entropies and information in nats; nothing is renormalised by the trace.

    Attributes
    ----------
    model : Network
    k : ndarray of int64, shape (C,)
    energy, n2, fano : ndarray of float64, shape (C, 2)
        :math:`\langle n_X\rangle`, :math:`\langle n_X^2\rangle` and the Fano factor of each
        cavity (NaN at zero energy).
    total_energy : ndarray, shape (C,)
        :math:`\langle n_A + n_B\rangle`.
    purity, entropy : ndarray, shape (C,)
        Of the joint state.
    local_purity, local_entropy : ndarray, shape (C, 2)
        Of the reduced states.
    ergotropy : ndarray, shape (C,)
        Global ergotropy of the pair (:mod:`trajectories.bipartite`).
    local_ergotropy : ndarray, shape (C, 2)
        Ergotropy of each reduced state.
    collective_ergotropy : ndarray, shape (C,)
        ``ergotropy - local_ergotropy.sum(1)`` (>= 0).
    log_negativity, mutual_information : ndarray, shape (C,)
        :math:`\ln\|\rho^{T_B}\|_1` and :math:`S_A + S_B - S_{AB}`.
    populations_a, populations_b : ndarray, shape (C, N_A) and (C, N_B)
        Reduced photon distributions.
    p_excited : ndarray, shape (C,)
        Cumulative expected number of qubits that left in ``e`` up to each checkpoint.
    energy_from_qubits : ndarray, shape (C,)
        Cumulative energy the qubits lost, :math:`\sum_k [(1-q)\mathrm{Tr}\rho_k -
        P_k(e)]` (excitation conservation: what the collisions brought to the pair, plus
        what they carried out through a cutoff).
    energy_from_collisions, energy_from_bath : ndarray, shape (C, 2)
        Cumulative energy each cavity gained in the collisions and from its bath (negative:
        lost to it). ``energy = energy[0] + energy_from_collisions + energy_from_bath``.
    leakage : ndarray, shape (C,)
        Trace lost through the cutoffs up to each checkpoint (cumulative).
    trace : ndarray, shape (C,)
    states : ndarray of complex128, shape (C, D, D), or None
        Only with ``store_states=True``.
    setup_seconds, run_seconds : float
    """

    model: Network
    k: np.ndarray
    energy: np.ndarray
    n2: np.ndarray
    fano: np.ndarray
    total_energy: np.ndarray
    purity: np.ndarray
    entropy: np.ndarray
    local_purity: np.ndarray
    local_entropy: np.ndarray
    ergotropy: np.ndarray
    local_ergotropy: np.ndarray
    collective_ergotropy: np.ndarray
    log_negativity: np.ndarray
    mutual_information: np.ndarray
    populations_a: np.ndarray
    populations_b: np.ndarray
    p_excited: np.ndarray
    energy_from_qubits: np.ndarray
    energy_from_collisions: np.ndarray
    energy_from_bath: np.ndarray
    leakage: np.ndarray
    trace: np.ndarray
    states: np.ndarray | None
    setup_seconds: float
    run_seconds: float

    @property
    def total_leakage(self) -> float:
        """Trace lost through the cutoffs over the whole run."""
        return float(self.leakage[-1])

    def at(self, k: int) -> dict[str, object]:
        """The observables at one checkpoint.

        Parameters
        ----------
        k : int
            A checkpoint of the result.

        Returns
        -------
        dict
            Scalars as floats, per-cavity values as ``(A, B)`` tuples.
        """
        hits = np.flatnonzero(self.k == k)
        if not hits.size:
            raise ValueError(f"k={k!r} is not a checkpoint of this result")
        i = int(hits[0])
        out: dict[str, object] = {name: float(getattr(self, name)[i]) for name in BIPARTITE_SCALARS}
        for name in BIPARTITE_PAIRS:
            out[name] = tuple(float(v) for v in getattr(self, name)[i])
        return out

    def __repr__(self) -> str:
        e = self.energy[-1]
        return (
            f"NetworkExactResult({self.model.topology}, checkpoints={self.k.size}, "
            f"k_last={int(self.k[-1])}, energy=({e[0]:.6g}, {e[1]:.6g}), "
            f"ergotropy={self.ergotropy[-1]:.6g}, log_negativity={self.log_negativity[-1]:.4g})"
        )


def _check_memory(net: Network, n_checkpoints: int, store_states: bool) -> None:
    d = net.dimension
    needed = 10 * 16 * d * d + (n_checkpoints * 16 * d * d if store_states else 0)
    what = "the joint density matrix and its work arrays"
    check_memory(
        "cutoff", repr(net.cutoff), needed,
        what + (" and the stored states" if store_states else ""),
        lambda limit: f"at most {format_bytes(limit)}; use smaller cutoffs or fewer stored states",
    )  # fmt: skip
    if not net.arrivals.is_regular:
        from ..channels.network_loss import random_arrivals_bytes

        check_memory(
            "cutoff", repr(net.cutoff), random_arrivals_bytes(net.cutoff),
            f"the exact loss channel of {net.arrivals.describe()} on A x B (its (d_A, d_B) "
            "sector blocks)",
            "use smaller cutoffs, or trajectories (simulate), which sample the intervals",
        )  # fmt: skip


def check_network_memory(net: Network, n_checkpoints: int, store_states: bool = False) -> None:
    """Refuse, before any allocation, an exact network run this machine cannot hold.

    What :func:`solve_network` checks first, for callers (run files) that validate a run
    before starting it.

    Parameters
    ----------
    net : Network
        The model (its joint dimension ``D = N_A N_B`` sets the size).
    n_checkpoints : int
        Number of checkpoints (matters only with ``store_states``).
    store_states : bool, optional
        Whether the joint density matrix is kept at every checkpoint.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        Naming ``cutoff``, the memory needed and the machine's.
    """
    _check_memory(net, int(n_checkpoints), bool(store_states))


def solve_network(
    net: Network,
    n_collisions: int,
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    store_states: bool = False,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
) -> NetworkExactResult:
    r"""Evolve the joint density matrix of a network exactly for ``n_collisions`` collisions.

    Parameters
    ----------
    net : Network
        The model.
    n_collisions : int
        Number of collisions, ``>= 0``.
    initial_state : array, optional
        Joint state vector ``(D,)`` or density matrix ``(D, D)``, natural basis
        ``a N_B + b``; default the vacuum ``|0, 0>``.
    checkpoints : iterable of int, optional
        Strictly increasing collision counts in ``[0, n_collisions]``; default 101 evenly
        spread (each checkpoint diagonalises two ``D x D`` matrices).
    store_states : bool
        Keep the joint density matrix at every checkpoint.
    leakage_tol : float
        Largest total trace allowed to leave through the cutoffs (else
        :class:`~trajectories.errors.TruncationError`); ``inf`` disables the check.

    Returns
    -------
    NetworkExactResult
    """
    if not isinstance(net, Network):
        raise ValueError(f"net must be a trajectories.Network, got {type(net).__name__}")
    n_collisions = collision_count("n_collisions", n_collisions)
    if not isinstance(store_states, (bool, np.bool_)):
        raise ValueError(f"store_states must be True or False, got {store_states!r}")
    ks = (
        default_network_checkpoints(n_collisions)
        if checkpoints is None
        else checkpoint_array(checkpoints, n_collisions)
    )
    if leakage_tol != float("inf"):
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    _check_memory(net, ks.size, bool(store_states))
    d = net.dimension
    if initial_state is None:
        rho = np.zeros((d, d), dtype=np.complex128)
        rho[0, 0] = 1.0
    else:
        rho = as_density_matrix(initial_state, d).astype(np.complex128)
    with single_threaded_blas():
        return _run(net, rho, n_collisions, ks, bool(store_states), leakage_tol)


def _diag_energies(rho: np.ndarray, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    p = np.diagonal(rho).real
    return np.array([p @ na, p @ nb])


def _run(
    net: Network, rho: np.ndarray, n: int, ks: np.ndarray, store: bool, tol: float
) -> NetworkExactResult:
    t0 = time.perf_counter()
    step = NetworkStep(net)
    t1 = time.perf_counter()
    na_, nb_ = net.cutoff
    lv_a = np.repeat(np.arange(na_, dtype=np.float64), nb_)
    lv_b = np.tile(np.arange(nb_, dtype=np.float64), na_)
    c = ks.size
    rec: dict[str, list] = {}
    states = np.empty((c, net.dimension, net.dimension), dtype=np.complex128) if store else None
    cum = {"qubits": 0.0, "p_e": 0.0, "coll": np.zeros(2), "bath": np.zeros(2), "leak": 0.0}
    books: dict[str, list] = {n_: [] for n_ in ("qubits", "p_e", "coll", "bath", "leak")}
    q = net.q
    traces = np.zeros(2)
    nxt = 0

    def checkpoint() -> None:
        nonlocal nxt
        obs = bipartite_observables(rho, net.cutoff)
        for name, v in obs.items():
            rec.setdefault(name, []).append(v)
        for name in ("qubits", "p_e", "leak"):
            books[name].append(cum[name])
        books["coll"].append(cum["coll"].copy())
        books["bath"].append(cum["bath"].copy())
        if states is not None:
            states[nxt] = rho * back if real else rho
        nxt += 1

    # the real gauge: a state real there stays real (half the work; observables invariant)
    phase = step.collision.gauge ** (lv_a + lv_b)
    gauged = phase[:, None] * rho * np.conj(phase)[None, :]
    real = bool(np.max(np.abs(gauged.imag), initial=0.0) <= 1e-15)
    if real:
        rho = np.ascontiguousarray(gauged.real)
        back = np.conj(phase)[:, None] * phase[None, :]

    if ks[0] == 0:
        checkpoint()
    for k in range(1, n + 1):
        if nxt == c:
            break
        tr = float(np.trace(rho).real)
        e0 = _diag_energies(rho, lv_a, lv_b)
        mid = step.collision.apply(rho, traces=traces, gauge=real)
        e1 = _diag_energies(mid, lv_a, lv_b)
        out = step.loss.apply(mid)
        rho = 0.5 * (out + out.conj().T)
        e2 = _diag_energies(rho, lv_a, lv_b)
        cum["qubits"] += (1.0 - q) * tr - traces[0]
        cum["p_e"] += traces[0]
        cum["coll"] += e1 - e0
        cum["bath"] += e2 - e1
        cum["leak"] += tr - float(np.trace(rho).real)
        if cum["leak"] > tol:
            raise TruncationError(net.cutoff, cum["leak"], tol, k)
        if k == ks[nxt]:
            checkpoint()
    t2 = time.perf_counter()
    warn_if_close(net.cutoff, cum["leak"], tol)
    arr = {name: np.array(v) for name, v in rec.items() if name != "populations"}
    pops = rec["populations"]
    return NetworkExactResult(
        model=net,
        k=ks,
        populations_a=np.array([p[0] for p in pops]),
        populations_b=np.array([p[1] for p in pops]),
        p_excited=np.array(books["p_e"]),
        energy_from_qubits=np.array(books["qubits"]),
        energy_from_collisions=np.array(books["coll"]),
        energy_from_bath=np.array(books["bath"]),
        leakage=np.array(books["leak"]),
        states=states,
        setup_seconds=t1 - t0,
        run_seconds=t2 - t1,
        **arr,
    )
