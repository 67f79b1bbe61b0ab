r"""The compiled driver of network trajectories and the runner of one chunk.

A chunk of trajectories of a :class:`~trajectories.model.network.Network` runs in one call
of :func:`run_network` (numba): each trajectory in turn, collision after collision, with
the leaves of :mod:`trajectories.channels.network_unravelling` (``docs/MODEL.md``,
Sec. 13). Trajectory ``i`` of a run draws from the counter-based streams of
:mod:`trajectories._streams` that depend only on the seed and ``i`` (counter
``(0, 0, i, stream)``, as a single cavity's): its dynamics (qubit branch, outcome, jump
times and kinds) from stream 0, its initial state (mixed) from stream 2, the beam (the
theta-spread node of each qubit, random intervals) from stream 3; so a trajectory is the
same whatever chunk it runs in, and a chunk returns sums and per-trajectory records only
(never the state vectors).

Per collision ``k`` of a live trajectory: from the beam stream the node ``x_j`` (weight
``w_j``, a theta spread only) and then the interval ``T`` (random arrivals with loss only);
from the dynamics stream the branch (a mixed qubit only), the outcome, then the loss
interval's draws.

:func:`run_network_chunk` samples the initial states, runs the driver in float64 when the
state is real in the collision's gauge (else complex128; the same draws and records), and
maps the rho sums back to the natural basis ``a N_B + b``.

Shapes: M trajectories of the chunk, D = N_A N_B joint levels, C checkpoints, R of them
keeping rho, B qubit branches.
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import numpy as np

from ..._numba import abs2, njit
from ..._streams import DYNAMICS, INITIAL, PUMP, STATE_SIZE, first_uniforms, start, uniform
from ..._threads import single_threaded_blas
from ...channels.beam_unravelling import ARRIVAL_CODES, draw_interval
from ...channels.network_arrays import (
    CollisionArrays,
    NetworkLossArrays,
    ShellArrays,
    network_trajectory_arrays,
)
from ...channels.network_collision import NetworkCollision
from ...channels.network_unravelling import collide, interval_leak, loss_interval, moments
from ...model.network import Network
from .chunks import InitialStates
from .kernel_inputs import REAL_GAUGE_TOL

__all__ = [
    "NetworkPlan",
    "NetworkRecordArrays",
    "NetworkInputs",
    "NetworkChunk",
    "run_network",
    "run_network_chunk",
]


class NetworkPlan(NamedTuple):
    """What a network run records and how its intervals are drawn, as the driver reads it.

    Attributes
    ----------
    checkpoints : ndarray of int64, shape (C,)
        Collision counts at which to record, strictly increasing from ``>= 0``.
    rho_slot : ndarray of int64, shape (C,)
        Index into the rho sums of each checkpoint (-1: rho not kept).
    arrival : int
        0 regular, 1 Poisson, 2 Bernoulli
        (:data:`~trajectories.channels.beam_unravelling.ARRIVAL_CODES`).
    p : float
        Bernoulli slot probability (unused otherwise).
    has_loss : bool
        Whether either cavity has loss (else the interval is the identity and draws nothing).
    """

    checkpoints: np.ndarray
    rho_slot: np.ndarray
    arrival: int
    p: float
    has_loss: bool


class NetworkRecordArrays(NamedTuple):
    r"""The arrays one chunk fills in place (rows: its trajectories).

    Attributes
    ----------
    n_mean, n2_mean : ndarray of float64, shape (M, C, 2)
        :math:`\langle n_X\rangle_i`, :math:`\langle n_X^2\rangle_i` (0 after a leak).
    qubit_g, qubit_e : ndarray of int64, shape (M, C, B)
        Cumulative qubits that left in g, in e, by input branch.
    emissions, absorptions : ndarray of int64, shape (M, C, 2)
        Cumulative jumps into and from each cavity's bath.
    alive : ndarray of bool, shape (M,)
        False for a trajectory that leaked.
    leak : ndarray of float64, shape (C,)
        Sum over the trajectories of their expected leaked weight so far.
    n_alive : ndarray of int64, shape (C,)
        Trajectories not leaked (the sum of :math:`\|\psi_i\|^4`).
    rho_sum : ndarray of float64 or complex128, shape (max(R, 1), D, D)
        Upper triangles of :math:`\sum_i |\tilde\psi_i\rangle\langle\tilde\psi_i|` in
        shell order and in the gauge.
    local_purity : ndarray of float64, shape (max(R, 1),)
        :math:`\sum_i \mathrm{Tr}\,\rho_{A,i}^2` (equal to that of B: the states are pure).
    """

    n_mean: np.ndarray
    n2_mean: np.ndarray
    qubit_g: np.ndarray
    qubit_e: np.ndarray
    emissions: np.ndarray
    absorptions: np.ndarray
    alive: np.ndarray
    leak: np.ndarray
    n_alive: np.ndarray
    rho_sum: np.ndarray
    local_purity: np.ndarray


@njit(cache=True)
def _pick(cum, u):  # pragma: no cover - compiled
    """The first index whose cumulative weight exceeds ``u cum[-1]`` (inverse CDF)."""
    target = u * cum[cum.shape[0] - 1]
    for v in range(cum.shape[0] - 1):
        if target < cum[v]:
            return v
    return cum.shape[0] - 1


@njit(cache=True)
def _support(psi, off, sw0):  # pragma: no cover - compiled
    """First and last shells with weight (``(0, 0)`` for a zero vector), the shell weights
    into ``sw0`` and their sum."""
    n_shells = off.shape[0] - 1
    lo = -1
    hi = 0
    tot = 0.0
    for m in range(n_shells):
        w = 0.0
        for p in range(off[m], off[m + 1]):
            w += abs2(psi[p])
        sw0[m] = w
        tot += w
        if w > 0.0:
            if lo < 0:
                lo = m
            hi = m
    return max(lo, 0), hi, tot


@njit(cache=True)
def _record(psi, sh, lo, hi, live, i, c, r, cg, ce, jumps, leak, mat, rec):  # pragma: no cover
    """Fill checkpoint ``c`` of trajectory ``i``; add to the rho sum of slot ``r`` (-1: none)."""
    s1a, s1b, s2a, s2b = moments(psi, sh, lo, hi)
    rec.n_mean[i, c, 0] = s1a
    rec.n_mean[i, c, 1] = s1b
    rec.n2_mean[i, c, 0] = s2a
    rec.n2_mean[i, c, 1] = s2b
    for b in range(cg.shape[0]):
        rec.qubit_g[i, c, b] = cg[b]
        rec.qubit_e[i, c, b] = ce[b]
    for x in range(2):
        rec.emissions[i, c, x] = jumps[2 * x]
        rec.absorptions[i, c, x] = jumps[2 * x + 1]
    rec.leak[c] += leak
    if not live:
        return
    rec.n_alive[c] += 1
    if r < 0:
        return
    p0 = sh.off[lo]
    p1 = sh.off[hi + 1]
    s = rec.rho_sum
    for p in range(p0, p1):
        cp = psi[p]
        if cp != 0:
            for q in range(p, p1):
                s[r, p, q] += cp * np.conj(psi[q])
    # Tr rho_A^2 of the pure state: rho_A = M M^dagger, M[a, b] = psi(a, b)
    na, nb = mat.shape
    for a in range(na):
        for b in range(nb):
            mat[a, b] = 0.0
    for p in range(p0, p1):
        mat[sh.a[p], sh.b[p]] = psi[p]
    tot = 0.0
    for a in range(na):
        for a2 in range(a, na):
            z = mat[a, 0] * np.conj(mat[a2, 0])
            for b in range(1, nb):
                z += mat[a, b] * np.conj(mat[a2, b])
            tot += abs2(z) if a2 == a else 2.0 * abs2(z)
    rec.local_purity[r] += tot


@njit(cache=True)
def run_network(psi0, sh, col, loss, plan, key, offset, rec):  # pragma: no cover - compiled
    r"""Evolve the trajectories ``psi0`` of a network; fill ``rec`` in place.

    Parameters
    ----------
    psi0 : ndarray of float64 or complex128, shape (M, D)
        Normalised initial state of each trajectory, shell order, in the gauge
        (:func:`~trajectories.channels.network_arrays.network_trajectory_arrays`);
        C-contiguous.
    sh : ShellArrays
        Shell order and jump targets.
    col : CollisionArrays
        The collision's blocks, branches and spread nodes.
    loss : NetworkLossArrays
        The loss of both cavities.
    plan : NetworkPlan
        Checkpoints, rho slots, arrivals.
    key : ndarray of uint64, shape (2,)
        The run's Philox key.
    offset : int
        Index in the run of the chunk's first trajectory.
    rec : NetworkRecordArrays
        Zeroed records, filled in place.

    Notes
    -----
    The order of the draws is that of the module docstring; records at the checkpoints
    (``k = 0`` is the initial state) as in :class:`NetworkRecordArrays`.
    """
    n_traj, d = psi0.shape
    psi = np.zeros(d, dtype=psi0.dtype)
    out1 = np.zeros(d, dtype=psi0.dtype)
    out2 = np.zeros(d, dtype=psi0.dtype)
    sw0 = np.zeros(sh.off.shape[0] - 1)
    sw1 = np.zeros(sh.off.shape[0] - 1)
    sw2 = np.zeros(sh.off.shape[0] - 1)
    na = loss.cutoff[0]
    nb = loss.cutoff[1]
    mat = np.zeros((na, nb), dtype=psi0.dtype)
    fa = np.empty(na)
    fbr = np.empty(nb)
    rates = np.empty(6)
    jumps = np.zeros(4, dtype=np.int64)
    n_br = col.branch_cum.shape[0]
    n_nodes = col.node_cum.shape[0]
    cg = np.zeros(n_br, dtype=np.int64)
    ce = np.zeros(n_br, dtype=np.int64)
    rng = np.zeros(STATE_SIZE, dtype=np.uint64)
    rng_pump = np.zeros(STATE_SIZE, dtype=np.uint64)
    checkpoints = plan.checkpoints
    n_ck = checkpoints.shape[0]
    n_steps = checkpoints[n_ck - 1]
    random_t = plan.arrival != 0 and plan.has_loss
    off = sh.off
    for i in range(n_traj):
        ti = np.uint64(offset + i)
        start(rng, key[0], key[1], ti, np.uint64(DYNAMICS))
        start(rng_pump, key[0], key[1], ti, np.uint64(PUMP))
        for p in range(d):
            psi[p] = psi0[i, p]
        lo, hi, tot = _support(psi, off, sw0)
        live = True
        leak = 0.0
        jumps[:] = 0
        cg[:] = 0
        ce[:] = 0
        first = 1
        c = 0
        for k in range(n_steps + 1):
            if k > 0 and live:
                node = _pick(col.node_cum, uniform(rng_pump)) if n_nodes > 1 else 0
                t_len = draw_interval(rng_pump, plan.arrival, plan.p) if random_t else 1.0
                br = _pick(col.branch_cum, uniform(rng)) if n_br > 1 else 0
                o, lk, lo, hi, tot, nxt = collide(psi, out1, out2, sw0, tot, sw1, sw2, col, node,
                                                  br, uniform(rng), first, lo, hi, off)  # fmt: skip
                leak += lk
                if o < 0:
                    live = False
                else:
                    if o == 0:
                        ce[br] += 1
                    else:
                        cg[br] += 1
                    first = nxt
                    if plan.has_loss:
                        leak += interval_leak(psi, loss.leak, off, lo, hi)
                        live, lo, hi, tot = loss_interval(
                            psi, out1, sw0, tot, sw1, sh, loss, t_len, lo, hi, rng, fa, fbr,
                            rates, jumps,
                        )  # fmt: skip
            if c < n_ck and k == checkpoints[c]:
                _record(psi, sh, lo, hi, live, i, c, plan.rho_slot[c], cg, ce, jumps, leak,
                        mat, rec)  # fmt: skip
                c += 1
        rec.alive[i] = live


@dataclasses.dataclass(frozen=True)
class NetworkInputs:
    """Everything a chunk of network trajectories needs, built once per run.

    Parameters
    ----------
    shells : ShellArrays
    collision : CollisionArrays
    loss : NetworkLossArrays
    plan : NetworkPlan
    gauge : ndarray of complex128, shape (D,)
        Shell phases: ``psi = gauge * psi_tilde`` in shell order.
    weights : ndarray of float64, shape (K,)
        Probabilities of the initial state's pure components.
    vectors : ndarray of float64 or complex128, shape (K, D)
        Those components in shell order and in the gauge: float64 when all are real there
        (the dynamics then runs in real arithmetic).
    """

    shells: ShellArrays
    collision: CollisionArrays
    loss: NetworkLossArrays
    plan: NetworkPlan
    gauge: np.ndarray
    weights: np.ndarray
    vectors: np.ndarray

    @classmethod
    def build(
        cls,
        net: Network,
        rho0: np.ndarray,
        checkpoints: np.ndarray,
        rho_slot: np.ndarray,
        collision: NetworkCollision | None = None,
    ) -> NetworkInputs:
        """The inputs of a run of ``net`` from the initial density matrix ``rho0``.

        Parameters
        ----------
        net : Network
            The model.
        rho0 : ndarray of complex128, shape (D, D)
            Initial joint density matrix (natural basis), validated.
        checkpoints : ndarray of int64, shape (C,)
            The checkpoints.
        rho_slot : ndarray of int64, shape (C,)
            Rho slot of each checkpoint (-1: none).
        collision : NetworkCollision, optional
            The collision channel, when already built.

        Returns
        -------
        NetworkInputs
        """
        sh, col, loss, gauge = network_trajectory_arrays(net, collision)
        init = InitialStates.from_density_matrix(rho0)
        vectors = init.vectors[:, sh.natural] * gauge.conj()
        real = True
        rows = []
        for v in vectors:
            big = v[int(np.argmax(np.abs(v)))]
            v = v * (np.conj(big) / abs(big))
            real = real and float(np.max(np.abs(v.imag))) <= REAL_GAUGE_TOL * abs(big)
            rows.append(v)
        vectors = np.array(rows)
        vectors = np.ascontiguousarray(vectors.real if real else vectors)
        plan = NetworkPlan(
            checkpoints=np.ascontiguousarray(checkpoints, dtype=np.int64),
            rho_slot=np.ascontiguousarray(rho_slot, dtype=np.int64),
            arrival=ARRIVAL_CODES[net.arrivals.kind],
            p=float(net.arrivals.p) if net.arrivals.kind == "bernoulli" else 1.0,
            has_loss=bool(net.has_loss),
        )
        return cls(sh, col, loss, plan, gauge, init.weights, vectors)

    @property
    def n_branches(self) -> int:
        """Qubit branches B."""
        return int(self.collision.branch_cum.size)

    @property
    def n_rho(self) -> int:
        """Checkpoints keeping rho, R."""
        return int(np.count_nonzero(self.plan.rho_slot >= 0))


@dataclasses.dataclass(frozen=True)
class NetworkChunk:
    r"""What one chunk of network trajectories returns (rows: its trajectories in order).

    Attributes
    ----------
    index : int
        The chunk's index (its trajectories are ``index * chunk_size ...``).
    n_trajectories : int
        M.
    rho_sum : ndarray of complex128, shape (R, D, D)
        :math:`\sum_i |\psi_i\rangle\langle\psi_i|` at the rho checkpoints, natural basis.
    local_purity : ndarray of float64, shape (R,)
        :math:`\sum_i \mathrm{Tr}\,\rho_{A,i}^2`.
    n_alive : ndarray of int64, shape (C,)
        Trajectories not leaked at each checkpoint.
    leak : ndarray of float64, shape (C,)
        Sum of the trajectories' expected leaked weight.
    n_mean, n2_mean : ndarray of float64, shape (M, C, 2)
    qubit_g, qubit_e : ndarray of int64, shape (M, C, B)
    emissions, absorptions : ndarray of int64, shape (M, C, 2)
    alive : ndarray of bool, shape (M,)
    seconds : float
        Wall-clock time of the chunk.
    """

    index: int
    n_trajectories: int
    rho_sum: np.ndarray
    local_purity: np.ndarray
    n_alive: np.ndarray
    leak: np.ndarray
    n_mean: np.ndarray
    n2_mean: np.ndarray
    qubit_g: np.ndarray
    qubit_e: np.ndarray
    emissions: np.ndarray
    absorptions: np.ndarray
    alive: np.ndarray
    seconds: float


def run_network_chunk(
    inputs: NetworkInputs, start_index: int, n_trajectories: int, key: np.ndarray, index: int
) -> NetworkChunk:
    """Run trajectories ``start_index .. start_index + n_trajectories - 1`` as chunk ``index``.

    Parameters
    ----------
    inputs : NetworkInputs
        The run's arrays.
    start_index : int
        Index in the run of the chunk's first trajectory.
    n_trajectories : int
        M.
    key : ndarray of uint64, shape (2,)
        The run's Philox key.
    index : int
        The chunk index stored in the result.

    Returns
    -------
    NetworkChunk
    """
    t0 = time.perf_counter()
    w = inputs.weights
    if w.size > 1:
        u = first_uniforms(key, start_index, n_trajectories, INITIAL)
        cdf = np.cumsum(w)
        pick = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), w.size - 1)
    else:
        pick = np.zeros(n_trajectories, dtype=np.int64)
    psi0 = np.ascontiguousarray(inputs.vectors[pick])
    m, d = psi0.shape
    c = inputs.plan.checkpoints.size
    r = inputs.n_rho
    b = inputs.n_branches
    rec = NetworkRecordArrays(
        n_mean=np.zeros((m, c, 2)), n2_mean=np.zeros((m, c, 2)),
        qubit_g=np.zeros((m, c, b), dtype=np.int64), qubit_e=np.zeros((m, c, b), dtype=np.int64),
        emissions=np.zeros((m, c, 2), dtype=np.int64),
        absorptions=np.zeros((m, c, 2), dtype=np.int64),
        alive=np.zeros(m, dtype=np.bool_), leak=np.zeros(c), n_alive=np.zeros(c, dtype=np.int64),
        rho_sum=np.zeros((max(r, 1), d, d), dtype=psi0.dtype), local_purity=np.zeros(max(r, 1)),
    )  # fmt: skip
    with single_threaded_blas():
        run_network(psi0, inputs.shells, inputs.collision, inputs.loss, inputs.plan, key,
                    start_index, rec)  # fmt: skip
        s = rec.rho_sum[:r]
        upper = np.triu(s, 1)
        s = np.triu(s) + upper.conj().transpose(0, 2, 1)
        g = inputs.gauge
        s = s * (g[:, None] * g.conj()[None, :])
        nat = inputs.shells.natural
        rho = np.empty((r, d, d), dtype=np.complex128)
        rho[:, nat[:, None], nat[None, :]] = s
    return NetworkChunk(
        index=index, n_trajectories=m, rho_sum=rho, local_purity=rec.local_purity[:r].copy(),
        n_alive=rec.n_alive, leak=rec.leak, n_mean=rec.n_mean, n2_mean=rec.n2_mean,
        qubit_g=rec.qubit_g, qubit_e=rec.qubit_e, emissions=rec.emissions,
        absorptions=rec.absorptions, alive=rec.alive, seconds=time.perf_counter() - t0,
    )  # fmt: skip
