r"""The compiled loop of one cloning population: the driver, the weights, the resampling.

Per collision ``t = 1 .. K`` (``docs/MODEL.md``, Sec. 10, cloning): every clone runs one
collision and one loss interval with the trajectory driver itself
(:func:`~trajectories.solvers.montecarlo.kernels.run_banded` or
:func:`~trajectories.solvers.montecarlo.kernels.run_sparse`, one stage of one collision, in
stage ``t`` of its streams), then gets the weight :math:`w_i = e^{-s \Delta n_i}` (0 if it
leaked), the log growth :math:`\ln(M^{-1}\sum_i w_i)` is stored, and the population is
resampled systematically with the uniform draw ``u[t - 1]`` (copies of the state vectors and
of the clones' ancestral counts). Run in compiled code, the loop costs no Python call per
collision, so small populations are not dominated by overheads.

Shapes: M clones, N Fock levels, B qubit branches, K collisions.
"""

from __future__ import annotations

import math

import numpy as np

from ..._numba import LEAF, njit
from .kernel_inputs import PlanArrays
from .kernels import run_banded, run_sparse

__all__ = ["COUNT_CODES", "CHANGED_CODE", "clone_banded", "clone_sparse"]

#: The counts as the compiled loop reads them; ``"changed"`` is ``CHANGED_CODE`` plus the
#: bit mask of the qubit branches that arrive in ``|e>``.
COUNT_CODES = {"g": 0, "e": 1, "emission": 2, "absorption": 3, "net": 4}
CHANGED_CODE = 8


@njit(**LEAF)
def _increments(carry, code, dn):
    """The count's increments of one collision per clone (``dn``, int64 (M,)), from the carried
    counts zeroed before it."""
    for i in range(dn.shape[0]):
        if code == 0:
            v = 0
            for b in range(carry.cg.shape[1]):
                v += carry.cg[i, b]
        elif code == 1:
            v = 0
            for b in range(carry.ce.shape[1]):
                v += carry.ce[i, b]
        elif code == 2:
            v = carry.n_em[i]
        elif code == 3:
            v = carry.n_ab[i]
        elif code == 4:
            v = carry.n_ab[i] - carry.n_em[i]
        else:  # changed: branch b left in g if it came in e (bit b of the mask), else in e
            v = 0
            for b in range(carry.cg.shape[1]):
                v += carry.cg[i, b] if (code - 8) >> b & 1 else carry.ce[i, b]
        dn[i] = v


@njit(**LEAF)
def _zero_counts(carry, n_jumps):
    """Zero the carried counts and jump counters before a collision."""
    for i in range(carry.n_em.shape[0]):
        for b in range(carry.cg.shape[1]):
            carry.cg[i, b] = 0
            carry.ce[i, b] = 0
        carry.n_em[i] = 0
        carry.n_ab[i] = 0
        n_jumps[i] = 0


@njit(**LEAF)
def _weigh(live, dn, s, w):
    """Weights ``w_i = exp(-s dn_i - top)`` (0 for a leaked clone) with ``top`` the largest
    exponent; returns ``(top, sum(w))``, ``sum = 0`` when every clone leaked."""
    m = dn.shape[0]
    top = -math.inf
    for i in range(m):
        if live[i]:
            top = max(top, -s * dn[i])
    total = 0.0
    for i in range(m):
        w[i] = math.exp(-s * dn[i] - top) if live[i] else 0.0
        total += w[i]
    return top, total


@njit(**LEAF)
def _systematic(w, total, u, idx):
    """Systematic resampling into ``idx`` (int64 (M,)): clone ``i`` is chosen about
    ``M w_i / total`` times, at the points ``(u + j) total / M``; a clone of zero weight
    never is (rounding cannot pass the last clone of positive weight)."""
    m = w.shape[0]
    last = m - 1
    while w[last] == 0.0:
        last -= 1
    step = total / m
    cum = w[0]
    i = 0
    for j in range(m):
        point = (u + j) * step
        while cum <= point and i < last:
            i += 1
            cum += w[i]
        idx[j] = i


@njit(**LEAF)
def _resample(t, psi, spare, history, hist_spare, carry, code, s, u, burn_in, growth, dn, w, idx):
    """After collision ``t``: the weights, the log growth, the ancestral counts, and the
    resampled population written to ``spare`` and ``history``; False if every clone leaked."""
    m, n = psi.shape
    _increments(carry, code, dn)
    top, total = _weigh(carry.live, dn, s, w)
    if total == 0.0:
        return False
    growth[t - 1] = top + math.log(total) - math.log(m)
    if t > burn_in:
        for i in range(m):
            history[i] += dn[i]
    _systematic(w, total, u[t - 1], idx)
    for j in range(m):
        src = idx[j]
        for k in range(n):
            spare[j, k] = psi[src, k]
        hist_spare[j] = history[src]
    for j in range(m):
        history[j] = hist_spare[j]
        carry.live[j] = True
    return True


@njit(cache=True)
def clone_banded(psi, col, outcomes, loss, beam, key, first, rec, carry, code, s, u, burn_in,
                 growth, history):  # fmt: skip
    r"""Run one population of clones for ``K = u.size`` collisions (banded driver).

    Parameters
    ----------
    psi : ndarray of complex128 or float64, shape (M, N)
        The clones' normalised states (float64 in the real gauge of the banded driver),
        C-contiguous; used as work space (its final content is unspecified).
    col, outcomes, loss, beam
        The driver's collision, outcomes, loss and beam, as for
        :func:`~trajectories.solvers.montecarlo.kernels.run_banded`.
    key : ndarray of uint64, shape (2,)
        The run's Philox key.
    first : int
        Trajectory index of clone 0 (clone ``i`` draws from trajectory ``first + i``'s
        streams, in stage ``t`` at collision ``t``).
    rec : Records
        Records without checkpoints or jump times (only ``n_jumps`` and ``alive`` are
        written).
    carry : Carry
        The carried records of M clones (all alive).
    code : int
        The count (:data:`COUNT_CODES`).
    s : float
        The counting field.
    u : ndarray of float64, shape (K,)
        One uniform draw in [0, 1) per collision, for the resampling.
    burn_in : int
        Collisions before the clones' ancestral counts start.
    growth : ndarray of float64, shape (K,)
        Filled with :math:`\ln(M^{-1}\sum_i w_i)` of each collision.
    history : ndarray of int64, shape (M,)
        Zeros; filled with each final clone's ancestral count since ``burn_in``.

    Returns
    -------
    int
        0, or the collision at which every clone had leaked (the loop stops there).
    """
    m = psi.shape[0]
    spare, hist_spare = np.empty_like(psi), np.empty_like(history)
    dn, w, idx = np.zeros(m, dtype=np.int64), np.empty(m), np.empty(m, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    for t in range(1, u.shape[0] + 1):
        _zero_counts(carry, rec.n_jumps)
        plan = PlanArrays(none, none, 0, t, t - 1, 1, 0)  # stage t: collision t
        run_banded(psi, col, outcomes, loss, beam, plan, key, first, rec, carry)
        if not _resample(t, psi, spare, history, hist_spare, carry, code, s, u, burn_in, growth,
                         dn, w, idx):  # fmt: skip
            return t
        psi, spare = spare, psi
    return 0


@njit(cache=True)
def clone_sparse(psi, col, outcomes, loss, beam, key, first, rec, carry, code, s, u, burn_in,
                 growth, history):  # fmt: skip
    """Run one population of clones with the sparse driver; as :func:`clone_banded`.

    Parameters
    ----------
    psi : ndarray of complex128, shape (M, N)
        The clones' normalised states (work space).
    col, outcomes, loss, beam
        As for :func:`~trajectories.solvers.montecarlo.kernels.run_sparse`.
    key, first, rec, carry, code, s, u, burn_in, growth, history
        As for :func:`clone_banded`.

    Returns
    -------
    int
        0, or the collision at which every clone had leaked.
    """
    m = psi.shape[0]
    spare, hist_spare = np.empty_like(psi), np.empty_like(history)
    dn, w, idx = np.zeros(m, dtype=np.int64), np.empty(m), np.empty(m, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    for t in range(1, u.shape[0] + 1):
        _zero_counts(carry, rec.n_jumps)
        plan = PlanArrays(none, none, 0, t, t - 1, 1, 0)  # stage t: collision t
        run_sparse(psi, col, outcomes, loss, beam, plan, key, first, rec, carry)
        if not _resample(t, psi, spare, history, hist_spare, carry, code, s, u, burn_in, growth,
                         dn, w, idx):  # fmt: skip
            return t
        psi, spare = spare, psi
    return 0
