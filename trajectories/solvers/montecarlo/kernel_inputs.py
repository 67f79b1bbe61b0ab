r"""What the compiled trajectory drivers read: the channels as a few named tuples of arrays.

:class:`KernelInputs` is built once per run from the collision sequence and the loss
channel (:meth:`KernelInputs.from_channels`); it picks the driver from the structure of the
collision, never from the model: the banded driver when every collision is the same channel
and its operators have the diagonals ``{0, +-1}``, the sparse driver otherwise (with one
Kraus set per distinct collision channel, ``step_set[k]`` the set of collision ``k``).

Real gauge. When diagonal phases ``g_n = w^n`` make every banded operator real up to one
overall phase each (:math:`G^\dagger K_j G`, ``G = diag(g)``: an off-diagonal from level
``n -/+ 1`` gets the factor ``w^{-/+1}``), the dynamics runs in float64: the loss channel is
diagonal in ``n`` (no-jump evolution) or a shift by one level (``a``, ``a^dag``: an overall
phase), so it stays real, and overall phases of a trajectory change no record. The
coherences ``rho_mn`` get back the factor ``g_m conj(g_n)``. For the Jaynes-Cummings
collision ``w = i e^{i arg c}`` (it cancels the ``-i`` of the off-diagonal blocks and the
phase of the qubit's coherence); :func:`real_gauge` finds it from the operators
(``docs/MODEL.md``, Sec. 3).

Shapes: K Kraus operators, N Fock levels, S distinct Kraus sets, D diagonal slots, C
checkpoints, M trajectories of a chunk, B qubit branches, R checkpoints keeping rho, J
``max_jumps``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from ...channels.beam_unravelling import ARRIVAL_CODES, SPREAD_CODES
from ...channels.collisions import CollisionSequence
from ...channels.kraus import qubit_branches
from ...channels.kraus_unravelling import KEEP_TOL, LEAK_KEEP_TOL, column_ranges
from ...channels.loss import LossChannel
from ...model.imperfections import Arrivals, ThetaSpread
from ...model.micromaser import Micromaser

__all__ = [
    "BandedCollision",
    "SparseCollisions",
    "Outcomes",
    "LossArrays",
    "BeamArrays",
    "PlanArrays",
    "Records",
    "Carry",
    "new_carry",
    "KernelInputs",
    "ideal_beam",
    "nominal_model",
    "real_gauge",
    "MAX_KRAUS_BYTES",
    "REAL_GAUGE_TOL",
]

#: Largest memory the per-collision Kraus sets of the sparse driver may take (bytes).
MAX_KRAUS_BYTES = 2 * 1024**3
#: Largest imaginary part, relative to the largest modulus, that the real gauge drops:
#: a few roundings of the phases (exactly 0 for real c, where the phases are powers of i).
REAL_GAUGE_TOL = 1e-14


class BandedCollision(NamedTuple):
    """A collision whose operators have the diagonals ``{0, s}``, ``s = +-1`` (banded driver).

    From :meth:`~trajectories.channels.kraus.KrausChannel.banded_arrays`.

    Attributes
    ----------
    kd : ndarray of complex128 (float64 in the real gauge), shape (K, N)
        Main diagonal of each operator.
    ko : ndarray of complex128 (float64 in the real gauge), shape (K, N)
        The shifted diagonal of each operator, by output row.
    ks : ndarray of int64, shape (K,)
        The shift: +1 (row ``m`` from ``m - 1``) or -1 (row ``m`` from ``m + 1``).
    leak_top : float
        Weight sent above the cutoff per unit population of level ``N - 1``.
    """

    kd: np.ndarray
    ko: np.ndarray
    ks: np.ndarray
    leak_top: float


class SparseCollisions(NamedTuple):
    """S Kraus sets stored by columns (sparse driver: operators of any shape).

    From the dense operators of each :class:`~trajectories.channels.kraus.KrausChannel`,
    with the rows kept per column and amplitude class
    (:func:`~trajectories.channels.kraus_unravelling.column_ranges`).

    Attributes
    ----------
    cols : ndarray of complex128, shape (S, K + 1, N, N)
        ``cols[s, j, n, m]``: the element ``(m, n)`` of operator ``j`` of set ``s``; ``j = K``
        is the leak form :math:`M_{leak}` (zero outside its block).
    rows : ndarray of int16, shape (S, K + 1, N, C, 2)
        Rows ``[lo, hi)`` kept in column ``n`` for a source level of amplitude class ``c``
        (tolerance :data:`~trajectories.channels.kraus_unravelling.KEEP_TOL` for the
        operators, :data:`~trajectories.channels.kraus_unravelling.LEAK_KEEP_TOL` for the
        leak form).
    step_set : ndarray of int64, shape (n_collisions + 1,)
        The set of collision ``k`` (entry 0 unused).
    """

    cols: np.ndarray
    rows: np.ndarray
    step_set: np.ndarray


class Outcomes(NamedTuple):
    """What a trajectory records for each Kraus operator.

    Attributes
    ----------
    branch : ndarray of int64, shape (K,)
        The qubit branch ``j`` the operator belongs to.
    is_g : ndarray of bool, shape (K,)
        Whether the qubit leaves in g (else in e).
    """

    branch: np.ndarray
    is_g: np.ndarray


class LossArrays(NamedTuple):
    """The loss interval, from :meth:`~trajectories.channels.loss.LossChannel.trajectory_arrays`.

    Attributes
    ----------
    gamma : float
        ``gamma t_r``: the decay rate in units of ``1/t_r`` (the model's ``gamma_tr``).
    nbar : float
        Thermal photon number of the bath.
    full_decay : ndarray of float64, shape (N,)
        ``exp(-Gamma_n t_r)``: the no-jump probability of level ``n`` over an interval.
    full_damp : ndarray of float64, shape (N,)
        ``exp(-Gamma_n t_r / 2)``: the no-jump amplitude factor.
    leak : ndarray of float64, shape (N,)
        Probability to leave through the cutoff during an interval, per unit population.
    """

    gamma: float
    nbar: float
    full_decay: np.ndarray
    full_damp: np.ndarray
    leak: np.ndarray


class BeamArrays(NamedTuple):
    r"""The qubit beam as the drivers read it: arrivals and theta spread (``docs/MODEL.md``,
    Sec. 9), from :meth:`KernelInputs.from_channels`.

    The ideal beam (``arrival = 0``, ``spread = 0``) draws nothing and the drivers take
    their unchanged path. Draws come from the beam stream
    (:data:`trajectories._streams.PUMP`), per collision ``x`` first, then ``T``
    (:mod:`trajectories.channels.beam_unravelling`).

    Attributes
    ----------
    arrival : int
        0 regular, 1 Poisson, 2 Bernoulli
        (:data:`~trajectories.channels.beam_unravelling.ARRIVAL_CODES`).
    p : float
        The Bernoulli slot probability (1 otherwise).
    spread : int
        0 none, 1 Gaussian, 2 uniform, 3 discrete
        (:data:`~trajectories.channels.beam_unravelling.SPREAD_CODES`).
    width : float
        Gaussian ``sigma`` or uniform half-width ``w`` (0 otherwise).
    theta : float
        The nominal collision strength; qubit ``i`` has ``theta x_i``.
    values : ndarray of float64, shape (V,)
        Discrete relative strengths (``[1.0]`` otherwise).
    cum : ndarray of float64, shape (V,)
        Their cumulative weights (``[1.0]`` otherwise).
    cos_table, sin_table : ndarray of float64, shape (V, N + 1)
        ``cos(theta x_v sqrt m)``, ``sin(theta x_v sqrt m)`` of each discrete value
        (one row of zeros otherwise).
    a, b : ndarray of complex128 (float64 in the real gauge), shape (K,)
        Each banded operator's coefficients of ``cos`` and ``sin``
        (:func:`~trajectories.channels.beam_unravelling.spread_operators`; zeros for the
        sparse driver).
    leak_q : float
        ``1 - q``: the leak of a collision is ``(1 - q) sin^2(theta_i sqrt N)`` per unit
        population of level ``N - 1``.
    """

    arrival: int
    p: float
    spread: int
    width: float
    theta: float
    values: np.ndarray
    cum: np.ndarray
    cos_table: np.ndarray
    sin_table: np.ndarray
    a: np.ndarray
    b: np.ndarray
    leak_q: float


class PlanArrays(NamedTuple):
    """What a run records, as the drivers read it
    (:attr:`~trajectories.solvers.montecarlo.chunks.Plan.arrays`).

    Attributes
    ----------
    checkpoints : ndarray of int64, shape (C,)
        Collision counts at which to record, strictly increasing.
    rho_slot : ndarray of int64, shape (C,)
        Index into ``rho_sum`` of each checkpoint (-1: rho not kept).
    max_jumps : int
        Jump times recorded per trajectory (J).
    stage : int
        The protocol stage (the second word of the random streams' counters; 0 for a
        single model).
    first_k : int
        Global number of the collision before the stage's first one (``checkpoints`` and
        collisions count from it).
    n_steps : int
        Collisions to run in the stage.
    c0 : int
        Record column of the stage's first checkpoint.
    """

    checkpoints: np.ndarray
    rho_slot: np.ndarray
    max_jumps: int
    stage: int = 0
    first_k: int = 0
    n_steps: int = 0
    c0: int = 0


class Records(NamedTuple):
    r"""The record arrays one chunk fills in place (made by
    :func:`~trajectories.solvers.montecarlo.chunks.chunk_records`).

    The fields are those of :class:`~trajectories.solvers.montecarlo.chunks.ChunkResult`,
    with the same shapes, except ``rho_sum`` (upper triangles only, shape
    ``(max(R, 1), N, N)``, float64 in the real gauge).

    Attributes
    ----------
    n_mean, n2_mean : ndarray of float64, shape (M, C)
        :math:`\langle n\rangle_i`, :math:`\langle n^2\rangle_i` at each checkpoint.
    qubit_g, qubit_e : ndarray of int32, shape (M, C, B)
        Cumulative qubits leaving in g, in e, per branch.
    emissions, absorptions : ndarray of int32, shape (M, C)
        Cumulative jumps into and from the bath.
    alive : ndarray of bool, shape (M,)
        False for a trajectory that leaked.
    leak_expected : ndarray of float64, shape (C,)
        Sum over trajectories of the expected leaked population.
    rho_sum : ndarray, shape (max(R, 1), N, N)
        Upper triangles of the sums of :math:`|\psi\rangle\langle\psi|`.
    jump_times : ndarray of float64, shape (M, J)
        Jump times in units of ``t_r`` (NaN: none).
    jump_kinds : ndarray of int8, shape (M, J)
        +1 absorption, -1 emission.
    n_jumps : ndarray of int64, shape (M,)
        All jumps, also beyond J.
    fock : ndarray of int32, shape (M, C)
        One sampled photon number (-1 after a leak).
    collision_energy : ndarray of float64, shape (M, C)
        Energy the collisions brought in since collision 0 (the running sum of ``<n>``
        after minus ``<n>`` before each collision).
    theta : ndarray of float32, shape (M, K) or (M, 0)
        Each qubit's relative strength ``x`` (``theta_i = theta x``), per trajectory and
        collision ``1 .. K``, when recorded (``record_theta``); ``(M, 0)`` otherwise.
    """

    n_mean: np.ndarray
    n2_mean: np.ndarray
    qubit_g: np.ndarray
    qubit_e: np.ndarray
    emissions: np.ndarray
    absorptions: np.ndarray
    alive: np.ndarray
    leak_expected: np.ndarray
    rho_sum: np.ndarray
    jump_times: np.ndarray
    jump_kinds: np.ndarray
    n_jumps: np.ndarray
    fock: np.ndarray
    collision_energy: np.ndarray
    theta: np.ndarray = np.zeros((0, 0), dtype=np.float32)


class Carry(NamedTuple):
    """What a trajectory hands on from one protocol stage to the next (in place).

    Attributes
    ----------
    cg, ce : ndarray of int64, shape (M, B)
        Qubits that left in g, in e, per branch, so far.
    n_em, n_ab : ndarray of int64, shape (M,)
        Emissions into and absorptions from the bath so far.
    leak : ndarray of float64, shape (M,)
        Expected population lost through the cutoff so far.
    clock : ndarray of float64, shape (M,)
        Real time at the start of the next loss interval (random arrivals), units of ``t_r``.
    energy : ndarray of float64, shape (M,)
        Energy the collisions brought in so far.
    live : ndarray of bool, shape (M,)
        False once the trajectory leaked (until a stage replaces its state).
    """

    cg: np.ndarray
    ce: np.ndarray
    n_em: np.ndarray
    n_ab: np.ndarray
    leak: np.ndarray
    clock: np.ndarray
    energy: np.ndarray
    live: np.ndarray


def new_carry(m: int, n_branches: int) -> Carry:
    """The carried records of ``m`` trajectories before their first collision.

    Parameters
    ----------
    m : int
        Trajectories (M).
    n_branches : int
        Qubit branches (B).

    Returns
    -------
    Carry
        Zero counts, leak, clock and energy; every trajectory alive.
    """
    return Carry(
        np.zeros((m, n_branches), dtype=np.int64), np.zeros((m, n_branches), dtype=np.int64),
        np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64), np.zeros(m), np.zeros(m),
        np.zeros(m), np.ones(m, dtype=np.bool_),
    )  # fmt: skip


def real_gauge(kd: np.ndarray, ko: np.ndarray, ks: np.ndarray) -> np.ndarray | None:
    """Phases ``g_n = w^n`` that make the banded operators real (module docstring).

    ``w`` is read off the first operator that has both diagonals (``w = i`` when none has:
    then any ``w`` works, and ``i`` cancels the ``-i`` of the Jaynes-Cummings off-diagonal
    blocks); the phases are exact powers of ``i`` when ``w`` is one of them to 1e-12.

    Parameters
    ----------
    kd, ko : ndarray of complex128, shape (K, N)
        Main and shifted diagonals of the operators (:class:`BandedCollision`).
    ks : ndarray of int64, shape (K,)
        Shifts, +1 or -1.

    Returns
    -------
    ndarray of complex128, shape (N,) or None
        The phases ``g_n``, or None when no such gauge makes every operator real (to
        :data:`REAL_GAUGE_TOL`).

    Examples
    --------
    >>> from trajectories import Micromaser, collision_channel
    >>> ch = collision_channel(Micromaser(theta=0.8, q=0.25, c=1.0, cutoff=4))
    >>> real_gauge(*ch.banded_arrays()[:3])
    array([ 1.+0.j,  0.+1.j, -1.+0.j, -0.-1.j])
    """
    n = kd.shape[1]
    w = 1j
    for j, s in enumerate(ks):
        d, o = kd[j], ko[j]
        md, mo = int(np.argmax(np.abs(d))), int(np.argmax(np.abs(o)))
        if d[md] != 0 and o[mo] != 0:
            ratio = (o[mo] / abs(o[mo])) / (d[md] / abs(d[md]))
            w = ratio if s == 1 else np.conj(ratio)
            break
    quarter = np.angle(w) / (np.pi / 2)
    if abs(quarter - round(quarter)) < 1e-12:
        g = np.array([1.0, 1.0j, -1.0, -1.0j])[(round(quarter) * np.arange(n)) % 4]
    else:
        g = np.exp(1j * np.angle(w) * np.arange(n))
    return g if _real_kraus(kd, ko, ks, g) is not None else None


def _real_rows(rows: np.ndarray) -> np.ndarray | None:
    """Each row times the phase that makes its largest entry real and positive, as real
    numbers; None if any row keeps an imaginary part above :data:`REAL_GAUGE_TOL`."""
    rows = np.atleast_2d(rows)
    big = np.argmax(np.abs(rows), axis=1)
    top = rows[np.arange(rows.shape[0]), big]
    phase = np.where(top != 0, np.conj(top) / np.where(top != 0, np.abs(top), 1.0), 1.0)
    turned = rows * phase[:, None]
    scale = np.abs(top)
    if np.any(np.abs(turned.imag) > REAL_GAUGE_TOL * scale[:, None]):
        return None
    return np.ascontiguousarray(turned.real)


def _real_kraus(
    kd: np.ndarray, ko: np.ndarray, ks: np.ndarray, gauge: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The banded operators in the gauge ``gauge`` as real arrays (one overall phase per
    operator dropped), or None if they are not real there."""
    g = gauge
    ko_g = np.empty_like(ko)
    for j, s in enumerate(ks):
        if s == 1:  # row m from column m - 1
            ko_g[j, 1:] = g[1:].conj() * ko[j, 1:] * g[:-1]
            ko_g[j, 0] = ko[j, 0]
        else:  # row m from column m + 1
            ko_g[j, :-1] = g[:-1].conj() * ko[j, :-1] * g[1:]
            ko_g[j, -1] = ko[j, -1]
    both = _real_rows(np.concatenate([kd, ko_g], axis=1))
    if both is None:
        return None
    n = kd.shape[1]
    return np.ascontiguousarray(both[:, :n]), np.ascontiguousarray(both[:, n:])


@dataclasses.dataclass(frozen=True)
class KernelInputs:
    """The channels of a run as the drivers read them.

    Parameters
    ----------
    driver : {"banded", "sparse"}
        Which compiled driver runs the trajectories.
    collision : BandedCollision or SparseCollisions
        The collision(s), matching ``driver``.
    outcomes : Outcomes
        Branch and outcome of each Kraus operator.
    n_branches : int
        Qubit branches B (1 for a pure qubit, else 2).
    loss : LossArrays
        The loss interval.
    gauge : ndarray of complex128, shape (N,) or None, optional
        The real gauge's phases ``g_n`` (None when there is none, or for the sparse driver).
    real_collision : BandedCollision or None, optional
        The banded operators in the real gauge, as float64 (None with ``gauge``).
    beam : BeamArrays or None, optional
        The qubit beam (None: the ideal beam, :func:`ideal_beam`).
    real_beam : BeamArrays or None, optional
        The beam with its operator coefficients in the real gauge (None without a gauge, or
        when a spread's coefficients are not real there).
    """

    driver: str
    collision: BandedCollision | SparseCollisions
    outcomes: Outcomes
    n_branches: int
    loss: LossArrays
    gauge: np.ndarray | None = None
    real_collision: BandedCollision | None = None
    beam: BeamArrays | None = None
    real_beam: BeamArrays | None = None

    @property
    def beam_arrays(self) -> BeamArrays:
        """The beam for the complex path (the ideal beam when none was given)."""
        return self.beam if self.beam is not None else ideal_beam(self.outcomes.branch.size)

    @classmethod
    def from_channels(
        cls,
        collisions: CollisionSequence,
        loss: LossChannel,
        n_collisions: int,
        model: Micromaser | None = None,
    ) -> KernelInputs:
        """Arrays for collisions ``1 .. n_collisions`` and the loss; picks the driver.

        Parameters
        ----------
        collisions : CollisionSequence
            The collision channels at the nominal theta
            (``channels.collisions.collision_sequence`` of the model without its beam
            imperfections, :func:`nominal_model`).
        loss : LossChannel
            The model's loss channel (its ``leak_vector`` the exact expected leak of one
            interval, averaged over random arrivals).
        n_collisions : int
            The last collision a trajectory runs (sizes ``step_set`` of the sparse driver).
        model : Micromaser, optional
            The model, for its beam (arrivals and theta spread); default ``loss.model``.

        Returns
        -------
        KernelInputs
            ``"banded"`` when every collision is the same channel with the diagonals
            ``{0, +-1}``, else ``"sparse"`` with one Kraus set per distinct channel.

        Raises
        ------
        ValueError
            When the sparse Kraus sets would exceed :data:`MAX_KRAUS_BYTES`.
        """
        model = loss.model if model is None else model
        first = collisions.at(1)
        branch, is_g = first.labels()
        outcomes = Outcomes(branch, is_g)
        loss_arrays = LossArrays(*loss.trajectory_arrays())
        if collisions.period == 1 and first.two_diagonal:
            kd, ko, ks, leak_top = first.banded_arrays()
            col = BandedCollision(kd, ko, ks, leak_top)
            gauge = real_gauge(kd, ko, ks)
            real = None
            if gauge is not None:
                rkd, rko = _real_kraus(kd, ko, ks, gauge)
                real = BandedCollision(rkd, rko, ks, leak_top)
            beam, real_beam = _banded_beam(model, ks, gauge)
            return cls(
                "banded", col, outcomes, first.n_branches, loss_arrays, gauge, real, beam,
                real_beam,
            )  # fmt: skip
        if not model.arrivals.is_regular:  # the model refuses it; guard the kernels anyway
            raise ValueError("arrivals must be regular with the sparse (Rabi) driver")
        beam = ideal_beam(branch.size)
        if model.theta_spread.is_none:
            sets = _sparse_sets(collisions, n_collisions)
        else:
            sets, beam = _sparse_spread_sets(model, n_collisions, branch.size)
        return cls("sparse", sets, outcomes, first.n_branches, loss_arrays, beam=beam)

    @property
    def beam_is_ideal(self) -> bool:
        """True for regular arrivals and no theta spread (the drivers draw nothing more)."""
        b = self.beam_arrays
        return b.arrival == 0 and b.spread == 0

    def real_initial(self, vectors: np.ndarray) -> np.ndarray | None:
        """Initial vectors in the real gauge as real arrays, or None.

        Parameters
        ----------
        vectors : ndarray of complex128, shape (K, N)
            Initial pure states, one per row.

        Returns
        -------
        ndarray of float64, shape (K, N) or None
            ``vectors * conj(gauge)``, each row times an overall phase that makes it real;
            None without a gauge or when a row is not real in it.
        """
        if self.gauge is None:
            return None
        return _real_rows(vectors * self.gauge.conj())


def nominal_model(model: Micromaser) -> Micromaser:
    """The model with the ideal beam: its collisions are those at the nominal theta.

    Parameters
    ----------
    model : Micromaser
        Any model.

    Returns
    -------
    Micromaser
        ``model`` itself when its beam is ideal, else a copy with regular arrivals and no
        theta spread (the trajectories draw those per qubit).
    """
    if model.is_ideal_beam:
        return model
    return dataclasses.replace(model, arrivals=Arrivals.regular(), theta_spread=ThetaSpread.none())


def ideal_beam(n_ops: int, dtype: type = np.complex128) -> BeamArrays:
    """The ideal beam's arrays: regular arrivals, no spread (nothing is drawn).

    Parameters
    ----------
    n_ops : int
        Kraus operators per collision (K).
    dtype : type, optional
        Of the (zero) operator coefficients: complex128, or float64 for the real gauge.

    Returns
    -------
    BeamArrays
        Codes 0, dummy tables, zero coefficients.
    """
    one = np.ones(1)
    zeros = np.zeros((1, 1))
    z = np.zeros(n_ops, dtype=dtype)
    return BeamArrays(0, 1.0, 0, 0.0, 0.0, one, one, zeros, zeros, z, z, 0.0)


def _beam_common(model: Micromaser, n: int) -> tuple:
    """Codes, width, discrete values, cumulative weights and cos/sin tables of the beam."""
    arr, spread = model.arrivals, model.theta_spread
    values, cum = np.ones(1), np.ones(1)
    cos_t, sin_t = np.zeros((1, n + 1)), np.zeros((1, n + 1))
    if spread.kind == "discrete":
        values = np.asarray(spread.values, dtype=np.float64)
        cum = np.cumsum(np.asarray(spread.weights, dtype=np.float64))
        phase = model.theta * values[:, None] * np.sqrt(np.arange(n + 1.0))[None, :]
        cos_t, sin_t = np.cos(phase), np.sin(phase)
    return (
        ARRIVAL_CODES[arr.kind], float(arr.p), SPREAD_CODES[spread.kind], float(spread.width),
        float(model.theta), values, cum, cos_t, sin_t,
    )  # fmt: skip


def _banded_beam(
    model: Micromaser, ks: np.ndarray, gauge: np.ndarray | None
) -> tuple[BeamArrays, BeamArrays | None]:
    """The beam of a banded (Jaynes-Cummings) model, complex and in the real gauge.

    The coefficients ``a_j``, ``b_j`` of :func:`~trajectories.channels.beam_unravelling.
    spread_operators` come from the qubit's branches, in the order of
    :func:`~trajectories.channels.jaynes_cummings.jaynes_cummings_channel`; in the gauge
    ``g_n = w^n`` the shifted diagonal gets ``w`` (shift -1) or ``conj(w)`` (shift +1), then
    each operator loses one overall phase.
    """
    n = model.cutoff
    common = _beam_common(model, n)
    a, b = [], []
    for lam, alpha, beta in qubit_branches(model):
        r = math.sqrt(lam)
        a += [r * alpha, r * beta]  # (j, e), (j, g)
        b += [-1j * r * beta, -1j * r * alpha]
    a = np.asarray(a, dtype=np.complex128)
    b = np.asarray(b, dtype=np.complex128)
    if a.size != ks.size:  # pragma: no cover - the channel and the branches disagree
        raise ValueError("the beam's operators do not match the collision's")
    leak_q = 1.0 - model.q
    beam = BeamArrays(*common, a, b, leak_q)
    if gauge is None:
        return beam, None
    w = gauge[1] / gauge[0] if n > 1 else 1j
    bg = b * np.where(ks == -1, w, np.conj(w))
    ab = _real_rows(np.stack([a, bg], axis=1))
    if ab is None:  # the spread needs the complex path; the ideal beam uses no coefficient
        return beam, None
    return beam, BeamArrays(
        *common, np.ascontiguousarray(ab[:, 0]), np.ascontiguousarray(ab[:, 1]), leak_q
    )


def _sparse_spread_sets(
    model: Micromaser, n_collisions: int, n_ops: int
) -> tuple[SparseCollisions, BeamArrays]:
    """Kraus sets of a Rabi model with a discrete theta spread: one per (set, value).

    Set ``s`` of value ``v`` is stored at ``s V + v``; the sparse driver draws ``v`` per
    qubit from the beam stream.
    """
    from ...channels.collisions import collision_sequence

    spread = model.theta_spread
    base = nominal_model(model)
    per_value = [
        _sparse_sets(collision_sequence(dataclasses.replace(base, theta=model.theta * x)),
                     n_collisions)
        for x in spread.values
    ]  # fmt: skip
    n_values = len(per_value)
    if any(sv.cols.shape != per_value[0].cols.shape for sv in per_value):  # pragma: no cover
        raise ValueError("theta_spread: the Rabi collisions of the values do not repeat alike")
    n = model.cutoff
    n_sets = per_value[0].cols.shape[0]
    total = n_sets * n_values
    need = total * (n_ops + 1) * n * n * 16
    if need > MAX_KRAUS_BYTES:
        raise ValueError(
            f"theta_spread: a Rabi collision with {n_values} discrete values needs {total} "
            f"Kraus sets, {need / 1024**3:.1f} GiB, above the limit of "
            f"{MAX_KRAUS_BYTES / 1024**3:.0f} GiB"
        )
    cols = np.zeros((total, *per_value[0].cols.shape[1:]), dtype=np.complex128)
    rows = np.zeros((total, *per_value[0].rows.shape[1:]), dtype=per_value[0].rows.dtype)
    for v, sv in enumerate(per_value):
        idx = np.arange(n_sets) * n_values + v
        cols[idx] = sv.cols
        rows[idx] = sv.rows
    sets = SparseCollisions(cols, rows, per_value[0].step_set)
    z = np.zeros(n_ops, dtype=np.complex128)
    beam = BeamArrays(*_beam_common(model, n), z, z, 1.0 - model.q)
    return sets, beam


def _sparse_sets(collisions: CollisionSequence, n_collisions: int) -> SparseCollisions:
    """One Kraus set per distinct channel of collisions ``1 .. n_collisions``."""
    first = collisions.at(1)
    n = first.n
    period = collisions.period
    n_sets = period if period is not None else max(n_collisions, 1)
    n_sets = min(n_sets, max(n_collisions, 1))
    n_ops = len(first.kraus)
    need = n_sets * (n_ops + 1) * n * n * 16
    if need > MAX_KRAUS_BYTES:
        raise ValueError(
            f"the collision channels do not repeat (period {period}): trajectories need "
            f"{n_sets} Kraus sets, {need / 1024**3:.1f} GiB, above the limit of "
            f"{MAX_KRAUS_BYTES / 1024**3:.0f} GiB; choose an omega_tr with a short period "
            "(e.g. a multiple of pi) or use solve_exact, which builds them one at a time"
        )
    cols = np.zeros((n_sets, n_ops + 1, n, n), dtype=np.complex128)
    rows = None
    for s in range(n_sets):
        ch = collisions.at(s + 1)
        dense = [k.csr().toarray() for k in ch.kraus]
        leak = np.zeros((n, n), dtype=np.complex128)
        leak[ch.leak_start :, ch.leak_start :] = ch.leak_block
        for j, a in enumerate(dense):
            cols[s, j] = a.T
        cols[s, n_ops] = leak.T
        ranges = [column_ranges(a, KEEP_TOL) for a in dense] + [column_ranges(leak, LEAK_KEEP_TOL)]
        if rows is None:
            rows = np.zeros((n_sets, n_ops + 1, *ranges[0].shape), dtype=ranges[0].dtype)
        rows[s] = np.stack(ranges)
    step_set = np.zeros(n_collisions + 1, dtype=np.int64)
    for k in range(1, n_collisions + 1):
        step_set[k] = collisions.set_index(k) % n_sets
    return SparseCollisions(cols, rows, step_set)
