r"""Ensemble results: rho and its observables rebuilt from trajectories, with error bars.

The estimators (``docs/MODEL.md``, Sec. 5; the reduction of chunks into them is
:class:`~trajectories.solvers.montecarlo.accumulator.EnsembleAccumulator`):

- energy: mean and standard error of the per-trajectory :math:`\langle n\rangle_i`.
- purity: the unbiased estimator :math:`(\mathrm{Tr}\,S^2 - A)/(M(M-1))` with
  :math:`S = \sum_i |\psi_i\rangle\langle\psi_i|` and :math:`A = \sum_i \|\psi_i\|^4`
  (the number of trajectories that did not leak); :math:`\mathrm{Tr}\,\hat\rho^2` itself is
  biased upward by about :math:`(1-P)/M`.
- Fano factor (from the ensemble moments of n) and ergotropy (of :math:`\hat\rho = S/M`):
  delete-a-group jackknife errors (weighted for unequal groups, Busing et al. 1999).

Results convert to labelled data (the ``xarray`` extra, imported on first use):
:meth:`EnsembleResult.to_xarray` (means and standard errors as variables, ``k`` and ``n`` as
coordinates, the model and the seed as attributes), :meth:`EnsembleResult.to_dataframe` and
:meth:`PerTrajectory.to_dataframe` (the per-trajectory records as a long table).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..._optional import DISTRIBUTION, netcdf_attrs, require
from ..._version import __version__
from ...model.micromaser import Micromaser
from .reductions import CountHistograms

#: per-trajectory record fields of a ChunkResult, kept in an EnsembleResult
_RECORDS = (
    "n_mean", "n2_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "fock", "alive",
    "jump_times", "jump_kinds", "n_jumps", "theta", "collision_energy", "bath_energy",
    "qubit_energy",
)  # fmt: skip
#: the dimensions of each per-trajectory record (in :meth:`PerTrajectory.to_xarray`)
RECORD_DIMS = {
    "n_mean": ("trajectory", "k"), "n2_mean": ("trajectory", "k"),
    "qubit_g": ("trajectory", "k", "branch"), "qubit_e": ("trajectory", "k", "branch"),
    "emissions": ("trajectory", "k"), "absorptions": ("trajectory", "k"),
    "fock": ("trajectory", "k"), "alive": ("trajectory",),
    "jump_times": ("trajectory", "jump"), "jump_kinds": ("trajectory", "jump"),
    "n_jumps": ("trajectory",), "theta": ("trajectory", "collision"),
    "collision_energy": ("trajectory", "k"), "bath_energy": ("trajectory", "k"),
    "qubit_energy": ("trajectory", "k"),
}  # fmt: skip
#: the per-trajectory records of the energy books (empty in chunks saved before them)
_BOOK_RECORDS = ("collision_energy", "bath_energy", "qubit_energy")
#: the energy books of an :class:`EnsembleResult` (Estimates, like :data:`ESTIMATES`)
BOOKS = ("energy_from_qubits", "switching_work", "energy_from_bath")
#: the estimates of an :class:`EnsembleResult`, each a mean and a standard error per checkpoint
ESTIMATES = ("energy", "purity", "fano", "ergotropy")

__all__ = [
    "Estimate", "PerTrajectory", "EnsembleResult", "ESTIMATES", "BOOKS", "RECORD_DIMS",
    "jackknife",
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An estimate per checkpoint with its standard error.

    Attributes
    ----------
    mean : ndarray of float64, shape (C,)
        The estimate at each checkpoint (in the observable's unit).
    stderr : ndarray of float64, shape (C,)
        Its standard error, same unit (NaN where it cannot be estimated).
    """

    mean: np.ndarray
    stderr: np.ndarray

    def __repr__(self) -> str:
        last = f"{self.mean[-1]:.6g} ± {self.stderr[-1]:.2g}"
        return f"Estimate(checkpoints={self.mean.shape[0]}, last={last})"


def jackknife(full: np.ndarray, leave_out: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Delete-a-group jackknife standard error, weighted for unequal groups.

    For equal groups this is the textbook ``sqrt((G-1)/G sum_g (theta_g - mean)^2)``; for
    unequal ones, the weighted form of Busing et al. (1999) (``docs/MODEL.md``, Sec. 5).

    Parameters
    ----------
    full : ndarray, shape (...)
        The estimate from all the data.
    leave_out : ndarray, shape (G, ...)
        The estimates with group ``g`` left out.
    sizes : ndarray, shape (G,)
        Trajectories per group.

    Returns
    -------
    ndarray of float64, shape (...)
        The standard error of ``full`` (all NaN for fewer than two groups).
    """
    g = sizes.size
    if g < 2:
        return np.full(np.shape(full), np.nan)
    total = sizes.sum()
    h = (total / sizes).reshape((g,) + (1,) * np.ndim(full))
    theta_j = g * full - np.sum((1.0 - 1.0 / h) * leave_out, axis=0)
    pseudo = h * full - (h - 1.0) * leave_out
    var = np.sum((pseudo - theta_j) ** 2 / (h - 1.0), axis=0) / g
    return np.sqrt(var)


@dataclasses.dataclass(frozen=True)
class PerTrajectory:
    r"""Per-trajectory records at the checkpoints (rows: trajectories in chunk order).

    Counts are cumulative from collision 0 and are *measurable*: which qubits left
    in ``g`` or ``e`` (split by the branch ``j`` they came in on; for ``c = 0``,
    branch 0 = came in excited, 1 = came in ground), emissions into the bath and
    absorptions from it. ``n_mean``/``n2_mean`` (``<n>_i``, ``<n^2>_i`` of the
    conditional state) depend on the chosen unravelling and are *not* measurable
    quantities; only their averages are (``docs/MODEL.md``, Sec. 4). ``M`` is the number of
    trajectories, ``C`` of checkpoints, ``B`` of qubit branches, ``J`` the jump-log capacity.

    Attributes
    ----------
    n_mean : ndarray of float64, shape (M, C)
        :math:`\langle n\rangle_i` of each conditional state.
    n2_mean : ndarray of float64, shape (M, C)
        :math:`\langle n^2\rangle_i`.
    qubit_g, qubit_e : ndarray of int, shape (M, C, B)
        Qubits that left in ``g`` / ``e``, per incoming branch.
    emissions, absorptions : ndarray of int, shape (M, C)
        Photons emitted into / absorbed from the bath.
    fock : ndarray of int, shape (M, C)
        One photon number drawn from each conditional state (-1 after a leak).
    alive : ndarray of bool, shape (M,)
        False for trajectories whose weight left through the cutoff.
    jump_times : ndarray of float64, shape (M, J)
        Times of the first ``J`` jumps, in units of ``t_r`` of real time from the first
        loss interval (regular arrivals: collision ``k`` at ``k - 1``; random arrivals: the
        sum of the drawn intervals).
    jump_kinds : ndarray of int, shape (M, J)
        +1 absorption, -1 emission, 0 none.
    n_jumps : ndarray of int, shape (M,)
        Jumps of each trajectory (may exceed ``J``).
    theta : ndarray of float32, shape (M, K) or (M, 0)
        Each qubit's relative strength ``x`` (``theta_i = theta x``) at collisions
        ``1 .. K``, recorded with ``record_theta=True`` (NaN after a leak); no columns
        otherwise.
    collision_energy : ndarray of float64, shape (M, C)
        Energy the collisions brought in since collision 0: the sum over collisions of
        ``<n>`` of the conditional state just after minus just before (a conditional
        expectation of the energy exchanged; its mean is the exact book).
    bath_energy : ndarray of float64, shape (M, C)
        Energy from the bath, ``<n>(k) - <n>(0) - collision_energy - resets`` (resets: the
        energy changes where a protocol stage replaced the state).
    qubit_energy : ndarray of float64, shape (M, C)
        Energy the qubits lost, ``(1 - q) - [left in e]`` summed over the collisions of the
        Rabi stages (``collision_energy``'s increments in Jaynes-Cummings stages: equal to
        it when every stage is Jaynes-Cummings).
    """

    n_mean: np.ndarray  # (M, C)
    n2_mean: np.ndarray  # (M, C)
    qubit_g: np.ndarray  # (M, C, B)
    qubit_e: np.ndarray  # (M, C, B)
    emissions: np.ndarray  # (M, C)
    absorptions: np.ndarray  # (M, C)
    fock: np.ndarray  # (M, C)
    alive: np.ndarray  # (M,)
    jump_times: np.ndarray  # (M, J)
    jump_kinds: np.ndarray  # (M, J)
    n_jumps: np.ndarray  # (M,)
    theta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.float32))
    collision_energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    bath_energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    qubit_energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def qubits_energy(self) -> np.ndarray:
        """Energy the qubits lost per trajectory, shape (M, C) (``qubit_energy``, or
        ``collision_energy`` when every stage is Jaynes-Cummings)."""
        return self.qubit_energy if self.qubit_energy.shape[1] else self.collision_energy

    @property
    def jumps_overflow(self) -> np.ndarray:
        """True for trajectories with more jumps than the jump-time capacity ``J``, shape (M,)."""
        return self.n_jumps > self.jump_times.shape[1]

    @property
    def photons_from_qubits(self) -> np.ndarray:
        """Photons the qubits put into the cavity, for incoherent qubits (``c = 0``).

        (qubits that came in e and left in g) - (came in g and left in e), shape
        (M, C). Needs the two branches {e, g}; raises ``ValueError`` otherwise.
        """
        if self.qubit_g.shape[2] != 2:
            raise ValueError("photons_from_qubits needs the qubit branches {e, g} (c = 0)")
        return self.qubit_g[:, :, 0].astype(np.int64) - self.qubit_e[:, :, 1]

    def _k(self, k: np.ndarray | None) -> np.ndarray:
        c = self.n_mean.shape[1]
        if k is None:
            return np.arange(c)
        k = np.asarray(k)
        if k.shape != (c,):
            raise ValueError(f"k must hold the {c} checkpoints of the records, got shape {k.shape}")
        return k

    def to_xarray(self, k: np.ndarray | None = None) -> Any:
        """The records as an ``xarray.Dataset`` (needs the ``xarray`` extra).

        Parameters
        ----------
        k : array_like of int, shape (C,), optional
            The checkpoints' collision counts (``EnsembleResult.k``); default
            ``0 .. C-1`` (checkpoint indices).

        Returns
        -------
        xarray.Dataset
            One variable per attribute, over the dimensions ``trajectory`` (``M``), ``k``,
            ``branch`` (``B``) and ``jump`` (``J``), each a coordinate.

        Raises
        ------
        ValueError
            If ``k`` does not have one value per checkpoint.
        ImportError
            When xarray is not installed; the message names the extra.
        """
        xr = require("xarray", "PerTrajectory.to_xarray")
        m, _, b = self.qubit_g.shape
        coords = {
            "trajectory": np.arange(m),
            "k": self._k(k),
            "branch": np.arange(b),
            "jump": np.arange(self.jump_times.shape[1]),
            "collision": np.arange(1, self.theta.shape[1] + 1),
        }
        data = {
            name: (RECORD_DIMS[name], getattr(self, name))
            for name in _RECORDS
            if not (name in _BOOK_RECORDS and getattr(self, name).shape[-1] == 0)
        }  # fmt: skip
        return xr.Dataset(data, coords=coords)

    def to_dataframe(self, k: np.ndarray | None = None) -> Any:
        """The records at the checkpoints as a long ``pandas.DataFrame`` (``xarray`` extra).

        Parameters
        ----------
        k : array_like of int, shape (C,), optional
            The checkpoints' collision counts (``EnsembleResult.k``); default
            ``0 .. C-1`` (checkpoint indices).

        Returns
        -------
        pandas.DataFrame
            One row per (trajectory, checkpoint), indexed by ``trajectory`` and ``k`` (``M C``
            rows). Columns: ``qubit_g``, ``qubit_e`` (summed over the incoming branches;
            with more than one branch also ``qubit_g_0``, ``qubit_g_1``, ...),
            ``emissions``, ``absorptions``, ``fock`` (-1: leaked), ``n_mean`` and
            ``n2_mean`` (unravelling-dependent, not measurable).

        Raises
        ------
        ValueError
            If ``k`` does not have one value per checkpoint.
        ImportError
            When pandas is not installed; the message names the extra.
        """
        pd = require("pandas", "PerTrajectory.to_dataframe")
        m, c, b = self.qubit_g.shape
        index = pd.MultiIndex.from_product([np.arange(m), self._k(k)], names=["trajectory", "k"])
        columns: dict[str, np.ndarray] = {}
        for name in ("qubit_g", "qubit_e"):
            counts = getattr(self, name)
            columns[name] = counts.sum(axis=2, dtype=np.int64).reshape(-1)
            if b > 1:
                for j in range(b):
                    columns[f"{name}_{j}"] = counts[:, :, j].reshape(-1)
        for name in ("emissions", "absorptions", "fock", "n_mean", "n2_mean"):
            columns[name] = getattr(self, name).reshape(-1)
        return pd.DataFrame(columns, index=index)


@dataclasses.dataclass(frozen=True, repr=False)
class EnsembleResult:
    r"""Observables rebuilt from an ensemble of trajectories, with error bars.

    ``C`` is the number of checkpoints, ``R`` of those at which rho was kept, ``N`` the
    cutoff.

    Attributes
    ----------
    model : Micromaser
        The simulated model.
    k : ndarray of int64, shape (C,)
        The checkpoints (collision counts).
    n_trajectories : int
        Trajectories in the ensemble ``M``.
    chunk_size : int
        Trajectories per chunk.
    n_chunks : int
        Chunks run.
    seed : int
        The root seed (any non-negative integer; 128-bit when drawn).
    energy, purity, fano, ergotropy : Estimate
        Per checkpoint, with standard errors (``docs/MODEL.md``, Sec. 5); energy and
        ergotropy in units of :math:`\hbar\omega`; purity and ergotropy are NaN where rho
        was not kept.
    populations : ndarray of float64, shape (R, N)
        The photon distribution of ``rho``.
    rho : ndarray of complex128, shape (R, N, N)
        ``S/M`` at the checkpoints ``k[rho_index]``.
    rho_index : ndarray of int, shape (R,)
        Indices into ``k`` of the kept density matrices.
    leakage : ndarray of float64, shape (C,)
        The expected population lost through the cutoff up to each checkpoint,
        estimated from the trajectories' exact leak probabilities.
    leaked_trajectories : int
        Trajectories that actually left through the cutoff.
    per_trajectory : PerTrajectory or None
        The records of every trajectory at the checkpoints ``k[record_index]``; None when
        the run kept none (``records="none"``): use :meth:`records` for a clear error.
    jackknife_groups : int
        Groups of the delete-a-group jackknife.
    n_jobs : int
        Workers used.
    backend : str
        The joblib backend used.
    seconds : float
        Wall time of the run, s.
    stop_reason : str
        Why the run stopped: ``"n_trajectories"``, ``"target_stderr"`` or ``"timeout"``.
    streams : str
        The random streams of the trajectories (``"philox4x64-trajectory"``: trajectory
        ``i`` depends only on the seed and ``i``; ``"chunk"``: version 0.1, streams per
        chunk).
    sampler : str
        How the jump times of the loss were drawn: ``"mixture"`` (a mixture of
        exponentials, ``docs/MODEL.md`` Sec. 3) or ``"root"`` (results of earlier versions:
        the root solve of the no-jump norm). Both have the same law; the same seed gives
        different trajectories.
    energy_from_qubits : Estimate or None
        Cumulative energy the qubits gave the cavity since collision 0 (units of
        :math:`\hbar\omega`), per checkpoint: for the Jaynes-Cummings collision the energy
        the collisions brought in (``<n>`` after minus before each collision, per
        trajectory), for the Rabi collision ``(1 - q) - [qubit left in e]`` per collision.
        The means estimate :attr:`ExactResult.energy_from_qubits
        <trajectories.solvers.exact.ExactResult.energy_from_qubits>` (``docs/MODEL.md``,
        Sec. 12).
    switching_work : Estimate or None
        Cumulative work of switching a Rabi interaction on and off (the collisions' energy
        minus the qubits'); zero for Jaynes-Cummings.
    energy_from_bath : Estimate or None
        Cumulative energy from the bath: ``<n>(k) - <n>(0)`` minus the collisions' energy
        and the resets', per trajectory.
    stage : ndarray of int64, shape (C,) or None
        Protocol stage of each checkpoint (0 for a single model).
    protocol : Protocol or None
        The protocol simulated (None for a single model; ``model`` is then its first
        stage's model).
    record_index : ndarray of int64, shape (C',) or None
        Indices into ``k`` of the columns of the per-trajectory records (None: every
        checkpoint, as in results of earlier versions).
    count_histograms : CountHistograms or None
        Per-checkpoint histograms of every count over the trajectories not leaked there,
        reduced while the run ran (None in results of earlier versions: the counting
        statistics then come from the records).
    """

    model: Micromaser
    k: np.ndarray
    n_trajectories: int
    chunk_size: int
    n_chunks: int
    seed: int
    energy: Estimate
    purity: Estimate
    fano: Estimate
    ergotropy: Estimate
    populations: np.ndarray  # (R, N)
    rho: np.ndarray  # (R, N, N)
    rho_index: np.ndarray  # (R,) indices into k
    leakage: np.ndarray  # (C,)
    leaked_trajectories: int
    per_trajectory: PerTrajectory | None
    jackknife_groups: int
    n_jobs: int
    backend: str
    seconds: float
    stop_reason: str = "n_trajectories"
    streams: str = "chunk"
    sampler: str = "root"
    energy_from_qubits: Estimate | None = None
    switching_work: Estimate | None = None
    energy_from_bath: Estimate | None = None
    stage: np.ndarray | None = None
    protocol: Any = None
    record_index: np.ndarray | None = None
    count_histograms: CountHistograms | None = None

    @property
    def record_k(self) -> np.ndarray:
        """The checkpoints (collision counts) of the per-trajectory records' columns."""
        k = np.asarray(self.k)
        return k if self.record_index is None else k[np.asarray(self.record_index, np.intp)]

    def records(self, k: int | None = None, what: str = "this") -> PerTrajectory:
        """The per-trajectory records, or a clear error when the run did not keep them.

        Parameters
        ----------
        k : int, optional
            A checkpoint (collision count) the records must hold as a column.
        what : str, optional
            What needs them, for the message.

        Returns
        -------
        PerTrajectory
            :attr:`per_trajectory`.

        Raises
        ------
        ValueError
            Naming the ``records`` option to run with, when none were kept or not at ``k``.
        """
        if self.per_trajectory is None:
            raise ValueError(
                f"{what} needs the per-trajectory records, and this run kept none "
                "(records='none'): run simulate with records='last', 'all' or a list of "
                "checkpoints"
            )
        if k is not None and int(k) not in set(self.record_k.tolist()):
            raise ValueError(
                f"{what} needs the per-trajectory records at k = {k}, and this run kept them "
                f"at k = {self.record_k.tolist()} only: run simulate with records='all' or a "
                "list of checkpoints holding it"
            )
        return self.per_trajectory

    def record_column(self, k: int | None = None) -> int:
        """Column of the per-trajectory records at the checkpoint nearest ``k``.

        Parameters
        ----------
        k : int, optional
            A collision count (default: the last checkpoint with records).

        Returns
        -------
        int
            The column index into the per-checkpoint records (``n_mean[:, column]``, ...).
        """
        rk = self.record_k
        if rk.size == 0:
            raise ValueError("this run kept no per-trajectory records (records='none')")
        if k is None:
            return rk.size - 1
        return int(np.argmin(np.abs(rk - int(k))))

    def to_xarray(self, per_trajectory: bool = False) -> Any:
        """The result as an ``xarray.Dataset`` (needs the ``xarray`` extra).

        Parameters
        ----------
        per_trajectory : bool, optional
            Also include the per-trajectory records (:meth:`PerTrajectory.to_xarray`, over
            the extra dimensions ``trajectory``, ``branch`` and ``jump``). Default False.

        Returns
        -------
        xarray.Dataset
            Coordinates ``k`` (collisions, ``(C,)``), ``n`` (photon number ``0 .. N-1``),
            ``m`` (rho's column index) and ``k_rho`` (the checkpoints at which rho was kept,
            ``k[rho_index]``). Variables: ``energy``, ``purity``, ``fano``, ``ergotropy``
            (the means) and ``energy_stderr``, ... (their standard errors) and ``leakage``
            over ``k``; ``populations`` over ``(k_rho, n)``; ``rho`` over
            ``(k_rho, n, m)``. Attributes: the model's parameters (:meth:`Micromaser.to_dict
            <trajectories.model.micromaser.Micromaser.to_dict>`), ``result = "ensemble"``,
            ``seed`` (a string when it does not fit in int64), ``n_trajectories``,
            ``chunk_size``, ``n_chunks``, ``leaked_trajectories``, ``jackknife_groups``,
            ``n_jobs``, ``backend``, ``seconds``, ``stop_reason``, ``streams``, ``sampler``,
            ``package`` and ``version``.

        Raises
        ------
        ImportError
            When xarray is not installed; the message names the extra.
        """
        xr = require("xarray", "EnsembleResult.to_xarray")
        k = np.asarray(self.k)
        n = np.arange(self.model.cutoff)
        data: dict[str, Any] = {}
        for name in ESTIMATES:
            est = getattr(self, name)
            data[name] = (("k",), est.mean)
            data[f"{name}_stderr"] = (("k",), est.stderr)
        data["leakage"] = (("k",), self.leakage)
        data["populations"] = (("k_rho", "n"), self.populations)
        data["rho"] = (("k_rho", "n", "m"), self.rho)
        coords = {"k": k, "n": n, "m": n, "k_rho": k[np.asarray(self.rho_index, dtype=np.intp)]}
        ds = xr.Dataset(data, coords=coords, attrs=netcdf_attrs(self._attrs()))
        if per_trajectory:
            per = self.records(what="to_xarray(per_trajectory=True)")
            ds = ds.merge(per.to_xarray(self.record_k), combine_attrs="override")
        return ds

    def to_dataframe(self) -> Any:
        """The per-trajectory records as a long ``pandas.DataFrame`` (``xarray`` extra).

        Returns
        -------
        pandas.DataFrame
            :meth:`PerTrajectory.to_dataframe` with the checkpoints :attr:`k`: one row per
            (trajectory, checkpoint), indexed by ``trajectory`` and ``k``.

        Raises
        ------
        ImportError
            When pandas is not installed; the message names the extra.
        """
        return self.records(what="to_dataframe").to_dataframe(self.record_k)

    def _attrs(self) -> dict[str, Any]:
        """The model's parameters and the run's settings, flat."""
        run = {
            key: getattr(self, key)
            for key in (
                "seed",
                "n_trajectories",
                "chunk_size",
                "n_chunks",
                "leaked_trajectories",
                "jackknife_groups",
                "n_jobs",
                "backend",
                "seconds",
                "stop_reason",
                "streams",
                "sampler",
            )  # fmt: skip
        }
        return {**self.model.to_dict(), "result": "ensemble", **run, "package": DISTRIBUTION,
                "version": __version__}  # fmt: skip

    def __repr__(self) -> str:
        m = self.model
        return (
            f"EnsembleResult({self.n_trajectories} trajectories in {self.n_chunks} chunks of "
            f"{self.chunk_size}, seed={self.seed}, checkpoints={self.k.size} "
            f"(k = {self.k[0]}..{self.k[-1]}), cutoff={m.cutoff}, "
            f"energy={self.energy.mean[-1]:.5g} ± {self.energy.stderr[-1]:.2g}, "
            f"purity={self.purity.mean[-1]:.5g} ± {self.purity.stderr[-1]:.2g}, "
            f"rho at {self.rho_index.size} checkpoints, {self.seconds:.3g} s, "
            f"n_jobs={self.n_jobs}, backend={self.backend!r}, stopped on {self.stop_reason})"
        )
