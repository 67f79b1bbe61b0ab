r"""The exact density-matrix solver: the reference every trajectory result is checked against.

Iterates :math:`\rho(k+1) = \Lambda(\Phi(\rho(k)))` (``docs/MODEL.md``, Sec. 2): the banded
collision channel of :mod:`trajectories.channels.collisions`, then the exact loss channel
of :mod:`trajectories.channels.loss` (composed by
:class:`~trajectories.channels.one_step.OneStepChannel`). When the qubits carry no
coherence and the start is diagonal, the state stays diagonal and only the populations are
propagated (O(N) per collision without loss, O(N^2) with).

Population that leaves through the Fock cutoff is accumulated; once it exceeds
``leakage_tol`` the run stops with :class:`~trajectories.errors.TruncationError`
rather than returning wrong numbers.

A :class:`~trajectories.model.protocol.Protocol` (charge, store, discharge, ...) is solved
stage by stage, the state passed on; every run keeps the battery's energy books
(:mod:`trajectories.channels.books`): the cumulative energy from the collisions (from the
qubits, plus the switching work of a Rabi collision) and from the bath, with
:math:`E(k) = E(0) + \text{from qubits} + \text{switching} + \text{from bath}
+ \text{resets}` to rounding (``docs/MODEL.md``, Sec. 12).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import observables as obs
from .._optional import DISTRIBUTION, netcdf_attrs, require
from .._threads import single_threaded_blas
from .._version import __version__
from ..channels.books import EnergyOperators
from ..channels.collisions import keeps_diagonal
from ..channels.one_step import OneStepChannel
from ..errors import DEFAULT_LEAKAGE_TOL, TruncationError, warn_if_close
from ..model.micromaser import Micromaser
from ..model.network import Network
from ..model.protocol import Protocol, run_segments
from ..model.states import as_density_matrix, is_diagonal
from ..validation import (
    check_memory,
    checkpoint_array,
    checkpoint_count,
    real_in_range,
    show,
)
from .network_exact import NetworkExactResult, solve_network

__all__ = [
    "NetworkExactResult",
    "ExactPropagator",
    "ExactResult",
    "solve_exact",
    "check_exact_memory",
    "DEFAULT_LEAKAGE_TOL",
]


_METHODS = ("auto", "density_matrix", "populations")
#: The observables of an :class:`ExactResult` over the checkpoints (shape ``(C,)``).
_SCALARS = (
    "energy", "n2", "purity", "fano", "ergotropy", "entropy", "a_mean", "x_mean", "p_mean",
    "x_var", "p_var", "leakage", "trace",
)  # fmt: skip


#: The one-step channel as the exact solver iterates it (the name of earlier versions):
#: ``ExactPropagator(model).step_dm(rho, k) -> (rho', leaked weight)``.
ExactPropagator = OneStepChannel


@dataclasses.dataclass(frozen=True, repr=False)
class ExactResult:
    r"""Observables of the exact evolution at the checkpoints ``k``.

    Every array has the checkpoints on its first axis, ``C = len(k)``. The numbers are
    exact up to rounding and the reported leakage (``docs/MODEL.md``, Secs. 2 and 4);
    observables are not renormalised by the trace.

    Attributes
    ----------
    model : Micromaser
        The model that was solved.
    k : ndarray of int64, shape (C,)
        Collision counts at which the state was recorded (0 = initial state).
    energy : ndarray of float64, shape (C,)
        Mean photon number: the energy in units of :math:`\hbar\omega`.
    n2 : ndarray of float64, shape (C,)
        :math:`\langle n^2\rangle`.
    purity : ndarray of float64, shape (C,)
        :math:`\mathrm{Tr}\,\rho^2`.
    fano : ndarray of float64, shape (C,)
        :math:`\mathrm{Var}(n)/\langle n\rangle` (NaN at zero energy).
    ergotropy : ndarray of float64, shape (C,)
        In units of :math:`\hbar\omega`.
    entropy : ndarray of float64, shape (C,)
        Von Neumann entropy, nats.
    populations : ndarray of float64, shape (C, N)
        Photon distribution :math:`\rho_{nn}`.
    a_mean : ndarray of complex128, shape (C,)
        :math:`\langle a\rangle` (0 in the populations method).
    x_mean, p_mean, x_var, p_var : ndarray of float64, shape (C,)
        Quadrature means and variances, :math:`x = (a + a^\dagger)/\sqrt2` (vacuum
        variance 1/2).
    leakage : ndarray of float64, shape (C,)
        Population lost through the cutoff up to each checkpoint (cumulative).
    trace : ndarray of float64, shape (C,)
        :math:`\mathrm{Tr}\,\rho`; ``trace + leakage = 1`` up to rounding.
    states : ndarray of complex128, shape (C, N, N), or None
        The density matrices, only when ``store_states=True``.
    method : str
        ``"density_matrix"`` or ``"populations"``.
    setup_seconds : float
        Wall time to build the channels, s.
    run_seconds : float
        Wall time of the evolution, s.
    energy_from_qubits : ndarray of float64, shape (C,)
        Cumulative energy the qubits gave the cavity since collision 0 (units of
        :math:`\hbar\omega`; negative when they took it). For the Jaynes-Cummings
        collision the energy the collisions brought in, :math:`\sum (E_{mid} - E_{before})`,
        which by the conservation of :math:`n + \sigma_{ee}` is what the qubits lost; for
        the Rabi collision the qubits' own loss, :math:`\sum[(1-q)\mathrm{Tr}\rho -
        P(e\ \text{out})]`.
    switching_work : ndarray of float64, shape (C,)
        Cumulative work of switching a Rabi interaction on and off (energy from the
        collisions minus :attr:`energy_from_qubits`); zero for Jaynes-Cummings.
    energy_from_bath : ndarray of float64, shape (C,)
        Cumulative energy from the bath, :math:`\sum (E_{after} - E_{mid})` (negative: lost
        to it).
    energy_from_resets : ndarray of float64, shape (C,)
        Cumulative energy change where a protocol stage replaced the state by its own
        ``initial_state`` (zero otherwise). The books close:
        ``energy = energy(0) + energy_from_qubits + switching_work + energy_from_bath +
        energy_from_resets``.
    stage : ndarray of int64, shape (C,)
        Protocol stage of each checkpoint (0 for a single model; collision 0 is in stage 0).
    protocol : Protocol or None
        The protocol solved (``None`` for a single model; ``model`` is then its first
        stage's model).
    """

    model: Micromaser
    k: np.ndarray
    energy: np.ndarray
    n2: np.ndarray
    purity: np.ndarray
    fano: np.ndarray
    ergotropy: np.ndarray
    entropy: np.ndarray
    populations: np.ndarray
    a_mean: np.ndarray
    x_mean: np.ndarray
    p_mean: np.ndarray
    x_var: np.ndarray
    p_var: np.ndarray
    leakage: np.ndarray
    trace: np.ndarray
    states: np.ndarray | None
    method: str
    setup_seconds: float
    run_seconds: float
    energy_from_qubits: np.ndarray | None = None
    switching_work: np.ndarray | None = None
    energy_from_bath: np.ndarray | None = None
    energy_from_resets: np.ndarray | None = None
    stage: np.ndarray | None = None
    protocol: Protocol | None = None

    @property
    def total_leakage(self) -> float:
        """Population lost through the cutoff over the whole run."""
        return float(self.leakage[-1])

    def at(self, k: int) -> dict[str, float]:
        """The scalar observables at one checkpoint.

        Parameters
        ----------
        k : int
            A collision count in :attr:`k`.

        Returns
        -------
        dict of str to float
            ``energy``, ``purity``, ``fano``, ``ergotropy``, ``entropy`` and ``leakage`` at
            collision ``k``.

        Raises
        ------
        ValueError
            If ``k`` is not a checkpoint of this result.
        """
        idx = np.flatnonzero(self.k == k)
        if idx.size == 0:
            raise ValueError(f"k = {k} is not a checkpoint of this result")
        i = int(idx[0])
        names = ("energy", "purity", "fano", "ergotropy", "entropy", "leakage")
        return {name: float(getattr(self, name)[i]) for name in names}

    def to_xarray(self) -> Any:
        """The result as an ``xarray.Dataset`` (needs the ``xarray`` extra).

        Returns
        -------
        xarray.Dataset
            Coordinates ``k`` (collisions, shape ``(C,)``) and ``n`` (photon number,
            ``0 .. N-1``; with the states also ``m``, their column index). Variables named
            like the attributes: ``energy``, ``n2``, ``purity``, ``fano``, ``ergotropy``,
            ``entropy``, ``a_mean`` (complex), ``x_mean``, ``p_mean``, ``x_var``,
            ``p_var``, ``leakage``, ``trace`` and, when kept, the energy books
            ``energy_from_qubits``, ``switching_work``, ``energy_from_bath``,
            ``energy_from_resets`` and ``stage`` over ``k``; ``populations`` over
            ``(k, n)``; ``states`` over ``(k, n, m)`` when kept. Attributes: the model's
            parameters (:meth:`Micromaser.to_dict
            <trajectories.model.micromaser.Micromaser.to_dict>`; a protocol's first
            stage), ``result = "exact"``, ``method``, ``setup_seconds``, ``run_seconds``,
            ``package``, ``version`` and, for a protocol, ``protocol`` (the JSON of
            :meth:`Protocol.to_dict <trajectories.model.protocol.Protocol.to_dict>`).

        Raises
        ------
        ImportError
            When xarray is not installed; the message names the extra.
        """
        xr = require("xarray", "ExactResult.to_xarray")
        n = np.arange(self.model.cutoff)
        data = {name: (("k",), getattr(self, name)) for name in self._columns()}
        data["populations"] = (("k", "n"), self.populations)
        coords = {"k": np.asarray(self.k), "n": n}
        if self.states is not None:
            data["states"] = (("k", "n", "m"), self.states)
            coords["m"] = n
        attrs = {
            **self.model.to_dict(),
            "result": "exact",
            "method": self.method,
            "setup_seconds": self.setup_seconds,
            "run_seconds": self.run_seconds,
            "package": DISTRIBUTION,
            "version": __version__,
        }
        if self.protocol is not None:
            import json

            attrs["protocol"] = json.dumps(self.protocol.to_dict(), sort_keys=True,
                                           default=lambda v: np.asarray(v).tolist())  # fmt: skip
        return xr.Dataset(data, coords=coords, attrs=netcdf_attrs(attrs))

    def _columns(self) -> tuple[str, ...]:
        """The observables over ``k``, then the energy books and stage this result keeps."""
        books = ("energy_from_qubits", "switching_work", "energy_from_bath",
                 "energy_from_resets", "stage")  # fmt: skip
        return _SCALARS + tuple(b for b in books if getattr(self, b) is not None)

    def to_dataframe(self) -> Any:
        """The observables as a ``pandas.DataFrame``, one row per checkpoint (``xarray`` extra).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``k`` (collisions), one column per observable of :meth:`to_xarray`
            over ``k`` (``energy``, ``purity``, ..., ``trace``, then the energy books and
            ``stage`` when kept); the populations are left out (they are
            ``to_xarray().populations``).

        Raises
        ------
        ImportError
            When xarray or pandas is not installed; the message names the extra.
        """
        require("pandas", "ExactResult.to_dataframe")
        return self.to_xarray()[list(self._columns())].to_dataframe()

    def __repr__(self) -> str:
        m = self.model
        states = "none" if self.states is None else f"{self.states.shape}"
        return (
            f"ExactResult(method={self.method!r}, checkpoints={self.k.size} "
            f"(k = {self.k[0]}..{self.k[-1]}), cutoff={m.cutoff}, "
            + (f"stages={len(self.protocol)}, " if self.protocol is not None else "")
            + f"final energy={self.energy[-1]:.6g}, purity={self.purity[-1]:.6g}, "
            f"total leakage={self.total_leakage:.2e}, states={states}, "
            f"set-up {self.setup_seconds:.3g} s, run {self.run_seconds:.3g} s)"
        )


class _Recorder:
    """Collects observables at checkpoints from a density matrix or populations."""

    def __init__(self, n_checkpoints: int, cutoff: int, store_states: bool):
        self.i = 0
        z = lambda dtype=np.float64: np.zeros(n_checkpoints, dtype=dtype)  # noqa: E731
        self.data = {
            name: z()
            for name in (
                "energy",
                "n2",
                "purity",
                "ergotropy",
                "entropy",
                "x_mean",
                "p_mean",
                "x_var",
                "p_var",
                "leakage",
                "trace",
            )
        }
        self.data["a_mean"] = z(np.complex128)
        self.data["populations"] = np.zeros((n_checkpoints, cutoff))
        self.states = (
            np.zeros((n_checkpoints, cutoff, cutoff), dtype=np.complex128) if store_states else None
        )

    def record_dm(self, rho: np.ndarray, leakage: float) -> None:
        d, i = self.data, self.i
        p = obs.photon_distribution(rho)
        spec = obs.eigenvalues(rho)
        self._record_common(p, spec, leakage)
        d["purity"][i] = obs.purity(rho)
        d["a_mean"][i] = obs.mean_a(rho)
        for name, value in obs.quadratures(rho).items():
            d[name][i] = value
        if self.states is not None:
            self.states[i] = rho
        self.i += 1

    def record_populations(self, p: np.ndarray, leakage: float) -> None:
        d, i = self.data, self.i
        self._record_common(p, p, leakage)
        d["purity"][i] = p @ p
        mean_n = d["energy"][i]
        d["x_var"][i] = d["p_var"][i] = mean_n + 0.5  # diagonal state: <a> = <a^2> = 0
        if self.states is not None:
            self.states[i] = np.diag(p)
        self.i += 1

    def _record_common(self, p: np.ndarray, spectrum: np.ndarray, leakage: float) -> None:
        d, i = self.data, self.i
        n = np.arange(p.size, dtype=np.float64)
        d["populations"][i] = p
        d["energy"][i] = p @ n
        d["n2"][i] = p @ (n * n)
        d["trace"][i] = p.sum()
        d["leakage"][i] = leakage
        d["ergotropy"][i] = obs.ergotropy_from_eigenvalues(d["energy"][i], spectrum)
        w = spectrum[spectrum > 0.0]
        d["entropy"][i] = -float(w @ np.log(w))


def solve_exact(
    model: Micromaser | Protocol | Network,
    n_collisions: int | None = None,
    *,
    initial_state: np.ndarray | None = None,
    checkpoints: Iterable[int] | None = None,
    store_states: bool = False,
    leakage_tol: float = DEFAULT_LEAKAGE_TOL,
    method: str = "auto",
) -> ExactResult:
    r"""Evolve the cavity density matrix exactly for ``n_collisions`` collisions.

    Solves :math:`\rho(k+1) = e^{\mathcal L t_r}\,\mathrm{Tr}_q[U(\rho(k)\otimes\rho_q)U^\dagger]`
    from ``initial_state`` (default: vacuum) and records the observables and the energy
    books at ``checkpoints``.

    Parameters
    ----------
    model : Micromaser, Protocol or Network
        The physics; a :class:`~trajectories.model.protocol.Protocol` is solved stage by
        stage, the state passed on (collisions numbered across the stages); a
        :class:`~trajectories.model.network.Network` of two cavities is solved on its joint
        density matrix (:func:`~trajectories.solvers.network_exact.solve_network`: 101
        checkpoints by default, a :class:`~trajectories.solvers.network_exact.NetworkExactResult`).
    n_collisions : int, optional
        Number of collisions, ``>= 0``; required for a model, for a protocol its total
        (default; another value is refused).
    initial_state : array, optional
        State vector ``(N,)`` or density matrix ``(N, N)``; validated (unit norm or
        trace, Hermitian, positive). Default: the vacuum ``|0>`` (for a protocol, its own
        initial state if it has one; giving both is refused).
    checkpoints : iterable of int, optional
        Strictly increasing collision counts in ``[0, n_collisions]`` at which to
        record; default every collision ``0 .. n_collisions``.
    store_states : bool
        Keep the density matrix at every checkpoint (memory ``n_k N^2`` complex).
    leakage_tol : float
        Largest total population allowed to leave through the cutoff; above it,
        :class:`~trajectories.errors.TruncationError`. ``inf`` disables the check.
    method : {"auto", "density_matrix", "populations"}
        ``"auto"`` propagates populations only when the qubits carry no
        coherence and the initial state is diagonal (then exact), else the full
        density matrix. ``"populations"`` is refused where it would be wrong.

    Returns
    -------
    ExactResult or NetworkExactResult
        Observables and energy books at the ``C`` checkpoints (and the states if asked for).

    Raises
    ------
    ValueError
        For an invalid argument (the message names it), a ``"populations"`` method where
        it would be wrong, or a run whose memory exceeds this machine's.
    TruncationError
        When the population lost through the cutoff exceeds ``leakage_tol``; the message
        suggests a larger cutoff.

    Warns
    -----
    TruncationWarning
        When the leakage is within a factor 10 of ``leakage_tol``.

    Notes
    -----
    Exact: no time step and no truncation other than the reported leakage. The cost per
    collision is O(N^2) for the density matrix (banded loss layout, one compiled pass
    with the Jaynes-Cummings collision) and O(N) to O(N^2) for the populations; the books
    add one banded pass per collision.

    Examples
    --------
    The coherent-qubit steady state of the paper's Eq. 15 (energy 6.1503 at m = 15,
    q = 0.25, ``docs/MODEL.md`` Sec. 6) is pure:

    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, cutoff=20)
    >>> r = tj.solve_exact(m, 300, checkpoints=[0, 300])
    >>> round(float(r.energy[-1]), 3), round(float(r.purity[-1]), 3)
    (6.15, 1.0)

    Charge, then discharge into ground-state qubits:

    >>> p = tj.Protocol([tj.Stage(m, 300), tj.Stage(m.replace(q=1.0, c=0.0), 100)])
    >>> r = tj.solve_exact(p, checkpoints=[0, 300, 400])
    >>> r.stage.tolist(), round(float(-r.energy_from_qubits[-1] + r.energy_from_qubits[1]), 3)
    ([0, 0, 1], 6.15)
    """
    if isinstance(model, Network):
        if method != "auto":
            raise ValueError(f"method must be 'auto' for a network, got {method!r}")
        if n_collisions is None:
            raise ValueError("n_collisions is required for a network")
        return solve_network(
            model, n_collisions, initial_state=initial_state, checkpoints=checkpoints,
            store_states=store_states, leakage_tol=leakage_tol,
        )  # fmt: skip
    protocol, segments, n_collisions, initial_state = run_segments(
        model, n_collisions, initial_state, "solve_exact"
    )
    model = segments[0][0]
    if not isinstance(store_states, (bool, np.bool_)):
        raise ValueError(f"store_states must be True or False, got {store_states!r}")
    check_exact_memory(model, n_collisions, checkpoints, bool(store_states))
    ks = checkpoint_array(checkpoints, n_collisions)
    if leakage_tol != float("inf"):  # inf switches the check off
        leakage_tol = real_in_range("leakage_tol", leakage_tol, 0.0)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    rho0 = as_density_matrix(initial_state, model.cutoff)
    diagonal_ok = all(keeps_diagonal(m) for m, _, _ in segments) and all(
        is_diagonal(r) for r in [rho0] + [r for _, _, r in segments if r is not None]
    )
    if method == "populations" and not diagonal_ok:
        raise ValueError(
            "method='populations' needs incoherent qubits (c = 0 or q in {0, 1}), a diagonal "
            "initial state and the Jaynes-Cummings collision (in every stage); use "
            "method='density_matrix'"
        )
    use_pops = method == "populations" or (method == "auto" and diagonal_ok)

    with single_threaded_blas():
        return _run(
            model, protocol, segments, rho0, n_collisions, ks, use_pops, store_states,
            leakage_tol,
        )  # fmt: skip


#: Bytes per recorded checkpoint besides its populations: the scalar observables, <a>,
#: the checkpoint itself and, while validating, a Python int.
_BYTES_PER_CHECKPOINT = 160


def check_exact_memory(
    model: Micromaser,
    n_collisions: int,
    checkpoints: Iterable[int] | None = None,
    store_states: bool = False,
) -> None:
    """Refuse, before any allocation, an exact run that cannot fit in this machine's memory.

    Lower bounds, compared with :func:`~trajectories.validation.machine_memory`: three
    dense ``N x N`` matrices (the initial state, complex, and the loss channel's
    population block, float: ``40 N^2`` bytes); the records, ``8 N + 160`` bytes per
    checkpoint (``None``: every collision, ``n_collisions + 1`` of them); with
    ``store_states``, ``16 N^2`` more per checkpoint.

    Parameters
    ----------
    model : Micromaser
        The model (its cutoff sets the matrix sizes).
    n_collisions : int
        Number of collisions.
    checkpoints : iterable of int or None, optional
        As for :func:`solve_exact` (not materialised).
    store_states : bool, optional
        Whether the density matrices are kept.

    Raises
    ------
    ValueError
        Naming the parameter to change and how far, when the bound exceeds the
        machine's memory.
    """
    n = model.cutoff
    check_memory(
        "cutoff",
        str(n),
        40 * n * n,
        "the exact solver's dense N x N matrices (40 N^2 bytes)",
        lambda limit: f"allowed on this machine: cutoff <= {math.isqrt(limit // 40)}",
    )
    count = checkpoint_count(checkpoints, n_collisions)
    if count is None:
        return
    per = 8 * n + _BYTES_PER_CHECKPOINT + (16 * n * n if store_states else 0)
    base = 40 * n * n
    if checkpoints is None:
        name, shown = "n_collisions", show(n_collisions)
        what = f"observables at every collision (checkpoints=None: {show(count)} checkpoints)"

        def allowed(limit: int) -> str:
            return (
                f"allowed on this machine with checkpoints=None: n_collisions <= "
                f"{(limit - base) // per - 1}; or pass fewer checkpoints, e.g. "
                "checkpoints=range(0, n_collisions + 1, step)"
            )
    else:
        if store_states:
            name, shown, hint = "store_states", f"True with {count} checkpoints", " with states"
            what = f"a density matrix at each checkpoint ({16 * n * n} bytes each, cutoff={n})"
        else:
            name, shown, hint = "checkpoints", f"<{count} checkpoints>", ""
            what = f"the observables at each checkpoint ({per} bytes each at cutoff={n})"

        def allowed(limit: int) -> str:
            return f"allowed on this machine: at most {(limit - base) // per} checkpoints{hint}"

    check_memory(name, shown, base + count * per, what, allowed)


class _Books:
    """Running energy books of one exact run (``docs/MODEL.md``, Sec. 12)."""

    def __init__(self) -> None:
        self.collisions = 0.0  # sum of E_mid - E_before
        self.qubits = 0.0  # energy the qubits lost (Rabi); equals the above for JC
        self.resets = 0.0
        self._ops: dict = {}

    def operators(self, prop: OneStepChannel, k: int) -> EnergyOperators:
        key = (id(prop), prop.collisions.set_index(k))
        ops = self._ops.get(key)
        if ops is None:
            if prop.period is None:  # every collision differs: keep only the last
                self._ops = {}
            ops = EnergyOperators(prop.collisions.at(k), prop.model.q)
            self._ops[key] = ops
        return ops

    # populations: every book is linear in p, so the states of a run of collisions with one
    # channel are summed (one vector add per collision) and traced once at the next checkpoint
    _psum: np.ndarray | None = None
    _pending: tuple | None = None

    def add_populations(self, ops: EnergyOperators, p: np.ndarray, jaynes_cummings: bool) -> None:
        if self._pending is not None and self._pending[0] is ops:
            self._psum += p
            return
        self.flush()
        self._pending = (ops, jaynes_cummings)
        self._psum = p.copy()

    def flush(self) -> None:
        if self._pending is None:
            return
        ops, jc = self._pending
        self.add(ops, ops.traces_populations(self._psum), jc)
        self._pending = self._psum = None

    def add(self, ops: EnergyOperators, traces: tuple, jaynes_cummings: bool) -> None:
        e_before, e_mid, p_e, tr = traces
        self.collisions += e_mid - e_before
        if jaynes_cummings:
            self.qubits += e_mid - e_before
        else:
            self.qubits += (1.0 - ops.q) * tr - p_e


def _energy(state: np.ndarray, use_pops: bool) -> float:
    p = state if use_pops else np.diagonal(state).real
    return float(p @ np.arange(p.size, dtype=np.float64))


def _run(
    model: Micromaser,
    protocol: Protocol | None,
    segments: list,
    rho0: np.ndarray,
    n_collisions: int,
    ks: np.ndarray,
    use_pops: bool,
    store_states: bool,
    leakage_tol: float,
) -> ExactResult:
    t0 = time.perf_counter()
    props: dict[Micromaser, OneStepChannel] = {}
    for m, _, _ in segments:
        if m not in props:
            props[m] = OneStepChannel(m)
    t1 = time.perf_counter()
    rec = _Recorder(ks.size, model.cutoff, store_states)
    state = np.diagonal(rho0).real.copy() if use_pops else rho0
    record = rec.record_populations if use_pops else rec.record_dm
    n_ck = ks.size
    book = {name: np.zeros(n_ck) for name in ("collisions", "qubits", "resets")}
    stage_of = np.zeros(n_ck, dtype=np.int64)
    books = _Books()
    e0 = _energy(state, use_pops)
    leaked = 0.0
    next_i = 0
    k = 0

    def checkpoint(s: int) -> None:
        nonlocal next_i
        books.flush()
        record(state, leaked)
        book["collisions"][next_i] = books.collisions
        book["qubits"][next_i] = books.qubits
        book["resets"][next_i] = books.resets
        stage_of[next_i] = s
        next_i += 1

    if ks[0] == 0:
        checkpoint(0)
    for s, (m, n_k, start) in enumerate(segments):
        if next_i == n_ck:
            break
        prop = props[m]
        if start is not None and s > 0:
            before = _energy(state, use_pops)
            state = np.diagonal(start).real.copy() if use_pops else start.copy()
            books.resets += _energy(state, use_pops) - before
        step = prop.step_populations if use_pops else prop.step_dm
        jc = m.is_jaynes_cummings
        counter_rotating = prop.collisions.counter_rotating
        same = prop.period == 1  # one collision channel for the whole stage
        ops = books.operators(prop, k + 1) if same else None
        for _ in range(n_k):
            k += 1  # collisions are numbered across the stages (absolute time)
            if not same:
                ops = books.operators(prop, k)
            if use_pops:
                books.add_populations(ops, state, jc)
            else:
                books.add(ops, ops.traces(state), jc)
            state, leak = step(state, k)
            leaked += leak
            if leaked > leakage_tol:
                raise TruncationError(
                    m.cutoff, leaked, leakage_tol, k, counter_rotating=counter_rotating
                )
            if next_i < n_ck and k == ks[next_i]:
                checkpoint(s)
                if next_i == n_ck:
                    break
    t2 = time.perf_counter()
    warn_if_close(model.cutoff, leaked, leakage_tol)
    d = rec.data
    switching = book["collisions"] - book["qubits"]
    from_bath = d["energy"] - e0 - book["collisions"] - book["resets"]
    return ExactResult(
        model=model,
        k=ks,
        fano=obs.fano_from_moments(d["energy"], d["n2"]),
        states=rec.states,
        method="populations" if use_pops else "density_matrix",
        setup_seconds=t1 - t0,
        run_seconds=t2 - t1,
        energy_from_qubits=book["qubits"],
        switching_work=switching,
        energy_from_bath=from_bath,
        energy_from_resets=book["resets"],
        stage=stage_of,
        protocol=protocol,
        **d,
    )
