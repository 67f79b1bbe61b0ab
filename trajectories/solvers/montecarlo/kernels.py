r"""The compiled trajectory drivers (numba): every trajectory of a chunk, one at a time.

The unravelling of ``docs/MODEL.md``, Sec. 3 (records: Sec. 4).

Per trajectory (a normalised state vector ``psi`` of length N) and per collision:

1. Collision: the Kraus operators are applied in order until the draw ``u`` is covered; the
   outcome has probability ``||K_j psi||^2``; the probability that the qubit pushes weight
   above the cutoff is the *leak* outcome, which ends the trajectory (its state becomes 0,
   as the exact solver's trace drops). ``psi <- K_j psi / ||K_j psi||``
   (:mod:`trajectories.channels.kraus`, compiled forms).
2. Loss over one interval, exactly, by waiting times
   (:mod:`trajectories.channels.loss_unravelling`).

Two drivers share every leaf and the records:

- :func:`run_banded` for collisions whose operators have the diagonals ``{0, +-1}``
  (Jaynes-Cummings): the collision and the first pass of the loss interval are fused (an
  interval without a jump costs one more pass), and every pass runs over the *active*
  levels only, ``0 .. na-1``, ``psi[m] = 0`` above them. A collision may fill level ``na``,
  an absorption raises ``na`` by one, and top levels whose weight falls below
  :data:`SUPPORT_TOL` (amplitudes below 1e-30 of the normalised state, which cannot change
  any double-precision sum) are zeroed and dropped. In the Fig. 5 case this is 1.27x faster
  at N = 40 than passes over all levels, with the same draws and records (populations to
  1e-11).
- :func:`run_sparse` for collisions stored by any number of diagonals (Rabi), possibly a
  different Kraus set at each collision (``step_set``).

Inputs are a few named tuples (:mod:`trajectories.solvers.montecarlo.kernel_inputs`);
trajectory ``offset + i`` (``offset``: the chunk's first trajectory) draws from its own
counter-based streams
(:mod:`trajectories._streams`, numpy's Philox4x64 keyed by the run's seed), so it is fully
determined by the seed and its index, whatever chunk it runs in. Kernels are compiled on
first use and cached (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np

from ..._numba import LEAF, abs2, njit
from ..._streams import DYNAMICS, MEASUREMENT, PUMP, STATE_SIZE, start_stage, uniform
from ...channels.beam_unravelling import (
    draw_interval,
    draw_strength,
    no_jump_factors,
    spread_operators,
    strength_tables,
)
from ...channels.kraus_unravelling import (
    amplitude_classes,
    collide_banded,
    collide_banded_loss,
    collide_columns,
)
from ...channels.loss_unravelling import loss_jumps

__all__ = ["SUPPORT_TOL", "run_banded", "run_sparse"]


#: Levels at the top of the state whose weight is below this (the state is normalised)
#: are set to zero and left out of every pass until the dynamics reaches them again:
#: amplitudes below 1e-30 cannot change a double-precision result.
SUPPORT_TOL = 1e-60


@njit(**LEAF)
def _active(psi, na, norm2, pend, decay):
    """Number of active levels: drop (zero) top levels of ``psi[:na]`` whose weight is below
    SUPPORT_TOL (``norm2``: the squared norm of the state; with ``pend``, the state is
    ``D psi``, ``D^2 = diag(decay)``)."""
    tol = SUPPORT_TOL * norm2
    while na > 1 and abs2(psi[na - 1]) * (decay[na - 1] if pend else 1.0) < tol:
        psi[na - 1] = 0.0
        na -= 1
    return na


@njit(**LEAF)
def _damp_tables(kd, ko, ks, damp):
    """``K_j <- K_j D`` in place, ``D = diag(damp)``: the operators that act on a state whose
    no-jump damping is still pending (``kd[j, m] damp[m]``, ``ko[j, m] damp[m - ks[j]]``)."""
    n = kd.shape[1]
    for j in range(kd.shape[0]):
        for m in range(n):
            kd[j, m] *= damp[m]
            src = m - ks[j]
            ko[j, m] = ko[j, m] * damp[src] if 0 <= src < n else 0.0


@njit(**LEAF)
def _settle(psi, na, norm2, pend, damp):
    """Apply a pending damping (``pend``) and normalise ``psi[:na]``; returns 1.0, False."""
    if not pend:
        return _normalise(psi, na, norm2), False
    scale = 1.0 / math.sqrt(norm2)
    for m in range(na):
        psi[m] *= damp[m] * scale
    return 1.0, False


@njit(**LEAF)
def _normalise(psi, na, norm2):
    """Scale ``psi[:na]`` to unit norm (its squared norm is ``norm2``); returns 1.0."""
    if norm2 != 1.0:
        scale = 1.0 / math.sqrt(norm2)
        for m in range(na):
            psi[m] *= scale
    return 1.0


@njit(**LEAF)
def _first_moment(psi, na):
    """``sum_m m |psi_m|^2`` over the first ``na`` levels."""
    e = 0.0
    for m in range(1, na):
        e += m * abs2(psi[m])
    return e


@njit(**LEAF)
def _load(i, psi0, psi, carry, rec, cg, ce, jump_log):
    """Start trajectory ``i`` of a stage from its state and carried records."""
    for m in range(psi.shape[0]):
        psi[m] = psi0[i, m]
    for b in range(cg.shape[0]):
        cg[b] = carry.cg[i, b]
        ce[b] = carry.ce[i, b]
    count = rec.n_jumps[i]
    jump_log[0, 0] = count
    for jj in range(min(count, jump_log.shape[0] - 1)):
        jump_log[jj + 1, 0] = rec.jump_times[i, jj]
        jump_log[jj + 1, 1] = rec.jump_kinds[i, jj]


@njit(**LEAF)
def _store(i, psi0, psi, carry, cg, ce, n_em, n_ab, live, leak, clock, energy):
    """Hand trajectory ``i``'s state and running records on to the next stage."""
    for m in range(psi.shape[0]):
        psi0[i, m] = psi[m]
    for b in range(cg.shape[0]):
        carry.cg[i, b] = cg[b]
        carry.ce[i, b] = ce[b]
    carry.n_em[i] = n_em
    carry.n_ab[i] = n_ab
    carry.live[i] = live
    carry.leak[i] = leak
    carry.clock[i] = clock
    carry.energy[i] = energy


@njit(cache=True)
def run_banded(psi0, col, outcomes, loss, beam, plan, key, offset, rec, carry):
    """Evolve the trajectories ``psi0`` with a banded collision; fill ``rec`` in place.

    ``psi0``, ``kd`` and ``ko`` are all complex128, or all float64 for the dynamics in a
    real gauge (then ``rho_sum`` may be float64 too: it receives the gauged, real products
    ``psi_p psi_q``; the chunk runner maps them back).

    One call runs one protocol stage (a single model is a one-stage protocol): collisions
    ``plan.first_k + 1 .. plan.first_k + plan.n_steps`` (global numbers: absolute time),
    from the states ``psi0`` and the running records ``carry``, both handed on in place.
    Stage ``s = plan.stage`` of trajectory ``offset + i`` draws from the counters
    ``(0, s, offset + i, stream)`` (:mod:`trajectories._streams`).

    Parameters
    ----------
    psi0 : ndarray of complex128 or float64, shape (M, N)
        Normalised state of each trajectory at the start of the stage, C-contiguous;
        overwritten with the state at its end (0 for a leaked trajectory).
    col : BandedCollision
        ``kd``, ``ko`` (K, N), ``ks`` (K,) int64, ``leak_top`` float (the named tuples are
        those of :mod:`trajectories.solvers.montecarlo.kernel_inputs`).
    outcomes : Outcomes
        ``branch`` (K,) int64 and ``is_g`` (K,) bool.
    loss : LossArrays
        ``gamma`` (units of ``1/t_r``), ``nbar``, and ``full_decay``, ``full_damp``,
        ``leak`` (N,) float64 (the expected leak of an interval, averaged over ``T``).
    beam : BeamArrays
        Arrivals and theta spread; the ideal beam draws nothing from the beam stream.
    plan : PlanArrays
        The stage's ``checkpoints`` (local: collisions since the stage began) and
        ``rho_slot`` (C_s,) int64, ``max_jumps``, ``stage``, ``first_k``, ``n_steps`` and
        ``c0`` (the record column of the stage's first checkpoint).
    key : ndarray of uint64, shape (2,)
        The run's Philox key; trajectory ``offset + i`` draws from its own streams.
    offset : int
        Index in the run of the chunk's first trajectory.
    rec : Records
        Record arrays (zeroed before the first stage), filled in place (shapes below);
        ``rho_sum`` holds the stage's slots only.
    carry : Carry
        Running counts, leak, clock, collision energy and survival per trajectory, read at
        the start and written at the end of the stage.

    Notes
    -----
    Records at each checkpoint c (rows = trajectories): ``n_mean``/``n2_mean``
    (M, C) float; cumulative ``qubit_g``/``qubit_e`` (M, C, B) counts of
    qubits leaving in g / e per branch; ``emissions``/``absorptions`` (M, C);
    ``leak_expected`` (C,) sum over trajectories of the leak probabilities;
    ``rho_sum`` (R, N, N) upper triangles of sum |psi><psi| for checkpoints with
    ``rho_slot[c] >= 0``. Jumps: ``jump_times``/``jump_kinds`` (M, max_jumps),
    ``n_jumps`` (M,) counts all jumps (more than ``max_jumps`` = overflow).
    ``fock`` (M, C): one photon number drawn from ``|psi_n|^2`` at each checkpoint
    with the separate generator ``rng_meas`` (-1 for a leaked trajectory), the
    outcome a projective measurement of n would give; it does not act back. Jump times
    are in units of ``t_r`` of real time, from the first loss interval: with regular
    arrivals the interval after collision ``k`` spans ``[k - 1, k)``; with random ones it
    spans ``[t_k, t_k + T_k)``, ``t_k`` the sum of the earlier intervals. ``theta``
    (M, K) float32, when it has columns: each qubit's relative strength ``x``.
    ``collision_energy`` (M, C): the energy the collisions brought in, the running sum over
    collisions of ``<n>`` of the normalised state just after the collision minus ``<n>``
    just before (its conditional mean given the state before is
    ``Tr[n Phi(rho)] - Tr[n rho]``, the exact book; a collision that leaks counts
    ``-<n>``).

    The beam (``docs/MODEL.md``, Sec. 9): per collision, from the beam stream, first the
    qubit's ``x`` (theta spread: its banded operators are rebuilt on the active levels,
    :mod:`trajectories.channels.beam_unravelling`), then the interval ``T`` (random
    arrivals, with loss only: the no-jump factors of ``T`` by cumulative powers, and the
    waiting-time loss over ``T``).
    """
    ks = col.ks
    kbranch, kis_g = outcomes.branch, outcomes.is_g
    gamma, nbar, full_decay, full_damp, loss_leak = loss
    checkpoints, rho_slot, max_jumps = plan.checkpoints, plan.rho_slot, plan.max_jumps
    stage, first_k, n_steps, c0 = np.uint64(plan.stage), plan.first_k, plan.n_steps, plan.c0
    n_branches = rec.qubit_g.shape[2]
    n_traj, n = psi0.shape
    n_ck = checkpoints.shape[0]
    psi = np.empty(n, dtype=psi0.dtype)
    buf = np.zeros(n, dtype=psi0.dtype)
    top_buf = 0  # buf[m] = 0 for m >= top_buf, outside what the last pass wrote
    sqrt_n = np.sqrt(np.arange(n + 1.0))
    cg = np.zeros(n_branches, dtype=np.int64)
    ce = np.zeros(n_branches, dtype=np.int64)
    jump_log = np.zeros((max_jumps + 1, 2))
    has_loss = gamma > 0.0
    rng = np.zeros(STATE_SIZE, dtype=np.uint64)
    rng_meas = np.zeros(STATE_SIZE, dtype=np.uint64)
    # the beam: random intervals (with loss only) and per-qubit theta
    random_t = beam.arrival != 0 and has_loss
    spread = beam.spread
    rng_pump = np.zeros(STATE_SIZE, dtype=np.uint64)
    a_loss = gamma * nbar
    b_loss = gamma * (2.0 * nbar + 1.0)
    decay_t = np.empty(n)
    damp_t = np.empty(n)
    # an interval without a jump leaves psi = buf with its damping D pending: the next
    # collision applies K_j D (tables below) instead of a pass over psi (ideal beam only)
    fold = has_loss and not random_t and spread == 0
    kd_d = col.kd.copy()
    ko_d = col.ko.copy()
    _damp_tables(kd_d, ko_d, col.ks, full_damp)
    kd_x = col.kd.copy()
    ko_x = col.ko.copy()
    cs = np.zeros(n + 1)
    sn = np.zeros(n + 1)
    keep_theta = rec.theta.shape[1] > 0
    for i in range(n_traj):
        ti = np.uint64(offset + i)
        start_stage(rng, key[0], key[1], stage, ti, np.uint64(DYNAMICS))
        start_stage(rng_meas, key[0], key[1], stage, ti, np.uint64(MEASUREMENT))
        start_stage(rng_pump, key[0], key[1], stage, ti, np.uint64(PUMP))
        _load(i, psi0, psi, carry, rec, cg, ce, jump_log)
        na = _active(psi, n, 1.0, False, full_decay)
        norm2 = 1.0  # squared norm of psi (left unnormalised after a jump)
        pend = False  # psi's no-jump damping still to apply (folded into the next collision)
        n_em = carry.n_em[i]
        n_ab = carry.n_ab[i]
        live = carry.live[i]
        leak = carry.leak[i]
        clock = carry.clock[i]  # real time at the start of the next loss interval (units of t_r)
        energy = carry.energy[i]  # energy from the collisions
        n_cur = _first_moment(psi, na)  # <n> of the (normalised) state
        c = 0
        for kl in range(n_steps + 1):
            k = first_k + kl  # global collision number
            # the collision can fill one level above the active ones (views of nc levels)
            nc = min(na + 1, n)
            kd, ko, leak_top = col.kd, col.ko, col.leak_top
            decay, damping, t_len, t0 = full_decay, full_damp, 1.0, k - 1.0
            if kl > 0 and live and spread != 0:  # this qubit's theta and operators
                x, v = draw_strength(rng_pump, spread, beam.width, beam.cum)
                if v >= 0:
                    x = beam.values[v]
                    cs_v = beam.cos_table[v]
                    sn_v = beam.sin_table[v]
                else:
                    strength_tables(beam.theta * x, sqrt_n, cs, sn, nc)
                    cs_v = cs[:]
                    sn_v = sn[:]
                spread_operators(kd_x, ko_x, beam.a, beam.b, ks, cs_v, sn_v, nc)
                kd, ko = kd_x, ko_x
                leak_top = beam.leak_q * sn_v[n] * sn_v[n] if nc == n else 0.0
                if keep_theta:
                    rec.theta[i, k - 1] = x
            if kl > 0 and live and random_t:  # the interval after this collision
                t_len = draw_interval(rng_pump, beam.arrival, beam.p)
                no_jump_factors(decay_t, damp_t, a_loss, b_loss, t_len, nc)
                decay, damping, t0 = decay_t, damp_t, clock
                clock += t_len
            if kl > 0 and live and not has_loss:
                j, p_leak, n_mid = collide_banded(psi, buf, kd, ko, ks, leak_top, uniform(rng), nc)
                leak += p_leak
                energy += n_mid - n_cur
                n_cur = n_mid
                if j < 0:
                    live = False
                elif kis_g[j]:
                    cg[kbranch[j]] += 1
                else:
                    ce[kbranch[j]] += 1
                na = _active(psi, nc, 1.0, False, full_decay)
            elif kl > 0 and live:
                # collision and the loss interval's first pass fused (_collide_loss);
                # the same draws as _collide followed by _loss_interval
                if pend:  # the pending damping, folded into the operators
                    kd, ko, leak_top = kd_d, ko_d, leak_top * full_decay[nc - 1]
                j, p_leak, p, s, lv, e1, e2 = collide_banded_loss(
                    psi, buf, kd, ko, ks, leak_top, uniform(rng), decay, loss_leak, nc, norm2,
                )  # fmt: skip
                pend = False
                top_buf = max(top_buf, nc)
                leak += p_leak
                if j < 0:
                    live = False
                    energy -= n_cur
                    n_cur = 0.0
                    for m in range(n):
                        psi[m] = 0.0
                else:
                    inv_p = 1.0 / p  # one division for both ratios
                    energy += e1 * inv_p - n_cur
                    if kis_g[j]:
                        cg[kbranch[j]] += 1
                    else:
                        ce[kbranch[j]] += 1
                    leak += lv * inv_p
                    u = uniform(rng)
                    if s >= u * p and fold:  # no jump: psi = K psi, its damping pending
                        for m in range(nc, top_buf):  # psi must be 0 above its levels
                            buf[m] = 0.0
                        top_buf = na
                        psi, buf = buf, psi
                        pend = True
                        na = nc
                        n_cur = e2 / s
                        norm2 = s  # ||D psi||^2
                        if norm2 < 1e-200:  # keep the scale in range
                            norm2, pend = _settle(psi, na, norm2, pend, full_damp)
                    elif s >= u * p:  # no jump: psi = K psi damped over the interval, normalised
                        scale = 1.0 / math.sqrt(s)
                        for m in range(nc):
                            psi[m] = buf[m] * (damping[m] * scale)
                        na = nc
                        n_cur = e2 * (scale * scale)
                        norm2 = 1.0
                    else:  # a jump in the interval: from buf into psi, left unnormalised
                        de, da, live, na, norm2, n_cur = loss_jumps(
                            psi, buf, sqrt_n, gamma, nbar, rng, jump_log, t0, t_len, p, s, nc,
                        )  # fmt: skip
                        n_em += de
                        n_ab += da
                        top_buf = min(max(top_buf, nc + da), n)  # what loss_jumps wrote
                        if not 1e-200 < norm2 < 1e200:  # keep the scale in range
                            norm2 = _normalise(psi, na, norm2)
                    na = _active(psi, na, norm2, pend, full_decay)
            if c < n_ck and kl == checkpoints[c]:
                norm2, pend = _settle(psi, na, norm2, pend, full_damp)
                _record(psi, live, i, c0 + c, rng_meas, cg, ce, n_em, n_ab, leak, rho_slot[c], rec)
                rec.collision_energy[i, c0 + c] = energy
                c += 1
        norm2, pend = _settle(psi, na, norm2, pend, full_damp)
        _store(i, psi0, psi, carry, cg, ce, n_em, n_ab, live, leak, clock, energy)
        _finish(i, live, jump_log, rec)


@njit(cache=True)
def run_sparse(psi0, col, outcomes, loss, beam, plan, key, offset, rec, carry):
    """Evolve the trajectories ``psi0`` with a sparse collision; records as in :func:`run_banded`.

    The collision and the first pass of the loss interval are fused as in
    :func:`run_banded` (:func:`~trajectories.channels.kraus_unravelling.collide_columns`,
    then :func:`~trajectories.channels.loss_unravelling.loss_jumps` when the interval has a
    jump); the state is left unnormalised between checkpoints (``norm2``) and the passes run
    over the active levels (:data:`SUPPORT_TOL`). Terms of ``K psi`` below
    :data:`~trajectories.channels.kraus_unravelling.KEEP_TOL` of the normalised state (and of
    the leak form below :data:`~trajectories.channels.kraus_unravelling.LEAK_KEEP_TOL`) are
    left out, by the amplitude class of each level. Draws per collision, in order: the
    qubit's theta value (beam stream, discrete spread only), the outcome, the no-jump draw
    of the loss interval and those of its jumps (dynamics stream), as before the fusion.

    Parameters
    ----------
    psi0 : ndarray of complex128, shape (M, N)
        Normalised state of each trajectory at the start of the stage (overwritten with
        the state at its end), C-contiguous.
    col : SparseCollisions
        ``cols`` (S, K + 1, N, N) complex128 (the operators by columns, then the leak form),
        ``rows`` (S, K + 1, N, C, 2) the rows kept per column and amplitude class, and
        ``step_set`` (n_collisions + 1,) int64, the set of each (global) collision. With a
        discrete theta spread of V values, set ``s`` of value ``v`` is stored at ``s V + v``.
    outcomes : Outcomes
        Branch and outcome of each operator, as in :func:`run_banded`.
    loss : LossArrays
        The loss interval, as in :func:`run_banded`.
    beam : BeamArrays
        Regular arrivals; no spread, or a discrete one (its value drawn per qubit from the
        beam stream, recorded in ``rec.theta`` when it has columns).
    plan : PlanArrays
        The stage's checkpoints, rho slots, ``max_jumps`` and place in the protocol, as in
        :func:`run_banded`.
    key : ndarray of uint64, shape (2,)
        The run's Philox key.
    offset : int
        Index in the run of the chunk's first trajectory.
    rec : Records
        Records (complex ``rho_sum``), filled in place as in :func:`run_banded`.
    carry : Carry
        The running records, handed on as in :func:`run_banded`.
    """
    cols, rows, step_set = col
    kbranch, kis_g = outcomes.branch, outcomes.is_g
    gamma, nbar, full_decay, full_damp, loss_leak = loss
    checkpoints, rho_slot, max_jumps = plan.checkpoints, plan.rho_slot, plan.max_jumps
    stage, first_k, n_steps, c0 = np.uint64(plan.stage), plan.first_k, plan.n_steps, plan.c0
    n_branches = rec.qubit_g.shape[2]
    n_traj, n = psi0.shape
    n_ck = checkpoints.shape[0]
    psi = np.empty(n, dtype=np.complex128)
    buf = np.empty(n, dtype=np.complex128)
    cls = np.empty(n, dtype=np.int64)
    bits = np.zeros(n, dtype=np.int64)  # scratch: the weights' bits (amplitude classes)
    leak_diag = np.zeros((cols.shape[0], n))  # the diagonal of each set's leak form
    for s in range(cols.shape[0]):
        for m in range(n):
            leak_diag[s, m] = cols[s, cols.shape[1] - 1, m, m].real
    sqrt_n = np.sqrt(np.arange(n + 1.0))
    cg = np.zeros(n_branches, dtype=np.int64)
    ce = np.zeros(n_branches, dtype=np.int64)
    jump_log = np.zeros((max_jumps + 1, 2))
    has_loss = gamma > 0.0
    rng = np.zeros(STATE_SIZE, dtype=np.uint64)
    rng_meas = np.zeros(STATE_SIZE, dtype=np.uint64)
    rng_pump = np.zeros(STATE_SIZE, dtype=np.uint64)
    spread = beam.spread
    n_values = beam.cum.shape[0] if spread == 3 else 1
    keep_theta = rec.theta.shape[1] > 0
    for i in range(n_traj):
        ti = np.uint64(offset + i)
        start_stage(rng, key[0], key[1], stage, ti, np.uint64(DYNAMICS))
        start_stage(rng_meas, key[0], key[1], stage, ti, np.uint64(MEASUREMENT))
        start_stage(rng_pump, key[0], key[1], stage, ti, np.uint64(PUMP))
        _load(i, psi0, psi, carry, rec, cg, ce, jump_log)
        na = _active(psi, n, 1.0, False, full_decay)
        norm2 = 1.0  # squared norm of psi (left unnormalised after a jump)
        n_em = carry.n_em[i]
        n_ab = carry.n_ab[i]
        live = carry.live[i]
        leak = carry.leak[i]
        clock = carry.clock[i]
        energy = carry.energy[i]
        n_cur = _first_moment(psi, na)
        c = 0
        for kl in range(n_steps + 1):
            k = first_k + kl
            if kl > 0 and live:
                s = step_set[k]
                if spread == 3:  # this qubit's value of theta
                    _, v = draw_strength(rng_pump, spread, beam.width, beam.cum)
                    s = s * n_values + v
                    if keep_theta:
                        rec.theta[i, k - 1] = beam.values[v]
                bound = amplitude_classes(psi, cls, bits, leak_diag[s], 1.0 / norm2, na)
                j, p_leak, p, sw, lv, e1, e2, hi = collide_columns(
                    psi, buf, cols[s], rows[s], cls, bound, uniform(rng), full_decay, loss_leak,
                    na, norm2,
                )  # fmt: skip
                leak += p_leak
                top = max(hi, na)  # psi is written up to here (buf is zero from hi up)
                if j < 0:
                    live = False
                    energy -= n_cur
                    n_cur = 0.0
                    norm2 = 1.0
                    for m in range(n):
                        psi[m] = 0.0
                else:
                    inv_p = 1.0 / p
                    energy += e1 * inv_p - n_cur
                    if kis_g[j]:
                        cg[kbranch[j]] += 1
                    else:
                        ce[kbranch[j]] += 1
                    if not has_loss:  # psi = K psi, normalised
                        scale = math.sqrt(inv_p)
                        for m in range(top):
                            psi[m] = buf[m] * scale
                        na = hi
                        n_cur = e1 * inv_p
                        norm2 = 1.0
                    else:
                        leak += lv * inv_p
                        u = uniform(rng)
                        if sw >= u * p:  # no jump: psi = K psi damped, normalised
                            scale = 1.0 / math.sqrt(sw)
                            for m in range(top):
                                psi[m] = buf[m] * (full_damp[m] * scale)
                            na = hi
                            n_cur = e2 * (scale * scale)
                            norm2 = 1.0
                        else:  # a jump: from buf into psi, left unnormalised
                            for m in range(hi, top):
                                psi[m] = 0.0
                            de, da, live, na, norm2, n_cur = loss_jumps(
                                psi, buf, sqrt_n, gamma, nbar, rng, jump_log, k - 1.0, 1.0, p,
                                sw, hi,
                            )  # fmt: skip
                            n_em += de
                            n_ab += da
                            if not 1e-200 < norm2 < 1e200:  # keep the scale in range
                                norm2 = _normalise(psi, na, norm2)
                    na = _active(psi, na, norm2, False, full_decay)
            if c < n_ck and kl == checkpoints[c]:
                norm2 = _normalise(psi, na, norm2)
                _record(psi, live, i, c0 + c, rng_meas, cg, ce, n_em, n_ab, leak, rho_slot[c], rec)
                rec.collision_energy[i, c0 + c] = energy
                c += 1
        norm2 = _normalise(psi, na, norm2)
        _store(i, psi0, psi, carry, cg, ce, n_em, n_ab, live, leak, clock, energy)
        _finish(i, live, jump_log, rec)


@njit(**LEAF)
def _record(psi, live, i, c, rng_meas, cg, ce, n_em, n_ab, leak, r, rec):
    """Fill checkpoint ``c`` of trajectory ``i`` (the records of :func:`run_banded`).

    Shared by both drivers. ``psi`` may be real or complex; ``r`` is the rho slot (-1: rho
    not kept at this checkpoint).
    """
    n_mean, n2_mean, fock = rec.n_mean, rec.n2_mean, rec.fock
    qubit_g, qubit_e = rec.qubit_g, rec.qubit_e
    emissions, absorptions = rec.emissions, rec.absorptions
    leak_expected, rho_sum = rec.leak_expected, rec.rho_sum
    n = psi.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for m in range(n):
        w = abs2(psi[m])
        s0 += w
        s1 += m * w
        s2 += m * m * w
    n_mean[i, c] = s1
    n2_mean[i, c] = s2
    target = uniform(rng_meas) * s0
    outcome = -1
    if live:
        cum = 0.0
        outcome = n - 1
        for m in range(n):
            cum += abs2(psi[m])
            if target < cum:
                outcome = m
                break
    fock[i, c] = outcome
    for b in range(cg.shape[0]):
        qubit_g[i, c, b] = cg[b]
        qubit_e[i, c, b] = ce[b]
    emissions[i, c] = n_em
    absorptions[i, c] = n_ab
    leak_expected[c] += leak
    if r >= 0 and live:
        for p in range(n):
            cp = psi[p]
            if cp != 0:
                for q in range(p, n):
                    rho_sum[r, p, q] += cp * np.conj(psi[q])


@njit(**LEAF)
def _finish(i, live, jump_log, rec):
    """Store trajectory ``i``'s survival and its logged jumps (``jump_log`` row 0: count)."""
    alive, n_jumps, jump_times, jump_kinds = rec.alive, rec.n_jumps, rec.jump_times, rec.jump_kinds
    alive[i] = live
    count = int(jump_log[0, 0])
    n_jumps[i] = count
    for jj in range(min(count, jump_times.shape[1])):
        jump_times[i, jj] = jump_log[jj + 1, 0]
        jump_kinds[i, jj] = jump_log[jj + 1, 1]
