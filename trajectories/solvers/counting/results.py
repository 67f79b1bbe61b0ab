"""Result types of the exact counting statistics (shared by one cavity and networks)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ...channels.tilted import Detection

__all__ = ["ExactMoments", "ExactCounting", "StationaryRates"]


class _Detected:
    """What the exact counting results share: the count and how it is detected."""

    count: str
    efficiency: float
    misread: tuple[float, float]

    def describe(self) -> str:
        """One line: which count, and how it is detected.

        Returns
        -------
        str
            E.g. ``"g: detected counts: efficiency eta = 0.4"``.
        """
        return f"{self.count}: {Detection(self.efficiency, self.misread).describe()}"


@dataclasses.dataclass(frozen=True, repr=False)
class ExactMoments(_Detected):
    r"""Exact mean and variance of a count per checkpoint (no distribution).

    The moments are those of the distribution conditioned on no leakage (they differ from
    the unconditioned ones by O(leakage), below ``leakage_tol``). Counts are
    dimensionless numbers of events.

    Attributes
    ----------
    count : str
        The counted event (one of :data:`~trajectories.channels.tilted.COUNTS`).
    k : ndarray of int64, shape (C,)
        Checkpoints (collisions).
    mean : ndarray of float64, shape (C,)
        :math:`E[J_k]`.
    variance : ndarray of float64, shape (C,)
        :math:`\mathrm{Var}[J_k]`.
    mandel_q : ndarray of float64, shape (C,)
        ``variance / mean - 1`` (negative: sub-Poissonian); NaN where the mean is 0.
    leakage : ndarray of float64, shape (C,)
        Population lost through the cutoff by each checkpoint.
    efficiency : float
        Detection efficiency :math:`\eta` of the counted events (1: every event counted).
    misread : tuple of float
        :math:`(\epsilon_e, \epsilon_g)`: e read as g, g read as e (qubit counts only).
    """

    count: str
    k: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    mandel_q: np.ndarray
    leakage: np.ndarray
    efficiency: float = 1.0
    misread: tuple[float, float] = (0.0, 0.0)

    def __repr__(self) -> str:
        det = Detection(self.efficiency, self.misread)
        extra = "" if det.ideal else f", {det.describe()}"
        return (
            f"ExactMoments(count={self.count!r}, checkpoints={self.k.size}, at k = {self.k[-1]}: "
            f"mean = {self.mean[-1]:.10g}, variance = {self.variance[-1]:.10g}, "
            f"Mandel Q = {self.mandel_q[-1]:.8g}{extra})"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class ExactCounting(_Detected):
    r"""Exact distribution of a count after ``k`` collisions (full counting statistics).

    Exact up to the rigorous tail bound ``tail_mass`` and rounding.

    Attributes
    ----------
    count : str
        The counted event (one of :data:`~trajectories.channels.tilted.COUNTS`).
    k : ndarray of int64, shape (C,)
        Checkpoints (collisions).
    values : ndarray of int64, shape (J,)
        The count values of the columns of ``probabilities`` (``0 .. J-1`` except for
        ``"net"``, which can be negative).
    probabilities : ndarray of float64, shape (C, J)
        ``P(count = values[j] after k[c] collisions)``; zero outside each checkpoint's window.
        Sums to ``1 - leakage`` (the leaked weight carries no count).
    mean, variance, mandel_q : ndarray of float64, shape (C,)
        Exact moments (from the Taylor expansion of the tilted channel, independent of the
        DFT; conditioned on no leakage); ``mandel_q = variance/mean - 1``, NaN where the mean
        is 0.
    tail_mass : ndarray of float64, shape (C,)
        Chernoff upper bound on the probability outside the computed window (below ``tail``).
    window : ndarray of int64, shape (C, 2)
        First and last count value ``[lo, lo + S - 1]`` of the window of each checkpoint
        (before clipping to the natural support).
    grid_size : int
        ``S``, the number of counting-field points (``s = 2 pi l / S``).
    alias_check : ndarray of float64, shape (C,)
        ``|sum_j j P_j - mean|`` + ``|variance from P - variance|``: an a posteriori check
        that the DFT did not alias (of order 1e-12 when it did not).
    leakage : ndarray of float64, shape (C,)
        Population lost through the cutoff by each checkpoint.
    seconds : float
        Wall time, s.
    efficiency : float
        Detection efficiency :math:`\eta` of the counted events (1: every event counted).
    misread : tuple of float
        :math:`(\epsilon_e, \epsilon_g)`: e read as g, g read as e (qubit counts only).
    """

    count: str
    k: np.ndarray
    values: np.ndarray
    probabilities: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    mandel_q: np.ndarray
    tail_mass: np.ndarray
    window: np.ndarray
    grid_size: int
    alias_check: np.ndarray
    leakage: np.ndarray
    seconds: float = 0.0
    efficiency: float = 1.0
    misread: tuple[float, float] = (0.0, 0.0)

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The distribution at one checkpoint.

        Parameters
        ----------
        k : int
            A collision count in :attr:`k`.

        Returns
        -------
        values : ndarray of int64, shape (J,)
            Count values (all checkpoints share them).
        probabilities : ndarray of float64, shape (J,)
            ``P(count = values[j])`` after ``k`` collisions.

        Raises
        ------
        ValueError
            If ``k`` is not a checkpoint.
        """
        hit = np.flatnonzero(self.k == k)
        if hit.size == 0:
            raise ValueError(f"k = {k} is not a checkpoint of this distribution")
        return self.values, self.probabilities[int(hit[0])]

    def __repr__(self) -> str:
        det = Detection(self.efficiency, self.misread)
        extra = "" if det.ideal else f", {det.describe()}"
        return (
            f"ExactCounting(count={self.count!r}, checkpoints={self.k.size} (k = {self.k[0]}.."
            f"{self.k[-1]}), values {self.values[0]}..{self.values[-1]}, grid S = "
            f"{self.grid_size}, at k = {self.k[-1]}: mean = {self.mean[-1]:.10g}, variance = "
            f"{self.variance[-1]:.10g}, Mandel Q = {self.mandel_q[-1]:.8g}, tail mass <= "
            f"{self.tail_mass.max():.1e}, {self.seconds:.3g} s{extra})"
        )


@dataclasses.dataclass(frozen=True)
class StationaryRates:
    r"""Long-time counting statistics per collision, from the tilted channel's leading eigenvalue.

    Exact (dense eigenproblem and perturbation theory, no sampling) for the channel on the
    given cutoff; at long times :math:`E[J_k] \approx \mathrm{rate}\cdot k` and
    :math:`\mathrm{Var}[J_k] \approx \mathrm{variance\_rate}\cdot k`.

    Attributes
    ----------
    count : str
        The counted event (one of :data:`~trajectories.channels.tilted.COUNTS`).
    rate : float
        Mean count per collision, :math:`d\ln\theta/du` at ``u = 0`` (``z = e^u``).
    variance_rate : float
        Variance growth per collision (the second derivative).
    mandel_q : float
        ``variance_rate / rate - 1`` (NaN for zero rate).
    eigenvalue : float
        :math:`\theta(1)`: 1 minus the leakage per collision of the stationary state.
    second_eigenvalue : float
        Modulus of the next eigenvalue (relaxation ``~ second_eigenvalue^k``).
    relaxation_collisions : float
        ``-1 / ln(second / first)``, collisions (inf if not separated).
    stationary_energy : float
        :math:`\langle n\rangle` of the right eigenvector, in units of :math:`\hbar\omega`.
    dimension : int
        Size of the dense eigenproblem (``N`` or ``N^2``).
    method : str
        Which eigenproblem was solved.
    efficiency : float
        Detection efficiency :math:`\eta` of the counted events (1: every event counted).
    misread : tuple of float
        :math:`(\epsilon_e, \epsilon_g)`: e read as g, g read as e (qubit counts only).

    Notes
    -----
    The eigenvector is the fixed point of the one-step channel *within the cutoff*: when the
    model is metastable (``relaxation_collisions`` huge; ``docs/METASTABILITY.md``) it need
    not be the state reached from the vacuum on any practical time scale.
    """

    count: str
    rate: float
    variance_rate: float
    mandel_q: float
    eigenvalue: float
    second_eigenvalue: float
    relaxation_collisions: float
    stationary_energy: float
    dimension: int
    method: str
    efficiency: float = 1.0
    misread: tuple[float, float] = (0.0, 0.0)
