r"""The cloning (population dynamics) estimator of the scaled cumulant generating function.

For a count :math:`N_K` over K collisions (qubits leaving in g or e, bath emissions,
absorptions, or their net), :math:`\theta(s) = \lim_K K^{-1} \ln E[e^{-s N_K}]` per
collision (``docs/MODEL.md``, Sec. 10; the exact value is the log of the leading eigenvalue
of the tilted channel, :func:`trajectories.solvers.counting.scgf.scgf`). Cloning estimates it
from trajectories alone (Giardina, Kurchan and Peliti, Phys. Rev. Lett. 96, 120603 (2006)):

1. A population of M clones (normalised state vectors) runs one collision and one loss
   interval each, with the trajectory engine's own unravelling (the compiled drivers of
   :mod:`trajectories.solvers.montecarlo.kernels`, ``docs/MODEL.md``, Sec. 3), and records
   the count's increment :math:`\Delta n_i` of each clone.
2. Clone ``i`` gets the weight :math:`w_i = e^{-s \Delta n_i}` (0 for a clone that leaked
   through the cutoff, as the exact trace drops it); the population grows by the factor
   :math:`\bar w_t = M^{-1}\sum_i w_i`.
3. The population is resampled in proportion to the weights (systematic resampling): M
   clones again, copies of the heavy ones, the light ones dropped.

After a burn-in, :math:`\hat\theta = (K - K_0)^{-1} \sum_{t > K_0} \ln \bar w_t`. Its bias
falls like 1/M; independent populations (different random streams) give the error bar, and
running two population sizes shows the bias. Each clone also carries the count of its
ancestry since the burn-in (copied with it when it is cloned): at the end, the population's
mean of that count per collision is the count's rate in the tilted ensemble of trajectories,
:math:`-\theta'(s)`, up to end effects of order (correlation time)/(K - K_0). (The weighted
mean increment of one collision, :math:`\sum_i w_i \Delta n_i / \sum_i w_i`, is not: it
samples the tilted state at the final time, not along the trajectories.)

Randomness: clone ``i`` of population ``p`` at collision ``t`` draws from the trajectory
streams of trajectory ``p M + i`` in stage ``t`` (:mod:`trajectories._streams`; counter
``(0, t, p M + i, stream)``), its initial state from stage 0; the resampling of population
``p`` (one uniform per collision) from ``numpy.random.Generator(Philox(SeedSequence(seed,
spawn_key=(CLONING_SPAWN_KEY, p))))``. A population is therefore fixed by the seed and its
index, whatever ``n_jobs``. The loop over collisions runs in compiled code
(:mod:`trajectories.solvers.montecarlo.cloning_kernel`); populations are the parallel tasks.

Shapes: M clones, N Fock levels, B qubit branches, P populations, K collisions.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
from joblib import delayed

from ..._streams import INITIAL, first_uniforms, stream_key
from ..._threads import single_threaded_blas
from ...channels.collisions import collision_sequence
from ...channels.kraus import definite_incoming_states
from ...channels.loss import LossChannel
from ...channels.tilted import COUNTS
from ...model.micromaser import Micromaser
from ...model.states import as_density_matrix
from ...validation import integer_at_least, real_in_range
from .chunks import InitialStates
from .kernel_inputs import KernelInputs, Records, ideal_beam, new_carry, nominal_model
from .options import _seed_entropy
from .parallel import check_backend, map_chunks

__all__ = [
    "CLONING_SPAWN_KEY",
    "CloningResult",
    "DEFAULT_POPULATIONS",
    "MIN_CLONES",
    "cloning",
]

#: First word of the ``spawn_key`` of the resampling draws: ``SeedSequence(seed,
#: spawn_key=(CLONING_SPAWN_KEY, p))`` for population ``p``, so they never share bits with
#: the trajectories' own streams (the seed's entropy without a spawn key).
CLONING_SPAWN_KEY = 0x636C6F  # "clo"
#: Independent populations run by default (the error bar is their standard error).
DEFAULT_POPULATIONS = 10
#: Fewest clones in a population: resampling one clone would not select anything.
MIN_CLONES = 2
#: Fewest populations: one population gives no error bar.
MIN_POPULATIONS = 2
#: Fraction of the collisions left out as burn-in by default.
DEFAULT_BURN_IN_FRACTION = 0.25


@dataclasses.dataclass(frozen=True, repr=False)
class CloningResult:
    r"""The cloning estimate of :math:`\theta(s)` per collision, with its error bar.

    Attributes
    ----------
    count : str
        The counted event.
    s : float
        The counting field (each event weighs ``exp(-s)``).
    scgf : float
        :math:`\hat\theta(s)` per collision (dimensionless): the mean of ``populations``.
    stderr : float
        Its standard error from the independent populations (``std(ddof=1) / sqrt(P)``).
    populations : ndarray of float64, shape (P,)
        Each population's estimate: the mean over collisions ``burn_in + 1 .. n_collisions``
        of ``log_growth``.
    rate : float
        The count's mean rate per collision in the tilted ensemble, an estimate of
        :math:`-\theta'(s)` (counts per collision): the final clones' ancestral count since
        the burn-in over ``n_collisions - burn_in``.
    rate_stderr : float
        Its standard error from the populations.
    log_growth : ndarray of float64, shape (P, K)
        :math:`\ln \bar w_t` of each population at each collision ``t = 1 .. K``.
    n_clones : int
        Clones per population (M).
    n_collisions : int
        Collisions run (K), the burn-in included.
    burn_in : int
        Collisions left out of the estimate.
    seed : int
        Entropy of the root seed (replays the run).
    seconds : float
        Wall-clock time of the run.
    """

    count: str
    s: float
    scgf: float
    stderr: float
    populations: np.ndarray
    rate: float
    rate_stderr: float
    log_growth: np.ndarray
    n_clones: int
    n_collisions: int
    burn_in: int
    seed: int
    seconds: float

    @property
    def n_populations(self) -> int:
        """Independent populations run (P)."""
        return int(self.populations.size)

    def __repr__(self) -> str:
        return (
            f"CloningResult(count={self.count!r}, s={self.s:g}: theta = {self.scgf:.8g} "
            f"+/- {self.stderr:.2g}, rate = {self.rate:.8g} +/- {self.rate_stderr:.2g}; "
            f"{self.n_populations} populations x {self.n_clones} clones, {self.n_collisions} "
            f"collisions (burn-in {self.burn_in}), seed={self.seed}, {self.seconds:.3g} s)"
        )


@dataclasses.dataclass(frozen=True)
class _Setup:
    """What every population needs (sent once to each worker)."""

    inputs: KernelInputs
    initial: InitialStates
    key: np.ndarray
    entropy: int
    count: str
    s: float
    n_clones: int
    n_collisions: int
    code: int


def cloning(
    model: Micromaser,
    s: float,
    count: str,
    *,
    n_clones: int,
    n_collisions: int,
    seed: int | np.random.SeedSequence | None,
    n_populations: int = DEFAULT_POPULATIONS,
    burn_in: int | None = None,
    initial_state: np.ndarray | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
) -> CloningResult:
    r""":math:`\theta(s)` of a count per collision, by cloning trajectories.

    Estimates :math:`\theta(s) = \lim_K K^{-1} \ln E[e^{-s N_K}]` with the population
    dynamics of the module docstring: each collision, every clone runs one collision and one
    loss interval of the trajectory engine, weighs :math:`e^{-s \Delta n}`, and the
    population is resampled by the weights; :math:`\hat\theta` is the mean of
    :math:`\ln \bar w_t` after the burn-in.

    Parameters
    ----------
    model : Micromaser
        Any model the trajectories run (Jaynes-Cummings or Rabi, random arrivals, theta
        spread, loss).
    s : float
        Counting field, finite; each event weighs ``exp(-s)``.
    count : {"g", "e", "emission", "absorption", "net", "changed"}
        The counted event: qubits leaving in g / e, bath emissions / absorptions,
        ``absorptions - emissions``, or qubits that left in the other state than they came
        in (qubits arriving in ``|e>`` or ``|g>``).
    n_clones : int
        Clones per population (M >= 2); the bias falls like ``1/M``.
    n_collisions : int
        Collisions run (K >= 1), the burn-in included.
    seed : int, SeedSequence or None
        Root seed (None draws fresh entropy, stored in the result).
    n_populations : int, optional
        Independent populations (P >= 2), for the error bar (default 10).
    burn_in : int, optional
        Collisions left out of the estimate, ``0 <= burn_in < n_collisions`` (default a
        quarter of ``n_collisions``).
    initial_state : array, optional
        Vector or density matrix every population starts from (default the vacuum).
    n_jobs : int, optional
        joblib workers over the populations (default 1; -1: all cores). Results do not
        depend on it.
    backend : str, optional
        joblib backend (default ``"loky"``).

    Returns
    -------
    CloningResult
        ``scgf`` and ``stderr`` (per collision), the per-population estimates, the tilted
        rate and the log growth of every collision.

    Raises
    ------
    ValueError
        Before any work, for a non-finite ``s``, an unknown ``count``, ``n_clones < 2``,
        ``n_populations < 2``, ``n_collisions < 1``, a ``burn_in`` outside
        ``[0, n_collisions)`` or ``n_jobs = 0``; during the run if every clone of a
        population leaked through the cutoff.

    Examples
    --------
    Qubits that never interact, lossless: each leaves in g with probability q, so
    :math:`\theta(s) = \ln(q e^{-s} + 1 - q)`:

    >>> import math, trajectories as tj
    >>> m = tj.Micromaser(theta=0.0, q=0.3, cutoff=4)
    >>> out = cloning(m, 0.5, "g", n_clones=200, n_collisions=50, seed=1)
    >>> abs(out.scgf - math.log(0.3 * math.exp(-0.5) + 0.7)) < 5 * out.stderr
    True
    """
    if (
        isinstance(n_jobs, (bool, np.bool_))
        or not isinstance(n_jobs, (int, np.integer))
        or (n_jobs == 0)
    ):
        raise ValueError(f"n_jobs must be a non-zero integer (-1: all cores), got {n_jobs!r}")
    n_jobs = int(n_jobs)
    check_backend(backend, n_jobs)
    setup, n_populations, burn_in = _prepare(
        model, s, count, n_clones, n_collisions, seed, n_populations, burn_in, initial_state
    )
    t0 = time.perf_counter()
    growth = np.empty((n_populations, setup.n_collisions))
    per_rate = np.empty(n_populations)
    tasks = (delayed(_run_population)(setup, p, burn_in) for p in range(n_populations))
    with map_chunks(tasks, n_jobs, backend) as results:
        for p, g, r in results:
            growth[p], per_rate[p] = g, r
    per_pop = growth[:, burn_in:].mean(axis=1)
    root_p = math.sqrt(n_populations)
    return CloningResult(
        count=setup.count,
        s=setup.s,
        scgf=float(per_pop.mean()),
        stderr=float(per_pop.std(ddof=1) / root_p),
        populations=per_pop,
        rate=float(per_rate.mean()),
        rate_stderr=float(per_rate.std(ddof=1) / root_p),
        log_growth=growth,
        n_clones=setup.n_clones,
        n_collisions=setup.n_collisions,
        burn_in=burn_in,
        seed=setup.entropy,
        seconds=time.perf_counter() - t0,
    )


def _count_code(model: Micromaser, count: str) -> int:
    """The code the compiled loop reads for ``count`` (one-line ValueError if undefined).

    Parameters
    ----------
    model : Micromaser
        The model (its incoming qubit branches, for ``"changed"``).
    count : str
        One of :data:`~trajectories.channels.tilted.COUNTS`.

    Returns
    -------
    int
        the kernel's ``COUNT_CODES`` of ``count``; for ``"changed"``, ``8 + mask`` with bit
        ``j`` set when branch ``j`` arrives in ``|e>``.

    Raises
    ------
    ValueError
        An unknown count, or ``"changed"`` for qubits that arrive in a superposition.
    """
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    codes = {"g": 0, "e": 1, "emission": 2, "absorption": 3, "net": 4}  # the kernel's
    if count != "changed":
        return codes[count]
    incoming = definite_incoming_states(model)
    return 8 + sum(1 << j for j, i in enumerate(incoming) if i == "e")


def _prepare(
    model: Micromaser,
    s: float,
    count: str,
    n_clones: int,
    n_collisions: int,
    seed: object,
    n_populations: int,
    burn_in: int | None,
    initial_state: np.ndarray | None,
) -> tuple[_Setup, int, int]:
    """Validate every argument (one-line ValueErrors) and build the kernels' inputs."""
    if not isinstance(model, Micromaser):
        raise ValueError(f"model must be a Micromaser, got {type(model).__name__}")
    s = real_in_range("s", s)
    code = _count_code(model, count)
    n_clones = integer_at_least("n_clones", n_clones, MIN_CLONES)
    n_collisions = integer_at_least("n_collisions", n_collisions, 1)
    n_populations = integer_at_least("n_populations", n_populations, MIN_POPULATIONS)
    if burn_in is None:
        burn_in = int(n_collisions * DEFAULT_BURN_IN_FRACTION)
    burn_in = integer_at_least("burn_in", burn_in, 0)
    if burn_in >= n_collisions:
        raise ValueError(
            f"burn_in must be an integer in [0, n_collisions - 1] = [0, {n_collisions - 1}], "
            f"got {burn_in}"
        )
    entropy = _seed_entropy(seed)
    rho0 = as_density_matrix(initial_state, model.cutoff)
    with single_threaded_blas():
        inputs = KernelInputs.from_channels(
            collision_sequence(nominal_model(model)), LossChannel(model), n_collisions, model
        )  # the beam is drawn per qubit
        initial = InitialStates.from_density_matrix(rho0)
    setup = _Setup(
        inputs, initial, stream_key(entropy), entropy, count, s, n_clones, n_collisions, code
    )
    return setup, n_populations, burn_in


def _run_population(setup: _Setup, p: int, burn_in: int) -> tuple[int, np.ndarray, float]:
    """Run population ``p`` (compiled loop of :mod:`.cloning_kernel`).

    Returns
    -------
    tuple
        ``(p, log_growth, rate)``: ``log_growth`` of shape (K,), ``rate`` the final clones'
        mean ancestral count per collision since ``burn_in``.
    """
    from .cloning_kernel import clone_banded, clone_sparse  # compiled on first use

    ins, m, n_k = setup.inputs, setup.n_clones, setup.n_collisions
    first = p * m  # the population's clones are trajectories p M .. p M + M - 1
    u = (
        first_uniforms(setup.key, first, m, INITIAL)
        if setup.initial.weights.size > 1
        else np.zeros(m)
    )
    psi = np.ascontiguousarray(setup.initial.sample(u), dtype=np.complex128)
    n = psi.shape[1]
    col, beam, dtype = ins.collision, ins.beam_arrays, np.complex128
    real = ins.real_initial(psi)
    if real is not None and (beam.spread == 0 or ins.real_beam is not None):
        # the same dynamics in the real gauge, in float64 (the states never leave it)
        col, dtype, psi = ins.real_collision, np.float64, real
        beam = ins.real_beam if ins.real_beam is not None else ideal_beam(beam.a.size, np.float64)
    psi = np.ascontiguousarray(psi, dtype=dtype)
    rng = np.random.Generator(
        np.random.Philox(np.random.SeedSequence(setup.entropy, spawn_key=(CLONING_SPAWN_KEY, p)))
    )
    draws = rng.random(n_k)  # one per collision, for the resampling
    growth = np.empty(n_k)
    history = np.zeros(m, dtype=np.int64)  # each clone's ancestral count since the burn-in
    loop = clone_banded if ins.driver == "banded" else clone_sparse
    with single_threaded_blas():
        failed = loop(
            psi, col, ins.outcomes, ins.loss, beam, setup.key, first,
            _no_records(m, n, ins.n_branches, dtype), new_carry(m, ins.n_branches),
            setup.code, setup.s, draws, burn_in, growth, history,
        )  # fmt: skip
    if failed:
        raise ValueError(
            f"every clone of population {p} leaked through the cutoff at collision {failed}: "
            "raise the model's cutoff"
        )
    return p, growth, float(history.mean()) / (n_k - burn_in)


def _no_records(m: int, n: int, n_branches: int, dtype: type) -> Records:
    """Record arrays without checkpoints or jump times (nothing is recorded)."""
    return Records(
        n_mean=np.zeros((m, 0)),
        n2_mean=np.zeros((m, 0)),
        qubit_g=np.zeros((m, 0, n_branches), dtype=np.int32),
        qubit_e=np.zeros((m, 0, n_branches), dtype=np.int32),
        emissions=np.zeros((m, 0), dtype=np.int32),
        absorptions=np.zeros((m, 0), dtype=np.int32),
        alive=np.zeros(m, dtype=np.bool_),
        leak_expected=np.zeros(0),
        rho_sum=np.zeros((1, n, n), dtype=dtype),
        jump_times=np.zeros((m, 0)),
        jump_kinds=np.zeros((m, 0), dtype=np.int8),
        n_jumps=np.zeros(m, dtype=np.int64),
        fock=np.zeros((m, 0), dtype=np.int32),
        collision_energy=np.zeros((m, 0)),
        theta=np.zeros((m, 0), dtype=np.float32),
    )
