"""Exceptions and warnings of the solvers, and the truncation rule they share."""

from __future__ import annotations

__all__ = [
    "DEFAULT_LEAKAGE_TOL",
    "TruncationError",
    "TruncationWarning",
    "StatisticsWarning",
    "warn_if_close",
]

#: Default bound on the total population lost through the cutoff in one run (every solver).
DEFAULT_LEAKAGE_TOL = 1e-8

#: Warn when the leaked population exceeds this fraction of the tolerance.
CLOSE_FRACTION = 0.1


class TruncationError(RuntimeError):
    """Population lost through the Fock cutoff exceeded the tolerance.

    Raised instead of returning numbers that the truncation has silently
    corrupted. The message names the cutoff, the leaked population, the
    collision at which the tolerance was crossed, and a larger cutoff to try
    (``max(2 N, N + 20)``). The leakage is the population carried from level
    ``N - 1`` to ``N`` by the collisions and by thermal absorption
    (``docs/MODEL.md``, Secs. 2.1, 2.3 and 7); it is a sum of non-negative terms.

    Parameters
    ----------
    cutoff : int or (int, int)
        Fock cutoff ``N`` of the run (levels ``0 .. N-1``); for a network of two cavities,
        the pair ``(N_A, N_B)``.
    leakage : float
        Total population lost through the cutoff up to ``collision`` (dimensionless,
        a probability).
    tolerance : float
        The bound it exceeded (``leakage_tol``, default :data:`DEFAULT_LEAKAGE_TOL`).
    collision : int
        Index ``k`` of the collision at which the bound was crossed.
    counter_rotating : bool, optional
        True for the Rabi collision: the message then explains that the
        counter-rotating terms create photons and pump population to the cutoff.

    Attributes
    ----------
    cutoff, leakage, tolerance, collision, counter_rotating
        The arguments, for programs that catch the error and retry with a larger
        cutoff.

    Examples
    --------
    >>> err = TruncationError(cutoff=20, leakage=3e-6, tolerance=1e-8, collision=412)
    >>> err.cutoff, err.collision
    (20, 412)
    >>> "try cutoff=40" in str(err)
    True
    """

    def __init__(
        self,
        cutoff: int,
        leakage: float,
        tolerance: float,
        collision: int,
        counter_rotating: bool = False,
    ):
        self.cutoff = cutoff
        self.leakage = leakage
        self.tolerance = tolerance
        self.collision = collision
        self.counter_rotating = counter_rotating
        if isinstance(cutoff, tuple):  # a network: one cutoff per cavity
            suggestion = tuple(max(2 * n, n + 20) for n in cutoff)
        else:
            suggestion = max(2 * cutoff, cutoff + 20)
        why = (
            "the counter-rotating terms of the Rabi collision create photons and pump "
            "population up to the cutoff (excitation number is not conserved); "
            if counter_rotating
            else ""
        )
        super().__init__(
            f"population {leakage:.3g} leaked through the Fock cutoff (cutoff={cutoff}) "
            f"by collision {collision}, above leakage_tol={tolerance:.3g}; {why}"
            f"results would be wrong: use a larger cutoff (try cutoff={suggestion}) "
            f"or fewer collisions"
        )

    def __reduce__(self):  # picklable, so it crosses process boundaries (joblib workers)
        return (
            type(self),
            (self.cutoff, self.leakage, self.tolerance, self.collision, self.counter_rotating),
        )


class StatisticsWarning(UserWarning):
    """The run's error bars are themselves unreliable (too few trajectories or chunks).

    Issued, for example, when fewer than 20 jackknife groups of chunks are available
    (``docs/MODEL.md``, Sec. 5): the estimates stand, their error bars are noisy.

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: what is unreliable and how to fix it (more trajectories, smaller
        chunks).
    """


class TruncationWarning(UserWarning):
    """The leaked population is below the tolerance but within a factor 10 of it.

    The results are returned (the leakage is below ``leakage_tol``), but a slightly
    longer run or a stronger drive would fail with :class:`TruncationError`.

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: the cutoff, the leaked population and the tolerance.
    """


def warn_if_close(cutoff: int, leakage: float, tolerance: float) -> None:
    """Warn once per run when the leakage is within a factor 10 of its tolerance.

    Issues a :class:`TruncationWarning` if ``leakage > 0.1 * tolerance`` (never for
    an infinite tolerance). The caller has already checked ``leakage <= tolerance``.

    Parameters
    ----------
    cutoff : int
        Fock cutoff ``N`` of the run, named in the message.
    leakage : float
        Total population lost through the cutoff in the run.
    tolerance : float
        The run's ``leakage_tol``; ``inf`` disables the warning.

    Warns
    -----
    TruncationWarning
        When the leakage is within a factor 10 of the tolerance.
    """
    import warnings

    if tolerance != float("inf") and leakage > CLOSE_FRACTION * tolerance:
        warnings.warn(
            f"population {leakage:.3g} leaked through the Fock cutoff (cutoff={cutoff}), "
            f"within a factor 10 of leakage_tol={tolerance:.3g}; consider a larger cutoff",
            TruncationWarning,
            stacklevel=3,
        )
