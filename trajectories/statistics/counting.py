r"""Counting statistics of trajectories (``tj.counting``), with their exact counterparts.

A trajectory's records are what an experiment detects: which qubits left in ``g`` or ``e``
and when the cavity emitted a photon into its bath or absorbed one from it. This module turns
them into counting statistics and computes the same statistics exactly.

Counts (``count=``)
-------------------
``"g"``, ``"e"``
    qubits leaving the cavity in ``g`` / ``e`` (summed over the branch ``j`` they came in on).
``"emission"``, ``"absorption"``
    photons emitted into the bath (jumps ``a``) / absorbed from it (jumps ``a^dag``).
``"net"``
    photons the cavity gained from the bath, net: ``absorptions - emissions`` (can be < 0).
``"changed"``
    qubits that left in the other state than they came in (e -> g or g -> e), for qubits
    that arrive in ``|e>`` or ``|g>`` (``c = 0``): from the per-branch records.

All are cumulative from collision 0 and are measurable records; the per-trajectory
:math:`\langle n\rangle_i` is *not* (it depends on the unravelling).

Exact counterparts
------------------
:func:`exact_distribution`, :func:`exact_moments` and :func:`stationary_rates` (from
:mod:`trajectories.solvers.counting`, re-exported here: this module is ``tj.counting``)
compute the same statistics from the tilted one-step channel; :func:`scgf` and
:func:`rate_function` give their large deviations (the scaled cumulant generating function
per collision and its Legendre transform), and :func:`cloning` estimates theta(s) from
trajectories (population dynamics on the trajectory engine).

Imperfect detection
-------------------
Every function takes ``efficiency`` (:math:`\eta`) and ``misread``
(:math:`(\epsilon_e, \epsilon_g)`): the statistics are then those of the *detected* counts
(``docs/COUNTING.md``, detection). The exact functions tilt the channel with each event's
detection generating function; :func:`from_ensemble` thins the recorded counts with seeded
binomial draws (:func:`detected_counts`).

Estimators from trajectories: mean, unbiased variance, Mandel :math:`Q = \mathrm{Var}/
\mathrm{mean} - 1`, and the first four cumulants as k-statistics (unbiased), each with a
delete-one jackknife standard error over trajectories (deterministic: no random numbers).
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._optional import DISTRIBUTION, netcdf_attrs, require
from .._version import __version__
from ..channels.tilted import COUNTS, Detection, counts_for
from ..model.micromaser import Micromaser
from ..solvers.counting import (
    DENSE_CUTOFF_LIMIT,
    POPULATION_CUTOFF_LIMIT,
    SCGF,
    ExactCounting,
    ExactMoments,
    RateFunction,
    StationaryRates,
    exact_distribution,
    exact_moments,
    rate_function,
    scgf,
    stationary_rates,
)
from ..solvers.montecarlo.cloning import CloningResult, cloning
from ..solvers.montecarlo.network_result import NetworkEnsemble
from ..solvers.montecarlo.reductions import column_histograms
from ..solvers.montecarlo.result import EnsembleResult, Estimate
from .detection import DETECTION_SPAWN_KEY, check_count, detected_counts, seed_of
from .histograms import detected_histograms, hist_stats

__all__ = [
    "COUNTS",
    "counts_for",
    "UNRAVELLING_NOTE",
    "DETECTION_SPAWN_KEY",
    "Detection",
    "DENSE_CUTOFF_LIMIT",
    "POPULATION_CUTOFF_LIMIT",
    "CountStatistics",
    "ExactCounting",
    "ExactMoments",
    "StationaryRates",
    "WaitingTimes",
    "ChiSquare",
    "PerTrajectoryEnergy",
    "from_ensemble",
    "detected_counts",
    "histogram",
    "chi_square",
    "exact_moments",
    "exact_distribution",
    "stationary_rates",
    "emission_waiting_times",
    "g_waiting_times",
    "energy_per_trajectory",
    "SCGF",
    "RateFunction",
    "scgf",
    "rate_function",
    "CloningResult",
    "cloning",
]

#: Label for every display of the per-trajectory <n>_i.
UNRAVELLING_NOTE = (
    "<n>_i depends on the chosen unravelling and is not a measurable quantity; "
    "only its average over trajectories is"
)


# =========================================================================== trajectories
@dataclasses.dataclass(frozen=True, repr=False)
class CountStatistics:
    r"""Statistics across trajectories of one count, per checkpoint.

    Attributes
    ----------
    count : str
        One of :data:`COUNTS`.
    k : (C,) int
        Checkpoints (collisions).
    counts : (M, C) int64 or None
        The count of each trajectory at each checkpoint (cumulative from collision 0); None
        when the statistics come from the run's count histograms (an ensemble that kept no
        records at every checkpoint).
    valid : (M, C) bool or None
        False where the trajectory had leaked through the cutoff by that checkpoint; those
        entries are left out of every statistic (the exact distributions drop that weight
        too). None with ``counts``.
    n_used : (C,) int
        Trajectories used per checkpoint.
    mean, variance, mandel_q : Estimate
        Per checkpoint ``(C,)``: sample mean, unbiased variance (``ddof = 1``), Mandel
        ``Q = variance/mean - 1`` (NaN where the mean is 0), each with its standard error.
    cumulants : tuple of 4 Estimate
        k-statistics (unbiased estimators) of the cumulants ``kappa_1 .. kappa_4``.
    error_method : str
        How the standard errors were obtained (delete-one jackknife over trajectories).
    model : Micromaser or None
        The ensemble's model.
    efficiency : float
        Detection efficiency :math:`\eta` of the counts (1: the true counts).
    misread : tuple of float
        :math:`(\epsilon_e, \epsilon_g)` of the qubit counts.
    detection_seed : int or None
        The seed of the thinning draws (``None`` for perfect detection: no draws).
    hist_lo : int
        The value of column 0 of :attr:`hist`.
    hist : (C, V) int64
        Per checkpoint, the trajectories used with each value ``hist_lo + v`` of the count:
        every statistic above is a function of this histogram alone.
    """

    count: str
    k: np.ndarray
    counts: np.ndarray | None
    valid: np.ndarray | None
    n_used: np.ndarray
    mean: Estimate
    variance: Estimate
    mandel_q: Estimate
    cumulants: tuple[Estimate, Estimate, Estimate, Estimate]
    error_method: str
    model: Micromaser | None = None
    efficiency: float = 1.0
    misread: tuple[float, float] = (0.0, 0.0)
    detection_seed: int | None = None
    hist_lo: int = 0
    hist: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.int64))

    def histogram_at(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The values of the count at the checkpoint nearest ``k`` and their multiplicities.

        Parameters
        ----------
        k : int, optional
            A collision count (default: the last checkpoint).

        Returns
        -------
        values : ndarray of int64, shape (V,)
            The values taken, increasing.
        multiplicity : ndarray of int64, shape (V,)
            Trajectories with each value (those not leaked at that checkpoint).
        """
        row = self.hist[self.index(k)]
        nz = np.flatnonzero(row)
        return (nz + self.hist_lo).astype(np.int64), row[nz]

    @property
    def detection(self) -> Detection:
        """How the counts were detected (efficiency and misreads)."""
        return Detection(self.efficiency, self.misread)

    def describe(self) -> str:
        """One line: the count and whether it is the true or a detected (thinned) count.

        Returns
        -------
        str
            E.g. ``"g: detected counts: efficiency eta = 0.4 (thinned, seed 2)"``.
        """
        det = self.detection
        if det.ideal:
            return f"{self.count}: true counts (perfect detection)"
        return f"{self.count}: {det.describe()} (thinned, seed {self.detection_seed})"

    def index(self, k: int | None = None) -> int:
        """Index of the checkpoint nearest to ``k``.

        Parameters
        ----------
        k : int, optional
            A collision count; ``None`` (default) means the last checkpoint.

        Returns
        -------
        int
            Index into :attr:`k` (the first of two equally near checkpoints).
        """
        if k is None:
            return self.k.size - 1
        return int(np.argmin(np.abs(self.k - int(k))))

    def to_xarray(self) -> Any:
        """The statistics as an ``xarray.Dataset`` (needs the ``xarray`` extra).

        Returns
        -------
        xarray.Dataset
            Coordinates ``k`` (collisions, ``(C,)``) and ``trajectory`` (``0 .. M-1``).
            Variables over ``k``: ``mean``, ``variance``, ``mandel_q``, ``kappa_1`` ..
            ``kappa_4`` and each one's standard error (``mean_stderr``, ...), ``n_used``;
            over ``(trajectory, k)``: ``counts`` and ``valid`` (when the statistics come
            from records; no ``trajectory`` coordinate otherwise). Attributes: ``count``,
            ``error_method``, ``result = "counting"``, ``package``, ``version``, the
            detection (``efficiency``, ``misread_e``, ``misread_g``, ``detection_seed``
            and ``detection`` as text, when not perfect) and the model's parameters (when
            known).

        Raises
        ------
        ImportError
            When xarray is not installed; the message names the extra.
        """
        xr = require("xarray", "CountStatistics.to_xarray")
        estimates = {"mean": self.mean, "variance": self.variance, "mandel_q": self.mandel_q}
        estimates.update({f"kappa_{p + 1}": c for p, c in enumerate(self.cumulants)})
        data: dict[str, Any] = {}
        for name, est in estimates.items():
            data[name] = (("k",), est.mean)
            data[f"{name}_stderr"] = (("k",), est.stderr)
        data["n_used"] = (("k",), self.n_used)
        coords = {"k": np.asarray(self.k)}
        if self.counts is not None:
            data["counts"] = (("trajectory", "k"), self.counts)
            data["valid"] = (("trajectory", "k"), self.valid)
            coords["trajectory"] = np.arange(self.counts.shape[0])
        attrs = {} if self.model is None else self.model.to_dict()
        attrs.update(count=self.count, error_method=self.error_method, result="counting",
                     package=DISTRIBUTION, version=__version__)  # fmt: skip
        if not self.detection.ideal:
            attrs.update(efficiency=self.efficiency, misread_e=self.misread[0],
                         misread_g=self.misread[1], detection_seed=str(self.detection_seed),
                         detection=self.describe())  # fmt: skip
        return xr.Dataset(data, coords=coords, attrs=netcdf_attrs(attrs))

    def __repr__(self) -> str:
        i = -1
        return (
            f"CountStatistics(count={self.count!r}, M={int(self.n_used.max(initial=0))}, "
            f"checkpoints={self.k.size}, at k = {self.k[i]}: mean = {self.mean.mean[i]:.6g} "
            f"± {self.mean.stderr[i]:.2g}, Mandel Q = {self.mandel_q.mean[i]:.4g} "
            f"± {self.mandel_q.stderr[i]:.2g}"
            + ("" if self.detection.ideal else f"; {self.describe()}")
            + ")"
        )


def _jackknife_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of integer samples ``x`` (n,) and their delete-one jackknife errors."""
    values, mult = np.unique(x, return_counts=True)
    return hist_stats(values.astype(np.int64), mult.astype(np.int64))


def from_ensemble(
    ens: EnsembleResult,
    count: str,
    *,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
    seed: int | None = None,
) -> CountStatistics:
    r"""Per-trajectory counts of an ensemble and their statistics at every checkpoint.

    Parameters
    ----------
    ens : EnsembleResult or NetworkEnsemble
        From :func:`trajectories.simulate` or :func:`trajectories.load`; for a network of
        two cavities the outgoing qubits only (``"g"``, ``"e"``), from its records
        (trajectories that leaked are left out at every checkpoint).
    count : {"g", "e", "emission", "absorption", "net", "changed"}
        ``"g"``/``"e"``: qubits that left in g / e (summed over incoming branches);
        ``"emission"``/``"absorption"``: photons emitted into / absorbed from the bath;
        ``"net"``: photons the cavity gained from the bath, net = absorptions - emissions;
        ``"changed"``: qubits that left in the other state than they came in (qubits that
        arrive in ``|e>`` or ``|g>``; needs the records at every checkpoint).
    efficiency : float, optional
        Detection efficiency :math:`\eta \in [0, 1]` (default 1: the true counts).
    misread : tuple of two floats, optional
        :math:`(\epsilon_e, \epsilon_g)`, each in ``[0, 1]`` (default ``(0, 0)``): e read
        as g, g read as e; qubit counts only.
    seed : int, optional
        Seed of the thinning draws when detection is imperfect (:func:`detected_counts`);
        default the ensemble's own seed, so the result is reproducible from the file alone.
        Not used for perfect detection.

    Returns
    -------
    CountStatistics
        Counts ``(M, C)`` (dimensionless integers; the detected counts when detection is
        imperfect, said by :meth:`CountStatistics.describe`), mean, variance, Mandel Q and
        the first four cumulants per checkpoint, with delete-one jackknife standard errors
        over trajectories (deterministic given the seed). Trajectories that leaked through
        the cutoff are left out from the checkpoint at which they leaked.

    Raises
    ------
    ValueError
        One line naming the parameter, value and range (before any work), for an unknown
        count, an efficiency or misread outside ``[0, 1]``, misreads of a bath count, or a
        bad seed.
    """
    check_count(count)
    det = Detection(efficiency, misread)
    det.check_count(count)
    network = isinstance(ens, NetworkEnsemble)
    if network:
        ens = _network_view(ens, count)
    used_seed = None if det.ideal else seed_of(ens, seed)
    if not network and _from_histograms(ens):
        if count == "changed":
            raise ValueError(
                "count 'changed' needs the per-branch records at every checkpoint (the run's "
                "histograms hold g and e summed over branches): run simulate with records='all'"
            )
        lo, hist = detected_histograms(ens.count_histograms, count, det, used_seed)
        counts = valid = None
    else:
        counts = detected_counts(
            ens, count, efficiency=det.efficiency, misread=det.misread, seed=used_seed
        )
        if network:  # a network's records say whether a trajectory leaked, not when
            valid = np.broadcast_to(ens.per_trajectory.alive[:, None], counts.shape)
        else:
            valid = ens.per_trajectory.fock >= 0
        lo, hist = _histogram_of(counts, valid)
    c = hist.shape[0]
    est = np.empty((7, c))
    err = np.empty((7, c))
    values = np.arange(hist.shape[1], dtype=np.int64) + lo
    for i in range(c):
        if counts is not None:  # the samples themselves (np.unique of each column)
            est[:, i], err[:, i] = _jackknife_stats(counts[valid[:, i], i])
        else:
            nz = hist[i] > 0
            est[:, i], err[:, i] = hist_stats(values[nz], hist[i, nz])
    cum = tuple(Estimate(est[3 + p], err[3 + p]) for p in range(4))
    return CountStatistics(
        count=count,
        k=np.asarray(ens.k, dtype=np.int64),
        counts=counts,
        valid=valid,
        n_used=hist.sum(axis=1),
        mean=Estimate(est[0], err[0]),
        variance=Estimate(est[1], err[1]),
        mandel_q=Estimate(est[2], err[2]),
        cumulants=cum,  # type: ignore[arg-type]
        error_method="delete-one jackknife over trajectories",
        model=ens.model,
        efficiency=det.efficiency,
        misread=det.misread,
        detection_seed=used_seed,
        hist_lo=lo,
        hist=hist,
    )


def _from_histograms(ens: EnsembleResult) -> bool:
    """Whether the statistics come from the run's histograms: the records do not hold
    every checkpoint (or are absent), and the histograms exist."""
    full = ens.per_trajectory is not None and (
        ens.record_index is None or len(ens.record_index) == np.size(ens.k)
    )
    if full:
        return False
    if ens.count_histograms is None:
        raise ValueError(
            "this ensemble has neither the records at every checkpoint nor count histograms"
        )
    return True


def _histogram_of(counts: np.ndarray, valid: np.ndarray) -> tuple[int, np.ndarray]:
    """``(lo, h)``: per checkpoint, the histogram of the valid counts, shape (C, V)."""
    return column_histograms(np.asarray(counts, dtype=np.int64), np.asarray(valid))


def _network_view(ens: NetworkEnsemble, count: str) -> SimpleNamespace:
    """A network ensemble seen as the records :func:`detected_counts` reads (qubit counts)."""
    if count not in ("g", "e"):
        raise ValueError(
            f"count must be 'g' or 'e' for a network (the outgoing qubits; the bath counts "
            f"are per cavity), got {count!r}"
        )
    if ens.records is None:
        raise ValueError(
            "the network ensemble kept no per-trajectory records: run simulate with records"
        )
    return SimpleNamespace(per_trajectory=ens.records, seed=ens.seed, k=ens.k, model=ens.model)


def histogram(
    stats: CountStatistics, k: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised histogram of a count across trajectories at the checkpoint nearest ``k``.

    Parameters
    ----------
    stats : CountStatistics
        From :func:`from_ensemble`.
    k : int, optional
        A collision count; default the last checkpoint.

    Returns
    -------
    values : ndarray of int64, shape (V,)
        Every integer from the smallest to the largest observed count.
    frequency : ndarray of float64, shape (V,)
        The fraction of (non-leaked) trajectories with that count.
    stderr : ndarray of float64, shape (V,)
        Its binomial standard error ``sqrt(f (1 - f) / M)``. All three arrays are empty
        when no trajectory is left at that checkpoint.
    """
    values, mult = stats.histogram_at(k)
    m = int(mult.sum())
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    lo, hi = int(values[0]), int(values[-1])
    full = np.arange(lo, hi + 1)
    f = np.zeros(full.size)
    f[values - lo] = mult / m
    return full, f, np.sqrt(f * (1.0 - f) / m)


@dataclasses.dataclass(frozen=True)
class ChiSquare:
    r"""Pearson chi-square test of integer samples against a distribution.

    Attributes
    ----------
    statistic : float
        :math:`\chi^2 = \sum_b (O_b - E_b)^2/E_b`.
    dof : int
        Degrees of freedom, bins - 1.
    pvalue : float
        :math:`P(\chi^2_{dof} \ge \mathrm{statistic})` (NaN for a single bin).
    edges : ndarray of int64, shape (B + 1,)
        The merged bins' value boundaries: bin ``b`` holds
        ``edges[b] <= value < edges[b+1]``.
    observed : ndarray of float64, shape (B,)
        Samples per bin.
    expected : ndarray of float64, shape (B,)
        Expected samples per bin.
    """

    statistic: float
    dof: int
    pvalue: float
    edges: np.ndarray
    observed: np.ndarray
    expected: np.ndarray


def chi_square(
    samples: np.ndarray,
    values: np.ndarray,
    probabilities: np.ndarray,
    *,
    min_expected: float = 5.0,
    multiplicity: np.ndarray | None = None,
) -> ChiSquare:
    """Chi-square test of integer samples against a distribution on consecutive integers.

    The probabilities are renormalised to sum to one (the exact distributions miss only
    the leaked weight). Adjacent values are merged, from the left, until each bin expects
    at least ``min_expected`` samples (the remainder joins the last bin); samples outside
    ``values`` join the nearest end bin. The samples must be independent counts (e.g. one
    per trajectory), not averaged populations (``docs/MODEL.md``, Sec. 5).

    Parameters
    ----------
    samples : array_like of int, shape (M,)
        Observed values, one per trajectory.
    values : array_like of int, shape (J,)
        Consecutive integers on which ``probabilities`` is given.
    probabilities : array_like of float, shape (J,)
        The reference distribution (negative rounding is clipped to 0).
    min_expected : float, optional
        Smallest expected count per bin (default 5).
    multiplicity : array_like of int, shape (M,), optional
        The number of times each entry of ``samples`` was observed (a histogram, e.g.
        :meth:`CountStatistics.histogram_at`); default once each.

    Returns
    -------
    ChiSquare
        Statistic, degrees of freedom, p-value and the bins.

    Raises
    ------
    ValueError
        If ``values`` and ``probabilities`` differ in length, are empty, or ``values`` are
        not consecutive.

    Examples
    --------
    >>> import numpy as np
    >>> test = chi_square(np.repeat([0, 1], 50), [0, 1], [0.5, 0.5])
    >>> test.statistic, test.dof, test.pvalue
    (0.0, 1, 1.0)
    """
    samples = np.asarray(samples, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    if values.size != p.size or values.size == 0:
        raise ValueError("values and probabilities must have the same non-zero length")
    if values.size > 1 and np.any(np.diff(values) != 1):
        raise ValueError("values must be consecutive integers")
    weights = None if multiplicity is None else np.asarray(multiplicity, dtype=np.float64)
    if weights is not None and weights.shape != samples.shape:
        raise ValueError("multiplicity must have one entry per sample")
    m = samples.size if weights is None else float(weights.sum())
    expected = m * p / p.sum()
    idx = np.clip(samples - values[0], 0, values.size - 1)
    observed = np.bincount(idx, weights=weights, minlength=values.size).astype(np.float64)
    starts = [0]
    acc = 0.0
    for j in range(values.size):
        acc += expected[j]
        if acc >= min_expected and j + 1 < values.size:
            starts.append(j + 1)
            acc = 0.0
    if len(starts) > 1 and expected[starts[-1] :].sum() < min_expected:
        starts.pop()
    bounds = np.array(starts + [values.size])
    obs = np.add.reduceat(observed, bounds[:-1])
    exp = np.add.reduceat(expected, bounds[:-1])
    stat = float(np.sum((obs - exp) ** 2 / exp))
    dof = int(obs.size - 1)
    from scipy.special import chdtrc  # chi-square survival function (scipy.stats is slow to import)

    pvalue = float(chdtrc(dof, stat)) if dof > 0 else float("nan")
    return ChiSquare(stat, dof, pvalue, values[0] + bounds, obs, exp)


# ------------------------------------------------------------------ waiting times
@dataclasses.dataclass(frozen=True)
class WaitingTimes:
    """Waiting times between successive events of one kind, pooled over trajectories.

    Attributes
    ----------
    kind : str
        ``"emission"`` or ``"g"``.
    values : ndarray, shape (W,)
        The waiting times: float, in units of ``t_r`` (the time between collisions), for
        emissions; int64, in collisions, for qubits found in g.
    trajectory : ndarray of int64, shape (W,)
        The index of the trajectory each came from.
    n_trajectories : int
        Trajectories used.
    n_excluded : int
        Trajectories left out (jump log overflowed).
    unit : str
        The unit as text.
    """

    kind: str
    values: np.ndarray
    trajectory: np.ndarray
    n_trajectories: int
    n_excluded: int
    unit: str

    @property
    def mean(self) -> float:
        """Mean waiting time (NaN when there is none)."""
        return float(self.values.mean()) if self.values.size else float("nan")


def emission_waiting_times(ens: EnsembleResult) -> WaitingTimes:
    """Times between consecutive emissions into the bath, within each trajectory.

    Uses the jump log (``per_trajectory.jump_times``/``jump_kinds``, absolute times in units
    of ``t_r`` from the start), which needs ``simulate(..., max_jumps=J)``. Absorptions between
    two emissions do not interrupt the wait. Trajectories whose log overflowed (more than
    ``J`` jumps) are excluded and counted in ``n_excluded``; the time before the first
    emission is not a waiting time between emissions and is not included.

    Parameters
    ----------
    ens : EnsembleResult
        A run with a jump log.

    Returns
    -------
    WaitingTimes
        ``values`` (W,) float in units of ``t_r``.

    Raises
    ------
    ValueError
        If the ensemble recorded no jump times.
    """
    per = ens.records(what="emission_waiting_times")
    if per.jump_times.shape[1] == 0:
        raise ValueError(
            "this ensemble recorded no jump times; run simulate(..., max_jumps=J) with J "
            "above the number of jumps per trajectory (e.g. a few times the mean count)"
        )
    keep = ~per.jumps_overflow
    times, traj = [], []
    for i in np.flatnonzero(keep):
        t = per.jump_times[i][per.jump_kinds[i] == -1]
        if t.size > 1:
            times.append(np.diff(t))
            traj.append(np.full(t.size - 1, i, dtype=np.int64))
    values = np.concatenate(times) if times else np.zeros(0)
    index = np.concatenate(traj) if traj else np.zeros(0, dtype=np.int64)
    return WaitingTimes(
        "emission",
        values,
        index,
        int(keep.sum()),
        int((~keep).sum()),
        "t_r (time between collisions)",
    )


def g_waiting_times(ens: EnsembleResult) -> WaitingTimes:
    """Collisions between successive qubits found in g, within each trajectory.

    Needs the run to have recorded every collision as a checkpoint (``checkpoints =
    range(0, n + 1)``, or any run of consecutive collisions): the qubit found in g at
    collision k is read from the increment of the g count between checkpoints k-1 and k.
    The wait before the first qubit in g is not included.

    Parameters
    ----------
    ens : EnsembleResult
        A run with every collision as a checkpoint.

    Returns
    -------
    WaitingTimes
        ``values`` (W,) int64, in collisions (>= 1).

    Raises
    ------
    ValueError
        If the checkpoints are not consecutive collisions.
    """
    k = np.asarray(ens.k)
    if k.size < 2 or np.any(np.diff(k) != 1):
        raise ValueError(
            "g_waiting_times needs every collision as a checkpoint (simulate(..., "
            "checkpoints=range(0, n_collisions + 1))); this ensemble has checkpoints "
            f"{k[:5].tolist()}{'...' if k.size > 5 else ''}"
        )
    per = ens.records(what="g_waiting_times")
    if per.qubit_g.shape[1] != np.size(ens.k):
        raise ValueError(
            "g_waiting_times needs the per-trajectory records at every checkpoint, and this "
            f"run kept them at k = {ens.record_k.tolist()}: run simulate with records='all'"
        )
    g = per.qubit_g.sum(axis=2)
    events = np.diff(g, axis=1) > 0  # (M, C-1): a qubit in g at collision k[1:]
    rows, cols = np.nonzero(events)  # row-major: sorted by trajectory, then collision
    when = k[1:][cols]
    same = rows[1:] == rows[:-1]
    values = (when[1:] - when[:-1])[same].astype(np.int64)
    return WaitingTimes("g", values, rows[1:][same], int(g.shape[0]), 0, "collisions")


@dataclasses.dataclass(frozen=True)
class PerTrajectoryEnergy:
    r"""The conditional energies ``<n>_i`` at one checkpoint (unravelling-dependent).

    Attributes
    ----------
    k : int
        The checkpoint (collisions).
    values : ndarray of float64, shape (M',)
        :math:`\langle n\rangle_i` of the non-leaked trajectories, in units of
        :math:`\hbar\omega`.
    mean : float
        Their average: this one *is* physical (an estimate of the exact energy).
    note : str
        Why the spread is not a measurable quantity (:data:`UNRAVELLING_NOTE`).
    """

    k: int
    values: np.ndarray
    mean: float
    note: str = UNRAVELLING_NOTE


def energy_per_trajectory(ens: EnsembleResult, k: int | None = None) -> PerTrajectoryEnergy:
    r"""Distribution of the per-trajectory photon number ``<n>_i`` at the checkpoint nearest ``k``.

    Not a measurable distribution: ``<n>_i`` depends on the unravelling (``docs/MODEL.md``
    Sec. 4); only its mean equals the exact energy.

    Parameters
    ----------
    ens : EnsembleResult
        The ensemble.
    k : int, optional
        A collision count; default the last checkpoint.

    Returns
    -------
    PerTrajectoryEnergy
        The values (units of :math:`\hbar\omega`) at the checkpoint nearest ``k``.
    """
    kk = np.asarray(ens.k)
    i = kk.size - 1 if k is None else int(np.argmin(np.abs(kk - int(k))))
    per = ens.records(int(kk[i]), "energy_per_trajectory")
    i = ens.record_column(int(kk[i]))
    ok = per.fock[:, i] >= 0
    values = per.n_mean[ok, i]
    return PerTrajectoryEnergy(
        int(ens.record_k[i]), values, float(values.mean()) if values.size else np.nan
    )
